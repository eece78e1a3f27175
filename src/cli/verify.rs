//! `ldprune verify`: one line per problem on stdout (or JSON), the summary
//! on stderr; exit 1 when there are problems.

use std::fmt::Write;
use std::path::PathBuf;

use crate::verify::{Options, verify};

pub fn run(
    roots: &[PathBuf],
    host: bool,
    sysroot: Option<PathBuf>,
    as_json: bool,
) -> Result<i32, super::Error> {
    let report = verify(roots, &Options { host, sysroot })?;
    let mut out = String::new();
    if as_json {
        let text = serde_json::to_string_pretty(&report)?;
        let _ = writeln!(out, "{text}");
    } else {
        for p in &report.problems {
            let _ = writeln!(out, "{p}");
        }
    }
    super::print(&out);
    // What the image lacks and the host's standard directories provided:
    // the image is only proven with these in it.
    for h in &report.host_libraries {
        let s = if h.files == 1 { "" } else { "s" };
        eprintln!(
            "verify: {} taken from the host: {} (used by {} file{s}; --no-host to forbid)",
            h.name,
            h.path.display(),
            h.files
        );
    }
    eprintln!(
        "verify: {} files, {} problems",
        report.files,
        report.problems.len()
    );
    Ok(if report.is_clean() { 0 } else { 1 })
}
