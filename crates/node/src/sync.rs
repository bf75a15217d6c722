//! The chain side of the node: reads the registry's log from the stored cursor, checks it (the
//! audit chain over every log, then the registry's own audit head at the new cursor), keeps it,
//! and publishes the folded registry state to the controller. It never stops the controller: while
//! the RPC is down the controller keeps enforcing the last state published.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::pubsub::Subscription;
use alloy::rpc::types::{Header, Log};
use ledgerops_chain::audit::{AuditChain, AuditError, Head};
use ledgerops_chain::events::{RegistryLog, decode};
use ledgerops_chain::{ChainError, Client, Cursor, Follower, Next};
use ledgerops_reconcile::{FoldError, RegistryState};
use tokio::sync::watch;

use crate::health::Health;
use crate::metrics::Metrics;
use crate::outage::Outage;
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
    /// The logs read end at another audit head than the registry reports at that block.
    #[error(
        "after block {block} the logs give audit seq {ours}, the registry says seq {theirs}: a log is missing (re-reading)"
    )]
    Incomplete {
        /// The block.
        block: u64,
        /// Seq folded from the logs.
        ours: u64,
        /// Seq the registry reports.
        theirs: u64,
    },
}

impl SyncError {
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
    /// The registry's state.
    pub state: RegistryState,
}

impl Folded {
    fn genesis(chain_id: u64, registry: Address) -> Self {
        Self { audit: AuditChain::genesis(chain_id, registry), state: RegistryState::default() }
    }

    fn fold(&mut self, logs: &[RegistryLog]) -> Result<(), SyncError> {
        for log in logs {
            self.audit.append_log(&log.raw.inner)?;
            self.state.apply(&log.event)?;
        }
        Ok(())
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
        Ok(()) => Ok(Some(folded)),
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
    pub rpc_url: String,
    /// The registry.
    pub registry: Address,
    /// The chain id it must be on, when configured.
    pub chain_id: Option<u64>,
    /// Confirmation depth.
    pub confirmations: u64,
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
    let mut heads = follower.new_heads().await.ok().flatten();
    tracing::info!(rpc = %source.rpc_url, registry = %source.registry, from_block = cursor.block + 1, "following the registry");
    let mut unpublished = false;
    loop {
        match step(&follower, &store, &mut folded, &mut cursor).await {
            Ok((Stepped::Rewound, _)) => {
                unpublished = true;
                continue;
            }
            Ok((stepped, head)) => {
                rpc.recovered();
                metrics.chain_head.set(i64::try_from(head).unwrap_or(i64::MAX));
                metrics.chain_lag.set(i64::try_from(head.saturating_sub(cursor.block)).unwrap_or(i64::MAX));
                health.update(|s| {
                    s.chain_block = Some(cursor.block);
                    s.rpc_reachable = true;
                });
                if stepped == Stepped::Changed || unpublished {
                    states.send_replace(Some(Arc::new(folded.state.clone())));
                    unpublished = false;
                    continue;
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                if matches!(e, SyncError::Chain(_)) {
                    metrics.rpc_errors.inc();
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
    let client = Client::connect(&source.rpc_url, source.registry, None).await?.expect_chain(source.chain_id)?;
    store.bind(client.chain_id, source.registry)?;
    let follower = Follower::new(client, source.confirmations);
    let cursor = match store.cursor()? {
        Some(cursor) => cursor,
        None => follower.genesis().await?,
    };
    Ok((follower, cursor))
}

/// What one read after the cursor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stepped {
    /// Nothing new.
    Quiet,
    /// New logs were folded.
    Changed,
    /// A reorg rewound the state to the fork point; the new branch is read next, before the
    /// controller sees anything (it would otherwise undo and redo what both branches share).
    Rewound,
}

/// One read after the cursor.
async fn step(
    follower: &Follower,
    store: &Store,
    folded: &mut Folded,
    cursor: &mut Cursor,
) -> Result<(Stepped, u64), SyncError> {
    let (next, head) = follower.next(*cursor).await?;
    let stepped = match next {
        Next::Idle => Stepped::Quiet,
        Next::Advanced { logs, to } => {
            let mut next = folded.clone();
            next.fold(&logs)?;
            let theirs = follower.audit_head(to.block).await?;
            if theirs != next.head() {
                return Err(SyncError::Incomplete { block: to.block, ours: next.audit.seq(), theirs: theirs.0 });
            }
            store.advance(&logs, to)?;
            if !logs.is_empty() {
                tracing::debug!(to = to.block, logs = logs.len(), "read the registry's log");
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

/// Waits for the next block: a new head on a WebSocket, else one polling period.
async fn wait_for_block(heads: &mut Option<Subscription<Header>>, poll_interval: Duration) {
    match heads {
        Some(subscription) => {
            if let Ok(Err(_)) =
                tokio::time::timeout(poll_interval.max(Duration::from_secs(5)), subscription.recv()).await
            {
                // The subscription ended (the socket closed): fall back to polling.
                *heads = None;
            }
        }
        None => tokio::time::sleep(poll_interval).await,
    }
}
