//! Run-2: find this link's decisions and hide those names.
//!
//! Mechanism (linker-facts.md, confirmed by tests/apply.rs on bfd and gold):
//! claim the FIRST relocatable input, report its real symbols plus a weak
//! undefined STV_HIDDEN entry for each name to hide, and hand the linker the
//! same file again, by the name it gave, in all_symbols_read (no copy, no
//! temporary file: nothing between the claim and the hand-back can fail but
//! the linker's own open). The most constraining visibility among all
//! entries of a name wins, so the definitions become hidden and
//! --gc-sections can drop them. Only the first input is claimed: the file
//! handed back takes its place, so the input order (constructor order)
//! stays.
//!
//! Fail-open: a link without decisions (new, sources changed since Run-1,
//! no merge yet) links unchanged and leaves one line in DIR/apply.log; every
//! other reason ([`Unchanged`]) is a warning too, and the faults fail the
//! link under `strict`.

mod applied;
mod prehash;
mod stub;
mod stub_link;

pub use applied::{
    Achieved, AppliedRecord, LogLine, OtherLinkers, newest_by_identity, result_of, still_unchanged,
};
pub use stub::{Target, stub_object};
pub use stub_link::stub_link;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::elf::hash::Hash128;
use crate::elf::interface::{InterfaceSymbol, interface_symbols};
use crate::elf::sparse::{Parts, read_symbol_parts};
use crate::elf::types::{Binding, Lto, SymbolPlace, SymbolType, Visibility};
use crate::elf::{FileClass, classify};
use crate::fasthash::FxHashSet;
use crate::identity::{
    LinkLine, OutputKind, interface_hash_of_path, link_directory, link_identity,
    loads_other_plugins, parse_link_line,
};
use crate::record::InputFile;
use crate::state::decisions::{LinkDecision, NameList, Pick};
use crate::state::record::Linker;
use crate::state::scratch::Scratch;
use crate::state::{StateDir, StateError, decisions};

/// The kind of a symbol entry handed to the linker (LDPK_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Def,
    WeakDef,
    Undef,
    WeakUndef,
    Common,
}

/// One entry for the linker's add_symbols. Its strings are offsets into
/// [`ClaimSymbols::strings`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSymbol {
    /// As the symbol table spells it, versions included (`foo@@V2`).
    pub name: usize,
    pub kind: SymbolKind,
    pub visibility: Visibility,
    pub size: u64,
    pub comdat: Option<usize>,
    pub function: bool,
}

/// The entries claim_file hands the linker. Their names and COMDAT keys are
/// NUL-terminated, back to back in one buffer: the linker keeps pointers
/// into them for the whole link, and one buffer is one allocation where a
/// string per name was two (a hide list of 7,000 names is common).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimSymbols {
    pub strings: Vec<u8>,
    pub symbols: Vec<PluginSymbol>,
}

/// A name holding a NUL, which the linker would read shorter (only a
/// damaged decisions file can have one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NulInName(pub String);

impl std::fmt::Display for NulInName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "symbol name with NUL: {:?}", self.0)
    }
}

/// Why the first object cannot be handed back by the name the linker gave.
#[derive(Debug)]
pub enum HandBackError {
    /// The linker's descriptor cannot be examined.
    Descriptor(std::io::Error),
    /// The name does not open a file.
    Name(String, std::io::Error),
    /// The name opens another file than the one the linker read.
    OtherFile(String),
}

impl std::fmt::Display for HandBackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandBackError::Descriptor(e) => write!(f, "the linker's descriptor: {e}"),
            HandBackError::Name(name, e) => write!(f, "{name}: {e}"),
            HandBackError::OtherFile(name) => write!(f, "{name} is not the file the linker read"),
        }
    }
}

/// A Run-2 link left unchanged for a fault ([`Unchanged::is_error`]) under
/// `strict`: the plugin fails the link with this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrictUnchanged {
    pub output: String,
    pub why: Unchanged,
}

impl std::fmt::Display for StrictUnchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.output, self.why)
    }
}

impl ClaimSymbols {
    /// Adds a string (no NUL inside: the linker would read a shorter name).
    fn string(&mut self, s: &[u8]) -> Result<usize, NulInName> {
        if s.contains(&0) {
            return Err(NulInName(String::from_utf8_lossy(s).into_owned()));
        }
        let at = self.strings.len();
        self.strings.extend_from_slice(s);
        self.strings.push(0);
        Ok(at)
    }
}

/// What claim_file tells the linker.
#[derive(Debug)]
pub enum Claim {
    No,
    /// The entries to report, and the name under which the linker is to
    /// read the file again at all_symbols_read: the plugin's interface
    /// layer keeps it apart from the session, so that nothing a session
    /// does after the claim (a failure, a panic) can keep the file out of
    /// the link.
    Yes {
        symbols: ClaimSymbols,
        hand_back: PathBuf,
    },
    /// Nothing claimed: this stub object, holding the hidden references, is
    /// to be added at all_symbols_read (ld.bfd; see [`Applier::uses_stub`]).
    /// Kept apart from the session as a claimed file is: once decided, it
    /// goes in whatever the session does after.
    Stub(Scratch),
}

/// How an apply.log line about a failed Run-2 link starts (report lists
/// those apart from the links left unchanged).
pub const FAILED_PREFIX: &str = "link failed: ";

/// Why a Run-2 link goes on unchanged. Each one is a line in DIR/apply.log;
/// all but [`Unchanged::NotInDecisions`] are also a warning, and the
/// [`Unchanged::is_error`] ones fail the link under `strict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unchanged {
    /// A new link, or its inputs changed since Run-1: expected, quiet.
    NotInDecisions,
    /// The decisions file is missing or damaged (no merge yet, a bad copy).
    NoDecisions(String),
    /// Its copy would become a plain object, changing the link.
    FirstIsArchiveMember,
    /// The first object is in a `--start-lib` group (gold): linked only
    /// if a name it defines is needed, where a file handed back is linked
    /// always.
    FirstInLibGroup,
    /// The first object is slim LTO IR, or fat with another plugin on the
    /// command line: that plugin decides for IR, a claim would take it away.
    FirstIsLtoIr,
    /// Another plugin (LTO) adds its output at all_symbols_read, before
    /// which a claimed input handed back would go, reordering the
    /// constructors and destructors; and no stub was possible.
    LtoOutputFirst,
    /// Another plugin is loaded and an input's IR cannot be ruled out
    /// (this one, and why): it counts as IR ([`Unchanged::LtoOutputFirst`]).
    LtoNotRuledOut(String),
    /// No relocatable input reached this plugin (another plugin claimed
    /// them all, e.g. all LTO IR with -nostartfiles).
    NothingToClaim,
    /// The first object cannot be read or parsed.
    Unreadable(String),
    /// The name the linker gave the first object does not open the file it
    /// read: handing it back by name could add another file.
    CannotHandBack(String),
    /// The linker did not take the stub object (ld.bfd's add_input_file).
    StubRefused(String),
    /// The stub object, the only way in an LTO link, cannot be written
    /// (the state directory's tmp/ is full or read-only).
    StubUnwritable(String),
}

impl Unchanged {
    /// Worth a warning on the build log, not only a line in apply.log.
    pub fn is_loud(&self) -> bool {
        !matches!(self, Unchanged::NotInDecisions)
    }

    /// A fault of the setup or the environment: fails the link under strict.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Unchanged::NoDecisions(_)
                | Unchanged::Unreadable(_)
                | Unchanged::CannotHandBack(_)
                | Unchanged::StubRefused(_)
                | Unchanged::StubUnwritable(_)
        )
    }
}

impl std::fmt::Display for Unchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unchanged::NotInDecisions => f.write_str(
                "not in the decisions (a new link, or its inputs changed since Run-1)",
            ),
            Unchanged::NoDecisions(e) => write!(f, "no usable decisions ({e})"),
            Unchanged::FirstIsArchiveMember => f.write_str("first object is an archive member"),
            Unchanged::FirstInLibGroup => f.write_str(
                "first object is in a --start-lib group (linked only if needed; handed back it would always be)",
            ),
            Unchanged::FirstIsLtoIr => f.write_str("first object is LTO IR"),
            Unchanged::LtoNotRuledOut(input) => write!(
                f,
                "LTO IR not ruled out ({input}) in a link with another plugin, whose LTO output would go where a claimed input goes (constructor and destructor order could change)"
            ),
            Unchanged::LtoOutputFirst => f.write_str(
                "LTO output is added at all_symbols_read, where a claimed input would go too (constructor and destructor order would change)",
            ),
            Unchanged::NothingToClaim => f.write_str(
                "no relocatable input reached the plugin (all claimed by another plugin, e.g. LTO IR)",
            ),
            Unchanged::Unreadable(e) => write!(f, "cannot read the first object ({e})"),
            Unchanged::CannotHandBack(e) => {
                write!(f, "cannot hand the first object back unchanged ({e})")
            }
            Unchanged::StubRefused(e) => write!(f, "the linker did not take the stub ({e})"),
            Unchanged::StubUnwritable(e) => write!(
                f,
                "cannot write the stub object ({e}), and a claim would change the LTO link's constructor order"
            ),
        }
    }
}

/// Why ld.bfd's stub object cannot be written.
#[derive(Debug)]
enum StubError {
    /// The first object's ELF header is not one the stub can copy.
    Target,
    /// The scratch file: `DIR/tmp` full, read-only, missing.
    Write(StateError),
}

impl std::fmt::Display for StubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StubError::Target => {
                f.write_str("the first object's ELF header is not one a stub can copy")
            }
            StubError::Write(e) => write!(f, "{e}"),
        }
    }
}

pub struct Applier {
    state: StateDir,
    /// The command line, parsed at onload.
    line: LinkLine,
    cwd: String,
    output: String,
    /// The linker running the plugin (noted with the sizes).
    linker: Linker,
    strict: bool,
    /// The first relocatable input has been seen: nothing else is claimed.
    decided: bool,
    /// Found in the decisions: this link's identity and the names to hide.
    applied: Option<(Hash128, NameList)>,
    /// Hashing of the command line's objects, started at onload.
    prehash: Option<prehash::Prehash>,
    created: std::time::Instant,
    /// The link failed and [`Applier::explain_failure`] has run.
    explained: bool,
}

impl Applier {
    pub fn new(
        state: StateDir,
        argv: Vec<String>,
        cwd: String,
        output: Option<String>,
        linker: Linker,
        strict: bool,
    ) -> Applier {
        let line = parse_link_line(&argv);
        // ld.bfd may take a stub, if the command line's objects define
        // the names (see Applier::uses_stub): the workers collect them.
        let prehash = Some(prehash::Prehash::start(&line.inputs, linker == Linker::Bfd));
        let output = output.unwrap_or_else(|| line.output.clone());
        Applier {
            state,
            line,
            cwd,
            output,
            linker,
            strict,
            decided: false,
            applied: None,
            prehash,
            created: std::time::Instant::now(),
            explained: false,
        }
    }

    /// claim_file: the first relocatable input decides for the whole link.
    /// It is claimed only when everything needed to hand it back is known
    /// to work: the linker re-reads the very file by its own name, so
    /// nothing is copied and no temporary directory is needed. An `Err` is
    /// an unchanged link that `strict` turns into a failed one.
    pub fn claim_file(&mut self, input: &InputFile) -> Result<Claim, StrictUnchanged> {
        if self.decided {
            return Ok(Claim::No);
        }
        let mut head = [0u8; 64];
        let n = match input.read_at(&mut head, 0) {
            Ok(n) => n,
            Err(e) => {
                self.decided = true;
                return self.unchanged(None, Unchanged::Unreadable(e.to_string()));
            }
        };
        if classify(&head[..n]) != FileClass::Relocatable {
            return Ok(Claim::No);
        }
        self.decided = true;
        match self.decide(input) {
            Ok(claim) => Ok(claim),
            Err((identity, why)) => self.unchanged(identity, why),
        }
    }

    /// The decision for the first relocatable input; `Err` says why the
    /// link stays unchanged.
    fn decide(&mut self, input: &InputFile) -> Result<Claim, (Option<Hash128>, Unchanged)> {
        if input.offset != 0 {
            return Err((None, Unchanged::FirstIsArchiveMember));
        }
        if in_lib_group(&self.line.args, input) {
            return Err((None, Unchanged::FirstInLibGroup));
        }
        let unreadable = |e: String| (None, Unchanged::Unreadable(format!("{}: {e}", input.name)));
        let parts = read_symbol_parts(input.size, |buf, at| input.read_exact_at(buf, at))
            .map_err(|e| unreadable(e.to_string()))?;
        let (summary, symbols) =
            interface_symbols(&parts).map_err(|e| unreadable(e.to_string()))?;
        // GCC's LTO plugin, loaded before ldprune's, claims every object
        // with IR: one that reaches us was left to the linker. A slim one
        // cannot be linked that way; a fat one can (its machine code), unless
        // a plugin loaded after ours would take its IR: then a claim would
        // change how it links.
        match summary.lto {
            Lto::None => {}
            Lto::Slim => return Err((None, Unchanged::FirstIsLtoIr)),
            Lto::Fat if loads_other_plugins(&self.line.args) => {
                return Err((None, Unchanged::FirstIsLtoIr));
            }
            Lto::Fat => {}
        }
        let started = std::time::Instant::now();
        log::debug!(
            "first object {} {:?} after onload ({} bytes read of {})",
            input.name,
            self.created.elapsed(),
            parts.held(),
            input.size
        );
        let first = input.name;
        // Unknown (never started) counts as IR, as an unread share does.
        let prehash::Finished {
            hashes: known,
            ir,
            defined,
        } = self
            .prehash
            .take()
            .map(prehash::Prehash::finish)
            .unwrap_or(prehash::Finished {
                hashes: Default::default(),
                ir: true,
                defined: None,
            });
        let identity = link_identity(&self.line, |p| {
            if p == first {
                Some(summary.hash)
            } else {
                known
                    .get(p)
                    .copied()
                    .unwrap_or_else(|| interface_hash_of_path(p))
            }
        });
        let identified = started.elapsed();
        let looked_up = std::time::Instant::now();
        let found = decisions::lookup(&decisions::path(&self.state), identity);
        log::debug!(
            "identity of {} in {identified:?}, decision lookup in {:?}",
            self.output,
            looked_up.elapsed()
        );
        let found = match found {
            Ok(found) => found,
            Err(e) => return Err((Some(identity), Unchanged::NoDecisions(e.to_string()))),
        };
        let directory = link_directory(&self.cwd, &self.output);
        let Some((mut decided, note)) = hide_list(found, &directory) else {
            return Err((Some(identity), Unchanged::NotInDecisions));
        };
        // Under --wrap=X the linker turns a reference to X into one to
        // __wrap_X: a hidden reference to X would hide __wrap_X instead,
        // and X would stay. Such names stay exported, as they were.
        let wrapped = wrapped_names(&self.line.args);
        if !wrapped.is_empty() {
            decided.retain(|n| !wrapped.contains(hidden_reference(n)));
        }
        if let Some(note) = note {
            applied::append_log(&self.state, Some(identity), &self.cwd, &self.output, &note);
            log::warn!("{}: {note}", self.output);
        }
        let is_object = |p: &str| known.get(p).is_some_and(Option::is_some);
        // The command line's archives with IR members, looked up once.
        let mut ir_inputs: Option<crate::record::lto::IrInputs> = None;
        // Why a stub the link could take was not written: the reason an
        // LTO link stays unchanged then.
        let mut stub_error: Option<String> = None;
        if !decided.is_empty()
            && self.uses_stub()
            && let Some(sets) = defined.as_deref()
        {
            let names = || decided.iter().map(hidden_reference);
            let mut plain = prehash::all_plain(sets.iter(), names());
            // In an LTO link the stub is the only way: the members of
            // archives with IR count too (their machine code, as for the
            // command line's fat objects).
            if !plain && loads_other_plugins(&self.line.args) {
                let archives = &ir_inputs
                    .get_or_insert_with(|| self.ir_inputs(is_object, &parts))
                    .archives;
                let members: Option<Vec<prehash::Defined>> = archives
                    .iter()
                    .map(|a| crate::record::lto::archive_definitions(a).map(prehash::Defined::of))
                    .collect();
                plain = !archives.is_empty()
                    && members.is_some_and(|m| prehash::all_plain(sets.iter().chain(&m), names()));
            }
            if plain {
                match self.write_stub(&parts, &decided) {
                    Ok(stub) => {
                        self.applied = Some((identity, decided));
                        return Ok(Claim::Stub(stub));
                    }
                    Err(e) => {
                        log::debug!("{e}: the first object is claimed instead of a stub");
                        stub_error = Some(e.to_string());
                    }
                }
            }
        }
        // A name the claimed object defines itself stays: a hidden entry
        // next to its own definition would only hide it from the claimed copy.
        // Rarely any: the object's few names are looked up in the list, and
        // the list is copied only then.
        let own = || {
            symbols
                .iter()
                .filter(|s| s.place != SymbolPlace::Undefined)
                .map(|s| s.name)
        };
        let mut hide = decided;
        if own().any(|n| hide.contains(n)) {
            let own: FxHashSet<&[u8]> = own().collect();
            hide.retain(|n| !own.contains(n.as_bytes()));
        }
        if hide.is_empty() {
            self.applied = Some((identity, hide));
            return Ok(Claim::No);
        }
        // Another plugin will add its LTO output at all_symbols_read, where
        // the claimed input would go too (see Applier::ir_inputs). An input
        // whose IR cannot be ruled out counts as IR.
        // Some(why): an LTO output will come, so the link stays unchanged.
        let checked = std::time::Instant::now();
        let lto = if !loads_other_plugins(&self.line.args) {
            None
        } else if ir {
            Some(Unchanged::LtoOutputFirst)
        } else {
            let found = ir_inputs.get_or_insert_with(|| self.ir_inputs(is_object, &parts));
            if found.archives.is_empty() {
                found.unknown.clone().map(Unchanged::LtoNotRuledOut)
            } else {
                Some(Unchanged::LtoOutputFirst)
            }
        };
        log::debug!("LTO output check in {:?}", checked.elapsed());
        if let Some(why) = lto {
            // A stub the link could have taken but that could not be written.
            let why = stub_error.map_or(why, Unchanged::StubUnwritable);
            return Err((Some(identity), why));
        }
        let back = self
            .hand_back_path(input)
            .map_err(|e| (Some(identity), Unchanged::CannotHandBack(e.to_string())))?;
        let symbols = claim_symbols(&symbols, &hide)
            .map_err(|e| (Some(identity), Unchanged::NoDecisions(e.to_string())))?;
        self.applied = Some((identity, hide));
        Ok(Claim::Yes {
            symbols,
            hand_back: back,
        })
    }

    /// The archives of the command line that hold LTO IR members
    /// (`DIR/archives.ldpa` caches the answer by file), and any input whose
    /// IR cannot be ruled out ([`crate::record::lto::ir_inputs`]). With an IR object
    /// of the command line, they tell whether another plugin (GCC's LTO
    /// plugin, loaded before ours) will claim inputs and add its output at
    /// all_symbols_read. A file Run-2 claims is handed back there too,
    /// after that output; and both linkers put every file added there
    /// together: ld.bfd after the first claimed input (ldlang.c, the
    /// plugin's replacement files), gold ahead of every object read after
    /// the first claim (it defers their layout until the added files are
    /// in). Claiming crti.o/Scrt1.o would put the LTO output before
    /// crtbeginS.o: .init_array and .fini_array reversed against
    /// crtbegin's entries, so a library's C++ statics were destroyed
    /// before its own destructor functions ran (tests/lto.rs). No other
    /// input is safe either: archives searched after the claim (libgcc.a)
    /// may add members after any of them. `is_object`: which
    /// command-line paths are objects; `first`: the first object, whose
    /// target a library `-l` finds must have (the linkers skip others). A
    /// link with LLVM bitcode is recorded incomplete, so has nothing to
    /// hide.
    fn ir_inputs(
        &self,
        is_object: impl Fn(&str) -> bool,
        first: &Parts,
    ) -> crate::record::lto::IrInputs {
        let mut cache = crate::state::archive_ir::ArchiveIr::load(&self.state);
        let target = object::ReadRef::read_bytes_at(first, 0, 20)
            .ok()
            .and_then(crate::record::lto::Machine::of_elf);
        let found = crate::record::lto::ir_inputs(&self.line.args, is_object, &mut cache, target);
        // Only a cache: a link that cannot save it finds out again.
        if let Err(e) = cache.save(&self.state) {
            log::debug!("{e}");
        }
        found
    }

    /// ld.bfd takes the hidden references from a stub object added at
    /// all_symbols_read, claiming nothing: a claimed file handed back makes
    /// it read again every archive and --as-needed library after the claimed
    /// one (the first), 8M instructions and 2-2.5 ms of a small link; an
    /// added file with nothing claimed goes after the last input. gold
    /// keeps the claim: it roots --gc-sections at every exported definition
    /// as the object is read, so the references must come first. Only where
    /// it is safe ([`prehash::all_plain`], from the definitions the identity's
    /// reads collect); not for -r (the stub's references would stay in the
    /// output object), nor with --dependency-file (it would list the stub,
    /// which is removed).
    fn uses_stub(&self) -> bool {
        self.linker == Linker::Bfd
            && self.line.kind != OutputKind::Rel
            && !self
                .line
                .args
                .iter()
                .any(|a| a.trim_start_matches('-').starts_with("dependency-file"))
    }

    /// The stub of `names`, a scratch file of the state directory (unnamed
    /// where it can be), for the target of the first object (`parts`);
    /// `Err` says why it cannot be written (then the claim is the way, if
    /// any).
    fn write_stub(&mut self, parts: &Parts, names: &NameList) -> Result<Scratch, StubError> {
        let target = object::ReadRef::read_bytes_at(parts, 0, 64.min(parts.len()))
            .ok()
            .and_then(stub::Target::of_object)
            .ok_or(StubError::Target)?;
        let refs: Vec<&str> = names.iter().map(hidden_reference).collect();
        let bytes = stub::stub_object(target, &refs);
        self.state
            .write_scratch(&bytes, "stub.o")
            .map_err(StubError::Write)
    }

    /// The linker did not take the stub: nothing was claimed, so the link
    /// goes on unchanged; `Err` when `strict` must fail it.
    pub fn stub_refused(&mut self, why: String) -> Result<(), StrictUnchanged> {
        let identity = self.applied.take().map(|(id, _)| id);
        self.unchanged(identity, Unchanged::StubRefused(why))
            .map(drop)
    }

    /// The name under which the linker can open the claimed input again:
    /// its own name for it, checked to be the file behind its descriptor
    /// (the same device and inode), since the linker resolves it in the same
    /// working directory.
    fn hand_back_path(&self, input: &InputFile) -> Result<PathBuf, HandBackError> {
        use std::os::unix::fs::MetadataExt;
        let by_fd = input.file.metadata().map_err(HandBackError::Descriptor)?;
        let path = PathBuf::from(input.name);
        let by_name =
            std::fs::metadata(&path).map_err(|e| HandBackError::Name(input.name.to_string(), e))?;
        if (by_fd.dev(), by_fd.ino()) != (by_name.dev(), by_name.ino()) || !by_name.is_file() {
            return Err(HandBackError::OtherFile(input.name.to_string()));
        }
        Ok(path)
    }

    /// Logs why the link stays unchanged; `Err` when `strict` must fail it.
    fn unchanged(
        &self,
        identity: Option<Hash128>,
        why: Unchanged,
    ) -> Result<Claim, StrictUnchanged> {
        self.log(identity, &why);
        if self.strict && why.is_error() {
            return Err(StrictUnchanged {
                output: self.output.clone(),
                why,
            });
        }
        Ok(Claim::No)
    }

    /// cleanup (runs on failure too): note what was achieved.
    pub fn cleanup(&mut self) -> Result<(), StateError> {
        let started = std::time::Instant::now();
        let r = self.cleanup_inner();
        log::debug!("run-2 cleanup in {:?}", started.elapsed());
        r
    }

    fn cleanup_inner(&mut self) -> Result<(), StateError> {
        // A link without a relocatable input never waited for the workers:
        // they must not outlive the linker's use of this library.
        if let Some(p) = self.prehash.take() {
            p.finish();
        }
        if !self.decided {
            // Not a fault (Unchanged::is_error): logged and warned only.
            self.log(None, &Unchanged::NothingToClaim);
        }
        let Some((identity, hide)) = self.applied.take() else {
            return Ok(());
        };
        let path = self.output_path();
        // The output of a failed link is missing or incomplete: nothing to
        // note but why it may have failed.
        let Some(rec) =
            AppliedRecord::measure(identity, &path, &self.output, &self.cwd, self.linker, &hide)
        else {
            self.explain_failure();
            return Ok(());
        };
        self.state.write_applied(&rec).map(drop)
    }

    /// The linker is done (gold deletes a failed link's output only after
    /// cleanup): a missing output is a failed link.
    pub fn unload(&mut self) {
        if !self.output_path().exists() {
            self.explain_failure();
        }
    }

    fn output_path(&self) -> PathBuf {
        Path::new(&self.cwd).join(&self.output)
    }

    /// A failed Run-2 link that needs a name Run-2 hid elsewhere (its
    /// sources changed since Run-1) ends in a plain "undefined reference":
    /// say which library hid it and the two ways out. Only names that the
    /// command line's objects leave undefined are looked up.
    fn explain_failure(&mut self) {
        if std::mem::replace(&mut self.explained, true) {
            return;
        }
        let needed = undefined_names(&self.line.inputs);
        if needed.is_empty() {
            return;
        }
        let Ok(all) = decisions::read_all(&decisions::path(&self.state)) else {
            return;
        };
        let mut found: Vec<(String, String)> = Vec::new();
        for d in &all {
            for name in d.hide.iter() {
                let plain = hidden_reference(name);
                if needed.contains(plain) && !found.iter().any(|(n, _)| n == plain) {
                    found.push((plain.to_string(), d.output.clone()));
                }
            }
        }
        found.sort();
        for (name, hidden_in) in found.iter().take(5) {
            let text = format!(
                "needs `{name}`, which Run-2 hid in {hidden_in} (its inputs changed since Run-1?): run Run-1 and `ldprune merge` again, or keep it (`ldprune merge --keep FILE` listing `{name}`)"
            );
            log::error!("{}: link failed: {text}", self.output);
            let line = format!("{FAILED_PREFIX}{text}");
            applied::append_log(&self.state, None, &self.cwd, &self.output, &line);
        }
    }

    /// One line in DIR/apply.log about this link, and a warning when loud.
    fn log(&self, identity: Option<Hash128>, why: &Unchanged) {
        let text = format!("{why}: left unchanged");
        applied::append_log(&self.state, identity, &self.cwd, &self.output, &text);
        if why.is_loud() {
            log::warn!("{}: {text}", self.output);
        } else {
            log::info!("{}: {text}", self.output);
        }
    }
}

/// The names a link writing into `directory` hides, from the decisions of
/// its identity ([`decisions::choose`]); None: not in the decisions. The
/// note, for apply.log and the build log, says when they are only the
/// names that disagreeing links of other directories all hide.
pub(crate) fn hide_list(
    found: Vec<LinkDecision>,
    directory: &str,
) -> Option<(NameList, Option<String>)> {
    match decisions::choose(found, directory)? {
        Pick::One(d) => Some((d.hide, None)),
        Pick::Intersection { hide, directories } => {
            let note = format!(
                "{} links of this identity in other directories ({}) hide different names, and none is in {directory} or ends like it: hiding only the {} names all of them hide",
                directories.len(),
                directories.join(", "),
                hide.len()
            );
            Some((hide, Some(note)))
        }
    }
}

/// The name a hidden reference uses for the export `spelled`: a plain
/// reference binds to the default version, so `foo@@V2` becomes `foo` (gold
/// looks plugin names up literally: `foo@@V2` would be another symbol).
/// Non-default versions (`foo@V1`) are never hidden; kept as spelled.
/// (Split at the first `@@`; a byte scan, as `split_once("@@")` builds a
/// substring searcher per name.)
fn hidden_reference(spelled: &str) -> &str {
    let b = spelled.as_bytes();
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == b'@') {
        let at = from + i;
        if b.get(at + 1) == Some(&b'@') {
            return &spelled[..at];
        }
        from = at + 1;
    }
    spelled
}

/// Whether `input` is one of the files of a `--start-lib` ... `--end-lib`
/// group of `args` (gold's archive without an archive), by device and
/// inode.
fn in_lib_group(args: &[String], input: &InputFile) -> bool {
    use std::os::unix::fs::MetadataExt;
    if !args
        .iter()
        .any(|a| a.trim_start_matches('-') == "start-lib")
    {
        return false;
    }
    let Ok(own) = input.file.metadata() else {
        // Unknown: the claim could change the link.
        return true;
    };
    let mut inside = false;
    args.iter().any(|a| match a.trim_start_matches('-') {
        "start-lib" if a.starts_with('-') => {
            inside = true;
            false
        }
        "end-lib" if a.starts_with('-') => {
            inside = false;
            false
        }
        _ => {
            inside
                && std::fs::metadata(a).is_ok_and(|m| (m.dev(), m.ino()) == (own.dev(), own.ino()))
        }
    })
}

/// The names of the command line's `--wrap=NAME` (`-wrap`, or the name as
/// the next argument).
fn wrapped_names(args: &[String]) -> FxHashSet<&str> {
    let mut names = FxHashSet::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.as_str();
        match a.trim_start_matches('-') {
            "wrap" if a.starts_with('-') => names.extend(it.next().map(String::as_str)),
            w if a.starts_with('-') => {
                if let Some(n) = w.strip_prefix("wrap=") {
                    names.insert(n);
                }
            }
            _ => {}
        }
    }
    names
}

/// Calls `f` with the non-local symbols of each relocatable object among
/// `inputs` (paths as the command line gives them); other files and what
/// cannot be read are skipped. Opened as identity's reads are: never
/// blocks on a FIFO, regular files only.
fn each_object_symbol(inputs: &[String], mut f: impl FnMut(&InterfaceSymbol<'_>)) {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    for path in inputs {
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        else {
            continue;
        };
        let Ok(len) = file.metadata().and_then(|m| {
            if m.is_file() {
                Ok(m.len())
            } else {
                Err(std::io::ErrorKind::Other.into())
            }
        }) else {
            continue;
        };
        let mut head = [0u8; 64];
        let n = (len as usize).min(head.len());
        if file.read_exact_at(&mut head[..n], 0).is_err()
            || classify(&head[..n]) != FileClass::Relocatable
        {
            continue;
        }
        let Ok(parts) = read_symbol_parts(len, |b, at| file.read_exact_at(b, at)) else {
            continue;
        };
        let Ok((_, symbols)) = interface_symbols(&parts) else {
            continue;
        };
        symbols.iter().for_each(&mut f);
    }
}

/// Names that the relocatable objects at `inputs` reference (not weakly)
/// and none of them defines.
fn undefined_names(inputs: &[String]) -> HashSet<String> {
    let (mut undefined, mut defined) = (HashSet::new(), HashSet::new());
    each_object_symbol(inputs, |s| {
        let name = String::from_utf8_lossy(s.name);
        match (s.place, s.binding) {
            (SymbolPlace::Undefined, Binding::Weak) => {}
            (SymbolPlace::Undefined, _) => {
                undefined.insert(name.into_owned());
            }
            _ => {
                defined.insert(hidden_reference(&name).to_string());
            }
        }
    });
    undefined.retain(|n| !defined.contains(n));
    undefined
}

/// The claimed object's own symbols, as the linker would read them, then
/// a weak undefined hidden reference for each name of `hide`. `Err`: a
/// name holds a NUL (only a damaged decisions file can have one).
fn claim_symbols(
    symbols: &[InterfaceSymbol<'_>],
    hide: &NameList,
) -> Result<ClaimSymbols, NulInName> {
    let bytes = symbols
        .iter()
        .map(|s| s.name.len() + 1 + s.group.map_or(0, |g| g.len() + 1))
        .chain(hide.iter().map(|n| n.len() + 1))
        .sum();
    let mut out = ClaimSymbols {
        strings: Vec::with_capacity(bytes),
        symbols: Vec::with_capacity(symbols.len() + hide.len()),
    };
    for s in symbols {
        let entry = PluginSymbol {
            name: out.string(s.name)?,
            kind: match (s.place, s.binding) {
                (SymbolPlace::Undefined, Binding::Weak) => SymbolKind::WeakUndef,
                (SymbolPlace::Undefined, _) => SymbolKind::Undef,
                (SymbolPlace::Common, _) => SymbolKind::Common,
                (_, Binding::Weak) => SymbolKind::WeakDef,
                _ => SymbolKind::Def,
            },
            visibility: s.visibility,
            size: s.size,
            comdat: s.group.map(|g| out.string(g)).transpose()?,
            function: matches!(s.kind, SymbolType::Func | SymbolType::Ifunc),
        };
        out.symbols.push(entry);
    }
    for name in hide.iter() {
        let entry = PluginSymbol {
            name: out.string(hidden_reference(name).as_bytes())?,
            kind: SymbolKind::WeakUndef,
            visibility: Visibility::Hidden,
            size: 0,
            comdat: None,
            function: false,
        };
        out.symbols.push(entry);
    }
    Ok(out)
}
