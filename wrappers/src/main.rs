//! ldprune-wrap: one tiny static executable installed under the names of
//! the compiler drivers and linkers (gcc, g++, cc, c++, clang, clang++, ld,
//! ld.bfd, ld.gold, ld.lld, ld.mold, mold). With LDPRUNE_RUN=1 or 2 it adds
//! ldprune's flags and runs the real tool; otherwise it only runs the real
//! tool. It never breaks a build on its own account: anything it cannot
//! do (no plugin, no ldprune) is said once on stderr and the command runs
//! without it. Only a wrong LDPRUNE_RUN or LDPRUNE_STRICT value is an
//! error (exit 2), as it is in the plugin.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

mod cc;
mod ld;
mod lookup;
mod sys;

use alloc::vec::Vec;
use ldprune_linkargs::split_response_file;

use lookup::{FileId, Search, basename, dirname, join};

/// Which ldprune run the build is (LDPRUNE_RUN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Record,
    Apply,
}

impl Run {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Run::Record => b"1",
            Run::Apply => b"2",
        }
    }
}

/// What the wrapper stands in for, by the name it was run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// gcc, g++, cc, c++, clang, clang++ (with target prefix or version).
    Driver,
    /// ld, ld.bfd, ld.gold: they load the plugin.
    PluginLinker,
    /// ld.lld, ld.mold, mold: they cannot; Run-2 goes through a stub object.
    StubLinker,
}

/// `x86_64-linux-gnu-gcc-12` is gcc, `ld.lld` is lld.
fn kind(name: &[u8]) -> Option<Kind> {
    // A trailing version: gcc-12, clang-14, clang++-14.
    let mut n = name;
    if let Some(i) = n.iter().rposition(|&b| b == b'-')
        && n[i + 1..].iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && i + 1 < n.len()
    {
        n = &n[..i];
    }
    // A target prefix: x86_64-linux-gnu-gcc.
    let tool = n.rsplit(|&b| b == b'-').next().unwrap_or(n);
    match tool {
        b"gcc" | b"g++" | b"cc" | b"c++" | b"clang" | b"clang++" => Some(Kind::Driver),
        b"ld" | b"ld.bfd" | b"ld.gold" => Some(Kind::PluginLinker),
        b"ld.lld" | b"ld.mold" | b"mold" => Some(Kind::StubLinker),
        _ => None,
    }
}

/// The environment, as given, with lookups by name.
struct Env(Vec<Vec<u8>>);

impl Env {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.0.iter().find_map(|e| {
            let rest = e.strip_prefix(name)?;
            rest.strip_prefix(b"=")
        })
    }

    fn flag(&self, name: &[u8]) -> bool {
        matches!(self.get(name), Some(v) if !v.is_empty() && v != b"0")
    }

    /// The environment with `name` set to `value`.
    fn with(&self, name: &[u8], value: &[u8]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self
            .0
            .iter()
            .filter(|e| !(e.starts_with(name) && e.get(name.len()) == Some(&b'=')))
            .cloned()
            .collect();
        let mut e = name.to_vec();
        e.push(b'=');
        e.extend_from_slice(value);
        out.push(e);
        out
    }
}

/// Everything one invocation works with.
struct Wrapper {
    args: Vec<Vec<u8>>,
    env: Env,
    name: Vec<u8>,
    /// This executable's directory (symlinks resolved).
    exe_dir: Vec<u8>,
    cwd: Vec<u8>,
    avoid: Vec<FileId>,
}

const SEEN: &[u8] = b"LDPRUNE_WRAP_SEEN";

pub fn wrap(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>) -> i32 {
    let Some(argv0) = args.first().cloned() else {
        sys::stderr(b"ldprune wrapper: no program name\n");
        return 2;
    };
    let name = basename(&argv0).to_vec();
    let Some(kind) = kind(&name) else {
        if args.get(1).is_some_and(|a| a == b"--version") {
            say(&[
                b"ldprune-wrap ",
                env!("CARGO_PKG_VERSION").as_bytes(),
                b"\n",
            ]);
            return 0;
        }
        sys::stderr(
            b"ldprune-wrap: install me under the name of a compiler or linker: \
gcc g++ cc c++ clang clang++ ld ld.bfd ld.gold ld.lld ld.mold mold \
(see ldprune's README)\n",
        );
        return 2;
    };
    let exe = sys::readlink(b"/proc/self/exe").unwrap_or_default();
    let env = Env(env);
    let mut avoid = lookup::parse_seen(env.get(SEEN));
    if let Some(id) = sys::executable_id(b"/proc/self/exe") {
        avoid.push(id);
    }
    let w = Wrapper {
        exe_dir: dirname(&exe).unwrap_or(b".").to_vec(),
        cwd: sys::getcwd().unwrap_or_default(),
        args,
        env,
        name,
        avoid,
    };
    // Exactly the values the plugin accepts. A wrong one fails every
    // command ldprune would act on (compiles included: objects compiled
    // without the section flags would make the whole build a different
    // one); queries and preprocessing, which it never touches, still run.
    let run = match run_value(w.env.get(b"LDPRUNE_RUN")) {
        Ok(run) => run,
        Err(v) if w.acts(kind) => return invalid(b"LDPRUNE_RUN", v, b"1, 2, off, 0 or empty"),
        Err(_) => None,
    };
    if run.is_some()
        && let Some(v) = w.env.get(b"LDPRUNE_STRICT")
        && !matches!(v, b"1" | b"0" | b"")
        && w.acts(kind)
    {
        return invalid(b"LDPRUNE_STRICT", v, b"1, 0 or empty");
    }
    let real = w.real(&w.name.clone());
    let Some(run) = run else {
        return w.exec(&real, &w.args[1..]);
    };
    match kind {
        Kind::Driver => w.driver(run, &real),
        Kind::PluginLinker => w.plugin_linker(run, &real),
        Kind::StubLinker => w.stub_linker(run, &real),
    }
}

/// LDPRUNE_RUN: exactly 1, 2, off, 0 or empty (unset: off), as the plugin
/// reads it; `Err` holds a wrong value.
fn run_value(v: Option<&[u8]>) -> Result<Option<Run>, &[u8]> {
    match v {
        Some(b"1") => Ok(Some(Run::Record)),
        Some(b"2") => Ok(Some(Run::Apply)),
        None | Some(b"" | b"0" | b"off") => Ok(None),
        Some(v) => Err(v),
    }
}

/// The message and exit status of a wrong environment value.
fn invalid(name: &[u8], value: &[u8], valid: &[u8]) -> i32 {
    say_err(&[
        b"ldprune wrapper: error: ",
        name,
        b"=\"",
        value,
        b"\" is not valid: it must be ",
        valid,
        b"\n",
    ]);
    2
}

impl Wrapper {
    /// Whether ldprune changes this command when a run is on: a compile or
    /// link of a driver, a link (not -r, not a query) of a linker.
    fn acts(&self, kind: Kind) -> bool {
        let expanded = self.expanded();
        match kind {
            Kind::Driver => cc::facts(&expanded).compiles_or_links(),
            Kind::PluginLinker | Kind::StubLinker => ld::facts(&expanded).ours(),
        }
    }

    /// The real tool called `name`; exits 127 with a message if none.
    fn real(&self, name: &[u8]) -> Vec<u8> {
        let search = Search {
            configured: self.env.get(b"LDPRUNE_REAL_PATH"),
            invoked: &self.args[0],
            path: self.env.get(b"PATH"),
            avoid: &self.avoid,
        };
        match search.find(name) {
            Some(p) => p,
            None => {
                say_err(&[
                    b"ldprune wrapper: no real ",
                    name,
                    b" found (searched LDPRUNE_REAL_PATH, ",
                    name,
                    b"-real next to the wrapper, and PATH, skipping wrappers)\n",
                ]);
                sys::exit(127)
            }
        }
    }

    /// The environment for the real tool: this wrapper marked as passed.
    fn child_env(&self) -> Vec<Vec<u8>> {
        self.env.with(SEEN, &lookup::format_seen(&self.avoid))
    }

    /// With LDPRUNE_WRAP_DEBUG set: what the wrapper is about to do
    /// (`exec`, `run`, `record`) and the command line, on stderr.
    fn debug(&self, what: &[u8], argv: &[Vec<u8>]) {
        if !self.env.flag(b"LDPRUNE_WRAP_DEBUG") {
            return;
        }
        let mut line = b"ldprune wrapper: ".to_vec();
        line.extend_from_slice(what);
        for a in argv {
            line.push(b' ');
            line.extend_from_slice(a);
        }
        line.push(b'\n');
        sys::stderr(&line);
    }

    /// Runs `real` with `args` in place of this process.
    fn exec(&self, real: &[u8], args: &[Vec<u8>]) -> i32 {
        let mut argv = Vec::with_capacity(args.len() + 1);
        // The real path as argv[0]: lld picks its flavour and GCC its
        // install prefix from it.
        argv.push(real.to_vec());
        argv.extend_from_slice(args);
        self.debug(b"exec", &argv);
        let e = sys::exec(real, &argv, &self.child_env());
        say_err(&[
            b"ldprune wrapper: cannot run ",
            real,
            b": ",
            &sys::strerror(e),
            b"\n",
        ]);
        127
    }

    /// Runs the real tool as a child and waits: its exit status, or 127
    /// when it cannot be run.
    fn run_child(&self, real: &[u8], args: &[Vec<u8>]) -> i32 {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(real.to_vec());
        argv.extend_from_slice(args);
        self.debug(b"run", &argv);
        sys::run(real, &argv, &self.child_env()).unwrap_or(127)
    }

    /// Response files expanded, for reading the command line (the real
    /// tool still gets the @files).
    fn expanded(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for a in &self.args[1..] {
            expand(a, &mut out, 0);
        }
        out
    }

    fn state(&self) -> Option<Vec<u8>> {
        let s = self.env.get(b"LDPRUNE_STATE").filter(|s| !s.is_empty())?;
        // Absolute: the link may run in another directory (make -C).
        Some(if s.starts_with(b"/") {
            s.to_vec()
        } else {
            join(&self.cwd, s)
        })
    }

    fn plugin(&self) -> Option<Vec<u8>> {
        let p = match self.env.get(b"LDPRUNE_PLUGIN") {
            Some(p) if !p.is_empty() => p.to_vec(),
            _ => join(&self.exe_dir, b"libldprune.so"),
        };
        if sys::exists(&p) {
            return Some(p);
        }
        say_err(&[
            b"ldprune wrapper: warning: plugin ",
            &p,
            b" not found (set LDPRUNE_PLUGIN); linking without it\n",
        ]);
        None
    }

    /// The ldprune command (for the stub links of lld and mold).
    fn cli(&self) -> Vec<u8> {
        match self.env.get(b"LDPRUNE_CLI") {
            Some(p) if !p.is_empty() => p.to_vec(),
            _ => join(&self.exe_dir, b"../../bin/ldprune"),
        }
    }

    fn wrapdir(&self) -> Vec<u8> {
        match self.env.get(b"LDPRUNE_WRAPPERS") {
            Some(p) if !p.is_empty() => p.to_vec(),
            _ => join(&self.exe_dir, b"wrappers"),
        }
    }

    /// One line in STATE/wrapper.log: time, tool, directory, output, note.
    fn log(&self, output: Option<&[u8]>, note: &[u8]) {
        let Some(state) = self.state() else { return };
        let mut line = Vec::new();
        lookup::push_number(&mut line, sys::now().max(0) as u64);
        for part in [&self.name[..], &self.cwd, output.unwrap_or(b"a.out"), note] {
            line.push(b'\t');
            line.extend(
                part.iter()
                    .map(|&b| if b == b'\t' || b == b'\n' { b' ' } else { b }),
            );
        }
        line.push(b'\n');
        // The first link of a build may come before the plugin made it.
        sys::mkdir_all(&state);
        let log = join(&state, b"wrapper.log");
        if let Err(why) = sys::append(&log, &line) {
            say_err(&[b"ldprune wrapper: warning: ", &log, b" ", why, b"\n"]);
        }
    }

    fn driver(&self, run: Run, real: &[u8]) -> i32 {
        let expanded = self.expanded();
        let facts = cc::facts(&expanded);
        let links = facts.links() && !facts.relocatable;
        let plugin = if links && !facts.ldprune_plugin && !facts.stub_linker() {
            self.plugin()
        } else {
            None
        };
        let state = self.state();
        let wrapdir = self.wrapdir();
        let setup = cc::Setup {
            run,
            plugin: plugin.as_deref(),
            state: state.as_deref(),
            wrapdir: &wrapdir,
            clang: cc::contains(&self.name, b"clang"),
        };
        let plan = cc::plan(&self.args[1..], &facts, &setup);
        let output = output_of(&expanded);
        if let Some(note) = plan.note {
            self.log(output.as_deref(), note.as_bytes());
        }
        if let Some(fallback) = plan.fallback {
            // 1 is how gcc reports a failed link; a signal or a driver
            // that cannot run is not retried.
            let status = self.run_child(real, &plan.args);
            if status != 1 {
                return status;
            }
            say_err(&[b"ldprune wrapper: ", cc::RETRY_NOTE.as_bytes(), b"\n"]);
            self.log(output.as_deref(), cc::RETRY_NOTE.as_bytes());
            return self.exec(real, &fallback);
        }
        self.exec(real, &plan.args)
    }

    fn plugin_linker(&self, run: Run, real: &[u8]) -> i32 {
        let expanded = self.expanded();
        let facts = ld::facts(&expanded);
        let plugin = if facts.ours() && !facts.ldprune_plugin {
            self.plugin()
        } else {
            None
        };
        let state = self.state();
        let args = ld::plan(
            &self.args[1..],
            &facts,
            run,
            plugin.as_deref(),
            state.as_deref(),
        );
        self.exec(real, &args)
    }

    /// lld and mold. Run-1: the real tool links the output, then ld.bfd
    /// links again with the plugin into a scratch file for the record (lld
    /// and mold cannot load it); Run-2 hands the link to `ldprune
    /// stub-link`, which puts the stub object of hidden references first
    /// and retries without it on failure.
    fn stub_linker(&self, run: Run, real: &[u8]) -> i32 {
        let expanded = self.expanded();
        let facts = ld::facts(&expanded);
        let plain = ld::plan_gc_only(&self.args[1..], &facts);
        if !facts.ours() {
            return self.exec(real, &self.args[1..]);
        }
        match run {
            Run::Record => self.record_through_bfd(real, &facts, &plain),
            Run::Apply => {
                let cli = self.cli();
                if sys::executable_id(&cli).is_none() {
                    say_err(&[
                        b"ldprune wrapper: warning: ",
                        &cli,
                        b" not found (set LDPRUNE_CLI); linking without hiding\n",
                    ]);
                    return self.exec(real, &plain);
                }
                let mut args = Vec::with_capacity(plain.len() + 4);
                args.push(b"stub-link".to_vec());
                args.push(b"--linker".to_vec());
                args.push(real.to_vec());
                args.push(b"--".to_vec());
                args.extend(plain);
                self.exec(&cli, &args)
            }
        }
    }

    /// Run-1 of an lld or mold link. The build's own linker writes the
    /// output, so Run-1's output is what Run-2's is compared with (a
    /// change of linker alone moves sizes more than ldprune does), and a
    /// build system that looks at its outputs sees its own linker in both
    /// runs. Then ld.bfd runs the same command with the plugin into a
    /// scratch file in STATE/tmp/, `output-as` naming the real output: the
    /// record takes its identity, path, sizes and build-id from that.
    /// Fail-open: if the recording link fails, the output stays the real
    /// linker's alone and the reason goes to wrapper.log (under
    /// LDPRUNE_STRICT=1 the link fails and the output is removed).
    fn record_through_bfd(&self, real: &[u8], facts: &ld::Facts, plain: &[Vec<u8>]) -> i32 {
        let status = self.run_child(real, plain);
        if status != 0 {
            return status;
        }
        let output = facts.output.as_deref().unwrap_or(b"a.out");
        let strict = self.env.get(b"LDPRUNE_STRICT") == Some(b"1");
        let Some(plugin) = self.plugin() else {
            return 0;
        };
        let Some(state) = self.state() else {
            return self.not_recorded(output, b"LDPRUNE_STATE is not set", None, strict);
        };
        let tmp = join(&state, b"tmp");
        sys::mkdir_all(&tmp);
        let Some(dir) = scratch_dir(&tmp) else {
            return self.not_recorded(output, b"no scratch directory in STATE/tmp", None, strict);
        };
        let scratch = join(&dir, basename(output));
        let mut ld_log = dir.clone();
        ld_log.extend_from_slice(b".log");
        let mut argv = alloc::vec![self.real(b"ld.bfd")];
        argv.extend(ld::plan(
            &ld::recording_args(&self.args[1..], &scratch),
            facts,
            Run::Record,
            Some(&plugin),
            Some(&state),
        ));
        let mut stands_for = b"-plugin-opt=output-as=".to_vec();
        stands_for.extend_from_slice(output);
        argv.push(stands_for);
        let mut linker = b"-plugin-opt=output-linker=".to_vec();
        linker.extend_from_slice(&self.name);
        argv.push(linker);
        self.debug(b"record", &argv);
        let ran = sys::run_logged(&argv[0], &argv, &self.child_env(), &ld_log);
        let said = sys::read_file(&ld_log).unwrap_or_default();
        sys::remove_file(&scratch);
        sys::remove_dir(&dir);
        sys::remove_file(&ld_log);
        match ran {
            Ok(0) => {
                // The plugin's own warnings; bfd's duplicate the real
                // linker's, which the build has seen.
                for line in said.split(|&b| b == b'\n') {
                    if cc::contains(line, b"ldprune") {
                        say_err(&[line, b"\n"]);
                    }
                }
                let mut note = self.name.clone();
                note.extend_from_slice(
                    b" linked the output; recorded through ld.bfd into a scratch file",
                );
                self.log(Some(output), &note);
                0
            }
            Ok(_) => {
                let first = said
                    .split(|&b| b == b'\n')
                    .find(|l| !l.iter().all(u8::is_ascii_whitespace))
                    .unwrap_or(b"no message");
                self.record_alone(output, first, Some(&said), plain, strict)
            }
            Err(e) => self.record_alone(output, &sys::strerror(e), None, plain, strict),
        }
    }

    /// The recording link failed (lld's bitcode inputs, an option only lld
    /// knows): `ldprune record-alone` records the real output alone,
    /// incomplete, so what it imports still counts and what it exports is
    /// kept. If that fails too, the output is not recorded.
    fn record_alone(
        &self,
        output: &[u8],
        why: &[u8],
        said: Option<&[u8]>,
        plain: &[Vec<u8>],
        strict: bool,
    ) -> i32 {
        let cli = self.cli();
        let mut argv = alloc::vec![
            cli.clone(),
            b"record-alone".to_vec(),
            b"--linker".to_vec(),
            self.name.clone(),
            b"--why".to_vec(),
            why.to_vec(),
            b"--".to_vec(),
        ];
        argv.extend_from_slice(plain);
        self.debug(b"record-alone", &argv);
        if sys::run(&cli, &argv, &self.child_env()) != Ok(0) {
            return self.not_recorded(output, why, said, strict);
        }
        let note = self.recording_failed(
            why,
            b"): recorded incomplete from ",
            b"'s output alone (its imports count, its exports are kept)",
        );
        self.log(Some(output), &note);
        say_err(&[b"ldprune wrapper: warning: ", output, b": ", &note, b"\n"]);
        0
    }

    /// "the recording link through ld.bfd failed (WHY)" + `then` + this
    /// linker's name + `end`.
    fn recording_failed(&self, why: &[u8], then: &[u8], end: &[u8]) -> Vec<u8> {
        let mut note = b"the recording link through ld.bfd failed (".to_vec();
        for part in [why, then, &self.name, end] {
            note.extend_from_slice(part);
        }
        note
    }

    /// The real link is done but the recording link is not: a warning and
    /// a wrapper.log line, the output kept; under strict, the recording
    /// link's messages, the output removed and exit status 1.
    fn not_recorded(&self, output: &[u8], why: &[u8], said: Option<&[u8]>, strict: bool) -> i32 {
        let note = self.recording_failed(why, b"): the output is ", b"'s alone, not recorded");
        self.log(Some(output), &note);
        if strict {
            if let Some(said) = said {
                sys::stderr(said);
            }
            // Relative to this process's directory, the link's.
            sys::remove_file(output);
            say_err(&[
                b"ldprune wrapper: error: ",
                output,
                b": ",
                &note,
                b" (strict: the link fails)\n",
            ]);
            return 1;
        }
        say_err(&[b"ldprune wrapper: warning: ", output, b": ", &note, b"\n"]);
        0
    }
}

/// A fresh directory in `tmp` for one recording link.
fn scratch_dir(tmp: &[u8]) -> Option<Vec<u8>> {
    for attempt in 0..100u64 {
        let mut name = b"run1-".to_vec();
        lookup::push_number(&mut name, sys::pid());
        name.push(b'-');
        lookup::push_number(&mut name, attempt);
        let dir = join(tmp, &name);
        if sys::make_dir(&dir) {
            return Some(dir);
        }
    }
    None
}

/// `-o` of a driver command line.
fn output_of(args: &[Vec<u8>]) -> Option<Vec<u8>> {
    let i = args.iter().position(|a| a == b"-o")?;
    args.get(i + 1).cloned()
}

/// Appends `arg` to `out`, replacing `@file` by its arguments (GCC's rules;
/// an unreadable file stays as it is, as GCC keeps it).
fn expand(arg: &[u8], out: &mut Vec<Vec<u8>>, depth: usize) {
    if let Some(path) = arg.strip_prefix(b"@")
        && depth < 16
        && let Some(text) = sys::read_file(path)
    {
        for a in split_response_file(&text) {
            expand(&a, out, depth + 1);
        }
        return;
    }
    out.push(arg.to_vec());
}

fn say(parts: &[&[u8]]) {
    sys::stdout(&parts.concat());
}

fn say_err(parts: &[&[u8]]) {
    sys::stderr(&parts.concat());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for (n, k) in [
            (&b"gcc"[..], Some(Kind::Driver)),
            (b"x86_64-linux-gnu-gcc-12", Some(Kind::Driver)),
            (b"clang++-14", Some(Kind::Driver)),
            (b"c++", Some(Kind::Driver)),
            (b"ld", Some(Kind::PluginLinker)),
            (b"x86_64-linux-gnu-ld.gold", Some(Kind::PluginLinker)),
            (b"ld.lld", Some(Kind::StubLinker)),
            (b"mold", Some(Kind::StubLinker)),
            (b"ldprune-wrap", None),
            (b"as", None),
        ] {
            assert_eq!(kind(n), k, "{}", String::from_utf8_lossy(n));
        }
    }

    #[test]
    fn run_values_are_exact() {
        assert_eq!(run_value(Some(b"1")), Ok(Some(Run::Record)));
        assert_eq!(run_value(Some(b"2")), Ok(Some(Run::Apply)));
        for off in [None, Some(&b""[..]), Some(b"0"), Some(b"off")] {
            assert_eq!(run_value(off), Ok(None));
        }
        for bad in [&b"yes"[..], b"on", b"3", b" 1", b"OFF"] {
            assert_eq!(run_value(Some(bad)), Err(bad));
        }
    }

    #[test]
    fn env_with_replaces() {
        let e = Env(vec![b"A=1".to_vec(), b"AB=2".to_vec()]);
        assert_eq!(e.get(b"A"), Some(&b"1"[..]));
        assert_eq!(e.with(b"A", b"3"), vec![b"AB=2".to_vec(), b"A=3".to_vec()]);
    }
}
