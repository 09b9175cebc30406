//! Object metadata the API server owns: uids, generated names, object keys, the
//! finalizers every path shares, references for Events, and the node's name.

use std::fmt;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand::Rng;

/// The one node's name: the kubelet registers as it and the binder assigns pods to it.
pub const NODE_NAME: &str = "wasmjob-node";

/// Finalizer the garbage collector honours for `propagationPolicy: Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Finalizer the garbage collector honours for `propagationPolicy: Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The Job controller's finalizer on the pods it tracks (upstream
/// `batch.kubernetes.io/job-tracking`).
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The namespace lifecycle's finalizer in a Namespace's `spec.finalizers`.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

/// Characters of a `generateName` suffix (apimachinery's `utilrand` alphabet: no vowels,
/// no look-alikes, so a suffix never spells a word).
pub const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Length of a `generateName` suffix.
const SUFFIX_LEN: usize = 5;
/// Longest prefix kept before the suffix (`maxGeneratedNameLength`: 63 − 5).
pub const MAX_GENERATED_PREFIX: usize = 63 - SUFFIX_LEN;

/// The name the API server makes from `generateName` (`SimpleNameGenerator`): the prefix,
/// cut to [`MAX_GENERATED_PREFIX`] bytes, and five random characters.
pub fn generated_name(prefix: &str) -> String {
    let mut cut = prefix.len().min(MAX_GENERATED_PREFIX);
    // Upstream cuts bytes; a valid prefix is ASCII, and an invalid one is refused by
    // validation anyway, so only keep the cut on a character boundary.
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut rng = rand::rng();
    let mut name = String::with_capacity(cut + SUFFIX_LEN);
    name.push_str(&prefix[..cut]);
    for _ in 0..SUFFIX_LEN {
        name.push(NAME_SUFFIX_ALPHABET[rng.random_range(0..NAME_SUFFIX_ALPHABET.len())] as char);
    }
    name
}

/// A random (version 4) UUID, as the API server assigns to new objects.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::rng().random();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        (b[8] & 0x3) | 0x8,
        &h[17..20],
        &h[20..32]
    )
}

/// Where an object lives: its namespace (none for cluster-scoped kinds) and name. Its
/// `Display` is the store's key, `namespace/name`, or `/name` for cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// A namespaced object's key; no namespace means `default`, as a request without one.
    pub fn namespaced(namespace: Option<&str>, name: &str) -> Self {
        ObjectKey {
            namespace: Some(namespace.unwrap_or("default").to_owned()),
            name: name.to_owned(),
        }
    }

    /// A cluster-scoped object's key (a Namespace's).
    pub fn cluster(name: &str) -> Self {
        ObjectKey {
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// The key of the namespaced object `meta` describes.
    pub fn of(meta: &ObjectMeta) -> Self {
        ObjectKey::namespaced(
            meta.namespace.as_deref(),
            meta.name.as_deref().unwrap_or(""),
        )
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

/// The store's key of a namespaced object: `namespace/name`, `default` when unset.
pub fn namespaced_key(namespace: Option<&str>, name: Option<&str>) -> String {
    ObjectKey::namespaced(namespace, name.unwrap_or("")).to_string()
}

/// A reference to an object for an Event's `involvedObject` or a CronJob's `active` list.
pub fn reference(api_version: &str, kind: &str, meta: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

/// [`reference`] for any typed object.
pub fn reference_to<K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>>(
    obj: &K,
) -> ObjectReference {
    reference(K::API_VERSION, K::KIND, obj.metadata())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_keep_the_prefix_and_add_five_suffix_characters() {
        let n = generated_name("pi-");
        assert_eq!(n.len(), 8);
        assert!(n.starts_with("pi-"));
        assert!(n[3..].bytes().all(|b| NAME_SUFFIX_ALPHABET.contains(&b)));
    }

    #[test]
    fn long_prefixes_are_cut_so_the_name_fits_in_63() {
        let n = generated_name(&"a".repeat(80));
        assert_eq!(n.len(), 63);
        assert!(n.starts_with(&"a".repeat(58)));
        // A multi-byte character across the cut is not split.
        let n = generated_name(&format!("{}é", "a".repeat(57)));
        assert!(n.starts_with(&"a".repeat(57)) && n.len() == 62);
    }

    #[test]
    fn uids_are_version_4() {
        let u = new_uid();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(new_uid(), u);
    }

    #[test]
    fn keys_are_namespace_slash_name() {
        assert_eq!(ObjectKey::namespaced(Some("ns"), "pi").to_string(), "ns/pi");
        assert_eq!(ObjectKey::namespaced(None, "pi").to_string(), "default/pi");
        assert_eq!(ObjectKey::cluster("default").to_string(), "/default");
    }
}
