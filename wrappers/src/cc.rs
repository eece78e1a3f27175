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
    /// Inputs the driver compiles (by suffix, or after `-x LANG`).
    pub sources: usize,
    /// LTO enabled by an argument (the last -flto/-fno-lto wins).
    pub lto: bool,
    /// -ffat-lto-objects (the last of it and -fno-fat-lto-objects wins).
    pub fat_lto: bool,
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

/// Suffixes the driver compiles (GCC's list, C, C++, assembler, Fortran,
/// Objective-C, D, Go, Ada); any other input (`.o`, `.a`, `.so`, libtool's
/// `.lo`, no suffix) goes to the linker as it is.
const SOURCE_SUFFIXES: &[&[u8]] = &[
    b"c", b"i", b"ii", b"cc", b"cp", b"cxx", b"cpp", b"CPP", b"c++", b"C", b"m", b"mi", b"mm",
    b"M", b"mii", b"s", b"S", b"sx", b"f", b"for", b"ftn", b"F", b"FOR", b"fpp", b"FPP", b"FTN",
    b"f90", b"f95", b"f03", b"f08", b"F90", b"F95", b"F03", b"F08", b"d", b"go", b"adb", b"ads",
];

/// True for an input the driver compiles, by its suffix.
fn is_source(a: &[u8]) -> bool {
    let base = a.rsplit(|&b| b == b'/').next().unwrap_or(a);
    match base.iter().rposition(|&b| b == b'.') {
        Some(i) if i > 0 => SOURCE_SUFFIXES.contains(&&base[i + 1..]),
        _ => false,
    }
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
    // -x LANG: the inputs after it are compiled (until -x none).
    let mut language = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_slice();
        i += 1;
        if a == b"-" || !a.starts_with(b"-") {
            f.inputs += 1;
            if a == b"-" || language || is_source(a) {
                f.sources += 1;
            }
            continue;
        }
        match a {
            b"-x" => {
                language = args.get(i).is_some_and(|l| l != b"none");
                i += 1;
            }
            b"-ffat-lto-objects" => f.fat_lto = true,
            b"-fno-fat-lto-objects" => f.fat_lto = false,
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
    /// The driver is clang: its LTO objects are LLVM bitcode, never fat.
    pub clang: bool,
}

/// The planned command line and what to note in the wrapper log.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub args: Vec<Vec<u8>>,
    pub note: Option<&'static str>,
    /// If `args` fails, run this instead (with `RETRY_NOTE` in the log):
    /// the Run-1 link without LTO needs fat objects, and an object compiled
    /// outside the wrappers may be slim IR.
    pub fallback: Option<Vec<Vec<u8>>>,
}

/// What the wrapper log says when a Run-1 link without LTO failed.
pub const RETRY_NOTE: &str = "the Run-1 link with -fno-lto failed (slim LTO objects?): linked again with the build's LTO, recorded incomplete";

/// The driver command line with ldprune's flags. `args` is the command
/// line as given (without argv[0]); `f` its facts (from the expanded one,
/// response files included).
///
/// LTO stays on. With GCC, every compile of an LTO build writes fat
/// objects (IR and machine code), in both runs, so Run-1 and Run-2 read the
/// same objects. A Run-1 link of objects only gets a trailing -fno-lto:
/// GCC's LTO plugin, loaded before ldprune's, would claim them all, so the
/// linker uses their machine code instead and the plugin records it. Run-2
/// links with the build's own LTO: the names ldprune hides become internal
/// to the LTO unit. A command that compiles and links at once keeps LTO in
/// Run-1 too (a -fno-lto would make plain objects of another identity):
/// the plugin reads its fat temporary objects from their files. clang's LTO
/// objects are bitcode: left alone, recorded incomplete.
pub fn plan(args: &[Vec<u8>], f: &Facts, s: &Setup<'_>) -> Plan {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(args.len() + 8);
    let mut note = None;
    let mut fallback = None;
    if !f.compiles_or_links() {
        return Plan {
            args: args.to_vec(),
            note,
            fallback,
        };
    }
    // First, so that the build's own -fno-function-sections still wins.
    if !f.function_sections {
        out.push(b"-ffunction-sections".to_vec());
    }
    if !f.data_sections {
        out.push(b"-fdata-sections".to_vec());
    }
    let links = f.links() && !f.relocatable;
    out.extend_from_slice(args);
    let gcc_lto = f.lto && !s.clang;
    if gcc_lto && f.sources > 0 && !f.fat_lto {
        out.push(b"-ffat-lto-objects".to_vec());
    }
    if !links {
        return Plan {
            args: out,
            note,
            fallback,
        };
    }
    if !f.gc_sections && !f.no_gc_sections {
        out.push(b"-Wl,--gc-sections".to_vec());
    }
    if f.stub_linker() {
        // The driver then runs our ld.lld / ld.mold wrapper: in Run-1 it
        // links with the real tool and records through ld.bfd, in Run-2
        // it adds the stub object of hidden references.
        let mut b = b"-B".to_vec();
        b.extend_from_slice(s.wrapdir);
        b.push(b'/');
        out.push(b);
        return Plan {
            args: out,
            note,
            fallback,
        };
    }
    if f.lto && s.run == Run::Record {
        if s.clang {
            note = Some("clang LTO: LLVMgold claims the bitcode, the link is recorded incomplete");
        } else if f.sources > 0 {
            note = Some(
                "Run-1 compiles and links in one command: linked with LTO, the plugin reads the fat objects from their files",
            );
        } else {
            fallback = Some(out.clone());
            out.push(b"-fno-lto".to_vec());
        }
    }
    if !f.ldprune_plugin
        && let Some(p) = s.plugin
    {
        // -Xlinker: unlike -Wl, it survives commas in paths.
        for a in crate::ld::plugin_args(p, s.run, s.state) {
            out.push(b"-Xlinker".to_vec());
            out.push(a.clone());
            if let Some(fb) = fallback.as_mut() {
                fb.push(b"-Xlinker".to_vec());
                fb.push(a);
            }
        }
        if fallback.is_some() {
            // A slim object would add no code without LTO: the plugin
            // fails the link, and the fallback links with LTO.
            out.push(b"-Xlinker".to_vec());
            out.push(b"-plugin-opt=no-slim-lto".to_vec());
        }
    }
    Plan {
        args: out,
        note,
        fallback,
    }
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
            clang: false,
        }
    }

    fn planned(cmd: &str, run: Run) -> String {
        let args = v(cmd);
        show(&plan(&args, &facts(&args), &setup(run)).args)
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
    fn lto_stays_with_fat_objects() {
        // Compiles: fat objects in both runs, LTO kept.
        for run in [Run::Record, Run::Apply] {
            assert_eq!(
                planned("-flto=auto -O2 -c a.c", run),
                "-ffunction-sections -fdata-sections -flto=auto -O2 -c a.c -ffat-lto-objects"
            );
        }
        // The build's -fno-fat-lto-objects loses: Run-1 needs the code.
        let p = planned("-flto -fno-fat-lto-objects -c a.c", Run::Record);
        assert!(
            p.ends_with("-fno-fat-lto-objects -c a.c -ffat-lto-objects"),
            "{p}"
        );
        // A Run-1 link of objects: without LTO, the build's line kept as the
        // fallback; Run-2 links with the build's LTO.
        let args = v("-flto=auto -O2 -shared -o libx.so a.o b.o");
        let p = plan(&args, &facts(&args), &setup(Run::Record));
        let shown = show(&p.args);
        assert!(
            shown.contains("-Wl,--gc-sections -fno-lto -Xlinker -plugin"),
            "{shown}"
        );
        assert!(
            shown.ends_with("-Xlinker -plugin-opt=no-slim-lto"),
            "{shown}"
        );
        let fallback = show(p.fallback.as_deref().unwrap());
        assert_eq!(
            fallback,
            shown
                .replace(" -fno-lto", "")
                .replace(" -Xlinker -plugin-opt=no-slim-lto", "")
        );
        let p = plan(&args, &facts(&args), &setup(Run::Apply));
        assert!(p.fallback.is_none());
        assert!(!show(&p.args).contains("-fno-lto") && !show(&p.args).contains("fat-lto"));
        // Compile and link at once: LTO in both runs, noted in Run-1.
        let args = v("-flto -O2 a.c -o prog");
        let p = plan(&args, &facts(&args), &setup(Run::Record));
        let shown = show(&p.args);
        assert!(
            !shown.contains("-fno-lto") && shown.contains("-ffat-lto-objects"),
            "{shown}"
        );
        assert!(p.note.is_some() && p.fallback.is_none());
        // clang: bitcode, left alone.
        let mut s = setup(Run::Record);
        s.clang = true;
        let args = v("-flto -c a.c");
        assert_eq!(
            show(&plan(&args, &facts(&args), &s).args),
            "-ffunction-sections -fdata-sections -flto -c a.c"
        );
        let args = v("-flto a.o -o prog");
        let p = plan(&args, &facts(&args), &s);
        assert!(!show(&p.args).contains("-fno-lto") && p.note.is_some());
        // No LTO: untouched; -fno-lto last wins.
        for cmd in ["-O2 -c a.c", "-flto -fno-lto -c a.c", "-O2 a.o -o prog"] {
            let p = planned(cmd, Run::Record);
            assert!(
                !p.contains("lto-objects") && !p.contains("-fno-lto -X"),
                "{p}"
            );
        }
        assert!(!facts(&v("-flto-partition=one -c a.c")).lto);
        assert!(!is_lto(b"-flto-partition=one"));
        // Idempotent: a second wrapper adds nothing.
        let once = planned("-flto -c a.c", Run::Record);
        assert_eq!(planned(&once, Run::Record), once);
    }

    #[test]
    fn sources_and_linkable_inputs() {
        assert_eq!(facts(&v("a.c b.cc -c")).sources, 2);
        assert_eq!(
            facts(&v("a.o libz.a libz.so.1 /x/libc.so -lm -o p")).sources,
            0
        );
        assert_eq!(facts(&v("-x c a.o -x none b.o -")).sources, 2);
    }

    #[test]
    fn fuse_ld_lld_and_mold() {
        for l in ["lld", "mold"] {
            let cmd = alloc::format!("-fuse-ld={l} a.o -o prog");
            // Both runs: the build's linker, found as our wrapper.
            for run in [Run::Record, Run::Apply] {
                let p = planned(&cmd, run);
                assert!(
                    p.contains(&alloc::format!("-fuse-ld={l}"))
                        && p.ends_with("-Wl,--gc-sections -B/w/")
                        && !p.contains("-plugin"),
                    "{p}"
                );
            }
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
