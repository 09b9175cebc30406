//! Resource limits of one guest: memory (with the denial recorded, so that an out-of-memory
//! trap can be told from any other) and CPU throttling by epoch-tick quotas.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// The memory limit of one container, as a cgroup would apply it: over the sum of all its
/// linear memories and tables (a component has several of each), not each one alone; plus
/// a record of whether a growth was refused. wasmtime reports a refused `memory.grow` to
/// the guest as -1; the guest then usually aborts with a trap that looks like any other,
/// so only this flag tells an `OOMKilled` container apart reliably.
///
/// wasmtime asks the limiter before creating each memory or table (`current` 0) and before
/// every growth; memories and tables never shrink, so the running sum is exact.
pub(super) struct MemoryLimiter {
    limit: usize,
    /// Bytes of linear memory and tables granted so far, in all instances of the store.
    used: usize,
    pub denied: bool,
}

/// Bytes a table element is charged (a function reference is a pointer).
const TABLE_ELEMENT_BYTES: usize = 8;

/// Core instances one container may create (a component instantiates several).
const MAX_INSTANCES: usize = 16;

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit_bytes).unwrap_or(usize::MAX),
            used: 0,
            denied: false,
        }
    }

    /// Grants growing one memory or table from `current` to `desired` bytes if the
    /// container's total stays within the limit. (A growth past the memory's own declared
    /// maximum is wasmtime's to refuse, and no OOM.)
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let growth = desired.saturating_sub(current);
        let total = self.used.saturating_add(growth);
        let allowed = total <= self.limit;
        if allowed {
            self.used = total;
        } else {
            self.denied = true;
        }
        allowed
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let bytes = |n: usize| n.saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.grow(bytes(current), bytes(desired)))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        // Each table is charged to the memory budget; the count only bounds bookkeeping.
        10_000
    }
    fn memories(&self) -> usize {
        10_000
    }
}

/// How long a guest limited to `cpu_millis` must pause after running for `ran`, so that
/// over time it gets `cpu_millis / 1000` of one core (a CFS-style quota at tick granularity).
/// Below 1000m the pause is `ran * (1000 / millis - 1)`; at or above one core there is none,
/// because a wasm instance is single-threaded.
pub(super) fn throttle_pause(ran: Duration, cpu_millis: Option<u64>) -> Duration {
    match cpu_millis {
        Some(m) if m < 1000 => {
            let m = m.max(1);
            ran.mul_f64((1000 - m) as f64 / m as f64)
        }
        _ => Duration::ZERO,
    }
}

/// The epoch ticks a guest runs per turn before it yields to the other guests: one per
/// 100m of `requests.cpu` (one without a request), at most [`MAX_TICKS_PER_TURN`]. Guests
/// take turns round-robin, so each gets CPU in proportion to its turn, as cgroups share
/// CPU in proportion to cpu.shares: `requests.cpu: 1` gets ten times what a pod without a
/// request gets, `2` twice what `1` gets. Upstream's ratio against no request is 512:1
/// (1024 shares against the minimum 2); ours stops at 20:1 so that no turn keeps the
/// others waiting longer than 20 ticks (200 ms by default).
pub fn ticks_per_turn(cpu_request_millis: Option<u64>) -> u64 {
    cpu_request_millis
        .map_or(1, |m| m.div_ceil(100))
        .clamp(1, MAX_TICKS_PER_TURN)
}

/// The longest turn, in epoch ticks.
pub const MAX_TICKS_PER_TURN: u64 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_follow_cpu_requests_within_bounds() {
        for (request, ticks) in [
            (None, 1),
            (Some(0), 1),
            (Some(1), 1),
            (Some(100), 1),
            (Some(101), 2),
            (Some(250), 3),
            (Some(1000), 10),
            (Some(2000), 20),
            (Some(64_000), 20),
        ] {
            assert_eq!(ticks_per_turn(request), ticks, "requests.cpu {request:?}");
        }
    }

    #[test]
    fn half_a_core_pauses_as_long_as_it_ran() {
        let ran = Duration::from_millis(10);
        assert_eq!(throttle_pause(ran, Some(500)), Duration::from_millis(10));
    }

    #[test]
    fn a_tenth_of_a_core_pauses_nine_times_as_long() {
        let ran = Duration::from_millis(10);
        assert_eq!(throttle_pause(ran, Some(100)), Duration::from_millis(90));
    }

    #[test]
    fn a_core_or_more_or_no_limit_never_pauses() {
        let ran = Duration::from_millis(10);
        assert_eq!(throttle_pause(ran, Some(1000)), Duration::ZERO);
        assert_eq!(throttle_pause(ran, Some(4000)), Duration::ZERO);
        assert_eq!(throttle_pause(ran, None), Duration::ZERO);
    }

    #[test]
    fn refused_growth_is_recorded() {
        let mut l = MemoryLimiter::new(1 << 20);
        assert!(l.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!l.denied);
        assert!(!l.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert!(l.denied);
    }

    #[test]
    fn the_limit_is_over_all_memories_and_tables_together() {
        // 15 memories of 64 MiB under a 64 MiB limit: one fits, not two.
        let mut l = MemoryLimiter::new(64 << 20);
        assert!(l.memory_growing(0, 32 << 20, None).unwrap());
        assert!(l.memory_growing(0, 32 << 20, None).unwrap());
        assert!(!l.denied);
        assert!(!l.memory_growing(0, 64 << 10, None).unwrap());
        assert!(l.denied);
        let mut l = MemoryLimiter::new(1 << 20);
        assert!(l.memory_growing(0, 1 << 19, None).unwrap());
        // 65,536 table elements are 512 KiB: together with the memory, at the limit.
        assert!(l.table_growing(0, 1 << 16, None).unwrap());
        assert!(!l.table_growing(1 << 16, (1 << 16) + 1, None).unwrap());
    }
}
