//! The generic REST verbs (list, watch, get, create, update, patch, delete) over any
//! [`ApiKind`], with kubectl's content negotiation (JSON, YAML, protobuf bodies; Table
//! answers) and field validation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::error::ApiError;
use super::objects::{ApiKind, list_kind, unknown_fields};
use super::patch::{self, PatchType};
use super::selectors::{FieldSelector, LabelSelector};
use super::table::{self, IncludeObject};
use std::collections::HashSet;

use crate::store::{self, EventType, WatchEvent};

/// Query parameters, as sent.
pub type Query = HashMap<String, String>;

/// A query from pairs, for tests.
#[cfg(test)]
pub(crate) fn query_of(pairs: &[(&str, &str)]) -> Query {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get("accept").and_then(|v| v.to_str().ok())
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string()
}

/// The store key of an object: `ns/name`, or `/name` for cluster-scoped kinds.
pub fn key_of<K: ApiKind>(ns: Option<&str>, name: &str) -> String {
    if K::NAMESPACED {
        format!("{}/{name}", ns.unwrap_or("default"))
    } else {
        format!("/{name}")
    }
}

/// The object as JSON with its TypeMeta.
pub fn to_json<K: ApiKind>(obj: &K) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), K::API_VERSION.into());
        m.insert("kind".into(), K::KIND.into());
    }
    v
}

fn json_response(code: StatusCode, v: &Value, warnings: &[String]) -> Response {
    let mut resp = (code, axum::Json(v)).into_response();
    for w in warnings {
        if let Ok(h) = HeaderValue::from_str(&format!("299 - {w:?}")) {
            resp.headers_mut().append("warning", h);
        }
    }
    resp
}

pub(super) struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

pub(super) fn selectors(
    q: &Query,
    resource: crate::store::Resource,
) -> Result<Selectors, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (allowed, aliases) = super::selectors::selectable_fields(resource);
    fields
        .check(allowed, aliases)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Selectors { labels, fields })
}

/// Whether `obj` passes the selectors; labels are read from the typed object, and JSON is
/// made only when a field selector needs it.
pub(super) fn matches<K: ApiKind>(sel: &Selectors, obj: &K) -> bool {
    sel.labels.matches(obj.metadata().labels.as_ref())
        && (sel.fields.is_empty() || sel.fields.matches(&to_json(obj)))
}

fn matches_json(sel: &Selectors, obj: &Value) -> bool {
    let labels: Option<std::collections::BTreeMap<String, String>> =
        serde_json::from_value(obj["metadata"]["labels"].clone()).ok();
    sel.labels.matches(labels.as_ref()) && sel.fields.matches(obj)
}

/// GET on a collection: a list, a Table, or (with `watch=true`) a watch stream.
pub async fn list<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    q: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sel = selectors(&q, K::RESOURCE)?;
    let as_table = table::wants_table(accept(&headers));
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch::<K>(state, ns, q, sel, as_table);
    }
    // Lists of 10,000 pods must stay fast (`kubectl get pods` < 1 s): objects are shared
    // with the store, turned into JSON trees only where a field selector or a full Table
    // row needs one, and written out one by one.
    let page = super::pagination::Page::parse(&q)?;
    page.check_fresh(state.store.oldest_revision())?;
    let (items, rev) = state.store.list_shared::<K>(ns.as_deref());
    // Key order (the store's), from the continue token's key on, `limit` at most.
    let key = |o: &K| {
        key_of::<K>(
            o.metadata().namespace.as_deref(),
            o.metadata().name.as_deref().unwrap_or(""),
        )
    };
    let mut items: Vec<Arc<K>> = items
        .into_iter()
        .filter(|o| page.start().is_none_or(|start| key(o).as_str() >= start))
        .filter(|o| matches(&sel, &**o))
        .collect();
    let rev = page.resume.as_ref().map_or(rev, |(rv, _)| *rv);
    let mut more = None;
    if let Some(limit) = page.limit
        && items.len() > limit
    {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = items.last().map(|o| key(o)).unwrap_or_default();
        // Upstream counts the rest only when no selector filters it.
        let unfiltered = q.get("labelSelector").is_none_or(|s| s.is_empty())
            && q.get("fieldSelector").is_none_or(|s| s.is_empty());
        more = Some((
            super::pagination::token(rev, &last),
            unfiltered.then_some(remaining),
        ));
    }
    let rv = rev.to_string();
    if as_table {
        let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
        let now = state.clock.now();
        let mut body = Vec::with_capacity(items.len() * 1024);
        table::write_head(&mut body, &K::columns(), &list_meta(&rv, more.as_ref()));
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            table::write_row(&mut body, &o.cells(now), include, o.metadata(), || {
                to_json(&**o)
            });
        }
        body.extend_from_slice(b"]}");
        let mut resp = Response::new(axum::body::Body::from(body));
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return Ok(resp);
    }
    let mut body = serde_json::to_vec(&json!({
        "kind": list_kind::<K>(),
        "apiVersion": K::API_VERSION,
        "metadata": list_meta(&rv, more.as_ref()),
    }))
    .unwrap_or_default();
    // Reopen the object to append `"items":[...]`, serialising each item directly.
    body.pop();
    body.extend_from_slice(b",\"items\":[");
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &**o).unwrap_or_default();
    }
    body.extend_from_slice(b"]}");
    let mut resp = Response::new(axum::body::Body::from(body));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// A list's `metadata`: its resourceVersion and, for a page with more after it, the
/// continue token and (unfiltered) the count of what remains.
fn list_meta(rv: &str, more: Option<&(String, Option<usize>)>) -> Value {
    let mut m = json!({"resourceVersion": rv});
    if let Some((token, remaining)) = more {
        m["continue"] = json!(token);
        if let Some(n) = remaining {
            m["remainingItemCount"] = json!(n);
        }
    }
    m
}

/// GET one object (or its Table row).
pub async fn get<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    name: String,
    q: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let obj: K = state
        .store
        .get(&key_of::<K>(ns.as_deref(), &name))
        .ok_or_else(|| ApiError::not_found(K::RESOURCE, &name))?;
    let v = to_json(&obj);
    if table::wants_table(accept(&headers)) {
        let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
        let rv = obj.metadata().resource_version.clone().unwrap_or_default();
        let rows = vec![table::row(obj.cells(state.clock.now()), &v, include)];
        return Ok(json_response(
            StatusCode::OK,
            &table::table(K::columns(), rows, &rv),
            &[],
        ));
    }
    Ok(json_response(StatusCode::OK, &v, &[]))
}

/// Request bodies decoded or patched at once, at most: each takes a blocking-pool thread.
const BODY_WORKERS: usize = 2;

/// Runs the CPU-heavy part of a request (decoding a body, applying a patch) on tokio's
/// blocking pool, [`BODY_WORKERS`] at a time: a hostile body then costs CPU time the OS
/// shares out, but never holds one of the async workers that answer health checks and
/// watches and run the guests.
async fn offload<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BODY_WORKERS);
    let _permit = PERMITS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("decoding the request body failed: {e}")))?
}

/// Decodes a request body by its Content-Type: JSON, YAML, or kubectl's protobuf.
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    if ct.starts_with(super::protobuf::PROTOBUF_MEDIA_TYPE) {
        return super::protobuf::decode(body).map_err(|e| {
            ApiError::bad_request(format!("the object provided is unrecognized: {e}"))
        });
    }
    if ct.starts_with("application/yaml") {
        let v: serde_yaml_ng::Value = crate::yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        return serde_json::to_value(v).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    if ct.starts_with("application/json") || ct.is_empty() {
        return serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized: couldn't get version/kind; json parse error: {e}"
            ))
        });
    }
    Err(ApiError::unsupported_media_type(&ct))
}

/// Typed decoding with `fieldValidation` (Strict: 400, Warn: warnings, Ignore).
fn typed<K: ApiKind>(v: &Value, q: &Query) -> Result<(K, Vec<String>), ApiError> {
    if let (Some(kind), Some(api)) = (v["kind"].as_str(), v["apiVersion"].as_str())
        && (kind != K::KIND || api != K::API_VERSION)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api}) does not match the expected API version ({})",
            K::API_VERSION
        )));
    }
    let obj: K = serde_json::from_value(v.clone()).map_err(|e| {
        let mut cause = e.to_string();
        if K::KIND == "Secret" {
            cause = crate::api::validation::redact_values(&cause);
        }
        ApiError::bad_request(format!(
            "{} in version \"v1\" cannot be handled as a {}: {cause}",
            K::KIND,
            K::KIND
        ))
    })?;
    let unknown = unknown_fields(v, &to_json(&obj));
    let mode = q.get("fieldValidation").map_or("Warn", String::as_str);
    if !unknown.is_empty() && mode.eq_ignore_ascii_case("strict") {
        let list: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{} in version \"v1\" cannot be handled as a {}: strict decoding error: {}",
            K::KIND,
            K::KIND,
            list.join(", ")
        )));
    }
    let warnings = if mode.eq_ignore_ascii_case("ignore") {
        Vec::new()
    } else {
        unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect()
    };
    Ok((obj, warnings))
}

/// `dryRun=All`: admit and validate, persist nothing. Any other value is refused as
/// kube-apiserver refuses it (`ValidateDryRun`): 422 on the request's options kind
/// (`CreateOptions`, `UpdateOptions`, `PatchOptions`, `DeleteOptions`).
pub fn dry_run(q: &Query, options: &str) -> Result<bool, ApiError> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            let error = super::delete_options::dry_run_not_supported(&[other.to_string()]);
            Err(ApiError::invalid(
                &format!("{options}.meta.k8s.io"),
                "",
                &[error],
            ))
        }
    }
}

/// The NamespaceLifecycle admission plugin: the namespace must exist and not be
/// terminating.
fn check_namespace(
    state: &ApiState,
    ns: &str,
    resource: store::Resource,
    name: &str,
) -> Result<(), ApiError> {
    match state
        .store
        .get_shared::<k8s_openapi::api::core::v1::Namespace>(&format!("/{ns}"))
    {
        None => Err(ApiError::not_found(store::Resource::Namespaces, ns)),
        Some(n) if n.metadata.deletion_timestamp.is_some() => {
            Err(ApiError::namespace_terminating(resource, name, ns))
        }
        Some(_) => Ok(()),
    }
}

/// POST to a collection.
pub async fn create<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    q: Query,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = q.clone();
    let (obj, warnings) =
        offload(move || typed::<K>(&decode_body(&headers, &body)?, &query)).await?;
    let created = create_object(&state, ns, obj, dry_run(&q, "CreateOptions")?)?;
    Ok(json_response(
        StatusCode::CREATED,
        &to_json(&created),
        &warnings,
    ))
}

fn create_object<K: ApiKind>(
    state: &ApiState,
    ns: Option<String>,
    mut obj: K,
    dry_run: bool,
) -> Result<K, ApiError> {
    if K::NAMESPACED {
        let ns = ns.unwrap_or_else(|| "default".into());
        let m = obj.metadata_mut();
        if let Some(given) = m.namespace.as_deref()
            && given != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        m.namespace = Some(ns.clone());
        let name = m.name.clone().unwrap_or_default();
        check_namespace(state, &ns, K::RESOURCE, &name)?;
    }
    let obj = obj.admit_create(&state.admission, state.clock.now())?;
    if dry_run {
        let m = obj.metadata();
        let name = m.name.clone().unwrap_or_default();
        if state
            .store
            .get::<K>(&key_of::<K>(m.namespace.as_deref(), &name))
            .is_some()
        {
            return Err(ApiError::already_exists(K::RESOURCE, &name));
        }
        return Ok(obj);
    }
    obj.store_create(&state.store)
}

/// PUT on an object (`status`: the status subresource).
pub async fn update<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    name: String,
    q: Query,
    headers: HeaderMap,
    body: Bytes,
    status: bool,
) -> Result<Response, ApiError> {
    let query = q.clone();
    let (obj, warnings) =
        offload(move || typed::<K>(&decode_body(&headers, &body)?, &query)).await?;
    if obj.metadata().name.as_deref().is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    let rv = obj
        .metadata()
        .resource_version
        .clone()
        .filter(|r| !r.is_empty());
    let stored = write_update(
        &state,
        ns,
        &name,
        obj,
        rv.as_deref(),
        status,
        dry_run(&q, "UpdateOptions")?,
    )?;
    Ok(json_response(StatusCode::OK, &to_json(&stored), &warnings))
}

fn write_update<K: ApiKind>(
    state: &ApiState,
    ns: Option<String>,
    name: &str,
    mut new: K,
    expected_rv: Option<&str>,
    status: bool,
    dry_run: bool,
) -> Result<K, ApiError> {
    let key = key_of::<K>(ns.as_deref(), name);
    let old: K = state
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(K::RESOURCE, name))?;
    let final_obj = if status {
        // The status subresource changes the status and nothing else.
        let mut merged = serde_json::to_value(&old).unwrap_or_default();
        merged["status"] = serde_json::to_value(&new).unwrap_or_default()["status"].clone();
        serde_json::from_value::<K>(merged).map_err(|e| ApiError::bad_request(e.to_string()))?
    } else {
        {
            let (om, nm) = (old.metadata(), new.metadata_mut());
            if nm
                .name
                .as_deref()
                .is_some_and(|n| !n.is_empty() && Some(n) != om.name.as_deref())
            {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    nm.name.as_deref().unwrap_or("")
                )));
            }
            if nm
                .uid
                .as_deref()
                .is_some_and(|u| !u.is_empty() && Some(u) != om.uid.as_deref())
            {
                return Err(ApiError::conflict_message(format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    K::RESOURCE.qualified(),
                    om.uid.as_deref().unwrap_or(""),
                    nm.uid.as_deref().unwrap_or("")
                )));
            }
            nm.name = om.name.clone();
            nm.namespace = om.namespace.clone();
            nm.uid = om.uid.clone();
            nm.creation_timestamp = om.creation_timestamp.clone();
            nm.deletion_timestamp = om.deletion_timestamp.clone();
            nm.generation = om.generation;
            nm.managed_fields = None;
        }
        new.admit_update(&old, &state.admission)?
    };
    if dry_run {
        if let Some(rv) = expected_rv
            && old.metadata().resource_version.as_deref() != Some(rv)
        {
            return Err(ApiError::conflict(K::RESOURCE, name));
        }
        return Ok(final_obj);
    }
    Ok(state.store.replace(&key, final_obj, expected_rv)?)
}

/// PATCH on an object (`status`: the status subresource).
pub async fn patch<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    name: String,
    q: Query,
    headers: HeaderMap,
    body: Bytes,
    status: bool,
) -> Result<Response, ApiError> {
    let ct = content_type(&headers);
    let kind = PatchType::from_content_type(&ct).ok_or_else(|| ApiError::unsupported_patch(&ct))?;
    let key = key_of::<K>(ns.as_deref(), &name);
    let current: Option<K> = state.store.get(&key);
    let Some(current) = current else {
        return Err(ApiError::not_found(K::RESOURCE, &name));
    };
    let original = to_json(&current);
    let query = q.clone();
    let (obj, warnings) = offload(move || {
        let patched = patch::apply_patch(&original, &body, kind).map_err(patch_error)?;
        typed::<K>(&patched, &query)
    })
    .await?;
    let rv = obj
        .metadata()
        .resource_version
        .clone()
        .filter(|r| Some(r) != current.metadata().resource_version.as_ref());
    let stored = write_update(
        &state,
        ns,
        &name,
        obj,
        rv.as_deref(),
        status,
        dry_run(&q, "PatchOptions")?,
    )?;
    Ok(json_response(StatusCode::OK, &to_json(&stored), &warnings))
}

fn patch_error(e: patch::Error) -> ApiError {
    match e.status_code() {
        400 => ApiError::bad_request(e.to_string()),
        422 => ApiError::invalid_message(e.to_string()),
        _ => ApiError::internal(e.to_string()),
    }
}

/// A watch: the backlog after `resourceVersion`, then live events, filtered, as a chunked
/// stream of JSON lines; Table rows when asked for.
fn watch<K: ApiKind>(
    state: Arc<ApiState>,
    ns: Option<String>,
    q: Query,
    sel: Selectors,
    as_table: bool,
) -> Result<Response, ApiError> {
    let from = q
        .get("resourceVersion")
        .filter(|r| !r.is_empty() && *r != "0")
        .map(|r| {
            r.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))
        })
        .transpose()?;
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
    if let Some(rv) = from {
        let current = state.store.revision();
        if rv > current {
            return Err(ApiError::timeout(format!(
                "Too large resource version: {rv}, current: {current}"
            )));
        }
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    // Without a resourceVersion the watch starts with the current objects; only those the
    // label selector keeps are turned into JSON, outside the store's lock.
    let start = match from {
        None => {
            let (items, live) = state.store.watch_snapshot::<K>(ns.as_deref());
            let backlog = items
                .iter()
                .filter(|o| sel.labels.matches(o.metadata().labels.as_ref()))
                .map(|o| WatchEvent::added(&**o))
                .collect();
            Ok((backlog, live))
        }
        Some(rv) => state.store.watch(K::RESOURCE, rv),
    };
    let expired = match start {
        Ok((backlog, mut live)) => {
            let state = state.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut first = true;
                let mut last_rev = from.unwrap_or(0);
                // Which objects the client currently sees: an object that starts or stops
                // matching the selectors is ADDED or DELETED, as the API server's watch
                // cache reports it.
                let mut seen: HashSet<String> = if from.is_some() {
                    let (items, _) = state.store.list_shared::<K>(ns.as_deref());
                    items
                        .iter()
                        .filter(|o| matches(&sel, &***o))
                        .map(|o| {
                            format!(
                                "{}/{}",
                                o.metadata().namespace.as_deref().unwrap_or(""),
                                o.metadata().name.as_deref().unwrap_or("")
                            )
                        })
                        .collect()
                } else {
                    HashSet::new()
                };
                // What the client saw at `from`, not now: an object whose first change
                // since is its creation was not there (its replay is ADDED); one first
                // changed or deleted since was (MODIFIED, DELETED), as the watch cache
                // replays history with the events' own types. With selectors, whether it
                // matched at `from` is judged on that first change's object: the history
                // keeps no earlier state (upstream's keeps the previous object), so an
                // object that began to match with its first change since is MODIFIED here
                // where upstream says ADDED.
                if from.is_some() {
                    let mut first_change: HashMap<String, &WatchEvent> = HashMap::new();
                    for e in &backlog {
                        first_change
                            .entry(format!("{}/{}", e.namespace, e.name))
                            .or_insert(e);
                    }
                    for (id, e) in first_change {
                        if e.type_ != EventType::Added && matches_json(&sel, &e.object) {
                            seen.insert(id);
                        } else {
                            seen.remove(&id);
                        }
                    }
                }
                let mut render = |e: &WatchEvent, first: &mut bool| -> Option<Bytes> {
                    if ns.as_deref().is_some_and(|n| n != e.namespace) {
                        return None;
                    }
                    let id = format!("{}/{}", e.namespace, e.name);
                    let matches = matches_json(&sel, &e.object);
                    let was = seen.contains(&id);
                    let type_ = match (e.type_, matches, was) {
                        (EventType::Deleted, _, true) => {
                            seen.remove(&id);
                            "DELETED"
                        }
                        (EventType::Deleted, _, false) => return None,
                        (_, true, true) => "MODIFIED",
                        (_, true, false) => {
                            seen.insert(id);
                            "ADDED"
                        }
                        (_, false, true) => {
                            seen.remove(&id);
                            "DELETED"
                        }
                        (_, false, false) => return None,
                    };
                    let mut object = (*e.object).clone();
                    if let Some(m) = object.as_object_mut() {
                        m.insert("apiVersion".into(), K::API_VERSION.into());
                        m.insert("kind".into(), K::KIND.into());
                    }
                    if as_table {
                        let typed: K = serde_json::from_value(object.clone()).ok()?;
                        let row = table::row(typed.cells(state.clock.now()), &object, include);
                        let cols = if *first { K::columns() } else { json!([]) };
                        object = table::table(cols, vec![row], &e.revision.to_string());
                    }
                    *first = false;
                    let line = json!({"type": type_, "object": object});
                    Some(Bytes::from(format!("{line}\n")))
                };
                for e in &backlog {
                    last_rev = last_rev.max(e.revision);
                    if let Some(b) = render(e, &mut first)
                        && tx.send(Ok(b)).await.is_err()
                    {
                        return;
                    }
                }
                let deadline = tokio::time::sleep(timeout);
                tokio::pin!(deadline);
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = &mut deadline => return,
                        _ = tx.closed() => return,
                        _ = tick.tick(), if bookmarks => {
                            let rev = state.store.revision();
                            let b = json!({"type": "BOOKMARK", "object": {"kind": K::KIND, "apiVersion": K::API_VERSION, "metadata": {"resourceVersion": rev.to_string()}}});
                            if tx.send(Ok(Bytes::from(format!("{b}\n")))).await.is_err() { return; }
                        }
                        e = live.recv() => match e {
                            Ok(e) => {
                                if e.resource != K::RESOURCE || e.revision <= last_rev { continue; }
                                last_rev = e.revision;
                                if let Some(b) = render(&e, &mut first)
                                    && tx.send(Ok(b)).await.is_err() { return; }
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                let err = json!({"type": "ERROR", "object": ApiError::expired(format!("too old resource version: {last_rev}")).status()});
                                let _ = tx.send(Ok(Bytes::from(format!("{err}\n")))).await;
                                return;
                            }
                            Err(_) => return,
                        }
                    }
                }
            });
            None
        }
        Err(e) => Some(e),
    };
    if let Some(e) = expired {
        // The watch itself succeeds and reports the expiry as its first event (§7).
        let err = json!({"type": "ERROR", "object": ApiError::expired(e.to_string()).status()});
        let _ = tx.try_send(Ok(Bytes::from(format!("{err}\n"))));
    }
    drop(tx);
    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// Acknowledges a delete the way the API server does once the object is gone.
pub fn delete_success<K: ApiKind>(obj: &K) -> Response {
    let m = obj.metadata();
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": m.name, "group": if K::API_VERSION.contains('/') { "batch" } else { "" },
                        "kind": K::RESOURCE.plural(), "uid": m.uid}
        }),
        &[],
    )
}

/// The object, still present (graceful or propagated deletion in progress).
pub fn deleting<K: ApiKind>(obj: &K) -> Response {
    json_response(StatusCode::OK, &to_json(obj), &[])
}
