//! Container logs: what a guest wrote to stdout and stderr, kept per pod, per container and
//! per attempt (the current one and the previous, as `kubectl logs --previous` needs), each
//! capped in size with a truncation marker, timestamped per line, and optionally written to
//! files in the kubelet's CRI log format so they survive a restart.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::clock::Clock;
use tokio::sync::{mpsc, watch};

use crate::runtime::OutputSink;

/// Where `--logs` output goes: `(pod name, bytes)`.
pub type LogTap = mpsc::UnboundedSender<(String, Vec<u8>)>;

/// The kubelet's default `containerLogMaxSize`.
pub const DEFAULT_LOG_CAP: usize = 10 << 20;

/// One line of a log (the last one may lack its newline while the guest is still writing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When the line's first byte was written.
    pub time: Timestamp,
    /// The bytes, newline included when complete.
    pub bytes: Vec<u8>,
}

/// One attempt's log.
pub struct ContainerLog {
    buf: Mutex<LogBuf>,
    cap: usize,
    tap: Option<(String, LogTap)>,
    /// The node's clock: each line's timestamp (what `--timestamps` shows).
    clock: Clock,
    /// Bumped on every write and when the attempt ends, for `follow`.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct LogBuf {
    lines: Vec<LogLine>,
    size: usize,
    dropped: u64,
    finished: bool,
    file: Option<std::fs::File>,
    /// Where the file goes, made at the first output: creating a directory and a file per
    /// pod is most of what starting a silent pod costs under `serve`.
    pending_file: Option<PathBuf>,
    file_bytes: usize,
}

impl ContainerLog {
    fn new(cap: usize, tap: Option<(String, LogTap)>, file: FileAt, clock: Clock) -> Self {
        let (file, pending_file) = match file {
            FileAt::None => (None, None),
            FileAt::Open(f) => (Some(f), None),
            FileAt::Later(path) => (None, Some(path)),
        };
        ContainerLog {
            buf: Mutex::new(LogBuf {
                file,
                pending_file,
                ..LogBuf::default()
            }),
            cap,
            tap,
            clock,
            changed: watch::channel(0).0,
        }
    }

    fn restored(lines: Vec<LogLine>, cap: usize, clock: Clock) -> Self {
        let size = lines.iter().map(|l| l.bytes.len()).sum();
        let log = ContainerLog::new(cap, None, FileAt::None, clock);
        {
            let mut b = log.buf.lock().expect("poisoned");
            b.lines = lines;
            b.size = size;
            b.finished = true;
        }
        log
    }

    /// The log's lines, led by a marker line when older output was dropped.
    pub fn lines(&self) -> Vec<LogLine> {
        let buf = self.buf.lock().expect("poisoned");
        let mut out = Vec::with_capacity(buf.lines.len() + 1);
        if buf.dropped > 0 {
            out.push(LogLine {
                time: buf
                    .lines
                    .first()
                    .map_or_else(|| self.clock.now(), |l| l.time),
                bytes: format!(
                    "[wasmjob: log rotated at {} bytes, {} earlier bytes dropped]\n",
                    self.cap, buf.dropped
                )
                .into_bytes(),
            });
        }
        out.extend(buf.lines.iter().cloned());
        out
    }

    /// The log's content as one byte string.
    pub fn contents(&self) -> Vec<u8> {
        self.lines().into_iter().flat_map(|l| l.bytes).collect()
    }

    /// Whether the attempt has ended (no more output will come).
    pub fn is_finished(&self) -> bool {
        self.buf.lock().expect("poisoned").finished
    }

    /// Marks the attempt as ended, waking followers.
    pub fn finish(&self) {
        let mut b = self.buf.lock().expect("poisoned");
        b.finished = true;
        // Closed, not kept: no more output comes, and a node that keeps one descriptor per
        // finished container runs out of them after a few thousand pods.
        b.pending_file = None;
        if let Some(mut f) = b.file.take() {
            let _ = f.flush();
        }
        drop(b);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Wakes on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

impl OutputSink for ContainerLog {
    fn write(&self, bytes: &[u8]) {
        let now = self.clock.now();
        let mut buf = self.buf.lock().expect("poisoned");
        if let Some(path) = buf.pending_file.take() {
            buf.file = create_log_file(&path);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .map_or(rest.len(), |p| p + 1);
            let (piece, tail) = rest.split_at(end);
            match buf.lines.last_mut() {
                Some(last) if !last.bytes.ends_with(b"\n") => last.bytes.extend_from_slice(piece),
                _ => buf.lines.push(LogLine {
                    time: now,
                    bytes: piece.to_vec(),
                }),
            }
            if let Some(f) = buf.file.as_mut() {
                // CRI log format: `<time> stdout F|P <text>`, P marking a partial line.
                let (tag, text) = match piece.strip_suffix(b"\n") {
                    Some(t) => ("F", t),
                    None => ("P", piece),
                };
                let _ = write!(f, "{now} stdout {tag} ");
                let _ = f.write_all(text);
                let _ = f.write_all(b"\n");
            }
            buf.file_bytes += piece.len() + 40;
            rest = tail;
        }
        buf.size += bytes.len();
        // Like the kubelet's log rotation, the newest output is kept: the oldest lines go
        // once the log is over its cap.
        let mut dropped = 0usize;
        while buf.size > self.cap && !buf.lines.is_empty() {
            let excess = buf.size - self.cap;
            if buf.lines[0].bytes.len() <= excess {
                let gone = buf.lines.remove(0);
                buf.size -= gone.bytes.len();
                dropped += gone.bytes.len();
            } else {
                buf.lines[0].bytes.drain(..excess);
                buf.size -= excess;
                dropped += excess;
            }
        }
        buf.dropped += dropped as u64;
        if buf.file.is_some() && buf.file_bytes > 2 * self.cap + 4096 {
            rewrite_file(&mut buf);
        }
        drop(buf);
        if let Some((prefix, tx)) = &self.tap {
            let _ = tx.send((prefix.clone(), bytes.to_vec()));
        }
        self.changed.send_modify(|v| *v += 1);
    }
}

/// Where an attempt's log file is.
enum FileAt {
    /// Nowhere: the log lives in memory only.
    None,
    /// Already open.
    Open(std::fs::File),
    /// To be created (with its directory) when the guest first writes.
    Later(PathBuf),
}

fn create_log_file(path: &std::path::Path) -> Option<std::fs::File> {
    crate::private_fs::create_dir_all(path.parent()?).ok()?;
    crate::private_fs::create_file(path).ok()
}

/// Rewrites a persisted log from what memory kept, so the file stays near the cap.
fn rewrite_file(buf: &mut LogBuf) {
    use std::io::Seek;
    let mut text = Vec::new();
    for l in &buf.lines {
        let (tag, body) = match l.bytes.strip_suffix(b"\n") {
            Some(t) => ("F", t),
            None => ("P", l.bytes.as_slice()),
        };
        text.extend_from_slice(format!("{} stdout {tag} ", l.time).as_bytes());
        text.extend_from_slice(body);
        text.push(b'\n');
    }
    if let Some(f) = buf.file.as_mut() {
        let ok = f.set_len(0).is_ok() && f.rewind().is_ok() && f.write_all(&text).is_ok();
        if !ok {
            tracing::warn!("could not rotate a container log file");
        }
    }
    buf.file_bytes = text.len();
}

/// The kept attempts of one container, oldest first.
type Attempts = Vec<Arc<ContainerLog>>;

/// All logs of this node.
pub struct LogStore {
    cap: usize,
    logs: Mutex<HashMap<(String, String), Attempts>>,
    seq: Mutex<u64>,
    tap: Option<LogTap>,
    dir: Option<PathBuf>,
    clock: Clock,
}

impl LogStore {
    /// Logs capped at `cap` bytes per attempt, in memory only. With `tap`, every write is
    /// also sent there as `(pod name, bytes)` (for `wasmjob run --logs`).
    pub fn new(cap: usize, tap: Option<LogTap>) -> Self {
        LogStore {
            cap,
            logs: Mutex::new(HashMap::new()),
            seq: Mutex::new(0),
            tap,
            dir: None,
            clock: Clock::new(),
        }
    }

    /// The same logs, stamped by `clock` (the node's, which tests may pause).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Logs that are also written under `dir`, and read back from there after a restart.
    pub fn persistent(cap: usize, dir: PathBuf) -> Self {
        LogStore {
            dir: Some(dir),
            ..LogStore::new(cap, None)
        }
    }

    fn pod_dir(&self, pod_key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(pod_key.replace('/', "_")))
    }

    /// Starts a new attempt's log, keeping only the previous one besides it.
    pub fn start_attempt(
        &self,
        pod_key: &str,
        pod_name: &str,
        container: &str,
    ) -> Arc<ContainerLog> {
        let path = self.pod_dir(pod_key).map(|dir| {
            let seq = {
                let mut s = self.seq.lock().expect("poisoned");
                *s += 1;
                *s
            };
            dir.join(format!(
                "{container}.{}.{seq:06}.log",
                self.clock.now().as_millisecond()
            ))
        });
        let mut logs = self.logs.lock().expect("poisoned");
        let attempts = logs
            .entry((pod_key.to_string(), container.to_string()))
            .or_default();
        // A first attempt that never writes leaves no file; after a restart the API serves
        // an empty log for a container its status shows started. A restart's file is made
        // at once, so that the newest file is always the current attempt's.
        let file = match path {
            None => FileAt::None,
            Some(p) if attempts.is_empty() => FileAt::Later(p),
            Some(p) => create_log_file(&p).map_or(FileAt::None, FileAt::Open),
        };
        let log = Arc::new(ContainerLog::new(
            self.cap,
            self.tap.clone().map(|tx| (pod_name.to_string(), tx)),
            file,
            self.clock,
        ));
        attempts.push(log.clone());
        if attempts.len() > 2 {
            attempts.remove(0);
        }
        log
    }

    /// The current attempt's log (`previous`: the one before it).
    pub fn attempt(
        &self,
        pod_key: &str,
        container: &str,
        previous: bool,
    ) -> Option<Arc<ContainerLog>> {
        let skip = if previous { 2 } else { 1 };
        {
            let logs = self.logs.lock().expect("poisoned");
            if let Some(attempts) = logs.get(&(pod_key.to_string(), container.to_string())) {
                let idx = attempts.len().checked_sub(skip)?;
                return Some(attempts[idx].clone());
            }
        }
        // After a restart: read the files the previous process wrote.
        let dir = self.pod_dir(pod_key)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{container}.")) && n.ends_with(".log"))
            })
            .collect();
        files.sort();
        let path = files.len().checked_sub(skip).map(|i| files[i].clone())?;
        let text = std::fs::read(path).ok()?;
        Some(Arc::new(ContainerLog::restored(
            parse_cri(&text),
            self.cap,
            self.clock,
        )))
    }

    /// Bytes the current attempt's log holds, for a container of a pod this process runs
    /// (never read back from disk: the kubelet asks every few seconds).
    pub fn current_size(&self, pod_key: &str, container: &str) -> Option<u64> {
        let logs = self.logs.lock().expect("poisoned");
        let log = logs
            .get(&(pod_key.to_string(), container.to_string()))?
            .last()?
            .clone();
        drop(logs);
        let b = log.buf.lock().expect("poisoned");
        Some(b.size.max(b.file_bytes) as u64)
    }

    /// The current attempt's log content (`previous`: the one before it).
    pub fn get(&self, pod_key: &str, container: &str, previous: bool) -> Option<Vec<u8>> {
        self.attempt(pod_key, container, previous)
            .map(|l| l.contents())
    }

    /// Forgets a pod's logs (when the pod object is gone).
    pub fn remove_pod(&self, pod_key: &str) {
        self.logs
            .lock()
            .expect("poisoned")
            .retain(|(p, _), _| p != pod_key);
        if let Some(dir) = self.pod_dir(pod_key) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Reads CRI-format log lines back (`P` pieces join the line that follows).
fn parse_cri(text: &[u8]) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = Vec::new();
    let mut partial = false;
    for raw in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut parts = raw.splitn(4, |b| *b == b' ');
        let (Some(ts), Some(_stream), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let body = parts.next().unwrap_or_default();
        let time = std::str::from_utf8(ts)
            .ok()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let mut bytes = body.to_vec();
        let complete = tag == b"F";
        if complete {
            bytes.push(b'\n');
        }
        match out.last_mut() {
            Some(last) if partial => last.bytes.extend_from_slice(&bytes),
            _ => out.push(LogLine { time, bytes }),
        }
        partial = !complete;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_output_is_kept_past_the_cap_with_a_marker() {
        let store = LogStore::new(8, None);
        let log = store.start_attempt("default/p", "p", "c");
        log.write(b"12345");
        log.write(b"67890");
        let text = String::from_utf8(store.get("default/p", "c", false).unwrap()).unwrap();
        assert_eq!(
            text,
            "[wasmjob: log rotated at 8 bytes, 2 earlier bytes dropped]\n34567890"
        );
        log.write(b"\nab\ncd\n");
        let text = String::from_utf8(store.get("default/p", "c", false).unwrap()).unwrap();
        assert_eq!(
            text,
            "[wasmjob: log rotated at 8 bytes, 9 earlier bytes dropped]\n0\nab\ncd\n"
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

    #[test]
    fn lines_are_split_and_joined_across_writes() {
        let store = LogStore::new(1024, None);
        let log = store.start_attempt("default/p", "p", "c");
        log.write(b"a\nb");
        log.write(b"c\nd\n");
        let lines: Vec<Vec<u8>> = log.lines().into_iter().map(|l| l.bytes).collect();
        assert_eq!(
            lines,
            vec![b"a\n".to_vec(), b"bc\n".to_vec(), b"d\n".to_vec()]
        );
    }

    #[test]
    fn a_finished_attempt_closes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::persistent(1024, dir.path().to_path_buf());
        let log = store.start_attempt("default/p", "p", "c");
        log.write(b"one\n");
        assert!(log.buf.lock().unwrap().file.is_some());
        log.finish();
        assert!(
            log.buf.lock().unwrap().file.is_none(),
            "descriptor released"
        );
        assert_eq!(store.get("default/p", "c", false).unwrap(), b"one\n");
    }

    #[test]
    fn a_silent_first_attempt_leaves_no_file_but_a_silent_restart_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::persistent(1024, dir.path().to_path_buf());
        let first = store.start_attempt("default/p", "p", "c");
        first.finish();
        assert!(!dir.path().join("default_p").exists(), "nothing written");
        assert_eq!(store.get("default/p", "c", false).unwrap(), b"");

        let second = store.start_attempt("default/p", "p", "c");
        second.write(b"out\n");
        second.finish();
        let third = store.start_attempt("default/p", "p", "c");
        third.finish();
        // Read back by a new process: the silent third attempt is current, not the second.
        let reread = LogStore::persistent(1024, dir.path().to_path_buf());
        assert_eq!(reread.get("default/p", "c", false).unwrap(), b"");
        assert_eq!(reread.get("default/p", "c", true).unwrap(), b"out\n");
    }

    #[test]
    fn persistent_logs_are_read_back_by_a_new_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::persistent(1024, dir.path().to_path_buf());
            let first = store.start_attempt("default/p", "p", "c");
            first.write(b"one\n");
            first.finish();
            let log = store.start_attempt("default/p", "p", "c");
            log.write(b"two\nthr");
            log.write(b"ee\n");
            log.finish();
        }
        let store = LogStore::persistent(1024, dir.path().to_path_buf());
        assert_eq!(store.get("default/p", "c", false).unwrap(), b"two\nthree\n");
        assert_eq!(store.get("default/p", "c", true).unwrap(), b"one\n");
        store.remove_pod("default/p");
        assert_eq!(store.get("default/p", "c", false), None);
    }
}
