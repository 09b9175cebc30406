//! The TTL-after-finished controller's decision (upstream ttlafterfinished_controller.go):
//! a finished Job with `ttlSecondsAfterFinished` expires that long after its terminal
//! condition's `lastTransitionTime`.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;

use crate::api::job::{condition, find_condition, is_finished};

/// `Some(ZERO)` when the Job should be deleted now, `Some(d)` when it expires in `d`,
/// `None` when it never expires (no TTL, not finished, or already being deleted).
pub fn expires_in(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    if !is_finished(job) || job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let finished = [condition::COMPLETE, condition::FAILED]
        .into_iter()
        .filter_map(|t| find_condition(job, t))
        .find(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)?;
    let expiry = finished
        .checked_add(jiff::SignedDuration::from_secs(ttl.max(0) as i64))
        .ok()?;
    Some(Duration::try_from(expiry.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn job(ttl: Option<i32>, finished_at: Option<i64>) -> Job {
        Job {
            spec: Some(JobSpec {
                ttl_seconds_after_finished: ttl,
                ..Default::default()
            }),
            status: Some(JobStatus {
                conditions: finished_at.map(|f| {
                    vec![JobCondition {
                        type_: "Complete".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(t(f))),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_finished_job_expires_ttl_seconds_after_its_terminal_condition() {
        assert_eq!(
            expires_in(&job(Some(100), Some(0)), t(40)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            expires_in(&job(Some(100), Some(0)), t(100)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            expires_in(&job(Some(0), Some(0)), t(0)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn unfinished_or_ttl_less_jobs_never_expire() {
        assert_eq!(expires_in(&job(Some(100), None), t(1000)), None);
        assert_eq!(expires_in(&job(None, Some(0)), t(1000)), None);
    }
}
