//! The kubelet: runs a Pod's containers on the wasm runtime and reports their states the
//! way Kubernetes does (phases, container states, `restartCount`, crash-loop back-off,
//! Events), so the Job controller sees exactly what it would see on a real node.
//!
//! It owns no decisions about Jobs. It is told to start a pod (once the pod exists in the
//! store) and to kill one (when the pod gets a `deletionTimestamp`).

pub mod admission;
mod env;
pub mod eviction;
pub mod logs;
mod status;
mod volumes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use tokio::sync::watch;

use crate::api::pod as podutil;
use crate::api::quantity;
use crate::clock::Clock;
use crate::events::Recorder;
use crate::runtime::{self, ContainerExit, ContainerSpec, ImageRef, Mount, Runtime};
use crate::store::{Resource, Store};
pub use logs::LogStore;
use status::{Terminated, TerminatedBy};
pub use volumes::real_path_or_given;

/// Resolves a container's `image` for a pod to a module file.
pub type ImageResolver = Arc<dyn Fn(&Pod, &str) -> Result<ImageRef, String> + Send + Sync>;

/// Exit code reported for a container killed by the kubelet (128 + SIGKILL).
pub const KILLED_EXIT_CODE: i32 = 137;
/// Exit code reported when the module cannot be run at all (like a runtime's 128).
pub const CANNOT_RUN_EXIT_CODE: i32 = 128;

/// How often the kubelet measures a pod's local storage by default: upstream's eviction
/// manager looks every 10 s; a guest writes fast, so a tenth of that.
pub const STORAGE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Storage measurements (directory walks) running at once on the node.
static STORAGE_WALKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Kubelet settings.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    /// First crash-loop back-off delay (kubelet: 10 s).
    pub backoff_base: Duration,
    /// Largest crash-loop back-off delay (kubelet: 5 min).
    pub backoff_max: Duration,
    /// Where `emptyDir` volumes are created, one directory per pod.
    pub volumes_dir: PathBuf,
    /// Memory limit of a container that sets none.
    pub default_memory_limit: u64,
    /// Which `hostPath` volumes may be mounted.
    pub host_paths: crate::api::host_path::HostPathPolicy,
    /// What the node holds: `maxPods` and its memory.
    pub node: admission::NodeCapacity,
    /// `limits.ephemeral-storage` of a container that sets none (`None`: unbounded).
    pub default_ephemeral_storage: Option<u64>,
    /// How often a running pod's volumes and logs are measured against its limits
    /// (upstream's eviction manager: every 10 s).
    pub storage_check_interval: Duration,
}

/// Why a pod is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    /// The pod got a deletionTimestamp.
    Deleted,
    /// `spec.activeDeadlineSeconds` of the pod passed.
    DeadlineExceeded,
    /// The pod used more local storage than it may (its status already says so).
    Evicted,
}

/// The kubelet of this single node.
pub struct Kubelet {
    store: Arc<Store>,
    /// The kubelet's Events (`source.host` is the node).
    events: Recorder,
    /// The scheduler's Events about this node's pods (`Scheduled`, `FailedScheduling`),
    /// until the binder records its own.
    scheduler_events: Recorder,
    runtime: Runtime,
    logs: Arc<LogStore>,
    config: KubeletConfig,
    resolve: ImageResolver,
    clock: Clock,
    kills: Mutex<HashMap<String, watch::Sender<Option<Kill>>>>,
    /// One permit per pod the node may hold at once (`maxPods`).
    admitted: Arc<tokio::sync::Semaphore>,
    /// Where pods' tasks run, when not on the caller's runtime (see [`Kubelet::run_pods_on`]).
    pods: std::sync::OnceLock<tokio::runtime::Handle>,
}

/// What the kubelet does about a pod it saw written (or gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodAction {
    /// Run it: bound here, not finished, not being deleted, not running yet.
    Start,
    /// Kill its containers: it is being deleted (or is gone) while they run.
    Stop,
    /// Drop its logs and volumes: it is gone and nothing of it runs.
    Forget,
    /// Nothing to do.
    Nothing,
}

/// The kubelet's decision for one pod: `pod` as stored (`None`: deleted), whether this
/// kubelet runs it now, and this node's name. Pods bound elsewhere or to no node are not
/// this kubelet's.
pub fn decide(pod: Option<&Pod>, running: bool, node: &str) -> PodAction {
    let Some(pod) = pod else {
        return if running {
            PodAction::Stop
        } else {
            PodAction::Forget
        };
    };
    let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    if bound != Some(node) {
        return PodAction::Nothing;
    }
    match (
        podutil::is_deleting(pod),
        podutil::is_terminal(pod),
        running,
    ) {
        (true, _, true) => PodAction::Stop,
        (false, false, false) => PodAction::Start,
        _ => PodAction::Nothing,
    }
}

impl Kubelet {
    /// A kubelet over `store`, running containers on `runtime`.
    pub fn new(
        store: Arc<Store>,
        runtime: Runtime,
        logs: Arc<LogStore>,
        config: KubeletConfig,
        resolve: ImageResolver,
        clock: Clock,
    ) -> Arc<Self> {
        let admitted = Arc::new(tokio::sync::Semaphore::new(
            config
                .node
                .max_pods
                .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
        ));
        Arc::new(Kubelet {
            admitted,
            events: Recorder::on_node(store.clone(), "kubelet", crate::api::meta::NODE_NAME),
            scheduler_events: Recorder::new(store.clone(), "default-scheduler"),
            store,
            runtime,
            logs,
            config,
            resolve,
            clock,
            kills: Mutex::new(HashMap::new()),
            pods: std::sync::OnceLock::new(),
        })
    }

    /// Runs every pod's task on `runtime` from now on: `serve` gives the kubelet its own
    /// threads, as a node's kubelet is its own process, so that thousands of pods' work
    /// never delays the Job controller (and the other way round).
    pub fn run_pods_on(&self, runtime: tokio::runtime::Handle) {
        let _ = self.pods.set(runtime);
    }

    /// The node's container logs.
    pub fn logs(&self) -> &Arc<LogStore> {
        &self.logs
    }

    /// Watches the store for pods bound to this node and reconciles each one written,
    /// until `shutdown`: a kubelet is told nothing, it finds its work by watching, as it
    /// watches the API for pods with its `spec.nodeName`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // Registered before the first list, so no write between the two is missed.
        let touched = self.store.track(&[Resource::Pods]);
        for pod in self.store.pods_shared() {
            self.reconcile(&podutil::key(&pod));
        }
        loop {
            for t in touched.drain() {
                self.reconcile(&t.key);
            }
            tokio::select! {
                _ = touched.changed() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    /// Does what [`decide`] says for the pod stored under `key`.
    fn reconcile(self: &Arc<Self>, key: &str) {
        let pod = self.store.get_shared::<Pod>(key);
        let running = self.kills.lock().expect("poisoned").contains_key(key);
        match decide(pod.as_deref(), running, crate::api::meta::NODE_NAME) {
            PodAction::Start => self.start(key.to_string()),
            PodAction::Stop => self.stop(key),
            PodAction::Forget => self.forget(key),
            PodAction::Nothing => {}
        }
    }

    /// Starts running the pod stored under `key` in the background.
    fn start(self: &Arc<Self>, key: String) {
        let (tx, rx) = watch::channel(None);
        self.kills.lock().expect("poisoned").insert(key.clone(), tx);
        let kubelet = self.clone();
        let task = async move {
            kubelet.run_pod(&key, rx).await;
            kubelet.kills.lock().expect("poisoned").remove(&key);
            // An evicted pod's volumes are what it was evicted for: the space comes back
            // now, not when the pod object is deleted.
            if kubelet.store.pod(&key).is_some_and(|p| {
                p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some(eviction::REASON)
            }) {
                let dir = kubelet.pod_dir(&key).join("volumes");
                let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
            }
            // A pod deleted while running went away with its final status write (the
            // store's deletion rule); its logs and volumes go with it.
            if kubelet.store.pod(&key).is_none() {
                kubelet.forget(&key);
            }
        };
        match self.pods.get() {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// Stops the pod's containers (the pod is being deleted); its task forgets it once
    /// the object is gone.
    fn stop(&self, key: &str) {
        if let Some(tx) = self.kills.lock().expect("poisoned").get(key) {
            tx.send_if_modified(|k| {
                if k.is_none() {
                    *k = Some(Kill::Deleted);
                    true
                } else {
                    false
                }
            });
        }
    }

    /// Drops what the node kept for a pod that no longer exists: logs and emptyDirs.
    fn forget(&self, key: &str) {
        self.logs.remove_pod(key);
        let dir = self.pod_dir(key);
        let remove = move || {
            if dir.exists() {
                let _ = std::fs::remove_dir_all(dir);
            }
        };
        // A pod's tree can be big (its guest decided): off the async workers when on them.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }

    fn pod_dir(&self, key: &str) -> PathBuf {
        self.config.volumes_dir.join(key.replace('/', "_"))
    }

    async fn run_pod(self: &Arc<Self>, key: &str, mut kill: watch::Receiver<Option<Kill>>) {
        let Some(pod) = self.store.get_shared::<Pod>(key) else {
            return;
        };
        if podutil::is_deleting(&pod) {
            return;
        }
        let needs = admission::pod_memory(&pod, self.config.default_memory_limit);
        if let Err(r) = admission::admit(needs, &self.config.node) {
            self.event(&pod, "Warning", r.reason, &r.message);
            let now = self.clock.now();
            self.store
                .update_pod(key, |p| status::rejected(p, r.reason, &r.message, now));
            return;
        }
        // Held while the pod runs: the node's maxPods.
        let _admitted = match self.admitted.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => match self.wait_for_room(&pod, &mut kill).await {
                Some(permit) => permit,
                None => return,
            },
        };
        let now = self.clock.now();
        let no_spec = k8s_openapi::api::core::v1::PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&no_spec);
        // A pod with one container and no init containers (nearly every Job's) gets one
        // status write when its container starts and one when it ends, as a real kubelet's
        // status manager often reports a fast container: picked-up-and-running, then
        // terminated-and-Succeeded. Other pods report each step.
        let single =
            spec.init_containers.as_ref().is_none_or(Vec::is_empty) && spec.containers.len() == 1;
        let mut writes = PodWrites {
            pending_start: Some(now),
            finishes_pod: single,
        };
        if !single {
            self.write(key, &mut writes, |_| {});
        }

        // The pod's own activeDeadlineSeconds, counted from its start.
        if let Some(secs) = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds) {
            let tx = self.kills.lock().expect("poisoned").get(key).cloned();
            if let Some(tx) = tx {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(secs.max(0) as u64)).await;
                    tx.send_if_modified(|k| {
                        if k.is_none() {
                            *k = Some(Kill::DeadlineExceeded);
                            true
                        } else {
                            false
                        }
                    });
                });
            }
        }

        let mounts = match self.volumes(&pod).await {
            // Deleted while its volumes were made (a pod not yet started goes at once):
            // nothing may start for a pod that no longer exists. (One being deleted goes
            // on: its containers see the kill and its status says how it ended.)
            Ok(_) if !self.store.contains::<Pod>(key) => return,
            Ok(m) => m,
            Err(message) => {
                self.event(&pod, "Warning", "FailedMount", &message);
                let now = self.clock.now();
                self.write(key, &mut writes, |p| {
                    status::cannot_run_all(p, &message, now)
                });
                return;
            }
        };
        let on_failure = spec.restart_policy.as_deref() == Some("OnFailure");
        // Stopped when the pod's run ends, however it ends.
        let _storage = self.watch_storage(key, &pod, &mounts);

        if single {
            let c = &spec.containers[0];
            self.run_container(&pod, c, false, on_failure, &mounts, kill, writes)
                .await;
            return;
        }

        for c in spec.init_containers.iter().flatten() {
            let t = self
                .run_container(
                    &pod,
                    c,
                    true,
                    on_failure,
                    &mounts,
                    kill.clone(),
                    PodWrites::default(),
                )
                .await;
            if t.exit_code != 0 || t.by != TerminatedBy::Exit {
                let now = self.clock.now();
                self.store.update_pod(key, |p| status::finish(p, t.by, now));
                return;
            }
        }

        let mut tasks = tokio::task::JoinSet::new();
        for c in spec.containers.clone() {
            let kubelet = self.clone();
            let pod = pod.clone();
            let mounts = mounts.clone();
            let kill = kill.clone();
            tasks.spawn(async move {
                kubelet
                    .run_container(
                        &pod,
                        &c,
                        false,
                        on_failure,
                        &mounts,
                        kill,
                        PodWrites::default(),
                    )
                    .await
            });
        }
        let mut by = TerminatedBy::Exit;
        while let Some(t) = tasks.join_next().await {
            if let Ok(t) = t
                && t.by != TerminatedBy::Exit
            {
                by = t.by;
            }
        }
        let now = self.clock.now();
        self.store.update_pod(key, |p| status::finish(p, by, now));
    }

    /// Measures the pod's `emptyDir`s and logs every `storage_check_interval` while it runs
    /// and evicts it when they exceed its limits (see [`eviction`]); `None` when it has none.
    fn watch_storage(
        self: &Arc<Self>,
        key: &str,
        pod: &Pod,
        mounts: &HashMap<String, volumes::Volume>,
    ) -> Option<AbortOnDrop> {
        let default = self.config.default_ephemeral_storage;
        if !eviction::needs_watching(pod, default) {
            return None;
        }
        let spec = pod.spec.as_ref()?;
        let dirs: Vec<(String, Arc<cap_std::fs::Dir>)> = spec
            .volumes
            .iter()
            .flatten()
            .filter(|v| v.empty_dir.is_some())
            .filter_map(|v| mounts.get(&v.name).map(|m| (v.name.clone(), m.dir.clone())))
            .collect();
        let names: Vec<String> = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .map(|c| c.name.clone())
            .collect();
        let (kubelet, key, pod) = (self.clone(), key.to_string(), pod.clone());
        Some(AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(kubelet.config.storage_check_interval).await;
                let d = dirs.clone();
                // Walking a tree is blocking IO, and a guest decides how big the tree is.
                // A few walks at a time: a thousand pods' checks at once would otherwise
                // take every thread of the blocking pool, and a starting pod's volumes
                // would wait behind them.
                let Ok(walking) = STORAGE_WALKS.acquire().await else {
                    return;
                };
                // The permit goes with the walk: a check dropped with its pod still holds
                // it until the walk itself is over.
                let Ok(volumes) = tokio::task::spawn_blocking(move || {
                    let _walking = walking;
                    d.iter()
                        .map(|(name, dir)| (name.clone(), volumes::usage(dir)))
                        .collect()
                })
                .await
                else {
                    return;
                };
                let containers = names
                    .iter()
                    .filter_map(|c| kubelet.logs.current_size(&key, c).map(|b| (c.clone(), b)))
                    .collect();
                let usage = eviction::Usage {
                    volumes,
                    containers,
                };
                if let Some(message) = eviction::decide(&pod, &usage, default) {
                    kubelet.evict(&key, &pod, &message);
                    return;
                }
            }
        })))
    }

    /// Evicts a running pod: its status says why (reason `Evicted`, a `DisruptionTarget`
    /// condition), a Warning Event says it too, then its containers are killed.
    fn evict(&self, key: &str, pod: &Pod, message: &str) {
        let Some(tx) = self.kills.lock().expect("poisoned").get(key).cloned() else {
            return;
        };
        if tx.borrow().is_some() {
            return;
        }
        // The status first: whoever sees the pod Failed sees why.
        let now = self.clock.now();
        self.store
            .update_pod(key, |p| status::evicted(p, message, now));
        self.event(pod, "Warning", eviction::REASON, message);
        tx.send_if_modified(|k| {
            if k.is_none() {
                *k = Some(Kill::Evicted);
                true
            } else {
                false
            }
        });
    }

    /// The node holds `maxPods` already: the pod waits Pending, unschedulable, with a
    /// `FailedScheduling` Event, until a pod ends; `None` when it is deleted meanwhile.
    async fn wait_for_room(
        &self,
        pod: &Pod,
        kill: &mut watch::Receiver<Option<Kill>>,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let key = podutil::key(pod);
        let now = self.clock.now();
        self.store.update_pod(&key, |p| {
            status::unschedulable(p, admission::TOO_MANY_PODS, now)
        });
        self.scheduler_events.event(
            crate::api::meta::reference_to(pod),
            "Warning",
            "FailedScheduling",
            admission::TOO_MANY_PODS,
            now,
        );
        tokio::select! {
            permit = self.admitted.clone().acquire_owned() => {
                let name = pod.metadata.name.as_deref().unwrap_or("");
                let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
                self.scheduler_events.event(
                    crate::api::meta::reference_to(pod),
                    "Normal",
                    "Scheduled",
                    &format!("Successfully assigned {ns}/{name} to {}", crate::api::meta::NODE_NAME),
                    self.clock.now(),
                );
                Some(permit.expect("the admission semaphore is never closed"))
            }
            _ = kill.wait_for(Option::is_some) => {
                let now = self.clock.now();
                self.store.update_pod(&key, |p| status::finish(p, TerminatedBy::Killed, now));
                None
            }
        }
    }

    /// Writes a pod status change, folding in what `w` still owes.
    fn write(&self, key: &str, w: &mut PodWrites, f: impl FnOnce(&mut Pod)) {
        let start = w.pending_start.take();
        self.store.update_pod(key, |p| {
            if let Some(at) = start {
                status::started(p, at);
            }
            f(p)
        });
    }

    /// Writes a container's final termination (and the pod's end when it is the pod's only
    /// container).
    #[allow(clippy::too_many_arguments)]
    fn write_terminated(
        &self,
        key: &str,
        w: &mut PodWrites,
        name: &str,
        init: bool,
        t: &Terminated,
        started_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) {
        let finishes = w.finishes_pod;
        self.write(key, w, |p| {
            status::container_terminated(p, name, init, t, started_at, now);
            if finishes {
                status::finish(p, t.by, now);
            }
        });
    }

    /// Runs one container, restarting it in place under `OnFailure` with the crash-loop
    /// back-off, until it succeeds, fails for good, or the pod is killed.
    #[allow(clippy::too_many_arguments)]
    async fn run_container(
        &self,
        pod: &Pod,
        container: &Container,
        init: bool,
        on_failure: bool,
        mounts: &HashMap<String, volumes::Volume>,
        mut kill: watch::Receiver<Option<Kill>>,
        mut writes: PodWrites,
    ) -> Terminated {
        let key = podutil::key(pod);
        let name = container.name.clone();
        let mut backoff = self.config.backoff_base;
        let mut restarts = 0;
        let mut restarted_once = false;
        loop {
            let killed = *kill.borrow();
            if let Some(k) = killed {
                let t = Terminated::killed(k == Kill::DeadlineExceeded);
                if writes.finishes_pod {
                    let now = self.clock.now();
                    self.write(&key, &mut writes, |p| status::finish(p, t.by, now));
                }
                return t;
            }
            if let Some(t) = self
                .pull(pod, container, init, &mut kill, &mut writes)
                .await
            {
                if writes.finishes_pod {
                    let now = self.clock.now();
                    self.write(&key, &mut writes, |p| status::finish(p, t.by, now));
                }
                return t;
            }
            let image = container
                .image
                .as_deref()
                .ok_or_else(|| format!("container {name} has no image"))
                .and_then(|i| (self.resolve)(pod, i));
            let reserved = match image {
                Err(message) => Err(message),
                Ok(image) => match self
                    .reserve_slot(&key, &image, &mut kill, &mut writes)
                    .await
                {
                    Ok(r) => r.map(|r| (r, image)),
                    Err(t) => return t,
                },
            };
            let started = tokio::time::Instant::now();
            let started_at = self.clock.now();
            // The attempt (and its log) begins once the guest can start: until then
            // `kubectl logs` says the container is waiting, and a restart waiting for a slot
            // keeps the previous run's output as the current log.
            let mut log = None;
            let outcome = match reserved {
                Err(message) => Err(message),
                Ok((reserved, image)) => {
                    let attempt = self.logs.start_attempt(
                        &key,
                        pod.metadata.name.as_deref().unwrap_or(""),
                        &name,
                    );
                    log = Some(attempt.clone());
                    match self.container_spec(pod, container, image, mounts, attempt.clone()) {
                        Err(message) => Err(message),
                        Ok(spec) => {
                            self.write(&key, &mut writes, |p| {
                                status::container_running(p, &name, init, restarts, started_at)
                            });
                            self.event(
                                pod,
                                "Normal",
                                "Created",
                                &format!("Created container: {name}"),
                            );
                            self.event(
                                pod,
                                "Normal",
                                "Started",
                                &format!("Started container {name}"),
                            );
                            tokio::select! {
                                r = reserved.run(spec) => r.map_err(|e| e.to_string()),
                                k = kill.wait_for(Option::is_some) => {
                                    let deadline = k.ok().and_then(|k| *k) == Some(Kill::DeadlineExceeded);
                                    let t = Terminated::killed(deadline);
                                    self.event(pod, "Normal", "Killing", &format!("Stopping container {name}"));
                                    let now = self.clock.now();
                                    self.write_terminated(&key, &mut writes, &name, init, &t, started_at, now);
                                    attempt.finish();
                                    return t;
                                }
                            }
                        }
                    }
                }
            };
            if let Some(log) = log {
                log.finish();
            }
            let now = self.clock.now();
            let t = match outcome {
                Ok(exit) => Terminated::from_exit(&exit),
                Err(message) => {
                    self.event(pod, "Warning", "Failed", &format!("Error: {message}"));
                    Terminated::from_exit(&ContainerExit {
                        exit_code: CANNOT_RUN_EXIT_CODE,
                        reason: runtime::ExitReason::Error,
                        message: Some(message),
                    })
                    .cannot_run()
                }
            };
            let last = !(on_failure && t.exit_code != 0);
            if last {
                self.write_terminated(&key, &mut writes, &name, init, &t, started_at, now);
            } else {
                self.write(&key, &mut writes, |p| {
                    status::container_terminated(p, &name, init, &t, started_at, now)
                });
            }
            if t.reason == "OOMKilled" {
                self.event(
                    pod,
                    "Warning",
                    "OOMKilled",
                    &format!(
                        "Container {name} exceeded its memory limit and was killed (exit code 137)"
                    ),
                );
            }
            if last {
                return t;
            }
            // Crash-loop back-off: the kubelet restarts a container at once the first time,
            // then waits base, 2×base, … up to the cap; ten minutes of running resets it.
            if started.elapsed() >= Duration::from_secs(600) {
                backoff = self.config.backoff_base;
                restarted_once = false;
            }
            if !restarted_once {
                restarted_once = true;
                restarts += 1;
                self.write(&key, &mut writes, |p| {
                    status::container_restarting(p, &name, init)
                });
                continue;
            }
            let pod_name = pod.metadata.name.as_deref().unwrap_or("");
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let uid = pod.metadata.uid.as_deref().unwrap_or("");
            let message = format!(
                "back-off {} restarting failed container={name} pod={pod_name}_{ns}({uid})",
                crate::go::std_duration_string(backoff)
            );
            self.write(&key, &mut writes, |p| {
                status::container_crash_loop(p, &name, init, &message)
            });
            self.event(
                pod,
                "Warning",
                "BackOff",
                &format!(
                    "Back-off restarting failed container {name} in pod {pod_name}_{ns}({uid})"
                ),
            );
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                k = kill.wait_for(Option::is_some) => {
                    let deadline = k.ok().and_then(|k| *k) == Some(Kill::DeadlineExceeded);
                    let t = Terminated::killed(deadline);
                    if writes.finishes_pod {
                        let now = self.clock.now();
                        self.write(&key, &mut writes, |p| status::finish(p, t.by, now));
                    }
                    return t;
                }
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
            restarts += 1;
        }
    }

    /// Holds a pool slot for `image`. When every slot is taken the container waits for one,
    /// its pod shown as picked up (`ContainerCreating`), not Running; `Err` when the pod is
    /// killed meanwhile.
    async fn reserve_slot<'s>(
        &'s self,
        key: &str,
        image: &ImageRef,
        kill: &mut watch::Receiver<Option<Kill>>,
        writes: &mut PodWrites,
    ) -> Result<Result<runtime::Reserved<'s>, String>, Terminated> {
        match self.runtime.try_reserve(image).await {
            Ok(Some(r)) => return Ok(Ok(r)),
            Ok(None) => {}
            Err(e) => return Ok(Err(e.to_string())),
        }
        if writes.pending_start.is_some() {
            self.write(key, writes, |_| {});
        }
        tokio::select! {
            r = self.runtime.reserve(image) => Ok(r.map_err(|e| e.to_string())),
            k = kill.wait_for(Option::is_some) => {
                let deadline = k.ok().and_then(|k| *k) == Some(Kill::DeadlineExceeded);
                let t = Terminated::killed(deadline);
                if writes.finishes_pod {
                    let now = self.clock.now();
                    self.write(key, writes, |p| status::finish(p, t.by, now));
                }
                Err(t)
            }
        }
    }

    /// The kubelet's image pull, for wasm: the module file must exist and match its pin.
    /// Until it does the container waits in `ErrImagePull` / `ImagePullBackOff` (the pod
    /// stays Pending and no retry of the Job is used up), retrying with the image back-off.
    /// Returns `Some` only when killed.
    async fn pull(
        &self,
        pod: &Pod,
        container: &Container,
        init: bool,
        kill: &mut watch::Receiver<Option<Kill>>,
        writes: &mut PodWrites,
    ) -> Option<Terminated> {
        let key = podutil::key(pod);
        let image_name = container.image.clone().unwrap_or_default();
        // The kubelet's image back-off shares the crash-loop defaults (10 s doubling to 5 min).
        let mut delay = self.config.backoff_base;
        let mut reported = false;
        loop {
            let Ok(image) = (self.resolve)(pod, &image_name) else {
                return None;
            };
            let err = match self.runtime.prepare(&image).await {
                Ok(()) => return None,
                Err(
                    e @ (runtime::Error::ImageUnreadable { .. }
                    | runtime::Error::DigestMismatch { .. }),
                ) => e,
                // A module that exists but cannot run fails at start, as a broken image does.
                Err(_) => return None,
            };
            let message = format!("Failed to pull image \"{image_name}\": {err}");
            self.write(&key, writes, |p| {
                status::container_waiting(p, &container.name, init, "ErrImagePull", &message)
            });
            if !reported {
                self.event(
                    pod,
                    "Normal",
                    "Pulling",
                    &format!("Pulling image \"{image_name}\""),
                );
                reported = true;
            }
            self.event(pod, "Warning", "Failed", &message);
            self.event(pod, "Warning", "Failed", "Error: ErrImagePull");
            let backoff = format!("Back-off pulling image \"{image_name}\"");
            self.write(&key, writes, |p| {
                status::container_waiting(p, &container.name, init, "ImagePullBackOff", &backoff)
            });
            self.event(pod, "Normal", "BackOff", &backoff);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                k = kill.wait_for(Option::is_some) => {
                    let deadline = k.ok().and_then(|k| *k) == Some(Kill::DeadlineExceeded);
                    return Some(Terminated::killed(deadline));
                }
            }
            delay = (delay * 2).min(self.config.backoff_max);
        }
    }

    fn container_spec(
        &self,
        pod: &Pod,
        c: &Container,
        image: ImageRef,
        mounts: &HashMap<String, volumes::Volume>,
        log: Arc<logs::ContainerLog>,
    ) -> Result<ContainerSpec, String> {
        let env = env::resolve(pod, c)?;
        let args = env::argv(c, &image, &env);
        let mut container_mounts = Vec::new();
        for m in c.volume_mounts.iter().flatten() {
            let volume = mounts
                .get(&m.name)
                .ok_or_else(|| format!("volume {:?} not found", m.name))?;
            container_mounts.push(Mount {
                dir: volumes::mount_dir(volume, m, &c.name, &env)?,
                source: volume.source.clone(),
                guest_path: m.mount_path.clone(),
                read_only: volume.read_only || m.read_only == Some(true),
            });
        }
        let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
        let memory_limit_bytes = match limits.and_then(|l| l.get("memory")) {
            Some(q) => quantity::to_bytes(&q.0).map_err(|e| format!("limits.memory: {e}"))?,
            None => self.config.default_memory_limit,
        };
        let cpu_millis = match limits.and_then(|l| l.get("cpu")) {
            Some(q) => Some(quantity::to_millis(&q.0).map_err(|e| format!("limits.cpu: {e}"))?),
            None => None,
        };
        // A request defaults to the limit when only the limit is set, as upstream defaults it.
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let cpu_request_millis = match requests.and_then(|r| r.get("cpu")) {
            Some(q) => Some(quantity::to_millis(&q.0).map_err(|e| format!("requests.cpu: {e}"))?),
            None => cpu_millis,
        };
        Ok(ContainerSpec {
            image,
            args,
            env,
            mounts: container_mounts,
            working_dir: c.working_dir.clone(),
            memory_limit_bytes,
            cpu_millis,
            cpu_request_millis,
            output: log,
        })
    }

    /// Prepares the pod's volumes: `emptyDir` under the pod's directory, `hostPath` as the
    /// node's policy allows. On the blocking pool: creating directories can take
    /// milliseconds (ext4 searching for free inodes after many deletions), and the
    /// kubelet's workers also run every other pod's status writes and the Job controller.
    async fn volumes(&self, pod: &Pod) -> Result<HashMap<String, volumes::Volume>, String> {
        let dir = self.pod_dir(&podutil::key(pod));
        let (pod, policy) = (pod.clone(), self.config.host_paths.clone());
        tokio::task::spawn_blocking(move || volumes::prepare(&pod, &dir, &policy))
            .await
            .map_err(|e| format!("preparing the pod's volumes failed: {e}"))?
    }

    fn event(&self, pod: &Pod, type_: &str, reason: &str, message: &str) {
        self.events.event(
            crate::api::meta::reference_to(pod),
            type_,
            reason,
            message,
            self.clock.now(),
        );
    }
}

/// Aborts a background task of a pod's run when the run ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Status writes a container still owes its pod, so that the common one-container pod
/// gets one write per transition instead of one per step.
#[derive(Default)]
struct PodWrites {
    /// The pod was picked up at this time and that is not written yet.
    pending_start: Option<jiff::Timestamp>,
    /// This container is the pod's only one: its end is the pod's end.
    finishes_pod: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(node: Option<&str>, phase: &str, deleting: bool) -> Pod {
        let mut p = Pod {
            spec: Some(PodSpec {
                node_name: node.map(str::to_owned),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        if deleting {
            p.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        }
        p
    }

    #[test]
    fn the_kubelet_runs_its_own_pods_once_and_stops_deleted_ones() {
        use PodAction::*;
        let here = Some("n1");
        // (pod, running now, expected)
        let table = [
            (Some(pod(here, "Pending", false)), false, Start),
            (Some(pod(here, "Pending", false)), true, Nothing),
            (Some(pod(here, "Running", false)), true, Nothing),
            (Some(pod(here, "Succeeded", false)), false, Nothing),
            (Some(pod(here, "Failed", false)), false, Nothing),
            (Some(pod(here, "Running", true)), true, Stop),
            (Some(pod(here, "Pending", true)), false, Nothing),
            (Some(pod(Some("n2"), "Pending", false)), false, Nothing),
            (Some(pod(None, "Pending", false)), false, Nothing),
            (None, true, Stop),
            (None, false, Forget),
        ];
        for (i, (p, running, want)) in table.into_iter().enumerate() {
            assert_eq!(decide(p.as_ref(), running, "n1"), want, "row {i}");
        }
    }
}
