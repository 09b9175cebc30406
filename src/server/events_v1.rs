//! `events.k8s.io/v1` Events: the same objects as core/v1's, in the newer shape. Upstream
//! keeps both in one storage and converts between them; so do we: a request under
//! `/apis/events.k8s.io/v1` has its body, field selector and patch converted to core/v1's,
//! is answered by core/v1's handlers (admission, the store, watch), and the answer is
//! converted back: objects, lists, each watch event, and `Status` errors naming
//! `events.events.k8s.io`. Creation through this group is held to the group's stricter
//! validation (`eventTime`, `reportingController`, `action` … required), as upstream's
//! `ValidateEventCreate` holds it.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Event;
use serde_json::{Map, Value};

use super::ApiState;
use super::error::ApiError;
use crate::api::validation::{FieldError, FieldPath};

/// events.k8s.io/v1 field name ↔ core/v1 field name (top-level fields that differ).
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// The group's apiVersion.
pub const API_VERSION: &str = "events.k8s.io/v1";

fn rename(obj: &mut Map<String, Value>, to_core: bool) {
    for (v1, core) in RENAMES {
        let (from, to) = if to_core { (v1, core) } else { (core, v1) };
        if let Some(v) = obj.remove(*from) {
            obj.insert((*to).to_string(), v);
        }
    }
}

/// An events.k8s.io/v1 Event (or a merge patch of one) in core/v1's shape.
pub fn to_core(v: &mut Value) {
    if let Value::Object(obj) = v {
        rename(obj, true);
        if obj.get("apiVersion").and_then(Value::as_str) == Some(API_VERSION) {
            obj.insert("apiVersion".into(), "v1".into());
        }
    }
}

/// A core/v1 Event in events.k8s.io/v1's shape.
pub fn to_v1(v: &mut Value) {
    if let Value::Object(obj) = v {
        rename(obj, false);
        if obj.contains_key("apiVersion") || obj.contains_key("metadata") {
            obj.insert("apiVersion".into(), API_VERSION.into());
        }
    }
}

/// A JSON patch (RFC 6902) of the v1 shape, its paths pointed at core/v1's fields.
fn json_patch_to_core(ops: &mut Value) {
    for op in ops.as_array_mut().into_iter().flatten() {
        for field in ["path", "from"] {
            let Some(path) = op.get(field).and_then(Value::as_str) else {
                continue;
            };
            let mut parts = path.splitn(3, '/');
            let (_, first, rest) = (parts.next(), parts.next(), parts.next());
            let Some(first) = first else { continue };
            if let Some((_, core)) = RENAMES.iter().find(|(v1, _)| *v1 == first) {
                let renamed = match rest {
                    Some(rest) => format!("/{core}/{rest}"),
                    None => format!("/{core}"),
                };
                op[field] = Value::String(renamed);
            }
        }
    }
}

/// A field selector of the v1 shape (`regarding.name=x`) in core/v1's labels.
fn field_selector_to_core(sel: &str) -> String {
    sel.split(',')
        .map(|term| {
            let field_end = term.find(['=', '!']).unwrap_or(term.len());
            let (field, rest) = term.split_at(field_end);
            let field = field.trim();
            let renamed = if let Some(sub) = field.strip_prefix("regarding.") {
                format!("involvedObject.{sub}")
            } else {
                match RENAMES.iter().find(|(v1, _)| *v1 == field) {
                    Some((_, core)) => (*core).to_string(),
                    None => field.to_string(),
                }
            };
            format!("{renamed}{rest}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn query_to_core(mut q: super::handlers::Query) -> super::handlers::Query {
    if let Some(sel) = q.get("fieldSelector").cloned() {
        q.insert("fieldSelector".into(), field_selector_to_core(&sel));
    }
    q
}

/// A core/v1 answer in the group's terms: an Event or an EventList converted, a Status
/// naming the group's resource, anything else (a Table) as it is.
fn answer_to_v1(v: &mut Value) {
    match v.get("kind").and_then(Value::as_str) {
        Some("Event") => to_v1(v),
        Some("EventList") => {
            v["apiVersion"] = API_VERSION.into();
            for item in v["items"].as_array_mut().into_iter().flatten() {
                to_v1(item);
            }
        }
        Some("Status") => {
            if let Some(message) = v["message"].as_str() {
                let message = message
                    .replacen("events \"", "events.events.k8s.io \"", 1)
                    .replacen("Event \"", "Event.events.k8s.io \"", 1);
                v["message"] = message.into();
            }
            if v["details"].is_object() && v["details"].get("kind").is_some() {
                v["details"]["group"] = "events.k8s.io".into();
            }
        }
        _ => {}
    }
}

/// Converts a response: whole JSON bodies at once, watch streams line by line.
async fn response_to_v1(response: Response, watching: bool) -> Response {
    let (parts, body) = response.into_parts();
    let json = parts
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json {
        return Response::from_parts(parts, body);
    }
    if watching && parts.status.is_success() {
        use futures_util::StreamExt;
        let mut pending: Vec<u8> = Vec::new();
        let stream = body.into_data_stream().map(move |chunk| {
            let chunk = chunk?;
            pending.extend_from_slice(&chunk);
            let mut out = Vec::new();
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                match serde_json::from_slice::<Value>(&line) {
                    Ok(mut event) => {
                        answer_to_v1(&mut event["object"]);
                        out.extend_from_slice(&serde_json::to_vec(&event).unwrap_or_default());
                        out.push(b'\n');
                    }
                    Err(_) => out.extend_from_slice(&line),
                }
            }
            Ok::<_, axum::Error>(Bytes::from(out))
        });
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal("reading the events answer failed").into_response();
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    answer_to_v1(&mut v);
    let mut parts = parts;
    parts.headers.remove("content-length");
    Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&v).unwrap_or_default()),
    )
}

fn json_body(b: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(b).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized: couldn't get version/kind; json parse error: {e}"
        ))
    })
}

/// The events.k8s.io/v1 creation rules beyond core/v1's legacy ones
/// (`ValidateEventCreate` for a request of this group, on the converted object).
pub fn validate_create(e: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let root = FieldPath::root;
    let ns = e.metadata.namespace.as_deref().unwrap_or("");
    let involved = e.involved_object.namespace.as_deref().unwrap_or("");
    if e.event_time.is_none() {
        errs.push(FieldError::required(&root("eventTime"), ""));
    } else if involved.is_empty() && ns != "default" && ns != "kube-system" {
        errs.push(FieldError::invalid(
            &root("involvedObject").child("namespace"),
            involved,
            "does not match event.namespace",
        ));
    }
    let limited = |errs: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize| {
        let value = value.unwrap_or("");
        if value.is_empty() {
            errs.push(FieldError::required(&root(field), ""));
        } else if value.len() > max {
            errs.push(FieldError::invalid(
                &root(field),
                "",
                format!("can have at most {max} characters"),
            ));
        }
    };
    limited(
        &mut errs,
        "reportingController",
        e.reporting_component.as_deref(),
        usize::MAX,
    );
    limited(
        &mut errs,
        "reportingInstance",
        e.reporting_instance.as_deref(),
        128,
    );
    limited(&mut errs, "action", e.action.as_deref(), 128);
    limited(&mut errs, "reason", e.reason.as_deref(), 128);
    if e.message.as_deref().unwrap_or("").len() > 1024 {
        errs.push(FieldError::invalid(
            &root("message"),
            "",
            "can have at most 1024 characters",
        ));
    }
    match e.type_.as_deref() {
        Some("Normal" | "Warning") => {}
        other => errs.push(FieldError::invalid(
            &root("type"),
            "",
            format!("has invalid value: {}", other.unwrap_or("")),
        )),
    }
    if e.first_timestamp.is_some() {
        errs.push(FieldError::invalid(
            &root("firstTimestamp"),
            "",
            "needs to be unset",
        ));
    }
    if e.last_timestamp.is_some() {
        errs.push(FieldError::invalid(
            &root("lastTimestamp"),
            "",
            "needs to be unset",
        ));
    }
    if e.count.is_some_and(|c| c != 0) {
        errs.push(FieldError::invalid(&root("count"), "", "needs to be unset"));
    }
    if e.source
        .as_ref()
        .is_some_and(|s| s.component.is_some() || s.host.is_some())
    {
        errs.push(FieldError::invalid(
            &root("source"),
            "",
            "needs to be unset",
        ));
    }
    errs
}

type S = State<Arc<ApiState>>;
type Q = Query<super::handlers::Query>;
type R = Result<Response, ApiError>;

fn watching(q: &super::handlers::Query) -> bool {
    q.get("watch").is_some_and(|w| w == "true" || w == "1")
}

/// `GET /apis/events.k8s.io/v1/events`.
pub async fn list_all(state: S, Query(q): Q, h: HeaderMap) -> R {
    let w = watching(&q);
    let r = super::handlers::list::<Event>(state.0, None, query_to_core(q), h).await?;
    Ok(response_to_v1(r, w).await)
}

/// `GET …/namespaces/{ns}/events`.
pub async fn list_in(state: S, Path(ns): Path<String>, Query(q): Q, h: HeaderMap) -> R {
    let w = watching(&q);
    let r = super::handlers::list::<Event>(state.0, Some(ns), query_to_core(q), h).await?;
    Ok(response_to_v1(r, w).await)
}

/// `POST …/namespaces/{ns}/events`: the group's validation, then core/v1's create.
pub async fn create_in(state: S, Path(ns): Path<String>, Query(q): Q, h: HeaderMap, b: Bytes) -> R {
    let mut v = json_body(&b)?;
    to_core(&mut v);
    if let Ok(mut e) = serde_json::from_value::<Event>(v.clone()) {
        e.metadata.namespace.get_or_insert_with(|| ns.clone());
        let errs = validate_create(&e);
        if !errs.is_empty() {
            let name = e.metadata.name.clone().unwrap_or_default();
            return Err(ApiError::invalid("Event.events.k8s.io", &name, &errs));
        }
    }
    let body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let r = super::handlers::create::<Event>(state.0, Some(ns), q, json_headers(h), body).await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// The request's headers with the body now JSON.
fn json_headers(mut h: HeaderMap) -> HeaderMap {
    h.insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    h
}

/// `GET …/events/{name}`.
pub async fn get_in(
    state: S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
) -> R {
    let r = super::handlers::get::<Event>(state.0, Some(ns), name, q, h).await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// `PUT …/events/{name}`.
pub async fn put_in(
    state: S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    let mut v = json_body(&b)?;
    to_core(&mut v);
    let body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let r =
        super::handlers::update::<Event>(state.0, Some(ns), name, q, json_headers(h), body, false)
            .await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// `PATCH …/events/{name}`: a merge or strategic patch has its fields renamed, a JSON
/// patch its paths.
pub async fn patch_in(
    state: S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = if ct.starts_with("application/json-patch+json") {
        let mut ops = json_body(&b)?;
        json_patch_to_core(&mut ops);
        Bytes::from(serde_json::to_vec(&ops).unwrap_or_default())
    } else if ct.starts_with("application/merge-patch+json")
        || ct.starts_with("application/strategic-merge-patch+json")
    {
        let mut v = json_body(&b)?;
        to_core(&mut v);
        Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
    } else {
        b
    };
    let r = super::handlers::patch::<Event>(state.0, Some(ns), name, q, h, body, false).await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// `DELETE …/events/{name}`.
pub async fn delete_in(
    state: S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    b: Bytes,
) -> R {
    let r = super::delete_event(state.0, ns, name, q, b);
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_renamed_both_ways() {
        let v1 = json!({
            "apiVersion": API_VERSION, "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hello",
            "reportingController": "example.com/app", "deprecatedCount": 2,
        });
        let mut core = v1.clone();
        to_core(&mut core);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["reportingComponent"], "example.com/app");
        assert_eq!(core["count"], 2);
        assert!(core.get("note").is_none());
        let mut back = core.clone();
        to_v1(&mut back);
        assert_eq!(back, v1);
    }

    #[test]
    fn selectors_and_json_patches_point_at_core_fields() {
        assert_eq!(
            field_selector_to_core("regarding.name=p,reason!=X,reportingController==a"),
            "involvedObject.name=p,reason!=X,reportingComponent==a"
        );
        let mut ops = json!([
            {"op": "replace", "path": "/note", "value": "x"},
            {"op": "replace", "path": "/regarding/name", "value": "y"},
            {"op": "copy", "from": "/deprecatedCount", "path": "/metadata/labels/c"},
        ]);
        json_patch_to_core(&mut ops);
        assert_eq!(ops[0]["path"], "/message");
        assert_eq!(ops[1]["path"], "/involvedObject/name");
        assert_eq!(ops[2]["from"], "/count");
        assert_eq!(ops[2]["path"], "/metadata/labels/c");
    }

    #[test]
    fn creation_through_the_group_is_strict() {
        let e: Event = serde_json::from_value(json!({
            "metadata": {"name": "e", "namespace": "team-a"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "team-a"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingComponent": "example.com/app", "reportingInstance": "app-1",
            "action": "Scale", "reason": "Scaled", "type": "Normal",
        }))
        .unwrap();
        assert!(validate_create(&e).is_empty(), "{:?}", validate_create(&e));
        let mut bad = e.clone();
        bad.event_time = None;
        bad.action = None;
        bad.type_ = Some("Loud".into());
        bad.count = Some(3);
        let rendered: Vec<String> = validate_create(&bad)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            rendered,
            [
                "eventTime: Required value",
                "action: Required value",
                "type: Invalid value: \"\": has invalid value: Loud",
                "count: Invalid value: \"\": needs to be unset",
            ]
        );
    }

    #[test]
    fn errors_name_the_groups_resource() {
        let mut s = json!({"kind": "Status", "message": "events \"x\" not found",
            "details": {"name": "x", "kind": "events"}});
        answer_to_v1(&mut s);
        assert_eq!(s["message"], "events.events.k8s.io \"x\" not found");
        assert_eq!(s["details"]["group"], "events.k8s.io");
    }
}
