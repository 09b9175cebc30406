//! Decodes the protobuf bodies kubectl ≥1.32 sends for `create job|cronjob|namespace|
//! configmap|secret|service` into JSON.
//!
//! client-go 1.32 encodes these bodies with gogo-protobuf and has no JSON fallback, so the
//! server must read them. Rather than pulling in a protobuf stack and generated types for
//! three messages, this is a small wire decoder driven by a field table per message, with
//! field numbers from `k8s.io/api` and `k8s.io/apimachinery` v0.32 `generated.proto`. The
//! result is the JSON Go's `encoding/json` would print for the same object, ready for the
//! k8s-openapi types the rest of the server uses. Fields not in the tables are skipped.

use std::fmt;

use serde_json::{Map, Value};

/// The media type kubectl uses.
pub const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// What Kubernetes writes before every protobuf-encoded object (apimachinery's
/// `protoEncodingPrefix`), so that protobuf is told apart from JSON and YAML by sniffing.
const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The body does not start with `k8s\0`.
    #[error("missing the k8s protobuf magic prefix")]
    MissingMagic,
    /// A field's bytes run past the end of its enclosing message.
    #[error("truncated protobuf field {0}")]
    Truncated(String),
    /// A varint is longer than 10 bytes or overflows 64 bits.
    #[error("malformed varint in protobuf field {0}")]
    MalformedVarint(String),
    /// A field carries a wire type its schema does not allow, or a group (wire types 3, 4).
    #[error("invalid wire type {wire_type} for protobuf field {path}")]
    WireType {
        /// Where the field is, as a JSON path.
        path: String,
        /// The wire type found.
        wire_type: u8,
    },
    /// A `metav1.Time` outside the years RFC 3339 can print (0 to 9999).
    #[error("timestamp out of range in protobuf field {0}")]
    InvalidTime(String),
    /// The body is an object this decoder has no table for.
    #[error("unsupported kind \"{kind}\" in protobuf body (apiVersion \"{api_version}\")")]
    UnsupportedKind {
        /// `typeMeta.apiVersion` of the body.
        api_version: String,
        /// `typeMeta.kind` of the body.
        kind: String,
    },
    /// `runtime.Unknown.contentEncoding` is set; client-go never sets it.
    #[error("unsupported content encoding \"{0}\" in protobuf body")]
    UnsupportedEncoding(String),
}

/// Decodes "k8s\0" + runtime.Unknown{typeMeta, raw} into JSON with apiVersion/kind set.
/// Supports batch/v1 Job and CronJob, v1 Namespace, ConfigMap and Secret (the bodies
/// kubectl 1.32 sends).
///
/// Zero values of non-pointer Go fields are dropped, as `omitempty` would (Go's protobuf
/// encoder writes every non-pointer field, so an empty string means unset); pointer fields
/// keep `0` and `false`, and struct values stay as `{}` (e.g. `resources: {}`), because Go
/// prints them so. An empty top-level `status` is dropped: the server ignores it on create.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let envelope = body.strip_prefix(MAGIC).ok_or(Error::MissingMagic)?;
    let root = Path::Root("runtime.Unknown");
    let mut type_meta = Map::new();
    let mut raw: &[u8] = &[];
    let mut encoding = String::new();
    let mut r = Reader::new(envelope);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(&root))?;
        let path = match num {
            1 => Path::Field(&root, "typeMeta"),
            2 => Path::Field(&root, "raw"),
            3 => Path::Field(&root, "contentEncoding"),
            4 => Path::Field(&root, "contentType"),
            _ => Path::Number(&root, num),
        };
        if matches!(num, 1..=4) && wire != LEN {
            return Err(Fault::WireType(wire).at(&path));
        }
        match num {
            1 => {
                let bytes = r.bytes().map_err(|e| e.at(&path))?;
                decode_into(bytes, TYPE_META, &mut type_meta, &path)?;
            }
            2 => raw = r.bytes().map_err(|e| e.at(&path))?,
            3 => encoding = text(r.bytes().map_err(|e| e.at(&path))?),
            // contentType (4) is "" or the protobuf media type; neither changes how raw is read.
            _ => r.skip(wire).map_err(|e| e.at(&path))?,
        }
    }
    if !encoding.is_empty() {
        return Err(Error::UnsupportedEncoding(encoding));
    }
    let type_field = |key: &str| {
        type_meta
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (api_version, kind) = (type_field("apiVersion"), type_field("kind"));
    let fields = match (api_version.as_str(), kind.as_str()) {
        ("batch/v1", "Job") => JOB,
        ("batch/v1", "CronJob") => CRON_JOB,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Service") => SERVICE,
        _ => return Err(Error::UnsupportedKind { api_version, kind }),
    };
    let mut object = Map::new();
    // The raw message itself has no TypeMeta (Job, CronJob and Namespace carry it only in
    // Go's JSON tags), so the envelope's is the object's.
    object.insert("apiVersion".into(), api_version.into());
    object.insert("kind".into(), kind.into());
    decode_into(raw, fields, &mut object, &Path::Root("raw"))?;
    Ok(Value::Object(object))
}

// Wire types (https://protobuf.dev/programming-guides/encoding/#structure).
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A wire-level failure, before it is given the path of the field it happened in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Truncated,
    Malformed,
    WireType(u8),
}

impl Fault {
    fn at(self, path: &Path<'_>) -> Error {
        let path = path.to_string();
        match self {
            Fault::Truncated => Error::Truncated(path),
            Fault::Malformed => Error::MalformedVarint(path),
            Fault::WireType(wire_type) => Error::WireType { path, wire_type },
        }
    }
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn varint(&mut self) -> Result<u64, Fault> {
        let mut value = 0u64;
        for (i, &byte) in self.buf.iter().enumerate().take(10) {
            // The tenth byte holds only bit 63; anything more would overflow.
            if i == 9 && byte > 1 {
                return Err(Fault::Malformed);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        // Ten bytes always end the loop above, so the buffer ran out mid-varint.
        Err(Fault::Truncated)
    }

    /// A field's number and wire type.
    fn key(&mut self) -> Result<(u64, u8), Fault> {
        let key = self.varint()?;
        // The mask keeps three bits, so the cast cannot truncate.
        Ok((key >> 3, (key & 7) as u8))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        if n > self.buf.len() {
            return Err(Fault::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'a [u8], Fault> {
        let len = self.varint()?;
        self.take(usize::try_from(len).map_err(|_| Fault::Truncated)?)
    }

    fn skip(&mut self, wire: u8) -> Result<(), Fault> {
        match wire {
            VARINT => self.varint().map(drop),
            I64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            I32 => self.take(4).map(drop),
            // Groups (3, 4) are proto1-era and never written by gogo-protobuf; 6 and 7 do not exist.
            other => Err(Fault::WireType(other)),
        }
    }
}

/// Where a field sits in the object, rendered as a JSON path for error messages.
enum Path<'a> {
    /// The message being decoded; named only when the error is in its own framing.
    Root(&'static str),
    Field(&'a Path<'a>, &'static str),
    /// A field missing from the tables, by number.
    Number(&'a Path<'a>, u64),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn prefix(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(_) => Ok(()),
            other => write!(f, "{other}."),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => {
                parent.prefix(f)?;
                f.write_str(name)
            }
            Path::Number(parent, num) => {
                parent.prefix(f)?;
                write!(f, "{num}")
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// How a field's bytes become JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int32,
    Int64,
    Bool,
    /// `metav1.Time{seconds=1, nanos=2}`, printed as RFC 3339 in whole seconds like Go's.
    Time,
    /// `resource.Quantity{string=1}`, printed as its string.
    Quantity,
    Msg(&'static [Field]),
    /// A Go struct embedded with `json:",inline"`: its fields land in the parent's object.
    Inline(&'static [Field]),
    /// `map<string, string>`: repeated entries `{1: key, 2: value}`.
    StrMap,
    /// `map<string, Quantity>` (`ResourceList`).
    QuantityMap,
    /// `map<string, bytes>` (a Secret's `data`), printed as base64 as Go prints `[]byte`.
    BytesMap,
    /// `intstr.IntOrString{type=1, intVal=2, strVal=3}`, printed as the number or string.
    IntOrString,
}

impl Kind {
    fn wire_type(self) -> u8 {
        match self {
            Kind::Int32 | Kind::Int64 | Kind::Bool => VARINT,
            _ => LEN,
        }
    }
}

/// One row of a message's field table.
struct Field {
    num: u64,
    json: &'static str,
    kind: Kind,
    repeated: bool,
    /// False for non-pointer Go fields tagged `omitempty`, whose zero value Go's protobuf
    /// encoder writes anyway and whose JSON would omit it.
    keep_zero: bool,
}

/// A non-pointer field tagged `omitempty`: its zero value means unset and is dropped.
const fn opt(num: u64, json: &'static str, kind: Kind) -> Field {
    Field {
        num,
        json,
        kind,
        repeated: false,
        keep_zero: false,
    }
}

/// A field kept as written even when zero: a pointer (Go writes it only when set), a field
/// without `omitempty` (Go's JSON prints its zero value too), or a struct value (which
/// `omitempty` never drops, hence `resources: {}`).
const fn set(num: u64, json: &'static str, kind: Kind) -> Field {
    Field {
        num,
        json,
        kind,
        repeated: false,
        keep_zero: true,
    }
}

/// A slice; Go writes nothing for an empty one, so it is absent rather than `[]`.
const fn rep(num: u64, json: &'static str, kind: Kind) -> Field {
    Field {
        num,
        json,
        kind,
        repeated: true,
        keep_zero: true,
    }
}

/// Decodes one message's fields into `obj`, merging like protobuf does when a field repeats.
fn decode_into(
    buf: &[u8],
    fields: &'static [Field],
    obj: &mut Map<String, Value>,
    path: &Path<'_>,
) -> Result<(), Error> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(path))?;
        match fields.iter().find(|f| f.num == num) {
            Some(field) if matches!(field.kind, Kind::Inline(_)) => {
                decode_field(&mut r, wire, field, obj, path)?;
            }
            Some(field) => decode_field(&mut r, wire, field, obj, &Path::Field(path, field.json))?,
            None => r.skip(wire).map_err(|e| e.at(&Path::Number(path, num)))?,
        }
    }
    Ok(())
}

fn decode_field(
    r: &mut Reader<'_>,
    wire: u8,
    field: &Field,
    obj: &mut Map<String, Value>,
    path: &Path<'_>,
) -> Result<(), Error> {
    let at = |e: Fault| e.at(path);
    if field.repeated && wire == LEN && field.kind.wire_type() == VARINT {
        // A packed repeated scalar: gogo writes proto2 `repeated int32` unpacked, but the
        // protobuf spec requires decoders to accept both forms.
        let mut packed = Reader::new(r.bytes().map_err(at)?);
        while !packed.is_empty() {
            let value = scalar(field.kind, packed.varint().map_err(at)?);
            push(obj, field.json, value);
        }
        return Ok(());
    }
    if wire != field.kind.wire_type() {
        return Err(Fault::WireType(wire).at(path));
    }
    let value = match field.kind {
        Kind::Int32 | Kind::Int64 | Kind::Bool => scalar(field.kind, r.varint().map_err(at)?),
        Kind::Str => Value::String(text(r.bytes().map_err(at)?)),
        Kind::Quantity => Value::String(quantity(r.bytes().map_err(at)?, path)?),
        Kind::IntOrString => int_or_string(r.bytes().map_err(at)?, path)?,
        Kind::Time => match time(r.bytes().map_err(at)?, path)? {
            Some(time) => Value::String(time),
            // The zero Time is `null` in Go's JSON: the same as absent.
            None => return Ok(()),
        },
        Kind::StrMap | Kind::QuantityMap | Kind::BytesMap => {
            let (key, value) = map_entry(r.bytes().map_err(at)?, field.kind, path)?;
            let map = obj
                .entry(field.json)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = map {
                map.insert(key, value);
            }
            return Ok(());
        }
        Kind::Inline(fields) => return decode_into(r.bytes().map_err(at)?, fields, obj, path),
        Kind::Msg(fields) => {
            let bytes = r.bytes().map_err(at)?;
            if field.repeated {
                let index = obj
                    .get(field.json)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let mut item = Map::new();
                decode_into(bytes, fields, &mut item, &Path::Index(path, index))?;
                Value::Object(item)
            } else {
                let slot = obj
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(inner) = slot else {
                    // Only this function writes the key, always as an object.
                    return Ok(());
                };
                decode_into(bytes, fields, inner, path)?;
                if !field.keep_zero && inner.is_empty() {
                    obj.remove(field.json);
                }
                return Ok(());
            }
        }
    };
    if field.repeated {
        push(obj, field.json, value);
    } else if field.keep_zero || !is_zero(&value) {
        obj.insert(field.json.into(), value);
    } else {
        // A later zero overrides an earlier value, as in protobuf ("last one wins").
        obj.remove(field.json);
    }
    Ok(())
}

fn push(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let list = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = list {
        list.push(value);
    }
}

fn scalar(kind: Kind, raw: u64) -> Value {
    // Protobuf int32/int64 are two's complement in a u64 (negative int32s are sign-extended
    // to ten bytes); truncating to the declared width is what the spec prescribes.
    match kind {
        Kind::Int32 => Value::from(raw as i32),
        Kind::Bool => Value::Bool(raw != 0),
        _ => Value::from(raw as i64),
    }
}

/// Go strings may hold any bytes; its JSON encoder replaces invalid UTF-8 with U+FFFD, and so do we.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
    }
}

/// `IntOrString`: its string when `type` is 1, else its int (0 when unset, as Go's zero).
fn int_or_string(bytes: &[u8], path: &Path<'_>) -> Result<Value, Error> {
    let (mut is_string, mut int, mut string) = (false, 0i64, String::new());
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(path))?;
        match (num, wire) {
            (1, VARINT) => is_string = r.varint().map_err(|e| e.at(path))? == 1,
            (2, VARINT) => int = i64::from(r.varint().map_err(|e| e.at(path))? as i32),
            (3, LEN) => string = text(r.bytes().map_err(|e| e.at(path))?),
            (1..=3, other) => return Err(Fault::WireType(other).at(path)),
            _ => r.skip(wire).map_err(|e| e.at(path))?,
        }
    }
    Ok(if is_string {
        Value::String(string)
    } else {
        Value::from(int)
    })
}

/// `resource.Quantity{string=1}`; an empty message is the zero quantity, which Go prints as "0".
fn quantity(bytes: &[u8], path: &Path<'_>) -> Result<String, Error> {
    let mut out = None;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(path))?;
        match (num, wire) {
            (1, LEN) => out = Some(text(r.bytes().map_err(|e| e.at(path))?)),
            (1, other) => return Err(Fault::WireType(other).at(path)),
            _ => r.skip(wire).map_err(|e| e.at(path))?,
        }
    }
    Ok(out.unwrap_or_else(|| "0".into()))
}

/// `metav1.Time`; `None` for the zero Time, which Go encodes as an empty message
/// (`Time.Marshal`). Go's Time keeps whole seconds only, so `nanos` is ignored.
fn time(bytes: &[u8], path: &Path<'_>) -> Result<Option<String>, Error> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut seconds = 0i64;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(path))?;
        match (num, wire) {
            (1, VARINT) => seconds = r.varint().map_err(|e| e.at(path))? as i64,
            (1, other) => return Err(Fault::WireType(other).at(path)),
            _ => r.skip(wire).map_err(|e| e.at(path))?,
        }
    }
    // RFC 3339 has four-digit years; outside them Go prints text no JSON reader takes as a time.
    const FIRST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let invalid = || Error::InvalidTime(path.to_string());
    if !(FIRST..=LAST).contains(&seconds) {
        return Err(invalid());
    }
    let ts = jiff::Timestamp::from_second(seconds).map_err(|_| invalid())?;
    Ok(Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// One map entry `{1: key, 2: value}`; a missing key or value is the zero value, as in Go.
fn map_entry(bytes: &[u8], kind: Kind, path: &Path<'_>) -> Result<(String, Value), Error> {
    let mut key = String::new();
    let mut value = None;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (num, wire) = r.key().map_err(|e| e.at(path))?;
        match (num, wire) {
            (1, LEN) => key = text(r.bytes().map_err(|e| e.at(path))?),
            (2, LEN) => {
                let bytes = r.bytes().map_err(|e| e.at(path))?;
                value = Some(match kind {
                    Kind::QuantityMap => quantity(bytes, path)?,
                    Kind::BytesMap => {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    }
                    _ => text(bytes),
                });
            }
            (1 | 2, other) => return Err(Fault::WireType(other).at(path)),
            _ => r.skip(wire).map_err(|e| e.at(path))?,
        }
    }
    let value = value.unwrap_or_else(|| match kind {
        Kind::QuantityMap => "0".into(),
        _ => String::new(),
    });
    Ok((key, Value::String(value)))
}

// Field tables, from k8s.io/api and k8s.io/apimachinery v0.32 `generated.proto`; whether a
// field is `opt` or `set` follows its Go type and json tag in `types.go`.

use Kind::{Bool, BytesMap, Inline, Int32, Int64, Msg, Quantity, Str, StrMap, Time};

/// runtime.TypeMeta (not metav1.TypeMeta, whose numbers differ).
static TYPE_META: &[Field] = &[opt(1, "apiVersion", Str), opt(2, "kind", Str)];

static OBJECT_META: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "generateName", Str),
    opt(3, "namespace", Str),
    opt(4, "selfLink", Str),
    opt(5, "uid", Str),
    opt(6, "resourceVersion", Str),
    opt(7, "generation", Int64),
    opt(8, "creationTimestamp", Time),
    set(9, "deletionTimestamp", Time),
    set(10, "deletionGracePeriodSeconds", Int64),
    set(11, "labels", StrMap),
    set(12, "annotations", StrMap),
    rep(13, "ownerReferences", Msg(OWNER_REFERENCE)),
    rep(14, "finalizers", Str),
];

static OWNER_REFERENCE: &[Field] = &[
    set(1, "kind", Str),
    set(3, "name", Str),
    set(4, "uid", Str),
    set(5, "apiVersion", Str),
    set(6, "controller", Bool),
    set(7, "blockOwnerDeletion", Bool),
];

static LABEL_SELECTOR: &[Field] = &[
    set(1, "matchLabels", StrMap),
    rep(2, "matchExpressions", Msg(LABEL_SELECTOR_REQUIREMENT)),
];

static LABEL_SELECTOR_REQUIREMENT: &[Field] = &[
    set(1, "key", Str),
    set(2, "operator", Str),
    rep(3, "values", Str),
];

static JOB: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(JOB_SPEC)),
    opt(3, "status", Msg(JOB_STATUS)),
];

static JOB_SPEC: &[Field] = &[
    set(1, "parallelism", Int32),
    set(2, "completions", Int32),
    set(3, "activeDeadlineSeconds", Int64),
    set(4, "selector", Msg(LABEL_SELECTOR)),
    set(5, "manualSelector", Bool),
    set(6, "template", Msg(POD_TEMPLATE_SPEC)),
    set(7, "backoffLimit", Int32),
    set(8, "ttlSecondsAfterFinished", Int32),
    set(9, "completionMode", Str),
    set(10, "suspend", Bool),
    set(11, "podFailurePolicy", Msg(POD_FAILURE_POLICY)),
    set(12, "backoffLimitPerIndex", Int32),
    set(13, "maxFailedIndexes", Int32),
    set(14, "podReplacementPolicy", Str),
    set(15, "managedBy", Str),
    set(16, "successPolicy", Msg(SUCCESS_POLICY)),
];

static POD_FAILURE_POLICY: &[Field] = &[rep(1, "rules", Msg(POD_FAILURE_POLICY_RULE))];

static POD_FAILURE_POLICY_RULE: &[Field] = &[
    set(1, "action", Str),
    set(2, "onExitCodes", Msg(ON_EXIT_CODES)),
    rep(3, "onPodConditions", Msg(ON_POD_CONDITIONS)),
];

static ON_EXIT_CODES: &[Field] = &[
    set(1, "containerName", Str),
    set(2, "operator", Str),
    rep(3, "values", Int32),
];

static ON_POD_CONDITIONS: &[Field] = &[set(1, "type", Str), set(2, "status", Str)];

static SUCCESS_POLICY: &[Field] = &[rep(1, "rules", Msg(SUCCESS_POLICY_RULE))];

static SUCCESS_POLICY_RULE: &[Field] = &[
    set(1, "succeededIndexes", Str),
    set(2, "succeededCount", Int32),
];

static JOB_STATUS: &[Field] = &[
    rep(1, "conditions", Msg(JOB_CONDITION)),
    set(2, "startTime", Time),
    set(3, "completionTime", Time),
    opt(4, "active", Int32),
    opt(5, "succeeded", Int32),
    opt(6, "failed", Int32),
    opt(7, "completedIndexes", Str),
    set(8, "uncountedTerminatedPods", Msg(UNCOUNTED_TERMINATED_PODS)),
    set(9, "ready", Int32),
    set(10, "failedIndexes", Str),
    set(11, "terminating", Int32),
];

static JOB_CONDITION: &[Field] = &[
    set(1, "type", Str),
    set(2, "status", Str),
    opt(3, "lastProbeTime", Time),
    opt(4, "lastTransitionTime", Time),
    opt(5, "reason", Str),
    opt(6, "message", Str),
];

static UNCOUNTED_TERMINATED_PODS: &[Field] = &[rep(1, "succeeded", Str), rep(2, "failed", Str)];

static JOB_TEMPLATE_SPEC: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(JOB_SPEC)),
];

static CRON_JOB: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(CRON_JOB_SPEC)),
    opt(3, "status", Msg(CRON_JOB_STATUS)),
];

static CRON_JOB_SPEC: &[Field] = &[
    set(1, "schedule", Str),
    set(2, "startingDeadlineSeconds", Int64),
    opt(3, "concurrencyPolicy", Str),
    set(4, "suspend", Bool),
    set(5, "jobTemplate", Msg(JOB_TEMPLATE_SPEC)),
    set(6, "successfulJobsHistoryLimit", Int32),
    set(7, "failedJobsHistoryLimit", Int32),
    set(8, "timeZone", Str),
];

static CRON_JOB_STATUS: &[Field] = &[
    rep(1, "active", Msg(OBJECT_REFERENCE)),
    set(4, "lastScheduleTime", Time),
    set(5, "lastSuccessfulTime", Time),
];

static OBJECT_REFERENCE: &[Field] = &[
    opt(1, "kind", Str),
    opt(2, "namespace", Str),
    opt(3, "name", Str),
    opt(4, "uid", Str),
    opt(5, "apiVersion", Str),
    opt(6, "resourceVersion", Str),
    opt(7, "fieldPath", Str),
];

static NAMESPACE: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(NAMESPACE_SPEC)),
    opt(3, "status", Msg(NAMESPACE_STATUS)),
];

static NAMESPACE_SPEC: &[Field] = &[rep(1, "finalizers", Str)];

static NAMESPACE_STATUS: &[Field] = &[
    opt(1, "phase", Str),
    rep(2, "conditions", Msg(NAMESPACE_CONDITION)),
];

static NAMESPACE_CONDITION: &[Field] = &[
    set(1, "type", Str),
    set(2, "status", Str),
    opt(4, "lastTransitionTime", Time),
    opt(5, "reason", Str),
    opt(6, "message", Str),
];

static POD_TEMPLATE_SPEC: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(POD_SPEC)),
];

static POD_SPEC: &[Field] = &[
    rep(1, "volumes", Msg(VOLUME)),
    rep(2, "containers", Msg(CONTAINER)),
    opt(3, "restartPolicy", Str),
    set(4, "terminationGracePeriodSeconds", Int64),
    set(5, "activeDeadlineSeconds", Int64),
    opt(6, "dnsPolicy", Str),
    set(7, "nodeSelector", StrMap),
    opt(8, "serviceAccountName", Str),
    opt(9, "serviceAccount", Str),
    opt(10, "nodeName", Str),
    opt(11, "hostNetwork", Bool),
    opt(12, "hostPID", Bool),
    opt(13, "hostIPC", Bool),
    set(14, "securityContext", Msg(POD_SECURITY_CONTEXT)),
    rep(15, "imagePullSecrets", Msg(LOCAL_OBJECT_REFERENCE)),
    opt(16, "hostname", Str),
    opt(17, "subdomain", Str),
    opt(19, "schedulerName", Str),
    rep(20, "initContainers", Msg(CONTAINER)),
    set(21, "automountServiceAccountToken", Bool),
    rep(22, "tolerations", Msg(TOLERATION)),
    opt(24, "priorityClassName", Str),
    set(25, "priority", Int32),
    set(27, "shareProcessNamespace", Bool),
    set(29, "runtimeClassName", Str),
    set(30, "enableServiceLinks", Bool),
    set(31, "preemptionPolicy", Str),
    set(32, "overhead", Kind::QuantityMap),
    set(35, "setHostnameAsFQDN", Bool),
    set(37, "hostUsers", Bool),
];

/// Only the scalar settings; wasm guests have no users or groups, so the nested option
/// structs (SELinux, seccomp, AppArmor, Windows) are left out.
static POD_SECURITY_CONTEXT: &[Field] = &[
    set(2, "runAsUser", Int64),
    set(3, "runAsNonRoot", Bool),
    rep(4, "supplementalGroups", Int64),
    set(5, "fsGroup", Int64),
    set(6, "runAsGroup", Int64),
];

static SECURITY_CONTEXT: &[Field] = &[
    set(2, "privileged", Bool),
    set(4, "runAsUser", Int64),
    set(5, "runAsNonRoot", Bool),
    set(6, "readOnlyRootFilesystem", Bool),
    set(7, "allowPrivilegeEscalation", Bool),
    set(8, "runAsGroup", Int64),
    set(9, "procMount", Str),
];

static LOCAL_OBJECT_REFERENCE: &[Field] = &[opt(1, "name", Str)];

static TOLERATION: &[Field] = &[
    opt(1, "key", Str),
    opt(2, "operator", Str),
    opt(3, "value", Str),
    opt(4, "effect", Str),
    set(5, "tolerationSeconds", Int64),
];

/// Probes and lifecycle hooks are left out: a wasm guest serves no endpoints to probe.
static CONTAINER: &[Field] = &[
    set(1, "name", Str),
    opt(2, "image", Str),
    rep(3, "command", Str),
    rep(4, "args", Str),
    opt(5, "workingDir", Str),
    rep(6, "ports", Msg(CONTAINER_PORT)),
    rep(7, "env", Msg(ENV_VAR)),
    set(8, "resources", Msg(RESOURCE_REQUIREMENTS)),
    rep(9, "volumeMounts", Msg(VOLUME_MOUNT)),
    opt(13, "terminationMessagePath", Str),
    opt(14, "imagePullPolicy", Str),
    set(15, "securityContext", Msg(SECURITY_CONTEXT)),
    opt(16, "stdin", Bool),
    opt(17, "stdinOnce", Bool),
    opt(18, "tty", Bool),
    rep(19, "envFrom", Msg(ENV_FROM_SOURCE)),
    opt(20, "terminationMessagePolicy", Str),
    set(24, "restartPolicy", Str),
];

static CONTAINER_PORT: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "hostPort", Int32),
    set(3, "containerPort", Int32),
    opt(4, "protocol", Str),
    opt(5, "hostIP", Str),
];

static ENV_VAR: &[Field] = &[
    set(1, "name", Str),
    opt(2, "value", Str),
    set(3, "valueFrom", Msg(ENV_VAR_SOURCE)),
];

static ENV_VAR_SOURCE: &[Field] = &[
    set(1, "fieldRef", Msg(OBJECT_FIELD_SELECTOR)),
    set(2, "resourceFieldRef", Msg(RESOURCE_FIELD_SELECTOR)),
    set(3, "configMapKeyRef", Msg(KEY_SELECTOR)),
    set(4, "secretKeyRef", Msg(KEY_SELECTOR)),
];

static OBJECT_FIELD_SELECTOR: &[Field] = &[opt(1, "apiVersion", Str), set(2, "fieldPath", Str)];

static RESOURCE_FIELD_SELECTOR: &[Field] = &[
    opt(1, "containerName", Str),
    set(2, "resource", Str),
    set(3, "divisor", Quantity),
];

/// ConfigMapKeySelector and SecretKeySelector share their layout.
static KEY_SELECTOR: &[Field] = &[
    set(1, "localObjectReference", Inline(LOCAL_OBJECT_REFERENCE)),
    set(2, "key", Str),
    set(3, "optional", Bool),
];

static ENV_FROM_SOURCE: &[Field] = &[
    opt(1, "prefix", Str),
    set(2, "configMapRef", Msg(ENV_SOURCE)),
    set(3, "secretRef", Msg(ENV_SOURCE)),
];

/// ConfigMapEnvSource and SecretEnvSource share their layout.
static ENV_SOURCE: &[Field] = &[
    set(1, "localObjectReference", Inline(LOCAL_OBJECT_REFERENCE)),
    set(2, "optional", Bool),
];

static RESOURCE_REQUIREMENTS: &[Field] = &[
    set(1, "limits", Kind::QuantityMap),
    set(2, "requests", Kind::QuantityMap),
    rep(3, "claims", Msg(RESOURCE_CLAIM)),
];

static RESOURCE_CLAIM: &[Field] = &[set(1, "name", Str), opt(2, "request", Str)];

static VOLUME_MOUNT: &[Field] = &[
    set(1, "name", Str),
    opt(2, "readOnly", Bool),
    set(3, "mountPath", Str),
    opt(4, "subPath", Str),
    set(5, "mountPropagation", Str),
    opt(6, "subPathExpr", Str),
    set(7, "recursiveReadOnly", Str),
];

static VOLUME: &[Field] = &[
    set(1, "name", Str),
    set(2, "volumeSource", Inline(VOLUME_SOURCE)),
];

/// The sources a wasm pod can use, plus the common ones a manifest is likely to carry.
static VOLUME_SOURCE: &[Field] = &[
    set(1, "hostPath", Msg(HOST_PATH)),
    set(2, "emptyDir", Msg(EMPTY_DIR)),
    set(6, "secret", Msg(SECRET_VOLUME)),
    set(10, "persistentVolumeClaim", Msg(PERSISTENT_VOLUME_CLAIM)),
    set(19, "configMap", Msg(CONFIG_MAP_VOLUME)),
];

static HOST_PATH: &[Field] = &[set(1, "path", Str), set(2, "type", Str)];

static EMPTY_DIR: &[Field] = &[opt(1, "medium", Str), set(2, "sizeLimit", Quantity)];

static SECRET_VOLUME: &[Field] = &[
    opt(1, "secretName", Str),
    rep(2, "items", Msg(KEY_TO_PATH)),
    set(3, "defaultMode", Int32),
    set(4, "optional", Bool),
];

static CONFIG_MAP_VOLUME: &[Field] = &[
    set(1, "localObjectReference", Inline(LOCAL_OBJECT_REFERENCE)),
    rep(2, "items", Msg(KEY_TO_PATH)),
    set(3, "defaultMode", Int32),
    set(4, "optional", Bool),
];

static KEY_TO_PATH: &[Field] = &[
    set(1, "key", Str),
    set(2, "path", Str),
    set(3, "mode", Int32),
];

static CONFIG_MAP: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "data", StrMap),
    set(3, "binaryData", BytesMap),
    set(4, "immutable", Bool),
];

static SECRET: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "data", BytesMap),
    opt(3, "type", Str),
    set(4, "stringData", StrMap),
    set(5, "immutable", Bool),
];

static SERVICE: &[Field] = &[
    set(1, "metadata", Msg(OBJECT_META)),
    set(2, "spec", Msg(SERVICE_SPEC)),
];

static SERVICE_SPEC: &[Field] = &[
    rep(1, "ports", Msg(SERVICE_PORT)),
    set(2, "selector", StrMap),
    opt(3, "clusterIP", Str),
    opt(4, "type", Str),
    rep(5, "externalIPs", Str),
    opt(7, "sessionAffinity", Str),
    opt(10, "externalName", Str),
    rep(18, "clusterIPs", Str),
];

static SERVICE_PORT: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "protocol", Str),
    set(3, "port", Int32),
    set(4, "targetPort", Kind::IntOrString),
    opt(5, "nodePort", Int32),
    set(6, "appProtocol", Str),
];

static PERSISTENT_VOLUME_CLAIM: &[Field] = &[set(1, "claimName", Str), opt(2, "readOnly", Bool)];

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::serde::{Serialize, de::DeserializeOwned};
    use serde_json::json;

    use super::*;

    // Bodies captured from kubectl 1.32.4 (`/usr/bin/kubectl`) posting to a recording server.
    const CREATE_JOB: &[u8] = include_bytes!("../../tests/fixtures/protobuf/create-job.bin");
    const CREATE_JOB_IN_NAMESPACE: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-job-in-namespace.bin");
    const CREATE_JOB_SAVE_CONFIG: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-job-save-config.bin");
    const CREATE_CRONJOB: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-cronjob.bin");
    const CREATE_NAMESPACE: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-namespace.bin");
    const CREATE_JOB_FROM_CRONJOB: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-job-from-cronjob.bin");
    const CREATE_JOB_FROM_FULL_CRONJOB: &[u8] =
        include_bytes!("../../tests/fixtures/protobuf/create-job-from-full-cronjob.bin");
    /// The CronJob the recording server answered for `create job k --from=cronjob/kitchen`.
    const FULL_CRONJOB: &str = include_str!("../../tests/fixtures/protobuf/full-cronjob.json");

    const FIXTURES: [&[u8]; 7] = [
        CREATE_JOB,
        CREATE_JOB_IN_NAMESPACE,
        CREATE_JOB_SAVE_CONFIG,
        CREATE_CRONJOB,
        CREATE_NAMESPACE,
        CREATE_JOB_FROM_CRONJOB,
        CREATE_JOB_FROM_FULL_CRONJOB,
    ];

    /// Deserializes into the k8s-openapi type and serializes back: any JSON key the type does
    /// not know (a misspelt table entry) or any value of the wrong shape shows up as a diff.
    #[track_caller]
    fn assert_round_trips<T: Serialize + DeserializeOwned>(value: &Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).expect("deserializes");
        assert_eq!(&serde_json::to_value(&typed).expect("serializes"), value);
        typed
    }

    // A minimal protobuf encoder for hand-made bodies.
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    fn int(num: u64, v: i64) -> Vec<u8> {
        [varint(num << 3), varint(v as u64)].concat()
    }

    fn bytes(num: u64, payload: &[u8]) -> Vec<u8> {
        [
            varint(num << 3 | 2),
            varint(payload.len() as u64),
            payload.to_vec(),
        ]
        .concat()
    }

    fn string(num: u64, s: &str) -> Vec<u8> {
        bytes(num, s.as_bytes())
    }

    fn entry(num: u64, key: &str, value: &str) -> Vec<u8> {
        bytes(num, &[string(1, key), string(2, value)].concat())
    }

    fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [string(1, api_version), string(2, kind)].concat();
        // Go also writes the empty contentEncoding and contentType.
        [
            b"k8s\0".to_vec(),
            bytes(1, &type_meta),
            bytes(2, raw),
            string(3, ""),
            string(4, ""),
        ]
        .concat()
    }

    #[test]
    fn create_job_puts_the_arguments_after_the_dashes_into_command() {
        let job = decode(CREATE_JOB).unwrap();
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "hello"},
                "spec": {"template": {
                    "metadata": {},
                    "spec": {
                        "containers": [{
                            "name": "hello",
                            "image": "hello.wasm",
                            "command": ["a", "b"],
                            "resources": {},
                        }],
                        "restartPolicy": "Never",
                    },
                }},
            })
        );
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn create_job_in_another_namespace_carries_the_namespace_in_the_body() {
        let job = decode(CREATE_JOB_IN_NAMESPACE).unwrap();
        assert_eq!(
            job["metadata"],
            json!({"name": "nsjob", "namespace": "other"})
        );
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn create_job_with_save_config_carries_the_last_applied_annotation() {
        let job = decode(CREATE_JOB_SAVE_CONFIG).unwrap();
        let applied =
            &job["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"];
        let applied: Value = serde_json::from_str(applied.as_str().unwrap()).unwrap();
        assert_eq!(applied["metadata"]["name"], "saved");
        assert_eq!(
            job["spec"]["template"]["spec"]["containers"][0]["image"],
            "s.wasm"
        );
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn create_cronjob_decodes_the_schedule_and_job_template() {
        let cron_job = decode(CREATE_CRONJOB).unwrap();
        assert_eq!(
            cron_job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "cj"},
                "spec": {
                    "schedule": "*/1 * * * *",
                    "jobTemplate": {
                        "metadata": {"name": "cj"},
                        "spec": {"template": {
                            "metadata": {},
                            "spec": {
                                "containers": [{
                                    "name": "cj",
                                    "image": "foo.wasm",
                                    "command": ["arg"],
                                    "resources": {},
                                }],
                                "restartPolicy": "OnFailure",
                            },
                        }},
                    },
                },
            })
        );
        assert_round_trips::<CronJob>(&cron_job);
    }

    #[test]
    fn create_namespace_decodes_to_a_named_namespace() {
        let namespace = decode(CREATE_NAMESPACE).unwrap();
        assert_eq!(
            namespace,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "team-a"},
                "spec": {},
            })
        );
        assert_round_trips::<Namespace>(&namespace);
    }

    #[test]
    fn create_job_from_a_cronjob_copies_its_job_template_and_points_back_to_it() {
        let job = decode(CREATE_JOB_FROM_CRONJOB).unwrap();
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": "y",
                    "labels": {"tmpl": "yes"},
                    "annotations": {
                        "cronjob.kubernetes.io/instantiate": "manual",
                        "tmpl-note": "a",
                    },
                    "ownerReferences": [{
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": "cj",
                        "uid": "6f1c7c1e-1111-4222-8333-944455556666",
                        "controller": true,
                    }],
                },
                "spec": {
                    "parallelism": 2,
                    "completions": 4,
                    "activeDeadlineSeconds": 600,
                    "backoffLimit": 0,
                    "ttlSecondsAfterFinished": 100,
                    "completionMode": "Indexed",
                    "template": {
                        "metadata": {"labels": {"pod": "l"}},
                        "spec": {
                            "volumes": [
                                {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                                {
                                    "name": "data",
                                    "hostPath": {"path": "/srv/data", "type": "DirectoryOrCreate"},
                                },
                            ],
                            "initContainers": [{
                                "name": "init",
                                "image": "init.wasm",
                                "args": ["--prep"],
                                "resources": {},
                            }],
                            "containers": [{
                                "name": "cj",
                                "image": "foo.wasm",
                                "command": ["run"],
                                "args": ["arg"],
                                "workingDir": "/data",
                                // `EMPTY` had `value: ""`, which omitempty drops.
                                "env": [
                                    {"name": "A", "value": "1"},
                                    {"name": "EMPTY"},
                                    {
                                        "name": "POD",
                                        "valueFrom": {"fieldRef": {
                                            "apiVersion": "v1",
                                            "fieldPath": "metadata.name",
                                        }},
                                    },
                                ],
                                "resources": {
                                    "limits": {"cpu": "500m", "memory": "64Mi"},
                                    "requests": {"cpu": "100m"},
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/data", "readOnly": true},
                                    {"name": "scratch", "mountPath": "/tmp", "subPath": "t"},
                                ],
                                "imagePullPolicy": "IfNotPresent",
                                "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File",
                            }],
                            "restartPolicy": "OnFailure",
                            "activeDeadlineSeconds": 60,
                            "terminationGracePeriodSeconds": 0,
                            "dnsPolicy": "ClusterFirst",
                            "nodeSelector": {"kubernetes.io/os": "wasi"},
                            "schedulerName": "default-scheduler",
                            "securityContext": {},
                        },
                    },
                },
            })
        );
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn create_job_from_a_full_cronjob_gives_back_the_job_template_kubectl_read() {
        let job = decode(CREATE_JOB_FROM_FULL_CRONJOB).unwrap();
        let cron_job: Value = serde_json::from_str(FULL_CRONJOB).unwrap();
        let mut expected = cron_job["spec"]["jobTemplate"]["spec"].clone();
        // Go's round trip through its types: `tty: false` is a non-pointer omitempty bool,
        // while `divisor` and `resources` are struct values, which Go always prints.
        let pod = &mut expected["template"]["spec"];
        pod["containers"][0].as_object_mut().unwrap().remove("tty");
        pod["containers"][0]["env"][3]["valueFrom"]["resourceFieldRef"]["divisor"] = json!("0");
        pod["initContainers"][0]["resources"] = json!({});
        assert_eq!(job["spec"], expected);
        // Pointer fields keep their zeros and falses.
        assert_eq!(job["spec"]["parallelism"], 0);
        assert_eq!(job["spec"]["suspend"], false);
        assert_eq!(job["spec"]["template"]["spec"]["priority"], 0);
        assert_eq!(
            job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"],
            json!([42, -1])
        );
        assert_eq!(job["metadata"]["labels"], json!({"app": "kitchen"}));
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn object_metadata_and_status_decode_with_rfc3339_times() {
        let metadata = [
            string(1, "pi"),
            string(2, "pi-"),
            string(3, "default"),
            string(4, ""),
            string(5, "0b5c1d2e-aaaa-4bbb-8ccc-0123456789ab"),
            string(6, "42"),
            int(7, 3),
            // 2026-01-01T00:00:00Z and 5 ns, which Go's Time drops.
            bytes(8, &[int(1, 1_767_225_600), int(2, 5)].concat()),
            bytes(9, &int(1, 1_767_225_660)),
            int(10, 0),
            entry(11, "app", "pi"),
            entry(11, "empty", ""),
            entry(12, "note", "x"),
            string(14, "batch.kubernetes.io/job-tracking"),
            string(14, "foregroundDeletion"),
        ]
        .concat();
        let condition = [
            string(1, "Complete"),
            string(2, "True"),
            bytes(3, &[]),
            bytes(4, &int(1, 1_767_225_630)),
            string(5, ""),
            string(6, ""),
        ]
        .concat();
        let status = [
            bytes(1, &condition),
            bytes(2, &int(1, 1_767_225_601)),
            bytes(3, &int(1, 1_767_225_630)),
            int(4, 0),
            int(5, 2),
            int(6, 0),
            string(7, "0-1"),
            bytes(8, &[]),
            int(9, 0),
            int(11, 0),
        ]
        .concat();
        // Go always writes the spec's template, a struct value.
        let raw = [
            bytes(1, &metadata),
            bytes(2, &bytes(6, &[])),
            bytes(3, &status),
        ]
        .concat();
        let job = decode(&body("batch/v1", "Job", &raw)).unwrap();
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": "pi",
                    "generateName": "pi-",
                    "namespace": "default",
                    "uid": "0b5c1d2e-aaaa-4bbb-8ccc-0123456789ab",
                    "resourceVersion": "42",
                    "generation": 3,
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "deletionTimestamp": "2026-01-01T00:01:00Z",
                    "deletionGracePeriodSeconds": 0,
                    "labels": {"app": "pi", "empty": ""},
                    "annotations": {"note": "x"},
                    "finalizers": ["batch.kubernetes.io/job-tracking", "foregroundDeletion"],
                },
                "spec": {"template": {}},
                "status": {
                    "conditions": [{
                        "type": "Complete",
                        "status": "True",
                        "lastTransitionTime": "2026-01-01T00:00:30Z",
                    }],
                    "startTime": "2026-01-01T00:00:01Z",
                    "completionTime": "2026-01-01T00:00:30Z",
                    "succeeded": 2,
                    "completedIndexes": "0-1",
                    "uncountedTerminatedPods": {},
                    "ready": 0,
                    "terminating": 0,
                },
            })
        );
        assert_round_trips::<Job>(&job);
    }

    #[test]
    fn a_cronjob_keeps_its_pointer_fields_and_status() {
        let spec = [
            string(1, "@daily"),
            int(2, 0),
            string(3, ""),
            int(4, 1),
            bytes(5, &[bytes(1, &[]), bytes(2, &bytes(6, &[]))].concat()),
            int(6, 0),
            int(7, 1),
            string(8, "Etc/UTC"),
        ]
        .concat();
        let reference = [
            string(1, "Job"),
            string(2, "default"),
            string(3, "nightly-1"),
            string(4, ""),
        ]
        .concat();
        let status = [
            bytes(1, &reference),
            bytes(4, &int(1, 1_767_225_600)),
            bytes(5, &[]),
        ]
        .concat();
        let raw = [
            bytes(1, &string(1, "nightly")),
            bytes(2, &spec),
            bytes(3, &status),
        ]
        .concat();
        let cron_job = decode(&body("batch/v1", "CronJob", &raw)).unwrap();
        assert_eq!(
            cron_job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "nightly"},
                "spec": {
                    "schedule": "@daily",
                    "startingDeadlineSeconds": 0,
                    "suspend": true,
                    "jobTemplate": {"metadata": {}, "spec": {"template": {}}},
                    "successfulJobsHistoryLimit": 0,
                    "failedJobsHistoryLimit": 1,
                    "timeZone": "Etc/UTC",
                },
                "status": {
                    "active": [{"kind": "Job", "namespace": "default", "name": "nightly-1"}],
                    "lastScheduleTime": "2026-01-01T00:00:00Z",
                },
            })
        );
        assert_round_trips::<CronJob>(&cron_job);
    }

    #[test]
    fn a_namespace_keeps_its_finalizers_and_phase() {
        let raw = [
            bytes(1, &string(1, "team-b")),
            bytes(2, &string(1, "kubernetes")),
            bytes(3, &string(1, "Active")),
        ]
        .concat();
        let namespace = decode(&body("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            namespace,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "team-b"},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            })
        );
        assert_round_trips::<Namespace>(&namespace);
    }

    #[test]
    fn config_maps_and_secrets_keep_their_maps_and_bytes_turn_base64() {
        let entry = |num: u64, k: &str, v: &[u8]| bytes(num, &[string(1, k), bytes(2, v)].concat());
        let raw = [
            bytes(1, &string(1, "cfg")),
            entry(2, "mode", b"fast"),
            entry(3, "blob", &[0, 159, 146, 150]),
            int(4, 1),
        ]
        .concat();
        let cm = decode(&body("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            cm,
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"mode": "fast"},
                "binaryData": {"blob": "AJ+Slg=="},
                "immutable": true,
            })
        );
        assert_round_trips::<k8s_openapi::api::core::v1::ConfigMap>(&cm);
        let raw = [
            bytes(1, &string(1, "creds")),
            entry(2, "password", b"s3cr3t"),
            string(3, "Opaque"),
            entry(4, "user", b"alice"),
        ]
        .concat();
        let secret = decode(&body("v1", "Secret", &raw)).unwrap();
        assert_eq!(
            secret,
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds"},
                "data": {"password": "czNjcjN0"},
                "type": "Opaque",
                "stringData": {"user": "alice"},
            })
        );
        assert_round_trips::<k8s_openapi::api::core::v1::Secret>(&secret);
    }

    #[test]
    fn a_service_keeps_its_ports_and_target_ports_as_number_or_name() {
        let intstr = |number: Option<i64>, name: Option<&str>| match (number, name) {
            (Some(n), _) => [int(1, 0), int(2, n)].concat(),
            (_, Some(s)) => [int(1, 1), string(3, s)].concat(),
            _ => Vec::new(),
        };
        let port = |name: &str, p: i64, target: Vec<u8>| {
            [
                string(1, name),
                string(2, "TCP"),
                int(3, p),
                bytes(4, &target),
            ]
            .concat()
        };
        let spec = [
            bytes(1, &port("80-8080", 80, intstr(Some(8080), None))),
            bytes(1, &port("web", 443, intstr(None, Some("https")))),
            bytes(2, &[string(1, "app"), string(2, "web")].concat()),
            string(4, "ClusterIP"),
        ]
        .concat();
        let raw = [bytes(1, &string(1, "web")), bytes(2, &spec)].concat();
        let svc = decode(&body("v1", "Service", &raw)).unwrap();
        assert_eq!(
            svc["spec"],
            json!({
                "ports": [
                    {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080},
                    {"name": "web", "protocol": "TCP", "port": 443, "targetPort": "https"},
                ],
                "selector": {"app": "web"},
                "type": "ClusterIP",
            })
        );
        assert_round_trips::<k8s_openapi::api::core::v1::Service>(&svc);
    }

    #[test]
    fn packed_and_unpacked_repeated_integers_both_decode() {
        let packed = bytes(3, &[varint(1), varint(-2i64 as u64), varint(300)].concat());
        let unpacked = int(3, 7);
        let on_exit_codes = [string(2, "In"), packed, unpacked].concat();
        let rule = [string(1, "FailJob"), bytes(2, &on_exit_codes)].concat();
        let spec = bytes(11, &bytes(1, &rule));
        let job = decode(&body("batch/v1", "Job", &bytes(2, &spec))).unwrap();
        assert_eq!(
            job["spec"]["podFailurePolicy"],
            json!({"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, -2, 300, 7]}}]})
        );
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let unknown = [
            int(90, 5),
            [varint(91 << 3 | 1), vec![0; 8]].concat(),
            string(92, "ignored"),
            [varint(93 << 3 | 5), vec![0; 4]].concat(),
        ]
        .concat();
        // Probes (container field 10) are not in the tables either.
        let container = [
            string(1, "main"),
            bytes(10, &string(1, "probe")),
            unknown.clone(),
        ]
        .concat();
        let pod = bytes(2, &container);
        let spec = bytes(6, &bytes(2, &pod));
        let raw = [
            unknown.clone(),
            bytes(1, &[string(1, "x"), unknown].concat()),
            bytes(2, &spec),
        ]
        .concat();
        let job = decode(&body("batch/v1", "Job", &raw)).unwrap();
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "x"},
                "spec": {"template": {"spec": {"containers": [{"name": "main"}]}}},
            })
        );
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character_as_in_go_json() {
        let raw = bytes(1, &bytes(1, b"a\xffb"));
        let job = decode(&body("batch/v1", "Job", &raw)).unwrap();
        assert_eq!(job["metadata"]["name"], "a\u{fffd}b");
    }

    #[test]
    fn a_body_without_the_magic_prefix_is_rejected() {
        assert_eq!(decode(b""), Err(Error::MissingMagic));
        assert_eq!(decode(br#"{"kind":"Job"}"#), Err(Error::MissingMagic));
        assert_eq!(decode(&CREATE_JOB[1..]), Err(Error::MissingMagic));
        assert_eq!(
            Error::MissingMagic.to_string(),
            "missing the k8s protobuf magic prefix"
        );
    }

    #[test]
    fn a_truncated_body_names_the_field_it_stops_in() {
        assert_eq!(
            decode(&CREATE_JOB[..40]),
            Err(Error::Truncated("raw".into()))
        );
        let cut = &CREATE_JOB[..CREATE_JOB.len() - 1];
        assert_eq!(decode(cut), Err(Error::Truncated("contentType".into())));
        // The lengths around it are right; only the image's own length overruns.
        let container = [
            string(1, "main"),
            varint(2 << 3 | 2),
            varint(9),
            b"x.wasm".to_vec(),
        ]
        .concat();
        let spec = bytes(6, &bytes(2, &bytes(2, &container)));
        let err = decode(&body("batch/v1", "Job", &bytes(2, &spec))).unwrap_err();
        assert_eq!(
            err,
            Error::Truncated("spec.template.spec.containers[0].image".into())
        );
        assert_eq!(
            err.to_string(),
            "truncated protobuf field spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn every_prefix_of_every_fixture_decodes_or_fails_cleanly() {
        for fixture in FIXTURES {
            for end in 0..fixture.len() {
                // A cut between the envelope's fields leaves valid protobuf, possibly without a kind.
                match decode(&fixture[..end]) {
                    Ok(_)
                    | Err(
                        Error::MissingMagic | Error::Truncated(_) | Error::UnsupportedKind { .. },
                    ) => {}
                    Err(other) => panic!("prefix of {end} bytes: {other}"),
                }
            }
        }
    }

    #[test]
    fn an_unsupported_kind_is_rejected_by_name() {
        let err = decode(&body("v1", "Pod", &[])).unwrap_err();
        assert_eq!(
            err,
            Error::UnsupportedKind {
                api_version: "v1".into(),
                kind: "Pod".into()
            }
        );
        assert_eq!(
            err.to_string(),
            r#"unsupported kind "Pod" in protobuf body (apiVersion "v1")"#
        );
        // The kind alone is not enough: the group and version must match too.
        let err = decode(&body("batch/v1beta1", "CronJob", &[])).unwrap_err();
        assert!(matches!(err, Error::UnsupportedKind { .. }));
    }

    #[test]
    fn malformed_varints_wrong_wire_types_and_encodings_are_errors() {
        let overlong = [b"k8s\0".to_vec(), vec![0xff; 11]].concat();
        assert_eq!(
            decode(&overlong),
            Err(Error::MalformedVarint("runtime.Unknown".into()))
        );

        let raw = bytes(1, &int(1, 7));
        assert_eq!(
            decode(&body("batch/v1", "Job", &raw)),
            Err(Error::WireType {
                path: "metadata.name".into(),
                wire_type: 0
            })
        );
        let group = varint(99 << 3 | 3);
        assert_eq!(
            decode(&body("batch/v1", "Job", &bytes(2, &group)))
                .unwrap_err()
                .to_string(),
            "invalid wire type 3 for protobuf field spec.99"
        );

        let mut gzip = body("batch/v1", "Job", &[]);
        gzip.extend(string(3, "gzip"));
        assert_eq!(
            decode(&gzip),
            Err(Error::UnsupportedEncoding("gzip".into()))
        );

        let year_10000 = bytes(1, &bytes(8, &int(1, 253_402_300_800)));
        assert_eq!(
            decode(&body("batch/v1", "Job", &year_10000)),
            Err(Error::InvalidTime("metadata.creationTimestamp".into()))
        );
    }

    proptest::proptest! {
        /// A Job as client-go would encode it (any names, labels, counts and arguments)
        /// decodes to those values, in JSON k8s-openapi's Job reads and writes back unchanged.
        #[test]
        fn an_encoded_job_decodes_to_what_was_encoded(
            name in "[a-z][a-z0-9-]{0,20}",
            namespace in proptest::option::of("[a-z]{1,10}"),
            labels in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..4),
            parallelism in proptest::option::of(-5i32..100),
            backoff_limit in proptest::option::of(0i32..10),
            image in "[a-z]{1,8}\\.wasm",
            args in proptest::collection::vec(".{0,12}", 0..4),
        ) {
            use proptest::prelude::*;
            let mut meta = string(1, &name);
            if let Some(ns) = &namespace {
                meta.extend(string(3, ns));
            }
            for (k, v) in &labels {
                meta.extend(entry(11, k, v));
            }
            let mut container = [string(1, "main"), string(2, &image)].concat();
            for a in &args {
                container.extend(string(4, a));
            }
            let pod_spec = [bytes(2, &container), string(3, "Never")].concat();
            let template = [bytes(1, &[]), bytes(2, &pod_spec)].concat();
            let mut spec = Vec::new();
            if let Some(p) = parallelism {
                spec.extend(int(1, p.into()));
            }
            spec.extend(bytes(6, &template));
            if let Some(b) = backoff_limit {
                spec.extend(int(7, b.into()));
            }
            let raw = [bytes(1, &meta), bytes(2, &spec)].concat();
            let job = decode(&body("batch/v1", "Job", &raw)).expect("decodes");
            prop_assert_eq!(&job["metadata"]["name"], &json!(name));
            let want_ns = namespace.map(Value::from);
            prop_assert_eq!(job["metadata"].get("namespace"), want_ns.as_ref());
            let want_labels = (!labels.is_empty()).then(|| json!(labels));
            prop_assert_eq!(job["metadata"].get("labels"), want_labels.as_ref());
            let want_p = parallelism.map(Value::from);
            prop_assert_eq!(job["spec"].get("parallelism"), want_p.as_ref());
            let want_b = backoff_limit.map(Value::from);
            prop_assert_eq!(job["spec"].get("backoffLimit"), want_b.as_ref());
            let c = &job["spec"]["template"]["spec"]["containers"][0];
            prop_assert_eq!(&c["image"], &json!(image));
            let want_args = (!args.is_empty()).then(|| json!(args));
            prop_assert_eq!(c.get("args"), want_args.as_ref());
            let typed: Job = serde_json::from_value(job.clone()).expect("a Job");
            prop_assert_eq!(serde_json::to_value(&typed).unwrap(), job);
        }

        /// Truncated, altered or arbitrary bodies decode or are refused; none panics.
        #[test]
        fn damaged_bodies_are_refused_without_panicking(
            fixture in 0usize..FIXTURES.len(),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            flip in proptest::prelude::any::<(proptest::sample::Index, u8)>(),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let f = FIXTURES[fixture];
            let _ = decode(&f[..cut.index(f.len() + 1)]);
            let mut altered = f.to_vec();
            altered[flip.0.index(f.len())] ^= flip.1 | 1;
            let _ = decode(&altered);
            let _ = decode(&[MAGIC, &tail].concat());
        }
    }
}
