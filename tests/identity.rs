//! Identity across runs: the same source compiled again (other temp names,
//! another build directory, another __DATE__) hashes the same, and the same
//! link gets the same identity, from the plugin or from a wrapper's argv.

mod common;

use std::process::Command;

use common::{Fixture, Linker};
use ldprune::identity::{link_identity, object_hash_of_path, parse_link_line};

const SRC: &str = "#include <stdio.h>\n#include <assert.h>\n\
    static const char stamp[] = __DATE__ \" \" __TIME__;\n\
    int counter;\n\
    int work(int x) { assert(x >= 0); printf(\"%s %s %d\\n\", __FILE__, stamp, x); return ++counter + x; }\n";

#[test]
fn object_hash_ignores_names_paths_dates_and_debug_info() {
    let f = Fixture::new(Linker::Bfd);
    f.write("a/src.c", SRC)
        .write("a-much-longer-build-directory/nested/src.c", SRC);
    let compile = |src: &str, out: &str, epoch: &str| {
        let src = f.path(src);
        f.run(
            Command::new("gcc")
                .env("SOURCE_DATE_EPOCH", epoch)
                .args([
                    "-O2",
                    "-g",
                    "-fPIC",
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-c",
                ])
                .arg(&src) // absolute: __FILE__ and DW_AT_comp_dir differ
                .args(["-o", out]),
        );
        object_hash_of_path(f.path(out).to_str().unwrap()).expect("hash of a relocatable object")
    };
    let h1 = compile("a/src.c", "ccAbCdEf.o", "1000000000");
    let h2 = compile(
        "a-much-longer-build-directory/nested/src.c",
        "ccXyZ123.o",
        "1700000000",
    );
    assert_eq!(h1, h2);

    // Only structure counts: a change of code bytes alone (same size, same
    // references) keeps the hash, and the recorded graph stays true for it.
    f.write("b/src.c", &SRC.replace("++counter + x", "++counter - x"));
    assert_eq!(compile("b/src.c", "same-shape.o", "1000000000"), h1);
    // A new reference changes the graph, and the hash.
    f.write(
        "c/src.c",
        &SRC.replace("++counter + x", "++counter + x + puts(\"x\")"),
    );
    let h3 = compile("c/src.c", "changed.o", "1000000000");
    assert_ne!(h1, h3, "a structural change must change the hash");
    assert_eq!(
        object_hash_of_path(f.path("b/src.c").to_str().unwrap()),
        None
    );
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
    assert_eq!(link_identity(&line, object_hash_of_path), r.identity);
}
both_linkers!(wrapper_computes_the_plugins_identity, identity_from_argv);
