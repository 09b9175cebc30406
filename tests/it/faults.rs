//! Faults under the data directory, as an operator meets them: the disk full or read-only
//! (a small tmpfs the test mounts), a corrupt or truncated `store.redb`, and `kill -9`
//! while commits are in flight. Whatever happens, an acknowledged write is never lost, a
//! refused one says why, and nothing on disk is overwritten to make the error go away.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

use crate::crash::Node;
use crate::kubectl::{Cluster, needs_kubectl};

/// A small tmpfs the test mounts (and unmounts when dropped); `None` where this process
/// may not mount (not root), which the test reports.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("cannot mount a tmpfs here (not root?): skipping");
        }
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills `dir` until the filesystem refuses more; returns the filler file.
fn fill(dir: &Path, name: &str) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 64 << 10];
    while f.write_all(&block).is_ok() {}
    // Whatever a smaller write can still take, too.
    while f.write_all(&[0x5a; 512]).is_ok() {}
    let _ = f.sync_all();
    path
}

/// With the data directory full, creates once answered 201 while every commit failed, and
/// a restart lost them. Now a write is answered only once it is durable; while the store
/// cannot commit, writes get 500 with the reason, `/readyz` fails naming it, and when space
/// returns the store recovers by itself. Every acknowledged write survives a restart.
#[test]
fn a_full_disk_fails_writes_loudly_and_loses_no_acknowledged_one() {
    if !needs_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Tmpfs::mount(&dir.path().join("data"), "16m") else {
        return;
    };
    let mut c = Cluster::start_in(dir, |_| {});
    let job = |name: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  suspend: true\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: main, image: pi.wasm, args: [\"{}\"]}}\n",
            // Big enough that the store needs new pages soon.
            "x".repeat(16 << 10)
        )
    };
    let create = |c: &Cluster, name: &str| {
        let f = c.write(&format!("{name}.yaml"), &job(name));
        c.kubectl(&["create", "-f", &f])
    };
    let first = create(&c, "before");
    assert!(first.status.success(), "{first:?}");

    let filler = fill(&c.data_dir(), "filler");
    let mut acknowledged = vec!["before".to_string()];
    let mut refusal = None;
    for i in 0..400 {
        let name = format!("full-{i}");
        let out = create(&c, &name);
        if out.status.success() {
            acknowledged.push(name);
        } else {
            refusal = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
    }
    let refusal = refusal.expect("a full disk never refused a write");
    assert!(
        refusal.contains("Error from server (InternalError)")
            && refusal.contains("cannot commit")
            && refusal.contains("No space left on device"),
        "{refusal}"
    );
    // Not ready, saying why. The store retries a refused write, and a retry after redb
    // reopened can find pages the failed commits freed (the write then becomes durable, as
    // an etcd write whose request timed out may): readiness is the state now, so the disk
    // is topped up and written again until the store is stuck.
    let mut fillers = vec![filler];
    let mut not_ready = None;
    for attempt in 0..5 {
        let out = c.kubectl(&["get", "--raw", "/readyz"]);
        if !out.status.success() {
            not_ready = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
        fillers.push(fill(&c.data_dir(), &format!("filler-{attempt}")));
        let name = format!("again-{attempt}");
        if create(&c, &name).status.success() {
            acknowledged.push(name);
        }
    }
    let err = not_ready.expect("a full disk never made the server not ready");
    assert!(err.contains("[-]store failed"), "{err}");
    // A delete needs new pages too and is refused the same way; should the store's retry
    // have found pages its failed commits freed, it was durable when answered.
    let out = c.kubectl(&["delete", "job", "before"]);
    let before_deleted = out.status.success();
    if !before_deleted {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("InternalError"), "{err}");
    }
    assert!(c.ok(&["get", "--raw", "/livez"]).contains("ok"));
    // Reads still work. `before` is gone if its delete was answered; a refused delete may
    // still have happened (its commit failed after it was applied, as an etcd request that
    // timed out may have), so then either is right.
    let jobs = c.ok(&["get", "jobs"]);
    if before_deleted {
        assert!(!jobs.contains("before"), "{jobs}");
    }

    // Space returns: the store recovers without a restart.
    for f in &fillers {
        std::fs::remove_file(f).unwrap();
    }
    c.eventually("the store to recover", || {
        c.kubectl(&["get", "--raw", "/readyz"]).status.success()
    });
    let after = create(&c, "after");
    assert!(after.status.success(), "{after:?}");
    acknowledged.push("after".into());
    if !before_deleted {
        c.ok(&["delete", "job", "before", "--ignore-not-found"]);
    }
    acknowledged.remove(0);

    c.restart();
    let listed = c.ok(&["get", "jobs", "-o", "name"]);
    for name in &acknowledged {
        assert!(
            listed.contains(&format!("job.batch/{name}\n")),
            "acknowledged {name} lost: {listed}"
        );
    }
    assert!(
        !listed.contains("job.batch/before\n"),
        "an acknowledged delete was undone: {listed}"
    );
    drop(c);
    drop(mount);
}

fn remount(at: &Path, mode: &str) {
    let ok = Command::new("mount")
        .args(["-o", &format!("remount,{mode}")])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "remount {mode} of {}", at.display());
}

/// A data directory that is read-only (a disk the kernel remounted after errors, an
/// operator's mistake): the server refuses to start, naming the directory and the cause,
/// and changes nothing; writable again, it starts with every object. (The kernel refuses
/// to remount a filesystem read-only while the server holds its store open for writing,
/// so a running server meets this as failed commits, the path the full-disk test takes.)
#[test]
fn a_read_only_data_dir_is_refused_at_start_and_loses_nothing() {
    if !needs_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let Some(mount) = Tmpfs::mount(&data, "64m") else {
        return;
    };
    let mut c = Cluster::start_in(dir, |_| {});
    c.ok(&["create", "job", "before", "--image=pi.wasm"]);
    let images = c.data_dir().join("../images");
    c.stop();
    let store = std::fs::read(data.join("store.redb")).unwrap();

    remount(&data, "ro");
    let (code, err) = serve_once(&data, &images);
    remount(&data, "rw");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("Read-only file system") && err.contains(&data.display().to_string()),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read(data.join("store.redb")).unwrap(), store);

    c.start_again();
    assert!(
        c.ok(&["get", "jobs", "-o", "name"])
            .contains("job.batch/before\n")
    );
    drop(c);
    drop(mount);
}

/// Runs `wasmjob serve` on `data` expecting it to refuse to start: its exit code and
/// stderr. A server that starts instead is killed after 20 s and reported as `None`.
fn serve_once(data: &Path, images: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data)
        .arg("--image-dir")
        .arg(images)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, err)
}

/// A `store.redb` damaged every way a disk or a hand can damage it (garbage, truncated at
/// several points): the server refuses to start with
/// an error naming the file and the damage, exits 2, and leaves the file exactly as it
/// was (a repair is the operator's decision, from a backup). The undamaged file starts
/// with every object in it.
#[test]
fn a_corrupt_store_is_refused_by_name_and_left_untouched() {
    if !needs_kubectl() {
        return;
    }
    let node = Node::new();
    let server = node.start();
    for i in 0..5 {
        let (ok, _, err) = node.kubectl(&["create", "job", &format!("j{i}"), "--image=pi.wasm"]);
        assert!(ok, "{err}");
    }
    drop(server);
    let store = node.dir().join("data/store.redb");
    let good = std::fs::read(&store).unwrap();
    // (A flipped byte is caught by redb's checksums only where it lands in a live page; in
    // a free one it is harmless, so it is no deterministic test.)
    let damages: [(&str, Vec<u8>); 4] = [
        (
            "garbage",
            (0..65_536u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("truncated to half", good[..good.len() / 2].to_vec()),
        ("truncated to a page", good[..4096].to_vec()),
        ("truncated to 100 bytes", good[..100].to_vec()),
    ];
    for (what, bytes) in damages {
        std::fs::write(&store, &bytes).unwrap();
        let (code, err) = serve_once(&node.dir().join("data"), &node.dir().join("images"));
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(
            err.contains(&format!("failed to open the store at {}", store.display())),
            "{what}: {err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_eq!(
            std::fs::read(&store).unwrap(),
            bytes,
            "{what}: the damaged file was changed"
        );
    }
    std::fs::write(&store, &good).unwrap();
    let _server = node.start();
    let (ok, listed, err) = node.kubectl(&["get", "jobs", "-o", "name"]);
    assert!(ok, "{err}");
    for i in 0..5 {
        assert!(listed.contains(&format!("job.batch/j{i}\n")), "{listed}");
    }
}

/// `kill -9` while four clients create and delete Jobs as fast as they can: after the
/// restart every create that was answered is there, every delete that was answered stays
/// done, and the store opens cleanly. (A write is answered only once its commit is
/// durable; what was in flight may land or not, as on a real API server.)
#[test]
fn kill_9_during_commits_loses_no_acknowledged_write() {
    if !needs_kubectl() {
        return;
    }
    let node = Arc::new(Node::new());
    let server = node.start();
    for i in 0..40 {
        let (ok, _, err) = node.kubectl(&["create", "job", &format!("d{i}"), "--image=pi.wasm"]);
        assert!(ok, "{err}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (node, stop) = (node.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut created, mut deleted) = (vec![], vec![]);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("c{t}-{i}");
                    if node.kubectl(&["create", "job", &name, "--image=pi.wasm"]).0 {
                        created.push(name);
                    }
                    let victim = format!("d{}", t * 10 + i % 10);
                    if i < 10 && node.kubectl(&["delete", "job", &victim, "--wait=false"]).0 {
                        deleted.push(victim);
                    }
                    i += 1;
                }
                (created, deleted)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2_500));
    drop(server); // SIGKILL
    stop.store(true, Ordering::Relaxed);
    let (mut created, mut deleted) = (vec![], vec![]);
    for c in clients {
        let (c, d) = c.join().unwrap();
        created.extend(c);
        deleted.extend(d);
    }
    assert!(created.len() >= 4, "too few writes to test: {created:?}");

    let _server = node.start();
    let (ok, listed, err) = node.kubectl(&["get", "jobs", "-o", "name"]);
    assert!(ok, "{err}");
    for name in &created {
        assert!(
            listed.contains(&format!("job.batch/{name}\n")),
            "acknowledged create of {name} lost: {listed}"
        );
    }
    for name in &deleted {
        assert!(
            !listed.contains(&format!("job.batch/{name}\n")),
            "acknowledged delete of {name} undone: {listed}"
        );
    }
}
