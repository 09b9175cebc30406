//! Cluster IPs of Services, as upstream's registry allocates them: from the service CIDR
//! (kube-apiserver's default `10.96.0.0/12`), `10.96.0.1` kept for the `kubernetes`
//! Service, one IP per Service, a requested one honoured when free. Nothing routes to
//! them on a wasm node; they name a Service as they would on a cluster.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Service;

use super::error::ApiError;
use crate::api::validation::FieldPath;
use crate::store::Store;

/// The service CIDR: `10.96.0.0/12`.
pub const CIDR: &str = "10.96.0.0/12";
const BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SIZE: u32 = 1 << 20;
/// The `kubernetes` Service's IP.
pub const KUBERNETES: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);

/// Allocation and the store's create, one Service at a time (two creates must not take
/// one IP).
static ALLOCATING: Mutex<()> = Mutex::new(());

/// Whether a Service may ask for `ip`: inside the range, not its network or broadcast
/// address, not the `kubernetes` Service's.
fn in_range(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    n > BASE + 1 && n < BASE + SIZE - 1
}

/// The first free IP after `10.96.0.1` among `used`.
pub fn next_free(used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    (BASE + 2..BASE + SIZE - 1)
        .map(Ipv4Addr::from)
        .find(|ip| !used.contains(ip))
}

fn refused(name: &str, ip: &str, why: &str) -> ApiError {
    let errors = [crate::api::validation::ip_list_error(
        &FieldPath::root("spec").child("clusterIPs"),
        &[ip.to_string()],
        &format!("failed to allocate IP {ip}: {why}"),
    )];
    ApiError::invalid("Service", name, &errors)
}

/// Gives `s` its cluster IP (unless headless or `ExternalName`) and stores it.
pub fn create(mut s: Service, store: &Store) -> Result<Service, ApiError> {
    let _one = ALLOCATING.lock().unwrap_or_else(|e| e.into_inner());
    let name = s.metadata.name.clone().unwrap_or_default();
    let spec = s.spec.get_or_insert_with(Default::default);
    let wants_ip = spec.type_.as_deref() != Some("ExternalName");
    if wants_ip && spec.cluster_ip.as_deref() != Some("None") {
        let used: BTreeSet<Ipv4Addr> = store
            .list_shared::<Service>(None)
            .0
            .iter()
            .filter_map(|s| s.spec.as_ref()?.cluster_ip.as_deref()?.parse().ok())
            .collect();
        let ip = match spec.cluster_ip.as_deref().filter(|i| !i.is_empty()) {
            Some(asked) => {
                let parsed: Ipv4Addr = asked
                    .parse()
                    .map_err(|_| refused(&name, asked, "not a valid IP"))?;
                if !in_range(parsed) {
                    let why = format!(
                        "the provided IP ({asked}) is not in the valid range. The range of valid IPs is {CIDR}"
                    );
                    return Err(refused(&name, asked, &why));
                }
                if used.contains(&parsed) {
                    return Err(refused(&name, asked, "provided IP is already allocated"));
                }
                parsed
            }
            None => next_free(&used).ok_or_else(|| {
                ApiError::internal(
                    "Internal error occurred: failed to allocate a serviceIP: range is full",
                )
            })?,
        };
        let ip = ip.to_string();
        spec.cluster_ip = Some(ip.clone());
        spec.cluster_ips = Some(vec![ip]);
    } else if spec.cluster_ip.as_deref() == Some("None") {
        spec.cluster_ips = Some(vec!["None".into()]);
    }
    Ok(store.create(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_ip_after_the_kubernetes_service() {
        let mut used = BTreeSet::new();
        assert_eq!(next_free(&used), Some(Ipv4Addr::new(10, 96, 0, 2)));
        used.insert(Ipv4Addr::new(10, 96, 0, 2));
        used.insert(Ipv4Addr::new(10, 96, 0, 3));
        assert_eq!(next_free(&used), Some(Ipv4Addr::new(10, 96, 0, 4)));
        assert!(!in_range(KUBERNETES), "kept for the kubernetes Service");
        assert!(!in_range(Ipv4Addr::new(10, 112, 0, 1)));
    }

    #[test]
    fn services_get_distinct_ips_and_a_taken_one_is_refused() {
        let store = Store::new();
        let svc = |name: &str, ip: Option<&str>| -> Service {
            let mut s: Service = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"ports": [{"port": 80}]}
            }))
            .unwrap();
            s.spec.as_mut().unwrap().cluster_ip = ip.map(Into::into);
            s
        };
        let a = create(svc("a", None), &store).unwrap();
        let b = create(svc("b", None), &store).unwrap();
        let ip = |s: &Service| s.spec.as_ref().unwrap().cluster_ip.clone().unwrap();
        assert_eq!(
            (ip(&a).as_str(), ip(&b).as_str()),
            ("10.96.0.2", "10.96.0.3")
        );
        let err = create(svc("c", Some("10.96.0.2")), &store)
            .unwrap_err()
            .status();
        assert_eq!(err["code"], 422);
        assert_eq!(
            err["message"],
            "Service \"c\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.2\"}: failed to allocate IP 10.96.0.2: provided IP is already allocated"
        );
        let err = create(svc("d", Some("10.96.0.1")), &store)
            .unwrap_err()
            .status();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("is not in the valid range"),
            "{err}"
        );
        let headless = create(svc("h", Some("None")), &store).unwrap();
        assert_eq!(headless.spec.unwrap().cluster_ips.unwrap(), ["None"]);
    }
}
