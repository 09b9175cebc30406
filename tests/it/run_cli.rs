//! `wasmjob run` end to end, as a user runs it: real manifests, real guests, exit codes,
//! stdout YAML/JSON and stderr progress.

use crate::common::{conditions, guests, jobs_from_yaml, wasmjob};

fn write_manifest(dir: &std::path::Path, name: &str, yaml: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, yaml).unwrap();
    p.to_string_lossy().into_owned()
}

/// A Job manifest running the exerciser from `guest-examples`, with `extra` spec lines.
fn exerciser_job(name: &str, spec: &str, pod: &str, args: &[&str]) -> String {
    let image = guests().join("exerciser/exerciser.wasm");
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{spec}  template:\n    spec:\n{pod}      containers:\n      - name: main\n        image: {}\n        args: [{}]\n",
        image.display(),
        args.join(", ")
    )
}

#[test]
fn invalid_manifests_exit_2_with_kubernetes_messages_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "bad.yaml",
        &exerciser_job(
            "bad",
            "  completions: -1\n",
            "      restartPolicy: Never\n",
            &[],
        ),
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spec.completions: Invalid value: -1: must be greater than or equal to 0"),
        "{err}"
    );
    assert!(err.contains("The Job \"bad\" is invalid"), "{err}");
    assert!(out.stdout.is_empty());

    let f = write_manifest(
        dir.path(),
        "always.yaml",
        &exerciser_job("always", "", "      restartPolicy: Always\n", &[]),
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
        ),
        "{err}"
    );
}

#[test]
fn malformed_yaml_and_missing_modules_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "broken.yaml",
        "apiVersion: batch/v1\nkind: [Job\n",
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error parsing"));

    let f = write_manifest(
        dir.path(),
        "missing.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: m}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: nowhere.wasm}]\n",
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("job default/m: container c: failed to read image"),
        "{err}"
    );

    let out = wasmjob(&["run", "-f", "/no/such/file.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn a_job_with_completions_10_and_parallelism_3_succeeds_exactly_10_times() {
    let dir = guests().join("exerciser");
    let out = wasmjob(&["run", "-f", "job.yaml"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs[0]["status"]["succeeded"], 10);
    assert_eq!(jobs[0]["status"]["failed"], serde_json::Value::Null);
    assert_eq!(
        conditions(&jobs[0]),
        [
            (
                "SuccessCriteriaMet".to_string(),
                "CompletionsReached".to_string()
            ),
            ("Complete".to_string(), "CompletionsReached".to_string())
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches(": created").count(), 10, "{err}");
}

#[test]
fn backoff_limit_2_fails_after_three_pods() {
    let dir = guests().join("exerciser");
    let out = wasmjob(
        &["run", "-f", "failing.yaml", "--pod-backoff-base", "50ms"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs[0]["status"]["failed"], 3);
    assert_eq!(
        conditions(&jobs[0]),
        [
            (
                "FailureTarget".to_string(),
                "BackoffLimitExceeded".to_string()
            ),
            ("Failed".to_string(), "BackoffLimitExceeded".to_string())
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("failed with exit code 1").count(), 3, "{err}");
}

#[test]
fn a_memory_bomb_under_32mi_is_oom_killed_137() {
    let dir = guests().join("exerciser");
    let out = wasmjob(&["run", "-f", "oom.yaml"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OOMKilled (exit code 137)"), "{err}");
}

#[test]
fn a_busy_loop_under_active_deadline_2s_fails_with_deadline_exceeded() {
    let dir = guests().join("exerciser");
    let out = wasmjob(&["run", "-f", "deadline.yaml", "-o", "json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conds = conditions(&job);
    assert_eq!(
        conds[1],
        ("Failed".to_string(), "DeadlineExceeded".to_string())
    );
    let start = job["status"]["startTime"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    let failed = job["status"]["conditions"][1]["lastTransitionTime"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    // Never before the deadline. When exactly it fires is the paused-clock test's
    // (`controllers::a_job_past_its_active_deadline_fails_at_that_second`); that a spinning
    // guest dies promptly once killed is `runtime::an_infinite_loop_is_killed_…`'s.
    assert!(
        failed.duration_since(start).as_secs() >= 2,
        "{start} → {failed}"
    );
    assert_eq!(job["status"]["failed"], 1);
}

#[test]
fn on_failure_restarts_the_container_in_place_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "retry.yaml",
        &exerciser_job(
            "retry",
            "",
            "      restartPolicy: OnFailure\n      volumes: [{name: scratch, emptyDir: {}}]\n",
            &["fail-until=/scratch/count:3", "print=done"],
        )
        .replace(
            "        args:",
            "        volumeMounts: [{name: scratch, mountPath: /scratch}]\n        args:",
        ),
    );
    let out = wasmjob(
        &[
            "run",
            "-f",
            &f,
            "--container-backoff-base",
            "50ms",
            "--logs",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("restarted (restarts: 2)"), "{err}");
    assert!(err.contains("] done"), "{err}");
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs[0]["status"]["succeeded"], 1);
}

#[test]
fn indexed_jobs_give_each_pod_its_completion_index() {
    let dir = guests().join("exerciser");
    let out = wasmjob(&["run", "-f", "indexed.yaml", "--logs"], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for i in 0..5 {
        assert!(err.contains(&format!("JOB_COMPLETION_INDEX={i}")), "{err}");
        assert!(
            err.contains(&format!("pod/exerciser-indexed-{i}-")),
            "{err}"
        );
    }
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs[0]["status"]["completedIndexes"], "0-4");
    assert_eq!(jobs[0]["status"]["succeeded"], 5);
}

#[test]
fn manifests_can_come_from_stdin_and_hold_several_jobs() {
    use std::io::Write;
    let image = guests().join("exerciser/exerciser.wasm");
    let text = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: one}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: {0}}}]\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {{name: two}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: {0}, args: [exit=4]}}]\n      \n",
        image.display()
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .args([
            "run",
            "-f",
            "-",
            "--pod-backoff-base",
            "10ms",
            "--pod-backoff-max",
            "20ms",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "one of the two Jobs fails");
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["metadata"]["name"], "one");
    assert_eq!(jobs[0]["status"]["succeeded"], 1);
    assert_eq!(
        jobs[1]["status"]["failed"], 7,
        "backoffLimit 6 allows 7 pods"
    );
}

#[test]
fn huge_output_streams_whole_and_does_not_fail_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "chatty.yaml",
        &exerciser_job(
            "chatty",
            "",
            "      restartPolicy: Never\n",
            &["print-bytes=12000000"],
        ),
    );
    let out = wasmjob(&["run", "-f", &f, "--logs"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    // The live stream shows everything; the kept log is capped (unit-tested in logs.rs).
    assert!(out.stderr.len() >= 12_000_000, "{}", out.stderr.len());
}

#[test]
fn host_path_volumes_and_working_dir_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "input").unwrap();
    let f = write_manifest(
        dir.path(),
        "vol.yaml",
        &exerciser_job(
            "vol",
            "",
            &format!(
                "      restartPolicy: Never\n      volumes: [{{name: data, hostPath: {{path: {}}}}}]\n",
                data.display()
            ),
            &["read=/data/in.txt", "write=out.txt:relative"],
        )
        .replace(
            "        args:",
            "        workingDir: /data\n        volumeMounts: [{name: data, mountPath: /data}]\n        args:",
        ),
    );
    let out = wasmjob(&["run", "-f", &f, "--logs"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("] input"), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "relative"
    );
}

#[test]
fn a_suspended_job_is_reported_suspended_instead_of_waiting_forever() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "paused.yaml",
        &exerciser_job(
            "paused",
            "  suspend: true\n",
            "      restartPolicy: Never\n",
            &[],
        ),
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let jobs = jobs_from_yaml(&out.stdout);
    assert_eq!(
        conditions(&jobs[0]),
        [("Suspended".to_string(), "JobSuspended".to_string())]
    );
    assert_eq!(jobs[0]["status"]["startTime"], serde_json::Value::Null);
}

#[test]
fn pod_failure_policies_fail_fast_on_chosen_exit_codes_including_oom() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "pfp.yaml",
        &exerciser_job(
            "pfp",
            "  completionMode: Indexed\n  completions: 3\n  parallelism: 3\n  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {containerName: main, operator: In, values: [5]}\n    - action: Ignore\n      onExitCodes: {operator: In, values: [137]}\n",
            "      restartPolicy: Never\n",
            &["exit-if-index=2:5", "sleep-ms=2000"],
        ),
    );
    let out = wasmjob(&["run", "-f", &f, "-o", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conds = conditions(&job);
    assert_eq!(
        conds[0],
        ("FailureTarget".to_string(), "PodFailurePolicy".to_string())
    );
    assert_eq!(
        conds[1],
        ("Failed".to_string(), "PodFailurePolicy".to_string())
    );
    let msg = job["status"]["conditions"][1]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Container main for pod default/pfp-2-"),
        "{msg}"
    );
    assert!(
        msg.ends_with("failed with exit code 5 matching FailJob rule at index 0"),
        "{msg}"
    );

    // An OOM-killed container (137) is matchable like any exit code.
    let f = write_manifest(
        dir.path(),
        "oom.yaml",
        &exerciser_job(
            "oomy",
            "  backoffLimit: 6\n  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {operator: In, values: [137]}\n",
            "      restartPolicy: Never\n",
            &["alloc-mib=64"],
        )
        .replace("        args:", "        resources: {limits: {memory: 32Mi}}\n        args:"),
    );
    let out = wasmjob(&["run", "-f", &f, "-o", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        job["status"]["failed"], 1,
        "no retry after the FailJob match"
    );
    let msg = job["status"]["conditions"][1]["message"].as_str().unwrap();
    assert!(
        msg.ends_with("failed with exit code 137 matching FailJob rule at index 0"),
        "{msg}"
    );
}

#[test]
fn backoff_limit_per_index_fails_one_index_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "blpi.yaml",
        &exerciser_job(
            "blpi",
            "  completionMode: Indexed\n  completions: 3\n  parallelism: 3\n  backoffLimitPerIndex: 1\n",
            "      restartPolicy: Never\n",
            &["exit-if-index=1:3"],
        ),
    );
    let out = wasmjob(
        &["run", "-f", &f, "-o", "json", "--pod-backoff-base", "10ms"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["status"]["failedIndexes"], "1");
    assert_eq!(job["status"]["completedIndexes"], "0,2");
    assert_eq!(job["status"]["failed"], 2, "two attempts of index 1");
    assert_eq!(
        conditions(&job)[1],
        ("Failed".to_string(), "FailedIndexes".to_string())
    );
}

#[test]
fn a_success_policy_completes_the_job_without_waiting_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_manifest(
        dir.path(),
        "sp.yaml",
        &exerciser_job(
            "leader",
            "  completionMode: Indexed\n  completions: 3\n  parallelism: 3\n  successPolicy:\n    rules:\n    - succeededIndexes: \"0\"\n",
            "      restartPolicy: Never\n",
            &["exit-if-index=0:0", "busy-loop"],
        ),
    );
    let out = wasmjob(&["run", "-f", &f, "-o", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        conditions(&job),
        [
            (
                "SuccessCriteriaMet".to_string(),
                "SuccessPolicy".to_string()
            ),
            ("Complete".to_string(), "SuccessPolicy".to_string())
        ]
    );
    assert_eq!(job["status"]["completedIndexes"], "0");
}

#[test]
fn twelve_components_of_four_core_instances_run_at_once_until_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let image = crate::common::wat("busy_component.wat");
    let f = write_manifest(
        dir.path(),
        "busy.yaml",
        &format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: busy\nspec:\n  completions: 12\n  parallelism: 12\n  activeDeadlineSeconds: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: {}\n",
            image.display()
        ),
    );
    let out = wasmjob(&["run", "-f", &f, "-o", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // All twelve were running when the deadline killed them; none failed to instantiate
    // (which would have used up the back-off limit first).
    assert_eq!(
        conditions(&job)[1],
        ("Failed".to_string(), "DeadlineExceeded".to_string()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(job["status"]["failed"], 12);
}

#[test]
fn config_maps_and_secrets_in_the_manifests_reach_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let objects = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {mode: fast, app.conf: level=3}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {token: t0k}\n---\n";
    let job = exerciser_job(
        "cfg",
        "",
        "      restartPolicy: Never\n      volumes: [{name: conf, configMap: {name: cfg}}]\n",
        &["env=MODE", "env=TOKEN", "read=/conf/app.conf"],
    )
    .replace(
        "        args:",
        "        env:\n        - {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}\n        - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}\n        volumeMounts: [{name: conf, mountPath: /conf}]\n        args:",
    );
    let f = write_manifest(dir.path(), "all.yaml", &format!("{objects}{job}"));
    let out = wasmjob(&["run", "-f", &f, "--logs"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for line in ["] MODE=fast", "] TOKEN=t0k", "] level=3"] {
        assert!(err.contains(line), "{line}: {err}");
    }
    // Without the Secret, nothing would ever create it: invalid input, not a wait.
    let f = write_manifest(
        dir.path(),
        "missing.yaml",
        &format!("{}{job}", &objects[..objects.find("---").unwrap() + 4]),
    );
    let out = wasmjob(&["run", "-f", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "Job \"cfg\" uses secret \"creds\", which no manifest defines in namespace \"default\""
        ),
        "{err}"
    );
}
