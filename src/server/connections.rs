//! What a connection may hold before and after it authenticates: kube-apiserver's Go
//! `http.Server` timeouts (a TLS handshake and a request's headers within 32 s,
//! `ReadHeaderTimeout`; the same bound on a keep-alive connection waiting for its next
//! request), a cap on all connections so that the guests, the logs and the store keep
//! their descriptors, and a smaller cap on connections that have not yet sent one
//! authenticated request, so that idle or slow strangers cannot crowd out the users.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connection limits of the API server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A TLS handshake must finish within this (Go: the smallest of the server's read
    /// timeouts, here `ReadHeaderTimeout`).
    pub handshake_timeout: Duration,
    /// A request's headers must arrive within this from when the connection starts
    /// waiting for them, which also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Connections that have not yet authenticated a request, at most.
    pub max_unauthenticated: usize,
}

impl Limits {
    /// kube-apiserver's timeouts, and connection caps that leave three quarters of the
    /// process's open-files limit to everything else (guests, logs, the store).
    pub fn for_open_files(open_files_limit: u64) -> Self {
        let connections = usize::try_from(open_files_limit / 4)
            .unwrap_or(usize::MAX)
            .clamp(16, 100_000);
        Limits {
            handshake_timeout: Duration::from_secs(32),
            header_read_timeout: Duration::from_secs(32),
            max_connections: connections,
            max_unauthenticated: (connections / 4).max(8),
        }
    }

    /// [`Limits::for_open_files`] of this process's current soft limit.
    pub fn for_this_process() -> Self {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(1 << 20);
        Self::for_open_files(soft)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::for_this_process()
    }
}

/// Counts connections against [`Limits`].
#[derive(Clone)]
pub(super) struct Gate {
    all: Arc<Semaphore>,
    unauthenticated: Arc<Semaphore>,
}

/// A connection let in: it holds its place until dropped.
pub(super) struct Admitted {
    _connection: OwnedSemaphorePermit,
    /// Released by the first authenticated request.
    pub pending: Unauthenticated,
}

impl Gate {
    pub fn new(limits: &Limits) -> Self {
        Gate {
            all: Arc::new(Semaphore::new(limits.max_connections)),
            unauthenticated: Arc::new(Semaphore::new(limits.max_unauthenticated)),
        }
    }

    /// Lets a new connection in, or `None` when either cap is reached (the caller closes
    /// it at once: a refused connection costs nothing to keep).
    pub fn admit(&self) -> Option<Admitted> {
        let connection = self.all.clone().try_acquire_owned().ok()?;
        let pending = self.unauthenticated.clone().try_acquire_owned().ok()?;
        Some(Admitted {
            _connection: connection,
            pending: Unauthenticated(Arc::new(Mutex::new(Some(pending)))),
        })
    }
}

/// A connection's place among the unauthenticated ones, carried in each request's
/// extensions so that authentication can give it up.
#[derive(Clone)]
pub struct Unauthenticated(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl Unauthenticated {
    /// The connection authenticated a request: it no longer counts as a stranger.
    pub fn authenticated(&self) {
        self.0.lock().expect("poisoned").take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_are_capped_below_all_connections_and_authenticating_frees_a_place() {
        let gate = Gate::new(&Limits {
            max_connections: 3,
            max_unauthenticated: 2,
            ..Limits::for_open_files(1024)
        });
        let a = gate.admit().unwrap();
        let b = gate.admit().unwrap();
        assert!(gate.admit().is_none(), "a third stranger");
        a.pending.authenticated();
        let c = gate.admit().unwrap();
        assert!(gate.admit().is_none(), "a fourth connection");
        drop(b);
        c.pending.authenticated();
        let _d = gate.admit().unwrap();
        drop(a);
    }

    #[test]
    fn caps_leave_most_descriptors_to_the_rest() {
        let l = Limits::for_open_files(20_000);
        assert_eq!((l.max_connections, l.max_unauthenticated), (5_000, 1_250));
        let l = Limits::for_open_files(64);
        assert_eq!((l.max_connections, l.max_unauthenticated), (16, 8));
    }
}
