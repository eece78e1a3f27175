//! Measures what `bench/corpus/run` left in each linker's directory and
//! writes the table: per library and in total, for (a)-(e): .text,
//! .data+.rodata, stripped file size and exported names, percentages
//! against (a) and (b), predicted against achieved for (c) and (d) (from
//! `ldprune report --json`), achieved as a share of (e)'s saving, build
//! time ratios, and every name the ideal hides but ldprune keeps, with
//! `ldprune explain`'s reason.
//!
//! A linker's directory holds images/{a,b,run1,c,d} (installed prefixes),
//! ideal/{all,image} (the relinked libraries), report-{c,d}.json, times,
//! tests-{b,c}/, verify-{c,d}.txt, smoke-{b,c,d}.txt, state-{c,d}.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::elfinfo;
use crate::ideal::library_names;

pub struct Args {
    pub linkers: Vec<(String, PathBuf)>,
    pub ldprune: PathBuf,
    pub json: Option<PathBuf>,
    pub svg: Option<PathBuf>,
}

pub const CONFIGS: [&str; 6] = ["a", "b", "c", "d", "e-all", "e-image"];

#[derive(Clone, Copy, Default)]
struct Sizes {
    text: u64,
    data: u64,
    stripped: u64,
    exports: u64,
}

impl Sizes {
    fn add(&mut self, o: &Sizes) {
        self.text += o.text;
        self.data += o.data;
        self.stripped += o.stripped;
        self.exports += o.exports;
    }
    fn json(&self) -> Value {
        json!({"text": self.text, "data_rodata": self.data, "stripped": self.stripped, "exports": self.exports})
    }
}

struct Lib {
    file: String,
    label: String,
    sizes: BTreeMap<&'static str, Sizes>,
    names: BTreeMap<&'static str, BTreeSet<String>>,
}

fn path_of(dir: &Path, config: &str, file: &str) -> PathBuf {
    match config {
        "e-all" => dir.join("ideal/all").join(file),
        "e-image" => dir.join("ideal/image").join(file),
        c => dir.join("images").join(c).join("lib").join(file),
    }
}

fn label(file: &str) -> String {
    file.split(".so").next().unwrap_or(file).to_string()
}

fn pct(x: u64, base: u64) -> f64 {
    if base == 0 {
        0.0
    } else {
        (x as f64 - base as f64) * 100.0 / base as f64
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// (predicted, achieved) allocated bytes saved per module file name, from
/// `ldprune report --json`.
fn report_savings(path: &Path) -> Result<BTreeMap<String, (i64, Option<i64>)>, String> {
    let v = read_json(path)?;
    let mut out = BTreeMap::new();
    for m in v["modules"].as_array().into_iter().flatten() {
        let file = m["module"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
        let p = &m["predicted"];
        let predicted = n(p, "saved");
        let a = &m["achieved"];
        let achieved = (!a.is_null()).then(|| n(a, "saved"));
        out.insert(file, (predicted, achieved));
    }
    Ok(out)
}

/// The savings of the module installed as `file`: by its name, or else by
/// the name it was linked as when one module has it (nettle links
/// `libnettle.so` and installs `libnettle.so.8.6`).
fn savings_of(map: &BTreeMap<String, (i64, Option<i64>)>, file: &str) -> (i64, Option<i64>) {
    fn linked_name(f: &str) -> &str {
        f.find(".so").map_or(f, |i| &f[..i + 3])
    }
    if let Some(&v) = map.get(file) {
        return v;
    }
    let mut same = map
        .iter()
        .filter(|(k, _)| linked_name(k) == linked_name(file));
    match (same.next(), same.next()) {
        (Some((_, &v)), None) => v,
        _ => (0, None),
    }
}

/// Seconds per configuration: (configure + make + install, test suites).
fn times(path: &Path) -> Result<BTreeMap<String, (f64, f64)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, cfg, _, step, secs] = f[..] else {
            continue;
        };
        let secs: f64 = secs.parse().unwrap_or(0.0);
        let e = out.entry(cfg.to_string()).or_default();
        if step.starts_with("check") {
            e.1 += secs;
        } else {
            e.0 += secs;
        }
    }
    Ok(out)
}

fn read_or_empty(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// `ldprune explain`'s verdict and reason for each name, in one module.
fn explain(ldprune: &Path, scope: &[String], module: &str, names: &[&String]) -> Vec<Value> {
    names
        .iter()
        .map(|name| {
            let out = Command::new(ldprune)
                .arg("explain")
                .args(scope)
                .args(["--module", module, "--json", name.as_str()])
                .output();
            let first = out
                .ok()
                .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
                .and_then(|v| v.as_array().and_then(|a| a.first().cloned()));
            match first {
                Some(v) => json!({"name": name, "verdict": v["verdict"], "reason": v["reason"], "chain": v["chain"]}),
                None => json!({"name": name, "verdict": "unknown", "reason": "ldprune explain gave no answer"}),
            }
        })
        .collect()
}

/// The reason in a few words, for the terminal: "C string in X", "demanded
/// by Y", or explain's own words.
fn short_reason(v: &Value) -> String {
    let chain: Vec<&str> = v["chain"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(c) = chain.iter().find(|c| c.contains("C string")) {
        return c.trim_start_matches("<- ").to_string();
    }
    if let Some(c) = chain.last() {
        let c = c.trim().trim_start_matches("<- ");
        return format!("{}: {c}", v["reason"].as_str().unwrap_or(""));
    }
    v["reason"].as_str().unwrap_or("").to_string()
}

fn linker(name: &str, dir: &Path, ldprune: &Path, out: &mut String) -> Result<Value, String> {
    let tmp = dir.join("tmp-table");
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut libs = Vec::new();
    for file in library_names(&dir.join("images/b/lib"))? {
        let mut lib = Lib {
            label: label(&file),
            file,
            sizes: BTreeMap::new(),
            names: BTreeMap::new(),
        };
        for c in CONFIGS {
            let p = path_of(dir, c, &lib.file);
            let info = elfinfo::read(&p)?;
            let s = Sizes {
                text: info.text,
                data: info.data,
                stripped: elfinfo::stripped_size(&p, &tmp)?,
                exports: info.exports.len() as u64,
            };
            lib.sizes.insert(c, s);
            lib.names.insert(c, info.exports);
        }
        libs.push(lib);
    }
    libs.sort_by_key(|l| order(&l.label));
    let mut total: BTreeMap<&str, Sizes> = BTreeMap::new();
    for l in &libs {
        for c in CONFIGS {
            total.entry(c).or_default().add(&l.sizes[c]);
        }
    }
    let _ = writeln!(
        out,
        "\n=== {name}: {} libraries, (a) plain -O2, (b) --gc-sections, (c) ldprune all links, (d) ldprune image scope, (e) ideal per scope",
        libs.len()
    );
    for (what, get) in [
        (
            "stripped file bytes",
            (|s: &Sizes| s.stripped) as fn(&Sizes) -> u64,
        ),
        (".text bytes", |s: &Sizes| s.text),
        (".data+.rodata bytes", |s: &Sizes| s.data),
        ("exported names", |s: &Sizes| s.exports),
    ] {
        let _ = writeln!(out, "\n{what}");
        let _ = write!(out, "{:<12}", "library");
        for c in CONFIGS {
            let _ = write!(out, " {:>11}", format!("({c})"));
        }
        let _ = writeln!(out, "   (c)/(b)  (e-all)/(b)  (d)/(b)  (e-image)/(b)");
        let rows = libs
            .iter()
            .map(|l| (l.label.as_str(), &l.sizes))
            .chain([("total", &total)]);
        for (label, sizes) in rows {
            let _ = write!(out, "{label:<12}");
            for c in CONFIGS {
                let _ = write!(out, " {:>11}", group(get(&sizes[c])));
            }
            let b = get(&sizes["b"]);
            let _ = writeln!(
                out,
                "   {:>+6.1}%  {:>+10.1}%  {:>+6.1}%  {:>+12.1}%",
                pct(get(&sizes["c"]), b),
                pct(get(&sizes["e-all"]), b),
                pct(get(&sizes["d"]), b),
                pct(get(&sizes["e-image"]), b)
            );
        }
        let a = get(&total["a"]);
        let _ = writeln!(
            out,
            "{:<12} (b) {:+.1}%, (c) {:+.1}%, (d) {:+.1}%, (e-all) {:+.1}%, (e-image) {:+.1}% against (a)",
            "total",
            pct(get(&total["b"]), a),
            pct(get(&total["c"]), a),
            pct(get(&total["d"]), a),
            pct(get(&total["e-all"]), a),
            pct(get(&total["e-image"]), a)
        );
    }

    // Share of the ideal's saving (stripped bytes, against (b)).
    let share = |s: &BTreeMap<&str, Sizes>, c: &str, e: &str| {
        let ideal = s["b"].stripped as f64 - s[e].stripped as f64;
        let got = s["b"].stripped as f64 - s[c].stripped as f64;
        if ideal > 0.0 {
            Some(got * 100.0 / ideal)
        } else {
            None
        }
    };
    let fmt_share = |v: Option<f64>| v.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "-".into());
    let rc = report_savings(&dir.join("report-c.json"))?;
    let rd = report_savings(&dir.join("report-d.json"))?;
    let _ = writeln!(
        out,
        "\nldprune against the ideal (stripped bytes saved vs (b)), and predicted vs achieved (allocated bytes saved, ldprune report)"
    );
    let _ = writeln!(
        out,
        "{:<12} {:>12} {:>12} {:>12} {:>10}   {:>12} {:>12} {:>12} {:>10}",
        "library",
        "(c) share",
        "predicted",
        "achieved",
        "ach/pred",
        "(d) share",
        "predicted",
        "achieved",
        "ach/pred"
    );
    let mut lib_json = Vec::new();
    let mut sums = [0i64; 4];
    for l in &libs {
        let (pc, ac) = savings_of(&rc, &l.file);
        let (pd, ad) = savings_of(&rd, &l.file);
        sums[0] += pc;
        sums[1] += ac.unwrap_or(0);
        sums[2] += pd;
        sums[3] += ad.unwrap_or(0);
        let ratio = |p: i64, a: Option<i64>| match a {
            Some(a) if p != 0 => format!("{:.3}", a as f64 / p as f64),
            Some(_) => "-".to_string(),
            None => "not applied".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<12} {:>12} {:>12} {:>12} {:>10}   {:>12} {:>12} {:>12} {:>10}",
            l.label,
            fmt_share(share(&l.sizes, "c", "e-all")),
            group(pc.max(0) as u64),
            ac.map(|a| group(a.max(0) as u64)).unwrap_or_default(),
            ratio(pc, ac),
            fmt_share(share(&l.sizes, "d", "e-image")),
            group(pd.max(0) as u64),
            ad.map(|a| group(a.max(0) as u64)).unwrap_or_default(),
            ratio(pd, ad),
        );
        let mut configs = serde_json::Map::new();
        for c in CONFIGS {
            let s = &l.sizes[c];
            let mut v = s.json();
            v["stripped_vs_a_pct"] = json!(pct(s.stripped, l.sizes["a"].stripped));
            v["stripped_vs_b_pct"] = json!(pct(s.stripped, l.sizes["b"].stripped));
            configs.insert(c.to_string(), v);
        }
        lib_json.push(json!({
            "library": l.label, "file": l.file, "configs": configs,
            "c": {"predicted_saved": pc, "achieved_saved": ac, "share_of_ideal_pct": share(&l.sizes, "c", "e-all")},
            "d": {"predicted_saved": pd, "achieved_saved": ad, "share_of_ideal_pct": share(&l.sizes, "d", "e-image")},
        }));
    }
    let _ = writeln!(
        out,
        "{:<12} {:>12} {:>12} {:>12} {:>10}   {:>12} {:>12} {:>12} {:>10}",
        "total",
        fmt_share(share(&total, "c", "e-all")),
        group(sums[0].max(0) as u64),
        group(sums[1].max(0) as u64),
        format!("{:.3}", sums[1] as f64 / sums[0].max(1) as f64),
        fmt_share(share(&total, "d", "e-image")),
        group(sums[2].max(0) as u64),
        group(sums[3].max(0) as u64),
        format!("{:.3}", sums[3] as f64 / sums[2].max(1) as f64),
    );

    // Names the ideal hides and ldprune keeps, with ldprune's reason.
    let scope_c = vec![
        "--state".to_string(),
        dir.join("state-c").display().to_string(),
    ];
    let scope_d = vec![
        "--state".to_string(),
        dir.join("state-d").display().to_string(),
        "--scope".to_string(),
        "image".to_string(),
        "--image".to_string(),
        dir.join("images/run1").display().to_string(),
    ];
    let mut kept_json = serde_json::Map::new();
    for (cfg, ideal, scope) in [("c", "e-all", &scope_c), ("d", "e-image", &scope_d)] {
        let _ = writeln!(
            out,
            "\nnames the ideal ({ideal}) hides and ldprune ({cfg}) keeps, with ldprune explain's reason"
        );
        let mut per_lib = serde_json::Map::new();
        for l in &libs {
            let extra: Vec<&String> = l.names[cfg].difference(&l.names[ideal]).collect();
            let fewer = l.names[ideal].difference(&l.names[cfg]).count();
            let answers = explain(ldprune, scope, &l.file, &extra);
            let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for a in &answers {
                by_reason
                    .entry(short_reason(a))
                    .or_default()
                    .push(a["name"].as_str().unwrap_or("").to_string());
            }
            let _ = writeln!(
                out,
                "  {} ({} names{}):",
                l.label,
                extra.len(),
                if fewer > 0 {
                    format!("; ldprune hides {fewer} the ideal keeps")
                } else {
                    String::new()
                }
            );
            for (reason, names) in &by_reason {
                let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
                let more = if names.len() > 6 {
                    format!(" and {} more", names.len() - 6)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "    {:>3}  {reason}: {}{more}",
                    names.len(),
                    shown.join(", ")
                );
            }
            per_lib.insert(
                l.label.clone(),
                json!({"kept_by_ldprune_only": answers, "hidden_by_ldprune_only": fewer}),
            );
        }
        kept_json.insert(cfg.to_string(), Value::Object(per_lib));
    }

    // Build time against (b), and what the run checked.
    let t = times(&dir.join("times"))?;
    let get_t = |c: &str| t.get(c).copied().unwrap_or_default();
    let b = get_t("b").0.max(0.001);
    let _ = writeln!(
        out,
        "\nbuild time (configure, make, make install; -j2): (b) {:.1} s; Run-1 {:.1} s ({:.2}); Run-2 (c) {:.1} s ({:.2}); Run-2 (d, image targets only) {:.1} s ({:.2}); (a) {:.1} s",
        b,
        get_t("run1").0,
        get_t("run1").0 / b,
        get_t("c").0,
        get_t("c").0 / b,
        get_t("d").0,
        get_t("d").0 / b,
        get_t("a").0
    );
    let _ = writeln!(
        out,
        "test suites: (b) {:.1} s, Run-2 (c) {:.1} s",
        get_t("b").1,
        get_t("c").1
    );
    let last = |f: &str| {
        read_or_empty(&dir.join(f))
            .lines()
            .last()
            .unwrap_or("")
            .to_string()
    };
    let same = |x: &str, y: &str| {
        let a = read_or_empty(&dir.join(x));
        !a.is_empty() && a == read_or_empty(&dir.join(y))
    };
    // Each suite's counts, as the run read them from its output, in every
    // configuration that ran it; a configuration passes when all equal (b)'s.
    let mut tests = serde_json::Map::new();
    let mut tests_same = true;
    let mut f_same = true;
    for l in std::fs::read_dir(dir.join("tests-b"))
        .map_err(|e| format!("{}/tests-b: {e}", dir.display()))?
    {
        let l = l.map_err(|e| e.to_string())?;
        let f = l.file_name().to_string_lossy().into_owned();
        let b = read_or_empty(&l.path());
        let mut per_cfg = serde_json::Map::new();
        for cfg in ["b", "c", "f"] {
            let text = read_or_empty(&dir.join(format!("tests-{cfg}")).join(&f));
            if cfg == "f" && text.is_empty() {
                continue; // (f) rebuilds zlib and libpng only
            }
            let same = text == b;
            match cfg {
                "c" => tests_same &= same,
                "f" => f_same &= same,
                _ => {}
            }
            per_cfg.insert(
                cfg.to_string(),
                json!({"counts": counts(&text), "same_as_b": same}),
            );
        }
        tests.insert(
            f.trim_end_matches(".tests").to_string(),
            Value::Object(per_cfg),
        );
    }
    let checks = json!({
        "tests_c_same_as_b": tests_same, "tests_f_same_as_b": f_same, "tests": tests,
        "verify_c": last("verify-c.txt"), "verify_d": last("verify-d.txt"),
        "smoke_c_same_as_b": same("smoke-b.txt", "smoke-c.txt"),
        "smoke_d_same_as_b": same("smoke-b.txt", "smoke-d.txt"),
        "smoke": read_or_empty(&dir.join("smoke-d.txt")).lines().filter(|l| l.contains("round trip") || l.starts_with("pngfix exit")).collect::<Vec<_>>(),
    });
    let _ = writeln!(
        out,
        "checks: test suites (c) as in (b): {}; verify (c): {}; verify (d): {}; smoke tests (c), (d) as in (b): {}, {}",
        tests_same,
        last("verify-c.txt"),
        last("verify-d.txt"),
        same("smoke-b.txt", "smoke-c.txt"),
        same("smoke-b.txt", "smoke-d.txt")
    );
    let _ = std::fs::remove_dir_all(&tmp);
    let mut totals = serde_json::Map::new();
    for c in CONFIGS {
        let mut v = total[c].json();
        v["stripped_vs_a_pct"] = json!(pct(total[c].stripped, total["a"].stripped));
        v["stripped_vs_b_pct"] = json!(pct(total[c].stripped, total["b"].stripped));
        totals.insert(c.to_string(), v);
    }
    Ok(json!({
        "linker": name,
        "libraries": lib_json,
        "total": {
            "configs": totals,
            "c": {"predicted_saved": sums[0], "achieved_saved": sums[1], "share_of_ideal_pct": share(&total, "c", "e-all")},
            "d": {"predicted_saved": sums[2], "achieved_saved": sums[3], "share_of_ideal_pct": share(&total, "d", "e-image")},
        },
        "kept_by_ldprune_only": kept_json,
        "build_seconds": {"a": get_t("a").0, "b": get_t("b").0, "run1": get_t("run1").0, "c": get_t("c").0, "d": get_t("d").0},
        "build_ratio_vs_b": {"run1": get_t("run1").0 / b, "c": get_t("c").0 / b, "d": get_t("d").0 / b},
        "test_seconds": {"b": get_t("b").1, "c": get_t("c").1},
        "checks": checks,
    }))
}

/// A suite summary ("KIND COUNT" lines, bench/corpus/run's summary) as
/// {"PASS": n, "FAIL": n, ...}.
fn counts(text: &str) -> Value {
    let mut m = serde_json::Map::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(' ')
            && let Ok(n) = v.trim().parse::<u64>()
        {
            m.insert(k.to_string(), json!(n));
        }
    }
    Value::Object(m)
}

/// Dependency order, as built.
fn order(label: &str) -> usize {
    [
        "libz",
        "libbz2",
        "liblzma",
        "libzstd",
        "libpng16",
        "libarchive",
        "libjsoncpp",
        "libjson-c",
        "libnettle",
        "libhogweed",
    ]
    .iter()
    .position(|l| *l == label)
    .unwrap_or(99)
}

/// 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub fn run(args: &Args) -> Result<(), String> {
    let mut out = String::new();
    let mut all = Vec::new();
    for (name, dir) in &args.linkers {
        all.push(linker(name, dir, &args.ldprune, &mut out)?);
    }
    print!("{out}");
    let doc = json!({"linkers": all});
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(p, text + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
        println!("\nwritten: {}", p.display());
    }
    if let Some(p) = &args.svg {
        std::fs::write(p, crate::svg::chart(&doc)).map_err(|e| format!("{}: {e}", p.display()))?;
        println!("written: {}", p.display());
    }
    Ok(())
}
