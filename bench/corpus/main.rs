//! The Rust half of `bench/corpus/run` (the shell half fetches, builds and
//! tests the packages):
//!
//!     cargo bench --bench corpus -- ideal --state DIR --image ROOT --out DIR [--lto FLAGS]
//!     cargo bench --bench corpus -- lto-table --dir NAME=DIR... [--json FILE]
//!     cargo bench --bench corpus -- table --linker-dir NAME=DIR... --ldprune PATH
//!                                         [--json FILE] [--svg FILE]
//!
//! `ideal` makes (e) from a Run-1 state directory and its image; `table`
//! measures every configuration the run left in each linker's directory
//! and writes the table to the terminal, a JSON file and an SVG chart.

mod elfinfo;
mod ideal;
mod lto;
mod svg;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    // cargo bench adds --bench.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corpus: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs after the subcommand; a name may repeat.
fn options(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {a}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.push((name.to_string(), value.clone()));
    }
    Ok(out)
}

fn one(opts: &[(String, String)], name: &str) -> Result<PathBuf, String> {
    opts.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| PathBuf::from(v))
        .ok_or_else(|| format!("--{name} is required"))
}

fn run(args: &[String]) -> Result<(), String> {
    let (cmd, rest) = args
        .split_first()
        .ok_or("usage: corpus ideal|table OPTIONS (see bench/corpus/main.rs)")?;
    let opts = options(rest)?;
    match cmd.as_str() {
        "ideal" => {
            let out = one(&opts, "out")?;
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let out = out
                .canonicalize()
                .map_err(|e| format!("{}: {e}", out.display()))?;
            ideal::run(&ideal::Args {
                state: one(&opts, "state")?,
                image: one(&opts, "image")?,
                out,
                lto: opts
                    .iter()
                    .find(|(n, _)| n == "lto")
                    .map(|(_, v)| v.split_whitespace().map(String::from).collect()),
            })
        }
        "table" => {
            let mut linkers = Vec::new();
            for (n, v) in &opts {
                if n == "linker-dir" {
                    let (name, dir) = v
                        .split_once('=')
                        .ok_or_else(|| format!("--linker-dir NAME=DIR, not {v}"))?;
                    linkers.push((name.to_string(), PathBuf::from(dir)));
                }
            }
            let get = |name: &str| one(&opts, name).ok();
            table::run(&table::Args {
                linkers,
                ldprune: one(&opts, "ldprune")?,
                json: get("json"),
                svg: get("svg"),
            })
        }
        "lto-table" => {
            let mut dirs = Vec::new();
            for (n, v) in &opts {
                if n == "dir" {
                    let (name, dir) = v
                        .split_once('=')
                        .ok_or_else(|| format!("--dir NAME=DIR, not {v}"))?;
                    dirs.push((name.to_string(), PathBuf::from(dir)));
                }
            }
            lto::run(&lto::Args {
                dirs,
                json: one(&opts, "json").ok(),
            })
        }
        _ => Err(format!("unknown command {cmd} (ideal, table or lto-table)")),
    }
}
