//! Fuzzes `wasmjob run`'s manifest reading (YAML and JSON, several documents, the nesting
//! bound) and admission (defaulting, validation) of every Job it yields.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasmjob::api::admit::{self, Policy};
use wasmjob::api::defaults::default_job;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jobs) = wasmjob::manifest::parse(text, "fuzz.yaml", Path::new("/nonexistent")) else {
        return;
    };
    for loaded in jobs {
        let Ok(job) = admit::create(loaded.job, &Policy::default(), jiff::Timestamp::UNIX_EPOCH)
        else {
            continue;
        };
        // Defaulting is idempotent: a second pass changes nothing.
        let mut again = job.clone();
        default_job(&mut again);
        assert_eq!(job, again, "defaulting twice differs");
        let _ = wasmjob::api::validation::validate_job_update(&job, &job);
    }
});
