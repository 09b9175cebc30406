//! Fuzzes the API server's request-body decoding by Content-Type (JSON, YAML, protobuf)
//! and the admission of the Job or CronJob it decodes to.
#![no_main]

use http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use libfuzzer_sys::fuzz_target;
use wasmjob::api::{cronjob, defaults::default_job, validation::validate_job};

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
    if let Ok(mut job) = serde_json::from_value::<Job>(value.clone()) {
        default_job(&mut job);
        let _ = validate_job(&job);
    }
    if let Ok(mut cj) = serde_json::from_value::<CronJob>(value) {
        cronjob::default_cronjob(&mut cj);
        let _ = cronjob::validate_cronjob(&cj);
    }
});
