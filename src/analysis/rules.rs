//! Exports that are never hidden by default, each with the reason `explain`
//! shows.

use super::executables::{LinkNames, Unread};
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
    // crt1.o's: the claimed first object of an executable's Run-2 link
    // defines them, so they could not be hidden anyway.
    "data_start",
    "__data_start",
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

/// Why an export stays exported whatever the consumers do (`explain`
/// prints it; the tests match on it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinReason {
    /// The module's recorded graph misses code (LTO IR, unreadable inputs).
    IncompleteRecord,
    /// An executable's exports are kept unless `--hide-executable-exports`.
    ExportedByExecutable,
    /// A shared library of the executable's own link defines the name (the
    /// executable's definition interposes it: `malloc`, `getenv`) or refers
    /// to it (a callback): the linker exports it even without -rdynamic.
    LinkLibrary {
        library: String,
    },
    /// A shared library of the executable's link (or of its DT_NEEDED
    /// closure) cannot be found or read: every export is kept.
    LinkLibraryUnread(Unread),
    /// The module is an excluded package (its SONAME or file name).
    Excluded(String),
    /// No consumer in scope has the library in DT_NEEDED: only dlopen can
    /// reach it (a plugin, a loadable module, a library for users outside
    /// the image), and its host may look any export up by a computed name.
    /// `named`: a C string of a consumer names its file or SONAME.
    NotLinked {
        named: bool,
    },
    NonDefaultVersion,
    GnuUnique,
    CxxTypeinfo,
    /// The toolchain, the C runtime or the dynamic linker rely on it.
    RuntimeName,
    /// More than one module exports it (interposition would change).
    Interposable,
    /// A keep list entry scoped to the module (`module:pattern`).
    KeepEntry {
        module: String,
        pattern: String,
    },
    /// The module is not in the image scope: left unchanged.
    NotInImage,
}

impl std::fmt::Display for PinReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinReason::IncompleteRecord => {
                f.write_str("its module's recorded graph is incomplete (see ldprune status)")
            }
            PinReason::ExportedByExecutable => {
                f.write_str("exported by an executable (see --hide-executable-exports)")
            }
            PinReason::LinkLibrary { library } => write!(
                f,
                "{library}, a library of the executable's own link, defines or refers to it (the executable's definition interposes it)"
            ),
            PinReason::LinkLibraryUnread(why) => write!(
                f,
                "a library of the executable's link cannot be read ({why}): every export is kept"
            ),
            PinReason::Excluded(s) => write!(f, "{s} is an excluded package"),
            PinReason::NotLinked { named } => write!(
                f,
                "no consumer links its library (DT_NEEDED), so only dlopen reaches it (a plugin): every export is kept ({})",
                if *named {
                    "a C string names the library"
                } else {
                    "nothing names it: a path built at run time, or users outside the image"
                }
            ),
            PinReason::NonDefaultVersion => f.write_str("a non-default symbol version"),
            PinReason::GnuUnique => f.write_str("STB_GNU_UNIQUE"),
            PinReason::CxxTypeinfo => f.write_str("C++ typeinfo"),
            PinReason::RuntimeName => {
                f.write_str("a name the toolchain or the C runtime relies on")
            }
            PinReason::Interposable => {
                f.write_str("defined by more than one module (interposition would change)")
            }
            PinReason::KeepEntry { module, pattern } => {
                write!(f, "keep list entry {module}:{pattern}")
            }
            PinReason::NotInImage => f.write_str("not in the image: left unchanged"),
        }
    }
}

/// How a consumer reaches a shared library module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryUse {
    /// A consumer in scope has it in DT_NEEDED.
    pub linked: bool,
    /// Consumers in scope whose C strings name its file name or SONAME
    /// (possible dlopen).
    pub named_by: Vec<std::path::PathBuf>,
}

/// Facts about the whole system the rules need.
pub struct Context<'a> {
    pub graph: &'a Graph,
    /// How many modules export each name.
    pub exporters: &'a crate::fasthash::FxHashMap<u32, u32>,
    /// Per module: how consumers in scope reach it (libraries only).
    pub uses: &'a [LibraryUse],
    /// Per module: a scoped keep entry names it, and so says which of its
    /// exports an unlinked library keeps.
    pub keep_scoped: &'a [bool],
    pub excluded: &'a [String],
    /// How many shared library modules export each name (executables do
    /// not interpose each other).
    pub library_exporters: &'a crate::fasthash::FxHashMap<u32, u32>,
    /// Per module: for an executable whose exports may be hidden
    /// (`--hide-executable-exports`), the names of its link's libraries;
    /// None keeps every export of an executable.
    pub link_names: &'a [Option<super::executables::LinkNames>],
}

/// Why `export` of `module` must stay exported whatever the consumers do.
pub fn never_hide(cx: &Context, m: usize, module: &Module, export: &Export) -> Option<PinReason> {
    let name = cx.graph.names.str(export.name);
    if module.incomplete {
        return Some(PinReason::IncompleteRecord);
    }
    let executable = !matches!(module.kind, crate::identity::OutputKind::Dyn);
    if executable {
        match &cx.link_names[m] {
            None => return Some(PinReason::ExportedByExecutable),
            Some(LinkNames::Unread(why)) => return Some(PinReason::LinkLibraryUnread(why.clone())),
            Some(LinkNames::Known(_)) => {}
        }
    } else {
        if let Some(s) = module.soname.as_deref().or(Some(module.file_name.as_str()))
            && cx.excluded.iter().any(|e| e == s)
        {
            return Some(PinReason::Excluded(s.to_string()));
        }
        let reach = &cx.uses[m];
        if !reach.linked && !cx.keep_scoped[m] {
            return Some(PinReason::NotLinked {
                named: !reach.named_by.is_empty(),
            });
        }
    }
    if export.hidden_version {
        return Some(PinReason::NonDefaultVersion);
    }
    if export.unique {
        return Some(PinReason::GnuUnique);
    }
    if name.starts_with("_ZTI") || name.starts_with("_ZTS") {
        return Some(PinReason::CxxTypeinfo);
    }
    if RUNTIME_NAMES.contains(&name) || name.starts_with("__start_") || name.starts_with("__stop_")
    {
        return Some(PinReason::RuntimeName);
    }
    // gold defines `_end` and co. in every module: one copy per module is
    // not interposition. Code that uses one refers to it by name, which
    // demands it in every module.
    let by_linker = crate::elf::EXPORTED_BY_LINKER.contains(&name);
    if executable {
        if let Some(LinkNames::Known(names)) = &cx.link_names[m]
            && let Some(library) = names.get(name)
        {
            return Some(PinReason::LinkLibrary {
                library: library.clone(),
            });
        }
        // A recorded library exporting it too, linked or dlopened.
        if cx.library_exporters.get(&export.name).copied().unwrap_or(0) > 0 && !by_linker {
            return Some(PinReason::Interposable);
        }
        return None;
    }
    if cx.exporters.get(&export.name).copied().unwrap_or(0) > 1
        && !crate::elf::EXPORTED_BY_LINKER.contains(&name)
    {
        return Some(PinReason::Interposable);
    }
    None
}
