//! Files this process hands to the linker and that must not outlive it
//! (Run-2's stub object on ld.bfd), and the unfinished files of `tmp/`.
//!
//! A scratch file has no name where it can be helped: it is created
//! unnamed in `tmp/` (`O_TMPFILE`) and the linker opens it as
//! `/proc/self/fd/N`, the descriptor this process keeps. Nothing can rename
//! another file over it between its writing and the linker's open (a shared
//! or hostile state directory), nothing is left behind when the link is
//! killed, and `status` never sees it. Where the file system or the
//! environment has no such files (no `O_TMPFILE`, no `/proc`), it is a named
//! file in `tmp/`, removed by [`Scratch::remove`] at the end of the link.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{StateDir, StateError, entry};

/// A file written for the linker to read during this link.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    /// The unnamed file's descriptor, kept open while the linker may open
    /// it by `path`; None for a named file.
    unnamed: Option<File>,
}

impl Scratch {
    /// The name the linker opens it by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it is an unnamed file (nothing to remove, nothing to race).
    pub fn is_unnamed(&self) -> bool {
        self.unnamed.is_some()
    }

    /// Gone for good: a named file is removed, an unnamed one closed.
    pub fn remove(self) {
        if self.unnamed.is_none() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl StateDir {
    /// Writes `bytes` to a scratch file in `tmp/`: unnamed where it can be,
    /// else named `name.PID....tmp` (see the module comment).
    pub fn write_scratch(&self, bytes: &[u8], name: &str) -> Result<Scratch, StateError> {
        let tmp = self.root.join("tmp");
        entry::check_dir(&tmp)?;
        match unnamed(&tmp, bytes) {
            Some(s) => Ok(s),
            None => self.named_scratch(bytes, name),
        }
    }

    fn named_scratch(&self, bytes: &[u8], name: &str) -> Result<Scratch, StateError> {
        let staged = self.stage_bytes(bytes, PathBuf::new(), name)?;
        Ok(Scratch {
            path: staged.temp,
            unnamed: None,
        })
    }

    /// Files left in `tmp/` by writers that have not finished: links still
    /// running, or killed while writing.
    pub fn leftover_temps(&self) -> Vec<Leftover> {
        let tmp = self.root.join("tmp");
        if entry::check_dir(&tmp).is_err() {
            return Vec::new();
        }
        let now = SystemTime::now();
        let mut v: Vec<Leftover> = fs::read_dir(&tmp)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| Leftover::of(e.path(), now))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }
}

/// The unnamed scratch file holding `bytes`, or None where the file system
/// or `/proc` cannot give one (the caller writes a named file instead).
fn unnamed(tmp: &Path, bytes: &[u8]) -> Option<Scratch> {
    // The tests' plugin (a debug build) takes the named way when told to:
    // no file system of a test machine lacks O_TMPFILE, and the fallback
    // must be shown to work through a real linker.
    #[cfg(debug_assertions)]
    if std::env::var_os("LDPRUNE_TEST_NO_TMPFILE").is_some() {
        return None;
    }
    // O_EXCL: the file can never be given a name (linkat) afterwards.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE | libc::O_EXCL)
        .open(tmp)
        .ok()?;
    file.write_all(bytes).ok()?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    // The linker opens the path, not the descriptor: it must lead to this
    // very file (a chroot without /proc, or one of another process, does not).
    let by_fd = file.metadata().ok()?;
    let by_path = fs::metadata(&path).ok()?;
    if (by_fd.dev(), by_fd.ino()) != (by_path.dev(), by_path.ino()) {
        return None;
    }
    Some(Scratch {
        path,
        unnamed: Some(file),
    })
}

/// How long a link may still be writing a file of `tmp/`: one older than
/// this, whose process is gone, was left by a link that was killed.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// A file of `tmp/` (see [`StateDir::leftover_temps`]).
#[derive(Debug)]
pub struct Leftover {
    pub path: PathBuf,
    /// Left by a link that no longer runs: its process is gone and the file
    /// is older than [`LEFTOVER_AGE`]. Otherwise it may be a running link's
    /// (one of another PID namespace too: a container sharing the directory),
    /// whose link fails if the file goes.
    pub abandoned: bool,
}

impl Leftover {
    fn of(path: PathBuf, now: SystemTime) -> Leftover {
        let old = fs::symlink_metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= LEFTOVER_AGE);
        let abandoned = old && writer_pid(&path).is_none_or(|pid| !process_exists(pid));
        Leftover { path, abandoned }
    }
}

/// The writer's process id in a temp name (`NAME.PID.NANOS.N.tmp`).
/// As bytes: the NAME part may be any file name.
fn writer_pid(path: &Path) -> Option<u32> {
    use std::os::unix::ffi::OsStrExt;
    let name = path.file_name()?.as_bytes();
    let mut fields = name.strip_suffix(b".tmp")?.rsplitn(4, |&b| b == b'.');
    let (_n, _nanos, pid) = (fields.next()?, fields.next()?, fields.next()?);
    std::str::from_utf8(pid).ok()?.parse().ok()
}

fn process_exists(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_pid_is_read_from_the_temp_name() {
        let p = Path::new("/d/tmp/stub.o.4242.1764500000000000000.3.tmp");
        assert_eq!(writer_pid(p), Some(4242));
        let p = Path::new("/d/tmp/a.b.rec.17.99.0.tmp");
        assert_eq!(writer_pid(p), Some(17));
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"n\xff.rec.31.99.0.tmp");
        assert_eq!(writer_pid(Path::new(odd)), Some(31));
        assert_eq!(writer_pid(Path::new("/d/tmp/junk")), None);
        assert_eq!(writer_pid(Path::new("/d/tmp/x.y.tmp")), None);
    }

    #[test]
    fn scratch_files_are_read_by_their_path_and_never_called_abandoned() {
        let dir = std::env::temp_dir().join(format!("ldprune-scratch-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let state = StateDir::create(&dir).expect("state dir");
        let s = state
            .write_scratch(b"stub bytes", "stub.o")
            .expect("scratch");
        assert_eq!(fs::read(s.path()).expect("read by path"), b"stub bytes");
        // An unnamed file is never listed.
        let listed = state.leftover_temps().len();
        assert_eq!(listed, usize::from(!s.is_unnamed()));
        s.remove();
        assert!(state.leftover_temps().is_empty());
        // A named one (no O_TMPFILE or /proc): listed, but as a running
        // link's, until it is removed.
        let s = state.named_scratch(b"stub bytes", "stub.o").expect("named");
        assert_eq!(fs::read(s.path()).expect("read by path"), b"stub bytes");
        let left = state.leftover_temps();
        assert_eq!(left.len(), 1);
        assert!(!left[0].abandoned, "a running writer's file is abandoned");
        s.remove();
        assert!(state.leftover_temps().is_empty());
        // A writer that is gone (no such process: above pid_max): abandoned
        // once the file is an hour old, not before.
        let gone = dir.join("tmp/x.rec.999999999.1.0.tmp");
        let f = File::create(&gone).expect("create");
        assert!(!state.leftover_temps()[0].abandoned);
        f.set_modified(SystemTime::now() - LEFTOVER_AGE - Duration::from_secs(60))
            .expect("set mtime");
        assert!(state.leftover_temps()[0].abandoned);
        let _ = fs::remove_dir_all(&dir);
    }
}
