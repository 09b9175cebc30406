//! `wasmjob bench`: throughput, start latency, compute overhead and compile caching of pods,
//! each next to a baseline measured in the same run (raw wasmtime on the same engine and
//! module). Figures are printed as a Markdown table for BENCHMARKS.md; nothing here
//! asserts a threshold.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};

use crate::controller::job::Backoff;
use crate::run::{self, Format};
use crate::runtime::{ImageRef, Runtime, RuntimeConfig};

/// Benchmark settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// A trivial WASI preview1 guest (exits at once).
    pub trivial: PathBuf,
    /// A CPU-bound guest (`pi`, 2000 digits by default).
    pub compute: PathBuf,
    /// Pods per throughput measurement.
    pub pods: usize,
    /// Runs of the compute guest.
    pub compute_runs: usize,
}

/// Failures to set up a measurement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime could not load a guest.
    #[error(transparent)]
    Runtime(#[from] crate::runtime::Error),
    /// `wasmjob run` refused the generated Job.
    #[error(transparent)]
    Run(#[from] run::InputError),
    /// A temporary file.
    #[error("temporary files: {0}")]
    Io(#[from] std::io::Error),
}

/// One line of the report.
struct Row {
    what: String,
    value: String,
    baseline: String,
    ratio: String,
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The first container's termination, where all these figures are read from.
fn terminated(p: &Pod) -> Option<&ContainerStateTerminated> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .terminated
        .as_ref()
}

/// Creation → container start of every pod.
fn start_latencies(pods: &[Arc<Pod>]) -> Vec<Duration> {
    let mut out: Vec<Duration> = pods
        .iter()
        .filter_map(|p| {
            let created = p.metadata.creation_timestamp.as_ref()?.0;
            let started = terminated(p)?.started_at.as_ref()?.0;
            Duration::try_from(started.duration_since(created)).ok()
        })
        .collect();
    out.sort();
    out
}

/// For pods run one after another: from each container's end to the next pod's creation.
fn turnarounds(pods: &[Arc<Pod>]) -> Vec<Duration> {
    let mut spans: Vec<(jiff::Timestamp, Option<jiff::Timestamp>)> = pods
        .iter()
        .filter_map(|p| {
            let created = p.metadata.creation_timestamp.as_ref()?.0;
            let finished = terminated(p)
                .and_then(|t| t.finished_at.as_ref())
                .map(|t| t.0);
            Some((created, finished))
        })
        .collect();
    spans.sort();
    let mut out: Vec<Duration> = spans
        .windows(2)
        .filter_map(|w| Duration::try_from(w[1].0.duration_since(w[0].1?)).ok())
        .collect();
    out.sort();
    out
}

/// From the first pod's creation to the last container's end: the Job's own duration,
/// without process set-up (engine, compile) that `run` pays once.
fn span(pods: &[Arc<Pod>]) -> Option<Duration> {
    let first = pods
        .iter()
        .filter_map(|p| p.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
        .min()?;
    let last = pods
        .iter()
        .filter_map(|p| terminated(p)?.finished_at.as_ref())
        .map(|t| t.0)
        .max()?;
    Duration::try_from(last.duration_since(first)).ok()
}

async fn run_job(
    image: &std::path::Path,
    completions: usize,
    parallelism: usize,
) -> Result<(Duration, run::Outcome), Error> {
    let dir = tempfile::tempdir()?;
    let manifest = dir.path().join("bench.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: bench}}\nspec:\n  completions: {completions}\n  parallelism: {parallelism}\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: {}}}]\n",
            image.display()
        ),
    )?;
    let options = run::Options {
        files: vec![manifest.display().to_string()],
        format: Format::Json,
        logs: false,
        pod_backoff: Backoff::default(),
        container_backoff_base: Duration::from_secs(10),
        container_backoff_max: Duration::from_secs(300),
        default_memory_limit: 256 << 20,
        cache_dir: Some(dir.path().join("modules")),
        progress: false,
    };
    let started = Instant::now();
    let outcome = run::run(options).await?;
    Ok((started.elapsed(), outcome))
}

/// Runs every measurement and returns the Markdown report.
pub async fn bench(mut o: Options) -> Result<String, Error> {
    // The generated manifests live elsewhere: image paths must be absolute.
    o.trivial = std::fs::canonicalize(&o.trivial)?;
    o.compute = std::fs::canonicalize(&o.compute)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = 4 * cores;
    let mut rows = Vec::new();
    let trivial = ImageRef {
        path: o.trivial.clone(),
        digest: None,
    };
    let compute = ImageRef {
        path: o.compute.clone(),
        digest: None,
    };

    // Compile: cold (empty cache) vs warm (precompiled artefact from disk).
    let cache = tempfile::tempdir()?;
    let config = RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let cold_rt = Runtime::new(config.clone())?;
    let t = Instant::now();
    cold_rt.prepare(&trivial).await?;
    let cold = t.elapsed();
    let warm_rt = Runtime::new(config)?;
    let t = Instant::now();
    warm_rt.prepare(&trivial).await?;
    let warm = t.elapsed();
    rows.push(Row {
        what: "module load, precompiled on disk (warm) vs compile (cold)".into(),
        value: format!("{:.2} ms", warm.as_secs_f64() * 1e3),
        baseline: format!("{:.2} ms", cold.as_secs_f64() * 1e3),
        ratio: format!("{:.2}", warm.as_secs_f64() / cold.as_secs_f64().max(1e-9)),
    });

    // Raw wasmtime, sequential and on all workers.
    let raw_seq = warm_rt.raw_baseline(&trivial, o.pods, 1).await?;
    let raw_par = warm_rt.raw_baseline(&trivial, o.pods, workers).await?;
    rows.push(Row {
        what: format!("raw wasmtime instantiate+run, sequential ({} runs)", o.pods),
        value: format!(
            "{:.0}/s ({:.1} µs each)",
            rate(o.pods, raw_seq),
            raw_seq.as_secs_f64() * 1e6 / o.pods as f64
        ),
        baseline: "—".into(),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: format!("raw wasmtime instantiate+run, {workers} tasks"),
        value: format!("{:.0}/s", rate(o.pods, raw_par)),
        baseline: "—".into(),
        ratio: "—".into(),
    });

    // Pods through `wasmjob run`.
    let (wall, outcome) = run_job(&o.trivial, o.pods, workers).await?;
    let elapsed = span(&outcome.pods).unwrap_or(wall);
    let succeeded = outcome
        .jobs
        .first()
        .and_then(|j| j.status.as_ref()?.succeeded)
        .unwrap_or(0);
    rows.push(Row {
        what: format!(
            "`wasmjob run`: Job completions {}, parallelism {workers} ({succeeded} succeeded; first pod created → last pod done, {:.2} s with process set-up)",
            o.pods,
            wall.as_secs_f64()
        ),
        value: format!("{:.0} pods/s", rate(o.pods, elapsed)),
        baseline: format!("{:.0}/s raw, {workers} tasks", rate(o.pods, raw_par)),
        ratio: format!("{:.3}", rate(o.pods, elapsed) / rate(o.pods, raw_par)),
    });
    let lat = start_latencies(&outcome.pods);
    rows.push(Row {
        what: "start latency, pod created → container started (`run`)".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        ),
        baseline: format!(
            "{:.1} µs raw run",
            raw_seq.as_secs_f64() * 1e6 / o.pods as f64
        ),
        ratio: "—".into(),
    });

    // Compute: the same pi guest in pods vs raw, one at a time.
    let raw_pi = warm_rt.raw_baseline(&compute, o.compute_runs, 1).await?;
    let (pi_wall, pi_outcome) = run_job(&o.compute, o.compute_runs, 1).await?;
    let pod_pi = span(&pi_outcome.pods).unwrap_or(pi_wall);
    let turnaround = turnarounds(&pi_outcome.pods);
    rows.push(Row {
        what: format!(
            "compute: pi 2000 digits × {} in pods, one at a time",
            o.compute_runs
        ),
        value: format!(
            "{:.1} ms each",
            pod_pi.as_secs_f64() * 1e3 / o.compute_runs as f64
        ),
        baseline: format!(
            "{:.1} ms each raw",
            raw_pi.as_secs_f64() * 1e3 / o.compute_runs as f64
        ),
        ratio: format!(
            "{:.2}",
            pod_pi.as_secs_f64() / raw_pi.as_secs_f64().max(1e-9)
        ),
    });

    rows.push(Row {
        what: "turnaround, one pod's container finished → the next pod created (parallelism 1)"
            .into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            percentile(&turnaround, 0.5).as_secs_f64() * 1e3,
            percentile(&turnaround, 0.99).as_secs_f64() * 1e3
        ),
        baseline: "—".into(),
        ratio: "—".into(),
    });

    let mut out = "| measurement | wasmjob | baseline (same run) | ratio |
|---|---|---|---|
"
    .to_string();
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.what, r.value, r.baseline, r.ratio
        ));
    }
    out.push_str(&format!(
        "\n{cores} cores; pooling allocator: {}\n",
        warm_rt.info().pooling
    ));
    Ok(out)
}
