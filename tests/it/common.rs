//! Shared helpers: paths, building the guest examples once, running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use wasmjob::runtime::OutputSink;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn wat(name: &str) -> PathBuf {
    repo().join("tests/guests").join(name)
}

/// Builds `guest-examples/` once per test run (the README's own build script).
pub fn guests() -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = repo().join("guest-examples");
    let result = BUILT.get_or_init(|| {
        let out = Command::new("bash")
            .arg(dir.join("build.sh"))
            .output()
            .map_err(|e| format!("cannot run guest-examples/build.sh: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
    if let Err(e) = result {
        panic!("building the guest examples failed: {e}");
    }
    dir
}

/// Runs `wasmjob` with `args`, the way a user would.
pub fn wasmjob(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", cache_dir())
        .output()
        .expect("wasmjob runs")
}

/// A cache directory shared by the tests, in cargo's scratch directory for integration
/// tests (one per process under /tmp was left behind by every run).
pub fn cache_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmjob-test-cache");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An [`OutputSink`] that keeps everything, for runtime tests.
#[derive(Default, Clone)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl OutputSink for Captured {
    fn write(&self, bytes: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(bytes);
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Parses `wasmjob run` YAML output (one Job or a List).
pub fn jobs_from_yaml(stdout: &[u8]) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_yaml_ng::from_slice(stdout).expect("yaml on stdout");
    if v["kind"] == "List" {
        v["items"].as_array().cloned().unwrap_or_default()
    } else {
        vec![v]
    }
}

/// The `(type, reason)` of every condition.
pub fn conditions(job: &serde_json::Value) -> Vec<(String, String)> {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or("").to_string(),
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
