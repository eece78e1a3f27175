//! The manuals (man/*.1, man/*.7): groff renders them without a warning,
//! ldprune(1) describes every subcommand and every subcommand has --json,
//! and every LDPRUNE_ variable the sources read is documented. The lists
//! come from the program and the sources, so a new subcommand or variable
//! fails here until it is documented.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::ldprune;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    pages
}

fn page(name: &str) -> String {
    std::fs::read_to_string(root().join("man").join(name)).unwrap()
}

#[test]
fn groff_renders_every_page_without_warnings() {
    let pages = pages();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for p in &pages {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(p)
            .output()
            .expect("groff (groff-base) installed");
        assert!(out.status.success(), "{}", p.display());
        assert!(
            out.stderr.is_empty(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.len() > 1000, "{}", p.display());
    }
}

/// The subcommands `ldprune --help` lists (help apart).
fn subcommands() -> Vec<String> {
    let out = ldprune().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let list = &help[help.find("Commands:").expect("a command list")..];
    list.lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn every_subcommand_is_documented_and_has_json() {
    let cmds = subcommands();
    assert!(cmds.len() >= 7, "{cmds:?}");
    let man = page("ldprune.1");
    for c in &cmds {
        assert!(
            man.contains(&format!(".SS \"{c} ")),
            "ldprune.1 has no section for `{c}`"
        );
        let out = ldprune().args([c, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--json"), "`ldprune {c}` has no --json");
    }
    let top = ldprune().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    for step in ["Run-1", "merge", "Run-2", "report", "verify", "plugin-opt"] {
        assert!(top.contains(step), "--help does not mention {step}");
    }
}

/// Every `LDPRUNE_NAME` in the sources of the plugin, the command, the
/// wrappers and linkargs.
fn variables_in_sources() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = ["src", "wrappers/src", "linkargs/src"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                let mut rest = text.as_str();
                while let Some(i) = rest.find("LDPRUNE_") {
                    let tail = &rest[i..];
                    let end = tail
                        .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                        .unwrap_or(tail.len());
                    let name = tail[..end].trim_end_matches('_');
                    if name.len() > "LDPRUNE_".len() {
                        found.insert(name.to_string());
                    }
                    rest = &tail[end..];
                }
            }
        }
    }
    found
}

#[test]
fn every_variable_is_documented() {
    let vars = variables_in_sources();
    for v in ["LDPRUNE_RUN", "LDPRUNE_STATE", "LDPRUNE_REAL_PATH"] {
        assert!(vars.contains(v), "the scan found no {v}: {vars:?}");
    }
    let docs = page("ldprune-plugin.7") + &page("ldprune-wrappers.1");
    for v in &vars {
        assert!(
            docs.contains(&format!(".B {v}\n")),
            "{v} is read by the sources but has no entry in ldprune-plugin(7) or ldprune-wrappers(1)"
        );
    }
    let plugin = page("ldprune-plugin.7");
    for opt in ["run=1|2|off", "state=", "strict", "log=", "no\\-slim\\-lto"] {
        assert!(plugin.contains(opt), "ldprune-plugin(7) lacks {opt}");
    }
}
