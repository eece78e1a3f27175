//! `ldprune verify`: does every program and library of a tree (an image, a
//! DESTDIR, unpacked packages) still find its libraries, version nodes and
//! symbols? Run after Run-2 it flags an export that was hidden although a
//! consumer needs it.
//!
//! Each ELF executable and shared object is checked on its own search
//! scope, built as ld.so builds it: DT_NEEDED, breadth first ([`closure`]),
//! found in ld.so's order ([`search`]), in the tree first and on the host
//! only for what the tree lacks (libc when checking a DESTDIR).

mod bind;
mod closure;
mod image;
pub mod problem;
mod search;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use crate::elf::types::Binding;
use crate::tree::RootError;

use bind::Exports;
use closure::{Closure, closure};
use image::Image;
pub use problem::Problem;
use search::Search;

#[derive(Clone, Debug)]
pub struct Options {
    /// Host libraries stand in for libraries the tree lacks.
    pub host: bool,
    /// Where the host's libraries are: `/`, or a target's sysroot when the
    /// image is cross-compiled (`/usr/aarch64-linux-gnu`). Libraries of
    /// another machine never stand in, wherever they are.
    pub sysroot: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: true,
            sysroot: None,
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// The ELF executables and shared objects checked.
    pub files: usize,
    /// Sorted by file.
    pub problems: Vec<Problem>,
    /// Host libraries that stood in for libraries the tree lacks, by path.
    pub host_libraries: Vec<HostLibrary>,
}

/// A library of the host's standard directories that stood in for one the
/// tree lacks (libc when checking a DESTDIR).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct HostLibrary {
    /// Its real path on this machine.
    pub path: PathBuf,
    /// The name it was needed by (its SONAME, else its file name).
    pub name: String,
    /// How many files of the tree have it in their search scope.
    pub files: usize,
}

/// Why `verify` checked nothing: the roots or the sysroot it was given.
/// (What is wrong inside the tree is a [`Problem`] of the report.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    NoRoots,
    Root(RootError),
    SysrootNotADirectory(PathBuf),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::NoRoots => f.write_str("no root directory given"),
            VerifyError::Root(e) => e.fmt(f),
            VerifyError::SysrootNotADirectory(s) => {
                write!(f, "sysroot {}: not a directory", s.display())
            }
        }
    }
}

impl std::error::Error for VerifyError {}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every ELF executable and shared object under `roots`, which are
/// layers of one image (a library in the first root hides the same path in
/// the next). A root that is not a directory is an error; files that
/// cannot be read are problems.
pub fn verify(roots: &[PathBuf], options: &Options) -> Result<Report, VerifyError> {
    if roots.is_empty() {
        return Err(VerifyError::NoRoots);
    }
    let (mut image, mut problems) = Image::scan(roots, options.host, options.sysroot.clone())?;
    let files = image.objects.len(); // host files are added after these
    let mut search = Search::new(&image);
    let closures: Vec<Closure> = (0..files)
        .map(|top| closure(&mut image, &mut search, top))
        .collect();

    // The programs whose scope holds each library of the tree.
    let mut loaders: Vec<Vec<usize>> = vec![Vec::new(); files];
    for (top, c) in closures.iter().enumerate() {
        if image.get(top).is_program() {
            for &id in c.scope.iter().skip(1).filter(|&&id| id < files) {
                loaders[id].push(top);
            }
        }
    }

    let exports = Exports::new(&image);
    let mut host_missing = HashSet::new();
    for (top, c) in closures.iter().enumerate() {
        let o = image.get(top);
        let file = || o.path.clone();
        for (needer, name) in &c.missing {
            // A library of the tree reports its own; a host file, once.
            let n = image.get(*needer);
            if *needer == top || (!n.in_tree && host_missing.insert((*needer, name))) {
                problems.push(Problem::MissingLibrary {
                    file: n.path.clone(),
                    library: name.clone(),
                });
            }
        }
        for need in o.facts.version_needs.iter().filter(|n| !n.weak) {
            let Some(&lib) = c.by_name.get(&need.file) else {
                continue; // not found: reported as a missing library
            };
            let defs = &image.get(lib).facts.version_defs;
            if !defs.contains(&need.version) {
                problems.push(Problem::MissingVersion {
                    file: file(),
                    library: need.file.clone(),
                    version: need.version.clone(),
                    unversioned: defs.is_empty(),
                });
            }
        }
        // With a library missing the loader stops before binding anything,
        // and every symbol of that library would be reported again.
        if !c.missing.is_empty() {
            continue;
        }
        // A program's copy of a library variable (R_*_COPY) is filled from
        // the library's definition: an import like any other, except that
        // the program's own copy does not count, as ld.so never looks in
        // the executable for it.
        let copies = o.facts.copy_imports.iter().map(|i| (i, true));
        for (import, copy) in o.facts.imports.iter().map(|i| (i, false)).chain(copies) {
            // A weak reference may stay unresolved; an import no relocation
            // uses is never looked up by the loader.
            let except = copy.then_some(top);
            if import.binding == Binding::Weak
                || o.facts.unrelocated_imports.binary_search(import).is_ok()
                || exports.resolves_in(import, c, except)
            {
                continue;
            }
            // A library may rely on its loader for some symbols (a plugin on
            // the program that dlopens it, a Python module on python).
            if !o.is_program() {
                let hosts = &loaders[top];
                let elsewhere = if hosts.is_empty() {
                    exports.resolves_anywhere(import, except)
                } else {
                    hosts
                        .iter()
                        .any(|&p| exports.resolves_in(import, &closures[p], except))
                };
                if elsewhere {
                    continue;
                }
            }
            problems.push(Problem::UndefinedSymbol {
                file: file(),
                symbol: import.name.clone(),
                version: import.version.clone(),
                from: import.version_file.clone(),
                copy_relocated: copy,
            });
        }
    }
    problems.sort_by(|a, b| a.file().cmp(b.file()).then_with(|| a.cmp(b)));
    problems.dedup();

    let mut host_libraries: Vec<HostLibrary> = (files..image.objects.len())
        .filter_map(|id| {
            let users = closures[..files].iter().filter(|c| c.contains(id)).count();
            let o = image.get(id);
            let name = o.facts.soname.as_deref().or(o.file_name()).unwrap_or("");
            (users > 0).then(|| HostLibrary {
                path: o.path.clone(),
                name: name.to_string(),
                files: users,
            })
        })
        .collect();
    host_libraries.sort();
    Ok(Report {
        files,
        problems,
        host_libraries,
    })
}
