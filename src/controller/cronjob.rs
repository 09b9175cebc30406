//! The CronJob controller's decisions, pure: `sync(&CronJob, &[Job], now, tz) -> CronPlan`
//! (upstream pkg/controller/cronjob/cronjob_controllerv2.go `syncCronJob`; our digest is
//! shared/reference/k8s-job-semantics.md §5.2). `controller::run_forever` applies the plan.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job, JobSpec};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use super::job::JobEvent;
use crate::api::job::{condition, find_condition, is_finished};
use crate::cron::{Schedule, earliest_time, most_recent_schedule_time};

/// Annotation with the time a Job was scheduled for, in the CronJob's time zone.
pub const SCHEDULED_TIMESTAMP_KEY: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// What one sync of a CronJob decided.
#[derive(Clone, Debug, Default)]
pub struct CronPlan {
    /// A Job to create (name, labels, annotations, owner and spec set; uid and defaults are
    /// the API server's part).
    pub create: Option<Job>,
    /// Jobs to delete (Background propagation), by name.
    pub delete: Vec<String>,
    /// The new status, when it changed.
    pub status: Option<CronJobStatus>,
    /// Events about the CronJob.
    pub events: Vec<JobEvent>,
    /// When to look again.
    pub requeue_after: Option<Duration>,
}

fn event(type_: &'static str, reason: &str, message: String) -> JobEvent {
    JobEvent {
        type_,
        reason: reason.into(),
        message,
    }
}

/// The time zone a CronJob's schedule is read in: `spec.timeZone`, else `local`.
pub fn time_zone(cj: &CronJob, local: &TimeZone) -> Result<TimeZone, String> {
    match cj.spec.as_ref().and_then(|s| s.time_zone.as_deref()) {
        None => Ok(local.clone()),
        Some(name) => TimeZone::get(name).map_err(|e| e.to_string()),
    }
}

/// `<cronjob>-<scheduled time in minutes since the epoch>`: deterministic, so a Job is never
/// created twice for one scheduled time.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// One reconcile of `cj`, given the Jobs it owns.
pub fn sync(cj: &CronJob, jobs: &[Job], now: Timestamp, local: &TimeZone) -> CronPlan {
    let mut plan = CronPlan::default();
    let Some(spec) = cj.spec.as_ref() else {
        return plan;
    };
    let name = cj.metadata.name.clone().unwrap_or_default();
    let old = cj.status.clone().unwrap_or_default();
    let mut status = old.clone();

    // 1. Reconcile `status.active` with the Jobs that exist.
    let by_uid: BTreeMap<&str, &Job> = jobs
        .iter()
        .filter_map(|j| j.metadata.uid.as_deref().map(|u| (u, j)))
        .collect();
    let mut active: Vec<ObjectReference> = Vec::new();
    for r in old.active.iter().flatten() {
        let uid = r.uid.as_deref().unwrap_or("");
        match by_uid.get(uid) {
            None => plan.events.push(event(
                "Normal",
                "MissingJob",
                format!(
                    "Active job went missing: {}",
                    r.name.as_deref().unwrap_or("")
                ),
            )),
            Some(j) if is_finished(j) => {
                let outcome =
                    if find_condition(j, condition::COMPLETE).is_some_and(|c| c.status == "True") {
                        "Complete"
                    } else {
                        "Failed"
                    };
                plan.events.push(event(
                    "Normal",
                    "SawCompletedJob",
                    format!(
                        "Saw completed job: {}, status: {outcome}",
                        r.name.as_deref().unwrap_or("")
                    ),
                ));
            }
            Some(_) => active.push(r.clone()),
        }
    }
    let last_success = jobs
        .iter()
        .filter(|j| find_condition(j, condition::COMPLETE).is_some_and(|c| c.status == "True"))
        .filter_map(|j| j.status.as_ref()?.completion_time.as_ref().map(|t| t.0))
        .max();
    if let Some(t) = last_success
        && old.last_successful_time.as_ref().is_none_or(|o| o.0 < t)
    {
        status.last_successful_time = Some(Time(t));
    }

    // 7 (done early, it does not depend on scheduling): history limits.
    plan.delete.extend(history_victims(
        jobs,
        spec.successful_jobs_history_limit.unwrap_or(3),
        spec.failed_jobs_history_limit.unwrap_or(1),
    ));
    for victim in &plan.delete {
        plan.events.push(event(
            "Normal",
            "SuccessfulDelete",
            format!("Deleted job {victim}"),
        ));
    }

    let finish = |mut plan: CronPlan, status: CronJobStatus, active: Vec<ObjectReference>| {
        let mut status = status;
        status.active = (!active.is_empty()).then_some(active);
        if status != old {
            plan.status = Some(status);
        }
        plan
    };

    // 2–3. Nothing is scheduled for a CronJob being deleted or suspended.
    if cj.metadata.deletion_timestamp.is_some() || spec.suspend == Some(true) {
        return finish(plan, status, active);
    }
    let tz = match time_zone(cj, local) {
        Ok(tz) => tz,
        Err(e) => {
            let tzname = spec.time_zone.clone().unwrap_or_default();
            plan.events.push(event(
                "Warning",
                "UnknownTimeZone",
                format!("invalid timeZone: {tzname:?}: {e}"),
            ));
            return finish(plan, status, active);
        }
    };
    let schedule = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            plan.events.push(event(
                "Warning",
                "InvalidSchedule",
                format!("invalid schedule: {} : {e}", spec.schedule),
            ));
            return finish(plan, status, active);
        }
    };
    let next_after_now = schedule.next(now, &tz);
    plan.requeue_after = next_after_now.map(|n| {
        Duration::try_from(n.duration_since(now)).unwrap_or(Duration::ZERO)
            + Duration::from_millis(100)
    });

    // 4. The most recent unmet schedule time.
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let earliest = earliest_time(
        old.last_schedule_time.as_ref().map(|t| t.0),
        created,
        spec.starting_deadline_seconds,
        now,
    );
    let missed = most_recent_schedule_time(&schedule, &tz, earliest, now);
    if missed.too_many {
        plan.events.push(event(
            "Warning",
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
        ));
    }
    let Some(scheduled) = missed.most_recent else {
        return finish(plan, status, active);
    };
    if let Some(sds) = spec.starting_deadline_seconds
        && scheduled
            .checked_add(jiff::SignedDuration::from_secs(sds))
            .is_ok_and(|deadline| deadline < now)
    {
        plan.events.push(event(
            "Warning",
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                scheduled.to_zoned(tz.clone()).timestamp()
            ),
        ));
        return finish(plan, status, active);
    }
    let new_name = job_name(&name, scheduled);
    if jobs
        .iter()
        .any(|j| j.metadata.name.as_deref() == Some(new_name.as_str()))
    {
        // Already created for this time (perhaps by a run that crashed before its status).
        status.last_schedule_time = Some(Time(scheduled));
        return finish(plan, status, active);
    }

    // 5. Concurrency.
    match spec.concurrency_policy.as_deref().unwrap_or("Allow") {
        "Forbid" if !active.is_empty() => {
            plan.events.push(event(
                "Normal",
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            ));
            return finish(plan, status, active);
        }
        "Replace" => {
            for r in active.drain(..) {
                let n = r.name.clone().unwrap_or_default();
                if !plan.delete.contains(&n) {
                    plan.events.push(event(
                        "Normal",
                        "SuccessfulDelete",
                        format!("Deleted job {n}"),
                    ));
                    plan.delete.push(n);
                }
            }
        }
        _ => {}
    }

    // 6. Create the Job.
    let template = spec.job_template.clone();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP_KEY.into(),
        scheduled
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
            .replace("+00:00", "Z"),
    );
    let job = Job {
        metadata: ObjectMeta {
            name: Some(new_name.clone()),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: name.clone(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(template.spec.unwrap_or_else(JobSpec::default)),
        status: None,
    };
    plan.create = Some(job);
    plan.events.push(event(
        "Normal",
        "SuccessfulCreate",
        format!("Created job {new_name}"),
    ));
    active.push(ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(new_name),
        namespace: cj.metadata.namespace.clone(),
        ..Default::default()
    });
    status.last_schedule_time = Some(Time(scheduled));
    finish(plan, status, active)
}

/// Finished Jobs beyond the history limits, oldest first (by startTime, unset last, then
/// name), as upstream `cleanupFinishedJobs` picks them.
fn history_victims(jobs: &[Job], keep_succeeded: i32, keep_failed: i32) -> Vec<String> {
    let mut out = Vec::new();
    for (want_complete, keep) in [(true, keep_succeeded), (false, keep_failed)] {
        let mut finished: Vec<&Job> = jobs
            .iter()
            .filter(|j| is_finished(j) && j.metadata.deletion_timestamp.is_none())
            .filter(|j| {
                find_condition(j, condition::COMPLETE).is_some_and(|c| c.status == "True")
                    == want_complete
            })
            .collect();
        finished.sort_by_key(|j| {
            (
                j.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0)
                    .is_none(),
                j.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0),
                j.metadata.name.clone(),
            )
        });
        let excess = finished.len().saturating_sub(keep.max(0) as usize);
        out.extend(
            finished
                .iter()
                .take(excess)
                .filter_map(|j| j.metadata.name.clone()),
        );
    }
    out
}

/// Fills the uid of the just-created Job into `status.active` (the plan cannot know it).
pub fn record_uid(status: &mut CronJobStatus, name: &str, uid: &str) {
    for r in status.active.iter_mut().flatten() {
        if r.name.as_deref() == Some(name) {
            r.uid = Some(uid.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobStatus, JobTemplateSpec};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cronjob(schedule: &str) -> CronJob {
        CronJob {
            metadata: ObjectMeta {
                name: Some("cj".into()),
                namespace: Some("default".into()),
                uid: Some("cj-uid".into()),
                creation_timestamp: Some(Time(t("2026-01-01T00:00:30Z"))),
                ..Default::default()
            },
            spec: Some(CronJobSpec {
                schedule: schedule.into(),
                job_template: JobTemplateSpec::default(),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn finished_job(name: &str, complete: bool, start: &str) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            spec: None,
            status: Some(JobStatus {
                start_time: Some(Time(t(start))),
                completion_time: complete.then(|| Time(t(start))),
                conditions: Some(vec![JobCondition {
                    type_: if complete { "Complete" } else { "Failed" }.into(),
                    status: "True".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_due_schedule_creates_a_job_named_by_its_minute() {
        let cj = cronjob("*/1 * * * *");
        let plan = sync(&cj, &[], t("2026-01-01T00:01:05Z"), &TimeZone::UTC);
        let job = plan.create.expect("a job");
        let minutes = t("2026-01-01T00:01:00Z").as_second() / 60;
        assert_eq!(
            job.metadata.name.as_deref(),
            Some(format!("cj-{minutes}").as_str())
        );
        assert_eq!(
            job.metadata
                .annotations
                .unwrap()
                .get(SCHEDULED_TIMESTAMP_KEY)
                .map(String::as_str),
            Some("2026-01-01T00:01:00Z")
        );
        let owner = &job.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("CronJob", Some(true))
        );
        let st = plan.status.unwrap();
        assert_eq!(st.last_schedule_time, Some(Time(t("2026-01-01T00:01:00Z"))));
        assert_eq!(st.active.unwrap().len(), 1);
        assert_eq!(plan.requeue_after, Some(Duration::from_millis(55_100)));
        assert!(plan.events.iter().any(|e| e.reason == "SuccessfulCreate"));
    }

    #[test]
    fn nothing_is_created_before_the_first_scheduled_time_or_when_suspended() {
        let cj = cronjob("*/5 * * * *");
        let plan = sync(&cj, &[], t("2026-01-01T00:04:00Z"), &TimeZone::UTC);
        assert!(plan.create.is_none());
        assert_eq!(plan.requeue_after, Some(Duration::from_millis(60_100)));
        let mut s = cronjob("*/1 * * * *");
        s.spec.as_mut().unwrap().suspend = Some(true);
        assert!(
            sync(&s, &[], t("2026-01-01T00:05:00Z"), &TimeZone::UTC)
                .create
                .is_none()
        );
    }

    #[test]
    fn a_missed_start_beyond_the_starting_deadline_is_skipped_with_an_event() {
        let mut cj = cronjob("0 * * * *");
        cj.spec.as_mut().unwrap().starting_deadline_seconds = Some(30);
        let plan = sync(&cj, &[], t("2026-01-01T01:00:45Z"), &TimeZone::UTC);
        assert!(plan.create.is_none());
        // Within the deadline, it starts late but starts.
        let plan = sync(&cj, &[], t("2026-01-01T01:00:20Z"), &TimeZone::UTC);
        assert!(plan.create.is_some());
    }

    #[test]
    fn forbid_skips_while_a_job_runs_and_replace_deletes_it() {
        let mut cj = cronjob("*/1 * * * *");
        let running = Job {
            metadata: ObjectMeta {
                name: Some("cj-old".into()),
                uid: Some("uid-old".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        cj.status = Some(CronJobStatus {
            active: Some(vec![ObjectReference {
                name: Some("cj-old".into()),
                uid: Some("uid-old".into()),
                ..Default::default()
            }]),
            last_schedule_time: Some(Time(t("2026-01-01T00:01:00Z"))),
            ..Default::default()
        });
        cj.spec.as_mut().unwrap().concurrency_policy = Some("Forbid".into());
        let now = t("2026-01-01T00:02:01Z");
        let plan = sync(&cj, std::slice::from_ref(&running), now, &TimeZone::UTC);
        assert!(plan.create.is_none());
        assert!(plan.events.iter().any(|e| e.reason == "JobAlreadyActive"));

        cj.spec.as_mut().unwrap().concurrency_policy = Some("Replace".into());
        let plan = sync(&cj, &[running], now, &TimeZone::UTC);
        assert_eq!(plan.delete, ["cj-old"]);
        assert!(plan.create.is_some());
    }

    #[test]
    fn history_limits_prune_the_oldest_finished_jobs() {
        let cj = cronjob("0 0 1 1 *");
        let jobs = [
            finished_job("a", true, "2026-01-01T00:01:00Z"),
            finished_job("b", true, "2026-01-01T00:02:00Z"),
            finished_job("c", true, "2026-01-01T00:03:00Z"),
            finished_job("d", true, "2026-01-01T00:04:00Z"),
            finished_job("e", false, "2026-01-01T00:05:00Z"),
            finished_job("f", false, "2026-01-01T00:06:00Z"),
        ];
        let plan = sync(&cj, &jobs, t("2026-01-01T00:10:00Z"), &TimeZone::UTC);
        assert_eq!(plan.delete, ["a", "e"]);
        assert_eq!(
            plan.status.unwrap().last_successful_time,
            Some(Time(t("2026-01-01T00:04:00Z")))
        );
    }

    #[test]
    fn finished_active_jobs_leave_the_active_list_with_an_event() {
        let mut cj = cronjob("0 0 1 1 *");
        cj.status = Some(CronJobStatus {
            active: Some(vec![ObjectReference {
                name: Some("a".into()),
                uid: Some("uid-a".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let plan = sync(
            &cj,
            &[finished_job("a", true, "2026-01-01T00:01:00Z")],
            t("2026-01-01T00:02:00Z"),
            &TimeZone::UTC,
        );
        assert_eq!(plan.status.unwrap().active, None);
        assert!(
            plan.events
                .iter()
                .any(|e| e.message == "Saw completed job: a, status: Complete")
        );
    }
}
