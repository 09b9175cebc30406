//! batch/v1 CronJob validation (`ValidateCronJobCreate`, `ValidateCronJobUpdate`), with
//! the Job template checked by the Job's own rules.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec};

use super::field::{FieldError, FieldPath};
use super::job::validate_job_template_spec;
use super::meta::validate_object_meta;
use crate::cron::Schedule;

/// `ValidateCronJobCreate` of a defaulted CronJob: all field errors, in upstream's order.
pub fn validate_cronjob(cj: &CronJob) -> Vec<FieldError> {
    // CronJobs and ReplicationControllers share the name rule (a DNS-1123 subdomain).
    let mut errors = Vec::new();
    let meta = FieldPath::root("metadata");
    validate_object_meta(&cj.metadata, &meta, &mut errors);
    validate_spec(cj, None, &mut errors);
    let name = cj.metadata.name.as_deref().unwrap_or("");
    // The controller appends an 11-character `-<minutes>` suffix for each Job's name.
    if name.len() > 52 {
        errors.push(FieldError::invalid(
            &meta.child("name"),
            name,
            "must be no more than 52 characters",
        ));
    }
    errors
}

/// `ValidateCronJobUpdate`: the spec as on create, except that a schedule whose old
/// version used `TZ` may keep it and an unchanged `timeZone` is not checked again; no
/// name-length rule, so that older CronJobs stay editable.
pub fn validate_cronjob_update(new: &CronJob, old: &CronJob) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_spec(new, Some(old), &mut errors);
    errors
}

/// `validateCronJobSpec`.
fn validate_spec(cj: &CronJob, old: Option<&CronJob>, errors: &mut Vec<FieldError>) {
    let spec_path = FieldPath::root("spec");
    let default_spec = CronJobSpec::default();
    let spec = cj.spec.as_ref().unwrap_or(&default_spec);
    let old_spec = old.map(|o| o.spec.as_ref().unwrap_or(&default_spec));
    let sched = spec_path.child("schedule");
    if spec.schedule.is_empty() {
        errors.push(FieldError::required(&sched, ""));
    } else {
        let allow_tz = old_spec.is_some_and(|o| o.schedule.contains("TZ"));
        schedule_format(
            &spec.schedule,
            allow_tz,
            spec.time_zone.as_deref(),
            &sched,
            errors,
        );
    }
    if let Some(v) = spec.starting_deadline_seconds {
        non_negative(v, &spec_path.child("startingDeadlineSeconds"), errors);
    }
    if old_spec.is_none_or(|o| o.time_zone != spec.time_zone) {
        time_zone(
            spec.time_zone.as_deref(),
            &spec_path.child("timeZone"),
            errors,
        );
    }
    let policy = spec_path.child("concurrencyPolicy");
    match spec.concurrency_policy.as_deref().unwrap_or("") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errors.push(FieldError::required(&policy, "")),
        other => errors.push(FieldError::not_supported(
            &policy,
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    // `ValidateJobTemplateSpec`: the Job spec's own rules, called directly, then the
    // selector the controller will generate.
    let template = spec_path.child("jobTemplate").child("spec");
    let default_job_spec = JobSpec::default();
    let job_spec = spec.job_template.spec.as_ref().unwrap_or(&default_job_spec);
    errors.extend(validate_job_template_spec(job_spec, &template));
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
    // Zero is a valid history limit.
    if let Some(v) = spec.successful_jobs_history_limit {
        non_negative(
            v.into(),
            &spec_path.child("successfulJobsHistoryLimit"),
            errors,
        );
    }
    if let Some(v) = spec.failed_jobs_history_limit {
        non_negative(v.into(), &spec_path.child("failedJobsHistoryLimit"), errors);
    }
}

fn non_negative(v: i64, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if v < 0 {
        errors.push(FieldError::invalid(
            path,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

/// `validateScheduleFormat`: robfig's parse error, then the `TZ` rules.
fn schedule_format(
    schedule: &str,
    allow_tz: bool,
    time_zone: Option<&str>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    match Schedule::parse(schedule) {
        // robfig accepts a `TZ=`/`CRON_TZ=` prefix; the rules below judge it.
        Err(crate::cron::ParseError::TimeZoneInSchedule) | Ok(_) => {}
        Err(e) => errors.push(FieldError::invalid(path, schedule, e.to_string())),
    }
    // Upstream's test is `strings.Contains(schedule, "TZ")`, not a prefix check.
    let has_tz = crate::cron::has_timezone_prefix(schedule);
    if allow_tz && has_tz && time_zone.is_some() {
        errors.push(FieldError::invalid(
            path,
            schedule,
            "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        ));
    } else if !allow_tz && has_tz {
        errors.push(FieldError::invalid(
            path,
            schedule,
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
    }
}

/// `validateTimeZone`: IANA's naming rules, no `Local`, and a zone the database has.
fn time_zone(tz: Option<&str>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(tz) = tz else { return };
    if tz.is_empty() {
        errors.push(FieldError::invalid(
            path,
            tz,
            "timeZone must be nil or non-empty string",
        ));
        return;
    }
    // `^[A-Za-z\.\-_0-9+]{1,14}$` per component, and no `.`, `..` or leading `-`.
    let bad_part = tz.split('/').any(|part| {
        part == "."
            || part == ".."
            || part.starts_with('-')
            || part.is_empty()
            || part.len() > 14
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    });
    if bad_part {
        errors.push(FieldError::invalid(
            path,
            tz,
            format!("unknown time zone {tz}"),
        ));
        return;
    }
    if tz.eq_ignore_ascii_case("Local") {
        errors.push(FieldError::invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    // Go's `LoadLocation("Local")` succeeds; any other name must be in the database.
    if tz != "Local" && jiff::tz::TimeZone::get(tz).is_err() {
        errors.push(FieldError::invalid(
            path,
            tz,
            format!("unknown time zone {tz}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::defaults::default_cronjob;

    fn cj(yaml: &str) -> CronJob {
        let mut c: CronJob = serde_yaml_ng::from_str(yaml).unwrap();
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
    fn init_containers_of_the_template_get_the_core_defaults() {
        let c = cj(&OK.replace(
            "          restartPolicy: OnFailure",
            "          restartPolicy: OnFailure\n          initContainers: [{name: i, image: i.wasm}]",
        ));
        let pod = c
            .spec
            .unwrap()
            .job_template
            .spec
            .unwrap()
            .template
            .spec
            .unwrap();
        let init = &pod.init_containers.unwrap()[0];
        assert_eq!(init.termination_message_policy.as_deref(), Some("File"));
        assert_eq!(init.image_pull_policy.as_deref(), Some("Always"));
    }

    #[test]
    fn an_update_may_keep_a_tz_schedule_it_already_had() {
        let old = cj(&OK.replace("\"*/1 * * * *\"", "\"TZ=UTC */1 * * * *\""));
        let new = old.clone();
        assert_eq!(validate_cronjob_update(&new, &old), vec![]);
        let fresh = cj(OK);
        assert_eq!(
            validate_cronjob_update(&new, &fresh)[0].to_string(),
            "spec.schedule: Invalid value: \"TZ=UTC */1 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
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
        let c = cj(&OK.replace("  jobTemplate:", "  timeZone: Local\n  jobTemplate:"));
        assert_eq!(
            validate_cronjob(&c)[0].to_string(),
            "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        );
        let c = cj(&OK.replace("  jobTemplate:", "  timeZone: \"\"\n  jobTemplate:"));
        assert_eq!(
            validate_cronjob(&c)[0].to_string(),
            "spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string"
        );
        let c = cj(&OK.replace("name: hello", "name: Hello_World"));
        assert!(
            validate_cronjob(&c)[0].to_string().starts_with(
                "metadata.name: Invalid value: \"Hello_World\": a lowercase RFC 1123 subdomain"
            ),
            "{:?}",
            validate_cronjob(&c)
        );
        let c = cj(&OK.replace("name: hello", &format!("name: {}", "a".repeat(53))));
        assert!(
            validate_cronjob(&c)[0]
                .to_string()
                .contains("must be no more than 52 characters")
        );
    }
}
