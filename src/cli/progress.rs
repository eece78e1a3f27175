//! Progress on stderr for the long steps (loading records, the analysis,
//! measuring an image). On a terminal a counter redraws one line; in a log
//! (CI, `./run-example | tee`) a line every [`EVERY`] at most, and nothing
//! at all for a step that ends sooner, so short runs stay quiet and long
//! ones never look hung.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a log gets a line about a step still running.
pub const EVERY: Duration = Duration::from_secs(10);

/// A counted step (`done` of `total`).
pub struct Progress {
    what: &'static str,
    shown: usize,
    terminal: bool,
    printed: bool,
    last: Instant,
}

impl Progress {
    pub fn new(what: &'static str) -> Progress {
        Progress {
            what,
            shown: 0,
            terminal: std::io::stderr().is_terminal(),
            printed: false,
            last: Instant::now(),
        }
    }

    /// On a terminal a percentage for long loads (200 files or more); in a
    /// log a line when [`EVERY`] has passed since the last.
    pub fn tick(&mut self, done: usize, total: usize) {
        let pct = done * 100 / total.max(1);
        if self.terminal {
            if total >= 200 && pct != self.shown {
                self.shown = pct;
                self.printed = true;
                eprint!("\r{}: {done}/{total} ({pct}%)", self.what);
            }
        } else if self.last.elapsed() >= EVERY && done < total {
            self.last = Instant::now();
            eprintln!("ldprune: {}: {done}/{total} ({pct}%)", self.what);
        }
    }

    pub fn done(&self) {
        if self.printed {
            eprintln!();
        }
    }
}

/// Runs `step`, saying every [`EVERY`] on stderr that it is still running
/// (a step with no count to show: the analysis).
pub fn heartbeat<T>(what: &str, step: impl FnOnce() -> T) -> T {
    let (finished, wait) = mpsc::channel::<()>();
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(EVERY) {
                eprintln!(
                    "ldprune: {what}: still running ({} s)",
                    start.elapsed().as_secs()
                );
            }
        });
        let out = step();
        // The receiver ends when this sender is dropped or sends.
        let _ = finished.send(());
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_returns_the_step_and_stops_with_it() {
        let start = Instant::now();
        assert_eq!(heartbeat("a step", || 7), 7);
        // The watcher ends with the step, not after its interval.
        assert!(start.elapsed() < EVERY);
    }
}
