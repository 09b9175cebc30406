//! Table tests of `sync` with a fake clock, following the scenarios of upstream
//! job_controller_test.go as digested in shared/reference/k8s-job-semantics.md, plus
//! property tests of the controller's invariants.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodSpec,
    PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use proptest::prelude::*;

use super::*;
use crate::api::job::COMPLETION_INDEX_KEY;
use crate::api::meta::JOB_TRACKING_FINALIZER;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn settings() -> Settings {
    Settings::default()
}

/// A defaulted Job `pi`: completions 1, parallelism 1, backoffLimit 6, restartPolicy Never.
struct JobFixture(Job);

fn job() -> JobFixture {
    JobFixture(Job {
        metadata: ObjectMeta {
            name: Some("pi".into()),
            namespace: Some("default".into()),
            uid: Some("job-uid".into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            completions: Some(1),
            parallelism: Some(1),
            backoff_limit: Some(6),
            completion_mode: Some("NonIndexed".into()),
            suspend: Some(false),
            pod_replacement_policy: Some("TerminatingOrFailed".into()),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    })
}

impl JobFixture {
    fn spec(mut self, f: impl FnOnce(&mut JobSpec)) -> Self {
        f(self.0.spec.as_mut().unwrap());
        self
    }
    fn completions(self, n: Option<i32>) -> Self {
        self.spec(|s| s.completions = n)
    }
    fn parallelism(self, n: i32) -> Self {
        self.spec(|s| s.parallelism = Some(n))
    }
    fn backoff_limit(self, n: i32) -> Self {
        self.spec(|s| s.backoff_limit = Some(n))
    }
    fn indexed(self) -> Self {
        self.spec(|s| s.completion_mode = Some("Indexed".into()))
    }
    fn deadline(self, secs: i64) -> Self {
        self.spec(|s| s.active_deadline_seconds = Some(secs))
    }
    fn on_failure(self) -> Self {
        self.spec(|s| s.template.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into()))
    }
    fn suspended(self, yes: bool) -> Self {
        self.spec(|s| s.suspend = Some(yes))
    }
    fn status(mut self, f: impl FnOnce(&mut JobStatus)) -> Self {
        f(self.0.status.get_or_insert_with(Default::default));
        self
    }
    fn started_at(self, at: Timestamp) -> Self {
        self.status(|s| s.start_time = Some(Time(at)))
    }
    fn build(self) -> Job {
        self.0
    }
}

struct PodFixture(Pod);

fn pod(name: &str) -> PodFixture {
    PodFixture(Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            finalizers: Some(vec![JOB_TRACKING_FINALIZER.into()]),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name: "pi".into(),
                uid: "job-uid".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            creation_timestamp: Some(Time(t(0))),
            ..Default::default()
        },
        spec: None,
        status: Some(PodStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    })
}

impl PodFixture {
    fn phase(mut self, p: &str) -> Self {
        self.0.status.as_mut().unwrap().phase = Some(p.into());
        self
    }
    fn running(self) -> Self {
        let mut p = self.phase("Running");
        p.0.status.as_mut().unwrap().conditions = Some(vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        }]);
        p
    }
    fn finished(self, phase: &str, code: i32, at: Timestamp) -> Self {
        let mut p = self.phase(phase);
        p.0.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
            name: "main".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    finished_at: Some(Time(at)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        p
    }
    fn succeeded_at(self, at: Timestamp) -> Self {
        self.finished("Succeeded", 0, at)
    }
    fn failed_at(self, at: Timestamp) -> Self {
        self.finished("Failed", 1, at)
    }
    fn index(mut self, i: i32) -> Self {
        let v = i.to_string();
        self.0.metadata.annotations =
            Some(BTreeMap::from([(COMPLETION_INDEX_KEY.into(), v.clone())]));
        self.0.metadata.labels = Some(BTreeMap::from([(COMPLETION_INDEX_KEY.into(), v)]));
        self
    }
    fn restarts(mut self, n: i32) -> Self {
        self.0.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
            name: "main".into(),
            restart_count: n,
            ..Default::default()
        }]);
        self
    }
    fn deleting(mut self, at: Timestamp) -> Self {
        self.0.metadata.deletion_timestamp = Some(Time(at));
        self
    }
    fn untracked(mut self) -> Self {
        self.0.metadata.finalizers = None;
        self
    }
    fn build(self) -> Pod {
        self.0
    }
}

fn conditions(status: &JobStatus) -> Vec<(String, String, String)> {
    status
        .conditions
        .iter()
        .flatten()
        .map(|c| {
            (
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn cond(t: &str, s: &str, r: &str) -> (String, String, String) {
    (t.into(), s.into(), r.into())
}

#[test]
fn a_new_job_creates_min_of_completions_and_parallelism_pods_and_starts() {
    let j = job().completions(Some(2)).parallelism(5).build();
    let plan = sync(&j, &[] as &[Pod], t(0), &settings());
    assert_eq!(plan.create.len(), 2);
    let st = plan.status.unwrap();
    assert_eq!(st.start_time, Some(Time(t(0))));
    assert_eq!(st.active, Some(2));
    assert_eq!(st.ready, Some(0));
    assert_eq!(st.terminating, Some(0));
    assert_eq!(
        st.uncounted_terminated_pods,
        Some(UncountedTerminatedPods::default())
    );
}

#[test]
fn active_pods_never_exceed_remaining_completions() {
    let j = job()
        .completions(Some(10))
        .parallelism(3)
        .started_at(t(0))
        .build();
    let pods: Vec<Pod> = (0..8)
        .map(|i| pod(&format!("s{i}")).succeeded_at(t(1)).untracked().build())
        .collect();
    let j = JobFixture(j).status(|s| s.succeeded = Some(8)).build();
    let plan = sync(&j, &pods, t(2), &settings());
    assert_eq!(plan.create.len(), 2);
}

#[test]
fn parallelism_zero_pauses_the_job() {
    let j = job().completions(Some(3)).parallelism(0).build();
    let plan = sync(&j, &[] as &[Pod], t(0), &settings());
    assert!(plan.create.is_empty());
}

#[test]
fn a_succeeded_pod_is_counted_through_the_ledger_and_completes_the_job() {
    let j = job().started_at(t(0)).build();
    let p = pod("pi-a").succeeded_at(t(5)).build();
    let plan = sync(&j, &[p], t(6), &settings());
    let cp = plan
        .checkpoint
        .expect("checkpoint before finalizer removal");
    assert_eq!(
        cp.uncounted_terminated_pods.unwrap().succeeded,
        Some(vec!["uid-pi-a".to_string()])
    );
    assert_eq!(plan.remove_finalizers, ["pi-a"]);
    let st = plan.status.unwrap();
    assert_eq!(st.succeeded, Some(1));
    assert_eq!(st.active, None);
    assert_eq!(
        conditions(&st),
        [
            cond("SuccessCriteriaMet", "True", "CompletionsReached"),
            cond("Complete", "True", "CompletionsReached")
        ]
    );
    assert_eq!(st.completion_time, Some(Time(t(6))));
    assert!(
        plan.events
            .iter()
            .any(|e| e.reason == "Completed" && e.message == "Job completed")
    );
}

#[test]
fn a_ledger_entry_whose_finalizer_removal_was_lost_is_counted_once() {
    // Crash between the checkpoint and the finalizer removal: the uid is staged and the pod
    // still carries the finalizer.
    let j = job()
        .completions(Some(2))
        .started_at(t(0))
        .status(|s| {
            s.uncounted_terminated_pods = Some(UncountedTerminatedPods {
                succeeded: Some(vec!["uid-a".into()]),
                failed: None,
            })
        })
        .build();
    let a = pod("a").succeeded_at(t(1)).build();
    let b = pod("b").running().build();
    let plan = sync(&j, &[a, b], t(2), &settings());
    assert_eq!(plan.remove_finalizers, ["a"]);
    assert_eq!(plan.status.unwrap().succeeded, Some(1));
    assert!(plan.create.is_empty());
}

#[test]
fn failed_pods_beyond_backoff_limit_fail_the_job_with_both_conditions() {
    let j = job()
        .backoff_limit(2)
        .started_at(t(0))
        .status(|s| s.failed = Some(2))
        .build();
    let p = pod("c").failed_at(t(30)).build();
    let plan = sync(&j, &[p], t(31), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.failed, Some(3));
    assert_eq!(
        conditions(&st),
        [
            cond("FailureTarget", "True", "BackoffLimitExceeded"),
            cond("Failed", "True", "BackoffLimitExceeded")
        ]
    );
    let failed = st
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Failed")
        .unwrap();
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(st.completion_time, None);
    assert!(plan.create.is_empty());
    assert!(
        plan.events
            .iter()
            .any(|e| e.type_ == "Warning" && e.reason == "BackoffLimitExceeded")
    );
}

#[test]
fn backoff_limit_n_allows_n_plus_one_attempts() {
    let j = job()
        .backoff_limit(2)
        .started_at(t(0))
        .status(|s| s.failed = Some(1))
        .build();
    let p = pod("b").failed_at(t(10)).build();
    let plan = sync(&j, &[p], t(100), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.failed, Some(2));
    assert!(conditions(&st).is_empty());
    assert_eq!(plan.create.len(), 1);
}

#[test]
fn replacement_pods_wait_for_the_exponential_backoff() {
    let j = job().started_at(t(0)).build();
    let failed = [pod("a").failed_at(t(10)).untracked().build()];
    let j = JobFixture(j).status(|s| s.failed = Some(1)).build();
    let plan = sync(&j, &failed, t(13), &settings());
    assert!(plan.create.is_empty());
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(7)));
    let plan = sync(&j, &failed, t(20), &settings());
    assert_eq!(plan.create.len(), 1);

    // Two failures since the last success: 20 s.
    let two = [
        pod("a").failed_at(t(10)).untracked().build(),
        pod("b").failed_at(t(30)).untracked().build(),
    ];
    let plan = sync(&j, &two, t(35), &settings());
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(15)));
}

#[test]
fn deadline_exceeded_kills_active_pods_and_counts_them_failed() {
    let j = job().deadline(2).started_at(t(0)).build();
    let p = pod("busy").running().build();
    let plan = sync(&j, std::slice::from_ref(&p), t(1), &settings());
    assert!(plan.status.is_none() || conditions(plan.status.as_ref().unwrap()).is_empty());
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(1)));

    let plan = sync(&j, &[p], t(2), &settings());
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.delete[0].reason, DeletionReason::JobFailed);
    let st = plan.status.unwrap();
    assert_eq!(
        conditions(&st),
        [cond("FailureTarget", "True", "DeadlineExceeded")]
    );
    assert_eq!(st.failed, Some(1));
    assert_eq!(st.terminating, Some(1));

    // Once the pod is gone, the terminal condition follows.
    let j2 = JobFixture(j.clone()).status(|s| *s = st.clone()).build();
    let dead = pod("busy")
        .failed_at(t(2))
        .deleting(t(2))
        .untracked()
        .build();
    let plan = sync(&j2, &[dead], t(3), &settings());
    let st = plan.status.unwrap();
    assert_eq!(
        conditions(&st),
        [
            cond("FailureTarget", "True", "DeadlineExceeded"),
            cond("Failed", "True", "DeadlineExceeded")
        ]
    );
    assert_eq!(st.failed, Some(1));
}

#[test]
fn backoff_limit_beats_the_deadline_in_the_same_sync() {
    let j = job().deadline(5).backoff_limit(0).started_at(t(0)).build();
    let p = pod("a").failed_at(t(9)).build();
    let plan = sync(&j, &[p], t(10), &settings());
    assert_eq!(
        conditions(&plan.status.unwrap())[0],
        cond("FailureTarget", "True", "BackoffLimitExceeded")
    );
}

#[test]
fn on_failure_restarts_count_toward_the_backoff_limit() {
    let j = job().on_failure().backoff_limit(2).started_at(t(0)).build();
    let p = pod("a").restarts(1).phase("Running").build();
    assert!(sync(&j, &[p], t(1), &settings()).delete.is_empty());
    let p = pod("a").restarts(2).phase("Running").build();
    let plan = sync(&j, &[p], t(1), &settings());
    assert_eq!(plan.delete.len(), 1);
    let st = plan.status.unwrap();
    assert_eq!(st.failed, Some(1));
    assert_eq!(
        conditions(&st),
        [cond("FailureTarget", "True", "BackoffLimitExceeded")]
    );
}

#[test]
fn work_queue_jobs_stop_creating_after_the_first_success_and_complete_when_idle() {
    let j = job()
        .completions(None)
        .parallelism(2)
        .started_at(t(0))
        .build();
    let done = pod("a").succeeded_at(t(1)).build();
    let busy = pod("b").running().build();
    let plan = sync(&j, &[done.clone(), busy], t(2), &settings());
    assert!(plan.create.is_empty());
    assert!(conditions(plan.status.as_ref().unwrap()).is_empty());

    let finished = pod("b").failed_at(t(3)).build();
    let j = JobFixture(j).status(|s| s.succeeded = Some(1)).build();
    let done = pod("a").succeeded_at(t(1)).untracked().build();
    let plan = sync(&j, &[done, finished], t(4), &settings());
    assert!(plan.create.is_empty());
    let st = plan.status.unwrap();
    assert_eq!((st.succeeded, st.failed), (Some(1), Some(1)));
    assert_eq!(
        conditions(&st)[1],
        cond("Complete", "True", "CompletionsReached")
    );
}

#[test]
fn indexed_jobs_create_the_lowest_free_indexes_and_record_completed_ones() {
    let j = job().indexed().completions(Some(4)).parallelism(2).build();
    let plan = sync(&j, &[] as &[Pod], t(0), &settings());
    let idx: Vec<_> = plan.create.iter().map(|c| c.index).collect();
    assert_eq!(idx, [Some(0), Some(1)]);

    let j = JobFixture(j).started_at(t(0)).build();
    let pods = [
        pod("i0").index(0).succeeded_at(t(1)).build(),
        pod("i1").index(1).running().build(),
    ];
    let plan = sync(&j, &pods, t(2), &settings());
    let idx: Vec<_> = plan.create.iter().map(|c| c.index).collect();
    assert_eq!(idx, [Some(2)]);
    let st = plan.status.unwrap();
    assert_eq!(st.completed_indexes.as_deref(), Some("0"));
    assert_eq!(st.succeeded, Some(1));
    // Indexed successes skip the uncounted ledger.
    let cp = plan.checkpoint.unwrap();
    assert_eq!(cp.uncounted_terminated_pods.unwrap().succeeded, None);
    assert_eq!(cp.completed_indexes.as_deref(), Some("0"));
}

#[test]
fn indexed_duplicates_and_out_of_range_indexes_are_deleted_uncounted() {
    let j = job()
        .indexed()
        .completions(Some(2))
        .parallelism(2)
        .started_at(t(0))
        .build();
    let pods = [
        pod("a").index(0).running().build(),
        pod("b").index(0).phase("Pending").build(),
        pod("c").index(7).running().build(),
    ];
    let plan = sync(&j, &pods, t(1), &settings());
    let mut names: Vec<_> = plan.delete.iter().map(|d| d.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["b", "c"]);
    assert!(
        plan.delete
            .iter()
            .all(|d| d.reason == DeletionReason::NotCounted)
    );
    assert_eq!(
        plan.create.iter().map(|c| c.index).collect::<Vec<_>>(),
        [Some(1)]
    );
}

#[test]
fn scaling_down_deletes_pending_pods_first_and_does_not_count_them() {
    let j = job()
        .completions(Some(10))
        .parallelism(1)
        .started_at(t(0))
        .build();
    let pods = [
        pod("r").running().build(),
        pod("p").build(),
        pod("q").running().build(),
    ];
    let plan = sync(&j, &pods, t(1), &settings());
    assert_eq!(plan.delete.len(), 2);
    assert_eq!(plan.delete[0].name, "p");
    assert!(
        plan.delete
            .iter()
            .all(|d| d.reason == DeletionReason::NotCounted)
    );
    assert_eq!(plan.status.unwrap().failed, None);
}

#[test]
fn suspending_deletes_pods_uncounted_and_resuming_restarts_the_clock() {
    let j = job()
        .completions(Some(3))
        .parallelism(3)
        .suspended(true)
        .started_at(t(0))
        .build();
    let pods = [pod("a").running().build()];
    let plan = sync(&j, &pods, t(5), &settings());
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.delete[0].reason, DeletionReason::NotCounted);
    assert!(plan.create.is_empty());
    let st = plan.status.unwrap();
    assert_eq!(conditions(&st), [cond("Suspended", "True", "JobSuspended")]);
    assert!(plan.events.iter().any(|e| e.reason == "Suspended"));

    let resumed = JobFixture(j).suspended(false).status(|s| *s = st).build();
    let plan = sync(&resumed, &[] as &[Pod], t(50), &settings());
    let st = plan.status.unwrap();
    assert_eq!(conditions(&st), [cond("Suspended", "False", "JobResumed")]);
    assert_eq!(st.start_time, Some(Time(t(50))));
    assert_eq!(plan.create.len(), 3);
    assert!(plan.events.iter().any(|e| e.reason == "Resumed"));
}

#[test]
fn a_suspended_job_never_hits_its_deadline_and_has_no_start_time() {
    let j = job().deadline(1).suspended(true).build();
    let plan = sync(&j, &[] as &[Pod], t(100), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.start_time, None);
    assert_eq!(conditions(&st), [cond("Suspended", "True", "JobSuspended")]);
}

#[test]
fn finished_and_foreign_jobs_are_left_alone() {
    let done = job()
        .status(|s| {
            s.conditions = Some(vec![k8s_openapi::api::batch::v1::JobCondition {
                type_: "Complete".into(),
                status: "True".into(),
                ..Default::default()
            }])
        })
        .build();
    assert!(sync(&done, &[] as &[Pod], t(0), &settings()).is_noop());
    let foreign = job()
        .spec(|s| s.managed_by = Some("example.com/other".into()))
        .build();
    assert!(sync(&foreign, &[] as &[Pod], t(0), &settings()).is_noop());
}

#[test]
fn a_pod_deleted_by_a_user_counts_as_failed_and_is_replaced_at_once() {
    // podReplacementPolicy TerminatingOrFailed: a terminating pod is failed immediately.
    let j = job().completions(Some(1)).started_at(t(0)).build();
    let p = pod("a").running().deleting(t(3)).build();
    let plan = sync(&j, &[p], t(3), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.failed, Some(1));
    assert_eq!(st.terminating, Some(1));
    assert_eq!(
        plan.create.len(),
        0,
        "the back-off of the fresh failure applies"
    );
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(10)));
}

#[test]
fn with_replacement_policy_failed_terminating_pods_are_waited_for() {
    let j = job()
        .spec(|s| s.pod_replacement_policy = Some("Failed".into()))
        .started_at(t(0))
        .build();
    let p = pod("a").running().deleting(t(3)).build();
    let plan = sync(&j, &[p], t(3), &settings());
    assert!(plan.create.is_empty());
    let st = plan.status.unwrap();
    assert_eq!(st.failed, None);
    assert_eq!(st.terminating, Some(1));
}

fn pfp(rules: serde_json::Value) -> k8s_openapi::api::batch::v1::PodFailurePolicy {
    serde_json::from_value(serde_json::json!({ "rules": rules })).unwrap()
}

impl PodFixture {
    fn failed_with(self, code: i32, at: Timestamp) -> Self {
        self.finished("Failed", code, at)
    }
    fn condition(mut self, ty: &str) -> Self {
        let st = self.0.status.as_mut().unwrap();
        st.conditions
            .get_or_insert_with(Vec::new)
            .push(PodCondition {
                type_: ty.into(),
                status: "True".into(),
                ..Default::default()
            });
        self
    }
    fn failure_count(mut self, n: i32) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                "batch.kubernetes.io/job-index-failure-count".into(),
                n.to_string(),
            );
        self
    }
}

#[test]
fn a_fail_job_rule_fails_the_job_with_the_upstream_message() {
    let j = job()
        .spec(|s| {
            s.pod_failure_policy = Some(pfp(serde_json::json!([
                {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
                {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [5]}}
            ])));
            s.pod_replacement_policy = Some("Failed".into());
        })
        .completions(Some(2))
        .parallelism(2)
        .started_at(t(0))
        .build();
    let pods = [
        pod("x-0").failed_with(5, t(1)).build(),
        pod("x-1").running().build(),
    ];
    let plan = sync(&j, &pods, t(2), &settings());
    let st = plan.status.unwrap();
    let ft = st.conditions.as_ref().unwrap()[0].clone();
    assert_eq!(
        (ft.type_.as_str(), ft.reason.as_deref()),
        ("FailureTarget", Some("PodFailurePolicy"))
    );
    assert_eq!(
        ft.message.as_deref(),
        Some(
            "Container main for pod default/x-0 failed with exit code 5 matching FailJob rule at index 1"
        )
    );
    assert_eq!(plan.delete.len(), 1, "the running pod is terminated");
    assert!(plan.create.is_empty());
}

#[test]
fn ignored_failures_are_not_counted_but_the_pod_is_replaced() {
    let j = job()
        .spec(|s| {
            s.pod_failure_policy = Some(pfp(serde_json::json!([
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}
            ])));
            s.pod_replacement_policy = Some("Failed".into());
        })
        .backoff_limit(0)
        .started_at(t(0))
        .build();
    let lost = pod("a")
        .failed_with(137, t(1))
        .condition("DisruptionTarget")
        .build();
    let plan = sync(&j, std::slice::from_ref(&lost), t(2), &settings());
    assert_eq!(
        plan.remove_finalizers,
        ["a"],
        "accounted for, though not as a failure"
    );
    let st = plan.status.unwrap();
    assert_eq!(st.failed, None);
    assert!(conditions(&st).is_empty());
    // The ignored failure still delays the replacement.
    assert!(plan.create.is_empty());
    let plan = sync(&j, &[lost], t(12), &settings());
    assert_eq!(plan.create.len(), 1);
}

#[test]
fn backoff_limit_per_index_fails_only_that_index_and_then_the_job() {
    let j = job()
        .indexed()
        .completions(Some(3))
        .parallelism(3)
        .spec(|s| {
            s.backoff_limit_per_index = Some(1);
            s.backoff_limit = Some(i32::MAX);
        })
        .started_at(t(0))
        .build();
    // Index 1 failed its first attempt: it is retried with failure-count 1.
    let pods = [
        pod("i0").index(0).running().build(),
        pod("i1a").index(1).failure_count(0).failed_at(t(1)).build(),
        pod("i2").index(2).running().build(),
    ];
    let plan = sync(&j, &pods, t(30), &settings());
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.create[0].index, Some(1));
    assert_eq!(plan.create[0].failure_count, Some(1));
    let st = plan.status.unwrap();
    assert_eq!(st.failed_indexes.as_deref(), Some(""));
    assert_eq!(st.failed, Some(1));

    // Its second attempt fails too: index 1 is failed for good, the others go on.
    let j2 = JobFixture(j.clone()).status(|s| *s = st.clone()).build();
    let pods = [
        pod("i0").index(0).running().build(),
        pod("i1a")
            .index(1)
            .failure_count(0)
            .failed_at(t(1))
            .untracked()
            .build(),
        pod("i1b")
            .index(1)
            .failure_count(1)
            .failed_at(t(40))
            .build(),
        pod("i2").index(2).running().build(),
    ];
    let plan = sync(&j2, &pods, t(41), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.failed_indexes.as_deref(), Some("1"));
    assert!(plan.create.is_empty());
    assert!(conditions(&st).is_empty());

    // When every other index has succeeded, the Job fails with FailedIndexes.
    let j3 = JobFixture(j.clone()).status(|s| *s = st.clone()).build();
    let pods = [
        pod("i0").index(0).succeeded_at(t(50)).build(),
        pod("i1a")
            .index(1)
            .failure_count(0)
            .failed_at(t(1))
            .untracked()
            .build(),
        pod("i1b")
            .index(1)
            .failure_count(1)
            .failed_at(t(40))
            .untracked()
            .build(),
        pod("i2").index(2).succeeded_at(t(50)).build(),
    ];
    let plan = sync(&j3, &pods, t(51), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.completed_indexes.as_deref(), Some("0,2"));
    assert_eq!(
        conditions(&st),
        [
            cond("FailureTarget", "True", "FailedIndexes"),
            cond("Failed", "True", "FailedIndexes")
        ]
    );
}

#[test]
fn more_failed_indexes_than_allowed_fail_the_job_early() {
    let j = job()
        .indexed()
        .completions(Some(3))
        .parallelism(3)
        .spec(|s| {
            s.backoff_limit_per_index = Some(0);
            s.max_failed_indexes = Some(0);
            s.backoff_limit = Some(i32::MAX);
        })
        .started_at(t(0))
        .build();
    let pods = [
        pod("i0").index(0).failure_count(0).failed_at(t(1)).build(),
        pod("i1").index(1).running().build(),
    ];
    let plan = sync(&j, &pods, t(2), &settings());
    let st = plan.status.unwrap();
    assert_eq!(st.failed_indexes.as_deref(), Some("0"));
    assert_eq!(
        conditions(&st)[0],
        cond("FailureTarget", "True", "MaxFailedIndexesExceeded")
    );
    assert_eq!(plan.delete.len(), 1);
}

#[test]
fn a_fail_index_rule_fails_the_index_at_once() {
    let j = job()
        .indexed()
        .completions(Some(2))
        .parallelism(2)
        .spec(|s| {
            s.backoff_limit_per_index = Some(5);
            s.backoff_limit = Some(i32::MAX);
            s.pod_failure_policy = Some(pfp(serde_json::json!([
                {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}
            ])));
            s.pod_replacement_policy = Some("Failed".into());
        })
        .started_at(t(0))
        .build();
    let pods = [
        pod("i0")
            .index(0)
            .failure_count(0)
            .failed_with(42, t(1))
            .build(),
        pod("i1").index(1).running().build(),
    ];
    let plan = sync(&j, &pods, t(2), &settings());
    assert_eq!(plan.status.unwrap().failed_indexes.as_deref(), Some("0"));
    assert!(plan.create.is_empty(), "a failed index is not retried");
}

#[test]
fn a_success_policy_ends_the_job_early_and_terminates_the_rest() {
    let j = job()
        .indexed()
        .completions(Some(3))
        .parallelism(3)
        .spec(|s| {
            s.success_policy = Some(
                serde_json::from_value(serde_json::json!({"rules": [{"succeededIndexes": "0"}]}))
                    .unwrap(),
            )
        })
        .started_at(t(0))
        .build();
    let pods = [
        pod("i0").index(0).succeeded_at(t(1)).build(),
        pod("i1").index(1).running().build(),
    ];
    let plan = sync(&j, &pods, t(2), &settings());
    let st = plan.status.unwrap();
    assert_eq!(
        conditions(&st),
        [cond("SuccessCriteriaMet", "True", "SuccessPolicy")]
    );
    assert_eq!(
        st.conditions.as_ref().unwrap()[0].message.as_deref(),
        Some("Matched rules at index 0")
    );
    assert_eq!(plan.delete.len(), 1);
    assert!(plan.create.is_empty(), "pending indexes never run");

    let j2 = JobFixture(j).status(|s| *s = st).build();
    let pods = [
        pod("i0").index(0).succeeded_at(t(1)).untracked().build(),
        pod("i1")
            .index(1)
            .failed_at(t(3))
            .deleting(t(2))
            .untracked()
            .build(),
    ];
    let st = sync(&j2, &pods, t(4), &settings()).status.unwrap();
    assert_eq!(
        conditions(&st),
        [
            cond("SuccessCriteriaMet", "True", "SuccessPolicy"),
            cond("Complete", "True", "SuccessPolicy")
        ]
    );
    assert!(st.completion_time.is_some());
}

#[test]
fn failure_wins_over_a_success_policy_in_the_same_sync() {
    let j = job()
        .indexed()
        .completions(Some(2))
        .parallelism(2)
        .backoff_limit(0)
        .spec(|s| {
            s.success_policy = Some(
                serde_json::from_value(serde_json::json!({"rules": [{"succeededCount": 1}]}))
                    .unwrap(),
            )
        })
        .started_at(t(0))
        .build();
    let pods = [
        pod("i0").index(0).succeeded_at(t(1)).build(),
        pod("i1").index(1).failed_at(t(1)).build(),
    ];
    let st = sync(&j, &pods, t(2), &settings()).status.unwrap();
    assert_eq!(
        conditions(&st)[0],
        cond("FailureTarget", "True", "BackoffLimitExceeded")
    );
}

// ---- property tests ----------------------------------------------------------------

/// A tiny model of the world around `sync`: applies plans the way `apply` and the kubelet
/// would, minus the running.
fn apply_to(job: &mut Job, pods: &mut Vec<Pod>, plan: &Plan, now: Timestamp, next: &mut u32) {
    for name in &plan.remove_finalizers {
        if let Some(p) = pods
            .iter_mut()
            .find(|p| p.metadata.name.as_deref() == Some(name))
        {
            p.metadata.finalizers = None;
        }
    }
    for d in &plan.delete {
        if let Some(p) = pods
            .iter_mut()
            .find(|p| p.metadata.name.as_deref() == Some(&d.name))
        {
            if d.reason != DeletionReason::JobFailed {
                p.metadata.finalizers = None;
            }
            p.metadata.deletion_timestamp = Some(Time(now));
        }
    }
    for c in &plan.create {
        *next += 1;
        let mut p = pod(&format!("new{next}"));
        if let Some(i) = c.index {
            p = p.index(i);
        }
        pods.push(p.build());
    }
    if let Some(st) = &plan.status {
        job.status = Some(st.clone());
    }
}

fn arb_pod(i: usize) -> impl Strategy<Value = Pod> {
    (0..5u8, 0..4i32, any::<bool>()).prop_map(move |(kind, index, tracked)| {
        let p = pod(&format!("p{i}")).index(index);
        let p = match kind {
            0 => p,
            1 => p.running(),
            2 => p.succeeded_at(t(i as i64)),
            3 => p.failed_at(t(i as i64)),
            _ => p.running().deleting(t(i as i64)),
        };
        if tracked {
            p.build()
        } else {
            p.untracked().build()
        }
    })
}

fn arb_job() -> impl Strategy<Value = Job> {
    (
        prop::option::of(0..6i32),
        0..5i32,
        0..4i32,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1..100i64),
    )
        .prop_map(
            |(completions, parallelism, backoff, indexed, suspend, deadline)| {
                let mut j = job()
                    .parallelism(parallelism)
                    .backoff_limit(backoff)
                    .suspended(suspend);
                if indexed {
                    j = j.indexed().completions(Some(completions.unwrap_or(3)));
                } else {
                    j = j.completions(completions);
                }
                if let Some(d) = deadline {
                    j = j.deadline(d);
                }
                j.started_at(t(0)).build()
            },
        )
}

fn arb_pods() -> impl Strategy<Value = Vec<Pod>> {
    (0..6usize).prop_flat_map(|n| (0..n).map(arb_pod).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn active_never_exceeds_parallelism_nor_remaining_completions(job in arb_job(), pods in arb_pods(), now in 0..200i64) {
        let plan = sync(&job, &pods, t(now), &settings());
        if let Some(st) = &plan.status {
            let spec = job.spec.as_ref().unwrap();
            let active = st.active.unwrap_or(0);
            let existing_active = pods.iter().filter(|p| !crate::api::pod::is_terminal(p) && !crate::api::pod::is_deleting(p)).count() as i32;
            // Creation never pushes active past parallelism (existing extras are scaled down).
            if !plan.create.is_empty() {
                prop_assert!(active <= spec.parallelism.unwrap().max(existing_active));
                if let Some(c) = spec.completions {
                    prop_assert!(active <= (c - st.succeeded.unwrap_or(0)).max(0));
                }
            }
            if let (Some(c), true) = (spec.completions, crate::api::job::is_indexed(&job)) {
                prop_assert!(st.succeeded.unwrap_or(0) <= c);
            }
        }
    }

    #[test]
    fn nothing_is_created_once_a_terminal_condition_is_set(job in arb_job(), pods in arb_pods(), now in 0..200i64) {
        let plan = sync(&job, &pods, t(now), &settings());
        if let Some(st) = &plan.status {
            let terminal = st.conditions.iter().flatten().any(|c| {
                c.status == "True" && ["Failed", "Complete", "FailureTarget", "SuccessCriteriaMet"].contains(&c.type_.as_str())
            });
            if terminal {
                prop_assert!(plan.create.is_empty());
            }
        }
    }

    #[test]
    fn sync_is_idempotent_once_its_plan_is_applied(job in arb_job(), pods in arb_pods(), now in 0..200i64) {
        let (mut job, mut pods, mut next) = (job, pods, 0);
        let plan = sync(&job, &pods, t(now), &settings());
        apply_to(&mut job, &mut pods, &plan, t(now), &mut next);
        let again = sync(&job, &pods, t(now), &settings());
        prop_assert!(again.create.is_empty(), "second sync created {:?}", again.create);
        prop_assert!(again.delete.is_empty(), "second sync deleted {:?}", again.delete);
        prop_assert!(again.remove_finalizers.is_empty());
    }

    #[test]
    fn every_terminal_condition_has_exactly_one_reason(job in arb_job(), pods in arb_pods(), now in 0..200i64) {
        let (mut job, mut pods, mut next) = (job, pods, 0);
        for step in 0..3 {
            let plan = sync(&job, &pods, t(now + step), &settings());
            apply_to(&mut job, &mut pods, &plan, t(now + step), &mut next);
        }
        let conds = job.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        for ty in ["Failed", "Complete", "FailureTarget", "SuccessCriteriaMet"] {
            prop_assert!(conds.iter().filter(|c| c.type_ == ty).count() <= 1);
        }
        let failed = conds.iter().find(|c| c.type_ == "Failed");
        let target = conds.iter().find(|c| c.type_ == "FailureTarget");
        if let Some(f) = failed {
            prop_assert_eq!(&f.reason, &target.unwrap().reason);
        }
        prop_assert!(!(conds.iter().any(|c| c.type_ == "Failed") && conds.iter().any(|c| c.type_ == "Complete")));
    }
}
