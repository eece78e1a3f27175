//! Consumers that are not modules of the merge: ELF files that will run
//! against the image although no Run-1 record of theirs is analysed.
//!
//! - A file of the image (`--scope image`) that no record made: built
//!   outside the wrappers, a vendor binary, a package not rebuilt.
//! - Every file under a `--consumers` root: trees that are not rebuilt but
//!   run against the image (a base OS layer, third-party packages). Such a
//!   file counts through what it shows even when a record made it: it is
//!   not rebuilt, so the merge's cascade must not assume its code shrinks.
//!
//! Each counts through what the file itself shows: its dynamic imports, its
//! C strings (possible dlsym lookups, the rule recorded strings follow),
//! its DT_NEEDED and the libraries its strings name (dlopen).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::elf::output::{DynSymbol, OutputFacts, VersionNeed};
use crate::fasthash::FxHashSet;
use crate::identity::OutputKind;
use crate::state::record::LinkRecord;

/// Where a consumer file comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// A file of the image (`--image`) that no Run-1 record made.
    Image,
    /// A file under a `--consumers` root (not rebuilt).
    Prebuilt,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Image => "image",
            Origin::Prebuilt => "prebuilt",
        })
    }
}

impl Origin {
    /// How `explain` and `report` describe a file of this origin.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Image => "a file of the image with no Run-1 record",
            Origin::Prebuilt => "a prebuilt consumer (--consumers)",
        }
    }
}

/// One ELF executable or shared library read as a consumer.
#[derive(Clone, Debug)]
pub struct ConsumerFile {
    pub path: PathBuf,
    pub origin: Origin,
    /// A shared library (ET_DYN without a program interpreter).
    pub library: bool,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub imports: Vec<DynSymbol>,
    pub version_needs: Vec<VersionNeed>,
    /// Candidate names in its read-only data (dlsym and dlopen).
    pub strings: Vec<String>,
}

impl ConsumerFile {
    pub fn new(path: PathBuf, origin: Origin, facts: OutputFacts, strings: Vec<String>) -> Self {
        ConsumerFile {
            path,
            origin,
            library: facts.e_type == 3 && !facts.has_interp,
            soname: facts.soname,
            needed: facts.needed,
            imports: facts.imports,
            version_needs: facts.version_needs,
            strings,
        }
    }

    /// The name DT_NEEDED entries use for this file (SONAME, else the file name).
    pub fn needed_name(&self) -> &str {
        match &self.soname {
            Some(s) => s,
            None => file_name(&self.path),
        }
    }
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Finds whether an installed file is the output of a recorded link.
pub struct RecordIndex<'r> {
    build_ids: FxHashSet<&'r [u8]>,
    /// Records without a build-id, by output file name.
    by_name: BTreeMap<&'r str, Vec<&'r LinkRecord>>,
}

impl<'r> RecordIndex<'r> {
    /// Over the records the merge uses (complete links of an executable or
    /// shared library).
    pub fn new(records: &'r [LinkRecord]) -> Self {
        let mut index = RecordIndex {
            build_ids: FxHashSet::default(),
            by_name: BTreeMap::new(),
        };
        for r in records
            .iter()
            .filter(|r| r.is_complete() && r.kind != OutputKind::Rel)
        {
            match &r.build_id {
                Some(id) => {
                    index.build_ids.insert(id);
                }
                None => index
                    .by_name
                    .entry(r.output_file_name())
                    .or_default()
                    .push(r),
            }
        }
        index
    }

    /// A recorded link made the file: the same GNU build-id (it survives
    /// `strip` and installation); or, for a file without one, a record
    /// without one of the same output file name and the same dynamic
    /// exports and imports. When unsure it did not: the file is then a
    /// consumer through what it shows, which keeps more, never less.
    pub fn made(&self, path: &Path, facts: &OutputFacts) -> bool {
        if let Some(id) = &facts.build_id {
            return self.build_ids.contains(id.as_slice());
        }
        let names = |v: &[DynSymbol]| {
            let mut n: Vec<String> = v.iter().map(DynSymbol::spelled).collect();
            n.sort();
            n
        };
        self.by_name
            .get(file_name(path))
            .into_iter()
            .flatten()
            .any(|r| {
                names(&r.exports) == names(&facts.exports)
                    && names(&r.imports) == names(&facts.imports)
            })
    }
}

/// A library and the consumers whose C strings name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedLibrary {
    pub path: PathBuf,
    pub named_by: Vec<PathBuf>,
}

/// How the shared libraries in scope are reached, for `merge` and `report`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryKinds {
    /// No consumer links them: kept whole as plugins (unless a scoped keep
    /// entry names them), with who names them, if anyone.
    pub plugins: Vec<NamedLibrary>,
    /// Linked by a consumer and also named by a C string: only the usual
    /// rules keep their exports.
    pub linked_and_named: Vec<NamedLibrary>,
    /// Libraries of the image that nothing links or names: dead weight, or
    /// loaded by a path built at run time (modules and unrecorded files).
    pub unreferenced: Vec<PathBuf>,
}

/// Sorts the libraries in scope by how consumers reach them.
pub fn library_kinds(a: &super::Analysis) -> LibraryKinds {
    let mut k = LibraryKinds::default();
    for r in &a.results {
        let module = &a.graph.modules[r.module];
        if module.kind != OutputKind::Dyn || !a.record_in_scope[module.record] {
            continue;
        }
        let named = NamedLibrary {
            path: r.path.clone(),
            named_by: r.uses.named_by.clone(),
        };
        if r.uses.linked {
            if !named.named_by.is_empty() {
                k.linked_and_named.push(named);
            }
        } else {
            if named.named_by.is_empty() {
                k.unreferenced.push(r.path.clone());
            }
            k.plugins.push(named);
        }
    }
    for (f, u) in a.consumers.iter().zip(&a.consumer_uses) {
        if f.library && f.origin == Origin::Image && !u.linked && u.named_by.is_empty() {
            k.unreferenced.push(f.path.clone());
        }
    }
    k.plugins.sort_by(|x, y| x.path.cmp(&y.path));
    k.linked_and_named.sort_by(|x, y| x.path.cmp(&y.path));
    k.unreferenced.sort();
    k
}
