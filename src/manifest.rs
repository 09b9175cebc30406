//! Reading Job manifests: multi-document YAML (or JSON) files and stdin, as `kubectl` reads
//! them, with errors that name the file and document. Next to the Jobs a file may hold the
//! ConfigMaps and Secrets they use.

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde::Deserialize;

/// What a set of manifests holds.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    /// The Jobs, in file order.
    pub jobs: Vec<LoadedJob>,
    /// The ConfigMaps, as written.
    pub config_maps: Vec<ConfigMap>,
    /// The Secrets, as written.
    pub secrets: Vec<Secret>,
}

impl Manifests {
    /// Adds what `other` holds after what this holds.
    pub fn extend(&mut self, other: Manifests) {
        self.jobs.extend(other.jobs);
        self.config_maps.extend(other.config_maps);
        self.secrets.extend(other.secrets);
    }
}

/// A Job read from a file, with the directory its relative image paths are resolved in.
#[derive(Clone, Debug)]
pub struct LoadedJob {
    /// The Job as written (not yet defaulted).
    pub job: Job,
    /// The manifest's directory (the current directory for stdin).
    pub base_dir: PathBuf,
    /// Where it came from, for messages (`job.yaml`, `-`).
    pub source: String,
}

/// Why a manifest could not be read. Messages follow kubectl's wording.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("the path \"{path}\" does not exist")]
    Missing {
        /// The path as given.
        path: String,
    },
    /// The file could not be read for another reason.
    #[error("error reading {path}: {cause}")]
    Read {
        /// The path as given.
        path: String,
        /// Cause.
        cause: std::io::Error,
    },
    /// Not YAML, or not an object.
    #[error("error parsing {path}: {message}")]
    Parse {
        /// The path as given.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A document of another kind.
    #[error(
        "resource mapping not found for name: {name:?} namespace: {namespace:?} from {path:?}: no matches for kind {kind:?} in version {api_version:?}"
    )]
    UnsupportedKind {
        /// The path as given.
        path: String,
        /// metadata.name.
        name: String,
        /// metadata.namespace.
        namespace: String,
        /// kind.
        kind: String,
        /// apiVersion.
        api_version: String,
    },
    /// A document that does not decode into its kind's schema.
    #[error("error decoding {kind} {name:?} from {path}: {message}")]
    Decode {
        /// `Job`, `ConfigMap`, `Secret`.
        kind: &'static str,
        /// The path as given.
        path: String,
        /// metadata.name, if readable.
        name: String,
        /// What the decoder said.
        message: String,
    },
}

/// Reads every Job, ConfigMap and Secret in `path` (`-` for stdin). Empty documents are
/// skipped; a `List` of items is unpacked, as kubectl does.
pub fn load(path: &str) -> Result<Manifests, Error> {
    let (text, base_dir) = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|source| {
            Error::Read {
                path: path.into(),
                cause: source,
            }
        })?;
        (
            s,
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        )
    } else {
        let p = Path::new(path);
        let text = std::fs::read_to_string(p).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::Missing { path: path.into() }
            } else {
                Error::Read {
                    path: path.into(),
                    cause: source,
                }
            }
        })?;
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        (text, dir)
    };
    parse(&text, path, &base_dir)
}

/// Parses manifest text (see [`load`]).
pub fn parse(text: &str, source: &str, base_dir: &Path) -> Result<Manifests, Error> {
    let mut out = Manifests::default();
    crate::yaml::check_depth(text.as_bytes()).map_err(|e| Error::Parse {
        path: source.into(),
        message: format!("error converting YAML to JSON: {e}"),
    })?;
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = serde_yaml_ng::Value::deserialize(doc).map_err(|e| Error::Parse {
            path: source.into(),
            message: format!("error converting YAML to JSON: yaml: {e}"),
        })?;
        if value.is_null() {
            continue;
        }
        let value: serde_json::Value = serde_json::to_value(&value).map_err(|e| Error::Parse {
            path: source.into(),
            message: format!("error converting YAML to JSON: {e}"),
        })?;
        collect(value, source, base_dir, &mut out)?;
    }
    Ok(out)
}

fn collect(
    value: serde_json::Value,
    source: &str,
    base_dir: &Path,
    out: &mut Manifests,
) -> Result<(), Error> {
    let Some(obj) = value.as_object() else {
        return Err(Error::Parse {
            path: source.into(),
            message: "error unmarshaling JSON: json: cannot unmarshal non-object into Go value of type struct".into(),
        });
    };
    let text = |k: &str| {
        obj.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let meta = |k: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (kind, api_version) = (text("kind"), text("apiVersion"));
    if kind.is_empty() || api_version.is_empty() {
        let missing = if api_version.is_empty() {
            "apiVersion"
        } else {
            "kind"
        };
        return Err(Error::Parse {
            path: source.into(),
            message: format!("error validating data: {missing} not set"),
        });
    }
    if kind == "List" && api_version == "v1" {
        for item in obj
            .get("items")
            .and_then(|i| i.as_array())
            .cloned()
            .unwrap_or_default()
        {
            collect(item, source, base_dir, out)?;
        }
        return Ok(());
    }
    let name = meta("name");
    let decode_error = |kind: &'static str| {
        let name = name.clone();
        move |e: serde_json::Error| Error::Decode {
            kind,
            path: source.into(),
            name,
            message: if kind == "Secret" {
                crate::api::validation::redact_values(&e.to_string())
            } else {
                e.to_string()
            },
        }
    };
    match (api_version.as_str(), kind.as_str()) {
        ("batch/v1", "Job") => {
            let job: Job = serde_json::from_value(value).map_err(decode_error("Job"))?;
            out.jobs.push(LoadedJob {
                job,
                base_dir: base_dir.to_path_buf(),
                source: source.into(),
            });
        }
        ("v1", "ConfigMap") => out
            .config_maps
            .push(serde_json::from_value(value).map_err(decode_error("ConfigMap"))?),
        ("v1", "Secret") => out
            .secrets
            .push(serde_json::from_value(value).map_err(decode_error("Secret"))?),
        _ => {
            return Err(Error::UnsupportedKind {
                path: source.into(),
                name,
                namespace: meta("namespace"),
                kind,
                api_version,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_yields_each_job_and_skips_empty_documents() {
        let text = "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: a}\nspec: {template: {spec: {containers: []}}}\n---\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\nspec: {template: {spec: {containers: []}}}\n";
        let jobs = parse(text, "x.yaml", Path::new("/m")).unwrap().jobs;
        let names: Vec<_> = jobs
            .iter()
            .map(|j| j.job.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(jobs[0].base_dir, Path::new("/m"));
    }

    #[test]
    fn config_maps_and_secrets_are_read_beside_the_jobs() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: x}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n";
        let m = parse(text, "all.yaml", Path::new("/")).unwrap();
        assert_eq!(
            (m.jobs.len(), m.config_maps.len(), m.secrets.len()),
            (1, 1, 1)
        );
        let e = parse(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: [1]}\n",
            "bad.yaml",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error decoding ConfigMap \"c\" from bad.yaml: "),
            "{e}"
        );
    }

    #[test]
    fn other_kinds_are_refused_like_kubectl() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";
        let e = parse(text, "p.yaml", Path::new("/")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "resource mapping not found for name: \"p\" namespace: \"\" from \"p.yaml\": no matches for kind \"Pod\" in version \"v1\""
        );
    }

    #[test]
    fn malformed_yaml_names_the_file() {
        let e = parse("a: [", "bad.yaml", Path::new("/")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error parsing bad.yaml: error converting YAML to JSON"),
            "{e}"
        );
    }
}
