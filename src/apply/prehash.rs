//! Run-2 needs the link identity at the first input, and the identity needs
//! every command-line object read and hashed. That work starts at onload on
//! worker threads: it overlaps the linker's own startup and uses the cores
//! the single-threaded linker leaves idle. A small link starts none: its
//! few objects are read at the first input, on the linker's thread. On
//! ld.bfd the same reads also collect the names the objects define, which
//! decide whether the link may take a stub object (`Applier::uses_stub`).
//! On both linkers they note whether an object carries LTO IR: another
//! plugin then adds its output at all_symbols_read, where a claimed input
//! handed back would go too (`Applier::decide`).

use std::collections::HashMap;
use std::thread::JoinHandle;

use crate::elf::hash::Hash128;
use crate::elf::sparse::Parts;
use crate::fasthash::FxHashSet;
use crate::identity::{Definition, read_interface_definitions_with, read_interface_summary_with};

type Hashes = Vec<(String, Option<Hash128>)>;

/// What one worker read: the hashes, whether an object carries LTO IR,
/// and when asked the names its objects define.
type Work = (Hashes, bool, Option<Defined>);

/// What [`Prehash::finish`] gives: the hashes by path, whether an object
/// of the command line carries LTO IR, and the definitions if asked for
/// and complete.
pub struct Finished {
    pub hashes: HashMap<String, Option<Hash128>>,
    /// An object carries LTO IR, or a share went unread (unknown counts as
    /// IR: it keeps Run-2 from the claim, the side that could reorder).
    pub ir: bool,
    pub defined: Option<Vec<Defined>>,
}

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
}

impl Defined {
    /// The set of `defs` (an archive's, in an LTO link: see
    /// `Applier::decide`).
    pub fn of(defs: Vec<Definition>) -> Defined {
        let mut d = Defined::default();
        d.add(defs);
        d
    }

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
/// by an object of the command line (in an LTO link, or by a member of an
/// archive with IR members), and as TLS by none; a name defined in another
/// archive member or anywhere as TLS leaves the claim, whose references
/// the linker does not type-check. A fat LTO object's
/// definitions are those of its machine code, which name what the LTO
/// output defines (a stub arrives after GCC's plugin took its
/// resolutions, so the names stay exported from the LTO unit, as
/// PREVAILING_DEF_IRONLY_EXP); a slim one shows none, so a name only it
/// defines leaves the stub out.
pub fn all_plain<'a>(
    sets: impl Iterator<Item = &'a Defined> + Clone,
    names: impl IntoIterator<Item = impl AsRef<str>>,
) -> bool {
    names.into_iter().all(|n| {
        let n = n.as_ref();
        sets.clone().any(|d| d.plain.contains(n)) && !sets.clone().any(|d| d.tls.contains(n))
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
    pub fn finish(mut self) -> Finished {
        let mut sets = self.definitions.then(Vec::new);
        let mut ir = false;
        let done: Vec<Option<Work>> = match self.inline.take() {
            Some(inputs) => vec![Some(read_share(inputs, self.definitions))],
            None => {
                if self.workers.len() < self.wanted {
                    sets = None;
                    ir = true;
                }
                self.workers.drain(..).map(|w| w.join().ok()).collect()
            }
        };
        let mut all = HashMap::new();
        for work in done {
            match work {
                Some((hashes, has_ir, defined)) => {
                    all.extend(hashes);
                    ir |= has_ir;
                    match (defined, &mut sets) {
                        (Some(d), Some(v)) => v.push(d),
                        _ => sets = None,
                    }
                }
                None => {
                    sets = None;
                    ir = true;
                }
            }
        }
        Finished {
            hashes: all,
            ir,
            defined: sets,
        }
    }
}

/// Hashes the objects of `share`, notes whether one carries LTO IR, and
/// with `definitions` collects what they define (see [`all_plain`]). One
/// read buffer for all of them.
fn read_share(share: Vec<String>, definitions: bool) -> Work {
    let mut parts = Parts::default();
    let mut defined = definitions.then(Defined::default);
    let mut ir = false;
    let hashes = share
        .into_iter()
        .map(|p| {
            let h = match &mut defined {
                None => read_interface_summary_with(&mut parts, &p).map(|s| {
                    ir |= s.lto.has_ir();
                    s.hash
                }),
                Some(d) => read_interface_definitions_with(&mut parts, &p).map(|(s, defs)| {
                    ir |= s.lto.has_ir();
                    d.add(defs);
                    s.hash
                }),
            };
            (p, h)
        })
        .collect();
    (hashes, ir, defined)
}
