//! `ldprune flags --format dpkg` with the real dpkg-buildpackage and
//! debhelper: examples/debian (its own debian/rules with `dh $@`, its test
//! step through dh_auto_test, a symbols file, all hardening flags) built
//! with `dpkg-buildpackage -b` through Run-1, merge and Run-2 in two
//! directories; the .deb files unpacked into one tree for verify and a run
//! of the program.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, ldprune, plugin};
use ldprune::elf::output::parse_output;
use object::{Object, ObjectSection};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Scratch {
    /// Copies examples/debian to `dir/ldprune-demo`, with the Makefile and
    /// C sources it shares with the rpm demo (examples/rpm/src), and builds it there
    /// with `dpkg-buildpackage -b -us -uc` after `eval "$flags"` (the
    /// output of `ldprune flags --format dpkg`, or nothing); returns the
    /// build log. The .deb files are written to `dir`.
    fn build(&self, dir: &str, flags: &str) -> String {
        let src = self.path(dir).join("ldprune-demo");
        copy_tree(&repo().join("examples/debian"), &src);
        // The package's own debian/; the Makefile and sources are the rpm
        // demo's (one copy in the tree).
        for e in std::fs::read_dir(repo().join("examples/rpm/src")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
        }
        let out = self
            .command("sh")
            .arg("-ec")
            .arg("eval \"$FLAGS\"\ndpkg-buildpackage -b -us -uc 2>&1")
            .env("FLAGS", flags)
            .current_dir(&src)
            .output()
            .unwrap();
        let out = check(out, &format!("dpkg-buildpackage in {dir} after {flags}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Unpacks every .deb of `dir` into `dir/root` with dpkg-deb -x;
    /// returns their file names.
    fn unpack(&self, dir: &str) -> (PathBuf, Vec<String>) {
        let root = self.path(dir).join("root");
        let mut names = Vec::new();
        for e in std::fs::read_dir(self.path(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "deb") {
                names.push(p.file_name().unwrap().to_string_lossy().into_owned());
                let out = self
                    .command("dpkg-deb")
                    .arg("-x")
                    .arg(&p)
                    .arg(&root)
                    .output()
                    .unwrap();
                check(out, &format!("dpkg-deb -x {}", p.display()));
            }
        }
        names.sort();
        (root, names)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            // Keeps the mode: debian/rules is executable.
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn flags(state: &Path, run: &str) -> String {
    let out = check(
        ldprune()
            .args(["flags", "--run", run, "--format", "dpkg", "--state"])
            .arg(state)
            .arg("--plugin")
            .arg(plugin())
            .output()
            .unwrap(),
        "ldprune flags",
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the build log that run the compiler driver.
fn cc_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.starts_with("cc ")).collect()
}

/// Exported function names and the size of .text of an ELF file.
fn exports_and_text(path: &Path) -> (BTreeSet<String>, u64) {
    let bytes = std::fs::read(path).unwrap();
    let facts = parse_output(&bytes[..]).unwrap();
    let names = facts
        .exports
        .iter()
        .map(|e| e.name.clone())
        .filter(|n| n.starts_with("tally_"))
        .collect();
    let file = object::File::parse(&bytes[..]).unwrap();
    let text = file.section_by_name(".text").map_or(0, |s| s.size());
    (names, text)
}

/// What `readelf -d` and `readelf -l` say of the hardening: the BIND_NOW
/// and NOW flags, PIE, and a GNU_RELRO segment.
fn hardening(path: &Path) -> BTreeSet<&'static str> {
    let readelf = |opt: &str| {
        let out = check(
            Command::new("readelf")
                .args([opt, "-W"])
                .arg(path)
                .output()
                .unwrap(),
            "readelf",
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dynamic = readelf("-d");
    let segments = readelf("-l");
    let mut found = BTreeSet::new();
    for line in dynamic.lines() {
        if line.contains("(FLAGS)") && line.contains("BIND_NOW") {
            found.insert("BIND_NOW");
        }
        if line.contains("(FLAGS_1)") {
            for word in ["NOW", "PIE"] {
                if line.split_whitespace().any(|w| w == word) {
                    found.insert(if word == "NOW" { "FLAGS_1 NOW" } else { "PIE" });
                }
            }
        }
    }
    if segments
        .lines()
        .any(|l| l.trim_start().starts_with("GNU_RELRO"))
    {
        found.insert("GNU_RELRO");
    }
    found
}

fn run_tally(root: &Path, args: &[&str]) -> String {
    let out = check(
        Command::new(root.join("usr/bin/tally"))
            .args(args)
            .env("LD_LIBRARY_PATH", root.join("usr/lib"))
            .output()
            .unwrap(),
        "tally",
    );
    String::from_utf8(out.stdout).unwrap()
}

/// examples/debian through a plain build, Run-1, merge and Run-2 with the
/// real dpkg-buildpackage; Run-2 builds in another directory than Run-1.
#[test]
fn dpkg_buildpackage_run1_merge_run2() {
    let s = Scratch::new("ldprune-dpkg-");
    let state = s.path("state");
    let arch = {
        let out = check(
            s.command("dpkg")
                .arg("--print-architecture")
                .output()
                .unwrap(),
            "dpkg --print-architecture",
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let debs: Vec<String> = ["libtally1-dbgsym", "libtally1", "tally-dbgsym", "tally"]
        .iter()
        .map(|p| format!("{p}_1.1_{arch}.deb"))
        .collect();

    // debhelper's build with Debian's flags, all hardening on (debian/rules
    // sets DEB_BUILD_MAINT_OPTIONS=hardening=+all), the test step run.
    let hardened = |log: &str, ldprune: bool| {
        let lines = cc_lines(log);
        assert_eq!(lines.len(), 5, "3 compiles and 2 links:\n{log}");
        for line in &lines {
            assert!(line.contains("-fstack-protector-strong"), "{line}");
            let compile = line.contains(" -c ");
            assert_eq!(line.contains("-D_FORTIFY_SOURCE=2"), compile, "{line}");
            assert_eq!(line.contains("-Wl,-z,relro -Wl,-z,now"), !compile, "{line}");
            assert_eq!(line.contains("-ffunction-sections"), ldprune, "{line}");
            assert_eq!(line.contains("-Wl,-plugin,"), ldprune && !compile, "{line}");
        }
        let test = log.find("dh_auto_test").expect("dh_auto_test runs");
        assert!(
            log[test..].contains("make -j") && log[test..].contains(" check\n"),
            "{log}"
        );
    };

    // Without ldprune: the reference build.
    let log = s.build("plain", "");
    hardened(&log, false);
    let (plain, names) = s.unpack("plain");
    assert_eq!(names, debs);
    assert!(!state.exists());

    // Run-1: the links are recorded where they ran.
    let log = s.build("run1", &flags(&state, "1"));
    hardened(&log, true);
    assert!(log.contains("-Wl,-plugin-opt=run=1 "), "{log}");
    let (run1, names) = s.unpack("run1");
    assert_eq!(names, debs);
    let loaded = ldprune::state::StateDir::open(&state)
        .unwrap()
        .load_records()
        .unwrap();
    assert!(loaded.bad.is_empty(), "{:?}", loaded.bad);
    let mut recorded: Vec<(String, String)> = loaded
        .records
        .iter()
        .map(|(_, r)| (r.cwd.clone(), r.output.clone()))
        .collect();
    recorded.sort();
    let cwd = s
        .path("run1/ldprune-demo")
        .canonicalize()
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        recorded,
        [
            (cwd.clone(), "libtally.so.1".to_string()),
            (cwd, "tally".to_string())
        ]
    );

    check(
        ldprune()
            .args(["merge", "--state"])
            .arg(&state)
            .output()
            .unwrap(),
        "ldprune merge",
    );

    // Run-2, in another directory: both links find their decisions. The
    // hidden exports are gone from what debian/libtally1.symbols lists;
    // dpkg-gensymbols says so and goes on (DPKG_GENSYMBOLS_CHECK_LEVEL=0
    // reached dh_makeshlibs through dpkg-buildpackage and dh).
    let log = s.build("run2", &flags(&state, "2"));
    hardened(&log, true);
    assert!(log.contains("-Wl,-plugin-opt=run=2 "), "{log}");
    assert!(
        log.contains("dpkg-gensymbols: warning: some symbols or patterns disappeared"),
        "{log}"
    );
    let (run2, names) = s.unpack("run2");
    assert_eq!(names, debs);
    let apply_log = std::fs::read_to_string(state.join("apply.log")).unwrap_or_default();
    assert_eq!(apply_log, "", "links left unchanged by Run-2");
    assert_eq!(std::fs::read_dir(state.join("applied")).unwrap().count(), 2);

    let lib = "usr/lib/libtally.so.1";
    let (plain_names, plain_text) = exports_and_text(&plain.join(lib));
    let (names1, text1) = exports_and_text(&run1.join(lib));
    let (names2, text2) = exports_and_text(&run2.join(lib));
    let used: BTreeSet<String> = [
        "tally_new",
        "tally_free",
        "tally_add",
        "tally_count",
        "tally_mean",
        "tally_stddev",
    ]
    .map(String::from)
    .into();
    let unused: BTreeSet<String> = [
        "tally_median",
        "tally_percentile",
        "tally_histogram",
        "tally_to_json",
        "tally_sorted_copy",
    ]
    .map(String::from)
    .into();
    let all: BTreeSet<String> = used.union(&unused).cloned().collect();
    assert_eq!(plain_names, all, "plain build");
    assert_eq!(names1, all, "Run-1 changes no exports");
    assert_eq!(names2, used, "Run-2 hides the unused ones");
    assert!(
        text2 + 1024 < text1,
        ".text of {lib}: Run-1 {text1} bytes, Run-2 {text2} bytes (plain {plain_text})"
    );

    // The hardening of the outputs is the plain build's.
    for file in [lib, "usr/bin/tally"] {
        let expected = hardening(&plain.join(file));
        for want in ["BIND_NOW", "FLAGS_1 NOW", "GNU_RELRO"] {
            assert!(expected.contains(want), "{file} (plain): {expected:?}");
        }
        assert_eq!(hardening(&run1.join(file)), expected, "{file} (Run-1)");
        assert_eq!(hardening(&run2.join(file)), expected, "{file} (Run-2)");
    }

    // The packaged program works the same from each tree, and the Run-2
    // tree (with the -dbgsym packages' .debug files) resolves every import.
    for root in [&plain, &run1, &run2] {
        assert_eq!(
            run_tally(root, &[]),
            "count 15 mean 5.1333 stddev 2.8251\n",
            "{}",
            root.display()
        );
        assert_eq!(
            run_tally(root, &["1", "2", "3"]),
            "count 3 mean 2.0000 stddev 1.0000\n"
        );
    }
    let out = check(
        ldprune().arg("verify").arg(&run2).output().unwrap(),
        "ldprune verify",
    );
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("4 files, 0 problems"), "{said}");

    // At dpkg-gensymbols' default check level (1), the same library fails
    // dh_makeshlibs: why Run-2 sets the level to 0.
    let out = s
        .command("dpkg-gensymbols")
        .args(["-plibtally1", "-Idebian/libtally1.symbols"])
        .arg(format!("-P{}", run2.display()))
        .arg(format!("-e{}", run2.join(lib).display()))
        .arg("-O/dev/null")
        .current_dir(s.path("run2/ldprune-demo"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("some symbols or patterns disappeared"),
        "{out:?}"
    );
}

/// The wrapper binary, built by scripts/build-wrappers.
fn wrapper_binary() -> PathBuf {
    let out = check(
        Command::new(repo().join("scripts/build-wrappers"))
            .output()
            .unwrap(),
        "scripts/build-wrappers",
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A build that never sees DEB_*FLAGS_APPEND goes through the wrappers
/// first on PATH: LDPRUNE_RUN, LDPRUNE_STATE, LDPRUNE_PLUGIN and PATH reach
/// the compiler through dpkg-buildpackage, fakeroot, debian/rules and dh
/// (compat 13 resets HOME and the XDG variables, not these). Run-1 and
/// Run-2 in two directories, as above; hardening kept.
#[test]
fn dpkg_buildpackage_through_the_wrappers() {
    let s = Scratch::new("ldprune-dpkg-");
    let state = s.path("state");
    let wrappers = s.path("wrappers");
    std::fs::create_dir_all(&wrappers).unwrap();
    let wrap = wrapper_binary();
    for name in ["cc", "gcc", "ld", "ld.bfd"] {
        std::os::unix::fs::symlink(&wrap, wrappers.join(name)).unwrap();
    }
    // The environment and PATH of `ldprune flags` as an installed ldprune
    // prints them, without the flags for dpkg-buildflags.
    let only_wrappers = |run: &str| {
        format!(
            "{}unset $(env | sed -n 's/^\\(DEB_[A-Z]*FLAGS_APPEND\\)=.*/\\1/p')\n\
             export PATH={}:\"$PATH\"\n\
             export LDPRUNE_WRAP_DEBUG=1\n",
            flags(&state, run),
            wrappers.display()
        )
    };

    let log = s.build("run1", &only_wrappers("1"));
    let links: Vec<&str> = cc_lines(&log)
        .into_iter()
        .filter(|l| !l.contains(" -c "))
        .collect();
    assert_eq!(links.len(), 2, "{log}");
    for line in links {
        assert!(
            !line.contains("-plugin") && line.contains("-Wl,-z,relro -Wl,-z,now"),
            "no ldprune flags from dpkg-buildflags: {line}"
        );
    }
    // LDPRUNE_WRAP_DEBUG: the wrapper ran the real compiler with the plugin.
    assert!(log.contains("-plugin-opt=run=1"), "{log}");
    let loaded = ldprune::state::StateDir::open(&state)
        .unwrap()
        .load_records()
        .unwrap();
    let mut outputs: Vec<String> = loaded
        .records
        .iter()
        .map(|(_, r)| r.output.clone())
        .collect();
    outputs.sort();
    assert_eq!(outputs, ["libtally.so.1", "tally"]);

    check(
        ldprune()
            .args(["merge", "--state"])
            .arg(&state)
            .output()
            .unwrap(),
        "ldprune merge",
    );
    let log = s.build("run2", &only_wrappers("2"));
    assert!(log.contains("-plugin-opt=run=2"), "{log}");
    let (run2, _) = s.unpack("run2");
    let apply_log = std::fs::read_to_string(state.join("apply.log")).unwrap_or_default();
    assert_eq!(apply_log, "", "links left unchanged by Run-2");
    let lib = "usr/lib/libtally.so.1";
    let (names, _) = exports_and_text(&run2.join(lib));
    assert_eq!(
        names,
        [
            "tally_add",
            "tally_count",
            "tally_free",
            "tally_mean",
            "tally_new",
            "tally_stddev"
        ]
        .map(String::from)
        .into()
    );
    for file in [lib, "usr/bin/tally"] {
        let h = hardening(&run2.join(file));
        for want in ["BIND_NOW", "FLAGS_1 NOW", "GNU_RELRO"] {
            assert!(h.contains(want), "{file}: {h:?}");
        }
    }
    assert_eq!(
        run_tally(&run2, &["1", "2", "3"]),
        "count 3 mean 2.0000 stddev 1.0000\n"
    );
    check(
        ldprune().arg("verify").arg(&run2).output().unwrap(),
        "ldprune verify",
    );
}
