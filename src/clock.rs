//! Wall-clock time derived from tokio's clock, so that tests which pause and advance tokio
//! time move status timestamps too, and the two never disagree.

use jiff::Timestamp;
use tokio::time::Instant;

/// Maps tokio instants to wall-clock timestamps.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    anchor_wall: Timestamp,
    anchor: Instant,
}

impl Clock {
    /// A clock anchored at the current wall time.
    pub fn new() -> Self {
        Clock::starting_at(Timestamp::now())
    }

    /// A clock that reads `wall` now (tests use fixed dates).
    pub fn starting_at(wall: Timestamp) -> Self {
        Clock {
            anchor_wall: wall,
            anchor: Instant::now(),
        }
    }

    /// The current wall time. Kept precise in memory (back-offs of 100 ms must work);
    /// `metav1.Time` serialises it in whole seconds.
    pub fn now(&self) -> Timestamp {
        let elapsed = Instant::now().duration_since(self.anchor);
        self.anchor_wall
            .checked_add(jiff::SignedDuration::try_from(elapsed).unwrap_or_default())
            .unwrap_or(self.anchor_wall)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
