//! v1 Services (`ValidateService`, `ValidateServiceUpdate` in `pkg/apis/core/validation`),
//! for the types a wasm node serves: `ClusterIP` (with a cluster IP, or headless) and
//! `ExternalName`. `NodePort` and `LoadBalancer` are refused: nothing on this node listens
//! on a node port (wasm guests open no listening sockets).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::field::*;
use super::meta::{validate_labels, validate_meta_with, validate_object_meta_update};
use super::names::*;

/// The Service types this node takes.
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName"];

const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";
const IANA_SVC_NAME_MSG: &str = "must contain at least one letter (a-z)";

/// `IsDNS1035Label`.
fn dns1035_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_error(DNS1123_LABEL_MAX));
    }
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        errs.push(DNS1035_LABEL_MSG.to_string());
    }
    errs
}

/// `IsValidPortName` (an IANA service name): at most 15 characters of `[-a-z0-9]`, a
/// letter among them, no leading, trailing or doubled `-`.
fn port_name_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 15 {
        errs.push(max_len_error(15));
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push(IANA_SVC_NAME_MSG.into());
    }
    if s.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// An Invalid error whose value is a list of IPs, printed as Go prints a `[]string`.
pub fn ip_list_error(path: &FieldPath, ips: &[String], detail: &str) -> FieldError {
    let quoted: Vec<String> = ips.iter().map(|ip| crate::go::quote(ip)).collect();
    FieldError {
        kind: ErrorType::Invalid,
        field: path.as_str().to_string(),
        value: None,
        detail: format!("[]string{{{}}}: {detail}", quoted.join(", ")),
    }
}

/// `ValidateService` for a new Service (after defaulting and cluster IP allocation).
pub fn validate_service(s: &Service) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = FieldPath::root("metadata");
    validate_meta_with(&s.metadata, &meta, dns1035_label_errors, &mut errs);
    let default_spec = Default::default();
    let spec = s.spec.as_ref().unwrap_or(&default_spec);
    let path = FieldPath::root("spec");
    let type_ = spec.type_.as_deref().unwrap_or("ClusterIP");
    if !SERVICE_TYPES.contains(&type_) {
        errs.push(FieldError::not_supported(
            &path.child("type"),
            type_,
            SERVICE_TYPES,
        ));
    }
    let headless = spec.cluster_ip.as_deref() == Some("None");
    let ports = spec.ports.as_deref().unwrap_or_default();
    if type_ == "ExternalName" {
        let at = path.child("externalName");
        match spec.external_name.as_deref().unwrap_or("") {
            "" => errs.push(FieldError::required(&at, "")),
            name => {
                // A trailing dot (a fully qualified name) is allowed.
                let bare = name.strip_suffix('.').unwrap_or(name);
                for m in dns1123_subdomain_errors(bare) {
                    errs.push(FieldError::invalid(&at, name, m));
                }
            }
        }
        if spec.cluster_ip.as_deref().is_some_and(|ip| !ip.is_empty()) {
            errs.push(FieldError::forbidden(
                &path.child("clusterIPs"),
                "may not be set for ExternalName services",
            ));
        }
    } else if ports.is_empty() && !headless {
        errs.push(FieldError::required(&path.child("ports"), ""));
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let at = path.child("ports").index(i);
        let name = p.name.as_deref().unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(&at.child("name"), ""));
        } else if !name.is_empty() {
            for m in dns1123_label_errors(name) {
                errs.push(FieldError::invalid(&at.child("name"), name, m));
            }
            if !names.insert(name.to_string()) {
                errs.push(FieldError::duplicate(&at.child("name"), name));
            }
        }
        if !(1..=65535).contains(&p.port) {
            errs.push(FieldError::invalid(
                &at.child("port"),
                p.port,
                PORT_RANGE_MSG,
            ));
        }
        let protocol = p.protocol.as_deref().unwrap_or("TCP");
        if !["TCP", "UDP", "SCTP"].contains(&protocol) {
            errs.push(FieldError::not_supported(
                &at.child("protocol"),
                protocol,
                &["SCTP", "TCP", "UDP"],
            ));
        }
        match &p.target_port {
            Some(IntOrString::Int(n)) if !(1..=65535).contains(n) => {
                errs.push(FieldError::invalid(
                    &at.child("targetPort"),
                    *n,
                    PORT_RANGE_MSG,
                ));
            }
            Some(IntOrString::String(s)) => {
                for m in port_name_errors(s) {
                    errs.push(FieldError::invalid(&at.child("targetPort"), s.as_str(), m));
                }
            }
            _ => {}
        }
        if p.node_port.is_some_and(|n| n != 0) {
            errs.push(FieldError::forbidden(
                &at.child("nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
    }
    validate_labels(spec.selector.as_ref(), &path.child("selector"), &mut errs);
    if let (Some(ip), Some(ips)) = (spec.cluster_ip.as_deref(), spec.cluster_ips.as_deref())
        && ips.first().is_some_and(|first| first != ip)
    {
        errs.push(ip_list_error(
            &path.child("clusterIPs"),
            ips,
            "first value must match `clusterIP`",
        ));
    }
    if let Some(ip) = spec
        .cluster_ip
        .as_deref()
        .filter(|ip| !ip.is_empty() && *ip != "None")
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        errs.push(FieldError::invalid(
            &path.child("clusterIPs").index(0),
            ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
    errs
}

/// `ValidateServiceUpdate`: the cluster IP stays once set, then the Service as new.
pub fn validate_service_update(new: &Service, old: &Service) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_object_meta_update(&new.metadata, &old.metadata, &mut errs);
    let type_of = |s: &Service| {
        s.spec
            .as_ref()
            .and_then(|s| s.type_.clone())
            .unwrap_or_default()
    };
    let ips = |s: &Service| {
        s.spec
            .as_ref()
            .and_then(|s| s.cluster_ips.clone())
            .unwrap_or_default()
    };
    let spec = FieldPath::root("spec");
    if type_of(old) == "ExternalName" && type_of(new) != "ExternalName" {
        // Upstream allocates a cluster IP on this update; here one is allocated only at
        // create.
        errs.push(FieldError::forbidden(
            &spec.child("type"),
            "an ExternalName Service cannot become another type on this server: delete it and create it again",
        ));
    } else if type_of(new) != "ExternalName" {
        // The primary cluster IP never changes (upstream's
        // validateUpgradeDowngradeClusterIPs).
        let (old_ips, new_ips) = (ips(old), ips(new));
        if let Some(first) = old_ips.first()
            && new_ips.first() != Some(first)
        {
            errs.push(ip_list_error(
                &spec.child("clusterIPs").index(0),
                &new_ips,
                "may not change once set",
            ));
        }
    }
    errs.extend(validate_service(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(yaml: &str) -> Service {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn rendered(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn services_are_validated_as_upstream() {
        assert!(
            validate_service(&svc(
                "metadata: {name: web}\nspec: {ports: [{port: 80}], selector: {app: web}}"
            ))
            .is_empty()
        );
        assert!(validate_service(&svc("metadata: {name: db}\nspec: {clusterIP: None}")).is_empty());
        assert!(
            validate_service(&svc(
                "metadata: {name: ext}\nspec: {type: ExternalName, externalName: db.example.com.}"
            ))
            .is_empty()
        );
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            ("metadata: {name: 1web}\nspec: {ports: [{port: 80}]}", "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
            ("metadata: {name: web}\nspec: {}", "spec.ports: Required value"),
            ("metadata: {name: web}\nspec: {ports: [{port: 0}]}", "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
            ("metadata: {name: web}\nspec: {ports: [{port: 80}, {port: 81, name: b}]}", "spec.ports[0].name: Required value"),
            ("metadata: {name: web}\nspec: {ports: [{port: 80, protocol: HTTP}]}", "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
            ("metadata: {name: web}\nspec: {ports: [{port: 80, targetPort: 70000}]}", "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
            ("metadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80}]}", "spec.type: Unsupported value: \"NodePort\": supported values: \"ClusterIP\", \"ExternalName\""),
            ("metadata: {name: ext}\nspec: {type: ExternalName}", "spec.externalName: Required value"),
            ("metadata: {name: web}\nspec: {clusterIP: nope, ports: [{port: 80}]}", "spec.clusterIPs[0]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ];
        for (yaml, expected) in table {
            assert_eq!(
                rendered(&validate_service(&svc(yaml))),
                [*expected],
                "{yaml}"
            );
        }
    }

    #[test]
    fn the_cluster_ip_may_not_change_once_set() {
        let old = svc(
            "metadata: {name: web}\nspec: {clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10], ports: [{port: 80}]}",
        );
        let mut new = old.clone();
        new.spec.as_mut().unwrap().cluster_ip = Some("10.96.0.11".into());
        new.spec.as_mut().unwrap().cluster_ips = Some(vec!["10.96.0.11".into()]);
        assert_eq!(
            rendered(&validate_service_update(&new, &old)),
            [
                "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not change once set"
            ]
        );
        let mut mismatched = old.clone();
        mismatched.spec.as_mut().unwrap().cluster_ips = Some(vec!["10.96.0.12".into()]);
        assert_eq!(
            rendered(&validate_service(&mismatched)),
            [
                "spec.clusterIPs: Invalid value: []string{\"10.96.0.12\"}: first value must match `clusterIP`"
            ]
        );
        assert!(validate_service_update(&old, &old).is_empty());
    }
}
