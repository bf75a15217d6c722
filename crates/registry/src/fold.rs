//! The registry's state as its events tell it, folded in order: the only code that gives an
//! event its meaning. Each event folded returns the typed [`Change`] it made, so a reader that
//! shows more than the state (the CLI's history and reports) records what it needs from the
//! change instead of reading the event again.
//!
//! Every audit event carries the registry's sequence number; a number out of turn means a log is
//! missing (or was added), and the fold refuses it rather than build a state with a hole in it.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes};
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryEvents as Ev;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;

use crate::names::ServiceName;
use crate::status::ReportStatus;

/// A service's revisions and which one is active.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRecord {
    /// Its name.
    pub service: ServiceName,
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
}

/// A revision made active (or the service removed), and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    /// The revision now active; 0 when the service was removed.
    pub revision: u32,
    /// The audit seq of the event: reports on this activation come after it.
    pub seq: u64,
    /// What made it active.
    pub cause: Cause,
}

/// What made a revision active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// It was published.
    Published {
        /// The deployer.
        publisher: Address,
    },
    /// It was made active again.
    RolledBack {
        /// The revision it replaced.
        from: u32,
        /// By a quorum of nodes' votes rather than a deployer.
        by_quorum: bool,
        /// The deployer, or the node whose vote reached the quorum.
        actor: Address,
    },
    /// The service was removed.
    Removed {
        /// The revision that was active.
        last: u32,
        /// The deployer.
        actor: Address,
    },
}

/// A node's report on a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The revision reported on.
    pub revision: u32,
    /// What the node said.
    pub status: ReportStatus,
    /// Why, in the node's words.
    pub reason: String,
    /// The audit seq of the report: it is about the activation before it.
    pub seq: u64,
}

/// What one event changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A namespace was created.
    NamespaceCreated {
        /// Its name.
        namespace: String,
    },
    /// A namespace's deploy freeze was set or lifted.
    NamespaceFrozen {
        /// Its id ([`crate::namespace_id`]).
        namespace: B256,
        /// The freeze now.
        frozen: bool,
    },
    /// A namespace's policy was set (empty bytes: back to the default).
    PolicySet {
        /// Its id ([`crate::namespace_id`]).
        namespace: B256,
    },
    /// A node was registered at a site.
    NodeAdded {
        /// The node's key.
        node: Address,
        /// The site's id.
        site: B256,
        /// The site's label.
        label: String,
    },
    /// A node was removed.
    NodeRemoved {
        /// The node's key.
        node: Address,
    },
    /// A service was named; its first revision follows.
    ServiceCreated {
        /// Its id.
        service: B256,
    },
    /// A revision of a service became active, or the service was removed.
    Activated {
        /// The service's id.
        service: B256,
        /// What became active, and why.
        activation: Activation,
    },
    /// A node reported on a revision of a known service.
    Reported {
        /// The service's id.
        service: B256,
        /// The node's key.
        node: Address,
        /// The report.
        report: Report,
    },
    /// Nothing the state keeps: limits, quorum, roles, or an event about an unknown service.
    None,
}

impl Change {
    /// The service whose desired state this change moved, if any: what a node re-checks and
    /// reconciles (reports change no desired state).
    pub fn desired_service(&self) -> Option<B256> {
        match self {
            Self::ServiceCreated { service } | Self::Activated { service, .. } => Some(*service),
            _ => None,
        }
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

/// The registry's state: services, nodes and their sites, and how far the fold has read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryState {
    /// Services by id (`keccak256("namespace/name")`).
    pub services: BTreeMap<B256, ServiceRecord>,
    /// Registered nodes and their site ids.
    pub nodes: BTreeMap<Address, B256>,
    /// Namespace policies as set, by namespace id; a namespace without one has the default.
    /// The bytes are the admin's, unparsed: a reader decodes them (and refuses a bad one).
    pub policies: BTreeMap<B256, Bytes>,
    /// The last audit sequence number folded in (0: none).
    pub seq: u64,
}

impl RegistryState {
    /// The services whose desired state `change` moved: what a node re-checks and reconciles.
    /// A policy moves every service of its namespace (what they may run changed).
    pub fn moved_by(&self, change: &Change) -> Vec<B256> {
        match change {
            Change::PolicySet { namespace } => self
                .services
                .iter()
                .filter(|(_, record)| crate::namespace_id(&record.service.namespace) == *namespace)
                .map(|(id, _)| *id)
                .collect(),
            other => other.desired_service().into_iter().collect(),
        }
    }

    /// The policy of `namespace` as set on chain; `None` for the default.
    pub fn policy_of(&self, namespace: &str) -> Option<&Bytes> {
        self.policies.get(&crate::namespace_id(namespace))
    }

    /// Folds one event in; returns what it changed.
    pub fn apply(&mut self, event: &Ev) -> Result<Change, FoldError> {
        let seq = seq_of(event);
        if let Some(seq) = seq {
            if seq != self.seq + 1 {
                return Err(FoldError::Gap { expected: self.seq + 1, got: seq });
            }
            self.seq = seq;
        }
        let seq = seq.unwrap_or_default();
        Ok(match event {
            Ev::NamespaceCreated(e) => Change::NamespaceCreated { namespace: e.namespace.clone() },
            Ev::NamespaceFreezeSet(e) => Change::NamespaceFrozen { namespace: e.namespaceId, frozen: e.frozen },
            Ev::NamespacePolicySet(e) => {
                if e.policy.is_empty() {
                    self.policies.remove(&e.namespaceId);
                } else {
                    self.policies.insert(e.namespaceId, e.policy.clone());
                }
                Change::PolicySet { namespace: e.namespaceId }
            }
            Ev::NodeAdded(e) => {
                self.nodes.insert(e.node, e.siteId);
                Change::NodeAdded { node: e.node, site: e.siteId, label: e.site.clone() }
            }
            Ev::NodeRemoved(e) => {
                self.nodes.remove(&e.node);
                Change::NodeRemoved { node: e.node }
            }
            Ev::ServiceCreated(e) => {
                let service = ServiceName::new(e.namespace.clone(), e.name.clone());
                self.services.entry(e.serviceId).or_insert(ServiceRecord { service, ..Default::default() });
                Change::ServiceCreated { service: e.serviceId }
            }
            Ev::RevisionPublished(e) => {
                let cause = Cause::Published { publisher: e.publisher };
                if let Some(record) = self.services.get_mut(&e.serviceId) {
                    record.revisions.insert(e.revision, e.spec.clone());
                }
                self.activate(e.serviceId, Activation { revision: e.revision, seq, cause })
            }
            Ev::RolledBack(e) => {
                let cause = Cause::RolledBack { from: e.fromRevision, by_quorum: e.byQuorum, actor: e.actor };
                self.activate(e.serviceId, Activation { revision: e.toRevision, seq, cause })
            }
            Ev::ServiceRemoved(e) => {
                let cause = Cause::Removed { last: e.lastRevision, actor: e.actor };
                self.activate(e.serviceId, Activation { revision: 0, seq, cause })
            }
            Ev::Attested(e) => {
                self.reported(e.serviceId, e.node, e.revision, ReportStatus::attested(e.status), &e.reason, seq)
            }
            Ev::RollbackVoted(e) => {
                self.reported(e.serviceId, e.node, e.revision, ReportStatus::VotedRollback, &e.reason, seq)
            }
            _ => Change::None,
        })
    }

    /// Folds one event in without checking that its seq follows: a best-effort view of logs that
    /// do not verify (one is missing or altered). Nothing folded this way may be used before it is
    /// checked against the registry's proved state.
    pub fn apply_unchecked(&mut self, event: &Ev) -> Change {
        if let Some(seq) = seq_of(event) {
            self.seq = seq.saturating_sub(1);
        }
        self.apply(event).unwrap_or(Change::None)
    }

    fn activate(&mut self, service: B256, activation: Activation) -> Change {
        let Some(record) = self.services.get_mut(&service) else { return Change::None };
        record.active = activation.revision;
        record.activated = activation.seq;
        Change::Activated { service, activation }
    }

    fn reported(
        &self,
        service: B256,
        node: Address,
        revision: u32,
        status: ReportStatus,
        reason: &str,
        seq: u64,
    ) -> Change {
        if !self.services.contains_key(&service) {
            return Change::None;
        }
        Change::Reported { service, node, report: Report { revision, status, reason: reason.to_owned(), seq } }
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
        Ev::NamespacePolicySet(e) => e.seq,
        Ev::NodeAdded(e) => e.seq,
        Ev::NodeRemoved(e) => e.seq,
        Ev::QuorumSet(e) => e.seq,
        Ev::RevisionPublished(e) => e.seq,
        Ev::RollbackVoted(e) => e.seq,
        Ev::RolledBack(e) => e.seq,
        Ev::ServiceCreated(e) => e.seq,
        Ev::ServiceRemoved(e) => e.seq,
        Ev::RoleAdminChanged(_)
        | Ev::RoleGranted(_)
        | Ev::RoleRevoked(_)
        | Ev::DefaultAdminTransferScheduled(_)
        | Ev::DefaultAdminTransferCanceled(_)
        | Ev::DefaultAdminDelayChangeScheduled(_)
        | Ev::DefaultAdminDelayChangeCanceled(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{FixedBytes, keccak256};
    use ledgerops_bindings::DeploymentRegistry::{
        Attested, NamespacePolicySet, QuorumSet, RevisionPublished, RolledBack, ServiceCreated, ServiceRemoved,
    };

    use super::*;
    use crate::status::AttestationStatus;

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
        assert_eq!(state.apply(&created(1)), Ok(Change::ServiceCreated { service: id }));
        assert_eq!(state.services[&id].service.to_string(), "shop/web");
        assert_eq!(state.apply(&published(2, 1)).map(|c| c.desired_service()), Ok(Some(id)));
        assert_eq!(state.apply(&published(3, 2)).map(|c| c.desired_service()), Ok(Some(id)));
        assert_eq!(state.services[&id].active_spec().map(|s| s.replicas), Some(2));
        let removed = Ev::ServiceRemoved(ServiceRemoved {
            serviceId: id,
            actor: Address::ZERO,
            seq: 4,
            head: FixedBytes::ZERO,
            lastRevision: 2,
        });
        let cause = Cause::Removed { last: 2, actor: Address::ZERO };
        assert_eq!(
            state.apply(&removed),
            Ok(Change::Activated { service: id, activation: Activation { revision: 0, seq: 4, cause } })
        );
        assert_eq!(state.services[&id].active_spec(), None);
    }

    #[test]
    fn a_policy_is_kept_by_namespace_and_moves_every_service_of_it() {
        let mut state = RegistryState::default();
        state.apply(&created(1)).expect("in order");
        let policy = |seq, bytes: &'static [u8]| {
            Ev::NamespacePolicySet(NamespacePolicySet {
                namespaceId: keccak256("shop"),
                seq,
                head: FixedBytes::ZERO,
                policyHash: keccak256(bytes),
                policy: Bytes::from_static(bytes),
            })
        };
        let change = state.apply(&policy(2, br#"{"v":1,"allow":["bind"]}"#)).expect("in order");
        assert_eq!(change, Change::PolicySet { namespace: keccak256("shop") });
        assert_eq!(state.moved_by(&change), [keccak256("shop/web")], "the namespace's service");
        assert_eq!(state.policy_of("shop").map(|p| p.len()), Some(24));
        assert_eq!(state.policy_of("other"), None);
        state.apply(&policy(3, b"")).expect("in order");
        assert_eq!(state.policy_of("shop"), None, "empty: back to the default");
    }

    #[test]
    fn a_missing_or_repeated_sequence_number_is_refused() {
        let mut state = RegistryState::default();
        state.apply(&created(1)).expect("first");
        assert_eq!(state.apply(&published(3, 1)), Err(FoldError::Gap { expected: 2, got: 3 }));
        assert_eq!(state.apply(&created(1)), Err(FoldError::Gap { expected: 2, got: 1 }));
        let quorum = Ev::QuorumSet(QuorumSet { seq: 2, head: FixedBytes::ZERO, quorumBps: 5000 });
        assert_eq!(state.apply(&quorum), Ok(Change::None), "events that change no service still advance seq");
        assert_eq!(state.seq, 2);
    }

    #[test]
    fn a_rollback_is_a_new_activation_and_a_report_names_the_seq_it_came_at() {
        let mut state = RegistryState::default();
        let id = keccak256("shop/web");
        let node = Address::repeat_byte(7);
        for event in [created(1), published(2, 1), published(3, 2)] {
            state.apply(&event).expect("in order");
        }
        let back = Ev::RolledBack(RolledBack {
            serviceId: id,
            toRevision: 1,
            actor: node,
            seq: 4,
            head: FixedBytes::ZERO,
            fromRevision: 2,
            byQuorum: true,
        });
        let change = state.apply(&back).expect("in order");
        let cause = Cause::RolledBack { from: 2, by_quorum: true, actor: node };
        assert_eq!(change, Change::Activated { service: id, activation: Activation { revision: 1, seq: 4, cause } });
        assert_eq!((state.services[&id].active, state.services[&id].activated), (1, 4));
        let attested = Ev::Attested(Attested {
            serviceId: id,
            revision: 1,
            node,
            seq: 5,
            head: FixedBytes::ZERO,
            siteId: B256::ZERO,
            status: AttestationStatus::Converged.as_u8(),
            reason: String::new(),
        });
        let report = Report {
            revision: 1,
            status: ReportStatus::Attested(AttestationStatus::Converged),
            reason: String::new(),
            seq: 5,
        };
        assert_eq!(state.apply(&attested), Ok(Change::Reported { service: id, node, report }));
        assert_eq!(state.apply(&attested).map(|_| ()), Err(FoldError::Gap { expected: 6, got: 5 }));
    }
}
