//! Run-2 needs the link identity at the first input, and the identity needs
//! every command-line object read and hashed. That work starts at onload on
//! worker threads: it overlaps the linker's own startup and uses the cores
//! the single-threaded linker leaves idle. A small link starts none: the
//! first input hashes its few objects itself.

use std::collections::HashMap;
use std::thread::JoinHandle;

use crate::elf::hash::Hash128;
use crate::elf::sparse::Parts;
use crate::fasthash::FxHashSet;
use crate::identity::{Definition, read_interface_definitions_with, read_interface_summary_with};

type Hashes = Vec<(String, Option<Hash128>)>;

/// What one worker read: the hashes, and when asked the names its objects
/// define.
type Work = (Hashes, Option<Defined>);

pub struct Prehash {
    workers: Vec<JoinHandle<Work>>,
}

/// Names the objects of the command line define, plain and thread-local,
/// in the spelling of [`super::hidden_reference`] (one set per worker).
#[derive(Default)]
pub struct Defined {
    plain: FxHashSet<String>,
    tls: FxHashSet<String>,
}

impl Defined {
    fn add(&mut self, defs: Vec<Definition>) {
        for (name, tls) in defs {
            self.insert(&name, tls);
        }
    }

    /// One definition of `name` (spelled as in a symbol table).
    pub fn insert(&mut self, name: &str, tls: bool) {
        let name = super::hidden_reference(name).to_string();
        if tls {
            self.tls.insert(name);
        } else {
            self.plain.insert(name);
        }
    }
}

/// Whether every name `n` (a hidden reference) is defined plainly by some
/// object in `sets` and as TLS by none.
pub fn all_plain(sets: &[Defined], names: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    names.into_iter().all(|n| {
        let n = n.as_ref();
        sets.iter().any(|d| d.plain.contains(n)) && !sets.iter().any(|d| d.tls.contains(n))
    })
}

impl Drop for Prehash {
    /// Dropped unfinished (a session given up mid-link): the workers must
    /// not outlive the linker's use of this library.
    fn drop(&mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// More threads than this only add start-up cost for typical links.
const MAX_WORKERS: usize = 4;
/// Below this many inputs one worker is enough.
const PER_WORKER: usize = 32;
/// Up to this many inputs the first input hashes them itself: a thread
/// costs more than it saves there (a program of six inputs on ld.bfd: the
/// first input, 1.1 ms after onload, waited 1 ms for the worker; read on
/// the linker's thread they take about 0.1 ms).
const INLINE_UP_TO: usize = 16;

impl Prehash {
    /// Starts hashing `inputs` (paths as the command line gives them; the
    /// ones that are not relocatable objects come back as None).
    /// `definitions`: also collect the names the objects define.
    pub fn start(inputs: &[String], definitions: bool) -> Prehash {
        if inputs.len() <= INLINE_UP_TO {
            return Prehash {
                workers: Vec::new(),
            };
        }
        // All cores: the linker is mostly opening files while these run, and
        // its first input waits for them (measured: one worker per spare
        // core left the first input waiting longer on 2 cores). A small link
        // gets one whatever the cores: counting them reads the process's
        // cgroup files (14 system calls on the linker's thread).
        let wanted = inputs.len().div_ceil(PER_WORKER);
        let n = if wanted <= 1 {
            1
        } else {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            wanted.clamp(1, cores.min(MAX_WORKERS))
        };
        let workers = (0..n)
            .filter_map(|w| {
                // Interleaved shares: neighbours on the command line are
                // often alike in size.
                let share: Vec<String> = inputs.iter().skip(w).step_by(n).cloned().collect();
                std::thread::Builder::new()
                    .name("ldprune-hash".into())
                    .spawn(move || {
                        // One read buffer for all of this worker's objects.
                        let mut parts = Parts::default();
                        let mut defined = definitions.then(Defined::default);
                        let hashes = share
                            .into_iter()
                            .map(|p| {
                                let h =
                                    match &mut defined {
                                        None => read_interface_summary_with(&mut parts, &p)
                                            .map(|s| s.hash),
                                        // LTO IR's definitions are not the
                                        // linker's to see: left out.
                                        Some(d) => read_interface_definitions_with(&mut parts, &p)
                                            .map(|(s, defs)| {
                                                if !s.lto.has_ir() {
                                                    d.add(defs);
                                                }
                                                s.hash
                                            }),
                                    };
                                (p, h)
                            })
                            .collect();
                        (hashes, defined)
                    })
                    .ok()
            })
            .collect();
        Prehash { workers }
    }

    /// Waits for the workers. Inputs a worker could not hash (it panicked or
    /// never started, or the link is small) are missing: the caller hashes
    /// those itself. The definitions, if asked for, only when every worker
    /// delivered them (else a name could seem undefined that is not, or
    /// plain that is TLS elsewhere: the caller then reads the objects).
    pub fn finish(mut self) -> (HashMap<String, Option<Hash128>>, Option<Vec<Defined>>) {
        let mut all = HashMap::new();
        let mut sets = Some(Vec::new());
        let started = !self.workers.is_empty();
        for w in std::mem::take(&mut self.workers) {
            match w.join() {
                Ok((hashes, defined)) => {
                    all.extend(hashes);
                    match (defined, &mut sets) {
                        (Some(d), Some(v)) => v.push(d),
                        _ => sets = None,
                    }
                }
                Err(_) => sets = None,
            }
        }
        (all, sets.filter(|_| started))
    }
}
