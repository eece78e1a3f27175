//! Fuzz targets for everything that decodes untrusted bytes: the record,
//! Run-2 result and decisions decoders of the state directory, and the ELF
//! readers (objects, the interface hash, outputs, the sparse output reader).
//!
//! A small runner on stable Rust, no cargo-fuzz: the committed seeds
//! (tests/fuzz/seeds/TARGET/) are mutated deterministically (bit flips,
//! byte sets, interesting integers at header offsets and anywhere,
//! truncation, growth, splicing two seeds), and each input is run with
//! panics caught and its peak memory measured. A panic or more than
//! [`MEMORY_LIMIT`] is a crash: the input is written to
//! target/fuzz/crash-TARGET-N.bin and the run fails naming it. Copy such a
//! file to tests/fuzz/regressions/TARGET-WHAT.bin: `seeds_and_regressions`
//! runs every seed and regression on every normal `cargo test`.
//!
//! The timed run is ignored by default; ./run-tests runs it with
//! `LDPRUNE_FUZZ_SECS` seconds per target (`cargo test --test fuzz --
//! --ignored`). `LDPRUNE_FUZZ_SEED` changes the mutation sequence. A
//! single allocation too large to be served aborts the process; the input
//! being run is always in target/fuzz/current-TARGET.bin.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ldprune::elf::hash::Hash128;
use ldprune::elf::interface::interface_summary;
use ldprune::elf::object::parse_object;
use ldprune::elf::output::{looks_complete, parse_output};
use ldprune::elf::sparse::read_dynamic_parts;
use ldprune::state::codec::{self, FileKind};
use ldprune::state::decisions;
use ldprune::state::record::LinkRecord;
use ldprune::state::{APPLIED_FORMAT, AppliedRecord, RECORD_FORMAT, RECORD_FORMAT_OLDEST};

/// More than this (above what the thread held before) for one input is a
/// crash: the inputs are a few KB.
const MEMORY_LIMIT: usize = 256 << 20;
/// Larger requests are refused outright (the process aborts).
const HARD_LIMIT: usize = 2 << 30;

/// Counts the bytes each thread holds, so a target's peak can be checked.
struct Counting;

thread_local! {
    static HELD: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    /// Set while a fuzzed input runs: its panic is a finding, not noise.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic happened.
    static WHERE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn note_alloc(size: usize) -> bool {
    HELD.try_with(|h| {
        let now = h.get().saturating_add(size);
        if size > HARD_LIMIT {
            return false;
        }
        h.set(now);
        PEAK.with(|p| p.set(p.get().max(now)));
        true
    })
    .unwrap_or(true)
}

fn note_free(size: usize) {
    let _ = HELD.try_with(|h| h.set(h.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as given.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as given.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if !note_alloc(new) {
            return std::ptr::null_mut();
        }
        note_free(layout.size());
        // SAFETY: forwarded as given.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One fuzz target: a name (the seed directory) and what it runs.
struct Target {
    name: &'static str,
    run: fn(&[u8], &Scratch),
}

/// A file the targets that read files write their input to.
struct Scratch(PathBuf);

impl Scratch {
    fn file(&self, bytes: &[u8]) -> std::fs::File {
        std::fs::write(&self.0, bytes).unwrap();
        std::fs::File::open(&self.0).unwrap()
    }
}

const TARGETS: &[Target] = &[
    Target {
        name: "record",
        run: record,
    },
    Target {
        name: "applied",
        run: applied,
    },
    Target {
        name: "decisions",
        run: decisions_file,
    },
    Target {
        name: "elf",
        run: elf_readers,
    },
];

/// The bytes with the header's length and checksum made right, so a
/// mutated payload reaches the decoder behind them.
fn resealed(bytes: &[u8]) -> Option<Vec<u8>> {
    let payload = bytes.get(32..)?;
    let mut out = bytes.to_vec();
    out[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    out[24..32].copy_from_slice(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes());
    Some(out)
}

fn record(bytes: &[u8], _: &Scratch) {
    for b in [Some(bytes.to_vec()), resealed(bytes)]
        .into_iter()
        .flatten()
    {
        // As load_record reads records (the seeds are of format 11).
        let formats = RECORD_FORMAT_OLDEST..=RECORD_FORMAT;
        if let Ok(mut r) = codec::decode_any::<LinkRecord>(FileKind::LinkRecord, formats, &b)
            && r.validate().is_ok()
        {
            // A record that validates must be usable: its lists sort (as
            // load_record does), every name resolves.
            r.sort_lists();
            for o in &r.objects {
                for s in &o.symbols {
                    let _ = r.str(s.name);
                }
            }
        }
    }
}

fn applied(bytes: &[u8], _: &Scratch) {
    for b in [Some(bytes.to_vec()), resealed(bytes)]
        .into_iter()
        .flatten()
    {
        let _ = codec::decode::<AppliedRecord>(FileKind::Applied, APPLIED_FORMAT, &b);
    }
}

/// Looks up every identity the index names (and one it does not), once as
/// given and once with each entry's checksum made right.
fn decisions_file(bytes: &[u8], scratch: &Scratch) {
    let count = bytes
        .get(12..16)
        .map_or(0, |c| u32::from_le_bytes(c.try_into().unwrap()) as usize);
    let slot = |i: usize| bytes.get(16 + 32 * i..16 + 32 * (i + 1));
    let ids: Vec<Hash128> = (0..count.min(64))
        .map_while(slot)
        .map(|s| Hash128(u128::from_le_bytes(s[..16].try_into().unwrap())))
        .chain([Hash128(0)])
        .collect();
    let mut fixed = bytes.to_vec();
    for i in 0..count.min(64) {
        let Some(s) = slot(i) else { break };
        let at = u64::from_le_bytes(s[16..24].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(s[24..28].try_into().unwrap()) as usize;
        if let Some(blob) = bytes.get(at..at.saturating_add(len)) {
            let sum = xxhash_rust::xxh3::xxh3_64(blob) as u32;
            fixed[16 + 32 * i + 28..16 + 32 * i + 32].copy_from_slice(&sum.to_le_bytes());
        }
    }
    for b in [bytes, &fixed[..]] {
        scratch.file(b);
        for id in &ids {
            let _ = decisions::lookup(&scratch.0, *id);
        }
    }
}

fn elf_readers(bytes: &[u8], scratch: &Scratch) {
    if parse_object(bytes).is_ok() {
        // The cheap interface hash must agree with the full parse.
        let summary = interface_summary(bytes);
        assert!(
            summary.is_ok(),
            "parse_object accepted what interface_summary refused"
        );
    } else {
        let _ = interface_summary(bytes);
    }
    let _ = parse_output(bytes);
    for t in [1, 2, 3] {
        let _ = looks_complete(bytes, t);
    }
    let file = scratch.file(bytes);
    if let Ok(sparse) = read_dynamic_parts(&file) {
        let _ = parse_output(&sparse);
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .map(|p| {
                    let b = std::fs::read(&p).unwrap();
                    (p, b)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn seeds(t: &Target) -> Vec<Vec<u8>> {
    let dir = root().join("tests/fuzz/seeds").join(t.name);
    let s: Vec<Vec<u8>> = files(&dir).into_iter().map(|(_, b)| b).collect();
    assert!(!s.is_empty(), "no seeds in {}", dir.display());
    s
}

/// Runs one input; the error says what went wrong.
fn run_one(t: &Target, input: &[u8], scratch: &Scratch) -> Result<(), String> {
    let before = HELD.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let r = catch_unwind(AssertUnwindSafe(|| (t.run)(input, scratch)));
    let peak = PEAK.with(Cell::get).saturating_sub(before);
    match r {
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let at = WHERE.with(|w| std::mem::take(&mut *w.borrow_mut()));
            Err(format!("panicked at {at}: {msg}"))
        }
        Ok(()) if peak > MEMORY_LIMIT => Err(format!(
            "used {} MiB for an input of {} bytes",
            peak >> 20,
            input.len()
        )),
        Ok(()) => Ok(()),
    }
}

/// xorshift64*: deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
    u64::MAX - 1,
    i64::MAX as u64,
];

/// Offsets where a bad value does the most: the ELF header's table offsets,
/// counts and sizes, the first section headers' offset and size, and the
/// state files' version, count and length fields.
fn hot_offset(rng: &mut Rng, input: &[u8]) -> usize {
    const FIXED: &[usize] = &[
        8, 12, 16, 20, 24, 0x20, 0x28, 0x30, 0x36, 0x38, 0x3a, 0x3c, 0x3e,
    ];
    if rng.below(2) == 0 {
        return FIXED[rng.below(FIXED.len())];
    }
    // A field of a section header (ELF64: at e_shoff, 64 bytes each).
    let shoff = input
        .get(0x28..0x30)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()) as usize);
    let field = [0, 4, 8, 16, 24, 32, 40, 44, 48, 56][rng.below(10)];
    shoff
        .saturating_add(64 * rng.below(16))
        .saturating_add(field)
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 | 3 => {
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4, 8][rng.below(4)];
                let at = if rng.below(3) == 0 {
                    rng.below(len)
                } else {
                    hot_offset(rng, input)
                };
                let bytes = v.to_le_bytes();
                for (k, b) in bytes[..width].iter().enumerate() {
                    if let Some(slot) = input.get_mut(at.saturating_add(k)) {
                        *slot = *b;
                    }
                }
            }
            4 if len > 0 => input.truncate(rng.below(len)),
            5 => {
                let n = 1 + rng.below(64);
                input.extend((0..n).map(|_| rng.next() as u8));
            }
            6 => {
                // Splice: the start of this input, the rest of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len.min(other.len()) + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[cut.min(other.len())..]);
            }
            7 if len > 1 => {
                // Copy a block within the input (duplicated headers, names).
                let from = rng.below(len);
                let to = rng.below(len);
                let n = rng.below(64).min(len - from).min(len - to);
                input.copy_within(from..from + n, to);
            }
            _ if len > 0 => {
                let i = rng.below(len);
                input[i] = input[i].wrapping_add(1 + rng.below(3) as u8);
            }
            _ => input.push(0),
        }
    }
}

fn out_dir() -> PathBuf {
    let d = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("fuzz");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Mutates the seeds of `t` for `secs` seconds; the crash files written.
fn fuzz(t: &Target, secs: u64, seed: u64) -> (u64, Vec<String>) {
    let seeds = seeds(t);
    let dir = out_dir();
    let scratch = Scratch(dir.join(format!("scratch-{}", t.name)));
    let current = dir.join(format!("current-{}.bin", t.name));
    let mut rng = Rng((seed ^ (t.name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut runs, mut crashes) = (0u64, Vec::new());
    while Instant::now() < deadline && crashes.len() < 5 {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &seeds, &mut input);
        std::fs::write(&current, &input).unwrap();
        runs += 1;
        QUIET.with(|q| q.set(true));
        let r = run_one(t, &input, &scratch);
        QUIET.with(|q| q.set(false));
        if let Err(why) = r {
            let path = dir.join(format!("crash-{}-{}.bin", t.name, crashes.len()));
            std::fs::write(&path, &input).unwrap();
            crashes.push(format!("{}: {why}", path.display()));
        }
    }
    let _ = std::fs::remove_file(&scratch.0);
    (runs, crashes)
}

/// Every seed and every committed crash input, on every target: no panic,
/// bounded memory. Runs in the normal test suite.
#[test]
fn seeds_and_regressions() {
    let dir = out_dir();
    let regressions = files(&root().join("tests/fuzz/regressions"));
    for t in TARGETS {
        let scratch = Scratch(dir.join(format!("scratch-check-{}", t.name)));
        for s in seeds(t) {
            run_one(t, &s, &scratch).unwrap();
        }
        for (path, bytes) in &regressions {
            let name = path.file_name().unwrap().to_string_lossy();
            if name.starts_with(t.name)
                && let Err(e) = run_one(t, bytes, &scratch)
            {
                panic!("{}: {e}", path.display());
            }
        }
        let _ = std::fs::remove_file(&scratch.0);
    }
}

/// The timed run: `LDPRUNE_FUZZ_SECS` per target (default 15).
#[test]
#[ignore = "timed fuzzing; ./run-tests runs it"]
fn fuzz_targets() {
    // The targets' panics are caught and reported as crashes: not printed.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if QUIET.with(Cell::get) {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            WHERE.with(|w| *w.borrow_mut() = at);
        } else {
            default(info);
        }
    }));
    let secs = std::env::var("LDPRUNE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let seed = std::env::var("LDPRUNE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0001_d97e_5eed);
    let mut all = Vec::new();
    for t in TARGETS {
        let (runs, crashes) = fuzz(t, secs, seed);
        let _ = writeln!(
            std::io::stderr(),
            "fuzz {}: {runs} inputs in {secs} s, {} crashes",
            t.name,
            crashes.len()
        );
        all.extend(crashes);
    }
    assert!(
        all.is_empty(),
        "crashes (copy each to tests/fuzz/regressions/TARGET-WHAT.bin):\n{}",
        all.join("\n")
    );
}
