//! Build-system probes: the throw-away programs configure scripts and
//! build generators link to learn about the toolchain. They are consumers
//! like any link (their imports count), but their names are random in
//! every run, so reports count them instead of listing them.

use std::path::Path;

/// Whether the link writing `output` (as given) in `cwd` is a probe:
/// autoconf's `conftest`/`a.out`, zlib's configure `ztestNNN`, CMake's
/// CompilerId and try-compile projects, Meson's sanity checks and linker
/// probes, and links to /dev/null.
pub fn is_probe(cwd: &str, output: &str) -> bool {
    output == "/dev/null" || is_probe_path(&Path::new(cwd).join(output))
}

/// [`is_probe`] of an output's full path.
pub fn is_probe_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("");
    stem == "conftest"
        || name == "a.out"
        || stem
            .strip_prefix("ztest")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        || text.contains("/CMakeFiles/CMakeScratch/")
        || text.contains("/CMakeFiles/CMakeTmp/")
        || (text.contains("/CMakeFiles/") && text.contains("/CompilerId"))
        || text.contains("/meson-private/")
}

#[cfg(test)]
mod tests {
    use super::is_probe;

    #[test]
    fn probes_and_real_links() {
        for (cwd, out) in [
            ("/b/libpng", "conftest"),
            ("/b/libpng", "conftest.so"),
            ("/b/libpng", "a.out"),
            ("/b/zlib", "ztest16566"),
            ("/b/zlib", "ztest16566.so"),
            ("/b/x", "/dev/null"),
            ("/b/build/CMakeFiles/3.25.1/CompilerIdC", "a.out"),
            (
                "/b/build/CMakeFiles/CMakeScratch/TryCompile-x1",
                "cmTC_0b5a1",
            ),
            ("/b/build/meson-private/tmpab12", "output.exe"),
        ] {
            assert!(is_probe(cwd, out), "{cwd} {out}");
        }
        for (cwd, out) in [
            ("/b/zlib", "libz.so.1.2.13"),
            ("/b/zlib", "ztest"),
            ("/b/libpng", ".libs/pngtest"),
            ("/b/app", "conftester"),
            ("/b/build", "CMakeFiles/app.dir/x"),
        ] {
            assert!(!is_probe(cwd, out), "{cwd} {out}");
        }
    }
}
