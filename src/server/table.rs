//! Server-side printing: the `meta.k8s.io/v1` `Table` of upstream `printers.go` for `kubectl get`.

// The real API server always prints with `Wide: true` (`printerstorage.TableConvertor`), so every
// row carries the `priority: 1` cells too; kubectl hides them unless `-o wide`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job, JobCondition};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerState, Event, Namespace, Pod, PodCondition, PodSpec, PodStatus,
    Secret, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use serde_json::{Value, json};

// Column descriptions are the `SwaggerDoc()` strings printers.go points at, as of Kubernetes 1.35.
const DESC_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DESC_AGE: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const DESC_CONTAINERS: &str = "Names of each container in the template.";
const DESC_IMAGES: &str = "Images referenced by each container in the template.";
const DESC_JOB_SELECTOR: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";

/// The smallest `metav1.Time` Go can hold, which `IsZero` reports as unset.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// `metav1.Time.IsZero`: unset, or Go's zero time written out.
fn is_zero(t: Option<Timestamp>) -> bool {
    t.is_none_or(|t| t.as_second() == GO_ZERO_TIME_SECONDS && t.subsec_nanosecond() == 0)
}

/// `translateTimestampSince` for any timestamp (`Time` and `MicroTime` alike).
fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) if !is_zero(Some(t)) => crate::go::human_signed_duration(now.duration_since(t)),
        _ => "<unknown>".to_string(),
    }
}

/// `"<unknown>"` for None, else crate::go::human_duration(now - t) (translateTimestampSince).
pub fn age(t: Option<&Time>, now: Timestamp) -> String {
    since(t.map(|t| t.0), now)
}

fn column(name: &str, ty: &str, format: &str, description: &str, priority: i32) -> Value {
    // `metav1.TableColumnDefinition` has no `omitempty`: every key is always sent.
    json!({
        "name": name,
        "type": ty,
        "format": format,
        "description": description,
        "priority": priority,
    })
}

/// Column definitions of `jobColumnDefinitions`.
pub fn job_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column("Status", "string", "", "Status of the job.", 0),
        column(
            "Completions",
            "string",
            "",
            "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
            0,
        ),
        column(
            "Duration",
            "string",
            "",
            "Time required to complete the job.",
            0,
        ),
        column("Age", "string", "", DESC_AGE, 0),
        column("Containers", "string", "", DESC_CONTAINERS, 1),
        column("Images", "string", "", DESC_IMAGES, 1),
        column("Selector", "string", "", DESC_JOB_SELECTOR, 1),
    ])
}

/// Column definitions of `podColumnDefinitions`.
pub fn pod_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column(
            "Ready",
            "string",
            "",
            "The aggregate readiness state of this pod for accepting traffic.",
            0,
        ),
        column(
            "Status",
            "string",
            "",
            "The aggregate status of the containers in this pod.",
            0,
        ),
        column(
            "Restarts",
            "string",
            "",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            0,
        ),
        column("Age", "string", "", DESC_AGE, 0),
        column(
            "IP",
            "string",
            "",
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            1,
        ),
        column(
            "Node",
            "string",
            "",
            "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
            1,
        ),
        column(
            "Nominated Node",
            "string",
            "",
            "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
            1,
        ),
        column(
            "Readiness Gates",
            "string",
            "",
            "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
            1,
        ),
    ])
}

/// Column definitions of `cronJobColumnDefinitions`.
pub fn cronjob_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column(
            "Schedule",
            "string",
            "",
            "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
            0,
        ),
        column(
            "Timezone",
            "string",
            "",
            "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
            0,
        ),
        column(
            "Suspend",
            "boolean",
            "",
            "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
            0,
        ),
        column(
            "Active",
            "integer",
            "",
            "A list of pointers to currently running jobs.",
            0,
        ),
        column(
            "Last Schedule",
            "string",
            "",
            "Information when was the last time the job was successfully scheduled.",
            0,
        ),
        column("Age", "string", "", DESC_AGE, 0),
        column("Containers", "string", "", DESC_CONTAINERS, 1),
        column("Images", "string", "", DESC_IMAGES, 1),
        column("Selector", "string", "", DESC_JOB_SELECTOR, 1),
    ])
}

/// Column definitions of `namespaceColumnDefinitions`.
pub fn namespace_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column("Status", "string", "", "The status of the namespace", 0),
        column("Age", "string", "", DESC_AGE, 0),
    ])
}

/// Column definitions of `serviceColumnDefinitions` (descriptions from the schema's docs).
pub fn service_columns() -> Value {
    let doc = |field: &str| super::openapi::description("io.k8s.api.core.v1.ServiceSpec", field);
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column("Type", "string", "", &doc("type"), 0),
        column("Cluster-IP", "string", "", &doc("clusterIP"), 0),
        column("External-IP", "string", "", &doc("externalIPs"), 0),
        column("Port(s)", "string", "", &doc("ports"), 0),
        column("Age", "string", "", DESC_AGE, 0),
        column("Selector", "string", "", &doc("selector"), 1),
    ])
}

/// Cells of one `printService` row, wide columns included.
pub fn service_cells(s: &Service, now: Timestamp) -> Vec<Value> {
    let none = || "<none>".to_string();
    let default_spec = Default::default();
    let spec = s.spec.as_ref().unwrap_or(&default_spec);
    let type_ = spec.type_.clone().unwrap_or_default();
    let internal = spec
        .cluster_ips
        .as_ref()
        .and_then(|ips| ips.first().cloned())
        .unwrap_or_else(none);
    let external = match type_.as_str() {
        "ExternalName" => spec.external_name.clone().unwrap_or_else(none),
        _ => spec
            .external_ips
            .as_ref()
            .filter(|ips| !ips.is_empty())
            .map(|ips| ips.join(","))
            .unwrap_or_else(none),
    };
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let protocol = p.protocol.as_deref().unwrap_or("TCP");
            match p.node_port.filter(|n| *n > 0) {
                Some(n) => format!("{}:{n}/{protocol}", p.port),
                None => format!("{}/{protocol}", p.port),
            }
        })
        .collect();
    let selector: Vec<String> = spec
        .selector
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    vec![
        text(opt_str(&s.metadata.name)),
        text(type_),
        text(internal),
        text(external),
        text(if ports.is_empty() {
            none()
        } else {
            ports.join(",")
        }),
        text(age(s.metadata.creation_timestamp.as_ref(), now)),
        text(if selector.is_empty() {
            none()
        } else {
            selector.join(",")
        }),
    ]
}

/// Column definitions of `configMapColumnDefinitions`.
pub fn configmap_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column(
            "Data",
            "string",
            "",
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
            0,
        ),
        column("Age", "string", "", DESC_AGE, 0),
    ])
}

/// Cells of one `printConfigMap` row: the count of keys in both maps.
pub fn configmap_cells(cm: &ConfigMap, now: Timestamp) -> Vec<Value> {
    let keys =
        cm.data.as_ref().map_or(0, |d| d.len()) + cm.binary_data.as_ref().map_or(0, |d| d.len());
    vec![
        text(opt_str(&cm.metadata.name)),
        Value::from(keys),
        text(age(cm.metadata.creation_timestamp.as_ref(), now)),
    ]
}

/// Column definitions of `secretColumnDefinitions`.
pub fn secret_columns() -> Value {
    Value::Array(vec![
        column("Name", "string", "name", DESC_NAME, 0),
        column(
            "Type",
            "string",
            "",
            "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
            0,
        ),
        column(
            "Data",
            "string",
            "",
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
            0,
        ),
        column("Age", "string", "", DESC_AGE, 0),
    ])
}

/// Cells of one `printSecret` row: its type and how many keys (never a value).
pub fn secret_cells(s: &Secret, now: Timestamp) -> Vec<Value> {
    vec![
        text(opt_str(&s.metadata.name)),
        text(s.type_.clone().unwrap_or_default()),
        Value::from(s.data.as_ref().map_or(0, |d| d.len())),
        text(age(s.metadata.creation_timestamp.as_ref(), now)),
    ]
}

/// Column definitions of `eventColumnDefinitions`.
pub fn event_columns() -> Value {
    Value::Array(vec![
        column(
            "Last Seen",
            "string",
            "",
            "The time at which the most recent occurrence of this event was recorded.",
            0,
        ),
        column(
            "Type",
            "string",
            "",
            "Type of this event (Normal, Warning), new types could be added in the future",
            0,
        ),
        column(
            "Reason",
            "string",
            "",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            0,
        ),
        column(
            "Object",
            "string",
            "",
            "The object that this event is about.",
            0,
        ),
        column(
            "Subobject",
            "string",
            "",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
            1,
        ),
        column(
            "Source",
            "string",
            "",
            "The component reporting this event. Should be a short machine understandable string.",
            1,
        ),
        column(
            "Message",
            "string",
            "",
            "A human-readable description of the status of this operation.",
            0,
        ),
        column(
            "First Seen",
            "string",
            "",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            1,
        ),
        // Upstream declares Count a string column yet fills it with an integer; kept as is.
        column(
            "Count",
            "string",
            "",
            "The number of times this event has occurred.",
            1,
        ),
        column("Name", "string", "name", DESC_NAME, 1),
    ])
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn opt_str(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// `layoutContainerCells`: names and images, comma-joined.
fn container_cells(containers: &[Container]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers.iter().map(|c| opt_str(&c.image)).collect();
    (names.join(","), images.join(","))
}

/// `metav1.FormatLabelSelector`: `<none>` for a nil or empty selector, `<error>` for one that
/// `LabelSelectorAsSelector` rejects, else the requirements sorted by key.
fn format_label_selector(selector: Option<&LabelSelector>) -> String {
    // A nil selector is `labels.Nothing()`, whose String() is empty, so it too prints `<none>`.
    let Some(selector) = selector else {
        return "<none>".to_string();
    };
    let mut requirements: Vec<(&str, String)> = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        requirements.push((key, format!("{key}={value}")));
    }
    for expr in selector.match_expressions.iter().flatten() {
        let mut values: Vec<&str> = expr.values.iter().flatten().map(String::as_str).collect();
        // `Requirement.String` prints set values sorted (`safeSort`).
        values.sort_unstable();
        let key = expr.key.as_str();
        // `labels.NewRequirement` rejects these value counts; FormatLabelSelector shows `<error>`.
        let rendered = match expr.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => return "<error>".to_string(),
            "Exists" | "DoesNotExist" if !values.is_empty() => return "<error>".to_string(),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".to_string(),
        };
        requirements.push((key, rendered));
    }
    // `internalSelector.Add` sorts by key.
    requirements.sort_by(|a, b| a.0.cmp(b.0));
    let out: Vec<String> = requirements.into_iter().map(|(_, r)| r).collect();
    let out = out.join(",");
    if out.is_empty() {
        "<none>".to_string()
    } else {
        out
    }
}

/// `hasJobCondition`: the first condition of the type decides.
fn has_job_condition(conditions: &[JobCondition], kind: &str) -> bool {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .is_some_and(|c| c.status == "True")
}

/// Cells of one `printJob` row, wide columns included.
pub fn job_cells(job: &Job, now: Timestamp) -> Vec<Value> {
    let default_spec = Default::default();
    let spec = job.spec.as_ref().unwrap_or(&default_spec);
    let default_status = Default::default();
    let status = job.status.as_ref().unwrap_or(&default_status);
    let succeeded = status.succeeded.unwrap_or(0);

    let completions = match spec.completions {
        Some(completions) => format!("{succeeded}/{completions}"),
        // Work-queue Jobs (nil completions) finish on the first success: "N/1 of P".
        None => match spec.parallelism.unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };

    let start = status.start_time.as_ref().map(|t| t.0);
    let completion = status.completion_time.as_ref().map(|t| t.0);
    let duration = match (start, completion) {
        (None, _) => String::new(),
        (Some(start), None) => crate::go::human_signed_duration(now.duration_since(start)),
        (Some(start), Some(completion)) => {
            crate::go::human_signed_duration(completion.duration_since(start))
        }
    };

    let conditions = status.conditions.as_deref().unwrap_or_default();
    let job_status = if has_job_condition(conditions, "Complete") {
        "Complete"
    } else if has_job_condition(conditions, "Failed") {
        "Failed"
    } else if job.metadata.deletion_timestamp.is_some() {
        "Terminating"
    } else if has_job_condition(conditions, "Suspended") {
        "Suspended"
    } else if has_job_condition(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };

    let containers = spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let (names, images) = container_cells(containers);
    vec![
        text(opt_str(&job.metadata.name)),
        text(job_status),
        text(completions),
        text(duration),
        text(age(job.metadata.creation_timestamp.as_ref(), now)),
        text(names),
        text(images),
        text(format_label_selector(spec.selector.as_ref())),
    ]
}

/// Cells of one `printCronJob` row, wide columns included.
pub fn cronjob_cells(cj: &CronJob, now: Timestamp) -> Vec<Value> {
    let default_spec = Default::default();
    let spec = cj.spec.as_ref().unwrap_or(&default_spec);
    let default_status = Default::default();
    let status = cj.status.as_ref().unwrap_or(&default_status);

    let last_schedule = match &status.last_schedule_time {
        Some(t) => age(Some(t), now),
        None => "<none>".to_string(),
    };
    let time_zone = spec.time_zone.clone().unwrap_or_else(|| "<none>".into());
    // printBoolPtr: the real server sends the strings "True"/"False" (or "<unset>").
    let suspend = match spec.suspend {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let active = status.active.as_ref().map_or(0, Vec::len);

    let job_spec = spec.job_template.spec.as_ref();
    let containers = job_spec
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let (names, images) = container_cells(containers);
    vec![
        text(opt_str(&cj.metadata.name)),
        text(spec.schedule.as_str()),
        text(time_zone),
        text(suspend),
        json!(active),
        text(last_schedule),
        text(age(cj.metadata.creation_timestamp.as_ref(), now)),
        text(names),
        text(images),
        text(format_label_selector(
            job_spec.and_then(|s| s.selector.as_ref()),
        )),
    ]
}

/// Cells of one `printNamespace` row.
pub fn namespace_cells(ns: &Namespace, now: Timestamp) -> Vec<Value> {
    let phase = ns.status.as_ref().and_then(|s| s.phase.clone());
    vec![
        text(opt_str(&ns.metadata.name)),
        text(phase.unwrap_or_default()),
        text(age(ns.metadata.creation_timestamp.as_ref(), now)),
    ]
}

/// Cells of one `printEvent` row, wide columns included.
pub fn event_cells(ev: &Event, now: Timestamp) -> Vec<Value> {
    let first_ts = ev.first_timestamp.as_ref().map(|t| t.0);
    // Events written through events.k8s.io carry only eventTime.
    let first_seen = if is_zero(first_ts) {
        since(ev.event_time.as_ref().map(|t| t.0), now)
    } else {
        since(first_ts, now)
    };
    let last_ts = ev.last_timestamp.as_ref().map(|t| t.0);
    let mut last_seen = if is_zero(last_ts) {
        first_seen.clone()
    } else {
        since(last_ts, now)
    };
    let mut count = ev.count.unwrap_or(0);
    if let Some(series) = &ev.series {
        last_seen = since(series.last_observed_time.as_ref().map(|t| t.0), now);
        count = series.count.unwrap_or(0);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }

    let kind = opt_str(&ev.involved_object.kind).to_lowercase();
    let target = match opt_str(&ev.involved_object.name) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };

    // formatEventSource: component (else reportingController), then host (else reportingInstance).
    let source = ev.source.as_ref();
    let component = [
        source.and_then(|s| s.component.as_deref()),
        ev.reporting_component.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty())
    .unwrap_or("");
    let instance = [
        source.and_then(|s| s.host.as_deref()),
        ev.reporting_instance.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty())
    .unwrap_or("");
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };

    vec![
        text(last_seen),
        text(opt_str(&ev.type_)),
        text(opt_str(&ev.reason)),
        text(target),
        text(opt_str(&ev.involved_object.field_path)),
        text(source),
        text(opt_str(&ev.message).trim()),
        text(first_seen),
        json!(count),
        text(opt_str(&ev.metadata.name)),
    ]
}

/// `podutil.IsRestartableInitContainer`: a sidecar.
fn is_restartable_init_container(c: Option<&Container>) -> bool {
    c.and_then(|c| c.restart_policy.as_deref()) == Some("Always")
}

/// `isPodInitializedConditionTrue`: the first Initialized condition decides.
fn pod_initialized(conditions: &[PodCondition]) -> bool {
    conditions
        .iter()
        .find(|c| c.type_ == "Initialized")
        .is_some_and(|c| c.status == "True")
}

/// `hasPodReadyCondition`.
fn pod_ready(conditions: &[PodCondition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The later of two restart times, as `lastRestartDate.Before(&terminatedDate)` keeps.
fn later(current: Option<Timestamp>, candidate: Option<&Time>) -> Option<Timestamp> {
    match (current, candidate.map(|t| t.0)) {
        (Some(c), Some(n)) if c < n => Some(n),
        (None, Some(n)) => Some(n),
        (c, _) => c,
    }
}

/// Cells of one `printPod` row, wide columns included.
pub fn pod_cells(pod: &Pod, now: Timestamp) -> Vec<Value> {
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let default_status = PodStatus::default();
    let status = pod.status.as_ref().unwrap_or(&default_status);
    let default_state = ContainerState::default();
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let init_specs = spec.init_containers.as_deref().unwrap_or_default();

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total_containers = spec.containers.len();
    let mut ready_containers = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;

    let phase = opt_str(&status.phase);
    let mut reason = match opt_str(&status.reason) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".to_string();
    }

    let init_containers: BTreeMap<&str, &Container> =
        init_specs.iter().map(|c| (c.name.as_str(), c)).collect();
    total_containers += init_specs
        .iter()
        .filter(|c| is_restartable_init_container(Some(c)))
        .count();

    let mut initializing = false;
    let init_statuses = status
        .init_container_statuses
        .as_deref()
        .unwrap_or_default();
    for (i, container) in init_statuses.iter().enumerate() {
        restarts += i64::from(container.restart_count);
        let last_terminated = container
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        if let Some(t) = last_terminated {
            last_restart = later(last_restart, t.finished_at.as_ref());
        }
        let restartable =
            is_restartable_init_container(init_containers.get(container.name.as_str()).copied());
        if restartable {
            restartable_init_restarts += i64::from(container.restart_count);
            if let Some(t) = last_terminated {
                last_restartable_init_restart =
                    later(last_restartable_init_restart, t.finished_at.as_ref());
            }
        }
        let state = container.state.as_ref().unwrap_or(&default_state);
        let waiting_reason = state
            .waiting
            .as_ref()
            .map(|w| opt_str(&w.reason))
            .unwrap_or("");
        match &state.terminated {
            Some(t) if t.exit_code == 0 => continue,
            _ if restartable && container.started == Some(true) => {
                if container.ready {
                    ready_containers += 1;
                }
                continue;
            }
            Some(t) => {
                // Initialization failed.
                reason = match opt_str(&t.reason) {
                    "" => match t.signal.unwrap_or(0) {
                        0 => format!("Init:ExitCode:{}", t.exit_code),
                        signal => format!("Init:Signal:{signal}"),
                    },
                    r => format!("Init:{r}"),
                };
            }
            None if state.waiting.is_some()
                && !waiting_reason.is_empty()
                && waiting_reason != "PodInitializing" =>
            {
                reason = format!("Init:{waiting_reason}");
            }
            None => reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    if !initializing || pod_initialized(conditions) {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        let statuses = status.container_statuses.as_deref().unwrap_or_default();
        // Walked last to first, so the first container's state has the final word.
        for container in statuses.iter().rev() {
            restarts += i64::from(container.restart_count);
            if let Some(t) = container
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
            {
                last_restart = later(last_restart, t.finished_at.as_ref());
            }
            let state = container.state.as_ref().unwrap_or(&default_state);
            let waiting_reason = state.waiting.as_ref().map(|w| opt_str(&w.reason));
            if let Some(r) = waiting_reason.filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if let Some(t) = &state.terminated {
                reason = match opt_str(&t.reason) {
                    "" => match t.signal.unwrap_or(0) {
                        0 => format!("ExitCode:{}", t.exit_code),
                        signal => format!("Signal:{signal}"),
                    },
                    r => r.to_string(),
                };
            } else if container.ready && state.running.is_some() {
                has_running = true;
                ready_containers += 1;
            }
        }
        // A container still running means the pod is not done, whatever another one says.
        if reason == "Completed" && has_running {
            reason = if pod_ready(conditions) {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if pod.metadata.deletion_timestamp.is_some() && opt_str(&status.reason) == "NodeLost" {
        reason = "Unknown".to_string();
    } else if pod.metadata.deletion_timestamp.is_some() && phase != "Succeeded" && phase != "Failed"
    {
        reason = "Terminating".to_string();
    }

    let restarts = match last_restart {
        Some(t) if restarts != 0 && !is_zero(Some(t)) => {
            format!("{restarts} ({} ago)", since(Some(t), now))
        }
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let pod_ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.as_str())
        .unwrap_or("");
    let readiness_gates = match spec.readiness_gates.as_deref() {
        Some(gates) if !gates.is_empty() => {
            let true_conditions = gates
                .iter()
                .filter(|g| {
                    conditions
                        .iter()
                        .find(|c| c.type_ == g.condition_type)
                        .is_some_and(|c| c.status == "True")
                })
                .count();
            format!("{true_conditions}/{}", gates.len())
        }
        _ => "<none>".to_string(),
    };

    vec![
        text(opt_str(&pod.metadata.name)),
        text(format!("{ready_containers}/{total_containers}")),
        text(reason),
        text(restarts),
        text(age(pod.metadata.creation_timestamp.as_ref(), now)),
        text(or_none(pod_ip)),
        text(or_none(opt_str(&spec.node_name))),
        text(or_none(opt_str(&status.nominated_node_name))),
        text(readiness_gates),
    ]
}

/// How much of each object a row carries (`includeObject` query parameter: Metadata (default), Object, None).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No object: `"object": null`.
    None,
    /// A `PartialObjectMetadata` holding the object's metadata.
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// The `includeObject` query value; anything unknown falls back to the default, `Metadata`.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// One row: {"cells": [...], "object": <PartialObjectMetadata {kind, apiVersion: meta.k8s.io/v1, metadata}> | the full object | null}.
pub fn row(cells: Vec<Value>, object: &Value, include: IncludeObject) -> Value {
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => object.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    };
    json!({ "cells": cells, "object": object })
}

/// A whole Table: {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":rv},"columnDefinitions":cols,"rows":rows}.
pub fn table(columns: Value, rows: Vec<Value>, resource_version: &str) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": resource_version },
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Writes a Table's opening, up to and including the `[` of its rows, for a list that writes
/// its rows one by one with [`write_row`] and closes with `]}`: 10,000 pods as a tree of
/// JSON values cost more in allocation than in writing.
pub fn write_head(out: &mut Vec<u8>, columns: &Value, metadata: &Value) {
    out.extend_from_slice(br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":"#);
    let _ = serde_json::to_writer(&mut *out, metadata);
    out.extend_from_slice(br#","columnDefinitions":"#);
    let _ = serde_json::to_writer(&mut *out, columns);
    out.extend_from_slice(br#","rows":["#);
}

/// Writes what [`row`] builds, straight from the object's metadata; `object` is asked for
/// only with `includeObject=Object`.
pub fn write_row(
    out: &mut Vec<u8>,
    cells: &[Value],
    include: IncludeObject,
    metadata: &ObjectMeta,
    object: impl FnOnce() -> Value,
) {
    out.extend_from_slice(br#"{"cells":"#);
    let _ = serde_json::to_writer(&mut *out, cells);
    out.extend_from_slice(br#","object":"#);
    match include {
        IncludeObject::None => out.extend_from_slice(b"null"),
        IncludeObject::Metadata => {
            out.extend_from_slice(
                br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
            );
            let _ = serde_json::to_writer(&mut *out, metadata);
            out.push(b'}');
        }
        IncludeObject::Object => {
            let _ = serde_json::to_writer(&mut *out, &object());
        }
    }
    out.push(b'}');
}

/// Whether an Accept header asks for a Table (`as=Table` with g=meta.k8s.io and v=v1 or v1beta1 as the first acceptable type).
///
/// Clauses are tried by descending `q` (ties in header order), as the API server's negotiation
/// does. A clause asking for some other conversion target (`as=PartialObjectMetadata`, a Table
/// of an unknown version) is one this server cannot serve and is skipped; the first clause
/// without `as` means the plain object.
pub fn wants_table(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut clauses: Vec<(f64, BTreeMap<String, String>)> = accept
        .split(',')
        .filter(|c| !c.trim().is_empty())
        .map(|clause| {
            let mut parts = clause.split(';');
            parts.next(); // the media type: a Table can be sent as JSON whatever it names
            let params: BTreeMap<String, String> = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| {
                    (
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    )
                })
                .collect();
            let q = params
                .get("q")
                .and_then(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            (q, params)
        })
        .filter(|(q, _)| *q > 0.0)
        .collect();
    // A stable sort keeps header order among equal weights.
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, params) in &clauses {
        let Some(target) = params.get("as") else {
            return false;
        };
        let group = params.get("g").map(String::as_str);
        let version = params.get("v").map(String::as_str);
        if target == "Table"
            && group == Some("meta.k8s.io")
            && matches!(version, Some("v1" | "v1beta1"))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use std::time::Duration;

    #[test]
    fn a_table_written_row_by_row_is_the_table_built_as_values() {
        let meta = ObjectMeta {
            name: Some("pi-x".into()),
            namespace: Some("default".into()),
            labels: Some([("job-name".to_string(), "pi".to_string())].into()),
            resource_version: Some("7".into()),
            ..ObjectMeta::default()
        };
        let object = json!({"kind": "Pod", "apiVersion": "v1", "metadata": serde_json::to_value(&meta).unwrap()});
        let cells = vec![json!("pi-x"), json!("1/1"), json!(0)];
        let columns = json!([{"name": "Name", "type": "string"}]);
        for include in [
            IncludeObject::None,
            IncludeObject::Metadata,
            IncludeObject::Object,
        ] {
            let mut out = Vec::new();
            write_head(&mut out, &columns, &json!({"resourceVersion": "9"}));
            write_row(&mut out, &cells, include, &meta, || object.clone());
            out.push(b',');
            write_row(&mut out, &cells, include, &meta, || object.clone());
            out.extend_from_slice(b"]}");
            let written: Value = serde_json::from_slice(&out).unwrap();
            let row = row(cells.clone(), &object, include);
            assert_eq!(written, table(columns.clone(), vec![row.clone(), row], "9"));
        }
    }

    const NOW: &str = "2025-06-01T12:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().expect("NOW parses")
    }

    /// A timestamp `secs` seconds before NOW, as the RFC 3339 string objects carry.
    fn ago(secs: i64) -> String {
        (now() - SignedDuration::from_secs(secs)).to_string()
    }

    fn cells(values: &[&str]) -> Vec<Value> {
        values.iter().map(|s| text(*s)).collect()
    }

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).expect("pod fixture")
    }

    fn job(value: Value) -> Job {
        serde_json::from_value(value).expect("job fixture")
    }

    /// A one-container pod created 3 s ago with the given status.
    fn pod_with_status(status: Value) -> Pod {
        pod(json!({
            "metadata": {"name": "pi-xxxxx", "creationTimestamp": ago(3)},
            "spec": {"containers": [{"name": "pi", "image": "pi.wasm"}], "nodeName": "edge-1"},
            "status": status,
        }))
    }

    /// Name, Ready, Status and Restarts of a pod's row.
    fn short(p: &Pod) -> Vec<Value> {
        pod_cells(p, now())[..4].to_vec()
    }

    #[test]
    fn human_duration_matches_apimachinery_at_every_boundary() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (121, "2m1s"),
            (9 * 60 + 59, "9m59s"),
            (10 * 60, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (7 * 3600 + 59 * 60, "7h59m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (8 * 86400 - 3600, "7d23h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                crate::go::human_duration(Duration::from_secs(secs)),
                want,
                "{secs}s"
            );
        }
    }

    #[test]
    fn human_duration_truncates_fractions_of_a_second() {
        assert_eq!(
            crate::go::human_duration(Duration::from_millis(119_999)),
            "119s"
        );
    }

    #[test]
    fn a_timestamp_slightly_in_the_future_is_now_and_further_is_invalid() {
        let t = |secs: i64| Time(now() + SignedDuration::from_secs(secs));
        assert_eq!(age(Some(&t(1)), now()), "0s");
        assert_eq!(age(Some(&t(2)), now()), "<invalid>");
    }

    #[test]
    fn an_unset_or_go_zero_timestamp_has_an_unknown_age() {
        assert_eq!(age(None, now()), "<unknown>");
        let zero = Time("0001-01-01T00:00:00Z".parse().expect("zero time"));
        assert_eq!(age(Some(&zero), now()), "<unknown>");
        let t = Time(now() - SignedDuration::from_secs(600));
        assert_eq!(age(Some(&t), now()), "10m");
    }

    #[test]
    fn every_column_definition_has_all_five_keys() {
        for columns in [
            job_columns(),
            pod_columns(),
            cronjob_columns(),
            namespace_columns(),
            event_columns(),
        ] {
            for c in columns.as_array().expect("array") {
                let keys: Vec<&str> = c
                    .as_object()
                    .expect("object")
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert_eq!(
                    keys,
                    ["description", "format", "name", "priority", "type"],
                    "{c}"
                );
            }
        }
    }

    #[test]
    fn column_names_types_and_priorities_are_upstreams() {
        let summary = |cols: Value| -> Vec<(String, String, i64)> {
            cols.as_array()
                .expect("array")
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().expect("name").to_string(),
                        c["type"].as_str().expect("type").to_string(),
                        c["priority"].as_i64().expect("priority"),
                    )
                })
                .collect()
        };
        let s = |n: &str, t: &str, p: i64| (n.to_string(), t.to_string(), p);
        assert_eq!(
            summary(job_columns()),
            [
                s("Name", "string", 0),
                s("Status", "string", 0),
                s("Completions", "string", 0),
                s("Duration", "string", 0),
                s("Age", "string", 0),
                s("Containers", "string", 1),
                s("Images", "string", 1),
                s("Selector", "string", 1),
            ]
        );
        assert_eq!(
            summary(pod_columns()),
            [
                s("Name", "string", 0),
                s("Ready", "string", 0),
                s("Status", "string", 0),
                s("Restarts", "string", 0),
                s("Age", "string", 0),
                s("IP", "string", 1),
                s("Node", "string", 1),
                s("Nominated Node", "string", 1),
                s("Readiness Gates", "string", 1),
            ]
        );
        assert_eq!(
            summary(cronjob_columns()),
            [
                s("Name", "string", 0),
                s("Schedule", "string", 0),
                s("Timezone", "string", 0),
                s("Suspend", "boolean", 0),
                s("Active", "integer", 0),
                s("Last Schedule", "string", 0),
                s("Age", "string", 0),
                s("Containers", "string", 1),
                s("Images", "string", 1),
                s("Selector", "string", 1),
            ]
        );
        assert_eq!(
            summary(namespace_columns()),
            [
                s("Name", "string", 0),
                s("Status", "string", 0),
                s("Age", "string", 0)
            ]
        );
        assert_eq!(
            summary(event_columns()),
            [
                s("Last Seen", "string", 0),
                s("Type", "string", 0),
                s("Reason", "string", 0),
                s("Object", "string", 0),
                s("Subobject", "string", 1),
                s("Source", "string", 1),
                s("Message", "string", 0),
                s("First Seen", "string", 1),
                s("Count", "string", 1),
                s("Name", "string", 1),
            ]
        );
        assert_eq!(job_columns()[0]["format"], "name");
        assert_eq!(job_columns()[1]["format"], "");
        assert_eq!(event_columns()[9]["format"], "name");
    }

    #[test]
    fn a_completed_job_shows_complete_its_run_time_and_the_wide_columns() {
        let j = job(json!({
            "metadata": {"name": "pi", "creationTimestamp": ago(10)},
            "spec": {
                "completions": 1, "parallelism": 1,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                "template": {"spec": {"containers": [{"name": "pi", "image": "pi.wasm"}]}},
            },
            "status": {
                "startTime": ago(10), "completionTime": ago(5), "succeeded": 1,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True"},
                    {"type": "Complete", "status": "True"},
                ],
            },
        }));
        assert_eq!(
            job_cells(&j, now()),
            cells(&[
                "pi",
                "Complete",
                "1/1",
                "5s",
                "10s",
                "pi",
                "pi.wasm",
                "batch.kubernetes.io/controller-uid=u1"
            ])
        );
    }

    #[test]
    fn a_running_job_counts_its_duration_up_to_now() {
        let j = job(json!({
            "metadata": {"name": "pi", "creationTimestamp": ago(200)},
            "spec": {"completions": 3, "template": {"spec": {"containers": [
                {"name": "a", "image": "a.wasm"}, {"name": "b", "image": "b.wasm"}]}}},
            "status": {"startTime": ago(150), "succeeded": 1},
        }));
        assert_eq!(
            job_cells(&j, now()),
            cells(&[
                "pi",
                "Running",
                "1/3",
                "2m30s",
                "3m20s",
                "a,b",
                "a.wasm,b.wasm",
                "<none>"
            ])
        );
    }

    #[test]
    fn job_status_takes_the_first_condition_that_applies() {
        let status_of = |conditions: Value, deleting: bool| {
            let mut value = json!({
                "metadata": {"name": "j"},
                "spec": {"template": {}},
                "status": {"conditions": conditions},
            });
            if deleting {
                value["metadata"]["deletionTimestamp"] = json!(ago(1));
            }
            job_cells(&job(value), now())[1].clone()
        };
        let cond = |t: &str, s: &str| json!({"type": t, "status": s});
        assert_eq!(status_of(json!([cond("Failed", "True")]), true), "Failed");
        assert_eq!(status_of(json!([]), true), "Terminating");
        assert_eq!(
            status_of(json!([cond("Suspended", "True")]), false),
            "Suspended"
        );
        assert_eq!(
            status_of(json!([cond("FailureTarget", "True")]), false),
            "FailureTarget"
        );
        assert_eq!(
            status_of(json!([cond("Suspended", "False")]), false),
            "Running"
        );
        // hasJobCondition stops at the first condition of a type, even a False one.
        assert_eq!(
            status_of(
                json!([cond("Complete", "False"), cond("Complete", "True")]),
                false
            ),
            "Running"
        );
        assert_eq!(
            status_of(
                json!([cond("Failed", "True"), cond("Complete", "True")]),
                false
            ),
            "Complete"
        );
    }

    #[test]
    fn job_completions_follow_the_work_queue_forms() {
        let completions = |spec: Value| {
            let mut spec = spec;
            spec["template"] = json!({});
            job_cells(
                &job(json!({"metadata": {"name": "j"}, "spec": spec, "status": {"succeeded": 2}})),
                now(),
            )[2]
            .clone()
        };
        assert_eq!(completions(json!({"completions": 5})), "2/5");
        assert_eq!(completions(json!({"parallelism": 4})), "2/1 of 4");
        assert_eq!(completions(json!({"parallelism": 1})), "2/1");
        assert_eq!(completions(json!({})), "2/1");
    }

    #[test]
    fn a_job_without_start_time_has_an_empty_duration() {
        let j = job(json!({"metadata": {"name": "j"}, "spec": {"template": {}}}));
        let c = job_cells(&j, now());
        assert_eq!(c[3], "");
        assert_eq!(c[4], "<unknown>");
    }

    #[test]
    fn selectors_print_like_format_label_selector() {
        let sel = |v: Value| {
            let s: LabelSelector = serde_json::from_value(v).expect("selector");
            format_label_selector(Some(&s))
        };
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(sel(json!({})), "<none>");
        assert_eq!(
            sel(json!({
                "matchLabels": {"b": "2", "a": "1"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                    {"key": "tier", "operator": "NotIn", "values": ["x"]},
                    {"key": "c", "operator": "Exists"},
                    {"key": "d", "operator": "DoesNotExist"},
                ],
            })),
            "a=1,b=2,c,!d,env in (dev,prod),tier notin (x)"
        );
        assert_eq!(
            sel(json!({"matchExpressions": [{"key": "k", "operator": "Like"}]})),
            "<error>"
        );
        assert_eq!(
            sel(json!({"matchExpressions": [{"key": "k", "operator": "In", "values": []}]})),
            "<error>"
        );
    }

    #[test]
    fn a_succeeded_job_pod_shows_completed() {
        let p = pod_with_status(json!({
            "phase": "Succeeded",
            "podIPs": [{"ip": "10.0.0.7"}],
            "containerStatuses": [{
                "name": "pi", "image": "pi.wasm", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
            }],
        }));
        assert_eq!(
            pod_cells(&p, now()),
            cells(&[
                "pi-xxxxx",
                "0/1",
                "Completed",
                "0",
                "3s",
                "10.0.0.7",
                "edge-1",
                "<none>",
                "<none>"
            ])
        );
    }

    #[test]
    fn a_crash_looping_container_shows_its_waiting_reason_and_last_restart() {
        let p = pod_with_status(json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "pi", "image": "pi.wasm", "imageID": "", "ready": false, "restartCount": 2,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(180)}},
            }],
        }));
        assert_eq!(
            short(&p),
            cells(&["pi-xxxxx", "0/1", "CrashLoopBackOff", "2 (3m ago)"])
        );
    }

    #[test]
    fn restarts_without_a_finish_time_are_a_bare_count() {
        let p = pod_with_status(json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "pi", "image": "", "imageID": "", "ready": true, "restartCount": 4,
                "state": {"running": {}},
            }],
        }));
        assert_eq!(short(&p), cells(&["pi-xxxxx", "1/1", "Running", "4"]));
    }

    #[test]
    fn a_terminated_container_shows_its_reason_signal_or_exit_code() {
        let terminated = |t: Value| {
            short(&pod_with_status(json!({
                "phase": "Failed",
                "containerStatuses": [{
                    "name": "pi", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": t},
                }],
            })))[2]
                .clone()
        };
        assert_eq!(
            terminated(json!({"exitCode": 137, "reason": "OOMKilled"})),
            "OOMKilled"
        );
        assert_eq!(
            terminated(json!({"exitCode": 1, "reason": "Error"})),
            "Error"
        );
        assert_eq!(
            terminated(json!({"exitCode": 137, "signal": 9})),
            "Signal:9"
        );
        assert_eq!(terminated(json!({"exitCode": 3})), "ExitCode:3");
    }

    #[test]
    fn a_pending_pod_without_statuses_shows_its_phase_or_reason() {
        assert_eq!(
            short(&pod_with_status(json!({"phase": "Pending"}))),
            cells(&["pi-xxxxx", "0/1", "Pending", "0"])
        );
        assert_eq!(
            short(&pod_with_status(
                json!({"phase": "Failed", "reason": "DeadlineExceeded"})
            ))[2],
            "DeadlineExceeded"
        );
        assert_eq!(
            short(&pod_with_status(json!({
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
            })))[2],
            "SchedulingGated"
        );
    }

    #[test]
    fn a_deleted_pod_is_terminating_until_it_reaches_a_terminal_phase() {
        let deleting = |phase: &str, reason: Option<&str>| {
            let mut p = pod_with_status(json!({"phase": phase}));
            p.metadata.deletion_timestamp = Some(Time(now()));
            if let Some(r) = reason {
                p.status.as_mut().expect("status").reason = Some(r.to_string());
            }
            short(&p)[2].clone()
        };
        assert_eq!(deleting("Running", None), "Terminating");
        assert_eq!(deleting("Pending", None), "Terminating");
        assert_eq!(deleting("Succeeded", None), "Succeeded");
        assert_eq!(deleting("Failed", None), "Failed");
        assert_eq!(deleting("Running", Some("NodeLost")), "Unknown");
    }

    #[test]
    fn a_completed_container_beside_a_running_one_is_running_or_not_ready() {
        let two = |conditions: Value| {
            pod(json!({
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                "status": {
                    "phase": "Running",
                    "conditions": conditions,
                    "containerStatuses": [
                        {"name": "a", "image": "", "imageID": "", "ready": true, "restartCount": 0,
                         "state": {"running": {}}},
                        {"name": "b", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    ],
                },
            }))
        };
        let ready = json!([{"type": "Ready", "status": "True"}]);
        assert_eq!(short(&two(ready)), cells(&["p", "1/2", "Running", "0"]));
        assert_eq!(short(&two(json!([])))[2], "NotReady");
    }

    /// A pod with two init containers (the second may be a sidecar) and one app container.
    fn initializing(sidecar: bool, init_statuses: Value, extra: Value) -> Pod {
        let mut second = json!({"name": "init-b"});
        if sidecar {
            second["restartPolicy"] = json!("Always");
        }
        let mut status = json!({"phase": "Pending", "initContainerStatuses": init_statuses});
        for (k, v) in extra.as_object().expect("object") {
            status[k] = v.clone();
        }
        pod(json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "init-a"}, second], "containers": [{"name": "main"}]},
            "status": status,
        }))
    }

    fn init_status(name: &str, state: Value, restarts: i32) -> Value {
        json!({"name": name, "image": "", "imageID": "", "ready": false, "restartCount": restarts, "state": state})
    }

    #[test]
    fn init_containers_show_init_progress_and_failures() {
        let running = initializing(
            false,
            json!([
                init_status("init-a", json!({"running": {}}), 0),
                init_status(
                    "init-b",
                    json!({"waiting": {"reason": "PodInitializing"}}),
                    0
                ),
            ]),
            json!({}),
        );
        assert_eq!(short(&running), cells(&["p", "0/1", "Init:0/2", "0"]));

        let second = initializing(
            false,
            json!([
                init_status(
                    "init-a",
                    json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                    0
                ),
                init_status("init-b", json!({"running": {}}), 0),
            ]),
            json!({}),
        );
        assert_eq!(short(&second)[2], "Init:1/2");

        let waiting = initializing(
            false,
            json!([init_status(
                "init-a",
                json!({"waiting": {"reason": "CrashLoopBackOff"}}),
                3
            )]),
            json!({}),
        );
        assert_eq!(
            short(&waiting),
            cells(&["p", "0/1", "Init:CrashLoopBackOff", "3"])
        );

        let failed = |t: Value| {
            short(&initializing(
                false,
                json!([init_status("init-a", json!({"terminated": t}), 0)]),
                json!({}),
            ))[2]
                .clone()
        };
        assert_eq!(
            failed(json!({"exitCode": 1, "reason": "Error"})),
            "Init:Error"
        );
        assert_eq!(
            failed(json!({"exitCode": 137, "signal": 9})),
            "Init:Signal:9"
        );
        assert_eq!(failed(json!({"exitCode": 2})), "Init:ExitCode:2");
    }

    #[test]
    fn a_started_sidecar_counts_as_a_container_and_its_restarts_stay() {
        let p = initializing(
            true,
            json!([
                init_status(
                    "init-a",
                    json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                    5
                ),
                {"name": "init-b", "image": "", "imageID": "", "ready": true, "started": true,
                 "restartCount": 1, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(60)}}},
            ]),
            json!({
                "phase": "Running",
                "containerStatuses": [{"name": "main", "image": "", "imageID": "", "ready": true,
                    "restartCount": 0, "state": {"running": {}}}],
            }),
        );
        // Ready counts the sidecar; restarts of finished init containers no longer count.
        assert_eq!(short(&p), cells(&["p", "2/2", "Running", "1 (60s ago)"]));
    }

    #[test]
    fn readiness_gates_count_the_true_conditions() {
        let p = pod(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}],
                     "readinessGates": [{"conditionType": "x/one"}, {"conditionType": "x/two"}]},
            "status": {"phase": "Running", "nominatedNodeName": "n2",
                       "conditions": [{"type": "x/one", "status": "True"}, {"type": "x/two", "status": "False"}]},
        }));
        assert_eq!(
            pod_cells(&p, now())[5..].to_vec(),
            cells(&["<none>", "<none>", "n2", "1/2"])
        );
    }

    #[test]
    fn cronjob_cells_show_suspend_as_a_string_and_active_as_a_number() {
        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "cj", "creationTimestamp": ago(7200)},
            "spec": {
                "schedule": "*/1 * * * *", "suspend": false,
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c.wasm"}]}}}},
            },
            "status": {"active": [{"name": "cj-1"}, {"name": "cj-2"}], "lastScheduleTime": ago(30)},
        }))
        .expect("cronjob");
        assert_eq!(
            cronjob_cells(&cj, now()),
            vec![
                text("cj"),
                text("*/1 * * * *"),
                text("<none>"),
                text("False"),
                json!(2),
                text("30s"),
                text("120m"),
                text("c"),
                text("c.wasm"),
                text("<none>"),
            ]
        );

        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "cj"},
            "spec": {"schedule": "@daily", "timeZone": "Europe/Paris", "suspend": true, "jobTemplate": {}},
        }))
        .expect("cronjob");
        let c = cronjob_cells(&cj, now());
        assert_eq!(
            c[..6].to_vec(),
            vec![
                text("cj"),
                text("@daily"),
                text("Europe/Paris"),
                text("True"),
                json!(0),
                text("<none>")
            ]
        );
    }

    #[test]
    fn namespace_cells_show_the_phase() {
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": "team-a", "creationTimestamp": ago(90)},
            "status": {"phase": "Active"},
        }))
        .expect("namespace");
        assert_eq!(
            namespace_cells(&ns, now()),
            cells(&["team-a", "Active", "90s"])
        );
    }

    #[test]
    fn event_cells_name_the_object_by_lowercase_kind() {
        let ev: Event = serde_json::from_value(json!({
            "metadata": {"name": "pi.1818"},
            "involvedObject": {"kind": "Job", "name": "pi", "namespace": "default"},
            "reason": "SuccessfulCreate", "message": "Created pod: pi-x\n", "type": "Normal",
            "source": {"component": "job-controller"},
            "firstTimestamp": ago(300), "lastTimestamp": ago(4), "count": 1,
        }))
        .expect("event");
        assert_eq!(
            event_cells(&ev, now()),
            vec![
                text("4s"),
                text("Normal"),
                text("SuccessfulCreate"),
                text("job/pi"),
                text(""),
                text("job-controller"),
                text("Created pod: pi-x"),
                text("5m"),
                json!(1),
                text("pi.1818"),
            ]
        );
    }

    #[test]
    fn events_of_the_new_api_fall_back_to_event_time_series_and_reporting_fields() {
        let ev: Event = serde_json::from_value(json!({
            "metadata": {"name": "e"},
            "involvedObject": {"kind": "Node"},
            "eventTime": ago(120),
            "reportingComponent": "kubelet", "reportingInstance": "edge-1",
        }))
        .expect("event");
        let c = event_cells(&ev, now());
        assert_eq!(c[0], "2m");
        assert_eq!(c[3], "node");
        assert_eq!(c[5], "kubelet, edge-1");
        assert_eq!(c[7], "2m");
        assert_eq!(c[8], json!(1));

        let ev: Event = serde_json::from_value(json!({
            "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "eventTime": ago(600),
            "series": {"count": 7, "lastObservedTime": ago(20)},
        }))
        .expect("event");
        let c = event_cells(&ev, now());
        assert_eq!(c[0], "20s");
        assert_eq!(c[7], "10m");
        assert_eq!(c[8], json!(7));
    }

    #[test]
    fn include_object_parses_the_three_policies() {
        assert_eq!(IncludeObject::parse(None), IncludeObject::Metadata);
        assert_eq!(IncludeObject::parse(Some("None")), IncludeObject::None);
        assert_eq!(
            IncludeObject::parse(Some("Metadata")),
            IncludeObject::Metadata
        );
        assert_eq!(IncludeObject::parse(Some("Object")), IncludeObject::Object);
    }

    #[test]
    fn rows_carry_partial_metadata_the_object_or_null() {
        let object = json!({
            "kind": "Job", "apiVersion": "batch/v1",
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {},
        });
        let c = cells(&["pi"]);
        assert_eq!(
            row(c.clone(), &object, IncludeObject::Metadata),
            json!({"cells": ["pi"], "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"name": "pi", "namespace": "default"},
            }})
        );
        assert_eq!(
            row(c.clone(), &object, IncludeObject::Object),
            json!({"cells": ["pi"], "object": object})
        );
        assert_eq!(
            row(c, &object, IncludeObject::None),
            json!({"cells": ["pi"], "object": null})
        );
    }

    #[test]
    fn a_table_wraps_columns_rows_and_the_resource_version() {
        let t = table(namespace_columns(), vec![json!({"cells": []})], "42");
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "42"}));
        assert_eq!(t["columnDefinitions"], namespace_columns());
        assert_eq!(t["rows"], json!([{"cells": []}]));
    }

    #[test]
    fn kubectls_get_accept_header_asks_for_a_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert!(wants_table(Some(kubectl)));
        assert!(wants_table(Some(
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json"
        )));
        assert!(wants_table(Some(
            "application/json; g=meta.k8s.io; v=v1; as=Table"
        )));
    }

    #[test]
    fn plain_json_or_other_targets_do_not_ask_for_a_table() {
        assert!(!wants_table(None));
        assert!(!wants_table(Some("application/json")));
        assert!(!wants_table(Some("*/*")));
        assert!(!wants_table(Some(
            "application/vnd.kubernetes.protobuf,application/json"
        )));
        // A plain type first wins over a later Table.
        assert!(!wants_table(Some(
            "application/json,application/json;as=Table;v=v1;g=meta.k8s.io"
        )));
        // Wrong group or an unknown version cannot be served as a Table.
        assert!(!wants_table(Some("application/json;as=Table;v=v1;g=apps")));
        assert!(!wants_table(Some(
            "application/json;as=Table;v=v2;g=meta.k8s.io,application/json"
        )));
        // A Table refused with q=0, or weighted below plain JSON.
        assert!(!wants_table(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json"
        )));
        assert!(!wants_table(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io;q=0.5,application/json"
        )));
    }

    #[test]
    fn an_unservable_target_is_skipped_for_the_next_clause() {
        assert!(wants_table(Some(
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io"
        )));
    }
}
