//! Link-time overhead of the plugin: links one large generated shared
//! library (600 objects) with and without the plugin, in Run-1 (recording)
//! and in Run-2 (applying the decisions of a merge), on ld.bfd and gold,
//! interleaving the runs, and prints the median wall-time ratios.
//!
//!     cargo bench --bench link_overhead [-- run1|run2|both OBJECTS ROUNDS]

#[path = "interleave.rs"]
mod interleave;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let which = args.get(1).map_or("both", String::as_str);
    let objects: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(600);
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(21);
    let exe = std::env::current_exe().unwrap();
    let plugin = exe.parent().unwrap().join("libldprune.so");
    assert!(plugin.exists(), "no plugin at {}", plugin.display());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/link");
    let objs = generate(&dir, objects);
    println!(
        "libbig.so from {objects} objects, {rounds} interleaved rounds, median wall time, --gc-sections in both"
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
                    return link(&dir, &objs, linker, None);
                }
                // Every Run-1 round writes its record anew. The state
                // directory stays, as in a build: what its first link
                // learnt of the system archives (archives.ldpa) is kept.
                for f in std::fs::read_dir(state.join("links")).into_iter().flatten() {
                    let _ = f.map(|f| std::fs::remove_file(f.path()));
                }
                link(&dir, &objs, linker, Some((&plugin, &state, 1)))
            });
            print_row("run-1", linker, ratio);
        }
        if which != "run1" {
            let state = dir.join(format!("state2-{linker}"));
            prepare_run2(&dir, &objs, linker, &plugin, &state);
            let ratio = compare(rounds, |use_plugin| {
                let plugin = use_plugin.then_some((plugin.as_path(), state.as_path(), 2));
                link(&dir, &objs, linker, plugin)
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

/// Run-1 of the library and of a program using every 4th module's entry,
/// then the merge: the decisions Run-2 looks up.
fn prepare_run2(dir: &Path, objs: &[PathBuf], linker: &str, plugin: &Path, state: &Path) {
    let _ = std::fs::remove_dir_all(state);
    link(dir, objs, linker, Some((plugin, state, 1)));
    let n = objs.len();
    let mut main = String::new();
    for i in (0..n).step_by(4) {
        main += &format!("int m{i}_f0(int);\n");
    }
    main += "int main(int argc, char **argv) { (void)argv; int s = 0;\n";
    for i in (0..n).step_by(4) {
        main += &format!("  s += m{i}_f0(argc);\n");
    }
    main += "  return s & 1; }\n";
    std::fs::write(dir.join("main.c"), main).unwrap();
    let st = Command::new("gcc")
        .current_dir(dir)
        .arg(format!("-fuse-ld={linker}"))
        .args([
            "-O1",
            "main.c",
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

fn link(
    dir: &Path,
    objs: &[PathBuf],
    linker: &str,
    plugin: Option<(&Path, &Path, u32)>,
) -> Duration {
    let mut cmd = Command::new("gcc");
    cmd.current_dir(dir)
        .arg(format!("-fuse-ld={linker}"))
        .args(["-shared", "-Wl,--gc-sections", "-o", "libbig.so"]);
    cmd.args(objs);
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

/// Writes and compiles `n` C files of 12 functions each that call into
/// each other, use strings and data, like a real library's objects.
fn generate(dir: &Path, n: usize) -> Vec<PathBuf> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let objs: Vec<PathBuf> = (0..n).map(|i| src.join(format!("m{i}.o"))).collect();
    if objs.iter().all(|o| o.exists()) {
        return objs;
    }
    for i in 0..n {
        let mut c = String::from("#include <stdio.h>\n#include <string.h>\n");
        let next = (i + 1) % n;
        c += &format!("int m{next}_f0(int);\nstatic int table_{i}[64] = {{{i}}};\n");
        for f in 0..12 {
            c += &format!(
                "int m{i}_f{f}(int x) {{\n  if (x > {f}) return m{i}_f{g}(x - 1) + table_{i}[x & 63];\n  \
                 if (x < 0) {{ printf(\"m{i}_f{f}: %d\\n\", x); return (int)strlen(\"symbol_{i}_{f}\"); }}\n  \
                 return m{next}_f0(x) + {f};\n}}\n",
                g = (f + 1) % 12
            );
        }
        std::fs::write(src.join(format!("m{i}.c")), c).unwrap();
    }
    // Compile on every core.
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunks: Vec<Vec<usize>> = (0..jobs).map(|j| (j..n).step_by(jobs).collect()).collect();
    std::thread::scope(|s| {
        for chunk in &chunks {
            let src = &src;
            s.spawn(move || {
                for &i in chunk {
                    let st = Command::new("gcc")
                        .current_dir(src)
                        .args([
                            "-O2",
                            "-fPIC",
                            "-ffunction-sections",
                            "-fdata-sections",
                            "-c",
                        ])
                        .arg(format!("m{i}.c"))
                        .status()
                        .unwrap();
                    assert!(st.success());
                }
            });
        }
    });
    objs
}
