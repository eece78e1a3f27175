//! Which modules can look a name up at run time, and so which C strings
//! matter.
//!
//! A C string equal to an exported name keeps that export only if the
//! module holding the string can look a name up: it imports `dlsym`,
//! `dlvsym` or a dlsym-like function. Dlsym-like is
//! 1. the wrappers of [`KNOWN`] (the lookup functions of common libraries),
//! 2. the names of `--dlsym-signs` files (the original tool's format),
//! 3. computed from the graph: an exported function whose code reaches,
//!    through the section edges of its module, an import of a dlsym-like
//!    function (the original tool's Run-0 "jump functions", found here
//!    without a compiler plugin), iterated until no new one appears.
//!
//! Such a module's strings protect matching exports of every module, since
//! `dlsym(RTLD_DEFAULT, ...)` searches them all. Libraries spell their own
//! function names in error messages and assertions (`__func__`): those
//! strings no longer keep anything unless the library can look up.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::graph::{Edge, Graph, Name, Sec};
use crate::elf::types::SymbolType;
use crate::fasthash::{FxHashMap, FxHashSet};

/// Known lookup functions: (function, the library that exports it). The
/// name argument of each is a symbol name looked up in a loaded module.
/// Lookups that are internal to a library (Lua's `lsys_sym`/`ll_sym`,
/// Linux-PAM's `_pam_dlsym`, Python's `_PyImport_FindSharedFuncptr`) are
/// not exported: the library imports `dlsym` itself, and the modules it
/// loads are plugins, which keep every export anyway.
pub const KNOWN: &[(&str, &str)] = &[
    ("dlsym", "libc.so.6 (libdl.so.2 before glibc 2.34), POSIX"),
    ("dlvsym", "libc.so.6 (libdl.so.2 before glibc 2.34), GNU"),
    ("lt_dlsym", "libltdl.so.7 (GNU libtool)"),
    ("g_module_symbol", "libgmodule-2.0.so.0 (GLib GModule)"),
    (
        "g_typelib_symbol",
        "libgirepository (GObject introspection)",
    ),
    ("PR_FindSymbol", "libnspr4.so (NSPR)"),
    ("PR_FindFunctionSymbol", "libnspr4.so (NSPR)"),
    ("PR_FindSymbolAndLibrary", "libnspr4.so (NSPR)"),
    ("PR_FindFunctionSymbolAndLibrary", "libnspr4.so (NSPR)"),
    ("DSO_bind_func", "libcrypto (OpenSSL DSO)"),
    ("DSO_bind_var", "libcrypto (OpenSSL DSO, before 1.1.0)"),
    ("xmlModuleSymbol", "libxml2.so.2 (xmlmodule)"),
    (
        "sqlite3_load_extension",
        "libsqlite3.so.0 (its zProc argument names the entry point)",
    ),
    ("SDL_LoadFunction", "libSDL2 / libSDL3"),
    ("apr_dso_sym", "libapr-1.so.0 (Apache Portable Runtime)"),
    ("eina_module_symbol_get", "libeina.so.1 (EFL)"),
    ("Tcl_FindSymbol", "libtcl8.6.so"),
    (
        "krb5int_get_plugin_func",
        "libkrb5support.so.0 (MIT Kerberos)",
    ),
    (
        "krb5int_get_plugin_data",
        "libkrb5support.so.0 (MIT Kerberos)",
    ),
    // QLibrary::resolve, all four overloads (Qt 5 and 6).
    ("_ZN8QLibrary7resolveEPKc", "libQt5Core / libQt6Core"),
    (
        "_ZN8QLibrary7resolveERK7QStringPKc",
        "libQt5Core / libQt6Core",
    ),
    (
        "_ZN8QLibrary7resolveERK7QStringiPKc",
        "libQt5Core / libQt6Core",
    ),
    (
        "_ZN8QLibrary7resolveERK7QStringS2_PKc",
        "libQt5Core / libQt6Core",
    ),
];

/// Why a function counts as dlsym-like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupOrigin {
    /// In [`KNOWN`]: the library it belongs to.
    Known(&'static str),
    /// Listed by a `--dlsym-signs` file.
    Signs(PathBuf),
    /// An exported function of `module` (an index into `Graph::modules`)
    /// whose code reaches a call of the dlsym-like `callee`.
    Reaches { module: usize, callee: String },
}

/// The dlsym-like functions: name -> why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupFunctions(pub BTreeMap<String, LookupOrigin>);

impl Default for LookupFunctions {
    fn default() -> Self {
        LookupFunctions(
            KNOWN
                .iter()
                .map(|(n, lib)| (n.to_string(), LookupOrigin::Known(lib)))
                .collect(),
        )
    }
}

impl LookupFunctions {
    /// Adds the names of a `--dlsym-signs` file (a known name stays known).
    pub fn add_signs(&mut self, file: &std::path::Path, names: Vec<String>) {
        for n in names {
            self.0
                .entry(n)
                .or_insert_with(|| LookupOrigin::Signs(file.to_path_buf()));
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The first of `imports` (plain names) that is dlsym-like, `dlsym`
    /// and `dlvsym` first.
    pub fn first_of<'a>(&self, imports: impl Iterator<Item = &'a str>) -> Option<String> {
        let mut found: Vec<&str> = imports.filter(|n| self.contains(n)).collect();
        found.sort_by_key(|n| (!n.starts_with("dl"), *n));
        found.first().map(|n| n.to_string())
    }

    /// The chain that makes `name` dlsym-like, for `explain`:
    /// `F (exported by libw.so) -> G (libltdl.so.7 ...)`.
    pub fn describe(&self, graph: &Graph, name: &str) -> String {
        let mut out = name.to_string();
        let mut at = name.to_string();
        for _ in 0..16 {
            match self.0.get(&at) {
                Some(LookupOrigin::Known(lib)) => {
                    out.push_str(&format!(" ({lib})"));
                    break;
                }
                Some(LookupOrigin::Signs(f)) => {
                    out.push_str(&format!(" (--dlsym-signs {})", f.display()));
                    break;
                }
                Some(LookupOrigin::Reaches { module, callee }) => {
                    out.push_str(&format!(
                        " (exported by {}) -> {callee}",
                        graph.modules[*module].file_name
                    ));
                    at = callee.clone();
                }
                None => break,
            }
        }
        out
    }

    /// Adds the exported functions of recorded modules whose code reaches a
    /// call of a dlsym-like function, until no new one appears.
    pub fn compute_wrappers(&mut self, graph: &Graph) {
        loop {
            let found = self.wrappers_once(graph);
            if found.is_empty() {
                return;
            }
            self.0.extend(found);
        }
    }

    fn wrappers_once(&self, graph: &Graph) -> Vec<(String, LookupOrigin)> {
        let lookup: FxHashSet<Name> = self
            .0
            .keys()
            .filter_map(|n| graph.names.lookup(n))
            .collect();
        let mut found = Vec::new();
        for (m, module) in graph.modules.iter().enumerate() {
            // Sections that call a lookup function, then everything in the
            // module that reaches them (reverse edges, built only for a
            // module with such a call: most have none).
            let mut reached: FxHashMap<Sec, Name> = FxHashMap::default();
            let mut work: Vec<Sec> = Vec::new();
            for s in module.sections.clone() {
                for &e in graph.edges(s) {
                    if let Edge::Import(n) = e
                        && lookup.contains(&n)
                        && !reached.contains_key(&s)
                    {
                        reached.insert(s, n);
                        work.push(s);
                    }
                }
            }
            if work.is_empty() {
                continue;
            }
            let mut back: FxHashMap<Sec, Vec<Sec>> = FxHashMap::default();
            for s in module.sections.clone() {
                for &e in graph.edges(s) {
                    if let Edge::Section(t) = e
                        && t != s
                    {
                        back.entry(t).or_default().push(s);
                    }
                }
            }
            while let Some(s) = work.pop() {
                let callee = reached[&s];
                for &p in back.get(&s).into_iter().flatten() {
                    if let std::collections::hash_map::Entry::Vacant(v) = reached.entry(p) {
                        v.insert(callee);
                        work.push(p);
                    }
                }
            }
            for e in &module.exports {
                let name = graph.names.str(e.name);
                if e.kind != SymbolType::Func || self.contains(name) {
                    continue;
                }
                if let Some(callee) = module.defs_of(e.name).find_map(|d| reached.get(&d)) {
                    found.push((
                        name.to_string(),
                        LookupOrigin::Reaches {
                            module: m,
                            callee: graph.names.str(*callee).to_string(),
                        },
                    ));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        found
    }
}
