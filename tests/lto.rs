//! LTO through ldprune, on bfd and gold with GCC's LTO plugin. Both runs
//! compile fat objects (`-flto -ffat-lto-objects`); Run-1 links them with
//! `-fno-lto`, so the linker uses their machine code and the plugin records
//! it; Run-2 links them with `-flto`: GCC's plugin (loaded before ours)
//! claims them and adds its output at all_symbols_read. ldprune claims
//! nothing there (a claimed crti.o/Scrt1.o would be handed back beside
//! that output, before crtbeginS.o, reversing constructors and
//! destructors): ld.bfd takes the stub, gold stays unchanged, logged.

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
/// too (IR's prevails), so ld.bfd's stub may carry them all.
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
/// identities match. GCC's plugin adds its output at all_symbols_read,
/// where a claimed input would go too (see `lto_ctor_order`), so Run-2
/// claims nothing: ld.bfd takes the stub where every hidden name has a
/// plain definition on the command line or in a member of an archive with
/// IR (fat objects count: their machine code defines what LTO keeps), and
/// the names are hidden and, with
/// `-ffunction-sections` in the link (GCC 12 does not carry it from the
/// compiles into the LTO output), collected; LTO keeps them exported from
/// its unit (the stub comes after its resolutions). Every such link on
/// gold is left unchanged, logged, byte-identical to the plain LTO link.
/// The program behaves the same, verify is clean.
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
    let plain = |out: &str| {
        let args = lib.iter().map(|a| if *a == "libx.so" { out } else { a });
        f.run(
            Command::new("gcc")
                .arg(f.linker.flag())
                .args(["-O2", "-flto", "-ffunction-sections", "-Wl,--gc-sections"])
                .args(args),
        )
    };
    plain("libref.so");
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
            .args(with(
                "-flto",
                &[&["-ffunction-sections", "-save-temps"], lib].concat(),
            )),
    );
    // GCC's plugin, loaded first, took the fat objects: the first input
    // ldprune saw is crti.o, and it is not claimed.
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err
        .lines()
        .find(|l| l.contains("first object"))
        .unwrap_or("");
    assert!(first.contains("crti.o"), "{err}");
    link(&f, 2, &with("-flto", EXE));

    // ld.bfd takes the stub: every hidden name has a plain definition, on
    // the command line or (LIB) in a member of an archive with IR.
    let applied = linker == Linker::Bfd;
    let log = apply_log(&f);
    if !applied {
        assert!(
            log.lines().count() == 1 && log.contains("\tlibx.so\t") && log.contains("LTO output"),
            "{log}"
        );
        std::fs::rename(f.path("libx.so"), f.path("libx.so.run2")).unwrap();
        plain("libx.so");
        let same = std::fs::read(f.path("libx.so")).unwrap()
            == std::fs::read(f.path("libx.so.run2")).unwrap();
        assert!(same, "unchanged, but not as the plain LTO link");
        assert_eq!(f.run(&mut Command::new(f.path("prog"))).stdout, before);
        return;
    }
    assert_eq!(log, "", "both -flto links found their Run-1 records");
    let res = std::fs::read_to_string(f.path("libx.so.res")).unwrap();
    // The stub comes after GCC's plugin took its resolutions: the names
    // stay exported from the LTO unit (the output hides them).
    for name in ["unused_big", "unused_two", "helper_used"] {
        assert!(
            res.lines().any(|l| l.ends_with(&format!(" {name}"))
                && !l.contains(" PREVAILING_DEF_IRONLY ")),
            "{name}:\n{res}"
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
    for name in ["unused_big", "unused_two", "part_unused"] {
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
both_linkers!(lto_run2_stub_or_unchanged, lto_run2);

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

/// A C++ static object and constructor and destructor functions that use
/// it: the part [`CXX_LIB`] and [`CXX_PIE`] share.
macro_rules! static_and_destructor {
    () => {
        r#"
#include <cstdio>
struct Res {
    int live;
    Res() : live(1) { std::puts("static ctor"); }
    ~Res() { live = 0; std::puts("static dtor"); }
};
static Res res;
__attribute__((constructor)) static void user_ctor() { std::printf("user ctor sees %d\n", res.live); }
__attribute__((destructor)) static void user_dtor() { std::printf("user dtor sees %d\n", res.live); }
"#
    };
}

/// A C++ library whose destructor function uses a static object: its
/// C++ destructor runs from crtbeginS.o's `.fini_array` entry
/// (`__do_global_dtors_aux`, which calls `__cxa_finalize`), and
/// `.fini_array` runs backwards, so the user's destructor sees the object
/// alive only while crtbeginS.o's entry comes first.
const CXX_LIB: &str = concat!(
    static_and_destructor!(),
    r#"extern "C" int api_used(int x) { return x + res.live; }
extern "C" __attribute__((noinline)) int cx_unused(int x) { std::printf("unused %d\n", x); return x * 7; }
"#
);

const CXX_USER: &str = r#"
#include <stdio.h>
extern "C" int api_used(int);
int main(void) { printf("main %d\n", api_used(1)); return 0; }
"#;

/// The same in a program exporting a name (`-rdynamic`) nothing imports.
const CXX_PIE: &str = concat!(
    static_and_destructor!(),
    r#"extern "C" __attribute__((noinline)) int pie_unused(int x) { std::printf("unused %d\n", x); return x * 7; }
int main() { std::printf("main %d\n", res.live); return 0; }
"#
);

/// The functions `.init_array` and `.fini_array` of `path` point at, in
/// their order (an entry no function symbol names is its address).
fn ctor_arrays(path: &Path) -> [Vec<String>; 2] {
    use object::{Object, ObjectSection, ObjectSymbol};
    let bytes = std::fs::read(path).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let names: std::collections::HashMap<u64, String> = elf
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text)
        .filter_map(|s| Some((s.address(), s.name().ok()?.to_string())))
        .collect();
    [".init_array", ".fini_array"].map(|name| {
        let data = elf.section_by_name(name).unwrap().data().unwrap().to_vec();
        data.chunks_exact(8)
            .map(|c| {
                let at = u64::from_le_bytes(c.try_into().unwrap());
                names.get(&at).cloned().unwrap_or(format!("{at:#x}"))
            })
            .collect()
    })
}

/// Run-2 with GCC's LTO keeps the constructor and destructor order of a
/// plain LTO link. GCC's plugin adds its output at all_symbols_read, and
/// both linkers put a claimed input handed back there with it: claiming
/// crti.o/Scrt1.o put the LTO output before crtbeginS.o (`.fini_array`
/// [user_dtor, __do_global_dtors_aux]), and the library's static was
/// destroyed before its destructor function used it. ld.bfd takes the stub
/// (nothing claimed: it goes after the LTO output) and hides the name;
/// gold has no safe place and leaves the link unchanged, logged. The
/// program (`--hide-executable-exports`) hides linker-defined names too
/// (`_end` and the like), which no object defines, so it takes no stub
/// and stays unchanged on both.
fn lto_ctor_order(linker: Linker) {
    let f = Fixture::new(linker);
    for (name, text) in [("cx.cpp", CXX_LIB), ("u.c", CXX_USER), ("pie.cpp", CXX_PIE)] {
        f.write(name, text);
        let mut args = FAT.to_vec();
        args.push(name);
        f.gxx(&args);
    }
    let lib = ["-shared", "-o", "libcx.so", "cx.o"];
    let user = ["-o", "user", "u.o", "-L.", "-lcx", "-Wl,-rpath,$ORIGIN"];
    let pie = ["-rdynamic", "-o", "pie", "pie.o"];
    // The plain LTO links, without the plugin.
    let plain = |args: &[&str], out: &str| {
        let mut a = with("-flto", &["-Wl,--gc-sections"]);
        a.extend_from_slice(args);
        let o = a.iter().position(|x| *x == "-o").unwrap() + 1;
        a[o] = out;
        f.run(Command::new("g++").arg(f.linker.flag()).args(&a));
    };
    plain(&lib, "libref.so");
    plain(&pie, "pieref");
    let ref_arrays = ctor_arrays(&f.path("libref.so"));
    assert_eq!(ref_arrays[1][0], "__do_global_dtors_aux", "{ref_arrays:?}");

    for args in [&lib[..], &user[..], &pie[..]] {
        f.link_in_run(
            1,
            "g++",
            &with("-fno-lto", &[&["-Wl,--gc-sections"], args].concat()),
        );
    }
    let ran = |exe: &str| String::from_utf8(f.run_program(exe).stdout).unwrap();
    assert!(ran("user").contains("user dtor sees 1\nstatic dtor"));
    f.run(
        ldprune()
            .args(["merge", "--hide-executable-exports", "--state"])
            .arg(f.state()),
    );
    for args in [&lib[..], &pie[..]] {
        f.link_in_run(
            2,
            "g++",
            &with("-flto", &[&["-Wl,--gc-sections"], args].concat()),
        );
    }

    assert_eq!(ctor_arrays(&f.path("libcx.so")), ref_arrays);
    assert_eq!(ctor_arrays(&f.path("pie")), ctor_arrays(&f.path("pieref")));
    // The program with the Run-2 library prints what it prints with the
    // plain LTO library: the destructor function before the static's.
    let with_run2 = ran("user");
    std::fs::copy(f.path("libref.so"), f.path("libcx.so.run2")).unwrap();
    std::fs::rename(f.path("libcx.so"), f.path("libcx.so.kept")).unwrap();
    std::fs::rename(f.path("libcx.so.run2"), f.path("libcx.so")).unwrap();
    let with_plain = ran("user");
    std::fs::rename(f.path("libcx.so.kept"), f.path("libcx.so")).unwrap();
    assert_eq!(with_run2, with_plain);
    assert!(
        with_run2.contains("user dtor sees 1\nstatic dtor"),
        "{with_run2}"
    );
    assert_eq!(ran("pie"), ran("pieref"));

    let log = apply_log(&f);
    let lto_first = |out: &str| {
        log.lines()
            .any(|l| l.contains(&format!("\t{out}\t")) && l.contains("LTO output"))
    };
    let lib_exports = exports(&f.path("libcx.so"));
    match linker {
        Linker::Bfd => {
            assert!(!lto_first("libcx.so"), "{log}");
            assert!(lib_exports.contains(&"api_used".to_string()));
            assert!(
                !lib_exports.contains(&"cx_unused".to_string()),
                "{lib_exports:?}"
            );
        }
        Linker::Gold => {
            assert!(lto_first("libcx.so"), "{log}");
            assert!(lib_exports.contains(&"cx_unused".to_string()));
            // Byte-identical to the plain link of the same name (the
            // output's name is its base version's).
            std::fs::rename(f.path("libcx.so"), f.path("libcx.so.run2")).unwrap();
            plain(&lib, "libcx.so");
            let same = std::fs::read(f.path("libcx.so")).unwrap()
                == std::fs::read(f.path("libcx.so.run2")).unwrap();
            assert!(same, "gold: Run-2 differs from the plain LTO link");
        }
    }
    assert!(lto_first("pie"), "{log}");
    assert!(exports(&f.path("pie")).contains(&"pie_unused".to_string()));
}
both_linkers!(lto_keeps_constructor_order, lto_ctor_order);

/// IR the command line does not show: an archive of fat objects named by a
/// linker script (`-lwrap`, `libwrap.so` = `INPUT ( libir.a )`; `-linc`,
/// a script that INCLUDEs that one; `-lup`, `INPUT ( IR )`, a file named
/// in capitals; `-Bstatic st.ld` or `-Bstatic -lsw2`, `INPUT ( -lir )`,
/// where libir.so is there too; `-lir` where an earlier `-L` directory has another target's
/// libir.so and libir.a; a script in the `--sysroot` naming an absolute
/// path, which both linkers take in the sysroot) and a thin archive. GCC's plugin claims their members all
/// the same, so a claim would reorder the constructors: Run-2 follows the
/// scripts (ld.bfd's stub carries the archive members' names; gold stays
/// unchanged) and takes a thin archive, whose members it does not read, as
/// IR (unchanged on both). Before, both links claimed crti.o and the
/// `.fini_array` came out reversed (INCLUDE, `IR`, a script's `-l` under
/// `-Bstatic`, another target's library and the sysroot until
/// 2026-11-30).
fn lto_ir_behind(linker: Linker) {
    // Each in its own state: two libraries defining the same names keep
    // them (either could serve a program).
    let cases: [(&str, &[&str]); 8] = [
        ("libs.so", &["plain.o", "-L.", "-lwrap"]),
        ("libt.so", &["plain.o", "libthin.a"]),
        ("libi.so", &["plain.o", "-L.", "-linc"]),
        ("libu.so", &["plain.o", "-L.", "-lup"]),
        // The script's -lir under -Bstatic: libir.a, though libir.so is
        // beside it.
        (
            "libb.so",
            &["plain.o", "-L.", "-Wl,-Bstatic", "st.ld", "-Wl,-Bdynamic"],
        ),
        // The same in a script -l finds under -Bstatic (libsw2.a).
        (
            "libd.so",
            &["plain.o", "-L.", "-Wl,-Bstatic", "-lsw2", "-Wl,-Bdynamic"],
        ),
        // -lir in `other` is another target's (.so and .a): both linkers
        // skip both ("skipping incompatible") and take ./libir.a.
        ("libk.so", &["plain.o", "-Lother", "-L.", "-lir"]),
        // A script in the sysroot names /ABS/host/libx.a: the linkers read
        // sr/ABS/host/libx.a (IR), not the plain archive of that name.
        (
            "libr.so",
            &["plain.o", "-Wl,--sysroot=sr", "-Lsr/lib", "-lsw"],
        ),
    ];
    for (out, inputs) in cases {
        // gold crashes on INCLUDE in an input script, plugin or not.
        if out == "libi.so" && linker == Linker::Gold {
            continue;
        }
        let f = Fixture::new(linker);
        f.write("cx.cpp", CXX_LIB);
        let mut args = FAT.to_vec();
        args.push("cx.cpp");
        f.gxx(&args);
        f.write(
            "plain.c",
            "int api_used(int);\nint plain_entry(int x) { return api_used(x); }\n",
        );
        f.gcc(&["-O2", "-fPIC", "-c", "plain.c"]);
        f.write(
            "main.c",
            "int plain_entry(int);\nint main(void) { return plain_entry(1) == 2 ? 0 : 1; }\n",
        );
        f.gcc(&["-O2", "-c", "main.c"]);
        f.run(Command::new("ar").args(["rcs", "libir.a", "cx.o"]));
        f.run(Command::new("ar").args(["rcsT", "libthin.a", "cx.o"]));
        f.write("libwrap.so", "INPUT ( libir.a )\n");
        f.write("libinc.so", "INCLUDE inner.ld\n");
        f.write("inner.ld", "/* the archive */ INPUT ( libir.a )\n");
        f.write("libup.so", "INPUT ( IR )\n");
        std::fs::copy(f.path("libir.a"), f.path("IR")).unwrap();
        f.write("st.ld", "INPUT ( -lir )\n");
        f.write("other.c", "int api_used(int x) { return x + 100; }\n");
        f.write("libsw2.a", "INPUT ( -lir )\n");
        if out == "libb.so" || out == "libd.so" {
            f.gcc(&["-fPIC", "-shared", "-o", "libir.so", "other.c"]);
        }
        if out == "libr.so" {
            let host = f.path("host");
            let in_root = f.path(&format!("sr{}", host.display()));
            std::fs::create_dir_all(&in_root).unwrap();
            std::fs::create_dir_all(f.path("sr/lib")).unwrap();
            std::fs::create_dir_all(&host).unwrap();
            std::fs::copy(f.path("libir.a"), in_root.join("libx.a")).unwrap();
            f.gcc(&["-fPIC", "-c", "other.c", "-o", "host/other.o"]);
            f.run(Command::new("ar").args(["rcs", "host/libx.a", "host/other.o"]));
            let script = format!("INPUT ( {}/libx.a )\n", host.display());
            f.write("sr/lib/libsw.so", &script);
        }
        if out == "libk.so" {
            // i386 (gold reads no AArch64): the compiler and ld.bfd make
            // it without multilib's libraries.
            std::fs::create_dir(f.path("other")).unwrap();
            f.gcc(&["-m32", "-fPIC", "-c", "other.c", "-o", "other/o.o"]);
            let so = [
                "-m",
                "elf_i386",
                "-shared",
                "-o",
                "other/libir.so",
                "other/o.o",
            ];
            f.run(Command::new("ld.bfd").args(so));
            f.run(Command::new("ar").args(["rcs", "other/libir.a", "other/o.o"]));
        }
        let lib: Vec<&str> = [&["-shared", "-o", out][..], inputs].concat();
        let link = |run: u32, lto: &str, args: &[&str]| {
            f.link_in_run(
                run,
                "g++",
                &with(lto, &[&["-Wl,--gc-sections"], args].concat()),
            );
        };
        // The plain LTO link, without the plugin.
        let mut plain = with("-flto", &["-Wl,--gc-sections"]);
        plain.extend_from_slice(&lib);
        let o = plain.iter().position(|a| *a == "-o").unwrap() + 1;
        plain[o] = "ref.so";
        f.run(Command::new("g++").arg(f.linker.flag()).args(&plain));
        let reference = ctor_arrays(&f.path("ref.so"));
        assert_eq!(reference[1][0], "__do_global_dtors_aux", "{reference:?}");

        link(1, "-fno-lto", &lib);
        let name = format!("-l{}", &out[3..out.len() - 3]);
        link(
            1,
            "-fno-lto",
            &["-o", "p", "main.o", "-L.", &name, "-Wl,-rpath,$ORIGIN"],
        );
        f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
        assert!(
            f.explain("cx_unused").contains("HIDDEN"),
            "{out}: the merge hides cx_unused"
        );
        link(2, "-flto", &lib);
        assert_eq!(ctor_arrays(&f.path(out)), reference, "{out}");
        assert!(f.run_program("p").status.success());

        let log = apply_log(&f);
        let unchanged = log.contains("LTO output");
        let names = exports(&f.path(out));
        if out != "libt.so" && linker == Linker::Bfd {
            // The script followed: the archive's members tell the stub.
            assert!(!unchanged, "{log}");
            assert!(!names.contains(&"cx_unused".to_string()), "{names:?}");
        } else {
            assert!(unchanged, "{out}: {log}");
            assert!(names.contains(&"cx_unused".to_string()), "{names:?}");
        }
    }
}
both_linkers!(lto_ir_behind_scripts_and_thin_archives, lto_ir_behind);

/// libt.so from `t_source` (which defines t_used) and a program tu using
/// t_used, compiled fat and linked in Run-1 without LTO, then merged: the
/// library's Run-2 hides what else it defines. Gives the library's link
/// arguments.
fn fat_lib_merged(f: &Fixture, t_source: &str) -> [&'static str; 4] {
    f.write("t.c", t_source);
    f.write(
        "tu.c",
        "int t_used(void);\nint main(void) { return t_used() - 1; }\n",
    );
    for name in ["t.c", "tu.c"] {
        let mut args = FAT.to_vec();
        args.push(name);
        f.gcc(&args);
    }
    let lib = ["-shared", "-o", "libt.so", "t.o"];
    let user = ["-o", "tu", "tu.o", "-L.", "-lt", "-Wl,-rpath,$ORIGIN"];
    link(f, 1, &with("-fno-lto", &lib));
    link(f, 1, &with("-fno-lto", &user));
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
    lib
}

/// An LTO link whose hidden names ld.bfd's stub cannot carry (a
/// thread-local one: ld.bfd refuses the stub's untyped reference to it)
/// has no safe way left, since a claim would reorder it: unchanged,
/// logged, byte-identical to the plain LTO link, on both linkers.
fn lto_no_stub(linker: Linker) {
    let f = Fixture::new(linker);
    let lib = fat_lib_merged(
        &f,
        "__thread int tls_unused;\nint t_used(void) { return 1; }\nint t_unused(void) { return 2; }\n",
    );
    link(&f, 2, &with("-flto", &lib));
    let log = apply_log(&f);
    assert!(
        log.contains("\tlibt.so\t") && log.contains("LTO output"),
        "{log}"
    );
    let kept = exports(&f.path("libt.so"));
    assert!(kept.contains(&"tls_unused".to_string()), "{kept:?}");
    assert_plain_lto_link(&f, &lib);
}
both_linkers!(lto_without_a_stub_unchanged, lto_no_stub);

/// The Run-2 libt.so is byte for byte what the plain LTO link of `lib`
/// gives (it was left unchanged).
fn assert_plain_lto_link(f: &Fixture, lib: &[&str]) {
    std::fs::rename(f.path("libt.so"), f.path("libt.so.run2")).unwrap();
    f.run(
        Command::new("gcc")
            .arg(f.linker.flag())
            .args(with("-flto", &[&["-Wl,--gc-sections"], lib].concat())),
    );
    let same =
        std::fs::read(f.path("libt.so")).unwrap() == std::fs::read(f.path("libt.so.run2")).unwrap();
    assert!(same, "unchanged, but not as the plain LTO link");
}

/// ld.bfd's stub is the only way in an LTO link: where it cannot be
/// written (DIR/tmp read-only), the link stays unchanged, byte-identical
/// to the plain LTO link, and the warning and apply.log say why (not "LTO
/// output", a reason that is no fault); `strict` fails the link, as for
/// any Run-2 result the state directory cannot take. Before, the stub's
/// failure was a debug line and `strict` linked unchanged, exit 0.
#[test]
fn lto_stub_unwritable_is_a_fault() {
    let f = Fixture::new(Linker::Bfd);
    let lib = fat_lib_merged(
        &f,
        "int t_used(void) { return 1; }\nint t_unused(void) { return 2; }\n",
    );
    let _ro = common::Tmpfs::mount(f.state().join("tmp"), "ro,size=64k");
    let run2 = |strict: bool| {
        let mut c = Command::new("gcc");
        c.current_dir(f.dir.path())
            .args(f.plugin_args().iter().map(|a| a.replace("run=1", "run=2")))
            .args(with("-flto", &[&["-Wl,--gc-sections"], &lib[..]].concat()));
        if strict {
            c.arg("-Wl,-plugin-opt=strict");
        }
        common::output_of(&mut c)
    };
    let strict = run2(true);
    let said = String::from_utf8_lossy(&strict.stderr).into_owned();
    assert!(!strict.status.success(), "strict linked: {said}");
    assert!(said.contains("stub"), "{said}");
    let loose = run2(false);
    let said = String::from_utf8_lossy(&loose.stderr).into_owned();
    assert!(loose.status.success(), "{said}");
    assert!(said.contains("cannot write the stub"), "{said}");
    assert!(apply_log(&f).contains("cannot write the stub"));
    assert_plain_lto_link(&f, &lib);
}

/// Run-1 of an LTO link whose IR the command line does not show (an
/// archive behind a linker script, a thin archive, `-l:ir.o`, an archive
/// only ld.bfd's own search directories hold; GCC's IR
/// or clang's bitcode): the LTO plugin claims
/// those members unseen, so the record must say it is incomplete. Their
/// code imports `ext_fn` from libext.so, which the recorded objects
/// reference only from code Run-2 drops (an export nothing imports): a
/// record that looked complete let the merge hide `ext_fn`, and the
/// program failed to load ("undefined symbol: ext_fn") once libext.so was
/// relinked in Run-2.
fn lto_run1_ir_unseen(linker: Linker) {
    // The last: -lsysir in ld.bfd's own directories, here in a --sysroot
    // (gold does not search there).
    let libs = [
        &["-L.", "-lwrap"][..],
        &["libthin.a"][..],
        &["-L.", "-l:ir.o"][..],
        &["-Wl,--sysroot=sr", "-lsysir"][..],
    ];
    // GCC's IR, and clang's bitcode (LLVMgold claims it).
    for (cc, lib) in libs
        .iter()
        .map(|l| ("gcc", l))
        .chain(libs.iter().map(|l| ("clang", l)))
    {
        if lib.contains(&"-lsysir") && linker == Linker::Gold {
            continue;
        }
        let f = Fixture::new(linker);
        f.write("ext.c", "int ext_fn(int x) { return x * 2; }\n");
        f.write(
            "ir.c",
            "int ext_fn(int);\nint api_used(int x) { return ext_fn(x) + 1; }\n",
        );
        f.write(
            "plain.c",
            "int ext_fn(int); int api_used(int);\n\
             int plain_entry(int x) { return api_used(x); }\n\
             int dead_fn(int x) { return ext_fn(x) + 7; }\n",
        );
        f.write(
            "main.c",
            "int plain_entry(int);\nint main(void) { return plain_entry(1) == 3 ? 0 : 1; }\n",
        );
        let flags = [
            "-O2",
            "-fPIC",
            "-ffunction-sections",
            "-fdata-sections",
            "-c",
        ];
        f.gcc(&[&flags[..], &["ext.c", "plain.c", "main.c"]].concat());
        f.run(Command::new(cc).args(flags).args(["-flto", "ir.c"]));
        f.run(Command::new("ar").args(["rcs", "libir.a", "ir.o"]));
        f.run(Command::new("ar").args(["rcsT", "libthin.a", "ir.o"]));
        f.write("libwrap.so", "INPUT ( libir.a )\n");
        std::fs::create_dir_all(f.path("sr/usr/local/lib")).unwrap();
        std::fs::copy(f.path("libir.a"), f.path("sr/usr/local/lib/libsysir.a")).unwrap();
        let ext = ["-shared", "-o", "libext.so", "ext.o"];
        link(&f, 1, &ext);
        let mut s = vec!["-Wl,--gc-sections", "-flto", "-shared", "-o", "libs.so"];
        s.push("plain.o");
        s.extend_from_slice(lib);
        s.extend(["-L.", "-lext", "-Wl,-rpath,$ORIGIN"]);
        f.link_in_run(1, cc, &s);
        let prog = [
            "-o",
            "prog",
            "main.o",
            "-L.",
            "-ls",
            "-lext",
            "-Wl,-rpath,$ORIGIN",
        ];
        link(&f, 1, &prog);
        assert!(f.run_program("prog").status.success());
        let record = f.record("libs.so");
        assert!(!record.incomplete.is_empty(), "{cc} {lib:?}: complete");
        f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
        assert!(!f.explain("ext_fn").contains("HIDDEN"), "{cc} {lib:?}");
        link(&f, 2, &ext);
        let ran = f.run_program("prog");
        assert!(ran.status.success(), "{cc} {lib:?}: {ran:?}");
    }
}
both_linkers!(lto_run1_ir_unseen_incomplete, lto_run1_ir_unseen);
