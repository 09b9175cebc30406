//! The resources we serve, in one table: names, scope, verbs, short names and categories
//! (what discovery lists), the qualified name errors use (`jobs.batch`), and the field
//! labels a field selector may use for each.

/// The kinds of object we serve and store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// batch/v1 Jobs.
    Jobs,
    /// v1 Pods.
    Pods,
    /// v1 Events.
    Events,
    /// v1 Namespaces.
    Namespaces,
    /// batch/v1 CronJobs.
    CronJobs,
    /// v1 ConfigMaps.
    ConfigMaps,
    /// v1 Secrets.
    Secrets,
    /// v1 Services.
    Services,
}

/// What the API says of one resource.
#[derive(Debug)]
pub struct ResourceInfo {
    /// Which one.
    pub resource: Resource,
    /// `jobs`.
    pub plural: &'static str,
    /// `job`.
    pub singular: &'static str,
    /// `Job`.
    pub kind: &'static str,
    /// `batch`; empty for the core group.
    pub group: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// The verbs the main resource takes, sorted as discovery lists them.
    pub verbs: &'static [&'static str],
    /// `kubectl get cj`.
    pub short_names: &'static [&'static str],
    /// `kubectl get all`.
    pub categories: &'static [&'static str],
    /// Subresources and their verbs (`status`, `log`).
    pub subresources: &'static [(&'static str, &'static [&'static str])],
    /// Field labels a field selector may name (upstream's `*ToSelectableFields` plus the
    /// conversion funcs' extra labels).
    pub field_labels: &'static [&'static str],
    /// Field labels that read another JSON path (`status.successful` is
    /// `status.succeeded`).
    pub field_aliases: &'static [(&'static str, &'static str)],
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS: (&str, &[&str]) = ("status", &["get", "patch", "update"]);
const META_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Every resource, in [`Resource`]'s order (a resource's index is its discriminant).
pub const RESOURCES: [ResourceInfo; 8] = [
    ResourceInfo {
        resource: Resource::Jobs,
        plural: "jobs",
        singular: "job",
        kind: "Job",
        group: "batch",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &[],
        categories: &["all"],
        subresources: &[STATUS],
        field_labels: META_FIELDS,
        field_aliases: &[("status.successful", "status.succeeded")],
    },
    ResourceInfo {
        resource: Resource::Pods,
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        group: "",
        namespaced: true,
        verbs: &["delete", "get", "list", "watch"],
        short_names: &["po"],
        categories: &["all"],
        subresources: &[("log", &["get"])],
        field_labels: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        field_aliases: &[],
    },
    ResourceInfo {
        resource: Resource::Events,
        plural: "events",
        singular: "event",
        kind: "Event",
        group: "",
        namespaced: true,
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        field_labels: &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        field_aliases: &[("source", "source.component")],
    },
    ResourceInfo {
        resource: Resource::Namespaces,
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        group: "",
        namespaced: false,
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        short_names: &["ns"],
        categories: &[],
        subresources: &[],
        field_labels: &["metadata.name", "status.phase"],
        field_aliases: &[],
    },
    ResourceInfo {
        resource: Resource::CronJobs,
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        group: "batch",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["cj"],
        categories: &["all"],
        subresources: &[STATUS],
        field_labels: META_FIELDS,
        field_aliases: &[],
    },
    ResourceInfo {
        resource: Resource::ConfigMaps,
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        group: "",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["cm"],
        categories: &[],
        subresources: &[],
        field_labels: META_FIELDS,
        field_aliases: &[],
    },
    ResourceInfo {
        resource: Resource::Secrets,
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        group: "",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &[],
        categories: &[],
        subresources: &[],
        // `SecretSelectableFields`: its type too.
        field_labels: &["metadata.name", "metadata.namespace", "type"],
        field_aliases: &[],
    },
    ResourceInfo {
        resource: Resource::Services,
        plural: "services",
        singular: "service",
        kind: "Service",
        group: "",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["svc"],
        categories: &["all"],
        subresources: &[STATUS],
        field_labels: &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        field_aliases: &[],
    },
];

impl Resource {
    /// Its row of [`RESOURCES`].
    pub fn info(self) -> &'static ResourceInfo {
        &RESOURCES[self as usize]
    }

    /// The plural resource name.
    pub fn plural(self) -> &'static str {
        self.info().plural
    }

    /// The name used in messages (`jobs.batch`, `pods`), as `GroupResource.String()`.
    pub fn qualified(self) -> &'static str {
        match self {
            Resource::Jobs => "jobs.batch",
            Resource::CronJobs => "cronjobs.batch",
            other => other.plural(),
        }
    }

    /// The resource of a plural name.
    pub fn from_plural(s: &str) -> Option<Self> {
        RESOURCES.iter().find(|r| r.plural == s).map(|r| r.resource)
    }
}

/// The resources of one group (`""` for core), sorted by name as discovery lists them.
pub fn in_group(group: &str) -> Vec<&'static ResourceInfo> {
    let mut rows: Vec<_> = RESOURCES.iter().filter(|r| r.group == group).collect();
    rows.sort_by_key(|r| r.plural);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_sits_at_its_resources_index_and_names_agree() {
        for (i, r) in RESOURCES.iter().enumerate() {
            assert_eq!(r.resource as usize, i, "{}", r.plural);
            assert_eq!(Resource::from_plural(r.plural), Some(r.resource));
            let qualified = if r.group.is_empty() {
                r.plural.to_string()
            } else {
                format!("{}.{}", r.plural, r.group)
            };
            assert_eq!(r.resource.qualified(), qualified);
            assert!(r.verbs.is_sorted(), "{} verbs unsorted", r.plural);
            assert!(r.field_labels.contains(&"metadata.name"));
        }
    }
}
