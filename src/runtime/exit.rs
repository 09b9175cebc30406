//! Classification of how a guest ended: exit code, trap, or memory-limit kill.
//!
//! This is runwasi's `IntoErrorCode` made explicit: everything the guest can do ends here
//! as data, never as an `Err` of ours and never as a panic.

use wasmtime::Trap;
use wasmtime_wasi::I32Exit;

use super::descriptors::MAX_OPEN_RESOURCES;

/// Exit code reported for a trap (unreachable, stack overflow, out-of-bounds access, ...):
/// 134, the status of a process killed by SIGABRT, as the wasmtime CLI reports it on unix.
pub const TRAP_EXIT_CODE: i32 = 134;

/// Exit code of an `OOMKilled` container: 128 + SIGKILL, as the kubelet reports it.
pub const OOM_EXIT_CODE: i32 = 137;

/// The terminated-container reason Kubernetes would show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// Exit code 0.
    Completed,
    /// Non-zero exit or trap.
    Error,
    /// The guest hit its memory limit.
    OomKilled,
}

impl ExitReason {
    /// The `state.terminated.reason` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Completed => "Completed",
            ExitReason::Error => "Error",
            ExitReason::OomKilled => "OOMKilled",
        }
    }
}

/// How one run of a container ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerExit {
    /// `state.terminated.exitCode`.
    pub exit_code: i32,
    /// `state.terminated.reason`.
    pub reason: ExitReason,
    /// `state.terminated.message`: the trap text, when there is one.
    pub message: Option<String>,
    /// What its CPU limit did to it, as a cgroup's `cpu.stat` says.
    pub cpu: CpuStat,
}

/// A run's CPU accounting under its limit, like a cgroup's `cpu.stat`: how long the guest
/// ran between pauses, how many times its limit paused it (`nr_throttled`) and for how
/// long (`throttled_usec`), measured as slept, so a pause is never counted shorter than
/// it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// Time the guest ran (measured at its epoch ticks).
    pub ran: std::time::Duration,
    /// Pauses its CPU limit imposed.
    pub nr_throttled: u64,
    /// Their total length.
    pub throttled: std::time::Duration,
}

impl ContainerExit {
    /// A clean `exit(code)` or return from `_start`.
    pub fn exited(code: i32) -> Self {
        ContainerExit {
            exit_code: code,
            reason: if code == 0 {
                ExitReason::Completed
            } else {
                ExitReason::Error
            },
            message: None,
            cpu: CpuStat::default(),
        }
    }

    fn oom(message: Option<String>) -> Self {
        ContainerExit {
            exit_code: OOM_EXIT_CODE,
            reason: ExitReason::OomKilled,
            message,
            cpu: CpuStat::default(),
        }
    }
}

/// What bounded a container's open descriptors when it ran out of them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Files {
    /// The capacity its table had.
    pub capacity: usize,
    /// The node's budget for all guests (`usize::MAX`: none).
    pub node_total: usize,
    /// Whether the budget ever gave the container less than it asked for.
    pub node_short: bool,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            capacity: MAX_OPEN_RESOURCES,
            node_total: usize::MAX,
            node_short: false,
        }
    }
}

impl Files {
    /// The first line of a descriptor exhaustion's message: which bound it met.
    fn exhausted(self) -> String {
        if self.capacity >= MAX_OPEN_RESOURCES {
            format!(
                "too many open files: a container holds at most {MAX_OPEN_RESOURCES} open descriptors and other WASI resources at once"
            )
        } else if self.node_short {
            format!(
                "too many open files: the node's containers hold at most {} open descriptors and other WASI resources together, and this one held its share of {}",
                self.node_total, self.capacity
            )
        } else {
            // The node had room; one call added more entries at once than the table's
            // headroom (it is grown before each call, never during one).
            format!(
                "too many open files: one WASI call opened more at once than the room this container's table had ({} entries; a container holds at most {MAX_OPEN_RESOURCES})",
                self.capacity
            )
        }
    }
}

/// Maps the result of running `_start` (or `wasi:cli/run`) to a [`ContainerExit`].
///
/// A refused memory growth (`memory_denied`) followed by anything but a clean exit 0 is an
/// `OOMKilled`: the guest could not continue without the memory it asked for, which is what
/// the kernel's OOM killer would have decided for a container.
pub(super) fn classify(
    result: Result<(), wasmtime::Error>,
    memory_denied: bool,
    files: Files,
) -> ContainerExit {
    match result {
        Ok(()) => ContainerExit::exited(0),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                return if exit.0 != 0 && memory_denied {
                    ContainerExit::oom(Some(format!(
                        "exited with code {} after a memory allocation was refused",
                        exit.0
                    )))
                } else {
                    ContainerExit::exited(exit.0)
                };
            }
            let message = if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<wasmtime::component::ResourceTableError>(),
                    Some(wasmtime::component::ResourceTableError::Full)
                )
            }) {
                format!("{}\n{}", files.exhausted(), trap_message(&e))
            } else {
                trap_message(&e)
            };
            if memory_denied {
                return ContainerExit::oom(Some(message));
            }
            ContainerExit {
                exit_code: TRAP_EXIT_CODE,
                reason: ExitReason::Error,
                message: Some(message),
                cpu: CpuStat::default(),
            }
        }
    }
}

/// The trap itself on the first line (what `kubectl get pods` users read first), then
/// wasmtime's context with the guest backtrace.
fn trap_message(e: &wasmtime::Error) -> String {
    let head = match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => e.root_cause().to_string(),
    };
    let context = e.to_string();
    if context == head {
        head
    } else {
        format!("{head}\n{context}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_zero_is_completed() {
        assert_eq!(
            classify(Ok(()), false, Files::default()),
            ContainerExit::exited(0)
        );
        let e = wasmtime::Error::new(I32Exit(0));
        assert_eq!(
            classify(Err(e), false, Files::default()).reason,
            ExitReason::Completed
        );
    }

    #[test]
    fn non_zero_exit_is_error_with_that_code() {
        let e = wasmtime::Error::new(I32Exit(42));
        let exit = classify(Err(e), false, Files::default());
        assert_eq!((exit.exit_code, exit.reason), (42, ExitReason::Error));
    }

    #[test]
    fn a_trap_is_error_134_with_the_trap_text() {
        let exit = classify(
            Err(wasmtime::Error::new(Trap::UnreachableCodeReached)),
            false,
            Files::default(),
        );
        assert_eq!((exit.exit_code, exit.reason), (134, ExitReason::Error));
        assert!(exit.message.unwrap().contains("unreachable"));
    }

    #[test]
    fn a_trap_after_refused_growth_is_oom_killed_137() {
        let exit = classify(
            Err(wasmtime::Error::new(Trap::UnreachableCodeReached)),
            true,
            Files::default(),
        );
        assert_eq!((exit.exit_code, exit.reason), (137, ExitReason::OomKilled));
    }

    #[test]
    fn clean_exit_after_refused_growth_is_not_oom() {
        assert_eq!(
            classify(Ok(()), true, Files::default()),
            ContainerExit::exited(0)
        );
        let e = wasmtime::Error::new(I32Exit(3));
        assert_eq!(
            classify(Err(e), true, Files::default()).reason,
            ExitReason::OomKilled
        );
    }

    #[test]
    fn descriptor_exhaustion_names_the_bound_it_met() {
        let files = |capacity, node_short| Files {
            capacity,
            node_total: 5_000,
            node_short,
        };
        assert!(
            files(MAX_OPEN_RESOURCES, false)
                .exhausted()
                .contains("at most 1024")
        );
        assert!(
            files(200, true)
                .exhausted()
                .contains("at most 5000 open descriptors and other WASI resources together, and this one held its share of 200")
        );
        // The node had room: the node is not blamed.
        let m = files(83, false).exhausted();
        assert!(
            m.contains("one WASI call opened more at once") && !m.contains("5000"),
            "{m}"
        );
    }
}
