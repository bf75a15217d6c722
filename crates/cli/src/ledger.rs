//! The registry's history folded into what the CLI shows: namespaces, services with every
//! revision, nodes with their sites, and each node's last report per service.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, keccak256};
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryEvents as Ev;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_chain::events::{RegistryLog, fetch_all};
use ledgerops_chain::{ChainError, Client};

use crate::args::ServiceRef;

/// What happened to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Published,
    RolledBack { from: u32, by_quorum: bool },
    Removed,
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Published => write!(f, "published"),
            Self::RolledBack { from, by_quorum: false } => write!(f, "rolled back from {from}"),
            Self::RolledBack { from, by_quorum: true } => write!(f, "rolled back from {from} by a quorum of nodes"),
            Self::Removed => write!(f, "removed"),
        }
    }
}

/// One thing that happened to a service, for `history` and `wait`.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    pub(crate) revision: u32,
    pub(crate) actor: Address,
    pub(crate) tx: B256,
    pub(crate) block: u64,
    pub(crate) time: Option<u64>,
}

/// A node's last report on a service.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) revision: u32,
    /// converged, failed, rolled-back, or voted-rollback.
    pub(crate) status: &'static str,
    pub(crate) reason: String,
    pub(crate) time: Option<u64>,
    pub(crate) block: u64,
}

/// A service as its events tell it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Service {
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// Revision n is `revisions[n - 1]`.
    pub(crate) revisions: Vec<ServiceSpec>,
    /// 0 when removed.
    pub(crate) active: u32,
    pub(crate) changes: Vec<Change>,
    pub(crate) reports: BTreeMap<Address, Report>,
}

impl Service {
    /// The active revision's spec, if the service is not removed.
    pub(crate) fn active_spec(&self) -> Option<&ServiceSpec> {
        self.revisions.get((self.active as usize).checked_sub(1)?)
    }
}

/// Everything the registry's events say.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) namespaces: BTreeMap<String, bool>,
    pub(crate) services: BTreeMap<B256, Service>,
    /// node -> site label
    pub(crate) nodes: BTreeMap<Address, String>,
    /// site id -> label, for every site ever named
    pub(crate) sites: BTreeMap<B256, String>,
    pub(crate) logs: Vec<RegistryLog>,
    /// The first block not read yet.
    next_block: u64,
}

impl Ledger {
    /// Reads every event from the registry's deploy block.
    pub(crate) async fn read(client: &Client) -> Result<Self, ChainError> {
        let mut ledger = Self { next_block: client.view(client.registry.deployBlock()).await?, ..Self::default() };
        ledger.refresh(client).await?;
        Ok(ledger)
    }

    /// Reads only the events since the last read (what `wait` does once a second).
    pub(crate) async fn refresh(&mut self, client: &Client) -> Result<(), ChainError> {
        let fetched = fetch_all(client, self.next_block).await?;
        for log in &fetched.logs {
            self.apply(log);
        }
        self.logs.extend(fetched.logs);
        self.next_block = fetched.to_block + 1;
        Ok(())
    }

    /// The registered nodes at the sites `spec` is placed on (every node when it names none).
    pub(crate) fn nodes_serving(&self, spec: &ServiceSpec) -> Vec<Address> {
        self.nodes
            .iter()
            .filter(|(_, site)| spec.sites.is_empty() || spec.sites.contains(&keccak256(site.as_bytes())))
            .map(|(node, _)| *node)
            .collect()
    }

    /// The service, if it was ever published.
    pub(crate) fn service(&self, service: &ServiceRef) -> Option<&Service> {
        self.services.get(&service.id())
    }

    /// A site's label, or its id when no node ever named it.
    pub(crate) fn site_label(&self, id: &B256) -> String {
        self.sites.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    fn apply(&mut self, log: &RegistryLog) {
        let change = |kind: ChangeKind, revision: u32, actor: Address| Change {
            kind,
            revision,
            actor,
            tx: log.tx,
            block: log.block,
            time: log.time,
        };
        match &log.event {
            Ev::NamespaceCreated(e) => drop(self.namespaces.insert(e.namespace.clone(), false)),
            Ev::NamespaceFreezeSet(e) => self.set_frozen(e.namespaceId, e.frozen),
            Ev::NodeAdded(e) => {
                self.nodes.insert(e.node, e.site.clone());
                self.sites.insert(e.siteId, e.site.clone());
            }
            Ev::NodeRemoved(e) => drop(self.nodes.remove(&e.node)),
            Ev::ServiceCreated(e) => {
                let service = Service { namespace: e.namespace.clone(), name: e.name.clone(), ..Service::default() };
                self.services.insert(e.serviceId, service);
            }
            Ev::RevisionPublished(e) => {
                if let Some(s) = self.services.get_mut(&e.serviceId) {
                    s.revisions.push(e.spec.clone());
                    s.active = e.revision;
                    s.changes.push(change(ChangeKind::Published, e.revision, e.publisher));
                }
            }
            Ev::RolledBack(e) => {
                if let Some(s) = self.services.get_mut(&e.serviceId) {
                    s.active = e.toRevision;
                    let kind = ChangeKind::RolledBack { from: e.fromRevision, by_quorum: e.byQuorum };
                    s.changes.push(change(kind, e.toRevision, e.actor));
                }
            }
            Ev::ServiceRemoved(e) => {
                if let Some(s) = self.services.get_mut(&e.serviceId) {
                    s.active = 0;
                    s.changes.push(change(ChangeKind::Removed, e.lastRevision, e.actor));
                }
            }
            Ev::Attested(e) => self.report(e.serviceId, e.node, e.revision, status_name(e.status), &e.reason, log),
            Ev::RollbackVoted(e) => self.report(e.serviceId, e.node, e.revision, "voted-rollback", &e.reason, log),
            _ => {}
        }
    }

    fn set_frozen(&mut self, namespace_id: B256, frozen: bool) {
        let name = self.namespaces.keys().find(|n| keccak256(n.as_bytes()) == namespace_id).cloned();
        if let Some(name) = name {
            self.namespaces.insert(name, frozen);
        }
    }

    fn report(
        &mut self,
        service: B256,
        node: Address,
        revision: u32,
        status: &'static str,
        reason: &str,
        log: &RegistryLog,
    ) {
        if let Some(s) = self.services.get_mut(&service) {
            let report = Report { revision, status, reason: reason.into(), time: log.time, block: log.block };
            s.reports.insert(node, report);
        }
    }
}

/// The registry's `AttestationStatus` as a word.
pub(crate) fn status_name(status: u8) -> &'static str {
    match status {
        1 => "converged",
        2 => "failed",
        3 => "rolled-back",
        _ => "unknown",
    }
}
