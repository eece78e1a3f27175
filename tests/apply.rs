//! Run-2 end to end on real links with bfd and gold: Run-1, merge, Run-2 in
//! the same paths; unused exports and their code go, programs behave the
//! same (output, constructor order, exceptions), changed links fail open.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fixture, Linker, Tmpfs, ldprune, plugin};
use ldprune::elf::output::{OutputFacts, parse_output};
use ldprune::state::StateDir;
use ldprune::state::decisions::{self, LinkDecision};

const CORE: &str = r#"
#include <stdio.h>
__thread int core_tls_used = 1;
__thread int core_tls_unused = 2;
int core_table_unused[4096] = {1, 2, 3};
__attribute__((constructor)) static void core_ctor(void) { puts("ctor core.o"); }
int core_used(int x) { return x + core_tls_used; }
int core_for_util_unused(int x) { return x * 7 + core_table_unused[x & 7]; }
int core_unused(int x) {
    int s = 0;
    for (int i = 0; i < x; i++) s += core_table_unused[i] * i;
    return s;
}
"#;

const CORE2: &str = r#"
#include <stdio.h>
__attribute__((constructor)) static void core2_ctor(void) { puts("ctor core2.o"); }
int core2_used(void) { return 2; }
int core2_unused(void) { return 3; }
"#;

const UTIL: &str = r#"
int core_used(int); int core_for_util_unused(int);
int util_used(int x) { return core_used(x) * 2; }
int util_unused(int x) { return core_for_util_unused(x) + 1; }
"#;

const SHAPES: &str = r#"
#include <stdexcept>
#include <string>
#include <vector>
struct Shape { virtual ~Shape() {} virtual double area() const = 0; };
template <typename T> struct Square : Shape {
    T side; explicit Square(T s) : side(s) {}
    double area() const override { return double(side) * double(side); }
};
struct ShapeError : std::runtime_error { using std::runtime_error::runtime_error; };
double shapes_total(int n) {
    std::vector<Shape*> v;
    for (int i = 1; i <= n; i++) v.push_back(new Square<int>(i));
    double t = 0; for (Shape* s : v) { t += s->area(); delete s; }
    return t;
}
void shapes_check(int n) { if (n < 0) throw ShapeError("negative: " + std::to_string(n)); }
double shapes_unused(double x) { Square<double> s(x); return s.area() * 3; }
"#;

const MAIN: &str = r#"
#include <stdio.h>
int util_used(int); int core_used(int); int core2_used(void);
int main(void) { printf("%d %d %d\n", util_used(20), core_used(1), core2_used()); return 0; }
"#;

const CXXMAIN: &str = r#"
#include <cstdio>
#include <stdexcept>
double shapes_total(int); void shapes_check(int);
int main() {
    std::printf("%.1f\n", shapes_total(4));
    try { shapes_check(-3); } catch (const std::runtime_error& e) { std::printf("caught %s\n", e.what()); }
    return 0;
}
"#;

/// Constructors of three objects of a program, in command-line order.
fn ctor_source(name: &str) -> String {
    format!(
        "#include <stdio.h>\n__attribute__((constructor)) static void ctor_{name}(void) {{ puts(\"ctor {name}.o\"); }}\n"
    )
}

/// The fixture's sources, compiled once; links run through the plugin.
fn compile(f: &Fixture) {
    for (name, text) in [
        ("core.c", CORE),
        ("core2.c", CORE2),
        ("util.c", UTIL),
        ("main.c", MAIN),
    ] {
        f.write(name, text).compile(name, &[]);
    }
    for n in ["a", "b", "c"] {
        let src = format!("{n}.c");
        f.write(&src, &ctor_source(n)).compile(&src, &[]);
    }
    for (name, text) in [("shapes.cc", SHAPES), ("cxxmain.cc", CXXMAIN)] {
        f.write(name, text).compile(name, &[]);
    }
}

/// gcc/g++ arguments that load the plugin in `run` with --gc-sections.
fn plugin_args(f: &Fixture, run: u32) -> Vec<String> {
    vec![
        f.linker.flag().to_string(),
        "-Wl,--gc-sections".to_string(),
        format!("-Wl,-plugin,{}", plugin().display()),
        format!("-Wl,-plugin-opt=run={run}"),
        format!("-Wl,-plugin-opt=state={}", f.state().display()),
    ]
}

/// The links of the fixture: (output, driver, arguments).
const LINKS: &[(&str, &str, &[&str])] = &[
    ("libcore.so", "gcc", &["-shared", "core.o", "core2.o"]),
    ("libutil.so", "gcc", &["-shared", "util.o", "-L.", "-lcore"]),
    ("libshapes.so", "g++", &["-shared", "shapes.o"]),
    (
        "prog",
        "gcc",
        &["a.o", "main.o", "b.o", "c.o", "-L.", "-lutil", "-lcore"],
    ),
    ("cxxprog", "g++", &["cxxmain.o", "-L.", "-lshapes"]),
];

fn link_one(f: &Fixture, run: u32, output: &str) -> Output {
    let (_, driver, args) = LINKS.iter().find(|l| l.0 == output).unwrap();
    f.run(
        Command::new(driver)
            .args(plugin_args(f, run))
            .args(["-o", output])
            .args(*args)
            .arg("-Wl,-rpath,$ORIGIN"),
    )
}

fn link_all(f: &Fixture, run: u32) {
    for (output, _, _) in LINKS {
        link_one(f, run, output);
    }
}

fn run_program(f: &Fixture, prog: &str) -> String {
    let out = f.run(&mut Command::new(f.path(prog)));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn outputs(f: &Fixture) -> Vec<String> {
    ["prog", "cxxprog"]
        .iter()
        .map(|p| run_program(f, p))
        .collect()
}

fn facts(path: &Path) -> OutputFacts {
    parse_output(&std::fs::read(path).unwrap()[..]).unwrap()
}

fn exports(path: &Path) -> Vec<String> {
    facts(path).exports.iter().map(|e| e.name.clone()).collect()
}

/// Names in the full symbol table (what --gc-sections left of the code).
fn symtab(path: &Path) -> String {
    let out = Command::new("nm").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn merge(f: &Fixture) {
    let out = f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("decisions written"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn apply_log(f: &Fixture) -> String {
    std::fs::read_to_string(f.state().join("apply.log")).unwrap_or_default()
}

fn unused_exports_go(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    let before_outputs = outputs(&f);
    let before_core = facts(&f.path("libcore.so"));
    let core_exports = exports(&f.path("libcore.so"));
    for name in [
        "core_unused",
        "core_table_unused",
        "core2_unused",
        "core_tls_unused",
    ] {
        assert!(
            core_exports.contains(&name.to_string()),
            "Run-1 exports {name}"
        );
    }
    assert!(
        exports(&f.path("libshapes.so"))
            .iter()
            .any(|n| n.contains("shapes_unused"))
    );
    merge(&f);
    link_all(&f, 2);

    // Same behaviour: output, constructor order, the exception crosses the
    // library boundary.
    assert_eq!(outputs(&f), before_outputs);
    assert!(
        before_outputs[0].starts_with("ctor core.o\nctor core2.o\nctor a.o\nctor b.o\nctor c.o\n")
    );
    assert!(
        before_outputs[1].contains("caught negative: -3"),
        "{}",
        before_outputs[1]
    );

    let core = exports(&f.path("libcore.so"));
    for name in ["core_used", "core2_used"] {
        assert!(
            core.contains(&name.to_string()),
            "{name} stays exported: {core:?}"
        );
    }
    // Used inside the library only: hidden, but its data stays.
    assert!(!core.contains(&"core_tls_used".to_string()));
    assert!(symtab(&f.path("libcore.so")).contains("core_tls_used"));
    // The cascade: only util_unused used core_for_util_unused. Through a
    // gold-linked libutil.so it stays: gold keeps the import of a name
    // that only removed code used while libcore.so defines it.
    let cascade = (linker == Linker::Bfd).then_some("core_for_util_unused");
    if cascade.is_none() {
        assert!(core.contains(&"core_for_util_unused".to_string()));
    }
    for name in [
        "core_unused",
        "core_table_unused",
        "core2_unused",
        "core_tls_unused",
    ]
    .into_iter()
    .chain(cascade)
    {
        assert!(!core.contains(&name.to_string()), "{name} still exported");
        // Hidden and then collected: gone from the symbol table too (but
        // for the table the kept core_for_util_unused reads, on gold).
        if cascade.is_some() || name != "core_table_unused" {
            assert!(
                !symtab(&f.path("libcore.so")).contains(name),
                "{name} still in libcore.so"
            );
        }
    }
    let util = exports(&f.path("libutil.so"));
    assert!(util.contains(&"util_used".to_string()) && !util.contains(&"util_unused".to_string()));
    let shapes = exports(&f.path("libshapes.so"));
    assert!(
        !shapes.iter().any(|n| n.contains("shapes_unused")),
        "{shapes:?}"
    );
    assert!(shapes.iter().any(|n| n.contains("shapes_check")));
    // The typeinfo the catch needs stays.
    assert!(shapes.iter().any(|n| n.starts_with("_ZTI")), "{shapes:?}");

    let after_core = facts(&f.path("libcore.so"));
    assert!(
        after_core.sizes.text < before_core.sizes.text,
        "text {:?} -> {:?}",
        before_core.sizes,
        after_core.sizes
    );
    // core_table_unused alone is 16 KiB of data (kept on gold: the kept
    // core_for_util_unused reads it).
    assert!(
        cascade.is_none() || after_core.sizes.data + 16 * 1024 <= before_core.sizes.data,
        "data {:?} -> {:?}",
        before_core.sizes,
        after_core.sizes
    );
    assert_eq!(apply_log(&f), "", "every link was found in the decisions");

    // report: achieved next to predicted, no gap to explain.
    let out = f.run(
        ldprune()
            .args(["report", "--json", "--state"])
            .arg(f.state()),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let core = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"].as_str().unwrap().ends_with("libcore.so"))
        .unwrap();
    let achieved = &core["achieved"];
    assert_eq!(
        achieved["still_exported"].as_array().unwrap().len(),
        0,
        "{core}"
    );
    let predicted_text = core["predicted"]["text_before"].as_u64().unwrap()
        - core["predicted"]["text_after"].as_u64().unwrap();
    let achieved_text =
        achieved["text_before"].as_u64().unwrap() - achieved["text_after"].as_u64().unwrap();
    assert!(predicted_text > 0 && achieved_text > 0, "{core}");
    assert!(v["unchanged_links"].as_array().unwrap().is_empty(), "{v}");

    // Every import of the rebuilt tree still resolves.
    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
both_linkers!(unused_exports_go, unused_exports_go);

/// A link whose inputs changed since Run-1 is not in the decisions: it
/// links unchanged, and apply.log and `report` say so.
fn changed_link_fails_open(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    merge(&f);
    f.write(
        "core2.c",
        &format!("{CORE2}\nint core2_new(void) {{ return 4; }}\n"),
    );
    f.compile("core2.c", &[]);
    link_one(&f, 2, "libcore.so");
    let core = exports(&f.path("libcore.so"));
    for name in ["core_unused", "core2_unused", "core2_new"] {
        assert!(
            core.contains(&name.to_string()),
            "{name}: link left unchanged"
        );
    }
    let log = apply_log(&f);
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.contains("libcore.so") && log.contains("not in the decisions"),
        "{log}"
    );
    // The unchanged library equals a plain --gc-sections link.
    let applied = std::fs::read(f.path("libcore.so")).unwrap();
    f.run(Command::new("gcc").args([
        linker.flag(),
        "-Wl,--gc-sections",
        "-o",
        "libcore.so",
        "-shared",
        "core.o",
        "core2.o",
        "-Wl,-rpath,$ORIGIN",
    ]));
    assert!(
        applied == std::fs::read(f.path("libcore.so")).unwrap(),
        "identical to a plain link"
    );

    let out = f.run(ldprune().args(["report", "--state"]).arg(f.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("left unchanged by Run-2") && text.contains("libcore.so"),
        "{text}"
    );
}
both_linkers!(changed_link_fails_open, changed_link_fails_open);

/// Run-2 before any merge: every link unchanged, one log line each.
#[test]
fn no_decisions_links_unchanged() {
    let f = Fixture::new(Linker::Bfd);
    compile(&f);
    link_one(&f, 2, "libcore.so");
    let log = apply_log(&f);
    assert!(
        log.contains("libcore.so") && log.contains("no usable decisions"),
        "{log}"
    );
    assert!(exports(&f.path("libcore.so")).contains(&"core_unused".to_string()));
}

/// A deliberately wrong decision (hiding a name a consumer imports), applied
/// to a library rebuilt alone: verify names the consumer and the symbol.
fn wrong_decision_caught_by_verify(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    let core = f
        .records()
        .into_iter()
        .find(|r| r.output == "libcore.so")
        .unwrap();
    let state = StateDir::open(&f.state()).unwrap();
    decisions::write(
        &state,
        vec![LinkDecision {
            identity: core.identity,
            directory: core.directory(),
            output: "libcore.so".into(),
            hide: ["core_used"].into_iter().collect(),
        }],
    )
    .unwrap();
    link_one(&f, 2, "libcore.so");
    assert!(!exports(&f.path("libcore.so")).contains(&"core_used".to_string()));
    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("prog") && text.contains("core_used"),
        "{text}"
    );
    assert!(
        text.contains("libutil.so"),
        "libutil imports it too: {text}"
    );
}
both_linkers!(
    wrong_decision_caught_by_verify,
    wrong_decision_caught_by_verify
);

/// Versioned exports: a default version given by .symver (`qux@@V2`) that
/// nobody imports is hidden by its spelled name; a name that also has a
/// non-default version (`foo@V1`, old binaries may bind to it) keeps all its
/// versions (names are matched without versions); version-script names go
/// by their plain spelling.
fn versioned_names(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "ver.c",
        "__asm__(\".symver foo_old, foo@V1\");\n__asm__(\".symver foo_new, foo@@V2\");\n\
         int foo_old(void) { return 1; }\nint foo_new(void) { return 2; }\n\
         int bar(void) { return 3; }\nint baz_unused(void) { return 4; }\n\
         __asm__(\".symver qux_new, qux@@V2\");\nint qux_new(void) { return 5; }\n",
    )
    .write(
        "ver.map",
        "V1 { global: bar; baz_unused; foo; local: *; };\nV2 { } V1;\n",
    )
    .write(
        "use.c",
        "int bar(void);\nint main(void) { return bar() - 3; }\n",
    );
    for src in ["ver.c", "use.c"] {
        f.compile(src, &[]);
    }
    let links = |run: u32| {
        f.run(Command::new("gcc").args(plugin_args(&f, run)).args([
            "-shared",
            "-o",
            "libver.so",
            "ver.o",
            "-Wl,--version-script=ver.map",
        ]));
        f.run(Command::new("gcc").args(plugin_args(&f, run)).args([
            "-o",
            "use",
            "use.o",
            "-L.",
            "-lver",
            "-Wl,-rpath,$ORIGIN",
        ]));
    };
    links(1);
    merge(&f);
    links(2);
    let spelled: Vec<String> = facts(&f.path("libver.so"))
        .exports
        .iter()
        .map(|e| e.spelled())
        .collect();
    assert!(spelled.contains(&"bar@@V1".to_string()), "{spelled:?}");
    assert!(
        spelled.contains(&"foo@V1".to_string()),
        "non-default version kept: {spelled:?}"
    );
    assert!(spelled.contains(&"foo@@V2".to_string()), "{spelled:?}");
    assert!(!spelled.iter().any(|s| s.starts_with("qux")), "{spelled:?}");
    assert!(
        !symtab(&f.path("libver.so")).contains("qux"),
        "qux collected"
    );
    assert!(
        !spelled.iter().any(|s| s.starts_with("baz_unused")),
        "{spelled:?}"
    );
    f.run(&mut Command::new(f.path("use")));
    assert_eq!(apply_log(&f), "");
}
both_linkers!(versioned_names, versioned_names);

/// What the linkers do with a version node whose names are all hidden
/// (V2 { c; }, nobody calls c): the node stays in the library's version
/// definitions, empty, on bfd and on gold, so rpm still provides
/// `libv.so.1(V2)(64bit)`; report lists it and says so.
fn emptied_version_node(linker: Linker) {
    let f = Fixture::new(linker);
    f.write_two_node_library();
    for src in ["v.c", "app.c"] {
        f.compile(src, &[]);
    }
    let links = |run: u32| {
        f.run(Command::new("gcc").args(plugin_args(&f, run)).args([
            "-shared",
            "-o",
            "libv.so.1",
            "-Wl,-soname,libv.so.1",
            "v.o",
            "-Wl,--version-script=v.map",
        ]));
        f.run(Command::new("gcc").args(plugin_args(&f, run)).args([
            "-o",
            "app",
            "app.o",
            "libv.so.1",
            "-Wl,-rpath,$ORIGIN",
        ]));
    };
    links(1);
    let nodes_of = |facts: &OutputFacts| -> Vec<(String, Vec<String>)> {
        facts
            .version_defs
            .iter()
            .map(|v| {
                let names = facts
                    .exports
                    .iter()
                    .filter(|e| e.version.as_ref() == Some(v))
                    .map(|e| e.name.clone())
                    .collect();
                (v.clone(), names)
            })
            .collect()
    };
    let node = |n: &str, names: &[&str]| {
        (
            n.to_string(),
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        nodes_of(&facts(&f.path("libv.so.1"))),
        vec![node("V1", &["a", "b"]), node("V2", &["c"])]
    );
    merge(&f);
    links(2);
    assert_eq!(apply_log(&f), "");
    assert_eq!(
        nodes_of(&facts(&f.path("libv.so.1"))),
        vec![node("V1", &["a"]), node("V2", &[])],
        "the emptied node stays"
    );
    f.run(&mut Command::new(f.path("app")));
    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let out = f.run(ldprune().args(["report", "--state"]).arg(f.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("node V2, 1 name hidden, libv.so.1(V2)(64bit)")
            && text.contains("the linker keeps the empty node"),
        "{text}"
    );
}
both_linkers!(emptied_version_node, emptied_version_node);

/// What `readelf -d` says of a library's DT_INIT and DT_FINI (0 or missing
/// means its constructors never run).
fn init_fini(path: &Path) -> (bool, bool) {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let set = |tag: &str| {
        text.lines()
            .any(|l| l.contains(tag) && !l.trim_end().ends_with("0x0"))
    };
    (set("(INIT)"), set("(FINI)"))
}

/// Run-2 needs no temporary directory: with TMPDIR missing, read-only or
/// full, the library keeps DT_INIT/DT_FINI, its hidden names are gone and
/// the program behaves as after Run-1.
fn tmpdir_unusable(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    let before = outputs(&f);
    merge(&f);
    let full = Tmpfs::mount(f.path("full"), "size=4k");
    // Fill it: gcc's own temporary files fall back elsewhere or are tiny.
    let _ = std::fs::write(full.0.join("fill"), vec![1u8; 64 * 1024]);
    let ro = Tmpfs::mount(f.path("ro"), "ro,size=64k");
    for tmp in [f.path("missing"), ro.0.clone(), full.0.clone()] {
        for (out, driver, args) in LINKS {
            let o = f.run(
                Command::new(driver)
                    .env("TMPDIR", &tmp)
                    .args(plugin_args(&f, 2))
                    .args(["-o", out])
                    .args(*args)
                    .arg("-Wl,-rpath,$ORIGIN"),
            );
            let err = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            assert!(!err.contains("ldprune"), "{}: {err}", tmp.display());
        }
        let core = f.path("libcore.so");
        assert_eq!(init_fini(&core), (true, true), "{}", tmp.display());
        assert!(!exports(&core).contains(&"core_unused".to_string()));
        assert_eq!(outputs(&f), before, "TMPDIR={}", tmp.display());
    }
    assert_eq!(apply_log(&f), "");
}
both_linkers!(tmpdir_unusable, tmpdir_unusable);

/// A consumer whose sources changed after Run-1 needs a name Run-2 hid:
/// its link fails, and one line says which library hid it and what to do.
fn hidden_name_needed_is_explained(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    merge(&f);
    link_one(&f, 2, "libcore.so");
    f.write(
        "main.c",
        "int core_unused(int);\nint main(void) { return core_unused(0); }\n",
    )
    .compile("main.c", &[]);
    let out = Command::new("gcc")
        .current_dir(f.dir.path())
        .args(plugin_args(&f, 2))
        .args(["-o", "prog", "main.o", "-L.", "-lcore"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("ldprune") && l.contains("`core_unused`"))
        .unwrap_or_else(|| panic!("no explanation: {err}"));
    assert!(
        line.contains("libcore.so") && line.contains("merge") && line.contains("--keep"),
        "{line}"
    );
    assert_eq!(err.matches("`core_unused`, which").count(), 1, "{err}");
    assert!(apply_log(&f).contains("`core_unused`"));
    // report lists it as failed, not as a link left unchanged.
    let out = f.run(ldprune().args(["report", "--state"]).arg(f.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    let failed = text.split("Run-2 links that failed").nth(1).unwrap_or("");
    assert!(
        failed.contains("prog") && failed.contains("`core_unused`"),
        "{text}"
    );
    assert!(!text.contains("left unchanged by Run-2"), "{text}");
}
both_linkers!(
    hidden_name_needed_is_explained,
    hidden_name_needed_is_explained
);

/// Links `output` of [`LINKS`] in `dir` (a build tree with the fixture's
/// objects) through the plugin with the fixture's state directory; `-o`
/// absolute when `absolute`.
fn link_in(f: &Fixture, dir: &Path, run: u32, output: &str, absolute: bool) -> Output {
    let (_, driver, args) = LINKS.iter().find(|l| l.0 == output).unwrap();
    let o = if absolute {
        dir.join(output).display().to_string()
    } else {
        output.to_string()
    };
    let out = Command::new(driver)
        .current_dir(dir)
        .args(plugin_args(f, run))
        .args(["-o", &o])
        .args(*args)
        .arg("-Wl,-rpath,$ORIGIN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{output} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Copies the fixture's objects (the build tree) into `to`.
fn copy_objects(f: &Fixture, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(f.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "o") {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// A build service builds in a fresh directory each time: Run-1 in one
/// tree, Run-2 in a copy of it elsewhere (same relative layout), with `-o`
/// relative and absolute. Every link finds its decisions.
fn relocated_tree(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    let (a, b) = (f.path("run1/tree"), f.path("ci-4711/tree"));
    copy_objects(&f, &a);
    for (output, _, _) in LINKS {
        link_in(&f, &a, 1, output, *output == "libutil.so");
    }
    let before: Vec<String> = ["prog", "cxxprog"]
        .iter()
        .map(|p| String::from_utf8_lossy(&f.run(&mut Command::new(a.join(p))).stdout).into())
        .collect();
    merge(&f);
    copy_objects(&f, &b);
    for (output, _, _) in LINKS {
        link_in(&f, &b, 2, output, *output == "libutil.so");
    }
    assert_eq!(apply_log(&f), "", "every link found its decisions");
    let core = exports(&b.join("libcore.so"));
    assert!(core.contains(&"core_used".to_string()), "{core:?}");
    assert!(!core.contains(&"core_unused".to_string()), "{core:?}");
    let util = exports(&b.join("libutil.so"));
    assert!(util.contains(&"util_used".to_string()) && !util.contains(&"util_unused".to_string()));
    let after: Vec<String> = ["prog", "cxxprog"]
        .iter()
        .map(|p| String::from_utf8_lossy(&f.run(&mut Command::new(b.join(p))).stdout).into())
        .collect();
    assert_eq!(after, before);
    let out = ldprune().arg("verify").arg(&b).output().unwrap();
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
both_linkers!(relocated_tree, relocated_tree);

/// gcc in `dir` through the plugin (`run`) with the fixture's state.
fn gcc_in(f: &Fixture, dir: &Path, run: u32, args: &[&str]) -> Output {
    let out = Command::new("gcc")
        .current_dir(dir)
        .args(plugin_args(f, run))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Subproject `dir` of the equal-identity test: the same foo.o and app.o,
/// its own version script exporting `foo_a` and `mine`.
fn subproject(f: &Fixture, dir: &Path, mine: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for o in ["foo.o", "app.o"] {
        std::fs::copy(f.path(o), dir.join(o)).unwrap();
    }
    let map = format!("{{ global: foo_a; {mine}; local: *; }};\n");
    std::fs::write(dir.join("foo.map"), map).unwrap();
}

fn link_subproject(f: &Fixture, dir: &Path, run: u32) {
    gcc_in(
        f,
        dir,
        run,
        &[
            "-shared",
            "-o",
            "libfoo.so",
            "foo.o",
            "-Wl,--version-script=foo.map",
        ],
    );
    gcc_in(
        f,
        dir,
        run,
        &["-o", "app", "app.o", "-L.", "-lfoo", "-Wl,-rpath,$ORIGIN"],
    );
}

/// Two subprojects each link a `libfoo.so` from the same object (equal
/// identities) with their own version script, so each hides another name.
/// Decisions keep both; Run-2 in the same directories and in a relocated
/// copy gives each its own list; a third directory that matches neither
/// hides only what both hide (nothing here) and says so.
fn same_named_outputs(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "foo.c",
        "int foo_a(void) { return 1; }\nint foo_b(void) { return 2; }\nint foo_c(void) { return 3; }\n",
    )
    .compile("foo.c", &[]);
    f.write(
        "app.c",
        "int foo_a(void);\nint main(void) { return foo_a() - 1; }\n",
    )
    .compile("app.c", &[]);
    let (p1, p2) = (f.path("run1/p1"), f.path("run1/p2"));
    subproject(&f, &p1, "foo_b");
    subproject(&f, &p2, "foo_c");
    link_subproject(&f, &p1, 1);
    link_subproject(&f, &p2, 1);
    let recs: Vec<_> = f
        .records()
        .into_iter()
        .filter(|r| r.output == "libfoo.so")
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].identity, recs[1].identity, "equal identities");
    merge(&f);
    let state = StateDir::open(&f.state()).unwrap();
    let found = decisions::lookup(&decisions::path(&state), recs[0].identity).unwrap();
    let mut lists: Vec<(String, bool, bool)> = found
        .iter()
        .map(|d| {
            let has = |n: &str| d.hide.iter().any(|h| h == n);
            (d.directory.clone(), has("foo_b"), has("foo_c"))
        })
        .collect();
    lists.sort();
    let dir = |p: &Path| p.display().to_string();
    assert_eq!(
        lists,
        vec![(dir(&p1), true, false), (dir(&p2), false, true)],
        "one entry per directory, each with its own list"
    );

    let exported = |d: &Path| {
        let mut e = exports(&d.join("libfoo.so"));
        e.retain(|n| n.starts_with("foo_"));
        e
    };
    let (c1, c2) = (f.path("ci-4711/p1"), f.path("ci-4711/p2"));
    subproject(&f, &c1, "foo_b");
    subproject(&f, &c2, "foo_c");
    for d in [&p1, &p2, &c1, &c2] {
        link_subproject(&f, d, 2);
        assert_eq!(exported(d), vec!["foo_a"], "{}", d.display());
        f.run(&mut Command::new(d.join("app")));
    }
    assert_eq!(apply_log(&f), "", "every link found its own decisions");
    // report pairs each module with the Run-2 result of its own directory.
    let out = f.run(
        ldprune()
            .args(["report", "--json", "--state"])
            .arg(f.state()),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let libs: Vec<&serde_json::Value> = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["module"].as_str().unwrap().ends_with("libfoo.so"))
        .collect();
    assert_eq!(libs.len(), 2, "{v}");
    for m in libs {
        let still = m["achieved"]["still_exported"].as_array().unwrap();
        assert!(still.is_empty(), "{m}");
    }

    // Neither directory: only what both hide (no foo_ name), said once.
    let other = f.path("ci-4711/other");
    subproject(&f, &other, "foo_b");
    link_subproject(&f, &other, 2);
    assert_eq!(exported(&other), vec!["foo_a", "foo_b"]);
    let log = apply_log(&f);
    assert!(
        log.contains("2 links of this identity in other directories")
            && log.contains("hiding only the"),
        "{log}"
    );
}
both_linkers!(same_named_outputs, same_named_outputs);

/// gcc in `dir` through the plugin (`run`) with the state directory `state`.
fn gcc_state(f: &Fixture, dir: &Path, state: &Path, run: u32, args: &[&str]) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("gcc")
        .current_dir(dir)
        .args([
            f.linker.flag().to_string(),
            "-Wl,--gc-sections".to_string(),
            format!("-Wl,-plugin,{}", plugin().display()),
            format!("-Wl,-plugin-opt=run={run}"),
            format!("-Wl,-plugin-opt=state={}", state.display()),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A build farm: two workers, one state directory each, build two packages
/// (a library, and a program that links the installed library). The
/// records of both are merged into one decisions file, which is copied into
/// a fresh state directory on each worker for Run-2, in fresh build
/// directories. Both Run-2 builds apply it; report reads all four.
fn two_build_workers(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "x.c",
        "int x_helper(int v) { return v * 3; }\nint x_used(int v) { return v + 1; }\nint x_unused(int v) { return x_helper(v) + 2; }\n",
    )
    .write("app.c", "#include <stdio.h>\nint x_used(int);\nint main(void) { printf(\"%d\\n\", x_used(41)); return 0; }\n");
    let usr_lib = f.path("sysroot/usr/lib");
    std::fs::create_dir_all(&usr_lib).unwrap();
    let lib = usr_lib.display().to_string();
    // One build of each package on its worker: compile, link, install.
    let build = |worker: &str, tree: &str, state: &Path, run: u32| {
        let src = f.path(&format!("{worker}/{tree}"));
        std::fs::create_dir_all(&src).unwrap();
        if worker == "w1" {
            std::fs::copy(f.path("x.c"), src.join("x.c")).unwrap();
            let st = Command::new("gcc")
                .current_dir(&src)
                .args(common::CFLAGS)
                .arg("x.c")
                .status()
                .unwrap();
            assert!(st.success());
            gcc_state(&f, &src, state, run, &["-shared", "-o", "libx.so", "x.o"]);
            std::fs::copy(src.join("libx.so"), usr_lib.join("libx.so")).unwrap();
        } else {
            std::fs::copy(f.path("app.c"), src.join("app.c")).unwrap();
            let st = Command::new("gcc")
                .current_dir(&src)
                .args(common::CFLAGS)
                .arg("app.c")
                .status()
                .unwrap();
            assert!(st.success());
            let (l, rpath) = (format!("-L{lib}"), format!("-Wl,-rpath,{lib}"));
            gcc_state(
                &f,
                &src,
                state,
                run,
                &["-o", "app", "app.o", &l, "-lx", &rpath],
            );
        }
        src
    };
    let (s1, s2) = (f.path("w1/state"), f.path("w2/state"));
    build("w1", "build-1/libx", &s1, 1);
    let app = build("w2", "build-1/app", &s2, 1);
    assert_eq!(
        run_program(&f, &app.join("app").display().to_string()),
        "42\n"
    );
    assert!(exports(&usr_lib.join("libx.so")).contains(&"x_unused".to_string()));

    // Collected on one host: one decisions file from both.
    let out = f.run(
        ldprune()
            .args(["merge", "--state"])
            .arg(&s1)
            .arg("--state")
            .arg(&s2),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("decisions written"), "{text}");
    let decisions = s1.join("decisions.ldpd");

    // Handed to each worker: a fresh state directory holding the copy.
    let (r1, r2) = (f.path("w1/run2-state"), f.path("w2/run2-state"));
    for r in [&r1, &r2] {
        std::fs::create_dir_all(r).unwrap();
        std::fs::copy(&decisions, r.join("decisions.ldpd")).unwrap();
    }
    build("w1", "build-2/libx", &r1, 2);
    let app = build("w2", "build-2/app", &r2, 2);
    let x = exports(&usr_lib.join("libx.so"));
    assert!(x.contains(&"x_used".to_string()), "{x:?}");
    assert!(!x.contains(&"x_unused".to_string()), "{x:?}");
    assert!(!symtab(&usr_lib.join("libx.so")).contains("x_helper"));
    assert_eq!(
        run_program(&f, &app.join("app").display().to_string()),
        "42\n"
    );
    for r in [&r1, &r2] {
        let log = std::fs::read_to_string(r.join("apply.log")).unwrap_or_default();
        assert_eq!(log, "", "{}", r.display());
    }
    let mut report = ldprune();
    report.args(["report", "--json"]);
    for s in [&s1, &s2, &r1, &r2] {
        report.arg("--state").arg(s);
    }
    let out = f.run(&mut report);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["unchanged_links"].as_array().unwrap().is_empty(), "{v}");
    let libx = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"].as_str().unwrap().ends_with("libx.so"))
        .unwrap();
    assert!(libx["achieved"]["text_after"].is_u64(), "{libx}");
}
both_linkers!(two_build_workers, two_build_workers);

/// Build-system probes (configure's conftest) are consumers like any link,
/// but report counts them instead of listing them: their names are new in
/// every run.
#[test]
fn probes_counted_not_listed() {
    let f = Fixture::new(Linker::Bfd);
    compile(&f);
    let probe = |run: u32| {
        f.write("conftest.c", "int main(void) { return 0; }\n");
        f.run(Command::new("gcc").args(plugin_args(&f, run)).args([
            "-o",
            "conftest",
            "conftest.c",
        ]));
    };
    probe(1);
    link_one(&f, 1, "libcore.so");
    merge(&f);
    // A changed probe (as configure writes them) is not in the decisions.
    f.write("conftest.c", "int x;\nint main(void) { return x; }\n");
    f.run(
        Command::new("gcc")
            .args(plugin_args(&f, 2))
            .args(["-o", "conftest", "conftest.c"]),
    );
    link_one(&f, 2, "libcore.so");
    let out = f.run(ldprune().args(["report", "--state"]).arg(f.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("\nconftest "), "{text}");
    assert!(text.contains("1 build-system probe not listed"), "{text}");
    assert!(
        text.contains("build-system probes left unchanged by Run-2 (new every run): 1"),
        "{text}"
    );
    assert!(!text.contains("links left unchanged by Run-2"), "{text}");
}

/// A panic after Run-2 claimed the first object (at a later input's
/// claim_file, in all_symbols_read or in cleanup) must still hand that
/// object back:
/// its code stays in the link, which is applied (the hidden names went in
/// with the claim), and the programs run as before; one warning names the
/// panic, and strict fails the link. The panics are injected through
/// LDPRUNE_TEST_PANIC (debug builds only).
fn panic_after_the_claim(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    let before = outputs(&f);
    merge(&f);
    let link = |at: &str, output: &str, driver: &str, args: &[&str], strict: bool| {
        let mut cmd = Command::new(driver);
        cmd.current_dir(f.dir.path())
            .env("LDPRUNE_TEST_PANIC", at)
            .args(plugin_args(&f, 2))
            .args(["-o", output])
            .args(args)
            .arg("-Wl,-rpath,$ORIGIN");
        if strict {
            cmd.arg("-Wl,-plugin-opt=strict");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        (out.status.success(), text)
    };
    for at in ["later_claim_file", "all_symbols_read", "cleanup"] {
        let panic = format!("LDPRUNE_TEST_PANIC={at}");
        for (output, driver, args) in LINKS {
            let (ok, text) = link(at, output, driver, args, false);
            assert!(ok, "{at}, {output}: {text}");
            assert!(text.contains(&panic), "{at}, {output}: {text}");
            // Said as it is: applied, not noted (libcore.so hides names).
            if *output == "libcore.so" {
                assert!(text.contains("goes on applied"), "{at}: {text}");
                assert!(!text.contains("unchanged"), "{at}: {text}");
            }
        }
        let core = exports(&f.path("libcore.so"));
        assert!(!core.contains(&"core_unused".to_string()), "{at}");
        assert!(core.contains(&"core_used".to_string()), "{at}");
        assert_eq!(outputs(&f), before, "{at}");
        let (ok, text) = link(at, "libcore.so", "gcc", LINKS[0].2, true);
        assert!(!ok, "strict, {at}: {text}");
        assert!(text.contains(&panic), "strict, {at}: {text}");
    }
}
both_linkers!(panic_after_the_claim, panic_after_the_claim);

/// The stub (lld and mold in Run-2) carries the control-flow protection
/// property with every bit set: the linkers AND it over their inputs, so
/// the output keeps what the build's objects have (x86 IBT/SHSTK from
/// -fcf-protection, AArch64 BTI/PAC from -mbranch-protection) and gains
/// nothing where they have none. Linked -nostdlib: Debian's crt files
/// carry no such note.
#[test]
fn stub_keeps_control_flow_protection() {
    let f = Fixture::new(Linker::Bfd);
    f.write(
        "p.c",
        "int p_used(int x) { return x + 1; }\nint p_unused(int x) { return x * 3; }\n",
    );
    let feature = |so: &str| {
        let out = f.run(Command::new("readelf").args(["-n", so]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains(" feature:"))
            .map(|l| l.split(" feature:").nth(1).unwrap_or("").trim().to_string())
    };
    let stub = |obj: &str, name: &str| {
        let bytes = std::fs::read(f.path(obj)).unwrap();
        let target = ldprune::apply::Target::of_object(&bytes).unwrap();
        std::fs::write(
            f.path(name),
            ldprune::apply::stub_object(target, &["p_unused"]),
        )
        .unwrap();
    };
    // (gcc, flags, linkers, the feature the protected object brings)
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "gcc",
            "-fcf-protection=full -Wa,-mx86-used-note=yes",
            &["bfd", "gold", "lld", "mold"],
            "IBT, SHSTK",
        ),
        (
            "aarch64-linux-gnu-gcc",
            "-mbranch-protection=standard",
            &["bfd"],
            "BTI, PAC",
        ),
    ];
    for (gcc, flag, linkers, want) in cases {
        let properties = |so: &str| {
            let out = f.run(Command::new("readelf").args(["-n", so]));
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("x86 ") || l.contains("AArch64 "))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ")
        };
        for (obj, flags) in [
            ("prot.o", flag.split(' ').collect::<Vec<_>>()),
            ("plain.o", vec![]),
        ] {
            f.run(
                Command::new(gcc)
                    .args([
                        "-O2",
                        "-fPIC",
                        "-ffunction-sections",
                        "-c",
                        "p.c",
                        "-o",
                        obj,
                    ])
                    .args(&flags),
            );
            stub(obj, "stub.o");
            for linker in *linkers {
                let link = |inputs: &[&str], out: &str| {
                    f.run(
                        Command::new(gcc)
                            .arg(format!("-fuse-ld={linker}"))
                            .args(["-shared", "-nostdlib", "-Wl,--gc-sections", "-o", out])
                            .args(inputs),
                    );
                };
                link(&[obj], "plain.so");
                link(&["stub.o", obj], "stubbed.so");
                let (plain, stubbed) = (feature("plain.so"), feature("stubbed.so"));
                assert_eq!(stubbed, plain, "{gcc} {linker} {obj}");
                // All properties: ld.bfd also drops x86's "used" ones that
                // an input lacks. (Not gold, which ANDs those: it never
                // gets a stub, the plugin claims there.)
                if *linker != "gold" {
                    assert_eq!(
                        properties("stubbed.so"),
                        properties("plain.so"),
                        "{gcc} {linker} {obj}"
                    );
                }
                let expected = (obj == "prot.o").then(|| want.to_string());
                assert_eq!(plain, expected, "{gcc} {linker} {obj}");
            }
        }
    }
}

/// ld.bfd takes the hidden references of a small link from a stub object
/// added after the inputs, claiming nothing (a claimed file handed back
/// makes it read every archive and --as-needed library after it again);
/// a link that hides a thread-local name keeps the claim (ld.bfd refuses
/// an untyped reference to a TLS definition); gold always claims. The
/// stub is gone after the link.
fn bfd_takes_a_stub_unless_a_name_is_tls(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link_all(&f, 1);
    let before = outputs(&f);
    merge(&f);
    let trace = |output: &str| {
        let (_, driver, args) = LINKS.iter().find(|l| l.0 == output).unwrap();
        let out = f.run(
            Command::new(driver)
                .args(plugin_args(&f, 2))
                .args(["-Wl,-t", "-o", output])
                .args(*args)
                .arg("-Wl,-rpath,$ORIGIN"),
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let crti_reads = |t: &str| t.lines().filter(|l| l.ends_with("/crti.o")).count();
    // The stub is an unnamed file of DIR/tmp, which ld.bfd opens through
    // the plugin's descriptor; a named one where the file system has none.
    let stubbed = |t: &str| t.contains("/proc/self/fd/") || t.contains("/state/tmp/stub.o");
    let bfd = linker == Linker::Bfd;
    // libcore.so hides core_tls_unused: the claim, on both linkers.
    let core = trace("libcore.so");
    assert!(!stubbed(&core), "{core}");
    if bfd {
        assert_eq!(crti_reads(&core), 2, "{core}");
    }
    let names = exports(&f.path("libcore.so"));
    assert!(!names.contains(&"core_tls_unused".to_string()), "{names:?}");
    assert_eq!(
        names.contains(&"core_for_util_unused".to_string()),
        !bfd,
        "{names:?}"
    );
    // libutil.so hides util_unused, defined in util.o: a stub on ld.bfd.
    let util = trace("libutil.so");
    assert_eq!(stubbed(&util), bfd, "{util}");
    if bfd {
        assert!(util.contains("/proc/self/fd/"), "not unnamed: {util}");
    }
    if bfd {
        assert_eq!(crti_reads(&util), 1, "{util}");
    }
    assert_eq!(exports(&f.path("libutil.so")), ["util_used"]);
    if bfd {
        // Collected, as through the claim.
        assert!(!symtab(&f.path("libutil.so")).contains("util_unused"));
    }
    for output in ["libshapes.so", "prog", "cxxprog"] {
        link_one(&f, 2, output);
    }
    assert_eq!(outputs(&f), before);
    let tmp: Vec<_> = std::fs::read_dir(f.state().join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    assert_eq!(apply_log(&f), "");
    // Where there is no unnamed file (no O_TMPFILE, no /proc; forced
    // here, the tests' plugin being a debug build): a named stub in
    // DIR/tmp, the same output, and the file gone after the link.
    if bfd {
        let (_, driver, args) = LINKS.iter().find(|l| l.0 == "libutil.so").unwrap();
        let out = f.run(
            Command::new(driver)
                .env("LDPRUNE_TEST_NO_TMPFILE", "1")
                .args(plugin_args(&f, 2))
                .args(["-Wl,-t", "-o", "libutil.so"])
                .args(*args)
                .arg("-Wl,-rpath,$ORIGIN"),
        );
        let util = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(util.contains("/state/tmp/stub.o."), "not named: {util}");
        assert!(!util.contains("/proc/self/fd/"), "{util}");
        assert_eq!(crti_reads(&util), 1, "{util}");
        assert_eq!(exports(&f.path("libutil.so")), ["util_used"]);
        assert!(!symtab(&f.path("libutil.so")).contains("util_unused"));
        assert_eq!(outputs(&f), before);
        let tmp: Vec<_> = std::fs::read_dir(f.state().join("tmp")).unwrap().collect();
        assert!(tmp.is_empty(), "named stub left: {tmp:?}");
        assert_eq!(apply_log(&f), "");
    }
    // A stub that cannot be written (DIR/tmp read-only): the claim, and the
    // link is applied all the same.
    if bfd {
        let _ro = common::Tmpfs::mount(f.state().join("tmp"), "ro,size=64k");
        let util = trace("libutil.so");
        assert!(!stubbed(&util), "{util}");
        assert_eq!(crti_reads(&util), 2, "{util}");
        assert_eq!(exports(&f.path("libutil.so")), ["util_used"]);
        link_one(&f, 2, "prog");
        assert_eq!(outputs(&f), before);
    }
}
both_linkers!(
    bfd_takes_a_stub_unless_a_name_is_tls,
    bfd_takes_a_stub_unless_a_name_is_tls
);

/// gold keeps a .dynsym import that only code --gc-sections removed used,
/// if a library of the link defines the name: a libutil.so relinked in
/// Run-2 before libcore.so (against the Run-1 libcore.so) still imports
/// core_for_util_unused. The merge keeps what a gold-linked module imports,
/// so the program still links against both, in either order, and explain
/// says why.
#[test]
fn gold_keeps_dead_imports_so_the_merge_keeps_their_names() {
    let f = Fixture::new(Linker::Gold);
    compile(&f);
    link_all(&f, 1);
    let before = outputs(&f);
    merge(&f);
    for output in [
        "libutil.so",
        "libcore.so",
        "libshapes.so",
        "prog",
        "cxxprog",
    ] {
        link_one(&f, 2, output);
    }
    assert_eq!(outputs(&f), before);
    assert!(exports(&f.path("libcore.so")).contains(&"core_for_util_unused".to_string()));
    assert_eq!(exports(&f.path("libutil.so")), ["util_used"]);
    let text = f.explain("core_for_util_unused");
    assert!(
        text.contains("KEPT")
            && text.contains("libutil.so")
            && text.contains("gold keeps an import"),
        "{text}"
    );
}

/// Under `--wrap=foo` the linker turns a reference to `foo` into one to
/// `__wrap_foo`: a hidden reference to `foo` would hide `__wrap_foo`,
/// which a program imports, and keep `foo`. Run-2 leaves wrapped names
/// exported; the program links and runs against the Run-2 library.
fn wrapped_names_stay(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "w.c",
        "int foo(void) { return 1; }\nint __wrap_foo(void) { return 40; }\nint bar(void) { return foo() + 1; }\n",
    )
    .compile("w.c", &[]);
    f.write(
        "m.c",
        "#include <stdio.h>\nint bar(void); int __wrap_foo(void);\nint main(void) { printf(\"%d\\n\", bar() + __wrap_foo()); return 0; }\n",
    )
    .compile("m.c", &[]);
    let link = |run: u32, out: &str, args: &[&str]| {
        f.run(
            Command::new("gcc")
                .args(plugin_args(&f, run))
                .args(["-o", out])
                .args(args)
                .arg("-Wl,-rpath,$ORIGIN"),
        );
    };
    let lib: &[&str] = &["-shared", "w.o", "-Wl,--wrap=foo"];
    let prog: &[&str] = &["m.o", "-L.", "-lw"];
    link(1, "libw.so", lib);
    link(1, "prog", prog);
    let before = String::from_utf8_lossy(&f.run_program("prog").stdout).into_owned();
    assert_eq!(before, "42\n");
    merge(&f);
    link(2, "libw.so", lib);
    let names = exports(&f.path("libw.so"));
    assert!(names.contains(&"__wrap_foo".to_string()), "{names:?}");
    link(2, "prog", prog);
    assert_eq!(
        String::from_utf8_lossy(&f.run_program("prog").stdout),
        before
    );
}
both_linkers!(wrapped_names_stay, wrapped_names_stay);

/// gold's `--start-lib a.o --end-lib` links a.o only if a name it defines
/// is needed, and offers it to the plugin all the same; with
/// `-nostartfiles` it is the first object. Handed back, it would be linked
/// always (a.o's constructor ran in a library that did not have it):
/// Run-2 leaves such a link unchanged, logged, byte-identical to the
/// plain link.
#[test]
fn gold_start_lib_first_object_unchanged() {
    let f = Fixture::new(Linker::Gold);
    f.write(
        "a.c",
        "#include <stdio.h>\n__attribute__((constructor)) static void a_ctor(void) { puts(\"a ctor\"); }\nint a_fn(void) { return 1; }\n",
    )
    .compile("a.c", &[]);
    f.write(
        "b.c",
        "int b_used(void) { return 2; }\nint b_unused(void) { return 3; }\n",
    )
    .compile("b.c", &[]);
    f.write(
        "m.c",
        "int b_used(void);\nint main(void) { return b_used() - 2; }\n",
    )
    .compile("m.c", &[]);
    let lib = [
        "-nostartfiles",
        "-shared",
        "-Wl,--start-lib",
        "a.o",
        "-Wl,--end-lib",
        "b.o",
    ];
    let link = |run: u32, out: &str, args: &[&str]| {
        f.run(
            Command::new("gcc")
                .args(plugin_args(&f, run))
                .args(["-o", out])
                .args(args)
                .arg("-Wl,-rpath,$ORIGIN"),
        );
    };
    link(1, "libb.so", &lib);
    link(1, "prog", &["m.o", "-L.", "-lb"]);
    merge(&f);
    assert!(f.explain("b_unused").contains("HIDDEN"));
    link(2, "libb.so", &lib);
    let ran = f.run_program("prog");
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "", "a.o linked");
    assert!(!exports(&f.path("libb.so")).contains(&"a_fn".to_string()));
    assert!(apply_log(&f).contains("--start-lib"), "{}", apply_log(&f));
    std::fs::rename(f.path("libb.so"), f.path("libb.so.run2")).unwrap();
    f.run(
        Command::new("gcc")
            .args([f.linker.flag(), "-Wl,--gc-sections", "-o", "libb.so"])
            .args(lib)
            .arg("-Wl,-rpath,$ORIGIN"),
    );
    assert!(
        std::fs::read(f.path("libb.so")).unwrap() == std::fs::read(f.path("libb.so.run2")).unwrap(),
        "unchanged, but not as the plain link"
    );
}

/// A link left unchanged because an input's LTO IR cannot be ruled out
/// (here the first object's name is not UTF-8, so Run-2 cannot open it by
/// the name it reads, in a gcc link, which always loads GCC's LTO plugin)
/// says so, naming the input; not that "LTO output is added", which there
/// is none of. Before, every such link warned of LTO output.
#[test]
fn lto_not_ruled_out_says_why() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new(Linker::Gold);
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.o");
    f.write(
        "x.c",
        "int u1(void) { return 1; }\nint u2(void) { return 2; }\n",
    );
    f.run(
        Command::new("gcc")
            .args(["-fPIC", "-ffunction-sections", "-c", "x.c", "-o"])
            .arg(odd),
    );
    f.write(
        "m.c",
        "int u1(void);\nint main(void) { return u1() - 1; }\n",
    )
    .compile("m.c", &[]);
    let lib = |run: u32| {
        f.run(
            Command::new("gcc")
                .args(plugin_args(&f, run))
                .args(["-nostartfiles", "-shared", "-o", "libx.so"])
                .arg(odd),
        );
    };
    lib(1);
    f.run(Command::new("gcc").args(plugin_args(&f, 1)).args([
        "-o",
        "prog",
        "m.o",
        "-L.",
        "-lx",
        "-Wl,-rpath,$ORIGIN",
    ]));
    merge(&f);
    assert!(f.explain("u2").contains("HIDDEN"));
    lib(2);
    let log = apply_log(&f);
    assert!(log.contains("LTO IR not ruled out (caf"), "{log}");
    assert!(!log.contains("LTO output is added"), "{log}");
    assert!(exports(&f.path("libx.so")).contains(&"u2".to_string()));
}
