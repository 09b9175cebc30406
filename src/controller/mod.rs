//! The control loop: watch the store, `sync` each unfinished Job, `apply` the plan, and
//! sleep until something changes or a plan asks to look again.

pub mod apply;
pub mod cronjob;
pub mod gc;
pub mod job;
pub mod schedule;
pub mod ttl;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::api::job::{is_finished, key as job_key};
use crate::clock::Clock;
use crate::kubelet::Kubelet;
use crate::store::Store;

/// Runs the Job controller until every Job in the store is finished, or until the only
/// unfinished Jobs are paused (`suspend: true` or `parallelism: 0`) with no pod left
/// running: nothing more can happen to them without an update, which `run` cannot receive.
pub async fn run_until_finished(
    store: Arc<Store>,
    kubelet: Arc<Kubelet>,
    settings: job::Settings,
    clock: Clock,
) {
    let mut changes = store.subscribe();
    loop {
        changes.borrow_and_update();
        let pass = sync_all(&store, &kubelet, &settings, clock);
        if pass.unfinished == 0 || pass.progressing == 0 {
            return;
        }
        let requeue = pass.requeue;
        let wait = requeue.unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// What one pass over all Jobs found.
struct Pass {
    unfinished: usize,
    progressing: usize,
    requeue: Option<Duration>,
}

fn sync_all(store: &Store, kubelet: &Arc<Kubelet>, settings: &job::Settings, clock: Clock) -> Pass {
    let mut pass = Pass {
        unfinished: 0,
        progressing: 0,
        requeue: None,
    };
    for j in store.jobs_shared() {
        // Jobs being deleted create nothing more; the garbage collector handles them.
        if is_finished(&j) || j.metadata.deletion_timestamp.is_some() {
            continue;
        }
        pass.unfinished += 1;
        let uid = j.metadata.uid.clone().unwrap_or_default();
        let pods = store.pods_for_sync(&uid);
        if !is_paused(&j) || pods.iter().any(|p| !crate::api::pod::is_terminal(p)) {
            pass.progressing += 1;
        }
        let now = clock.now();
        let plan = {
            let _span = tracing::debug_span!("sync job", job = %job_key(&j)).entered();
            job::sync(&j, &pods, now, settings)
        };
        if let Some(r) = plan.requeue_after {
            pass.requeue = Some(pass.requeue.map_or(r, |q| q.min(r)));
        }
        if !plan.is_noop() {
            apply::apply(store, kubelet, &j, &plan, now);
        }
    }
    pass
}

/// Runs the Job controller, the garbage collector and the TTL controller until `shutdown`
/// turns true (`wasmjob serve`).
pub async fn run_forever(
    store: Arc<Store>,
    kubelet: Arc<Kubelet>,
    settings: job::Settings,
    clock: Clock,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    // CronJobs without `timeZone` follow the controller's zone, as upstream.
    let local = jiff::tz::TimeZone::system();
    let mut changes = store.subscribe();
    let mut durability = store.durability();
    loop {
        // While the store cannot commit, acting would build on state that a restart
        // forgets (pods started that no stored object remembers): wait for it instead.
        if let (Err(e), Some(d)) = (store.writable(), durability.as_mut()) {
            tracing::warn!(error = %e, "controllers paused");
            tokio::select! {
                _ = d.wait_for(|d| d.failure.is_none()) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            tracing::info!("controllers resume");
            continue;
        }
        changes.borrow_and_update();
        let pass = sync_all(&store, &kubelet, &settings, clock);
        let cron_next = sync_cronjobs(&store, clock, &local);
        let gc_next = gc::sweep(&store, &kubelet, clock.now());
        let wait = [pass.requeue, cron_next, gc_next]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// One pass of the CronJob controller; returns when the next schedule is due.
fn sync_cronjobs(store: &Store, clock: Clock, local: &jiff::tz::TimeZone) -> Option<Duration> {
    let mut next: Option<Duration> = None;
    let (cronjobs, _) = store.list::<CronJob>(None);
    if cronjobs.is_empty() {
        return None;
    }
    let jobs = store.jobs();
    for cj in cronjobs {
        let uid = cj.metadata.uid.clone().unwrap_or_default();
        let owned: Vec<Job> = jobs
            .iter()
            .filter(|j| {
                j.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid && o.controller == Some(true))
            })
            .cloned()
            .collect();
        let now = clock.now();
        let plan = cronjob::sync(&cj, &owned, now, local);
        if let Some(r) = plan.requeue_after {
            next = Some(next.map_or(r, |n| n.min(r)));
        }
        apply_cron(store, &cj, plan, now);
    }
    next
}

fn apply_cron(store: &Store, cj: &CronJob, plan: cronjob::CronPlan, now: jiff::Timestamp) {
    let ns = cj
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let key = format!("{ns}/{}", cj.metadata.name.as_deref().unwrap_or(""));
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("CronJob".into()),
        name: cj.metadata.name.clone(),
        namespace: Some(ns.clone()),
        uid: cj.metadata.uid.clone(),
        ..Default::default()
    };
    let mut status = plan.status;
    let mut events = plan.events;
    for name in &plan.delete {
        store.remove::<Job>(&format!("{ns}/{name}"));
    }
    if let Some(job) = plan.create {
        let name = job.metadata.name.clone().unwrap_or_default();
        match apply::create_job(store, job, now) {
            Ok(created) => {
                if let Some(st) = status.as_mut() {
                    cronjob::record_uid(st, &name, created.metadata.uid.as_deref().unwrap_or(""));
                }
            }
            Err(e) => {
                events.retain(|ev| ev.reason != "SuccessfulCreate");
                events.push(job::JobEvent {
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
        store.record_event(
            reference.clone(),
            e.type_,
            &e.reason,
            &e.message,
            "cronjob-controller",
            now,
        );
    }
    if let Some(st) = status {
        store.modify::<CronJob>(&key, |c| c.status = Some(st));
    }
}

fn is_paused(job: &k8s_openapi::api::batch::v1::Job) -> bool {
    job.spec
        .as_ref()
        .is_some_and(|s| s.suspend == Some(true) || s.parallelism == Some(0))
}
