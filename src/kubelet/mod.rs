//! The kubelet: runs a Pod's containers on the wasm runtime and reports their states the
//! way Kubernetes does (phases, container states, `restartCount`, crash-loop back-off,
//! Events), so the Job controller sees exactly what it would see on a real node.
//!
//! It owns no decisions about Jobs. It is told to start a pod (once the pod exists in the
//! store) and to kill one (when the pod gets a `deletionTimestamp`).

pub mod admission;
mod container;
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
use container::{ContainerState, Event, Phase, StatusChange, Then, Wait};
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

/// The volume manager's retry of a mount that failed: 500 ms doubling to 2 min 2 s, as
/// upstream's exponential back-off for volume operations.
const VOLUME_RETRY_BASE: Duration = Duration::from_millis(500);
const VOLUME_RETRY_MAX: Duration = Duration::from_secs(122);

/// Why the kubelet could not run a container (the message its status and `Failed` Event
/// show) or prepare a pod (`FailedMount`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("container {container} has no image")]
    NoImage { container: String },
    /// The node's image resolver refused the container's `image`.
    #[error("{0}")]
    Image(String),
    #[error("env {name}: unsupported fieldPath {path:?}")]
    UnsupportedFieldPath { name: String, path: String },
    #[error(
        "env {name}: only value and valueFrom.fieldRef, configMapKeyRef and secretKeyRef are supported for wasm containers"
    )]
    UnsupportedValueFrom { name: String },
    /// The kubelet's configMap manager's NotFound (a container start, or a volume, waits).
    #[error("configmap {name:?} not found")]
    ConfigMapNotFound { name: String },
    #[error("secret {name:?} not found")]
    SecretNotFound { name: String },
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound {
        key: String,
        namespace: String,
        name: String,
    },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound {
        key: String,
        namespace: String,
        name: String,
    },
    /// A volume whose ConfigMap or Secret (or one of its keys) is missing now: the pod
    /// waits, retrying, as upstream's volume manager does.
    #[error("MountVolume.SetUp failed for volume {volume:?} : {cause}")]
    MountVolumeLater { volume: String, cause: String },
    #[error("volume {name:?} not found")]
    VolumeNotFound { name: String },
    #[error("MountVolume.SetUp failed for volume {volume:?} : {cause}")]
    MountVolume { volume: String, cause: String },
    #[error(
        "failed to prepare subPath for volumeMount {mount:?} of container {container:?}: subPath {sub_path:?} must be a relative path without '..'"
    )]
    SubPathEscapes {
        mount: String,
        container: String,
        sub_path: String,
    },
    #[error(
        "failed to prepare subPath for volumeMount {mount:?} of container {container:?}: subPath {sub_path:?}: {cause}"
    )]
    SubPath {
        mount: String,
        container: String,
        sub_path: String,
        cause: std::io::Error,
    },
    #[error("{field}: {cause}")]
    Quantity {
        field: &'static str,
        cause: quantity::QuantityError,
    },
    #[error("preparing the pod's volumes failed: {0}")]
    VolumeTask(tokio::task::JoinError),
    /// The container's guest never began (a step that cannot happen was skipped).
    #[error("the container was not started")]
    NotStarted,
    #[error("{0}")]
    Runtime(runtime::Error),
}

/// A container's guest run, started by polling it; dropping it kills the guest.
type GuestRun<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ContainerExit, Error>> + Send + 'a>>;

/// Why a container did not get to run.
enum Start {
    Killed(Kill),
    Failed(Error),
    /// A ConfigMap, Secret or key its environment names is missing: it waits and retries.
    Config(Error),
}

impl Error {
    /// A missing ConfigMap, Secret or key of a container's environment, which upstream
    /// reports as `CreateContainerConfigError` and retries.
    fn is_config(&self) -> bool {
        matches!(
            self,
            Error::ConfigMapNotFound { .. }
                | Error::SecretNotFound { .. }
                | Error::ConfigMapKeyNotFound { .. }
                | Error::SecretKeyNotFound { .. }
        )
    }
}

/// `work`, unless the pod is stopped first: then `Err` with why (a dropped sender counts
/// as a deletion). The one place a kubelet step races its pod's kill.
async fn or_killed<T>(
    kill: &mut watch::Receiver<Option<Kill>>,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Kill> {
    tokio::select! {
        r = work => Ok(r),
        k = kill.wait_for(Option::is_some) => Err(k.ok().and_then(|k| *k).unwrap_or(Kill::Deleted)),
    }
}

/// Whether (and why) the pod was told to stop.
fn kill_requested(kill: &watch::Receiver<Option<Kill>>) -> Option<Kill> {
    *kill.borrow()
}

/// Tells a pod's run to stop for `why`, unless it has been told already (the first
/// reason is the one its status keeps).
fn send_kill(tx: &watch::Sender<Option<Kill>>, why: Kill) {
    tx.send_if_modified(|k| {
        if k.is_none() {
            *k = Some(why);
            true
        } else {
            false
        }
    });
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
            // Asynchronous, as client-go's: a pod's start never waits on its Events.
            events: Recorder::on_node(store.clone(), "kubelet", crate::api::meta::NODE_NAME)
                .asynchronous(),
            scheduler_events: Recorder::new(store.clone(), "default-scheduler").asynchronous(),
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
            send_kill(tx, Kill::Deleted);
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

    /// A pod's whole run on this node, phase by phase as a kubelet's pod worker goes: the
    /// node's admission, a place among `maxPods`, the pod's deadline, its volumes, its init
    /// containers one after the other, then its app containers together.
    async fn run_pod(self: &Arc<Self>, key: &str, mut kill: watch::Receiver<Option<Kill>>) {
        let Some(pod) = self.store.get_shared::<Pod>(key) else {
            return;
        };
        if podutil::is_deleting(&pod) || !self.admit(key, &pod) {
            return;
        }
        // Held while the pod runs: the node's maxPods.
        let _admitted = match self.admitted.clone().try_acquire_owned() {
            Ok(permit) => {
                self.scheduled(&pod);
                permit
            }
            Err(_) => match self.wait_for_room(&pod, &mut kill).await {
                Some(permit) => permit,
                None => return,
            },
        };
        let no_spec = k8s_openapi::api::core::v1::PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&no_spec);
        // A pod with one container and no init containers (nearly every Job's) gets one
        // status write when its container starts and one when it ends, as a real kubelet's
        // status manager often reports a fast container: picked-up-and-running, then
        // terminated-and-Succeeded. Other pods report each step.
        let single =
            spec.init_containers.as_ref().is_none_or(Vec::is_empty) && spec.containers.len() == 1;
        let mut writes = PodWrites {
            pending_start: Some(self.clock.now()),
            finishes_pod: single,
        };
        if !single {
            self.write(key, &mut writes, |_| {});
        }
        self.arm_deadline(key, &pod);

        let mut retry = VOLUME_RETRY_BASE;
        let mounts = loop {
            match self.volumes(&pod).await {
                // Deleted while its volumes were made (a pod not yet started goes at once):
                // nothing may start for a pod that no longer exists. (One being deleted goes
                // on: its containers see the kill and its status says how it ended.)
                Ok(_) if !self.store.contains::<Pod>(key) => return,
                Ok(m) => break m,
                // A ConfigMap or Secret not there yet: the pod waits in ContainerCreating
                // and the volume manager tries again, backing off, until it appears or
                // the pod is stopped.
                Err(e @ Error::MountVolumeLater { .. }) => {
                    self.event(&pod, "Warning", "FailedMount", &e.to_string());
                    self.write(key, &mut writes, |_| {});
                    if let Err(k) = or_killed(&mut kill, tokio::time::sleep(retry)).await {
                        let by = Terminated::killed(k == Kill::DeadlineExceeded).by;
                        let now = self.clock.now();
                        self.store.update_pod(key, |p| status::finish(p, by, now));
                        return;
                    }
                    retry = (retry * 2).min(VOLUME_RETRY_MAX);
                }
                Err(e) => {
                    let message = e.to_string();
                    self.event(&pod, "Warning", "FailedMount", &message);
                    let now = self.clock.now();
                    self.write(key, &mut writes, |p| {
                        status::cannot_run_all(p, &message, now)
                    });
                    return;
                }
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
        let by = match self
            .run_init_containers(&pod, on_failure, &mounts, &kill)
            .await
        {
            Ok(()) => {
                self.run_app_containers(&pod, on_failure, &mounts, &kill)
                    .await
            }
            Err(by) => by,
        };
        let now = self.clock.now();
        self.store.update_pod(key, |p| status::finish(p, by, now));
    }

    /// The node's admission: a pod that can never fit this node fails at once, with
    /// upstream's reason, message and Event.
    fn admit(&self, key: &str, pod: &Pod) -> bool {
        let needs = admission::pod_memory(pod, self.config.default_memory_limit);
        match admission::admit(needs, &self.config.node) {
            Ok(()) => true,
            Err(r) => {
                self.event(pod, "Warning", r.reason, &r.message);
                let now = self.clock.now();
                self.store
                    .update_pod(key, |p| status::rejected(p, r.reason, &r.message, now));
                false
            }
        }
    }

    /// The pod's own `activeDeadlineSeconds`, counted from its start: a timer that stops
    /// the pod, unless something stopped it first.
    fn arm_deadline(&self, key: &str, pod: &Pod) {
        let Some(secs) = pod.spec.as_ref().and_then(|s| s.active_deadline_seconds) else {
            return;
        };
        let Some(tx) = self.kills.lock().expect("poisoned").get(key).cloned() else {
            return;
        };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs.max(0) as u64)).await;
            send_kill(&tx, Kill::DeadlineExceeded);
        });
    }

    /// The init containers, one after the other: `Err` with how the pod ends when one
    /// fails for good or the pod is stopped.
    async fn run_init_containers(
        &self,
        pod: &Pod,
        on_failure: bool,
        mounts: &HashMap<String, volumes::Volume>,
        kill: &watch::Receiver<Option<Kill>>,
    ) -> Result<(), TerminatedBy> {
        let spec = pod
            .spec
            .as_ref()
            .map(|s| s.init_containers.iter().flatten());
        for c in spec.into_iter().flatten() {
            let t = self
                .run_container(
                    pod,
                    c,
                    true,
                    on_failure,
                    mounts,
                    kill.clone(),
                    PodWrites::default(),
                )
                .await;
            if t.exit_code != 0 || t.by != TerminatedBy::Exit {
                return Err(t.by);
            }
        }
        Ok(())
    }

    /// The app containers, together: how the pod ends (a kill or deadline wins over the
    /// containers' own exits).
    async fn run_app_containers(
        self: &Arc<Self>,
        pod: &Arc<Pod>,
        on_failure: bool,
        mounts: &HashMap<String, volumes::Volume>,
        kill: &watch::Receiver<Option<Kill>>,
    ) -> TerminatedBy {
        let mut tasks = tokio::task::JoinSet::new();
        for c in pod.spec.iter().flat_map(|s| s.containers.clone()) {
            let (kubelet, pod, mounts, kill) =
                (self.clone(), pod.clone(), mounts.clone(), kill.clone());
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
        by
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
        send_kill(&tx, Kill::Evicted);
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
        match or_killed(kill, self.admitted.clone().acquire_owned()).await {
            Ok(Ok(permit)) => {
                self.scheduled(pod);
                Some(permit)
            }
            // Killed while waiting (or the node's admission closed, which it never is):
            // the pod ends here, as one stopped before it started.
            Ok(Err(_)) | Err(_) => {
                let now = self.clock.now();
                self.store
                    .update_pod(&key, |p| status::finish(p, TerminatedBy::Killed, now));
                None
            }
        }
    }

    /// The scheduler's `Scheduled` Event: the pod has its place on this node.
    fn scheduled(&self, pod: &Pod) {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        self.scheduler_events.event(
            crate::api::meta::reference_to(pod),
            "Normal",
            "Scheduled",
            &format!(
                "Successfully assigned {ns}/{name} to {}",
                crate::api::meta::NODE_NAME
            ),
            self.clock.now(),
        );
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
    /// back-off, until it succeeds, fails for good, or the pod is killed: what
    /// [`container::next`] decides, done.
    #[allow(clippy::too_many_arguments)]
    async fn run_container(
        &self,
        pod: &Pod,
        c: &Container,
        init: bool,
        on_failure: bool,
        mounts: &HashMap<String, volumes::Volume>,
        mut kill: watch::Receiver<Option<Kill>>,
        mut writes: PodWrites,
    ) -> Terminated {
        let key = podutil::key(pod);
        let name = c.name.as_str();
        let backoff = container::Backoff {
            base: self.config.backoff_base,
            max: self.config.backoff_max,
        };
        let mut state = ContainerState::new(&backoff);
        let mut wait = Wait::Now;
        // What the current attempt has: its start, its log, its running guest, its end.
        let mut started_at = self.clock.now();
        let mut log: Option<Arc<logs::ContainerLog>> = None;
        let mut guest = None;
        let mut ended: Option<Terminated> = None;
        let mut pull_failure = String::new();
        let mut config_failure = String::new();
        // The status's `imageID`: the module's content digest, pinned as an image name.
        let mut image_id = String::new();
        let mut pull_began = tokio::time::Instant::now();
        loop {
            if wait == Wait::Now && state.phase == Phase::Pulling {
                pull_began = tokio::time::Instant::now();
            }
            let event = match wait {
                // `next` says Done only after an end or a kill, which set `ended`.
                Wait::Done => {
                    if let Some(log) = log.take() {
                        log.finish();
                    }
                    return ended.unwrap_or_else(|| Terminated::killed(false));
                }
                Wait::For(delay) => match or_killed(&mut kill, tokio::time::sleep(delay)).await {
                    Ok(()) => Event::WaitOver,
                    Err(k) => self.killed(k, &mut ended),
                },
                Wait::Exit => {
                    let run = match guest.take() {
                        Some(run) => or_killed(&mut kill, run).await,
                        None => Ok(Err(Error::NotStarted)),
                    };
                    match run {
                        Ok(r) => {
                            if let Some(log) = log.take() {
                                log.finish();
                            }
                            self.exited(pod, r, &mut ended)
                        }
                        // The log ends once the kill is written (below).
                        Err(k) => self.killed(k, &mut ended),
                    }
                }
                // A pod told to stop starts nothing more: not a pull, not a container (a
                // kubelet starts no container for a terminating pod).
                Wait::Now => match (kill_requested(&kill), state.phase) {
                    (Some(k), _) => self.killed(k, &mut ended),
                    // The pull's and the start's futures are boxed: they are large and
                    // short-lived, and a pod's task would otherwise carry their room for
                    // as long as its guest runs (10,000 sleeping pods: 40 MB).
                    (None, Phase::Pulling) => match Box::pin(async {
                        // Said before each pull, as the image manager says it.
                        if c.image_pull_policy.as_deref() == Some("Always") {
                            let image = c.image.as_deref().unwrap_or_default();
                            self.event(
                                pod,
                                "Normal",
                                "Pulling",
                                &format!("Pulling image \"{image}\""),
                            );
                        }
                        self.pull(pod, c).await
                    })
                    .await
                    {
                        Ok(info) => {
                            if let Some(info) = info {
                                self.pulled(pod, c, &info, pull_began.elapsed());
                                image_id = format!(
                                    "{}@sha256:{}",
                                    c.image.as_deref().unwrap_or_default(),
                                    info.digest
                                );
                            }
                            Event::Pulled
                        }
                        Err(message) => {
                            pull_failure = message;
                            Event::PullFailed
                        }
                    },
                    // Starting (`next` asks for Now only when pulling or starting).
                    (None, _) => {
                        match Box::pin(self.prepare_start(pod, c, mounts, &mut kill, &mut writes))
                            .await
                        {
                            Ok((run, attempt)) => {
                                started_at = self.clock.now();
                                log = Some(attempt);
                                guest = Some(run);
                                Event::Started
                            }
                            Err(Start::Killed(k)) => self.killed(k, &mut ended),
                            Err(Start::Config(e)) => {
                                config_failure = e.to_string();
                                Event::ConfigFailed
                            }
                            Err(Start::Failed(e)) => {
                                // This attempt's start, as for one that ran: `startedAt` of a
                                // `ContainerCannotRun` is when it was tried.
                                started_at = self.clock.now();
                                self.exited(pod, Err(e), &mut ended)
                            }
                        }
                    }
                },
            };
            let (s, change, w) = container::next(
                state,
                event,
                on_failure,
                &backoff,
                tokio::time::Instant::now(),
            );
            (state, wait) = (s, w);
            let now = self.clock.now();
            match change {
                StatusChange::None => {}
                StatusChange::ImagePullBackOff { first } => {
                    self.pull_back_off(pod, c, init, first, &pull_failure, &mut writes)
                }
                StatusChange::CreateContainerConfigError => {
                    self.write(&key, &mut writes, |p| {
                        status::container_waiting(
                            p,
                            name,
                            init,
                            "CreateContainerConfigError",
                            &config_failure,
                        )
                    });
                    self.event(
                        pod,
                        "Warning",
                        "Failed",
                        &format!("Error: {config_failure}"),
                    );
                }
                StatusChange::Running { restarts } => {
                    self.write(&key, &mut writes, |p| {
                        status::container_running(p, name, init, restarts, started_at, &image_id)
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
                }
                StatusChange::Terminated { then } => {
                    let Some(t) = ended.as_ref() else { continue };
                    if then == Then::Final {
                        self.write_terminated(&key, &mut writes, name, init, t, started_at, now);
                    } else {
                        self.write(&key, &mut writes, |p| {
                            status::container_terminated(p, name, init, t, started_at, now)
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
                    match then {
                        Then::Final => {}
                        Then::Restart => self.write(&key, &mut writes, |p| {
                            status::container_restarting(p, name, init)
                        }),
                        Then::CrashLoopBackOff(delay) => {
                            self.crash_loop_back_off(pod, name, init, delay, &mut writes)
                        }
                    }
                }
                StatusChange::Killed { running } => {
                    let Some(t) = ended.as_ref() else { continue };
                    if running {
                        self.event(
                            pod,
                            "Normal",
                            "Killing",
                            &format!("Stopping container {name}"),
                        );
                        self.write_terminated(&key, &mut writes, name, init, t, started_at, now);
                    } else if writes.finishes_pod {
                        self.write(&key, &mut writes, |p| status::finish(p, t.by, now));
                    }
                }
            }
        }
    }

    /// The container's end as data: its exit, or (when it could not run) a
    /// `ContainerCannotRun` termination with a `Failed` Event saying why.
    fn exited(
        &self,
        pod: &Pod,
        run: Result<ContainerExit, Error>,
        ended: &mut Option<Terminated>,
    ) -> Event {
        let t = match run {
            Ok(exit) => Terminated::from_exit(&exit),
            Err(e) => {
                let message = e.to_string();
                self.event(pod, "Warning", "Failed", &format!("Error: {message}"));
                Terminated::from_exit(&ContainerExit {
                    exit_code: CANNOT_RUN_EXIT_CODE,
                    reason: runtime::ExitReason::Error,
                    message: Some(message),
                    cpu: Default::default(),
                })
                .cannot_run()
            }
        };
        let failed = t.exit_code != 0;
        *ended = Some(t);
        Event::Exited { failed }
    }

    /// The container's end when its pod is stopped.
    fn killed(&self, k: Kill, ended: &mut Option<Terminated>) -> Event {
        *ended = Some(Terminated::killed(k == Kill::DeadlineExceeded));
        Event::Killed
    }

    /// Everything up to the guest's first instruction: the module resolved, a runtime slot
    /// (waited for, the pod shown as picked up, when every slot is taken), the attempt's
    /// log and the container's spec. The run itself is the returned future.
    async fn prepare_start<'s>(
        &'s self,
        pod: &Pod,
        c: &Container,
        mounts: &HashMap<String, volumes::Volume>,
        kill: &mut watch::Receiver<Option<Kill>>,
        writes: &mut PodWrites,
    ) -> Result<(GuestRun<'s>, Arc<logs::ContainerLog>), Start> {
        let key = podutil::key(pod);
        // The environment first: a missing ConfigMap or Secret keeps the container waiting
        // without taking a runtime slot.
        let resolved = env::resolve(pod, c, &*self.store).map_err(|e| {
            if e.is_config() {
                Start::Config(e)
            } else {
                Start::Failed(e)
            }
        })?;
        for message in &resolved.skipped {
            self.event(pod, "Warning", "InvalidEnvironmentVariableNames", message);
        }
        let image = c
            .image
            .as_deref()
            .ok_or_else(|| Error::NoImage {
                container: c.name.clone(),
            })
            .and_then(|i| (self.resolve)(pod, i).map_err(Error::Image))
            .map_err(Start::Failed)?;
        let reserved = match self.runtime.try_reserve(&image).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                if writes.pending_start.is_some() {
                    self.write(&key, writes, |_| {});
                }
                or_killed(kill, self.runtime.reserve(&image))
                    .await
                    .map_err(Start::Killed)?
                    .map_err(|e| Start::Failed(Error::Runtime(e)))?
            }
            Err(e) => return Err(Start::Failed(Error::Runtime(e))),
        };
        // The attempt (and its log) begins once the guest can start: until then
        // `kubectl logs` says the container is waiting, and a restart waiting for a slot
        // keeps the previous run's output as the current log.
        let attempt =
            self.logs
                .start_attempt(&key, pod.metadata.name.as_deref().unwrap_or(""), &c.name);
        match self.container_spec(c, resolved.env, image, mounts, attempt.clone()) {
            Ok(spec) => {
                let run: GuestRun<'s> =
                    Box::pin(async move { reserved.run(spec).await.map_err(Error::Runtime) });
                Ok((run, attempt))
            }
            Err(e) => {
                attempt.finish();
                Err(Start::Failed(e))
            }
        }
    }

    /// The crash-loop back-off's status (`CrashLoopBackOff` with kubelet's message) and
    /// its `BackOff` Event.
    fn crash_loop_back_off(
        &self,
        pod: &Pod,
        name: &str,
        init: bool,
        delay: Duration,
        writes: &mut PodWrites,
    ) {
        let key = podutil::key(pod);
        let pod_name = pod.metadata.name.as_deref().unwrap_or("");
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        let message = format!(
            "back-off {} restarting failed container={name} pod={pod_name}_{ns}({uid})",
            crate::go::std_duration_string(delay)
        );
        self.write(&key, writes, |p| {
            status::container_crash_loop(p, name, init, &message)
        });
        self.event(
            pod,
            "Warning",
            "BackOff",
            &format!("Back-off restarting failed container {name} in pod {pod_name}_{ns}({uid})"),
        );
    }

    /// The kubelet's image pull, for wasm: the module file must exist and match its pin.
    /// `Err` is the pull's failure message; a module that exists but cannot run (or an
    /// image that does not resolve) fails at start instead, as a broken image does.
    /// `Ok(Some)` is the pulled image (its digest and size).
    async fn pull(&self, pod: &Pod, c: &Container) -> Result<Option<runtime::ImageInfo>, String> {
        let image_name = c.image.as_deref().unwrap_or_default();
        let Ok(image) = (self.resolve)(pod, image_name) else {
            return Ok(None);
        };
        match self.runtime.prepare(&image).await {
            Ok(info) => Ok(Some(info)),
            Err(
                e
                @ (runtime::Error::ImageUnreadable { .. } | runtime::Error::DigestMismatch { .. }),
            ) => Err(format!("Failed to pull image \"{image_name}\": {e}")),
            Err(_) => Ok(None),
        }
    }

    /// A pull's end, as the kubelet's image manager says it: `Pulled` with its time and
    /// size under `imagePullPolicy: Always` (its `Pulling` was said before the pull), else
    /// that the image is already present.
    fn pulled(&self, pod: &Pod, c: &Container, info: &runtime::ImageInfo, took: Duration) {
        let image = c.image.as_deref().unwrap_or_default();
        if c.image_pull_policy.as_deref() == Some("Always") {
            // Upstream truncates both times to milliseconds.
            let took =
                crate::go::std_duration_string(Duration::from_millis(took.as_millis() as u64));
            self.event(
                pod,
                "Normal",
                "Pulled",
                &format!(
                    "Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    info.size
                ),
            );
        } else {
            self.event(
                pod,
                "Normal",
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
            );
        }
    }

    /// A failed pull's status and Events: `ErrImagePull`, then `ImagePullBackOff` (the pod
    /// stays Pending and no retry of the Job is used up).
    fn pull_back_off(
        &self,
        pod: &Pod,
        c: &Container,
        init: bool,
        first: bool,
        message: &str,
        writes: &mut PodWrites,
    ) {
        let key = podutil::key(pod);
        let image_name = c.image.as_deref().unwrap_or_default();
        self.write(&key, writes, |p| {
            status::container_waiting(p, &c.name, init, "ErrImagePull", message)
        });
        // Under `Always` every attempt said `Pulling` already.
        if first && c.image_pull_policy.as_deref() != Some("Always") {
            self.event(
                pod,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image_name}\""),
            );
        }
        self.event(pod, "Warning", "Failed", message);
        self.event(pod, "Warning", "Failed", "Error: ErrImagePull");
        let backoff = format!("Back-off pulling image \"{image_name}\"");
        self.write(&key, writes, |p| {
            status::container_waiting(p, &c.name, init, "ImagePullBackOff", &backoff)
        });
        self.event(pod, "Normal", "BackOff", &backoff);
    }

    fn container_spec(
        &self,
        c: &Container,
        env: Vec<(String, String)>,
        image: ImageRef,
        mounts: &HashMap<String, volumes::Volume>,
        log: Arc<logs::ContainerLog>,
    ) -> Result<ContainerSpec, Error> {
        let args = env::argv(c, &image, &env);
        let mut container_mounts = Vec::new();
        for m in c.volume_mounts.iter().flatten() {
            let volume = mounts.get(&m.name).ok_or_else(|| Error::VolumeNotFound {
                name: m.name.clone(),
            })?;
            container_mounts.push(Mount {
                dir: volumes::mount_dir(volume, m, &c.name, &env)?,
                source: volume.source.clone(),
                guest_path: m.mount_path.clone(),
                read_only: volume.read_only || m.read_only == Some(true),
            });
        }
        let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
        let memory_limit_bytes = match limits.and_then(|l| l.get("memory")) {
            Some(q) => quantity::to_bytes(&q.0).map_err(|cause| Error::Quantity {
                field: "limits.memory",
                cause,
            })?,
            None => self.config.default_memory_limit,
        };
        let cpu_millis = match limits.and_then(|l| l.get("cpu")) {
            Some(q) => Some(quantity::to_millis(&q.0).map_err(|cause| Error::Quantity {
                field: "limits.cpu",
                cause,
            })?),
            None => None,
        };
        // A request defaults to the limit when only the limit is set, as upstream defaults it.
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let cpu_request_millis = match requests.and_then(|r| r.get("cpu")) {
            Some(q) => Some(quantity::to_millis(&q.0).map_err(|cause| Error::Quantity {
                field: "requests.cpu",
                cause,
            })?),
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
    async fn volumes(&self, pod: &Pod) -> Result<HashMap<String, volumes::Volume>, Error> {
        let dir = self.pod_dir(&podutil::key(pod));
        let (pod, policy) = (pod.clone(), self.config.host_paths.clone());
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || volumes::prepare(&pod, &dir, &policy, &*store))
            .await
            .map_err(Error::VolumeTask)?
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
