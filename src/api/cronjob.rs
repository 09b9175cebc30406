//! Defaulting and validation of batch/v1 CronJobs, as kube-apiserver does them
//! (pkg/apis/batch/v1/defaults.go `SetDefaults_CronJob`, validation.go `ValidateCronJob`).

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::defaults::default_job;
use super::validation::{FieldError, FieldPath, validate_job};
use crate::cron::Schedule;

/// Applies the API server's defaults to a CronJob.
pub fn default_cronjob(cj: &mut CronJob) {
    let spec = cj.spec.get_or_insert_with(Default::default);
    spec.concurrency_policy
        .get_or_insert_with(|| "Allow".into());
    spec.suspend.get_or_insert(false);
    spec.successful_jobs_history_limit.get_or_insert(3);
    spec.failed_jobs_history_limit.get_or_insert(1);
    // The job template's pod template gets the core defaults (not the Job's own defaults,
    // which apply when each Job is created).
    if let Some(pod) = spec
        .job_template
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
    {
        pod.restart_policy.get_or_insert_with(|| "Always".into());
        pod.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
        pod.scheduler_name
            .get_or_insert_with(|| "default-scheduler".into());
        pod.security_context.get_or_insert_with(Default::default);
        pod.termination_grace_period_seconds.get_or_insert(30);
        for c in pod.containers.iter_mut() {
            c.termination_message_path
                .get_or_insert_with(|| "/dev/termination-log".into());
            c.termination_message_policy
                .get_or_insert_with(|| "File".into());
            c.resources.get_or_insert_with(Default::default);
            if c.image_pull_policy.is_none() {
                let tagged = c.image.as_deref().is_some_and(|i| {
                    i.contains('@')
                        || i.rsplit('/')
                            .next()
                            .is_some_and(|l| l.contains(':') && !l.ends_with(":latest"))
                });
                c.image_pull_policy = Some(if tagged { "IfNotPresent" } else { "Always" }.into());
            }
        }
    }
}

/// Validation of a defaulted CronJob: all field errors at once.
pub fn validate_cronjob(cj: &CronJob) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let meta = FieldPath::root("metadata");
    let name = cj.metadata.name.clone().unwrap_or_default();
    if name.len() > 52 {
        errors.push(FieldError::invalid(
            &meta.child("name"),
            name.as_str(),
            "must be no more than 52 characters",
        ));
    }
    let spec_path = FieldPath::root("spec");
    let Some(spec) = cj.spec.as_ref() else {
        errors.push(FieldError::required(&spec_path, ""));
        return errors;
    };
    let sched = spec_path.child("schedule");
    if spec.schedule.is_empty() {
        errors.push(FieldError::required(&sched, ""));
    } else {
        // Upstream reports a parse error and the TZ rule separately (validateScheduleFormat).
        match Schedule::parse(&spec.schedule) {
            Err(crate::cron::ParseError::TimeZoneInSchedule) | Ok(_) => {}
            Err(e) => errors.push(FieldError::invalid(
                &sched,
                spec.schedule.as_str(),
                e.to_string(),
            )),
        }
        if crate::cron::has_timezone_prefix(&spec.schedule) {
            errors.push(FieldError::invalid(
                &sched,
                spec.schedule.as_str(),
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    if let Some(tz) = spec.time_zone.as_deref() {
        let path = spec_path.child("timeZone");
        if tz == "Local" || tz.is_empty() {
            errors.push(FieldError::invalid(&path, tz, "unknown time zone Local"));
        } else if jiff::tz::TimeZone::get(tz).is_err() {
            errors.push(FieldError::invalid(
                &path,
                tz,
                format!("unknown time zone {tz}"),
            ));
        }
    }
    match spec.concurrency_policy.as_deref() {
        Some("Allow" | "Forbid" | "Replace") => {}
        Some(other) => errors.push(FieldError::not_supported(
            &spec_path.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
        None => errors.push(FieldError::required(
            &spec_path.child("concurrencyPolicy"),
            "",
        )),
    }
    for (field, v) in [
        ("startingDeadlineSeconds", spec.starting_deadline_seconds),
        (
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit.map(i64::from),
        ),
        (
            "failedJobsHistoryLimit",
            spec.failed_jobs_history_limit.map(i64::from),
        ),
    ] {
        if let Some(v) = v
            && v < 0
        {
            errors.push(FieldError::invalid(
                &spec_path.child(field),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    let template = spec_path.child("jobTemplate").child("spec");
    let job_spec = spec.job_template.spec.clone().unwrap_or_default();
    if job_spec.selector.is_some() {
        errors.push(FieldError::invalid(
            &template.child("selector"),
            serde_json::to_value(&job_spec.selector).unwrap_or_default(),
            "`selector` will be auto-generated",
        ));
    }
    if job_spec.manual_selector == Some(true) {
        errors.push(FieldError::not_supported(
            &template.child("manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
    // The template must make a valid Job: validate one as the controller would create it,
    // and report its spec errors under the template's path.
    let mut job = Job {
        metadata: ObjectMeta {
            name: Some("x".into()),
            namespace: cj.metadata.namespace.clone(),
            uid: Some("00000000-0000-0000-0000-000000000000".into()),
            ..Default::default()
        },
        spec: Some(job_spec),
        status: None,
    };
    default_job(&mut job);
    for mut e in validate_job(&job) {
        if let Some(rest) = e.field.strip_prefix("spec.") {
            e.field = format!("{template}.{rest}");
            errors.push(e);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cj(yaml: &str) -> CronJob {
        let mut c: CronJob = serde_yaml::from_str(yaml).unwrap();
        default_cronjob(&mut c);
        c
    }

    const OK: &str = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: hello}\nspec:\n  schedule: \"*/1 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: x.wasm}]\n          restartPolicy: OnFailure\n";

    #[test]
    fn a_valid_cronjob_gets_its_defaults_and_no_errors() {
        let c = cj(OK);
        assert_eq!(validate_cronjob(&c), vec![]);
        let s = c.spec.unwrap();
        assert_eq!(s.concurrency_policy.as_deref(), Some("Allow"));
        assert_eq!(
            (s.successful_jobs_history_limit, s.failed_jobs_history_limit),
            (Some(3), Some(1))
        );
    }

    #[test]
    fn bad_schedules_time_zones_and_templates_are_reported_by_path() {
        let c = cj(&OK.replace("\"*/1 * * * *\"", "\"TZ=UTC * * * * *\""));
        assert_eq!(
            validate_cronjob(&c)[0].to_string(),
            "spec.schedule: Invalid value: \"TZ=UTC * * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        );
        let c = cj(&OK.replace("restartPolicy: OnFailure", "restartPolicy: Always"));
        assert_eq!(
            validate_cronjob(&c)[0].to_string(),
            "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
        );
        let c = cj(&OK.replace("  jobTemplate:", "  timeZone: Mars/Olympus\n  jobTemplate:"));
        assert!(
            validate_cronjob(&c)[0]
                .to_string()
                .starts_with("spec.timeZone: Invalid value: \"Mars/Olympus\"")
        );
        let c = cj(&OK.replace("name: hello", &format!("name: {}", "a".repeat(53))));
        assert!(
            validate_cronjob(&c)[0]
                .to_string()
                .contains("must be no more than 52 characters")
        );
    }
}
