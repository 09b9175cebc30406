//! wasmjob: Kubernetes batch Jobs whose containers are WebAssembly modules.
//!
//! # Where things live
//!
//! ```text
//!  kubectl ─HTTPS─► server (authn → routes → handlers) ─┐
//!  manifest.rs (wasmjob run) ───────────────────────────┤
//!  controller::apply (CronJob's Jobs, Job's pods) ──────┼─► api::admit (identity, defaults,
//!  serve (its namespaces) ──────────────────────────────┘    validation, node policy, binder)
//!                                                                     │
//!                                                                     ▼
//!          store (a leaf: objects, CRUD, watch history, indexes; redb/memory backend)
//!            │ store::Touched (keys written, their controllers)       ▲
//!            ├──► controller::queue ─► controller::job::sync (pure) ──┤ controller::apply
//!            │                         controller::cronjob::sync (pure)┤ (+ events::Recorder)
//!            └──► kubelet::run (pods bound to its node) ─► kubelet::decide (pure)
//!                      │ start / stop / forget; kubelet::container::next (pure)
//!                      │                                               ▲ status writes
//!                      └──► runtime (the only wasmtime user) ──────────┘
//!
//!  leaves under everything: api (types' rules), cron (robfig/cron port), go (Go's
//!  formatting and parsing), clock
//!  serve: each part on its own threads: API workers, one controllers' worker, the
//!         kubelet's workers, the guests' niced workers, the store's writer
//! ```
//!
//! - [`api`]: Kubernetes types' rules, no IO: [`api::admit`] is the one admission chain
//!   every new or changed object goes through (kube-apiserver's order: identity, prepare,
//!   mutating admission, validation, validating admission; authentication and
//!   authorization are the server's, before it); [`api::validation`] (a package: field
//!   errors, names, metadata, pod, job, cronjob, config: ConfigMaps and Secrets,
//!   service) with
//!   upstream's messages;
//!   [`api::defaults`], [`api::meta`] (uids, generated names, keys, finalizers,
//!   references, the node's name), [`api::resource`] (the one table of served resources:
//!   discovery, error names, field selectors), [`api::quantity`], pod and Job predicates.
//! - [`go`]: `strconv.Quote`/`Atoi`, `time.ParseDuration`, `Duration.String`,
//!   `HumanDuration`; [`cron`]: robfig/cron's parser and `Next`, and upstream's
//!   `mostRecentScheduleTime`.
//! - [`controller::job`]: the Job controller's decisions as a pure function
//!   `sync(&Job, &[Pod], now) -> Plan`; [`controller::apply`] is the controllers' only IO
//!   and depends only on the store ([`controller::Context`]: store, admission, Event
//!   recorders, clock). [`controller::queue`] holds the keys to sync: those a write
//!   touched (the store's [`store::Touched`], as informer handlers enqueue keys) and those
//!   a plan's `requeue_after` asked for, so a turn costs the Jobs that changed.
//! - [`kubelet`]: finds the pods bound to its node by watching the store
//!   ([`kubelet::decide`] says start, stop or forget), runs a pod phase by phase (node
//!   admission, maxPods, deadline, volumes, init then app containers) and each container
//!   as the pure state machine `kubelet::container::next` says (pull and its back-off,
//!   start, exit, restart, crash-loop back-off, kill), a thin loop doing each step; reports
//!   phases, container states and restarts as Kubernetes does, keeps logs, emits pod
//!   Events; the environment is resolved by `kubelet::env` (fieldRefs, ConfigMap and
//!   Secret refs through its `ConfigSource`, the store in production), volumes are opened
//!   as directory handles (`kubelet::volumes`, nothing joined on the host; configMap and
//!   secret volumes written into the pod's directory, read-only), `kubelet::admission` decides whether a pod fits the node (maxPods,
//!   memory) and `kubelet::eviction` whether its local storage evicts it, both pure.
//! - [`events`]: the Event recorder, one per component, over the store (the kubelet's and
//!   the scheduler's asynchronous, through a bounded queue, as client-go's);
//!   `server::events_v1` serves the same Events as `events.k8s.io/v1`.
//! - [`runtime`]: wasmtime: engine, module cache, WASI context, limits (memory, CPU, the
//!   node's descriptor budget), exit classification.
//! - [`store`]: the object store (global revision, watch history, the Job controller's
//!   pod indexes) and its persistence backends (memory for `run`, redb for `serve`); it
//!   imports nothing but [`api`]. A write is answered once durable, and
//!   `Store::durability` says when the backend cannot commit.
//! - [`server`]: the Kubernetes API server kubectl talks to (discovery, REST verbs, watch,
//!   logs, Tables, patches, protobuf bodies, the OpenAPI documents generated from
//!   k8s-openapi's schemas, TLS, `metav1.Status` errors, the kubeconfig it leaves).
//! - [`controller::gc`], [`controller::ttl`]: garbage collection and TTL-after-finished;
//!   [`controller::namespace`]: a terminating namespace emptied, then finalized (the
//!   server's NamespaceLifecycle check refuses new content meanwhile).
//! - [`run`]: the `wasmjob run` command; [`manifest`]: reading YAML files (Jobs, and the
//!   ConfigMaps and Secrets they use).
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
