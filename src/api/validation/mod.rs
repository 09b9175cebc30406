//! Create/update validation of batch/v1 Jobs with kube-apiserver's exact field-error messages.
//!
//! This file ports `pkg/apis/batch/validation/validation.go` and the parts of
//! `pkg/apis/core/validation` and `apimachinery/pkg/util/validation` that a wasm Job can reach.
//! The formatting of the errors follows `apimachinery/pkg/util/validation/field/errors.go`
//! (`Error.Error()` / `ErrorBody()`), `api/errors.NewInvalid` and kubectl's `checkErr`.
//!
//! One module per concept: [`field`] (paths, errors, messages), [`names`] (name and label
//! syntax), [`meta`] (`ObjectMeta`, selectors), [`pod`] (the pod template), [`job`],
//! [`cronjob`], [`config`] (ConfigMaps and Secrets) and [`service`].

pub mod config;
pub mod cronjob;
pub mod field;
pub mod job;
pub mod meta;
pub mod names;
pub mod pod;
pub mod service;
#[cfg(test)]
mod tests;

pub use config::*;
pub use cronjob::*;
pub use field::*;
pub use job::*;
pub use meta::*;
pub use names::{
    dns1123_subdomain_errors, is_dns1123_label, is_label_value, is_qualified_name,
    qualified_name_errors,
};
pub use service::*;
