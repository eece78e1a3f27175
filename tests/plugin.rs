//! How the plugin behaves inside real linkers: options, environment,
//! fail-open and strict, loading twice.

mod common;

use std::process::{Command, Output};

use common::{Fixture, Linker, Tmpfs, plugin};

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

/// A record that cannot be written (the state directory's file system is
/// full) warns and links unchanged; under strict the link fails and leaves
/// no output, although the linker itself has already succeeded by then.
fn record_not_written(linker: Linker) {
    let f = fixture(linker);
    let fs = Tmpfs::mount(f.path("small"), "size=64k");
    let state = fs.0.join("st");
    let args = [
        load(),
        opt("run=1"),
        opt(&format!("state={}", state.display())),
    ];
    // The state directory exists; then the file system fills up.
    assert!(link(&f, &args, &[]).status.success());
    let _ = std::fs::write(fs.0.join("fill"), vec![1u8; 256 * 1024]);
    let records = || std::fs::read_dir(state.join("links")).unwrap().count();
    let before = records();
    f.write(
        "p.c",
        "int p_fn(void) { return 1; }\nint p_new(void) { return 2; }\n",
    );
    f.gcc(&["-fPIC", "-c", "p.c"]);
    let out = link(&f, &args, &[]);
    assert!(out.status.success(), "fail-open: {}", stderr(&out));
    assert!(stderr(&out).contains("cannot record"), "{}", stderr(&out));
    assert_eq!(records(), before);
    let mut strict = args.to_vec();
    strict.push(opt("strict"));
    let out = link(&f, &strict, &[]);
    assert!(!out.status.success(), "strict: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot record"),
        "{}",
        stderr(&out)
    );
    assert!(!f.path("libp.so").exists(), "no output of a failed link");
    assert_eq!(records(), before);
}
both_linkers!(
    strict_fails_when_the_record_is_not_written,
    record_not_written
);

/// Environment values: a log setting never fails a link; LDPRUNE_STRICT and
/// LDPRUNE_RUN take exactly the documented values; a relative state
/// directory is named; bfd's notes go to stderr, not into stdout.
fn environment_values(linker: Linker) {
    let f = fixture(linker);
    let state = f.state();
    let state = state.to_str().unwrap();
    for run in ["off", "1"] {
        let out = link(
            &f,
            &[load()],
            &[
                ("LDPRUNE_RUN", run),
                ("LDPRUNE_STATE", state),
                ("LDPRUNE_LOG", "verbose"),
            ],
        );
        assert!(out.status.success(), "run={run}: {}", stderr(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("LDPRUNE_LOG=\"verbose\""), "{err}");
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    for (k, v) in [("LDPRUNE_STRICT", "yes"), ("LDPRUNE_RUN", "yes")] {
        let out = link(
            &f,
            &[load()],
            &[("LDPRUNE_RUN", "1"), ("LDPRUNE_STATE", state), (k, v)],
        );
        assert!(!out.status.success(), "{k}={v} accepted");
        assert!(
            stderr(&out).contains(&format!("{k}=\"{v}\"")),
            "{}",
            stderr(&out)
        );
    }
    let out = link(
        &f,
        &[load()],
        &[("LDPRUNE_RUN", "1"), ("LDPRUNE_STATE", "st")],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("relative"));
}
both_linkers!(environment_values_exact, environment_values);

/// Run-2 with a damaged decisions file: a warning and an apply.log line,
/// the link unchanged; strict fails it.
fn damaged_decisions(linker: Linker) {
    let f = fixture(linker);
    let state = f.state();
    let run1 = [
        load(),
        opt("run=1"),
        opt(&format!("state={}", state.display())),
    ];
    assert!(link(&f, &run1, &[]).status.success());
    let plain = std::fs::read(f.path("libp.so")).unwrap();
    std::fs::write(state.join("decisions.ldpd"), b"junk, not decisions").unwrap();
    let run2 = [
        load(),
        opt("run=2"),
        opt(&format!("state={}", state.display())),
    ];
    let out = link(&f, &run2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("decisions.ldpd") && err.contains("unchanged"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(f.path("libp.so")).unwrap(), plain);
    let log = std::fs::read_to_string(state.join("apply.log")).unwrap();
    assert!(log.contains("no usable decisions"), "{log}");
    let mut strict = run2.to_vec();
    strict.push(opt("strict"));
    let out = link(&f, &strict, &[]);
    assert!(!out.status.success(), "strict: {}", stderr(&out));
    assert!(stderr(&out).contains("decisions.ldpd"));
}
both_linkers!(damaged_decisions_loud, damaged_decisions);

/// Run-2 of a link whose inputs GCC's LTO plugin claimed entirely (all IR,
/// -nostartfiles): nothing reaches ldprune, and it says so.
fn all_inputs_claimed_elsewhere(linker: Linker) {
    let f = fixture(linker);
    f.gcc(&["-fPIC", "-flto", "-c", "p.c", "-o", "lto.o"]);
    let mut cmd = Command::new("gcc");
    cmd.arg(f.linker.flag())
        .args([
            load(),
            opt("run=2"),
            opt(&format!("state={}", f.state().display())),
        ])
        .args([
            "-flto",
            "-nostartfiles",
            "-shared",
            "-o",
            "liblto.so",
            "lto.o",
        ])
        .current_dir(f.dir.path());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no relocatable input reached"), "{err}");
    let log = std::fs::read_to_string(f.state().join("apply.log")).unwrap();
    assert!(
        log.contains("liblto.so") && log.contains("no relocatable input reached"),
        "{log}"
    );
}
both_linkers!(
    all_inputs_claimed_elsewhere_logged,
    all_inputs_claimed_elsewhere
);

/// Run-1 reads an object over 4 MiB on its reading thread, through a
/// duplicate of the linker's descriptor. A link short of descriptors must
/// still link, byte-identical to the plain link, and each record written
/// must be the usual one (the object then read in claim_file, in order).
fn few_descriptors(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "big.c",
        "static const char big_table[6 << 20] = { 1, 2, 3 };\n\
         int big_get(int i) { return big_table[i]; }\n",
    )
    .write("s.c", "int s_f(void) { return 2; }\n");
    f.compile("big.c", &["-g"]);
    f.compile("s.c", &[]);
    let link = |limit: u32, plugin: bool| {
        let args = if plugin {
            f.plugin_args().join(" ")
        } else {
            f.linker.flag().to_string()
        };
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -n {limit} && exec gcc {args} -shared -o libb.so big.o s.o"
            ))
            .current_dir(f.dir.path())
            .output()
            .unwrap()
    };
    // The usual record, with descriptors to spare.
    assert!(link(1024, true).status.success());
    let usual = f.record("libb.so");
    assert!(usual.incomplete.is_empty(), "{:?}", usual.incomplete);
    let least = (4..64)
        .find(|&n| link(n, false).status.success())
        .expect("a plain link with fewer than 64 descriptors");
    let plain = std::fs::read(f.path("libb.so")).unwrap();
    let mut records = 0;
    for n in least..least + 6 {
        let _ = std::fs::remove_dir_all(f.state());
        let out = link(n, true);
        assert!(out.status.success(), "ulimit -n {n}: {}", stderr(&out));
        assert!(
            std::fs::read(f.path("libb.so")).unwrap() == plain,
            "ulimit -n {n}: the output differs from the plain link's"
        );
        // Too few descriptors to write a record is a logged fail-open.
        if f.state().join("links").is_dir() && !f.records().is_empty() {
            let r = f.record("libb.so");
            assert!(r.incomplete.is_empty(), "ulimit -n {n}: {:?}", r.incomplete);
            assert_eq!(r.objects, usual.objects, "ulimit -n {n}");
            assert_eq!(r.strings, usual.strings, "ulimit -n {n}");
            records += 1;
        }
    }
    // The check above ran: some of these links wrote their record.
    assert!(records > 0, "no record written at any of the limits");
}
both_linkers!(few_descriptors_still_link, few_descriptors);

/// A panic anywhere in the plugin (a hook on the linker's thread, Run-1's
/// reading thread) ends on the fail-open path: the link succeeds with the
/// output a link without the plugin writes and one warning naming the
/// panic, and strict fails it. The panics are injected through
/// LDPRUNE_TEST_PANIC, which only a debug build of the plugin (the tests')
/// reads.
fn injected_panics(linker: Linker) {
    let f = fixture(linker);
    // First on the command line and over 1 MiB: Run-1 reads it, and p.o
    // after it, on its reading thread.
    f.write(
        "big.c",
        "static const char big_table[2 << 20] = { 1 };\n\
         int big_get(int i) { return big_table[i]; }\n",
    );
    f.gcc(&["-fPIC", "-c", "big.c"]);
    let big = "big.o".to_string();
    assert!(link(&f, std::slice::from_ref(&big), &[]).status.success());
    let plain = std::fs::read(f.path("libp.so")).unwrap();
    let state = f.state();
    let run = |run: u32, at: &str, strict: bool| {
        let mut args = vec![
            load(),
            opt(&format!("run={run}")),
            opt(&format!("state={}", state.display())),
            opt("log=debug"),
            big.clone(),
        ];
        if strict {
            args.push(opt("strict"));
        }
        let _ = std::fs::remove_file(f.path("libp.so"));
        link(&f, &args, &[("LDPRUNE_TEST_PANIC", at)])
    };
    for (r, at) in [
        (1, "claim_file"),
        // p.o, after the thread started at big.o: the session given up
        // with the thread running joins it.
        (1, "later_claim_file"),
        (1, "reader"),
        (1, "cleanup"),
        (2, "claim_file"),
        (2, "cleanup"),
    ] {
        let out = run(r, at, false);
        let e = stderr(&out);
        assert!(out.status.success(), "Run-{r} {at}: {e}");
        assert_eq!(
            e.matches(&format!("LDPRUNE_TEST_PANIC={at}")).count(),
            1,
            "one warning, Run-{r} {at}: {e}"
        );
        assert!(e.contains("unchanged"), "Run-{r} {at}: {e}");
        if at == "reader" {
            // The panic did happen on the thread.
            assert!(e.contains("a thread of its own from big.o"), "{e}");
        }
        assert_eq!(
            std::fs::read(f.path("libp.so")).unwrap(),
            plain,
            "Run-{r} {at}"
        );
        // Strict (Run-1; Run-2 without decisions fails strict before any
        // panic: tests/apply.rs has it with decisions).
        if r == 1 {
            let out = run(r, at, true);
            let e = stderr(&out);
            assert!(!out.status.success(), "strict, Run-{r} {at}: {e}");
            assert!(
                e.contains(&format!("LDPRUNE_TEST_PANIC={at}")),
                "strict, Run-{r} {at}: {e}"
            );
        }
    }
    // Nothing recorded by the links that failed.
    let links = state.join("links");
    assert_eq!(
        std::fs::read_dir(&links).map_or(0, |d| d.count()),
        0,
        "no record from a link whose plugin panicked"
    );
    assert_eq!(
        std::fs::read_dir(state.join("tmp")).map_or(0, |d| d.count()),
        0,
        "nothing half-written left behind"
    );
}
both_linkers!(injected_panics_fail_open, injected_panics);
