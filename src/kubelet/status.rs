//! Pod status transitions as the kubelet writes them: phases, conditions and container
//! states (`waiting` / `running` / `terminated`, `lastState`, `restartCount`).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{CANNOT_RUN_EXIT_CODE, KILLED_EXIT_CODE};
use crate::runtime::ContainerExit;

/// How a container's run ended, as far as the pod is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TerminatedBy {
    /// The guest ended by itself (exit, trap, OOM) or could not start.
    Exit,
    /// The pod was deleted.
    Killed,
    /// The pod's activeDeadlineSeconds passed.
    Deadline,
}

/// A terminated container state in the making.
#[derive(Clone, Debug)]
pub(super) struct Terminated {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub by: TerminatedBy,
}

impl Terminated {
    pub fn from_exit(exit: &ContainerExit) -> Self {
        Terminated {
            exit_code: exit.exit_code,
            reason: exit.reason.as_str().into(),
            message: exit.message.clone(),
            by: TerminatedBy::Exit,
        }
    }

    pub fn killed(deadline: bool) -> Self {
        Terminated {
            exit_code: KILLED_EXIT_CODE,
            reason: "Error".into(),
            message: None,
            by: if deadline {
                TerminatedBy::Deadline
            } else {
                TerminatedBy::Killed
            },
        }
    }

    pub fn cannot_run(mut self) -> Self {
        self.reason = "ContainerCannotRun".into();
        self
    }
}

fn status(p: &mut Pod) -> &mut PodStatus {
    p.status.get_or_insert_with(Default::default)
}

fn set_condition(
    s: &mut PodStatus,
    type_: &str,
    value: bool,
    reason: Option<&str>,
    now: Timestamp,
) {
    let conditions = s.conditions.get_or_insert_with(Vec::new);
    let value = if value { "True" } else { "False" };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) if c.status == value => {
            // Same status, new reason (ContainersNotReady → PodCompleted): no transition.
            if reason.is_some() && c.reason.as_deref() != reason {
                c.reason = reason.map(Into::into);
            }
        }
        Some(c) => {
            c.status = value.into();
            c.reason = reason.map(Into::into);
            c.message = None;
            c.last_transition_time = Some(Time(now));
        }
        None => conditions.push(PodCondition {
            type_: type_.into(),
            status: value.into(),
            reason: reason.map(Into::into),
            last_transition_time: Some(Time(now)),
            ..Default::default()
        }),
    }
}

fn waiting(reason: &str, message: Option<&str>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: message.map(Into::into),
        }),
        ..Default::default()
    }
}

/// The pod was picked up by the node: scheduled, addresses, containers being created.
pub(super) fn started(p: &mut Pod, now: Timestamp) {
    let no_spec = Default::default();
    let spec = p.spec.as_ref().unwrap_or(&no_spec);
    let has_init = spec.init_containers.as_ref().is_some_and(|v| !v.is_empty());
    let app_wait = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let container_statuses: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| fresh_status(&c.name, c.image.as_deref(), app_wait))
        .collect();
    let init_statuses: Option<Vec<ContainerStatus>> = has_init.then(|| {
        spec.init_containers
            .iter()
            .flatten()
            .map(|c| fresh_status(&c.name, c.image.as_deref(), "PodInitializing"))
            .collect()
    });
    if let Some(spec) = p.spec.as_mut() {
        spec.node_name
            .get_or_insert_with(|| crate::api::meta::NODE_NAME.into());
    }
    let s = status(p);
    s.phase = Some("Pending".into());
    s.start_time = Some(Time(now));
    s.host_ip = Some("127.0.0.1".into());
    s.pod_ip = Some("127.0.0.1".into());
    s.pod_ips = Some(vec![PodIP {
        ip: "127.0.0.1".into(),
    }]);
    set_condition(s, "PodReadyToStartContainers", true, None, now);
    set_condition(
        s,
        "Initialized",
        !has_init,
        has_init.then_some("ContainersNotInitialized"),
        now,
    );
    set_condition(s, "Ready", false, Some("ContainersNotReady"), now);
    set_condition(s, "ContainersReady", false, Some("ContainersNotReady"), now);
    set_condition(s, "PodScheduled", true, None, now);
    s.container_statuses = Some(container_statuses);
    if init_statuses.is_some() {
        s.init_container_statuses = init_statuses;
    }
}

fn fresh_status(name: &str, image: Option<&str>, reason: &str) -> ContainerStatus {
    ContainerStatus {
        name: name.into(),
        image: image.unwrap_or_default().into(),
        image_id: String::new(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        state: Some(waiting(reason, None)),
        ..Default::default()
    }
}

fn container<'a>(s: &'a mut PodStatus, name: &str, init: bool) -> Option<&'a mut ContainerStatus> {
    let list = if init {
        s.init_container_statuses.as_mut()
    } else {
        s.container_statuses.as_mut()
    };
    list?.iter_mut().find(|c| c.name == name)
}

/// A container (re)started.
pub(super) fn container_running(
    p: &mut Pod,
    name: &str,
    init: bool,
    restarts: i32,
    at: Timestamp,
    image_id: &str,
) {
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let s = status(p);
    if let Some(c) = container(s, name, init) {
        c.state = Some(ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(Time(at)),
            }),
            ..Default::default()
        });
        c.restart_count = restarts;
        c.started = Some(true);
        c.image_id = image_id.into();
        c.ready = !init;
        c.container_id = Some(format!("wasmtime://{uid}/{name}/{restarts}"));
    }
    if !init {
        set_condition(s, "Initialized", true, None, at);
        let all_running = s
            .container_statuses
            .iter()
            .flatten()
            .all(|c| c.state.as_ref().is_some_and(|st| st.running.is_some()));
        s.phase = Some("Running".into());
        if all_running {
            set_condition(s, "ContainersReady", true, None, at);
            set_condition(s, "Ready", true, None, at);
        }
    }
}

/// A container's run ended.
pub(super) fn container_terminated(
    p: &mut Pod,
    name: &str,
    init: bool,
    t: &Terminated,
    started_at: Timestamp,
    now: Timestamp,
) {
    let s = status(p);
    if let Some(c) = container(s, name, init) {
        c.state = Some(terminated_state(
            t,
            Some(started_at),
            now,
            c.container_id.clone(),
        ));
        c.ready = false;
        c.started = Some(false);
    }
    set_condition(s, "ContainersReady", false, Some("ContainersNotReady"), now);
    set_condition(s, "Ready", false, Some("ContainersNotReady"), now);
}

fn terminated_state(
    t: &Terminated,
    started_at: Option<Timestamp>,
    now: Timestamp,
    container_id: Option<String>,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: t.exit_code,
            reason: Some(t.reason.clone()),
            message: t.message.clone(),
            started_at: started_at.map(Time),
            finished_at: Some(Time(now)),
            container_id,
            signal: None,
        }),
        ..Default::default()
    }
}

/// A container waits (image pull errors): the pod stays Pending.
pub(super) fn container_waiting(p: &mut Pod, name: &str, init: bool, reason: &str, message: &str) {
    let s = status(p);
    if let Some(c) = container(s, name, init) {
        c.state = Some(waiting(reason, Some(message)));
        c.ready = false;
    }
}

/// A failed container restarts at once: its termination moves to `lastState`.
pub(super) fn container_restarting(p: &mut Pod, name: &str, init: bool) {
    let s = status(p);
    if let Some(c) = container(s, name, init) {
        c.last_state = c.state.take();
        c.state = Some(waiting("ContainerCreating", None));
    }
}

/// A failed container waits before its restart: its termination moves to `lastState`.
pub(super) fn container_crash_loop(p: &mut Pod, name: &str, init: bool, message: &str) {
    let s = status(p);
    if let Some(c) = container(s, name, init) {
        c.last_state = c.state.take();
        c.state = Some(waiting("CrashLoopBackOff", Some(message)));
    }
}

/// All containers are done (or were stopped): the pod's terminal phase.
pub(super) fn finish(p: &mut Pod, by: TerminatedBy, now: Timestamp) {
    let s = status(p);
    let kill = Terminated::killed(by == TerminatedBy::Deadline);
    for c in s
        .container_statuses
        .iter_mut()
        .flatten()
        .chain(s.init_container_statuses.iter_mut().flatten())
    {
        let done = c.state.as_ref().is_some_and(|st| st.terminated.is_some());
        let initializing = c.state.as_ref().is_some_and(|st| {
            st.waiting
                .as_ref()
                .is_some_and(|w| w.reason.as_deref() == Some("PodInitializing"))
        });
        // Never started because an init container did not complete: upstream leaves such a
        // container `waiting: PodInitializing` (it never ran, so it has no exit code that
        // a podFailurePolicy rule could match).
        if !done && !initializing {
            // Stopped while waiting (crash-loop back-off) or never started.
            if c.state.as_ref().is_some_and(|st| {
                st.waiting
                    .as_ref()
                    .is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
            }) {
                // The last run's termination stays the visible state, like a real node.
                c.state = c.last_state.take();
            } else {
                c.state = Some(terminated_state(&kill, None, now, c.container_id.clone()));
            }
            c.ready = false;
        }
    }
    let all_ok = s.container_statuses.iter().flatten().all(|c| {
        // (A container still waiting never succeeded: the pod fails.)
        c.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0)
    });
    s.phase = Some(
        if all_ok && by == TerminatedBy::Exit {
            "Succeeded"
        } else {
            "Failed"
        }
        .into(),
    );
    if by == TerminatedBy::Deadline {
        s.reason = Some("DeadlineExceeded".into());
        s.message = Some("Pod was active on the node longer than the specified deadline".into());
    }
    set_condition(s, "PodReadyToStartContainers", false, None, now);
    set_condition(s, "ContainersReady", false, Some("PodCompleted"), now);
    set_condition(s, "Ready", false, Some("PodCompleted"), now);
}

/// The kubelet evicts the pod (its containers are being killed): upstream's `evictPod`
/// status, reason `Evicted` and a `DisruptionTarget` condition carrying the same message.
pub(super) fn evicted(p: &mut Pod, message: &str, now: Timestamp) {
    let s = status(p);
    s.reason = Some(super::eviction::REASON.into());
    s.message = Some(message.into());
    replace_condition(
        s,
        "DisruptionTarget",
        "True",
        "TerminationByKubelet",
        message,
        now,
    );
}

/// The node's admission rejected the pod (it can never fit): Failed with upstream's
/// `status.reason` and message, no container ever created.
pub(super) fn rejected(p: &mut Pod, reason: &str, message: &str, now: Timestamp) {
    let s = status(p);
    s.phase = Some("Failed".into());
    s.reason = Some(reason.into());
    s.message = Some(message.into());
    s.start_time.get_or_insert(Time(now));
}

/// The pod waits for room on the node, as an unschedulable pod waits for the scheduler.
pub(super) fn unschedulable(p: &mut Pod, message: &str, now: Timestamp) {
    let s = status(p);
    s.phase = Some("Pending".into());
    replace_condition(s, "PodScheduled", "False", "Unschedulable", message, now);
}

/// Sets condition `type_` afresh (a new transition), dropping the one it replaces.
fn replace_condition(
    s: &mut PodStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let conditions = s.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|c| c.type_ != type_);
    conditions.push(PodCondition {
        type_: type_.into(),
        status: value.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: None,
        last_transition_time: Some(Time(now)),
        ..Default::default()
    });
}

/// The pod cannot run at all (a volume failed to mount): every container fails.
pub(super) fn cannot_run_all(p: &mut Pod, message: &str, now: Timestamp) {
    let t = Terminated {
        exit_code: CANNOT_RUN_EXIT_CODE,
        reason: "ContainerCannotRun".into(),
        message: Some(message.into()),
        by: TerminatedBy::Exit,
    };
    let s = status(p);
    for c in s
        .container_statuses
        .iter_mut()
        .flatten()
        .chain(s.init_container_statuses.iter_mut().flatten())
    {
        c.state = Some(terminated_state(&t, None, now, None));
    }
    finish(p, TerminatedBy::Exit, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn pod(init: &[&str], containers: &[&str]) -> Pod {
        let c = |n: &&str| Container {
            name: n.to_string(),
            image: Some(format!("{n}.wasm")),
            ..Default::default()
        };
        let mut p = Pod {
            spec: Some(PodSpec {
                init_containers: (!init.is_empty()).then(|| init.iter().map(c).collect()),
                containers: containers.iter().map(c).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        p.metadata.uid = Some("u".into());
        p
    }

    fn exit(code: i32) -> Terminated {
        Terminated::from_exit(&ContainerExit::exited(code))
    }

    fn state(s: Option<&ContainerState>) -> String {
        match s {
            None => "-".into(),
            Some(ContainerState {
                running: Some(_), ..
            }) => "running".into(),
            Some(ContainerState {
                terminated: Some(t),
                ..
            }) => format!(
                "terminated {} {}",
                t.exit_code,
                t.reason.as_deref().unwrap_or("")
            ),
            Some(ContainerState {
                waiting: Some(w), ..
            }) => format!("waiting {}", w.reason.as_deref().unwrap_or("")),
            Some(_) => "empty".into(),
        }
    }

    /// The pod's status in one line: phase, reason, conditions, then each container as
    /// `name=state[/lastState] rRESTARTS`.
    fn summary(p: &Pod) -> String {
        let s = p.status.as_ref().expect("a status");
        let mut out = vec![s.phase.clone().unwrap_or_default()];
        if let Some(r) = &s.reason {
            out.push(format!("reason={r}"));
        }
        let mut conditions: Vec<String> = s
            .conditions
            .iter()
            .flatten()
            .map(|c| {
                let short = match c.type_.as_str() {
                    "PodReadyToStartContainers" => "ToStart",
                    "ContainersReady" => "CReady",
                    other => other,
                };
                match &c.reason {
                    Some(r) => format!("{short}={}({r})", c.status),
                    None => format!("{short}={}", c.status),
                }
            })
            .collect();
        conditions.sort();
        out.push(conditions.join(","));
        for c in s
            .init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
        {
            let last = match &c.last_state {
                Some(l) => format!("/{}", state(Some(l))),
                None => String::new(),
            };
            out.push(format!(
                "{}={}{last} r{}",
                c.name,
                state(c.state.as_ref()),
                c.restart_count
            ));
        }
        out.join(" | ")
    }

    type Step = Box<dyn Fn(&mut Pod)>;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn each_status_write_leaves_the_pod_as_a_kubelet_reports_it() {
        let up = || -> Step { Box::new(|p| started(p, at(0))) };
        let run = |name: &'static str, restarts: i32| -> Step {
            Box::new(move |p| container_running(p, name, false, restarts, at(1), ""))
        };
        let run_init = |name: &'static str| -> Step {
            Box::new(move |p| container_running(p, name, true, 0, at(1), ""))
        };
        let end = |name: &'static str, init: bool, code: i32| -> Step {
            Box::new(move |p| container_terminated(p, name, init, &exit(code), at(1), at(2)))
        };
        let finish_by = |by: TerminatedBy| -> Step { Box::new(move |p| finish(p, by, at(3))) };
        let pulling: Step = Box::new(|p| container_waiting(p, "a", false, "ErrImagePull", "m"));
        let restarting: Step = Box::new(|p| container_restarting(p, "a", false));
        let crash_loop: Step = Box::new(|p| container_crash_loop(p, "a", false, "back-off"));
        let one = || pod(&[], &["a"]);
        let pending = "ContainersNotReady";
        #[rustfmt::skip]
        let table: Vec<(&str, Pod, Vec<Step>, String)> = vec![
            ("picked up", one(), vec![up()],
             format!("Pending | CReady=False({pending}),Initialized=True,PodScheduled=True,Ready=False({pending}),ToStart=True | a=waiting ContainerCreating r0")),
            ("running", one(), vec![up(), run("a", 0)],
             "Running | CReady=True,Initialized=True,PodScheduled=True,Ready=True,ToStart=True | a=running r0".into()),
            ("succeeded", one(), vec![up(), run("a", 0), end("a", false, 0), finish_by(TerminatedBy::Exit)],
             "Succeeded | CReady=False(PodCompleted),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 0 Completed r0".into()),
            ("failed", one(), vec![up(), run("a", 0), end("a", false, 3), finish_by(TerminatedBy::Exit)],
             "Failed | CReady=False(PodCompleted),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 3 Error r0".into()),
            ("a zero exit of a deleted pod still fails it", one(), vec![up(), run("a", 0), end("a", false, 0), finish_by(TerminatedBy::Killed)],
             "Failed | CReady=False(PodCompleted),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 0 Completed r0".into()),
            ("past its deadline before running", one(), vec![up(), finish_by(TerminatedBy::Deadline)],
             "Failed | reason=DeadlineExceeded | CReady=False(PodCompleted),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 137 Error r0".into()),
            ("an image that cannot be pulled keeps the pod pending", one(), vec![up(), pulling],
             format!("Pending | CReady=False({pending}),Initialized=True,PodScheduled=True,Ready=False({pending}),ToStart=True | a=waiting ErrImagePull r0")),
            ("restart: the end moves to lastState, the count goes up", one(),
             vec![up(), run("a", 0), end("a", false, 1), restarting, run("a", 1)],
             "Running | CReady=True,Initialized=True,PodScheduled=True,Ready=True,ToStart=True | a=running/terminated 1 Error r1".into()),
            ("killed in crash-loop back-off: the last run's end stays visible", one(),
             vec![up(), run("a", 1), end("a", false, 1), crash_loop, finish_by(TerminatedBy::Killed)],
             "Failed | CReady=False(PodCompleted),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 1 Error r1".into()),
            ("two containers: ready only when both run", pod(&[], &["a", "b"]), vec![up(), run("a", 0)],
             format!("Running | CReady=False({pending}),Initialized=True,PodScheduled=True,Ready=False({pending}),ToStart=True | a=running r0 | b=waiting ContainerCreating r0")),
            ("two containers, both running", pod(&[], &["a", "b"]), vec![up(), run("a", 0), run("b", 0)],
             "Running | CReady=True,Initialized=True,PodScheduled=True,Ready=True,ToStart=True | a=running r0 | b=running r0".into()),
            ("init containers first", pod(&["i"], &["a"]), vec![up(), run_init("i")],
             format!("Pending | CReady=False({pending}),Initialized=False(ContainersNotInitialized),PodScheduled=True,Ready=False({pending}),ToStart=True | i=running r0 | a=waiting PodInitializing r0")),
            ("a failed init container leaves the app container initializing", pod(&["i"], &["a"]),
             vec![up(), run_init("i"), end("i", true, 1), finish_by(TerminatedBy::Exit)],
             "Failed | CReady=False(PodCompleted),Initialized=False(ContainersNotInitialized),PodScheduled=True,Ready=False(PodCompleted),ToStart=False | i=terminated 1 Error r0 | a=waiting PodInitializing r0".into()),
            ("init done, app running", pod(&["i"], &["a"]),
             vec![up(), run_init("i"), end("i", true, 0), run("a", 0)],
             "Running | CReady=True,Initialized=True,PodScheduled=True,Ready=True,ToStart=True | i=terminated 0 Completed r0 | a=running r0".into()),
            ("a volume that cannot be mounted fails every container", pod(&["i"], &["a"]),
             vec![up(), Box::new(|p| cannot_run_all(p, "MountVolume.SetUp failed", at(1)))],
             "Failed | CReady=False(PodCompleted),Initialized=False(ContainersNotInitialized),PodScheduled=True,Ready=False(PodCompleted),ToStart=False | i=terminated 128 ContainerCannotRun r0 | a=terminated 128 ContainerCannotRun r0".into()),
            ("rejected by the node", one(), vec![Box::new(|p| rejected(p, "OutOfmemory", "Pod was rejected", at(0)))],
             "Failed | reason=OutOfmemory | ".into()),
            ("waiting for room on the node", one(), vec![Box::new(|p| unschedulable(p, "Too many pods", at(0)))],
             "Pending | PodScheduled=False(Unschedulable)".into()),
            ("evicted", one(), vec![up(), run("a", 0), Box::new(|p| evicted(p, "over its limit", at(1))), end("a", false, 137), finish_by(TerminatedBy::Killed)],
             "Failed | reason=Evicted | CReady=False(PodCompleted),DisruptionTarget=True(TerminationByKubelet),Initialized=True,PodScheduled=True,Ready=False(PodCompleted),ToStart=False | a=terminated 137 Error r0".into()),
        ];
        for (name, mut p, steps, want) in table {
            for step in &steps {
                step(&mut p);
            }
            assert_eq!(summary(&p), want, "{name}");
        }
    }

    #[test]
    fn conditions_keep_their_transition_time_while_their_status_holds() {
        let mut p = pod(&[], &["a"]);
        started(&mut p, at(0));
        container_running(&mut p, "a", false, 0, at(5), "a.wasm@sha256:00");
        container_terminated(&mut p, "a", false, &exit(0), at(5), at(9));
        finish(&mut p, TerminatedBy::Exit, at(10));
        let time = |t: &str| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == t))
                .and_then(|c| c.last_transition_time.clone())
                .map(|t| t.0)
        };
        // Ready went False → True (5) → False (9); PodCompleted at 10 is the same status.
        assert_eq!(time("Ready"), Some(at(9)));
        assert_eq!(time("PodScheduled"), Some(at(0)));
        assert_eq!(time("PodReadyToStartContainers"), Some(at(10)));
        let c = &p
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()[0];
        assert_eq!(c.container_id.as_deref(), Some("wasmtime://u/a/0"));
        assert_eq!(c.image_id, "a.wasm@sha256:00");
        let t = c.state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(t.started_at.as_ref().map(|t| t.0), Some(at(5)));
        assert_eq!(t.finished_at.as_ref().map(|t| t.0), Some(at(9)));
    }
}
