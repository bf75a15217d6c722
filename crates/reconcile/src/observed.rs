//! What the node sees in its Swarm: the services it manages, recognised by their labels.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::B256;

use crate::workload::Workload;

/// Label keys on every service the node manages. Services without `ledgerops.managed-by` are never
/// touched.
pub mod labels {
    /// Always `ledgerops`.
    pub const MANAGED_BY: &str = "ledgerops.managed-by";
    /// The registry's service id, `0x…`.
    pub const SERVICE_ID: &str = "ledgerops.service-id";
    /// The revision applied.
    pub const REVISION: &str = "ledgerops.revision";
    /// The applied revision's on-chain commitment, `0x…`.
    pub const SPEC_HASH: &str = "ledgerops.spec-hash";
    /// The value of [`MANAGED_BY`].
    pub const MANAGER: &str = "ledgerops";
    /// On a network, config or volume the node created: the namespace that defines it.
    pub const NAMESPACE: &str = "ledgerops.namespace";
    /// `true` on a service the node sent with its registry credentials (the namespace's policy
    /// lists the image's registry), so that a policy that starts listing it re-sends the service.
    pub const PULL_CREDENTIALS: &str = "ledgerops.pull-credentials";
    /// On everything the node creates: the registry it serves, `CHAIN_ID/0xADDRESS`
    /// ([`ledgerops_registry::RegistryId`]). A node acts only on its own registry's objects.
    pub const REGISTRY: &str = "ledgerops.registry";
}

/// A managed object on the engine that is not this node's registry's: another registry's, or one
/// made before objects carried their registry. The node leaves it alone and reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Foreign {
    /// `service`, `network`, `config` or `volume`.
    pub kind: &'static str,
    /// Its Docker name.
    pub name: String,
    /// The registry its label names; `None` when it has none (made by an earlier version).
    pub registry: Option<String>,
}

impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.registry {
            Some(registry) => write!(f, "{} {} belongs to registry {registry}", self.kind, self.name),
            None => write!(
                f,
                "{} {} carries no registry label (made before ledgerops labelled objects with their registry): \
                 `ledgerops-node adopt` takes it over (docs/node.md)",
                self.kind, self.name
            ),
        }
    }
}

/// Which registry service and revision a Swarm service runs, as its labels say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// The registry's service id.
    pub service: B256,
    /// The revision applied.
    pub revision: u32,
    /// The revision's commitment.
    pub spec_hash: B256,
}

impl Ownership {
    /// Reads the ownership labels; `None` when they are missing or damaged.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<Self> {
        Some(Self {
            service: labels.get(labels::SERVICE_ID)?.parse().ok()?,
            revision: labels.get(labels::REVISION)?.parse().ok()?,
            spec_hash: labels.get(labels::SPEC_HASH)?.parse().ok()?,
        })
    }

    /// The labels to put on the Swarm service.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::MANAGED_BY.to_owned(), labels::MANAGER.to_owned()),
            (labels::SERVICE_ID.to_owned(), self.service.to_string()),
            (labels::REVISION.to_owned(), self.revision.to_string()),
            (labels::SPEC_HASH.to_owned(), self.spec_hash.to_string()),
        ])
    }
}

/// Swarm's own rollout state of a service (`UpdateStatus.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateState {
    /// A rollout is in progress.
    Updating,
    /// A rollout stopped on failures (`failure_action: pause`).
    Paused,
    /// The last rollout finished.
    Completed,
    /// Swarm is rolling the last update back.
    RollbackStarted,
    /// Swarm's rollback stopped on failures.
    RollbackPaused,
    /// Swarm rolled the last update back.
    RollbackCompleted,
}

impl UpdateState {
    /// True when Swarm undid the last update by itself.
    pub fn rolled_back(self) -> bool {
        matches!(self, Self::RollbackStarted | Self::RollbackPaused | Self::RollbackCompleted)
    }
}

/// A managed Swarm service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Swarm's id.
    pub swarm_id: String,
    /// Swarm's version, for the next update (optimistic concurrency).
    pub version: u64,
    /// The Swarm service name.
    pub swarm_name: String,
    /// From the labels; `None` when they are damaged (the node then keeps its hands off).
    pub owner: Option<Ownership>,
    /// What it runs.
    pub workload: Workload,
    /// Swarm's rollout state, if it ever updated the service.
    pub update_state: Option<UpdateState>,
}

/// `observed` indexed by the registry service each runs (the first, when labels name one
/// twice), for passes that look every desired service up: a node on thousands of services would
/// otherwise search the list once per service.
pub fn by_service(observed: &[Observed]) -> HashMap<B256, &Observed> {
    let mut index = HashMap::with_capacity(observed.len());
    for o in observed {
        if let Some(owner) = o.owner {
            index.entry(owner.service).or_insert(o);
        }
    }
    index
}
