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
