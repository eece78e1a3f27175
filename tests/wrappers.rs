//! The static wrappers with the real gcc, clang, ld.bfd, gold, lld and
//! mold: argument handling, the real-tool lookup, the stub path of lld and
//! mold with its fallback, and make install/uninstall.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{ldprune, plugin};
use ldprune::state::StateDir;
use ldprune::state::decisions::{self, LinkDecision};
use ldprune::state::load_record;
use ldprune::state::record::Linker;
use object::{Object, ObjectSection, ObjectSymbol};

const TOOLS: &[&str] = &[
    "gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "ld.bfd", "ld.gold", "ld.lld", "ld.mold",
    "mold",
];

/// The wrapper binary, built once per test run by scripts/build-wrappers.
fn wrapper_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(root.join("scripts/build-wrappers"))
            .output()
            .expect("run scripts/build-wrappers");
        assert!(
            out.status.success(),
            "scripts/build-wrappers failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// An installed-like tree: PREFIX/bin/ldprune, PREFIX/lib/ldprune/{the
/// plugin, ldprune-wrap, wrappers/NAME -> ../ldprune-wrap}, plus a work dir.
struct Stage {
    dir: tempfile::TempDir,
}

impl Stage {
    fn new() -> Stage {
        let dir = tempfile::Builder::new()
            .prefix("ldprune-wrap-")
            .tempdir()
            .unwrap();
        let lib = dir.path().join("prefix/lib/ldprune");
        std::fs::create_dir_all(lib.join("wrappers")).unwrap();
        std::fs::create_dir_all(dir.path().join("prefix/bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        std::fs::copy(wrapper_binary(), lib.join("ldprune-wrap")).unwrap();
        symlink(plugin(), lib.join("libldprune.so")).unwrap();
        symlink(
            env!("CARGO_BIN_EXE_ldprune"),
            dir.path().join("prefix/bin/ldprune"),
        )
        .unwrap();
        for t in TOOLS {
            symlink("../ldprune-wrap", lib.join("wrappers").join(t)).unwrap();
        }
        Stage { dir }
    }

    fn wrapdir(&self) -> PathBuf {
        self.dir.path().join("prefix/lib/ldprune/wrappers")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn state(&self) -> PathBuf {
        self.work().join("state")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// `tool` found through PATH (wrappers first), in the work dir, with
    /// LDPRUNE_RUN=run (None: unset) and a relative LDPRUNE_STATE.
    fn cmd(&self, tool: &str, run: Option<&str>) -> Command {
        let mut c = Command::new(tool);
        c.current_dir(self.work());
        c.env(
            "PATH",
            format!(
                "{}:{}",
                self.wrapdir().display(),
                std::env::var("PATH").unwrap()
            ),
        );
        for v in [
            "LDPRUNE_RUN",
            "LDPRUNE_STATE",
            "LDPRUNE_PLUGIN",
            "LDPRUNE_CLI",
            "LDPRUNE_WRAPPERS",
            "LDPRUNE_REAL_PATH",
            "LDPRUNE_WRAP_SEEN",
            "LDPRUNE_STRICT",
            "LDPRUNE_LOG",
        ] {
            c.env_remove(v);
        }
        c.env("LDPRUNE_WRAP_DEBUG", "1");
        if let Some(r) = run {
            c.env("LDPRUNE_RUN", r).env("LDPRUNE_STATE", "state");
        }
        c
    }

    fn ok(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The `exec` lines the wrappers printed (LDPRUNE_WRAP_DEBUG).
    fn execs(out: &Output) -> Vec<String> {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| l.strip_prefix("ldprune wrapper: exec "))
            .map(String::from)
            .collect()
    }

    fn records(&self) -> Vec<ldprune::state::record::LinkRecord> {
        let Ok(state) = StateDir::open(&self.state()) else {
            return Vec::new();
        };
        state
            .record_paths()
            .unwrap()
            .iter()
            .map(|p| load_record(p).unwrap())
            .collect()
    }

    fn sources(&self) {
        self.write(
            "k.c",
            "int k_used(void) { return 1; }\nint k_unused(void) { return 2; }\n",
        );
        self.write(
            "l.c",
            "int k_used(void);\nint k_unused(void);\n\
             int used(void) { return 40 + k_used(); }\n\
             int unused(void) { return 7 + k_unused(); }\n\
             int unused_array[4096] = {1};\n",
        );
        self.write(
            "m.c",
            "#include <stdio.h>\nint used(void);\n\
             int main(void) { printf(\"%d\\n\", used() + 1); return 0; }\n",
        );
    }

    /// libk.so, libl.so (uses libk) and the program m (uses libl), in one
    /// build run, with `driver` and `fuse`.
    fn build(&self, run: &str, driver: &str, fuse: &str) {
        self.ok(self
            .cmd(driver, Some(run))
            .args(["-O2", "-fPIC", "-shared", fuse, "-o", "libk.so", "k.c"]));
        self.ok(self.cmd(driver, Some(run)).args([
            "-O2", "-fPIC", "-shared", fuse, "-o", "libl.so", "l.c", "-L.", "-lk",
        ]));
        self.ok(self
            .cmd(driver, Some(run))
            .args(["-O2", fuse, "m.c", "-L.", "-ll", "-lk", "-o", "m"]));
    }

    /// l.o, compiled without the wrappers, for direct linker calls.
    fn plain_object(&self) {
        self.ok(self.cmd("gcc", None).args([
            "-O2",
            "-fPIC",
            "-ffunction-sections",
            "-c",
            "l.c",
            "-o",
            "l.o",
        ]));
    }

    /// `ldprune verify` of the work directory passes.
    fn verify(&self) {
        self.ok(ldprune().arg("verify").arg(self.work()));
    }

    fn run_m(&self) -> String {
        let out = self.ok(Command::new(self.path("m")).env("LD_LIBRARY_PATH", self.work()));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn merge(&self) {
        self.ok(ldprune().arg("merge").arg("--state").arg(self.state()));
    }
}

/// Defined dynamic symbols, without the ones linkers define themselves
/// (gold exports _end, _edata, __bss_start).
fn dynamic_names(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&data[..]).unwrap();
    file.dynamic_symbols()
        .filter(|s| !s.is_undefined())
        .filter(|s| !matches!(s.name(), Ok("_end" | "_edata" | "__bss_start")))
        .map(|s| s.name().unwrap().to_string())
        .collect()
}

fn all_names(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&data[..]).unwrap();
    file.symbols()
        .map(|s| s.name().unwrap().to_string())
        .collect()
}

fn section_names(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&data[..]).unwrap();
    file.sections()
        .map(|s| s.name().unwrap().to_string())
        .collect()
}

fn comment(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&data[..]).unwrap();
    file.section_by_name(".comment")
        .map(|s| String::from_utf8_lossy(s.data().unwrap()).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn without_run_nothing_is_added() {
    let s = Stage::new();
    s.sources();
    let out = s.ok(s.cmd("gcc", None).args(["-O2", "-c", "l.c", "-o", "l.o"]));
    assert_eq!(Stage::execs(&out), vec!["/usr/bin/gcc -O2 -c l.c -o l.o"]);
    assert!(!section_names(&s.path("l.o")).contains(&".text.unused".to_string()));
    let out = s.ok(s.cmd("gcc", Some("off")).args(["--version"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gcc"));
}

#[test]
fn compile_only_gets_section_flags() {
    let s = Stage::new();
    s.sources();
    for tool in ["gcc", "cc"] {
        s.ok(s
            .cmd(tool, Some("1"))
            .args(["-O2", "-c", "l.c", "-o", "l.o"]));
        let sections = section_names(&s.path("l.o"));
        assert!(
            sections.contains(&".text.unused".to_string())
                && sections.contains(&".data.unused_array".to_string()),
            "{tool}: {sections:?}"
        );
    }
    // Compile-only links nothing: nothing recorded.
    assert!(s.records().is_empty());
}

#[test]
fn links_record_compile_and_link_in_one_step() {
    let s = Stage::new();
    s.sources();
    for lib in ["k", "l"] {
        s.ok(s.cmd("gcc", Some("1")).args([
            "-O2",
            "-fPIC",
            "-shared",
            "-o",
            &format!("lib{lib}.so"),
            &format!("{lib}.c"),
        ]));
    }
    s.ok(s
        .cmd("gcc", Some("1"))
        .args(["m.c", "-L.", "-ll", "-lk", "-o", "m"]));
    let mut outputs: Vec<String> = s.records().iter().map(|r| r.output.clone()).collect();
    outputs.sort();
    assert_eq!(outputs, ["libk.so", "libl.so", "m"]);
    assert_eq!(s.run_m(), "42\n");
    // The nested ld wrapper (gcc -> collect2 -> ld) does not add the plugin twice.
    let out = s.ok(s
        .cmd("gcc", Some("1"))
        .args(["m.c", "-L.", "-ll", "-lk", "-o", "m"]));
    let execs = Stage::execs(&out);
    let ld = execs
        .iter()
        .find(|e| e.starts_with("/usr/bin/ld "))
        .unwrap();
    assert_eq!(ld.matches("libldprune.so").count(), 1, "{ld}");
    assert_eq!(ld.matches("--gc-sections").count(), 1, "{ld}");
}

#[test]
fn relocatable_links_are_left_alone() {
    let s = Stage::new();
    s.sources();
    s.ok(s
        .cmd("gcc", Some("1"))
        .args(["-O2", "-fPIC", "-c", "l.c", "-o", "l.o"]));
    for args in [
        &["-r", "-o", "r1.o", "l.o"][..],
        &["-nostdlib", "-no-pie", "-Wl,-r", "-o", "r2.o", "l.o"],
        &[
            "-nostdlib",
            "-no-pie",
            "-Xlinker",
            "--relocatable",
            "-o",
            "r3.o",
            "l.o",
        ],
    ] {
        let out = s.ok(s.cmd("gcc", Some("1")).args(args));
        for e in Stage::execs(&out) {
            assert!(
                !e.contains("gc-sections") && !e.contains("libldprune"),
                "{e}"
            );
        }
    }
    assert!(s.records().is_empty(), "a -r link was recorded");
    let out = s.ok(s.cmd("ld", Some("1")).args(["-r", "-o", "r4.o", "l.o"]));
    assert_eq!(Stage::execs(&out).len(), 1);
    assert!(!Stage::execs(&out)[0].contains("plugin"));
}

#[test]
fn shared_link_and_wl_lists() {
    let s = Stage::new();
    s.sources();
    // The build's own --no-gc-sections wins; the plugin still records.
    let out = s.ok(s.cmd("gcc", Some("1")).args([
        "-fPIC",
        "-shared",
        "-Wl,--no-gc-sections,-z,now",
        "-o",
        "libl.so",
        "l.c",
    ]));
    let gcc = &Stage::execs(&out)[0];
    assert!(!gcc.contains("-Wl,--gc-sections"), "{gcc}");
    assert_eq!(s.records().len(), 1);
    assert!(all_names(&s.path("libl.so")).contains(&"unused".to_string()));
}

/// Whether the object at `path` carries GCC's LTO IR.
fn has_lto_ir(path: &Path) -> bool {
    section_names(path)
        .iter()
        .any(|n| n.starts_with(".gnu.lto_"))
}

#[test]
fn response_files_and_lto() {
    let s = Stage::new();
    s.sources();
    // -flto in argv and in a response file: LTO stays, the objects are fat
    // (IR and code), in both runs.
    s.write("args.rsp", "-flto=auto -O2 -fPIC\n-c l.c\n");
    s.ok(s.cmd("gcc", Some("1")).args(["@args.rsp", "-o", "l1.o"]));
    s.ok(s
        .cmd("gcc", Some("1"))
        .args(["-flto", "-O2", "-fPIC", "-c", "l.c", "-o", "l2.o"]));
    s.ok(s
        .cmd("gcc", Some("2"))
        .args(["-flto=auto", "-fPIC", "-c", "l.c", "-o", "l3.o"]));
    for o in ["l1.o", "l2.o", "l3.o"] {
        assert!(has_lto_ir(&s.path(o)), "{o} has no IR");
        let sections = section_names(&s.path(o));
        assert!(sections.contains(&".text.unused".to_string()), "{o}");
    }
    // Without LTO, nothing about LTO is added.
    let out = s.ok(s
        .cmd("gcc", Some("1"))
        .args(["-O2", "-fPIC", "-c", "l.c", "-o", "l5.o"]));
    assert!(
        !Stage::execs(&out)[0].contains("lto"),
        "{:?}",
        Stage::execs(&out)
    );
    assert!(!has_lto_ir(&s.path("l5.o")));
    // A link whose objects come through a response file is recorded.
    s.write("link.rsp", "-shared -o libl.so l5.o\n");
    s.ok(s.cmd("gcc", Some("1")).arg("@link.rsp"));
    assert_eq!(s.records().len(), 1);
}

/// An LTO build through the wrappers (compile and link apart, as make
/// does): Run-1 links the fat objects with -fno-lto and records them
/// complete; Run-2 links with the build's -flto=auto. On bfd the hidden
/// names (stub) are gone; on gold the LTO links stay unchanged, logged
/// (a claimed input would go with the LTO output, before crtbeginS.o).
#[test]
fn lto_build_keeps_lto() {
    for fuse in ["-fuse-ld=bfd", "-fuse-ld=gold"] {
        let s = Stage::new();
        s.sources();
        let build = |run: &str| {
            for src in ["k", "l", "m"] {
                s.ok(s.cmd("gcc", Some(run)).args([
                    "-O2",
                    "-fPIC",
                    "-flto=auto",
                    "-c",
                    &format!("{src}.c"),
                ]));
            }
            // The driver's own command: `run` when it may be retried.
            let link = |args: &[&str]| {
                let out = s.ok(s
                    .cmd("gcc", Some(run))
                    .args(["-O2", "-flto=auto", fuse])
                    .args(args));
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .find(|l| l.contains("/gcc "))
                    .unwrap()
                    .to_string()
            };
            [
                link(&["-shared", "-o", "libk.so", "k.o"]),
                link(&["-shared", "-o", "libl.so", "l.o", "-L.", "-lk"]),
                link(&["-o", "m", "m.o", "-L.", "-ll", "-lk"]),
            ]
        };
        for line in build("1") {
            assert!(
                line.ends_with("-fno-lto") || line.contains(" -fno-lto -Xlinker"),
                "{line}"
            );
        }
        assert!(has_lto_ir(&s.path("l.o")) && has_lto_ir(&s.path("k.o")));
        for r in s.records() {
            assert!(r.incomplete.is_empty(), "{}: {:?}", r.output, r.incomplete);
        }
        let before = s.run_m();
        assert!(dynamic_names(&s.path("libl.so")).contains(&"unused".to_string()));
        s.merge();
        for line in build("2") {
            assert!(
                !line.contains("-fno-lto") && line.contains("-flto=auto"),
                "{line}"
            );
        }
        assert_eq!(s.run_m(), before);
        let log = std::fs::read_to_string(s.state().join("apply.log")).unwrap_or_default();
        if fuse.ends_with("gold") {
            // No place on gold for a claimed input beside the LTO output:
            // every Run-2 link that would hide a name is left unchanged.
            let l = dynamic_names(&s.path("libl.so"));
            assert!(l.contains(&"unused".to_string()), "{l:?}");
            assert!(
                log.contains("\tlibl.so\t") && log.lines().all(|l| l.contains("LTO output")),
                "{log}"
            );
            s.verify();
            continue;
        }
        let l = dynamic_names(&s.path("libl.so"));
        assert_eq!(l, ["used"], "{fuse}");
        assert_eq!(dynamic_names(&s.path("libk.so")), k_exports(fuse), "{fuse}");
        let names = all_names(&s.path("libl.so"));
        assert!(
            !names.iter().any(|n| n == "unused" || n == "unused_array"),
            "{fuse}: {names:?}"
        );
        assert_eq!(log, "");
        s.verify();
    }
}

/// A slim LTO object made outside the wrappers cannot be linked without
/// LTO: the Run-1 link is run again with the build's LTO (said on stderr and
/// in wrapper.log) and recorded incomplete. clang's bitcode is left alone.
#[test]
fn slim_objects_and_clang_lto_never_break() {
    let s = Stage::new();
    s.sources();
    s.ok(s
        .cmd("gcc", None)
        .args(["-O2", "-fPIC", "-flto", "-c", "l.c", "-o", "slim.o"]));
    let out =
        s.ok(s
            .cmd("gcc", Some("1"))
            .args(["-flto", "-shared", "-o", "libslim.so", "slim.o"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linked again with the build's LTO"), "{err}");
    let log = std::fs::read_to_string(s.state().join("wrapper.log")).unwrap();
    assert!(
        log.contains("libslim.so") && log.contains("-fno-lto failed"),
        "{log}"
    );
    let r = s.records();
    assert_eq!(r.len(), 1);
    assert!(
        !r[0].incomplete.is_empty() && r[0].is_complete(),
        "{:?}",
        r[0]
    );

    for run in ["1", "2"] {
        s.ok(s
            .cmd("clang", Some(run))
            .args(["-O2", "-fPIC", "-flto", "-c", "k.c", "-o", "kbc.o"]));
        let out =
            s.ok(s
                .cmd("clang", Some(run))
                .args(["-flto", "-shared", "-o", "libkbc.so", "kbc.o"]));
        let line = Stage::execs(&out).join("\n");
        assert!(
            !line.contains("fat-lto") && !line.contains("-fno-lto"),
            "{line}"
        );
    }
    let r = s.records();
    let kbc = r.iter().find(|r| r.output.ends_with("libkbc.so")).unwrap();
    assert!(
        kbc.incomplete.iter().any(|w| w.contains("LLVM bitcode")),
        "{:?}",
        kbc.incomplete
    );
    assert!(dynamic_names(&s.path("libkbc.so")).contains(&"k_unused".to_string()));
}

#[test]
fn queries_pass_through() {
    let s = Stage::new();
    for args in [
        &["--version"][..],
        &["-dumpmachine"],
        &["-print-file-name=libc.so"],
    ] {
        let out = s.ok(s.cmd("gcc", Some("1")).args(args));
        let want = format!("/usr/bin/gcc {}", args.join(" "));
        assert_eq!(Stage::execs(&out), vec![want]);
    }
    let out = s.ok(s.cmd("ld", Some("1")).arg("--version"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("GNU ld"));
}

/// A command that fails with exit status 2 and names `var="value"` and
/// the valid values, having run no tool.
fn refused(s: &Stage, cmd: &mut Command, var: &str, value: &str, valid: &str) {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
    assert!(
        err.contains(&format!(
            "{var}=\"{value}\" is not valid: it must be {valid}"
        )),
        "{cmd:?}: {err}"
    );
    assert!(Stage::execs(&out).is_empty(), "{cmd:?} ran a tool: {err}");
    assert!(!s.path("out.o").exists() && !s.path("libout.so").exists());
}

/// LDPRUNE_RUN and LDPRUNE_STRICT take exactly the values the plugin
/// takes; a wrong one fails every compile and link the wrapper acts on
/// (before: a wrong LDPRUNE_RUN built without ldprune after a warning, a
/// wrong LDPRUNE_STRICT was not looked at). Queries still run.
#[test]
fn wrong_environment_values_fail() {
    let s = Stage::new();
    s.sources();
    s.plain_object();
    let runs = "1, 2, off, 0 or empty";
    let stricts = "1, 0 or empty";
    let compile = ["-O2", "-fPIC", "-c", "l.c", "-o", "out.o"];
    let link = ["-O2", "-fPIC", "-shared", "-o", "libout.so", "l.c"];
    for bad in ["yes", "on", "3"] {
        for args in [&compile[..], &link] {
            refused(
                &s,
                s.cmd("gcc", Some(bad)).args(args),
                "LDPRUNE_RUN",
                bad,
                runs,
            );
            refused(
                &s,
                s.cmd("gcc", Some("1"))
                    .env("LDPRUNE_STRICT", bad)
                    .args(args),
                "LDPRUNE_STRICT",
                bad,
                stricts,
            );
        }
        for tool in ["ld.bfd", "ld.gold", "ld.lld"] {
            let args = ["-shared", "-o", "libout.so", "l.o"];
            refused(
                &s,
                s.cmd(tool, Some(bad)).args(args),
                "LDPRUNE_RUN",
                bad,
                runs,
            );
            refused(
                &s,
                s.cmd(tool, Some("2")).env("LDPRUNE_STRICT", bad).args(args),
                "LDPRUNE_STRICT",
                bad,
                stricts,
            );
        }
    }
    // Queries are never touched, so never refused.
    let out = s.ok(s.cmd("gcc", Some("yes")).arg("--version"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gcc"));
    s.ok(s
        .cmd("ld", Some("1"))
        .env("LDPRUNE_STRICT", "yes")
        .arg("--version"));
    // Without a run the wrapper adds nothing and looks at nothing.
    s.ok(s
        .cmd("gcc", None)
        .env("LDPRUNE_STRICT", "yes")
        .args(compile));
    std::fs::remove_file(s.path("out.o")).unwrap();
    // Every documented value works.
    for run in ["", "0", "off", "1", "2"] {
        s.ok(s.cmd("gcc", Some(run)).args(compile));
    }
    for strict in ["", "0", "1"] {
        s.ok(s
            .cmd("gcc", Some("1"))
            .env("LDPRUNE_STRICT", strict)
            .args(link));
    }
}

/// `ldprune stub-link` reads LDPRUNE_STRICT as the plugin does: a wrong
/// value is an error before any link, and under strict a link without
/// usable decisions fails instead of linking unchanged (before: the value
/// was never read).
#[test]
fn stub_link_reads_strict_like_the_plugin() {
    let s = Stage::new();
    s.sources();
    s.plain_object();
    let stub_link = |strict: &str| {
        let mut c = ldprune();
        c.current_dir(s.work())
            .env("LDPRUNE_STRICT", strict)
            .args(["stub-link", "--linker", "/usr/bin/ld.lld", "--state"])
            .arg(s.state())
            .args(["--", "-shared", "-o", "libout.so", "l.o"]);
        c.output().unwrap()
    };
    let out = stub_link("yes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("LDPRUNE_STRICT=\"yes\""), "{err}");
    assert!(!s.path("libout.so").exists());
    // No merge yet: no decisions. Unchanged with a warning, or under
    // strict a failed link.
    let out = stub_link("1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no usable decisions") && err.contains("strict"),
        "{err}"
    );
    assert!(!s.path("libout.so").exists());
    let out = stub_link("");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no usable decisions"), "{err}");
    assert!(s.path("libout.so").exists());
}

#[test]
fn fuse_ld_gold_records_with_gold() {
    let s = Stage::new();
    s.sources();
    s.build("1", "gcc", "-fuse-ld=gold");
    let recs = s.records();
    assert_eq!(recs.len(), 3);
    assert!(
        recs.iter().all(|r| r.linker.starts_with("gold")),
        "{:?}",
        recs[0].linker
    );
    s.merge();
    s.build("2", "gcc", "-fuse-ld=gold");
    assert_eq!(dynamic_names(&s.path("libl.so")), ["used"]);
    // gold's own _end, _edata, __bss_start: nothing refers to them, gone.
    let data = std::fs::read(s.path("libl.so")).unwrap();
    let file = object::File::parse(&data[..]).unwrap();
    let linker_names: Vec<String> = file
        .dynamic_symbols()
        .filter(|y| matches!(y.name(), Ok("_end" | "_edata" | "__bss_start")))
        .map(|y| y.name().unwrap().to_string())
        .collect();
    assert!(linker_names.is_empty(), "{linker_names:?}");
    assert_eq!(dynamic_names(&s.path("libk.so")), k_exports("gold"));
    assert_eq!(s.run_m(), "42\n");
    s.verify();
}

#[test]
fn direct_plugin_linkers_record() {
    let s = Stage::new();
    s.sources();
    s.plain_object();
    for (tool, prefix) in [("ld.bfd", "GNU ld"), ("ld.gold", "gold")] {
        let out = format!("lib-{tool}.so");
        s.ok(s.cmd(tool, Some("1")).args(["-shared", "-o", &out, "l.o"]));
        let rec = s.records().into_iter().find(|r| r.output == out).unwrap();
        assert!(rec.linker.starts_with(prefix), "{}", rec.linker);
    }
}

/// wrapper.log in an untrusted state directory: a link there is not
/// written through; the wrapper warns and the build goes on.
#[test]
fn linked_wrapper_log_is_not_written_through() {
    let s = Stage::new();
    s.sources();
    std::fs::create_dir(s.state()).unwrap();
    s.write("victim", "keep\n");
    symlink(s.path("victim"), s.state().join("wrapper.log")).unwrap();
    let out = s.ok(s.cmd("gcc", Some("1")).args([
        "-O2",
        "-fPIC",
        "-shared",
        "-fuse-ld=lld",
        "-o",
        "libk.so",
        "k.c",
    ]));
    assert_eq!(std::fs::read_to_string(s.path("victim")).unwrap(), "keep\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("state/wrapper.log is a symbolic link"),
        "{err}"
    );
    assert_eq!(s.records().len(), 1, "the link is still recorded");
}

/// lld and mold: in Run-1 the build's linker writes the output (the same
/// bytes as a link without ldprune) and ld.bfd records the link into a
/// scratch file; Run-2 goes through the stub object; the unused code is
/// gone, the program runs, and report compares lld with lld.
fn stub_linker(fuse: &str, name_in_comment: &str, linker: Linker) {
    let s = Stage::new();
    s.sources();
    s.build("1", "gcc", fuse);
    let recs = s.records();
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert!(r.linker.starts_with("GNU ld"), "{}", r.linker);
        assert_eq!(r.output_linker, linker, "{}", r.output);
        assert!(["libk.so", "libl.so", "m"].contains(&r.output.as_str()));
        assert_eq!(r.cwd, s.work().to_str().unwrap());
        // Sizes and build-id of the real output.
        let real = std::fs::read(s.path(&r.output)).unwrap();
        assert_eq!(r.output_size, real.len() as u64);
        let file = object::File::parse(&real[..]).unwrap();
        assert_eq!(r.build_id.as_deref(), file.build_id().unwrap());
    }
    let log = std::fs::read_to_string(s.state().join("wrapper.log")).unwrap();
    assert!(
        log.contains("recorded through ld.bfd into a scratch file"),
        "{log}"
    );
    // No scratch file is left.
    let tmp: Vec<_> = std::fs::read_dir(s.state().join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    // Run-1's output is the build's own linker's, byte for byte: the same
    // link without ldprune (with the flags Run-1 adds) writes the same file.
    s.ok(s.cmd("gcc", None).args([
        "-ffunction-sections",
        "-fdata-sections",
        "-O2",
        "-fPIC",
        "-shared",
        fuse,
        "-o",
        "plain-libl.so",
        "l.c",
        "-L.",
        "-lk",
        "-Wl,--gc-sections",
    ]));
    let run1 = std::fs::read(s.path("libl.so")).unwrap();
    assert!(comment(&s.path("libl.so")).contains(name_in_comment));
    assert!(
        run1 == std::fs::read(s.path("plain-libl.so")).unwrap(),
        "Run-1's libl.so differs from a plain {fuse} link"
    );
    std::fs::remove_file(s.path("plain-libl.so")).unwrap();
    s.merge();
    std::fs::remove_file(s.path("libl.so")).unwrap();
    s.build("2", "gcc", fuse);
    let lib = s.path("libl.so");
    assert!(comment(&lib).contains(name_in_comment), "{}", comment(&lib));
    assert_eq!(dynamic_names(&lib), ["used"]);
    let names = all_names(&lib);
    assert!(
        !names.contains(&"unused".to_string()) && !names.contains(&"unused_array".to_string()),
        "{names:?}"
    );
    // The cascade: k_unused was only used by the hidden `unused`.
    assert_eq!(dynamic_names(&s.path("libk.so")), k_exports(fuse));
    assert_eq!(s.run_m(), "42\n");
    // mold keeps the import of k_unused although its only user is gone;
    // no relocation uses it, so the loader never looks it up.
    s.verify();
    // Run-2 results are noted for report; nothing was left unchanged.
    let applied = StateDir::open(&s.state()).unwrap().load_applied().0;
    assert_eq!(applied.len(), 3);
    assert!(applied.iter().all(|a| a.still_exported.is_empty()));
    assert!(applied.iter().all(|a| a.linker == linker));
    assert!(!s.state().join("apply.log").exists());
    // report: achieved is this linker's Run-1 output against its Run-2
    // output, file sizes as on disk.
    let modules = report_modules(&s);
    let l = &modules["libl.so"];
    assert!(l["not_compared"].is_null(), "{l}");
    assert_eq!(l["achieved"]["file_before"], run1.len() as u64, "{l}");
    assert_eq!(
        l["achieved"]["file_after"],
        std::fs::metadata(&lib).unwrap().len(),
        "{l}"
    );
}

/// What libk.so exports after Run-2: `k_unused` was used only by libl.so's
/// hidden `unused`; through a libl.so linked by gold or mold it stays
/// (those keep the import of a name only removed code used, while a
/// library of the link defines it: the merge keeps such names).
fn k_exports(fuse: &str) -> Vec<&'static str> {
    if fuse.ends_with("gold") || fuse.ends_with("mold") {
        vec!["k_used", "k_unused"]
    } else {
        vec!["k_used"]
    }
}

/// `report --json` modules by file name.
fn report_modules(s: &Stage) -> std::collections::HashMap<String, serde_json::Value> {
    let out = s.ok(ldprune()
        .arg("report")
        .arg("--state")
        .arg(s.state())
        .arg("--json"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = m["module"].as_str().unwrap();
            (path.rsplit('/').next().unwrap().to_string(), m.clone())
        })
        .collect()
}

#[test]
fn lld_through_the_stub() {
    stub_linker("-fuse-ld=lld", "LLD", Linker::Lld);
}

#[test]
fn mold_through_the_stub() {
    stub_linker("-fuse-ld=mold", "mold", Linker::Mold);
}

#[test]
fn clang_with_bfd_then_lld() {
    let s = Stage::new();
    s.sources();
    s.build("1", "clang", "-fuse-ld=bfd");
    assert_eq!(s.records().len(), 3);
    s.merge();
    // Run-2 with lld: clang finds our ld.lld wrapper through -B.
    s.build("2", "clang", "-fuse-ld=lld");
    let lib = s.path("libl.so");
    assert!(comment(&lib).contains("LLD"), "{}", comment(&lib));
    assert_eq!(dynamic_names(&lib), ["used"]);
    assert_eq!(s.run_m(), "42\n");
    // A bfd output against an lld output: never compared.
    let l = &report_modules(&s)["libl.so"];
    assert!(l["achieved"].is_null(), "{l}");
    assert_eq!(
        l["not_compared"],
        "Run-1 output linked by ld.bfd, Run-2 output by lld: sizes not compared"
    );
    let out = s.ok(ldprune().arg("report").arg("--state").arg(s.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not compared, Run-1 and Run-2 outputs of different linkers (3):"),
        "{text}"
    );
}

#[test]
fn direct_lld_run1_records_through_bfd_and_fails_open() {
    let s = Stage::new();
    s.sources();
    s.plain_object();
    s.ok(s
        .cmd("ld.lld", Some("1"))
        .args(["-shared", "-Map", "libl.map", "-o", "libl.so", "l.o"]));
    let rec = s
        .records()
        .into_iter()
        .find(|r| r.output == "libl.so")
        .unwrap();
    assert!(rec.linker.starts_with("GNU ld"), "{}", rec.linker);
    assert_eq!(rec.output_linker, Linker::Lld);
    // The output and the map are lld's own: the same as without ldprune.
    let map = std::fs::read_to_string(s.path("libl.map")).unwrap();
    assert!(
        map.starts_with("             VMA") && !map.contains("Memory Configuration"),
        "{map}"
    );
    s.ok(s
        .cmd("ld.lld", None)
        .args(["-shared", "-o", "plain.so", "l.o", "--gc-sections"]));
    assert!(
        std::fs::read(s.path("libl.so")).unwrap() == std::fs::read(s.path("plain.so")).unwrap()
    );
    // An lld-only option: the recording link fails, the output is lld's
    // alone, recorded incomplete from it, and the build goes on with one
    // warning.
    let lld_only = |out: &str| -> Vec<String> {
        ["-shared", "--color-diagnostics=never", "-o", out, "l.o"]
            .map(String::from)
            .to_vec()
    };
    let out = s.ok(s.cmd("ld.lld", Some("1")).args(lld_only("libl2.so")));
    assert!(comment(&s.path("libl2.so")).contains("LLD"));
    let rec = s
        .records()
        .into_iter()
        .find(|r| r.output == "libl2.so")
        .expect("libl2.so recorded from its output alone");
    assert!(rec.is_complete() && !rec.incomplete.is_empty());
    assert!(rec.objects.is_empty());
    assert_eq!(rec.output_linker, Linker::Lld);
    assert!(
        rec.exports.iter().any(|e| e.name == "unused"),
        "{:?}",
        rec.exports
    );
    assert!(
        rec.incomplete[0].contains("the recording link through ld.bfd failed")
            && rec.incomplete[0].contains("lld's output alone"),
        "{:?}",
        rec.incomplete
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: libl2.so: the recording link through ld.bfd failed")
            && err.contains("recorded incomplete from ld.lld's output alone")
            && !err.contains("use the --help option"),
        "{err}"
    );
    let log = std::fs::read_to_string(s.state().join("wrapper.log")).unwrap();
    assert!(
        log.contains("the recording link through ld.bfd failed (") && log.contains("color"),
        "{log}"
    );
    // Strict: the record from the output alone is not a fault.
    s.ok(s
        .cmd("ld.lld", Some("1"))
        .env("LDPRUNE_STRICT", "1")
        .args(lld_only("libl3.so")));
    assert!(s.records().iter().any(|r| r.output == "libl3.so"));
    // Without the CLI the output is not recorded at all: a warning, or
    // under strict a failed link with bfd's message and no output.
    let out = s.ok(s
        .cmd("ld.lld", Some("1"))
        .env("LDPRUNE_CLI", s.path("no-such-ldprune"))
        .args(lld_only("libl4.so")));
    assert!(!s.records().iter().any(|r| r.output == "libl4.so"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not recorded"), "{err}");
    let out = s
        .cmd("ld.lld", Some("1"))
        .env("LDPRUNE_STRICT", "1")
        .env("LDPRUNE_CLI", s.path("no-such-ldprune"))
        .args(lld_only("libl5.so"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("strict: the link fails") && err.contains("color"),
        "{err}"
    );
    assert!(!s.path("libl5.so").exists());
    let tmp: Vec<_> = std::fs::read_dir(s.state().join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

/// A stub that breaks the link (a hidden reference to a name only a shared
/// library defines is an error): the link runs again without it, the build
/// goes on, and apply.log says so.
fn failing_stub_falls_back(fuse: &str) {
    let s = Stage::new();
    s.sources();
    s.build("1", "gcc", fuse);
    let prog = s.records().into_iter().find(|r| r.output == "m").unwrap();
    let state = StateDir::open(&s.state()).unwrap();
    decisions::write(
        &state,
        vec![LinkDecision {
            identity: prog.identity,
            directory: prog.directory(),
            output: "m".into(),
            hide: ["used"].into_iter().collect(),
        }],
    )
    .unwrap();
    let out = s.ok(s
        .cmd("gcc", Some("2"))
        .args(["-O2", fuse, "m.c", "-L.", "-ll", "-o", "m"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linked again unchanged"), "{err}");
    assert_eq!(s.run_m(), "42\n");
    let log = std::fs::read_to_string(s.state().join("apply.log")).unwrap();
    assert!(
        log.contains("the link with the stub object failed")
            && log.contains("linked again without it"),
        "{log}"
    );
}

#[test]
fn failing_stub_falls_back_lld() {
    failing_stub_falls_back("-fuse-ld=lld");
}

#[test]
fn failing_stub_falls_back_mold() {
    failing_stub_falls_back("-fuse-ld=mold");
}

#[test]
fn real_tool_lookup_never_loops() {
    let s = Stage::new();
    let wrap = s.dir.path().join("prefix/lib/ldprune/ldprune-wrap");
    let path = std::env::var("PATH").unwrap();
    let debug = |c: &mut Command| -> Output {
        c.env("LDPRUNE_WRAP_DEBUG", "1")
            .env_remove("LDPRUNE_WRAP_SEEN")
            .output()
            .unwrap()
    };
    // Two copies of the wrapper (different files) and no real tool: each
    // skips itself and the other; an error, not an endless exec chain.
    let (a, b) = (s.dir.path().join("a"), s.dir.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::copy(&wrap, d.join("nosuchtool-gcc")).unwrap();
    }
    let out = debug(
        Command::new(a.join("nosuchtool-gcc"))
            .env("PATH", format!("{}:{}", a.display(), b.display()))
            .arg("--version"),
    );
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no real nosuchtool-gcc found"));
    assert_eq!(
        Stage::execs(&out).len(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // gcc-real next to a gcc wrapper; a gcc-real that is the wrapper itself
    // is skipped.
    let c = s.dir.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::copy(&wrap, c.join("gcc")).unwrap();
    symlink(c.join("gcc"), c.join("gcc-real")).unwrap();
    let out = debug(
        Command::new(c.join("gcc"))
            .env("PATH", &path)
            .arg("--version"),
    );
    assert_eq!(Stage::execs(&out), vec!["/usr/bin/gcc --version"]);
    std::fs::remove_file(c.join("gcc-real")).unwrap();
    symlink("/usr/bin/gcc", c.join("gcc-real")).unwrap();
    let out = debug(
        Command::new(c.join("gcc"))
            .env("PATH", &path)
            .arg("--version"),
    );
    assert_eq!(
        Stage::execs(&out),
        vec![format!("{} --version", c.join("gcc-real").display())]
    );

    // The next gcc in PATH after the wrapper's own entry, symlinks of the
    // wrapper skipped; LDPRUNE_REAL_PATH first.
    let out = debug(
        Command::new("gcc")
            .env(
                "PATH",
                format!("{}:{}:{path}", s.wrapdir().display(), s.wrapdir().display()),
            )
            .arg("--version"),
    );
    assert_eq!(Stage::execs(&out), vec!["/usr/bin/gcc --version"]);
    let out = debug(
        Command::new("gcc")
            .env("PATH", format!("{}:{path}", s.wrapdir().display()))
            .env("LDPRUNE_REAL_PATH", &c)
            .arg("--version"),
    );
    assert_eq!(
        Stage::execs(&out),
        vec![
            format!("{} --version", c.join("gcc").display()),
            format!("{} --version", c.join("gcc-real").display())
        ]
    );
}

#[test]
fn make_install_and_uninstall() {
    let s = Stage::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // What install takes: the built ldprune and plugin, and the wrapper.
    let build = s.dir.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    symlink(env!("CARGO_BIN_EXE_ldprune"), build.join("ldprune")).unwrap();
    symlink(plugin(), build.join("libldprune.so")).unwrap();
    wrapper_binary();
    let prefix = s.dir.path().join("usr");
    let make = |target: &str| {
        s.ok(Command::new("make")
            .current_dir(root)
            .args(["-s", target, "NO_BUILD=1"])
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("BUILD_DIR={}", build.display())))
    };
    make("install");
    for f in [
        "bin/ldprune",
        "lib/ldprune/libldprune.so",
        "lib/ldprune/ldprune-wrap",
        "lib/rpm/macros.d/macros.ldprune",
        "share/doc/ldprune/README.md",
        "share/man/man1/ldprune.1",
        "share/man/man1/ldprune-wrappers.1",
        "share/man/man7/ldprune-plugin.7",
    ] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    let size = std::fs::metadata(prefix.join("lib/ldprune/ldprune-wrap"))
        .unwrap()
        .len();
    assert!(size <= 150 * 1024, "the wrapper is {size} bytes");
    // The installed wrappers find the installed plugin by themselves.
    s.sources();
    let out = s.ok(Command::new(prefix.join("lib/ldprune/wrappers/gcc"))
        .current_dir(s.work())
        .env("LDPRUNE_RUN", "1")
        .env("LDPRUNE_STATE", "state")
        .env_remove("LDPRUNE_PLUGIN")
        .args(["-fPIC", "-shared", "-o", "libl.so", "l.c"]));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.records().len(), 1);
    make("uninstall");
    let left: Vec<_> = walk(&prefix);
    assert!(
        left.iter().all(|p| p.is_dir()),
        "left after uninstall: {left:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// A command that compiles and links at once keeps LTO in Run-1: the
/// plugin reads the fat temporary objects GCC's plugin claimed from their
/// files, the record is complete, and Run-2 (LTO too) hides.
#[test]
fn lto_one_step_compile_and_link() {
    let s = Stage::new();
    s.sources();
    for run in ["1", "2"] {
        if run == "2" {
            s.merge();
        }
        let out = s.ok(s.cmd("gcc", Some(run)).args([
            "-O2", "-fPIC", "-flto", "-shared", "-o", "libl.so", "l.c", "k.c",
        ]));
        let gcc = &Stage::execs(&out)[0];
        assert!(
            gcc.contains(" -flto ")
                && gcc.contains("-ffat-lto-objects")
                && !gcc.contains("-fno-lto"),
            "{gcc}"
        );
        s.ok(s
            .cmd("gcc", Some(run))
            .args(["-O2", "-flto", "m.c", "-L.", "-ll", "-o", "m"]));
        if run == "1" {
            for r in s.records() {
                assert!(r.incomplete.is_empty(), "{}: {:?}", r.output, r.incomplete);
            }
        }
    }
    assert_eq!(s.run_m(), "42\n");
    assert_eq!(dynamic_names(&s.path("libl.so")), ["used"]);
    s.verify();
}

/// Meson with `CC_LD=lld` through the wrappers: it detects its linker
/// (`gcc -fuse-ld=lld -Wl,--version`) and links with it in both runs, so
/// the build is the same build twice: the linker id Meson stores is lld's
/// in Run-1 and Run-2, both outputs are lld's, and Run-2 hides the unused
/// exports.
#[test]
fn meson_sees_its_own_linker_in_both_runs() {
    if Command::new("meson").arg("--version").output().is_err() {
        panic!("meson is missing: scripts/debian-deps installs it");
    }
    let s = Stage::new();
    std::fs::create_dir(s.path("src")).unwrap();
    s.write(
        "src/a.c",
        "int used(void) { return 41; }\nint unused(void) { return 7; }\n",
    );
    s.write(
        "src/p.c",
        "#include <stdio.h>\nint used(void);\nint main(void) { printf(\"%d\\n\", used() + 1); return 0; }\n",
    );
    s.write(
        "src/meson.build",
        "project('x', 'c')\nmessage('linker id', meson.get_compiler('c').get_linker_id())\n\
         x = shared_library('x', 'a.c')\nexecutable('prog', 'p.c', link_with: x)\n",
    );
    let linker_id = |run: &str| {
        let build = s.path(&format!("build{run}"));
        let out = s.ok(s
            .cmd("meson", Some(run))
            .env("CC", "gcc")
            .env("CC_LD", "lld")
            .env("LDPRUNE_STATE", s.state())
            .arg("setup")
            .arg(&build)
            .arg("src"));
        let said = String::from_utf8_lossy(&out.stdout);
        let id = said
            .lines()
            .find_map(|l| l.strip_prefix("Message: linker id "))
            .unwrap_or_else(|| panic!("{said}"))
            .to_string();
        // Absolute: ninja links in the build directory.
        s.ok(s
            .cmd("ninja", Some(run))
            .env("LDPRUNE_STATE", s.state())
            .arg("-C")
            .arg(&build));
        let lib = build.join("libx.so");
        assert!(
            comment(&lib).contains("LLD"),
            "Run-{run}: {}",
            comment(&lib)
        );
        let out = s.ok(&mut Command::new(build.join("prog")));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
        (id, lib)
    };
    let (id1, lib1) = linker_id("1");
    assert_eq!(id1, "ld.lld");
    assert!(dynamic_names(&lib1).contains(&"unused".to_string()));
    let rec = s
        .records()
        .into_iter()
        .find(|r| r.output == "libx.so")
        .unwrap();
    assert_eq!(rec.output_linker, Linker::Lld);
    s.merge();
    let (id2, lib2) = linker_id("2");
    assert_eq!(id2, id1);
    assert_eq!(dynamic_names(&lib2), ["used"]);
}

/// gcc -flto linked with lld or mold through the wrappers, compiled and
/// linked apart (as make does) and in one command, Run-1 then Run-2: the
/// program prints what it printed in Run-1, the unused names are gone from
/// both libraries, nothing is left unchanged, and the image verifies. (lld
/// cannot run GCC's LTO plugin: it links the fat objects' machine code,
/// which the wrappers' -ffat-lto-objects provides; mold runs the plugin.)
#[test]
fn lto_build_with_lld_and_mold() {
    for fuse in ["-fuse-ld=lld", "-fuse-ld=mold"] {
        for apart in [true, false] {
            let s = Stage::new();
            s.sources();
            let build = |run: &str| {
                let lto = ["-O2", "-fPIC", "-flto=auto", fuse];
                // (output, source, libraries)
                let links: [(&[&str], &str, &[&str]); 3] = [
                    (&["-shared", "-o", "libk.so"], "k", &[]),
                    (&["-shared", "-o", "libl.so"], "l", &["-L.", "-lk"]),
                    (&["-o", "m"], "m", &["-L.", "-ll", "-lk"]),
                ];
                for (out, src, libs) in links {
                    let input = if apart {
                        s.ok(s
                            .cmd("gcc", Some(run))
                            .args(lto)
                            .args(["-c", &format!("{src}.c")]));
                        format!("{src}.o")
                    } else {
                        format!("{src}.c")
                    };
                    s.ok(s
                        .cmd("gcc", Some(run))
                        .args(lto)
                        .args(out)
                        .arg(&input)
                        .args(libs));
                }
            };
            build("1");
            let before = s.run_m();
            assert_eq!(before, "42\n");
            assert!(dynamic_names(&s.path("libl.so")).contains(&"unused".to_string()));
            s.merge();
            build("2");
            let lib = s.path("libl.so");
            let linker = if fuse.ends_with("lld") { "LLD" } else { "mold" };
            assert!(comment(&lib).contains(linker), "{}", comment(&lib));
            assert_eq!(s.run_m(), before, "{fuse} apart={apart}");
            assert_eq!(dynamic_names(&lib), ["used"], "{fuse} apart={apart}");
            assert_eq!(
                dynamic_names(&s.path("libk.so")),
                k_exports(fuse),
                "{fuse} apart={apart}"
            );
            let names = all_names(&lib);
            assert!(
                !names.iter().any(|n| n == "unused" || n == "unused_array"),
                "{fuse} apart={apart}: {names:?}"
            );
            assert_eq!(
                std::fs::read_to_string(s.state().join("apply.log")).unwrap_or_default(),
                "",
                "{fuse} apart={apart}"
            );
            s.verify();
        }
    }
}

/// clang -flto (LLVM bitcode, which ldprune cannot read) through the
/// wrappers with lld, mold, bfd and gold: with bfd and gold the bitcode
/// links are recorded incomplete (`status` counts them) and a library built
/// by gcc beside them is still pruned (its clang LTO consumer's imports are
/// read from the program), and so with mold (clang hands mold LLVMgold,
/// which the recording ld.bfd loads too); with lld the recording link
/// (ld.bfd) cannot read bitcode, so they are recorded incomplete from lld's
/// outputs alone (wrapper.log says so), which is enough for the program's
/// imports to count. Run-2
/// leaves the bitcode links' exports as they were; programs run, the image
/// verifies.
#[test]
fn clang_lto_through_the_wrappers() {
    for fuse in [
        "-fuse-ld=lld",
        "-fuse-ld=mold",
        "-fuse-ld=bfd",
        "-fuse-ld=gold",
    ] {
        let s = Stage::new();
        s.sources();
        s.write(
            "n.c",
            "int n_used(void) { return 1; }\nint n_never(void) { return 2; }\n",
        );
        s.write(
            "p.c",
            "#include <stdio.h>\nint used(void);\nint n_used(void);\n\
             int main(void) { printf(\"%d\\n\", used() + n_used()); return 0; }\n",
        );
        let build = |run: &str| {
            s.ok(s
                .cmd("gcc", Some(run))
                .args(["-O2", "-fPIC", "-shared", fuse, "-o", "libn.so", "n.c"]));
            for src in ["k", "l", "p"] {
                s.ok(s.cmd("clang", Some(run)).args([
                    "-O2",
                    "-fPIC",
                    "-flto",
                    "-c",
                    &format!("{src}.c"),
                ]));
            }
            let links: [&[&str]; 3] = [
                &["-shared", "-o", "libk.so", "k.o"],
                &["-shared", "-o", "libl.so", "l.o", "-L.", "-lk"],
                &["-o", "p", "p.o", "-L.", "-ll", "-lk", "-ln"],
            ];
            for args in links {
                s.ok(s
                    .cmd("clang", Some(run))
                    .args(["-O2", "-flto", fuse])
                    .args(args));
            }
        };
        let run_p = || {
            let out = s.ok(Command::new(s.path("p")).env("LD_LIBRARY_PATH", s.work()));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        build("1");
        assert_eq!(run_p(), "42\n");
        let status = s.ok(ldprune().arg("status").arg("--state").arg(s.state()));
        let status = String::from_utf8_lossy(&status.stdout);
        assert!(status.contains("incomplete 3"), "{fuse}: {status}");
        if fuse.ends_with("lld") {
            // The recording link (ld.bfd) cannot read lld's bitcode: the three
            // clang links are recorded from lld's outputs alone, and
            // wrapper.log says so.
            let log = std::fs::read_to_string(s.state().join("wrapper.log")).unwrap_or_default();
            let alone = log.lines().filter(|l| l.contains("output alone")).count();
            assert_eq!(alone, 3, "{fuse}: {log}");
        }
        let sorted = |f: &str| {
            let mut v = dynamic_names(&s.path(f));
            v.sort();
            v
        };
        let l_before = sorted("libl.so");
        let k_before = sorted("libk.so");
        assert!(l_before.contains(&"unused".to_string()), "{l_before:?}");
        s.merge();
        build("2");
        assert_eq!(run_p(), "42\n", "{fuse}");
        assert_eq!(sorted("libl.so"), l_before, "{fuse}");
        assert_eq!(sorted("libk.so"), k_before, "{fuse}");
        assert_eq!(dynamic_names(&s.path("libn.so")), ["n_used"], "{fuse}");
        s.verify();
    }
}

/// The wrappers under a cross toolchain's names (`aarch64-linux-gnu-gcc`,
/// as `make install` links them): both runs through ld.bfd and gold with
/// no flags given, the records of the target's machine, the program the
/// same under qemu-user after Run-2, the unused exports gone.
#[test]
fn cross_toolchain_names() {
    for (target, qemu, machine) in [
        ("aarch64-linux-gnu", "qemu-aarch64", 183u16),
        ("arm-linux-gnueabihf", "qemu-arm", 40),
    ] {
        for fuse in ["-fuse-ld=bfd", "-fuse-ld=gold"] {
            let s = Stage::new();
            let gcc = format!("{target}-gcc");
            symlink("../ldprune-wrap", s.wrapdir().join(&gcc)).unwrap();
            s.sources();
            let run = || {
                let out = s.ok(Command::new(qemu)
                    .current_dir(s.work())
                    .env("QEMU_LD_PREFIX", format!("/usr/{target}"))
                    .env("LD_LIBRARY_PATH", s.work())
                    .arg("./m"));
                String::from_utf8(out.stdout).unwrap()
            };
            s.build("1", &gcc, fuse);
            let records = s.records();
            assert_eq!(records.len(), 3, "{target} {fuse}");
            assert!(records.iter().all(|r| r.abi.machine == machine));
            assert_eq!(run(), "42\n");
            s.ok(Command::new(env!("CARGO_BIN_EXE_ldprune"))
                .args(["merge", "--state"])
                .arg(s.state()));
            s.build("2", &gcc, fuse);
            assert_eq!(run(), "42\n", "{target} {fuse} after Run-2");
            let dynsym = s.ok(Command::new(format!("{target}-readelf"))
                .args(["--dyn-syms", "-W"])
                .arg(s.path("libl.so")));
            let dynsym = String::from_utf8_lossy(&dynsym.stdout);
            assert!(dynsym.contains(" used"), "{dynsym}");
            assert!(!dynsym.contains(" unused"), "{target} {fuse}: {dynsym}");
            assert!(
                !s.state().join("apply.log").exists()
                    || std::fs::read_to_string(s.state().join("apply.log"))
                        .unwrap()
                        .is_empty(),
                "a Run-2 link left unchanged"
            );
        }
    }
}
