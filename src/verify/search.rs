//! Where the loader finds a DT_NEEDED library, in ld.so's order: DT_RPATH
//! of the loading chain (only without DT_RUNPATH), DT_RUNPATH, the
//! directories of `/etc/ld.so.conf`, the default and multiarch directories;
//! then, for trees whose libraries sit anywhere (unpacked packages), any
//! library of the tree with that SONAME or file name. All of that in the
//! image: every directory, absolute RUNPATH entries and `$ORIGIN` included,
//! is a path the image's loader sees, so it is looked up inside the roots.
//!
//! Only then may the host stand in for what the image lacks (libc when
//! checking a DESTDIR), and only from its standard directories: the
//! multiarch ones and the defaults. Never from a RUNPATH directory (a build
//! tree that exists only on this machine), and not from the host's own
//! ld.so.conf, which lists what this machine added (`/usr/local/lib`,
//! `/opt/...`); its multiarch entries are among the standard ones anyway.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::elf::output::Abi;
use crate::glob::glob;

use super::image::{Image, Place};

/// Always searched after ld.so.conf; multiarch directories are added per
/// tree. The loader skips libraries of another class or machine, so one
/// list serves every ABI.
const DEFAULT_DIRS: &[&str] = &[
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/lib32",
    "/usr/lib32",
    "/libx32",
    "/usr/libx32",
];

/// `include` nesting in ld.so.conf (a loop would never end).
const MAX_INCLUDE_DEPTH: usize = 8;

pub struct Search {
    /// The system directories of each place (see [`Image::places`]).
    system_dirs: HashMap<Place, Vec<PathBuf>>,
    /// Shared objects of the tree by SONAME and by file name, in tree order.
    by_name: HashMap<String, Vec<usize>>,
    /// (needer, name, objects whose DT_RPATH applies) -> the library. The
    /// ABI needs no place in the key: it is the needer's own.
    found: HashMap<(usize, String, Vec<usize>), Option<usize>>,
}

impl Search {
    pub fn new(image: &Image) -> Search {
        let mut system_dirs = HashMap::new();
        for place in image.places() {
            system_dirs.insert(place, system_dirs_of(image, place));
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (id, o) in image.objects.iter().enumerate() {
            if !o.in_tree || !o.is_library() {
                continue;
            }
            let mut names: Vec<&str> = o.file_name().into_iter().collect();
            if let Some(s) = o.facts.soname.as_deref()
                && names.first() != Some(&s)
            {
                names.push(s);
            }
            for n in names {
                by_name.entry(n.to_string()).or_default().push(id);
            }
        }
        Search {
            system_dirs,
            by_name,
            found: HashMap::new(),
        }
    }

    /// The library `name` as needed by `chain[0]`, which `chain[1]` loaded,
    /// and so on up to the file being verified; `abi` is that file's.
    pub fn find(
        &mut self,
        image: &mut Image,
        chain: &[usize],
        name: &str,
        abi: Abi,
    ) -> Option<usize> {
        let needer = *chain.first()?;
        let has_runpath = |id: usize| image.get(id).facts.runpath.is_some();
        // DT_RPATH counts only while the needer has no DT_RUNPATH, and only
        // from objects without one.
        let rpath_chain: Vec<usize> = if has_runpath(needer) {
            Vec::new()
        } else {
            chain
                .iter()
                .copied()
                .filter(|&id| !has_runpath(id) && image.get(id).facts.rpath.is_some())
                .collect()
        };
        let key = (needer, name.to_string(), rpath_chain);
        if let Some(&known) = self.found.get(&key) {
            return known;
        }
        let result = self.search(image, &key.2, needer, name, abi);
        self.found.insert(key, result);
        result
    }

    fn search(
        &self,
        image: &mut Image,
        rpath_chain: &[usize],
        needer: usize,
        name: &str,
        abi: Abi,
    ) -> Option<usize> {
        let usable = |image: &Image, id: usize| {
            let o = image.get(id);
            o.is_library() && o.facts.abi == abi
        };
        // A name with a slash is a path, not searched for (`$ORIGIN` expanded);
        // a relative one is relative to the process's directory, taken as `/`.
        if name.contains('/') {
            let paths: Vec<PathBuf> = expand_entry(image, needer, name)
                .into_iter()
                .filter(|p| !p.contains('$'))
                .map(|p| Path::new("/").join(p))
                .collect();
            let in_tree = (0..image.roots.len()).find_map(|root| {
                paths.iter().find_map(|p| {
                    image
                        .file_at(Place::Root(root), p)
                        .filter(|&id| usable(image, id))
                })
            });
            if in_tree.is_some() || !image.host {
                return in_tree;
            }
            let standard = self.system_dirs.get(&Place::Host);
            return paths.iter().find_map(|p| {
                let dir = p.parent()?;
                standard?.iter().any(|d| d == dir).then_some(())?;
                image
                    .file_at(Place::Host, p)
                    .filter(|&id| usable(image, id))
            });
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        for &id in rpath_chain {
            dirs.extend(expand(image, id, image.get(id).facts.rpath.as_deref()));
        }
        dirs.extend(expand(
            image,
            needer,
            image.get(needer).facts.runpath.as_deref(),
        ));
        let system = |place: Place| {
            self.system_dirs
                .get(&place)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        };
        let find_in = |image: &mut Image, place: Place, dirs: &[PathBuf]| {
            dirs.iter().find_map(|dir| {
                image
                    .file_at(place, &dir.join(name))
                    .filter(|&id| usable(image, id))
            })
        };
        // The roots are layers of one file system: each directory in all of
        // them before the next directory.
        let roots: Vec<Place> = (0..image.roots.len()).map(Place::Root).collect();
        for dir in &dirs {
            for &place in &roots {
                if let Some(id) = find_in(image, place, std::slice::from_ref(dir)) {
                    return Some(id);
                }
            }
        }
        for &place in &roots {
            if let Some(id) = find_in(image, place, system(place)) {
                return Some(id);
            }
        }
        // Libraries anywhere in the tree, before the host's.
        let named = self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(&id) = named.iter().find(|&&id| usable(image, id)) {
            return Some(id);
        }
        if image.host {
            return find_in(image, Place::Host, system(Place::Host));
        }
        None
    }
}

/// The directories of a DT_RPATH or DT_RUNPATH string of object `id`, as
/// image paths. Entries relative to the process's working directory or
/// with tokens other than `$ORIGIN` and `$LIB` (`$PLATFORM`) are left out.
fn expand(image: &Image, id: usize, list: Option<&str>) -> Vec<PathBuf> {
    list.unwrap_or("")
        .split(':')
        .flat_map(|entry| expand_entry(image, id, entry))
        .filter(|v| v.starts_with('/') && !v.contains('$'))
        .map(PathBuf::from)
        .collect()
}

/// `entry` with the loader's tokens replaced: `$ORIGIN` is the directory of
/// object `id` in the image; `$LIB` both `lib` and `lib64`.
fn expand_entry(image: &Image, id: usize, entry: &str) -> Vec<String> {
    let origin = image.get(id).image_path.parent().unwrap_or(Path::new("/"));
    let origin = origin.to_string_lossy();
    let entry = entry
        .replace("${ORIGIN}", &origin)
        .replace("$ORIGIN", &origin);
    if entry.contains("$LIB") || entry.contains("${LIB}") {
        ["lib", "lib64"]
            .iter()
            .map(|l| entry.replace("${LIB}", l).replace("$LIB", l))
            .collect()
    } else {
        vec![entry]
    }
}

/// ld.so.conf's directories (in a root only: see the module header), then
/// the multiarch ones present (`/usr/lib/x86_64-linux-gnu`,
/// `/lib/aarch64-linux-gnu`), then the defaults.
fn system_dirs_of(image: &Image, place: Place) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if place != Place::Host {
        ld_so_conf(image, place, Path::new("/etc/ld.so.conf"), 0, &mut dirs);
    }
    for base in ["/lib", "/usr/lib"] {
        let Some(real) = image.real_path(place, Path::new(base)) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&real) else {
            continue;
        };
        let mut multiarch: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("-linux-"))
            .map(|e| Path::new(base).join(e.file_name()))
            .collect();
        multiarch.sort();
        dirs.extend(multiarch);
    }
    dirs.extend(DEFAULT_DIRS.iter().map(PathBuf::from));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The directories an ld.so.conf file lists, `include` globs followed.
fn ld_so_conf(image: &Image, place: Place, file: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Some(text) = image
        .real_path(place, file)
        .and_then(|p| std::fs::read_to_string(p).ok())
    else {
        return;
    };
    let here = file.parent().unwrap_or(Path::new("/"));
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include") {
            if !pattern.starts_with(char::is_whitespace) {
                continue;
            }
            for pattern in pattern.split_whitespace() {
                for f in matching_files(image, place, &here.join(pattern)) {
                    ld_so_conf(image, place, &f, depth + 1, out);
                }
            }
        } else if !line.starts_with("hwcap") {
            // Old syntax allows several per line and a `=TYPE` suffix.
            for dir in line.split([' ', '\t', ':', ',']) {
                let dir = dir.split('=').next().unwrap_or("");
                if dir.starts_with('/') {
                    out.push(PathBuf::from(dir));
                }
            }
        }
    }
}

/// The files a glob names (wildcards in the last component only), sorted.
fn matching_files(image: &Image, place: Place, pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = pattern.parent().unwrap_or(Path::new("/"));
    if !name.contains(['*', '?']) {
        return vec![pattern.to_path_buf()];
    }
    let Some(entries) = image
        .real_path(place, dir)
        .and_then(|d| std::fs::read_dir(d).ok())
    else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| glob(&name, n))
        .map(|n| dir.join(n))
        .collect();
    v.sort();
    v
}
