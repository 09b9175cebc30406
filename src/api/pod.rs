//! Pod predicates shared by the Job controller and the kubelet.

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

/// `namespace/name`.
pub fn key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("")
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
