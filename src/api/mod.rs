//! The Kubernetes object model we serve: k8s-openapi's types plus the API server's rules
//! for them (defaulting, validation, quantities, predicates). Pure data; no IO.

pub mod admit;
pub mod defaults;
pub mod host_path;
pub mod intervals;
pub mod job;
pub mod meta;
pub mod pod;
pub mod quantity;
pub mod resource;
pub mod validation;
