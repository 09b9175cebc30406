//! Local ephemeral-storage eviction, decided purely: given what a pod's volumes and
//! containers use, whether the kubelet must evict it and with which message.
//!
//! Upstream's eviction manager checks, in this order, every `emptyDir` against its
//! `sizeLimit`, the pod's total against the sum of its containers'
//! `limits.ephemeral-storage`, then each container's own usage (its logs and writable
//! layer; a wasm container has no writable layer, so its logs) against its limit. The first
//! one exceeded evicts the pod: phase Failed, reason `Evicted`, a `DisruptionTarget`
//! condition, a Warning `Evicted` Event, all with the message built here.
//!
//! One difference, for a node shared between tenants: a container that sets no
//! `limits.ephemeral-storage` gets the node's default (as a LimitRange default would give
//! it), so no pod can fill the node's disk by leaving its limits out.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::api::quantity;

/// The pod status reason and Event reason of an eviction.
pub const REASON: &str = "Evicted";

/// What a running pod uses, in bytes charged (see `volumes::usage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Per `emptyDir` volume, by volume name.
    pub volumes: HashMap<String, u64>,
    /// Per container (its logs), by container name.
    pub containers: HashMap<String, u64>,
}

/// A container's ephemeral-storage limit: its own, else the node's default (`None`: none).
fn container_limit(c: &Container, default: Option<u64>) -> Option<(u64, String)> {
    let own = c
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .and_then(|l| l.get("ephemeral-storage"))
        .and_then(|q| quantity::to_bytes(&q.0).ok().map(|b| (b, q.0.clone())));
    match own {
        Some((0, _)) => None,
        Some(l) => Some(l),
        None => default.filter(|d| *d > 0).map(|d| (d, format_bytes(d))),
    }
}

/// The pod's limit as upstream's `PodRequestsAndLimits` computes it: the sum over app
/// containers, or the largest init container's when that is larger.
fn pod_limit(pod: &Pod, default: Option<u64>) -> Option<(u64, String)> {
    let spec = pod.spec.as_ref()?;
    let apps: Vec<_> = spec
        .containers
        .iter()
        .filter_map(|c| container_limit(c, default))
        .collect();
    let mut total = match apps.as_slice() {
        [] => None,
        [(b, s)] => Some((*b, s.clone())),
        many => {
            let sum = many.iter().fold(0u64, |a, (b, _)| a.saturating_add(*b));
            Some((sum, format_bytes(sum)))
        }
    };
    for init in spec
        .init_containers
        .iter()
        .flatten()
        .filter_map(|c| container_limit(c, default))
    {
        if total.as_ref().is_none_or(|(b, _)| init.0 > *b) {
            total = Some(init);
        }
    }
    total
}

/// Whether the pod must be evicted, and the message upstream writes when it is.
/// `default_limit` is the node's ephemeral-storage limit for containers that set none.
pub fn decide(pod: &Pod, usage: &Usage, default_limit: Option<u64>) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    for v in spec.volumes.iter().flatten() {
        let Some(limit) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) else {
            continue;
        };
        let Ok(bytes) = quantity::to_bytes(&limit.0) else {
            continue;
        };
        let used = usage.volumes.get(&v.name).copied().unwrap_or(0);
        if bytes > 0 && used > bytes {
            return Some(format!(
                "Usage of EmptyDir volume {:?} exceeds the limit {:?}. ",
                v.name, limit.0
            ));
        }
    }
    if let Some((limit, shown)) = pod_limit(pod, default_limit) {
        let total = usage
            .volumes
            .values()
            .chain(usage.containers.values())
            .fold(0u64, |a, b| a.saturating_add(*b));
        if total > limit {
            return Some(format!(
                "Pod ephemeral local storage usage exceeds the total limit of containers {shown}. "
            ));
        }
    }
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        if let Some((limit, shown)) = container_limit(c, default_limit) {
            let used = usage.containers.get(&c.name).copied().unwrap_or(0);
            if used > limit {
                return Some(format!(
                    "Container {} exceeded its local ephemeral storage limit {shown:?}. ",
                    c.name
                ));
            }
        }
    }
    None
}

/// Whether the pod has anything to watch at all.
pub fn needs_watching(pod: &Pod, default_limit: Option<u64>) -> bool {
    pod_limit(pod, default_limit).is_some()
        || pod.spec.as_ref().is_some_and(|s| {
            s.volumes
                .iter()
                .flatten()
                .any(|v| v.empty_dir.as_ref().is_some_and(|e| e.size_limit.is_some()))
        })
}

/// Bytes as the canonical binary quantity Kubernetes prints (`1Gi`, `1536Mi`, `1000`).
pub fn format_bytes(b: u64) -> String {
    const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if b == 0 {
        return "0".into();
    }
    let mut n = b;
    let mut suffix = "";
    for s in SUFFIXES {
        if !n.is_multiple_of(1024) {
            break;
        }
        n /= 1024;
        suffix = s;
    }
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn usage(volumes: &[(&str, u64)], containers: &[(&str, u64)]) -> Usage {
        Usage {
            volumes: volumes.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            containers: containers
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }

    fn with_limits(limits: serde_json::Value, volumes: serde_json::Value) -> Pod {
        pod(serde_json::json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"limits": limits.clone()}},
                {"name": "b", "resources": {"limits": limits}},
            ],
            "volumes": volumes,
        }}))
    }

    #[test]
    fn decisions() {
        let scratch = serde_json::json!([{"name": "scratch", "emptyDir": {"sizeLimit": "10Mi"}}]);
        type Case = (&'static str, Pod, Usage, Option<u64>, Option<&'static str>);
        let cases: &[Case] = &[
            (
                "an emptyDir over its sizeLimit",
                with_limits(serde_json::json!({}), scratch.clone()),
                usage(&[("scratch", 11 << 20)], &[]),
                None,
                Some("Usage of EmptyDir volume \"scratch\" exceeds the limit \"10Mi\". "),
            ),
            (
                "an emptyDir at its sizeLimit stays",
                with_limits(serde_json::json!({}), scratch.clone()),
                usage(&[("scratch", 10 << 20)], &[]),
                None,
                None,
            ),
            (
                "the pod over the sum of its containers' limits",
                with_limits(
                    serde_json::json!({"ephemeral-storage": "1Mi"}),
                    scratch.clone(),
                ),
                usage(&[("scratch", 3 << 20)], &[]),
                None,
                Some(
                    "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. ",
                ),
            ),
            (
                "logs and volumes add up",
                with_limits(
                    serde_json::json!({"ephemeral-storage": "1Mi"}),
                    serde_json::json!([]),
                ),
                usage(&[("other", 1 << 20)], &[("a", 1 << 20), ("b", 1)]),
                None,
                Some(
                    "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. ",
                ),
            ),
            (
                "without limits, the node default applies per container",
                with_limits(serde_json::json!({}), serde_json::json!([])),
                usage(&[("v", 3 << 30)], &[]),
                Some(1 << 30),
                Some(
                    "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ",
                ),
            ),
            (
                "without limits and without a default, nothing is bounded but sizeLimit",
                with_limits(serde_json::json!({}), serde_json::json!([])),
                usage(&[("v", 300 << 30)], &[]),
                None,
                None,
            ),
            (
                "a container's own logs over its limit",
                pod(serde_json::json!({"spec": {"containers": [
                    {"name": "a", "resources": {"limits": {"ephemeral-storage": "1Ki"}}},
                    {"name": "b", "resources": {"limits": {"ephemeral-storage": "1Gi"}}},
                ]}})),
                usage(&[], &[("a", 2048)]),
                None,
                Some("Container a exceeded its local ephemeral storage limit \"1Ki\". "),
            ),
        ];
        for (what, pod, usage, default, want) in cases {
            assert_eq!(decide(pod, usage, *default).as_deref(), *want, "{what}");
        }
    }

    #[test]
    fn an_init_container_larger_than_the_apps_sets_the_pod_limit() {
        let p = pod(serde_json::json!({"spec": {
            "initContainers": [{"name": "i", "resources": {"limits": {"ephemeral-storage": "5Mi"}}}],
            "containers": [{"name": "a", "resources": {"limits": {"ephemeral-storage": "1Mi"}}}],
        }}));
        assert_eq!(pod_limit(&p, None), Some((5 << 20, "5Mi".into())));
        assert!(needs_watching(&p, None));
        let bare = pod(serde_json::json!({"spec": {"containers": [{"name": "a"}]}}));
        assert!(!needs_watching(&bare, None));
        assert!(needs_watching(&bare, Some(1)));
    }

    #[test]
    fn bytes_print_as_canonical_binary_quantities() {
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(2048), "2Ki");
        assert_eq!(format_bytes(1536 << 20), "1536Mi");
        assert_eq!(format_bytes(1 << 30), "1Gi");
    }
}
