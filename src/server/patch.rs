//! Applies PATCH bodies (strategic merge, JSON merge, JSON patch, server-side apply) to objects.
//!
//! The strategic merge patch is a port of `k8s.io/apimachinery/pkg/util/strategicpatch`
//! (`StrategicMergeMapPatch`, server side: parallel lists merged, unmatched nulls ignored),
//! including its list ordering rules (`normalizeElementOrder`, `mergeSortedSlice`), because
//! kubectl's `apply` sends `$setElementOrder` and expects the list order upstream produces.
//! JSON patch follows `gopkg.in/evanphx/json-patch.v4`, which kube-apiserver uses, and quotes
//! its error texts; JSON merge patch is RFC 7386.

use std::collections::VecDeque;

use serde_json::{Map, Value};

/// Why a patch could not be applied. Texts are upstream's where kube-apiserver has one.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The body is not JSON, or a merge patch is neither an object nor a list
    /// (`validateAndTranscodePatch`, `jsonpatch.ErrBadJSONPatch`).
    #[error("invalid JSON patch")]
    InvalidJson,
    /// A server-side apply body that is neither JSON nor YAML, or not an object.
    #[error("error decoding patch: {0}")]
    Decode(String),
    /// A strategic merge patch (or the object it applies to) that is not a JSON object
    /// (`mergepatch.ErrBadJSONDoc`).
    #[error("invalid JSON document")]
    NotAnObject,
    /// A JSON patch that is not a list of operation objects.
    #[error("invalid JSON patch: {0}")]
    MalformedJsonPatch(String),
    /// A JSON patch operation other than add, remove, replace, move, copy and test.
    #[error("unexpected kind: {op}")]
    JsonPatchUnknownOperation {
        /// The `op` as sent (`unknown` when missing).
        op: String,
    },
    /// A JSON patch operation without its `path` (or `from`) string.
    #[error("{op} operation failed to decode {field}: missing value")]
    JsonPatchMissingField {
        /// The operation.
        op: &'static str,
        /// `path` or `from`.
        field: &'static str,
    },
    /// The parent of a JSON patch location does not exist.
    #[error("{op} operation does not apply: doc is missing path: \"{path}\": missing value")]
    JsonPatchMissingPath {
        /// The operation.
        op: &'static str,
        /// The pointer as sent.
        path: String,
    },
    /// `remove` (or `move`) of an object member that does not exist.
    #[error(
        "error in {op} for path: '{path}': unable to remove nonexistent key: {key}: missing value"
    )]
    JsonPatchMissingKey {
        /// The operation.
        op: &'static str,
        /// The pointer as sent.
        path: String,
        /// The missing member, unescaped.
        key: String,
    },
    /// An array index outside the array.
    #[error(
        "error in {op} for path: '{path}': unable to access invalid index: {index}: invalid index referenced"
    )]
    JsonPatchInvalidIndex {
        /// The operation.
        op: &'static str,
        /// The pointer as sent.
        path: String,
        /// The index as given.
        index: i64,
    },
    /// An array reference token that is not a number (or `-` where that is not allowed).
    #[error("error in {op} for path: '{path}': value was not a proper array index: '{token}'")]
    JsonPatchNotAnIndex {
        /// The operation.
        op: &'static str,
        /// The pointer as sent.
        path: String,
        /// The offending reference token.
        token: String,
    },
    /// A `test` operation whose value differs from the document's.
    #[error("testing value {path} failed: test failed")]
    JsonPatchTestFailed {
        /// The pointer as sent.
        path: String,
    },
    /// A `replace` of the whole document by something that is not an object or a list.
    #[error("replace operation value must be object or array")]
    JsonPatchReplaceRoot,
    /// A merging list holding lists (`mergepatch.ErrNoListOfLists`).
    #[error("lists of lists are not supported")]
    NoListOfLists,
    /// A `$deleteFromPrimitiveList` key without `/<field>`.
    #[error("invalid patch format of primitive list")]
    PrimitiveListFormat,
    /// A `$retainKeys` that is not a list, or a patch setting a key it does not retain.
    #[error("invalid patch format of retainKeys")]
    RetainKeysFormat,
    /// A `$setElementOrder` key without `/<field>`.
    #[error("invalid patch format of setElementOrder list")]
    SetElementOrderFormat,
    /// A patch list whose items are not in `$setElementOrder`'s order.
    #[error("the order in patch list {patch} doesn't match $setElementOrder list {order}")]
    SetElementOrderMismatch {
        /// The patch list, as JSON.
        patch: String,
        /// The `$setElementOrder` list, as JSON.
        order: String,
    },
    /// An item of a list merged by key that lacks the key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The item, as JSON.
        map: String,
        /// The merge key.
        key: &'static str,
    },
    /// A `$patch` other than `replace`/`delete` on a map, or `replace`/`delete`/`merge` in a list.
    #[error("unknown patch type: {directive} in map: {map}")]
    UnknownDirective {
        /// The directive's value.
        directive: String,
        /// The map holding it, as JSON.
        map: String,
    },
    /// `$patch: merge` inside a list, which upstream never implemented.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList,
    /// `$deleteFromPrimitiveList` aimed at a list of objects without a merge key.
    #[error("cannot merge lists without merge key for {field}")]
    NoMergeKeyForList {
        /// The list's field name.
        field: String,
    },
    /// A merging list whose items are not all of one JSON type.
    #[error("list element types are not identical: {lists}")]
    MixedElementTypes {
        /// The live and the patch list, as JSON.
        lists: String,
    },
    /// A list merged by key that holds something other than objects.
    #[error("value for key {index} is not a map")]
    NotAMap {
        /// The item's position.
        index: usize,
    },
    /// A value of the wrong JSON type where the patch format fixes it.
    #[error("expected a {expected}, but received a {actual}")]
    BadArgType {
        /// The JSON type wanted.
        expected: &'static str,
        /// The JSON type found.
        actual: &'static str,
    },
    /// `copy` operations would grow the document beyond [`MAX_COPY_BYTES`].
    #[error(
        "Unable to copy, the accumulated size increase of copy is {size}, exceeding the limit {limit}"
    )]
    JsonPatchCopyTooLarge {
        /// Bytes copied so far.
        size: usize,
        /// The cap.
        limit: usize,
    },
}

impl Error {
    /// The HTTP status kube-apiserver answers with: 400 for undecodable bodies and bad directive
    /// formats, 422 for JSON patch operations that do not apply (and lists of lists), and 500 for
    /// the other strategic merge errors, which upstream returns without a status reason.
    pub fn status_code(&self) -> u16 {
        match self {
            Error::InvalidJson
            | Error::Decode(_)
            | Error::NotAnObject
            | Error::MalformedJsonPatch(_)
            | Error::PrimitiveListFormat
            | Error::RetainKeysFormat
            | Error::SetElementOrderFormat => 400,
            Error::JsonPatchUnknownOperation { .. }
            | Error::JsonPatchMissingField { .. }
            | Error::JsonPatchMissingPath { .. }
            | Error::JsonPatchMissingKey { .. }
            | Error::JsonPatchInvalidIndex { .. }
            | Error::JsonPatchNotAnIndex { .. }
            | Error::JsonPatchTestFailed { .. }
            | Error::JsonPatchReplaceRoot
            | Error::JsonPatchCopyTooLarge { .. }
            | Error::NoListOfLists => 422,
            Error::SetElementOrderMismatch { .. }
            | Error::NoMergeKey { .. }
            | Error::UnknownDirective { .. }
            | Error::MergeDirectiveInList
            | Error::NoMergeKeyForList { .. }
            | Error::MixedElementTypes { .. }
            | Error::NotAMap { .. }
            | Error::BadArgType { .. } => 500,
        }
    }
}

/// kube-apiserver's cap on the bytes `copy` operations may add to a document.
pub const MAX_COPY_BYTES: usize = 3 << 20;
/// kube-apiserver's cap on the operations of one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Which patch a Content-Type names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json`: kubectl's default (`patch`, client-side `apply`).
    StrategicMerge,
    /// `application/merge-patch+json`: RFC 7386 (`kubectl patch --type=merge`).
    Merge,
    /// `application/json-patch+json`: RFC 6902 (`kubectl patch --type=json`).
    Json,
}

/// The patch media types we accept, in upstream's order (the 415 lists them). Server-side
/// apply (`application/apply-patch+yaml`) is not among them: without field ownership it
/// could only be a merge, which silently keeps fields dropped from the applied file.
pub const ACCEPTED: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

impl PatchType {
    /// The patch type of a `Content-Type` header value; parameters (`;charset=utf-8`) and case
    /// are ignored. `None` for anything else, which the server answers with 415.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        match media_type.to_ascii_lowercase().as_str() {
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            _ => None,
        }
    }
}

/// Applies `patch` (raw body bytes) to `original` (the live object as JSON) and returns the
/// patched JSON.
/// Nothing here validates the result against the Job schema: decoding it is the caller's job.
pub fn apply_patch(original: &Value, patch: &[u8], kind: PatchType) -> Result<Value, Error> {
    match kind {
        PatchType::Json => json_patch(original, &parse_json(patch)?),
        PatchType::Merge => {
            let patch = parse_json(patch)?;
            // evanphx's MergePatch turns a list into the new document (RFC 7386) but rejects
            // `null` and scalars with ErrBadJSONPatch.
            if !patch.is_object() && !patch.is_array() {
                return Err(Error::InvalidJson);
            }
            let mut target = original.clone();
            merge_patch(&mut target, &patch);
            Ok(target)
        }
        PatchType::StrategicMerge => strategic_merge_patch(original, &parse_json(patch)?),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|_| Error::InvalidJson)
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch
// ---------------------------------------------------------------------------------------------

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON patch
// ---------------------------------------------------------------------------------------------

/// RFC 6902 JSON patch (add, remove, replace, move, copy, test), with RFC 6901 pointers (~0, ~1,
/// "-" for append).
///
/// Like evanphx/json-patch v4, which kube-apiserver uses: `replace` of a missing object member
/// adds it, negative array indices count from the end, and `null` means an empty patch.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, Error> {
    let ops = match ops {
        Value::Array(ops) => ops.as_slice(),
        Value::Null => &[],
        other => {
            return Err(Error::MalformedJsonPatch(format!(
                "expected a list of operations, got a {}",
                Kind::of(other).name()
            )));
        }
    };
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(Error::MalformedJsonPatch(format!(
            "the allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, but found {}",
            ops.len()
        )));
    }
    let mut doc = target.clone();
    let mut copied_bytes = 0usize;
    for (i, op) in ops.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(Error::MalformedJsonPatch(format!(
                "operation {i} is a {}, not an object",
                Kind::of(op).name()
            )));
        };
        let value = || op.get("value").cloned().unwrap_or(Value::Null);
        match op.get("op").and_then(Value::as_str).unwrap_or("unknown") {
            "add" => add(&mut doc, "add", pointer(op, "add", "path")?, value())?,
            "remove" => {
                remove(&mut doc, "remove", pointer(op, "remove", "path")?)?;
            }
            "replace" => replace(&mut doc, pointer(op, "replace", "path")?, value())?,
            "move" => {
                let from = pointer(op, "move", "from")?;
                let path = pointer(op, "move", "path")?;
                let moved = remove(&mut doc, "move", from)?;
                add(&mut doc, "move", path, moved)?;
            }
            "copy" => {
                let from = pointer(op, "copy", "from")?;
                let path = pointer(op, "copy", "path")?;
                let copied = get(&doc, "copy", from)?.clone();
                // Like kube-apiserver's json-patch, bound what copies may add: each copy
                // can double the document, so a few hundred bytes of patch could otherwise
                // exhaust memory.
                copied_bytes += serde_json::to_vec(&copied).map_or(0, |v| v.len());
                if copied_bytes > MAX_COPY_BYTES {
                    return Err(Error::JsonPatchCopyTooLarge {
                        size: copied_bytes,
                        limit: MAX_COPY_BYTES,
                    });
                }
                add(&mut doc, "copy", path, copied)?;
            }
            "test" => test(&doc, pointer(op, "test", "path")?, &value())?,
            other => {
                return Err(Error::JsonPatchUnknownOperation {
                    op: other.to_string(),
                });
            }
        }
    }
    Ok(doc)
}

fn pointer<'a>(
    op: &'a Map<String, Value>,
    name: &'static str,
    field: &'static str,
) -> Result<&'a str, Error> {
    op.get(field)
        .and_then(Value::as_str)
        .ok_or(Error::JsonPatchMissingField { op: name, field })
}

/// RFC 6901 reference tokens; `None` for a pointer not starting with `/`.
fn tokens(path: &str) -> Option<Vec<String>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    // `~1` before `~0`, so that `~01` means `~1` and not `/` (RFC 6901 §4).
    let rest = path.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// The last token of a non-root pointer and the tokens leading to its parent.
fn split_pointer(op: &'static str, path: &str) -> Result<(String, Vec<String>), Error> {
    let mut tokens = tokens(path).unwrap_or_default();
    match tokens.pop() {
        Some(last) => Ok((last, tokens)),
        // evanphx finds no parent for "" (or a pointer without a leading `/`).
        None => Err(missing_path(op, path)),
    }
}

fn missing_path(op: &'static str, path: &str) -> Error {
    Error::JsonPatchMissingPath {
        op,
        path: path.to_string(),
    }
}

/// An array position that cannot be used, before the operation and path are known.
enum IndexProblem {
    NotANumber,
    OutOfRange(i64),
}

impl IndexProblem {
    fn into_error(self, op: &'static str, path: &str, token: &str) -> Error {
        match self {
            IndexProblem::NotANumber => Error::JsonPatchNotAnIndex {
                op,
                path: path.to_string(),
                token: token.to_string(),
            },
            IndexProblem::OutOfRange(index) => Error::JsonPatchInvalidIndex {
                op,
                path: path.to_string(),
                index,
            },
        }
    }
}

/// Position of an existing element; negative counts from the end (evanphx v4's
/// `SupportNegativeIndices`).
fn existing_index(token: &str, len: usize) -> Result<usize, IndexProblem> {
    let index: i64 = token.parse().map_err(|_| IndexProblem::NotANumber)?;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let resolved = if index < 0 { index + len } else { index };
    if (0..len).contains(&resolved) {
        usize::try_from(resolved).map_err(|_| IndexProblem::OutOfRange(index))
    } else {
        Err(IndexProblem::OutOfRange(index))
    }
}

/// Insertion position: `len` appends, `-` too, negatives count from the new end.
fn insert_index(token: &str, len: usize) -> Result<usize, IndexProblem> {
    if token == "-" {
        return Ok(len);
    }
    let index: i64 = token.parse().map_err(|_| IndexProblem::NotANumber)?;
    let size = i64::try_from(len).unwrap_or(i64::MAX) + 1;
    let resolved = if index < 0 { index + size } else { index };
    if (0..size).contains(&resolved) {
        usize::try_from(resolved).map_err(|_| IndexProblem::OutOfRange(index))
    } else {
        Err(IndexProblem::OutOfRange(index))
    }
}

/// The object or array the tokens lead to; `None` when a step is missing or a scalar.
fn container_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    let mut current = doc;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get_mut(token)?,
            Value::Array(items) => {
                let index = existing_index(token, items.len()).ok()?;
                items.get_mut(index)?
            }
            _ => return None,
        };
    }
    (current.is_object() || current.is_array()).then_some(current)
}

fn container<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut current = doc;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get(token)?,
            Value::Array(items) => items.get(existing_index(token, items.len()).ok()?)?,
            _ => return None,
        };
    }
    (current.is_object() || current.is_array()).then_some(current)
}

fn add(doc: &mut Value, op: &'static str, path: &str, value: Value) -> Result<(), Error> {
    let (last, parents) = split_pointer(op, path)?;
    match container_mut(doc, &parents) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
        }
        Some(Value::Array(items)) => {
            let index = insert_index(&last, items.len())
                .map_err(|problem| problem.into_error(op, path, &last))?;
            items.insert(index, value);
        }
        _ => return Err(missing_path(op, path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, op: &'static str, path: &str) -> Result<Value, Error> {
    let (last, parents) = split_pointer(op, path)?;
    match container_mut(doc, &parents) {
        Some(Value::Object(map)) => map.remove(&last).ok_or(Error::JsonPatchMissingKey {
            op,
            path: path.to_string(),
            key: last,
        }),
        Some(Value::Array(items)) => {
            let index = existing_index(&last, items.len())
                .map_err(|problem| problem.into_error(op, path, &last))?;
            Ok(items.remove(index))
        }
        _ => Err(missing_path(op, path)),
    }
}

fn replace(doc: &mut Value, path: &str, value: Value) -> Result<(), Error> {
    const OP: &str = "replace";
    if path.is_empty() {
        if !value.is_object() && !value.is_array() {
            return Err(Error::JsonPatchReplaceRoot);
        }
        *doc = value;
        return Ok(());
    }
    let (last, parents) = split_pointer(OP, path)?;
    match container_mut(doc, &parents) {
        // evanphx v4 does not check that the member exists, so `replace` works as `add`
        // here, and kubectl users rely on it.
        Some(Value::Object(map)) => {
            map.insert(last, value);
        }
        Some(Value::Array(items)) => {
            let index = existing_index(&last, items.len())
                .map_err(|problem| problem.into_error(OP, path, &last))?;
            items[index] = value;
        }
        _ => return Err(missing_path(OP, path)),
    }
    Ok(())
}

fn get<'a>(doc: &'a Value, op: &'static str, path: &str) -> Result<&'a Value, Error> {
    if path.is_empty() {
        return Ok(doc);
    }
    let (last, parents) = split_pointer(op, path)?;
    match container(doc, &parents) {
        Some(Value::Object(map)) => map.get(&last).ok_or_else(|| missing_path(op, path)),
        Some(Value::Array(items)) => {
            let index = existing_index(&last, items.len())
                .map_err(|problem| problem.into_error(op, path, &last))?;
            Ok(&items[index])
        }
        _ => Err(missing_path(op, path)),
    }
}

fn test(doc: &Value, path: &str, expected: &Value) -> Result<(), Error> {
    const OP: &str = "test";
    let failed = || Error::JsonPatchTestFailed {
        path: path.to_string(),
    };
    let actual = if path.is_empty() {
        Some(doc)
    } else {
        let (last, parents) = split_pointer(OP, path)?;
        match container(doc, &parents) {
            Some(Value::Object(map)) => map.get(&last),
            Some(Value::Array(items)) => {
                let index = existing_index(&last, items.len())
                    .map_err(|problem| problem.into_error(OP, path, &last))?;
                items.get(index)
            }
            _ => return Err(missing_path(OP, path)),
        }
    };
    match actual {
        // evanphx v4: a missing member equals `null`.
        None if expected.is_null() => Ok(()),
        Some(actual) if json_equal(actual, expected) => Ok(()),
        _ => Err(failed()),
    }
}

/// Structural equality in which `1` equals `1.0`, because Go decodes every JSON number of a
/// patch into a float64 before comparing.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, a)| y.get(key).is_some_and(|b| json_equal(a, b)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------------------------

const DIRECTIVE: &str = "$patch";
const REPLACE: &str = "replace";
const DELETE: &str = "delete";
const MERGE: &str = "merge";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Kubernetes strategic merge patch for the kinds we serve (Job, CronJob, Pod, Namespace).
///
/// Maps merge recursively and `null` deletes a key. Lists merge as the `patchStrategy` and
/// `patchMergeKey` tags of k8s.io/api say (the table is on the private `Node` type below);
/// every other list is replaced whole. Directives: `$patch: replace|delete` on maps,
/// `$patch: delete|replace` in merging lists, `$deleteFromPrimitiveList/<field>`,
/// `$setElementOrder/<field>` and `$retainKeys`, none of which survive into the result.
///
/// Order follows upstream: without `$setElementOrder`, the patch's items come in the patch's
/// order and live-only items keep their place relative to them, so a new item not anchored by
/// an existing one lands *first* (as on a real cluster); with it, the given order wins.
pub fn strategic_merge_patch(target: &Value, patch: &Value) -> Result<Value, Error> {
    let original = match target {
        Value::Object(map) => map.clone(),
        // Server-side apply creating the object patches "nothing" (upstream: `handleUnmarshal`
        // treats a nil document as `{}`).
        Value::Null => Map::new(),
        _ => return Err(Error::NotAnObject),
    };
    let patch = match patch {
        Value::Object(map) => map.clone(),
        // Go's json.Unmarshal of `null` into a map leaves it empty: a no-op patch.
        Value::Null => Map::new(),
        _ => return Err(Error::NotAnObject),
    };
    merge_map(original, patch, Node::Root).map(Value::Object)
}

/// Where a map sits in a Job, CronJob, Pod or Namespace. Upstream reads list strategies from
/// the Go struct tags; we only have JSON, so we track the path instead. The table (from the
/// `patchStrategy`/`patchMergeKey` tags of k8s.io/api core/v1, batch/v1 and meta/v1):
///
/// | node: where                       | list field                          | strategy           |
/// |-----------------------------------|-------------------------------------|--------------------|
/// | `Meta`: any `metadata`            | `ownerReferences`                   | merge by `uid`     |
/// |                                   | `finalizers`                        | primitives, union  |
/// | `Spec`: the `spec` of a Job,      | `containers`, `initContainers`,     | merge by `name`    |
/// | CronJob, Pod or Namespace;        | `ephemeralContainers`               |                    |
/// | `PodSpec`: a template's `spec`    | `volumes`, `imagePullSecrets`,      | merge by `name`    |
/// |                                   | `schedulingGates`, `resourceClaims` |                    |
/// |                                   | `hostAliases`                       | merge by `ip`      |
/// |                                   | `topologySpreadConstraints`         | by `topologyKey`   |
/// | `Container`: an item of the three | `env`                               | merge by `name`    |
/// | container lists                   | `ports`                             | by `containerPort` |
/// |                                   | `volumeMounts`                      | by `mountPath`     |
/// |                                   | `volumeDevices`                     | by `devicePath`    |
/// | `Status`: `status`                | `conditions` (Job, Pod, Namespace)  | merge by `type`    |
/// |                                   | `podIPs`, `hostIPs`                 | merge by `ip`      |
/// |                                   | `resourceClaimStatuses`             | merge by `name`    |
/// | anywhere else                     | any list                            | replace            |
///
/// Replaced, for example: `command`, `args`, `tolerations`, `readinessGates`, every list in
/// `podFailurePolicy` and `successPolicy`, a Namespace's `spec.finalizers`, `managedFields`,
/// a CronJob's `status.active`, a Pod's `containerStatuses`.
///
/// `Spec` is the union of JobSpec, CronJobSpec, PodSpec and NamespaceSpec: their list names do
/// not collide, so the kind need not be known. Ephemeral containers carry the same tags as
/// containers. `$retainKeys` (tagged on `volumes` and `resourceClaims`) is honoured wherever it
/// appears, as upstream does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Root,
    Meta,
    Spec,
    JobTemplate,
    PodTemplate,
    PodSpec,
    Container,
    Status,
    Opaque,
}

/// How one list field merges.
#[derive(Clone, Copy, Debug)]
struct ListMeta {
    merge: bool,
    key: Option<&'static str>,
    items: Node,
}

impl ListMeta {
    const REPLACE: ListMeta = ListMeta {
        merge: false,
        key: None,
        items: Node::Opaque,
    };

    const fn by(key: &'static str, items: Node) -> ListMeta {
        ListMeta {
            merge: true,
            key: Some(key),
            items,
        }
    }
}

impl Node {
    /// The node of a map-valued field.
    fn child(self, field: &str) -> Node {
        match (self, field) {
            (Node::Root | Node::JobTemplate | Node::PodTemplate, "metadata") => Node::Meta,
            (Node::Root | Node::JobTemplate, "spec") => Node::Spec,
            (Node::Root, "status") => Node::Status,
            (Node::Spec, "template") => Node::PodTemplate,
            (Node::Spec, "jobTemplate") => Node::JobTemplate,
            (Node::PodTemplate, "spec") => Node::PodSpec,
            _ => Node::Opaque,
        }
    }

    /// The strategy of a list-valued field.
    fn list(self, field: &str) -> ListMeta {
        match (self, field) {
            (Node::Meta, "ownerReferences") => ListMeta::by("uid", Node::Opaque),
            (Node::Meta, "finalizers") => ListMeta {
                merge: true,
                key: None,
                items: Node::Opaque,
            },
            (
                Node::Spec | Node::PodSpec,
                "containers" | "initContainers" | "ephemeralContainers",
            ) => ListMeta::by("name", Node::Container),
            (
                Node::Spec | Node::PodSpec,
                "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims",
            ) => ListMeta::by("name", Node::Opaque),
            (Node::Spec | Node::PodSpec, "hostAliases") => ListMeta::by("ip", Node::Opaque),
            (Node::Spec | Node::PodSpec, "topologySpreadConstraints") => {
                ListMeta::by("topologyKey", Node::Opaque)
            }
            (Node::Container, "env") => ListMeta::by("name", Node::Opaque),
            (Node::Container, "ports") => ListMeta::by("containerPort", Node::Opaque),
            (Node::Container, "volumeMounts") => ListMeta::by("mountPath", Node::Opaque),
            (Node::Container, "volumeDevices") => ListMeta::by("devicePath", Node::Opaque),
            (Node::Status, "conditions") => ListMeta::by("type", Node::Opaque),
            (Node::Status, "podIPs" | "hostIPs") => ListMeta::by("ip", Node::Opaque),
            (Node::Status, "resourceClaimStatuses") => ListMeta::by("name", Node::Opaque),
            _ => ListMeta::REPLACE,
        }
    }
}

/// JSON types, compared where upstream compares Go `reflect.Type`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    List,
    Map,
}

impl Kind {
    fn of(value: &Value) -> Kind {
        match value {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::List,
            Value::Object(_) => Kind::Map,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::List => "list",
            Kind::Map => "map",
        }
    }
}

fn bad_arg(expected: Kind, actual: &Value) -> Error {
    Error::BadArgType {
        expected: expected.name(),
        actual: Kind::of(actual).name(),
    }
}

fn no_merge_key(item: &Value, key: &'static str) -> Error {
    Error::NoMergeKey {
        map: item.to_string(),
        key,
    }
}

fn unknown_directive(directive: &Value, map: &Map<String, Value>) -> Error {
    Error::UnknownDirective {
        directive: directive
            .as_str()
            .map_or_else(|| directive.to_string(), str::to_string),
        map: Value::Object(map.clone()).to_string(),
    }
}

/// `mergeMap`.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    node: Node,
) -> Result<Map<String, Value>, Error> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some(REPLACE) => {
                patch.remove(DIRECTIVE);
                Ok(clean_map(patch))
            }
            // Upstream empties the map rather than dropping its key.
            Some(DELETE) => Ok(Map::new()),
            _ => Err(unknown_directive(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_ordered_lists(&mut original, &mut patch, node)?;

    for (key, patch_value) in patch {
        let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?, true)
        } else {
            (key, false)
        };
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let current = match original.get_mut(&key) {
            Some(slot) => slot.take(),
            None => {
                // A deletion list never adds the list it deletes from.
                if !delete_list && let Some(value) = clean(patch_value) {
                    original.insert(key, value);
                }
                continue;
            }
        };
        let merged = match (current, patch_value) {
            (Value::Object(current), Value::Object(patch)) => {
                Some(Value::Object(merge_map(current, patch, node.child(&key))?))
            }
            (Value::Array(current), Value::Array(patch)) => {
                let meta = node.list(&key);
                // Deletion lists work on any list, merging or not, as upstream.
                if meta.merge || delete_list {
                    Some(Value::Array(merge_list(
                        current,
                        patch,
                        &key,
                        meta,
                        delete_list,
                    )?))
                } else {
                    clean(Value::Array(patch))
                }
            }
            (current, patch) if delete_list && Kind::of(&current) != Kind::of(&patch) => {
                Some(current)
            }
            (_, patch) => clean(patch),
        };
        match merged {
            Some(value) => {
                original.insert(key, value);
            }
            None => {
                original.remove(&key);
            }
        }
    }
    Ok(original)
}

/// `extractKey`: the field a `$directive/<field>` key names.
fn extract_key(key: &str, prefix: &str) -> Result<String, Error> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field.to_string()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST => Err(Error::PrimitiveListFormat),
        _ => Err(Error::SetElementOrderFormat),
    }
}

/// `applyRetainKeysDirective`: kubectl sends it when a union member changes (a volume going
/// from `emptyDir` to `hostPath`), and the old member must go or the volume has two sources.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(Error::RetainKeysFormat);
    };
    let retained = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    let unretained_key_set = patch.iter().any(|(key, value)| {
        !value.is_null()
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !retained(key)
    });
    if unretained_key_set {
        return Err(Error::RetainKeysFormat);
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// `mergePatchIntoOriginal`: merges each list named by a `$setElementOrder/<field>` and puts
/// it in that order (then live-only items where they were).
fn merge_ordered_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    node: Node,
) -> Result<(), Error> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg(Kind::List, &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER)?;
        let current = list_field(original, &field)?;
        let patch_list = list_field(patch, &field)?;
        let meta = node.list(&field);
        validate_order(patch_list.as_deref().unwrap_or_default(), &order, meta.key)?;

        let merged = match (current.clone(), patch_list) {
            (None, None) => continue,
            (Some(current), None) => current,
            (None, Some(patch_list)) => clean_list(patch_list),
            (Some(current), Some(patch_list)) if meta.merge => {
                merge_list(current, patch_list, &field, meta, false)?
            }
            (Some(_), Some(patch_list)) => clean_list(patch_list),
        };
        patch.remove(&field);

        let key = if merged.iter().all(Value::is_object) {
            meta.key
        } else {
            None
        };
        // Ordering maps needs their merge key; a keyless list of maps (which kubectl never
        // orders) keeps the order it has, where upstream would panic hashing maps.
        let ordered = if merged.is_empty() || (key.is_none() && merged.iter().any(Value::is_object))
        {
            merged
        } else {
            let server_order = current.unwrap_or_default();
            let (patch_items, server_only) = partition(merged, &order, key)?;
            normalize_element_order(patch_items, server_only, &order, &server_order, key)?
        };
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

/// A list-valued field, `None` when absent (or `null`).
fn list_field(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<Value>>, Error> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(bad_arg(Kind::List, other)),
    }
}

/// `validatePatchWithSetOrderList`: the patch list must be a subsequence of the order list.
fn validate_order(
    patch_list: &[Value],
    order: &[Value],
    key: Option<&'static str>,
) -> Result<(), Error> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch_list.len());
    for item in patch_list {
        if key.is_some() {
            if !item.is_object() {
                return Err(bad_arg(Kind::Map, item));
            }
            if is_delete_item(item) {
                continue;
            }
        }
        items.push(item);
    }
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if items[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        if merge_key_value_equal(items[p], &order[o], key)? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() && o >= order.len() {
        return Err(Error::SetElementOrderMismatch {
            patch: Value::Array(patch_list.to_vec()).to_string(),
            order: Value::Array(order.to_vec()).to_string(),
        });
    }
    Ok(())
}

fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    key: Option<&'static str>,
) -> Result<bool, Error> {
    let Some(key) = key else {
        return Ok(left == right);
    };
    for side in [left, right] {
        if !side.is_object() {
            return Err(bad_arg(Kind::Map, side));
        }
    }
    let l = left.get(key).ok_or_else(|| no_merge_key(left, key))?;
    let r = right.get(key).ok_or_else(|| no_merge_key(right, key))?;
    Ok(l == r)
}

fn is_delete_item(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some(DELETE)
}

/// `mergeSlice`: merges a list with merge strategy (or applies a deletion list).
fn merge_list(
    current: Vec<Value>,
    patch: Vec<Value>,
    field: &str,
    meta: ListMeta,
    delete_list: bool,
) -> Result<Vec<Value>, Error> {
    if current.is_empty() && patch.is_empty() {
        return Ok(current);
    }
    let kind = element_kind(&current, &patch)?;
    if kind != Some(Kind::Map) {
        if delete_list {
            return Ok(current.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        // A merging list of primitives is an ordered set: duplicates go.
        let mut merged: Vec<Value> = Vec::with_capacity(current.len() + patch.len());
        for value in current.iter().chain(&patch) {
            if !merged.contains(value) {
                merged.push(value.clone());
            }
        }
        let (patch_items, server_only) = partition(merged, &patch, None)?;
        return normalize_element_order(patch_items, server_only, &patch, &current, None);
    }
    let key = meta.key.ok_or_else(|| Error::NoMergeKeyForList {
        field: field.to_string(),
    })?;
    let (current, patch) = apply_list_directives(current, patch, key)?;
    let merged = merge_items(current.clone(), &patch, key, meta.items)?;
    let (patch_items, server_only) = partition(merged, &patch, Some(key))?;
    normalize_element_order(patch_items, server_only, &patch, &current, Some(key))
}

/// `sliceElementType`: the one JSON type of all items; `None` for no items.
fn element_kind(current: &[Value], patch: &[Value]) -> Result<Option<Kind>, Error> {
    let mut seen = None;
    for value in current.iter().chain(patch) {
        let kind = Kind::of(value);
        match seen {
            None if kind == Kind::List => return Err(Error::NoListOfLists),
            None => seen = Some(kind),
            Some(seen) if seen != kind => {
                return Err(Error::MixedElementTypes {
                    lists: format!(
                        "{} {}",
                        Value::Array(current.to_vec()),
                        Value::Array(patch.to_vec())
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(seen)
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` items (every live item with that
/// key goes) and `$patch: replace` (the patch's plain items become the list).
fn apply_list_directives(
    mut current: Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(bad_arg(Kind::Map, &item));
        };
        let Some(directive) = map.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some(DELETE) => {
                let value = map.get(key).ok_or_else(|| no_merge_key(&item, key))?;
                while let Some(index) = find_by_key(&current, key, value)? {
                    current.remove(index);
                }
            }
            // Keep going: other directive items must still be dropped (upstream does too).
            Some(REPLACE) => replace = true,
            Some(MERGE) => return Err(Error::MergeDirectiveInList),
            _ => return Err(unknown_directive(directive, map)),
        }
    }
    if replace {
        Ok((clean_list(plain), Vec::new()))
    } else {
        Ok((current, plain))
    }
}

/// `mergeSliceWithoutSpecialElements`: merges patch items into live items with the same key,
/// appends the others (their final place is decided by [`normalize_element_order`]).
fn merge_items(
    mut current: Vec<Value>,
    patch: &[Value],
    key: &'static str,
    items: Node,
) -> Result<Vec<Value>, Error> {
    for item in patch {
        let Value::Object(map) = item else {
            return Err(bad_arg(Kind::Map, item));
        };
        let value = map.get(key).ok_or_else(|| no_merge_key(item, key))?;
        match find_by_key(&current, key, value)? {
            Some(index) => {
                let Value::Object(existing) = current[index].take() else {
                    return Err(Error::NotAMap { index });
                };
                current[index] = Value::Object(merge_map(existing, map.clone(), items)?);
            }
            None => current.extend(clean(item.clone())),
        }
    }
    Ok(current)
}

/// `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, Error> {
    for (index, item) in list.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(Error::NotAMap { index });
        };
        if map.get(key) == Some(value) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// `partition{Primitives,Maps}ByPresentInList`: items also in `by`, and the rest.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: Option<&'static str>,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut in_by = Vec::with_capacity(merged.len());
    let mut rest = Vec::with_capacity(merged.len());
    for item in merged {
        let found = match key {
            None => by.contains(&item),
            Some(key) => {
                if !item.is_object() {
                    return Err(bad_arg(Kind::Map, &item));
                }
                let value = item.get(key).ok_or_else(|| no_merge_key(&item, key))?;
                find_by_key(by, key, value)?.is_some()
            }
        };
        if found {
            in_by.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((in_by, rest))
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order` and the live-only items by
/// `server_order`, then interleaves them.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&'static str>,
) -> Result<Vec<Value>, Error> {
    let patch_items = sort_by_order(patch_items, patch_order, key)?;
    let server_only = sort_by_order(server_only, server_order, key)?;
    Ok(merge_sorted(server_only, patch_items, server_order, key))
}

/// `normalizeSliceOrder`. Upstream's comparator treats an item missing from `order` as "less"
/// than anything, which is not an ordering; such items only occur with a malformed
/// `$setElementOrder`, and we put them last.
fn sort_by_order(
    items: Vec<Value>,
    order: &[Value],
    key: Option<&'static str>,
) -> Result<Vec<Value>, Error> {
    let (mut keep, deletes): (Vec<Value>, Vec<Value>) = match key {
        Some(key) => {
            for item in items.iter().chain(order) {
                if !item.is_object() {
                    return Err(bad_arg(Kind::Map, item));
                }
                if item.get(key).is_none() {
                    return Err(no_merge_key(item, key));
                }
            }
            items.into_iter().partition(|item| !is_delete_item(item))
        }
        None => (items, Vec::new()),
    };
    keep.sort_by_key(|item| position(order, item, key).unwrap_or(usize::MAX));
    keep.extend(deletes);
    Ok(keep)
}

/// `index`: where an item (by merge key, or by value for primitives) is in `list`.
fn position(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let wanted = identity(item, key);
    list.iter()
        .position(|candidate| identity(candidate, key) == wanted)
}

/// What [`position`] compares: the merge key's value, or the primitive itself. Upstream's Go
/// yields `nil` for an item without the key, and `nil == nil`; `None == None` does the same.
fn identity<'a>(value: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(key) => value.get(key),
        None => Some(value),
    }
}

/// `mergeSortedSlice`: inserts the live-only items (`left`) among the patch items (`right`),
/// keeping both relative orders; a live-only item goes before a patch item only when both are
/// in the live list and it came first there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (VecDeque::from(left), VecDeque::from(right));
    while let (Some(l), Some(r)) = (left.front(), right.front()) {
        let left_first = match (
            position(server_order, l, key),
            position(server_order, r, key),
        ) {
            (Some(li), Some(ri)) => li < ri,
            _ => false,
        };
        let next = if left_first {
            left.pop_front()
        } else {
            right.pop_front()
        };
        merged.extend(next);
    }
    merged.extend(left);
    merged.extend(right);
    merged
}

/// Keys the patch format reserves; they never belong in an object.
fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// `removeDirectives` plus `discardNullValuesFromPatch`, for patch values that become part of
/// the object as they are: maps holding `$patch` vanish, `null` members go. Unlike upstream we
/// also drop stray `$setElementOrder`/`$retainKeys`/`$deleteFromPrimitiveList` keys, which the
/// typed decoder would otherwise reject under `fieldValidation=Strict`.
fn clean(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(DIRECTIVE) => None,
        Value::Object(map) => Some(Value::Object(clean_map(map))),
        Value::Array(items) => Some(Value::Array(clean_list(items))),
        other => Some(other),
    }
}

fn clean_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(key, value)| !value.is_null() && !is_directive_key(key))
        .filter_map(|(key, value)| clean(value).map(|value| (key, value)))
        .collect()
}

fn clean_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().filter_map(clean).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The classic `pi` Job as the store holds it.
    fn pi_job() -> Value {
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "pi",
                "namespace": "default",
                "labels": {"app": "pi"},
                "finalizers": ["batch.kubernetes.io/job-tracking"],
            },
            "spec": {
                "parallelism": 1,
                "completions": 1,
                "backoffLimit": 6,
                "suspend": false,
                "template": {
                    "metadata": {"labels": {"app": "pi"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": "pi",
                            "image": "pi.wasm",
                            "command": ["pi", "-p", "2000"],
                            "env": [{"name": "DIGITS", "value": "2000"}],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }],
                        "volumes": [{"name": "data", "emptyDir": {}}],
                        "tolerations": [{"key": "a", "operator": "Exists"}],
                    },
                },
            },
            "status": {},
        })
    }

    fn smp(original: &Value, patch: Value) -> Value {
        strategic_merge_patch(original, &patch)
            .unwrap_or_else(|e| panic!("patch {patch} failed: {e}"))
    }

    /// Fails when any object key starting with `$` made it into the result.
    fn assert_no_directives(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    assert!(!key.starts_with('$'), "directive {key} left in the result");
                    assert_no_directives(value);
                }
            }
            Value::Array(items) => items.iter().for_each(assert_no_directives),
            _ => {}
        }
    }

    #[test]
    fn copies_that_would_blow_up_the_document_are_refused() {
        let doc = json!({"metadata": {"annotations": {"a": "x".repeat(1000)}}});
        let ops: Vec<Value> = (0..24)
            .map(|i| json!({"op": "copy", "from": "/metadata/annotations", "path": format!("/metadata/annotations/c{i}")}))
            .collect();
        let err = json_patch(&doc, &Value::Array(ops)).unwrap_err();
        assert!(matches!(err, Error::JsonPatchCopyTooLarge { .. }), "{err}");
        assert_eq!(err.status_code(), 422);
    }

    #[test]
    fn content_types_name_their_patch_type_with_or_without_parameters() {
        let cases = [
            (
                "application/strategic-merge-patch+json",
                Some(PatchType::StrategicMerge),
            ),
            ("application/merge-patch+json", Some(PatchType::Merge)),
            ("application/json-patch+json", Some(PatchType::Json)),
            ("application/apply-patch+yaml", None),
            (
                "application/merge-patch+json; charset=utf-8",
                Some(PatchType::Merge),
            ),
            ("Application/JSON-Patch+JSON", Some(PatchType::Json)),
            ("application/json", None),
            ("application/apply-patch+cbor", None),
            ("", None),
        ];
        for (ct, expected) in cases {
            assert_eq!(PatchType::from_content_type(ct), expected, "{ct}");
        }
    }

    #[test]
    fn merge_patch_matches_every_rfc_7386_appendix_example() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (original, patch, expected) in cases {
            let mut target = original.clone();
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "{original} + {patch}");
        }
    }

    #[test]
    fn a_merge_patch_body_must_be_an_object_or_a_list() {
        let job = pi_job();
        for body in ["null", "5", "\"x\"", "{not json"] {
            assert_eq!(
                apply_patch(&job, body.as_bytes(), PatchType::Merge),
                Err(Error::InvalidJson),
                "{body}"
            );
        }
        let patched = apply_patch(
            &job,
            br#"{"spec":{"template":{"spec":{"containers":[{"name":"x","image":"x.wasm"}]}}}}"#,
            PatchType::Merge,
        )
        .expect("merge patch applies");
        // A merge patch knows no merge keys: the list is replaced.
        assert_eq!(
            patched.pointer("/spec/template/spec/containers"),
            Some(&json!([{"name": "x", "image": "x.wasm"}]))
        );
    }

    #[test]
    fn json_patch_matches_the_rfc_6902_appendix_examples() {
        let cases = [
            (
                "A.1 adds an object member",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux"}]),
                json!({"baz": "qux", "foo": "bar"}),
            ),
            (
                "A.2 adds an array element",
                json!({"foo": ["bar", "baz"]}),
                json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
                json!({"foo": ["bar", "qux", "baz"]}),
            ),
            (
                "A.3 removes an object member",
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "remove", "path": "/baz"}]),
                json!({"foo": "bar"}),
            ),
            (
                "A.4 removes an array element",
                json!({"foo": ["bar", "qux", "baz"]}),
                json!([{"op": "remove", "path": "/foo/1"}]),
                json!({"foo": ["bar", "baz"]}),
            ),
            (
                "A.5 replaces a value",
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
                json!({"baz": "boo", "foo": "bar"}),
            ),
            (
                "A.6 moves a value",
                json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
                json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
                json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
            ),
            (
                "A.7 moves an array element",
                json!({"foo": ["all", "grass", "cows", "eat"]}),
                json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
                json!({"foo": ["all", "cows", "eat", "grass"]}),
            ),
            (
                "A.8 tests values successfully",
                json!({"baz": "qux", "foo": ["a", 2, "c"]}),
                json!([
                    {"op": "test", "path": "/baz", "value": "qux"},
                    {"op": "test", "path": "/foo/1", "value": 2},
                ]),
                json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            ),
            (
                "A.10 adds a nested member object",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
                json!({"foo": "bar", "child": {"grandchild": {}}}),
            ),
            (
                "A.11 ignores unrecognized elements",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
                json!({"foo": "bar", "baz": "qux"}),
            ),
            (
                "A.14 unescapes ~01 to ~1, not to /",
                json!({"/": 9, "~1": 10}),
                json!([{"op": "test", "path": "/~01", "value": 10}]),
                json!({"/": 9, "~1": 10}),
            ),
            (
                "A.16 appends an array value with -",
                json!({"foo": ["bar"]}),
                json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
                json!({"foo": ["bar", ["abc", "def"]]}),
            ),
            (
                "~1 addresses a member with a slash",
                json!({"metadata": {"annotations": {}}}),
                json!([{"op": "add", "path": "/metadata/annotations/example.com~1x", "value": "y"}]),
                json!({"metadata": {"annotations": {"example.com/x": "y"}}}),
            ),
            (
                "copy duplicates a value",
                json!({"a": {"b": [1]}}),
                json!([{"op": "copy", "from": "/a/b", "path": "/c"}]),
                json!({"a": {"b": [1]}, "c": [1]}),
            ),
            (
                "replace of a missing member adds it, as on kube-apiserver",
                json!({"spec": {}}),
                json!([{"op": "replace", "path": "/spec/activeDeadlineSeconds", "value": 100}]),
                json!({"spec": {"activeDeadlineSeconds": 100}}),
            ),
            (
                "a negative index counts from the end",
                json!({"a": [1, 2, 3]}),
                json!([{"op": "remove", "path": "/a/-1"}]),
                json!({"a": [1, 2]}),
            ),
            (
                "test compares 1 and 1.0 as equal numbers",
                json!({"a": 1}),
                json!([{"op": "test", "path": "/a", "value": 1.0}]),
                json!({"a": 1}),
            ),
        ];
        for (name, doc, ops, expected) in cases {
            assert_eq!(json_patch(&doc, &ops), Ok(expected), "{name}");
        }
    }

    #[test]
    fn json_patch_failures_name_the_operation_and_path() {
        let cases = [
            (
                "A.9 test error",
                json!({"baz": "qux"}),
                json!([{"op": "test", "path": "/baz", "value": "bar"}]),
                Error::JsonPatchTestFailed {
                    path: "/baz".into(),
                },
            ),
            (
                "A.12 add to a nonexistent target",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
                Error::JsonPatchMissingPath {
                    op: "add",
                    path: "/baz/bat".into(),
                },
            ),
            (
                "A.15 a string is not a number",
                json!({"/": 9, "~1": 10}),
                json!([{"op": "test", "path": "/~01", "value": "10"}]),
                Error::JsonPatchTestFailed {
                    path: "/~01".into(),
                },
            ),
            (
                "removing a missing member",
                pi_job(),
                json!([{"op": "remove", "path": "/spec/activeDeadlineSeconds"}]),
                Error::JsonPatchMissingKey {
                    op: "remove",
                    path: "/spec/activeDeadlineSeconds".into(),
                    key: "activeDeadlineSeconds".into(),
                },
            ),
            (
                "removing below a missing member",
                pi_job(),
                json!([{"op": "remove", "path": "/spec/podFailurePolicy/rules"}]),
                Error::JsonPatchMissingPath {
                    op: "remove",
                    path: "/spec/podFailurePolicy/rules".into(),
                },
            ),
            (
                "a test of a Job field",
                pi_job(),
                json!([
                    {"op": "test", "path": "/spec/parallelism", "value": 2},
                    {"op": "replace", "path": "/spec/parallelism", "value": 3},
                ]),
                Error::JsonPatchTestFailed {
                    path: "/spec/parallelism".into(),
                },
            ),
            (
                "an index past the end",
                json!({"a": [1]}),
                json!([{"op": "add", "path": "/a/5", "value": 2}]),
                Error::JsonPatchInvalidIndex {
                    op: "add",
                    path: "/a/5".into(),
                    index: 5,
                },
            ),
            (
                "- in a remove",
                json!({"a": [1]}),
                json!([{"op": "remove", "path": "/a/-"}]),
                Error::JsonPatchNotAnIndex {
                    op: "remove",
                    path: "/a/-".into(),
                    token: "-".into(),
                },
            ),
            (
                "moving a missing member",
                json!({"a": {}}),
                json!([{"op": "move", "from": "/a/b", "path": "/c"}]),
                Error::JsonPatchMissingKey {
                    op: "move",
                    path: "/a/b".into(),
                    key: "b".into(),
                },
            ),
            (
                "an operation without a path",
                json!({}),
                json!([{"op": "add", "value": 1}]),
                Error::JsonPatchMissingField {
                    op: "add",
                    field: "path",
                },
            ),
            (
                "an unknown operation",
                json!({}),
                json!([{"op": "frobnicate", "path": "/a"}]),
                Error::JsonPatchUnknownOperation {
                    op: "frobnicate".into(),
                },
            ),
            (
                "a patch that is not a list",
                json!({}),
                json!({"op": "add"}),
                Error::MalformedJsonPatch("expected a list of operations, got a map".into()),
            ),
        ];
        for (name, doc, ops, expected) in cases {
            assert_eq!(json_patch(&doc, &ops), Err(expected), "{name}");
        }
    }

    #[test]
    fn json_patch_errors_read_like_kube_apiserver() {
        let err = json_patch(
            &pi_job(),
            &json!([{"op": "test", "path": "/spec/parallelism", "value": 2}]),
        )
        .expect_err("test fails");
        assert_eq!(
            err.to_string(),
            "testing value /spec/parallelism failed: test failed"
        );
        assert_eq!(err.status_code(), 422);
        let err = json_patch(&pi_job(), &json!([{"op": "remove", "path": "/spec/foo"}]))
            .expect_err("remove fails");
        assert_eq!(
            err.to_string(),
            "error in remove for path: '/spec/foo': unable to remove nonexistent key: foo: missing value"
        );
        let err = apply_patch(&pi_job(), b"[{", PatchType::Json).expect_err("not json");
        assert_eq!(err.to_string(), "invalid JSON patch");
        assert_eq!(err.status_code(), 400);
    }

    #[test]
    fn a_failed_json_patch_leaves_the_original_untouched() {
        let job = pi_job();
        let ops = json!([
            {"op": "replace", "path": "/spec/parallelism", "value": 5},
            {"op": "test", "path": "/spec/completions", "value": 9},
        ]);
        assert!(json_patch(&job, &ops).is_err());
        assert_eq!(job, pi_job());
    }

    #[test]
    fn kubectl_apply_with_set_element_order_updates_the_container_in_place() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "pi"}],
            "containers": [{"env": [{"name": "A", "value": "1"}], "image": "pi2.wasm", "name": "pi"}],
        }}}});
        let mut job = pi_job();
        job["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .expect("container")
            .remove("env");
        let patched = smp(&job, patch);
        assert_eq!(
            patched.pointer("/spec/template/spec/containers"),
            Some(&json!([{
                "name": "pi",
                "image": "pi2.wasm",
                "command": ["pi", "-p", "2000"],
                "env": [{"name": "A", "value": "1"}],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }]))
        );
        assert_no_directives(&patched);
    }

    #[test]
    fn the_client_side_apply_patch_sets_the_annotation_and_mutable_fields_only() {
        let applied = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\"}\n";
        let patch = json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}},
            "spec": {"parallelism": 2, "suspend": true},
        });
        let patched = apply_patch(
            &pi_job(),
            patch.to_string().as_bytes(),
            PatchType::StrategicMerge,
        )
        .expect("patch applies");
        let mut expected = pi_job();
        expected["metadata"]["annotations"] =
            json!({"kubectl.kubernetes.io/last-applied-configuration": applied});
        expected["spec"]["parallelism"] = json!(2);
        expected["spec"]["suspend"] = json!(true);
        assert_eq!(patched, expected);
    }

    #[test]
    fn a_patch_restating_live_values_changes_nothing() {
        let job = pi_job();
        let patch = json!({
            "metadata": {"labels": {"app": "pi"}, "finalizers": ["batch.kubernetes.io/job-tracking"]},
            "spec": {"suspend": false, "template": {"spec": {
                "containers": [{"name": "pi", "image": "pi.wasm", "env": [{"name": "DIGITS", "value": "2000"}]}],
                "volumes": [{"name": "data", "emptyDir": {}}],
            }}},
        });
        assert_eq!(smp(&job, patch), job);
    }

    /// Strategic merge cases on the pi Job: (what happens, patch, pointer, value there after).
    #[test]
    fn strategic_merge_patch_follows_the_job_and_pod_patch_strategies() {
        let cases: Vec<(&str, Value, &str, Option<Value>)> = vec![
            (
                "null deletes a key",
                json!({"spec": {"completions": null}}),
                "/spec/completions",
                None,
            ),
            (
                "null deletes a label and keeps the others",
                json!({"metadata": {"labels": {"app": null, "tier": "batch"}}}),
                "/metadata/labels",
                Some(json!({"tier": "batch"})),
            ),
            (
                "a null for a missing key is ignored",
                json!({"spec": {"activeDeadlineSeconds": null}}),
                "/spec",
                pi_job().pointer("/spec").cloned(),
            ),
            (
                "nulls inside a new map are dropped",
                json!({"spec": {"podFailurePolicy": {"rules": [], "x": null}}}),
                "/spec/podFailurePolicy",
                Some(json!({"rules": []})),
            ),
            (
                "containers merge by name and new ones go first without $setElementOrder",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side.wasm"}]}}}}),
                "/spec/template/spec/containers/0/name",
                Some(json!("side")),
            ),
            (
                "the live container is kept beside a new one",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side.wasm"}]}}}}),
                "/spec/template/spec/containers/1/image",
                Some(json!("pi.wasm")),
            ),
            (
                "$setElementOrder puts a new container last",
                json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "pi"}, {"name": "side"}],
                    "containers": [{"name": "side", "image": "side.wasm"}],
                }}}}),
                "/spec/template/spec/containers/1/name",
                Some(json!("side")),
            ),
            (
                "$patch: delete removes a container by name",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "$patch": "delete"}]}}}}),
                "/spec/template/spec/containers",
                Some(json!([])),
            ),
            (
                "$patch: replace replaces the whole container list",
                json!({"spec": {"template": {"spec": {"containers": [
                    {"$patch": "replace"}, {"name": "new", "image": "new.wasm"},
                ]}}}}),
                "/spec/template/spec/containers",
                Some(json!([{"name": "new", "image": "new.wasm"}])),
            ),
            (
                "env merges by name: a changed value, a new variable, a deleted one",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "env": [
                    {"name": "DIGITS", "value": "10"},
                    {"name": "NEW", "value": "1"},
                ]}]}}}}),
                "/spec/template/spec/containers/0/env",
                Some(json!([{"name": "DIGITS", "value": "10"}, {"name": "NEW", "value": "1"}])),
            ),
            (
                "env items go by $patch: delete",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "env": [
                    {"name": "DIGITS", "$patch": "delete"},
                ]}]}}}}),
                "/spec/template/spec/containers/0/env",
                Some(json!([])),
            ),
            (
                "volumeMounts merge by mountPath",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "volumeMounts": [
                    {"mountPath": "/data", "readOnly": true},
                    {"mountPath": "/cache", "name": "cache"},
                ]}]}}}}),
                "/spec/template/spec/containers/0/volumeMounts",
                Some(json!([
                    {"name": "data", "mountPath": "/data", "readOnly": true},
                    {"mountPath": "/cache", "name": "cache"},
                ])),
            ),
            (
                "ports merge by containerPort",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "ports": [
                    {"containerPort": 8080, "name": "http"},
                ]}]}}}}),
                "/spec/template/spec/containers/0/ports",
                Some(json!([{"containerPort": 8080, "protocol": "TCP", "name": "http"}])),
            ),
            (
                "command has no strategy and is replaced whole",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "command": ["pi"]}]}}}}),
                "/spec/template/spec/containers/0/command",
                Some(json!(["pi"])),
            ),
            (
                "args are replaced whole",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "args": ["1", "2"]}]}}}}),
                "/spec/template/spec/containers/0/args",
                Some(json!(["1", "2"])),
            ),
            (
                "tolerations have no merge key and are replaced whole",
                json!({"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}),
                "/spec/template/spec/tolerations",
                Some(json!([{"key": "b", "operator": "Exists"}])),
            ),
            (
                "volumes merge by name",
                json!({"spec": {"template": {"spec": {"volumes": [{"name": "cache", "emptyDir": {}}]}}}}),
                "/spec/template/spec/volumes",
                Some(json!([{"name": "cache", "emptyDir": {}}, {"name": "data", "emptyDir": {}}])),
            ),
            (
                "$retainKeys drops the volume source that was switched away from",
                json!({"spec": {"template": {"spec": {"volumes": [{
                    "$retainKeys": ["hostPath", "name"],
                    "name": "data",
                    "hostPath": {"path": "/srv"},
                }]}}}}),
                "/spec/template/spec/volumes",
                Some(json!([{"name": "data", "hostPath": {"path": "/srv"}}])),
            ),
            (
                "finalizers merge as a set",
                json!({"metadata": {"finalizers": ["batch.kubernetes.io/job-tracking", "example.com/keep"]}}),
                "/metadata/finalizers",
                Some(json!([
                    "batch.kubernetes.io/job-tracking",
                    "example.com/keep"
                ])),
            ),
            (
                "$deleteFromPrimitiveList removes finalizers",
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["batch.kubernetes.io/job-tracking"]}}),
                "/metadata/finalizers",
                Some(json!([])),
            ),
            (
                "$deleteFromPrimitiveList works on a list without strategy too",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi",
                    "$deleteFromPrimitiveList/command": ["-p"]}]}}}}),
                "/spec/template/spec/containers/0/command",
                Some(json!(["pi", "2000"])),
            ),
            (
                "$deleteFromPrimitiveList never creates the list",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "pi",
                    "$deleteFromPrimitiveList/args": ["x"]}]}}}}),
                "/spec/template/spec/containers/0/args",
                None,
            ),
            (
                "$patch: replace on a map replaces it",
                json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}}}),
                "/metadata/labels",
                Some(json!({"only": "this"})),
            ),
            (
                "$patch: delete on a map empties it",
                json!({"spec": {"template": {"metadata": {"labels": {"$patch": "delete"}}}}}),
                "/spec/template/metadata/labels",
                Some(json!({})),
            ),
            (
                "podFailurePolicy rules have no strategy and are replaced whole",
                json!({"spec": {"podFailurePolicy": {"rules": [{"action": "Ignore"}]}}}),
                "/spec/podFailurePolicy/rules",
                Some(json!([{"action": "Ignore"}])),
            ),
            (
                "an empty patch list leaves a merging list alone",
                json!({"spec": {"template": {"spec": {"containers": []}}}}),
                "/spec/template/spec/containers/0/name",
                Some(json!("pi")),
            ),
            (
                "a value of another type replaces the live one",
                json!({"spec": {"template": {"spec": {"volumes": {"not": "a list"}}}}}),
                "/spec/template/spec/volumes",
                Some(json!({"not": "a list"})),
            ),
        ];
        for (name, patch, pointer, expected) in cases {
            let patched = smp(&pi_job(), patch);
            assert_eq!(patched.pointer(pointer), expected.as_ref(), "{name}");
            assert_no_directives(&patched);
        }
    }

    #[test]
    fn set_element_order_with_a_list_the_live_object_lacks_adds_the_list() {
        let patched = smp(
            &pi_job(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/initContainers": [{"name": "b"}, {"name": "a"}],
                "initContainers": [{"name": "b", "image": "b.wasm"}, {"name": "a", "image": "a.wasm"}],
            }}}}),
        );
        assert_eq!(
            patched.pointer("/spec/template/spec/initContainers"),
            Some(&json!([{"name": "b", "image": "b.wasm"}, {"name": "a", "image": "a.wasm"}]))
        );
        assert_no_directives(&patched);
    }

    #[test]
    fn empty_patches_change_nothing() {
        let job = pi_job();
        assert_eq!(
            apply_patch(&job, b"{}", PatchType::StrategicMerge),
            Ok(job.clone())
        );
        assert_eq!(
            apply_patch(&job, b"null", PatchType::StrategicMerge),
            Ok(job.clone())
        );
        assert_eq!(apply_patch(&job, b"[]", PatchType::Json), Ok(job.clone()));
        assert_eq!(apply_patch(&job, b"null", PatchType::Json), Ok(job.clone()));
        assert_eq!(apply_patch(&job, b"{}", PatchType::Merge), Ok(job));
    }

    #[test]
    fn errors_carry_kube_apiserver_status_codes() {
        let cases = [
            (Error::InvalidJson, 400),
            (Error::NotAnObject, 400),
            (Error::RetainKeysFormat, 400),
            (Error::JsonPatchTestFailed { path: "/a".into() }, 422),
            (Error::NoListOfLists, 422),
            (Error::MergeDirectiveInList, 500),
        ];
        for (error, code) in cases {
            assert_eq!(error.status_code(), code, "{error}");
        }
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let mut job = pi_job();
        job["metadata"]["ownerReferences"] = json!([{"uid": "1", "kind": "CronJob", "name": "a"}]);
        let patched = smp(
            &job,
            json!({"metadata": {"ownerReferences": [
                {"uid": "1", "controller": true},
                {"uid": "2", "kind": "CronJob", "name": "b"},
            ]}}),
        );
        assert_eq!(
            patched.pointer("/metadata/ownerReferences"),
            Some(&json!([
                {"uid": "1", "kind": "CronJob", "name": "a", "controller": true},
                {"uid": "2", "kind": "CronJob", "name": "b"},
            ]))
        );
    }

    #[test]
    fn a_cronjob_template_container_merges_by_name() {
        let cronjob = json!({
            "kind": "CronJob",
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "c.wasm", "env": [{"name": "A", "value": "1"}]}],
            }}}}},
        });
        let patched = smp(
            &cronjob,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "env": [{"name": "B", "value": "2"}]}],
            }}}}}}),
        );
        assert_eq!(
            patched.pointer("/spec/jobTemplate/spec/template/spec/containers/0"),
            Some(&json!({"name": "c", "image": "c.wasm", "env": [
                {"name": "B", "value": "2"},
                {"name": "A", "value": "1"},
            ]}))
        );
    }

    #[test]
    fn a_namespace_spec_finalizer_list_is_replaced_but_metadata_finalizers_merge() {
        let namespace = json!({
            "kind": "Namespace",
            "metadata": {"name": "team-a", "finalizers": ["a"]},
            "spec": {"finalizers": ["kubernetes"]},
        });
        let patched = smp(
            &namespace,
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"finalizers": ["other"]}}),
        );
        assert_eq!(
            patched.pointer("/metadata/finalizers"),
            Some(&json!(["b", "a"]))
        );
        assert_eq!(patched.pointer("/spec/finalizers"), Some(&json!(["other"])));
    }

    #[test]
    fn a_pod_spec_at_the_top_merges_containers_and_status_conditions_merge_by_type() {
        let pod = json!({
            "kind": "Pod",
            "spec": {"containers": [{"name": "a", "image": "a.wasm"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "PodScheduled", "status": "True"},
            ]},
        });
        let patched = smp(
            &pod,
            json!({
                "spec": {"containers": [{"name": "a", "image": "b.wasm"}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }),
        );
        assert_eq!(
            patched.pointer("/spec/containers"),
            Some(&json!([{"name": "a", "image": "b.wasm"}]))
        );
        assert_eq!(
            patched.pointer("/status/conditions"),
            Some(&json!([
                {"type": "Ready", "status": "True"},
                {"type": "PodScheduled", "status": "True"},
            ]))
        );
    }

    /// Cases from upstream's patch_test.go, with its `mergingList` (merge by name) played by
    /// `containers` and its `mergingIntList` (primitive merge) by `metadata.finalizers`.
    #[test]
    fn list_order_matches_upstream_test_cases() {
        let containers = |names: &[&str]| -> Value {
            Value::Array(names.iter().map(|n| json!({"name": n})).collect())
        };
        let pod = |list: Value| json!({"spec": {"containers": list}});
        let cases: Vec<(&str, Value, Value, Value)> = vec![
            (
                "preserve the order from the patch in a merging list 2",
                pod(containers(&["1", "2", "3"])),
                json!({"spec": {"containers": [{"name": "3"}, {"name": "1"}]}}),
                pod(containers(&["2", "3", "1"])),
            ),
            (
                "preserve the order from the patch in a merging list",
                pod(containers(&["1", "2", "3"])),
                json!({"spec": {"containers": [{"name": "3"}, {"name": "1"}, {"name": "2"}]}}),
                pod(containers(&["3", "1", "2"])),
            ),
            (
                "add map to merging list by pointer (with $setElementOrder)",
                pod(containers(&["1", "3"])),
                json!({"spec": {
                    "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}],
                    "containers": [{"name": "2"}],
                }}),
                pod(containers(&["1", "2", "3"])),
            ),
            (
                "$setElementOrder contains item that is not present in the list to be merged",
                pod(containers(&["1", "3"])),
                json!({"spec": {
                    "$setElementOrder/containers": [{"name": "3"}, {"name": "2"}, {"name": "1"}],
                    "containers": [{"name": "3", "image": "3"}, {"name": "1", "image": "1"}],
                }}),
                pod(json!([{"name": "3", "image": "3"}, {"name": "1", "image": "1"}])),
            ),
            (
                "delete all duplicate entries in a merging list",
                pod(
                    json!([{"name": "1"}, {"name": "1"}, {"name": "2", "image": "a"}, {"name": "3"}, {"name": "3"}]),
                ),
                json!({"spec": {"containers": [
                    {"name": "1", "$patch": "delete"},
                    {"name": "3", "$patch": "delete"},
                ]}}),
                pod(json!([{"name": "2", "image": "a"}])),
            ),
            (
                "unique scalars when merging lists",
                json!({"metadata": {"finalizers": ["1", "2"]}}),
                json!({"metadata": {"finalizers": ["2", "3"]}}),
                json!({"metadata": {"finalizers": ["1", "2", "3"]}}),
            ),
            (
                "add an item in a list of primitives and preserve order",
                json!({"metadata": {"finalizers": ["1", "4", "2"]}}),
                json!({"metadata": {
                    "$setElementOrder/finalizers": ["3", "1", "2"],
                    "finalizers": ["3"],
                }}),
                json!({"metadata": {"finalizers": ["3", "1", "4", "2"]}}),
            ),
            (
                "delete an item in a list of primitives and preserve order",
                json!({"metadata": {"finalizers": ["1", "2", "3"]}}),
                json!({"metadata": {
                    "$setElementOrder/finalizers": ["2", "1"],
                    "$deleteFromPrimitiveList/finalizers": ["3"],
                }}),
                json!({"metadata": {"finalizers": ["2", "1"]}}),
            ),
            (
                "$deleteFromPrimitiveList of nonexistent item should not add the item",
                json!({"metadata": {"finalizers": ["1", "2"]}}),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["3"]}}),
                json!({"metadata": {"finalizers": ["1", "2"]}}),
            ),
            (
                "add key and delete all keys from map",
                json!({"name": "1", "value": "1"}),
                json!({"other": "a", "$patch": "replace"}),
                json!({"other": "a"}),
            ),
        ];
        for (name, original, patch, expected) in cases {
            let patched = smp(&original, patch);
            assert_eq!(patched, expected, "{name}");
            assert_no_directives(&patched);
        }
    }

    #[test]
    fn malformed_strategic_merge_patches_fail_with_upstream_errors() {
        let pod = json!({
            "metadata": {"finalizers": []},
            "spec": {"containers": [{"name": "1"}, {"name": "3"}, {"name": "2"}]},
        });
        let cases: Vec<(&str, Value, Error)> = vec![
            (
                "should check if order in $setElementOrder and patch list match",
                json!({"spec": {
                    "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
                    "containers": [{"name": "3"}, {"name": "1"}],
                }}),
                Error::SetElementOrderMismatch {
                    patch: r#"[{"name":"3"},{"name":"1"}]"#.into(),
                    order: r#"[{"name":"1"},{"name":"2"},{"name":"3"}]"#.into(),
                },
            ),
            (
                "missing merge key should error out",
                json!({"spec": {"containers": [{"image": "b"}]}}),
                Error::NoMergeKey {
                    map: r#"{"image":"b"}"#.into(),
                    key: "name",
                },
            ),
            (
                "$patch: merge in a list is not implemented upstream",
                json!({"spec": {"containers": [{"$patch": "merge"}]}}),
                Error::MergeDirectiveInList,
            ),
            (
                "an unknown directive on a map",
                json!({"spec": {"$patch": "merge"}}),
                Error::UnknownDirective {
                    directive: "merge".into(),
                    map: r#"{"$patch":"merge"}"#.into(),
                },
            ),
            (
                "a merging list of lists",
                json!({"metadata": {"finalizers": [["a"]]}}),
                Error::NoListOfLists,
            ),
            (
                "a $deleteFromPrimitiveList key without a field",
                json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
                Error::PrimitiveListFormat,
            ),
            (
                "a $setElementOrder that is not a list",
                json!({"spec": {"$setElementOrder/containers": {"name": "1"}}}),
                Error::BadArgType {
                    expected: "list",
                    actual: "map",
                },
            ),
            (
                "a patch setting a key $retainKeys does not list",
                json!({"spec": {"$retainKeys": ["containers"], "nodeName": "x"}}),
                Error::RetainKeysFormat,
            ),
        ];
        for (name, patch, expected) in cases {
            assert_eq!(strategic_merge_patch(&pod, &patch), Err(expected), "{name}");
        }
        assert_eq!(
            apply_patch(&pod, b"[1]", PatchType::StrategicMerge),
            Err(Error::NotAnObject)
        );
        assert_eq!(
            apply_patch(&pod, b"{", PatchType::StrategicMerge),
            Err(Error::InvalidJson)
        );
    }

    /// JSON without arrays: the values where a merge patch and a strategic merge patch
    /// (whose differences are lists and `$` directives) must agree.
    fn json_without_lists(nulls: bool) -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let scalar = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        let leaf = if nulls {
            prop_oneof![3 => scalar, 1 => Just(Value::Null)].boxed()
        } else {
            scalar.boxed()
        };
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    fn object(v: Value) -> Value {
        if v.is_object() { v } else { json!({"v": v}) }
    }

    proptest::proptest! {
        /// RFC 7386: applying the same merge patch twice is applying it once, and a patch
        /// that is not an object replaces the document.
        #[test]
        fn a_merge_patch_is_idempotent(doc in json_without_lists(false), patch in json_without_lists(true)) {
            use proptest::prelude::*;
            let mut once = doc.clone();
            merge_patch(&mut once, &patch);
            let mut twice = once.clone();
            merge_patch(&mut twice, &patch);
            prop_assert_eq!(&twice, &once);
            if !patch.is_object() {
                prop_assert_eq!(&once, &patch);
            }
        }

        /// Without lists or directives, a strategic merge patch is a JSON merge patch.
        #[test]
        fn a_strategic_merge_without_lists_is_a_json_merge(doc in json_without_lists(false), patch in json_without_lists(true)) {
            use proptest::prelude::*;
            let (doc, patch) = (object(doc), object(patch));
            let mut merged = doc.clone();
            merge_patch(&mut merged, &patch);
            prop_assert_eq!(strategic_merge_patch(&doc, &patch).expect("applies"), merged);
        }

        /// RFC 6902: `test` of the whole document passes; `add` then `remove` of a new key
        /// gives the document back; a failing `test` leaves it untouched (an error).
        #[test]
        fn json_patch_operations_undo_and_test_as_the_rfc_says(doc in json_without_lists(false), value in json_without_lists(true)) {
            use proptest::prelude::*;
            let doc = object(doc);
            let same = json_patch(&doc, &json!([{"op": "test", "path": "", "value": doc}])).expect("test passes");
            prop_assert_eq!(&same, &doc);
            let back = json_patch(&doc, &json!([
                {"op": "add", "path": "/new~1key", "value": value},
                {"op": "remove", "path": "/new~1key"},
            ])).expect("applies");
            prop_assert_eq!(&back, &doc);
            let differs = json!({"not": "the document", "n": doc.clone()});
            let failing = json!([{"op": "test", "path": "", "value": differs}]);
            prop_assert!(json_patch(&doc, &failing).is_err());
        }

        /// No patch body, of any type, makes the server panic.
        #[test]
        fn any_patch_body_applies_or_is_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120), kind in 0usize..3) {
            let kind = [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge][kind];
            let _ = apply_patch(&pi_job(), &body, kind);
        }
    }
}
