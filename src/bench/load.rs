//! The load measurement of the hardening issue: a real `wasmjob serve` child with hostile
//! pods (spinners, memory held at the limit, log floods, descriptor bombs that crash and
//! restart) beside a well-behaved Job, while concurrent API clients create, list and
//! watch. Every loop is bounded.
//!
//! Two things come out. Figures: the well-behaved pods' start latency under load against a
//! quiet run on the same server moments before, in two spans: from the Job's create being
//! answered (the Job exists) to its pod seen started by a watch, which is Kubernetes' pod
//! startup SLI (pod created → started, observed via watch) plus the Job controller's step;
//! and from the POST being sent, which adds the wait for the API behind the clients. And
//! checks, which fail the benchmark rather than print a number: the hostile pods running,
//! no 5xx answer, no panic in the server's log, and every client's watch delivering each of
//! its creates as `ADDED`, in order, with increasing resourceVersions.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Error;
use super::serve::{Server, pod_watch};

/// Opens its first preopened directory again and again without closing: the descriptor
/// bomb (as `tests/guests/fd_bomb.wat`), which ends at its bound and is restarted.
const FD_BOMB: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".")
  (func (export "_start")
    (loop $again
      (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 1)
            (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))
        (then (call $exit (i32.const 1))))
      (br $again))))"#;

/// Settings of the load measurement.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Concurrent API clients.
    pub clients: usize,
    /// Jobs each client creates at least (each followed by a list); clients go on until
    /// the probes are done, up to ten times this.
    pub creates_per_client: usize,
    /// Hostile pods, split evenly between the four kinds.
    pub hostile: usize,
    /// Well-behaved one-pod Jobs timed in each phase, one after another.
    pub probes: usize,
}

/// What the load measurement found.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Start latencies of the well-behaved pods on the quiet server (the Job's create
    /// answered → the pod seen started), sorted.
    pub quiet: Vec<Duration>,
    /// The same under load, sorted.
    pub loaded: Vec<Duration>,
    /// From the POST being sent instead, quiet and loaded, sorted.
    pub quiet_from_post: Vec<Duration>,
    /// See `quiet_from_post`.
    pub loaded_from_post: Vec<Duration>,
    /// Hostile pods seen running at once (the Jobs' `status.active`) when the load began.
    pub hostile_active: usize,
    /// API requests the clients made.
    pub requests: usize,
    /// How long the clients took, all of them.
    pub clients_took: Duration,
    /// Watch events the clients checked.
    pub watch_events: usize,
}

/// Runs the measurement on a fresh server; fails on any 5xx, panic or watch fault.
pub async fn measure(exerciser: &Path, plan: &Plan) -> Result<Figures, Error> {
    let dir = tempfile::tempdir()?;
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images)?;
    std::fs::copy(exerciser, images.join("exerciser.wasm"))?;
    std::fs::write(images.join("fd-bomb.wat"), FD_BOMB)?;
    let log = dir.path().join("serve.log");
    let (server, _) = Server::start_logging(&dir.path().join("data"), &images, Some(&log)).await?;
    let server = Arc::new(server);
    let mut f = Figures::default();

    // One pod first, so that compiling the module is in neither phase.
    probes(&server, "warm-up", 1).await?;
    (f.quiet, f.quiet_from_post) = probes(&server, "quiet", plan.probes).await?;

    let per_kind = (plan.hostile / 4).max(1);
    for (name, spec) in hostile_specs() {
        let mut job = one_container_job(&format!("hostile-{name}"), spec);
        job["spec"]["completions"] = json!(per_kind);
        job["spec"]["parallelism"] = json!(per_kind);
        job["spec"]["backoffLimit"] = json!(1_000_000);
        server.create_job(job).await?;
    }
    f.hostile_active = wait_for_hostile(&server, per_kind * 4).await?;
    if f.hostile_active * 10 < per_kind * 4 * 9 {
        return Err(Error::Child(format!(
            "only {} of {} hostile pods became active within a minute",
            f.hostile_active,
            per_kind * 4
        )));
    }

    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicUsize::new(0));
    let probing = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let clients: Vec<_> = (0..plan.clients)
        .map(|c| {
            let (server, failures) = (server.clone(), failures.clone());
            let (requests, events) = (requests.clone(), events.clone());
            let probing = probing.clone();
            let n = plan.creates_per_client;
            tokio::spawn(async move {
                let load = Load {
                    requests: &requests,
                    events: &events,
                    probing: &probing,
                };
                if let Err(e) = client(&server, c, n, load).await {
                    failures.lock().expect("poisoned").push(e);
                }
            })
        })
        .collect();
    let loaded = probes(&server, "loaded", plan.probes).await;
    probing.store(false, Ordering::Relaxed);
    (f.loaded, f.loaded_from_post) = loaded?;
    for c in clients {
        if let Err(e) = c.await {
            failures
                .lock()
                .expect("poisoned")
                .push(format!("a client panicked: {e}"));
        }
    }
    f.clients_took = started.elapsed();
    f.requests = requests.load(Ordering::Relaxed);
    f.watch_events = events.load(Ordering::Relaxed);

    let server = Arc::try_unwrap(server)
        .map_err(|_| Error::Child("a client still holds the server".into()))?;
    server.stop().await?;
    let failures = failures.lock().expect("poisoned").clone();
    if !failures.is_empty() {
        return Err(Error::Child(format!(
            "under load: {} failures, the first: {}",
            failures.len(),
            failures[0]
        )));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if let Some(line) = text.lines().find(|l| l.contains("panicked")) {
        return Err(Error::Child(format!(
            "the server panicked under load: {line}"
        )));
    }
    Ok(f)
}

/// The four hostile containers: name and container spec.
fn hostile_specs() -> [(&'static str, Value); 4] {
    let limits = |memory: &str| json!({"limits": {"memory": memory, "cpu": "1"}});
    [
        (
            "spinner",
            json!({"image": "exerciser.wasm", "args": ["busy-loop"]}),
        ),
        (
            "memory",
            json!({"image": "exerciser.wasm", "args": ["alloc-mib=56", "sleep-ms=600000"],
                   "resources": limits("64Mi")}),
        ),
        (
            "logs",
            json!({"image": "exerciser.wasm", "args": ["print-bytes=1000000000000"]}),
        ),
        (
            "fds",
            json!({"image": "fd-bomb.wat",
                   "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}),
        ),
    ]
}

fn one_container_job(name: &str, mut container: Value) -> Value {
    container["name"] = json!("main");
    let restart = if name.starts_with("hostile-fds") {
        "OnFailure"
    } else {
        "Never"
    };
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {
            "restartPolicy": restart,
            "containers": [container],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        }}},
    })
}

/// Waits (at most a minute) until most hostile pods are active and their number has held
/// for a second (the start-up burst over: the measurement is of pods running beside
/// hostile ones, not of a thousand pods starting); returns how many were.
async fn wait_for_hostile(server: &Server, wanted: usize) -> Result<usize, Error> {
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut last = (0, Instant::now());
    loop {
        let (_, body) = server
            .request(
                "GET",
                "/apis/batch/v1/namespaces/default/jobs",
                None,
                "application/json",
            )
            .await?;
        let active: usize = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| {
                v["items"].as_array().map(|jobs| {
                    jobs.iter()
                        .filter(|j| {
                            j["metadata"]["name"]
                                .as_str()
                                .is_some_and(|n| n.starts_with("hostile-"))
                        })
                        .map(|j| j["status"]["active"].as_u64().unwrap_or(0) as usize)
                        .sum()
                })
            })
            .unwrap_or(0);
        if active != last.0 {
            last = (active, Instant::now());
        }
        let settled = last.1.elapsed() >= Duration::from_secs(1);
        if (active * 10 >= wanted * 9 && settled) || Instant::now() > give_up {
            return Ok(active);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Well-behaved one-pod Jobs, one after another; per pod, sorted: the Job's create
/// answered → the pod seen started, and the POST sent → the same.
async fn probes(
    server: &Server,
    phase: &str,
    n: usize,
) -> Result<(Vec<Duration>, Vec<Duration>), Error> {
    let (mut stored, mut posted) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let name = format!("{phase}-{i}");
        let mut watch = server.watch(&pod_watch(&name)).await?;
        let t = Instant::now();
        server
            .create_job(one_container_job(
                &name,
                json!({"image": "exerciser.wasm", "args": ["sleep-ms=20"]}),
            ))
            .await?;
        let exists = Instant::now();
        watch
            .until(|p| {
                // Started: running, or already done with exit 0 (a pod that failed at
                // once must not count as a fast start).
                let state = &p["status"]["containerStatuses"][0]["state"];
                state.get("running").is_some() || state["terminated"]["exitCode"] == 0
            })
            .await?;
        stored.push(exists.elapsed());
        posted.push(t.elapsed());
    }
    stored.sort();
    posted.sort();
    Ok((stored, posted))
}

/// What every client counts into, and the flag that tells it the probes are done.
#[derive(Clone, Copy)]
struct Load<'a> {
    requests: &'a AtomicUsize,
    events: &'a AtomicUsize,
    probing: &'a AtomicBool,
}

/// One client: watches its own Jobs from the current resourceVersion, creates suspended
/// Jobs (listing after each) until the probes are done, at least `n` and at most ten times
/// that, then reads its watch until every create came as `ADDED`, in order, with
/// increasing resourceVersions.
async fn client(server: &Server, c: usize, n: usize, load: Load<'_>) -> Result<(), String> {
    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    let selector = format!("labelSelector=client%3Dc{c}");
    let call = |method: &'static str, path: String, body: Option<Vec<u8>>| async move {
        load.requests.fetch_add(1, Ordering::Relaxed);
        let (status, body) = server
            .request(method, &path, body, "application/json")
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let wanted = if method == "POST" { 201 } else { 200 };
        if status != wanted {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok::<_, String>(body)
    };
    let list = call("GET", format!("{jobs}?{selector}"), None).await?;
    let rv = serde_json::from_slice::<Value>(&list)
        .ok()
        .and_then(|v| v["metadata"]["resourceVersion"].as_str().map(String::from))
        .ok_or("a list without a resourceVersion")?;
    let mut watch = server
        .watch(&format!("{jobs}?watch=1&{selector}&resourceVersion={rv}"))
        .await
        .map_err(|e| format!("watch: {e}"))?;
    let mut created = Vec::with_capacity(n);
    for i in 0..n * 10 {
        if i >= n && !load.probing.load(Ordering::Relaxed) {
            break;
        }
        let name = format!("c{c}-{i}");
        let job = json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"client": format!("c{c}")}},
            "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "main", "image": "exerciser.wasm"}]}}},
        });
        call("POST", jobs.into(), serde_json::to_vec(&job).ok()).await?;
        created.push(name);
        call("GET", format!("{jobs}?{selector}"), None).await?;
    }
    let mut last_rv = rv.parse::<u64>().unwrap_or(0);
    let mut next = 0;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
    while next < created.len() {
        let (kind, object) = tokio::time::timeout_at(give_up, watch.next_event())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                format!(
                    "client {c}: the watch ended after {next} of {} creates",
                    created.len()
                )
            })?;
        if kind == "BOOKMARK" {
            continue;
        }
        load.events.fetch_add(1, Ordering::Relaxed);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let object_rv = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if object_rv <= last_rv {
            return Err(format!(
                "client {c}: {kind} {name} at resourceVersion {object_rv} after {last_rv}"
            ));
        }
        last_rv = object_rv;
        // The controller may update a Job (status) after adding it; only additions of
        // Jobs not yet seen must come in creation order.
        if kind == "ADDED" {
            if name != created[next] {
                return Err(format!(
                    "client {c}: ADDED {name} where {} was next",
                    created[next]
                ));
            }
            next += 1;
        } else if created[..next].iter().all(|n| n != name) {
            return Err(format!("client {c}: {kind} {name} before its ADDED"));
        }
    }
    if watch.unparsable() > 0 {
        return Err(format!(
            "client {c}: {} watch lines were not JSON events",
            watch.unparsable()
        ));
    }
    Ok(())
}
