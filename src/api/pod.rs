//! Pod predicates shared by the Job controller and the kubelet.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::job::COMPLETION_INDEX_KEY;

/// Pod phases.
pub mod phase {
    /// Accepted, containers not all started.
    pub const PENDING: &str = "Pending";
    /// Containers started.
    pub const RUNNING: &str = "Running";
    /// All containers exited 0 and will not restart.
    pub const SUCCEEDED: &str = "Succeeded";
    /// All containers terminated, at least one in failure.
    pub const FAILED: &str = "Failed";
}

/// The pod's phase, `Pending` when not yet reported.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or(phase::PENDING)
}

/// Succeeded or Failed: the pod will not run again.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), phase::SUCCEEDED | phase::FAILED)
}

/// Has a deletionTimestamp.
pub fn is_deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Has the Ready condition True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Has `finalizer`.
pub fn has_finalizer(pod: &Pod, finalizer: &str) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// The completion index from the annotation (upstream reads the annotation), if valid.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(COMPLETION_INDEX_KEY))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|i| *i >= 0)
}

/// The uid of the pod's controller (its Job), from the owner reference marked
/// `controller: true`.
pub fn controller_uid(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// `namespace/name`.
pub fn key(pod: &Pod) -> String {
    super::meta::namespaced_key(
        pod.metadata.namespace.as_deref(),
        pod.metadata.name.as_deref(),
    )
}

/// Sum of restartCount over init and regular containers.
pub fn restart_count(pod: &Pod) -> i32 {
    pod.status.as_ref().map_or(0, |s| {
        s.init_container_statuses
            .iter()
            .chain(s.container_statuses.iter())
            .flatten()
            .map(|c| c.restart_count)
            .sum()
    })
}

/// The pod's QoS class (upstream `GetPodQOS`): Guaranteed when every container has cpu and
/// memory limits equal to its requests, BestEffort when no container asks for anything,
/// Burstable otherwise.
pub fn qos_class(spec: &k8s_openapi::api::core::v1::PodSpec) -> &'static str {
    let containers: Vec<&k8s_openapi::api::core::v1::Container> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let r = c.resources.as_ref();
        let limits = r.and_then(|r| r.limits.as_ref());
        let requests = r.and_then(|r| r.requests.as_ref());
        for res in ["cpu", "memory"] {
            let l = limits.and_then(|m| m.get(res));
            let q = requests.and_then(|m| m.get(res)).or(l);
            any |= l.is_some() || q.is_some();
            if l.is_none() || l.map(|x| &x.0) != q.map(|x| &x.0) {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}
/// When a pod finished, as upstream's `getFinishedTime`: the latest container finish time
/// if all containers terminated, else the deletion time, else the creation time.
pub fn finish_time(pod: &Pod) -> Option<Timestamp> {
    let status = pod.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.as_ref());
    if let Some(cs) = statuses {
        let finished: Option<Vec<Timestamp>> = cs
            .iter()
            .map(|c| {
                c.state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.finished_at.as_ref())
                    .map(|t| t.0)
            })
            .collect();
        if let Some(times) = finished
            && let Some(latest) = times.into_iter().max()
        {
            return Some(latest);
        }
    }
    pod.metadata
        .deletion_timestamp
        .as_ref()
        .or(pod.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}
