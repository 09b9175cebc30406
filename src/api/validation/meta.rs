//! `ObjectMeta` (names, generateName, labels, annotations) and label selectors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::field::*;
use super::names::*;

/// `ValidateLabels`: keys are qualified names, values label values; errors name the map itself.
pub(super) fn validate_labels(
    labels: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    for (k, v) in labels.into_iter().flatten() {
        validate_qualified_name(k, path, errs);
        for m in label_value_errors(v) {
            errs.push(FieldError::invalid(path, v.as_str(), m));
        }
    }
}

/// `TotalAnnotationSizeLimitB`: keys and values of one object's annotations together.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `ValidateAnnotations`: keys are qualified names (case does not matter), and all keys and
/// values together fit [`TOTAL_ANNOTATION_SIZE_LIMIT`]; errors name the map itself.
pub(super) fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let Some(annotations) = annotations else {
        return;
    };
    for k in annotations.keys() {
        for m in qualified_name_errors(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k.as_str(), m));
        }
    }
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

pub(super) fn validate_non_negative(value: i64, path: &FieldPath, errs: &mut Vec<FieldError>) {
    if value < 0 {
        errs.push(FieldError::invalid(path, value, NON_NEGATIVE_MSG));
    }
}

/// `ValidateObjectMeta` for a namespaced object whose name must be a DNS-1123 subdomain. The
/// namespace comes from the request path, so a missing one is not reported.
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath, errs: &mut Vec<FieldError>) {
    validate_meta_with(meta, path, dns1123_subdomain_errors, errs);
    if let Some(ns) = meta.namespace.as_deref() {
        if ns.is_empty() {
            errs.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            validate_dns_label(ns, &path.child("namespace"), errs);
        }
    }
}

/// The identity checks of `ValidateObjectMetaUpdate`: name, namespace and uid stay as
/// they were.
pub(super) fn validate_object_meta_update(
    new: &ObjectMeta,
    old: &ObjectMeta,
    errs: &mut Vec<FieldError>,
) {
    let meta = FieldPath::root("metadata");
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    for (field, new, old) in [
        ("name", &new.name, &old.name),
        ("namespace", &new.namespace, &old.namespace),
        ("uid", &new.uid, &old.uid),
    ] {
        if s(new) != s(old) {
            errs.push(FieldError::invalid(
                &meta.child(field),
                s(new),
                IMMUTABLE_MSG,
            ));
        }
    }
}

/// `ValidateNamespace` on create: `ValidateObjectMeta` of a cluster-scoped object whose
/// name must be a DNS-1123 label (`ValidateNamespaceName`).
pub fn validate_namespace_meta(meta: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_meta_with(
        meta,
        &FieldPath::root("metadata"),
        dns1123_label_errors,
        &mut errs,
    );
    errs
}

/// The name, generateName, labels and annotations of `ValidateObjectMeta`, with the kind's
/// name rule.
pub(super) fn validate_meta_with(
    meta: &ObjectMeta,
    path: &FieldPath,
    name_errors: fn(&str) -> Vec<String>,
    errs: &mut Vec<FieldError>,
) {
    let name = meta.name.as_deref().unwrap_or("");
    if let Some(gn) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        // Prefix names may end in '-'; the check masks that dash.
        let masked = match gn.strip_suffix('-') {
            Some(rest) if !rest.is_empty() => format!("{rest}a"),
            _ => gn.to_string(),
        };
        for m in name_errors(&masked) {
            errs.push(FieldError::invalid(&path.child("generateName"), gn, m));
        }
    }
    let has_generate_name = meta.generate_name.as_deref().is_some_and(|g| !g.is_empty());
    if name.is_empty() && has_generate_name {
        // The API server generates the name from generateName before validating.
    } else if name.is_empty() {
        errs.push(FieldError::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        for m in name_errors(name) {
            errs.push(FieldError::invalid(&path.child("name"), name, m));
        }
    }
    validate_labels(meta.labels.as_ref(), &path.child("labels"), errs);
    validate_annotations(meta.annotations.as_ref(), &path.child("annotations"), errs);
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/// `ValidateLabelSelector`.
pub(super) fn validate_label_selector(
    sel: &LabelSelector,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    validate_labels(sel.match_labels.as_ref(), &path.child("matchLabels"), errs);
    for (i, expr) in sel.match_expressions.iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let nvalues = expr.values.as_ref().map_or(0, Vec::len);
        match expr.operator.as_str() {
            "In" | "NotIn" => {
                if nvalues == 0 {
                    errs.push(FieldError::required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if nvalues > 0 {
                    errs.push(FieldError::forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        validate_qualified_name(&expr.key, &p.child("key"), errs);
        for (j, v) in expr.values.iter().flatten().enumerate() {
            for m in label_value_errors(v) {
                errs.push(FieldError::invalid(
                    &p.child("values").index(j),
                    v.as_str(),
                    m,
                ));
            }
        }
    }
}

/// `LabelSelectorAsSelector(sel).Matches(labels)`: `None` when the selector cannot be converted
/// (a nil selector matches nothing, an empty one everything).
pub(super) fn selector_matches(
    sel: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> Option<bool> {
    let Some(sel) = sel else {
        return Some(false);
    };
    let mut ok = true;
    for (k, v) in sel.match_labels.iter().flatten() {
        if !qualified_name_errors(k).is_empty() || !label_value_errors(v).is_empty() {
            return None;
        }
        ok &= labels.get(k) == Some(v);
    }
    for expr in sel.match_expressions.iter().flatten() {
        let values: &[String] = expr.values.as_deref().unwrap_or(&[]);
        let have = labels.get(&expr.key);
        let m = match expr.operator.as_str() {
            "In" if !values.is_empty() => have.is_some_and(|h| values.contains(h)),
            "NotIn" if !values.is_empty() => !have.is_some_and(|h| values.contains(h)),
            "Exists" if values.is_empty() => have.is_some(),
            "DoesNotExist" if values.is_empty() => have.is_none(),
            _ => return None,
        };
        ok &= m;
    }
    Some(ok)
}
