//! Linkers called directly (ld, ld.bfd, ld.gold, ld.lld, mold): what the
//! command line does, and the command line with ldprune's flags.

use alloc::vec::Vec;
use ldprune_linkargs::{LD_RELOCATABLE, ld_takes_value};

use crate::Run;
use crate::cc::contains;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Objects, archives, libraries, scripts, -lfoo.
    pub inputs: usize,
    pub relocatable: bool,
    pub gc_sections: bool,
    pub no_gc_sections: bool,
    pub ldprune_plugin: bool,
    /// `-o` as given (for the wrapper log).
    pub output: Option<Vec<u8>>,
}

impl Facts {
    /// Only a link that writes an executable or shared library is ours:
    /// not `--version`, `-v`, `--help`, nor `-r`.
    pub fn ours(&self) -> bool {
        self.inputs > 0 && !self.relocatable
    }
}

/// Reads an ld command line (without argv[0], response files expanded).
pub fn facts(args: &[Vec<u8>]) -> Facts {
    let mut f = Facts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_slice();
        i += 1;
        if contains(a, b"libldprune.so") {
            f.ldprune_plugin = true;
        }
        if a == b"-" || !a.starts_with(b"-") {
            f.inputs += 1;
            continue;
        }
        match a {
            b"--gc-sections" => f.gc_sections = true,
            b"--no-gc-sections" => f.no_gc_sections = true,
            b"-o" | b"--output" => {
                f.output = args.get(i).cloned();
                i += 1;
            }
            _ if LD_RELOCATABLE.iter().any(|r| r.as_bytes() == a) => f.relocatable = true,
            _ if ld_takes_value(a) => {
                if args.get(i).is_some_and(|v| contains(v, b"libldprune.so")) {
                    f.ldprune_plugin = true;
                }
                i += 1;
            }
            _ if a.starts_with(b"-l") || a.starts_with(b"--library=") => f.inputs += 1,
            _ => {}
        }
    }
    f
}

/// The ld command line (without argv[0]) with --gc-sections and the plugin
/// appended (after GCC's own LTO plugin, as -Wl flags would be).
pub fn plan(
    args: &[Vec<u8>],
    f: &Facts,
    run: Run,
    plugin: Option<&[u8]>,
    state: Option<&[u8]>,
) -> Vec<Vec<u8>> {
    let mut out = args.to_vec();
    if !f.ours() {
        return out;
    }
    if !f.gc_sections && !f.no_gc_sections {
        out.push(b"--gc-sections".to_vec());
    }
    if let (false, Some(p)) = (f.ldprune_plugin, plugin) {
        out.extend(plugin_args(p, run, state));
    }
    out
}

/// The linker options that load the plugin for `run` with `state`.
pub fn plugin_args(plugin: &[u8], run: Run, state: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut out = alloc::vec![b"-plugin".to_vec(), plugin.to_vec()];
    out.push(plugin_opt(b"run=", run.as_bytes()));
    if let Some(st) = state {
        out.push(plugin_opt(b"state=", st));
    }
    out
}

fn plugin_opt(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut o = b"-plugin-opt=".to_vec();
    o.extend_from_slice(key);
    o.extend_from_slice(value);
    o
}

/// For lld and mold, which take no plugin: only --gc-sections.
pub fn plan_gc_only(args: &[Vec<u8>], f: &Facts) -> Vec<Vec<u8>> {
    let mut out = args.to_vec();
    if f.ours() && !f.gc_sections && !f.no_gc_sections {
        out.push(b"--gc-sections".to_vec());
    }
    out
}

/// The command line of the recording link of lld and mold (without
/// argv[0]): the build's own, writing `scratch` instead of the output (an
/// `-o` appended: the last one wins, also over one in a response file)
/// and its map and dependency files to /dev/null, so that every file the
/// build sees is its own linker's.
pub fn recording_args(args: &[Vec<u8>], scratch: &[u8]) -> Vec<Vec<u8>> {
    const SIDE_FILES: &[&[u8]] = &[b"-Map", b"--Map", b"--dependency-file"];
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if SIDE_FILES.contains(&a.as_slice()) && i < args.len() {
            out.push(a.clone());
            out.push(b"/dev/null".to_vec());
            i += 1;
            continue;
        }
        match SIDE_FILES
            .iter()
            .find(|o| a.starts_with(o) && a.get(o.len()) == Some(&b'='))
        {
            Some(o) => {
                let mut side = o.to_vec();
                side.extend_from_slice(b"=/dev/null");
                out.push(side);
            }
            None => out.push(a.clone()),
        }
    }
    out.push(b"-o".to_vec());
    out.push(scratch.to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<Vec<u8>> {
        s.split_whitespace()
            .map(|a| a.as_bytes().to_vec())
            .collect()
    }

    #[test]
    fn queries_and_relocatable_untouched() {
        for cmd in ["--version", "-v", "--help", "-r -o x.o a.o", "-Ur a.o b.o"] {
            let a = v(cmd);
            assert_eq!(plan(&a, &facts(&a), Run::Record, Some(b"/p.so"), None), a);
        }
    }

    #[test]
    fn plugin_and_gc_appended_once() {
        let a = v("-pie -o prog crt1.o a.o -lc");
        let once = plan(
            &a,
            &facts(&a),
            Run::Apply,
            Some(b"/x/libldprune.so"),
            Some(b"/st"),
        );
        assert_eq!(
            once[a.len()..],
            v("--gc-sections -plugin /x/libldprune.so -plugin-opt=run=2 -plugin-opt=state=/st")[..]
        );
        let twice = plan(
            &once,
            &facts(&once),
            Run::Apply,
            Some(b"/x/libldprune.so"),
            Some(b"/st"),
        );
        assert_eq!(once, twice);
        assert_eq!(facts(&a).output.as_deref(), Some(&b"prog"[..]));
    }

    #[test]
    fn option_values_are_not_inputs() {
        let a = v("-plugin /l.so -plugin-opt -x -m elf_x86_64 -o out --version");
        assert_eq!(facts(&a).inputs, 0);
    }

    #[test]
    fn recording_link_writes_only_scratch_files() {
        let a = v("-shared -o libx.so -Map x.map --dependency-file=x.d a.o -Map=y.map");
        assert_eq!(
            recording_args(&a, b"/st/tmp/r/libx.so"),
            v(
                "-shared -o libx.so -Map /dev/null --dependency-file=/dev/null a.o -Map=/dev/null -o /st/tmp/r/libx.so"
            )
        );
    }
}
