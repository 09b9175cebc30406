//! Defaulting of a new batch/v1 Job as kube-apiserver applies it: `defaults.go` for the
//! Job and the core/v1 pod template, and `strategy.go`'s generated selector and labels;
//! and of Secrets (their type, their `stringData`).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Container, PodSecurityContext, PodSpec, ResourceRequirements, Secret, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::job::{
    CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL_LEGACY, JOB_NAME_LABEL, JOB_NAME_LABEL_LEGACY,
};

/// Applies the API server's defaults to a Job being created. `metadata.uid` must already
/// be set: the generated selector and labels carry it.
pub fn default_job(job: &mut Job) {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let spec = job.spec.get_or_insert_with(Default::default);

    // defaults.go SetDefaults_Job.
    match (spec.completions, spec.parallelism) {
        (None, None) => {
            spec.completions = Some(1);
            spec.parallelism = Some(1);
        }
        (_, None) => spec.parallelism = Some(1),
        _ => {}
    }
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    spec.completion_mode
        .get_or_insert_with(|| "NonIndexed".into());
    spec.suspend.get_or_insert(false);
    spec.manual_selector.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        spec.pod_replacement_policy = Some(
            if spec.pod_failure_policy.is_some() {
                "Failed"
            } else {
                "TerminatingOrFailed"
            }
            .into(),
        );
    }
    if let Some(pfp) = spec.pod_failure_policy.as_mut() {
        for rule in &mut pfp.rules {
            for pattern in rule.on_pod_conditions.iter_mut().flatten() {
                if pattern.status.is_none() {
                    pattern.status = Some("True".into());
                }
            }
        }
    }

    // strategy.go generateSelector: unless the user manages the selector, pods are tied to
    // this Job by its uid.
    if spec.manual_selector != Some(true) {
        let meta = spec.template.metadata.get_or_insert_with(Default::default);
        let labels = meta.labels.get_or_insert_with(BTreeMap::new);
        labels.insert(CONTROLLER_UID_LABEL.into(), uid.clone());
        labels.insert(CONTROLLER_UID_LABEL_LEGACY.into(), uid.clone());
        labels.insert(JOB_NAME_LABEL.into(), name.clone());
        labels.insert(JOB_NAME_LABEL_LEGACY.into(), name);
        if spec.selector.is_none() {
            spec.selector = Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(CONTROLLER_UID_LABEL.into(), uid)])),
                match_expressions: None,
            });
        }
    }

    if let Some(pod) = spec.template.spec.as_mut() {
        default_pod_spec(pod);
    }

    // defaults.go: a Job without labels takes its template's.
    if job.metadata.labels.as_ref().is_none_or(|l| l.is_empty()) {
        job.metadata.labels = job
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.clone());
    }
}

/// core/v1 `SetDefaults_PodSpec` and `SetDefaults_Container`, for every pod template (a
/// Job's, a CronJob's job template's) and its init and app containers.
pub fn default_pod_spec(pod: &mut PodSpec) {
    pod.restart_policy.get_or_insert_with(|| "Always".into());
    pod.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    pod.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    pod.security_context
        .get_or_insert_with(PodSecurityContext::default);
    pod.termination_grace_period_seconds.get_or_insert(30);
    for v in pod.volumes.iter_mut().flatten() {
        // SetDefaults_ConfigMapVolumeSource / SetDefaults_SecretVolumeSource: 0644.
        if let Some(cm) = v.config_map.as_mut() {
            cm.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        }
        if let Some(s) = v.secret.as_mut() {
            s.default_mode.get_or_insert(DEFAULT_FILE_MODE);
        }
    }
    for c in pod
        .containers
        .iter_mut()
        .chain(pod.init_containers.iter_mut().flatten())
    {
        default_container(c);
    }
}

fn default_container(c: &mut Container) {
    c.termination_message_path
        .get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    if c.image_pull_policy.is_none() {
        // Upstream: `Always` for an untagged or `:latest` image, else `IfNotPresent`.
        let image = c.image.as_deref().unwrap_or("");
        let name = image.split('@').next().unwrap_or(image);
        let tag = name
            .rsplit('/')
            .next()
            .and_then(|last| last.split_once(':'))
            .map(|(_, t)| t);
        let digest = image.contains('@');
        c.image_pull_policy = Some(
            if !digest && tag.is_none_or(|t| t == "latest") {
                "Always"
            } else {
                "IfNotPresent"
            }
            .into(),
        );
    }
    c.resources
        .get_or_insert_with(ResourceRequirements::default);
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
}

/// `defaultMode` of configMap and secret volumes: 0644.
pub const DEFAULT_FILE_MODE: i32 = 0o644;

/// `SetDefaults_Secret` (type `Opaque`) and the v1 conversion's `stringData`: each of its
/// entries overwrites the `data` key of that name, and `stringData` itself is never stored
/// (it is write-only).
pub fn default_secret(s: &mut Secret) {
    if s.type_.as_deref().is_none_or(str::is_empty) {
        s.type_ = Some("Opaque".into());
    }
    if let Some(strings) = s.string_data.take()
        && !strings.is_empty()
    {
        let data = s.data.get_or_insert_with(Default::default);
        for (k, v) in strings {
            data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
        }
    }
}

/// `SetDefaults_Service` and the strategy's: type `ClusterIP`, session affinity `None`,
/// ports `TCP` with `targetPort` = `port`, one IPv4 family and `Cluster` traffic policy
/// (all but `ExternalName`).
pub fn default_service(s: &mut Service) {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let spec = s.spec.get_or_insert_with(Default::default);
    // An empty string is unset, as Go's zero value is.
    let unset = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    if unset(&spec.type_) {
        spec.type_ = Some("ClusterIP".into());
    }
    let type_ = spec.type_.clone().unwrap_or_default();
    if unset(&spec.session_affinity) {
        spec.session_affinity = Some("None".into());
    }
    // NormalizeClusterIPs: the singular and the list agree.
    match (
        unset(&spec.cluster_ip),
        spec.cluster_ips.as_ref().is_none_or(Vec::is_empty),
    ) {
        (false, true) => spec.cluster_ips = spec.cluster_ip.clone().map(|ip| vec![ip]),
        (true, false) => {
            spec.cluster_ip = spec
                .cluster_ips
                .as_ref()
                .and_then(|ips| ips.first().cloned())
        }
        _ => {}
    }
    for p in spec.ports.iter_mut().flatten() {
        if unset(&p.protocol) {
            p.protocol = Some("TCP".into());
        }
        if matches!(p.target_port, None | Some(IntOrString::Int(0))) {
            p.target_port = Some(IntOrString::Int(p.port));
        }
    }
    if type_ != "ExternalName" {
        spec.internal_traffic_policy
            .get_or_insert_with(|| "Cluster".into());
        spec.ip_families.get_or_insert_with(|| vec!["IPv4".into()]);
        spec.ip_family_policy
            .get_or_insert_with(|| "SingleStack".into());
    }
}

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
        default_pod_spec(pod);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(yaml: &str) -> Job {
        let mut j: Job = serde_yaml_ng::from_str(yaml).unwrap();
        j.metadata.uid = Some("uid-1".into());
        default_job(&mut j);
        j
    }

    const PI: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n  template:\n    spec:\n      containers: [{name: pi, image: pi.wasm}]\n      restartPolicy: Never\n";

    #[test]
    fn a_bare_job_gets_one_completion_one_pod_and_six_retries() {
        let s = job(PI).spec.unwrap();
        assert_eq!(
            (s.completions, s.parallelism, s.backoff_limit),
            (Some(1), Some(1), Some(6))
        );
        assert_eq!(s.completion_mode.as_deref(), Some("NonIndexed"));
        assert_eq!(
            s.pod_replacement_policy.as_deref(),
            Some("TerminatingOrFailed")
        );
        assert_eq!((s.suspend, s.manual_selector), (Some(false), Some(false)));
    }

    #[test]
    fn parallelism_alone_leaves_completions_unset() {
        let j = job(&PI.replace("spec:\n  template:", "spec:\n  parallelism: 3\n  template:"));
        let s = j.spec.unwrap();
        assert_eq!((s.completions, s.parallelism), (None, Some(3)));
    }

    #[test]
    fn backoff_limit_per_index_makes_the_global_limit_unbounded() {
        let j = job(&PI.replace(
            "spec:\n  template:",
            "spec:\n  backoffLimitPerIndex: 1\n  template:",
        ));
        assert_eq!(j.spec.unwrap().backoff_limit, Some(i32::MAX));
    }

    #[test]
    fn the_selector_and_template_labels_carry_the_uid() {
        let j = job(PI);
        let s = j.spec.clone().unwrap();
        let sel = s.selector.unwrap().match_labels.unwrap();
        assert_eq!(
            sel.get(CONTROLLER_UID_LABEL).map(String::as_str),
            Some("uid-1")
        );
        let labels = s.template.metadata.unwrap().labels.unwrap();
        assert_eq!(labels.get("job-name").map(String::as_str), Some("pi"));
        assert_eq!(labels.get(JOB_NAME_LABEL).map(String::as_str), Some("pi"));
        assert_eq!(
            labels.get(CONTROLLER_UID_LABEL_LEGACY).map(String::as_str),
            Some("uid-1")
        );
        assert_eq!(j.metadata.labels.unwrap().len(), 4);
    }

    #[test]
    fn containers_get_the_core_defaults() {
        let pod = job(PI).spec.unwrap().template.spec.unwrap();
        let c = &pod.containers[0];
        assert_eq!(
            c.termination_message_path.as_deref(),
            Some("/dev/termination-log")
        );
        assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(pod.termination_grace_period_seconds, Some(30));
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    }
}
