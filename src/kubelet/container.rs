//! The life of one container as the kubelet drives it: image pull and its back-off, start,
//! exit, the restart under `OnFailure` with the crash-loop back-off, and the kill. A pure
//! state machine, [`next`]: the kubelet's async loop does what each step says (pull, start,
//! wait, write this status) and feeds back what happened.

use std::time::Duration;

use tokio::time::Instant;

/// A container that ran this long before failing starts its back-off again from the base,
/// as the kubelet forgets a back-off entry that has not been hit for a while.
pub(super) const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// The kubelet's back-off delays (crash loop and image pull share them, as upstream's
/// defaults do: 10 s doubling to 5 min).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    fn double(&self, d: Duration) -> Duration {
        (d * 2).min(self.max)
    }
}

/// Where a container is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Its module is being fetched and checked (and, after a failure, waits to retry).
    Pulling,
    /// The module is there; it waits for a runtime slot and starts.
    Starting,
    /// Its guest runs.
    Running,
    /// It failed and waits out the crash-loop back-off before restarting.
    BackingOff,
    /// It is done: ended for good or killed.
    Terminated,
}

/// What the kubelet knows about one container between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ContainerState {
    pub phase: Phase,
    /// `restartCount` as the status shows it.
    pub restarts: i32,
    /// The next crash-loop delay.
    crash_delay: Duration,
    /// Whether the restart without delay (the first one) is used.
    restarted_once: bool,
    /// The next image-pull delay.
    pull_delay: Duration,
    /// Failed pulls in a row.
    pulls_failed: u32,
    /// When the current run started.
    started: Option<Instant>,
}

impl ContainerState {
    /// A container not yet pulled.
    pub fn new(backoff: &Backoff) -> Self {
        ContainerState {
            phase: Phase::Pulling,
            restarts: 0,
            crash_delay: backoff.base,
            restarted_once: false,
            pull_delay: backoff.base,
            pulls_failed: 0,
            started: None,
        }
    }

    /// What the kubelet does next in this state, with nothing new having happened.
    fn waiting(&self) -> Wait {
        match self.phase {
            Phase::Pulling | Phase::Starting => Wait::Now,
            Phase::Running => Wait::Exit,
            Phase::BackingOff => Wait::For(self.crash_delay),
            Phase::Terminated => Wait::Done,
        }
    }
}

/// What happened to the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// Its module is present and matches its pin.
    Pulled,
    /// Its module is missing or does not match its pin.
    PullFailed,
    /// Its environment names a ConfigMap, Secret or key that is missing
    /// (`CreateContainerConfigError`): it waits, then tries to start again.
    ConfigFailed,
    /// Its guest began running.
    Started,
    /// Its run ended by itself (exit, trap, OOM) or it could not start; `failed`: a
    /// non-zero exit code.
    Exited { failed: bool },
    /// Its pod is being stopped (deleted, past its deadline, evicted).
    Killed,
    /// The wait the last step asked for is over.
    WaitOver,
}

/// After a container ended, what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// Nothing: this is its final state.
    Final,
    /// It restarts at once (the first restart).
    Restart,
    /// It waits this long, `CrashLoopBackOff`, then restarts.
    CrashLoopBackOff(Duration),
}

/// The status (and Events) the kubelet writes for a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StatusChange {
    None,
    /// `ErrImagePull`, then `ImagePullBackOff`; `first`: the first failure in a row (the
    /// `Pulling` Event is said once).
    ImagePullBackOff {
        first: bool,
    },
    /// Waiting, `CreateContainerConfigError` (with a `Failed` Event).
    CreateContainerConfigError,
    /// Running, with its restart count.
    Running {
        restarts: i32,
    },
    /// Terminated, and what follows.
    Terminated {
        then: Then,
    },
    /// Killed; `running`: its guest was running (so it has a terminated state to show).
    Killed {
        running: bool,
    },
}

/// What the kubelet waits for before the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    /// Nothing: pull (in `Pulling`) or start (in `Starting`) now.
    Now,
    /// This long (or a kill).
    For(Duration),
    /// The guest's end (or a kill).
    Exit,
    /// Nothing more: the container is done.
    Done,
}

/// The container's next state after `event`, the status to write, and what to wait for.
/// `restart_on_failure`: the pod's `restartPolicy` is `OnFailure`. An event that means
/// nothing in the current phase changes nothing.
pub(super) fn next(
    state: ContainerState,
    event: Event,
    restart_on_failure: bool,
    backoff: &Backoff,
    now: Instant,
) -> (ContainerState, StatusChange, Wait) {
    let mut s = state;
    let ignored = (state, StatusChange::None, state.waiting());
    match (state.phase, event) {
        (Phase::Terminated, _) => ignored,
        (phase, Event::Killed) => {
            s.phase = Phase::Terminated;
            let running = phase == Phase::Running;
            (s, StatusChange::Killed { running }, Wait::Done)
        }
        (Phase::Pulling, Event::Pulled) => {
            s.phase = Phase::Starting;
            s.pull_delay = backoff.base;
            s.pulls_failed = 0;
            (s, StatusChange::None, Wait::Now)
        }
        (Phase::Pulling, Event::PullFailed) => {
            let delay = s.pull_delay;
            s.pull_delay = backoff.double(delay);
            let first = s.pulls_failed == 0;
            s.pulls_failed = s.pulls_failed.saturating_add(1);
            (
                s,
                StatusChange::ImagePullBackOff { first },
                Wait::For(delay),
            )
        }
        (Phase::Pulling, Event::WaitOver) => (s, StatusChange::None, Wait::Now),
        // Upstream's pod worker retries a failed sync after its fixed back-off period (10 s,
        // the kubelet's back-off base), not a growing one.
        (Phase::Starting, Event::ConfigFailed) => (
            s,
            StatusChange::CreateContainerConfigError,
            Wait::For(backoff.base),
        ),
        (Phase::Starting, Event::WaitOver) => (s, StatusChange::None, Wait::Now),
        (Phase::Starting, Event::Started) => {
            s.phase = Phase::Running;
            s.started = Some(now);
            let restarts = s.restarts;
            (s, StatusChange::Running { restarts }, Wait::Exit)
        }
        (Phase::Starting | Phase::Running, Event::Exited { failed }) => {
            let ran = s.started.take().map(|t| now.saturating_duration_since(t));
            if !(restart_on_failure && failed) {
                s.phase = Phase::Terminated;
                let change = StatusChange::Terminated { then: Then::Final };
                return (s, change, Wait::Done);
            }
            if ran.is_some_and(|r| r >= BACKOFF_RESET) {
                s.crash_delay = backoff.base;
                s.restarted_once = false;
            }
            if !s.restarted_once {
                s.restarted_once = true;
                s.restarts = s.restarts.saturating_add(1);
                s.phase = Phase::Pulling;
                let change = StatusChange::Terminated {
                    then: Then::Restart,
                };
                return (s, change, Wait::Now);
            }
            s.phase = Phase::BackingOff;
            let delay = s.crash_delay;
            let change = StatusChange::Terminated {
                then: Then::CrashLoopBackOff(delay),
            };
            (s, change, Wait::For(delay))
        }
        (Phase::BackingOff, Event::WaitOver) => {
            s.crash_delay = backoff.double(s.crash_delay);
            s.restarts = s.restarts.saturating_add(1);
            s.phase = Phase::Pulling;
            (s, StatusChange::None, Wait::Now)
        }
        _ => ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(40),
    };

    fn at(state: ContainerState, phase: Phase) -> ContainerState {
        ContainerState { phase, ..state }
    }

    /// Feeds `events` one by one, `step` apart, returning every step's change and wait.
    fn drive(
        events: &[Event],
        on_failure: bool,
        step: Duration,
    ) -> (ContainerState, Vec<(StatusChange, Wait)>) {
        let mut now = Instant::now();
        let mut s = ContainerState::new(&B);
        let mut out = Vec::new();
        for &e in events {
            let (n, change, wait) = next(s, e, on_failure, &B, now);
            s = n;
            out.push((change, wait));
            now += step;
        }
        (s, out)
    }

    #[test]
    fn each_phase_answers_each_event() {
        use Event::*;
        use Phase::*;
        let now = Instant::now();
        let fresh = ContainerState::new(&B);
        let running = ContainerState {
            phase: Running,
            started: Some(now),
            ..fresh
        };
        let backing_off = ContainerState {
            phase: BackingOff,
            restarted_once: true,
            restarts: 1,
            ..fresh
        };
        let ten = Duration::from_secs(10);
        // (phase, event, on_failure) → (next phase, change, wait)
        #[rustfmt::skip]
        let table: Vec<(ContainerState, Event, bool, Phase, StatusChange, Wait)> = vec![
            (fresh, Pulled, false, Starting, StatusChange::None, Wait::Now),
            (fresh, PullFailed, false, Pulling, StatusChange::ImagePullBackOff { first: true }, Wait::For(ten)),
            (fresh, WaitOver, false, Pulling, StatusChange::None, Wait::Now),
            (fresh, Killed, false, Terminated, StatusChange::Killed { running: false }, Wait::Done),
            (fresh, Started, false, Pulling, StatusChange::None, Wait::Now),
            (fresh, Exited { failed: true }, true, Pulling, StatusChange::None, Wait::Now),
            (at(fresh, Starting), Started, false, Running, StatusChange::Running { restarts: 0 }, Wait::Exit),
            // Could not start (no runtime slot error, bad env …): an exit without a run.
            (at(fresh, Starting), Exited { failed: true }, false, Terminated, StatusChange::Terminated { then: Then::Final }, Wait::Done),
            (at(fresh, Starting), Exited { failed: true }, true, Pulling, StatusChange::Terminated { then: Then::Restart }, Wait::Now),
            (at(fresh, Starting), Killed, false, Terminated, StatusChange::Killed { running: false }, Wait::Done),
            (at(fresh, Starting), Pulled, false, Starting, StatusChange::None, Wait::Now),
            (at(fresh, Starting), ConfigFailed, true, Starting, StatusChange::CreateContainerConfigError, Wait::For(ten)),
            (at(fresh, Starting), WaitOver, false, Starting, StatusChange::None, Wait::Now),
            (fresh, ConfigFailed, false, Pulling, StatusChange::None, Wait::Now),
            (running, ConfigFailed, false, Running, StatusChange::None, Wait::Exit),
            (running, Exited { failed: false }, true, Terminated, StatusChange::Terminated { then: Then::Final }, Wait::Done),
            (running, Exited { failed: true }, false, Terminated, StatusChange::Terminated { then: Then::Final }, Wait::Done),
            (running, Exited { failed: true }, true, Pulling, StatusChange::Terminated { then: Then::Restart }, Wait::Now),
            (running, Killed, true, Terminated, StatusChange::Killed { running: true }, Wait::Done),
            (running, WaitOver, true, Running, StatusChange::None, Wait::Exit),
            (running, Started, true, Running, StatusChange::None, Wait::Exit),
            (backing_off, WaitOver, true, Pulling, StatusChange::None, Wait::Now),
            (backing_off, Killed, true, Terminated, StatusChange::Killed { running: false }, Wait::Done),
            (backing_off, Pulled, true, BackingOff, StatusChange::None, Wait::For(ten)),
            (at(fresh, Terminated), WaitOver, true, Terminated, StatusChange::None, Wait::Done),
            (at(fresh, Terminated), Killed, true, Terminated, StatusChange::None, Wait::Done),
            (at(fresh, Terminated), Started, true, Terminated, StatusChange::None, Wait::Done),
        ];
        for (i, (state, event, on_failure, phase, change, wait)) in table.into_iter().enumerate() {
            let (s, c, w) = next(state, event, on_failure, &B, now);
            assert_eq!(
                (s.phase, c, w),
                (phase, change, wait),
                "row {i}: {:?} + {event:?}",
                state.phase
            );
        }
    }

    #[test]
    fn a_crash_loop_restarts_once_at_once_then_doubles_its_delay_up_to_the_cap() {
        use Event::*;
        let crash = [Pulled, Started, Exited { failed: true }];
        let mut events = Vec::new();
        for _ in 0..5 {
            events.extend(crash);
            events.push(WaitOver); // ignored after the free restart (it waits Now)
        }
        let (s, out) = drive(&events, true, Duration::from_secs(1));
        let ends: Vec<Then> = out
            .iter()
            .filter_map(|(c, _)| match c {
                StatusChange::Terminated { then } => Some(*then),
                _ => None,
            })
            .collect();
        let secs = |n| Then::CrashLoopBackOff(Duration::from_secs(n));
        assert_eq!(
            ends,
            vec![Then::Restart, secs(10), secs(20), secs(40), secs(40)]
        );
        let restarts: Vec<i32> = out
            .iter()
            .filter_map(|(c, _)| match c {
                StatusChange::Running { restarts } => Some(*restarts),
                _ => None,
            })
            .collect();
        assert_eq!(restarts, vec![0, 1, 2, 3, 4]);
        assert_eq!(s.phase, Phase::Pulling);
        assert_eq!(s.restarts, 5);
    }

    #[test]
    fn a_long_run_starts_the_back_off_again() {
        use Event::*;
        let now = Instant::now();
        let mut s = ContainerState {
            phase: Phase::Starting,
            restarted_once: true,
            crash_delay: B.max,
            restarts: 7,
            ..ContainerState::new(&B)
        };
        (s, _, _) = next(s, Started, true, &B, now);
        let (s, change, wait) = next(s, Exited { failed: true }, true, &B, now + BACKOFF_RESET);
        assert_eq!(
            change,
            StatusChange::Terminated {
                then: Then::Restart
            }
        );
        assert_eq!(wait, Wait::Now);
        assert_eq!(s.restarts, 8);
        // A short run keeps the back-off where it is.
        let mut short = ContainerState {
            phase: Phase::Starting,
            restarted_once: true,
            crash_delay: B.max,
            ..ContainerState::new(&B)
        };
        (short, _, _) = next(short, Started, true, &B, now);
        let (_, change, _) = next(short, Exited { failed: true }, true, &B, now + B.base);
        assert_eq!(
            change,
            StatusChange::Terminated {
                then: Then::CrashLoopBackOff(B.max)
            }
        );
    }

    #[test]
    fn image_pull_back_off_doubles_and_a_pull_resets_it() {
        use Event::*;
        let events = [PullFailed, WaitOver, PullFailed, WaitOver, PullFailed];
        let (s, out) = drive(&events, false, Duration::ZERO);
        let waits: Vec<Wait> = out.iter().map(|(_, w)| *w).collect();
        let secs = |n| Wait::For(Duration::from_secs(n));
        assert_eq!(
            waits,
            vec![secs(10), Wait::Now, secs(20), Wait::Now, secs(40)]
        );
        assert_eq!(out[0].0, StatusChange::ImagePullBackOff { first: true });
        assert_eq!(out[2].0, StatusChange::ImagePullBackOff { first: false });
        let (s, _, _) = next(s, WaitOver, false, &B, Instant::now());
        let (s, _, _) = next(s, Pulled, false, &B, Instant::now());
        assert_eq!(s.phase, Phase::Starting);
        let s = at(s, Phase::Pulling);
        let (_, change, wait) = next(s, PullFailed, false, &B, Instant::now());
        assert_eq!(change, StatusChange::ImagePullBackOff { first: true });
        assert_eq!(wait, secs(10));
    }

    proptest::proptest! {
        /// Whatever happens, a container ends only through a final termination or a kill,
        /// says Done exactly then, never waits longer than the cap, and its restart count
        /// never goes down.
        #[test]
        fn any_history_keeps_the_invariants(
            events in proptest::collection::vec(0u8..7, 0..60),
            on_failure: bool,
            step_secs in 0u64..1000,
        ) {
            let mut now = Instant::now();
            let mut s = ContainerState::new(&B);
            for e in events {
                let event = match e {
                    0 => Event::Pulled,
                    1 => Event::PullFailed,
                    2 => Event::Started,
                    3 => Event::Exited { failed: false },
                    4 => Event::Exited { failed: true },
                    5 => Event::Killed,
                    _ => Event::WaitOver,
                };
                let (n, change, wait) = next(s, event, on_failure, &B, now);
                proptest::prop_assert!(n.restarts >= s.restarts);
                let ends = matches!(
                    change,
                    StatusChange::Killed { .. } | StatusChange::Terminated { then: Then::Final }
                );
                proptest::prop_assert_eq!(ends, n.phase == Phase::Terminated && s.phase != Phase::Terminated);
                proptest::prop_assert_eq!(wait == Wait::Done, n.phase == Phase::Terminated);
                if let Wait::For(d) = wait {
                    proptest::prop_assert!(d >= B.base && d <= B.max);
                }
                if !on_failure {
                    proptest::prop_assert_eq!(n.restarts, 0);
                }
                s = n;
                now += Duration::from_secs(step_secs);
            }
        }
    }
}
