//! Compiler drivers (gcc, g++, cc, c++, clang, clang++): what the command
//! line does, and the command line with ldprune's flags.

use alloc::vec::Vec;

use crate::Run;

/// Driver options whose value is the next argument (so it is not an input).
const TAKES_VALUE: &[&[u8]] = &[
    b"-o",
    b"-x",
    b"-I",
    b"-L",
    b"-l",
    b"-D",
    b"-U",
    b"-include",
    b"-imacros",
    b"-isystem",
    b"-idirafter",
    b"-iprefix",
    b"-iwithprefix",
    b"-iwithprefixbefore",
    b"-iquote",
    b"-isysroot",
    b"-imultilib",
    b"-MF",
    b"-MT",
    b"-MQ",
    b"-Xlinker",
    b"-Xassembler",
    b"-Xpreprocessor",
    b"-Xclang",
    b"-mllvm",
    b"-aux-info",
    b"-T",
    b"-u",
    b"-z",
    b"-e",
    b"--param",
    b"-target",
    b"-arch",
    b"-G",
    b"-B",
    b"-wrapper",
    b"-dumpbase",
    b"-dumpbase-ext",
    b"-dumpdir",
    b"-specs",
    b"--sysroot",
    b"-F",
    b"-gcc-toolchain",
    b"--gcc-toolchain",
    b"-resource-dir",
    b"-include-pch",
    b"-ivfsoverlay",
    b"-working-directory",
    b"-cxx-isystem",
];

/// What a driver command line does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Source, object, archive or library inputs (`-` counts).
    pub inputs: usize,
    /// -E, -M, -MM: preprocessing only.
    pub preprocess: bool,
    /// -c, -S, -fsyntax-only: no link.
    pub compile_only: bool,
    /// -r (directly or as a linker option): a relocatable link.
    pub relocatable: bool,
    /// The last -fuse-ld= value.
    pub fuse_ld: Option<Vec<u8>>,
    /// LTO enabled by an argument (the last -flto/-fno-lto wins).
    pub lto: bool,
    /// Flags already present (added by a build or another wrapper).
    pub function_sections: bool,
    pub data_sections: bool,
    pub gc_sections: bool,
    pub no_gc_sections: bool,
    pub ldprune_plugin: bool,
}

impl Facts {
    pub fn links(&self) -> bool {
        self.inputs > 0 && !self.preprocess && !self.compile_only
    }

    pub fn compiles_or_links(&self) -> bool {
        self.inputs > 0 && !self.preprocess
    }

    /// lld and mold cannot load a GNU linker plugin.
    pub fn stub_linker(&self) -> bool {
        self.fuse_ld.as_deref().is_some_and(is_stub_linker)
    }
}

/// True for an `-fuse-ld=` value naming lld or mold (also as a path).
pub fn is_stub_linker(v: &[u8]) -> bool {
    let base = v.rsplit(|&b| b == b'/').next().unwrap_or(v);
    matches!(base, b"lld" | b"ld.lld" | b"mold" | b"ld.mold")
}

/// True for an argument that turns LTO on: -flto, -flto=auto, -flto=8,
/// -flto=thin (not -flto-partition= and the like).
pub fn is_lto(a: &[u8]) -> bool {
    a == b"-flto" || a.starts_with(b"-flto=")
}

/// Reads the driver command line `args` (without argv[0], response files
/// already expanded).
pub fn facts(args: &[Vec<u8>]) -> Facts {
    let mut f = Facts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_slice();
        i += 1;
        if a == b"-" || !a.starts_with(b"-") {
            f.inputs += 1;
            continue;
        }
        match a {
            b"-E" | b"-M" | b"-MM" => f.preprocess = true,
            b"-c" | b"-S" | b"-fsyntax-only" => f.compile_only = true,
            b"-r" => f.relocatable = true,
            b"-ffunction-sections" => f.function_sections = true,
            b"-fdata-sections" => f.data_sections = true,
            b"-fno-lto" => f.lto = false,
            b"-Xlinker" => {
                if let Some(v) = args.get(i) {
                    linker_arg(&mut f, v);
                }
                i += 1;
            }
            _ if is_lto(a) => f.lto = true,
            _ if TAKES_VALUE.contains(&a) => i += 1,
            _ => {
                if let Some(list) = a.strip_prefix(b"-Wl,") {
                    for v in list.split(|&b| b == b',') {
                        linker_arg(&mut f, v);
                    }
                } else if let Some(v) = a.strip_prefix(b"-fuse-ld=") {
                    f.fuse_ld = Some(v.to_vec());
                } else if a.starts_with(b"-l") {
                    // -lfoo is an input of the link.
                    f.inputs += 1;
                }
            }
        }
        if contains(a, b"libldprune.so") {
            f.ldprune_plugin = true;
        }
    }
    f
}

fn linker_arg(f: &mut Facts, v: &[u8]) {
    match v {
        b"--gc-sections" => f.gc_sections = true,
        b"--no-gc-sections" => f.no_gc_sections = true,
        _ if ldprune_linkargs::LD_RELOCATABLE
            .iter()
            .any(|r| r.as_bytes() == v) =>
        {
            f.relocatable = true
        }
        _ => {}
    }
    if contains(v, b"libldprune.so") {
        f.ldprune_plugin = true;
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What the wrapper knows of its surroundings when it plans a command.
pub struct Setup<'a> {
    pub run: Run,
    /// The plugin, if it was found.
    pub plugin: Option<&'a [u8]>,
    /// The state directory, absolute.
    pub state: Option<&'a [u8]>,
    /// The directory holding the ld.lld / ld.mold wrappers (for -B).
    pub wrapdir: &'a [u8],
    /// Run-2 keeps -flto (LDPRUNE_KEEP_LTO=1).
    pub keep_lto: bool,
}

/// The planned command line and what to note in the wrapper log.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub args: Vec<Vec<u8>>,
    pub note: Option<&'static str>,
}

/// The driver command line with ldprune's flags. `args` is the command
/// line as given (without argv[0]); `f` its facts (from the expanded one).
/// `lto_in_files`: a response file turned LTO on (it is not rewritten; a
/// trailing -fno-lto overrides it).
pub fn plan(args: &[Vec<u8>], f: &Facts, lto_in_files: bool, s: &Setup<'_>) -> Plan {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(args.len() + 8);
    let mut note = None;
    if !f.compiles_or_links() {
        return Plan {
            args: args.to_vec(),
            note,
        };
    }
    // First, so that the build's own -fno-function-sections still wins.
    if !f.function_sections {
        out.push(b"-ffunction-sections".to_vec());
    }
    if !f.data_sections {
        out.push(b"-fdata-sections".to_vec());
    }
    // A second plugin never sees LTO IR (GCC's own plugin claims it), so
    // Run-1 could not record those objects; Run-2 must match Run-1.
    let no_lto = s.run == Run::Record || !s.keep_lto;
    let links = f.links() && !f.relocatable;
    let bfd_instead = links && f.stub_linker() && s.run == Run::Record;
    for a in args {
        if no_lto && is_lto(a) {
            out.push(b"-fno-lto".to_vec());
        } else if bfd_instead && a.starts_with(b"-fuse-ld=") {
            out.push(b"-fuse-ld=bfd".to_vec());
        } else {
            out.push(a.clone());
        }
    }
    if no_lto && lto_in_files {
        out.push(b"-fno-lto".to_vec());
    }
    if !links {
        return Plan { args: out, note };
    }
    if !f.gc_sections && !f.no_gc_sections {
        out.push(b"-Wl,--gc-sections".to_vec());
    }
    if f.stub_linker() && s.run == Run::Apply {
        // The driver then runs our ld.lld / ld.mold wrapper, which adds
        // the stub object of hidden references.
        let mut b = b"-B".to_vec();
        b.extend_from_slice(s.wrapdir);
        b.push(b'/');
        out.push(b);
        return Plan { args: out, note };
    }
    if bfd_instead {
        note = Some("Run-1 links through ld.bfd: lld and mold cannot load the plugin");
    }
    if !f.ldprune_plugin
        && let Some(p) = s.plugin
    {
        // -Xlinker: unlike -Wl, it survives commas in paths.
        for a in crate::ld::plugin_args(p, s.run, s.state) {
            out.push(b"-Xlinker".to_vec());
            out.push(a);
        }
    }
    Plan { args: out, note }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn v(s: &str) -> Vec<Vec<u8>> {
        s.split_whitespace()
            .map(|a| a.as_bytes().to_vec())
            .collect()
    }

    fn show(args: &[Vec<u8>]) -> String {
        let parts: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        parts.join(" ")
    }

    fn setup(run: Run) -> Setup<'static> {
        Setup {
            run,
            plugin: Some(b"/p/libldprune.so"),
            state: Some(b"/st"),
            wrapdir: b"/w",
            keep_lto: false,
        }
    }

    fn planned(cmd: &str, run: Run) -> String {
        let args = v(cmd);
        show(&plan(&args, &facts(&args), false, &setup(run)).args)
    }

    #[test]
    fn compile_only() {
        assert_eq!(
            planned("-O2 -c a.c -o a.o", Run::Record),
            "-ffunction-sections -fdata-sections -O2 -c a.c -o a.o"
        );
    }

    #[test]
    fn link_only_and_shared() {
        let p = planned("-shared -o libx.so a.o -lm", Run::Record);
        assert!(p.starts_with("-ffunction-sections -fdata-sections -shared -o libx.so a.o -lm -Wl,--gc-sections -Xlinker -plugin -Xlinker /p/libldprune.so -Xlinker -plugin-opt=run=1 -Xlinker -plugin-opt=state=/st"), "{p}");
    }

    #[test]
    fn compile_and_link_in_one_step() {
        let p = planned("-O2 a.c b.c -o prog", Run::Apply);
        assert!(
            p.contains("-ffunction-sections") && p.contains("-plugin-opt=run=2"),
            "{p}"
        );
    }

    #[test]
    fn queries_and_preprocessing_are_untouched() {
        for cmd in [
            "--version",
            "-v",
            "-dumpmachine",
            "-print-file-name=libc.so",
            "-E a.c",
            "-M a.c",
        ] {
            assert_eq!(planned(cmd, Run::Record), cmd);
        }
    }

    #[test]
    fn relocatable_links_get_no_gc_and_no_plugin() {
        for cmd in [
            "-r -o x.o a.o b.o",
            "-Wl,-r -nostdlib -o x.o a.o",
            "-Xlinker --relocatable -o x.o a.o",
        ] {
            let p = planned(cmd, Run::Record);
            assert!(!p.contains("gc-sections") && !p.contains("-plugin"), "{p}");
        }
    }

    #[test]
    fn lto_off_in_run1_optional_in_run2() {
        let p = planned("-flto=auto -O2 a.c -o prog", Run::Record);
        assert!(p.contains("-fno-lto -O2") && !p.contains("-flto="), "{p}");
        let args = v("-flto -c a.c");
        let mut s = setup(Run::Apply);
        s.keep_lto = true;
        let p = show(&plan(&args, &facts(&args), false, &s).args);
        assert!(p.contains("-flto -c"), "{p}");
        assert_eq!(
            show(&plan(&args, &facts(&args), true, &setup(Run::Record)).args),
            "-ffunction-sections -fdata-sections -fno-lto -c a.c -fno-lto"
        );
        assert!(!facts(&v("-flto-partition=one -c a.c")).lto);
        assert!(!is_lto(b"-flto-partition=one"));
    }

    #[test]
    fn fuse_ld_lld_and_mold() {
        for l in ["lld", "mold"] {
            let cmd = alloc::format!("-fuse-ld={l} a.o -o prog");
            let p = planned(&cmd, Run::Record);
            assert!(p.contains("-fuse-ld=bfd") && p.contains("-plugin"), "{p}");
            let p = planned(&cmd, Run::Apply);
            assert!(
                p.contains(&alloc::format!("-fuse-ld={l}"))
                    && p.ends_with("-Wl,--gc-sections -B/w/")
                    && !p.contains("-plugin"),
                "{p}"
            );
        }
        let p = planned("-fuse-ld=gold a.o -o prog", Run::Record);
        assert!(p.contains("-fuse-ld=gold") && p.contains("-plugin"), "{p}");
    }

    #[test]
    fn wl_lists_and_idempotence() {
        let p = planned("a.o -Wl,--no-gc-sections,-z,now -o p", Run::Record);
        assert!(!p.contains("--gc-sections "), "{p}");
        let once = planned("a.o -o p", Run::Record);
        let twice = planned(&once, Run::Record);
        assert_eq!(once, twice);
    }

    #[test]
    fn values_are_not_inputs() {
        let f = facts(&v(
            "-o out -MF deps -x c -I inc -Xlinker -z -Xlinker now --version",
        ));
        assert_eq!(f.inputs, 0);
        assert_eq!(facts(&v("-c -")).inputs, 1);
    }
}
