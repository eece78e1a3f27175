//! Walks a directory tree (an image, a DESTDIR, unpacked packages) and
//! reads the ELF executables and shared libraries in it.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::elf::output::{OutputFacts, parse_output};
use crate::elf::sparse::read_dynamic_parts;
use crate::elf::{ElfError, FileClass, classify};

pub struct ElfFile {
    pub path: PathBuf,
    pub facts: OutputFacts,
}

/// A directory or file of the tree that could not be read.
#[derive(Debug)]
pub struct TreeProblem {
    pub path: PathBuf,
    pub reason: ReadError,
}

impl fmt::Display for TreeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Why a file (or directory) of a tree cannot be read; the caller names it.
#[derive(Debug)]
pub enum ReadError {
    /// The file system: cannot open, read or list.
    Io(io::Error),
    /// It starts as an ELF executable or library but its headers do not hold.
    Elf(ElfError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::Elf(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Elf(e) => Some(e),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<ElfError> for ReadError {
    fn from(e: ElfError) -> Self {
        ReadError::Elf(e)
    }
}

/// A tree's root that cannot be walked: nothing under it is looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootError {
    Missing(PathBuf),
    NotADirectory(PathBuf),
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootError::Missing(root) => write!(f, "{}: no such directory", root.display()),
            RootError::NotADirectory(root) => write!(f, "{}: not a directory", root.display()),
        }
    }
}

impl std::error::Error for RootError {}

/// Where a running system mounts the kernel's pseudo filesystems (empty in
/// an image): no programs there, and some files block on read (/proc/kmsg)
/// or claim absurd sizes (/proc/kcore). Skipped directly under a root.
const PSEUDO_DIRS: &[&str] = &["proc", "sys", "dev", "run"];

/// Every ELF executable or shared library under `root` (symbolic links are
/// not followed; files that cannot be read are reported in the problem list).
pub fn elf_files(root: &Path) -> Result<(Vec<ElfFile>, Vec<TreeProblem>), RootError> {
    if !root.exists() {
        return Err(RootError::Missing(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Err(RootError::NotADirectory(root.to_path_buf()));
    }
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(TreeProblem {
                    path: dir,
                    reason: ReadError::Io(e),
                });
                continue;
            }
        };
        let mut paths: Vec<(PathBuf, std::fs::FileType)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, ty) in paths {
            if ty.is_dir() {
                let pseudo = dir == root
                    && path
                        .file_name()
                        .is_some_and(|n| PSEUDO_DIRS.iter().any(|p| n == *p));
                if !pseudo {
                    stack.push(path);
                }
            } else if ty.is_file() {
                match read_elf(&path) {
                    Ok(Some(facts)) => found.push(ElfFile { path, facts }),
                    Ok(None) => {}
                    Err(reason) => problems.push(TreeProblem { path, reason }),
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((found, problems))
}

/// The facts of `path` if it is an ELF executable or shared library
/// (`None` for any other file, relocatable objects included).
pub fn read_elf(path: &Path) -> Result<Option<OutputFacts>, ReadError> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 18];
    let n = file.read(&mut head)?;
    // Read the rest only of what can be one (not of a core file, say).
    if !matches!(
        classify(&head[..n]),
        FileClass::Executable | FileClass::SharedObject
    ) {
        return Ok(None);
    }
    let bytes = read_dynamic_parts(&file)?;
    let facts = parse_output(&bytes)?;
    Ok(matches!(facts.e_type, 2 | 3).then_some(facts))
}

/// The candidate C strings of the ELF output at `path` (see
/// [`crate::elf::output::read_only_strings`]); reads the whole file.
pub fn read_strings(path: &Path) -> Result<Vec<String>, ReadError> {
    let bytes = std::fs::read(path)?;
    Ok(crate::elf::output::read_only_strings(&bytes[..])?)
}
