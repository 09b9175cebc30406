//! Carries out a [`Plan`]: the only place the Job controller writes to the store or talks
//! to the kubelet.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;

use super::job::{DeletionReason, Plan, new_pod};
use crate::api::job::key as job_key;
use crate::api::meta::{JOB_TRACKING_FINALIZER, generated_name, new_uid};
use crate::kubelet::Kubelet;
use crate::store::Store;

/// Applies `plan` to `job` in the order that keeps accounting exact: the checkpoint status
/// first, then finalizer removals, deletions, creations, and the final status last.
/// `false` when a write failed (the next sync of the Job retries what is still needed).
pub fn apply(
    store: &Store,
    kubelet: &Arc<Kubelet>,
    job: &Job,
    plan: &Plan,
    now: Timestamp,
) -> bool {
    let key = job_key(job);
    let ns = job
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let pod_key = |name: &str| format!("{ns}/{name}");
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let event = |type_: &str, reason: &str, message: &str| {
        store.record_event(
            crate::api::meta::reference_to(job),
            type_,
            reason,
            message,
            "job-controller",
            now,
        );
    };

    // The checkpoint only matters when a crash can fall between it and the finalizer
    // removals, that is with a durable store.
    if let Some(cp) = plan.checkpoint.as_ref().filter(|_| store.is_durable())
        && let Err(e) = store.update_job_status(&key, cp.clone())
    {
        tracing::warn!(job = %key, error = %e, "job status checkpoint failed");
        return false;
    }
    let mut ok = true;
    for name in &plan.remove_finalizers {
        store.remove_pod_finalizer(&pod_key(name), JOB_TRACKING_FINALIZER);
    }
    for d in &plan.delete {
        let k = pod_key(&d.name);
        if d.reason != DeletionReason::JobFailed {
            // Not counted: the finalizer goes first so the pod's end is never tallied.
            store.remove_pod_finalizer(&k, JOB_TRACKING_FINALIZER);
        }
        if store.delete_pod(&k, now).is_some() {
            event(
                "Normal",
                "SuccessfulDelete",
                &format!("Deleted pod: {}", d.name),
            );
        }
        kubelet.kill(&k);
    }
    for c in &plan.create {
        let name = generated_name(&super::job::generate_name(&job_name, c.index));
        let pod = new_pod(job, c, name.clone(), new_uid(), now);
        match store.create_pod(pod) {
            Ok(()) => {
                event(
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                );
                kubelet.start(pod_key(&name));
            }
            Err(e) => {
                ok = false;
                event("Warning", "FailedCreate", &format!("Error creating: {e}"));
            }
        }
    }
    for e in &plan.events {
        event(e.type_, &e.reason, &e.message);
    }
    if let Some(status) = &plan.status
        && let Err(e) = store.update_job_status(&key, status.clone())
    {
        tracing::warn!(job = %key, error = %e, "job status update failed");
        ok = false;
    }
    ok
}

/// Admits a Job created by a controller (the CronJob controller) the way the API server
/// admits one from a client: uid, timestamps, defaults and validation.
pub fn create_job(store: &Store, mut job: Job, now: Timestamp) -> Result<Job, String> {
    job.metadata.uid = Some(new_uid());
    job.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
    job.metadata.generation = Some(1);
    crate::api::defaults::default_job(&mut job);
    let errors = crate::api::validation::validate_job(&job);
    if !errors.is_empty() {
        let name = job.metadata.name.clone().unwrap_or_default();
        return Err(crate::api::validation::invalid_message(
            "Job.batch",
            &name,
            &errors,
        ));
    }
    store.create(job).map_err(|e| e.to_string())
}
