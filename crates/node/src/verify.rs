//! The desired state the node folds from events, checked against the registry itself: its views
//! run in revm over storage proved against the block's state root (crate `ledgerops-evm`). An RPC
//! that drops, adds or alters a log cannot make the two agree, so whatever it hides shows up here
//! as a service whose events disagree with the registry; that service is held at its last verified
//! state while every other service goes on.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_chain::Head;
use ledgerops_evm::{Mirror, MirrorError, Recheck};
use ledgerops_reconcile::{RegistryState, ServiceRecord};
use ledgerops_spec::spec_hash;

/// Which services to compare.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Those the new logs changed (the audit head vouches for the others).
    Touched(&'a [B256]),
    /// Every service known: when the logs do not add up, to find the ones they got wrong.
    All,
}

/// What the registry's proved state says about the folded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The block it was proved at.
    pub block: u64,
    /// The registry's audit seq and head at that block.
    pub audit: (u64, Head),
    /// Services whose events disagree with the registry, with the evidence.
    pub mismatches: BTreeMap<B256, String>,
}

/// Keeps the mirror and compares states against it.
#[derive(Debug)]
pub struct Verifier {
    registry: Address,
    mirror: Option<Mirror>,
    /// The mirror was built afresh since the store last kept it: the store replaces its slots.
    fresh: bool,
}

impl Verifier {
    /// A verifier for `registry`, from a mirror kept in the store when there is one.
    pub fn new(registry: Address, mirror: Option<Mirror>) -> Self {
        Self { registry, mirror, fresh: false }
    }

    /// The mirror, once built.
    pub fn mirror(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
    }

    /// Slots proved with a new value since the last call, and whether they replace all the
    /// store holds (the mirror was built afresh).
    pub fn take_changed(&mut self) -> (Vec<(B256, alloy::primitives::U256)>, bool) {
        let changed = self.mirror.as_mut().map(Mirror::take_changed).unwrap_or_default();
        (changed, std::mem::take(&mut self.fresh))
    }

    /// Moves the mirror to `block` (every held slot proved again there when the registry's storage
    /// changed) and compares `state` with the registry's own answers.
    pub async fn check(
        &mut self,
        provider: &impl Provider,
        block: u64,
        state: &RegistryState,
        scope: Scope<'_>,
    ) -> Result<Verdict, MirrorError> {
        let mirror = match self.mirror.take() {
            None => {
                self.fresh = true;
                Mirror::at(provider, self.registry, block).await?
            }
            Some(mut mirror) => {
                if mirror.block().number != block {
                    let result = mirror.advance(provider, block, Recheck::All).await;
                    if let Err(e) = result {
                        self.mirror = Some(mirror);
                        return Err(e);
                    }
                }
                mirror
            }
        };
        let mirror = self.mirror.insert(mirror);
        let head = mirror.view(provider, &R::auditHeadCall {}).await?;
        let ids: Vec<B256> = match scope {
            Scope::Touched(ids) => ids.to_vec(),
            Scope::All => state.services.keys().copied().collect(),
        };
        let mut mismatches = BTreeMap::new();
        for id in ids {
            let proved = mirror.view(provider, &R::serviceStateCall { sId: id }).await?;
            let record = state.services.get(&id);
            let hash = match proved.activeRevision {
                0 => None,
                revision => Some(mirror.view(provider, &R::revisionHashCall { sId: id, revision }).await?),
            };
            if let Some(evidence) = compare(block, record, proved.activeRevision, hash) {
                mismatches.insert(id, evidence);
            }
        }
        Ok(Verdict { block, audit: (head.seq, head.head), mismatches })
    }

    /// Compares every service of `state` with the kept mirror, without an RPC: what a node that
    /// starts while the chain is unreachable can still vouch for. Services whose slots were never
    /// proved are left out.
    pub fn check_offline(&self, state: &RegistryState) -> Option<Verdict> {
        let mirror = self.mirror.as_ref()?;
        let block = mirror.block().number;
        let head = mirror.view_offline(&R::auditHeadCall {}).ok()?;
        let mut mismatches = BTreeMap::new();
        for (id, record) in &state.services {
            let Ok(proved) = mirror.view_offline(&R::serviceStateCall { sId: *id }) else { continue };
            let hash = match proved.activeRevision {
                0 => None,
                revision => match mirror.view_offline(&R::revisionHashCall { sId: *id, revision }) {
                    Ok(hash) => Some(hash),
                    Err(_) => continue,
                },
            };
            if let Some(evidence) = compare(block, Some(record), proved.activeRevision, hash) {
                mismatches.insert(*id, evidence);
            }
        }
        Some(Verdict { block, audit: (head.seq, head.head), mismatches })
    }
}

/// The evidence when the events' record of a service disagrees with the registry's proved state.
fn compare(block: u64, record: Option<&ServiceRecord>, active: u32, proved_hash: Option<B256>) -> Option<String> {
    let ours = record.map_or(0, |r| r.active);
    if ours != active {
        return Some(format!(
            "the registry (proved at block {block}) has revision {active} active, the events read give revision {ours}: a log is missing or altered"
        ));
    }
    let (Some(proved), Some(spec)) = (proved_hash, record.and_then(ServiceRecord::active_spec)) else {
        return None;
    };
    let ours = spec_hash(spec);
    (ours != proved).then(|| {
        format!(
            "revision {active}'s spec from the events hashes to {ours}, the registry (proved at block {block}) holds {proved}: the log was altered"
        )
    })
}
