//! Small closed vocabularies for what an ELF file says about sections and
//! symbols. Shared by the object and output readers and stored in records.

use serde::{Deserialize, Serialize};

/// What a section holds, from its type and flags (not its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SectionKind {
    Text,
    Data,
    ReadOnly,
    Bss,
    TlsData,
    TlsBss,
    InitArray,
    FiniArray,
    PreinitArray,
    EhFrame,
    Note,
    Other,
    /// ARM EHABI's index table (`.ARM.exidx*`, SHT_ARM_EXIDX): one per code
    /// section, kept by --gc-sections with the code section it is linked to.
    ArmExidx,
}

impl SectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Text => "text",
            SectionKind::Data => "data",
            SectionKind::ReadOnly => "rodata",
            SectionKind::Bss => "bss",
            SectionKind::TlsData => "tdata",
            SectionKind::TlsBss => "tbss",
            SectionKind::InitArray => "init_array",
            SectionKind::FiniArray => "fini_array",
            SectionKind::PreinitArray => "preinit_array",
            SectionKind::EhFrame => "eh_frame",
            SectionKind::Note => "note",
            SectionKind::Other => "other",
            SectionKind::ArmExidx => "arm_exidx",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Binding {
    Local,
    Global,
    Weak,
    /// STB_GNU_UNIQUE: one definition per process, whatever the visibility rules.
    Unique,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Visibility {
    Default,
    Protected,
    Hidden,
    Internal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SymbolType {
    NoType,
    Func,
    Object,
    Tls,
    Ifunc,
    Common,
    Section,
    Other,
}

/// Where a symbol of a relocatable object is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SymbolPlace {
    Undefined,
    Common,
    Absolute,
    /// Index into the object's recorded sections.
    Section(u32),
    /// Defined in a section that is not recorded (not allocated, e.g. debug).
    Unrecorded,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Local => "local",
            Binding::Global => "global",
            Binding::Weak => "weak",
            Binding::Unique => "unique",
        }
    }
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Default => "default",
            Visibility::Protected => "protected",
            Visibility::Hidden => "hidden",
            Visibility::Internal => "internal",
        }
    }
}

impl SymbolType {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolType::NoType => "notype",
            SymbolType::Func => "func",
            SymbolType::Object => "object",
            SymbolType::Tls => "tls",
            SymbolType::Ifunc => "ifunc",
            SymbolType::Common => "common",
            SymbolType::Section => "section",
            SymbolType::Other => "other",
        }
    }
}

pub(crate) fn binding_of(bind: u8) -> Binding {
    use object::elf;
    match bind {
        b if b == elf::STB_LOCAL.0 => Binding::Local,
        b if b == elf::STB_WEAK.0 => Binding::Weak,
        b if b == elf::STB_GNU_UNIQUE.0 => Binding::Unique,
        _ => Binding::Global,
    }
}

pub(crate) fn visibility_of(other: u8) -> Visibility {
    match other & 3 {
        1 => Visibility::Internal,
        2 => Visibility::Hidden,
        3 => Visibility::Protected,
        _ => Visibility::Default,
    }
}

pub(crate) fn symbol_type_of(ty: u8) -> SymbolType {
    use object::elf;
    match ty {
        t if t == elf::STT_NOTYPE.0 => SymbolType::NoType,
        t if t == elf::STT_FUNC.0 => SymbolType::Func,
        t if t == elf::STT_OBJECT.0 => SymbolType::Object,
        t if t == elf::STT_TLS.0 => SymbolType::Tls,
        t if t == elf::STT_GNU_IFUNC.0 => SymbolType::Ifunc,
        t if t == elf::STT_COMMON.0 => SymbolType::Common,
        t if t == elf::STT_SECTION.0 => SymbolType::Section,
        _ => SymbolType::Other,
    }
}

/// Whether a relocatable object carries LTO IR (`.gnu.lto_*`, `.llvm.lto`
/// sections) and whether it has machine code besides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lto {
    /// No IR: a plain object.
    #[default]
    None,
    /// IR and real code (`-ffat-lto-objects`): a link without an LTO plugin
    /// uses the code, and Run-1 reads it like any object's.
    Fat,
    /// IR only (GCC defines `__gnu_lto_slim` in such objects): only an LTO
    /// plugin can link it, and its code exists nowhere before that.
    Slim,
}

impl Lto {
    /// From what an object shows: IR sections, and GCC's slim marker symbol.
    pub fn of(ir_sections: bool, slim_marker: bool) -> Lto {
        match (ir_sections, slim_marker) {
            (_, true) => Lto::Slim,
            (true, false) => Lto::Fat,
            (false, false) => Lto::None,
        }
    }

    /// The object carries IR, so an LTO plugin claims it when one is loaded.
    pub fn has_ir(self) -> bool {
        self != Lto::None
    }
}

/// The symbol GCC defines in objects that hold LTO IR only.
pub const LTO_SLIM_MARKER: &[u8] = b"__gnu_lto_slim";

/// A symbol name without its version: `foo@@V2`, `foo@V1` -> `foo`.
pub fn plain(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}
