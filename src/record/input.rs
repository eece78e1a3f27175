//! One input as the linker shows it (a name, a descriptor, the byte range of
//! the object: a whole file, or an archive member), and reading a byte range
//! of a file with pread (positions of shared descriptors never move).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

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

/// A byte range of a file, read with pread.
pub(super) struct Window<'a> {
    file: &'a File,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a> Window<'a> {
    pub(super) fn new(file: &'a File, start: u64, len: u64) -> Self {
        Window {
            file,
            start,
            len,
            pos: 0,
        }
    }
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
