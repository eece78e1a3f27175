//! Who consumes the image besides the recorded links: ELF files of the image
//! without a Run-1 record, prebuilt trees (`--consumers`), and libraries
//! that nothing links (plugins). Real links on bfd and gold, Run-1, merge,
//! Run-2 in the same paths, verify, and the programs run.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fixture, Linker, ldprune, plugin};

/// gcc arguments that load the plugin in `run` with --gc-sections.
fn plugin_args(f: &Fixture, run: u32) -> Vec<String> {
    vec![
        f.linker.flag().to_string(),
        "-Wl,--gc-sections".to_string(),
        format!("-Wl,-plugin,{}", plugin().display()),
        format!("-Wl,-plugin-opt=run={run}"),
        format!("-Wl,-plugin-opt=state={}", f.state().display()),
    ]
}

/// Links `args` through the plugin in `run`.
fn link(f: &Fixture, run: u32, args: &[&str]) -> Output {
    f.run(Command::new("gcc").args(plugin_args(f, run)).args(args))
}

/// Links `args` without the plugin (a prebuilt or vendor binary).
fn link_plain(f: &Fixture, args: &[&str]) -> Output {
    f.run(Command::new("gcc").arg(f.linker.flag()).args(args))
}

fn ldprune_ok(f: &Fixture, args: &[&str]) -> String {
    let out = f.run(ldprune().args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report_json(f: &Fixture, extra: &[&str]) -> serde_json::Value {
    let state = f.state();
    let mut args = vec!["report", "--json", "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    serde_json::from_str(&ldprune_ok(f, &args)).unwrap()
}

/// The `hidden` list of the module whose path ends with `m`, without gold's
/// `_end`, `_edata`, `__bss_start` (tests/strings.rs tests those).
fn hidden_in(v: &serde_json::Value, m: &str) -> Vec<String> {
    let module = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["module"].as_str().unwrap().ends_with(m))
        .unwrap_or_else(|| panic!("no module {m} in {v}"));
    let mut v: Vec<String> = serde_json::from_value(module["hidden"].clone()).unwrap();
    v.retain(|n| !ldprune::elf::EXPORTED_BY_LINKER.contains(&n.as_str()));
    v
}

fn install(f: &Fixture, file: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(f.path(file), to.join(file)).unwrap();
}

fn verify_clean(f: &Fixture, roots: &[&Path]) {
    let out = f.run(ldprune().arg("verify").args(roots));
    assert!(
        out.stdout.is_empty(),
        "verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn run_with_libs(f: &Fixture, prog: &Path, libs: &Path, args: &[&str]) -> String {
    let out = f.run(Command::new(prog).args(args).env("LD_LIBRARY_PATH", libs));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const BASE: &str = "int base_used(void) { return 1; }\n\
                    int base_looked_up(void) { return 2; }\n\
                    int base_unused(void) { return 3; }\n";
const MID: &str = "int base_used(void);\n\
                   int mid_used(void) { return base_used() + 10; }\n\
                   int mid_unused(void) { return 20; }\n";
/// Imports mid_used and base_used, and looks base_looked_up up by name.
const PROG: &str = "#include <dlfcn.h>\n#include <stdio.h>\n\
                    int mid_used(void); int base_used(void);\n\
                    int main(void) {\n\
                      int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, \"base_looked_up\");\n\
                      if (!f) { puts(\"no base_looked_up\"); return 1; }\n\
                      printf(\"%d %d %d\\n\", mid_used(), base_used(), f());\n\
                      return 0;\n}\n";

/// libbase.so and libmid.so (which links libbase) through the plugin in `run`.
fn link_base_and_mid(f: &Fixture, run: u32) {
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "libbase.so",
            "-Wl,-soname,libbase.so",
            "base.o",
        ],
    );
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "libmid.so",
            "-Wl,-soname,libmid.so",
            "mid.o",
            "-L.",
            "-lbase",
        ],
    );
}

fn compile_base_mid_prog(f: &Fixture) {
    f.write("base.c", BASE).compile("base.c", &[]);
    f.write("mid.c", MID).compile("mid.c", &[]);
    f.write("prog.c", PROG).compile("prog.c", &[]);
}

/// Two libraries recorded; the program that uses them built without the
/// plugin and installed in the image. In image scope the program counts
/// through its imports and C strings, and after Run-2 it still runs.
fn unrecorded_program_of_the_image(linker: Linker) {
    let f = Fixture::new(linker);
    compile_base_mid_prog(&f);
    link_base_and_mid(&f, 1);
    link_plain(
        &f,
        &["-o", "prog", "prog.o", "-L.", "-lmid", "-lbase", "-ldl"],
    );
    let root = f.path("image");
    let (lib, bin) = (root.join("usr/lib"), root.join("usr/bin"));
    install(&f, "libbase.so", &lib);
    install(&f, "libmid.so", &lib);
    install(&f, "prog", &bin);
    let expected = run_with_libs(&f, &bin.join("prog"), &lib, &[]);
    assert_eq!(expected, "11 1 2\n");

    let scope = ["--scope", "image", "--image", root.to_str().unwrap()];
    let v = report_json(&f, &scope);
    assert_eq!(hidden_in(&v, "libmid.so"), vec!["mid_unused"]);
    assert_eq!(hidden_in(&v, "libbase.so"), vec!["base_unused"]);
    let files = v["consumer_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0]["path"].as_str().unwrap().ends_with("usr/bin/prog"));
    assert_eq!(files[0]["origin"], "image");

    let state = f.state();
    let mut merge = vec!["merge", "--state", state.to_str().unwrap()];
    merge.extend_from_slice(&scope);
    let text = ldprune_ok(&f, &merge);
    assert!(
        text.contains("1 file of the image has no Run-1 record; its imports are kept")
            && text.contains("usr/bin/prog"),
        "{text}"
    );
    let explain = |name: &str| {
        let mut args = vec!["explain", "--state", state.to_str().unwrap(), name];
        args.extend_from_slice(&scope);
        ldprune_ok(&f, &args)
    };
    let why = explain("mid_used");
    assert!(
        why.contains("KEPT") && why.contains("usr/bin/prog") && why.contains("no Run-1 record"),
        "{why}"
    );
    let why = explain("base_looked_up");
    assert!(
        why.contains("KEPT") && why.contains("C string") && why.contains("usr/bin/prog"),
        "{why}"
    );

    // Run-2 in the same paths; the unrecorded program still runs.
    link_base_and_mid(&f, 2);
    install(&f, "libbase.so", &lib);
    install(&f, "libmid.so", &lib);
    verify_clean(&f, &[&root]);
    assert_eq!(run_with_libs(&f, &bin.join("prog"), &lib, &[]), expected);
}
both_linkers!(
    unrecorded_program_of_the_image,
    unrecorded_program_of_the_image
);

/// Only the libraries go through Run-1 and Run-2; the program that uses
/// them is prebuilt, in a tree of its own read with --consumers (in the
/// default scope and in image scope).
fn prebuilt_consumers(linker: Linker) {
    let f = Fixture::new(linker);
    compile_base_mid_prog(&f);
    link_base_and_mid(&f, 1);
    link_plain(
        &f,
        &["-o", "prog", "prog.o", "-L.", "-lmid", "-lbase", "-ldl"],
    );
    let vendor = f.path("vendor");
    let (lib, bin) = (f.path("image/usr/lib"), vendor.join("opt/bin"));
    install(&f, "libbase.so", &lib);
    install(&f, "libmid.so", &lib);
    install(&f, "prog", &bin);
    let expected = run_with_libs(&f, &bin.join("prog"), &lib, &[]);

    // Without the prebuilt tree nothing links libmid.so: a plugin, kept
    // whole; of libbase.so only what libmid.so uses stays.
    let v = report_json(&f, &[]);
    assert_eq!(hidden_in(&v, "libmid.so"), Vec::<String>::new());
    assert_eq!(
        hidden_in(&v, "libbase.so"),
        vec!["base_looked_up", "base_unused"]
    );
    let consumers = ["--consumers", vendor.to_str().unwrap()];
    let v = report_json(&f, &consumers);
    assert_eq!(hidden_in(&v, "libmid.so"), vec!["mid_unused"]);
    assert_eq!(hidden_in(&v, "libbase.so"), vec!["base_unused"]);
    let files = v["consumer_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["origin"], "prebuilt");
    let image = f.path("image");
    let mut scoped = vec!["--scope", "image", "--image", image.to_str().unwrap()];
    scoped.extend_from_slice(&consumers);
    let v = report_json(&f, &scoped);
    assert_eq!(hidden_in(&v, "libmid.so"), vec!["mid_unused"]);
    assert_eq!(hidden_in(&v, "libbase.so"), vec!["base_unused"]);

    let state = f.state();
    let mut merge = vec!["merge", "--state", state.to_str().unwrap()];
    merge.extend_from_slice(&scoped);
    let text = ldprune_ok(&f, &merge);
    assert!(
        text.contains("1 file under --consumers (not rebuilt); its imports are kept"),
        "{text}"
    );
    link_base_and_mid(&f, 2);
    install(&f, "libbase.so", &lib);
    install(&f, "libmid.so", &lib);
    verify_clean(&f, &[&image, &vendor]);
    assert_eq!(run_with_libs(&f, &bin.join("prog"), &lib, &[]), expected);
}
both_linkers!(prebuilt_consumers, prebuilt_consumers);

/// A loadable builtin as bash has them: found by a path built at run time
/// and looked up as "<name>_struct".
const TRUEFALSE: &str = "struct builtin { const char *name; int (*fn)(void); };\n\
                         static int t(void) { return 0; }\n\
                         static int fl(void) { return 1; }\n\
                         struct builtin true_struct = { \"true\", t };\n\
                         struct builtin false_struct = { \"false\", fl };\n";
const NAMED: &str = "int named_used(void) { return 7; }\n\
                     int named_unused(void) { return 8; }\n";
/// `host DIR FILE NAME`: dlopens DIR/FILE.so, looks NAME_struct up; calls
/// named_used of libnamed.so, which it also opens by name.
const HOST: &str = "#include <dlfcn.h>\n#include <stdio.h>\n\
                    struct builtin { const char *name; int (*fn)(void); };\n\
                    int named_used(void);\n\
                    int main(int argc, char **argv) {\n\
                      char path[4096], sym[256];\n\
                      if (argc < 4) return 3;\n\
                      snprintf(path, sizeof path, \"%s/%s.so\", argv[1], argv[2]);\n\
                      void *h = dlopen(path, RTLD_NOW);\n\
                      if (!h) { puts(dlerror()); return 1; }\n\
                      snprintf(sym, sizeof sym, \"%s_struct\", argv[3]);\n\
                      struct builtin *b = dlsym(h, sym);\n\
                      if (!b) { puts(dlerror()); return 2; }\n\
                      void *self = dlopen(\"libnamed.so\", RTLD_NOW | RTLD_NOLOAD);\n\
                      printf(\"%s %d %d %d\\n\", b->name, b->fn(), named_used(), self != NULL);\n\
                      return 0;\n}\n";

fn link_plugin_host(f: &Fixture, run: u32) {
    link(f, run, &["-shared", "-o", "truefalse.so", "truefalse.o"]);
    link(
        f,
        run,
        &[
            "-shared",
            "-o",
            "libnamed.so",
            "-Wl,-soname,libnamed.so",
            "named.o",
        ],
    );
    link(
        f,
        run,
        &[
            "-o",
            "host",
            "host.o",
            "-L.",
            "-lnamed",
            "-ldl",
            "-Wl,-rpath,$ORIGIN",
        ],
    );
}

/// truefalse.so is linked by nobody: a plugin, every export kept although
/// no string spells its name or its symbols. libnamed.so is linked and
/// also named by a string: its unused export goes.
fn plugins_and_named_libraries(linker: Linker) {
    let f = Fixture::new(linker);
    for (src, text) in [
        ("truefalse.c", TRUEFALSE),
        ("named.c", NAMED),
        ("host.c", HOST),
    ] {
        f.write(src, text).compile(src, &[]);
    }
    link_plugin_host(&f, 1);
    let dir = f.dir.path().to_str().unwrap().to_string();
    let host = f.path("host");
    let args = [dir.as_str(), "truefalse", "true"];
    let expected = run_with_libs(&f, &host, f.dir.path(), &args);
    assert_eq!(expected, "true 0 7 1\n");

    let v = report_json(&f, &[]);
    assert_eq!(hidden_in(&v, "truefalse.so"), Vec::<String>::new());
    assert_eq!(hidden_in(&v, "libnamed.so"), vec!["named_unused"]);
    let modules = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["module"].as_str().or(x.as_str()).unwrap().to_string())
            .collect()
    };
    assert!(
        modules("plugins")
            .iter()
            .all(|m| m.ends_with("/truefalse.so"))
    );
    assert_eq!(modules("plugins").len(), 1);
    let named = &v["linked_and_named"][0];
    assert!(named["module"].as_str().unwrap().ends_with("/libnamed.so"));
    assert!(named["named_by"][0].as_str().unwrap().ends_with("/host"));
    assert_eq!(modules("unreferenced_libraries").len(), 1);
    assert!(modules("unreferenced_libraries")[0].ends_with("/truefalse.so"));

    let state = f.state();
    let text = ldprune_ok(&f, &["merge", "--state", state.to_str().unwrap()]);
    assert!(
        text.contains("libraries no consumer links (DT_NEEDED): plugins, every export kept (1)")
            && text.contains("truefalse.so: named by no C string either")
            && text.contains("linked libraries also named by a C string")
            && text.contains("libraries nothing links or names (1)"),
        "{text}"
    );
    let why = ldprune_ok(
        &f,
        &["explain", "--state", state.to_str().unwrap(), "true_struct"],
    );
    assert!(
        why.contains("KEPT") && why.contains("only dlopen reaches it"),
        "{why}"
    );

    link_plugin_host(&f, 2);
    verify_clean(&f, &[f.dir.path()]);
    assert_eq!(run_with_libs(&f, &host, f.dir.path(), &args), expected);
    let exports = |p: &str| {
        let facts =
            ldprune::elf::output::parse_output(&std::fs::read(f.path(p)).unwrap()[..]).unwrap();
        facts
            .exports
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()
    };
    assert!(!exports("libnamed.so").contains(&"named_unused".to_string()));
    assert!(exports("truefalse.so").contains(&"false_struct".to_string()));
}
both_linkers!(plugins_and_named_libraries, plugins_and_named_libraries);

/// Without build-ids a file of the image is a record's output only if its
/// name and its dynamic exports and imports match: an `app` built outside
/// the records, named like a recorded one, is a consumer.
fn files_without_build_id(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "nb.c",
        "int nb_a(void) { return 1; }\nint nb_b(void) { return 2; }\nint nb_c(void) { return 3; }\n",
    )
    .write("a.c", "int nb_a(void);\nint main(void) { return nb_a() - 1; }\n")
    .write("b.c", "int nb_b(void);\nint main(void) { return nb_b() - 2; }\n");
    for src in ["nb.c", "a.c", "b.c"] {
        f.compile(src, &[]);
    }
    let none = "-Wl,--build-id=none";
    link(&f, 1, &["-shared", "-o", "libnb.so", "nb.o", none]);
    link(&f, 1, &["-o", "app", "a.o", "-L.", "-lnb", none]);
    let root = f.path("image");
    install(&f, "libnb.so", &root);
    install(&f, "app", &root);
    let scope = ["--scope", "image", "--image", root.to_str().unwrap()];
    let v = report_json(&f, &scope);
    assert_eq!(v["consumer_files"], serde_json::json!([]));
    assert_eq!(hidden_in(&v, "libnb.so"), vec!["nb_b", "nb_c"]);

    // Another program of the same name, built without the plugin.
    std::fs::create_dir_all(f.path("other")).unwrap();
    link_plain(&f, &["-o", "other/app", "b.o", "-L.", "-lnb", none]);
    std::fs::copy(f.path("other/app"), root.join("app")).unwrap();
    let v = report_json(&f, &scope);
    let files = v["consumer_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(hidden_in(&v, "libnb.so"), vec!["nb_c"]);
}
both_linkers!(files_without_build_id, files_without_build_id);
