//! The registry's event log, read from its deploy block: the source of `history`, `status`, audit
//! verification and export (and, later, of the node's desired state).

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolEvent, SolEventInterface};
use ledgerops_bindings::DeploymentRegistry::{DeploymentRegistryEvents, NamespacePolicySet};

use crate::{ChainError, Client};

/// Blocks asked for in one `eth_getLogs`; halved when the node refuses a range.
const PAGE_BLOCKS: u64 = 50_000;

/// One registry log, decoded.
#[derive(Debug, Clone)]
pub struct RegistryLog {
    /// Block number.
    pub block: u64,
    /// Block time (seconds since the epoch), when the node reports it.
    pub time: Option<u64>,
    /// Transaction hash.
    pub tx: B256,
    /// The decoded event.
    pub event: DeploymentRegistryEvents,
    /// The log as the node returned it (the audit chain hashes its raw bytes).
    pub raw: Log,
}

/// The registry's logs of a block range.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Oldest first, decoded.
    pub logs: Vec<RegistryLog>,
    /// The last block read: the next read starts after it.
    pub to_block: u64,
}

/// Every log of the registry from `from` to the latest block, each with its block's time (what
/// the CLI shows).
pub async fn fetch_all(client: &Client, from: u64) -> Result<Fetched, ChainError> {
    let latest = client.registry.provider().get_block_number().await.map_err(|e| client.rpc_error(e))?;
    let mut logs = fetch_range(client, from, latest).await?;
    fill_times(client, &mut logs).await?;
    Ok(Fetched { logs, to_block: latest })
}

/// Gives each log that came without `blockTimestamp` its block's time, read from the block's
/// header. Not every client puts the field in a log (anvil does, Hardhat 2 does not), and
/// `history` and `status` showed "-" there. One header per block that needs it (logs come in
/// block order); the node never shows times, so its follower does not pay for this.
async fn fill_times(client: &Client, logs: &mut [RegistryLog]) -> Result<(), ChainError> {
    let mut last: Option<(B256, u64)> = None;
    for log in logs.iter_mut().filter(|log| log.time.is_none()) {
        let Some(hash) = log.raw.block_hash else { continue };
        let time = match last {
            Some((known, time)) if known == hash => time,
            _ => {
                let block = client.registry.provider().get_block_by_hash(hash).await;
                // `None`: the block left the chain since the logs were read; its logs keep no time.
                let Some(block) = block.map_err(|e| client.rpc_error(e))? else { continue };
                block.header.timestamp
            }
        };
        last = Some((hash, time));
        log.time = Some(time);
    }
    Ok(())
}

/// The registry's logs from block `from` to block `to` (inclusive), oldest first, read in pages
/// that halve whenever the node refuses a range as too large.
pub async fn fetch_range(client: &Client, from: u64, to: u64) -> Result<Vec<RegistryLog>, ChainError> {
    fetch_matching(client, from, to, Filter::new()).await
}

/// The registry's logs that `filter`'s topics match, from block `from` to block `to`.
async fn fetch_matching(client: &Client, from: u64, to: u64, filter: Filter) -> Result<Vec<RegistryLog>, ChainError> {
    let provider = client.registry.provider();
    let mut out = Vec::new();
    let (mut start, mut page) = (from, PAGE_BLOCKS);
    while start <= to {
        let end = to.min(start.saturating_add(page - 1));
        let filter = filter.clone().address(*client.registry.address()).from_block(start).to_block(end);
        match provider.get_logs(&filter).await {
            Ok(logs) => {
                for raw in logs {
                    out.push(decode(raw)?);
                }
                start = end + 1;
            }
            Err(e) if page > 1 && !e.is_transport_error() => page /= 2,
            Err(e) => return Err(client.rpc_error(e)),
        }
    }
    Ok(out)
}

/// The policy of the namespace with id `namespace` as the registry commits to it: `None` for the
/// default. Only that namespace's policy logs are read, and the one kept is the last whose bytes
/// hash to the registry's commitment, so an RPC that drops or alters them is an error, not a
/// wrong policy.
pub async fn namespace_policy(client: &Client, namespace: B256) -> Result<Option<Bytes>, ChainError> {
    let committed = client.view(client.registry.namespacePolicyHash(namespace)).await?;
    if committed.is_zero() {
        return Ok(None);
    }
    let from = client.view(client.registry.deployBlock()).await?;
    let latest = client.registry.provider().get_block_number().await.map_err(|e| client.rpc_error(e))?;
    let filter = Filter::new().event_signature(NamespacePolicySet::SIGNATURE_HASH).topic1(namespace);
    let logs = fetch_matching(client, from, latest, filter).await?;
    let set = logs.into_iter().rev().find_map(|log| match log.event {
        DeploymentRegistryEvents::NamespacePolicySet(e) if keccak256(&e.policy) == committed => Some(e.policy),
        _ => None,
    });
    set.map(Some).ok_or_else(|| {
        ChainError::Rpc(format!(
            "the RPC returned no policy log of namespace {namespace} that hashes to the registry's {committed}"
        ))
    })
}

/// Decodes a log of the registry (one the node kept, or one the RPC returned).
pub fn decode(raw: Log) -> Result<RegistryLog, ChainError> {
    let event = DeploymentRegistryEvents::decode_log(&raw.inner)
        .map_err(|e| ChainError::Rpc(format!("a registry log does not decode: {e}")))?
        .data;
    Ok(RegistryLog {
        block: raw.block_number.unwrap_or_default(),
        time: raw.block_timestamp,
        tx: raw.transaction_hash.unwrap_or_default(),
        event,
        raw,
    })
}
