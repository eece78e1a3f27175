//! Run-1: turns the inputs a linker shows us and its finished output into a
//! link record. Never changes the link.

mod collect;
mod input;

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::elf::output::{looks_complete, parse_output};
use crate::elf::sparse::read_dynamic_parts;
use crate::identity::{
    LinkLine, OutputKind, link_identity, parse_link_line, read_interface_summary,
};
use crate::state::record::{LinkRecord, LinkStatus};
use crate::state::{StagedFile, StateDir, StateError};

use collect::Collected;
pub use input::InputFile;

/// What the linker tells the plugin about the link before any input.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    /// e.g. "GNU ld 2.40", "gold 1.16".
    pub linker: String,
    /// LDPT_OUTPUT_NAME, if the linker gave it.
    pub output_name: Option<String>,
    /// LDPT_LINKER_OUTPUT, if the linker gave it.
    pub output_kind: Option<OutputKind>,
    /// The linker's own argv (from /proc/self/cmdline).
    pub argv: Vec<String>,
    pub cwd: String,
}

/// Collects one link's facts while the linker runs.
pub struct Recorder {
    info: LinkInfo,
    line: LinkLine,
    collected: Collected,
}

/// A finished link: its record and a stamp of the output as it was at cleanup.
#[derive(Debug)]
pub struct Finished {
    pub record: LinkRecord,
    output_path: PathBuf,
    stamp: Option<Stamp>,
}

/// Identity of the output file, to notice a linker deleting it after cleanup
/// (gold does that when the link failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
    })
}

impl Recorder {
    pub fn new(info: LinkInfo) -> Recorder {
        let line = parse_link_line(&info.argv);
        Recorder {
            info,
            line,
            collected: Collected::default(),
        }
    }

    /// Looks at one input the linker offers (claim_file). Never claims it.
    pub fn add_input(&mut self, input: &InputFile) {
        self.collected.add(input);
    }

    /// Called from cleanup: reads the output and builds the record.
    pub fn finish(self) -> Result<Finished, String> {
        let mut c = self.collected;
        let kind = self.info.output_kind.unwrap_or(self.line.kind);
        let output = self
            .info
            .output_name
            .clone()
            .unwrap_or_else(|| self.line.output.clone());

        // Identity from the command line; objects the linker never showed us
        // (claimed by the LTO plugin) are read here, and flagged.
        let mut unseen_lto = Vec::new();
        let hashes = &c.hashes;
        let identity = link_identity(&self.line, |path| {
            if let Some(h) = hashes.get(path) {
                return Some(*h);
            }
            let summary = read_interface_summary(path)?;
            if summary.lto_ir {
                unseen_lto.push(path.to_string());
            }
            Some(summary.hash)
        });
        for p in unseen_lto {
            c.incomplete.push(format!(
                "{p}: LTO IR object claimed by another plugin, not analysed"
            ));
        }

        let output_path = Path::new(&self.info.cwd).join(&output);
        let (status, facts) = read_output(&output_path, kind);
        let facts = facts.unwrap_or_default();

        if status == LinkStatus::Complete {
            // Code the plugin did not see shows up as exports whose name no
            // recorded object spells (plain, or with the export's version).
            let known = |e: &crate::elf::output::DynSymbol| {
                c.strings.contains(&e.name)
                    || e.version.as_ref().is_some_and(|v| {
                        c.strings.contains(&format!("{}@@{v}", e.name))
                            || c.strings.contains(&format!("{}@{v}", e.name))
                    })
            };
            // A variable of a needed library copied into a program (R_*_COPY)
            // is exported with that library's version, aliases included
            // (`__progname_full` for `program_invocation_name`), which no
            // input names: not code the plugin missed.
            let copied = |e: &crate::elf::output::DynSymbol| {
                e.version
                    .as_ref()
                    .is_some_and(|v| !facts.version_defs.contains(v))
            };
            if let Some(e) = facts
                .exports
                .iter()
                .find(|e| !known(e) && !copied(e) && !crate::elf::is_linker_defined(&e.name))
            {
                c.incomplete.push(format!(
                    "exports {} which no recorded input defines",
                    e.spelled()
                ));
            }
        }

        let stamp = stamp_of(&output_path);
        let record = LinkRecord {
            identity,
            status,
            incomplete: c.incomplete,
            linker: self.info.linker,
            recorded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            kind,
            output,
            cwd: self.info.cwd,
            // argv[0] and the arguments after @file expansion: what
            // parse_link_line needs to compute the identity again.
            argv: self
                .info
                .argv
                .first()
                .cloned()
                .into_iter()
                .chain(self.line.args)
                .collect(),
            entry: self.line.entry,
            abi: facts.abi,
            soname: facts.soname,
            needed: facts.needed,
            version_defs: facts.version_defs,
            version_needs: facts.version_needs,
            build_id: facts.build_id,
            output_size: stamp.map_or(0, |s| s.size),
            output_sizes: facts.sizes,
            exports: facts.exports,
            imports: facts.imports,
            objects: c.objects,
            shared_inputs: c.shared_inputs,
            scripts: c.scripts,
            cstrings: c.cstrings.into_iter().collect(),
            strings: c.strings.into_pool(),
        };
        Ok(Finished {
            record,
            output_path,
            stamp,
        })
    }
}

/// Reads a link's output after cleanup: failed links leave no complete ELF.
fn read_output(
    path: &Path,
    kind: OutputKind,
) -> (LinkStatus, Option<crate::elf::output::OutputFacts>) {
    let failed = |reason: String| (LinkStatus::Failed { reason }, None);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return failed(format!("output {} missing: {e}", path.display())),
    };
    let bytes = match read_dynamic_parts(&file) {
        Ok(b) => b,
        Err(e) => return failed(format!("cannot read output {}: {e}", path.display())),
    };
    let e_type = match kind {
        OutputKind::Rel => 1,
        OutputKind::Exec => 2,
        OutputKind::Pie | OutputKind::Dyn => 3,
    };
    if !looks_complete(&bytes, e_type) {
        return failed("output is not a complete ELF file: the link failed".to_string());
    }
    if kind == OutputKind::Rel {
        return (LinkStatus::Complete, None);
    }
    match parse_output(&bytes) {
        Ok(f) => (LinkStatus::Complete, Some(f)),
        Err(e) => failed(format!("cannot read output {}: {e}", path.display())),
    }
}

impl Finished {
    /// Writes the record under a temp name (cleanup: errors can still be
    /// reported through the linker).
    pub fn stage(self, state: &StateDir) -> Result<Pending, StateError> {
        let staged = state.stage_record(&self.record)?;
        Ok(Pending {
            finished: self,
            staged,
        })
    }
}

/// A staged record waiting for the linker to be done with the output.
#[derive(Debug)]
pub struct Pending {
    finished: Finished,
    staged: StagedFile,
}

impl Pending {
    /// Publishes the record. If the output changed or vanished since cleanup
    /// (gold deletes the output of a failed link after cleanup), the link is
    /// recorded as failed instead.
    pub fn publish(self, state: &StateDir) -> Result<PathBuf, StateError> {
        let Pending {
            mut finished,
            staged,
        } = self;
        let published =
            if finished.record.is_complete() && stamp_of(&finished.output_path) != finished.stamp {
                staged.discard();
                finished.record.status = LinkStatus::Failed {
                    reason: "output removed or changed after the link: the link failed".to_string(),
                };
                state.stage_record(&finished.record)?.publish()
            } else {
                staged.publish()
            };
        // This runs as the linker's process ends (unload): freeing the
        // record's allocations one by one would only cost its main thread
        // time (1.8M instructions for 600 objects), as clang's -disable-free
        // knows.
        std::mem::forget(finished);
        published
    }
}
