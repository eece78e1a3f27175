//! Plugin options: `-plugin-opt=run=1|2|off`, `state=DIR`, `strict`,
//! `log=LEVEL`, with LDPRUNE_RUN / LDPRUNE_STATE / LDPRUNE_LOG /
//! LDPRUNE_STRICT as fallbacks. An option given to the plugin wins.

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

/// Parses the plugin's options; `env` looks up environment variables.
pub fn parse(opts: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Options, String> {
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
        match (key, value) {
            ("run", Some(v)) => {
                run = Some(run_mode(v).map_err(|e| format!("option {opt:?}: {e}"))?)
            }
            ("state", Some(v)) if !v.is_empty() => state = Some(PathBuf::from(v)),
            ("strict", None) => strict = Some(true),
            ("no-slim-lto", None) => no_slim_lto = true,
            ("output-as", Some(v)) if !v.is_empty() => output_as = Some(v.to_string()),
            ("output-linker", Some(v)) => {
                output_linker = Some(Linker::of_name(v).ok_or_else(|| {
                    format!("option {opt:?}: the linker must be lld, mold, bfd or gold")
                })?)
            }
            ("log", Some(v)) => log = Some((level(v), format!("option {opt:?}"))),
            _ => return Err(format!("unknown option {opt:?}; valid options: {VALID}")),
        }
    }
    if output_linker.is_some() && output_as.is_none() {
        return Err("option output-linker= needs output-as=PATH".to_string());
    }
    let output_as = output_as.map(|path| OutputAs {
        path,
        linker: output_linker,
    });
    let run = match run {
        Some(r) => r,
        None => match env("LDPRUNE_RUN") {
            Some(v) => run_mode(&v).map_err(|e| format!("LDPRUNE_RUN={v:?}: {e}"))?,
            None => RunMode::Off,
        },
    };
    let strict = match strict {
        Some(s) => s,
        None => match env("LDPRUNE_STRICT") {
            Some(v) => strict_value(&v).map_err(|e| format!("LDPRUNE_STRICT={v:?}: {e}"))?,
            None => false,
        },
    };
    let mut warnings = Vec::new();
    let log = match log
        .or_else(|| env("LDPRUNE_LOG").map(|v| (level(&v), format!("LDPRUNE_LOG={v:?}"))))
    {
        Some((Ok(l), _)) => l,
        Some((Err(e), what)) => {
            warnings.push(format!("{what}: {e}; using warn"));
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

const DEFAULT_LOG: log::LevelFilter = log::LevelFilter::Warn;

/// LDPRUNE_STRICT: exactly "1", or "0" / empty for off (as the wrappers).
pub fn strict_value(v: &str) -> Result<bool, String> {
    match v {
        "1" => Ok(true),
        "0" | "" => Ok(false),
        _ => Err("strict must be 1, 0 or empty".to_string()),
    }
}

/// LDPRUNE_RUN and run=: exactly 1, 2, off, 0 or empty (as the wrappers).
pub fn run_mode(v: &str) -> Result<RunMode, String> {
    match v {
        "1" => Ok(RunMode::Record),
        "2" => Ok(RunMode::Apply),
        "off" | "0" | "" => Ok(RunMode::Off),
        _ => Err("run must be 1, 2 or off".to_string()),
    }
}

fn level(v: &str) -> Result<log::LevelFilter, String> {
    v.parse()
        .map_err(|_| "log level must be off, error, warn, info, debug or trace".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_env() {
        let o = parse(&opts(&["run=1", "state=/s", "strict"]), |_| None).unwrap();
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
        let o = parse(&[], env).unwrap();
        assert_eq!(o.run, RunMode::Apply);
        assert_eq!(o.state.as_deref(), Some("/e".as_ref()));
        assert_eq!(o.log, log::LevelFilter::Debug);
        let o = parse(&opts(&["run=off", "state=/o"]), env).unwrap();
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
        let o = parse(&opts(&["run=off"]), env(&[("LDPRUNE_LOG", "verbose")])).unwrap();
        assert_eq!(o.log, DEFAULT_LOG);
        assert!(
            o.warnings[0].contains("LDPRUNE_LOG=\"verbose\""),
            "{:?}",
            o.warnings
        );
        let o = parse(&opts(&["log=loud"]), |_| None).unwrap();
        assert_eq!((o.log, o.warnings.len()), (DEFAULT_LOG, 1));
        // Strict and run take exactly the documented values.
        let e = parse(&[], env(&[("LDPRUNE_STRICT", "yes")])).unwrap_err();
        assert!(e.contains("LDPRUNE_STRICT=\"yes\""), "{e}");
        assert!(parse(&[], env(&[("LDPRUNE_STRICT", "1")])).unwrap().strict);
        assert!(!parse(&[], env(&[("LDPRUNE_STRICT", "0")])).unwrap().strict);
        assert!(parse(&[], env(&[("LDPRUNE_RUN", "yes")])).is_err());
        // A relative state directory is accepted, with a warning.
        let o = parse(&opts(&["run=1", "state=st"]), |_| None).unwrap();
        assert!(
            o.warnings.iter().any(|w| w.contains("relative")),
            "{:?}",
            o.warnings
        );
    }

    #[test]
    fn unknown_option_names_it_and_lists_valid_ones() {
        let e = parse(&opts(&["stat=/x"]), |_| None).unwrap_err();
        assert!(
            e.contains("\"stat=/x\"") && e.contains("state=DIR") && e.contains("run=1|2|off"),
            "{e}"
        );
        assert!(
            parse(&opts(&["run=3"]), |_| None)
                .unwrap_err()
                .contains("run must be")
        );
    }

    #[test]
    fn output_as_and_its_linker() {
        let o = parse(
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
        let e = parse(&opts(&["output-as=x", "output-linker=link.exe"]), |_| None).unwrap_err();
        assert!(e.contains("lld, mold"), "{e}");
        let e = parse(&opts(&["output-linker=mold"]), |_| None).unwrap_err();
        assert!(e.contains("needs output-as"), "{e}");
    }
}
