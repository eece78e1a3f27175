//! ldprune: system-wide removal of code that no program of an image can
//! reach, through a GNU linker plugin (Run-1 records, `merge` decides,
//! Run-2 hides exports so `--gc-sections` removes their code).
//!
//! Module map (data flows downwards only):
//! - [`elf`]: bytes -> facts (objects, outputs, archive headers)
//! - [`identity`]: which link is "the same link" across runs
//! - [`state`]: the on-disk state directory and its formats
//! - [`record`]: Run-1, inputs and output -> a link record
//! - [`analysis`]: the records -> the names to hide (decisions)
//! - [`apply`]: Run-2, the decisions -> a link that hides them
//! - [`plugin`]: the linker plugin; the only `unsafe` code
//! - [`tree`], [`verify`]: an installed tree's ELF files; do they still link
//! - [`report`]: the image before and after Run-2, and the report's page
//! - [`cli`]: the `ldprune` command's subcommands
//! - [`fasthash`], [`glob`], [`panics`]: small helpers any layer may use
//!
//! `tests/tidy.rs` checks the direction: which module may name which.

#![deny(unsafe_code)]

pub mod analysis;
pub mod apply;
pub mod cli;
pub mod elf;
pub mod fasthash;
pub mod glob;
pub mod identity;
pub mod panics;
pub mod plugin;
pub mod record;
pub mod report;
pub mod state;
pub mod tree;
pub mod verify;
