//! `ldprune dump`: the recorded links, in full, as text or JSON.

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::elf::object::Target;
use crate::elf::output::DynSymbol;
use crate::elf::types::SymbolPlace;
use crate::state::StateError;
use crate::state::record::{LinkRecord, LinkStatus, ObjectRecord};

pub fn run(dir: &Path, filter: Option<&str>, as_json: bool) -> Result<i32, StateError> {
    let super::Loaded { records, bad } = super::load(dir)?;
    let chosen: Vec<&LinkRecord> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| filter.is_none_or(|f| matches(r, f)))
        .collect();
    if let Some(f) = filter
        && chosen.is_empty()
    {
        eprintln!("ldprune: error: no recorded link matches {f:?}");
        return Ok(1);
    }
    let mut out = String::new();
    if as_json {
        let links: Vec<Value> = chosen.iter().map(|r| to_json(r)).collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&links).unwrap_or_default()
        );
    } else {
        for r in chosen {
            print_text(&mut out, r);
        }
    }
    super::print(&out);
    Ok(if bad.is_empty() { 0 } else { 1 })
}

/// NAME matches the output (as given, or its file name), the SONAME, or a
/// prefix (at least 4 digits) of the identity.
fn matches(r: &LinkRecord, name: &str) -> bool {
    r.output == name
        || r.output_file_name() == name
        || Path::new(&r.cwd).join(&r.output) == Path::new(name)
        || r.soname.as_deref() == Some(name)
        || (name.len() >= 4 && r.identity.to_string().starts_with(name))
}

fn status_text(r: &LinkRecord) -> String {
    match &r.status {
        LinkStatus::Complete if r.incomplete.is_empty() => "complete".into(),
        LinkStatus::Complete => format!("complete, graph incomplete: {}", r.incomplete.join("; ")),
        LinkStatus::Failed { reason } => format!("FAILED: {reason}"),
    }
}

fn object_label(o: &ObjectRecord) -> String {
    match &o.member {
        Some(m) => format!("{}({m})", o.path),
        None => o.path.clone(),
    }
}

fn place_text(r: &LinkRecord, o: &ObjectRecord, p: SymbolPlace) -> String {
    match p {
        SymbolPlace::Undefined => "UND".into(),
        SymbolPlace::Common => "COMMON".into(),
        SymbolPlace::Absolute => "ABS".into(),
        SymbolPlace::Unrecorded => "(unrecorded section)".into(),
        SymbolPlace::Section(i) => r.str(o.sections[i as usize].name).to_string(),
    }
}

fn target_text(r: &LinkRecord, o: &ObjectRecord, t: Target) -> String {
    match t {
        Target::Symbol(i) => format!("symbol {}", r.str(o.symbols[i as usize].name)),
        Target::Section(i) => format!("section {}", r.str(o.sections[i as usize].name)),
    }
}

fn dyn_list(v: &[DynSymbol]) -> String {
    v.iter()
        .map(|d| format!("{} [{}]", d.spelled(), d.kind.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_text(out: &mut String, r: &LinkRecord) {
    let _ = writeln!(
        out,
        "link {} {} ({}, {})",
        r.identity,
        r.output,
        r.kind.as_str(),
        r.linker
    );
    let _ = writeln!(out, "  status: {}", status_text(r));
    let _ = writeln!(out, "  cwd: {}", r.cwd);
    let _ = writeln!(
        out,
        "  output linked by {} ({} bytes)",
        r.output_linker, r.output_size
    );
    if let Some(s) = &r.soname {
        let _ = writeln!(out, "  soname: {s}");
    }
    if !r.needed.is_empty() {
        let _ = writeln!(out, "  needed: {}", r.needed.join(", "));
    }
    if !r.version_defs.is_empty() {
        let _ = writeln!(out, "  version nodes: {}", r.version_defs.join(", "));
    }
    if !r.version_needs.is_empty() {
        let v: Vec<String> = r
            .version_needs
            .iter()
            .map(|n| {
                format!(
                    "{}({}){}",
                    n.file,
                    n.version,
                    if n.weak { " weak" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(out, "  version needs: {}", v.join(", "));
    }
    let _ = writeln!(
        out,
        "  exports ({}): {}",
        r.exports.len(),
        dyn_list(&r.exports)
    );
    let _ = writeln!(
        out,
        "  imports ({}): {}",
        r.imports.len(),
        dyn_list(&r.imports)
    );
    for s in &r.shared_inputs {
        let _ = writeln!(out, "  shared library input: {s}");
    }
    for s in &r.scripts {
        let _ = writeln!(out, "  linker script input: {s}");
    }
    for o in &r.objects {
        let _ = writeln!(out, "  object {} hash {}", object_label(o), o.hash);
        for (i, s) in o.sections.iter().enumerate() {
            let group = s
                .group
                .map(|g| format!(" group {}", r.str(g)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    section {} {} size {} flags {:#x}{group}",
                r.str(s.name),
                s.kind.as_str(),
                s.size,
                s.flags
            );
            // Edges are sorted by their source section.
            let start = o.edges.partition_point(|e| (e.0 as usize) < i);
            let end = o.edges.partition_point(|e| (e.0 as usize) <= i);
            for &(_, to) in &o.edges[start..end] {
                let _ = writeln!(out, "      -> {}", target_text(r, o, to));
            }
        }
        for y in &o.symbols {
            let _ = writeln!(
                out,
                "    symbol {} {} {} {} size {} in {}",
                r.str(y.name),
                y.binding.as_str(),
                y.visibility.as_str(),
                y.kind.as_str(),
                y.size,
                place_text(r, o, y.place)
            );
        }
    }
    if !r.cstrings.is_empty() {
        let v: Vec<&str> = r.cstrings.iter().map(|&c| r.str(c)).collect();
        let _ = writeln!(out, "  c strings ({}): {}", v.len(), v.join(" "));
    }
    let _ = writeln!(out);
}

fn dyn_json(d: &DynSymbol) -> Value {
    json!({
        "name": d.name, "version": d.version, "hidden_version": d.hidden_version,
        "version_file": d.version_file, "type": d.kind.as_str(), "binding": d.binding.as_str(),
    })
}

/// The whole record with names resolved.
pub fn to_json(r: &LinkRecord) -> Value {
    let objects: Vec<Value> = r
        .objects
        .iter()
        .map(|o| {
            let sections: Vec<Value> = o
                .sections
                .iter()
                .map(|s| {
                    json!({
                        "name": r.str(s.name), "kind": s.kind.as_str(), "flags": s.flags,
                        "size": s.size, "group": s.group.map(|g| r.str(g)),
                    })
                })
                .collect();
            let symbols: Vec<Value> = o
                .symbols
                .iter()
                .map(|y| {
                    json!({
                        "name": r.str(y.name), "binding": y.binding.as_str(),
                        "visibility": y.visibility.as_str(), "type": y.kind.as_str(),
                        "size": y.size, "section": place_text(r, o, y.place),
                    })
                })
                .collect();
            let edges: Vec<Value> = o
                .edges
                .iter()
                .map(|&(from, to)| {
                    let (kind, name) = match to {
                        Target::Symbol(i) => ("symbol", r.str(o.symbols[i as usize].name)),
                        Target::Section(i) => ("section", r.str(o.sections[i as usize].name)),
                    };
                    json!({"from": r.str(o.sections[from as usize].name), "to": name, "to_kind": kind})
                })
                .collect();
            json!({
                "path": o.path, "member": o.member, "offset": o.offset, "hash": o.hash.to_string(),
                "sections": sections, "symbols": symbols, "edges": edges,
            })
        })
        .collect();
    let (status, reason) = match &r.status {
        LinkStatus::Complete => ("complete", None),
        LinkStatus::Failed { reason } => ("failed", Some(reason.as_str())),
    };
    json!({
        "identity": r.identity.to_string(), "status": status, "failure": reason,
        "incomplete": r.incomplete, "linker": r.linker,
        "output_linker": r.output_linker.to_string(), "output_size": r.output_size,
        "kind": r.kind.as_str(),
        "output": r.output, "cwd": r.cwd, "argv": r.argv, "entry": r.entry,
        "abi": {"class": r.abi.class, "data": r.abi.data, "machine": r.abi.machine},
        "soname": r.soname, "needed": r.needed, "version_defs": r.version_defs,
        "version_needs": r.version_needs.iter().map(|n| json!({
            "file": n.file, "version": n.version, "weak": n.weak,
        })).collect::<Vec<_>>(),
        "exports": r.exports.iter().map(dyn_json).collect::<Vec<_>>(),
        "imports": r.imports.iter().map(dyn_json).collect::<Vec<_>>(),
        "objects": objects, "shared_inputs": r.shared_inputs, "scripts": r.scripts,
        "cstrings": r.cstrings.iter().map(|&c| r.str(c)).collect::<Vec<_>>(),
    })
}
