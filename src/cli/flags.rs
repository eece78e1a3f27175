//! `ldprune flags`: the compiler and linker flags and the environment that
//! put a build through Run-1 or Run-2, in the form a build system takes
//! (sh, make, rpmbuild options, dpkg-buildflags' environment, or one bare
//! line).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::state::{StateDir, StateError, decisions};

#[derive(clap::Args)]
pub struct Args {
    /// 1: record every link (Run-1); 2: apply the merge's decisions (Run-2).
    #[arg(long, value_enum)]
    run: Run,
    /// The state directory (made absolute; created if missing).
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// shell: `export` lines for sh; make: lines for a makefile; rpm: the
    /// `--define` options for rpmbuild (for `eval`, with the macros file
    /// macros.ldprune loaded); dpkg: `export` lines of DEB_<FLAG>_APPEND for
    /// dpkg-buildflags (dpkg-buildpackage, debhelper) and the environment;
    /// cflags, ldflags: one bare line.
    #[arg(long, value_enum, default_value = "shell")]
    format: Format,
    /// The linker plugin (default: installed next to this ldprune).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Print JSON instead: the flags as lists of words, the environment,
    /// and the wrappers' directory (null when not installed).
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Run {
    #[value(name = "1")]
    Record,
    #[value(name = "2")]
    Apply,
}

impl Run {
    fn number(self) -> u8 {
        match self {
            Run::Record => 1,
            Run::Apply => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Shell,
    Make,
    Rpm,
    Dpkg,
    Cflags,
    Ldflags,
}

/// The dpkg-buildflags flags that get the compiler flags: the compilers
/// of GCC's C family and Fortran (`-ffunction-sections`, `-fdata-sections`
/// and `-ffat-lto-objects` are common options). Not CPPFLAGS or ASFLAGS
/// (no code generation), not DFLAGS (ldc spells them otherwise), not
/// GCJFLAGS (gcj is gone).
const DPKG_COMPILE_FLAGS: &[&str] = &[
    "CFLAGS",
    "CXXFLAGS",
    "OBJCFLAGS",
    "OBJCXXFLAGS",
    "FFLAGS",
    "FCFLAGS",
];

/// Where the installed pieces are, found from the ldprune executable:
/// `PREFIX/bin/ldprune` next to `PREFIX/lib/ldprune/...`, or the cargo
/// target directory (plugin next to the executable, nothing else).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub plugin: Option<PathBuf>,
    /// `PREFIX/lib/ldprune` when the plugin is installed there.
    pub libdir: Option<PathBuf>,
    /// `PREFIX/lib/ldprune/wrappers`, if that directory exists.
    pub wrappers: Option<PathBuf>,
    /// `PREFIX/lib/rpm/macros.d/macros.ldprune`, if that file exists.
    pub rpm_macros: Option<PathBuf>,
    /// Where the plugin was looked for, for the error message.
    pub searched: Vec<PathBuf>,
}

impl Layout {
    pub fn find(exe_dir: &Path) -> Layout {
        let mut layout = Layout::default();
        let prefix = exe_dir.parent();
        if let Some(prefix) = prefix {
            let libdir = prefix.join("lib/ldprune");
            let plugin = libdir.join("libldprune.so");
            layout.searched.push(plugin.clone());
            if plugin.is_file() {
                layout.plugin = Some(plugin);
                layout.libdir = Some(libdir.clone());
            }
            let wrappers = libdir.join("wrappers");
            if wrappers.is_dir() {
                layout.wrappers = Some(wrappers);
            }
            let macros = prefix.join("lib/rpm/macros.d/macros.ldprune");
            if macros.is_file() {
                layout.rpm_macros = Some(macros);
            }
        }
        if layout.plugin.is_none() {
            let plugin = exe_dir.join("libldprune.so");
            layout.searched.push(plugin.clone());
            if plugin.is_file() {
                layout.plugin = Some(plugin);
            }
        }
        layout
    }
}

/// Everything the formats print, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    pub run: Run,
    /// Absolute.
    pub state: PathBuf,
    /// Absolute.
    pub plugin: PathBuf,
    pub layout: Layout,
}

impl Flags {
    /// CFLAGS and CXXFLAGS. A build that asks for LTO keeps it; with
    /// `-ffat-lto-objects` its objects carry machine code beside the IR, so
    /// both runs compile the same objects and Run-1 can read their code
    /// (without `-flto` GCC ignores it). A build system that adds
    /// `-fno-fat-lto-objects` after CFLAGS (CMake's IPO) gets slim objects:
    /// its links are recorded incomplete and stay unchanged, never broken.
    pub fn cflags(&self) -> Vec<String> {
        [
            "-ffunction-sections",
            "-fdata-sections",
            "-ffat-lto-objects",
        ]
        .map(String::from)
        .to_vec()
    }

    /// LDFLAGS. No `-fno-lto`: a build system may put LDFLAGS after its own
    /// `-flto` at link time but before it at compile time (CMake), and a
    /// link without LTO over slim objects silently adds none of their code.
    /// The section flags again: GCC's LTO output has function sections only
    /// if the link command asks (it does not take them from the compiles),
    /// and without them `--gc-sections` keeps the code of names Run-2 hid
    /// in an LTO link; a link without LTO ignores them.
    pub fn ldflags(&self) -> Vec<String> {
        vec![
            "-ffunction-sections".to_string(),
            "-fdata-sections".to_string(),
            "-Wl,--gc-sections".to_string(),
            format!("-Wl,-plugin,{}", self.plugin.display()),
            format!("-Wl,-plugin-opt=run={}", self.run.number()),
            format!("-Wl,-plugin-opt=state={}", self.state.display()),
        ]
    }

    /// The environment the wrappers and the plugin read (PATH apart).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LDPRUNE_RUN", self.run.number().to_string()),
            ("LDPRUNE_STATE", self.state.display().to_string()),
            ("LDPRUNE_PLUGIN", self.plugin.display().to_string()),
        ]
    }

    /// `export` lines for sh: [`Flags::env`], and PATH with the wrappers
    /// first when they are installed.
    fn sh_env(&self, out: &mut String) {
        for (var, value) in self.env() {
            let _ = writeln!(out, "export {var}={}", sh_quote(&value));
        }
        if let Some(w) = &self.layout.wrappers {
            let dir = w.display().to_string();
            let _ = writeln!(out, "export PATH={}\"${{PATH:+:$PATH}}\"", sh_quote(&dir));
        }
    }

    /// `--json`: the words of each flag variable, the environment, and
    /// the directory to put first in PATH.
    pub fn json(&self) -> serde_json::Value {
        let env: serde_json::Map<String, serde_json::Value> = self
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        serde_json::json!({
            "run": self.run.number(),
            "cflags": self.cflags(),
            "cxxflags": self.cflags(),
            "ldflags": self.ldflags(),
            "env": env,
            "path_first": self.layout.wrappers,
        })
    }

    pub fn render(&self, format: Format) -> String {
        let cflags = self.cflags().join(" ");
        let ldflags = self.ldflags().join(" ");
        let mut out = String::new();
        match format {
            Format::Cflags => out = cflags + "\n",
            Format::Ldflags => out = ldflags + "\n",
            Format::Shell => {
                for (var, value) in [
                    ("CFLAGS", &cflags),
                    ("CXXFLAGS", &cflags),
                    ("LDFLAGS", &ldflags),
                ] {
                    let _ = writeln!(out, "export {var}={}", sh_quote(value));
                }
                self.sh_env(&mut out);
            }
            Format::Dpkg => {
                // dpkg-buildflags appends these to the vendor's flags, the
                // hardening flags included, and debhelper exports the
                // result as CFLAGS, LDFLAGS... (unless they are already
                // in the environment). Replaced, not added to: a second
                // eval for Run-2 must not keep Run-1's plugin options.
                for var in DPKG_COMPILE_FLAGS {
                    let _ = writeln!(out, "export DEB_{var}_APPEND={}", sh_quote(&cflags));
                }
                let _ = writeln!(out, "export DEB_LDFLAGS_APPEND={}", sh_quote(&ldflags));
                self.sh_env(&mut out);
                // Run-2 hides exports a debian/*.symbols file lists, which
                // dpkg-gensymbols (dh_makeshlibs) fails at its default
                // check level 1; at 0 it prints the difference and goes on.
                if self.run == Run::Apply {
                    let _ = writeln!(out, "export DPKG_GENSYMBOLS_CHECK_LEVEL=0");
                }
            }
            Format::Make => {
                // The flags reach a shell through recipes; the environment
                // variables reach the programs as they are.
                for (var, value) in [
                    ("CFLAGS", &cflags),
                    ("CXXFLAGS", &cflags),
                    ("LDFLAGS", &ldflags),
                ] {
                    let _ = writeln!(out, "{var} = {}", make_escape(value));
                }
                for (var, value) in self.env() {
                    let _ = writeln!(out, "export {var} = {}", make_escape(&value));
                }
                if let Some(w) = &self.layout.wrappers {
                    let dir = make_escape(&w.display().to_string());
                    let _ = writeln!(out, "export PATH := {dir}:$(PATH)");
                }
            }
            Format::Rpm => {
                let mut defines = vec![
                    ("_ldprune_run", self.run.number().to_string()),
                    ("_ldprune_state", self.state.display().to_string()),
                    ("_ldprune_plugin", self.plugin.display().to_string()),
                ];
                if let Some(libdir) = &self.layout.libdir {
                    defines.push(("_ldprune_libdir", libdir.display().to_string()));
                }
                let mut words = Vec::new();
                // rpm reads PREFIX/lib/rpm/macros.d only for PREFIX=/usr.
                if let Some(m) = &self.layout.rpm_macros
                    && !m.starts_with("/usr/lib/rpm/")
                {
                    words.push(format!("--load={}", sh_quote(&m.display().to_string())));
                }
                for (name, value) in defines {
                    // A macro body expands `%`; `%%` is a literal one.
                    let def = format!("{name} {}", value.replace('%', "%%"));
                    words.push(format!("--define={}", sh_quote(&def)));
                }
                out = words.join(" ") + "\n";
            }
        }
        out
    }
}

/// `s` as one sh word.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-+=:,./@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `s` as the value of a make variable: `$` is make's, `#` starts a comment.
fn make_escape(s: &str) -> String {
    s.replace('$', "$$").replace('#', "\\#")
}

/// Why no flags can be given: the plugin or the state directory.
#[derive(Debug)]
pub enum FlagsError {
    /// `--plugin` cannot be made absolute, or is not a file.
    Plugin {
        path: PathBuf,
        error: Option<std::io::Error>,
    },
    /// No `--plugin`, and none installed where one was looked for.
    NoPlugin { searched: Vec<PathBuf> },
    /// A path the flags would carry that build systems would split.
    Path { what: &'static str, path: BadPath },
    /// The state directory cannot be made absolute or resolved.
    StatePath {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The state directory cannot be created or used.
    State(StateError),
    /// `current_exe` failed: the installed plugin cannot be looked for.
    NoExecutable(std::io::Error),
}

/// What is wrong with a path that goes into flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadPath {
    NotUtf8(PathBuf),
    /// The path and its first character outside `._-+/@=:~` and
    /// letters and digits.
    Splits(String, char),
}

impl std::fmt::Display for FlagsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlagsError::Plugin {
                path,
                error: Some(e),
            } => write!(f, "--plugin {}: {e}", path.display()),
            FlagsError::Plugin { path, error: None } => {
                write!(f, "--plugin {}: no such file", path.display())
            }
            FlagsError::NoPlugin { searched } => {
                let searched: Vec<String> =
                    searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "cannot find the linker plugin: none of {} exists; give it with --plugin PATH",
                    searched.join(", ")
                )
            }
            FlagsError::Path {
                what,
                path: BadPath::NotUtf8(path),
            } => write!(f, "{what} {}: not valid UTF-8", path.display()),
            FlagsError::Path {
                what,
                path: BadPath::Splits(text, c),
            } => write!(
                f,
                "{what} {text}: contains {c:?}, which build systems split or interpret \
                 when they pass flags on; use a path of letters, digits and ._-+/@=:~"
            ),
            FlagsError::StatePath { path, error } => {
                write!(f, "state directory {}: {error}", path.display())
            }
            FlagsError::State(e) => write!(f, "state directory {e}"),
            FlagsError::NoExecutable(e) => {
                write!(f, "cannot find the ldprune executable's path: {e}")
            }
        }
    }
}

impl std::error::Error for FlagsError {}

/// A path that goes into flags: gcc splits `-Wl,` arguments at commas, and
/// build systems split CFLAGS/LDFLAGS at blanks and hand them to shells
/// and make unquoted, so only plain characters are safe there.
fn check_flag_path(what: &'static str, path: &Path) -> Result<(), FlagsError> {
    let bad = |path| FlagsError::Path { what, path };
    let text = path
        .to_str()
        .ok_or_else(|| bad(BadPath::NotUtf8(path.to_path_buf())))?;
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_alphanumeric() || "._-+/@=:~".contains(*c)))
    {
        return Err(bad(BadPath::Splits(text.to_string(), c)));
    }
    Ok(())
}

/// Resolves the plugin and the state directory (creating it) into
/// [`Flags`]; `layout` is what was found next to the executable.
pub fn resolve(
    run: Run,
    state: &Path,
    plugin: Option<&Path>,
    layout: Layout,
) -> Result<Flags, FlagsError> {
    let plugin = match plugin {
        Some(p) => {
            let abs = std::path::absolute(p).map_err(|e| FlagsError::Plugin {
                path: p.to_path_buf(),
                error: Some(e),
            })?;
            if !abs.is_file() {
                return Err(FlagsError::Plugin {
                    path: abs,
                    error: None,
                });
            }
            abs
        }
        None => layout.plugin.clone().ok_or_else(|| FlagsError::NoPlugin {
            searched: layout.searched.clone(),
        })?,
    };
    check_flag_path("plugin", &plugin)?;
    // Checked before it is created, and again once symbolic links are resolved.
    let state_path = |error| FlagsError::StatePath {
        path: state.to_path_buf(),
        error,
    };
    let given = std::path::absolute(state).map_err(state_path)?;
    check_flag_path("state directory", &given)?;
    let dir = StateDir::create(&given).map_err(FlagsError::State)?;
    let state = dir.root().canonicalize().map_err(state_path)?;
    check_flag_path("state directory", &state)?;
    Ok(Flags {
        run,
        state,
        plugin,
        layout,
    })
}

pub fn run(args: &Args) -> Result<i32, super::Error> {
    let exe = std::env::current_exe().map_err(FlagsError::NoExecutable)?;
    let layout = match exe.parent() {
        Some(dir) => Layout::find(dir),
        None => Layout::default(),
    };
    let flags = resolve(args.run, &args.state, args.plugin.as_deref(), layout)?;
    if args.run == Run::Apply {
        let dir = StateDir::open(&flags.state)?;
        let d = decisions::path(&dir);
        if !d.is_file() {
            eprintln!(
                "ldprune: warning: {} does not exist yet; Run-2 links stay unchanged \
                 until `ldprune merge --state {}` writes it",
                d.display(),
                flags.state.display()
            );
        }
    }
    if args.json {
        super::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&flags.json()).unwrap_or_default()
        ));
    } else {
        super::print(&flags.render(args.format));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(run: Run, wrappers: bool) -> Flags {
        Flags {
            run,
            state: "/var/tmp/st".into(),
            plugin: "/opt/lp/lib/ldprune/libldprune.so".into(),
            layout: Layout {
                plugin: Some("/opt/lp/lib/ldprune/libldprune.so".into()),
                libdir: Some("/opt/lp/lib/ldprune".into()),
                wrappers: wrappers.then(|| "/opt/lp/lib/ldprune/wrappers".into()),
                rpm_macros: Some("/opt/lp/lib/rpm/macros.d/macros.ldprune".into()),
                searched: Vec::new(),
            },
        }
    }

    #[test]
    fn sh_quoting() {
        assert_eq!(sh_quote("/a/b-c_d.so"), "/a/b-c_d.so");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$HOME"), "'$HOME'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn formats() {
        let f = flags(Run::Record, true);
        assert_eq!(
            f.render(Format::Cflags),
            "-ffunction-sections -fdata-sections -ffat-lto-objects\n"
        );
        assert_eq!(
            f.render(Format::Ldflags),
            "-ffunction-sections -fdata-sections -Wl,--gc-sections \
             -Wl,-plugin,/opt/lp/lib/ldprune/libldprune.so \
             -Wl,-plugin-opt=run=1 -Wl,-plugin-opt=state=/var/tmp/st\n"
        );
        let shell = f.render(Format::Shell);
        assert!(
            shell.contains(
                "export CFLAGS='-ffunction-sections -fdata-sections -ffat-lto-objects'\n"
            )
        );
        assert!(shell.contains("export LDPRUNE_RUN=1\n"), "{shell}");
        assert!(shell.contains("export LDPRUNE_STATE=/var/tmp/st\n"));
        assert!(shell.contains("export PATH=/opt/lp/lib/ldprune/wrappers\"${PATH:+:$PATH}\"\n"));
        let make = flags(Run::Apply, false).render(Format::Make);
        assert!(
            make.contains("LDFLAGS = -ffunction-sections -fdata-sections -Wl,--gc-sections "),
            "{make}"
        );
        assert!(make.contains("-Wl,-plugin-opt=run=2 "), "{make}");
        assert!(make.contains("export LDPRUNE_RUN = 2\n"));
        assert!(!make.contains("PATH"), "no wrappers, no PATH: {make}");
        assert_eq!(
            f.render(Format::Rpm),
            "--load=/opt/lp/lib/rpm/macros.d/macros.ldprune \
             --define='_ldprune_run 1' --define='_ldprune_state /var/tmp/st' \
             --define='_ldprune_plugin /opt/lp/lib/ldprune/libldprune.so' \
             --define='_ldprune_libdir /opt/lp/lib/ldprune'\n"
        );
    }

    #[test]
    fn dpkg_format() {
        let cflags = "'-ffunction-sections -fdata-sections -ffat-lto-objects'";
        let ldflags = "'-ffunction-sections -fdata-sections -Wl,--gc-sections \
                       -Wl,-plugin,/opt/lp/lib/ldprune/libldprune.so \
                       -Wl,-plugin-opt=run=1 -Wl,-plugin-opt=state=/var/tmp/st'";
        let mut expected: String = ["C", "CXX", "OBJC", "OBJCXX", "F", "FC"]
            .iter()
            .map(|f| format!("export DEB_{f}FLAGS_APPEND={cflags}\n"))
            .collect();
        expected += &format!(
            "export DEB_LDFLAGS_APPEND={ldflags}\n\
             export LDPRUNE_RUN=1\n\
             export LDPRUNE_STATE=/var/tmp/st\n\
             export LDPRUNE_PLUGIN=/opt/lp/lib/ldprune/libldprune.so\n\
             export PATH=/opt/lp/lib/ldprune/wrappers\"${{PATH:+:$PATH}}\"\n"
        );
        assert_eq!(flags(Run::Record, true).render(Format::Dpkg), expected);
        // Run-2: dpkg-gensymbols reports hidden exports and goes on; no
        // wrappers installed, no PATH.
        let run2 = flags(Run::Apply, false).render(Format::Dpkg);
        assert!(run2.contains("-Wl,-plugin-opt=run=2 "), "{run2}");
        assert!(run2.contains("export LDPRUNE_RUN=2\n"), "{run2}");
        assert!(
            run2.ends_with("export DPKG_GENSYMBOLS_CHECK_LEVEL=0\n"),
            "{run2}"
        );
        assert!(!run2.contains("PATH="), "{run2}");
        assert!(!run2.contains("CPPFLAGS") && !run2.contains("export CFLAGS"));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let e = check_flag_path("plugin", Path::new("/a,b/libldprune.so")).unwrap_err();
        assert!(
            matches!(&e, FlagsError::Path { what: "plugin", path: BadPath::Splits(p, ',') }
                if p == "/a,b/libldprune.so"),
            "{e}"
        );
        let e = e.to_string();
        assert!(e.contains("/a,b/libldprune.so") && e.contains("','"), "{e}");
        assert!(matches!(
            check_flag_path("state directory", Path::new("/a b")),
            Err(FlagsError::Path {
                path: BadPath::Splits(_, ' '),
                ..
            })
        ));
        assert!(check_flag_path("state directory", Path::new("/var/tmp/st-1.x")).is_ok());
    }

    #[test]
    fn layout_installed_and_cargo() {
        let t = tempfile::tempdir().unwrap();
        let prefix = t.path();
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::fs::create_dir_all(prefix.join("lib/ldprune/wrappers")).unwrap();
        assert_eq!(Layout::find(&prefix.join("bin")).plugin, None);
        std::fs::write(prefix.join("bin/libldprune.so"), "").unwrap();
        let cargo = Layout::find(&prefix.join("bin"));
        assert_eq!(cargo.plugin, Some(prefix.join("bin/libldprune.so")));
        assert_eq!(cargo.libdir, None);
        std::fs::write(prefix.join("lib/ldprune/libldprune.so"), "").unwrap();
        let installed = Layout::find(&prefix.join("bin"));
        assert_eq!(
            installed.plugin,
            Some(prefix.join("lib/ldprune/libldprune.so"))
        );
        assert_eq!(installed.libdir, Some(prefix.join("lib/ldprune")));
        assert_eq!(
            installed.wrappers,
            Some(prefix.join("lib/ldprune/wrappers"))
        );
        assert_eq!(installed.rpm_macros, None);
    }
}
