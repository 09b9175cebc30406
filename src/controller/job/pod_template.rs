//! The pod the Job controller creates from `spec.template` (upstream podControl +
//! indexed_job_utils.go `addCompletionIndexEnvVariables` and friends).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::NewPod;
use crate::api::job::{
    COMPLETION_INDEX_ENV, COMPLETION_INDEX_KEY, INDEX_FAILURE_COUNT_KEY,
    INDEX_IGNORED_FAILURE_COUNT_KEY,
};
use crate::api::meta::JOB_TRACKING_FINALIZER;

/// `generateName` for the pod: `<job>-` (whole; the API server's name generator cuts it,
/// as upstream's `getPodsPrefix`) or, Indexed, `<job>-<index>-` with the job part cut so
/// that the index survives (`podGenerateNameWithIndex`).
pub fn generate_name(job_name: &str, index: Option<i32>) -> String {
    const MAX_BASE: usize = 58;
    match index {
        None => format!("{job_name}-"),
        Some(i) => {
            let tail = format!("-{i}-");
            let keep = MAX_BASE.saturating_sub(tail.len());
            format!("{}{tail}", truncate(job_name, keep))
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Builds the pod for `index` from the Job's template, as the Job controller sends it to
/// the API: with `generateName` and no name or uid, which admission gives it.
pub fn new_pod(job: &Job, new: &NewPod) -> Pod {
    let index = new.index;
    let spec = job.spec.clone().unwrap_or_default();
    let template = spec.template;
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();

    let mut labels: BTreeMap<String, String> = template_meta.labels.unwrap_or_default();
    let mut annotations: BTreeMap<String, String> = template_meta.annotations.unwrap_or_default();
    let mut pod_spec = template.spec.unwrap_or_default();
    if let Some(n) = new.failure_count {
        annotations.insert(INDEX_FAILURE_COUNT_KEY.into(), n.to_string());
    }
    if let Some(n) = new.ignored_failure_count {
        annotations.insert(INDEX_IGNORED_FAILURE_COUNT_KEY.into(), n.to_string());
    }
    if let Some(i) = index {
        labels.insert(COMPLETION_INDEX_KEY.into(), i.to_string());
        annotations.insert(COMPLETION_INDEX_KEY.into(), i.to_string());
        pod_spec.hostname = Some(format!("{job_name}-{i}"));
        let env = EnvVar {
            name: COMPLETION_INDEX_ENV.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: format!("metadata.labels['{COMPLETION_INDEX_KEY}']"),
                }),
                ..Default::default()
            }),
        };
        for c in pod_spec
            .containers
            .iter_mut()
            .chain(pod_spec.init_containers.iter_mut().flatten())
        {
            let vars = c.env.get_or_insert_with(Vec::new);
            if !vars.iter().any(|v| v.name == COMPLETION_INDEX_ENV) {
                vars.push(env.clone());
            }
        }
    }

    let status = PodStatus {
        phase: Some("Pending".into()),
        qos_class: Some(crate::api::pod::qos_class(&pod_spec).into()),
        ..Default::default()
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name(&job_name, index)),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(vec![JOB_TRACKING_FINALIZER.into()]),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name: job_name,
                uid: job.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: Some(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_indexed_names_are_the_job_name_and_a_dash() {
        assert_eq!(generate_name("pi", None), "pi-");
        // Whole, so admission's generateName check never sees a cut ending in '.'; the
        // API server's generator cuts it (to 58) when it makes the name.
        let dotted = format!("{}.bbbbb", "a".repeat(57));
        assert_eq!(generate_name(&dotted, None), format!("{dotted}-"));
        let pod = Pod {
            metadata: ObjectMeta {
                generate_name: Some(generate_name(&dotted, None)),
                namespace: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let policy = crate::api::admit::Policy::default();
        let admitted = crate::api::admit::create(pod, &policy, jiff::Timestamp::UNIX_EPOCH)
            .expect("a pod of a valid Job is admitted");
        assert_eq!(admitted.metadata.name.unwrap().len(), 63);
        assert_eq!(
            admitted.metadata.generation, None,
            "pods have no generation"
        );
    }

    #[test]
    fn indexed_names_keep_the_index_when_truncating() {
        assert_eq!(generate_name("pi", Some(3)), "pi-3-");
        let long = "a".repeat(70);
        let g = generate_name(&long, Some(12));
        assert_eq!(g.len(), 58);
        assert!(g.ends_with("-12-"));
    }
}
