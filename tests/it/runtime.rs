//! The wasm runtime against commented `.wat` fixtures: every way a guest can end is data.

use std::sync::Arc;
use std::time::Duration;

use wasmjob::runtime::{
    ContainerSpec, Error, ExitReason, ImageRef, Mount, Runtime, RuntimeConfig, TRAP_EXIT_CODE,
};

use crate::common::{Captured, guests, wat};

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        max_instances: 64,
        ..RuntimeConfig::default()
    })
    .expect("engine")
}

fn spec(path: std::path::PathBuf, out: &Captured) -> ContainerSpec {
    ContainerSpec {
        image: ImageRef { path, digest: None },
        args: vec!["guest".into()],
        env: vec![],
        mounts: vec![],
        working_dir: None,
        memory_limit_bytes: 64 << 20,
        cpu_millis: None,
        cpu_request_millis: None,
        output: Arc::new(out.clone()),
    }
}

#[tokio::test]
async fn proc_exit_42_is_exit_code_42_with_reason_error() {
    let out = Captured::default();
    let exit = runtime().run(spec(wat("exit_42.wat"), &out)).await.unwrap();
    assert_eq!((exit.exit_code, exit.reason), (42, ExitReason::Error));
}

#[tokio::test]
async fn returning_from_start_is_completed_and_stdout_is_captured() {
    let out = Captured::default();
    let exit = runtime().run(spec(wat("hello.wat"), &out)).await.unwrap();
    assert_eq!((exit.exit_code, exit.reason), (0, ExitReason::Completed));
    assert_eq!(out.text(), "hello from wat\n");
}

#[tokio::test]
async fn a_trap_is_exit_134_with_the_trap_text() {
    let out = Captured::default();
    let exit = runtime().run(spec(wat("trap.wat"), &out)).await.unwrap();
    assert_eq!(
        (exit.exit_code, exit.reason),
        (TRAP_EXIT_CODE, ExitReason::Error)
    );
    let message = exit.message.unwrap();
    assert!(
        message.lines().next().unwrap().contains("unreachable"),
        "{message}"
    );
}

#[tokio::test]
async fn a_memory_bomb_is_oom_killed_with_137() {
    let out = Captured::default();
    let mut s = spec(wat("grow_forever.wat"), &out);
    s.memory_limit_bytes = 32 << 20;
    let exit = runtime().run(s).await.unwrap();
    assert_eq!((exit.exit_code, exit.reason), (137, ExitReason::OomKilled));
}

/// The memory-limit bypass of the hardening issue: a component spreads its memory over
/// several core instances; the limit holds for their sum.
#[tokio::test]
async fn a_component_cannot_escape_the_limit_by_spreading_over_memories() {
    let out = Captured::default();
    let mut s = spec(wat("memories_bomb_component.wat"), &out);
    s.memory_limit_bytes = 64 << 20;
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.exit_code, 137, "{exit:?}");
    assert_eq!(exit.reason, ExitReason::OomKilled);
    let mut s = spec(wat("memories_bomb_component.wat"), &out);
    s.memory_limit_bytes = 128 << 20;
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.exit_code, 0, "{exit:?}");
}

#[tokio::test]
async fn an_initial_memory_above_the_limit_is_oom_killed_not_a_host_error() {
    let out = Captured::default();
    let mut s = spec(wat("big_initial_memory.wat"), &out);
    s.memory_limit_bytes = 16 << 20;
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.reason, ExitReason::OomKilled);
}

#[tokio::test]
async fn an_infinite_loop_is_killed_by_dropping_its_future() {
    let out = Captured::default();
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 1,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let image = ImageRef {
        path: wat("loop_forever.wat"),
        digest: None,
    };
    let run = rt.run(spec(image.path.clone(), &out));
    let r = tokio::time::timeout(Duration::from_millis(200), run).await;
    assert!(r.is_err(), "the loop cannot finish by itself");
    // The guest never calls the host: only its epoch yield lets it see that it was
    // dropped, and give back the one pool slot. Bounded, so that a broken yield fails
    // this test instead of hanging it.
    let freed = tokio::time::timeout(Duration::from_secs(10), rt.reserve(&image)).await;
    assert!(freed.is_ok(), "the dropped guest never gave its slot back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_guests_do_not_starve_a_neighbour() {
    // Four spinning guests on two worker threads: a fifth, trivial guest still completes,
    // because every guest yields to the scheduler at each epoch tick.
    let rt = runtime();
    let mut spinners = Vec::new();
    for _ in 0..4 {
        let rt = rt.clone();
        let out = Captured::default();
        spinners.push(tokio::spawn(async move {
            rt.run(spec(wat("loop_forever.wat"), &out)).await
        }));
    }
    let out = Captured::default();
    let exit = tokio::time::timeout(
        Duration::from_secs(30),
        rt.run(spec(wat("hello.wat"), &out)),
    )
    .await
    .expect("the neighbour finishes despite the spinners")
    .unwrap();
    assert_eq!(exit.exit_code, 0);
    for s in spinners {
        s.abort();
    }
}

#[tokio::test]
async fn unknown_imports_are_a_host_error() {
    let out = Captured::default();
    let err = runtime()
        .run(spec(wat("imports_sockets.wat"), &out))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Instantiate { .. }), "{err}");
    assert!(err.to_string().contains("sock_open_imaginary"), "{err}");
}

#[tokio::test]
async fn a_missing_module_and_invalid_bytes_are_host_errors() {
    let out = Captured::default();
    let rt = runtime();
    let err = rt
        .run(spec(wat("does_not_exist.wasm"), &out))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ImageUnreadable { .. }), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0garbage").unwrap();
    let err = rt.run(spec(bad, &out)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidModule { .. }), "{err}");
}

#[tokio::test]
async fn a_digest_pin_must_match_the_file() {
    let out = Captured::default();
    let mut s = spec(wat("hello.wat"), &out);
    s.image.digest = Some("0".repeat(64));
    let err = runtime().run(s.clone()).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");

    use sha2::Digest;
    let bytes = std::fs::read(wat("hello.wat")).unwrap();
    s.image.digest = Some(hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(runtime().run(s).await.unwrap().exit_code, 0);
}

#[tokio::test]
async fn components_run_through_wasi_cli_run() {
    let out = Captured::default();
    let exit = runtime()
        .run(spec(wat("hello_component.wat"), &out))
        .await
        .unwrap();
    assert_eq!((exit.exit_code, exit.reason), (0, ExitReason::Completed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_with_two_memories_wait_for_two_slots_instead_of_failing() {
    // 16 slots hold eight of these at once; the other four wait, none fails.
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 16,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let rt = rt.clone();
        let out = Captured::default();
        runs.spawn(async move {
            let s = spec(wat("two_memories_component.wat"), &out);
            tokio::time::timeout(std::time::Duration::from_secs(1), rt.run(s)).await
        });
    }
    while let Some(r) = runs.join_next().await {
        match r.unwrap() {
            Err(_elapsed) => {}
            Ok(result) => panic!("a guest ended instead of running or waiting: {result:?}"),
        }
    }
}

#[tokio::test]
async fn precompiled_modules_are_reused_across_runtimes() {
    let cache = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        max_instances: 8,
        ..RuntimeConfig::default()
    };
    let out = Captured::default();
    let first = Runtime::new(config.clone()).unwrap();
    first.run(spec(wat("hello.wat"), &out)).await.unwrap();
    assert_eq!(
        artefacts(cache.path()).len(),
        1,
        "one precompiled artefact per digest"
    );
    let second = Runtime::new(config).unwrap();
    let exit = second.run(spec(wat("hello.wat"), &out)).await.unwrap();
    assert_eq!(exit.exit_code, 0);

    // A corrupt artefact is discarded and the module recompiled.
    let path = artefacts(cache.path()).remove(0);
    std::fs::write(&path, b"corrupt").unwrap();
    let third = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        max_instances: 8,
        ..RuntimeConfig::default()
    })
    .unwrap();
    assert_eq!(
        third
            .run(spec(wat("hello.wat"), &out))
            .await
            .unwrap()
            .exit_code,
        0
    );

    // So is a truncated one (a crash or a full disk while it was written), at any length.
    let path = artefacts(cache.path()).remove(0);
    let whole = std::fs::read(&path).unwrap();
    for len in [whole.len() - 1, whole.len() / 2, 16, 0] {
        std::fs::write(&path, &whole[..len]).unwrap();
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            max_instances: 8,
            ..RuntimeConfig::default()
        })
        .unwrap();
        let exit = runtime.run(spec(wat("hello.wat"), &out)).await.unwrap();
        assert_eq!(exit.exit_code, 0, "truncated to {len}: {exit:?}");
        assert_eq!(
            std::fs::read(&path).unwrap().len(),
            whole.len(),
            "truncated to {len}: not recompiled into place"
        );
    }
}

fn artefacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    out.sort();
    out
}

/// The cache poisoning of the hardening issue: one module's artefact swapped for another's
/// (both valid wasmtime artefacts) must not run the other's code, nor must bytes altered by
/// anyone without the cache's key.
#[tokio::test]
async fn a_swapped_or_altered_precompiled_module_is_refused_and_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        max_instances: 8,
        ..RuntimeConfig::default()
    };
    let out = Captured::default();
    let first = Runtime::new(config.clone()).unwrap();
    assert_eq!(
        first
            .run(spec(wat("hello.wat"), &out))
            .await
            .unwrap()
            .exit_code,
        0
    );
    let hello = artefacts(cache.path());
    assert_eq!(
        first
            .run(spec(wat("exit_42.wat"), &out))
            .await
            .unwrap()
            .exit_code,
        42
    );
    let all = artefacts(cache.path());
    let exit42 = all.iter().find(|p| !hello.contains(p)).unwrap().clone();
    std::fs::copy(&exit42, &hello[0]).unwrap();
    let second = Runtime::new(config.clone()).unwrap();
    let exit = second.run(spec(wat("hello.wat"), &out)).await.unwrap();
    assert_eq!(
        exit.exit_code, 0,
        "the swapped artefact ran another module's code"
    );

    // Flip one byte past the tag: refused too.
    let mut bytes = std::fs::read(&exit42).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&exit42, &bytes).unwrap();
    let third = Runtime::new(config).unwrap();
    assert_eq!(
        third
            .run(spec(wat("exit_42.wat"), &out))
            .await
            .unwrap()
            .exit_code,
        42
    );
    assert_ne!(
        std::fs::read(&exit42).unwrap(),
        bytes,
        "the altered artefact was rewritten"
    );

    // The key and the directory are the owner's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.path()), 0o700);
    assert_eq!(mode(&cache.path().join("artefact.key")), 0o600);
}

/// A mount of the open directory `dir`.
fn mount(dir: &std::path::Path, guest: &str, read_only: bool) -> Mount {
    Mount {
        dir: Arc::new(
            cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap(),
        ),
        source: dir.to_path_buf(),
        guest_path: guest.into(),
        read_only,
    }
}

fn exerciser(out: &Captured, args: &[&str]) -> ContainerSpec {
    let dir = guests();
    let mut s = spec(dir.join("exerciser/exerciser.wasm"), out);
    s.args = std::iter::once("exerciser")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    s
}

#[tokio::test]
async fn volumes_are_the_only_host_paths_a_guest_can_reach() {
    let vol = tempfile::tempdir().unwrap();
    let out = Captured::default();
    let mut s = exerciser(
        &out,
        &[
            "write=/data/f.txt:hi",
            "read=/data/f.txt",
            "try-open=/etc/passwd",
            "try-open=/data/../../etc/passwd",
        ],
    );
    s.mounts = vec![mount(vol.path(), "/data", false)];
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.exit_code, 0, "{}", out.text());
    assert_eq!(
        std::fs::read_to_string(vol.path().join("f.txt")).unwrap(),
        "hi"
    );
    let text = out.text();
    assert!(text.contains("open /etc/passwd: denied"), "{text}");
    assert!(
        text.contains("open /data/../../etc/passwd: denied"),
        "{text}"
    );
}

/// The share of `message`'s "held its share of N".
fn share_of(message: &str) -> usize {
    let (_, rest) = message
        .split_once("held its share of ")
        .unwrap_or_else(|| panic!("no node share in {message}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The other half of the descriptor exhaustion: many guests opening without closing
/// together stop at the node's budget for guests (leaving the API and the store theirs),
/// and what one held returns to the budget when it ends.
#[tokio::test]
async fn guests_together_stop_at_the_node_budget_and_give_it_back() {
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 64,
        guest_descriptors: 300,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let vol = tempfile::tempdir().unwrap();
    let bomb = |out: &Captured| {
        let mut s = spec(wat("fd_bomb.wat"), out);
        s.mounts = vec![mount(vol.path(), "/data", false)];
        s
    };
    let outs: Vec<Captured> = (0..4).map(|_| Captured::default()).collect();
    let exits = futures_util::future::join_all(outs.iter().map(|o| rt.run(bomb(o)))).await;
    let mut shares = vec![];
    for exit in exits {
        let exit = exit.unwrap();
        let message = exit.message.clone().unwrap_or_default();
        assert!(
            message.starts_with(
                "too many open files: the node's containers hold at most 300 open descriptors"
            ),
            "{exit:?}"
        );
        shares.push(share_of(&message));
    }
    // Each container's own entries (stdio, the preopen) are granted beyond the budget;
    // no container got more than the budget (that the grants held at one moment never
    // sum past it is `descriptors`' unit test).
    assert!(
        shares.iter().all(|&s| s <= 300 + 8),
        "the budget was overdrawn: {shares:?}"
    );
    // Everything was given back: one guest alone gets the whole budget again.
    let out = Captured::default();
    let alone = rt.run(bomb(&out)).await.unwrap();
    let share = share_of(&alone.message.unwrap_or_default());
    assert!(share >= 300, "the budget was not returned: {share}");
}

/// A node whose budget is gone (a neighbour's fd bomb took it) still starts new
/// containers: their stdio and volumes are granted with them, only new opens wait.
#[tokio::test]
async fn an_exhausted_budget_still_grants_stdio_and_volumes() {
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 8,
        guest_descriptors: 0,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let vol = tempfile::tempdir().unwrap();
    let out = Captured::default();
    let mut s = spec(wat("hello.wat"), &out);
    s.mounts = vec![mount(vol.path(), "/data", false)];
    let exit = rt.run(s).await.unwrap();
    assert_eq!(exit.exit_code, 0, "{exit:?}");
    assert_eq!(out.text(), "hello from wat\n");
}

/// The descriptor exhaustion of the hardening issue: a guest that opens without closing
/// stops at the per-container bound and the node's descriptors are untouched.
#[tokio::test]
async fn a_guest_opening_without_closing_stops_at_the_per_container_bound() {
    let vol = tempfile::tempdir().unwrap();
    let count_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let before = count_fds();
    let out = Captured::default();
    let mut s = spec(wat("fd_bomb.wat"), &out);
    s.mounts = vec![mount(vol.path(), "/data", false)];
    let exit = runtime().run(s).await.unwrap();
    assert_ne!(exit.exit_code, 0, "100,000 opens all succeeded: {exit:?}");
    let message = exit.message.clone().unwrap_or_default();
    assert!(message.contains("too many open files"), "{exit:?}");
    // Everything the guest opened was closed with it.
    assert!(
        count_fds() <= before + 8,
        "descriptors leaked: {} then {}",
        before,
        count_fds()
    );
}

#[tokio::test]
async fn read_only_mounts_refuse_writes() {
    let vol = tempfile::tempdir().unwrap();
    let out = Captured::default();
    let mut s = exerciser(&out, &["write=/data/f.txt:hi"]);
    s.mounts = vec![mount(vol.path(), "/data", true)];
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.exit_code, 3, "{}", out.text());
    assert!(!vol.path().join("f.txt").exists());
}

#[tokio::test]
async fn args_and_env_reach_the_guest() {
    let out = Captured::default();
    let mut s = exerciser(&out, &["args", "env=GREETING", "env=HOME"]);
    s.env = vec![("GREETING".into(), "hello".into())];
    let exit = runtime().run(s).await.unwrap();
    assert_eq!(exit.exit_code, 0);
    let text = out.text();
    assert!(text.contains("0: exerciser\n1: args\n"), "{text}");
    assert!(text.contains("GREETING=hello"), "{text}");
    // Nothing of the host's environment leaks in.
    assert!(text.contains("HOME is not set"), "{text}");
}

#[tokio::test]
async fn a_guest_recursing_forever_traps_instead_of_crashing_the_host() {
    let out = Captured::default();
    let exit = runtime()
        .run(exerciser(&out, &["stack-overflow"]))
        .await
        .unwrap();
    assert_eq!(
        (exit.exit_code, exit.reason),
        (TRAP_EXIT_CODE, ExitReason::Error)
    );
}

#[tokio::test]
async fn cpu_limits_throttle_a_busy_guest() {
    // The same computation with and without `cpu: 200m`, judged by what the limit did (a
    // cgroup's cpu.stat), not by wall-clock ratios a loaded machine would skew: unlimited,
    // never paused; at 200m, paused at every turn for four times what it ran.
    let pi = guests().join("pi/pi.wasm");
    let rt = runtime();
    let run = |cpu: Option<u64>| {
        let rt = rt.clone();
        let pi = pi.clone();
        async move {
            let out = Captured::default();
            let mut s = spec(pi, &out);
            s.args = vec!["pi".into(), "8000".into()];
            s.cpu_millis = cpu;
            let exit = rt.run(s).await.unwrap();
            assert_eq!(exit.exit_code, 0);
            exit.cpu
        }
    };
    let free = run(None).await;
    assert_eq!(free.nr_throttled, 0, "{free:?}");
    assert_eq!(free.throttled, Duration::ZERO);
    let limited = run(Some(200)).await;
    assert!(limited.nr_throttled > 0, "{limited:?}");
    // Each pause lasts at least 4× the turn before it (1000/200 − 1; `throttle_pause` has
    // the arithmetic's unit tests): what is checked here is that the limit is applied to
    // a real run, pausing it, and that an unlimited run is never paused.
    assert!(
        limited.throttled >= limited.ran * 4,
        "at 200m a guest pauses 4× what it runs: {limited:?}"
    );
}

/// Time a guest spends blocked in the host (a `sleep`) is not CPU: a CPU limit once
/// charged it, pausing a guest that slept 500 ms under `cpu: 200m` for another 2 s.
#[tokio::test]
async fn a_cpu_limit_does_not_charge_a_guest_for_sleeping() {
    let rt = runtime();
    let out = Captured::default();
    let mut s = spec(guests().join("exerciser/exerciser.wasm"), &out);
    s.args = vec![
        "exerciser".into(),
        "sleep-ms=500".into(),
        "busy-ms=30".into(),
    ];
    s.cpu_millis = Some(200);
    let exit = rt.run(s).await.unwrap();
    assert_eq!(exit.exit_code, 0, "{out:?}", out = out.text());
    // What it ran: the busy loop's turns, each at most two ticks, never the sleep.
    assert!(
        exit.cpu.ran < Duration::from_millis(300),
        "charged for sleeping: {:?}",
        exit.cpu
    );
}

/// Guests once ran on the same worker threads as the API and the controllers: 20 spinners
/// took the API from 3 ms to 0.7 s. They run on niced threads of their own now, so a task
/// of the control plane wakes on time however many guests spin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guests_never_delay_the_control_plane() {
    let rt = runtime();
    let spinners: Vec<_> = (0..40)
        .map(|_| {
            let rt = rt.clone();
            tokio::spawn(async move {
                let out = Captured::default();
                rt.run(spec(wat("loop_forever.wat"), &out)).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut late = Vec::new();
    for _ in 0..30 {
        let asked = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        late.push(asked.elapsed().saturating_sub(Duration::from_millis(5)));
    }
    late.sort();
    let median = late[late.len() / 2];
    for s in &spinners {
        s.abort();
    }
    // Sharing the workers, each wake-up waited for a round of 40 ten-millisecond turns
    // on two threads (about 200 ms).
    assert!(
        median < Duration::from_millis(50),
        "control-plane wake-ups late by {median:?} (median), {:?} (worst)",
        late.last()
    );
}

/// `requests.cpu` once bought nothing: it weighs a guest's turns now, as cpu.shares
/// weighs a container's cgroup, so a pod that asks for a core finishes well before one
/// that asks for nothing among the same spinners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_request_buys_a_larger_share_among_spinners() {
    let rt = runtime();
    let pi = guests().join("pi/pi.wasm");
    let timed = |request: Option<u64>| {
        let rt = rt.clone();
        let pi = pi.clone();
        async move {
            let spinners: Vec<_> = (0..8)
                .map(|_| {
                    let rt = rt.clone();
                    tokio::spawn(async move {
                        let out = Captured::default();
                        rt.run(spec(wat("loop_forever.wat"), &out)).await
                    })
                })
                .collect();
            let out = Captured::default();
            let mut s = spec(pi, &out);
            s.args = vec!["pi".into(), "30000".into()];
            s.cpu_request_millis = request;
            let started = std::time::Instant::now();
            let exit = rt.run(s).await.unwrap();
            let took = started.elapsed();
            for s in spinners {
                s.abort();
            }
            assert_eq!(exit.exit_code, 0, "{exit:?}");
            took
        }
    };
    timed(None).await; // compile once
    let plain = timed(None).await;
    let requested = timed(Some(2000)).await;
    assert!(
        requested * 2 <= plain,
        "without a request {plain:?}, with requests.cpu: 2 {requested:?}"
    );
}
