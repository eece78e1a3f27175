//! The state directory under concurrent linkers, with damaged and foreign
//! files, and what `ldprune status` and `ldprune dump` say about it.

mod common;

use std::process::Command;

use common::{Fixture, Linker, ldprune};

fn sixteen_linkers(linker: Linker) {
    let f = Fixture::new(linker);
    for i in 0..16 {
        f.write(
            &format!("m{i}.c"),
            &format!("int f{i}(void) {{ return {i}; }}\n"),
        );
        f.gcc(&["-fPIC", "-c", &format!("m{i}.c")]);
    }
    // 16 linkers start at once on a state directory that does not exist yet.
    let children: Vec<_> = (0..16)
        .map(|i| {
            Command::new("gcc")
                .args(f.plugin_args())
                .args(["-shared", "-o", &format!("lib{i}.so"), &format!("m{i}.o")])
                .current_dir(f.dir.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let records = f.records();
    assert_eq!(records.len(), 16, "no record lost");
    for i in 0..16 {
        let r = f.record(&format!("lib{i}.so"));
        assert!(r.exports.iter().any(|d| d.name == format!("f{i}")));
    }
    assert_eq!(std::fs::read_dir(f.state().join("tmp")).unwrap().count(), 0);
}
both_linkers!(sixteen_concurrent_linkers_lose_nothing, sixteen_linkers);

fn recorded(n: usize) -> Fixture {
    let f = Fixture::new(Linker::Bfd);
    for i in 0..n {
        f.write(
            &format!("s{i}.c"),
            &format!("int s{i}(void) {{ return {i}; }}\n"),
        );
        f.gcc(&["-fPIC", "-c", &format!("s{i}.c")]);
        f.link(&["-shared", "-o", &format!("libs{i}.so"), &format!("s{i}.o")]);
    }
    f
}

fn status(f: &Fixture) -> (i32, String, String) {
    let out = ldprune()
        .args(["status", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn damaged_and_foreign_records_are_named_and_skipped() {
    let f = recorded(4);
    let (code, out, _) = status(&f);
    assert_eq!(code, 0);
    assert!(out.contains("links              4"), "{out}");
    let paths = ldprune::state::StateDir::open(&f.state())
        .unwrap()
        .record_paths()
        .unwrap();

    // One byte flipped, one truncated, one from a future format version.
    let mut bytes = std::fs::read(&paths[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&paths[0], &bytes).unwrap();
    let bytes = std::fs::read(&paths[1]).unwrap();
    std::fs::write(&paths[1], &bytes[..bytes.len() / 2]).unwrap();
    let mut bytes = std::fs::read(&paths[2]).unwrap();
    bytes[8] = 99;
    std::fs::write(&paths[2], &bytes).unwrap();
    let before: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();

    let (code, out, err) = status(&f);
    assert_eq!(code, 1, "skipped files make status fail");
    assert!(
        out.contains("links              1"),
        "only the good record counts: {out}"
    );
    let name = |i: usize| paths[i].display().to_string();
    assert!(
        err.contains(&format!("{}: damaged: checksum mismatch", name(0))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: damaged: truncated", name(1))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: link record format version 99", name(2))),
        "{err}"
    );
    // The library tells the kinds apart: two damaged, one of another
    // version (re-record, not delete), one good.
    use ldprune::state::codec::{CodecError, FileKind};
    use ldprune::state::{Problem, load_record};
    let problem = |i: usize| load_record(&paths[i]).map_err(|e| e.problem);
    assert!(matches!(
        problem(0),
        Err(Problem::Codec(CodecError::Checksum))
    ));
    assert!(matches!(
        problem(1),
        Err(Problem::Codec(CodecError::Length { .. }))
    ));
    assert!(matches!(
        problem(2),
        Err(Problem::Codec(CodecError::Version {
            kind: FileKind::LinkRecord,
            found: 99,
            reads: ldprune::state::RECORD_FORMAT
        }))
    ));
    assert!(load_record(&paths[3]).is_ok());
    let damaged: Vec<bool> = (0..3)
        .map(|i| load_record(&paths[i]).unwrap_err().is_damage())
        .collect();
    assert_eq!(damaged, [true, true, false]);
    // Nothing deleted or rewritten.
    let after: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(before, after);

    // Format 11 (the same encoding, its lists sorted) is still read, as
    // the current one; 10 is refused by number.
    use ldprune::state::{RECORD_FORMAT, RECORD_FORMAT_OLDEST};
    let good = load_record(&paths[3]).unwrap();
    let mut bytes = std::fs::read(&paths[3]).unwrap();
    let older = f.dir.path().join("older.rec");
    bytes[8] = RECORD_FORMAT_OLDEST as u8;
    std::fs::write(&older, &bytes).unwrap();
    assert_eq!(load_record(&older).unwrap(), good);
    bytes[8] = (RECORD_FORMAT_OLDEST - 1) as u8;
    std::fs::write(&older, &bytes).unwrap();
    assert!(matches!(
        load_record(&older).map_err(|e| e.problem),
        Err(Problem::Codec(CodecError::Version {
            found,
            reads: RECORD_FORMAT,
            ..
        })) if found == RECORD_FORMAT_OLDEST - 1
    ));
}

#[test]
fn state_directory_of_another_format_is_refused() {
    let f = recorded(1);
    std::fs::write(
        f.state().join("ldprune-state"),
        "ldprune state directory, format 7\n",
    )
    .unwrap();
    let (code, _, err) = status(&f);
    assert_eq!(code, 2);
    assert!(
        err.contains("ldprune-state") && err.contains("format 7"),
        "{err}"
    );
    // and a linker does not write into it (fail-open warning instead)
    f.write("t.c", "int t(void) { return 0; }\n");
    f.gcc(&["-fPIC", "-c", "t.c"]);
    let out = f.link(&["-shared", "-o", "libt.so", "t.o"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("another format"), "{said}");
}

#[test]
fn status_and_dump_report_the_records() {
    let f = Fixture::new(Linker::Gold);
    f.write(
        "lib.c",
        "int lib_a(void) { return 1; }\nint lib_b(void) { return lib_a() + 1; }\n",
    )
    .write(
        "main.c",
        "int lib_b(void);\nint main(void) { return lib_b() - 2; }\n",
    )
    .write("lto.c", "int lto_x(void) { return 0; }\n");
    f.gcc(&["-fPIC", "-ffunction-sections", "-c", "lib.c"]);
    f.gcc(&["-c", "main.c"]);
    f.gcc(&["-flto", "-c", "lto.c"]);
    f.link(&["-shared", "-o", "liblib.so", "lib.o"]);
    f.link(&["-o", "prog", "main.o", "-L.", "-llib"]);
    f.link(&["-flto", "-shared", "-o", "liblto.so", "lto.o"]);
    let (code, out, _) = status(&f);
    assert_eq!(code, 0);
    for line in [
        "links              3  (exec 0, pie 1, dyn 2, rel 0; failed 0, incomplete 1)",
        "modules            3",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    assert!(out.contains("liblto.so") && out.contains("LTO"), "{out}");

    let dump = ldprune()
        .args(["dump", "--state"])
        .arg(f.state())
        .args(["--link", "liblib.so"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.status.success());
    assert!(text.contains("section .text.lib_b text"), "{text}");
    assert!(text.contains("-> symbol lib_a"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("link ")).count(),
        1,
        "one link only"
    );

    let json = ldprune()
        .args(["dump", "--json", "--state"])
        .arg(f.state())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let links = v.as_array().unwrap();
    assert_eq!(links.len(), 3);
    let prog = links.iter().find(|l| l["output"] == "prog").unwrap();
    assert_eq!(prog["kind"], "pie");
    assert!(
        prog["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "lib_b")
    );
    let main_o = prog["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == "main.o")
        .unwrap();
    assert!(
        main_o["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == ".text" && e["to"] == "lib_b")
    );

    let none = ldprune()
        .args(["dump", "--state"])
        .arg(f.state())
        .args(["--link", "nothing"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
}

/// `merge` reads each record's head first and the rest later: a record
/// whose head is good and whose rest is not (flipped byte, truncated) is
/// still named and left out, and the decisions are those of the good
/// records alone.
#[test]
fn merge_names_records_damaged_after_their_head_and_decides_without_them() {
    let f = recorded(4);
    f.write("p.c", "int s0(void);\nint main(void) { return s0(); }\n");
    f.gcc(&["-c", "p.c"]);
    f.link(&["-o", "p", "p.o", "-L.", "-ls0"]);
    let paths = ldprune::state::StateDir::open(&f.state())
        .unwrap()
        .record_paths()
        .unwrap();
    assert_eq!(paths.len(), 5);
    // The same records without the two about to be damaged.
    let clean = f.path("clean-state");
    ldprune::state::StateDir::create(&clean).unwrap();
    for p in &paths[2..] {
        std::fs::copy(p, clean.join("links").join(p.file_name().unwrap())).unwrap();
    }
    let mut bytes = std::fs::read(&paths[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&paths[0], &bytes).unwrap();
    let bytes = std::fs::read(&paths[1]).unwrap();
    std::fs::write(&paths[1], &bytes[..bytes.len() - 10]).unwrap();

    let merge = |state: &std::path::Path, skip: bool| {
        let mut c = ldprune();
        c.args(["merge", "--state"]).arg(state);
        if skip {
            c.arg("--skip-bad");
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = merge(&f.state(), false);
    assert_ne!(code, 0, "{err}");
    let first = err
        .find(&format!(
            "{}: damaged: checksum mismatch",
            paths[0].display()
        ))
        .unwrap_or_else(|| panic!("{err}"));
    let second = err
        .find(&format!("{}: damaged: truncated", paths[1].display()))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(first < second, "in file order: {err}");
    assert!(!f.state().join("decisions.ldpd").exists());

    let (code, err) = merge(&f.state(), true);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped 2 bad record file(s)"), "{err}");
    let (code, err) = merge(&clean, false);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(f.state().join("decisions.ldpd")).unwrap(),
        std::fs::read(clean.join("decisions.ldpd")).unwrap()
    );
}
