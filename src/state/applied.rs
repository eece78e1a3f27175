//! What Run-2 leaves in the state directory: one result file per applied
//! link (`DIR/applied/<id>-<cwd>.app`), and `DIR/apply.log`, one line per
//! link left unchanged (time, identity or `-`, directory, output, reason,
//! tab-separated). `apply` writes them, `report` reads them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::codec::FileKind;
use super::{APPLIED_FORMAT, Doing, Problem, StateDir, StateError, entry, file_name};
use crate::elf::hash::Hash128;
use crate::elf::output::OutputSizes;
use crate::state::record::Linker;

/// What Run-2 achieved for one link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRecord {
    pub identity: Hash128,
    /// -o as given, and the directory the link ran in.
    pub output: String,
    pub cwd: String,
    /// Nanoseconds since the epoch.
    pub applied_at: u64,
    /// How many names this link was asked to hide (the names themselves
    /// are in the decisions; not copied, a large list costs link time).
    pub hidden: u64,
    /// Of those, names the output still exports: should be empty.
    pub still_exported: Vec<String>,
    pub exports: u64,
    /// The linker that wrote the output (sizes compare only between
    /// outputs of one linker).
    pub linker: Linker,
    pub sizes: OutputSizes,
    pub file_size: u64,
    /// The output's GNU build-id: Run-2 changes it, and `report --image`
    /// finds an installed (perhaps stripped) file's Run-2 link by it.
    pub build_id: Option<Vec<u8>>,
}

/// One line of DIR/apply.log: a Run-2 link left unchanged, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Nanoseconds since the epoch.
    pub at: u64,
    /// The link's identity, when it got as far as computing it.
    pub identity: Option<String>,
    pub cwd: String,
    pub output: String,
    pub why: String,
}

const LOG: &str = "apply.log";

impl LogLine {
    /// The line as written: tabs separate the fields, so tabs and newlines
    /// inside them become blanks.
    pub fn encode(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        format!(
            "{}\t{}\t{}\t{}\t{}\n",
            self.at,
            self.identity.as_deref().map_or("-".into(), clean),
            clean(&self.cwd),
            clean(&self.output),
            clean(&self.why)
        )
    }

    /// Parses one line (without its newline); None if malformed.
    pub fn parse(line: &str) -> Option<LogLine> {
        let f: Vec<&str> = line.splitn(5, '\t').collect();
        let [at, id, cwd, output, why] = f[..] else {
            return None;
        };
        Some(LogLine {
            at: at.parse().ok()?,
            identity: (id != "-").then(|| id.to_string()),
            cwd: cwd.to_string(),
            output: output.to_string(),
            why: why.to_string(),
        })
    }
}

impl StateDir {
    /// Appends one line to DIR/apply.log in one write with O_APPEND, so
    /// concurrent links do not mix their lines. Refuses a log that is a
    /// link, a FIFO or anything but a regular file.
    pub fn append_log(&self, line: &LogLine) -> Result<(), StateError> {
        let path = self.root().join(LOG);
        let mut f = entry::open(&path, OpenOptions::new().create(true).append(true))?;
        f.write_all(line.encode().as_bytes())
            .map_err(|e| StateError::io(&path, Doing::Write, e))
    }

    /// Reads DIR/apply.log (missing: no lines). A malformed line is an
    /// error naming the file and the line.
    pub fn read_log(&self) -> Result<Vec<LogLine>, StateError> {
        let path = self.root().join(LOG);
        if fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
            return Ok(Vec::new());
        }
        let bytes = entry::read(&path, entry::MAX_FILE)?;
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| {
                LogLine::parse(l).ok_or_else(|| StateError::new(&path, Problem::LogLine(i + 1)))
            })
            .collect()
    }

    /// Writes what Run-2 achieved for one link (applied/, same naming).
    pub fn write_applied(&self, rec: &AppliedRecord) -> Result<PathBuf, StateError> {
        let dir = self.root().join("applied");
        entry::ensure_dir(&dir)?;
        let bytes = super::codec::encode(FileKind::Applied, APPLIED_FORMAT, rec)
            .map_err(|e| StateError::codec(&dir, e))?;
        let name = file_name(rec.identity, &rec.cwd, Some(&rec.output), "app");
        self.stage_bytes(&bytes, dir.join(&name), &name)?.publish()
    }

    /// Every Run-2 result; unusable files (and an `applied/` that is not a
    /// real directory) come back as errors.
    pub fn load_applied(&self) -> (Vec<AppliedRecord>, Vec<StateError>) {
        let dir = self.root().join("applied");
        if let Some(e) = entry::misplaced(&dir, true) {
            return (Vec::new(), vec![e]);
        }
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "app"))
        {
            match super::read_file(p, FileKind::Applied, APPLIED_FORMAT..=APPLIED_FORMAT) {
                Ok(r) => good.push(r),
                Err(e) => bad.push(e),
            }
        }
        (good, bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_round_trip() {
        let l = LogLine {
            at: 7,
            identity: None,
            cwd: "/a\tb".into(),
            output: "x\ny".into(),
            why: "not in the decisions".into(),
        };
        let text = l.encode();
        assert_eq!(text, "7\t-\t/a b\tx y\tnot in the decisions\n");
        let back = LogLine::parse(text.trim_end()).unwrap();
        assert_eq!(back.cwd, "/a b");
        assert_eq!(back.identity, None);
        assert!(LogLine::parse("7\t-\tonly three").is_none());
        assert!(LogLine::parse("x\t-\ta\tb\tc").is_none());
    }
}
