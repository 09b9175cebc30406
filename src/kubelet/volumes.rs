//! A pod's volumes on the node: `emptyDir` and `hostPath` opened as directory handles, and
//! every path the pod names inside one (`subPath`, `subPathExpr`) resolved through that
//! handle, never by joining host paths. cap-std refuses any step that would leave the
//! handle's directory (`..`, an absolute symlink, a relative one that climbs out), so a
//! symlink a guest planted in its volume cannot make the kubelet mount, create or open
//! anything outside it: the class of Kubernetes' CVE-2017-1002101, closed as upstream's fix
//! does (open each component relative to the volume, then hand the open directory over).
//!
//! `configMap` and `secret` volumes are the object's keys written as files (all of them,
//! or the `items` named) into a fresh directory under the pod's, mounted read-only. They
//! are written once, when the pod starts: upstream refreshes them while the pod runs.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use k8s_openapi::api::core::v1::{KeyToPath, Pod, VolumeMount};

use super::Error;
use super::env::ConfigSource;
use crate::api::defaults::DEFAULT_FILE_MODE;
use crate::api::host_path::HostPathPolicy;

/// One prepared volume.
#[derive(Clone)]
pub(super) struct Volume {
    /// The volume's directory.
    pub dir: Arc<Dir>,
    /// Its host path, for messages.
    pub source: PathBuf,
    /// A read-only volume source.
    pub read_only: bool,
}

/// Opens the pod's volumes: `emptyDir`s under `pod_dir/volumes`, `hostPath`s as `policy`
/// allows, `configMap`s and `secret`s written from `source`. Errors are the kubelet's
/// `FailedMount` messages; [`Error::MountVolumeLater`] says a ConfigMap or Secret (or a
/// key) is missing, which may change.
pub(super) fn prepare(
    pod: &Pod,
    pod_dir: &Path,
    policy: &HostPathPolicy,
    source: &dyn ConfigSource,
) -> Result<HashMap<String, Volume>, Error> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out = HashMap::new();
    for v in pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
    {
        let failed = |cause: String| Error::MountVolume {
            volume: v.name.clone(),
            cause,
        };
        let later = |cause: String| Error::MountVolumeLater {
            volume: v.name.clone(),
            cause,
        };
        // The pod's directory is the kubelet's own and no guest sees it: plain paths are
        // safe for the volumes made there.
        let own = || -> Result<(Dir, PathBuf), Error> {
            let path = pod_dir.join("volumes").join(&v.name);
            crate::private_fs::create_dir_all(&path).map_err(|e| failed(e.to_string()))?;
            let dir = Dir::open_ambient_dir(&path, ambient_authority())
                .map_err(|e| failed(e.to_string()))?;
            Ok((dir, path))
        };
        let (dir, source_path, read_only) = if v.empty_dir.is_some() {
            let (dir, path) = own()?;
            (dir, path, false)
        } else if let Some(hp) = &v.host_path {
            let create = match hp.type_.as_deref().unwrap_or("") {
                "DirectoryOrCreate" => true,
                "" | "Directory" => false,
                other => {
                    return Err(failed(format!(
                        "hostPath type {other:?} is not supported for wasm containers (only directories)"
                    )));
                }
            };
            let path = PathBuf::from(&hp.path);
            let dir = open_host_path(&path, create, policy).map_err(failed)?;
            (dir, path, false)
        } else if let Some(cm) = &v.config_map {
            let files = match source.config_map(ns, &cm.name) {
                Some(obj) => {
                    let mut keys: Vec<(String, Vec<u8>)> = obj
                        .data
                        .iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                        .collect();
                    keys.extend(
                        obj.binary_data
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.0.clone())),
                    );
                    payload(keys, cm.items.as_deref(), cm.default_mode, cm.optional).map_err(
                        |key| {
                            later(format!(
                                "configmap references non-existent config key: {key}"
                            ))
                        },
                    )?
                }
                None if cm.optional == Some(true) => Vec::new(),
                None => return Err(later(format!("configmap {:?} not found", cm.name))),
            };
            let (dir, path) = own()?;
            write_files(&dir, &files).map_err(later)?;
            (dir, path, true)
        } else if let Some(secret) = &v.secret {
            let name = secret.secret_name.as_deref().unwrap_or_default();
            let files = match source.secret(ns, name) {
                Some(obj) => {
                    let keys = obj
                        .data
                        .iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.0.clone()))
                        .collect();
                    payload(
                        keys,
                        secret.items.as_deref(),
                        secret.default_mode,
                        secret.optional,
                    )
                    .map_err(|key| later(format!("references non-existent secret key: {key}")))?
                }
                None if secret.optional == Some(true) => Vec::new(),
                None => return Err(later(format!("secret {name:?} not found"))),
            };
            let (dir, path) = own()?;
            write_files(&dir, &files).map_err(later)?;
            (dir, path, true)
        } else {
            return Err(failed(
                "only emptyDir, hostPath, configMap and secret volumes are supported".into(),
            ));
        };
        out.insert(
            v.name.clone(),
            Volume {
                dir: Arc::new(dir),
                source: source_path,
                read_only,
            },
        );
    }
    Ok(out)
}

/// One file of a configMap or secret volume: its path in the volume, bytes and mode.
#[derive(Debug, PartialEq)]
pub(super) struct File {
    pub path: String,
    pub bytes: Vec<u8>,
    pub mode: i32,
}

/// The files a volume shows (`MakePayload`): every key as a file of its name, or the
/// `items` named, at their paths; `Err` is a key `items` names that the object lacks (and
/// that is no error when the volume is `optional`).
pub(super) fn payload(
    keys: Vec<(String, Vec<u8>)>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: Option<bool>,
) -> Result<Vec<File>, String> {
    let default_mode = default_mode.unwrap_or(DEFAULT_FILE_MODE);
    let Some(items) = items.filter(|i| !i.is_empty()) else {
        return Ok(keys
            .into_iter()
            .map(|(path, bytes)| File {
                path,
                bytes,
                mode: default_mode,
            })
            .collect());
    };
    let mut files = Vec::new();
    for item in items {
        match keys.iter().find(|(k, _)| *k == item.key) {
            Some((_, bytes)) => files.push(File {
                path: item.path.clone(),
                bytes: bytes.clone(),
                mode: item.mode.unwrap_or(default_mode),
            }),
            None if optional == Some(true) => {}
            None => return Err(item.key.clone()),
        }
    }
    Ok(files)
}

/// Writes `files` into the volume's directory, emptied first (a retried start writes it
/// again), each path confined to it.
fn write_files(dir: &Dir, files: &[File]) -> Result<(), String> {
    use cap_std::fs::PermissionsExt;
    for entry in dir.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name();
        let removed = if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            dir.remove_dir_all(&name)
        } else {
            dir.remove_file(&name)
        };
        removed.map_err(|e| format!("{}: {e}", name.to_string_lossy()))?;
    }
    for f in files {
        let rel = Path::new(&f.path);
        // Validation refused these already; the files are the kubelet's to keep inside.
        if f.path.is_empty()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "{:?} is not a relative path inside the volume",
                f.path
            ));
        }
        let at = |e: std::io::Error| format!("{}: {e}", f.path);
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            dir.create_dir_all(parent).map_err(at)?;
        }
        dir.write(rel, &f.bytes).map_err(at)?;
        // The guest reads through the kubelet's own user, which owns the file: upstream's
        // root-owned files stay readable to a root container whatever the mode, so the
        // owner's read bit is always set here.
        let mode = (u32::try_from(f.mode).unwrap_or(DEFAULT_FILE_MODE as u32) & 0o777) | 0o400;
        dir.set_permissions(rel, cap_std::fs::Permissions::from_mode(mode))
            .map_err(at)?;
    }
    Ok(())
}

/// Opens a `hostPath` directory: below the allowed directory that contains it (resolved
/// inside that directory's handle), and never one that is, contains or lies inside the
/// node's own directories, judged on the real path of what was opened.
fn open_host_path(path: &Path, create: bool, policy: &HostPathPolicy) -> Result<Dir, String> {
    // Lexically first, so that nothing is created where no pod may look.
    policy.check_protected(path)?;
    let (root, rest) = policy.root_of(path)?;
    let root_dir = Dir::open_ambient_dir(root, ambient_authority());
    let dir = match root_dir {
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && create && policy.allowed.is_none() =>
        {
            // `wasmjob run` (no allow-list): the user's own machine, created as asked.
            std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
            Dir::open_ambient_dir(root, ambient_authority())
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(format!(
                "hostPath type check failed: {} is not a directory",
                path.display()
            ));
        }
        other => other,
    }
    .map_err(|e| format!("{}: {e}", root.display()))?;
    let dir = if rest.as_os_str().is_empty() {
        dir
    } else {
        open_below(&dir, &rest, create).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => format!(
                "hostPath type check failed: {} is not a directory",
                path.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?
    };
    let real = real_path(&dir).map_err(|e| format!("{}: {e}", path.display()))?;
    policy.check_protected(&real)?;
    Ok(dir)
}

/// The directory a volume mount shows: the volume itself, or its `subPath` (or expanded
/// `subPathExpr`) opened inside it, created first if missing as the kubelet does.
pub(super) fn mount_dir(
    volume: &Volume,
    mount: &VolumeMount,
    container: &str,
    env: &[(String, String)],
) -> Result<Arc<Dir>, Error> {
    // Messages show a `subPathExpr` as written: expanded, it may carry a Secret's value.
    let (sub, shown) = match (mount.sub_path.as_deref(), mount.sub_path_expr.as_deref()) {
        (Some(s), _) if !s.is_empty() => (s.to_string(), s.to_string()),
        (_, Some(e)) if !e.is_empty() => (super::env::expand(e, env), e.to_string()),
        _ => return Ok(volume.dir.clone()),
    };
    let rel = Path::new(&sub);
    // Validation refused these already; an expanded `subPathExpr` is checked here, as the
    // kubelet checks it.
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::SubPathEscapes {
            mount: mount.name.clone(),
            container: container.into(),
            sub_path: shown,
        });
    }
    let writable = !volume.read_only;
    open_below(&volume.dir, rel, writable)
        .map(Arc::new)
        .map_err(|cause| Error::SubPath {
            mount: mount.name.clone(),
            container: container.into(),
            sub_path: shown.clone(),
            cause,
        })
}

/// Opens `rel` inside `dir` (creating it first when `create`), every step confined to
/// `dir`. A step through a symlink that leaves `dir` fails, whatever the guest arranged.
fn open_below(dir: &Dir, rel: &Path, create: bool) -> std::io::Result<Dir> {
    if create {
        match dir.create_dir_all(rel) {
            Ok(()) => {}
            // An existing non-directory is reported by the open below, with its reason.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    dir.open_dir(rel)
}

/// Disk use charged per file, directory or link at the least: one block, so that a flood
/// of empty files counts as the flood it is (du would count their directories' blocks).
pub(super) const MIN_CHARGE: u64 = 4096;
/// Directory levels a measurement descends (one descriptor each, held while walking).
const MAX_WALK_DEPTH: usize = 128;
/// Entries a measurement visits before it gives up.
const MAX_WALK_ENTRIES: u64 = 1_000_000;

/// What a volume uses on disk, as the kubelet's `du` measures it: allocated blocks of every
/// entry below `dir` (at least [`MIN_CHARGE`] each), never following a symlink. A tree
/// deeper than 128 levels or of more than a million entries cannot be measured and counts
/// as `u64::MAX`: over any limit, as it should be.
pub(super) fn usage(dir: &Dir) -> u64 {
    use cap_std::fs::MetadataExt;
    let mut total: u64 = 0;
    let mut seen: u64 = 0;
    let Ok(root) = dir.entries() else {
        return 0;
    };
    let mut stack = vec![root];
    while let Some(top) = stack.last_mut() {
        let Some(entry) = top.next() else {
            stack.pop();
            continue;
        };
        let Ok(entry) = entry else { continue };
        seen += 1;
        if seen > MAX_WALK_ENTRIES {
            return u64::MAX;
        }
        // Neither call follows a symlink: a link is charged as itself.
        let Ok(meta) = entry.metadata() else { continue };
        total = total.saturating_add((meta.blocks() * 512).max(MIN_CHARGE));
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if stack.len() >= MAX_WALK_DEPTH {
                return u64::MAX;
            }
            // Opened through the handle: if the guest swapped the directory for a symlink
            // meanwhile, cap-std still keeps the walk inside the volume.
            if let Ok(sub) = entry.open_dir().and_then(|d| d.entries()) {
                stack.push(sub);
            }
        }
    }
    total
}

/// The real path of an open directory, as the kernel knows it: no symlink can stand
/// between it and what was opened.
fn real_path(dir: &Dir) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd()))
}

/// `path` with symlinks resolved, or as given when it does not exist (yet): how the node
/// names its own directories in a [`HostPathPolicy`].
pub fn real_path_or_given(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(dir: &Path) -> Volume {
        Volume {
            dir: Arc::new(Dir::open_ambient_dir(dir, ambient_authority()).unwrap()),
            source: dir.to_path_buf(),
            read_only: false,
        }
    }

    fn mount(sub: &str) -> VolumeMount {
        VolumeMount {
            name: "v".into(),
            mount_path: "/m".into(),
            sub_path: Some(sub.into()),
            ..Default::default()
        }
    }

    fn item(key: &str, path: &str, mode: Option<i32>) -> KeyToPath {
        KeyToPath {
            key: key.into(),
            path: path.into(),
            mode,
        }
    }

    #[test]
    fn a_payload_is_every_key_or_the_items_named() {
        let keys = || {
            vec![
                ("a".to_string(), b"1".to_vec()),
                ("b".to_string(), b"2".to_vec()),
            ]
        };
        let all = payload(keys(), None, None, None).unwrap();
        assert_eq!(
            all.iter()
                .map(|f| (f.path.as_str(), f.mode))
                .collect::<Vec<_>>(),
            [("a", 0o644), ("b", 0o644)]
        );
        let items = [
            item("b", "dir/b.txt", Some(0o400)),
            item("a", "a.txt", None),
        ];
        let some = payload(keys(), Some(&items), Some(0o440), None).unwrap();
        assert_eq!(
            some,
            [
                File {
                    path: "dir/b.txt".into(),
                    bytes: b"2".to_vec(),
                    mode: 0o400
                },
                File {
                    path: "a.txt".into(),
                    bytes: b"1".to_vec(),
                    mode: 0o440
                },
            ]
        );
        let missing = [item("zz", "z", None)];
        assert_eq!(
            payload(keys(), Some(&missing), None, None),
            Err("zz".to_string())
        );
        assert_eq!(
            payload(keys(), Some(&missing), None, Some(true)),
            Ok(vec![])
        );
    }

    #[test]
    fn volume_files_are_written_fresh_inside_the_volume_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap();
        std::fs::write(tmp.path().join("stale"), b"old").unwrap();
        let file = |path: &str| File {
            path: path.into(),
            bytes: b"x".to_vec(),
            mode: 0o400,
        };
        write_files(&dir, &[file("a/b/c.txt")]).unwrap();
        assert!(!tmp.path().join("stale").exists());
        let written = tmp.path().join("a/b/c.txt");
        assert_eq!(std::fs::read(&written).unwrap(), b"x");
        assert_eq!(
            std::fs::metadata(&written).unwrap().permissions().mode() & 0o777,
            0o400
        );
        for escaping in ["../out", "/etc/x", "a/../../out", ""] {
            assert!(
                write_files(&dir, &[file(escaping)]).is_err(),
                "{escaping:?}"
            );
        }
        let outside = tempfile::tempdir().unwrap();
        let inner = outside.path().join("vol");
        std::fs::create_dir(&inner).unwrap();
        let dir = Dir::open_ambient_dir(&inner, ambient_authority()).unwrap();
        for escaping in ["../out", "a/../../out"] {
            assert!(
                write_files(&dir, &[file(escaping)]).is_err(),
                "{escaping:?}"
            );
        }
        assert!(!outside.path().join("out").exists());
    }

    #[test]
    fn usage_counts_blocks_and_entries_and_never_follows_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = tmp.path().join("v");
        std::fs::create_dir_all(vol.join("a/b")).unwrap();
        std::fs::write(vol.join("a/b/big"), vec![1u8; 1 << 20]).unwrap();
        for i in 0..100 {
            std::fs::write(vol.join(format!("empty{i}")), b"").unwrap();
        }
        // Links to a big file and a tree outside are charged as links, not as their targets.
        std::fs::write(tmp.path().join("outside"), vec![1u8; 4 << 20]).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), vol.join("file")).unwrap();
        std::os::unix::fs::symlink("../../..", vol.join("escape")).unwrap();
        let dir = Dir::open_ambient_dir(&vol, ambient_authority()).unwrap();
        let used = usage(&dir);
        let floor = (1 << 20) + 104 * MIN_CHARGE;
        assert!(used >= floor, "{used} < {floor}");
        assert!(used < floor + (1 << 20), "{used}");
    }

    #[test]
    fn a_tree_too_deep_to_measure_counts_as_full() {
        let tmp = tempfile::tempdir().unwrap();
        let mut deep = tmp.path().join("v");
        for _ in 0..(MAX_WALK_DEPTH + 2) {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let dir = Dir::open_ambient_dir(tmp.path().join("v"), ambient_authority()).unwrap();
        assert_eq!(usage(&dir), u64::MAX);
    }

    #[test]
    fn a_sub_path_through_a_climbing_symlink_is_refused() {
        let host = tempfile::tempdir().unwrap();
        let vol = host.path().join("vol");
        std::fs::create_dir(&vol).unwrap();
        // What an init container can make with WASI: a relative symlink that climbs out.
        std::os::unix::fs::symlink("../../../../../../../..", vol.join("x")).unwrap();
        std::os::unix::fs::symlink("/", vol.join("abs")).unwrap();
        let v = volume(&vol);
        for sub in ["x", "x/etc", "abs", "abs/tmp", "x/new-dir"] {
            let err = mount_dir(&v, &mount(sub), "c", &[]).err();
            assert!(err.is_some(), "subPath {sub} was mounted");
        }
        // Nothing was created outside the volume while trying.
        assert!(!Path::new("/new-dir").exists());
    }

    #[test]
    fn a_sub_path_inside_the_volume_is_created_and_symlinks_within_it_are_followed() {
        let host = tempfile::tempdir().unwrap();
        let v = volume(host.path());
        let dir = mount_dir(&v, &mount("a/b"), "c", &[]).unwrap();
        dir.write("f", "x").unwrap();
        assert!(host.path().join("a/b/f").exists());
        std::os::unix::fs::symlink("a", host.path().join("link")).unwrap();
        let dir = mount_dir(&v, &mount("link/b"), "c", &[]).unwrap();
        assert!(dir.exists("f"));
    }

    #[test]
    fn sub_path_expr_is_expanded_and_confined() {
        let host = tempfile::tempdir().unwrap();
        let v = volume(host.path());
        let m = VolumeMount {
            sub_path: None,
            sub_path_expr: Some("out/$(POD_NAME)".into()),
            ..mount("")
        };
        let env = [("POD_NAME".to_string(), "pi-abcde".to_string())];
        mount_dir(&v, &m, "c", &env).unwrap();
        assert!(host.path().join("out/pi-abcde").is_dir());
        let env = [("POD_NAME".to_string(), "../..".to_string())];
        assert!(mount_dir(&v, &m, "c", &env).is_err());
    }

    #[test]
    fn a_host_path_through_a_symlink_out_of_the_allowed_directory_is_refused() {
        let host = tempfile::tempdir().unwrap();
        let allowed = host.path().join("shared");
        std::fs::create_dir(&allowed).unwrap();
        std::os::unix::fs::symlink("/", allowed.join("root")).unwrap();
        std::fs::create_dir(allowed.join("ok")).unwrap();
        let policy = HostPathPolicy::only_under(vec![allowed.clone()], vec![]);
        assert!(open_host_path(&allowed.join("root"), false, &policy).is_err());
        assert!(open_host_path(&allowed.join("root/etc"), false, &policy).is_err());
        assert!(open_host_path(&allowed.join("ok"), false, &policy).is_ok());
        assert!(open_host_path(&allowed.join("new"), true, &policy).is_ok());
        assert!(open_host_path(host.path(), false, &policy).is_err());
    }

    #[test]
    fn a_symlink_to_the_node_directories_is_refused_even_without_an_allow_list() {
        let host = tempfile::tempdir().unwrap();
        let data = host.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let data = std::fs::canonicalize(data).unwrap();
        std::os::unix::fs::symlink(&data, host.path().join("sneaky")).unwrap();
        let policy = HostPathPolicy::any_but(vec![data.clone()]);
        let err = open_host_path(&host.path().join("sneaky"), false, &policy).unwrap_err();
        assert!(err.contains("own directory"), "{err}");
        assert!(open_host_path(&data.join("modules"), true, &policy).is_err());
        let other = host.path().join("other");
        assert!(open_host_path(&other, true, &policy).is_ok());
    }
}
