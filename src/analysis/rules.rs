//! Exports that are never hidden by default, each with the reason `explain`
//! shows.

use super::graph::{Export, Graph, Module};

/// Names the toolchain, the C runtime or the dynamic linker look up by name
/// or rely on being exported (besides the linker-defined ones,
/// `crate::elf::LINKER_DEFINED`).
pub const RUNTIME_NAMES: &[&str] = &[
    "_init",
    "_fini",
    "main",
    "_start",
    "_IO_stdin_used",
    "__dso_handle",
    "__libc_csu_init",
    "__libc_csu_fini",
    "__libc_start_main",
    "_ITM_registerTMCloneTable",
    "_ITM_deregisterTMCloneTable",
    "__gmon_start__",
    "__cxa_finalize",
    "__cxa_atexit",
    "__stack_chk_guard",
    "__stack_chk_fail",
    "__gxx_personality_v0",
    "__gcc_personality_v0",
    "_Unwind_Resume",
    "__cxa_pure_virtual",
    "environ",
    "__environ",
    "__progname",
    "__progname_full",
    "program_invocation_name",
    "program_invocation_short_name",
    "_r_debug",
    "JNI_OnLoad",
    "JNI_OnUnload",
];

/// Sonames of packages left alone by default (glibc: it needs patches to
/// link with --gc-sections, and everything relies on its interface).
pub const DEFAULT_EXCLUDED: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libnsl.so.1",
    "libanl.so.1",
    "libcrypt.so.1",
    "libmvec.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux.so.2",
    "libc_malloc_debug.so.0",
    "libBrokenLocale.so.1",
];

/// Facts about the whole system the rules need.
pub struct Context<'a> {
    pub graph: &'a Graph,
    /// How many modules export each name.
    pub exporters: &'a crate::fasthash::FxHashMap<u32, u32>,
    /// Module is loaded by name (a C string names its file or SONAME).
    pub loaded_by_name: &'a [bool],
    pub excluded: &'a [String],
}

/// Why `export` of `module` must stay exported whatever the consumers do.
pub fn never_hide(cx: &Context, m: usize, module: &Module, export: &Export) -> Option<String> {
    let name = cx.graph.names.str(export.name);
    if module.incomplete {
        return Some("its module's recorded graph is incomplete (see ldprune status)".into());
    }
    if !matches!(module.kind, crate::identity::OutputKind::Dyn) {
        return Some("exported by an executable".into());
    }
    if let Some(s) = module.soname.as_deref().or(Some(module.file_name.as_str())) {
        if cx.excluded.iter().any(|e| e == s) {
            return Some(format!("{s} is an excluded package"));
        }
    }
    if cx.loaded_by_name[m] {
        return Some("its library is loaded by name (dlopen): a C string names it".into());
    }
    if export.hidden_version {
        return Some("a non-default symbol version".into());
    }
    if export.unique {
        return Some("STB_GNU_UNIQUE".into());
    }
    if name.starts_with("_ZTI") || name.starts_with("_ZTS") {
        return Some("C++ typeinfo".into());
    }
    if RUNTIME_NAMES.contains(&name) || name.starts_with("__start_") || name.starts_with("__stop_")
    {
        return Some("a name the toolchain or the C runtime relies on".into());
    }
    if cx.exporters.get(&export.name).copied().unwrap_or(0) > 1 {
        return Some("defined by more than one module (interposition would change)".into());
    }
    None
}
