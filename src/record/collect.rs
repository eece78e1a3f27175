//! The per-input half of Run-1: classifies each input the linker offers and
//! parses the relocatable ones into object records, reading through the
//! linker's own descriptor with pread while claim_file runs.
//!
//! (A worker thread that opened inputs by path was measured slower on a
//! 2-core machine: per-input wakeups, open/close, and page-fault contention
//! with the linker cost more than the overlap won.)

use std::os::unix::fs::FileExt;

use log::{debug, warn};

use crate::elf::hash::Hash128;
use crate::elf::object::{ObjectFacts, parse_object};
use crate::elf::types::Lto;
use crate::elf::{ElfError, FileClass, archive, classify};
use crate::fasthash::{FxHashMap, FxHashSet};
use crate::state::record::{EncodedObjects, SectionRecord, StringTable, SymbolRecord};

use super::input::{InputFile, READ_WHOLE_LIMIT, Window};

/// The first read of an input: enough for most objects in one syscall.
const FIRST_READ: u64 = 64 << 10;

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
    pub objects: EncodedObjects,
    pub strings: StringTable,
    /// Ids of C strings, sorted and made unique at the end.
    pub cstrings: Vec<u32>,
    pub incomplete: Vec<String>,
    /// Interface hashes of plain objects (for the identity), by the name
    /// the linker gave.
    pub hashes: FxHashMap<String, Hash128>,
    pub shared_inputs: Vec<String>,
    pub scripts: Vec<String>,
    /// The first slim LTO IR object seen (as the linker named it).
    pub slim: Option<String>,
    seen: FxHashSet<(String, u64)>,
    long_names: FxHashMap<String, Option<Vec<u8>>>,
    /// Read buffer, reused for every input.
    buf: Vec<u8>,
    /// An object's sections between parsing and encoding, reused.
    sections: Vec<SectionRecord>,
}

impl Collected {
    pub fn new() -> Collected {
        Collected {
            // A link of 600 small objects interns 22,000 names; room for
            // them costs little in a small link (memory never touched).
            strings: StringTable::with_capacity(24 << 10),
            ..Collected::default()
        }
    }

    /// Looks at one input: objects are analysed; libraries and scripts are
    /// noted by name; archives themselves are skipped (--whole-archive: bfd
    /// offers the archive too, then its members one by one).
    pub fn add(&mut self, job: &InputFile) {
        if !self.seen.insert((job.name.to_string(), job.offset)) {
            return; // offered twice (archive members can be)
        }
        // One pread for most inputs: an archive member's header, and the
        // first FIRST_READ bytes (all of a typical object).
        let header = if job.offset >= archive::HEADER {
            archive::HEADER
        } else {
            0
        };
        let first = job.size.min(FIRST_READ);
        let mut bytes = std::mem::take(&mut self.buf);
        bytes.resize((header + first) as usize, 0);
        match job.file.read_exact_at(&mut bytes, job.offset - header) {
            Ok(()) => {
                let data = &bytes[header as usize..];
                match classify(&data[..data.len().min(64)]) {
                    FileClass::Archive | FileClass::ThinArchive => {}
                    FileClass::Relocatable => self.add_object(job, header as usize, &mut bytes),
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
            Err(e) => self.unusable(job, None, format!("cannot read: {e}")),
        }
        self.buf = bytes;
    }

    /// `bytes` holds the member header (`header` bytes, none for a plain
    /// file) and the start of the object.
    fn add_object(&mut self, job: &InputFile, header: usize, bytes: &mut Vec<u8>) {
        let member = if header == 0 {
            None
        } else {
            let file = job.file;
            let long_names = self
                .long_names
                .entry(job.name.to_string())
                .or_insert_with(|| archive::long_names(file));
            archive::member_name(&bytes[..header], &mut || long_names.clone())
        };
        let result = if job.size <= READ_WHOLE_LIMIT {
            let have = (bytes.len() - header) as u64;
            let rest = if have < job.size {
                bytes.resize(header + job.size as usize, 0);
                job.file
                    .read_exact_at(&mut bytes[header + have as usize..], job.offset + have)
            } else {
                Ok(())
            };
            match rest {
                Ok(()) => parse_object(&bytes[header..]).map(|f| self.push(job, member.clone(), f)),
                Err(e) => Err(ElfError::new(format!("cannot read: {e}"))),
            }
        } else {
            let cache = object::ReadCache::new(Window::new(job.file, job.offset, job.size));
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
        // A fat LTO object reaches this plugin only when no LTO plugin took
        // it (a -fno-lto link): the linker uses its machine code, read here
        // like any object's. A slim one holds IR only: nothing to read.
        if facts.lto == Lto::Slim {
            if self.slim.is_none() {
                self.slim = Some(job.display_name(member.as_deref()));
            }
            self.incomplete.push(format!(
                "{}: slim LTO IR object (no machine code), not analysed",
                job.display_name(member.as_deref())
            ));
            return;
        }
        if job.offset == 0 {
            self.hashes.insert(job.name.to_string(), facts.interface);
        }
        // Names are interned in the order sections, symbols, C strings.
        let s = &mut self.strings;
        let sections = &mut self.sections;
        sections.clear();
        sections.extend(facts.sections.iter().map(|f| SectionRecord {
            name: s.intern_bytes(f.name),
            kind: f.kind,
            flags: f.flags,
            size: f.size,
            align: f.align,
            fdes: f.fdes,
            fde_bytes: f.fde_bytes,
            pointers: f.pointers,
            locals: f.locals,
            local_name_bytes: f.local_name_bytes,
            group: f.group.map(|g| s.intern_bytes(g)),
        }));
        let symbols = facts.symbols.iter().map(|f| SymbolRecord {
            name: s.intern_bytes(f.name),
            binding: f.binding,
            visibility: f.visibility,
            kind: f.kind,
            size: f.size,
            place: f.place,
        });
        self.objects.push(
            (job.name, member.as_deref(), job.offset, facts.hash),
            sections.iter().cloned(),
            symbols,
            &facts.edges,
        );
        for c in &facts.cstrings {
            self.cstrings.push(self.strings.intern(c));
        }
    }
}
