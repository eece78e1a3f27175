//! The text of a caught panic (the plugin's hooks, Run-1's reading thread).

use std::any::Any;

/// What a panic said: its `&str` or `String` payload.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Panics here when `LDPRUNE_TEST_PANIC` names `at`, in a debug build only
/// (the tests' plugin): tests/plugin.rs makes each hook and Run-1's reading
/// thread panic this way and checks the link goes on unchanged. A release
/// build compiles it to nothing.
#[inline]
pub fn injected(at: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("LDPRUNE_TEST_PANIC").is_some_and(|v| v == at) {
        panic!("LDPRUNE_TEST_PANIC={at}");
    }
    #[cfg(not(debug_assertions))]
    let _ = at;
}
