//! The interface hash of a relocatable object: what a hide list decided
//! for a link depends on, and nothing else. It names the object in the link
//! identity; the object hash (edges, per-section counts) stays the
//! record's business.
//!
//! Covered: machine and class; allocated non-debug sections (name, type,
//! flags, alignment, size, COMDAT signature); non-local symbols (name as
//! spelled, st_info, st_other, place, size). Not covered: relocations, local
//! symbols, symbol values, string and code bytes.
//!
//! [`interface_summary`] computes it without building the object's facts,
//! for Run-2, which must hash every object of the command line before the
//! first one is claimed. `parse_object` computes the same hash in its pass
//! (`ObjectFacts::interface`); both feed [`InterfaceHasher`] the same fields
//! in the same order.

use object::elf;
use object::read::elf::{FileHeader, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{Endianness, LittleEndian, ReadRef, SymbolIndex};

use super::hash::{Hash128, StructHasher};
use super::object::{
    Layout, comdat_groups, is_lto_section, is_table, layout, place_code, symbol_place,
};
use super::types::{
    Binding, LTO_SLIM_MARKER, Lto, SymbolPlace, SymbolType, Visibility, binding_of, symbol_type_of,
    visibility_of,
};
use super::{ElfError, is_debug_section};

/// What identity needs of an object named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceSummary {
    pub hash: Hash128,
    /// LTO IR, fat or slim: an LTO plugin loaded before ldprune's claims
    /// the object, so the plugin never sees it.
    pub lto: Lto,
}

/// The fields of the interface hash, in one order for both producers.
pub(super) struct InterfaceHasher(StructHasher);

impl InterfaceHasher {
    pub(super) fn new(machine: u16, is_64: bool) -> Self {
        let mut h = StructHasher::new(b"ldprune-interface-v1");
        h.u64(u64::from(machine));
        h.u64(u64::from(is_64));
        InterfaceHasher(h)
    }

    /// An allocated non-debug section, in section table order.
    pub(super) fn section(
        &mut self,
        name: &[u8],
        sh_type: u32,
        flags: u64,
        align: u64,
        size: u64,
        group: Option<&[u8]>,
    ) {
        let h = &mut self.0;
        h.bytes(name);
        h.u64(u64::from(sh_type));
        h.u64(flags);
        h.u64(align);
        // A merged string pool's size follows __FILE__ and build paths.
        h.u64(if flags & elf::SHF_STRINGS.0 != 0 {
            0
        } else {
            size
        });
        if let Some(g) = group {
            h.bytes(g);
        }
    }

    /// A non-local symbol, in symbol table order. `place` is [`place_code`].
    pub(super) fn symbol(&mut self, name: &[u8], st_info: u8, st_other: u8, place: u64, size: u64) {
        let h = &mut self.0;
        h.bytes(name);
        h.u64(u64::from(st_info));
        h.u64(u64::from(st_other));
        h.u64(place);
        h.u64(size);
    }

    pub(super) fn finish(&self) -> Hash128 {
        self.0.finish()
    }
}

/// A non-local symbol of an object as the linker reads it: what Run-2
/// reports for the input it claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceSymbol<'data> {
    /// As spelled in the symbol table, versions included (`foo@@V2`).
    pub name: &'data [u8],
    pub binding: Binding,
    pub visibility: Visibility,
    pub kind: SymbolType,
    pub size: u64,
    pub place: SymbolPlace,
    /// The COMDAT signature of the defining section's group.
    pub group: Option<&'data [u8]>,
}

/// The interface hash of the relocatable ELF object in `data`, equal to
/// `parse_object(data)?.interface`.
pub fn interface_summary<'data, R: ReadRef<'data>>(data: R) -> Result<InterfaceSummary, ElfError> {
    summary(data, None)
}

/// The interface hash and the non-local symbols, from the headers, the
/// section table, the symbol table and the groups alone (no code, no data,
/// no relocations: of a large object [`super::sparse::read_symbol_parts`]
/// reads just those).
pub fn interface_symbols<'data, R: ReadRef<'data>>(
    data: R,
) -> Result<(InterfaceSummary, Vec<InterfaceSymbol<'data>>), ElfError> {
    let mut symbols = Vec::new();
    let s = summary(data, Some(&mut symbols))?;
    Ok((s, symbols))
}

fn summary<'data, R: ReadRef<'data>>(
    data: R,
    symbols: Option<&mut Vec<InterfaceSymbol<'data>>>,
) -> Result<InterfaceSummary, ElfError> {
    match layout(data)? {
        Layout::Little64 => summary_as::<elf::FileHeader64<LittleEndian>, R>(data, symbols),
        Layout::Little32 => summary_as::<elf::FileHeader32<LittleEndian>, R>(data, symbols),
        Layout::Any64 => summary_as::<elf::FileHeader64<Endianness>, R>(data, symbols),
        Layout::Any32 => summary_as::<elf::FileHeader32<Endianness>, R>(data, symbols),
    }
}

fn summary_as<'data, Elf, R>(
    data: R,
    mut out: Option<&mut Vec<InterfaceSymbol<'data>>>,
) -> Result<InterfaceSummary, ElfError>
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
    let groups = comdat_groups(&sections, &symtab, endian, data)?;

    let mut hasher = InterfaceHasher::new(header.e_machine(endian).0, header.is_class_64());
    let (mut ir_sections, mut slim_marker) = (false, false);
    // ELF index -> index among the hashed sections (symbol places use it).
    let mut map: Vec<Option<u32>> = vec![None; sections.len()];
    let mut hashed = 0u32;
    for (index, section) in sections.enumerate() {
        let flags = section.sh_flags(endian).0;
        // As parse_object: a table's name is never read (nor checked).
        if flags & elf::SHF_ALLOC.0 == 0 && is_table(section.sh_type(endian)) {
            continue;
        }
        let name = sections.section_name(endian, section)?;
        ir_sections |= is_lto_section(name);
        if flags & elf::SHF_ALLOC.0 == 0 || is_debug_section(name) {
            continue;
        }
        hasher.section(
            name,
            section.sh_type(endian).0,
            flags,
            section.sh_addralign(endian).into(),
            section.sh_size(endian).into(),
            groups.get(index.0).copied().flatten(),
        );
        map[index.0] = Some(hashed);
        hashed += 1;
    }

    let symbols = symtab.symbols();
    for (i, sym) in symbols
        .iter()
        .enumerate()
        .skip(first_non_local(&sections, &symtab, endian))
    {
        if sym.is_local() || sym.st_type() == elf::STT_FILE {
            continue;
        }
        let place = symbol_place(&symtab, sym, SymbolIndex(i), endian, &map)?;
        let name = sym.name(endian, symtab.strings())?;
        slim_marker |= name == LTO_SLIM_MARKER;
        hasher.symbol(
            name,
            sym.st_info().0,
            sym.st_other().0,
            place_code(place),
            sym.st_size(endian).into(),
        );
        if let Some(out) = out.as_deref_mut() {
            let group = match symtab.symbol_section(endian, sym, SymbolIndex(i))? {
                Some(s) => groups.get(s.0).copied().flatten(),
                None => None,
            };
            out.push(InterfaceSymbol {
                name,
                binding: binding_of(sym.st_bind().0),
                visibility: visibility_of(sym.st_other().0),
                kind: symbol_type_of(sym.st_type().0),
                size: sym.st_size(endian).into(),
                place,
                group,
            });
        }
    }
    Ok(InterfaceSummary {
        hash: hasher.finish(),
        lto: Lto::of(ir_sections, slim_marker),
    })
}

/// Where the non-local symbols start: the symbol table's sh_info says so,
/// trusted only when every entry it skips is local indeed (one byte each),
/// so a bogus sh_info cannot drop a symbol from the hash. Never 0: entry 0
/// is the null symbol.
fn first_non_local<'data, Elf, R>(
    sections: &SectionTable<'data, Elf, R>,
    symtab: &SymbolTable<'data, Elf, R>,
    endian: Elf::Endian,
) -> usize
where
    Elf: FileHeader,
    R: ReadRef<'data>,
{
    let Ok(header) = sections.section(symtab.section()) else {
        return 1;
    };
    let info = header.sh_info(endian) as usize;
    match symtab.symbols().get(1..info) {
        Some(skipped) if skipped.iter().all(|s| s.is_local()) => info,
        _ => 1,
    }
}
