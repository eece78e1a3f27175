//! `ldprune report` on real links: the image as a whole (ELF bytes and
//! compressed size before and after Run-2), the HTML page rendered by
//! headless Chromium, and `explain` with demangled C++ names.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Fixture, Linker, ldprune};

/// libcalc.so: calc_table_unused (32 KiB of numbers that do not compress
/// well) goes with calc_unused.
fn calc_source() -> String {
    let mut x: u32 = 12345;
    let table: Vec<String> = (0..8192)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 1).to_string()
        })
        .collect();
    format!(
        "int calc_table_unused[8192] = {{{}}};\n{CALC}",
        table.join(",")
    )
}

const CALC: &str = r#"
int calc_used(int x) { return x * 3 + 1; }
int calc_unused(int x) {
    int s = 0;
    for (int i = 0; i < x; i++) s += calc_table_unused[i & 8191] * i;
    return s;
}
"#;

const ACC: &str = r#"
#include <string>
template <typename T> struct Acc {
    T total = 0;
    void add(T v);
    std::string name() const;
};
template <typename T> void Acc<T>::add(T v) { total += v; }
template <typename T> std::string Acc<T>::name() const { return "acc" + std::to_string(total); }
template struct Acc<long>;
template struct Acc<double>;
extern "C" long acc_used(long x) { Acc<long> a; a.add(x); return a.total; }
"#;

const MAIN: &str = r#"
#include <dlfcn.h>
#include <stdio.h>
int calc_used(int); long acc_used(long);
int main(void) {
    int (*f)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "calc_used");
    printf("%d %ld\n", f ? f(2) : calc_used(2), acc_used(5));
    return 0;
}
"#;

/// The outputs, their drivers and inputs.
const LINKS: &[(&str, &str, &[&str])] = &[
    ("libcalc.so", "gcc", &["-shared", "calc.o"]),
    ("libacc.so", "g++", &["-shared", "acc.o"]),
    ("prog", "g++", &["main.o", "-L.", "-lcalc", "-lacc"]),
];

fn link_all(f: &Fixture, run: u32) {
    for (output, driver, args) in LINKS {
        let mut a = vec!["-Wl,--gc-sections", "-o", output];
        a.extend_from_slice(args);
        a.push("-Wl,-rpath,$ORIGIN/../lib");
        f.link_in_run(run, driver, &a);
    }
}

/// Installs the outputs into `root` as a package would: the libraries
/// under /usr/lib (libacc.so stripped, as dh_strip does), the program
/// under /usr/bin, and a file that is not ELF.
fn install(f: &Fixture, root: &Path) {
    for d in ["usr/lib", "usr/bin", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(f.path("libcalc.so"), root.join("usr/lib/libcalc.so")).unwrap();
    std::fs::copy(f.path("prog"), root.join("usr/bin/prog")).unwrap();
    f.run(
        Command::new("strip")
            .args(["--strip-unneeded", "-o"])
            .arg(root.join("usr/lib/libacc.so"))
            .arg(f.path("libacc.so")),
    );
    std::fs::write(root.join("etc/prog.conf"), "level = 3\n".repeat(100)).unwrap();
}

/// Run-1, the image installed and copied, merge, Run-2 in the same paths,
/// the image installed again. Returns (image, copy before Run-2).
fn build(f: &Fixture) -> (PathBuf, PathBuf) {
    for (name, text) in [
        ("calc.c", &calc_source()[..]),
        ("acc.cc", ACC),
        ("main.c", MAIN),
    ] {
        f.write(name, text).compile(name, &[]);
    }
    link_all(f, 1);
    let (image, before) = (f.path("image"), f.path("image-before"));
    install(f, &before);
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
    link_all(f, 2);
    install(f, &image);
    let out = f.run(&mut Command::new(image.join("usr/bin/prog")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "7 5\n");
    (image, before)
}

fn report_json(f: &Fixture, args: &[&str]) -> serde_json::Value {
    let out = f.run(
        ldprune()
            .args(["report", "--json", "--state"])
            .arg(f.state())
            .args(args),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn file<'v>(image: &'v serde_json::Value, path: &str) -> &'v serde_json::Value {
    image["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {image}"))
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// With a copy of the old image every size is measured; without it the
/// state gives the same "before" for a file installed as linked, an
/// estimate for a stripped one, and no compressed size before.
fn image_sizes(linker: Linker) {
    let f = Fixture::new(linker);
    let (image, before) = build(&f);
    let root = image.to_str().unwrap();
    let v = report_json(
        &f,
        &[
            "--measure",
            root,
            "--before",
            before.to_str().unwrap(),
            "--compress",
            "squashfs",
        ],
    );
    let img = &v["image"];
    let files = img["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "ELF files only: {img}");
    for f in files {
        let p = f["path"].as_str().unwrap();
        assert_eq!(u(&f["before"]), size(&before.join(&p[1..])), "{f}");
        assert_eq!(u(&f["after"]), size(&image.join(&p[1..])), "{f}");
        assert_eq!(f["before_from"], "image", "{f}");
        assert!(
            u(&f["xz_after"]) > 0 && u(&f["xz_after"]) < u(&f["after"]),
            "{f}"
        );
    }
    let calc = file(img, "/usr/lib/libcalc.so");
    // calc_table_unused alone is 32 KiB: it goes, compressed or not.
    assert!(
        u(&calc["after"]) + 32 * 1024 <= u(&calc["before"]),
        "{calc}"
    );
    assert!(u(&calc["xz_after"]) < u(&calc["xz_before"]), "{calc}");
    assert_eq!(calc["library"], true);
    assert_eq!(file(img, "/usr/bin/prog")["library"], false);
    assert_eq!(
        u(&img["elf_before"]),
        files.iter().map(|f| u(&f["before"])).sum::<u64>()
    );
    let c = &img["compressed"];
    assert_eq!(c["format"], "squashfs", "{c}");
    assert!(u(&c["after"]) < u(&c["before"]), "{c}");
    assert!(u(&c["after"]) < u(&img["elf_after"]), "{c}");

    // Without the copy: "before" from the state.
    let v = report_json(&f, &["--measure", root, "--compress", "tar-xz"]);
    let img = &v["image"];
    let calc = file(img, "/usr/lib/libcalc.so");
    assert_eq!(calc["before_from"], "run1-output", "{calc}");
    assert_eq!(
        u(&calc["before"]),
        size(&before.join("usr/lib/libcalc.so")),
        "the state's Run-1 size is the file's size before"
    );
    assert_eq!(calc["xz_before"], serde_json::Value::Null);
    let acc = file(img, "/usr/lib/libacc.so");
    assert_eq!(
        acc["before_from"], "estimated",
        "stripped on install: {acc}"
    );
    assert!(u(&acc["before"]) >= u(&acc["after"]), "{acc}");
    assert_eq!(u(&img["rebuilt"]), 3, "{img}");
    let c = &img["compressed"];
    assert_eq!(c["format"], "tar-xz", "{c}");
    assert_eq!(c["before"], serde_json::Value::Null, "{c}");
    assert!(
        u(&c["after"]) > 0 && u(&c["after"]) < u(&img["elf_after"]),
        "{c}"
    );

    // The text names the image and says why "before" is missing.
    let out = f.run(
        ldprune()
            .args(["report", "--compress", "none", "--state"])
            .arg(f.state())
            .args(["--measure", root]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "the image {root}: 3 ELF files (3 rebuilt by Run-2)"
        )),
        "{text}"
    );
    assert!(text.contains("/usr/lib/libcalc.so"), "{text}");
    // calc_used: prog's dlsym names it; acc_used: prog imports it.
    assert!(
        text.contains("exports kept, by reason (names, KiB of their sections):\n"),
        "{text}"
    );
    for line in [
        "  named by a C string where names are looked up: 1, ",
        "  imported by a module: 1, ",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}
both_linkers!(image_sizes, image_sizes);

/// Runs headless Chromium (scripts/debian-deps installs it) on `page` with
/// a fresh profile, and no network.
fn chromium(f: &Fixture, page: &Path, args: &[&str]) -> std::process::Output {
    let profile = tempfile::Builder::new()
        .prefix("ldprune-chromium-")
        .tempdir()
        .unwrap();
    f.run(
        Command::new("timeout")
            .args([
                "120",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
            ])
            .args(["--no-first-run", "--disable-background-networking"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display())),
    )
}

/// The attributes of every element whose class is `class`, in order.
fn elements(dom: &str, class: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let needle = format!("class=\"{class}\"");
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find(&needle) {
        let start = rest[..i].rfind('<').unwrap();
        let end = i + rest[i..].find('>').unwrap();
        found.push(attributes(&rest[start..end]));
        rest = &rest[end..];
    }
    found
}

fn element(dom: &str, id: &str) -> std::collections::BTreeMap<String, String> {
    let i = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = dom[..i].rfind('<').unwrap();
    let end = i + dom[i..].find('>').unwrap();
    attributes(&dom[start..end])
}

/// `<tag a="x" b="y"` -> {a: x, b: y}, entities decoded.
fn attributes(tag: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].rsplit(' ').next().unwrap().to_string();
        let value_end = eq + 2 + rest[eq + 2..].find('"').unwrap();
        let value = rest[eq + 2..value_end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        out.insert(key, value);
        rest = &rest[value_end + 1..];
    }
    out
}

fn num(m: &std::collections::BTreeMap<String, String>, key: &str) -> u64 {
    m.get(key)
        .unwrap_or_else(|| panic!("{key} in {m:?}"))
        .parse()
        .unwrap()
}

/// `report --html`: Chromium renders the page (a screenshot of more than
/// one colour), and the numbers of its DOM are those of `report --json`.
#[test]
fn html_page_renders_and_matches_json() {
    let f = Fixture::new(Linker::Bfd);
    let (image, before) = build(&f);
    let page = f.path("report.html");
    let v = report_json(
        &f,
        &[
            "--measure",
            image.to_str().unwrap(),
            "--before",
            before.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for remote in ["http:", "https:", "<script src", "<link", "@import", "url("] {
        assert!(!html.contains(remote), "{remote} in a self-contained page");
    }

    let shot = f.path("report.png");
    chromium(
        &f,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1400",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 1400));
    let bpp = info.color_type.samples();
    let colours: std::collections::BTreeSet<&[u8]> =
        pixels[..info.buffer_size()].chunks(bpp).collect();
    // White, text, and the bars' grey, blue and green at least.
    assert!(colours.len() > 4, "{} colours", colours.len());

    let out = chromium(&f, &page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let modules = v["modules"].as_array().unwrap();
    let rows = elements(&dom, "module");
    assert_eq!(rows.len(), modules.len(), "one row per module");
    for row in &rows {
        let m = modules
            .iter()
            .find(|m| m["module"] == row["data-module"].as_str())
            .unwrap();
        let (p, a) = (&m["predicted"], &m["achieved"]);
        let before = u(&a["text_before"]) + u(&a["data_before"]);
        let saving = (u(&p["text_before"]) + u(&p["data_before"]))
            - (u(&p["text_after"]) + u(&p["data_after"]));
        assert_eq!(num(row, "data-before"), before, "{row:?}");
        assert_eq!(num(row, "data-predicted"), before - saving, "{row:?}");
        assert_eq!(
            num(row, "data-achieved"),
            u(&a["text_after"]) + u(&a["data_after"]),
            "{row:?}"
        );
    }
    let img = &v["image"];
    let total = element(&dom, "image-total");
    assert_eq!(num(&total, "data-elf-before"), u(&img["elf_before"]));
    assert_eq!(num(&total, "data-elf-after"), u(&img["elf_after"]));
    let kib = |n: u64| format!("{:.1} KiB", n as f64 / 1024.0);
    assert!(
        dom.contains(&format!(
            "ELF files {} before, {} after",
            kib(u(&img["elf_before"])),
            kib(u(&img["elf_after"]))
        )),
        "the visible totals"
    );
    let compressed = element(&dom, "compressed");
    assert_eq!(
        num(&compressed, "data-before"),
        u(&img["compressed"]["before"])
    );
    assert_eq!(
        num(&compressed, "data-after"),
        u(&img["compressed"]["after"])
    );
    let files = elements(&dom, "file");
    assert_eq!(files.len(), img["files"].as_array().unwrap().len());
    for row in &files {
        let f = file(img, &row["data-path"]);
        assert_eq!(num(row, "data-before"), u(&f["before"]));
        assert_eq!(num(row, "data-after"), u(&f["after"]));
    }
    let kept = v["kept_reasons"].as_array().unwrap();
    let reasons = elements(&dom, "reason");
    assert_eq!(reasons.len(), kept.len());
    assert!(!kept.is_empty());
    for (row, k) in reasons.iter().zip(kept) {
        assert_eq!(row["data-reason"], k["reason"].as_str().unwrap());
        assert_eq!(num(row, "data-names"), u(&k["names"]));
        assert_eq!(num(row, "data-bytes"), u(&k["bytes"]));
    }
    let counts = &v["unchanged_counts"];
    assert_eq!(
        num(&element(&dom, "unchanged-count"), "data-count"),
        u(&counts["unchanged"])
    );
    assert_eq!(
        num(&element(&dom, "failed-count"), "data-count"),
        u(&counts["failed"])
    );
    assert_eq!(
        num(&element(&dom, "probes"), "data-count"),
        u(&counts["probes"])
    );
    // The lookup site: prog imports dlsym.
    let sites = v["dynamic_lookup_sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(elements(&dom, "site").len(), 1);
}

fn explain(f: &Fixture, name: &str) -> serde_json::Value {
    let out = f.run(
        ldprune()
            .args(["explain", "--json", "--state"])
            .arg(f.state())
            .arg(name),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `explain` takes C++ names as people write them: with or without the
/// parameter list; the mangled spelling still works.
#[test]
fn explain_demangled_names() {
    let f = Fixture::new(Linker::Gold);
    for (name, text) in [
        ("calc.c", &calc_source()[..]),
        ("acc.cc", ACC),
        ("main.c", MAIN),
    ] {
        f.write(name, text).compile(name, &[]);
    }
    link_all(&f, 1);
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
    for q in ["Acc<long>::add", "Acc<long>::add(long)", "_ZN3AccIlE3addEl"] {
        let v = explain(&f, q);
        let answers = v.as_array().unwrap();
        assert_eq!(answers.len(), 1, "{q}: {v}");
        assert_eq!(answers[0]["name"], "_ZN3AccIlE3addEl", "{q}: {v}");
        assert_eq!(answers[0]["demangled"], "Acc<long>::add(long)", "{q}: {v}");
        assert_eq!(answers[0]["verdict"], "hidden", "{q}: {v}");
        assert!(
            answers[0]["module"]
                .as_str()
                .unwrap()
                .ends_with("libacc.so")
        );
    }
    // A const member function, and one only the library itself uses.
    let v = explain(&f, "Acc<double>::name");
    assert_eq!(
        v[0]["demangled"], "Acc<double>::name[abi:cxx11]() const",
        "{v}"
    );
    // The text shows both spellings.
    let out = f.run(
        ldprune()
            .args(["explain", "--state"])
            .arg(f.state())
            .arg("Acc<long>::add"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("_ZN3AccIlE3addEl (Acc<long>::add(long)) in "),
        "{text}"
    );
    let out = ldprune()
        .args(["explain", "--state"])
        .arg(f.state())
        .arg("Acc<short>::add")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"Acc<short>::add\""));
}
