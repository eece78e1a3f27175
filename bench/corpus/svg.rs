//! The SVG chart of the corpus table: per linker, per library and in
//! total, how much smaller than (b) each configuration's stripped file is.

use std::fmt::Write as _;

use serde_json::Value;

const SERIES: [(&str, &str, &str); 5] = [
    ("a", "(a) plain -O2", "#bbbbbb"),
    ("c", "(c) ldprune, all links", "#4c72b0"),
    ("e-all", "(e) ideal, all links", "#a6bddb"),
    ("d", "(d) ldprune, image", "#dd8452"),
    ("e-image", "(e) ideal, image", "#f5c59f"),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Saving against (b) in percent (positive: smaller).
fn saving(configs: &Value, c: &str) -> f64 {
    let v = -configs[c]["stripped_vs_b_pct"].as_f64().unwrap_or(0.0);
    // No "-0" labels.
    if v.abs() < 0.05 { 0.0 } else { v }
}

pub fn chart(doc: &Value) -> String {
    let linkers: Vec<&Value> = doc["linkers"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let (w, panel_h, top, left) = (980.0, 300.0, 70.0, 60.0);
    let h = top + panel_h * linkers.len() as f64 + 20.0;
    let mut groups_all = Vec::new();
    for l in &linkers {
        let mut groups: Vec<(String, &Value)> = l["libraries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|lib| {
                (
                    lib["library"].as_str().unwrap_or("?").to_string(),
                    &lib["configs"],
                )
            })
            .collect();
        groups.push(("total".to_string(), &l["total"]["configs"]));
        groups_all.push(groups);
    }
    let vals = groups_all
        .iter()
        .flatten()
        .flat_map(|(_, c)| SERIES.iter().map(|(k, _, _)| saving(c, k)));
    let (mut lo, mut hi) = (0.0f64, 10.0f64);
    for v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    hi = (hi / 10.0).ceil() * 10.0;
    lo = (lo / 5.0).floor() * 5.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="14" font-weight="bold">ldprune on six Debian packages: stripped library size saved against (b) --gc-sections</text>"#
    );
    for (i, (_, name, color)) in SERIES.iter().enumerate() {
        let x = left + i as f64 * 180.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="34" width="12" height="12" fill="{color}"/><text x="{}" y="44">{}</text>"#,
            x + 16.0,
            esc(name)
        );
    }
    for (pi, (l, groups)) in linkers.iter().zip(&groups_all).enumerate() {
        let y0 = top + pi as f64 * panel_h;
        let plot_h = panel_h - 60.0;
        let y = |v: f64| y0 + 20.0 + (hi - v) / (hi - lo) * plot_h;
        let name = l["linker"].as_str().unwrap_or("?");
        let _ = writeln!(
            s,
            r#"<text x="{left}" y="{}" font-size="13" font-weight="bold">{}</text>"#,
            y0 + 12.0,
            esc(if name == "bfd" { "ld.bfd" } else { name })
        );
        let step = if hi - lo > 40.0 { 10.0 } else { 5.0 };
        let mut t = (lo / step).ceil() * step;
        while t <= hi + 0.01 {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{0}" y1="{1}" y2="{1}" stroke="{2}"/><text x="{3}" y="{4}" text-anchor="end">{5}%</text>"##,
                w - 10.0,
                y(t),
                if t == 0.0 { "#000" } else { "#e5e5e5" },
                left - 6.0,
                y(t) + 4.0,
                t + 0.0
            );
            t += step;
        }
        let gw = (w - left - 20.0) / groups.len().max(1) as f64;
        let bw = (gw - 16.0) / SERIES.len() as f64;
        for (gi, (label, configs)) in groups.iter().enumerate() {
            let gx = left + gi as f64 * gw + 8.0;
            for (si, (key, _, color)) in SERIES.iter().enumerate() {
                let v = saving(configs, key);
                let (ya, yb) = (y(v.max(0.0)), y(v.min(0.0)));
                let x = gx + si as f64 * bw;
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{ya:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} {}: {v:.1}%</title></rect>"#,
                    bw - 2.0,
                    (yb - ya).max(0.5),
                    esc(label),
                    key
                );
                let ty = if v >= 0.0 { ya - 3.0 } else { yb + 10.0 };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{ty:.1}" font-size="8" text-anchor="middle">{v:.0}</text>"#,
                    x + (bw - 2.0) / 2.0
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="{}">{}</text>"#,
                gx + (gw - 16.0) / 2.0,
                y0 + panel_h - 22.0,
                if label == "total" { "bold" } else { "normal" },
                esc(label)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
