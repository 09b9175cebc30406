//! `wasmjob serve`: a one-node Kubernetes for wasm Jobs in one process: the API server, the
//! durable store, the Job/TTL controllers and garbage collector, and the kubelet.
//!
//! Start-up order matters for exactness after a crash: the store is loaded, pods that were
//! running when the previous process died are marked Failed with a `DisruptionTarget`
//! condition (as Kubernetes marks the pods of a lost node), and only then do the
//! controllers start, so the Job controller counts each such pod exactly once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use tokio::net::TcpListener;

use crate::api::admit::{self, Policy};
use crate::api::host_path::HostPathPolicy;
use crate::api::pod as podutil;
use crate::clock::Clock;
use crate::controller::{self, job::Settings};
use crate::kubelet::admission::NodeCapacity;
use crate::kubelet::{
    ImageResolver, Kubelet, KubeletConfig, LogStore, logs::DEFAULT_LOG_CAP, real_path_or_given,
};
use crate::runtime::{self, Runtime, RuntimeConfig, parse_image_ref};
use crate::server::{self, ApiState, kubeconfig, tls};
use crate::store::{self, Store, backend::Redb};

/// Options of `wasmjob serve`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Store, credentials, logs, volumes and module cache.
    pub data_dir: PathBuf,
    /// Where image names resolve.
    pub image_dir: PathBuf,
    /// Plain HTTP without authentication (loopback development only).
    pub insecure_http: bool,
    /// Controller settings (back-off).
    pub settings: Settings,
    /// Kubelet crash-loop back-off base.
    pub container_backoff_base: Duration,
    /// Kubelet crash-loop back-off cap.
    pub container_backoff_max: Duration,
    /// Memory limit of containers that set none.
    pub default_memory_limit: u64,
    /// `limits.ephemeral-storage` of containers that set none (`None`: unbounded).
    pub default_ephemeral_storage: Option<u64>,
    /// Directories under which `hostPath` volumes are allowed (`--allow-host-path`; empty:
    /// none). The data directory is never mountable, whatever this says.
    pub allow_host_path: Vec<PathBuf>,
    /// Pods the node holds at once (`--max-pods`; `None`: one per pool slot).
    pub max_pods: Option<usize>,
    /// Connection timeouts and caps.
    pub connections: server::connections::Limits,
}

/// Why the server could not start. Messages name the path or address.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another server holds the data directory.
    #[error("another wasmjob serve is already using the data directory {0}")]
    Locked(PathBuf),
    /// The controllers' and the kubelet's threads could not be started.
    #[error("failed to start the control plane's threads: {0}")]
    Threads(std::io::Error),
    /// A file or directory could not be used.
    #[error("{path}: {cause}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Cause.
        cause: std::io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Credentials.
    #[error(transparent)]
    Tls(#[from] tls::Error),
    /// The wasm engine.
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    /// Plain HTTP without authentication on an address others can reach.
    #[error(
        "--insecure-http serves without authentication, so it listens on loopback only; {0} is not a loopback address"
    )]
    InsecureNotLoopback(SocketAddr),
    /// The listener.
    #[error("failed to listen on {addr}: {cause}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        cause: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// Writes the kubeconfig at `path` where it is missing or no longer reaches this server,
/// keeping what the user changed in it (see [`kubeconfig::update`]).
fn write_kubeconfig(path: &Path, access: kubeconfig::Access<'_>) -> Result<(), Error> {
    use std::io::Write;
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        // Not UTF-8: not a kubeconfig kubectl reads; kept aside below.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Some(String::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let text = match kubeconfig::update(existing.as_deref(), access) {
        kubeconfig::Update::Keep => return Ok(()),
        kubeconfig::Update::Write(text) => text,
        kubeconfig::Update::Replace(text) => {
            let aside = path.with_extension("bak");
            std::fs::rename(path, &aside).map_err(io(&aside))?;
            text
        }
    };
    // It carries the admin token; written beside and renamed, so a crash never leaves half
    // a kubeconfig.
    let tmp = path.with_extension("tmp");
    let mut f = crate::private_fs::create_file(&tmp).map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    crate::private_fs::restrict(&tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// A running server, for tests and `main`.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The kubeconfig file written for it.
    pub kubeconfig: PathBuf,
    /// The store (tests inspect it).
    pub store: Arc<Store>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where the controllers and the kubelet run (stopped after `tasks`).
    control: ControlPlane,
    _lock: std::fs::File,
}

/// The controllers' and the kubelet's own runtimes. On a cluster they are other processes
/// than kube-apiserver and each other; here each gets its own threads, so a flood of API
/// requests queues on the API's workers, a thousand pods' work on the kubelet's, and a
/// pod's start (the Job controller's sync, the kubelet's writes) waits only for the OS
/// to give its thread a core.
struct ControlPlane {
    controllers: Option<tokio::runtime::Runtime>,
    kubelet: Option<tokio::runtime::Runtime>,
}

impl ControlPlane {
    fn start() -> Result<Self, Error> {
        let runtime = |workers: usize, name: &str| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name(name)
                .enable_all()
                .build()
                .map_err(Error::Threads)
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(ControlPlane {
            // The controllers' loop is one task: one worker, plus its blocking pool.
            controllers: Some(runtime(1, "wasmjob-controllers")?),
            kubelet: Some(runtime(cores, "wasmjob-kubelet")?),
        })
    }

    /// Stops both runtimes and waits (a few seconds at most) until their tasks are gone.
    async fn stop(&mut self) {
        let runtimes: Vec<_> = [self.controllers.take(), self.kubelet.take()]
            .into_iter()
            .flatten()
            .collect();
        // Waiting blocks, so not on an async worker.
        let _ = tokio::task::spawn_blocking(move || {
            for rt in runtimes {
                rt.shutdown_timeout(Duration::from_secs(5));
            }
        })
        .await;
    }

    fn controllers(&self) -> &tokio::runtime::Handle {
        self.controllers
            .as_ref()
            .expect("only taken when dropped")
            .handle()
    }

    fn kubelet(&self) -> &tokio::runtime::Handle {
        self.kubelet
            .as_ref()
            .expect("only taken when dropped")
            .handle()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Without waiting: `Running` is dropped inside async code. The pods' tasks are
        // dropped with it, which kills their guests.
        for rt in [self.controllers.take(), self.kubelet.take()]
            .into_iter()
            .flatten()
        {
            rt.shutdown_background();
        }
    }
}

impl Running {
    /// Stops serving, waits for the tasks, and makes every write durable.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // The pods' tasks go too (their guests are killed), and nothing writes after the
        // flush below: whoever reads the data directory next sees it as it stays.
        self.control.stop().await;
        // The kubelet's Events still queued are written before the last flush.
        let _ = tokio::task::spawn_blocking(crate::events::flush_queued).await;
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "stopped with writes that are not durable");
        }
    }
}

/// Starts everything and returns once the API is listening.
pub async fn start(options: Options) -> Result<Running, Error> {
    if options.insecure_http && !options.listen.ip().is_loopback() {
        return Err(Error::InsecureNotLoopback(options.listen));
    }
    let data = &options.data_dir;
    crate::private_fs::ensure_dir(data).map_err(io(data))?;
    let lock_path = data.join("lock");
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    if lock.try_lock().is_err() {
        return Err(Error::Locked(data.clone()));
    }
    let store_path = data.join("store.redb");
    let store = Arc::new(Store::open(Box::new(
        Redb::open(&store_path).map_err(store::Error::from)?,
    ))?);
    crate::private_fs::restrict(&store_path).map_err(io(&store_path))?;
    let clock = Clock::new();
    ensure_namespaces(&store, clock);
    recover_pods(&store, clock);

    let mut allowed = Vec::new();
    for dir in &options.allow_host_path {
        if !dir.is_absolute() {
            return Err(Error::Io {
                path: dir.clone(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "--allow-host-path needs absolute directories",
                ),
            });
        }
        allowed.push(real_path_or_given(dir));
    }
    let host_paths = HostPathPolicy::only_under(allowed, vec![real_path_or_given(data)]);
    let logs = Arc::new(LogStore::persistent(DEFAULT_LOG_CAP, data.join("logs")).with_clock(clock));
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(data.join("modules")),
        ..RuntimeConfig::default()
    })?;
    let max_pods = options
        .max_pods
        .unwrap_or(runtime.info().max_instances as usize);
    let image_dir = std::fs::canonicalize(&options.image_dir).map_err(io(&options.image_dir))?;
    let resolve_dir = image_dir.clone();
    let resolve: ImageResolver =
        Arc::new(move |_pod: &Pod, image: &str| parse_image_ref(image, &resolve_dir));
    let check_dir = image_dir.clone();
    let admission = Policy {
        host_paths: host_paths.clone(),
        images: Some(Arc::new(move |image: &str| {
            parse_image_ref(image, &check_dir).map(|_| ())
        })),
        bind_to: Some(crate::api::meta::NODE_NAME.into()),
    };
    let kubelet = Kubelet::new(
        store.clone(),
        runtime,
        logs.clone(),
        KubeletConfig {
            backoff_base: options.container_backoff_base,
            backoff_max: options.container_backoff_max,
            volumes_dir: data.join("volumes"),
            default_memory_limit: options.default_memory_limit,
            host_paths: host_paths.clone(),
            node: NodeCapacity::of_this_machine(max_pods),
            default_ephemeral_storage: options.default_ephemeral_storage,
            storage_check_interval: crate::kubelet::STORAGE_CHECK_INTERVAL,
        },
        resolve,
        clock,
    );

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: options.listen,
            cause: source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: options.listen,
        cause: source,
    })?;
    let url = format!(
        "{}://{addr}",
        if options.insecure_http {
            "http"
        } else {
            "https"
        }
    );
    let creds = if options.insecure_http {
        None
    } else {
        Some(tls::load_or_create(&data.join("pki"))?)
    };
    let tls_config = creds.as_ref().map(tls::server_config).transpose()?;
    let token = creds.as_ref().map(|c| c.token.clone());
    let kubeconfig = data.join("kubeconfig");
    write_kubeconfig(
        &kubeconfig,
        kubeconfig::Access {
            server: &url,
            ca_pem: creds.as_ref().map(|c| c.ca_pem.as_str()),
            token: token.as_deref(),
        },
    )?;

    ensure_kubernetes_service(&store, clock, addr.port());

    let state = Arc::new(ApiState {
        store: store.clone(),
        logs: logs.clone(),
        clock,
        admission: admission.clone(),
        token,
    });
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let control = ControlPlane::start()?;
    kubelet.run_pods_on(control.kubelet().clone());
    let mut tasks = Vec::new();
    tasks.push(control.controllers().spawn(controller::run_forever(
        controller::Context::new(store.clone(), Arc::new(admission), clock),
        options.settings,
        shutdown_rx.clone(),
    )));
    // The kubelet finds its pods (and forgets deleted ones' logs and volumes) from the
    // store's record of written keys, not a lossy feed: a burst of deletions larger than
    // a feed's buffer must not leave volumes and logs behind.
    tasks.push(
        control
            .kubelet()
            .spawn(kubelet.clone().run(shutdown_rx.clone())),
    );
    let mut rx = shutdown_rx.clone();
    tasks.push(tokio::spawn(server::run(
        listener,
        tls_config,
        server::router(state),
        options.connections.clone(),
        async move {
            let _ = rx.wait_for(|s| *s).await;
        },
    )));
    Ok(Running {
        addr,
        kubeconfig,
        store,
        shutdown,
        tasks,
        control,
        _lock: lock,
    })
}

/// `default` and `kube-system` exist from the start, as on a real cluster.
fn ensure_namespaces(store: &Store, clock: Clock) {
    // Namespaces stored before the namespace lifecycle had no `kubernetes` finalizer: a
    // delete would drop them at once and leave their content behind.
    for ns in store.list_shared::<Namespace>(None).0 {
        let unheld = ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_none();
        if unheld && ns.metadata.deletion_timestamp.is_none() {
            let key = format!("/{}", ns.metadata.name.as_deref().unwrap_or(""));
            store.modify::<Namespace>(&key, |n| {
                n.spec.get_or_insert_with(Default::default).finalizers =
                    Some(vec![crate::api::meta::NAMESPACE_FINALIZER.into()]);
            });
        }
    }
    for name in ["default", "kube-system"] {
        if store.get::<Namespace>(&format!("/{name}")).is_none() {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match admit::create(ns, &Policy::default(), clock.now()) {
                Ok(ns) => {
                    if let Err(e) = store.create(ns) {
                        tracing::warn!(namespace = name, error = %e, "could not create a namespace");
                    }
                }
                Err(e) => tracing::warn!(namespace = name, error = %e, "a namespace was refused"),
            }
        }
    }
}

/// The `kubernetes` Service in `default`, as kube-apiserver keeps it: `10.96.0.1`, port
/// 443 (`https`) to the API's own port, no selector. Updated when the port changed.
fn ensure_kubernetes_service(store: &Store, clock: Clock, port: u16) {
    use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let key = "default/kubernetes";
    let target = Some(IntOrString::Int(i32::from(port)));
    if store.get_shared::<Service>(key).is_some() {
        store.modify::<Service>(key, |s| {
            for p in s.spec.iter_mut().flat_map(|s| s.ports.iter_mut().flatten()) {
                p.target_port = target.clone();
            }
        });
        return;
    }
    let ip = server::cluster_ip::KUBERNETES.to_string();
    let svc = Service {
        metadata: ObjectMeta {
            name: Some("kubernetes".into()),
            namespace: Some("default".into()),
            labels: Some(
                [
                    ("component".to_string(), "apiserver".to_string()),
                    ("provider".to_string(), "kubernetes".to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(ip.clone()),
            cluster_ips: Some(vec![ip]),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: target,
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    };
    match admit::create(svc, &Policy::default(), clock.now()) {
        Ok(svc) => {
            if let Err(e) = store.create(svc) {
                tracing::warn!(error = %e, "could not create the kubernetes Service");
            }
        }
        Err(e) => tracing::warn!(error = %e, "the kubernetes Service was refused"),
    }
}

/// Pods that were Pending or Running when the previous process died cannot be resumed:
/// they end Failed with a `DisruptionTarget` condition, like the pods of a lost node, and
/// their Jobs replace them under their own policy.
fn recover_pods(store: &Store, clock: Clock) {
    let now = clock.now();
    for pod in store.pods() {
        if podutil::is_terminal(&pod) {
            continue;
        }
        let key = podutil::key(&pod);
        store.update_pod(&key, |p| {
            let s = p.status.get_or_insert_with(Default::default);
            s.phase = Some("Failed".into());
            let conditions = s.conditions.get_or_insert_with(Vec::new);
            conditions.retain(|c| c.type_ != "DisruptionTarget");
            conditions.push(PodCondition {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
                reason: Some("DeletionByPodGC".into()),
                message: Some("PodGC: the node restarted while the pod was running".into()),
                last_transition_time: Some(Time(now)),
                ..Default::default()
            });
            for c in s.conditions.iter_mut().flatten() {
                if matches!(c.type_.as_str(), "Ready" | "ContainersReady") && c.status == "True" {
                    c.status = "False".into();
                    c.reason = Some("PodFailed".into());
                    c.last_transition_time = Some(Time(now));
                }
            }
            for c in s.container_statuses.iter_mut().flatten() {
                let done = c.state.as_ref().is_some_and(|st| st.terminated.is_some());
                if !done {
                    c.state = Some(k8s_openapi::api::core::v1::ContainerState {
                        terminated: Some(k8s_openapi::api::core::v1::ContainerStateTerminated {
                            exit_code: 137,
                            reason: Some("ContainerStatusUnknown".into()),
                            message: Some(
                                "The container could not be located when the pod was terminated"
                                    .into(),
                            ),
                            finished_at: Some(Time(now)),
                            started_at: c
                                .state
                                .as_ref()
                                .and_then(|st| st.running.as_ref())
                                .and_then(|r| r.started_at.clone()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                    c.ready = false;
                }
            }
        });
    }
}
