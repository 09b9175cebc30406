//! The namespace controller: a namespace being deleted (`Terminating`) has everything in
//! it deleted (CronJobs first, so none makes a new Job, then Jobs, ConfigMaps, Secrets,
//! Services, pods and Events), and
//! once nothing is left its `kubernetes` finalizer is removed and it goes, as upstream's
//! namespaced-content deleter does. Until then, the NamespaceLifecycle admission refuses
//! new objects in it.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret, Service};

use crate::api::meta::{NAMESPACE_FINALIZER, namespaced_key};
use crate::store::{Object, Store};

/// What is still in a namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    /// CronJobs, Jobs, ConfigMaps, Secrets, Services and Events: deleted directly.
    pub deletable: usize,
    /// Pods: deleted gracefully, gone once their node has stopped them.
    pub pods: usize,
}

/// What the controller does for one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Not being deleted: nothing.
    Nothing,
    /// Delete what is in it (and look again when it changes).
    DeleteContents,
    /// Empty: remove the `kubernetes` finalizer; the namespace goes with it.
    Finalize,
}

/// The decision for `ns` with `contents` left in it.
pub fn sync(ns: &Namespace, contents: Contents) -> Step {
    if ns.metadata.deletion_timestamp.is_none() {
        return Step::Nothing;
    }
    if contents == Contents::default() {
        Step::Finalize
    } else {
        Step::DeleteContents
    }
}

/// One pass over every terminating namespace; returns whether any is still terminating
/// (so the caller looks again after the next writes).
pub fn sweep(store: &Store, now: jiff::Timestamp) -> bool {
    let (namespaces, _) = store.list_shared::<Namespace>(None);
    let mut terminating = false;
    for ns in namespaces {
        let Some(name) = ns.metadata.name.as_deref() else {
            continue;
        };
        // Only a namespace being deleted is worth counting.
        if ns.metadata.deletion_timestamp.is_none() {
            continue;
        }
        let contents = Contents {
            deletable: store.list_shared::<CronJob>(Some(name)).0.len()
                + store.list_shared::<Job>(Some(name)).0.len()
                + store.list_shared::<ConfigMap>(Some(name)).0.len()
                + store.list_shared::<Secret>(Some(name)).0.len()
                + store.list_shared::<Service>(Some(name)).0.len()
                + store.list_shared::<Event>(Some(name)).0.len(),
            pods: store.list_shared::<Pod>(Some(name)).0.len(),
        };
        match sync(&ns, contents) {
            Step::Nothing => {}
            Step::DeleteContents => {
                terminating = true;
                delete_all::<CronJob>(store, name, now);
                delete_all::<Job>(store, name, now);
                delete_all::<ConfigMap>(store, name, now);
                delete_all::<Secret>(store, name, now);
                delete_all::<Service>(store, name, now);
                for p in store.list_shared::<Pod>(Some(name)).0 {
                    let key = namespaced_key(Some(name), p.metadata.name.as_deref());
                    if p.metadata.deletion_timestamp.is_none() {
                        store.delete_pod(&key, now);
                    }
                }
                for e in store.list_shared::<Event>(Some(name)).0 {
                    store.remove::<Event>(&namespaced_key(Some(name), e.metadata.name.as_deref()));
                }
            }
            Step::Finalize => {
                let key = format!("/{name}");
                let finalized = store.modify::<Namespace>(&key, |n| {
                    if let Some(spec) = n.spec.as_mut()
                        && let Some(f) = spec.finalizers.as_mut()
                    {
                        f.retain(|x| x != NAMESPACE_FINALIZER);
                        if f.is_empty() {
                            spec.finalizers = None;
                        }
                    }
                });
                // Gone once no finalizer holds it (metadata's are other controllers').
                if finalized
                    .is_some_and(|n| n.metadata.finalizers.as_ref().is_none_or(Vec::is_empty))
                {
                    store.remove::<Namespace>(&key);
                }
            }
        }
    }
    terminating
}

/// Deletes every `K` in `ns` in the background: gone at once unless finalizers hold it
/// (then marked, for the garbage collector), its dependents collected after it.
fn delete_all<K: Object + Clone>(store: &Store, ns: &str, now: jiff::Timestamp) {
    for o in store.list_shared::<K>(Some(ns)).0 {
        let m = o.metadata();
        let key = namespaced_key(Some(ns), m.name.as_deref());
        if m.finalizers.as_ref().is_none_or(Vec::is_empty) {
            store.remove::<K>(&key);
        } else if m.deletion_timestamp.is_none() {
            store.modify::<K>(&key, |o| {
                let m = o.metadata_mut();
                m.deletion_timestamp =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
                m.deletion_grace_period_seconds = Some(0);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn a_namespace_is_emptied_then_finalized_only_while_it_is_being_deleted() {
        let mut ns = Namespace::default();
        let full = Contents {
            deletable: 2,
            pods: 1,
        };
        let only_pods = Contents {
            deletable: 0,
            pods: 3,
        };
        assert_eq!(sync(&ns, full), Step::Nothing);
        assert_eq!(sync(&ns, Contents::default()), Step::Nothing);
        ns.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(sync(&ns, full), Step::DeleteContents);
        // Pods being stopped keep it terminating.
        assert_eq!(sync(&ns, only_pods), Step::DeleteContents);
        assert_eq!(sync(&ns, Contents::default()), Step::Finalize);
    }
}
