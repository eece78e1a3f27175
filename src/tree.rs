//! Walks a directory tree (an image, a DESTDIR, unpacked packages) and
//! reads the ELF executables and shared libraries in it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::elf::output::{OutputFacts, parse_output};
use crate::elf::sparse::read_dynamic_parts;

pub struct ElfFile {
    pub path: PathBuf,
    pub facts: OutputFacts,
}

/// Every ELF executable or shared library under `root` (symbolic links are
/// not followed; files that cannot be read are reported in the error list).
pub fn elf_files(root: &Path) -> Result<(Vec<ElfFile>, Vec<String>), String> {
    if !root.is_dir() {
        return Err(format!("{}: not a directory", root.display()));
    }
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let mut paths: Vec<(PathBuf, std::fs::FileType)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, ty) in paths {
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                match read_elf(&path) {
                    Ok(Some(facts)) => found.push(ElfFile { path, facts }),
                    Ok(None) => {}
                    Err(e) => problems.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((found, problems))
}

/// The facts of `path` if it is an ELF executable or shared library.
fn read_elf(path: &Path) -> Result<Option<OutputFacts>, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut head = [0u8; 18];
    let n = file.read(&mut head).map_err(|e| e.to_string())?;
    if n < 18 || head[..4] != *b"\x7fELF" {
        return Ok(None);
    }
    let bytes = read_dynamic_parts(&file).map_err(|e| e.to_string())?;
    let facts = parse_output(&bytes[..]).map_err(|e| e.to_string())?;
    Ok(matches!(facts.e_type, 2 | 3).then_some(facts))
}
