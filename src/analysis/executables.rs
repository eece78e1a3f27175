//! `--hide-executable-exports`: an executable linked with `-rdynamic`,
//! `--export-dynamic` or `--dynamic-list` exports for its plugins, and its
//! exports can be hidden like a library's: those no module of the scope
//! imports (or looks up by a string) go. What must stay is what the linker
//! exports from every executable, -rdynamic or not: a name that a shared
//! library of its own link defines (the program's `malloc`, `getenv`
//! interposes the library's, and the library's own calls must reach it) or
//! refers to (a callback the library expects the program to define).
//!
//! Those libraries are read, not guessed: every shared library the linker
//! loaded (the record's `shared_inputs`, libc and the other libraries
//! outside the records included) and, transitively, their DT_NEEDED,
//! found among the shared inputs, the recorded libraries (by SONAME), the
//! directories of the shared inputs and the default directories. A library
//! that cannot be found or read keeps every export of the executable.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::fasthash::{FxHashMap, FxHashSet};
use crate::state::record::LinkRecord;

/// What the merge needs from one shared library of a link.
#[derive(Clone, Debug, Default)]
pub struct LibraryNames {
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// DT_RUNPATH or DT_RPATH as written (`$ORIGIN` unexpanded).
    pub runpath: Option<String>,
    /// Every name of its .dynsym, defined or undefined, without versions
    /// (not the linker-defined `_end` and co.).
    pub names: Vec<String>,
}

impl LibraryNames {
    pub fn from_facts(f: crate::elf::output::OutputFacts) -> LibraryNames {
        // gold's `_end` and co. in every library are no interposition;
        // a library that refers to one keeps it.
        let names = f
            .exports
            .iter()
            .filter(|s| !crate::elf::EXPORTED_BY_LINKER.contains(&s.name.as_str()))
            .chain(&f.imports)
            .map(|s| s.name.clone())
            .collect();
        LibraryNames {
            soname: f.soname,
            needed: f.needed,
            runpath: f.runpath.or(f.rpath),
            names,
        }
    }
}

/// Reads a shared library's dynamic facts (the merge's caller does the
/// I/O): `None` when the file is not an ELF executable or library.
pub type ReadLibrary =
    dyn Fn(&Path) -> Result<Option<LibraryNames>, Box<dyn std::error::Error + Send + Sync>> + Sync;

/// Searched after the shared inputs' own directories.
const DEFAULT_DIRS: &[&str] = &["/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/// For one executable: the names the libraries of its link define or refer
/// to, each with the (first) library that does.
#[derive(Clone, Debug)]
pub enum LinkNames {
    Known(FxHashMap<String, String>),
    /// A library of its link could not be found or read.
    Unread(Unread),
}

/// Why a library of an executable's link was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unread {
    /// No file of this DT_NEEDED name among the shared inputs, the recorded
    /// libraries, the run paths and the directories searched.
    NotFound { needed: String },
    /// The file is there but not an ELF executable or library.
    NotElf { path: PathBuf },
    /// The file cannot be read, or its headers do not hold (the reader's
    /// error, as text: it is shown, and cached per path).
    Unreadable { path: PathBuf, reason: String },
}

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unread::NotFound { needed } => write!(f, "{needed}: not found"),
            Unread::NotElf { path } => write!(f, "{}: not an ELF file", path.display()),
            Unread::Unreadable { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

/// The libraries of `r`'s link and their DT_NEEDED closure. `recorded`:
/// SONAME (or file name) -> output path of the recorded libraries.
pub fn link_names(
    r: &LinkRecord,
    recorded: &FxHashMap<String, PathBuf>,
    read: &ReadLibrary,
    cache: &mut FxHashMap<PathBuf, Result<LibraryNames, Unread>>,
) -> LinkNames {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let cwd = Path::new(&r.cwd);
    let inputs: Vec<PathBuf> = r.shared_inputs.iter().map(|p| cwd.join(p)).collect();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in &inputs {
        if let Some(d) = p.parent()
            && !dirs.contains(&d.to_path_buf())
        {
            dirs.push(d.to_path_buf());
        }
    }
    dirs.extend(DEFAULT_DIRS.iter().map(PathBuf::from));
    let mut names: FxHashMap<String, String> = FxHashMap::default();
    let mut done: FxHashSet<String> = FxHashSet::default();
    // (path or None, the DT_NEEDED name it answers, the needer's runpath dirs)
    // Breadth first: every shared input is read before a DT_NEEDED name
    // is looked for, so the linker's own choice answers it.
    let mut todo: std::collections::VecDeque<(Option<PathBuf>, String, Vec<PathBuf>)> = inputs
        .iter()
        .map(|p| (Some(p.clone()), base(&p.to_string_lossy()), Vec::new()))
        .collect();
    let mut by_name: FxHashMap<String, PathBuf> = FxHashMap::default();
    while let Some((path, needed, runpath)) = todo.pop_front() {
        let path = match path {
            Some(p) => p,
            None => {
                if done.contains(&needed) {
                    continue;
                }
                let found = by_name
                    .get(&needed)
                    .cloned()
                    .or_else(|| recorded.get(&needed).cloned())
                    .or_else(|| {
                        runpath
                            .iter()
                            .chain(&dirs)
                            .map(|d| d.join(&needed))
                            .find(|p| p.is_file())
                    });
                match found {
                    Some(p) => p,
                    None => return LinkNames::Unread(Unread::NotFound { needed }),
                }
            }
        };
        let facts = cache
            .entry(path.clone())
            .or_insert_with(|| match read(&path) {
                Ok(Some(f)) => Ok(f),
                Ok(None) => Err(Unread::NotElf { path: path.clone() }),
                Err(e) => Err(Unread::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
            })
            .clone();
        let facts = match facts {
            Ok(f) => f,
            Err(why) => return LinkNames::Unread(why),
        };
        let label = facts
            .soname
            .clone()
            .unwrap_or_else(|| base(&path.to_string_lossy()));
        done.insert(needed);
        done.insert(label.clone());
        by_name.insert(label.clone(), path.clone());
        for n in &facts.names {
            names.entry(n.clone()).or_insert_with(|| label.clone());
        }
        let origin = path.parent().unwrap_or(Path::new("/"));
        let rp: Vec<PathBuf> = facts
            .runpath
            .iter()
            .flat_map(|s| s.split(':'))
            .filter(|s| !s.is_empty())
            .map(|s| PathBuf::from(s.replace("$ORIGIN", &origin.to_string_lossy())))
            .collect();
        for n in &facts.needed {
            if !done.contains(n) {
                todo.push_back((None, n.clone(), rp.clone()));
            }
        }
    }
    LinkNames::Known(names)
}
