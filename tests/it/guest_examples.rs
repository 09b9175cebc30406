//! Every guest example runs through its own manifest, and none goes untested.

use crate::common::{guests, jobs_from_yaml, wasmjob};

/// Examples with an end-to-end test in this file or in run_cli.rs.
const TESTED: &[&str] = &["pi", "exerciser"];

#[test]
fn every_guest_example_has_a_test() {
    let dir = guests();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("Cargo.toml").exists() {
            assert!(
                TESTED.contains(&name.as_str()),
                "guest example {name} has no test"
            );
        }
    }
}

#[test]
fn the_pi_job_prints_2000_digits_and_completes() {
    let dir = guests().join("pi");
    let out = wasmjob(&["run", "-f", "job.yaml", "--logs"], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("] 3.14159"))
        .expect("pi's output in the log");
    let digits = line.split("] ").nth(1).unwrap();
    assert_eq!(digits.len(), 2001, "3 + '.' + 1999 decimals");
    assert!(digits.starts_with("3.14159265358979323846264338327950288419716939937510"));
    assert!(
        digits.ends_with("9958133904780275901"),
        "{}",
        &digits[1980..]
    );
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs[0]["status"]["succeeded"], 1);
    assert_eq!(jobs[0]["status"]["conditions"][1]["type"], "Complete");
}
