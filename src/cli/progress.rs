//! Progress on stderr for the long steps (loading records, the analysis,
//! reading an image, measuring it). Counted steps ([`Progress`]) redraw one
//! line on a terminal and write a line every five seconds in a log;
//! uncounted ones ([`heartbeat`]) say every [`EVERY`] that they still run.
//! Nothing at all for a step that ends sooner, so short runs stay quiet
//! and long ones never look hung.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a log gets a line about a step still running.
pub const EVERY: Duration = Duration::from_secs(10);

/// Where a long merge is, on stderr: on a terminal one line redrawn at most
/// five times a second, otherwise (a build log) a line every five seconds.
/// Nothing for a merge that is done in under two seconds.
pub struct Progress {
    started: Instant,
    last: Option<Instant>,
    terminal: bool,
    /// A terminal line drawn and not yet ended.
    open: bool,
    step: &'static str,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            started: Instant::now(),
            last: None,
            terminal: std::io::stderr().is_terminal(),
            open: false,
            step: "",
        }
    }

    pub fn tick(&mut self, what: &'static str, done: usize, total: usize) {
        if what != self.step {
            self.end_line();
            self.step = what;
        }
        let now = Instant::now();
        if now.duration_since(self.started) < Duration::from_secs(2) {
            return;
        }
        let every = Duration::from_millis(if self.terminal { 200 } else { 5000 });
        let finished = self.terminal && done == total;
        if self.last.is_some_and(|l| now.duration_since(l) < every) && !finished {
            return;
        }
        self.last = Some(now);
        let secs = now.duration_since(self.started).as_secs_f64();
        let pct = done * 100 / total.max(1);
        let line = format!("ldprune: {what}: {done}/{total} ({pct}%), {secs:.0} s");
        if self.terminal {
            eprint!("\r{line}\x1b[K");
            self.open = true;
        } else {
            eprintln!("{line}");
        }
    }

    pub fn end_line(&mut self) {
        if self.open {
            eprintln!();
            self.open = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end_line();
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
