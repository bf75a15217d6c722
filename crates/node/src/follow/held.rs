//! Logs that do not add up to the registry's proved state: the services they got wrong are held
//! at their last verified state while every other service goes on. What is held is said (a log
//! line, a journal entry, a metric, `/status`) once per change: re-reading the range at every new
//! block, or reading two changes in two ranges instead of one, finds the same mismatch again and
//! says nothing new.

use std::collections::BTreeMap;

use alloy::providers::Provider;
use ledgerops_chain::Cursor;
use ledgerops_chain::events::RegistryLog;
use ledgerops_registry::{RegistryState, ServiceName, namespace_id};

use super::SyncError;
use super::verify::{Mismatch, Scope, Verdict, Verifier};
use crate::serve::Health;
use crate::serve::metrics::Metrics;
use crate::store::{Entry, Store};

/// What the node enforces while the logs read do not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Held {
    /// The block the registry's state was proved at.
    block: u64,
    /// The audit seq the logs give, and the one the registry has.
    seqs: (u64, u64),
    /// Services held at their last verified state, and how their events disagree, by name.
    services: BTreeMap<ServiceName, Mismatch>,
    /// The logs' state with those services held: every other service was checked.
    pub(super) state: RegistryState,
}

impl Held {
    /// Folds `logs` over the `verified` state as they are, compares every service with the
    /// registry's proved state at `at`, and holds the ones that differ at their verified record.
    pub(super) async fn find(
        provider: &impl Provider,
        verifier: &mut Verifier,
        verified: &RegistryState,
        logs: &[RegistryLog],
        at: Cursor,
    ) -> Result<Self, SyncError> {
        let mut state = verified.clone();
        for log in logs {
            state.apply_unchecked(&log.event);
        }
        // Node records are not compared with proved state: the controller takes this node's site
        // from them, so a forged `NodeAdded(this node, another site)` would have it prune its own
        // site and run another's. While the logs do not verify, the verified records stand.
        state.nodes.clone_from(&verified.nodes);
        let Verdict { audit, mismatches, .. } = verifier.check(provider, at, &state, Scope::All).await?;
        let mut services = BTreeMap::new();
        for (id, mismatch) in mismatches {
            // Every id compared is one of `state`'s services.
            let name =
                state.services.get(&id).map_or_else(|| ServiceName::new("", id.to_string()), |r| r.service.clone());
            match verified.services.get(&id) {
                Some(record) => state.services.insert(id, record.clone()),
                None => state.services.remove(&id),
            };
            if let Mismatch::Policy { namespace, .. } = &mismatch {
                let ns = namespace_id(namespace);
                match verified.policies.get(&ns) {
                    Some(policy) => state.policies.insert(ns, policy.clone()),
                    None => state.policies.remove(&ns),
                };
            }
            services.insert(name, mismatch);
        }
        Ok(Self { block: at.block, seqs: (state.seq, audit.0), services, state })
    }

    /// True when this holds other services, for other reasons, or enforces another state than
    /// `before` (the block they were proved at aside).
    pub(super) fn differs_from(&self, before: Option<&Self>) -> bool {
        before.is_none_or(|before| (&self.services, &self.state) != (&before.services, &before.state))
    }

    /// Says what is held and why: a log line, the metrics and `/status`; a log line and a journal
    /// entry for each service held anew or for a new reason since `before`.
    pub(super) fn report(&self, before: Option<&Self>, store: &Store, health: &Health, metrics: &Metrics) {
        let (ours, theirs) = self.seqs;
        tracing::warn!(
            block = self.block,
            logs_seq = ours,
            registry_seq = theirs,
            held = self.services.len(),
            "the registry's logs as read do not match its proved state; re-reading"
        );
        metrics.verify_mismatches.inc();
        metrics.held_services.set(i64::try_from(self.services.len()).unwrap_or(i64::MAX));
        for (service, mismatch) in &self.services {
            if before.is_some_and(|before| before.services.get(service) == Some(mismatch)) {
                continue;
            }
            let evidence = mismatch.evidence(self.block);
            tracing::warn!(%service, evidence, "held at its last verified state");
            let entry =
                Entry { service: service.swarm_name(), result: "error".into(), ..Entry::chain("unverified", evidence) };
            if let Err(e) = store.record(&entry) {
                tracing::warn!(error = %e, "cannot journal");
            }
        }
        let evidence = self.services.iter().map(|(name, mismatch)| (name.to_string(), mismatch.evidence(self.block)));
        let evidence = evidence.collect();
        health.update(|s| s.held = evidence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(block: u64, registry_seq: u64, mismatch: Mismatch) -> Held {
        let services = BTreeMap::from([(ServiceName::new("proved", "a"), mismatch)]);
        Held { block, seqs: (4, registry_seq), services, state: RegistryState::default() }
    }

    /// The flake of 2026-12-02: the node read the hidden publish and the next one in two ranges,
    /// found the same mismatch at block 6 and at block 7, and journaled it twice.
    #[test]
    fn the_same_mismatch_found_again_at_a_later_block_is_journaled_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (health, metrics) = (Health::default(), Metrics::default());
        let hidden = Mismatch::Active { registry: 2, events: 1 };
        let first = held(6, 6, hidden.clone());
        first.report(None, &store, &health, &metrics);
        let again = held(7, 7, hidden);
        assert!(!again.differs_from(Some(&first)), "only the block moved");
        again.report(Some(&first), &store, &health, &metrics);
        assert_eq!(store.journal(Some("proved_a"), 10).expect("journal").len(), 1);
        assert!(health.status().held["proved/a"].contains("proved at block 7"), "/status shows the latest proof");

        let altered = held(8, 8, Mismatch::Active { registry: 3, events: 1 });
        assert!(altered.differs_from(Some(&again)));
        altered.report(Some(&again), &store, &health, &metrics);
        assert_eq!(store.journal(Some("proved_a"), 10).expect("journal").len(), 2, "a new reason is journaled");
    }
}
