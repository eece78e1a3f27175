//! Link identity: what makes "the same link" in Run-1 and Run-2 although
//! temp object names, build paths and `__DATE__` differ.
//!
//! identity = hash(output kind, output file name, interface hashes of the
//! relocatable objects named on the command line, in order). It is
//! computed from the linker's argv, so the plugin (from /proc/self/cmdline)
//! and a wrapper (from its own argv) get the same answer.
//!
//! No directory takes part: not the working directory, not the directory
//! part of `-o`, not the paths of the objects. A tree built again somewhere
//! else (a CI runner's fresh directory) has the same identities. The
//! directory the link writes into ([`link_directory`]) is kept beside the
//! identity, only to tell apart equal identities (two subprojects that each
//! link a `libfoo.so` from the same objects).
//!
//! The interface hash ([`crate::elf::interface`]) covers what a hide list
//! depends on: allocated sections and non-local symbols, not relocations or
//! locals. It is cheap to compute without the full parse, which Run-2 needs:
//! it hashes every object of the command line before it claims the first.

use std::os::unix::fs::{FileExt, OpenOptionsExt};

use ldprune_linkargs::{LD_RELOCATABLE, ld_takes_value, split_response_file};
use object::ReadRef;
use serde::{Deserialize, Serialize};

use crate::elf::hash::{Hash128, StructHasher};
use crate::elf::interface::{InterfaceSummary, interface_summary, interface_symbols};
use crate::elf::sparse::{Parts, WHOLE_OBJECT, read_symbol_parts_into};
use crate::elf::{FileClass, classify};

/// What the link writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OutputKind {
    /// `-r`: a relocatable object.
    Rel,
    /// A position-dependent executable.
    Exec,
    Pie,
    /// A shared library.
    Dyn,
}

impl OutputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Rel => "rel",
            OutputKind::Exec => "exec",
            OutputKind::Pie => "pie",
            OutputKind::Dyn => "dyn",
        }
    }
}

/// The facts of a linker command line that identity and records need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkLine {
    /// `-o` as given (relative to the linker's working directory); `a.out` by default.
    pub output: String,
    pub kind: OutputKind,
    /// `-e`/`--entry`, if given.
    pub entry: Option<String>,
    /// Non-option arguments in order: objects, archives, shared libraries, scripts.
    pub inputs: Vec<String>,
    /// The arguments after `@file` expansion.
    pub args: Vec<String>,
}

/// Parses a linker command line (`args[0]` is the program), expanding `@file`.
pub fn parse_link_line(args: &[String]) -> LinkLine {
    let mut expanded = Vec::with_capacity(args.len());
    for a in args.iter().skip(1) {
        expand_arg(a, &mut expanded, 0);
    }
    let mut line = LinkLine {
        output: "a.out".to_string(),
        kind: OutputKind::Exec,
        entry: None,
        inputs: Vec::new(),
        args: expanded,
    };
    let (mut rel, mut shared, mut pie) = (false, false, false);
    let mut i = 0;
    while i < line.args.len() {
        let a = line.args[i].as_str();
        let next = line.args.get(i + 1);
        i += 1;
        if !a.starts_with('-') || a == "-" {
            line.inputs.push(a.to_string());
            continue;
        }
        match a {
            _ if LD_RELOCATABLE.contains(&a) => rel = true,
            "-shared" | "--shared" | "-Bshareable" => shared = true,
            "-pie" | "--pie" | "--pic-executable" | "-static-pie" | "--static-pie" => pie = true,
            "-no-pie" | "--no-pie" | "--no-pic-executable" => pie = false,
            "-o" | "--output" => {
                if let Some(v) = next {
                    line.output = v.clone();
                }
                i += 1;
            }
            "-e" | "--entry" => {
                line.entry = next.cloned();
                i += 1;
            }
            _ if ld_takes_value(a.as_bytes()) => i += 1,
            _ => {
                if let Some(v) = a.strip_prefix("--output=") {
                    line.output = v.to_string();
                } else if let Some(v) = a.strip_prefix("--entry=") {
                    line.entry = Some(v.to_string());
                } else if let Some(v) = a.strip_prefix("-o").filter(|v| !v.is_empty()) {
                    line.output = v.to_string();
                }
            }
        }
    }
    line.kind = if rel {
        OutputKind::Rel
    } else if shared {
        OutputKind::Dyn
    } else if pie {
        OutputKind::Pie
    } else {
        OutputKind::Exec
    };
    line
}

/// Appends `arg` to `out`, replacing `@file` by the file's arguments
/// (whitespace-separated, with quotes and backslashes as GCC writes them).
fn expand_arg(arg: &str, out: &mut Vec<String>, depth: usize) {
    if let Some(path) = arg.strip_prefix('@')
        && depth < 16
        && let Ok(text) = std::fs::read(path)
    {
        for a in split_response_file(&text) {
            expand_arg(&String::from_utf8_lossy(&a), out, depth + 1);
        }
        return;
    }
    out.push(arg.to_string());
}

/// The identity of a link. `object_hash` gives the interface hash of an
/// input path if it is a relocatable object (None for anything else); pass
/// [`interface_hash_of_path`] or a cache in front of it.
pub fn link_identity(
    line: &LinkLine,
    mut object_hash: impl FnMut(&str) -> Option<Hash128>,
) -> Hash128 {
    let mut h = StructHasher::new(b"ldprune-link-v2");
    h.str(line.kind.as_str());
    h.str(output_file_name(&line.output));
    for input in &line.inputs {
        if let Some(hash) = object_hash(input) {
            h.u64(hash.0 as u64);
            h.u64((hash.0 >> 64) as u64);
        }
    }
    h.finish()
}

/// The file name of `-o` (what the identity hashes): `out/libfoo.so` and
/// `/abs/out/libfoo.so` are both `libfoo.so`.
pub fn output_file_name(output: &str) -> &str {
    output.rsplit('/').next().unwrap_or(output)
}

/// The directory a link writes into: `cwd` joined with the directory part
/// of `output` (`-o` as given), `.` and `..` resolved lexically (no file
/// system access, so Run-1 and the merge get the same answer). This is what
/// tells apart links of equal identity.
pub fn link_directory(cwd: &str, output: &str) -> String {
    let joined = if output.starts_with('/') {
        output.to_string()
    } else {
        format!("{cwd}/{output}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.pop(); // the file name
    format!("/{}", parts.join("/"))
}

/// Whether the linker command line loads a plugin besides ldprune: more
/// than one distinct `-plugin` path (ldprune's own is one of them; bfd and
/// gold load a path given twice once).
pub fn loads_other_plugins(args: &[String]) -> bool {
    let mut paths: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let path = match a.as_str() {
            "-plugin" | "--plugin" => it.next().map(String::as_str),
            a => a
                .strip_prefix("-plugin=")
                .or_else(|| a.strip_prefix("--plugin=")),
        };
        if let Some(p) = path
            && !paths.contains(&p)
        {
            paths.push(p);
        }
    }
    paths.len() > 1
}

/// Interface hash of the file at `path` if it is a relocatable ELF object.
pub fn interface_hash_of_path(path: &str) -> Option<Hash128> {
    read_interface_summary(path).map(|s| s.hash)
}

/// What identity (and the recorder, for objects it was never shown) needs
/// to know of the file at `path`, if it is a relocatable ELF object. A
/// file up to [`WHOLE_OBJECT`] is read whole in one read; of a larger one
/// the head is checked first, so archives and libraries are not read, and
/// of an object only the symbol table and what locates it are read. Opened
/// non-blocking and checked to be a regular file: a FIFO never hangs.
pub fn read_interface_summary(path: &str) -> Option<InterfaceSummary> {
    read_interface_summary_with(&mut Parts::default(), path)
}

/// [`read_interface_summary`] reading into `parts`, whose buffers a caller
/// that reads many objects reuses.
pub fn read_interface_summary_with(parts: &mut Parts, path: &str) -> Option<InterfaceSummary> {
    read_object_into(parts, path)?;
    match parts.whole() {
        Some(bytes) => interface_summary(bytes).ok(),
        None => interface_summary(&*parts).ok(),
    }
}

/// A name an object defines, as its symbol table spells it, and whether
/// it is thread-local.
pub type Definition = (String, bool);

/// [`read_interface_summary_with`], and the names the object defines:
/// Run-2 on ld.bfd checks them before it hands the linker a stub.
pub fn read_interface_definitions_with(
    parts: &mut Parts,
    path: &str,
) -> Option<(InterfaceSummary, Vec<Definition>)> {
    read_object_into(parts, path)?;
    let (summary, symbols) = match parts.whole() {
        Some(bytes) => interface_symbols(bytes).ok()?,
        None => interface_symbols(&*parts).ok()?,
    };
    let defined = symbols
        .iter()
        .filter(|s| s.place != crate::elf::types::SymbolPlace::Undefined)
        .map(|s| {
            (
                String::from_utf8_lossy(s.name).into_owned(),
                s.kind == crate::elf::types::SymbolType::Tls,
            )
        })
        .collect();
    Some((summary, defined))
}

/// Reads what the interface hash needs of the relocatable object at
/// `path` into `parts`; None for anything else.
fn read_object_into(parts: &mut Parts, path: &str) -> Option<()> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = meta.len();
    let is_object = |head: &[u8]| classify(&head[..head.len().min(64)]) == FileClass::Relocatable;
    // A small file is read whole at once, and classified from that.
    if len > WHOLE_OBJECT {
        let mut head = [0u8; 64];
        file.read_exact_at(&mut head, 0).ok()?;
        if !is_object(&head) {
            return None;
        }
    }
    read_symbol_parts_into(parts, len, |buf, at| file.read_exact_at(buf, at)).ok()?;
    let head = (&*parts).read_bytes_at(0, len.min(64)).ok()?;
    is_object(head).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn kinds_and_output() {
        let l = parse_link_line(&args("ld -pie -o prog a.o -lc"));
        assert_eq!((l.kind, l.output.as_str()), (OutputKind::Pie, "prog"));
        assert_eq!(l.inputs, vec!["a.o"]);
        let l = parse_link_line(&args("ld -shared -soname libx.so.1 -o libx.so x.o"));
        assert_eq!(l.kind, OutputKind::Dyn);
        assert_eq!(l.inputs, vec!["x.o"]);
        let l = parse_link_line(&args("ld -r --output=y.o a.o b.o"));
        assert_eq!((l.kind, l.output.as_str()), (OutputKind::Rel, "y.o"));
        let l = parse_link_line(&args("ld -pie -no-pie a.o"));
        assert_eq!((l.kind, l.output.as_str()), (OutputKind::Exec, "a.out"));
    }

    #[test]
    fn option_values_are_not_inputs() {
        let l = parse_link_line(&args(
            "ld -plugin /p.so -plugin-opt -pass-through=-lc -dynamic-linker /lib/ld.so -m elf_x86_64 -o out -R sym.o real.o",
        ));
        assert_eq!(l.inputs, vec!["real.o"]);
    }

    #[test]
    fn response_files_expand() {
        let dir = std::env::temp_dir().join(format!("ldprune-rsp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rsp = dir.join("args.rsp");
        std::fs::write(&rsp, "-o 'my out' \"b c.o\" d\\ e.o\n").unwrap();
        let l = parse_link_line(&[String::from("ld"), format!("@{}", rsp.display())]);
        assert_eq!(l.output, "my out");
        assert_eq!(l.inputs, vec!["b c.o", "d e.o"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn link_directories() {
        assert_eq!(link_directory("/b/sub", "libfoo.so"), "/b/sub");
        assert_eq!(
            link_directory("/b/sub", "./.libs/libfoo.so"),
            "/b/sub/.libs"
        );
        assert_eq!(link_directory("/b/sub", "../lib/libfoo.so"), "/b/lib");
        assert_eq!(link_directory("/b/sub", "/abs//x/libfoo.so"), "/abs/x");
        assert_eq!(link_directory("/", "a.out"), "/");
    }

    #[test]
    fn identity_depends_on_kind_output_and_object_hashes() {
        let base = parse_link_line(&args("ld -o p a.o b.o"));
        let h = |p: &str| Some(Hash128(p.len() as u128 + 7));
        let id = link_identity(&base, h);
        assert_eq!(id, link_identity(&base, h));
        let other = parse_link_line(&args("ld -o q a.o b.o"));
        assert_ne!(id, link_identity(&other, h));
        // The directory of -o is not part of it: a relocated tree.
        for moved in ["ld -o /ci/job-7/p a.o b.o", "ld -o out/p a.o b.o"] {
            assert_eq!(id, link_identity(&parse_link_line(&args(moved)), h));
        }
        let shared = parse_link_line(&args("ld -shared -o p a.o b.o"));
        assert_ne!(id, link_identity(&shared, h));
        assert_ne!(
            id,
            link_identity(&base, |p: &str| Some(Hash128(p.len() as u128)))
        );
    }

    #[test]
    fn other_plugins_are_other_paths() {
        assert!(!loads_other_plugins(&args("-plugin /x/libldprune.so a.o")));
        // bfd and gold load a path given twice once.
        assert!(!loads_other_plugins(&args(
            "-plugin /x/libldprune.so --plugin=/x/libldprune.so a.o"
        )));
        assert!(loads_other_plugins(&args(
            "-plugin /gcc/liblto_plugin.so -plugin-opt=-fresolution=x.res -plugin /x/libldprune.so"
        )));
        assert!(loads_other_plugins(&args(
            "--plugin=/x/libldprune.so -plugin=/llvm/LLVMgold.so"
        )));
    }
}
