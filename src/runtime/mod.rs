//! The wasm container runtime: the only module that imports wasmtime.
//!
//! The rest of the crate sees [`ContainerSpec`] in, [`ContainerExit`] out. A guest's exit,
//! trap, memory-limit kill or CPU throttling is data ([`ContainerExit`]); `Err(Error)` is kept
//! for host failures (a missing or corrupt module, a volume that cannot be opened), which the
//! kubelet turns into Kubernetes reasons on the Pod.
//!
//! Killing a container (deadline, deletion) is done by dropping the future returned by
//! [`Runtime::run`]: every guest yields to tokio at least once per epoch tick, so a drop takes
//! effect within one tick even for a guest in an infinite loop.

mod bench;
mod descriptors;
mod engine;
mod exit;
mod image;
mod limits;
mod wasi;

use std::path::PathBuf;
use std::sync::Arc;

use image::Compiled;

pub use descriptors::{MAX_OPEN_RESOURCES, guest_share};
pub use engine::{EngineInfo, RuntimeConfig};
pub use exit::{ContainerExit, CpuStat, ExitReason, TRAP_EXIT_CODE};
pub use image::{ImageInfo, ImageRef, parse_image_ref};
pub use limits::{MAX_TICKS_PER_TURN, ticks_per_turn};

/// Where a guest's stdout and stderr go. The kubelet's container log implements it; the
/// runtime never interprets guest output.
pub trait OutputSink: Send + Sync + 'static {
    /// Appends bytes the guest wrote. Must not block for long: it runs on the guest's thread.
    fn write(&self, bytes: &[u8]);
}

/// One directory made visible to the guest (a Pod volume mounted into the container).
///
/// The directory is an open handle, not a path: the kubelet resolved it (its `subPath`
/// included) inside the volume without following symlinks out, and the runtime hands that
/// very directory to the guest, so nothing a guest planted can redirect it.
#[derive(Clone, Debug)]
pub struct Mount {
    /// The directory backing the volume.
    pub dir: Arc<cap_std::fs::Dir>,
    /// Where it came from on the host, for messages only.
    pub source: PathBuf,
    /// Absolute path at which the guest sees it.
    pub guest_path: String,
    /// `volumeMounts[].readOnly` (or a read-only volume source).
    pub read_only: bool,
}

/// Everything needed to run one container once. Built by the kubelet from the Pod.
#[derive(Clone)]
pub struct ContainerSpec {
    /// The module to run, already resolved to a file.
    pub image: ImageRef,
    /// argv, argv\[0\] included.
    pub args: Vec<String>,
    /// Environment, in order; later duplicates win as in Kubernetes.
    pub env: Vec<(String, String)>,
    /// Preopened directories; nothing else of the host file system is reachable.
    pub mounts: Vec<Mount>,
    /// `workingDir`, which must lie inside one of the mounts to be usable by the guest; it
    /// is opened inside that mount's directory, never by a host path.
    pub working_dir: Option<String>,
    /// Upper bound of the guest's linear memories (and tables), in bytes.
    pub memory_limit_bytes: u64,
    /// `resources.limits.cpu` in millicores; `None` means unthrottled (one core at most,
    /// since a wasm instance is single-threaded).
    pub cpu_millis: Option<u64>,
    /// `resources.requests.cpu` in millicores: the container's weight when guests compete
    /// for the CPU, as cpu.shares weighs cgroups (see [`ticks_per_turn`]).
    pub cpu_request_millis: Option<u64>,
    /// Receives the guest's stdout and stderr, interleaved like a container log.
    pub output: Arc<dyn OutputSink>,
}

/// Host failures: the guest did not get to run. Messages name the image or path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image reference names no readable file.
    #[error("failed to read image {path}: {cause}")]
    ImageUnreadable {
        /// The resolved file.
        path: PathBuf,
        /// Why it could not be read.
        cause: std::io::Error,
    },
    /// The file's digest differs from the `@sha256:` pin.
    #[error("image {path} has digest sha256:{actual}, but sha256:{expected} was requested")]
    DigestMismatch {
        /// The resolved file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The digest of the file on disk.
        actual: String,
    },
    /// The file is not a valid WebAssembly module or component.
    #[error("image {path} is not a valid WebAssembly module: {message}")]
    InvalidModule {
        /// The resolved file.
        path: PathBuf,
        /// wasmtime's explanation.
        message: String,
    },
    /// The module imports something we do not provide (sockets, other WASI versions...).
    #[error("image {path} cannot be instantiated: {message}")]
    Instantiate {
        /// The resolved file.
        path: PathBuf,
        /// wasmtime's explanation.
        message: String,
    },
    /// A volume directory could not be opened.
    #[error("failed to mount {host} at {guest}: {message}")]
    Mount {
        /// Host directory.
        host: PathBuf,
        /// Guest path.
        guest: String,
        /// Why.
        message: String,
    },
    /// The engine could not be created.
    #[error("failed to create the wasm engine: {0}")]
    Engine(String),
}

/// The shared wasm runtime: one engine, one compiled-module cache, one epoch ticker.
/// Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<engine::Shared>,
}

impl Runtime {
    /// Creates the engine (pooling allocator when the address space allows it) and starts
    /// the epoch ticker thread.
    pub fn new(config: RuntimeConfig) -> Result<Self, Error> {
        Ok(Runtime {
            inner: Arc::new(engine::Shared::new(config)?),
        })
    }

    /// Facts about the engine, for logs and benchmarks.
    pub fn info(&self) -> EngineInfo {
        self.inner.info()
    }

    /// Compiles (or loads from cache) the module without running it, so that invalid input
    /// is reported before anything starts.
    pub async fn prepare(&self, image: &ImageRef) -> Result<ImageInfo, Error> {
        image::load_identified(&self.inner, image)
            .await
            .map(|(_, info)| info)
    }

    /// Runs one container to its end. Dropping the future kills the guest.
    pub async fn run(&self, spec: ContainerSpec) -> Result<ContainerExit, Error> {
        self.reserve(&spec.image).await?.run(spec).await
    }

    /// Loads `image` and waits for a free pool slot, so a caller can report the container
    /// as started only once it really can start. Dropping the result frees the slot.
    pub async fn reserve(&self, image: &ImageRef) -> Result<Reserved<'_>, Error> {
        let compiled = image::load(&self.inner, image).await?;
        let slot = self
            .inner
            .slots
            .clone()
            .acquire_many_owned(self.slots_for(&compiled))
            .await
            .expect("the slot semaphore is never closed");
        Ok(Reserved {
            runtime: self,
            compiled,
            slot,
        })
    }

    /// [`Runtime::reserve`] without waiting: `None` when every slot is taken.
    pub async fn try_reserve(&self, image: &ImageRef) -> Result<Option<Reserved<'_>>, Error> {
        let compiled = image::load(&self.inner, image).await?;
        let slots = self.slots_for(&compiled);
        Ok(self
            .inner
            .slots
            .clone()
            .try_acquire_many_owned(slots)
            .ok()
            .map(|slot| Reserved {
                runtime: self,
                compiled,
                slot,
            }))
    }

    /// Permits a guest of `compiled` holds: its slots, never more than the pool has (a
    /// guest needing more would otherwise wait forever; with the whole pool it either fits
    /// or fails to instantiate with wasmtime's message).
    fn slots_for(&self, compiled: &Compiled) -> u32 {
        compiled.slots().min(self.inner.config.max_instances).max(1)
    }
}

/// A container about to start: its module loaded and a pool slot held for it.
pub struct Reserved<'a> {
    runtime: &'a Runtime,
    compiled: Compiled,
    slot: tokio::sync::OwnedSemaphorePermit,
}

impl Reserved<'_> {
    /// Runs the container to its end in the reserved slot, on the guests' own worker
    /// threads. Dropping the future kills the guest (at its next epoch tick, when it also
    /// gives its pool slot back).
    pub async fn run(self, spec: ContainerSpec) -> Result<ContainerExit, Error> {
        let engine = self.runtime.inner.engine.clone();
        let descriptors = self.runtime.inner.descriptors.clone();
        let tick = self.runtime.inner.config.epoch_tick;
        let Reserved { compiled, slot, .. } = self;
        let task = self.runtime.inner.guests().spawn(async move {
            let _slot = slot;
            wasi::run(&engine, &descriptors, &compiled, spec, tick).await
        });
        let mut task = AbortOnDrop(task);
        match (&mut task.0).await {
            Ok(exit) => exit,
            Err(e) if e.is_panic() => Err(Error::Engine(format!("a guest's task panicked: {e}"))),
            Err(_) => Err(Error::Engine("the guests' runtime is shutting down".into())),
        }
    }
}

/// Aborts a guest's task when whoever awaits it goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
