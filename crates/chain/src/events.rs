//! The registry's event log, read from its deploy block: the source of `history`, `status`, audit
//! verification and export (and, later, of the node's desired state).

use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryEvents;

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

/// Every log of the registry from `from` to the latest block.
pub async fn fetch_all(client: &Client, from: u64) -> Result<Fetched, ChainError> {
    let latest = client.registry.provider().get_block_number().await.map_err(|e| client.rpc_error(e))?;
    let logs = fetch_range(client, from, latest).await?;
    Ok(Fetched { logs, to_block: latest })
}

/// The registry's logs from block `from` to block `to` (inclusive), oldest first, read in pages
/// that halve whenever the node refuses a range as too large.
pub async fn fetch_range(client: &Client, from: u64, to: u64) -> Result<Vec<RegistryLog>, ChainError> {
    let provider = client.registry.provider();
    let mut out = Vec::new();
    let (mut start, mut page) = (from, PAGE_BLOCKS);
    while start <= to {
        let end = to.min(start.saturating_add(page - 1));
        let filter = Filter::new().address(*client.registry.address()).from_block(start).to_block(end);
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
