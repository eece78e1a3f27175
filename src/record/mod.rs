//! Run-1: turns the inputs a linker shows us and its finished output into a
//! link record. Never changes the link.

mod collect;
mod input;
pub(crate) mod lto;
mod reader;

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::elf::output::{looks_complete, parse_output_as_listed};
use crate::elf::sparse::read_dynamic_parts;
use crate::elf::types::Lto;
use crate::identity::{
    LinkLine, OutputKind, link_identity, loads_other_plugins, parse_link_line,
    read_interface_summary,
};
use crate::state::archive_ir::ArchiveIr;
use crate::state::record::{EncodedObjects, LinkRecord, LinkStatus, Linker};
use crate::state::{StagedFile, StateDir, StateError};

use collect::Collected;
pub use input::InputFile;
use input::Intake;
use reader::Reader;

/// Why a link could not be recorded.
#[derive(Debug)]
pub enum RecordError {
    /// The reading thread failed (a panic, its text): what it read is lost.
    Reading(String),
    /// `record-alone`: the output it stands for is no complete link.
    OutputFailed {
        output: PathBuf,
        reason: String,
    },
    State(StateError),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Reading(why) => write!(f, "internal error reading the inputs: {why}"),
            RecordError::OutputFailed { output, reason } => {
                write!(f, "{}: {reason}", output.display())
            }
            RecordError::State(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RecordError {}

impl From<StateError> for RecordError {
    fn from(e: StateError) -> Self {
        RecordError::State(e)
    }
}

/// What the linker tells the plugin about the link before any input.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    /// e.g. "GNU ld 2.40", "gold 1.16".
    pub linker: String,
    /// LDPT_OUTPUT_NAME, if the linker gave it.
    pub output_name: Option<String>,
    /// LDPT_LINKER_OUTPUT, if the linker gave it.
    pub output_kind: Option<OutputKind>,
    /// The linker running the plugin.
    pub host: Linker,
    /// Set when this link writes a scratch file for the record and the
    /// build's own linker has written the real output (`output-as=`).
    pub real_output: Option<RealOutput>,
    /// The linker's own argv (from /proc/self/cmdline).
    pub argv: Vec<String>,
    pub cwd: String,
}

/// The output a recording link stands for: lld and mold cannot load the
/// plugin, so their wrapper links the real output with them and then
/// this link, through ld.bfd, into a scratch file. The record takes its
/// graph and dynamic symbols from the scratch file, and from the real
/// output its path (identity and directory), sizes and build-id: Run-2's
/// output is compared with what the build's own linker made, and an
/// installed file is found by its own build-id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealOutput {
    /// `-o` of the real link, as given.
    pub path: String,
    pub linker: Linker,
}

/// Collects one link's facts while the linker runs.
pub struct Recorder {
    info: LinkInfo,
    line: LinkLine,
    /// The file this link writes (`-o`), also when the record stands for
    /// another ([`RealOutput`]).
    own_output: String,
    reader: Reader,
}

/// A finished link: its record and a stamp of the output as it was at cleanup.
#[derive(Debug)]
pub struct Finished {
    /// The record without its objects, which are `objects`.
    pub record: LinkRecord,
    objects: EncodedObjects,
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
    /// `threaded`: the inputs are parsed on a thread of their own while the
    /// linker goes on ([`reader`]); otherwise in claim_file.
    pub fn new(info: LinkInfo, threaded: bool) -> Recorder {
        let mut line = parse_link_line(&info.argv);
        let own_output = info
            .output_name
            .clone()
            .unwrap_or_else(|| line.output.clone());
        if let Some(real) = &info.real_output {
            // The identity Run-2 computes from the real link's -o.
            line.output = real.path.clone();
        }
        let reader = Reader::new(threaded, line.inputs.len());
        Recorder {
            info,
            line,
            own_output,
            reader,
        }
    }

    /// Looks at one input the linker offers (claim_file). Never claims it.
    pub fn add_input(&mut self, input: &InputFile) {
        self.reader.add(input);
    }

    /// The first slim LTO IR object seen, if any (known in claim_file only
    /// when not threaded).
    pub fn slim_lto(&self) -> Option<&str> {
        self.reader.inline().and_then(|c| c.slim.as_deref())
    }

    /// Called from cleanup: reads the output and builds the record.
    /// `state` keeps what is known of the archives the link names.
    pub fn finish(self, state: &StateDir) -> Result<Finished, RecordError> {
        let mut c = self.reader.finish()?;
        let kind = self.info.output_kind.unwrap_or(self.line.kind);
        let output = match &self.info.real_output {
            Some(real) => real.path.clone(),
            None => self.own_output.clone(),
        };

        // Identity from the command line; objects the linker never showed us
        // (claimed by an LTO plugin, see [`lto`]) are read here: fat ones
        // are recorded from their machine code, slim IR and bitcode flagged.
        let mut unseen_lto = Vec::new();
        let mut unseen_bitcode = Vec::new();
        let hashes = &c.hashes;
        let identity = link_identity(&self.line, |path| {
            if let Some(h) = hashes.get(path) {
                return Some(*h);
            }
            let Some(summary) = read_interface_summary(path) else {
                if is_llvm_bitcode(path) {
                    unseen_bitcode.push(path.to_string());
                }
                return None;
            };
            if summary.lto.has_ir() {
                unseen_lto.push((path.to_string(), summary.lto));
            }
            Some(summary.hash)
        });
        for (p, lto) in unseen_lto {
            if lto == Lto::Fat {
                read_claimed(&mut c, &self.info.cwd, &p);
            } else {
                c.incomplete.push(format!(
                    "{p}: slim LTO IR object claimed by another plugin, not analysed"
                ));
            }
        }
        for p in unseen_bitcode {
            c.incomplete.push(format!(
                "{p}: LLVM bitcode claimed by another plugin (LLVMgold), not analysed"
            ));
        }
        if loads_other_plugins(&self.line.args) {
            let mut cache = ArchiveIr::load(state);
            let seen = &c.hashes;
            let found = lto::ir_inputs(&self.line.args, |p| seen.contains_key(p), &mut cache, None);
            for a in found.archives {
                c.incomplete.push(format!(
                    "{a}: archive with LTO IR members, which the LTO plugin claims unseen; not analysed"
                ));
            }
            for o in found.objects {
                c.incomplete.push(format!(
                    "{o}: object with LTO IR (or unreadable) behind a linker script, which the LTO plugin claims unseen; not analysed"
                ));
            }
            // Only a cache: the next link finds out again.
            if let Err(e) = cache.save(state) {
                log::debug!("{e}");
            }
        }

        let output_path = Path::new(&self.info.cwd).join(&self.own_output);
        let (status, facts) = read_output(&output_path, kind);
        let mut facts = facts.unwrap_or_default();

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
            // The first by name: the lists are in .dynsym order.
            if let Some(e) = facts
                .exports
                .iter()
                .filter(|e| !known(e) && !copied(e) && !crate::elf::is_linker_defined(&e.name))
                .min()
            {
                c.incomplete.push(format!(
                    "exports {} which no recorded input defines",
                    e.spelled()
                ));
            }
            // The same for imports: an import that no recorded input names
            // comes from code another plugin claimed (LTO IR or bitcode in
            // an archive, which the command line does not show). Its
            // demands would be lost: the merge must take them all.
            if let Some(i) = facts.imports.iter().filter(|i| !known(i)).min() {
                c.incomplete.push(format!(
                    "imports {} which no recorded input references",
                    i.name
                ));
            }
        }

        let stamp = stamp_of(&output_path);
        let mut output_size = stamp.map_or(0, |s| s.size);
        let mut output_linker = self.info.host;
        if let Some(real) = &self.info.real_output
            && status == LinkStatus::Complete
        {
            let path = Path::new(&self.info.cwd).join(&real.path);
            match (read_output(&path, kind), stamp_of(&path)) {
                ((LinkStatus::Complete, Some(real_facts)), Some(real_stamp)) => {
                    facts.sizes = real_facts.sizes;
                    facts.build_id = real_facts.build_id;
                    output_size = real_stamp.size;
                    output_linker = real.linker;
                }
                // Sizes of this link's own output, and said so: report
                // then compares only with a Run-2 output of this linker.
                _ => log::warn!(
                    "{}: the real output cannot be read; the record has the sizes of {}'s scratch output",
                    path.display(),
                    self.info.host
                ),
            }
        }
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
            output_linker,
            output_size,
            output_sizes: facts.sizes,
            layout: facts.layout,
            exports: facts.exports,
            imports: facts.imports,
            objects: Vec::new(),
            shared_inputs: c.shared_inputs,
            scripts: c.scripts,
            cstrings: {
                c.cstrings.sort_unstable();
                c.cstrings.dedup();
                c.cstrings
            },
            strings: c.strings.into_pool(),
        };
        Ok(Finished {
            record,
            objects: c.objects,
            output_path,
            stamp,
        })
    }
}

/// Run-1 of an lld or mold link whose recording link through ld.bfd
/// failed (lld's LLVM bitcode inputs, which ld.bfd cannot read; an option
/// only lld knows): a record from the real output alone. It has no
/// objects, so it is incomplete by construction: the merge keeps what the
/// output exports and counts everything it imports, which is what an
/// image needs of it. `argv` is the real linker's command line.
pub fn record_output_alone(
    linker: Linker,
    argv: Vec<String>,
    cwd: String,
    why: &str,
    state: &StateDir,
) -> Result<PathBuf, RecordError> {
    let mut recorder = Recorder::new(
        LinkInfo {
            linker: format!("{linker} (its output alone)"),
            output_name: None,
            output_kind: None,
            host: linker,
            real_output: None,
            argv,
            cwd,
        },
        false,
    );
    recorder.reader.note_incomplete(format!(
        "the recording link through ld.bfd failed ({why}): recorded from {linker}'s output alone"
    ));
    let finished = recorder.finish(state)?;
    if let LinkStatus::Failed { reason } = &finished.record.status {
        return Err(RecordError::OutputFailed {
            output: finished.output_path.clone(),
            reason: reason.clone(),
        });
    }
    let pending = finished.stage(state)?;
    Ok(pending.publish(state)?)
}

/// Whether the file at `path` is LLVM bitcode: what clang -flto writes
/// instead of an object.
fn is_llvm_bitcode(path: &str) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let mut head = [0u8; 4];
    file.metadata().is_ok_and(|m| m.is_file())
        && file.read_exact_at(&mut head, 0).is_ok()
        && lto::is_bitcode(&head)
}

/// Records the fat LTO object at `path` (relative to the link's directory)
/// that an LTO plugin claimed, from its file, as claim_file would have.
fn read_claimed(c: &mut Collected, cwd: &str, path: &str) {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(Path::new(cwd).join(path));
    match file.and_then(|f| f.metadata().map(|m| (f, m))) {
        Ok((file, meta)) if meta.is_file() => {
            let input = InputFile {
                name: path,
                file: &file,
                offset: 0,
                size: meta.len(),
            };
            if let Some(job) = Intake::default().read(&input, false) {
                c.process(job, Some(&file));
            }
        }
        _ => c.incomplete.push(format!(
            "{path}: fat LTO object claimed by the LTO plugin, cannot be read: not analysed"
        )),
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
    // In .dynsym order: the record's readers sort (`load_record`), so the
    // link does not (7,200 exports: 4.7M instructions).
    match parse_output_as_listed(&bytes) {
        Ok(f) => (LinkStatus::Complete, Some(f)),
        Err(e) => failed(format!("cannot read output {}: {e}", path.display())),
    }
}

impl Finished {
    /// Writes the record under a temp name (cleanup: errors can still be
    /// reported through the linker).
    pub fn stage(self, state: &StateDir) -> Result<Pending, StateError> {
        let staged = state.stage_record_with(&self.record, &self.objects)?;
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
                state
                    .stage_record_with(&finished.record, &finished.objects)?
                    .publish()
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
