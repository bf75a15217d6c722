//! The desired state the node folds from events, checked against the registry itself: its views
//! run in revm over storage proved against the block's state root (crate `ledgerops-evm`). An RPC
//! that drops, adds or alters a log cannot make the two agree, so whatever it hides shows up here
//! as a service whose events disagree with the registry; that service is held at its last verified
//! state while every other service goes on.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_chain::{Cursor, Head};
use ledgerops_evm::{Mirror, MirrorError, Session};
use ledgerops_registry::{RegistryState, namespace_id};
use ledgerops_spec::spec_hash;

/// Which services to compare.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Those the new logs changed (the audit head vouches for the others).
    Touched(&'a BTreeSet<B256>),
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
    /// Services whose events disagree with the registry, and how.
    pub mismatches: BTreeMap<B256, Mismatch>,
}

/// How the events' record of a service disagrees with the registry's proved state. It names
/// what differs, not the block it was proved at: the same hidden or altered log found again at a
/// later block is the same mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The registry has another revision active than the events give.
    Active {
        /// The registry's.
        registry: u32,
        /// The events'.
        events: u32,
    },
    /// The active revision's spec from the events does not hash to the registry's commitment.
    Spec {
        /// The revision.
        revision: u32,
        /// The hash of the events' spec.
        events: B256,
        /// The registry's commitment.
        registry: B256,
    },
    /// The service's namespace policy from the events (what it may run) does not hash to the
    /// registry's commitment: a policy log was dropped, added or altered.
    Policy {
        /// The namespace.
        namespace: String,
        /// The hash of the events' policy (0: the default).
        events: B256,
        /// The registry's commitment.
        registry: B256,
    },
}

impl Mismatch {
    /// The evidence in words, with the block the registry's state was proved at.
    pub fn evidence(&self, block: u64) -> String {
        match self {
            Self::Active { registry, events } => format!(
                "the registry (proved at block {block}) has revision {registry} active, the events read give revision {events}: a log is missing or altered"
            ),
            Self::Spec { revision, events, registry } => format!(
                "revision {revision}'s spec from the events hashes to {events}, the registry (proved at block {block}) holds {registry}: the log was altered"
            ),
            Self::Policy { namespace, events, registry } => format!(
                "namespace {namespace}'s policy from the events hashes to {events}, the registry (proved at block {block}) holds {registry}: a policy log is missing or altered"
            ),
        }
    }
}

/// What the store writes to keep the mirror in step.
#[derive(Debug, Default)]
pub struct MirrorChanges {
    /// Slots proved with a new value.
    pub changed: Vec<(B256, U256)>,
    /// Slots no longer held.
    pub forgotten: Vec<B256>,
    /// The mirror was built afresh: `changed` is all it holds.
    pub replace: bool,
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

    /// What changed in the mirror since the last call.
    pub fn take_changed(&mut self) -> MirrorChanges {
        let Some(mirror) = self.mirror.as_mut() else { return MirrorChanges::default() };
        MirrorChanges {
            changed: mirror.take_changed(),
            forgotten: mirror.take_forgotten(),
            replace: std::mem::take(&mut self.fresh),
        }
    }

    /// Moves the mirror to the block `at` (the follower's cursor), holding only what this check
    /// reads (the audit head and the compared services' state, proved in batches), and compares
    /// `state` with the registry's own answers.
    pub async fn check(
        &mut self,
        provider: &impl Provider,
        at: Cursor,
        state: &RegistryState,
        scope: Scope<'_>,
    ) -> Result<Verdict, MirrorError> {
        let block = at.block;
        let mirror = match &mut self.mirror {
            Some(mirror) => {
                // By hash, not number: after a reorg to a branch as high as the old one, the
                // cursor's number is the mirror's, and the mirror still holds the old block's
                // storage (the node then held every service the reorg changed, or retried proofs
                // of the old block's root until something else was mined).
                if mirror.block().hash != at.hash {
                    // Only what this check reads is proved at the new block. Holding every slot
                    // ever read had each block that changes the registry prove all of them again:
                    // at 10,000 services, 79 `eth_getProof` requests and 4.2 s per block. The
                    // audit head, proved at every check, still vouches for every log folded.
                    let held: Vec<B256> = mirror.slots().keys().copied().collect();
                    mirror.forget(&held);
                    mirror.advance(provider, at.hash).await?;
                }
                mirror
            }
            None => {
                self.fresh = true;
                self.mirror.insert(Mirror::at(provider, self.registry, at.hash).await?)
            }
        };
        let ids: Vec<B256> = match scope {
            Scope::Touched(ids) => ids.iter().copied().collect(),
            Scope::All => state.services.keys().copied().collect(),
        };
        // The audit head, each service's state and its namespace's policy hash first, then the
        // active revisions' hashes (which revision is active is only known once its state is
        // proved).
        let namespaces: BTreeSet<B256> =
            ids.iter().filter_map(|id| state.services.get(id)).map(|r| namespace_id(&r.service.namespace)).collect();
        let mut calls: Vec<Bytes> = ids.iter().map(|id| R::serviceStateCall { sId: *id }.abi_encode().into()).collect();
        calls.extend(namespaces.into_iter().map(|ns| R::namespacePolicyHashCall { nsId: ns }.abi_encode().into()));
        calls.push(R::auditHeadCall {}.abi_encode().into());
        mirror.prove_for(provider, &calls).await?;
        let hashes: Vec<Bytes> = {
            let mut session = mirror.session();
            ids.iter()
                .filter_map(|id| {
                    let revision = session.view(&R::serviceStateCall { sId: *id }).ok()?.activeRevision;
                    (revision != 0).then(|| R::revisionHashCall { sId: *id, revision }.abi_encode().into())
                })
                .collect()
        };
        mirror.prove_for(provider, &hashes).await?;

        let mut session = mirror.session();
        let head = session.view(&R::auditHeadCall {})?;
        let mut mismatches = BTreeMap::new();
        for id in ids {
            if let Some(mismatch) = compare(&mut session, state, id)? {
                mismatches.insert(id, mismatch);
            }
        }
        Ok(Verdict { block, audit: (head.seq, head.head), mismatches })
    }

    /// Compares `state` with the kept mirror, without an RPC: what a node that starts while the
    /// chain is unreachable can still vouch for. The mirror holds the audit head (which vouches
    /// for every log folded) and the services of the last block checked; the others are left out.
    pub fn check_offline(&self, state: &RegistryState) -> Option<Verdict> {
        let mirror = self.mirror.as_ref()?;
        let block = mirror.block().number;
        let mut session = mirror.session();
        let head = session.view(&R::auditHeadCall {}).ok()?;
        let mismatches =
            state.services.keys().filter_map(|id| Some((*id, compare(&mut session, state, *id).ok()??))).collect();
        Some(Verdict { block, audit: (head.seq, head.head), mismatches })
    }
}

/// How the events' record of service `id` in `state` disagrees with the registry's state in
/// `session`, if it does; an error when that state is not all in the mirror.
fn compare(session: &mut Session<'_>, state: &RegistryState, id: B256) -> Result<Option<Mismatch>, MirrorError> {
    let record = state.services.get(&id);
    let active = session.view(&R::serviceStateCall { sId: id })?.activeRevision;
    let ours = record.map_or(0, |r| r.active);
    if ours != active {
        return Ok(Some(Mismatch::Active { registry: active, events: ours }));
    }
    let Some((record, spec)) = record.and_then(|r| Some((r, r.active_spec()?))) else { return Ok(None) };
    let proved = session.view(&R::revisionHashCall { sId: id, revision: active })?;
    let ours = spec_hash(spec);
    if ours != proved {
        return Ok(Some(Mismatch::Spec { revision: active, events: ours, registry: proved }));
    }
    let namespace = &record.service.namespace;
    let proved = session.view(&R::namespacePolicyHashCall { nsId: namespace_id(namespace) })?;
    let ours = state.policy_of(namespace).map_or(B256::ZERO, keccak256);
    Ok((ours != proved).then(|| Mismatch::Policy { namespace: namespace.clone(), events: ours, registry: proved }))
}
