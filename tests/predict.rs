//! `ldprune report` predicts what Run-2 saves within 5% of what it
//! achieves, per module, on real links with bfd and gold: a C library whose
//! functions call its own exports (PLT slots), take their addresses (GOT
//! slots) and fill pointer tables (dynamic relocations), and a C++ library
//! with exceptions (unwind tables and exception tables).

mod common;

use std::fmt::Write;
use std::process::Command;

use common::{Fixture, Linker, ldprune};

/// A C library of `n` exported functions; the program calls the even ones.
/// `work_log` (unused) is the only caller of a dozen C library functions
/// and of `stdout`, and calls a kept export: their PLT and GOT slots and
/// the imports' .dynsym entries go with it.
fn c_library(n: usize) -> String {
    let mut s = String::from("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "int work_helper_{i}(int x) {{ return x * {i} + (int)strlen(\"helper {i}\"); }}"
        );
        let _ = writeln!(
            s,
            "int work_data_{i}[{}] = {{ {i}, 2, 3 }};",
            8 + (i % 5) * 4
        );
        let _ = writeln!(
            s,
            "static int (*const work_table_{i}[])(int) = {{ work_helper_{i}, work_helper_{i} }};"
        );
        // Calls an export of its own (through the PLT until it is hidden)
        // and loads one's address (through the GOT).
        let _ = writeln!(
            s,
            "int work_entry_with_a_long_name_{i}(int x) {{\n  int s = 0;\n  for (int k = 0; k < x; k++) s += work_table_{i}[k & 1](k) + work_data_{i}[k & 3];\n  int (*volatile p)(int) = work_helper_{i};\n  return s + work_helper_{i}(x) + p(x);\n}}"
        );
    }
    s.push_str(
        "static int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }\n\
         int work_log(const char *path) {\n\
           int v[4] = { 3, 1, 2, 0 }, key = 2;\n\
           const char *e = getenv(\"WORK_LOG\");\n\
           FILE *f = fopen(path, \"r\");\n\
           char line[64];\n\
           if (f && fgets(line, sizeof line, f)) { fputs(line, stdout); fflush(stdout); }\n\
           if (f) fclose(f);\n\
           qsort(v, 4, sizeof v[0], by_value);\n\
           if (!bsearch(&key, v, 4, sizeof v[0], by_value)) perror(\"bsearch\");\n\
           setvbuf(stdout, 0, _IOLBF, 0);\n\
           return (int)strtol(e ? e : \"0\", 0, 10) + work_entry_with_a_long_name_0(v[0]);\n\
         }\n",
    );
    s
}

fn c_program(n: usize) -> String {
    let mut s = String::from("#include <stdio.h>\n");
    for i in (0..n).step_by(2) {
        let _ = writeln!(s, "int work_entry_with_a_long_name_{i}(int);");
    }
    s.push_str("int main(void) {\n  long t = 0;\n");
    for i in (0..n).step_by(2) {
        let _ = writeln!(s, "  t += work_entry_with_a_long_name_{i}(5);");
    }
    s.push_str("  printf(\"%ld\\n\", t);\n  return 0;\n}\n");
    s
}

/// A C++ library of `n` exported functions that throw and catch.
fn cxx_library(n: usize) -> String {
    let mut s = String::from("#include <stdexcept>\n#include <string>\n#include <vector>\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "struct Err{i} : std::runtime_error {{ using std::runtime_error::runtime_error; }};\n\
             int shape_check_{i}(int x) {{ if (x < 0) throw Err{i}(\"negative \" + std::to_string(x)); return x + {i}; }}\n\
             long shape_sum_{i}(int x) {{\n  std::vector<long> v;\n  for (int k = 0; k < x; k++) v.push_back(k * {i});\n  long t = 0;\n  try {{ t += shape_check_{i}(x - 10); }} catch (const Err{i}& e) {{ t -= (long)std::string(e.what()).size(); }}\n  for (long y : v) t += y;\n  return t;\n}}"
        );
    }
    s
}

fn cxx_program(n: usize) -> String {
    let mut s = String::from("#include <cstdio>\n");
    for i in (0..n).step_by(3) {
        let _ = writeln!(s, "long shape_sum_{i}(int);");
    }
    s.push_str("int main() {\n  long t = 0;\n");
    for i in (0..n).step_by(3) {
        let _ = writeln!(s, "  t += shape_sum_{i}(7);");
    }
    s.push_str("  std::printf(\"%ld\\n\", t);\n  return 0;\n}\n");
    s
}

const LINKS: &[(&str, &str, &[&str])] = &[
    ("libwork.so", "gcc", &["-shared", "work.o"]),
    ("libshape.so", "g++", &["-shared", "shape.o"]),
    ("prog", "gcc", &["main.o", "-L.", "-lwork"]),
    ("cxxprog", "g++", &["cxxmain.o", "-L.", "-lshape"]),
];

fn link_all(f: &Fixture, run: u32) {
    for (output, driver, args) in LINKS {
        let mut a = vec!["-Wl,--gc-sections", "-o", output];
        a.extend_from_slice(args);
        a.push("-Wl,-rpath,$ORIGIN");
        f.link_in_run(run, driver, &a);
    }
}

fn prediction_within_5_percent(linker: Linker) {
    let f = Fixture::new(linker);
    let n = 24;
    f.write("work.c", &c_library(n)).compile("work.c", &[]);
    f.write("main.c", &c_program(n)).compile("main.c", &[]);
    f.write("shape.cc", &cxx_library(n))
        .compile("shape.cc", &[]);
    f.write("cxxmain.cc", &cxx_program(n))
        .compile("cxxmain.cc", &[]);
    link_all(&f, 1);
    let before: Vec<Vec<u8>> = ["prog", "cxxprog"]
        .iter()
        .map(|p| f.run(&mut Command::new(f.path(p))).stdout)
        .collect();
    f.run(ldprune().args(["merge", "--state"]).arg(f.state()));
    link_all(&f, 2);
    let after: Vec<Vec<u8>> = ["prog", "cxxprog"]
        .iter()
        .map(|p| f.run(&mut Command::new(f.path(p))).stdout)
        .collect();
    assert_eq!(before, after, "the programs behave the same");

    let out = f.run(
        ldprune()
            .args(["report", "--json", "--state"])
            .arg(f.state()),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut checked = Vec::new();
    let mut far = Vec::new();
    let (mut predicted_sum, mut achieved_sum) = (0i64, 0i64);
    for m in v["modules"].as_array().unwrap() {
        let module = m["module"].as_str().unwrap();
        let predicted = m["predicted"]["saved"].as_i64().unwrap();
        let achieved = m["achieved"]["saved"].as_i64().unwrap();
        predicted_sum += predicted;
        achieved_sum += achieved;
        let name = module.rsplit('/').next().unwrap().to_string();
        if name.starts_with("lib") {
            // The libraries lose real code: a few KiB each.
            assert!(achieved > 2048, "{name}: achieved {achieved}: {m}");
        }
        // The file: the page padding is predicted too.
        let fp = m["predicted"]["file_after"].as_i64().unwrap();
        let fa = m["achieved"]["file_after"].as_i64().unwrap();
        let file_saved = m["achieved"]["file_before"].as_i64().unwrap() - fa;
        let line = format!(
            "{name} ({linker:?}): predicted {predicted}, achieved {achieved} (ratio {:.3}), file after predicted {fp}, achieved {fa}; {}",
            achieved as f64 / predicted.max(1) as f64,
            m["predicted"]["saving"]
        );
        eprintln!("{line}");
        let close = (predicted - achieved).abs() * 20 <= achieved.abs()
            || (predicted - achieved).abs() <= 64;
        let file_close = (fp - fa).abs() * 20 <= file_saved.abs().max(4096);
        if !close || !file_close || !m["gap"].is_null() {
            far.push(format!("{line}; gap {}", m["gap"]));
        }
        checked.push(name);
    }
    assert!(far.is_empty(), "{far:#?}");
    checked.sort();
    assert_eq!(checked, ["cxxprog", "libshape.so", "libwork.so", "prog"]);
    assert!((predicted_sum - achieved_sum).abs() * 20 <= achieved_sum);
    // The text report shows the ratio.
    let out = f.run(ldprune().args(["report", "--state"]).arg(f.state()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ach/pred"), "{text}");
}
both_linkers!(prediction_within_5_percent, prediction_within_5_percent);
