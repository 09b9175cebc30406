//! Container logs: what a guest wrote to stdout and stderr, kept per pod, per container and
//! per attempt (the current one and the previous, as `kubectl logs --previous` needs), each
//! capped in size with a truncation marker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::runtime::OutputSink;

/// Where `--logs` output goes: `(pod name, bytes)`.
pub type LogTap = mpsc::UnboundedSender<(String, Vec<u8>)>;

/// The kubelet's default `containerLogMaxSize`.
pub const DEFAULT_LOG_CAP: usize = 10 << 20;

/// One attempt's log.
pub struct ContainerLog {
    buf: Mutex<LogBuf>,
    cap: usize,
    tap: Option<(String, LogTap)>,
}

#[derive(Default)]
struct LogBuf {
    bytes: Vec<u8>,
    dropped: u64,
}

impl ContainerLog {
    /// The log's content, with a marker line when output was dropped.
    pub fn contents(&self) -> Vec<u8> {
        let buf = self.buf.lock().expect("poisoned");
        let mut out = buf.bytes.clone();
        if buf.dropped > 0 {
            if !out.ends_with(b"\n") && !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(
                format!(
                    "[wasmjob: log truncated at {} bytes, {} more bytes dropped]\n",
                    self.cap, buf.dropped
                )
                .as_bytes(),
            );
        }
        out
    }
}

impl OutputSink for ContainerLog {
    fn write(&self, bytes: &[u8]) {
        let mut buf = self.buf.lock().expect("poisoned");
        let room = self.cap.saturating_sub(buf.bytes.len());
        let kept = room.min(bytes.len());
        buf.bytes.extend_from_slice(&bytes[..kept]);
        let first_drop = buf.dropped == 0 && kept < bytes.len();
        buf.dropped += (bytes.len() - kept) as u64;
        drop(buf);
        if let Some((prefix, tx)) = &self.tap {
            if kept > 0 {
                let _ = tx.send((prefix.clone(), bytes[..kept].to_vec()));
            }
            if first_drop {
                let marker = format!("\n[wasmjob: log truncated at {} bytes]\n", self.cap);
                let _ = tx.send((prefix.clone(), marker.into_bytes()));
            }
        }
    }
}

/// The kept attempts of one container, oldest first.
type Attempts = Vec<Arc<ContainerLog>>;

/// All logs of this node.
pub struct LogStore {
    cap: usize,
    logs: Mutex<HashMap<(String, String), Attempts>>,
    tap: Option<LogTap>,
}

impl LogStore {
    /// Logs capped at `cap` bytes per attempt. With `tap`, every write is also sent there
    /// as `(pod name, bytes)` (for `wasmjob run --logs`).
    pub fn new(cap: usize, tap: Option<LogTap>) -> Self {
        LogStore {
            cap,
            logs: Mutex::new(HashMap::new()),
            tap,
        }
    }

    /// Starts a new attempt's log, keeping only the previous one besides it.
    pub fn start_attempt(
        &self,
        pod_key: &str,
        pod_name: &str,
        container: &str,
    ) -> Arc<ContainerLog> {
        let log = Arc::new(ContainerLog {
            buf: Mutex::new(LogBuf::default()),
            cap: self.cap,
            tap: self.tap.clone().map(|tx| (pod_name.to_string(), tx)),
        });
        let mut logs = self.logs.lock().expect("poisoned");
        let attempts = logs
            .entry((pod_key.to_string(), container.to_string()))
            .or_default();
        attempts.push(log.clone());
        if attempts.len() > 2 {
            attempts.remove(0);
        }
        log
    }

    /// The current attempt's log (`previous`: the one before it).
    pub fn get(&self, pod_key: &str, container: &str, previous: bool) -> Option<Vec<u8>> {
        let logs = self.logs.lock().expect("poisoned");
        let attempts = logs.get(&(pod_key.to_string(), container.to_string()))?;
        let idx = attempts.len().checked_sub(if previous { 2 } else { 1 })?;
        Some(attempts[idx].contents())
    }

    /// Forgets a pod's logs (when the pod object is gone).
    pub fn remove_pod(&self, pod_key: &str) {
        self.logs
            .lock()
            .expect("poisoned")
            .retain(|(p, _), _| p != pod_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_cap_is_dropped_with_a_marker() {
        let store = LogStore::new(8, None);
        let log = store.start_attempt("default/p", "p", "c");
        log.write(b"12345");
        log.write(b"67890");
        let text = String::from_utf8(store.get("default/p", "c", false).unwrap()).unwrap();
        assert_eq!(
            text,
            "12345678\n[wasmjob: log truncated at 8 bytes, 2 more bytes dropped]\n"
        );
    }

    #[test]
    fn the_previous_attempt_survives_a_restart() {
        let store = LogStore::new(1024, None);
        store.start_attempt("default/p", "p", "c").write(b"first");
        store.start_attempt("default/p", "p", "c").write(b"second");
        store.start_attempt("default/p", "p", "c").write(b"third");
        assert_eq!(store.get("default/p", "c", false).unwrap(), b"third");
        assert_eq!(store.get("default/p", "c", true).unwrap(), b"second");
        assert_eq!(store.get("default/q", "c", false), None);
    }
}
