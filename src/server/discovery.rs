//! Discovery (`/version`, `/api`, `/apis`, resource lists) and the routes of the OpenAPI
//! documents (`openapi` builds them).
//! Shapes follow shared/reference/kubectl-api.md §3–4.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `/version`: minor 32 selects kubectl 1.32 in the gcloud dispatcher (§1).
pub async fn version() -> Json<Value> {
    Json(json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-wasmjob",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// A health endpoint's answer as kube-apiserver writes it: `ok` (or, verbose, one `[+]`
/// line per check and `<name> check passed`), and on a failure 500 with every check listed,
/// the failed one as `[-]<check> failed: <reason>`, then `<name> check failed`.
pub fn health(
    name: &str,
    store: Option<Result<(), crate::store::Error>>,
    verbose: bool,
) -> Response {
    let mut lines = vec!["[+]ping ok".to_string()];
    let mut failed = false;
    if let Some(store) = store {
        lines.push(match store {
            Ok(()) => "[+]store ok".into(),
            Err(e) => {
                failed = true;
                format!("[-]store failed: {e}")
            }
        });
    }
    if failed {
        let body = format!("{}\n{name} check failed\n", lines.join("\n"));
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    }
    if verbose {
        return format!("{}\n{name} check passed\n", lines.join("\n")).into_response();
    }
    "ok".into_response()
}

/// `/api`.
pub async fn api() -> Json<Value> {
    Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
    }))
}

/// `/apis/batch`: the batch group, as `APIGroupList` lists it.
pub async fn batch_group() -> Json<Value> {
    Json(json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "batch",
        "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}
    }))
}

/// `/apis`.
pub async fn apis() -> Json<Value> {
    Json(json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "batch",
                "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}
            },
            {
                "name": "events.k8s.io",
                "versions": [{"groupVersion": "events.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "events.k8s.io/v1", "version": "v1"}
            }
        ]
    }))
}

/// `/apis/events.k8s.io`.
pub async fn events_group() -> Json<Value> {
    Json(json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "events.k8s.io",
        "versions": [{"groupVersion": "events.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "events.k8s.io/v1", "version": "v1"}
    }))
}

/// `/apis/events.k8s.io/v1`: core/v1's Events again (one storage, two shapes).
pub async fn events_v1() -> Json<Value> {
    let events = crate::api::resource::Resource::Events.info();
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "events.k8s.io/v1",
        "resources": [{
            "name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
            "verbs": events.verbs, "shortNames": events.short_names,
        }],
    }))
}

/// An `APIResourceList`'s entries for `group`, from the resource table: each resource,
/// then its subresources.
fn resource_list(group: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for r in crate::api::resource::in_group(group) {
        let mut entry = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        out.push(entry);
        for (sub, verbs) in r.subresources {
            out.push(json!({
                "name": format!("{}/{sub}", r.plural), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs,
            }));
        }
    }
    out
}

/// `/apis/batch/v1`.
pub async fn batch_v1() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "batch/v1",
        "resources": resource_list("batch"),
    }))
}

/// `/api/v1`.
pub async fn core_v1() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": resource_list(""),
    }))
}

/// `/openapi/v3`: each group-version's document, at a URL carrying its hash (kubectl caches
/// by it).
pub async fn openapi_root() -> Json<Value> {
    let hash = super::openapi::hash();
    Json(json!({
        "paths": {
            "api/v1": {"serverRelativeURL": format!("/openapi/v3/api/v1?hash={hash}")},
            "apis/batch/v1": {"serverRelativeURL": format!("/openapi/v3/apis/batch/v1?hash={hash}")},
            "apis/events.k8s.io/v1": {"serverRelativeURL": format!("/openapi/v3/apis/events.k8s.io/v1?hash={hash}")}
        }
    }))
}

fn document(body: &'static [u8], content_type: &'static str) -> Response {
    (
        [
            ("content-type", content_type),
            ("cache-control", "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `/openapi/v3/apis/batch/v1`.
pub async fn openapi_batch() -> Response {
    document(super::openapi::v3("batch"), "application/json")
}

/// `/openapi/v3/apis/events.k8s.io/v1`.
pub async fn openapi_events() -> Response {
    document(super::openapi::v3("events.k8s.io"), "application/json")
}

/// `/openapi/v3/api/v1`.
pub async fn openapi_core() -> Response {
    document(super::openapi::v3(""), "application/json")
}

/// `/openapi/v2`: protobuf when asked for (kubectl's validation), JSON otherwise.
pub async fn openapi_v2(headers: axum::http::HeaderMap) -> Response {
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // kubectl asks for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, a type
    // Go's mime parser cannot read back: kube-openapi answers it as a plain octet stream.
    if accept.contains("com.github.proto-openapi.spec.v2") {
        document(super::openapi::v2_protobuf(), "application/octet-stream")
    } else {
        (
            [("cache-control", "no-cache")],
            Json(super::openapi::v2_json().clone()),
        )
            .into_response()
    }
}
