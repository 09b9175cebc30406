//! One container run: the WASI context built from a [`ContainerSpec`], the store with its
//! limits and epoch policy, and the call of `_start` (core modules) or `wasi:cli/run`
//! (components).

use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{FsPerms, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::descriptors::{DescriptorBudget, DescriptorGrant};
use super::exit::{ContainerExit, CpuStat, Files, classify};
use super::image::Compiled;
use super::limits::{MemoryLimiter, throttle_pause, ticks_per_turn};
use super::{ContainerSpec, Error, Mount, OutputSink};

/// Store data for a WASI preview1 core module.
pub(crate) struct P1State {
    pub wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
    /// The table's share of the node's descriptors (`None`: unbounded, the baseline).
    files: Option<DescriptorGrant>,
}

impl P1State {
    /// A state without our limits (the raw benchmark baseline).
    pub(crate) fn bare(wasi: WasiP1Ctx) -> Self {
        P1State {
            wasi,
            limiter: MemoryLimiter::new(u64::MAX),
            files: None,
        }
    }
}

/// Store data for a WASI preview2 component.
pub(crate) struct P2State {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    files: Option<DescriptorGrant>,
}

/// A store's resource table and its grant, rebalanced before every WASI call.
pub(crate) trait Descriptors {
    fn table_and_grant(&mut self) -> (&mut ResourceTable, Option<&mut DescriptorGrant>);

    /// Grows the grant if the table is running out of headroom (see `descriptors`).
    fn rebalance(&mut self) {
        let (table, grant) = self.table_and_grant();
        // At the container's own limit nothing can grow: no need to count (the count is
        // O(entries), and only a guest below the limit pays it).
        if let Some(grant) = grant.filter(|g| g.capacity() < super::MAX_OPEN_RESOURCES) {
            let occupied = table.iter_mut().count();
            let capacity = grant.rebalance(occupied);
            table.set_max_capacity(capacity);
        }
    }

    /// What bounded the table, for the exit's message.
    fn files(&mut self) -> Files {
        match self.table_and_grant().1 {
            Some(g) => Files {
                capacity: g.capacity(),
                node_total: g.budget().total(),
                node_short: g.was_short(),
            },
            None => Files::default(),
        }
    }
}

impl Descriptors for P1State {
    fn table_and_grant(&mut self) -> (&mut ResourceTable, Option<&mut DescriptorGrant>) {
        (self.wasi.ctx().table, self.files.as_mut())
    }
}

impl P1State {
    /// The WASI context for one preview1 call (the linker's projection, which wasmtime-wasi
    /// runs before each call): first the descriptor grant is topped up.
    pub(crate) fn for_call(&mut self) -> &mut WasiP1Ctx {
        self.rebalance();
        &mut self.wasi
    }
}

impl Descriptors for P2State {
    fn table_and_grant(&mut self) -> (&mut ResourceTable, Option<&mut DescriptorGrant>) {
        (&mut self.table, self.files.as_mut())
    }
}

impl WasiView for P2State {
    /// Runs before each WASI call a component makes: first the descriptor grant is topped
    /// up.
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.rebalance();
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

pub(super) async fn run(
    engine: &wasmtime::Engine,
    descriptors: &Arc<DescriptorBudget>,
    compiled: &Compiled,
    spec: ContainerSpec,
    epoch_tick: std::time::Duration,
) -> Result<ContainerExit, Error> {
    let mut builder = wasi_builder(&spec)?;
    let limiter = MemoryLimiter::new(spec.memory_limit_bytes);
    let path = spec.image.path.clone();
    let cpu = Arc::new(Mutex::new(Accounting {
        resumed: Instant::now(),
        stat: CpuStat::default(),
    }));
    let with_cpu = |mut exit: ContainerExit| {
        exit.cpu = cpu.lock().expect("poisoned").stat;
        exit
    };
    let instantiate_error = |e: wasmtime::Error| Error::Instantiate {
        path: path.clone(),
        message: format!("{e:#}"),
    };
    match compiled {
        Compiled::Core(pre) => {
            let mut wasi = builder.build_p1();
            let table = wasi.ctx().table;
            let grant = descriptors.grant(initial_entries(&spec));
            table.set_max_capacity(grant.capacity());
            let state = P1State {
                wasi,
                limiter,
                files: Some(grant),
            };
            let mut store = Store::new(engine, state);
            store.limiter(|s| &mut s.limiter);
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(epoch_policy(
                spec.cpu_millis,
                spec.cpu_request_millis,
                epoch_tick,
                cpu.clone(),
            ));
            let instance = match pre.instantiate_async(&mut store).await {
                Ok(i) => i,
                // An initial memory above the limit is refused at instantiation: that is
                // the guest's memory demand, not a host failure.
                Err(e) if store.data().limiter.denied => {
                    return Ok(with_cpu(classify(Err(e), true, store.data_mut().files())));
                }
                Err(e) => return Err(instantiate_error(e)),
            };
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(instantiate_error)?;
            let result = start.call_async(&mut store, ()).await;
            let files = store.data_mut().files();
            Ok(with_cpu(classify(
                result,
                store.data().limiter.denied,
                files,
            )))
        }
        Compiled::Component(pre, _) => {
            let mut table = ResourceTable::new();
            let ctx = builder.build();
            let grant = descriptors.grant(initial_entries(&spec));
            table.set_max_capacity(grant.capacity());
            let state = P2State {
                ctx,
                table,
                limiter,
                files: Some(grant),
            };
            let mut store = Store::new(engine, state);
            store.limiter(|s| &mut s.limiter);
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(epoch_policy(
                spec.cpu_millis,
                spec.cpu_request_millis,
                epoch_tick,
                cpu.clone(),
            ));
            let command = match pre.instantiate_async(&mut store).await {
                Ok(c) => c,
                Err(e) if store.data().limiter.denied => {
                    return Ok(with_cpu(classify(Err(e), true, store.data_mut().files())));
                }
                Err(e) => return Err(instantiate_error(e)),
            };
            let result = match command.wasi_cli_run().call_run(&mut store).await {
                Ok(Ok(())) => Ok(()),
                // `wasi:cli/run` returning `err` is how a component says "exit 1".
                Ok(Err(())) => Err(wasmtime::Error::new(wasmtime_wasi::I32Exit(1))),
                Err(e) => Err(e),
            };
            let files = store.data_mut().files();
            Ok(with_cpu(classify(
                result,
                store.data().limiter.denied,
                files,
            )))
        }
    }
}

type DeadlineCallback<T> = Box<
    dyn FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline> + Send + Sync,
>;

/// The epoch policy: yield to tokio after every turn (one tick, more for a container with
/// a larger `requests.cpu`) so that other pods run, and under a CPU limit, stay off the CPU
/// long enough to honour the quota.
fn epoch_policy<T>(
    cpu_millis: Option<u64>,
    cpu_request_millis: Option<u64>,
    epoch_tick: std::time::Duration,
    cpu: Arc<Mutex<Accounting>>,
) -> DeadlineCallback<T> {
    let turn = ticks_per_turn(cpu_request_millis);
    // A turn runs at most `turn` ticks of guest code (and one more for the tick to be
    // seen): more time since the guest resumed was spent off the CPU, in a host call that
    // waited (a `sleep`, a blocked read) or queued behind other guests, which a CPU limit
    // does not charge, as CFS does not charge a sleeping task.
    let longest_turn = epoch_tick * (turn as u32 + 1);
    Box::new(move |_| {
        let pause = {
            let mut a = cpu.lock().expect("poisoned");
            // Real elapsed time, not tokio's (which tests may pause).
            let ran = a.resumed.elapsed().min(longest_turn);
            a.stat.ran += ran;
            let pause = throttle_pause(ran, cpu_millis);
            if pause.is_zero() {
                a.resumed = Instant::now();
            }
            pause
        };
        if pause.is_zero() {
            return Ok(UpdateDeadline::Yield(turn));
        }
        let cpu = cpu.clone();
        Ok(UpdateDeadline::YieldCustom(
            turn,
            Box::pin(async move {
                let paused = Instant::now();
                tokio::time::sleep(pause).await;
                let now = Instant::now();
                let mut a = cpu.lock().expect("poisoned");
                a.stat.nr_throttled += 1;
                a.stat.throttled += now - paused;
                a.resumed = now;
            }),
        ))
    })
}

/// A run's CPU accounting as its epoch callbacks keep it: when the guest last resumed,
/// and the totals its exit reports.
struct Accounting {
    resumed: Instant,
    stat: CpuStat,
}

/// The entries a container's table holds before the guest opens anything: stdin, stdout,
/// stderr and one per preopen (each mount, and "." for a working directory inside one).
/// Both kinds of context put them in the table lazily, on the guest's first WASI call, so
/// they are counted from the spec and granted whatever the budget says.
fn initial_entries(spec: &ContainerSpec) -> usize {
    let working_dir = spec
        .working_dir
        .as_deref()
        .is_some_and(|wd| mount_containing(spec, wd).is_some());
    3 + spec.mounts.len() + usize::from(working_dir)
}

fn wasi_builder(spec: &ContainerSpec) -> Result<WasiCtxBuilder, Error> {
    let mut b = WasiCtxBuilder::new();
    b.args(&spec.args);
    b.envs(&spec.env);
    let out = LogStream(spec.output.clone());
    b.stdout(out.clone());
    b.stderr(out);
    for m in &spec.mounts {
        preopen(&mut b, &m.dir, &m.guest_path, m.read_only).map_err(|e| Error::Mount {
            host: m.source.clone(),
            guest: m.guest_path.clone(),
            message: format!("{e:#}"),
        })?;
    }
    // WASI has no working directory of its own; wasi-libc resolves relative paths against
    // a preopen named ".". Offer the working directory as that, when a volume contains it.
    if let Some(wd) = spec.working_dir.as_deref()
        && let Some((m, rest)) = mount_containing(spec, wd)
    {
        let mount_error = |message: String| Error::Mount {
            host: m.source.join(rest),
            guest: wd.to_string(),
            message,
        };
        if rest.as_os_str().is_empty() {
            preopen(&mut b, &m.dir, ".", m.read_only).map_err(|e| mount_error(format!("{e:#}")))?;
        } else {
            // Opened inside the mount's directory: cap-std refuses any step (a `..`, an
            // absolute or climbing symlink) that would leave it.
            let dir = m
                .dir
                .open_dir(rest)
                .map_err(|e| mount_error(format!("workingDir: {e}")))?;
            preopen(&mut b, &dir, ".", m.read_only).map_err(|e| mount_error(format!("{e:#}")))?;
        }
    }
    Ok(b)
}

/// Preopens the open directory `dir` as `guest`. wasmtime-wasi takes a path, so it gets the
/// directory's `/proc/self/fd` entry: opening that magic link yields the very directory
/// the handle refers to, whatever has been renamed or replaced by symlinks since.
fn preopen(
    b: &mut WasiCtxBuilder,
    dir: &cap_std::fs::Dir,
    guest: &str,
    read_only: bool,
) -> wasmtime::Result<()> {
    use std::os::fd::AsRawFd;
    let perms = if read_only {
        FsPerms::ReadOnly
    } else {
        FsPerms::ReadWrite
    };
    let handle = format!("/proc/self/fd/{}", dir.as_raw_fd());
    b.preopened_dir(handle, guest, perms)?;
    Ok(())
}

/// The mount whose guest path contains `guest` (the deepest one), and the rest of the path
/// below it, which has only plain components.
fn mount_containing<'a>(spec: &'a ContainerSpec, guest: &'a str) -> Option<(&'a Mount, &'a Path)> {
    spec.mounts
        .iter()
        .filter_map(|m| {
            let rest = Path::new(guest).strip_prefix(&m.guest_path).ok()?;
            // Refuse `..` so the working directory cannot point outside the volume.
            if rest
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return None;
            }
            Some((m, rest))
        })
        .max_by_key(|(m, _)| m.guest_path.len())
}

/// Adapts an [`OutputSink`] to WASI's stdout/stderr. It accepts every write, so a guest
/// that prints more than the log keeps never sees an I/O error (the sink truncates).
#[derive(Clone)]
struct LogStream(Arc<dyn OutputSink>);

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.0.write(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.write(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
