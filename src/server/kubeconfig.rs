//! The kubeconfig `serve` leaves in its data directory. A user edits it (`kubectl config
//! set-context --current --namespace=team-a`), so a restart must not throw that away:
//! [`update`] decides, purely, whether the file on disk still reaches this server with these
//! credentials, and if not rewrites only the server's own entries, keeping everything else.

use serde_yaml_ng::{Mapping, Value};

/// The cluster, user and context names `serve` writes.
pub const CLUSTER: &str = "wasmjob";
/// The admin user's entry.
pub const USER: &str = "wasmjob-admin";
/// The context joining them.
pub const CONTEXT: &str = "wasmjob";

/// What reaches this server: its URL, the CA (PEM, none over plain HTTP) and the token.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// `https://127.0.0.1:6443`.
    pub server: &'a str,
    /// The CA certificate, PEM.
    pub ca_pem: Option<&'a str>,
    /// The admin bearer token.
    pub token: Option<&'a str>,
}

/// What to do with the file.
#[derive(Debug, PartialEq)]
pub enum Update {
    /// It already reaches the server: leave it as the user left it.
    Keep,
    /// Write this text.
    Write(String),
    /// The file is not a kubeconfig we can edit: write this text, after keeping the old
    /// file beside it (`kubeconfig.bak`), so nothing the user wrote is lost.
    Replace(String),
}

/// A fresh kubeconfig with only this server in it.
pub fn fresh(access: Access<'_>) -> String {
    let mut doc = Mapping::new();
    doc.insert("apiVersion".into(), "v1".into());
    doc.insert("kind".into(), "Config".into());
    let mut doc = Value::Mapping(doc);
    set_entries(&mut doc, access, true);
    serde_yaml_ng::to_string(&doc).unwrap_or_default()
}

/// The decision for a restart: `existing` is the file on disk, if any.
pub fn update(existing: Option<&str>, access: Access<'_>) -> Update {
    let Some(text) = existing else {
        return Update::Write(fresh(access));
    };
    let mut doc = match serde_yaml_ng::from_str::<Value>(text) {
        Ok(doc @ Value::Mapping(_)) => doc,
        _ => return Update::Replace(fresh(access)),
    };
    let before = doc.clone();
    // A user's `current-context` is theirs to choose; it is only set where there is none.
    let has_current = matches!(doc.get("current-context"), Some(Value::String(s)) if !s.is_empty());
    set_entries(&mut doc, access, !has_current);
    if doc == before {
        Update::Keep
    } else {
        Update::Write(serde_yaml_ng::to_string(&doc).unwrap_or_default())
    }
}

/// Puts this server's cluster, user and context entries in `doc`, changing only the fields
/// that carry the server and the credentials; a context that exists keeps its namespace.
fn set_entries(doc: &mut Value, access: Access<'_>, set_current: bool) {
    use base64::Engine;
    let Value::Mapping(map) = doc else { return };
    {
        let cluster = named_entry(map, "clusters", CLUSTER, "cluster");
        cluster.insert("server".into(), access.server.into());
        match access.ca_pem {
            Some(ca) => {
                let data = base64::engine::general_purpose::STANDARD.encode(ca);
                cluster.insert("certificate-authority-data".into(), data.into());
            }
            None => {
                cluster.remove("certificate-authority-data");
            }
        }
    }
    {
        let user = named_entry(map, "users", USER, "user");
        match access.token {
            Some(token) => {
                user.insert("token".into(), token.into());
            }
            None => {
                user.remove("token");
            }
        }
    }
    {
        let context = named_entry(map, "contexts", CONTEXT, "context");
        context.insert("cluster".into(), CLUSTER.into());
        context.insert("user".into(), USER.into());
        if !context.contains_key("namespace") {
            context.insert("namespace".into(), "default".into());
        }
    }
    if set_current {
        map.insert("current-context".into(), CONTEXT.into());
    }
}

/// The `field` mapping of the entry called `name` in the list `list` (`clusters`), created
/// where missing; a malformed list or entry is replaced, as kubectl could not read it anyway.
fn named_entry<'a>(map: &'a mut Mapping, list: &str, name: &str, field: &str) -> &'a mut Mapping {
    let entries = map
        .entry(list.into())
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if !entries.is_sequence() {
        *entries = Value::Sequence(Vec::new());
    }
    let Value::Sequence(entries) = entries else {
        unreachable!("made a sequence just above")
    };
    let at = match entries
        .iter()
        .position(|e| e.get("name").and_then(Value::as_str) == Some(name))
    {
        Some(at) => at,
        None => {
            let mut entry = Mapping::new();
            entry.insert("name".into(), name.into());
            entries.push(Value::Mapping(entry));
            entries.len() - 1
        }
    };
    let entry = &mut entries[at];
    if !entry.is_mapping() {
        let mut fixed = Mapping::new();
        fixed.insert("name".into(), name.into());
        *entry = Value::Mapping(fixed);
    }
    let Value::Mapping(entry) = entry else {
        unreachable!("made a mapping just above")
    };
    let inner = entry
        .entry(field.into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !inner.is_mapping() {
        *inner = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(inner) = inner else {
        unreachable!("made a mapping just above")
    };
    inner
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn access<'a>(server: &'a str, token: &'a str) -> Access<'a> {
        Access {
            server,
            ca_pem: Some(CA),
            token: Some(token),
        }
    }

    fn written(u: Update) -> String {
        match u {
            Update::Write(s) => s,
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_file_is_written_fresh_and_reads_back_unchanged() {
        let a = access("https://127.0.0.1:6443", "t0k");
        let text = written(update(None, a));
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(doc["current-context"], Value::from("wasmjob"));
        assert_eq!(doc["users"][0]["user"]["token"], Value::from("t0k"));
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            Value::from("https://127.0.0.1:6443")
        );
        assert_eq!(
            doc["contexts"][0]["context"]["namespace"],
            Value::from("default")
        );
        assert_eq!(update(Some(&text), a), Update::Keep);
    }

    #[test]
    fn the_users_namespace_and_other_entries_survive_a_restart() {
        let a = access("https://127.0.0.1:6443", "t0k");
        let text = written(update(None, a)).replace("namespace: default", "namespace: team-a");
        let text = format!("{text}preferences:\n  colors: true\n");
        // Same credentials: the file is not touched at all.
        assert_eq!(update(Some(&text), a), Update::Keep);
        // A new port: only the server changes.
        let moved = written(update(Some(&text), access("https://127.0.0.1:7000", "t0k")));
        let doc: Value = serde_yaml_ng::from_str(&moved).unwrap();
        assert_eq!(
            doc["contexts"][0]["context"]["namespace"],
            Value::from("team-a")
        );
        assert_eq!(doc["preferences"]["colors"], Value::from(true));
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            Value::from("https://127.0.0.1:7000")
        );
    }

    #[test]
    fn a_new_token_is_written_and_other_clusters_and_current_context_are_kept() {
        let a = access("https://127.0.0.1:6443", "old");
        let ours = written(update(None, a));
        let mut doc: Value = serde_yaml_ng::from_str(&ours).unwrap();
        doc["current-context"] = Value::from("prod");
        let Value::Sequence(clusters) = &mut doc["clusters"] else {
            panic!()
        };
        clusters.push(
            serde_yaml_ng::from_str("{name: prod, cluster: {server: 'https://prod'}}").unwrap(),
        );
        let text = serde_yaml_ng::to_string(&doc).unwrap();
        let out = written(update(Some(&text), access("https://127.0.0.1:6443", "new")));
        let out: Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(out["users"][0]["user"]["token"], Value::from("new"));
        assert_eq!(out["current-context"], Value::from("prod"));
        assert_eq!(
            out["clusters"][1]["cluster"]["server"],
            Value::from("https://prod")
        );
    }

    #[test]
    fn plain_http_drops_the_ca_and_token() {
        let a = access("https://127.0.0.1:6443", "t0k");
        let text = written(update(None, a));
        let plain = Access {
            server: "http://127.0.0.1:6443",
            ca_pem: None,
            token: None,
        };
        let out = written(update(Some(&text), plain));
        assert!(!out.contains("certificate-authority-data"), "{out}");
        assert!(!out.contains("token"), "{out}");
        assert_eq!(update(Some(&out), plain), Update::Keep);
    }

    #[test]
    fn a_file_that_is_not_a_kubeconfig_is_replaced_and_kept_aside() {
        let a = access("https://127.0.0.1:6443", "t0k");
        for junk in [
            "",
            "- just\n- a list\n",
            "{unclosed: [",
            "kind: Config\nclusters: 7\n",
        ] {
            match update(Some(junk), a) {
                Update::Replace(s) | Update::Write(s) => {
                    let doc: Value = serde_yaml_ng::from_str(&s).unwrap();
                    assert_eq!(
                        doc["users"][0]["user"]["token"],
                        Value::from("t0k"),
                        "{junk:?}"
                    );
                }
                Update::Keep => panic!("{junk:?} kept"),
            }
        }
        assert!(matches!(
            update(Some("{unclosed: ["), a),
            Update::Replace(_)
        ));
    }
}
