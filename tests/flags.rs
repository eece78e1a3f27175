//! `ldprune flags`: the printed flags, read back by sh and make, record a
//! real build in Run-1; errors name what is missing.

mod common;

use std::process::Command;

use common::{Fixture, Linker, ldprune, plugin};

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

/// Runs a freshly copied executable. Another test thread that forks while
/// the copy is being written inherits its writable descriptor until that
/// child execs, and exec of the copy fails with ETXTBSY meanwhile: retry.
fn output_of(cmd: &mut Command) -> std::process::Output {
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
