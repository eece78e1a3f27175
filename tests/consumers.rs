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

/// The `hidden` list of the module whose path ends with `m`.
fn hidden_in(v: &serde_json::Value, m: &str) -> Vec<String> {
    let module = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["module"].as_str().unwrap().ends_with(m))
        .unwrap_or_else(|| panic!("no module {m} in {v}"));
    serde_json::from_value(module["hidden"].clone()).unwrap()
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
