//! The bytes Run-2 saves in one module, predicted from its record: the
//! input sections --gc-sections drops, with their alignment padding, the
//! .eh_frame FDEs and .eh_frame_hdr entries that describe them, their
//! dynamic relocations; the .dynsym, .dynstr, .gnu.version and .gnu.hash
//! entries of the hidden names; the PLT and GOT slots of the module's calls
//! and address loads of its own exports (they bind locally once hidden);
//! and the file size after the linker pads its segments to pages again.
//!
//! The quantity is the one `ldprune report` measures as achieved: the
//! allocated bytes of the output that take room in the file (text, data,
//! unwind tables, dynamic linking tables; not .bss).

use serde::Serialize;

use super::graph::SectionNode;
use crate::elf::output::{Layout, Run};
use crate::elf::types::{SectionKind, SymbolPlace};
use crate::identity::OutputKind;
use crate::state::record::{LinkRecord, SectionRecord};

/// Bytes predicted to go, by where the linker puts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Saving {
    /// Code sections, with padding, and PLT entries.
    pub text: u64,
    /// Data and read-only data sections, with padding, GOT entries.
    pub data: u64,
    /// .eh_frame FDEs and their .eh_frame_hdr entries.
    pub unwind: u64,
    /// Dynamic relocations, .dynsym, .dynstr, .gnu.version, .gnu.hash, .rela.plt.
    pub dynamic: u64,
    /// Of `data`, the bytes in the RELRO part (.data.rel.ro, GOT).
    #[serde(skip)]
    pub relro: u64,
}

impl Saving {
    pub fn total(&self) -> u64 {
        self.text
            .saturating_add(self.data)
            .saturating_add(self.unwind)
            .saturating_add(self.dynamic)
    }

    /// Of these bytes, those that lie in runs of `kinds`.
    fn of(&self, kinds: u8, ro: u64) -> u64 {
        let mut n = 0;
        if kinds & Run::TEXT != 0 {
            n = self.text;
        }
        if kinds & Run::READ_ONLY != 0 {
            n = n.saturating_add(ro).saturating_add(self.unwind);
        }
        if kinds & Run::WRITABLE != 0 {
            n = n.saturating_add(self.data.saturating_sub(ro));
        }
        if kinds & Run::DYNAMIC != 0 {
            n = n.saturating_add(self.dynamic);
        }
        n
    }
}

/// Word sizes of the record's machine: (pointer, dynamic relocation,
/// .dynsym entry).
fn words(r: &LinkRecord) -> (u64, u64, u64) {
    if r.abi.class == object::elf::ELFCLASS32.0 {
        // i386 uses REL (8 bytes); 32-bit RELA machines would be 12.
        (4, 8, 16)
    } else {
        (8, 24, 24)
    }
}

/// Bytes of one PLT entry: 16 on x86-64, i386 and AArch64; ARM's are
/// three instructions (ld.bfd's and gold's default entries).
fn plt_entry(r: &LinkRecord) -> u64 {
    if r.abi.machine == object::elf::EM_ARM.0 {
        12
    } else {
        16
    }
}

fn padded(s: &SectionRecord) -> u64 {
    let a = s.align.max(1);
    s.size.div_ceil(a).saturating_mul(a)
}

/// Per section of a module, in the record's order, what its going saves
/// besides its own bytes: [alignment padding, .eh_frame and .eh_frame_hdr
/// bytes, whole-pointer relocations, .symtab and .strtab bytes of the
/// symbols it defines]; and which names with PLT/GOT slots or .dynsym
/// entries it refers to. Read from the record when its module enters the
/// graph, so that the record's objects need not stay until the prediction
/// (at distribution scale they were most of the merge's memory).
#[derive(Default)]
pub struct Costs {
    per_section: PerSection,
    /// (section, index into `names`), sorted, without repeats.
    refs: Vec<(u32, u32)>,
    names: Vec<Box<str>>,
}

/// Four u32s a section; a record with a larger value keeps u64s.
enum PerSection {
    Narrow(Vec<[u32; 4]>),
    Wide(Vec<[u64; 4]>),
}

impl Default for PerSection {
    fn default() -> Self {
        PerSection::Narrow(Vec::new())
    }
}

impl Costs {
    pub fn new(r: &LinkRecord) -> Costs {
        let (_, _, dynsym) = words(r);
        let mut wide: Vec<[u64; 4]> = Vec::new();
        let mut refs = Vec::new();
        // Each name looked up in the slot and import lists once: None for
        // a name that has neither.
        let mut ids: crate::fasthash::FxHashMap<&str, Option<u32>> = Default::default();
        let mut names = Vec::new();
        for o in &r.objects {
            let first = wide.len();
            for sec in &o.sections {
                wide.push([
                    padded(sec) - sec.size,
                    u64::from(sec.fde_bytes) + 8 * u64::from(sec.fdes),
                    u64::from(sec.pointers),
                    dynsym * u64::from(sec.locals) + u64::from(sec.local_name_bytes),
                ]);
            }
            for y in &o.symbols {
                if let SymbolPlace::Section(i) = y.place
                    && let Some(c) = wide.get_mut(first + i as usize)
                {
                    c[3] += dynsym + r.str(y.name).len() as u64 + 1;
                }
            }
            for &(from, target) in &o.edges {
                let crate::elf::object::Target::Symbol(y) = target else {
                    continue;
                };
                let Some(sym) = o.symbols.get(y as usize) else {
                    continue;
                };
                let name = super::graph::plain(r.str(sym.name));
                let id = *ids.entry(name).or_insert_with(|| {
                    has_slot_or_import(r, name).then(|| {
                        names.push(Box::from(name));
                        names.len() as u32 - 1
                    })
                });
                if let Some(id) = id {
                    refs.push(((first + from as usize) as u32, id));
                }
            }
        }
        refs.sort_unstable();
        refs.dedup();
        let narrow: Option<Vec<[u32; 4]>> = wide
            .iter()
            .map(|c| {
                let n = |v: u64| u32::try_from(v).ok();
                Some([n(c[0])?, n(c[1])?, n(c[2])?, n(c[3])?])
            })
            .collect();
        let per_section = match narrow {
            Some(v) => PerSection::Narrow(v),
            None => PerSection::Wide(wide),
        };
        Costs {
            per_section,
            refs,
            names,
        }
    }

    fn get(&self, i: usize) -> [u64; 4] {
        let got = match &self.per_section {
            PerSection::Narrow(v) => v.get(i).map(|c| c.map(u64::from)),
            PerSection::Wide(v) => v.get(i).copied(),
        };
        got.unwrap_or_default()
    }
}

fn has(list: &[String], n: &str) -> bool {
    list.binary_search_by(|x| x.as_str().cmp(n)).is_ok()
}

/// The output's import of `name`, if it has one (imports are sorted by
/// name first, DynSymbol's order).
fn import_of<'r>(r: &'r LinkRecord, name: &str) -> Option<&'r crate::elf::output::DynSymbol> {
    r.imports
        .binary_search_by(|i| i.name.as_str().cmp(name))
        .ok()
        .map(|at| &r.imports[at])
}

/// Whether `name` has a PLT or GOT slot in the output, or is an import.
fn has_slot_or_import(r: &LinkRecord, name: &str) -> bool {
    let l = &r.layout;
    has(&l.plt_exports, name)
        || has(&l.plt_imports, name)
        || has(&l.got_exports, name)
        || has(&l.got_imports, name)
        || import_of(r, name).is_some()
}

/// What becomes of one input section of a module in Run-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// --gc-sections dropped it in Run-1 already.
    Unlinked,
    Kept,
    /// Linked in Run-1, dropped in Run-2.
    Gone,
}

/// What goes when the sections whose [`Fate`] is `Gone` go and the
/// exports `hidden` (plain names, one per .dynsym entry) go, and the
/// predicted file size. `sections` are the module's graph nodes and
/// `costs` their costs, in the record's order; `fate` takes an index into
/// them.
pub fn saving(
    r: &LinkRecord,
    sections: &[SectionNode],
    costs: &Costs,
    fate: impl Fn(usize) -> Fate,
    hidden: &[&str],
) -> (Saving, u64) {
    let gone = |i: usize| fate(i) == Fate::Gone;
    let (pointer, rela, dynsym) = words(r);
    let pic = matches!(r.kind, OutputKind::Dyn | OutputKind::Pie);
    let mut s = Saving::default();
    let mut read_only = 0;
    // Not allocated, but in the file unless stripped: .symtab entries and
    // .strtab names of the symbols defined in sections that go.
    let mut symtab = 0;
    for (i, sec) in sections.iter().enumerate() {
        if !gone(i) {
            continue;
        }
        let [pad, unwind, pointers, symbols] = costs.get(i);
        // Sizes come from the record: saturating, like the output's.
        let size = sec.size + pad;
        match sec.kind {
            SectionKind::Text => s.text = s.text.saturating_add(size),
            SectionKind::Bss | SectionKind::TlsBss | SectionKind::Note | SectionKind::Other => {}
            SectionKind::EhFrame => {}
            SectionKind::ReadOnly => {
                read_only = u64::saturating_add(read_only, size);
                s.data = s.data.saturating_add(size);
            }
            SectionKind::Data if r.str(sec.name).starts_with(".data.rel.ro") => {
                s.relro = s.relro.saturating_add(size);
                s.data = s.data.saturating_add(size);
            }
            _ => s.data = s.data.saturating_add(size),
        }
        // One .eh_frame_hdr entry (two 4-byte offsets) per FDE.
        s.unwind += unwind;
        if pic {
            s.dynamic += rela * pointers;
        }
        symtab += symbols;
    }
    let mut named = crate::fasthash::FxHashSet::default();
    for name in hidden {
        // .dynsym entry, .gnu.version entry, .gnu.hash chain word; the
        // name in .dynstr once (foo@V1 and foo@@V2 share it).
        s.dynamic += dynsym + 2 + 4;
        if named.insert(*name) {
            s.dynamic += name.len() as u64 + 1;
        }
    }
    // .gnu.hash beyond its chain (header, Bloom filter, buckets) is sized
    // by the linker from the number of names: it shrinks in proportion.
    let names = r.exports.len() as u64;
    if names > 0 && r.layout.gnu_hash > 0 {
        let rest = r.layout.gnu_hash.saturating_sub(16 + 4 * names);
        s.dynamic += rest * (hidden.len() as u64).min(names) / names;
    }
    for &name in &named {
        if has(&r.layout.plt_exports, name) {
            // A PLT entry (16 bytes on x86-64, both linkers), its
            // .got.plt word and its .rela.plt relocation.
            s.text += plt_entry(r);
            s.data += pointer;
            s.dynamic += rela;
        }
        if has(&r.layout.got_exports, name) {
            // The GOT word and its R_*_GLOB_DAT: the linker turns the
            // load into an address computation once the name is local.
            s.data += pointer;
            s.relro += pointer;
            s.dynamic += rela;
        }
    }
    symtab += unreferenced_slots(r, costs, &fate, &named, &mut s);
    let file_after =
        file_after(r.output_size, &r.layout, &s, read_only, max_page(r)).saturating_sub(symtab);
    (s, file_after)
}

/// The PLT and GOT slots of names that only sections that go refer to
/// (calls from removed code to imports or to exports that stay), and, on
/// ld.bfd, the .dynsym entries of imports nothing left refers to (gold
/// keeps those: it writes an import that only --gc-sections' victims
/// refer to). `counted`: the hidden exports, whose slots are counted.
/// Returns the .symtab and .strtab bytes of those imports (ld.bfd names
/// them with their version there: `fputs@GLIBC_2.2.5`).
fn unreferenced_slots(
    r: &LinkRecord,
    costs: &Costs,
    fate: &impl Fn(usize) -> Fate,
    counted: &crate::fasthash::FxHashSet<&str>,
    s: &mut Saving,
) -> u64 {
    let (pointer, rela, dynsym) = words(r);
    let mut still = vec![false; costs.names.len()];
    let mut dropped = vec![false; costs.names.len()];
    for &(section, name) in &costs.refs {
        match fate(section as usize) {
            Fate::Kept => still[name as usize] = true,
            Fate::Gone => dropped[name as usize] = true,
            Fate::Unlinked => {}
        }
    }
    let bfd = r.output_linker == crate::state::record::Linker::Bfd;
    let mut symtab = 0;
    for (i, name) in costs.names.iter().enumerate() {
        let name: &str = name;
        if !dropped[i] || still[i] || counted.contains(name) {
            continue;
        }
        let l = &r.layout;
        if has(&l.plt_exports, name) || has(&l.plt_imports, name) {
            s.text += plt_entry(r);
            s.data += pointer;
            s.dynamic += rela;
        }
        if has(&l.got_exports, name) || has(&l.got_imports, name) {
            s.data += pointer;
            s.relro += pointer;
            s.dynamic += rela;
        }
        if bfd && let Some(import) = import_of(r, name) {
            s.dynamic += dynsym + 2 + name.len() as u64 + 1;
            let version = import.version.as_ref().map_or(0, |v| v.len() as u64 + 1);
            symtab += dynsym + name.len() as u64 + version + 1;
        }
    }
    symtab
}

/// The page the linker places segments on: 64 KiB on AArch64 (Debian's
/// ld.bfd and gold use it as their max-page-size there, for the padded
/// starts and for the end of RELRO) when every such boundary of the
/// output lies on one, else 4 KiB.
fn max_page(r: &LinkRecord) -> u64 {
    const BIG: u64 = 0x10000;
    let mut boundaries = r
        .layout
        .runs
        .iter()
        .filter_map(|run| {
            if run.padded {
                Some(run.start)
            } else if run.relro > 0 {
                Some(run.start.saturating_add(run.relro))
            } else {
                None
            }
        })
        .peekable();
    let aarch64 = r.abi.machine == object::elf::EM_AARCH64.0;
    if aarch64 && boundaries.peek().is_some() && boundaries.all(|b| b % BIG == 0) {
        BIG
    } else {
        Run::PAGE
    }
}

/// The output's size after `s` goes: each run shrinks by the bytes of its
/// kinds (a kind in several runs shrinks the last of them), and a padded
/// run starts again at the next page boundary.
fn file_after(file_before: u64, layout: &Layout, s: &Saving, read_only: u64, page: u64) -> u64 {
    let total = s.total();
    let Some(last) = layout.runs.last() else {
        return file_before.saturating_sub(total);
    };
    if last.end > file_before {
        return file_before.saturating_sub(total);
    }
    let mut pos = 0u64;
    let mut prev_end = 0u64;
    let mut taken = 0u8;
    for (i, run) in layout.runs.iter().enumerate() {
        // Kinds that also appear in a later run shrink there.
        let later: u8 = layout.runs[i + 1..].iter().fold(0, |k, r| k | r.kinds);
        let kinds = run.kinds & !later & !taken;
        taken |= kinds;
        let shrink = s.of(kinds, read_only);
        // Saturating: a damaged record must not stop the report.
        let start = if run.padded {
            pos.div_ceil(page).saturating_mul(page)
        } else if run.relro > 0 {
            // The first offset from here at which the RELRO part, as it
            // shrinks, ends on a page boundary.
            let relro = run.relro.saturating_sub(s.relro);
            pos.saturating_add(relro)
                .div_ceil(page)
                .saturating_mul(page)
                .saturating_sub(relro)
        } else {
            pos.saturating_add(run.start.saturating_sub(prev_end))
        };
        pos = start.saturating_add(run.end.saturating_sub(run.start).saturating_sub(shrink));
        prev_end = run.end;
    }
    // What follows the allocated bytes (symbol tables, section headers)
    // is taken as it was.
    pos.saturating_add(file_before - last.end)
}

/// gold gives a program the `_end`, `_edata` and `__bss_start` of the
/// libraries it links (a definition in a regular object that a shared
/// library also defines is exported); once the libraries hide theirs, the
/// program's go too. Adds those .dynsym entries to the programs' savings.
pub fn linker_names_of_programs(
    graph: &super::graph::Graph,
    records: &[LinkRecord],
    results: &mut [super::ModuleResult],
) {
    use crate::elf::EXPORTED_BY_LINKER;
    let mut hidden_by: crate::fasthash::FxHashMap<&str, Vec<&str>> = Default::default();
    for res in results.iter() {
        let m = &graph.modules[res.module];
        let soname = m.soname.as_deref().unwrap_or(&m.file_name);
        for h in &res.hidden_exports {
            if EXPORTED_BY_LINKER.contains(&super::graph::plain(h)) {
                hidden_by
                    .entry(soname)
                    .or_default()
                    .push(super::graph::plain(h));
            }
        }
    }
    let mut add = Vec::new();
    for (i, res) in results.iter().enumerate() {
        let m = &graph.modules[res.module];
        let r = &records[m.record];
        if !matches!(m.kind, OutputKind::Exec | OutputKind::Pie) || !r.linker.starts_with("gold") {
            continue;
        }
        let (_, _, dynsym) = words(r);
        for e in &r.exports {
            let gone = EXPORTED_BY_LINKER.contains(&e.name.as_str())
                && !res
                    .hidden_exports
                    .iter()
                    .any(|h| super::graph::plain(h) == e.name)
                && r.needed.iter().any(|n| {
                    hidden_by
                        .get(n.as_str())
                        .is_some_and(|h| h.contains(&e.name.as_str()))
                });
            if gone {
                add.push((i, dynsym + 2 + 4 + e.name.len() as u64 + 1));
            }
        }
    }
    for (i, bytes) in add {
        results[i].saving.dynamic += bytes;
        results[i].file_after = results[i].file_after.saturating_sub(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: u64, end: u64, padded: bool, kinds: u8, relro: u64) -> Run {
        Run {
            start,
            end,
            padded,
            kinds,
            relro,
        }
    }

    /// ld.bfd's layout: dynamic tables, then code and read-only data each
    /// from a page boundary, then the writable segment placed by its RELRO.
    fn bfd_layout() -> Layout {
        Layout {
            runs: vec![
                run(0, 7000, false, Run::DYNAMIC | Run::READ_ONLY, 0),
                run(8192, 11000, true, Run::TEXT, 0),
                run(12288, 14000, true, Run::READ_ONLY, 0),
                run(15384, 16884, false, Run::WRITABLE, 1000),
            ],
            ..Layout::default()
        }
    }

    #[test]
    fn pages_move_only_when_a_boundary_is_crossed() {
        let layout = bfd_layout();
        let tail = 3000;
        let before = 16884 + tail;
        // Nothing goes: the same size.
        assert_eq!(
            file_after(before, &layout, &Saving::default(), 0, Run::PAGE),
            before
        );
        // 2,000 dynamic bytes: code still starts at 8192 (7000 - 2000
        // rounds up to 8192 as 7000 did): the file keeps its size.
        let s = Saving {
            dynamic: 2000,
            ..Saving::default()
        };
        assert_eq!(file_after(before, &layout, &s, 0, Run::PAGE), before);
        // 3,200 bytes of code go: read-only data moves back one page
        // (8192 + 2800 - 3200 < 8192 + 4096), and so does the rest.
        let s = Saving {
            text: 3200,
            ..Saving::default()
        };
        assert_eq!(file_after(before, &layout, &s, 0, Run::PAGE), before - 4096);
    }

    #[test]
    fn aarch64_pads_to_64_kib() {
        // Dynamic tables and read-only data, then code from 128 KiB.
        let layout = Layout {
            runs: vec![
                run(0, 70000, false, Run::DYNAMIC | Run::READ_ONLY, 0),
                run(131072, 140000, true, Run::TEXT, 0),
            ],
            ..Layout::default()
        };
        let s = Saving {
            dynamic: 10000,
            ..Saving::default()
        };
        // 60,000 bytes before the code: it moves to 64 KiB, not to the
        // next 4 KiB page (61,440).
        assert_eq!(
            file_after(141000, &layout, &s, 0, 0x10000),
            65536 + 8928 + 1000
        );
        assert_eq!(
            file_after(141000, &layout, &s, 0, Run::PAGE),
            61440 + 8928 + 1000
        );
    }

    #[test]
    fn relro_end_stays_on_a_page() {
        let layout = bfd_layout();
        // 400 bytes of RELRO data go: the segment starts 400 bytes later,
        // so that its RELRO part still ends at a page boundary.
        let s = Saving {
            data: 400,
            relro: 400,
            ..Saving::default()
        };
        let after = file_after(16884 + 3000, &layout, &s, 0, Run::PAGE);
        // RELRO (600 bytes) ends at 16384: the writable segment starts at
        // 15784 and holds 1100 bytes.
        assert_eq!(after, 15784 + 1100 + 3000);
    }
}
