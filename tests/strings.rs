//! Names no input defines (gold's `_end`, `_edata`, `__bss_start`) and the
//! string rule scoped to modules that can look a name up. Real links on
//! bfd and gold: Run-1, merge, Run-2 in the same paths, `nm -D`, and the
//! programs run.

mod common;

use std::process::{Command, Output};

use common::{Fixture, Linker, ldprune};

/// Links `args` through the plugin in `run`, with --gc-sections.
fn link(f: &Fixture, run: u32, args: &[&str]) -> Output {
    let mut a = vec!["-Wl,--gc-sections"];
    a.extend_from_slice(args);
    f.link_in_run(run, "gcc", &a)
}

fn merge(f: &Fixture, extra: &[&str]) -> String {
    let out = f.run(
        ldprune()
            .arg("merge")
            .arg("--state")
            .arg(f.state())
            .args(extra),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The dynamic exports of `file`, by `nm -D --defined-only`.
fn nm_exports(f: &Fixture, file: &str) -> Vec<String> {
    let out = f.run(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(f.path(file)),
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    v.sort();
    v
}

fn run(f: &Fixture, prog: &str) -> String {
    let out = f.run(&mut Command::new(f.path(prog)));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const LINKER_NAMES: &[&str] = &["__bss_start", "_edata", "_end"];

/// gold exports `_end`, `_edata` and `__bss_start` from every library; after
/// Run-2 they are gone when nothing imports them (bfd never exports them).
/// A library whose code refers to `_end` (a conservative collector finding
/// the data segment) demands it: every module keeps it.
fn linker_defined_names(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "lib.c",
        "char buf[64];\nint used(int x) { buf[x] = 1; return x + 1; }\n",
    )
    .compile("lib.c", &[]);
    f.write(
        "main.c",
        "#include <stdio.h>\nint used(int);\nint main(void) { printf(\"%d\\n\", used(1)); return 0; }\n",
    )
    .compile("main.c", &[]);
    f.write(
        "ref.c",
        "extern char _end[];\nchar *end_of_data(void) { return _end; }\n",
    )
    .compile("ref.c", &[]);
    let lib = ["-shared", "-o", "libl.so", "-Wl,-soname,libl.so", "lib.o"];
    let prog = ["-o", "prog", "main.o", "-L.", "-ll", "-Wl,-rpath,$ORIGIN"];
    link(&f, 1, &lib);
    link(&f, 1, &prog);
    // Before Run-2 and without it, a library referring to `_end` keeps it.
    link(&f, 1, &["-shared", "-o", "libref.so", "ref.o"]);
    merge(&f, &[]);
    link(&f, 2, &lib);
    let kept = nm_exports(&f, "libl.so");
    assert_eq!(
        kept.iter().any(|e| e == "_end"),
        linker == Linker::Gold,
        "{kept:?}"
    );
    assert!(!kept.iter().any(|e| e == "_edata"), "{kept:?}");
    std::fs::remove_dir_all(f.state()).unwrap();
    std::fs::remove_file(f.path("libref.so")).unwrap();
    link(&f, 1, &lib);
    link(&f, 1, &prog);
    let before = nm_exports(&f, "libl.so");
    let exported_by_linker = LINKER_NAMES.iter().all(|n| before.iter().any(|e| e == n));
    assert_eq!(exported_by_linker, linker == Linker::Gold, "{before:?}");
    merge(&f, &[]);
    link(&f, 2, &lib);
    link(&f, 2, &prog);
    let after = nm_exports(&f, "libl.so");
    assert_eq!(after, vec!["used"], "before Run-2: {before:?}");
    assert_eq!(run(&f, "prog"), "2\n");
    if linker == Linker::Gold {
        assert!(
            f.explain("_end").contains("HIDDEN"),
            "{}",
            f.explain("_end")
        );
    }
}
both_linkers!(linker_defined_names_hidden, linker_defined_names);

/// liberr.so spells one of its own names in an error message; the lookups
/// come from programs: one imports dlsym, one a function of the shipped
/// list (`g_module_symbol`, defined here by a small library over dlsym),
/// one a wrapper the merge finds in the graph (`my_find` reaches dlsym).
const ERR_LIB: &str = "#include <stdio.h>\n\
    int lib_unused_fn(void) { return 1; }\n\
    int lib_used(int x) { if (x < 0) fprintf(stderr, \"%s failed\\n\", \"lib_unused_fn\"); return x + 1; }\n\
    int lib_by_dlsym(void) { return 10; }\n\
    int lib_by_gmodule(void) { return 20; }\n\
    int lib_by_wrapper(void) { return 30; }\n\
    int lib_spelled_nowhere(void) { return 40; }\n";
const GMODULE: &str = "#include <dlfcn.h>\n\
    int g_module_symbol(void *module, const char *name, void **symbol) {\n\
      (void)module; *symbol = dlsym(RTLD_DEFAULT, name); return *symbol != 0; }\n";
const WRAP: &str = "#include <dlfcn.h>\n\
    static void *find_inner(const char *name) { return dlsym(RTLD_DEFAULT, name); }\n\
    void *my_find(const char *name) { return find_inner(name); }\n";
const PROG_PLAIN: &str = "#include <stdio.h>\nint lib_used(int);\n\
    int main(void) { printf(\"%d\\n\", lib_used(1)); return 0; }\n";
const PROG_DL: &str = "#include <dlfcn.h>\n#include <stdio.h>\n\
    int main(void) { int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, \"lib_by_dlsym\");\n\
      printf(\"%d\\n\", f ? f() : -1); return 0; }\n";
const PROG_GM: &str = "#include <stdio.h>\n\
    int g_module_symbol(void *module, const char *name, void **symbol);\n\
    int main(void) { void *p = 0; g_module_symbol(0, \"lib_by_gmodule\", &p);\n\
      printf(\"%d\\n\", p ? ((int (*)(void))p)() : -1); return 0; }\n";
const PROG_WRAP: &str = "#include <stdio.h>\nvoid *my_find(const char *name);\n\
    int main(void) { void *p = my_find(\"lib_by_wrapper\");\n\
      printf(\"%d\\n\", p ? ((int (*)(void))p)() : -1); return 0; }\n";

fn link_lookup_fixture(f: &Fixture, run: u32) {
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "liberr.so",
            "-Wl,-soname,liberr.so",
            "err.o",
        ],
    );
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "libgm.so",
            "-Wl,-soname,libgm.so",
            "gm.o",
            "-ldl",
        ],
    );
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "libwrap.so",
            "-Wl,-soname,libwrap.so",
            "wrap.o",
            "-ldl",
        ],
    );
    let rpath = "-Wl,-rpath,$ORIGIN";
    for (prog, obj, lib) in [
        ("prog_plain", "plain.o", "-lerr"),
        ("prog_dl", "dl.o", "-ldl"),
        ("prog_gm", "gm_main.o", "-lgm"),
        ("prog_wrap", "wrap_main.o", "-lwrap"),
    ] {
        // --no-as-needed: the lookups need liberr.so loaded.
        link(
            f,
            run,
            &[
                "-o",
                prog,
                obj,
                "-L.",
                "-Wl,--no-as-needed",
                "-lerr",
                lib,
                rpath,
            ],
        );
    }
}

/// A C string keeps an export only in a module that can look a name up.
fn strings_where_a_lookup_reaches(linker: Linker) {
    let f = Fixture::new(linker);
    for (file, text) in [
        ("err.c", ERR_LIB),
        ("gm.c", GMODULE),
        ("wrap.c", WRAP),
        ("plain.c", PROG_PLAIN),
        ("dl.c", PROG_DL),
        ("gm_main.c", PROG_GM),
        ("wrap_main.c", PROG_WRAP),
    ] {
        f.write(file, text).compile(file, &[]);
    }
    link_lookup_fixture(&f, 1);
    merge(&f, &[]);
    let why = f.explain("lib_unused_fn");
    assert!(why.contains("HIDDEN"), "{why}");
    let why = f.explain("lib_by_dlsym");
    assert!(
        why.contains("prog_dl spells it, and it imports dlsym"),
        "{why}"
    );
    let why = f.explain("lib_by_gmodule");
    assert!(
        why.contains("prog_gm spells it, and it imports g_module_symbol (libgmodule-2.0.so.0"),
        "{why}"
    );
    let why = f.explain("lib_by_wrapper");
    assert!(
        why.contains("imports my_find (exported by libwrap.so) -> dlsym"),
        "{why}"
    );

    link_lookup_fixture(&f, 2);
    let mut exports = nm_exports(&f, "liberr.so");
    exports.retain(|n| !LINKER_NAMES.contains(&n.as_str()));
    assert_eq!(
        exports,
        vec![
            "lib_by_dlsym",
            "lib_by_gmodule",
            "lib_by_wrapper",
            "lib_used"
        ]
    );
    assert_eq!(run(&f, "prog_plain"), "2\n");
    assert_eq!(run(&f, "prog_dl"), "10\n");
    assert_eq!(run(&f, "prog_gm"), "20\n");
    assert_eq!(run(&f, "prog_wrap"), "30\n");
}
both_linkers!(
    strings_count_where_a_lookup_reaches,
    strings_where_a_lookup_reaches
);
