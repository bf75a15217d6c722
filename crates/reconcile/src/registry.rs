//! The registry's state as its events tell it, folded in order. Every audit event carries the
//! registry's sequence number; a number out of turn means a log is missing (or was added), and the
//! fold refuses it rather than build a desired state with a hole in it.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryEvents as Ev;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;

/// A service's revisions and which one is active.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRecord {
    /// Its namespace.
    pub namespace: String,
    /// Its name in the namespace.
    pub name: String,
    /// Every published revision, by number.
    pub revisions: BTreeMap<u32, ServiceSpec>,
    /// The active revision; 0 when the service is removed.
    pub active: u32,
    /// The audit seq of the event that made `active` active: a revision activated again (after a
    /// rollback) is a new activation, which nodes report on again.
    pub activated: u64,
}

impl ServiceRecord {
    /// The active revision's spec, unless the service is removed.
    pub fn active_spec(&self) -> Option<&ServiceSpec> {
        self.revisions.get(&self.active)
    }

    fn activate(&mut self, revision: u32, seq: Option<u64>) {
        self.active = revision;
        self.activated = seq.unwrap_or_default();
    }
}

/// The events did not follow each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// An audit event's sequence number is not the next one.
    #[error("registry sequence gap: expected seq {expected}, got {got} (a log is missing; re-read the range)")]
    Gap {
        /// The number that should have come.
        expected: u64,
        /// The number that came.
        got: u64,
    },
}

/// What the node needs of the registry: services, nodes and their sites, and how far it has read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryState {
    /// Services by id (`keccak256("namespace/name")`).
    pub services: BTreeMap<B256, ServiceRecord>,
    /// Registered nodes and their site ids.
    pub nodes: BTreeMap<Address, B256>,
    /// The last audit sequence number folded in (0: none).
    pub seq: u64,
}

impl RegistryState {
    /// Folds one event in. Returns the service it changed, if any, so the controller can mark it.
    pub fn apply(&mut self, event: &Ev) -> Result<Option<B256>, FoldError> {
        let seq = seq_of(event);
        if let Some(seq) = seq {
            if seq != self.seq + 1 {
                return Err(FoldError::Gap { expected: self.seq + 1, got: seq });
            }
            self.seq = seq;
        }
        Ok(match event {
            Ev::NodeAdded(e) => {
                self.nodes.insert(e.node, e.siteId);
                None
            }
            Ev::NodeRemoved(e) => {
                self.nodes.remove(&e.node);
                None
            }
            Ev::ServiceCreated(e) => {
                let record =
                    ServiceRecord { namespace: e.namespace.clone(), name: e.name.clone(), ..Default::default() };
                self.services.entry(e.serviceId).or_insert(record);
                Some(e.serviceId)
            }
            Ev::RevisionPublished(e) => self.services.get_mut(&e.serviceId).map(|s| {
                s.revisions.insert(e.revision, e.spec.clone());
                s.activate(e.revision, seq);
                e.serviceId
            }),
            Ev::RolledBack(e) => self.services.get_mut(&e.serviceId).map(|s| {
                s.activate(e.toRevision, seq);
                e.serviceId
            }),
            Ev::ServiceRemoved(e) => self.services.get_mut(&e.serviceId).map(|s| {
                s.activate(0, seq);
                e.serviceId
            }),
            _ => None,
        })
    }
}

impl RegistryState {
    /// Folds one event in without checking that its seq follows: a best-effort view of logs that
    /// do not verify (one is missing or altered). Nothing folded this way may be used before it is
    /// checked against the registry's proved state.
    pub fn apply_unchecked(&mut self, event: &Ev) -> Option<B256> {
        if let Some(seq) = seq_of(event) {
            self.seq = seq.saturating_sub(1);
        }
        self.apply(event).ok().flatten()
    }
}

/// The audit sequence number an event carries; OpenZeppelin's own role events carry none.
fn seq_of(event: &Ev) -> Option<u64> {
    Some(match event {
        Ev::AccessChanged(e) => e.seq,
        Ev::Attested(e) => e.seq,
        Ev::DeployerSet(e) => e.seq,
        Ev::NamespaceCreated(e) => e.seq,
        Ev::NamespaceFreezeSet(e) => e.seq,
        Ev::NamespaceLimitsSet(e) => e.seq,
        Ev::NodeAdded(e) => e.seq,
        Ev::NodeRemoved(e) => e.seq,
        Ev::QuorumSet(e) => e.seq,
        Ev::RevisionPublished(e) => e.seq,
        Ev::RollbackVoted(e) => e.seq,
        Ev::RolledBack(e) => e.seq,
        Ev::ServiceCreated(e) => e.seq,
        Ev::ServiceRemoved(e) => e.seq,
        Ev::RoleAdminChanged(_) | Ev::RoleGranted(_) | Ev::RoleRevoked(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{FixedBytes, keccak256};
    use ledgerops_bindings::DeploymentRegistry::{QuorumSet, RevisionPublished, ServiceCreated, ServiceRemoved};

    use super::*;

    fn created(seq: u64) -> Ev {
        Ev::ServiceCreated(ServiceCreated {
            serviceId: keccak256("shop/web"),
            namespaceId: keccak256("shop"),
            seq,
            head: FixedBytes::ZERO,
            namespace: "shop".into(),
            name: "web".into(),
        })
    }

    fn published(seq: u64, revision: u32) -> Ev {
        Ev::RevisionPublished(RevisionPublished {
            serviceId: keccak256("shop/web"),
            revision,
            publisher: Address::ZERO,
            seq,
            head: FixedBytes::ZERO,
            spec: ServiceSpec { image: format!("app:{revision}"), replicas: revision, ..Default::default() },
        })
    }

    #[test]
    fn folds_publishes_and_removals_and_names_the_service() {
        let mut state = RegistryState::default();
        let id = keccak256("shop/web");
        assert_eq!(state.apply(&created(1)), Ok(Some(id)));
        assert_eq!(state.apply(&published(2, 1)), Ok(Some(id)));
        assert_eq!(state.apply(&published(3, 2)), Ok(Some(id)));
        assert_eq!(state.services[&id].active_spec().map(|s| s.replicas), Some(2));
        let removed = Ev::ServiceRemoved(ServiceRemoved {
            serviceId: id,
            actor: Address::ZERO,
            seq: 4,
            head: FixedBytes::ZERO,
            lastRevision: 2,
        });
        assert_eq!(state.apply(&removed), Ok(Some(id)));
        assert_eq!(state.services[&id].active_spec(), None);
    }

    #[test]
    fn a_missing_or_repeated_sequence_number_is_refused() {
        let mut state = RegistryState::default();
        state.apply(&created(1)).expect("first");
        assert_eq!(state.apply(&published(3, 1)), Err(FoldError::Gap { expected: 2, got: 3 }));
        assert_eq!(state.apply(&created(1)), Err(FoldError::Gap { expected: 2, got: 1 }));
        let quorum = Ev::QuorumSet(QuorumSet { seq: 2, head: FixedBytes::ZERO, quorumBps: 5000 });
        assert_eq!(state.apply(&quorum), Ok(None), "events that change no service still advance seq");
        assert_eq!(state.seq, 2);
    }
}
