//! Carries out the controllers' plans: the only place the Job and CronJob controllers
//! write to the store. What they create goes through admission; the kubelet finds the
//! pods bound to its node by watching.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;

use k8s_openapi::api::batch::v1::CronJob;

use super::Context;
use super::cronjob::CronPlan;
use super::job::{DeletionReason, Plan, new_pod};
use crate::api::admit;
use crate::api::job::key as job_key;
use crate::api::meta::JOB_TRACKING_FINALIZER;

/// Applies `plan` to `job` in the order that keeps accounting exact: the checkpoint status
/// first, then finalizer removals, deletions, creations, and the final status last.
/// `false` when a write failed (the next sync of the Job retries what is still needed).
pub fn apply(cx: &Context, job: &Job, plan: &Plan, now: Timestamp) -> bool {
    let (store, admission) = (&cx.store, &*cx.admission);
    let key = job_key(job);
    let ns = job
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let pod_key = |name: &str| format!("{ns}/{name}");
    let event = |type_: &str, reason: &str, message: &str| {
        cx.job_events.event(
            crate::api::meta::reference_to(job),
            type_,
            reason,
            message,
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
    }
    for c in &plan.create {
        let created = admit::create(new_pod(job, c), admission, now)
            .map_err(|e| e.to_string())
            .and_then(|pod| {
                let name = pod.metadata.name.clone().unwrap_or_default();
                store
                    .create_pod(pod)
                    .map(|()| name)
                    .map_err(|e| e.to_string())
            });
        match created {
            Ok(name) => {
                event(
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                );
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
/// admits one from a client, then stores it.
pub fn create_job(cx: &Context, job: Job, now: Timestamp) -> Result<Job, String> {
    let job = admit::create(job, &cx.admission, now).map_err(|e| e.to_string())?;
    cx.store.create(job).map_err(|e| e.to_string())
}

/// Carries out a CronJob's plan: history deletions, the new Job (through admission), the
/// Events, then the status.
pub fn apply_cron(cx: &Context, cj: &CronJob, plan: CronPlan, now: Timestamp) {
    let store = &cx.store;
    let ns = cj
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let key = format!("{ns}/{}", cj.metadata.name.as_deref().unwrap_or(""));
    let reference = crate::api::meta::reference_to(cj);
    let mut status = plan.status;
    let mut events = plan.events;
    for name in &plan.delete {
        store.remove::<Job>(&format!("{ns}/{name}"));
    }
    if let Some(job) = plan.create {
        let name = job.metadata.name.clone().unwrap_or_default();
        match create_job(cx, job, now) {
            Ok(created) => {
                if let Some(st) = status.as_mut() {
                    super::cronjob::record_uid(
                        st,
                        &name,
                        created.metadata.uid.as_deref().unwrap_or(""),
                    );
                }
            }
            Err(e) => {
                events.retain(|ev| ev.reason != "SuccessfulCreate");
                events.push(super::job::JobEvent {
                    type_: "Warning",
                    reason: "FailedCreate".into(),
                    message: format!("Error creating job: {e}"),
                });
                if let Some(active) = status.as_mut().and_then(|s| s.active.as_mut()) {
                    active.retain(|r| r.name.as_deref() != Some(name.as_str()));
                }
            }
        }
    }
    for e in events {
        cx.cronjob_events
            .event(reference.clone(), e.type_, &e.reason, &e.message, now);
    }
    if let Some(st) = status {
        store.modify::<CronJob>(&key, |c| c.status = Some(st));
    }
}
