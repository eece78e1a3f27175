//! `ldprune report`: predicted savings per module and in total, what Run-2
//! achieved next to them, the links Run-2 left unchanged, and the
//! dynamic-lookup sites where keep lists may be needed.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use std::path::PathBuf;

use super::Error;
use super::merge::{Input, emptied_nodes_text, kib, summary, warn_needed_nodes};
use crate::analysis::consumers::{NamedLibrary, library_kinds};
use crate::analysis::probes::{is_probe, is_probe_path};
use crate::analysis::version_nodes::emptied_version_nodes;
use crate::analysis::{Analysis, ModuleResult};
use crate::apply::{
    Achieved, AppliedRecord, FAILED_PREFIX, LogLine, OtherLinkers, newest_by_identity, result_of,
    still_unchanged,
};
use crate::elf::hash::Hash128;
use crate::report::compress::Format;
use crate::report::html::{LinkRow, ModuleBars, NodeRow, Page};
use crate::report::image::{ImageSizes, Rebuilt, Request};
use crate::report::kept::kept_by_reason;
use crate::state::StateDir;

/// Run-2 results of the state directories: per identity (one per link
/// directory), and the links left unchanged.
struct Run2 {
    applied: HashMap<Hash128, Vec<AppliedRecord>>,
    unchanged: Vec<LogLine>,
}

fn load_run2(input: &Input) -> Result<Run2, Error> {
    let (mut applied, mut log) = (Vec::new(), Vec::new());
    for dir in &input.state {
        let state = StateDir::open(dir)?;
        let (good, bad) = state.load_applied();
        for e in &bad {
            eprintln!("ldprune: error: {e} (skipped)");
        }
        applied.extend(good);
        log.extend(state.read_log()?);
    }
    let applied = newest_by_identity(applied);
    let unchanged = still_unchanged(log, &applied.values().flatten().collect::<Vec<_>>());
    Ok(Run2 { applied, unchanged })
}

/// Run-1 against Run-2 for a module that Run-2 applied; `Err` when two
/// linkers wrote the outputs (never compared).
fn achieved(a: &Analysis, run2: &Run2, r: &ModuleResult) -> Option<Result<Achieved, OtherLinkers>> {
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

/// `ldprune report`'s arguments.
#[derive(clap::Args)]
#[command(mut_arg("state", |a| a.help(
    "State directories of Run-1 and Run-2: the records, the decisions, Run-2's results \
     (applied/) and the links it left unchanged (apply.log)"
)))]
pub struct Args {
    #[command(flatten)]
    input: Input,
    /// Measure this image as built by Run-2 (a root or DESTDIR): the
    /// bytes of each ELF file before and after Run-2, and the image
    /// compressed. "Before" is measured in --before, or else taken from
    /// the state (Run-1's measured outputs, found by build-id).
    #[arg(long, value_name = "ROOT")]
    measure: Option<PathBuf>,
    /// A copy of the image made before Run-2 (Run-2 rebuilds in place):
    /// measured like --measure; without it the image's compressed size
    /// before is not known.
    #[arg(long, value_name = "ROOT", requires = "measure")]
    before: Option<PathBuf>,
    /// How --measure compresses the image: squashfs with xz (mksquashfs),
    /// tar.xz, auto (squashfs when mksquashfs is installed), or none.
    #[arg(long, value_enum, default_value = "auto", value_name = "HOW")]
    compress: Compress,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Compress {
    Auto,
    Squashfs,
    TarXz,
    None,
}

impl Compress {
    fn format(self) -> Option<Format> {
        match self {
            Compress::Auto => Some(Format::available()),
            Compress::Squashfs => Some(Format::Squashfs),
            Compress::TarXz => Some(Format::TarXz),
            Compress::None => None,
        }
    }
}

/// What Run-2 rebuilt, for finding it in an image: each module's Run-2
/// output by build-id, with Run-1's and Run-2's file sizes.
fn rebuilt(a: &Analysis, run2: &Run2) -> Vec<Rebuilt> {
    a.results
        .iter()
        .filter_map(|r| {
            let rec = &a.records[a.graph.modules[r.module].record];
            let applied = run2
                .applied
                .get(&r.identity)
                .and_then(|results| result_of(results, &rec.directory()))?;
            Some(Rebuilt {
                build_id: applied.build_id.clone(),
                file_name: rec.output_file_name().to_string(),
                run1_size: rec.output_size,
                run2_size: applied.file_size,
            })
        })
        .collect()
}

fn measure_image(args: &Args, a: &Analysis, run2: &Run2) -> Result<Option<ImageSizes>, Error> {
    let Some(root) = &args.measure else {
        return Ok(None);
    };
    let req = Request {
        root,
        before: args.before.as_deref(),
        format: args.compress.format(),
    };
    // Lines, not a counter: compressing a large image takes minutes, and
    // a build log shows lines.
    let mut progress = |step: &str| eprintln!("ldprune: report: {step}");
    super::progress::heartbeat("measuring the image", || {
        crate::report::image::measure(&req, &rebuilt(a, run2), &mut progress)
    })
    .map(Some)
    .map_err(Error::Image)
}

pub fn report(args: &Args) -> Result<i32, Error> {
    let (input, json) = (&args.input, args.json);
    let a = input.analyse(false)?;
    let run2 = load_run2(input)?;
    let image = measure_image(args, &a, &run2)?;
    let kept = kept_by_reason(&a);
    let sites = lookup_sites(&a);
    let nodes = emptied_version_nodes(&a);
    warn_needed_nodes(&nodes);
    let mut out = String::new();
    if json {
        let v: Vec<serde_json::Value> = a
            .results
            .iter()
            .map(|r| {
                let compared = achieved(&a, &run2, r);
                let not_compared = compared
                    .as_ref()
                    .and_then(|c| c.as_ref().err())
                    .map(|o| o.to_string());
                let got = compared.and_then(Result::ok);
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
                    "not_compared": not_compared,
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
        let (unchanged, failed, probes) = split_unchanged(&run2);
        let report = serde_json::json!({
            "machine": a.machine.map(|m| m.to_string()),
            "modules": v,
            "unchanged_links": run2.unchanged,
            "unchanged_counts": {
                "unchanged": unchanged.len(), "failed": failed.len(), "probes": probes,
            },
            "image": image,
            "kept_reasons": kept,
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
        summary(&mut out, &a, &achieved_brief(&a, &run2));
        if !kept.is_empty() {
            let _ = writeln!(
                out,
                "exports kept, by reason (names, KiB of their sections):"
            );
            for k in &kept {
                let _ = writeln!(out, "  {}: {}, {}", k.reason, k.names, kib(k.bytes));
            }
        }
        emptied_nodes_text(&mut out, &nodes);
        achieved_summary(&mut out, &a, &run2);
        let (unchanged, failed, probes) = split_unchanged(&run2);
        if probes > 0 {
            let _ = writeln!(
                out,
                "build-system probes left unchanged by Run-2 (new every run): {probes}"
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
        if let Some(image) = &image {
            image_text(&mut out, image);
        }
    }
    if let Some(path) = &args.html {
        let page = page(&a, &run2, image.as_ref(), &kept, &sites, &nodes);
        std::fs::write(path, crate::report::html::render(&page)).map_err(|error| Error::Write {
            path: path.clone(),
            error,
        })?;
        eprintln!("ldprune: report: page written to {}", path.display());
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
    let mut other_linkers = Vec::new();
    // Probes are counted, not listed: their names change every run.
    let (probes, mut results): (Vec<&ModuleResult>, Vec<&ModuleResult>) =
        a.results.iter().partition(|r| is_probe_path(&r.path));
    results.sort_by(|x, y| x.path.cmp(&y.path));
    for r in results {
        let got = match achieved(a, run2, r) {
            Some(Err(other)) => {
                other_linkers.push(format!("  {}: {other}", r.path.display()));
                None
            }
            got => got.and_then(Result::ok),
        };
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
    if !other_linkers.is_empty() {
        let _ = writeln!(
            out,
            "not compared, Run-1 and Run-2 outputs of different linkers ({}):",
            other_linkers.len()
        );
        for o in other_linkers {
            let _ = writeln!(out, "{o}");
        }
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

/// The achieved half of report's summary line.
fn achieved_brief(a: &Analysis, run2: &Run2) -> String {
    let got: Vec<Achieved> = a
        .results
        .iter()
        .filter_map(|r| achieved(a, run2, r)?.ok())
        .collect();
    if got.is_empty() {
        return "; achieved: Run-2 not applied yet".into();
    }
    let before: u64 = got.iter().map(|g| g.text_before + g.data_before).sum();
    let after: u64 = got.iter().map(|g| g.text_after + g.data_after).sum();
    format!(
        "; achieved text+data {} KiB -> {} KiB on the {} modules Run-2 applied",
        kib(before),
        kib(after),
        got.len()
    )
}

fn achieved_summary(out: &mut String, a: &Analysis, run2: &Run2) {
    let got: Vec<Achieved> = a
        .results
        .iter()
        .filter_map(|r| achieved(a, run2, r).and_then(Result::ok))
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

/// The links Run-2 left unchanged, those that failed (neither applied nor
/// unchanged), and the number of build-system probes among them.
fn split_unchanged(run2: &Run2) -> (Vec<&LogLine>, Vec<&LogLine>, usize) {
    let (probes, links): (Vec<&LogLine>, Vec<&LogLine>) = run2
        .unchanged
        .iter()
        .partition(|l| is_probe(&l.cwd, &l.output));
    let (failed, unchanged) = links
        .into_iter()
        .partition(|l| l.why.starts_with(FAILED_PREFIX));
    (unchanged, failed, probes.len())
}

/// The image's ELF bytes and compressed size, before and after.
fn image_text(out: &mut String, image: &ImageSizes) {
    let _ = writeln!(
        out,
        "the image {}: {} ELF files ({} rebuilt by Run-2), {} KiB before, {} KiB after",
        image.root.display(),
        image.files.len(),
        image.rebuilt,
        kib(image.elf_before),
        kib(image.elf_after)
    );
    if let Some(c) = &image.compressed {
        let before = match c.before {
            Some(b) => format!("{} KiB", kib(b)),
            None => "not measured (pass --before: a copy of the image before Run-2)".into(),
        };
        let _ = writeln!(
            out,
            "  compressed as {}: before {before}, after {} KiB",
            c.format.describe(),
            kib(c.after)
        );
    }
    let changed: Vec<_> = image
        .files
        .iter()
        .filter(|f| f.before != f.after || f.xz_before != f.xz_after)
        .collect();
    if changed.is_empty() {
        return;
    }
    let width = changed
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "  {:<width$} {:>10} {:>10} {:>10} {:>10}  before from",
        "file", "before", "after", "xz before", "xz after"
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    for f in &changed {
        let _ = writeln!(
            out,
            "  {:<width$} {:>10} {:>10} {:>10} {:>10}  {}",
            f.path,
            f.before,
            f.after,
            opt(f.xz_before),
            opt(f.xz_after),
            f.before_from.describe()
        );
    }
    let same = image.files.len() - changed.len();
    if same > 0 {
        let _ = writeln!(
            out,
            "  ({same} more files the same size before and after; report --json lists all)"
        );
    }
}

/// The numbers of the page, from the same sources as the table and JSON.
fn page<'a>(
    a: &Analysis,
    run2: &Run2,
    image: Option<&'a ImageSizes>,
    kept: &'a [crate::report::kept::KeptReason],
    sites: &'a [(String, Vec<String>)],
    nodes: &[crate::analysis::version_nodes::EmptiedNode],
) -> Page<'a> {
    let (probes, results): (Vec<&ModuleResult>, Vec<&ModuleResult>) =
        a.results.iter().partition(|r| is_probe_path(&r.path));
    let modules = results
        .iter()
        .map(|r| {
            // Outputs of two linkers are not compared: no achieved bar.
            let got = achieved(a, run2, r).and_then(Result::ok);
            // Predicted as a saving from the same "before" as achieved: the
            // merge counts sections, the measured output has more.
            let saving =
                (r.before.text + r.before.data).saturating_sub(r.after.text + r.after.data);
            let before = got.as_ref().map_or(r.before.text + r.before.data, |g| {
                g.text_before + g.data_before
            });
            ModuleBars {
                module: r.path.display().to_string(),
                exports: r.exports,
                hidden: r.hidden_exports.len(),
                before,
                predicted: before.saturating_sub(saving),
                achieved: got.map(|g| g.text_after + g.data_after),
            }
        })
        .collect();
    let row = |l: &&LogLine| LinkRow {
        link: Path::new(&l.cwd).join(&l.output).display().to_string(),
        why: l.why.clone(),
    };
    let (unchanged, failed, unchanged_probes) = split_unchanged(run2);
    Page {
        title: format!("ldprune report: {}", args_title(a)),
        modules,
        probe_modules: probes.len(),
        image,
        kept,
        nodes: nodes
            .iter()
            .map(|n| NodeRow {
                module: n.path.display().to_string(),
                node: n.node.clone(),
                names: n.names,
                capability: n.capability.clone(),
                problem: n.is_problem(),
            })
            .collect(),
        sites,
        unchanged: unchanged.iter().map(row).collect(),
        failed: failed.iter().map(row).collect(),
        unchanged_probes,
    }
}

/// The directory all modules are under, for the page's title.
fn args_title(a: &Analysis) -> String {
    let dir = common_dir(a.results.iter().map(|r| r.path.as_path()));
    if dir.as_os_str().is_empty() {
        format!("{} modules", a.results.len())
    } else {
        format!("{} modules under {}", a.results.len(), dir.display())
    }
}
