//! The one `wasmtime::Engine` and its settings, the epoch ticker, and the linkers.
//!
//! Every knob here is a decision about isolation or speed; each carries its reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use super::Error;
use super::descriptors::DescriptorBudget;
use super::image::ModuleCache;
use super::wasi::{P1State, P2State};

/// Operator settings of the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where precompiled modules are kept across restarts (`None`: memory only).
    pub cache_dir: Option<PathBuf>,
    /// How many guests may be instantiated at once; sizes the pooling allocator.
    pub max_instances: u32,
    /// The epoch tick: the longest a guest runs before yielding to other pods, and the
    /// granularity of CPU throttling and kills.
    pub epoch_tick: Duration,
    /// Largest memory limit a container may ask for (pool slot size).
    pub max_memory_bytes: u64,
    /// Open descriptors and other WASI resources all guests may hold together (each at
    /// most [`super::MAX_OPEN_RESOURCES`]): by default half the process's open-files
    /// limit, so that guests can never take what the API and the store need.
    pub guest_descriptors: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_instances: default_max_instances(),
            epoch_tick: Duration::from_millis(10),
            // wasm32 linear memories cannot exceed 4 GiB anyway.
            max_memory_bytes: 4 << 30,
            guest_descriptors: super::descriptors::guest_share_of_this_process(),
        }
    }
}

impl RuntimeConfig {
    /// Sizes the pool for at most `concurrent` guests at once (no more slots than
    /// `max_instances`, no fewer than a useful pool), for callers that know their workload
    /// up front: reserving 10,000 slots costs tens of milliseconds that a one-pod run
    /// should not pay.
    pub fn for_at_most(mut self, concurrent: u64) -> Self {
        let wanted = concurrent.max(u64::from(MIN_POOL_SLOTS));
        self.max_instances = wanted.min(u64::from(self.max_instances)) as u32;
        self
    }
}

/// Most pool slots by default: 10,000 concurrent pods on one node.
const MAX_DEFAULT_INSTANCES: u64 = 10_000;
/// Memory mappings one live instance adds (its linear memory made accessible inside the
/// reserved slot, its table, its fiber stack with a guard page), measured with
/// `wasmjob bench`'s density row on Linux 6.x.
const MAPS_PER_INSTANCE: u64 = 6;
/// Mappings left for everything else the process maps (code, heap, thread stacks).
const MAPS_RESERVED: u64 = 4_096;

/// Pool slots when the operator sets none: 10,000, or fewer where the kernel's mapping
/// limit (`vm.max_map_count`, 65,530 by default) could not hold that many live instances;
/// a guest beyond the limit would fail to instantiate, so it waits for a slot instead.
fn default_max_instances() -> u32 {
    let map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(65_530);
    let by_maps = map_count.saturating_sub(MAPS_RESERVED) / MAPS_PER_INSTANCE;
    by_maps.clamp(MIN_POOL_SLOTS as u64, MAX_DEFAULT_INSTANCES) as u32
}

/// Core instances (and tables) the pool holds per guest, for components made of several.
pub(super) const CORE_INSTANCES_PER_GUEST: u32 = 8;

/// The smallest pool worth having; below it the engine allocates on demand.
const MIN_POOL_SLOTS: u32 = 16;

/// What the engine ended up being, for logs and benchmarks.
#[derive(Clone, Debug)]
pub struct EngineInfo {
    /// Whether the pooling allocator is in use (it falls back to on-demand allocation when
    /// the address-space reservation fails, as on small 32-bit-ish boards).
    pub pooling: bool,
    /// Guests that may run at once.
    pub max_instances: u32,
}

pub(super) struct Shared {
    pub engine: Engine,
    pub config: RuntimeConfig,
    pub pooling: bool,
    pub modules: ModuleCache,
    pub p1_linker: Linker<P1State>,
    pub p2_linker: wasmtime::component::Linker<P2State>,
    /// One permit per pool slot: a container waits here rather than failing to instantiate.
    pub slots: Arc<tokio::sync::Semaphore>,
    /// What all guests' open descriptors are drawn from.
    pub descriptors: Arc<DescriptorBudget>,
    /// Where guests run: worker threads of their own, at a lower priority than the API's
    /// and the controllers', so that spinning guests can slow each other but never the
    /// control plane (as the kubelet and kube-apiserver keep their own cgroup apart from
    /// pods'). `None` only while dropping.
    guests: Option<tokio::runtime::Runtime>,
    stop_ticker: Arc<AtomicBool>,
    /// Set when the guests' runtime is being shut down (see
    /// [`quiet_guest_shutdown_panics`]).
    stopping: Arc<AtomicBool>,
}

impl Shared {
    pub fn new(mut config: RuntimeConfig) -> Result<Self, Error> {
        // The pool reserves every slot's address space up front (4 GiB + guard each). Where
        // that reservation fails (small boards, 39-bit address spaces, RLIMIT_AS), halve
        // the pool until it fits, and below a useful size allocate on demand.
        let mut slots = config.max_instances;
        let (engine, pooling) = loop {
            if slots < MIN_POOL_SLOTS {
                tracing::warn!(
                    "pooling allocator unavailable, using on-demand allocation (slower starts)"
                );
                let engine = Engine::new(&engine_config(&config, None))
                    .map_err(|e| Error::Engine(e.to_string()))?;
                break (engine, false);
            }
            match Engine::new(&engine_config(&config, Some(slots))) {
                Ok(engine) => {
                    if slots < config.max_instances {
                        tracing::warn!(
                            slots,
                            wanted = config.max_instances,
                            "pooling allocator reduced to fit the address space"
                        );
                    }
                    config.max_instances = slots;
                    break (engine, true);
                }
                Err(e) => {
                    tracing::info!(slots, error = %e, "pool reservation failed; halving it");
                    slots /= 2;
                }
            }
        };
        tracing::debug!(pooling, slots = config.max_instances, "wasm engine ready");

        let mut p1_linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1_linker, P1State::for_call)
            .map_err(|e| Error::Engine(e.to_string()))?;
        let mut p2_linker = wasmtime::component::Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut p2_linker)
            .map_err(|e| Error::Engine(e.to_string()))?;

        // The ticker is a plain thread, not a tokio task: when every worker thread is busy
        // running guests, a tokio task could not run to advance the epoch, and the guests
        // would never reach their yield point.
        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            let tick = config.epoch_tick;
            std::thread::Builder::new()
                .name("wasmjob-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| Error::Engine(format!("failed to start the epoch thread: {e}")))?;
        }

        let modules = ModuleCache::new(config.cache_dir.clone(), &engine);
        let config_descriptors = config.guest_descriptors;
        let slots = Arc::new(tokio::sync::Semaphore::new(config.max_instances as usize));
        let stopping = Arc::new(AtomicBool::new(false));
        let guests = guest_runtime(stopping.clone()).map_err(|e| {
            Error::Engine(format!("failed to start the guests' worker threads: {e}"))
        })?;
        Ok(Shared {
            engine,
            config,
            pooling,
            modules,
            p1_linker,
            p2_linker,
            slots,
            descriptors: DescriptorBudget::new(config_descriptors),
            guests: Some(guests),
            stop_ticker,
            stopping,
        })
    }

    /// The handle guests are spawned on.
    pub fn guests(&self) -> &tokio::runtime::Handle {
        self.guests
            .as_ref()
            .expect("only taken when dropped")
            .handle()
    }

    pub fn info(&self) -> EngineInfo {
        EngineInfo {
            pooling: self.pooling,
            max_instances: self.config.max_instances,
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        self.stopping.store(true, Ordering::Relaxed);
        // Without waiting: the last runtime handle may be dropped inside async code.
        if let Some(guests) = self.guests.take() {
            guests.shutdown_background();
        }
    }
}

/// Niceness of the guests' worker threads: the kernel gives a nice-0 thread (the API's,
/// the controllers') about ten times the CPU of a nice-10 one when both want it, and
/// wakes it promptly.
pub const GUEST_NICENESS: i32 = 10;

thread_local! {
    /// On a guest worker thread: whether its runtime is being shut down.
    static GUESTS_STOPPING: std::cell::RefCell<Option<Arc<AtomicBool>>> =
        const { std::cell::RefCell::new(None) };
}

/// Keeps quiet the one panic a shutdown causes: a guest still in a WASI call when its
/// runtime stops finds the call's blocking task cancelled, and wasmtime-wasi's
/// `AbortOnDropJoinHandle` panics ("child task panicked") in a task that is being aborted
/// anyway. Every other panic, and this one outside a shutdown, is printed as before.
fn quiet_guest_shutdown_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let stopping = GUESTS_STOPPING.with(|s| {
                s.borrow()
                    .as_ref()
                    .is_some_and(|f| f.load(Ordering::Relaxed))
            });
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            if stopping && message.is_some_and(|m| m.starts_with("child task panicked")) {
                return;
            }
            previous(info);
        }));
    });
}

/// The guests' runtime: one worker per core (a wasm instance uses one at most), each
/// thread niced to [`GUEST_NICENESS`].
fn guest_runtime(stopping: Arc<AtomicBool>) -> std::io::Result<tokio::runtime::Runtime> {
    quiet_guest_shutdown_panics();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("wasmjob-guest")
        .on_thread_start(move || {
            GUESTS_STOPPING.with(|s| *s.borrow_mut() = Some(stopping.clone()));
            // Per thread on Linux (a thread id is a pid to setpriority). Failing leaves the
            // thread at the default priority, which is still correct, only less fair.
            if let Err(e) =
                rustix::process::setpriority_process(Some(rustix::thread::gettid()), GUEST_NICENESS)
            {
                tracing::debug!(error = %e, "could not lower a guest thread's priority");
            }
        })
        .enable_all()
        .build()
}

/// The engine's settings; `pool` is the pooling allocator's slot count, `None` for
/// on-demand allocation.
fn engine_config(settings: &RuntimeConfig, pool_slots: Option<u32>) -> Config {
    let mut config = Config::new();
    // Epochs, not fuel: a per-tick check costs far less than fuel accounting, and gives us
    // both fair yielding between pods and prompt kills.
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // Guests that recurse without bound trap with "call stack exhausted" instead of
    // growing; 1 MiB is plenty for ordinary programs.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    if let Some(n) = pool_slots {
        let mut pool = PoolingAllocationConfig::new();
        // A guest is one core instance and table when it is a module, but a component holds
        // several (its main module, shims, the preview1 adapter); their pool entries are
        // bookkeeping and address space only, so there are plenty, and the slot semaphore
        // (one permit per guest) is bounded by memories and stacks.
        let per_guest = n.saturating_mul(CORE_INSTANCES_PER_GUEST);
        pool.total_core_instances(per_guest)
            .total_component_instances(n)
            .total_memories(n)
            .total_tables(per_guest)
            .total_stacks(n)
            .max_memory_size(settings.max_memory_bytes as usize)
            // Keeping slots resident (reset with memset, not madvise) avoids a syscall and
            // a TLB shootdown per instance, which otherwise serialise instantiation on the
            // address-space lock so that two workers run no faster than one. With
            // `pagemap_scan` (Linux 6.7+) only the pages a guest touched are reset, so the
            // allowance can be generous: a small Rust guest touches ~100 KiB.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .max_unused_warm_slots(n.min(100));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_workload_sizes_the_pool_within_its_bounds() {
        let config = |max_instances| RuntimeConfig {
            max_instances,
            ..RuntimeConfig::default()
        };
        assert_eq!(config(10_000).for_at_most(1).max_instances, MIN_POOL_SLOTS);
        assert_eq!(config(10_000).for_at_most(500).max_instances, 500);
        assert_eq!(config(10_000).for_at_most(u64::MAX).max_instances, 10_000);
        // An operator's smaller limit (on-demand allocation below a useful pool) stands.
        assert_eq!(config(4).for_at_most(1_000).max_instances, 4);
    }
}
