//! The registry's history as the CLI shows it. The registry's state is folded by
//! `ledgerops-registry`, the same fold the node runs; from the changes it returns, this records
//! what the state does not keep: namespaces and their freeze, site labels, every change of each
//! service (`history`) and each node's last report on it (`status`, `wait`).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_chain::events::{RegistryLog, fetch_all};
use ledgerops_chain::{ChainError, Client};
use ledgerops_registry::{Cause, Change, RegistryState, ServiceName, ServiceRecord, namespace_id, placed_on};
use ledgerops_spec::{Policy, SpecError};

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
pub(crate) struct Event {
    pub(crate) kind: ChangeKind,
    pub(crate) revision: u32,
    pub(crate) actor: Address,
    pub(crate) tx: B256,
    pub(crate) block: u64,
    pub(crate) time: Option<u64>,
}

/// A node's last report on a service, and when it came.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) report: ledgerops_registry::Report,
    pub(crate) time: Option<u64>,
    pub(crate) block: u64,
}

/// What the CLI records of a service besides its state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trail {
    pub(crate) events: Vec<Event>,
    pub(crate) reports: BTreeMap<Address, Report>,
}

/// A service: its folded record and its trail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service<'a> {
    pub(crate) record: &'a ServiceRecord,
    pub(crate) trail: &'a Trail,
}

impl<'a> Service<'a> {
    /// `namespace/name`.
    pub(crate) fn name(&self) -> &'a ServiceName {
        &self.record.service
    }

    /// The active revision; 0 when removed.
    pub(crate) fn active(&self) -> u32 {
        self.record.active
    }

    /// The active revision's spec, if the service is not removed.
    pub(crate) fn active_spec(&self) -> Option<&'a ServiceSpec> {
        self.record.active_spec()
    }

    /// The nodes' reports on the active revision since it became active. A rollback that makes
    /// a revision active again starts a new activation: what nodes said of the revision before
    /// it (converged, or failed) says nothing of what they run now.
    pub(crate) fn current_reports(&self) -> impl Iterator<Item = (&'a Address, &'a Report)> + use<'a> {
        let (active, since) = (self.record.active, self.record.activated);
        self.trail.reports.iter().filter(move |(_, r)| r.report.revision == active && r.report.seq > since)
    }
}

/// Everything the registry's events say.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: RegistryState,
    /// Namespace -> frozen.
    pub(crate) namespaces: BTreeMap<String, bool>,
    /// Site id -> label, for every site ever named.
    sites: BTreeMap<B256, String>,
    trails: BTreeMap<B256, Trail>,
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
            let change = self.state.apply(&log.event).map_err(|e| {
                ChainError::Rpc(format!("the registry's log from {} does not add up: {e}", client.endpoint))
            })?;
            self.record(change, log);
        }
        self.logs.extend(fetched.logs);
        self.next_block = fetched.to_block + 1;
        Ok(())
    }

    /// Every service ever published, by id.
    pub(crate) fn services(&self) -> impl Iterator<Item = Service<'_>> {
        self.state.services.iter().map(|(id, record)| self.with_trail(id, record))
    }

    /// The service, if it was ever published.
    pub(crate) fn service(&self, service: &ServiceName) -> Option<Service<'_>> {
        let id = service.id();
        self.state.services.get(&id).map(|record| self.with_trail(&id, record))
    }

    /// The registered nodes at the sites `spec` is placed on (every node when it names none).
    pub(crate) fn nodes_serving(&self, spec: &ServiceSpec) -> Vec<Address> {
        self.state.nodes.iter().filter(|(_, site)| placed_on(spec, [*site])).map(|(node, _)| *node).collect()
    }

    /// The policy of `namespace` as set on chain (the default when none is).
    pub(crate) fn policy(&self, namespace: &str) -> Result<Policy, SpecError> {
        Policy::from_chain(self.state.policy_of(namespace).map(|p| p.as_ref()))
    }

    /// A registered node's site id.
    pub(crate) fn node_site_id(&self, node: &Address) -> Option<B256> {
        self.state.nodes.get(node).copied()
    }

    /// A registered node's site label.
    pub(crate) fn node_site(&self, node: &Address) -> Option<String> {
        self.node_site_id(node).map(|site| self.site_label(&site))
    }

    /// A site's label, or its id when no node ever named it.
    pub(crate) fn site_label(&self, id: &B256) -> String {
        self.sites.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    fn with_trail<'a>(&'a self, id: &B256, record: &'a ServiceRecord) -> Service<'a> {
        static EMPTY: Trail = Trail { events: Vec::new(), reports: BTreeMap::new() };
        Service { record, trail: self.trails.get(id).unwrap_or(&EMPTY) }
    }

    /// Keeps what a change says that the state does not.
    fn record(&mut self, change: Change, log: &RegistryLog) {
        match change {
            Change::NamespaceCreated { namespace } => drop(self.namespaces.insert(namespace, false)),
            Change::NamespaceFrozen { namespace, frozen } => {
                if let Some((_, flag)) = self.namespaces.iter_mut().find(|(name, _)| namespace_id(name) == namespace) {
                    *flag = frozen;
                }
            }
            Change::NodeAdded { site, label, .. } => drop(self.sites.insert(site, label)),
            Change::Activated { service, activation } => {
                let (kind, revision, actor) = match activation.cause {
                    Cause::Published { publisher } => (ChangeKind::Published, activation.revision, publisher),
                    Cause::RolledBack { from, by_quorum, actor } => {
                        (ChangeKind::RolledBack { from, by_quorum }, activation.revision, actor)
                    }
                    Cause::Removed { last, actor } => (ChangeKind::Removed, last, actor),
                };
                let event = Event { kind, revision, actor, tx: log.tx, block: log.block, time: log.time };
                self.trails.entry(service).or_default().events.push(event);
            }
            Change::Reported { service, node, report } => {
                let report = Report { report, time: log.time, block: log.block };
                self.trails.entry(service).or_default().reports.insert(node, report);
            }
            Change::NodeRemoved { .. } | Change::ServiceCreated { .. } | Change::PolicySet { .. } | Change::None => {}
        }
    }
}
