//! Run-1 in a link with an LTO plugin (GCC's liblto_plugin, LLVMgold),
//! which is loaded before ldprune's and claims every object with IR, so
//! claim_file never shows them to us.
//!
//! Objects named on the command line are read from their files instead: a
//! fat one (`-ffat-lto-objects`) has the machine code a link without LTO
//! would use, which is what the record describes (LTO only inlines and
//! drops within it). Archive members the LTO plugin claimed are not named
//! anywhere, so a link with an archive holding IR members is incomplete:
//! this module finds those archives (given by path, or as `-lNAME` through
//! the `-L` directories, as the linker searches them). Run-2 asks the same
//! of its link (GCC's plugin will add its output: no claim), and what
//! those archives' members define (ld.bfd's stub).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::elf::archive::{HEADER, MemberHeader, long_names, member_name};
use crate::elf::interface::{interface_summary, interface_symbols};
use crate::elf::sparse::read_symbol_parts;
use crate::elf::types::{SymbolPlace, SymbolType};
use crate::elf::{FileClass, classify};
use crate::state::archive_ir::{ArchiveIr, FileKey};

/// The first bytes of LLVM bitcode: raw, or in the wrapper header.
pub fn is_bitcode(head: &[u8]) -> bool {
    head.starts_with(b"BC\xc0\xde") || head.starts_with(&[0xde, 0xc0, 0x17, 0x0b])
}

/// The ELF class, byte order and machine of an ELF header: what makes a
/// library another target's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    class: u8,
    data: u8,
    machine: [u8; 2],
}

impl Machine {
    pub fn of_elf(head: &[u8]) -> Option<Machine> {
        (head.len() >= 20 && head.starts_with(b"\x7fELF")).then(|| Machine {
            class: head[4],
            data: head[5],
            machine: [head[18], head[19]],
        })
    }
}

/// What Run-1 and Run-2 must know of a link while another plugin is
/// loaded: the archives with IR members (a thin archive's member files
/// are read), the objects with IR behind linker scripts (Run-1 sees
/// neither: the LTO plugin claims them), and the first input whose IR
/// Run-2 cannot rule out (unknown counts as IR there: a claim in an LTO
/// link reorders constructors). Unknown: a `-l` the `-L` directories do
/// not hold (ld.bfd's own search directories may), a file that cannot be
/// read or classified, a linker script entry that cannot be found.
/// Paths for which `is_object` holds (objects claim_file saw or Run-2's
/// reads took) are not looked at; the answer for an archive comes from
/// `cache` when it knows the file. Linker scripts (`libc.so`, `libgcc_s.so`,
/// and those of `-T`) are followed: their `INPUT`, `GROUP`, `AS_NEEDED`
/// and `STARTUP` files and `-l` names, and the scripts they `INCLUDE`,
/// looked up in the current directory, the script's and the `-L`
/// directories (every match is checked). A `-l` search skips libraries of
/// another target than `target` (the link's first object), as the linkers
/// do ("skipping incompatible").
pub fn ir_inputs(
    args: &[String],
    is_object: impl Fn(&str) -> bool,
    cache: &mut ArchiveIr,
    target: Option<Machine>,
) -> IrInputs {
    let Inputs {
        dirs,
        libs,
        paths,
        scripts,
        sysroot,
    } = inputs_of(args);
    // `-L=DIR` and `-L$SYSROOTDIR` are in the sysroot; without --sysroot
    // (ld's own default is not known here) such a directory is unknown.
    let mut unresolved = None;
    let dirs: Vec<String> = dirs
        .iter()
        .filter_map(|d| match in_sysroot(d, sysroot) {
            Some(Some(d)) => Some(d),
            Some(None) => {
                unresolved.get_or_insert(format!("-L{d}: no --sysroot"));
                None
            }
            None => Some(d.to_string()),
        })
        .collect();
    let mut walk = Walk {
        dirs: &dirs,
        sysroot,
        cache,
        target,
        static_libs: false,
        seen: crate::fasthash::FxHashSet::default(),
        found: IrInputs::default(),
    };
    // A gcc link names -lgcc four times: each is searched for once.
    let mut searched = crate::fasthash::FxHashSet::default();
    for (p, st) in paths {
        if !is_object(p) {
            walk.static_libs = st;
            walk.file(p, None, 0);
        }
    }
    for (l, st) in &libs {
        if searched.insert((l, st)) {
            // A script `-l` finds (libc.so) reads its own `-l` so too.
            walk.static_libs = *st;
            walk.lib(l, *st, 0);
        }
    }
    // Found as a script's entries are (the current directory, then -L).
    for (s, st) in scripts {
        walk.static_libs = st;
        walk.file(s, Some(Path::new(".")), 0);
    }
    if let Some(why) = unresolved
        && !libs.is_empty()
    {
        walk.unknown(why);
    }
    walk.found
}

/// A path of a linker script or a `-L` directory that names the sysroot
/// (`=/usr/lib`, `$SYSROOT/usr/lib`): Some(the path in `sysroot`, None
/// without one); None: an ordinary path.
fn in_sysroot(path: &str, sysroot: Option<&str>) -> Option<Option<String>> {
    let rest = path
        .strip_prefix('=')
        .or_else(|| path.strip_prefix("$SYSROOT"))?;
    Some(sysroot.map(|s| format!("{}{rest}", s.trim_end_matches('/'))))
}

/// See [`ir_inputs`].
#[derive(Debug, Default)]
pub struct IrInputs {
    /// Archives (thin ones too) with a member with IR.
    pub archives: Vec<String>,
    /// Objects behind linker scripts or `-l:FILE` with IR or LLVM bitcode,
    /// or that cannot be read.
    pub objects: Vec<String>,
    /// The first input whose IR is unknown, and why.
    pub unknown: Option<String>,
}

/// Linker scripts naming scripts: deeper than this is unknown.
const SCRIPT_DEPTH: u32 = 8;

struct Walk<'a, 'c> {
    dirs: &'a [String],
    /// `--sysroot`: a script's absolute names may be in it.
    sysroot: Option<&'a str>,
    cache: &'c mut ArchiveIr,
    target: Option<Machine>,
    /// `-Bstatic` was in force where the script being read is named: its
    /// `-l` names are archives only, as for the linker.
    static_libs: bool,
    /// (device, inode, `static_libs`) of the files looked at.
    seen: crate::fasthash::FxHashSet<(u64, u64, bool)>,
    found: IrInputs,
}

impl Walk<'_, '_> {
    fn unknown(&mut self, why: String) {
        self.found.unknown.get_or_insert(why);
    }

    fn lib(&mut self, lib: &str, is_static: bool, depth: u32) {
        match search(lib, is_static, self.dirs, self.target) {
            // One level down: an object found so (`-l:ir.o`) is not one of
            // the command line's paths, which Run-1 reads itself.
            Some(p) => self.file(&p, None, depth + 1),
            None => {
                self.unknown(format!("-l{lib} is in no -L directory"));
                // ld.bfd searches its own directories then: which one it
                // takes is not known here, so every match there is looked
                // at (Run-1 must know of IR there; Run-2 has its unknown).
                let names = lib_names(lib, is_static);
                for d in default_dirs(self.dirs, self.sysroot) {
                    for n in &names {
                        let p = format!("{d}/{n}");
                        if Path::new(&p).is_file() && !other_target(&p, self.target) {
                            self.file(&p, None, depth + 1);
                        }
                    }
                }
            }
        }
    }

    /// The input at `path` (a script's entry: `script_dir` too). Each file
    /// once (a merged /usr shows one file under several names).
    fn file(&mut self, path: &str, script_dir: Option<&Path>, depth: u32) {
        use std::os::unix::fs::MetadataExt;
        let mut candidates: Vec<String> = vec![path.to_string()];
        if let Some(dir) = script_dir {
            match in_sysroot(path, self.sysroot) {
                Some(Some(p)) => candidates = vec![p],
                Some(None) => return self.unknown(format!("{path}: no --sysroot")),
                // ld looks for an absolute name of a script in the sysroot
                // in the sysroot first: both are checked.
                None if Path::new(path).is_absolute() => {
                    let root = self.sysroot.map(|s| s.trim_end_matches('/'));
                    candidates.extend(root.map(|s| format!("{s}{path}")));
                }
                None => {
                    candidates.push(dir.join(path).display().to_string());
                    candidates.extend(self.dirs.iter().map(|d| format!("{d}/{path}")));
                }
            }
        }
        let mut any = false;
        for c in candidates {
            let Ok(m) = std::fs::metadata(&c) else {
                continue;
            };
            any = true;
            if let Some(key) = FileKey::of_metadata(&m)
                && self.seen.insert((m.dev(), m.ino(), self.static_libs))
            {
                self.one(&c, key, depth);
            }
        }
        if !any {
            self.unknown(format!("{path}: not found"));
        }
    }

    fn one(&mut self, path: &str, key: FileKey, depth: u32) {
        let mut head = [0u8; 64];
        let read = File::open(path).and_then(|f| f.read_at(&mut head, 0).map(|n| (f, n)));
        let (file, n) = match read {
            Ok(r) => r,
            Err(e) => return self.unknown(format!("{path}: {e}")),
        };
        match classify(&head[..n]) {
            FileClass::SharedObject | FileClass::Executable => {}
            FileClass::Archive => {
                if self.cache.has_ir(key, || archive_has_ir(path))
                    && !self.found.archives.iter().any(|a| a == path)
                {
                    self.found.archives.push(path.to_string());
                }
            }
            FileClass::Relocatable => {
                let ir = crate::identity::read_interface_summary(path).map(|s| s.lto.has_ir());
                if ir != Some(false) {
                    self.unknown(format!("{path}: an object with IR or unreadable"));
                    if depth > 0 {
                        self.found.objects.push(path.to_string());
                    }
                }
            }
            FileClass::Text if depth < SCRIPT_DEPTH => self.script(path, file, depth + 1),
            FileClass::ThinArchive => self.thin(path),
            _ => {
                self.unknown(format!("{path}: not an input ldprune knows"));
                // LLVM bitcode, which LLVMgold claims unseen.
                if depth > 0 && is_bitcode(&head[..n]) {
                    self.found.objects.push(path.to_string());
                }
            }
        }
    }

    /// A thin archive holds IR if a member file does (each file's answer
    /// cached as an archive's is), or cannot be read or classified.
    fn thin(&mut self, path: &str) {
        let ir = match thin_members(path) {
            Some(members) => members.iter().any(|m| {
                let key = std::fs::metadata(m)
                    .ok()
                    .and_then(|m| FileKey::of_metadata(&m));
                key.is_none_or(|k| self.cache.has_ir(k, || object_has_ir(m)))
            }),
            None => true,
        };
        if ir && !self.found.archives.iter().any(|a| a == path) {
            self.found.archives.push(path.to_string());
        }
    }

    /// The files a linker script names in INPUT, GROUP and AS_NEEDED.
    fn script(&mut self, path: &str, file: File, depth: u32) {
        use std::io::Read;
        let mut text = Vec::new();
        // No script is a megabyte: a larger file is not read.
        let read = file.take(1 << 20).read_to_end(&mut text);
        if read.is_err() || text.len() >= 1 << 20 {
            return self.unknown(format!("{path}: cannot read the linker script"));
        }
        let dir = Path::new(path).parent().map(Path::to_path_buf);
        for entry in script_inputs(&String::from_utf8_lossy(&text)) {
            match entry.strip_prefix("-l") {
                Some(l) => self.lib(l, self.static_libs, depth),
                None => self.file(&entry, dir.as_deref(), depth),
            }
        }
    }
}

/// A token of a linker script: a name (a quoted one is never a keyword),
/// or a parenthesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Name(&'a str),
    Quoted(&'a str),
    Open,
    Close,
}

/// The tokens of a linker script that matter to [`script_inputs`]:
/// comments dropped; commas, semicolons and white space separate.
fn script_tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        let Some(c) = rest.chars().next() else {
            return out;
        };
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            rest = &rest[1..];
        } else if let Some(after) = rest.strip_prefix('"') {
            let (name, r) = after.split_once('"').unwrap_or((after, ""));
            out.push(Token::Quoted(name));
            rest = r;
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"'))
                .unwrap_or(rest.len());
            // "/*" inside a name starts a comment, as for ld.
            let end = rest[..end].find("/*").unwrap_or(end);
            out.push(Token::Name(&rest[..end]));
            rest = &rest[end..];
        }
    }
}

/// The file names and `-l` names a linker script adds to the link: the
/// lists of INPUT, GROUP (AS_NEEDED lists inside them) and STARTUP, and
/// the scripts it INCLUDEs, which may add more. A name is a keyword only
/// where ld reads one (`INPUT(IR)` names a file `IR`).
fn script_inputs(text: &str) -> Vec<String> {
    let tokens = script_tokens(text);
    let mut out = Vec::new();
    // Parentheses open in the INPUT, GROUP or STARTUP list being read.
    let mut depth = 0u32;
    let mut i = 0;
    while let Some(&t) = tokens.get(i) {
        i += 1;
        let next = tokens.get(i).copied();
        match t {
            Token::Open if depth > 0 => depth += 1,
            Token::Close if depth > 0 => depth -= 1,
            // Its list's parenthesis is counted next.
            Token::Name("AS_NEEDED") if depth > 0 && next == Some(Token::Open) => {}
            Token::Name(n) | Token::Quoted(n) if depth > 0 => out.push(n.to_string()),
            Token::Name("INPUT" | "GROUP" | "STARTUP") if next == Some(Token::Open) => {
                depth = 1;
                i += 1;
            }
            Token::Name("INCLUDE") => {
                if let Some(Token::Name(n) | Token::Quoted(n)) = next {
                    out.push(n.to_string());
                    i += 1;
                }
            }
            _ => {}
        }
    }
    out
}

/// What a link command line names: `-L` directories, `-l` libraries
/// (with whether `-Bstatic` was in force), file paths, and the linker
/// scripts of `-T` and `-dT` (their INPUT and GROUP lists add files too).
#[derive(Default)]
struct Inputs<'a> {
    dirs: Vec<&'a str>,
    libs: Vec<(String, bool)>,
    /// With whether `-Bstatic` was in force (for the `-l` of scripts).
    paths: Vec<(&'a str, bool)>,
    scripts: Vec<(&'a str, bool)>,
    /// The last `--sysroot`.
    sysroot: Option<&'a str>,
}

fn inputs_of(args: &[String]) -> Inputs<'_> {
    let mut dirs: Vec<&str> = Vec::new();
    let mut libs: Vec<(String, bool)> = Vec::new(); // (-l value, static)
    let mut paths: Vec<(&str, bool)> = Vec::new();
    let mut scripts: Vec<(&str, bool)> = Vec::new();
    let mut sysroot = None;
    let mut is_static = false;
    let mut pushed: Vec<bool> = Vec::new(); // --push-state
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        i += 1;
        match a {
            "-L" | "--library-path" => {
                dirs.extend(next);
                i += 1;
            }
            "-l" | "--library" => {
                libs.extend(next.map(|l| (l.to_string(), is_static)));
                i += 1;
            }
            "-T" | "--script" | "-dT" | "--default-script" => {
                scripts.extend(next.map(|s| (s, is_static)));
                i += 1;
            }
            "-Bstatic" | "-static" | "-dn" | "-non_shared" => is_static = true,
            "-Bdynamic" | "-dy" | "-call_shared" => is_static = false,
            "--sysroot" => {
                sysroot = next.or(sysroot);
                i += 1;
            }
            "--push-state" => pushed.push(is_static),
            "--pop-state" => is_static = pushed.pop().unwrap_or(is_static),
            _ if !a.starts_with('-') => paths.push((a, is_static)),
            _ if ldprune_linkargs::ld_takes_value(a.as_bytes()) => i += 1,
            _ => {
                if let Some(d) = a
                    .strip_prefix("--library-path=")
                    .or_else(|| a.strip_prefix("-L"))
                {
                    dirs.push(d);
                } else if let Some(l) = a
                    .strip_prefix("--library=")
                    .or_else(|| a.strip_prefix("-l"))
                {
                    libs.push((l.to_string(), is_static));
                } else if let Some(s) = a.strip_prefix("--sysroot=") {
                    sysroot = Some(s);
                } else if let Some(t) = a
                    .strip_prefix("--script=")
                    .or_else(|| a.strip_prefix("--default-script="))
                    .or_else(|| a.strip_prefix("-dT"))
                    .or_else(|| a.strip_prefix("-T").filter(|t| !is_section_address(t)))
                {
                    scripts.push((t, is_static));
                }
            }
        }
    }
    Inputs {
        dirs,
        libs,
        paths,
        scripts,
        sysroot,
    }
}

/// `-Ttext=ADDR` and the like: a `-T` option that names no script.
fn is_section_address(t: &str) -> bool {
    [
        "text",
        "data",
        "bss",
        "text-segment",
        "rodata-segment",
        "ldata-segment",
    ]
    .iter()
    .any(|s| t.strip_prefix(s).is_some_and(|r| r.starts_with('=')))
}

/// Where the linker finds `-lNAME` (`-l:FILE`): in each directory, the
/// shared library first unless static, then the archive; one of another
/// target than `target` is skipped.
fn search(lib: &str, is_static: bool, dirs: &[String], target: Option<Machine>) -> Option<String> {
    let names = lib_names(lib, is_static);
    dirs.iter().find_map(|d| {
        names
            .iter()
            .map(|n| format!("{d}/{n}"))
            .find(|p| std::path::Path::new(p).is_file() && !other_target(p, target))
    })
}

/// The file names `-lNAME` (`-l:FILE`) stands for, in search order.
fn lib_names(lib: &str, is_static: bool) -> Vec<String> {
    match lib.strip_prefix(':') {
        Some(file) => vec![file.to_string()],
        None if is_static => vec![format!("lib{lib}.a")],
        None => vec![format!("lib{lib}.so"), format!("lib{lib}.a")],
    }
}

/// The directories ld.bfd searches after the `-L` ones (its default
/// script's SEARCH_DIR list, in the sysroot): the usual ones, with the
/// multiarch names (`x86_64-linux-gnu`) the `-L` directories show.
fn default_dirs(dirs: &[String], sysroot: Option<&str>) -> Vec<String> {
    let root = sysroot.map_or("", |s| s.trim_end_matches('/'));
    let mut triplets: Vec<&str> = dirs
        .iter()
        .filter_map(|d| Path::new(d).file_name()?.to_str())
        .filter(|n| n.contains("-linux-"))
        .collect();
    triplets.sort_unstable();
    triplets.dedup();
    let mut out = Vec::new();
    for t in &triplets {
        for base in ["/usr/local/lib", "/lib", "/usr/lib"] {
            out.push(format!("{root}{base}/{t}"));
        }
    }
    for d in [
        "/usr/local/lib64",
        "/lib64",
        "/usr/lib64",
        "/usr/local/lib",
        "/lib",
        "/usr/lib",
    ] {
        out.push(format!("{root}{d}"));
    }
    for t in &triplets {
        out.push(format!("{root}/usr/{t}/lib64"));
        out.push(format!("{root}/usr/{t}/lib"));
    }
    out
}

/// Whether the file at `path` is an ELF file, or an archive whose first
/// member is one, of another target than `target`.
fn other_target(path: &str, target: Option<Machine>) -> bool {
    let Some(target) = target else {
        return false;
    };
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut head = [0u8; 20];
    let read = |buf: &mut [u8], at: u64| file.read_exact_at(buf, at).is_ok();
    if !read(&mut head[..8], 0) {
        return false;
    }
    if classify(&head[..8]) != FileClass::Archive {
        return read(&mut head, 0) && Machine::of_elf(&head).is_some_and(|m| m != target);
    }
    // The first member that is not the symbol table or the long names.
    let mut pos = 8u64;
    for _ in 0..4 {
        let Some(h) = MemberHeader::read(&file, pos) else {
            return false;
        };
        if !h.is_index() {
            return read(&mut head, pos + HEADER)
                && Machine::of_elf(&head).is_some_and(|m| m != target);
        }
        pos = h.next(pos);
    }
    false
}

/// One member of an archive, as [`for_each_member`] shows it.
enum Member<'a> {
    Bitcode,
    /// A relocatable ELF object: its symbol parts.
    Object(&'a crate::elf::sparse::Parts),
    /// Anything else (a linker script, a member that cannot be read).
    Other,
}

/// Calls `f` on each member of the archive at `path` until it returns
/// false. Only the member headers and the members' symbol parts are read.
/// None if `path` is no archive or a member header is damaged.
fn for_each_member(path: &str, mut f: impl FnMut(Member) -> bool) -> Option<()> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut magic = [0u8; 8];
    file.read_exact_at(&mut magic, 0).ok()?;
    if classify(&magic) != FileClass::Archive {
        return None;
    }
    let mut pos = 8u64;
    while pos + HEADER <= len {
        let h = MemberHeader::read(&file, pos)?;
        let data = pos + HEADER;
        let size = h.size.min(len.saturating_sub(data));
        if !h.is_index() {
            let mut head = [0u8; 64];
            let n = (size as usize).min(head.len());
            let go = if file.read_exact_at(&mut head[..n], data).is_err() {
                f(Member::Other)
            } else if is_bitcode(&head[..n]) {
                f(Member::Bitcode)
            } else if classify(&head[..n]) == FileClass::Relocatable {
                match read_symbol_parts(size, |buf, at| file.read_exact_at(buf, data + at)) {
                    Ok(parts) => f(Member::Object(&parts)),
                    Err(_) => f(Member::Other),
                }
            } else {
                f(Member::Other)
            };
            if !go {
                return Some(());
            }
        }
        // Members start at even offsets.
        pos = data + size + (size & 1);
    }
    Some(())
}

/// The member files of the thin archive at `path` (names relative to its
/// directory): only their headers are in it, and the symbol index and
/// long-name table. None if a header is damaged.
fn thin_members(path: &str) -> Option<Vec<std::path::PathBuf>> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let dir = Path::new(path).parent().unwrap_or(Path::new(""));
    let names = long_names(&file);
    let mut out = Vec::new();
    let mut pos = 8u64;
    while pos + HEADER <= len {
        let h = MemberHeader::read(&file, pos)?;
        if h.is_index() {
            pos = h.next(pos);
            continue;
        }
        out.push(dir.join(member_name(&h.bytes, names.as_deref())?));
        // A member's data is not in a thin archive.
        pos += HEADER;
    }
    Some(out)
}

/// Whether the file at `path` (a thin archive's member) carries IR or
/// bitcode; what cannot be read or is no object counts as IR.
fn object_has_ir(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let n = File::open(path).and_then(|f| f.read_at(&mut head, 0));
    let Ok(n) = n else {
        return true;
    };
    if classify(&head[..n]) != FileClass::Relocatable {
        return true;
    }
    path.to_str()
        .and_then(crate::identity::read_interface_summary)
        .is_none_or(|s| s.lto.has_ir())
}

/// Whether the file at `path` is an archive with an IR or bitcode member.
fn archive_has_ir(path: &str) -> bool {
    let mut ir = false;
    for_each_member(path, |m| {
        ir = match m {
            Member::Bitcode => true,
            Member::Object(parts) => interface_summary(parts).is_ok_and(|s| s.lto.has_ir()),
            Member::Other => false,
        };
        !ir
    });
    ir
}

/// What the relocatable members of the archive at `path` define (each
/// name as its symbol table spells it, and whether it is thread-local),
/// the machine code's of fat LTO members included. None if a member
/// cannot be read or is LLVM bitcode: then what it defines is unknown.
pub fn archive_definitions(path: &str) -> Option<Vec<crate::identity::Definition>> {
    let mut all = Vec::new();
    let mut known = true;
    for_each_member(path, |m| {
        match m {
            Member::Object(parts) => match interface_symbols(parts) {
                Ok((_, symbols)) => all.extend(
                    symbols
                        .iter()
                        .filter(|s| s.place != SymbolPlace::Undefined)
                        .map(|s| {
                            (
                                String::from_utf8_lossy(s.name).into_owned(),
                                s.kind == SymbolType::Tls,
                            )
                        }),
                ),
                Err(_) => known = false,
            },
            // What these define is unknown (Other: also a member that
            // cannot be read).
            Member::Bitcode | Member::Other => known = false,
        }
        known
    })?;
    known.then_some(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thin archive's member files, short and long names (`/N` into
    /// the long-name table) alike, relative to the archive's directory.
    #[test]
    fn thin_archive_members() {
        let t = tempfile::tempdir().unwrap();
        for n in ["a.o", "a_member_name_longer_than_fifteen.o"] {
            std::fs::write(t.path().join(n), "x").unwrap();
        }
        let ok = std::process::Command::new("ar")
            .current_dir(t.path())
            .args([
                "rcT",
                "libthin.a",
                "a.o",
                "a_member_name_longer_than_fifteen.o",
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let thin = t.path().join("libthin.a");
        assert_eq!(
            thin_members(thin.to_str().unwrap()).unwrap(),
            [
                t.path().join("a.o"),
                t.path().join("a_member_name_longer_than_fifteen.o")
            ]
        );
    }

    #[test]
    fn linker_script_inputs() {
        let libc = "/* GNU ld script\n   Use the shared library. */\n\
            OUTPUT_FORMAT(elf64-x86-64)\n\
            GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a  \
            AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )\n";
        assert_eq!(
            script_inputs(libc),
            [
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib/x86_64-linux-gnu/libc_nonshared.a",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert_eq!(
            script_inputs("GROUP ( libgcc_s.so.1 -lgcc )"),
            ["libgcc_s.so.1", "-lgcc"]
        );
        assert_eq!(
            script_inputs("INPUT(a.o, libb.a) SEARCH_DIR(/x) INPUT(c.o)"),
            ["a.o", "libb.a", "c.o"]
        );
        // INCLUDE adds a script's inputs; a name in capitals is a file
        // where a list holds it; a quoted name is one name.
        assert_eq!(
            script_inputs("INCLUDE inner.ld\nINPUT(IR LIB_A) STARTUP(s.o) INPUT(\"a b.a\");"),
            ["inner.ld", "IR", "LIB_A", "s.o", "a b.a"]
        );
        assert_eq!(
            script_inputs("SECTIONS { .x : { INCLUDE \"frag.ld\" } } OUTPUT_FORMAT(elf64-x86-64)"),
            ["frag.ld"]
        );
        assert_eq!(script_inputs("GROUP(a/*c*/b) INPUT("), ["a", "b"]);
    }

    #[test]
    fn command_line_scripts() {
        let args: Vec<String> = [
            "-T",
            "a.ld",
            "-Tb.ld",
            "--script=c.ld",
            "-dT",
            "d.ld",
            "--default-script=e.ld",
            "-Ttext=0x1000",
            "-Ttext",
            "0x2000",
            "-Tbss=0",
            "x.o",
        ]
        .map(String::from)
        .to_vec();
        let found = inputs_of(&args);
        let names: Vec<&str> = found.scripts.iter().map(|p| p.0).collect();
        assert_eq!(names, ["a.ld", "b.ld", "c.ld", "d.ld", "e.ld"]);
        assert_eq!(found.paths, [("x.o", false)]);
        let args = [
            "a.ld",
            "-Bstatic",
            "b.ld",
            "-Bdynamic",
            "c.ld",
            "--push-state",
            "-static",
            "d.ld",
            "--pop-state",
            "e.ld",
        ]
        .map(String::from);
        assert_eq!(
            inputs_of(&args).paths,
            [
                ("a.ld", false),
                ("b.ld", true),
                ("c.ld", false),
                ("d.ld", true),
                ("e.ld", false)
            ]
        );
    }

    /// Scripts that name themselves or each other end (each file is read
    /// once); a script too large to read, or too deep, is unknown.
    #[test]
    fn script_cycles_end() {
        let t = tempfile::tempdir().unwrap();
        let p = |n: &str| t.path().join(n).display().to_string();
        std::fs::write(p("a.ld"), format!("INPUT ( {} {} )", p("b.ld"), p("a.ld"))).unwrap();
        std::fs::write(
            p("b.ld"),
            format!("INCLUDE {}\nGROUP ( {} )", p("b.ld"), p("a.ld")),
        )
        .unwrap();
        let walk = |args: &[String]| ir_inputs(args, |_| false, &mut ArchiveIr::default(), None);
        let found = walk(&[p("a.ld")]);
        assert!(
            found.archives.is_empty() && found.unknown.is_none(),
            "{found:?}"
        );
        let mut big = String::from("INPUT ( ");
        while big.len() <= 1 << 20 {
            big.push_str("/* padding */ ");
        }
        std::fs::write(p("big.ld"), big + ")").unwrap();
        assert!(walk(&[p("big.ld")]).unknown.is_some());
        for i in 0..12 {
            let next = format!("INPUT ( {} )", p(&format!("d{}.ld", i + 1)));
            std::fs::write(p(&format!("d{i}.ld")), next).unwrap();
        }
        std::fs::write(p("d12.ld"), "INPUT ( )").unwrap();
        assert!(walk(&[p("d0.ld")]).unknown.is_some());
    }

    #[test]
    fn sysroot_paths() {
        let args = ["--sysroot", "/a", "-L=/lib", "--sysroot=/sr/"].map(String::from);
        let found = inputs_of(&args);
        assert_eq!(found.sysroot, Some("/sr/"));
        assert_eq!(found.dirs, ["=/lib"]);
        assert_eq!(
            in_sysroot("=/lib", Some("/sr/")),
            Some(Some("/sr/lib".into()))
        );
        assert_eq!(
            in_sysroot("$SYSROOT/lib", Some("/sr")),
            Some(Some("/sr/lib".into()))
        );
        assert_eq!(in_sysroot("=/lib", None), Some(None));
        assert_eq!(in_sysroot("/lib", Some("/sr")), None);
        let dirs = ["/usr/lib/gcc/x86_64-linux-gnu/12", "/lib/x86_64-linux-gnu"].map(String::from);
        let defaults = default_dirs(&dirs, Some("/sr/"));
        assert_eq!(defaults[0], "/sr/usr/local/lib/x86_64-linux-gnu");
        assert!(defaults.contains(&"/sr/usr/local/lib".to_string()));
        assert_eq!(defaults.last().unwrap(), "/sr/usr/x86_64-linux-gnu/lib");
    }

    #[test]
    fn library_search_follows_the_linker() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("libz.a"), "").unwrap();
        std::fs::write(b.join("libz.so"), "").unwrap();
        std::fs::write(b.join("libq.so"), "").unwrap();
        std::fs::write(b.join("libq.a"), "").unwrap();
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let dirs = [a.to_string(), b.to_string()];
        let search = |l, st, d: &[String]| super::search(l, st, d, None);
        assert_eq!(search("z", false, &dirs), Some(format!("{a}/libz.a")));
        assert_eq!(search("q", false, &dirs), Some(format!("{b}/libq.so")));
        assert_eq!(search("q", true, &dirs), Some(format!("{b}/libq.a")));
        assert_eq!(search(":libq.a", false, &dirs), Some(format!("{b}/libq.a")));
        assert_eq!(search("none", false, &dirs), None);
        assert!(is_bitcode(b"BC\xc0\xde\x35\x14"));
        assert!(!is_bitcode(b"\x7fELF"));
    }
}
