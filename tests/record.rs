//! Run-1 records of real links: C and C++ fixtures built with the system gcc
//! and linked through the plugin by ld.bfd and by gold. Every link here is
//! also linked without the plugin and must be byte-identical.

mod common;

use common::{Fixture, Linker, exports, imports, object, refs, symbol, symbol_section};
use ldprune::elf::types::{Binding, SymbolPlace, SymbolType};
use ldprune::identity::OutputKind;
use ldprune::state::record::LinkStatus;

fn two_shared_libraries(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "two.c",
        "int two_used(int x) { return x * 3; }\nint two_unused(void) { return 9; }\n",
    )
    .write(
        "one.c",
        "#include <dlfcn.h>\nint two_used(int);\n\
         int one_used(int x) { return two_used(x) + 1; }\n\
         int one_unused(void) { return 7; }\n\
         void *one_lookup(void *h) { return dlsym(h, \"plugin_entry\"); }\n\
         const char *one_plugin_name(void) { return \"libplug.so\"; }\n",
    )
    .write(
        "main.c",
        "#include <stdio.h>\nint one_used(int); int two_used(int);\n\
         int main(void) { printf(\"%d\\n\", one_used(2)); return two_used(1) == 3 ? 0 : 1; }\n",
    );
    f.compile("two.c", &[]);
    f.compile("one.c", &[]);
    f.compile("main.c", &[]);
    f.link_identical(&["-shared", "-o", "libtwo.so", "two.o"]);
    f.link_identical(&["-shared", "-o", "libone.so", "one.o", "-L.", "-ltwo"]);
    f.link_identical(&[
        "-o",
        "prog",
        "main.o",
        "-L.",
        "-lone",
        "-ltwo",
        "-Wl,-rpath,$ORIGIN",
    ]);
    let out = f.run(&mut std::process::Command::new(f.path("prog")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "7\n");

    let one = f.record("libone.so");
    assert_eq!(one.status, LinkStatus::Complete);
    assert!(one.incomplete.is_empty(), "{:?}", one.incomplete);
    assert_eq!(one.kind, OutputKind::Dyn);
    let o = object(&one, "one.o");
    assert_eq!(refs(&one, o, ".text.one_used"), vec!["symbol two_used"]);
    assert_eq!(symbol_section(&one, o, "one_unused"), ".text.one_unused");
    let ex = exports(&one);
    for name in ["one_used", "one_unused", "one_lookup", "one_plugin_name"] {
        assert!(
            ex.contains(&name.to_string()),
            "{name} not in exports {ex:?}"
        );
    }
    assert!(imports(&one).contains(&"two_used".to_string()));
    assert!(imports(&one).contains(&"dlsym".to_string()));
    assert!(
        one.needed.iter().any(|n| n == "libtwo.so"),
        "{:?}",
        one.needed
    );
    assert!(one.shared_inputs.iter().any(|s| s.ends_with("libtwo.so")));
    let strings: Vec<&str> = one.cstrings.iter().map(|&c| one.str(c)).collect();
    assert!(
        strings.contains(&"plugin_entry") && strings.contains(&"libplug.so"),
        "{strings:?}"
    );
    // crt files are recorded like any other input
    assert!(one.objects.iter().any(|o| o.path.ends_with("crti.o")));

    let prog = f.record("prog");
    assert_eq!(prog.kind, OutputKind::Pie);
    let m = object(&prog, "main.o");
    let main_refs = refs(&prog, m, ".text.main");
    assert!(
        main_refs.contains(&"symbol one_used".to_string()),
        "{main_refs:?}"
    );
    assert!(
        main_refs.contains(&"symbol two_used".to_string()),
        "{main_refs:?}"
    );
    let im = imports(&prog);
    assert!(
        im.contains(&"one_used".into()) && im.contains(&"two_used".into()),
        "{im:?}"
    );
    assert!(
        prog.imports
            .iter()
            .any(|d| d.name == "printf" && d.version.as_deref() == Some("GLIBC_2.2.5"))
    );
    assert_eq!(
        prog.needed[..2],
        ["libone.so".to_string(), "libtwo.so".to_string()]
    );
    assert_eq!(f.records().len(), 3);
}
both_linkers!(executable_with_two_shared_libraries, two_shared_libraries);

fn archive_members(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("used.c", "int arch_used(void) { return 1; }\n")
        .write("unused.c", "int arch_unused(void) { return 2; }\n")
        .write(
            "a_very_long_member_name.c",
            "int arch_long(void) { return 3; }\n",
        )
        .write("thin.c", "int thin_fn(void) { return 4; }\n")
        .write(
            "main.c",
            "int arch_used(void); int arch_long(void); int thin_fn(void);\n\
             int main(void) { return arch_used() + arch_long() + thin_fn() - 8; }\n",
        );
    for s in [
        "used.c",
        "unused.c",
        "a_very_long_member_name.c",
        "thin.c",
        "main.c",
    ] {
        f.compile(s, &[]);
    }
    f.run(std::process::Command::new("ar").args([
        "rc",
        "libx.a",
        "used.o",
        "unused.o",
        "a_very_long_member_name.o",
    ]));
    f.run(std::process::Command::new("ar").args(["rcT", "libthin.a", "thin.o"]));
    f.link_identical(&["-o", "prog", "main.o", "libx.a", "libthin.a"]);
    let r = f.record("prog");
    let used = object(&r, "used.o");
    assert!(
        used.path.ends_with("libx.a") && used.offset > 0,
        "{} {}",
        used.path,
        used.offset
    );
    let long = object(&r, "a_very_long_member_name.o");
    assert!(long.path.ends_with("libx.a"));
    assert!(
        !r.objects
            .iter()
            .any(|o| o.member.as_deref() == Some("unused.o"))
    );
    let thin = object(&r, "thin.o");
    assert!(thin.path.ends_with("thin.o"));
    assert_eq!(symbol_section(&r, thin, "thin_fn"), ".text.thin_fn");

    // --whole-archive: every member once, the archive itself not as an object.
    f.link_identical(&[
        "-shared",
        "-o",
        "libw.so",
        "-Wl,--whole-archive",
        "libx.a",
        "-Wl,--no-whole-archive",
    ]);
    let w = f.record("libw.so");
    for m in ["used.o", "unused.o", "a_very_long_member_name.o"] {
        object(&w, m);
    }
    assert!(
        !w.objects
            .iter()
            .any(|o| o.path.ends_with("libx.a") && o.member.is_none())
    );
    let ex = exports(&w);
    assert!(ex.contains(&"arch_unused".to_string()), "{ex:?}");
}
both_linkers!(archive_thin_archive_and_whole_archive, archive_members);

fn versioned_symbols(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "ver.c",
        "__asm__(\".symver foo_old, foo@V1\");\n__asm__(\".symver foo_new, foo@@V2\");\n\
         int foo_old(void) { return 1; }\nint foo_new(void) { return 2; }\n\
         int bar(void) { return 3; }\n",
    )
    .write(
        "ver.map",
        "V1 { global: bar; foo; local: *; };\nV2 { } V1;\n",
    )
    .write(
        "use.c",
        "int foo(void); int bar(void);\nint main(void) { return foo() + bar() - 5; }\n",
    );
    f.compile("ver.c", &[]);
    f.compile("use.c", &[]);
    f.link_identical(&[
        "-shared",
        "-o",
        "libver.so",
        "ver.o",
        "-Wl,--version-script=ver.map",
    ]);
    f.link_identical(&[
        "-o",
        "usever",
        "use.o",
        "-L.",
        "-lver",
        "-Wl,-rpath,$ORIGIN",
    ]);
    f.run(&mut std::process::Command::new(f.path("usever")));
    let r = f.record("libver.so");
    let mut ex = exports(&r);
    ex.retain(|n| !n.starts_with('_'));
    ex.sort();
    assert_eq!(ex, vec!["bar@@V1", "foo@@V2", "foo@V1"]);
    let o = object(&r, "ver.o");
    assert_eq!(symbol_section(&r, o, "foo@V1"), ".text.foo_old");
    assert_eq!(symbol_section(&r, o, "foo@@V2"), ".text.foo_new");
    let u = f.record("usever");
    let import = u.imports.iter().find(|d| d.name == "foo").unwrap();
    assert_eq!(import.version.as_deref(), Some("V2"));
    assert_eq!(import.version_file.as_deref(), Some("libver.so"));
    // The nodes as wholes (rpm's Provides and Requires), and the class.
    assert_eq!(r.version_defs, vec!["V1", "V2"]);
    assert_eq!(r.abi.class, 2, "ELFCLASS64");
    let needs: Vec<(&str, &str)> = u
        .version_needs
        .iter()
        .filter(|n| n.file == "libver.so")
        .map(|n| (n.file.as_str(), n.version.as_str()))
        .collect();
    assert_eq!(needs, vec![("libver.so", "V1"), ("libver.so", "V2")]);
}
both_linkers!(version_script_and_symbol_versions, versioned_symbols);

fn cxx_comdat(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "tpl.cc",
        "template <typename T> T twice(T x) { return x + x; }\n\
         inline int inl(int x) { return x * 7; }\n\
         int api(int x) { return twice(x) + inl(x) + twice<long>(x); }\n",
    );
    f.gxx(&["-O0", "-fPIC", "-ffunction-sections", "-c", "tpl.cc"]);
    f.link_identical_with("g++", &["-shared", "-o", "libtpl.so", "tpl.o"]);
    let r = f.record("libtpl.so");
    let o = object(&r, "tpl.o");
    let sec = o
        .sections
        .iter()
        .find(|s| r.str(s.name) == ".text._Z5twiceIiET_S0_")
        .expect("template instance section");
    assert_eq!(sec.group.map(|g| r.str(g)), Some("_Z5twiceIiET_S0_"));
    assert_eq!(symbol(&r, o, "_Z3inli").binding, Binding::Weak);
    let api_refs = refs(&r, o, ".text._Z3apii");
    for s in [
        "symbol _Z5twiceIiET_S0_",
        "symbol _Z3inli",
        "symbol _Z5twiceIlET_S0_",
    ] {
        assert!(api_refs.contains(&s.to_string()), "{api_refs:?}");
    }
}
both_linkers!(cxx_inline_and_templates_comdat, cxx_comdat);

fn symbol_kinds(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "kinds.c",
        "__thread int tls_counter;\n\
         int bump(void) { return ++tls_counter; }\n\
         int common_var;\n\
         __attribute__((weak)) int weak_fn(void) { return 1; }\n\
         extern int maybe(void) __attribute__((weak));\n\
         int call_maybe(void) { return maybe ? maybe() : 0; }\n\
         static int impl(void) { return 42; }\n\
         static int (*resolve(void))(void) { return impl; }\n\
         int fancy(void) __attribute__((ifunc(\"resolve\")));\n\
         int use_common(void) { return common_var; }\n",
    );
    f.compile("kinds.c", &["-fcommon"]);
    f.link_identical(&["-shared", "-o", "libkinds.so", "kinds.o"]);
    let r = f.record("libkinds.so");
    let o = object(&r, "kinds.o");
    assert_eq!(symbol(&r, o, "tls_counter").kind, SymbolType::Tls);
    assert_eq!(symbol(&r, o, "common_var").place, SymbolPlace::Common);
    assert_eq!(symbol(&r, o, "weak_fn").binding, Binding::Weak);
    let maybe = symbol(&r, o, "maybe");
    assert_eq!(
        (maybe.binding, maybe.place),
        (Binding::Weak, SymbolPlace::Undefined)
    );
    assert_eq!(symbol(&r, o, "fancy").kind, SymbolType::Ifunc);
    assert!(refs(&r, o, ".text.bump").contains(&"symbol tls_counter".to_string()));
    let tls = r.exports.iter().find(|d| d.name == "tls_counter").unwrap();
    assert_eq!(tls.kind, SymbolType::Tls);
    assert!(
        r.exports
            .iter()
            .any(|d| d.name == "fancy" && d.kind == SymbolType::Ifunc)
    );
}
both_linkers!(tls_weak_common_and_ifunc, symbol_kinds);

fn failing_link(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "bad.c",
        "int missing(void);\nint main(void) { return missing(); }\n",
    );
    f.compile("bad.c", &[]);
    let out = std::process::Command::new("gcc")
        .args(f.plugin_args())
        .args(["-o", "bad", "bad.o"])
        .current_dir(f.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing"), "{stderr}");
    assert!(
        !stderr.contains("ldprune"),
        "the plugin must not add noise: {stderr}"
    );
    // bfd leaves an invalid file at cleanup; gold a valid-looking one that it
    // deletes afterwards. Both must end up recorded as failed.
    let records = f.records();
    assert_eq!(records.len(), 1);
    assert!(
        matches!(&records[0].status, LinkStatus::Failed { reason } if reason.contains("link failed")),
        "{:?}",
        records[0].status
    );
}
both_linkers!(failed_link_is_never_a_good_record, failing_link);

fn lto_object(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("l.c", "int lto_fn(int x) { return x + 1; }\n")
        .write(
            "m.c",
            "int lto_fn(int);\nint main(void) { return lto_fn(-1); }\n",
        );
    f.compile("l.c", &["-flto"]);
    f.compile("m.c", &[]);
    f.link(&["-flto", "-o", "prog", "m.o", "l.o"]);
    let r = f.record("prog");
    assert!(r.is_complete());
    assert!(
        r.incomplete
            .iter()
            .any(|w| w.contains("l.o") && w.contains("LTO")),
        "{:?}",
        r.incomplete
    );
    assert!(!r.objects.iter().any(|o| o.path.ends_with("l.o")));
}
both_linkers!(lto_input_marks_record_incomplete, lto_object);

fn output_kinds(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("a.c", "int fa(void) { return 1; }\n").write(
        "b.c",
        "int fa(void);\nint main(void) { return fa() - 1; }\n",
    );
    f.compile("a.c", &[]);
    f.compile("b.c", &[]);
    f.link_identical(&["-r", "-o", "ab.o", "a.o", "b.o"]);
    f.link_identical(&["-no-pie", "-o", "exe", "ab.o"]);
    f.link_identical(&["-pie", "-o", "pie", "a.o", "b.o"]);
    let rel = f.record("ab.o");
    assert_eq!(rel.kind, OutputKind::Rel);
    assert!(rel.is_complete());
    assert!(rel.exports.is_empty());
    assert_eq!(f.record("exe").kind, OutputKind::Exec);
    assert_eq!(f.record("pie").kind, OutputKind::Pie);
    // The -r output is an input like any other object.
    let exe = f.record("exe");
    let ab = object(&exe, "ab.o");
    assert_eq!(refs(&exe, ab, ".text.main"), vec!["symbol fa"]);
}
both_linkers!(relocatable_exec_and_pie_outputs, output_kinds);

// ELF32 with REL relocations (armhf) and RELA on aarch64: tests/cross.rs.

/// Objects over 4 MiB are read range by range instead of whole: the record
/// must be the same kind of record.
fn large_object(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "big.c",
        "static const char big_table[6 << 20] = { 1, 2, 3 };\n\
         const char *big_name(void) { return \"big_lookup_name\"; }\n\
         int big_get(int i) { return big_table[i]; }\n",
    );
    f.compile("big.c", &["-g"]);
    assert!(std::fs::metadata(f.path("big.o")).unwrap().len() > 6 << 20);
    f.link_identical(&["-shared", "-o", "libbig.so", "big.o"]);
    let r = f.record("libbig.so");
    assert!(r.incomplete.is_empty(), "{:?}", r.incomplete);
    let o = object(&r, "big.o");
    assert_eq!(
        refs(&r, o, ".text.big_get"),
        vec!["section .rodata.big_table"]
    );
    let strings: Vec<&str> = r.cstrings.iter().map(|&c| r.str(c)).collect();
    assert!(strings.contains(&"big_lookup_name"), "{strings:?}");
    // Objects over 4 MiB are parsed from the parts the parser reads (no
    // debug information, no code): the same facts as from the whole file.
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(f.path("big.o")).unwrap();
    let len = file.metadata().unwrap().len();
    let whole = std::fs::read(f.path("big.o")).unwrap();
    let parts = ldprune::elf::sparse::read_object_parts(len, |buf, at| file.read_exact_at(buf, at))
        .unwrap();
    assert!(parts.held() < whole.len(), "debug information read");
    assert_eq!(
        format!(
            "{:?}",
            ldprune::elf::object::parse_object(&whole[..]).unwrap()
        ),
        format!("{:?}", ldprune::elf::object::parse_object(&parts).unwrap())
    );
}
both_linkers!(objects_over_4_mib, large_object);

/// A program that reads a variable of libc gets a copy of it (R_*_COPY),
/// exported with libc's version, and both linkers export its aliases at the
/// same address too (`__progname_full@GLIBC_2.2.5` for
/// `program_invocation_name`), which no input names. That is not code the
/// plugin missed: the record stays complete (xz's programs were marked
/// incomplete on both linkers in bench/corpus).
fn copy_relocated_variable(linker: Linker) {
    let f = Fixture::new(linker);
    f.write(
        "prog.c",
        "#define _GNU_SOURCE\n#include <errno.h>\n#include <stdio.h>\n\
         int main(void) { puts(program_invocation_name); return 0; }\n",
    );
    // Not -fPIC: position-dependent code reads the variable directly,
    // which is what makes the copy.
    f.gcc(&["-O2", "-fno-pic", "-ffunction-sections", "-c", "prog.c"]);
    f.link_identical(&["-no-pie", "-o", "prog", "prog.o"]);
    let r = f.record("prog");
    let ex = exports(&r);
    assert!(
        ex.iter().any(|e| e.starts_with("__progname_full")),
        "the alias is exported: {ex:?}"
    );
    assert!(r.incomplete.is_empty(), "{:?}", r.incomplete);
}
both_linkers!(
    copy_relocated_variable_keeps_record_complete,
    copy_relocated_variable
);

/// `output-as` (what the wrappers give the recording link of lld and
/// mold): the record stands for the real output, lld's here: its path,
/// identity, size, build-id and linker; the graph comes from this link.
/// A real output that cannot be read leaves this link's own sizes, noted
/// as ld.bfd's, with a warning.
#[test]
fn output_as_stands_for_the_real_output() {
    let f = Fixture::new(Linker::Bfd);
    f.write(
        "r.c",
        "int r_used(int x) { return x + 1; }\nint r_unused(void) { return 2; }\n",
    );
    f.compile("r.c", &[]);
    f.gcc(&["-fuse-ld=lld", "-shared", "-o", "libr.so", "r.o"]);
    std::fs::create_dir(f.path("scratch")).unwrap();
    f.link(&[
        "-shared",
        "-o",
        "scratch/libr.so",
        "r.o",
        "-Wl,-plugin-opt=output-as=libr.so",
        "-Wl,-plugin-opt=output-linker=ld.lld",
    ]);
    let r = f.record("libr.so");
    assert_eq!(r.output, "libr.so");
    assert_eq!(r.directory(), f.dir.path().to_str().unwrap());
    assert_eq!(r.output_linker, ldprune::state::record::Linker::Lld);
    assert!(r.linker.starts_with("GNU ld"), "{}", r.linker);
    let real = std::fs::read(f.path("libr.so")).unwrap();
    assert_eq!(r.output_size, real.len() as u64);
    assert_ne!(
        r.output_size,
        std::fs::metadata(f.path("scratch/libr.so")).unwrap().len()
    );
    let id = object::read::File::parse(&real[..]).ok().and_then(|o| {
        object::Object::build_id(&o)
            .ok()
            .flatten()
            .map(<[u8]>::to_vec)
    });
    assert!(id.is_some() && r.build_id == id);
    assert!(exports(&r).contains(&"r_unused".to_string()));
    // The identity Run-2 computes from `-o libr.so`: a plain link writing
    // libr.so elsewhere has it too (and replaces the record: same identity,
    // same working directory).
    std::fs::create_dir(f.path("other")).unwrap();
    f.link(&["-shared", "-o", "other/libr.so", "r.o"]);
    let again = f.records();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].output, "other/libr.so");
    assert_eq!(again[0].identity, r.identity);

    let out = f.link(&[
        "-shared",
        "-o",
        "scratch/libq.so",
        "r.o",
        "-Wl,-plugin-opt=output-as=libq.so",
        "-Wl,-plugin-opt=output-linker=mold",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the real output cannot be read"), "{err}");
    let q = f.record("libq.so");
    assert_eq!(q.output_linker, ldprune::state::record::Linker::Bfd);
    assert_eq!(
        q.output_size,
        std::fs::metadata(f.path("scratch/libq.so")).unwrap().len()
    );
}

/// Run-1 parses inputs on a thread of its own from the first object over
/// 1 MiB on (src/record/reader.rs). The record must be the one reading them
/// in claim_file makes: the same inputs (a small object, one past the
/// first read, one past the whole-read limit that starts the thread and is
/// read in ranges through a duplicated descriptor, archive members with a
/// long name on the thread), fed through the library both ways, give equal
/// records, and equal to the plugin's own objects.
fn threaded_reading(linker: Linker) {
    use ldprune::record::{InputFile, LinkInfo, Recorder};
    use ldprune::state::StateDir;
    use std::os::unix::fs::FileExt;

    let f = Fixture::new(linker);
    f.write("small.c", "int small_f(void) { return 1; }\n")
        .write(
            "medium.c",
            "const char medium_table[200000] = { 1 };\n\
             const char *medium_name(void) { return \"medium_lookup\"; }\n",
        )
        .write(
            "big.c",
            "static const char big_table[6 << 20] = { 1, 2, 3 };\n\
             int big_get(int i) { return big_table[i]; }\n",
        )
        .write(
            "a_member_with_a_long_name.c",
            "int long_member_f(void) { return 3; }\n",
        )
        .write("b.c", "int b_f(void) { return long_member_f(); }\n");
    for src in ["small.c", "medium.c", "a_member_with_a_long_name.c", "b.c"] {
        f.compile(src, &[]);
    }
    f.compile("big.c", &["-g"]);
    f.run(std::process::Command::new("ar").args([
        "rcs",
        "libm.a",
        "a_member_with_a_long_name.o",
        "b.o",
    ]));
    // Only an object of 1 MiB or more starts the thread: not libc.so.6,
    // not an archive.
    let thread_from = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| {
            l.split("a thread of its own from ")
                .nth(1)
                .map(str::to_string)
        })
    };
    let out = f.link(&[
        "-Wl,-plugin-opt=log=debug",
        "-shared",
        "-o",
        "libs.so",
        "small.o",
        "medium.o",
        "-Wl,--whole-archive",
        "libm.a",
        "-Wl,--no-whole-archive",
        "-lc",
    ]);
    assert_eq!(thread_from(&out), None);
    let out = f.link(&[
        "-Wl,-plugin-opt=log=debug",
        "-shared",
        "-o",
        "libt.so",
        "small.o",
        "medium.o",
        "big.o",
        "-Wl,--whole-archive",
        "libm.a",
        "-Wl,--no-whole-archive",
    ]);
    assert_eq!(thread_from(&out).as_deref(), Some("big.o on"));
    let plugin = f.record("libt.so");
    assert!(plugin.incomplete.is_empty(), "{:?}", plugin.incomplete);

    // The inputs as the linker offered them: each recorded object, with an
    // archive member's size from its header.
    let inputs: Vec<(String, u64, u64)> = plugin
        .objects
        .iter()
        .map(|o| {
            let file = std::fs::File::open(f.path(&o.path)).unwrap();
            let size = if o.offset == 0 {
                file.metadata().unwrap().len()
            } else {
                let mut h = [0u8; 60];
                file.read_exact_at(&mut h, o.offset - 60).unwrap();
                std::str::from_utf8(&h[48..58])
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            (o.path.clone(), o.offset, size)
        })
        .collect();
    assert!(
        inputs.iter().any(|i| i.2 > 64 << 10 && i.2 < 4 << 20)
            && inputs.iter().any(|i| i.2 > 4 << 20),
        "{inputs:?}"
    );
    let record = |threaded: bool| {
        let state = f.path(if threaded { "state-t" } else { "state-i" });
        let state = StateDir::create(&state).unwrap();
        let mut r = Recorder::new(
            LinkInfo {
                linker: plugin.linker.clone(),
                output_name: Some("libt.so".into()),
                output_kind: Some(plugin.kind),
                host: plugin.output_linker,
                real_output: None,
                argv: plugin.argv.clone(),
                cwd: plugin.cwd.clone(),
            },
            threaded,
        );
        for (path, offset, size) in &inputs {
            let file = std::fs::File::open(f.path(path)).unwrap();
            r.add_input(&InputFile {
                name: path,
                file: &file,
                offset: *offset,
                size: *size,
            });
            // The linker's descriptor is gone after claim_file.
            drop(file);
        }
        let path = r
            .finish(&state)
            .unwrap()
            .stage(&state)
            .unwrap()
            .publish(&state)
            .unwrap();
        let mut rec = ldprune::state::load_record(&path).unwrap();
        rec.recorded_at = 0;
        rec
    };
    let threaded = record(true);
    let inline = record(false);
    assert!(threaded == inline, "threaded and inline records differ");
    assert_eq!(threaded.objects, plugin.objects);
    assert_eq!(threaded.strings, plugin.strings);
    assert_eq!(threaded.cstrings, plugin.cstrings);
}
both_linkers!(threaded_reading_makes_the_same_record, threaded_reading);

/// Run-1 records the output's symbols in `.dynsym` order (no sort in the
/// link); a record loads with every list in name order, the order
/// `parse_output` gives, and the PLT/GOT lists without repeats.
fn output_lists(linker: Linker) {
    let f = Fixture::new(linker);
    // Exported functions that call each other: interposable, so through
    // the library's own PLT.
    let mut src = String::new();
    for n in ["zeta", "omega", "kappa", "delta", "alpha", "mu", "beta"] {
        src += &format!("int {n}(int x);\n");
    }
    for (n, next) in [
        ("zeta", "omega"),
        ("omega", "kappa"),
        ("kappa", "delta"),
        ("delta", "alpha"),
        ("alpha", "mu"),
        ("mu", "beta"),
    ] {
        src += &format!("int {n}(int x) {{ return x ? {next}(x - 1) : 0; }}\n");
    }
    src += "int beta(int x) { return x; }\nint counter;\nint *counter_ptr(void) { return &counter; }\n";
    f.write("lists.c", &src);
    f.compile("lists.c", &["-fPIC", "-O0"]);
    f.link_identical(&["-shared", "-o", "liblists.so", "lists.o"]);
    let r = f.record("liblists.so");
    let bytes = std::fs::read(f.path("liblists.so")).unwrap();
    let sorted = ldprune::elf::output::parse_output(&bytes[..]).unwrap();
    let listed = ldprune::elf::output::parse_output_as_listed(&bytes[..]).unwrap();
    assert_eq!(r.exports, sorted.exports);
    assert_eq!(r.imports, sorted.imports);
    assert_eq!(r.layout, sorted.layout);
    assert!(
        r.exports.is_sorted() && r.exports.len() >= 8,
        "{:?}",
        r.exports
    );
    assert!(!r.layout.plt_exports.is_empty(), "{:?}", r.layout);
    for names in [&r.layout.plt_exports, &r.layout.got_exports] {
        assert!(names.is_sorted_by(|a, b| a < b), "{names:?}");
    }
    // The same symbols as listed, in another order: what the file holds.
    assert_ne!(listed.exports, sorted.exports, "{:?}", listed.exports);
    let mut again = listed.clone();
    again.sort();
    assert_eq!(again, sorted);
}
both_linkers!(output_lists_sorted_on_load, output_lists);
