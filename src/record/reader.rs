//! Run-1 parses the inputs on a thread of its own: the linker is
//! single-threaded, so while it goes on the objects are parsed on another
//! core. claim_file only reads an input's first bytes (the linker's
//! descriptor is valid during the call only) and queues them; cleanup
//! waits for the thread. One thread takes the inputs in the order the
//! linker offered them, so the record is the one claim_file would have
//! made by itself.
//!
//! Inputs go over in batches: one wakeup per batch, not per input (a
//! thread woken per input was measured slower than none on 2 cores). A
//! batch holds at most [`BATCH`] duplicated descriptors (objects larger than
//! the first read) and the queue [`QUEUED`] batches, so the link never
//! holds more than a few dozen extra descriptors: the linker's own limit
//! is the process's.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::collect::Collected;
use super::input::{InputFile, Intake, Job};

/// Inputs per batch.
const BATCH: usize = 16;
/// Batches waiting for the thread before claim_file waits for it.
const QUEUED: usize = 4;

/// Reads a link's inputs, on a thread of its own or in claim_file.
pub struct Reader {
    intake: Intake,
    mode: Mode,
    /// Whether a thread may be started (not yet started: `Inline`).
    threaded: bool,
}

enum Mode {
    Inline(Box<Collected>),
    Thread {
        batch: Vec<Job>,
        queue: SyncSender<Vec<Job>>,
        /// Read buffers the thread is done with.
        spent: Receiver<Vec<u8>>,
        worker: JoinHandle<Collected>,
    },
    /// The thread failed: its work is lost, the record cannot be made.
    Failed(String),
    /// Between states.
    Gone,
}

impl Reader {
    /// `threaded`: parse on a thread of its own, started at the first input.
    pub fn new(threaded: bool) -> Reader {
        Reader {
            intake: Intake::default(),
            mode: Mode::Inline(Box::new(Collected::new())),
            threaded,
        }
    }

    /// Takes one input the linker offers (claim_file).
    pub fn add(&mut self, input: &InputFile) {
        if self.threaded {
            self.threaded = false;
            self.start();
        }
        match &mut self.mode {
            Mode::Inline(c) => {
                if let Some(job) = self.intake.read(input, false) {
                    let buf = c.process(job, Some(input.file));
                    self.intake.give_back(buf);
                }
            }
            Mode::Thread { batch, spent, .. } => {
                // Never waits: takes only what the thread already gave back.
                while let Ok(buf) = spent.try_recv() {
                    self.intake.give_back(buf);
                }
                if let Some(job) = self.intake.read(input, true) {
                    batch.push(job);
                    if batch.len() >= BATCH {
                        self.send();
                    }
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
    pub fn finish(mut self) -> Result<Collected, String> {
        self.finish_thread();
        match std::mem::replace(&mut self.mode, Mode::Gone) {
            Mode::Inline(c) => Ok(*c),
            Mode::Failed(why) => Err(why),
            Mode::Thread { .. } | Mode::Gone => Err("the inputs were not read".to_string()),
        }
    }

    /// Starts the thread (before the first input), or stays inline if it
    /// cannot start.
    fn start(&mut self) {
        if !matches!(&self.mode, Mode::Inline(c) if c.is_empty()) {
            return;
        }
        let (queue, batches) = sync_channel::<Vec<Job>>(QUEUED);
        let (give_back, spent) = channel();
        let spawned = std::thread::Builder::new()
            .name("ldprune-read".into())
            .spawn(move || work(Collected::new(), batches, give_back));
        match spawned {
            Ok(worker) => {
                self.mode = Mode::Thread {
                    batch: Vec::with_capacity(BATCH),
                    queue,
                    spent,
                    worker,
                }
            }
            Err(e) => log::debug!("no thread for reading inputs ({e}): read in claim_file"),
        }
    }

    /// Hands the current batch to the thread.
    fn send(&mut self) {
        let Mode::Thread { batch, queue, .. } = &mut self.mode else {
            return;
        };
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
            Err(payload) => {
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Mode::Failed(format!("internal error reading the inputs: {text}"))
            }
        };
    }
}

/// The thread: every batch in order, until claim_file's side hangs up.
/// Read buffers go back for reuse (a send never waits).
fn work(mut c: Collected, batches: Receiver<Vec<Job>>, give_back: Sender<Vec<u8>>) -> Collected {
    for batch in batches {
        for job in batch {
            let _ = give_back.send(c.process(job, None));
        }
    }
    c
}
