//! The crash tests: `kill -9` of `wasmjob serve` in the middle of a Job with completions 200
//! and parallelism 10, then a restart on the same data directory. No completion may be lost
//! or counted twice, and the pods that were running end Failed with `DisruptionTarget`.
//! Container logs, including the empty log of a container that wrote nothing, are still
//! served after such a restart.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::guests;
use crate::kubectl::needs_kubectl;

pub(crate) struct Server {
    child: Child,
}

pub(crate) fn start(dir: &std::path::Path, images: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pod-backoff-base",
            "50ms",
            "--pod-backoff-max",
            "500ms",
        ])
        .arg("--data-dir")
        .arg(dir)
        .arg("--image-dir")
        .arg(images)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("wasmjob serve starts");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening on https://127.0.0.1:"), "{first}");
    Server { child }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory for one test: the server's data directory, an image directory
/// holding the exerciser, and kubectl pointed at the server.
pub(crate) struct Node {
    tmp: tempfile::TempDir,
}

impl Node {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let images = tmp.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::copy(
            guests().join("exerciser/exerciser.wasm"),
            images.join("exerciser.wasm"),
        )
        .unwrap();
        Node { tmp }
    }

    pub(crate) fn dir(&self) -> &std::path::Path {
        self.tmp.path()
    }

    pub(crate) fn start(&self) -> Server {
        start(&self.dir().join("data"), &self.dir().join("images"))
    }

    /// Runs kubectl in the scratch directory: (success, stdout, stderr).
    pub(crate) fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", self.dir().join("data/kubeconfig"))
            .env("KUBECACHEDIR", self.dir().join("kcache"))
            .current_dir(self.dir())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn kill_9_in_the_middle_of_a_job_loses_and_doubles_nothing() {
    if !needs_kubectl() {
        return;
    }
    let node = Node::new();
    std::fs::write(
        node.dir().join("big.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: big\nspec:\n  completions: 200\n  parallelism: 10\n  backoffLimit: 100\n  template:\n    spec:\n      containers:\n      - name: main\n        image: exerciser.wasm\n        args: [\"sleep-ms=50\", \"print=done\"]\n      restartPolicy: Never\n",
    )
    .unwrap();

    let mut server = node.start();
    assert!(node.kubectl(&["create", "-f", "big.yaml"]).0);
    let started = Instant::now();
    loop {
        let (_, n, _) = node.kubectl(&["get", "job", "big", "-o", "jsonpath={.status.succeeded}"]);
        if n.parse::<u32>().unwrap_or(0) >= 40 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress before the crash"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let _server = node.start();
    let (ok, _, _) = node.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/big",
        "--timeout=120s",
    ]);
    assert!(ok, "the job completes after the restart");
    let (_, status, _) = node.kubectl(&["get", "job", "big", "-o", "json"]);
    let job: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(job["status"]["succeeded"], 200);

    let (_, pods, _) = node.kubectl(&["get", "pods", "-l", "job-name=big", "-o", "json"]);
    let pods: serde_json::Value = serde_json::from_str(&pods).unwrap();
    let items = pods["items"].as_array().unwrap();
    let phase = |p: &serde_json::Value| p["status"]["phase"].as_str().unwrap_or("").to_string();
    let succeeded = items.iter().filter(|p| phase(p) == "Succeeded").count();
    let failed: Vec<&serde_json::Value> = items.iter().filter(|p| phase(p) == "Failed").collect();
    assert_eq!(succeeded, 200, "exactly one pod per completion");
    assert_eq!(
        job["status"]["failed"].as_u64().unwrap_or(0) as usize,
        failed.len()
    );
    assert!(!failed.is_empty(), "the crash hit running pods");
    for p in failed {
        let disrupted = p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "DisruptionTarget" && c["status"] == "True");
        assert!(disrupted, "{p}");
    }
}

#[test]
fn logs_are_served_after_a_restart_including_a_silent_containers_empty_one() {
    if !needs_kubectl() {
        return;
    }
    let node = Node::new();
    let job = |name: &str, args: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        image: exerciser.wasm\n        args: [{args}]\n      restartPolicy: Never\n"
        )
    };
    std::fs::write(
        node.dir().join("jobs.yaml"),
        format!(
            "{}---\n{}",
            job("talker", "\"print=hello\""),
            job("silent", "")
        ),
    )
    .unwrap();

    let mut server = node.start();
    assert!(node.kubectl(&["create", "-f", "jobs.yaml"]).0);
    for name in ["job/talker", "job/silent"] {
        let (ok, _, err) =
            node.kubectl(&["wait", "--for=condition=complete", name, "--timeout=60s"]);
        assert!(ok, "{name}: {err}");
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let _server = node.start();
    let (ok, out, err) = node.kubectl(&["logs", "job/talker"]);
    assert!(ok, "{err}");
    assert_eq!(out, "hello\n");
    let (ok, out, err) = node.kubectl(&["logs", "job/silent"]);
    assert!(ok, "a silent container's log is empty, not an error: {err}");
    assert_eq!(out, "");
}
