//! rpm/macros.ldprune with the real rpm (Debian's rpm 4.18): what the
//! macros add and that they add nothing when off, the facts of Debian's
//! rpm they rely on, and examples/rpm/ldprune-demo.spec built with
//! `rpmbuild -bb` through Run-1, merge and Run-2.

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

fn macros_file() -> PathBuf {
    repo().join("rpm/macros.ldprune")
}

impl Scratch {
    /// `rpm [args] --eval EXPR`: the expansion, or rpm's stderr.
    fn eval(&self, args: &[&str], expr: &str) -> Result<String, String> {
        let out = self
            .command("rpm")
            .args(args)
            .arg(format!("--eval={expr}"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() || stderr.contains("error:") {
            return Err(stderr);
        }
        let mut text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.pop(),
            Some('\n'),
            "rpm --eval ends its output with a newline"
        );
        Ok(text)
    }

    fn eval_ok(&self, args: &[&str], expr: &str) -> String {
        self.eval(args, expr)
            .unwrap_or_else(|e| panic!("rpm {args:?} --eval {expr:?}: {e}"))
    }
}

fn load() -> String {
    format!("--load={}", macros_file().display())
}

/// rpm 4.18's default list of macro files (lib/rpmrc.c; Debian's vendor
/// directory is "debian"), with `ours` after macros.d/macros.* if given:
/// where rpm reads /usr/lib/rpm/macros.d/macros.ldprune when installed.
fn macro_path(ours: Option<&Path>) -> String {
    let mut files = vec![
        "/usr/lib/rpm/macros".to_string(),
        "/usr/lib/rpm/macros.d/macros.*".to_string(),
    ];
    files.extend(ours.map(|p| p.display().to_string()));
    files.extend(
        [
            "/usr/lib/rpm/platform/%{_target}/macros",
            "/usr/lib/rpm/fileattrs/*.attr",
            "/usr/lib/rpm/debian/macros",
            "/etc/rpm/macros.*",
            "/etc/rpm/macros",
            "/etc/rpm/%{_target}/macros",
            "~/.rpmmacros",
        ]
        .map(String::from),
    );
    format!("--macros={}", files.join(":"))
}

/// The two ways rpm reads the file: installed (in macros.d order), and
/// `--load` (after every other file).
fn orders() -> [(&'static str, String); 2] {
    [
        ("installed", macro_path(Some(&macros_file()))),
        ("--load", load()),
    ]
}

/// What the macros touch, and what builds from it.
const EXPANSIONS: &[&str] = &[
    "%{optflags}",
    "%{build_cflags}",
    "%{build_cxxflags}",
    "%{build_fflags}",
    "%{?build_ldflags}",
    "%{set_build_flags}",
    "%{___build_pre}",
    "%{__spec_prep_template}",
    "%{__spec_conf_template}",
    "%{__spec_build_template}",
    "%{__spec_install_template}",
    "%{__spec_check_template}",
    "%{__spec_clean_template}",
];

/// The stages whose scriptlets get the environment.
const STAGES: &[&str] = &["conf", "build", "install", "check"];

/// The definitions macros.ldprune states again (with its part added) are
/// this rpm's, and how Debian's rpm 4.18 gets %optflags.
#[test]
fn debian_rpm_facts_the_macros_rely_on() {
    let s = Scratch::new("ldprune-rpm-");
    let body = |name: &str| s.eval_ok(&[], &format!("%{{macrobody:{name}}}"));
    assert_eq!(body("build_cflags"), "%{optflags}");
    assert_eq!(body("build_cxxflags"), "%{optflags}");
    assert_eq!(
        body("build_fflags"),
        "%{optflags} %{?_fmoddir:-I%{_fmoddir}}"
    );
    assert_eq!(
        s.eval_ok(&[], "%{?build_ldflags:defined}"),
        "",
        "no %build_ldflags"
    );
    for stage in STAGES {
        let shell = if *stage == "conf" { "build" } else { stage };
        assert_eq!(
            body(&format!("__spec_{stage}_template")),
            format!("#!%{{__spec_{shell}_shell}}\n%{{__spec_{stage}_pre}}\n%{{nil}}")
        );
    }
    // The platform file, read after macros.d, defines %__spec_install_pre
    // again (so macros.ldprune hooks the templates, not the _pre macros).
    let platform = std::fs::read_to_string(format!(
        "/usr/lib/rpm/platform/{}/macros",
        s.eval_ok(&[], "%{_target}")
    ))
    .unwrap();
    assert!(platform.contains("\n%__spec_install_pre %{___build_pre}\\\n"));
    assert!(!platform.contains("_template"));
    // macro_path(None) is rpm's default: the same configuration.
    let showrc = |args: &[&str]| {
        let out = s
            .command("rpm")
            .args(args)
            .arg("--showrc")
            .output()
            .unwrap();
        check(out, "rpm --showrc").stdout
    };
    assert!(
        showrc(&[]) == showrc(&[&macro_path(None)]),
        "macro_path(None) is not rpm's default"
    );
    // %build runs rpm's preamble and the spec's lines: no %set_build_flags,
    // so no CFLAGS or LDFLAGS in the environment unless the spec sets them;
    // RPM_OPT_FLAGS is %{optflags}, not %{build_cflags}.
    assert_eq!(body("__spec_build_pre"), "%{___build_pre}");
    let pre = body("___build_pre");
    assert!(
        pre.contains("RPM_OPT_FLAGS=\"%{optflags}\"")
            && !pre.contains(" CFLAGS=")
            && !pre.contains("LDFLAGS=")
            && !pre.contains("build_flags"),
        "{pre}"
    );
    assert!(
        body("set_build_flags").contains("CFLAGS=\"${CFLAGS:-%{?build_cflags}}\""),
        "%set_build_flags keeps a CFLAGS the environment already has"
    );

    // %optflags comes from rpmrc ("optflags: ARCH ..."), defined after the
    // macro files: %optflags in ~/.rpmmacros does not reach %build_cflags,
    // ~/.rpmrc and --define do.
    let plain = s.eval_ok(&[], "%{build_cflags}");
    assert!(!plain.is_empty());
    std::fs::write(s.path(".rpmmacros"), "%optflags -O1 -DFROM_RPMMACROS\n").unwrap();
    assert_eq!(s.eval_ok(&[], "%{?ldprune_probe}"), "");
    std::fs::write(
        s.path(".rpmmacros"),
        "%optflags -O1 -DFROM_RPMMACROS\n%ldprune_probe read\n",
    )
    .unwrap();
    assert_eq!(
        s.eval_ok(&[], "%{ldprune_probe}"),
        "read",
        "~/.rpmmacros is read"
    );
    assert_eq!(s.eval_ok(&[], "%{build_cflags}"), plain);
    assert_eq!(s.eval_ok(&[], "%{optflags}"), plain);
    let arch = s.eval_ok(&[], "%{_arch}");
    std::fs::write(
        s.path(".rpmrc"),
        format!("optflags: {arch} -O1 -DFROM_RPMRC\n"),
    )
    .unwrap();
    assert_eq!(s.eval_ok(&[], "%{build_cflags}"), "-O1 -DFROM_RPMRC");
    assert_eq!(
        s.eval_ok(&["--define=optflags -Os -DFROM_DEFINE"], "%{build_cflags}"),
        "-Os -DFROM_DEFINE"
    );
    // ldprune's flags go after whatever %optflags is.
    let st = s.path("st");
    let active = [
        load(),
        "--define=_ldprune_run 1".to_string(),
        format!("--define=_ldprune_state {}", st.display()),
        format!("--define=_ldprune_plugin {}", plugin().display()),
    ];
    let active: Vec<&str> = active.iter().map(String::as_str).collect();
    assert_eq!(
        s.eval_ok(&active, "%{build_cflags}"),
        "-O1 -DFROM_RPMRC -ffunction-sections -fdata-sections -ffat-lto-objects"
    );
}

#[test]
fn macros_change_nothing_when_off() {
    let s = Scratch::new("ldprune-rpm-");
    for (order, ours) in orders() {
        for expr in EXPANSIONS {
            let plain = s.eval_ok(&[], expr);
            assert_eq!(s.eval_ok(&[&ours], expr), plain, "{expr} ({order})");
            for off in ["off", "0"] {
                let def = format!("--define=_ldprune_run {off}");
                assert_eq!(
                    s.eval_ok(&[&ours, &def], expr),
                    plain,
                    "{expr} with _ldprune_run {off} ({order})"
                );
            }
        }
    }
}

/// The definitions macros.ldprune replaces are this rpm's with a hook added,
/// whichever way it is read.
#[test]
fn macros_restate_rpms_definitions() {
    let s = Scratch::new("ldprune-rpm-");
    let body = |args: &[&str], name: &str| s.eval_ok(args, &format!("%{{macrobody:{name}}}"));
    for (order, ours) in orders() {
        let with = |name: &str| body(&[&ours], name);
        for name in ["build_cflags", "build_cxxflags", "build_fflags"] {
            assert_eq!(
                with(name),
                body(&[], name) + "%{__ldprune_cflags}",
                "{name} ({order})"
            );
        }
        assert_eq!(with("build_ldflags"), "%{__ldprune_ldflags}");
        for stage in STAGES {
            let name = format!("__spec_{stage}_template");
            let pre = format!("%{{__spec_{stage}_pre}}");
            assert_eq!(
                with(&name),
                body(&[], &name).replace(&pre, &format!("{pre}%{{__ldprune_env}}")),
                "{name} ({order})"
            );
        }
        for other in [
            "__spec_install_pre",
            "__spec_build_pre",
            "___build_pre",
            "optflags",
        ] {
            assert_eq!(with(other), body(&[], other), "{other} ({order})");
        }
    }
}

/// With `_ldprune_run`, the macros add exactly what `ldprune flags` prints.
#[test]
fn macros_add_what_ldprune_flags_prints() {
    let s = Scratch::new("ldprune-rpm-");
    let load = load();
    let st = s.path("st");
    let plugin = plugin();
    for run in ["1", "2"] {
        let flags = |format: &str| {
            let out = s
                .command(env!("CARGO_BIN_EXE_ldprune"))
                .args(["flags", "--run", run, "--format", format, "--state"])
                .arg(&st)
                .arg("--plugin")
                .arg(&plugin)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout)
                .unwrap()
                .trim_end()
                .to_string()
        };
        let cflags = flags("cflags"); // creates the state directory
        let state = st.canonicalize().unwrap();
        let args = [
            load.clone(),
            format!("--define=_ldprune_run {run}"),
            format!("--define=_ldprune_state {}", state.display()),
            format!("--define=_ldprune_plugin {}", plugin.display()),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let optflags = s.eval_ok(&[], "%{optflags}");
        assert_eq!(
            s.eval_ok(&args, "%{build_cflags}"),
            format!("{optflags} {cflags}")
        );
        assert_eq!(
            s.eval_ok(&args, "%{build_cxxflags}"),
            format!("{optflags} {cflags}")
        );
        assert_eq!(s.eval_ok(&args, "%{build_ldflags}"), flags("ldflags"));
        assert!(
            s.eval_ok(&args, "%{set_build_flags}")
                .contains(&format!("LDFLAGS=\"${{LDFLAGS:-{}}}\"", flags("ldflags")))
        );
        // `ldprune flags --format rpm` gives the same defines.
        let rpm = flags("rpm");
        assert!(
            rpm.contains(&format!("--define='_ldprune_run {run}'"))
                && rpm.contains(&format!("--define='_ldprune_state {}'", state.display())),
            "{rpm}"
        );
    }
}

/// The build scriptlets export the run, the state and the plugin, and put
/// the wrappers first on PATH when `%{_ldprune_libdir}/wrappers` exists;
/// without LDPRUNE_PLUGIN the plugin is `%{_ldprune_libdir}/libldprune.so`.
#[test]
fn scriptlets_export_the_environment() {
    let s = Scratch::new("ldprune-rpm-");
    let libdir = s.path("lib/ldprune");
    std::fs::create_dir_all(libdir.join("wrappers")).unwrap();
    std::os::unix::fs::symlink(plugin(), libdir.join("libldprune.so")).unwrap();
    std::fs::create_dir_all(s.path("BUILD")).unwrap();
    let expected = format!(
        "2|{}|{}|{}:",
        s.path("st").display(),
        libdir.join("libldprune.so").display(),
        libdir.join("wrappers").display()
    );
    for (order, ours) in orders() {
        let args = [
            ours,
            format!("--define=_builddir {}", s.path("BUILD").display()),
            format!("--define=_ldprune_libdir {}", libdir.display()),
            "--define=_ldprune_run 2".to_string(),
            format!("--define=_ldprune_state {}", s.path("st").display()),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for stage in STAGES {
            let script = s.eval_ok(&args, &format!("%{{__spec_{stage}_template}}"));
            let script = format!(
                "{script}\nprintf '%s|%s|%s|%s' \"$LDPRUNE_RUN\" \"$LDPRUNE_STATE\" \"$LDPRUNE_PLUGIN\" \"$PATH\"\n"
            );
            let out = s.command("sh").arg("-ec").arg(&script).output().unwrap();
            let out = check(out, &format!("%{stage} ({order})"));
            let printed = String::from_utf8(out.stdout).unwrap();
            assert!(
                printed.starts_with(&expected),
                "{stage} ({order}): {printed}"
            );
        }
    }
    let args = [
        load(),
        format!("--define=_builddir {}", s.path("BUILD").display()),
        format!("--define=_ldprune_libdir {}", libdir.display()),
        "--define=_ldprune_run 2".to_string(),
        format!("--define=_ldprune_state {}", s.path("st").display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // No wrappers directory: PATH stays.
    std::fs::remove_dir(libdir.join("wrappers")).unwrap();
    let script = s.eval_ok(&args, "%{__spec_build_template}");
    let out = s
        .command("sh")
        .arg("-ec")
        .arg(format!("{script}\nprintf '%s' \"$PATH\""))
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/usr/bin:/bin");
}

#[test]
fn macro_errors_name_the_problem() {
    let s = Scratch::new("ldprune-rpm-");
    let load = load();
    let plugin_def = format!("--define=_ldprune_plugin {}", plugin().display());
    let state_def = format!("--define=_ldprune_state {}", s.path("st").display());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--define=_ldprune_run 3", &state_def, &plugin_def],
            "_ldprune_run must be 1, 2 or off, not \"3\"",
        ),
        (
            &["--define=_ldprune_run 1", &plugin_def],
            "_ldprune_state is not",
        ),
        (
            &[
                "--define=_ldprune_run 1",
                "--define=_ldprune_state st",
                &plugin_def,
            ],
            "_ldprune_state must be an absolute path",
        ),
        (
            &[
                "--define=_ldprune_run 1",
                &state_def,
                "--define=_ldprune_libdir /nonexistent/ldprune",
            ],
            "plugin /nonexistent/ldprune/libldprune.so not found",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec![load.as_str()];
        all.extend_from_slice(args);
        let err = s
            .eval(&all, "%{build_cflags}|%{build_ldflags}")
            .expect_err("an error");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

/// Unpacks every rpm under `rpms` into `root` with rpm2cpio | cpio, and
/// removes them; returns their file names.
fn unpack(s: &Scratch, rpms: &Path, root: &Path) -> Vec<String> {
    std::fs::create_dir_all(root).unwrap();
    let mut names = Vec::new();
    for arch in std::fs::read_dir(rpms).unwrap() {
        for e in std::fs::read_dir(arch.unwrap().path()).unwrap() {
            let p = e.unwrap().path();
            names.push(p.file_name().unwrap().to_string_lossy().into_owned());
            let out = s
                .command("sh")
                .arg("-ec")
                .arg("rpm2cpio \"$1\" | cpio -idm --quiet")
                .arg("sh")
                .arg(&p)
                .current_dir(root)
                .output()
                .unwrap();
            check(out, &format!("unpacking {}", p.display()));
        }
    }
    std::fs::remove_dir_all(rpms).unwrap();
    names.sort();
    names
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

/// Exported function names and the size of .text of an ELF file.
fn exports_and_text(path: &Path) -> (BTreeSet<String>, u64) {
    let bytes = std::fs::read(path).unwrap();
    let facts = parse_output(&bytes[..]).unwrap();
    let names = facts.exports.iter().map(|e| e.name.clone()).collect();
    let file = object::File::parse(&bytes[..]).unwrap();
    let text = file.section_by_name(".text").map_or(0, |s| s.size());
    (names, text)
}

fn run_tally(root: &Path, libdir: &str, args: &[&str]) -> String {
    let out = check(
        Command::new(root.join("usr/bin/tally"))
            .args(args)
            .env("LD_LIBRARY_PATH", root.join(libdir))
            .output()
            .unwrap(),
        "tally",
    );
    String::from_utf8(out.stdout).unwrap()
}

/// examples/rpm/ldprune-demo.spec through Run-1, merge and Run-2 with the
/// real rpmbuild, in the same %_topdir: the packaged library loses its
/// unused exports and their code, the packaged program works the same.
#[test]
fn rpmbuild_run1_merge_run2() {
    let s = Scratch::new("ldprune-rpm-");
    let top = s.path("top");
    let state = s.path("state");
    let spec = repo().join("examples/rpm/ldprune-demo.spec");
    // As a user would: the options `ldprune flags --format rpm` prints,
    // through eval. `macros` reads macros.ldprune (--load or --macros).
    let rpmbuild = |macros: &str, flags: &str| {
        let out = s
            .command("sh")
            .arg("-ec")
            .arg(
                "eval \"set -- $FLAGS\"\n\
                 rpmbuild \"$MACROS\" --define=\"_topdir $TOP\" \
                 --define=\"_sourcedir $SOURCES\" --define=\"_ldprune_libdir $LIBDIR\" \
                 \"$@\" -bb \"$SPEC\" 2>&1",
            )
            .env("FLAGS", flags)
            .env("MACROS", macros)
            .env("TOP", &top)
            .env("SOURCES", repo().join("examples/rpm/src"))
            .env("LIBDIR", s.path("no-ldprune-installed"))
            .env("SPEC", &spec)
            .output()
            .unwrap();
        let out = check(out, &format!("rpmbuild {flags}"));
        // Both runs must link in the same directory with the same names:
        // leave nothing of this build for the next one.
        for d in ["BUILD", "BUILDROOT"] {
            let _ = std::fs::remove_dir_all(top.join(d));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let flags = |run: &str| {
        let out = check(
            ldprune()
                .args(["flags", "--run", run, "--format", "rpm", "--state"])
                .arg(&state)
                .arg("--plugin")
                .arg(plugin())
                .output()
                .unwrap(),
            "ldprune flags",
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    };

    // The flags are on the link lines and the environment is in the
    // scriptlets that build and install (`sh -x` shows both).
    let scriptlets_have = |log: &str, run: &str| {
        assert!(
            log.contains(&format!(" -Wl,-plugin-opt=run={run} ")),
            "{log}"
        );
        for stage in ["%build", "%install"] {
            let start = log.find(&format!("Executing({stage})")).unwrap();
            let end = log[start..].find("+ exit ").unwrap() + start;
            assert!(
                log[start..end].contains(&format!("+ LDPRUNE_RUN={run}\n")),
                "{stage}: {}",
                &log[start..end]
            );
        }
    };
    let arch = s.eval_ok(&[], "%{_arch}");

    // Without _ldprune_run the macros are loaded and nothing is recorded.
    let log = rpmbuild(&load(), "");
    assert!(
        !log.contains("-plugin") && !log.contains("LDPRUNE"),
        "{log}"
    );
    let plain = s.path("plain");
    assert_eq!(
        unpack(&s, &top.join("RPMS"), &plain),
        [
            format!("ldprune-demo-1.0-1.{arch}.rpm"),
            format!("ldprune-demo-libs-1.0-1.{arch}.rpm")
        ]
    );
    assert!(!state.exists());

    // Run-1 (macros.ldprune read with --load) records the library's and
    // the program's links.
    let log = rpmbuild(&load(), &flags("1"));
    scriptlets_have(&log, "1");
    let run1 = s.path("run1");
    unpack(&s, &top.join("RPMS"), &run1);
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
    let cwd = top.join("BUILD/ldprune-demo-1.0").display().to_string();
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

    // Run-2 (macros.ldprune read where rpm reads it when installed, in
    // macros.d) in the same %_topdir applies the decisions to both links.
    let log = rpmbuild(&macro_path(Some(&macros_file())), &flags("2"));
    scriptlets_have(&log, "2");
    let run2 = s.path("run2");
    unpack(&s, &top.join("RPMS"), &run2);
    let apply_log = std::fs::read_to_string(state.join("apply.log")).unwrap_or_default();
    assert_eq!(apply_log, "", "links left unchanged by Run-2");

    // %_libdir: /usr/lib64 on Debian's rpm for x86_64.
    let libdir = s.eval_ok(&[], "%{_libdir}");
    let libdir = libdir.trim_start_matches('/');
    let lib = format!("{libdir}/libtally.so.1");
    let (plain_names, plain_text) = exports_and_text(&plain.join(&lib));
    let (names1, text1) = exports_and_text(&run1.join(&lib));
    let (names2, text2) = exports_and_text(&run2.join(&lib));
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
    let tally_names = |n: &BTreeSet<String>| -> BTreeSet<String> {
        n.iter()
            .filter(|n| n.starts_with("tally_"))
            .cloned()
            .collect()
    };
    let all: BTreeSet<String> = used.union(&unused).cloned().collect();
    assert_eq!(tally_names(&plain_names), all, "plain build");
    assert_eq!(tally_names(&names1), all, "Run-1 changes no exports");
    assert_eq!(tally_names(&names2), used, "Run-2 hides the unused ones");
    assert!(
        text2 + 1024 < text1,
        ".text of {lib}: Run-1 {text1} bytes, Run-2 {text2} bytes (plain {plain_text})"
    );

    let expected = "count 15 mean 5.1333 stddev 2.8251\n";
    for root in [&plain, &run1, &run2] {
        assert_eq!(run_tally(root, libdir, &[]), expected, "{}", root.display());
        assert_eq!(
            run_tally(root, libdir, &["1", "2", "3"]),
            "count 3 mean 2.0000 stddev 1.0000\n"
        );
    }
    // The unpacked Run-2 tree still resolves every import.
    check(
        ldprune().arg("verify").arg(&run2).output().unwrap(),
        "ldprune verify",
    );
}
