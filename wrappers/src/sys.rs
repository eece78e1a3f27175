//! The wrapper's only contact with the C library (musl, linked statically):
//! every `unsafe` of the wrapper is here, behind small safe functions that
//! take and return byte strings.

use alloc::vec::Vec;
use core::ffi::{c_char, c_int};

/// A byte string with a trailing NUL, for the C calls.
fn cstr(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.extend_from_slice(bytes);
    v.push(0);
    v
}

/// The NUL-terminated strings `list` as a NULL-terminated pointer array;
/// `owned` keeps the strings alive while the pointers are used.
fn ptr_array(list: &[Vec<u8>], owned: &mut Vec<Vec<u8>>) -> Vec<*const c_char> {
    owned.clear();
    owned.extend(list.iter().map(|a| cstr(a)));
    let mut ptrs: Vec<*const c_char> = owned.iter().map(|a| a.as_ptr().cast()).collect();
    ptrs.push(core::ptr::null());
    ptrs
}

/// Reads a NULL-terminated array of C strings (argv, envp) given by the
/// C runtime to `main`.
#[cfg_attr(test, allow(dead_code))]
pub fn string_array(ptr: *const *const c_char, count: Option<usize>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if ptr.is_null() {
        return out;
    }
    let mut i = 0;
    loop {
        if count.is_some_and(|n| i >= n) {
            break;
        }
        // SAFETY: the C runtime passes arrays terminated by NULL (argv has
        // argc entries before its NULL); each entry is a NUL-terminated string.
        let p = unsafe { *ptr.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: as above, `p` is a valid NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(p) };
        out.push(s.to_bytes().to_vec());
        i += 1;
    }
    out
}

fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// The text of error number `e`.
pub fn strerror(e: c_int) -> Vec<u8> {
    // SAFETY: strerror returns a pointer to a static NUL-terminated string.
    let p = unsafe { libc::strerror(e) };
    if p.is_null() {
        return b"unknown error".to_vec();
    }
    // SAFETY: non-null result of strerror is a NUL-terminated string.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// Replaces this process by `path` with `argv` and `envp`; returns the
/// error number only if that failed.
pub fn exec(path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> c_int {
    let p = cstr(path);
    let (mut a, mut e) = (Vec::new(), Vec::new());
    let av = ptr_array(argv, &mut a);
    let ev = ptr_array(envp, &mut e);
    // SAFETY: all three are valid NUL-terminated strings / NULL-terminated
    // arrays that outlive the call.
    unsafe { libc::execve(p.as_ptr().cast(), av.as_ptr(), ev.as_ptr()) };
    errno()
}

/// Runs `path` as a child and waits: its exit code (128+signal if it was
/// killed), or the error number if it could not be started.
pub fn run(path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> Result<c_int, c_int> {
    spawn_wait(path, argv, envp, None)
}

/// As [`run`], with the child's standard output and error written to the
/// new file `log` (an existing file or link there is an error, EEXIST).
pub fn run_logged(
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    log: &[u8],
) -> Result<c_int, c_int> {
    let l = cstr(log);
    // SAFETY: `l` is NUL-terminated; O_CREAT takes the mode argument.
    let fd = unsafe {
        libc::open(
            l.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    let r = spawn_wait(path, argv, envp, Some(fd));
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    r
}

fn spawn_wait(
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    output: Option<c_int>,
) -> Result<c_int, c_int> {
    let p = cstr(path);
    let (mut a, mut e) = (Vec::new(), Vec::new());
    let av = ptr_array(argv, &mut a);
    let ev = ptr_array(envp, &mut e);
    // SAFETY: vfork-free plain fork in a single-threaded process; the child
    // only calls dup2, execve and _exit, which are async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(errno());
    }
    if pid == 0 {
        // SAFETY: as for `exec`; dup2 on our own open descriptor (the copies
        // lose O_CLOEXEC, the original closes at exec); _exit never returns.
        unsafe {
            if let Some(fd) = output
                && (libc::dup2(fd, 1) < 0 || libc::dup2(fd, 2) < 0)
            {
                libc::_exit(127);
            }
            libc::execve(p.as_ptr().cast(), av.as_ptr(), ev.as_ptr());
            libc::_exit(127);
        }
    }
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer for our own child's pid.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && errno() != libc::EINTR {
            return Err(errno());
        }
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Ok(128 + libc::WTERMSIG(status))
    }
}

/// Device and inode of the file `path` names (symlinks followed), if it
/// is a regular file this process may execute.
pub fn executable_id(path: &[u8]) -> Option<(u64, u64)> {
    let p = cstr(path);
    // SAFETY: zeroed is a valid bit pattern for the plain C struct stat.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `p` is NUL-terminated, `st` a valid out-pointer.
    if unsafe { libc::stat(p.as_ptr().cast(), &mut st) } != 0 {
        return None;
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    // SAFETY: `p` is NUL-terminated.
    if unsafe { libc::access(p.as_ptr().cast(), libc::X_OK) } != 0 {
        return None;
    }
    Some((st.st_dev as u64, st.st_ino as u64))
}

/// True if `path` exists (any kind of file).
pub fn exists(path: &[u8]) -> bool {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated.
    unsafe { libc::access(p.as_ptr().cast(), libc::F_OK) == 0 }
}

/// The target of the symbolic link `path`.
pub fn readlink(path: &[u8]) -> Option<Vec<u8>> {
    let p = cstr(path);
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: `buf` has the length passed; readlink writes at most that.
    let n = unsafe { libc::readlink(p.as_ptr().cast(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 || n as usize >= buf.len() {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

/// The current directory.
pub fn getcwd() -> Option<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: `buf` has the length passed.
    let r = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
    if r.is_null() {
        return None;
    }
    let n = buf.iter().position(|&b| b == 0)?;
    buf.truncate(n);
    Some(buf)
}

/// The whole content of the file `path`.
pub fn read_file(path: &[u8]) -> Option<Vec<u8>> {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated; the flags take no mode argument.
    let fd = unsafe { libc::open(p.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    let ok = loop {
        // SAFETY: `chunk` is a valid buffer of the length passed.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n == 0 {
            break true;
        }
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            break false;
        }
        out.extend_from_slice(&chunk[..n as usize]);
    };
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    ok.then_some(out)
}

/// Appends `line` to the file `path` (created if missing) in one write:
/// lines from parallel builds do not interleave. The log is in the state
/// directory, which is untrusted: a symbolic link as `path` is refused
/// (O_NOFOLLOW), a FIFO never blocks (O_NONBLOCK), and nothing but a
/// regular file is written to (fstat). The error says what is wrong.
pub fn append(path: &[u8], line: &[u8]) -> Result<(), &'static [u8]> {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated; O_CREAT takes the mode argument.
    let fd = unsafe {
        libc::open(
            p.as_ptr().cast(),
            libc::O_WRONLY
                | libc::O_APPEND
                | libc::O_CREAT
                | libc::O_CLOEXEC
                | libc::O_NOFOLLOW
                | libc::O_NONBLOCK,
            0o644 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(match errno() {
            libc::ELOOP => b"is a symbolic link; not followed inside a state directory",
            libc::ENXIO => b"is a FIFO, not a regular file",
            _ => b"cannot be opened",
        });
    }
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `fd` is ours and `st` is a valid, writable `stat`.
    let regular =
        unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG;
    // SAFETY: `line` is a valid buffer of the length passed.
    let n = regular.then(|| unsafe { libc::write(fd, line.as_ptr().cast(), line.len()) });
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    match n {
        None => Err(b"is not a regular file"),
        Some(n) if n == line.len() as isize => Ok(()),
        Some(_) => Err(b"cannot be written"),
    }
}

/// Creates the directory `path`; false if it exists or cannot be made.
pub fn make_dir(path: &[u8]) -> bool {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated.
    unsafe { libc::mkdir(p.as_ptr().cast(), 0o700) == 0 }
}

/// Removes the file `path` (best effort; a link is removed, not followed).
pub fn remove_file(path: &[u8]) {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated.
    unsafe { libc::unlink(p.as_ptr().cast()) };
}

/// Removes the empty directory `path` (best effort).
pub fn remove_dir(path: &[u8]) {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated.
    unsafe { libc::rmdir(p.as_ptr().cast()) };
}

/// This process's id.
pub fn pid() -> u64 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() as u64 }
}

/// Creates directory `path` and its missing parents (best effort).
pub fn mkdir_all(path: &[u8]) {
    for (i, &b) in path.iter().enumerate().skip(1) {
        if b == b'/' {
            mkdir(&path[..i]);
        }
    }
    mkdir(path);
}

fn mkdir(path: &[u8]) {
    let p = cstr(path);
    // SAFETY: `p` is NUL-terminated; an existing directory is fine.
    unsafe { libc::mkdir(p.as_ptr().cast(), 0o755) };
}

/// Writes to standard error (best effort).
pub fn stderr(bytes: &[u8]) {
    write_all(2, bytes)
}

/// Writes to standard output (best effort).
pub fn stdout(bytes: &[u8]) {
    write_all(1, bytes)
}

fn write_all(fd: c_int, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of the length passed.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    // SAFETY: time accepts a null pointer.
    unsafe { libc::time(core::ptr::null_mut()) as i64 }
}

/// Ends the process with `code`.
pub fn exit(code: c_int) -> ! {
    // SAFETY: _exit never returns; the wrapper has nothing to flush.
    unsafe { libc::_exit(code) }
}

/// The heap: musl's malloc. The wrapper allocates a few argument vectors.
#[cfg(not(test))]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};

    struct Malloc;

    // SAFETY: malloc returns memory aligned for any fundamental type (16
    // bytes on 64-bit targets); larger alignments go through
    // posix_memalign, so every Layout is honoured.
    unsafe impl GlobalAlloc for Malloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= 16 {
                // SAFETY: plain C allocation.
                return unsafe { libc::malloc(layout.size()) }.cast();
            }
            let mut p = core::ptr::null_mut();
            // SAFETY: `p` is a valid out-pointer; align is a power of two.
            if unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) } != 0 {
                return core::ptr::null_mut();
            }
            p.cast()
        }
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: `ptr` came from malloc or posix_memalign above.
            unsafe { libc::free(ptr.cast()) }
        }
    }

    #[global_allocator]
    static HEAP: Malloc = Malloc;

    /// A panic is a bug in the wrapper: say so and stop (no unwinding in a
    /// no_std program). The build sees exit code 70 (EX_SOFTWARE).
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        super::stderr(b"ldprune wrapper: internal error\n");
        super::exit(70)
    }
}

/// The C entry point: musl's startup code calls it with argv and envp.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(
    argc: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    let args = string_array(argv, usize::try_from(argc).ok());
    let env = string_array(envp, None);
    crate::wrap(args, env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn append_refuses_links_fifos_and_devices() {
        let dir = std::env::temp_dir().join(std::format!("ldprune-sys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let b = |p: &std::path::Path| p.as_os_str().as_bytes().to_vec();
        let log = dir.join("wrapper.log");
        assert_eq!(append(&b(&log), b"one\n"), Ok(()));
        assert_eq!(append(&b(&log), b"two\n"), Ok(()));
        assert_eq!(std::fs::read(&log).unwrap(), b"one\ntwo\n");

        let target = dir.join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(append(&b(&link), b"x\n").is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");

        let fifo = dir.join("fifo.log");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(
            append(&b(&fifo), b"x\n"),
            Err(&b"is a FIFO, not a regular file"[..])
        );
        assert_eq!(
            append(b"/dev/null", b"x\n"),
            Err(&b"is not a regular file"[..])
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
