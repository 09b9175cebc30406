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
            // Only what names this resource: a Status about another (the namespace of a
            // create, the options of a request) stays as it is.
            let about_events = matches!(v["details"]["kind"].as_str(), Some("events" | "Event"));
            if let Some(message) = v["message"].as_str() {
                let renamed = [
                    ("events \"", "events.events.k8s.io \""),
                    ("Event \"", "Event.events.k8s.io \""),
                    (
                        "Operation cannot be fulfilled on events \"",
                        "Operation cannot be fulfilled on events.events.k8s.io \"",
                    ),
                ]
                .iter()
                .find_map(|(from, to)| {
                    message.strip_prefix(from).map(|rest| format!("{to}{rest}"))
                });
                if let Some(renamed) = renamed.filter(|_| about_events) {
                    v["message"] = renamed.into();
                }
            }
            if about_events && v["details"].is_object() {
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

/// A request body (JSON or YAML) of this group's Event, in core/v1's shape.
fn event_body(h: &HeaderMap, b: &[u8]) -> Result<Value, ApiError> {
    let mut v = super::handlers::decode_body(h, b)?;
    if let Some(api) = v.get("apiVersion").and_then(Value::as_str)
        && api != API_VERSION
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api}) does not match the expected API version ({API_VERSION})"
        )));
    }
    to_core(&mut v);
    Ok(v)
}

fn json_body(b: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(b).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized: couldn't get version/kind; json parse error: {e}"
        ))
    })
}

const REPORTING_INSTANCE_MAX: usize = 128;
const ACTION_MAX: usize = 128;
const REASON_MAX: usize = 128;
const NOTE_MAX: usize = 1024;

/// `legacyValidateEvent` for a request of this group (the controller field is called
/// `reportingController` in its errors).
fn legacy(e: &Event, errs: &mut Vec<FieldError>) {
    let root = FieldPath::root;
    let ns = e.metadata.namespace.as_deref().unwrap_or("");
    let involved = e.involved_object.namespace.as_deref().unwrap_or("");
    let involved_path = root("involvedObject").child("namespace");
    let mismatch = |errs: &mut Vec<FieldError>| {
        errs.push(FieldError::invalid(
            &involved_path,
            involved,
            "does not match event.namespace",
        ))
    };
    if e.event_time.is_none() {
        let agrees = if involved.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == involved
        };
        if !agrees {
            mismatch(errs);
        }
    } else {
        if involved.is_empty() && ns != "default" && ns != "kube-system" {
            mismatch(errs);
        }
        let controller = e.reporting_component.as_deref().unwrap_or("");
        let path = root("reportingController");
        if controller.is_empty() {
            errs.push(FieldError::required(&path, ""));
        }
        for m in crate::api::validation::qualified_name_errors(controller) {
            errs.push(FieldError::invalid(&path, controller, m));
        }
        let bounded = |errs: &mut Vec<FieldError>, field: &str, value: &str, max: usize| {
            if value.is_empty() {
                errs.push(FieldError::required(&root(field), ""));
            }
            if value.len() > max {
                errs.push(FieldError::invalid(
                    &root(field),
                    "",
                    format!("can have at most {max} characters"),
                ));
            }
        };
        let text = |o: &Option<String>| o.clone().unwrap_or_default();
        bounded(
            errs,
            "reportingInstance",
            &text(&e.reporting_instance),
            REPORTING_INSTANCE_MAX,
        );
        bounded(errs, "action", &text(&e.action), ACTION_MAX);
        bounded(errs, "reason", &text(&e.reason), REASON_MAX);
        if text(&e.message).len() > NOTE_MAX {
            errs.push(FieldError::invalid(
                &root("message"),
                "",
                format!("can have at most {NOTE_MAX} characters"),
            ));
        }
    }
    for m in crate::api::validation::dns1123_subdomain_errors(ns) {
        errs.push(FieldError::invalid(&root("namespace"), ns, m));
    }
}

/// `validateV1EventSeries`.
fn series(e: &Event, errs: &mut Vec<FieldError>) {
    if let Some(s) = &e.series {
        if s.count.unwrap_or(0) < 2 {
            errs.push(FieldError::invalid(
                &FieldPath::root("series.count"),
                "",
                "should be at least 2",
            ));
        }
        if s.last_observed_time.is_none() {
            errs.push(FieldError::required(
                &FieldPath::root("series.lastObservedTime"),
                "",
            ));
        }
    }
}

/// `ValidateEventCreate` for a request of this group, on the converted object: the
/// legacy checks, then the group's strict ones.
pub fn validate_create(e: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let root = FieldPath::root;
    legacy(e, &mut errs);
    series(e, &mut errs);
    if e.event_time.is_none() {
        errs.push(FieldError::required(&root("eventTime"), ""));
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

/// `ValidateEventUpdate` for a request of this group: the legacy checks, the series if it
/// changed, and everything else immutable.
pub fn validate_update(new: &Event, old: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    legacy(new, &mut errs);
    if new.series != old.series {
        series(new, &mut errs);
    }
    // (core/v1 JSON field, the error's path: upstream's internal field name).
    const IMMUTABLE: &[(&str, &str)] = &[
        ("involvedObject", "involvedObject"),
        ("reason", "reason"),
        ("message", "message"),
        ("source", "source"),
        ("firstTimestamp", "firstTimestamp"),
        ("lastTimestamp", "lastTimestamp"),
        ("count", "count"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ];
    let (n, o) = (
        serde_json::to_value(new).unwrap_or_default(),
        serde_json::to_value(old).unwrap_or_default(),
    );
    for (field, path) in IMMUTABLE {
        if n[*field] != o[*field] {
            errs.push(FieldError::invalid(
                &FieldPath::root(path),
                n[*field].clone(),
                "field is immutable",
            ));
        }
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
    let v = event_body(&h, &b)?;
    if let Ok(mut e) = serde_json::from_value::<Event>(v.clone()) {
        e.metadata.namespace.get_or_insert_with(|| ns.clone());
        refuse(&e, validate_create(&e))?;
    }
    let body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let r = super::handlers::create::<Event>(state.0, Some(ns), q, json_headers(h), body).await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// The group's 422 for `errors`, if any.
fn refuse(e: &Event, errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let name = e.metadata.name.clone().unwrap_or_default();
    Err(ApiError::invalid("Event.events.k8s.io", &name, &errors))
}

/// The group's update rules for the Event that `new` (core/v1 JSON) would replace.
fn check_update(state: &ApiState, ns: &str, name: &str, new: &Value) -> Result<(), ApiError> {
    let key = crate::api::meta::namespaced_key(Some(ns), Some(name));
    let (Some(old), Ok(mut new)) = (
        state.store.get::<Event>(&key),
        serde_json::from_value::<Event>(new.clone()),
    ) else {
        // Missing (the handler answers 404) or undecodable (it answers 400).
        return Ok(());
    };
    new.metadata.namespace.get_or_insert_with(|| ns.to_string());
    refuse(&new, validate_update(&new, &old))
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
    let v = event_body(&h, &b)?;
    check_update(&state.0, &ns, &name, &v)?;
    let body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let r =
        super::handlers::update::<Event>(state.0, Some(ns), name, q, json_headers(h), body, false)
            .await;
    Ok(response_to_v1(r.unwrap_or_else(IntoResponse::into_response), false).await)
}

/// `PATCH …/events/{name}`: a merge or strategic patch has its fields renamed, a JSON
/// patch its paths; the patched object is computed first (a dry run) and held to the
/// group's update rules.
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
    let mut dry = q.clone();
    dry.insert("dryRun".into(), "All".into());
    let preview = super::handlers::patch::<Event>(
        state.0.clone(),
        Some(ns.clone()),
        name.clone(),
        dry,
        h.clone(),
        body.clone(),
        false,
    )
    .await;
    match preview {
        Ok(r) if r.status().is_success() => {
            let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            if let Ok(new) = serde_json::from_slice::<Value>(&bytes) {
                check_update(&state.0, &ns, &name, &new)?;
            }
        }
        // The patch itself fails: its answer, in this group's terms.
        other => {
            return Ok(
                response_to_v1(other.unwrap_or_else(IntoResponse::into_response), false).await,
            );
        }
    }
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
        let rendered = |e: &Event| -> Vec<String> {
            validate_create(e).iter().map(|e| e.to_string()).collect()
        };
        let mut bad = e.clone();
        bad.action = None;
        bad.type_ = Some("Loud".into());
        bad.count = Some(3);
        assert_eq!(
            rendered(&bad),
            [
                "action: Required value",
                "type: Invalid value: \"\": has invalid value: Loud",
                "count: Invalid value: \"\": needs to be unset",
            ]
        );
        // Without eventTime the legacy checks are the old Event's: only the time is asked.
        let mut old_style = e.clone();
        old_style.event_time = None;
        old_style.action = None;
        assert_eq!(rendered(&old_style), ["eventTime: Required value"]);
        let mut series = e.clone();
        series.series = Some(k8s_openapi::api::core::v1::EventSeries {
            count: Some(1),
            last_observed_time: None,
        });
        assert_eq!(
            rendered(&series),
            [
                "series.count: Invalid value: \"\": should be at least 2",
                "series.lastObservedTime: Required value",
            ]
        );
    }

    #[test]
    fn an_update_through_the_group_changes_only_the_series() {
        let old: Event = serde_json::from_value(json!({
            "metadata": {"name": "e", "namespace": "team-a"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "team-a"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingComponent": "example.com/app", "reportingInstance": "app-1",
            "action": "Scale", "reason": "Scaled", "type": "Normal", "message": "one",
        }))
        .unwrap();
        let mut new = old.clone();
        new.series = Some(k8s_openapi::api::core::v1::EventSeries {
            count: Some(2),
            last_observed_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
                "2026-01-01T00:01:00Z".parse().unwrap(),
            )),
        });
        assert!(validate_update(&new, &old).is_empty());
        new.message = Some("two".into());
        let rendered: Vec<String> = validate_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            rendered,
            ["message: Invalid value: \"two\": field is immutable"]
        );
    }

    #[test]
    fn errors_name_the_groups_resource() {
        let mut s = json!({"kind": "Status", "message": "events \"x\" not found",
            "details": {"name": "x", "kind": "events"}});
        answer_to_v1(&mut s);
        assert_eq!(s["message"], "events.events.k8s.io \"x\" not found");
        assert_eq!(s["details"]["group"], "events.k8s.io");
        // About another resource: left alone.
        let mut ns = json!({"kind": "Status", "message": "namespaces \"gone\" not found",
            "details": {"name": "gone", "kind": "namespaces"}});
        let before = ns.clone();
        answer_to_v1(&mut ns);
        assert_eq!(ns, before);
    }
}
