//! Fuzzes the API server's request-body decoding by Content-Type (JSON, YAML, protobuf)
//! and the admission of the Job or CronJob it decodes to.
#![no_main]

use http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use libfuzzer_sys::fuzz_target;
use wasmjob::api::admit::{self, Policy};

const TYPES: [&str; 4] = [
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/apply-patch+yaml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(TYPES[usize::from(selector) % TYPES.len()]),
    );
    let Ok(value) = wasmjob::server::handlers::decode_body(&headers, body) else {
        return;
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    if let Ok(job) = serde_json::from_value::<Job>(value.clone())
        && let Ok(admitted) = admit::create(job, &Policy::default(), now)
    {
        // An admitted object updated to itself is admitted again, unchanged in generation.
        let again = admit::update(admitted.clone(), &admitted, &Policy::default())
            .expect("an admitted Job refused as its own update");
        assert_eq!(again.metadata.generation, admitted.metadata.generation);
    }
    if let Ok(cj) = serde_json::from_value::<CronJob>(value) {
        let _ = admit::create(cj, &Policy::default(), now);
    }
});
