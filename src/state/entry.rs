//! Every entry of a state directory is untrusted input: another user, a
//! careless script or an attacker with write access may have put a symbolic
//! link, a FIFO or a device where a file or a directory belongs. All access
//! to an entry goes through this module:
//!
//! - files are opened with `O_NOFOLLOW` (the kernel refuses a symbolic link
//!   as the last component) and `O_NONBLOCK` (opening a FIFO never waits for
//!   the other end), then `fstat`ed: anything but a regular file is refused,
//!   and a reader reads at most the length `fstat` gave, up to a cap;
//! - the subdirectories (`links/`, `tmp/`, `applied/`) are checked with
//!   `lstat` to be real directories before a path through them is used, and
//!   created with `mkdir`, which never follows a link either.
//!
//! Why paths and not `openat` on a directory descriptor: std has no
//! `openat`, and the main crate keeps all `unsafe` in `plugin/ffi.rs` (no
//! `/proc/self/fd` tricks either). What remains is a window between the
//! `lstat` of a subdirectory and the open through it, which only a writer
//! racing us inside the directory can use; every link, FIFO or device
//! already in place, which is what a damaged or planted directory holds, is
//! refused. The state directory itself may be a symbolic link: that is the
//! user's choice, only the entries inside it are untrusted.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::{Doing, Problem, StateError, Want};

/// No state file ldprune writes comes near this; a bigger one is refused
/// before anything is read.
pub const MAX_FILE: u64 = 1 << 30;

/// What a file of type `t` is, for a message.
pub fn what(t: &FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn misplaced_as(path: &Path, is: FileType, want: Want) -> StateError {
    StateError::new(path, Problem::Misplaced { is, want })
}

/// Checks that `path` is a real directory (not a link to one).
pub fn check_dir(path: &Path) -> Result<(), StateError> {
    let m = std::fs::symlink_metadata(path)
        .map_err(|e| StateError::io(path, Doing::UseDirectory, e))?;
    let t = m.file_type();
    if !t.is_dir() {
        return Err(misplaced_as(path, t, Want::Directory));
    }
    Ok(())
}

/// Creates the directory `path` if it is missing (its parent must exist),
/// then checks it as [`check_dir`] does.
pub fn ensure_dir(path: &Path) -> Result<(), StateError> {
    // Mostly there already (every link of a build asks): one lstat then.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir()) {
        return Ok(());
    }
    match std::fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(StateError::io(path, Doing::CreateDirectory, e)),
    }
    check_dir(path)
}

/// Opens the file `path` with `opts`, never through a link, never blocking
/// on a FIFO, and only if it is a regular file.
pub fn open(path: &Path, opts: &mut OpenOptions) -> Result<File, StateError> {
    let file = opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            // ELOOP for a link, ENXIO for a FIFO without a reader (write
            // opens): say what the entry is rather than the errno.
            match std::fs::symlink_metadata(path) {
                Ok(m) if !m.file_type().is_file() => misplaced_as(path, m.file_type(), Want::File),
                _ => StateError::io(path, Doing::Open, e),
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| StateError::io(path, Doing::Stat, e))?;
    if !meta.file_type().is_file() {
        return Err(misplaced_as(path, meta.file_type(), Want::File));
    }
    Ok(file)
}

/// Opens `path` for reading (see [`open`]).
pub fn open_read(path: &Path) -> Result<File, StateError> {
    open(path, OpenOptions::new().read(true))
}

/// Reads the regular file `path`: at most the length `fstat` gives, and
/// nothing at all if that is over `cap`.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, StateError> {
    let file = open_read(path)?;
    read_open(path, &file, cap)
}

/// As [`read`], for a file already opened by [`open`].
pub fn read_open(path: &Path, file: &File, cap: u64) -> Result<Vec<u8>, StateError> {
    let len = file
        .metadata()
        .map_err(|e| StateError::io(path, Doing::Stat, e))?
        .len();
    if len > cap {
        return Err(StateError::new(path, Problem::TooBig { len, cap }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| StateError::io(path, Doing::Read, e))?;
    Ok(bytes)
}

/// What is wrong with the entry `path`, if it exists and is not `want`
/// (a real directory, or a regular file). Missing entries are fine.
pub fn misplaced(path: &Path, want_dir: bool) -> Option<StateError> {
    let t = std::fs::symlink_metadata(path).ok()?.file_type();
    match (want_dir, t.is_dir(), t.is_file()) {
        (true, true, _) | (false, _, true) => None,
        (true, ..) => Some(misplaced_as(path, t, Want::Directory)),
        (false, ..) => Some(misplaced_as(path, t, Want::File)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn mkfifo(p: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    #[test]
    fn links_fifos_and_devices_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(read(&file, 10).unwrap(), b"abc");
        let e = read(&file, 2).unwrap_err();
        assert!(
            matches!(e.problem, Problem::TooBig { len: 3, cap: 2 }),
            "{e}"
        );
        assert!(e.to_string().contains("is 3 bytes"), "{e}");
        let e = read(&d.path().join("missing"), 10).unwrap_err();
        assert!(
            matches!(&e.problem, Problem::Io { doing: Doing::Open, error }
                if error.kind() == io::ErrorKind::NotFound),
            "{e}"
        );

        let link = d.path().join("l");
        symlink(&file, &link).unwrap();
        let e = read(&link, 10).unwrap_err();
        assert!(e.problem.to_string().contains("symbolic link"), "{e}");
        let zero = d.path().join("z");
        symlink("/dev/zero", &zero).unwrap();
        assert!(
            read(&zero, MAX_FILE)
                .unwrap_err()
                .problem
                .to_string()
                .contains("symbolic link")
        );

        let fifo = d.path().join("p");
        mkfifo(&fifo);
        let t = Instant::now();
        let e = read(&fifo, 10).unwrap_err();
        assert!(e.problem.to_string().contains("is a FIFO"), "{e}");
        let e = open(&fifo, OpenOptions::new().append(true)).unwrap_err();
        assert!(e.problem.to_string().contains("is a FIFO"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));

        let e = open(Path::new("/dev/null"), OpenOptions::new().append(true)).unwrap_err();
        assert!(
            matches!(&e.problem, Problem::Misplaced { is, want: Want::File }
                if is.is_char_device()),
            "{e}"
        );
        assert!(e.problem.to_string().contains("character device"), "{e}");
    }

    #[test]
    fn directories_must_be_real() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        ensure_dir(&real).unwrap();
        ensure_dir(&real).unwrap();
        let link = d.path().join("link");
        symlink(&real, &link).unwrap();
        assert!(
            ensure_dir(&link)
                .unwrap_err()
                .problem
                .to_string()
                .contains("symbolic link")
        );
        let dangling = d.path().join("dangling");
        symlink(d.path().join("nowhere"), &dangling).unwrap();
        assert!(
            ensure_dir(&dangling)
                .unwrap_err()
                .problem
                .to_string()
                .contains("symbolic link")
        );
        assert!(
            !d.path().join("nowhere").exists(),
            "not created through the link"
        );
        assert!(misplaced(&link, true).is_some());
        assert!(misplaced(&real, true).is_none());
        assert!(misplaced(&d.path().join("missing"), false).is_none());
    }
}
