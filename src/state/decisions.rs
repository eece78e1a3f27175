//! The decisions file: for each link identity, the names Run-2 hides.
//!
//! ```text
//! header  8 magic "LDPRDEC\0" | u32 version | u32 count
//! index   count x (u128 identity | u64 offset | u32 length | u32 checksum),
//!         sorted, one slot per identity
//! entries postcard Vec<LinkDecision> at offset: every link of that identity,
//!         one per directory, sorted by directory; xxh3-64 low half as checksum
//! ```
//! A Run-2 link reads the header, binary-searches the index with a few
//! preads and reads its one entry: the rest of the file is never loaded.
//!
//! The identity holds no directory, so a tree built again elsewhere finds
//! its decisions. Equal identities in several directories (two subprojects
//! linking a `libfoo.so` from the same objects) share one slot, and
//! [`choose`] picks by directory.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::{Doing, Problem, StateDir, StateError, entry};
use crate::elf::hash::Hash128;

/// 2: entries are lists of the links of one identity, with their directory.
pub const DECISIONS_FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"LDPRDEC\0";
const HEADER: u64 = 16;
const SLOT: u64 = 32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDecision {
    pub identity: Hash128,
    /// The directory the link wrote into in Run-1
    /// ([`crate::identity::link_directory`]): tells equal identities apart.
    pub directory: String,
    /// The output, for messages (`cwd/output` of the newest record).
    pub output: String,
    /// Names to hide, spelled as the link's objects spell them.
    pub hide: NameList,
}

/// A list of names in one buffer: decoding a hide list of 7,000 names is
/// one allocation and a copy each, not a `String` each (2.9M of a Run-2
/// link's 9M instructions were those). On disk it is a sequence of
/// strings, as `Vec<String>` was.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NameList {
    text: String,
    ends: Vec<u32>,
    /// Some name sorts before the one pushed ahead of it. The merge writes
    /// sorted lists, which Run-2 then searches instead of hashing them.
    unsorted: bool,
}

impl NameList {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn push(&mut self, name: &str) {
        if !self.unsorted
            && let Some(last) = self.len().checked_sub(1).and_then(|i| self.get(i))
        {
            self.unsorted = name < last;
        }
        self.text.push_str(name);
        self.ends.push(self.text.len() as u32);
    }

    /// Whether `name` is in the list: a binary search when it is sorted.
    pub fn contains(&self, name: &[u8]) -> bool {
        if self.unsorted {
            return self.iter().any(|n| n.as_bytes() == name);
        }
        let at = |i: usize| self.get(i).unwrap_or("").as_bytes();
        let i = partition_point(self.len(), |i| at(i) < name);
        i < self.len() && at(i) == name
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        self.ends.iter().enumerate().map(|(i, &end)| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            // Ends are pushed in order on character boundaries.
            &self.text[start as usize..end as usize]
        })
    }

    /// The `i`-th name.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }

    /// Whether the names are in byte order (the merge writes them so).
    pub fn is_sorted(&self) -> bool {
        !self.unsorted
    }

    /// The indexes of the names that start with `prefix`, in a sorted list:
    /// they are contiguous.
    pub fn sorted_range_with_prefix(&self, prefix: &str) -> std::ops::Range<usize> {
        let at = |i: usize| self.get(i).unwrap_or("");
        let start = partition_point(self.len(), |i| at(i) < prefix);
        let end =
            start + partition_point(self.len() - start, |i| at(start + i).starts_with(prefix));
        start..end
    }

    /// Keeps the names for which `keep` holds, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let mut kept = NameList {
            text: String::with_capacity(self.text.len()),
            ends: Vec::with_capacity(self.ends.len()),
            unsorted: false,
        };
        for name in self.iter().filter(|n| keep(n)) {
            kept.push(name);
        }
        *self = kept;
    }
}

/// The first index in `0..n` for which `pred` is false (`pred` true then
/// false over the range), as `slice::partition_point`.
fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl std::fmt::Debug for NameList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for NameList {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> NameList {
        let mut list = NameList::default();
        for n in names {
            list.push(n.as_ref());
        }
        list
    }
}

impl From<Vec<String>> for NameList {
    fn from(names: Vec<String>) -> NameList {
        names.iter().collect()
    }
}

impl Serialize for NameList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for NameList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NameList, D::Error> {
        d.deserialize_seq(NameListVisitor)
    }
}

struct NameListVisitor;

impl<'de> serde::de::Visitor<'de> for NameListVisitor {
    type Value = NameList;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of names")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NameList, A::Error> {
        let mut list = NameList::default();
        // The length is the decoder's claim: not believed for the allocation.
        list.ends.reserve(seq.size_hint().unwrap_or(0).min(1 << 16));
        while seq.next_element_seed(AppendName(&mut list))?.is_some() {}
        if list.text.len() > u32::MAX as usize {
            return Err(serde::de::Error::custom("hide list over 4 GiB"));
        }
        Ok(list)
    }
}

/// Decodes one name straight into the list's buffer.
struct AppendName<'l>(&'l mut NameList);

impl<'de> serde::de::DeserializeSeed<'de> for AppendName<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AppendName<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<(), E> {
        self.0.push(name);
        Ok(())
    }
}

/// Which of the decisions of one identity a link writing into a directory
/// uses ([`choose`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The only one; or the one of this directory; or, in a tree built
    /// elsewhere, the only one whose directory ends like this one (most
    /// trailing path components in common); or one of several that agree.
    One(LinkDecision),
    /// Several links of other directories that disagree, none of which can
    /// be told to be this one: only the names all of them hide. Whichever
    /// link this is, its own list hides these and more, so the link keeps a
    /// superset of the exports its consumers were decided with (as a link
    /// left unchanged does, but closer to the decision).
    Intersection {
        hide: NameList,
        directories: Vec<String>,
    },
}

/// Picks the decision for a link of `directory` among `found`, the
/// decisions of its identity. None when `found` is empty.
pub fn choose(mut found: Vec<LinkDecision>, directory: &str) -> Option<Pick> {
    if found.len() <= 1 {
        return found.pop().map(Pick::One);
    }
    if let Some(i) = found.iter().position(|d| d.directory == directory) {
        return Some(Pick::One(found.swap_remove(i)));
    }
    fn set(d: &LinkDecision) -> BTreeSet<&str> {
        d.hide.iter().collect()
    }
    let first = set(&found[0]);
    if found[1..].iter().all(|d| set(d) == first) {
        return Some(Pick::One(found.swap_remove(0)));
    }
    let common = |other: &str| {
        other
            .rsplit('/')
            .zip(directory.rsplit('/'))
            .take_while(|(a, b)| a == b && !a.is_empty())
            .count()
    };
    let scores: Vec<usize> = found.iter().map(|d| common(&d.directory)).collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best > 0 && scores.iter().filter(|&&s| s == best).count() == 1 {
        let i = scores.iter().position(|&s| s == best).unwrap_or(0);
        return Some(Pick::One(found.swap_remove(i)));
    }
    let mut all = first;
    for d in &found[1..] {
        let other = set(d);
        all.retain(|n| other.contains(n));
    }
    let hide = found[0].hide.iter().filter(|n| all.contains(n)).collect();
    Some(Pick::Intersection {
        hide,
        directories: found.into_iter().map(|d| d.directory).collect(),
    })
}

pub fn path(state: &StateDir) -> PathBuf {
    state.root().join("decisions.ldpd")
}

/// Writes all decisions atomically: under a lock (one merge at a time),
/// to a temp file, published by rename. A lock its merge left behind when
/// it died is taken over with a warning on stderr.
pub fn write(state: &StateDir, decisions: Vec<LinkDecision>) -> Result<PathBuf, StateError> {
    write_noting(state, decisions, |note| {
        eprintln!("ldprune: warning: {note}")
    })
}

/// As [`write`], handing notes (a stale lock taken over) to `note`.
pub fn write_noting(
    state: &StateDir,
    mut decisions: Vec<LinkDecision>,
    mut note: impl FnMut(&str),
) -> Result<PathBuf, StateError> {
    decisions.sort_by(|a, b| (a.identity, &a.directory).cmp(&(b.identity, &b.directory)));
    decisions.dedup_by(|a, b| (a.identity, &a.directory) == (b.identity, &b.directory));
    let groups: Vec<&[LinkDecision]> = decisions
        .chunk_by(|a, b| a.identity == b.identity)
        .collect();
    let lock = state.root().join("decisions.lock");
    let _guard = Lock::take(&lock, &mut note)?;
    let mut blobs = Vec::new();
    let mut index = Vec::with_capacity(groups.len() * SLOT as usize);
    let data_start = HEADER + SLOT * groups.len() as u64;
    for group in &groups {
        let blob = postcard::to_stdvec(group)
            .map_err(|e| StateError::codec(&lock, super::codec::CodecError::Encode(e)))?;
        index.extend_from_slice(&group[0].identity.0.to_le_bytes());
        index.extend_from_slice(&(data_start + blobs.len() as u64).to_le_bytes());
        index.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        index.extend_from_slice(&(xxh3_64(&blob) as u32).to_le_bytes());
        blobs.extend_from_slice(&blob);
    }
    let mut bytes = Vec::with_capacity(data_start as usize + blobs.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&DECISIONS_FORMAT.to_le_bytes());
    bytes.extend_from_slice(&(groups.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&index);
    bytes.extend_from_slice(&blobs);
    let dest = path(state);
    state
        .stage_bytes(&bytes, dest.clone(), "decisions.ldpd")?
        .publish()
}

/// What is wrong with the decisions file (or its lock), beyond the file
/// system: Run-2 links unchanged with it as the reason, and a merge
/// that finds the lock held can wait and try again.
#[derive(Debug)]
pub enum DecisionsError {
    BadMagic,
    /// Another format version (the one found, when it was read).
    Version(Option<u32>),
    /// The header's count of entries is more than the file holds.
    IndexTooLong {
        count: u64,
        size: u64,
    },
    IndexUnread(std::io::Error),
    /// An index slot points past the file's end.
    PastTheEnd {
        offset: u64,
        len: u32,
        size: u64,
    },
    EntryUnread(std::io::Error),
    EntryChecksum,
    EntryDecode(postcard::Error),
    /// The entry holds no links, or another identity's.
    OtherIdentity,
    /// Another merge holds the lock (its pid, if it wrote one).
    Locked {
        holder: Option<String>,
    },
}

impl std::fmt::Display for DecisionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecisionsError::BadMagic => f.write_str("not an ldprune decisions file (bad magic)"),
            DecisionsError::Version(Some(v)) => write!(
                f,
                "decisions format version {v}, this ldprune reads version {DECISIONS_FORMAT}; run ldprune merge again"
            ),
            DecisionsError::Version(None) => write!(
                f,
                "not decisions format version {DECISIONS_FORMAT}; run ldprune merge again"
            ),
            DecisionsError::IndexTooLong { count, size } => write!(
                f,
                "damaged index: {count} entries do not fit in {size} bytes"
            ),
            DecisionsError::IndexUnread(e) => write!(f, "damaged index: {e}"),
            DecisionsError::PastTheEnd { offset, len, size } => write!(
                f,
                "damaged index: entry at {offset}, {len} bytes, past the end ({size} bytes)"
            ),
            DecisionsError::EntryUnread(e) => write!(f, "damaged entry: {e}"),
            DecisionsError::EntryChecksum => f.write_str("damaged entry: checksum mismatch"),
            DecisionsError::EntryDecode(e) => write!(f, "damaged entry: {e}"),
            DecisionsError::OtherIdentity => {
                f.write_str("damaged entry: not the links of its identity")
            }
            DecisionsError::Locked { holder } => {
                let who = holder
                    .as_ref()
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                write!(
                    f,
                    "another merge{who} is writing the decisions; try again when it has finished"
                )
            }
        }
    }
}

impl DecisionsError {
    /// The file is damaged (not foreign, of another version or locked).
    pub fn is_damage(&self) -> bool {
        !matches!(
            self,
            DecisionsError::BadMagic | DecisionsError::Version(_) | DecisionsError::Locked { .. }
        )
    }
}

/// Finds the decisions of `identity`, one per directory (see [`choose`]);
/// empty: no such link.
pub fn lookup(file_path: &Path, identity: Hash128) -> Result<Vec<LinkDecision>, StateError> {
    let err = |e: DecisionsError| StateError::new(file_path, Problem::Decisions(e));
    // Not through a link, never a FIFO (a Run-2 link would hang), and no
    // offset or length beyond the file's size is believed.
    let file = entry::open_read(file_path)?;
    let size = file
        .metadata()
        .map_err(|e| StateError::io(file_path, Doing::Stat, e))?
        .len();
    let mut h = [0u8; HEADER as usize];
    file.read_exact_at(&mut h, 0)
        .map_err(|e| StateError::io(file_path, Doing::Read, e))?;
    if &h[..8] != MAGIC {
        return Err(err(DecisionsError::BadMagic));
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != DECISIONS_FORMAT {
        return Err(err(DecisionsError::Version(Some(version))));
    }
    let count = u64::from(u32::from_le_bytes([h[12], h[13], h[14], h[15]]));
    if HEADER + count * SLOT > size {
        return Err(err(DecisionsError::IndexTooLong { count, size }));
    }
    let read_slots = |first: u64, n: u64| -> Result<Vec<u8>, StateError> {
        let mut s = vec![0u8; (n * SLOT) as usize];
        file.read_exact_at(&mut s, HEADER + first * SLOT)
            .map_err(|e| err(DecisionsError::IndexUnread(e)))?;
        Ok(s)
    };
    let entry = |(_, offset, len, sum): (u128, u64, u32, u32)| {
        if offset
            .checked_add(u64::from(len))
            .is_none_or(|end| end > size)
        {
            return Err(err(DecisionsError::PastTheEnd { offset, len, size }));
        }
        let mut blob = vec![0u8; len as usize];
        file.read_exact_at(&mut blob, offset)
            .map_err(|e| err(DecisionsError::EntryUnread(e)))?;
        if xxh3_64(&blob) as u32 != sum {
            return Err(err(DecisionsError::EntryChecksum));
        }
        let found: Vec<LinkDecision> =
            postcard::from_bytes(&blob).map_err(|e| err(DecisionsError::EntryDecode(e)))?;
        if found.is_empty() || found.iter().any(|d| d.identity != identity) {
            return Err(err(DecisionsError::OtherIdentity));
        }
        Ok(found)
    };
    let (mut lo, mut hi) = (0u64, count);
    // Identities are hashes, spread evenly over the index: the slot is
    // near count * identity / 2^128, and one read of WINDOW slots there
    // holds it almost always (at 100,000 links the spread is about 160
    // slots). Each read is a system call, the cost of a lookup: a binary
    // search by single slots took 17 of them at 100,000 links.
    if count > 0 {
        let guess = (((identity.0 >> 64) * u128::from(count)) >> 64) as u64;
        let n = WINDOW.min(count);
        let first = guess.saturating_sub(n / 2).min(count - n);
        let window = read_slots(first, n)?;
        let at = |i: u64| parse_slot(&window[(i * SLOT) as usize..][..SLOT as usize]);
        if identity.0 < at(0).0 {
            hi = first;
        } else if identity.0 > at(n - 1).0 {
            lo = first + n;
        } else {
            let (mut l, mut h) = (0, n);
            while l < h {
                let mid = l + (h - l) / 2;
                let slot = at(mid);
                match slot.0.cmp(&identity.0) {
                    std::cmp::Ordering::Less => l = mid + 1,
                    std::cmp::Ordering::Greater => h = mid,
                    std::cmp::Ordering::Equal => return entry(slot),
                }
            }
            return Ok(Vec::new());
        }
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let slot = parse_slot(&read_slots(mid, 1)?);
        match slot.0.cmp(&identity.0) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return entry(slot),
        }
    }
    Ok(Vec::new())
}

/// Slots read at once around the expected place of an identity (16 KiB).
const WINDOW: u64 = 512;

/// (identity, offset, length, checksum) of one index slot.
fn parse_slot(s: &[u8]) -> (u128, u64, u32, u32) {
    let word = |a: usize, b: usize| {
        s[a..b]
            .iter()
            .rev()
            .fold(0u128, |acc, &x| acc << 8 | u128::from(x))
    };
    (
        word(0, 16),
        word(16, 24) as u64,
        word(24, 28) as u32,
        word(28, 32) as u32,
    )
}

/// Every decision of the file. Only for messages about a failed link: a
/// Run-2 link otherwise reads just its own entry. Damaged entries are
/// skipped (this only explains, it decides nothing).
pub fn read_all(file_path: &Path) -> Result<Vec<LinkDecision>, StateError> {
    let err = |e: DecisionsError| StateError::new(file_path, Problem::Decisions(e));
    let bytes = entry::read(file_path, entry::MAX_FILE)?;
    if bytes.len() < HEADER as usize || &bytes[..8] != MAGIC {
        return Err(err(DecisionsError::BadMagic));
    }
    let word = |at: usize, n: usize| -> Option<u64> {
        let b = bytes.get(at..at + n)?;
        Some(b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
    };
    if word(8, 4) != Some(u64::from(DECISIONS_FORMAT)) {
        return Err(err(DecisionsError::Version(None)));
    }
    let count = word(12, 4).unwrap_or(0);
    let mut all = Vec::new();
    for i in 0..count {
        let slot = (HEADER + i * SLOT) as usize;
        let (Some(offset), Some(len)) = (word(slot + 16, 8), word(slot + 24, 4)) else {
            break;
        };
        let blob = usize::try_from(offset)
            .ok()
            .and_then(|o| bytes.get(o..o.checked_add(len as usize)?));
        if let Some(found) = blob.and_then(|b| postcard::from_bytes::<Vec<LinkDecision>>(b).ok()) {
            all.extend(found);
        }
    }
    Ok(all)
}

/// The merge lock: an advisory `flock` on DIR/decisions.lock (std's
/// `File::try_lock`, which is flock on Linux), with the holder's pid in the
/// file for messages.
///
/// Why flock and not "the file exists" or a pid check: the kernel drops the
/// lock when its process dies, however it dies, so a stale lock can never
/// block a merge and a live one is always seen; a pid check is fooled by
/// pid reuse and by a merge on another host of a shared directory (Linux
/// maps flock to NFS locks). The file itself is never removed: removing it
/// would let a second merge lock a fresh file while a third still holds the
/// old one. A clean release empties it, so a pid found in it by the next
/// merge names one that died holding the lock, which is said.
struct Lock(File);

impl Lock {
    fn take(path: &Path, note: &mut dyn FnMut(&str)) -> Result<Lock, StateError> {
        let mut file = entry::open(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )?;
        let holder = |file: &File| {
            let text = entry::read_open(path, file, 64).unwrap_or_default();
            String::from_utf8_lossy(&text).trim().to_string()
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = holder(&file);
                let holder = (!pid.is_empty()).then_some(pid);
                return Err(StateError::new(
                    path,
                    Problem::Decisions(DecisionsError::Locked { holder }),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StateError::io(path, Doing::Lock, e));
            }
        }
        let stale = holder(&file);
        if !stale.is_empty() {
            note(&format!(
                "{}: taking over the lock of a merge (pid {stale}) that ended without releasing it",
                path.display()
            ));
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| StateError::io(path, Doing::Write, e))?;
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    /// Empties the file (a clean release), then the lock goes with the
    /// descriptor.
    fn drop(&mut self) {
        let _ = self.0.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_search_when_sorted_and_scan_when_not() {
        let sorted: NameList = ["a", "foo", "foo@@V2", "foo_bar", "z"]
            .into_iter()
            .collect();
        let unsorted: NameList = ["z", "foo_bar", "a", "foo@@V2", "foo"]
            .into_iter()
            .collect();
        assert!(sorted.is_sorted() && !unsorted.is_sorted());
        for list in [&sorted, &unsorted] {
            for n in ["a", "foo", "foo@@V2", "foo_bar", "z"] {
                assert!(list.contains(n.as_bytes()), "{n} in {list:?}");
            }
            for n in ["", "b", "fo", "foo@", "zz", "foo_ba"] {
                assert!(!list.contains(n.as_bytes()), "{n} not in {list:?}");
            }
        }
        assert_eq!(sorted.sorted_range_with_prefix("foo"), 1..4);
        assert_eq!(sorted.sorted_range_with_prefix("q"), 4..4);
        assert!(NameList::default().is_sorted() && !NameList::default().contains(b"a"));
    }

    fn d(directory: &str, hide: &[&str]) -> LinkDecision {
        LinkDecision {
            identity: Hash128(7),
            directory: directory.into(),
            output: format!("{directory}/libfoo.so"),
            hide: hide.iter().collect(),
        }
    }

    fn one(p: Option<Pick>) -> String {
        match p {
            Some(Pick::One(d)) => d.directory,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_name_list_is_stored_as_a_list_of_strings() {
        let names = vec!["foo@@V2".to_string(), String::new(), "bar".to_string()];
        let list: NameList = names.iter().collect();
        let bytes = postcard::to_stdvec(&list).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&names).unwrap());
        let back: NameList = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, list);
        assert_eq!(back.iter().collect::<Vec<_>>(), ["foo@@V2", "", "bar"]);
        let mut kept = back;
        kept.retain(|n| !n.is_empty());
        assert_eq!(kept.iter().collect::<Vec<_>>(), ["foo@@V2", "bar"]);
    }

    /// The lookup reads a window of the index where an evenly spread
    /// identity should be, then searches on either side of it: every
    /// identity is found, and absent ones are not, also at the ends of
    /// the index and with a skewed spread (both halves of the search).
    #[test]
    fn lookup_finds_every_identity_of_a_large_index() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(&dir.path().join("state")).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut ids: Vec<u128> = (0..3000)
            .map(|_| u128::from(next()) << 64 | u128::from(next()))
            .collect();
        // Crowded at both ends: the window misses on either side, and the
        // search goes on there.
        ids.extend((1..700u128).map(|i| i << 40));
        ids.extend((1..700u128).map(|i| u128::MAX - (i << 40)));
        ids.extend([0, u128::MAX]);
        let decisions = ids
            .iter()
            .map(|&id| LinkDecision {
                identity: Hash128(id),
                ..d("/a", &[id.to_string().as_str()])
            })
            .collect();
        let file = write_noting(&state, decisions, |_| {}).unwrap();
        for &id in &ids {
            let found = lookup(&file, Hash128(id)).unwrap();
            assert_eq!(found.len(), 1, "{id:x}");
            let name = id.to_string();
            assert_eq!(found[0].hide.iter().collect::<Vec<_>>(), [name.as_str()]);
        }
        for absent in [1, u128::MAX - 1, 5 << 40 | 1, ids[7] + 1] {
            assert!(lookup(&file, Hash128(absent)).unwrap().is_empty());
        }
    }

    /// A flipped entry byte, another version and foreign bytes are three
    /// kinds: only the first is damage.
    #[test]
    fn lookup_tells_damage_from_another_version() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(&dir.path().join("state")).unwrap();
        let id = Hash128(7);
        let decisions = vec![LinkDecision {
            identity: id,
            ..d("/a", &["f"])
        }];
        let file = write_noting(&state, decisions, |_| {}).unwrap();
        let good = std::fs::read(&file).unwrap();
        let kind = |bytes: &[u8]| {
            std::fs::write(&file, bytes).unwrap();
            let e = lookup(&file, id).unwrap_err();
            let damage = e.is_damage();
            match e.problem {
                Problem::Decisions(k) => (k, damage),
                other => panic!("{other}"),
            }
        };
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            kind(&flipped),
            (DecisionsError::EntryChecksum, true)
        ));
        let mut newer = good.clone();
        newer[8] = newer[8].wrapping_add(1);
        assert!(matches!(
            kind(&newer),
            (DecisionsError::Version(Some(_)), false)
        ));
        assert!(matches!(
            kind(&[b'x'; HEADER as usize]),
            (DecisionsError::BadMagic, false)
        ));
    }

    #[test]
    fn the_only_decision_whatever_the_directory() {
        assert_eq!(one(choose(vec![d("/a/x", &["f"])], "/ci/9/x")), "/a/x");
        assert_eq!(choose(Vec::new(), "/a"), None);
    }

    #[test]
    fn equal_identities_by_directory() {
        let two = || vec![d("/a/p1/lib", &["f"]), d("/a/p2/lib", &["g"])];
        // The same directory.
        assert_eq!(one(choose(two(), "/a/p2/lib")), "/a/p2/lib");
        // A relocated tree: the most trailing components in common.
        assert_eq!(one(choose(two(), "/ci/9/p1/lib")), "/a/p1/lib");
        // Nothing tells them apart and they disagree: what both hide.
        let both = vec![d("/a/p1/lib", &["f", "h"]), d("/a/p2/lib", &["h", "g"])];
        assert_eq!(
            choose(both, "/ci/9/p3/lib"),
            Some(Pick::Intersection {
                hide: ["h"].into_iter().collect(),
                directories: vec!["/a/p1/lib".into(), "/a/p2/lib".into()],
            })
        );
        // They agree: either.
        let same = vec![d("/a/p1", &["f", "g"]), d("/a/p2", &["g", "f"])];
        assert!(matches!(choose(same, "/b"), Some(Pick::One(_))));
    }
}
