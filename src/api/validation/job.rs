//! batch/v1 Job validation (`pkg/apis/batch/validation`): the spec, pod failure and
//! success policies, the generated selector, updates and immutability, index intervals.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::field::*;
use super::meta::*;
use super::names::*;
use super::pod::*;

pub(super) const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
pub(super) const MAX_FAILED_INDEXES_FOR_INDEXED_JOB: i32 = 100_000;
pub(super) const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
pub(super) const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
pub(super) const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
pub(super) const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
pub(super) const MAX_ON_EXIT_CODES_VALUES: usize = 255;
pub(super) const MAX_ON_POD_CONDITIONS_PATTERNS: usize = 20;
pub(super) const MAX_MANAGED_BY_LENGTH: usize = 63;
pub(super) const MAX_SUCCEEDED_INDEXES_LENGTH: usize = 64 * 1024;
pub(super) const MAX_SUCCESS_POLICY_RULES: usize = 20;

pub(super) const POD_FAILURE_POLICY_ACTIONS: [&str; 4] =
    ["Count", "FailIndex", "FailJob", "Ignore"];
pub(super) const ON_EXIT_CODES_OPERATORS: [&str; 2] = ["In", "NotIn"];
pub(super) const CONDITION_STATUSES: [&str; 3] = ["False", "True", "Unknown"];

/// The label keys the API server puts on a Job's pod template.
pub(super) const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub(super) const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub(super) const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub(super) const LEGACY_JOB_NAME_LABEL: &str = "job-name";

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(super) fn template_labels(spec: &JobSpec) -> Option<&BTreeMap<String, String>> {
    spec.template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
}

/// `ValidateHasLabel`.
pub(super) fn validate_has_label(
    labels: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    key: &str,
    expected: &str,
    errs: &mut Vec<FieldError>,
) {
    let p = path.child("labels").key(key);
    match labels.and_then(|l| l.get(key)) {
        None => errs.push(FieldError::required(&p, format!("must be '{expected}'"))),
        Some(v) if v != expected => errs.push(FieldError::invalid(
            &p,
            to_json(&labels),
            format!("must be '{expected}'"),
        )),
        Some(_) => {}
    }
}

/// `validateGeneratedSelector`. Skipped when the job has no uid yet (nothing was generated).
pub(super) fn validate_generated_selector(
    job: &Job,
    require_prefixed: bool,
    errs: &mut Vec<FieldError>,
) {
    let Some(spec) = &job.spec else { return };
    if spec.manual_selector == Some(true) || spec.selector.is_none() {
        return;
    }
    let Some(uid) = job.metadata.uid.as_deref() else {
        return;
    };
    let name = job.metadata.name.as_deref().unwrap_or("");
    if uid.is_empty() {
        errs.push(FieldError::required(
            &FieldPath::root("metadata").child("uid"),
            "",
        ));
    }
    let labels = template_labels(spec);
    let tpath = FieldPath::root("spec").child("template").child("metadata");
    validate_has_label(labels, &tpath, LEGACY_CONTROLLER_UID_LABEL, uid, errs);
    validate_has_label(labels, &tpath, LEGACY_JOB_NAME_LABEL, name, errs);
    let mut expected = BTreeMap::new();
    if require_prefixed {
        validate_has_label(labels, &tpath, CONTROLLER_UID_LABEL, uid, errs);
        validate_has_label(labels, &tpath, JOB_NAME_LABEL, name, errs);
        expected.insert(CONTROLLER_UID_LABEL.to_string(), uid.to_string());
        expected.insert(JOB_NAME_LABEL.to_string(), name.to_string());
    }
    expected.insert(LEGACY_CONTROLLER_UID_LABEL.to_string(), uid.to_string());
    expected.insert(LEGACY_JOB_NAME_LABEL.to_string(), name.to_string());
    if selector_matches(spec.selector.as_ref(), &expected) == Some(false) {
        errs.push(FieldError::invalid(
            &FieldPath::root("spec").child("selector"),
            to_json(&spec.selector),
            "`selector` not auto-generated",
        ));
    }
}

/// `validatePodFailurePolicy`.
pub(super) fn validate_pod_failure_policy(
    spec: &JobSpec,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let Some(pfp) = &spec.pod_failure_policy else {
        return;
    };
    let rules_path = path.child("rules");
    if pfp.rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errs.push(FieldError::too_many(
            &rules_path,
            pfp.rules.len(),
            MAX_POD_FAILURE_POLICY_RULES,
        ));
    }
    let tspec = spec.template.spec.as_ref();
    let container_names: BTreeSet<&str> = tspec
        .map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .map(|c| c.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    for (i, rule) in pfp.rules.iter().enumerate() {
        let rule_path = rules_path.index(i);
        let action_path = rule_path.child("action");
        if rule.action.is_empty() {
            errs.push(FieldError::required(
                &action_path,
                format!(
                    "valid values: {}",
                    crate::go::quote_list(&POD_FAILURE_POLICY_ACTIONS)
                ),
            ));
        } else if rule.action == "FailIndex" {
            if spec.backoff_limit_per_index.is_none() {
                errs.push(FieldError::invalid(
                    &action_path,
                    rule.action.as_str(),
                    "requires the backoffLimitPerIndex to be set",
                ));
            }
        } else if !POD_FAILURE_POLICY_ACTIONS.contains(&rule.action.as_str()) {
            errs.push(FieldError::not_supported(
                &action_path,
                rule.action.as_str(),
                &POD_FAILURE_POLICY_ACTIONS,
            ));
        }
        if let Some(oec) = &rule.on_exit_codes {
            let p = rule_path.child("onExitCodes");
            let op_path = p.child("operator");
            if oec.operator.is_empty() {
                errs.push(FieldError::required(
                    &op_path,
                    format!(
                        "valid values: {}",
                        crate::go::quote_list(&ON_EXIT_CODES_OPERATORS)
                    ),
                ));
            } else if !ON_EXIT_CODES_OPERATORS.contains(&oec.operator.as_str()) {
                errs.push(FieldError::not_supported(
                    &op_path,
                    oec.operator.as_str(),
                    &ON_EXIT_CODES_OPERATORS,
                ));
            }
            if let Some(cn) = &oec.container_name
                && !container_names.contains(cn.as_str())
            {
                errs.push(FieldError::invalid(
                    &p.child("containerName"),
                    cn.as_str(),
                    "must be one of the container or initContainer names in the pod template",
                ));
            }
            let values_path = p.child("values");
            if oec.values.is_empty() {
                errs.push(FieldError::invalid(
                    &values_path,
                    to_json(&oec.values),
                    "at least one value is required",
                ));
            } else if oec.values.len() > MAX_ON_EXIT_CODES_VALUES {
                errs.push(FieldError::too_many(
                    &values_path,
                    oec.values.len(),
                    MAX_ON_EXIT_CODES_VALUES,
                ));
            }
            let mut ordered = true;
            let mut seen = BTreeSet::new();
            for (j, v) in oec.values.iter().enumerate() {
                let vp = values_path.index(j);
                if oec.operator == "In" && *v == 0 {
                    errs.push(FieldError::invalid(
                        &vp,
                        *v,
                        "must not be 0 for the In operator",
                    ));
                }
                if !seen.insert(*v) {
                    errs.push(FieldError::duplicate(&vp, *v));
                }
                if j > 0 && oec.values[j - 1] > *v {
                    ordered = false;
                }
            }
            if !ordered {
                errs.push(FieldError::invalid(
                    &values_path,
                    to_json(&oec.values),
                    "must be ordered",
                ));
            }
        }
        let conds = rule.on_pod_conditions.as_deref().unwrap_or(&[]);
        if !conds.is_empty() {
            let p = rule_path.child("onPodConditions");
            if conds.len() > MAX_ON_POD_CONDITIONS_PATTERNS {
                errs.push(FieldError::too_many(
                    &p,
                    conds.len(),
                    MAX_ON_POD_CONDITIONS_PATTERNS,
                ));
            }
            for (j, pat) in conds.iter().enumerate() {
                let pp = p.index(j);
                validate_qualified_name(&pat.type_, &pp.child("type"), errs);
                // A missing status defaults to "True".
                match pat.status.as_deref() {
                    None => {}
                    Some("") => errs.push(FieldError::required(
                        &pp.child("status"),
                        format!(
                            "valid values: {}",
                            crate::go::quote_list(&CONDITION_STATUSES)
                        ),
                    )),
                    Some(s) if !CONDITION_STATUSES.contains(&s) => errs.push(
                        FieldError::not_supported(&pp.child("status"), s, &CONDITION_STATUSES),
                    ),
                    Some(_) => {}
                }
            }
        }
        if rule.on_exit_codes.is_some() && !conds.is_empty() {
            errs.push(FieldError::invalid_omit_value(
                &rule_path,
                "specifying both OnExitCodes and OnPodConditions is not supported",
            ));
        }
        if rule.on_exit_codes.is_none() && conds.is_empty() {
            errs.push(FieldError::invalid_omit_value(
                &rule_path,
                "specifying one of OnExitCodes and OnPodConditions is required",
            ));
        }
    }
}

/// `validateSuccessPolicy` (the caller has checked the job is Indexed).
pub(super) fn validate_success_policy(
    spec: &JobSpec,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let Some(sp) = &spec.success_policy else {
        return;
    };
    let rules_path = path.child("rules");
    if sp.rules.is_empty() {
        errs.push(FieldError::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if sp.rules.len() > MAX_SUCCESS_POLICY_RULES {
        errs.push(FieldError::too_many(
            &rules_path,
            sp.rules.len(),
            MAX_SUCCESS_POLICY_RULES,
        ));
    }
    // Indexed jobs without completions are rejected elsewhere; upstream would dereference nil.
    let Some(completions) = spec.completions else {
        return;
    };
    for (i, rule) in sp.rules.iter().enumerate() {
        let rule_path = rules_path.index(i);
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.push(FieldError::required(
                &rule_path,
                "at least one of succeededCount or succeededIndexes must be specified",
            ));
        }
        let mut total: i64 = 0;
        if let Some(idx) = &rule.succeeded_indexes {
            let p = rule_path.child("succeededIndexes");
            if idx.len() > MAX_SUCCEEDED_INDEXES_LENGTH {
                errs.push(FieldError::too_long(&p, MAX_SUCCEEDED_INDEXES_LENGTH));
            }
            match parse_indexes(idx, completions) {
                Ok(intervals) => {
                    total = intervals
                        .iter()
                        .map(|(x, y)| i64::from(*y) - i64::from(*x) + 1)
                        .sum();
                }
                Err(e) => errs.push(FieldError::invalid(
                    &p,
                    idx.as_str(),
                    format!("error parsing succeededIndexes: {e}"),
                )),
            }
        }
        if let Some(count) = rule.succeeded_count {
            let p = rule_path.child("succeededCount");
            validate_non_negative(count.into(), &p, errs);
            if count > completions {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!(
                        "must be less than or equal to {completions} (the number of specified completions)"
                    ),
                ));
            }
            if rule.succeeded_indexes.is_some() && i64::from(count) > total {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!(
                        "must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"
                    ),
                ));
            }
        }
    }
}

/// `IsDomainPrefixedPath`.
pub(super) fn validate_domain_prefixed_path(
    value: &str,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let Some((host, rest)) = value
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty())
    else {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        ));
        return;
    };
    for m in dns1123_subdomain_errors(host) {
        errs.push(FieldError::invalid(path, host, m));
    }
    let path_ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c));
    if !path_ok {
        errs.push(FieldError::invalid(
            path,
            rest,
            "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
        ));
    }
}

/// `validateJobSpec` of a Job template (a CronJob's `jobTemplate.spec`), under `path`.
pub fn validate_job_template_spec(spec: &JobSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_job_spec_fields(spec, path, &mut errs);
    errs
}

/// The private `validateJobSpec`: everything about the spec except the selector.
pub(super) fn validate_job_spec_fields(
    spec: &JobSpec,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if let Some(v) = spec.parallelism {
        validate_non_negative(v.into(), &path.child("parallelism"), errs);
    }
    if let Some(v) = spec.completions {
        validate_non_negative(v.into(), &path.child("completions"), errs);
    }
    if let Some(v) = spec.active_deadline_seconds {
        validate_non_negative(v, &path.child("activeDeadlineSeconds"), errs);
    }
    if let Some(v) = spec.backoff_limit {
        validate_non_negative(v.into(), &path.child("backoffLimit"), errs);
    }
    if let Some(v) = spec.ttl_seconds_after_finished {
        validate_non_negative(v.into(), &path.child("ttlSecondsAfterFinished"), errs);
    }
    if let Some(v) = spec.backoff_limit_per_index {
        validate_non_negative(v.into(), &path.child("backoffLimitPerIndex"), errs);
    }
    if let Some(v) = spec.max_failed_indexes {
        validate_non_negative(v.into(), &path.child("maxFailedIndexes"), errs);
        if spec.backoff_limit_per_index.is_none() {
            errs.push(FieldError::required(
                &path.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
    if let Some(mb) = &spec.managed_by {
        let p = path.child("managedBy");
        validate_domain_prefixed_path(mb, &p, errs);
        if mb.len() > MAX_MANAGED_BY_LENGTH {
            errs.push(FieldError::too_long(&p, MAX_MANAGED_BY_LENGTH));
        }
    }
    let mode = spec.completion_mode.as_deref();
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            errs.push(FieldError::not_supported(
                &path.child("completionMode"),
                m,
                &["NonIndexed", "Indexed"],
            ));
        }
        if m == "Indexed" {
            if spec.completions.is_none() {
                errs.push(FieldError::required(
                    &path.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(p) = spec.parallelism
                && p > MAX_PARALLELISM_FOR_INDEXED_JOB
            {
                errs.push(FieldError::invalid(
                    &path.child("parallelism"),
                    p,
                    format!(
                        "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"
                    ),
                ));
            }
            if let (Some(c), Some(m)) = (spec.completions, spec.max_failed_indexes)
                && m > c
            {
                errs.push(FieldError::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(m) = spec.max_failed_indexes
                && m > MAX_FAILED_INDEXES_FOR_INDEXED_JOB
            {
                errs.push(FieldError::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    format!("must be less than or equal to {MAX_FAILED_INDEXES_FOR_INDEXED_JOB}"),
                ));
            }
            if spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT)
                && spec.backoff_limit_per_index.is_some()
            {
                if spec.max_failed_indexes.is_none() {
                    errs.push(FieldError::required(
                        &path.child("maxFailedIndexes"),
                        format!(
                            "must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"
                        ),
                    ));
                }
                if let Some(p) = spec.parallelism
                    && p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS
                {
                    errs.push(FieldError::invalid(
                        &path.child("parallelism"),
                        p,
                        format!(
                            "must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                        ),
                    ));
                }
                if let Some(m) = spec.max_failed_indexes
                    && m > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS
                {
                    errs.push(FieldError::invalid(
                        &path.child("maxFailedIndexes"),
                        m,
                        format!(
                            "must be less than or equal to {MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                        ),
                    ));
                }
            }
        }
    }
    if mode.is_none() || mode == Some("NonIndexed") {
        if let Some(v) = spec.backoff_limit_per_index {
            errs.push(FieldError::invalid(
                &path.child("backoffLimitPerIndex"),
                v,
                "requires indexed completion mode",
            ));
        }
        if let Some(v) = spec.max_failed_indexes {
            errs.push(FieldError::invalid(
                &path.child("maxFailedIndexes"),
                v,
                "requires indexed completion mode",
            ));
        }
    }

    validate_pod_failure_policy(spec, &path.child("podFailurePolicy"), errs);
    if let Some(sp) = &spec.success_policy {
        if mode != Some("Indexed") {
            errs.push(FieldError::invalid(
                &path.child("successPolicy"),
                success_policy_json(sp),
                "requires indexed completion mode",
            ));
        } else {
            validate_success_policy(spec, &path.child("successPolicy"), errs);
        }
    }

    if let Some(prp) = spec.pod_replacement_policy.as_deref() {
        let p = path.child("podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if prp != "Failed" {
                errs.push(FieldError::not_supported(&p, prp, &["Failed"]));
            }
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                &p,
                prp,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }

    validate_pod_template(&spec.template, &path.child("template"), errs);

    let rp_path = path.child("template").child("spec").child("restartPolicy");
    let rp = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("");
    if rp.is_empty() || rp == "Always" {
        errs.push(FieldError::required(
            &rp_path,
            "valid values: \"OnFailure\", \"Never\"",
        ));
    } else if rp != "OnFailure" && rp != "Never" {
        errs.push(FieldError::not_supported(
            &rp_path,
            rp,
            &["OnFailure", "Never"],
        ));
    } else if spec.pod_failure_policy.is_some() && rp != "Never" {
        errs.push(FieldError::invalid(
            &rp_path,
            rp,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
}

/// The internal `batch.SuccessPolicy` has no JSON tags, so upstream renders Go field names.
pub(super) fn success_policy_json(sp: &k8s_openapi::api::batch::v1::SuccessPolicy) -> Value {
    let rules: Vec<Value> = sp
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "SucceededIndexes": r.succeeded_indexes,
                "SucceededCount": r.succeeded_count,
            })
        })
        .collect();
    serde_json::json!({ "Rules": rules })
}

/// `ValidateJobSpec`: the spec fields, then the selector and its match with the template labels.
pub(super) fn validate_job_spec(spec: &JobSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
    validate_job_spec_fields(spec, path, errs);
    match &spec.selector {
        None => errs.push(FieldError::required(&path.child("selector"), "")),
        Some(sel) => validate_label_selector(sel, &path.child("selector"), errs),
    }
    let empty = BTreeMap::new();
    let labels = template_labels(spec);
    if selector_matches(spec.selector.as_ref(), labels.unwrap_or(&empty)) == Some(false) {
        errs.push(FieldError::invalid(
            &path.child("template").child("metadata").child("labels"),
            to_json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
}

pub(super) fn validate_job_with(job: &Job, require_prefixed: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = FieldPath::root("metadata");
    validate_object_meta(&job.metadata, &meta, &mut errs);
    validate_generated_selector(job, require_prefixed, &mut errs);
    let default_spec = JobSpec::default();
    let spec = job.spec.as_ref().unwrap_or(&default_spec);
    validate_job_spec(spec, &FieldPath::root("spec"), &mut errs);
    if spec.completion_mode.as_deref() == Some("Indexed")
        && let Some(c) = spec.completions.filter(|c| *c > 0)
    {
        let name = job.metadata.name.as_deref().unwrap_or("");
        let hostname = format!("{}-{}", name, c - 1);
        if !dns1123_label_errors(&hostname).is_empty() {
            errs.push(FieldError::invalid(
                &meta.child("name"),
                name,
                format!("will not able to create pod with invalid DNS label: {hostname}"),
            ));
        }
    }
    errs
}

/// Create validation of a Job that has already been defaulted (`ValidateJob` with the options
/// the API server uses on create). Errors come in upstream's order.
pub fn validate_job(job: &Job) -> Vec<FieldError> {
    validate_job_with(job, true)
}

/// `ValidateImmutableField`.
pub(super) fn validate_immutable<T: PartialEq + serde::Serialize>(
    new: &T,
    old: &T,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if new != old {
        errs.push(FieldError::invalid(path, to_json(new), IMMUTABLE_MSG));
    }
}

/// Update validation (`Strategy.ValidateUpdate`): `ValidateJob(new)` followed by
/// `ValidateJobUpdate(new, old)`, which re-validates the spec and adds the immutability rules.
/// Like upstream, a spec error may therefore appear twice; the message builders drop repeats.
pub fn validate_job_update(new: &Job, old: &Job) -> Vec<FieldError> {
    let default_spec = JobSpec::default();
    let old_spec = old.spec.as_ref().unwrap_or(&default_spec);
    let spec = new.spec.as_ref().unwrap_or(&default_spec);
    let old_labels = template_labels(old_spec);
    let require_prefixed = old_labels
        .is_some_and(|l| l.contains_key(JOB_NAME_LABEL) && l.contains_key(CONTROLLER_UID_LABEL));
    let mut errs = validate_job_with(new, require_prefixed);

    validate_object_meta_update(&new.metadata, &old.metadata, &mut errs);

    // ValidateJobSpecUpdate.
    let path = FieldPath::root("spec");
    validate_job_spec(spec, &path, &mut errs);
    let completions_path = path.child("completions");
    if spec.completion_mode.as_deref() == Some("Indexed") {
        // Elastic Indexed Jobs: completions may change together with parallelism.
        if spec.completions != old_spec.completions
            && let Some(c) = spec.completions
            && Some(c) != spec.parallelism
        {
            errs.push(FieldError::invalid(
                &completions_path,
                c,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    } else {
        validate_immutable(
            &spec.completions,
            &old_spec.completions,
            &completions_path,
            &mut errs,
        );
    }
    validate_immutable(
        &spec.selector,
        &old_spec.selector,
        &path.child("selector"),
        &mut errs,
    );

    // Suspended jobs that never started may change their scheduling directives.
    let mut old_template = old_spec.template.clone();
    let suspended = old_spec.suspend == Some(true);
    let not_started = old
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .is_none();
    if suspended && not_started {
        let new_t = &spec.template;
        let new_meta = new_t.metadata.clone().unwrap_or_default();
        let om = old_template.metadata.get_or_insert_with(Default::default);
        om.labels = new_meta.labels;
        om.annotations = new_meta.annotations;
        if old_template.metadata == Some(ObjectMeta::default()) && new_t.metadata.is_none() {
            old_template.metadata = None;
        }
        if let Some(os) = old_template.spec.as_mut() {
            let ns = new_t.spec.clone().unwrap_or_default();
            os.node_selector = ns.node_selector;
            os.tolerations = ns.tolerations;
            os.scheduling_gates = ns.scheduling_gates;
            match (ns.affinity, os.affinity.as_mut()) {
                (None, Some(oa)) => {
                    oa.node_affinity = None;
                    if *oa == Default::default() {
                        os.affinity = None;
                    }
                }
                (Some(na), None) => {
                    os.affinity = Some(k8s_openapi::api::core::v1::Affinity {
                        node_affinity: na.node_affinity,
                        ..Default::default()
                    });
                }
                (Some(na), Some(oa)) => oa.node_affinity = na.node_affinity,
                (None, None) => {}
            }
        }
    }
    validate_immutable(
        &spec.template,
        &old_template,
        &path.child("template"),
        &mut errs,
    );
    validate_immutable(
        &spec.completion_mode,
        &old_spec.completion_mode,
        &path.child("completionMode"),
        &mut errs,
    );
    validate_immutable(
        &spec.pod_failure_policy,
        &old_spec.pod_failure_policy,
        &path.child("podFailurePolicy"),
        &mut errs,
    );
    validate_immutable(
        &spec.backoff_limit_per_index,
        &old_spec.backoff_limit_per_index,
        &path.child("backoffLimitPerIndex"),
        &mut errs,
    );
    validate_immutable(
        &spec.managed_by,
        &old_spec.managed_by,
        &path.child("managedBy"),
        &mut errs,
    );
    if spec.success_policy != old_spec.success_policy {
        let v = spec
            .success_policy
            .as_ref()
            .map_or(Value::Null, success_policy_json);
        errs.push(FieldError::invalid(
            &path.child("successPolicy"),
            v,
            IMMUTABLE_MSG,
        ));
    }
    errs
}

/// Parses an index list such as `1,3-5,7` strictly (upstream `validateIndexesFormat`): intervals
/// must be increasing and below `completions`. The error is upstream's text, e.g.
/// `non-increasing order, previous: 3, current: 1`, `too large index: "5"` or
/// `cannot convert string to integer for index: "a"`.
pub fn parse_indexes(s: &str, completions: i32) -> Result<Vec<(i32, i32)>, String> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    for interval in s.split(',') {
        let (x, y) = parse_index_interval(interval, completions)?;
        if let Some(&(_, last)) = out.last()
            && last >= x
        {
            return Err(format!(
                "non-increasing order, previous: {last}, current: {x}"
            ));
        }
        out.push((x, y));
    }
    Ok(out)
}

/// upstream `parseIndexInterval`.
pub(super) fn parse_index_interval(interval: &str, completions: i32) -> Result<(i32, i32), String> {
    let limits: Vec<&str> = interval.split('-').collect();
    if limits.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            crate::go::quote(interval)
        ));
    }
    let parse = |p: &str| -> Result<i32, String> {
        let v = crate::go::atoi(p).ok().ok_or_else(|| {
            format!(
                "cannot convert string to integer for index: {}",
                crate::go::quote(p)
            )
        })?;
        if v >= i64::from(completions) {
            return Err(format!("too large index: {}", crate::go::quote(p)));
        }
        // Below completions, so it fits; negative values cannot be written after the split.
        Ok(v as i32)
    };
    let x = parse(limits[0])?;
    if limits.len() > 1 {
        let y = parse(limits[1])?;
        if x >= y {
            return Err(format!("non-increasing order, previous: {x}, current: {y}"));
        }
        return Ok((x, y));
    }
    Ok((x, x))
}
