//! What a node trusts besides the RPC's word, checked on the headers the follower acts on:
//!
//! - a **checkpoint**: a block (number and hash) the operator knows is the chain's, from a source
//!   of its own. History that does not contain it is refused: an RPC serving another chain with
//!   the same id (a reset dev chain, a fork made before the checkpoint) is not followed.
//! - **QBFT seals** (with a checkpoint): from the checkpoint's header on, every header must carry
//!   committed seals of a quorum of the validator set its parent names, so that the blocks acted
//!   on are the validators' and not the RPC's; the set is followed block by block.
//!
//! The sealed tip (the last header verified, and the set that seals the next) is kept so that each
//! step verifies only the new headers; a node restarts from its checkpoint.

use std::sync::Mutex;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Header;

use crate::header::fetch_bound;
use crate::{ChainError, Client, qbft};

/// A block the operator trusts: `NUMBER:HASH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Its number.
    pub block: u64,
    /// Its hash.
    pub hash: B256,
}

impl std::str::FromStr for Checkpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("checkpoint {text:?}: write NUMBER:HASH, e.g. 7528:0x75ea…0a32 (the block's full hash)");
        let (block, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        Ok(Self { block: block.trim().parse().map_err(|_| bad())?, hash: hash.trim().parse().map_err(|_| bad())? })
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.block, self.hash)
    }
}

/// How the chain's blocks are finalised, as far as the node checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consensus {
    /// Not checked: the RPC's headers (each bound to its hash), witnesses and the checkpoint.
    #[default]
    Any,
    /// Hyperledger Besu's QBFT: every header's committed seals are checked.
    Qbft,
}

/// The last header whose seals verified, and the validator set that seals the next one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SealedTip {
    /// Its number.
    pub block: u64,
    /// Its hash.
    pub hash: B256,
    /// The set it names.
    pub validators: Vec<Address>,
}

/// The checks of a follower's trust root.
#[derive(Debug, Default)]
pub struct TrustRoot {
    checkpoint: Option<Checkpoint>,
    consensus: Consensus,
    tip: Mutex<Option<SealedTip>>,
}

impl Clone for TrustRoot {
    fn clone(&self) -> Self {
        Self { checkpoint: self.checkpoint, consensus: self.consensus, tip: Mutex::new(self.tip()) }
    }
}

impl TrustRoot {
    /// A trust root; QBFT needs a checkpoint to take the first validator set from.
    pub fn new(checkpoint: Option<Checkpoint>, consensus: Consensus) -> Result<Self, String> {
        if consensus == Consensus::Qbft && checkpoint.is_none() {
            return Err("--consensus qbft needs --checkpoint: the validator set is read from that block".into());
        }
        Ok(Self { checkpoint, consensus, tip: Mutex::new(None) })
    }

    /// Starts the seal checks from `tip`, a header verified earlier from this root's checkpoint
    /// (the node keeps it, so that a restart does not verify every header since the checkpoint
    /// again).
    pub fn resume(self, tip: Option<SealedTip>) -> Self {
        *self.tip.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = tip;
        self
    }

    /// The checkpoint, when there is one.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint
    }

    /// The last header whose seals verified, if any yet.
    pub fn tip(&self) -> Option<SealedTip> {
        self.tip.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Checks that the chain the client reads, up to `target` whose hash is `hash`, holds the
    /// checkpoint and, under QBFT, that every header from the checkpoint to `target` is sealed.
    pub async fn vouch(&self, client: &Client, target: u64, hash: B256) -> Result<(), ChainError> {
        let Some(checkpoint) = self.checkpoint else { return Ok(()) };
        if target < checkpoint.block {
            return Err(untrusted(format!(
                "the RPC's chain has not reached checkpoint block {} (its block {target} is the newest acted on)",
                checkpoint.block
            )));
        }
        if self.consensus == Consensus::Qbft {
            // Sealed headers link back to the checkpoint: it is read again only to start over.
            return self.seal_up_to(client, checkpoint, target, hash).await;
        }
        held(client, checkpoint).await.map(drop)
    }

    /// Verifies the seals of every header after the sealed tip (the checkpoint's at first) up to
    /// `target`, which must be `hash`.
    async fn seal_up_to(
        &self,
        client: &Client,
        checkpoint: Checkpoint,
        target: u64,
        hash: B256,
    ) -> Result<(), ChainError> {
        let mut tip = match self.tip() {
            Some(tip) if tip.block >= checkpoint.block && tip.block <= target => tip,
            _ => {
                let start = held(client, checkpoint).await?;
                let validators = qbft::validators_of(&alloy::rlp::encode(&start.inner))
                    .map_err(|e| untrusted(format!("checkpoint block {}: {e}", checkpoint.block)))?;
                SealedTip { block: checkpoint.block, hash: checkpoint.hash, validators }
            }
        };
        while tip.block < target {
            let next = header(client, tip.block + 1).await?;
            let rlp = alloy::rlp::encode(&next.inner);
            let sealed = qbft::verify_header_hash(&rlp, &tip.validators, next.hash)
                .map_err(|e| untrusted(format!("block {}: {e}", next.number)))?;
            if sealed.parent != tip.hash || sealed.number != tip.block + 1 {
                return Err(untrusted(format!("block {} does not follow sealed block {}", next.number, tip.block)));
            }
            tip = SealedTip { block: sealed.number, hash: sealed.hash, validators: sealed.validators };
            *self.tip.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tip.clone());
        }
        if tip.hash != hash {
            return Err(untrusted(format!("block {target} is {hash} on this RPC, but {} was sealed", tip.hash)));
        }
        Ok(())
    }
}

fn untrusted(reason: String) -> ChainError {
    ChainError::Untrusted(reason)
}

/// The checkpoint's header on this RPC; an error unless it is the checkpoint.
async fn held(client: &Client, checkpoint: Checkpoint) -> Result<Header, ChainError> {
    let found = header(client, checkpoint.block).await?;
    if found.hash != checkpoint.hash {
        return Err(untrusted(format!(
            "block {} is {} on this RPC, not checkpoint {checkpoint}: another chain",
            checkpoint.block, found.hash
        )));
    }
    Ok(found)
}

async fn header(client: &Client, block: u64) -> Result<Header, ChainError> {
    fetch_bound(client, block).await?.ok_or_else(|| untrusted(format!("the RPC has no block {block}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_read_number_colon_hash() {
        let hash = "0x75ea184f58cd3f0ef89032a069df01f07ec524ef3a85cf6d3e424d62130c0a32";
        let checkpoint: Checkpoint = format!("7528:{hash}").parse().expect("a checkpoint");
        assert_eq!((checkpoint.block, checkpoint.hash.to_string()), (7528, hash.to_owned()));
        assert_eq!(checkpoint.to_string().parse::<Checkpoint>(), Ok(checkpoint));
        for bad in ["7528", "x:0x00", "7528:0x1234", hash] {
            let refused = bad.parse::<Checkpoint>().expect_err(bad);
            assert!(refused.contains("NUMBER:HASH"), "{refused}");
        }
        assert!(TrustRoot::new(None, Consensus::Qbft).expect_err("no checkpoint").contains("--checkpoint"));
    }
}
