//! The kubelet in process against a real runtime: it finds the pods bound to its node by
//! watching the store, and what a pod shows while it waits for a pool slot.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use wasmjob::clock::Clock;
use wasmjob::kubelet::logs::LogStore;
use wasmjob::kubelet::{ImageResolver, Kubelet, KubeletConfig};
use wasmjob::runtime::{ImageRef, Runtime, RuntimeConfig};
use wasmjob::store::{Resource, Store};

use crate::common::wat;

fn pod(name: &str, image: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some(wasmjob::api::meta::NODE_NAME.into()),
            restart_policy: Some("Never".into()),
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }
}

fn phase(store: &Store, key: &str) -> Option<String> {
    store.pod(key)?.status?.phase
}

/// Polls `f` every 10 ms for up to 10 s.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A kubelet over `store` with `slots` runtime slots and the crash-loop back-off starting
/// at `backoff` (capped at upstream's 5 min), running `tests/guests` images.
fn kubelet(
    store: &Arc<Store>,
    slots: u32,
    backoff: Duration,
    volumes: &std::path::Path,
) -> Arc<Kubelet> {
    let runtime = Runtime::new(RuntimeConfig {
        max_instances: slots,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let resolve: ImageResolver = Arc::new(|_: &Pod, image: &str| {
        Ok(ImageRef {
            path: wat(image),
            digest: None,
        })
    });
    Kubelet::new(
        store.clone(),
        runtime,
        Arc::new(LogStore::new(1 << 20, None)),
        KubeletConfig {
            backoff_base: backoff,
            backoff_max: Duration::from_secs(300),
            volumes_dir: volumes.to_path_buf(),
            default_memory_limit: 64 << 20,
            host_paths: Default::default(),
            node: Default::default(),
            default_ephemeral_storage: None,
            storage_check_interval: Duration::from_millis(200),
        },
        resolve,
        Clock::new(),
    )
}

/// A crash loop on a paused tokio clock, with kubelet's real delays (10 s doubling): the
/// test takes milliseconds, and the clock the statuses are stamped with moves exactly by
/// the back-off. Every status write is read from the store's watch feed, so none is missed.
#[tokio::test(start_paused = true)]
async fn a_crash_loop_waits_10_20_40_seconds_on_a_paused_clock() {
    let store = Arc::new(Store::new());
    let volumes = tempfile::tempdir().unwrap();
    let kubelet = kubelet(&store, 4, Duration::from_secs(10), volumes.path());
    let (_, mut feed) = store
        .watch(Resource::Pods, 0)
        .expect("a watch from the start");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watching = tokio::spawn(kubelet.clone().run(stopped));
    let mut crasher = pod("crasher", "exit_42.wat");
    crasher.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
    store.create_pod(crasher).unwrap();

    let began = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    // restartCount → when that run started (the paused clock's reading).
    let mut starts: Vec<(i64, jiff::Timestamp)> = Vec::new();
    let mut back_offs: Vec<String> = Vec::new();
    // A real-time bound, on a thread of its own: a tokio timer would be advanced by the
    // paused clock, and a blocking task would stop the clock advancing. A stalled kubelet
    // fails the test instead of hanging it.
    let (alarm, mut watchdog) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = alarm.send(());
    });
    while starts.len() < 5 {
        let event = tokio::select! {
            e = feed.recv() => e.expect("the feed keeps up (16,384 events of room)"),
            _ = &mut watchdog => panic!("stuck at {starts:?}, {back_offs:?}"),
        };
        let pod: Pod = serde_json::from_value((*event.object).clone()).unwrap();
        let Some(c) = pod
            .status
            .and_then(|s| s.container_statuses)
            .and_then(|c| c.into_iter().next())
        else {
            continue;
        };
        let state = c.state.unwrap_or_default();
        if let Some(r) = state.running {
            let at = r.started_at.expect("a start time").0;
            if starts.last().map(|(n, _)| *n) != Some(c.restart_count.into()) {
                starts.push((c.restart_count.into(), at));
            }
        }
        if let Some(w) = state
            .waiting
            .filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
        {
            let m = w.message.unwrap_or_default();
            if back_offs.last() != Some(&m) {
                back_offs.push(m);
            }
        }
    }
    let counts: Vec<i64> = starts.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, [0, 1, 2, 3, 4]);
    // The first restart is at once; then 10 s, 20 s, 40 s (whole seconds: metav1.Time).
    let gaps: Vec<i64> = starts
        .windows(2)
        .map(|w| w[1].1.duration_since(w[0].1).as_secs())
        .collect();
    assert_eq!(gaps, [0, 10, 20, 40], "{starts:?}");
    let delays: Vec<&str> = back_offs
        .iter()
        .map(|m| m.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(delays, ["10s", "20s", "40s"], "{back_offs:?}");
    assert!(back_offs[0].starts_with(
        "back-off 10s restarting failed container=main pod=crasher_default(uid-crasher)"
    ));
    // Simulated time: the delays' sum, not a real wait.
    assert!(began.elapsed() >= Duration::from_secs(70));
    assert!(real.elapsed() < Duration::from_secs(30));
    stop.send(true).unwrap();
    watching.await.unwrap();
}

#[tokio::test]
async fn a_pod_waiting_for_a_pool_slot_shows_container_creating_until_one_frees() {
    let store = Arc::new(Store::ephemeral());
    let volumes = tempfile::tempdir().unwrap();
    let kubelet = kubelet(&store, 1, Duration::from_secs(10), volumes.path());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watching = tokio::spawn(kubelet.clone().run(stopped));

    // A pod bound to another node (or to none) is not this kubelet's.
    let mut elsewhere = pod("elsewhere", "hello.wat");
    elsewhere.spec.as_mut().unwrap().node_name = Some("another-node".into());
    store.create_pod(elsewhere).unwrap();
    let mut unbound = pod("unbound", "hello.wat");
    unbound.spec.as_mut().unwrap().node_name = None;
    store.create_pod(unbound).unwrap();

    store.create_pod(pod("hog", "loop_forever.wat")).unwrap();
    eventually("the hog runs", || {
        phase(&store, "default/hog").as_deref() == Some("Running")
    })
    .await;

    store.create_pod(pod("next", "hello.wat")).unwrap();
    // The only slot is taken: the pod is picked up but its container cannot start.
    eventually("the waiting pod is picked up", || {
        store.pod("default/next").and_then(|p| p.status).is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let next = store.pod("default/next").unwrap();
    let status = next.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let state = status.container_statuses.unwrap()[0].state.clone().unwrap();
    assert!(state.running.is_none(), "not Running without a slot");
    assert_eq!(
        state.waiting.and_then(|w| w.reason).as_deref(),
        Some("ContainerCreating")
    );
    // No attempt has begun, so `kubectl logs` says the container is waiting to start.
    assert!(
        kubelet
            .logs()
            .attempt("default/next", "main", false)
            .is_none()
    );

    // A pod deleted while it waits stops waiting and goes away.
    store.create_pod(pod("doomed", "hello.wat")).unwrap();
    eventually("the doomed pod is picked up", || {
        store.pod("default/doomed").and_then(|p| p.status).is_some()
    })
    .await;
    store.delete_pod("default/doomed", Clock::new().now());
    eventually("the doomed pod is gone", || {
        store.pod("default/doomed").is_none()
    })
    .await;

    store.delete_pod("default/hog", Clock::new().now());
    eventually("the waiting pod gets the slot and succeeds", || {
        phase(&store, "default/next").as_deref() == Some("Succeeded")
    })
    .await;
    for other in ["default/elsewhere", "default/unbound"] {
        let p = store.pod(other).unwrap();
        assert!(p.status.is_none(), "{other} was run: {:?}", p.status);
    }
    stop.send(true).unwrap();
    watching.await.unwrap();
}
