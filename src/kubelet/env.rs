//! A container's environment and argv, as the kubelet computes them (`makeEnvironmentVariables`):
//! `envFrom` ConfigMaps and Secrets, then `env` values, `valueFrom.fieldRef` and
//! `configMapKeyRef`/`secretKeyRef`, `$(VAR)` expansion, and `command` + `args`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};

use super::Error;
use crate::runtime::ImageRef;

/// Where the kubelet reads the ConfigMaps and Secrets a pod names (the store; a table in
/// tests), in the pod's namespace.
pub(super) trait ConfigSource {
    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMap>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>>;
}

impl ConfigSource for crate::store::Store {
    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMap>> {
        self.get_shared(&crate::api::meta::namespaced_key(
            Some(namespace),
            Some(name),
        ))
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>> {
        self.get_shared(&crate::api::meta::namespaced_key(
            Some(namespace),
            Some(name),
        ))
    }
}

/// A container's environment, and the `InvalidEnvironmentVariableNames` warnings for keys
/// of `envFrom` sources that were skipped.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Resolved {
    pub env: Vec<(String, String)>,
    pub skipped: Vec<String>,
}

/// What upstream's `IsEnvVarName` accepts (relaxed, as 1.32 by default): printable ASCII
/// but `=`.
fn is_env_var_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii() && (' '..='~').contains(&ch) && ch != '=')
}

fn set(out: &mut Vec<(String, String)>, name: &str, value: String) {
    out.retain(|(k, _)| k != name);
    out.push((name.to_string(), value));
}

/// The container's environment, in order: every `envFrom` source's keys (a later source
/// wins), then `env` (which wins over them), with `fieldRef`s and key refs resolved and
/// `$(VAR)` references to earlier variables expanded. A missing ConfigMap, Secret or key
/// is an error unless the reference is `optional`; the kubelet retries the start
/// (`CreateContainerConfigError`).
pub(super) fn resolve(
    pod: &Pod,
    c: &Container,
    source: &dyn ConfigSource,
) -> Result<Resolved, Error> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out = Resolved::default();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        let (what, name, entries): (&str, &str, Vec<(String, String)>) =
            if let Some(r) = &from.config_map_ref {
                let optional = r.optional == Some(true);
                match source.config_map(ns, &r.name) {
                    Some(cm) => (
                        "configMap",
                        &r.name,
                        cm.data.clone().unwrap_or_default().into_iter().collect(),
                    ),
                    None if optional => continue,
                    None => {
                        return Err(Error::ConfigMapNotFound {
                            name: r.name.clone(),
                        });
                    }
                }
            } else if let Some(r) = &from.secret_ref {
                let optional = r.optional == Some(true);
                match source.secret(ns, &r.name) {
                    Some(s) => (
                        "secret",
                        &r.name,
                        s.data
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
                            .collect(),
                    ),
                    None if optional => continue,
                    None => {
                        return Err(Error::SecretNotFound {
                            name: r.name.clone(),
                        });
                    }
                }
            } else {
                continue;
            };
        let mut invalid = Vec::new();
        for (k, v) in entries {
            let k = format!("{prefix}{k}");
            if is_env_var_name(&k) {
                set(&mut out.env, &k, v);
            } else {
                invalid.push(k);
            }
        }
        if !invalid.is_empty() {
            invalid.sort();
            out.skipped.push(format!(
                "Keys [{}] from the EnvFrom {what} {ns}/{name} were skipped since they are considered invalid environment variable names.",
                invalid.join(", ")
            ));
        }
    }
    for var in c.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    field_ref(pod, &f.field_path).ok_or_else(|| Error::UnsupportedFieldPath {
                        name: var.name.clone(),
                        path: f.field_path.clone(),
                    })?
                } else if let Some(r) = &from.config_map_key_ref {
                    let optional = r.optional == Some(true);
                    let Some(cm) = source.config_map(ns, &r.name) else {
                        if optional {
                            continue;
                        }
                        return Err(Error::ConfigMapNotFound {
                            name: r.name.clone(),
                        });
                    };
                    match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(Error::ConfigMapKeyNotFound {
                                key: r.key.clone(),
                                namespace: ns.into(),
                                name: r.name.clone(),
                            });
                        }
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let optional = r.optional == Some(true);
                    let Some(secret) = source.secret(ns, &r.name) else {
                        if optional {
                            continue;
                        }
                        return Err(Error::SecretNotFound {
                            name: r.name.clone(),
                        });
                    };
                    match secret.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                        None if optional => continue,
                        None => {
                            return Err(Error::SecretKeyNotFound {
                                key: r.key.clone(),
                                namespace: ns.into(),
                                name: r.name.clone(),
                            });
                        }
                    }
                } else {
                    return Err(Error::UnsupportedValueFrom {
                        name: var.name.clone(),
                    });
                }
            }
            (Some(v), None) => expand(v, &out.env),
            (None, None) => String::new(),
        };
        set(&mut out.env, &var.name, value);
    }
    Ok(out)
}

/// argv: `command` + `args` with `$(VAR)` expanded; without `command`, argv\[0\] is the
/// image's file name (the wasm module has no entrypoint metadata to take it from).
pub(super) fn argv(c: &Container, image: &ImageRef, env: &[(String, String)]) -> Vec<String> {
    let mut argv: Vec<String> = match &c.command {
        Some(cmd) if !cmd.is_empty() => cmd.iter().map(|a| expand(a, env)).collect(),
        _ => vec![
            image
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ],
    };
    argv.extend(c.args.iter().flatten().map(|a| expand(a, env)));
    argv
}

fn field_ref(pod: &Pod, path: &str) -> Option<String> {
    let m = &pod.metadata;
    let bracket = |prefix: &str| -> Option<&str> {
        path.strip_prefix(prefix)?
            .strip_prefix("['")?
            .strip_suffix("']")
    };
    if let Some(k) = bracket("metadata.labels") {
        return Some(m.labels.as_ref()?.get(k).cloned().unwrap_or_default());
    }
    if let Some(k) = bracket("metadata.annotations") {
        return Some(m.annotations.as_ref()?.get(k).cloned().unwrap_or_default());
    }
    let status = pod.status.as_ref();
    Some(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_default(),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "spec.nodeName" => pod.spec.as_ref()?.node_name.clone().unwrap_or_default(),
        "spec.serviceAccountName" => pod
            .spec
            .as_ref()?
            .service_account_name
            .clone()
            .unwrap_or_default(),
        "status.hostIP" | "status.podIP" => status
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_else(|| "127.0.0.1".into()),
        _ => return None,
    })
}

/// Kubernetes `$(VAR)` expansion: defined variables are replaced, `$$` escapes a `$`, and
/// unknown references are left as written.
pub(super) fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ConfigMaps and Secrets by name, all in the pod's namespace.
    #[derive(Default)]
    struct Objects {
        config_maps: Vec<ConfigMap>,
        secrets: Vec<Secret>,
    }

    impl ConfigSource for Objects {
        fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMap>> {
            assert_eq!(namespace, "team-a");
            let found = self
                .config_maps
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(name));
            found.cloned().map(Arc::new)
        }
        fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>> {
            assert_eq!(namespace, "team-a");
            let found = self
                .secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name));
            found.cloned().map(Arc::new)
        }
    }

    fn objects() -> Objects {
        Objects {
            config_maps: vec![
                serde_yaml_ng::from_str(
                    "metadata: {name: cfg}\ndata: {mode: fast, level: '3', 'bad=key': x}",
                )
                .unwrap(),
            ],
            secrets: vec![
                serde_yaml_ng::from_str("metadata: {name: creds}\ndata: {password: czNjcjN0}")
                    .unwrap(),
            ],
        }
    }

    fn container(yaml: &str) -> (Pod, Container) {
        let pod: Pod = serde_yaml_ng::from_str("metadata: {name: p, namespace: team-a}").unwrap();
        (pod, serde_yaml_ng::from_str(yaml).unwrap())
    }

    fn env_of(yaml: &str) -> Result<Resolved, Error> {
        let (pod, c) = container(yaml);
        resolve(&pod, &c, &objects())
    }

    #[test]
    fn env_from_comes_first_env_wins_and_refs_resolve() {
        let r = env_of(
            "name: main
envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}, {secretRef: {name: creds}}]
env:
- {name: CFG_level, value: override}
- {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}
- {name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}
- {name: BOTH, value: '$(MODE)-$(CFG_mode)'}
- {name: NONE, valueFrom: {configMapKeyRef: {name: gone, key: x, optional: true}}}
- {name: NOKEY, valueFrom: {secretKeyRef: {name: creds, key: x, optional: true}}}
",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = r
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("CFG_mode", "fast"),
                ("password", "s3cr3t"),
                ("CFG_level", "override"),
                ("MODE", "fast"),
                ("PW", "s3cr3t"),
                ("BOTH", "fast-fast"),
            ]
        );
        assert_eq!(
            r.skipped,
            [
                "Keys [CFG_bad=key] from the EnvFrom configMap team-a/cfg were skipped since they are considered invalid environment variable names."
            ]
        );
    }

    #[test]
    fn a_missing_object_or_key_is_a_config_error_unless_optional() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            ("env: [{name: A, valueFrom: {configMapKeyRef: {name: gone, key: x}}}]", "configmap \"gone\" not found"),
            ("env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: x}}}]", "couldn't find key x in ConfigMap team-a/cfg"),
            ("env: [{name: A, valueFrom: {secretKeyRef: {name: gone, key: x}}}]", "secret \"gone\" not found"),
            ("env: [{name: A, valueFrom: {secretKeyRef: {name: creds, key: x}}}]", "couldn't find key x in Secret team-a/creds"),
            ("envFrom: [{configMapRef: {name: gone}}]", "configmap \"gone\" not found"),
            ("envFrom: [{secretRef: {name: gone}}]", "secret \"gone\" not found"),
        ];
        for (yaml, message) in table {
            let e = env_of(&format!("name: main\n{yaml}")).unwrap_err();
            assert!(e.is_config(), "{yaml}");
            assert_eq!(e.to_string(), *message);
        }
        let optional = env_of("name: main\nenvFrom: [{configMapRef: {name: gone, optional: true}}, {secretRef: {name: gone, optional: true}}]").unwrap();
        assert_eq!(optional, Resolved::default());
        let unsupported = env_of(
            "name: main\nenv: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]",
        )
        .unwrap_err();
        assert!(!unsupported.is_config());
    }

    #[test]
    fn variables_expand_like_kubernetes() {
        let env = vec![("N".to_string(), "2000".to_string())];
        assert_eq!(expand("pi $(N)", &env), "pi 2000");
        assert_eq!(expand("$$(N)", &env), "$(N)");
        assert_eq!(expand("$(MISSING)", &env), "$(MISSING)");
        assert_eq!(expand("cost $5", &env), "cost $5");
    }

    #[test]
    fn argv0_is_the_image_file_name_without_a_command() {
        let image = ImageRef {
            path: "/m/pi.wasm".into(),
            digest: None,
        };
        let c = Container {
            name: "pi".into(),
            args: Some(vec!["10".into()]),
            ..Default::default()
        };
        assert_eq!(argv(&c, &image, &[]), ["pi.wasm", "10"]);
        let c = Container {
            command: Some(vec!["pi".into()]),
            ..c
        };
        assert_eq!(argv(&c, &image, &[]), ["pi", "10"]);
    }
}
