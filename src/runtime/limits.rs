//! Resource limits of one guest: memory (with the denial recorded, so that an out-of-memory
//! trap can be told from any other) and CPU throttling by epoch-tick quotas.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// `StoreLimits` plus a record of whether a growth was refused. wasmtime reports a refused
/// `memory.grow` to the guest as -1; the guest then usually aborts with a trap that looks
/// like any other, so only this flag tells an `OOMKilled` container apart reliably.
pub(super) struct MemoryLimiter {
    inner: StoreLimits,
    pub denied: bool,
}

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> Self {
        let limit = usize::try_from(limit_bytes).unwrap_or(usize::MAX);
        MemoryLimiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(limit)
                // Tables hold function references; bound them too so a guest cannot use
                // them to dodge the memory limit (8 bytes per element, roughly).
                .table_elements(limit / 8)
                .instances(16)
                .build(),
            denied: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.denied = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.table_growing(current, desired, maximum)?;
        if !allowed {
            self.denied = true;
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
