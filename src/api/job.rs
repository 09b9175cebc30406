//! Job constants and predicates: label and annotation keys, condition types and reasons,
//! and the small questions every caller asks of a Job ("is it finished?").

use k8s_openapi::api::batch::v1::{Job, JobCondition};

/// Label (and annotation) carrying a pod's completion index (PodIndexLabel is GA).
pub const COMPLETION_INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
/// Annotation with the number of failed pods of an index so far (backoffLimitPerIndex).
pub const INDEX_FAILURE_COUNT_KEY: &str = "batch.kubernetes.io/job-index-failure-count";
/// Annotation with the number of ignored failures of an index, when above zero.
pub const INDEX_IGNORED_FAILURE_COUNT_KEY: &str =
    "batch.kubernetes.io/job-index-ignored-failure-count";
/// Label with the Job's name (legacy form).
pub const JOB_NAME_LABEL_LEGACY: &str = "job-name";
/// Label with the Job's name.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Label with the Job's uid (legacy form).
pub const CONTROLLER_UID_LABEL_LEGACY: &str = "controller-uid";
/// Label with the Job's uid.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// `spec.managedBy` value meaning "the built-in Job controller".
pub const JOB_CONTROLLER_NAME: &str = "kubernetes.io/job-controller";
/// Env var with the completion index, added to Indexed pods' containers.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Condition types of `status.conditions`.
pub mod condition {
    /// Terminal success.
    pub const COMPLETE: &str = "Complete";
    /// Terminal failure.
    pub const FAILED: &str = "Failed";
    /// Failure decided, pods still terminating.
    pub const FAILURE_TARGET: &str = "FailureTarget";
    /// Success decided, pods still terminating.
    pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
    /// `spec.suspend` in effect.
    pub const SUSPENDED: &str = "Suspended";
}

/// Condition reasons and their exact upstream messages.
pub mod reason {
    /// `failed > backoffLimit`.
    pub const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
    /// Message for [`BACKOFF_LIMIT_EXCEEDED`].
    pub const BACKOFF_LIMIT_EXCEEDED_MESSAGE: &str = "Job has reached the specified backoff limit";
    /// `activeDeadlineSeconds` passed.
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    /// Message for [`DEADLINE_EXCEEDED`].
    pub const DEADLINE_EXCEEDED_MESSAGE: &str = "Job was active longer than specified deadline";
    /// Enough pods succeeded.
    pub const COMPLETIONS_REACHED: &str = "CompletionsReached";
    /// Message for [`COMPLETIONS_REACHED`].
    pub const COMPLETIONS_REACHED_MESSAGE: &str = "Reached expected number of succeeded pods";
    /// A pod failure policy FailJob rule matched.
    pub const POD_FAILURE_POLICY: &str = "PodFailurePolicy";
    /// More indexes failed than `maxFailedIndexes`.
    pub const MAX_FAILED_INDEXES_EXCEEDED: &str = "MaxFailedIndexesExceeded";
    /// Message for [`MAX_FAILED_INDEXES_EXCEEDED`].
    pub const MAX_FAILED_INDEXES_EXCEEDED_MESSAGE: &str =
        "Job has exceeded the specified maximal number of failed indexes";
    /// Every index ended and some failed.
    pub const FAILED_INDEXES: &str = "FailedIndexes";
    /// Message for [`FAILED_INDEXES`].
    pub const FAILED_INDEXES_MESSAGE: &str = "Job has failed indexes";
    /// A success policy rule matched.
    pub const SUCCESS_POLICY: &str = "SuccessPolicy";
    /// Suspended.
    pub const JOB_SUSPENDED: &str = "JobSuspended";
    /// Message for [`JOB_SUSPENDED`].
    pub const JOB_SUSPENDED_MESSAGE: &str = "Job suspended";
    /// Resumed.
    pub const JOB_RESUMED: &str = "JobResumed";
    /// Message for [`JOB_RESUMED`].
    pub const JOB_RESUMED_MESSAGE: &str = "Job resumed";
}

/// True when the Job has a condition of `type_` with status `True`.
pub fn has_true_condition(job: &Job, type_: &str) -> bool {
    find_condition(job, type_).is_some_and(|c| c.status == "True")
}

/// The condition of `type_`, if any.
pub fn find_condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
}

/// A Job is finished once `Complete` or `Failed` is `True` (upstream `IsJobFinished`).
pub fn is_finished(job: &Job) -> bool {
    has_true_condition(job, condition::COMPLETE) || has_true_condition(job, condition::FAILED)
}

/// True when `Complete=True`.
pub fn is_complete(job: &Job) -> bool {
    has_true_condition(job, condition::COMPLETE)
}

/// True when `Failed=True`.
pub fn is_failed(job: &Job) -> bool {
    has_true_condition(job, condition::FAILED)
}

/// True for `completionMode: Indexed`.
pub fn is_indexed(job: &Job) -> bool {
    job.spec
        .as_ref()
        .and_then(|s| s.completion_mode.as_deref())
        .is_some_and(|m| m == "Indexed")
}

/// `namespace/name`, the way objects are named in messages and logs.
pub fn key(job: &Job) -> String {
    super::meta::namespaced_key(
        job.metadata.namespace.as_deref(),
        job.metadata.name.as_deref(),
    )
}
