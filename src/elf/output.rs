//! Facts from a finished link output: its type, SONAME, DT_NEEDED, library
//! search paths, version nodes and the dynamic symbols it exports and
//! imports, with their versions.

use object::elf;
use object::read::elf::{Dyn, FileHeader, Rel, Rela, SectionHeader, SectionTable, Sym};
use object::{Endianness, ReadRef, SymbolIndex};
use serde::{Deserialize, Serialize};

use super::ElfError;
use super::types::{Binding, SymbolType, binding_of, symbol_type_of};

/// One entry of `.dynsym`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DynSymbol {
    pub name: String,
    /// Version node, if any (`GLIBC_2.2.5`, `V2`).
    pub version: Option<String>,
    /// For a definition: the version is a non-default one (`foo@V1`, not `foo@@V2`).
    pub hidden_version: bool,
    /// For an import: the file the version requirement names (verneed).
    pub version_file: Option<String>,
    pub kind: SymbolType,
    pub binding: Binding,
}

impl DynSymbol {
    /// `name`, `name@V` or `name@@V`, as tools print it.
    pub fn spelled(&self) -> String {
        match &self.version {
            None => self.name.clone(),
            Some(v) if self.hidden_version => format!("{}@{}", self.name, v),
            Some(v) => format!("{}@@{}", self.name, v),
        }
    }
}

/// Bytes of the output's allocated sections, by kind. Dynamic-linking
/// tables are counted apart: they shrink with the export list, which the
/// merge's section-based prediction does not model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSizes {
    /// Executable sections.
    pub text: u64,
    /// Initialised and read-only data, unwind tables, init arrays.
    pub data: u64,
    /// Zero-initialised data (no file bytes).
    pub bss: u64,
    /// .dynsym, .dynstr, hash tables, symbol versions, dynamic relocations.
    pub dynamic: u64,
}

impl OutputSizes {
    /// All allocated bytes that take room in the file.
    pub fn file_bytes(&self) -> u64 {
        self.text
            .saturating_add(self.data)
            .saturating_add(self.dynamic)
    }

    fn add(&mut self, name: &[u8], sh_type: elf::SectionType, executable: bool, size: u64) {
        let dynamic = is_dynamic_table(name, sh_type);
        // Sizes come from the section headers: a damaged file can make
        // them sum past u64 (found by tests/fuzz.rs).
        let slot = if dynamic {
            &mut self.dynamic
        } else if sh_type == elf::SHT_NOBITS {
            &mut self.bss
        } else if executable {
            &mut self.text
        } else {
            &mut self.data
        };
        *slot = slot.saturating_add(size);
    }
}

/// The tables that shrink with the export list: .dynsym, .dynstr, hash
/// tables, symbol versions, dynamic relocations other than the PLT's.
fn is_dynamic_table(name: &[u8], sh_type: elf::SectionType) -> bool {
    matches!(
        sh_type,
        elf::SHT_DYNSYM
            | elf::SHT_GNU_HASH
            | elf::SHT_HASH
            | elf::SHT_GNU_VERSYM
            | elf::SHT_GNU_VERDEF
            | elf::SHT_GNU_VERNEED
    ) || name == b".dynstr"
        || ((sh_type == elf::SHT_RELA || sh_type == elf::SHT_REL)
            && name != b".rela.plt"
            && name != b".rel.plt")
}

/// Where the output's allocated bytes lie in the file, and the slots of its
/// own exports: what `ldprune report` needs to predict Run-2's sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Allocated sections in file order, cut where the linker pads the file
    /// to a page (ld.bfd's -z separate-code): what shrinks in one run
    /// moves the next run to the next page boundary, not byte for byte.
    pub runs: Vec<Run>,
    /// Exports the output's own PLT calls (R_*_JUMP_SLOT against a name it
    /// defines): calls the library makes to its own interposable exports.
    /// Each slot goes once the name is hidden.
    pub plt_exports: Vec<String>,
    /// Exports the output's own GOT holds (R_*_GLOB_DAT against a name it
    /// defines); each entry goes once the name is hidden.
    pub got_exports: Vec<String>,
    /// Imports the output's PLT calls, and those its GOT holds: a slot goes
    /// when every reference to the name was in code or data that goes.
    pub plt_imports: Vec<String>,
    pub got_imports: Vec<String>,
    /// Bytes of .gnu.hash: its buckets and Bloom filter shrink with the
    /// number of names it hashes.
    pub gnu_hash: u64,
}

/// A stretch of allocated sections without page padding inside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub start: u64,
    pub end: u64,
    /// It starts at a page boundary the linker padded up to.
    pub padded: bool,
    /// Which kinds of bytes it holds ([`Run::TEXT`] and the others).
    pub kinds: u8,
    /// Bytes from its start to the end of its RELRO part when that end is
    /// on a page boundary (0: none): ld.bfd places the writable segment so
    /// that it is, whatever the padding before it.
    pub relro: u64,
}

impl Run {
    pub const DYNAMIC: u8 = 1;
    pub const TEXT: u8 = 2;
    pub const READ_ONLY: u8 = 4;
    pub const WRITABLE: u8 = 8;
    pub const PAGE: u64 = 4096;
}

/// What the dynamic loader checks before it uses a library: class, byte
/// order and machine must all be those of the program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Abi {
    pub class: u8,
    pub data: u8,
    pub machine: u16,
}

impl Abi {
    /// The machine's usual name (`AArch64`), else its e_machine number.
    pub fn machine_name(&self) -> String {
        let name = match elf::Machine(self.machine) {
            elf::EM_X86_64 => "x86-64",
            elf::EM_386 => "i386",
            elf::EM_AARCH64 => "AArch64",
            elf::EM_ARM => "ARM",
            elf::EM_RISCV => "RISC-V",
            elf::EM_PPC64 => "PowerPC64",
            elf::EM_PPC => "PowerPC",
            elf::EM_S390 => "S/390",
            elf::EM_MIPS => "MIPS",
            elf::EM_LOONGARCH => "LoongArch",
            _ => return format!("e_machine {}", self.machine),
        };
        name.to_string()
    }
}

/// `ARM (32-bit, little-endian)`.
impl std::fmt::Display for Abi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = if self.class == elf::ELFCLASS64.0 {
            64
        } else {
            32
        };
        let order = if self.data == elf::ELFDATA2MSB.0 {
            "big"
        } else {
            "little"
        };
        write!(f, "{} ({bits}-bit, {order}-endian)", self.machine_name())
    }
}

/// One version requirement (verneed): `file` must define `version`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VersionNeed {
    pub file: String,
    pub version: String,
    /// VER_FLG_WEAK: the loader only warns when it is missing.
    pub weak: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputFacts {
    /// ELF e_type: 1 REL, 2 EXEC, 3 DYN.
    pub e_type: u16,
    pub abi: Abi,
    /// Has a program interpreter (`.interp`): a program, PIE or not, rather
    /// than only a library.
    pub has_interp: bool,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// DT_RUNPATH and DT_RPATH as written (colon-separated, `$ORIGIN` unexpanded).
    pub runpath: Option<String>,
    pub rpath: Option<String>,
    /// The version nodes this file defines (verdef), without the base
    /// entry that only repeats the SONAME.
    pub version_defs: Vec<String>,
    /// The version nodes this file requires of its libraries (verneed).
    pub version_needs: Vec<VersionNeed>,
    pub exports: Vec<DynSymbol>,
    pub imports: Vec<DynSymbol>,
    /// Imports no dynamic relocation refers to: the loader never looks them
    /// up (mold keeps the imports of sections --gc-sections dropped).
    pub unrelocated_imports: Vec<DynSymbol>,
    /// Definitions that are a program's copy of a library's variable (the
    /// target of an R_*_COPY relocation): also in `exports`, since other
    /// libraries bind to the copy, but the loader fills each from a
    /// definition in a library, so they are imports too.
    pub copy_imports: Vec<DynSymbol>,
    /// The GNU build-id note, which stays when the file is stripped or
    /// installed: it ties an installed file to its link.
    pub build_id: Option<Vec<u8>>,
    pub sizes: OutputSizes,
    pub layout: Layout,
}

/// The facts of a finished output, each list sorted by name
/// ([`OutputFacts::sort`]).
pub fn parse_output<'data, R: ReadRef<'data>>(data: R) -> Result<OutputFacts, ElfError> {
    let mut facts = parse_output_as_listed(data)?;
    facts.sort();
    Ok(facts)
}

/// The facts of a finished output with its symbols in `.dynsym` order:
/// Run-1 records them so and the records' readers sort them
/// (`LinkRecord::sort_lists`), out of the link.
pub fn parse_output_as_listed<'data, R: ReadRef<'data>>(data: R) -> Result<OutputFacts, ElfError> {
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|_| ElfError::new("file too short for an ELF header"))?;
    if ident[..4] != *b"\x7fELF" {
        return Err(ElfError::new("not an ELF file"));
    }
    match ident[4] {
        c if c == elf::ELFCLASS64.0 => parse_as::<elf::FileHeader64<Endianness>, R>(data),
        c if c == elf::ELFCLASS32.0 => parse_as::<elf::FileHeader32<Endianness>, R>(data),
        c => Err(ElfError::new(format!("unknown ELF class {c}"))),
    }
}

fn parse_as<'data, Elf, R>(data: R) -> Result<OutputFacts, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, data)?;
    let ident = header.e_ident();
    let mut facts = OutputFacts {
        e_type: header.e_type(endian).0,
        abi: Abi {
            class: ident.class.0,
            data: ident.data.0,
            machine: header.e_machine(endian).0,
        },
        ..OutputFacts::default()
    };

    if let Some((dynamic, strings_index)) = sections.dynamic(endian, data)? {
        let strings = sections.strings(endian, data, strings_index)?;
        for d in dynamic {
            let tag = d.d_tag(endian);
            let string = || -> Result<String, ElfError> {
                Ok(String::from_utf8_lossy(d.string(endian, strings)?).into_owned())
            };
            if tag == elf::DT_NEEDED {
                facts.needed.push(string()?);
            } else if tag == elf::DT_SONAME {
                facts.soname = Some(string()?);
            } else if tag == elf::DT_RUNPATH {
                facts.runpath = Some(string()?);
            } else if tag == elf::DT_RPATH {
                facts.rpath = Some(string()?);
            }
        }
    }

    let mut placed: Vec<(u64, u64, u8)> = Vec::new();
    let word = if header.is_class_64() { 8 } else { 4 };
    for section in sections.iter() {
        let name = sections.section_name(endian, section).unwrap_or_default();
        if name == b".interp" {
            facts.has_interp = true;
        }
        let flags = section.sh_flags(endian).0;
        if flags & elf::SHF_ALLOC.0 != 0 {
            let exec = flags & elf::SHF_EXECINSTR.0 != 0;
            let (sh_type, size) = (section.sh_type(endian), section.sh_size(endian).into());
            facts.sizes.add(name, sh_type, exec, size);
            if sh_type == elf::SHT_GNU_HASH {
                facts.layout.gnu_hash = size;
            }
            if sh_type != elf::SHT_NOBITS {
                let kind = if is_dynamic_table(name, sh_type)
                    || name == b".rela.plt"
                    || name == b".rel.plt"
                {
                    Run::DYNAMIC
                } else if exec {
                    Run::TEXT
                } else if flags & elf::SHF_WRITE.0 != 0 {
                    Run::WRITABLE
                } else {
                    Run::READ_ONLY
                };
                let offset: u64 = section.sh_offset(endian).into();
                // RELRO ends 3 words into .got.plt (lazy binding): the
                // linker puts that point on a page boundary.
                let end = if name == b".got.plt" && (offset + 3 * word).is_multiple_of(Run::PAGE) {
                    (3 * word).min(size)
                } else {
                    size
                };
                placed.push((offset, end, kind));
                if end < size {
                    placed.push((offset + end, size - end, kind));
                }
            }
        }
        if let Some(mut notes) = section.notes(endian, data)? {
            while let Some(note) = notes.next()? {
                if note.name() == b"GNU" && note.n_type(endian) == elf::NT_GNU_BUILD_ID {
                    facts.build_id = Some(note.desc().to_vec());
                }
            }
        }
    }

    facts.layout.runs = runs(placed);

    let dynsym = sections.symbols(endian, data, elf::SHT_DYNSYM)?;
    let versions = sections.versions(endian, data)?;
    let relocated = relocated_symbols(
        &sections,
        endian,
        data,
        (dynsym.section(), dynsym.len()),
        header.is_mips64el(endian),
        copy_relocation(header.e_machine(endian)),
        slot_relocations(header.e_machine(endian)),
    )?;
    for (index, sym) in dynsym.enumerate() {
        if index.0 == 0 || sym.is_local() {
            continue;
        }
        let name = String::from_utf8_lossy(sym.name(endian, dynsym.strings())?).into_owned();
        let (version, hidden_version, version_file) = match &versions {
            Some(table) => {
                let vi = table.version_index(endian, SymbolIndex(index.0));
                match table.version(vi.index())? {
                    Some(v) => (
                        Some(String::from_utf8_lossy(v.name()).into_owned()),
                        vi.is_hidden(),
                        v.file().map(|f| String::from_utf8_lossy(f).into_owned()),
                    ),
                    None => (None, false, None),
                }
            }
            None => (None, false, None),
        };
        let defined = sym.st_shndx(endian) != elf::SHN_UNDEF;
        let visible = matches!(sym.st_visibility(), elf::STV_DEFAULT | elf::STV_PROTECTED);
        let entry = DynSymbol {
            name,
            version,
            hidden_version,
            version_file,
            kind: symbol_type_of(sym.st_type().0),
            binding: binding_of(sym.st_bind().0),
        };
        // bfd writes each version definition as an absolute symbol of that name.
        let version_marker = sym.st_shndx(endian) == elf::SHN_ABS
            && entry.version.as_deref() == Some(entry.name.as_str());
        if !defined {
            // Pushed as met: [`OutputFacts::sort`] orders the lists.
            if relocated.has(index.0, Relocated::PLT) {
                facts.layout.plt_imports.push(entry.name.clone());
            }
            if relocated.has(index.0, Relocated::GOT) {
                facts.layout.got_imports.push(entry.name.clone());
            }
            if !relocated.has(index.0, Relocated::USED) {
                facts.unrelocated_imports.push(entry.clone());
            }
            facts.imports.push(entry);
        } else if visible && sym.st_type() != elf::STT_SECTION && !version_marker {
            if relocated.has(index.0, Relocated::COPIED) {
                facts.copy_imports.push(entry.clone());
            }
            if relocated.has(index.0, Relocated::PLT) {
                facts.layout.plt_exports.push(entry.name.clone());
            }
            if relocated.has(index.0, Relocated::GOT) {
                facts.layout.got_exports.push(entry.name.clone());
            }
            facts.exports.push(entry);
        }
    }
    read_version_nodes(&sections, endian, data, &mut facts)?;
    Ok(facts)
}

impl OutputFacts {
    /// Sorts its symbol lists by name, and its PLT and GOT name lists
    /// without repeats: the order readers expect. Lists already in order
    /// are only checked.
    pub fn sort(&mut self) {
        sort_symbols(&mut self.exports);
        sort_symbols(&mut self.copy_imports);
        sort_symbols(&mut self.imports);
        sort_symbols(&mut self.unrelocated_imports);
        self.layout.sort();
    }
}

impl Layout {
    /// Sorts the PLT and GOT name lists and drops repeats.
    pub fn sort(&mut self) {
        for names in [
            &mut self.plt_exports,
            &mut self.got_exports,
            &mut self.plt_imports,
            &mut self.got_imports,
        ] {
            if !names.is_sorted_by(|a, b| a < b) {
                names.sort_unstable();
                names.dedup();
            }
        }
    }
}

/// Sorts dynamic symbols into their `Ord` order (name first) unless they
/// are in it. Unstable: entries that compare equal are equal in every
/// field, and a stable sort of 7,000 exports cost 8M instructions.
pub fn sort_symbols(symbols: &mut Vec<DynSymbol>) {
    if !symbols.is_sorted() {
        sort_by_name(symbols, |e| e.name.as_bytes());
    }
}

/// Sorts `items` into their `Ord` order, whose first key must be `name`.
/// Each comparison first
/// compares the names' first 16 bytes as one integer, and the elements
/// move once, at the end: comparing and moving 7,200 exports with their
/// `String`s cost 11.7M instructions in a Run-1 link.
pub fn sort_by_name<T: Ord>(items: &mut Vec<T>, name: impl for<'a> Fn(&'a T) -> &'a [u8]) {
    // Zero-padded and big-endian: a smaller prefix means a smaller name
    // (padding is the least byte); equal prefixes fall back to `Ord`.
    let prefix = |b: &[u8]| {
        let mut p = [0u8; 16];
        let n = b.len().min(16);
        p[..n].copy_from_slice(&b[..n]);
        u128::from_be_bytes(p)
    };
    let mut order: Vec<(u128, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (prefix(name(t)), i as u32))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| items[a.1 as usize].cmp(&items[b.1 as usize]))
    });
    let mut slots: Vec<Option<T>> = std::mem::take(items).into_iter().map(Some).collect();
    items.extend(
        order
            .iter()
            .filter_map(|&(_, i)| slots.get_mut(i as usize).and_then(Option::take)),
    );
}

/// Allocated sections (file offset, size, kind) cut into runs at the page
/// boundaries the linker padded up to.
fn runs(mut placed: Vec<(u64, u64, u8)>) -> Vec<Run> {
    placed.sort_unstable();
    let mut out: Vec<Run> = Vec::new();
    for (offset, size, kind) in placed {
        let end = offset.saturating_add(size);
        match out.last_mut() {
            // The writable segment starts a run of its own: where it starts
            // follows its RELRO part, not the bytes before it.
            Some(last)
                if (offset % Run::PAGE != 0 || offset <= last.end)
                    && !(kind == Run::WRITABLE && last.kinds & Run::WRITABLE == 0) =>
            {
                last.end = last.end.max(end);
                last.kinds |= kind;
                if kind == Run::WRITABLE
                    && last.relro == 0
                    && last.start % Run::PAGE != 0
                    && end.is_multiple_of(Run::PAGE)
                {
                    last.relro = end - last.start;
                }
            }
            last => {
                let padded =
                    last.is_some() && offset % Run::PAGE == 0 && offset > last.map_or(0, |l| l.end);
                out.push(Run {
                    start: offset,
                    end,
                    padded,
                    kinds: kind,
                    relro: 0,
                });
            }
        }
    }
    out
}

/// The R_*_JUMP_SLOT and R_*_GLOB_DAT relocation types of a machine.
fn slot_relocations(machine: elf::Machine) -> Option<(elf::RelocationType, elf::RelocationType)> {
    Some(match machine {
        elf::EM_X86_64 => (elf::R_X86_64_JUMP_SLOT, elf::R_X86_64_GLOB_DAT),
        elf::EM_386 => (elf::R_386_JMP_SLOT, elf::R_386_GLOB_DAT),
        elf::EM_AARCH64 => (elf::R_AARCH64_JUMP_SLOT, elf::R_AARCH64_GLOB_DAT),
        elf::EM_ARM => (elf::R_ARM_JUMP_SLOT, elf::R_ARM_GLOB_DAT),
        _ => return None,
    })
}

/// The R_*_COPY relocation type of a machine, for those that have one.
fn copy_relocation(machine: elf::Machine) -> Option<elf::RelocationType> {
    Some(match machine {
        elf::EM_X86_64 => elf::R_X86_64_COPY,
        elf::EM_386 => elf::R_386_COPY,
        elf::EM_AARCH64 => elf::R_AARCH64_COPY,
        elf::EM_ARM => elf::R_ARM_COPY,
        elf::EM_PPC | elf::EM_PPC64 => elf::R_PPC_COPY,
        elf::EM_RISCV => elf::R_RISCV_COPY,
        elf::EM_LOONGARCH => elf::R_LARCH_COPY,
        elf::EM_S390 => elf::R_390_COPY,
        elf::EM_SPARC | elf::EM_SPARC32PLUS | elf::EM_SPARCV9 => elf::R_SPARC_COPY,
        elf::EM_MIPS => elf::R_MIPS_COPY,
        elf::EM_68K => elf::R_68K_COPY,
        elf::EM_SH => elf::R_SH_COPY,
        _ => return None,
    })
}

/// How the allocated (dynamic) relocation sections use each .dynsym
/// entry: flags by symbol index (hash sets of the indexes cost 3M
/// instructions for 7,200 exports).
struct Relocated(Vec<u8>);

impl Relocated {
    /// Named by any relocation.
    const USED: u8 = 1;
    /// By an R_*_COPY relocation.
    const COPIED: u8 = 2;
    /// By R_*_JUMP_SLOT and R_*_GLOB_DAT relocations.
    const PLT: u8 = 4;
    const GOT: u8 = 8;

    fn has(&self, index: usize, flag: u8) -> bool {
        self.0.get(index).is_some_and(|f| f & flag != 0)
    }
}

fn relocated_symbols<'data, Elf, R>(
    sections: &SectionTable<'data, Elf, R>,
    endian: Endianness,
    data: R,
    // The .dynsym section and its number of entries.
    (dynsym, symbols): (object::SectionIndex, usize),
    mips64el: bool,
    copy: Option<elf::RelocationType>,
    slots: Option<(elf::RelocationType, elf::RelocationType)>,
) -> Result<Relocated, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let mut found = Relocated(vec![0; symbols]);
    let mut add = |sym: u32, r_type: elf::RelocationType| {
        // An index past .dynsym names no entry: nothing to mark.
        let Some(flags) = found.0.get_mut(sym as usize) else {
            return;
        };
        *flags |= Relocated::USED;
        if Some(r_type) == copy {
            *flags |= Relocated::COPIED;
        }
        if let Some((plt, got)) = slots {
            if r_type == plt {
                *flags |= Relocated::PLT;
            } else if r_type == got {
                *flags |= Relocated::GOT;
            }
        }
    };
    for section in sections.iter() {
        if section.sh_flags(endian).0 & elf::SHF_ALLOC.0 == 0 {
            continue;
        }
        if let Some((rels, link)) = section.rel(endian, data)?
            && link == dynsym
        {
            for r in rels {
                add(r.r_sym(endian), r.r_type(endian));
            }
        }
        if let Some((relas, link)) = section.rela(endian, data)?
            && link == dynsym
        {
            for r in relas {
                add(r.r_sym(endian, mips64el), r.r_type(endian, mips64el));
            }
        }
    }
    Ok(found)
}

/// The names of verdef and verneed entries: what a file provides and
/// requires as a whole, whether or not a symbol names the version.
fn read_version_nodes<'data, Elf, R>(
    sections: &SectionTable<'data, Elf, R>,
    endian: Endianness,
    data: R,
    facts: &mut OutputFacts,
) -> Result<(), ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if let Some((mut defs, link)) = sections.gnu_verdef(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
        while let Some((def, mut aux)) = defs.next()? {
            if def.vd_flags.get(endian).contains(elf::VER_FLG_BASE) {
                continue;
            }
            // The first aux entry names the node; the others its parents.
            if let Some(name) = aux.next()? {
                facts.version_defs.push(text(name.name(endian, strings)?));
            }
        }
    }
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? {
        let strings = sections.strings(endian, data, link)?;
        while let Some((need, mut aux)) = needs.next()? {
            let file = text(need.file(endian, strings)?);
            while let Some(a) = aux.next()? {
                facts.version_needs.push(VersionNeed {
                    file: file.clone(),
                    version: text(a.name(endian, strings)?),
                    weak: a.vna_flags.get(endian).contains(elf::VER_FLG_WEAK),
                });
            }
        }
    }
    facts.version_defs.sort();
    facts.version_defs.dedup();
    facts.version_needs.sort();
    facts.version_needs.dedup();
    Ok(())
}

/// A cheap check that a file is a complete ELF output of the given type:
/// the header, the section header table and the section names parse.
/// (A failed ld.bfd link leaves a file whose header was never written.)
pub fn looks_complete<'data, R: ReadRef<'data>>(data: R, e_type: u16) -> bool {
    fn check<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(
        data: R,
        e_type: u16,
    ) -> Option<()> {
        let header = Elf::parse(data).ok()?;
        let endian = header.endian().ok()?;
        (header.e_type(endian).0 == e_type).then_some(())?;
        let sections = header.sections(endian, data).ok()?;
        (!sections.is_empty()).then_some(())?;
        for s in sections.iter() {
            sections.section_name(endian, s).ok()?;
            let _ = s.sh_type(endian);
        }
        Some(())
    }
    let Ok(ident) = data.read_bytes_at(0, 16) else {
        return false;
    };
    match ident[4] {
        c if c == elf::ELFCLASS64.0 => {
            check::<elf::FileHeader64<Endianness>, R>(data, e_type).is_some()
        }
        c if c == elf::ELFCLASS32.0 => {
            check::<elf::FileHeader32<Endianness>, R>(data, e_type).is_some()
        }
        _ => false,
    }
}

/// The C strings of a finished output that could name a symbol (dlsym) or
/// a shared object (dlopen), by the rule of [`super::object::is_candidate_name`]
/// for relocatable inputs, applied to the output's read-only data (without
/// unwind tables). The linker merges string sections and shares tails
/// (`"foo"` may be the end of `"prefix_foo"`), so every suffix of a run that
/// is a candidate counts too: more names, never fewer. A file without
/// section headers is read whole.
pub fn read_only_strings<'data, R: ReadRef<'data>>(data: R) -> Result<Vec<String>, ElfError> {
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|_| ElfError::new("file too short for an ELF header"))?;
    if ident[..4] != *b"\x7fELF" {
        return Err(ElfError::new("not an ELF file"));
    }
    let mut out = Vec::new();
    match ident[4] {
        c if c == elf::ELFCLASS64.0 => {
            strings_as::<elf::FileHeader64<Endianness>, R>(data, &mut out)?
        }
        c if c == elf::ELFCLASS32.0 => {
            strings_as::<elf::FileHeader32<Endianness>, R>(data, &mut out)?
        }
        c => return Err(ElfError::new(format!("unknown ELF class {c}"))),
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn strings_as<'data, Elf, R>(data: R, out: &mut Vec<String>) -> Result<(), ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, data)?;
    if sections.is_empty() {
        let len = data
            .len()
            .map_err(|_| ElfError::new("cannot read the file"))?;
        let all = data
            .read_bytes_at(0, len)
            .map_err(|_| ElfError::new("cannot read the file"))?;
        candidate_tails(all, out);
        return Ok(());
    }
    for section in sections.iter() {
        let flags = section.sh_flags(endian).0;
        let name = sections.section_name(endian, section).unwrap_or_default();
        let read_only = section.sh_type(endian) == elf::SHT_PROGBITS
            && flags & elf::SHF_ALLOC.0 != 0
            && flags & (elf::SHF_WRITE.0 | elf::SHF_EXECINSTR.0) == 0;
        if read_only && !is_unwind_data(name) {
            candidate_tails(section.data(endian, data)?, out);
        }
    }
    Ok(())
}

/// Unwind tables: binary, never a name (.eh_frame, the LSDAs, ARM's extab).
fn is_unwind_data(name: &[u8]) -> bool {
    name.starts_with(b".eh_frame")
        || name.starts_with(b".gcc_except_table")
        || name.starts_with(b".ARM.extab")
}

/// Every NUL-terminated run's suffixes that are candidate names.
fn candidate_tails(bytes: &[u8], out: &mut Vec<String>) {
    let name_byte = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'@' | b'/' | b'-' | b'+')
    };
    // Bytes after the last NUL are not a C string.
    let end = bytes.iter().rposition(|&b| b == 0).map_or(0, |p| p + 1);
    for run in bytes[..end].split(|&b| b == 0) {
        // The longest tail that can hold a name.
        let start = run
            .iter()
            .rposition(|&b| !name_byte(b))
            .map_or(0, |p| p + 1);
        let tail = &run[start..];
        for i in 0..tail.len() {
            let s = &tail[i..];
            if s.len() >= 2 && super::object::is_candidate_name(s) {
                out.push(String::from_utf8_lossy(s).into_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{candidate_tails, sort_by_name};

    #[test]
    fn sort_by_name_is_ord() {
        // Names sharing 16 bytes, prefixes of each other, bytes above 0x7f,
        // equal names ordered by later fields.
        let mut v: Vec<(String, u32)> = [
            ("abcdefghijklmnopq", 2),
            ("abcdefghijklmnop", 1),
            ("abcdefghijklmnopa", 0),
            ("b", 0),
            ("a", 3),
            ("a", 1),
            ("\u{e9}t\u{e9}", 0),
            ("", 0),
            ("ab", 0),
        ]
        .iter()
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
        let mut want = v.clone();
        want.sort();
        sort_by_name(&mut v, |e| e.0.as_bytes());
        assert_eq!(v, want);
    }

    #[test]
    fn tails_of_merged_strings_count() {
        let mut out = Vec::new();
        candidate_tails(
            b"\x01\x02say base_looked\0%s_struct\0libx.so.1\0tail",
            &mut out,
        );
        for want in [
            "base_looked",
            "looked",
            "ooked",
            "_struct",
            "libx.so.1",
            "x.so.1",
        ] {
            assert!(out.iter().any(|s| s == want), "{want} in {out:?}");
        }
        assert!(
            !out.iter()
                .any(|s| s == "tail" || s.contains('%') || s.contains(' '))
        );
    }
}
