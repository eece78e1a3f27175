//! Turns bytes into facts: relocatable objects, finished outputs, archive
//! headers. Knows nothing of the plugin, the state directory or the merge.

pub mod archive;
pub mod hash;
pub mod interface;
pub mod object;
pub mod output;
pub mod sparse;
pub mod types;

use std::fmt;

/// A parse failure, with a message meant for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfError(pub String);

impl ElfError {
    pub fn new(msg: impl Into<String>) -> Self {
        ElfError(msg.into())
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ElfError {}

impl From<::object::read::Error> for ElfError {
    fn from(e: ::object::read::Error) -> Self {
        ElfError(format!("malformed ELF: {e}"))
    }
}

/// What kind of file a linker input is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileClass {
    Relocatable,
    SharedObject,
    Executable,
    Archive,
    ThinArchive,
    /// Anything else that is printable text: a linker script.
    Text,
    Unknown,
}

/// Classifies a file from at least its first 64 bytes (fewer if it is shorter).
pub fn classify(head: &[u8]) -> FileClass {
    if head.starts_with(b"!<arch>\n") {
        return FileClass::Archive;
    }
    if head.starts_with(b"!<thin>\n") {
        return FileClass::ThinArchive;
    }
    if head.len() >= 18 && head.starts_with(b"\x7fELF") {
        let e_type = match head[5] {
            2 => u16::from_be_bytes([head[16], head[17]]),
            _ => u16::from_le_bytes([head[16], head[17]]),
        };
        return match e_type {
            1 => FileClass::Relocatable,
            2 => FileClass::Executable,
            3 => FileClass::SharedObject,
            _ => FileClass::Unknown,
        };
    }
    if !head.is_empty()
        && head
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return FileClass::Text;
    }
    FileClass::Unknown
}

/// Sections that describe the program rather than form it. The tests are
/// ASCII, so a raw name and its lossy UTF-8 form get the same answer.
pub fn is_debug_section(name: impl AsRef<[u8]>) -> bool {
    let name = name.as_ref();
    name.starts_with(b".debug")
        || name.starts_with(b".zdebug")
        || name.starts_with(b".stab")
        || name.starts_with(b".gnu.debuglto_")
        || name == b".comment"
}

/// Names the linker defines itself (or the C runtime's default linker
/// scripts do): no input object defines them.
pub const LINKER_DEFINED: &[&str] = &[
    "_end",
    "end",
    "_edata",
    "edata",
    "__bss_start",
    "_etext",
    "etext",
    "__end__",
    "_DYNAMIC",
    "_GLOBAL_OFFSET_TABLE_",
    "__ehdr_start",
    "__executable_start",
    "__init_array_start",
    "__init_array_end",
    "__fini_array_start",
    "__fini_array_end",
    "__preinit_array_start",
    "__preinit_array_end",
    "__GNU_EH_FRAME_HDR",
    "__TMC_END__",
    "_PROCEDURE_LINKAGE_TABLE_",
    "__data_start",
    "data_start",
];

/// Linker-defined names that gold exports from every shared library (ld.bfd
/// does not). No input defines them, so hiding one takes a hidden weak
/// undefined reference to the name itself; measured on gold 1.16: with one,
/// the name is local in the output and gone from `.dynsym`.
pub const EXPORTED_BY_LINKER: &[&str] = &["_end", "_edata", "__bss_start"];

/// `name` is defined by the linker: a listed name or a section bound
/// (`__start_X`, `__stop_X`).
pub fn is_linker_defined(name: &str) -> bool {
    LINKER_DEFINED.contains(&name) || name.starts_with("__start_") || name.starts_with("__stop_")
}
