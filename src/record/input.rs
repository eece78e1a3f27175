//! One input as the linker shows it (a name, a descriptor, the byte range of
//! the object: a whole file, or an archive member), and reading a byte range
//! of a file with pread (positions of shared descriptors never move).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::elf::{FileClass, archive, classify};
use crate::fasthash::{FxHashMap, FxHashSet};

/// Objects up to this size are copied at once; larger ones (debug info) are
/// read range by range, so their debug sections are never read.
pub(super) const READ_WHOLE_LIMIT: u64 = 4 << 20;

pub struct InputFile<'a> {
    pub name: &'a str,
    /// The linker's descriptor, valid during claim_file only.
    pub file: &'a File,
    pub offset: u64,
    pub size: u64,
}

impl InputFile<'_> {
    /// Reads up to `buf.len()` bytes at `at` within the object.
    pub fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.size.saturating_sub(at)) as usize;
        self.file.read_at(&mut buf[..n], self.offset + at)
    }

    /// Fills `buf` from `at` within the object, naming the input on failure.
    pub fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        if at + buf.len() as u64 > self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: read past its end", self.name),
            ));
        }
        self.file
            .read_exact_at(buf, self.offset + at)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.name)))
    }
}

/// Inputs up to this size are read whole at once: most objects, in one
/// syscall.
const FIRST_READ: u64 = 64 << 10;
/// Of a larger input, the first read: an ELF header.
const HEAD_READ: u64 = 64;

/// One input as claim_file read it: what reading it further needs after
/// the linker's descriptor is gone.
pub struct Job {
    pub name: String,
    /// The archive member's name, for archive members.
    pub member: Option<String>,
    pub offset: u64,
    pub size: u64,
    /// The input's first bytes (all of a typical object), without the
    /// archive member header.
    pub first: io::Result<Vec<u8>>,
    /// A descriptor of its own (a duplicate of the linker's), when
    /// `first` does not hold all of the input.
    pub file: Option<File>,
}

impl Job {
    /// A relocatable object (by its first bytes).
    pub fn is_object(&self) -> bool {
        matches!(&self.first, Ok(b) if is_object(b))
    }

    /// An object whose rest the reading thread must read through a
    /// descriptor of its own.
    pub fn wants_file(&self) -> bool {
        matches!(&self.first, Ok(b) if (b.len() as u64) < self.size && is_object(b))
    }
}

fn is_object(bytes: &[u8]) -> bool {
    classify(&bytes[..bytes.len().min(64)]) == FileClass::Relocatable
}

/// Read buffers kept for reuse, and the largest kept: a fresh buffer is
/// zeroed before the read fills it (under callgrind, whose count of `rep
/// stosb` is per byte, most of claim_file once parsing left it).
const SPARE_BUFFERS: usize = 64;
const SPARE_SIZE: usize = 256 << 10;

/// The claim_file side of reading inputs.
#[derive(Default)]
pub struct Intake {
    seen: FxHashSet<(String, u64)>,
    long_names: FxHashMap<String, Option<Vec<u8>>>,
    spare: Vec<Vec<u8>>,
}

impl Intake {
    /// Reads the start of `input` while its descriptor is valid; with
    /// `own_file` (the reading thread has no descriptor of its own) all of
    /// an object up to [`READ_WHOLE_LIMIT`]. None: the linker offered it
    /// before (archive members can be).
    pub fn read(&mut self, input: &InputFile, own_file: bool) -> Option<Job> {
        if !self.seen.insert((input.name.to_string(), input.offset)) {
            return None;
        }
        // One pread: an archive member's header, and the member's first
        // bytes.
        let header = if input.offset >= archive::HEADER {
            archive::HEADER
        } else {
            0
        };
        // All of a small input; of a larger one (a shared library, an
        // archive, a large object) its ELF header, which says what it is:
        // 64 KiB of libc.so.6 were read to learn that it is a library.
        let first = if input.size <= FIRST_READ {
            input.size
        } else {
            HEAD_READ
        };
        // A spare keeps its length: only growing it beyond writes zeros.
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.resize((header + first) as usize, 0);
        let mut member = None;
        let read = input.file.read_exact_at(&mut bytes, input.offset - header);
        if read.is_ok() {
            if header > 0 {
                let f = input.file;
                let long_names = self
                    .long_names
                    .entry(input.name.to_string())
                    .or_insert_with(|| archive::long_names(f));
                member = archive::member_name(&bytes[..header as usize], long_names.as_deref());
                bytes.drain(..header as usize);
            }
            // An object up to READ_WHOLE_LIMIT is read whole here: the
            // reading thread then needs no descriptor of it. A larger one
            // (debug info) is read in ranges through a duplicate descriptor
            // ([`Job::wants_file`]). Libraries and archives are only looked at.
            if own_file && first < input.size && input.size <= READ_WHOLE_LIMIT && is_object(&bytes)
            {
                let have = bytes.len();
                bytes.resize(input.size as usize, 0);
                if let Err(e) = input.read_exact_at(&mut bytes[have..], have as u64) {
                    return Some(self.failed(input, member, e));
                }
            }
        }
        Some(Job {
            name: input.name.to_string(),
            member,
            offset: input.offset,
            size: input.size,
            first: read.map(|()| bytes),
            file: None,
        })
    }

    /// Keeps a buffer a [`Job`] is done with, for a later input.
    pub fn give_back(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && buf.capacity() <= SPARE_SIZE {
            self.spare.push(buf);
        }
    }

    fn failed(&self, input: &InputFile, member: Option<String>, e: io::Error) -> Job {
        Job {
            name: input.name.to_string(),
            member,
            offset: input.offset,
            size: input.size,
            first: Err(e),
            file: None,
        }
    }
}
