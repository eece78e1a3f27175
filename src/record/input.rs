//! One input as the linker shows it: a name, a borrowed file descriptor and
//! the byte range of the object (a whole file, or an archive member).
//!
//! The descriptor belongs to the linker and its file position is arbitrary,
//! so everything here reads with pread and never moves the position.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use crate::elf::object::{ObjectFacts, parse_object};

/// Objects up to this size are read at once; larger ones (debug info) are
/// read range by range, so their debug sections are never read.
const READ_WHOLE_LIMIT: u64 = 4 << 20;

pub struct InputFile<'a> {
    pub name: &'a str,
    pub file: &'a File,
    pub offset: u64,
    pub size: u64,
}

impl InputFile<'_> {
    /// The first bytes of the input (fewer if it is shorter).
    pub fn head(&self) -> Vec<u8> {
        let mut buf = vec![0u8; 64.min(self.size) as usize];
        match self.file.read_exact_at(&mut buf, self.offset) {
            Ok(()) => buf,
            Err(_) => Vec::new(),
        }
    }

    /// "lib.a(member.o)" style name for messages.
    pub fn display_name(&self) -> String {
        if self.offset > 0 {
            format!("{}@{}", self.name, self.offset)
        } else {
            self.name.to_string()
        }
    }

    /// Parses the input as a relocatable object.
    pub fn parse_object(&self) -> Result<ObjectFacts, String> {
        if self.size <= READ_WHOLE_LIMIT {
            let mut buf = vec![0u8; self.size as usize];
            self.file
                .read_exact_at(&mut buf, self.offset)
                .map_err(|e| format!("cannot read: {e}"))?;
            parse_object(&buf[..]).map_err(|e| e.to_string())
        } else {
            let cache = object::ReadCache::new(Window {
                file: self.file,
                start: self.offset,
                len: self.size,
                pos: 0,
            });
            parse_object(&cache).map_err(|e| e.to_string())
        }
    }
}

/// A byte range of a borrowed file, read with pread.
struct Window<'a> {
    file: &'a File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = (buf.len() as u64).min(left) as usize;
        let got = self.file.read_at(&mut buf[..n], self.start + self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}
