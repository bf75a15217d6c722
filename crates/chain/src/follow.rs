//! Following the registry's log from a cursor, the way a node must: gap-free and reorg-aware.
//!
//! The caller keeps the cursor (the last block it read, by number *and* hash) and a window of
//! recent cursors. Each [`Follower::next`] either brings the logs after the cursor up to the
//! confirmed head, or says the cursor's block is no longer canonical; then
//! [`Follower::fork_point`] finds the newest remembered block that still is, and the caller
//! re-reads from there. A reorg is detected by the parent hash of the block after the cursor (or
//! by the cursor's own hash when no new block came), never by `removed` flags: anvil sends none.

use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};
use alloy::pubsub::Subscription;
use alloy::rpc::types::Header;

use crate::events::{RegistryLog, fetch_range};
use crate::header::fetch_bound;
use crate::trust::TrustRoot;
use crate::{ChainError, Client, Witnesses};

/// New block headers, on a WebSocket connection kept for them alone.
#[derive(Debug)]
pub struct NewHeads {
    subscription: Subscription<Header>,
    /// The subscription ends when its connection is dropped.
    _connection: DynProvider,
}

impl NewHeads {
    /// The next header; `None` once the connection closed (or headers came faster than they
    /// were read): the caller then polls.
    pub async fn recv(&mut self) -> Option<Header> {
        self.subscription.recv().await.ok()
    }
}

/// A block the follower read up to: a number alone cannot tell one branch from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The block's number.
    pub block: u64,
    /// The block's hash.
    pub hash: B256,
}

/// What one step of following found.
#[derive(Debug, Clone)]
pub enum Next {
    /// No confirmed block after the cursor yet.
    Idle,
    /// The logs after the cursor up to `to`, the new cursor.
    Advanced {
        /// The registry's logs of the new blocks, oldest first.
        logs: Vec<RegistryLog>,
        /// The last block read.
        to: Cursor,
    },
    /// The cursor's block was replaced: the chain reorganised under it.
    Reorged,
}

/// Reads the registry's log after a cursor, `confirmations` blocks behind the head.
#[derive(Debug, Clone)]
pub struct Follower {
    client: Client,
    confirmations: u64,
    witnesses: Option<Witnesses>,
    trust: TrustRoot,
}

impl Follower {
    /// Follows the registry of `client`, treating a block as final once `confirmations` blocks
    /// are built on it (0 on anvil; a few on a PoA or QBFT chain, see docs/node.md).
    pub fn new(client: Client, confirmations: u64) -> Self {
        Self { client, confirmations, witnesses: None, trust: TrustRoot::default() }
    }

    /// Acts on a block only when the chain holds `trust`'s checkpoint and, under QBFT, when its
    /// header and every one since the checkpoint carry a quorum of validator seals.
    pub fn with_trust(mut self, trust: TrustRoot) -> Self {
        self.trust = trust;
        self
    }

    /// The trust root's state: the last header whose seals verified.
    pub fn trust(&self) -> &TrustRoot {
        &self.trust
    }

    /// Acts on a block only when `witnesses` agree on its hash.
    pub fn with_witnesses(mut self, witnesses: Witnesses) -> Self {
        self.witnesses = Some(witnesses);
        self
    }

    /// The client this follower reads through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The cursor to start from on a fresh node: the block before the registry's deploy block,
    /// so the first step reads the registry's whole log.
    pub async fn genesis(&self) -> Result<Cursor, ChainError> {
        let deployed = self.client.view(self.client.registry.deployBlock()).await?;
        let block = deployed.saturating_sub(1);
        let hash = self.hash_of(block).await?.ok_or_else(|| missing_block(block))?;
        Ok(Cursor { block, hash })
    }

    /// One step after `cursor`, and the chain's latest block number.
    pub async fn next(&self, cursor: Cursor) -> Result<(Next, u64), ChainError> {
        let provider = self.client.registry.provider();
        let latest = provider.get_block_number().await.map_err(|e| self.client.rpc_error(e))?;
        self.step(cursor, latest).await.map(|next| (next, latest))
    }

    async fn step(&self, cursor: Cursor, latest: u64) -> Result<Next, ChainError> {
        let target = latest.saturating_sub(self.confirmations);
        if target <= cursor.block {
            let still = self.hash_of(cursor.block).await? == Some(cursor.hash);
            return Ok(if still { Next::Idle } else { Next::Reorged });
        }
        let child = self.header(cursor.block + 1).await?.ok_or_else(|| missing_block(cursor.block + 1))?;
        if child.parent_hash != cursor.hash {
            return Ok(Next::Reorged);
        }
        let logs = fetch_range(&self.client, cursor.block + 1, target).await?;
        let hash = self.hash_of(target).await?.ok_or_else(|| missing_block(target))?;
        // A log from another branch than the one `hash` ends means a reorg during the read.
        if logs.iter().any(|l| l.block == target && l.raw.block_hash.is_some_and(|h| h != hash)) {
            return Ok(Next::Reorged);
        }
        // The primary's logs and proofs are checked against this block's header: other
        // endpoints must vouch that it is the chain's.
        if let Some(witnesses) = &self.witnesses {
            witnesses.agree(target, hash).await?;
        }
        self.trust.vouch(&self.client, target, hash).await?;
        Ok(Next::Advanced { logs, to: Cursor { block: target, hash } })
    }

    /// The newest of `recent` (any order) still on the canonical chain, if any.
    pub async fn fork_point(&self, recent: &[Cursor]) -> Result<Option<Cursor>, ChainError> {
        let mut newest_first = recent.to_vec();
        newest_first.sort_by_key(|c| std::cmp::Reverse(c.block));
        for cursor in newest_first {
            if self.hash_of(cursor.block).await? == Some(cursor.hash) {
                return Ok(Some(cursor));
            }
        }
        Ok(None)
    }

    /// New block headers as they are mined, when the endpoint is a WebSocket; `None` over HTTP
    /// (the caller polls). They come on a connection of their own: on the one that carries the
    /// requests, a server that leaves Nagle's algorithm on (anvil does) holds each notification
    /// back until the client's delayed ACK of its last answer, which measured ~40 ms per block.
    pub async fn new_heads(&self) -> Result<Option<NewHeads>, ChainError> {
        if !self.client.endpoint.is_websocket() {
            return Ok(None);
        }
        let (connection, _) = Client::provider(&self.client.endpoint, None).await?;
        let subscription = connection.subscribe_blocks().await.map_err(|e| self.client.rpc_error(e))?;
        Ok(Some(NewHeads { subscription, _connection: connection }))
    }

    async fn hash_of(&self, block: u64) -> Result<Option<B256>, ChainError> {
        Ok(self.header(block).await?.map(|h| h.hash))
    }

    async fn header(&self, block: u64) -> Result<Option<Header>, ChainError> {
        fetch_bound(&self.client, block).await
    }
}

fn missing_block(block: u64) -> ChainError {
    ChainError::Rpc(format!("the node has no block {block} (pruned history, or a reorg while reading)"))
}
