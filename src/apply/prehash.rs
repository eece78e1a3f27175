//! Run-2 needs the link identity at the first input, and the identity needs
//! every command-line object read and hashed. That work starts at onload on
//! worker threads: it overlaps the linker's own startup and uses the cores
//! the single-threaded linker leaves idle. A small link starts none: its
//! few objects are read at the first input, on the linker's thread. On
//! ld.bfd the same reads also collect the names the objects define, which
//! decide whether the link may take a stub object (`Applier::uses_stub`).

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
    /// Workers started for; one that could not be spawned leaves its
    /// share unread (the caller hashes it) and the definitions unknown.
    wanted: usize,
    /// A small link's inputs, read in [`Prehash::finish`].
    inline: Option<Vec<String>>,
    definitions: bool,
}

/// Names the objects of the command line define, plain and thread-local,
/// in the spelling of [`super::hidden_reference`] (one set per worker).
#[derive(Default)]
pub struct Defined {
    plain: FxHashSet<String>,
    tls: FxHashSet<String>,
    /// An object of the share carries LTO IR (see [`all_plain`]).
    ir: bool,
}

impl Defined {
    /// Definitions as symbol tables spell them (`foo@@V2` is kept as
    /// `foo`, as a hidden reference names it).
    fn add(&mut self, defs: Vec<Definition>) {
        for (mut name, tls) in defs {
            name.truncate(super::hidden_reference(&name).len());
            if tls {
                self.tls.insert(name);
            } else {
                self.plain.insert(name);
            }
        }
    }
}

/// Whether a stub may carry the references to `names` on ld.bfd: its
/// references are untyped, and ld.bfd refuses an untyped reference to a
/// thread-local definition (a failed link). So every name must be defined
/// by an object of the command line, and as TLS by none; a name defined
/// in an archive member or anywhere as TLS leaves the claim, whose
/// references the linker does not type-check. No LTO link takes a stub:
/// GCC's LTO plugin takes its resolutions before a stub is added, and would
/// no longer internalize a hidden name IR defines (PREVAILING_DEF_IRONLY,
/// as a claim gets it), also where a plain object defines it too (C++
/// inline functions); the IR's own symbol table is not read here.
pub fn all_plain(sets: &[Defined], names: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    if sets.iter().any(|d| d.ir) {
        return false;
    }
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
                wanted: 0,
                inline: Some(inputs.to_vec()),
                definitions,
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
                    .spawn(move || read_share(share, definitions))
                    .ok()
            })
            .collect();
        Prehash {
            workers,
            wanted: n,
            inline: None,
            definitions,
        }
    }

    /// Waits for the workers (or reads a small link's objects here).
    /// Inputs a worker could not hash (it panicked or never started) are
    /// missing: the caller hashes those itself. The definitions, if asked
    /// for, only when every share was read (else a name could seem
    /// undefined that is not, or plain that is TLS elsewhere).
    pub fn finish(mut self) -> (HashMap<String, Option<Hash128>>, Option<Vec<Defined>>) {
        let mut sets = self.definitions.then(Vec::new);
        let done: Vec<Option<Work>> = match self.inline.take() {
            Some(inputs) => vec![Some(read_share(inputs, self.definitions))],
            None => {
                if self.workers.len() < self.wanted {
                    sets = None;
                }
                self.workers.drain(..).map(|w| w.join().ok()).collect()
            }
        };
        let mut all = HashMap::new();
        for work in done {
            match work {
                Some((hashes, defined)) => {
                    all.extend(hashes);
                    match (defined, &mut sets) {
                        (Some(d), Some(v)) => v.push(d),
                        _ => sets = None,
                    }
                }
                None => sets = None,
            }
        }
        (all, sets)
    }
}

/// Hashes the objects of `share`, and with `definitions` collects what
/// they define (an object with LTO IR only marks the set: see
/// [`all_plain`]). One read buffer for all of them.
fn read_share(share: Vec<String>, definitions: bool) -> Work {
    let mut parts = Parts::default();
    let mut defined = definitions.then(Defined::default);
    let hashes = share
        .into_iter()
        .map(|p| {
            let h = match &mut defined {
                None => read_interface_summary_with(&mut parts, &p).map(|s| s.hash),
                Some(d) => read_interface_definitions_with(&mut parts, &p).map(|(s, defs)| {
                    if s.lto.has_ir() {
                        d.ir = true;
                    } else {
                        d.add(defs);
                    }
                    s.hash
                }),
            };
            (p, h)
        })
        .collect();
    (hashes, defined)
}
