//! Test helpers: real gcc, real ld.bfd and ld.gold, the built plugin.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use ldprune::state::record::{LinkRecord, ObjectRecord, SymbolRecord};
use ldprune::state::{StateDir, load_record};

/// How the fixtures are compiled: position-independent, one section per
/// function and data item (what --gc-sections needs).
pub const CFLAGS: &[&str] = &[
    "-O1",
    "-fPIC",
    "-ffunction-sections",
    "-fdata-sections",
    "-c",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linker {
    Bfd,
    Gold,
}

impl Linker {
    pub fn flag(self) -> &'static str {
        match self {
            Linker::Bfd => "-fuse-ld=bfd",
            Linker::Gold => "-fuse-ld=gold",
        }
    }

    /// The name the plugin records for this linker.
    pub fn recorded_prefix(self) -> &'static str {
        match self {
            Linker::Bfd => "GNU ld ",
            Linker::Gold => "gold ",
        }
    }
}

/// The plugin cargo built for this test run. `cargo test` builds the
/// cdylib into target/<profile>/deps (next to the test binary) and copies it
/// up to target/<profile> only on `cargo build`, so deps/ is the fresh one.
pub fn plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let so = exe.parent().unwrap().join("libldprune.so");
    assert!(so.exists(), "plugin not built at {}", so.display());
    so
}

pub fn ldprune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ldprune"))
}

/// A scratch directory with sources, a state directory and helpers to
/// compile and link there.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub linker: Linker,
    /// The target of Debian's cross toolchain (`aarch64-linux-gnu`) when
    /// cross-compiling; `None`: the host's gcc.
    pub target: Option<&'static str>,
}

/// Debian's cross toolchains the tests build with (scripts/debian-deps
/// installs them), and the qemu-user program that runs each target's code.
pub const CROSS_TARGETS: &[(&str, &str)] = &[
    ("aarch64-linux-gnu", "qemu-aarch64"),
    ("arm-linux-gnueabihf", "qemu-arm"),
];

impl Fixture {
    pub fn new(linker: Linker) -> Fixture {
        Fixture {
            dir: tempfile::Builder::new()
                .prefix("ldprune-test-")
                .tempdir()
                .unwrap(),
            linker,
            target: None,
        }
    }

    /// A fixture that compiles and links for `target` with its cross gcc.
    pub fn cross(linker: Linker, target: &'static str) -> Fixture {
        Fixture {
            target: Some(target),
            ..Fixture::new(linker)
        }
    }

    /// `tool` (gcc, g++, readelf) for this fixture's target.
    pub fn tool(&self, tool: &str) -> String {
        match self.target {
            Some(t) => format!("{t}-{tool}"),
            None => tool.to_string(),
        }
    }

    /// The target's libraries (Debian's cross sysroot), `/` natively.
    pub fn sysroot(&self) -> PathBuf {
        match self.target {
            Some(t) => PathBuf::from(format!("/usr/{t}")),
            None => PathBuf::from("/"),
        }
    }

    /// Runs program `exe` of the fixture (qemu-user for a cross target:
    /// binfmt_misc is not assumed) and returns its output, whatever its exit.
    pub fn run_program(&self, exe: &str) -> Output {
        let path = self.path(exe);
        let mut cmd = match self.target {
            Some(t) => {
                let qemu = CROSS_TARGETS
                    .iter()
                    .find(|c| c.0 == t)
                    .expect("a known target")
                    .1;
                let mut c = Command::new(qemu);
                c.arg("-L").arg(self.sysroot()).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        output_of(cmd.current_dir(self.dir.path()))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn state(&self) -> PathBuf {
        self.path("state")
    }

    /// What `ldprune explain` says of `name` in this fixture's state.
    #[allow(dead_code)]
    pub fn explain(&self, name: &str) -> String {
        let out = self.run(
            ldprune()
                .arg("explain")
                .arg("--state")
                .arg(self.state())
                .arg(name),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn write(&self, name: &str, text: &str) -> &Self {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
        self
    }

    /// Runs a command in the fixture directory; panics with its output on failure.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let out = output_of(cmd.current_dir(self.dir.path()));
        assert!(
            out.status.success(),
            "{:?} failed:\n{}{}",
            cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Compiles `src` (already written here) with [`CFLAGS`] and `extra`,
    /// by g++ for `.cc` files, by gcc otherwise.
    pub fn compile(&self, src: &str, extra: &[&str]) -> Output {
        let mut args: Vec<&str> = CFLAGS.to_vec();
        args.extend_from_slice(extra);
        args.push(src);
        if src.ends_with(".cc") {
            self.gxx(&args)
        } else {
            self.gcc(&args)
        }
    }

    /// A library of two version nodes, `V1 { a; b; }` and `V2 { c; } V1`
    /// (v.c, v.map), and a program that calls only `a` (app.c).
    pub fn write_two_node_library(&self) -> &Self {
        self.write(
            "v.c",
            "int a(void) { return 1; }\nint b(void) { return 2; }\nint c(void) { return 3; }\n",
        )
        .write("v.map", "V1 { global: a; b; }; V2 { global: c; } V1;\n")
        .write(
            "app.c",
            "int a(void);\nint main(void) { return a() - 1; }\n",
        )
    }

    /// gcc with `args`, no plugin.
    pub fn gcc(&self, args: &[&str]) -> Output {
        self.run(Command::new(self.tool("gcc")).args(args))
    }

    pub fn gxx(&self, args: &[&str]) -> Output {
        self.run(Command::new(self.tool("g++")).args(args))
    }

    /// The gcc arguments that load the plugin in Run-1 with this fixture's linker.
    pub fn plugin_args(&self) -> Vec<String> {
        vec![
            self.linker.flag().to_string(),
            format!("-Wl,-plugin,{}", plugin().display()),
            "-Wl,-plugin-opt=run=1".to_string(),
            format!("-Wl,-plugin-opt=state={}", self.state().display()),
        ]
    }

    /// Links with `driver` (gcc or g++) through the plugin.
    pub fn link_with(&self, driver: &str, args: &[&str]) -> Output {
        self.run(
            Command::new(self.tool(driver))
                .args(self.plugin_args())
                .args(args),
        )
    }

    /// Links with `driver` through the plugin in Run-2, strict: a link the
    /// decisions cannot be applied to fails.
    pub fn link_run2_with(&self, driver: &str, args: &[&str]) -> Output {
        let run2: Vec<String> = self
            .plugin_args()
            .into_iter()
            .map(|a| a.replace("run=1", "run=2"))
            .chain(["-Wl,-plugin-opt=strict".to_string()])
            .collect();
        self.run(Command::new(self.tool(driver)).args(run2).args(args))
    }

    pub fn link(&self, args: &[&str]) -> Output {
        self.link_with("gcc", args)
    }

    /// Links with `driver` through the plugin in Run-`run` (1 or 2), not
    /// strict: as a build does.
    pub fn link_in_run(&self, run: u32, driver: &str, args: &[&str]) -> Output {
        let opts = self
            .plugin_args()
            .into_iter()
            .map(|a| a.replace("run=1", &format!("run={run}")));
        self.run(Command::new(self.tool(driver)).args(opts).args(args))
    }

    /// Links `args` (which must contain `-o OUT`) once through the plugin
    /// and once without it, and asserts the outputs are byte-identical. Both
    /// links write OUT itself: the output name can be part of the output
    /// (bfd names the base version after it).
    pub fn link_identical_with(&self, driver: &str, args: &[&str]) -> Output {
        let out = self.link_with(driver, args);
        let o = args.iter().position(|a| *a == "-o").expect("-o in args") + 1;
        let target = self.path(args[o]);
        let with_plugin = self.path(&format!("{}.with-plugin", args[o]));
        std::fs::rename(&target, &with_plugin).unwrap();
        self.run(
            Command::new(self.tool(driver))
                .arg(self.linker.flag())
                .args(args),
        );
        let a = std::fs::read(&with_plugin).unwrap();
        let b = std::fs::read(&target).unwrap();
        assert!(a == b, "{} differs with and without the plugin", args[o]);
        std::fs::rename(&with_plugin, &target).unwrap();
        out
    }

    pub fn link_identical(&self, args: &[&str]) -> Output {
        self.link_identical_with("gcc", args)
    }

    /// All records in the state directory (panics on a bad one).
    pub fn records(&self) -> Vec<LinkRecord> {
        let state = StateDir::open(&self.state()).unwrap();
        state
            .record_paths()
            .unwrap()
            .iter()
            .map(|p| load_record(p).unwrap())
            .collect()
    }

    /// The one record whose output file name is `name`.
    pub fn record(&self, name: &str) -> LinkRecord {
        let all = self.records();
        let mut found: Vec<LinkRecord> = all
            .into_iter()
            .filter(|r| r.output_file_name() == name)
            .collect();
        assert_eq!(found.len(), 1, "records of {name}");
        let r = found.pop().unwrap();
        assert!(
            r.linker.starts_with(self.linker.recorded_prefix()),
            "recorded by {}",
            r.linker
        );
        r
    }
}

/// The object of `r` whose path (or member name) ends with `name`.
pub fn object<'r>(r: &'r LinkRecord, name: &str) -> &'r ObjectRecord {
    let found: Vec<&ObjectRecord> = r
        .objects
        .iter()
        .filter(|o| match &o.member {
            Some(m) => m == name,
            None => o.path.ends_with(name),
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "objects named {name} in {}: {:?}",
        r.output,
        r.objects
            .iter()
            .map(|o| (&o.path, &o.member))
            .collect::<Vec<_>>()
    );
    found[0]
}

/// What section `section` of `o` references: "symbol NAME" / "section NAME".
pub fn refs(r: &LinkRecord, o: &ObjectRecord, section: &str) -> Vec<String> {
    use ldprune::elf::object::Target;
    let idx: Vec<usize> = o
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| r.str(s.name) == section)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(idx.len(), 1, "sections named {section}");
    o.edges
        .iter()
        .filter(|(from, _)| *from as usize == idx[0])
        .map(|&(_, to)| match to {
            Target::Symbol(i) => format!("symbol {}", r.str(o.symbols[i as usize].name)),
            Target::Section(i) => format!("section {}", r.str(o.sections[i as usize].name)),
        })
        .collect()
}

pub fn symbol<'r>(r: &LinkRecord, o: &'r ObjectRecord, name: &str) -> &'r SymbolRecord {
    o.symbols
        .iter()
        .find(|s| r.str(s.name) == name)
        .unwrap_or_else(|| panic!("no symbol {name} in {}", o.path))
}

/// The section a symbol of `o` is defined in.
pub fn symbol_section(r: &LinkRecord, o: &ObjectRecord, name: &str) -> String {
    match symbol(r, o, name).place {
        ldprune::elf::types::SymbolPlace::Section(i) => {
            r.str(o.sections[i as usize].name).to_string()
        }
        p => format!("{p:?}"),
    }
}

pub fn exports(r: &LinkRecord) -> Vec<String> {
    r.exports.iter().map(|d| d.spelled()).collect()
}

pub fn imports(r: &LinkRecord) -> Vec<String> {
    r.imports.iter().map(|d| d.name.clone()).collect()
}

/// A scratch directory that is also HOME (no ~/.rpmmacros, ~/.rpmrc or
/// ~/.config/dpkg/buildflags.conf of the user's), for a packaging tool
/// run with an environment free of build flags.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(prefix: &str) -> Scratch {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `program` in the scratch directory, without the caller's build
    /// flags (debhelper keeps CFLAGS, LDFLAGS... already in the
    /// environment instead of dpkg-buildflags' values; rpm's macros read
    /// LDPRUNE_*), and strict: a plugin failure fails the link.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", self.dir.path()).current_dir(self.dir.path());
        const FLAGS: &[&str] = &[
            "CFLAGS",
            "CPPFLAGS",
            "CXXFLAGS",
            "OBJCFLAGS",
            "OBJCXXFLAGS",
            "FFLAGS",
            "FCFLAGS",
            "LDFLAGS",
            "MAKEFLAGS",
            "DPKG_GENSYMBOLS_CHECK_LEVEL",
            "DEB_BUILD_OPTIONS",
            "DEB_BUILD_MAINT_OPTIONS",
        ];
        for (var, _) in std::env::vars_os() {
            let Some(name) = var.to_str() else { continue };
            if FLAGS.contains(&name)
                || name.starts_with("DEB_") && name.ends_with("FLAGS_APPEND")
                || name.starts_with("LDPRUNE_")
            {
                c.env_remove(&var);
            }
        }
        c.env("LDPRUNE_STRICT", "1");
        c
    }
}

/// A tmpfs mounted for a test (root only; CI runs as root), unmounted on
/// drop: a full, tiny or read-only file system on demand.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts at `at` with mount options such as `size=4k` or `ro,size=64k`.
    pub fn mount(at: PathBuf, options: &str) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs on {}", at.display());
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Declares `$name` as a test run once with bfd and once with gold.
#[macro_export]
macro_rules! both_linkers {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn bfd() {
                super::$body(super::common::Linker::Bfd)
            }
            #[test]
            fn gold() {
                super::$body(super::common::Linker::Gold)
            }
        }
    };
}

/// Runs `cmd` for its output. Another test thread that forks while a test
/// copies an executable inherits the copy's writable descriptor until that
/// child execs, and exec of the copy fails with ETXTBSY meanwhile: retry.
pub fn output_of(cmd: &mut Command) -> Output {
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r.unwrap(),
        }
    }
    panic!("{cmd:?}: text file busy for a second");
}
