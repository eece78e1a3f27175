//! The merge: from all Run-1 records, decide which exports nobody needs.
//!
//! Every section of every module is a node; relocations are edges; a name
//! a module does not define is an import, tied by name to every module that
//! exports it. Starting from what --gc-sections keeps anyway (entry points,
//! constructors, retained sections) plus what rules pin (see `rules`), a
//! worklist makes sections live and names demanded until nothing changes:
//! a demanded name makes the exporting modules' definitions live, and live
//! sections demand what they import. The result is the least fixpoint, so
//! hiding one export frees whatever only it reached, across modules.
//! Exports of shared libraries that end up not demanded are hidden.
//!
//! Consumers are the links in scope and the ELF files no analysed record
//! describes (`consumers`), which count through their imports and strings.
//! A library no consumer links (DT_NEEDED) is reachable only by dlopen and
//! keeps every export (`rules::PinReason::NotLinked`).
//!
//! A C string keeps the export it spells only if its module can look a name
//! up (imports `dlsym` or a dlsym-like function, `lookup`).

pub mod consumers;
pub mod demangle;
pub mod executables;
pub mod graph;
pub mod lists;
pub mod load;
pub mod lookup;
pub mod machines;
pub mod names;
pub mod predict;
pub mod probes;
pub mod rules;
pub mod version_nodes;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::elf::hash::Hash128;
use crate::elf::output::Abi;
use crate::elf::types::SectionKind;
use crate::fasthash::{FxHashMap, FxHashSet};
use crate::glob::glob;
use crate::identity::OutputKind;
use crate::state::record::{LinkRecord, Linker, RecordHead};
use consumers::ConsumerFile;
use graph::{Edge, Graph, Name, Sec, plain};
use rules::{LibraryUse, PinReason};

/// Why a section is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionCause {
    /// --gc-sections keeps it (entry point, constructor, retained, unwind data).
    Root,
    /// A relocation in another live section.
    From(Sec),
    /// It defines a demanded export.
    Export(Name),
    /// It defines an export a rule keeps.
    Pinned(Name),
}

/// Why a name is demanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameCause {
    /// A live section imports it.
    ImportedBy(Sec),
    /// A record whose graph is not analysed imports it (older record of an
    /// output, or an incomplete one).
    ImportedByRecord(usize),
    /// The output of this record, linked by gold or mold, imports it: those
    /// keep an import that only code --gc-sections removes refers to, as
    /// long as a library of the link defines it.
    KeptImport(usize),
    /// A C string of this record's read-only data spells it, and its output
    /// imports a dlsym-like function (`Analysis::record_lookup`).
    CString(usize),
    /// A consumer file (`Analysis::consumers`) imports it.
    ImportedByFile(usize),
    /// A C string of a consumer file spells it, and the file imports a
    /// dlsym-like function (`Analysis::file_lookup`).
    CStringInFile(usize),
    /// A keep list names it.
    Keep(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub text: u64,
    pub data: u64,
    pub bss: u64,
}

impl Sizes {
    fn add(&mut self, kind: SectionKind, size: u64) {
        match kind {
            SectionKind::Text => self.text += size,
            SectionKind::Bss | SectionKind::TlsBss => self.bss += size,
            SectionKind::Note | SectionKind::Other => {}
            _ => self.data += size,
        }
    }
}

/// The decision for one module (a shared library or executable).
#[derive(Clone, Debug)]
pub struct ModuleResult {
    pub module: usize,
    pub identity: Hash128,
    pub path: PathBuf,
    pub exports: usize,
    /// Exported names to hide, spelled as this link's objects spell them.
    pub hide: Vec<String>,
    /// Exports hidden, as the dynamic linker shows them.
    pub hidden_exports: Vec<String>,
    /// Kept by a rule: export -> reason (`"*"`: the whole module).
    pub pinned: BTreeMap<String, PinReason>,
    /// For a shared library: whether a consumer links it and which name it.
    pub uses: LibraryUse,
    /// Plain --gc-sections (all exports kept) vs with the hidden exports removed.
    pub before: Sizes,
    pub after: Sizes,
    /// Allocated bytes predicted to go (`predict`): what report compares
    /// with the bytes Run-2 achieved.
    pub saving: predict::Saving,
    /// Size of the output file now, and as predicted after Run-2 (the
    /// saving, with the linker's page padding; an estimate).
    pub file_before: u64,
    pub file_after: u64,
}

pub struct Options {
    /// Sonames (or file names) of modules never changed.
    pub excluded: Vec<String>,
    /// Names to keep: (module file name or SONAME, if scoped; name or glob).
    pub keep: Vec<(Option<String>, String)>,
    /// None: every recorded link is a consumer. Some: only the links whose
    /// output is installed in the image.
    pub image: Option<Image>,
    /// Functions that look a name up (dlsym and the like); the merge adds
    /// the exported wrappers it finds in the graph.
    pub lookup: lookup::LookupFunctions,
    /// `--hide-executable-exports`: an executable's exports are hidden like
    /// a library's, except what a library of its own link defines or refers
    /// to (`executables`).
    pub hide_executable_exports: bool,
    /// Reads a shared library of an executable's link (with
    /// `hide_executable_exports`); None: none can be read, so executables
    /// keep every export.
    pub read_library: Option<Box<executables::ReadLibrary>>,
    /// Told where a long merge is: (step, done, total). None: nothing told.
    pub progress: Option<Box<Progress>>,
    /// Keep the records' objects after the graph is built (`--vis` lists
    /// them). Off, each record's objects are freed once its module is in
    /// the graph, which holds what the analysis needs of them: at
    /// distribution scale they are a third of the merge's memory.
    pub keep_objects: bool,
}

/// A progress display: (what is being done, how many done, of how many).
pub type Progress = dyn Fn(&'static str, usize, usize);

/// The files of an image (or DESTDIR tree): their build-ids, and the names
/// of those without one.
#[derive(Clone, Debug, Default)]
pub struct Image {
    pub build_ids: FxHashSet<Vec<u8>>,
    pub names: FxHashSet<String>,
}

impl Image {
    /// Whether the output of `r` is a file of the image.
    pub fn contains(&self, r: &LinkRecord) -> bool {
        match &r.build_id {
            Some(id) => self.build_ids.contains(id),
            None => self.names.contains(r.output_file_name()),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            excluded: rules::DEFAULT_EXCLUDED
                .iter()
                .map(|s| s.to_string())
                .collect(),
            keep: Vec::new(),
            image: None,
            lookup: lookup::LookupFunctions::default(),
            hide_executable_exports: false,
            read_library: None,
            progress: None,
            keep_objects: false,
        }
    }
}

pub struct Analysis {
    /// The one machine of the records (see [`machines`]), if any says.
    pub machine: Option<Abi>,
    pub graph: Graph,
    pub records: Vec<LinkRecord>,
    pub live: Vec<Option<SectionCause>>,
    pub demanded: FxHashMap<Name, NameCause>,
    pub results: Vec<ModuleResult>,
    /// Records that are not modules but consumers: (record, why).
    pub consumers_only: Vec<(usize, &'static str)>,
    /// Per record: it counts as a consumer (every record, or in image
    /// scope those whose output is in the image).
    pub record_in_scope: Vec<bool>,
    /// ELF files that consume without an analysed record.
    pub consumers: Vec<ConsumerFile>,
    /// Per consumer file that is a library of the image: how the other
    /// consumers reach it (default for the others).
    pub consumer_uses: Vec<LibraryUse>,
    /// The dlsym-like functions: given, and the wrappers found in the graph.
    pub lookup: lookup::LookupFunctions,
    /// Per record: the dlsym-like function its output imports, if any (its
    /// C strings count only then).
    pub record_lookup: Vec<Option<String>>,
    /// Per consumer file: the same.
    pub file_lookup: Vec<Option<String>>,
}

/// Runs the merge over complete records (failed links are ignored).
pub fn analyse(records: Vec<LinkRecord>, opts: &Options) -> Analysis {
    analyse_with(records, Vec::new(), opts)
}

/// The fields of a record that order the merge ([`plan`]).
pub struct Head<'a> {
    pub identity: Hash128,
    pub cwd: &'a str,
    pub output: &'a str,
    pub recorded_at: u64,
    pub kind: OutputKind,
    pub complete: bool,
}

impl<'a> Head<'a> {
    pub fn of(r: &'a LinkRecord) -> Head<'a> {
        Head {
            identity: r.identity,
            cwd: &r.cwd,
            output: &r.output,
            recorded_at: r.recorded_at,
            kind: r.kind,
            complete: r.is_complete(),
        }
    }

    pub fn of_head(h: &'a RecordHead) -> Head<'a> {
        Head {
            identity: h.identity,
            cwd: &h.cwd,
            output: &h.output,
            recorded_at: h.recorded_at,
            kind: h.kind,
            complete: h.is_complete(),
        }
    }
}

/// The records the merge reads, in its order, and which describe modules.
pub struct Plan {
    /// Indices of the complete records, sorted by (identity, directory,
    /// output, time): one order whatever order the files were read in.
    pub order: Vec<usize>,
    /// Per entry of `order`: the newest record of its output file, which
    /// describes the module; the others still were consumers when they ran.
    pub module: Vec<bool>,
}

pub fn plan(heads: &[Head]) -> Plan {
    let mut order: Vec<usize> = (0..heads.len()).filter(|&i| heads[i].complete).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&heads[a], &heads[b]);
        (a.identity, a.cwd, a.output, a.recorded_at).cmp(&(
            b.identity,
            b.cwd,
            b.output,
            b.recorded_at,
        ))
    });
    let mut newest: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (k, &i) in order.iter().enumerate() {
        let h = &heads[i];
        if h.kind == OutputKind::Rel {
            continue;
        }
        let path = std::path::Path::new(h.cwd).join(h.output);
        match newest.get(&path) {
            Some(&j) if heads[order[j]].recorded_at >= h.recorded_at => {}
            _ => {
                newest.insert(path, k);
            }
        }
    }
    let mut module = vec![false; order.len()];
    for k in newest.into_values() {
        module[k] = true;
    }
    Plan { order, module }
}

/// A record as the graph needs it: a module's record gives its part of the
/// graph and the inputs of its prediction, and then its objects go.
pub struct Prepared {
    record: LinkRecord,
    part: Option<(graph::Part, predict::Costs)>,
}

/// Prepares a record (`module`: it describes a module, [`Plan::module`]).
/// Runs in the loading threads.
pub fn prepare(mut record: LinkRecord, module: bool, keep_objects: bool) -> Prepared {
    let mut part = module.then(|| (graph::Part::new(&record), predict::Costs::new(&record)));
    if !keep_objects {
        match &mut part {
            Some((part, _)) => {
                let new_ids = record.drop_objects(part.strings());
                part.renumber_strings(&new_ids);
            }
            None => {
                record.drop_objects([]);
            }
        }
    }
    Prepared { record, part }
}

/// The records in the merge's order and the graph of their modules, built
/// one record at a time in the plan's order.
#[derive(Default)]
pub struct Built {
    records: Vec<LinkRecord>,
    graph: Graph,
    /// Per module: the inputs of its prediction.
    costs: Vec<predict::Costs>,
    /// Per record: it describes a module.
    module: Vec<bool>,
    consumers_only: Vec<(usize, &'static str)>,
}

impl Built {
    /// Adds the next record of the plan.
    pub fn push(&mut self, p: Prepared) {
        let i = self.records.len();
        let r = p.record;
        self.module.push(p.part.is_some());
        match p.part {
            Some((part, costs)) => {
                self.graph.add_part(i, &r, part);
                self.costs.push(costs);
            }
            None if r.kind != OutputKind::Rel => {
                self.consumers_only
                    .push((i, "an older record of the same output"));
            }
            None => {}
        }
        self.records.push(r);
    }

    /// The records so far (complete ones, in the merge's order).
    pub fn records(&self) -> &[LinkRecord] {
        &self.records
    }
}

/// The merge with consumer files besides the records (unrecorded files of
/// the image, prebuilt trees).
pub fn analyse_with(
    records: Vec<LinkRecord>,
    consumers: Vec<ConsumerFile>,
    opts: &Options,
) -> Analysis {
    let heads: Vec<Head> = records.iter().map(Head::of).collect();
    let plan = plan(&heads);
    drop(heads);
    let mut slots: Vec<Option<LinkRecord>> = records.into_iter().map(Some).collect();
    let mut built = Built::default();
    let total = plan.order.len();
    for (k, &i) in plan.order.iter().enumerate() {
        if let Some(p) = &opts.progress {
            p("building the graph", k + 1, total);
        }
        if let Some(r) = slots[i].take() {
            built.push(prepare(r, plan.module[k], opts.keep_objects));
        }
    }
    analyse_built(built, consumers, opts)
}

/// The merge over records already in the graph ([`Built`], filled in the
/// order of a [`plan`]).
pub fn analyse_built(built: Built, consumers: Vec<ConsumerFile>, opts: &Options) -> Analysis {
    let progress = |what: &'static str, done: usize, total: usize| {
        if let Some(p) = &opts.progress {
            p(what, done, total);
        }
    };
    let Built {
        records,
        graph,
        mut costs,
        module: is_module,
        consumers_only,
    } = built;
    let machine = machines::one_machine(&records).ok().flatten();

    // In image scope only the image's files consume; the other links are
    // built (test programs, tools) but do not ship.
    let record_in_scope: Vec<bool> = records
        .iter()
        .map(|r| opts.image.as_ref().is_none_or(|img| img.contains(r)))
        .collect();
    let module_in_scope: Vec<bool> = graph
        .modules
        .iter()
        .map(|m| record_in_scope[m.record])
        .collect();
    // System-wide facts for the rules. Only modules in scope count as
    // second definitions: a test program that is not in the image (nettle's
    // aes-test copies `nettle_aes128` into itself) interposes nothing there.
    let mut exporters: FxHashMap<Name, u32> = FxHashMap::default();
    let mut export_index: FxHashMap<Name, Vec<usize>> = FxHashMap::default();
    for (m, module) in graph.modules.iter().enumerate() {
        let mut seen = FxHashSet::default();
        for e in &module.exports {
            if seen.insert(e.name) {
                if module_in_scope[m] {
                    *exporters.entry(e.name).or_default() += 1;
                }
                export_index.entry(e.name).or_default().push(m);
            }
        }
    }
    let (uses, consumer_uses) = library_uses(&graph, &records, &record_in_scope, &consumers);
    let keep_scoped: Vec<bool> = graph
        .modules
        .iter()
        .map(|module| {
            opts.keep.iter().any(|(scope, _)| {
                scope
                    .as_deref()
                    .is_some_and(|s| module.file_name == s || module.soname.as_deref() == Some(s))
            })
        })
        .collect();

    let mut library_exporters: FxHashMap<Name, u32> = FxHashMap::default();
    let libraries_in_scope = graph
        .modules
        .iter()
        .zip(&module_in_scope)
        .filter(|(m, in_scope)| m.kind == OutputKind::Dyn && **in_scope);
    for (module, _) in libraries_in_scope {
        let mut seen = FxHashSet::default();
        for e in &module.exports {
            if seen.insert(e.name) {
                *library_exporters.entry(e.name).or_default() += 1;
            }
        }
    }
    let link_names = executable_link_names(&graph, &records, &module_in_scope, opts);

    let mut pins: Vec<(usize, Name, PinReason)> = Vec::new();
    {
        let cx = rules::Context {
            library_exporters: &library_exporters,
            link_names: &link_names,
            graph: &graph,
            exporters: &exporters,
            uses: &uses,
            keep_scoped: &keep_scoped,
            excluded: &opts.excluded,
        };
        for (m, module) in graph.modules.iter().enumerate() {
            if !module_in_scope[m] {
                continue;
            }
            for e in &module.exports {
                if let Some(why) = rules::never_hide(&cx, m, module, e) {
                    pins.push((m, e.name, why));
                }
            }
        }
    }

    // The worklist.
    let mut w = Worklist {
        live: vec![None; graph.sections.len()],
        demanded: FxHashMap::default(),
        queue: Vec::new(),
    };
    for (m, module) in graph.modules.iter().enumerate() {
        if module_in_scope[m] {
            for &s in &module.roots {
                w.mark(s, SectionCause::Root);
            }
        }
    }
    for (m, name, _) in &pins {
        for d in graph.modules[*m].defs_of(*name) {
            w.mark(d, SectionCause::Pinned(*name));
        }
    }
    for (m, module) in graph.modules.iter().enumerate() {
        if module_in_scope[m] {
            for &(n, table) in &module.root_imports {
                w.demand(&graph, &export_index, n, NameCause::ImportedBy(table));
            }
        }
    }
    // Strings count where a lookup can reach them.
    let mut lookup = opts.lookup.clone();
    lookup.compute_wrappers(&graph);
    let record_lookup: Vec<Option<String>> = records
        .iter()
        .map(|r| lookup.first_of(r.imports.iter().map(|i| i.name.as_str())))
        .collect();
    let file_lookup: Vec<Option<String>> = consumers
        .iter()
        .map(|f| lookup.first_of(f.imports.iter().map(|i| i.name.as_str())))
        .collect();
    let mut seeds: Vec<(String, NameCause)> = Vec::new();
    let mut kept_imports: Vec<(String, NameCause)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if !record_in_scope[i] {
            continue;
        }
        if record_lookup[i].is_some() {
            for &c in &r.cstrings {
                seeds.push((plain(r.str(c)).to_string(), NameCause::CString(i)));
            }
        }
        let opaque = !is_module[i] || !r.incomplete.is_empty();
        // gold and mold write a .dynsym import that only removed code
        // refers to when a library of the link defines the name: a Run-2
        // output linked against an older build of that library (a tree
        // relinked out of order, another package's Run-1 library) keeps
        // the import, and every later link against it fails if the name
        // went. So what such an output imports in Run-1 stays exported
        // (the cascade stops there; ld.bfd and lld drop those imports).
        let keeps_dead_imports = matches!(r.output_linker, Linker::Gold | Linker::Mold);
        if r.kind != OutputKind::Rel && opaque {
            for im in &r.imports {
                seeds.push((im.name.clone(), NameCause::ImportedByRecord(i)));
            }
        } else if r.kind != OutputKind::Rel && keeps_dead_imports {
            // After the fixpoint: a name live code imports says so.
            for im in &r.imports {
                kept_imports.push((im.name.clone(), NameCause::KeptImport(i)));
            }
        }
    }
    for (k, file) in consumers.iter().enumerate() {
        for im in &file.imports {
            seeds.push((im.name.clone(), NameCause::ImportedByFile(k)));
        }
        if file_lookup[k].is_some() {
            for s in &file.strings {
                seeds.push((plain(s).to_string(), NameCause::CStringInFile(k)));
            }
        }
    }
    for (scope, pattern) in &opts.keep {
        if scope.is_none() {
            for n in matching_names(&graph, pattern) {
                seeds.push((n, NameCause::Keep(pattern.clone())));
            }
        }
    }
    for (name, cause) in seeds {
        if let Some(n) = graph.names.lookup(&name) {
            w.demand(&graph, &export_index, n, cause);
        }
    }
    // Scoped keep entries pin a name in one module only.
    for (scope, pattern) in &opts.keep {
        if let Some(scope) = scope {
            for (m, module) in graph.modules.iter().enumerate() {
                if module.file_name == *scope || module.soname.as_deref() == Some(scope) {
                    for e in &module.exports {
                        if glob(pattern, graph.names.str(e.name)) {
                            pins.push((
                                m,
                                e.name,
                                PinReason::KeepEntry {
                                    module: scope.clone(),
                                    pattern: pattern.clone(),
                                },
                            ));
                            for d in module.defs_of(e.name) {
                                w.mark(d, SectionCause::Pinned(e.name));
                            }
                        }
                    }
                }
            }
        }
    }
    progress("following references", 0, 1);
    w.run(&graph, &export_index);
    for (name, cause) in kept_imports {
        if let Some(n) = graph.names.lookup(&name) {
            w.demand(&graph, &export_index, n, cause);
        }
    }
    w.run(&graph, &export_index);
    progress("following references", 1, 1);

    // Decisions and predictions per module.
    let mut results = Vec::new();
    let pinned_by: FxHashMap<(usize, Name), &PinReason> =
        pins.iter().map(|(m, n, why)| ((*m, *n), why)).collect();
    for (m, module) in graph.modules.iter().enumerate() {
        progress("deciding", m + 1, graph.modules.len());
        let r = &records[module.record];
        let mut res = ModuleResult {
            module: m,
            identity: r.identity,
            path: module.path.clone(),
            exports: module.exports.len(),
            hide: Vec::new(),
            hidden_exports: Vec::new(),
            pinned: BTreeMap::new(),
            uses: uses[m].clone(),
            before: Sizes::default(),
            after: Sizes::default(),
            saving: predict::Saving::default(),
            file_before: r.output_size,
            file_after: r.output_size,
        };
        let mut hidden_names = FxHashSet::default();
        if !module_in_scope[m] {
            res.pinned.insert("*".into(), PinReason::NotInImage);
            results.push(res);
            continue;
        }
        for e in &module.exports {
            if let Some(why) = pinned_by.get(&(m, e.name)) {
                res.pinned.insert(e.spelled.clone(), (*why).clone());
                continue;
            }
            if w.demanded.contains_key(&e.name) {
                continue;
            }
            let mut spelled: Vec<String> = module
                .spellings_of(e.name)
                .map(|id| r.str(id).to_string())
                .collect();
            // gold's `_end`, `_edata`, `__bss_start`: no input spells them,
            // a hidden reference by their plain name hides them.
            if spelled.is_empty() && crate::elf::EXPORTED_BY_LINKER.contains(&e.spelled.as_str()) {
                spelled.push(e.spelled.clone());
            }
            if !spelled.is_empty() {
                if hidden_names.insert(e.name) {
                    res.hide.extend(spelled);
                }
                res.hidden_exports.push(e.spelled.clone());
            }
        }
        res.hide.sort();
        res.hide.dedup();
        res.hidden_exports.sort();
        // Prediction: what --gc-sections keeps with all exports as roots,
        // and what stays live now.
        let base = local_reach(&graph, m);
        for s in module.sections.clone() {
            let node = &graph.sections[s as usize];
            if base[(s - module.sections.start) as usize] {
                res.before.add(node.kind, node.size);
            }
            if w.live[s as usize].is_some() {
                res.after.add(node.kind, node.size);
            }
        }
        let first = module.sections.start as usize;
        let fate = |i: usize| match (base.get(i), w.live.get(first + i)) {
            (Some(true), Some(Some(_))) => predict::Fate::Kept,
            (Some(true), Some(None)) => predict::Fate::Gone,
            _ => predict::Fate::Unlinked,
        };
        let hidden: Vec<&str> = res.hidden_exports.iter().map(|h| plain(h)).collect();
        let nodes = &graph.sections[module.sections.start as usize..module.sections.end as usize];
        let module_costs = std::mem::take(&mut costs[m]);
        (res.saving, res.file_after) = predict::saving(r, nodes, &module_costs, fate, &hidden);
        results.push(res);
    }
    predict::linker_names_of_programs(&graph, &records, &mut results);
    Analysis {
        machine,
        graph,
        records,
        live: w.live,
        demanded: w.demanded,
        results,
        consumers_only,
        record_in_scope,
        consumers,
        consumer_uses,
        lookup,
        record_lookup,
        file_lookup,
    }
}

/// Per module: with `--hide-executable-exports`, for each executable in
/// scope the names the libraries of its link define or refer to.
fn executable_link_names(
    graph: &Graph,
    records: &[LinkRecord],
    module_in_scope: &[bool],
    opts: &Options,
) -> Vec<Option<executables::LinkNames>> {
    let mut out = vec![None; graph.modules.len()];
    if !opts.hide_executable_exports {
        return out;
    }
    let recorded: FxHashMap<String, PathBuf> = graph
        .modules
        .iter()
        .filter(|m| m.kind == OutputKind::Dyn)
        .map(|m| {
            (
                m.soname.clone().unwrap_or_else(|| m.file_name.clone()),
                m.path.clone(),
            )
        })
        .collect();
    let unreadable = |_: &std::path::Path| Err("no library reader".into());
    let read: &executables::ReadLibrary = opts.read_library.as_deref().unwrap_or(&unreadable);
    let mut cache = FxHashMap::default();
    for (m, module) in graph.modules.iter().enumerate() {
        if module.kind != OutputKind::Dyn && module_in_scope[m] && !module.incomplete {
            out[m] = Some(executables::link_names(
                &records[module.record],
                &recorded,
                read,
                &mut cache,
            ));
        }
    }
    out
}

/// How the consumers in scope reach each shared library: linked (a
/// DT_NEEDED entry names its SONAME, or its file name when it has none)
/// and named by C strings (possible dlopen). For the modules, and for the
/// consumer files that are libraries of the image.
fn library_uses(
    graph: &Graph,
    records: &[LinkRecord],
    record_in_scope: &[bool],
    consumers: &[ConsumerFile],
) -> (Vec<LibraryUse>, Vec<LibraryUse>) {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let mut needed: FxHashSet<String> = FxHashSet::default();
    // Library name -> who names it (paths), from strings that can name one.
    let mut named: FxHashMap<String, Vec<PathBuf>> = FxHashMap::default();
    let mut name = |s: &str, by: &std::path::Path| {
        if s.contains(".so") {
            named.entry(base(s)).or_default().push(by.to_path_buf());
        }
    };
    for (i, r) in records.iter().enumerate() {
        if !record_in_scope[i] || r.kind == OutputKind::Rel {
            continue;
        }
        needed.extend(r.needed.iter().map(|n| base(n)));
        let path = std::path::Path::new(&r.cwd).join(&r.output);
        for &c in &r.cstrings {
            name(r.str(c), &path);
        }
    }
    for f in consumers {
        needed.extend(f.needed.iter().map(|n| base(n)));
        for s in &f.strings {
            name(s, &f.path);
        }
    }
    let use_of = |needed_name: &str, file_name: &str, soname: Option<&str>| {
        let mut named_by: Vec<PathBuf> = [Some(file_name), soname]
            .into_iter()
            .flatten()
            .flat_map(|n| named.get(n).into_iter().flatten().cloned())
            .collect();
        named_by.sort();
        named_by.dedup();
        LibraryUse {
            linked: needed.contains(needed_name),
            named_by,
        }
    };
    let modules = graph
        .modules
        .iter()
        .map(|m| match m.kind {
            OutputKind::Dyn => use_of(
                m.soname.as_deref().unwrap_or(&m.file_name),
                &m.file_name,
                m.soname.as_deref(),
            ),
            _ => LibraryUse::default(),
        })
        .collect();
    let files = consumers
        .iter()
        .map(|f| {
            let file_name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if f.library && f.origin == consumers::Origin::Image {
                use_of(f.needed_name(), file_name, f.soname.as_deref())
            } else {
                LibraryUse::default()
            }
        })
        .collect();
    (modules, files)
}

struct Worklist {
    live: Vec<Option<SectionCause>>,
    demanded: FxHashMap<Name, NameCause>,
    queue: Vec<Sec>,
}

impl Worklist {
    fn mark(&mut self, s: Sec, cause: SectionCause) {
        let slot = &mut self.live[s as usize];
        if slot.is_none() {
            *slot = Some(cause);
            self.queue.push(s);
        }
    }

    fn demand(
        &mut self,
        g: &Graph,
        index: &FxHashMap<Name, Vec<usize>>,
        n: Name,
        cause: NameCause,
    ) {
        if self.demanded.contains_key(&n) {
            return;
        }
        self.demanded.insert(n, cause);
        for &m in index.get(&n).into_iter().flatten() {
            for d in g.modules[m].defs_of(n) {
                self.mark(d, SectionCause::Export(n));
            }
        }
    }

    fn run(&mut self, g: &Graph, index: &FxHashMap<Name, Vec<usize>>) {
        while let Some(s) = self.queue.pop() {
            for &e in g.edges(s) {
                match e {
                    Edge::Section(t) => self.mark(t, SectionCause::From(s)),
                    Edge::Import(n) => self.demand(g, index, n, NameCause::ImportedBy(s)),
                }
            }
        }
    }
}

/// What --gc-sections keeps in module `m` when every export is a root.
fn local_reach(g: &Graph, m: usize) -> Vec<bool> {
    let module = &g.modules[m];
    let first = module.sections.start;
    let mut live = vec![false; module.sections.len()];
    let mut stack: Vec<Sec> = module.roots.clone();
    for e in &module.exports {
        stack.extend(module.defs_of(e.name));
    }
    while let Some(s) = stack.pop() {
        let i = (s - first) as usize;
        if live[i] {
            continue;
        }
        live[i] = true;
        for &e in g.edges(s) {
            if let Edge::Section(t) = e {
                stack.push(t);
            }
        }
    }
    live
}

fn matching_names(g: &Graph, pattern: &str) -> Vec<String> {
    if !pattern.contains(['*', '?']) {
        return vec![pattern.to_string()];
    }
    let mut v: Vec<String> = g
        .modules
        .iter()
        .flat_map(|m| &m.exports)
        .map(|e| g.names.str(e.name))
        .filter(|n| glob(pattern, n))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod fixpoint_tests {
    use super::*;
    use crate::elf::object::Target;
    use crate::elf::output::DynSymbol;
    use crate::elf::types::{Binding, SymbolPlace, SymbolType, Visibility};
    use crate::state::record::{
        LinkStatus, ObjectRecord, SectionRecord, StringTable, SymbolRecord,
    };

    /// A module with one object: `defs` are functions in their own
    /// sections, each calling the names in its list (defined here or not).
    fn module(
        output: &str,
        kind: OutputKind,
        defs: &[(&str, &[&str])],
        exported: bool,
    ) -> LinkRecord {
        let mut strings = StringTable::default();
        let mut sections = Vec::new();
        let mut symbols: Vec<SymbolRecord> = Vec::new();
        let mut index: BTreeMap<String, u32> = BTreeMap::new();
        for (i, (name, _)) in defs.iter().enumerate() {
            sections.push(SectionRecord {
                name: strings.intern(&format!(".text.{name}")),
                kind: SectionKind::Text,
                flags: 6,
                size: 100,
                align: 1,
                fdes: 0,
                fde_bytes: 0,
                pointers: 0,
                locals: 0,
                local_name_bytes: 0,
                group: None,
            });
            index.insert(name.to_string(), symbols.len() as u32);
            symbols.push(SymbolRecord {
                name: strings.intern(name),
                binding: Binding::Global,
                visibility: Visibility::Default,
                kind: SymbolType::Func,
                size: 10,
                place: SymbolPlace::Section(i as u32),
            });
        }
        let mut edges = Vec::new();
        let mut imports = Vec::new();
        for (i, (_, calls)) in defs.iter().enumerate() {
            for c in calls.iter() {
                let y = *index.entry(c.to_string()).or_insert_with(|| {
                    symbols.push(SymbolRecord {
                        name: strings.intern(c),
                        binding: Binding::Global,
                        visibility: Visibility::Default,
                        kind: SymbolType::NoType,
                        size: 0,
                        place: SymbolPlace::Undefined,
                    });
                    imports.push(dynsym(c));
                    (symbols.len() - 1) as u32
                });
                edges.push((i as u32, Target::Symbol(y)));
            }
        }
        edges.sort();
        let exports = if exported {
            defs.iter().map(|(n, _)| dynsym(n)).collect()
        } else {
            Vec::new()
        };
        LinkRecord {
            identity: crate::elf::hash::Hash128(
                output.len() as u128 * 7919 + output.as_bytes()[3] as u128,
            ),
            status: LinkStatus::Complete,
            incomplete: Vec::new(),
            linker: "test".into(),
            recorded_at: 1,
            kind,
            output: output.into(),
            cwd: "/b".into(),
            argv: Vec::new(),
            entry: None,
            abi: Default::default(),
            soname: Some(output.into()),
            needed: Vec::new(),
            version_defs: Vec::new(),
            version_needs: Vec::new(),
            build_id: None,
            output_linker: crate::state::record::Linker::Bfd,
            output_size: 1000,
            output_sizes: Default::default(),
            layout: Default::default(),
            exports,
            imports,
            objects: vec![ObjectRecord {
                path: format!("{output}.o"),
                member: None,
                offset: 0,
                hash: crate::elf::hash::Hash128(1),
                sections,
                symbols,
                edges,
            }],
            shared_inputs: Vec::new(),
            scripts: Vec::new(),
            cstrings: Vec::new(),
            strings: strings.into_pool(),
        }
    }

    /// The merge after a linker's DT_NEEDED: each record needs the
    /// libraries that export what it imports.
    fn analyse(mut records: Vec<LinkRecord>, opts: &Options) -> Analysis {
        let exported: Vec<(String, String)> = records
            .iter()
            .filter(|r| r.kind == OutputKind::Dyn)
            .flat_map(|r| {
                let so = r.soname.clone().unwrap_or_default();
                r.exports.iter().map(move |e| (e.name.clone(), so.clone()))
            })
            .collect();
        for r in &mut records {
            for im in &r.imports {
                for (n, so) in &exported {
                    if *n == im.name && !r.needed.contains(so) {
                        r.needed.push(so.clone());
                    }
                }
            }
        }
        super::analyse(records, opts)
    }

    fn consumer(path: &str, imports: &[&str], strings: &[&str], needed: &[&str]) -> ConsumerFile {
        ConsumerFile {
            path: path.into(),
            origin: consumers::Origin::Image,
            library: false,
            soname: None,
            needed: needed.iter().map(|s| s.to_string()).collect(),
            imports: imports.iter().map(|n| dynsym(n)).collect(),
            version_needs: Vec::new(),
            strings: strings.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `module` with C strings in its read-only data.
    /// The merge plans with the heads of the records before it loads them
    /// whole: a head is the start of a record's encoding, field for field.
    #[test]
    fn a_records_head_decodes_from_its_start() {
        use crate::state::RECORD_FORMAT;
        use crate::state::codec::{FileKind, decode_head, encode};
        let mut r = module("libx.so", OutputKind::Dyn, &[("f", &[])], true);
        r.incomplete = vec!["LTO IR".into()];
        r.linker = "gold 1.16".into();
        r.recorded_at = 1_234_567_890_123;
        r.cwd = "/build/x".into();
        r.output = "out/libx.so".into();
        r.status = LinkStatus::Failed {
            reason: "ld returned 1".into(),
        };
        let bytes = encode(FileKind::LinkRecord, RECORD_FORMAT, &r).unwrap();
        let head: RecordHead =
            decode_head(FileKind::LinkRecord, RECORD_FORMAT..=RECORD_FORMAT, &bytes).unwrap();
        assert_eq!(head, RecordHead::of(&r));
        // Cut short, or of another version: not a head.
        assert_eq!(
            decode_head::<RecordHead>(
                FileKind::LinkRecord,
                RECORD_FORMAT..=RECORD_FORMAT,
                &bytes[..40]
            ),
            None
        );
        assert_eq!(
            decode_head::<RecordHead>(
                FileKind::LinkRecord,
                RECORD_FORMAT + 1..=RECORD_FORMAT + 1,
                &bytes
            ),
            None
        );
    }

    fn with_strings(mut r: LinkRecord, spelled: &[&str]) -> LinkRecord {
        let mut table = StringTable::default();
        for i in 0..r.strings.len() as u32 {
            table.intern(r.str(i));
        }
        r.cstrings = spelled.iter().map(|s| table.intern(s)).collect();
        r.strings = table.into_pool();
        r
    }

    #[test]
    fn strings_count_only_where_a_lookup_can_reach_them() {
        // libs spells its own names in messages and cannot look up;
        // libw wraps lt_dlsym two levels deep (w_find -> w_inner ->
        // lt_dlsym) and prog calls w_find, spelling s_looked_up.
        let libs = with_strings(
            module(
                "libs.so",
                OutputKind::Dyn,
                &[("s_used", &[]), ("s_looked_up", &[]), ("s_in_message", &[])],
                true,
            ),
            &["s_in_message", "s_used failed"],
        );
        let libw = module(
            "libw.so",
            OutputKind::Dyn,
            &[
                ("w_find", &["w_inner"]),
                ("w_inner", &["lt_dlsym"]),
                ("w_other", &[]),
            ],
            true,
        );
        let prog = with_strings(
            module(
                "prog",
                OutputKind::Pie,
                &[("_start", &["s_used", "w_find", "w_other"])],
                false,
            ),
            &["s_looked_up"],
        );
        let a = analyse(vec![libs, libw, prog], &Options::default());
        assert_eq!(hidden(&a, "libs.so"), vec!["s_in_message"]);
        assert!(matches!(
            a.lookup.0.get("w_find"),
            Some(lookup::LookupOrigin::Reaches { callee, .. }) if callee == "lt_dlsym"
        ));
        assert!(matches!(
            a.lookup.0.get("w_inner"),
            Some(lookup::LookupOrigin::Reaches { callee, .. }) if callee == "lt_dlsym"
        ));
        assert!(!a.lookup.contains("w_other"));
        assert_eq!(
            a.lookup.describe(&a.graph, "w_find"),
            "w_find (exported by libw.so) -> lt_dlsym (libltdl.so.7 (GNU libtool))"
        );
        let prog = a.records.iter().position(|r| r.output == "prog").unwrap();
        assert_eq!(a.record_lookup[prog].as_deref(), Some("w_find"));
        assert_eq!(
            a.demanded
                .get(&a.graph.names.lookup("s_looked_up").unwrap()),
            Some(&NameCause::CString(prog))
        );
    }

    #[test]
    fn consumer_files_demand_their_imports_and_strings() {
        let records = vec![
            module(
                "libq.so",
                OutputKind::Dyn,
                &[("q_import", &[]), ("q_string", &[]), ("q_none", &[])],
                true,
            ),
            module("prog", OutputKind::Pie, &[("_start", &[])], false),
        ];
        // vendor can look names up (it imports dlsym); quiet spells q_none
        // in a message but cannot look anything up.
        let files = vec![
            consumer(
                "/img/bin/vendor",
                &["q_import", "dlsym"],
                &["q_string@@V1"],
                &["libq.so"],
            ),
            consumer("/img/bin/quiet", &[], &["q_none"], &["libq.so"]),
        ];
        let a = analyse_with(records, files, &Options::default());
        assert_eq!(hidden(&a, "libq.so"), vec!["q_none"]);
        assert_eq!(a.file_lookup, vec![Some("dlsym".to_string()), None]);
        assert_eq!(
            a.demanded.get(&a.graph.names.lookup("q_import").unwrap()),
            Some(&NameCause::ImportedByFile(0))
        );
        assert_eq!(
            a.demanded.get(&a.graph.names.lookup("q_string").unwrap()),
            Some(&NameCause::CStringInFile(0))
        );
    }

    #[test]
    fn a_library_nobody_links_is_a_plugin() {
        let records = vec![
            module(
                "plug.so",
                OutputKind::Dyn,
                &[("p1", &[]), ("p2", &[])],
                true,
            ),
            module(
                "libn.so",
                OutputKind::Dyn,
                &[("n1", &[]), ("n2", &[])],
                true,
            ),
            module("host", OutputKind::Pie, &[("_start", &["n1"])], false),
        ];
        // The host's C strings name both libraries (ids past its pool's,
        // re-interned in order so the old ids stay).
        let mut named = records.clone();
        let mut table = StringTable::default();
        for i in 0..named[2].strings.len() as u32 {
            table.intern(named[2].str(i));
        }
        named[2].cstrings = vec![table.intern("libn.so"), table.intern("plug.so")];
        named[2].strings = table.into_pool();
        let a = analyse(named, &Options::default());
        assert!(hidden(&a, "plug.so").is_empty());
        let plug = a
            .results
            .iter()
            .find(|r| r.path.ends_with("plug.so"))
            .unwrap();
        assert_eq!(
            plug.pinned.get("p2"),
            Some(&PinReason::NotLinked { named: true })
        );
        // Linked and named: only the usual rules keep its exports.
        assert_eq!(hidden(&a, "libn.so"), vec!["n2"]);
        let kinds = consumers::library_kinds(&a);
        assert_eq!(kinds.plugins.len(), 1);
        assert_eq!(kinds.linked_and_named[0].path, PathBuf::from("/b/libn.so"));
        assert_eq!(
            kinds.linked_and_named[0].named_by,
            vec![PathBuf::from("/b/host")]
        );
        assert!(kinds.unreferenced.is_empty());

        // Named by nothing: still a plugin, listed as unreferenced; a scoped
        // keep entry says which of its exports stay.
        let a = analyse(records.clone(), &Options::default());
        assert!(hidden(&a, "plug.so").is_empty());
        assert_eq!(
            consumers::library_kinds(&a).unreferenced,
            vec![PathBuf::from("/b/plug.so")]
        );
        let opts = Options {
            keep: vec![(Some("plug.so".into()), "p1".into())],
            ..Options::default()
        };
        assert_eq!(hidden(&analyse(records, &opts), "plug.so"), vec!["p2"]);
    }

    fn dynsym(name: &str) -> DynSymbol {
        DynSymbol {
            name: name.into(),
            version: None,
            hidden_version: false,
            version_file: None,
            kind: SymbolType::Func,
            binding: Binding::Global,
        }
    }

    fn hidden(a: &Analysis, output: &str) -> Vec<String> {
        a.results
            .iter()
            .find(|r| r.path.ends_with(output))
            .map(|r| r.hidden_exports.clone())
            .unwrap_or_default()
    }

    #[test]
    fn cascade_through_three_modules() {
        let records = vec![
            module(
                "libc.so",
                OutputKind::Dyn,
                &[("c1", &[]), ("c2", &[])],
                true,
            ),
            module(
                "libb.so",
                OutputKind::Dyn,
                &[("b1", &["c1"]), ("b2", &["c2"])],
                true,
            ),
            module(
                "liba.so",
                OutputKind::Dyn,
                &[("a1", &["b1"]), ("a2", &["b2"])],
                true,
            ),
            module("prog", OutputKind::Pie, &[("_start", &["a1"])], false),
        ];
        let a = analyse(records, &Options::default());
        assert_eq!(hidden(&a, "liba.so"), vec!["a2"]);
        assert_eq!(hidden(&a, "libb.so"), vec!["b2"]);
        assert_eq!(hidden(&a, "libc.so"), vec!["c2"]);
    }

    #[test]
    fn a_cycle_between_unused_exports_is_collected() {
        // x1 and y1 only reach each other: a greatest fixpoint would keep
        // both, the least fixpoint (what the worklist computes) frees both.
        let records = vec![
            module(
                "libx.so",
                OutputKind::Dyn,
                &[("x1", &["y1"]), ("x2", &[])],
                true,
            ),
            module("liby.so", OutputKind::Dyn, &[("y1", &["x1"])], true),
            module("prog", OutputKind::Pie, &[("_start", &["x2"])], false),
        ];
        let a = analyse(records, &Options::default());
        assert_eq!(hidden(&a, "libx.so"), vec!["x1"]);
        assert_eq!(hidden(&a, "liby.so"), vec!["y1"]);
    }

    #[test]
    fn internal_use_keeps_code_but_not_the_export() {
        let records = vec![
            module(
                "libi.so",
                OutputKind::Dyn,
                &[("api", &["helper"]), ("helper", &[])],
                true,
            ),
            module("prog", OutputKind::Pie, &[("_start", &["api"])], false),
        ];
        let a = analyse(records, &Options::default());
        assert_eq!(hidden(&a, "libi.so"), vec!["helper"]);
        let r = a
            .results
            .iter()
            .find(|r| r.path.ends_with("libi.so"))
            .unwrap();
        assert_eq!(r.after.text, 200, "helper's code stays: api calls it");
    }

    /// libv.so: V1 { a1; a2; } and V2 { c; }; a program calls a1 only.
    fn versioned_library() -> Vec<LinkRecord> {
        let mut lib = module(
            "libv.so",
            OutputKind::Dyn,
            &[("a1", &[]), ("a2", &[]), ("c", &[])],
            true,
        );
        for e in &mut lib.exports {
            e.version = Some(if e.name == "c" { "V2" } else { "V1" }.into());
        }
        lib.version_defs = vec!["V1".into(), "V2".into()];
        lib.abi.class = 2;
        let mut prog = module("prog", OutputKind::Pie, &[("_start", &["a1"])], false);
        prog.version_needs = vec![crate::elf::output::VersionNeed {
            file: "libv.so".into(),
            version: "V1".into(),
            weak: false,
        }];
        vec![lib, prog]
    }

    #[test]
    fn emptied_version_nodes_and_who_needs_them() {
        use version_nodes::emptied_version_nodes;
        let a = analyse(versioned_library(), &Options::default());
        let nodes = emptied_version_nodes(&a);
        assert_eq!(nodes.len(), 1, "{nodes:?}");
        assert_eq!(
            (nodes[0].node.as_str(), nodes[0].names),
            ("V2", 1),
            "V1 keeps a1"
        );
        assert_eq!(nodes[0].capability, "libv.so(V2)(64bit)");
        assert!(nodes[0].needed_by.is_empty() && !nodes[0].is_problem());

        // A consumer that needs V2 (without importing c: the rules could
        // not see it) is a problem; outside the image scope only a note.
        let mut records = versioned_library();
        let mut other = module("other", OutputKind::Pie, &[("_start", &[])], false);
        other.version_needs = vec![crate::elf::output::VersionNeed {
            file: "libv.so".into(),
            version: "V2".into(),
            weak: false,
        }];
        records.push(other);
        let a = analyse(records.clone(), &Options::default());
        let nodes = emptied_version_nodes(&a);
        assert_eq!(nodes.len(), 1);
        assert!(nodes[0].is_problem());
        assert_eq!(nodes[0].needed_by[0].link, PathBuf::from("/b/other"));
        let image = Image {
            names: ["libv.so", "prog"].iter().map(|s| s.to_string()).collect(),
            ..Image::default()
        };
        let opts = Options {
            image: Some(image),
            ..Options::default()
        };
        let nodes = emptied_version_nodes(&analyse(records, &opts));
        assert_eq!(nodes.len(), 1);
        assert!(!nodes[0].is_problem() && !nodes[0].needed_by[0].consumer);
    }

    /// `--hide-executable-exports`: what the plugin imports and what a
    /// library of the link defines stay; a library that cannot be found
    /// keeps every export; without the flag nothing is hidden.
    #[test]
    fn executable_exports() {
        let mut host = module(
            "host",
            OutputKind::Pie,
            &[
                ("_start", &[]),
                ("api", &[]),
                ("unused", &[]),
                ("getenv", &[]),
            ],
            true,
        );
        host.shared_inputs = vec!["/sys/libc.so.6".into()];
        let records = vec![
            host,
            module(
                "plugin.so",
                OutputKind::Dyn,
                &[("plugin_run", &["api"])],
                true,
            ),
        ];
        let reader = |needed: &'static [&'static str]| -> Box<executables::ReadLibrary> {
            Box::new(move |p: &std::path::Path| {
                if p == std::path::Path::new("/sys/libc.so.6") {
                    Ok(Some(executables::LibraryNames {
                        soname: Some("libc.so.6".into()),
                        needed: needed.iter().map(|s| s.to_string()).collect(),
                        runpath: None,
                        names: vec!["getenv".into(), "malloc".into()],
                    }))
                } else {
                    Err("no such file".into())
                }
            })
        };
        let opts = |needed| Options {
            hide_executable_exports: true,
            read_library: Some(reader(needed)),
            ..Options::default()
        };
        let a = analyse(records.clone(), &opts(&[]));
        assert_eq!(hidden(&a, "host"), vec!["unused"]);
        let host = a.results.iter().find(|r| r.path.ends_with("host")).unwrap();
        assert_eq!(
            host.pinned.get("getenv"),
            Some(&PinReason::LinkLibrary {
                library: "libc.so.6".into()
            })
        );
        let a = analyse(records.clone(), &opts(&["libnowhere-ldprune-test.so.9"]));
        assert!(hidden(&a, "host").is_empty());
        let host = a.results.iter().find(|r| r.path.ends_with("host")).unwrap();
        assert!(matches!(
            host.pinned.get("unused"),
            Some(PinReason::LinkLibraryUnread(executables::Unread::NotFound { needed }))
                if needed == "libnowhere-ldprune-test.so.9"
        ));
        let a = analyse(records, &Options::default());
        assert!(hidden(&a, "host").is_empty());
    }

    #[test]
    fn keep_list_and_exclusions() {
        let records = vec![
            module(
                "libk.so",
                OutputKind::Dyn,
                &[("k1", &[]), ("k2", &[]), ("k3", &[])],
                true,
            ),
            module("prog", OutputKind::Pie, &[("_start", &[])], false),
        ];
        let opts = Options {
            keep: vec![(None, "k1".into()), (Some("libk.so".into()), "k2*".into())],
            ..Options::default()
        };
        let a = analyse(records.clone(), &opts);
        assert_eq!(hidden(&a, "libk.so"), vec!["k3"]);
        let opts = Options {
            excluded: vec!["libk.so".into()],
            ..Options::default()
        };
        let a = analyse(records, &opts);
        assert!(hidden(&a, "libk.so").is_empty());
    }
}
