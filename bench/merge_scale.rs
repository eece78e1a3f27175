//! Merge at distribution scale: generates synthetic state directories of
//! growing size (links, objects, symbols, fan-in to a few hot libraries),
//! runs `ldprune merge` on each in a child process and prints wall time
//! and peak memory.
//!
//!     cargo bench --bench merge_scale [-- LINKS...]     (default 1000 5000 20000)
//!
//! The target is 100000 links (1M objects, 33M symbols) in at most 60 s and
//! 6 GB: `cargo bench --bench merge_scale -- 100000`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ldprune::elf::hash::Hash128;
use ldprune::elf::object::Target;
use ldprune::elf::output::DynSymbol;
use ldprune::elf::types::{Binding, SectionKind, SymbolPlace, SymbolType, Visibility};
use ldprune::identity::OutputKind;
use ldprune::state::StateDir;
use ldprune::state::record::{
    LinkRecord, LinkStatus, ObjectRecord, SectionRecord, StringTable, SymbolRecord,
};

const OBJECTS_PER_LINK: usize = 10;
const FUNCTIONS_PER_OBJECT: usize = 25;
/// One link in this many is a shared library; the first HOT of them are
/// imported by most programs.
const LIB_EVERY: usize = 20;
const HOT: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("child-merge") {
        return child_merge(Path::new(&args[1]));
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1000, 5000, 20000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/merge");
    println!(
        "merge scale: {OBJECTS_PER_LINK} objects x {FUNCTIONS_PER_OBJECT} functions per link, 1 link in {LIB_EVERY} a library, {HOT} hot libraries"
    );
    println!(
        "{:>7} {:>9} {:>10} {:>9} {:>10} {:>9} {:>10} {:>10}",
        "links", "objects", "symbols", "merge s", "peak MiB", "hidden", "lookup µs", "on CPU µs"
    );
    for n in sizes {
        // Regenerated whenever the record format changes.
        let dir = root.join(format!("links-{n}-v{}", ldprune::state::RECORD_FORMAT));
        let symbols = generate(&dir, n);
        let exe = std::env::current_exe().unwrap();
        let t = Instant::now();
        // The child's progress lines go straight to the terminal.
        let out = Command::new(exe)
            .arg("child-merge")
            .arg(&dir)
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap_or("?")
                .trim()
                .to_string()
        };
        println!(
            "{n:>7} {:>9} {symbols:>10} {secs:>9.2} {:>10} {:>9} {:>10} {:>10}",
            n * OBJECTS_PER_LINK,
            field("peak_mib"),
            field("hidden"),
            field("lookup_us"),
            field("lookup_cpu_us")
        );
    }
}

/// In a child process: the merge as `ldprune merge` runs it, then the peak
/// resident size of this process.
fn child_merge(dir: &Path) {
    let t = Instant::now();
    let state = StateDir::open(dir).unwrap();
    let shown = std::cell::Cell::new(t);
    // A line every 5 seconds, as `ldprune merge` prints in a build log.
    let progress = move |what: &'static str, done: usize, total: usize| {
        if shown.get().elapsed().as_secs() >= 5 {
            shown.set(Instant::now());
            eprintln!(
                "  {what}: {done}/{total}, {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
    };
    let loaded =
        ldprune::analysis::load::load(std::slice::from_ref(&state), false, |what, done, total| {
            progress(what, done, total)
        })
        .unwrap();
    eprintln!("  loaded in {:.1} s", t.elapsed().as_secs_f64());
    assert!(loaded.bad.is_empty());
    let opts = ldprune::analysis::Options {
        progress: Some(Box::new(progress)),
        ..ldprune::analysis::Options::default()
    };
    let a = ldprune::analysis::analyse_built(loaded.built, Vec::new(), &opts);
    eprintln!("  analysed at {:.1} s", t.elapsed().as_secs_f64());
    let decisions = a
        .results
        .iter()
        .map(|r| ldprune::state::decisions::LinkDecision {
            identity: r.identity,
            directory: a.records[a.graph.modules[r.module].record].directory(),
            output: r.path.display().to_string(),
            hide: r.hide.iter().collect(),
        })
        .collect();
    let identities: Vec<Hash128> = a.results.iter().map(|r| r.identity).collect();
    let file = ldprune::state::decisions::write(&state, decisions).unwrap();
    // What a Run-2 link does: find its own entry (cold process, warm cache).
    // Wall time on a loaded machine is mostly waiting for a core, so the
    // time this thread spent on one is given too.
    let t = Instant::now();
    let cpu = thread_cpu_ns();
    let rounds = identities.len().min(2000);
    for id in identities.iter().take(rounds) {
        assert!(
            !ldprune::state::decisions::lookup(&file, *id)
                .unwrap()
                .is_empty()
        );
    }
    println!(
        "lookup_us {:.0}",
        t.elapsed().as_secs_f64() * 1e6 / rounds.max(1) as f64
    );
    println!(
        "lookup_cpu_us {:.1}",
        (thread_cpu_ns() - cpu) as f64 / 1e3 / rounds.max(1) as f64
    );
    let hidden: usize = a.results.iter().map(|r| r.hidden_exports.len()).sum();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    eprintln!("  {rounds} lookups in {:.1} s", t.elapsed().as_secs_f64());
    println!("peak_mib {}", hwm_kib / 1024);
    println!("hidden {hidden}");
}

/// Nanoseconds this thread has run on a core (/proc's schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn lib_name(i: usize) -> String {
    format!("libsyn{i}.so")
}

/// Exported function `f` of object `o` of library `lib`.
fn export_name(lib: usize, o: usize, f: usize) -> String {
    format!("syn{lib}_o{o}_f{f}")
}

/// Writes `n` link records (once; reused if present). Returns the symbol count.
fn generate(dir: &Path, n: usize) -> usize {
    // The count of symbols is kept next to the state dir once generated.
    let done = dir.with_extension("symbols");
    if let Some(count) = std::fs::read_to_string(&done)
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return count;
    }
    let mut total = 0usize;
    let _ = std::fs::remove_dir_all(dir);
    let state = StateDir::create(dir).unwrap();
    let libs = n / LIB_EVERY;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for link in 0..n {
        let is_lib = link % LIB_EVERY == 0 && link / LIB_EVERY < libs;
        let lib = link / LIB_EVERY;
        let mut strings = StringTable::default();
        let mut objects = Vec::with_capacity(OBJECTS_PER_LINK);
        let mut exports = Vec::new();
        let mut imports = Vec::new();
        for o in 0..OBJECTS_PER_LINK {
            let mut sections = Vec::new();
            let mut symbols = Vec::new();
            let mut edges = Vec::new();
            for f in 0..FUNCTIONS_PER_OBJECT {
                let name = if is_lib {
                    export_name(lib, o, f)
                } else {
                    format!("p{link}_o{o}_f{f}")
                };
                sections.push(SectionRecord {
                    name: strings.intern(&format!(".text.{name}")),
                    kind: SectionKind::Text,
                    flags: 6,
                    size: 64 + (next() % 512),
                    align: 16,
                    fdes: 1,
                    fde_bytes: 24,
                    pointers: 0,
                    locals: 0,
                    local_name_bytes: 0,
                    group: None,
                });
                symbols.push(SymbolRecord {
                    name: strings.intern(&name),
                    binding: Binding::Global,
                    visibility: Visibility::Default,
                    kind: SymbolType::Func,
                    size: 64,
                    place: SymbolPlace::Section(f as u32),
                });
                if is_lib {
                    exports.push(dyn_sym(&name));
                }
                // A call to a neighbour in the same object...
                edges.push((
                    f as u32,
                    Target::Symbol(((f + 1) % FUNCTIONS_PER_OBJECT) as u32),
                ));
                // ...and to an export of a library: mostly a hot one.
                if libs > 0 && next() % 3 == 0 {
                    let target_lib = if next() % 10 < 8 {
                        (next() as usize) % HOT.min(libs)
                    } else {
                        (next() as usize) % libs
                    };
                    if !(is_lib && target_lib == lib) {
                        let imported = export_name(
                            target_lib,
                            (next() as usize) % OBJECTS_PER_LINK,
                            (next() as usize) % FUNCTIONS_PER_OBJECT,
                        );
                        let idx = symbols.len() as u32;
                        symbols.push(SymbolRecord {
                            name: strings.intern(&imported),
                            binding: Binding::Global,
                            visibility: Visibility::Default,
                            kind: SymbolType::NoType,
                            size: 0,
                            place: SymbolPlace::Undefined,
                        });
                        edges.push((f as u32, Target::Symbol(idx)));
                        imports.push(dyn_sym(&imported));
                    }
                }
            }
            if !is_lib && o == 0 {
                // The entry point.
                symbols.push(SymbolRecord {
                    name: strings.intern("_start"),
                    binding: Binding::Global,
                    visibility: Visibility::Default,
                    kind: SymbolType::Func,
                    size: 8,
                    place: SymbolPlace::Section(0),
                });
            }
            edges.sort_unstable();
            edges.dedup();
            total += symbols.len();
            objects.push(ObjectRecord {
                path: format!("obj/{link}/{o}.o"),
                member: None,
                offset: 0,
                hash: Hash128(u128::from(next()) << 64 | u128::from(next())),
                sections,
                symbols,
                edges,
            });
        }
        imports.sort();
        imports.dedup();
        let record = LinkRecord {
            identity: Hash128(u128::from(next()) << 64 | link as u128),
            status: LinkStatus::Complete,
            incomplete: Vec::new(),
            linker: "synthetic".into(),
            recorded_at: link as u64,
            kind: if is_lib {
                OutputKind::Dyn
            } else {
                OutputKind::Pie
            },
            output: if is_lib {
                lib_name(lib)
            } else {
                format!("prog{link}")
            },
            cwd: format!("/build/{}", link % 500),
            argv: Vec::new(),
            entry: None,
            abi: Default::default(),
            soname: is_lib.then(|| lib_name(lib)),
            needed: Vec::new(),
            version_defs: Vec::new(),
            version_needs: Vec::new(),
            build_id: None,
            output_linker: ldprune::state::record::Linker::Bfd,
            output_size: 0,
            output_sizes: Default::default(),
            layout: Default::default(),
            exports,
            imports,
            objects,
            shared_inputs: Vec::new(),
            scripts: Vec::new(),
            cstrings: Vec::new(),
            strings: strings.into_pool(),
        };
        state.stage_record(&record).unwrap().publish().unwrap();
    }
    std::fs::write(&done, total.to_string()).unwrap();
    total
}

fn dyn_sym(name: &str) -> DynSymbol {
    DynSymbol {
        name: name.to_string(),
        version: None,
        hidden_version: false,
        version_file: None,
        kind: SymbolType::Func,
        binding: Binding::Global,
    }
}
