//! `ldprune flags`: the printed flags, read back by sh and make, record a
//! real build in Run-1; errors name what is missing.

mod common;

use std::process::Command;

use common::{Fixture, Linker, ldprune, output_of, plugin};

fn flags(f: &Fixture, run: &str, format: &str) -> String {
    let out = f.run(
        ldprune()
            .args([
                "flags",
                "--run",
                run,
                "--state",
                "rel/state",
                "--format",
                format,
            ])
            .arg("--plugin")
            .arg(plugin()),
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The shell format, evaluated by sh, builds a library and a program that
/// Run-1 records; the state directory was given relative and is absolute.
#[test]
fn shell_format_records_a_build() {
    let f = Fixture::new(Linker::Bfd);
    f.write(
        "lib.c",
        "int lib_used(void) { return 1; }\nint lib_unused(void) { return 2; }\n",
    )
    .write(
        "main.c",
        "int lib_used(void);\nint main(void) { return lib_used() - 1; }\n",
    );
    let shell = flags(&f, "1", "shell");
    let state = f.path("rel/state").canonicalize().unwrap();
    assert!(
        shell.contains(&format!("export LDPRUNE_STATE={}\n", state.display())),
        "{shell}"
    );
    let script = format!(
        "set -e\n{shell}\
         gcc $CFLAGS -O2 -fPIC -c lib.c\n\
         gcc $CFLAGS -O2 -c main.c\n\
         gcc $LDFLAGS -shared -o libx.so lib.o\n\
         gcc $LDFLAGS -o prog main.o -L. -lx -Wl,-rpath,'$ORIGIN'\n\
         ./prog\n\
         printf '%s|%s|%s' \"$LDPRUNE_RUN\" \"$LDPRUNE_STATE\" \"$LDFLAGS\"\n"
    );
    let out = f.run(Command::new("sh").arg("-c").arg(&script));
    let printed = String::from_utf8(out.stdout).unwrap();
    let ldflags = flags(&f, "1", "ldflags");
    assert_eq!(
        printed,
        format!("1|{}|{}", state.display(), ldflags.trim_end())
    );
    let state = ldprune::state::StateDir::open(&state).unwrap();
    let mut outputs: Vec<String> = state
        .record_paths()
        .unwrap()
        .iter()
        .map(|p| ldprune::state::load_record(p).unwrap())
        .map(|r| r.output_file_name().to_string())
        .collect();
    outputs.sort();
    assert_eq!(outputs, ["libx.so", "prog"]);
}

#[test]
fn make_format_is_read_by_make() {
    let f = Fixture::new(Linker::Bfd);
    let mk = flags(&f, "2", "make");
    f.write("flags.mk", &mk).write(
        "Makefile",
        "include flags.mk\nall:\n\t@printf '%s|%s|%s' \"$$LDPRUNE_RUN\" '$(CFLAGS)' '$(LDFLAGS)'\n",
    );
    let out = f.run(Command::new("make").arg("-s"));
    let cflags = flags(&f, "2", "cflags");
    let ldflags = flags(&f, "2", "ldflags");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("2|{}|{}", cflags.trim_end(), ldflags.trim_end())
    );
    assert!(ldflags.contains("-Wl,-plugin-opt=run=2 "), "{ldflags}");
}

#[test]
fn missing_plugin_is_a_clear_error() {
    let f = Fixture::new(Linker::Bfd);
    // A copy of ldprune with no plugin beside it or in ../lib/ldprune.
    let bin = f.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("ldprune");
    std::fs::copy(env!("CARGO_BIN_EXE_ldprune"), &exe).unwrap();
    let out = output_of(
        Command::new(&exe)
            .args(["flags", "--run", "1", "--state"])
            .arg(f.path("st")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&bin.join("libldprune.so").display().to_string())
            && err.contains("lib/ldprune/libldprune.so")
            && err.contains("--plugin"),
        "{err}"
    );
    // Installed layout: PREFIX/bin/ldprune finds PREFIX/lib/ldprune/*.
    let libdir = f.path("lib/ldprune");
    std::fs::create_dir_all(libdir.join("wrappers")).unwrap();
    std::fs::copy(plugin(), libdir.join("libldprune.so")).unwrap();
    let out = output_of(
        Command::new(&exe)
            .args(["flags", "--run", "1", "--state", "st"])
            .current_dir(f.dir.path()),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let libdir = libdir.canonicalize().unwrap();
    assert!(
        text.contains(&format!("-Wl,-plugin,{}/libldprune.so ", libdir.display()))
            && text.contains(&format!(
                "export PATH={}/wrappers\"${{PATH:+:$PATH}}\"\n",
                libdir.display()
            )),
        "{text}"
    );
    let out = output_of(
        Command::new(&exe)
            .args(["flags", "--run", "1", "--state", "st", "--plugin"])
            .arg(f.path("nope.so"))
            .current_dir(f.dir.path()),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("nope.so: no such file"),
        "{err}"
    );
}

const LIB_A: &str = "int helper_used(int x) { return x * 3 + 1; }\n\
    int unused_big(int x) { int s = 0; for (int i = 0; i < x; i++) s += i ^ x; return s; }\n\
    int api_used(int x) { return helper_used(x) + 2; }\n";
const LIB_B: &str = "#include <stdio.h>\nint unused_big(int);\n\
    int unused_two(int x) { return unused_big(x) * 2; }\n\
    void api_hello(void) { puts(\"hello\"); }\n";
const PROG: &str = "#include <stdio.h>\nint api_used(int); void api_hello(void);\n\
    int main(void) { api_hello(); printf(\"%d\\n\", api_used(4)); return 0; }\n";

/// The library's defined dynamic symbols.
fn defined_exports(f: &Fixture, lib: &str) -> Vec<String> {
    let out = f.run(Command::new("nm").args(["-D", "--defined-only", lib]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .filter(|n| !matches!(n.as_str(), "_end" | "_edata" | "__bss_start"))
        .collect()
}

/// Run-1, merge and Run-2 of `build` (a shell script run in `dir` after
/// `eval "$(ldprune flags ...)"`), which builds libx.so and prog there with
/// the real gcc, not the wrapper. After each run prog works and libx.so
/// exports its API (a link without LTO over slim objects would export
/// nothing but `__gnu_lto_slim`). Returns libx.so's exports after Run-2.
fn two_runs(f: &Fixture, dir: &str, build: &str) -> Vec<String> {
    for run in ["1", "2"] {
        if run == "2" {
            f.run(
                ldprune()
                    .args(["merge", "--state"])
                    .arg(f.path("rel/state")),
            );
        }
        let shell = flags(f, run, "shell");
        let script = format!("set -e\n{shell}cd {dir}\n{build}");
        f.run(Command::new("sh").arg("-c").arg(&script));
        let out = f.run(&mut Command::new(f.path(&format!("{dir}/prog"))));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n15\n", "{run}");
        let lib = format!("{dir}/libx.so");
        let exports = defined_exports(f, &lib);
        for name in ["api_used", "api_hello"] {
            assert!(
                exports.contains(&name.to_string()),
                "Run-{run}: {exports:?}"
            );
        }
    }
    let out = ldprune().arg("verify").arg(f.dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    defined_exports(f, &format!("{dir}/libx.so"))
}

/// CMake with IPO on and off, `ldprune flags` in the environment and the
/// real gcc as the compiler. IPO off: Run-2 hides the unused exports. IPO
/// on: CMake adds -flto=auto -fno-fat-lto-objects after CFLAGS, so the
/// objects are slim and the links are recorded incomplete: unchanged, and
/// still correct (with -fno-lto in LDFLAGS they were not).
#[test]
fn cmake_ipo_on_and_off() {
    if Command::new("cmake").arg("--version").output().is_err() {
        panic!("cmake is missing: scripts/debian-deps installs it");
    }
    for ipo in ["OFF", "ON"] {
        let f = Fixture::new(Linker::Bfd);
        f.write("src/a.c", LIB_A)
            .write("src/b.c", LIB_B)
            .write("src/p.c", PROG)
            .write(
                "src/CMakeLists.txt",
                "cmake_minimum_required(VERSION 3.13)\nproject(x C)\n\
                 add_library(x SHARED a.c b.c)\nadd_executable(prog p.c)\n\
                 target_link_libraries(prog x)\n",
            );
        // CMake caches the flags at the first configure: each run
        // configures afresh, in the same build directory.
        let build = format!(
            "rm -rf build && cmake -S src -B build -DCMAKE_C_COMPILER=/usr/bin/gcc \
             -DCMAKE_INTERPROCEDURAL_OPTIMIZATION={ipo} -DCMAKE_BUILD_TYPE=Release >/dev/null\n\
             cmake --build build >/dev/null\n"
        );
        let exports = two_runs(&f, ".", &format!("{build}cp build/libx.so build/prog .\n"));
        if ipo == "OFF" {
            assert!(!exports.contains(&"unused_two".to_string()), "{exports:?}");
        } else {
            assert!(exports.contains(&"unused_two".to_string()), "{exports:?}");
        }
    }
}

/// autotools with the build's own LTO in CFLAGS and LDFLAGS (as a
/// distribution sets them), `ldprune flags` appended, the real gcc: the
/// objects are fat, Run-1 reads what GCC's plugin claimed, Run-2 links
/// with LTO and the unused exports are gone.
#[test]
fn autotools_with_lto() {
    let f = Fixture::new(Linker::Bfd);
    f.write("a.c", LIB_A)
        .write("b.c", LIB_B)
        .write("p.c", PROG)
        .write(
            "configure.ac",
            "AC_INIT([x], [1])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n\
             AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
        )
        .write(
            "Makefile.am",
            "noinst_PROGRAMS = libx.so prog\n\
             libx_so_SOURCES = a.c b.c\nlibx_so_CFLAGS = -fPIC $(AM_CFLAGS)\n\
             libx_so_LDFLAGS = -shared\n\
             prog_SOURCES = p.c\nprog_LDADD = libx.so\nprog_LDFLAGS = -Wl,-rpath,'$$ORIGIN'\n",
        );
    f.run(Command::new("autoreconf").arg("-fi"));
    let build = "make distclean >/dev/null 2>&1 || true\n\
        ./configure CC=/usr/bin/gcc CFLAGS=\"-O2 -flto=auto $CFLAGS\" \
        LDFLAGS=\"-flto=auto $LDFLAGS\" >/dev/null\nmake >/dev/null\n";
    let exports = two_runs(&f, ".", build);
    assert!(!exports.contains(&"unused_two".to_string()), "{exports:?}");
    // The build's LTO stayed: its objects carry IR (and code).
    let out = f.run(Command::new("readelf").args(["-SW", "libx_so-a.o"]));
    let sections = String::from_utf8_lossy(&out.stdout);
    assert!(
        sections.contains(".gnu.lto_") && sections.contains(".text.unused_big"),
        "{sections}"
    );
    // Every Run-2 link but configure's probes found its Run-1 record.
    let log = std::fs::read_to_string(f.path("rel/state/apply.log")).unwrap_or_default();
    assert!(log.lines().all(|l| l.contains("\tconftest\t")), "{log}");
}

/// A plain build with LTO whose link commands do not repeat CFLAGS (a
/// hand-written Makefile): GCC's LTO output gets function sections only
/// from the link's own flags, so `ldprune flags` puts them in LDFLAGS too,
/// and the hidden names' code goes as well as their exports.
#[test]
fn plain_lto_link_drops_hidden_code() {
    let f = Fixture::new(Linker::Bfd);
    f.write("a.c", LIB_A).write("b.c", LIB_B).write("p.c", PROG);
    let build = "rm -f *.o libx.so prog\n\
        for c in a b; do /usr/bin/gcc -O2 -flto -fPIC $CFLAGS -c $c.c; done\n\
        /usr/bin/gcc -O2 -flto -fPIC $CFLAGS -c p.c\n\
        /usr/bin/gcc -shared -flto $LDFLAGS -o libx.so a.o b.o\n\
        /usr/bin/gcc -flto $LDFLAGS -o prog p.o -L. -lx -Wl,-rpath,'$ORIGIN'\n";
    let exports = two_runs(&f, ".", build);
    assert!(!exports.contains(&"unused_two".to_string()), "{exports:?}");
    let nm = f.run(Command::new("nm").arg(f.path("libx.so")));
    let nm = String::from_utf8_lossy(&nm.stdout);
    assert!(
        !nm.contains("unused_two") && !nm.contains("unused_big"),
        "{nm}"
    );
}

/// Meson with `-Db_lto=true` (it adds -flto when compiling and linking),
/// `ldprune flags` in the environment, the real gcc: LTO kept, fat
/// objects, the unused exports gone after Run-2.
#[test]
fn meson_with_lto() {
    if Command::new("meson").arg("--version").output().is_err() {
        panic!("meson is missing: scripts/debian-deps installs it");
    }
    let f = Fixture::new(Linker::Bfd);
    f.write("src/a.c", LIB_A)
        .write("src/b.c", LIB_B)
        .write("src/p.c", PROG)
        .write(
            "src/meson.build",
            "project('x', 'c')\n\
             x = shared_library('x', 'a.c', 'b.c')\n\
             executable('prog', 'p.c', link_with: x)\n",
        );
    // Meson reads CFLAGS and LDFLAGS at setup: each run sets up afresh.
    let build = "rm -rf build && CC=/usr/bin/gcc meson setup build src -Db_lto=true \
        -Dbuildtype=release >/dev/null\nninja -C build >/dev/null\n\
        cp build/libx.so build/prog .\n";
    let exports = two_runs(&f, ".", build);
    assert!(!exports.contains(&"unused_two".to_string()), "{exports:?}");
    let objects = f.path("build/libx.so.p");
    let a = std::fs::read_dir(&objects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("a.c.o"))
        .unwrap();
    let out = f.run(Command::new("readelf").arg("-SW").arg(&a));
    let sections = String::from_utf8_lossy(&out.stdout);
    assert!(
        sections.contains(".gnu.lto_") && sections.contains(".text.unused_big"),
        "{sections}"
    );
}
