//! The generated libraries the link benchmarks link: three shapes of
//! input that users have. Each is written and compiled once (`make` on
//! every core, inheriting the bench's niceness) into
//! target/bench/link-SHAPE-N/src and reused while its stamp file is there.
//!
//! - `c`: N C objects of 12 small functions each that call into each
//!   other, use strings and data (the first shape, default N 600).
//! - `cxx`: N C++ objects (default 3,000) sharing class templates and
//!   inline functions from one header, so most code sits in COMDAT groups
//!   that every object repeats: vtables, typeinfo, template statics
//!   (GNU unique symbols), a thrown and caught exception; plus each
//!   object's exported functions and a class of its own.
//! - `large`: N very large C objects (default 4) of 20,000 functions
//!   each, every function with a 1 KiB constant table and calls to
//!   others (about 30 MB and 60,000 sections an object, under the
//!   65,280 that plain ELF section numbering holds).
//!
//! Each shape also writes a program that uses a part of the library's
//! exports, so that a merge hides most of them in Run-2.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    C,
    Cxx,
    Large,
}

/// Functions per object of the `large` shape.
const LARGE_FUNCTIONS: usize = 20_000;
/// Template arguments the `cxx` objects choose from: each instantiation
/// is repeated in about N * KS_PER_OBJECT / TEMPLATE_ARGS objects.
const TEMPLATE_ARGS: usize = 64;
const KS_PER_OBJECT: usize = 4;
/// Exported functions per `cxx` object.
const CXX_API: usize = 5;

impl Shape {
    pub fn parse(s: &str) -> Option<Shape> {
        match s {
            "c" => Some(Shape::C),
            "cxx" => Some(Shape::Cxx),
            "large" => Some(Shape::Large),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shape::C => "c",
            Shape::Cxx => "cxx",
            Shape::Large => "large",
        }
    }

    pub fn default_objects(self) -> usize {
        match self {
            Shape::C => 600,
            Shape::Cxx => 3000,
            Shape::Large => 4,
        }
    }

    /// The compiler driver that links it (C++ needs libstdc++ for the
    /// exception's runtime).
    pub fn driver(self) -> &'static str {
        match self {
            Shape::Cxx => "g++",
            Shape::C | Shape::Large => "gcc",
        }
    }

    /// Where the objects, the links and the states of `n` objects live.
    pub fn dir(self, root: &Path, n: usize) -> PathBuf {
        root.join(format!("target/bench/link-{}-{n}", self.name()))
    }

    fn ext(self) -> &'static str {
        match self {
            Shape::Cxx => "cc",
            Shape::C | Shape::Large => "c",
        }
    }

    /// The objects src/m0.o .. src/m{n-1}.o, written and compiled unless
    /// a complete earlier run left them.
    pub fn generate(self, dir: &Path, n: usize) -> Vec<PathBuf> {
        let src = dir.join("src");
        let objs: Vec<PathBuf> = (0..n).map(|i| src.join(format!("m{i}.o"))).collect();
        let stamp = src.join("compiled");
        if stamp.exists() {
            return objs;
        }
        std::fs::create_dir_all(&src).unwrap();
        let t = Instant::now();
        if self == Shape::Cxx {
            write_if_changed(&src.join("lib.h"), &cxx_header());
        }
        for i in 0..n {
            let text = match self {
                Shape::C => c_object(i, n),
                Shape::Cxx => cxx_object(i, n),
                Shape::Large => large_object(i),
            };
            write_if_changed(&src.join(format!("m{i}.{}", self.ext())), &text);
        }
        let (cc, flags) = match self {
            Shape::Cxx => ("g++", "-O2 -fPIC -ffunction-sections -fdata-sections"),
            _ => ("gcc", "-O2 -fPIC -ffunction-sections -fdata-sections"),
        };
        let deps = if self == Shape::Cxx { " lib.h" } else { "" };
        let ext = self.ext();
        let mut make = String::from("all:");
        for i in 0..n {
            write!(make, " m{i}.o").unwrap();
        }
        write!(make, "\n%.o: %.{ext}{deps}\n\t{cc} {flags} -c $< -o $@\n").unwrap();
        std::fs::write(src.join("Makefile"), make).unwrap();
        let generated = t.elapsed();
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        let st = Command::new("make")
            .current_dir(&src)
            .args(["-s", "-j", &jobs.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "make in {} failed", src.display());
        std::fs::write(&stamp, "").unwrap();
        let bytes: u64 = objs
            .iter()
            .map(|o| std::fs::metadata(o).map_or(0, |m| m.len()))
            .sum();
        println!(
            "  {} shape: wrote {n} sources in {:.1} s, compiled them in {:.1} s ({jobs} jobs), {:.1} MB of objects",
            self.name(),
            generated.as_secs_f64(),
            (t.elapsed() - generated).as_secs_f64(),
            bytes as f64 / 1e6
        );
        objs
    }

    /// The program's source (file name, text): it calls one export of
    /// every 4th object (`c`, `cxx`) or every 50th function of each object
    /// (`large`).
    pub fn program(self, n: usize) -> (&'static str, String) {
        let mut decl = String::new();
        let mut body = String::new();
        match self {
            Shape::C => {
                for i in (0..n).step_by(4) {
                    writeln!(decl, "int m{i}_f0(int);").unwrap();
                    writeln!(body, "  s += m{i}_f0(argc);").unwrap();
                }
            }
            Shape::Cxx => {
                decl += "namespace lib {\n";
                for i in (0..n).step_by(4) {
                    writeln!(decl, "int api_{i}_0(int);").unwrap();
                    writeln!(body, "  s += lib::api_{i}_0(argc);").unwrap();
                }
                decl += "}\n";
            }
            Shape::Large => {
                for i in 0..n {
                    for f in (0..LARGE_FUNCTIONS).step_by(50) {
                        writeln!(decl, "int L{i}_f{f}(int);").unwrap();
                        writeln!(body, "  s += L{i}_f{f}(argc);").unwrap();
                    }
                }
            }
        }
        let text = format!(
            "{decl}int main(int argc, char **argv) {{\n  (void)argv;\n  int s = 0;\n{body}  return s & 1;\n}}\n"
        );
        (
            if self == Shape::Cxx {
                "main.cc"
            } else {
                "main.c"
            },
            text,
        )
    }
}

/// Leaves an unchanged file alone, so that `make` resumes an interrupted
/// compile instead of starting over.
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return;
    }
    std::fs::write(path, text).unwrap();
}

/// 12 functions that call into each other and the next object, use
/// strings and data, like a real library's objects.
fn c_object(i: usize, n: usize) -> String {
    let mut c = String::from("#include <stdio.h>\n#include <string.h>\n");
    let next = (i + 1) % n;
    c += &format!("int m{next}_f0(int);\nstatic int table_{i}[64] = {{{i}}};\n");
    for f in 1..12 {
        c += &format!("int m{i}_f{f}(int);\n");
    }
    for f in 0..12 {
        c += &format!(
            "int m{i}_f{f}(int x) {{\n  if (x > {f}) return m{i}_f{g}(x - 1) + table_{i}[x & 63];\n  \
             if (x < 0) {{ printf(\"m{i}_f{f}: %d\\n\", x); return (int)strlen(\"symbol_{i}_{f}\"); }}\n  \
             return m{next}_f0(x) + {f};\n}}\n",
            g = (f + 1) % 12
        );
    }
    c
}

/// What every `cxx` object includes: a polymorphic base and an exception
/// class whose key functions live in m0 (so their vtables are emitted
/// once), class templates whose members, vtables and typeinfo are inline
/// (COMDAT groups in every object that uses them), a template static
/// (a GNU unique symbol) and out-of-line inline functions.
fn cxx_header() -> String {
    String::from(
        r#"#pragma once
namespace lib {
struct Error {
  int code;
  explicit Error(int c) : code(c) {}
  virtual ~Error();
  virtual int what() const;
};
struct Base {
  virtual ~Base();
  virtual int get(int x) const = 0;
  virtual int put(int x) = 0;
};
template <int K> struct Counter {
  static int count;
};
template <int K> int Counter<K>::count = K;
template <int K> struct Node final : Base {
  int v[(K % 4) + 1];
  explicit Node(int x) {
    for (int &e : v) e = x + K;
  }
  int get(int x) const override { return v[x & (K % 4)] * (K + 1) + x; }
  int put(int x) override {
    v[0] += x ^ K;
    Counter<K>::count++;
    if (x == -K - 7777) throw Error(K);
    return v[0];
  }
  ~Node() override { Counter<K>::count--; }
};
template <int K, typename T> [[gnu::noinline]] T mix(T a, T b) {
  T r = a * (K + 3) + b;
  for (int i = 0; i < (K % 5) + 2; i++) r = (r << 3) ^ (r >> 5) ^ (T)i;
  return r;
}
[[gnu::noinline]] inline int helper(int x) { return x * 31 + 7; }
[[gnu::noinline]] inline int use(Base &b, int x) { return b.get(x) + b.put(helper(x)); }
}
"#,
    )
}

/// One `cxx` object: an own class with out-of-line virtuals (its vtable
/// and typeinfo here, exported), CXX_API exported functions that build
/// KS_PER_OBJECT of the shared templates' instances and call through the
/// base, one catching the exception; m0 also defines the header's key
/// functions.
fn cxx_object(i: usize, n: usize) -> String {
    let next = (i + 1) % n;
    let ks: Vec<usize> = (0..KS_PER_OBJECT)
        .map(|j| (i * 7 + j * 13) % TEMPLATE_ARGS)
        .collect();
    let mut c = String::from("#include \"lib.h\"\nnamespace lib {\n");
    if i == 0 {
        c += "Error::~Error() {}\nint Error::what() const { return code; }\nBase::~Base() {}\n";
    }
    writeln!(c, "int api_{next}_0(int);").unwrap();
    for f in 1..CXX_API {
        writeln!(c, "int api_{i}_{f}(int);").unwrap();
    }
    write!(
        c,
        "struct Widget{i} : Base {{\n  int s = {i};\n  int get(int x) const override;\n  int put(int x) override;\n}};\n\
         int Widget{i}::get(int x) const {{ return s + x; }}\n\
         int Widget{i}::put(int x) {{ s ^= x; return s; }}\n"
    )
    .unwrap();
    for f in 0..CXX_API {
        let (ka, kb) = (ks[f % KS_PER_OBJECT], ks[(f + 1) % KS_PER_OBJECT]);
        write!(
            c,
            "int api_{i}_{f}(int x) {{\n  Node<{ka}> a(x);\n  Node<{kb}> b(x + 1);\n  Widget{i} w;\n  \
             int r = use(a, x) + use(b, x) + use(w, x) + (int)mix<{ka}, long>(x, {f}) + mix<{kb}, int>(x, {i});\n"
        )
        .unwrap();
        c += &match f {
            0 => format!(
                "  try {{\n    r += a.put(x - 1);\n  }} catch (const Error &e) {{\n    r += e.what();\n  }}\n  \
                 if (x > 1000) r += api_{next}_0(x - 1);\n"
            ),
            _ => format!(
                "  if (x > 100) r += api_{i}_{g}(x - 1);\n",
                g = (f + 1) % CXX_API
            ),
        };
        c += "  return r;\n}\n";
    }
    c += "}\n";
    c
}

/// One very large C object: LARGE_FUNCTIONS exported functions, each with
/// its own 1 KiB constant table, calling two others of its block of 16.
fn large_object(i: usize) -> String {
    let mut c = String::with_capacity(LARGE_FUNCTIONS * 400);
    for f in 0..LARGE_FUNCTIONS {
        writeln!(c, "int L{i}_f{f}(int);").unwrap();
    }
    for f in 0..LARGE_FUNCTIONS {
        let block = f & !15;
        let (g, h) = (block + ((f + 1) & 15), block + ((f + 5) & 15));
        let (g, h) = (g.min(LARGE_FUNCTIONS - 1), h.min(LARGE_FUNCTIONS - 1));
        write!(
            c,
            "static const int t{f}[256] = {{{f}, {i}, 3, 5, 7}};\n\
             int L{i}_f{f}(int x) {{\n  int r = t{f}[x & 255] * {m} + x;\n  \
             if (x > {lim}) r += L{i}_f{g}(x - 3);\n  if (x > {lim2}) r ^= L{i}_f{h}(x / 2);\n  \
             if (r & 1) r = (r << 2) - t{f}[(r >> 3) & 255];\n  return r;\n}}\n",
            m = f % 97 + 3,
            lim = 40 + f % 13,
            lim2 = 60 + f % 7,
        )
        .unwrap();
    }
    c
}
