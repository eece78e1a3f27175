//! DIR/archives.ldpa: which archives hold LTO IR members, by file identity.
//!
//! A Run-1 link that loads an LTO plugin must know whether an archive of
//! its command line holds members with IR (the LTO plugin claims them
//! unseen). Finding out walks every member of the archive: libgcc.a alone
//! cost 6.7M instructions and hundreds of reads in every gcc link's cleanup.
//! The system archives are the same in every link of a build, so the answer
//! is kept here, keyed by (device, inode, size, mtime): a changed archive
//! is a new key.
//!
//! ```text
//! ldprune archive-ir 1
//! DEV INO SIZE MTIME_S MTIME_NS 0|1      one line per archive
//! ```
//! Text, small (one line per distinct archive), rewritten whole through a
//! temp file and rename when a link learned something new. Two links that
//! write at once lose one's lines: they are learnt again. A damaged file
//! is ignored (and replaced by the next write).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::{StateDir, StateError, entry};
use crate::fasthash::FxHashMap;

const HEADER: &str = "ldprune archive-ir 1\n";
/// More archives than a build links: past this, the file starts over.
const MAX_ENTRIES: usize = 4096;

/// An archive's file identity: its answer holds while this is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl FileKey {
    /// The key of a stat'ed file; None if it is no regular file.
    pub fn of_metadata(m: &std::fs::Metadata) -> Option<FileKey> {
        m.is_file().then(|| FileKey {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
        })
    }
}

/// The answers known in a state directory, and those learnt in this link.
#[derive(Debug, Default)]
pub struct ArchiveIr {
    known: FxHashMap<FileKey, bool>,
    learnt: bool,
}

pub fn path(state: &StateDir) -> PathBuf {
    state.root().join("archives.ldpa")
}

impl ArchiveIr {
    /// The answers of `state`; none when the file is missing or damaged.
    pub fn load(state: &StateDir) -> ArchiveIr {
        let mut cache = ArchiveIr::default();
        let Ok(bytes) = entry::read(&path(state), 1 << 20) else {
            return cache;
        };
        let Some(body) = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| t.strip_prefix(HEADER))
        else {
            return cache;
        };
        for line in body.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let n = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
            let (Some(dev), Some(ino), Some(size), Some(s), Some(ns), Some(ir)) =
                (n(0), n(1), n(2), n(3), n(4), n(5))
            else {
                return ArchiveIr::default();
            };
            let key = FileKey {
                dev: dev as u64,
                ino: ino as u64,
                size: size as u64,
                mtime: (s, ns),
            };
            cache.known.insert(key, ir != 0);
        }
        cache
    }

    /// Whether the archive of `key` holds IR; `find` answers when unknown.
    pub fn has_ir(&mut self, key: FileKey, find: impl FnOnce() -> bool) -> bool {
        if let Some(&ir) = self.known.get(&key) {
            return ir;
        }
        let ir = find();
        if self.known.len() >= MAX_ENTRIES {
            self.known.clear();
        }
        self.known.insert(key, ir);
        self.learnt = true;
        ir
    }

    /// Writes the answers back when this link learnt one.
    pub fn save(&self, state: &StateDir) -> Result<(), StateError> {
        if !self.learnt {
            return Ok(());
        }
        let mut text = String::from(HEADER);
        for (k, ir) in &self.known {
            text.push_str(&format!(
                "{} {} {} {} {} {}\n",
                k.dev,
                k.ino,
                k.size,
                k.mtime.0,
                k.mtime.1,
                u8::from(*ir)
            ));
        }
        state
            .stage_bytes(text.as_bytes(), path(state), "archives.ldpa")?
            .publish()
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_a_round_trip_and_a_changed_file_is_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::create(dir.path()).unwrap();
        let archive = dir.path().join("libx.a");
        std::fs::write(&archive, b"!<arch>\n").unwrap();
        let key = FileKey::of_metadata(&std::fs::metadata(&archive).unwrap()).unwrap();
        let mut cache = ArchiveIr::load(&state);
        assert!(cache.has_ir(key, || true));
        cache.save(&state).unwrap();
        let mut again = ArchiveIr::load(&state);
        assert!(again.has_ir(key, || panic!("asked again")));
        std::fs::write(&archive, b"!<arch>\nmore").unwrap();
        let changed = FileKey::of_metadata(&std::fs::metadata(&archive).unwrap()).unwrap();
        assert!(!again.has_ir(changed, || false));
        // A damaged file is no answer.
        std::fs::write(path(&state), "ldprune archive-ir 1\n1 2 x\n").unwrap();
        assert!(ArchiveIr::load(&state).known.is_empty());
    }
}
