//! Compressed sizes as a firmware team budgets them: the whole image as a
//! squashfs filesystem with xz (mksquashfs, squashfs-tools), or as a
//! tar.xz where mksquashfs is missing; one file as xz in squashfs's 128 KiB
//! blocks, each compressed on its own, which is what squashfs stores for it
//! (less its share of the metadata). The tools run as child processes:
//! compressing is outside the link, and their output is only counted.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

/// How the whole image is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `mksquashfs ROOT IMG -comp xz` (the default block size, 128 KiB).
    Squashfs,
    /// `tar -c ROOT | xz -6`.
    TarXz,
}

impl Format {
    /// squashfs when mksquashfs is on PATH (or in /usr/sbin, /sbin), tar.xz
    /// otherwise.
    pub fn available() -> Format {
        if mksquashfs().is_some() {
            Format::Squashfs
        } else {
            Format::TarXz
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Format::Squashfs => "squashfs (xz)",
            Format::TarXz => "tar.xz",
        }
    }
}

/// squashfs's default block size: a file is compressed in blocks this big.
const BLOCK: &str = "128KiB";

/// A compressing tool that could not run or failed.
#[derive(Debug)]
pub struct CompressError {
    pub tool: &'static str,
    pub path: PathBuf,
    pub kind: ErrorKind,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// The tool is not installed.
    Missing,
    /// It exited with a failure; its stderr.
    Failed(String),
    Io(std::io::Error),
}

impl std::fmt::Display for CompressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (tool, path) = (self.tool, self.path.display());
        match &self.kind {
            ErrorKind::Missing => write!(f, "{path}: {tool} is not installed"),
            ErrorKind::Failed(stderr) => write!(f, "{path}: {tool} failed: {}", stderr.trim()),
            ErrorKind::Io(e) => write!(f, "{path}: {tool}: {e}"),
        }
    }
}

impl std::error::Error for CompressError {}

fn error(tool: &'static str, path: &Path, kind: ErrorKind) -> CompressError {
    CompressError {
        tool,
        path: path.to_path_buf(),
        kind,
    }
}

fn io(tool: &'static str, path: &Path) -> impl Fn(std::io::Error) -> CompressError {
    move |e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::Missing
        } else {
            ErrorKind::Io(e)
        };
        error(tool, path, kind)
    }
}

fn mksquashfs() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("mksquashfs"))
        .find(|p| p.is_file())
}

/// The compressed size of the tree at `root`.
pub fn image(root: &Path, format: Format) -> Result<u64, CompressError> {
    match format {
        Format::Squashfs => squashfs(root),
        Format::TarXz => tar_xz(root),
    }
}

/// Removes the scratch image however `squashfs` returns.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn squashfs(root: &Path) -> Result<u64, CompressError> {
    let tool = mksquashfs().ok_or_else(|| error("mksquashfs", root, ErrorKind::Missing))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch = Scratch(
        std::env::temp_dir().join(format!("ldprune-image-{}-{nanos}.sqfs", std::process::id())),
    );
    // Owners, times and xattrs vary between builds and are not what is
    // budgeted: all root, time 0, no xattrs. -nopad: the bytes themselves,
    // not rounded up to 4 KiB (a partition rounds them to its own blocks).
    let out = Command::new(&tool)
        .arg(root)
        .arg(&scratch.0)
        .args([
            "-comp",
            "xz",
            "-noappend",
            "-no-progress",
            "-quiet",
            "-nopad",
        ])
        .args([
            "-all-root",
            "-no-xattrs",
            "-mkfs-time",
            "0",
            "-all-time",
            "0",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(io("mksquashfs", root))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        return Err(error("mksquashfs", root, ErrorKind::Failed(stderr)));
    }
    std::fs::metadata(&scratch.0)
        .map(|m| m.len())
        .map_err(|e| error("mksquashfs", &scratch.0, ErrorKind::Io(e)))
}

fn tar_xz(root: &Path) -> Result<u64, CompressError> {
    // Sorted names, fixed owners and times: the same tree, the same size.
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .args(["--mtime=@0", "-cf", "-", "."])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("tar", root))?;
    let Some(stdout) = tar.stdout.take() else {
        return Err(error("tar", root, ErrorKind::Failed("no output".into())));
    };
    let counted = xz_count(Stdio::from(stdout), root);
    let out = tar.wait_with_output().map_err(io("tar", root))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        return Err(error("tar", root, ErrorKind::Failed(stderr)));
    }
    counted
}

/// The size of the file at `path` compressed as squashfs compresses it:
/// xz in 128 KiB blocks, each on its own.
pub fn file_xz(path: &Path) -> Result<u64, CompressError> {
    let file = std::fs::File::open(path).map_err(|e| error("xz", path, ErrorKind::Io(e)))?;
    xz_count(Stdio::from(file), path)
}

/// Runs xz on `input` and counts the bytes it writes.
fn xz_count(input: Stdio, path: &Path) -> Result<u64, CompressError> {
    let mut xz = Command::new("xz")
        .args(["-6", "-T1", "-c", &format!("--block-size={BLOCK}")])
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("xz", path))?;
    let mut n = 0u64;
    if let Some(mut stdout) = xz.stdout.take() {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => n += k as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(error("xz", path, ErrorKind::Io(e))),
            }
        }
    }
    let out = xz.wait_with_output().map_err(io("xz", path))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        return Err(error("xz", path, ErrorKind::Failed(stderr)));
    }
    Ok(n)
}
