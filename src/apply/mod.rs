//! Run-2: find this link's decisions and hide those names.
//!
//! Mechanism (measured on bfd and gold, see linker-facts.md): claim the
//! FIRST relocatable input, report its real symbols plus a weak undefined
//! STV_HIDDEN entry for each name to hide, and hand the linker an unchanged
//! copy of it in all_symbols_read. The most constraining visibility of all
//! entries of a name wins, so the definitions become hidden and
//! --gc-sections can drop them. Claiming only the first input keeps the
//! input order (constructor order) as it was.
//!
//! Fail-open: a link without decisions (new, changed sources, no merge yet)
//! links unchanged and leaves one line in DIR/apply.log.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::elf::hash::Hash128;
use crate::elf::object::parse_object;
use crate::elf::output::OutputSizes;
use crate::elf::types::{Binding, SymbolPlace, SymbolType, Visibility};
use crate::elf::{FileClass, classify};
use crate::identity::{link_identity, object_hash_of_path, parse_link_line};
use crate::record::InputFile;
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

/// One entry for add_symbols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSymbol {
    pub name: String,
    pub kind: SymbolKind,
    pub visibility: Visibility,
    pub size: u64,
    pub comdat: Option<String>,
    pub tls: bool,
    pub function: bool,
}

/// What claim_file should tell the linker.
#[derive(Debug)]
pub enum Claim {
    No,
    Yes(Vec<PluginSymbol>),
}

/// What Run-2 did to one link, for `ldprune report` (achieved vs predicted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRecord {
    pub identity: Hash128,
    pub output: String,
    pub cwd: String,
    pub recorded_at: u64,
    /// Names asked to be hidden.
    pub hidden: Vec<String>,
    /// Of those, names the output still exports (should be empty).
    pub still_exported: Vec<String>,
    pub sizes: OutputSizes,
    pub file_size: u64,
}

pub struct Applier {
    state: StateDir,
    argv: Vec<String>,
    cwd: String,
    output: String,
    decided: bool,
    identity: Option<Hash128>,
    hide: Vec<String>,
    /// The claimed input: its file name and bytes, to re-add a copy.
    claimed: Option<(String, Vec<u8>)>,
    temp_dir: Option<PathBuf>,
}

impl Applier {
    pub fn new(state: StateDir, argv: Vec<String>, cwd: String, output_name: Option<String>) -> Applier {
        let output = output_name.unwrap_or_else(|| parse_link_line(&argv).output);
        Applier {
            state,
            argv,
            cwd,
            output,
            decided: false,
            identity: None,
            hide: Vec::new(),
            claimed: None,
            temp_dir: None,
        }
    }

    /// claim_file: the first relocatable input decides; only it may be claimed.
    pub fn claim_file(&mut self, input: &InputFile) -> Result<Claim, String> {
        if self.decided {
            return Ok(Claim::No);
        }
        let mut bytes = vec![0u8; input.size as usize];
        std::os::unix::fs::FileExt::read_exact_at(input.file, &mut bytes, input.offset)
            .map_err(|e| format!("cannot read {}: {e}", input.name))?;
        if classify(&bytes[..bytes.len().min(64)]) != FileClass::Relocatable {
            return Ok(Claim::No);
        }
        self.decided = true;
        let facts = parse_object(&bytes[..]).map_err(|e| format!("{}: {e}", input.name))?;
        if facts.lto_ir {
            self.log("first input is LTO IR: link left unchanged");
            return Ok(Claim::No);
        }
        let line = parse_link_line(&self.argv);
        let first_hash = facts.hash;
        let first_name = input.name.to_string();
        let identity = link_identity(&line, |p| {
            if p == first_name && input.offset == 0 {
                Some(first_hash)
            } else {
                object_hash_of_path(p)
            }
        });
        self.identity = Some(identity);
        let file = decisions::path(&self.state);
        let decision = match decisions::lookup(&file, identity) {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.log("not in the decisions (new link, or its sources changed since Run-1): left unchanged");
                return Ok(Claim::No);
            }
            Err(e) => {
                self.log(&format!("no usable decisions ({e}): left unchanged"));
                return Ok(Claim::No);
            }
        };
        // A name the claimed object itself defines is not hidden this way.
        let own: Vec<&str> = facts
            .symbols
            .iter()
            .filter(|s| !matches!(s.place, SymbolPlace::Undefined))
            .map(|s| s.name.as_ref())
            .collect();
        self.hide = decision
            .hide
            .into_iter()
            .filter(|n| !own.contains(&n.as_str()))
            .collect();
        if self.hide.is_empty() {
            return Ok(Claim::No);
        }
        let groups: Vec<Option<String>> = facts
            .sections
            .iter()
            .map(|s| s.group.as_ref().map(|g| g.to_string()))
            .collect();
        let mut symbols: Vec<PluginSymbol> = facts
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
                    SymbolPlace::Section(i) => groups.get(i as usize).cloned().flatten(),
                    _ => None,
                },
                tls: s.kind == SymbolType::Tls,
                function: matches!(s.kind, SymbolType::Func | SymbolType::Ifunc),
            })
            .collect();
        symbols.extend(self.hide.iter().map(|n| PluginSymbol {
            name: n.clone(),
            kind: SymbolKind::WeakUndef,
            visibility: Visibility::Hidden,
            size: 0,
            comdat: None,
            tls: false,
            function: false,
        }));
        let name = Path::new(input.name)
            .file_name()
            .map_or_else(|| "input.o".to_string(), |n| n.to_string_lossy().into_owned());
        self.claimed = Some((name, bytes));
        Ok(Claim::Yes(symbols))
    }

    /// all_symbols_read: the unchanged copy of the claimed input, to add.
    pub fn all_symbols_read(&mut self) -> Result<Option<PathBuf>, String> {
        let Some((name, bytes)) = &self.claimed else {
            return Ok(None);
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("ldprune-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        self.temp_dir = Some(dir.clone());
        // Named after the original: the linker's messages show this path.
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(path))
    }

    /// cleanup: remove the copy; note what was achieved.
    pub fn cleanup(&mut self) -> Result<(), String> {
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let (Some(identity), true) = (self.identity, self.claimed.is_some()) else {
            return Ok(());
        };
        let path = Path::new(&self.cwd).join(&self.output);
        let Ok(file) = std::fs::File::open(&path) else {
            return Ok(()); // the link failed; nothing achieved
        };
        let Ok(bytes) = crate::elf::sparse::read_dynamic_parts(&file) else {
            return Ok(());
        };
        let Ok(facts) = crate::elf::output::parse_output(&bytes[..]) else {
            return Ok(()); // an incomplete file: the link failed
        };
        let exported: Vec<String> = facts.exports.iter().map(|e| e.spelled()).collect();
        let still_exported = self
            .hide
            .iter()
            .filter(|h| exported.iter().any(|e| e == *h || crate::analysis::graph::plain(e) == h.as_str()))
            .cloned()
            .collect();
        let rec = AppliedRecord {
            identity,
            output: self.output.clone(),
            cwd: self.cwd.clone(),
            recorded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            hidden: self.hide.clone(),
            still_exported,
            sizes: facts.sizes,
            file_size: file.metadata().map_or(0, |m| m.size()),
        };
        self.state
            .write_applied(&rec)
            .map_err(|e: StateError| e.to_string())?;
        Ok(())
    }

    /// One line in DIR/apply.log about this link.
    fn log(&self, why: &str) {
        let line = format!(
            "{} {} {}: {why}\n",
            self.identity.map_or_else(|| "-".to_string(), |i| i.to_string()),
            self.cwd,
            self.output
        );
        let path = self.state.root().join("apply.log");
        // One write of one line with O_APPEND: concurrent links do not mix.
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            let _ = f.write_all(line.as_bytes());
        }
        log::info!("{}: {why}", self.output);
    }
}
