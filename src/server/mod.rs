//! The Kubernetes API server of `wasmjob serve`: discovery, Jobs, Pods (with logs), Events
//! and Namespaces over HTTPS with a bearer token, as real `kubectl` expects them
//! (shared/reference/kubectl-api.md is the spec this follows).
//!
//! [`router`] builds the routes over an [`ApiState`]; [`run`] serves them on a listener
//! until a shutdown future resolves, so tests bind `127.0.0.1:0` and run it in-process.

pub mod cluster_ip;
pub mod connections;
pub mod delete_options;
pub mod discovery;
pub mod error;
pub mod events_v1;
pub mod handlers;
pub mod kubeconfig;
pub mod logs;
pub mod objects;
pub mod openapi;
pub mod pagination;
pub mod patch;
pub mod protobuf;
pub mod selectors;
pub mod table;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::net::TcpListener;

use crate::api::meta::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use crate::clock::Clock;
use crate::kubelet::LogStore;
use crate::store::Store;
use delete_options::{DeleteOptions, Propagation};
use error::ApiError;
use handlers::{delete_success, deleting};
use objects::ApiKind;

/// What the handlers share.
pub struct ApiState {
    /// The object store.
    pub store: Arc<Store>,
    /// Container logs.
    pub logs: Arc<LogStore>,
    /// Time.
    pub clock: Clock,
    /// The node's validating admission (images, `hostPath`), shared with the controllers.
    pub admission: crate::api::admit::Policy,
    /// The bearer token required on every request but discovery's `/version` and health;
    /// `None` serves without authentication (plain-HTTP development mode).
    pub token: Option<String>,
}

type S = State<Arc<ApiState>>;
type Q = Query<handlers::Query>;

/// All routes.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/version", get(discovery::version))
        .route("/healthz", get(health::<HEALTHZ>))
        .route("/readyz", get(health::<READYZ>))
        .route("/livez", get(health::<LIVEZ>))
        .route("/api", get(discovery::api))
        .route("/apis", get(discovery::apis))
        .route("/api/v1", get(discovery::core_v1))
        .route("/apis/batch/v1", get(discovery::batch_v1))
        // The same with a trailing slash, as go-restful serves them (the Python client
        // asks for `/version/`, `/api/`, `/apis/`, `/apis/batch/v1/`), and the group.
        .route("/version/", get(discovery::version))
        .route("/api/", get(discovery::api))
        .route("/apis/", get(discovery::apis))
        .route("/api/v1/", get(discovery::core_v1))
        .route("/apis/batch", get(discovery::batch_group))
        .route("/apis/batch/", get(discovery::batch_group))
        .route("/apis/batch/v1/", get(discovery::batch_v1))
        .route("/openapi/v2", get(discovery::openapi_v2))
        .route("/openapi/v3", get(discovery::openapi_root))
        .route("/openapi/v3/apis/batch/v1", get(discovery::openapi_batch))
        .route("/openapi/v3/api/v1", get(discovery::openapi_core))
        .route(
            "/openapi/v3/apis/events.k8s.io/v1",
            get(discovery::openapi_events),
        )
        // Jobs
        .route("/apis/batch/v1/jobs", get(list_all::<Job>))
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs",
            get(list_in::<Job>)
                .post(create_in::<Job>)
                .delete(delete_all_in::<Job>),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            get(get_in::<Job>)
                .put(put_in::<Job, false>)
                .patch(patch_in::<Job, false>)
                .delete(delete_in::<Job>),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}/status",
            get(get_in::<Job>)
                .put(put_in::<Job, true>)
                .patch(patch_in::<Job, true>),
        )
        // CronJobs
        .route("/apis/batch/v1/cronjobs", get(list_all::<CronJob>))
        .route(
            "/apis/batch/v1/namespaces/{ns}/cronjobs",
            get(list_in::<CronJob>)
                .post(create_in::<CronJob>)
                .delete(delete_all_in::<CronJob>),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/cronjobs/{name}",
            get(get_in::<CronJob>)
                .put(put_in::<CronJob, false>)
                .patch(patch_in::<CronJob, false>)
                .delete(delete_in::<CronJob>),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/cronjobs/{name}/status",
            get(get_in::<CronJob>)
                .put(put_in::<CronJob, true>)
                .patch(patch_in::<CronJob, true>),
        )
        // Pods
        .route("/api/v1/pods", get(list_all::<Pod>))
        .route("/api/v1/namespaces/{ns}/pods", get(list_in::<Pod>))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(get_in::<Pod>)
                .delete(pod_delete)
                .patch(patch_in::<Pod, false>),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
        // What a wasm pod cannot do, said as such (kubectl exec, cp, attach,
        // port-forward), rather than a 404 that looks like a broken cluster.
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/exec",
            get(pod_unsupported::<EXEC>).post(pod_unsupported::<EXEC>),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/attach",
            get(pod_unsupported::<ATTACH>).post(pod_unsupported::<ATTACH>),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/portforward",
            get(pod_unsupported::<PORT_FORWARD>).post(pod_unsupported::<PORT_FORWARD>),
        )
        // Events
        .route("/api/v1/events", get(list_all::<Event>))
        .route(
            "/api/v1/namespaces/{ns}/events",
            get(list_in::<Event>).post(create_in::<Event>),
        )
        .route(
            "/api/v1/namespaces/{ns}/events/{name}",
            get(get_in::<Event>)
                .put(put_in::<Event, false>)
                .patch(patch_in::<Event, false>)
                .delete(delete_in::<Event>),
        )
        // ConfigMaps and Secrets
        .route("/api/v1/configmaps", get(list_all::<ConfigMap>))
        .route(
            "/api/v1/namespaces/{ns}/configmaps",
            get(list_in::<ConfigMap>)
                .post(create_in::<ConfigMap>)
                .delete(delete_all_in::<ConfigMap>),
        )
        .route(
            "/api/v1/namespaces/{ns}/configmaps/{name}",
            get(get_in::<ConfigMap>)
                .put(put_in::<ConfigMap, false>)
                .patch(patch_in::<ConfigMap, false>)
                .delete(delete_in::<ConfigMap>),
        )
        .route("/api/v1/secrets", get(list_all::<Secret>))
        .route(
            "/api/v1/namespaces/{ns}/secrets",
            get(list_in::<Secret>)
                .post(create_in::<Secret>)
                .delete(delete_all_in::<Secret>),
        )
        .route(
            "/api/v1/namespaces/{ns}/secrets/{name}",
            get(get_in::<Secret>)
                .put(put_in::<Secret, false>)
                .patch(patch_in::<Secret, false>)
                .delete(delete_in::<Secret>),
        )
        // Services
        .route("/api/v1/services", get(list_all::<Service>))
        .route(
            "/api/v1/namespaces/{ns}/services",
            get(list_in::<Service>)
                .post(create_in::<Service>)
                .delete(delete_all_in::<Service>),
        )
        .route(
            "/api/v1/namespaces/{ns}/services/{name}",
            get(get_in::<Service>)
                .put(put_in::<Service, false>)
                .patch(patch_in::<Service, false>)
                .delete(delete_in::<Service>),
        )
        .route(
            "/api/v1/namespaces/{ns}/services/{name}/status",
            get(get_in::<Service>)
                .put(put_in::<Service, true>)
                .patch(patch_in::<Service, true>),
        )
        // events.k8s.io/v1: the same Events, in the newer shape
        .route("/apis/events.k8s.io", get(discovery::events_group))
        .route("/apis/events.k8s.io/", get(discovery::events_group))
        .route("/apis/events.k8s.io/v1", get(discovery::events_v1))
        .route("/apis/events.k8s.io/v1/", get(discovery::events_v1))
        .route("/apis/events.k8s.io/v1/events", get(events_v1::list_all))
        .route(
            "/apis/events.k8s.io/v1/namespaces/{ns}/events",
            get(events_v1::list_in).post(events_v1::create_in),
        )
        .route(
            "/apis/events.k8s.io/v1/namespaces/{ns}/events/{name}",
            get(events_v1::get_in)
                .put(events_v1::put_in)
                .patch(events_v1::patch_in)
                .delete(events_v1::delete_in),
        )
        // Namespaces
        .route(
            "/api/v1/namespaces",
            get(list_all::<Namespace>).post(create_cluster::<Namespace>),
        )
        .route(
            "/api/v1/namespaces/{name}",
            get(get_cluster::<Namespace>)
                .delete(namespace_delete)
                .patch(patch_cluster::<Namespace>)
                .put(put_cluster::<Namespace>),
        )
        .fallback(|| async { ApiError::no_route() })
        // kube-apiserver's request size limit.
        .layer(middleware::from_fn(status_bodies))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            durable_writes,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Bearer-token authentication; discovery of the version and health stay public, as on
/// a real API server (`system:public-info-viewer`).
async fn authenticate(State(state): S, req: Request, next: Next) -> Response {
    let public = matches!(
        req.uri().path(),
        "/version" | "/version/" | "/healthz" | "/readyz" | "/livez"
    );
    if let Some(token) = &state.token
        && !public
    {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| tokens_equal(g.as_bytes(), token.as_bytes())) {
            return ApiError::unauthorized().into_response();
        }
    }
    // Without a token (plain-HTTP development mode) every request counts as authenticated.
    if let Some(pending) = req.extensions().get::<connections::Unauthenticated>() {
        pending.authenticated();
    }
    next.run(req).await
}

/// The largest request body, as kube-apiserver's 3 MiB.
const MAX_BODY_BYTES: usize = 3 << 20;

/// axum answers an oversized body with plain text; clients expect a `metav1.Status`.
async fn status_bodies(req: Request, next: Next) -> Response {
    // Health checks answer in text, failures too, as kube-apiserver's do.
    let health = matches!(req.uri().path(), "/healthz" | "/readyz" | "/livez")
        || req.uri().path().starts_with("/healthz/")
        || req.uri().path().starts_with("/readyz/")
        || req.uri().path().starts_with("/livez/");
    let response = next.run(req).await;
    if health {
        return response;
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // An error the HTTP layer wrote (a verb a route lacks, a query that does not parse):
    // every error is a whole `metav1.Status`, as kube-apiserver writes them.
    match status {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large(MAX_BODY_BYTES).into_response()
        }
        axum::http::StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::method_not_allowed().into_response()
        }
        _ => {
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), 64 << 10)
                .await
                .unwrap_or_default();
            let mut r = ApiError::from_http(status.as_u16(), &String::from_utf8_lossy(&body))
                .into_response();
            if let Some(v) = headers.get(axum::http::header::WWW_AUTHENTICATE) {
                r.headers_mut()
                    .insert(axum::http::header::WWW_AUTHENTICATE, v.clone());
            }
            r
        }
    }
}

/// A write is answered only once it is durable: the response waits for the group commit
/// that holds it (concurrent writers share one fsync, as etcd's WAL batches them). While
/// commits fail, writes are refused before they touch the store, so nothing the API
/// acknowledges can be lost and nothing it refuses lingers in memory.
async fn durable_writes(State(state): S, req: Request, next: Next) -> Response {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) {
        return next.run(req).await;
    }
    if let Err(e) = state.store.writable() {
        // Read the body first (bounded): answering while the client still writes makes
        // the connection close under it, and it sees a broken pipe instead of the
        // Status saying why.
        let _ = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await;
        return ApiError::from(e).into_response();
    }
    let response = next.run(req).await;
    if response.status().is_success()
        && let Err(e) = state.store.durable(state.store.revision()).await
    {
        return ApiError::from(e).into_response();
    }
    response
}

/// Compares a presented token with the expected one in time independent of where they
/// differ, so response timing tells an attacker nothing about a guess. (The length is
/// not secret: the generated tokens all have the same.)
fn tokens_equal(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

type R = Result<Response, ApiError>;

const HEALTHZ: u8 = 0;
const READYZ: u8 = 1;
const LIVEZ: u8 = 2;

/// `/healthz`, `/readyz`, `/livez` in kube-apiserver's format. The store's check fails
/// while its commits do (`livez` leaves it out: restarting would not free the disk).
async fn health<const WHICH: u8>(
    State(s): S,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let name = ["healthz", "readyz", "livez"][WHICH as usize];
    let store = if WHICH == LIVEZ {
        None
    } else {
        Some(s.store.writable())
    };
    discovery::health(name, store, q.contains_key("verbose"))
}

// Generic axum handlers, one per verb and scope, instantiated per kind in `router`.

async fn list_all<K: ApiKind>(State(s): S, Query(q): Q, h: HeaderMap) -> R {
    handlers::list::<K>(s, None, q, h).await
}
async fn list_in<K: ApiKind>(State(s): S, Path(ns): Path<String>, Query(q): Q, h: HeaderMap) -> R {
    handlers::list::<K>(s, Some(ns), q, h).await
}
async fn create_in<K: ApiKind>(
    State(s): S,
    Path(ns): Path<String>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    handlers::create::<K>(s, Some(ns), q, h, b).await
}
async fn get_in<K: ApiKind>(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
) -> R {
    handlers::get::<K>(s, Some(ns), name, q, h).await
}
/// PUT; `STATUS` selects the status subresource.
async fn put_in<K: ApiKind, const STATUS: bool>(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    handlers::update::<K>(s, Some(ns), name, q, h, b, STATUS).await
}
/// PATCH; `STATUS` selects the status subresource.
async fn patch_in<K: ApiKind, const STATUS: bool>(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    handlers::patch::<K>(s, Some(ns), name, q, h, b, STATUS).await
}
async fn delete_in<K: ApiKind>(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    b: Bytes,
) -> R {
    delete_owner::<K>(s, ns, name, &DeleteOptions::parse(&q, &b)?)
}
/// A DELETE of one core Event (for `events.k8s.io/v1`, which answers it in its terms).
fn delete_event(s: Arc<ApiState>, ns: String, name: String, q: handlers::Query, b: Bytes) -> R {
    delete_owner::<Event>(s, ns, name, &DeleteOptions::parse(&q, &b)?)
}
async fn delete_all_in<K: ApiKind>(
    State(s): S,
    Path(ns): Path<String>,
    Query(q): Q,
    b: Bytes,
) -> R {
    delete_collection::<K>(s, ns, q, b)
}
async fn create_cluster<K: ApiKind>(State(s): S, Query(q): Q, h: HeaderMap, b: Bytes) -> R {
    handlers::create::<K>(s, None, q, h, b).await
}
async fn get_cluster<K: ApiKind>(
    State(s): S,
    Path(name): Path<String>,
    Query(q): Q,
    h: HeaderMap,
) -> R {
    handlers::get::<K>(s, None, name, q, h).await
}
async fn put_cluster<K: ApiKind>(
    State(s): S,
    Path(name): Path<String>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    handlers::update::<K>(s, None, name, q, h, b, false).await
}
async fn patch_cluster<K: ApiKind>(
    State(s): S,
    Path(name): Path<String>,
    Query(q): Q,
    h: HeaderMap,
    b: Bytes,
) -> R {
    handlers::patch::<K>(s, None, name, q, h, b, false).await
}

/// `deletecollection`: every object the selectors match, each as a single DELETE would.
fn delete_collection<K: ApiKind>(s: Arc<ApiState>, ns: String, q: handlers::Query, b: Bytes) -> R {
    let options = DeleteOptions::parse(&q, &b)?;
    // Both selectors, as a list reads them (a field selector once went unread here, and
    // the whole namespace went).
    let sel = handlers::selectors(&q, K::RESOURCE)?;
    let (items, rev) = s.store.list::<K>(Some(&ns));
    let mut deleted = Vec::new();
    for obj in items {
        if !handlers::matches(&sel, &obj) {
            continue;
        }
        let name = obj.metadata().name.clone().unwrap_or_default();
        match delete_owner::<K>(s.clone(), ns.clone(), name, &options) {
            Ok(_) => deleted.push(handlers::to_json(&obj)),
            // Gone meanwhile: as upstream's DeleteCollection, not an error.
            Err(e) if e.status()["code"] == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(axum::Json(serde_json::json!({
        "kind": objects::list_kind::<K>(),
        "apiVersion": <K as k8s_openapi::Resource>::API_VERSION,
        "metadata": {"resourceVersion": rev.to_string()},
        "items": deleted,
    }))
    .into_response())
}

/// DELETE of an owner (Job, CronJob; Events too) with the garbage collector's propagation
/// policies.
/// batch/v1 defaults to `Orphan` when the client names none (strategy.go); kubectl sends
/// `Background`.
fn delete_owner<K: ApiKind>(
    s: Arc<ApiState>,
    ns: String,
    name: String,
    options: &DeleteOptions,
) -> R {
    let key = format!("{ns}/{name}");
    let obj: K = s
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(K::RESOURCE, &name))?;
    let m = obj.metadata();
    options.check(
        K::RESOURCE,
        Some(&ns),
        &name,
        m.uid.as_deref(),
        m.resource_version.as_deref(),
    )?;
    let now = s.clock.now();
    // batch/v1 Jobs orphan by default (jobStrategy's `DefaultGarbageCollectionPolicy`);
    // everything else is deleted in the background. An Event has no dependents: nothing
    // would ever take a propagation finalizer off it.
    let propagation = match (K::RESOURCE, options.propagation) {
        (crate::store::Resource::Events, _) => Propagation::Background,
        (_, Some(p)) => p,
        (crate::store::Resource::Jobs, None) => Propagation::Orphan,
        (_, None) => Propagation::Background,
    };
    let finalizer = match propagation {
        Propagation::Background => None,
        Propagation::Foreground => Some(FOREGROUND_FINALIZER),
        Propagation::Orphan => Some(ORPHAN_FINALIZER),
    };
    if options.dry_run {
        // What the delete would answer, unwritten: the object marked, or gone.
        return Ok(match finalizer {
            None => delete_success(&obj),
            Some(f) => {
                let mut marked = obj.clone();
                let meta = marked.metadata_mut();
                mark_deleted(meta, now);
                let list = meta.finalizers.get_or_insert_with(Vec::new);
                if !list.iter().any(|x| x == f) {
                    list.push(f.into());
                }
                deleting(&marked)
            }
        });
    }
    let has_finalizers = obj
        .metadata()
        .finalizers
        .as_ref()
        .is_some_and(|f| !f.is_empty());
    if finalizer.is_none() && !has_finalizers {
        // Background: the owner goes now; its dependents follow through the garbage
        // collector.
        s.store.remove::<K>(&key);
        return Ok(delete_success(&obj));
    }
    let updated = s.store.modify::<K>(&key, |o| {
        let meta = o.metadata_mut();
        mark_deleted(meta, now);
        if let Some(f) = finalizer {
            let list = meta.finalizers.get_or_insert_with(Vec::new);
            if !list.iter().any(|x| x == f) {
                list.push(f.into());
            }
        }
    });
    Ok(match updated {
        Some(o) => deleting(&*o),
        None => delete_success(&obj),
    })
}

fn mark_deleted(
    meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    now: Timestamp,
) {
    if meta.deletion_timestamp.is_none() {
        meta.deletion_timestamp = Some(Time(now));
        meta.deletion_grace_period_seconds = Some(0);
    }
}

/// DELETE of a pod: graceful, the kubelet stops it and it disappears once its finalizers
/// are gone; with `gracePeriodSeconds: 0` (`kubectl delete --force --grace-period=0`) it
/// goes at once, and its node stops what still runs.
async fn pod_delete(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Q,
    b: Bytes,
) -> R {
    let options = DeleteOptions::parse(&q, &b)?;
    let key = format!("{ns}/{name}");
    let pod: Pod = s
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(crate::store::Resource::Pods, &name))?;
    options.check(
        crate::store::Resource::Pods,
        Some(&ns),
        &name,
        pod.metadata.uid.as_deref(),
        pod.metadata.resource_version.as_deref(),
    )?;
    if options.dry_run {
        let mut marked = pod;
        mark_deleted(&mut marked.metadata, s.clock.now());
        return Ok(deleting(&marked));
    }
    let now = s.clock.now();
    let deleted = if options.grace_period_seconds == Some(0) {
        s.store.force_delete_pod(&key, now)
    } else {
        s.store.delete_pod(&key, now)
    };
    Ok(match deleted {
        Some(p) => deleting(&*p),
        None => {
            let mut gone = pod;
            mark_deleted(&mut gone.metadata, s.clock.now());
            deleting(&gone)
        }
    })
}
const EXEC: u8 = 0;
const ATTACH: u8 = 1;
const PORT_FORWARD: u8 = 2;

/// `exec`, `attach`, `portforward` of a pod: 400 saying why a wasm pod has none (404 for
/// a pod that does not exist, as upstream checks it first).
async fn pod_unsupported<const WHAT: u8>(
    State(s): S,
    Path((ns, name)): Path<(String, String)>,
) -> R {
    if s.store.get_shared::<Pod>(&format!("{ns}/{name}")).is_none() {
        return Err(ApiError::not_found(crate::store::Resource::Pods, &name));
    }
    let why = match WHAT {
        EXEC => {
            "exec (and kubectl cp, which runs tar through it): a wasm container is one module run to its end, with no shell or other programs to start in it"
        }
        ATTACH => "attach: a wasm container has no terminal; its output is in kubectl logs",
        _ => "port-forward: wasm pods have no network ports",
    };
    Err(ApiError::bad_request(format!(
        "pod \"{name}\" does not support {why}"
    )))
}

async fn pod_log(State(s): S, Path((ns, name)): Path<(String, String)>, Query(q): Q) -> R {
    logs::pod_log(s, ns, name, q).await
}

/// DELETE of a namespace: it turns `Terminating`; the namespace controller
/// (`controller::namespace`) deletes everything in it, then lets it go.
async fn namespace_delete(State(s): S, Path(name): Path<String>, Query(q): Q, b: Bytes) -> R {
    let options = DeleteOptions::parse(&q, &b)?;
    let ns: Namespace = s
        .store
        .get(&format!("/{name}"))
        .ok_or_else(|| ApiError::not_found(crate::store::Resource::Namespaces, &name))?;
    options.check(
        crate::store::Resource::Namespaces,
        None,
        &name,
        ns.metadata.uid.as_deref(),
        ns.metadata.resource_version.as_deref(),
    )?;
    // Admission (the protected namespaces) comes before a dry run's answer.
    if matches!(name.as_str(), "default" | "kube-system" | "kube-public") {
        return Err(ApiError::forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    if options.dry_run {
        let mut marked = ns;
        mark_deleted(&mut marked.metadata, s.clock.now());
        if let Some(st) = marked.status.as_mut() {
            st.phase = Some("Terminating".into());
        }
        return Ok(deleting(&marked));
    }
    // Asked again while it terminates: upstream's conflict, as its content still goes.
    let held = ns
        .spec
        .as_ref()
        .and_then(|sp| sp.finalizers.as_ref())
        .is_some_and(|f| !f.is_empty());
    if ns.metadata.deletion_timestamp.is_some() && held {
        return Err(ApiError::conflict_because(
            crate::store::Resource::Namespaces,
            &name,
            "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
        ));
    }
    // Terminating: the namespace controller deletes what is in it, then the namespace.
    let now = s.clock.now();
    let marked = s.store.modify::<Namespace>(&format!("/{name}"), |n| {
        mark_deleted(&mut n.metadata, now);
        n.status.get_or_insert_with(Default::default).phase = Some("Terminating".into());
    });
    Ok(match marked {
        Some(n) => deleting(&*n),
        None => delete_success(&ns),
    })
}

/// Serves `app` on `listener` (TLS when `tls` is set) until `shutdown` resolves, within
/// `limits`.
pub async fn run(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: connections::Limits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let gate = connections::Gate::new(&limits);
    let mut refused_logged = false;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Running out of descriptors or memory lasts until something is freed:
                    // pause rather than spin on the failing accept. A connection reset
                    // before it was accepted is the client's business.
                    let resources = rustix::io::Errno::from_io_error(&e).is_some_and(|n| {
                        [
                            rustix::io::Errno::MFILE,
                            rustix::io::Errno::NFILE,
                            rustix::io::Errno::NOBUFS,
                            rustix::io::Errno::NOMEM,
                        ]
                        .contains(&n)
                    });
                    if resources {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let Some(admitted) = gate.admit() else {
            // Closing at once frees the descriptor; say so once per burst.
            if !refused_logged {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    max_unauthenticated = limits.max_unauthenticated,
                    "refusing connections: too many open or not yet authenticated"
                );
                refused_logged = true;
            }
            drop(stream);
            continue;
        };
        refused_logged = false;
        let app = app.clone();
        let acceptor = acceptor.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let pending = admitted.pending.clone();
            let service =
                hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                    app,
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(pending.clone());
                        req
                    },
                ));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let result = match acceptor {
                Some(a) => {
                    match tokio::time::timeout(limits.handshake_timeout, a.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            builder
                                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("tls handshake timed out");
                            return;
                        }
                    }
                }
                None => {
                    builder
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(admitted);
        });
    }
}
