//! The density measurement: many sleeping pods at once in a fresh process, its memory and
//! memory mappings when all of them are running, against raw wasmtime holding the same
//! number of sleeping instances (also in a fresh process).
//!
//! Each side runs in a child process (`wasmjob bench-child density`) so that neither sees
//! the other's heap, pool slots or caches; the parent reads one JSON line from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::api::pod as podutil;
use crate::run;
use crate::runtime::{ImageRef, Runtime, RuntimeConfig};

/// What one child measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Pods (or raw instances) asked for.
    pub wanted: usize,
    /// The most seen running at once.
    pub running: usize,
    /// From the start of the Job (or the first instance) until all were running.
    pub to_all_running_ms: f64,
    /// RSS before anything was started (engine and pool reserved), bytes.
    pub rss_before: u64,
    /// RSS with all of them running, bytes.
    pub rss_running: u64,
    /// Peak RSS of the process, bytes.
    pub rss_peak: u64,
    /// Memory mappings of the process with all of them running.
    pub maps_running: usize,
    /// Pods that did not succeed (or instances that did not start).
    pub failed: usize,
}

/// `VmRSS` and `VmHWM` of process `pid` (`self` for this one), in bytes.
pub(super) fn rss_of(pid: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn rss() -> (u64, u64) {
    rss_of("self")
}

fn maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

/// The kernel's per-process limit on memory mappings.
pub fn max_map_count() -> u64 {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Child side, raw wasmtime: `n` instances of `image` sleeping `sleep_ms` at once.
pub async fn raw_child(image: &Path, n: usize, sleep_ms: u64) -> Result<Sample, Error> {
    let rt = Runtime::new(RuntimeConfig::default())?;
    let image = ImageRef {
        path: image.to_path_buf(),
        digest: None,
    };
    rt.prepare(&image).await?;
    let (rss_before, _) = rss();
    let started = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let args = vec!["guest".to_string(), format!("sleep-ms={sleep_ms}")];
    let mut tasks = rt.raw_instances(&image, &args, n, started.clone()).await?;
    let deadline = Instant::now() + Duration::from_millis(sleep_ms);
    while started.load(Ordering::SeqCst) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let to_all = t.elapsed();
    // Let the last guests reach their sleep.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let running = started.load(Ordering::SeqCst);
    let (rss_running, _) = rss();
    let maps_running = maps();
    while tasks.join_next().await.is_some() {}
    let (_, rss_peak) = rss();
    Ok(Sample {
        wanted: n,
        running,
        to_all_running_ms: to_all.as_secs_f64() * 1e3,
        rss_before,
        rss_running,
        rss_peak,
        maps_running,
        failed: n - running,
    })
}

/// Child side, pods: one Job with `parallelism` = `completions` = `n` of `image` sleeping
/// `sleep_ms`, through `wasmjob run`.
pub async fn pods_child(image: &Path, n: usize, sleep_ms: u64) -> Result<Sample, Error> {
    let dir = tempfile::tempdir()?;
    let sleep = format!("sleep-ms={sleep_ms}");
    let options = super::job_options(dir.path(), "density", image, n, n, &[&sleep])?;
    let sample = Arc::new(std::sync::Mutex::new(Sample {
        wanted: n,
        ..Sample::default()
    }));
    let watcher = sample.clone();
    let outcome = run::run_observed(options, move |store| {
        let (rss_before, _) = rss();
        watcher.lock().expect("poisoned").rss_before = rss_before;
        tokio::spawn(async move {
            let t = Instant::now();
            let give_up = t + Duration::from_millis(sleep_ms);
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let running = store
                    .pods_shared()
                    .iter()
                    .filter(|p| podutil::phase(p) == podutil::phase::RUNNING)
                    .count();
                let mut s = watcher.lock().expect("poisoned");
                if running > s.running {
                    s.running = running;
                    s.to_all_running_ms = t.elapsed().as_secs_f64() * 1e3;
                    (s.rss_running, _) = rss();
                    s.maps_running = maps();
                }
                if running >= n || Instant::now() > give_up {
                    return;
                }
            }
        });
    })
    .await?;
    let succeeded = outcome
        .jobs
        .first()
        .and_then(|j| j.status.as_ref()?.succeeded)
        .unwrap_or(0) as usize;
    std::mem::forget(outcome);
    let mut s = sample.lock().expect("poisoned").clone();
    s.rss_peak = rss().1;
    s.failed = n.saturating_sub(succeeded);
    Ok(s)
}

/// Parent side: runs one child (`raw` or `pods`) and reads its sample.
pub fn measure(kind: &str, image: &Path, n: usize, sleep_ms: u64) -> Result<Sample, Error> {
    let exe: PathBuf = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .args(["bench-child", "density", kind])
        .arg("--image")
        .arg(image)
        .args([
            "--pods",
            &n.to_string(),
            "--sleep-ms",
            &sleep_ms.to_string(),
        ])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(Error::Child(format!(
            "density child ({kind}) exited with {}",
            out.status
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Child(format!("density child ({kind}) printed no sample: {e}")))
}
