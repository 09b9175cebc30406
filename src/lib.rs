//! wasmjob: Kubernetes batch Jobs whose containers are WebAssembly modules.
//!
//! # Where things live
//!
//! ```text
//!  manifest.rs ──► api::defaults / api::validation ──► store (Jobs, Pods, Events)
//!                                                        │  ▲
//!             store::Touched (keys written, and their    │  │ writes
//!             controllers) ──► controller::queue ◄───────┘  │
//!                                   │                       │
//!  controller::run_until_finished ──┴► controller::job::sync (pure: Job, Pods, now → Plan)
//!                                          │
//!                                  controller::apply ──► store + kubelet.start/kill
//!                                                          │
//!  kubelet (pod lifecycle, restarts, logs) ──► runtime (the only wasmtime user)
//!
//!  kubectl ──HTTPS──► server (routes → handlers → store; watch feeds from the store)
//!  serve: store (redb backend) + controller::run_forever (Job sync, gc, ttl) + kubelet + server,
//!         each on its own threads: API workers, one controllers' worker, the kubelet's
//!         workers, the guests' niced workers, the store's writer
//! ```
//!
//! - [`api`]: Kubernetes types' rules: defaulting, validation with upstream messages,
//!   quantities, label/annotation keys, condition reasons, pod predicates.
//! - [`controller::job`]: the Job controller's decisions as a pure function
//!   `sync(&Job, &[Pod], now) -> Plan`; [`controller::apply`] is its only IO.
//!   [`controller::queue`] holds the keys to sync: those a write touched (the store's
//!   [`store::Touched`], as informer handlers enqueue keys) and those a plan's
//!   `requeue_after` asked for, so a turn costs the Jobs that changed, not all of them.
//! - [`kubelet`]: runs a pod's containers, reports phases, container states and restarts
//!   as Kubernetes does, keeps logs, emits pod Events; volumes are opened as directory
//!   handles (`kubelet::volumes`, nothing joined on the host), `kubelet::admission` decides
//!   whether a pod fits the node (maxPods, memory) and `kubelet::eviction` whether its local
//!   storage evicts it, both pure.
//! - [`runtime`]: wasmtime: engine, module cache, WASI context, limits (memory, CPU, the
//!   node's descriptor budget), exit classification.
//! - [`store`]: the object store (global revision, watch history) and its persistence
//!   backends (memory for `run`, redb for `serve`); a write is answered once durable, and
//!   `Store::durability` says when the backend cannot commit.
//! - [`server`]: the Kubernetes API server kubectl talks to (discovery, REST verbs, watch,
//!   logs, Tables, patches, protobuf bodies, TLS, `metav1.Status` errors).
//! - [`controller::gc`], [`controller::ttl`]: garbage collection and TTL-after-finished.
//! - [`run`]: the `wasmjob run` command; [`manifest`]: reading YAML files.
//! - [`serve`]: the `wasmjob serve` command: data-dir lock, crash recovery, start-up.
//! - [`clock`]: wall time derived from tokio's clock so tests can pause time.
//! - [`yaml`]: YAML decoding with a nesting bound checked before the parser runs.
//! - [`private_fs`]: owner-only files and directories (the data dir, logs, the cache).
//! - [`mod@bench`]: `wasmjob bench`: pods through `run`, a real `serve` process, load (hostile
//!   pods and clients beside a well-behaved Job), density in
//!   fresh child processes and the `wasmtime run` peer, each against raw wasmtime.
//! - Objects in the store are shared (`Arc`): reads hand them out without copying, a write
//!   replaces one with its changed copy; `sync` accepts `&[Pod]` or `&[Arc<Pod>]`.

pub mod api;
pub mod bench;
pub mod clock;
pub mod controller;
pub mod cron;
pub mod events;
pub mod go;
pub mod kubelet;
pub mod manifest;
pub mod private_fs;
pub mod run;
pub mod runtime;
pub mod serve;
pub mod server;
pub mod store;
pub mod yaml;
