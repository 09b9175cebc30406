//! The Job-level exponential back-off between replacement pods (upstream backoff_utils.go).
//!
//! Upstream keeps a per-Job in-memory record of "failures since the last success" and loses
//! it on restart (kubernetes#114650). We derive the same record from the pods themselves,
//! which keeps `sync` pure and survives restarts: finished pods stay in the store until the
//! Job is deleted.

use std::time::Duration;

use jiff::Timestamp;

/// Back-off settings; upstream's are 10 s and 10 min (the docs' "6 min" is obsolete).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// `base · 2^(failures-1)`, capped at `max`; zero without failures.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(failures - 1);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// How long pod creation must still wait, given the failures since the last success and
    /// the time of the latest one.
    pub fn remaining(
        &self,
        failures: u32,
        last_failure: Option<Timestamp>,
        now: Timestamp,
    ) -> Duration {
        let Some(last) = last_failure else {
            return Duration::ZERO;
        };
        let delay = self.delay(failures);
        let elapsed = now.duration_since(last);
        let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
        delay.saturating_sub(elapsed)
    }
}

/// Failures after the latest success, and the time of the latest of them. `outcomes` are
/// `(finish time, succeeded)` of every finished pod of the Job.
pub fn failures_since_success(outcomes: &[(Timestamp, bool)]) -> (u32, Option<Timestamp>) {
    let last_success = outcomes.iter().filter(|(_, ok)| *ok).map(|(t, _)| *t).max();
    let mut count = 0;
    let mut last = None;
    for (t, ok) in outcomes {
        if !ok && last_success.is_none_or(|s| *t > s) {
            count += 1;
            last = last.max(Some(*t));
        }
    }
    (count, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    // Mirrors upstream TestGetRemainingBackoffTime (base 5 s, max 700 s).
    #[test]
    fn remaining_backoff_matches_upstream_table() {
        let b = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(700),
        };
        assert_eq!(b.remaining(1, Some(t(0)), t(0)), Duration::from_secs(5));
        assert_eq!(b.remaining(1, Some(t(0)), t(1)), Duration::from_secs(4));
        assert_eq!(b.remaining(1, Some(t(0)), t(5)), Duration::ZERO);
        assert_eq!(b.remaining(3, Some(t(0)), t(0)), Duration::from_secs(20));
        assert_eq!(b.remaining(8, Some(t(0)), t(0)), Duration::from_secs(640));
        assert_eq!(b.remaining(9, Some(t(0)), t(0)), Duration::from_secs(700));
        assert_eq!(b.remaining(0, None, t(0)), Duration::ZERO);
    }

    #[test]
    fn default_sequence_doubles_from_ten_seconds_to_ten_minutes() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(b.delay(100), Duration::from_secs(600));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let outcomes = [(t(1), false), (t(2), false), (t(3), true), (t(4), false)];
        assert_eq!(failures_since_success(&outcomes), (1, Some(t(4))));
        assert_eq!(failures_since_success(&outcomes[..3]), (0, None));
        assert_eq!(failures_since_success(&outcomes[..2]), (2, Some(t(2))));
    }
}
