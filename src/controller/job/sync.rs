//! `sync(&Job, &[Pod], now) -> Plan`: one reconcile of one Job, as a pure function.
//!
//! This follows upstream `syncJob`/`manageJob` (job_controller.go; our digest is
//! shared/reference/k8s-job-semantics.md §3): count newly finished pods through the
//! `uncountedTerminatedPods` ledger, decide failure before success, then create or delete
//! pods toward `min(completions - succeeded, parallelism)`. It performs no IO and reads no
//! clock: the caller passes `now` and applies the [`Plan`].

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::backoff::{Backoff, failures_since_success};
use super::policies::{Action, match_failure_policy, match_success_policy};
use crate::api::job::{
    INDEX_FAILURE_COUNT_KEY, INDEX_IGNORED_FAILURE_COUNT_KEY, JOB_CONTROLLER_NAME, condition,
    find_condition, is_finished, is_indexed, reason,
};
use crate::api::meta::JOB_TRACKING_FINALIZER;
use crate::api::pod::finish_time;
use crate::api::{intervals, pod as podutil};

/// Upstream `MaxPodCreateDeletePerSync`.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;

/// Controller settings that upstream hard-codes and tests override.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Delay between replacement pods after failures.
    pub backoff: Backoff,
}

/// A pod the Job wants created. The name is chosen when it is applied (random suffix).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewPod {
    /// Completion index, for Indexed Jobs.
    pub index: Option<i32>,
    /// `batch.kubernetes.io/job-index-failure-count`, with backoffLimitPerIndex.
    pub failure_count: Option<i32>,
    /// `batch.kubernetes.io/job-index-ignored-failure-count`, only when above zero.
    pub ignored_failure_count: Option<i32>,
}

/// A pod the Job wants deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodDeletion {
    /// Pod name.
    pub name: String,
    /// Why, for the log.
    pub reason: DeletionReason,
}

/// Why a pod is deleted; decides whether its end is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionReason {
    /// The Job failed: the pod is counted as failed (already, in this plan's status).
    JobFailed,
    /// The Job succeeded while the pod still ran (work-queue leftovers, success policy).
    JobSucceeded,
    /// Scale-down, suspend, a duplicate or invalid index: never counted, so the tracking
    /// finalizer is removed before the delete.
    NotCounted,
}

/// A Kubernetes Event the controller emits about the Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEvent {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    /// Machine-readable reason (`Completed`, `BackoffLimitExceeded`, ...).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

/// What one sync decided. Applied in field order by `controller::apply`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Status with newly finished pods staged in `uncountedTerminatedPods`, to be written
    /// before any finalizer is removed, so a crash in between loses and doubles nothing.
    pub checkpoint: Option<JobStatus>,
    /// Pods whose tracking finalizer is removed because they are now accounted for.
    pub remove_finalizers: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<PodDeletion>,
    /// Pods to create.
    pub create: Vec<NewPod>,
    /// The new status, when it changed.
    pub status: Option<JobStatus>,
    /// Events to record.
    pub events: Vec<JobEvent>,
    /// When to sync again if nothing else happens (deadline, back-off).
    pub requeue_after: Option<Duration>,
}

impl Plan {
    /// True when the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        self.checkpoint.is_none()
            && self.remove_finalizers.is_empty()
            && self.delete.is_empty()
            && self.create.is_empty()
            && self.status.is_none()
            && self.events.is_empty()
    }
}

/// One reconcile of `job`, given all pods it owns and the current time. The pods may be
/// owned (`&[Pod]`, as in tests) or shared with the store (`&[Arc<Pod>]`).
pub fn sync<P: Borrow<Pod>>(job: &Job, pods: &[P], now: Timestamp, settings: &Settings) -> Plan {
    let pods: Vec<&Pod> = pods.iter().map(Borrow::borrow).collect();
    sync_pods(job, &pods, now, settings)
}

fn sync_pods(job: &Job, pods: &[&Pod], now: Timestamp, settings: &Settings) -> Plan {
    let mut plan = Plan::default();
    let Some(spec) = job.spec.as_ref() else {
        return plan;
    };
    if spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != JOB_CONTROLLER_NAME)
        || is_finished(job)
    {
        return plan;
    }

    let old = job.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let indexed = is_indexed(job);
    let completions = spec.completions;
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    let suspended = spec.suspend == Some(true);
    // podReplacementPolicy: Failed (implied by a podFailurePolicy) waits for terminating
    // pods to finish before replacing them and does not count them as failed early.
    let only_failed_replaced = spec.pod_failure_policy.is_some()
        || spec.pod_replacement_policy.as_deref() == Some("Failed");
    let on_failure = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");

    let policy = spec.pod_failure_policy.as_ref();
    let per_index = spec.backoff_limit_per_index.filter(|_| indexed);
    let mut failed_indexes: BTreeSet<i32> = match per_index {
        Some(_) => intervals::parse(
            old.failed_indexes.as_deref().unwrap_or(""),
            completions.unwrap_or(0),
        ),
        None => BTreeSet::new(),
    };
    // What a failed pod's policy says; only pods in phase Failed are matched.
    let action_of = |pod: &Pod| -> Option<Action> {
        match policy {
            Some(p) if podutil::phase(pod) == podutil::phase::FAILED => {
                match_failure_policy(p, pod)
            }
            _ => None,
        }
    };

    let staged = old.uncounted_terminated_pods.clone().unwrap_or_default();
    let staged_succeeded: HashSet<&str> = staged
        .succeeded
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let staged_failed: HashSet<&str> = staged.failed.iter().flatten().map(String::as_str).collect();
    let mut completed: BTreeSet<i32> = if indexed {
        intervals::parse(
            old.completed_indexes.as_deref().unwrap_or(""),
            completions.unwrap_or(0),
        )
    } else {
        BTreeSet::new()
    };

    // Classify the pods.
    let mut active: Vec<&Pod> = Vec::new();
    let mut terminating: Vec<&Pod> = Vec::new();
    let mut new_succeeded: Vec<String> = Vec::new();
    let mut new_failed: Vec<String> = Vec::new();
    let mut outcomes: Vec<(Timestamp, bool)> = Vec::new();
    for pod in pods {
        let terminal = podutil::is_terminal(pod);
        let deleting = podutil::is_deleting(pod);
        let succeeded = podutil::phase(pod) == podutil::phase::SUCCEEDED;
        let failed = podutil::phase(pod) == podutil::phase::FAILED
            || (!only_failed_replaced && deleting && !succeeded);
        let tracked = podutil::has_finalizer(pod, JOB_TRACKING_FINALIZER);
        let index = podutil::completion_index(pod);
        let valid_index = !indexed || index.is_some_and(|i| Some(i) < completions);

        // Every finished pod feeds the back-off, counted or not: a derived record must not
        // change when a finalizer goes, or the delay would shift between two syncs.
        if succeeded || failed {
            outcomes.push((finish_time(pod).unwrap_or(now), succeeded));
        }
        if !terminal {
            if deleting {
                terminating.push(pod);
            } else {
                active.push(pod);
            }
        }
        if !tracked {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if staged_succeeded.contains(uid.as_str()) || staged_failed.contains(uid.as_str()) {
            // Staged by an earlier sync whose finalizer removal did not happen.
            plan.remove_finalizers.push(name);
        } else if (succeeded || failed) && !valid_index {
            // Pods with an invalid index are never counted (indexed_job_utils.go).
            plan.remove_finalizers.push(name);
        } else if succeeded {
            match index.filter(|_| indexed) {
                // Indexed successes skip the ledger: completedIndexes is the ledger.
                Some(i) => {
                    completed.insert(i);
                }
                None => new_succeeded.push(uid),
            }
            plan.remove_finalizers.push(name);
        } else if failed {
            let action = action_of(pod);
            if action != Some(Action::Ignore) {
                new_failed.push(uid);
                // backoffLimitPerIndex: the index fails on FailIndex, or once its attempts
                // are used up (indexed_job_utils.go).
                if let (Some(limit), Some(i)) = (per_index, index)
                    && (action == Some(Action::FailIndex) || failure_count(pod) >= limit)
                {
                    failed_indexes.insert(i);
                }
            }
            plan.remove_finalizers.push(name);
        }
    }
    // A FailJob match anywhere fails the Job (upstream getFailJobMessage looks at every
    // failed pod, so the decision survives a crash between counting and writing it).
    let fail_job_message = pods.iter().find_map(|p| match action_of(p) {
        Some(Action::FailJob(m)) => Some(m),
        _ => None,
    });

    if status.start_time.is_none() && !suspended {
        status.start_time = Some(Time(now));
    }

    let succeeded_total = if indexed {
        completed.len() as i32
    } else {
        old.succeeded.unwrap_or(0) + staged_succeeded.len() as i32 + new_succeeded.len() as i32
    };
    let failed_total =
        old.failed.unwrap_or(0) + staged_failed.len() as i32 + new_failed.len() as i32;

    // Terminal criteria, first match wins (§3.1 step 6).
    let mut success_target = find_condition(job, condition::SUCCESS_CRITERIA_MET)
        .filter(|c| c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        });
    let mut failure_target = find_condition(job, condition::FAILURE_TARGET)
        .filter(|c| c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        });
    if success_target.is_none() && failure_target.is_none() {
        let restarts: i32 = active
            .iter()
            .chain(terminating.iter())
            .map(|p| podutil::restart_count(p))
            .sum();
        let restarts_exceeded = on_failure
            && if backoff_limit == 0 {
                restarts > 0
            } else {
                restarts >= backoff_limit
            };
        if let Some(m) = fail_job_message {
            failure_target = Some((reason::POD_FAILURE_POLICY.into(), m));
        } else if failed_total > backoff_limit || restarts_exceeded {
            failure_target = Some((
                reason::BACKOFF_LIMIT_EXCEEDED.into(),
                reason::BACKOFF_LIMIT_EXCEEDED_MESSAGE.into(),
            ));
        } else if let (Some(deadline), Some(start), false) = (
            spec.active_deadline_seconds,
            status.start_time.as_ref(),
            suspended,
        ) {
            let deadline = Duration::from_secs(deadline.max(0) as u64);
            let elapsed = Duration::try_from(now.duration_since(start.0)).unwrap_or(Duration::ZERO);
            if elapsed >= deadline {
                failure_target = Some((
                    reason::DEADLINE_EXCEEDED.into(),
                    reason::DEADLINE_EXCEEDED_MESSAGE.into(),
                ));
            } else {
                plan.requeue_after = min_duration(plan.requeue_after, deadline - elapsed);
            }
        }
        if failure_target.is_none() && per_index.is_some() {
            let too_many = spec
                .max_failed_indexes
                .is_some_and(|max| failed_indexes.len() as i32 > max);
            if too_many {
                failure_target = Some((
                    reason::MAX_FAILED_INDEXES_EXCEEDED.into(),
                    reason::MAX_FAILED_INDEXES_EXCEEDED_MESSAGE.into(),
                ));
            } else if !failed_indexes.is_empty()
                && failed_indexes.len() as i32 + succeeded_total >= completions.unwrap_or(0)
            {
                failure_target = Some((
                    reason::FAILED_INDEXES.into(),
                    reason::FAILED_INDEXES_MESSAGE.into(),
                ));
            }
        }
        if let Some((r, m)) = &failure_target {
            set_condition(&mut status, condition::FAILURE_TARGET, "True", r, m, now);
        } else if let (Some(sp), true) = (spec.success_policy.as_ref(), indexed)
            && let Some(i) = match_success_policy(sp, &completed, completions.unwrap_or(0))
        {
            // Failure still wins when both happen in one sync: this runs only without one.
            let message = format!("Matched rules at index {i}");
            set_condition(
                &mut status,
                condition::SUCCESS_CRITERIA_MET,
                "True",
                reason::SUCCESS_POLICY,
                &message,
                now,
            );
            success_target = Some((reason::SUCCESS_POLICY.into(), message));
        }
    }

    // Pods to delete and create.
    let mut deleted: HashSet<String> = HashSet::new();
    if failure_target.is_some() {
        // Pods killed because the Job failed count as failed (§8, "Counting").
        for pod in &active {
            if podutil::has_finalizer(pod, JOB_TRACKING_FINALIZER) {
                let name = pod.metadata.name.clone().unwrap_or_default();
                if !plan.remove_finalizers.contains(&name) {
                    plan.remove_finalizers.push(name);
                    new_failed.push(pod.metadata.uid.clone().unwrap_or_default());
                }
            }
            delete(&mut plan, &mut deleted, pod, DeletionReason::JobFailed);
        }
    } else if success_target.is_some() {
        for pod in &active {
            delete(&mut plan, &mut deleted, pod, DeletionReason::JobSucceeded);
        }
    } else if suspended {
        for pod in &active {
            delete(&mut plan, &mut deleted, pod, DeletionReason::NotCounted);
        }
    } else {
        // Indexed bookkeeping: invalid or finished indexes and duplicates go first.
        let mut by_index: BTreeMap<i32, Vec<&Pod>> = BTreeMap::new();
        if indexed {
            for pod in &active {
                match podutil::completion_index(pod) {
                    Some(i)
                        if Some(i) < completions
                            && !completed.contains(&i)
                            && !failed_indexes.contains(&i) =>
                    {
                        by_index.entry(i).or_default().push(pod)
                    }
                    _ => delete(&mut plan, &mut deleted, pod, DeletionReason::NotCounted),
                }
            }
            for dupes in by_index.values_mut() {
                dupes.sort_by_key(|p| deletion_rank(p));
                while dupes.len() > 1 {
                    let victim = dupes.remove(0);
                    delete(&mut plan, &mut deleted, victim, DeletionReason::NotCounted);
                }
            }
        }
        let remaining: Vec<&Pod> = active
            .iter()
            .copied()
            .filter(|p| !deleted.contains(p.metadata.name.as_deref().unwrap_or("")))
            .collect();
        let want = match completions {
            None if succeeded_total > 0 => remaining.len() as i32,
            None => parallelism,
            Some(c) => (c - succeeded_total).min(parallelism).max(0),
        };
        let have = remaining.len() as i32;
        if have > want {
            let mut victims = remaining.clone();
            victims.sort_by_key(|p| deletion_rank(p));
            for pod in victims
                .into_iter()
                .take(((have - want) as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC))
            {
                delete(&mut plan, &mut deleted, pod, DeletionReason::NotCounted);
            }
        } else {
            let waiting = if only_failed_replaced {
                terminating.len() as i32
            } else {
                0
            };
            let diff = (want - have - waiting).max(0) as usize;
            if diff > 0 {
                // The Job-wide back-off applies without backoffLimitPerIndex; with it, each
                // index waits on its own failures instead.
                let (failures, last) = failures_since_success(&outcomes);
                let wait = match per_index {
                    None => settings.backoff.remaining(failures, last, now),
                    Some(_) => Duration::ZERO,
                };
                if !wait.is_zero() {
                    plan.requeue_after = min_duration(plan.requeue_after, wait);
                } else if indexed {
                    let mut taken: BTreeSet<i32> = completed.clone();
                    taken.extend(&failed_indexes);
                    taken.extend(by_index.keys());
                    if only_failed_replaced {
                        taken.extend(
                            terminating
                                .iter()
                                .filter_map(|p| podutil::completion_index(p)),
                        );
                    }
                    let mut created = 0;
                    for i in (0..completions.unwrap_or(0)).filter(|i| !taken.contains(i)) {
                        if created >= diff.min(MAX_POD_CREATE_DELETE_PER_SYNC) {
                            break;
                        }
                        let mut new = NewPod {
                            index: Some(i),
                            ..NewPod::default()
                        };
                        if per_index.is_some() {
                            let last = last_failed_pod(pods, i);
                            let (fc, ic) = last.map_or((0, 0), |p| {
                                let ignored = action_of(p) == Some(Action::Ignore);
                                let (fc, ic) = (failure_count(p), ignored_failure_count(p));
                                if ignored { (fc, ic + 1) } else { (fc + 1, ic) }
                            });
                            if let Some(p) = last {
                                let finished = finish_time(p).unwrap_or(now);
                                let wait = settings.backoff.remaining(
                                    (fc + ic) as u32,
                                    Some(finished),
                                    now,
                                );
                                if !wait.is_zero() {
                                    plan.requeue_after = min_duration(plan.requeue_after, wait);
                                    continue;
                                }
                            }
                            new.failure_count = Some(fc);
                            new.ignored_failure_count = (ic > 0).then_some(ic);
                        }
                        plan.create.push(new);
                        created += 1;
                    }
                } else {
                    plan.create.extend(
                        (0..diff.min(MAX_POD_CREATE_DELETE_PER_SYNC)).map(|_| NewPod::default()),
                    );
                }
            }
        }
    }

    let failed_total =
        old.failed.unwrap_or(0) + staged_failed.len() as i32 + new_failed.len() as i32;
    // The checkpoint stages what this sync is about to count.
    if !plan.remove_finalizers.is_empty() {
        let mut cp = old.clone();
        let mut ledger = staged.clone();
        ledger.succeeded = non_empty(
            staged
                .succeeded
                .iter()
                .flatten()
                .cloned()
                .chain(new_succeeded.iter().cloned())
                .collect(),
        );
        ledger.failed = non_empty(
            staged
                .failed
                .iter()
                .flatten()
                .cloned()
                .chain(new_failed.iter().cloned())
                .collect(),
        );
        cp.uncounted_terminated_pods = Some(ledger);
        if indexed {
            cp.completed_indexes = non_empty_string(intervals::format(&completed));
            cp.succeeded = non_zero(succeeded_total);
        }
        if per_index.is_some() {
            cp.failed_indexes = Some(intervals::format(&failed_indexes));
        }
        plan.checkpoint = Some(cp);
    }

    let still_active: Vec<&Pod> = active
        .iter()
        .copied()
        .filter(|p| !deleted.contains(p.metadata.name.as_deref().unwrap_or("")))
        .collect();
    let active_after = still_active.len() as i32 + plan.create.len() as i32;
    let terminating_after = terminating.len() as i32 + deleted.len() as i32;

    // Success, once nothing failed (§3.1 step 8).
    if failure_target.is_none() && success_target.is_none() {
        let complete = match completions {
            None => succeeded_total > 0 && active_after == 0,
            Some(c) => succeeded_total >= c && active_after == 0,
        };
        if complete {
            success_target = Some((
                reason::COMPLETIONS_REACHED.into(),
                reason::COMPLETIONS_REACHED_MESSAGE.into(),
            ));
            set_condition(
                &mut status,
                condition::SUCCESS_CRITERIA_MET,
                "True",
                reason::COMPLETIONS_REACHED,
                reason::COMPLETIONS_REACHED_MESSAGE,
                now,
            );
        } else if suspended && !has_condition(&status, condition::SUSPENDED, "True") {
            set_condition(
                &mut status,
                condition::SUSPENDED,
                "True",
                reason::JOB_SUSPENDED,
                reason::JOB_SUSPENDED_MESSAGE,
                now,
            );
            plan.events
                .push(normal("Suspended", reason::JOB_SUSPENDED_MESSAGE));
        } else if !suspended && has_condition(&status, condition::SUSPENDED, "True") {
            set_condition(
                &mut status,
                condition::SUSPENDED,
                "False",
                reason::JOB_RESUMED,
                reason::JOB_RESUMED_MESSAGE,
                now,
            );
            // Resuming restarts the clock of activeDeadlineSeconds (§3.6).
            status.start_time = Some(Time(now));
            plan.events
                .push(normal("Resumed", reason::JOB_RESUMED_MESSAGE));
        }
    }

    // Counters. The ledger is empty once the plan's finalizer removals are applied.
    status.active = non_zero(active_after);
    status.ready = Some(still_active.iter().filter(|p| podutil::is_ready(p)).count() as i32);
    status.terminating = Some(terminating_after);
    status.succeeded = non_zero(succeeded_total);
    status.failed = non_zero(failed_total);
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
    if indexed {
        status.completed_indexes = non_empty_string(intervals::format(&completed));
    }
    if per_index.is_some() {
        // `""`, not absent, while no index has failed.
        status.failed_indexes = Some(intervals::format(&failed_indexes));
    }

    // The terminal condition waits until no pod is terminating (delayTerminalCondition).
    if terminating_after == 0 {
        if let Some((r, m)) = &failure_target {
            set_condition(&mut status, condition::FAILED, "True", r, m, now);
            plan.events.push(JobEvent {
                type_: "Warning",
                reason: r.clone(),
                message: m.clone(),
            });
        } else if let Some((r, m)) = &success_target {
            set_condition(&mut status, condition::COMPLETE, "True", r, m, now);
            status.completion_time = Some(Time(now));
            plan.events.push(normal("Completed", "Job completed"));
        }
        if failure_target.is_some() || success_target.is_some() {
            status.active = None;
            status.ready = Some(0);
        }
    }

    if status != old {
        plan.status = Some(status);
    }
    plan
}

/// Upstream `controller.ActivePods` order: who goes first when scaling down. Pending
/// before running, not-ready before ready, then the newest first.
fn deletion_rank(pod: &Pod) -> (bool, bool, std::cmp::Reverse<Option<Timestamp>>) {
    (
        podutil::phase(pod) != podutil::phase::PENDING,
        podutil::is_ready(pod),
        std::cmp::Reverse(pod.metadata.creation_timestamp.as_ref().map(|t| t.0)),
    )
}

/// `batch.kubernetes.io/job-index-failure-count` of a pod (0 when absent).
fn failure_count(pod: &Pod) -> i32 {
    annotation_int(pod, INDEX_FAILURE_COUNT_KEY)
}

/// `batch.kubernetes.io/job-index-ignored-failure-count` of a pod (0 when absent).
fn ignored_failure_count(pod: &Pod) -> i32 {
    annotation_int(pod, INDEX_IGNORED_FAILURE_COUNT_KEY)
}

fn annotation_int(pod: &Pod, key: &str) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The most recently finished failed pod of index `i`: its counts carry over.
fn last_failed_pod<'a>(pods: &[&'a Pod], i: i32) -> Option<&'a Pod> {
    pods.iter()
        .copied()
        .filter(|p| {
            podutil::completion_index(p) == Some(i) && podutil::phase(p) == podutil::phase::FAILED
        })
        .max_by_key(|p| (failure_count(p) + ignored_failure_count(p), finish_time(p)))
}

fn delete(plan: &mut Plan, deleted: &mut HashSet<String>, pod: &Pod, reason: DeletionReason) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    if deleted.insert(name.clone()) {
        plan.delete.push(PodDeletion { name, reason });
    }
}

fn has_condition(status: &JobStatus, type_: &str, value: &str) -> bool {
    status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == type_ && c.status == value)
}

/// Upstream `ensureJobConditionStatus`: update in place when something differs, append a
/// new condition only when it is True (a False condition is never added).
fn set_condition(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value
            || c.reason.as_deref() != Some(reason)
            || c.message.as_deref() != Some(message)
        {
            c.status = value.into();
            c.reason = Some(reason.into());
            c.message = Some(message.into());
            c.last_probe_time = Some(Time(now));
            c.last_transition_time = Some(Time(now));
        }
    } else if value == "True" {
        conditions.push(JobCondition {
            type_: type_.into(),
            status: value.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_probe_time: Some(Time(now)),
            last_transition_time: Some(Time(now)),
        });
    }
}

fn normal(reason: &str, message: &str) -> JobEvent {
    JobEvent {
        type_: "Normal",
        reason: reason.into(),
        message: message.into(),
    }
}

fn non_zero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

fn non_empty_string(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn min_duration(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}
