//! Fuzzes label and field selector parsing and matching.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use wasmjob::server::selectors::{FieldSelector, LabelSelector};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let labels = BTreeMap::from([
        ("job-name".to_string(), "pi".to_string()),
        ("app".to_string(), "".to_string()),
    ]);
    if let Ok(s) = LabelSelector::parse(text) {
        let _ = s.matches(Some(&labels));
        let _ = s.matches(None);
    }
    if let Ok(mut s) = FieldSelector::parse(text) {
        let pod = serde_json::json!({
            "metadata": {"name": "pi-abcde", "namespace": "default"},
            "spec": {"nodeName": "wasmjob", "restartPolicy": "Never"},
            "status": {"phase": "Running"}
        });
        let _ = s.matches(&pod);
        let _ = s.name();
        if s
            .check(
                &["metadata.name", "metadata.namespace", "status.phase"],
                &[("name", "metadata.name")],
            )
            .is_ok()
        {
            let _ = s.matches(&pod);
        }
    }
});
