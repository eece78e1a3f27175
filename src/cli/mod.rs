//! The `ldprune` command: argument parsing and one module per subcommand.

mod dump;
mod error;
mod flags;
mod merge;
mod progress;
mod report;
mod status;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::state::record::Linker;
use crate::state::{Loaded, StateDir, StateError};

pub use error::Error;

#[derive(Parser)]
#[command(
    name = "ldprune",
    version,
    propagate_version = true,
    about = "System-wide removal of exported code that no program of an image can reach",
    long_about = "ldprune records every link of an image through a linker plugin (Run-1), \
                  decides which exported symbols nobody imports (merge), and hides them in a \
                  rebuild so that --gc-sections removes their code (Run-2).\n\n\
                  The workflow:\n  \
                  1. Run-1: build with LDPRUNE_RUN=1 LDPRUNE_STATE=DIR and the wrappers on PATH \
                  (or -Wl,-plugin,libldprune.so -Wl,-plugin-opt=run=1 -Wl,-plugin-opt=state=DIR)\n  \
                  2. ldprune merge --state DIR [--scope image --image ROOT] [--consumers ROOT]\n  \
                  3. Run-2: the same build again (any directory) with LDPRUNE_RUN=2\n  \
                  4. ldprune report --state DIR [--measure ROOT] [--html FILE]   (predicted \
                  against achieved; the image's bytes and compressed size)\n  \
                  5. ldprune verify ROOT          (every import of the image still resolves)\n\n\
                  Plugin options (-plugin-opt=): run=1|2|off, state=DIR, strict, no-slim-lto, \
                  log=LEVEL; environment: LDPRUNE_RUN, LDPRUNE_STATE, LDPRUNE_STRICT, LDPRUNE_LOG \
                  (the wrappers also read LDPRUNE_PLUGIN, LDPRUNE_CLI, ...). \
                  `ldprune flags` prints what to add to a build's flags. Manuals: ldprune(1), \
                  ldprune-plugin(7), ldprune-wrappers(1)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise a state directory: links, modules, objects, sections,
    /// symbols, edges, and every warning.
    Status {
        /// The state directory written by Run-1.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// Print JSON instead of text (the same exit status).
        #[arg(long)]
        json: bool,
    },
    /// Decide, from all records, which exports nobody needs, and write the
    /// decisions Run-2 looks up.
    Merge {
        #[command(flatten)]
        input: merge::Input,
        /// Also write the decisions in the original tool's "vis" format.
        #[arg(long, value_name = "FILE")]
        vis: Option<PathBuf>,
        /// Print the summary as JSON (`report --json` has every module).
        #[arg(long)]
        json: bool,
    },
    /// Predicted (from the merge) and achieved (from Run-2's results)
    /// savings per module and in total, why exports were kept, links Run-2
    /// left unchanged or that failed, the dynamic-lookup sites where keep
    /// lists may be needed; with --measure the image's bytes and compressed
    /// size before and after; with --html the same as a page.
    Report(report::Args),
    /// Why NAME is kept (the chain from a root) or why it is hidden.
    #[command(mut_arg("state", |a| a.help(
        "State directories written by Run-1 (explain runs the merge again, with the same options)"
    )))]
    Explain {
        #[command(flatten)]
        input: merge::Input,
        /// Only the module with this file name or SONAME (globs allowed).
        #[arg(long, value_name = "M")]
        module: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The exported name as the dynamic symbol table spells it
        /// (`_ZN3AccIlE3addEl`), or a C++ name as written, with or without
        /// its parameter list (`'Acc<long>::add'`, `'Acc<long>::add(long)'`).
        name: String,
    },
    /// Print the recorded links in full.
    Dump {
        /// The state directory written by Run-1.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// Only links whose output path, file name, SONAME or identity
        /// (prefix) is NAME.
        #[arg(long, value_name = "NAME")]
        link: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check that every ELF program and library under the roots finds its
    /// libraries, version nodes and symbols (exit 1 if not).
    Verify {
        /// Directory trees: an image, a DESTDIR, unpacked packages. Several
        /// are layers of one image (the first wins).
        #[arg(required = true, value_name = "ROOT")]
        roots: Vec<PathBuf>,
        /// Do not let the host's libraries stand in for missing ones.
        #[arg(long)]
        no_host: bool,
        /// Look for the host's libraries under DIR instead of `/`: the
        /// target's sysroot of a cross-compiled image (Debian's cross
        /// toolchains: /usr/aarch64-linux-gnu, /usr/arm-linux-gnueabihf).
        /// Libraries of another machine never stand in.
        #[arg(long, value_name = "DIR", conflicts_with = "no_host")]
        sysroot: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run-2 of one lld or mold link (run by their wrappers): the stub
    /// object of this link's hidden names first, the link again without
    /// it if that fails.
    #[command(hide = true)]
    StubLink {
        /// The real linker.
        #[arg(long, value_name = "PATH")]
        linker: PathBuf,
        /// The state directory (default: LDPRUNE_STATE).
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// The linker's arguments.
        #[arg(last = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run-1 of one lld or mold link whose recording link through ld.bfd
    /// failed (run by their wrappers): an incomplete record of the real
    /// output alone, so its imports still count.
    #[command(hide = true)]
    RecordAlone {
        /// The linker that wrote the output (lld, mold).
        #[arg(long, value_name = "NAME")]
        linker: String,
        /// Why the recording link failed (its first message).
        #[arg(long, value_name = "TEXT")]
        why: String,
        /// The state directory (default: LDPRUNE_STATE).
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// The real linker's arguments.
        #[arg(last = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print the flags and environment that build through Run-1 or Run-2:
    /// CFLAGS, CXXFLAGS, LDFLAGS, LDPRUNE_RUN, LDPRUNE_STATE, LDPRUNE_PLUGIN
    /// and PATH (the wrappers first, when installed).
    #[command(
        after_help = "Examples:\n  eval \"$(ldprune flags --run 1 --state /var/tmp/st)\"\n  \
                      eval \"rpmbuild $(ldprune flags --run 1 --state /var/tmp/st --format rpm) -bb x.spec\""
    )]
    Flags(flags::Args),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status { state, json } => status::run(&state, json).map_err(Error::State),
        Command::Dump { state, link, json } => {
            dump::run(&state, link.as_deref(), json).map_err(Error::State)
        }
        Command::Merge { input, vis, json } => merge::merge(&input, vis.as_deref(), json),
        Command::Report(args) => report::report(&args),
        Command::Explain {
            input,
            module,
            json,
            name,
        } => merge::explain(&input, &name, module.as_deref(), json),
        Command::Verify {
            roots,
            no_host,
            sysroot,
            json,
        } => verify::run(&roots, !no_host, sysroot, json),
        Command::StubLink {
            linker,
            state,
            args,
        } => {
            let state = state.or_else(|| std::env::var_os("LDPRUNE_STATE").map(PathBuf::from));
            // The plugin's rule: exactly 1, 0 or empty.
            let strict = std::env::var_os("LDPRUNE_STRICT");
            crate::plugin::options::strict_env(strict.map(|v| v.to_string_lossy().into_owned()))
                .map_err(Error::Option)
                .map(|strict| crate::apply::stub_link(&linker, &args, state.as_deref(), strict))
        }
        Command::RecordAlone {
            linker,
            why,
            state,
            args,
        } => record_alone(&linker, &why, state, &args),
        Command::Flags(args) => flags::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ldprune: error: {e}");
            2
        }
    }
}

/// `record-alone`: 0 when the record is written, else an error.
fn record_alone(
    linker: &str,
    why: &str,
    state: Option<PathBuf>,
    args: &[OsString],
) -> Result<i32, Error> {
    let state = state
        .or_else(|| std::env::var_os("LDPRUNE_STATE").map(PathBuf::from))
        .ok_or(Error::Usage(
            "record-alone without a state directory (LDPRUNE_STATE)",
        ))?;
    let state = StateDir::create(&state)?;
    let host = Linker::of_name(linker).unwrap_or(Linker::Unknown);
    let argv = std::iter::once(linker.to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    let cwd = std::env::current_dir()
        .map_err(Error::CurrentDir)?
        .to_string_lossy()
        .into_owned();
    crate::record::record_output_alone(host, argv, cwd, why, &state)?;
    Ok(0)
}

/// Loads all records of a state directory; unusable files are reported on
/// stderr by path (and left alone).
fn load(dir: &std::path::Path) -> Result<Loaded, StateError> {
    let loaded = StateDir::open(dir)?.load_records()?;
    for e in &loaded.bad {
        eprintln!("ldprune: error: {e} (skipped)");
    }
    Ok(loaded)
}

/// Writes command output to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
