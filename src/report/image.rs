//! The image as a whole: the bytes of every ELF file before and after
//! Run-2, and the compressed size of the image.
//!
//! Run-2 rebuilds in the paths of Run-1, so the image holds only the
//! "after". "Before" comes from one of two places: a copy of the image made
//! before Run-2 (`--before`), measured like the image itself; or the state
//! directory, whose Run-1 records measured each output. An installed file is
//! tied to its Run-2 link by its build-id (it survives strip and install);
//! when it is the link's output byte for byte, Run-1's measured size is its
//! size before; when it is not (stripped on install), the link's growth or
//! shrinkage is added to it, an estimate. Without a copy of the old image
//! its compressed size cannot be measured, and is not guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compress::{self, CompressError, Format};
use crate::fasthash::FxHashMap;
use crate::tree::{ElfFile, RootError, TreeProblem};

/// An output Run-2 rebuilt: how to find it in the image, and its sizes.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// The Run-2 output's build-id.
    pub build_id: Option<Vec<u8>>,
    /// The output's file name, for outputs without a build-id.
    pub file_name: String,
    /// Run-1's and Run-2's output file sizes as the state measured them.
    pub run1_size: u64,
    pub run2_size: u64,
}

/// Where a file's size before Run-2 comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Before {
    /// Measured in the copy of the image before Run-2.
    Image,
    /// The file is Run-2's output as linked; Run-1's output as measured.
    Run1Output,
    /// The file is not Run-2's output as linked (stripped on install, say):
    /// its size less what the link saved. An estimate.
    Estimated,
    /// Run-2 did not rebuild the file.
    Unchanged,
    /// Only in the image after Run-2.
    New,
    /// Only in the copy before Run-2.
    Gone,
}

impl Before {
    pub fn describe(self) -> &'static str {
        match self {
            Before::Image => "measured in the image before Run-2",
            Before::Run1Output => "Run-1's output as the state measured it",
            Before::Estimated => {
                "estimated: the installed file is not the link's output (stripped?)"
            }
            Before::Unchanged => "not rebuilt by Run-2",
            Before::New => "only in the image after Run-2",
            Before::Gone => "only in the image before Run-2",
        }
    }
}

/// One ELF file of the image.
#[derive(Clone, Debug, Serialize)]
pub struct FileSizes {
    /// The path under the image root, with a leading `/`.
    pub path: String,
    /// A shared library (by its file name: `*.so`, `*.so.N`), not a program.
    pub library: bool,
    pub before: u64,
    pub after: u64,
    pub before_from: Before,
    /// xz in squashfs's blocks ([`compress::file_xz`]); None when not
    /// measured (no file, or no copy of the old one).
    pub xz_before: Option<u64>,
    pub xz_after: Option<u64>,
}

/// The whole image compressed, before and after.
#[derive(Clone, Debug, Serialize)]
pub struct Compressed {
    pub format: Format,
    /// None without a copy of the image before Run-2.
    pub before: Option<u64>,
    pub after: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageSizes {
    pub root: PathBuf,
    pub before_root: Option<PathBuf>,
    pub files: Vec<FileSizes>,
    pub elf_before: u64,
    pub elf_after: u64,
    /// Files Run-2 rebuilt (their sizes before are not an "unchanged").
    pub rebuilt: usize,
    pub compressed: Option<Compressed>,
}

/// What to measure.
pub struct Request<'a> {
    /// The image after Run-2.
    pub root: &'a Path,
    /// A copy of the image before Run-2, if kept.
    pub before: Option<&'a Path>,
    /// None: no compressing at all.
    pub format: Option<Format>,
}

/// Measures the image. `progress` is told each step (a line for a log).
pub fn measure(
    req: &Request,
    rebuilt: &[Rebuilt],
    progress: &mut dyn FnMut(&str),
) -> Result<ImageSizes, ImageError> {
    let after = elf_files(req.root, progress)?;
    let before = match req.before {
        Some(root) => Some(elf_files(root, progress)?),
        None => None,
    };
    let by_id: FxHashMap<&[u8], &Rebuilt> = rebuilt
        .iter()
        .filter_map(|r| r.build_id.as_deref().map(|id| (id, r)))
        .collect();
    let mut files: BTreeMap<String, FileSizes> = BTreeMap::new();
    let mut rebuilt_files = 0;
    for (rel, f) in &after {
        let size = file_size(&f.path)?;
        let run2 = match &f.facts.build_id {
            Some(id) => by_id.get(id.as_slice()).copied(),
            None => rebuilt
                .iter()
                .find(|r| r.build_id.is_none() && r.file_name == file_name(rel)),
        };
        rebuilt_files += usize::from(run2.is_some());
        let (before_size, from) = match (&before, run2) {
            (Some(old), _) => match old.get(rel) {
                Some(o) => (file_size(&o.path)?, Before::Image),
                None => (0, Before::New),
            },
            (None, Some(r)) if r.run2_size == size => (r.run1_size, Before::Run1Output),
            (None, Some(r)) => (
                (size + r.run1_size).saturating_sub(r.run2_size),
                Before::Estimated,
            ),
            (None, None) => (size, Before::Unchanged),
        };
        files.insert(
            rel.clone(),
            FileSizes {
                path: rel.clone(),
                library: is_library(rel),
                before: before_size,
                after: size,
                before_from: from,
                xz_before: None,
                xz_after: None,
            },
        );
    }
    for (rel, o) in before.iter().flatten() {
        if !after.contains_key(rel) {
            files.insert(
                rel.clone(),
                FileSizes {
                    path: rel.clone(),
                    library: is_library(rel),
                    before: file_size(&o.path)?,
                    after: 0,
                    before_from: Before::Gone,
                    xz_before: None,
                    xz_after: None,
                },
            );
        }
    }
    if req.format.is_some() {
        compress_files(&mut files, &after, before.as_ref(), progress)?;
    }
    let compressed = match req.format {
        None => None,
        Some(format) => {
            progress(&format!(
                "compressing {} as {}",
                req.root.display(),
                format.describe()
            ));
            let after = compress::image(req.root, format)?;
            let before = match req.before {
                Some(root) => {
                    progress(&format!(
                        "compressing {} as {}",
                        root.display(),
                        format.describe()
                    ));
                    Some(compress::image(root, format)?)
                }
                None => None,
            };
            Some(Compressed {
                format,
                before,
                after,
            })
        }
    };
    let files: Vec<FileSizes> = files.into_values().collect();
    Ok(ImageSizes {
        root: req.root.to_path_buf(),
        before_root: req.before.map(Path::to_path_buf),
        elf_before: files.iter().map(|f| f.before).sum(),
        elf_after: files.iter().map(|f| f.after).sum(),
        rebuilt: rebuilt_files,
        files,
        compressed,
    })
}

/// Compresses each file on its own; a file both images hold byte for byte
/// once. An unchanged file's size before is its size after.
fn compress_files(
    files: &mut BTreeMap<String, FileSizes>,
    after: &BTreeMap<String, ElfFile>,
    before: Option<&BTreeMap<String, ElfFile>>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ImageError> {
    let total = files.len();
    let mut ticker = Ticker::default();
    for (i, (rel, sizes)) in files.iter_mut().enumerate() {
        if ticker.due() {
            progress(&format!("compressing files: {i}/{total}"));
        }
        let new = after.get(rel);
        let old = before.and_then(|b| b.get(rel));
        if let Some(f) = new {
            sizes.xz_after = Some(compress::file_xz(&f.path)?);
        }
        sizes.xz_before = match (old, sizes.before_from) {
            (Some(o), _) => match new {
                Some(n) if same_bytes(&o.path, &n.path)? => sizes.xz_after,
                _ => Some(compress::file_xz(&o.path)?),
            },
            (None, Before::Unchanged) => sizes.xz_after,
            (None, _) => None,
        };
    }
    Ok(())
}

/// Prints at most one progress line every few seconds.
struct Ticker {
    last: Option<std::time::Instant>,
}

impl Default for Ticker {
    fn default() -> Ticker {
        Ticker {
            last: Some(std::time::Instant::now()),
        }
    }
}

impl Ticker {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);

    fn due(&mut self) -> bool {
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Self::EVERY)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool, ImageError> {
    if file_size(a)? != file_size(b)? {
        return Ok(false);
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| ImageError::io(p, e));
    Ok(read(a)? == read(b)?)
}

/// The ELF files under `root`, by their path under it.
fn elf_files(
    root: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<BTreeMap<String, ElfFile>, ImageError> {
    progress(&format!("reading the ELF files under {}", root.display()));
    let (files, problems) = crate::tree::elf_files(root).map_err(ImageError::Root)?;
    if let Some(p) = problems.into_iter().next() {
        // A file that cannot be read would be missing from both totals.
        return Err(ImageError::Unreadable(p));
    }
    Ok(files
        .into_iter()
        .map(|f| {
            let rel = f.path.strip_prefix(root).unwrap_or(&f.path);
            (format!("/{}", rel.display()), f)
        })
        .collect())
}

fn file_size(p: &Path) -> Result<u64, ImageError> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| ImageError::io(p, e))
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// `libx.so`, `libx.so.1`, `libx.so.1.2.3`; not `x.socket`.
fn is_library(rel: &str) -> bool {
    let name = file_name(rel);
    name.split('.')
        .skip(1)
        .position(|part| part == "so")
        .is_some_and(|i| {
            name.split('.')
                .skip(i + 2)
                .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// The image could not be measured: a file of it, or a compressing tool.
#[derive(Debug)]
pub enum ImageError {
    /// The image (or --before) root is not a directory.
    Root(RootError),
    /// A file or directory of the image that cannot be read: it would be
    /// missing from both totals.
    Unreadable(TreeProblem),
    /// A file being compared.
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    Compress(CompressError),
}

impl ImageError {
    fn io(path: &Path, e: std::io::Error) -> ImageError {
        ImageError::File {
            path: path.to_path_buf(),
            error: e,
        }
    }
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Root(e) => e.fmt(f),
            ImageError::Unreadable(p) => write!(f, "{p} (the image cannot be measured)"),
            ImageError::File { path, error } => write!(f, "{}: {error}", path.display()),
            ImageError::Compress(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImageError::Root(e) => Some(e),
            ImageError::Unreadable(p) => Some(&p.reason),
            ImageError::File { error, .. } => Some(error),
            ImageError::Compress(e) => Some(e),
        }
    }
}

impl From<CompressError> for ImageError {
    fn from(e: CompressError) -> ImageError {
        ImageError::Compress(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root that is not there is named once (the walk's error already
    /// holds the path; wrapping it as a file error printed it twice).
    #[test]
    fn missing_root_is_named_once() {
        let root = Path::new("/nonexistent-ldprune-test-image");
        let req = Request {
            root,
            before: None,
            format: None,
        };
        let e = measure(&req, &[], &mut |_| {}).unwrap_err();
        assert!(matches!(e, ImageError::Root(RootError::Missing(_))), "{e}");
        assert_eq!(
            e.to_string(),
            "/nonexistent-ldprune-test-image: no such directory"
        );
    }

    #[test]
    fn libraries_by_name() {
        for lib in ["/lib/libc.so.6", "/usr/lib/libx.so", "/a/libq.so.1.2.3"] {
            assert!(is_library(lib), "{lib}");
        }
        for prog in ["/bin/ls", "/x.socket", "/lib/libx.so.bak", "/so"] {
            assert!(!is_library(prog), "{prog}");
        }
    }
}
