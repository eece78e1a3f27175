//! What Run-2 did: one result file per applied link (DIR/applied/), and
//! DIR/apply.log, one line per link left unchanged. `ldprune report` reads
//! both to put achieved next to predicted.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::elf::hash::Hash128;
use crate::elf::output::{OutputSizes, parse_output};
use crate::elf::sparse::read_dynamic_parts;
use crate::state::StateDir;

/// What Run-2 achieved for one link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRecord {
    pub identity: Hash128,
    /// -o as given, and the directory the link ran in.
    pub output: String,
    pub cwd: String,
    /// Nanoseconds since the epoch.
    pub applied_at: u64,
    /// Names this link was asked to hide (as its objects spell them).
    pub hidden: Vec<String>,
    /// Of those, names the output still exports: should be empty.
    pub still_exported: Vec<String>,
    pub exports: u64,
    pub sizes: OutputSizes,
    pub file_size: u64,
}

impl AppliedRecord {
    /// Reads the finished output at `path`; None if it is missing or not a
    /// complete ELF file (the link failed).
    pub fn measure(
        identity: Hash128,
        path: &Path,
        output: &str,
        cwd: &str,
        hidden: Vec<String>,
    ) -> Option<AppliedRecord> {
        let file = std::fs::File::open(path).ok()?;
        let bytes = read_dynamic_parts(&file).ok()?;
        let facts = parse_output(&bytes[..]).ok()?;
        let exported: std::collections::HashSet<&str> =
            facts.exports.iter().map(|e| e.name.as_str()).collect();
        // Hidden names are spelled as objects spell them (`foo@@V2`).
        let plain = |n: &str| n.split('@').next().unwrap_or(n).to_string();
        let still_exported = hidden
            .iter()
            .filter(|h| exported.contains(plain(h).as_str()))
            .cloned()
            .collect();
        Some(AppliedRecord {
            identity,
            output: output.to_string(),
            cwd: cwd.to_string(),
            applied_at: now_nanos(),
            hidden,
            still_exported,
            exports: facts.exports.len() as u64,
            sizes: facts.sizes,
            file_size: file.metadata().map_or(0, |m| m.size()),
        })
    }
}

/// One line of DIR/apply.log: a Run-2 link left unchanged, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// The link's identity, when it got as far as computing it.
    pub identity: Option<String>,
    pub cwd: String,
    pub output: String,
    pub why: String,
}

const LOG: &str = "apply.log";

/// Appends one line; one write with O_APPEND, so concurrent links do not
/// mix their lines. Best effort: a log failure never breaks a link.
pub(super) fn append_log(
    state: &StateDir,
    identity: Option<Hash128>,
    cwd: &str,
    output: &str,
    why: &str,
) {
    let id = identity.map_or_else(|| "-".to_string(), |i| i.to_string());
    // Tabs separate the fields; none of them holds a tab or a newline.
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    let line = format!("{id}\t{}\t{}\t{}\n", clean(cwd), clean(output), clean(why));
    let path = state.root().join(LOG);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Reads DIR/apply.log (missing: no lines). A malformed line is an error
/// naming the file and the line.
pub fn read_log(state: &StateDir) -> Result<Vec<LogLine>, String> {
    let path = state.root().join(LOG);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            match f[..] {
                [id, cwd, output, why] => Ok(LogLine {
                    identity: (id != "-").then(|| id.to_string()),
                    cwd: cwd.to_string(),
                    output: output.to_string(),
                    why: why.to_string(),
                }),
                _ => Err(format!(
                    "{}:{}: not an apply.log line (4 tab-separated fields)",
                    path.display(),
                    i + 1
                )),
            }
        })
        .collect()
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
