//! `report --html`: the report as one self-contained page. No scripts,
//! fonts or images from anywhere: inline CSS and SVG bars, so it opens
//! from a mail attachment or a CI artifact. Every number shown is also in a
//! `data-*` attribute (bytes, unrounded), which is what the test compares
//! with `report --json`. Every name is escaped: C++ names hold `<`, `>`, `&`.

use std::fmt::Write;

use super::image::ImageSizes;
use super::kept::KeptReason;

/// One module's bars: text+data bytes.
pub struct ModuleBars {
    pub module: String,
    pub exports: usize,
    pub hidden: usize,
    /// Before Run-2: Run-1's output as measured, or the merge's figure
    /// when Run-2 has not run.
    pub before: u64,
    pub predicted: u64,
    /// Run-2's output as measured; None before Run-2.
    pub achieved: Option<u64>,
}

/// An emptied version node.
pub struct NodeRow {
    pub module: String,
    pub node: String,
    pub names: usize,
    pub capability: String,
    pub problem: bool,
}

/// A link Run-2 left unchanged or that failed.
pub struct LinkRow {
    pub link: String,
    pub why: String,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub title: String,
    pub modules: Vec<ModuleBars>,
    /// Modules that are build-system probes (counted, not drawn).
    pub probe_modules: usize,
    pub image: Option<&'a ImageSizes>,
    pub kept: &'a [KeptReason],
    pub nodes: Vec<NodeRow>,
    pub sites: &'a [(String, Vec<String>)],
    pub unchanged: Vec<LinkRow>,
    pub failed: Vec<LinkRow>,
    /// Build-system probes Run-2 left unchanged (counted, not listed).
    pub unchanged_probes: usize,
}

/// Escapes text for an element or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bytes below 1 KiB (a kept typeinfo is 16 bytes, not "0.0 KiB").
fn kib(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

const STYLE: &str = "body{font:14px/1.4 sans-serif;margin:1.5em;color:#222;background:#fff}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:middle}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f4f4f4}\
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}\
.before{fill:#8c8c8c;background:#8c8c8c}.predicted{fill:#4a90d9;background:#4a90d9}\
.achieved{fill:#2e9e4f;background:#2e9e4f}.problem{color:#b00020;font-weight:bold}\
.total{font-size:1.1em;margin:.5em 0}";

/// Width of the widest bar, in pixels.
const BAR: f64 = 360.0;

/// Three bars (before, predicted, achieved) scaled to `max`.
fn bars(out: &mut String, max: u64, values: [(&str, Option<u64>); 3]) {
    let _ = write!(
        out,
        "<svg width=\"{}\" height=\"30\" role=\"img\">",
        BAR as u32 + 2
    );
    for (i, (class, v)) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        let w = if max == 0 {
            0.0
        } else {
            (*v as f64 / max as f64 * BAR).max(1.0)
        };
        let _ = write!(
            out,
            "<rect class=\"{class}\" x=\"0\" y=\"{}\" width=\"{w:.1}\" height=\"9\"><title>{class}: {}</title></rect>",
            i * 10,
            kib(*v)
        );
    }
    out.push_str("</svg>");
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    out.push_str("<p class=\"legend\">");
    for (class, text) in items {
        let _ = write!(out, "<span class=\"{class}\"></span>{}", escape(text));
    }
    out.push_str("</p>\n");
}

/// The page.
pub fn render(p: &Page) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&p.title),
        escape(&p.title)
    );
    totals(&mut out, p);
    modules(&mut out, p);
    if let Some(image) = p.image {
        image_section(&mut out, image);
    }
    kept(&mut out, p.kept);
    nodes(&mut out, &p.nodes);
    sites(&mut out, p.sites);
    links(&mut out, p);
    out.push_str("</body></html>\n");
    out
}

fn totals(out: &mut String, p: &Page) {
    let before: u64 = p.modules.iter().map(|m| m.before).sum();
    let predicted: u64 = p.modules.iter().map(|m| m.predicted).sum();
    let applied: Vec<&ModuleBars> = p.modules.iter().filter(|m| m.achieved.is_some()).collect();
    let _ = write!(
        out,
        "<p class=\"total\" id=\"totals\" data-modules=\"{}\" data-before=\"{before}\" data-predicted=\"{predicted}\"",
        p.modules.len()
    );
    if !applied.is_empty() {
        let achieved: u64 = applied.iter().filter_map(|m| m.achieved).sum();
        let applied_before: u64 = applied.iter().map(|m| m.before).sum();
        let _ = write!(
            out,
            " data-applied=\"{}\" data-applied-before=\"{applied_before}\" data-achieved=\"{achieved}\">\
             {} modules: text+data {} before, {} predicted after Run-2; \
             on the {} modules Run-2 applied: {} before, {} achieved",
            applied.len(),
            p.modules.len(),
            kib(before),
            kib(predicted),
            applied.len(),
            kib(applied_before),
            kib(achieved)
        );
    } else {
        let _ = write!(
            out,
            ">{} modules: text+data {} before, {} predicted after Run-2 (Run-2 not applied yet)",
            p.modules.len(),
            kib(before),
            kib(predicted)
        );
    }
    out.push_str("</p>\n");
    if let Some(image) = p.image {
        let _ = write!(
            out,
            "<p class=\"total\" id=\"image-total\" data-elf-before=\"{}\" data-elf-after=\"{}\">the image {}: ELF files {} before, {} after",
            image.elf_before,
            image.elf_after,
            escape(&image.root.display().to_string()),
            kib(image.elf_before),
            kib(image.elf_after)
        );
        if let Some(c) = &image.compressed {
            let _ = write!(
                out,
                "; compressed as {}: <span id=\"compressed\" data-after=\"{}\"{}>{} before, {} after</span>",
                c.format.describe(),
                c.after,
                c.before
                    .map(|b| format!(" data-before=\"{b}\""))
                    .unwrap_or_default(),
                c.before.map_or("not measured".to_string(), kib),
                kib(c.after)
            );
        }
        out.push_str("</p>\n");
    }
}

fn modules(out: &mut String, p: &Page) {
    out.push_str("<h2>Modules: text+data bytes</h2>\n");
    legend(
        out,
        &[
            ("before", "before (Run-1)"),
            ("predicted", "predicted after"),
            ("achieved", "achieved (Run-2)"),
        ],
    );
    let mut rows: Vec<&ModuleBars> = p.modules.iter().collect();
    rows.sort_by(|x, y| y.before.cmp(&x.before).then(x.module.cmp(&y.module)));
    let max = rows
        .iter()
        .map(|m| m.before.max(m.predicted).max(m.achieved.unwrap_or(0)))
        .max()
        .unwrap_or(0);
    out.push_str(
        "<table id=\"modules\"><tr><th>module</th><th class=\"n\">exports</th><th class=\"n\">hidden</th>\
         <th class=\"n\">before</th><th class=\"n\">predicted</th><th class=\"n\">achieved</th><th></th></tr>\n",
    );
    for m in rows {
        let _ = write!(
            out,
            "<tr class=\"module\" data-module=\"{}\" data-before=\"{}\" data-predicted=\"{}\"{}>\
             <td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>",
            escape(&m.module),
            m.before,
            m.predicted,
            m.achieved
                .map(|a| format!(" data-achieved=\"{a}\""))
                .unwrap_or_default(),
            escape(&m.module),
            m.exports,
            m.hidden,
            kib(m.before),
            kib(m.predicted),
            m.achieved.map_or("-".to_string(), kib),
        );
        bars(
            out,
            max,
            [
                ("before", Some(m.before)),
                ("predicted", Some(m.predicted)),
                ("achieved", m.achieved),
            ],
        );
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
    if p.probe_modules > 0 {
        let _ = writeln!(
            out,
            "<p>{} build-system probes (configure's conftest, CMake's and Meson's checks) not listed.</p>",
            p.probe_modules
        );
    }
}

fn image_section(out: &mut String, image: &ImageSizes) {
    out.push_str("<h2>The image: ELF files</h2>\n");
    legend(
        out,
        &[("before", "before Run-2"), ("achieved", "after Run-2")],
    );
    let max = image
        .files
        .iter()
        .map(|f| f.before.max(f.after))
        .max()
        .unwrap_or(0);
    out.push_str(
        "<table id=\"image\"><tr><th>file</th><th class=\"n\">before</th><th class=\"n\">after</th>\
         <th class=\"n\">xz before</th><th class=\"n\">xz after</th><th>before from</th><th></th></tr>\n",
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), kib);
    for f in &image.files {
        let _ = write!(
            out,
            "<tr class=\"file\" data-path=\"{}\" data-before=\"{}\" data-after=\"{}\"><td>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>",
            escape(&f.path),
            f.before,
            f.after,
            escape(&f.path),
            kib(f.before),
            kib(f.after),
            opt(f.xz_before),
            opt(f.xz_after),
            escape(f.before_from.describe())
        );
        bars(
            out,
            max,
            [
                ("before", Some(f.before)),
                ("achieved", Some(f.after)),
                ("predicted", None),
            ],
        );
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
}

fn kept(out: &mut String, kept: &[KeptReason]) {
    out.push_str("<h2>Why exports were kept</h2>\n");
    if kept.is_empty() {
        out.push_str("<p>No export was kept.</p>\n");
        return;
    }
    out.push_str(
        "<table id=\"kept\"><tr><th>reason</th><th class=\"n\">names</th><th class=\"n\">bytes of their sections</th></tr>\n",
    );
    for k in kept {
        let _ = writeln!(
            out,
            "<tr class=\"reason\" data-reason=\"{}\" data-names=\"{}\" data-bytes=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(k.reason),
            k.names,
            k.bytes,
            escape(k.reason),
            k.names,
            kib(k.bytes)
        );
    }
    out.push_str("</table>\n");
}

fn nodes(out: &mut String, nodes: &[NodeRow]) {
    let _ = writeln!(
        out,
        "<h2>Version nodes left without exported names ({})</h2>",
        nodes.len()
    );
    if nodes.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table id=\"nodes\"><tr><th>module</th><th>node</th><th class=\"n\">names hidden</th><th>capability</th><th></th></tr>\n");
    for n in nodes {
        let _ = writeln!(
            out,
            "<tr class=\"node\" data-node=\"{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&n.node),
            escape(&n.module),
            escape(&n.node),
            n.names,
            escape(&n.capability),
            if n.problem {
                "<span class=\"problem\">a consumer requires it</span>"
            } else {
                ""
            }
        );
    }
    out.push_str("</table>\n");
}

fn sites(out: &mut String, sites: &[(String, Vec<String>)]) {
    let _ = writeln!(
        out,
        "<h2>Dynamic lookup sites ({})</h2>\n<p>Names looked up at run time: string literals are kept, other names need a keep list.</p>",
        sites.len()
    );
    if sites.is_empty() {
        return;
    }
    out.push_str("<table id=\"sites\"><tr><th>link</th><th>functions</th></tr>\n");
    for (link, functions) in sites {
        let _ = writeln!(
            out,
            "<tr class=\"site\"><td>{}</td><td>{}</td></tr>",
            escape(link),
            escape(&functions.join(", "))
        );
    }
    out.push_str("</table>\n");
}

fn links(out: &mut String, p: &Page) {
    for (id, title, rows) in [
        ("unchanged", "Links left unchanged by Run-2", &p.unchanged),
        ("failed", "Run-2 links that failed", &p.failed),
    ] {
        let _ = writeln!(
            out,
            "<h2>{title} (<span id=\"{id}-count\" data-count=\"{}\">{}</span>)</h2>",
            rows.len(),
            rows.len()
        );
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<table id=\"{id}\"><tr><th>link</th><th>why</th></tr>");
        for l in rows.iter() {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&l.link),
                escape(&l.why)
            );
        }
        out.push_str("</table>\n");
    }
    let _ = writeln!(
        out,
        "<p id=\"probes\" data-count=\"{}\">Build-system probes left unchanged by Run-2 (new every run, not listed): {}</p>",
        p.unchanged_probes, p.unchanged_probes
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        let sites = vec![(
            "/b/lib<x>.so".to_string(),
            vec!["Acc<long>::add&\"q\"".to_string()],
        )];
        let page = Page {
            title: "t".into(),
            modules: vec![ModuleBars {
                module: "/b/libacc<long>.so".into(),
                exports: 3,
                hidden: 1,
                before: 4096,
                predicted: 1024,
                achieved: None,
            }],
            probe_modules: 0,
            image: None,
            kept: &[],
            nodes: Vec::new(),
            sites: &sites,
            unchanged: Vec::new(),
            failed: Vec::new(),
            unchanged_probes: 0,
        };
        let html = render(&page);
        assert!(html.contains("/b/libacc&lt;long&gt;.so"), "{html}");
        assert!(
            html.contains("Acc&lt;long&gt;::add&amp;&quot;q&quot;"),
            "{html}"
        );
        assert!(!html.contains("<long>"), "{html}");
    }
}
