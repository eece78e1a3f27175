//! `ldprune merge`, `ldprune report`, `ldprune explain`: run the analysis
//! over the records of one or more state directories.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::analysis::{Analysis, NameCause, Options, SectionCause, analyse, glob};
use crate::state::decisions::{self, LinkDecision};
use crate::state::record::LinkRecord;
use crate::state::{StateDir, StateError};

/// Loads every record of `states`. A bad file is an error unless
/// `skip_bad`, and then it is reported and left out.
pub fn load_all(states: &[PathBuf], skip_bad: bool) -> Result<Vec<LinkRecord>, String> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for dir in states {
        let loaded = StateDir::open(dir)
            .and_then(|s| s.load_records())
            .map_err(|e| e.to_string())?;
        records.extend(loaded.records.into_iter().map(|(_, r)| r));
        bad.extend(loaded.bad);
    }
    if !bad.is_empty() {
        for e in &bad {
            eprintln!("ldprune: error: {e}");
        }
        if !skip_bad {
            return Err(format!(
                "{} record file(s) cannot be used; fix or remove them, or pass --skip-bad",
                bad.len()
            ));
        }
        eprintln!(
            "ldprune: skipped {} bad record file(s) (--skip-bad)",
            bad.len()
        );
    }
    Ok(records)
}

/// Reads keep lists: one name or glob per line, optionally `module:name`;
/// `#` starts a comment.
pub fn read_keep_lists(files: &[PathBuf]) -> Result<Vec<(Option<String>, String)>, String> {
    let mut keep = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.split_whitespace().count() > 1 {
                return Err(format!(
                    "{}:{}: expected one name, glob or module:name per line, found {line:?}",
                    f.display(),
                    n + 1
                ));
            }
            match line.split_once(':') {
                Some((m, name)) if !m.is_empty() && !name.is_empty() => {
                    keep.push((Some(m.to_string()), name.to_string()))
                }
                _ => keep.push((None, line.to_string())),
            }
        }
    }
    Ok(keep)
}

fn kib(n: u64) -> String {
    format!("{:.1}", n as f64 / 1024.0)
}

pub fn merge(states: &[PathBuf], keep: &[PathBuf], skip_bad: bool) -> Result<i32, String> {
    let opts = Options {
        keep: read_keep_lists(keep)?,
        ..Options::default()
    };
    let a = analyse(load_all(states, skip_bad)?, &opts);
    let decisions: Vec<LinkDecision> = a
        .results
        .iter()
        .map(|r| LinkDecision {
            identity: r.identity,
            output: r.path.display().to_string(),
            hide: r.hide.clone(),
        })
        .collect();
    let state = StateDir::open(&states[0]).map_err(|e| e.to_string())?;
    let written = decisions::write(&state, decisions).map_err(|e: StateError| e.to_string())?;
    let mut out = String::new();
    summary(&mut out, &a);
    let _ = writeln!(out, "decisions written to {}", written.display());
    super::print(&out);
    Ok(0)
}

fn summary(out: &mut String, a: &Analysis) {
    let (mut exports, mut hidden, mut before, mut after) = (0, 0, 0u64, 0u64);
    for r in &a.results {
        exports += r.exports;
        hidden += r.hidden_exports.len();
        before += r.before.text + r.before.data;
        after += r.after.text + r.after.data;
    }
    let _ = writeln!(
        out,
        "{} modules, {} exports, {} hidden; predicted text+data {} KiB -> {} KiB",
        a.results.len(),
        exports,
        hidden,
        kib(before),
        kib(after)
    );
}

pub fn report(
    states: &[PathBuf],
    keep: &[PathBuf],
    skip_bad: bool,
    json: bool,
) -> Result<i32, String> {
    let opts = Options {
        keep: read_keep_lists(keep)?,
        ..Options::default()
    };
    let a = analyse(load_all(states, skip_bad)?, &opts);
    let mut out = String::new();
    if json {
        let v: Vec<serde_json::Value> = a
            .results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "module": r.path.display().to_string(), "exports": r.exports,
                    "hidden": r.hidden_exports, "pinned": r.pinned,
                    "predicted": {
                        "text_before": r.before.text, "text_after": r.after.text,
                        "data_before": r.before.data, "data_after": r.after.data,
                    },
                })
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "{:<40} {:>8} {:>7} {:>20} {:>20}",
            "module", "exports", "hidden", "text KiB (predicted)", "data KiB (predicted)"
        );
        for r in &a.results {
            let _ = writeln!(
                out,
                "{:<40} {:>8} {:>7} {:>20} {:>20}",
                short(&r.path),
                r.exports,
                r.hidden_exports.len(),
                format!("{} -> {}", kib(r.before.text), kib(r.after.text)),
                format!("{} -> {}", kib(r.before.data), kib(r.after.data)),
            );
        }
        summary(&mut out, &a);
    }
    super::print(&out);
    Ok(0)
}

fn short(p: &Path) -> String {
    let s = p.display().to_string();
    if s.len() <= 40 {
        s
    } else {
        format!("...{}", &s[s.len() - 37..])
    }
}

/// Why NAME is kept (the chain from a root) or why it is hidden.
pub fn explain(
    states: &[PathBuf],
    keep: &[PathBuf],
    skip_bad: bool,
    name: &str,
    module: Option<&str>,
) -> Result<i32, String> {
    let opts = Options {
        keep: read_keep_lists(keep)?,
        ..Options::default()
    };
    let a = analyse(load_all(states, skip_bad)?, &opts);
    let g = &a.graph;
    let Some(n) = g.names.get(name) else {
        return Err(format!("no recorded module exports or defines {name:?}"));
    };
    let mut out = String::new();
    let mut found = false;
    for r in &a.results {
        let m = &g.modules[r.module];
        if let Some(want) = module {
            if !(m.file_name == want
                || m.soname.as_deref() == Some(want)
                || glob(want, &m.file_name))
            {
                continue;
            }
        }
        let Some(e) = m.exports.iter().find(|e| e.name == n) else {
            continue;
        };
        found = true;
        let _ = write!(out, "{} in {}: ", e.spelled, m.path.display());
        if r.hidden_exports.contains(&e.spelled) {
            let _ = writeln!(
                out,
                "HIDDEN: no live section of any module imports it, no C string names it, and no rule keeps it"
            );
        } else if let Some(why) = r.pinned.get(&e.spelled) {
            let _ = writeln!(out, "kept: {why}");
        } else if let Some(cause) = a.demanded.get(&n) {
            let _ = writeln!(out, "kept: demanded");
            chain(&mut out, &a, cause.clone());
        } else {
            let _ = writeln!(
                out,
                "kept: its own objects do not define it (cannot be hidden at link time)"
            );
        }
    }
    if !found {
        return Err(format!(
            "{name:?} is not exported by any recorded module{}",
            module
                .map(|m| format!(" matching {m:?}"))
                .unwrap_or_default()
        ));
    }
    super::print(&out);
    Ok(0)
}

/// Prints the chain of causes from a demanded name back to a root.
fn chain(out: &mut String, a: &Analysis, mut cause: NameCause) {
    let g = &a.graph;
    let mut seen = 0;
    loop {
        seen += 1;
        if seen > 64 {
            let _ = writeln!(out, "  ... (chain continues)");
            return;
        }
        let sec = match &cause {
            NameCause::ImportedBy(s) => *s,
            NameCause::ImportedByRecord(i) => {
                let r = &a.records[*i];
                let _ = writeln!(
                    out,
                    "  <- imported by {} (a record whose graph is not analysed)",
                    r.output
                );
                return;
            }
            NameCause::CString(i) => {
                let r = &a.records[*i];
                let _ = writeln!(
                    out,
                    "  <- a C string in {} spells it (possible dlsym)",
                    r.output
                );
                return;
            }
            NameCause::Keep(p) => {
                let _ = writeln!(out, "  <- keep list entry {p:?}");
                return;
            }
        };
        // Walk the section chain to its origin.
        let mut s = sec;
        loop {
            let node = &g.sections[s as usize];
            let m = &g.modules[node.module as usize];
            let _ = writeln!(out, "  <- section {} of {}", node.name, m.file_name);
            match a.live[s as usize] {
                Some(SectionCause::From(p)) => s = p,
                Some(SectionCause::Root) => {
                    let _ = writeln!(
                        out,
                        "     (kept by --gc-sections: entry point, constructor or retained)"
                    );
                    return;
                }
                Some(SectionCause::Pinned(n)) => {
                    let _ = writeln!(out, "     (defines {}, which a rule keeps)", g.names.str(n));
                    return;
                }
                Some(SectionCause::Export(n)) => {
                    let _ = writeln!(out, "     (defines {}, which is demanded:)", g.names.str(n));
                    match a.demanded.get(&n) {
                        Some(c) => {
                            cause = c.clone();
                            break;
                        }
                        None => return,
                    }
                }
                None => return,
            }
        }
    }
}
