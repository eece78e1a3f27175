//! The stub object for linkers that cannot run the plugin (lld, mold): a
//! relocatable ELF file holding only weak undefined STV_HIDDEN references
//! to the names to hide. Put first on the command line, its references
//! make the definitions hidden (the most constraining visibility of a name
//! wins) and --gc-sections drops them. Weak, so no archive member is
//! pulled in for them; written directly, because an assembler drops
//! `.weak` names nothing references. On x86 and AArch64 it also carries
//! the control-flow protection property, with every bit set
//! ([`and_property`]): without it the output lost its IBT/SHSTK or BTI/PAC
//! marking.

const ET_REL: u16 = 1;
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOTE: u32 = 7;
const SHF_ALLOC: u64 = 2;
const NT_GNU_PROPERTY_TYPE_0: u32 = 5;
const EM_386: u16 = 3;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const GNU_PROPERTY_X86_FEATURE_1_AND: u32 = 0xc000_0002;
const GNU_PROPERTY_X86_FEATURE_2_USED: u32 = 0xc001_0001;
const GNU_PROPERTY_X86_ISA_1_USED: u32 = 0xc001_0002;
const GNU_PROPERTY_AARCH64_FEATURE_1_AND: u32 = 0xc000_0000;

/// The GNU properties a linker merges so that an input without them
/// clears them in the output, with the values that leave the other
/// inputs' merge as it is, sorted by type: the control-flow protection
/// bits, ANDed (x86 IBT/SHSTK, AArch64 BTI/PAC: every bit set), and on x86
/// the "used" features and ISA, which ld.bfd ORs but drops when an input
/// lacks them (0). Without them, a Run-2 output of objects built with
/// -fcf-protection or -mbranch-protection lost its marking, silently
/// (ld.bfd, gold, lld and mold alike).
fn and_property(machine: u16) -> &'static [(u32, u32)] {
    match machine {
        EM_386 | EM_X86_64 => &[
            (GNU_PROPERTY_X86_FEATURE_1_AND, u32::MAX),
            (GNU_PROPERTY_X86_FEATURE_2_USED, 0),
            (GNU_PROPERTY_X86_ISA_1_USED, 0),
        ],
        EM_AARCH64 => &[(GNU_PROPERTY_AARCH64_FEATURE_1_AND, u32::MAX)],
        _ => &[],
    }
}
const STB_WEAK: u8 = 2;
const STT_NOTYPE: u8 = 0;
const STV_HIDDEN: u8 = 2;

/// What the stub copies from an object of the link so the linker accepts
/// it next to them: class, byte order, OS ABI, machine and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub elf64: bool,
    pub big_endian: bool,
    pub osabi: u8,
    pub abiversion: u8,
    pub machine: u16,
    pub flags: u32,
}

impl Target {
    /// From the ELF header of a relocatable object (the first bytes).
    pub fn of_object(head: &[u8]) -> Option<Target> {
        if head.len() < 52 || &head[..4] != b"\x7fELF" {
            return None;
        }
        let elf64 = match head[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let big_endian = match head[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        if elf64 && head.len() < 64 {
            return None;
        }
        let u16_at = |o: usize| {
            let b = [head[o], head[o + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_at = |o: usize| {
            let b = [head[o], head[o + 1], head[o + 2], head[o + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        if u16_at(16) != ET_REL {
            return None;
        }
        Some(Target {
            elf64,
            big_endian,
            osabi: head[7],
            abiversion: head[8],
            machine: u16_at(18),
            flags: u32_at(if elf64 { 48 } else { 36 }),
        })
    }
}

/// Little helper writing integers in the target's byte order and size.
struct Out {
    bytes: Vec<u8>,
    t: Target,
}

impl Out {
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn u16(&mut self, v: u16) {
        let b = if self.t.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.t.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = if self.t.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    /// An address-sized field (Elf32_Addr/Off or Elf64_Addr/Off/Xword).
    fn word(&mut self, v: u64) {
        if self.t.elf64 {
            self.u64(v)
        } else {
            self.u32(v as u32)
        }
    }
    fn align(&mut self, to: usize) {
        while !self.bytes.len().is_multiple_of(to) {
            self.bytes.push(0);
        }
    }
}

/// The stub object: one weak undefined hidden reference per name.
pub fn stub_object(t: Target, names: &[&str]) -> Vec<u8> {
    let (ehsize, symsize, shsize) = if t.elf64 { (64, 24, 64) } else { (52, 16, 40) };
    let mut strtab = vec![0u8];
    let mut name_offsets = Vec::with_capacity(names.len());
    for n in names {
        name_offsets.push(strtab.len() as u32);
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
    }
    // Section names; index 0 is the empty name.
    let shstrtab = b"\0.strtab\0.symtab\0.note.GNU-stack\0.shstrtab\0.note.gnu.property\0";
    let (n_strtab, n_symtab, n_note, n_shstrtab, n_property) = (1u32, 9, 17, 33, 43);
    let property = and_property(t.machine);

    let mut o = Out {
        bytes: Vec::with_capacity(ehsize + strtab.len() + (names.len() + 1) * symsize + 512),
        t,
    };
    o.bytes.resize(ehsize, 0); // the header, written last
    let strtab_off = o.bytes.len();
    o.bytes.extend_from_slice(&strtab);
    let shstrtab_off = o.bytes.len();
    o.bytes.extend_from_slice(shstrtab);
    o.align(if t.elf64 { 8 } else { 4 });
    let symtab_off = o.bytes.len();
    // The null symbol, then the references.
    o.bytes.resize(symtab_off + symsize, 0);
    let info = (STB_WEAK << 4) | STT_NOTYPE;
    for &name in &name_offsets {
        o.u32(name);
        if t.elf64 {
            o.u8(info);
            o.u8(STV_HIDDEN);
            o.u16(0); // SHN_UNDEF
            o.u64(0);
            o.u64(0);
        } else {
            o.u32(0);
            o.u32(0);
            o.u8(info);
            o.u8(STV_HIDDEN);
            o.u16(0);
        }
    }
    let symtab_size = o.bytes.len() - symtab_off;
    o.align(if t.elf64 { 8 } else { 4 });
    // One GNU property note: the AND property with every bit set, its
    // descriptor padded to the word size.
    let note_off = o.bytes.len();
    if !property.is_empty() {
        // Each property: type, size 4, value, padded to the word size.
        let each = if t.elf64 { 16 } else { 12 };
        o.u32(4); // namesz
        o.u32((each * property.len()) as u32);
        o.u32(NT_GNU_PROPERTY_TYPE_0);
        o.bytes.extend_from_slice(b"GNU\0");
        for &(kind, value) in property {
            o.u32(kind);
            o.u32(4); // pr_datasz
            o.u32(value);
            o.align(if t.elf64 { 8 } else { 4 });
        }
    }
    let note_size = o.bytes.len() - note_off;
    let shoff = o.bytes.len();
    // [0] null
    o.bytes.resize(shoff + shsize, 0);
    let section = |o: &mut Out, name, kind, off: usize, size: usize, link, info, align, entsize| {
        o.u32(name);
        o.u32(kind);
        o.word(if kind == SHT_NOTE { SHF_ALLOC } else { 0 });
        o.word(0); // addr
        o.word(off as u64);
        o.word(size as u64);
        o.u32(link);
        o.u32(info);
        o.word(align);
        o.word(entsize);
    };
    // [1] .strtab, [2] .symtab (all entries after the null one are global),
    // [3] .note.GNU-stack (no executable stack), [4] .shstrtab.
    section(
        &mut o,
        n_strtab,
        SHT_STRTAB,
        strtab_off,
        strtab.len(),
        0,
        0,
        1,
        0,
    );
    let word = if t.elf64 { 8 } else { 4 };
    section(
        &mut o,
        n_symtab,
        SHT_SYMTAB,
        symtab_off,
        symtab_size,
        1,
        1,
        word,
        symsize as u64,
    );
    section(&mut o, n_note, SHT_PROGBITS, shstrtab_off, 0, 0, 0, 1, 0);
    section(
        &mut o,
        n_shstrtab,
        SHT_STRTAB,
        shstrtab_off,
        shstrtab.len(),
        0,
        0,
        1,
        0,
    );
    // [5] .note.gnu.property, for the machines that have the property.
    if !property.is_empty() {
        section(
            &mut o, n_property, SHT_NOTE, note_off, note_size, 0, 0, word, 0,
        );
    }

    let mut h = Out {
        bytes: Vec::with_capacity(ehsize),
        t,
    };
    h.bytes.extend_from_slice(b"\x7fELF");
    h.u8(if t.elf64 { 2 } else { 1 });
    h.u8(if t.big_endian { 2 } else { 1 });
    h.u8(1); // EV_CURRENT
    h.u8(t.osabi);
    h.u8(t.abiversion);
    h.bytes.resize(16, 0);
    h.u16(ET_REL);
    h.u16(t.machine);
    h.u32(1);
    h.word(0); // entry
    h.word(0); // phoff
    h.word(shoff as u64);
    h.u32(t.flags);
    h.u16(ehsize as u16);
    h.u16(0); // phentsize
    h.u16(0); // phnum
    h.u16(shsize as u16);
    h.u16(if property.is_empty() { 5 } else { 6 }); // shnum
    h.u16(4); // shstrndx
    o.bytes[..ehsize].copy_from_slice(&h.bytes);
    o.bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSymbol};

    fn x86_64() -> Target {
        Target {
            elf64: true,
            big_endian: false,
            osabi: 0,
            abiversion: 0,
            machine: 62,
            flags: 0,
        }
    }

    #[test]
    fn readable_weak_hidden_undefined() {
        for t in [
            x86_64(),
            Target {
                elf64: false,
                machine: 3,
                ..x86_64()
            },
            Target {
                big_endian: true,
                machine: 21,
                ..x86_64()
            },
        ] {
            let bytes = stub_object(t, &["alpha", "beta_2"]);
            let file = object::File::parse(&bytes[..]).unwrap();
            let syms: Vec<_> = file.symbols().collect();
            assert_eq!(syms.len(), 2, "{t:?}");
            for (s, want) in syms.iter().zip(["alpha", "beta_2"]) {
                assert_eq!(s.name().unwrap(), want);
                assert!(s.is_undefined() && s.is_weak());
                assert!(s.is_global());
            }
            let elf = &bytes[..];
            assert_eq!(Target::of_object(elf), Some(t));
        }
    }

    #[test]
    fn hidden_visibility_is_set() {
        let bytes = stub_object(x86_64(), &["f"]);
        // The second symbol entry's st_other (offset 5 within the entry).
        let file = object::File::parse(&bytes[..]).unwrap();
        let sym = file.symbols().next().unwrap();
        let object::SymbolFlags::Elf { st_other, st_info } = sym.flags() else {
            panic!("not ELF flags")
        };
        let info = st_info.0;
        let other = st_other.0;
        assert_eq!((other & 3, info >> 4), (STV_HIDDEN, STB_WEAK));
    }

    #[test]
    fn property_note_for_x86_and_aarch64_only() {
        use object::{Object, ObjectSection};
        for (t, want) in [
            (x86_64(), Some(GNU_PROPERTY_X86_FEATURE_1_AND)),
            (
                Target {
                    elf64: false,
                    machine: EM_386,
                    ..x86_64()
                },
                Some(GNU_PROPERTY_X86_FEATURE_1_AND),
            ),
            (
                Target {
                    machine: EM_AARCH64,
                    ..x86_64()
                },
                Some(GNU_PROPERTY_AARCH64_FEATURE_1_AND),
            ),
            (
                Target {
                    big_endian: true,
                    machine: 21,
                    ..x86_64()
                },
                None,
            ),
        ] {
            let bytes = stub_object(t, &["f"]);
            let file = object::File::parse(&bytes[..]).unwrap();
            let note = file.section_by_name(".note.gnu.property");
            let Some(kind) = want else {
                assert!(note.is_none(), "{t:?}");
                continue;
            };
            let data = note.unwrap().data().unwrap();
            let word = |i: usize| u32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
            // namesz, descsz, type, "GNU\0", pr_type, pr_datasz, pr_data
            let each = if t.elf64 { 16 } else { 12 };
            let count = and_property(t.machine).len();
            let desc = each * count;
            assert_eq!(
                (word(0), word(1), word(2)),
                (4, desc as u32, NT_GNU_PROPERTY_TYPE_0)
            );
            assert_eq!(&data[12..16], b"GNU\0");
            // The AND property first, every bit set; x86's "used" ones 0.
            assert_eq!((word(4), word(5), word(6)), (kind, 4, u32::MAX), "{t:?}");
            for i in 1..count {
                let at = 4 + i * each / 4;
                assert_eq!((word(at + 1), word(at + 2)), (4, 0), "{t:?}");
            }
            assert_eq!(data.len(), 16 + desc);
        }
    }

    #[test]
    fn no_names_is_still_valid() {
        let bytes = stub_object(x86_64(), &[]);
        assert!(object::File::parse(&bytes[..]).is_ok());
        assert_eq!(Target::of_object(b"\x7fELF"), None);
    }
}
