//! The linker plugin. `ffi` is the only module with `unsafe`: it turns the
//! linker's callbacks into calls of [`Session`], which is safe code that
//! drives Run-1 ([`crate::record`]) and, later, Run-2.
//!
//! Failure policy: a plugin failure never breaks a link. It is reported once
//! through the linker's message callback and the plugin stops working for
//! this link; only `strict` turns it into a link error.

#[allow(unsafe_code)]
mod bindings;
#[allow(unsafe_code)]
mod ffi;
pub mod options;

use std::path::PathBuf;

use crate::apply::{Applier, Claim};
use crate::identity::OutputKind;
use crate::record::{InputFile, LinkInfo, Pending, RealOutput, Recorder};
use crate::state::StateDir;
use crate::state::record::Linker;
use options::{Options, RunMode};

/// What the linker told us in onload, in safe types.
#[derive(Clone, Debug, Default)]
pub struct Transfer {
    pub options: Vec<String>,
    pub output_name: Option<String>,
    pub output_kind: Option<OutputKind>,
    pub linker: String,
}

/// A failure to report under the failure policy.
#[derive(Debug)]
pub struct Failure(pub String);

/// Why a session did not start.
#[derive(Debug)]
pub enum StartError {
    /// A wrong option or environment value: the user's error, always fatal.
    Option(options::OptionError),
    /// The plugin cannot work (e.g. state directory unusable): fail-open,
    /// or a failed link when `strict` (read from the options) is set.
    Failure { failure: Failure, strict: bool },
}

enum Stage {
    Recording(Box<Recorder>),
    Applying(Box<Applier>),
    Staged(Box<Pending>),
    /// Nothing left to do (after an error, or after publishing).
    Done,
}

/// One link's plugin state.
pub struct Session {
    opts: Options,
    state: Option<StateDir>,
    stage: Stage,
    /// The output file, where the working directory and its name are known.
    output: Option<PathBuf>,
    /// Time spent in claim_file, for the debug log.
    claim_time: std::time::Duration,
    /// claim_file calls so far.
    inputs: u32,
    /// A failure that fails the link even without `strict`.
    fatal: bool,
}

impl Session {
    /// Decides from options and environment what this plugin does for this
    /// link. `Ok(None)`: nothing (run=off). An unknown option is an error.
    pub fn start(
        transfer: &Transfer,
        env: impl Fn(&str) -> Option<String>,
        argv: Vec<String>,
        cwd: Option<PathBuf>,
    ) -> Result<(Option<Session>, Options), StartError> {
        let opts = Options::parse(&transfer.options, env).map_err(StartError::Option)?;
        let strict = opts.strict;
        let fail = |m: String| StartError::Failure {
            failure: Failure(m),
            strict,
        };
        if opts.run == RunMode::Off {
            return Ok((None, opts));
        }
        let cwd = cwd
            .ok_or_else(|| fail("cannot determine the working directory".into()))?
            .to_string_lossy()
            .into_owned();
        let state = match &opts.state {
            Some(dir) => {
                StateDir::create(dir).map_err(|e| fail(format!("state directory: {e}")))?
            }
            None => {
                return Err(fail(
                    "run=1 and run=2 need a state directory: -plugin-opt=state=DIR or LDPRUNE_STATE".into(),
                ));
            }
        };
        let output = transfer
            .output_name
            .as_ref()
            .map(|o| std::path::Path::new(&cwd).join(o));
        // run=off returned above: apply or record.
        let stage = if opts.run == RunMode::Apply {
            Stage::Applying(Box::new(Applier::new(
                state.clone(),
                argv,
                cwd,
                transfer.output_name.clone(),
                Linker::of_plugin_host(&transfer.linker),
                opts.strict,
            )))
        } else {
            let host = Linker::of_plugin_host(&transfer.linker);
            // no-slim-lto must know in claim_file whether an input is slim:
            // those links read their inputs there.
            let threaded = !opts.no_slim_lto;
            Stage::Recording(Box::new(Recorder::new(
                LinkInfo {
                    linker: transfer.linker.clone(),
                    output_name: transfer.output_name.clone(),
                    output_kind: transfer.output_kind,
                    real_output: opts.output_as.as_ref().map(|o| RealOutput {
                        path: o.path.clone(),
                        linker: o.linker.unwrap_or(host),
                    }),
                    host,
                    argv,
                    cwd,
                },
                threaded,
            )))
        };
        let session = Session {
            opts: opts.clone(),
            state: Some(state),
            stage,
            output,
            claim_time: std::time::Duration::ZERO,
            inputs: 0,
            fatal: false,
        };
        Ok((Some(session), opts))
    }

    /// A failure fails the link: `strict`, or a fatal one.
    pub fn strict(&self) -> bool {
        self.opts.strict || self.fatal
    }

    /// Recording or applying: not given up, not done.
    fn active(&self) -> bool {
        matches!(self.stage, Stage::Recording(_) | Stage::Applying(_))
    }

    /// The link's output file, if known.
    pub fn output(&self) -> Option<&std::path::Path> {
        self.output.as_deref()
    }

    /// claim_file: Run-1 looks at the input and never claims it; Run-2 may
    /// claim the first relocatable input.
    pub fn claim_file(&mut self, input: &InputFile) -> Result<Claim, Failure> {
        self.inputs += 1;
        if self.active() {
            crate::panics::injected(if self.inputs == 1 {
                "claim_file"
            } else {
                "later_claim_file"
            });
        }
        let t = std::time::Instant::now();
        let claim = match &mut self.stage {
            Stage::Recording(r) => {
                r.add_input(input);
                if self.opts.no_slim_lto
                    && let Some(slim) = r.slim_lto()
                {
                    // Not a plugin fault but a link that would lose code:
                    // fails whatever `strict` says.
                    self.fatal = true;
                    return Err(Failure(format!(
                        "{slim}: slim LTO object in a link without LTO (no-slim-lto): it would add no code"
                    )));
                }
                Claim::No
            }
            Stage::Applying(a) => a.claim_file(input).map_err(|e| Failure(e.to_string()))?,
            _ => Claim::No,
        };
        self.claim_time += t.elapsed();
        Ok(claim)
    }

    /// all_symbols_read: nothing for the session to do (the claimed file
    /// goes back by the interface layer, whatever happens here).
    pub fn all_symbols_read(&mut self) -> Result<(), Failure> {
        if self.active() {
            crate::panics::injected("all_symbols_read");
        }
        Ok(())
    }

    /// ld.bfd did not take Run-2's stub object: the link goes on unchanged.
    pub fn stub_refused(&mut self, why: String) -> Result<(), Failure> {
        match &mut self.stage {
            Stage::Applying(a) => a.stub_refused(why).map_err(|e| Failure(e.to_string())),
            // Given up after the stub was decided (its warning said
            // "applied"): say what became of the link.
            _ => {
                log::warn!("ld.bfd refused the stub object ({why}): the link goes on unchanged");
                Ok(())
            }
        }
    }

    /// cleanup: the output is written (or the link failed). Build and stage
    /// the record.
    pub fn cleanup(&mut self) -> Result<(), Failure> {
        if self.active() {
            crate::panics::injected("cleanup");
        }
        flush_log();
        if let Stage::Applying(a) = &mut self.stage {
            log::debug!("claim_file {:?} in all", self.claim_time);
            // Kept for unload: gold removes a failed link's output later.
            return a
                .cleanup()
                .map_err(|e| Failure(format!("cannot note what Run-2 did: {e}")));
        }
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        if let (Stage::Recording(r), Some(state)) = (stage, &self.state) {
            let t = std::time::Instant::now();
            let finished = r.finish(state);
            // The reading thread's warnings, now that it is done.
            flush_log();
            let finished =
                finished.map_err(|e| Failure(format!("cannot record this link: {e}")))?;
            let pending = finished
                .stage(state)
                .map_err(|e| Failure(format!("cannot record this link: {e}")))?;
            log::debug!(
                "claim_file {:?}, cleanup {:?}",
                self.claim_time,
                t.elapsed()
            );
            self.stage = Stage::Staged(Box::new(pending));
        }
        Ok(())
    }

    /// The linker exits (ld.bfd's dlclose leaves the plugin loaded, see
    /// build.rs): the output is final, publish the record.
    pub fn unload(&mut self) -> Result<(), Failure> {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        if let Stage::Applying(mut a) = stage {
            a.unload();
            return Ok(());
        }
        if let (Stage::Staged(p), Some(state)) = (stage, &self.state) {
            p.publish(state)
                .map_err(|e| Failure(format!("cannot record this link: {e}")))?;
        }
        Ok(())
    }

    /// Stops all work for this link (after a reported failure).
    pub fn disable(&mut self) {
        self.stage = Stage::Done;
    }
}

/// Forwards `log` records to a sink (the linker's message callback). The
/// linker's callbacks are not thread-safe: a record logged on one of the
/// plugin's threads waits until the linker's thread logs or calls
/// [`flush_log`].
struct Logger {
    sink: fn(log::Level, &str),
    /// The thread that loaded the plugin: the linker's.
    linker_thread: std::thread::ThreadId,
    waiting: std::sync::Mutex<Vec<(log::Level, String)>>,
}

impl Logger {
    fn flush(&self) {
        let waiting = match self.waiting.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(_) => return,
        };
        for (level, text) in waiting {
            (self.sink)(level, &text);
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = format!("ldprune: {}", record.args());
        if std::thread::current().id() == self.linker_thread {
            self.flush();
            (self.sink)(record.level(), &text);
        } else if let Ok(mut w) = self.waiting.lock() {
            w.push((record.level(), text));
        }
    }

    fn flush(&self) {
        if std::thread::current().id() == self.linker_thread {
            Logger::flush(self);
        }
    }
}

static LOGGER: std::sync::OnceLock<Logger> = std::sync::OnceLock::new();

/// Installs the logger; call from the linker's thread (onload).
fn install_logger(sink: fn(log::Level, &str), level: log::LevelFilter) {
    let logger = LOGGER.get_or_init(|| Logger {
        sink,
        linker_thread: std::thread::current().id(),
        waiting: std::sync::Mutex::new(Vec::new()),
    });
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// Prints what the plugin's threads logged (on the linker's thread).
fn flush_log() {
    log::logger().flush();
}

#[cfg(test)]
mod tests {
    use super::Logger;
    use log::Log;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn sink(_: log::Level, text: &str) {
        SEEN.lock().unwrap().push(text.to_string());
    }

    fn warn(logger: &Logger, text: &str) {
        logger.log(
            &log::Record::builder()
                .level(log::Level::Warn)
                .args(format_args!("{text}"))
                .build(),
        );
    }

    /// The linker's message callback is not thread-safe: what the reading
    /// thread logs reaches it from the linker's thread, in order.
    #[test]
    fn other_threads_log_through_the_linkers_thread() {
        log::set_max_level(log::LevelFilter::Warn);
        let logger = Logger {
            sink,
            linker_thread: std::thread::current().id(),
            waiting: Mutex::new(Vec::new()),
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                warn(&logger, "from the thread");
                assert!(
                    SEEN.lock().unwrap().is_empty(),
                    "printed off the linker's thread"
                );
            });
        });
        warn(&logger, "from the linker");
        assert_eq!(
            *SEEN.lock().unwrap(),
            ["ldprune: from the thread", "ldprune: from the linker"]
        );
        std::thread::scope(|s| {
            s.spawn(|| warn(&logger, "late"));
        });
        Log::flush(&logger);
        assert_eq!(SEEN.lock().unwrap().last().unwrap(), "ldprune: late");
    }
}
