//! Other RPC endpoints of the same chain, asked for the hash of every block a node acts on: a
//! single RPC can serve a whole fork of the chain (with the same chain id, history, registry and
//! code, and a revision published there) and every log and proof check passes against its
//! headers. With witnesses, a block is acted on only when at least `quorum` endpoints (the primary
//! included) give the same hash for it, so an attacker must control that many independent ones.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};

use crate::{ChainError, Client, Endpoint};

/// The witness endpoints and the quorum.
#[derive(Debug, Clone)]
pub struct Witnesses {
    endpoints: Vec<(Endpoint, DynProvider)>,
    quorum: usize,
}

impl Witnesses {
    /// Connects to each of `urls`, which must serve chain `chain_id`; `quorum` counts the primary
    /// too (default: every endpoint).
    pub async fn connect(urls: &[Endpoint], quorum: Option<usize>, chain_id: u64) -> Result<Self, ChainError> {
        let mut endpoints = Vec::with_capacity(urls.len());
        for url in urls {
            let (provider, actual) = Client::provider(url, None).await?;
            if actual != chain_id {
                return Err(ChainError::WrongChain { url: url.to_string(), expected: chain_id, actual });
            }
            endpoints.push((url.clone(), provider));
        }
        let quorum = quorum.unwrap_or(urls.len() + 1);
        Ok(Self { endpoints, quorum })
    }

    /// Ok when at least the quorum of endpoints give `hash` for `block` (the primary gave it).
    /// An endpoint that does not answer, or has no such block, does not agree.
    pub async fn agree(&self, block: u64, hash: B256) -> Result<(), ChainError> {
        let mut agreeing = 1;
        let mut answers = Vec::new();
        for (url, provider) in &self.endpoints {
            let answer = provider.get_block_by_number(BlockNumberOrTag::Number(block)).await;
            match answer {
                Ok(Some(found)) if found.header.hash == hash => agreeing += 1,
                Ok(Some(found)) => answers.push(format!("{url}: {}", found.header.hash)),
                Ok(None) => answers.push(format!("{url}: no such block")),
                Err(e) => answers.push(format!("{url}: {}", crate::unreachable::reason(url, &e))),
            }
        }
        if agreeing >= self.quorum {
            return Ok(());
        }
        Err(ChainError::Disagreement {
            block,
            hash,
            agreeing,
            endpoints: self.endpoints.len() + 1,
            needed: self.quorum,
            answers: answers.join("; "),
        })
    }
}
