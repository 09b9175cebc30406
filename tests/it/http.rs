//! The API server over HTTP, in process and without kubectl: `serve` on 127.0.0.1:0 with
//! plain HTTP, and a hyper client. What is checked is what a client library sees: status
//! codes, whole `metav1.Status` bodies, deletion propagation, dry runs, watches and Tables.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::{Value, json};

use crate::kubectl::Cluster;

const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn cluster() -> Cluster {
    Cluster::start_with(|o| o.insecure_http = true)
}

/// One request on a fresh connection: status and body (JSON, or a string for others).
fn call(c: &Cluster, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_with(c, method, path, "application/json", body)
}

fn call_with(
    c: &Cluster,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(c, method, path, content_type, body)
}

/// A request whose body is sent as given (malformed on purpose).
fn call_raw(c: &Cluster, method: &str, path: &str, body: &str) -> (u16, Value) {
    send(c, method, path, "application/json", body.to_string())
}

fn send(c: &Cluster, method: &str, path: &str, content_type: &str, body: String) -> (u16, Value) {
    let addr = c.addr();
    let (code, bytes) = c.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = sender.send_request(req).await.expect("a response");
        let code = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
        (code, bytes)
    });
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (code, value)
}

/// A watch: each event as it arrives, until `until` says stop (or 30 s pass).
fn watch(c: &Cluster, path: &str, mut until: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let addr = c.addr();
    let path = path.to_string();
    c.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        let req = Request::builder()
            .uri(&path)
            .header("host", addr.to_string())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.expect("a response");
        assert_eq!(resp.status().as_u16(), 200, "watch {path}");
        let mut body = resp.into_body();
        let (mut events, mut pending) = (Vec::new(), Vec::new());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !until(&events) {
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .unwrap_or_else(|_| panic!("watch {path}: timed out with {events:?}"));
            let Some(Ok(frame)) = frame else { break };
            if let Ok(data) = frame.into_data() {
                pending.extend_from_slice(&data);
                while let Some(n) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=n).collect();
                    if line.iter().any(|b| !b.is_ascii_whitespace()) {
                        events.push(serde_json::from_slice(&line).expect("an event is JSON"));
                    }
                }
            }
        }
        events
    })
}

fn job(name: &str, args: &[&str]) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "exerciser.wasm", "args": args}],
            }},
        },
    })
}

/// A Job whose one pod runs until it is killed.
fn sleeper(c: &Cluster, name: &str) {
    let (code, body) = call(c, "POST", JOBS, Some(job(name, &["sleep-ms=600000"])));
    assert_eq!(code, 201, "{body}");
    eventually(&format!("{name}'s pod running"), || {
        pods_of(c, name)
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });
}

fn pods_of(c: &Cluster, job: &str) -> Vec<Value> {
    let (code, list) = call(
        c,
        "GET",
        &format!("{PODS}?labelSelector=job-name={job}"),
        None,
    );
    assert_eq!(code, 200, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(code: u16, reason: &str, message: &str, details: Value) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if !details.is_null() {
        s["details"] = details;
    }
    s
}

#[test]
fn errors_are_whole_statuses_with_upstream_codes_and_messages() {
    let c = cluster();
    let (code, created) = call(&c, "POST", JOBS, Some(job("x", &["exit=0"])));
    assert_eq!(code, 201, "{created}");
    assert!(created["metadata"]["uid"].is_string(), "{created}");
    // An empty status, as Go prints the struct (Python's `resp.status.active` reads it).
    assert_eq!(created["status"], json!({}), "{created}");

    let (code, body) = call(&c, "POST", JOBS, Some(job("x", &["exit=0"])));
    assert_eq!(code, 409);
    assert_eq!(
        body,
        status(
            409,
            "AlreadyExists",
            "jobs.batch \"x\" already exists",
            json!({"name": "x", "group": "batch", "kind": "jobs"})
        )
    );

    let (code, body) = call(&c, "GET", &format!("{JOBS}/nope"), None);
    assert_eq!(code, 404);
    assert_eq!(
        body,
        status(
            404,
            "NotFound",
            "jobs.batch \"nope\" not found",
            json!({"name": "nope", "group": "batch", "kind": "jobs"})
        )
    );

    let mut bad = job("bad", &[]);
    bad["spec"]["parallelism"] = json!(-1);
    let (code, body) = call(&c, "POST", JOBS, Some(bad));
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["message"],
        "Job.batch \"bad\" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(body["details"]["name"], "bad");
    assert_eq!(body["details"]["kind"], "Job");
    assert_eq!(body["details"]["group"], "batch");
    assert_eq!(
        body["details"]["causes"],
        json!([{"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0", "field": "spec.parallelism"}])
    );

    // An update from a stale read is a conflict, and changes nothing.
    let mut stale = created.clone();
    stale["metadata"]["labels"] = json!({"a": "b"});
    let (code, body) = call_with(
        &c,
        "PATCH",
        &format!("{JOBS}/x"),
        "application/merge-patch+json",
        Some(json!({"metadata": {"labels": {"c": "d"}}})),
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = call(&c, "PUT", &format!("{JOBS}/x"), Some(stale));
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        body,
        status(
            409,
            "Conflict",
            "Operation cannot be fulfilled on jobs.batch \"x\": the object has been modified; please apply your changes to the latest version and try again",
            json!({"name": "x", "group": "batch", "kind": "jobs"})
        )
    );
    let (_, now) = call(&c, "GET", &format!("{JOBS}/x"), None);
    assert_eq!(now["metadata"]["labels"]["c"], "d");
    assert!(now["metadata"]["labels"].get("a").is_none(), "{now}");

    // Malformed JSON is a 400 that names the problem; nothing is stored.
    let (code, body) = call_raw(&c, "POST", JOBS, "{\"kind\": ");
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(
        call(&c, "GET", JOBS, None).1["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn deletion_propagates_as_each_policy_says() {
    let c = cluster();

    // Background: the Job goes at once, its pods after it.
    sleeper(&c, "bg");
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/bg?propagationPolicy=Background"),
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/bg"), None).0, 404);
    eventually("bg's pods gone", || pods_of(&c, "bg").is_empty());

    // Foreground: the Job stays, marked, until its pods are gone.
    sleeper(&c, "fg");
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/fg?propagationPolicy=Foreground"),
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body["metadata"]["deletionTimestamp"].is_string(), "{body}");
    assert!(
        body["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("foregroundDeletion"))),
        "{body}"
    );
    eventually("fg gone after its pods", || {
        call(&c, "GET", &format!("{JOBS}/fg"), None).0 == 404
    });
    assert!(pods_of(&c, "fg").is_empty());

    // Orphan: the Job goes, its pods stay and no longer name it as owner.
    sleeper(&c, "or");
    let uid = call(&c, "GET", &format!("{JOBS}/or"), None).1["metadata"]["uid"].clone();
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/or"),
        Some(json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan"})),
    );
    assert_eq!(code, 200, "{body}");
    eventually("or gone", || {
        call(&c, "GET", &format!("{JOBS}/or"), None).0 == 404
    });
    let pods = pods_of(&c, "or");
    assert_eq!(pods.len(), 1, "{pods:?}");
    let owners = pods[0]["metadata"]["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(owners.iter().all(|o| o["uid"] != uid), "{owners:?}");
    assert!(pods[0]["metadata"]["deletionTimestamp"].is_null());

    // deletecollection honours a field selector: only the named Job goes.
    for name in ["keep-a", "keep-b"] {
        let mut j = job(name, &["exit=0"]);
        j["spec"]["suspend"] = json!(true);
        assert_eq!(call(&c, "POST", JOBS, Some(j)).0, 201);
    }
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}?fieldSelector=metadata.name%3Dkeep-a&propagationPolicy=Background"),
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/keep-a"), None).0, 404);
    assert_eq!(call(&c, "GET", &format!("{JOBS}/keep-b"), None).0, 200);

    // An unknown policy is refused and deletes nothing.
    sleeper(&c, "bad");
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/bad?propagationPolicy=Sideways"),
        None,
    );
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/bad"), None).0, 200);
}

#[test]
fn a_dry_run_answers_as_the_write_would_and_stores_nothing() {
    let c = cluster();
    let (code, body) = call(
        &c,
        "POST",
        &format!("{JOBS}?dryRun=All"),
        Some(job("d", &["exit=0"])),
    );
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["metadata"]["name"], "d");
    // Defaults and validation ran.
    assert_eq!(body["spec"]["completions"], 1);
    assert_eq!(call(&c, "GET", &format!("{JOBS}/d"), None).0, 404);
    let mut bad = job("e", &[]);
    bad["spec"]["completions"] = json!(-2);
    assert_eq!(
        call(&c, "POST", &format!("{JOBS}?dryRun=All"), Some(bad)).0,
        422
    );

    sleeper(&c, "live");
    let (code, body) = call_with(
        &c,
        "PATCH",
        &format!("{JOBS}/live?dryRun=All"),
        "application/merge-patch+json",
        Some(json!({"metadata": {"labels": {"tried": "yes"}}})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["metadata"]["labels"]["tried"], "yes");
    let (_, stored) = call(&c, "GET", &format!("{JOBS}/live"), None);
    assert!(
        stored["metadata"]["labels"].get("tried").is_none(),
        "{stored}"
    );

    let (code, _) = call(&c, "DELETE", &format!("{JOBS}/live?dryRun=All"), None);
    assert_eq!(code, 200);
    assert_eq!(call(&c, "GET", &format!("{JOBS}/live"), None).0, 200);
    assert_eq!(pods_of(&c, "live").len(), 1);

    // Any other dryRun value is kube-apiserver's 422 on the request's options.
    let (code, body) = call(
        &c,
        "POST",
        &format!("{JOBS}?dryRun=Some"),
        Some(job("f", &[])),
    );
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\""
    );
    assert_eq!(
        body["details"],
        json!({"group": "meta.k8s.io", "kind": "CreateOptions", "causes": [{
            "reason": "FieldValueNotSupported",
            "message": "Unsupported value: []string{\"Some\"}: supported values: \"All\"",
            "field": "dryRun",
        }]})
    );
    assert_eq!(call(&c, "GET", &format!("{JOBS}/f"), None).0, 404);
    let (code, body) = call(&c, "DELETE", &format!("{JOBS}/live?dryRun=x"), None);
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["kind"], "DeleteOptions");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/live"), None).0, 200);
}

#[test]
fn a_watch_resumes_from_a_listed_revision_and_an_expired_one_is_410() {
    let mut c = cluster();
    let (code, list) = call(&c, "GET", JOBS, None);
    assert_eq!(code, 200);
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("a list RV")
        .to_string();
    assert_eq!(call(&c, "POST", JOBS, Some(job("w", &["exit=0"]))).0, 201);

    // Everything written to `w` since the list, up to its completion, then nothing else.
    let events = watch(
        &c,
        &format!("{JOBS}?watch=true&resourceVersion={rv}"),
        |evs| {
            evs.iter().any(|e| {
                e["object"]["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Complete"))
            })
        },
    );
    assert!(
        events
            .iter()
            .all(|e| e["object"]["metadata"]["name"] == "w"),
        "{events:?}"
    );
    let rvs: Vec<u64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "in order: {rvs:?}");
    assert!(rvs[0] > rv.parse::<u64>().unwrap());

    // A watch with no resourceVersion starts with the current state.
    let first = watch(&c, &format!("{JOBS}?watch=true"), |evs| !evs.is_empty());
    assert_eq!(first[0]["type"], "ADDED");
    assert_eq!(first[0]["object"]["metadata"]["name"], "w");

    // A new server keeps no history from before its start: resuming there is 410 Expired,
    // sent as a watch ERROR event as kube-apiserver sends it.
    c.restart();
    let gone = watch(
        &c,
        &format!("{JOBS}?watch=true&resourceVersion={rv}"),
        |evs| !evs.is_empty(),
    );
    assert_eq!(gone[0]["type"], "ERROR", "{gone:?}");
    assert_eq!(gone[0]["object"]["kind"], "Status");
    assert_eq!(gone[0]["object"]["code"], 410);
    assert_eq!(gone[0]["object"]["reason"], "Expired");
}

#[test]
fn tables_have_upstream_columns_and_one_row_per_object() {
    let c = cluster();
    assert_eq!(call(&c, "POST", JOBS, Some(job("t", &["exit=0"]))).0, 201);
    eventually("t complete", || {
        call(&c, "GET", &format!("{JOBS}/t"), None).1["status"]["succeeded"] == 1
    });
    let addr = c.addr();
    let table: Value = c.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = Request::builder()
            .uri(JOBS)
            .header("host", addr.to_string())
            .header(
                "accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            )
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    });
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["cells"][0], "t");
    assert_eq!(rows[0]["cells"][1], "Complete");
    assert_eq!(rows[0]["cells"][2], "1/1");
    // The row's object is the partial metadata kubectl asks for by default.
    assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(rows[0]["object"]["metadata"]["name"], "t");
}

/// DeleteOptions in the DELETE body (where kubectl puts them) are honoured: a dry run
/// deletes nothing, preconditions guard the object, `orphanDependents` and
/// `gracePeriodSeconds: 0` do what they say. A dry run once deleted for real.
#[test]
fn delete_options_in_the_body_are_honoured() {
    let c = cluster();
    sleeper(&c, "keep");
    let job = call(&c, "GET", &format!("{JOBS}/keep"), None).1;
    let pod_name = pods_of(&c, "keep")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let dry = json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"], "propagationPolicy": "Background"});
    let (code, body) = call(&c, "DELETE", &format!("{JOBS}/keep"), Some(dry.clone()));
    assert_eq!(code, 200, "{body}");
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{PODS}/{pod_name}"),
        Some(dry.clone()),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body["metadata"]["deletionTimestamp"].is_string(), "{body}");
    let (code, body) = call(
        &c,
        "DELETE",
        "/api/v1/namespaces/default",
        Some(dry.clone()),
    );
    // `default` may not be deleted at all; a dry run is refused or answered, never done.
    assert!(code == 200 || code == 403, "{code} {body}");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/keep"), None).0, 200);
    let pods = pods_of(&c, "keep");
    assert_eq!(pods.len(), 1);
    assert!(
        pods[0]["metadata"]["deletionTimestamp"].is_null(),
        "{pods:?}"
    );

    // Preconditions: another uid, or a stale resourceVersion, is a 409 and deletes nothing.
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/keep"),
        Some(json!({"preconditions": {"uid": "not-this-one"}})),
    );
    assert_eq!(code, 409, "{body}");
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        body["message"],
        format!(
            "Operation cannot be fulfilled on jobs.batch \"keep\": StorageError: invalid object, Code: 4, Key: /registry/jobs/default/keep, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: not-this-one, UID in object meta: {uid}"
        )
    );
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/keep"),
        Some(json!({"preconditions": {"resourceVersion": "1"}})),
    );
    assert_eq!(code, 409, "{body}");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/keep"), None).0, 200);

    // The right uid deletes; `orphanDependents: true` keeps the pod.
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/keep"),
        Some(json!({"preconditions": {"uid": uid}, "orphanDependents": true})),
    );
    assert_eq!(code, 200, "{body}");
    eventually("keep gone", || {
        call(&c, "GET", &format!("{JOBS}/keep"), None).0 == 404
    });
    assert_eq!(call(&c, "GET", &format!("{PODS}/{pod_name}"), None).0, 200);

    // A force delete of the (running, orphaned) pod: gone at once.
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{PODS}/{pod_name}"),
        Some(json!({"gracePeriodSeconds": 0})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(call(&c, "GET", &format!("{PODS}/{pod_name}"), None).0, 404);

    // Invalid options: 422, nothing deleted.
    sleeper(&c, "other");
    let (code, body) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/other"),
        Some(json!({"propagationPolicy": "Orphan", "orphanDependents": false})),
    );
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["kind"], "DeleteOptions");
    assert_eq!(call(&c, "GET", &format!("{JOBS}/other"), None).0, 200);
}

/// A watch resumed from a list's resourceVersion replays what happened since with the
/// events' own types: a Job created since is ADDED, one changed since is MODIFIED, one
/// deleted since is DELETED (they once came as MODIFIED and ADDED).
#[test]
fn a_resumed_watch_replays_changes_with_their_own_types() {
    let c = cluster();
    for name in ["changed", "gone"] {
        assert_eq!(call(&c, "POST", JOBS, Some(job(name, &["exit=0"]))).0, 201);
    }
    eventually("both complete", || {
        ["changed", "gone"]
            .iter()
            .all(|n| call(&c, "GET", &format!("{JOBS}/{n}"), None).1["status"]["succeeded"] == 1)
    });
    let rv = call(&c, "GET", JOBS, None).1["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(call(&c, "POST", JOBS, Some(job("new", &["exit=0"]))).0, 201);
    let (code, _) = call_with(
        &c,
        "PATCH",
        &format!("{JOBS}/changed"),
        "application/merge-patch+json",
        Some(json!({"metadata": {"labels": {"touched": "yes"}}})),
    );
    assert_eq!(code, 200);
    let (code, _) = call(
        &c,
        "DELETE",
        &format!("{JOBS}/gone?propagationPolicy=Background"),
        None,
    );
    assert_eq!(code, 200);
    let events = watch(
        &c,
        &format!("{JOBS}?watch=true&resourceVersion={rv}"),
        |evs| {
            ["new", "changed", "gone"]
                .iter()
                .all(|n| evs.iter().any(|e| e["object"]["metadata"]["name"] == *n))
        },
    );
    let first = |name: &str| {
        events
            .iter()
            .find(|e| e["object"]["metadata"]["name"] == name)
            .map(|e| e["type"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(first("new"), "ADDED", "{events:?}");
    assert_eq!(first("changed"), "MODIFIED", "{events:?}");
    assert_eq!(first("gone"), "DELETED", "{events:?}");
}

/// Every error is a whole `metav1.Status`: a path we do not serve (with the empty
/// `details` clients read), a verb a path lacks (405, once an empty body), a query that
/// does not parse.
#[test]
fn every_error_is_a_whole_status() {
    let c = cluster();
    // Discovery answers with or without the trailing slash, and names the group.
    for path in [
        "/version/",
        "/api/",
        "/apis/",
        "/api/v1/",
        "/apis/batch/v1/",
    ] {
        assert_eq!(call(&c, "GET", path, None).0, 200, "{path}");
    }
    let (code, group) = call(&c, "GET", "/apis/batch", None);
    assert_eq!(code, 200);
    assert_eq!(group["kind"], "APIGroup");
    assert_eq!(group["preferredVersion"]["groupVersion"], "batch/v1");
    let (code, body) = call(&c, "GET", "/apis/nothing.example/v1/things", None);
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "the server could not find the requested resource",
               "reason": "NotFound", "details": {}, "code": 404})
    );
    let (code, body) = call(&c, "PUT", JOBS, Some(job("x", &[])));
    assert_eq!(code, 405);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "the server does not allow this method on the requested resource",
               "reason": "MethodNotAllowed", "details": {}, "code": 405})
    );
    // A path the HTTP layer cannot decode: its text error comes as a Status.
    let (code, body) = call(&c, "GET", "/api/v1/namespaces/%FF/pods", None);
    assert!(code >= 400, "{code} {body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["code"], code);
    // Health answers stay text.
    let (code, body) = call(&c, "GET", "/readyz", None);
    assert_eq!(code, 200);
    assert_eq!(body, json!("ok"));
}

/// Deleting a namespace empties it (CronJobs, Jobs, their pods, orphaned pods, Events)
/// and then removes it; while it terminates nothing new may be created in it, and a
/// namespace recreated under its name starts empty.
#[test]
fn a_deleted_namespace_takes_everything_in_it_and_refuses_new_content() {
    let c = cluster();
    let team = "/apis/batch/v1/namespaces/team";
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    assert_eq!(
        call(&c, "POST", "/api/v1/namespaces", Some(ns.clone())).0,
        201
    );
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "m", "image": "exerciser.wasm"}]}}}}}});
    assert_eq!(
        call(&c, "POST", &format!("{team}/cronjobs"), Some(cron)).0,
        201
    );
    let mut long = job("long", &["sleep-ms=600000"]);
    long["metadata"]["namespace"] = json!("team");
    assert_eq!(call(&c, "POST", &format!("{team}/jobs"), Some(long)).0, 201);
    // A Job another controller's finalizer holds keeps the namespace terminating.
    let mut held = job("held", &["exit=0"]);
    held["metadata"]["namespace"] = json!("team");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    held["spec"]["suspend"] = json!(true);
    assert_eq!(call(&c, "POST", &format!("{team}/jobs"), Some(held)).0, 201);
    let team_pods = || {
        call(&c, "GET", "/api/v1/namespaces/team/pods", None).1["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    eventually("long's pod running", || {
        team_pods()
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });

    let (code, body) = call(&c, "DELETE", "/api/v1/namespaces/team", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"]["phase"], "Terminating", "{body}");
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    let mut late = job("late", &["exit=0"]);
    late["metadata"]["namespace"] = json!("team");
    let (code, body) = call(&c, "POST", &format!("{team}/jobs"), Some(late.clone()));
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        body["message"],
        "jobs.batch \"late\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    assert_eq!(
        body["details"]["causes"][0]["reason"],
        "NamespaceTerminating"
    );
    // Asked again while it terminates: upstream's 409.
    let (code, body) = call(&c, "DELETE", "/api/v1/namespaces/team", None);
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on namespaces \"team\": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."
    );
    eventually("the rest of team gone", || team_pods().is_empty());
    assert_eq!(call(&c, "GET", "/api/v1/namespaces/team", None).0, 200);
    // The holder lets go: the namespace goes.
    let (code, body) = call_with(
        &c,
        "PATCH",
        &format!("{team}/jobs/held"),
        "application/merge-patch+json",
        Some(json!({"metadata": {"finalizers": null}})),
    );
    assert_eq!(code, 200, "{body}");
    eventually("team gone", || {
        call(&c, "GET", "/api/v1/namespaces/team", None).0 == 404
    });
    assert!(team_pods().is_empty());
    for what in ["jobs", "cronjobs"] {
        let (_, list) = call(&c, "GET", &format!("{team}/{what}"), None);
        assert_eq!(list["items"], json!([]), "{what}: {list}");
    }
    let (_, events) = call(&c, "GET", "/api/v1/namespaces/team/events", None);
    assert_eq!(events["items"], json!([]), "{events}");
    // Recreated, it is empty: nothing comes back.
    assert_eq!(call(&c, "POST", "/api/v1/namespaces", Some(ns)).0, 201);
    let (_, list) = call(&c, "GET", &format!("{team}/cronjobs"), None);
    assert_eq!(list["items"], json!([]));
}

/// `limit` and `continue` page a list as kube-apiserver does: at most `limit` items, a
/// continue token and `remainingItemCount`, every item exactly once across the pages, and
/// an expired token is 410.
#[test]
fn lists_page_with_limit_and_continue() {
    let mut c = cluster();
    for i in 0..7 {
        let mut j = job(&format!("p{i}"), &["exit=0"]);
        j["spec"]["suspend"] = json!(true);
        assert_eq!(call(&c, "POST", JOBS, Some(j)).0, 201);
    }
    let (code, first) = call(&c, "GET", &format!("{JOBS}?limit=3"), None);
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["metadata"]["remainingItemCount"], 4);
    let rv = first["metadata"]["resourceVersion"].clone();
    let mut names: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["metadata"]["name"].as_str().unwrap().to_string()),
        );
        assert_eq!(
            page["metadata"]["resourceVersion"], rv,
            "the first page's RV"
        );
        let Some(token) = page["metadata"]["continue"].as_str() else {
            break;
        };
        let token = token
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        page = call(&c, "GET", &format!("{JOBS}?limit=3&continue={token}"), None).1;
    }
    assert_eq!(names, (0..7).map(|i| format!("p{i}")).collect::<Vec<_>>());
    // A page holding the rest has no token.
    let (_, last) = call(&c, "GET", &format!("{JOBS}?limit=7"), None);
    assert!(last["metadata"].get("continue").is_none(), "{last}");
    // A selector keeps the token but not the count.
    let (_, sel) = call(
        &c,
        "GET",
        &format!("{JOBS}?limit=1&labelSelector=job-name"),
        None,
    );
    assert!(sel["metadata"]["continue"].is_string());
    assert!(sel["metadata"].get("remainingItemCount").is_none());
    // Bad input is 400; a token whose later changes the history no longer holds: 410.
    assert_eq!(call(&c, "GET", &format!("{JOBS}?limit=-3"), None).0, 400);
    assert_eq!(
        call(&c, "GET", &format!("{JOBS}?continue=zzz"), None).0,
        400
    );
    let (_, p) = call(&c, "GET", &format!("{JOBS}?limit=2"), None);
    let token = p["metadata"]["continue"]
        .as_str()
        .unwrap()
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    // Written after the token's revision, then forgotten by the history with a restart.
    let mut late = job("late", &["exit=0"]);
    late["spec"]["suspend"] = json!(true);
    assert_eq!(call(&c, "POST", JOBS, Some(late)).0, 201);
    c.restart();
    let (code, body) = call(&c, "GET", &format!("{JOBS}?limit=2&continue={token}"), None);
    assert_eq!(code, 410, "{body}");
    assert_eq!(body["reason"], "Expired");
}

/// exec, attach and port-forward say what a wasm pod lacks (kubectl shows the message)
/// instead of a 404 that looks like a broken cluster; a pod that does not exist is 404.
#[test]
fn a_wasm_pod_says_it_has_no_exec_attach_or_ports() {
    let c = cluster();
    sleeper(&c, "s");
    let pod = pods_of(&c, "s")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    for (sub, words) in [
        ("exec", "does not support exec"),
        ("attach", "does not support attach"),
        ("portforward", "does not support port-forward"),
    ] {
        let (code, body) = call(&c, "POST", &format!("{PODS}/{pod}/{sub}?command=ls"), None);
        assert_eq!(code, 400, "{sub}: {body}");
        assert_eq!(body["reason"], "BadRequest");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    let (code, body) = call(&c, "POST", &format!("{PODS}/nope/exec"), None);
    assert_eq!(code, 404, "{body}");
}

/// Apps record their own Events (`core/v1` create, as client-go's recorder does), read
/// back with the kubelet's and the controllers'; one about another namespace's object is
/// refused with upstream's message.
#[test]
fn apps_can_write_events() {
    let c = cluster();
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "mine.1", "namespace": "default"},
        "involvedObject": {"kind": "Job", "name": "x", "namespace": "default"},
        "reason": "Processed", "message": "did a thing", "type": "Normal",
        "source": {"component": "my-app"}, "count": 1,
    });
    let events = "/api/v1/namespaces/default/events";
    let (code, body) = call(&c, "POST", events, Some(event.clone()));
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["reason"], "Processed");
    let (code, body) = call_with(
        &c,
        "PATCH",
        &format!("{events}/mine.1"),
        "application/merge-patch+json",
        Some(json!({"count": 2})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["count"], 2);
    let mut elsewhere = event.clone();
    elsewhere["metadata"]["name"] = json!("mine.2");
    elsewhere["involvedObject"]["namespace"] = json!("kube-system");
    let (code, body) = call(&c, "POST", events, Some(elsewhere));
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "Event \"mine.2\" is invalid: involvedObject.namespace: Invalid value: \"kube-system\": does not match event.namespace"
    );
    assert_eq!(call(&c, "DELETE", &format!("{events}/mine.1"), None).0, 200);
    assert_eq!(call(&c, "GET", &format!("{events}/mine.1"), None).0, 404);
}

/// A pod's Events tell its start as a node's do: Scheduled, Pulling, Pulled (with time and
/// size), Created, Started; its status names the module's digest as `imageID`.
#[test]
fn a_pods_events_tell_its_start_and_its_status_names_the_image_digest() {
    let c = cluster();
    sleeper(&c, "ev");
    let pod = &pods_of(&c, "ev")[0];
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    let image_id = pod["status"]["containerStatuses"][0]["imageID"]
        .as_str()
        .unwrap()
        .to_string();
    let digest = image_id
        .strip_prefix("exerciser.wasm@sha256:")
        .unwrap_or_else(|| panic!("{image_id}"));
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    let reasons = || -> Vec<(String, String)> {
        let (_, list) = call(
            &c,
            "GET",
            &format!(
                "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{name}"
            ),
            None,
        );
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        items.sort_by(|a, b| {
            a["metadata"]["name"]
                .as_str()
                .cmp(&b["metadata"]["name"].as_str())
        });
        items
            .iter()
            .map(|e| {
                (
                    e["reason"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    eventually("Started recorded", || {
        reasons().iter().any(|(r, _)| r == "Started")
    });
    let events = reasons();
    let order: Vec<&str> = events.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        order,
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"],
        "{events:?}"
    );
    assert_eq!(
        events[0].1,
        format!("Successfully assigned default/{name} to wasmjob-node")
    );
    assert_eq!(events[1].1, "Pulling image \"exerciser.wasm\"");
    assert!(
        events[2]
            .1
            .starts_with("Successfully pulled image \"exerciser.wasm\" in ")
            && events[2].1.ends_with(" bytes."),
        "{}",
        events[2].1
    );
}

/// A namespace stored before the namespace lifecycle (no `kubernetes` finalizer) gets
/// the finalizer at start-up, so deleting it still empties it first.
#[test]
fn a_namespace_stored_without_its_finalizer_gets_it_at_start_up() {
    let mut c = cluster();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old"}});
    assert_eq!(call(&c, "POST", "/api/v1/namespaces", Some(ns)).0, 201);
    c.store()
        .modify::<k8s_openapi::api::core::v1::Namespace>("/old", |n| n.spec = None);
    c.restart();
    let (_, ns) = call(&c, "GET", "/api/v1/namespaces/old", None);
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]), "{ns}");
}

#[test]
fn server_side_apply_is_refused_and_changes_nothing() {
    let c = cluster();
    sleeper(&c, "ssa");
    let path = "/apis/batch/v1/namespaces/default/jobs/ssa?fieldManager=kubectl";
    let applied = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ssa\n  labels:\n    applied: \"yes\"\n";
    let (code, body) = send(
        &c,
        "PATCH",
        path,
        "application/apply-patch+yaml",
        applied.to_string(),
    );
    assert_eq!(code, 415, "{body}");
    assert_eq!(body["reason"], "UnsupportedMediaType");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"),
        "{message}"
    );
    assert!(message.contains("server-side apply"), "{message}");
    let (_, job) = call(
        &c,
        "GET",
        "/apis/batch/v1/namespaces/default/jobs/ssa",
        None,
    );
    assert!(job["metadata"]["labels"].get("applied").is_none(), "{job}");
    // Nor does it create what is missing.
    let missing = "/apis/batch/v1/namespaces/default/jobs/new?fieldManager=kubectl";
    let (code, _) = send(
        &c,
        "PATCH",
        missing,
        "application/apply-patch+yaml",
        applied.replace("name: ssa", "name: new"),
    );
    assert_eq!(code, 415);
    let (code, _) = call(
        &c,
        "GET",
        "/apis/batch/v1/namespaces/default/jobs/new",
        None,
    );
    assert_eq!(code, 404);
    // An unknown patch type gets upstream's message alone.
    let (code, body) = send(&c, "PATCH", path, "text/plain", "x".into());
    assert_eq!(code, 415);
    assert!(
        !body["message"].as_str().unwrap().contains("server-side"),
        "{body}"
    );
}

/// events.k8s.io/v1 is core/v1's Events in the newer shape: written in one, read in both,
/// watched and patched in its own field names, held to its own stricter creation rules.
#[test]
fn events_k8s_io_v1_serves_the_same_events_in_its_own_shape() {
    let c = cluster();
    let (code, group) = call(&c, "GET", "/apis/events.k8s.io/v1", None);
    assert_eq!(code, 200);
    assert_eq!(group["resources"][0]["name"], "events");
    let (_, groups) = call(&c, "GET", "/apis", None);
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "events.k8s.io")
    );
    let v1 = "/apis/events.k8s.io/v1/namespaces/default/events";
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "app.1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Job", "name": "x", "namespace": "default"},
        "reportingController": "example.com/app", "reportingInstance": "app-1",
        "action": "Process", "reason": "Processed", "note": "did a thing", "type": "Normal",
    });
    let (code, body) = call(&c, "POST", v1, Some(event.clone()));
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["apiVersion"], "events.k8s.io/v1");
    assert_eq!(body["note"], "did a thing");
    assert_eq!(body["regarding"]["name"], "x");
    assert!(body.get("message").is_none(), "{body}");
    // The same object through core/v1.
    let (code, core) = call(&c, "GET", "/api/v1/namespaces/default/events/app.1", None);
    assert_eq!(code, 200);
    assert_eq!(core["message"], "did a thing");
    assert_eq!(core["reportingComponent"], "example.com/app");
    // Lists, selectors and patches speak the group's names.
    let (_, list) = call(
        &c,
        "GET",
        &format!("{v1}?fieldSelector=regarding.name%3Dx"),
        None,
    );
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["apiVersion"], "events.k8s.io/v1");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["note"], "did a thing");
    // Through this group only the series may change, as upstream's update rules say.
    let (code, refused) = call_with(
        &c,
        "PATCH",
        &format!("{v1}/app.1"),
        "application/merge-patch+json",
        Some(json!({"note": "did it again"})),
    );
    assert_eq!(code, 422, "{refused}");
    assert_eq!(
        refused["message"],
        "Event.events.k8s.io \"app.1\" is invalid: message: Invalid value: \"did it again\": field is immutable"
    );
    let series = json!({"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"});
    let (code, patched) = call_with(
        &c,
        "PATCH",
        &format!("{v1}/app.1"),
        "application/merge-patch+json",
        Some(json!({"series": series})),
    );
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["series"]["count"], 2);
    assert_eq!(patched["note"], "did a thing");
    let (code, patched) = call_with(
        &c,
        "PATCH",
        &format!("{v1}/app.1"),
        "application/json-patch+json",
        Some(json!([{"op": "replace", "path": "/series/count", "value": 3}])),
    );
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["series"]["count"], 3);
    // The refused patch left it as it was.
    let (_, stored) = call(&c, "GET", &format!("{v1}/app.1"), None);
    assert_eq!(stored["note"], "did a thing");
    // A watch converts each event.
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{v1}?watch=true&resourceVersion={rv}&timeoutSeconds=5");
    let seen = watch(&c, &path, |events| !events.is_empty());
    assert_eq!(seen[0]["type"], "MODIFIED", "{seen:?}");
    assert_eq!(seen[0]["object"]["apiVersion"], "events.k8s.io/v1");
    assert!(seen[0]["object"]["note"].is_string(), "{seen:?}");
    // The group's creation rules: what core/v1 takes for a legacy Event is refused here.
    let mut legacy = event.clone();
    legacy["metadata"]["name"] = json!("app.2");
    legacy.as_object_mut().unwrap().remove("eventTime");
    let (code, body) = call(&c, "POST", v1, Some(legacy));
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "Event.events.k8s.io \"app.2\" is invalid: eventTime: Required value"
    );
    let mut no_action = event.clone();
    no_action["metadata"]["name"] = json!("app.3");
    no_action.as_object_mut().unwrap().remove("action");
    no_action["type"] = json!("Loud");
    let (code, body) = call(&c, "POST", v1, Some(no_action));
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "Event.events.k8s.io \"app.3\" is invalid: [action: Required value, type: Invalid value: \"\": has invalid value: Loud]"
    );
    // A core/v1-shaped body is not this group's.
    let mut core_shaped = event.clone();
    core_shaped["apiVersion"] = json!("v1");
    let (code, body) = call(&c, "POST", v1, Some(core_shaped));
    assert_eq!(code, 400, "{body}");
    assert_eq!(call(&c, "DELETE", &format!("{v1}/app.1"), None).0, 200);
    let (code, body) = call(&c, "GET", &format!("{v1}/app.1"), None);
    assert_eq!(code, 404);
    assert_eq!(body["message"], "events.events.k8s.io \"app.1\" not found");
    assert_eq!(body["details"]["group"], "events.k8s.io");
}
