//! `ldprune report` on real links: the image as a whole (ELF bytes and
//! compressed size before and after Run-2), the HTML page rendered by
//! headless Chromium, and `explain` with demangled C++ names.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Fixture, Linker, ldprune, plugin};

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
#include <stdio.h>
int calc_used(int); long acc_used(long);
int main(void) { printf("%d %ld\n", calc_used(2), acc_used(5)); return 0; }
"#;

/// The outputs, their drivers and inputs.
const LINKS: &[(&str, &str, &[&str])] = &[
    ("libcalc.so", "gcc", &["-shared", "calc.o"]),
    ("libacc.so", "g++", &["-shared", "acc.o"]),
    ("prog", "g++", &["main.o", "-L.", "-lcalc", "-lacc"]),
];

fn link_all(f: &Fixture, run: u32) {
    for (output, driver, args) in LINKS {
        f.run(
            Command::new(driver)
                .arg(f.linker.flag())
                .arg("-Wl,--gc-sections")
                .arg(format!("-Wl,-plugin,{}", plugin().display()))
                .arg(format!("-Wl,-plugin-opt=run={run}"))
                .arg(format!("-Wl,-plugin-opt=state={}", f.state().display()))
                .args(["-o", output])
                .args(*args)
                .arg("-Wl,-rpath,$ORIGIN/../lib"),
        );
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
}
both_linkers!(image_sizes, image_sizes);
