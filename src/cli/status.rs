//! `ldprune status`: what a state directory holds, and what is wrong with it.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use crate::identity::OutputKind;
use crate::state::record::LinkStatus;
use crate::state::{STATE_FORMAT, StateDir, StateError};

pub fn run(dir: &Path, json: bool) -> Result<i32, StateError> {
    let super::Loaded { records, bad } = super::load(dir)?;
    let mut kinds: BTreeMap<OutputKind, usize> = BTreeMap::new();
    let mut modules = HashSet::new();
    let mut hashes = HashSet::new();
    let (mut objects, mut sections, mut symbols, mut edges) = (0, 0, 0, 0);
    let (mut exports, mut imports, mut cstrings) = (0, 0, 0);
    let mut warnings = Vec::new();
    let (mut failed, mut incomplete) = (0, 0);

    for (_, r) in &records {
        *kinds.entry(r.kind).or_default() += 1;
        let label = format!("{} ({})", r.output, r.cwd);
        if let LinkStatus::Failed { reason } = &r.status {
            failed += 1;
            warnings.push(format!("link {label} failed: {reason}"));
            continue;
        }
        if !r.incomplete.is_empty() {
            incomplete += 1;
            warnings.push(format!(
                "link {label} has an incomplete graph (its exports will all be kept): {}",
                r.incomplete.join("; ")
            ));
        }
        if r.kind != OutputKind::Rel {
            modules.insert(Path::new(&r.cwd).join(&r.output));
        }
        for o in &r.objects {
            objects += 1;
            hashes.insert(o.hash);
            sections += o.sections.len();
            symbols += o.symbols.len();
            edges += o.edges.len();
        }
        exports += r.exports.len();
        imports += r.imports.len();
        cstrings += r.cstrings.len();
    }
    for e in &bad {
        warnings.push(format!("{e} (skipped)"));
    }
    let state = StateDir::open(dir)?;
    // Links, FIFOs and devices where ldprune keeps its files: never used.
    let misplaced = state.misplaced_entries();
    for e in &misplaced {
        eprintln!("ldprune: error: {e}");
        warnings.push(format!("{e} (not used)"));
    }
    let (abandoned, busy): (Vec<_>, Vec<_>) = state
        .leftover_temps()
        .into_iter()
        .partition(|t| t.abandoned);
    if !abandoned.is_empty() {
        warnings.push(format!(
            "{} unfinished file(s) in {} left by links that no longer run (killed while writing; safe to delete)",
            abandoned.len(),
            dir.join("tmp").display()
        ));
    }
    if !busy.is_empty() {
        warnings.push(format!(
            "{} file(s) in {} may belong to links still running (written in the last hour or by a live process): do not delete them while a build runs",
            busy.len(),
            dir.join("tmp").display()
        ));
    }

    let kind = |k| kinds.get(&k).copied().unwrap_or(0);
    let code = if bad.is_empty() && misplaced.is_empty() {
        0
    } else {
        1
    };
    if json {
        let v = serde_json::json!({
            "state": dir,
            "format": STATE_FORMAT,
            "links": {
                "total": records.len(),
                "exec": kind(OutputKind::Exec),
                "pie": kind(OutputKind::Pie),
                "dyn": kind(OutputKind::Dyn),
                "rel": kind(OutputKind::Rel),
                "failed": failed,
                "incomplete": incomplete,
            },
            "modules": modules.len(),
            "objects": objects,
            "distinct_objects": hashes.len(),
            "sections": sections,
            "symbols": symbols,
            "edges": edges,
            "exports": exports,
            "imports": imports,
            "cstrings": cstrings,
            "warnings": warnings,
        });
        super::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
        return Ok(code);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "state directory {} (format {STATE_FORMAT})",
        dir.display()
    );
    let _ = writeln!(
        out,
        "links      {:>9}  (exec {}, pie {}, dyn {}, rel {}; failed {failed}, incomplete {incomplete})",
        records.len(),
        kind(OutputKind::Exec),
        kind(OutputKind::Pie),
        kind(OutputKind::Dyn),
        kind(OutputKind::Rel),
    );
    let _ = writeln!(
        out,
        "modules    {:>9}  (executables and shared libraries)",
        modules.len()
    );
    let _ = writeln!(
        out,
        "objects    {:>9}  ({} distinct)",
        objects,
        hashes.len()
    );
    let _ = writeln!(out, "sections   {sections:>9}");
    let _ = writeln!(out, "symbols    {symbols:>9}");
    let _ = writeln!(out, "edges      {edges:>9}");
    let _ = writeln!(out, "exports    {exports:>9}");
    let _ = writeln!(out, "imports    {imports:>9}");
    let _ = writeln!(out, "c strings  {cstrings:>9}");
    if warnings.is_empty() {
        let _ = writeln!(out, "warnings   none");
    } else {
        let _ = writeln!(out, "warnings   {}", warnings.len());
        for w in &warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    super::print(&out);
    Ok(code)
}
