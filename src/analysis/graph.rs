//! The system-wide graph: every section of every module, edges from
//! relocations, and for each module which names it defines, exports and
//! imports. Names are interned once for the whole system, without versions
//! (a version never makes a reference weaker, so matching by plain name is
//! the conservative choice).
//!
//! Sized for a distribution (millions of sections): section names stay in
//! their record's string pool, edges are one array indexed by section
//! (compressed rows), definitions a sorted array per module.

use std::path::PathBuf;

use crate::elf::object::Target;
use crate::elf::types::{Binding, SectionKind, SymbolPlace, SymbolType};
use crate::fasthash::FxHashMap;
use crate::identity::OutputKind;
use crate::state::record::{LinkRecord, Str};

use super::names::Names;

pub type Name = u32;
pub type Sec = u32;

pub use crate::elf::types::plain;

/// Where a section's relocation leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    Section(Sec),
    /// A name this module does not define: resolved by other modules.
    Import(Name),
}

#[derive(Clone, Copy)]
pub struct SectionNode {
    pub module: u32,
    /// In the string pool of the module's record.
    pub name: Str,
    pub kind: SectionKind,
    pub size: u64,
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
    /// Personality routines the ARM unwind tables name (`__aeabi_unwind_cpp_pr0`,
    /// `__gxx_personality_v0`), with a table that names each: demanded
    /// whatever code stays, as those .eh_frame names are.
    pub root_imports: Vec<(Name, Sec)>,
    /// (plain name, defining section), sorted.
    defs: Vec<(Name, Sec)>,
    /// (plain name, spelling in the record's pool) of its exported names,
    /// sorted: what to hide.
    spellings: Vec<(Name, Str)>,
    pub exports: Vec<Export>,
}

impl Module {
    /// Sections of this module that define `n`.
    pub fn defs_of(&self, n: Name) -> impl Iterator<Item = Sec> + '_ {
        let start = self.defs.partition_point(|d| d.0 < n);
        self.defs[start..]
            .iter()
            .take_while(move |d| d.0 == n)
            .map(|d| d.1)
    }

    /// How this module's objects spell `n` (ids in its record's pool).
    pub fn spellings_of(&self, n: Name) -> impl Iterator<Item = Str> + '_ {
        let start = self.spellings.partition_point(|d| d.0 < n);
        self.spellings[start..]
            .iter()
            .take_while(move |d| d.0 == n)
            .map(|d| d.1)
    }
}

pub struct Graph {
    pub names: Names,
    pub sections: Vec<SectionNode>,
    /// Edges of section s: `edges[edge_start[s]..edge_start[s + 1]]`.
    edge_start: Vec<u32>,
    edges: Vec<Edge>,
    pub modules: Vec<Module>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph {
            names: Names::default(),
            sections: Vec::new(),
            edge_start: vec![0],
            edges: Vec::new(),
            modules: Vec::new(),
        }
    }

    pub fn edges(&self, s: Sec) -> &[Edge] {
        let (a, b) = (self.edge_start[s as usize], self.edge_start[s as usize + 1]);
        &self.edges[a as usize..b as usize]
    }

    /// The name of section `s` (needs the records the graph was built from).
    pub fn section_name<'r>(&self, records: &'r [LinkRecord], s: Sec) -> &'r str {
        let node = &self.sections[s as usize];
        records[self.modules[node.module as usize].record].str(node.name)
    }

    /// Adds the module a complete, non-relocatable record describes.
    pub fn add_module(&mut self, record_index: usize, r: &LinkRecord) {
        self.add_part(record_index, r, Part::new(r));
    }

    /// Adds a module from its part (built from `r` by [`Part::new`], maybe
    /// in another thread; `r` may have lost its objects since). Names are
    /// interned in the order the part met them, so the ids are those the
    /// record itself would give.
    pub fn add_part(&mut self, record_index: usize, r: &LinkRecord, part: Part) {
        let module = self.modules.len() as u32;
        let first = self.sections.len() as Sec;
        let mut start = 0;
        let names: Vec<Name> = part
            .names_ends
            .iter()
            .map(|&end| {
                let text = part.names_text.get(start..end as usize).unwrap_or("?");
                start = end as usize;
                self.names.intern(text)
            })
            .collect();
        let name = |n: u32| names[n as usize];
        self.sections
            .extend(part.sections.iter().map(|s| SectionNode { module, ..*s }));
        let mut defs: Vec<(Name, Sec)> = part
            .defs
            .iter()
            .map(|&(n, s)| (name(n), first + s))
            .collect();
        defs.sort_unstable();
        let mut spellings: Vec<(Name, Str)> =
            part.spellings.iter().map(|&(n, y)| (name(n), y)).collect();
        spellings.sort_unstable();
        let roots: Vec<Sec> = part.roots.iter().map(|&s| first + s).collect();
        let mut root_imports: Vec<(Name, Sec)> = part
            .root_imports
            .iter()
            .map(|&(n, s)| (name(n), first + s))
            .collect();
        root_imports.sort_unstable();
        root_imports.dedup_by_key(|r| r.0);
        let mut edges: Vec<(Sec, Edge)> = part
            .edges
            .iter()
            .map(|&(from, to)| {
                let to = match to {
                    Edge::Section(s) => Edge::Section(first + s),
                    Edge::Import(n) => Edge::Import(name(n)),
                };
                (first + from, to)
            })
            .collect();
        // Rows stay in order (sections keep theirs); within a row the
        // imports follow the graph's name ids.
        for row in edges.chunk_by_mut(|a, b| a.0 == b.0) {
            row.sort_unstable();
        }
        // Append this module's rows to the compressed edge array.
        let mut e = 0;
        for s in first..self.sections.len() as Sec {
            while e < edges.len() && edges[e].0 == s {
                self.edges.push(edges[e].1);
                e += 1;
            }
            self.edge_start.push(self.edges.len() as u32);
        }
        let exports = part
            .exports
            .into_iter()
            .map(|e| Export {
                name: name(e.name),
                ..e
            })
            .collect();
        self.modules.push(Module {
            record: record_index,
            path: std::path::Path::new(&r.cwd).join(&r.output),
            kind: r.kind,
            soname: r.soname.clone(),
            file_name: r.output_file_name().to_string(),
            incomplete: !r.incomplete.is_empty(),
            sections: first..self.sections.len() as Sec,
            roots,
            root_imports,
            defs,
            spellings,
            exports,
        });
    }
}

/// One module's share of the graph, built from its record alone (so the
/// loading threads can build it and the record's objects go at once).
/// Sections are numbered from 0 in the module and names by a table of the
/// module's own; [`Graph::add_part`] renumbers both.
pub struct Part {
    /// The module's plain names, in the order its symbols and then its
    /// exports name them first: their text, and where each ends in it.
    names_text: String,
    names_ends: Vec<u32>,
    sections: Vec<SectionNode>,
    roots: Vec<Sec>,
    root_imports: Vec<(Name, Sec)>,
    /// Unique (name, section), sorted by the module's name ids.
    defs: Vec<(Name, Sec)>,
    /// Unique (name, spelling) of the exported names.
    spellings: Vec<(Name, Str)>,
    /// Unique (from, to).
    edges: Vec<(Sec, Edge)>,
    exports: Vec<Export>,
}

/// The names of one module, numbered in the order they are met, with
/// their text (the record's pool loses the symbol names once the part is
/// built, [`LinkRecord::drop_objects`]).
struct LocalNames<'r> {
    ids: FxHashMap<&'r str, Name>,
    text: String,
    ends: Vec<u32>,
}

impl<'r> LocalNames<'r> {
    fn intern(&mut self, s: &'r str) -> Name {
        let next = self.ends.len() as Name;
        let id = *self.ids.entry(s).or_insert(next);
        if id == next {
            self.text.push_str(s);
            self.ends.push(self.text.len() as u32);
        }
        id
    }
}

impl LocalNames<'_> {
    fn str(&self, n: Name) -> &str {
        let end = self.ends[n as usize] as usize;
        let start = if n == 0 {
            0
        } else {
            self.ends[n as usize - 1] as usize
        };
        &self.text[start..end]
    }
}

impl Part {
    /// The strings of the record's pool the graph keeps: section names and
    /// the spellings of exports.
    pub fn strings(&self) -> impl Iterator<Item = Str> + '_ {
        self.sections
            .iter()
            .map(|s| s.name)
            .chain(self.spellings.iter().map(|d| d.1))
    }

    /// Takes the new ids of those strings ([`LinkRecord::drop_objects`]).
    pub fn renumber_strings(&mut self, new: &[Str]) {
        let id = |s: Str| new.get(s as usize).copied().unwrap_or(Str::MAX);
        for s in &mut self.sections {
            s.name = id(s.name);
        }
        for d in &mut self.spellings {
            d.1 = id(d.1);
        }
    }

    pub fn new(r: &LinkRecord) -> Part {
        let symbols: usize = r.objects.iter().map(|o| o.symbols.len()).sum();
        let mut local = LocalNames {
            ids: FxHashMap::with_capacity_and_hasher(symbols, Default::default()),
            text: String::new(),
            ends: Vec::with_capacity(symbols),
        };
        let mut sections: Vec<SectionNode> = Vec::new();
        let mut defs: Vec<(Name, Sec)> = Vec::new();
        let mut spellings: Vec<(Name, Str)> = Vec::new();
        let mut roots = Vec::new();
        let mut root_imports: Vec<(Name, Sec)> = Vec::new();
        // (name, section) of the sections that __start_X/__stop_X and
        // exception tables look up by name. A flat list, sorted only when
        // a lookup comes: a map of a Vec per name cost an allocation per
        // function section, a third of building a distribution's graph.
        let mut named: Vec<(&str, Sec)> = Vec::new();
        let mut except_tables = false;
        // Symbol index -> plain name, per object (names interned once).
        let mut object_names: Vec<Vec<Name>> = Vec::with_capacity(r.objects.len());

        // Sections, definitions and the sections that are roots by nature.
        let mut object_first = Vec::with_capacity(r.objects.len());
        for o in &r.objects {
            let base = sections.len() as Sec;
            object_first.push(base);
            for s in &o.sections {
                let id = sections.len() as Sec;
                let name = r.str(s.name);
                if is_root_section(name, s.kind, s.flags) {
                    roots.push(id);
                }
                if name.starts_with(".gcc_except_table")
                    || name.starts_with(".text")
                    || !name.starts_with('.')
                {
                    named.push((name, id));
                    except_tables |= name.starts_with(".gcc_except_table");
                }
                sections.push(SectionNode {
                    module: 0,
                    name: s.name,
                    kind: s.kind,
                    size: s.size,
                });
            }
            let mut names = Vec::with_capacity(o.symbols.len());
            for y in &o.symbols {
                let n = local.intern(plain(r.str(y.name)));
                names.push(n);
                if let SymbolPlace::Section(i) = y.place {
                    defs.push((n, base + i));
                    spellings.push((n, y.name));
                }
            }
            object_names.push(names);
        }
        defs.sort_unstable();
        defs.dedup();
        spellings.sort_unstable();
        spellings.dedup();
        let defines = |n: Name| {
            let i = defs.partition_point(|d| d.0 < n);
            defs.get(i).is_some_and(|d| d.0 == n)
        };

        let start_stop = r.objects.iter().any(|o| {
            o.symbols
                .iter()
                .any(|y| start_stop_section(r.str(y.name)).is_some())
        });
        if start_stop || except_tables {
            named.sort_unstable();
        }

        // Edges: within the module where it defines the name, else imports.
        let mut edges: Vec<(Sec, Edge)> = Vec::new();
        let mut targets: Vec<Edge> = Vec::new();
        for (oi, o) in r.objects.iter().enumerate() {
            let base = object_first[oi];
            for &(from, to) in &o.edges {
                let from_id = base + from;
                targets.clear();
                match to {
                    Target::Section(t) => targets.push(Edge::Section(base + t)),
                    Target::Symbol(y) => {
                        let sym = &o.symbols[y as usize];
                        let n = object_names[oi][y as usize];
                        if defines(n) {
                            let i = defs.partition_point(|d| d.0 < n);
                            targets.extend(
                                defs[i..]
                                    .iter()
                                    .take_while(|d| d.0 == n)
                                    .map(|d| Edge::Section(d.1)),
                            );
                        } else if let Some(x) = start_stop_section(r.str(sym.name)) {
                            // __start_X / __stop_X keep every section named X.
                            targets.extend(sections_named(&named, x).map(Edge::Section));
                        } else if sym.binding != Binding::Local {
                            targets.push(Edge::Import(n));
                        }
                    }
                }
                if o.sections[from as usize].kind == SectionKind::EhFrame {
                    // .eh_frame is not a root for --gc-sections, but what it
                    // needs for unwinding (personality routines and their
                    // DW.ref data) must stay. Code and exception tables go
                    // with the function they describe (below).
                    for &t in &targets {
                        match t {
                            Edge::Section(s) => {
                                let node = &sections[s as usize];
                                let name = r.str(node.name);
                                if node.kind != SectionKind::Text
                                    && !name.starts_with(".gcc_except_table")
                                {
                                    roots.push(s);
                                }
                            }
                            Edge::Import(_) => {
                                roots.push(from_id);
                                edges.push((from_id, t));
                            }
                        }
                    }
                    continue;
                }
                if is_arm_unwind_table(
                    o.sections[from as usize].kind,
                    r.str(o.sections[from as usize].name),
                ) {
                    // ARM tables go with their code (an edge from it, see
                    // elf::object); their edges are ordinary ones, and the
                    // personality routines they name are also roots.
                    for &t in &targets {
                        if let Edge::Import(n) = t
                            && is_personality_routine(local.str(n))
                        {
                            root_imports.push((n, from_id));
                        }
                    }
                }
                edges.extend(targets.iter().map(|&t| (from_id, t)));
            }
        }
        // An exception table goes with its function: .text.F -> .gcc_except_table.F
        // (tables without a function section are kept).
        if except_tables {
            for group in named.chunk_by(|a, b| a.0 == b.0) {
                let Some(f) = group[0].0.strip_prefix(".gcc_except_table") else {
                    continue;
                };
                let text = format!(".text{f}");
                let texts: Vec<Sec> = sections_named(&named, &text).collect();
                let ids = group.iter().map(|&(_, e)| e);
                if f.is_empty() || texts.is_empty() {
                    roots.extend(ids);
                } else {
                    for &t in &texts {
                        edges.extend(ids.clone().map(|e| (t, Edge::Section(e))));
                    }
                }
            }
        }
        // Executables start at their entry point (defined here, or nowhere
        // it matters).
        if matches!(r.kind, OutputKind::Exec | OutputKind::Pie) {
            let entry = r.entry.as_deref().unwrap_or("_start");
            if let Some(&n) = local.ids.get(entry) {
                let i = defs.partition_point(|d| d.0 < n);
                roots.extend(defs[i..].iter().take_while(|d| d.0 == n).map(|d| d.1));
            }
        }
        edges.sort_unstable();
        edges.dedup();
        roots.sort_unstable();
        roots.dedup();

        let exports: Vec<Export> = r
            .exports
            .iter()
            .map(|e| Export {
                name: local.intern(&e.name),
                spelled: e.spelled(),
                hidden_version: e.hidden_version,
                unique: e.binding == Binding::Unique,
                kind: e.kind,
            })
            .collect();
        // Only exports are hidden: the other names' spellings are not needed.
        let mut exported: Vec<Name> = exports.iter().map(|e| e.name).collect();
        exported.sort_unstable();
        spellings.retain(|d| exported.binary_search(&d.0).is_ok());
        Part {
            names_text: local.text,
            names_ends: local.ends,
            sections,
            roots,
            root_imports,
            defs,
            spellings,
            edges,
            exports,
        }
    }
}

/// `__start_X` / `__stop_X` -> `X`.
/// The sections called `name` of a module's sorted (name, section) list.
fn sections_named<'a>(named: &'a [(&str, Sec)], name: &'a str) -> impl Iterator<Item = Sec> + 'a {
    let i = named.partition_point(|(n, _)| *n < name);
    named[i..]
        .iter()
        .take_while(move |(n, _)| *n == name)
        .map(|&(_, s)| s)
}

fn start_stop_section(name: &str) -> Option<&str> {
    name.strip_prefix("__start_")
        .or_else(|| name.strip_prefix("__stop_"))
}

/// ARM EHABI's unwind tables: the index (`.ARM.exidx*`) and the entries it
/// points to (`.ARM.extab*`, which hold the personality routine and the
/// function's exception table).
fn is_arm_unwind_table(kind: SectionKind, name: &str) -> bool {
    kind == SectionKind::ArmExidx || name.starts_with(".ARM.extab")
}

/// The unwinder calls these by the tables' reference, never by name from
/// code: EHABI's compact routines and the language personalities.
fn is_personality_routine(name: &str) -> bool {
    name.starts_with("__aeabi_unwind_cpp_pr") || name.contains("_personality_")
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
