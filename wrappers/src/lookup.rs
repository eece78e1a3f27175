//! Finding the real tool behind a wrapper, never the wrapper itself.
//!
//! In order: the directories of LDPRUNE_REAL_PATH (a configured place);
//! a `NAME-real` sibling (gcc replaced by the wrapper, the real one kept as
//! gcc-real); the next NAME in PATH after the wrapper's own entry (or the
//! first one, if the wrapper was run by a path outside PATH). A candidate
//! that is this very file (any symlink to it) or a wrapper already passed
//! on this chain (LDPRUNE_WRAP_SEEN, for copies of the wrapper) is skipped,
//! so two wrappers can never hand a command back and forth.

use alloc::vec::Vec;

use crate::sys;

pub type FileId = (u64, u64);

/// `dir/name`.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.is_empty() {
        p.push(b'.');
    }
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

pub fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

pub fn dirname(path: &[u8]) -> Option<&[u8]> {
    let i = path.iter().rposition(|&b| b == b'/')?;
    Some(if i == 0 { b"/" } else { &path[..i] })
}

/// Where to look and what to avoid.
pub struct Search<'a> {
    /// LDPRUNE_REAL_PATH, colon-separated directories.
    pub configured: Option<&'a [u8]>,
    /// argv[0] as the wrapper was run.
    pub invoked: &'a [u8],
    pub path: Option<&'a [u8]>,
    /// This executable and the wrappers already passed.
    pub avoid: &'a [FileId],
}

impl Search<'_> {
    fn usable(&self, candidate: &[u8]) -> bool {
        sys::executable_id(candidate).is_some_and(|id| !self.avoid.contains(&id))
    }

    fn is_avoided(&self, candidate: &[u8]) -> bool {
        sys::executable_id(candidate).is_some_and(|id| self.avoid.contains(&id))
    }

    /// The real tool called `name`.
    pub fn find(&self, name: &[u8]) -> Option<Vec<u8>> {
        for dir in split_path(self.configured) {
            let c = join(dir, name);
            if self.usable(&c) {
                return Some(c);
            }
        }
        let dirs: Vec<&[u8]> = split_path(self.path).collect();
        // The wrapper's own directory: of the path it was run by, or the
        // PATH entry that found it.
        let own_dir = dirname(self.invoked).or_else(|| {
            dirs.iter()
                .copied()
                .find(|d| self.is_avoided(&join(d, self.invoked)))
        });
        if let Some(dir) = own_dir {
            let mut real = name.to_vec();
            real.extend_from_slice(b"-real");
            let c = join(dir, &real);
            if self.usable(&c) {
                return Some(c);
            }
        }
        let own = dirs
            .iter()
            .rposition(|d| self.is_avoided(&join(d, name)))
            .map_or(0, |i| i + 1);
        dirs[own..]
            .iter()
            .chain(dirs[..own].iter())
            .map(|d| join(d, name))
            .find(|c| self.usable(c))
    }
}

/// The non-empty entries of a colon-separated list.
fn split_path(list: Option<&[u8]>) -> impl Iterator<Item = &[u8]> {
    list.unwrap_or(b"")
        .split(|&b| b == b':')
        .filter(|d| !d.is_empty())
}

/// Parses LDPRUNE_WRAP_SEEN: `dev.ino` entries separated by colons.
pub fn parse_seen(v: Option<&[u8]>) -> Vec<FileId> {
    split_path(v)
        .filter_map(|e| {
            let dot = e.iter().position(|&b| b == b'.')?;
            Some((number(&e[..dot])?, number(&e[dot + 1..])?))
        })
        .collect()
}

/// Formats `ids` for LDPRUNE_WRAP_SEEN.
pub fn format_seen(ids: &[FileId]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (dev, ino)) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        push_number(&mut out, *dev);
        out.push(b'.');
        push_number(&mut out, *ino);
    }
    out
}

fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(c - b'0')))
            .flatten()
    })
}

pub fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_round_trip() {
        let ids = [(2049, 1234567), (0, 1)];
        assert_eq!(parse_seen(Some(&format_seen(&ids))), ids);
        assert!(parse_seen(Some(b"x.1:3")).is_empty());
    }

    #[test]
    fn names() {
        assert_eq!(basename(b"/usr/bin/gcc"), b"gcc");
        assert_eq!(dirname(b"/usr/bin/gcc"), Some(&b"/usr/bin"[..]));
        assert_eq!(dirname(b"/gcc"), Some(&b"/"[..]));
        assert_eq!(dirname(b"gcc"), None);
        assert_eq!(join(b"/a/", b"b"), b"/a/b");
    }
}
