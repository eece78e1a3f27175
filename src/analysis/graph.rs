//! The system-wide graph: every section of every module, edges from
//! relocations, and for each module which names it defines, exports and
//! imports. Names are interned once for the whole system, without versions
//! (a version never makes a reference weaker, so matching by plain name is
//! the conservative choice).

use std::path::PathBuf;

use crate::elf::object::Target;
use crate::elf::types::{Binding, SectionKind, SymbolPlace, SymbolType};
use crate::fasthash::FxHashMap;
use crate::identity::OutputKind;
use crate::state::record::LinkRecord;

pub type Name = u32;
pub type Sec = u32;

/// One name for the whole system.
#[derive(Default)]
pub struct Names {
    ids: FxHashMap<Box<str>, Name>,
    names: Vec<Box<str>>,
}

impl Names {
    pub fn intern(&mut self, s: &str) -> Name {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as Name;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<Name> {
        self.ids.get(s).copied()
    }

    pub fn str(&self, id: Name) -> &str {
        &self.names[id as usize]
    }
}

/// `foo@@V2`, `foo@V1` -> `foo`.
pub fn plain(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}

/// Where a section's relocation leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    Section(Sec),
    /// A name this module does not define: resolved by other modules.
    Import(Name),
}

pub struct SectionNode {
    pub module: u32,
    pub name: String,
    pub kind: SectionKind,
    pub size: u64,
    pub edges: Vec<Edge>,
}

/// One export of a module's output (.dynsym).
#[derive(Clone, Debug)]
pub struct Export {
    pub name: Name,
    /// As the dynamic linker shows it (`foo`, `foo@@V2`, `foo@V1`).
    pub spelled: String,
    pub hidden_version: bool,
    pub unique: bool,
    pub kind: SymbolType,
}

pub struct Module {
    /// Index of its record in the loaded list.
    pub record: usize,
    pub path: PathBuf,
    pub kind: OutputKind,
    pub soname: Option<String>,
    pub file_name: String,
    /// The record's graph misses code (LTO, unreadable input).
    pub incomplete: bool,
    pub sections: std::ops::Range<Sec>,
    /// Sections that --gc-sections keeps whatever the exports.
    pub roots: Vec<Sec>,
    /// Definitions in this module's objects, by plain name.
    pub defs: FxHashMap<Name, Vec<Sec>>,
    /// Every spelling of each defined name in the objects (for the hide list).
    pub spellings: FxHashMap<Name, Vec<String>>,
    pub exports: Vec<Export>,
}

pub struct Graph {
    pub names: Names,
    pub sections: Vec<SectionNode>,
    pub modules: Vec<Module>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph {
            names: Names::default(),
            sections: Vec::new(),
            modules: Vec::new(),
        }
    }

    /// Adds the module a complete, non-relocatable record describes.
    pub fn add_module(&mut self, record_index: usize, r: &LinkRecord) {
        let module = self.modules.len() as u32;
        let first = self.sections.len() as Sec;
        let mut defs: FxHashMap<Name, Vec<Sec>> = FxHashMap::default();
        let mut spellings: FxHashMap<Name, Vec<String>> = FxHashMap::default();
        let mut roots = Vec::new();
        let mut by_name: FxHashMap<String, Vec<Sec>> = FxHashMap::default();

        // Sections, definitions and the sections that are roots by nature.
        let mut object_first = Vec::with_capacity(r.objects.len());
        for o in &r.objects {
            let base = self.sections.len() as Sec;
            object_first.push(base);
            for s in &o.sections {
                let id = self.sections.len() as Sec;
                let name = r.str(s.name).to_string();
                if is_root_section(&name, s.kind, s.flags) {
                    roots.push(id);
                }
                by_name.entry(name.clone()).or_default().push(id);
                self.sections.push(SectionNode {
                    module,
                    name,
                    kind: s.kind,
                    size: s.size,
                    edges: Vec::new(),
                });
            }
            for y in &o.symbols {
                if let SymbolPlace::Section(i) = y.place {
                    let spelled = r.str(y.name);
                    let n = self.names.intern(plain(spelled));
                    defs.entry(n).or_default().push(base + i);
                    let sp = spellings.entry(n).or_default();
                    if !sp.iter().any(|s| s == spelled) {
                        sp.push(spelled.to_string());
                    }
                }
            }
        }
        for v in defs.values_mut() {
            v.sort_unstable();
            v.dedup();
        }

        // Edges: within the module where it defines the name, else imports.
        for (oi, o) in r.objects.iter().enumerate() {
            let base = object_first[oi];
            for &(from, to) in &o.edges {
                let from_id = base + from;
                let from_is_eh = o.sections[from as usize].kind == SectionKind::EhFrame;
                let mut targets: Vec<Edge> = Vec::new();
                match to {
                    Target::Section(t) => targets.push(Edge::Section(base + t)),
                    Target::Symbol(y) => {
                        let sym = &o.symbols[y as usize];
                        let spelled = r.str(sym.name);
                        let n = self.names.intern(plain(spelled));
                        if let Some(ds) = defs.get(&n) {
                            targets.extend(ds.iter().map(|&d| Edge::Section(d)));
                        } else if let Some(x) = start_stop_section(spelled) {
                            // __start_X / __stop_X keep every section named X.
                            if let Some(v) = by_name.get(x) {
                                targets.extend(v.iter().map(|&d| Edge::Section(d)));
                            }
                        } else if sym.binding != Binding::Local {
                            targets.push(Edge::Import(n));
                        }
                    }
                }
                if from_is_eh {
                    // .eh_frame is not a root for --gc-sections, but what it
                    // needs for unwinding (personality routines, their
                    // DW.ref data) must stay. Code and LSDAs go with the
                    // function they describe (see below).
                    for t in targets {
                        match t {
                            Edge::Section(s) => {
                                let node = &self.sections[s as usize];
                                if node.kind != SectionKind::Text
                                    && !node.name.starts_with(".gcc_except_table")
                                {
                                    roots.push(s);
                                }
                            }
                            Edge::Import(_) => roots.push(from_id),
                        }
                    }
                    continue;
                }
                self.sections[from_id as usize].edges.extend(targets);
            }
        }
        // An exception table goes with its function: .text.F -> .gcc_except_table.F
        // (unpaired tables are kept).
        for (name, ids) in &by_name {
            if let Some(f) = name.strip_prefix(".gcc_except_table") {
                let text = format!(".text{f}");
                match by_name.get(&text) {
                    Some(texts) if !f.is_empty() => {
                        for &t in texts {
                            for &e in ids {
                                self.sections[t as usize].edges.push(Edge::Section(e));
                            }
                        }
                    }
                    _ => roots.extend(ids.iter().copied()),
                }
            }
        }
        // Executables start at their entry point.
        if matches!(r.kind, OutputKind::Exec | OutputKind::Pie) {
            let entry = r.entry.as_deref().unwrap_or("_start");
            if let Some(ds) = self.names.get(entry).and_then(|n| defs.get(&n)) {
                roots.extend(ds.iter().copied());
            }
        }
        let exports = r
            .exports
            .iter()
            .map(|e| Export {
                name: self.names.intern(&e.name),
                spelled: e.spelled(),
                hidden_version: e.hidden_version,
                unique: e.binding == Binding::Unique,
                kind: e.kind,
            })
            .collect();
        roots.sort_unstable();
        roots.dedup();
        self.modules.push(Module {
            record: record_index,
            path: std::path::Path::new(&r.cwd).join(&r.output),
            kind: r.kind,
            soname: r.soname.clone(),
            file_name: r.output_file_name().to_string(),
            incomplete: !r.incomplete.is_empty(),
            sections: first..self.sections.len() as Sec,
            roots,
            defs,
            spellings,
            exports,
        });
    }
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

/// `__start_X` / `__stop_X` -> `X`.
fn start_stop_section(name: &str) -> Option<&str> {
    name.strip_prefix("__start_")
        .or_else(|| name.strip_prefix("__stop_"))
}

/// Sections --gc-sections never removes: constructors and destructors,
/// SHF_GNU_RETAIN, notes.
fn is_root_section(name: &str, kind: SectionKind, flags: u64) -> bool {
    const SHF_GNU_RETAIN: u64 = 1 << 21;
    matches!(
        kind,
        SectionKind::InitArray
            | SectionKind::FiniArray
            | SectionKind::PreinitArray
            | SectionKind::Note
    ) || flags & SHF_GNU_RETAIN != 0
        || name == ".init"
        || name == ".fini"
        || name.starts_with(".ctors")
        || name.starts_with(".dtors")
        || name.starts_with(".init_array")
        || name.starts_with(".fini_array")
        || name.starts_with(".preinit_array")
}
