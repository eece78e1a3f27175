//! Why the exports that stay were kept, counted per reason: how many names
//! and the bytes of the sections that define them (each section once per
//! reason and module). `explain` gives the same answer for one name.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::rules::PinReason;
use crate::analysis::{Analysis, NameCause};
use crate::fasthash::FxHashSet;

/// One reason and what it keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeptReason {
    pub reason: &'static str,
    pub names: usize,
    pub bytes: u64,
}

/// The reason of a rule, without its particulars (which library, which
/// pattern): one line per kind on the page.
pub fn pin_label(p: &PinReason) -> &'static str {
    match p {
        PinReason::IncompleteRecord => "the record misses code (LTO, unreadable input)",
        PinReason::ExportedByExecutable => "exported by an executable",
        PinReason::LinkLibrary { .. } => "a library of the executable's link defines or uses it",
        PinReason::LinkLibraryUnread(_) => "a library of the executable's link cannot be read",
        PinReason::Excluded(_) => "the module is excluded",
        PinReason::NotLinked { .. } => "no consumer links the library (a plugin)",
        PinReason::NonDefaultVersion => "a non-default version",
        PinReason::GnuUnique => "GNU unique",
        PinReason::CxxTypeinfo => "C++ typeinfo",
        PinReason::RuntimeName => "the toolchain or the runtime relies on it",
        PinReason::Interposable => "more than one module exports it",
        PinReason::KeepEntry { .. } => "a keep list entry",
        PinReason::NotInImage => "the module is not in the image",
    }
}

/// What demanded a name.
pub fn cause_label(c: &NameCause) -> &'static str {
    match c {
        NameCause::ImportedBy(_) | NameCause::ImportedByRecord(_) => "imported by a module",
        NameCause::KeptImport(_) => "imported by a module linked by gold or mold",
        NameCause::ImportedByFile(_) => "imported by a file without a record",
        NameCause::CString(_) | NameCause::CStringInFile(_) => {
            "named by a C string where names are looked up"
        }
        NameCause::Keep(_) => "a keep list entry",
    }
}

/// Not hidden, and no rule or consumer keeps it: the module's own objects
/// do not define it.
pub const NOT_DEFINED: &str = "its module's objects do not define it";

/// Every kept export of the analysed modules, counted per reason; the
/// largest first.
pub fn kept_by_reason(a: &Analysis) -> Vec<KeptReason> {
    let g = &a.graph;
    let mut by: BTreeMap<&'static str, (usize, FxHashSet<u32>)> = BTreeMap::new();
    for r in &a.results {
        let m = &g.modules[r.module];
        let hidden: FxHashSet<&str> = r.hidden_exports.iter().map(String::as_str).collect();
        let whole = r.pinned.get("*");
        for e in &m.exports {
            if hidden.contains(e.spelled.as_str()) {
                continue;
            }
            let reason = match (
                whole.or_else(|| r.pinned.get(&e.spelled)),
                a.demanded.get(&e.name),
            ) {
                (Some(p), _) => pin_label(p),
                (None, Some(c)) => cause_label(c),
                (None, None) => NOT_DEFINED,
            };
            let entry = by.entry(reason).or_default();
            entry.0 += 1;
            entry.1.extend(m.defs_of(e.name));
        }
    }
    let mut out: Vec<KeptReason> = by
        .into_iter()
        .map(|(reason, (names, secs))| KeptReason {
            reason,
            names,
            bytes: secs.iter().map(|&s| g.sections[s as usize].size).sum(),
        })
        .collect();
    out.sort_by_key(|k| std::cmp::Reverse((k.bytes, k.names)));
    out
}
