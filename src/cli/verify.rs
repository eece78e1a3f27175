//! `ldprune verify`: one line per problem on stdout (or JSON), the summary
//! on stderr; exit 1 when there are problems.

use std::fmt::Write;
use std::path::PathBuf;

use crate::verify::{Options, verify};

pub fn run(roots: &[PathBuf], host: bool, as_json: bool) -> Result<i32, String> {
    let report = verify(roots, &Options { host })?;
    let mut out = String::new();
    if as_json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "{text}");
    } else {
        for p in &report.problems {
            let _ = writeln!(out, "{p}");
        }
    }
    super::print(&out);
    if !report.host_libraries.is_empty() {
        eprintln!(
            "verify: {} libraries taken from the host (--no-host to forbid)",
            report.host_libraries.len()
        );
    }
    eprintln!(
        "verify: {} files, {} problems",
        report.files,
        report.problems.len()
    );
    Ok(if report.is_clean() { 0 } else { 1 })
}
