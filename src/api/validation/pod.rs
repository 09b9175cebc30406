//! The pod template a Job runs (core/v1 `ValidatePodTemplateSpec`, the parts a wasm
//! Job can reach): containers, resources, volumes, mounts.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, PodTemplateSpec, Volume};

use super::field::*;
use super::meta::*;
use super::names::*;
use crate::api::quantity::Quantity;

/// Resource names a container may use without a domain prefix.
pub(super) fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

pub(super) fn validate_resources(c: &Container, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let Some(res) = &c.resources else { return };
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let mut limits = BTreeMap::new();
    let check = |name: &str, q: &str, p: &FieldPath, errs: &mut Vec<FieldError>| {
        validate_qualified_name(name, p, errs);
        if !name.contains('/') && !is_standard_container_resource(name) {
            errs.push(FieldError::invalid(
                p,
                name,
                "must be a standard resource for containers",
            ));
        }
        match Quantity::parse(q) {
            Ok(v) => {
                if v.is_negative() {
                    errs.push(FieldError::invalid(p, q, NON_NEGATIVE_MSG));
                }
                Some(v)
            }
            Err(e) => {
                errs.push(FieldError::invalid(p, q, e.to_string()));
                None
            }
        }
    };
    for (name, q) in res.limits.iter().flatten() {
        if let Some(v) = check(name, &q.0, &lim_path.key(name), errs) {
            limits.insert(name.clone(), (v, q.0.clone()));
        }
    }
    for (name, q) in res.requests.iter().flatten() {
        let Some(v) = check(name, &q.0, &req_path.key(name), errs) else {
            continue;
        };
        if let Some((lim, lim_str)) = limits.get(name)
            && v.compare(lim) == std::cmp::Ordering::Greater
        {
            errs.push(FieldError::invalid(
                &req_path,
                q.0.as_str(),
                format!("must be less than or equal to {name} limit of {lim_str}"),
            ));
        }
    }
}

/// `validateLocalDescendingPath`: relative, and no `..` element.
pub(super) fn validate_local_descending_path(
    path: &str,
    at: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if path.starts_with('/') {
        errs.push(FieldError::invalid(at, path, "must be a relative path"));
    }
    validate_path_no_backsteps(path, at, errs);
}

/// `validatePathNoBacksteps`: one error however many `..` elements there are.
pub(super) fn validate_path_no_backsteps(path: &str, at: &FieldPath, errs: &mut Vec<FieldError>) {
    if path.split('/').any(|item| item == "..") {
        errs.push(FieldError::invalid(at, path, "must not contain '..'"));
    }
}

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn validate_mode(mode: Option<i32>, at: &FieldPath, errs: &mut Vec<FieldError>) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        errs.push(FieldError::invalid(at, m, FILE_MODE_MSG));
    }
}

/// The `items` and `defaultMode` of a configMap or secret volume (`validateKeyToPath`,
/// `ValidateLocalNonReservedPath`): each file lands inside the volume, never beside it.
fn validate_projection(
    items: Option<&Vec<KeyToPath>>,
    default_mode: Option<i32>,
    at: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    validate_mode(default_mode, &at.child("defaultMode"), errs);
    for (i, kp) in items.into_iter().flatten().enumerate() {
        let p = at.child("items").index(i);
        if kp.key.is_empty() {
            errs.push(FieldError::required(&p.child("key"), ""));
        }
        let path = p.child("path");
        if kp.path.is_empty() {
            errs.push(FieldError::required(&path, ""));
        }
        validate_local_descending_path(&kp.path, &path, errs);
        if kp.path.starts_with("..") && !kp.path.starts_with("../") {
            errs.push(FieldError::invalid(
                &path,
                kp.path.as_str(),
                "must not start with '..'",
            ));
        }
        validate_mode(kp.mode, &p.child("mode"), errs);
    }
}

/// `validateConfigMapVolumeSource` and `validateSecretVolumeSource`.
fn validate_config_volume(v: &Volume, at: &FieldPath, errs: &mut Vec<FieldError>) {
    if let Some(cm) = &v.config_map {
        let at = at.child("configMap");
        if cm.name.is_empty() {
            errs.push(FieldError::required(&at.child("name"), ""));
        }
        validate_projection(cm.items.as_ref(), cm.default_mode, &at, errs);
    }
    if let Some(secret) = &v.secret {
        let at = at.child("secret");
        if secret.secret_name.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(&at.child("secretName"), ""));
        }
        validate_projection(secret.items.as_ref(), secret.default_mode, &at, errs);
    }
}

/// `validateConfigMapKeySelector` / `validateSecretKeySelector`: a DNS-subdomain name and
/// a config key.
fn validate_key_selector(name: &str, key: &str, at: &FieldPath, errs: &mut Vec<FieldError>) {
    for m in dns1123_subdomain_errors(name) {
        errs.push(FieldError::invalid(&at.child("name"), name, m));
    }
    if key.is_empty() {
        errs.push(FieldError::required(&at.child("key"), ""));
    } else {
        for m in super::config::config_map_key_errors(key) {
            errs.push(FieldError::invalid(&at.child("key"), key, m));
        }
    }
}

fn is_env_var_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii() && (' '..='~').contains(&ch) && ch != '=')
}

/// `ValidateEnvFrom`: a valid prefix and a valid name for the ConfigMap or Secret. (The
/// one-source errors name the list itself, as upstream's do.)
fn validate_env_from(c: &Container, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let list = path.child("envFrom");
    for (i, from) in c.env_from.iter().flatten().enumerate() {
        let p = list.index(i);
        if let Some(prefix) = from.prefix.as_deref().filter(|p| !p.is_empty())
            && !is_env_var_name(prefix)
        {
            errs.push(FieldError::invalid(
                &p.child("prefix"),
                prefix,
                ENV_VAR_NAME_MSG,
            ));
        }
        let refs = [
            (
                "configMapRef",
                from.config_map_ref.as_ref().map(|r| r.name.as_str()),
            ),
            (
                "secretRef",
                from.secret_ref.as_ref().map(|r| r.name.as_str()),
            ),
        ];
        for (field, name) in refs {
            let Some(name) = name else { continue };
            let at = p.child(field).child("name");
            if name.is_empty() {
                errs.push(FieldError::required(&at, ""));
            } else {
                for m in dns1123_subdomain_errors(name) {
                    errs.push(FieldError::invalid(&at, name, m));
                }
            }
        }
        match refs.iter().filter(|(_, r)| r.is_some()).count() {
            0 => errs.push(FieldError::invalid(
                &list,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            )),
            1 => {}
            _ => errs.push(FieldError::invalid(
                &list,
                "",
                "may not have more than one field specified at a time",
            )),
        }
    }
}

/// `validateContainerCommon` for the fields a wasm container uses.
pub(super) fn validate_container(
    c: &Container,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        validate_dns_label(&c.name, &name_path, errs);
    }
    if c.image.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(&path.child("image"), ""));
    }
    for (i, ev) in c.env.iter().flatten().enumerate() {
        let p = path.child("env").index(i).child("name");
        if ev.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
            errs.push(FieldError::invalid(
                &p,
                "",
                "environment variable name must be non-empty",
            ));
        } else if ev
            .name
            .chars()
            .any(|ch| !ch.is_ascii() || !(' '..='~').contains(&ch) || ch == '=')
        {
            errs.push(FieldError::invalid(&p, ev.name.as_str(), ENV_VAR_NAME_MSG));
        }
        if let Some(from) = &ev.value_from {
            let p = path.child("env").index(i).child("valueFrom");
            if let Some(r) = &from.config_map_key_ref {
                validate_key_selector(&r.name, &r.key, &p.child("configMapKeyRef"), errs);
            }
            if let Some(r) = &from.secret_key_ref {
                validate_key_selector(&r.name, &r.key, &p.child("secretKeyRef"), errs);
            }
            let sources = [
                from.field_ref.is_some(),
                from.resource_field_ref.is_some(),
                from.config_map_key_ref.is_some(),
                from.secret_key_ref.is_some(),
            ]
            .into_iter()
            .filter(|s| *s)
            .count();
            if sources == 0 {
                errs.push(FieldError::invalid(
                    &p,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ));
            } else if ev.value.as_deref().is_some_and(|v| !v.is_empty()) {
                errs.push(FieldError::invalid(
                    &p,
                    "",
                    "may not be specified when `value` is not empty",
                ));
            } else if sources > 1 {
                errs.push(FieldError::invalid(
                    &p,
                    "",
                    "may not have more than one field specified at a time",
                ));
            }
        }
    }
    validate_env_from(c, path, errs);
    let mut mount_points = BTreeSet::new();
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let p = path.child("volumeMounts").index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        }
        if !volumes.contains(&m.name) {
            errs.push(FieldError::not_found(&p.child("name"), m.name.as_str()));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&p.child("mountPath"), ""));
        }
        if !mount_points.insert(m.mount_path.clone()) {
            errs.push(FieldError::invalid(
                &p.child("mountPath"),
                m.mount_path.as_str(),
                "must be unique",
            ));
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            validate_local_descending_path(sub, &p.child("subPath"), errs);
        }
        if let Some(expr) = m.sub_path_expr.as_deref().filter(|s| !s.is_empty()) {
            if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::invalid(
                    &p.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            validate_local_descending_path(expr, &p.child("subPathExpr"), errs);
        }
    }
    validate_resources(c, &path.child("resources"), errs);
}

/// `ValidatePodTemplateSpec` restricted to what a wasm pod uses.
pub(super) fn validate_pod_template(
    t: &PodTemplateSpec,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let meta_path = path.child("metadata");
    if let Some(meta) = &t.metadata {
        validate_labels(meta.labels.as_ref(), &meta_path.child("labels"), errs);
        validate_annotations(
            meta.annotations.as_ref(),
            &meta_path.child("annotations"),
            errs,
        );
    }
    let default_spec = PodSpec::default();
    let spec = t.spec.as_ref().unwrap_or(&default_spec);
    let spec_path = path.child("spec");

    // Volumes: a volume with any error is not registered, so mounts of it are reported too.
    let mut volumes = BTreeSet::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let name_path = spec_path.child("volumes").index(i).child("name");
        let mut el = Vec::new();
        // Source errors first, as upstream's `validateVolumeSource` runs before the name checks.
        if let Some(hp) = &v.host_path {
            // `validateHostPathVolumeSource`.
            let path = spec_path
                .child("volumes")
                .index(i)
                .child("hostPath")
                .child("path");
            if hp.path.is_empty() {
                el.push(FieldError::required(&path, ""));
            } else {
                validate_path_no_backsteps(&hp.path, &path, &mut el);
            }
        }
        validate_config_volume(v, &spec_path.child("volumes").index(i), &mut el);
        if v.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            validate_dns_label(&v.name, &name_path, &mut el);
        }
        if volumes.contains(&v.name) {
            el.push(FieldError::duplicate(&name_path, v.name.as_str()));
        }
        if el.is_empty() {
            volumes.insert(v.name.clone());
        } else {
            errs.append(&mut el);
        }
    }

    let containers_path = spec_path.child("containers");
    if spec.containers.is_empty() {
        errs.push(FieldError::required(&containers_path, ""));
    } else {
        let mut names = BTreeSet::new();
        for (i, c) in spec.containers.iter().enumerate() {
            let p = containers_path.index(i);
            validate_container(c, &volumes, &p, errs);
            if !names.insert(c.name.clone()) {
                errs.push(FieldError::duplicate(&p.child("name"), c.name.as_str()));
            }
        }
    }

    let mut names: BTreeSet<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let p = spec_path.child("initContainers").index(i);
        validate_container(c, &volumes, &p, errs);
        if names.contains(&c.name) {
            errs.push(FieldError::duplicate(&p.child("name"), c.name.as_str()));
        } else if !c.name.is_empty() {
            names.insert(c.name.clone());
        }
    }

    // Pod-level restartPolicy check (`validateRestartPolicy`); empty is defaulted to Always.
    match spec.restart_policy.as_deref().unwrap_or("") {
        "" | "Always" | "OnFailure" | "Never" => {}
        other => errs.push(FieldError::not_supported(
            &spec_path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
}
