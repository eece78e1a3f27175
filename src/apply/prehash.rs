//! Run-2 needs the link identity at the first input, and the identity needs
//! every command-line object read and hashed. That work starts at onload on
//! worker threads: it overlaps the linker's own startup and uses the cores
//! the single-threaded linker leaves idle. A small link starts none: the
//! first input hashes its few objects itself.

use std::collections::HashMap;
use std::thread::JoinHandle;

use crate::elf::hash::Hash128;
use crate::elf::sparse::Parts;
use crate::identity::read_interface_summary_with;

type Hashes = Vec<(String, Option<Hash128>)>;

pub struct Prehash {
    workers: Vec<JoinHandle<Hashes>>,
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
pub(super) const INLINE_UP_TO: usize = 16;

impl Prehash {
    /// Starts hashing `inputs` (paths as the command line gives them; the
    /// ones that are not relocatable objects come back as None).
    pub fn start(inputs: &[String]) -> Prehash {
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
                        share
                            .into_iter()
                            .map(|p| {
                                let h = read_interface_summary_with(&mut parts, &p).map(|s| s.hash);
                                (p, h)
                            })
                            .collect()
                    })
                    .ok()
            })
            .collect();
        Prehash { workers }
    }

    /// Waits for the workers. Inputs a worker could not hash (it panicked or
    /// never started, or the link is small) are missing: the caller hashes
    /// those itself.
    pub fn finish(mut self) -> HashMap<String, Option<Hash128>> {
        let mut all = HashMap::new();
        for w in std::mem::take(&mut self.workers) {
            if let Ok(hashes) = w.join() {
                all.extend(hashes);
            }
        }
        all
    }
}
