//! The control loop: watch the store, `sync` each unfinished Job, `apply` the plan, and
//! sleep until something changes or a plan asks to look again.

pub mod apply;
pub mod job;

use std::sync::Arc;
use std::time::Duration;

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
        let mut requeue: Option<Duration> = None;
        let mut unfinished = 0;
        let mut progressing = 0;
        for j in store.jobs() {
            if is_finished(&j) {
                continue;
            }
            unfinished += 1;
            let uid = j.metadata.uid.clone().unwrap_or_default();
            let pods = store.pods_owned_by(&uid);
            if !is_paused(&j) || pods.iter().any(|p| !crate::api::pod::is_terminal(p)) {
                progressing += 1;
            }
            let now = clock.now();
            let plan = {
                let _span = tracing::debug_span!("sync job", job = %job_key(&j)).entered();
                job::sync(&j, &pods, now, &settings)
            };
            if let Some(r) = plan.requeue_after {
                requeue = Some(requeue.map_or(r, |q| q.min(r)));
            }
            if !plan.is_noop() {
                apply::apply(&store, &kubelet, &j, &plan, now);
            }
        }
        if unfinished == 0 || progressing == 0 {
            return;
        }
        let wait = requeue.unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn is_paused(job: &k8s_openapi::api::batch::v1::Job) -> bool {
    job.spec
        .as_ref()
        .is_some_and(|s| s.suspend == Some(true) || s.parallelism == Some(0))
}
