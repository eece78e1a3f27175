//! The merge on real Run-1 records of C fixtures, linked by bfd and gold.

mod common;

use common::{Fixture, Linker, ldprune};
use ldprune::analysis::rules::PinReason;
use ldprune::analysis::{Analysis, Options, analyse};
use ldprune::state::decisions;

/// Compiles each (file, source) and links `libs` (name, objects, extra
/// args) then `programs`, all through the Run-1 plugin.
fn build(
    f: &Fixture,
    sources: &[(&str, &str)],
    libs: &[(&str, &[&str])],
    programs: &[(&str, &[&str])],
) {
    for (name, text) in sources {
        f.write(name, text).compile(name, &[]);
    }
    for (lib, args) in libs {
        let mut a = vec!["-shared", "-o", lib];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-L.", "-Wl,-rpath,$ORIGIN"]);
        f.link(&a);
    }
    for (prog, args) in programs {
        let mut a = vec!["-o", prog];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-L.", "-Wl,-rpath,$ORIGIN"]);
        f.link(&a);
    }
}

fn analysis(f: &Fixture, opts: &Options) -> Analysis {
    analyse(f.records(), opts)
}

/// Hidden exports of the module whose file name is `lib`, without gold's
/// `_end`, `_edata`, `__bss_start` (tests/strings.rs tests those).
fn hidden(a: &Analysis, lib: &str) -> Vec<String> {
    let r = a
        .results
        .iter()
        .find(|r| r.path.file_name().is_some_and(|n| n == lib))
        .unwrap_or_else(|| panic!("no module {lib}"));
    without_linker_names(r.hidden_exports.clone())
}

/// `names` without gold's `_end`, `_edata`, `__bss_start`.
fn without_linker_names(mut names: Vec<String>) -> Vec<String> {
    names.retain(|n| !ldprune::elf::EXPORTED_BY_LINKER.contains(&n.as_str()));
    names
}

fn pinned(a: &Analysis, lib: &str, name: &str) -> Option<PinReason> {
    let r = a
        .results
        .iter()
        .find(|r| r.path.file_name().is_some_and(|n| n == lib))?;
    r.pinned.get(name).cloned()
}

const THREE_LIBS: &[(&str, &str)] = &[
    (
        "c.c",
        "int c_used(void) { return 1; }\nint c_only_for_b_unused(void) { return 2; }\n",
    ),
    (
        "b.c",
        "int c_used(void); int c_only_for_b_unused(void);\n\
         int b_used(void) { return c_used() + 1; }\n\
         int b_unused(void) { return c_only_for_b_unused() + 1; }\n",
    ),
    (
        "a.c",
        "int b_used(void); int b_unused(void);\n\
         int a_used(void) { return b_used() + 1; }\n\
         int a_unused(void) { return b_unused() + 1; }\n",
    ),
    (
        "main.c",
        "int a_used(void);\nint main(void) { return a_used() - 3; }\n",
    ),
];

/// liba3 -> libb3 -> libc3, and a program using one chain of them.
fn build_three_libs(f: &Fixture) {
    build(
        f,
        THREE_LIBS,
        &[
            ("libc3.so", &["c.o"]),
            ("libb3.so", &["b.o", "-lc3"]),
            ("liba3.so", &["a.o", "-lb3"]),
        ],
        &[("prog", &["main.o", "-la3", "-lb3", "-lc3"])],
    );
}

fn cascade(linker: Linker) {
    let f = Fixture::new(linker);
    build_three_libs(&f);
    let a = analysis(&f, &Options::default());
    // a_unused is imported by nobody; hiding it frees b_unused, which frees
    // c_only_for_b_unused: the cascade across three libraries.
    assert_eq!(hidden(&a, "liba3.so"), vec!["a_unused"]);
    if linker == Linker::Gold {
        // gold keeps the import of a name that only removed code used (while
        // a library of the link defines it): the cascade stops at a module
        // gold links, and explain says so.
        assert_eq!(hidden(&a, "libb3.so"), Vec::<String>::new());
        assert_eq!(hidden(&a, "libc3.so"), Vec::<String>::new());
        let text = f.explain("b_unused");
        assert!(
            text.contains("KEPT") && text.contains("liba3.so") && text.contains("gold keeps"),
            "{text}"
        );
        return;
    }
    assert_eq!(hidden(&a, "libb3.so"), vec!["b_unused"]);
    assert_eq!(hidden(&a, "libc3.so"), vec!["c_only_for_b_unused"]);
    let c = a
        .results
        .iter()
        .find(|r| r.path.ends_with("libc3.so"))
        .unwrap();
    assert!(
        c.after.text < c.before.text,
        "{:?} -> {:?}",
        c.before,
        c.after
    );

    // merge writes decisions that a link finds by its identity.
    let out = ldprune()
        .args(["merge", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = f.record("libb3.so");
    let state = ldprune::state::StateDir::open(&f.state()).unwrap();
    let mut found = decisions::lookup(&decisions::path(&state), rec.identity).unwrap();
    assert_eq!(found.len(), 1);
    let d = found.pop().unwrap();
    assert_eq!(d.directory, rec.directory());
    assert_eq!(
        without_linker_names(d.hide.iter().map(String::from).collect()),
        vec!["b_unused"]
    );
    let unknown = ldprune::elf::hash::Hash128(12345);
    assert_eq!(
        decisions::lookup(&decisions::path(&state), unknown).unwrap(),
        Vec::new()
    );

    // explain says why a name is kept and why another is hidden.
    let why = ldprune()
        .args(["explain", "--state"])
        .arg(f.state())
        .arg("c_used")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&why.stdout);
    assert!(
        text.contains("kept") && text.contains(".text.b_used") && text.contains("prog"),
        "{text}"
    );
    let why = ldprune()
        .args(["explain", "--state"])
        .arg(f.state())
        .arg("c_only_for_b_unused")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&why.stdout).contains("HIDDEN"));
}
both_linkers!(three_library_cascade, cascade);

fn safety_rules(linker: Linker) {
    let f = Fixture::new(linker);
    build(
        &f,
        &[
            (
                "lib.c",
                "int looked_up(void) { return 1; }\nint interposed(void) { return 2; }\n\
                 int plain_unused(void) { return 3; }\nint kept_by_list(void) { return 4; }\n",
            ),
            (
                "plug.c",
                "int plug_entry(void) { return 5; }\nint plug_other(void) { return 6; }\n",
            ),
            (
                "main.c",
                "#include <dlfcn.h>\n#include <stddef.h>\n\
                 int interposed(void) { return 7; }\n\
                 int main(void) {\n\
                   void *h = dlopen(\"libplug.so\", RTLD_NOW);\n\
                   void *s = dlsym(RTLD_DEFAULT, \"looked_up\");\n\
                   return (h != NULL) + (s != NULL) + interposed() - 9;\n}\n",
            ),
        ],
        &[("liblib.so", &["lib.o"]), ("libplug.so", &["plug.o"])],
        // --no-as-needed: prog calls nothing of liblib.so directly (it
        // looks looked_up up by dlsym), and gcc here passes --as-needed.
        &[(
            "prog",
            &["main.o", "-Wl,--no-as-needed", "-llib", "-rdynamic", "-ldl"],
        )],
    );
    f.write(
        "keep.txt",
        "# names outside the image use\nliblib.so:kept_*\n",
    );
    let opts = Options {
        keep: vec![(Some("liblib.so".into()), "kept_*".into())],
        ..Options::default()
    };
    let a = analysis(&f, &opts);
    assert_eq!(hidden(&a, "liblib.so"), vec!["plain_unused"]);
    assert_eq!(
        pinned(&a, "liblib.so", "interposed"),
        Some(PinReason::Interposable)
    );
    assert_eq!(
        pinned(&a, "liblib.so", "kept_by_list"),
        Some(PinReason::KeepEntry {
            module: "liblib.so".into(),
            pattern: "kept_*".into()
        })
    );
    assert!(
        hidden(&a, "libplug.so").is_empty(),
        "dlopen'd, linked by nothing: a plugin, all kept"
    );
    assert_eq!(
        pinned(&a, "libplug.so", "plug_other"),
        Some(PinReason::NotLinked { named: true })
    );
    // looked_up survives because a C string spells it (dlsym).
    let why = ldprune()
        .args(["explain", "--state"])
        .arg(f.state())
        .arg("looked_up")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&why.stdout).contains("C string"),
        "{}",
        String::from_utf8_lossy(&why.stdout)
    );
    // The keep list file gives the same result through the CLI.
    let rep = ldprune()
        .args(["report", "--json", "--state"])
        .arg(f.state())
        .arg("--keep")
        .arg(f.path("keep.txt"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&rep.stdout).unwrap();
    let sites = v["dynamic_lookup_sites"].as_array().unwrap();
    assert!(
        sites
            .iter()
            .any(|s| s["module"].as_str().unwrap().ends_with("prog")
                && s["functions"] == serde_json::json!(["dlsym"])),
        "{sites:?}"
    );
    let lib = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"].as_str().unwrap().ends_with("liblib.so"))
        .unwrap();
    assert_eq!(
        without_linker_names(serde_json::from_value(lib["hidden"].clone()).unwrap()),
        vec!["plain_unused"]
    );
}
both_linkers!(dlsym_interposition_dlopen_and_keep_lists, safety_rules);

#[test]
fn merge_is_deterministic_and_refuses_bad_records() {
    let f = Fixture::new(Linker::Bfd);
    build_three_libs(&f);
    let merge = |extra: &[&str]| {
        ldprune()
            .args(["merge", "--state"])
            .arg(f.state())
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(merge(&[]).status.success());
    let state = ldprune::state::StateDir::open(&f.state()).unwrap();
    let first = std::fs::read(decisions::path(&state)).unwrap();
    // Records in another order give the same decisions, and merging again
    // writes a byte-identical file.
    let mut records = f.records();
    records.reverse();
    let a = analyse(records, &Options::default());
    let b = analyse(f.records(), &Options::default());
    let names = |x: &Analysis| {
        x.results
            .iter()
            .map(|r| (r.identity, r.hide.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert!(merge(&[]).status.success());
    assert_eq!(first, std::fs::read(decisions::path(&state)).unwrap());

    // A damaged record stops the merge unless --skip-bad.
    let paths = state.record_paths().unwrap();
    std::fs::write(&paths[0], b"garbage").unwrap();
    let out = merge(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&paths[0].display().to_string()) && err.contains("--skip-bad"),
        "{err}"
    );
    let out = merge(&["--skip-bad"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped 1"));
}

fn image_scope(linker: Linker) {
    let f = Fixture::new(linker);
    build(
        &f,
        &[
            (
                "lib.c",
                "int for_app(void) { return 1; }\nint only_tests_use(void) { return 2; }\n\
                 int nobody(void) { return 3; }\nint shadowed(void) { return 4; }\n",
            ),
            (
                "app.c",
                "int for_app(void);\nint main(void) { return for_app() - 1; }\n",
            ),
            (
                "test.c",
                "int only_tests_use(void);\nint shadowed(void) { return 5; }\n\
                 int main(void) { return only_tests_use() - 2; }\n",
            ),
        ],
        &[("libimg.so", &["lib.o"])],
        &[
            ("app", &["app.o", "-limg"]),
            // Exports its own `shadowed`: a second definition, but only
            // where the test program runs (not in the image).
            ("test_prog", &["test.o", "-limg", "-Wl,--export-dynamic"]),
        ],
    );
    // Install the library and the application only; strip them as a
    // package build would (the build-id survives).
    let root = f.path("image");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::copy(f.path("libimg.so"), root.join("usr/lib/libimg.so")).unwrap();
    std::fs::copy(f.path("app"), root.join("usr/bin/app")).unwrap();
    f.run(
        std::process::Command::new("strip")
            .arg(root.join("usr/lib/libimg.so"))
            .arg(root.join("usr/bin/app")),
    );

    let report = |extra: &[&str]| -> serde_json::Value {
        let out = ldprune()
            .args(["report", "--json", "--state"])
            .arg(f.state())
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let hidden_in = |v: &serde_json::Value, m: &str| -> serde_json::Value {
        let names = v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["module"].as_str().unwrap().ends_with(m))
            .unwrap()["hidden"]
            .clone();
        serde_json::json!(without_linker_names(serde_json::from_value(names).unwrap()))
    };
    let all = report(&[]);
    assert_eq!(hidden_in(&all, "libimg.so"), serde_json::json!(["nobody"]));
    let root_arg = root.to_str().unwrap();
    let image = report(&["--scope", "image", "--image", root_arg]);
    // `shadowed` is defined twice only outside the image: hidden there.
    assert_eq!(
        hidden_in(&image, "libimg.so"),
        serde_json::json!(["nobody", "only_tests_use", "shadowed"])
    );
    // The test program is not in the image: left unchanged.
    assert_eq!(hidden_in(&image, "test_prog"), serde_json::json!([]));

    let bad = ldprune()
        .args(["report", "--state"])
        .arg(f.state())
        .args(["--scope", "image"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--image ROOT"));
}
both_linkers!(image_scope_counts_only_installed_files, image_scope);

/// A library of two version nodes: V1 { a; b; } keeps `a` (the program
/// calls it), V2 { c; } loses its only name. merge and report list V2 alone,
/// with rpm's capability; a 32-bit build (armhf, merged from its own state
/// directory: one merge is one machine) has no `(64bit)` marker. A test
/// program that needs V2 keeps it in the default scope, and is named (not a
/// consumer) when only the image counts.
fn version_nodes(linker: Linker) {
    let f = Fixture::new(linker);
    f.write_two_node_library()
        .write("t.c", "int c(void);\nint main(void) { return c() - 3; }\n");
    for src in ["v.c", "app.c", "t.c"] {
        f.compile(src, &[]);
    }
    f.link(&[
        "-shared",
        "-o",
        "libv.so.1",
        "-Wl,-soname,libv.so.1",
        "v.o",
        "-Wl,--version-script=v.map",
    ]);
    f.link(&["-o", "app", "app.o", "libv.so.1", "-Wl,-rpath,$ORIGIN"]);
    let f32 = Fixture::cross(linker, "arm-linux-gnueabihf");
    f32.write_two_node_library();
    for src in ["v.c", "app.c"] {
        f32.compile(src, &[]);
    }
    f32.link(&[
        "-shared",
        "-o",
        "libv32.so.1",
        "-Wl,-soname,libv32.so.1",
        "v.o",
        "-Wl,--version-script=v.map",
    ]);
    f32.link(&["-o", "app32", "app.o", "libv32.so.1"]);

    let run_in = |state: &std::path::Path, cmd: &str, extra: &[&str]| -> std::process::Output {
        let out = ldprune()
            .args([cmd, "--state"])
            .arg(state)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let run = |cmd: &str, extra: &[&str]| run_in(&f.state(), cmd, extra);
    let nodes_in = |state: &std::path::Path, extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let v: serde_json::Value =
            serde_json::from_slice(&run_in(state, "report", &args).stdout).unwrap();
        v["emptied_version_nodes"].as_array().unwrap().clone()
    };
    let nodes = |extra: &[&str]| nodes_in(&f.state(), extra);
    let caps = |listed: &[serde_json::Value]| -> Vec<String> {
        listed
            .iter()
            .map(|n| n["capability"].as_str().unwrap().to_string())
            .collect()
    };

    let listed = nodes(&[]);
    assert_eq!(caps(&listed), vec!["libv.so.1(V2)(64bit)"]);
    assert_eq!(caps(&nodes_in(&f32.state(), &[])), vec!["libv32.so.1(V2)"]);
    let n = &listed[0];
    assert!(n["module"].as_str().unwrap().ends_with("/libv.so.1"), "{n}");
    assert_eq!(n["soname"], "libv.so.1");
    assert_eq!(n["node"], "V2");
    assert_eq!(n["names"], 1);
    assert_eq!(n["needed_by"], serde_json::json!([]));
    assert_eq!(n["problem"], false);
    assert_eq!(n["linker_keeps_node"], true);

    let merged = run("merge", &[]);
    let text = String::from_utf8_lossy(&merged.stdout);
    assert!(
        text.contains("node V2, 1 name hidden, libv.so.1(V2)(64bit)")
            && !text.contains("node V1")
            && text.contains("the linker keeps the empty node"),
        "{text}"
    );
    let merged = run_in(&f32.state(), "merge", &[]);
    let text = String::from_utf8_lossy(&merged.stdout);
    assert!(
        text.contains("node V2, 1 name hidden, libv32.so.1(V2)\n"),
        "{text}"
    );
    let text = String::from_utf8_lossy(&run("report", &[]).stdout).into_owned();
    assert!(
        text.contains("libv.so.1(V2)(64bit)") && !text.contains("node V1"),
        "{text}"
    );

    // A test program needs V2 (it calls c): kept for it by default.
    f.link(&["-o", "t", "t.o", "libv.so.1", "-Wl,-rpath,$ORIGIN"]);
    assert!(nodes(&[]).is_empty());
    // Only the image counts: V2 is emptied, and the test program, which
    // is not shipped, is named as needing it.
    let root = f.path("image");
    std::fs::create_dir_all(&root).unwrap();
    for file in ["libv.so.1", "app"] {
        std::fs::copy(f.path(file), root.join(file)).unwrap();
    }
    let listed = nodes(&["--scope", "image", "--image", root.to_str().unwrap()]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["capability"], "libv.so.1(V2)(64bit)");
    let needed = listed[0]["needed_by"].as_array().unwrap();
    assert_eq!(needed.len(), 1, "{needed:?}");
    assert!(needed[0]["link"].as_str().unwrap().ends_with("/t"));
    assert_eq!(needed[0]["consumer"], false);
    assert_eq!(listed[0]["problem"], false);
}
both_linkers!(emptied_version_nodes_listed, version_nodes);
