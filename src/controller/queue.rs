//! A controller's work queue: the keys to sync now (written objects) and the keys to sync
//! later (a sync's `requeue_after`), as upstream's delaying work queue. Without the rate
//! limiter: our syncs do not fail and retry, they ask to look again at a known time.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use tokio::time::Instant;

/// Keys to sync, each at most once however often it was added, in the order they were
/// first added (a Job just created is not synced after every Job whose name sorts first).
#[derive(Debug, Default)]
pub struct WorkQueue {
    ready: VecDeque<String>,
    queued: HashSet<String>,
    /// Per key, when to sync it again; the set orders the same entries by time.
    later: HashMap<String, Instant>,
    by_time: BTreeSet<(Instant, String)>,
}

impl WorkQueue {
    /// An empty queue.
    pub fn new() -> Self {
        WorkQueue::default()
    }

    /// Sync `key` at the next turn.
    pub fn add(&mut self, key: impl Into<String>) {
        let key = key.into();
        if self.queued.insert(key.clone()) {
            self.ready.push_back(key);
        }
    }

    /// Sync `key` at `at`: the key's last sync decides, so this replaces an earlier
    /// request (a sync that found nothing to wait for calls [`WorkQueue::forget`]).
    pub fn add_after(&mut self, key: &str, at: Instant) {
        self.forget(key);
        self.later.insert(key.to_string(), at);
        self.by_time.insert((at, key.to_string()));
    }

    /// Drops the timed request for `key`.
    pub fn forget(&mut self, key: &str) {
        if let Some(at) = self.later.remove(key) {
            self.by_time.remove(&(at, key.to_string()));
        }
    }

    /// The keys to sync at `now` (added ones first, then those due), and forgets them; a
    /// sync adds its key back with [`WorkQueue::add_after`] if it needs to.
    pub fn take(&mut self, now: Instant) -> Vec<String> {
        while let Some((at, _)) = self.by_time.first() {
            if *at > now {
                break;
            }
            let (_, key) = self.by_time.pop_first().expect("just seen");
            self.later.remove(&key);
            self.add(key);
        }
        self.queued.clear();
        std::mem::take(&mut self.ready).into()
    }

    /// When the earliest timed key is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// Whether nothing is ready or timed.
    pub fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.later.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keys_come_once_now_or_when_due_and_the_last_request_wins() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut q = WorkQueue::new();
        q.add("ns/b");
        q.add("ns/a");
        q.add("ns/b");
        q.add_after("ns/c", t0 + s(10));
        q.add_after("ns/d", t0 + s(5));
        // A later sync of d moved its time: only the new one counts.
        q.add_after("ns/d", t0 + s(20));
        assert_eq!(q.take(t0), ["ns/b", "ns/a"]);
        assert!(q.take(t0).is_empty());
        assert_eq!(q.next_due(), Some(t0 + s(10)));
        assert_eq!(q.take(t0 + s(10)), ["ns/c"]);
        assert_eq!(q.next_due(), Some(t0 + s(20)));
        q.forget("ns/d");
        assert_eq!(q.next_due(), None);
        assert!(q.is_empty());
        // Ready and due at once: one entry.
        q.add_after("ns/e", t0 + s(1));
        q.add("ns/e");
        assert_eq!(q.take(t0 + s(2)), ["ns/e"]);
        assert!(q.is_empty());
    }
}
