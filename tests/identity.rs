//! Identity across runs: the same source compiled again (other temp names,
//! another build directory, another __DATE__) hashes the same, and the same
//! link gets the same identity, from the plugin or from a wrapper's argv.
//! The interface hash (identity) follows exports, not relocations or
//! locals, and its fast path agrees with the full parse.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Fixture, Linker};
use ldprune::elf::hash::Hash128;
use ldprune::elf::interface::interface_summary;
use ldprune::elf::object::parse_object;
use ldprune::elf::sparse::read_symbol_parts_only;
use ldprune::elf::types::Lto;
use ldprune::identity::{interface_hash_of_path, link_identity, parse_link_line};

const SRC: &str = "#include <stdio.h>\n#include <assert.h>\n\
    static const char stamp[] = __DATE__ \" \" __TIME__;\n\
    int counter;\n\
    int work(int x) { assert(x >= 0); printf(\"%s %s %d\\n\", __FILE__, stamp, x); return ++counter + x; }\n";

/// (object hash, interface hash) of a relocatable object file.
fn hashes(path: &Path) -> (Hash128, Hash128) {
    let data = std::fs::read(path).unwrap();
    let facts = parse_object(&data[..]).unwrap();
    let fast = interface_hash_of_path(path.to_str().unwrap());
    assert_eq!(fast, Some(facts.interface), "{}", path.display());
    (facts.hash, facts.interface)
}

#[test]
fn object_hashes_ignore_names_paths_dates_and_debug_info() {
    let f = Fixture::new(Linker::Bfd);
    f.write("a/src.c", SRC)
        .write("a-much-longer-build-directory/nested/src.c", SRC);
    let compile_with = |debug: &str, src: &str, out: &str, epoch: &str| {
        let src = f.path(src);
        f.run(
            Command::new("gcc")
                .env("SOURCE_DATE_EPOCH", epoch)
                .args([
                    "-O2",
                    debug,
                    "-fPIC",
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-c",
                ])
                .arg(&src) // absolute: __FILE__ and DW_AT_comp_dir differ
                .args(["-o", out]),
        );
        hashes(&f.path(out))
    };
    let compile = |src: &str, out: &str, epoch: &str| compile_with("-g", src, out, epoch);
    let h1 = compile("a/src.c", "ccAbCdEf.o", "1000000000");
    let h2 = compile(
        "a-much-longer-build-directory/nested/src.c",
        "ccXyZ123.o",
        "1700000000",
    );
    assert_eq!(h1, h2);
    // Without debug info: the same interface (the object hash may see
    // other edges).
    assert_eq!(
        compile_with("-g0", "a/src.c", "nodebug.o", "1000000000").1,
        h1.1
    );

    // A __FILE__ without a slash is an identifier-like C string, recorded
    // (per link) for the dlsym analysis: it leaves both hashes alone.
    f.write("foo.c", SRC).write("barbaz.c", SRC);
    let bare = |src: &str, out: &str| {
        f.run(
            Command::new("gcc")
                .env("SOURCE_DATE_EPOCH", "1000000000")
                .args([
                    "-O2",
                    "-g",
                    "-fPIC",
                    "-ffunction-sections",
                    "-fdata-sections",
                ])
                .args(["-c", src, "-o", out]),
        );
        let data = std::fs::read(f.path(out)).unwrap();
        let file = src.to_string();
        assert!(
            parse_object(&data[..])
                .unwrap()
                .cstrings
                .contains(&file.as_str())
        );
        hashes(&f.path(out))
    };
    assert_eq!(bare("foo.c", "foo.o"), bare("barbaz.c", "barbaz.o"));

    // Only structure counts: a change of code bytes alone (same size, same
    // references) keeps the hash, and the recorded graph stays true for it.
    f.write("b/src.c", &SRC.replace("++counter + x", "++counter - x"));
    assert_eq!(compile("b/src.c", "same-shape.o", "1000000000"), h1);
    // A new reference changes the graph, and the hash; here a new import
    // (puts) changes the interface too.
    f.write(
        "c/src.c",
        &SRC.replace("++counter + x", "++counter + x + puts(\"x\")"),
    );
    let h3 = compile("c/src.c", "changed.o", "1000000000");
    assert_ne!(h1.0, h3.0, "a new edge must change the object hash");
    assert_ne!(h1.1, h3.1, "a new import must change the interface hash");
    assert_eq!(
        interface_hash_of_path(f.path("b/src.c").to_str().unwrap()),
        None
    );
}

#[test]
fn interface_hash_follows_exports_not_relocations_or_locals() {
    let f = Fixture::new(Linker::Bfd);
    // No -fdata-sections: a local's name is not in a section name.
    const BASE: &str = "int a;\nstatic int s1, s2;\nint *q = &s1;\nint *r = &s2;\n\
        __attribute__((section(\".data.ptrs\"))) int *u = &s1;\n\
        int f(void) { return a; }\n";
    let mut n = 0;
    let mut compile = |src: &str| {
        n += 1;
        let (c, o) = (format!("v{n}.c"), format!("v{n}.o"));
        f.write(&c, src);
        f.gcc(&["-O2", "-fPIC", "-c", &c, "-o", &o]);
        hashes(&f.path(&o))
    };
    let (object, interface) = compile(BASE);

    // Other relocation targets within one section, another local name: the
    // recorded facts are the same, and so are both hashes.
    for same in [
        BASE.replace("q = &s1", "q = &s2")
            .replace("r = &s2", "r = &s1"),
        BASE.replace("s1", "t1"),
    ] {
        assert_eq!(compile(&same), (object, interface), "{same}");
    }
    // A new edge (.data.ptrs -> a): another object hash, the same interface.
    let edge = BASE.replace("u = &s1", "u = &a");
    let h = compile(&edge);
    assert_ne!(h.0, object, "{edge}");
    assert_eq!(h.1, interface, "{edge}");
    // Exports added, removed, renamed or hidden: another interface.
    for changed in [
        format!("{BASE}int g(void) {{ return 2; }}\n"),
        BASE.replace("int f(void) { return a; }\n", ""),
        BASE.replace("int f(", "int g("),
        BASE.replace("int f(", "__attribute__((visibility(\"hidden\"))) int f("),
    ] {
        assert_ne!(compile(&changed).1, interface, "{changed}");
    }
}

const C_KINDS: &str = "#include <stdio.h>\n\
    static int helper(int x) { return x * 3; }\n\
    static __attribute__((noinline)) int helper2(int x) { return helper(x) + 1; }\n\
    __thread int tls_counter;\n\
    static __thread int tls_local;\n\
    int common_var;\n\
    static int local_data[16];\n\
    __attribute__((weak)) int weak_fn(void) { return 7; }\n\
    __attribute__((visibility(\"hidden\"))) int hidden_fn(void) { return 8; }\n\
    int old_api(void) { return 1; }\n\
    __asm__(\".symver old_api, api@VERS_1\");\n\
    extern int undefined_fn(int);\n\
    const char *names[] = { \"plugin_init\", \"libfoo.so.1\" };\n\
    int work(int x) { local_data[x & 15] = x; tls_local += x; tls_counter += x;\n\
        printf(\"%s\\n\", __FILE__); return helper2(x) + undefined_fn(x) + common_var; }\n";

const CXX_KINDS: &str = "#include <vector>\n#include <string>\n\
    template <typename T> struct Box { T v; T get() const { return v; } };\n\
    inline int shared_inline(int x) { static int calls; return x + ++calls; }\n\
    namespace { int anon(int x) { return x - 1; } }\n\
    thread_local std::string tls_name;\n\
    int use(int x) { std::vector<int> v(x, 1); Box<long> b{x}; tls_name += 'a';\n\
        return (int)v.size() + (int)b.get() + shared_inline(x) + anon(x); }\n";

/// The object hash for comparison, after the fast path was checked
/// against the full parse on `data` and on copies with bogus symtab sh_info.
fn check_fast_path(data: &[u8], what: &str) -> Hash128 {
    let full = parse_object(data).unwrap_or_else(|e| panic!("{what}: {e}"));
    let fast = interface_summary(data).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(fast.hash, full.interface, "{what}");
    assert_eq!(fast.lto, full.lto, "{what}");
    // The parts a large object is read by (groups, extended indexes):
    // the same, though these objects are small enough to be read whole.
    let parts = read_symbol_parts_only(data.len() as u64, |buf, at| {
        let at = at as usize;
        buf.copy_from_slice(&data[at..at + buf.len()]);
        Ok(())
    })
    .unwrap();
    assert!(parts.whole().is_none(), "{what}: read whole");
    let sparse = interface_summary(&parts).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(sparse, fast, "{what}: parts");
    assert_ne!(full.interface, full.hash, "{what}: two different hashes");
    // sh_info of .symtab should be the first non-local symbol; every wrong
    // value must leave the hash alone.
    let symbols = symtab_len(data);
    for info in (0..=symbols + 1).chain([u32::MAX]) {
        let patched = with_symtab_info(data, info);
        let fast = interface_summary(&patched[..]).unwrap();
        assert_eq!(fast.hash, full.interface, "{what} with sh_info {info}");
    }
    full.hash
}

/// (offset of the section headers, size of one, count, 64-bit) of a
/// little-endian ELF file.
fn section_headers(data: &[u8]) -> (usize, usize, usize, bool) {
    let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
    let is_64 = data[4] == 2;
    assert_eq!(data[5], 1, "little-endian");
    if is_64 {
        let off = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
        (off, u16_at(0x3a), u16_at(0x3c), true)
    } else {
        let off = u32::from_le_bytes(data[0x20..0x24].try_into().unwrap()) as usize;
        (off, u16_at(0x2e), u16_at(0x30), false)
    }
}

/// The offset of the SHT_SYMTAB section header.
fn symtab_header(data: &[u8]) -> usize {
    let (off, size, count, _) = section_headers(data);
    (0..count)
        .map(|i| off + i * size)
        .find(|&h| u32::from_le_bytes(data[h + 4..h + 8].try_into().unwrap()) == 2)
        .expect("a symbol table")
}

fn symtab_len(data: &[u8]) -> u32 {
    let h = symtab_header(data);
    let word = |o: usize, is_64: bool| {
        if is_64 {
            u64::from_le_bytes(data[h + o..h + o + 8].try_into().unwrap())
        } else {
            u64::from(u32::from_le_bytes(
                data[h + o..h + o + 4].try_into().unwrap(),
            ))
        }
    };
    let is_64 = section_headers(data).3;
    let (size, entsize) = if is_64 {
        (word(32, true), word(56, true))
    } else {
        (word(20, false), word(36, false))
    };
    (size / entsize) as u32
}

fn with_symtab_info(data: &[u8], info: u32) -> Vec<u8> {
    let h = symtab_header(data);
    let at = h + if section_headers(data).3 { 44 } else { 28 };
    let mut out = data.to_vec();
    out[at..at + 4].copy_from_slice(&info.to_le_bytes());
    out
}

#[test]
fn fast_interface_hash_equals_full_parse() {
    let f = Fixture::new(Linker::Bfd);
    f.write("kinds.c", C_KINDS).write("kinds.cc", CXX_KINDS);
    // (target prefix of the cross gcc, flags): 32-bit REL objects from
    // armhf, 64-bit RELA ones from aarch64 besides the host's.
    let variants: Vec<(&str, Vec<&str>)> = vec![
        ("", vec!["-O2", "-fPIC", "-fcommon"]),
        (
            "",
            vec!["-O0", "-g", "-ffunction-sections", "-fdata-sections"],
        ),
        ("", vec!["-O2", "-flto"]),
        (
            "",
            vec!["-O2", "-flto", "-ffat-lto-objects", "-ffunction-sections"],
        ),
        ("arm-linux-gnueabihf-", vec!["-O2", "-fPIC", "-fcommon"]),
        (
            "arm-linux-gnueabihf-",
            vec!["-O1", "-ffunction-sections", "-g"],
        ),
        (
            "aarch64-linux-gnu-",
            vec!["-O1", "-fPIC", "-ffunction-sections"],
        ),
    ];
    let mut n = 0;
    let mut comdat = false;
    for (prefix, flags) in &variants {
        for (driver, src) in [("gcc", "kinds.c"), ("g++", "kinds.cc")] {
            n += 1;
            let out = format!("o{n}.o");
            let driver = format!("{prefix}{driver}");
            f.run(
                Command::new(&driver)
                    .args(flags)
                    .args(["-c", src, "-o", &out])
                    .current_dir(f.dir.path()),
            );
            let data = std::fs::read(f.path(&out)).unwrap();
            let what = format!("{driver} {} {src}", flags.join(" "));
            check_fast_path(&data, &what);
            let facts = parse_object(&data[..]).unwrap();
            let lto = match (
                flags.contains(&"-flto"),
                flags.contains(&"-ffat-lto-objects"),
            ) {
                (false, _) => Lto::None,
                (true, false) => Lto::Slim,
                (true, true) => Lto::Fat,
            };
            assert_eq!(facts.lto, lto, "{what}");
            comdat |= facts.sections.iter().any(|s| s.group.is_some());
            assert_eq!(
                interface_hash_of_path(f.path(&out).to_str().unwrap()),
                Some(facts.interface),
                "{what}"
            );
        }
    }
    assert!(comdat, "the C++ objects have COMDAT groups");
    // The C runtime's own objects, where installed.
    for name in ["crt1.o", "crti.o", "crtbeginS.o", "crtendS.o"] {
        let out = f.run(Command::new("gcc").arg(format!("-print-file-name={name}")));
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if let Ok(data) = std::fs::read(&path) {
            check_fast_path(&data, &path);
        }
    }
}

/// The interface hash of a path: small files are read whole in one read,
/// larger ones in parts (header, section table, symbols); both agree with
/// the full parse, and neither takes what is not an object.
#[test]
fn interface_hash_of_small_and_large_files() {
    use ldprune::elf::sparse::WHOLE_OBJECT;
    let f = Fixture::new(Linker::Bfd);
    f.write("small.c", "int small_get(int i) { return i + 1; }\n")
        .write(
            "large.c",
            "static const char table[100000] = { 1, 2, 3 };\n\
         int large_get(int i) { return table[i]; }\n",
        );
    for (src, flags) in [("small.c", vec!["-O2"]), ("large.c", vec!["-O2", "-g"])] {
        let obj = src.replace(".c", ".o");
        f.run(
            Command::new("gcc")
                .args(&flags)
                .args(["-c", src, "-o", &obj])
                .current_dir(f.dir.path()),
        );
        let len = std::fs::metadata(f.path(&obj)).unwrap().len();
        assert_eq!(len > WHOLE_OBJECT, src == "large.c", "{obj}: {len} bytes");
        hashes(&f.path(&obj));
    }
    // Not objects: a short text file, and a library larger than a whole read.
    f.write("script.ld", "INPUT(small.o)\n");
    f.run(
        Command::new("gcc")
            .args(["-shared", "-o", "libl.so", "large.o", "small.o"])
            .current_dir(f.dir.path()),
    );
    assert!(std::fs::metadata(f.path("libl.so")).unwrap().len() > WHOLE_OBJECT);
    for path in ["script.ld", "libl.so"] {
        assert_eq!(
            interface_hash_of_path(f.path(path).to_str().unwrap()),
            None,
            "{path}"
        );
    }
}

fn identity_of_repeated_links(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("lib.c", "int lib_fn(int x) { return x + 1; }\n")
        .write(
            "main.c",
            "int lib_fn(int);\nint main(void) { return lib_fn(-1); }\n",
        );
    // Compile and link in one step: gcc's temp objects get new names each time.
    f.link(&["-O2", "-o", "prog", "main.c", "lib.c"]);
    let first = f.record("prog").identity;
    f.link(&["-O2", "-o", "prog", "main.c", "lib.c"]);
    assert_eq!(
        f.records().len(),
        1,
        "the same link again replaces its record"
    );
    assert_eq!(f.record("prog").identity, first);

    // Another build directory, same sources: same identity.
    let g = Fixture::new(linker);
    g.write("lib.c", "int lib_fn(int x) { return x + 1; }\n")
        .write(
            "main.c",
            "int lib_fn(int);\nint main(void) { return lib_fn(-1); }\n",
        );
    g.link(&["-O2", "-o", "prog", "main.c", "lib.c"]);
    assert_eq!(g.record("prog").identity, first);

    // A different output name or changed code: another identity.
    f.link(&["-O2", "-o", "prog2", "main.c", "lib.c"]);
    assert_ne!(f.record("prog2").identity, first);
    f.write(
        "lib.c",
        "int lib_fn(int x) { return x + 1; }\nint lib_new(void) { return 5; }\n",
    );
    f.link(&["-O2", "-o", "prog", "main.c", "lib.c"]);
    // Both links ran, so both stay recorded (configure probes that rewrite
    // one `conftest` are each a consumer); the newer one is marked so.
    let mut progs: Vec<_> = f
        .records()
        .into_iter()
        .filter(|r| r.output == "prog")
        .collect();
    progs.sort_by_key(|r| r.recorded_at);
    assert_eq!(progs.len(), 2);
    assert_eq!(progs[0].identity, first);
    assert_ne!(progs[1].identity, first);
}
both_linkers!(same_link_same_identity, identity_of_repeated_links);

fn identity_from_argv(linker: Linker) {
    let f = Fixture::new(linker);
    f.write("x.c", "int x_fn(void) { return 3; }\n");
    f.gcc(&["-fPIC", "-c", "x.c"]);
    f.link(&["-shared", "-o", "libx.so", "x.o"]);
    let r = f.record("libx.so");
    // What a linker wrapper would do with its argv, in the link's directory.
    let _cwd = std::env::set_current_dir(f.dir.path());
    let line = parse_link_line(&r.argv);
    assert_eq!(line.output, "libx.so");
    assert_eq!(link_identity(&line, interface_hash_of_path), r.identity);
}
both_linkers!(wrapper_computes_the_plugins_identity, identity_from_argv);
