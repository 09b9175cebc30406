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

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

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

enum Msg {
    Write(u64, Vec<Change>),
    Flush(mpsc::Sender<()>),
}

/// The embedded ACID backend: a redb database file, written by one thread in group commits.
pub struct Redb {
    db: std::sync::Arc<Database>,
    tx: std::sync::Mutex<Option<mpsc::Sender<Msg>>>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Redb {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let open_error = |e: &dyn std::fmt::Display| Error::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let db = std::sync::Arc::new(Database::create(path).map_err(|e| open_error(&e))?);
        {
            let txn = db.begin_write().map_err(|e| open_error(&e))?;
            txn.open_table(OBJECTS).map_err(|e| open_error(&e))?;
            txn.open_table(META).map_err(|e| open_error(&e))?;
            txn.commit().map_err(|e| open_error(&e))?;
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let writer_db = db.clone();
        let writer = std::thread::Builder::new()
            .name("wasmjob-store".into())
            .spawn(move || write_loop(&writer_db, rx))
            .map_err(|e| open_error(&e))?;
        Ok(Redb {
            db,
            tx: std::sync::Mutex::new(Some(tx)),
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }
}

fn write_loop(db: &Database, rx: mpsc::Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        // Group commit: everything already queued goes into one transaction.
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        let mut waiters = Vec::new();
        let result = (|| -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            {
                let mut objects = txn.open_table(OBJECTS)?;
                let mut meta = txn.open_table(META)?;
                let mut last = None;
                for m in batch {
                    match m {
                        Msg::Write(rev, changes) => {
                            for c in changes {
                                match c.value {
                                    Some(v) => {
                                        objects.insert(c.key.as_str(), v.as_slice())?;
                                    }
                                    None => {
                                        objects.remove(c.key.as_str())?;
                                    }
                                }
                            }
                            last = Some(rev);
                        }
                        Msg::Flush(done) => waiters.push(done),
                    }
                }
                if let Some(rev) = last {
                    meta.insert("revision", rev)?;
                }
            }
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "store commit failed; the latest writes are not durable");
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

impl Backend for Redb {
    fn load(&self) -> Result<Snapshot, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Open {
            path: "store".into(),
            message: e.to_string(),
        };
        let txn = self.db.begin_read().map_err(|e| err(&e))?;
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
