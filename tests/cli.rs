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

/// status and merge speak JSON too, with the figures their text shows.
#[test]
fn status_and_merge_json() {
    use common::{Fixture, Linker};
    let f = Fixture::new(Linker::Bfd);
    f.write(
        "l.c",
        "int used(void) { return 1; }\nint unused(void) { return 2; }\n",
    )
    .write(
        "m.c",
        "int used(void);\nint main(void) { return used() - 1; }\n",
    );
    f.gcc(&["-fPIC", "-c", "l.c", "m.c"]);
    f.link(&["-shared", "-o", "libl.so", "l.o"]);
    f.link(&["-o", "m", "m.o", "-L.", "-ll"]);
    let out = ldprune()
        .args(["status", "--json", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["links"]["total"], 2, "{v}");
    assert_eq!(v["modules"], 2, "{v}");
    let out = ldprune()
        .args(["merge", "--json", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hidden"], 1, "{v}");
    assert!(v["decisions"].as_str().unwrap().ends_with("decisions.ldpd"));
}
