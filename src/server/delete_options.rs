//! `metav1.DeleteOptions` of a DELETE request, read as kube-apiserver reads them (the
//! body when there is one, else the query), validated as `ValidateDeleteOptions` does, and
//! the preconditions checked against the stored object as the storage layer checks them.

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::handlers::Query;
use crate::api::validation::{ErrorType, FieldError, FieldPath};
use crate::store::Resource;

/// What a delete's dependents become (`propagationPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// The object waits, being deleted, until its dependents are gone.
    Foreground,
    /// The object goes at once; the garbage collector deletes its dependents.
    Background,
    /// The object goes; its dependents stay, without it as owner.
    Orphan,
}

/// The options of one delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `dryRun: [All]`: everything is checked and answered, nothing is written.
    pub dry_run: bool,
    /// `propagationPolicy`, or the deprecated `orphanDependents` (`None`: the resource's
    /// default).
    pub propagation: Option<Propagation>,
    /// `gracePeriodSeconds` (`0` with a pod: gone at once, as `--force` asks).
    pub grace_period_seconds: Option<i64>,
    /// `preconditions.uid`: the object must be this one.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`: the object must be unchanged since.
    pub resource_version: Option<String>,
}

/// The wire form: every field optional, unknown ones ignored (as a Go decoder does).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    dry_run: Option<Vec<String>>,
    #[serde(default)]
    propagation_policy: Option<String>,
    #[serde(default)]
    orphan_dependents: Option<bool>,
    #[serde(default)]
    grace_period_seconds: Option<i64>,
    #[serde(default)]
    preconditions: Option<WirePreconditions>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WirePreconditions {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    resource_version: Option<String>,
}

impl DeleteOptions {
    /// The request's options: its body when it has one (kubectl sends them there), else
    /// its query, as the API server's delete handler reads them. A malformed body is 400;
    /// invalid options are 422 on `DeleteOptions.meta.k8s.io`.
    pub fn parse(query: &Query, body: &[u8]) -> Result<Self, ApiError> {
        let wire = if body.iter().any(|b| !b.is_ascii_whitespace()) {
            serde_json::from_slice::<Wire>(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
        } else {
            Wire {
                dry_run: query.get("dryRun").map(|v| vec![v.clone()]),
                propagation_policy: query.get("propagationPolicy").cloned(),
                orphan_dependents: match query.get("orphanDependents").map(String::as_str) {
                    None => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => {
                        return Err(ApiError::bad_request(format!(
                            "orphanDependents: invalid boolean value {}",
                            crate::go::quote(other)
                        )));
                    }
                },
                grace_period_seconds: match query.get("gracePeriodSeconds") {
                    None => None,
                    Some(v) => Some(crate::go::atoi(v).map_err(|_| {
                        ApiError::bad_request(format!(
                            "gracePeriodSeconds: invalid integer value {}",
                            crate::go::quote(v)
                        ))
                    })?),
                },
                preconditions: None,
            }
        };
        let errors = validate(&wire);
        if !errors.is_empty() {
            return Err(ApiError::invalid("DeleteOptions.meta.k8s.io", "", &errors));
        }
        let propagation = match (wire.propagation_policy.as_deref(), wire.orphan_dependents) {
            (Some("Foreground"), _) => Some(Propagation::Foreground),
            (Some("Background"), _) => Some(Propagation::Background),
            (Some(_), _) => Some(Propagation::Orphan),
            (None, Some(true)) => Some(Propagation::Orphan),
            (None, Some(false)) => Some(Propagation::Background),
            (None, None) => None,
        };
        let pre = wire.preconditions.unwrap_or_default();
        Ok(DeleteOptions {
            dry_run: wire.dry_run.is_some_and(|d| !d.is_empty()),
            propagation,
            grace_period_seconds: wire.grace_period_seconds,
            uid: pre.uid,
            resource_version: pre.resource_version,
        })
    }

    /// The preconditions against the stored object: 409 as the storage layer answers a
    /// failed one (`Preconditions.Check`), through `InterpretDeleteError`.
    pub fn check(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        uid: Option<&str>,
        resource_version: Option<&str>,
    ) -> Result<(), ApiError> {
        let failed = |what: &str, want: &str, have: &str| {
            let cause = format!(
                "Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}"
            );
            // Namespaces check their own preconditions, before the storage layer does.
            let cause = if resource == Resource::Namespaces {
                cause
            } else {
                let key = match namespace {
                    Some(ns) => format!("/registry/{}/{ns}/{name}", resource.plural()),
                    None => format!("/registry/{}/{name}", resource.plural()),
                };
                format!(
                    "StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: {cause}"
                )
            };
            ApiError::conflict_because(resource, name, &cause)
        };
        if let Some(want) = &self.uid
            && Some(want.as_str()) != uid
        {
            return Err(failed("UID", want, uid.unwrap_or("")));
        }
        if let Some(want) = &self.resource_version
            && Some(want.as_str()) != resource_version
        {
            return Err(failed(
                "ResourceVersion",
                want,
                resource_version.unwrap_or(""),
            ));
        }
        Ok(())
    }
}

/// `ValidateDeleteOptions`: both propagation fields, an unknown policy, a dry run other
/// than `All`.
fn validate(w: &Wire) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let policy = FieldPath::root("propagationPolicy");
    if w.orphan_dependents.is_some()
        && let Some(p) = &w.propagation_policy
    {
        errors.push(FieldError::invalid(
            &policy,
            Value::from(p.as_str()),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    if let Some(p) = &w.propagation_policy
        && !matches!(p.as_str(), "Foreground" | "Background" | "Orphan")
    {
        errors.push(FieldError::not_supported(
            &policy,
            Value::from(p.as_str()),
            &["Foreground", "Background", "Orphan", "nil"],
        ));
    }
    if let Some(values) = &w.dry_run
        && values.iter().any(|v| v != "All")
    {
        errors.push(dry_run_not_supported(values));
    }
    errors
}

/// `dryRun: Unsupported value: []string{"Some"}: supported values: "All"` (Go prints the
/// refused slice with `%#v`).
pub fn dry_run_not_supported(values: &[String]) -> FieldError {
    let quoted: Vec<String> = values.iter().map(|v| crate::go::quote(v)).collect();
    FieldError {
        kind: ErrorType::NotSupported,
        field: "dryRun".into(),
        value: None,
        detail: format!(
            "[]string{{{}}}: supported values: \"All\"",
            quoted.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::server::handlers::query_of as q;

    #[test]
    fn the_body_wins_over_the_query_and_carries_every_field() {
        let body = br#"{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"],"propagationPolicy":"Foreground","gracePeriodSeconds":0,"preconditions":{"uid":"u1","resourceVersion":"7"}}"#;
        let o = DeleteOptions::parse(&q(&[("propagationPolicy", "Orphan")]), body).unwrap();
        assert_eq!(
            o,
            DeleteOptions {
                dry_run: true,
                propagation: Some(Propagation::Foreground),
                grace_period_seconds: Some(0),
                uid: Some("u1".into()),
                resource_version: Some("7".into()),
            }
        );
        // Without a body, the query.
        let o = DeleteOptions::parse(
            &q(&[
                ("dryRun", "All"),
                ("orphanDependents", "true"),
                ("gracePeriodSeconds", "5"),
            ]),
            b"",
        )
        .unwrap();
        assert!(o.dry_run);
        assert_eq!(o.propagation, Some(Propagation::Orphan));
        assert_eq!(o.grace_period_seconds, Some(5));
        assert_eq!(
            DeleteOptions::parse(&q(&[]), br#"{"orphanDependents":false}"#)
                .unwrap()
                .propagation,
            Some(Propagation::Background)
        );
        assert_eq!(
            DeleteOptions::parse(&q(&[]), b"").unwrap(),
            DeleteOptions::default()
        );
    }

    #[test]
    fn invalid_options_are_upstreams_422_and_a_malformed_body_is_400() {
        let err = |body: &[u8], query: &[(&str, &str)]| {
            let e = DeleteOptions::parse(&q(query), body).unwrap_err();
            let s = e.status();
            (
                s["code"].as_u64().unwrap(),
                s["message"].as_str().unwrap().to_string(),
            )
        };
        assert_eq!(
            err(br#"{"propagationPolicy":"Sideways"}"#, &[]),
            (
                422,
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"".into()
            )
        );
        assert_eq!(
            err(br#"{"propagationPolicy":"Orphan","orphanDependents":true}"#, &[]),
            (
                422,
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set".into()
            )
        );
        assert_eq!(
            err(b"", &[("dryRun", "Some")]),
            (
                422,
                "DeleteOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\"".into()
            )
        );
        assert_eq!(err(b"{", &[]).0, 400);
        assert_eq!(err(b"", &[("gracePeriodSeconds", "soon")]).0, 400);
    }

    #[test]
    fn a_failed_precondition_is_the_storage_layers_conflict() {
        let o = DeleteOptions {
            uid: Some("other".into()),
            ..Default::default()
        };
        let s = o
            .check(Resource::Jobs, Some("default"), "pi", Some("u1"), Some("5"))
            .unwrap_err()
            .status();
        assert_eq!(s["code"], 409);
        assert_eq!(s["reason"], "Conflict");
        assert_eq!(
            s["message"],
            "Operation cannot be fulfilled on jobs.batch \"pi\": StorageError: invalid object, Code: 4, Key: /registry/jobs/default/pi, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: u1"
        );
        assert_eq!(s["details"]["name"], "pi");
        let o = DeleteOptions {
            resource_version: Some("4".into()),
            ..Default::default()
        };
        let s = o
            .check(Resource::Namespaces, None, "team", Some("u"), Some("5"))
            .unwrap_err()
            .status();
        assert_eq!(
            s["message"],
            "Operation cannot be fulfilled on namespaces \"team\": Precondition failed: ResourceVersion in precondition: 4, ResourceVersion in object meta: 5"
        );
        let ok = DeleteOptions {
            uid: Some("u1".into()),
            resource_version: Some("5".into()),
            ..Default::default()
        };
        assert!(
            ok.check(Resource::Pods, Some("default"), "p", Some("u1"), Some("5"))
                .is_ok()
        );
    }
}
