//! `wasmjob run`: Jobs from manifest files, run to their end on an in-process store, the
//! Job controller and the kubelet, with progress on stderr and the final Jobs on stdout.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use tokio::sync::mpsc;

use crate::api::host_path::HostPathPolicy;
use crate::api::job::{is_complete, is_failed, is_finished};
use crate::api::{admit, pod as podutil, validation};
use crate::clock::Clock;
use crate::controller::{self, job::Backoff, job::Settings};
use crate::kubelet::{
    ImageResolver, Kubelet, KubeletConfig, LogStore, logs::DEFAULT_LOG_CAP, real_path_or_given,
};
use crate::manifest::{self, Manifests};
use crate::runtime::{self, Runtime, RuntimeConfig, parse_image_ref};
use crate::store::Store;

/// Output format of the final Jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML (default).
    Yaml,
    /// JSON.
    Json,
}

/// Options of `wasmjob run`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Manifest files; `-` is stdin.
    pub files: Vec<String>,
    /// Output format.
    pub format: Format,
    /// Stream container output to stderr.
    pub logs: bool,
    /// Job-level back-off between replacement pods.
    pub pod_backoff: Backoff,
    /// Kubelet crash-loop back-off base.
    pub container_backoff_base: Duration,
    /// Kubelet crash-loop back-off cap.
    pub container_backoff_max: Duration,
    /// Memory limit of containers that set none.
    pub default_memory_limit: u64,
    /// `limits.ephemeral-storage` of containers that set none (`None`: unbounded).
    pub default_ephemeral_storage: Option<u64>,
    /// Where precompiled modules are cached.
    pub cache_dir: Option<PathBuf>,
    /// Print progress lines on stderr.
    pub progress: bool,
}

/// How a run ended; `main` turns it into the exit status.
#[derive(Debug)]
pub struct Outcome {
    /// The Jobs at the end, with full status.
    pub jobs: Vec<Job>,
    /// Their pods at the end (for benchmarks and tests).
    pub pods: Vec<Arc<Pod>>,
    /// The rendered stdout document.
    pub rendered: String,
    /// 0 when every Job completed, 1 when any failed.
    pub exit_code: i32,
}

/// Input that prevents a run; nothing was started. Exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A manifest could not be read or parsed.
    #[error("error: {0}")]
    Manifest(manifest::Error),
    /// Validation failed (already in kubectl's wording).
    #[error("{0}")]
    Invalid(String),
    /// An image cannot be used.
    #[error("error: job {job}: container {container}: {message}")]
    Image {
        /// `namespace/name`.
        job: String,
        /// Container name.
        container: String,
        /// Why.
        message: String,
    },
    /// Two Jobs with one name.
    #[error("Error from server (AlreadyExists): jobs.batch {0:?} already exists")]
    Duplicate(String),
    /// The runtime could not start.
    #[error("error: {0}")]
    Runtime(runtime::Error),
}

// By hand, not `#[from]` (which makes the cause a `#[source]` too): the message already
// interpolates it, and `anyhow` would print it twice.
impl From<manifest::Error> for InputError {
    fn from(e: manifest::Error) -> Self {
        InputError::Manifest(e)
    }
}

impl From<runtime::Error> for InputError {
    fn from(e: runtime::Error) -> Self {
        InputError::Runtime(e)
    }
}

/// Admits the ConfigMaps and Secrets of the manifests into `messages`' account: defaults,
/// validation, one of each name per namespace.
fn admit_all<K: admit::Admit + Default>(
    objects: &mut [K],
    kind: &str,
    clock: &Clock,
    messages: &mut Vec<String>,
) {
    let mut seen = std::collections::HashSet::new();
    for o in objects.iter_mut() {
        let m = o.metadata_mut();
        m.namespace.get_or_insert_with(|| "default".into());
        m.resource_version = None;
        let key = crate::api::meta::namespaced_key(m.namespace.as_deref(), m.name.as_deref());
        match admit::create(std::mem::take(o), &admit::Policy::default(), clock.now()) {
            Ok(admitted) => *o = admitted,
            Err(admit::Refusal::Invalid { name, errors, .. }) => {
                messages.push(validation::kubectl_message(kind, &name, &errors));
                continue;
            }
            Err(other) => {
                messages.push(other.to_string());
                continue;
            }
        }
        if !seen.insert(key.clone()) {
            messages.push(format!("{kind} {key:?} is defined twice"));
        }
    }
}

/// What a Job's pods need of a ConfigMap or Secret (not `optional`): (kind, name, the key
/// they read, if one). `run` has no one to create them later, so one missing is invalid
/// input, not a wait.
fn required_config(job: &Job) -> Vec<(&'static str, String, Option<String>)> {
    let mut out = Vec::new();
    let Some(spec) = job.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
        return out;
    };
    let needed = |o: Option<bool>| o != Some(true);
    let items = |items: &Option<Vec<k8s_openapi::api::core::v1::KeyToPath>>| {
        items
            .iter()
            .flatten()
            .map(|i| Some(i.key.clone()))
            .chain([None])
            .collect::<Vec<_>>()
    };
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = v.config_map.as_ref().filter(|c| needed(c.optional)) {
            for key in items(&cm.items) {
                out.push(("configmap", cm.name.clone(), key));
            }
        }
        if let Some(s) = v.secret.as_ref().filter(|s| needed(s.optional)) {
            for key in items(&s.items) {
                out.push(("secret", s.secret_name.clone().unwrap_or_default(), key));
            }
        }
    }
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        for from in c.env_from.iter().flatten() {
            if let Some(r) = from.config_map_ref.as_ref().filter(|r| needed(r.optional)) {
                out.push(("configmap", r.name.clone(), None));
            }
            if let Some(r) = from.secret_ref.as_ref().filter(|r| needed(r.optional)) {
                out.push(("secret", r.name.clone(), None));
            }
        }
        for var in c.env.iter().flatten() {
            let Some(from) = &var.value_from else {
                continue;
            };
            if let Some(r) = from
                .config_map_key_ref
                .as_ref()
                .filter(|r| needed(r.optional))
            {
                out.push(("configmap", r.name.clone(), Some(r.key.clone())));
            }
            if let Some(r) = from.secret_key_ref.as_ref().filter(|r| needed(r.optional)) {
                out.push(("secret", r.name.clone(), Some(r.key.clone())));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Loads, defaults and validates every Job, ConfigMap and Secret; reports every invalid
/// object, not just the first, and every ConfigMap or Secret a Job needs that no manifest
/// defines.
pub fn load_jobs(files: &[String], clock: &Clock) -> Result<Manifests, InputError> {
    let mut manifests = Manifests::default();
    for f in files {
        manifests.extend(manifest::load(f)?);
    }
    let mut messages = Vec::new();
    admit_all(
        &mut manifests.config_maps,
        "ConfigMap",
        clock,
        &mut messages,
    );
    admit_all(&mut manifests.secrets, "Secret", clock, &mut messages);
    // Each ConfigMap's and Secret's keys, by (kind, namespace/name).
    let mut defined: HashMap<(&str, String), Vec<String>> = HashMap::new();
    for c in &manifests.config_maps {
        let key = crate::api::meta::namespaced_key(
            c.metadata.namespace.as_deref(),
            c.metadata.name.as_deref(),
        );
        let keys = c.data.iter().flatten().map(|(k, _)| k.clone());
        let binary = c.binary_data.iter().flatten().map(|(k, _)| k.clone());
        defined.insert(("configmap", key), keys.chain(binary).collect());
    }
    for s in &manifests.secrets {
        let key = crate::api::meta::namespaced_key(
            s.metadata.namespace.as_deref(),
            s.metadata.name.as_deref(),
        );
        defined.insert(
            ("secret", key),
            s.data.iter().flatten().map(|(k, _)| k.clone()).collect(),
        );
    }
    let loaded = &mut manifests.jobs;
    for l in loaded.iter_mut() {
        let job = &mut l.job;
        job.metadata
            .namespace
            .get_or_insert_with(|| "default".into());
        // Manifests exported with `kubectl get -o yaml` carry the old object's
        // resourceVersion; `run` starts them afresh, as it always did.
        job.metadata.resource_version = None;
        // The node's part of admission (hostPath) is checked once the node exists.
        match admit::create(std::mem::take(job), &admit::Policy::default(), clock.now()) {
            Ok(admitted) => *job = admitted,
            Err(admit::Refusal::Invalid { name, errors, .. }) => {
                messages.push(validation::kubectl_message("Job", &name, &errors));
                continue;
            }
            Err(other) => {
                messages.push(other.to_string());
                continue;
            }
        }
        let ns = job.metadata.namespace.as_deref();
        let job_name = job.metadata.name.as_deref().unwrap_or("");
        let in_ns = ns.unwrap_or("default");
        for (kind, name, key) in required_config(job) {
            let found = defined.get(&(kind, crate::api::meta::namespaced_key(ns, Some(&name))));
            match (found, key) {
                (None, _) => messages.push(format!(
                    "Job {job_name:?} uses {kind} {name:?}, which no manifest defines in namespace {in_ns:?} (its pods would wait for it forever; add it to the files, or mark the reference optional)"
                )),
                (Some(keys), Some(key)) if !keys.contains(&key) => messages.push(format!(
                    "Job {job_name:?} uses key {key:?} of {kind} {in_ns}/{name}, which has no such key (its pods would wait for it forever; add the key, or mark the reference optional)"
                )),
                _ => {}
            }
        }
        // The Job controller leaves a Job managed by another controller alone, and `run`
        // has no other: it would wait forever.
        if let Some(other) = job
            .spec
            .as_ref()
            .and_then(|s| s.managed_by.as_deref())
            .filter(|m| *m != crate::api::job::JOB_CONTROLLER_NAME)
        {
            messages.push(format!(
                "Job {:?} is managed by {other:?}, not {:?}: nothing here would ever run or finish it (remove spec.managedBy to run it)",
                job.metadata.name.as_deref().unwrap_or(""),
                crate::api::job::JOB_CONTROLLER_NAME
            ));
        }
    }
    if !messages.is_empty() {
        return Err(InputError::Invalid(messages.join("\n")));
    }
    let mut seen = std::collections::HashSet::new();
    for l in manifests.jobs.iter() {
        let k = crate::api::job::key(&l.job);
        if !seen.insert(k) {
            return Err(InputError::Duplicate(
                l.job.metadata.name.clone().unwrap_or_default(),
            ));
        }
    }
    Ok(manifests)
}

/// Runs the Jobs to their terminal conditions.
pub async fn run(options: Options) -> Result<Outcome, InputError> {
    run_observed(options, |_| {}).await
}

/// [`run`], handing the store to `observe` before the Jobs are created (benchmarks watch
/// the pods through it).
pub async fn run_observed(
    options: Options,
    observe: impl FnOnce(Arc<Store>),
) -> Result<Outcome, InputError> {
    let clock = Clock::new();
    let Manifests {
        jobs: loaded,
        config_maps,
        secrets,
    } = load_jobs(&options.files, &clock)?;
    // The Jobs bound how many guests can run at once: parallelism pods (fewer if fewer
    // completions), each running its app containers side by side and its init containers
    // one at a time before them. A pod beyond the pool would wait for a slot, not fail.
    let concurrent: u64 = loaded
        .iter()
        .map(|l| {
            let spec = l.job.spec.as_ref();
            let parallelism = spec.and_then(|s| s.parallelism).unwrap_or(1).max(0) as u64;
            let pods = spec
                .and_then(|s| s.completions)
                .map_or(parallelism, |c| parallelism.min(c.max(0) as u64));
            let containers = spec
                .and_then(|s| s.template.spec.as_ref())
                .map_or(1, |p| p.containers.len().max(1)) as u64;
            pods.saturating_mul(containers)
        })
        .fold(0, u64::saturating_add);
    // Twice as many slots as guests: a component built with the preview1 adapter has two
    // linear memories, and memories are what a slot holds.
    let runtime = Runtime::new(
        RuntimeConfig {
            cache_dir: options.cache_dir.clone(),
            ..RuntimeConfig::default()
        }
        .for_at_most(concurrent.saturating_mul(2)),
    )?;

    // Every image is compiled before anything starts: a bad module is invalid input.
    let mut base_dirs: HashMap<String, PathBuf> = HashMap::new();
    for l in &loaded {
        let spec = l.job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        for c in spec.into_iter().flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        }) {
            let image_error = |message: String| InputError::Image {
                job: crate::api::job::key(&l.job),
                container: c.name.clone(),
                message,
            };
            let image = parse_image_ref(c.image.as_deref().unwrap_or(""), &l.base_dir)
                .map_err(image_error)?;
            runtime
                .prepare(&image)
                .await
                .map_err(|e| image_error(e.to_string()))?;
        }
        base_dirs.insert(
            l.job.metadata.uid.clone().unwrap_or_default(),
            l.base_dir.clone(),
        );
    }

    let volumes = tempfile::Builder::new()
        .prefix("wasmjob-run-")
        .tempdir()
        .map_err(|e| {
            InputError::Runtime(runtime::Error::Engine(format!("temporary directory: {e}")))
        })?;
    // A single-user tool: any hostPath, but never the module cache (trusted native code) or
    // the other pods' volumes.
    let host_paths = HostPathPolicy::any_but(
        options
            .cache_dir
            .iter()
            .map(|d| real_path_or_given(d))
            .chain([real_path_or_given(volumes.path())])
            .collect(),
    );
    // The Job controller's pods are admitted with the same rules.
    let admission = Arc::new(admit::Policy {
        host_paths: host_paths.clone(),
        images: None,
        bind_to: Some(crate::api::meta::NODE_NAME.into()),
    });
    let mut refusals = Vec::new();
    for l in &loaded {
        let spec = l.job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        for (volume, path, why) in spec.map(|s| host_paths.refused(s)).unwrap_or_default() {
            refusals.push(format!(
                "The Job {:?} is invalid: hostPath volume {volume:?} (path {path:?}) is not allowed: {why}",
                l.job.metadata.name.as_deref().unwrap_or("")
            ));
        }
    }
    if !refusals.is_empty() {
        return Err(InputError::Invalid(refusals.join("\n")));
    }
    let (log_tx, log_rx) = mpsc::unbounded_channel();
    let logs =
        Arc::new(LogStore::new(DEFAULT_LOG_CAP, options.logs.then_some(log_tx)).with_clock(clock));
    let store = Arc::new(Store::ephemeral());
    let resolve: ImageResolver = Arc::new(move |pod: &Pod, image: &str| {
        let owner = crate::api::pod::controller_uid(pod).unwrap_or_default();
        let base = base_dirs
            .get(owner)
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        parse_image_ref(image, &base)
    });
    let kubelet = Kubelet::new(
        store.clone(),
        runtime,
        logs,
        KubeletConfig {
            backoff_base: options.container_backoff_base,
            backoff_max: options.container_backoff_max,
            volumes_dir: volumes.path().to_path_buf(),
            default_memory_limit: options.default_memory_limit,
            host_paths,
            node: crate::kubelet::admission::NodeCapacity::of_this_machine(usize::MAX >> 4),
            default_ephemeral_storage: options.default_ephemeral_storage,
            storage_check_interval: crate::kubelet::STORAGE_CHECK_INTERVAL,
        },
        resolve,
        clock,
    );

    observe(store.clone());
    // What the Jobs' pods read, there before any pod starts.
    for cm in config_maps {
        store
            .create(cm)
            .map_err(|e| InputError::Duplicate(e.to_string()))?;
    }
    for secret in secrets {
        store
            .create(secret)
            .map_err(|e| InputError::Duplicate(e.to_string()))?;
    }
    let order: Vec<String> = loaded
        .iter()
        .map(|l| crate::api::job::key(&l.job))
        .collect();
    for l in loaded {
        store
            .create_job(l.job)
            .map_err(|e| InputError::Duplicate(e.to_string()))?;
    }

    let seen = Arc::new(Mutex::new(Seen::default()));
    let printer = options
        .progress
        .then(|| tokio::spawn(progress(store.clone(), clock, seen.clone())));
    let (logs_done, logs_done_rx) = tokio::sync::oneshot::channel();
    let log_printer = tokio::spawn(print_logs(log_rx, logs_done_rx));
    let (kubelet_stop, kubelet_stopped) = tokio::sync::watch::channel(false);
    let kubelet_task = tokio::spawn(kubelet.clone().run(kubelet_stopped));
    controller::run_until_finished(
        controller::Context::new(store.clone(), admission, clock),
        Settings {
            backoff: options.pod_backoff,
        },
    )
    .await;
    let _ = kubelet_stop.send(true);
    let _ = kubelet_task.await;
    let _ = logs_done.send(());
    let _ = log_printer.await;
    if let Some(p) = printer {
        p.abort();
        print_progress(&store, clock, &mut seen.lock().expect("poisoned"));
    }
    drop(kubelet);

    let jobs: Vec<Job> = order.iter().filter_map(|k| store.job(k)).collect();
    let pods = store.pods_shared();
    let exit_code = if jobs.iter().all(is_complete) { 0 } else { 1 };
    let rendered = render(&jobs, options.format);
    Ok(Outcome {
        jobs,
        pods,
        rendered,
        exit_code,
    })
}

/// Renders Jobs as kubectl does: one object, or a `v1` `List` of several.
pub fn render(jobs: &[Job], format: Format) -> String {
    let value = if jobs.len() == 1 {
        serde_json::to_value(&jobs[0])
    } else {
        serde_json::to_value(serde_json::json!({
            "apiVersion": "v1",
            "items": jobs,
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }))
    }
    .unwrap_or_default();
    match format {
        Format::Json => serde_json::to_string_pretty(&value).unwrap_or_default() + "\n",
        Format::Yaml => serde_yaml_ng::to_string(&value).unwrap_or_default(),
    }
}

/// What the progress printer last reported.
#[derive(Default)]
struct Seen {
    jobs: BTreeMap<String, String>,
    pods: BTreeMap<String, (String, i32, usize)>,
}

async fn progress(store: Arc<Store>, clock: Clock, seen: Arc<Mutex<Seen>>) {
    let mut changes = store.subscribe();
    loop {
        changes.borrow_and_update();
        print_progress(&store, clock, &mut seen.lock().expect("poisoned"));
        // Coalesce bursts of writes into one report.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if changes.changed().await.is_err() {
            return;
        }
    }
}

fn print_progress(store: &Store, clock: Clock, seen: &mut Seen) {
    let mut err = std::io::stderr().lock();
    let now = clock.now();
    let pods = store.pods_shared();
    let present: std::collections::HashSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    seen.pods.retain(|name, _| {
        let kept = present.contains(name.as_str());
        if !kept {
            let _ = writeln!(err, "pod/{name}: deleted");
        }
        kept
    });
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        for line in pod_lines(&pod, seen.pods.get(&name)) {
            let _ = writeln!(err, "pod/{name}: {line}");
        }
        let terminated = terminated_count(&pod);
        seen.pods.insert(
            name,
            (
                podutil::phase(&pod).to_string(),
                podutil::restart_count(&pod),
                terminated,
            ),
        );
    }
    for job in store.jobs() {
        let name = job.metadata.name.clone().unwrap_or_default();
        let line = job_line(&job, now);
        if seen.jobs.get(&name) != Some(&line) {
            let _ = writeln!(err, "job/{name}: {line}");
            seen.jobs.insert(name, line);
        }
    }
}

fn terminated_count(pod: &Pod) -> usize {
    all_statuses(pod)
        .iter()
        .map(|(_, c)| {
            c.restart_count as usize
                + usize::from(c.state.as_ref().is_some_and(|s| s.terminated.is_some()))
        })
        .sum()
}

/// Init containers' statuses (named `init container …` in messages), then the others'.
fn all_statuses(pod: &Pod) -> Vec<(&'static str, ContainerStatus)> {
    let Some(s) = pod.status.as_ref() else {
        return Vec::new();
    };
    let init = s.init_container_statuses.iter().flatten();
    let apps = s.container_statuses.iter().flatten();
    init.map(|c| ("init container", c.clone()))
        .chain(apps.map(|c| ("container", c.clone())))
        .collect()
}

/// Lines about what changed on a pod since it was last seen.
fn pod_lines(pod: &Pod, before: Option<&(String, i32, usize)>) -> Vec<String> {
    let mut lines = Vec::new();
    let phase = podutil::phase(pod);
    let restarts = podutil::restart_count(pod);
    if before.is_none() {
        lines.push("created".to_string());
    }
    let (old_phase, old_restarts, old_terminated) =
        before.cloned().unwrap_or_else(|| ("Pending".into(), 0, 0));
    let statuses = all_statuses(pod);
    if terminated_count(pod) > old_terminated {
        for (kind, c) in &statuses {
            let t = c
                .state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .or_else(|| c.last_state.as_ref().and_then(|s| s.terminated.as_ref()));
            if let Some(t) = t {
                let reason = t.reason.as_deref().unwrap_or("Error");
                let mut line = match (reason, t.exit_code) {
                    ("Completed", _) => format!("{kind} {} completed", c.name),
                    ("OOMKilled", code) => {
                        format!("{kind} {} OOMKilled (exit code {code})", c.name)
                    }
                    (r, code) => format!("{kind} {} failed with exit code {code} ({r})", c.name),
                };
                if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
                    let first = m.lines().next().unwrap_or(m);
                    line.push_str(&format!(": {first}"));
                }
                lines.push(line);
            }
        }
    }
    if restarts > old_restarts {
        lines.push(format!("restarted (restarts: {restarts})"));
    }
    if phase != old_phase && podutil::is_terminal(pod) {
        let mut l = phase.to_string();
        if let Some(r) = pod.status.as_ref().and_then(|s| s.reason.as_deref()) {
            l.push_str(&format!(" ({r})"));
        }
        lines.push(l);
    }
    lines
}

/// `Running 3/10 active=3 failed=0 12s`, in the spirit of `kubectl get jobs`.
fn job_line(job: &Job, now: jiff::Timestamp) -> String {
    let spec = job.spec.clone().unwrap_or_default();
    let st = job.status.clone().unwrap_or_default();
    let state = if is_complete(job) {
        "Complete"
    } else if is_failed(job) {
        "Failed"
    } else if spec.suspend == Some(true) {
        "Suspended"
    } else {
        "Running"
    };
    let completions = spec.completions.map_or_else(
        || format!("{}/1 of 1", st.succeeded.unwrap_or(0)),
        |c| format!("{}/{c}", st.succeeded.unwrap_or(0)),
    );
    let completions = completions.replace("/1 of 1", "/1");
    let mut line = format!(
        "{state} {completions} active={} failed={}",
        st.active.unwrap_or(0),
        st.failed.unwrap_or(0)
    );
    if let Some(start) = &st.start_time {
        let end = st.completion_time.as_ref().map_or(now, |t| t.0);
        let secs = end.duration_since(start.0).as_secs();
        if is_finished(job) {
            line.push_str(&format!(" duration={secs}s"));
        }
    }
    if let Some(c) = st
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Failed" || c.type_ == "FailureTarget") && c.status == "True")
    {
        line.push_str(&format!(
            " reason={} message={:?}",
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ));
    }
    line
}

/// Streams container output to stderr, one prefixed line at a time per pod.
/// Stops when `done` fires, after draining what was sent and flushing unterminated lines.
async fn print_logs(
    mut rx: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    mut done: tokio::sync::oneshot::Receiver<()>,
) {
    let mut partial: HashMap<String, Vec<u8>> = HashMap::new();
    let mut finishing = false;
    loop {
        let next = if finishing {
            rx.try_recv().ok()
        } else {
            tokio::select! {
                m = rx.recv() => m,
                _ = &mut done => { finishing = true; continue; }
            }
        };
        let Some((pod, bytes)) = next else { break };
        let buf = partial.entry(pod.clone()).or_default();
        buf.extend_from_slice(&bytes);
        let mut err = std::io::stderr().lock();
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let _ = write!(err, "[{pod}] {}", String::from_utf8_lossy(&line));
        }
    }
    let mut err = std::io::stderr().lock();
    for (pod, rest) in partial.into_iter().filter(|(_, b)| !b.is_empty()) {
        let _ = writeln!(err, "[{pod}] {}", String::from_utf8_lossy(&rest));
    }
}
