//! The peer: a shell loop starting one `wasmtime run` process per task (the `wasmtime-cli`
//! crate), on the same guest. Skipped with a note when no `wasmtime` binary is found:
//! `$WASMJOB_WASMTIME`, else `wasmtime` on `PATH` (see BENCHMARKS.md for building it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::Error;

/// What the peer measured.
#[derive(Clone, Debug)]
pub struct Figures {
    /// The binary and its version line.
    pub wasmtime: String,
    /// Whether the module was precompiled (`wasmtime compile`, `--allow-precompiled`), as
    /// a fair loop would do; otherwise every process compiles it.
    pub precompiled: bool,
    /// Runs per measurement.
    pub runs: usize,
    /// One process after another.
    pub sequential: Duration,
    /// `workers` processes at a time (`xargs -P`).
    pub parallel: Duration,
    /// Concurrent processes in `parallel`.
    pub workers: usize,
}

/// The `wasmtime` binary to compare against, if any.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASMJOB_WASMTIME") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("wasmtime"))
            .find(|p| p.is_file())
    })
}

async fn run_once(wasmtime: &Path, module: &Path, precompiled: bool) -> Result<(), Error> {
    let mut cmd = tokio::process::Command::new(wasmtime);
    cmd.arg("run");
    if precompiled {
        cmd.arg("--allow-precompiled");
    }
    let status = cmd
        .arg(module)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    if !status.success() {
        return Err(Error::Child(format!(
            "{} run {} exited with {status}",
            wasmtime.display(),
            module.display()
        )));
    }
    Ok(())
}

/// Runs the peer loops on `module`: `runs` processes one after another, then `runs` more,
/// `workers` at a time.
pub async fn measure(
    wasmtime: &Path,
    module: &Path,
    runs: usize,
    workers: usize,
) -> Result<Figures, Error> {
    let version = tokio::process::Command::new(wasmtime)
        .arg("--version")
        .output()
        .await?;
    let dir = tempfile::tempdir()?;
    let cwasm = dir.path().join("guest.cwasm");
    let precompiled = tokio::process::Command::new(wasmtime)
        .arg("compile")
        .arg(module)
        .arg("-o")
        .arg(&cwasm)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    let module = if precompiled { cwasm.as_path() } else { module };
    // One untimed run warms the page cache.
    run_once(wasmtime, module, precompiled).await?;
    let t = Instant::now();
    for _ in 0..runs {
        run_once(wasmtime, module, precompiled).await?;
    }
    let sequential = t.elapsed();
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let workers = workers.max(1);
    for w in 0..workers {
        let count = runs / workers + usize::from(w < runs % workers);
        let (wasmtime, module) = (wasmtime.to_path_buf(), module.to_path_buf());
        tasks.spawn(async move {
            for _ in 0..count {
                run_once(&wasmtime, &module, precompiled).await?;
            }
            Ok::<(), Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| Error::Child(e.to_string()))??;
    }
    let parallel = t.elapsed();
    Ok(Figures {
        wasmtime: format!(
            "{} ({})",
            wasmtime.display(),
            String::from_utf8_lossy(&version.stdout).trim()
        ),
        precompiled,
        runs,
        sequential,
        parallel,
        workers,
    })
}
