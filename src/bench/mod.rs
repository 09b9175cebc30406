//! `wasmjob bench`: throughput, start latency, compute overhead and compile caching of pods,
//! each next to a baseline measured in the same run (raw wasmtime on the same engine and
//! module). Figures are printed as a Markdown table for BENCHMARKS.md; nothing here
//! asserts a threshold.

pub mod density;
pub mod load;
pub mod native;
pub mod peer;
pub mod serve;

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
    /// The compute guest's source built for the host (`guest-examples/pi/pi-native`), if
    /// there is one; its rows are skipped with a note otherwise.
    pub native_compute: Option<PathBuf>,
    /// Runs of the compute guest.
    pub compute_runs: usize,
    /// Digits of the longer CPU kernel (pi with more digits: O(n²) work).
    pub long_digits: usize,
    /// Runs of the longer kernel.
    pub long_runs: usize,
    /// Sleeping pods at once in the density measurement.
    pub density: usize,
    /// How long they sleep.
    pub density_sleep_ms: u64,
    /// One-pod Jobs for `serve`'s create → Running latency.
    pub latency_jobs: usize,
    /// Processes per peer (`wasmtime run`) loop.
    pub peer_runs: usize,
    /// The load measurement's sizes.
    pub load: load::Plan,
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
    /// A temporary file or a child process. (Interpolated, not a `#[source]`: the cause
    /// is printed once.)
    #[error("temporary files or child processes: {0}")]
    Io(std::io::Error),
    /// A child process (`serve`, a density child, the peer) misbehaved.
    #[error("{0}")]
    Child(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// One line of the report.
struct Row {
    what: String,
    value: String,
    baseline: String,
    ratio: String,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
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

/// A `wasmjob run` of one Job named `name` (`completions` = `parallelism` apart, one
/// `main` container of `image` with `args`), with its manifest and module cache in `dir`.
fn job_options(
    dir: &std::path::Path,
    name: &str,
    image: &std::path::Path,
    completions: usize,
    parallelism: usize,
    args: &[&str],
) -> Result<run::Options, Error> {
    let manifest = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  completions: {completions}\n  parallelism: {parallelism}\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: {}{}}}]\n",
            image.display(),
            if args.is_empty() {
                String::new()
            } else {
                // Quoted, or YAML would read `2000` as a number.
                let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
                format!(", args: [{}]", quoted.join(", "))
            }
        ),
    )?;
    Ok(run::Options {
        files: vec![manifest.display().to_string()],
        format: Format::Json,
        logs: false,
        pod_backoff: Backoff::default(),
        container_backoff_base: Duration::from_secs(10),
        container_backoff_max: Duration::from_secs(300),
        default_memory_limit: 256 << 20,
        default_ephemeral_storage: Some(1 << 30),
        cache_dir: Some(dir.join("modules")),
        progress: false,
    })
}

async fn run_job(
    image: &std::path::Path,
    args: &[&str],
    completions: usize,
    parallelism: usize,
) -> Result<(Duration, run::Outcome), Error> {
    let dir = tempfile::tempdir()?;
    let options = job_options(dir.path(), "bench", image, completions, parallelism, args)?;
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
    let raw_seq = warm_rt.raw_baseline(&trivial, &[], o.pods, 1).await?;
    let raw_par = warm_rt.raw_baseline(&trivial, &[], o.pods, workers).await?;
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
    let (wall, outcome) = run_job(&o.trivial, &[], o.pods, workers).await?;
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

    // Compute: the same pi guest in pods vs raw wasmtime vs the same source built natively,
    // one at a time; 2000 digits, then a kernel long enough that pod start-up vanishes and
    // only the cost of running under our limits and interruption remains.
    let mut pi_outcome = None;
    for (digits, runs) in [(2000, o.compute_runs), (o.long_digits, o.long_runs)] {
        let arg = digits.to_string();
        let raw = warm_rt.raw_baseline(&compute, &[&arg], runs, 1).await? / runs as u32;
        let (wall, outcome) = run_job(&o.compute, &[&arg], runs, 1).await?;
        let pod = span(&outcome.pods).unwrap_or(wall) / runs as u32;
        rows.push(Row {
            what: format!("compute: pi {digits} digits × {runs} in pods, one at a time"),
            value: format!("{} each", ms(pod)),
            baseline: format!("{} each raw", ms(raw)),
            ratio: format!("{:.3}", pod.as_secs_f64() / raw.as_secs_f64().max(1e-9)),
        });
        match &o.native_compute {
            Some(binary) => {
                let native = native::pi(binary, digits, runs).await?;
                rows.push(Row {
                    what: format!(
                        "compute: pi {digits} digits, the same source built natively (same profile; process start, timed as `pi 1`, subtracted) vs raw wasmtime"
                    ),
                    value: format!("{} each raw wasm", ms(raw)),
                    baseline: format!("{} each native", ms(native)),
                    ratio: format!(
                        "{:.2} (wasm ÷ native)",
                        raw.as_secs_f64() / native.as_secs_f64().max(1e-9)
                    ),
                });
            }
            None => rows.push(Row {
                what: format!("compute: pi {digits} digits built natively"),
                value: "skipped: no native build (guest-examples/build.sh makes guest-examples/pi/pi-native)".into(),
                baseline: "—".into(),
                ratio: "—".into(),
            }),
        }
        pi_outcome.get_or_insert(outcome);
    }
    let turnaround = pi_outcome.map_or_else(Vec::new, |o| turnarounds(&o.pods));

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

    // Density: sleeping pods at once vs raw wasmtime holding as many sleeping instances,
    // each in a fresh process.
    let raw_d = density::measure("raw", &o.trivial, o.density, o.density_sleep_ms)?;
    let pods_d = density::measure("pods", &o.trivial, o.density, o.density_sleep_ms)?;
    let per = |s: &density::Sample| {
        s.rss_running.saturating_sub(s.rss_before) as f64 / s.running.max(1) as f64
    };
    rows.push(Row {
        what: format!(
            "density: Job parallelism {n} of a guest sleeping {} s (`run`, fresh process): Running at once; time until all Running",
            o.density_sleep_ms as f64 / 1e3,
            n = o.density
        ),
        value: format!(
            "{} Running ({} failed); {:.2} s",
            pods_d.running,
            pods_d.failed,
            pods_d.to_all_running_ms / 1e3
        ),
        baseline: format!(
            "{} raw instances sleeping; {:.2} s",
            raw_d.running,
            raw_d.to_all_running_ms / 1e3
        ),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: "density: RSS with all Running (growth over the idle process ÷ pods); peak RSS"
            .into(),
        value: format!(
            "{} ({:.1} KiB per pod); peak {}",
            mib(pods_d.rss_running),
            per(&pods_d) / 1024.0,
            mib(pods_d.rss_peak)
        ),
        baseline: format!(
            "{} ({:.1} KiB per instance); peak {}",
            mib(raw_d.rss_running),
            per(&raw_d) / 1024.0,
            mib(raw_d.rss_peak)
        ),
        ratio: format!("{:.2}", per(&pods_d) / per(&raw_d).max(1.0)),
    });
    rows.push(Row {
        what: "density: RSS per pod beyond raw wasmtime's per sleeping instance (our pod, kubelet and store overhead)".into(),
        value: format!("{:.1} KiB", (per(&pods_d) - per(&raw_d)) / 1024.0),
        baseline: "—".into(),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: "density: memory mappings with all Running, against `vm.max_map_count`".into(),
        value: format!("{} mappings", pods_d.maps_running),
        baseline: format!(
            "{} raw; limit {}",
            raw_d.maps_running,
            density::max_map_count()
        ),
        ratio: "—".into(),
    });

    // `serve`: a real server process with its durable store, driven over HTTP.
    let sf = serve::measure(serve::Plan {
        image: &o.trivial,
        pods: o.pods,
        parallelism: workers,
        latency_jobs: o.latency_jobs,
        density: o.density,
        sleep_ms: o.density_sleep_ms,
    })
    .await?;
    let serve_rate = rate(sf.throughput_pods, sf.throughput);
    rows.push(Row {
        what: format!(
            "`wasmjob serve` (redb store): Job completions {}, parallelism {workers}, POST → Complete seen by a watch",
            sf.throughput_pods
        ),
        value: format!(
            "{serve_rate:.0} pods/s ({:.2} s)",
            sf.throughput.as_secs_f64()
        ),
        baseline: format!("{:.0}/s raw, {workers} tasks", rate(o.pods, raw_par)),
        ratio: format!("{:.3}", serve_rate / rate(o.pods, raw_par)),
    });
    rows.push(Row {
        what: format!(
            "`serve`: create → Running seen by a watch ({} one-pod Jobs, one at a time)",
            sf.create_to_running.len()
        ),
        value: format!(
            "p50 {}, p99 {}",
            ms(percentile(&sf.create_to_running, 0.5)),
            ms(percentile(&sf.create_to_running, 0.99))
        ),
        baseline: "—".into(),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: format!(
            "`serve` density: Job parallelism {} sleeping; Running at once; server RSS growth ÷ pods",
            sf.density_wanted
        ),
        value: format!(
            "{} Running; {} ({:.1} KiB per pod)",
            sf.density_running,
            mib(sf.density_rss),
            sf.density_rss.saturating_sub(sf.density_rss_before) as f64
                / sf.density_running.max(1) as f64
                / 1024.0
        ),
        baseline: "—".into(),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: format!(
            "`serve`: list the density Job's pods as a Table while they run ({} pods, of {} stored){}",
            sf.listed_pods,
            sf.stored_pods,
            if sf.kubectl_get_pods.is_some() {
                "; real `kubectl get pods -l job-name=density`"
            } else {
                " (kubectl not installed)"
            }
        ),
        value: match sf.kubectl_get_pods {
            Some(k) => format!("{}; kubectl {}", ms(sf.list_table), ms(k)),
            None => ms(sf.list_table),
        },
        baseline: "—".into(),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: format!(
            "`serve` restart with {} stored objects until ready (first start on an empty store in the baseline column); then a one-pod Job POST → Complete",
            sf.stored_objects
        ),
        value: format!(
            "{}; Job {}; modules recompiled: {}",
            ms(sf.restart),
            ms(sf.first_job_after_restart),
            if sf.recompiled { "yes" } else { "none" }
        ),
        baseline: ms(sf.start_empty),
        ratio: "—".into(),
    });
    rows.push(Row {
        what: "`serve`: peak RSS of the first server process".into(),
        value: mib(sf.rss_peak),
        baseline: "—".into(),
        ratio: "—".into(),
    });

    rows.extend(load_rows(&o.trivial, &o.load).await?);

    // The peer: one `wasmtime run` process per task.
    match peer::find() {
        Some(wasmtime) => {
            let p = peer::measure(&wasmtime, &o.trivial, o.peer_runs, cores).await?;
            let peer_par = rate(p.runs, p.parallel);
            let ours = rate(o.pods, elapsed);
            rows.push(Row {
                what: format!(
                    "peer: `wasmtime run` process per task{}, {} runs; {}",
                    if p.precompiled {
                        " (precompiled, `--allow-precompiled`)"
                    } else {
                        " (compiling each time)"
                    },
                    p.runs,
                    p.wasmtime
                ),
                value: format!(
                    "{:.0}/s sequential ({:.2} ms each), {peer_par:.0}/s with {} at a time",
                    rate(p.runs, p.sequential),
                    p.sequential.as_secs_f64() * 1e3 / p.runs as f64,
                    p.workers
                ),
                baseline: format!("{ours:.0} pods/s `wasmjob run`"),
                ratio: format!("{:.0}× (ours ÷ parallel peer)", ours / peer_par.max(1e-9)),
            });
        }
        None => rows.push(Row {
            what: "peer: `wasmtime run` process per task".into(),
            value: "skipped: no `wasmtime` binary ($WASMJOB_WASMTIME or PATH)".into(),
            baseline: "—".into(),
            ratio: "—".into(),
        }),
    }

    let mut out = table(rows);
    out.push_str(&format!(
        "\n{cores} cores; pooling allocator: {}\n",
        warm_rt.info().pooling
    ));
    Ok(out)
}

fn table(rows: Vec<Row>) -> String {
    let mut out =
        "| measurement | wasmjob | baseline (same run) | ratio |\n|---|---|---|---|\n".to_string();
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.what, r.value, r.baseline, r.ratio
        ));
    }
    out
}

/// Only the load measurement (`wasmjob bench --load-only`), as a Markdown table.
pub async fn load_report(trivial: &std::path::Path, plan: &load::Plan) -> Result<String, Error> {
    let trivial = std::fs::canonicalize(trivial)?;
    Ok(table(load_rows(&trivial, plan).await?))
}

/// The load measurement's rows: pod starts under load against the quiet server, and
/// what the clients did (the checks fail the benchmark instead of printing).
async fn load_rows(trivial: &std::path::Path, plan: &load::Plan) -> Result<Vec<Row>, Error> {
    let lf = load::measure(trivial, plan).await?;
    let p99 = |v: &[Duration]| percentile(v, 0.99);
    let beside = format!(
        "({} one-pod Jobs in turn) beside {} hostile pods active (spinners, memory at the limit, log floods, fd bombs restarting) and {} clients; quiet server in the baseline",
        lf.loaded.len(),
        lf.hostile_active,
        plan.clients
    );
    let row = |what: String, loaded: &[Duration], quiet: &[Duration]| Row {
        what,
        value: format!(
            "p50 {}, p99 {}",
            ms(percentile(loaded, 0.5)),
            ms(p99(loaded))
        ),
        baseline: format!("p50 {}, p99 {}", ms(percentile(quiet, 0.5)), ms(p99(quiet))),
        ratio: format!(
            "{:.2} (p99)",
            p99(loaded).as_secs_f64() / p99(quiet).as_secs_f64().max(1e-9)
        ),
    };
    Ok(vec![
        row(
            format!(
                "`serve` under load: well-behaved pod start, the Job's create answered → its pod seen started by a watch {beside}"
            ),
            &lf.loaded,
            &lf.quiet,
        ),
        row(
            format!(
                "`serve` under load: the same from the POST sent (adds the API's queue behind the clients) {beside}"
            ),
            &lf.loaded_from_post,
            &lf.quiet_from_post,
        ),
        Row {
            what: format!(
                "`serve` under load: {} clients each creating {}+ Jobs (a list after each) until the probes are done, and watching them; no 5xx, no panic, every create seen ADDED in order",
                plan.clients, plan.creates_per_client
            ),
            value: format!(
                "{} requests in {:.2} s; {} watch events checked",
                lf.requests,
                lf.clients_took.as_secs_f64(),
                lf.watch_events
            ),
            baseline: "—".into(),
            ratio: "—".into(),
        },
    ])
}
