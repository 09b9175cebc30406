//! Where the store's objects persist: a key-value backend shaped like etcd's (one global
//! revision, ordered batches of puts and deletes), so that a distributed backend can take
//! the embedded one's place.
//!
//! Writes reach the backend in store order through one writer thread that commits them in
//! groups. A crash therefore loses at most a suffix of the most recent writes, never a write
//! in the middle: every state found after a restart is one the store really passed through,
//! which is what the Job controller's exact-once accounting (finalizers and
//! `uncountedTerminatedPods`) needs.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::watch;

/// Backend failures; messages name the path or the operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened or read.
    #[error("failed to open the store at {path}: {message}")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        message: String,
    },
    /// A stored object is not valid JSON of its kind.
    #[error("stored object {key} is unreadable: {message}")]
    Corrupt {
        /// Its key.
        key: String,
        /// Why.
        message: String,
    },
}

/// One change of a batch: `value: None` deletes the key.
#[derive(Clone, Debug)]
pub struct Change {
    /// `<resource>/<namespace>/<name>` (cluster-scoped objects: `<resource>//<name>`).
    pub key: String,
    /// The object's JSON, or `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// What a backend holds at start-up.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The last committed revision.
    pub revision: u64,
    /// Every key and value.
    pub objects: Vec<(String, Vec<u8>)>,
}

/// A persistence backend.
pub trait Backend: Send + Sync {
    /// Everything stored, and the revision it was stored at.
    fn load(&self) -> Result<Snapshot, Error>;
    /// Queues the changes of `revision`, in order after everything queued before.
    fn write(&self, revision: u64, changes: Vec<Change>);
    /// Blocks until everything queued so far is durable.
    fn flush(&self);
    /// Whether writes go anywhere (the store skips serialising them otherwise).
    fn persistent(&self) -> bool {
        true
    }
    /// How far writes are durable, and whether commits are failing; `None` when every
    /// write is as durable as it will ever be at once (memory).
    fn durability(&self) -> Option<watch::Receiver<Durability>> {
        None
    }
}

/// No persistence (`wasmjob run`, tests).
pub struct Memory;

impl Backend for Memory {
    fn load(&self) -> Result<Snapshot, Error> {
        Ok(Snapshot::default())
    }
    fn write(&self, _revision: u64, _changes: Vec<Change>) {}
    fn flush(&self) {}
    fn persistent(&self) -> bool {
        false
    }
}

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// How far the writes queued so far have become durable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durability {
    /// Every write up to this revision is on disk.
    pub revision: u64,
    /// Why the most recent commit failed, while commits keep failing (`None` once one
    /// succeeds again).
    pub failure: Option<String>,
}

enum Msg {
    Write(u64, Vec<Change>),
    Flush(mpsc::Sender<()>),
}

/// After a failed commit the writer retries, waiting this long at first and doubling up
/// to [`RETRY_MAX`]: a disk that fills up and is freed again resumes within seconds.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The embedded ACID backend: a redb database file, written by one thread in group commits.
///
/// A commit that fails (disk full, read-only, I/O error) keeps its writes: the writer
/// reopens the database (redb refuses every operation after an I/O error until it is) and
/// commits them again, in order, until it succeeds, meanwhile reporting the failure through
/// [`Backend::durability`] so that the API refuses writes and the controllers pause.
pub struct Redb {
    snapshot: std::sync::Mutex<Option<Result<Snapshot, Error>>>,
    durability: watch::Receiver<Durability>,
    tx: std::sync::Mutex<Option<mpsc::Sender<Msg>>>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

fn open_database(path: &Path) -> Result<Database, String> {
    // The integrity check turns a file damaged outside redb into an error (redb would
    // otherwise trust a cleanly closed file and could panic on it).
    let db = Database::builder()
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|e| e.to_string())?;
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    txn.open_table(OBJECTS).map_err(|e| e.to_string())?;
    txn.open_table(META).map_err(|e| e.to_string())?;
    txn.commit().map_err(|e| e.to_string())?;
    Ok(db)
}

fn read_snapshot(db: &Database) -> Result<Snapshot, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let txn = db.begin_read().map_err(|e| err(&e))?;
    let objects = txn.open_table(OBJECTS).map_err(|e| err(&e))?;
    let meta = txn.open_table(META).map_err(|e| err(&e))?;
    let revision = meta
        .get("revision")
        .map_err(|e| err(&e))?
        .map(|v| v.value())
        .unwrap_or(0);
    let mut out = Vec::new();
    for row in objects.iter().map_err(|e| err(&e))? {
        let (k, v) = row.map_err(|e| err(&e))?;
        out.push((k.value().to_string(), v.value().to_vec()));
    }
    Ok(Snapshot {
        revision,
        objects: out,
    })
}

impl Redb {
    /// Opens (or creates) the database at `path` and reads what it holds.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let open_error = |message: String| Error::Open {
            path: path.display().to_string(),
            message,
        };
        let db = open_database(path).map_err(open_error)?;
        let snapshot = read_snapshot(&db).map_err(open_error)?;
        let (durable, durability) = watch::channel(Durability {
            revision: snapshot.revision,
            failure: None,
        });
        let (tx, rx) = mpsc::channel::<Msg>();
        let writer = Writer {
            path: path.to_path_buf(),
            db: Some(db),
            durable,
        };
        let writer = std::thread::Builder::new()
            .name("wasmjob-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| open_error(e.to_string()))?;
        Ok(Redb {
            snapshot: std::sync::Mutex::new(Some(Ok(snapshot))),
            durability,
            tx: std::sync::Mutex::new(Some(tx)),
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }
}

/// The writer thread's state.
struct Writer {
    path: std::path::PathBuf,
    /// `None` after a failure, until reopening succeeds.
    db: Option<Database>,
    durable: watch::Sender<Durability>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut pending: Vec<(u64, Vec<Change>)> = Vec::new();
        let mut waiters: Vec<mpsc::Sender<()>> = Vec::new();
        let mut retry = RETRY_FIRST;
        let mut open = true;
        let take = |m: Msg, pending: &mut Vec<_>, waiters: &mut Vec<_>| match m {
            Msg::Write(rev, changes) => pending.push((rev, changes)),
            Msg::Flush(done) => waiters.push(done),
        };
        while open || !pending.is_empty() {
            if pending.is_empty() && waiters.is_empty() {
                match rx.recv() {
                    Ok(m) => take(m, &mut pending, &mut waiters),
                    Err(_) => break,
                }
            }
            // Group commit: everything already queued goes into one transaction.
            while let Ok(m) = rx.try_recv() {
                take(m, &mut pending, &mut waiters);
            }
            let result = if pending.is_empty() {
                Ok(())
            } else {
                self.commit(&pending)
            };
            match result {
                Ok(()) => {
                    let revision = pending.last().map(|(rev, _)| *rev);
                    pending.clear();
                    retry = RETRY_FIRST;
                    self.durable.send_modify(|d| {
                        if let Some(rev) = revision {
                            d.revision = rev;
                        }
                        if d.failure.take().is_some() {
                            tracing::info!("store commits succeed again");
                        }
                    });
                    for w in waiters.drain(..) {
                        let _ = w.send(());
                    }
                }
                Err(message) => {
                    let message = format!(
                        "the store at {} cannot commit: {message}",
                        self.path.display()
                    );
                    self.durable.send_if_modified(|d| {
                        if d.failure.as_deref() == Some(message.as_str()) {
                            return false;
                        }
                        tracing::error!(error = %message, "store commit failed; writes are refused until one succeeds");
                        d.failure = Some(message.clone());
                        true
                    });
                    // Whoever waits for a flush learns of the failure from `durability`.
                    for w in waiters.drain(..) {
                        let _ = w.send(());
                    }
                    if !open {
                        // Shutting down: what never committed was never acknowledged.
                        break;
                    }
                    match rx.recv_timeout(retry) {
                        Ok(m) => take(m, &mut pending, &mut waiters),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
                    }
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    fn commit(&mut self, pending: &[(u64, Vec<Change>)]) -> Result<(), String> {
        if self.db.is_none() {
            self.db = Some(open_database(&self.path)?);
        }
        let db = self.db.as_ref().expect("opened above");
        let result = (|| -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            {
                let mut objects = txn.open_table(OBJECTS)?;
                let mut meta = txn.open_table(META)?;
                for (_, changes) in pending {
                    for c in changes {
                        match &c.value {
                            Some(v) => {
                                objects.insert(c.key.as_str(), v.as_slice())?;
                            }
                            None => {
                                objects.remove(c.key.as_str())?;
                            }
                        }
                    }
                }
                if let Some((rev, _)) = pending.last() {
                    meta.insert("revision", *rev)?;
                }
            }
            txn.commit()?;
            Ok(())
        })();
        result.map_err(|e| {
            // redb answers every later call with "previous I/O error" until the database
            // is reopened; the next attempt reopens it.
            self.db = None;
            e.to_string()
        })
    }
}

impl Backend for Redb {
    fn load(&self) -> Result<Snapshot, Error> {
        self.snapshot
            .lock()
            .expect("poisoned")
            .take()
            .unwrap_or_else(|| Ok(Snapshot::default()))
    }

    fn write(&self, revision: u64, changes: Vec<Change>) {
        if let Some(tx) = self.tx.lock().expect("poisoned").as_ref() {
            let _ = tx.send(Msg::Write(revision, changes));
        }
    }

    fn flush(&self) {
        let (done, wait) = mpsc::channel();
        let sent = self
            .tx
            .lock()
            .expect("poisoned")
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Flush(done)).is_ok());
        if sent {
            let _ = wait.recv();
        }
    }

    fn durability(&self) -> Option<watch::Receiver<Durability>> {
        Some(self.durability.clone())
    }
}

impl Drop for Redb {
    fn drop(&mut self) {
        self.tx.lock().expect("poisoned").take();
        if let Some(w) = self.writer.lock().expect("poisoned").take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        {
            let db = Redb::open(&path).unwrap();
            db.write(
                1,
                vec![Change {
                    key: "jobs/default/a".into(),
                    value: Some(b"{}".to_vec()),
                }],
            );
            db.write(
                2,
                vec![
                    Change {
                        key: "jobs/default/b".into(),
                        value: Some(b"{\"b\":1}".to_vec()),
                    },
                    Change {
                        key: "jobs/default/a".into(),
                        value: None,
                    },
                ],
            );
            db.flush();
        }
        let db = Redb::open(&path).unwrap();
        let snap = db.load().unwrap();
        assert_eq!(snap.revision, 2);
        assert_eq!(
            snap.objects,
            vec![("jobs/default/b".to_string(), b"{\"b\":1}".to_vec())]
        );
    }
}
