//! The raw baseline of `wasmjob bench`: wasmtime driven directly, with the same engine and
//! precompiled module as pods use, but none of our machinery (no store, controller,
//! kubelet, limits or epoch policy). Pods are measured against it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime_wasi::WasiCtxBuilder;

use super::image::{self, Compiled};
use super::wasi::P1State;
use super::{Error, ImageRef, Runtime};

impl Runtime {
    /// Instantiates and runs `image` (a WASI preview1 module) with `args` `n` times on
    /// `workers` concurrent tokio tasks: store + WASI context + instantiate + `_start`.
    /// Returns the wall time.
    pub async fn raw_baseline(
        &self,
        image: &ImageRef,
        args: &[&str],
        n: usize,
        workers: usize,
    ) -> Result<Duration, Error> {
        let Compiled::Core(pre) = image::load(&self.inner, image).await? else {
            return Err(Error::InvalidModule {
                path: image.path.clone(),
                message: "the raw baseline takes a core module".into(),
            });
        };
        let workers = workers.max(1);
        let argv: Arc<[String]> = std::iter::once("guest")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..workers {
            let pre = pre.clone();
            let engine = self.inner.engine.clone();
            let argv = argv.clone();
            let count = n / workers + usize::from(w < n % workers);
            tasks.spawn(async move {
                for _ in 0..count {
                    let mut b = WasiCtxBuilder::new();
                    b.args(&argv);
                    let state = P1State::bare(b.build_p1());
                    let mut store = Store::new(&engine, state);
                    // Epoch interruption is on in the engine: give the guest an unbounded
                    // deadline rather than our per-tick policy.
                    store.set_epoch_deadline(u64::MAX / 2);
                    let Ok(instance) = pre.instantiate_async(&mut store).await else {
                        continue;
                    };
                    if let Ok(start) = instance.get_typed_func::<(), ()>(&mut store, "_start") {
                        let _ = start.call_async(&mut store, ()).await;
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(started.elapsed())
    }

    /// Starts `n` instances of `image` with `args` at once, as raw wasmtime would hold them
    /// (no store, controller or kubelet), for the density baseline. `started` counts the
    /// instances that reached `_start`; the returned tasks end with the guests.
    pub async fn raw_instances(
        &self,
        image: &ImageRef,
        args: &[String],
        n: usize,
        started: Arc<AtomicUsize>,
    ) -> Result<tokio::task::JoinSet<()>, Error> {
        let Compiled::Core(pre) = image::load(&self.inner, image).await? else {
            return Err(Error::InvalidModule {
                path: image.path.clone(),
                message: "the raw baseline takes a core module".into(),
            });
        };
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let pre = pre.clone();
            let engine = self.inner.engine.clone();
            let args = args.to_vec();
            let started = started.clone();
            tasks.spawn(async move {
                let mut b = WasiCtxBuilder::new();
                b.args(&args);
                let mut store = Store::new(&engine, P1State::bare(b.build_p1()));
                store.set_epoch_deadline(1);
                // Yield to the scheduler at every tick, as pods do, so that sleeping and
                // running guests share the workers.
                store.epoch_deadline_async_yield_and_update(1);
                let Ok(instance) = pre.instantiate_async(&mut store).await else {
                    return;
                };
                if let Ok(start) = instance.get_typed_func::<(), ()>(&mut store, "_start") {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = start.call_async(&mut store, ()).await;
                }
            });
        }
        Ok(tasks)
    }
}
