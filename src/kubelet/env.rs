//! A container's environment and argv, as the kubelet computes them: `env` values and
//! `valueFrom.fieldRef`, `$(VAR)` expansion, and `command` + `args`.

use k8s_openapi::api::core::v1::{Container, Pod};

use super::Error;
use crate::runtime::ImageRef;

/// The container's environment, in order, with `fieldRef`s resolved and `$(VAR)`
/// references to earlier variables expanded.
pub(super) fn resolve(pod: &Pod, c: &Container) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    for var in c.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    field_ref(pod, &f.field_path).ok_or_else(|| Error::UnsupportedFieldPath {
                        name: var.name.clone(),
                        path: f.field_path.clone(),
                    })?
                } else {
                    return Err(Error::UnsupportedValueFrom {
                        name: var.name.clone(),
                    });
                }
            }
            (Some(v), None) => expand(v, &out),
            (None, None) => String::new(),
        };
        out.retain(|(k, _)| *k != var.name);
        out.push((var.name.clone(), value));
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
