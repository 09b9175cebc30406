//! Fuzzes resource quantity parsing (memory in bytes, CPU in millicores).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjob::api::quantity::{to_bytes, to_millis};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let bytes = to_bytes(text);
    let millis = to_millis(text);
    // One grammar: both parse or neither does.
    assert_eq!(bytes.is_ok(), millis.is_ok(), "{text:?}: {bytes:?} vs {millis:?}");
});
