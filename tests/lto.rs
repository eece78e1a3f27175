//! LTO through ldprune, on bfd and gold with GCC's LTO plugin. Both runs
//! compile fat objects (`-flto -ffat-lto-objects`); Run-1 links them with
//! `-fno-lto`, so the linker uses their machine code and the plugin records
//! it; Run-2 links them with `-flto`: GCC's plugin (loaded before ours)
//! claims them, ldprune claims crti.o/Scrt1.o, and the names it hides get
//! the resolution PREVAILING_DEF_IRONLY, so LTO internalizes and drops them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fixture, Linker, ldprune, object, plugin, refs};
use ldprune::elf::output::parse_output;

/// Compiles a fat LTO object: IR and machine code.
const FAT: &[&str] = &[
    "-O2",
    "-fPIC",
    "-flto",
    "-ffat-lto-objects",
    "-ffunction-sections",
    "-fdata-sections",
    "-c",
];

const A: &str = r#"
#include <stdio.h>
int part_used(int);
int helper_used(int x) { return x * 3 + 1; }
int unused_big(int x) {
    int s = 0;
    for (int i = 0; i < x; i++) s += (i * i) ^ x;
    printf("big %d\n", s);
    return s;
}
int api_used(int x) { return helper_used(x) + part_used(x); }
"#;

const B: &str = r#"
#include <stdio.h>
int unused_big(int);
int unused_two(int x) { return unused_big(x) * 2; }
void api_hello(void) { puts("hello"); }
"#;

/// An archive member of the library.
const PART: &str = r#"
int part_used(int x) { return x - 5; }
int part_unused(int x) { return x * x * x; }
"#;

const PROG: &str = r#"
#include <stdio.h>
int api_used(int); void api_hello(void);
int main(void) { api_hello(); printf("%d\n", api_used(4)); return 0; }
"#;

fn compile(f: &Fixture) {
    for (name, text) in [("a.c", A), ("b.c", B), ("part.c", PART), ("p.c", PROG)] {
        f.write(name, text);
        let mut args = FAT.to_vec();
        args.push(name);
        f.gcc(&args);
    }
    f.run(Command::new("ar").args(["rcs", "libpart.a", "part.o"]));
    f.write("weak.c", WEAK);
    f.gcc(&["-O2", "-fPIC", "-ffunction-sections", "-c", "weak.c"]);
}

/// A plain (non-LTO) object defining, weakly, every name the merge hides
/// from libx.so, as C++ inline functions are defined by IR and plain
/// objects alike.
const WEAK: &str = r#"
__attribute__((weak)) int helper_used(int x) { return x; }
__attribute__((weak)) int unused_big(int x) { return x; }
__attribute__((weak)) int unused_two(int x) { return x; }
__attribute__((weak)) int part_unused(int x) { return x; }
__attribute__((weak)) int part_used(int x) { return x; }
"#;

/// gcc with the plugin in `run`, --gc-sections, and `args`.
fn link(f: &Fixture, run: u32, args: &[&str]) -> Output {
    let mut a = vec!["-Wl,--gc-sections"];
    a.extend_from_slice(args);
    f.link_in_run(run, "gcc", &a)
}

const LIB: &[&str] = &["-shared", "-o", "libx.so", "a.o", "b.o", "libpart.a"];
/// The library without the archive: every object on the command line.
const LIB_OBJECTS: &[&str] = &["-shared", "-o", "libx.so", "a.o", "b.o", "part.o"];
/// The library with [`WEAK`]: every hidden name has a plain definition
/// too, but IR's prevails and LTO must still internalize it (ld.bfd takes no
/// stub in an LTO link).
const LIB_WEAK: &[&str] = &[
    "-shared",
    "-o",
    "libx.so",
    "a.o",
    "b.o",
    "libpart.a",
    "weak.o",
];
const EXE: &[&str] = &["-o", "prog", "p.o", "-L.", "-lx", "-Wl,-rpath,$ORIGIN"];

/// `-O2`, the LTO flag (`-flto` or `-fno-lto`), then `args`.
fn with<'a>(lto: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    [&["-O2", lto], args].concat()
}

fn exports(path: &Path) -> Vec<String> {
    let facts = parse_output(&std::fs::read(path).unwrap()[..]).unwrap();
    facts.exports.iter().map(|e| e.name.clone()).collect()
}

fn text_size(path: &Path) -> u64 {
    parse_output(&std::fs::read(path).unwrap()[..])
        .unwrap()
        .sizes
        .text
}

/// The full symbol table: what LTO and --gc-sections left of the code.
fn symtab(path: &Path) -> String {
    let out = Command::new("nm").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply_log(f: &Fixture) -> String {
    std::fs::read_to_string(f.state().join("apply.log")).unwrap_or_default()
}

/// Run-1 with -fno-lto over fat objects (archive member included) records
/// their code and a complete graph; the same link with -flto, where GCC's
/// plugin claims them, and slim IR stay incomplete.
fn fat_objects_recorded(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    link(&f, 1, &with("-fno-lto", LIB));
    let r = f.record("libx.so");
    assert!(r.is_complete(), "{:?}", r.status);
    assert!(r.incomplete.is_empty(), "{:?}", r.incomplete);
    let b = object(&r, "b.o");
    assert_eq!(refs(&r, b, ".text.unused_two"), ["symbol unused_big"]);
    let part = object(&r, "part.o");
    assert!(
        part.sections
            .iter()
            .any(|s| r.str(s.name) == ".text.part_unused")
    );

    // The same objects under -flto: GCC's plugin takes them from us. Those
    // on the command line are read from their files; the archive member
    // it claimed is named nowhere, so the archive makes the record
    // incomplete.
    std::fs::remove_dir_all(f.state()).unwrap();
    link(&f, 1, &with("-flto", LIB));
    let r = f.record("libx.so");
    assert!(
        r.incomplete
            .iter()
            .any(|w| w.contains("libpart.a: archive with LTO IR members")),
        "{:?}",
        r.incomplete
    );
    std::fs::remove_dir_all(f.state()).unwrap();
    link(&f, 1, &with("-flto", LIB_OBJECTS));
    let r = f.record("libx.so");
    assert!(r.incomplete.is_empty(), "{:?}", r.incomplete);
    let b = object(&r, "b.o");
    assert_eq!(refs(&r, b, ".text.unused_two"), ["symbol unused_big"]);
    object(&r, "part.o");

    // Slim IR: nothing to read, whatever the link.
    std::fs::remove_dir_all(f.state()).unwrap();
    f.gcc(&["-O2", "-fPIC", "-flto", "-c", "a.c", "-o", "slim.o"]);
    link(
        &f,
        1,
        &[
            "-flto",
            "-shared",
            "-o",
            "libslim.so",
            "slim.o",
            "libpart.a",
        ],
    );
    let r = f.record("libslim.so");
    assert!(
        r.incomplete
            .iter()
            .any(|w| w.contains("slim.o") && w.contains("LTO IR")),
        "{:?}",
        r.incomplete
    );
}
both_linkers!(fat_objects_recorded_slim_incomplete, fat_objects_recorded);

/// Run-1 -fno-lto, merge, Run-2 -flto over the same fat objects: the
/// identities match, the unused exports are internalized by LTO and gone
/// with their code, the program behaves the same, verify is clean.
fn lto_run2(linker: Linker) {
    // Run-1 as the wrappers link (-fno-lto: the code of every object, the
    // archive member too), and as `ldprune flags` leaves it (-flto: GCC's
    // plugin claims the objects, Run-1 reads them from their files).
    lto_run2_after(linker, "-fno-lto", LIB);
    lto_run2_after(linker, "-flto", LIB_OBJECTS);
    lto_run2_after(linker, "-fno-lto", LIB_WEAK);
}

fn lto_run2_after(linker: Linker, run1: &str, lib: &[&str]) {
    let f = Fixture::new(linker);
    compile(&f);
    // What the build makes without ldprune: LTO, --gc-sections.
    f.run(
        Command::new("gcc")
            .arg(f.linker.flag())
            .args(["-O2", "-flto", "-Wl,--gc-sections"])
            .args(["-shared", "-o", "libref.so", "a.o", "b.o", "libpart.a"]),
    );
    let reference = exports(&f.path("libref.so"));
    for name in ["unused_big", "unused_two", "helper_used"] {
        assert!(reference.contains(&name.to_string()), "{reference:?}");
    }

    link(&f, 1, &with(run1, lib));
    link(&f, 1, &with(run1, EXE));
    assert!(f.record("libx.so").incomplete.is_empty());
    let before = f.run(&mut Command::new(f.path("prog"))).stdout;
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));

    // Run-2 with the build's own LTO; -save-temps keeps the resolution file.
    let out = f.run(
        Command::new("gcc")
            .arg(f.linker.flag())
            .arg("-Wl,--gc-sections")
            .arg(format!("-Wl,-plugin,{}", plugin().display()))
            .arg("-Wl,-plugin-opt=run=2")
            .arg(format!("-Wl,-plugin-opt=state={}", f.state().display()))
            .arg("-Wl,-plugin-opt=log=debug")
            .args(with("-flto", &[&["-save-temps"], lib].concat())),
    );
    // GCC's plugin, loaded first, took the fat objects: the first input
    // ldprune saw and claimed is crti.o.
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err
        .lines()
        .find(|l| l.contains("first object"))
        .unwrap_or("");
    assert!(first.contains("crti.o"), "{err}");
    link(&f, 2, &with("-flto", EXE));
    assert_eq!(
        apply_log(&f),
        "",
        "both -flto links found their Run-1 records"
    );

    let res = std::fs::read_to_string(f.path("libx.so.res")).unwrap();
    // gold resolves a name a plain object also defines as PREVAILING_DEF
    // whatever ldprune does (ld.bfd: PREVAILING_DEF_IRONLY): LTO keeps the
    // code, the output still hides the name.
    let weak_on_gold = lib == LIB_WEAK && linker == Linker::Gold;
    let internal: &[&str] = if weak_on_gold {
        &[]
    } else {
        &["unused_big", "unused_two", "part_unused", "helper_used"]
    };
    for name in internal {
        assert!(
            res.lines()
                .any(|l| l.ends_with(&format!(" PREVAILING_DEF_IRONLY {name}"))),
            "{name} not internal to the LTO unit:\n{res}"
        );
    }
    let after = exports(&f.path("libx.so"));
    let mut kept: Vec<&str> = after
        .iter()
        .map(String::as_str)
        .filter(|n| !ldprune::elf::is_linker_defined(n))
        .collect();
    kept.sort();
    assert_eq!(kept, ["api_hello", "api_used"]);
    let nm = symtab(&f.path("libx.so"));
    let gone: &[&str] = if weak_on_gold {
        &[]
    } else {
        &["unused_big", "unused_two", "part_unused"]
    };
    for name in gone {
        assert!(!nm.contains(name), "{name} still in libx.so:\n{nm}");
    }
    assert!(
        text_size(&f.path("libx.so")) < text_size(&f.path("libref.so")),
        "LTO + ldprune below LTO alone"
    );
    assert_eq!(f.run(&mut Command::new(f.path("prog"))).stdout, before);

    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
both_linkers!(lto_run2_internalizes_hidden_names, lto_run2);

/// A fat first object reaches ldprune only when no LTO plugin took it (a
/// -fno-lto link, -nostartfiles): claimed and applied like a plain one.
/// Under -flto GCC's plugin claims every input: logged, unchanged.
fn fat_first_object(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    let lib = [
        "-nostartfiles",
        "-shared",
        "-o",
        "libn.so",
        "a.o",
        "b.o",
        "libpart.a",
    ];
    link(&f, 1, &with("-fno-lto", &lib));
    let user = ["-o", "user", "p.o", "-L.", "-ln", "-Wl,-rpath,$ORIGIN"];
    link(&f, 1, &with("-fno-lto", &user));
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));

    link(&f, 2, &with("-fno-lto", &lib));
    assert_eq!(apply_log(&f), "");
    assert!(!exports(&f.path("libn.so")).contains(&"unused_two".to_string()));

    let out = link(&f, 2, &with("-flto", &lib));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no relocatable input reached"), "{err}");
    assert!(
        apply_log(&f).contains("libn.so") && apply_log(&f).contains("no relocatable input reached"),
        "{}",
        apply_log(&f)
    );
}
both_linkers!(fat_first_object_without_lto_plugin, fat_first_object);

/// clang -flto writes LLVM bitcode, which LLVMgold claims before ldprune
/// sees it. A program of bitcode (on the command line or in an archive)
/// is recorded incomplete, so the merge keeps everything it imports; a
/// library of bitcode keeps its exports. Run-2 then links and runs.
fn clang_bitcode(linker: Linker) {
    let f = Fixture::new(linker);
    compile(&f);
    f.run(Command::new("clang").args(["-O2", "-flto", "-c", "p.c", "-o", "pbc.o"]));
    f.run(Command::new("ar").args(["rcs", "libpbc.a", "pbc.o"]));
    f.write("bc.c", "int bc_only(int x) { return x + 1; }\n");
    f.run(Command::new("clang").args(["-O2", "-fPIC", "-flto", "-c", "bc.c", "-o", "bbc.o"]));
    let clang = |run: u32, args: &[&str]| {
        f.run(
            Command::new("clang")
                .arg(f.linker.flag())
                .arg("-Wl,--gc-sections")
                .arg(format!("-Wl,-plugin,{}", plugin().display()))
                .arg(format!("-Wl,-plugin-opt=run={run}"))
                .arg(format!("-Wl,-plugin-opt=state={}", f.state().display()))
                .arg("-flto")
                .args(args),
        )
    };
    let lib = [
        "-fno-lto",
        "-shared",
        "-o",
        "libx.so",
        "a.o",
        "b.o",
        "libpart.a",
    ];
    let progs: [&[&str]; 2] = [
        &["-o", "prog", "pbc.o", "-L.", "-lx", "-Wl,-rpath,$ORIGIN"],
        &[
            "-o",
            "prog2",
            "-Wl,-u,main",
            "libpbc.a",
            "-L.",
            "-lx",
            "-Wl,-rpath,$ORIGIN",
        ],
    ];
    let bclib = ["-shared", "-o", "libbc.so", "bbc.o"];
    for run in [1, 2] {
        link(&f, run, &lib);
        for p in progs {
            clang(run, p);
        }
        clang(run, &bclib);
        if run == 1 {
            for out in ["prog", "prog2"] {
                let r = f.record(out);
                assert!(
                    r.incomplete.iter().any(|w| w.contains("api_used")
                        || w.contains("api_hello")
                        || w.contains("LLVM bitcode")),
                    "{out}: {:?}",
                    r.incomplete
                );
            }
            let r = f.record("libbc.so");
            assert!(
                r.incomplete
                    .iter()
                    .any(|w| w.contains("bbc.o: LLVM bitcode")),
                "{:?}",
                r.incomplete
            );
            f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
        }
    }
    let kept = exports(&f.path("libx.so"));
    for name in ["api_used", "api_hello"] {
        assert!(kept.contains(&name.to_string()), "{kept:?}");
    }
    assert!(!kept.contains(&"unused_two".to_string()), "{kept:?}");
    assert!(exports(&f.path("libbc.so")).contains(&"bc_only".to_string()));
    for p in ["prog", "prog2"] {
        let out = f.run(&mut Command::new(f.path(p))).stdout;
        assert_eq!(String::from_utf8_lossy(&out), "hello\n12\n");
    }
    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
both_linkers!(clang_bitcode_recorded_incomplete, clang_bitcode);
