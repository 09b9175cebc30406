//! The native side of the compute comparison: the `pi` guest's own source built for the host
//! (`guest-examples/build.sh` writes `guest-examples/pi/pi-native`), run as processes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::Error;

/// Runs `binary digits` `runs` times, one after another, and returns the mean time per run
/// with the cost of starting a process taken out: the same binary asked for one digit, which
/// computes next to nothing, is timed as often and subtracted.
pub async fn pi(binary: &Path, digits: usize, runs: usize) -> Result<Duration, Error> {
    // One untimed run warms the page cache.
    run_once(binary, 1).await?;
    let runs = runs.max(1);
    let mut start_cost = Duration::ZERO;
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        start_cost += run_once(binary, 1).await?;
        total += run_once(binary, digits).await?;
    }
    Ok(total.saturating_sub(start_cost) / runs as u32)
}

async fn run_once(binary: &Path, digits: usize) -> Result<Duration, Error> {
    let t = Instant::now();
    let status = tokio::process::Command::new(binary)
        .arg(digits.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    let took = t.elapsed();
    if !status.success() {
        return Err(Error::Child(format!(
            "{} {digits} exited with {status}",
            binary.display()
        )));
    }
    Ok(took)
}
