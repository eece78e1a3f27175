//! Link-time overhead of the plugin: links one large generated shared
//! library with and without the plugin, in Run-1 (recording) and in Run-2
//! (applying the decisions of a merge), on ld.bfd and gold, interleaving
//! the runs, and prints the median wall-time ratios. The library has one of
//! three shapes (bench/shapes.rs): `c`, 600 small C objects (the default);
//! `cxx`, 3,000 C++ objects, most of their code in COMDAT groups;
//! `large`, 4 objects of 20,000 functions and about 30 MB each. A small
//! link (the most common kind in a distribution) is `--shape c` of 1 object.
//!
//!     cargo bench --bench link_overhead [-- [--shape c|cxx|large] run1|run2|both OBJECTS ROUNDS]

#[path = "interleave.rs"]
mod interleave;
#[path = "shapes.rs"]
mod shapes;

use shapes::Shape;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let mut args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let mut shape = Shape::C;
    if let Some(at) = args.iter().position(|a| a == "--shape") {
        let name = args.get(at + 1).cloned().unwrap_or_default();
        shape = Shape::parse(&name)
            .unwrap_or_else(|| panic!("--shape {name:?}: expected c, cxx or large"));
        args.drain(at..at + 2);
    }
    let which = args.get(1).map_or("both", String::as_str);
    let objects: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(shape.default_objects());
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(21);
    let exe = std::env::current_exe().unwrap();
    let plugin = exe.parent().unwrap().join("libldprune.so");
    assert!(plugin.exists(), "no plugin at {}", plugin.display());
    let dir = shape.dir(Path::new(env!("CARGO_MANIFEST_DIR")), objects);
    let objs = shape.generate(&dir, objects);
    let lib = Lib {
        dir: &dir,
        objs: &objs,
        driver: shape.driver(),
    };
    println!(
        "libbig.so of shape {} from {objects} objects, {rounds} interleaved rounds, median wall time, --gc-sections in both",
        shape.name()
    );
    println!(
        "{:<6} {:<6} {:>10} {:>10} {:>8}",
        "run", "linker", "plain ms", "plugin ms", "ratio"
    );
    for linker in ["bfd", "gold"] {
        if which != "run2" {
            let state = dir.join(format!("state1-{linker}"));
            let _ = std::fs::remove_dir_all(&state);
            let ratio = compare(rounds, |use_plugin| {
                if !use_plugin {
                    return lib.link(linker, None);
                }
                // Every Run-1 round writes its record anew. The state
                // directory stays, as in a build: what its first link
                // learnt of the system archives (archives.ldpa) is kept.
                for f in std::fs::read_dir(state.join("links")).into_iter().flatten() {
                    let _ = f.map(|f| std::fs::remove_file(f.path()));
                }
                lib.link(linker, Some((&plugin, &state, 1)))
            });
            print_row("run-1", linker, ratio);
        }
        if which != "run1" {
            let state = dir.join(format!("state2-{linker}"));
            prepare_run2(&lib, shape, linker, &plugin, &state);
            let ratio = compare(rounds, |use_plugin| {
                // As a build's Run-2 writes each result once: a result
                // replaced by rename costs ext4 a flush of the new file
                // (auto_da_alloc), 0.3-0.6 ms a link here.
                for f in std::fs::read_dir(state.join("applied"))
                    .into_iter()
                    .flatten()
                {
                    let _ = f.map(|f| std::fs::remove_file(f.path()));
                }
                let plugin = use_plugin.then_some((plugin.as_path(), state.as_path(), 2));
                lib.link(linker, plugin)
            });
            let log = std::fs::read_to_string(state.join("apply.log")).unwrap_or_default();
            assert!(log.is_empty(), "Run-2 did not apply: {log}");
            print_row("run-2", linker, ratio);
        }
    }
}

/// Runs `link(with_plugin)` both ways `rounds` + 1 times, alternating which
/// goes first (round 0 only warms the page cache); medians (plain, plugin).
fn compare(rounds: usize, link: impl FnMut(bool) -> Duration) -> (Duration, Duration) {
    let (mut plain, mut with) = interleave::interleaved(rounds, link);
    (median(&mut plain), median(&mut with))
}

fn print_row(run: &str, linker: &str, (p, w): (Duration, Duration)) {
    println!(
        "{run:<6} {linker:<6} {:>10.1} {:>10.1} {:>8.3}",
        p.as_secs_f64() * 1e3,
        w.as_secs_f64() * 1e3,
        w.as_secs_f64() / p.as_secs_f64()
    );
}

/// The generated library's objects and how to link them.
struct Lib<'a> {
    dir: &'a Path,
    objs: &'a [PathBuf],
    driver: &'static str,
}

/// Run-1 of the library and of a program using a part of its exports,
/// then the merge: the decisions Run-2 looks up.
fn prepare_run2(lib: &Lib, shape: Shape, linker: &str, plugin: &Path, state: &Path) {
    let _ = std::fs::remove_dir_all(state);
    lib.link(linker, Some((plugin, state, 1)));
    let (main, text) = shape.program(lib.objs.len());
    std::fs::write(lib.dir.join(main), text).unwrap();
    let st = Command::new(lib.driver)
        .current_dir(lib.dir)
        .arg(format!("-fuse-ld={linker}"))
        .args([
            "-O1",
            main,
            "-o",
            "prog",
            "-L.",
            "-lbig",
            "-Wl,--gc-sections",
        ])
        .arg(format!("-Wl,-plugin,{}", plugin.display()))
        .arg("-Wl,-plugin-opt=run=1")
        .arg(format!("-Wl,-plugin-opt=state={}", state.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(env!("CARGO_BIN_EXE_ldprune"))
        .args(["merge", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("  {linker} merge: {}", stdout.lines().next().unwrap_or(""));
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

impl Lib<'_> {
    fn link(&self, linker: &str, plugin: Option<(&Path, &Path, u32)>) -> Duration {
        let mut cmd = Command::new(self.driver);
        cmd.current_dir(self.dir)
            .arg(format!("-fuse-ld={linker}"))
            .args(["-shared", "-Wl,--gc-sections", "-o", "libbig.so"]);
        cmd.args(self.objs);
        if let Some((so, state, run)) = plugin {
            cmd.arg(format!("-Wl,-plugin,{}", so.display()))
                .arg(format!("-Wl,-plugin-opt=run={run}"))
                .arg(format!("-Wl,-plugin-opt=state={}", state.display()));
        }
        let t = Instant::now();
        let st = cmd.status().unwrap();
        let d = t.elapsed();
        assert!(st.success());
        d
    }
}
