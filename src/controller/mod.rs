//! The control loop: sync each Job (and CronJob) that a write touched or whose last plan
//! asked to look again, `apply` the plan, and sleep until one of those happens.

pub mod apply;
pub mod cronjob;
pub mod gc;
pub mod job;
pub mod namespace;
pub mod queue;
pub mod ttl;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::api::admit::Policy;
use crate::api::job::{is_finished, key as job_key};
use crate::clock::Clock;
use crate::events::Recorder;
use crate::store::{Controller, Resource, Store, Touch};
use queue::WorkQueue;
use tokio::time::Instant;

/// What the controllers act with: the store, admission for what they create, their Event
/// recorders (each controller is its own component upstream), time. Not the kubelet: it
/// finds the pods bound to its node by watching the store, as on a cluster.
pub struct Context {
    /// The objects.
    pub store: Arc<Store>,
    /// Admission of the Jobs and pods the controllers create.
    pub admission: Arc<Policy>,
    /// `job-controller`'s Events.
    pub job_events: Recorder,
    /// `cronjob-controller`'s Events.
    pub cronjob_events: Recorder,
    /// Time.
    pub clock: Clock,
}

impl Context {
    /// The controllers' context over `store`.
    pub fn new(store: Arc<Store>, admission: Arc<Policy>, clock: Clock) -> Self {
        Context {
            job_events: Recorder::new(store.clone(), "job-controller"),
            cronjob_events: Recorder::new(store.clone(), "cronjob-controller"),
            store,
            admission,
            clock,
        }
    }
}

/// Runs the Job controller until every Job in the store is finished, or until the only
/// unfinished Jobs are paused (`suspend: true` or `parallelism: 0`) with no pod left
/// running: nothing more can happen to them without an update, which `run` cannot receive.
pub async fn run_until_finished(cx: Context, settings: job::Settings) {
    let store = &cx.store;
    let touched = store.track(&[Resource::Jobs, Resource::Pods]);
    let mut jobs = WorkQueue::new();
    for j in store.jobs_shared() {
        jobs.add(job_key(&j));
    }
    loop {
        route(touched.drain(), &mut jobs, &mut WorkQueue::new());
        sync_jobs(&cx, &settings, &mut jobs).await;
        if !progressing(store) {
            return;
        }
        tokio::select! {
            _ = touched.changed() => {}
            _ = sleep_until(jobs.next_due()) => {}
        }
    }
}

/// Whether some Job can still change without an update: unfinished, and not paused or
/// with a pod still running.
fn progressing(store: &Store) -> bool {
    store.jobs_shared().iter().any(|j| {
        !is_finished(j)
            && j.metadata.deletion_timestamp.is_none()
            && (!is_paused(j) || {
                let uid = j.metadata.uid.as_deref().unwrap_or_default();
                store
                    .pods_for_sync(uid)
                    .iter()
                    .any(|p| !crate::api::pod::is_terminal(p))
            })
    })
}

/// Files each write under the controller that must look at it: a Job and a pod's Job
/// for the Job controller, a CronJob and a Job's CronJob for the CronJob controller.
fn route(touches: Vec<Touch>, jobs: &mut WorkQueue, cronjobs: &mut WorkQueue) {
    for t in touches {
        match t.resource {
            Resource::Jobs => {
                if let Some(cj) = t.controller_of("CronJob") {
                    cronjobs.add(cj);
                }
                jobs.add(t.key);
            }
            Resource::Pods => {
                if let Some(j) = t.controller_of("Job") {
                    jobs.add(j);
                }
            }
            Resource::CronJobs => cronjobs.add(t.key),
            Resource::Events
            | Resource::Namespaces
            | Resource::ConfigMaps
            | Resource::Secrets
            | Resource::Services => {}
        }
    }
}

/// Syncs the Jobs that are due, one key at a time (upstream's job controller syncs a key
/// per worker): a write touches one Job, so the cost of a turn is that Job and its pods,
/// not every Job stored.
async fn sync_jobs(cx: &Context, settings: &job::Settings, queue: &mut WorkQueue) {
    for (i, key) in queue.take(Instant::now()).into_iter().enumerate() {
        match sync_job(cx, settings, &key) {
            Some(after) => queue.add_after(&key, Instant::now() + after),
            None => queue.forget(&key),
        }
        // A burst of keys (start-up, a thousand pods finishing) lets the tasks sharing
        // this worker run between syncs (under `run` the kubelet's, under `serve` the
        // forgetting of deleted pods).
        if i % 64 == 63 {
            tokio::task::yield_now().await;
        }
    }
}

/// One Job's sync and apply; returns when to look again.
fn sync_job(cx: &Context, settings: &job::Settings, key: &str) -> Option<Duration> {
    let store = &cx.store;
    let j = store.get_shared::<Job>(key)?;
    // Jobs being deleted create nothing more; the garbage collector handles them.
    if is_finished(&j) || j.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let uid = j.metadata.uid.as_deref().unwrap_or_default();
    let pods = store.pods_for_sync(uid);
    let now = cx.clock.now();
    let plan = {
        let _span = tracing::debug_span!("sync job", job = %key).entered();
        job::sync(&j, &pods, now, settings)
    };
    let mut requeue = plan.requeue_after;
    if !plan.is_noop() && !apply::apply(cx, &j, &plan, now) {
        // A write failed (a pod's name taken, the store refusing): nothing else may touch
        // this Job soon, so look again shortly, as upstream requeues a failed sync.
        requeue = Some(requeue.map_or(RETRY_FAILED_SYNC, |r| r.min(RETRY_FAILED_SYNC)));
    }
    requeue
}

/// Whether a write concerns the garbage collector or the TTL controller: an object removed
/// or being deleted (its dependents, its owner's finalizers), an object whose controller is
/// gone, another object under the same name, being deleted, or of a kind no controller
/// here runs (an orphan or a dependent to collect), or a Job with
/// `ttlSecondsAfterFinished`.
fn needs_collecting(store: &Store, touches: &[Touch]) -> bool {
    fn settled<K: crate::store::Object>(store: &Store, c: &Controller) -> bool {
        store.get_shared::<K>(&c.key).is_some_and(|o| {
            o.metadata().uid.as_deref() == Some(c.uid.as_str())
                && o.metadata().deletion_timestamp.is_none()
        })
    }
    touches.iter().any(|t| {
        t.deleting
            || match (&t.controller, t.resource) {
                (Some(c), _) if c.kind == "Job" => !settled::<Job>(store, c),
                (Some(c), _) if c.kind == "CronJob" => !settled::<CronJob>(store, c),
                // The collector deletes pods whose controller is not a Job.
                (Some(_), Resource::Pods) => true,
                _ => false,
            }
            || (t.resource == Resource::Jobs
                && store.get_shared::<Job>(&t.key).is_some_and(|j| {
                    j.spec
                        .as_ref()
                        .is_some_and(|s| s.ttl_seconds_after_finished.is_some())
                }))
    })
}

/// How soon a sync whose writes failed is retried.
const RETRY_FAILED_SYNC: Duration = Duration::from_secs(1);

/// Sleeps until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Runs the Job controller, the CronJob controller, the garbage collector and the TTL
/// controller until `shutdown` turns true (`wasmjob serve`).
pub async fn run_forever(
    cx: Context,
    settings: job::Settings,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let (store, clock) = (&cx.store, cx.clock);
    // CronJobs without `timeZone` follow the controller's zone, as upstream.
    let local = jiff::tz::TimeZone::system();
    let touched = store.track(&[
        Resource::Jobs,
        Resource::Pods,
        Resource::CronJobs,
        Resource::Namespaces,
    ]);
    // While a namespace is being deleted the namespace controller looks after every
    // write, and every second (an Event written after its last pod went touches nothing
    // it tracks), until the namespace is gone.
    let mut terminating = true;
    let mut namespaces_at: Option<Instant> = None;
    let mut jobs = WorkQueue::new();
    let mut cronjobs = WorkQueue::new();
    // Everything once at start-up, as an informer's initial list adds every key.
    for j in store.jobs_shared() {
        jobs.add(job_key(&j));
    }
    for cj in store.list_shared::<CronJob>(None).0 {
        cronjobs.add(object_key(&cj.metadata));
    }
    let mut durability = store.durability();
    let mut gc_at: Option<Instant> = Some(Instant::now());
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
        let touches = touched.drain();
        let namespaces_due = namespaces_at.is_some_and(|at| at <= Instant::now());
        if terminating
            || namespaces_due
            || touches.iter().any(|t| t.resource == Resource::Namespaces)
        {
            terminating = namespace::sweep(store, clock.now());
            namespaces_at = terminating.then(|| Instant::now() + Duration::from_secs(1));
        }
        let collect = needs_collecting(store, &touches);
        route(touches, &mut jobs, &mut cronjobs);
        sync_jobs(&cx, &settings, &mut jobs).await;
        sync_cronjobs(&cx, &local, &mut cronjobs);
        // The collector looks at the whole store: after the writes it acts on, or when a
        // TTL it found is due.
        if collect || gc_at.is_some_and(|at| at <= Instant::now()) {
            gc_at = gc::sweep(store, clock.now()).map(|d| Instant::now() + d);
        }
        let next = [jobs.next_due(), cronjobs.next_due(), gc_at, namespaces_at]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            _ = touched.changed() => {}
            _ = sleep_until(next) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// The CronJob controller's turn: syncs the CronJobs that are due, each with the Jobs it
/// owns.
fn sync_cronjobs(cx: &Context, local: &jiff::tz::TimeZone, queue: &mut WorkQueue) {
    for key in queue.take(Instant::now()) {
        match sync_cronjob(cx, local, &key) {
            Some(after) => queue.add_after(&key, Instant::now() + after),
            None => queue.forget(&key),
        }
    }
}

fn sync_cronjob(cx: &Context, local: &jiff::tz::TimeZone, key: &str) -> Option<Duration> {
    let store = &cx.store;
    let cj = store.get::<CronJob>(key)?;
    let uid = cj.metadata.uid.as_deref().unwrap_or_default();
    let (jobs, _) =
        store.list_shared::<Job>(Some(cj.metadata.namespace.as_deref().unwrap_or("default")));
    let owned: Vec<Job> = jobs
        .iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .map(|j| Job::clone(j))
        .collect();
    let now = cx.clock.now();
    let plan = cronjob::sync(&cj, &owned, now, local);
    let next = plan.requeue_after;
    apply::apply_cron(cx, &cj, plan, now);
    next
}

fn object_key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    crate::store::key(meta.namespace.as_deref(), meta.name.as_deref())
}

fn is_paused(job: &k8s_openapi::api::batch::v1::Job) -> bool {
    job.spec
        .as_ref()
        .is_some_and(|s| s.suspend == Some(true) || s.parallelism == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(resource: Resource, key: &str, controller: Option<(&str, &str)>) -> Touch {
        Touch {
            resource,
            key: key.into(),
            controller: controller.map(|(kind, key)| Controller {
                kind: kind.into(),
                key: key.into(),
                uid: format!("uid-{}", key.trim_start_matches("ns/")),
            }),
            deleting: false,
        }
    }

    #[test]
    fn a_write_queues_only_the_controllers_that_look_at_it() {
        let (mut jobs, mut cronjobs) = (WorkQueue::new(), WorkQueue::new());
        route(
            vec![
                // A pod queues its Job, not itself.
                touch(Resource::Pods, "ns/p", Some(("Job", "ns/a"))),
                // A bare pod (no controller) queues nothing.
                touch(Resource::Pods, "ns/bare", None),
                // A Job queues itself and its CronJob.
                touch(Resource::Jobs, "ns/b", Some(("CronJob", "ns/nightly"))),
                touch(Resource::CronJobs, "ns/hourly", None),
                touch(Resource::Events, "ns/e", Some(("Job", "ns/c"))),
            ],
            &mut jobs,
            &mut cronjobs,
        );
        let now = Instant::now();
        assert_eq!(jobs.take(now), ["ns/a", "ns/b"]);
        assert_eq!(cronjobs.take(now), ["ns/nightly", "ns/hourly"]);
    }

    #[test]
    fn the_collector_runs_for_deletions_orphans_and_ttls_only() {
        let store = Store::new();
        let mut job = Job::default();
        job.metadata.name = Some("ttl".into());
        job.metadata.namespace = Some("ns".into());
        job.metadata.uid = Some("uid-ttl".into());
        job.spec = Some(k8s_openapi::api::batch::v1::JobSpec {
            ttl_seconds_after_finished: Some(60),
            ..Default::default()
        });
        store.create(job).unwrap();
        let mut plain = Job::default();
        plain.metadata.name = Some("plain".into());
        plain.metadata.namespace = Some("ns".into());
        plain.metadata.uid = Some("uid-plain".into());
        store.create(plain).unwrap();
        let mut other = Job::default();
        other.metadata.name = Some("recreated".into());
        other.metadata.namespace = Some("ns".into());
        other.metadata.uid = Some("a-new-uid".into());
        store.create(other).unwrap();

        let pod_of = |job: &str| touch(Resource::Pods, "ns/p", Some(("Job", job)));
        assert!(!needs_collecting(&store, &[pod_of("ns/plain")]));
        assert!(!needs_collecting(
            &store,
            &[touch(Resource::Jobs, "ns/plain", None)]
        ));
        // Its Job is gone, or another Job has its name: an orphan to collect.
        assert!(needs_collecting(&store, &[pod_of("ns/gone")]));
        assert!(needs_collecting(&store, &[pod_of("ns/recreated")]));
        // Controlled by a kind no controller here runs.
        assert!(needs_collecting(
            &store,
            &[touch(Resource::Pods, "ns/p", Some(("ReplicaSet", "ns/rs")))]
        ));
        // Its controller is being deleted (an orphaning delete clears the reference).
        store.modify::<Job>("ns/plain", |j| {
            j.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
            );
            j.metadata.finalizers = Some(vec!["orphan".into()]);
        });
        assert!(needs_collecting(&store, &[pod_of("ns/plain")]));
        assert!(needs_collecting(
            &store,
            &[touch(Resource::Jobs, "ns/ttl", None)]
        ));
        let mut deleted = pod_of("ns/ttl");
        deleted.deleting = true;
        assert!(needs_collecting(&store, &[deleted]));
    }
}
