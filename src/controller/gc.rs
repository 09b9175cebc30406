//! The garbage collector and pod-lifecycle sweeps that `serve` runs after every change:
//! dependents of deleted Jobs (Background, Foreground, Orphan propagation), finalizers of
//! pods whose Job is gone, and TTL expiry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::ttl;
use crate::api::meta::{FOREGROUND_FINALIZER, JOB_TRACKING_FINALIZER, ORPHAN_FINALIZER};
use crate::api::pod as podutil;
use crate::store::{Store, remove_finalizer};

/// One sweep. Returns when it next needs to run by itself (a TTL expiring).
pub fn sweep(store: &Store, now: Timestamp) -> Option<Duration> {
    let jobs = store.jobs_shared();
    let by_uid: HashMap<&str, &Job> = jobs
        .iter()
        .filter_map(|j| j.metadata.uid.as_deref().map(|u| (u, &**j)))
        .collect();
    let mut next: Option<Duration> = None;

    // A sweep runs after every change, so it only looks at what needs something, through
    // the store's indexes: pods whose owner is gone or going, and pods being deleted while
    // still running. Settled pods of live Jobs cost nothing.
    let mut attention: Vec<Arc<Pod>> = Vec::new();
    for uid in store.pod_owners() {
        let owner_gone_or_going = by_uid
            .get(uid.as_str())
            .is_none_or(|j| j.metadata.deletion_timestamp.is_some());
        if owner_gone_or_going {
            attention.extend(store.pods_owned_by(&uid));
        }
    }
    attention.extend(store.deleting_pods());
    for pod in attention {
        let key = podutil::key(&pod);
        let owner = podutil::controller_uid(&pod).map(|u| by_uid.get(u).copied());
        match owner {
            // The owning Job is gone (Background deletion): delete the pod, uncounted.
            Some(None) => {
                store.remove_pod_finalizer(&key, JOB_TRACKING_FINALIZER);
                store.delete_pod(&key, now);
            }
            Some(Some(job)) if job.metadata.deletion_timestamp.is_some() => {
                let finalizers = job.metadata.finalizers.clone().unwrap_or_default();
                if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
                    store.update_pod(&key, |p| {
                        p.metadata.owner_references = None;
                        remove_finalizer(&mut p.metadata, JOB_TRACKING_FINALIZER);
                    });
                } else if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
                    store.remove_pod_finalizer(&key, JOB_TRACKING_FINALIZER);
                    store.delete_pod(&key, now);
                }
            }
            _ => {}
        }
    }

    // Jobs of CronJobs: Background deletion of the CronJob deletes them; Foreground and
    // Orphan work as for pods of Jobs.
    let cronjobs: HashMap<String, CronJob> = store
        .list::<CronJob>(None)
        .0
        .into_iter()
        .filter_map(|c| c.metadata.uid.clone().map(|u| (u, c)))
        .collect();
    for job in &jobs {
        let Some(owner) = job
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true) && o.kind == "CronJob")
        else {
            continue;
        };
        let key = crate::api::job::key(job);
        match cronjobs.get(&owner.uid) {
            None => {
                store.remove::<Job>(&key);
            }
            Some(cj) if cj.metadata.deletion_timestamp.is_some() => {
                let finalizers = cj.metadata.finalizers.clone().unwrap_or_default();
                if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
                    store.modify::<Job>(&key, |j| j.metadata.owner_references = None);
                } else if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
                    store.remove::<Job>(&key);
                }
            }
            Some(_) => {}
        }
    }
    // Read again: the loop above may just have orphaned or removed the last of them, and
    // no later write would bring the collector back to this CronJob.
    let jobs_now = store.jobs_shared();
    for cj in cronjobs
        .values()
        .filter(|c| c.metadata.deletion_timestamp.is_some())
    {
        let uid = cj.metadata.uid.clone().unwrap_or_default();
        let owns_any = jobs_now.iter().any(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        });
        if !owns_any {
            let key = format!(
                "{}/{}",
                cj.metadata.namespace.as_deref().unwrap_or("default"),
                cj.metadata.name.as_deref().unwrap_or("")
            );
            store.modify::<CronJob>(&key, |c| {
                remove_finalizer(&mut c.metadata, ORPHAN_FINALIZER);
                remove_finalizer(&mut c.metadata, FOREGROUND_FINALIZER);
            });
        }
    }

    // Owners waiting on their dependents.
    for job in &jobs {
        if job.metadata.deletion_timestamp.is_none() {
            if let Some(d) = ttl::expires_in(job, now) {
                if d.is_zero() {
                    // Upstream deletes expired Jobs with Foreground propagation.
                    let key = crate::api::job::key(job);
                    store.modify::<Job>(&key, |j| {
                        j.metadata.deletion_timestamp = Some(Time(now));
                        j.metadata
                            .finalizers
                            .get_or_insert_with(Vec::new)
                            .push(FOREGROUND_FINALIZER.into());
                    });
                } else {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
            continue;
        }
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let remaining = store.pods_owned_by(&uid);
        let key = crate::api::job::key(job);
        let finalizers = job.metadata.finalizers.clone().unwrap_or_default();
        if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) && remaining.is_empty() {
            store.modify::<Job>(&key, |j| {
                remove_finalizer(&mut j.metadata, ORPHAN_FINALIZER)
            });
        } else if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) && remaining.is_empty() {
            store.modify::<Job>(&key, |j| {
                remove_finalizer(&mut j.metadata, FOREGROUND_FINALIZER)
            });
        }
    }
    next
}
