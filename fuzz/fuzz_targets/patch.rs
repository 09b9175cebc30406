//! Fuzzes the three patch types (strategic merge, JSON merge, JSON patch) and apply
//! patches, against an original object taken from the input too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjob::server::patch::{PatchType, apply_patch};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => PatchType::StrategicMerge,
        1 => PatchType::Merge,
        2 => PatchType::Json,
        _ => PatchType::Apply,
    };
    // The original and the patch, split at the first NUL (a fixed Job when there is none).
    let (original, patch) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&b"{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"pi\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pi.wasm\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}]}]}}}}"[..], rest),
    };
    let Ok(original) = serde_json::from_slice::<serde_json::Value>(original) else {
        return;
    };
    if let Ok(patched) = apply_patch(&original, patch, kind) {
        serde_json::to_vec(&patched).expect("a patched object serializes");
    }
});
