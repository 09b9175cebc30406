//! Admission: the one way a new or changed object enters the store, whoever sends it
//! (kubectl through the API server, the CronJob controller's Jobs, the Job controller's
//! pods, `wasmjob run`'s manifests, `serve`'s own namespaces).
//!
//! The stages are kube-apiserver's, in its order. Authentication and authorization happen
//! before, in the server, for requests (controllers act as the system). Then:
//! 1. identity ([`create`] only, `rest.BeforeCreate`): a name from `generateName`, a uid,
//!    `creationTimestamp`, `generation: 1`; a client's `resourceVersion` is refused;
//! 2. [`Admit::prepare_for_create`] / [`Admit::prepare_for_update`] (the strategy's
//!    `PrepareFor*`): what a client may not set through this endpoint (status);
//! 3. mutating admission, [`Admit::default`]: defaults today; LimitRange's will go here;
//! 4. validation, [`Admit::validate`] / [`Admit::validate_update`];
//! 5. validating admission against the node's [`Policy`]: images, `hostPath`; Pod
//!    Security and ResourceQuota will go here.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, NamespaceSpec, NamespaceStatus, Pod, PodSpec, Secret, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::host_path::HostPathPolicy;
use super::validation::{
    self, FieldError, FieldPath, validate_job, validate_job_update, validate_namespace_meta,
};
use super::{defaults, meta};

/// Checks an `image:` the way the node will resolve it (`Err` is the reason it cannot).
pub type ImageCheck = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The node's validating admission: what it accepts beyond the API's own rules.
#[derive(Clone, Default)]
pub struct Policy {
    /// Which `hostPath` volumes are allowed.
    pub host_paths: HostPathPolicy,
    /// How images are checked at admission; `None` leaves them to the kubelet (`run`
    /// resolves them next to each manifest).
    pub images: Option<ImageCheck>,
    /// The binder: with one node, a new pod is bound to it at admission (the scheduler's
    /// Binding, without its extra write); `None` leaves pods unbound.
    pub bind_to: Option<String>,
}

/// Why admission refused an object; each becomes the API server's `Status` of that reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// 422 `Invalid`: the field errors, under the kind (`Job.batch`) and name.
    #[error("{}", validation::invalid_message(.kind, .name, .errors))]
    Invalid {
        /// `Job.batch`, as the message names it.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// What is wrong, field by field.
        errors: Vec<FieldError>,
    },
    /// 403 `Forbidden`, as an admission plugin (Pod Security) refuses.
    #[error("{0}")]
    Forbidden(String),
    /// 400 `BadRequest`: the request itself is malformed for a create.
    #[error("{0}")]
    BadRequest(String),
}

/// A kind's rules at admission.
pub trait Admit: k8s_openapi::Metadata<Ty = ObjectMeta> + Sized {
    /// `Job.batch`, as Invalid errors name the kind.
    const QUALIFIED_KIND: &'static str;
    /// The plural resource and group (`jobs.batch`), as Forbidden messages name it.
    const RESOURCE: &'static str;
    /// Whether `metadata.generation` counts spec changes (not for pods, as in 1.32).
    const HAS_GENERATION: bool = true;
    /// What a client may not set on create (the status, as every strategy clears it).
    fn prepare_for_create(&mut self) {}
    /// What a client may not change on update of the main resource (`self` is new).
    fn prepare_for_update(&mut self, _old: &Self) {}
    /// Defaults, as decoding and mutating admission apply them.
    fn default(&mut self) {}
    /// Validation of a new object.
    fn validate(&self) -> Vec<FieldError>;
    /// Validation of an update (immutability included); by default, as a new object.
    fn validate_update(&self, _old: &Self) -> Vec<FieldError> {
        self.validate()
    }
    /// The pod spec the node's policy applies to, and its field path.
    fn pod_spec(&self) -> Option<(&PodSpec, FieldPath)> {
        None
    }
    /// Binds a new object to `node` (pods only: `spec.nodeName`, unless already set).
    fn bind(&mut self, _node: &str) {}
    /// Whether an update of the spec counts as a new generation.
    fn spec_changed(&self, _old: &Self) -> bool {
        false
    }
}

/// Admits a new object: identity, then the stages in order. `now` is its
/// `creationTimestamp`.
pub fn create<K: Admit>(mut obj: K, policy: &Policy, now: Timestamp) -> Result<K, Refusal> {
    {
        let m = obj.metadata_mut();
        if m.resource_version.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(Refusal::BadRequest(
                "resourceVersion should not be set on objects to be created".into(),
            ));
        }
        if m.name.as_deref().unwrap_or("").is_empty()
            && let Some(prefix) = m.generate_name.as_deref().filter(|p| !p.is_empty())
        {
            m.name = Some(meta::generated_name(prefix));
        }
        m.uid = Some(meta::new_uid());
        m.creation_timestamp = Some(Time(now));
        m.generation = K::HAS_GENERATION.then_some(1);
        m.resource_version = None;
        m.deletion_timestamp = None;
        m.managed_fields = None;
    }
    obj.prepare_for_create();
    obj.default();
    if let Some(node) = &policy.bind_to {
        obj.bind(node);
    }
    let mut errors = obj.validate();
    errors.extend(images(&obj, policy));
    refuse_invalid(&obj, errors)?;
    host_paths(&obj, policy)?;
    Ok(obj)
}

/// Admits a changed object (`new` already carries `old`'s identity).
pub fn update<K: Admit>(mut new: K, old: &K, policy: &Policy) -> Result<K, Refusal> {
    new.prepare_for_update(old);
    // Compare after defaulting, or patches built from the file would trip immutability.
    new.default();
    let mut errors = new.validate_update(old);
    // The node's policy judges what a change brings: an update that leaves the pod spec
    // alone (labels, finalizers) passes even after the operator narrowed the policy.
    let pod_spec = |o: &K| o.pod_spec().and_then(|(s, _)| serde_json::to_value(s).ok());
    let spec_changed = pod_spec(&new) != pod_spec(old);
    if spec_changed {
        errors.extend(images(&new, policy));
    }
    refuse_invalid(&new, errors)?;
    if spec_changed {
        host_paths(&new, policy)?;
    }
    if new.spec_changed(old) {
        new.metadata_mut().generation = Some(old.metadata().generation.unwrap_or(1) + 1);
    }
    Ok(new)
}

fn refuse_invalid<K: Admit>(obj: &K, errors: Vec<FieldError>) -> Result<(), Refusal> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(Refusal::Invalid {
        kind: K::QUALIFIED_KIND,
        name: obj.metadata().name.clone().unwrap_or_default(),
        errors,
    })
}

/// Stage 5, images: they must resolve on this node; reported with the validation errors
/// (422, under their field paths), as they always were.
fn images<K: Admit>(obj: &K, policy: &Policy) -> Vec<FieldError> {
    match (obj.pod_spec(), &policy.images) {
        (Some((spec, base)), Some(check)) => image_errors(spec, &base, check),
        _ => Vec::new(),
    }
}

/// Stage 5, `hostPath`: only the volumes the node allows (403, as an admission plugin
/// refuses).
fn host_paths<K: Admit>(obj: &K, policy: &Policy) -> Result<(), Refusal> {
    let Some((spec, _)) = obj.pod_spec() else {
        return Ok(());
    };
    let refused = policy.host_paths.refused(spec);
    let Some((volume, path, why)) = refused.first() else {
        return Ok(());
    };
    let more = match refused.len() {
        1 => String::new(),
        n => format!(" (and {} more hostPath volumes)", n - 1),
    };
    Err(Refusal::Forbidden(format!(
        "{} {:?} is forbidden: hostPath volume {volume:?} (path {path:?}) is not allowed{more}: {why}",
        K::RESOURCE,
        obj.metadata().name.as_deref().unwrap_or("")
    )))
}

/// Images must name files inside the image directory: no absolute paths, no `..`.
fn image_errors(spec: &PodSpec, base: &FieldPath, check: &ImageCheck) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let lists = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or(&[]),
        ),
        ("containers", spec.containers.as_slice()),
    ];
    for (list, containers) in lists {
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
            } else if let Err(e) = check(image) {
                errors.push(FieldError::invalid(&path, image, e));
            }
        }
    }
    errors
}

fn spec_json<T: serde::Serialize>(spec: &T) -> Option<serde_json::Value> {
    serde_json::to_value(spec).ok()
}

impl Admit for Job {
    const QUALIFIED_KIND: &'static str = "Job.batch";
    const RESOURCE: &'static str = "jobs.batch";
    fn prepare_for_create(&mut self) {
        // An empty status, as upstream's strategy resets it: Go prints the struct as `{}`,
        // and clients read `status.active` of a created object.
        self.status = Some(Default::default());
    }
    fn prepare_for_update(&mut self, old: &Self) {
        self.status = old.status.clone();
    }
    fn default(&mut self) {
        defaults::default_job(self);
    }
    fn validate(&self) -> Vec<FieldError> {
        validate_job(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validate_job_update(self, old)
    }
    fn pod_spec(&self) -> Option<(&PodSpec, FieldPath)> {
        let spec = self.spec.as_ref()?.template.spec.as_ref()?;
        Some((
            spec,
            FieldPath::root("spec").child("template").child("spec"),
        ))
    }
    fn spec_changed(&self, old: &Self) -> bool {
        spec_json(&self.spec) != spec_json(&old.spec)
    }
}

impl Admit for CronJob {
    const QUALIFIED_KIND: &'static str = "CronJob.batch";
    const RESOURCE: &'static str = "cronjobs.batch";
    fn prepare_for_create(&mut self) {
        // An empty status, as upstream's strategy resets it: Go prints the struct as `{}`,
        // and clients read `status.active` of a created object.
        self.status = Some(Default::default());
    }
    fn prepare_for_update(&mut self, old: &Self) {
        self.status = old.status.clone();
    }
    fn default(&mut self) {
        defaults::default_cronjob(self);
    }
    fn validate(&self) -> Vec<FieldError> {
        validation::validate_cronjob(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validation::validate_cronjob_update(self, old)
    }
    fn pod_spec(&self) -> Option<(&PodSpec, FieldPath)> {
        let job = self.spec.as_ref()?.job_template.spec.as_ref()?;
        let path = FieldPath::root("spec")
            .child("jobTemplate")
            .child("spec")
            .child("template")
            .child("spec");
        Some((job.template.spec.as_ref()?, path))
    }
    fn spec_changed(&self, old: &Self) -> bool {
        spec_json(&self.spec) != spec_json(&old.spec)
    }
}

impl Admit for Pod {
    const QUALIFIED_KIND: &'static str = "Pod";
    const RESOURCE: &'static str = "pods";
    const HAS_GENERATION: bool = false;
    fn prepare_for_update(&mut self, old: &Self) {
        // Only metadata (labels, annotations, finalizers) may change through the API here.
        self.spec = old.spec.clone();
        self.status = old.status.clone();
    }
    fn validate(&self) -> Vec<FieldError> {
        // Pods come from templates the Job's own admission validated; their metadata is
        // checked here, where a client could reach it.
        let mut errs = Vec::new();
        validation::validate_object_meta(&self.metadata, &FieldPath::root("metadata"), &mut errs);
        errs
    }
    fn pod_spec(&self) -> Option<(&PodSpec, FieldPath)> {
        Some((self.spec.as_ref()?, FieldPath::root("spec")))
    }
    fn bind(&mut self, node: &str) {
        let spec = self.spec.get_or_insert_with(Default::default);
        if spec.node_name.as_deref().is_none_or(str::is_empty) {
            spec.node_name = Some(node.to_owned());
        }
    }
}

/// Events written by clients (`core/v1`: an app's own Events, `kubectl events` readers'
/// sources): upstream's legacy Event validation.
impl Admit for Event {
    const QUALIFIED_KIND: &'static str = "Event";
    const RESOURCE: &'static str = "events";
    const HAS_GENERATION: bool = false;
    fn validate(&self) -> Vec<FieldError> {
        validate_event(self)
    }
}

/// `ValidateEventCreate` for `core/v1` (its `legacyValidateEvent` for Events without an
/// `eventTime`): object metadata, and the involved object's namespace must be the
/// Event's (or empty, for an Event in `default` or about a cluster-scoped object).
fn validate_event(e: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validation::validate_object_meta(&e.metadata, &FieldPath::root("metadata"), &mut errs);
    let ns = e.metadata.namespace.as_deref().unwrap_or("");
    let involved = e.involved_object.namespace.as_deref().unwrap_or("");
    let path = FieldPath::root("involvedObject").child("namespace");
    if e.event_time.is_none() {
        let agrees = if involved.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == involved
        };
        if !agrees {
            errs.push(FieldError::invalid(
                &path,
                involved,
                "does not match event.namespace",
            ));
        }
    } else if e.reporting_component.as_deref().is_none_or(str::is_empty) {
        errs.push(FieldError::required(
            &FieldPath::root("reportingComponent"),
            "",
        ));
    }
    errs
}

impl Admit for Namespace {
    const QUALIFIED_KIND: &'static str = "Namespace";
    const RESOURCE: &'static str = "namespaces";
    fn prepare_for_create(&mut self) {
        // The namespace lifecycle's finalizer and phase are the server's to set.
        self.metadata.namespace = None;
        self.spec = Some(NamespaceSpec {
            finalizers: Some(vec![meta::NAMESPACE_FINALIZER.into()]),
        });
        self.status = Some(NamespaceStatus {
            phase: Some("Active".into()),
            conditions: None,
        });
    }
    fn prepare_for_update(&mut self, old: &Self) {
        self.spec = old.spec.clone();
        self.status = old.status.clone();
    }
    fn default(&mut self) {
        let name = self.metadata.name.clone().unwrap_or_default();
        let labels = self.metadata.labels.get_or_insert_with(Default::default);
        labels.insert("kubernetes.io/metadata.name".into(), name);
    }
    fn validate(&self) -> Vec<FieldError> {
        validate_namespace_meta(&self.metadata)
    }
    fn validate_update(&self, _old: &Self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl Admit for ConfigMap {
    const QUALIFIED_KIND: &'static str = "ConfigMap";
    const RESOURCE: &'static str = "configmaps";
    const HAS_GENERATION: bool = false;
    fn validate(&self) -> Vec<FieldError> {
        validation::validate_configmap(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validation::validate_configmap_update(self, old)
    }
}

impl Admit for Secret {
    const QUALIFIED_KIND: &'static str = "Secret";
    const RESOURCE: &'static str = "secrets";
    const HAS_GENERATION: bool = false;
    fn default(&mut self) {
        defaults::default_secret(self);
    }
    fn validate(&self) -> Vec<FieldError> {
        validation::validate_secret(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validation::validate_secret_update(self, old)
    }
}

impl Admit for Service {
    const QUALIFIED_KIND: &'static str = "Service";
    const RESOURCE: &'static str = "services";
    const HAS_GENERATION: bool = false;
    fn prepare_for_create(&mut self) {
        // The status (a load balancer's) is the server's: `{loadBalancer: {}}`.
        self.status = Some(k8s_openapi::api::core::v1::ServiceStatus {
            load_balancer: Some(Default::default()),
            conditions: None,
        });
    }
    fn prepare_for_update(&mut self, old: &Self) {
        self.status = old.status.clone();
        let Some(old) = old.spec.as_ref() else { return };
        let new = self.spec.get_or_insert_with(Default::default);
        let empty = |s: &Option<String>| s.as_deref().is_none_or(str::is_empty);
        if new.type_.as_deref() == Some("ExternalName") {
            // Upstream's dropTypeDependentFields: an ExternalName Service has no IPs.
            if old.type_.as_deref() != Some("ExternalName") {
                new.cluster_ip = None;
                new.cluster_ips = None;
                new.ip_families = None;
                new.ip_family_policy = None;
                new.internal_traffic_policy = None;
            }
            return;
        }
        // A client that leaves the cluster IPs out keeps the ones allocated (upstream's
        // patchAllocatedValues).
        if empty(&new.cluster_ip) {
            new.cluster_ip = old.cluster_ip.clone();
        }
        if new.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
            new.cluster_ips = if new.cluster_ip == old.cluster_ip {
                old.cluster_ips.clone()
            } else {
                new.cluster_ip.clone().map(|ip| vec![ip])
            };
        }
    }
    fn default(&mut self) {
        defaults::default_service(self);
    }
    fn validate(&self) -> Vec<FieldError> {
        validation::validate_service(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validation::validate_service_update(self, old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn job(yaml: &str) -> Job {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    const PI: &str = "metadata: {generateName: pi-}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: pi.wasm}]\n";

    #[test]
    fn a_new_job_gets_a_name_uid_timestamps_and_defaults() {
        let j = create(job(PI), &Policy::default(), now()).unwrap();
        let m = &j.metadata;
        assert!(m.name.as_deref().unwrap().starts_with("pi-"));
        assert_eq!(m.name.as_deref().unwrap().len(), 8);
        assert_eq!(m.uid.as_deref().unwrap().len(), 36);
        assert_eq!(m.creation_timestamp, Some(Time(now())));
        assert_eq!(m.generation, Some(1));
        assert_eq!(j.spec.as_ref().unwrap().backoff_limit, Some(6));
        assert_eq!(j.status, Some(Default::default()));
    }

    #[test]
    fn the_binder_binds_new_pods_to_the_node_unless_they_name_one() {
        let pod: Pod =
            serde_yaml_ng::from_str("metadata: {generateName: pi-}\nspec: {containers: []}")
                .unwrap();
        let policy = Policy {
            bind_to: Some("node-a".into()),
            ..Policy::default()
        };
        let bound = create(pod.clone(), &policy, now()).unwrap();
        assert_eq!(bound.spec.unwrap().node_name.as_deref(), Some("node-a"));
        let mut elsewhere = pod.clone();
        elsewhere.spec.as_mut().unwrap().node_name = Some("node-b".into());
        let kept = create(elsewhere, &policy, now()).unwrap();
        assert_eq!(kept.spec.unwrap().node_name.as_deref(), Some("node-b"));
        let unbound = create(pod, &Policy::default(), now()).unwrap();
        assert_eq!(unbound.spec.unwrap().node_name, None);
    }

    #[test]
    fn a_client_resource_version_is_a_bad_request() {
        let mut j = job(PI);
        j.metadata.resource_version = Some("7".into());
        assert_eq!(
            create(j, &Policy::default(), now()),
            Err(Refusal::BadRequest(
                "resourceVersion should not be set on objects to be created".into()
            ))
        );
    }

    #[test]
    fn invalid_jobs_are_refused_with_their_field_errors() {
        let j = job("metadata: {name: pi}\nspec: {template: {spec: {containers: []}}}\n");
        let Err(Refusal::Invalid { kind, name, errors }) = create(j, &Policy::default(), now())
        else {
            panic!("admitted");
        };
        assert_eq!((kind, name.as_str()), ("Job.batch", "pi"));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"spec.template.spec.containers"),
            "{fields:?}"
        );
    }

    #[test]
    fn images_and_host_paths_are_the_nodes_to_refuse() {
        let check: ImageCheck = Arc::new(|i| {
            if i == "pi.wasm" {
                Ok(())
            } else {
                Err(format!("no module {i}"))
            }
        });
        let policy = Policy {
            host_paths: HostPathPolicy::only_under(vec![], vec![]),
            images: Some(check),
            bind_to: None,
        };
        assert!(create(job(PI), &policy, now()).is_ok());
        let escaping = PI.replace("pi.wasm", "../pi.wasm");
        let Err(Refusal::Invalid { errors, .. }) = create(job(&escaping), &policy, now()) else {
            panic!("admitted");
        };
        assert_eq!(errors[0].field, "spec.template.spec.containers[0].image");
        let missing = PI.replace("pi.wasm", "other.wasm");
        assert!(matches!(
            create(job(&missing), &policy, now()),
            Err(Refusal::Invalid { .. })
        ));
        let host = PI.replace(
            "      containers:",
            "      volumes: [{name: root, hostPath: {path: /}}]\n      containers:",
        );
        let Err(Refusal::Forbidden(m)) = create(job(&host), &policy, now()) else {
            panic!("admitted");
        };
        assert!(m.starts_with("jobs.batch \"pi-"), "{m}");
        assert!(
            m.contains("hostPath volume \"root\" (path \"/\") is not allowed"),
            "{m}"
        );
    }

    #[test]
    fn an_update_keeps_the_status_and_counts_spec_changes_as_generations() {
        let old = create(job(PI), &Policy::default(), now()).unwrap();
        let mut new = old.clone();
        new.spec.as_mut().unwrap().parallelism = Some(3);
        new.status = Some(Default::default());
        let updated = update(new, &old, &Policy::default()).unwrap();
        assert_eq!(updated.metadata.generation, Some(2));
        assert_eq!(updated.status, old.status);
        let same = update(old.clone(), &old, &Policy::default()).unwrap();
        assert_eq!(same.metadata.generation, Some(1));
    }

    #[test]
    fn a_secrets_string_data_becomes_data_and_its_type_defaults_to_opaque() {
        let s: Secret = serde_yaml_ng::from_str(
            "metadata: {name: s}\ndata: {a: MQ==, b: MQ==}\nstringData: {b: two, c: three}",
        )
        .unwrap();
        let s = create(s, &Policy::default(), now()).unwrap();
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        assert_eq!(s.string_data, None);
        let data = s.data.unwrap();
        let text = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
        assert_eq!(
            (text("a"), text("b"), text("c")),
            ("1".into(), "two".into(), "three".into())
        );
        assert_eq!(s.metadata.generation, None);
    }

    #[test]
    fn namespaces_get_the_lifecycle_finalizer_and_their_name_label() {
        let ns: Namespace = serde_yaml_ng::from_str("metadata: {name: team-a}").unwrap();
        let ns = create(ns, &Policy::default(), now()).unwrap();
        assert_eq!(
            ns.spec.unwrap().finalizers.unwrap(),
            [meta::NAMESPACE_FINALIZER]
        );
        assert_eq!(
            ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
            "team-a"
        );
        let bad: Namespace = serde_yaml_ng::from_str("metadata: {name: Team_A}").unwrap();
        assert!(matches!(
            create(bad, &Policy::default(), now()),
            Err(Refusal::Invalid { .. })
        ));
    }
}
