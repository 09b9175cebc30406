//! Node admission: what this node can hold (`maxPods`, memory) and whether a pod fits, as
//! pure decisions; the kubelet acts on them.
//!
//! Upstream splits this between the scheduler (a pod that does not fit stays Pending with a
//! `FailedScheduling` Event) and the kubelet's own admission (a pod that can never fit the
//! node is rejected: phase Failed, reason `OutOf<resource>`). A single node does both here.

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::api::quantity;

/// What the node offers pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCapacity {
    /// Pods admitted at once (the kubelet's `maxPods`); later ones wait Pending.
    pub max_pods: usize,
    /// The node's memory in bytes: a pod whose limits add up to more can never run here.
    pub memory_bytes: u64,
}

impl NodeCapacity {
    /// This machine's memory (the smaller of `MemTotal` and the cgroup's `memory.max`) and
    /// the given pod capacity.
    pub fn of_this_machine(max_pods: usize) -> Self {
        NodeCapacity {
            max_pods,
            memory_bytes: machine_memory().unwrap_or(u64::MAX),
        }
    }
}

impl Default for NodeCapacity {
    /// No bound (tests, embedders that do their own accounting).
    fn default() -> Self {
        NodeCapacity {
            max_pods: usize::MAX >> 4,
            memory_bytes: u64::MAX,
        }
    }
}

fn machine_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total = parse_mem_total(&meminfo)?;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |c| c.min(total)))
}

/// `MemTotal:       24558344 kB` → bytes.
fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory a pod needs at once, from its containers' limits (`default` where none is
/// set), computed as upstream computes a pod's effective request: init containers run one
/// after another, app containers together, so the larger of the biggest init container and
/// the sum of the app containers. Unparseable limits count as the default; validation has
/// refused them already.
pub fn pod_memory(pod: &Pod, default: u64) -> u64 {
    let Some(spec) = pod.spec.as_ref() else {
        return 0;
    };
    let limit = |c: &Container| {
        c.resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get("memory"))
            .and_then(|q| quantity::to_bytes(&q.0).ok())
            .unwrap_or(default)
    };
    let apps = spec
        .containers
        .iter()
        .map(limit)
        .fold(0u64, u64::saturating_add);
    let init = spec.init_containers.iter().flatten().map(limit).max();
    apps.max(init.unwrap_or(0))
}

/// Why the kubelet rejects a pod outright: it can never run on this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The pod's `status.reason` and the Event's reason (upstream: `OutOf<resource>`).
    pub reason: &'static str,
    /// The pod's `status.message`.
    pub message: String,
}

/// Rejects a pod that needs more memory than the node has. (Memory used by other pods is
/// not counted: limits overcommit, as a node's do; what is refused is what could never fit.)
pub fn admit(pod_memory: u64, node: &NodeCapacity) -> Result<(), Rejection> {
    if pod_memory > node.memory_bytes {
        return Err(Rejection {
            reason: "OutOfmemory",
            message: format!(
                "Pod was rejected: Node didn't have enough resource: memory, requested: {pod_memory}, capacity: {}",
                node.memory_bytes
            ),
        });
    }
    Ok(())
}

/// The scheduler's message for a pod that waits because the node holds `maxPods` already.
pub const TOO_MANY_PODS: &str = "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn container(memory: Option<&str>) -> Container {
        Container {
            name: "c".into(),
            resources: memory.map(|m| ResourceRequirements {
                limits: Some([("memory".to_string(), Quantity(m.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pod(init: &[Option<&str>], apps: &[Option<&str>]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                init_containers: Some(init.iter().map(|m| container(*m)).collect()),
                containers: apps.iter().map(|m| container(*m)).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_pods_memory_is_the_larger_of_its_biggest_init_and_its_apps_together() {
        let mi = 1 << 20;
        for (init, apps, want) in [
            (vec![], vec![Some("64Mi")], 64 * mi),
            (vec![], vec![Some("64Mi"), None], 64 * mi + 256 * mi),
            (vec![Some("1Gi")], vec![Some("64Mi")], 1024 * mi),
            (vec![Some("1Mi"), Some("2Mi")], vec![Some("64Mi")], 64 * mi),
            (vec![None], vec![Some("1Mi")], 256 * mi),
        ] {
            assert_eq!(
                pod_memory(&pod(&init, &apps), 256 * mi),
                want,
                "{init:?} {apps:?}"
            );
        }
    }

    #[test]
    fn only_a_pod_that_can_never_fit_is_rejected() {
        let node = NodeCapacity {
            max_pods: 10,
            memory_bytes: 24 << 30,
        };
        assert_eq!(admit(24 << 30, &node), Ok(()));
        let r = admit(20 << 31, &node).unwrap_err();
        assert_eq!(r.reason, "OutOfmemory");
        assert_eq!(
            r.message,
            "Pod was rejected: Node didn't have enough resource: memory, requested: 42949672960, capacity: 25769803776"
        );
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemFree:  1 kB\nMemTotal:       24558344 kB\n";
        assert_eq!(parse_mem_total(text), Some(24_558_344 * 1024));
        assert_eq!(parse_mem_total("nothing"), None);
    }
}
