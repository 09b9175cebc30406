//! The object store: Jobs, Pods, Events, Namespaces and CronJobs, with one global revision
//! (every object's `resourceVersion`), a watch feed with a replayable history, and a
//! persistence [`backend`].
//!
//! It also enforces the API server's deletion rule that controllers depend on: an object
//! with a `deletionTimestamp` goes away once its finalizers are gone (and, for a pod, once it
//! has stopped running).

pub mod backend;
mod touched;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job, JobStatus};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, watch};

use crate::api::pod as podutil;
pub use crate::api::resource::Resource;
pub use backend::Backend;
pub use touched::{Controller, Touch, Touched};

/// Store errors; messages follow the API server's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Create of an existing name.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// `jobs.batch`, `pods`, ...
        resource: &'static str,
        /// The name.
        name: String,
    },
    /// No such object.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// `jobs.batch`, `pods`, ...
        resource: &'static str,
        /// The name.
        name: String,
    },
    /// A write based on a stale resourceVersion.
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict {
        /// `jobs.batch`, `pods`, ...
        resource: &'static str,
        /// The name.
        name: String,
    },
    /// The persisted state could not be loaded.
    #[error(transparent)]
    Backend(#[from] backend::Error),
    /// Writes cannot be made durable now (the backend's commits fail).
    #[error("{0}; writes are refused until it can")]
    Unavailable(String),
}

/// A watch event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed (carries the last state).
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watchers see it.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    /// The revision of the change (the object's new resourceVersion).
    pub revision: u64,
    /// Which kind.
    pub resource: Resource,
    /// Namespace ("" for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What happened.
    pub type_: EventType,
    /// The object after the change (before it, for deletes), as JSON.
    pub object: Arc<serde_json::Value>,
}

impl WatchEvent {
    /// `obj` as an ADDED event at its own resourceVersion (a watch's initial state).
    pub fn added<K: Object>(obj: &K) -> Self {
        let m = obj.metadata();
        WatchEvent {
            revision: m
                .resource_version
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            resource: K::RESOURCE,
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().unwrap_or_default(),
            type_: EventType::Added,
            object: Arc::new(serde_json::to_value(obj).unwrap_or_default()),
        }
    }
}

/// The requested revision is older than the kept history (HTTP 410).
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    /// What the client asked for.
    pub requested: u64,
    /// The oldest revision still replayable.
    pub oldest: u64,
}

/// How many changes are kept for watches resuming from a resourceVersion.
const HISTORY: usize = 50_000;
/// How many Events are kept (the API server expires them after an hour).
const MAX_EVENTS: usize = 20_000;

/// The stored state.
#[derive(Default)]
pub struct State {
    revision: u64,
    // Objects are shared, not copied: a read hands out an `Arc`, and a write replaces the
    // `Arc` with the changed copy, so a pod costs one deep clone per write, not three.
    jobs: BTreeMap<String, Arc<Job>>,
    pods: BTreeMap<String, Arc<Pod>>,
    events: BTreeMap<String, Arc<Event>>,
    namespaces: BTreeMap<String, Arc<Namespace>>,
    cronjobs: BTreeMap<String, Arc<CronJob>>,
    configmaps: BTreeMap<String, Arc<ConfigMap>>,
    secrets: BTreeMap<String, Arc<Secret>>,
    services: BTreeMap<String, Arc<Service>>,
    history: VecDeque<WatchEvent>,
    /// Revisions at or after this one can be replayed.
    oldest: u64,
    /// Per controller uid, the pods its `sync` needs (see [`Store::pods_for_sync`]), kept
    /// up to date on every pod write so a sync never scans settled pods.
    sync_index: std::collections::HashMap<String, OwnedPods>,
    /// Per controller uid, every pod it owns (the garbage collector's view).
    owner_index: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
    /// Pods with a deletionTimestamp that have not stopped yet (the kubelet must kill them).
    deleting: std::collections::BTreeSet<String>,
}

/// The pods of one owner that matter to its controller.
#[derive(Default)]
struct OwnedPods {
    /// Pods not yet settled as successes (running, tracked, or failed).
    relevant: std::collections::BTreeSet<String>,
    /// The most recent settled success: (finish time, key).
    latest_success: Option<(Option<Timestamp>, String)>,
}

/// A kind of object the store holds.
pub trait Object:
    k8s_openapi::Metadata<Ty = ObjectMeta>
    + Clone
    + PartialEq
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Which map holds it.
    const RESOURCE: Resource;
    /// The map.
    fn map(s: &State) -> &BTreeMap<String, Arc<Self>>;
    /// The map, mutably.
    fn map_mut(s: &mut State) -> &mut BTreeMap<String, Arc<Self>>;
    /// Whether a deleted object may disappear now (a pod must have stopped first).
    fn can_be_removed(&self) -> bool {
        true
    }
    /// Keeps secondary indexes current: `obj` is the new state, `None` on removal.
    fn index(_s: &mut State, _key: &str, _obj: Option<&Self>) {}
}

macro_rules! object {
    ($ty:ty, $res:expr, $field:ident) => {
        impl Object for $ty {
            const RESOURCE: Resource = $res;
            fn map(s: &State) -> &BTreeMap<String, Arc<Self>> {
                &s.$field
            }
            fn map_mut(s: &mut State) -> &mut BTreeMap<String, Arc<Self>> {
                &mut s.$field
            }
        }
    };
}
object!(Job, Resource::Jobs, jobs);
object!(Event, Resource::Events, events);
impl Object for Namespace {
    const RESOURCE: Resource = Resource::Namespaces;
    fn map(s: &State) -> &BTreeMap<String, Arc<Self>> {
        &s.namespaces
    }
    fn map_mut(s: &mut State) -> &mut BTreeMap<String, Arc<Self>> {
        &mut s.namespaces
    }
    /// A namespace's own finalizers (`spec.finalizers`, the namespace controller's
    /// `kubernetes`) hold it as metadata's hold any object.
    fn can_be_removed(&self) -> bool {
        self.spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_none_or(Vec::is_empty)
    }
}
object!(CronJob, Resource::CronJobs, cronjobs);
object!(ConfigMap, Resource::ConfigMaps, configmaps);
object!(Secret, Resource::Secrets, secrets);
object!(Service, Resource::Services, services);

impl Object for Pod {
    const RESOURCE: Resource = Resource::Pods;
    fn map(s: &State) -> &BTreeMap<String, Arc<Self>> {
        &s.pods
    }
    fn map_mut(s: &mut State) -> &mut BTreeMap<String, Arc<Self>> {
        &mut s.pods
    }
    fn can_be_removed(&self) -> bool {
        podutil::is_terminal(self)
            || self
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .is_none()
    }
    fn index(s: &mut State, key: &str, obj: Option<&Self>) {
        let owner = |p: &Pod| podutil::controller_uid(p).map(String::from);
        // A pod's owner never changes except when orphaned; drop it from every entry that
        // may hold it, then file it under its current owner.
        let previous = s.pods.get(key).and_then(|p| owner(p));
        for uid in previous.iter().chain(obj.and_then(owner).as_ref()) {
            if let Some(e) = s.sync_index.get_mut(uid) {
                e.relevant.remove(key);
                if obj.is_none() && e.latest_success.as_ref().is_some_and(|(_, k)| k == key) {
                    e.latest_success = None;
                }
            }
        }
        if let Some(uid) = &previous
            && let Some(all) = s.owner_index.get_mut(uid)
        {
            all.remove(key);
            if all.is_empty() {
                s.owner_index.remove(uid);
            }
        }
        s.deleting.remove(key);
        let Some(pod) = obj else { return };
        if pod.metadata.deletion_timestamp.is_some() && !podutil::is_terminal(pod) {
            s.deleting.insert(key.to_string());
        }
        let Some(uid) = owner(pod) else { return };
        s.owner_index
            .entry(uid.clone())
            .or_default()
            .insert(key.to_string());
        let entry = s.sync_index.entry(uid).or_default();
        let settled = podutil::phase(pod) == podutil::phase::SUCCEEDED
            && !podutil::has_finalizer(pod, crate::api::meta::JOB_TRACKING_FINALIZER);
        if settled {
            let t = crate::api::pod::finish_time(pod);
            if entry
                .latest_success
                .as_ref()
                .is_none_or(|(lt, k)| *lt <= t || k == key)
            {
                entry.latest_success = Some((t, key.to_string()));
            }
        } else {
            entry.relevant.insert(key.to_string());
        }
    }
}

/// `namespace/name` (cluster-scoped objects: `/name`).
pub fn key(namespace: Option<&str>, name: Option<&str>) -> String {
    crate::api::meta::namespaced_key(namespace, name)
}

fn object_key<K: Object>(obj: &K) -> String {
    let m = obj.metadata();
    if K::RESOURCE == Resource::Namespaces {
        format!("/{}", m.name.as_deref().unwrap_or(""))
    } else {
        key(m.namespace.as_deref(), m.name.as_deref())
    }
}

/// The store. Share it behind an `Arc`.
pub struct Store {
    state: Mutex<State>,
    /// Whether watches are served (JSON history kept); off for `wasmjob run`.
    watchable: bool,
    revision: watch::Sender<u64>,
    /// One live feed per resource, as the API server keeps a watch cache per resource:
    /// a Job watcher never falls behind because of a burst of pod changes.
    feeds: [broadcast::Sender<WatchEvent>; crate::api::resource::RESOURCES.len()],
    /// The controllers' work-queue sources (see [`Store::track`]).
    trackers: Mutex<Vec<std::sync::Weak<Touched>>>,
    backend: Box<dyn Backend>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty in-memory store.
    pub fn new() -> Self {
        Store::open(Box::new(backend::Memory)).expect("the memory backend cannot fail")
    }

    /// An in-memory store without watch support (no JSON history), for `wasmjob run`.
    pub fn ephemeral() -> Self {
        let mut s = Store::new();
        s.watchable = false;
        s
    }

    /// A store holding what `backend` persisted.
    pub fn open(backend: Box<dyn Backend>) -> Result<Self, Error> {
        let snapshot = backend.load()?;
        let mut state = State {
            revision: snapshot.revision,
            oldest: snapshot.revision + 1,
            ..State::default()
        };
        for (k, v) in snapshot.objects {
            let (res, rest) = k.split_once('/').unwrap_or((&k, ""));
            let corrupt = |e: serde_json::Error| backend::Error::Corrupt {
                key: k.clone(),
                message: e.to_string(),
            };
            match Resource::from_plural(res) {
                Some(Resource::Jobs) => load_into::<Job>(&mut state, rest, &v).map_err(corrupt)?,
                Some(Resource::Pods) => load_into::<Pod>(&mut state, rest, &v).map_err(corrupt)?,
                Some(Resource::Events) => {
                    load_into::<Event>(&mut state, rest, &v).map_err(corrupt)?
                }
                Some(Resource::Namespaces) => {
                    load_into::<Namespace>(&mut state, rest, &v).map_err(corrupt)?
                }
                Some(Resource::CronJobs) => {
                    load_into::<CronJob>(&mut state, rest, &v).map_err(corrupt)?
                }
                Some(Resource::ConfigMaps) => {
                    load_into::<ConfigMap>(&mut state, rest, &v).map_err(corrupt)?
                }
                Some(Resource::Secrets) => {
                    load_into::<Secret>(&mut state, rest, &v).map_err(corrupt)?
                }
                Some(Resource::Services) => {
                    load_into::<Service>(&mut state, rest, &v).map_err(corrupt)?
                }
                None => tracing::warn!(key = %k, "ignoring a stored object of unknown kind"),
            }
        }
        let rev = state.revision;
        Ok(Store {
            state: Mutex::new(state),
            watchable: true,
            revision: watch::channel(rev).0,
            feeds: std::array::from_fn(|_| broadcast::channel(16_384).0),
            trackers: Mutex::new(Vec::new()),
            backend,
        })
    }

    /// Whether watches (and so Events) are served: false for `wasmjob run`'s store.
    pub fn is_watchable(&self) -> bool {
        self.watchable
    }

    /// Whether writes outlive the process (a crash can happen between two of them).
    pub fn is_durable(&self) -> bool {
        self.backend.persistent()
    }

    /// Blocks until every write so far is durable, or the backend reports why it is not.
    pub fn flush(&self) -> Result<(), Error> {
        self.backend.flush();
        self.writable()
    }

    /// `Err` while the backend's commits fail: nothing written now would be durable.
    pub fn writable(&self) -> Result<(), Error> {
        match self.backend.durability() {
            Some(d) => match d.borrow().failure.clone() {
                Some(why) => Err(Error::Unavailable(why)),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// The backend's durability reports (`None`: every write is durable at once).
    pub fn durability(&self) -> Option<watch::Receiver<backend::Durability>> {
        self.backend.durability()
    }

    /// Waits until every write up to `revision` is durable; `Err` as soon as the backend
    /// reports a failed commit (the write may still become durable when commits resume,
    /// as a write whose etcd request timed out may).
    pub async fn durable(&self, revision: u64) -> Result<(), Error> {
        let Some(mut d) = self.backend.durability() else {
            return Ok(());
        };
        loop {
            {
                let now = d.borrow_and_update();
                if now.revision >= revision {
                    return Ok(());
                }
                if let Some(why) = &now.failure {
                    return Err(Error::Unavailable(why.clone()));
                }
            }
            if d.changed().await.is_err() {
                return Err(Error::Unavailable("the store is closed".into()));
            }
        }
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("store lock poisoned"))
    }

    /// The current revision.
    pub fn revision(&self) -> u64 {
        self.read(|s| s.revision)
    }

    /// The oldest revision the history still holds changes after (what a watch or a
    /// list's continue token may start from without a 410).
    pub fn oldest_revision(&self) -> u64 {
        self.read(|s| s.oldest)
    }

    /// Receives the revision after every write.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Records the key of every object of `resources` written from now on (and of its
    /// controller), for a controller to sync only what changed. It starts empty: the
    /// caller looks at everything once first.
    pub fn track(&self, resources: &[Resource]) -> Arc<Touched> {
        let touched = Arc::new(Touched::new(resources));
        let mut trackers = self.trackers.lock().expect("trackers lock poisoned");
        trackers.retain(|t| t.strong_count() > 0);
        trackers.push(Arc::downgrade(&touched));
        touched
    }

    fn touch<K: Object>(&self, key: &str, obj: &K, previous: Option<&K>, removed: bool) {
        let trackers = self.trackers.lock().expect("trackers lock poisoned");
        for t in trackers.iter().filter_map(std::sync::Weak::upgrade) {
            let before = previous.map(|p| p.metadata());
            t.touch(K::RESOURCE, key, obj.metadata(), before, removed);
        }
    }

    /// Replays the changes to `resource` after revision `from` and subscribes to the ones
    /// to come, with no gap between them; `Err` when `from` is older than the history kept.
    pub fn watch(
        &self,
        resource: Resource,
        from: u64,
    ) -> Result<(Vec<WatchEvent>, broadcast::Receiver<WatchEvent>), Expired> {
        let s = self.state.lock().expect("store lock poisoned");
        let rx = self.feeds[resource as usize].subscribe();
        let backlog = if from >= s.revision {
            Vec::new()
        } else if from + 1 < s.oldest {
            return Err(Expired {
                requested: from,
                oldest: s.oldest,
            });
        } else {
            // The history is in revision order: only its tail after `from` is read, so a
            // hundred watches resuming at once do not each scan 50,000 changes under the
            // lock every writer needs.
            let start = s.history.partition_point(|e| e.revision <= from);
            s.history
                .range(start..)
                .filter(|e| e.resource == resource)
                .cloned()
                .collect()
        };
        Ok((backlog, rx))
    }

    /// The objects of a kind now (in one namespace, or all), shared with the store, and a
    /// subscription to every change after them: a watch without a resourceVersion. Nothing
    /// is serialised under the lock, so a watch over 10,000 pods does not stall writers.
    pub fn watch_snapshot<K: Object>(
        &self,
        namespace: Option<&str>,
    ) -> (Vec<Arc<K>>, broadcast::Receiver<WatchEvent>) {
        let s = self.state.lock().expect("store lock poisoned");
        let rx = self.feeds[K::RESOURCE as usize].subscribe();
        let items = K::map(&s)
            .values()
            .filter(|o| namespace.is_none_or(|ns| o.metadata().namespace.as_deref() == Some(ns)))
            .cloned()
            .collect();
        (items, rx)
    }

    /// One object by `namespace/name` (namespaces: `/name`).
    pub fn get<K: Object>(&self, key: &str) -> Option<K> {
        self.read(|s| K::map(s).get(key).map(|o| K::clone(o)))
    }

    /// Whether an object is stored under `key`.
    pub fn contains<K: Object>(&self, key: &str) -> bool {
        self.read(|s| K::map(s).contains_key(key))
    }

    /// One object, shared with the store (no copy).
    pub fn get_shared<K: Object>(&self, key: &str) -> Option<Arc<K>> {
        self.read(|s| K::map(s).get(key).cloned())
    }

    /// All objects of a kind (in one namespace, or all), and the revision of the listing.
    pub fn list<K: Object>(&self, namespace: Option<&str>) -> (Vec<K>, u64) {
        self.read(|s| {
            let items = K::map(s)
                .values()
                .filter(|o| {
                    namespace.is_none_or(|ns| o.metadata().namespace.as_deref() == Some(ns))
                })
                .map(|o| K::clone(o))
                .collect();
            (items, s.revision)
        })
    }

    /// [`Store::list`], shared with the store (no copies).
    pub fn list_shared<K: Object>(&self, namespace: Option<&str>) -> (Vec<Arc<K>>, u64) {
        self.read(|s| {
            let items = K::map(s)
                .values()
                .filter(|o| {
                    namespace.is_none_or(|ns| o.metadata().namespace.as_deref() == Some(ns))
                })
                .cloned()
                .collect();
            (items, s.revision)
        })
    }

    /// Stores a new object (the caller has set its uid, timestamps and defaults).
    pub fn create<K: Object>(&self, obj: K) -> Result<K, Error> {
        self.create_shared(obj).map(Arc::unwrap_or_clone)
    }

    /// [`Store::create`], returning the stored object without copying it.
    pub fn create_shared<K: Object>(&self, obj: K) -> Result<Arc<K>, Error> {
        let k = object_key(&obj);
        let mut s = self.state.lock().expect("store lock poisoned");
        if K::map(&s).contains_key(&k) {
            return Err(Error::AlreadyExists {
                resource: K::RESOURCE.qualified(),
                name: obj.metadata().name.clone().unwrap_or_default(),
            });
        }
        let obj = self.commit(&mut s, &k, obj, EventType::Added);
        self.trim_events(&mut s);
        Ok(obj)
    }

    /// Changes an object in place. Nothing is written (and the resourceVersion stays) when
    /// `f` changes nothing. Returns the object as stored, `None` when it does not exist (or
    /// was removed by the deletion rule).
    pub fn modify<K: Object>(&self, key: &str, f: impl FnOnce(&mut K)) -> Option<Arc<K>> {
        // The deep copy is made outside the lock (writers on other threads would otherwise
        // queue behind it); if the object changed meanwhile, it is copied again under the
        // lock. `f` itself runs once, under the lock, on the current object.
        let base = self.read(|s| K::map(s).get(key).cloned())?;
        let mut after = K::clone(&base);
        let mut s = self.state.lock().expect("store lock poisoned");
        let before = K::map(&s).get(key)?.clone();
        if !Arc::ptr_eq(&base, &before) {
            after = K::clone(&before);
        }
        f(&mut after);
        if after == *before {
            return Some(before);
        }
        let after = self.commit(&mut s, key, after, EventType::Modified);
        if removable(&*after) {
            self.remove_locked(&mut s, key, after);
            return None;
        }
        drop(s);
        // `base` and `before` may be the last references to the old version: it is freed
        // here, after the lock is released.
        drop((base, before));
        Some(after)
    }

    /// Replaces an object if `expected_rv` (when given) is still current.
    pub fn replace<K: Object>(
        &self,
        key: &str,
        obj: K,
        expected_rv: Option<&str>,
    ) -> Result<K, Error> {
        let mut s = self.state.lock().expect("store lock poisoned");
        let name = obj.metadata().name.clone().unwrap_or_default();
        let Some(current) = K::map(&s).get(key) else {
            return Err(Error::NotFound {
                resource: K::RESOURCE.qualified(),
                name,
            });
        };
        if let Some(rv) = expected_rv
            && current.metadata().resource_version.as_deref() != Some(rv)
        {
            return Err(Error::Conflict {
                resource: K::RESOURCE.qualified(),
                name,
            });
        }
        let mut same = obj.clone();
        same.metadata_mut().resource_version = current.metadata().resource_version.clone();
        if same == **current {
            return Ok(K::clone(current));
        }
        let after = self.commit(&mut s, key, obj, EventType::Modified);
        if removable(&*after) {
            self.remove_locked(&mut s, key, after.clone());
        }
        Ok(Arc::unwrap_or_clone(after))
    }

    /// Removes an object now (no graceful deletion); returns its last state.
    pub fn remove<K: Object>(&self, key: &str) -> Option<K> {
        let mut s = self.state.lock().expect("store lock poisoned");
        let obj = K::map(&s).get(key)?.clone();
        Some(self.remove_locked(&mut s, key, obj))
    }

    fn commit<K: Object>(&self, s: &mut State, key: &str, mut obj: K, type_: EventType) -> Arc<K> {
        s.revision += 1;
        let rev = s.revision;
        obj.metadata_mut().resource_version = Some(rev.to_string());
        self.touch(key, &obj, K::map(s).get(key).map(|p| &**p), false);
        K::index(s, key, Some(&obj));
        let obj = Arc::new(obj);
        K::map_mut(s).insert(key.to_string(), obj.clone());
        self.publish(s, key, &*obj, type_, rev);
        obj
    }

    fn remove_locked<K: Object>(&self, s: &mut State, key: &str, obj: Arc<K>) -> K {
        K::index(s, key, None);
        K::map_mut(s).remove(key);
        s.revision += 1;
        let rev = s.revision;
        let mut obj = Arc::unwrap_or_clone(obj);
        obj.metadata_mut().resource_version = Some(rev.to_string());
        self.touch(key, &obj, None, true);
        self.publish(s, key, &obj, EventType::Deleted, rev);
        obj
    }

    fn publish<K: Object>(&self, s: &mut State, key: &str, obj: &K, type_: EventType, rev: u64) {
        // Serialised once: the watch history keeps the JSON value, the backend its bytes.
        let value = self
            .watchable
            .then(|| serde_json::to_value(obj).unwrap_or_default());
        if self.backend.persistent() {
            let storage_key = format!("{}/{key}", K::RESOURCE.plural());
            let bytes = (type_ != EventType::Deleted).then(|| match &value {
                Some(v) => serde_json::to_vec(v).unwrap_or_default(),
                None => serde_json::to_vec(obj).unwrap_or_default(),
            });
            self.backend.write(
                rev,
                vec![backend::Change {
                    key: storage_key,
                    value: bytes,
                }],
            );
        }
        if !self.watchable {
            // `wasmjob run` has no API: only the revision (the controller's wake-up) matters.
            self.revision.send_replace(rev);
            return;
        }
        let value = value.unwrap_or_default();
        let m = obj.metadata();
        let event = WatchEvent {
            revision: rev,
            resource: K::RESOURCE,
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().unwrap_or_default(),
            type_,
            object: Arc::new(value),
        };
        s.history.push_back(event.clone());
        while s.history.len() > HISTORY {
            if let Some(old) = s.history.pop_front() {
                s.oldest = old.revision + 1;
            }
        }
        let _ = self.feeds[K::RESOURCE as usize].send(event);
        self.revision.send_replace(rev);
    }

    fn trim_events(&self, s: &mut State) {
        if s.events.len() <= MAX_EVENTS {
            return;
        }
        // Drop the oldest tenth at once: one scan per 2,000 Events, not one per Event.
        let mut by_age: Vec<(Option<Timestamp>, String)> = s
            .events
            .iter()
            .map(|(k, e)| (e.last_timestamp.as_ref().map(|t| t.0), k.clone()))
            .collect();
        let excess = s.events.len() - MAX_EVENTS * 9 / 10;
        by_age.select_nth_unstable(excess - 1);
        for (_, k) in by_age.into_iter().take(excess) {
            if let Some(e) = s.events.get(&k).cloned() {
                self.remove_locked(s, &k, e);
            }
        }
    }

    // ---- typed conveniences used by the controllers and the kubelet ----

    /// Adds a Job; the caller has defaulted and validated it.
    pub fn create_job(&self, job: Job) -> Result<Job, Error> {
        self.create(job)
    }

    /// All Jobs, in key order.
    pub fn jobs(&self) -> Vec<Job> {
        self.list::<Job>(None).0
    }

    /// All Jobs, shared with the store (no copies).
    pub fn jobs_shared(&self) -> Vec<Arc<Job>> {
        self.read(|s| s.jobs.values().cloned().collect())
    }

    /// One Job.
    pub fn job(&self, key: &str) -> Option<Job> {
        self.get(key)
    }

    /// Replaces a Job's status.
    pub fn update_job_status(&self, key: &str, status: JobStatus) -> Result<(), Error> {
        self.modify::<Job>(key, |j| j.status = Some(status))
            .map(|_| ())
            .ok_or_else(|| Error::NotFound {
                resource: "jobs.batch",
                name: key.rsplit('/').next().unwrap_or(key).to_string(),
            })
    }

    /// Pods owned (as controller) by the object with `owner_uid`.
    pub fn pods_owned_by(&self, owner_uid: &str) -> Vec<Arc<Pod>> {
        self.read(|s| {
            s.owner_index
                .get(owner_uid)
                .into_iter()
                .flatten()
                .filter_map(|k| s.pods.get(k).cloned())
                .collect()
        })
    }

    /// The uids of every controller that owns pods.
    pub fn pod_owners(&self) -> Vec<String> {
        self.read(|s| s.owner_index.keys().cloned().collect())
    }

    /// Pods marked for deletion that have not stopped yet.
    pub fn deleting_pods(&self) -> Vec<Arc<Pod>> {
        self.read(|s| {
            s.deleting
                .iter()
                .filter_map(|k| s.pods.get(k).cloned())
                .collect()
        })
    }

    /// The pods of a Job that its controller's `sync` needs: every pod still running or not
    /// yet accounted for (tracking finalizer), every failed pod (back-off, per-index
    /// counts), and of the accounted successes only the latest (back-off resets at it).
    /// A Job with 10,000 finished pods then costs a sync a handful of `Arc`s, not 10,000.
    pub fn pods_for_sync(&self, owner_uid: &str) -> Vec<Arc<Pod>> {
        self.read(|s| {
            let Some(e) = s.sync_index.get(owner_uid) else {
                return Vec::new();
            };
            e.relevant
                .iter()
                .chain(e.latest_success.as_ref().map(|(_, k)| k))
                .filter_map(|k| s.pods.get(k).cloned())
                .collect()
        })
    }

    /// All pods.
    pub fn pods(&self) -> Vec<Pod> {
        self.list::<Pod>(None).0
    }

    /// All pods, shared with the store (no copies).
    pub fn pods_shared(&self) -> Vec<Arc<Pod>> {
        self.read(|s| s.pods.values().cloned().collect())
    }

    /// One pod.
    pub fn pod(&self, key: &str) -> Option<Pod> {
        self.get(key)
    }

    /// Adds a pod.
    pub fn create_pod(&self, pod: Pod) -> Result<(), Error> {
        self.create_shared(pod).map(|_| ())
    }

    /// Changes a pod in place, then applies the deletion rule.
    pub fn update_pod(&self, key: &str, f: impl FnOnce(&mut Pod)) -> Option<Arc<Pod>> {
        self.modify(key, f)
    }

    /// Removes one finalizer from a pod (a no-op when the pod is gone).
    pub fn remove_pod_finalizer(&self, key: &str, finalizer: &str) {
        self.modify::<Pod>(key, |p| remove_finalizer(&mut p.metadata, finalizer));
    }

    /// Deletes a pod without waiting for its node (`gracePeriodSeconds: 0`): gone now
    /// unless finalizers hold it, as the API server removes a force-deleted pod; the kubelet
    /// then stops what still runs. Returns the pod as it was last.
    pub fn force_delete_pod(&self, key: &str, now: Timestamp) -> Option<Arc<Pod>> {
        let marked = self.delete_pod(key, now)?;
        if marked
            .metadata
            .finalizers
            .as_ref()
            .is_none_or(|f| f.is_empty())
        {
            self.remove::<Pod>(key);
        }
        Some(marked)
    }

    /// Marks a pod for deletion (graceful: the kubelet stops it, then it goes away).
    pub fn delete_pod(&self, key: &str, now: Timestamp) -> Option<Arc<Pod>> {
        self.modify::<Pod>(key, |p| {
            if p.metadata.deletion_timestamp.is_none() {
                p.metadata.deletion_timestamp = Some(Time(now));
                p.metadata.deletion_grace_period_seconds = Some(0);
            }
        })
    }
}

fn load_into<K: Object>(s: &mut State, key: &str, bytes: &[u8]) -> Result<(), serde_json::Error> {
    let obj: K = serde_json::from_slice(bytes)?;
    K::index(s, key, Some(&obj));
    K::map_mut(s).insert(key.to_string(), Arc::new(obj));
    Ok(())
}

fn removable<K: Object>(obj: &K) -> bool {
    let m = obj.metadata();
    m.deletion_timestamp.is_some()
        && m.finalizers.as_ref().is_none_or(|f| f.is_empty())
        && obj.can_be_removed()
}

/// Removes `finalizer` from `meta`, dropping an empty list.
pub fn remove_finalizer(meta: &mut ObjectMeta, finalizer: &str) {
    if let Some(f) = meta.finalizers.as_mut() {
        f.retain(|x| x != finalizer);
        if f.is_empty() {
            meta.finalizers = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn every_write_bumps_the_revision_and_a_no_op_does_not() {
        let s = Store::new();
        let j = s.create(job("a")).unwrap();
        assert_eq!(j.metadata.resource_version.as_deref(), Some("1"));
        let same = s.modify::<Job>("default/a", |_| {}).unwrap();
        assert_eq!(same.metadata.resource_version.as_deref(), Some("1"));
        let changed = s
            .modify::<Job>("default/a", |j| {
                j.metadata.labels = Some(Default::default())
            })
            .unwrap();
        assert_eq!(changed.metadata.resource_version.as_deref(), Some("2"));
        assert_eq!(
            s.create(job("a")).unwrap_err().to_string(),
            "jobs.batch \"a\" already exists"
        );
    }

    #[test]
    fn replace_with_a_stale_resource_version_conflicts() {
        let s = Store::new();
        s.create(job("a")).unwrap();
        s.modify::<Job>("default/a", |j| j.metadata.generation = Some(2));
        let err = s.replace("default/a", job("a"), Some("1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Operation cannot be fulfilled on jobs.batch \"a\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn watches_replay_from_a_revision_and_expire_when_too_old() {
        let s = Store::new();
        s.create(job("a")).unwrap();
        s.create(job("b")).unwrap();
        let (backlog, _) = s.watch(Resource::Jobs, 1).unwrap();
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog[0].name, "b");
        let (all, mut rx) = s.watch_snapshot::<Job>(None);
        assert_eq!(all.len(), 2);
        assert!(
            all.iter()
                .map(|j| WatchEvent::added(&**j))
                .all(|e| e.type_ == EventType::Added && e.revision > 0)
        );
        // The snapshot and the feed meet without a gap.
        s.create(job("c")).unwrap();
        assert_eq!(rx.try_recv().unwrap().name, "c");
    }

    #[test]
    fn a_deleted_pod_goes_once_stopped_and_without_finalizers() {
        let s = Store::new();
        let mut p = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("default".into()),
                finalizers: Some(vec!["f".into()]),
                ..Default::default()
            },
            ..Default::default()
        };
        p.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some("Running".into()),
            start_time: Some(Time(Timestamp::UNIX_EPOCH)),
            ..Default::default()
        });
        s.create(p).unwrap();
        s.delete_pod("default/p", Timestamp::UNIX_EPOCH);
        s.remove_pod_finalizer("default/p", "f");
        assert!(s.pod("default/p").is_some(), "still running");
        s.update_pod("default/p", |p| {
            p.status.as_mut().unwrap().phase = Some("Failed".into())
        });
        assert!(s.pod("default/p").is_none());
    }

    fn owned_pod(name: &str, owner: &str, phase: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                owner_references: Some(vec![
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                        uid: owner.into(),
                        controller: Some(true),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
            status: Some(k8s_openapi::api::core::v1::PodStatus {
                phase: Some(phase.into()),
                start_time: Some(Time(Timestamp::UNIX_EPOCH)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_owner_and_deleting_indexes_follow_every_write() {
        let s = Store::new();
        s.create(owned_pod("a", "u1", "Running")).unwrap();
        s.create(owned_pod("b", "u1", "Succeeded")).unwrap();
        s.create(owned_pod("c", "u2", "Running")).unwrap();
        let mut owners = s.pod_owners();
        owners.sort();
        assert_eq!(owners, ["u1", "u2"]);
        assert_eq!(s.pods_owned_by("u1").len(), 2);
        assert!(s.deleting_pods().is_empty());

        s.delete_pod("default/a", Timestamp::UNIX_EPOCH);
        let deleting: Vec<_> = s
            .deleting_pods()
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(deleting, ["a"]);
        // Stopping removes it (no finalizers): gone from every index.
        s.update_pod("default/a", |p| {
            p.status.as_mut().unwrap().phase = Some("Failed".into())
        });
        assert!(s.deleting_pods().is_empty());
        assert_eq!(s.pods_owned_by("u1").len(), 1);
        // Orphaning moves a pod out of its owner's set; the last pod takes the owner along.
        s.update_pod("default/c", |p| p.metadata.owner_references = None);
        assert_eq!(s.pod_owners(), ["u1"]);
    }

    #[test]
    fn events_beyond_the_cap_drop_the_oldest() {
        let s = Store::new();
        for i in 0..(MAX_EVENTS + 5) {
            s.create(Event {
                metadata: ObjectMeta {
                    name: Some(format!("e{i:06}")),
                    namespace: Some("default".into()),
                    ..Default::default()
                },
                last_timestamp: Some(Time(Timestamp::from_second(1_000_000 + i as i64).unwrap())),
                ..Default::default()
            })
            .unwrap();
        }
        let (events, _) = s.list::<Event>(None);
        assert!(events.len() <= MAX_EVENTS);
        assert!(events.len() >= MAX_EVENTS * 9 / 10);
        let newest = format!("e{:06}", MAX_EVENTS + 4);
        assert!(
            events
                .iter()
                .any(|e| e.metadata.name.as_deref() == Some(&newest))
        );
        assert!(
            !events
                .iter()
                .any(|e| e.metadata.name.as_deref() == Some("e000000"))
        );
    }

    #[test]
    fn the_redb_backend_restores_objects_and_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = Store::open(Box::new(backend::Redb::open(&path).unwrap())).unwrap();
            s.create(job("a")).unwrap();
            s.create(job("b")).unwrap();
            s.remove::<Job>("default/a");
            s.flush().unwrap();
        }
        let s = Store::open(Box::new(backend::Redb::open(&path).unwrap())).unwrap();
        assert_eq!(s.revision(), 3);
        assert!(s.job("default/a").is_none());
        assert_eq!(
            s.job("default/b")
                .unwrap()
                .metadata
                .resource_version
                .as_deref(),
            Some("2")
        );
        // Nothing before the restart can be replayed.
        assert!(s.watch(Resource::Jobs, 1).is_err());
        assert!(s.watch(Resource::Jobs, 3).is_ok());
    }
}
