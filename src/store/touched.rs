//! Which objects were written since a controller last looked: the store's side of a
//! controller's work queue. Upstream, informer event handlers enqueue the key of a changed
//! object (and of its controller, for a pod); here every write records the same two keys,
//! so a controller syncs what changed instead of every object after every write.

use std::collections::HashSet;
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::sync::Notify;

use super::Resource;

/// One written object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Touch {
    /// Its kind.
    pub resource: Resource,
    /// Its `namespace/name`.
    pub key: String,
    /// Its controller (the owner reference with `controller: true`); a write that changed
    /// the controller records the old one too, as its own `Touch`.
    pub controller: Option<Controller>,
    /// Whether the write removed the object or it is being deleted (has a
    /// `deletionTimestamp`): what the garbage collector acts on.
    pub deleting: bool,
}

/// An object's controller, as its owner reference names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Controller {
    /// `Job`, `CronJob`, ...
    pub kind: String,
    /// `namespace/name` (the object's namespace and the reference's name).
    pub key: String,
    /// The uid the reference names: the object under `key` may be another one.
    pub uid: String,
}

impl Touch {
    /// The controller's key when it is of `kind`.
    pub fn controller_of(&self, kind: &str) -> Option<&str> {
        self.controller
            .as_ref()
            .filter(|c| c.kind == kind)
            .map(|c| c.key.as_str())
    }
}

/// The writes to some kinds since the last [`Touched::drain`]; repeats are kept once.
pub struct Touched {
    resources: Vec<Resource>,
    pending: Mutex<HashSet<Touch>>,
    notify: Notify,
}

impl Touched {
    pub(super) fn new(resources: &[Resource]) -> Self {
        Touched {
            resources: resources.to_vec(),
            pending: Mutex::new(HashSet::new()),
            notify: Notify::new(),
        }
    }

    /// Records a write of `meta` (its state after the write; before it, when `previous` is
    /// given and names another controller, both are recorded).
    pub(super) fn touch(
        &self,
        resource: Resource,
        key: &str,
        meta: &ObjectMeta,
        previous: Option<&ObjectMeta>,
        removed: bool,
    ) {
        if !self.resources.contains(&resource) {
            return;
        }
        let deleting = removed || meta.deletion_timestamp.is_some();
        let now = controller_of(meta);
        let before = previous
            .and_then(controller_of)
            .filter(|b| Some(b) != now.as_ref());
        {
            let mut pending = self.pending.lock().expect("touched lock poisoned");
            for controller in [Some(now), before.map(Some)].into_iter().flatten() {
                pending.insert(Touch {
                    resource,
                    key: key.to_string(),
                    controller,
                    deleting,
                });
            }
        }
        self.notify.notify_one();
    }

    /// Everything recorded since the last call, and forgets it.
    pub fn drain(&self) -> Vec<Touch> {
        let mut pending = self.pending.lock().expect("touched lock poisoned");
        pending.drain().collect()
    }

    /// Waits until something is recorded (at once when something was since the last wait).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

fn controller_of(meta: &ObjectMeta) -> Option<Controller> {
    let owner = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))?;
    Some(Controller {
        kind: owner.kind.clone(),
        key: super::key(meta.namespace.as_deref(), Some(&owner.name)),
        uid: owner.uid.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn owned_by(job: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some("p".into()),
            namespace: Some("ns".into()),
            owner_references: Some(vec![OwnerReference {
                kind: "Job".into(),
                name: job.into(),
                uid: format!("uid-{job}"),
                controller: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn repeats_are_kept_once_and_a_changed_controller_records_both() {
        let t = Touched::new(&[Resource::Pods]);
        t.touch(Resource::Pods, "ns/p", &owned_by("a"), None, false);
        t.touch(
            Resource::Pods,
            "ns/p",
            &owned_by("a"),
            Some(&owned_by("a")),
            false,
        );
        // Not a tracked kind.
        t.touch(Resource::Events, "ns/e", &owned_by("a"), None, false);
        let all = t.drain();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].controller_of("Job"), Some("ns/a"));
        assert_eq!(all[0].controller_of("CronJob"), None);
        assert!(!all[0].deleting);
        assert!(t.drain().is_empty());
        t.touch(Resource::Pods, "ns/p", &owned_by("a"), None, true);
        assert!(t.drain()[0].deleting);

        // Orphaned: the old controller must hear of it.
        t.touch(
            Resource::Pods,
            "ns/p",
            &ObjectMeta::default(),
            Some(&owned_by("a")),
            false,
        );
        let mut controllers: Vec<_> = t.drain().into_iter().map(|t| t.controller).collect();
        controllers.sort();
        let a = Controller {
            kind: "Job".into(),
            key: "ns/a".into(),
            uid: "uid-a".into(),
        };
        assert_eq!(controllers, [None, Some(a)]);
    }
}
