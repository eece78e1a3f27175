//! Archive member names, read from the `ar` header in front of a member.
//!
//! The linker tells claim_file where a member's data starts; its 60-byte
//! header sits right before it. GNU ar puts names longer than 15 bytes in
//! the `//` member and writes `/OFFSET` in the header instead.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Size of a member header.
pub const HEADER: u64 = 60;

/// A member header of an archive: its bytes and the data size it gives.
pub struct MemberHeader {
    pub bytes: [u8; HEADER as usize],
    pub size: u64,
}

impl MemberHeader {
    /// The header at `pos` of `file`; None if it cannot be read or is
    /// damaged (no terminator, a size that is no number).
    pub fn read(file: &File, pos: u64) -> Option<MemberHeader> {
        let mut bytes = [0u8; HEADER as usize];
        file.read_exact_at(&mut bytes, pos).ok()?;
        if &bytes[58..60] != b"`\n" {
            return None;
        }
        let size = std::str::from_utf8(&bytes[48..58])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(MemberHeader { bytes, size })
    }

    /// The symbol index (`/`, `/SYM64/`) or the long-name table (`//`):
    /// the archive's own bookkeeping, not one of its members.
    pub fn is_index(&self) -> bool {
        self.is_long_names() || self.bytes.starts_with(b"/ ") || self.bytes.starts_with(b"/SYM64/")
    }

    pub fn is_long_names(&self) -> bool {
        self.bytes.starts_with(b"// ")
    }

    /// Where the next header starts after this one at `pos` with its data
    /// (members start at even offsets).
    pub fn next(&self, pos: u64) -> u64 {
        pos.saturating_add(HEADER)
            .saturating_add(self.size)
            .saturating_add(self.size & 1)
    }
}

/// The long-name table of an archive (data of its `//` member), if any.
pub fn long_names(file: &File) -> Option<Vec<u8>> {
    let mut pos = 8u64;
    // The table follows the symbol index (`/` or `/SYM64/`); look at a few members.
    for _ in 0..4 {
        let h = MemberHeader::read(file, pos)?;
        if h.is_long_names() {
            // The header's size can claim up to 10 GB: no more than the
            // file holds is read (a hostile archive aborted the linker).
            let len = file.metadata().ok()?.len();
            if pos.checked_add(HEADER)?.checked_add(h.size)? > len {
                return None;
            }
            let mut table = vec![0u8; usize::try_from(h.size).ok()?];
            file.read_exact_at(&mut table, pos + HEADER).ok()?;
            return Some(table);
        }
        if !h.is_index() {
            return None;
        }
        pos = h.next(pos);
    }
    None
}

/// Name of a member from its 60-byte header (the bytes right before the
/// member's data); `names` is the archive's long-name table ([`long_names`]),
/// which `/N` names point into. Borrowed: a copy of the table for each
/// member cost a static library's link its size times its members.
pub fn member_name(header: &[u8], names: Option<&[u8]>) -> Option<String> {
    let h = header.get(..HEADER as usize)?;
    if &h[58..60] != b"`\n" {
        return None;
    }
    let field = std::str::from_utf8(&h[..16]).ok()?.trim_end();
    if let Some(rest) = field.strip_prefix('/') {
        if let Ok(at) = rest.parse::<usize>() {
            let tail = names?.get(at..)?;
            let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
            let name = String::from_utf8_lossy(&tail[..end]);
            return Some(name.trim_end_matches('/').to_string());
        }
        return None;
    }
    Some(field.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive_with_names(claimed: u64, table: &[u8]) -> File {
        let mut f = tempfile::tempfile().expect("temp file");
        let mut header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            "//", 0, 0, 0, 644, claimed
        );
        header.truncate(HEADER as usize);
        f.write_all(b"!<arch>\n").expect("write");
        f.write_all(header.as_bytes()).expect("write");
        f.write_all(table).expect("write");
        f
    }

    /// The long-name table is read as the header says, but never more
    /// than the file holds: a header claiming 10 GB gives no table (it
    /// used to be allocated first: an abort where memory is limited; the
    /// allocation itself is not visible here, the result is).
    #[test]
    fn long_names_within_the_file() {
        let table = b"a_long_member_name.o/\n";
        let f = archive_with_names(table.len() as u64, table);
        assert_eq!(long_names(&f).as_deref(), Some(&table[..]));
        assert_eq!(long_names(&archive_with_names(9_999_999_999, table)), None);
        assert_eq!(
            long_names(&archive_with_names(table.len() as u64 + 1, table)),
            None
        );
    }
}
