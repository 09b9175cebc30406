//! Per-kind API rules: what the API server does to an object of each kind on create,
//! update and delete (defaulting, validation, immutability, deletion), and how it prints.

use std::path::Path;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Namespace, NamespaceSpec, NamespaceStatus, Pod, PodSpec};
use serde_json::Value;

use super::error::ApiError;
use super::table;
use crate::api::host_path::HostPathPolicy;
use crate::api::validation::{FieldError, FieldPath, validate_job, validate_job_update};
use crate::api::{cronjob, defaults};
use crate::store::Object;

/// Context the rules need.
pub struct Ctx<'a> {
    /// Where `image:` names resolve.
    pub image_dir: &'a Path,
    /// Which `hostPath` volumes this node accepts.
    pub host_paths: &'a HostPathPolicy,
    /// Now.
    pub now: Timestamp,
}

/// An API kind: a stored [`Object`] plus the API server's rules for it. Its `KIND` and
/// `API_VERSION` are k8s-openapi's.
pub trait ApiKind: Object {
    /// `Job.batch`, as Invalid errors name it.
    const QUALIFIED_KIND: &'static str;
    /// Namespaced or cluster-scoped.
    const NAMESPACED: bool = true;
    /// Table columns.
    fn columns() -> Value;
    /// One Table row's cells.
    fn cells(&self, now: Timestamp) -> Vec<Value>;
    /// Defaults and validation of a new object; `Err` refuses the create.
    fn on_create(&mut self, _ctx: &Ctx) -> Result<(), ApiError> {
        Err(ApiError::method_not_allowed())
    }
    /// Rules of an update of the main resource (`new` already carries the old identity).
    fn on_update(_new: &mut Self, _old: &Self, _ctx: &Ctx) -> Result<(), ApiError> {
        Err(ApiError::method_not_allowed())
    }
}

fn invalid<K: ApiKind>(obj: &K, errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        let name = obj.metadata().name.clone().unwrap_or_default();
        Err(ApiError::invalid(K::QUALIFIED_KIND, &name, &errors))
    }
}

/// Admission of the pod template's `hostPath` volumes against the node's policy: a
/// refusal is `403 Forbidden`, as an admission plugin's (Pod Security's) is.
fn admit_host_paths(
    spec: Option<&PodSpec>,
    resource: &str,
    name: &str,
    ctx: &Ctx,
) -> Result<(), ApiError> {
    let Some(spec) = spec else { return Ok(()) };
    let refused = ctx.host_paths.refused(spec);
    let Some((volume, path, _)) = refused.first() else {
        return Ok(());
    };
    let why = &refused[0].2;
    let more = match refused.len() {
        1 => String::new(),
        n => format!(" (and {} more hostPath volumes)", n - 1),
    };
    Err(ApiError::forbidden(format!(
        "{resource} {name:?} is forbidden: hostPath volume {volume:?} (path {path:?}) is not allowed{more}: {why}"
    )))
}

fn job_pod_spec(job: &Job) -> Option<&PodSpec> {
    job.spec.as_ref()?.template.spec.as_ref()
}

fn cronjob_pod_spec(cj: &CronJob) -> Option<&PodSpec> {
    cj.spec
        .as_ref()?
        .job_template
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()
}

/// Images must name files inside the image directory: no absolute paths, no `..`.
fn check_images(job: &Job, ctx: &Ctx) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(pod) = job.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
        return errors;
    };
    let base = FieldPath::root("spec").child("template").child("spec");
    for (list, containers) in [
        (
            "initContainers",
            pod.init_containers.clone().unwrap_or_default(),
        ),
        ("containers", pod.containers.clone()),
    ] {
        for (i, c) in containers.iter().enumerate() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            let name = image.split('@').next().unwrap_or(image);
            let p = Path::new(name);
            let escapes = p.is_absolute()
                || p.components().any(|c| {
                    !matches!(
                        c,
                        std::path::Component::Normal(_) | std::path::Component::CurDir
                    )
                });
            let path = base.child(list).index(i).child("image");
            if escapes {
                errors.push(FieldError::invalid(
                    &path,
                    image,
                    "must be a relative path inside the image directory",
                ));
            } else if let Err(e) = crate::runtime::parse_image_ref(image, ctx.image_dir) {
                errors.push(FieldError::invalid(&path, image, e));
            }
        }
    }
    errors
}

impl ApiKind for Job {
    const QUALIFIED_KIND: &'static str = "Job.batch";
    fn columns() -> Value {
        table::job_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::job_cells(self, now)
    }
    fn on_create(&mut self, ctx: &Ctx) -> Result<(), ApiError> {
        self.status = None;
        defaults::default_job(self);
        let mut errors = validate_job(self);
        errors.extend(check_images(self, ctx));
        invalid(self, errors)?;
        let name = self.metadata.name.clone().unwrap_or_default();
        admit_host_paths(job_pod_spec(self), "jobs.batch", &name, ctx)
    }
    fn on_update(new: &mut Self, old: &Self, ctx: &Ctx) -> Result<(), ApiError> {
        new.status = old.status.clone();
        // Compare after defaulting, or patches built from the file would trip immutability.
        defaults::default_job(new);
        let mut errors = validate_job_update(new, old);
        errors.extend(check_images(new, ctx));
        invalid(new, errors)?;
        let name = new.metadata.name.clone().unwrap_or_default();
        admit_host_paths(job_pod_spec(new), "jobs.batch", &name, ctx)?;
        if serde_json::to_value(&new.spec).ok() != serde_json::to_value(&old.spec).ok() {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
        Ok(())
    }
}

impl ApiKind for Pod {
    const QUALIFIED_KIND: &'static str = "Pod";
    fn columns() -> Value {
        table::pod_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::pod_cells(self, now)
    }
    fn on_update(new: &mut Self, old: &Self, _ctx: &Ctx) -> Result<(), ApiError> {
        // Only metadata (labels, annotations, finalizers) may change through the API here.
        new.spec = old.spec.clone();
        new.status = old.status.clone();
        Ok(())
    }
}

impl ApiKind for Event {
    const QUALIFIED_KIND: &'static str = "Event";
    fn columns() -> Value {
        table::event_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::event_cells(self, now)
    }
}

impl ApiKind for Namespace {
    const QUALIFIED_KIND: &'static str = "Namespace";
    const NAMESPACED: bool = false;
    fn columns() -> Value {
        table::namespace_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::namespace_cells(self, now)
    }
    fn on_create(&mut self, _ctx: &Ctx) -> Result<(), ApiError> {
        self.metadata.namespace = None;
        self.spec = Some(NamespaceSpec {
            finalizers: Some(vec!["kubernetes".into()]),
        });
        self.status = Some(NamespaceStatus {
            phase: Some("Active".into()),
            conditions: None,
        });
        let name = self.metadata.name.clone().unwrap_or_default();
        let labels = self.metadata.labels.get_or_insert_with(Default::default);
        labels.insert("kubernetes.io/metadata.name".into(), name.clone());
        let mut errors = Vec::new();
        let path = FieldPath::root("metadata").child("name");
        if name.is_empty() {
            errors.push(FieldError::required(
                &path,
                "name or generateName is required",
            ));
        } else if !is_dns_label(&name) {
            errors.push(FieldError::invalid(
                &path,
                name.as_str(),
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ));
        }
        invalid(self, errors)
    }
    fn on_update(new: &mut Self, old: &Self, _ctx: &Ctx) -> Result<(), ApiError> {
        new.spec = old.spec.clone();
        new.status = old.status.clone();
        Ok(())
    }
}

impl ApiKind for CronJob {
    const QUALIFIED_KIND: &'static str = "CronJob.batch";
    fn columns() -> Value {
        table::cronjob_columns()
    }
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        table::cronjob_cells(self, now)
    }
    fn on_create(&mut self, ctx: &Ctx) -> Result<(), ApiError> {
        self.status = None;
        cronjob::default_cronjob(self);
        let mut errors = cronjob::validate_cronjob(self);
        errors.extend(template_images(self, ctx));
        invalid(self, errors)?;
        let name = self.metadata.name.clone().unwrap_or_default();
        admit_host_paths(cronjob_pod_spec(self), "cronjobs.batch", &name, ctx)
    }
    fn on_update(new: &mut Self, old: &Self, ctx: &Ctx) -> Result<(), ApiError> {
        new.status = old.status.clone();
        cronjob::default_cronjob(new);
        let mut errors = cronjob::validate_cronjob(new);
        errors.extend(template_images(new, ctx));
        invalid(new, errors)?;
        let name = new.metadata.name.clone().unwrap_or_default();
        admit_host_paths(cronjob_pod_spec(new), "cronjobs.batch", &name, ctx)?;
        if serde_json::to_value(&new.spec).ok() != serde_json::to_value(&old.spec).ok() {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
        Ok(())
    }
}

/// Image checks of a CronJob's job template, reported under its path.
fn template_images(cj: &CronJob, ctx: &Ctx) -> Vec<FieldError> {
    let job = Job {
        spec: cj.spec.as_ref().and_then(|s| s.job_template.spec.clone()),
        ..Default::default()
    };
    check_images(&job, ctx)
        .into_iter()
        .map(|mut e| {
            e.field = e.field.replacen("spec.", "spec.jobTemplate.spec.", 1);
            e
        })
        .collect()
}

/// A DNS-1123 label of at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `kind` of the list type (`JobList`).
pub fn list_kind<K: ApiKind>() -> String {
    format!("{}List", <K as k8s_openapi::Resource>::KIND)
}

/// Paths in `input` that the typed round-trip dropped: fields unknown to the schema.
/// Empty values are ignored, since a round-trip may legitimately drop those.
pub fn unknown_fields(input: &Value, roundtrip: &Value) -> Vec<String> {
    fn walk(input: &Value, rt: &Value, path: &str, out: &mut Vec<String>) {
        match (input, rt) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in a {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match b.get(k) {
                        Some(w) => walk(v, w, &p, out),
                        None if is_empty(v) => {}
                        None => out.push(p),
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for (i, (v, w)) in a.iter().zip(b.iter()).enumerate() {
                    walk(v, w, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    fn is_empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Object(m) => m.values().all(is_empty),
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        }
    }
    let mut out = Vec::new();
    walk(input, roundtrip, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_found_by_round_trip() {
        let input = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, "spec": {"foo": 1, "template": {"spec": {"containers": [{"name": "c", "bar": true}]}}}});
        let job: Job = serde_json::from_value(input.clone()).unwrap();
        let rt = serde_json::to_value(&job).unwrap();
        assert_eq!(
            unknown_fields(&input, &rt),
            ["spec.foo", "spec.template.spec.containers[0].bar"]
        );
    }

    #[test]
    fn images_outside_the_image_directory_are_invalid() {
        let mut job: Job = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "x", "uid": "u"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "../etc/x.wasm"}]}}}
        }))
        .unwrap();
        let ctx = Ctx {
            image_dir: Path::new("/images"),
            host_paths: &HostPathPolicy::default(),
            now: Timestamp::UNIX_EPOCH,
        };
        let err = job.on_create(&ctx).unwrap_err().status();
        assert_eq!(
            err["details"]["causes"][0]["field"],
            "spec.template.spec.containers[0].image"
        );
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("must be a relative path inside the image directory")
        );
    }

    #[test]
    fn host_paths_outside_the_allow_list_are_forbidden() {
        let job = |path: &str| -> Job {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "x", "uid": "u"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "volumes": [{"name": "host", "hostPath": {"path": path}}],
                    "containers": [{"name": "c", "image": "x.wasm",
                        "volumeMounts": [{"name": "host", "mountPath": "/h"}]}]}}}
            }))
            .unwrap()
        };
        let images = tempfile::tempdir().unwrap();
        std::fs::write(images.path().join("x.wasm"), b"").unwrap();
        let policy =
            HostPathPolicy::only_under(vec!["/srv/shared".into()], vec!["/var/lib/wasmjob".into()]);
        let ctx = Ctx {
            image_dir: images.path(),
            host_paths: &policy,
            now: Timestamp::UNIX_EPOCH,
        };
        let err = job("/").on_create(&ctx).unwrap_err().status();
        assert_eq!(err["code"], 403);
        assert_eq!(err["reason"], "Forbidden");
        assert_eq!(
            err["message"],
            "jobs.batch \"x\" is forbidden: hostPath volume \"host\" (path \"/\") is not allowed: \
             this server allows hostPath volumes only under /srv/shared (serve --allow-host-path)"
        );
        job("/srv/shared/a").on_create(&ctx).unwrap();
        let open = HostPathPolicy::any_but(vec!["/var/lib/wasmjob".into()]);
        let ctx = Ctx {
            host_paths: &open,
            ..ctx
        };
        let err = job("/var/lib").on_create(&ctx).unwrap_err().status();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("/var/lib/wasmjob"),
            "{err}"
        );
    }
}
