//! Run-2 for lld and mold (`ldprune stub-link`, started by their wrapper):
//! the same link identity as the plugin, from the linker's arguments; the
//! decisions' names as a stub object put first; the link run. If the link
//! fails with the stub, it runs again without it and the failure goes to
//! DIR/apply.log, so the build never breaks because of us. Under `strict`
//! (LDPRUNE_STRICT=1, as the plugin reads it) the faults the plugin treats
//! as errors fail the link instead: no usable state directory or
//! decisions, a stub that cannot be written, a link that fails with it.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::stub::{Target, stub_object};
use super::{AppliedRecord, Unchanged, applied, hidden_reference};
use crate::identity::{interface_hash_of_path, link_directory, link_identity, parse_link_line};
use crate::state::decisions::NameList;
use crate::state::record::Linker;
use crate::state::{StateDir, decisions};

/// Runs the link `linker args...` with the stub of this link's decisions;
/// returns the exit code to leave with.
pub fn stub_link(linker: &Path, args: &[OsString], state: Option<&Path>, strict: bool) -> i32 {
    let plain = || run_plain(linker, args);
    // A fault: a warning and the link unchanged, or under strict an error.
    let fault = |why: &str| {
        if strict {
            eprintln!("ldprune: error: {why} (strict: the link fails)");
            return 1;
        }
        eprintln!("ldprune: warning: {why}; linking unchanged");
        plain()
    };
    let Some(state) = state else {
        return fault("stub-link without a state directory (LDPRUNE_STATE)");
    };
    let state = match StateDir::create(state) {
        Ok(s) => s,
        Err(e) => return fault(&e.to_string()),
    };
    let mut argv: Vec<String> = vec![linker.to_string_lossy().into_owned()];
    argv.extend(args.iter().map(|a| a.to_string_lossy().into_owned()));
    let line = parse_link_line(&argv);
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // One line in apply.log; with `loud`, a warning on stderr too (every
    // reason but a link that is simply new, as in the plugin).
    let log = |identity, why: &str, loud: bool| {
        if let Err(e) = applied::try_append_log(&state, identity, &cwd, &line.output, why) {
            eprintln!("ldprune: warning: {e}; not logged: {why}");
        }
        if loud {
            eprintln!("ldprune: warning: {}: {why}", line.output);
        }
    };
    // A fault after the state directory opened: in apply.log either way.
    let fail_or_log = |identity, why: &str| {
        if strict {
            applied::append_log(&state, identity, &cwd, &line.output, why);
            eprintln!(
                "ldprune: error: {}: {why} (strict: the link fails)",
                line.output
            );
            return 1;
        }
        log(identity, &format!("{why}: left unchanged"), true);
        plain()
    };

    let identity = link_identity(&line, interface_hash_of_path);
    let found = match decisions::lookup(&decisions::path(&state), identity) {
        Ok(found) => found,
        Err(e) => {
            let why = Unchanged::NoDecisions(e.to_string());
            return fail_or_log(Some(identity), &why.to_string());
        }
    };
    let Some((hide, note)) = super::hide_list(found, &link_directory(&cwd, &line.output)) else {
        let why = Unchanged::NotInDecisions;
        log(
            Some(identity),
            &format!("{why}: left unchanged"),
            why.is_loud(),
        );
        return plain();
    };
    if let Some(note) = note {
        log(Some(identity), &note, true);
    }
    let output = Path::new(&cwd).join(&line.output);
    // The wrappers run lld and mold by those names.
    let output_linker = Linker::of_name(&linker.to_string_lossy()).unwrap_or(Linker::Unknown);
    let measure = |hide: &NameList| {
        if let Some(rec) =
            AppliedRecord::measure(identity, &output, &line.output, &cwd, output_linker, hide)
            && let Err(e) = state.write_applied(&rec)
        {
            eprintln!("ldprune: warning: {e}");
        }
    };
    if hide.is_empty() {
        // Nothing to hide (a program): still noted, for report's sizes.
        return match Command::new(linker).arg0(linker).args(args).status() {
            Ok(s) if s.success() => {
                measure(&NameList::default());
                0
            }
            Ok(s) => s.code().unwrap_or(1),
            Err(e) => cannot_run(linker, &e),
        };
    }
    let Some(target) = line.inputs.iter().find_map(|p| object_target(p)) else {
        log(
            Some(identity),
            "no relocatable object on the command line: left unchanged",
            true,
        );
        return plain();
    };
    let names: Vec<&str> = hide.iter().map(hidden_reference).collect();
    let dir = match tempdir() {
        Ok(d) => d,
        Err(e) => {
            return fail_or_log(
                Some(identity),
                &format!("cannot write the stub object ({e})"),
            );
        }
    };
    let stub = dir.join("ldprune-stub.o");
    if let Err(e) = std::fs::write(&stub, stub_object(target, &names)) {
        let _ = std::fs::remove_dir_all(&dir);
        return fail_or_log(
            Some(identity),
            &format!("cannot write {}: {e}", stub.display()),
        );
    }
    // First on the command line: gold collects nothing for a stub placed
    // last (linker-facts.md); lld and mold accept either, first is safe.
    let attempt = Command::new(linker)
        .arg0(linker)
        .arg(&stub)
        .args(args)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match attempt {
        Ok(out) if out.status.success() => {
            let _ = std::io::stdout().write_all(&out.stdout);
            let _ = std::io::stderr().write_all(&out.stderr);
            measure(&hide);
            0
        }
        Ok(out) if strict => {
            // Under strict the failed link is the result: no second try.
            let _ = std::io::stdout().write_all(&out.stdout);
            let _ = std::io::stderr().write_all(&out.stderr);
            applied::append_log(
                &state,
                Some(identity),
                &cwd,
                &line.output,
                &format!("the link with the stub object failed ({})", out.status),
            );
            eprintln!(
                "ldprune: error: linking {} with its hidden names failed (strict: not linked again without them)",
                line.output
            );
            out.status.code().unwrap_or(1)
        }
        Ok(out) => {
            let first = String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            log(
                Some(identity),
                &format!(
                    "the link with the stub object failed ({}: {first}): linked again without it",
                    out.status
                ),
                false, // the warning below says it, once
            );
            eprintln!(
                "ldprune: warning: linking {} with its hidden names failed; linked again unchanged (see {}/apply.log)",
                line.output,
                state.root().display()
            );
            plain()
        }
        Err(e) => cannot_run(linker, &e),
    }
}

/// Runs the link unchanged in place of this process.
fn run_plain(linker: &Path, args: &[OsString]) -> i32 {
    let e = Command::new(linker).arg0(linker).args(args).exec();
    cannot_run(linker, &e)
}

/// The exit code (and message) when the linker could not be started.
fn cannot_run(linker: &Path, e: &std::io::Error) -> i32 {
    eprintln!("ldprune: error: cannot run {}: {e}", linker.display());
    127
}

/// The ELF target of the file at `path`, if it is a relocatable object.
fn object_target(path: &str) -> Option<Target> {
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    Target::of_object(&head[..n])
}

/// A fresh private directory for the stub object.
fn tempdir() -> std::io::Result<std::path::PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "ldprune-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", dir.display()),
                ));
            }
        }
    }
    Err(std::io::Error::other(format!(
        "cannot create a directory in {}",
        base.display()
    )))
}
