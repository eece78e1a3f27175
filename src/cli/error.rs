//! The command's one error: each library's error as it was raised, turned
//! into text once, where `main` prints it and exits 2 (as ripgrep's `main`
//! does). Subcommands return `Result<i32, Error>` and use `?`.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::analysis::lists::ListError;
use crate::analysis::machines::MixedMachines;
use crate::plugin::options::OptionError;
use crate::record::RecordError;
use crate::report::image::ImageError;
use crate::state::StateError;
use crate::tree::RootError;
use crate::verify::VerifyError;

use super::flags::FlagsError;

#[derive(Debug)]
pub enum Error {
    State(StateError),
    List(ListError),
    Tree(RootError),
    Machines(MixedMachines),
    Verify(VerifyError),
    Flags(FlagsError),
    Option(OptionError),
    Image(ImageError),
    Record(RecordError),
    /// Options that do not go together, or one that is missing.
    Usage(&'static str),
    /// Record files that cannot be used, and no `--skip-bad`.
    BadRecords(usize),
    /// `--scope image` with an image root without ELF files.
    EmptyImage(PathBuf),
    /// `explain NAME`: no module exports or defines it.
    UnknownName(String),
    /// `explain NAME [--module M]`: no module (matching M) exports it.
    NotExported {
        name: String,
        module: Option<String>,
    },
    /// A file the command writes (`--vis`, `--html`).
    Write {
        path: PathBuf,
        error: io::Error,
    },
    CurrentDir(io::Error),
    Json(serde_json::Error),
    /// An error of `record` or `apply`, whose errors are still text.
    Text(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::State(e) => e.fmt(f),
            Error::List(e) => e.fmt(f),
            Error::Tree(e) => e.fmt(f),
            Error::Machines(e) => e.fmt(f),
            Error::Verify(e) => e.fmt(f),
            Error::Record(e) => e.fmt(f),
            Error::Flags(e) => e.fmt(f),
            Error::Option(e) => e.fmt(f),
            Error::Image(e) => e.fmt(f),
            Error::Usage(s) => f.write_str(s),
            Error::BadRecords(n) => write!(
                f,
                "{n} record file(s) cannot be used; fix or remove them, or pass --skip-bad"
            ),
            Error::EmptyImage(root) => write!(
                f,
                "{}: no ELF executables or libraries in the image",
                root.display()
            ),
            Error::UnknownName(name) => {
                write!(f, "no recorded module exports or defines {name:?}")
            }
            Error::NotExported { name, module } => {
                write!(f, "{name:?} is not exported by any recorded module")?;
                match module {
                    Some(m) => write!(f, " matching {m:?}"),
                    None => Ok(()),
                }
            }
            Error::Write { path, error } => write!(f, "{}: {error}", path.display()),
            Error::CurrentDir(e) => write!(f, "the current directory: {e}"),
            Error::Json(e) => e.fmt(f),
            Error::Text(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

/// Each library error becomes its own variant.
macro_rules! from {
    ($($variant:ident($t:ty)),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

from!(
    State(StateError),
    List(ListError),
    Tree(RootError),
    Machines(MixedMachines),
    Verify(VerifyError),
    Flags(FlagsError),
    Option(OptionError),
    Image(ImageError),
    Record(RecordError),
    Json(serde_json::Error),
);
