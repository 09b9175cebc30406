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
use wasmjob::store::Store;

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

#[tokio::test]
async fn a_pod_waiting_for_a_pool_slot_shows_container_creating_until_one_frees() {
    let store = Arc::new(Store::ephemeral());
    let runtime = Runtime::new(RuntimeConfig {
        max_instances: 1,
        ..RuntimeConfig::default()
    })
    .expect("engine");
    let volumes = tempfile::tempdir().unwrap();
    let resolve: ImageResolver = Arc::new(|_: &Pod, image: &str| {
        Ok(ImageRef {
            path: wat(image),
            digest: None,
        })
    });
    let kubelet = Kubelet::new(
        store.clone(),
        runtime,
        Arc::new(LogStore::new(1 << 20, None)),
        KubeletConfig {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            volumes_dir: volumes.path().to_path_buf(),
            default_memory_limit: 64 << 20,
            host_paths: Default::default(),
            node: Default::default(),
            default_ephemeral_storage: None,
            storage_check_interval: Duration::from_millis(200),
        },
        resolve,
        Clock::new(),
    );
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
