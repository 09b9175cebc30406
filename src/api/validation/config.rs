//! ConfigMaps and Secrets (`ValidateConfigMap`, `ValidateSecret` and their updates in
//! `pkg/apis/core/validation`): keys, the 1 MiB size bound, each Secret type's required
//! keys, and `immutable`. A Secret's values never appear in an error.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::field::*;
use super::meta::{validate_object_meta, validate_object_meta_update};
use super::names::{DNS1123_SUBDOMAIN_MAX, IMMUTABLE_MSG, max_len_error};

/// `core.MaxSecretSize`: the data of one ConfigMap or Secret together.
pub const MAX_SIZE: usize = 1024 * 1024;

const CONFIG_MAP_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key_name', regex used for validation is '[-._a-zA-Z0-9]+')";
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

/// `IsConfigMapKey`: the messages for a key of `data` (a file name in a volume, so not
/// `.`, `..` or anything starting with `..`).
pub fn config_map_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if key.is_empty() || !key.chars().all(ok) {
        errs.push(CONFIG_MAP_KEY_MSG.to_string());
    }
    if key == "." {
        errs.push("must not be '.'".into());
    } else if key == ".." {
        errs.push("must not be '..'".into());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

fn validate_keys<'a>(
    keys: impl Iterator<Item = &'a String>,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    for key in keys {
        for m in config_map_key_errors(key) {
            errs.push(FieldError::invalid(&path.key(key), key.as_str(), m));
        }
    }
}

/// `ValidateConfigMap`.
pub fn validate_configmap(cm: &ConfigMap) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_object_meta(&cm.metadata, &FieldPath::root("metadata"), &mut errs);
    let (data, binary) = (cm.data.as_ref(), cm.binary_data.as_ref());
    let data_path = FieldPath::root("data");
    for key in data.into_iter().flat_map(BTreeMap::keys) {
        validate_keys(std::iter::once(key), &data_path, &mut errs);
        if binary.is_some_and(|b| b.contains_key(key)) {
            errs.push(FieldError::invalid(
                &data_path.key(key),
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
    }
    validate_keys(
        binary.into_iter().flat_map(BTreeMap::keys),
        &FieldPath::root("binaryData"),
        &mut errs,
    );
    let size: usize = data
        .into_iter()
        .flatten()
        .map(|(_, v)| v.len())
        .sum::<usize>()
        + binary
            .into_iter()
            .flatten()
            .map(|(_, v)| v.0.len())
            .sum::<usize>();
    if size > MAX_SIZE {
        // The whole object: upstream's path is "".
        errs.push(FieldError::too_long(&FieldPath::root(""), MAX_SIZE));
    }
    errs
}

/// Once `immutable` is set it stays set, and the fields named `changed` may not change.
fn immutable_when_set(
    old: Option<bool>,
    new: Option<bool>,
    changed: &[(&str, bool)],
    errs: &mut Vec<FieldError>,
) {
    if old != Some(true) {
        return;
    }
    if new != Some(true) {
        errs.push(FieldError::forbidden(
            &FieldPath::root("immutable"),
            IMMUTABLE_WHEN_SET,
        ));
    }
    for (field, differs) in changed {
        if *differs {
            errs.push(FieldError::forbidden(
                &FieldPath::root(field),
                IMMUTABLE_WHEN_SET,
            ));
        }
    }
}

/// `ValidateConfigMapUpdate`.
pub fn validate_configmap_update(new: &ConfigMap, old: &ConfigMap) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_object_meta_update(&new.metadata, &old.metadata, &mut errs);
    immutable_when_set(
        old.immutable,
        new.immutable,
        &[
            ("data", new.data != old.data),
            ("binaryData", new.binary_data != old.binary_data),
        ],
        &mut errs,
    );
    errs.extend(validate_configmap(new));
    errs
}

/// A decoding error of a Secret without the values serde quotes in it (``invalid type:
/// integer `12345`, expected a string``): upstream's decoder names only types.
pub fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for ch in message.chars() {
        if ch == '`' {
            quoted = !quoted;
            if quoted {
                out.push_str("<redacted>");
            }
        } else if !quoted {
            out.push(ch);
        }
    }
    out
}

/// `ValidateSecret`: keys, size, and the keys each well-known type requires.
pub fn validate_secret(s: &Secret) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_object_meta(&s.metadata, &FieldPath::root("metadata"), &mut errs);
    let data_path = FieldPath::root("data");
    let empty = BTreeMap::new();
    let data: &BTreeMap<String, ByteString> = s.data.as_ref().unwrap_or(&empty);
    validate_keys(data.keys(), &data_path, &mut errs);
    if data.values().map(|v| v.0.len()).sum::<usize>() > MAX_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_SIZE));
    }
    let required = |key: &str, errs: &mut Vec<FieldError>| {
        errs.push(FieldError::required(&data_path.key(key), ""));
    };
    let json = |key: &str, errs: &mut Vec<FieldError>| match data.get(key) {
        None => required(key, errs),
        Some(v) => {
            if let Err(e) =
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&v.0)
            {
                errs.push(FieldError::invalid(
                    &data_path.key(key),
                    "<secret contents redacted>",
                    e.to_string(),
                ));
            }
        }
    };
    match s.type_.as_deref().unwrap_or("") {
        "kubernetes.io/service-account-token" => {
            let named = s
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some_and(|v| !v.is_empty());
            if !named {
                errs.push(FieldError::required(
                    &FieldPath::root("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => json(".dockercfg", &mut errs),
        "kubernetes.io/dockerconfigjson" => json(".dockerconfigjson", &mut errs),
        // Either may be empty, but one of them must be there.
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            required("username", &mut errs);
            required("password", &mut errs);
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            required("ssh-privatekey", &mut errs);
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    required(key, &mut errs);
                }
            }
        }
        _ => {}
    }
    errs
}

/// `ValidateSecretUpdate`: the type never changes; an immutable Secret keeps its data.
pub fn validate_secret_update(new: &Secret, old: &Secret) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_object_meta_update(&new.metadata, &old.metadata, &mut errs);
    let type_of = |s: &Secret| s.type_.clone().unwrap_or_default();
    if type_of(new) != type_of(old) {
        errs.push(FieldError::invalid(
            &FieldPath::root("type"),
            type_of(new),
            IMMUTABLE_MSG,
        ));
    }
    // stringData was folded into data before validation, as upstream's.
    immutable_when_set(
        old.immutable,
        new.immutable,
        &[("data", new.data != old.data)],
        &mut errs,
    );
    errs.extend(validate_secret(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(yaml: &str) -> ConfigMap {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn secret(yaml: &str) -> Secret {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn rendered(errs: &[FieldError]) -> Vec<String> {
        errs.iter()
            .map(|e| format!("{}: {}", e.field, e.body()))
            .collect()
    }

    #[test]
    fn config_keys_follow_is_config_map_key() {
        #[rustfmt::skip]
        let table: &[(&str, &[&str])] = &[
            ("a.b_C-1", &[]),
            (".hidden", &[]),
            ("a/b", &[CONFIG_MAP_KEY_MSG]),
            ("", &[CONFIG_MAP_KEY_MSG]),
            (".", &["must not be '.'"]),
            ("..", &["must not be '..'"]),
            ("..data", &["must not start with '..'"]),
        ];
        for (key, expected) in table {
            assert_eq!(config_map_key_errors(key), *expected, "{key:?}");
        }
        assert_eq!(
            config_map_key_errors(&"k".repeat(254)),
            ["must be no more than 253 characters"]
        );
    }

    #[test]
    fn a_config_map_is_checked_for_keys_duplicates_and_size() {
        assert!(validate_configmap(&cm("metadata: {name: cfg}\ndata: {a: '1'}")).is_empty());
        let errs = validate_configmap(&cm(
            "metadata: {name: cfg}\ndata: {a: '1', 'b/c': '2'}\nbinaryData: {a: MQ==}",
        ));
        assert_eq!(
            rendered(&errs),
            [
                "data[a]: Invalid value: \"a\": duplicate of key present in binaryData".into(),
                format!("data[b/c]: Invalid value: \"b/c\": {CONFIG_MAP_KEY_MSG}"),
            ]
        );
        let mut big = cm("metadata: {name: cfg}");
        big.data = Some([("a".to_string(), "x".repeat(MAX_SIZE + 1))].into());
        assert_eq!(
            rendered(&validate_configmap(&big)),
            [": Too long: may not be more than 1048576 bytes"]
        );
        let unnamed = validate_configmap(&cm("data: {a: '1'}"));
        assert_eq!(unnamed[0].field, "metadata.name");
    }

    #[test]
    fn an_immutable_config_map_keeps_its_data_and_stays_immutable() {
        let old = cm("metadata: {name: cfg}\nimmutable: true\ndata: {a: '1'}");
        let relabelled =
            cm("metadata: {name: cfg, labels: {x: y}}\nimmutable: true\ndata: {a: '1'}");
        assert!(validate_configmap_update(&relabelled, &old).is_empty());
        let changed = cm("metadata: {name: cfg}\ndata: {a: '2'}");
        assert_eq!(
            rendered(&validate_configmap_update(&changed, &old)),
            [
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let mutable = cm("metadata: {name: cfg}\ndata: {a: '1'}");
        assert!(validate_configmap_update(&changed, &mutable).is_empty());
    }

    #[test]
    fn each_secret_type_requires_its_keys_and_never_prints_values() {
        #[rustfmt::skip]
        let table: &[(&str, &[&str])] = &[
            ("type: Opaque\ndata: {a: MQ==}", &[]),
            ("data: {a: MQ==}", &[]),
            ("type: kubernetes.io/tls\ndata: {tls.crt: MQ==}", &["data[tls.key]: Required value"]),
            ("type: kubernetes.io/basic-auth\ndata: {}", &["data[username]: Required value", "data[password]: Required value"]),
            ("type: kubernetes.io/basic-auth\ndata: {password: MQ==}", &[]),
            ("type: kubernetes.io/ssh-auth\ndata: {ssh-privatekey: ''}", &["data[ssh-privatekey]: Required value"]),
            ("type: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: e30=}", &[]),
            ("type: kubernetes.io/service-account-token", &["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
            ("type: example.com/custom", &[]),
        ];
        for (body, expected) in table {
            let s = secret(&format!("metadata: {{name: s}}\n{body}"));
            assert_eq!(rendered(&validate_secret(&s)), *expected, "{body}");
        }
        // "not json" in base64: the value is redacted.
        let bad = secret(
            "metadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: bm90IGpzb24=}",
        );
        let errs = rendered(&validate_secret(&bad));
        assert!(
            errs[0].starts_with(
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": "
            ),
            "{errs:?}"
        );
        assert!(!errs[0].contains("not json"), "{errs:?}");
    }

    #[test]
    fn a_decoding_error_keeps_no_value() {
        let e = serde_json::from_str::<Secret>(r#"{"stringData": {"pin": 12345}}"#).unwrap_err();
        let m = redact_values(&e.to_string());
        assert!(!m.contains("12345"), "{m}");
        assert!(
            m.starts_with("invalid type: integer <redacted>, expected a string"),
            "{m}"
        );
    }

    #[test]
    fn a_secrets_type_is_immutable_and_an_immutable_secret_keeps_its_data() {
        let old = secret("metadata: {name: s}\ntype: Opaque\nimmutable: true\ndata: {a: MQ==}");
        let new = secret(
            "metadata: {name: s}\ntype: kubernetes.io/tls\ndata: {tls.crt: MQ==, tls.key: MQ==}",
        );
        assert_eq!(
            rendered(&validate_secret_update(&new, &old)),
            [
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }
}
