//! The Job controller's decisions, pure: no async, no store, no wasmtime, no clock.
//!
//! [`sync`] maps `(Job, pods, now)` to a [`Plan`]; `controller::apply` carries it out.

mod backoff;
mod pod_template;
mod policies;
mod sync;

pub use backoff::{Backoff, failures_since_success};
pub use pod_template::{generate_name, new_pod};
pub use policies::{Action, match_failure_policy, match_success_policy};
pub use sync::{
    DeletionReason, JobEvent, MAX_POD_CREATE_DELETE_PER_SYNC, NewPod, Plan, PodDeletion, Settings,
    sync,
};

#[cfg(test)]
mod tests;
