//! What `verify` finds wrong with a file: one line of text each, or JSON.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Problem {
    /// A directory that cannot be listed, an ELF file that cannot be parsed.
    Unreadable { file: PathBuf, reason: String },
    /// A DT_NEEDED entry that no search directory provides.
    MissingLibrary { file: PathBuf, library: String },
    /// A version node (verneed) that the library does not define (verdef);
    /// `unversioned`: the library defines no version nodes at all.
    MissingVersion {
        file: PathBuf,
        library: String,
        version: String,
        unversioned: bool,
    },
    /// An import that nothing in the file's search scope defines; `from` is
    /// the library the version requirement names, if any. `copy_relocated`:
    /// a variable the program holds a copy of (R_*_COPY), which ld.so fills
    /// from a library's definition at startup.
    UndefinedSymbol {
        file: PathBuf,
        symbol: String,
        version: Option<String>,
        from: Option<String>,
        copy_relocated: bool,
    },
}

impl Problem {
    pub fn file(&self) -> &std::path::Path {
        match self {
            Problem::Unreadable { file, .. }
            | Problem::MissingLibrary { file, .. }
            | Problem::MissingVersion { file, .. }
            | Problem::UndefinedSymbol { file, .. } => file,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file().display())?;
        match self {
            Problem::Unreadable { reason, .. } => write!(f, "{reason}"),
            Problem::MissingLibrary { library, .. } => {
                write!(f, "needed library {library} not found")
            }
            Problem::MissingVersion {
                library,
                version,
                unversioned,
                ..
            } => {
                write!(f, "version {version} of {library} not found")?;
                if *unversioned {
                    write!(f, " ({library} defines no versions)")?;
                }
                Ok(())
            }
            Problem::UndefinedSymbol {
                symbol,
                version,
                from,
                copy_relocated,
                ..
            } => {
                write!(f, "undefined symbol {symbol}")?;
                if let Some(v) = version {
                    write!(f, "@{v}")?;
                }
                let copy = if *copy_relocated {
                    "copy-relocated variable, "
                } else {
                    ""
                };
                let from = from.as_deref().unwrap_or("any");
                write!(f, " ({copy}needed from {from})")
            }
        }
    }
}
