//! The one `wasmtime::Engine` and its settings, the epoch ticker, and the linkers.
//!
//! Every knob here is a decision about isolation or speed; each carries its reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use super::Error;
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
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_instances: 1000,
            epoch_tick: Duration::from_millis(10),
            // wasm32 linear memories cannot exceed 4 GiB anyway.
            max_memory_bytes: 4 << 30,
        }
    }
}

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
    pub slots: tokio::sync::Semaphore,
    stop_ticker: Arc<AtomicBool>,
}

impl Shared {
    pub fn new(config: RuntimeConfig) -> Result<Self, Error> {
        let (engine, pooling) = match Engine::new(&engine_config(&config, true)) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable, using on-demand allocation");
                let engine = Engine::new(&engine_config(&config, false))
                    .map_err(|e| Error::Engine(e.to_string()))?;
                (engine, false)
            }
        };

        let mut p1_linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1_linker, |s: &mut P1State| &mut s.wasi)
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
        let slots = tokio::sync::Semaphore::new(config.max_instances as usize);
        Ok(Shared {
            engine,
            config,
            pooling,
            modules,
            p1_linker,
            p2_linker,
            slots,
            stop_ticker,
        })
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
    }
}

fn engine_config(settings: &RuntimeConfig, pooling: bool) -> Config {
    let mut config = Config::new();
    // Epochs, not fuel: a per-tick check costs far less than fuel accounting, and gives us
    // both fair yielding between pods and prompt kills.
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // Guests that recurse without bound trap with "call stack exhausted" instead of
    // growing; 1 MiB is plenty for ordinary programs.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        let n = settings.max_instances;
        pool.total_core_instances(n)
            .total_component_instances(n)
            .total_memories(n)
            .total_tables(n)
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
