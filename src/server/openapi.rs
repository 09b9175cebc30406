//! The OpenAPI documents of what we serve, generated from k8s-openapi's schemas (which carry
//! upstream's field docs) rather than written by hand: `/openapi/v3/<group-version>` (JSON,
//! `kubectl explain`, kubectl ≥1.29's `fieldValidation` check) and `/openapi/v2` (JSON, or
//! the gnostic protobuf kubectl ≤1.28 asks for to validate `create -f` and `apply -f`).
//!
//! Beyond the generated schemas, the documents carry what kubectl reads from upstream's:
//! `x-kubernetes-group-version-kind` on each kind served, the strategic-merge-patch
//! extensions (`x-kubernetes-patch-merge-key`, `-strategy`) that client-side `apply` builds
//! its patches by (the same table as `patch`'s server side), and in v3 a `patch` operation
//! per object path with the `fieldValidation` parameter. Each document is built once.

use std::sync::OnceLock;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::resource::RESOURCES;

/// A kind served: (group, kind, plural, namespaced) — the resource table's, and
/// events.k8s.io/v1's view of the Events.
type Served = (&'static str, &'static str, &'static str, bool);

fn served() -> Vec<Served> {
    RESOURCES
        .iter()
        .map(|r| (r.group, r.kind, r.plural, r.namespaced))
        .chain([("events.k8s.io", "Event", "events", true)])
        .collect()
}

/// The groups with a v3 document, as its root lists them.
pub const GROUPS: [&str; 3] = ["", "batch", "events.k8s.io"];

/// The strategic-merge-patch tags of k8s.io/api (`patchStrategy`, `patchMergeKey`) on the
/// lists of the types we serve: (definition, field, merge key, strategy). `patch`'s `Node`
/// table says the same for the server's own merges.
const PATCH_TAGS: &[(&str, &str, Option<&str>, &str)] = &[
    (OBJECT_META, "finalizers", None, "merge"),
    (OBJECT_META, "ownerReferences", Some("uid"), "merge"),
    (POD_SPEC, "containers", Some("name"), "merge"),
    (POD_SPEC, "initContainers", Some("name"), "merge"),
    (POD_SPEC, "ephemeralContainers", Some("name"), "merge"),
    (POD_SPEC, "volumes", Some("name"), "merge,retainKeys"),
    (POD_SPEC, "imagePullSecrets", Some("name"), "merge"),
    (POD_SPEC, "schedulingGates", Some("name"), "merge"),
    (POD_SPEC, "resourceClaims", Some("name"), "merge,retainKeys"),
    (POD_SPEC, "hostAliases", Some("ip"), "merge"),
    (
        POD_SPEC,
        "topologySpreadConstraints",
        Some("topologyKey"),
        "merge",
    ),
    (CONTAINER, "env", Some("name"), "merge"),
    (CONTAINER, "ports", Some("containerPort"), "merge"),
    (CONTAINER, "volumeMounts", Some("mountPath"), "merge"),
    (CONTAINER, "volumeDevices", Some("devicePath"), "merge"),
    (EPHEMERAL_CONTAINER, "env", Some("name"), "merge"),
    (EPHEMERAL_CONTAINER, "ports", Some("containerPort"), "merge"),
    (
        EPHEMERAL_CONTAINER,
        "volumeMounts",
        Some("mountPath"),
        "merge",
    ),
    (
        EPHEMERAL_CONTAINER,
        "volumeDevices",
        Some("devicePath"),
        "merge",
    ),
    (
        "io.k8s.api.batch.v1.JobStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "podIPs",
        Some("ip"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "hostIPs",
        Some("ip"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "resourceClaimStatuses",
        Some("name"),
        "merge,retainKeys",
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
];

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const POD_SPEC: &str = "io.k8s.api.core.v1.PodSpec";
const CONTAINER: &str = "io.k8s.api.core.v1.Container";
const EPHEMERAL_CONTAINER: &str = "io.k8s.api.core.v1.EphemeralContainer";

/// Which document: v2 (`#/definitions/…`, references beside their descriptions, as
/// upstream's swagger) or v3 (`#/components/schemas/…`, a reference with siblings wrapped
/// in `allOf`, as upstream's v3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

/// The schemas of the kinds of `group` (every group's for v2), and of everything they
/// reference, keyed by upstream's definition names.
fn definitions(version: Version, group: Option<&str>) -> Map<String, Value> {
    let mut settings = match version {
        Version::V2 => {
            let mut s = SchemaSettings::draft07();
            s.transforms.clear();
            s
        }
        Version::V3 => SchemaSettings::openapi3(),
    };
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let wanted = |g: &str| group.is_none_or(|w| w == g);
    let mut roots: Vec<(String, Served)> = Vec::new();
    for kind @ (g, k, _, _) in served().into_iter().filter(|(g, ..)| wanted(g)) {
        // Each kind's own schema goes into the definitions through its reference.
        let schema = match (g, k) {
            ("batch", "Job") => generator.subschema_for::<Job>(),
            ("batch", "CronJob") => generator.subschema_for::<CronJob>(),
            ("", "Pod") => generator.subschema_for::<Pod>(),
            ("", "Event") => generator.subschema_for::<Event>(),
            ("", "Namespace") => generator.subschema_for::<Namespace>(),
            ("", "ConfigMap") => generator.subschema_for::<ConfigMap>(),
            ("", "Secret") => generator.subschema_for::<Secret>(),
            ("", "Service") => generator.subschema_for::<k8s_openapi::api::core::v1::Service>(),
            ("events.k8s.io", "Event") => {
                generator.subschema_for::<k8s_openapi::api::events::v1::Event>()
            }
            _ => continue,
        };
        let name = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        roots.push((name, kind));
    }
    let mut defs = generator.take_definitions(true);
    for (name, (group, kind, _, _)) in roots {
        if let Some(Value::Object(def)) = defs.get_mut(&name) {
            def.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": group, "kind": kind, "version": "v1"}]),
            );
        }
    }
    for (def, field, key, strategy) in PATCH_TAGS {
        let Some(Value::Object(prop)) = defs
            .get_mut(*def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*field))
        else {
            continue;
        };
        if let Some(key) = key {
            prop.insert("x-kubernetes-patch-merge-key".into(), (*key).into());
        }
        prop.insert("x-kubernetes-patch-strategy".into(), (*strategy).into());
    }
    if version == Version::V2 {
        // Upstream's swagger types these `string` (`int-or-string`); kubectl ≤1.28 prints
        // and validates by it.
        for (name, def) in defs.iter_mut() {
            if let Value::Object(def) = def
                && def.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
                && !def.contains_key("type")
            {
                def.insert("type".into(), "string".into());
                // Only IntOrString says so; a Quantity is a plain string.
                if name.ends_with(".IntOrString") {
                    def.insert("format".into(), "int-or-string".into());
                }
            }
        }
    }
    defs
}

/// A `patch` operation for the object path of `info`, which is what kubectl's
/// QueryParamVerifier looks for. No `requestBody`: client-side apply then builds its
/// strategic merge patch from v2's schemas (or its compiled-in types) as against a real
/// server of this version.
fn object_paths(group: &str) -> Map<String, Value> {
    let mut paths = Map::new();
    for (_, kind, plural, namespaced) in served().into_iter().filter(|(g, ..)| *g == group) {
        let prefix = if group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{group}/v1")
        };
        let path = if namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{plural}/{{name}}")
        } else {
            format!("{prefix}/{plural}/{{name}}")
        };
        paths.insert(
            path,
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": "v1", "kind": kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]
            }}),
        );
    }
    paths
}

/// The v3 document of one group (`""` for core), as JSON.
pub fn v3(group: &str) -> &'static [u8] {
    static DOCS: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let at = GROUPS.iter().position(|g| *g == group).unwrap_or(0);
    let cell = &DOCS[at];
    cell.get_or_init(|| {
        let doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": object_paths(group),
            "components": {"schemas": definitions(Version::V3, Some(group))},
        });
        serde_json::to_vec(&doc).unwrap_or_default()
    })
}

/// The v2 document (every group), as JSON. Its paths are what kubectl ≤1.28's dry-run
/// verifier looks for: a `patch` per object path with the kind's GVK and a `dryRun` query
/// parameter (without it, `delete --dry-run=server` says the server cannot dry-run).
pub fn v2_json() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut paths = Map::new();
        for group in GROUPS {
            for (path, item) in object_paths(group) {
                let gvk = item["patch"]["x-kubernetes-group-version-kind"].clone();
                paths.insert(
                    path,
                    json!({"patch": {
                        "x-kubernetes-group-version-kind": gvk,
                        "parameters": [
                            {"name": "dryRun", "in": "query", "type": "string", "uniqueItems": true},
                            {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
                        ],
                    }}),
                );
            }
        }
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
            "definitions": definitions(Version::V2, None),
        })
    })
}

/// The doc of `field` of the definition `def` (upstream's `SwaggerDoc()`, which Table
/// columns quote).
pub fn description(def: &str, field: &str) -> String {
    v2_json()["definitions"][def]["properties"][field]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The v2 document as gnostic's `openapi.v2.Document` protobuf.
pub fn v2_protobuf() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| gnostic::document(v2_json()))
}

/// A hash of the documents, for the v3 root's URLs (kubectl caches by it).
pub fn hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for group in GROUPS {
            h.update(v3(group));
        }
        hex::encode(&h.finalize()[..8]).to_uppercase()
    })
}

/// Protobuf encoding of the parts of gnostic's `OpenAPIv2.proto` a schema document uses
/// (field numbers from `openapiv2/OpenAPIv2.proto`): `Document`, `Info`, `Definitions`,
/// `Schema` and its helpers; vendor extensions and `default`/`enum` values travel as YAML
/// text in `Any.yaml`, as gnostic writes them.
mod gnostic {
    use serde_json::Value;

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn key(out: &mut Vec<u8>, field: u64, wire: u64) {
        varint(out, (field << 3) | wire);
    }

    fn bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
        key(out, field, 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    fn string(out: &mut Vec<u8>, field: u64, s: &str) {
        if !s.is_empty() {
            bytes(out, field, s.as_bytes());
        }
    }

    fn int(out: &mut Vec<u8>, field: u64, v: u64) {
        key(out, field, 0);
        varint(out, v);
    }

    fn double(out: &mut Vec<u8>, field: u64, v: f64) {
        key(out, field, 1);
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// `Any{yaml}`: the value as YAML text.
    fn any(value: &Value) -> Vec<u8> {
        let yaml = serde_yaml_ng::to_string(value).unwrap_or_default();
        let mut out = Vec::new();
        string(&mut out, 2, &yaml);
        out
    }

    /// `NamedSchema{name, value}` / `NamedAny{name, value}`.
    fn named(name: &str, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, 1, name);
        bytes(&mut out, 2, value);
        out
    }

    pub(super) fn schema(s: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let Value::Object(map) = s else {
            return out;
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str);
        if let Some(r) = text("$ref") {
            string(&mut out, 1, r);
        }
        for (k, field) in [("format", 2), ("title", 3), ("description", 4)] {
            if let Some(v) = text(k) {
                string(&mut out, field, v);
            }
        }
        if let Some(v) = map.get("default") {
            bytes(&mut out, 5, &any(v));
        }
        for (k, field) in [("multipleOf", 6), ("maximum", 7), ("minimum", 9)] {
            if let Some(v) = map.get(k).and_then(Value::as_f64) {
                double(&mut out, field, v);
            }
        }
        for (k, field) in [
            ("exclusiveMaximum", 8),
            ("exclusiveMinimum", 10),
            ("uniqueItems", 16),
            ("readOnly", 27),
        ] {
            if map.get(k).and_then(Value::as_bool) == Some(true) {
                int(&mut out, field, 1);
            }
        }
        for (k, field) in [
            ("maxLength", 11),
            ("minLength", 12),
            ("maxItems", 14),
            ("minItems", 15),
            ("maxProperties", 17),
            ("minProperties", 18),
        ] {
            if let Some(v) = map.get(k).and_then(Value::as_u64) {
                int(&mut out, field, v);
            }
        }
        if let Some(v) = text("pattern") {
            string(&mut out, 13, v);
        }
        for r in map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            string(&mut out, 19, r.as_str().unwrap_or_default());
        }
        for e in map
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            bytes(&mut out, 20, &any(e));
        }
        match map.get("additionalProperties") {
            Some(Value::Bool(b)) => {
                let mut item = Vec::new();
                int(&mut item, 2, u64::from(*b));
                bytes(&mut out, 21, &item);
            }
            Some(v @ Value::Object(_)) => {
                let mut item = Vec::new();
                bytes(&mut item, 1, &schema(v));
                bytes(&mut out, 21, &item);
            }
            _ => {}
        }
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() {
            let mut item = Vec::new();
            for t in types {
                string(&mut item, 1, t);
            }
            bytes(&mut out, 22, &item);
        }
        match map.get("items") {
            Some(v @ Value::Object(_)) => {
                let mut item = Vec::new();
                bytes(&mut item, 1, &schema(v));
                bytes(&mut out, 23, &item);
            }
            Some(Value::Array(vs)) => {
                let mut item = Vec::new();
                for v in vs {
                    bytes(&mut item, 1, &schema(v));
                }
                bytes(&mut out, 23, &item);
            }
            _ => {}
        }
        for s in map
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            bytes(&mut out, 24, &schema(s));
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            let mut item = Vec::new();
            for (name, s) in props {
                bytes(&mut item, 1, &named(name, &schema(s)));
            }
            bytes(&mut out, 25, &item);
        }
        for (k, v) in map.iter().filter(|(k, _)| k.starts_with("x-")) {
            bytes(&mut out, 31, &named(k, &any(v)));
        }
        out
    }

    /// `Operation{parameters, vendor_extension}` with query parameters only
    /// (`ParametersItem{Parameter{NonBodyParameter{QueryParameterSubSchema}}}`).
    fn operation(op: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let mut query = Vec::new();
            string(&mut query, 2, p["in"].as_str().unwrap_or_default());
            string(&mut query, 4, p["name"].as_str().unwrap_or_default());
            string(&mut query, 6, p["type"].as_str().unwrap_or_default());
            if p["uniqueItems"].as_bool() == Some(true) {
                int(&mut query, 20, 1);
            }
            let mut non_body = Vec::new();
            bytes(&mut non_body, 3, &query);
            let mut parameter = Vec::new();
            bytes(&mut parameter, 2, &non_body);
            let mut item = Vec::new();
            bytes(&mut item, 1, &parameter);
            bytes(&mut out, 8, &item);
        }
        for (k, v) in op.as_object().into_iter().flatten() {
            if k.starts_with("x-") {
                bytes(&mut out, 13, &named(k, &any(v)));
            }
        }
        out
    }

    /// `Document{swagger, info, paths, definitions}`; a path's `patch` is its only
    /// operation.
    pub(super) fn document(doc: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, 1, doc["swagger"].as_str().unwrap_or("2.0"));
        let mut info = Vec::new();
        string(
            &mut info,
            1,
            doc["info"]["title"].as_str().unwrap_or_default(),
        );
        string(
            &mut info,
            2,
            doc["info"]["version"].as_str().unwrap_or_default(),
        );
        bytes(&mut out, 2, &info);
        let mut paths = Vec::new();
        for (name, item) in doc["paths"].as_object().into_iter().flatten() {
            let mut path_item = Vec::new();
            bytes(&mut path_item, 8, &operation(&item["patch"]));
            bytes(&mut paths, 2, &named(name, &path_item));
        }
        bytes(&mut out, 8, &paths);
        let mut defs = Vec::new();
        for (name, s) in doc["definitions"].as_object().into_iter().flatten() {
            bytes(&mut defs, 1, &named(name, &schema(s)));
        }
        bytes(&mut out, 9, &defs);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3_doc(group: &str) -> Value {
        serde_json::from_slice(v3(group)).unwrap()
    }

    #[test]
    fn each_kind_has_its_schema_and_gvk_and_the_docs_of_its_fields() {
        let batch = v3_doc("batch");
        let job = &batch["components"]["schemas"]["io.k8s.api.batch.v1.Job"];
        assert_eq!(
            job["x-kubernetes-group-version-kind"],
            json!([{"group": "batch", "kind": "Job", "version": "v1"}])
        );
        assert_eq!(
            job["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.batch.v1.JobSpec"
        );
        let spec = &batch["components"]["schemas"]["io.k8s.api.batch.v1.JobSpec"];
        assert!(
            spec["properties"]["backoffLimit"]["description"]
                .as_str()
                .unwrap()
                .starts_with("Specifies the number of retries"),
            "{spec}"
        );
        assert!(
            batch["paths"]["/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}"]["patch"]
                .is_object()
        );
        let core = v3_doc("");
        for kind in ["Pod", "Event", "Namespace", "ConfigMap", "Secret"] {
            let def = &core["components"]["schemas"][format!("io.k8s.api.core.v1.{kind}")];
            assert_eq!(def["x-kubernetes-group-version-kind"][0]["kind"], kind);
        }
        assert!(core["paths"]["/api/v1/namespaces/{name}"]["patch"].is_object());
        assert!(
            core["components"]["schemas"]
                .get("io.k8s.api.batch.v1.Job")
                .is_none()
        );
    }

    #[test]
    fn lists_carry_their_strategic_merge_tags() {
        let v2 = v2_json();
        let containers = &v2["definitions"][POD_SPEC]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(
            containers["items"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.Container"
        );
        let volumes = &v2["definitions"][POD_SPEC]["properties"]["volumes"];
        assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
        // Every tag names a field that exists.
        for (def, field, _, _) in PATCH_TAGS {
            assert!(
                v2["definitions"][*def]["properties"].get(*field).is_some(),
                "{def}.{field}"
            );
        }
        assert_eq!(
            v2["definitions"]["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"],
            "string"
        );
    }

    /// Reads back a protobuf message's fields: (number, wire type, payload or value).
    fn fields(mut b: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    return v;
                }
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let k = varint(&mut b);
            let (num, wire) = (k >> 3, k & 7);
            let payload = match wire {
                0 => varint(&mut b).to_le_bytes().to_vec(),
                1 => {
                    let (v, rest) = b.split_at(8);
                    b = rest;
                    v.to_vec()
                }
                2 => {
                    let n = varint(&mut b) as usize;
                    let (v, rest) = b.split_at(n);
                    b = rest;
                    v.to_vec()
                }
                other => panic!("wire type {other}"),
            };
            out.push((num, wire, payload));
        }
        out
    }

    #[test]
    fn the_protobuf_document_holds_every_definition_with_its_extensions() {
        let doc = fields(v2_protobuf());
        assert_eq!(doc[0], (1, 2, b"2.0".to_vec()));
        let defs = doc.iter().find(|f| f.0 == 9).expect("definitions");
        let named: Vec<(String, Vec<u8>)> = fields(&defs.2)
            .into_iter()
            .map(|(_, _, named)| {
                let parts = fields(&named);
                (
                    String::from_utf8(parts[0].2.clone()).unwrap(),
                    parts[1].2.clone(),
                )
            })
            .collect();
        assert_eq!(
            named.len(),
            v2_json()["definitions"].as_object().unwrap().len()
        );
        let (_, job) = named
            .iter()
            .find(|(n, _)| n == "io.k8s.api.batch.v1.Job")
            .expect("Job");
        let job = fields(job);
        let gvk = job.iter().find(|f| f.0 == 31).expect("vendor extension");
        let ext = fields(&gvk.2);
        assert_eq!(ext[0].2, b"x-kubernetes-group-version-kind");
        let yaml = fields(&ext[1].2);
        assert_eq!(
            String::from_utf8(yaml[0].2.clone()).unwrap(),
            "- group: batch\n  kind: Job\n  version: v1\n"
        );
        let types = job.iter().find(|f| f.0 == 22).expect("type");
        assert_eq!(fields(&types.2)[0].2, b"object");
    }
}
