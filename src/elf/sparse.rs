//! Reads only the parts of a finished output that [`super::output`] needs:
//! the ELF and section headers, section names, notes (build-id) and the
//! dynamic linking sections. They land at their file offsets in a buffer the size of the
//! file whose other pages are never touched (a large zeroed allocation is
//! mapped lazily), so a 100 MB executable costs a few page reads.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, SectionIndex};

pub fn read_dynamic_parts(file: &File) -> io::Result<Vec<u8>> {
    let len =
        usize::try_from(file.metadata()?.len()).map_err(|_| io::Error::other("file too large"))?;
    let mut buf = vec![0u8; len];
    let head = len.min(64);
    file.read_exact_at(&mut buf[..head], 0)?;
    if buf.len() < 64 || buf[..4] != *b"\x7fELF" {
        return Ok(buf);
    }
    if buf[4] == elf::ELFCLASS64.0 {
        fill::<elf::FileHeader64<Endianness>>(file, &mut buf)?;
    } else {
        fill::<elf::FileHeader32<Endianness>>(file, &mut buf)?;
    }
    Ok(buf)
}

fn read_range(file: &File, buf: &mut [u8], offset: u64, size: u64) -> io::Result<()> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
    match buf.get_mut(start..end) {
        Some(range) => file.read_exact_at(range, offset),
        None => Ok(()), // out of bounds: the parser reports the damage
    }
}

fn fill<Elf: FileHeader<Endian = Endianness>>(file: &File, buf: &mut [u8]) -> io::Result<()> {
    let ranges: Vec<(u64, u64)> = {
        let Ok(header) = Elf::parse(&buf[..]) else {
            return Ok(());
        };
        let Ok(endian) = header.endian() else {
            return Ok(());
        };
        let shoff: u64 = header.e_shoff(endian).into();
        let count = u64::from(header.e_shnum(endian)).max(1);
        vec![(shoff, count * u64::from(header.e_shentsize(endian)))]
    };
    for (o, s) in ranges {
        read_range(file, buf, o, s)?;
    }
    // Section 0 may hold the real count (e_shnum == 0): read the table again.
    let ranges: Vec<(u64, u64)> = {
        let Ok(header) = Elf::parse(&buf[..]) else {
            return Ok(());
        };
        let Ok(endian) = header.endian() else {
            return Ok(());
        };
        let Ok(headers) = header.section_headers(endian, &buf[..]) else {
            return Ok(());
        };
        let shoff: u64 = header.e_shoff(endian).into();
        let table = (shoff, std::mem::size_of_val(headers) as u64);
        let wanted = |t: elf::SectionType| {
            matches!(
                t,
                elf::SHT_DYNSYM
                    | elf::SHT_DYNAMIC
                    | elf::SHT_GNU_VERSYM
                    | elf::SHT_GNU_VERDEF
                    | elf::SHT_GNU_VERNEED
                    | elf::SHT_NOTE
            )
        };
        let mut want = vec![false; headers.len()];
        if let Ok(SectionIndex(i)) = header
            .shstrndx(endian, &buf[..])
            .map(|i| SectionIndex(i as usize))
        {
            if let Some(w) = want.get_mut(i) {
                *w = true;
            }
        }
        for (i, s) in headers.iter().enumerate() {
            // Dynamic relocations: which imports the loader will look up.
            let dynamic_relocs = matches!(s.sh_type(endian), elf::SHT_REL | elf::SHT_RELA)
                && s.sh_flags(endian).0 & elf::SHF_ALLOC.0 != 0;
            if wanted(s.sh_type(endian)) || dynamic_relocs {
                want[i] = true;
                if let Some(w) = want.get_mut(s.sh_link(endian) as usize) {
                    *w = true; // the string table it names
                }
            }
        }
        let mut v = vec![table];
        for (i, s) in headers.iter().enumerate() {
            if want[i] && s.sh_type(endian) != elf::SHT_NOBITS {
                v.push((s.sh_offset(endian).into(), s.sh_size(endian).into()));
            }
        }
        v
    };
    for (o, s) in ranges {
        read_range(file, buf, o, s)?;
    }
    Ok(())
}
