//! `ldprune report`: predicted savings per module and in total, what Run-2
//! achieved next to them, the links Run-2 left unchanged, and the
//! dynamic-lookup sites where keep lists may be needed.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use super::merge::{Input, emptied_nodes_text, kib, summary, warn_needed_nodes};
use crate::analysis::consumers::{NamedLibrary, library_kinds};
use crate::analysis::probes::{is_probe, is_probe_path};
use crate::analysis::version_nodes::emptied_version_nodes;
use crate::analysis::{Analysis, ModuleResult};
use crate::apply::{
    Achieved, AppliedRecord, FAILED_PREFIX, LogLine, newest_by_identity, read_log, result_of,
    still_unchanged,
};
use crate::elf::hash::Hash128;
use crate::state::StateDir;

/// Run-2 results of the state directories: per identity (one per link
/// directory), and the links left unchanged.
struct Run2 {
    applied: HashMap<Hash128, Vec<AppliedRecord>>,
    unchanged: Vec<LogLine>,
}

fn load_run2(input: &Input) -> Result<Run2, String> {
    let (mut applied, mut log) = (Vec::new(), Vec::new());
    for dir in &input.state {
        let state = StateDir::open(dir).map_err(|e| e.to_string())?;
        let (good, bad) = state.load_applied();
        for e in &bad {
            eprintln!("ldprune: error: {e} (skipped)");
        }
        applied.extend(good);
        log.extend(read_log(&state)?);
    }
    let applied = newest_by_identity(applied);
    let unchanged = still_unchanged(log, &applied.values().flatten().collect::<Vec<_>>());
    Ok(Run2 { applied, unchanged })
}

fn achieved(a: &Analysis, run2: &Run2, r: &ModuleResult) -> Option<Achieved> {
    let rec = &a.records[a.graph.modules[r.module].record];
    run2.applied
        .get(&r.identity)
        .and_then(|results| result_of(results, &rec.directory()))
        .map(|applied| Achieved::new(rec, applied))
}

/// Why achieved is far from predicted, if it is: None when they agree
/// within 5% (or 512 bytes, a few names' worth).
fn gap(r: &ModuleResult, got: &Achieved) -> Option<String> {
    let predicted = r.saving.total() as i64;
    let achieved = got.saved();
    let diff = (predicted - achieved).abs();
    if diff <= 512 || diff * 20 <= predicted.abs() {
        return None;
    }
    let why = if !got.still_exported.is_empty() {
        format!("names still exported: {}", got.still_exported.join(", "))
    } else if achieved < predicted {
        "sections the records do not show as removable stayed (linker script KEEP, or code reached from the claimed first input)".to_string()
    } else {
        "more went than predicted: the linker dropped bytes the record does not show (an incomplete record, merged strings or unwind entries, hash tables sized differently)".to_string()
    };
    Some(format!(
        "predicted {} KiB saved, achieved {} KiB: {why}",
        kib(predicted.max(0) as u64),
        kib(achieved.max(0) as u64)
    ))
}

pub fn report(input: &Input, json: bool) -> Result<i32, String> {
    let a = input.analyse()?;
    let run2 = load_run2(input)?;
    let sites = lookup_sites(&a);
    let nodes = emptied_version_nodes(&a);
    warn_needed_nodes(&nodes);
    let mut out = String::new();
    if json {
        let v: Vec<serde_json::Value> = a
            .results
            .iter()
            .map(|r| {
                let got = achieved(&a, &run2, r);
                let pinned: std::collections::BTreeMap<&String, String> = r
                    .pinned
                    .iter()
                    .map(|(n, why)| (n, why.to_string()))
                    .collect();
                serde_json::json!({
                    "module": r.path.display().to_string(), "exports": r.exports,
                    "hidden": r.hidden_exports, "pinned": pinned,
                    "exports_after": r.exports - r.hidden_exports.len(),
                    "predicted": {
                        "text_before": r.before.text, "text_after": r.after.text,
                        "data_before": r.before.data, "data_after": r.after.data,
                        "file_before": r.file_before, "file_after": r.file_after,
                        "saved": r.saving.total(), "saving": r.saving,
                    },
                    "achieved": got,
                    "gap": got.as_ref().and_then(|g| gap(r, g)),
                })
            })
            .collect();
        let sites: Vec<serde_json::Value> = sites
            .iter()
            .map(|(m, f)| serde_json::json!({"module": m, "functions": f}))
            .collect();
        let nodes: Vec<serde_json::Value> = nodes
            .iter()
            .map(|n| {
                let needed: Vec<serde_json::Value> = n
                    .needed_by
                    .iter()
                    .map(|w| serde_json::json!({"link": w.link.display().to_string(), "consumer": w.consumer}))
                    .collect();
                serde_json::json!({
                    "module": n.path.display().to_string(), "soname": n.soname,
                    "node": n.node, "names": n.names, "capability": n.capability,
                    "linker": n.linker, "linker_keeps_node": n.linker_keeps_node,
                    "needed_by": needed, "problem": n.is_problem(),
                })
            })
            .collect();
        let files: Vec<serde_json::Value> = a
            .consumers
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.path.display().to_string(),
                    "origin": f.origin.to_string(),
                    "library": f.library,
                })
            })
            .collect();
        let kinds = library_kinds(&a);
        let named = |v: &[NamedLibrary]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|l| {
                    serde_json::json!({
                        "module": l.path.display().to_string(),
                        "named_by": l.named_by.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    })
                })
                .collect()
        };
        let report = serde_json::json!({
            "modules": v,
            "unchanged_links": run2.unchanged,
            "dynamic_lookup_sites": sites,
            "emptied_version_nodes": nodes,
            "consumer_files": files,
            "plugins": named(&kinds.plugins),
            "linked_and_named": named(&kinds.linked_and_named),
            "unreferenced_libraries": kinds.unreferenced.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        table(&mut out, &a, &run2);
        summary(&mut out, &a);
        emptied_nodes_text(&mut out, &nodes);
        achieved_summary(&mut out, &a, &run2);
        // A failed link is neither applied nor unchanged: listed apart.
        let (probes, links): (Vec<_>, Vec<_>) = run2
            .unchanged
            .iter()
            .partition(|l| is_probe(&l.cwd, &l.output));
        let (failed, unchanged): (Vec<_>, Vec<_>) = links
            .into_iter()
            .partition(|l| l.why.starts_with(FAILED_PREFIX));
        if !probes.is_empty() {
            let _ = writeln!(
                out,
                "build-system probes left unchanged by Run-2 (new every run): {}",
                probes.len()
            );
        }
        for (title, lines) in [
            ("links left unchanged by Run-2", unchanged),
            ("Run-2 links that failed", failed),
        ] {
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title} ({}):", lines.len());
            for l in lines {
                let _ = writeln!(
                    out,
                    "  {}: {}",
                    Path::new(&l.cwd).join(&l.output).display(),
                    l.why
                );
            }
        }
        if !sites.is_empty() {
            let _ = writeln!(
                out,
                "dynamic lookup sites (names looked up at run time; string literals are kept, other names need a keep list):"
            );
            for (m, f) in &sites {
                let _ = writeln!(out, "  {m}: {}", f.join(", "));
            }
        }
    }
    super::print(&out);
    Ok(0)
}

fn table(out: &mut String, a: &Analysis, run2: &Run2) {
    let _ = writeln!(
        out,
        "allocated bytes saved by Run-2 (text, data, unwind and dynamic tables), predicted (sections the merge removes, their unwind entries and relocations, the hidden names' dynamic symbols and PLT/GOT slots) and achieved (Run-1 output against Run-2 output)"
    );
    let prefix = common_dir(a.results.iter().map(|r| r.path.as_path()));
    let width = a
        .results
        .iter()
        .map(|r| shown(&r.path, &prefix).len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<width$} {:>8} {:>7} {:>10} {:>10} {:>9}",
        "module", "exports", "hidden", "predicted", "achieved", "ach/pred"
    );
    let mut gaps = Vec::new();
    // Probes are counted, not listed: their names change every run.
    let (probes, mut results): (Vec<&ModuleResult>, Vec<&ModuleResult>) =
        a.results.iter().partition(|r| is_probe_path(&r.path));
    results.sort_by(|x, y| x.path.cmp(&y.path));
    for r in results {
        let got = achieved(a, run2, r);
        let predicted = r.saving.total();
        let (achieved, ratio) = match &got {
            Some(g) if predicted > 0 => (
                g.saved().to_string(),
                format!("{:.3}", g.saved() as f64 / predicted as f64),
            ),
            Some(g) => (g.saved().to_string(), "-".to_string()),
            None => ("-".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            out,
            "{:<width$} {:>8} {:>7} {:>10} {:>10} {:>9}",
            shown(&r.path, &prefix),
            r.exports,
            r.hidden_exports.len(),
            predicted,
            achieved,
            ratio,
        );
        if let Some(g) = got.as_ref().and_then(|g| gap(r, g)) {
            gaps.push(format!("  {}: {g}", r.path.display()));
        }
    }
    if prefix.as_os_str().len() > 1 {
        let _ = writeln!(out, "(modules under {})", prefix.display());
    }
    if !probes.is_empty() {
        let _ = writeln!(
            out,
            "({} build-system probe{} not listed: configure's conftest, CMake's and Meson's checks)",
            probes.len(),
            if probes.len() == 1 { "" } else { "s" }
        );
    }
    if !gaps.is_empty() {
        let _ = writeln!(out, "achieved far from predicted ({}):", gaps.len());
        for g in gaps {
            let _ = writeln!(out, "{g}");
        }
    }
}

/// The deepest directory holding all `paths`.
fn common_dir<'p>(mut paths: impl Iterator<Item = &'p Path>) -> std::path::PathBuf {
    let Some(first) = paths.next() else {
        return std::path::PathBuf::new();
    };
    let mut prefix = first.parent().map(Path::to_path_buf).unwrap_or_default();
    for p in paths {
        while !p.starts_with(&prefix) {
            if !prefix.pop() {
                return std::path::PathBuf::new();
            }
        }
    }
    prefix
}

fn shown(p: &Path, prefix: &Path) -> String {
    p.strip_prefix(prefix).unwrap_or(p).display().to_string()
}

fn achieved_summary(out: &mut String, a: &Analysis, run2: &Run2) {
    let got: Vec<Achieved> = a
        .results
        .iter()
        .filter_map(|r| achieved(a, run2, r))
        .collect();
    if got.is_empty() {
        let _ = writeln!(
            out,
            "Run-2 not applied yet (no results in the state directory)"
        );
        return;
    }
    let sum = |f: fn(&Achieved) -> u64| got.iter().map(f).sum::<u64>();
    let _ = writeln!(
        out,
        "achieved on {} modules: exports {} -> {}, text+data {} KiB -> {} KiB, dynamic tables {} KiB -> {} KiB, files {} KiB -> {} KiB",
        got.len(),
        sum(|g| g.exports_before),
        sum(|g| g.exports_after),
        kib(sum(|g| g.text_before + g.data_before)),
        kib(sum(|g| g.text_after + g.data_after)),
        kib(sum(|g| g.dynamic_before)),
        kib(sum(|g| g.dynamic_after)),
        kib(sum(|g| g.file_before)),
        kib(sum(|g| g.file_after)),
    );
}

/// Records that import a dlsym-like function: where names are looked up at
/// run time, so a keep list may be needed if they are not string literals.
fn lookup_sites(a: &Analysis) -> Vec<(String, Vec<String>)> {
    let mut sites: Vec<(String, Vec<String>)> = a
        .records
        .iter()
        .filter_map(|r| {
            let mut used: Vec<String> = r
                .imports
                .iter()
                .filter(|i| a.lookup.contains(&i.name))
                .map(|i| i.name.clone())
                .collect();
            used.sort();
            used.dedup();
            (!used.is_empty()).then(|| {
                (
                    std::path::Path::new(&r.cwd)
                        .join(&r.output)
                        .display()
                        .to_string(),
                    used,
                )
            })
        })
        .collect();
    sites.sort();
    sites.dedup();
    sites
}
