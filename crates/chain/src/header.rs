//! A block header's fields bound to its hash. An RPC's header is JSON: its `hash` and its
//! `stateRoot` are separate fields, and nothing in the format ties one to the other, so an RPC (or
//! anyone on a plaintext path) could give the true hash, which witnesses and checkpoints vouch for,
//! beside a state root of its choosing, against which it would then prove forged storage. The
//! fields are encoded again as the chain does and hashed: only a header whose fields give its hash
//! is used.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{B256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Header;

use crate::{ChainError, Client, qbft};

/// How a header's hash covers its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// keccak256 of the whole header (Ethereum, anvil, Hardhat, Clique).
    Plain,
    /// keccak256 of the header with QBFT's committed seals emptied (Besu QBFT).
    Qbft,
}

/// The header's fields do not give its hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the RPC's header of block {number} does not hash to its hash {hash} (its fields give {computed}): refused")]
pub struct UnboundHeader {
    /// The block number it claims.
    pub number: u64,
    /// The hash it claims.
    pub hash: B256,
    /// What its fields hash to.
    pub computed: B256,
}

/// Block `block`'s header from `client`'s RPC, refused unless its fields give its hash; `None`
/// when the RPC has no such block. Every header the follower compares hashes of comes this way.
pub(crate) async fn fetch_bound(client: &Client, block: u64) -> Result<Option<Header>, ChainError> {
    let provider = client.registry.provider();
    let found = provider.get_block_by_number(BlockNumberOrTag::Number(block)).await.map_err(|e| client.rpc_error(e))?;
    let Some(header) = found.map(|b| b.header) else { return Ok(None) };
    check_binding(&header).map_err(|e| ChainError::Untrusted(e.to_string()))?;
    Ok(Some(header))
}

/// Checks that `header`'s fields (state root included) give its hash, either way.
pub fn check_binding(header: &Header) -> Result<Binding, UnboundHeader> {
    let rlp = alloy::rlp::encode(&header.inner);
    let computed = keccak256(&rlp);
    if computed == header.hash {
        return Ok(Binding::Plain);
    }
    if qbft::unsealed_hash(&rlp).is_ok_and(|unsealed| unsealed == header.hash) {
        return Ok(Binding::Qbft);
    }
    Err(UnboundHeader { number: header.number, hash: header.hash, computed })
}

#[cfg(test)]
mod tests {
    use alloy::consensus::Header as ConsensusHeader;
    use alloy::primitives::hex;
    use alloy::rlp::Decodable;

    use super::*;

    /// The Besu QBFT header of the fixture, as an RPC serves it (its hash the validators' one).
    fn besu_header() -> Header {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/besu-qbft-block-7528.json")).expect("JSON");
        let rlp = hex::decode(fixture["header_rlp_with_seals"].as_str().expect("rlp")).expect("hex");
        let inner = ConsensusHeader::decode(&mut rlp.as_slice()).expect("an Ethereum header");
        assert_eq!(alloy::rlp::encode(&inner), rlp, "encoded again exactly as Besu encoded it");
        let hash = fixture["commit_hash_of_header_without_seals"].as_str().expect("hash").parse().expect("a hash");
        Header { hash, inner, total_difficulty: None, size: None }
    }

    #[test]
    fn a_besu_qbft_header_binds_its_state_root_and_a_changed_root_does_not() {
        let header = besu_header();
        assert_eq!(check_binding(&header), Ok(Binding::Qbft));
        let mut forged = header.clone();
        forged.inner.state_root = B256::repeat_byte(0x42);
        let refused = check_binding(&forged).expect_err("another state root under the same hash");
        assert_eq!((refused.number, refused.hash), (7528, header.hash));
        assert!(refused.to_string().contains("does not hash to its hash"), "{refused}");
    }

    #[test]
    fn a_plain_header_binds_its_fields() {
        let mut header = besu_header();
        header.inner.extra_data = Default::default();
        header.hash = header.inner.hash_slow();
        assert_eq!(check_binding(&header), Ok(Binding::Plain));
        header.inner.number += 1;
        assert!(check_binding(&header).is_err(), "a changed number");
    }
}
