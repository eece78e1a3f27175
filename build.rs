// Build script: only does work with `--features regen-bindings`, which
// regenerates the committed plugin ABI bindings from plugin-api/.
// A normal build needs no libclang.

#[cfg(feature = "regen-bindings")]
include!("plugin-api/bindgen.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "regen-bindings")]
    {
        println!("cargo:rerun-if-changed=plugin-api");
        let text = generate_plugin_bindings("plugin-api/ldprune-plugin-api.h");
        std::fs::write("src/plugin/bindings.rs", text).expect("write src/plugin/bindings.rs");
    }
}
