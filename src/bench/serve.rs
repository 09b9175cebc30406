//! The `serve` measurements: a real `wasmjob serve` child process with its durable (redb)
//! store, driven over its HTTP API the way kubectl drives it: create Jobs with POST, see
//! pods through watches, list pods as a Table.
//!
//! The child listens on plain HTTP on 127.0.0.1 (`--insecure-http`): TLS costs per
//! request, and pods are created by the controller inside the server, so it would not
//! change the pod figures.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::Error;

/// How long any one wait may take before the measurement is abandoned.
const PATIENCE: Duration = Duration::from_secs(600);

/// What the `serve` measurements found.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// `serve` start on an empty data directory until `/readyz` answers.
    pub start_empty: Duration,
    /// Pods in the throughput Job.
    pub throughput_pods: usize,
    /// POST of the Job → its `Complete` condition seen by a watch.
    pub throughput: Duration,
    /// Create → Running, as seen by a watch, one Job of one pod at a time.
    pub create_to_running: Vec<Duration>,
    /// Sleeping pods asked for at once.
    pub density_wanted: usize,
    /// The most seen Running at once.
    pub density_running: usize,
    /// RSS of the server with them all Running, bytes.
    pub density_rss: u64,
    /// RSS of the server before the density Job, bytes.
    pub density_rss_before: u64,
    /// Pods in the list below.
    pub listed_pods: usize,
    /// Pods stored when it was taken.
    pub stored_pods: usize,
    /// `GET pods -l job-name=density` as a Table (what `kubectl get pods` asks for) with
    /// the density pods Running.
    pub list_table: Duration,
    /// Real `kubectl get pods -l job-name=density` at the same moment, when kubectl is
    /// installed.
    pub kubectl_get_pods: Option<Duration>,
    /// Objects in the store at the restart.
    pub stored_objects: usize,
    /// Restart on that data directory until `/readyz` answers.
    pub restart: Duration,
    /// A one-pod Job right after the restart: POST → Complete.
    pub first_job_after_restart: Duration,
    /// Whether any module was compiled again after the restart.
    pub recompiled: bool,
    /// Peak RSS of the first server process, bytes.
    pub rss_peak: u64,
}

/// A running `wasmjob serve` child.
pub(super) struct Server {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl Server {
    async fn start(data: &Path, images: &Path) -> Result<(Server, Duration), Error> {
        Self::start_logging(data, images, None).await
    }

    /// [`Server::start`] with the child's stderr written to `stderr` (a panic would show
    /// there).
    pub(super) async fn start_logging(
        data: &Path,
        images: &Path,
        stderr: Option<&Path>,
    ) -> Result<(Server, Duration), Error> {
        let t = Instant::now();
        let stderr = match stderr {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None => Stdio::null(),
        };
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["serve", "--listen", "127.0.0.1:0", "--insecure-http"])
            .arg("--data-dir")
            .arg(data)
            .arg("--image-dir")
            .arg(images)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = line.strip_prefix("wasmjob serve: listening on http://") {
                    return a.trim().parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| Error::Child("wasmjob serve did not report its address".into()))?;
        // Keep reading stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let server = Server { child, addr };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok((200, _)) = server.request("GET", "/readyz", None, "*/*").await {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Child("wasmjob serve never became ready".into()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((server, t.elapsed()))
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it.
    pub(super) async fn stop(mut self) -> Result<(), Error> {
        if let Some(pid) = self.pid() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(PATIENCE, self.child.wait()).await;
        Ok(())
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        accept: &str,
    ) -> Result<hyper::Response<Incoming>, Error> {
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_error)?;
        tokio::spawn(conn);
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("accept", accept)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| Error::Child(format!("request {path}: {e}")))?;
        sender.send_request(req).await.map_err(http_error)
    }

    pub(super) async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        accept: &str,
    ) -> Result<(u16, Bytes), Error> {
        let resp = self.send(method, path, body, accept).await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(http_error)?
            .to_bytes();
        Ok((status, bytes))
    }

    /// A watch: call `next` for each event until it returns `true`.
    pub(super) async fn watch(&self, path: &str) -> Result<Watch, Error> {
        let resp = self.send("GET", path, None, "application/json").await?;
        if resp.status() != 200 {
            return Err(Error::Child(format!("watch {path}: {}", resp.status())));
        }
        Ok(Watch {
            body: resp.into_body(),
            buf: Vec::new(),
            path: path.to_string(),
            unparsable: 0,
        })
    }

    pub(super) async fn create_job(&self, job: Value) -> Result<(), Error> {
        let (status, body) = self
            .request(
                "POST",
                "/apis/batch/v1/namespaces/default/jobs",
                Some(serde_json::to_vec(&job).unwrap_or_default()),
                "application/json",
            )
            .await?;
        if status != 201 {
            return Err(Error::Child(format!(
                "creating a Job failed ({status}): {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(())
    }
}

fn http_error(e: impl std::fmt::Display) -> Error {
    Error::Child(format!("http: {e}"))
}

/// A watch response being read event by event.
pub(super) struct Watch {
    body: Incoming,
    buf: Vec<u8>,
    path: String,
    unparsable: usize,
}

impl Watch {
    /// Lines of the stream that were not a JSON event (skipped by [`Watch::next_event`]).
    pub(super) fn unparsable(&self) -> usize {
        self.unparsable
    }

    /// The next event's object, `None` when the stream ends or [`PATIENCE`] runs out.
    pub(super) async fn next(&mut self) -> Option<Value> {
        loop {
            let (kind, object) = self.next_event().await?;
            match kind.as_str() {
                "BOOKMARK" => continue,
                // Expired (the server drops watchers that fall too far behind).
                "ERROR" => return None,
                _ => return Some(object),
            }
        }
    }

    /// The next event as it came: its type and object.
    pub(super) async fn next_event(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let Ok(mut event) = serde_json::from_slice::<Value>(&line) else {
                    self.unparsable += 1;
                    continue;
                };
                let kind = event["type"].as_str().unwrap_or_default().to_string();
                return Some((kind, event["object"].take()));
            }
            let frame = tokio::time::timeout(PATIENCE, self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(data) = frame.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    /// Waits for an object for which `done` holds.
    pub(super) async fn until(
        &mut self,
        mut done: impl FnMut(&Value) -> bool,
    ) -> Result<(), Error> {
        while let Some(obj) = self.next().await {
            if done(&obj) {
                return Ok(());
            }
        }
        Err(Error::Child(format!(
            "the watch {} ended before the awaited change",
            self.path
        )))
    }
}

fn job(name: &str, image: &Path, completions: usize, parallelism: usize, args: &[&str]) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "completions": completions, "parallelism": parallelism,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": image_name(image), "args": args}],
            }},
        },
    })
}

/// Images resolve inside the server's `--image-dir` (the guest's directory).
fn image_name(image: &Path) -> String {
    image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_complete(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
    })
}

fn job_watch(name: &str) -> String {
    format!("/apis/batch/v1/namespaces/default/jobs?watch=1&fieldSelector=metadata.name%3D{name}")
}

pub(super) fn pod_watch(job: &str) -> String {
    format!("/api/v1/namespaces/default/pods?watch=1&labelSelector=job-name%3D{job}")
}

/// `VmRSS` and `VmHWM` of process `pid`, in bytes.
fn rss_of(pid: u32) -> (u64, u64) {
    super::density::rss_of(&pid.to_string())
}

/// Modification times of the precompiled modules: a recompile rewrites one.
fn module_cache(data: &Path) -> Vec<(PathBuf, Option<std::time::SystemTime>)> {
    let mut out: Vec<_> = std::fs::read_dir(data.join("modules"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.path(), e.metadata().and_then(|m| m.modified()).ok()))
        .collect();
    out.sort();
    out
}

/// Settings of the `serve` measurements.
pub struct Plan<'a> {
    /// The trivial guest (the exerciser).
    pub image: &'a Path,
    /// Pods of the throughput Job.
    pub pods: usize,
    /// Its parallelism.
    pub parallelism: usize,
    /// One-pod Jobs for the create → Running latency.
    pub latency_jobs: usize,
    /// Sleeping pods at once.
    pub density: usize,
    /// How long they sleep.
    pub sleep_ms: u64,
}

/// Runs every `serve` measurement against fresh child servers.
pub async fn measure(plan: Plan<'_>) -> Result<Figures, Error> {
    let data = tempfile::tempdir()?;
    let images = plan
        .image
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut f = Figures::default();
    let (server, start) = Server::start(data.path(), &images).await?;
    f.start_empty = start;

    // Throughput: one Job, watched to completion.
    let mut watch = server.watch(&job_watch("throughput")).await?;
    let t = Instant::now();
    server
        .create_job(job(
            "throughput",
            plan.image,
            plan.pods,
            plan.parallelism,
            &[],
        ))
        .await?;
    watch.until(is_complete).await?;
    f.throughput = t.elapsed();
    f.throughput_pods = plan.pods;

    // Create → Running, one pod at a time, each seen by a watch opened beforehand.
    for i in 0..plan.latency_jobs {
        let name = format!("latency-{i}");
        let mut watch = server.watch(&pod_watch(&name)).await?;
        let t = Instant::now();
        server
            .create_job(job(&name, plan.image, 1, 1, &["sleep-ms=20"]))
            .await?;
        watch
            .until(|p| {
                matches!(
                    p["status"]["phase"].as_str(),
                    Some("Running" | "Succeeded" | "Failed")
                )
            })
            .await?;
        f.create_to_running.push(t.elapsed());
    }
    f.create_to_running.sort();

    // Density: every pod of one Job sleeping at once; then list pods as kubectl does.
    let pid = server.pid().unwrap_or(0);
    f.density_rss_before = rss_of(pid).0;
    f.density_wanted = plan.density;
    let sleep = format!("sleep-ms={}", plan.sleep_ms);
    server
        .create_job(job(
            "density",
            plan.image,
            plan.density,
            plan.density,
            &[&sleep],
        ))
        .await?;
    // The Job's `status.ready` counts its Running pods. Polled rather than watched: a watch
    // client that falls 16,384 events behind is cut off, as the API server cuts off slow
    // watchers, and this one competes with the server for the CPU.
    let mut running = 0;
    let give_up = Instant::now() + Duration::from_millis(plan.sleep_ms);
    while running < plan.density && Instant::now() < give_up {
        let (_, body) = server
            .request(
                "GET",
                "/apis/batch/v1/namespaces/default/jobs/density",
                None,
                "application/json",
            )
            .await?;
        let ready = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|j| j["status"]["ready"].as_u64())
            .unwrap_or(0) as usize;
        running = running.max(ready);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.density_running = running;
    f.density_rss = rss_of(pid).0;
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let t = Instant::now();
    let (_, body) = server
        .request(
            "GET",
            "/api/v1/namespaces/default/pods?labelSelector=job-name%3Ddensity",
            None,
            table,
        )
        .await?;
    f.list_table = t.elapsed();
    f.listed_pods = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["rows"].as_array().map(Vec::len))
        .unwrap_or(0);
    f.kubectl_get_pods = kubectl_get_pods(data.path()).await;
    let (_, all) = server
        .request("GET", "/api/v1/pods", None, "application/json")
        .await?;
    f.stored_pods = serde_json::from_slice::<Value>(&all)
        .ok()
        .and_then(|v| v["items"].as_array().map(Vec::len))
        .unwrap_or(0);
    server
        .watch(&job_watch("density"))
        .await?
        .until(is_complete)
        .await?;
    f.rss_peak = rss_of(pid).1;

    // Restart with everything stored; then one pod, whose module must come from the cache.
    for path in [
        "/api/v1/pods",
        "/apis/batch/v1/jobs",
        "/api/v1/events",
        "/api/v1/namespaces",
    ] {
        let (_, body) = server
            .request("GET", path, None, "application/json")
            .await?;
        f.stored_objects += serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["items"].as_array().map(Vec::len))
            .unwrap_or(0);
    }
    server.stop().await?;
    let before = module_cache(data.path());
    let (server, restart) = Server::start(data.path(), &images).await?;
    f.restart = restart;
    let mut watch = server.watch(&job_watch("after-restart")).await?;
    let t = Instant::now();
    server
        .create_job(job("after-restart", plan.image, 1, 1, &[]))
        .await?;
    watch.until(is_complete).await?;
    f.first_job_after_restart = t.elapsed();
    f.recompiled = module_cache(data.path()) != before;
    server.stop().await?;
    Ok(f)
}

/// Times the real `kubectl get pods` against the server, if kubectl is installed.
async fn kubectl_get_pods(data: &Path) -> Option<Duration> {
    let t = Instant::now();
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(data.join("kubeconfig"))
        .args(["get", "pods", "-l", "job-name=density"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .ok()?;
    out.success().then(|| t.elapsed())
}
