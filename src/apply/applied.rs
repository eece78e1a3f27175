//! What Run-2 did: one result file per applied link (DIR/applied/), and
//! DIR/apply.log, one line per link left unchanged. `ldprune report` reads
//! both to put achieved next to predicted. The files and their formats
//! belong to `state::applied`; this measures and compares.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::elf::hash::Hash128;
use crate::elf::output::parse_output;
use crate::elf::sparse::read_dynamic_parts;
use crate::fasthash::FxHashSet;
use crate::identity::link_directory;
use crate::state::StateDir;
use crate::state::decisions::NameList;
use crate::state::record::Linker;
pub use crate::state::{AppliedRecord, LogLine};

impl AppliedRecord {
    /// Reads the finished output at `path`; None if it is missing or not a
    /// complete ELF file (the link failed).
    pub fn measure(
        identity: Hash128,
        path: &Path,
        output: &str,
        cwd: &str,
        linker: Linker,
        hidden: &NameList,
    ) -> Option<AppliedRecord> {
        let file = std::fs::File::open(path).ok()?;
        let bytes = read_dynamic_parts(&file).ok()?;
        let facts = parse_output(&bytes).ok()?;
        let still_exported = still_exported(&facts.exports, hidden);
        Some(AppliedRecord {
            identity,
            output: output.to_string(),
            cwd: cwd.to_string(),
            applied_at: now_nanos(),
            hidden: hidden.len() as u64,
            still_exported,
            exports: facts.exports.len() as u64,
            linker,
            sizes: facts.sizes,
            file_size: file.metadata().map_or(0, |m| m.size()),
            build_id: facts.build_id,
        })
    }
}

/// The hidden names the output still exports, in the list's order. Hidden
/// names are spelled as objects spell them (`foo@@V2`), exports plain. An
/// applied output exports few names and the list (sorted by the merge)
/// may hold thousands: each export is looked up in it, in the link's
/// cleanup, instead of hashing every hidden name (1.6M instructions for
/// 7,000 names).
fn still_exported(exports: &[crate::elf::output::DynSymbol], hidden: &NameList) -> Vec<String> {
    let plain = crate::elf::types::plain;
    if !hidden.is_sorted() {
        let exported: FxHashSet<&str> = exports.iter().map(|e| e.name.as_str()).collect();
        return hidden
            .iter()
            .filter(|h| exported.contains(plain(h)))
            .map(str::to_string)
            .collect();
    }
    let mut found: Vec<usize> = Vec::new();
    for e in exports {
        // Every name spelled `foo...` sorts into one run: `foo`, `foo@@V2`, `foo_bar`.
        found.extend(
            hidden
                .sorted_range_with_prefix(&e.name)
                .filter(|&i| hidden.get(i).is_some_and(|h| plain(h) == e.name)),
        );
    }
    found.sort_unstable();
    found.dedup();
    found
        .into_iter()
        .filter_map(|i| hidden.get(i).map(str::to_string))
        .collect()
}

/// Appends one line to DIR/apply.log. A log that cannot be written (or
/// that is a link, a FIFO, not a regular file) is one warning through the
/// plugin's logger: a log failure never breaks a link.
pub(super) fn append_log(
    state: &StateDir,
    identity: Option<Hash128>,
    cwd: &str,
    output: &str,
    why: &str,
) {
    if let Err(e) = try_append_log(state, identity, cwd, output, why) {
        log::warn!("{e}; not logged: {why}");
    }
}

/// As [`append_log`], for callers without the plugin's logger.
pub(super) fn try_append_log(
    state: &StateDir,
    identity: Option<Hash128>,
    cwd: &str,
    output: &str,
    why: &str,
) -> Result<(), crate::state::StateError> {
    state.append_log(&LogLine {
        at: now_nanos(),
        identity: identity.map(|i| i.to_string()),
        cwd: cwd.to_string(),
        output: output.to_string(),
        why: why.to_string(),
    })
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Run-1 output against Run-2 output for one module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Achieved {
    pub text_before: u64,
    pub text_after: u64,
    pub data_before: u64,
    pub data_after: u64,
    pub dynamic_before: u64,
    pub dynamic_after: u64,
    pub file_before: u64,
    pub file_after: u64,
    pub exports_before: u64,
    pub exports_after: u64,
    pub still_exported: Vec<String>,
    /// Allocated file bytes saved (text, data, dynamic tables; not .bss):
    /// what the prediction predicts. Negative: grew.
    pub saved: i64,
}

/// A module whose Run-1 and Run-2 outputs were written by different
/// linkers: their sizes are not compared (a change of linker alone moves
/// them, often more than ldprune does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtherLinkers {
    pub run1: Linker,
    pub run2: Linker,
}

impl std::fmt::Display for OtherLinkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Run-1 output linked by {}, Run-2 output by {}: sizes not compared",
            self.run1, self.run2
        )
    }
}

impl Achieved {
    /// Run-1 against Run-2, if one linker wrote both outputs.
    pub fn new(
        run1: &crate::state::record::LinkRecord,
        run2: &AppliedRecord,
    ) -> Result<Achieved, OtherLinkers> {
        if run1.output_linker != run2.linker {
            return Err(OtherLinkers {
                run1: run1.output_linker,
                run2: run2.linker,
            });
        }
        Ok(Achieved {
            text_before: run1.output_sizes.text,
            text_after: run2.sizes.text,
            data_before: run1.output_sizes.data,
            data_after: run2.sizes.data,
            dynamic_before: run1.output_sizes.dynamic,
            dynamic_after: run2.sizes.dynamic,
            file_before: run1.output_size,
            file_after: run2.file_size,
            exports_before: run1.exports.len() as u64,
            exports_after: run2.exports,
            still_exported: run2.still_exported.clone(),
            saved: run1.output_sizes.file_bytes() as i64 - run2.sizes.file_bytes() as i64,
        })
    }

    /// Allocated file bytes saved (negative: grew).
    pub fn saved(&self) -> i64 {
        self.saved
    }
}

/// The newest Run-2 result of each link: per identity, one per link
/// directory (equal identities in several directories), sorted by directory.
pub fn newest_by_identity(
    applied: Vec<AppliedRecord>,
) -> std::collections::HashMap<Hash128, Vec<AppliedRecord>> {
    let mut newest = std::collections::BTreeMap::new();
    for a in applied {
        let key = (a.identity, link_directory(&a.cwd, &a.output));
        match newest.get(&key) {
            Some(AppliedRecord { applied_at, .. }) if *applied_at >= a.applied_at => {}
            _ => {
                newest.insert(key, a);
            }
        }
    }
    let mut map: std::collections::HashMap<Hash128, Vec<AppliedRecord>> = Default::default();
    for ((identity, _), a) in newest {
        map.entry(identity).or_default().push(a);
    }
    map
}

/// The Run-2 result of the Run-1 link that wrote into `directory`, among
/// the results of its identity: the one of that directory, or the only one
/// (Run-2 in a tree built elsewhere).
pub fn result_of<'a>(results: &'a [AppliedRecord], directory: &str) -> Option<&'a AppliedRecord> {
    results
        .iter()
        .find(|a| link_directory(&a.cwd, &a.output) == directory)
        .or(match results {
            [only] => Some(only),
            _ => None,
        })
}

/// Log lines of links still unchanged: the newest line per (directory,
/// output), unless a later Run-2 of that output was applied.
pub fn still_unchanged(log: Vec<LogLine>, applied: &[&AppliedRecord]) -> Vec<LogLine> {
    let mut newest: std::collections::BTreeMap<(String, String), LogLine> = Default::default();
    for l in log {
        let key = (l.cwd.clone(), l.output.clone());
        if newest.get(&key).is_none_or(|old| old.at <= l.at) {
            newest.insert(key, l);
        }
    }
    newest
        .into_values()
        .filter(|l| {
            !applied
                .iter()
                .any(|a| a.cwd == l.cwd && a.output == l.output && a.applied_at > l.at)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::output::DynSymbol;

    fn export(name: &str) -> DynSymbol {
        DynSymbol {
            name: name.to_string(),
            version: None,
            hidden_version: false,
            version_file: None,
            kind: crate::elf::types::SymbolType::Func,
            binding: crate::elf::types::Binding::Global,
        }
    }

    #[test]
    fn still_exported_by_lookup_equals_by_hashing() {
        let hidden: NameList = [
            "a",
            "foo",
            "foo@@V2",
            "foo@V1",
            "foo_bar",
            "foo_bar@@V2",
            "fop",
            "z",
        ]
        .into_iter()
        .collect();
        assert!(hidden.is_sorted());
        let mut unsorted: Vec<&str> = hidden.iter().collect();
        unsorted.reverse();
        let unsorted: NameList = unsorted.into_iter().collect();
        assert!(!unsorted.is_sorted());
        for exports in [
            vec![],
            vec!["foo"],
            vec!["foo_bar", "foo", "foo"],
            vec!["fo", "foo_", "zz", "a", "fop"],
        ] {
            let exports: Vec<DynSymbol> = exports.into_iter().map(export).collect();
            let mut by_hash = still_exported(&exports, &unsorted);
            by_hash.reverse();
            assert_eq!(still_exported(&exports, &hidden), by_hash, "{exports:?}");
        }
        let both = still_exported(&[export("foo"), export("fop")], &hidden);
        assert_eq!(both, ["foo", "foo@@V2", "foo@V1", "fop"]);
    }
}
