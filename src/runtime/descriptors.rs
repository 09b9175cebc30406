//! Open descriptors: the node's budget that all guests share, and each container's grant
//! from it, so that guests together can never take the descriptors the API and the store
//! need (the hardening issue's descriptor exhaustion).
//!
//! Every file, directory and stream a guest opens is an entry in its WASI resource table.
//! A container may hold at most [`MAX_OPEN_RESOURCES`] (its `RLIMIT_NOFILE`); and the
//! table's capacity is its *grant*, taken from the node's budget. Before every WASI call
//! (the one place a guest can open anything) the grant is topped up to keep a little
//! headroom ahead of the table's use, from what the budget still has, so a guest is
//! limited by its neighbours only when the node really is short. wasmtime refuses a push
//! only when the table's high-water mark reaches its capacity (a freed slot is reused
//! without a check), so a grant never shrinks while the container runs: what it held
//! once, it may hold again. It returns to the budget when the container ends.
//!
//! The decisions ([`starting_capacity`], [`grown_capacity`]) are pure; the budget is a
//! counter under a lock.

use std::sync::{Arc, Mutex};

/// Open descriptors (files, directories, streams and the other WASI resources) one
/// container may hold at once, like a container's `RLIMIT_NOFILE` soft limit of 1024: a
/// guest that opens without closing ends there instead of taking the node's descriptors.
/// wasmtime-wasi traps the guest on the open past it (see `exit::classify`).
pub const MAX_OPEN_RESOURCES: usize = 1024;

/// Free entries a grant keeps ahead of the table's use when the budget allows: enough
/// for the entries one WASI call can add (an open, or a `poll_oneoff`'s pollables).
const MIN_HEADROOM: usize = 16;

/// Free entries a container starts with on an idle node: headroom that containers which
/// never open much hold until they end, so it shrinks as the budget does (1/64th of what
/// is left), down to [`MIN_HEADROOM`].
const MAX_START_HEADROOM: usize = 64;

/// The descriptors a process whose open-files limit is `open_files_limit` lets its guests
/// hold together: half of it. A quarter goes to API connections (`server::connections`),
/// the rest to the store, the log files of running containers and the volumes' handles.
pub fn guest_share(open_files_limit: u64) -> usize {
    usize::try_from(open_files_limit / 2).unwrap_or(usize::MAX)
}

/// [`guest_share`] of this process's current soft limit (`None` is unlimited).
pub fn guest_share_of_this_process() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20);
    guest_share(soft)
}

/// The capacity a container starts with: the entries its WASI context already holds
/// (stdio, preopened volumes: granted whatever the budget says, as a pod's volumes are
/// admitted with the pod), plus headroom from what the budget has left.
pub fn starting_capacity(initial: usize, available: usize) -> usize {
    let headroom = (available / 64)
        .clamp(MIN_HEADROOM, MAX_START_HEADROOM)
        .min(available);
    initial + headroom.min(MAX_OPEN_RESOURCES.saturating_sub(initial))
}

/// Whether a table of `capacity` holding `occupied` entries needs a larger grant.
fn needs_growth(capacity: usize, occupied: usize) -> bool {
    capacity < MAX_OPEN_RESOURCES && capacity.saturating_sub(occupied) < MIN_HEADROOM
}

/// The capacity before a WASI call that finds `occupied` entries in a table of
/// `capacity`: unchanged while [`MIN_HEADROOM`] is free, else `occupied` plus a quarter
/// (at least [`MAX_START_HEADROOM`], as one `poll_oneoff` can add dozens of pollables),
/// by no more than the budget's `available` and never past [`MAX_OPEN_RESOURCES`]. Never
/// smaller than `capacity` (see the module notes).
pub fn grown_capacity(capacity: usize, occupied: usize, available: usize) -> usize {
    if !needs_growth(capacity, occupied) {
        return capacity;
    }
    let wanted = (occupied + MAX_START_HEADROOM.max(occupied / 4)).min(MAX_OPEN_RESOURCES);
    capacity + wanted.saturating_sub(capacity).min(available)
}

/// The descriptors all guests of this node may hold together.
#[derive(Debug)]
pub struct DescriptorBudget {
    total: usize,
    /// Held by live grants. May exceed `total` by containers' initial entries, which are
    /// never refused.
    held: Mutex<usize>,
}

impl DescriptorBudget {
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(DescriptorBudget {
            total,
            held: Mutex::new(0),
        })
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// Held by running containers now.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        *self.held.lock().expect("poisoned")
    }

    /// A grant for a container whose context already holds `initial` entries.
    pub fn grant(self: &Arc<Self>, initial: usize) -> DescriptorGrant {
        let mut held = self.held.lock().expect("poisoned");
        let capacity = starting_capacity(initial, self.total.saturating_sub(*held));
        *held += capacity;
        DescriptorGrant {
            budget: self.clone(),
            capacity,
            // A busy node's smaller starting headroom is by design; short is less than the
            // least a call may need.
            short: capacity < (initial + MIN_HEADROOM).min(MAX_OPEN_RESOURCES.max(initial)),
        }
    }
}

/// One container's share of the [`DescriptorBudget`], returned when dropped.
#[derive(Debug)]
pub struct DescriptorGrant {
    budget: Arc<DescriptorBudget>,
    capacity: usize,
    /// Whether the budget ever gave less than the container asked for: only then is the
    /// node to blame when the table fills.
    short: bool,
}

impl DescriptorGrant {
    /// The table capacity this grant allows.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The node budget this grant comes from.
    pub fn budget(&self) -> &DescriptorBudget {
        &self.budget
    }

    /// Whether the budget ever gave this container less than it asked for.
    pub fn was_short(&self) -> bool {
        self.short
    }

    /// Grows the grant for a table holding `occupied` entries (see [`grown_capacity`]);
    /// returns the capacity to set.
    pub fn rebalance(&mut self, occupied: usize) -> usize {
        // The common case (headroom left) takes no lock.
        if !needs_growth(self.capacity, occupied) {
            return self.capacity;
        }
        let mut held = self.budget.held.lock().expect("poisoned");
        let grown = grown_capacity(
            self.capacity,
            occupied,
            self.budget.total.saturating_sub(*held),
        );
        self.short |= grown < grown_capacity(self.capacity, occupied, usize::MAX);
        *held += grown - self.capacity;
        self.capacity = grown;
        grown
    }
}

impl Drop for DescriptorGrant {
    fn drop(&mut self) {
        let mut held = self.budget.held.lock().expect("poisoned");
        *held = held.saturating_sub(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starting_grant_is_headroom_that_shrinks_with_the_budget() {
        for (initial, available, capacity) in [
            // An idle node: the most headroom.
            (3, 100_000, 67),
            // A busy one: a 64th of what is left, at least the minimum.
            (3, 2_048, 35),
            (3, 200, 19),
            // Nearly exhausted: what is left; exhausted: only the initial entries.
            (3, 10, 13),
            (3, 0, 3),
            // Initial entries beyond the container limit are still granted.
            (2_000, 100_000, 2_000),
        ] {
            assert_eq!(
                starting_capacity(initial, available),
                capacity,
                "initial {initial}, available {available}"
            );
        }
    }

    #[test]
    fn a_grant_grows_when_the_headroom_runs_out_and_never_shrinks() {
        for (capacity, occupied, available, grown) in [
            // Headroom left: unchanged.
            (200, 184, 10_000, 200),
            (67, 3, 10_000, 67),
            // Running out: the use plus a quarter, at least the start headroom.
            (200, 185, 10_000, 249),
            (400, 390, 10_000, 487),
            (19, 19, 10_000, 83),
            // The budget bounds the growth.
            (200, 200, 30, 230),
            (200, 200, 0, 200),
            // The container limit bounds it too.
            (1_000, 990, 10_000, MAX_OPEN_RESOURCES),
            (
                MAX_OPEN_RESOURCES,
                MAX_OPEN_RESOURCES,
                10_000,
                MAX_OPEN_RESOURCES,
            ),
            // Empty now, but the high-water mark is unknown: keep it.
            (900, 0, 10_000, 900),
        ] {
            assert_eq!(
                grown_capacity(capacity, occupied, available),
                grown,
                "capacity {capacity}, occupied {occupied}, available {available}"
            );
        }
    }

    #[test]
    fn a_grant_knows_whether_the_budget_held_it_back() {
        let roomy = DescriptorBudget::new(100_000);
        let mut g = roomy.grant(3);
        g.rebalance(g.capacity());
        assert!(!g.was_short());
        let tight = DescriptorBudget::new(10);
        let mut g = tight.grant(3);
        assert!(g.was_short(), "started with less headroom than it wanted");
        let tighter = DescriptorBudget::new(70);
        let mut h = tighter.grant(3);
        assert!(!h.was_short());
        h.rebalance(h.capacity());
        assert!(h.was_short(), "grew by less than it wanted");
        g.rebalance(0);
    }

    #[test]
    fn grants_never_hold_more_than_the_budget_beyond_initial_entries() {
        let budget = DescriptorBudget::new(1_000);
        let mut grants: Vec<_> = (0..20).map(|_| budget.grant(3)).collect();
        for _ in 0..20 {
            for g in &mut grants {
                let full = g.capacity();
                g.rebalance(full);
            }
        }
        let held: usize = grants.iter().map(DescriptorGrant::capacity).sum();
        assert_eq!(held, budget.held());
        assert!(held <= 1_000 + 20 * 3, "{held}");
        drop(grants);
        assert_eq!(budget.held(), 0, "every grant returned");
    }

    #[test]
    fn the_share_is_half_the_open_files_limit() {
        assert_eq!(guest_share(20_000), 10_000);
        assert_eq!(guest_share(1_024), 512);
    }
}
