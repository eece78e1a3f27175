//! Archive member names, read from the `ar` header in front of a member.
//!
//! The linker tells claim_file where a member's data starts; its 60-byte
//! header sits right before it. GNU ar puts names longer than 15 bytes in
//! the `//` member and writes `/OFFSET` in the header instead.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Size of a member header.
pub const HEADER: u64 = 60;

/// The long-name table of an archive (data of its `//` member), if any.
pub fn long_names(file: &File) -> Option<Vec<u8>> {
    let mut pos = 8u64;
    // The table follows the symbol index (`/` or `/SYM64/`); look at a few members.
    for _ in 0..4 {
        let mut h = [0u8; HEADER as usize];
        file.read_exact_at(&mut h, pos).ok()?;
        if &h[58..60] != b"`\n" {
            return None;
        }
        let size: u64 = std::str::from_utf8(&h[48..58]).ok()?.trim().parse().ok()?;
        let name = &h[..16];
        if name.starts_with(b"// ") {
            let mut table = vec![0u8; usize::try_from(size).ok()?];
            file.read_exact_at(&mut table, pos + HEADER).ok()?;
            return Some(table);
        }
        if !(name.starts_with(b"/ ") || name.starts_with(b"/SYM64/")) {
            return None;
        }
        pos += HEADER + size + (size & 1);
    }
    None
}

/// Name of a member from its 60-byte header (the bytes right before the
/// member's data). `names` fetches the archive's long-name table, lazily:
/// only `/N` names need it.
pub fn member_name(header: &[u8], names: &mut dyn FnMut() -> Option<Vec<u8>>) -> Option<String> {
    let h = header.get(..HEADER as usize)?;
    if &h[58..60] != b"`\n" {
        return None;
    }
    let field = std::str::from_utf8(&h[..16]).ok()?.trim_end();
    if let Some(rest) = field.strip_prefix('/') {
        if let Ok(at) = rest.parse::<usize>() {
            let table = names()?;
            let tail = table.get(at..)?;
            let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
            let name = String::from_utf8_lossy(&tail[..end]);
            return Some(name.trim_end_matches('/').to_string());
        }
        return None;
    }
    Some(field.trim_end_matches('/').to_string())
}
