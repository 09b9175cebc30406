//! Fuzzes the decoder of kubectl's protobuf bodies (the `k8s\0` envelope, `runtime.Unknown`,
//! the Job, CronJob, Pod and DeleteOptions messages).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = wasmjob::server::protobuf::decode(data) {
        // Whatever it decodes is JSON the handlers can carry on with.
        serde_json::to_vec(&value).expect("a decoded body serializes");
    }
});
