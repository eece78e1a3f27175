//! (e), the hand-made ideal: every library of the image relinked from its
//! own objects (Run-1's, still in the build trees) with a version script
//! that exports exactly the names its consumers import, plus
//! --gc-sections; again with the relinked libraries' own imports until no
//! export list changes. Version node names are kept (every node of the
//! library, in order, with its parent). Two scopes: "all" (every recorded
//! link is a consumer: test programs, configure probes) and "image" (only
//! the programs and libraries installed under the image root).
//!
//! The ideal is a safe limit, not a lower one: a consumer's imports include
//! the variables it copy-relocates (a program defines its copy, so they are
//! not among its undefined symbols, yet it does not start without them),
//! and a library that no consumer of the scope has in DT_NEEDED is only
//! reachable by dlopen (a plugin, or a library for users outside the
//! image): it keeps every export, as ldprune keeps it.
//!
//! The link command is the one the Run-1 record holds (the linker's argv
//! after @file expansion, and its directory), less the plugins (ldprune's
//! and GCC's LTO plugin: a fat object's machine code is linked as it is)
//! and the build's own version script, with ours and a new output path.
//!
//! "Ideal + LTO" (`--lto FLAGS`, scope "all" only): the same command
//! through gcc with FLAGS (`-O2 -flto=auto`) and every recorded argument
//! as `-Xlinker ARG` (order kept; `-nostdlib`: the record already names
//! the start files and libraries), so GCC's LTO plugin is loaded again
//! and the version script makes the hidden names LTO-internal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ldprune::state::StateDir;
use ldprune::state::record::{LinkRecord, LinkStatus};

use crate::elfinfo::{self, ElfInfo};

pub struct Args {
    pub state: PathBuf,
    pub image: PathBuf,
    pub out: PathBuf,
    /// Compiler-driver flags for "ideal + LTO"; None: the plain ideal.
    pub lto: Option<Vec<String>>,
}

/// What a consumer needs: the names it imports (copy-relocated variables
/// included) and the libraries it links.
#[derive(Clone, Default)]
struct Consumer {
    imports: BTreeSet<String>,
    needed: Vec<String>,
}

impl Consumer {
    fn of_file(info: &ElfInfo) -> Consumer {
        Consumer {
            imports: info.imports.union(&info.copied).cloned().collect(),
            needed: info.needed.clone(),
        }
    }

    /// A record's imports, and its exports of versions it does not define
    /// (copies of a library's variables; ldprune keeps those too), and the
    /// copies its file shows when that file is still the one recorded:
    /// an unversioned copy (gold copy-relocates a vtable jsontestrunner
    /// only reads) has no version to tell it by.
    fn of_record(r: &LinkRecord) -> Consumer {
        let own = |v: &Option<String>| v.as_ref().is_none_or(|v| r.version_defs.contains(v));
        let mut imports: BTreeSet<String> = r
            .imports
            .iter()
            .map(|s| s.name.clone())
            .chain(
                r.exports
                    .iter()
                    .filter(|e| !own(&e.version))
                    .map(|e| e.name.clone()),
            )
            .collect();
        let file = Path::new(&r.cwd).join(&r.output);
        if r.kind != ldprune::identity::OutputKind::Dyn
            && let Ok(info) = elfinfo::read(&file)
            && info.build_id.is_some()
            && info.build_id == r.build_id
        {
            imports.extend(info.copied);
        }
        Consumer {
            imports,
            needed: r.needed.clone(),
        }
    }
}

/// One library of the image and its Run-1 link.
struct Lib {
    file: String,
    record: LinkRecord,
    info: ElfInfo,
}

/// Every ELF file under `root` (regular files; symbolic links are the
/// same files again).
pub fn elf_files(root: &Path) -> Result<Vec<(PathBuf, ElfInfo)>, String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in rd {
            let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
            let ft = e
                .file_type()
                .map_err(|err| format!("{}: {err}", e.path().display()))?;
            if ft.is_dir() {
                dirs.push(e.path());
            } else if ft.is_file() && is_elf(&e.path()) {
                out.push((e.path(), elfinfo::read(&e.path())?));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

pub fn is_library(path: &Path, info: &ElfInfo) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    info.is_dyn && (name.ends_with(".so") || name.contains(".so."))
}

/// The file names of the shared libraries under `root`.
pub fn library_names(root: &Path) -> Result<Vec<String>, String> {
    Ok(elf_files(root)?
        .into_iter()
        .filter(|(path, info)| is_library(path, info))
        .map(|(path, _)| {
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string()
        })
        .collect())
}

pub fn run(args: &Args) -> Result<(), String> {
    let state = StateDir::open(&args.state).map_err(|e| e.to_string())?;
    let loaded = state.load_records().map_err(|e| e.to_string())?;
    if let Some(bad) = loaded.bad.first() {
        return Err(format!(
            "{bad} (and {} more unusable records)",
            loaded.bad.len() - 1
        ));
    }
    let records: Vec<LinkRecord> = loaded
        .records
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.status == LinkStatus::Complete)
        .collect();
    let image = elf_files(&args.image)?;
    let mut libs = Vec::new();
    let mut programs = Vec::new();
    for (path, info) in &image {
        if !is_library(path, info) {
            programs.push(Consumer::of_file(info));
            continue;
        }
        let id = info
            .build_id
            .as_ref()
            .ok_or_else(|| format!("{}: no build-id", path.display()))?;
        // The newest record with this build-id: the link that wrote the file.
        let record = records
            .iter()
            .filter(|r| r.build_id.as_ref() == Some(id))
            .max_by_key(|r| r.recorded_at)
            .ok_or_else(|| format!("{}: no Run-1 record has its build-id", path.display()))?;
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        libs.push(Lib {
            file,
            record: record.clone(),
            info: info.clone(),
        });
    }
    // "all": every recorded link but the libraries' own outputs.
    let own: BTreeSet<(String, String)> = libs
        .iter()
        .map(|l| (l.record.cwd.clone(), l.record.output.clone()))
        .collect();
    let all_consumers: Vec<Consumer> = records
        .iter()
        .filter(|r| !own.contains(&(r.cwd.clone(), r.output.clone())))
        .map(Consumer::of_record)
        .collect();
    let mut summary = serde_json::Map::new();
    let scopes: &[(&str, &Vec<Consumer>)] = match args.lto {
        Some(_) => &[("all", &all_consumers)],
        None => &[("all", &all_consumers), ("image", &programs)],
    };
    for &(scope, fixed) in scopes {
        let dir = args.out.join(scope);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let result = fixpoint(&libs, fixed, &dir, args.lto.as_deref())?;
        println!("(e) scope {scope}: {} rounds", result.rounds);
        for p in &result.plugins {
            println!("  {p}: linked by nothing in scope, every export kept (a plugin)");
        }
        let mut libs_json = serde_json::Map::new();
        for (l, kept) in libs.iter().zip(&result.kept) {
            let exports: BTreeSet<String> =
                l.record.exports.iter().map(|e| e.name.clone()).collect();
            let hidden: Vec<&String> = exports.iter().filter(|n| !kept.contains(*n)).collect();
            println!(
                "  {}: {} exports -> {} ({} hidden)",
                l.file,
                exports.len(),
                kept.len(),
                hidden.len()
            );
            libs_json.insert(
                l.file.clone(),
                serde_json::json!({
                    "kept": kept,
                    "hidden": hidden,
                    "soname": l.record.soname,
                    "plugin": result.plugins.contains(&l.file),
                }),
            );
        }
        summary.insert(
            scope.to_string(),
            serde_json::json!({"rounds": result.rounds, "libraries": libs_json}),
        );
    }
    let path = args.out.join("ideal.json");
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(summary))
        .map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

struct Fixpoint {
    rounds: usize,
    kept: Vec<BTreeSet<String>>,
    /// Libraries no consumer of the scope links (file names): kept whole.
    plugins: BTreeSet<String>,
}

/// Relinks until the export lists stop changing. Round 1 counts the
/// libraries' Run-1 imports; later rounds those of the relinked files.
fn fixpoint(
    libs: &[Lib],
    fixed: &[Consumer],
    dir: &Path,
    lto: Option<&[String]>,
) -> Result<Fixpoint, String> {
    let mut imports: Vec<BTreeSet<String>> = libs
        .iter()
        .map(|l| Consumer::of_record(&l.record).imports)
        .collect();
    let mut kept: Vec<Option<BTreeSet<String>>> = vec![None; libs.len()];
    let mut fixed_names = BTreeSet::new();
    let mut linked: BTreeSet<&str> = BTreeSet::new();
    for f in fixed {
        fixed_names.extend(f.imports.iter().cloned());
        linked.extend(f.needed.iter().map(String::as_str));
    }
    for l in libs {
        linked.extend(l.record.needed.iter().map(String::as_str));
    }
    // By SONAME, or file name without one (as the merge matches DT_NEEDED).
    let plugins: BTreeSet<String> = libs
        .iter()
        .filter(|l| !linked.contains(l.record.soname.as_deref().unwrap_or(&l.file)))
        .map(|l| l.file.clone())
        .collect();
    for round in 1..=10 {
        let mut changed = false;
        for (i, l) in libs.iter().enumerate() {
            if plugins.contains(&l.file) {
                let all: BTreeSet<String> =
                    l.record.exports.iter().map(|e| e.name.clone()).collect();
                if kept[i].is_none() {
                    changed = true;
                    let out = dir.join(&l.file);
                    relink(l, &all, &out, lto)?;
                    imports[i] = Consumer::of_file(&elfinfo::read(&out)?).imports;
                    kept[i] = Some(all);
                }
                continue;
            }
            let mut wanted = fixed_names.clone();
            for (j, imp) in imports.iter().enumerate() {
                if j != i {
                    wanted.extend(imp.iter().cloned());
                }
            }
            let k: BTreeSet<String> = l
                .record
                .exports
                .iter()
                .filter(|e| wanted.contains(&e.name))
                .map(|e| e.name.clone())
                .collect();
            if kept[i].as_ref() == Some(&k) {
                continue;
            }
            changed = true;
            let out = dir.join(&l.file);
            relink(l, &k, &out, lto)?;
            imports[i] = Consumer::of_file(&elfinfo::read(&out)?).imports;
            kept[i] = Some(k);
        }
        if !changed {
            return Ok(Fixpoint {
                rounds: round - 1,
                kept: kept.into_iter().flatten().collect(),
                plugins,
            });
        }
    }
    Err("(e) did not reach a fixpoint in 10 rounds".to_string())
}

/// The version script exporting `kept`. Unversioned library: an
/// anonymous node with `local: *`. Versioned: the library's nodes in order,
/// each with its own default-version names; names of the base version stay
/// unlisted (a version script cannot name the base node, and unmatched
/// names keep it), so everything else is hidden by name: `local` lists
/// every name a link with the nodes alone exports, but the kept ones.
fn version_script(l: &Lib, kept: &BTreeSet<String>, local: Option<&BTreeSet<String>>) -> String {
    let mut s = String::new();
    if l.info.nodes.is_empty() {
        let _ = writeln!(s, "{{\n  global:");
        for n in kept {
            let _ = writeln!(s, "    {n};");
        }
        let _ = writeln!(s, "  local: *;\n}};");
        return s;
    }
    let mut by_node: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &l.record.exports {
        if let Some(v) = &e.version
            && !e.hidden_version
            && kept.contains(&e.name)
        {
            by_node.entry(v.as_str()).or_default().push(e.name.as_str());
        }
    }
    for (i, (node, parent)) in l.info.nodes.iter().enumerate() {
        let _ = writeln!(s, "{node} {{");
        let names = by_node.get(node.as_str()).cloned().unwrap_or_default();
        if !names.is_empty() {
            let _ = writeln!(s, "  global:");
            for n in names {
                let _ = writeln!(s, "    {n};");
            }
        }
        if let (0, Some(local)) = (i, local)
            && !local.is_empty()
        {
            let _ = writeln!(s, "  local:");
            for n in local {
                let _ = writeln!(s, "    {n};");
            }
        }
        let _ = writeln!(
            s,
            "}}{};",
            parent
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default()
        );
    }
    s
}

/// Relinks `l` exporting `kept` into `out` (through a probe link with the
/// version nodes alone for a versioned library).
fn relink(
    l: &Lib,
    kept: &BTreeSet<String>,
    out: &Path,
    lto: Option<&[String]>,
) -> Result<(), String> {
    if l.info.nodes.is_empty() {
        return link(l, &version_script(l, kept, None), out, lto);
    }
    let probe = PathBuf::from(format!("{}.probe", out.display()));
    link(l, &version_script(l, kept, None), &probe, lto)?;
    let exported = elfinfo::read(&probe)?.exports;
    let _ = std::fs::remove_file(&probe);
    let local: BTreeSet<String> = exported.difference(kept).cloned().collect();
    link(l, &version_script(l, kept, Some(&local)), out, lto)
}

/// The recorded link again: without plugins and the build's version
/// script, with `script`, --gc-sections and the output at `out`; with
/// `lto`, through gcc and its LTO plugin.
fn link(l: &Lib, script: &str, out: &Path, lto: Option<&[String]>) -> Result<(), String> {
    // Absolute: the link runs in the recorded directory.
    let map = PathBuf::from(format!("{}.map", out.display()));
    std::fs::write(&map, script).map_err(|e| format!("{}: {e}", map.display()))?;
    let argv = &l.record.argv;
    let linker = argv
        .first()
        .ok_or_else(|| format!("{}: empty recorded command line", l.file))?;
    let mut args: Vec<String> = Vec::new();
    let mut it = argv.iter().skip(1);
    let mut gc = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "-plugin" | "--plugin" | "-plugin-opt" | "--plugin-opt" | "--version-script"
            | "-version-script" | "-o" => {
                it.next();
            }
            _ if a.starts_with("-plugin-opt=")
                || a.starts_with("--plugin-opt=")
                || a.starts_with("--version-script=")
                || a.starts_with("-version-script=") => {}
            _ => {
                gc |= a == "--gc-sections";
                args.push(a.clone());
            }
        }
    }
    if !gc {
        args.push("--gc-sections".to_string());
    }
    args.push(format!("--version-script={}", map.display()));
    args.push("-o".to_string());
    args.push(out.display().to_string());
    let (linker, args) = match lto {
        None => (linker.clone(), args),
        Some(flags) => {
            let mut driver: Vec<String> = flags.to_vec();
            driver.push("-nostdlib".to_string());
            if args.iter().any(|a| a == "-shared") {
                driver.push("-shared".to_string());
            }
            let base = Path::new(linker).file_name().and_then(|n| n.to_str());
            if base.is_some_and(|b| b.contains("gold")) {
                driver.push("-fuse-ld=gold".to_string());
            }
            for a in args {
                driver.push("-Xlinker".to_string());
                driver.push(a);
            }
            ("gcc".to_string(), driver)
        }
    };
    let res = Command::new(&linker)
        .args(&args)
        .current_dir(&l.record.cwd)
        .output()
        .map_err(|e| format!("cannot run {linker} for {}: {e}", l.file))?;
    if !res.status.success() {
        return Err(format!(
            "relinking {} in {} failed:\n{} {}\n{}",
            l.file,
            l.record.cwd,
            linker,
            args.join(" "),
            String::from_utf8_lossy(&res.stderr)
        ));
    }
    Ok(())
}
