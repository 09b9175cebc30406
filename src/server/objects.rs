//! Per-kind API rules: which verbs a kind takes here (its admission is `api::admit`'s), and
//! how it prints.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret, Service};
use serde_json::Value;

use super::error::ApiError;
use super::table;
use crate::api::admit::{self, Policy};
use crate::store::Object;

/// An API kind: a stored [`Object`] plus the API server's rules for it. Its `KIND` and
/// `API_VERSION` are k8s-openapi's.
pub trait ApiKind: Object {
    /// `Job.batch`, as Invalid errors name it.
    const QUALIFIED_KIND: &'static str;
    /// Namespaced or cluster-scoped.
    const NAMESPACED: bool = true;
    /// Table columns.
    fn columns() -> Value;
    /// One Table row's cells.
    fn cells(&self, now: Timestamp) -> Vec<Value>;
    /// Admission of a create through the API ([`admit::create`]); kinds clients cannot
    /// create here answer 405.
    fn admit_create(self, _policy: &Policy, _now: Timestamp) -> Result<Self, ApiError> {
        Err(ApiError::method_not_allowed())
    }
    /// Admission of an update of the main resource ([`admit::update`]; `self` already
    /// carries the old identity); kinds clients cannot update here answer 405.
    fn admit_update(self, _old: &Self, _policy: &Policy) -> Result<Self, ApiError> {
        Err(ApiError::method_not_allowed())
    }
    /// Stores an admitted new object (a Service gets its cluster IP here, as upstream's
    /// registry allocates it).
    fn store_create(self, store: &crate::store::Store) -> Result<Self, ApiError> {
        Ok(store.create(self)?)
    }
}

impl ApiKind for Job {
    const QUALIFIED_KIND: &'static str = "Job.batch";
    fn columns() -> Value {
        table::job_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::job_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for Pod {
    const QUALIFIED_KIND: &'static str = "Pod";
    fn columns() -> Value {
        table::pod_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::pod_cells(self, now)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for Event {
    const QUALIFIED_KIND: &'static str = "Event";
    fn columns() -> Value {
        table::event_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::event_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for Namespace {
    const QUALIFIED_KIND: &'static str = "Namespace";
    const NAMESPACED: bool = false;
    fn columns() -> Value {
        table::namespace_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::namespace_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for CronJob {
    const QUALIFIED_KIND: &'static str = "CronJob.batch";
    fn columns() -> Value {
        table::cronjob_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::cronjob_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for ConfigMap {
    const QUALIFIED_KIND: &'static str = "ConfigMap";
    fn columns() -> Value {
        table::configmap_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::configmap_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for Secret {
    const QUALIFIED_KIND: &'static str = "Secret";
    fn columns() -> Value {
        table::secret_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::secret_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
}

impl ApiKind for Service {
    const QUALIFIED_KIND: &'static str = "Service";
    fn columns() -> Value {
        table::service_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::service_cells(self, now)
    }
    fn admit_create(self, policy: &Policy, now: Timestamp) -> Result<Self, ApiError> {
        Ok(admit::create(self, policy, now)?)
    }
    fn admit_update(self, old: &Self, policy: &Policy) -> Result<Self, ApiError> {
        Ok(admit::update(self, old, policy)?)
    }
    fn store_create(self, store: &crate::store::Store) -> Result<Self, ApiError> {
        super::cluster_ip::create(self, store)
    }
}

/// `kind` of the list type (`JobList`).
pub fn list_kind<K: ApiKind>() -> String {
    format!("{}List", <K as k8s_openapi::Resource>::KIND)
}

/// Paths in `input` that the typed round-trip dropped: fields unknown to the schema.
/// Empty values are ignored, since a round-trip may legitimately drop those.
pub fn unknown_fields(input: &Value, roundtrip: &Value) -> Vec<String> {
    fn walk(input: &Value, rt: &Value, path: &str, out: &mut Vec<String>) {
        match (input, rt) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in a {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match b.get(k) {
                        Some(w) => walk(v, w, &p, out),
                        None if is_empty(v) => {}
                        None => out.push(p),
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for (i, (v, w)) in a.iter().zip(b.iter()).enumerate() {
                    walk(v, w, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    fn is_empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Object(m) => m.values().all(is_empty),
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        }
    }
    let mut out = Vec::new();
    walk(input, roundtrip, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::host_path::HostPathPolicy;

    #[test]
    fn unknown_fields_are_found_by_round_trip() {
        let input = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, "spec": {"foo": 1, "template": {"spec": {"containers": [{"name": "c", "bar": true}]}}}});
        let job: Job = serde_json::from_value(input.clone()).unwrap();
        let rt = serde_json::to_value(&job).unwrap();
        assert_eq!(
            unknown_fields(&input, &rt),
            ["spec.foo", "spec.template.spec.containers[0].bar"]
        );
    }

    fn policy(images: &std::path::Path, host_paths: HostPathPolicy) -> Policy {
        let dir = images.to_path_buf();
        Policy {
            host_paths,
            images: Some(std::sync::Arc::new(move |i: &str| {
                crate::runtime::parse_image_ref(i, &dir).map(|_| ())
            })),
            bind_to: None,
        }
    }

    #[test]
    fn images_outside_the_image_directory_are_invalid() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "../etc/x.wasm"}]}}}
        }))
        .unwrap();
        let policy = policy(std::path::Path::new("/images"), HostPathPolicy::default());
        let err = job
            .admit_create(&policy, Timestamp::UNIX_EPOCH)
            .unwrap_err()
            .status();
        assert_eq!(err["code"], 422);
        assert_eq!(
            err["details"]["causes"][0]["field"],
            "spec.template.spec.containers[0].image"
        );
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("must be a relative path inside the image directory")
        );
    }

    #[test]
    fn host_paths_outside_the_allow_list_are_forbidden() {
        let job = |path: &str| -> Job {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "x"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "volumes": [{"name": "host", "hostPath": {"path": path}}],
                    "containers": [{"name": "c", "image": "x.wasm",
                        "volumeMounts": [{"name": "host", "mountPath": "/h"}]}]}}}
            }))
            .unwrap()
        };
        let images = tempfile::tempdir().unwrap();
        std::fs::write(images.path().join("x.wasm"), b"").unwrap();
        let only =
            HostPathPolicy::only_under(vec!["/srv/shared".into()], vec!["/var/lib/wasmjob".into()]);
        let only = policy(images.path(), only);
        let now = Timestamp::UNIX_EPOCH;
        let err = job("/").admit_create(&only, now).unwrap_err().status();
        assert_eq!(err["code"], 403);
        assert_eq!(err["reason"], "Forbidden");
        assert_eq!(
            err["message"],
            "jobs.batch \"x\" is forbidden: hostPath volume \"host\" (path \"/\") is not allowed: \
             this server allows hostPath volumes only under /srv/shared (serve --allow-host-path)"
        );
        job("/srv/shared/a").admit_create(&only, now).unwrap();
        let open = policy(
            images.path(),
            HostPathPolicy::any_but(vec!["/var/lib/wasmjob".into()]),
        );
        let err = job("/var/lib")
            .admit_create(&open, now)
            .unwrap_err()
            .status();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("/var/lib/wasmjob"),
            "{err}"
        );
    }
}
