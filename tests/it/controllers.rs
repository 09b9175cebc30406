//! The controllers in process on a paused tokio clock, no kubelet: the test plays the node
//! (it finishes pods), and upstream's delays (a Job's pod back-off, a finished Job's TTL, a
//! CronJob's minutes) pass in simulated time. The controllers' wall clock is derived from
//! tokio's, so timestamps move with it. Every change is read from the store's watch feed.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use wasmjob::api::admit::{self, Policy};
use wasmjob::clock::Clock;
use wasmjob::controller::job::{Backoff, Settings};
use wasmjob::controller::{self, Context};
use wasmjob::store::{EventType, Resource, Store};

/// The controllers running over a fresh store, started at `wall`.
struct Plane {
    store: Arc<Store>,
    clock: Clock,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Plane {
    fn start(wall: Timestamp) -> Plane {
        let store = Arc::new(Store::new());
        let clock = Clock::starting_at(wall);
        let cx = Context::new(store.clone(), Arc::new(Policy::default()), clock);
        // Upstream's Job back-off: 10 s doubling, at most 6 min.
        let settings = Settings {
            backoff: Backoff {
                base: Duration::from_secs(10),
                max: Duration::from_secs(360),
            },
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(controller::run_forever(cx, settings, stopped));
        Plane {
            store,
            clock,
            stop,
            task,
        }
    }

    fn create<K: admit::Admit + wasmjob::store::Object>(&self, yaml: &str) -> K {
        let obj: K = wasmjob::yaml::from_slice(yaml.as_bytes()).expect("yaml");
        let obj = admit::create(obj, &Policy::default(), self.clock.now()).expect("admitted");
        self.store.create(obj).expect("stored")
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// The Job's condition of `type_`, once it has one: read again after each Job change on
/// `feed`.
async fn condition(
    plane: &Plane,
    feed: &mut tokio::sync::broadcast::Receiver<wasmjob::store::WatchEvent>,
    key: &str,
    type_: &str,
) -> k8s_openapi::api::batch::v1::JobCondition {
    loop {
        let j = plane.store.job(key).expect("the Job");
        let conditions = j.status.and_then(|s| s.conditions).unwrap_or_default();
        if let Some(c) = conditions.into_iter().find(|c| c.type_ == type_) {
            return c;
        }
        feed.recv().await.expect("the feed keeps up");
    }
}

/// Marks a pod as a node would when its container ended with `exit_code`.
fn finish(store: &Store, key: &str, exit_code: i32, now: Timestamp) {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    store.update_pod(key, |p| {
        p.status = Some(PodStatus {
            phase: Some(
                if exit_code == 0 {
                    "Succeeded"
                } else {
                    "Failed"
                }
                .into(),
            ),
            start_time: Some(Time(now)),
            container_statuses: Some(vec![ContainerStatus {
                name: "main".into(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code,
                        finished_at: Some(Time(now)),
                        reason: Some(if exit_code == 0 { "Completed" } else { "Error" }.into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        });
    });
}

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: default}
spec:
  backoffLimit: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: m.wasm}]
";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Each failed pod is replaced after the Job's back-off: 10 s, 20 s, 40 s; the fourth
/// failure is past `backoffLimit: 3` and fails the Job.
#[tokio::test(start_paused = true)]
async fn failed_pods_are_replaced_after_10_20_40_seconds() {
    let plane = Plane::start(at("2026-01-01T00:00:00Z"));
    let (_, mut pods) = plane.store.watch(Resource::Pods, 0).unwrap();
    plane.create::<Job>(JOB);
    let mut created = Vec::new();
    while created.len() < 4 {
        let e = pods.recv().await.unwrap();
        if e.type_ != EventType::Added {
            continue;
        }
        created.push(plane.clock.now());
        finish(
            &plane.store,
            &format!("default/{}", e.name),
            1,
            plane.clock.now(),
        );
    }
    let gaps: Vec<u64> = created
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs() as u64)
        .collect();
    assert_eq!(gaps, [10, 20, 40], "{created:?}");
    let (_, mut jobs) = plane.store.watch(Resource::Jobs, 0).unwrap();
    let failed = condition(&plane, &mut jobs, "default/j", "Failed").await;
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    plane.stop().await;
}

/// A finished Job with `ttlSecondsAfterFinished: 100` is there at 99 s and gone after
/// 100 s, its pods with it.
#[tokio::test(start_paused = true)]
async fn a_finished_job_is_deleted_when_its_ttl_runs_out() {
    let plane = Plane::start(at("2026-01-01T00:00:00Z"));
    let (_, mut pods) = plane.store.watch(Resource::Pods, 0).unwrap();
    plane.create::<Job>(&JOB.replace("backoffLimit: 3", "ttlSecondsAfterFinished: 100"));
    let pod = loop {
        let e = pods.recv().await.unwrap();
        if e.type_ == EventType::Added {
            break e.name;
        }
    };
    finish(
        &plane.store,
        &format!("default/{pod}"),
        0,
        plane.clock.now(),
    );
    let (_, mut jobs) = plane.store.watch(Resource::Jobs, 0).unwrap();
    let finished = loop {
        let j = plane.store.job("default/j").unwrap();
        if let Some(t) = j.status.and_then(|s| s.completion_time) {
            break t.0;
        }
        jobs.recv().await.unwrap();
    };
    let since = |p: &Plane| p.clock.now().duration_since(finished).as_secs_f64();
    tokio::time::sleep(Duration::from_secs(99)).await;
    assert!(
        plane.store.job("default/j").is_some(),
        "gone early, at {}s",
        since(&plane)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        plane.store.job("default/j").is_none(),
        "still there at {}s",
        since(&plane)
    );
    // The pod goes with its Job (background propagation).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(plane.store.pods().is_empty(), "{:?}", plane.store.pods());
    plane.stop().await;
}

/// A `* * * * *` CronJob created at 00:00:30 makes its Jobs at 00:01, 00:02 and 00:03 of
/// the simulated clock, named after the scheduled minute as upstream names them, and
/// keeps `successfulJobsHistoryLimit` of them.
#[tokio::test(start_paused = true)]
async fn a_cronjob_creates_a_job_each_scheduled_minute() {
    let plane = Plane::start(at("2026-01-01T00:00:30Z"));
    let (_, mut jobs) = plane.store.watch(Resource::Jobs, 0).unwrap();
    plane.create::<CronJob>(
        "apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: default}
spec:
  schedule: '* * * * *'
  timeZone: Etc/UTC
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: m.wasm}]
",
    );
    let (_, mut pods) = plane.store.watch(Resource::Pods, 0).unwrap();
    let mut made: Vec<(String, Timestamp)> = Vec::new();
    let third_done = |p: &Plane, made: &[(String, Timestamp)]| {
        made.get(2).is_some_and(|(name, _)| {
            p.store
                .job(&format!("default/{name}"))
                .is_some_and(|j| j.status.and_then(|s| s.succeeded) == Some(1))
        })
    };
    // Until the third Job has succeeded (its pod may come after it), within ten minutes
    // of the simulated clock (the cron goes on firing, so a stuck test fails, not hangs).
    while !third_done(&plane, &made) {
        assert!(
            plane.clock.now() < at("2026-01-01T00:10:00Z"),
            "the third Job never succeeded: {made:?}"
        );
        tokio::select! {
            e = jobs.recv() => {
                let e = e.unwrap();
                if e.type_ == EventType::Added && made.len() < 3 {
                    made.push((e.name.clone(), plane.clock.now()));
                }
            }
            // Each Job's pod succeeds at once.
            e = pods.recv() => {
                let e = e.unwrap();
                if e.type_ == EventType::Added {
                    finish(&plane.store, &format!("default/{}", e.name), 0, plane.clock.now());
                }
            }
        }
    }
    let minute = |m: i64| at("2026-01-01T00:00:00Z").as_second() / 60 + m;
    let names: Vec<String> = made.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names,
        [1, 2, 3].map(|m| format!("c-{}", minute(m))),
        "{made:?}"
    );
    for (i, (_, t)) in made.iter().enumerate() {
        let want =
            at("2026-01-01T00:00:00Z") + jiff::SignedDuration::from_secs(60 * (i as i64 + 1));
        let late = t.duration_since(want);
        assert!(
            late >= jiff::SignedDuration::ZERO && late < jiff::SignedDuration::from_secs(1),
            "job {i} at {t}, scheduled {want}"
        );
    }
    // The history limit: once the third has succeeded, the first is deleted.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut left: Vec<String> = plane
        .store
        .jobs()
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    left.sort();
    assert_eq!(left, [2, 3].map(|m| format!("c-{}", minute(m))));
    let cj: CronJob = plane.store.get("default/c").unwrap();
    let last = cj.status.and_then(|s| s.last_schedule_time).unwrap().0;
    assert!(last >= at("2026-01-01T00:03:00Z"), "{last}");
    plane.stop().await;
}

/// `activeDeadlineSeconds: 2` fails the Job at 2 s of the simulated clock, not before,
/// with upstream's reason and message, and deletes its running pod.
#[tokio::test(start_paused = true)]
async fn a_job_past_its_active_deadline_fails_at_that_second() {
    let plane = Plane::start(at("2026-01-01T00:00:00Z"));
    let (_, mut jobs) = plane.store.watch(Resource::Jobs, 0).unwrap();
    let (_, mut pods) = plane.store.watch(Resource::Pods, 0).unwrap();
    plane.create::<Job>(&JOB.replace("backoffLimit: 3", "activeDeadlineSeconds: 2"));
    let began = tokio::time::Instant::now();
    let failed = condition(&plane, &mut jobs, "default/j", "Failed").await;
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2100),
        "failed after {took:?}"
    );
    assert_eq!(failed.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Job was active longer than specified deadline")
    );
    // Its pod was made, then deleted (never started, so it goes at once, as no kubelet
    // holds it).
    let created = pods.recv().await.unwrap();
    assert_eq!(created.type_, EventType::Added);
    let pods = plane.store.pods();
    assert!(
        pods.iter().all(|p| p.metadata.deletion_timestamp.is_some()),
        "{pods:?}"
    );
    plane.stop().await;
}
