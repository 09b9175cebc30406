//! Create/update validation of batch/v1 Jobs with kube-apiserver's exact field-error messages.
//!
//! This file ports `pkg/apis/batch/validation/validation.go` and the parts of
//! `pkg/apis/core/validation` and `apimachinery/pkg/util/validation` that a wasm Job can reach.
//! The formatting of the errors follows `apimachinery/pkg/util/validation/field/errors.go`
//! (`Error.Error()` / `ErrorBody()`), `api/errors.NewInvalid` and kubectl's `checkErr`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::quantity::Quantity;

// ---------------------------------------------------------------------------------------------
// Field errors
// ---------------------------------------------------------------------------------------------

/// The kind of a field error (apimachinery `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `FieldValueInvalid`: a malformed value.
    Invalid,
    /// `FieldValueRequired`: a value that must be given is missing.
    Required,
    /// `FieldValueNotSupported`: a value outside an enumeration.
    NotSupported,
    /// `FieldValueDuplicate`: a value that must be unique is repeated.
    Duplicate,
    /// `FieldValueTooMany`: a list with too many items.
    TooMany,
    /// `FieldValueTooLong`: a value that is too long (the value is never printed).
    TooLong,
    /// `FieldValueForbidden`: a valid value not allowed in this context.
    Forbidden,
    /// `InternalError`: not the user's fault.
    Internal,
    /// `FieldValueNotFound`: a reference to something that does not exist.
    NotFound,
}

impl ErrorType {
    /// The machine-readable cause type put into `Status.details.causes[].type`.
    pub fn cause_type(&self) -> &'static str {
        match self {
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::Internal => "InternalError",
            ErrorType::NotFound => "FieldValueNotFound",
        }
    }

    /// Whether `ErrorBody()` never prints the bad value for this type.
    fn omits_value(&self) -> bool {
        matches!(
            self,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        )
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorType::Invalid => "Invalid value",
            ErrorType::Required => "Required value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::TooMany => "Too many",
            ErrorType::TooLong => "Too long",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::Internal => "Internal error",
            ErrorType::NotFound => "Not found",
        })
    }
}

/// A path to a field, rendered like apimachinery's `field.Path` (`a.b[0].c[key]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path with a single top-level element, such as `spec`.
    pub fn root(name: &str) -> Self {
        FieldPath(name.to_string())
    }

    /// The path of the child field `name`.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            FieldPath(name.to_string())
        } else {
            FieldPath(format!("{}.{}", self.0, name))
        }
    }

    /// The path of the list element at index `i`.
    pub fn index(&self, i: usize) -> Self {
        FieldPath(format!("{}[{}]", self.0, i))
    }

    /// The path of the map entry with key `k`.
    pub fn key(&self, k: &str) -> Self {
        FieldPath(format!("{}[{}]", self.0, k))
    }

    /// The rendered path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One field-level validation error (apimachinery `field.Error`).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// What went wrong.
    pub kind: ErrorType,
    /// The rendered field path, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The offending value; `None` when it is omitted from the message.
    pub value: Option<Value>,
    /// Free-form detail appended after the value.
    pub detail: String,
}

impl FieldError {
    fn new(kind: ErrorType, path: &FieldPath, value: Option<Value>, detail: String) -> Self {
        FieldError {
            kind,
            field: path.0.clone(),
            value,
            detail,
        }
    }

    /// `field.Invalid`: the value is malformed.
    pub fn invalid(path: &FieldPath, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, path, Some(value.into()), detail.into())
    }

    /// `field.Invalid` with `field.OmitValueType{}`: the value is not printed.
    pub fn invalid_omit_value(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, path, None, detail.into())
    }

    /// `field.Required`: a value must be given.
    pub fn required(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Required, path, None, detail.into())
    }

    /// `field.NotSupported`: the value is not one of `valid` (listed quoted, in the given order).
    pub fn not_supported(path: &FieldPath, value: impl Into<Value>, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| crate::go::quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, path, Some(value.into()), detail)
    }

    /// `field.Duplicate`: the value repeats an earlier one.
    pub fn duplicate(path: &FieldPath, value: impl Into<Value>) -> Self {
        Self::new(
            ErrorType::Duplicate,
            path,
            Some(value.into()),
            String::new(),
        )
    }

    /// `field.Forbidden`: the field may not be set here.
    pub fn forbidden(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Forbidden, path, None, detail.into())
    }

    /// `field.TooMany`: a list holds `actual` items, more than `max`.
    pub fn too_many(path: &FieldPath, actual: usize, max: usize) -> Self {
        let unit = if max == 1 { "item" } else { "items" };
        Self::new(
            ErrorType::TooMany,
            path,
            Some(Value::from(actual)),
            format!("must have at most {max} {unit}"),
        )
    }

    /// `field.TooLong`: the value is longer than `max` bytes (the value is not printed).
    pub fn too_long(path: &FieldPath, max: usize) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        Self::new(
            ErrorType::TooLong,
            path,
            None,
            format!("may not be more than {max} {unit}"),
        )
    }

    /// `field.NotFound`: the referenced value does not exist.
    pub fn not_found(path: &FieldPath, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::NotFound, path, Some(value.into()), String::new())
    }

    /// `field.InternalError`: something went wrong that is not the user's fault.
    pub fn internal(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, path, None, detail.into())
    }

    /// The message without the field name (apimachinery `ErrorBody()`); this is what goes into
    /// `Status.details.causes[].message`.
    pub fn body(&self) -> String {
        let mut s = self.kind.to_string();
        if !self.kind.omits_value()
            && let Some(v) = &self.value
        {
            s.push_str(": ");
            s.push_str(&render_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Renders a bad value as `ErrorBody()` does: strings `%q`, numbers and booleans bare, anything
/// else as compact JSON (Go's encoder escapes `<`, `>` and `&`).
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => crate::go::quote(s),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            let json = serde_json::to_string(other).unwrap_or_default();
            json.replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
        }
    }
}

/// Error messages with duplicates removed, first occurrence kept (`ToAggregate` semantics).
fn distinct_messages<'a>(items: impl Iterator<Item = String> + 'a) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for m in items {
        if seen.insert(m.clone()) {
            out.push(m);
        }
    }
    out
}

/// The `Status.message` of an `Invalid` error, as `errors.NewInvalid` builds it:
/// `Job.batch "pi" is invalid: <err>` or, for several distinct errors, `... is invalid: [<e1>, <e2>]`.
pub fn invalid_message(qualified_kind: &str, name: &str, errors: &[FieldError]) -> String {
    let msgs = distinct_messages(errors.iter().map(|e| e.to_string()));
    let head = format!("{} {} is invalid", qualified_kind, crate::go::quote(name));
    match msgs.len() {
        0 => head,
        1 => format!("{head}: {}", msgs[0]),
        _ => format!("{head}: [{}]", msgs.join(", ")),
    }
}

/// The full `Status` object (HTTP 422, reason `Invalid`) the API server returns for `errors`.
/// `qualified_kind` is `Kind.group` (e.g. `Job.batch`).
pub fn invalid_status(qualified_kind: &str, name: &str, errors: &[FieldError]) -> Value {
    let (kind, group) = qualified_kind
        .split_once('.')
        .unwrap_or((qualified_kind, ""));
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| {
            serde_json::json!({
                "reason": e.kind.cause_type(),
                "message": e.body(),
                "field": e.field,
            })
        })
        .collect();
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": invalid_message(qualified_kind, name, errors),
        "reason": "Invalid",
        "details": {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": causes,
        },
        "code": 422,
    })
}

/// What kubectl prints (without the final newline) for an `Invalid` status with these causes
/// (`cmd/util/helpers.go` `checkErr` + `MultilineError`): one cause gives
/// `The Job "pi" is invalid: <field>: <body>`, several give
/// `The Job "pi" is invalid: ` followed by one `\n* <field>: <body>` line per distinct cause.
pub fn kubectl_message(kind: &str, name: &str, errors: &[FieldError]) -> String {
    let head = if kind.is_empty() && name.is_empty() {
        "The request is invalid".to_string()
    } else {
        format!("The {} {} is invalid", kind, crate::go::quote(name))
    };
    let msgs = distinct_messages(errors.iter().map(|e| format!("{}: {}", e.field, e.body())));
    match msgs.len() {
        0 => head,
        1 => format!("{head}: {}", msgs[0]),
        _ => {
            let mut s = format!("{head}: ");
            for m in &msgs {
                s.push_str("\n* ");
                s.push_str(m);
            }
            s
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Name and label syntax (apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------------------------

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-_.A-Za-z0-9]*)?[A-Za-z0-9])?')";
const ENV_VAR_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";
const NON_NEGATIVE_MSG: &str = "must be greater than or equal to 0";
const IMMUTABLE_MSG: &str = "field is immutable";

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn matches_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let an = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty() && an(&b[0]) && an(&b[b.len() - 1]) && b.iter().all(|c| an(c) || *c == b'-')
}

/// Messages of `IsDNS1123Label`.
fn dns1123_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_error(DNS1123_LABEL_MAX));
    }
    if !matches_dns_label(s) {
        errs.push(DNS1123_LABEL_MSG.to_string());
    }
    errs
}

/// Messages of `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !s.split('.').all(matches_dns_label) {
        errs.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    errs
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn matches_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Messages of `IsQualifiedName`.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.len() {
        1 => parts[0],
        2 => {
            let prefix = parts[0];
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in dns1123_subdomain_errors(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            parts[1]
        }
        _ => {
            errs.push(format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !matches_qualified_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    errs
}

/// Messages of `IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errs.push(max_len_error(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !matches_qualified_part(value) {
        errs.push(LABEL_VALUE_MSG.to_string());
    }
    errs
}

fn validate_dns_label(value: &str, path: &FieldPath, errs: &mut Vec<FieldError>) {
    for m in dns1123_label_errors(value) {
        errs.push(FieldError::invalid(path, value, m));
    }
}

fn validate_qualified_name(value: &str, path: &FieldPath, errs: &mut Vec<FieldError>) {
    for m in qualified_name_errors(value) {
        errs.push(FieldError::invalid(path, value, m));
    }
}

/// `ValidateLabels`: keys are qualified names, values label values; errors name the map itself.
fn validate_labels(
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
fn validate_annotations(
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

fn validate_non_negative(value: i64, path: &FieldPath, errs: &mut Vec<FieldError>) {
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
fn validate_meta_with(
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
fn validate_label_selector(sel: &LabelSelector, path: &FieldPath, errs: &mut Vec<FieldError>) {
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
fn selector_matches(
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

// ---------------------------------------------------------------------------------------------
// Pod template
// ---------------------------------------------------------------------------------------------

/// Resource names a container may use without a domain prefix.
fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

fn validate_resources(c: &Container, path: &FieldPath, errs: &mut Vec<FieldError>) {
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
fn validate_local_descending_path(path: &str, at: &FieldPath, errs: &mut Vec<FieldError>) {
    if path.starts_with('/') {
        errs.push(FieldError::invalid(at, path, "must be a relative path"));
    }
    validate_path_no_backsteps(path, at, errs);
}

/// `validatePathNoBacksteps`: one error however many `..` elements there are.
fn validate_path_no_backsteps(path: &str, at: &FieldPath, errs: &mut Vec<FieldError>) {
    if path.split('/').any(|item| item == "..") {
        errs.push(FieldError::invalid(at, path, "must not contain '..'"));
    }
}

/// `validateContainerCommon` for the fields a wasm container uses.
fn validate_container(
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
    }
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
fn validate_pod_template(t: &PodTemplateSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
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

// ---------------------------------------------------------------------------------------------
// Job
// ---------------------------------------------------------------------------------------------

const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
const MAX_FAILED_INDEXES_FOR_INDEXED_JOB: i32 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
const MAX_ON_EXIT_CODES_VALUES: usize = 255;
const MAX_ON_POD_CONDITIONS_PATTERNS: usize = 20;
const MAX_MANAGED_BY_LENGTH: usize = 63;
const MAX_SUCCEEDED_INDEXES_LENGTH: usize = 64 * 1024;
const MAX_SUCCESS_POLICY_RULES: usize = 20;

const POD_FAILURE_POLICY_ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
const ON_EXIT_CODES_OPERATORS: [&str; 2] = ["In", "NotIn"];
const CONDITION_STATUSES: [&str; 3] = ["False", "True", "Unknown"];

/// The label keys the API server puts on a Job's pod template.
const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn template_labels(spec: &JobSpec) -> Option<&BTreeMap<String, String>> {
    spec.template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
}

/// `ValidateHasLabel`.
fn validate_has_label(
    labels: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    key: &str,
    expected: &str,
    errs: &mut Vec<FieldError>,
) {
    let p = path.child("labels").key(key);
    match labels.and_then(|l| l.get(key)) {
        None => errs.push(FieldError::required(&p, format!("must be '{expected}'"))),
        Some(v) if v != expected => errs.push(FieldError::invalid(
            &p,
            to_json(&labels),
            format!("must be '{expected}'"),
        )),
        Some(_) => {}
    }
}

/// `validateGeneratedSelector`. Skipped when the job has no uid yet (nothing was generated).
fn validate_generated_selector(job: &Job, require_prefixed: bool, errs: &mut Vec<FieldError>) {
    let Some(spec) = &job.spec else { return };
    if spec.manual_selector == Some(true) || spec.selector.is_none() {
        return;
    }
    let Some(uid) = job.metadata.uid.as_deref() else {
        return;
    };
    let name = job.metadata.name.as_deref().unwrap_or("");
    if uid.is_empty() {
        errs.push(FieldError::required(
            &FieldPath::root("metadata").child("uid"),
            "",
        ));
    }
    let labels = template_labels(spec);
    let tpath = FieldPath::root("spec").child("template").child("metadata");
    validate_has_label(labels, &tpath, LEGACY_CONTROLLER_UID_LABEL, uid, errs);
    validate_has_label(labels, &tpath, LEGACY_JOB_NAME_LABEL, name, errs);
    let mut expected = BTreeMap::new();
    if require_prefixed {
        validate_has_label(labels, &tpath, CONTROLLER_UID_LABEL, uid, errs);
        validate_has_label(labels, &tpath, JOB_NAME_LABEL, name, errs);
        expected.insert(CONTROLLER_UID_LABEL.to_string(), uid.to_string());
        expected.insert(JOB_NAME_LABEL.to_string(), name.to_string());
    }
    expected.insert(LEGACY_CONTROLLER_UID_LABEL.to_string(), uid.to_string());
    expected.insert(LEGACY_JOB_NAME_LABEL.to_string(), name.to_string());
    if selector_matches(spec.selector.as_ref(), &expected) == Some(false) {
        errs.push(FieldError::invalid(
            &FieldPath::root("spec").child("selector"),
            to_json(&spec.selector),
            "`selector` not auto-generated",
        ));
    }
}

/// `validatePodFailurePolicy`.
fn validate_pod_failure_policy(spec: &JobSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let Some(pfp) = &spec.pod_failure_policy else {
        return;
    };
    let rules_path = path.child("rules");
    if pfp.rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errs.push(FieldError::too_many(
            &rules_path,
            pfp.rules.len(),
            MAX_POD_FAILURE_POLICY_RULES,
        ));
    }
    let tspec = spec.template.spec.as_ref();
    let container_names: BTreeSet<&str> = tspec
        .map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .map(|c| c.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    for (i, rule) in pfp.rules.iter().enumerate() {
        let rule_path = rules_path.index(i);
        let action_path = rule_path.child("action");
        if rule.action.is_empty() {
            errs.push(FieldError::required(
                &action_path,
                format!(
                    "valid values: {}",
                    crate::go::quote_list(&POD_FAILURE_POLICY_ACTIONS)
                ),
            ));
        } else if rule.action == "FailIndex" {
            if spec.backoff_limit_per_index.is_none() {
                errs.push(FieldError::invalid(
                    &action_path,
                    rule.action.as_str(),
                    "requires the backoffLimitPerIndex to be set",
                ));
            }
        } else if !POD_FAILURE_POLICY_ACTIONS.contains(&rule.action.as_str()) {
            errs.push(FieldError::not_supported(
                &action_path,
                rule.action.as_str(),
                &POD_FAILURE_POLICY_ACTIONS,
            ));
        }
        if let Some(oec) = &rule.on_exit_codes {
            let p = rule_path.child("onExitCodes");
            let op_path = p.child("operator");
            if oec.operator.is_empty() {
                errs.push(FieldError::required(
                    &op_path,
                    format!(
                        "valid values: {}",
                        crate::go::quote_list(&ON_EXIT_CODES_OPERATORS)
                    ),
                ));
            } else if !ON_EXIT_CODES_OPERATORS.contains(&oec.operator.as_str()) {
                errs.push(FieldError::not_supported(
                    &op_path,
                    oec.operator.as_str(),
                    &ON_EXIT_CODES_OPERATORS,
                ));
            }
            if let Some(cn) = &oec.container_name
                && !container_names.contains(cn.as_str())
            {
                errs.push(FieldError::invalid(
                    &p.child("containerName"),
                    cn.as_str(),
                    "must be one of the container or initContainer names in the pod template",
                ));
            }
            let values_path = p.child("values");
            if oec.values.is_empty() {
                errs.push(FieldError::invalid(
                    &values_path,
                    to_json(&oec.values),
                    "at least one value is required",
                ));
            } else if oec.values.len() > MAX_ON_EXIT_CODES_VALUES {
                errs.push(FieldError::too_many(
                    &values_path,
                    oec.values.len(),
                    MAX_ON_EXIT_CODES_VALUES,
                ));
            }
            let mut ordered = true;
            let mut seen = BTreeSet::new();
            for (j, v) in oec.values.iter().enumerate() {
                let vp = values_path.index(j);
                if oec.operator == "In" && *v == 0 {
                    errs.push(FieldError::invalid(
                        &vp,
                        *v,
                        "must not be 0 for the In operator",
                    ));
                }
                if !seen.insert(*v) {
                    errs.push(FieldError::duplicate(&vp, *v));
                }
                if j > 0 && oec.values[j - 1] > *v {
                    ordered = false;
                }
            }
            if !ordered {
                errs.push(FieldError::invalid(
                    &values_path,
                    to_json(&oec.values),
                    "must be ordered",
                ));
            }
        }
        let conds = rule.on_pod_conditions.as_deref().unwrap_or(&[]);
        if !conds.is_empty() {
            let p = rule_path.child("onPodConditions");
            if conds.len() > MAX_ON_POD_CONDITIONS_PATTERNS {
                errs.push(FieldError::too_many(
                    &p,
                    conds.len(),
                    MAX_ON_POD_CONDITIONS_PATTERNS,
                ));
            }
            for (j, pat) in conds.iter().enumerate() {
                let pp = p.index(j);
                validate_qualified_name(&pat.type_, &pp.child("type"), errs);
                // A missing status defaults to "True".
                match pat.status.as_deref() {
                    None => {}
                    Some("") => errs.push(FieldError::required(
                        &pp.child("status"),
                        format!(
                            "valid values: {}",
                            crate::go::quote_list(&CONDITION_STATUSES)
                        ),
                    )),
                    Some(s) if !CONDITION_STATUSES.contains(&s) => errs.push(
                        FieldError::not_supported(&pp.child("status"), s, &CONDITION_STATUSES),
                    ),
                    Some(_) => {}
                }
            }
        }
        if rule.on_exit_codes.is_some() && !conds.is_empty() {
            errs.push(FieldError::invalid_omit_value(
                &rule_path,
                "specifying both OnExitCodes and OnPodConditions is not supported",
            ));
        }
        if rule.on_exit_codes.is_none() && conds.is_empty() {
            errs.push(FieldError::invalid_omit_value(
                &rule_path,
                "specifying one of OnExitCodes and OnPodConditions is required",
            ));
        }
    }
}

/// `validateSuccessPolicy` (the caller has checked the job is Indexed).
fn validate_success_policy(spec: &JobSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let Some(sp) = &spec.success_policy else {
        return;
    };
    let rules_path = path.child("rules");
    if sp.rules.is_empty() {
        errs.push(FieldError::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if sp.rules.len() > MAX_SUCCESS_POLICY_RULES {
        errs.push(FieldError::too_many(
            &rules_path,
            sp.rules.len(),
            MAX_SUCCESS_POLICY_RULES,
        ));
    }
    // Indexed jobs without completions are rejected elsewhere; upstream would dereference nil.
    let Some(completions) = spec.completions else {
        return;
    };
    for (i, rule) in sp.rules.iter().enumerate() {
        let rule_path = rules_path.index(i);
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.push(FieldError::required(
                &rule_path,
                "at least one of succeededCount or succeededIndexes must be specified",
            ));
        }
        let mut total: i64 = 0;
        if let Some(idx) = &rule.succeeded_indexes {
            let p = rule_path.child("succeededIndexes");
            if idx.len() > MAX_SUCCEEDED_INDEXES_LENGTH {
                errs.push(FieldError::too_long(&p, MAX_SUCCEEDED_INDEXES_LENGTH));
            }
            match parse_indexes(idx, completions) {
                Ok(intervals) => {
                    total = intervals
                        .iter()
                        .map(|(x, y)| i64::from(*y) - i64::from(*x) + 1)
                        .sum();
                }
                Err(e) => errs.push(FieldError::invalid(
                    &p,
                    idx.as_str(),
                    format!("error parsing succeededIndexes: {e}"),
                )),
            }
        }
        if let Some(count) = rule.succeeded_count {
            let p = rule_path.child("succeededCount");
            validate_non_negative(count.into(), &p, errs);
            if count > completions {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!(
                        "must be less than or equal to {completions} (the number of specified completions)"
                    ),
                ));
            }
            if rule.succeeded_indexes.is_some() && i64::from(count) > total {
                errs.push(FieldError::invalid(
                    &p,
                    count,
                    format!(
                        "must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"
                    ),
                ));
            }
        }
    }
}

/// `IsDomainPrefixedPath`.
fn validate_domain_prefixed_path(value: &str, path: &FieldPath, errs: &mut Vec<FieldError>) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let Some((host, rest)) = value
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty())
    else {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        ));
        return;
    };
    for m in dns1123_subdomain_errors(host) {
        errs.push(FieldError::invalid(path, host, m));
    }
    let path_ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c));
    if !path_ok {
        errs.push(FieldError::invalid(
            path,
            rest,
            "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
        ));
    }
}

/// `validateJobSpec` of a Job template (a CronJob's `jobTemplate.spec`), under `path`.
pub fn validate_job_template_spec(spec: &JobSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_job_spec_fields(spec, path, &mut errs);
    errs
}

/// The private `validateJobSpec`: everything about the spec except the selector.
fn validate_job_spec_fields(spec: &JobSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
    if let Some(v) = spec.parallelism {
        validate_non_negative(v.into(), &path.child("parallelism"), errs);
    }
    if let Some(v) = spec.completions {
        validate_non_negative(v.into(), &path.child("completions"), errs);
    }
    if let Some(v) = spec.active_deadline_seconds {
        validate_non_negative(v, &path.child("activeDeadlineSeconds"), errs);
    }
    if let Some(v) = spec.backoff_limit {
        validate_non_negative(v.into(), &path.child("backoffLimit"), errs);
    }
    if let Some(v) = spec.ttl_seconds_after_finished {
        validate_non_negative(v.into(), &path.child("ttlSecondsAfterFinished"), errs);
    }
    if let Some(v) = spec.backoff_limit_per_index {
        validate_non_negative(v.into(), &path.child("backoffLimitPerIndex"), errs);
    }
    if let Some(v) = spec.max_failed_indexes {
        validate_non_negative(v.into(), &path.child("maxFailedIndexes"), errs);
        if spec.backoff_limit_per_index.is_none() {
            errs.push(FieldError::required(
                &path.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
    if let Some(mb) = &spec.managed_by {
        let p = path.child("managedBy");
        validate_domain_prefixed_path(mb, &p, errs);
        if mb.len() > MAX_MANAGED_BY_LENGTH {
            errs.push(FieldError::too_long(&p, MAX_MANAGED_BY_LENGTH));
        }
    }
    let mode = spec.completion_mode.as_deref();
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            errs.push(FieldError::not_supported(
                &path.child("completionMode"),
                m,
                &["NonIndexed", "Indexed"],
            ));
        }
        if m == "Indexed" {
            if spec.completions.is_none() {
                errs.push(FieldError::required(
                    &path.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(p) = spec.parallelism
                && p > MAX_PARALLELISM_FOR_INDEXED_JOB
            {
                errs.push(FieldError::invalid(
                    &path.child("parallelism"),
                    p,
                    format!(
                        "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"
                    ),
                ));
            }
            if let (Some(c), Some(m)) = (spec.completions, spec.max_failed_indexes)
                && m > c
            {
                errs.push(FieldError::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(m) = spec.max_failed_indexes
                && m > MAX_FAILED_INDEXES_FOR_INDEXED_JOB
            {
                errs.push(FieldError::invalid(
                    &path.child("maxFailedIndexes"),
                    m,
                    format!("must be less than or equal to {MAX_FAILED_INDEXES_FOR_INDEXED_JOB}"),
                ));
            }
            if spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT)
                && spec.backoff_limit_per_index.is_some()
            {
                if spec.max_failed_indexes.is_none() {
                    errs.push(FieldError::required(
                        &path.child("maxFailedIndexes"),
                        format!(
                            "must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"
                        ),
                    ));
                }
                if let Some(p) = spec.parallelism
                    && p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS
                {
                    errs.push(FieldError::invalid(
                        &path.child("parallelism"),
                        p,
                        format!(
                            "must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                        ),
                    ));
                }
                if let Some(m) = spec.max_failed_indexes
                    && m > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS
                {
                    errs.push(FieldError::invalid(
                        &path.child("maxFailedIndexes"),
                        m,
                        format!(
                            "must be less than or equal to {MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                        ),
                    ));
                }
            }
        }
    }
    if mode.is_none() || mode == Some("NonIndexed") {
        if let Some(v) = spec.backoff_limit_per_index {
            errs.push(FieldError::invalid(
                &path.child("backoffLimitPerIndex"),
                v,
                "requires indexed completion mode",
            ));
        }
        if let Some(v) = spec.max_failed_indexes {
            errs.push(FieldError::invalid(
                &path.child("maxFailedIndexes"),
                v,
                "requires indexed completion mode",
            ));
        }
    }

    validate_pod_failure_policy(spec, &path.child("podFailurePolicy"), errs);
    if let Some(sp) = &spec.success_policy {
        if mode != Some("Indexed") {
            errs.push(FieldError::invalid(
                &path.child("successPolicy"),
                success_policy_json(sp),
                "requires indexed completion mode",
            ));
        } else {
            validate_success_policy(spec, &path.child("successPolicy"), errs);
        }
    }

    if let Some(prp) = spec.pod_replacement_policy.as_deref() {
        let p = path.child("podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if prp != "Failed" {
                errs.push(FieldError::not_supported(&p, prp, &["Failed"]));
            }
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                &p,
                prp,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }

    validate_pod_template(&spec.template, &path.child("template"), errs);

    let rp_path = path.child("template").child("spec").child("restartPolicy");
    let rp = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("");
    if rp.is_empty() || rp == "Always" {
        errs.push(FieldError::required(
            &rp_path,
            "valid values: \"OnFailure\", \"Never\"",
        ));
    } else if rp != "OnFailure" && rp != "Never" {
        errs.push(FieldError::not_supported(
            &rp_path,
            rp,
            &["OnFailure", "Never"],
        ));
    } else if spec.pod_failure_policy.is_some() && rp != "Never" {
        errs.push(FieldError::invalid(
            &rp_path,
            rp,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
}

/// The internal `batch.SuccessPolicy` has no JSON tags, so upstream renders Go field names.
fn success_policy_json(sp: &k8s_openapi::api::batch::v1::SuccessPolicy) -> Value {
    let rules: Vec<Value> = sp
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "SucceededIndexes": r.succeeded_indexes,
                "SucceededCount": r.succeeded_count,
            })
        })
        .collect();
    serde_json::json!({ "Rules": rules })
}

/// `ValidateJobSpec`: the spec fields, then the selector and its match with the template labels.
fn validate_job_spec(spec: &JobSpec, path: &FieldPath, errs: &mut Vec<FieldError>) {
    validate_job_spec_fields(spec, path, errs);
    match &spec.selector {
        None => errs.push(FieldError::required(&path.child("selector"), "")),
        Some(sel) => validate_label_selector(sel, &path.child("selector"), errs),
    }
    let empty = BTreeMap::new();
    let labels = template_labels(spec);
    if selector_matches(spec.selector.as_ref(), labels.unwrap_or(&empty)) == Some(false) {
        errs.push(FieldError::invalid(
            &path.child("template").child("metadata").child("labels"),
            to_json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
}

fn validate_job_with(job: &Job, require_prefixed: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = FieldPath::root("metadata");
    validate_object_meta(&job.metadata, &meta, &mut errs);
    validate_generated_selector(job, require_prefixed, &mut errs);
    let default_spec = JobSpec::default();
    let spec = job.spec.as_ref().unwrap_or(&default_spec);
    validate_job_spec(spec, &FieldPath::root("spec"), &mut errs);
    if spec.completion_mode.as_deref() == Some("Indexed")
        && let Some(c) = spec.completions.filter(|c| *c > 0)
    {
        let name = job.metadata.name.as_deref().unwrap_or("");
        let hostname = format!("{}-{}", name, c - 1);
        if !dns1123_label_errors(&hostname).is_empty() {
            errs.push(FieldError::invalid(
                &meta.child("name"),
                name,
                format!("will not able to create pod with invalid DNS label: {hostname}"),
            ));
        }
    }
    errs
}

/// Create validation of a Job that has already been defaulted (`ValidateJob` with the options
/// the API server uses on create). Errors come in upstream's order.
pub fn validate_job(job: &Job) -> Vec<FieldError> {
    validate_job_with(job, true)
}

/// `ValidateImmutableField`.
fn validate_immutable<T: PartialEq + serde::Serialize>(
    new: &T,
    old: &T,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if new != old {
        errs.push(FieldError::invalid(path, to_json(new), IMMUTABLE_MSG));
    }
}

/// Update validation (`Strategy.ValidateUpdate`): `ValidateJob(new)` followed by
/// `ValidateJobUpdate(new, old)`, which re-validates the spec and adds the immutability rules.
/// Like upstream, a spec error may therefore appear twice; the message builders drop repeats.
pub fn validate_job_update(new: &Job, old: &Job) -> Vec<FieldError> {
    let default_spec = JobSpec::default();
    let old_spec = old.spec.as_ref().unwrap_or(&default_spec);
    let spec = new.spec.as_ref().unwrap_or(&default_spec);
    let old_labels = template_labels(old_spec);
    let require_prefixed = old_labels
        .is_some_and(|l| l.contains_key(JOB_NAME_LABEL) && l.contains_key(CONTROLLER_UID_LABEL));
    let mut errs = validate_job_with(new, require_prefixed);

    // ValidateObjectMetaUpdate.
    let meta = FieldPath::root("metadata");
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    validate_immutable(
        &s(&new.metadata.name),
        &s(&old.metadata.name),
        &meta.child("name"),
        &mut errs,
    );
    validate_immutable(
        &s(&new.metadata.namespace),
        &s(&old.metadata.namespace),
        &meta.child("namespace"),
        &mut errs,
    );
    validate_immutable(
        &s(&new.metadata.uid),
        &s(&old.metadata.uid),
        &meta.child("uid"),
        &mut errs,
    );

    // ValidateJobSpecUpdate.
    let path = FieldPath::root("spec");
    validate_job_spec(spec, &path, &mut errs);
    let completions_path = path.child("completions");
    if spec.completion_mode.as_deref() == Some("Indexed") {
        // Elastic Indexed Jobs: completions may change together with parallelism.
        if spec.completions != old_spec.completions
            && let Some(c) = spec.completions
            && Some(c) != spec.parallelism
        {
            errs.push(FieldError::invalid(
                &completions_path,
                c,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    } else {
        validate_immutable(
            &spec.completions,
            &old_spec.completions,
            &completions_path,
            &mut errs,
        );
    }
    validate_immutable(
        &spec.selector,
        &old_spec.selector,
        &path.child("selector"),
        &mut errs,
    );

    // Suspended jobs that never started may change their scheduling directives.
    let mut old_template = old_spec.template.clone();
    let suspended = old_spec.suspend == Some(true);
    let not_started = old
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .is_none();
    if suspended && not_started {
        let new_t = &spec.template;
        let new_meta = new_t.metadata.clone().unwrap_or_default();
        let om = old_template.metadata.get_or_insert_with(Default::default);
        om.labels = new_meta.labels;
        om.annotations = new_meta.annotations;
        if old_template.metadata == Some(ObjectMeta::default()) && new_t.metadata.is_none() {
            old_template.metadata = None;
        }
        if let Some(os) = old_template.spec.as_mut() {
            let ns = new_t.spec.clone().unwrap_or_default();
            os.node_selector = ns.node_selector;
            os.tolerations = ns.tolerations;
            os.scheduling_gates = ns.scheduling_gates;
            match (ns.affinity, os.affinity.as_mut()) {
                (None, Some(oa)) => {
                    oa.node_affinity = None;
                    if *oa == Default::default() {
                        os.affinity = None;
                    }
                }
                (Some(na), None) => {
                    os.affinity = Some(k8s_openapi::api::core::v1::Affinity {
                        node_affinity: na.node_affinity,
                        ..Default::default()
                    });
                }
                (Some(na), Some(oa)) => oa.node_affinity = na.node_affinity,
                (None, None) => {}
            }
        }
    }
    validate_immutable(
        &spec.template,
        &old_template,
        &path.child("template"),
        &mut errs,
    );
    validate_immutable(
        &spec.completion_mode,
        &old_spec.completion_mode,
        &path.child("completionMode"),
        &mut errs,
    );
    validate_immutable(
        &spec.pod_failure_policy,
        &old_spec.pod_failure_policy,
        &path.child("podFailurePolicy"),
        &mut errs,
    );
    validate_immutable(
        &spec.backoff_limit_per_index,
        &old_spec.backoff_limit_per_index,
        &path.child("backoffLimitPerIndex"),
        &mut errs,
    );
    validate_immutable(
        &spec.managed_by,
        &old_spec.managed_by,
        &path.child("managedBy"),
        &mut errs,
    );
    if spec.success_policy != old_spec.success_policy {
        let v = spec
            .success_policy
            .as_ref()
            .map_or(Value::Null, success_policy_json);
        errs.push(FieldError::invalid(
            &path.child("successPolicy"),
            v,
            IMMUTABLE_MSG,
        ));
    }
    errs
}

/// Parses an index list such as `1,3-5,7` strictly (upstream `validateIndexesFormat`): intervals
/// must be increasing and below `completions`. The error is upstream's text, e.g.
/// `non-increasing order, previous: 3, current: 1`, `too large index: "5"` or
/// `cannot convert string to integer for index: "a"`.
pub fn parse_indexes(s: &str, completions: i32) -> Result<Vec<(i32, i32)>, String> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    for interval in s.split(',') {
        let (x, y) = parse_index_interval(interval, completions)?;
        if let Some(&(_, last)) = out.last()
            && last >= x
        {
            return Err(format!(
                "non-increasing order, previous: {last}, current: {x}"
            ));
        }
        out.push((x, y));
    }
    Ok(out)
}

/// upstream `parseIndexInterval`.
fn parse_index_interval(interval: &str, completions: i32) -> Result<(i32, i32), String> {
    let limits: Vec<&str> = interval.split('-').collect();
    if limits.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            crate::go::quote(interval)
        ));
    }
    let parse = |p: &str| -> Result<i32, String> {
        let v = crate::go::atoi(p).ok().ok_or_else(|| {
            format!(
                "cannot convert string to integer for index: {}",
                crate::go::quote(p)
            )
        })?;
        if v >= i64::from(completions) {
            return Err(format!("too large index: {}", crate::go::quote(p)));
        }
        // Below completions, so it fits; negative values cannot be written after the split.
        Ok(v as i32)
    };
    let x = parse(limits[0])?;
    if limits.len() > 1 {
        let y = parse(limits[1])?;
        if x >= y {
            return Err(format!("non-increasing order, previous: {x}, current: {y}"));
        }
        return Ok((x, y));
    }
    Ok((x, x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::quantity::QuantityError;
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
        PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule, SuccessPolicy,
        SuccessPolicyRule,
    };
    use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements, Volume, VolumeMount};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;

    /// A Job as it looks after defaulting: generated selector and labels, NonIndexed, 1/1.
    fn valid_job() -> Job {
        let labels = BTreeMap::from([
            (CONTROLLER_UID_LABEL.to_string(), "uid-1".to_string()),
            (LEGACY_CONTROLLER_UID_LABEL.to_string(), "uid-1".to_string()),
            (JOB_NAME_LABEL.to_string(), "pi".to_string()),
            (LEGACY_JOB_NAME_LABEL.to_string(), "pi".to_string()),
        ]);
        Job {
            metadata: ObjectMeta {
                name: Some("pi".into()),
                namespace: Some("default".into()),
                uid: Some("uid-1".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                parallelism: Some(1),
                completions: Some(1),
                backoff_limit: Some(6),
                completion_mode: Some("NonIndexed".into()),
                selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        CONTROLLER_UID_LABEL.to_string(),
                        "uid-1".to_string(),
                    )])),
                    ..Default::default()
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        containers: vec![Container {
                            name: "main".into(),
                            image: Some("main.wasm".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
    }

    fn spec(j: &mut Job) -> &mut JobSpec {
        j.spec.as_mut().unwrap()
    }

    fn pod(j: &mut Job) -> &mut PodSpec {
        spec(j).template.spec.as_mut().unwrap()
    }

    fn indexed(j: &mut Job, completions: i32) {
        let s = spec(j);
        s.completion_mode = Some("Indexed".into());
        s.completions = Some(completions);
    }

    fn msgs(j: &Job) -> Vec<String> {
        validate_job(j).iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn annotations_need_qualified_keys_and_fit_256_kib_together() {
        let mut j = valid_job();
        // Case does not matter in keys; exactly the limit is allowed.
        let fits = BTreeMap::from([
            ("Example.COM/Key".to_string(), String::new()),
            (
                "k".to_string(),
                "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT - 16),
            ),
        ]);
        j.metadata.annotations = Some(fits);
        assert!(msgs(&j).is_empty(), "{:?}", msgs(&j));
        j.metadata.annotations = Some(BTreeMap::from([
            ("k".to_string(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT)),
            ("a b".to_string(), String::new()),
        ]));
        let template = spec(&mut j).template.metadata.as_mut().unwrap();
        template.annotations = Some(BTreeMap::from([(
            "x".to_string(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT),
        )]));
        assert_eq!(
            msgs(&j),
            [
                "metadata.annotations: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "metadata.annotations: Too long: may not be more than 262144 bytes",
                "spec.template.metadata.annotations: Too long: may not be more than 262144 bytes",
            ]
        );
    }

    fn exit_codes(op: &str, values: Vec<i32>) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: "FailJob".into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: op.into(),
                values,
            }),
            on_pod_conditions: None,
        }
    }

    fn with_pfp(j: &mut Job, rules: Vec<PodFailurePolicyRule>) {
        spec(j).pod_failure_policy = Some(PodFailurePolicy { rules });
    }

    /// (succeededIndexes, succeededCount) of one success policy rule.
    type SpRule = (Option<&'static str>, Option<i32>);

    fn with_sp(j: &mut Job, rules: Vec<SpRule>) {
        spec(j).success_policy = Some(SuccessPolicy {
            rules: rules
                .into_iter()
                .map(|(i, c)| SuccessPolicyRule {
                    succeeded_indexes: i.map(str::to_string),
                    succeeded_count: c,
                })
                .collect(),
        });
    }

    #[test]
    fn a_defaulted_job_is_valid() {
        assert_eq!(msgs(&valid_job()), Vec::<String>::new());
        let j = valid_job();
        assert!(validate_job_update(&j, &j).is_empty());
    }

    #[test]
    fn field_path_display() {
        let p = FieldPath::root("spec")
            .child("template")
            .child("spec")
            .child("containers")
            .index(0)
            .child("image");
        assert_eq!(p.to_string(), "spec.template.spec.containers[0].image");
        let k = FieldPath::root("metadata").child("labels").key("a/b");
        assert_eq!(k.to_string(), "metadata.labels[a/b]");
    }

    #[test]
    fn error_type_strings() {
        let all = [
            (ErrorType::Invalid, "Invalid value", "FieldValueInvalid"),
            (ErrorType::Required, "Required value", "FieldValueRequired"),
            (
                ErrorType::NotSupported,
                "Unsupported value",
                "FieldValueNotSupported",
            ),
            (
                ErrorType::Duplicate,
                "Duplicate value",
                "FieldValueDuplicate",
            ),
            (ErrorType::TooMany, "Too many", "FieldValueTooMany"),
            (ErrorType::TooLong, "Too long", "FieldValueTooLong"),
            (ErrorType::Forbidden, "Forbidden", "FieldValueForbidden"),
            (ErrorType::Internal, "Internal error", "InternalError"),
            (ErrorType::NotFound, "Not found", "FieldValueNotFound"),
        ];
        for (t, display, cause) in all {
            assert_eq!(t.to_string(), display);
            assert_eq!(t.cause_type(), cause);
        }
    }

    #[test]
    fn field_error_rendering() {
        let p = FieldPath::root("f");
        let cases: Vec<(FieldError, &str)> = vec![
            (
                FieldError::invalid(&p, "a\"b\n", "d"),
                "f: Invalid value: \"a\\\"b\\n\": d",
            ),
            (FieldError::invalid(&p, -1, "d"), "f: Invalid value: -1: d"),
            (FieldError::invalid(&p, true, ""), "f: Invalid value: true"),
            (
                FieldError::invalid(&p, Value::Null, "d"),
                "f: Invalid value: null: d",
            ),
            (
                FieldError::invalid(&p, serde_json::json!([3, 1]), "must be ordered"),
                "f: Invalid value: [3,1]: must be ordered",
            ),
            (
                FieldError::invalid(&p, serde_json::json!({"a": "<b>"}), "x"),
                "f: Invalid value: {\"a\":\"\\u003cb\\u003e\"}: x",
            ),
            (
                FieldError::invalid_omit_value(&p, "d"),
                "f: Invalid value: d",
            ),
            (FieldError::required(&p, ""), "f: Required value"),
            (FieldError::required(&p, "d"), "f: Required value: d"),
            (
                FieldError::not_supported(&p, "X", &["A", "B"]),
                "f: Unsupported value: \"X\": supported values: \"A\", \"B\"",
            ),
            (FieldError::duplicate(&p, 3), "f: Duplicate value: 3"),
            (FieldError::forbidden(&p, "no"), "f: Forbidden: no"),
            (
                FieldError::too_many(&p, 256, 255),
                "f: Too many: 256: must have at most 255 items",
            ),
            (
                FieldError::too_long(&p, 63),
                "f: Too long: may not be more than 63 bytes",
            ),
            (FieldError::not_found(&p, "x"), "f: Not found: \"x\""),
            (FieldError::internal(&p, "boom"), "f: Internal error: boom"),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn invalid_and_kubectl_messages() {
        let one = vec![FieldError::invalid(
            &FieldPath::root("spec").child("parallelism"),
            -1,
            NON_NEGATIVE_MSG,
        )];
        let two = vec![
            one[0].clone(),
            FieldError::required(&FieldPath::root("spec").child("selector"), ""),
            one[0].clone(),
        ];
        assert_eq!(
            invalid_message("Job.batch", "pi", &one),
            "Job.batch \"pi\" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            invalid_message("Job.batch", "pi", &two),
            "Job.batch \"pi\" is invalid: [spec.parallelism: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]"
        );
        assert_eq!(
            invalid_message("Job.batch", "pi", &[]),
            "Job.batch \"pi\" is invalid"
        );
        assert_eq!(
            kubectl_message("Job", "pi", &one),
            "The Job \"pi\" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            kubectl_message("Job", "pi", &two),
            "The Job \"pi\" is invalid: \n* spec.parallelism: Invalid value: -1: must be greater than or equal to 0\n* spec.selector: Required value"
        );
        let st = invalid_status("Job.batch", "pi", &one);
        assert_eq!(st["code"], 422);
        assert_eq!(st["details"]["group"], "batch");
        assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueInvalid");
        assert_eq!(
            st["details"]["causes"][0]["message"],
            "Invalid value: -1: must be greater than or equal to 0"
        );
    }

    #[test]
    fn metadata_name() {
        let mut j = valid_job();
        j.metadata.name = None;
        j.metadata.uid = None;
        assert_eq!(
            msgs(&j),
            ["metadata.name: Required value: name or generateName is required"]
        );
        let mut j = valid_job();
        j.metadata.name = Some("Bad_Name".into());
        j.metadata.uid = None;
        assert_eq!(
            msgs(&j),
            [
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        let mut j = valid_job();
        j.metadata.name = None;
        j.metadata.generate_name = Some("pi-".into());
        j.metadata.uid = None;
        assert_eq!(msgs(&j), Vec::<String>::new());
    }

    #[test]
    fn indexed_name_must_make_dns_labels() {
        let mut j = valid_job();
        let long = "a".repeat(62);
        j.metadata.name = Some(long.clone());
        j.metadata.uid = None;
        indexed(&mut j, 10);
        assert_eq!(
            msgs(&j),
            [format!(
                "metadata.name: Invalid value: \"{long}\": will not able to create pod with invalid DNS label: {long}-9"
            )]
        );
    }

    #[test]
    fn non_negative_fields() {
        let mut j = valid_job();
        {
            let s = spec(&mut j);
            s.parallelism = Some(-1);
            s.completions = Some(-2);
            s.active_deadline_seconds = Some(-3);
            s.backoff_limit = Some(-4);
            s.ttl_seconds_after_finished = Some(-5);
        }
        assert_eq!(
            msgs(&j),
            [
                "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
                "spec.completions: Invalid value: -2: must be greater than or equal to 0",
                "spec.activeDeadlineSeconds: Invalid value: -3: must be greater than or equal to 0",
                "spec.backoffLimit: Invalid value: -4: must be greater than or equal to 0",
                "spec.ttlSecondsAfterFinished: Invalid value: -5: must be greater than or equal to 0",
            ]
        );
        let mut j = valid_job();
        indexed(&mut j, 3);
        spec(&mut j).backoff_limit_per_index = Some(-1);
        spec(&mut j).max_failed_indexes = Some(-1);
        assert_eq!(
            msgs(&j),
            [
                "spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0",
                "spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn completion_mode_rules() {
        let mut j = valid_job();
        spec(&mut j).completion_mode = Some("X".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.completionMode: Unsupported value: \"X\": supported values: \"NonIndexed\", \"Indexed\""
            ]
        );
        let mut j = valid_job();
        spec(&mut j).completion_mode = Some("Indexed".into());
        spec(&mut j).completions = None;
        assert_eq!(
            msgs(&j),
            ["spec.completions: Required value: when completion mode is Indexed"]
        );
        let mut j = valid_job();
        indexed(&mut j, 3);
        spec(&mut j).parallelism = Some(100_001);
        assert_eq!(
            msgs(&j),
            [
                "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"
            ]
        );
    }

    #[test]
    fn backoff_limit_per_index_rules() {
        let mut j = valid_job();
        spec(&mut j).backoff_limit_per_index = Some(1);
        spec(&mut j).max_failed_indexes = Some(1);
        assert_eq!(
            msgs(&j),
            [
                "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
                "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode",
            ]
        );
        let mut j = valid_job();
        indexed(&mut j, 3);
        spec(&mut j).max_failed_indexes = Some(4);
        assert_eq!(
            msgs(&j),
            [
                "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
                "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions",
            ]
        );
        let mut j = valid_job();
        indexed(&mut j, 200_000);
        j.metadata.uid = None;
        spec(&mut j).backoff_limit_per_index = Some(1);
        spec(&mut j).parallelism = Some(10_001);
        assert_eq!(
            msgs(&j),
            [
                "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
                "spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index",
            ]
        );
    }

    #[test]
    fn pod_replacement_policy_and_managed_by() {
        let mut j = valid_job();
        spec(&mut j).pod_replacement_policy = Some("X".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.podReplacementPolicy: Unsupported value: \"X\": supported values: \"Failed\", \"TerminatingOrFailed\""
            ]
        );
        let mut j = valid_job();
        with_pfp(&mut j, vec![exit_codes("In", vec![1])]);
        spec(&mut j).pod_replacement_policy = Some("TerminatingOrFailed".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.podReplacementPolicy: Unsupported value: \"TerminatingOrFailed\": supported values: \"Failed\""
            ]
        );
        let mut j = valid_job();
        spec(&mut j).managed_by = Some(format!("example.com/{}", "a".repeat(60)));
        assert_eq!(
            msgs(&j),
            ["spec.managedBy: Too long: may not be more than 63 bytes"]
        );
        let mut j = valid_job();
        spec(&mut j).managed_by = Some("nodomain".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.managedBy: Invalid value: \"nodomain\": must be a domain-prefixed path (such as \"acme.io/foo\")"
            ]
        );
        let mut j = valid_job();
        spec(&mut j).managed_by = Some("kubernetes.io/job-controller".into());
        assert!(msgs(&j).is_empty());
    }

    #[test]
    fn selector_rules() {
        let mut j = valid_job();
        spec(&mut j).selector = None;
        assert_eq!(
            msgs(&j),
            [
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"uid-1\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"uid-1\",\"job-name\":\"pi\"}: `selector` does not match template `labels`",
            ]
        );
        let mut j = valid_job();
        j.metadata.uid = None;
        spec(&mut j).template.metadata = None;
        assert_eq!(
            msgs(&j),
            [
                "spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`"
            ]
        );
        let mut j = valid_job();
        spec(&mut j)
            .template
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(LEGACY_JOB_NAME_LABEL.into(), "other".into());
        let m = msgs(&j);
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("spec.template.metadata.labels[job-name]: Invalid value: {"));
        assert!(m[0].ends_with("}: must be 'pi'"));
        let mut j = valid_job();
        spec(&mut j)
            .template
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .remove(LEGACY_CONTROLLER_UID_LABEL);
        assert_eq!(
            msgs(&j),
            ["spec.template.metadata.labels[controller-uid]: Required value: must be 'uid-1'"]
        );
    }

    #[test]
    fn pod_failure_policy_rules() {
        let p = "spec.podFailurePolicy.rules[0]";
        let cases: Vec<(PodFailurePolicyRule, Vec<String>)> = vec![
            (
                PodFailurePolicyRule {
                    action: "FailIndex".into(),
                    ..exit_codes("In", vec![1])
                },
                vec![format!(
                    "{p}.action: Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set"
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "".into(),
                    ..exit_codes("In", vec![1])
                },
                vec![format!(
                    "{p}.action: Required value: valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]"
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "Boom".into(),
                    ..exit_codes("In", vec![1])
                },
                vec![format!(
                    "{p}.action: Unsupported value: \"Boom\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\""
                )],
            ),
            (
                PodFailurePolicyRule {
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: Some("True".into()),
                    }]),
                    ..exit_codes("In", vec![1])
                },
                vec![format!(
                    "{p}: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported"
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: None,
                },
                vec![format!(
                    "{p}: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"
                )],
            ),
            (
                exit_codes("In", vec![0, 1]),
                vec![format!(
                    "{p}.onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"
                )],
            ),
            (
                exit_codes("NotIn", vec![3, 1]),
                vec![format!(
                    "{p}.onExitCodes.values: Invalid value: [3,1]: must be ordered"
                )],
            ),
            (
                exit_codes("In", vec![1, 3, 3]),
                vec![format!("{p}.onExitCodes.values[2]: Duplicate value: 3")],
            ),
            (
                exit_codes("In", vec![]),
                vec![format!(
                    "{p}.onExitCodes.values: Invalid value: []: at least one value is required"
                )],
            ),
            (
                exit_codes("In", (1..=256).collect()),
                vec![format!(
                    "{p}.onExitCodes.values: Too many: 256: must have at most 255 items"
                )],
            ),
            (
                exit_codes("X", vec![1]),
                vec![format!(
                    "{p}.onExitCodes.operator: Unsupported value: \"X\": supported values: \"In\", \"NotIn\""
                )],
            ),
            (
                exit_codes("", vec![1]),
                vec![format!(
                    "{p}.onExitCodes.operator: Required value: valid values: [\"In\" \"NotIn\"]"
                )],
            ),
            (
                PodFailurePolicyRule {
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        container_name: Some("x".into()),
                        operator: "In".into(),
                        values: vec![1],
                    }),
                    ..exit_codes("In", vec![1])
                },
                vec![format!(
                    "{p}.onExitCodes.containerName: Invalid value: \"x\": must be one of the container or initContainer names in the pod template"
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: Some("Maybe".into()),
                    }]),
                },
                vec![format!(
                    "{p}.onPodConditions[0].status: Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\""
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: Some("".into()),
                    }]),
                },
                vec![format!(
                    "{p}.onPodConditions[0].status: Required value: valid values: [\"False\" \"True\" \"Unknown\"]"
                )],
            ),
            (
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "".into(),
                        status: None,
                    }]),
                },
                vec![
                    format!(
                        "{p}.onPodConditions[0].type: Invalid value: \"\": name part must be non-empty"
                    ),
                    format!(
                        "{p}.onPodConditions[0].type: Invalid value: \"\": name part {QUALIFIED_NAME_MSG}"
                    ),
                ],
            ),
        ];
        for (rule, want) in cases {
            let mut j = valid_job();
            with_pfp(&mut j, vec![rule]);
            assert_eq!(msgs(&j), want);
        }
        let mut j = valid_job();
        with_pfp(&mut j, vec![exit_codes("In", vec![1]); 21]);
        assert_eq!(
            msgs(&j),
            ["spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"]
        );
        let mut j = valid_job();
        with_pfp(&mut j, vec![exit_codes("In", vec![1])]);
        pod(&mut j).restart_policy = Some("OnFailure".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.template.spec.restartPolicy: Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified"
            ]
        );
    }

    #[test]
    fn success_policy_rules() {
        let mut j = valid_job();
        with_sp(&mut j, vec![(Some("0"), None)]);
        assert_eq!(
            msgs(&j),
            [
                "spec.successPolicy: Invalid value: {\"Rules\":[{\"SucceededCount\":null,\"SucceededIndexes\":\"0\"}]}: requires indexed completion mode"
            ]
        );
        let p = "spec.successPolicy.rules";
        let cases: Vec<(Vec<SpRule>, Vec<String>)> = vec![
            (
                vec![],
                vec![format!(
                    "{p}: Required value: at least one rules must be specified when the successPolicy is specified"
                )],
            ),
            (
                vec![(None, None)],
                vec![format!(
                    "{p}[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"
                )],
            ),
            (
                vec![(None, Some(5))],
                vec![format!(
                    "{p}[0].succeededCount: Invalid value: 5: must be less than or equal to 3 (the number of specified completions)"
                )],
            ),
            (
                vec![(Some("0-1"), Some(3))],
                vec![format!(
                    "{p}[0].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)"
                )],
            ),
            (
                vec![(None, Some(-1))],
                vec![format!(
                    "{p}[0].succeededCount: Invalid value: -1: must be greater than or equal to 0"
                )],
            ),
            (
                vec![(Some("2-1"), None)],
                vec![format!(
                    "{p}[0].succeededIndexes: Invalid value: \"2-1\": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1"
                )],
            ),
            (
                vec![(Some("5"), None)],
                vec![format!(
                    "{p}[0].succeededIndexes: Invalid value: \"5\": error parsing succeededIndexes: too large index: \"5\""
                )],
            ),
            (
                vec![(Some("a"), None)],
                vec![format!(
                    "{p}[0].succeededIndexes: Invalid value: \"a\": error parsing succeededIndexes: cannot convert string to integer for index: \"a\""
                )],
            ),
            (vec![(Some("0,2"), Some(2))], vec![]),
        ];
        for (rules, want) in cases {
            let mut j = valid_job();
            indexed(&mut j, 3);
            with_sp(&mut j, rules);
            assert_eq!(msgs(&j), want);
        }
        let mut j = valid_job();
        indexed(&mut j, 3);
        with_sp(&mut j, vec![(None, Some(1)); 21]);
        assert_eq!(
            msgs(&j),
            [format!("{p}: Too many: 21: must have at most 20 items")]
        );
    }

    #[test]
    fn parse_indexes_like_upstream() {
        assert_eq!(parse_indexes("", 3), Ok(vec![]));
        assert_eq!(
            parse_indexes("0,2-4,6", 7),
            Ok(vec![(0, 0), (2, 4), (6, 6)])
        );
        let errs = [
            ("3,1", "non-increasing order, previous: 3, current: 1"),
            ("1-3,3", "non-increasing order, previous: 3, current: 3"),
            ("3-1", "non-increasing order, previous: 3, current: 1"),
            ("5", "too large index: \"5\""),
            ("a", "cannot convert string to integer for index: \"a\""),
            ("1-", "cannot convert string to integer for index: \"\""),
            (
                "1-2-3",
                "the fragment \"1-2-3\" violates the requirement that an index interval can have at most two parts separated by '-'",
            ),
        ];
        for (s, want) in errs {
            assert_eq!(parse_indexes(s, 5), Err(want.to_string()), "{s}");
        }
    }

    #[test]
    fn restart_policy_rules() {
        for rp in [None, Some(""), Some("Always")] {
            let mut j = valid_job();
            pod(&mut j).restart_policy = rp.map(str::to_string);
            assert_eq!(
                msgs(&j),
                [
                    "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
                ]
            );
        }
        let mut j = valid_job();
        pod(&mut j).restart_policy = Some("X".into());
        assert_eq!(
            msgs(&j),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"X\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.template.spec.restartPolicy: Unsupported value: \"X\": supported values: \"OnFailure\", \"Never\"",
            ]
        );
    }

    #[test]
    fn container_rules() {
        let c = "spec.template.spec.containers";
        let mut j = valid_job();
        pod(&mut j).containers.clear();
        assert_eq!(msgs(&j), [format!("{c}: Required value")]);

        let mut j = valid_job();
        pod(&mut j).containers[0].name = "Main_1".into();
        pod(&mut j).containers[0].image = None;
        assert_eq!(
            msgs(&j),
            [
                format!("{c}[0].name: Invalid value: \"Main_1\": {DNS1123_LABEL_MSG}"),
                format!("{c}[0].image: Required value"),
            ]
        );
        assert!(DNS1123_LABEL_MSG.contains("(e.g. 'my-name',  or '123-abc', regex"));

        let mut j = valid_job();
        pod(&mut j).containers[0].name = String::new();
        assert_eq!(msgs(&j), [format!("{c}[0].name: Required value")]);

        let mut j = valid_job();
        let dup = pod(&mut j).containers[0].clone();
        pod(&mut j).containers.push(dup.clone());
        pod(&mut j).init_containers = Some(vec![dup]);
        assert_eq!(
            msgs(&j),
            [
                format!("{c}[1].name: Duplicate value: \"main\""),
                "spec.template.spec.initContainers[0].name: Duplicate value: \"main\"".to_string(),
            ]
        );

        let mut j = valid_job();
        pod(&mut j).init_containers = Some(vec![Container {
            name: "init".into(),
            ..Default::default()
        }]);
        assert_eq!(
            msgs(&j),
            ["spec.template.spec.initContainers[0].image: Required value"]
        );
    }

    #[test]
    fn env_and_volume_rules() {
        let c0 = "spec.template.spec.containers[0]";
        let mut j = valid_job();
        pod(&mut j).containers[0].env = Some(vec![
            EnvVar {
                name: "A=B".into(),
                ..Default::default()
            },
            EnvVar {
                name: "OK_1".into(),
                ..Default::default()
            },
            EnvVar {
                name: "".into(),
                ..Default::default()
            },
        ]);
        assert_eq!(
            msgs(&j),
            [
                format!(
                    "{c0}.env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"
                ),
                format!("{c0}.env[2].name: Required value"),
                format!(
                    "{c0}.env[2].name: Invalid value: \"\": environment variable name must be non-empty"
                ),
            ]
        );

        let mut j = valid_job();
        pod(&mut j).volumes = Some(vec![
            Volume {
                name: "data".into(),
                ..Default::default()
            },
            Volume {
                name: "data".into(),
                ..Default::default()
            },
            Volume {
                name: "".into(),
                ..Default::default()
            },
            Volume {
                name: "Bad".into(),
                ..Default::default()
            },
        ]);
        pod(&mut j).containers[0].volume_mounts = Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: "/d".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "x".into(),
                mount_path: "".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "data".into(),
                mount_path: "/d".into(),
                ..Default::default()
            },
        ]);
        let v = "spec.template.spec.volumes";
        assert_eq!(
            msgs(&j),
            [
                format!("{v}[1].name: Duplicate value: \"data\""),
                format!("{v}[2].name: Required value"),
                format!("{v}[3].name: Invalid value: \"Bad\": {DNS1123_LABEL_MSG}"),
                format!("{c0}.volumeMounts[1].name: Not found: \"x\""),
                format!("{c0}.volumeMounts[1].mountPath: Required value"),
                format!("{c0}.volumeMounts[2].mountPath: Invalid value: \"/d\": must be unique"),
            ]
        );
    }

    #[test]
    fn sub_paths_and_host_paths_must_not_climb() {
        let c0 = "spec.template.spec.containers[0]";
        let v = "spec.template.spec.volumes";
        let mut j = valid_job();
        pod(&mut j).volumes = Some(vec![
            Volume {
                name: "data".into(),
                empty_dir: Some(Default::default()),
                ..Default::default()
            },
            Volume {
                name: "up".into(),
                host_path: Some(k8s_openapi::api::core::v1::HostPathVolumeSource {
                    path: "/srv/../etc".into(),
                    type_: None,
                }),
                ..Default::default()
            },
            Volume {
                name: "none".into(),
                host_path: Some(Default::default()),
                ..Default::default()
            },
        ]);
        let m = |path: &str, sub: Option<&str>, expr: Option<&str>| VolumeMount {
            name: "data".into(),
            mount_path: path.into(),
            sub_path: sub.map(Into::into),
            sub_path_expr: expr.map(Into::into),
            ..Default::default()
        };
        pod(&mut j).containers[0].volume_mounts = Some(vec![
            m("/a", Some("../../x"), None),
            m("/b", Some("/etc"), None),
            m("/c", Some("ok/a..b"), None),
            m("/d", Some("x"), Some("$(POD)/..")),
            m("/e", None, Some("/$(POD)")),
        ]);
        assert_eq!(
            msgs(&j),
            [
                format!(
                    "{v}[1].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'"
                ),
                format!("{v}[2].hostPath.path: Required value"),
                format!(
                    "{c0}.volumeMounts[0].subPath: Invalid value: \"../../x\": must not contain '..'"
                ),
                format!(
                    "{c0}.volumeMounts[1].subPath: Invalid value: \"/etc\": must be a relative path"
                ),
                format!(
                    "{c0}.volumeMounts[3].subPathExpr: Invalid value: \"$(POD)/..\": subPathExpr and subPath are mutually exclusive"
                ),
                format!(
                    "{c0}.volumeMounts[3].subPathExpr: Invalid value: \"$(POD)/..\": must not contain '..'"
                ),
                format!(
                    "{c0}.volumeMounts[4].subPathExpr: Invalid value: \"/$(POD)\": must be a relative path"
                ),
            ]
        );
    }

    #[test]
    fn resource_rules() {
        let r = "spec.template.spec.containers[0].resources";
        let q = |s: &str| KQuantity(s.to_string());
        let mut j = valid_job();
        pod(&mut j).containers[0].resources = Some(ResourceRequirements {
            limits: Some(BTreeMap::from([
                ("cpu".to_string(), q("abc")),
                ("memory".to_string(), q("1Gi")),
            ])),
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), q("-1")),
                ("memory".to_string(), q("1025Mi")),
                ("gpu".to_string(), q("1")),
            ])),
            claims: None,
        });
        assert_eq!(
            msgs(&j),
            [
                format!(
                    "{r}.limits[cpu]: Invalid value: \"abc\": {}",
                    QuantityError::Format
                ),
                format!(
                    "{r}.requests[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"
                ),
                format!(
                    "{r}.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers"
                ),
                format!(
                    "{r}.requests: Invalid value: \"1025Mi\": must be less than or equal to memory limit of 1Gi"
                ),
            ]
        );
        assert!(
            QuantityError::Format
                .to_string()
                .ends_with("'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        );

        let mut j = valid_job();
        pod(&mut j).containers[0].resources = Some(ResourceRequirements {
            limits: Some(BTreeMap::from([
                ("cpu".to_string(), q("500m")),
                ("memory".to_string(), q("1e3")),
            ])),
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), q("0.5")),
                ("memory".to_string(), q("1k")),
            ])),
            claims: None,
        });
        assert!(msgs(&j).is_empty());
    }

    #[test]
    fn label_rules() {
        let mut j = valid_job();
        j.metadata.labels = Some(BTreeMap::from([("bad key".to_string(), "v".to_string())]));
        assert_eq!(
            msgs(&j),
            [format!(
                "metadata.labels: Invalid value: \"bad key\": name part {QUALIFIED_NAME_MSG}"
            )]
        );
        let mut j = valid_job();
        j.metadata.labels = Some(BTreeMap::from([("k".to_string(), "-v".to_string())]));
        assert_eq!(
            msgs(&j),
            [format!(
                "metadata.labels: Invalid value: \"-v\": {LABEL_VALUE_MSG}"
            )]
        );
    }

    #[test]
    fn update_rules() {
        let old = valid_job();
        let mut new = valid_job();
        spec(&mut new).completions = Some(5);
        let m: Vec<String> = validate_job_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            m,
            ["spec.completions: Invalid value: 5: field is immutable"]
        );

        let mut new = valid_job();
        spec(&mut new).parallelism = Some(4);
        spec(&mut new).backoff_limit = Some(1);
        spec(&mut new).active_deadline_seconds = Some(10);
        assert!(validate_job_update(&new, &old).is_empty());

        let mut new = valid_job();
        pod(&mut new).containers[0].image = Some("other.wasm".into());
        let m = validate_job_update(&new, &old);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].field, "spec.template");
        assert_eq!(m[0].detail, "field is immutable");

        // Suspended and never started: node selector may change.
        let mut old_s = valid_job();
        spec(&mut old_s).suspend = Some(true);
        let mut new = old_s.clone();
        pod(&mut new).node_selector = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
        assert!(validate_job_update(&new, &old_s).is_empty());

        // Elastic Indexed Jobs.
        let mut old_i = valid_job();
        indexed(&mut old_i, 2);
        spec(&mut old_i).parallelism = Some(2);
        let mut new = old_i.clone();
        spec(&mut new).completions = Some(3);
        let m: Vec<String> = validate_job_update(&new, &old_i)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            m,
            [
                "spec.completions: Invalid value: 3: can only be modified in tandem with spec.parallelism"
            ]
        );
        spec(&mut new).parallelism = Some(3);
        assert!(validate_job_update(&new, &old_i).is_empty());

        let mut new = valid_job();
        new.metadata.name = Some("other".into());
        let m: Vec<String> = validate_job_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(
            m.contains(&"metadata.name: Invalid value: \"other\": field is immutable".to_string())
        );
    }
}
