//! Run-1 link-time overhead: links one large generated shared library (600
//! objects) with and without the plugin recording, on ld.bfd and gold,
//! interleaving the runs, and prints the median wall-time ratio.
//!
//!     cargo bench --bench run1_overhead [-- OBJECTS ROUNDS]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let objects: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(21);
    let exe = std::env::current_exe().unwrap();
    let plugin = exe.parent().unwrap().join("libldprune.so");
    assert!(plugin.exists(), "no plugin at {}", plugin.display());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/run1");
    let objs = generate(&dir, objects);
    println!(
        "run-1 overhead: libbig.so from {objects} objects, {rounds} interleaved rounds, median wall time"
    );
    println!(
        "{:<6} {:>12} {:>12} {:>8}",
        "linker", "plain ms", "plugin ms", "ratio"
    );
    for linker in ["bfd", "gold"] {
        let (mut plain, mut with) = (Vec::new(), Vec::new());
        for round in 0..rounds + 1 {
            let state = dir.join(format!("state-{linker}"));
            let _ = std::fs::remove_dir_all(&state);
            // Alternate which goes first; round 0 warms the page cache.
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for use_plugin in order {
                let t = link(&dir, &objs, linker, use_plugin.then_some((&plugin, &state)));
                if round > 0 {
                    if use_plugin {
                        with.push(t)
                    } else {
                        plain.push(t)
                    }
                }
            }
        }
        let (p, w) = (median(&mut plain), median(&mut with));
        println!(
            "{linker:<6} {:>12.1} {:>12.1} {:>8.3}",
            p.as_secs_f64() * 1e3,
            w.as_secs_f64() * 1e3,
            w.as_secs_f64() / p.as_secs_f64()
        );
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn link(
    dir: &Path,
    objs: &[PathBuf],
    linker: &str,
    plugin: Option<(&PathBuf, &PathBuf)>,
) -> Duration {
    let mut cmd = Command::new("gcc");
    cmd.current_dir(dir)
        .arg(format!("-fuse-ld={linker}"))
        .args(["-shared", "-o", "libbig.so"]);
    cmd.args(objs);
    if let Some((so, state)) = plugin {
        cmd.arg(format!("-Wl,-plugin,{}", so.display()))
            .arg("-Wl,-plugin-opt=run=1")
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
