//! Reads only the parts of a file that a reader needs.
//!
//! A finished output ([`read_dynamic_parts`]): the ELF and section headers,
//! section names, notes (build-id) and the dynamic linking sections. They
//! land at their file offsets in a buffer the size of the file whose other
//! pages are never touched (a large zeroed allocation is mapped lazily), so
//! a 100 MB executable costs a few page reads.
//!
//! A relocatable object ([`read_symbol_parts`]): what the interface hash
//! and Run-2's claim read, held as separate ranges ([`Parts`]), so neither
//! the memory nor the time follows the size of its code and data.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, ReadRef, SectionIndex};

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
            && let Some(w) = want.get_mut(i)
        {
            *w = true;
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

/// Byte ranges of one file, each kept at its offset: a [`ReadRef`] for the
/// object crate that holds only what was read. A request outside the read
/// ranges fails like a request past the end of a file, so a parser never
/// sees bytes that were not read.
#[derive(Debug, Default)]
pub struct Parts {
    len: u64,
    ranges: Vec<(u64, Vec<u8>)>,
}

impl Parts {
    /// Bytes held, for the debug log and the tests.
    pub fn held(&self) -> usize {
        self.ranges.iter().map(|(_, b)| b.len()).sum()
    }

    /// The held range with `offset..offset + size` inside it (`size` 0:
    /// one with `offset` inside it, not at its end). Ranges may touch, so
    /// an offset at one's end is the start of the next. A few ranges: a
    /// scan is enough.
    fn find(&self, offset: u64, size: u64) -> Option<(u64, &[u8])> {
        let end = offset.checked_add(size.max(1))?;
        self.ranges.iter().find_map(|(start, bytes)| {
            (offset >= *start && end <= start + bytes.len() as u64).then_some((*start, &bytes[..]))
        })
    }

    /// Reads `size` bytes at `offset` unless they lie outside the file or
    /// are already held; out-of-file ranges are left for the parser to
    /// report (a junk size never becomes an allocation).
    fn add(
        &mut self,
        read: &mut impl FnMut(&mut [u8], u64) -> io::Result<()>,
        offset: u64,
        size: u64,
    ) -> io::Result<()> {
        let Some(end) = offset.checked_add(size) else {
            return Ok(());
        };
        if size == 0 || end > self.len || self.read_bytes_at(offset, size).is_ok() {
            return Ok(());
        }
        let mut buf = vec![0u8; size as usize];
        read(&mut buf, offset)?;
        self.ranges.push((offset, buf));
        Ok(())
    }
}

impl<'a> ReadRef<'a> for &'a Parts {
    fn len(self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let (start, bytes) = self.find(offset, size).ok_or(())?;
        let from = (offset - start) as usize;
        bytes.get(from..from + size as usize).ok_or(())
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        let (start, bytes) = self.find(range.start, 0).ok_or(())?;
        let from = (range.start - start) as usize;
        let to = usize::try_from(range.end.saturating_sub(start))
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let tail = bytes.get(from..to).ok_or(())?;
        let n = tail.iter().position(|&b| b == delimiter).ok_or(())?;
        Ok(&tail[..n])
    }
}

/// Reads what the interface hash and Run-2's claim need of a relocatable
/// object of `len` bytes: the ELF header, the section table, the section
/// names, the symbol table with its strings and extended indexes, and the
/// COMDAT groups. Code, data, relocations and debug information are never
/// read, so the cost follows the symbol table, not the file size. `read`
/// fills a buffer from an offset (pread on a file or a descriptor).
pub fn read_symbol_parts(
    len: u64,
    mut read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<Parts> {
    let mut parts = Parts {
        len,
        ranges: Vec::new(),
    };
    parts.add(&mut read, 0, len.min(64))?;
    let class = match parts.read_bytes_at(0, 5) {
        Ok(ident) if ident[..4] == *b"\x7fELF" => ident[4],
        _ => return Ok(parts),
    };
    if class == elf::ELFCLASS64.0 {
        add_symbol_parts::<elf::FileHeader64<Endianness>>(&mut parts, &mut read)?;
    } else {
        add_symbol_parts::<elf::FileHeader32<Endianness>>(&mut parts, &mut read)?;
    }
    Ok(parts)
}

fn add_symbol_parts<Elf: FileHeader<Endian = Endianness>>(
    parts: &mut Parts,
    read: &mut impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<()> {
    // The table's size: e_shnum, or section 0's sh_size when e_shnum is 0.
    let table = |parts: &Parts| -> Option<(u64, u64, u64)> {
        let header = Elf::parse(parts).ok()?;
        let endian = header.endian().ok()?;
        let shoff: u64 = header.e_shoff(endian).into();
        let entsize = u64::from(header.e_shentsize(endian));
        Some((shoff, entsize, u64::from(header.e_shnum(endian))))
    };
    let Some((shoff, entsize, shnum)) = table(parts) else {
        return Ok(());
    };
    parts.add(read, shoff, entsize.max(1) * shnum.max(1))?;
    if shnum == 0 {
        let count = Elf::parse(&*parts)
            .ok()
            .and_then(|h| Some((h, h.endian().ok()?)))
            .and_then(|(h, e)| h.section_headers(e, &*parts).ok()?.first().map(|s| (s, e)))
            .map_or(0, |(s, e)| s.sh_size(e).into());
        parts.add(read, shoff, entsize.saturating_mul(count))?;
    }
    let wanted: Vec<(u64, u64)> = {
        let parts = &*parts;
        let Ok(header) = Elf::parse(parts) else {
            return Ok(());
        };
        let Ok(endian) = header.endian() else {
            return Ok(());
        };
        let Ok(headers) = header.section_headers(endian, parts) else {
            return Ok(());
        };
        let mut want = vec![false; headers.len()];
        if let Ok(i) = header.shstrndx(endian, parts)
            && let Some(w) = want.get_mut(i as usize)
        {
            *w = true;
        }
        for (i, s) in headers.iter().enumerate() {
            let t = s.sh_type(endian);
            if matches!(t, elf::SHT_SYMTAB | elf::SHT_SYMTAB_SHNDX | elf::SHT_GROUP) {
                want[i] = true;
                if t == elf::SHT_SYMTAB
                    && let Some(w) = want.get_mut(s.sh_link(endian) as usize)
                {
                    *w = true;
                }
            }
        }
        headers
            .iter()
            .zip(want)
            .filter(|(s, w)| *w && s.sh_type(endian) != elf::SHT_NOBITS)
            .map(|(s, _)| (s.sh_offset(endian).into(), s.sh_size(endian).into()))
            .collect()
    };
    for (offset, size) in wanted {
        parts.add(read, offset, size)?;
    }
    Ok(())
}
