//! Field errors as apimachinery renders them (`field.Path`, `field.Error`, `ToAggregate`),
//! and the `Invalid` message and `Status` the API server and kubectl build from them.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

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
pub(super) fn render_value(v: &Value) -> String {
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
pub(super) fn distinct_messages<'a>(items: impl Iterator<Item = String> + 'a) -> Vec<String> {
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
    let mut status = serde_json::json!({
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
    });
    // `StatusDetails.name` is `omitempty`: an object without a name yet (generateName, or
    // a request's options) has none in the body.
    if name.is_empty()
        && let Some(d) = status["details"].as_object_mut()
    {
        d.remove("name");
    }
    status
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
