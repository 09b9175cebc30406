//! Pod failure policy and success policy matching (upstream pod_failure_policy.go and
//! success_policy.go): pure functions of the policy and the pod or the completed indexes.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{PodFailurePolicy, SuccessPolicy};
use k8s_openapi::api::core::v1::Pod;

use crate::api::intervals;

/// What a matching pod failure policy rule says to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Fail the whole Job, with this condition message.
    FailJob(String),
    /// Do not count the failure (the pod is still replaced).
    Ignore,
    /// Count it, as without a policy.
    Count,
    /// Fail the pod's index (backoffLimitPerIndex).
    FailIndex,
}

/// The first rule matching a failed pod, if any (rules with unknown actions are skipped).
pub fn match_failure_policy(policy: &PodFailurePolicy, pod: &Pod) -> Option<Action> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let status = pod.status.as_ref();
    for (i, rule) in policy.rules.iter().enumerate() {
        let action = |detail: String| -> Option<Action> {
            match rule.action.as_str() {
                "FailJob" => Some(Action::FailJob(detail)),
                "Ignore" => Some(Action::Ignore),
                "Count" => Some(Action::Count),
                "FailIndex" => Some(Action::FailIndex),
                _ => None,
            }
        };
        if let Some(req) = &rule.on_exit_codes {
            let containers = status
                .into_iter()
                .flat_map(|s| {
                    s.container_statuses
                        .iter()
                        .chain(s.init_container_statuses.iter())
                })
                .flatten();
            for c in containers {
                if req.container_name.as_deref().is_some_and(|n| n != c.name) {
                    continue;
                }
                let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
                    continue;
                };
                if t.exit_code == 0 {
                    continue;
                }
                let listed = req.values.contains(&t.exit_code);
                let hit = match req.operator.as_str() {
                    "In" => listed,
                    "NotIn" => !listed,
                    _ => false,
                };
                if hit {
                    let msg = format!(
                        "Container {} for pod {ns}/{name} failed with exit code {} matching FailJob rule at index {i}",
                        c.name, t.exit_code
                    );
                    if let Some(a) = action(msg) {
                        return Some(a);
                    }
                }
            }
        }
        if let Some(patterns) = &rule.on_pod_conditions {
            for p in patterns {
                let want = p.status.as_deref().unwrap_or("True");
                let hit = status
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == p.type_ && c.status == want));
                if hit {
                    let msg = format!(
                        "Pod {ns}/{name} has condition {} matching FailJob rule at index {i}",
                        p.type_
                    );
                    if let Some(a) = action(msg) {
                        return Some(a);
                    }
                }
            }
        }
    }
    None
}

/// The index of the first success policy rule the completed indexes satisfy.
pub fn match_success_policy(
    policy: &SuccessPolicy,
    completed: &BTreeSet<i32>,
    completions: i32,
) -> Option<usize> {
    if completed.is_empty() {
        return None;
    }
    policy.rules.iter().position(
        |rule| match (&rule.succeeded_indexes, rule.succeeded_count) {
            (Some(ix), count) => {
                let wanted = intervals::parse(ix, completions);
                let done = wanted.intersection(completed).count() as i32;
                match count {
                    Some(c) => done >= c,
                    None => !wanted.is_empty() && done == wanted.len() as i32,
                }
            }
            (None, Some(c)) => completed.len() as i32 >= c,
            (None, None) => false,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
        PodFailurePolicyRule, SuccessPolicyRule,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn failed_pod(code: i32, conditions: &[&str]) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("x-0".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some("Failed".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "main".into(),
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: code,
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|t| PodCondition {
                            type_: t.to_string(),
                            status: "True".into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    fn exit_rule(action: &str, op: &str, values: &[i32]) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: op.into(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn condition_rule(action: &str, ty: &str) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: ty.into(),
                status: Some("True".into()),
            }]),
        }
    }

    #[test]
    fn the_first_matching_rule_wins_with_the_upstream_message() {
        let policy = PodFailurePolicy {
            rules: vec![
                exit_rule("Ignore", "In", &[3]),
                exit_rule("FailJob", "In", &[5]),
            ],
        };
        assert_eq!(
            match_failure_policy(&policy, &failed_pod(5, &[])),
            Some(Action::FailJob(
                "Container main for pod default/x-0 failed with exit code 5 matching FailJob rule at index 1".into()
            ))
        );
        assert_eq!(
            match_failure_policy(&policy, &failed_pod(3, &[])),
            Some(Action::Ignore)
        );
        assert_eq!(match_failure_policy(&policy, &failed_pod(4, &[])), None);
    }

    #[test]
    fn not_in_matches_other_codes_and_conditions_match_by_type() {
        let policy = PodFailurePolicy {
            rules: vec![
                condition_rule("Ignore", "DisruptionTarget"),
                exit_rule("FailJob", "NotIn", &[137]),
            ],
        };
        assert_eq!(
            match_failure_policy(&policy, &failed_pod(137, &["DisruptionTarget"])),
            Some(Action::Ignore)
        );
        assert_eq!(match_failure_policy(&policy, &failed_pod(137, &[])), None);
        assert!(matches!(
            match_failure_policy(&policy, &failed_pod(1, &[])),
            Some(Action::FailJob(_))
        ));
    }

    #[test]
    fn success_policies_match_listed_indexes_counts_or_both() {
        let done: BTreeSet<i32> = [0, 2, 3].into_iter().collect();
        let rule = |ix: Option<&str>, c: Option<i32>| SuccessPolicyRule {
            succeeded_indexes: ix.map(Into::into),
            succeeded_count: c,
        };
        let p = |rules| SuccessPolicy { rules };
        assert_eq!(
            match_success_policy(&p(vec![rule(Some("0,2"), None)]), &done, 5),
            Some(0)
        );
        assert_eq!(
            match_success_policy(&p(vec![rule(Some("0-1"), None)]), &done, 5),
            None
        );
        assert_eq!(
            match_success_policy(&p(vec![rule(None, Some(3))]), &done, 5),
            Some(0)
        );
        assert_eq!(
            match_success_policy(
                &p(vec![rule(None, Some(4)), rule(Some("1-3"), Some(2))]),
                &done,
                5
            ),
            Some(1)
        );
        assert_eq!(
            match_success_policy(&p(vec![rule(None, Some(1))]), &BTreeSet::new(), 5),
            None
        );
    }
}
