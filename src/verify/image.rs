//! The files `verify` knows: the ELF files of the roots (layers of one
//! image, the first root wins), and host files read when the image lacks
//! a library. Paths inside the image are resolved as the loader would see
//! them with the root as `/`: an absolute symbolic link stays in the root.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::elf::output::OutputFacts;
use crate::tree::{elf_files, read_elf};

use super::VerifyError;
use super::problem::Problem;

/// Where a file is looked up: one of the roots, or the host's own `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    Root(usize),
    Host,
}

pub struct Object {
    /// Where the file is on this machine.
    pub path: PathBuf,
    /// Where the file is when the image runs (`/usr/lib/libz.so.1`): the
    /// base of `$ORIGIN`.
    pub image_path: PathBuf,
    /// Part of the roots (verified), not a host file (only used).
    pub in_tree: bool,
    pub facts: OutputFacts,
}

impl Object {
    /// A library the loader can map: a shared object (a PIE is one too).
    pub fn is_library(&self) -> bool {
        self.facts.e_type == 3
    }

    /// A program rather than only a library: the loader starts with it.
    pub fn is_program(&self) -> bool {
        self.facts.e_type == 2 || self.facts.has_interp
    }

    pub fn file_name(&self) -> Option<&str> {
        self.path.file_name().and_then(|n| n.to_str())
    }
}

pub struct Image {
    pub roots: Vec<PathBuf>,
    /// Host files may stand in for libraries the image lacks.
    pub host: bool,
    /// The host's `/` (a sysroot for a cross-compiled image); `None`: `/`.
    pub sysroot: Option<PathBuf>,
    pub objects: Vec<Object>,
    /// Real path -> object; `None`: not an ELF file the loader could use.
    by_path: HashMap<PathBuf, Option<usize>>,
    /// (place, image path) -> what [`Image::file_at`] found there.
    at: HashMap<(Place, PathBuf), Option<usize>>,
}

/// Symbolic links followed in one lookup before giving up (the kernel's limit).
const MAX_LINKS: usize = 40;

impl Image {
    /// Reads the ELF files of every root; unreadable ones become problems.
    pub fn scan(
        roots: &[PathBuf],
        host: bool,
        sysroot: Option<PathBuf>,
    ) -> Result<(Image, Vec<Problem>), VerifyError> {
        if let Some(s) = &sysroot
            && !s.is_dir()
        {
            return Err(VerifyError::SysrootNotADirectory(s.clone()));
        }
        let mut image = Image {
            roots: roots.to_vec(),
            host,
            sysroot,
            objects: Vec::new(),
            by_path: HashMap::new(),
            at: HashMap::new(),
        };
        let mut problems = Vec::new();
        for root in roots {
            let (files, bad) = elf_files(root).map_err(VerifyError::Root)?;
            problems.extend(bad.into_iter().map(|p| Problem::Unreadable {
                file: p.path,
                reason: p.reason.to_string(),
            }));
            for f in files {
                let inside = f.path.strip_prefix(root).unwrap_or(&f.path);
                let image_path = Path::new("/").join(inside);
                image.add(Object {
                    path: f.path,
                    image_path,
                    in_tree: true,
                    facts: f.facts,
                });
            }
        }
        Ok((image, problems))
    }

    fn add(&mut self, object: Object) -> usize {
        let id = self.objects.len();
        self.by_path.insert(object.path.clone(), Some(id));
        self.objects.push(object);
        id
    }

    pub fn get(&self, id: usize) -> &Object {
        &self.objects[id]
    }

    /// The usable ELF file at `image_path` in `place`.
    pub fn file_at(&mut self, place: Place, image_path: &Path) -> Option<usize> {
        let key = (place, image_path.to_path_buf());
        if let Some(&known) = self.at.get(&key) {
            return known;
        }
        let found = self.lookup(place, image_path);
        self.at.insert(key, found);
        found
    }

    fn lookup(&mut self, place: Place, image_path: &Path) -> Option<usize> {
        match place {
            Place::Root(r) => {
                let real = resolve_in_root(self.roots.get(r)?, image_path)?;
                self.by_path.get(&real).copied().flatten()
            }
            Place::Host => {
                let real = match &self.sysroot {
                    Some(root) => resolve_in_root(root, image_path)?,
                    None => std::fs::canonicalize(image_path).ok()?,
                };
                if let Some(&known) = self.by_path.get(&real) {
                    return known;
                }
                // Unreadable host files are not the image's problem: skip them.
                let id = match read_elf(&real) {
                    Ok(Some(facts)) => Some(self.add(Object {
                        path: real.clone(),
                        image_path: real.clone(),
                        in_tree: false,
                        facts,
                    })),
                    _ => None,
                };
                self.by_path.insert(real, id);
                id
            }
        }
    }

    /// The places to look in, image first.
    pub fn places(&self) -> Vec<Place> {
        let mut v: Vec<Place> = (0..self.roots.len()).map(Place::Root).collect();
        if self.host {
            v.push(Place::Host);
        }
        v
    }

    /// The real path of a directory or file of `place`, if it exists.
    pub fn real_path(&self, place: Place, image_path: &Path) -> Option<PathBuf> {
        match place {
            Place::Root(r) => resolve_in_root(self.roots.get(r)?, image_path),
            Place::Host => match &self.sysroot {
                Some(root) => resolve_in_root(root, image_path),
                None => image_path.exists().then(|| image_path.to_path_buf()),
            },
        }
    }
}

/// `image_path` inside `root`, every symbolic link followed with `root` as
/// `/` (`/lib -> usr/lib` and `/usr/lib64/ld.so -> /lib/...` alike).
/// `None` if it does not exist or the links loop.
pub fn resolve_in_root(root: &Path, image_path: &Path) -> Option<PathBuf> {
    let mut pending: Vec<OsString> = Vec::new(); // reversed: next component last
    push_components(&mut pending, image_path);
    let mut real: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            real.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&real);
        candidate.push(&c);
        let meta = std::fs::symlink_metadata(&candidate).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            let target = std::fs::read_link(&candidate).ok()?;
            if target.is_absolute() {
                real.clear();
            }
            push_components(&mut pending, &target);
        } else {
            real.push(c);
        }
    }
    let mut path = root.to_path_buf();
    path.extend(&real);
    Some(path)
}

/// Pushes the components of `path` so that the first is popped first.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib/x")).unwrap();
        std::fs::write(root.join("usr/lib/x/libz.so.1.3"), b"z").unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("libz.so.1.3", root.join("usr/lib/x/libz.so.1")).unwrap();
        std::os::unix::fs::symlink("/lib/x/libz.so.1", root.join("usr/lib/abs.so")).unwrap();
        std::os::unix::fs::symlink("../../../../../lib", root.join("usr/lib/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let real = root.join("usr/lib/x/libz.so.1.3");
        let at = |p: &str| resolve_in_root(root, Path::new(p));
        assert_eq!(at("/lib/x/libz.so.1"), Some(real.clone()));
        assert_eq!(at("/usr/lib/abs.so"), Some(real.clone()));
        assert_eq!(at("/usr/lib/up/x/libz.so.1.3"), Some(real));
        assert_eq!(at("/lib/x/missing.so"), None);
        assert_eq!(at("/loop"), None);
    }
}
