//! `ldprune verify` on small image trees built with gcc: a clean one, then
//! the same tree broken the ways a wrong Run-2 or a bad package would.

mod common;

use std::path::{Path, PathBuf};

use common::{Fixture, Linker, ldprune};

/// Where the fixture's files are installed in the image.
const BASE: &str = "usr/lib/app/libbase.so.1";
const MID: &str = "usr/lib/app/libmid.so";
const PROG: &str = "usr/bin/prog";

/// Builds libbase.so.1 in `dir` (of the fixture) defining `functions`,
/// versioned with `node` (none: no version script).
fn libbase(f: &Fixture, dir: &str, functions: &[&str], node: Option<&str>) -> PathBuf {
    let source: String = functions
        .iter()
        .enumerate()
        .map(|(i, name)| format!("int {name}(void) {{ return {i}; }}\n"))
        .collect();
    f.write(&format!("{dir}/base.c"), &source);
    let mut args: Vec<String> = [
        "-shared",
        "-fPIC",
        "-o",
        &format!("{dir}/libbase.so.1"),
        &format!("{dir}/base.c"),
        "-Wl,-soname,libbase.so.1",
    ]
    .map(String::from)
    .to_vec();
    if let Some(node) = node {
        let globals: String = functions.iter().map(|n| format!("{n}; ")).collect();
        f.write(
            &format!("{dir}/base.map"),
            &format!("{node} {{ global: {globals}local: *; }};\n"),
        );
        args.push(format!("-Wl,--version-script,{dir}/base.map"));
    }
    f.gcc(&args.iter().map(String::as_str).collect::<Vec<_>>());
    f.path(&format!("{dir}/libbase.so.1"))
}

/// The image tree `image`: prog (RUNPATH $ORIGIN/../lib/app) needs libmid
/// and libbase; libmid (RUNPATH $ORIGIN) needs libbase, version BASE_1.
fn image(f: &Fixture) -> PathBuf {
    libbase(f, "build", &["base_a", "base_b"], Some("BASE_1"));
    f.write(
        "build/mid.c",
        "int base_a(void);\nint mid(void) { return base_a() + 1; }\n",
    );
    f.write(
        "build/prog.c",
        "int mid(void); int base_b(void);\nint main(void) { return mid() + base_b() - 2; }\n",
    );
    f.gcc(&[
        "-shared",
        "-fPIC",
        "-o",
        "build/libmid.so",
        "build/mid.c",
        "build/libbase.so.1",
        "-Wl,-soname,libmid.so",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN",
    ]);
    f.gcc(&[
        "-o",
        "build/prog",
        "build/prog.c",
        "build/libmid.so",
        "build/libbase.so.1",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib/app",
    ]);
    let root = f.path("image");
    install(&f.path("build/libbase.so.1"), &root.join(BASE));
    install(&f.path("build/libmid.so"), &root.join(MID));
    install(&f.path("build/prog"), &root.join(PROG));
    root
}

fn install(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

struct Verified {
    code: i32,
    /// The problem lines (or the JSON).
    out: String,
    err: String,
}

fn verify(roots: &[&Path], flags: &[&str]) -> Verified {
    let out = ldprune()
        .arg("verify")
        .args(flags)
        .args(roots)
        .output()
        .unwrap();
    Verified {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Verified {
    fn lines(&self) -> Vec<&str> {
        self.out.lines().collect()
    }

    fn assert_clean(&self) {
        assert_eq!(self.code, 0, "{}{}", self.out, self.err);
        assert!(self.out.is_empty(), "{}", self.out);
    }
}

fn line(root: &Path, file: &str, problem: &str) -> String {
    format!("{}: {problem}", root.join(file).display())
}

#[test]
fn clean_image() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    let v = verify(&[&root], &["--no-host"]);
    // libc is not in the tree: only that may be missing.
    assert!(
        v.lines()
            .iter()
            .all(|l| l.ends_with("needed library libc.so.6 not found")),
        "{}",
        v.out
    );
    let v = verify(&[&root], &[]);
    v.assert_clean();
    assert!(v.err.contains("verify: 3 files, 0 problems"), "{}", v.err);
}

#[test]
fn removed_function_names_symbol_and_consumer() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    // base_a is what libmid imports, base_b what prog imports.
    let lib = libbase(&f, "no-a", &["base_b", "base_c"], Some("BASE_1"));
    install(&lib, &root.join(BASE));
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1, "{}{}", v.out, v.err);
    assert_eq!(
        v.lines(),
        [line(
            &root,
            MID,
            "undefined symbol base_a@BASE_1 (needed from libbase.so.1)"
        )]
    );
    assert!(v.err.contains("verify: 3 files, 1 problems"), "{}", v.err);

    let lib = libbase(&f, "no-b", &["base_a", "base_c"], Some("BASE_1"));
    install(&lib, &root.join(BASE));
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1);
    assert_eq!(
        v.lines(),
        [line(
            &root,
            PROG,
            "undefined symbol base_b@BASE_1 (needed from libbase.so.1)"
        )]
    );
}

#[test]
fn missing_version_node() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    let lib = libbase(&f, "v2", &["base_a", "base_b"], Some("BASE_2"));
    install(&lib, &root.join(BASE));
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1);
    assert_eq!(
        v.lines(),
        [
            line(&root, PROG, "version BASE_1 of libbase.so.1 not found"),
            line(
                &root,
                PROG,
                "undefined symbol base_b@BASE_1 (needed from libbase.so.1)"
            ),
            line(&root, MID, "version BASE_1 of libbase.so.1 not found"),
            line(
                &root,
                MID,
                "undefined symbol base_a@BASE_1 (needed from libbase.so.1)"
            ),
        ]
    );

    // Without any version nodes ld.so binds the symbols (and only warns),
    // but the version a package dependency names is gone.
    let lib = libbase(&f, "plain", &["base_a", "base_b"], None);
    install(&lib, &root.join(BASE));
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1);
    let gone = "version BASE_1 of libbase.so.1 not found (libbase.so.1 defines no versions)";
    assert_eq!(v.lines(), [line(&root, PROG, gone), line(&root, MID, gone)]);
}

#[test]
fn missing_library() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    std::fs::remove_file(root.join(MID)).unwrap();
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1);
    assert_eq!(
        v.lines(),
        [line(&root, PROG, "needed library libmid.so not found")]
    );
    assert!(v.err.contains("verify: 2 files, 1 problems"), "{}", v.err);
}

#[test]
fn garbage_files() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    // Not ELF: skipped, like a linker script named libc.so.
    std::fs::write(
        root.join("usr/lib/app/libjunk.so"),
        b"\x01\x02junk".repeat(100),
    )
    .unwrap();
    verify(&[&root], &[]).assert_clean();

    // ELF magic, garbage headers: a problem naming the file.
    let mut bad = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0".to_vec();
    bad.extend(std::iter::repeat_n(0xffu8, 200));
    std::fs::write(root.join("usr/lib/app/libbad.so"), &bad).unwrap();
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1, "{}{}", v.out, v.err);
    let lines = v.lines();
    assert_eq!(lines.len(), 1, "{}", v.out);
    let name = root.join("usr/lib/app/libbad.so").display().to_string();
    assert!(lines[0].starts_with(&format!("{name}: ")), "{}", v.out);
}

#[test]
fn runpath_before_default_directories() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    // A libbase without the symbols in a default directory: RUNPATH wins.
    let lib = libbase(&f, "other", &["base_c"], Some("BASE_1"));
    install(&lib, &root.join("usr/lib/libbase.so.1"));
    verify(&[&root], &[]).assert_clean();
    // Without the RUNPATH directory's copy, the default one is used.
    std::fs::remove_file(root.join(BASE)).unwrap();
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1);
    assert_eq!(
        v.lines(),
        [
            line(
                &root,
                PROG,
                "undefined symbol base_b@BASE_1 (needed from libbase.so.1)"
            ),
            line(
                &root,
                MID,
                "undefined symbol base_a@BASE_1 (needed from libbase.so.1)"
            ),
        ]
    );
}

#[test]
fn roots_are_layers_of_one_image() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    let other = f.path("other");
    install(&root.join(PROG), &other.join(PROG));
    std::fs::remove_file(root.join(PROG)).unwrap();
    let v = verify(&[&other, &root], &[]);
    v.assert_clean();
    assert!(v.err.contains("verify: 3 files, 0 problems"), "{}", v.err);
    let v = verify(&[&other], &[]);
    assert_eq!(
        v.lines(),
        [
            line(&other, PROG, "needed library libbase.so.1 not found"),
            line(&other, PROG, "needed library libmid.so not found"),
        ]
    );
}

/// Layers are one file system: the RUNPATH directory of a later layer
/// comes before a default directory of an earlier one.
#[test]
fn runpath_of_a_later_layer_before_default_directories() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    let top = f.path("top");
    let lib = libbase(&f, "other", &["base_c"], Some("BASE_1"));
    install(&lib, &top.join("usr/lib/libbase.so.1"));
    verify(&[&top, &root], &[]).assert_clean();
}

#[test]
fn system_program_via_host_libraries() {
    let f = Fixture::new(Linker::Bfd);
    let root = f.path("image");
    install(Path::new("/bin/true"), &root.join("usr/bin/true"));
    let v = verify(&[&root], &[]);
    v.assert_clean();
    assert!(v.err.contains("taken from the host"), "{}", v.err);
    let v = verify(&[&root], &["--no-host"]);
    assert_eq!(v.code, 1);
    assert_eq!(
        v.lines(),
        [line(
            &root,
            "usr/bin/true",
            "needed library libc.so.6 not found"
        )]
    );
}

#[test]
fn json_output() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    std::fs::remove_file(root.join(MID)).unwrap();
    let v = verify(&[&root], &["--json"]);
    assert_eq!(v.code, 1);
    let json: serde_json::Value = serde_json::from_str(&v.out).unwrap();
    assert_eq!(json["files"], 2);
    let p = &json["problems"][0];
    assert_eq!(p["kind"], "missing-library");
    assert_eq!(p["library"], "libmid.so");
    assert_eq!(p["file"], root.join(PROG).display().to_string());
}

#[test]
fn usage_errors() {
    let v = verify(&[Path::new("/nonexistent/ldprune-root")], &[]);
    assert_eq!(v.code, 2);
    assert!(v.err.contains("/nonexistent/ldprune-root"), "{}", v.err);
    assert_eq!(verify(&[], &[]).code, 2);
}

/// prog needs libbase.so.1 through an absolute RUNPATH (or RPATH) naming
/// the build directory, where the library still is on this machine.
fn program_with_absolute_runpath(f: &Fixture, dtags: &str) -> (PathBuf, PathBuf) {
    libbase(f, "build", &["base_a", "base_b"], Some("BASE_1"));
    f.write(
        "build/prog.c",
        "int base_b(void);\nint main(void) { return base_b() - 1; }\n",
    );
    let build = f.path("build");
    f.gcc(&[
        f.linker.flag(),
        "-o",
        "build/prog",
        "build/prog.c",
        "build/libbase.so.1",
        &format!("-Wl,{dtags},-rpath,{}", build.display()),
    ]);
    let root = f.path("image");
    install(&f.path("build/prog"), &root.join(PROG));
    (root, build)
}

/// The image's loader looks an absolute RUNPATH up in the image, never in
/// the build tree of the machine that runs verify.
fn absolute_runpath_inside_the_image(dtags: &str) {
    let f = Fixture::new(Linker::Bfd);
    let (root, build) = program_with_absolute_runpath(&f, dtags);
    assert!(build.join("libbase.so.1").exists());
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1, "{}{}", v.out, v.err);
    assert_eq!(
        v.lines(),
        [line(&root, PROG, "needed library libbase.so.1 not found")]
    );
    // The same directory inside the image: found there.
    let inside = root.join(build.strip_prefix("/").unwrap());
    install(&build.join("libbase.so.1"), &inside.join("libbase.so.1"));
    verify(&[&root], &[]).assert_clean();
    // And what is found there is what counts.
    let lib = libbase(&f, "no-b", &["base_a"], Some("BASE_1"));
    install(&lib, &inside.join("libbase.so.1"));
    let v = verify(&[&root], &[]);
    assert_eq!(
        v.lines(),
        [line(
            &root,
            PROG,
            "undefined symbol base_b@BASE_1 (needed from libbase.so.1)"
        )]
    );
}

#[test]
fn absolute_runpath_inside_the_image_runpath() {
    absolute_runpath_inside_the_image("--enable-new-dtags");
}

#[test]
fn absolute_rpath_inside_the_image() {
    absolute_runpath_inside_the_image("--disable-new-dtags");
}

/// `$ORIGIN` is the file's directory in the image: a program installed
/// in the image at a path that also exists on this machine must not find
/// its libraries next to that host path.
#[test]
fn origin_is_inside_the_image() {
    let f = Fixture::new(Linker::Bfd);
    libbase(&f, "build", &["base_a", "base_b"], Some("BASE_1"));
    f.write(
        "build/prog.c",
        "int base_b(void);\nint main(void) { return base_b() - 1; }\n",
    );
    f.gcc(&[
        "-o",
        "build/prog",
        "build/prog.c",
        "build/libbase.so.1",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN",
    ]);
    // In the image the program sits where the build directory is here.
    let root = f.path("image");
    let build = f.path("build");
    let inside = root.join(build.strip_prefix("/").unwrap());
    install(&build.join("prog"), &inside.join("prog"));
    let v = verify(&[&root], &[]);
    assert_eq!(v.code, 1, "{}{}", v.out, v.err);
    let prog = inside.join("prog");
    assert_eq!(
        v.lines(),
        [format!(
            "{}: needed library libbase.so.1 not found",
            prog.display()
        )]
    );
    install(&build.join("libbase.so.1"), &inside.join("libbase.so.1"));
    verify(&[&root], &[]).assert_clean();
}

/// Every host library that stands in for one the image lacks is named, in
/// the text output and in the JSON.
#[test]
fn host_stand_ins_are_named() {
    let f = Fixture::new(Linker::Bfd);
    let root = image(&f);
    let v = verify(&[&root], &[]);
    v.assert_clean();
    let libc = v
        .err
        .lines()
        .find(|l| l.contains("libc.so.6 taken from the host: /"))
        .unwrap_or_else(|| panic!("libc not named:\n{}", v.err));
    // Only prog needs libc (gcc links with --as-needed on Debian).
    assert!(libc.contains("(used by 1 file;"), "{libc}");
    let v = verify(&[&root], &["--json"]);
    let json: serde_json::Value = serde_json::from_str(&v.out).unwrap();
    let host = json["host_libraries"].as_array().unwrap();
    let libc: Vec<&serde_json::Value> = host.iter().filter(|h| h["name"] == "libc.so.6").collect();
    assert_eq!(libc.len(), 1, "{host:?}");
    let path = libc[0]["path"].as_str().unwrap();
    assert!(path.ends_with("/libc.so.6"), "{path}");
    let dir = Path::new(path).parent().unwrap();
    assert!(
        ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
            .iter()
            .any(|d| dir == Path::new(d) || dir.parent() == Some(Path::new(d))),
        "{path}: not a standard directory"
    );
    assert_eq!(libc[0]["files"], 1);
}

/// libvar.so.1 in `dir`, node VAR_1, exporting `variables` (ints) and a
/// function; `hidden`: variables defined but kept out of the version
/// script.
fn libvar(f: &Fixture, dir: &str, variables: &[&str], hidden: &[&str], node: &str) -> PathBuf {
    let mut source = String::from("int var_fn(void) { return 0; }\n");
    for v in variables.iter().chain(hidden) {
        source.push_str(&format!("int {v} = 42;\n"));
    }
    let globals: String = variables.iter().map(|n| format!("{n}; ")).collect();
    f.write(&format!("{dir}/var.c"), &source);
    f.write(
        &format!("{dir}/var.map"),
        &format!("{node} {{ global: var_fn; {globals}local: *; }};\n"),
    );
    f.gcc(&[
        f.linker.flag(),
        "-shared",
        "-fPIC",
        "-o",
        &format!("{dir}/libvar.so.1"),
        &format!("{dir}/var.c"),
        "-Wl,-soname,libvar.so.1",
        &format!("-Wl,--version-script,{dir}/var.map"),
    ]);
    f.path(&format!("{dir}/libvar.so.1"))
}

/// Whether `prog` starts with the libvar.so.1 of `dir`: its stderr if not.
fn start(prog: &Path, dir: &Path) -> Result<(), String> {
    let out = std::process::Command::new(prog)
        .env("LD_LIBRARY_PATH", dir)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A non-PIE program that reads a library's variable holds a copy of it
/// (R_*_COPY) and defines the name itself; the copy is filled from the
/// library at load time, and without it the program does not start.
fn copy_relocated_variable(linker: common::Linker) {
    copy_relocated_variable_in(linker, "-no-pie");
    // GCC on x86-64 makes copy relocations in a PIE too.
    copy_relocated_variable_in(linker, "-pie");
}

fn copy_relocated_variable_in(linker: common::Linker, pie: &str) {
    let f = Fixture::new(linker);
    let lib = libvar(&f, "build", &["lib_var", "other_var"], &[], "VAR_1");
    f.write(
        "build/prog.c",
        "extern int lib_var;\nint var_fn(void);\nint main(void) { return lib_var - 42 + var_fn(); }\n",
    );
    f.gcc(&[
        linker.flag(),
        pie,
        "-o",
        "build/prog",
        "build/prog.c",
        "build/libvar.so.1",
    ]);
    let prog = f.path("build/prog");
    let relocs = f.run(
        std::process::Command::new("readelf")
            .args(["-rW"])
            .arg(&prog),
    );
    let relocs = String::from_utf8_lossy(&relocs.stdout);
    assert!(
        relocs
            .lines()
            .any(|l| l.contains("R_X86_64_COPY") && l.contains("lib_var@VAR_1")),
        "{pie}: no copy relocation:\n{relocs}"
    );
    start(&prog, &f.path("build")).unwrap();

    const LIB: &str = "usr/lib/libvar.so.1";
    let root = f.path("image");
    install(&prog, &root.join(PROG));
    install(&lib, &root.join(LIB));
    verify(&[&root], &[]).assert_clean();

    let gone = "undefined symbol lib_var@VAR_1 (copy-relocated variable, needed from libvar.so.1)";
    // Removed, hidden, or moved to another version node: the same failure.
    for (dir, variables, hidden, node) in [
        ("removed", &["other_var"][..], &[][..], "VAR_1"),
        ("hidden", &["other_var"][..], &["lib_var"][..], "VAR_1"),
    ] {
        let lib = libvar(&f, dir, variables, hidden, node);
        let err = start(&prog, &f.path(dir)).unwrap_err();
        assert!(
            err.contains("undefined symbol: lib_var, version VAR_1"),
            "{err}"
        );
        install(&lib, &root.join(LIB));
        let v = verify(&[&root], &[]);
        assert_eq!(v.code, 1, "{pie} {dir}: {}{}", v.out, v.err);
        assert_eq!(v.lines(), [line(&root, PROG, gone)], "{pie} {dir}");
    }
    // Another version node: the library no longer provides VAR_1 at all.
    let lib = libvar(&f, "v2", &["lib_var", "other_var"], &[], "VAR_2");
    assert!(start(&prog, &f.path("v2")).is_err());
    install(&lib, &root.join(LIB));
    let v = verify(&[&root], &[]);
    assert_eq!(
        v.lines(),
        [
            line(&root, PROG, "version VAR_1 of libvar.so.1 not found"),
            line(&root, PROG, gone),
            line(
                &root,
                PROG,
                "undefined symbol var_fn@VAR_1 (needed from libvar.so.1)"
            ),
        ]
    );
}

both_linkers!(copy_relocated_variable_checked, copy_relocated_variable);
