//! Which `hostPath` volumes a node accepts: the operator's allow-list (`serve
//! --allow-host-path DIR[,DIR…]`, none by default) and the node's own directories (data
//! dir, module cache), which no pod may see, nor any directory that contains one.
//!
//! The checks here are lexical, for admission. The kubelet repeats them on the directory
//! it actually opened (its real path), since a symlink can make a path mean another.

use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::PodSpec;

/// The node's `hostPath` rules.
#[derive(Clone, Debug, Default)]
pub struct HostPathPolicy {
    /// `None`: any directory (`wasmjob run`, a single-user tool); `Some(dirs)`: only
    /// directories under one of `dirs` (`serve`; empty refuses every hostPath).
    pub allowed: Option<Vec<PathBuf>>,
    /// The node's own directories, absolute and without symlinks.
    pub protected: Vec<PathBuf>,
}

impl HostPathPolicy {
    /// Any directory but the protected ones.
    pub fn any_but(protected: Vec<PathBuf>) -> Self {
        HostPathPolicy {
            allowed: None,
            protected,
        }
    }

    /// Only directories under `allowed`, never the protected ones.
    pub fn only_under(allowed: Vec<PathBuf>, protected: Vec<PathBuf>) -> Self {
        HostPathPolicy {
            allowed: Some(allowed),
            protected,
        }
    }

    /// The allowed directory that contains `path` and the rest of `path` below it, or why
    /// none does. Under `wasmjob run` (no allow-list) the root is `path` itself.
    pub fn root_of<'a>(&'a self, path: &'a Path) -> Result<(&'a Path, PathBuf), String> {
        let Some(allowed) = &self.allowed else {
            return Ok((path, PathBuf::new()));
        };
        let clean = normalize(path);
        allowed
            .iter()
            .filter_map(|dir| Some((dir.as_path(), clean.strip_prefix(normalize(dir)).ok()?)))
            .max_by_key(|(dir, _)| dir.components().count())
            .map(|(dir, rest)| (dir, rest.to_path_buf()))
            .ok_or_else(|| self.not_allowed())
    }

    fn not_allowed(&self) -> String {
        match self.allowed.as_deref() {
            Some([]) | None => {
                "this server allows no hostPath volumes (serve --allow-host-path DIR allows some)"
                    .to_string()
            }
            Some(dirs) => format!(
                "this server allows hostPath volumes only under {} (serve --allow-host-path)",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Refuses `path` when it is, contains or lies inside a protected directory. `path`
    /// should be the real path of the directory (no symlinks) when it comes from the node.
    pub fn check_protected(&self, path: &Path) -> Result<(), String> {
        let clean = normalize(path);
        for p in &self.protected {
            let p = normalize(p);
            if clean.starts_with(&p) || p.starts_with(&clean) {
                return Err(format!(
                    "{} is or contains this node's own directory {}, which no pod may mount",
                    clean.display(),
                    p.display()
                ));
            }
        }
        Ok(())
    }

    /// Admission: the `hostPath` volumes of a pod spec this node refuses, as
    /// `(volume name, path, why)`.
    pub fn refused(&self, spec: &PodSpec) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for v in spec.volumes.iter().flatten() {
            let Some(hp) = &v.host_path else { continue };
            let path = Path::new(&hp.path);
            let verdict = self
                .root_of(path)
                .map(|_| ())
                .and_then(|()| self.check_protected(path));
            if let Err(why) = verdict {
                out.push((v.name.clone(), hp.path.clone(), why));
            }
        }
        out
    }
}

/// `path` without `.` components, repeated or trailing slashes. (`..` is refused by
/// validation before any of this runs, and kept here so it never matches a prefix.)
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(allowed: &[&str]) -> HostPathPolicy {
        HostPathPolicy::only_under(
            allowed.iter().map(PathBuf::from).collect(),
            vec![PathBuf::from("/var/lib/wasmjob")],
        )
    }

    #[test]
    fn by_default_serve_allows_no_host_path() {
        let err = serve(&[]).root_of(Path::new("/srv")).unwrap_err();
        assert!(err.contains("allows no hostPath volumes"), "{err}");
    }

    #[test]
    fn only_paths_under_an_allowed_directory_are_admitted() {
        let p = serve(&["/srv/data", "/srv/data/deep"]);
        let (root, rest) = p.root_of(Path::new("/srv/data/deep/x")).unwrap();
        assert_eq!(
            (root, rest.as_path()),
            (Path::new("/srv/data/deep"), Path::new("x"))
        );
        let (root, rest) = p.root_of(Path::new("/srv/data/")).unwrap();
        assert_eq!(
            (root, rest.as_path()),
            (Path::new("/srv/data"), Path::new(""))
        );
        assert!(p.root_of(Path::new("/srv/database")).is_err());
        assert!(p.root_of(Path::new("/srv")).is_err());
        assert!(p.root_of(Path::new("/")).is_err());
        assert!(p.root_of(Path::new("/srv/./data/x")).is_ok());
    }

    #[test]
    fn the_node_directories_and_their_ancestors_are_protected() {
        let p = HostPathPolicy::any_but(vec![PathBuf::from("/var/lib/wasmjob")]);
        assert!(p.check_protected(Path::new("/")).is_err());
        assert!(p.check_protected(Path::new("/var/lib")).is_err());
        assert!(
            p.check_protected(Path::new("/var/lib/wasmjob/modules"))
                .is_err()
        );
        assert!(p.check_protected(Path::new("/var/lib/wasmjob//")).is_err());
        assert!(
            p.check_protected(Path::new("/var/lib/wasmjob-other"))
                .is_ok()
        );
        assert!(p.check_protected(Path::new("/srv")).is_ok());
    }

    #[test]
    fn run_allows_any_directory_but_the_protected_ones() {
        let p = HostPathPolicy::any_but(vec![PathBuf::from("/home/u/.cache/wasmjob")]);
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [],
            "volumes": [
                {"name": "a", "hostPath": {"path": "/srv"}},
                {"name": "b", "hostPath": {"path": "/"}},
                {"name": "c", "emptyDir": {}},
            ]
        }))
        .unwrap();
        let refused = p.refused(&spec);
        assert_eq!(refused.len(), 1);
        assert_eq!((refused[0].0.as_str(), refused[0].1.as_str()), ("b", "/"));
    }
}
