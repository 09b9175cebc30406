//! The kubectl suite: the real `/usr/bin/kubectl` against `wasmjob serve` started
//! in-process on 127.0.0.1:0 (HTTPS, token), checking what it prints. Skipped with a
//! message when kubectl is not installed; CI machines have it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use wasmjob::controller::job::{Backoff, Settings};
use wasmjob::serve::{self, Options, Running};

use crate::common::guests;

pub struct Cluster {
    rt: Option<tokio::runtime::Runtime>,
    running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    /// Changes to [`options`] for this cluster.
    tweak: fn(&mut Options),
}

/// Whether to run a test that drives the server with kubectl. A missing kubectl fails the
/// test loudly (CI has it), unless `WASMJOB_TESTS_SKIP_KUBECTL=1` asks to skip such tests
/// knowingly; a silent pass without kubectl would hide that nothing was tested.
pub fn needs_kubectl() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var_os("WASMJOB_TESTS_SKIP_KUBECTL").is_some_and(|v| v == "1") {
        eprintln!("kubectl is not installed: skipped (WASMJOB_TESTS_SKIP_KUBECTL=1)");
        return false;
    }
    panic!(
        "kubectl is not installed, and this test drives the server with it: install it \
         (apt-get install kubernetes-client) or set WASMJOB_TESTS_SKIP_KUBECTL=1 to skip \
         the kubectl tests knowingly"
    );
}

/// Debian's kubectl 1.20 (package `kubernetes-client`), fetched with `apt-get download` and
/// unpacked beside the build on first use, never installed over the system's kubectl. As
/// with [`needs_kubectl`], failing to get it fails loudly unless
/// `WASMJOB_TESTS_SKIP_KUBECTL=1`; `None` then.
pub fn kubectl_1_20() -> Option<PathBuf> {
    static FETCHED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = FETCHED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kubectl-1.20");
    let bin = dir.join("usr/bin/kubectl");
    let works = |bin: &Path| {
        Command::new(bin)
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| {
                o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v1.20")
            })
    };
    if works(&bin) {
        return Some(bin);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let download = || {
        Command::new("apt-get")
            .args(["download", "kubernetes-client"])
            .current_dir(&dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // A fresh machine may not have the package lists yet.
    if !download() {
        let _ = Command::new("apt-get").arg("update").output();
        download();
    }
    let deb = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"));
    if let Some(deb) = deb {
        let _ = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&dir)
            .output();
    }
    if works(&bin) {
        return Some(bin);
    }
    if std::env::var_os("WASMJOB_TESTS_SKIP_KUBECTL").is_some_and(|v| v == "1") {
        eprintln!("kubectl 1.20 could not be fetched: skipped (WASMJOB_TESTS_SKIP_KUBECTL=1)");
        return None;
    }
    panic!(
        "kubectl 1.20 could not be fetched with `apt-get download kubernetes-client` into {}: \
         fetch it there by hand or set WASMJOB_TESTS_SKIP_KUBECTL=1 to skip the kubectl tests knowingly",
        dir.display()
    );
}

/// Copies the example guests into an image directory.
fn images(dir: &Path) -> PathBuf {
    let g = guests();
    let img = dir.join("images");
    std::fs::create_dir_all(&img).unwrap();
    for name in ["pi", "exerciser"] {
        std::fs::copy(
            g.join(format!("{name}/{name}.wasm")),
            img.join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    img
}

pub fn options(dir: &Path) -> Options {
    Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.join("data"),
        image_dir: images(dir),
        insecure_http: false,
        settings: Settings {
            backoff: Backoff {
                base: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
        },
        container_backoff_base: Duration::from_millis(100),
        container_backoff_max: Duration::from_secs(1),
        default_memory_limit: 256 << 20,
        default_ephemeral_storage: Some(1 << 30),
        allow_host_path: Vec::new(),
        max_pods: None,
        connections: Default::default(),
    }
}

impl Cluster {
    pub fn start() -> Cluster {
        Self::start_with(|_| {})
    }

    /// A cluster whose `serve` options `tweak` changes.
    pub fn start_with(tweak: fn(&mut Options)) -> Cluster {
        Self::start_in(tempfile::tempdir().unwrap(), tweak)
    }

    /// A cluster in `dir` (its data directory is `dir/data`, which may exist already,
    /// as a mount point for instance).
    pub fn start_in(dir: tempfile::TempDir, tweak: fn(&mut Options)) -> Cluster {
        let mut c = Cluster {
            rt: None,
            running: None,
            kubeconfig: PathBuf::new(),
            dir,
            tweak,
        };
        c.boot();
        c
    }

    fn boot(&mut self) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // A restart in the same process can find the previous server's store still held
        // for a moment by guest tasks its runtime is dropping in the background (a real
        // restart is a new process, which never sees this): retry briefly, saying why.
        let mut tries = 0;
        let running = loop {
            let mut o = options(self.dir.path());
            (self.tweak)(&mut o);
            match rt.block_on(serve::start(o)) {
                Ok(running) => break running,
                Err(e) if tries < 50 => {
                    eprintln!("serve did not start yet ({e}); retrying");
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("serve starts: {e}"),
            }
        };
        self.kubeconfig = running.kubeconfig.clone();
        self.running = Some(running);
        self.rt = Some(rt);
    }

    /// Stops the server and starts a new one on the same data directory.
    pub fn restart(&mut self) {
        let (rt, running) = (self.rt.take().unwrap(), self.running.take().unwrap());
        rt.block_on(running.stop());
        drop(rt);
        self.boot();
    }

    /// Stops the server (see [`Cluster::start_again`]).
    pub fn stop(&mut self) {
        let (rt, running) = (self.rt.take().unwrap(), self.running.take().unwrap());
        rt.block_on(running.stop());
    }

    /// Starts a server again on the data directory of a stopped one.
    pub fn start_again(&mut self) {
        self.boot();
    }

    /// The running server's store.
    pub fn store(&self) -> std::sync::Arc<wasmjob::store::Store> {
        self.running.as_ref().expect("running").store.clone()
    }

    /// Runs `f` on the cluster's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("running").block_on(f)
    }

    /// The API's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().unwrap().addr
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_at(Path::new("kubectl"), args)
    }

    /// Runs the kubectl binary at `bin` (an older one, say) against the cluster.
    pub fn kubectl_at(&self, bin: &Path, args: &[&str]) -> Output {
        Command::new(bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("kcache"))
            .current_dir(self.dir.path())
            .output()
            .expect("kubectl runs")
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub fn err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        name.to_string()
    }

    /// Polls `f` until it is true (at most 60 s).
    pub fn eventually(&self, what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let (Some(rt), Some(running)) = (self.rt.take(), self.running.take()) {
            rt.block_on(running.stop());
        }
    }
}

const PI: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: pi.wasm
        command: [\"pi\", \"2000\"]
      restartPolicy: Never
  backoffLimit: 4
";

fn exerciser_job(name: &str, spec: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{spec}  template:\n    spec:\n      containers:\n      - name: main\n        image: exerciser.wasm\n        args: [{}]\n      restartPolicy: Never\n",
        args.join(", ")
    )
}

#[test]
fn the_pi_job_runs_with_create_get_describe_logs_wait_and_delete() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write("job.yaml", PI);
    assert_eq!(c.ok(&["create", "-f", &f]), "job.batch/pi created\n");
    assert_eq!(
        c.ok(&[
            "wait",
            "--for=condition=complete",
            "job/pi",
            "--timeout=60s"
        ]),
        "job.batch/pi condition met\n"
    );
    let jobs = c.ok(&["get", "jobs"]);
    let mut lines = jobs.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["pi", "Complete", "1/1"]);

    let pods = c.ok(&["get", "pods", "-l", "job-name=pi"]);
    let row: Vec<&str> = pods.lines().nth(1).unwrap().split_whitespace().collect();
    assert!(row[0].starts_with("pi-") && row[0].len() == 8, "{row:?}");
    assert_eq!(&row[1..4], ["0/1", "Completed", "0"]);

    let logs = c.ok(&["logs", "job/pi"]);
    assert_eq!(logs.trim_end().len(), 2001);
    assert!(logs.starts_with("3.14159265358979"));

    let describe = c.ok(&["describe", "job", "pi"]);
    assert!(
        describe.contains("Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed"),
        "{describe}"
    );
    assert!(describe.contains("SuccessfulCreate"), "{describe}");
    assert!(describe.contains("Completed"), "{describe}");

    let yaml = c.ok(&["get", "job", "pi", "-o", "yaml"]);
    assert!(yaml.contains("type: SuccessCriteriaMet"), "{yaml}");
    assert!(yaml.contains("type: Complete"), "{yaml}");
    let json = c.ok(&["get", "jobs", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"][0]["status"]["succeeded"], 1);

    assert_eq!(c.ok(&["delete", "job", "pi"]), "job.batch \"pi\" deleted\n");
    c.eventually("pods to go with the job", || {
        c.ok(&["get", "pods", "-l", "job-name=pi", "-o", "name"])
            .trim()
            .is_empty()
    });
    assert_eq!(
        c.err(&["get", "job", "pi"]).trim(),
        "Error from server (NotFound): jobs.batch \"pi\" not found"
    );
}

#[test]
fn apply_patch_suspend_and_resume_work_like_a_cluster() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let job = exerciser_job(
        "work",
        "  completions: 4\n  parallelism: 2\n  suspend: true\n",
        &["sleep-ms=50"],
    );
    let f = c.write("work.yaml", &job);
    assert_eq!(c.ok(&["apply", "-f", &f]), "job.batch/work created\n");
    assert_eq!(c.ok(&["apply", "-f", &f]), "job.batch/work unchanged\n");
    c.eventually("the Suspended condition", || {
        c.ok(&[
            "get",
            "job",
            "work",
            "-o",
            "jsonpath={.status.conditions[0].type}",
        ]) == "Suspended"
    });
    assert_eq!(c.ok(&["get", "pods", "-o", "name"]).trim(), "");
    let edited = c.write(
        "work2.yaml",
        &job.replace("suspend: true", "suspend: false"),
    );
    assert_eq!(
        c.ok(&["apply", "-f", &edited]),
        "job.batch/work configured\n"
    );
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/work",
        "--timeout=60s",
    ]);
    let reasons = c.ok(&[
        "get",
        "job",
        "work",
        "-o",
        "jsonpath={.status.conditions[*].reason}",
    ]);
    assert_eq!(reasons, "JobResumed CompletionsReached CompletionsReached");
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=work",
    ]);
    assert!(
        events.contains("Suspended") && events.contains("Resumed"),
        "{events}"
    );

    // A patch that changes nothing says so.
    let out = c.ok(&[
        "patch",
        "job",
        "work",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    assert_eq!(out, "job.batch/work patched (no change)\n");
    let out = c.ok(&[
        "patch",
        "job",
        "work",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"team":"a"}}}"#,
    ]);
    assert_eq!(out, "job.batch/work patched\n");
    let out = c.ok(&[
        "patch",
        "job",
        "work",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels/tier","value":"b"}]"#,
    ]);
    assert_eq!(out, "job.batch/work patched\n");
    assert_eq!(
        c.ok(&["get", "jobs", "-l", "team=a,tier=b", "-o", "name"]),
        "job.batch/work\n"
    );
}

#[test]
fn kubectl_create_job_sends_protobuf_and_runs_the_command() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    assert_eq!(
        c.ok(&[
            "create",
            "job",
            "hello",
            "--image=exerciser.wasm",
            "--",
            "exerciser",
            "print=hello world"
        ]),
        "job.batch/hello created\n"
    );
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/hello",
        "--timeout=60s",
    ]);
    assert_eq!(c.ok(&["logs", "job/hello"]), "hello world\n");
}

#[test]
fn logs_follow_previous_tail_and_timestamps() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let job = exerciser_job(
        "retry",
        "",
        &[
            "print=one",
            "print=two",
            "fail-until=/scratch/n:2",
            "sleep-ms=300",
            "print=three",
        ],
    )
    .replace(
        "restartPolicy: Never",
        "restartPolicy: OnFailure\n      volumes: [{name: scratch, emptyDir: {}}]",
    )
    .replace(
        "        args:",
        "        volumeMounts: [{name: scratch, mountPath: /scratch}]\n        args:",
    );
    let f = c.write("retry.yaml", &job);
    c.ok(&["create", "-f", &f]);
    // Follow from the start: held until the container starts, ends when it ends.
    let followed = c.ok(&["logs", "-f", "job/retry"]);
    assert!(followed.starts_with("one\ntwo\n"), "{followed}");
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/retry",
        "--timeout=60s",
    ]);
    let pod = c.ok(&[
        "get",
        "pods",
        "-l",
        "job-name=retry",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    assert_eq!(
        c.ok(&["logs", &pod]),
        "one\ntwo\nattempt 2: succeeding\nthree\n"
    );
    assert_eq!(
        c.ok(&["logs", &pod, "--previous"]),
        "one\ntwo\nattempt 1 of 2: failing\n"
    );
    assert_eq!(c.ok(&["logs", &pod, "--tail=1"]), "three\n");
    let stamped = c.ok(&["logs", &pod, "--timestamps", "--tail=1"]);
    let (ts, rest) = stamped.split_once(' ').unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{stamped}");
    assert_eq!(rest, "three\n");
    let restarts = c.ok(&[
        "get",
        "pod",
        &pod,
        "-o",
        "jsonpath={.status.containerStatuses[0].restartCount}",
    ]);
    assert_eq!(restarts, "1");
    let err = c.err(&["logs", &pod, "-c", "nope"]);
    assert!(err.contains("container nope is not valid for pod"), "{err}");
}

#[test]
fn errors_read_like_the_api_server() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write("job.yaml", PI);
    c.ok(&["create", "-f", &f]);
    let err = c.err(&["create", "-f", &f]);
    assert_eq!(
        err.trim(),
        "Error from server (AlreadyExists): error when creating \"job.yaml\": jobs.batch \"pi\" already exists"
    );
    let bad = c.write(
        "bad.yaml",
        &PI.replace("name: pi\n", "name: bad\n")
            .replace("backoffLimit: 4", "backoffLimit: -1"),
    );
    let err = c.err(&["create", "-f", &bad]);
    assert_eq!(
        err.trim(),
        "The Job \"bad\" is invalid: spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"
    );
    let unknown = c.write(
        "unknown.yaml",
        &PI.replace("name: pi\n", "name: u\n")
            .replace("  backoffLimit: 4", "  foo: 4"),
    );
    let err = c.err(&["create", "-f", &unknown]);
    assert!(
        err.contains("strict decoding error: unknown field \"spec.foo\""),
        "{err}"
    );
    let escape = c.write(
        "escape.yaml",
        &PI.replace("name: pi\n", "name: e\n")
            .replace("pi.wasm", "../secret.wasm"),
    );
    let err = c.err(&["create", "-f", &escape]);
    assert!(
        err.contains("spec.template.spec.containers[0].image: Invalid value: \"../secret.wasm\""),
        "{err}"
    );
    let err = c.err(&["-n", "missing", "create", "-f", &f]);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): error when creating \"job.yaml\": namespaces \"missing\" not found"
    );
    let err = c.err(&["--token", "wrong", "get", "jobs"]);
    assert!(
        err.contains("You must be logged in to the server (Unauthorized)"),
        "{err}"
    );

    // A replace based on a stale read conflicts.
    let live = c.ok(&["get", "job", "pi", "-o", "yaml"]);
    let live = c.write("live.yaml", &live);
    c.ok(&["label", "job", "pi", "x=y"]);
    let err = c.err(&["replace", "-f", &live]);
    assert!(err.contains("Error from server (Conflict)"), "{err}");
    assert!(err.contains("the object has been modified"), "{err}");

    // The template is immutable.
    let err = c.err(&[
        "patch",
        "job",
        "pi",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"pi","image":"other.wasm"}]}}}}"#,
    ]);
    assert!(
        err.contains("The Job \"pi\" is invalid: spec.template: Invalid value:"),
        "{err}"
    );
    assert!(err.contains("field is immutable"), "{err}");
}

#[test]
fn namespaces_isolate_jobs() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    assert_eq!(
        c.ok(&["create", "namespace", "team-a"]),
        "namespace/team-a created\n"
    );
    let names = c.ok(&["get", "namespaces", "-o", "name"]);
    assert_eq!(
        names,
        "namespace/default\nnamespace/kube-system\nnamespace/team-a\n"
    );
    let f = c.write("job.yaml", PI);
    c.ok(&["-n", "team-a", "create", "-f", &f]);
    c.ok(&[
        "-n",
        "team-a",
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    assert_eq!(c.ok(&["get", "jobs", "-o", "name"]), "");
    let all = c.ok(&["get", "jobs", "-A"]);
    assert!(all.lines().nth(1).unwrap().starts_with("team-a"), "{all}");
    c.ok(&["-n", "team-a", "delete", "-f", &f]);
}

#[test]
fn watch_prints_changes_until_the_job_completes() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let job = exerciser_job("w", "  completions: 2\n", &["sleep-ms=300"]);
    let f = c.write("w.yaml", &job);
    c.ok(&["create", "-f", &f]);
    let out = Command::new("timeout")
        .args(["6", "kubectl", "get", "jobs", "-w"])
        .env("KUBECONFIG", &c.kubeconfig)
        .env("KUBECACHEDIR", c.dir.path().join("kcache"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("NAME").count(),
        1,
        "the header is printed once: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Complete") && l.contains("2/2")),
        "{text}"
    );
}

#[test]
fn foreground_and_orphan_deletion_and_ttl() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    for (name, cascade) in [("fg", "foreground"), ("orph", "orphan")] {
        let f = c.write(
            &format!("{name}.yaml"),
            &exerciser_job(name, "", &["print=x"]),
        );
        c.ok(&["create", "-f", &f]);
        c.ok(&[
            "wait",
            "--for=condition=complete",
            &format!("job/{name}"),
            "--timeout=60s",
        ]);
        c.ok(&["delete", "job", name, &format!("--cascade={cascade}")]);
    }
    let pods = c.ok(&["get", "pods", "-o", "name"]);
    assert_eq!(pods.lines().count(), 1, "only the orphan remains: {pods}");
    assert!(pods.contains("orph-"), "{pods}");

    let f = c.write(
        "ttl.yaml",
        &exerciser_job("ttl", "  ttlSecondsAfterFinished: 0\n", &["print=x"]),
    );
    c.ok(&["create", "-f", &f]);
    c.eventually("the TTL controller to delete the job", || {
        !c.kubectl(&["get", "job", "ttl"]).status.success()
    });
}

#[test]
fn jobs_and_logs_survive_a_restart() {
    if !needs_kubectl() {
        return;
    }
    let mut c = Cluster::start();
    let f = c.write("job.yaml", PI);
    c.ok(&["create", "-f", &f]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    let before = c.ok(&["logs", "job/pi"]);
    c.restart();
    assert_eq!(
        c.ok(&["get", "job", "pi", "-o", "jsonpath={.status.succeeded}"]),
        "1"
    );
    assert_eq!(c.ok(&["logs", "job/pi"]), before);
}

#[test]
fn a_restart_keeps_the_namespace_a_user_set_in_the_kubeconfig() {
    if !needs_kubectl() {
        return;
    }
    let mut c = Cluster::start();
    c.ok(&["create", "namespace", "team-a"]);
    c.ok(&["config", "set-context", "--current", "--namespace=team-a"]);
    c.ok(&["config", "set", "preferences.colors", "true"]);
    let port = c.addr().port();
    c.restart();
    assert_ne!(
        c.addr().port(),
        port,
        "a new port, so the server entry must change"
    );
    assert_eq!(
        c.ok(&["config", "view", "--minify", "-o", "jsonpath={..namespace}"]),
        "team-a"
    );
    assert!(c.ok(&["config", "view"]).contains("colors: true"));
    // And it reaches the new server, in the user's namespace.
    let f = c.write("job.yaml", PI);
    c.ok(&["create", "-f", &f]);
    assert_eq!(
        c.ok(&[
            "get",
            "job",
            "pi",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.metadata.namespace}"
        ]),
        "team-a"
    );
}

/// kubectl 1.20 validates `create -f` and `apply -f` against the protobuf `/openapi/v2`
/// (without it, only `--validate=false` worked), builds `apply`'s patches from its merge
/// keys, and explains fields from its docs; kubectl 1.32 explains from `/openapi/v3`.
#[test]
fn kubectl_1_20_and_1_32_validate_apply_and_explain_from_the_openapi_documents() {
    if !needs_kubectl() {
        return;
    }
    let Some(old) = kubectl_1_20() else { return };
    let c = Cluster::start();
    let old_ok = |args: &[&str]| {
        let out = c.kubectl_at(&old, args);
        assert!(
            out.status.success(),
            "kubectl 1.20 {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let f = c.write("job.yaml", PI);
    assert_eq!(old_ok(&["create", "-f", &f]), "job.batch/pi created\n");
    old_ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    assert!(old_ok(&["get", "jobs"]).contains(" 1/1 "));
    assert!(old_ok(&["logs", "job/pi"]).starts_with("3.14159"));
    let both = c.write(
        "both.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: \"1\"}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n",
    );
    assert_eq!(
        old_ok(&["apply", "-f", &both]),
        "configmap/c created\nnamespace/team-a created\n"
    );
    // Validation is the schema's: an unknown field is caught before anything is sent.
    let bad = c.write(
        "bad.yaml",
        &PI.replace("name: pi\n", "name: bad\n")
            .replace("image: pi.wasm", "image: pi.wasm\n        bogus: 1"),
    );
    let out = c.kubectl_at(&old, &["create", "-f", &bad]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ValidationError(Job.spec.template.spec.containers[0]): unknown field \"bogus\" in io.k8s.api.core.v1.Container"),
        "{err}"
    );
    let explained = old_ok(&["explain", "job.spec.backoffLimit"]);
    assert!(
        explained.contains("Specifies the number of retries"),
        "{explained}"
    );
    // Its dry-run verifier finds `dryRun` in the v2 paths: nothing is deleted.
    assert_eq!(
        old_ok(&["delete", "job", "pi", "--dry-run=server"]),
        "job.batch \"pi\" deleted (server dry run)\n"
    );
    old_ok(&["get", "job", "pi"]);
    old_ok(&["delete", "job", "pi"]);

    // A list merged by its key from the v2 document's tags: a CronJob's env.
    let cj = |env: &str| {
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: cj}}\nspec:\n  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: a\n            image: pi.wasm\n            env: [{env}]\n"
        )
    };
    let f = c.write(
        "cj.yaml",
        &cj("{name: A, value: '1'}, {name: B, value: '2'}"),
    );
    c.ok(&["apply", "-f", &f]);
    let f = c.write(
        "cj.yaml",
        &cj("{name: A, value: '1'}, {name: C, value: '3'}"),
    );
    assert_eq!(c.ok(&["apply", "-f", &f]), "cronjob.batch/cj configured\n");
    assert_eq!(
        c.ok(&[
            "get",
            "cj",
            "cj",
            "-o",
            "jsonpath={.spec.jobTemplate.spec.template.spec.containers[0].env[*].name}"
        ]),
        "A C"
    );
    let explained = c.ok(&["explain", "configmap.data"]);
    assert!(
        explained.contains("Data contains the configuration data"),
        "{explained}"
    );
    let explained = c.ok(&["explain", "job.spec.template.spec.containers.envFrom"]);
    assert!(explained.contains("<[]EnvFromSource>"), "{explained}");
}

/// `kubectl cluster-info` finds the control plane (it lists Services), and Services work
/// as objects: `create service` (a protobuf body), cluster IPs, Tables, updates.
#[test]
fn cluster_info_works_and_services_are_objects() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let info = c.ok(&["cluster-info"]);
    assert!(
        info.contains(&format!(
            "is running at https://127.0.0.1:{}",
            c.addr().port()
        )),
        "{info}"
    );
    let svc = c.ok(&["get", "svc", "kubernetes", "--no-headers"]);
    let cells: Vec<&str> = svc.split_whitespace().collect();
    assert_eq!(
        cells[..5],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"],
        "{svc}"
    );
    assert_eq!(
        c.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]),
        "service/web created\n"
    );
    assert_eq!(
        c.ok(&[
            "get",
            "svc",
            "web",
            "-o",
            "jsonpath={.spec.clusterIP} {.spec.ports[0].targetPort} {.spec.selector.app}"
        ]),
        "10.96.0.2 8080 web"
    );
    let headless = c.write(
        "headless.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None, selector: {app: db}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName, externalName: db.example.com}\n",
    );
    c.ok(&["apply", "-f", &headless]);
    let wide = c.ok(&["get", "svc", "-o", "wide"]);
    assert!(wide.contains("db           ClusterIP      None"), "{wide}");
    assert!(
        wide.contains("ExternalName   <none>       db.example.com"),
        "{wide}"
    );
    c.ok(&["label", "svc", "web", "tier=front"]);
    let err = c.err(&[
        "patch",
        "svc",
        "web",
        "-p",
        "{\"spec\":{\"clusterIP\":\"10.96.0.9\",\"clusterIPs\":[\"10.96.0.9\"]}}",
    ]);
    assert!(
        err.contains(
            "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.9\"}: may not change once set"
        ),
        "{err}"
    );
    let err = c.err(&[
        "patch",
        "svc",
        "web",
        "-p",
        "{\"spec\":{\"clusterIPs\":[\"10.96.0.9\"]}}",
    ]);
    assert!(err.contains("may not change once set"), "{err}");
    // To ExternalName, the IPs go (upstream's dropTypeDependentFields).
    c.ok(&[
        "patch",
        "svc",
        "web",
        "-p",
        "{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"web.example.com\"}}",
    ]);
    assert_eq!(
        c.ok(&[
            "get",
            "svc",
            "web",
            "-o",
            "jsonpath={.spec.type} {.spec.clusterIP}|"
        ]),
        "ExternalName |"
    );
    let err = c.err(&["create", "service", "nodeport", "np", "--tcp=80"]);
    assert!(
        err.contains("spec.type: Unsupported value: \"NodePort\""),
        "{err}"
    );
    c.ok(&["delete", "svc", "web", "db", "ext"]);
    assert_eq!(c.ok(&["get", "svc", "--no-headers"]).lines().count(), 1);
}

#[test]
fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    let c = Cluster::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut opts = options(c.dir.path());
    opts.data_dir = c.dir.path().join("data");
    let err = rt.block_on(serve::start(opts)).err().expect("refused");
    assert!(
        err.to_string()
            .contains("another wasmjob serve is already using the data directory"),
        "{err}"
    );
}

#[test]
fn parallelism_and_elastic_indexed_jobs_change_through_patch() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "slow.yaml",
        &exerciser_job(
            "slow",
            "  completions: 6\n  parallelism: 1\n",
            &["sleep-ms=3000"],
        ),
    );
    c.ok(&["create", "-f", &f]);
    c.eventually("one active pod", || {
        c.ok(&["get", "job", "slow", "-o", "jsonpath={.status.active}"]) == "1"
    });
    c.ok(&[
        "patch",
        "job",
        "slow",
        "-p",
        r#"{"spec":{"parallelism":3}}"#,
    ]);
    c.eventually("scale-up to three active pods", || {
        c.ok(&["get", "job", "slow", "-o", "jsonpath={.status.active}"]) == "3"
    });
    c.ok(&[
        "patch",
        "job",
        "slow",
        "-p",
        r#"{"spec":{"parallelism":1}}"#,
    ]);
    c.eventually("scale-down to one active pod", || {
        c.ok(&["get", "job", "slow", "-o", "jsonpath={.status.active}"]) == "1"
    });
    // Scale-down deletions are not failures.
    assert_eq!(
        c.ok(&["get", "job", "slow", "-o", "jsonpath={.status.failed}"]),
        ""
    );

    // Completions may change only together with parallelism, and only for Indexed Jobs.
    let err = c.err(&[
        "patch",
        "job",
        "slow",
        "-p",
        r#"{"spec":{"completions":2}}"#,
    ]);
    assert!(
        err.contains("spec.completions: Invalid value: 2: field is immutable"),
        "{err}"
    );
    let f = c.write(
        "elastic.yaml",
        &exerciser_job(
            "elastic",
            "  completionMode: Indexed\n  completions: 4\n  parallelism: 4\n",
            &["sleep-ms=3000"],
        ),
    );
    c.ok(&["create", "-f", &f]);
    let err = c.err(&[
        "patch",
        "job",
        "elastic",
        "-p",
        r#"{"spec":{"completions":2}}"#,
    ]);
    assert!(
        err.contains("can only be modified in tandem with spec.parallelism"),
        "{err}"
    );
    c.ok(&[
        "patch",
        "job",
        "elastic",
        "-p",
        r#"{"spec":{"completions":2,"parallelism":2}}"#,
    ]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/elastic",
        "--timeout=60s",
    ]);
    assert_eq!(
        c.ok(&[
            "get",
            "job",
            "elastic",
            "-o",
            "jsonpath={.status.completedIndexes}"
        ]),
        "0,1"
    );
}

#[test]
fn jobs_managed_by_another_controller_are_left_alone() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "ext.yaml",
        &exerciser_job("ext", "  managedBy: example.com/other\n", &[]),
    );
    c.ok(&["create", "-f", &f]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.ok(&["get", "pods", "-o", "name"]), "");
    // Untouched: the empty status it was created with (`{}`, as Go prints the struct).
    assert_eq!(
        c.ok(&["get", "job", "ext", "-o", "jsonpath={.status}"]),
        "{}"
    );
}

#[test]
fn a_suspended_job_never_started_may_change_its_template() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "s.yaml",
        &exerciser_job("s", "  suspend: true\n", &["print=before"]),
    );
    c.ok(&["create", "-f", &f]);
    c.ok(&[
        "patch",
        "job",
        "s",
        "-p",
        r#"{"spec":{"template":{"metadata":{"labels":{"tier":"x"}}}}}"#,
    ]);
    c.ok(&["patch", "job", "s", "-p", r#"{"spec":{"suspend":false}}"#]);
    c.ok(&["wait", "--for=condition=complete", "job/s", "--timeout=60s"]);
    assert_eq!(
        c.ok(&["get", "pods", "-l", "tier=x", "-o", "name"])
            .lines()
            .count(),
        1
    );
    let err = c.err(&[
        "patch",
        "job",
        "s",
        "-p",
        r#"{"spec":{"template":{"metadata":{"labels":{"tier":"y"}}}}}"#,
    ]);
    assert!(err.contains("field is immutable"), "{err}");
}

/// An orphaning delete of a CronJob clears its Jobs' owner references and then removes
/// the CronJob. The collector once acted only after the write that cleared the last
/// reference, and nothing brought it back: the CronJob stayed Terminating.
#[test]
fn an_orphaning_cronjob_delete_finishes_and_keeps_its_jobs() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    c.ok(&[
        "create",
        "cronjob",
        "idle",
        "--image=exerciser.wasm",
        "--schedule=0 0 1 1 *",
    ]);
    c.ok(&[
        "patch",
        "cronjob",
        "idle",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    c.ok(&["create", "job", "made", "--from=cronjob/idle"]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/made",
        "--timeout=60s",
    ]);
    c.ok(&[
        "delete",
        "cronjob",
        "idle",
        "--cascade=orphan",
        "--timeout=20s",
    ]);
    assert!(
        c.err(&["get", "cronjob", "idle"]).contains("NotFound"),
        "the CronJob is gone"
    );
    assert_eq!(
        c.ok(&[
            "get",
            "job",
            "made",
            "-o",
            "jsonpath={.metadata.ownerReferences}"
        ]),
        "",
        "its Job stays, owned by nothing"
    );
}

#[test]
fn a_cronjob_runs_jobs_on_schedule_and_prunes_its_history() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    assert_eq!(
        c.ok(&[
            "create",
            "cronjob",
            "tick",
            "--image=exerciser.wasm",
            "--schedule=*/1 * * * *",
            "--",
            "exerciser",
            "print=tick",
        ]),
        "cronjob.batch/tick created\n"
    );
    c.ok(&[
        "patch",
        "cronjob",
        "tick",
        "-p",
        r#"{"spec":{"successfulJobsHistoryLimit":1}}"#,
    ]);
    let header = c.ok(&["get", "cronjobs"]);
    assert_eq!(
        header
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"
        ]
    );
    // The first scheduled run comes at the next minute boundary (a real minute at most).
    let start = Instant::now();
    let scheduled = loop {
        let names = c.ok(&["get", "jobs", "-o", "jsonpath={.items[*].metadata.name}"]);
        if let Some(n) = names.split_whitespace().find(|n| n.starts_with("tick-")) {
            break n.to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no job within a minute and a half"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let minutes: i64 = scheduled.trim_start_matches("tick-").parse().unwrap();
    let last = c.ok(&[
        "get",
        "cronjob",
        "tick",
        "-o",
        "jsonpath={.status.lastScheduleTime}",
    ]);
    let last: jiff::Timestamp = last.parse().unwrap();
    assert_eq!(
        last.as_second(),
        minutes * 60,
        "named by its scheduled minute"
    );
    c.ok(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{scheduled}"),
        "--timeout=60s",
    ]);
    assert_eq!(c.ok(&["logs", &format!("job/{scheduled}")]), "tick\n");
    c.eventually("lastSuccessfulTime", || {
        !c.ok(&[
            "get",
            "cronjob",
            "tick",
            "-o",
            "jsonpath={.status.lastSuccessfulTime}",
        ])
        .is_empty()
    });

    // Jobs made from the CronJob count toward its history: with a limit of one, the
    // older successful Jobs are pruned.
    c.ok(&["create", "job", "manual-1", "--from=cronjob/tick"]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/manual-1",
        "--timeout=60s",
    ]);
    c.ok(&["create", "job", "manual-2", "--from=cronjob/tick"]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/manual-2",
        "--timeout=60s",
    ]);
    c.eventually("history pruned to one successful Job", || {
        c.ok(&["get", "jobs", "-o", "name"]).lines().count() == 1
    });
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=CronJob",
    ]);
    assert!(
        events.contains("SuccessfulCreate") && events.contains("SuccessfulDelete"),
        "{events}"
    );

    assert_eq!(
        c.ok(&["delete", "cronjob", "tick"]),
        "cronjob.batch \"tick\" deleted\n"
    );
    c.eventually("its jobs to go with it", || {
        c.ok(&["get", "jobs", "-o", "name"]).is_empty()
    });
}

#[test]
fn a_missing_image_waits_in_image_pull_back_off_until_it_appears() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write(
        "late.yaml",
        &exerciser_job("late", "", &["print=finally"]).replace("exerciser.wasm", "late.wasm"),
    );
    c.ok(&["create", "-f", &f]);
    c.eventually("ErrImagePull or ImagePullBackOff", || {
        let out = c.ok(&["get", "pods", "-l", "job-name=late", "--no-headers"]);
        out.contains("ImagePullBackOff") || out.contains("ErrImagePull")
    });
    let describe = c.ok(&["describe", "pods", "-l", "job-name=late"]);
    assert!(
        describe.contains("Failed to pull image \"late.wasm\""),
        "{describe}"
    );
    assert_eq!(
        c.ok(&["get", "job", "late", "-o", "jsonpath={.status.failed}"]),
        "",
        "no retry used up"
    );
    std::fs::copy(
        c.dir.path().join("images/exerciser.wasm"),
        c.dir.path().join("images/late.wasm"),
    )
    .unwrap();
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/late",
        "--timeout=60s",
    ]);
    assert_eq!(c.ok(&["logs", "job/late"]), "finally\n");
}

/// `kubectl delete --dry-run=server` sends `dryRun: [All]` in the DELETE body: nothing is
/// deleted, whatever the kind (it once deleted Jobs, pods and whole namespaces).
#[test]
fn a_server_dry_run_delete_deletes_nothing() {
    if !needs_kubectl() {
        return;
    }
    let c = Cluster::start();
    let f = c.write("pi.yaml", PI);
    c.ok(&["create", "-f", &f]);
    let out = c.ok(&["delete", "job", "pi", "--dry-run=server"]);
    assert!(
        out.contains("job.batch \"pi\" deleted (server dry run)"),
        "{out}"
    );
    c.ok(&["get", "job", "pi"]);
    c.eventually("pi's pod", || {
        !c.ok(&["get", "pods", "-l", "job-name=pi", "-o", "name"])
            .trim()
            .is_empty()
    });
    let pod = c.ok(&["get", "pods", "-l", "job-name=pi", "-o", "name"]);
    let pod = pod.trim();
    let out = c.ok(&["delete", pod, "--dry-run=server"]);
    assert!(out.contains("deleted (server dry run)"), "{out}");
    c.ok(&["get", pod]);
    c.ok(&["create", "namespace", "dry"]);
    let out = c.ok(&["delete", "namespace", "dry", "--dry-run=server"]);
    assert!(
        out.contains("namespace \"dry\" deleted (server dry run)"),
        "{out}"
    );
    assert!(c.ok(&["get", "namespace", "dry"]).contains("Active"));
}
