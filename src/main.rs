//! The `wasmjob` command line: parses flags, sets up logging, and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use wasmjob::api::quantity;
use wasmjob::controller::job::Backoff;
use wasmjob::run::{self, Format};

/// Kubernetes batch Jobs whose containers are WebAssembly modules.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every Job in the given manifests to completion on an in-process node, then print
    /// the final Jobs. Exit status: 0 all Complete, 1 any Failed, 2 invalid input.
    Run(RunArgs),
    /// Serve the Kubernetes API for Jobs (HTTPS, token auth) with a durable store, the Job
    /// controller and a wasm kubelet; point kubectl at the kubeconfig it prints.
    Serve(ServeArgs),
    /// Measure pods against raw wasmtime on this machine and print a Markdown table
    /// (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// One measurement of `bench` in a fresh process (used by `bench` itself).
    #[command(hide = true)]
    BenchChild(BenchChildArgs),
}

#[derive(clap::Args)]
struct BenchChildArgs {
    /// `density`.
    what: String,
    /// `raw` (wasmtime alone) or `pods` (a Job through `run`).
    kind: String,
    /// The sleeping guest (the exerciser).
    #[arg(long)]
    image: PathBuf,
    /// How many at once.
    #[arg(long)]
    pods: usize,
    /// How long each sleeps.
    #[arg(long)]
    sleep_ms: u64,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Small counts, for CI: checks that the benchmark runs, not how fast.
    #[arg(long)]
    short: bool,
    /// A trivial WASI guest.
    #[arg(long, default_value = "guest-examples/exerciser/exerciser.wasm")]
    trivial: PathBuf,
    /// The compute guest (pi, 2000 digits by default).
    #[arg(long, default_value = "guest-examples/pi/pi.wasm")]
    compute: PathBuf,
    /// The compute guest built for this host (skipped if absent).
    #[arg(long, default_value = "guest-examples/pi/pi-native")]
    native_compute: PathBuf,
    /// Pods per throughput measurement.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Only the load measurement (hostile pods and concurrent clients beside a
    /// well-behaved Job).
    #[arg(long)]
    load_only: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: std::net::SocketAddr,
    /// Store, credentials, kubeconfig, logs, volumes and module cache
    /// (default: $XDG_DATA_HOME/wasmjob or ~/.local/share/wasmjob).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Directory that image names resolve in (default: the current directory).
    #[arg(long, default_value = ".")]
    image_dir: PathBuf,
    /// Serve plain HTTP without authentication (loopback development only; kubectl sends no
    /// token over http).
    #[arg(long)]
    insecure_http: bool,
    /// Directories under which pods may mount `hostPath` volumes, comma-separated or
    /// repeated (default: none; the data directory never).
    #[arg(long, value_delimiter = ',')]
    allow_host_path: Vec<PathBuf>,
    /// Pods the node runs at once (the kubelet's maxPods); later ones wait Pending with a
    /// FailedScheduling Event (default: the runtime's pool slots, 10,000 on most machines).
    #[arg(long)]
    max_pods: Option<usize>,
    #[command(flatten)]
    tuning: Tuning,
}

/// Operator settings shared by `run` and `serve`, with Kubernetes' defaults.
#[derive(clap::Args)]
struct Tuning {
    /// Job back-off after the first pod failure (Kubernetes: 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pod_backoff_base: Duration,
    /// Cap of the Job back-off (Kubernetes' controller: 10m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pod_backoff_max: Duration,
    /// Kubelet crash-loop back-off after the first container restart (Kubernetes: 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    container_backoff_base: Duration,
    /// Cap of the crash-loop back-off (Kubernetes: 5m).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    container_backoff_max: Duration,
    /// Memory limit of containers without `resources.limits.memory`.
    #[arg(long, default_value = "256Mi", value_parser = parse_memory)]
    default_memory_limit: u64,
    /// `limits.ephemeral-storage` of containers without one: what a pod's emptyDirs and
    /// logs may hold before it is evicted (`0`: unbounded, as in Kubernetes).
    #[arg(long, default_value = "1Gi", value_parser = parse_memory)]
    default_ephemeral_storage: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Yaml,
    Json,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Manifest file (multi-document YAML or JSON); `-` reads stdin. Repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<String>,
    /// Output format of the final Jobs.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    output: OutputFormat,
    /// Stream container output to stderr, prefixed by pod name.
    #[arg(long)]
    logs: bool,
    /// Do not print progress lines on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    tuning: Tuning,
    /// Directory for precompiled modules (default: $XDG_CACHE_HOME/wasmjob or ~/.cache/wasmjob).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

/// A flag's duration as kube components take them (Go's `time.ParseDuration`: `100ms`,
/// `10s`, `1m30s`, `1h`), not negative.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let nanos = wasmjob::go::parse_duration(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("negative duration {s:?}"))
}

fn parse_memory(s: &str) -> Result<u64, String> {
    quantity::to_bytes(s).map_err(|e| e.to_string())
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("wasmjob").join("modules"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    raise_open_files_limit();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Raises the soft limit on open files to the hard limit, as Go programs (the kubelet
/// among them) do at start-up: every running container holds its log file open, and the
/// common soft limit of 1,024 would stop a node at about a thousand pods.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited: nothing to raise, and no finite value to raise to.
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
        && soft < hard
    {
        let raised = rustix::process::Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, soft, hard, "could not raise the open-files limit");
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the tokio runtime")?;
    match cli.command {
        Command::Run(args) => {
            let options = run::Options {
                files: args.files,
                format: match args.output {
                    OutputFormat::Yaml => Format::Yaml,
                    OutputFormat::Json => Format::Json,
                },
                logs: args.logs,
                pod_backoff: Backoff {
                    base: args.tuning.pod_backoff_base,
                    max: args.tuning.pod_backoff_max,
                },
                container_backoff_base: args.tuning.container_backoff_base,
                container_backoff_max: args.tuning.container_backoff_max,
                default_memory_limit: args.tuning.default_memory_limit,
                default_ephemeral_storage: Some(args.tuning.default_ephemeral_storage)
                    .filter(|b| *b > 0),
                cache_dir: args.cache_dir.or_else(default_cache_dir),
                progress: !args.quiet,
            };
            match rt.block_on(run::run(options)) {
                Ok(outcome) => {
                    print!("{}", outcome.rendered);
                    let code = ExitCode::from(outcome.exit_code as u8);
                    // The process ends here: freeing every pod one by one would only delay
                    // the exit (measurably, for Jobs of thousands of pods).
                    std::mem::forget(outcome);
                    Ok(code)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Serve(args) => rt.block_on(serve(args)),
        Command::Bench(args) => {
            let options = wasmjob::bench::Options {
                trivial: args.trivial,
                compute: args.compute,
                native_compute: args.native_compute.is_file().then_some(args.native_compute),
                pods: if args.short { 200 } else { args.pods },
                compute_runs: if args.short { 3 } else { 20 },
                long_digits: if args.short { 5_000 } else { 20_000 },
                long_runs: if args.short { 1 } else { 3 },
                density: if args.short { 200 } else { args.pods },
                density_sleep_ms: if args.short { 2_000 } else { 10_000 },
                latency_jobs: if args.short { 5 } else { 200 },
                peer_runs: if args.short { 10 } else { 200 },
                load: wasmjob::bench::load::Plan {
                    clients: if args.short { 10 } else { 100 },
                    creates_per_client: if args.short { 5 } else { 20 },
                    hostile: if args.short { 40 } else { 1_000 },
                    probes: if args.short { 5 } else { 50 },
                },
            };
            let report = if args.load_only {
                rt.block_on(wasmjob::bench::load_report(&options.trivial, &options.load))
            } else {
                rt.block_on(wasmjob::bench::bench(options))
            }
            .context("the benchmark failed")?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchChild(args) => {
            use wasmjob::bench::density;
            if args.what != "density" {
                anyhow::bail!("unknown measurement {:?}", args.what);
            }
            let sample = match args.kind.as_str() {
                "raw" => rt.block_on(density::raw_child(&args.image, args.pods, args.sleep_ms)),
                "pods" => rt.block_on(density::pods_child(&args.image, args.pods, args.sleep_ms)),
                other => anyhow::bail!("unknown density kind {other:?}"),
            }
            .context("the density measurement failed")?;
            println!("{}", serde_json::to_string(&sample)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("wasmjob")
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let options = wasmjob::serve::Options {
        listen: args.listen,
        data_dir,
        image_dir: args.image_dir,
        insecure_http: args.insecure_http,
        settings: wasmjob::controller::job::Settings {
            backoff: Backoff {
                base: args.tuning.pod_backoff_base,
                max: args.tuning.pod_backoff_max,
            },
        },
        container_backoff_base: args.tuning.container_backoff_base,
        container_backoff_max: args.tuning.container_backoff_max,
        default_memory_limit: args.tuning.default_memory_limit,
        default_ephemeral_storage: Some(args.tuning.default_ephemeral_storage).filter(|b| *b > 0),
        allow_host_path: args.allow_host_path,
        max_pods: args.max_pods,
        connections: wasmjob::server::connections::Limits::for_this_process(),
    };
    // Every start-up error names its path or address already: said once.
    let running = wasmjob::serve::start(options)
        .await
        .context("failed to start wasmjob serve")?;
    let scheme = if args.insecure_http { "http" } else { "https" };
    println!("wasmjob serve: listening on {scheme}://{}", running.addr);
    println!("kubeconfig: {}", running.kubeconfig.display());
    println!("  export KUBECONFIG={}", running.kubeconfig.display());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("wasmjob serve: shutting down");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_go_style_units() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
