//! Plugin options: `-plugin-opt=run=1|2|off`, `state=DIR`, `strict`,
//! `log=LEVEL`, with LDPRUNE_RUN / LDPRUNE_STATE / LDPRUNE_LOG /
//! LDPRUNE_STRICT as fallbacks. An option given to the plugin wins.

use std::fmt;
use std::path::PathBuf;

use crate::state::record::Linker;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    Off,
    /// Run-1: record.
    Record,
    /// Run-2: apply decisions.
    Apply,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub run: RunMode,
    pub state: Option<PathBuf>,
    pub strict: bool,
    /// `no-slim-lto`: a slim LTO object fails a Run-1 link. The wrappers
    /// link fat LTO objects without LTO in Run-1; a slim one (compiled
    /// outside them) would silently add nothing, so they link again with LTO.
    pub no_slim_lto: bool,
    /// `output-as=PATH` and `output-linker=NAME` (Run-1): this link writes
    /// a scratch file for the record; the build's own linker (lld, mold)
    /// has written the real output, PATH. The record carries PATH as its
    /// output (identity and directory), its sizes and build-id.
    pub output_as: Option<OutputAs>,
    pub log: log::LevelFilter,
    /// Things to warn about once the logger is up: a log setting never
    /// fails a link, a bad one is named and the default used.
    pub warnings: Vec<String>,
}

/// The real output a recording link stands for (see [`Options::output_as`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputAs {
    /// `-o` of the real link, as given (relative to the link's directory).
    pub path: String,
    /// The linker that wrote it (`output-linker=`; default: this one).
    pub linker: Option<Linker>,
}

pub const VALID: &str = "run=1|2|off, state=DIR, strict, no-slim-lto, output-as=PATH, output-linker=lld|mold|bfd|gold, log=off|error|warn|info|debug|trace";

/// What is wrong with the plugin's options or their environment
/// variables. A wrong value is the user's error and fails the link; only a
/// log setting falls back (it lands in [`Options::warnings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionError {
    /// An option the plugin does not know, or a known one with a value
    /// missing or where none belongs (`strict=1`, `state=`).
    Unknown { option: String },
    /// A known option or variable with a value it does not take.
    Invalid { setting: Setting, value: BadValue },
    /// `output-linker=` without the `output-as=` it qualifies.
    LinkerWithoutOutput,
}

/// Where a value came from, as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `-plugin-opt=OPTION`, the whole option.
    Option(String),
    /// An environment variable and its value.
    Env { name: &'static str, value: String },
}

/// Which setting's value is wrong; its Display says what it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadValue {
    Run,
    Strict,
    Linker,
    LogLevel,
}

impl Setting {
    fn env(name: &'static str, value: &str) -> Self {
        Setting::Env {
            name,
            value: value.to_string(),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Option(opt) => write!(f, "option {opt:?}"),
            Setting::Env { name, value } => write!(f, "{name}={value:?}"),
        }
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadValue::Run => "run must be 1, 2 or off",
            BadValue::Strict => "strict must be 1, 0 or empty",
            BadValue::Linker => "the linker must be lld, mold, bfd or gold",
            BadValue::LogLevel => "log level must be off, error, warn, info, debug or trace",
        })
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown { option } => {
                write!(f, "unknown option {option:?}; valid options: {VALID}")
            }
            OptionError::Invalid { setting, value } => write!(f, "{setting}: {value}"),
            OptionError::LinkerWithoutOutput => {
                f.write_str("option output-linker= needs output-as=PATH")
            }
        }
    }
}

impl std::error::Error for OptionError {}

impl Options {
    /// Parses the plugin's options; `env` looks up environment variables.
    pub fn parse(
        opts: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Options, OptionError> {
        let mut run = None;
        let mut state = None;
        let mut strict = None;
        let mut no_slim_lto = false;
        let mut output_as = None;
        let mut output_linker = None;
        let mut log = None;
        for opt in opts {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            };
            let invalid = |value| OptionError::Invalid {
                setting: Setting::Option(opt.clone()),
                value,
            };
            match (key, value) {
                ("run", Some(v)) => run = Some(run_mode(v).map_err(invalid)?),
                ("state", Some(v)) if !v.is_empty() => state = Some(PathBuf::from(v)),
                ("strict", None) => strict = Some(true),
                ("no-slim-lto", None) => no_slim_lto = true,
                ("output-as", Some(v)) if !v.is_empty() => output_as = Some(v.to_string()),
                ("output-linker", Some(v)) => {
                    output_linker = Some(Linker::of_name(v).ok_or(invalid(BadValue::Linker))?)
                }
                ("log", Some(v)) => log = Some((level(v), Setting::Option(opt.clone()))),
                _ => {
                    return Err(OptionError::Unknown {
                        option: opt.clone(),
                    });
                }
            }
        }
        if output_linker.is_some() && output_as.is_none() {
            return Err(OptionError::LinkerWithoutOutput);
        }
        let output_as = output_as.map(|path| OutputAs {
            path,
            linker: output_linker,
        });
        let run = match run {
            Some(r) => r,
            None => from_env("LDPRUNE_RUN", env("LDPRUNE_RUN"), run_mode)?.unwrap_or(RunMode::Off),
        };
        let strict = match strict {
            Some(s) => s,
            None => strict_env(env("LDPRUNE_STRICT"))?,
        };
        let mut warnings = Vec::new();
        let log = match log
            .or_else(|| env("LDPRUNE_LOG").map(|v| (level(&v), Setting::env("LDPRUNE_LOG", &v))))
        {
            Some((Ok(l), _)) => l,
            Some((Err(value), setting)) => {
                let e = OptionError::Invalid { setting, value };
                warnings.push(format!("{e}; using warn"));
                DEFAULT_LOG
            }
            None => DEFAULT_LOG,
        };
        let state = state.or_else(|| {
            env("LDPRUNE_STATE")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        });
        if let Some(s) = state.as_ref().filter(|s| s.is_relative()) {
            // Each link resolves it in its own directory: a recursive make
            // splits the state into one directory per subdirectory.
            warnings.push(format!(
                "state directory {:?} is relative: each link directory gets its own; give an absolute path",
                s.display()
            ));
        }
        Ok(Options {
            run,
            state,
            strict,
            no_slim_lto,
            output_as,
            log,
            warnings,
        })
    }
}

const DEFAULT_LOG: log::LevelFilter = log::LevelFilter::Warn;

/// LDPRUNE_STRICT: exactly "1", or "0" / empty for off (as the wrappers).
pub fn strict_value(v: &str) -> Result<bool, BadValue> {
    match v {
        "1" => Ok(true),
        "0" | "" => Ok(false),
        _ => Err(BadValue::Strict),
    }
}

/// [`strict_value`] of the variable LDPRUNE_STRICT (`None`: unset), with
/// the error naming it.
pub fn strict_env(value: Option<String>) -> Result<bool, OptionError> {
    Ok(from_env("LDPRUNE_STRICT", value, strict_value)?.unwrap_or(false))
}

/// The variable `name`'s `value` (`None`: unset) as `check` reads it.
fn from_env<T>(
    name: &'static str,
    value: Option<String>,
    check: fn(&str) -> Result<T, BadValue>,
) -> Result<Option<T>, OptionError> {
    value
        .map(|v| {
            check(&v).map_err(|value| OptionError::Invalid {
                setting: Setting::Env { name, value: v },
                value,
            })
        })
        .transpose()
}

/// LDPRUNE_RUN and run=: exactly 1, 2, off, 0 or empty (as the wrappers).
pub fn run_mode(v: &str) -> Result<RunMode, BadValue> {
    match v {
        "1" => Ok(RunMode::Record),
        "2" => Ok(RunMode::Apply),
        "off" | "0" | "" => Ok(RunMode::Off),
        _ => Err(BadValue::Run),
    }
}

fn level(v: &str) -> Result<log::LevelFilter, BadValue> {
    v.parse().map_err(|_| BadValue::LogLevel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_env() {
        let o = Options::parse(&opts(&["run=1", "state=/s", "strict"]), |_| None).unwrap();
        assert_eq!(
            (o.run, o.state.as_deref(), o.strict),
            (RunMode::Record, Some("/s".as_ref()), true)
        );
        let env = |k: &str| match k {
            "LDPRUNE_RUN" => Some("2".to_string()),
            "LDPRUNE_STATE" => Some("/e".to_string()),
            "LDPRUNE_LOG" => Some("debug".to_string()),
            _ => None,
        };
        let o = Options::parse(&[], env).unwrap();
        assert_eq!(o.run, RunMode::Apply);
        assert_eq!(o.state.as_deref(), Some("/e".as_ref()));
        assert_eq!(o.log, log::LevelFilter::Debug);
        let o = Options::parse(&opts(&["run=off", "state=/o"]), env).unwrap();
        assert_eq!(
            (o.run, o.state.as_deref()),
            (RunMode::Off, Some("/o".as_ref()))
        );
    }

    #[test]
    fn environment_values_are_exact() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        // A log setting never fails a link.
        let o = Options::parse(&opts(&["run=off"]), env(&[("LDPRUNE_LOG", "verbose")])).unwrap();
        assert_eq!(o.log, DEFAULT_LOG);
        assert!(
            o.warnings[0].contains("LDPRUNE_LOG=\"verbose\""),
            "{:?}",
            o.warnings
        );
        let o = Options::parse(&opts(&["log=loud"]), |_| None).unwrap();
        assert_eq!((o.log, o.warnings.len()), (DEFAULT_LOG, 1));
        // Strict and run take exactly the documented values.
        let e = Options::parse(&[], env(&[("LDPRUNE_STRICT", "yes")])).unwrap_err();
        assert_eq!(
            e,
            OptionError::Invalid {
                setting: Setting::env("LDPRUNE_STRICT", "yes"),
                value: BadValue::Strict
            }
        );
        assert_eq!(
            e.to_string(),
            "LDPRUNE_STRICT=\"yes\": strict must be 1, 0 or empty"
        );
        assert!(
            Options::parse(&[], env(&[("LDPRUNE_STRICT", "1")]))
                .unwrap()
                .strict
        );
        assert!(
            !Options::parse(&[], env(&[("LDPRUNE_STRICT", "0")]))
                .unwrap()
                .strict
        );
        assert!(matches!(
            Options::parse(&[], env(&[("LDPRUNE_RUN", "yes")])),
            Err(OptionError::Invalid {
                value: BadValue::Run,
                ..
            })
        ));
        // A relative state directory is accepted, with a warning.
        let o = Options::parse(&opts(&["run=1", "state=st"]), |_| None).unwrap();
        assert!(
            o.warnings.iter().any(|w| w.contains("relative")),
            "{:?}",
            o.warnings
        );
    }

    #[test]
    fn unknown_option_names_it_and_lists_valid_ones() {
        let e = Options::parse(&opts(&["stat=/x"]), |_| None).unwrap_err();
        assert_eq!(
            e,
            OptionError::Unknown {
                option: "stat=/x".into()
            }
        );
        let e = e.to_string();
        assert!(
            e.contains("\"stat=/x\"") && e.contains("state=DIR") && e.contains("run=1|2|off"),
            "{e}"
        );
        assert_eq!(
            Options::parse(&opts(&["run=3"]), |_| None)
                .unwrap_err()
                .to_string(),
            "option \"run=3\": run must be 1, 2 or off"
        );
    }

    #[test]
    fn output_as_and_its_linker() {
        let o = Options::parse(
            &opts(&["run=1", "output-as=lib/libx.so", "output-linker=lld"]),
            |_| None,
        )
        .unwrap();
        assert_eq!(
            o.output_as,
            Some(OutputAs {
                path: "lib/libx.so".into(),
                linker: Some(Linker::Lld)
            })
        );
        let e = Options::parse(&opts(&["output-as=x", "output-linker=link.exe"]), |_| None)
            .unwrap_err();
        assert!(e.to_string().contains("lld, mold"), "{e}");
        assert_eq!(
            Options::parse(&opts(&["output-linker=mold"]), |_| None),
            Err(OptionError::LinkerWithoutOutput)
        );
        // The text the plugin's start reports.
        let e = Options::parse(&opts(&["output-linker=mold"]), |_| None).unwrap_err();
        assert!(e.to_string().contains("needs output-as"), "{e}");
    }
}
