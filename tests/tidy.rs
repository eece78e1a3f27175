//! Source rules checked as tests: the direction data flows between
//! modules (elf -> record -> state -> analysis -> decisions -> apply), and
//! where `unsafe` may live. A new `use crate::x` that breaks the direction
//! fails here with the file and line.

use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and the modules it may name.
/// `cli` is the top and may name anything.
const MAY_NAME: &[(&str, &[&str])] = &[
    ("fasthash", &[]),
    ("glob", &[]),
    ("panics", &[]),
    ("elf", &["fasthash", "glob"]),
    ("identity", &["elf", "fasthash"]),
    ("tree", &["elf", "fasthash", "glob"]),
    ("state", &["elf", "identity", "fasthash"]),
    (
        "record",
        &["elf", "identity", "state", "fasthash", "panics"],
    ),
    (
        "analysis",
        &["elf", "identity", "state", "fasthash", "glob"],
    ),
    ("apply", &["elf", "identity", "state", "record", "fasthash"]),
    ("verify", &["elf", "identity", "tree", "fasthash", "glob"]),
    (
        "plugin",
        &[
            "elf", "identity", "state", "record", "apply", "fasthash", "panics",
        ],
    ),
    (
        "report",
        &[
            "elf", "identity", "state", "analysis", "tree", "fasthash", "glob",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

/// The module names after each `crate::` in `line`.
fn named_modules(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .map(|(i, m)| {
            let rest = &line[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

fn sources() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    (src, files)
}

#[test]
fn modules_name_only_what_is_upstream_of_them() {
    let (src, files) = sources();
    let mut broken = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if module == "cli" || module == "bin" {
            continue;
        }
        let allowed = MAY_NAME
            .iter()
            .find(|(m, _)| *m == module)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{}: module {module} is not in tests/tidy.rs's MAY_NAME: add it with the modules it may name", file.display()));
        let text = std::fs::read_to_string(file).expect("a source file is readable");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for named in named_modules(line) {
                if named != module && !allowed.contains(&named) {
                    broken.push(format!(
                        "{}:{}: {module} names crate::{named}",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "data flows one way; these lines name a module downstream:\n{}",
        broken.join("\n")
    );
}

#[test]
fn unsafe_code_is_allowed_only_for_the_plugin_ffi() {
    let (src, files) = sources();
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert!(
        lib.contains("#![deny(unsafe_code)]"),
        "src/lib.rs must deny unsafe code"
    );
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file is readable");
        let rel = file.strip_prefix(&src).expect("under src/");
        for (n, line) in text.lines().enumerate() {
            if line.contains("allow(unsafe_code)") {
                assert_eq!(
                    rel,
                    Path::new("plugin/mod.rs"),
                    "{}:{}: unsafe is allowed only on the plugin's ffi and bindings modules",
                    file.display(),
                    n + 1
                );
                let next = text.lines().nth(n + 1).unwrap_or("");
                assert!(
                    next.contains("mod ffi") || next.contains("mod bindings"),
                    "{}:{}: allow(unsafe_code) must sit on `mod ffi` or `mod bindings`, found {next:?}",
                    file.display(),
                    n + 2
                );
            }
        }
    }
}

#[test]
fn every_extern_c_entry_catches_panics() {
    let (src, _) = sources();
    let ffi = src.join("plugin/ffi.rs");
    let text = std::fs::read_to_string(&ffi).expect("ffi.rs");
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = 0;
    for (n, line) in lines.iter().enumerate() {
        if !line.contains("extern \"C\" fn ") || line.trim_start().starts_with("static") {
            continue;
        }
        entries += 1;
        // The body up to the function's closing brace at column 0.
        let body: Vec<&str> = lines[n..]
            .iter()
            .take_while(|l| **l != "}")
            .copied()
            .collect();
        assert!(
            body.iter().any(|l| l.contains("catch_unwind(")),
            "{}:{}: an extern \"C\" entry must catch panics (catch_unwind)",
            ffi.display(),
            n + 1
        );
    }
    assert!(
        entries >= 4,
        "found only {entries} extern \"C\" entries in ffi.rs"
    );
}

#[test]
fn the_rule_finds_a_downstream_name() {
    // The checker itself: a line naming apply from state is caught.
    assert_eq!(named_modules("use crate::apply::AppliedRecord;"), ["apply"]);
    assert_eq!(
        named_modules("let p = crate::elf::types::plain; crate::glob::glob(a, b)"),
        ["elf", "glob"]
    );
    assert!(named_modules("// no crate here").is_empty());
}

/// The places in `text` where a `Result<...>` has `String` as its error:
/// each `Result<` whose last top-level argument, up to its matching `>`,
/// is `String` (so `Result<Option<(A, Vec<B>)>, String>` counts).
fn string_results(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("Result<") {
        let args = &text[at + "Result<".len()..];
        let (mut depth, mut last) = (0i32, 0);
        for (i, c) in args.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => last = i + 1,
                '>' if depth == 0 => {
                    if last > 0 && args[last..i].trim() == "String" {
                        found.push(at);
                    }
                    break;
                }
                '>' => depth -= 1,
                // Not a type after all (a comparison, say).
                ';' | '{' | '}' => break,
                _ => {}
            }
        }
    }
    found
}

/// No `Result<..., String>` in `src/`. Errors are typed (an enum per
/// module with the path and what is wrong, turned into text once, where
/// the CLI prints it or the plugin reports it): a caller can tell a missing
/// file from a damaged one only by the kind, never by searching text.
#[test]
fn no_string_errors() {
    let (src, files) = sources();
    let mut places = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file is readable");
        for at in string_results(&text) {
            let line = text[..at].lines().count().max(1);
            let rel = file.strip_prefix(&src).expect("under src/");
            places.push(format!("src/{}:{line}", rel.display()));
        }
    }
    assert!(
        places.is_empty(),
        "{} functions return Result<_, String>: give them a typed error (an enum \
         saying what is wrong, with Display):\n{}",
        places.len(),
        places.join("\n")
    );
}

#[test]
fn string_results_are_found_however_nested() {
    assert_eq!(string_results("fn a() -> Result<u8, String> {").len(), 1);
    assert_eq!(
        string_results("-> Result<(Vec<A>, Vec<B>), String> {").len(),
        1
    );
    assert_eq!(
        string_results("fn f(x: Result<Option<FxHashMap<A, B>>, String>)").len(),
        1
    );
    assert!(string_results("-> Result<Vec<String>, StateError> {").is_empty());
    assert!(string_results("-> io::Result<String> {").is_empty());
    assert!(string_results("-> Result<(), Box<dyn Error + Send>> {").is_empty());
}
