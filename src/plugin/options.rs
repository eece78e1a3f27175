//! Plugin options: `-plugin-opt=run=1|2|off`, `state=DIR`, `strict`,
//! `log=LEVEL`, with LDPRUNE_RUN / LDPRUNE_STATE / LDPRUNE_LOG /
//! LDPRUNE_STRICT as fallbacks. An option given to the plugin wins.

use std::path::PathBuf;

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
    pub log: log::LevelFilter,
}

pub const VALID: &str = "run=1|2|off, state=DIR, strict, log=off|error|warn|info|debug|trace";

/// Parses the plugin's options; `env` looks up environment variables.
pub fn parse(opts: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Options, String> {
    let mut run = None;
    let mut state = None;
    let mut strict = None;
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
            ("log", Some(v)) => log = Some(level(v).map_err(|e| format!("option {opt:?}: {e}"))?),
            _ => return Err(format!("unknown option {opt:?}; valid options: {VALID}")),
        }
    }
    let run = match run {
        Some(r) => r,
        None => match env("LDPRUNE_RUN") {
            Some(v) => run_mode(&v).map_err(|e| format!("LDPRUNE_RUN={v:?}: {e}"))?,
            None => RunMode::Off,
        },
    };
    let log = match log {
        Some(l) => l,
        None => match env("LDPRUNE_LOG") {
            Some(v) => level(&v).map_err(|e| format!("LDPRUNE_LOG={v:?}: {e}"))?,
            None => log::LevelFilter::Warn,
        },
    };
    Ok(Options {
        run,
        state: state.or_else(|| {
            env("LDPRUNE_STATE")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        }),
        strict: strict.unwrap_or_else(|| env("LDPRUNE_STRICT").is_some_and(|v| v == "1")),
        log,
    })
}

fn run_mode(v: &str) -> Result<RunMode, String> {
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
}
