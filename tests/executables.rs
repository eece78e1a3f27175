//! `merge --hide-executable-exports`: a program linked with -rdynamic that
//! dlopens a plugin of the scope. Real links on bfd and gold: Run-1, merge
//! with and without the flag, Run-2 in the same paths, `nm`, and the
//! program runs and loads its plugin.

mod common;

use std::process::{Command, Output};

use common::{Fixture, Linker, ldprune};

fn link(f: &Fixture, run: u32, args: &[&str]) -> Output {
    let mut a = vec!["-Wl,--gc-sections"];
    a.extend_from_slice(args);
    f.link_in_run(run, "gcc", &a)
}

fn ldprune_out(f: &Fixture, cmd: &str, extra: &[&str]) -> String {
    let out = f.run(ldprune().arg(cmd).arg("--state").arg(f.state()).args(extra));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `nm` of `file`: its dynamic exports (`-D --defined-only`) or every symbol.
fn nm(f: &Fixture, file: &str, dynamic: bool) -> Vec<String> {
    let mut cmd = Command::new("nm");
    if dynamic {
        cmd.args(["-D", "--defined-only"]);
    }
    let out = f.run(cmd.arg(f.path(file)));
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    v.sort();
    v
}

fn run(f: &Fixture) -> String {
    let out = f.run(Command::new(f.path("host")).arg(f.path("plugin.so")));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stripped_size(f: &Fixture, file: &str) -> u64 {
    let out = f.path(&format!("{file}.stripped"));
    f.run(Command::new("strip").arg("-o").arg(&out).arg(f.path(file)));
    std::fs::metadata(out).unwrap().len()
}

/// The host exports for its plugin (-rdynamic): two functions the plugin
/// imports, `getenv` (libc.so.6 of its link defines it too), `fmt_hook`
/// (libfmt.so, a recorded library of its link, defines it too), a name it
/// spells for its own dlsym, and two functions nothing uses, one with a
/// large table.
const HOST: &str = r#"#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int host_api_a(int x) { return x + 1; }
int host_api_b(int x) { return x * 2; }
int host_by_name(void) { return 5; }
static const int table[4096] = { 1, 2, 3 };
int host_unused_big(int i) { return table[i & 4095] + (int)strlen(getenv("PATH") ? "x" : ""); }
int host_unused_small(int x) { return x - 1; }
char *getenv(const char *n) { return strcmp(n, "LDPRUNE_TEST") ? NULL : "mine"; }
int fmt_hook(int x) { return x + 100; }
int fmt_call(int);
int main(int argc, char **argv) {
    void *h = dlopen(argc > 1 ? argv[1] : "./plugin.so", RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    int (*run)(int) = (int (*)(int))dlsym(h, "plugin_run");
    int (*own)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "host_by_name");
    printf("%d %d %s %d\n", run(3), own ? own() : -1, getenv("LDPRUNE_TEST"), fmt_call(1));
    return 0;
}
"#;
const PLUGIN: &str = "int host_api_a(int);\nint host_api_b(int);\n\
    int plugin_run(int x) { return host_api_a(x) + host_api_b(x); }\n";
const FMT: &str =
    "int fmt_hook(int x) { return x; }\nint fmt_call(int x) { return fmt_hook(x); }\n";

fn hide_executable_exports(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("host.c", HOST).compile("host.c", &[]);
    f.write("plugin.c", PLUGIN).compile("plugin.c", &["-fPIC"]);
    f.write("fmt.c", FMT).compile("fmt.c", &["-fPIC"]);
    let fmt = [
        "-shared",
        "-o",
        "libfmt.so",
        "-Wl,-soname,libfmt.so",
        "fmt.o",
    ];
    let plug = ["-shared", "-o", "plugin.so", "plugin.o"];
    let host = [
        "-rdynamic",
        "-o",
        "host",
        "host.o",
        "-L.",
        "-lfmt",
        "-ldl",
        "-Wl,-rpath,$ORIGIN",
    ];
    for args in [&fmt[..], &plug[..], &host[..]] {
        link(&f, 1, args);
    }
    let expected = "10 5 mine 101\n";
    assert_eq!(run(&f), expected);
    let before = nm(&f, "host", true);
    for name in [
        "host_api_a",
        "host_unused_big",
        "host_unused_small",
        "getenv",
    ] {
        assert!(before.iter().any(|e| e == name), "{name}: {before:?}");
    }
    let size_before = stripped_size(&f, "host");

    // Without the flag nothing of the executable changes.
    let text = ldprune_out(&f, "merge", &[]);
    assert!(!text.contains("--hide-executable-exports"), "{text}");
    for args in [&fmt[..], &plug[..], &host[..]] {
        link(&f, 2, args);
    }
    assert_eq!(nm(&f, "host", true), before);
    assert_eq!(run(&f), expected);
    assert!(
        ldprune_out(&f, "explain", &["host_unused_small"]).contains("exported by an executable"),
    );

    // With it, what nothing imports goes, and --gc-sections collects it.
    let text = ldprune_out(&f, "merge", &["--hide-executable-exports"]);
    assert!(
        text.contains("1 executable with exports hidden") && text.contains("host ("),
        "{text}"
    );
    for args in [&fmt[..], &plug[..], &host[..]] {
        link(&f, 2, args);
    }
    let after = nm(&f, "host", true);
    for name in [
        "host_api_a",
        "host_api_b",
        "getenv",
        "fmt_hook",
        "host_by_name",
        "main",
    ] {
        assert!(after.iter().any(|e| e == name), "{name} kept: {after:?}");
    }
    for name in ["host_unused_big", "host_unused_small"] {
        assert!(!after.iter().any(|e| e == name), "{name} hidden: {after:?}");
        assert!(
            !nm(&f, "host", false).iter().any(|e| e == name),
            "{name} collected"
        );
    }
    assert!(nm(&f, "plugin.so", true).iter().any(|e| e == "plugin_run"));
    assert_eq!(run(&f), expected);
    let size_after = stripped_size(&f, "host");
    eprintln!(
        "{linker:?}: host stripped {size_before} -> {size_after} bytes, exports {} -> {}",
        before.len(),
        after.len()
    );
    assert!(size_after < size_before, "{size_before} -> {size_after}");
    let why = ldprune_out(&f, "explain", &["--hide-executable-exports", "getenv"]);
    assert!(why.contains("libc.so.6"), "{why}");
    let why = ldprune_out(&f, "explain", &["--hide-executable-exports", "fmt_hook"]);
    assert!(why.contains("more than one module"), "{why}");
}
both_linkers!(exports_nothing_imports_are_hidden, hide_executable_exports);
