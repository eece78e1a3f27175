//! What the corpus bench reads from a finished ELF file: section sizes,
//! dynamic exports and imports, version definitions, build-id, and the
//! stripped size (through `strip`, as a package would ship it).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader};
use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, SectionIndex};

#[derive(Debug, Default, Clone)]
pub struct ElfInfo {
    pub text: u64,
    /// `.data` + `.rodata`.
    pub data: u64,
    /// Defined dynamic symbols, without versions and without the
    /// version-node symbols.
    pub exports: BTreeSet<String>,
    /// Undefined dynamic symbols, without versions.
    pub imports: BTreeSet<String>,
    pub build_id: Option<Vec<u8>>,
    pub is_dyn: bool,
    /// Version definitions but the base one: (node, parent).
    pub nodes: Vec<(String, Option<String>)>,
    /// Variables of a library the file copies into itself (R_*_COPY): it
    /// defines them in its own .bss, so they are not among `imports`, but
    /// the library must still export them or the program does not start.
    pub copied: BTreeSet<String>,
    pub needed: Vec<String>,
    pub soname: Option<String>,
}

pub fn read(path: &Path) -> Result<ElfInfo, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = ElfFile64::<object::Endianness>::parse(&*bytes)
        .map_err(|e| format!("{}: not a 64-bit ELF file: {e}", path.display()))?;
    let mut info = ElfInfo {
        is_dyn: file.elf_header().e_type(file.endian()) == elf::ET_DYN,
        ..ElfInfo::default()
    };
    for s in file.sections() {
        match s.name().unwrap_or("") {
            ".text" => info.text += s.size(),
            ".data" | ".rodata" => info.data += s.size(),
            _ => {}
        }
    }
    info.nodes = version_nodes(&file).map_err(|e| format!("{}: {e}", path.display()))?;
    let nodes: BTreeSet<&str> = info.nodes.iter().map(|(n, _)| n.as_str()).collect();
    for sym in file.dynamic_symbols() {
        let Ok(name) = sym.name() else { continue };
        if name.is_empty() {
            continue;
        }
        if sym.is_undefined() {
            info.imports.insert(name.to_string());
        } else if !(nodes.contains(name) && sym.section_index().is_none() && sym.size() == 0) {
            info.exports.insert(name.to_string());
        }
    }
    info.build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
    (info.needed, info.soname) = dynamic(&file).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(relocs) = file.dynamic_relocations() {
        for (_, r) in relocs {
            let (object::RelocationFlags::Elf { r_type }, object::RelocationTarget::Symbol(i)) =
                (r.flags(), r.target())
            else {
                continue;
            };
            if r_type != elf::R_X86_64_COPY && r_type != elf::R_AARCH64_COPY {
                continue;
            }
            let Some(table) = file.dynamic_symbol_table() else {
                continue;
            };
            if let Ok(name) = table.symbol_by_index(i).and_then(|s| s.name()) {
                info.copied.insert(name.to_string());
            }
        }
    }
    Ok(info)
}

/// DT_NEEDED and DT_SONAME.
fn dynamic(file: &ElfFile64<object::Endianness>) -> Result<(Vec<String>, Option<String>), String> {
    let endian = file.endian();
    let table = file.elf_section_table();
    let Some((dyns, link)) = table
        .dynamic(endian, file.data())
        .map_err(|e| e.to_string())?
    else {
        return Ok((Vec::new(), None));
    };
    let strings = table
        .strings(endian, file.data(), link)
        .map_err(|e| e.to_string())?;
    let (mut needed, mut soname) = (Vec::new(), None);
    for d in dyns {
        let tag = d.d_tag(endian);
        if tag != elf::DT_NEEDED && tag != elf::DT_SONAME {
            continue;
        }
        let name = strings
            .get(d.d_val(endian) as u32)
            .map_err(|()| "bad dynamic string offset".to_string())?;
        let name = String::from_utf8_lossy(name).into_owned();
        if tag == elf::DT_NEEDED {
            needed.push(name);
        } else {
            soname = Some(name);
        }
    }
    Ok((needed, soname))
}

fn version_nodes(
    file: &ElfFile64<object::Endianness>,
) -> object::Result<Vec<(String, Option<String>)>> {
    let endian = file.endian();
    let table = file.elf_section_table();
    let Some((mut defs, link)) = table.gnu_verdef(endian, file.data())? else {
        return Ok(Vec::new());
    };
    let strings = table.strings(endian, file.data(), SectionIndex(link.0))?;
    let mut out = Vec::new();
    while let Some((def, mut aux)) = defs.next()? {
        if def.vd_flags.get(endian).0 & elf::VER_FLG_BASE.0 != 0 {
            continue;
        }
        let mut names = Vec::new();
        while let Some(a) = aux.next()? {
            names.push(String::from_utf8_lossy(a.name(endian, strings)?).into_owned());
        }
        let mut names = names.into_iter();
        if let Some(node) = names.next() {
            out.push((node, names.next()));
        }
    }
    Ok(out)
}

/// The size of `strip -o` of the file, in `tmp`.
pub fn stripped_size(path: &Path, tmp: &Path) -> Result<u64, String> {
    let out = tmp.join("stripped");
    let st = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(path)
        .status()
        .map_err(|e| format!("cannot run strip: {e}"))?;
    if !st.success() {
        return Err(format!("strip {} failed", path.display()));
    }
    let len = std::fs::metadata(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .len();
    let _ = std::fs::remove_file(&out);
    Ok(len)
}
