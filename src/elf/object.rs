//! Facts from one relocatable object: its allocated sections, its non-local
//! symbols, the section -> symbol/section edges its relocations make, the
//! identifier-like C strings of its read-only data, its object hash and
//! its interface hash (see [`super::interface`]).

use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{Endian, Endianness, LittleEndian, ReadRef, SectionIndex, SymbolIndex};

use super::hash::{Hash128, StructHasher};
use super::interface::InterfaceHasher;
use super::types::{
    Binding, LTO_SLIM_MARKER, Lto, SectionKind, SymbolPlace, SymbolType, Visibility, binding_of,
    symbol_type_of, visibility_of,
};
use super::{ElfError, is_debug_section};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionFact<'d> {
    /// As its bytes: text (lossy, for the rare name that is not UTF-8)
    /// only when the record interns it, once per distinct name.
    pub name: &'d [u8],
    pub kind: SectionKind,
    pub flags: u64,
    pub size: u64,
    /// sh_addralign: the padding a removed section takes with it.
    pub align: u64,
    /// The .eh_frame FDEs that describe this section: their number and
    /// bytes, which the linker drops with it (and one .eh_frame_hdr entry
    /// per FDE).
    pub fdes: u32,
    pub fde_bytes: u32,
    /// Relocations of a whole pointer (R_X86_64_64 and the like): in a
    /// shared library or PIE each becomes a dynamic relocation.
    pub pointers: u32,
    /// Named local symbols defined in it, and their names' bytes with the
    /// terminator (not recorded by name).
    pub locals: u32,
    pub local_name_bytes: u32,
    /// Signature of the COMDAT group the section belongs to.
    pub group: Option<&'d [u8]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolFact<'d> {
    /// As spelled in the symbol table, versions included (`foo@@V2`), as
    /// bytes (see [`SectionFact::name`]).
    pub name: &'d [u8],
    pub binding: Binding,
    pub visibility: Visibility,
    pub kind: SymbolType,
    pub size: u64,
    pub place: SymbolPlace,
}

/// What a relocation in a section points at.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Target {
    /// Index into the object's recorded (non-local) symbols.
    Symbol(u32),
    /// Index into the object's recorded sections: local symbols and section
    /// symbols are folded into the section that defines them.
    Section(u32),
}

#[derive(Clone, Debug, Default)]
pub struct ObjectFacts<'d> {
    /// Object hash: the interface hash and the recorded facts it does not
    /// cover ([`object_hash`]).
    pub hash: Hash128,
    /// Interface hash: what names the object in a link identity.
    pub interface: Hash128,
    /// LTO IR: none, beside machine code (fat), or alone (slim).
    pub lto: Lto,
    pub sections: Vec<SectionFact<'d>>,
    pub symbols: Vec<SymbolFact<'d>>,
    /// (from section, to), sorted and without duplicates.
    pub edges: Vec<(u32, Target)>,
    /// Identifier-like or `.so`-like C strings of read-only data, sorted, unique.
    pub cstrings: Vec<&'d str>,
}

/// Parses a relocatable ELF object held in `data`.
pub fn parse_object<'data, R: ReadRef<'data>>(data: R) -> Result<ObjectFacts<'data>, ElfError> {
    match layout(data)? {
        Layout::Little64 => parse_as::<elf::FileHeader64<LittleEndian>, R>(data),
        Layout::Little32 => parse_as::<elf::FileHeader32<LittleEndian>, R>(data),
        Layout::Any64 => parse_as::<elf::FileHeader64<Endianness>, R>(data),
        Layout::Any32 => parse_as::<elf::FileHeader32<Endianness>, R>(data),
    }
}

/// ELF class and byte order, as the parsers are instantiated for them:
/// little-endian files (nearly all) with the byte order fixed at compile
/// time, so that a field read is a plain load and not a branch (13M
/// instructions of 1,000 C++ objects' 240M).
pub(super) enum Layout {
    Little64,
    Little32,
    Any64,
    Any32,
}

/// The [`Layout`] of `data`; an error for non-ELF.
pub(super) fn layout<'data, R: ReadRef<'data>>(data: R) -> Result<Layout, ElfError> {
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|_| ElfError::new("file too short for an ELF header"))?;
    if ident[..4] != *b"\x7fELF" {
        return Err(ElfError::new("not an ELF file"));
    }
    let little = ident[5] == elf::ELFDATA2LSB.0;
    match ident[4] {
        c if c == elf::ELFCLASS64.0 && little => Ok(Layout::Little64),
        c if c == elf::ELFCLASS32.0 && little => Ok(Layout::Little32),
        c if c == elf::ELFCLASS64.0 => Ok(Layout::Any64),
        c if c == elf::ELFCLASS32.0 => Ok(Layout::Any32),
        c => Err(ElfError::new(format!("unknown ELF class {c}"))),
    }
}

/// GCC's and LLVM's LTO IR sections.
pub(super) fn is_lto_section(name: &[u8]) -> bool {
    name.starts_with(b".gnu.lto_") || name.starts_with(b".llvm.lto")
}

fn parse_as<'data, Elf, R>(data: R) -> Result<ObjectFacts<'data>, ElfError>
where
    Elf: FileHeader,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    if header.e_type(endian) != elf::ET_REL {
        return Err(ElfError::new("not a relocatable object (ET_REL)"));
    }
    let sections = header.sections(endian, data)?;
    let symtab = sections.symbols(endian, data, elf::SHT_SYMTAB)?;

    // Vectors get their size up front: growing them cost 5M instructions
    // (reallocations) for 600 small objects. Relocations of allocated
    // sections (not of debug info), which make the edges, are counted
    // first. Headers can claim anything: no more than the file holds (an
    // entry takes 8 bytes or more).
    let file = data.len().unwrap_or(0);
    let relocates_code_or_data = |s: &Elf::SectionHeader| {
        sections
            .section(SectionIndex(s.sh_info(endian) as usize))
            .is_ok_and(|t| t.sh_flags(endian).0 & elf::SHF_ALLOC.0 != 0)
    };
    let relocations = sections
        .iter()
        .filter(|s| matches!(s.sh_type(endian), elf::SHT_RELA | elf::SHT_REL))
        .filter(|s| relocates_code_or_data(s))
        .map(|s| {
            let size: u64 = s.sh_size(endian).into();
            let entry: u64 = s.sh_entsize(endian).into();
            size.min(file).checked_div(entry).unwrap_or(0)
        })
        .fold(0u64, u64::saturating_add)
        .min(file / 8) as usize;
    let mut interface = InterfaceHasher::new(header.e_machine(endian).0, header.is_class_64());

    let mut facts = ObjectFacts {
        sections: Vec::with_capacity(sections.len()),
        symbols: Vec::with_capacity(symtab.len()),
        edges: Vec::new(),
        // Growing it from nothing cost more than the scan (a dozen strings).
        cstrings: Vec::with_capacity(32),
        ..ObjectFacts::default()
    };
    let groups = comdat_groups(&sections, &symtab, endian, data)?;

    // Allocated sections are recorded; their index in the record replaces
    // the ELF index everywhere (`map[elf index]`).
    let mut map: Vec<Option<u32>> = vec![None; sections.len()];
    let machine = header.e_machine(endian);
    // (linked code section, its ARM index table), by ELF index.
    let mut exidx_links: Vec<(usize, usize)> = Vec::new();
    let (mut ir_sections, mut slim_marker) = (false, false);
    for (index, section) in sections.enumerate() {
        let flags = section.sh_flags(endian).0;
        let sh_type = section.sh_type(endian);
        // Relocations and tables are neither recorded nor LTO IR: their
        // names (a third of an object's sections) are never looked up.
        if flags & elf::SHF_ALLOC.0 == 0 && is_table(sh_type) {
            continue;
        }
        let raw_name = sections.section_name(endian, section)?;
        ir_sections |= is_lto_section(raw_name);
        if flags & elf::SHF_ALLOC.0 == 0 || is_debug_section(raw_name) {
            continue;
        }
        let name = raw_name;
        let size: u64 = section.sh_size(endian).into();
        let is_strings = flags & elf::SHF_STRINGS.0 != 0;
        map[index.0] = Some(facts.sections.len() as u32);

        if is_read_only_data(sh_type, flags)
            && may_hold_strings(name, flags)
            && let Ok(bytes) = section.data(endian, data)
        {
            collect_cstrings(bytes, is_strings, &mut facts.cstrings);
        }
        let group = groups.get(index.0).copied().flatten();
        let kind = section_kind(machine, sh_type, flags, name);
        if kind == SectionKind::ArmExidx {
            // The link is what ties the table to its code (an edge below).
            let link = section.sh_link(endian) as usize;
            exidx_links.push((link, index.0));
        }
        interface.section(
            raw_name,
            sh_type.0,
            flags,
            section.sh_addralign(endian).into(),
            size,
            group,
        );
        facts.sections.push(SectionFact {
            kind,
            name,
            flags,
            size,
            align: section.sh_addralign(endian).into(),
            fdes: 0,
            fde_bytes: 0,
            pointers: 0,
            locals: 0,
            local_name_bytes: 0,
            group,
        });
    }

    // Non-local symbols are recorded; local ones only lead to their section.
    let mut symbol_map: Vec<Option<u32>> = vec![None; symtab.len()];
    for (index, sym) in symtab.enumerate() {
        if index.0 == 0 || sym.st_type() == elf::STT_FILE {
            continue;
        }
        let place = symbol_place(&symtab, sym, index, endian, &map)?;
        if place == SymbolPlace::Unrecorded && sym.is_local() {
            continue;
        }
        let raw_name = sym.name(endian, symtab.strings())?;
        slim_marker |= raw_name == LTO_SLIM_MARKER;
        let name = raw_name;
        if sym.is_local() {
            // What the output's .symtab and .strtab lose with the section.
            if let SymbolPlace::Section(i) = place
                && sym.st_type() != elf::STT_SECTION
                && !raw_name.is_empty()
                && let Some(s) = facts.sections.get_mut(i as usize)
            {
                s.locals += 1;
                s.local_name_bytes = s.local_name_bytes.saturating_add(raw_name.len() as u32 + 1);
            }
            continue;
        }
        interface.symbol(
            raw_name,
            sym.st_info().0,
            sym.st_other().0,
            place_code(place),
            sym.st_size(endian).into(),
        );
        symbol_map[index.0] = Some(facts.symbols.len() as u32);
        facts.symbols.push(SymbolFact {
            name,
            binding: binding_of(sym.st_bind().0),
            visibility: visibility_of(sym.st_other().0),
            kind: symbol_type_of(sym.st_type().0),
            size: sym.st_size(endian).into(),
            place,
        });
    }

    // Edges as one integer each, ordered as `Ord` orders (u32, Target): a
    // record index of a section is far below 2^31.
    let key = |from: u32, to: Target| -> u64 {
        let (variant, i) = match to {
            Target::Symbol(i) => (0, i),
            Target::Section(i) => (1, i),
        };
        (u64::from(from) << 33) | (variant << 32) | u64::from(i)
    };
    let mut keys: Vec<u64> = Vec::with_capacity(relocations.min(4096));
    // Whether `keys` is still sorted: relocation sections mostly follow
    // the order of the sections they relocate.
    let mut in_order = true;

    // An ARM index table stays exactly when its code section does (ld's and
    // gold's --gc-sections): an edge from the code to the table, whose own
    // relocations lead on to .ARM.extab and the personality routines.
    for &(code, table) in &exidx_links {
        if let (Some(Some(from)), Some(Some(to))) =
            (map.get(code).copied(), map.get(table).copied())
        {
            keys.push(key(from, Target::Section(to)));
            in_order = false;
        }
    }

    // Relocations of recorded sections become edges. What a relocation's
    // symbol stands for is worked out at its first use: an object's
    // relocations name few symbols, many times each.
    let symbols_recorded = facts.symbols.len();
    let resolve = |r_sym: u32| -> Result<Resolved, ElfError> {
        let index = SymbolIndex(r_sym as usize);
        let sym = symtab.symbol(index)?;
        let elf_section = symtab.symbol_section(endian, sym, index)?;
        let section = elf_section.and_then(|s| map.get(s.0).copied().flatten());
        let target = match symbol_map.get(index.0).copied() {
            Some(Some(global)) => Some(Target::Symbol(global)),
            _ => section.map(Target::Section),
        };
        Ok(Resolved {
            // Symbols first, then sections: one slot per target.
            slot: match target {
                Some(Target::Symbol(i)) => i as usize,
                Some(Target::Section(i)) => symbols_recorded + i as usize,
                None => usize::MAX,
            },
            target,
            section,
        })
    };
    let mut resolved: Vec<Option<Resolved>> = vec![None; symtab.len()];
    // The section each target was last an edge of (+1): a relocation
    // section names few targets, many times each, and its edges need no
    // sort beyond their own few.
    let mut last_from: Vec<u32> = vec![0; symbols_recorded + facts.sections.len()];
    // A bit per target slot, for sorting long segments (all clear between).
    let mut slot_bits: Vec<u64> = Vec::new();
    let is_mips64el = header.is_mips64el(endian);
    let pointer = pointer_relocation(header.e_machine(endian));
    for section in sections.iter() {
        let target = section.sh_info(endian) as usize;
        let Some(Some(from)) = map.get(target).copied() else {
            continue;
        };
        // An .eh_frame's FDEs, by the offset of their pc_begin field: the
        // relocation there names the section the FDE describes.
        let fdes = match facts.sections[from as usize].kind {
            SectionKind::EhFrame => sections
                .section(SectionIndex(target))
                .and_then(|s| s.data(endian, data))
                .map_or_else(|_| Vec::new(), |b| fde_starts(b, endian)),
            _ => Vec::new(),
        };
        let start = keys.len();
        let mut pointers = 0u32;
        // (offset, type, symbol) of RELA or REL entries, in one loop (a
        // closure called from two cost a call per relocation).
        let rela = section.rela(endian, data)?.map(|(r, _)| r);
        let rel = match rela {
            None => section.rel(endian, data)?.map(|(r, _)| r),
            Some(_) => None,
        };
        let entries = rela.into_iter().flatten().map(|r| -> (u64, u32, u32) {
            (
                r.r_offset(endian).into(),
                r.r_type(endian, is_mips64el).0,
                r.r_sym(endian, is_mips64el),
            )
        });
        let entries = entries.chain(rel.into_iter().flatten().map(|r| {
            (
                r.r_offset(endian).into(),
                r.r_type(endian).0,
                r.r_sym(endian),
            )
        }));
        for (offset, r_type, r_sym) in entries {
            pointers += u32::from(Some(r_type) == pointer);
            if r_sym == 0 {
                continue;
            }
            let r = match resolved.get(r_sym as usize).copied().flatten() {
                Some(r) => r,
                None => {
                    let r = resolve(r_sym)?;
                    if let Some(slot) = resolved.get_mut(r_sym as usize) {
                        *slot = Some(r);
                    }
                    r
                }
            };
            if let Some(to) = r.target
                && let Some(last) = last_from.get_mut(r.slot)
                && *last != from + 1
            {
                *last = from + 1;
                keys.push(key(from, to));
            }
            if !fdes.is_empty()
                && let Ok(i) = fdes.binary_search_by_key(&offset, |f| f.0)
                && let Some(s) = r.section.and_then(|s| facts.sections.get_mut(s as usize))
            {
                s.fdes = s.fdes.saturating_add(1);
                s.fde_bytes = s.fde_bytes.saturating_add(fdes[i].1);
            }
        }
        if let Some(s) = facts.sections.get_mut(from as usize) {
            s.pointers = s.pointers.saturating_add(pointers);
        }
        sort_segment(&mut keys, start, symbols_recorded, &mut slot_bits);
        in_order &= start == 0 || keys.get(start).is_none_or(|&k| k > keys[start - 1]);
    }
    // A section relocated twice, or tables: the whole list sorted again.
    if !in_order {
        keys.sort_unstable();
        keys.dedup();
    }
    facts.edges.extend(keys.iter().map(|&k| {
        let i = k as u32;
        let to = if k & (1 << 32) == 0 {
            Target::Symbol(i)
        } else {
            Target::Section(i)
        };
        ((k >> 33) as u32, to)
    }));
    facts.cstrings.sort_unstable();
    facts.cstrings.dedup();
    facts.lto = Lto::of(ir_sections, slim_marker);
    facts.interface = interface.finish();
    facts.hash = object_hash(&facts, &keys);
    Ok(facts)
}

/// Sorts the edge keys of one relocation section, `keys[start..]`: one
/// `from`, distinct targets. A long segment (an .eh_frame's, one edge per
/// function) is put in order through a bitmap of target slots, read back
/// in slot order, which is key order (symbols, then sections): a sort of
/// the nearly ordered hundred edges of a C++ object's .eh_frame cost
/// 14,000 instructions. Duplicates, which the caller never makes, would
/// be merged.
fn sort_segment(keys: &mut Vec<u64>, start: usize, symbols: usize, bits: &mut Vec<u64>) {
    const SHORT: usize = 32;
    let segment = &mut keys[start..];
    if segment.len() <= SHORT {
        segment.sort_unstable();
        return;
    }
    let from = segment[0] >> 33;
    let slot = |k: u64| -> usize {
        let i = (k as u32) as usize;
        if k & (1 << 32) == 0 { i } else { symbols + i }
    };
    let (low, high) = segment.iter().fold((usize::MAX, 0), |(lo, hi), &k| {
        let s = slot(k);
        (lo.min(s), hi.max(s))
    });
    // Only the words the segment's slots span are read back; a segment
    // spread thin over a large object sorts (the scan would cost more).
    let words = low / 64..high / 64 + 1;
    if words.len() > 2 * segment.len() {
        segment.sort_unstable();
        return;
    }
    if bits.len() < words.end {
        bits.resize(words.end, 0);
    }
    for &k in segment.iter() {
        let s = slot(k);
        bits[s / 64] |= 1 << (s % 64);
    }
    let mut n = start;
    let first = words.start;
    for (w, word) in bits[words].iter_mut().enumerate() {
        let w = first + w;
        while *word != 0 {
            let s = w * 64 + word.trailing_zeros() as usize;
            *word &= *word - 1;
            keys[n] = if s < symbols {
                (from << 33) | s as u64
            } else {
                (from << 33) | (1 << 32) | (s - symbols) as u64
            };
            n += 1;
        }
    }
    keys.truncate(n);
}

/// Section types that hold relocations, symbols, strings or groups.
pub(super) fn is_table(sh_type: elf::SectionType) -> bool {
    matches!(
        sh_type,
        elf::SHT_RELA
            | elf::SHT_REL
            | elf::SHT_SYMTAB
            | elf::SHT_STRTAB
            | elf::SHT_GROUP
            | elf::SHT_SYMTAB_SHNDX
            | elf::SHT_NULL
    )
}

/// A relocation's symbol, as the relocation walk needs it.
#[derive(Clone, Copy)]
struct Resolved {
    target: Option<Target>,
    /// The target's slot in `last_from` (usize::MAX: no target).
    slot: usize,
    /// The record index of its section.
    section: Option<u32>,
}

/// The object hash: the interface hash and the recorded facts of the
/// object it does not cover (edges, per-section counts), so it changes
/// exactly when those do (a merged string pool's size aside, as in the
/// interface hash). Not the C strings: the record keeps them per link, and
/// a `__FILE__` without a slash (`foo.c`) is one. `edge_keys` are the edges
/// as `parse_as` sorted them.
fn object_hash(facts: &ObjectFacts<'_>, edge_keys: &[u64]) -> Hash128 {
    let mut h = StructHasher::with_capacity(
        b"ldprune-object-v2",
        32 + 24 * facts.sections.len() + 8 * edge_keys.len(),
    );
    h.u64(facts.interface.0 as u64);
    h.u64((facts.interface.0 >> 64) as u64);
    h.u64(facts.lto as u64);
    for s in &facts.sections {
        h.u64(u64::from(s.fdes) | u64::from(s.fde_bytes) << 32);
        h.u64(u64::from(s.pointers) | u64::from(s.locals) << 32);
        h.u64(u64::from(s.local_name_bytes));
    }
    h.u64(edge_keys.len() as u64);
    for &k in edge_keys {
        h.u64(k);
    }
    h.finish()
}

/// The relocation type of a whole pointer, for the machines ldprune
/// predicts dynamic relocations of.
fn pointer_relocation(machine: elf::Machine) -> Option<u32> {
    Some(
        match machine {
            elf::EM_X86_64 => elf::R_X86_64_64,
            elf::EM_386 => elf::R_386_32,
            elf::EM_AARCH64 => elf::R_AARCH64_ABS64,
            _ => return None,
        }
        .0,
    )
}

/// (offset of pc_begin, bytes) of each FDE of an .eh_frame section, in
/// offset order; stops at the terminator or at the first damaged entry.
fn fde_starts<E: Endian>(bytes: &[u8], endian: E) -> Vec<(u64, u32)> {
    let word = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(endian.read_u32(b))
    };
    // An FDE takes 24 bytes or more.
    let mut out = Vec::with_capacity(bytes.len() / 24);
    let mut at = 0usize;
    while let Some(len) = word(at) {
        // A 64-bit length (0xffffffff, then 8 bytes) never occurs in
        // objects of real size; stop rather than guess.
        if len == 0 || len == u32::MAX {
            break;
        }
        let total = len as usize + 4;
        if at + total > bytes.len() {
            break;
        }
        if word(at + 4).is_some_and(|cie_pointer| cie_pointer != 0) {
            out.push(((at + 8) as u64, total as u32));
        }
        at += total;
    }
    out
}

/// The COMDAT signature of each section, by ELF section index; empty (no
/// allocation) when the object has no COMDAT group.
pub(super) fn comdat_groups<'data, Elf, R>(
    sections: &SectionTable<'data, Elf, R>,
    symtab: &SymbolTable<'data, Elf, R>,
    endian: Elf::Endian,
    data: R,
) -> Result<Vec<Option<&'data [u8]>>, ElfError>
where
    Elf: FileHeader,
    R: ReadRef<'data>,
{
    let mut groups = Vec::new();
    for section in sections.iter() {
        let Some((flags, members)) = section.group(endian, data)? else {
            continue;
        };
        if flags.0 & elf::GRP_COMDAT.0 == 0 {
            continue;
        }
        let sym = symtab.symbol(SymbolIndex(section.sh_info(endian) as usize))?;
        let signature = sym.name(endian, symtab.strings())?;
        groups.resize(sections.len(), None);
        for member in members {
            // An index past the table names no section: nothing to mark.
            if let Some(slot) = groups.get_mut(member.get(endian) as usize) {
                *slot = Some(signature);
            }
        }
    }
    Ok(groups)
}

pub(super) fn symbol_place<'data, Elf, R>(
    symtab: &SymbolTable<'data, Elf, R>,
    sym: &Elf::Sym,
    index: SymbolIndex,
    endian: Elf::Endian,
    map: &[Option<u32>],
) -> Result<SymbolPlace, ElfError>
where
    Elf: FileHeader,
    R: ReadRef<'data>,
{
    let shndx = sym.st_shndx(endian);
    Ok(if shndx == elf::SHN_UNDEF {
        SymbolPlace::Undefined
    } else if shndx == elf::SHN_COMMON || sym.st_type() == elf::STT_COMMON {
        SymbolPlace::Common
    } else if shndx == elf::SHN_ABS {
        SymbolPlace::Absolute
    } else {
        match symtab.symbol_section(endian, sym, index)? {
            Some(SectionIndex(i)) => match map.get(i).copied().flatten() {
                Some(r) => SymbolPlace::Section(r),
                None => SymbolPlace::Unrecorded,
            },
            None => SymbolPlace::Unrecorded,
        }
    })
}

pub(super) fn place_code(place: SymbolPlace) -> u64 {
    match place {
        SymbolPlace::Undefined => u64::MAX,
        SymbolPlace::Common => u64::MAX - 1,
        SymbolPlace::Absolute => u64::MAX - 2,
        SymbolPlace::Unrecorded => u64::MAX - 3,
        SymbolPlace::Section(i) => u64::from(i),
    }
}

fn section_kind(
    machine: elf::Machine,
    sh_type: elf::SectionType,
    flags: u64,
    name: &[u8],
) -> SectionKind {
    let tls = flags & elf::SHF_TLS.0 != 0;
    match sh_type {
        // The same number as SHT_X86_64_UNWIND: the machine tells them apart.
        elf::SHT_ARM_EXIDX if machine == elf::EM_ARM => SectionKind::ArmExidx,
        elf::SHT_INIT_ARRAY => SectionKind::InitArray,
        elf::SHT_FINI_ARRAY => SectionKind::FiniArray,
        elf::SHT_PREINIT_ARRAY => SectionKind::PreinitArray,
        elf::SHT_NOTE => SectionKind::Note,
        elf::SHT_NOBITS if tls => SectionKind::TlsBss,
        elf::SHT_NOBITS => SectionKind::Bss,
        elf::SHT_X86_64_UNWIND => SectionKind::EhFrame,
        _ if name == b".eh_frame" => SectionKind::EhFrame,
        elf::SHT_PROGBITS if flags & elf::SHF_EXECINSTR.0 != 0 => SectionKind::Text,
        elf::SHT_PROGBITS if tls => SectionKind::TlsData,
        elf::SHT_PROGBITS if flags & elf::SHF_WRITE.0 != 0 => SectionKind::Data,
        elf::SHT_PROGBITS => SectionKind::ReadOnly,
        _ => SectionKind::Other,
    }
}

fn is_read_only_data(sh_type: elf::SectionType, flags: u64) -> bool {
    sh_type == elf::SHT_PROGBITS && flags & (elf::SHF_WRITE.0 | elf::SHF_EXECINSTR.0) == 0
}

/// Read-only data a program can hand to dlsym or dlopen: not unwind
/// tables (GCC emits .eh_frame as PROGBITS; its augmentation strings such
/// as "zR" name nothing), not exception tables, not merged constants
/// (SHF_MERGE without SHF_STRINGS: .rodata.cst*). Half the bytes scanned
/// in a typical object were .eh_frame.
fn may_hold_strings(name: &[u8], flags: u64) -> bool {
    let merged_constants = flags & elf::SHF_MERGE.0 != 0 && flags & elf::SHF_STRINGS.0 == 0;
    !merged_constants && name != b".eh_frame" && !name.starts_with(b".gcc_except_table")
}

/// Adds the NUL-terminated strings of `bytes` that could name a symbol
/// (dlsym) or a shared object (dlopen). In sections not marked as strings,
/// only whole strings count: a run must start at the section start or after
/// a NUL byte, and end with a NUL.
///
/// Every byte of read-only data passes here (.eh_frame, tables, literals):
/// one pass to split, candidates borrowed, no lossy conversion (a candidate
/// is ASCII).
fn collect_cstrings<'d>(bytes: &'d [u8], is_strings: bool, out: &mut Vec<&'d str>) {
    // Each NUL ends a string; what follows the last one is not whole.
    // Zero bytes, empty strings, are most of a zeroed table: skipped eight
    // at a time; the end of a string is found by core's memchr (through
    // CStr), a word at a time.
    let mut at = 0;
    while at < bytes.len() {
        while let Some(word) = bytes.get(at..at + 8)
            && word == [0; 8]
        {
            at += 8;
        }
        if bytes.get(at) == Some(&0) {
            at += 1;
            continue;
        }
        let Some(rest) = bytes.get(at..) else {
            break;
        };
        let Ok(s) = std::ffi::CStr::from_bytes_until_nul(rest) else {
            break;
        };
        let s = s.to_bytes();
        at += s.len() + 1;
        if (is_strings || s.len() >= 2)
            && is_candidate_name(s)
            && let Ok(text) = std::str::from_utf8(s)
        {
            out.push(text);
        }
    }
}

/// An identifier (optionally with `@version`), or a path that names a shared
/// object. Everything else in read-only data is irrelevant to the merge.
/// One pass over the bytes: binary data fails at its first odd byte.
pub fn is_candidate_name(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let mut path = false;
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'@') {
            continue;
        }
        if !matches!(b, b'/' | b'-' | b'+') {
            return false;
        }
        path = true;
    }
    (!path && (s[0].is_ascii_alphabetic() || s[0] == b'_')) || s.windows(3).any(|w| w == b".so")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitmap order of a long segment is the sorted order, after
    /// what came before it, for targets of both kinds in any order.
    #[test]
    fn long_segments_sort_by_slot() {
        let key = |from: u64, section: bool, i: u64| (from << 33) | (u64::from(section) << 32) | i;
        let mut bits = Vec::new();
        // A cheap deterministic shuffle: (a * 37) mod 101 visits 0..101.
        for (n, symbols) in [(33, 10), (60, 0), (100, 101), (101, 40)] {
            let before = vec![key(1, false, 3), key(1, true, 0)];
            let mut keys = before.clone();
            let mut want = Vec::new();
            for a in 0..n {
                let s = (a * 37) % 101;
                let k = if s < symbols {
                    key(7, false, s)
                } else {
                    key(7, true, s - symbols)
                };
                keys.push(k);
                want.push(k);
            }
            want.sort_unstable();
            sort_segment(&mut keys, before.len(), symbols as usize, &mut bits);
            assert_eq!(&keys[..2], &before[..], "{n}");
            assert_eq!(&keys[2..], &want[..], "{n}");
            assert!(bits.iter().all(|&w| w == 0), "{n}: bits left set");
        }
        // Spread thin over many slots (a large object): sorted, and the
        // bitmap not grown to the span.
        let mut keys: Vec<u64> = (0..40u64).rev().map(|i| key(7, true, i * 3000)).collect();
        let mut want = keys.clone();
        want.sort_unstable();
        let mut bits = Vec::new();
        sort_segment(&mut keys, 0, 5, &mut bits);
        assert_eq!(keys, want);
        assert!(bits.is_empty());
    }

    /// A 64-bit x86-64 object in either byte order: .text with the global
    /// `f`, .data with two whole pointers (to the undefined `g` and to
    /// .text through its section symbol), and the tables.
    fn tiny_object(big: bool) -> Vec<u8> {
        let mut o = Vec::new();
        let put = |o: &mut Vec<u8>, v: u64, n: usize| {
            let b = v.to_be_bytes();
            if big {
                o.extend_from_slice(&b[8 - n..]);
            } else {
                o.extend(b[8 - n..].iter().rev());
            }
        };
        let shstr = b"\0.text\0.data\0.rela.data\0.symtab\0.strtab\0.shstrtab\0";
        let str = b"\0f\0g\0";
        // Layout: header 64, .text 16, .data 16, .rela.data 48, .symtab 96,
        // .strtab 5, .shstrtab, then the section headers.
        let (text, data, rela, symtab) = (64u64, 80u64, 96u64, 144u64);
        let strtab = symtab + 96;
        let shstrtab = strtab + str.len() as u64;
        let shoff = (shstrtab + shstr.len() as u64).next_multiple_of(8);
        o.extend(b"\x7fELF\x02");
        o.push(if big { 2 } else { 1 });
        o.extend([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for (v, n) in [(1, 2), (62, 2), (1, 4), (0, 8), (0, 8), (shoff, 8), (0, 4)] {
            put(&mut o, v, n);
        }
        for (v, n) in [(64, 2), (0, 2), (0, 2), (64, 2), (7, 2), (6, 2)] {
            put(&mut o, v, n);
        }
        o.extend([0xc3; 16]); // .text
        o.extend([0; 16]); // .data
        for (offset, sym) in [(0u64, 3u64), (8, 1)] {
            // R_X86_64_64 against the symbol, addend 0.
            for v in [offset, sym << 32 | 1, 0] {
                put(&mut o, v, 8);
            }
        }
        // Symbols: null, the section symbol of .text, f, g.
        for (name, info, shndx, size) in [
            (0, 0, 0, 0),
            (0, 3, 1, 0),
            (1, 0x12, 1, 16),
            (3, 0x10, 0, 0),
        ] {
            put(&mut o, name, 4);
            o.extend([info, 0]);
            put(&mut o, shndx, 2);
            put(&mut o, 0, 8);
            put(&mut o, size, 8);
        }
        o.extend(str);
        o.extend(shstr);
        o.resize(shoff as usize, 0);
        // name, type, flags, address, offset, size, link, info, align,
        // entsize
        let headers = [
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 6, 0, text, 16, 0, 0, 16, 0],
            [7, 1, 3, 0, data, 16, 0, 0, 8, 0],
            [13, 4, 0x40, 0, rela, 48, 4, 2, 8, 24],
            [24, 2, 0, 0, symtab, 96, 5, 2, 8, 24],
            [32, 3, 0, 0, strtab, str.len() as u64, 0, 0, 1, 0],
            [40, 3, 0, 0, shstrtab, shstr.len() as u64, 0, 0, 1, 0],
        ];
        for h in headers {
            for (i, v) in h.into_iter().enumerate() {
                put(&mut o, v, if matches!(i, 0 | 1 | 6 | 7) { 4 } else { 8 });
            }
        }
        o
    }

    #[test]
    fn both_byte_orders_give_the_same_facts() {
        let little = tiny_object(false);
        let big = tiny_object(true);
        let (l, b) = (
            parse_object(&little[..]).unwrap(),
            parse_object(&big[..]).unwrap(),
        );
        assert!(matches!(layout(&little[..]), Ok(Layout::Little64)));
        assert!(matches!(layout(&big[..]), Ok(Layout::Any64)));
        let names = |f: &ObjectFacts<'_>| -> Vec<Vec<u8>> {
            f.sections
                .iter()
                .map(|s| s.name.to_vec())
                .chain(f.symbols.iter().map(|s| s.name.to_vec()))
                .collect()
        };
        assert_eq!(
            names(&l),
            [&b".text"[..], b".data", b"f", b"g"].map(<[u8]>::to_vec)
        );
        assert_eq!(l.sections, b.sections);
        assert_eq!(l.symbols, b.symbols);
        assert_eq!(l.edges, [(1, Target::Symbol(1)), (1, Target::Section(0))]);
        assert_eq!(l.edges, b.edges);
        assert_eq!(l.sections[1].pointers, 2);
        assert_eq!((l.hash, l.interface), (b.hash, b.interface));
        let summary = crate::elf::interface::interface_summary(&big[..]).unwrap();
        assert_eq!(summary.hash, b.interface);
    }

    #[test]
    fn fdes_found_by_their_pc_begin() {
        let mut b = Vec::new();
        // A CIE of 16 bytes (length 12, id 0), two FDEs of 24 and 32 bytes
        // pointing back at it, then the terminator.
        b.extend(12u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend([0; 8]);
        for len in [20u32, 28] {
            let at = b.len() as u32;
            b.extend(len.to_le_bytes());
            b.extend((at + 4).to_le_bytes());
            b.extend(vec![0; len as usize - 4]);
        }
        b.extend(0u32.to_le_bytes());
        assert_eq!(fde_starts(&b, Endianness::Little), [(24, 24), (48, 32)]);
        // A length past the end stops the walk.
        b[16] = 0xff;
        assert_eq!(fde_starts(&b, Endianness::Little), []);
    }

    #[test]
    fn candidate_names() {
        assert!(is_candidate_name(b"plugin_init"));
        assert!(is_candidate_name(b"foo@VERS_1"));
        assert!(is_candidate_name(b"libfoo.so.1"));
        assert!(is_candidate_name(b"/usr/lib/plugins/libbar.so"));
        assert!(!is_candidate_name(b"hello world"));
        assert!(!is_candidate_name(b"%s: %d\n"));
        assert!(!is_candidate_name(b"1abc"));
        assert!(!is_candidate_name(b""));
        assert!(is_candidate_name(b"_x"));
        assert!(is_candidate_name(b"1libfoo.so"));
        assert!(is_candidate_name(b"libc++.so.6"));
        assert!(!is_candidate_name(b"foo-bar"));
        assert!(!is_candidate_name(b"a/b"));
        assert!(!is_candidate_name(b"$x"));
        assert!(!is_candidate_name(b"zR\x01"));
    }

    #[test]
    fn cstrings_are_whole_strings() {
        let mut out = Vec::new();
        collect_cstrings(b"alpha\0two words\0x\0beta\0tail", false, &mut out);
        assert_eq!(out, vec!["alpha", "beta"]);
        out.clear();
        collect_cstrings(b"x\0", true, &mut out);
        assert_eq!(out, vec!["x"]);
    }

    /// The word-at-a-time scan finds what splitting at every NUL finds,
    /// wherever runs of zeros start and end.
    #[test]
    fn cstrings_between_zero_runs() {
        let simple = |bytes: &[u8], is_strings: bool| -> Vec<String> {
            let mut parts: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
            parts.pop(); // not ended by a NUL
            parts
                .into_iter()
                .filter(|s| (is_strings || s.len() >= 2) && is_candidate_name(s))
                .map(|s| String::from_utf8(s.to_vec()).unwrap())
                .collect()
        };
        for zeros in 0..20 {
            for tail in 0..10 {
                let mut b = vec![0u8; zeros];
                b.extend(b"name_a\0");
                b.extend(vec![0u8; tail]);
                b.extend(b"xy\0\x05\0\0\0\0\0\0\0\0\0b.so\0");
                b.extend(vec![0u8; zeros % 9]);
                b.extend(b"unended");
                for is_strings in [false, true] {
                    let mut out = Vec::new();
                    collect_cstrings(&b, is_strings, &mut out);
                    assert_eq!(out, simple(&b, is_strings), "{zeros} {tail} {b:?}");
                }
            }
        }
    }
}
