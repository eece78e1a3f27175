//! Cross-compiled images: Debian's cross toolchains for aarch64 and armhf
//! link through the plugin (ld.bfd and gold), the programs run under
//! qemu-user before and after Run-2, and verify checks the image against
//! the target's sysroot, never the host's x86-64 libraries. On armhf,
//! C++ exceptions thrown across a library boundary unwind through EHABI's
//! tables (.ARM.exidx, .ARM.extab), which the records turn into edges.

mod common;

use std::process::Command;

use common::{CFLAGS, CROSS_TARGETS, Fixture, Linker, exports, ldprune, object, refs};
use ldprune::analysis::{NameCause, Options, analyse};
use ldprune::elf::types::SectionKind;

const EM_ARM: u16 = 40;
const EM_AARCH64: u16 = 183;

/// Declares `$name` as a test per cross target and linker.
macro_rules! cross_tests {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::common::Linker;
            #[test]
            fn aarch64_bfd() {
                super::$body(Linker::Bfd, "aarch64-linux-gnu")
            }
            #[test]
            fn aarch64_gold() {
                super::$body(Linker::Gold, "aarch64-linux-gnu")
            }
            #[test]
            fn armhf_bfd() {
                super::$body(Linker::Bfd, "arm-linux-gnueabihf")
            }
            #[test]
            fn armhf_gold() {
                super::$body(Linker::Gold, "arm-linux-gnueabihf")
            }
        }
    };
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The dynamic symbols a file defines, by the target's readelf.
fn defined_dynamic(f: &Fixture, file: &str) -> Vec<String> {
    let out = f.run(Command::new(f.tool("readelf")).args(["--dyn-syms", "-W", file]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 8 && w[6] != "UND" && w[0].ends_with(':')).then(|| w[7].to_string())
        })
        .collect()
}

fn merge(f: &Fixture) -> String {
    let out = ldprune()
        .args(["merge", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    assert!(out.status.success(), "merge: {}", text(&out));
    text(&out)
}

/// `ldprune verify ROOT` with `extra` arguments: (success, output).
fn verify(f: &Fixture, root: &str, extra: &[&str]) -> (bool, String) {
    let out = ldprune()
        .arg("verify")
        .args(extra)
        .arg(f.path(root))
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

/// Copies `files` of the fixture into `root`/usr/lib (libraries) and
/// `root`/usr/bin (programs): an image to verify.
fn image(f: &Fixture, root: &str, libs: &[&str], programs: &[&str]) {
    for (dir, files) in [("usr/lib", libs), ("usr/bin", programs)] {
        let d = f.path(root).join(dir);
        std::fs::create_dir_all(&d).unwrap();
        for file in files {
            std::fs::copy(f.path(file), d.join(file)).unwrap();
        }
    }
}

const LIB_C: &str = "#include <string.h>\n\
int lib_used(int x) { return x + 1; }\n\
static int helper(const char *s) { return (int)strlen(s) * 3; }\n\
int lib_unused(const char *s) { return helper(s) + lib_used(2); }\n\
const char *lib_unused_name(void) { return \"an unused string\"; }\n";
const APP_C: &str = "#include <stdio.h>\nint lib_used(int);\n\
int main(void) { printf(\"lib_used: %d\\n\", lib_used(41)); return 0; }\n";

/// A C library and program: Run-1 is byte-identical to a link without the
/// plugin and records the target's machine; merge hides the unused
/// exports; Run-2 applies, the program prints the same under qemu, and
/// verify is clean with the target's sysroot (and with only the host's
/// libraries finds nothing for the target's libc).
fn c_image(linker: Linker, target: &'static str) {
    let f = Fixture::cross(linker, target);
    f.write("lib.c", LIB_C).write("app.c", APP_C);
    f.compile("lib.c", &[]);
    f.compile("app.c", &[]);
    let lib = [
        "-shared",
        "-Wl,--gc-sections",
        "-Wl,-soname,libx.so",
        "-o",
        "libx.so",
        "lib.o",
    ];
    let app = [
        "-Wl,--gc-sections",
        "-o",
        "app",
        "app.o",
        "libx.so",
        "-Wl,-rpath,$ORIGIN",
    ];
    f.link_identical(&lib);
    f.link_identical(&app);
    let r = f.record("libx.so");
    let (machine, class) = if target.starts_with("aarch64") {
        (EM_AARCH64, 2)
    } else {
        (EM_ARM, 1)
    };
    assert_eq!((r.abi.machine, r.abi.class), (machine, class), "{target}");
    let run1 = f.run_program("app");
    assert!(
        run1.status.success(),
        "{target} app under qemu: {}",
        text(&run1)
    );
    assert_eq!(String::from_utf8_lossy(&run1.stdout), "lib_used: 42\n");

    let merged = merge(&f);
    let name = if machine == EM_ARM {
        "for ARM (32-bit, little-endian)"
    } else {
        "for AArch64 (64-bit, little-endian)"
    };
    assert!(merged.contains(name), "{merged}");
    let before = std::fs::metadata(f.path("libx.so")).unwrap().len();
    f.link_run2_with("gcc", &lib);
    f.link_run2_with("gcc", &app);
    let run2 = f.run_program("app");
    assert_eq!(run1.stdout, run2.stdout, "{}", text(&run2));
    assert!(run2.status.success());
    let mut dynamic = defined_dynamic(&f, "libx.so");
    dynamic.retain(|n| n.starts_with("lib_"));
    assert_eq!(dynamic, vec!["lib_used"], "{target}");
    assert!(std::fs::metadata(f.path("libx.so")).unwrap().len() <= before);

    image(&f, "img", &["libx.so"], &["app"]);
    let sysroot = f.sysroot();
    let (ok, said) = verify(&f, "img", &["--sysroot", sysroot.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("{}/lib/libc.so.6", sysroot.display())),
        "{said}"
    );
    // The host's own libraries are of another machine: they never stand in.
    let (ok, said) = verify(&f, "img", &[]);
    assert!(
        !ok && said.contains("needed library libc.so.6 not found"),
        "{said}"
    );
}
cross_tests!(c_library_and_program, c_image);

const THROW_CC: &str = "#include <stdexcept>\n#include <string>\n\
int thrower(int x) {\n\
    if (x > 2) throw std::runtime_error(\"too big: \" + std::to_string(x));\n\
    return x + 1;\n}\n\
int unused_thrower(int x) { if (x) throw std::logic_error(\"unused\"); return 0; }\n\
extern \"C\" int unused_plain(int x) { return x * 7; }\n\
int twice(int x) { return thrower(x) + thrower(x + 1); }\n";
const CATCH_CC: &str = "#include <cstdio>\n#include <stdexcept>\nint thrower(int);\n\
int main() {\n    int sum = 0;\n\
    for (int i = 0; i < 5; i++) {\n\
        try { sum += thrower(i); }\n\
        catch (const std::runtime_error &e) { std::printf(\"caught %s\\n\", e.what()); }\n\
    }\n    std::printf(\"sum %d\\n\", sum);\n    return 0;\n}\n";

/// C++ exceptions thrown in a library and caught in the program, before
/// and after Run-2, under qemu. On armhf the record ties each function to
/// its .ARM.exidx table (an edge), and the personality routines the tables
/// name are demanded.
fn cxx_exceptions(linker: Linker, target: &'static str) {
    let f = Fixture::cross(linker, target);
    f.write("throw.cc", THROW_CC).write("catch.cc", CATCH_CC);
    f.compile("throw.cc", &[]);
    f.compile("catch.cc", &[]);
    let lib = [
        "-shared",
        "-Wl,--gc-sections",
        "-Wl,-soname,libthrow.so",
        "-o",
        "libthrow.so",
        "throw.o",
    ];
    let app = [
        "-Wl,--gc-sections",
        "-o",
        "app",
        "catch.o",
        "libthrow.so",
        "-Wl,-rpath,$ORIGIN",
    ];
    f.link_identical_with("g++", &lib);
    f.link_identical_with("g++", &app);
    let expected = "caught too big: 3\ncaught too big: 4\nsum 6\n";
    let run1 = f.run_program("app");
    assert_eq!(
        String::from_utf8_lossy(&run1.stdout),
        expected,
        "{}",
        text(&run1)
    );

    let r = f.record("libthrow.so");
    if target.starts_with("arm") {
        let o = object(&r, "throw.o");
        let table = ".ARM.exidx.text._Z7throweri";
        let kind = o
            .sections
            .iter()
            .find(|s| r.str(s.name) == table)
            .map(|s| s.kind);
        assert_eq!(kind, Some(SectionKind::ArmExidx));
        // Code -> its index table -> its extab entry -> the personality.
        assert!(
            refs(&r, o, ".text._Z7throweri").contains(&format!("section {table}")),
            "{:?}",
            refs(&r, o, ".text._Z7throweri")
        );
        assert!(refs(&r, o, table).contains(&"section .ARM.extab.text._Z7throweri".to_string()));
        assert!(
            refs(&r, o, ".ARM.extab.text._Z7throweri")
                .contains(&"symbol __gxx_personality_v0".to_string())
        );
        // The personality routines are demanded by the tables themselves.
        let a = analyse(f.records(), &Options::default());
        for name in ["__gxx_personality_v0", "__aeabi_unwind_cpp_pr0"] {
            let n = a
                .graph
                .names
                .lookup(name)
                .unwrap_or_else(|| panic!("{name} interned"));
            match a.demanded.get(&n) {
                Some(NameCause::ImportedBy(s)) => {
                    let sec = a.graph.section_name(&a.records, *s);
                    assert!(sec.starts_with(".ARM."), "{name} demanded by {sec}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    merge(&f);
    f.link_run2_with("g++", &lib);
    f.link_run2_with("g++", &app);
    let run2 = f.run_program("app");
    assert!(run2.status.success(), "{}", text(&run2));
    assert_eq!(String::from_utf8_lossy(&run2.stdout), expected);
    let dynamic = defined_dynamic(&f, "libthrow.so");
    assert!(dynamic.iter().any(|n| n == "_Z7throweri"), "{dynamic:?}");
    assert!(
        !dynamic
            .iter()
            .any(|n| n == "_Z14unused_throweri" || n == "unused_plain"),
        "{dynamic:?}"
    );
    image(&f, "img", &["libthrow.so"], &["app"]);
    let (ok, said) = verify(&f, "img", &["--sysroot", f.sysroot().to_str().unwrap()]);
    assert!(ok, "{said}");
}
cross_tests!(cxx_exceptions_across_a_library, cxx_exceptions);

/// REL (armhf) and RELA (aarch64) relocations both become edges.
fn relocations(linker: Linker, target: &'static str) {
    let f = Fixture::cross(linker, target);
    f.write(
        "r.c",
        "int g(int x) { return x + 5; }\nint h(int x) { return g(x) * 2; }\n\
         static int local(int x) { return x - 1; }\nint k(int x) { return local(x) + h(x); }\n",
    );
    f.compile("r.c", &["-O0"]);
    f.link_identical(&["-shared", "-o", "libr.so", "r.o"]);
    let r = f.record("libr.so");
    let o = object(&r, "r.o");
    assert!(refs(&r, o, ".text.h").contains(&"symbol g".to_string()));
    let k = refs(&r, o, ".text.k");
    assert!(
        k.contains(&"symbol h".to_string()) && k.contains(&"section .text.local".to_string()),
        "{k:?}"
    );
    let mut ex = exports(&r);
    ex.retain(|n| !n.starts_with('_')); // gold also exports _end, _edata, __bss_start
    ex.sort();
    assert_eq!(ex, vec!["g", "h", "k"]);
}
cross_tests!(rel_and_rela_relocations, relocations);

/// Records of two machines in one state directory: merge refuses and names
/// the outputs of each machine.
#[test]
fn two_machines_in_one_state_directory() {
    let arm = Fixture::cross(Linker::Bfd, "arm-linux-gnueabihf");
    arm.write("lib.c", LIB_C);
    arm.compile("lib.c", &[]);
    arm.link(&["-shared", "-o", "libarm.so", "lib.o"]);
    let a64 = Fixture::cross(Linker::Bfd, "aarch64-linux-gnu");
    a64.write("lib.c", LIB_C);
    a64.compile("lib.c", &[]);
    let state = arm.state();
    a64.run(
        Command::new(a64.tool("gcc"))
            .args([
                "-fuse-ld=bfd",
                &format!("-Wl,-plugin,{}", common::plugin().display()),
            ])
            .args([
                "-Wl,-plugin-opt=run=1",
                &format!("-Wl,-plugin-opt=state={}", state.display()),
            ])
            .args(["-shared", "-o", "liba64.so", "lib.o"]),
    );
    let out = ldprune()
        .args(["merge", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("2 machines")
            && said.contains("ARM (32-bit, little-endian): ")
            && said.contains("libarm.so")
            && said.contains("AArch64 (64-bit, little-endian): ")
            && said.contains("liba64.so"),
        "{said}"
    );
    assert!(!state.join("decisions.ldpd").exists());
}

/// Every cross toolchain and qemu the tests use is there (debian-deps).
#[test]
fn toolchains_present() {
    for (target, qemu) in CROSS_TARGETS {
        for tool in ["gcc", "g++", "ld.bfd", "ld.gold", "readelf"] {
            let t = format!("{target}-{tool}");
            let ok = Command::new(&t)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "{t} missing: run scripts/debian-deps");
        }
        let ok = Command::new(qemu)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "{qemu} missing: run scripts/debian-deps");
    }
    let _ = CFLAGS;
}
