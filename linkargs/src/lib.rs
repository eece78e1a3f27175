//! What ldprune's link identity and its wrappers both need to know about
//! command lines: which ld options take their value as the next argument
//! (so values are never mistaken for inputs), and how GCC's `@file`
//! response files are split. Kept in its own small `no_std` crate so the
//! static wrappers can use the very same rules as the plugin.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// ld options whose value is the next argument. Values are never inputs.
pub const LD_TAKES_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-e",
    "--entry",
    "-m",
    "-T",
    "--script",
    "-dT",
    "--default-script",
    "-L",
    "--library-path",
    "-l",
    "--library",
    "-u",
    "--undefined",
    "-y",
    "--trace-symbol",
    "-z",
    "-h",
    "-soname",
    "--soname",
    "-rpath",
    "-rpath-link",
    "-dynamic-linker",
    "--dynamic-linker",
    "-I",
    "-plugin",
    "--plugin",
    "-plugin-opt",
    "--plugin-opt",
    "--version-script",
    "--dynamic-list",
    "-Map",
    "-F",
    "--filter",
    "-f",
    "--auxiliary",
    "-A",
    "--architecture",
    "-b",
    "--format",
    "-c",
    "--mri-script",
    "-G",
    "--gpsize",
    "-R",
    "--just-symbols",
    "-Y",
    "-O",
    "--defsym",
    "--wrap",
    "--require-defined",
    "--section-start",
    "-Ttext",
    "-Tdata",
    "-Tbss",
    "-Ttext-segment",
    "-Trodata-segment",
    "-Tldata-segment",
    "--dependency-file",
    "--retain-symbols-file",
    "--version-exports-section",
    "--export-dynamic-symbol",
    "--export-dynamic-symbol-list",
    "--out-implib",
    "--oformat",
    "--audit",
    "--depaudit",
    "-P",
    "--sysroot",
    "--exclude-libs",
    "--hash-style",
    "--image-base",
    "--task-link",
    "--section-ordering-file",
    "--thread-count",
    "--Map",
];

/// ld options that make the output relocatable (`-r`): no --gc-sections,
/// nothing to record or hide.
pub const LD_RELOCATABLE: &[&str] = &["-r", "--relocatable", "-i", "-Ur"];

/// True if `arg` (bytes, as on a command line) is an ld option whose value
/// is the next argument.
pub fn ld_takes_value(arg: &[u8]) -> bool {
    LD_TAKES_VALUE.iter().any(|o| o.as_bytes() == arg)
}

/// Splits the text of a response file the way GCC and binutils read it:
/// arguments separated by whitespace; single and double quotes group; a
/// backslash takes the next character literally.
pub fn split_response_file(text: &[u8]) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let mut cur = Vec::new();
    let mut in_arg = false;
    let mut quote: Option<u8> = None;
    let mut bytes = text.iter().copied();
    while let Some(c) = bytes.next() {
        match (quote, c) {
            (_, b'\\') => {
                if let Some(n) = bytes.next() {
                    cur.push(n);
                }
                in_arg = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, b'\'' | b'"') => {
                quote = Some(c);
                in_arg = true;
            }
            (None, c) if c.is_ascii_whitespace() => {
                if in_arg {
                    args.push(core::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn quotes_and_backslashes() {
        let got = split_response_file(b"-o 'my out' \"b c.o\" d\\ e.o\n ''\n");
        let want: Vec<Vec<u8>> = vec![
            b"-o".to_vec(),
            b"my out".to_vec(),
            b"b c.o".to_vec(),
            b"d e.o".to_vec(),
            b"".to_vec(),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn values() {
        assert!(ld_takes_value(b"-plugin-opt"));
        assert!(!ld_takes_value(b"-plugin-opt=x"));
        assert!(!ld_takes_value(b"a.o"));
    }
}
