//! Reads only the parts of a file that a reader needs, into a [`Parts`]:
//! the byte ranges a parser asks for, so neither the memory nor the time
//! follows the size of the file's code and data. An object of up to
//! [`WHOLE_OBJECT`] bytes is read whole instead, in one read: fewer
//! system calls than its parts.
//!
//! A finished output ([`read_dynamic_parts`]): the ELF and section headers,
//! section names, notes (build-id), the dynamic linking sections and the
//! dynamic relocations. A relocatable object ([`read_symbol_parts`]): what
//! the interface hash and Run-2's claim read.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, ReadRef};

/// Reads what `parse_output` and `looks_complete` need of a finished output
/// (a small one whole: its parts took 14 reads of a 10 KB program).
pub fn read_dynamic_parts(file: &File) -> io::Result<Parts> {
    let len = file.metadata()?.len();
    let mut parts = Parts::default();
    read_parts(
        &mut parts,
        len,
        |buf, at| file.read_exact_at(buf, at),
        Wanted::Dynamic,
        WHOLE_OBJECT,
    )?;
    Ok(parts)
}

/// Byte ranges of one file, each kept at its offset: a [`ReadRef`] for the
/// object crate that holds only what was read. A request outside the read
/// ranges fails like a request past the end of a file, so a parser never
/// sees bytes that were not read.
#[derive(Debug, Default)]
pub struct Parts {
    len: u64,
    /// The ranges' bytes, back to back in `buf[..used]`: one buffer, not
    /// one per range, and reused from file to file by
    /// [`read_symbol_parts_into`] (it is zeroed only where it grows).
    buf: Vec<u8>,
    used: usize,
    /// (file offset, start in `buf`, length), sorted by file offset.
    ranges: Vec<(u64, usize, usize)>,
    /// The range found last: a parser reads one string table name after
    /// name, so it is usually the next one asked for.
    last: Cell<usize>,
    /// Some ranges overlap (a damaged file): a lookup may have to scan.
    overlap: bool,
}

impl Parts {
    /// Bytes held, for the debug log and the tests.
    pub fn held(&self) -> usize {
        self.used
    }

    /// The length of the file the parts are of.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All of the file, when it was read whole ([`WHOLE_OBJECT`]): a plain
    /// slice parses faster than a lookup of the range per read.
    pub fn whole(&self) -> Option<&[u8]> {
        match self.ranges[..] {
            [(0, at, n)] if n as u64 == self.len => self.buf.get(at..at + n),
            _ => None,
        }
    }

    /// The held range with `offset..offset + size` inside it (`size` 0:
    /// one with `offset` inside it, not at its end), as (its file offset,
    /// its bytes). Ranges may touch, so an offset at one's end is the start
    /// of the next. The last range found is tried first; then, ranges
    /// being sorted by offset, the last one starting at or before `offset`;
    /// a scan only if ranges overlap (a damaged file). (A parser reads a
    /// string per symbol: this is on the hot path.)
    fn find(&self, offset: u64, size: u64) -> Option<(u64, &[u8])> {
        let end = offset.checked_add(size.max(1))?;
        let holds =
            |&(start, _, n): &(u64, usize, usize)| offset >= start && end <= start + n as u64;
        let i = match self.ranges.get(self.last.get()) {
            Some(r) if holds(r) => self.last.get(),
            _ => {
                let i = self.ranges.partition_point(|r| r.0 <= offset);
                match i.checked_sub(1) {
                    Some(i) if holds(&self.ranges[i]) => i,
                    _ if self.overlap => self.ranges.iter().position(holds)?,
                    _ => return None,
                }
            }
        };
        self.last.set(i);
        let (start, at, n) = self.ranges[i];
        Some((start, &self.buf[at..at + n]))
    }

    /// Makes room for `size` more bytes (zeroing only what is new).
    fn grow(&mut self, size: usize) {
        let need = self.used.saturating_add(size);
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
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
        let (at, size) = (self.used, size as usize);
        self.grow(size);
        read(&mut self.buf[at..at + size], offset)?;
        self.used += size;
        let i = self.ranges.partition_point(|r| r.0 <= offset);
        let ends_after = |r: &(u64, usize, usize)| r.0 + r.2 as u64 > offset;
        self.overlap |= i
            .checked_sub(1)
            .is_some_and(|p| ends_after(&self.ranges[p]))
            || self.ranges.get(i).is_some_and(|r| r.0 < end);
        self.ranges.insert(i, (offset, at, size));
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
/// COMDAT groups. Of an object over [`WHOLE_OBJECT`] bytes, code, data,
/// relocations and debug information are never read, so the cost follows
/// the symbol table, not the file size (a smaller one is read whole).
/// `read` fills a buffer from an offset (pread on a file or a descriptor).
pub fn read_symbol_parts(
    len: u64,
    read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<Parts> {
    let mut parts = Parts::default();
    read_parts(&mut parts, len, read, Wanted::Symbols, WHOLE_OBJECT)?;
    Ok(parts)
}

/// [`read_symbol_parts`] by parts whatever the size: the path of large
/// objects, for the tests to hold it to the whole file's.
pub fn read_symbol_parts_only(
    len: u64,
    read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<Parts> {
    let mut parts = Parts::default();
    read_parts(&mut parts, len, read, Wanted::Symbols, 0)?;
    Ok(parts)
}

/// [`read_symbol_parts`] into `parts`, replacing what it held and reusing
/// its buffers: a thread that reads many objects allocates once.
pub fn read_symbol_parts_into(
    parts: &mut Parts,
    len: u64,
    read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<()> {
    read_parts(parts, len, read, Wanted::Symbols, WHOLE_OBJECT)
}

/// Reads what `parse_object` needs of a relocatable object of `len`
/// bytes: [`read_symbol_parts`]'s, its allocated sections but code, and
/// the relocations of allocated sections. Debug information (most of a
/// large object) and code are never read (Run-1 reads objects up to 4 MiB
/// whole itself and this only above).
pub fn read_object_parts(
    len: u64,
    read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
) -> io::Result<Parts> {
    let mut parts = Parts::default();
    read_parts(&mut parts, len, read, Wanted::Object, WHOLE_OBJECT)?;
    Ok(parts)
}

/// Objects (and outputs) up to this size are read whole: one read costs
/// less than the several of their parts.
pub const WHOLE_OBJECT: u64 = 64 << 10;

/// Which sections a reader needs besides the section names.
#[derive(Clone, Copy)]
enum Wanted {
    /// The symbol table (with its strings), extended indexes, groups.
    Symbols,
    /// The symbols' sections, data (not code) and the relocations of
    /// allocated sections, each with the section its sh_link names.
    Object,
    /// The dynamic linking sections, notes and allocated relocations, each
    /// with the section its sh_link names (strings, symbols).
    Dynamic,
}

impl Wanted {
    /// (the section, the section its sh_link names); `target_flags`: the
    /// flags of the section its sh_info names (relocations).
    fn wants(self, sh_type: elf::SectionType, flags: u64, target_flags: u64) -> (bool, bool) {
        let alloc = |f: u64| f & elf::SHF_ALLOC.0 != 0;
        match self {
            Wanted::Symbols => match sh_type {
                elf::SHT_SYMTAB => (true, true),
                elf::SHT_SYMTAB_SHNDX | elf::SHT_GROUP => (true, false),
                _ => (false, false),
            },
            Wanted::Object => match sh_type {
                elf::SHT_SYMTAB => (true, true),
                elf::SHT_SYMTAB_SHNDX | elf::SHT_GROUP => (true, false),
                elf::SHT_REL | elf::SHT_RELA => (alloc(target_flags), alloc(target_flags)),
                _ => (alloc(flags) && flags & elf::SHF_EXECINSTR.0 == 0, false),
            },
            Wanted::Dynamic => {
                // Dynamic relocations: which imports the loader will look up.
                let dynamic_relocs = matches!(sh_type, elf::SHT_REL | elf::SHT_RELA)
                    && flags & elf::SHF_ALLOC.0 != 0;
                let w = dynamic_relocs
                    || matches!(
                        sh_type,
                        elf::SHT_DYNSYM
                            | elf::SHT_DYNAMIC
                            | elf::SHT_GNU_VERSYM
                            | elf::SHT_GNU_VERDEF
                            | elf::SHT_GNU_VERNEED
                            | elf::SHT_NOTE
                            | elf::SHT_SYMTAB_SHNDX
                    );
                (w, w)
            }
        }
    }
}

/// An object of 20,000 functions has 40,000 wanted sections: read as
/// ranges in file order, with gaps of up to [`GAP`] bytes read too, they are
/// a few dozen ranges (debug information stays out: it is larger).
fn coalesce(mut ranges: Vec<(u64, u64)>, len: u64) -> Vec<(u64, u64)> {
    const GAP: u64 = 4096;
    ranges.retain(|&(o, n)| n > 0 && o.checked_add(n).is_some_and(|end| end <= len));
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (offset, size) in ranges {
        match out.last_mut() {
            Some((o, n)) if offset <= *o + *n + GAP => *n = (*n).max(offset + size - *o),
            _ => out.push((offset, size)),
        }
    }
    out
}

fn read_parts(
    parts: &mut Parts,
    len: u64,
    mut read: impl FnMut(&mut [u8], u64) -> io::Result<()>,
    wanted: Wanted,
    whole_up_to: u64,
) -> io::Result<()> {
    parts.len = len;
    parts.used = 0;
    parts.ranges.clear();
    parts.last.set(0);
    parts.overlap = false;
    // A small object in one read: the parts of it alone took five or six
    // (Run-2's identity of 600 objects of 9 KB: 3,650 preads).
    if len <= whole_up_to {
        return parts.add(&mut read, 0, len);
    }
    parts.add(&mut read, 0, len.min(64))?;
    let class = match parts.read_bytes_at(0, 5) {
        Ok(ident) if ident[..4] == *b"\x7fELF" => ident[4],
        _ => return Ok(()),
    };
    if class == elf::ELFCLASS64.0 {
        add_parts::<elf::FileHeader64<Endianness>>(parts, &mut read, wanted)
    } else {
        add_parts::<elf::FileHeader32<Endianness>>(parts, &mut read, wanted)
    }
}

fn add_parts<Elf: FileHeader<Endian = Endianness>>(
    parts: &mut Parts,
    read: &mut impl FnMut(&mut [u8], u64) -> io::Result<()>,
    wanted: Wanted,
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
    let ranges: Vec<(u64, u64)> = {
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
            let target_flags = headers
                .get(s.sh_info(endian) as usize)
                .map_or(0, |t| t.sh_flags(endian).0);
            let (this, link) = wanted.wants(s.sh_type(endian), s.sh_flags(endian).0, target_flags);
            want[i] |= this;
            if link && let Some(w) = want.get_mut(s.sh_link(endian) as usize) {
                *w = true;
            }
        }
        headers
            .iter()
            .zip(want)
            .filter(|(s, w)| *w && s.sh_type(endian) != elf::SHT_NOBITS)
            .map(|(s, _)| (s.sh_offset(endian).into(), s.sh_size(endian).into()))
            .collect()
    };
    let ranges = match wanted {
        Wanted::Object => coalesce(ranges, parts.len),
        Wanted::Symbols | Wanted::Dynamic => ranges,
    };
    // One allocation for all of them (ranges outside the file are skipped;
    // the total is within the file's size).
    let total: u64 = ranges
        .iter()
        .filter(|&&(o, n)| o.checked_add(n).is_some_and(|end| end <= parts.len))
        .map(|&(_, n)| n)
        .sum();
    parts.grow(usize::try_from(total).unwrap_or(usize::MAX));
    for (offset, size) in ranges {
        parts.add(read, offset, size)?;
    }
    Ok(())
}
