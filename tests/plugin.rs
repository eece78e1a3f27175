//! How the plugin behaves inside real linkers: options, environment,
//! fail-open and strict, loading twice.

mod common;

use std::process::{Command, Output};

use common::{Fixture, Linker, plugin};

fn fixture(linker: Linker) -> Fixture {
    let f = Fixture::new(linker);
    f.write("p.c", "int p_fn(void) { return 1; }\n");
    f.gcc(&["-fPIC", "-c", "p.c"]);
    f
}

/// Links libp.so with `extra` linker-driver arguments (no other plugin args).
fn link(f: &Fixture, extra: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("gcc");
    cmd.arg(f.linker.flag())
        .args(extra)
        .args(["-shared", "-o", "libp.so", "p.o"])
        .current_dir(f.dir.path())
        .env_remove("LDPRUNE_RUN")
        .env_remove("LDPRUNE_STATE")
        .env_remove("LDPRUNE_LOG")
        .env_remove("LDPRUNE_STRICT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn load() -> String {
    format!("-Wl,-plugin,{}", plugin().display())
}

fn opt(o: &str) -> String {
    format!("-Wl,-plugin-opt={o}")
}

/// What the linker printed: bfd prints plugin warnings on stdout, gold on stderr.
fn stderr(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn unknown_option(linker: Linker) {
    let f = fixture(linker);
    let out = link(&f, &[load(), opt("run=1"), opt("stat=/tmp/x")], &[]);
    assert!(!out.status.success(), "an unknown option is an error");
    let e = stderr(&out);
    assert!(e.contains("\"stat=/tmp/x\""), "names the option: {e}");
    assert!(
        e.contains("state=DIR") && e.contains("run=1|2|off") && e.contains("strict"),
        "lists valid ones: {e}"
    );
}
both_linkers!(unknown_option_is_an_error, unknown_option);

fn environment(linker: Linker) {
    let f = fixture(linker);
    let state = f.state();
    let out = link(
        &f,
        &[load()],
        &[
            ("LDPRUNE_RUN", "1"),
            ("LDPRUNE_STATE", state.to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(f.record("libp.so").is_complete());
    // run=off (the default without LDPRUNE_RUN): nothing written at all.
    let g = fixture(linker);
    let out = link(
        &g,
        &[load(), opt(&format!("state={}", g.state().display()))],
        &[],
    );
    assert!(out.status.success());
    assert!(!g.state().exists());
    // An option beats the environment.
    let h = fixture(linker);
    let out = link(
        &h,
        &[load(), opt("run=off")],
        &[
            ("LDPRUNE_RUN", "1"),
            ("LDPRUNE_STATE", h.state().to_str().unwrap()),
        ],
    );
    assert!(out.status.success());
    assert!(!h.state().exists());
}
both_linkers!(environment_fallbacks, environment);

fn fail_open(linker: Linker) {
    let f = fixture(linker);
    // A state directory that cannot be used: a directory full of other files.
    f.write("not-a-state-dir/important.txt", "user data\n");
    let bad = f.path("not-a-state-dir");
    let args = [
        load(),
        opt("run=1"),
        opt(&format!("state={}", bad.display())),
    ];
    let out = link(&f, &args, &[]);
    assert!(out.status.success(), "fail-open: {}", stderr(&out));
    let e = stderr(&out);
    assert_eq!(e.matches("ldprune:").count(), 1, "one clear warning: {e}");
    assert!(
        e.contains("not-a-state-dir") && e.contains("unchanged"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(bad.join("important.txt")).unwrap(),
        "user data\n"
    );
    assert_eq!(
        std::fs::read_dir(&bad).unwrap().count(),
        1,
        "nothing written there"
    );
    let with_warning = std::fs::read(f.path("libp.so")).unwrap();
    let plain = link(&f, &[], &[]);
    assert!(plain.status.success());
    assert_eq!(with_warning, std::fs::read(f.path("libp.so")).unwrap());

    // strict: the same failure fails the link.
    let mut strict = args.to_vec();
    strict.push(opt("strict"));
    let out = link(&f, &strict, &[]);
    assert!(!out.status.success(), "strict must fail the link");
    assert!(stderr(&out).contains("strict"), "{}", stderr(&out));

    // No state directory given at all: also fail-open.
    let out = link(&f, &[load(), opt("run=1")], &[]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("state"), "{}", stderr(&out));
}
both_linkers!(fail_open_unless_strict, fail_open);

/// gold calls onload again when the same plugin path is given twice; the
/// plugin must not register its hooks twice (one record, same output).
#[test]
fn gold_loading_the_plugin_twice() {
    let f = fixture(Linker::Gold);
    let state = f.state();
    let args = [
        load(),
        opt("run=1"),
        opt(&format!("state={}", state.display())),
        load(),
        opt("run=1"),
        opt(&format!("state={}", state.display())),
    ];
    let out = link(&f, &args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("loaded twice"), "{}", stderr(&out));
    let r = f.record("libp.so");
    assert_eq!(
        r.objects.iter().filter(|o| o.path.ends_with("p.o")).count(),
        1
    );
    let recorded = std::fs::read(f.path("libp.so")).unwrap();
    assert!(link(&f, &[], &[]).status.success());
    assert_eq!(recorded, std::fs::read(f.path("libp.so")).unwrap());
}
