//! Run-2: find this link's decisions and hide those names.
//!
//! Mechanism (linker-facts.md, confirmed by tests/apply.rs on bfd and gold):
//! claim the FIRST relocatable input, report its real symbols plus a weak
//! undefined STV_HIDDEN entry for each name to hide, and hand the linker an
//! unchanged copy of it in all_symbols_read. The most constraining
//! visibility among all entries of a name wins, so the definitions become
//! hidden and --gc-sections can drop them. Only the first input is claimed:
//! its copy takes its place, so the input order (constructor order) stays.
//!
//! Fail-open: a link without decisions (new, sources changed since Run-1,
//! no merge yet) links unchanged and leaves one line in DIR/apply.log.

mod applied;
mod prehash;
mod stub;
mod stub_link;

pub use applied::{
    Achieved, AppliedRecord, LogLine, newest_by_identity, read_log, still_unchanged,
};
pub use stub::{Target, stub_object};
pub use stub_link::stub_link;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::elf::hash::Hash128;
use crate::elf::object::{ObjectFacts, parse_object};
use crate::elf::types::{Binding, SymbolPlace, SymbolType, Visibility};
use crate::elf::{FileClass, classify};
use crate::identity::{LinkLine, interface_hash_of_path, link_identity, parse_link_line};
use crate::record::InputFile;
use crate::state::{StateDir, decisions};

/// The kind of a symbol entry handed to the linker (LDPK_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Def,
    WeakDef,
    Undef,
    WeakUndef,
    Common,
}

/// One entry for the linker's add_symbols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSymbol {
    /// As the symbol table spells it, versions included (`foo@@V2`).
    pub name: String,
    pub kind: SymbolKind,
    pub visibility: Visibility,
    pub size: u64,
    pub comdat: Option<String>,
    pub function: bool,
}

/// What claim_file tells the linker.
#[derive(Debug)]
pub enum Claim {
    No,
    Yes(Vec<PluginSymbol>),
}

pub struct Applier {
    state: StateDir,
    /// The command line, parsed at onload.
    line: LinkLine,
    cwd: String,
    output: String,
    /// The first relocatable input has been seen: nothing else is claimed.
    decided: bool,
    /// Found in the decisions: this link's identity and the names to hide.
    applied: Option<(Hash128, Vec<String>)>,
    /// The claimed input's file name and bytes, to hand back as a copy.
    claimed: Option<(String, Vec<u8>)>,
    temp_dir: Option<PathBuf>,
    /// Hashing of the command line's objects, started at onload.
    prehash: Option<prehash::Prehash>,
    created: std::time::Instant,
}

impl Applier {
    pub fn new(state: StateDir, argv: Vec<String>, cwd: String, output: Option<String>) -> Applier {
        let line = parse_link_line(&argv);
        let prehash = Some(prehash::Prehash::start(&line.inputs));
        let output = output.unwrap_or_else(|| line.output.clone());
        Applier {
            state,
            line,
            cwd,
            output,
            decided: false,
            applied: None,
            claimed: None,
            temp_dir: None,
            prehash,
            created: std::time::Instant::now(),
        }
    }

    /// claim_file: the first relocatable input decides for the whole link.
    pub fn claim_file(&mut self, input: &InputFile) -> Result<Claim, String> {
        if self.decided {
            return Ok(Claim::No);
        }
        let mut head = [0u8; 64];
        let n = input.read_at(&mut head, 0).map_err(|e| e.to_string())?;
        if classify(&head[..n]) != FileClass::Relocatable {
            return Ok(Claim::No);
        }
        self.decided = true;
        if input.offset != 0 {
            // An archive member: its copy would become a plain object.
            self.log(None, "first object is an archive member: left unchanged");
            return Ok(Claim::No);
        }
        let size = usize::try_from(input.size).map_err(|_| "input too large".to_string())?;
        let mut bytes = vec![0u8; size];
        input
            .read_exact_at(&mut bytes, 0)
            .map_err(|e| e.to_string())?;
        let facts = parse_object(&bytes[..]).map_err(|e| format!("{}: {e}", input.name))?;
        if facts.lto_ir {
            self.log(None, "first object is LTO IR: left unchanged");
            return Ok(Claim::No);
        }
        let started = std::time::Instant::now();
        log::debug!("first object {:?} after onload", self.created.elapsed());
        let (first, first_hash) = (input.name, facts.interface);
        let known = self
            .prehash
            .take()
            .map(prehash::Prehash::finish)
            .unwrap_or_default();
        let identity = link_identity(&self.line, |p| {
            if p == first {
                Some(first_hash)
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
        let decision = match found {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.log(
                    Some(identity),
                    "not in the decisions (a new link, or its inputs changed since Run-1): left unchanged",
                );
                return Ok(Claim::No);
            }
            Err(e) => {
                self.log(
                    Some(identity),
                    &format!("no usable decisions ({e}): left unchanged"),
                );
                return Ok(Claim::No);
            }
        };
        let symbols = claim_symbols(&facts);
        // A name the claimed object defines itself stays: a hidden entry
        // next to its own definition would only hide it from the claimed copy.
        let own: HashSet<&str> = symbols
            .iter()
            .filter(|s| !matches!(s.kind, SymbolKind::Undef | SymbolKind::WeakUndef))
            .map(|s| s.name.as_str())
            .collect();
        let hide: Vec<String> = decision
            .hide
            .into_iter()
            .filter(|n| !own.contains(n.as_str()))
            .collect();
        self.applied = Some((identity, hide.clone()));
        if hide.is_empty() {
            return Ok(Claim::No);
        }
        let mut symbols = symbols;
        symbols.extend(hide.into_iter().map(|name| PluginSymbol {
            name: hidden_reference(&name).to_string(),
            kind: SymbolKind::WeakUndef,
            visibility: Visibility::Hidden,
            size: 0,
            comdat: None,
            function: false,
        }));
        let name = Path::new(input.name).file_name().map_or_else(
            || "input.o".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.claimed = Some((name, bytes));
        Ok(Claim::Yes(symbols))
    }

    /// all_symbols_read: the unchanged copy of the claimed input, to add.
    pub fn all_symbols_read(&mut self) -> Result<Option<PathBuf>, String> {
        let Some((name, bytes)) = &self.claimed else {
            return Ok(None);
        };
        let dir = tempdir()?;
        self.temp_dir = Some(dir.clone());
        // Named after the original: the linker's messages show this path.
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(path))
    }

    /// cleanup (runs on failure too): remove the copy, note what was achieved.
    pub fn cleanup(&mut self) -> Result<(), String> {
        let started = std::time::Instant::now();
        let r = self.cleanup_inner();
        log::debug!("run-2 cleanup in {:?}", started.elapsed());
        r
    }

    fn cleanup_inner(&mut self) -> Result<(), String> {
        let started_cleanup = std::time::Instant::now();
        // A link without a relocatable input never waited for the workers:
        // they must not outlive the linker's use of this library.
        if let Some(p) = self.prehash.take() {
            p.finish();
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let Some((identity, hide)) = self.applied.take() else {
            return Ok(());
        };
        let path = Path::new(&self.cwd).join(&self.output);
        // The output of a failed link is missing or incomplete: nothing to note.
        let Some(rec) = AppliedRecord::measure(identity, &path, &self.output, &self.cwd, &hide)
        else {
            return Ok(());
        };
        log::debug!("measured in {:?}", started_cleanup.elapsed());
        self.state.write_applied(&rec).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// One line in DIR/apply.log about this link.
    fn log(&self, identity: Option<Hash128>, why: &str) {
        applied::append_log(&self.state, identity, &self.cwd, &self.output, why);
        log::info!("{}: {why}", self.output);
    }
}

/// The name a hidden reference uses for the export `spelled`: a plain
/// reference binds to the default version, so `foo@@V2` becomes `foo` (gold
/// looks plugin names up literally: `foo@@V2` would be another symbol).
/// Non-default versions (`foo@V1`) are never hidden; kept as spelled.
fn hidden_reference(spelled: &str) -> &str {
    match spelled.split_once("@@") {
        Some((plain, _)) => plain,
        None => spelled,
    }
}

/// The claimed object's own symbols, as the linker would read them.
fn claim_symbols(facts: &ObjectFacts<'_>) -> Vec<PluginSymbol> {
    facts
        .symbols
        .iter()
        .map(|s| PluginSymbol {
            name: s.name.to_string(),
            kind: match (s.place, s.binding) {
                (SymbolPlace::Undefined, Binding::Weak) => SymbolKind::WeakUndef,
                (SymbolPlace::Undefined, _) => SymbolKind::Undef,
                (SymbolPlace::Common, _) => SymbolKind::Common,
                (_, Binding::Weak) => SymbolKind::WeakDef,
                _ => SymbolKind::Def,
            },
            visibility: s.visibility,
            size: s.size,
            comdat: match s.place {
                SymbolPlace::Section(i) => facts
                    .sections
                    .get(i as usize)
                    .and_then(|sec| sec.group.as_ref().map(|g| g.to_string())),
                _ => None,
            },
            function: matches!(s.kind, SymbolType::Func | SymbolType::Ifunc),
        })
        .collect()
}

/// A fresh private directory for the claimed input's copy.
fn tempdir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "ldprune-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!("cannot create a directory in {}", base.display()))
}
