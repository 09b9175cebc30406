//! Table tests of the validation package against upstream's messages.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::field::*;
use super::job::*;
use super::meta::*;
use super::names::*;
use crate::api::quantity::QuantityError;
use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule, SuccessPolicy, SuccessPolicyRule,
};
use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;

/// A Job as it looks after defaulting: generated selector and labels, NonIndexed, 1/1.
fn valid_job() -> Job {
    let labels = BTreeMap::from([
        (CONTROLLER_UID_LABEL.to_string(), "uid-1".to_string()),
        (LEGACY_CONTROLLER_UID_LABEL.to_string(), "uid-1".to_string()),
        (JOB_NAME_LABEL.to_string(), "pi".to_string()),
        (LEGACY_JOB_NAME_LABEL.to_string(), "pi".to_string()),
    ]);
    Job {
        metadata: ObjectMeta {
            name: Some("pi".into()),
            namespace: Some("default".into()),
            uid: Some("uid-1".into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            parallelism: Some(1),
            completions: Some(1),
            backoff_limit: Some(6),
            completion_mode: Some("NonIndexed".into()),
            selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    CONTROLLER_UID_LABEL.to_string(),
                    "uid-1".to_string(),
                )])),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![Container {
                        name: "main".into(),
                        image: Some("main.wasm".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

fn spec(j: &mut Job) -> &mut JobSpec {
    j.spec.as_mut().unwrap()
}

fn pod(j: &mut Job) -> &mut PodSpec {
    spec(j).template.spec.as_mut().unwrap()
}

fn indexed(j: &mut Job, completions: i32) {
    let s = spec(j);
    s.completion_mode = Some("Indexed".into());
    s.completions = Some(completions);
}

fn msgs(j: &Job) -> Vec<String> {
    validate_job(j).iter().map(|e| e.to_string()).collect()
}

#[test]
fn annotations_need_qualified_keys_and_fit_256_kib_together() {
    let mut j = valid_job();
    // Case does not matter in keys; exactly the limit is allowed.
    let fits = BTreeMap::from([
        ("Example.COM/Key".to_string(), String::new()),
        (
            "k".to_string(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT - 16),
        ),
    ]);
    j.metadata.annotations = Some(fits);
    assert!(msgs(&j).is_empty(), "{:?}", msgs(&j));
    j.metadata.annotations = Some(BTreeMap::from([
        ("k".to_string(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT)),
        ("a b".to_string(), String::new()),
    ]));
    let template = spec(&mut j).template.metadata.as_mut().unwrap();
    template.annotations = Some(BTreeMap::from([(
        "x".to_string(),
        "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT),
    )]));
    assert_eq!(
        msgs(&j),
        [
            "metadata.annotations: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            "spec.template.metadata.annotations: Too long: may not be more than 262144 bytes",
        ]
    );
}

fn exit_codes(op: &str, values: Vec<i32>) -> PodFailurePolicyRule {
    PodFailurePolicyRule {
        action: "FailJob".into(),
        on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
            container_name: None,
            operator: op.into(),
            values,
        }),
        on_pod_conditions: None,
    }
}

fn with_pfp(j: &mut Job, rules: Vec<PodFailurePolicyRule>) {
    spec(j).pod_failure_policy = Some(PodFailurePolicy { rules });
}

/// (succeededIndexes, succeededCount) of one success policy rule.
type SpRule = (Option<&'static str>, Option<i32>);

fn with_sp(j: &mut Job, rules: Vec<SpRule>) {
    spec(j).success_policy = Some(SuccessPolicy {
        rules: rules
            .into_iter()
            .map(|(i, c)| SuccessPolicyRule {
                succeeded_indexes: i.map(str::to_string),
                succeeded_count: c,
            })
            .collect(),
    });
}

#[test]
fn a_defaulted_job_is_valid() {
    assert_eq!(msgs(&valid_job()), Vec::<String>::new());
    let j = valid_job();
    assert!(validate_job_update(&j, &j).is_empty());
}

#[test]
fn field_path_display() {
    let p = FieldPath::root("spec")
        .child("template")
        .child("spec")
        .child("containers")
        .index(0)
        .child("image");
    assert_eq!(p.to_string(), "spec.template.spec.containers[0].image");
    let k = FieldPath::root("metadata").child("labels").key("a/b");
    assert_eq!(k.to_string(), "metadata.labels[a/b]");
}

#[test]
fn error_type_strings() {
    let all = [
        (ErrorType::Invalid, "Invalid value", "FieldValueInvalid"),
        (ErrorType::Required, "Required value", "FieldValueRequired"),
        (
            ErrorType::NotSupported,
            "Unsupported value",
            "FieldValueNotSupported",
        ),
        (
            ErrorType::Duplicate,
            "Duplicate value",
            "FieldValueDuplicate",
        ),
        (ErrorType::TooMany, "Too many", "FieldValueTooMany"),
        (ErrorType::TooLong, "Too long", "FieldValueTooLong"),
        (ErrorType::Forbidden, "Forbidden", "FieldValueForbidden"),
        (ErrorType::Internal, "Internal error", "InternalError"),
        (ErrorType::NotFound, "Not found", "FieldValueNotFound"),
    ];
    for (t, display, cause) in all {
        assert_eq!(t.to_string(), display);
        assert_eq!(t.cause_type(), cause);
    }
}

#[test]
fn field_error_rendering() {
    let p = FieldPath::root("f");
    let cases: Vec<(FieldError, &str)> = vec![
        (
            FieldError::invalid(&p, "a\"b\n", "d"),
            "f: Invalid value: \"a\\\"b\\n\": d",
        ),
        (FieldError::invalid(&p, -1, "d"), "f: Invalid value: -1: d"),
        (FieldError::invalid(&p, true, ""), "f: Invalid value: true"),
        (
            FieldError::invalid(&p, Value::Null, "d"),
            "f: Invalid value: null: d",
        ),
        (
            FieldError::invalid(&p, serde_json::json!([3, 1]), "must be ordered"),
            "f: Invalid value: [3,1]: must be ordered",
        ),
        (
            FieldError::invalid(&p, serde_json::json!({"a": "<b>"}), "x"),
            "f: Invalid value: {\"a\":\"\\u003cb\\u003e\"}: x",
        ),
        (
            FieldError::invalid_omit_value(&p, "d"),
            "f: Invalid value: d",
        ),
        (FieldError::required(&p, ""), "f: Required value"),
        (FieldError::required(&p, "d"), "f: Required value: d"),
        (
            FieldError::not_supported(&p, "X", &["A", "B"]),
            "f: Unsupported value: \"X\": supported values: \"A\", \"B\"",
        ),
        (FieldError::duplicate(&p, 3), "f: Duplicate value: 3"),
        (FieldError::forbidden(&p, "no"), "f: Forbidden: no"),
        (
            FieldError::too_many(&p, 256, 255),
            "f: Too many: 256: must have at most 255 items",
        ),
        (
            FieldError::too_long(&p, 63),
            "f: Too long: may not be more than 63 bytes",
        ),
        (FieldError::not_found(&p, "x"), "f: Not found: \"x\""),
        (FieldError::internal(&p, "boom"), "f: Internal error: boom"),
    ];
    for (e, want) in cases {
        assert_eq!(e.to_string(), want);
    }
}

#[test]
fn invalid_and_kubectl_messages() {
    let one = vec![FieldError::invalid(
        &FieldPath::root("spec").child("parallelism"),
        -1,
        NON_NEGATIVE_MSG,
    )];
    let two = vec![
        one[0].clone(),
        FieldError::required(&FieldPath::root("spec").child("selector"), ""),
        one[0].clone(),
    ];
    assert_eq!(
        invalid_message("Job.batch", "pi", &one),
        "Job.batch \"pi\" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(
        invalid_message("Job.batch", "pi", &two),
        "Job.batch \"pi\" is invalid: [spec.parallelism: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]"
    );
    assert_eq!(
        invalid_message("Job.batch", "pi", &[]),
        "Job.batch \"pi\" is invalid"
    );
    assert_eq!(
        kubectl_message("Job", "pi", &one),
        "The Job \"pi\" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(
        kubectl_message("Job", "pi", &two),
        "The Job \"pi\" is invalid: \n* spec.parallelism: Invalid value: -1: must be greater than or equal to 0\n* spec.selector: Required value"
    );
    let st = invalid_status("Job.batch", "pi", &one);
    assert_eq!(st["code"], 422);
    assert_eq!(st["details"]["group"], "batch");
    assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueInvalid");
    assert_eq!(
        st["details"]["causes"][0]["message"],
        "Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn metadata_name() {
    let mut j = valid_job();
    j.metadata.name = None;
    j.metadata.uid = None;
    assert_eq!(
        msgs(&j),
        ["metadata.name: Required value: name or generateName is required"]
    );
    let mut j = valid_job();
    j.metadata.name = Some("Bad_Name".into());
    j.metadata.uid = None;
    assert_eq!(
        msgs(&j),
        [
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
    let mut j = valid_job();
    j.metadata.name = None;
    j.metadata.generate_name = Some("pi-".into());
    j.metadata.uid = None;
    assert_eq!(msgs(&j), Vec::<String>::new());
}

#[test]
fn indexed_name_must_make_dns_labels() {
    let mut j = valid_job();
    let long = "a".repeat(62);
    j.metadata.name = Some(long.clone());
    j.metadata.uid = None;
    indexed(&mut j, 10);
    assert_eq!(
        msgs(&j),
        [format!(
            "metadata.name: Invalid value: \"{long}\": will not able to create pod with invalid DNS label: {long}-9"
        )]
    );
}

#[test]
fn non_negative_fields() {
    let mut j = valid_job();
    {
        let s = spec(&mut j);
        s.parallelism = Some(-1);
        s.completions = Some(-2);
        s.active_deadline_seconds = Some(-3);
        s.backoff_limit = Some(-4);
        s.ttl_seconds_after_finished = Some(-5);
    }
    assert_eq!(
        msgs(&j),
        [
            "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
            "spec.completions: Invalid value: -2: must be greater than or equal to 0",
            "spec.activeDeadlineSeconds: Invalid value: -3: must be greater than or equal to 0",
            "spec.backoffLimit: Invalid value: -4: must be greater than or equal to 0",
            "spec.ttlSecondsAfterFinished: Invalid value: -5: must be greater than or equal to 0",
        ]
    );
    let mut j = valid_job();
    indexed(&mut j, 3);
    spec(&mut j).backoff_limit_per_index = Some(-1);
    spec(&mut j).max_failed_indexes = Some(-1);
    assert_eq!(
        msgs(&j),
        [
            "spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0",
            "spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0",
        ]
    );
}

#[test]
fn completion_mode_rules() {
    let mut j = valid_job();
    spec(&mut j).completion_mode = Some("X".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.completionMode: Unsupported value: \"X\": supported values: \"NonIndexed\", \"Indexed\""
        ]
    );
    let mut j = valid_job();
    spec(&mut j).completion_mode = Some("Indexed".into());
    spec(&mut j).completions = None;
    assert_eq!(
        msgs(&j),
        ["spec.completions: Required value: when completion mode is Indexed"]
    );
    let mut j = valid_job();
    indexed(&mut j, 3);
    spec(&mut j).parallelism = Some(100_001);
    assert_eq!(
        msgs(&j),
        [
            "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"
        ]
    );
}

#[test]
fn backoff_limit_per_index_rules() {
    let mut j = valid_job();
    spec(&mut j).backoff_limit_per_index = Some(1);
    spec(&mut j).max_failed_indexes = Some(1);
    assert_eq!(
        msgs(&j),
        [
            "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
            "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode",
        ]
    );
    let mut j = valid_job();
    indexed(&mut j, 3);
    spec(&mut j).max_failed_indexes = Some(4);
    assert_eq!(
        msgs(&j),
        [
            "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
            "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions",
        ]
    );
    let mut j = valid_job();
    indexed(&mut j, 200_000);
    j.metadata.uid = None;
    spec(&mut j).backoff_limit_per_index = Some(1);
    spec(&mut j).parallelism = Some(10_001);
    assert_eq!(
        msgs(&j),
        [
            "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
            "spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index",
        ]
    );
}

#[test]
fn pod_replacement_policy_and_managed_by() {
    let mut j = valid_job();
    spec(&mut j).pod_replacement_policy = Some("X".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.podReplacementPolicy: Unsupported value: \"X\": supported values: \"Failed\", \"TerminatingOrFailed\""
        ]
    );
    let mut j = valid_job();
    with_pfp(&mut j, vec![exit_codes("In", vec![1])]);
    spec(&mut j).pod_replacement_policy = Some("TerminatingOrFailed".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.podReplacementPolicy: Unsupported value: \"TerminatingOrFailed\": supported values: \"Failed\""
        ]
    );
    let mut j = valid_job();
    spec(&mut j).managed_by = Some(format!("example.com/{}", "a".repeat(60)));
    assert_eq!(
        msgs(&j),
        ["spec.managedBy: Too long: may not be more than 63 bytes"]
    );
    let mut j = valid_job();
    spec(&mut j).managed_by = Some("nodomain".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.managedBy: Invalid value: \"nodomain\": must be a domain-prefixed path (such as \"acme.io/foo\")"
        ]
    );
    let mut j = valid_job();
    spec(&mut j).managed_by = Some("kubernetes.io/job-controller".into());
    assert!(msgs(&j).is_empty());
}

#[test]
fn selector_rules() {
    let mut j = valid_job();
    spec(&mut j).selector = None;
    assert_eq!(
        msgs(&j),
        [
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"uid-1\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"uid-1\",\"job-name\":\"pi\"}: `selector` does not match template `labels`",
        ]
    );
    let mut j = valid_job();
    j.metadata.uid = None;
    spec(&mut j).template.metadata = None;
    assert_eq!(
        msgs(&j),
        [
            "spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`"
        ]
    );
    let mut j = valid_job();
    spec(&mut j)
        .template
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(LEGACY_JOB_NAME_LABEL.into(), "other".into());
    let m = msgs(&j);
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("spec.template.metadata.labels[job-name]: Invalid value: {"));
    assert!(m[0].ends_with("}: must be 'pi'"));
    let mut j = valid_job();
    spec(&mut j)
        .template
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .remove(LEGACY_CONTROLLER_UID_LABEL);
    assert_eq!(
        msgs(&j),
        ["spec.template.metadata.labels[controller-uid]: Required value: must be 'uid-1'"]
    );
}

#[test]
fn pod_failure_policy_rules() {
    let p = "spec.podFailurePolicy.rules[0]";
    let cases: Vec<(PodFailurePolicyRule, Vec<String>)> = vec![
        (
            PodFailurePolicyRule {
                action: "FailIndex".into(),
                ..exit_codes("In", vec![1])
            },
            vec![format!(
                "{p}.action: Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set"
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "".into(),
                ..exit_codes("In", vec![1])
            },
            vec![format!(
                "{p}.action: Required value: valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]"
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "Boom".into(),
                ..exit_codes("In", vec![1])
            },
            vec![format!(
                "{p}.action: Unsupported value: \"Boom\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\""
            )],
        ),
        (
            PodFailurePolicyRule {
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: Some("True".into()),
                }]),
                ..exit_codes("In", vec![1])
            },
            vec![format!(
                "{p}: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported"
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: None,
            },
            vec![format!(
                "{p}: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"
            )],
        ),
        (
            exit_codes("In", vec![0, 1]),
            vec![format!(
                "{p}.onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"
            )],
        ),
        (
            exit_codes("NotIn", vec![3, 1]),
            vec![format!(
                "{p}.onExitCodes.values: Invalid value: [3,1]: must be ordered"
            )],
        ),
        (
            exit_codes("In", vec![1, 3, 3]),
            vec![format!("{p}.onExitCodes.values[2]: Duplicate value: 3")],
        ),
        (
            exit_codes("In", vec![]),
            vec![format!(
                "{p}.onExitCodes.values: Invalid value: []: at least one value is required"
            )],
        ),
        (
            exit_codes("In", (1..=256).collect()),
            vec![format!(
                "{p}.onExitCodes.values: Too many: 256: must have at most 255 items"
            )],
        ),
        (
            exit_codes("X", vec![1]),
            vec![format!(
                "{p}.onExitCodes.operator: Unsupported value: \"X\": supported values: \"In\", \"NotIn\""
            )],
        ),
        (
            exit_codes("", vec![1]),
            vec![format!(
                "{p}.onExitCodes.operator: Required value: valid values: [\"In\" \"NotIn\"]"
            )],
        ),
        (
            PodFailurePolicyRule {
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: Some("x".into()),
                    operator: "In".into(),
                    values: vec![1],
                }),
                ..exit_codes("In", vec![1])
            },
            vec![format!(
                "{p}.onExitCodes.containerName: Invalid value: \"x\": must be one of the container or initContainer names in the pod template"
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: Some("Maybe".into()),
                }]),
            },
            vec![format!(
                "{p}.onPodConditions[0].status: Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\""
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: Some("".into()),
                }]),
            },
            vec![format!(
                "{p}.onPodConditions[0].status: Required value: valid values: [\"False\" \"True\" \"Unknown\"]"
            )],
        ),
        (
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "".into(),
                    status: None,
                }]),
            },
            vec![
                format!(
                    "{p}.onPodConditions[0].type: Invalid value: \"\": name part must be non-empty"
                ),
                format!(
                    "{p}.onPodConditions[0].type: Invalid value: \"\": name part {QUALIFIED_NAME_MSG}"
                ),
            ],
        ),
    ];
    for (rule, want) in cases {
        let mut j = valid_job();
        with_pfp(&mut j, vec![rule]);
        assert_eq!(msgs(&j), want);
    }
    let mut j = valid_job();
    with_pfp(&mut j, vec![exit_codes("In", vec![1]); 21]);
    assert_eq!(
        msgs(&j),
        ["spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"]
    );
    let mut j = valid_job();
    with_pfp(&mut j, vec![exit_codes("In", vec![1])]);
    pod(&mut j).restart_policy = Some("OnFailure".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.template.spec.restartPolicy: Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified"
        ]
    );
}

#[test]
fn success_policy_rules() {
    let mut j = valid_job();
    with_sp(&mut j, vec![(Some("0"), None)]);
    assert_eq!(
        msgs(&j),
        [
            "spec.successPolicy: Invalid value: {\"Rules\":[{\"SucceededCount\":null,\"SucceededIndexes\":\"0\"}]}: requires indexed completion mode"
        ]
    );
    let p = "spec.successPolicy.rules";
    let cases: Vec<(Vec<SpRule>, Vec<String>)> = vec![
        (
            vec![],
            vec![format!(
                "{p}: Required value: at least one rules must be specified when the successPolicy is specified"
            )],
        ),
        (
            vec![(None, None)],
            vec![format!(
                "{p}[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"
            )],
        ),
        (
            vec![(None, Some(5))],
            vec![format!(
                "{p}[0].succeededCount: Invalid value: 5: must be less than or equal to 3 (the number of specified completions)"
            )],
        ),
        (
            vec![(Some("0-1"), Some(3))],
            vec![format!(
                "{p}[0].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)"
            )],
        ),
        (
            vec![(None, Some(-1))],
            vec![format!(
                "{p}[0].succeededCount: Invalid value: -1: must be greater than or equal to 0"
            )],
        ),
        (
            vec![(Some("2-1"), None)],
            vec![format!(
                "{p}[0].succeededIndexes: Invalid value: \"2-1\": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1"
            )],
        ),
        (
            vec![(Some("5"), None)],
            vec![format!(
                "{p}[0].succeededIndexes: Invalid value: \"5\": error parsing succeededIndexes: too large index: \"5\""
            )],
        ),
        (
            vec![(Some("a"), None)],
            vec![format!(
                "{p}[0].succeededIndexes: Invalid value: \"a\": error parsing succeededIndexes: cannot convert string to integer for index: \"a\""
            )],
        ),
        (vec![(Some("0,2"), Some(2))], vec![]),
    ];
    for (rules, want) in cases {
        let mut j = valid_job();
        indexed(&mut j, 3);
        with_sp(&mut j, rules);
        assert_eq!(msgs(&j), want);
    }
    let mut j = valid_job();
    indexed(&mut j, 3);
    with_sp(&mut j, vec![(None, Some(1)); 21]);
    assert_eq!(
        msgs(&j),
        [format!("{p}: Too many: 21: must have at most 20 items")]
    );
}

#[test]
fn parse_indexes_like_upstream() {
    assert_eq!(parse_indexes("", 3), Ok(vec![]));
    assert_eq!(
        parse_indexes("0,2-4,6", 7),
        Ok(vec![(0, 0), (2, 4), (6, 6)])
    );
    let errs = [
        ("3,1", "non-increasing order, previous: 3, current: 1"),
        ("1-3,3", "non-increasing order, previous: 3, current: 3"),
        ("3-1", "non-increasing order, previous: 3, current: 1"),
        ("5", "too large index: \"5\""),
        ("a", "cannot convert string to integer for index: \"a\""),
        ("1-", "cannot convert string to integer for index: \"\""),
        (
            "1-2-3",
            "the fragment \"1-2-3\" violates the requirement that an index interval can have at most two parts separated by '-'",
        ),
    ];
    for (s, want) in errs {
        assert_eq!(parse_indexes(s, 5), Err(want.to_string()), "{s}");
    }
}

#[test]
fn restart_policy_rules() {
    for rp in [None, Some(""), Some("Always")] {
        let mut j = valid_job();
        pod(&mut j).restart_policy = rp.map(str::to_string);
        assert_eq!(
            msgs(&j),
            [
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            ]
        );
    }
    let mut j = valid_job();
    pod(&mut j).restart_policy = Some("X".into());
    assert_eq!(
        msgs(&j),
        [
            "spec.template.spec.restartPolicy: Unsupported value: \"X\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.template.spec.restartPolicy: Unsupported value: \"X\": supported values: \"OnFailure\", \"Never\"",
        ]
    );
}

#[test]
fn container_rules() {
    let c = "spec.template.spec.containers";
    let mut j = valid_job();
    pod(&mut j).containers.clear();
    assert_eq!(msgs(&j), [format!("{c}: Required value")]);

    let mut j = valid_job();
    pod(&mut j).containers[0].name = "Main_1".into();
    pod(&mut j).containers[0].image = None;
    assert_eq!(
        msgs(&j),
        [
            format!("{c}[0].name: Invalid value: \"Main_1\": {DNS1123_LABEL_MSG}"),
            format!("{c}[0].image: Required value"),
        ]
    );
    assert!(DNS1123_LABEL_MSG.contains("(e.g. 'my-name',  or '123-abc', regex"));

    let mut j = valid_job();
    pod(&mut j).containers[0].name = String::new();
    assert_eq!(msgs(&j), [format!("{c}[0].name: Required value")]);

    let mut j = valid_job();
    let dup = pod(&mut j).containers[0].clone();
    pod(&mut j).containers.push(dup.clone());
    pod(&mut j).init_containers = Some(vec![dup]);
    assert_eq!(
        msgs(&j),
        [
            format!("{c}[1].name: Duplicate value: \"main\""),
            "spec.template.spec.initContainers[0].name: Duplicate value: \"main\"".to_string(),
        ]
    );

    let mut j = valid_job();
    pod(&mut j).init_containers = Some(vec![Container {
        name: "init".into(),
        ..Default::default()
    }]);
    assert_eq!(
        msgs(&j),
        ["spec.template.spec.initContainers[0].image: Required value"]
    );
}

#[test]
fn env_and_volume_rules() {
    let c0 = "spec.template.spec.containers[0]";
    let mut j = valid_job();
    pod(&mut j).containers[0].env = Some(vec![
        EnvVar {
            name: "A=B".into(),
            ..Default::default()
        },
        EnvVar {
            name: "OK_1".into(),
            ..Default::default()
        },
        EnvVar {
            name: "".into(),
            ..Default::default()
        },
    ]);
    assert_eq!(
        msgs(&j),
        [
            format!(
                "{c0}.env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"
            ),
            format!("{c0}.env[2].name: Required value"),
            format!(
                "{c0}.env[2].name: Invalid value: \"\": environment variable name must be non-empty"
            ),
        ]
    );

    let mut j = valid_job();
    pod(&mut j).volumes = Some(vec![
        Volume {
            name: "data".into(),
            ..Default::default()
        },
        Volume {
            name: "data".into(),
            ..Default::default()
        },
        Volume {
            name: "".into(),
            ..Default::default()
        },
        Volume {
            name: "Bad".into(),
            ..Default::default()
        },
    ]);
    pod(&mut j).containers[0].volume_mounts = Some(vec![
        VolumeMount {
            name: "data".into(),
            mount_path: "/d".into(),
            ..Default::default()
        },
        VolumeMount {
            name: "x".into(),
            mount_path: "".into(),
            ..Default::default()
        },
        VolumeMount {
            name: "data".into(),
            mount_path: "/d".into(),
            ..Default::default()
        },
    ]);
    let v = "spec.template.spec.volumes";
    assert_eq!(
        msgs(&j),
        [
            format!("{v}[1].name: Duplicate value: \"data\""),
            format!("{v}[2].name: Required value"),
            format!("{v}[3].name: Invalid value: \"Bad\": {DNS1123_LABEL_MSG}"),
            format!("{c0}.volumeMounts[1].name: Not found: \"x\""),
            format!("{c0}.volumeMounts[1].mountPath: Required value"),
            format!("{c0}.volumeMounts[2].mountPath: Invalid value: \"/d\": must be unique"),
        ]
    );
}

#[test]
fn sub_paths_and_host_paths_must_not_climb() {
    let c0 = "spec.template.spec.containers[0]";
    let v = "spec.template.spec.volumes";
    let mut j = valid_job();
    pod(&mut j).volumes = Some(vec![
        Volume {
            name: "data".into(),
            empty_dir: Some(Default::default()),
            ..Default::default()
        },
        Volume {
            name: "up".into(),
            host_path: Some(k8s_openapi::api::core::v1::HostPathVolumeSource {
                path: "/srv/../etc".into(),
                type_: None,
            }),
            ..Default::default()
        },
        Volume {
            name: "none".into(),
            host_path: Some(Default::default()),
            ..Default::default()
        },
    ]);
    let m = |path: &str, sub: Option<&str>, expr: Option<&str>| VolumeMount {
        name: "data".into(),
        mount_path: path.into(),
        sub_path: sub.map(Into::into),
        sub_path_expr: expr.map(Into::into),
        ..Default::default()
    };
    pod(&mut j).containers[0].volume_mounts = Some(vec![
        m("/a", Some("../../x"), None),
        m("/b", Some("/etc"), None),
        m("/c", Some("ok/a..b"), None),
        m("/d", Some("x"), Some("$(POD)/..")),
        m("/e", None, Some("/$(POD)")),
    ]);
    assert_eq!(
        msgs(&j),
        [
            format!("{v}[1].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'"),
            format!("{v}[2].hostPath.path: Required value"),
            format!(
                "{c0}.volumeMounts[0].subPath: Invalid value: \"../../x\": must not contain '..'"
            ),
            format!(
                "{c0}.volumeMounts[1].subPath: Invalid value: \"/etc\": must be a relative path"
            ),
            format!(
                "{c0}.volumeMounts[3].subPathExpr: Invalid value: \"$(POD)/..\": subPathExpr and subPath are mutually exclusive"
            ),
            format!(
                "{c0}.volumeMounts[3].subPathExpr: Invalid value: \"$(POD)/..\": must not contain '..'"
            ),
            format!(
                "{c0}.volumeMounts[4].subPathExpr: Invalid value: \"/$(POD)\": must be a relative path"
            ),
        ]
    );
}

#[test]
fn resource_rules() {
    let r = "spec.template.spec.containers[0].resources";
    let q = |s: &str| KQuantity(s.to_string());
    let mut j = valid_job();
    pod(&mut j).containers[0].resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), q("abc")),
            ("memory".to_string(), q("1Gi")),
        ])),
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), q("-1")),
            ("memory".to_string(), q("1025Mi")),
            ("gpu".to_string(), q("1")),
        ])),
        claims: None,
    });
    assert_eq!(
        msgs(&j),
        [
            format!(
                "{r}.limits[cpu]: Invalid value: \"abc\": {}",
                QuantityError::Format
            ),
            format!("{r}.requests[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"),
            format!(
                "{r}.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers"
            ),
            format!(
                "{r}.requests: Invalid value: \"1025Mi\": must be less than or equal to memory limit of 1Gi"
            ),
        ]
    );
    assert!(
        QuantityError::Format
            .to_string()
            .ends_with("'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    );

    let mut j = valid_job();
    pod(&mut j).containers[0].resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), q("500m")),
            ("memory".to_string(), q("1e3")),
        ])),
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), q("0.5")),
            ("memory".to_string(), q("1k")),
        ])),
        claims: None,
    });
    assert!(msgs(&j).is_empty());
}

#[test]
fn label_rules() {
    let mut j = valid_job();
    j.metadata.labels = Some(BTreeMap::from([("bad key".to_string(), "v".to_string())]));
    assert_eq!(
        msgs(&j),
        [format!(
            "metadata.labels: Invalid value: \"bad key\": name part {QUALIFIED_NAME_MSG}"
        )]
    );
    let mut j = valid_job();
    j.metadata.labels = Some(BTreeMap::from([("k".to_string(), "-v".to_string())]));
    assert_eq!(
        msgs(&j),
        [format!(
            "metadata.labels: Invalid value: \"-v\": {LABEL_VALUE_MSG}"
        )]
    );
}

#[test]
fn update_rules() {
    let old = valid_job();
    let mut new = valid_job();
    spec(&mut new).completions = Some(5);
    let m: Vec<String> = validate_job_update(&new, &old)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        m,
        ["spec.completions: Invalid value: 5: field is immutable"]
    );

    let mut new = valid_job();
    spec(&mut new).parallelism = Some(4);
    spec(&mut new).backoff_limit = Some(1);
    spec(&mut new).active_deadline_seconds = Some(10);
    assert!(validate_job_update(&new, &old).is_empty());

    let mut new = valid_job();
    pod(&mut new).containers[0].image = Some("other.wasm".into());
    let m = validate_job_update(&new, &old);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].field, "spec.template");
    assert_eq!(m[0].detail, "field is immutable");

    // Suspended and never started: node selector may change.
    let mut old_s = valid_job();
    spec(&mut old_s).suspend = Some(true);
    let mut new = old_s.clone();
    pod(&mut new).node_selector = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    assert!(validate_job_update(&new, &old_s).is_empty());

    // Elastic Indexed Jobs.
    let mut old_i = valid_job();
    indexed(&mut old_i, 2);
    spec(&mut old_i).parallelism = Some(2);
    let mut new = old_i.clone();
    spec(&mut new).completions = Some(3);
    let m: Vec<String> = validate_job_update(&new, &old_i)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        m,
        [
            "spec.completions: Invalid value: 3: can only be modified in tandem with spec.parallelism"
        ]
    );
    spec(&mut new).parallelism = Some(3);
    assert!(validate_job_update(&new, &old_i).is_empty());

    let mut new = valid_job();
    new.metadata.name = Some("other".into());
    let m: Vec<String> = validate_job_update(&new, &old)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(m.contains(&"metadata.name: Invalid value: \"other\": field is immutable".to_string()));
}

#[test]
fn config_map_and_secret_references_are_validated_as_upstream() {
    let with = |yaml: &str| -> Vec<String> {
        let mut j = valid_job();
        let extra: PodSpec = serde_yaml_ng::from_str(yaml).unwrap();
        let p = pod(&mut j);
        p.volumes = extra.volumes;
        p.containers[0].env = extra.containers[0].env.clone();
        p.containers[0].env_from = extra.containers[0].env_from.clone();
        msgs(&j)
    };
    let base = "containers: [{name: main}]\n";
    assert!(
        with(&format!(
            "{base}volumes: [{{name: cfg, configMap: {{name: cfg, defaultMode: 256, items: [{{key: a, path: dir/a.txt}}]}}}}, {{name: s, secret: {{secretName: s}}}}]"
        ))
        .is_empty()
    );
    #[rustfmt::skip]
    let table: &[(&str, &str)] = &[
        ("volumes: [{name: cfg, configMap: {name: ''}}]", "spec.template.spec.volumes[0].configMap.name: Required value"),
        ("volumes: [{name: s, secret: {}}]", "spec.template.spec.volumes[0].secret.secretName: Required value"),
        ("volumes: [{name: cfg, configMap: {name: c, items: [{key: a, path: ../etc}]}}]", "spec.template.spec.volumes[0].configMap.items[0].path: Invalid value: \"../etc\": must not contain '..'"),
        ("volumes: [{name: cfg, configMap: {name: c, items: [{key: a, path: /etc}]}}]", "spec.template.spec.volumes[0].configMap.items[0].path: Invalid value: \"/etc\": must be a relative path"),
        ("volumes: [{name: cfg, configMap: {name: c, items: [{key: a, path: ..x}]}}]", "spec.template.spec.volumes[0].configMap.items[0].path: Invalid value: \"..x\": must not start with '..'"),
        ("volumes: [{name: cfg, configMap: {name: c, items: [{key: '', path: a}]}}]", "spec.template.spec.volumes[0].configMap.items[0].key: Required value"),
        ("volumes: [{name: cfg, secret: {secretName: c, defaultMode: 1000}}]", "spec.template.spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive"),
        ("containers: [{name: main, env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: 'a/b'}}}]}]", "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key_name', regex used for validation is '[-._a-zA-Z0-9]+')"),
        ("containers: [{name: main, env: [{name: A, valueFrom: {secretKeyRef: {name: Bad, key: k}}}]}]", "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
        ("containers: [{name: main, env: [{name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]", "spec.template.spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"),
        ("containers: [{name: main, envFrom: [{prefix: 'A=', configMapRef: {name: c}}]}]", "spec.template.spec.containers[0].envFrom[0].prefix: Invalid value: \"A=\": a valid environment variable name must consist only of printable ASCII characters other than '='"),
        ("containers: [{name: main, envFrom: [{prefix: P_}]}]", "spec.template.spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"),
        ("containers: [{name: main, envFrom: [{configMapRef: {name: c}, secretRef: {name: s}}]}]", "spec.template.spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time"),
        ("containers: [{name: main, envFrom: [{configMapRef: {name: ''}}]}]", "spec.template.spec.containers[0].envFrom[0].configMapRef.name: Required value"),
        ("containers: [{name: main, env: [{name: A, valueFrom: {}}]}]", "spec.template.spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
        ("containers: [{name: main, env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}, secretKeyRef: {name: s, key: k}}}]}]", "spec.template.spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"),
    ];
    for (yaml, expected) in table {
        let yaml = if yaml.starts_with("containers") {
            yaml.to_string()
        } else {
            format!("{base}{yaml}")
        };
        assert_eq!(with(&yaml), [*expected], "{yaml}");
    }
}
