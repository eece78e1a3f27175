//! `ldprune merge`, `ldprune report`, `ldprune explain`: run the analysis
//! over the records of one or more state directories.

use std::cell::RefCell;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::analysis::consumers::{ConsumerFile, LibraryKinds, Origin, RecordIndex, library_kinds};
use crate::analysis::executables::LibraryNames;
use crate::analysis::lists::{read_dlsym_signs, read_force_file, read_keep_lists};
use crate::analysis::lookup::LookupFunctions;
use crate::analysis::machines::one_machine;
use crate::analysis::version_nodes::{EmptiedNode, LINKER_KEEPS_EMPTY_NODE};
use crate::analysis::{Analysis, Built, Image, NameCause, Options, SectionCause, analyse_built};
use crate::elf::output::Abi;
use crate::glob::glob;
use crate::state::StateDir;
use crate::state::decisions::{self, LinkDecision};
use crate::state::record::LinkRecord;
use crate::tree::ElfFile;

use super::Error;
use super::progress::{Progress, heartbeat};

/// What merge, report and explain read.
#[derive(clap::Args)]
pub struct Input {
    /// State directories written by Run-1 (merge writes the decisions to
    /// the first).
    #[arg(long, value_name = "DIR", required = true)]
    pub(super) state: Vec<PathBuf>,
    /// Keep lists: one name, glob or module:name per line.
    #[arg(long, value_name = "FILE")]
    keep: Vec<PathBuf>,
    /// Force files of the original tool ("deps" format): every symbol
    /// they list is kept.
    #[arg(long, value_name = "FILE")]
    force: Vec<PathBuf>,
    /// Leave out record files that cannot be used (they are listed).
    #[arg(long)]
    skip_bad: bool,
    /// Also leave this library (SONAME or file name) unchanged.
    #[arg(long, value_name = "SONAME")]
    exclude: Vec<String>,
    /// Do not exclude glibc's libraries by default.
    #[arg(long)]
    no_default_excludes: bool,
    /// More dlsym-like functions ("dlsym-signs" format: a count line, then
    /// `name argpos` lines), besides the shipped list (dlsym, dlvsym,
    /// lt_dlsym, g_module_symbol, ...: `ldprune::analysis::lookup::KNOWN`).
    #[arg(long, value_name = "FILE")]
    dlsym_signs: Option<PathBuf>,
    /// Who counts as a consumer: every recorded link (all), or only the
    /// executables and libraries installed under --image (image).
    #[arg(long, value_enum, default_value = "all")]
    scope: Scope,
    /// The image or DESTDIR tree for --scope image.
    #[arg(long, value_name = "ROOT")]
    image: Option<PathBuf>,
    /// Trees of ELF files that are not rebuilt but run against the image
    /// (a base OS layer, vendor packages): their imports, C strings and
    /// DT_NEEDED count as a consumer's, in any scope.
    #[arg(long, value_name = "ROOT")]
    consumers: Vec<PathBuf>,
    /// Hide an executable's exports (-rdynamic, --export-dynamic,
    /// --dynamic-list) that no module of the scope imports or looks up,
    /// except those a library of its own link defines or refers to. Off by
    /// default: a plugin from outside the scope would miss them.
    #[arg(long)]
    hide_executable_exports: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scope {
    All,
    Image,
}

impl Input {
    /// The merge's options, and the ELF files of the image (image scope).
    fn options(&self) -> Result<(Options, Vec<ElfFile>), Error> {
        let mut excluded: Vec<String> = if self.no_default_excludes {
            Vec::new()
        } else {
            Options::default().excluded
        };
        excluded.extend(self.exclude.iter().cloned());
        let (image, files) = match (self.scope, &self.image) {
            (Scope::All, None) => (None, Vec::new()),
            (Scope::All, Some(_)) => return Err(Error::Usage("--image needs --scope image")),
            (Scope::Image, None) => return Err(Error::Usage("--scope image needs --image ROOT")),
            (Scope::Image, Some(root)) => {
                let (image, files) = heartbeat("reading the image", || scan_image(root))?;
                (Some(image), files)
            }
        };
        let mut keep = read_keep_lists(&self.keep)?;
        for f in &self.force {
            let names = read_force_file(f)?;
            keep.extend(names.into_iter().map(|n| (None, n)));
        }
        Ok((
            Options {
                keep,
                excluded,
                image,
                lookup: self.lookup_functions()?,
                hide_executable_exports: self.hide_executable_exports,
                read_library: Some(Box::new(read_library)),
                progress: None,
                keep_objects: false,
            },
            files,
        ))
    }

    /// The merge; `keep_objects`: the records keep their objects (`--vis`).
    pub(super) fn analyse(&self, keep_objects: bool) -> Result<Analysis, Error> {
        let (mut opts, image_files) = self.options()?;
        opts.keep_objects = keep_objects;
        let progress = Rc::new(RefCell::new(Progress::new()));
        let built = load_all(
            &self.state,
            self.skip_bad,
            keep_objects,
            &mut progress.borrow_mut(),
        )?;
        let records = built.records();
        let machine = one_machine(records)?;
        let consumers = heartbeat("reading the consumer files", || {
            self.consumer_files(records, image_files, machine)
        })?;
        let shown = Rc::clone(&progress);
        opts.progress = Some(Box::new(move |what, done, total| {
            shown.borrow_mut().tick(what, done, total);
        }));
        Ok(analyse_built(built, consumers, &opts))
    }

    /// The files of the image that no record made, then every file under
    /// the --consumers roots.
    fn consumer_files(
        &self,
        records: &[LinkRecord],
        image_files: Vec<ElfFile>,
        machine: Option<Abi>,
    ) -> Result<Vec<ConsumerFile>, Error> {
        let index = RecordIndex::new(records);
        let mut found: Vec<(ElfFile, Origin)> = image_files
            .into_iter()
            .filter(|f| !index.made(&f.path, &f.facts))
            .map(|f| (f, Origin::Image))
            .collect();
        for root in &self.consumers {
            let (files, problems) = crate::tree::elf_files(root)?;
            for p in &problems {
                eprintln!("ldprune: warning: {p} (not counted as a consumer)");
            }
            found.extend(files.into_iter().map(|f| (f, Origin::Prebuilt)));
        }
        // A file of another machine never loads beside the records' outputs.
        if let Some(m) = machine {
            let before = found.len();
            found.retain(|(f, _)| f.facts.abi == m);
            if found.len() < before {
                eprintln!(
                    "ldprune: {} ELF files of machines other than {m} are not counted as consumers",
                    before - found.len()
                );
            }
        }
        let mut out = Vec::with_capacity(found.len());
        for (f, origin) in found {
            let strings = crate::tree::read_strings(&f.path).unwrap_or_else(|e| {
                eprintln!(
                    "ldprune: warning: {}: {e} (its C strings are not counted)",
                    f.path.display()
                );
                Vec::new()
            });
            out.push(ConsumerFile::new(f.path, origin, f.facts, strings));
        }
        Ok(out)
    }

    /// The default dlsym-like functions plus those of `--dlsym-signs`.
    fn lookup_functions(&self) -> Result<LookupFunctions, Error> {
        let mut v = LookupFunctions::default();
        if let Some(f) = &self.dlsym_signs {
            v.add_signs(f, read_dlsym_signs(f)?);
        }
        Ok(v)
    }
}

/// The dynamic symbols of a shared library of an executable's link.
fn read_library(
    path: &Path,
) -> Result<Option<LibraryNames>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(crate::tree::read_elf(path)?.map(LibraryNames::from_facts))
}

/// The build-ids (or, without one, the names) of the ELF files under
/// `root`, and the files.
fn scan_image(root: &Path) -> Result<(Image, Vec<ElfFile>), Error> {
    let (files, problems) = crate::tree::elf_files(root)?;
    for p in &problems {
        eprintln!("ldprune: warning: {p} (not counted as part of the image)");
    }
    let mut image = Image::default();
    for f in &files {
        match &f.facts.build_id {
            Some(id) => {
                image.build_ids.insert(id.clone());
            }
            None => {
                if let Some(n) = f.path.file_name() {
                    image.names.insert(n.to_string_lossy().into_owned());
                }
            }
        }
    }
    if image.build_ids.is_empty() && image.names.is_empty() {
        return Err(Error::EmptyImage(root.to_path_buf()));
    }
    Ok((image, files))
}

/// Loads every record of `states` into the merge's graph
/// ([`crate::analysis::load`]). A bad file is an error unless `skip_bad`,
/// and then it is reported and left out.
pub fn load_all(
    states: &[PathBuf],
    skip_bad: bool,
    keep_objects: bool,
    progress: &mut Progress,
) -> Result<Built, Error> {
    let dirs = states
        .iter()
        .map(|dir| StateDir::open(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = crate::analysis::load::load(&dirs, keep_objects, |what, done, total| {
        progress.tick(what, done, total)
    })?;
    progress.end_line();
    let bad = loaded.bad;
    if !bad.is_empty() {
        for e in &bad {
            eprintln!("ldprune: error: {e}");
        }
        if !skip_bad {
            return Err(Error::BadRecords(bad.len()));
        }
        eprintln!(
            "ldprune: skipped {} bad record file(s) (--skip-bad)",
            bad.len()
        );
    }
    Ok(loaded.built)
}

pub(super) fn kib(n: u64) -> String {
    format!("{:.1}", n as f64 / 1024.0)
}

pub fn merge(input: &Input, vis: Option<&Path>, json: bool) -> Result<i32, Error> {
    let a = input.analyse(vis.is_some())?;
    if let Some(path) = vis {
        std::fs::write(path, vis_text(&a)).map_err(|error| Error::Write {
            path: path.to_path_buf(),
            error,
        })?;
    }
    let decisions: Vec<LinkDecision> = a
        .results
        .iter()
        .map(|r| LinkDecision {
            identity: r.identity,
            directory: a.records[a.graph.modules[r.module].record].directory(),
            output: r.path.display().to_string(),
            hide: r.hide.iter().collect(),
        })
        .collect();
    let state = StateDir::open(&input.state[0])?;
    let written = decisions::write(&state, decisions)?;
    let nodes = crate::analysis::version_nodes::emptied_version_nodes(&a);
    if json {
        warn_needed_nodes(&nodes);
        let t = Totals::of(&a);
        let v = serde_json::json!({
            "decisions": written,
            "modules": a.results.len(),
            "machine": a.machine.map(|m| m.to_string()),
            "exports": t.exports,
            "hidden": t.hidden,
            "predicted": {
                "allocated_before": t.before,
                "allocated_after": t.after,
                "file_before": t.file_before,
                "file_after": t.file_after,
            },
            "consumer_files": a.consumers.iter().map(|f| &f.path).collect::<Vec<_>>(),
            "emptied_version_nodes": nodes.iter().map(|n| serde_json::json!({
                "module": n.path,
                "soname": n.soname,
                "node": n.node,
                "names": n.names,
                "capability": n.capability,
            })).collect::<Vec<_>>(),
        });
        super::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
        return Ok(0);
    }
    let mut out = String::new();
    summary(&mut out, &a, "");
    emptied_nodes_text(&mut out, &nodes);
    warn_needed_nodes(&nodes);
    let _ = writeln!(out, "decisions written to {}", written.display());
    super::print(&out);
    Ok(0)
}

/// The version nodes the decisions empty, and who needs them.
pub(super) fn emptied_nodes_text(out: &mut String, nodes: &[EmptiedNode]) {
    if nodes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "version nodes left without exported names ({}; rpm provides each as a capability):",
        nodes.len()
    );
    let mut unmeasured: Vec<&str> = Vec::new();
    for n in nodes {
        let soname = n
            .soname
            .as_deref()
            .map(|s| format!(" (SONAME {s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}{soname}: node {}, {} name{} hidden, {}",
            n.path.display(),
            n.node,
            n.names,
            if n.names == 1 { "" } else { "s" },
            n.capability
        );
        for who in &n.needed_by {
            if who.consumer {
                let _ = writeln!(
                    out,
                    "    PROBLEM: {} requires {} (verneed) and is a consumer: a name of the node should have been kept; do not apply these decisions before this is understood",
                    who.link.display(),
                    n.capability
                );
            } else {
                let _ = writeln!(
                    out,
                    "    note: {} requires {} (verneed) but is not in the image scope: it will not find the node's names after Run-2",
                    who.link.display(),
                    n.capability
                );
            }
        }
        if n.linker_keeps_node.is_none() && !unmeasured.contains(&n.linker.as_str()) {
            unmeasured.push(&n.linker);
        }
    }
    if nodes.iter().any(|n| n.linker_keeps_node == Some(true)) {
        let _ = writeln!(out, "  {LINKER_KEEPS_EMPTY_NODE}");
    }
    for l in unmeasured {
        let _ = writeln!(
            out,
            "  not measured for {l}: if it drops the empty node, packages requiring it no longer install"
        );
    }
}

/// Emptied nodes that a consumer needs, said on stderr too.
pub(super) fn warn_needed_nodes(nodes: &[EmptiedNode]) {
    for n in nodes.iter().filter(|n| n.is_problem()) {
        for who in n.needed_by.iter().filter(|w| w.consumer) {
            eprintln!(
                "ldprune: warning: every name of {} in {} is hidden, but {} requires the node",
                n.capability,
                n.path.display(),
                who.link.display()
            );
        }
    }
}

/// The decisions in the original tool's "vis" format: per link a header
/// `<nelim> <nloc> <nhid> <linkid>`, then four blank-line separated
/// sections (eliminate, localize, hide, undefined) of
/// `<object>:<srcid>:<srcidcnt>:<tls>:<symbol>` lines. ldprune only hides.
pub fn vis_text(a: &Analysis) -> String {
    use crate::elf::types::{SymbolPlace, SymbolType};
    let mut out = String::new();
    for res in a.results.iter().filter(|r| !r.hide.is_empty()) {
        let record = &a.records[a.graph.modules[res.module].record];
        let _ = writeln!(out, "0 0 {} {}", res.hide.len(), res.identity);
        out.push_str("\n\n");
        for name in &res.hide {
            let found = record.objects.iter().find_map(|o| {
                o.symbols
                    .iter()
                    .find(|y| {
                        matches!(y.place, SymbolPlace::Section(_)) && record.str(y.name) == name
                    })
                    .map(|y| (o, y))
            });
            let (object, hash, tls) = match found {
                Some((o, y)) => (
                    o.member.clone().unwrap_or_else(|| {
                        o.path.rsplit('/').next().unwrap_or(&o.path).to_string()
                    }),
                    o.hash.to_string(),
                    if y.kind == SymbolType::Tls { 'T' } else { '_' },
                ),
                None => ("-".to_string(), "f".to_string(), '_'),
            };
            let _ = writeln!(out, "{object}:{hash}:1:{tls}:{name}");
        }
        out.push('\n');
    }
    out
}

/// The merge's totals over all modules.
#[derive(Default)]
struct Totals {
    exports: usize,
    hidden: usize,
    before: u64,
    after: u64,
    file_before: u64,
    file_after: u64,
}

impl Totals {
    fn of(a: &Analysis) -> Totals {
        let mut t = Totals::default();
        for r in &a.results {
            t.exports += r.exports;
            t.hidden += r.hidden_exports.len();
            // Allocated bytes as the output has them, less the saving.
            let now = a.records[a.graph.modules[r.module].record]
                .output_sizes
                .file_bytes();
            t.before += now;
            t.after += now.saturating_sub(r.saving.total());
            t.file_before += r.file_before;
            t.file_after += r.file_after;
        }
        t
    }
}

/// The merge's summary line (with `achieved` appended: report's), then
/// the executables, consumers and libraries worth a word.
pub(super) fn summary(out: &mut String, a: &Analysis, achieved: &str) {
    let Totals {
        exports,
        hidden,
        before,
        after,
        file_before,
        file_after,
    } = Totals::of(a);
    let _ = writeln!(
        out,
        "{} modules{}, exports {} -> {} ({} hidden); predicted allocated bytes {} KiB -> {} KiB, files {} KiB -> {} KiB{achieved}",
        a.results.len(),
        a.machine.map(|m| format!(" for {m}")).unwrap_or_default(),
        exports,
        exports - hidden,
        hidden,
        kib(before),
        kib(after),
        kib(file_before),
        kib(file_after)
    );
    executables_text(out, a);
    consumers_text(out, a);
    library_kinds_text(out, &library_kinds(a));
}

/// With --hide-executable-exports: which executables lose exports, and
/// what a plugin from outside the scope needs.
fn executables_text(out: &mut String, a: &Analysis) {
    let exes: Vec<(&std::path::Path, usize)> = a
        .results
        .iter()
        .filter(|r| a.graph.modules[r.module].kind != crate::identity::OutputKind::Dyn)
        .filter(|r| !r.hidden_exports.is_empty())
        .map(|r| (r.path.as_path(), r.hidden_exports.len()))
        .collect();
    if exes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} with exports hidden (--hide-executable-exports); a plugin from outside the scope that imports one will not load, and names its lookups compute need a keep entry (`PROGRAM:GLOB`):",
        plural(exes.len(), "executable", "executables")
    );
    list(
        out,
        exes.iter()
            .map(|(p, n)| format!("{} ({n} hidden)", p.display())),
    );
}

/// At most this many files are listed per kind (`report --json` lists all).
const LISTED: usize = 20;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The consumer files: those of the image without a record, listed, and
/// the prebuilt ones, counted.
pub(super) fn consumers_text(out: &mut String, a: &Analysis) {
    let image: Vec<&ConsumerFile> = a
        .consumers
        .iter()
        .filter(|f| f.origin == Origin::Image)
        .collect();
    if !image.is_empty() {
        let _ = writeln!(
            out,
            "{} of the image {} no Run-1 record; {} imports are kept:",
            plural(image.len(), "file", "files"),
            if image.len() == 1 { "has" } else { "have" },
            if image.len() == 1 { "its" } else { "their" },
        );
        list(out, image.iter().map(|f| f.path.display().to_string()));
    }
    let prebuilt = a.consumers.len() - image.len();
    if prebuilt > 0 {
        let _ = writeln!(
            out,
            "{} under --consumers (not rebuilt); {} imports are kept",
            plural(prebuilt, "file", "files"),
            if prebuilt == 1 { "its" } else { "their" },
        );
    }
}

fn list(out: &mut String, items: impl ExactSizeIterator<Item = String>) {
    let n = items.len();
    for item in items.take(LISTED) {
        let _ = writeln!(out, "  {item}");
    }
    if n > LISTED {
        let _ = writeln!(
            out,
            "  ... and {} more (report --json lists all)",
            n - LISTED
        );
    }
}

fn named_by_text(named_by: &[PathBuf]) -> String {
    let names: Vec<String> = named_by.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// Plugins kept whole, linked libraries also named by a string, and
/// libraries nothing links or names.
pub(super) fn library_kinds_text(out: &mut String, k: &LibraryKinds) {
    if !k.plugins.is_empty() {
        let _ = writeln!(
            out,
            "libraries no consumer links (DT_NEEDED): plugins, every export kept ({}):",
            k.plugins.len()
        );
        list(
            out,
            k.plugins.iter().map(|l| {
                if l.named_by.is_empty() {
                    format!("{}: named by no C string either", l.path.display())
                } else {
                    format!(
                        "{}: named by {}",
                        l.path.display(),
                        named_by_text(&l.named_by)
                    )
                }
            }),
        );
    }
    if !k.linked_and_named.is_empty() {
        let _ = writeln!(
            out,
            "linked libraries also named by a C string (dlopen); only the usual rules keep their exports ({}):",
            k.linked_and_named.len()
        );
        list(
            out,
            k.linked_and_named.iter().map(|l| {
                format!(
                    "{}: named by {}",
                    l.path.display(),
                    named_by_text(&l.named_by)
                )
            }),
        );
    }
    if !k.unreferenced.is_empty() {
        let _ = writeln!(
            out,
            "libraries nothing links or names ({}): dead weight, or loaded by a path built at run time:",
            k.unreferenced.len()
        );
        list(out, k.unreferenced.iter().map(|p| p.display().to_string()));
    }
}

/// Why NAME is kept (the chain from a root) or why it is hidden.
pub fn explain(input: &Input, name: &str, module: Option<&str>, json: bool) -> Result<i32, Error> {
    let a = input.analyse(false)?;
    let g = &a.graph;
    // The name as spelled, or else a C++ name as written (`Acc<long>::add`):
    // every export it demangles to.
    let candidates: Vec<u32> = match g.names.lookup(name) {
        Some(n) => vec![n],
        None => {
            let query = crate::analysis::demangle::Query::new(name);
            let mut found: Vec<u32> = g
                .modules
                .iter()
                .flat_map(|m| m.exports.iter().map(|e| e.name))
                .filter(|&n| query.matches(g.names.str(n)))
                .collect();
            found.sort_unstable();
            found.dedup();
            found
        }
    };
    if candidates.is_empty() {
        return Err(Error::UnknownName(name.to_string()));
    }
    let mut answers = Vec::new();
    for r in &a.results {
        let m = &g.modules[r.module];
        if let Some(want) = module
            && !(m.file_name == want
                || m.soname.as_deref() == Some(want)
                || glob(want, &m.file_name))
        {
            continue;
        }
        for e in m.exports.iter().filter(|e| candidates.contains(&e.name)) {
            let n = e.name;
            let (verdict, reason, chain_lines) = if r.hidden_exports.contains(&e.spelled) {
                ("hidden", "no live section of any module imports it, no C string names it, and no rule keeps it".to_string(), Vec::new())
            } else if let Some(why) = r.pinned.get(&e.spelled) {
                ("kept", why.to_string(), Vec::new())
            } else if let Some(cause) = a.demanded.get(&n) {
                ("kept", "demanded".to_string(), chain(&a, cause.clone()))
            } else {
                (
                    "kept",
                    "its own objects do not define it (it cannot be hidden at link time)"
                        .to_string(),
                    Vec::new(),
                )
            };
            answers.push((
                e.spelled.clone(),
                m.path.display().to_string(),
                verdict,
                reason,
                chain_lines,
            ));
        }
    }
    if answers.is_empty() {
        return Err(Error::NotExported {
            name: name.to_string(),
            module: module.map(str::to_string),
        });
    }
    let mut out = String::new();
    if json {
        let v: Vec<serde_json::Value> = answers
            .iter()
            .map(|(name, module, verdict, reason, chain)| {
                let demangled = crate::analysis::demangle::demangle(name).map(|d| d.0);
                serde_json::json!({"name": name, "demangled": demangled, "module": module, "verdict": verdict, "reason": reason, "chain": chain})
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        );
    } else {
        for (name, module, verdict, reason, chain) in &answers {
            let shown = match crate::analysis::demangle::demangle(name) {
                Some((full, _)) => format!("{name} ({full})"),
                None => name.clone(),
            };
            let _ = writeln!(
                out,
                "{shown} in {module}: {}: {reason}",
                verdict.to_uppercase()
            );
            for line in chain {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    super::print(&out);
    Ok(0)
}

/// The chain of causes from a demanded name back to a root, one line each.
fn chain(a: &Analysis, mut cause: NameCause) -> Vec<String> {
    let g = &a.graph;
    let mut lines = Vec::new();
    while lines.len() < 64 {
        let sec = match &cause {
            NameCause::ImportedBy(s) => *s,
            NameCause::ImportedByRecord(i) => {
                let r = &a.records[*i];
                lines.push(format!(
                    "<- imported by {} (a record whose graph is not analysed)",
                    r.output
                ));
                return lines;
            }
            NameCause::KeptImport(i) => {
                let r = &a.records[*i];
                lines.push(format!(
                    "<- imported by {} ({} keeps an import that only removed code uses)",
                    r.output, r.output_linker
                ));
                return lines;
            }
            NameCause::CString(i) => {
                let r = &a.records[*i];
                let f = a.record_lookup[*i].as_deref().unwrap_or("?");
                lines.push(format!(
                    "<- a C string in {} spells it, and it imports {} (a lookup)",
                    r.output,
                    a.lookup.describe(&a.graph, f)
                ));
                return lines;
            }
            NameCause::Keep(p) => {
                lines.push(format!("<- keep list entry {p:?}"));
                return lines;
            }
            NameCause::ImportedByFile(k) => {
                let f = &a.consumers[*k];
                lines.push(format!(
                    "<- imported by {} ({})",
                    f.path.display(),
                    f.origin.describe()
                ));
                return lines;
            }
            NameCause::CStringInFile(k) => {
                let f = &a.consumers[*k];
                let l = a.file_lookup[*k].as_deref().unwrap_or("?");
                lines.push(format!(
                    "<- a C string in {} spells it, and it imports {} (a lookup; {})",
                    f.path.display(),
                    a.lookup.describe(&a.graph, l),
                    f.origin.describe()
                ));
                return lines;
            }
        };
        let mut s = sec;
        loop {
            let node = &g.sections[s as usize];
            let m = &g.modules[node.module as usize];
            lines.push(format!(
                "<- section {} of {}",
                g.section_name(&a.records, s),
                m.file_name
            ));
            match a.live[s as usize] {
                Some(SectionCause::From(p)) => s = p,
                Some(SectionCause::Root) => {
                    lines.push(
                        "   (kept by --gc-sections: entry point, constructor or retained)".into(),
                    );
                    return lines;
                }
                Some(SectionCause::Pinned(n)) => {
                    lines.push(format!(
                        "   (defines {}, which a rule keeps)",
                        g.names.str(n)
                    ));
                    return lines;
                }
                Some(SectionCause::Export(n)) => {
                    lines.push(format!(
                        "   (defines {}, which is demanded:)",
                        g.names.str(n)
                    ));
                    match a.demanded.get(&n) {
                        Some(c) => {
                            cause = c.clone();
                            break;
                        }
                        None => return lines,
                    }
                }
                None => return lines,
            }
        }
    }
    lines.push("... (chain continues)".into());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_requiring_an_emptied_node_is_a_problem() {
        use crate::analysis::version_nodes::Needer;
        let mut node = EmptiedNode {
            result: 0,
            path: "/b/libv.so.1".into(),
            soname: Some("libv.so.1".into()),
            node: "V2".into(),
            names: 2,
            capability: "libv.so.1(V2)(64bit)".into(),
            linker: "lld 14".into(),
            linker_keeps_node: None,
            needed_by: vec![Needer {
                link: "/b/prog".into(),
                consumer: true,
            }],
        };
        let mut out = String::new();
        emptied_nodes_text(&mut out, std::slice::from_ref(&node));
        assert!(
            out.contains(
                "/b/libv.so.1 (SONAME libv.so.1): node V2, 2 names hidden, libv.so.1(V2)(64bit)"
            ) && out.contains("PROBLEM: /b/prog requires libv.so.1(V2)(64bit)")
                && out.contains("not measured for lld 14"),
            "{out}"
        );
        node.needed_by[0].consumer = false;
        let mut out = String::new();
        emptied_nodes_text(&mut out, &[node]);
        assert!(
            !out.contains("PROBLEM") && out.contains("note: /b/prog requires"),
            "{out}"
        );
    }
}
