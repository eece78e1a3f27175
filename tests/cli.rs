//! The command line itself: every subcommand answers --help and --version.

mod common;

use common::ldprune;

/// The subcommands `ldprune --help` lists (so a new one is covered too).
fn subcommands() -> Vec<String> {
    let out = ldprune().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let list: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect();
    assert!(list.len() >= 7, "subcommands in --help: {list:?}\n{text}");
    list
}

#[test]
fn version_and_help_on_every_subcommand() {
    let version = env!("CARGO_PKG_VERSION");
    let out = ldprune().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ldprune {version}\n")
    );
    let subs = subcommands();
    for expected in [
        "status", "merge", "report", "explain", "dump", "verify", "flags",
    ] {
        assert!(subs.iter().any(|s| s == expected), "{expected} in {subs:?}");
    }
    for sub in &subs {
        for flag in ["--version", "-V"] {
            let out = ldprune().args([sub, flag]).output().unwrap();
            assert!(out.status.success(), "ldprune {sub} {flag}: {out:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("ldprune-{sub} {version}\n"),
                "ldprune {sub} {flag}"
            );
        }
        for flag in ["--help", "-h"] {
            let out = ldprune().args([sub, flag]).output().unwrap();
            assert!(out.status.success(), "ldprune {sub} {flag}: {out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!("Usage: ldprune {sub}")) && text.contains("--version"),
                "ldprune {sub} {flag}:\n{text}"
            );
        }
        let out = ldprune().args(["help", sub]).output().unwrap();
        assert!(out.status.success(), "ldprune help {sub}");
    }
}
