//! The Event recorder: client-go's `record.EventRecorder` with its correlator, one per
//! component (the Job controller, the CronJob controller, the kubelet, the scheduler), over
//! the store as over the API.
//!
//! Repeats of one Event about one object are counted on the stored Event (`count`,
//! `lastTimestamp`), as the correlator aggregates them; names are `<object>.<nanos in
//! hex>` as the API server's are, so they sort in recording order; Events live an hour, as
//! kube-apiserver's `--event-ttl` keeps them.
//!
//! A recorder may be [`Recorder::asynchronous`], as client-go's broadcaster is: Events go
//! through a bounded queue (1,000, client-go's `maxQueuedEvents`) to a writer thread, so
//! the component that records them (the kubelet, starting thousands of pods) never waits
//! on the store for them, and when the queue is full an Event is dropped, not waited for.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::store::Store;

/// Aggregation entries kept before the index starts over (twice the store's Event cap).
const MAX_INDEX: usize = 40_000;
/// How long an Event lives (kube-apiserver's `--event-ttl` default).
const EVENT_TTL_SECONDS: i64 = 3600;
/// Names tried for one Event when others are taken meanwhile.
const NAME_TRIES: usize = 8;
/// Events recorded between two scans of the whole store for expired ones (a recorder's own
/// Events expire from its queue of them, at no scan).
const EXPIRE_EVERY: u64 = 16_384;
/// How often (in recorded time) the store is scanned for other writers' expired Events.
const SCAN_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(600);
/// Events an asynchronous recorder holds before it drops new ones (client-go's
/// `maxQueuedEvents`).
const MAX_QUEUED: usize = 1000;

/// What the writer thread of the asynchronous recorders is handed.
enum Queued {
    Event(Box<(Arc<Inner>, QueuedEvent)>),
    /// Answered once everything queued before it is written.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// One Event waiting to be written.
struct QueuedEvent {
    object: ObjectReference,
    type_: String,
    reason: String,
    message: String,
    now: Timestamp,
}

/// The process's event writer: its queue, started on first use. `None` if no thread
/// could be started (then Events are written in place).
fn writer() -> Option<&'static std::sync::mpsc::SyncSender<Queued>> {
    static WRITER: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<Queued>>> =
        std::sync::OnceLock::new();
    WRITER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Queued>(MAX_QUEUED);
            std::thread::Builder::new()
                .name("event-writer".into())
                .spawn(move || {
                    for q in rx {
                        match q {
                            Queued::Event(e) => {
                                let (inner, e) = *e;
                                inner.record(e.object, &e.type_, &e.reason, &e.message, e.now);
                            }
                            Queued::Flush(done) => {
                                let _ = done.send(());
                            }
                        }
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Waits until every Event queued so far by any asynchronous recorder is written: `serve`
/// calls it before its last flush of the store, so nothing is written after that.
pub fn flush_queued() {
    if let Some(q) = writer() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if q.send(Queued::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// Records Events for one component.
pub struct Recorder {
    inner: Arc<Inner>,
    /// The writer thread's queue, when asynchronous.
    queue: Option<std::sync::mpsc::SyncSender<Queued>>,
    /// Events dropped because the queue was full.
    dropped: AtomicU64,
}

/// The recording itself, shared with the writer thread.
struct Inner {
    store: Arc<Store>,
    component: &'static str,
    /// The node a node component (the kubelet) runs on: `source.host` and
    /// `reportingInstance`.
    host: Option<String>,
    /// Aggregation key → the stored Event's key, for counting repeats.
    index: Mutex<HashMap<String, String>>,
    recorded: AtomicU64,
    /// The time part of the newest Event name: names stay unique and in time order even
    /// when one sync records thousands of Events at the same instant.
    last_nanos: Mutex<u64>,
    /// The Events this recorder created, oldest first, to expire them in order.
    own: Mutex<std::collections::VecDeque<(Timestamp, String)>>,
    /// When the store was last scanned for expired Events.
    last_scan: Mutex<Option<Timestamp>>,
}

impl Recorder {
    /// A control-plane component's recorder (`job-controller`, `cronjob-controller`).
    pub fn new(store: Arc<Store>, component: &'static str) -> Self {
        Recorder {
            inner: Arc::new(Inner {
                store,
                component,
                host: None,
                index: Mutex::new(HashMap::new()),
                recorded: AtomicU64::new(0),
                last_nanos: Mutex::new(0),
                own: Mutex::new(Default::default()),
                last_scan: Mutex::new(None),
            }),
            queue: None,
            dropped: AtomicU64::new(0),
        }
    }

    /// A node component's recorder (`kubelet` on `node`).
    pub fn on_node(store: Arc<Store>, component: &'static str, node: &str) -> Self {
        let mut r = Recorder::new(store, component);
        if let Some(inner) = Arc::get_mut(&mut r.inner) {
            inner.host = Some(node.to_owned());
        }
        r
    }

    /// This recorder, writing its Events through the process's event writer: one bounded
    /// queue and one thread for every asynchronous recorder, so Events of one pod from the
    /// scheduler and the kubelet are written in the order they were recorded.
    pub fn asynchronous(mut self) -> Self {
        self.queue = writer().cloned();
        self
    }

    /// Waits until every Event recorded so far is written (at once for a synchronous
    /// recorder).
    pub fn flush(&self) {
        if self.queue.is_some() {
            flush_queued();
        }
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records an Event about `object`.
    pub fn event(
        &self,
        object: ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
        now: Timestamp,
    ) {
        if !self.inner.store.is_watchable() {
            // Nobody can read Events without the API (`wasmjob run`): skip the writes.
            return;
        }
        let Some(queue) = &self.queue else {
            self.inner.record(object, type_, reason, message, now);
            return;
        };
        let queued = Queued::Event(Box::new((
            self.inner.clone(),
            QueuedEvent {
                object,
                type_: type_.into(),
                reason: reason.into(),
                message: message.into(),
                now,
            },
        )));
        match queue.try_send(queued) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        component = self.inner.component,
                        dropped = n,
                        "event queue full: Events dropped, as client-go's recorder drops them"
                    );
                }
            }
            // The writer is gone (it cannot be, short of a panic in it): in place, then.
            Err(std::sync::mpsc::TrySendError::Disconnected(q)) => {
                if let Queued::Event(e) = q {
                    let (inner, e) = *e;
                    inner.record(e.object, &e.type_, &e.reason, &e.message, e.now);
                }
            }
        }
    }
}

impl Inner {
    fn record(
        &self,
        object: ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
        now: Timestamp,
    ) {
        let ns = object.namespace.clone().unwrap_or_else(|| "default".into());
        // No Event lands in a namespace that is gone or being deleted (the API refuses it
        // there, and nothing would ever remove it).
        if self
            .store
            .get_shared::<k8s_openapi::api::core::v1::Namespace>(&format!("/{ns}"))
            .is_none_or(|n| n.metadata.deletion_timestamp.is_some())
        {
            return;
        }
        let aggregate = format!(
            "{ns}\u{0}{}\u{0}{}\u{0}{}\u{0}{type_}\u{0}{reason}\u{0}{message}",
            object.kind.as_deref().unwrap_or(""),
            object.name.as_deref().unwrap_or(""),
            object.uid.as_deref().unwrap_or("")
        );
        let existing = self
            .index
            .lock()
            .expect("poisoned")
            .get(&aggregate)
            .cloned();
        if let Some(key) = existing
            && self
                .store
                .modify::<Event>(&key, |e| {
                    e.count = Some(e.count.unwrap_or(1) + 1);
                    e.last_timestamp = Some(Time(now));
                })
                .is_some()
        {
            return;
        }
        let base = object.name.clone().unwrap_or_default();
        let mut event = Event {
            metadata: ObjectMeta {
                namespace: Some(ns.clone()),
                uid: Some(crate::api::meta::new_uid()),
                creation_timestamp: Some(Time(now)),
                ..Default::default()
            },
            involved_object: object,
            type_: Some(type_.into()),
            reason: Some(reason.into()),
            message: Some(message.into()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            count: Some(1),
            source: Some(EventSource {
                component: Some(self.component.into()),
                host: self.host.clone(),
            }),
            reporting_component: Some(self.component.into()),
            reporting_instance: Some(self.host.clone().unwrap_or_default()),
            ..Default::default()
        };
        // Another component's recorder can take the same name between the check and the
        // write (they share the clock's nanoseconds): a taken name is tried again with the
        // next free one, so no Event is lost to a collision.
        for _ in 0..NAME_TRIES {
            let name = self.name_for(&ns, &base, now);
            event.metadata.name = Some(name.clone());
            match self.store.create(event.clone()) {
                Ok(_) => {
                    let key = format!("{ns}/{name}");
                    {
                        let mut own = self.own.lock().expect("poisoned");
                        own.push_back((now, key.clone()));
                        // The store keeps at most 20,000 Events (trimming the oldest): past
                        // twice that, the oldest entries name Events long gone, and the
                        // periodic scan expires whatever of them is left.
                        while own.len() > MAX_INDEX {
                            own.pop_front();
                        }
                    }
                    let mut index = self.index.lock().expect("poisoned");
                    index.insert(aggregate, key);
                    if index.len() > MAX_INDEX {
                        index.clear();
                    }
                    break;
                }
                Err(crate::store::Error::AlreadyExists { .. }) => continue,
                // The store refuses writes (its disk): the Event is lost, as an API
                // server's refusal loses it for client-go's recorder.
                Err(_) => break,
            }
        }
        self.expire(now);
    }

    /// `<object>.<unix nanos in hex>`, later than every name this recorder gave and free
    /// in the store.
    fn name_for(&self, ns: &str, base: &str, now: Timestamp) -> String {
        let mut nanos = {
            let mut last = self.last_nanos.lock().expect("poisoned");
            *last = (*last + 1).max(now.as_nanosecond().max(0) as u64);
            *last
        };
        // Only Events stored before a restart, by another component, or under a clock set
        // back can still collide; the stamp then moves past them for good.
        loop {
            let candidate = format!("{base}.{nanos:x}");
            if !self.store.contains::<Event>(&format!("{ns}/{candidate}")) {
                return candidate;
            }
            nanos += 1;
            let mut last = self.last_nanos.lock().expect("poisoned");
            *last = (*last).max(nanos);
        }
    }

    /// Drops Events older than the TTL: this recorder's own from the front of its queue of
    /// them (a repeat counted since keeps one alive), every other every [`EXPIRE_EVERY`]
    /// Events by a scan of the store (those clients wrote).
    fn expire(&self, now: Timestamp) {
        let Ok(cutoff) = now.checked_sub(jiff::SignedDuration::from_secs(EVENT_TTL_SECONDS)) else {
            return;
        };
        let old = |e: &Event| e.last_timestamp.as_ref().is_some_and(|t| t.0 < cutoff);
        {
            let mut own = self.own.lock().expect("poisoned");
            while let Some((at, key)) = own.front().cloned() {
                if at >= cutoff {
                    break;
                }
                own.pop_front();
                match self.store.get_shared::<Event>(&key) {
                    Some(e) if old(&e) => {
                        self.store.remove::<Event>(&key);
                    }
                    // Repeated since: it lives as long as its last repeat.
                    Some(e) => {
                        let last = e.last_timestamp.as_ref().map_or(now, |t| t.0);
                        own.push_back((last, key));
                    }
                    None => {}
                }
            }
        }
        // Every ten minutes of recording, or every EXPIRE_EVERY Events, whichever comes
        // first.
        let n = self.recorded.fetch_add(1, Ordering::Relaxed);
        let due = {
            let mut last = self.last_scan.lock().expect("poisoned");
            let stale = last.is_none_or(|t| now.duration_since(t) >= SCAN_EVERY);
            if stale || n.is_multiple_of(EXPIRE_EVERY) {
                *last = Some(now);
                true
            } else {
                false
            }
        };
        if !due {
            return;
        }
        let (events, _) = self.store.list_shared::<Event>(None);
        for e in events {
            if old(&e) {
                let key = crate::api::meta::namespaced_key(
                    e.metadata.namespace.as_deref(),
                    e.metadata.name.as_deref(),
                );
                self.store.remove::<Event>(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::Job;

    fn job(store: &Store, name: &str) -> Job {
        // Events land only in a namespace that exists.
        let _ = store.create(k8s_openapi::api::core::v1::Namespace {
            metadata: ObjectMeta {
                name: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        store
            .create(Job {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some("default".into()),
                    uid: Some(format!("uid-{name}")),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap()
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn two_components_recording_at_one_instant_lose_no_event() {
        // The Job controller and the kubelet share nothing but the store and the clock:
        // both pick `<object>.<nanos>` names, and a name one takes between the other's
        // check and write must not drop the other's Event.
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let threads: Vec<_> = ["job-controller", "kubelet"]
            .into_iter()
            .map(|component| {
                let (store, j) = (store.clone(), j.clone());
                std::thread::spawn(move || {
                    let events = Recorder::new(store, component);
                    for i in 0..2_000 {
                        let r = crate::api::meta::reference_to(&j);
                        let message = format!("{component} {i}");
                        events.event(r, "Normal", "Test", &message, at(1_000_000));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (stored, _) = store.list::<Event>(None);
        assert_eq!(stored.len(), 4_000);
    }

    #[test]
    fn events_recorded_at_one_instant_get_distinct_names_in_order() {
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let events = Recorder::new(store.clone(), "job-controller");
        for i in 0..1_000 {
            let message = format!("Created pod: a-{i}");
            let r = crate::api::meta::reference_to(&j);
            events.event(r, "Normal", "SuccessfulCreate", &message, at(1_000_000));
        }
        let (stored, _) = store.list::<Event>(None);
        assert_eq!(stored.len(), 1_000);
        let mut by_name: Vec<&Event> = stored.iter().collect();
        by_name.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let messages: Vec<&str> = by_name
            .iter()
            .filter_map(|e| e.message.as_deref())
            .collect();
        let expected: Vec<String> = (0..1_000).map(|i| format!("Created pod: a-{i}")).collect();
        assert_eq!(messages, expected, "names sort in recording order");
        assert!(
            by_name[0]
                .metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("a.")
        );
        assert_eq!(
            by_name[0].source.as_ref().unwrap().component.as_deref(),
            Some("job-controller")
        );
    }

    #[test]
    fn repeats_are_counted_on_one_event_and_node_components_name_their_host() {
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let kubelet = Recorder::on_node(store.clone(), "kubelet", "node-1");
        for s in 0..3 {
            let r = crate::api::meta::reference_to(&j);
            kubelet.event(r, "Warning", "BackOff", "Back-off", at(1_000_000 + s));
        }
        let (stored, _) = store.list::<Event>(None);
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(e.count, Some(3));
        assert_eq!(e.first_timestamp, Some(Time(at(1_000_000))));
        assert_eq!(e.last_timestamp, Some(Time(at(1_000_002))));
        assert_eq!(e.source.as_ref().unwrap().host.as_deref(), Some("node-1"));
        assert_eq!(e.reporting_instance.as_deref(), Some("node-1"));
    }

    #[test]
    fn an_asynchronous_recorder_writes_the_same_events_in_order_off_the_callers_thread() {
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let kubelet = Recorder::on_node(store.clone(), "kubelet", "node-1").asynchronous();
        for (s, reason) in ["Scheduled", "Pulled", "Created", "Started", "Started"]
            .into_iter()
            .enumerate()
        {
            let r = crate::api::meta::reference_to(&j);
            kubelet.event(r, "Normal", reason, reason, at(1_000_000 + s as i64));
        }
        kubelet.flush();
        let (mut stored, _) = store.list::<Event>(None);
        stored.sort_by_key(|e| e.metadata.name.clone());
        let reasons: Vec<_> = stored.iter().map(|e| e.reason.clone().unwrap()).collect();
        assert_eq!(reasons, ["Scheduled", "Pulled", "Created", "Started"]);
        assert_eq!(stored[3].count, Some(2));
        assert_eq!(
            stored[0].source.as_ref().unwrap().host.as_deref(),
            Some("node-1")
        );
        assert_eq!(kubelet.dropped(), 0);
    }

    #[test]
    fn two_recorders_at_one_instant_never_overwrite_each_other() {
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let a = Recorder::new(store.clone(), "job-controller");
        let b = Recorder::new(store.clone(), "cronjob-controller");
        for r in [&a, &b] {
            r.event(
                crate::api::meta::reference_to(&j),
                "Normal",
                "X",
                "m",
                at(5),
            );
        }
        assert_eq!(store.list::<Event>(None).0.len(), 2);
    }

    #[test]
    fn events_older_than_an_hour_expire() {
        let store = Arc::new(Store::new());
        let j = job(&store, "a");
        let events = Recorder::new(store.clone(), "job-controller");
        let r = || crate::api::meta::reference_to(&j);
        events.event(r(), "Normal", "Old", "old", at(1_000_000));
        // The next scan comes after EXPIRE_EVERY recordings.
        for i in 1..EXPIRE_EVERY {
            events.event(
                r(),
                "Normal",
                "New",
                &format!("new {i}"),
                at(1_000_000 + 3_000),
            );
        }
        assert_eq!(store.list::<Event>(None).0.len(), EXPIRE_EVERY as usize);
        events.event(r(), "Normal", "Later", "later", at(1_000_000 + 3_601));
        let (stored, _) = store.list::<Event>(None);
        assert!(stored.iter().all(|e| e.reason.as_deref() != Some("Old")));
        assert_eq!(stored.len(), EXPIRE_EVERY as usize);
    }
}
