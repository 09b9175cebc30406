//! The sandbox attacked as a hostile tenant would: each test is an escape or exhaustion
//! that once worked, run the way a user runs wasmjob, and must now fail safely.

use std::path::Path;

use wasmjob::server::connections::Limits;

use crate::common::{guests, jobs_from_yaml, wasmjob};
use crate::kubectl::{Cluster, needs_kubectl};

/// A guest that plants `link -> target` in its first preopened directory (fd 3) with
/// WASI's `path_symlink`, exiting with the errno (0 when the link was made). cap-std lets
/// a guest make a relative link that climbs out; it only refuses to follow one.
fn symlink_planter(dir: &Path, target: &str, link: &str) -> String {
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{target}")
  (data (i32.const 4096) "{link}")
  (func (export "_start")
    (call $exit (call $symlink (i32.const 0) (i32.const {tl}) (i32.const 3)
                               (i32.const 4096) (i32.const {ll})))))"#,
        tl = target.len(),
        ll = link.len(),
    );
    let p = dir.join("plant.wat");
    std::fs::write(&p, wat).unwrap();
    p.display().to_string()
}

/// A relative path from the pod's volume that climbs to `/` and comes down to `to`.
fn climbing_to(to: &Path) -> String {
    format!("{}{}", "../".repeat(40).trim_end_matches('/'), to.display())
}

fn run_job(dir: &Path, yaml: &str) -> (Option<i32>, serde_json::Value, String) {
    let f = dir.join("job.yaml");
    std::fs::write(&f, yaml).unwrap();
    let out = wasmjob(&["run", "-f", f.to_str().unwrap(), "--logs"], dir);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let jobs = if out.stdout.is_empty() {
        vec![serde_json::Value::Null]
    } else {
        jobs_from_yaml(&out.stdout)
    };
    (out.status.code(), jobs[0].clone(), err)
}

/// An init container plants a climbing symlink in an emptyDir; the main container then
/// mounts it as `subPath`, or works in it as `workingDir`, and writes. Before the fix the
/// kubelet followed the link on the host and the guest wrote outside (as root).
#[test]
fn a_symlink_planted_in_an_empty_dir_leads_nowhere_through_sub_path_or_working_dir() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let outside = std::fs::canonicalize(&outside).unwrap();
    let plant = symlink_planter(dir.path(), &climbing_to(&outside), "x");
    let exerciser = guests().join("exerciser/exerciser.wasm");
    let header = |name: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: [{{name: v, emptyDir: {{}}}}]\n      initContainers:\n      - {{name: plant, image: {plant}, volumeMounts: [{{name: v, mountPath: /v}}]}}\n      containers:\n"
        )
    };
    let cases = [
        (
            "subpath",
            format!(
                "      - {{name: main, image: {}, args: [\"write=/m/pwned:1\"], volumeMounts: [{{name: v, mountPath: /m, subPath: x}}]}}\n",
                exerciser.display()
            ),
        ),
        (
            "subpath-below",
            format!(
                "      - {{name: main, image: {}, args: [\"write=/m/pwned:1\"], volumeMounts: [{{name: v, mountPath: /m, subPath: x/deeper}}]}}\n",
                exerciser.display()
            ),
        ),
        (
            "workdir",
            format!(
                "      - {{name: main, image: {}, workingDir: /v/x, args: [\"write=pwned:1\"], volumeMounts: [{{name: v, mountPath: /v}}]}}\n",
                exerciser.display()
            ),
        ),
    ];
    for (name, container) in cases {
        let (code, job, err) = run_job(dir.path(), &(header(name) + &container));
        assert_eq!(code, Some(1), "{name}: the Job should fail\n{err}");
        assert_eq!(job["status"]["failed"], 1, "{name}: {job}\n{err}");
        // The init container did plant its link: the attack really ran.
        assert!(
            !err.contains("container plant failed"),
            "{name}: the planter failed, so nothing was tested\n{err}"
        );
        let leaked: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
        assert!(
            leaked.is_empty(),
            "{name}: the guest wrote outside its volume: {leaked:?}"
        );
    }
}

/// `run` allows hostPath volumes (a single-user tool) but never its module cache, which is
/// trusted native code, nor a directory that contains it.
#[test]
fn run_refuses_host_paths_over_its_module_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let exerciser = guests().join("exerciser/exerciser.wasm");
    for path in [cache.clone(), dir.path().to_path_buf(), "/".into()] {
        let yaml = format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: h}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: [{{name: h, hostPath: {{path: {}}}}}]\n      containers:\n      - {{name: main, image: {}, args: [\"ls=/h\"], volumeMounts: [{{name: h, mountPath: /h}}]}}\n",
            path.display(),
            exerciser.display()
        );
        let f = dir.path().join("job.yaml");
        std::fs::write(&f, yaml).unwrap();
        let cache_arg = cache.display().to_string();
        let out = wasmjob(
            &["run", "-f", f.to_str().unwrap(), "--cache-dir", &cache_arg],
            dir.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert!(
            err.contains("hostPath volume \"h\"") && err.contains("own directory"),
            "{err}"
        );
    }
    // Any other directory is fine under `run`.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("seen"), "").unwrap();
    let yaml = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: h}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: [{{name: h, hostPath: {{path: {}}}}}]\n      containers:\n      - {{name: main, image: {}, args: [\"ls=/h\"], volumeMounts: [{{name: h, mountPath: /h}}]}}\n",
        shared.display(),
        exerciser.display()
    );
    let (code, _, err) = run_job(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("seen"), "{err}");
}

/// Idle TCP, stalled TLS handshakes and slow headers once held connections forever; now
/// they are timed out, and strangers (connections that have not authenticated) are capped
/// so they cannot take every descriptor.
#[test]
fn idle_and_slow_connections_are_timed_out_and_strangers_capped() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start_with(|o| {
        o.connections = Limits {
            handshake_timeout: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(1),
            max_connections: 64,
            max_unauthenticated: 4,
        };
    });
    // Closed (EOF) or reset: either way the server let go.
    let closed_within = |s: &mut TcpStream, limit: Duration| {
        s.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        matches!(s.read(&mut buf), Ok(0) | Err(_)) && start.elapsed() < limit
    };
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(c.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut fifth = TcpStream::connect(c.addr()).unwrap();
    assert!(
        closed_within(&mut fifth, Duration::from_millis(900)),
        "a fifth stranger was let in"
    );
    for s in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(5)),
            "an idle connection outlived the handshake timeout"
        );
    }
    // The server answers users again.
    assert_eq!(c.ok(&["get", "--raw", "/readyz"]), "ok");

    // Slow headers over plain HTTP.
    let plain = Cluster::start_with(|o| {
        o.insecure_http = true;
        o.connections.header_read_timeout = Duration::from_secs(1);
    });
    let mut slow = TcpStream::connect(plain.addr()).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(
        closed_within(&mut slow, Duration::from_secs(5)),
        "slow headers were waited for"
    );
}

/// `--insecure-http` serves without authentication: only on loopback.
#[test]
fn insecure_http_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = crate::kubectl::options(dir.path());
    o.insecure_http = true;
    o.listen = "0.0.0.0:0".parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(wasmjob::serve::start(o))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("loopback only"), "{err}");
}

/// `serve` admits no hostPath by default (403, as an admission plugin refuses), admits
/// one under `--allow-host-path`, and keeps its data directory owner-only.
#[test]
fn serve_admits_host_paths_only_under_allowed_directories() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let job = |path: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: h}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: [{{name: h, hostPath: {{path: {path}}}}}]\n      containers:\n      - {{name: main, image: exerciser.wasm, args: [\"ls=/h\"], volumeMounts: [{{name: h, mountPath: /h}}]}}\n"
        )
    };
    let f = c.write("h.yaml", &job("/"));
    let err = c.err(&["create", "-f", &f]);
    assert!(
        err.contains("jobs.batch \"h\" is forbidden: hostPath volume \"h\" (path \"/\") is not allowed: this server allows no hostPath volumes"),
        "{err}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&c.data_dir()), 0o700);
    assert_eq!(mode(&c.data_dir().join("store.redb")), 0o600);
    assert_eq!(mode(&c.data_dir().join("kubeconfig")), 0o600);

    let c = Cluster::start_with(|o| {
        let shared = o.data_dir.parent().unwrap().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::write(shared.join("seen-by-the-pod"), "").unwrap();
        // The whole test directory, which holds the data directory too.
        o.allow_host_path = vec![o.data_dir.parent().unwrap().to_path_buf()];
    });
    let shared = c.dir.path().join("shared");
    let f = c.write("ok.yaml", &job(&shared.display().to_string()));
    c.ok(&["create", "-f", &f]);
    c.ok(&["wait", "--for=condition=complete", "job/h", "--timeout=60s"]);
    assert!(c.ok(&["logs", "job/h"]).contains("seen-by-the-pod"));
    // The data directory stays out of reach even inside an allowed one.
    let f = c.write(
        "data.yaml",
        &job(&c.data_dir().display().to_string()).replace("name: h}", "name: d}"),
    );
    let err = c.err(&["create", "-f", &f]);
    assert!(err.contains("own directory"), "{err}");
}

/// A YAML body of deeply nested flow collections once parsed in quadratic time on the
/// guests' workers (128k levels: 32 s). It is refused before parsing, at once.
#[test]
fn deeply_nested_yaml_is_refused_before_parsing() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let c = Cluster::start_with(|o| o.insecure_http = true);
    let depth = 128 * 1024;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut s = std::net::TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    write!(
        s,
        "POST /apis/batch/v1/namespaces/default/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        answer.contains("nesting deeper than 100 levels"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// One plain-HTTP request, answered with its status code and body.
fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let code = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// A JSON patch of 10,000 operations (2.4 MB) once took 9.6 s on the two tokio workers
/// that also answer `/healthz` and run the controllers; a few at once stalled the API.
/// Patching now runs on a bounded pool of its own: while sixteen such patches work (more
/// than the workers and the pool), the API answers at once.
#[test]
fn slow_patches_do_not_stall_the_api() {
    use std::time::{Duration, Instant};
    let c = Cluster::start_with(|o| o.insecure_http = true);
    let job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "big", "annotations": {}},
        "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "pi.wasm"}]}}}
    });
    let path = "/apis/batch/v1/namespaces/default/jobs";
    let (code, body) = http(
        c.addr(),
        "POST",
        path,
        "application/json",
        job.to_string().as_bytes(),
    );
    assert_eq!(code, 201, "{body}");
    let ops: Vec<_> = (0..10_000)
        .map(|i| {
            serde_json::json!({"op": "add", "path": format!("/metadata/annotations/k{i}"),
                "value": "x".repeat(200)})
        })
        .collect();
    let patch = serde_json::to_vec(&ops).unwrap();
    assert!(patch.len() > 2_400_000, "{}", patch.len());
    let addr = c.addr();
    let patchers: Vec<_> = (0..16)
        .map(|_| {
            let patch = patch.clone();
            std::thread::spawn(move || {
                let (code, body) = http(
                    addr,
                    "PATCH",
                    "/apis/batch/v1/namespaces/default/jobs/big",
                    "application/json-patch+json",
                    &patch,
                );
                (
                    code,
                    body.chars().take(300).collect::<String>(),
                    Instant::now(),
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let asked = Instant::now();
        let (code, body) = http(addr, "GET", "/healthz", "text/plain", b"");
        assert_eq!((code, body.as_str()), (200, "ok"));
        slowest = slowest.max(asked.elapsed());
    }
    let answered = Instant::now();
    let finished: Vec<_> = patchers.into_iter().map(|t| t.join().unwrap()).collect();
    for (code, body, _) in &finished {
        // Too large for metadata.annotations (256 KiB), as upstream says, once applied.
        assert_eq!(*code, 422, "{body}");
    }
    assert!(
        finished.iter().any(|(_, _, at)| *at > answered),
        "the patches were done before /healthz was asked: nothing was measured"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?} while patches ran"
    );
}

/// 12,000 sleeping pods once held every pool slot and another tenant's pod waited 90 s
/// with no word. The node holds `--max-pods` pods; the next ones wait Pending, marked
/// unschedulable with a FailedScheduling Event, and start when room frees up.
#[test]
fn pods_beyond_max_pods_wait_unschedulable_and_say_so() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start_with(|o| o.max_pods = Some(2));
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: s}\nspec:\n  completions: 3\n  parallelism: 3\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: main, image: exerciser.wasm, args: [\"sleep-ms=1500\"]}\n";
    let f = c.write("s.yaml", job);
    c.ok(&["create", "-f", &f]);
    c.eventually("a pod to wait unschedulable", || {
        c.ok(&[
            "get",
            "pods",
            "-o",
            "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"PodScheduled\")].reason}{\"\\n\"}{end}",
        ])
        .contains("Unschedulable")
    });
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=FailedScheduling",
    ]);
    assert!(
        events.contains("0/1 nodes are available: 1 Too many pods."),
        "{events}"
    );
    c.ok(&["wait", "--for=condition=complete", "job/s", "--timeout=60s"]);
    let scheduled = c.ok(&["get", "events", "--field-selector", "reason=Scheduled"]);
    assert!(
        scheduled.contains("Successfully assigned default/s-"),
        "{scheduled}"
    );
}

/// Six pods with 20Gi limits once all ran on a 24 GiB host. A pod that needs more memory
/// than the node has is rejected by the node (Failed, `OutOfmemory`, as a kubelet rejects
/// it), so its Job fails with the reason instead of running unbounded.
#[test]
fn a_pod_needing_more_memory_than_the_node_has_is_rejected() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: big}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: main, image: pi.wasm, args: [\"pi\", \"10\"], resources: {limits: {memory: 64Ti}}}\n";
    let f = c.write("big.yaml", job);
    c.ok(&["create", "-f", &f]);
    c.ok(&["wait", "--for=condition=failed", "job/big", "--timeout=60s"]);
    let reason = c.ok(&["get", "pods", "-o", "jsonpath={.items[0].status.reason}"]);
    assert_eq!(reason, "OutOfmemory");
    let message = c.ok(&["get", "pods", "-o", "jsonpath={.items[0].status.message}"]);
    assert!(
        message.starts_with(
            "Pod was rejected: Node didn't have enough resource: memory, requested: 70368744177664, capacity: "
        ),
        "{message}"
    );
}

/// A failed init container once reported the app container as `terminated 137`, which
/// a podFailurePolicy rule on 137 could wrongly match. The app container never started:
/// it stays `waiting: PodInitializing`, and `run` names the init container and its code.
#[test]
fn a_failed_init_container_leaves_the_app_container_initializing() {
    let g = guests();
    let exerciser = g.join("exerciser/exerciser.wasm");
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: i}}\nspec:\n  backoffLimit: 0\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onExitCodes: {{operator: In, values: [137]}}\n  template:\n    spec:\n      restartPolicy: Never\n      initContainers:\n      - {{name: setup, image: {e}, args: [\"exit=3\"]}}\n      containers:\n      - {{name: main, image: {e}}}\n",
        e = exerciser.display()
    );
    let (code, job, err) = run_job(dir.path(), &yaml);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("init container setup failed with exit code 3 (Error)"),
        "{err}"
    );
    // Counted as a failure (the Ignore rule on 137 did not match), so the Job failed.
    assert_eq!(job["status"]["failed"], 1, "{job}");

    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "i.yaml",
        &yaml.replace(&exerciser.display().to_string(), "exerciser.wasm"),
    );
    c.ok(&["create", "-f", &f]);
    c.ok(&["wait", "--for=condition=failed", "job/i", "--timeout=60s"]);
    let state = c.ok(&[
        "get",
        "pods",
        "-o",
        "jsonpath={.items[0].status.containerStatuses[0].state}",
    ]);
    assert_eq!(state, r#"{"waiting":{"reason":"PodInitializing"}}"#);
}

/// An oversized body was answered with plain text; clients decode a `metav1.Status`.
#[test]
fn an_oversized_body_is_refused_with_a_status() {
    use std::io::{Read, Write};
    let c = Cluster::start_with(|o| o.insecure_http = true);
    let body = format!("{{\"x\": \"{}\"}}", "a".repeat(4 << 20));
    let mut s = std::net::TcpStream::connect(c.addr()).unwrap();
    write!(
        s,
        "POST /apis/batch/v1/namespaces/default/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server may answer and close before the whole body is sent.
    let _ = s.write_all(body.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let status: serde_json::Value = serde_json::from_str(json).expect(json);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "RequestEntityTooLarge");
    assert_eq!(status["code"], 413);
    assert_eq!(
        status["message"],
        "Request entity too large: limit is 3145728"
    );
}

/// A Job managed by another controller once made `run` wait forever.
#[test]
fn run_refuses_a_job_managed_by_another_controller() {
    let dir = tempfile::tempdir().unwrap();
    let pi = guests().join("pi/pi.wasm");
    let yaml = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: m}}\nspec:\n  managedBy: example.com/queue\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: main, image: {}}}\n",
        pi.display()
    );
    let (code, _, err) = run_job(dir.path(), &yaml);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "Job \"m\" is managed by \"example.com/queue\", not \"kubernetes.io/job-controller\""
        ),
        "{err}"
    );
}

/// A Job whose one pod runs the exerciser with `args`, an `emptyDir` named scratch
/// (`size_limit`, if any) mounted at /scratch, and no retries.
fn scratch_job(name: &str, size_limit: Option<&str>, args: &str) -> String {
    let empty_dir = size_limit.map_or("{}".to_string(), |l| format!("{{sizeLimit: {l}}}"));
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      volumes:\n      - {{name: scratch, emptyDir: {empty_dir}}}\n      containers:\n      - name: main\n        image: exerciser.wasm\n        args: {args}\n        volumeMounts:\n        - {{name: scratch, mountPath: /scratch}}\n"
    )
}

/// Asserts the Job's pod was evicted with `message`, as the kubelet's eviction manager
/// reports it, and that its volume's space was given back.
fn assert_evicted(c: &Cluster, job: &str, message: &str) {
    c.ok(&[
        "wait",
        "--for=condition=failed",
        &format!("job/{job}"),
        "--timeout=60s",
    ]);
    let pods = c.ok(&[
        "get",
        "pods",
        "-l",
        &format!("job-name={job}"),
        "-o",
        "json",
    ]);
    let pods: serde_json::Value = serde_json::from_str(&pods).unwrap();
    let pod = &pods["items"][0];
    let status = &pod["status"];
    assert_eq!(status["phase"], "Failed", "{status}");
    assert_eq!(status["reason"], "Evicted", "{status}");
    assert_eq!(status["message"], message, "{status}");
    let disruption = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .unwrap_or_else(|| panic!("no DisruptionTarget condition: {status}"));
    assert_eq!(disruption["reason"], "TerminationByKubelet");
    assert_eq!(disruption["message"], message);
    let name = pod["metadata"]["name"].as_str().unwrap();
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={name},reason=Evicted"),
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert_eq!(events, message);
    let volumes = c
        .data_dir()
        .join("volumes")
        .join(format!("default_{name}"))
        .join("volumes");
    // Removed after the eviction is reported, as the kubelet's volume manager does, so
    // waited for.
    c.eventually(&format!("{} to be removed", volumes.display()), || {
        !volumes.exists()
    });
}

/// 201 MB once went into a `10Mi` emptyDir and 100,000 files into a `1Mi` one. Both are
/// evicted now, with the kubelet's reason and message.
#[test]
fn an_empty_dir_beyond_its_size_limit_is_evicted() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let big = c.write(
        "big.yaml",
        &scratch_job(
            "big",
            Some("10Mi"),
            r#"["fill-mib=/scratch/big:200", "sleep-ms=30000"]"#,
        ),
    );
    let many = c.write(
        "many.yaml",
        &scratch_job(
            "many",
            Some("1Mi"),
            r#"["touch=/scratch:100000", "sleep-ms=30000"]"#,
        ),
    );
    c.ok(&["create", "-f", &big, "-f", &many]);
    assert_evicted(
        &c,
        "big",
        "Usage of EmptyDir volume \"scratch\" exceeds the limit \"10Mi\". ",
    );
    assert_evicted(
        &c,
        "many",
        "Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Mi\". ",
    );
}

/// Without any limit a pod could fill the node's disk: the node's default
/// `limits.ephemeral-storage` bounds it (here 8Mi, by default 1Gi).
#[test]
fn the_node_default_bounds_a_pod_that_sets_no_limit() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start_with(|o| o.default_ephemeral_storage = Some(8 << 20));
    let f = c.write(
        "hog.yaml",
        &scratch_job(
            "hog",
            None,
            r#"["fill-mib=/scratch/big:64", "sleep-ms=30000"]"#,
        ),
    );
    c.ok(&["create", "-f", &f]);
    assert_evicted(
        &c,
        "hog",
        "Pod ephemeral local storage usage exceeds the total limit of containers 8Mi. ",
    );
    // Under the limit nothing happens.
    let f = c.write(
        "small.yaml",
        &scratch_job(
            "small",
            None,
            r#"["fill-mib=/scratch/big:2", "sleep-ms=2500"]"#,
        ),
    );
    c.ok(&["create", "-f", &f]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/small",
        "--timeout=60s",
    ]);
}
