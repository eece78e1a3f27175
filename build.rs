// Build script: only does work with `--features regen-bindings`, which
// regenerates the committed plugin ABI bindings from plugin-api/.
// A normal build needs no libclang.

#[cfg(feature = "regen-bindings")]
include!("plugin-api/bindgen.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The plugin stays loaded until the linker exits (DF_1_NODELETE): ld.bfd
    // closes plugins right after cleanup, before it removes the output of a
    // failed link, and the plugin's last look at the output (at unload)
    // must come after that, as it does in gold.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    #[cfg(feature = "regen-bindings")]
    {
        println!("cargo:rerun-if-changed=plugin-api");
        let text = generate_plugin_bindings("plugin-api/ldprune-plugin-api.h");
        std::fs::write("src/plugin/bindings.rs", text).expect("write src/plugin/bindings.rs");
    }
}
