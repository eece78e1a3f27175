//! The FFI surface: `onload`, the hooks the linker calls, and the unload
//! hook. All of ldprune's `unsafe` is here. Every entry point catches panics
//! (unwinding into the linker is undefined behaviour) and turns failures into
//! one message through the linker, following the failure policy in mod.rs.

use std::ffi::{CStr, CString, c_char, c_int};
use std::fs::File;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use super::bindings::*;
use super::{Failure, Session, StartError, Transfer, install_logger};
use crate::apply::{Claim, ClaimSymbols, SymbolKind};
use crate::elf::types::Visibility;
use crate::identity::OutputKind;
use crate::record::InputFile;
use crate::state::scratch::Scratch;

/// The linker's message callback (variadic; called with "%s" only).
static MESSAGE: OnceLock<ld_plugin_message> = OnceLock::new();
/// Run-2 services: report a claimed file's symbols, add a file.
static ADD_SYMBOLS: OnceLock<ld_plugin_add_symbols> = OnceLock::new();
static ADD_INPUT_FILE: OnceLock<ld_plugin_add_input_file> = OnceLock::new();
static SESSION: Mutex<Option<Session>> = Mutex::new(None);
/// gold calls onload again when the same plugin path is given twice.
static LOADED: AtomicBool = AtomicBool::new(false);
/// Set after the linker's cleanup: from then on, messages go to stderr (the
/// linker may be tearing itself down).
static LINKER_DONE: AtomicBool = AtomicBool::new(false);
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
/// The file Run-2 claimed, to add again at all_symbols_read: kept out of
/// the session, so that a failure or panic of the session after the claim
/// cannot keep the file's code out of the link.
static HAND_BACK: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);
/// The stub object Run-2 adds at all_symbols_read on ld.bfd (nothing
/// claimed), kept out of the session for the same reason; then, once the
/// linker has it, the file to remove as the linker exits.
static STUB: Mutex<Option<Scratch>> = Mutex::new(None);
static STUB_ADDED: Mutex<Option<Scratch>> = Mutex::new(None);
/// Run-2's hidden references are in the link (claimed, or the stub is to
/// be added): a later failure no longer leaves the link unchanged.
static APPLIED: AtomicBool = AtomicBool::new(false);

fn level_code(level: log::Level) -> c_int {
    match level {
        log::Level::Error | log::Level::Warn => LDPL_WARNING as c_int,
        _ => LDPL_INFO as c_int,
    }
}

/// ld.bfd prints a plugin's warnings and notes on stdout (`2>/dev/null`
/// would not silence them, `>log` would mix them into the output): there
/// those go to stderr directly, errors still through the linker (they set
/// its error status).
static STDERR_FOR_NOTES: AtomicBool = AtomicBool::new(false);

/// Prints through the linker's message callback (or stderr without one).
fn message(level: c_int, text: &str) {
    let callback = MESSAGE.get().copied().flatten();
    let note = level != LDPL_ERROR as c_int && level != LDPL_FATAL as c_int;
    match callback {
        _ if note && STDERR_FOR_NOTES.load(Ordering::Acquire) => {
            let kind = if level == LDPL_WARNING as c_int {
                "warning: "
            } else {
                ""
            };
            eprintln!("{}: {kind}{text}", linker_name());
        }
        Some(f) if !LINKER_DONE.load(Ordering::Acquire) => {
            let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
            // SAFETY: the linker's message function takes a printf format;
            // "%s" with one NUL-terminated string is a valid call.
            unsafe {
                f(level, c"%s".as_ptr(), text.as_ptr());
            }
        }
        _ => eprintln!("{text}"),
    }
}

fn log_sink(level: log::Level, text: &str) {
    message(level_code(level), text);
}

/// Runs `f`, turning a panic into a [`Failure`].
fn guarded<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let text = crate::panics::panic_text(payload.as_ref());
            let at = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut g| g.take())
                .unwrap_or_default();
            Err(Failure(format!("internal error: {text}{at}")))
        }
    }
}

/// Applies the failure policy: one message; strict fails the link.
fn report(session: Option<&mut Session>, failure: Failure) -> ld_plugin_status {
    let strict = session.as_ref().is_some_and(|s| s.strict());
    if let Some(s) = session {
        s.disable();
    }
    if strict {
        message(
            LDPL_ERROR as c_int,
            &format!("ldprune: {} (strict)", failure.0),
        );
        LDPS_ERR
    } else if APPLIED.load(Ordering::Acquire) {
        message(
            LDPL_WARNING as c_int,
            &format!(
                "ldprune: {}; the link goes on applied (Run-2's hidden names are in it), \
                 but what it did is not noted in the state directory: report does not count it",
                failure.0
            ),
        );
        LDPS_OK
    } else {
        message(
            LDPL_WARNING as c_int,
            &format!("ldprune: {}; the link goes on unchanged", failure.0),
        );
        LDPS_OK
    }
}

/// Runs `f` on the session, if there is one, under the failure policy.
fn with_session(f: impl FnOnce(&mut Session) -> Result<(), Failure>) -> ld_plugin_status {
    run_session(f, false)
}

/// [`with_session`] for the hooks that run once the output is written.
/// The linker has settled its exit status by then (bfd cleans up inside
/// exit(), gold just before it) and ignores a hook's error, so under
/// `strict` a failure here removes the output and ends the process with
/// status 1 itself: the build sees a failed link, never a silent one.
fn finish_session(f: impl FnOnce(&mut Session) -> Result<(), Failure>) -> ld_plugin_status {
    run_session(f, true)
}

fn run_session(
    f: impl FnOnce(&mut Session) -> Result<(), Failure>,
    output_written: bool,
) -> ld_plugin_status {
    let mut guard = match SESSION.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    let Some(session) = guard.as_mut() else {
        return LDPS_OK;
    };
    match guarded(|| f(session)) {
        Ok(()) => LDPS_OK,
        Err(failure) if output_written && session.strict() => fail_written_link(session, failure),
        Err(failure) => report(Some(session), failure),
    }
}

/// Under strict, after the output is written: remove it, exit 1.
fn fail_written_link(session: &mut Session, failure: Failure) -> ! {
    let output = session.output().map(|p| p.to_path_buf());
    session.disable();
    eprintln!("{}: error: ldprune: {} (strict)", linker_name(), failure.0);
    if let Some(p) = output {
        // Only a regular file: never /dev/null or what a symlink names.
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&p);
        }
    }
    // _exit skips at_unload.
    remove_stub();
    // SAFETY: flushing every C stream (NULL) and ending the process are
    // always valid calls; _exit skips the exit handlers that are already
    // running (bfd's cleanup is one of them).
    unsafe {
        libc::fflush(std::ptr::null_mut());
        libc::_exit(1)
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives the call.
unsafe fn string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Hooks the linker offers us to register, read from the transfer vector.
#[derive(Default)]
struct Registrations {
    claim_file: ld_plugin_register_claim_file,
    all_symbols_read: ld_plugin_register_all_symbols_read,
    cleanup: ld_plugin_register_cleanup,
}

/// # Safety
/// `tv` points to a transfer vector terminated by LDPT_NULL.
unsafe fn read_transfer(tv: *const ld_plugin_tv) -> (Transfer, Registrations) {
    let mut t = Transfer::default();
    let mut r = Registrations::default();
    let (mut gnu, mut gold) = (None, None);
    let mut p = tv;
    // SAFETY: each entry is valid until the LDPT_NULL entry; the union
    // member read is the one the tag names.
    unsafe {
        loop {
            let e = &*p;
            let u = &e.tv_u;
            match e.tv_tag {
                LDPT_NULL => break,
                LDPT_OPTION => t.options.extend(string(u.tv_string)),
                LDPT_OUTPUT_NAME => t.output_name = string(u.tv_string),
                LDPT_LINKER_OUTPUT => {
                    t.output_kind = match u.tv_val as u32 {
                        LDPO_REL => Some(OutputKind::Rel),
                        LDPO_EXEC => Some(OutputKind::Exec),
                        LDPO_DYN => Some(OutputKind::Dyn),
                        LDPO_PIE => Some(OutputKind::Pie),
                        _ => None,
                    }
                }
                LDPT_MESSAGE => {
                    let _ = MESSAGE.set(u.tv_message);
                }
                LDPT_REGISTER_CLAIM_FILE_HOOK => r.claim_file = u.tv_register_claim_file,
                LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK => {
                    r.all_symbols_read = u.tv_register_all_symbols_read
                }
                LDPT_ADD_SYMBOLS => {
                    let _ = ADD_SYMBOLS.set(u.tv_add_symbols);
                }
                LDPT_ADD_INPUT_FILE => {
                    let _ = ADD_INPUT_FILE.set(u.tv_add_input_file);
                }
                LDPT_REGISTER_CLEANUP_HOOK => r.cleanup = u.tv_register_cleanup,
                LDPT_GNU_LD_VERSION => gnu = Some(u.tv_val),
                LDPT_GOLD_VERSION => gold = Some(u.tv_val),
                _ => {}
            }
            p = p.add(1);
        }
    }
    let version = |v: c_int| format!("{}.{:02}", v / 100, v % 100);
    STDERR_FOR_NOTES.store(gold.is_none() && gnu.is_some(), Ordering::Release);
    t.linker = match (gold, gnu) {
        (Some(v), _) => format!("gold {}", version(v)),
        (None, Some(v)) => format!("GNU ld {}", version(v)),
        _ => "unknown linker".to_string(),
    };
    (t, r)
}

/// The linker's program name, as its own messages start.
fn linker_name() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        linker_argv()
            .into_iter()
            .next()
            .unwrap_or_else(|| "ld".into())
    })
    .clone()
}

/// The linker's command line, as the plugin sees it inside the linker.
fn linker_argv() -> Vec<String> {
    // /proc reports no size: read into room for a typical command line at
    // once (std::fs::read asks the size, then starts at 32 bytes and
    // doubles: 11 system calls), doubling for long ones. Not more: the
    // buffer is zeroed (64 KiB cost 66K instructions and 16 page faults).
    let read = |mut f: File| {
        use std::io::Read;
        let mut b = vec![0u8; 8 << 10];
        let mut n = 0;
        loop {
            if n == b.len() {
                b.resize(n * 2, 0);
            }
            match f.read(&mut b[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        b.truncate(n);
        Ok(b)
    };
    File::open("/proc/self/cmdline")
        .and_then(read)
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The plugin's entry point.
///
/// # Safety
/// Called by the linker with a valid transfer vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn onload(tv: *mut ld_plugin_tv) -> ld_plugin_status {
    // SAFETY: forwarded from the linker's call.
    catch_unwind(|| unsafe { onload_inner(tv) }).unwrap_or_else(|_| {
        message(
            LDPL_WARNING as c_int,
            "ldprune: internal error while loading; the link goes on unchanged",
        );
        LDPS_OK
    })
}

/// # Safety
/// As for [`onload`].
unsafe fn onload_inner(tv: *mut ld_plugin_tv) -> ld_plugin_status {
    if tv.is_null() {
        return LDPS_ERR;
    }
    // SAFETY: the linker passes a transfer vector terminated by LDPT_NULL.
    let (transfer, regs) = unsafe { read_transfer(tv) };
    if LOADED.swap(true, Ordering::AcqRel) {
        message(
            LDPL_WARNING as c_int,
            "ldprune: plugin loaded twice; the second -plugin and its options are ignored",
        );
        return LDPS_OK;
    }
    std::panic::set_hook(Box::new(|info| {
        if let (Some(loc), Ok(mut g)) = (info.location(), LAST_PANIC.lock()) {
            *g = Some(format!(" at {}:{}", loc.file(), loc.line()));
        }
    }));
    let started = guarded(|| {
        Ok(Session::start(
            &transfer,
            |k| std::env::var(k).ok(),
            linker_argv(),
            std::env::current_dir().ok(),
        ))
    });
    let session = match started {
        Ok(Ok((session, opts))) => {
            install_logger(log_sink, opts.log);
            for w in &opts.warnings {
                log::warn!("{w}");
            }
            session
        }
        // A wrong option is the user's error, not a plugin failure: stop.
        Ok(Err(StartError::Option(option_error))) => {
            message(LDPL_ERROR as c_int, &format!("ldprune: {option_error}"));
            return LDPS_ERR;
        }
        Ok(Err(StartError::Failure { failure, strict })) => {
            return if strict {
                message(
                    LDPL_ERROR as c_int,
                    &format!("ldprune: {} (strict)", failure.0),
                );
                LDPS_ERR
            } else {
                message(
                    LDPL_WARNING as c_int,
                    &format!("ldprune: {}; the link goes on unchanged", failure.0),
                );
                LDPS_OK
            };
        }
        // A panic before the options were read: not strict.
        Err(failure) => {
            message(
                LDPL_WARNING as c_int,
                &format!("ldprune: {}; the link goes on unchanged", failure.0),
            );
            return LDPS_OK;
        }
    };
    let Some(session) = session else {
        return LDPS_OK; // run=off
    };
    *SESSION.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
    // SAFETY: registration functions from the transfer vector, called with
    // our own hooks, which live as long as the library.
    unsafe {
        if let Some(reg) = regs.claim_file {
            reg(Some(claim_file_hook));
        }
        if let Some(reg) = regs.all_symbols_read {
            reg(Some(all_symbols_read_hook));
        }
        if let Some(reg) = regs.cleanup {
            reg(Some(cleanup_hook));
        }
    }
    LDPS_OK
}

unsafe extern "C" fn claim_file_hook(
    file: *const ld_plugin_input_file,
    claimed: *mut c_int,
) -> ld_plugin_status {
    // SAFETY: forwarded from the linker's call.
    catch_unwind(|| unsafe { claim_file_inner(file, claimed) }).unwrap_or(LDPS_OK)
}

/// # Safety
/// `file` and `claimed` are NULL or valid for the duration of the call.
unsafe fn claim_file_inner(
    file: *const ld_plugin_input_file,
    claimed: *mut c_int,
) -> ld_plugin_status {
    if !claimed.is_null() {
        // SAFETY: the linker passes a valid out-pointer.
        unsafe { *claimed = 0 };
    }
    if file.is_null() {
        return LDPS_OK;
    }
    // SAFETY: the linker's file description is valid during this call. The
    // fd stays the linker's: ManuallyDrop keeps us from closing it.
    let (name, fd, offset, size) = unsafe {
        let f = &*file;
        (
            string(f.name).unwrap_or_default(),
            f.fd,
            f.offset,
            f.filesize,
        )
    };
    if fd < 0 {
        return LDPS_OK;
    }
    // SAFETY: fd is open for the duration of this call; never closed by us.
    let handle = ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    let input = InputFile {
        name: &name,
        file: &handle,
        offset: u64::try_from(offset).unwrap_or(0),
        size: u64::try_from(size).unwrap_or(0),
    };
    let mut claim = Claim::No;
    let status = with_session(|s| {
        claim = s.claim_file(&input)?;
        Ok(())
    });
    if let Claim::Stub(stub) = claim {
        *STUB.lock().unwrap_or_else(|p| p.into_inner()) = Some(stub);
        APPLIED.store(true, Ordering::Release);
        return status;
    }
    if let Claim::Yes { symbols, hand_back } = claim {
        // SAFETY: `handle` is the linker's handle for this file, passed back
        // during this claim_file call as the interface requires.
        let handle = unsafe { (*file).handle };
        match add_symbols(handle, symbols) {
            Ok(()) => {
                *HAND_BACK.lock().unwrap_or_else(|p| p.into_inner()) = Some(hand_back);
                APPLIED.store(true, Ordering::Release);
                if !claimed.is_null() {
                    // SAFETY: as above.
                    unsafe { *claimed = 1 };
                }
            }
            Err(e) => {
                // Not claimed: the linker reads the file itself, unchanged.
                return with_session(|_| Err(Failure(e.to_string())));
            }
        }
    }
    status
}

/// Why the linker did not take a claimed file's symbols.
#[derive(Debug)]
enum AddSymbolsError {
    /// The linker did not register the add_symbols service.
    NoService,
    /// More entries than a C int counts.
    TooMany(usize),
    /// The linker's status.
    Refused(ld_plugin_status),
}

impl std::fmt::Display for AddSymbolsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddSymbolsError::NoService => f.write_str("the linker offers no add_symbols"),
            AddSymbolsError::TooMany(n) => write!(f, "too many symbols ({n})"),
            AddSymbolsError::Refused(status) => {
                write!(f, "the linker refused the symbols (status {status})")
            }
        }
    }
}

/// Hands the linker a claimed file's symbols (add_symbols).
fn add_symbols(handle: *mut std::ffi::c_void, claim: ClaimSymbols) -> Result<(), AddSymbolsError> {
    let Some(Some(add)) = ADD_SYMBOLS.get().copied() else {
        return Err(AddSymbolsError::NoService);
    };
    // The linker keeps pointers into what it is given (gold stores the
    // array and reads it later, bfd keeps the name strings): all of it must
    // live as long as the process, which is one link.
    let strings: &'static [u8] = Vec::leak(claim.strings);
    let at = |offset: usize| strings[offset..].as_ptr() as *mut c_char;
    let entries: Vec<ld_plugin_symbol> = claim
        .symbols
        .iter()
        .map(|s| ld_plugin_symbol {
            // NUL-terminated in `strings` (ClaimSymbols).
            name: at(s.name),
            // Versioned names are passed exactly as spelled (foo@@V2).
            version: std::ptr::null_mut(),
            def: match s.kind {
                SymbolKind::Def => LDPK_DEF,
                SymbolKind::WeakDef => LDPK_WEAKDEF,
                SymbolKind::Undef => LDPK_UNDEF,
                SymbolKind::WeakUndef => LDPK_WEAKUNDEF,
                SymbolKind::Common => LDPK_COMMON,
            } as c_char,
            symbol_type: if s.function {
                LDST_FUNCTION
            } else {
                LDST_VARIABLE
            } as c_char,
            section_kind: LDSSK_DEFAULT as c_char,
            unused: 0,
            visibility: match s.visibility {
                Visibility::Default => LDPV_DEFAULT,
                Visibility::Protected => LDPV_PROTECTED,
                Visibility::Internal => LDPV_INTERNAL,
                Visibility::Hidden => LDPV_HIDDEN,
            } as c_int,
            size: s.size,
            comdat_key: s.comdat.map_or(std::ptr::null_mut(), at),
            resolution: LDPR_UNKNOWN as c_int,
        })
        .collect();
    let n = c_int::try_from(entries.len()).map_err(|_| AddSymbolsError::TooMany(entries.len()))?;
    let entries: &'static [ld_plugin_symbol] = Vec::leak(entries);
    // SAFETY: a registered linker service; the entries and the strings they
    // point to are never freed.
    let status = unsafe { add(handle, n, entries.as_ptr()) };
    log::debug!("add_symbols: {n} entries, handle {handle:?}, status {status}");
    if status == LDPS_OK {
        Ok(())
    } else {
        Err(AddSymbolsError::Refused(status))
    }
}

/// Why the linker did not take a file added to the link.
#[derive(Debug)]
enum AddInputError {
    /// The linker did not register the add_input_file service.
    NoService,
    NulInPath(std::path::PathBuf),
    Refused(std::path::PathBuf),
}

impl std::fmt::Display for AddInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddInputError::NoService => f.write_str("the linker offers no add_input_file"),
            AddInputError::NulInPath(p) => write!(f, "{}: a path with a NUL byte", p.display()),
            AddInputError::Refused(p) => write!(f, "add_input_file refused {}", p.display()),
        }
    }
}

/// Adds `path` to the link (add_input_file, during all_symbols_read).
fn add_input_file(path: &std::path::Path) -> Result<(), AddInputError> {
    let f = ADD_INPUT_FILE
        .get()
        .copied()
        .flatten()
        .ok_or(AddInputError::NoService)?;
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| AddInputError::NulInPath(path.to_path_buf()))?;
    // SAFETY: a registered linker service, called with a NUL-terminated
    // path that stays valid during the call.
    let st = unsafe { f(c.as_ptr()) };
    (st == LDPS_OK)
        .then_some(())
        .ok_or_else(|| AddInputError::Refused(path.to_path_buf()))
}

unsafe extern "C" fn all_symbols_read_hook() -> ld_plugin_status {
    catch_unwind(|| {
        // The claimed file and the stub first: whatever the session says
        // after cannot have said "applied" of a stub ld.bfd then refused.
        let add = HAND_BACK.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(path) = add
            && let Err(e) = add_input_file(&path)
        {
            // The claimed file's contents cannot come back: this link fails.
            message(LDPL_ERROR as c_int, &format!("ldprune: {e}"));
            return LDPS_ERR;
        }
        let stub = STUB.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stub) = stub {
            match add_input_file(stub.path()) {
                Ok(()) => *STUB_ADDED.lock().unwrap_or_else(|p| p.into_inner()) = Some(stub),
                Err(e) => {
                    // Nothing was claimed: the link goes on unchanged.
                    APPLIED.store(false, Ordering::Release);
                    stub.remove();
                    let refused = with_session(|s| s.stub_refused(e.to_string()));
                    if refused != LDPS_OK {
                        return refused;
                    }
                }
            }
        }
        with_session(|s| s.all_symbols_read())
    })
    .unwrap_or(LDPS_OK)
}

unsafe extern "C" fn cleanup_hook() -> ld_plugin_status {
    let status = catch_unwind(|| finish_session(|s| s.cleanup())).unwrap_or(LDPS_OK);
    LINKER_DONE.store(true, Ordering::Release);
    status
}

/// Runs as the linker exits (the library is never unloaded earlier: it is
/// linked `-z nodelete`, see build.rs), after ld.bfd and gold have deleted
/// the output of a failed link.
extern "C" fn at_unload() {
    let _ = catch_unwind(|| finish_session(|s| s.unload()));
    remove_stub();
}

/// Removes Run-2's stub object: added, or written and never added (a link
/// that failed before all_symbols_read).
fn remove_stub() {
    for slot in [&STUB, &STUB_ADDED] {
        let stub = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stub) = stub {
            stub.remove();
        }
    }
}

#[used]
#[unsafe(link_section = ".fini_array")]
static AT_UNLOAD: extern "C" fn() = at_unload;
