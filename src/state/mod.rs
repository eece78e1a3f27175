//! The state directory: the only thing Run-1, the merge and Run-2 share.
//!
//! ```text
//! DIR/ldprune-state          marker: "ldprune state directory, format N"
//! DIR/links/<id>-<cwd>.rec   one link record per file
//! DIR/tmp/                   files being written; renamed into place
//! DIR/decisions.ldpd         the merge's decisions (decisions.rs)
//! DIR/applied/, DIR/apply.log what Run-2 did (applied.rs)
//! ```
//! Every file is written under a unique temp name in `tmp/` and renamed into
//! place, so concurrent linkers (make -j, build farms on a shared directory)
//! never see or leave half-written files, and no lock is needed.
//!
//! The entries are untrusted input: no symbolic link inside the directory is
//! followed, nothing but regular files is opened, and no more is read than a
//! file's length (entry.rs).

pub mod applied;
pub mod archive_ir;
pub mod codec;
pub mod decisions;
pub mod entry;
pub mod record;
pub mod scratch;

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use codec::FileKind;
use record::{EncodedObjects, LinkRecord};
use serde::de::DeserializeOwned;

pub use applied::{AppliedRecord, LogLine};

use crate::elf::hash::{Hash128, StructHasher};

/// Version of the directory layout.
pub const STATE_FORMAT: u32 = 1;
/// Version of the link record encoding. 8: the link identity no longer
/// hashes the directory part of `-o` (records of 7 carry identities Run-2
/// would never compute again). 9: the linker that wrote the output
/// (`output_linker`). 10: what the prediction counts (section alignment,
/// FDEs, whole-pointer relocations, named locals, the output's layout and
/// its PLT/GOT slots of its own exports). 11: the PLT/GOT slots of its
/// imports too. 12: the output's symbol and PLT/GOT lists in `.dynsym`
/// order, which [`load_record`] sorts (an older ldprune, which would
/// search them as sorted, refuses the file by this number).
pub const RECORD_FORMAT: u32 = 12;
/// The oldest record format this ldprune reads: 11 is 12 with its lists
/// sorted.
pub const RECORD_FORMAT_OLDEST: u32 = 11;
/// Version of the Run-2 result encoding. 2: the output's build-id and the
/// linker that wrote the output.
pub const APPLIED_FORMAT: u32 = 2;

const MARKER: &str = "ldprune-state";

/// A problem with one path of the state directory, said for a user.
#[derive(Debug)]
pub struct StateError {
    pub path: PathBuf,
    pub problem: Problem,
}

/// What is wrong with a [`StateError`]'s path: a missing or unreadable
/// file, one of the wrong type, a foreign or other-version one and a
/// damaged one are told apart by the variant, not by the text.
#[derive(Debug)]
pub enum Problem {
    /// A file-system call on the path failed.
    Io { doing: Doing, error: std::io::Error },
    /// An entry that is not what ldprune keeps there: a symbolic link
    /// (never followed), a FIFO, a device, a directory for a file, ...
    Misplaced { is: fs::FileType, want: Want },
    /// Longer than any state file ldprune writes (`cap`); not read.
    TooBig { len: u64, cap: u64 },
    /// [`StateDir::open`] of a path that is not a directory.
    NoStateDirectory,
    /// [`StateDir::create`] of a directory that holds other things.
    Foreign,
    /// The marker cannot be read (why), or holds something else (None).
    NotStateDirectory(Option<Box<Problem>>),
    /// The marker is that of another layout version (its line).
    OtherFormat(String),
    /// The file's container: not a state file of its kind, another
    /// format version, damaged bytes, or a value that cannot be encoded.
    Codec(codec::CodecError),
    /// A link record that decodes but whose indices do not hold.
    Damaged(record::RecordError),
    /// A line of apply.log (1-based) that is not one.
    LogLine(usize),
    /// The decisions file or its lock (see [`decisions::DecisionsError`]).
    Decisions(decisions::DecisionsError),
}

/// The file-system call of a [`Problem::Io`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    Open,
    Stat,
    Read,
    Write,
    List,
    Lock,
    UseDirectory,
    CreateDirectory,
    RenameIntoPlace,
}

/// What belongs at a path (see [`Problem::Misplaced`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    File,
    Directory,
}

impl StateError {
    pub(crate) fn new(path: &Path, problem: Problem) -> Self {
        StateError {
            path: path.to_path_buf(),
            problem,
        }
    }

    pub(crate) fn io(path: &Path, doing: Doing, error: std::io::Error) -> Self {
        StateError::new(path, Problem::Io { doing, error })
    }

    pub(crate) fn codec(path: &Path, e: codec::CodecError) -> Self {
        StateError::new(path, Problem::Codec(e))
    }

    /// The file is damaged (rather than missing, unreadable, misplaced,
    /// foreign, of another version or locked): writing it again (the link
    /// recorded again, the merge run again) or removing it fixes it.
    pub fn is_damage(&self) -> bool {
        match &self.problem {
            Problem::Codec(e) => e.is_damage(),
            Problem::Damaged(_) => true,
            Problem::Decisions(e) => e.is_damage(),
            _ => false,
        }
    }
}

impl fmt::Display for Doing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Doing::Open => "cannot open",
            Doing::Stat => "cannot stat",
            Doing::Read => "cannot read",
            Doing::Write => "cannot write",
            Doing::List => "cannot list",
            Doing::Lock => "cannot lock",
            Doing::UseDirectory => "cannot use directory",
            Doing::CreateDirectory => "cannot create directory",
            Doing::RenameIntoPlace => "cannot rename into place",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io { doing, error } => write!(f, "{doing}: {error}"),
            Problem::Misplaced { is, .. } if is.is_symlink() => f.write_str(
                "is a symbolic link; ldprune never follows links inside a state directory",
            ),
            Problem::Misplaced { is, want } => {
                let want = match want {
                    Want::File => "a regular file",
                    Want::Directory => "a directory",
                };
                write!(f, "is {}, not {want}", entry::what(is))
            }
            Problem::TooBig { len, cap } => write!(
                f,
                "is {len} bytes, more than an ldprune state file can be ({cap})"
            ),
            Problem::NoStateDirectory => f.write_str("no such state directory"),
            Problem::Foreign => {
                f.write_str("exists, is not empty and is not an ldprune state directory")
            }
            Problem::NotStateDirectory(Some(why)) => {
                write!(f, "not an ldprune state directory ({why})")
            }
            Problem::NotStateDirectory(None) => {
                f.write_str("not an ldprune state directory (the marker holds something else)")
            }
            Problem::OtherFormat(line) => write!(
                f,
                "state directory of another format ({line:?}); this ldprune uses format {STATE_FORMAT}"
            ),
            Problem::Codec(e) => e.fmt(f),
            Problem::Damaged(e) => write!(f, "damaged: {e}"),
            Problem::LogLine(n) => write!(
                f,
                "line {n}: not an apply.log line (5 tab-separated fields)"
            ),
            Problem::Decisions(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io { error, .. } => Some(error),
            Problem::Codec(e) => Some(e),
            Problem::Damaged(e) => Some(e),
            _ => None,
        }
    }
}

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
        if let Err(e) = self.check_dest_dir() {
            self.discard();
            return Err(e);
        }
        fs::rename(&self.temp, &self.dest).map_err(|e| {
            let _ = fs::remove_file(&self.temp);
            StateError::io(&self.dest, Doing::RenameIntoPlace, e)
        })?;
        Ok(self.dest)
    }

    pub fn discard(self) {
        let _ = fs::remove_file(&self.temp);
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The directory the file goes to, unless it is the state directory
    /// itself, must be a real directory (rename never follows a link as its
    /// last component, but it does follow a linked `links/`).
    fn check_dest_dir(&self) -> Result<(), StateError> {
        match (
            self.dest.parent(),
            self.temp.parent().and_then(Path::parent),
        ) {
            (Some(dir), Some(root)) if dir != root => entry::check_dir(dir),
            _ => Ok(()),
        }
    }
}

impl StateDir {
    /// Opens `root`, creating it (and its marker) if needed. Refuses a
    /// directory of another format version or one that is not a state dir
    /// but already holds other files. A directory holding only a copied
    /// `decisions.ldpd` becomes a state directory: that is how the
    /// decisions of one merge are handed to Run-2 on other build workers.
    pub fn create(root: &Path) -> Result<StateDir, StateError> {
        let dir = StateDir {
            root: root.to_path_buf(),
        };
        let marker = root.join(MARKER);
        // lstat: a marker that is a link exists (and is refused below).
        let has_marker = fs::symlink_metadata(&marker).is_ok();
        if !has_marker {
            // Concurrent first writers may have made links/ and tmp/ already;
            // a wrapper may have logged before the first plugin ran.
            if let Ok(entries) = fs::read_dir(root) {
                let foreign = entries.filter_map(Result::ok).any(|e| {
                    let name = e.file_name();
                    !matches!(
                        name.to_str(),
                        Some(
                            "links" | "tmp" | "applied" | "wrapper.log" | "decisions.ldpd" | MARKER
                        )
                    )
                });
                if foreign {
                    return Err(StateError::new(root, Problem::Foreign));
                }
            }
        }
        // The state directory itself may be a link (the user's choice); it
        // exists if its marker does.
        if !has_marker {
            fs::create_dir_all(root)
                .map_err(|e| StateError::io(root, Doing::CreateDirectory, e))?;
        }
        for sub in ["links", "tmp", "applied"] {
            entry::ensure_dir(&root.join(sub))?;
        }
        if !has_marker {
            let staged = dir.stage_bytes(marker_text().as_bytes(), marker.clone(), MARKER)?;
            staged.publish()?;
        }
        dir.check_marker()?;
        Ok(dir)
    }

    /// Opens an existing state directory for reading.
    pub fn open(root: &Path) -> Result<StateDir, StateError> {
        if !root.is_dir() {
            return Err(StateError::new(root, Problem::NoStateDirectory));
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
        // A marker is one short line; whatever else is there is not printed
        // (a marker linked to another file must not show that file).
        let bytes = entry::read(&marker, 256).map_err(|e| {
            StateError::new(
                &marker,
                Problem::NotStateDirectory(Some(Box::new(e.problem))),
            )
        })?;
        let text = String::from_utf8_lossy(&bytes);
        if text != marker_text() {
            let line = text.trim();
            let problem = match line.strip_prefix("ldprune state directory, format ") {
                Some(v) if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() => {
                    Problem::OtherFormat(line.to_string())
                }
                _ => Problem::NotStateDirectory(None),
            };
            return Err(StateError::new(&marker, problem));
        }
        Ok(())
    }

    /// What is in the wrong place in the directory: a link, FIFO or device
    /// where ldprune keeps a file or a directory. `status` reports these.
    pub fn misplaced_entries(&self) -> Vec<StateError> {
        let dirs = ["links", "tmp", "applied"].map(|d| (d, true));
        let files = [
            MARKER,
            "apply.log",
            "wrapper.log",
            "decisions.ldpd",
            "decisions.lock",
            "archives.ldpa",
        ]
        .map(|f| (f, false));
        dirs.iter()
            .chain(&files)
            .filter_map(|(name, dir)| entry::misplaced(&self.root.join(name), *dir))
            .collect()
    }

    /// Writes `record` under a temp name; `publish` makes it visible.
    pub fn stage_record(&self, record: &LinkRecord) -> Result<StagedFile, StateError> {
        self.stage_record_with(record, &EncodedObjects::default())
    }

    /// [`Self::stage_record`] for a record whose objects are `record.objects`
    /// and then `more`.
    pub fn stage_record_with(
        &self,
        record: &LinkRecord,
        more: &EncodedObjects,
    ) -> Result<StagedFile, StateError> {
        let bytes = codec::encode_with(FileKind::LinkRecord, RECORD_FORMAT, |out| {
            record::encode_record(out, record, more)
        })
        .map_err(|e| StateError::codec(&self.root, e))?;
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
        let tmp = self.root.join("tmp");
        entry::check_dir(&tmp)?;
        let temp = tmp.join(format!(
            "{name}.{}.{nanos}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // create_new: O_EXCL, so never into an existing file or link.
        let written = entry::open(&temp, OpenOptions::new().write(true).create_new(true)).and_then(
            |mut f| {
                f.write_all(bytes)
                    .map_err(|e| StateError::io(&temp, Doing::Write, e))
            },
        );
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        Ok(StagedFile { temp, dest })
    }

    /// Paths of all link records, sorted (so every reader sees one order).
    pub fn record_paths(&self) -> Result<Vec<PathBuf>, StateError> {
        let links = self.root.join("links");
        entry::check_dir(&links)?;
        let mut paths = Vec::new();
        let entries = fs::read_dir(&links).map_err(|e| StateError::io(&links, Doing::List, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StateError::io(&links, Doing::List, e))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rec") {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }

    /// Loads every record; a file that cannot be used is returned as an
    /// error (and left untouched), never half-used.
    pub fn load_records(&self) -> Result<Loaded, StateError> {
        self.load_records_with(|_, _| {})
    }

    /// As [`Self::load_records`], calling `progress(done, total)` after each
    /// file (see [`load_in_order`]).
    pub fn load_records_with(
        &self,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Loaded, StateError> {
        let paths = self.record_paths()?;
        let total = paths.len();
        let mut loaded = Loaded::default();
        let mut ok: Vec<Option<LinkRecord>> = Vec::with_capacity(total);
        load_in_order(
            &paths,
            |_, path| load_record(path),
            |i, r| {
                match r {
                    Ok(r) => ok.push(Some(r)),
                    Err(e) => {
                        ok.push(None);
                        loaded.bad.push(e);
                    }
                }
                progress(i + 1, total);
            },
        );
        for (path, r) in paths.into_iter().zip(ok) {
            if let Some(r) = r {
                loaded.records.push((path, r));
            }
        }
        Ok(loaded)
    }
}

/// Runs `load(i, path)` on every path on every core (a distribution's 100,000
/// records are minutes of decoding on one) and hands the results to `each`
/// in this thread in path order, whatever order they finished in: at most
/// a few are held back, so whatever `load` keeps of a record is all that
/// is in memory of those not yet handed on.
pub fn load_in_order<T: Send>(
    paths: &[PathBuf],
    load: impl Fn(usize, &Path) -> T + Sync,
    mut each: impl FnMut(usize, T),
) {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len().max(1));
    let next = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel(4 * workers);
        for _ in 0..workers {
            let (send, next, load) = (send.clone(), &next, &load);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(path) = paths.get(i) else { break };
                    if send.send((i, load(i, path))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(send);
        // Results that came before their turn.
        let mut early = std::collections::BTreeMap::new();
        let mut turn = 0;
        for (i, t) in receive {
            early.insert(i, t);
            while let Some(t) = early.remove(&turn) {
                each(turn, t);
                turn += 1;
            }
        }
        // A worker that panicked: scope propagates it when it ends.
    });
}

/// Reads the head of one record file ([`record::RecordHead`]) from the
/// file's start. The checksum covers the whole record and is checked when
/// it is loaded; a head that goes beyond the start, or a file that is not
/// a record of this version, is read by loading the record whole (which
/// gives the error loading it gives).
pub fn load_head(path: &Path) -> Result<record::RecordHead, StateError> {
    const START: u64 = 4096;
    let start = entry::open_read(path).ok().and_then(|file| {
        let mut bytes = Vec::with_capacity(START as usize);
        file.take(START).read_to_end(&mut bytes).ok()?;
        codec::decode_head(
            FileKind::LinkRecord,
            RECORD_FORMAT_OLDEST..=RECORD_FORMAT,
            &bytes,
        )
    });
    match start {
        Some(head) => Ok(head),
        None => load_record(path).map(|r| record::RecordHead::of(&r)),
    }
}

/// Reads and checks one record file.
pub fn load_record(path: &Path) -> Result<LinkRecord, StateError> {
    let mut record: LinkRecord = read_file(
        path,
        FileKind::LinkRecord,
        RECORD_FORMAT_OLDEST..=RECORD_FORMAT,
    )?;
    (record.validate()).map_err(|e| StateError::new(path, Problem::Damaged(e)))?;
    record.sort_lists();
    Ok(record)
}

/// Reads and decodes one state file: a regular file, not a link, read up
/// to its length.
fn read_file<T: DeserializeOwned>(
    path: &Path,
    kind: FileKind,
    versions: std::ops::RangeInclusive<u32>,
) -> Result<T, StateError> {
    let bytes = entry::read(path, entry::MAX_FILE)?;
    codec::decode_any(kind, versions, &bytes).map_err(|e| StateError::codec(path, e))
}

/// `<identity>-<hash of the directory (and output)>.<ext>`: one file per
/// link and directory, so the same link run again replaces its file.
pub(crate) fn file_name(identity: Hash128, cwd: &str, output: Option<&str>, ext: &str) -> String {
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
