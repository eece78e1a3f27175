//! What a wrapper costs per exec: the same command run directly and through
//! the wrapper, interleaved, many times; the medians, their difference and
//! ratio. Also the wrapper's system calls before the real tool starts
//! (strace, when installed).
//!
//!     cargo bench --bench wrapper_exec [-- ROUNDS]
//!
//! Cases: `gcc -dumpversion` with LDPRUNE_RUN unset (pure pass-through),
//! `ld --version` in Run-1 (a query: looked at, passed through), and a
//! Run-1 compile `gcc -c` (arguments read and flags added; the direct run
//! gets the same flags, so only the wrapper's own work differs). Last, a
//! Run-2 lld link through the wrappers and `ldprune stub-link` against the
//! plain lld link (what the stub path costs: two wrapper execs, ldprune's
//! start, the link identity, the stub, measuring the output).

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/build-wrappers"))
        .output()
        .expect("scripts/build-wrappers");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrap = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let size = std::fs::metadata(&wrap).unwrap().len();

    let dir = std::env::temp_dir().join(format!("ldprune-wrapbench-{}", std::process::id()));
    let wrapdir = dir.join("wrappers");
    std::fs::create_dir_all(&wrapdir).unwrap();
    std::fs::copy(&wrap, dir.join("ldprune-wrap")).unwrap();
    for t in ["gcc", "ld"] {
        symlink("../ldprune-wrap", wrapdir.join(t)).unwrap();
    }
    std::fs::write(dir.join("t.c"), "int f(int x) { return x + 1; }\n").unwrap();
    let path = format!("{}:{}", wrapdir.display(), std::env::var("PATH").unwrap());

    println!("wrapper: {} ({size} bytes, static)", wrap.display());
    println!("{rounds} interleaved rounds per case, medians:");
    println!(
        "{:<34} {:>10} {:>10} {:>9} {:>7}",
        "case", "direct", "wrapper", "added", "ratio"
    );
    let cases: [Case; 3] = [
        (
            "gcc -dumpversion (no run)",
            "gcc",
            None,
            &["-dumpversion"],
            &["-dumpversion"],
        ),
        (
            "ld --version (Run-1)",
            "ld",
            Some("1"),
            &["--version"],
            &["--version"],
        ),
        (
            "gcc -c t.c (Run-1, flags added)",
            "gcc",
            Some("1"),
            &[
                "-O2",
                "-ffunction-sections",
                "-fdata-sections",
                "-c",
                "t.c",
                "-o",
                "t.o",
            ],
            &["-O2", "-c", "t.c", "-o", "t.o"],
        ),
    ];
    for (label, tool, run, direct_args, wrapped_args) in cases {
        let direct = || {
            let mut c = Command::new(format!("/usr/bin/{tool}"));
            c.args(direct_args);
            c
        };
        let wrapped = || {
            let mut c = Command::new(wrapdir.join(tool));
            c.args(wrapped_args).env("PATH", &path);
            match run {
                Some(r) => c
                    .env("LDPRUNE_RUN", r)
                    .env("LDPRUNE_STATE", dir.join("state")),
                None => c.env_remove("LDPRUNE_RUN"),
            };
            c
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..rounds + 5 {
            let (x, y) = if i % 2 == 0 {
                let x = time(direct(), &dir);
                (x, time(wrapped(), &dir))
            } else {
                let y = time(wrapped(), &dir);
                (time(direct(), &dir), y)
            };
            if i >= 5 {
                a.push(x);
                b.push(y);
            }
        }
        let (ma, mb) = (median(&mut a), median(&mut b));
        println!(
            "{:<34} {:>8.0}us {:>8.0}us {:>7.0}us {:>7.3}",
            label,
            ma.as_secs_f64() * 1e6,
            mb.as_secs_f64() * 1e6,
            (mb.as_secs_f64() - ma.as_secs_f64()) * 1e6,
            mb.as_secs_f64() / ma.as_secs_f64()
        );
    }
    stub_link(&dir, &wrap, rounds.min(100));
    syscalls(&wrapdir, &path, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Label, tool, LDPRUNE_RUN, direct arguments, arguments through the wrapper.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    &'static [&'static str],
);

fn time(mut c: Command, dir: &Path) -> Duration {
    let t = Instant::now();
    let s = c
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(s.success(), "{c:?}");
    t.elapsed()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The wrapper's own system calls: those before the execve of the real tool.
fn syscalls(wrapdir: &Path, path: &str, dir: &Path) {
    let log = dir.join("strace.txt");
    let ok = Command::new("strace")
        .arg("-o")
        .arg(&log)
        .arg(wrapdir.join("gcc"))
        .args(["-O2", "-c", "t.c", "-o", "t.o"])
        .env("PATH", path)
        .env("LDPRUNE_RUN", "1")
        .env("LDPRUNE_STATE", dir.join("state"))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("system calls: install strace to count them");
        return;
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let calls: Vec<&str> = text
        .lines()
        .skip(1) // the execve of the wrapper itself
        .take_while(|l| !l.starts_with("execve("))
        .collect();
    let mut kinds: Vec<&str> = calls.iter().filter_map(|l| l.split('(').next()).collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "system calls of the wrapper before the real gcc (Run-1 compile): {} ({})",
        calls.len(),
        kinds.join(", ")
    );
}

/// A shared library linked by lld: plainly, and in Run-2 through the gcc
/// and ld.lld wrappers (stub-link) after a Run-1 and a merge.
fn stub_link(dir: &Path, wrap: &Path, rounds: usize) {
    let ldprune = Path::new(env!("CARGO_BIN_EXE_ldprune"));
    let plugin = ldprune.with_file_name("libldprune.so");
    if !plugin.exists() {
        println!("stub-link case skipped: no {}", plugin.display());
        return;
    }
    let prefix = dir.join("stub");
    let lib = prefix.join("lib/ldprune");
    std::fs::create_dir_all(lib.join("wrappers")).unwrap();
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::copy(wrap, lib.join("ldprune-wrap")).unwrap();
    symlink(&plugin, lib.join("libldprune.so")).unwrap();
    symlink(ldprune, prefix.join("bin/ldprune")).unwrap();
    for t in ["gcc", "ld.lld", "ld.bfd"] {
        symlink("../ldprune-wrap", lib.join("wrappers").join(t)).unwrap();
    }
    let mut src = String::new();
    for i in 0..50 {
        src += &format!("int f{i}(int x) {{ return x * {i} + 1; }}\n");
    }
    std::fs::write(dir.join("s.c"), src).unwrap();
    let ok = |c: &mut Command| assert!(c.current_dir(dir).status().unwrap().success(), "{c:?}");
    ok(Command::new("gcc").args([
        "-O2",
        "-fPIC",
        "-ffunction-sections",
        "-fdata-sections",
        "-c",
        "s.c",
        "-o",
        "s.o",
    ]));
    let path = format!(
        "{}:{}",
        lib.join("wrappers").display(),
        std::env::var("PATH").unwrap()
    );
    let state = dir.join("stub-state");
    let wrapped = |run: &str| {
        let mut c = Command::new("gcc");
        c.args(["-shared", "-fuse-ld=lld", "-o", "libs.so", "s.o"])
            .env("PATH", &path)
            .env("LDPRUNE_RUN", run)
            .env("LDPRUNE_STATE", &state);
        c
    };
    ok(&mut wrapped("1"));
    ok(Command::new(ldprune)
        .arg("merge")
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::null()));
    let plain = || {
        let mut c = Command::new("gcc");
        c.args([
            "-shared",
            "-fuse-ld=lld",
            "-Wl,--gc-sections",
            "-o",
            "libs.so",
            "s.o",
        ]);
        c
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..rounds + 3 {
        let (x, y) = (time(plain(), dir), time(wrapped("2"), dir));
        if i >= 3 {
            a.push(x);
            b.push(y);
        }
    }
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!(
        "{:<34} {:>8.0}us {:>8.0}us {:>7.0}us {:>7.3}   ({rounds} rounds)",
        "lld link, Run-2 via stub-link",
        ma.as_secs_f64() * 1e6,
        mb.as_secs_f64() * 1e6,
        (mb.as_secs_f64() - ma.as_secs_f64()) * 1e6,
        mb.as_secs_f64() / ma.as_secs_f64()
    );
    let applied = std::fs::read_dir(state.join("applied")).map_or(0, |d| d.count());
    assert!(applied > 0, "the Run-2 lld link did not apply");
}
