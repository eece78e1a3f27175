//! The per-input half of Run-1: classifies each input the linker offers and
//! parses the relocatable ones into object records, from what claim_file
//! read ([`Job`]) and, for larger objects, a descriptor of the input.

use std::fs::File;
use std::os::unix::fs::FileExt;

use log::{debug, warn};

use crate::elf::hash::Hash128;
use crate::elf::object::{ObjectFacts, parse_object};
use crate::elf::sparse::read_object_parts;
use crate::elf::types::Lto;
use crate::elf::{ElfError, FileClass, classify};
use crate::fasthash::FxHashMap;
use crate::state::record::{EncodedObjects, SectionRecord, StringTable, SymbolRecord};

use super::input::{Job, READ_WHOLE_LIMIT};

/// Names a small C object brings to the link's table (600 objects: 22,000).
const NAMES_PER_INPUT: usize = 40;

/// An object being read: where it is and how to read the rest of it.
struct Object<'a> {
    name: &'a str,
    member: Option<&'a str>,
    offset: u64,
    size: u64,
    file: Option<&'a File>,
}

fn display_name(name: &str, member: Option<&str>) -> String {
    match member {
        Some(m) => format!("{name}({m})"),
        None => name.to_string(),
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
    /// An object's sections between parsing and encoding, reused.
    sections: Vec<SectionRecord>,
}

impl Collected {
    /// `inputs`: how many inputs the command line names, to size the
    /// name table: a link of 600 small objects interns 22,000 names, and
    /// each doubling of the table rehashes them all; but a table sized for
    /// them in a link of five objects costs a page fault per name (its
    /// slots are scattered over 512 KiB: 0.2 ms of a 20 ms link).
    pub fn new(inputs: usize) -> Collected {
        Collected {
            strings: StringTable::with_capacity(
                inputs
                    .saturating_mul(NAMES_PER_INPUT)
                    .clamp(1 << 10, 1 << 20),
            ),
            ..Collected::default()
        }
    }

    /// Looks at one input: objects are analysed; libraries and scripts are
    /// noted by name; archives themselves are skipped (--whole-archive: bfd
    /// offers the archive too, then its members one by one). `job` holds
    /// what claim_file read; `file` is a descriptor of the input for what it
    /// did not (the linker's own inline, a duplicate on the reading thread).
    /// Gives back the buffer of `job`'s bytes, for the next input.
    pub fn process(&mut self, job: Job, file: Option<&File>) -> Vec<u8> {
        let Job {
            name,
            member,
            offset,
            size,
            first,
            file: own,
        } = job;
        let file = file.or(own.as_ref());
        let mut bytes = match first {
            Ok(b) => b,
            Err(e) => {
                self.unusable(&name, member.as_deref(), format!("cannot read: {e}"));
                return Vec::new();
            }
        };
        match classify(&bytes[..bytes.len().min(64)]) {
            FileClass::Archive | FileClass::ThinArchive => {}
            FileClass::Relocatable => {
                let input = Object {
                    name: &name,
                    member: member.as_deref(),
                    offset,
                    size,
                    file,
                };
                self.add_object(&input, &mut bytes);
            }
            FileClass::SharedObject => self.shared_inputs.push(name),
            FileClass::Text => self.scripts.push(name),
            FileClass::Executable | FileClass::Unknown => {
                debug!("ignoring input {name} (not an object, library or script)")
            }
        }
        bytes
    }

    /// A note for the record's list of what was not analysed, in order with
    /// the inputs.
    pub fn note_incomplete(&mut self, what: String) {
        self.incomplete.push(what);
    }

    /// `bytes` holds the start of the object (all of it when it is small).
    fn add_object(&mut self, job: &Object, bytes: &mut Vec<u8>) {
        let have = bytes.len() as u64;
        let result = match job.file {
            _ if have >= job.size => parse_object(&bytes[..]).map(|f| self.push(job, f)),
            None => Err(ElfError::new(
                "cannot read: no descriptor for the rest of the object".to_string(),
            )),
            Some(file) if job.size <= READ_WHOLE_LIMIT => {
                bytes.resize(job.size as usize, 0);
                match file.read_exact_at(&mut bytes[have as usize..], job.offset + have) {
                    Ok(()) => parse_object(&bytes[..]).map(|f| self.push(job, f)),
                    Err(e) => Err(ElfError::new(format!("cannot read: {}: {e}", job.name))),
                }
            }
            // Only what the parser reads: a lookup per name in object's
            // ReadCache (SipHash, an allocation each) cost more than all
            // else for objects of 20,000 functions.
            Some(file) => match read_object_parts(job.size, |buf, at| {
                file.read_exact_at(buf, job.offset + at)
            }) {
                Ok(parts) => parse_object(&parts).map(|f| self.push(job, f)),
                Err(e) => Err(ElfError::new(format!("cannot read: {}: {e}", job.name))),
            },
        };
        if let Err(e) = result {
            self.unusable(job.name, job.member, e.to_string());
        }
    }

    fn unusable(&mut self, name: &str, member: Option<&str>, problem: String) {
        let what = format!(
            "{}: cannot be analysed: {problem}",
            display_name(name, member)
        );
        warn!("{what}; the link's exports will all be kept");
        self.incomplete.push(what);
    }

    fn push(&mut self, job: &Object, facts: ObjectFacts<'_>) {
        // A fat LTO object reaches this plugin only when no LTO plugin took
        // it (a -fno-lto link): the linker uses its machine code, read here
        // like any object's. A slim one holds IR only: nothing to read.
        if facts.lto == Lto::Slim {
            if self.slim.is_none() {
                self.slim = Some(display_name(job.name, job.member));
            }
            self.incomplete.push(format!(
                "{}: slim LTO IR object (no machine code), not analysed",
                display_name(job.name, job.member)
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
            (job.name, job.member, job.offset, facts.hash),
            sections.iter().cloned(),
            symbols,
            &facts.edges,
        );
        for c in &facts.cstrings {
            self.cstrings.push(self.strings.intern(c));
        }
    }
}
