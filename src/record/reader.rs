//! Run-1 parses large objects on a thread of its own: the linker is
//! single-threaded, so while it goes on they are parsed on another core.
//! claim_file reads each input (the linker's descriptor is valid during
//! the call only) and queues it; cleanup waits for the thread. One thread
//! takes the inputs in the order the linker offered them, so the record is
//! the one claim_file would have made by itself.
//!
//! The thread starts at the first object of [`THREAD_FROM`] bytes or more
//! and takes every input from there on. Measured on this 2-core machine
//! (2026-11-30, median of interleaved links, gold): 4 objects of 32 MB,
//! 1.26 of a plain link read in claim_file, 1.02 on the thread; 1,000 C++
//! objects of 30 KB 1.32 and 1.29; 600 C objects of 9 KB 1.19 and 1.29:
//! a second busy core slows the linker here (a plain link ran 21% longer
//! beside a busy loop), which small objects' parsing does not repay.
//!
//! Inputs go over in batches: one wakeup per batch, not per input. An
//! object up to 4 MiB is read whole in claim_file; only a larger one is
//! read by the thread, through a duplicate of the linker's descriptor, at
//! most [`FILES`] of those at once and only while the process has plenty
//! to spare: the descriptors are the process's, and a linker that runs out
//! of them fails the link. Without one, the thread finishes what it has and
//! the rest is read in claim_file.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::RecordError;
use super::collect::Collected;
use super::input::{InputFile, Intake, Job};
use crate::panics::panic_text;

/// The size of object that starts the thread.
const THREAD_FROM: u64 = 1 << 20;
/// Inputs per batch.
const BATCH: usize = 16;
/// Batches waiting for the thread before claim_file waits for it.
const QUEUED: usize = 4;
/// Duplicated descriptors open at once.
const FILES: usize = 4;

/// How many duplicated descriptors the thread holds.
#[derive(Default)]
struct OpenFiles {
    count: Mutex<usize>,
    closed: Condvar,
}

impl OpenFiles {
    /// Waits until fewer than FILES are open, and counts one more; false
    /// if the thread is gone (it panicked) and will close none.
    fn take(&self, worker: &JoinHandle<Collected>) -> bool {
        let Ok(mut n) = self.count.lock() else {
            return false;
        };
        while *n >= FILES {
            if worker.is_finished() {
                return false;
            }
            n = match self.closed.wait_timeout(n, Duration::from_millis(10)) {
                Ok((n, _)) => n,
                Err(_) => return false,
            };
        }
        *n += 1;
        true
    }

    fn put_back(&self) {
        if let Ok(mut n) = self.count.lock() {
            *n = n.saturating_sub(1);
            self.closed.notify_one();
        }
    }
}

/// Reads a link's inputs, on a thread of its own or in claim_file.
pub struct Reader {
    intake: Intake,
    mode: Mode,
    /// Whether a thread may still be started.
    threaded: bool,
}

impl Drop for Reader {
    /// A session given up mid-link (a failure on the linker's thread) drops
    /// its reader with the thread still running: the thread must not
    /// outlive the linker's use of this library, so it is joined, after
    /// the few batches already queued (the unsent one is dropped).
    fn drop(&mut self) {
        if let Mode::Thread { queue, worker, .. } = std::mem::replace(&mut self.mode, Mode::Gone) {
            drop(queue);
            let _ = worker.join();
        }
    }
}

enum Mode {
    Inline(Box<Collected>),
    Thread {
        batch: Vec<Job>,
        queue: SyncSender<Vec<Job>>,
        /// Read buffers the thread is done with.
        spent: Receiver<Vec<u8>>,
        files: Arc<OpenFiles>,
        worker: JoinHandle<Collected>,
    },
    /// The thread panicked (its text): its work is lost, the record
    /// cannot be made.
    Failed(String),
    /// Between states.
    Gone,
}

impl Reader {
    /// `threaded`: large objects may start a thread of its own. `inputs`:
    /// how many the command line names ([`Collected::new`]).
    pub fn new(threaded: bool, inputs: usize) -> Reader {
        Reader {
            intake: Intake::default(),
            mode: Mode::Inline(Box::new(Collected::new(inputs))),
            threaded,
        }
    }

    /// Takes one input the linker offers (claim_file).
    pub fn add(&mut self, input: &InputFile) {
        match &mut self.mode {
            Mode::Inline(_) => {
                // Read as the thread needs it if this may start it.
                let may_start = self.threaded && input.size >= THREAD_FROM;
                let Some(job) = self.intake.read(input, may_start) else {
                    return;
                };
                if may_start && job.is_object() {
                    self.threaded = false;
                    self.start();
                    if let Mode::Thread { .. } = self.mode {
                        log::debug!("parsing on a thread of its own from {} on", input.name);
                    }
                }
                self.take(job, input);
            }
            Mode::Thread { spent, .. } => {
                // Never waits: takes only what the thread already gave back.
                while let Ok(buf) = spent.try_recv() {
                    self.intake.give_back(buf);
                }
                if let Some(job) = self.intake.read(input, true) {
                    self.take(job, input);
                }
            }
            Mode::Failed(_) | Mode::Gone => {}
        }
    }

    /// Parses `job` here, or queues it for the thread.
    fn take(&mut self, mut job: Job, input: &InputFile) {
        let wants_file = job.wants_file();
        if wants_file {
            // The thread must get to the files queued before this one, or
            // it would never close them.
            self.send();
        }
        if let Mode::Thread { files, worker, .. } = &mut self.mode
            && wants_file
        {
            let dup = if spare_descriptor() && files.take(worker) {
                let dup = input.file.try_clone().ok();
                if dup.is_none() {
                    files.put_back();
                }
                dup
            } else {
                None
            };
            match dup {
                Some(dup) => job.file = Some(dup),
                // No descriptor to spare (or no thread): the thread
                // finishes what it has, and this input and the rest are
                // read here, in order.
                None => self.finish_thread(),
            }
        }
        match &mut self.mode {
            Mode::Inline(c) => {
                let buf = c.process(job, Some(input.file));
                self.intake.give_back(buf);
            }
            Mode::Thread { batch, .. } => {
                batch.push(job);
                if batch.len() >= BATCH || wants_file {
                    self.send();
                }
            }
            Mode::Failed(_) | Mode::Gone => {}
        }
    }

    /// The collection so far, where it is at hand (not on the thread).
    pub fn inline(&self) -> Option<&Collected> {
        match &self.mode {
            Mode::Inline(c) => Some(c),
            _ => None,
        }
    }

    /// A note for the record's list of what was not analysed.
    pub fn note_incomplete(&mut self, what: String) {
        match &mut self.mode {
            Mode::Inline(c) => c.note_incomplete(what),
            Mode::Thread { .. } => {
                // In order with the inputs: the thread writes it.
                self.finish_thread();
                self.note_incomplete(what);
            }
            Mode::Failed(_) | Mode::Gone => {}
        }
    }

    /// Waits for the thread: everything the inputs gave.
    pub fn finish(mut self) -> Result<Collected, RecordError> {
        self.finish_thread();
        match std::mem::replace(&mut self.mode, Mode::Gone) {
            Mode::Inline(c) => Ok(*c),
            Mode::Failed(why) => Err(RecordError::Reading(why)),
            Mode::Thread { .. } | Mode::Gone => {
                Err(RecordError::Reading("the inputs were not read".to_string()))
            }
        }
    }

    /// Starts the thread with the collection so far, or stays inline if it
    /// cannot start.
    fn start(&mut self) {
        let mode = std::mem::replace(&mut self.mode, Mode::Gone);
        let Mode::Inline(c) = mode else {
            self.mode = mode;
            return;
        };
        let (queue, batches) = sync_channel::<Vec<Job>>(QUEUED);
        let (give_back, spent) = channel();
        let (hand_over, taken) = channel::<Box<Collected>>();
        let files = Arc::new(OpenFiles::default());
        let closed = files.clone();
        let spawned = std::thread::Builder::new()
            .name("ldprune-read".into())
            .spawn(move || match taken.recv() {
                Ok(c) => work(*c, batches, give_back, &closed),
                Err(_) => Collected::default(),
            });
        let worker = match spawned {
            Ok(w) => w,
            Err(e) => {
                log::debug!("no thread for reading inputs ({e}): read in claim_file");
                self.mode = Mode::Inline(c);
                return;
            }
        };
        self.mode = match hand_over.send(c) {
            Ok(()) => Mode::Thread {
                batch: Vec::with_capacity(BATCH),
                queue,
                spent,
                files,
                worker,
            },
            // The thread is gone before it took anything: still inline.
            Err(back) => Mode::Inline(back.0),
        };
    }

    /// Hands the current batch to the thread.
    fn send(&mut self) {
        let Mode::Thread { batch, queue, .. } = &mut self.mode else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
        if queue.send(full).is_err() {
            // The thread is gone (it panicked): join says why.
            self.finish_thread();
        }
    }

    /// Sends what is left, waits for the thread and takes its collection
    /// back: from here on, inline.
    fn finish_thread(&mut self) {
        let mode = std::mem::replace(&mut self.mode, Mode::Gone);
        let Mode::Thread {
            batch,
            queue,
            worker,
            ..
        } = mode
        else {
            self.mode = mode;
            return;
        };
        if !batch.is_empty() {
            // A failed send means the thread is gone; join says why.
            let _ = queue.send(batch);
        }
        drop(queue);
        self.mode = match worker.join() {
            Ok(c) => Mode::Inline(Box::new(c)),
            Err(payload) => Mode::Failed(panic_text(payload.as_ref())),
        };
    }
}

/// Whether the process has a descriptor to spare for the thread: those
/// open (/proc/self/fd) well below the soft limit (/proc/self/limits). A
/// linker that finds none left fails the link (ld.bfd "Too many open
/// files", gold "out of file descriptors"); ld.bfd keeps up to an eighth
/// of the limit open, the margin is that and 32 more.
fn spare_descriptor() -> bool {
    let Some(limit) = open_files_limit() else {
        return false;
    };
    let Ok(open) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    open.count() + 32 + limit / 8 < limit
}

/// The soft limit of open files; None if unknown.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    match soft {
        "unlimited" => Some(usize::MAX / 2),
        n => n.parse().ok(),
    }
}

/// The thread: every batch in order, until claim_file's side hangs up.
/// Read buffers go back for reuse (a send never waits).
fn work(
    mut c: Collected,
    batches: Receiver<Vec<Job>>,
    give_back: Sender<Vec<u8>>,
    files: &OpenFiles,
) -> Collected {
    for batch in batches {
        for job in batch {
            crate::panics::injected("reader");
            let had_file = job.file.is_some();
            // The job, and its descriptor, are gone when this returns.
            let _ = give_back.send(c.process(job, None));
            if had_file {
                files.put_back();
            }
        }
    }
    c
}
