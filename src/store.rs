//! The in-process object store: Jobs, Pods and Events, with a revision counter that every
//! write bumps so the control loop can wait for "anything changed".
//!
//! It models the API server's rules that the controllers depend on: a pod with a
//! `deletionTimestamp` disappears once it has stopped running and has no finalizers left.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::{Event, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use tokio::sync::{broadcast, watch};

use crate::api::pod as podutil;

/// Store errors; messages name the object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Create of an existing name.
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists {
        /// `jobs.batch`, `pods`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// No such object.
    #[error("{kind} \"{name}\" not found")]
    NotFound {
        /// `jobs.batch`, `pods`.
        kind: &'static str,
        /// The name.
        name: String,
    },
}

#[derive(Default)]
struct State {
    revision: u64,
    jobs: BTreeMap<String, Job>,
    pods: BTreeMap<String, Pod>,
    events: Vec<Event>,
}

/// The store. Share it behind an `Arc`.
pub struct Store {
    state: Mutex<State>,
    revision: watch::Sender<u64>,
    events: broadcast::Sender<Event>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// `namespace/name`.
pub fn key(namespace: Option<&str>, name: Option<&str>) -> String {
    format!("{}/{}", namespace.unwrap_or("default"), name.unwrap_or(""))
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store {
            state: Mutex::new(State::default()),
            revision: watch::channel(0).0,
            events: broadcast::channel(4096).0,
        }
    }

    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().expect("store lock poisoned");
        let r = f(&mut state);
        state.revision += 1;
        let rev = state.revision;
        drop(state);
        self.revision.send_replace(rev);
        r
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("store lock poisoned"))
    }

    /// Receives the revision after every write.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Receives every recorded Event.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Adds a Job; the caller has defaulted and validated it.
    pub fn create_job(&self, job: Job) -> Result<Job, Error> {
        let k = key(
            job.metadata.namespace.as_deref(),
            job.metadata.name.as_deref(),
        );
        self.write(|s| {
            if s.jobs.contains_key(&k) {
                return Err(Error::AlreadyExists {
                    kind: "jobs.batch",
                    name: job.metadata.name.clone().unwrap_or_default(),
                });
            }
            let mut job = job;
            job.metadata.resource_version = Some(s.revision.to_string());
            s.jobs.insert(k, job.clone());
            Ok(job)
        })
    }

    /// All Jobs, in key order.
    pub fn jobs(&self) -> Vec<Job> {
        self.read(|s| s.jobs.values().cloned().collect())
    }

    /// One Job.
    pub fn job(&self, key: &str) -> Option<Job> {
        self.read(|s| s.jobs.get(key).cloned())
    }

    /// Replaces a Job's status.
    pub fn update_job_status(&self, key: &str, status: JobStatus) -> Result<(), Error> {
        self.write(|s| match s.jobs.get_mut(key) {
            Some(job) => {
                job.status = Some(status);
                job.metadata.resource_version = Some(s.revision.to_string());
                Ok(())
            }
            None => Err(not_found("jobs.batch", key)),
        })
    }

    /// Pods owned (as controller) by the object with `owner_uid`.
    pub fn pods_owned_by(&self, owner_uid: &str) -> Vec<Pod> {
        self.read(|s| {
            s.pods
                .values()
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.uid == owner_uid && o.controller == Some(true))
                })
                .cloned()
                .collect()
        })
    }

    /// All pods.
    pub fn pods(&self) -> Vec<Pod> {
        self.read(|s| s.pods.values().cloned().collect())
    }

    /// One pod.
    pub fn pod(&self, key: &str) -> Option<Pod> {
        self.read(|s| s.pods.get(key).cloned())
    }

    /// Adds a pod.
    pub fn create_pod(&self, pod: Pod) -> Result<(), Error> {
        let k = podutil::key(&pod);
        self.write(|s| {
            if s.pods.contains_key(&k) {
                return Err(Error::AlreadyExists {
                    kind: "pods",
                    name: pod.metadata.name.clone().unwrap_or_default(),
                });
            }
            let mut pod = pod;
            pod.metadata.resource_version = Some(s.revision.to_string());
            s.pods.insert(k, pod);
            Ok(())
        })
    }

    /// Changes a pod in place, then applies the deletion rule. Returns the pod as written,
    /// or `None` when it no longer exists (then `f` is not called).
    pub fn update_pod(&self, key: &str, f: impl FnOnce(&mut Pod)) -> Option<Pod> {
        self.write(|s| {
            let pod = s.pods.get_mut(key)?;
            f(pod);
            pod.metadata.resource_version = Some(s.revision.to_string());
            let pod = pod.clone();
            finalize(s, key);
            Some(pod)
        })
    }

    /// Removes one finalizer from a pod (a no-op when the pod is gone).
    pub fn remove_pod_finalizer(&self, key: &str, finalizer: &str) {
        self.update_pod(key, |p| {
            if let Some(f) = p.metadata.finalizers.as_mut() {
                f.retain(|x| x != finalizer);
                if f.is_empty() {
                    p.metadata.finalizers = None;
                }
            }
        });
    }

    /// Marks a pod for deletion (graceful: the kubelet stops it, then it goes away).
    pub fn delete_pod(&self, key: &str, now: Timestamp) -> Option<Pod> {
        self.update_pod(key, |p| {
            if p.metadata.deletion_timestamp.is_none() {
                p.metadata.deletion_timestamp = Some(Time(now));
                p.metadata.deletion_grace_period_seconds = Some(0);
            }
        })
    }

    /// Records an Event about `object`.
    pub fn record_event(
        &self,
        object: ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
        source: &str,
        now: Timestamp,
    ) {
        let ns = object.namespace.clone();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    object.name.as_deref().unwrap_or(""),
                    now.as_nanosecond()
                )),
                namespace: ns,
                ..Default::default()
            },
            involved_object: object,
            type_: Some(type_.into()),
            reason: Some(reason.into()),
            message: Some(message.into()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            count: Some(1),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some(source.into()),
                host: None,
            }),
            reporting_component: Some(source.into()),
            ..Default::default()
        };
        self.write(|s| s.events.push(event.clone()));
        let _ = self.events.send(event);
    }

    /// Events about the object named `name` in `namespace`.
    pub fn events_for(&self, namespace: &str, name: &str) -> Vec<Event> {
        self.read(|s| {
            s.events
                .iter()
                .filter(|e| {
                    e.involved_object.name.as_deref() == Some(name)
                        && e.involved_object.namespace.as_deref() == Some(namespace)
                })
                .cloned()
                .collect()
        })
    }
}

/// The API server's rule: a deleted object without finalizers whose pod has stopped goes.
fn finalize(s: &mut State, key: &str) {
    let Some(pod) = s.pods.get(key) else { return };
    let done = podutil::is_terminal(pod)
        || pod
            .status
            .as_ref()
            .and_then(|st| st.start_time.as_ref())
            .is_none();
    if podutil::is_deleting(pod)
        && pod
            .metadata
            .finalizers
            .as_ref()
            .is_none_or(|f| f.is_empty())
        && done
    {
        s.pods.remove(key);
    }
}

fn not_found(kind: &'static str, key: &str) -> Error {
    Error::NotFound {
        kind,
        name: key.rsplit('/').next().unwrap_or(key).to_string(),
    }
}

/// A reference to `pod` for Events.
pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// A reference to `job` for Events.
pub fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}
