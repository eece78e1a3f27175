//! The state directory: the only thing Run-1, the merge and Run-2 share.
//!
//! ```text
//! DIR/ldprune-state          marker: "ldprune state directory, format N"
//! DIR/links/<id>-<cwd>.rec   one link record per file
//! DIR/tmp/                   files being written; renamed into place
//! ```
//! Every file is written under a unique temp name in `tmp/` and renamed into
//! place, so concurrent linkers (make -j, build farms on a shared directory)
//! never see or leave half-written files, and no lock is needed.

pub mod codec;
pub mod decisions;
pub mod record;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use codec::FileKind;
use record::LinkRecord;

use crate::elf::hash::{Hash128, StructHasher};

/// Version of the directory layout.
pub const STATE_FORMAT: u32 = 1;
/// Version of the link record encoding.
pub const RECORD_FORMAT: u32 = 7;
/// Version of the Run-2 result encoding.
pub const APPLIED_FORMAT: u32 = 1;

const MARKER: &str = "ldprune-state";

/// A problem with one path of the state directory, said for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub path: PathBuf,
    pub problem: String,
}

impl StateError {
    pub(crate) fn new(path: &Path, problem: impl Into<String>) -> Self {
        StateError {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for StateError {}

/// The records of a state directory, and the files that could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<(PathBuf, LinkRecord)>,
    pub bad: Vec<StateError>,
}

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// A record written under its temp name, not yet visible to readers.
#[derive(Debug)]
pub struct StagedFile {
    temp: PathBuf,
    dest: PathBuf,
}

impl StagedFile {
    /// Makes the file visible under its final name (atomic rename).
    pub fn publish(self) -> Result<PathBuf, StateError> {
        fs::rename(&self.temp, &self.dest).map_err(|e| {
            let _ = fs::remove_file(&self.temp);
            StateError::new(&self.dest, format!("cannot rename into place: {e}"))
        })?;
        Ok(self.dest)
    }

    pub fn discard(self) {
        let _ = fs::remove_file(&self.temp);
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

impl StateDir {
    /// Opens `root`, creating it (and its marker) if needed. Refuses a
    /// directory of another format version or one that is not a state dir
    /// but already holds other files.
    pub fn create(root: &Path) -> Result<StateDir, StateError> {
        let dir = StateDir {
            root: root.to_path_buf(),
        };
        let marker = root.join(MARKER);
        if !marker.exists() {
            // Concurrent first writers may have made links/ and tmp/ already;
            // a wrapper may have logged before the first plugin ran.
            if let Ok(entries) = fs::read_dir(root) {
                let foreign = entries.filter_map(Result::ok).any(|e| {
                    let name = e.file_name();
                    !matches!(
                        name.to_str(),
                        Some("links" | "tmp" | "applied" | "wrapper.log" | MARKER)
                    )
                });
                if foreign {
                    return Err(StateError::new(
                        root,
                        "exists, is not empty and is not an ldprune state directory",
                    ));
                }
            }
        }
        for sub in ["links", "tmp", "applied"] {
            let p = root.join(sub);
            fs::create_dir_all(&p)
                .map_err(|e| StateError::new(&p, format!("cannot create directory: {e}")))?;
        }
        if !marker.exists() {
            let staged = dir.stage_bytes(marker_text().as_bytes(), marker.clone(), MARKER)?;
            staged.publish()?;
        }
        dir.check_marker()?;
        Ok(dir)
    }

    /// Opens an existing state directory for reading.
    pub fn open(root: &Path) -> Result<StateDir, StateError> {
        if !root.is_dir() {
            return Err(StateError::new(root, "no such state directory"));
        }
        let dir = StateDir {
            root: root.to_path_buf(),
        };
        dir.check_marker()?;
        Ok(dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check_marker(&self) -> Result<(), StateError> {
        let marker = self.root.join(MARKER);
        let text = fs::read_to_string(&marker).map_err(|e| {
            StateError::new(&marker, format!("not an ldprune state directory ({e})"))
        })?;
        if text != marker_text() {
            return Err(StateError::new(
                &marker,
                format!(
                    "state directory of another format ({:?}); this ldprune uses format {STATE_FORMAT}",
                    text.trim()
                ),
            ));
        }
        Ok(())
    }

    /// Writes `record` under a temp name; `publish` makes it visible.
    pub fn stage_record(&self, record: &LinkRecord) -> Result<StagedFile, StateError> {
        let bytes = codec::encode(FileKind::LinkRecord, RECORD_FORMAT, record)
            .map_err(|e| StateError::new(&self.root, e))?;
        let name = file_name(record.identity, &record.cwd, None, "rec");
        self.stage_bytes(&bytes, self.root.join("links").join(&name), &name)
    }

    pub(crate) fn stage_bytes(
        &self,
        bytes: &[u8],
        dest: PathBuf,
        name: &str,
    ) -> Result<StagedFile, StateError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let temp = self.root.join("tmp").join(format!(
            "{name}.{}.{nanos}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&temp, bytes).map_err(|e| {
            let _ = fs::remove_file(&temp);
            StateError::new(&temp, format!("cannot write: {e}"))
        })?;
        Ok(StagedFile { temp, dest })
    }

    /// Writes what Run-2 achieved for one link (applied/, same naming).
    pub fn write_applied(&self, rec: &crate::apply::AppliedRecord) -> Result<PathBuf, StateError> {
        let dir = self.root.join("applied");
        fs::create_dir_all(&dir)
            .map_err(|e| StateError::new(&dir, format!("cannot create directory: {e}")))?;
        let bytes = codec::encode(FileKind::Applied, APPLIED_FORMAT, rec)
            .map_err(|e| StateError::new(&dir, e))?;
        let name = file_name(rec.identity, &rec.cwd, Some(&rec.output), "app");
        self.stage_bytes(&bytes, dir.join(&name), &name)?.publish()
    }

    /// Every Run-2 result; unusable files come back as errors.
    pub fn load_applied(&self) -> (Vec<crate::apply::AppliedRecord>, Vec<StateError>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        let mut paths: Vec<PathBuf> = fs::read_dir(self.root.join("applied"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "app"))
        {
            let r = fs::read(p)
                .map_err(|e| e.to_string())
                .and_then(|b| codec::decode(FileKind::Applied, APPLIED_FORMAT, &b));
            match r {
                Ok(r) => good.push(r),
                Err(e) => bad.push(StateError::new(p, e)),
            }
        }
        (good, bad)
    }

    /// Paths of all link records, sorted (so every reader sees one order).
    pub fn record_paths(&self) -> Result<Vec<PathBuf>, StateError> {
        let links = self.root.join("links");
        let mut paths = Vec::new();
        let entries = fs::read_dir(&links)
            .map_err(|e| StateError::new(&links, format!("cannot list: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| StateError::new(&links, format!("cannot list: {e}")))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rec") {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }

    /// Files left in `tmp/` by writers that never finished (killed links).
    pub fn leftover_temps(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(self.root.join("tmp"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Loads every record; a file that cannot be used is returned as an
    /// error (and left untouched), never half-used.
    pub fn load_records(&self) -> Result<Loaded, StateError> {
        self.load_records_with(|_, _| {})
    }

    /// As [`Self::load_records`], calling `progress(done, total)` after each file.
    pub fn load_records_with(
        &self,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Loaded, StateError> {
        let mut loaded = Loaded::default();
        let paths = self.record_paths()?;
        let total = paths.len();
        for (i, path) in paths.into_iter().enumerate() {
            match load_record(&path) {
                Ok(r) => loaded.records.push((path, r)),
                Err(e) => loaded.bad.push(e),
            }
            progress(i + 1, total);
        }
        Ok(loaded)
    }
}

/// Reads and checks one record file.
pub fn load_record(path: &Path) -> Result<LinkRecord, StateError> {
    let bytes = fs::read(path).map_err(|e| StateError::new(path, format!("cannot read: {e}")))?;
    let record: LinkRecord = codec::decode(FileKind::LinkRecord, RECORD_FORMAT, &bytes)
        .map_err(|e| StateError::new(path, e))?;
    record
        .validate()
        .map_err(|e| StateError::new(path, format!("damaged: {e}")))?;
    Ok(record)
}

/// `<identity>-<hash of the directory (and output)>.<ext>`: one file per
/// link and directory, so the same link run again replaces its file.
fn file_name(identity: Hash128, cwd: &str, output: Option<&str>, ext: &str) -> String {
    let mut h = StructHasher::new(b"cwd");
    h.str(cwd);
    if let Some(o) = output {
        h.str(o);
    }
    format!("{identity}-{:08x}.{ext}", h.finish().0 as u32)
}

fn marker_text() -> String {
    format!("ldprune state directory, format {STATE_FORMAT}\n")
}
