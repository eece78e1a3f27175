//! The LTO table (`bench/corpus/run --lto`): per optimisation level and
//! linker, every library in five builds of the same sources:
//!
//! - (r)  Run-1's link: `-fno-lto`, --gc-sections, the fat objects' machine
//!   code (the same code a build without LTO compiles): LTO's baseline;
//! - (e)  the ideal without LTO (scope "all"), relinked from those objects;
//! - (bL) the build with `-flto=auto -ffat-lto-objects` and --gc-sections;
//! - (cL) ldprune + LTO: Run-2 (every link a consumer) with the build's LTO;
//! - (eL) ideal + LTO: (e)'s version scripts, linked through gcc with LTO.
//!
//! ldprune's share is (bL - cL) / (bL - eL) in stripped bytes (the target)
//! and in .text; LTO's own effect is (bL) against (r) and (eL) against (e):
//! positive where LTO's inlining grows code.
//!
//! A level's directory holds images/{run1,bL,cL}, ideal/all, ideal-lto/all.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::elfinfo;
use crate::ideal::library_names;
use crate::table::group;

pub struct Args {
    /// (name such as "bfd -O2", the level's directory).
    pub dirs: Vec<(String, PathBuf)>,
    pub json: Option<PathBuf>,
}

const CONFIGS: [&str; 5] = ["r", "e", "bL", "cL", "eL"];

fn path_of(dir: &Path, config: &str, file: &str) -> PathBuf {
    match config {
        "r" => dir.join("images/run1/lib").join(file),
        "e" => dir.join("ideal/all").join(file),
        "eL" => dir.join("ideal-lto/all").join(file),
        c => dir.join("images").join(c).join("lib").join(file),
    }
}

#[derive(Clone, Copy, Default)]
struct Sizes {
    text: u64,
    stripped: u64,
    exports: u64,
}

fn pct(x: u64, base: u64) -> f64 {
    if base == 0 {
        0.0
    } else {
        (x as f64 - base as f64) * 100.0 / base as f64
    }
}

/// ldprune's saving as a share of the ideal's, both against (bL).
fn share(b: u64, c: u64, e: u64) -> Option<f64> {
    (b > e).then(|| (b as f64 - c as f64) * 100.0 / (b as f64 - e as f64))
}

fn level(name: &str, dir: &Path, out: &mut String) -> Result<Value, String> {
    let tmp = dir.join("tmp-table");
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut rows: Vec<(String, BTreeMap<&str, Sizes>)> = Vec::new();
    for file in library_names(&dir.join("images/bL/lib"))? {
        let mut sizes = BTreeMap::new();
        for c in CONFIGS {
            let p = path_of(dir, c, &file);
            let i = elfinfo::read(&p)?;
            sizes.insert(
                c,
                Sizes {
                    text: i.text,
                    stripped: elfinfo::stripped_size(&p, &tmp)?,
                    exports: i.exports.len() as u64,
                },
            );
        }
        rows.push((file.split(".so").next().unwrap_or(&file).to_string(), sizes));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let mut total: BTreeMap<&str, Sizes> = BTreeMap::new();
    for (_, s) in &rows {
        for c in CONFIGS {
            let t = total.entry(c).or_default();
            t.text += s[c].text;
            t.stripped += s[c].stripped;
            t.exports += s[c].exports;
        }
    }
    rows.push(("total".to_string(), total));
    let _ = writeln!(
        out,
        "\n=== {name}: (r) Run-1 -fno-lto, (e) ideal, (bL) LTO + --gc-sections, (cL) ldprune + LTO, (eL) ideal + LTO"
    );
    let mut libs = Vec::new();
    for (what, get) in [
        (
            "stripped file bytes",
            (|s: &Sizes| s.stripped) as fn(&Sizes) -> u64,
        ),
        (".text bytes", |s: &Sizes| s.text),
        ("exported names", |s: &Sizes| s.exports),
    ] {
        let _ = writeln!(out, "\n{what}");
        let _ = write!(out, "{:<12}", "library");
        for c in CONFIGS {
            let _ = write!(out, " {:>11}", format!("({c})"));
        }
        let _ = writeln!(out, "  (bL)/(r)  (eL)/(e)  (cL)/(bL)  share of (eL)");
        for (label, s) in &rows {
            let _ = write!(out, "{label:<12}");
            for c in CONFIGS {
                let _ = write!(out, " {:>11}", group(get(&s[c])));
            }
            let sh = share(get(&s["bL"]), get(&s["cL"]), get(&s["eL"]));
            let _ = writeln!(
                out,
                "  {:>+8.1}%  {:>+7.1}%  {:>+8.1}%  {:>12}",
                pct(get(&s["bL"]), get(&s["r"])),
                pct(get(&s["eL"]), get(&s["e"])),
                pct(get(&s["cL"]), get(&s["bL"])),
                sh.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "-".into())
            );
        }
    }
    for (label, s) in &rows {
        let mut v = serde_json::Map::new();
        for c in CONFIGS {
            v.insert(
                c.to_string(),
                json!({"text": s[c].text, "stripped": s[c].stripped, "exports": s[c].exports}),
            );
        }
        v.insert(
            "share_of_ideal_lto_pct".into(),
            json!({
                "stripped": share(s["bL"].stripped, s["cL"].stripped, s["eL"].stripped),
                "text": share(s["bL"].text, s["cL"].text, s["eL"].text),
            }),
        );
        v.insert(
            "lto_text_growth_pct".into(),
            json!({
                "build": pct(s["bL"].text, s["r"].text),
                "ideal": pct(s["eL"].text, s["e"].text),
            }),
        );
        libs.push(json!({"library": label, "configs": v}));
    }
    Ok(json!({"name": name, "libraries": libs}))
}

pub fn run(args: &Args) -> Result<(), String> {
    let mut out = String::new();
    let mut all = Vec::new();
    for (name, dir) in &args.dirs {
        all.push(level(name, dir, &mut out)?);
    }
    print!("{out}");
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&json!({"lto": all})).map_err(|e| e.to_string())?;
        std::fs::write(p, text + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
        println!("\nwritten: {}", p.display());
    }
    Ok(())
}
