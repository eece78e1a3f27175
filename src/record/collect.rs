//! The per-input half of Run-1: classifies each input the linker offers and
//! parses the relocatable ones into object records, reading through the
//! linker's own descriptor with pread while claim_file runs.
//!
//! (A worker thread that opened inputs by path was measured slower on a
//! 2-core machine: per-input wakeups, open/close, and page-fault contention
//! with the linker cost more than the overlap won.)

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;

use log::{debug, warn};

use crate::elf::hash::Hash128;
use crate::elf::object::{ObjectFacts, parse_object};
use crate::elf::{ElfError, FileClass, archive, classify};
use crate::fasthash::{FxHashMap, FxHashSet};
use crate::state::record::{ObjectRecord, SectionRecord, StringTable, SymbolRecord};

use super::input::{InputFile, READ_WHOLE_LIMIT, Window};

impl InputFile<'_> {
    fn display_name(&self, member: Option<&str>) -> String {
        match member {
            Some(m) => format!("{}({m})", self.name),
            None => self.name.to_string(),
        }
    }
}

/// What the analysis of all objects produced.
#[derive(Default)]
pub struct Collected {
    pub objects: Vec<ObjectRecord>,
    pub strings: StringTable,
    pub cstrings: BTreeSet<u32>,
    pub incomplete: Vec<String>,
    /// Structural hashes of plain objects, by the name the linker gave.
    pub hashes: FxHashMap<String, Hash128>,
    pub shared_inputs: Vec<String>,
    pub scripts: Vec<String>,
    seen: FxHashSet<(String, u64)>,
    long_names: FxHashMap<String, Option<Vec<u8>>>,
    /// Read buffer, reused for every input.
    buf: Vec<u8>,
}

impl Collected {
    /// Looks at one input: objects are analysed; libraries and scripts are
    /// noted by name; archives themselves are skipped (--whole-archive: bfd
    /// offers the archive too, then its members one by one).
    pub fn add(&mut self, job: &InputFile) {
        if !self.seen.insert((job.name.to_string(), job.offset)) {
            return; // offered twice (archive members can be)
        }
        let file = job.file;
        let mut head = [0u8; 64];
        let n = head.len().min(job.size as usize);
        if let Err(e) = file.read_exact_at(&mut head[..n], job.offset) {
            return self.unusable(job, None, format!("cannot read: {e}"));
        }
        match classify(&head[..n]) {
            FileClass::Archive | FileClass::ThinArchive => {}
            FileClass::Relocatable => self.add_object(job, file),
            FileClass::SharedObject => self.shared_inputs.push(job.name.to_string()),
            FileClass::Text => self.scripts.push(job.name.to_string()),
            FileClass::Executable | FileClass::Unknown => {
                debug!(
                    "ignoring input {} (not an object, library or script)",
                    job.name
                )
            }
        }
    }

    fn add_object(&mut self, job: &InputFile, file: &File) {
        let member = if job.offset > 0 {
            let long_names = self
                .long_names
                .entry(job.name.to_string())
                .or_insert_with(|| archive::long_names(file));
            archive::member_name(file, job.offset, &mut || long_names.clone())
        } else {
            None
        };
        let result = if job.size <= READ_WHOLE_LIMIT {
            let mut bytes = std::mem::take(&mut self.buf);
            bytes.resize(job.size as usize, 0);
            let r = match file.read_exact_at(&mut bytes, job.offset) {
                Ok(()) => parse_object(&bytes[..]).map(|f| self.push(job, member.clone(), f)),
                Err(e) => Err(ElfError::new(format!("cannot read: {e}"))),
            };
            self.buf = bytes;
            r
        } else {
            let cache = object::ReadCache::new(Window::new(file, job.offset, job.size));
            parse_object(&cache).map(|f| self.push(job, member.clone(), f))
        };
        if let Err(e) = result {
            self.unusable(job, member.as_deref(), e.to_string());
        }
    }

    fn unusable(&mut self, job: &InputFile, member: Option<&str>, problem: String) {
        let what = format!(
            "{}: cannot be analysed: {problem}",
            job.display_name(member)
        );
        warn!("{what}; the link's exports will all be kept");
        self.incomplete.push(what);
    }

    fn push(&mut self, job: &InputFile, member: Option<String>, facts: ObjectFacts<'_>) {
        if facts.lto_ir {
            self.incomplete.push(format!(
                "{}: LTO IR object, not analysed",
                job.display_name(member.as_deref())
            ));
            return;
        }
        if job.offset == 0 {
            self.hashes.insert(job.name.to_string(), facts.hash);
        }
        let s = &mut self.strings;
        let sections = facts
            .sections
            .iter()
            .map(|f| SectionRecord {
                name: s.intern(&f.name),
                kind: f.kind,
                flags: f.flags,
                size: f.size,
                group: f.group.as_deref().map(|g| s.intern(g)),
            })
            .collect();
        let symbols = facts
            .symbols
            .iter()
            .map(|f| SymbolRecord {
                name: s.intern(&f.name),
                binding: f.binding,
                visibility: f.visibility,
                kind: f.kind,
                size: f.size,
                place: f.place,
            })
            .collect();
        for c in &facts.cstrings {
            self.cstrings.insert(s.intern(c));
        }
        self.objects.push(ObjectRecord {
            path: job.name.to_string(),
            member,
            offset: job.offset,
            hash: facts.hash,
            sections,
            symbols,
            edges: facts.edges,
        });
    }
}
