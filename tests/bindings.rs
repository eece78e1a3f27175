//! The committed bindings must be exactly what bindgen makes of our header,
//! and our header must agree with the system's binutils header.

use std::path::Path;
use std::process::Command;

include!("../plugin-api/bindgen.rs");

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn committed_bindings_match_header() {
    let fresh = generate_plugin_bindings(&format!("{ROOT}/plugin-api/ldprune-plugin-api.h"));
    let committed = std::fs::read_to_string(format!("{ROOT}/src/plugin/bindings.rs")).unwrap();
    assert!(
        fresh == committed,
        "src/plugin/bindings.rs has drifted from plugin-api/ldprune-plugin-api.h; \
         run `cargo build --features regen-bindings` and commit the result"
    );
}

/// Compiles tests/abi/abi_dump.c against a header with `gcc` (a cross gcc
/// runs its program under `qemu`) and returns what it prints.
fn abi_dump(gcc: &str, qemu: Option<&str>, header: &Path, flags: &[&str], out: &Path) -> String {
    let status = Command::new(gcc)
        .args([
            "-Wall",
            "-Werror",
            "-DHAVE_STDINT_H",
            "-include",
            "stdint.h",
            "-include",
        ])
        .arg(header)
        .args(flags)
        .arg(format!("{ROOT}/tests/abi/abi_dump.c"))
        .arg("-o")
        .arg(out)
        .status()
        .expect("run gcc");
    assert!(
        status.success(),
        "abi_dump.c does not compile against {} ({gcc})",
        header.display()
    );
    let output = match qemu {
        Some(q) => {
            let sysroot = format!("/usr/{}", gcc.trim_end_matches("-gcc"));
            Command::new(q).args(["-L", &sysroot]).arg(out).output()
        }
        None => Command::new(out).output(),
    }
    .expect("run abi_dump");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn header_matches_system_plugin_api() {
    let system = Path::new("/usr/include/plugin-api.h");
    assert!(
        system.exists(),
        "/usr/include/plugin-api.h is missing: install binutils-dev (run-tests does)"
    );
    let ours = Path::new(ROOT).join("plugin-api/ldprune-plugin-api.h");
    let dir = tempfile::tempdir().unwrap();
    // 64-bit, and 32-bit (armhf, under qemu: gcc-multilib conflicts with
    // the cross compilers) with both widths of off_t.
    let armhf = Some("qemu-arm");
    for (tag, gcc, qemu, flags) in [
        ("64", "gcc", None, &[][..]),
        ("32", "arm-linux-gnueabihf-gcc", armhf, &[][..]),
        (
            "32lfs",
            "arm-linux-gnueabihf-gcc",
            armhf,
            &["-D_FILE_OFFSET_BITS=64"][..],
        ),
    ] {
        let a = abi_dump(
            gcc,
            qemu,
            system,
            flags,
            &dir.path().join(format!("sys{tag}")),
        );
        let b = abi_dump(
            gcc,
            qemu,
            &ours,
            flags,
            &dir.path().join(format!("ours{tag}")),
        );
        assert!(a.lines().count() > 90, "abi dump too short:\n{a}");
        assert_eq!(a, b, "ABI differs from the system header ({tag})");
    }
}
