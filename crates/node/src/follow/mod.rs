//! The chain side of the node: reads the registry's log from the stored cursor, checks it (the
//! audit chain over every log, then the registry's own audit head and the changed services at the
//! new cursor, proved and run in revm: [`verify`]), keeps it, and publishes the folded
//! registry state to the controller. Logs that do not add up hold the services they got wrong at
//! their last verified state; the others go on. It never stops the controller: while the RPC is
//! down the controller keeps enforcing the last state published.

mod held;
pub mod verify;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use ledgerops_chain::audit::{AuditChain, AuditError, Head};
use ledgerops_chain::events::{RegistryLog, decode};
use ledgerops_chain::trust::{Checkpoint, Consensus, TrustRoot};
use ledgerops_chain::{ChainError, Client, Cursor, Endpoint, Follower, NewHeads, Next, Witnesses};
use ledgerops_evm::MirrorError;
use ledgerops_registry::{FoldError, RegistryState};
use tokio::sync::watch;

use self::held::Held;
use self::verify::{Scope, Verifier};
use crate::outage::Outage;
use crate::serve::Health;
use crate::serve::metrics::Metrics;
use crate::store::{Entry, Store, StoreError};

/// Longest wait between two tries of an unreachable RPC.
const RPC_RETRY_CAP: Duration = Duration::from_secs(30);

/// Why a step of following failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The RPC failed or refused (transient unless the configuration is wrong).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A log does not extend the audit chain: one is missing or altered; the range is re-read.
    #[error("the registry's log does not verify: {0} (re-reading)")]
    Audit(#[from] AuditError),
    /// A log does not fold into the state.
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// The registry's state could not be proved (RPC failure, or an answer that does not verify).
    #[error("cannot prove the registry's state: {0} (retrying)")]
    Verify(#[from] MirrorError),
}

impl SyncError {
    /// The refusal's words, when an answer of the RPC failed the node's trust root.
    fn untrusted(&self) -> Option<String> {
        match self {
            Self::Chain(ChainError::Untrusted(refusal)) => Some(refusal.clone()),
            Self::Verify(MirrorError::Untrusted(refusal)) => Some(refusal.to_string()),
            _ => None,
        }
    }

    /// Errors retrying cannot fix: the operator must change the configuration.
    fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Chain(ChainError::WrongChain { .. } | ChainError::NoContract { .. })
                | Self::Store(StoreError::OtherRegistry { .. })
        )
    }
}

/// The registry state and the audit chain it was verified with.
#[derive(Debug, Clone)]
pub struct Folded {
    audit: AuditChain,
    /// The registry's state, shared with the controller: a node on thousands of services keeps
    /// one copy, and a block's fold copies it only while the controller still holds the last.
    pub state: Arc<RegistryState>,
}

impl Folded {
    fn genesis(chain_id: u64, registry: Address) -> Self {
        Self { audit: AuditChain::genesis(chain_id, registry), state: Arc::default() }
    }

    /// Folds `logs` in; returns the services they changed, each once.
    fn fold(&mut self, logs: &[RegistryLog]) -> Result<BTreeSet<B256>, SyncError> {
        let mut touched = BTreeSet::new();
        for log in logs {
            self.audit.append_log(&log.raw.inner)?;
            let change = Arc::make_mut(&mut self.state).apply(&log.event)?;
            touched.extend(self.state.moved_by(&change));
        }
        Ok(touched)
    }

    fn head(&self) -> (u64, Head) {
        (self.audit.seq(), self.audit.head())
    }
}

/// The state kept in the store, folded and verified again; `None` for a new store. A store
/// whose logs no longer verify is emptied (the chain is read again) rather than trusted.
pub fn restore(store: &Store) -> Result<Option<Folded>, StoreError> {
    let Some((chain_id, registry)) = store.binding()? else { return Ok(None) };
    let logs = store.logs()?;
    let mut folded = Folded::genesis(chain_id, registry);
    match decode_all(logs).and_then(|logs| folded.fold(&logs)) {
        Ok(_) => Ok(Some(folded)),
        Err(e) => {
            tracing::warn!(error = %e, "the store's log does not verify; reading the chain again");
            store.rewind(None)?;
            Ok(Some(Folded::genesis(chain_id, registry)))
        }
    }
}

fn decode_all(logs: Vec<Log>) -> Result<Vec<RegistryLog>, SyncError> {
    logs.into_iter().map(|raw| decode(raw).map_err(SyncError::from)).collect()
}

/// Where and how to follow.
#[derive(Debug, Clone)]
pub struct Source {
    /// The RPC endpoint.
    pub rpc: Endpoint,
    /// The registry.
    pub registry: Address,
    /// The chain id it must be on, when configured.
    pub chain_id: Option<u64>,
    /// Confirmation depth.
    pub confirmations: u64,
    /// Other endpoints that must vouch for every block acted on.
    pub witnesses: Vec<Endpoint>,
    /// How many endpoints must agree (`None`: all).
    pub rpc_quorum: Option<usize>,
    /// A block the operator trusts (else the one kept in the store, if any).
    pub checkpoint: Option<Checkpoint>,
    /// Whose seals make a block final, as far as the node checks.
    pub consensus: Consensus,
    /// Polling period for http endpoints (also the longest wait on a quiet WebSocket).
    pub poll_interval: Duration,
}

/// Follows the chain until a fatal error, publishing each new state to `states`.
pub async fn run(
    source: Source,
    store: Arc<Store>,
    restored: Option<Folded>,
    states: watch::Sender<Option<Arc<RegistryState>>>,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
) -> Result<(), SyncError> {
    // Before any RPC answer: the kept state against the proofs kept with it.
    let mut verifier = Verifier::new(source.registry, store.mirror()?);
    if let Some(restored) = &restored {
        check_kept(&verifier, restored, &metrics);
    }
    let mut rpc = Outage::new("RPC", RPC_RETRY_CAP);
    let (follower, mut cursor) = loop {
        match connect(&source, &store).await {
            Ok(connected) => break connected,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => tokio::time::sleep(rpc.failed(&e)).await,
        }
    };
    rpc.recovered();
    let client = follower.client();
    let mut folded = restored.unwrap_or_else(|| Folded::genesis(client.chain_id, source.registry));
    let mut held: Option<Held> = None;
    let mut heads = follower.new_heads().await.ok().flatten();
    tracing::info!(rpc = %source.rpc, registry = %source.registry, from_block = cursor.block + 1, "following the registry");
    let mut unpublished = false;
    loop {
        match step(&follower, &store, &mut verifier, &mut folded, &mut cursor).await {
            Ok((Stepped::Rewound, _)) => {
                unpublished = true;
                continue;
            }
            Ok((Stepped::Held(now), head)) => {
                rpc.recovered();
                metrics.chain_head.set(i64::try_from(head).unwrap_or(i64::MAX));
                metrics.chain_lag.set(i64::try_from(head.saturating_sub(cursor.block)).unwrap_or(i64::MAX));
                if now.differs_from(held.as_ref()) {
                    now.report(held.as_ref(), &store, &health, &metrics);
                    states.send_replace(Some(Arc::new(now.state.clone())));
                }
                held = Some(now);
            }
            Ok((stepped, head)) => {
                rpc.recovered();
                if held.take().is_some() {
                    tracing::info!(block = cursor.block, "the registry's logs verify again; no service is held");
                    metrics.held_services.set(0);
                    health.update(|s| s.held.clear());
                    unpublished = true;
                }
                metrics.chain_head.set(i64::try_from(head).unwrap_or(i64::MAX));
                metrics.chain_lag.set(i64::try_from(head.saturating_sub(cursor.block)).unwrap_or(i64::MAX));
                health.update(|s| {
                    s.chain_block = Some(cursor.block);
                    s.rpc_reachable = true;
                    s.rpc_disagreement = None;
                    s.rpc_untrusted = None;
                });
                if stepped == Stepped::Changed || unpublished {
                    states.send_replace(Some(Arc::clone(&folded.state)));
                    unpublished = false;
                    continue;
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                if matches!(e, SyncError::Chain(_) | SyncError::Verify(MirrorError::Rpc(_))) {
                    metrics.rpc_errors.inc();
                }
                if let SyncError::Chain(disagreement @ ChainError::Disagreement { .. }) = &e {
                    // The endpoints answer; they disagree. Said as such (not as an outage), and
                    // asked again at the next block.
                    metrics.rpc_disagreements.inc();
                    let said = disagreement.to_string();
                    tracing::warn!(error = %said, "not acting on the next block");
                    health.update(|s| s.rpc_disagreement = Some(said));
                    wait_for_block(&mut heads, source.poll_interval).await;
                    continue;
                }
                if let Some(refusal) = e.untrusted() {
                    // The RPC answers, and its answer fails the trust root: said as such, and
                    // asked again at the next block (another answer may pass).
                    metrics.rpc_untrusted.inc();
                    tracing::warn!(error = %refusal, "not acting on the RPC's answer");
                    health.update(|s| s.rpc_untrusted = Some(refusal));
                    wait_for_block(&mut heads, source.poll_interval).await;
                    continue;
                }
                if matches!(e, SyncError::Chain(ChainError::Unreachable { .. })) {
                    health.update(|s| s.rpc_reachable = false);
                } else {
                    tracing::warn!(error = %e, "reading the registry failed; retrying");
                }
                tokio::time::sleep(rpc.failed(&e)).await;
                continue;
            }
        }
        wait_for_block(&mut heads, source.poll_interval).await;
    }
}

async fn connect(source: &Source, store: &Store) -> Result<(Follower, Cursor), SyncError> {
    let client = Client::connect(&source.rpc, source.registry, None).await?.expect_chain(source.chain_id)?;
    store.bind(client.chain_id, source.registry)?;
    let chain_id = client.chain_id;
    let checkpoint = match source.checkpoint {
        Some(given) => {
            store.set_checkpoint(given)?;
            Some(given)
        }
        None => store.checkpoint()?,
    };
    let tip = match checkpoint {
        Some(checkpoint) if source.consensus == Consensus::Qbft => store.sealed_tip(checkpoint)?,
        _ => None,
    };
    let trust = TrustRoot::new(checkpoint, source.consensus).map_err(ChainError::Untrusted)?.resume(tip);
    let mut follower = Follower::new(client, source.confirmations).with_trust(trust);
    if !source.witnesses.is_empty() {
        follower = follower.with_witnesses(Witnesses::connect(&source.witnesses, source.rpc_quorum, chain_id).await?);
    }
    let cursor = match store.cursor()? {
        Some(cursor) => cursor,
        None => follower.genesis().await?,
    };
    Ok((follower, cursor))
}

/// What one read after the cursor did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stepped {
    /// Nothing new.
    Quiet,
    /// New logs were folded.
    Changed,
    /// A reorg rewound the state to the fork point; the new branch is read next, before the
    /// controller sees anything (it would otherwise undo and redo what both branches share).
    Rewound,
    /// The logs read do not add up: the cursor stays, the range is read again at the next block.
    Held(Held),
}

/// One read after the cursor.
async fn step(
    follower: &Follower,
    store: &Store,
    verifier: &mut Verifier,
    folded: &mut Folded,
    cursor: &mut Cursor,
) -> Result<(Stepped, u64), SyncError> {
    let started = std::time::Instant::now();
    let (next, head) = follower.next(*cursor).await?;
    let read = started.elapsed();
    let provider = follower.client().registry.provider();
    let stepped = match next {
        Next::Idle => Stepped::Quiet,
        Next::Advanced { logs, to } => {
            let mut next = folded.clone();
            let verdict = match next.fold(&logs) {
                Ok(touched) => Some(verifier.check(provider, to, &next.state, Scope::Touched(&touched)).await?),
                Err(e) => {
                    tracing::debug!(error = %e, "the logs read do not verify");
                    None
                }
            };
            if !verdict.is_some_and(|v| v.audit == next.head() && v.mismatches.is_empty()) {
                let held = Held::find(provider, verifier, &folded.state, &logs, to).await?;
                return Ok((Stepped::Held(held), head));
            }
            let verified = started.elapsed();
            store.advance(&logs, to)?;
            if let (Some(checkpoint), Some(tip)) = (follower.trust().checkpoint(), follower.trust().tip()) {
                store.set_sealed_tip(checkpoint, &tip)?;
            }
            let changes = verifier.take_changed();
            if let Some(mirror) = verifier.mirror() {
                store.save_mirror(mirror.head(), &changes)?;
            }
            if !logs.is_empty() {
                tracing::debug!(
                    to = to.block,
                    logs = logs.len(),
                    read_ms = read.as_secs_f64() * 1e3,
                    verified_ms = verified.as_secs_f64() * 1e3,
                    stored_ms = started.elapsed().as_secs_f64() * 1e3,
                    "read the registry's log"
                );
            }
            *folded = next;
            *cursor = to;
            if logs.is_empty() { Stepped::Quiet } else { Stepped::Changed }
        }
        Next::Reorged => {
            let fork = follower.fork_point(&store.recent()?).await?;
            store.rewind(fork)?;
            let client = follower.client();
            *folded = restore(store)?.unwrap_or_else(|| Folded::genesis(client.chain_id, *client.registry.address()));
            *cursor = match fork {
                Some(fork) => fork,
                None => follower.genesis().await?,
            };
            let detail = format!("the chain reorganised under block {}; re-reading from there", cursor.block + 1);
            tracing::warn!("{detail}");
            store.record(&Entry::chain("reorg", detail))?;
            Stepped::Rewound
        }
    };
    Ok((stepped, head))
}

/// Checks the state kept in the store against the mirror kept with it, without an RPC: the
/// audit seq and head its logs fold to, and the services the mirror holds.
fn check_kept(verifier: &Verifier, kept: &Folded, metrics: &Metrics) {
    let state = &kept.state;
    let Some(verdict) = verifier.check_offline(state) else { return };
    if verdict.mismatches.is_empty() && verdict.audit == kept.head() {
        tracing::info!(
            block = verdict.block,
            services = state.services.len(),
            "the kept state matches the kept proofs"
        );
    } else {
        metrics.verify_mismatches.inc();
        tracing::warn!(block = verdict.block, mismatches = ?verdict.mismatches, "the kept state does not match the kept proofs; re-reading");
    }
}

/// Waits for the next block: a new head on a WebSocket, else one polling period.
async fn wait_for_block(heads: &mut Option<NewHeads>, poll_interval: Duration) {
    match heads {
        Some(subscription) => {
            if let Ok(None) = tokio::time::timeout(poll_interval.max(Duration::from_secs(5)), subscription.recv()).await
            {
                // The subscription ended (the socket closed): fall back to polling.
                *heads = None;
            }
        }
        None => tokio::time::sleep(poll_interval).await,
    }
}
