//! API errors as `metav1.Status`, word for word as kube-apiserver sends them, because
//! kubectl prints them verbatim.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::validation::{FieldError, invalid_status};
use crate::store::{self, Resource};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
    body: Option<Value>,
}

/// The `group` of a resource, for Status details.
fn group(resource: Resource) -> &'static str {
    match resource {
        Resource::Jobs | Resource::CronJobs => "batch",
        _ => "",
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            body: None,
        }
    }

    /// 404 for a named object.
    pub fn not_found(resource: Resource, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.qualified()),
        );
        e.details =
            Some(json!({"name": name, "group": group(resource), "kind": resource.plural()}));
        e
    }

    /// 413 for a body over the limit, as kube-apiserver words it.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 404 for a path we do not serve: `details` is there and empty, as kube-apiserver
    /// writes it (clients such as `kubectl debug` read it without checking).
    pub fn no_route() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(json!({}));
        e
    }

    /// 405 for a verb a path does not serve.
    pub fn method_not_allowed() -> Self {
        let mut e = Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        );
        e.details = Some(json!({}));
        e
    }

    /// Any other error the HTTP layer answered without a body of ours (a query string
    /// that does not parse, a media type refused): a `Status` with `message`, its reason
    /// from its code as `NewGenericServerResponse` names it.
    pub fn from_http(code: u16, message: &str) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            406 => "NotAcceptable",
            409 => "Conflict",
            413 => "RequestEntityTooLarge",
            415 => "UnsupportedMediaType",
            422 => "Invalid",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        };
        let message = if message.trim().is_empty() {
            "the server could not handle the request"
        } else {
            message.trim()
        };
        let mut e = Self::new(code, reason, message);
        e.details = Some(json!({}));
        e
    }

    /// 409 on create.
    pub fn already_exists(resource: Resource, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.qualified()),
        );
        e.details =
            Some(json!({"name": name, "group": group(resource), "kind": resource.plural()}));
        e
    }

    /// 409 on a stale write.
    pub fn conflict(resource: Resource, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                resource.qualified()
            ),
        );
        e.details =
            Some(json!({"name": name, "group": group(resource), "kind": resource.plural()}));
        e
    }

    /// 409 for a write refused because of `cause` (a failed precondition).
    pub fn conflict_because(resource: Resource, name: &str, cause: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {cause}",
                resource.qualified()
            ),
        );
        e.details =
            Some(json!({"name": name, "group": group(resource), "kind": resource.plural()}));
        e
    }

    /// 409 with a custom message (UID preconditions).
    pub fn conflict_message(message: impl Into<String>) -> Self {
        Self::new(409, "Conflict", message)
    }

    /// 422 with field causes.
    pub fn invalid(qualified_kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let status = invalid_status(qualified_kind, name, errors);
        let mut e = Self::new(
            422,
            "Invalid",
            status["message"].as_str().unwrap_or_default().to_string(),
        );
        e.body = Some(status);
        e
    }

    /// 422 without field causes (a JSON patch that does not apply).
    pub fn invalid_message(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 from the NamespaceLifecycle admission plugin.
    pub fn namespace_terminating(resource: Resource, name: &str, ns: &str) -> Self {
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                resource.qualified()
            ),
        );
        e.details = Some(json!({
            "name": name,
            "group": group(resource),
            "kind": resource.plural(),
            "causes": [{
                "reason": "NamespaceTerminating",
                "message": format!("namespace {ns} is being terminated"),
                "field": "metadata.namespace",
            }],
        }));
        e
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 415.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
        )
    }

    /// 415 for a PATCH whose Content-Type is no patch type we take, with upstream's list.
    /// Server-side apply gets a sentence more, since upstream's list alone would read
    /// like a broken client.
    pub fn unsupported_patch(content_type: &str) -> Self {
        let mut message = format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            super::patch::ACCEPTED.join(", ")
        );
        if content_type
            .to_ascii_lowercase()
            .starts_with("application/apply-patch")
        {
            message.push_str(
                " (wasmjob does not implement server-side apply, which needs field ownership: use client-side `kubectl apply`, a strategic merge patch)",
            );
        }
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 410 for a watch from a compacted revision.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 504 (a watch from a resourceVersion the server has not reached).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The Status object.
    pub fn status(&self) -> Value {
        if let Some(b) = &self.body {
            return b.clone();
        }
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::AlreadyExists { resource, name } => {
                let r = resource_by_qualified(resource);
                ApiError::already_exists(r, &name)
            }
            store::Error::NotFound { resource, name } => {
                ApiError::not_found(resource_by_qualified(resource), &name)
            }
            store::Error::Conflict { resource, name } => {
                ApiError::conflict(resource_by_qualified(resource), &name)
            }
            store::Error::Backend(e) => ApiError::internal(e.to_string()),
            // As kube-apiserver answers when etcd cannot commit: 500 InternalError.
            e @ store::Error::Unavailable(_) => {
                ApiError::internal(format!("Internal error occurred: {e}"))
            }
        }
    }
}

fn resource_by_qualified(q: &str) -> Resource {
    [
        Resource::Jobs,
        Resource::Pods,
        Resource::Events,
        Resource::Namespaces,
        Resource::CronJobs,
        Resource::ConfigMaps,
        Resource::Secrets,
        Resource::Services,
    ]
    .into_iter()
    .find(|r| r.qualified() == q)
    .unwrap_or(Resource::Jobs)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.status())).into_response()
    }
}

impl From<crate::api::admit::Refusal> for ApiError {
    fn from(r: crate::api::admit::Refusal) -> Self {
        use crate::api::admit::Refusal;
        match r {
            Refusal::Invalid { kind, name, errors } => ApiError::invalid(kind, &name, &errors),
            Refusal::Forbidden(message) => ApiError::forbidden(message),
            Refusal::BadRequest(message) => ApiError::bad_request(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_the_api_server() {
        let s = ApiError::not_found(Resource::Jobs, "pi").status();
        assert_eq!(s["message"], "jobs.batch \"pi\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["group"], "batch");
        let s = ApiError::not_found(Resource::Pods, "x").status();
        assert_eq!(s["message"], "pods \"x\" not found");
    }
}
