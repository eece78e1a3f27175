//! Names no input defines (gold's `_end`, `_edata`, `__bss_start`) and the
//! string rule scoped to modules that can look a name up. Real links on
//! bfd and gold: Run-1, merge, Run-2 in the same paths, `nm -D`, and the
//! programs run.

mod common;

use std::process::{Command, Output};

use common::{Fixture, Linker, ldprune, plugin};

/// Links `args` through the plugin in `run`, with --gc-sections.
fn link(f: &Fixture, run: u32, args: &[&str]) -> Output {
    f.run(
        Command::new("gcc")
            .arg(f.linker.flag())
            .arg("-Wl,--gc-sections")
            .arg(format!("-Wl,-plugin,{}", plugin().display()))
            .arg(format!("-Wl,-plugin-opt=run={run}"))
            .arg(format!("-Wl,-plugin-opt=state={}", f.state().display()))
            .args(args),
    )
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

fn explain(f: &Fixture, name: &str) -> String {
    let out = f.run(
        ldprune()
            .arg("explain")
            .arg("--state")
            .arg(f.state())
            .arg(name),
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
            explain(&f, "_end").contains("HIDDEN"),
            "{}",
            explain(&f, "_end")
        );
    }
}
both_linkers!(linker_defined_names_hidden, linker_defined_names);
