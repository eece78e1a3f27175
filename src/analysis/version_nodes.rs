//! Version nodes the decisions leave without names.
//!
//! rpm provides every version node of a library as a capability
//! (`libz.so.1(ZLIB_1.2.9)(64bit)`) and other packages require it by that
//! name. When every exported name of a node is hidden, the node is emptied:
//! ld.bfd and gold keep the node itself (the version script still defines
//! it; measured, see `LINKER_KEEPS_EMPTY_NODE`), so rpm goes on providing
//! it, but a program outside the records that needs the node finds none of
//! its names. A link of the records that needs the node should have kept a
//! name of it: that is flagged as a problem.

use std::path::PathBuf;

use object::elf;

use super::Analysis;
use crate::elf::output::Abi;
use crate::fasthash::{FxHashMap, FxHashSet};

/// What ld.bfd 2.40 and gold 1.16 were measured to do with a node whose
/// names are all hidden (tests/apply.rs `emptied_version_node`): the verdef
/// entry stays, and so does bfd's and gold's absolute symbol of the node.
pub const LINKER_KEEPS_EMPTY_NODE: &str = "the linker keeps the empty node in the library's version definitions (measured: ld.bfd 2.40, gold 1.16), so rpm still provides it";

/// A link whose version requirements (verneed) name an emptied node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Needer {
    /// The link's output (cwd joined with `-o`).
    pub link: PathBuf,
    /// The link is a consumer of the merge (in scope): one of the node's
    /// names should have been kept.
    pub consumer: bool,
}

/// One version node of a module whose exported names are all hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmptiedNode {
    /// Index into `Analysis::results`.
    pub result: usize,
    pub path: PathBuf,
    pub soname: Option<String>,
    pub node: String,
    /// Exported names the node had in Run-1 (all of them hidden).
    pub names: usize,
    /// rpm's name for the node.
    pub capability: String,
    /// The linker that made the module, as recorded.
    pub linker: String,
    /// Whether that linker keeps the emptied node (None: not measured).
    pub linker_keeps_node: Option<bool>,
    pub needed_by: Vec<Needer>,
}

impl EmptiedNode {
    /// A consumer needs the node: the decisions would break it.
    pub fn is_problem(&self) -> bool {
        self.needed_by.iter().any(|n| n.consumer)
    }
}

/// rpm's capability for `node` of a library (elfdeps: `SONAME(NODE)`, and
/// `(64bit)` for ELFCLASS64 except on Alpha, which never had the marker).
pub fn rpm_capability(soname: &str, node: &str, abi: Abi) -> String {
    let alpha = abi.machine == elf::EM_ALPHA.0 || abi.machine == elf::EM_FAKE_ALPHA.0;
    let marker = if abi.class == elf::ELFCLASS64.0 && !alpha {
        "(64bit)"
    } else {
        ""
    };
    format!("{soname}({node}){marker}")
}

/// Whether `linker` (as a record names it) keeps an emptied version node.
pub fn linker_keeps_empty_node(linker: &str) -> Option<bool> {
    (linker.starts_with("GNU ld ") || linker.starts_with("gold ")).then_some(true)
}

/// Every version node (verdef, not the base node) of every module whose
/// exported names the decisions all hide, with the links that need it.
pub fn emptied_version_nodes(a: &Analysis) -> Vec<EmptiedNode> {
    // (file the requirement names, node) -> records requiring it.
    let mut needs: FxHashMap<(&str, &str), Vec<usize>> = FxHashMap::default();
    for (i, r) in a.records.iter().enumerate() {
        for n in &r.version_needs {
            needs
                .entry((n.file.as_str(), n.version.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut found = Vec::new();
    for (ri, res) in a.results.iter().enumerate() {
        if res.hidden_exports.is_empty() {
            continue;
        }
        let module = &a.graph.modules[res.module];
        let r = &a.records[module.record];
        let hidden: FxHashSet<&str> = res.hidden_exports.iter().map(String::as_str).collect();
        for node in &r.version_defs {
            let mut names = 0;
            let mut all_hidden = true;
            for e in r
                .exports
                .iter()
                .filter(|e| e.version.as_ref() == Some(node))
            {
                names += 1;
                all_hidden &= hidden.contains(e.spelled().as_str());
            }
            // A node that had no names in Run-1 is not ldprune's doing.
            if names == 0 || !all_hidden {
                continue;
            }
            // DT_NEEDED (and so verneed) names a library by its SONAME, or
            // by its file name when it has none; rpm does the same.
            let name = r.soname.as_deref().unwrap_or(&module.file_name);
            let mut needed_by: Vec<Needer> = [name, module.file_name.as_str()]
                .iter()
                .flat_map(|file| needs.get(&(*file, node.as_str())))
                .flatten()
                .filter(|&&i| i != module.record)
                .map(|&i| Needer {
                    link: std::path::Path::new(&a.records[i].cwd).join(&a.records[i].output),
                    consumer: a.record_in_scope[i],
                })
                .collect();
            // Files that are consumers without a record count as consumers.
            for f in &a.consumers {
                let needs = f
                    .version_needs
                    .iter()
                    .any(|n| n.version == *node && (n.file == name || n.file == module.file_name));
                if needs {
                    needed_by.push(Needer {
                        link: f.path.clone(),
                        consumer: true,
                    });
                }
            }
            needed_by.sort();
            needed_by.dedup();
            found.push(EmptiedNode {
                result: ri,
                path: res.path.clone(),
                soname: r.soname.clone(),
                node: node.clone(),
                names,
                capability: rpm_capability(name, node, r.abi),
                linker: r.linker.clone(),
                linker_keeps_node: linker_keeps_empty_node(&r.linker),
                needed_by,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_as_rpm_spells_them() {
        let x86_64 = Abi {
            class: 2,
            data: 1,
            machine: elf::EM_X86_64.0,
        };
        let i386 = Abi {
            class: 1,
            data: 1,
            machine: elf::EM_386.0,
        };
        let alpha = Abi {
            class: 2,
            data: 1,
            machine: elf::EM_ALPHA.0,
        };
        assert_eq!(
            rpm_capability("libz.so.1", "ZLIB_1.2.9", x86_64),
            "libz.so.1(ZLIB_1.2.9)(64bit)"
        );
        assert_eq!(
            rpm_capability("libz.so.1", "ZLIB_1.2.9", i386),
            "libz.so.1(ZLIB_1.2.9)"
        );
        assert_eq!(rpm_capability("libx.so", "V1", alpha), "libx.so(V1)");
    }
}
