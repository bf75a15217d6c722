//! QBFT block headers, checked against the validators who must have signed them, so that a
//! block's hash and state root are the validators' word and not only the RPC's.
//!
//! QBFT (Hyperledger Besu's consensus for private networks) keeps its consensus data in the
//! header's `extraData`: `RLP([vanity, validators, vote, round, committedSeals])`. The block hash
//! is keccak256 of the header's RLP with the committed-seal list emptied, and each committed seal
//! is a validator's secp256k1 signature of that hash. A header is final when more than two thirds
//! of the validator set sealed it (Besu's quorum, `ceil(2n/3)`). The set that seals block `n` is the
//! one block `n - 1` names (validator selection by block header), so a verifier follows the set
//! from a trusted starting header, block by block.
//!
//! The check works on the header exactly as the chain encoded it: the RLP items are sliced, never
//! decoded and re-encoded, so nothing here can differ from Besu's encoding in a detail.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, Signature, keccak256};
use alloy::rlp::Header as RlpHeader;

/// Index of `extraData` among a header's RLP items (`parentHash, ommersHash, beneficiary,
/// stateRoot, transactionsRoot, receiptsRoot, logsBloom, difficulty, number, gasLimit, gasUsed,
/// timestamp, extraData, ...`).
const EXTRA_DATA: usize = 12;
const PARENT_HASH: usize = 0;
const STATE_ROOT: usize = 3;
const NUMBER: usize = 8;
/// Items of QBFT's extra data: vanity, validators, vote, round, committed seals.
const EXTRA_ITEMS: usize = 5;

/// Why a header is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QbftError {
    /// Not a well-formed header or QBFT extra data.
    #[error("malformed header: {0}")]
    Malformed(String),
    /// The hash the header encodes to is not the one expected (the RPC's, or the child's parent).
    #[error("header hashes to {computed}, not {expected}")]
    HashMismatch {
        /// The hash it should have.
        expected: B256,
        /// The hash its fields give.
        computed: B256,
    },
    /// Not enough distinct validators of the set sealed it.
    #[error("{valid} valid committed seals from a set of {validators}; {needed} needed")]
    TooFewSeals {
        /// Seals that recover to distinct members of the set.
        valid: usize,
        /// The quorum.
        needed: usize,
        /// The size of the set.
        validators: usize,
    },
}

/// What a verified header vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeader {
    /// The block hash (keccak256 of the header without committed seals).
    pub hash: B256,
    /// The parent's hash.
    pub parent: B256,
    /// The block number.
    pub number: u64,
    /// The state root the validators sealed: storage proofs are checked against it.
    pub state_root: B256,
    /// The validator set this header names: the one that seals the next block.
    pub validators: Vec<Address>,
    /// The consensus round it was sealed in.
    pub round: u64,
    /// The distinct validators whose seals verified.
    pub sealed_by: BTreeSet<Address>,
}

/// The committed seals QBFT needs from a set of `validators`: `ceil(2n/3)`, more than two thirds.
pub fn quorum(validators: usize) -> usize {
    (2 * validators).div_ceil(3)
}

/// Checks a header's RLP against `validators`, the set that must seal it (the one its parent
/// names): its hash recomputed from its fields, and committed seals of a quorum of distinct
/// members over that hash. Seals of non-members and repeated seals do not count.
pub fn verify_header(rlp: &[u8], validators: &[Address]) -> Result<SealedHeader, QbftError> {
    let (fields, extra_items) = split(rlp)?;
    let hash = unsealed_hash_of(&fields, &extra_items);

    let set: BTreeSet<Address> = validators.iter().copied().collect();
    let mut sealed_by = BTreeSet::new();
    for seal in list_items(extra_items[4])? {
        let seal = string_payload(seal)?;
        let recovered = Signature::from_raw(seal).ok().and_then(|s| s.recover_address_from_prehash(&hash).ok());
        if let Some(signer) = recovered.filter(|a| set.contains(a)) {
            sealed_by.insert(signer);
        }
    }
    let needed = quorum(set.len());
    if set.is_empty() || sealed_by.len() < needed {
        return Err(QbftError::TooFewSeals { valid: sealed_by.len(), needed, validators: set.len() });
    }
    Ok(SealedHeader {
        hash,
        parent: word(fields[PARENT_HASH])?,
        number: uint(fields[NUMBER])?,
        state_root: word(fields[STATE_ROOT])?,
        validators: list_items(extra_items[1])?.into_iter().map(address).collect::<Result<_, _>>()?,
        round: uint(extra_items[3])?,
        sealed_by,
    })
}

/// The validator set a QBFT header names (the set that seals the next block), its seals not
/// checked: for a header trusted by its hash, a checkpoint.
pub fn validators_of(rlp: &[u8]) -> Result<Vec<Address>, QbftError> {
    let (_, extra_items) = split(rlp)?;
    list_items(extra_items[1])?.into_iter().map(address).collect()
}

/// The block hash of a QBFT header: keccak256 of its RLP with the committed seals emptied.
pub fn unsealed_hash(rlp: &[u8]) -> Result<B256, QbftError> {
    let (fields, extra_items) = split(rlp)?;
    Ok(unsealed_hash_of(&fields, &extra_items))
}

/// The raw RLP items of a header, and those of its QBFT extra data.
type Items<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// A header's RLP items and its extra data's.
fn split(rlp: &[u8]) -> Result<Items<'_>, QbftError> {
    let fields = list_items(rlp)?;
    if fields.len() <= EXTRA_DATA {
        return Err(malformed(format!("{} header fields, fewer than 13", fields.len())));
    }
    let extra = string_payload(fields[EXTRA_DATA])?;
    let extra_items = list_items(extra)?;
    if extra_items.len() != EXTRA_ITEMS {
        return Err(malformed(format!("QBFT extra data has {} items, not {EXTRA_ITEMS}", extra_items.len())));
    }
    Ok((fields, extra_items))
}

/// The extra data without seals, then the header with it: what the hash covers.
fn unsealed_hash_of(fields: &[&[u8]], extra_items: &[&[u8]]) -> B256 {
    let mut unsealed_payload = extra_items[..4].concat();
    unsealed_payload.push(alloy::rlp::EMPTY_LIST_CODE);
    let unsealed_extra = list_of(&unsealed_payload);
    let mut unsealed_extra_item = Vec::new();
    RlpHeader { list: false, payload_length: unsealed_extra.len() }.encode(&mut unsealed_extra_item);
    unsealed_extra_item.extend_from_slice(&unsealed_extra);
    let mut unsealed = fields.to_vec();
    unsealed[EXTRA_DATA] = &unsealed_extra_item;
    keccak256(list_of(&unsealed.concat()))
}

/// Verifies a header that must hash to `expected` (what the RPC, or the child's parent hash,
/// names).
pub fn verify_header_hash(rlp: &[u8], validators: &[Address], expected: B256) -> Result<SealedHeader, QbftError> {
    let header = verify_header(rlp, validators)?;
    if header.hash != expected {
        return Err(QbftError::HashMismatch { expected, computed: header.hash });
    }
    Ok(header)
}

fn malformed(message: impl Into<String>) -> QbftError {
    QbftError::Malformed(message.into())
}

/// The raw encodings (header and payload) of the items of an RLP list that spans all of `rlp`.
fn list_items(rlp: &[u8]) -> Result<Vec<&[u8]>, QbftError> {
    let mut rest = rlp;
    let header = RlpHeader::decode(&mut rest).map_err(|e| malformed(e.to_string()))?;
    if !header.list || rest.len() != header.payload_length {
        return Err(malformed("expected one RLP list"));
    }
    let mut items = Vec::new();
    while !rest.is_empty() {
        let start = rest;
        let item = RlpHeader::decode(&mut rest).map_err(|e| malformed(e.to_string()))?;
        if rest.len() < item.payload_length {
            return Err(malformed("an RLP item runs past its list"));
        }
        rest = &rest[item.payload_length..];
        items.push(&start[..start.len() - rest.len()]);
    }
    Ok(items)
}

/// The payload of an RLP string item.
fn string_payload(item: &[u8]) -> Result<&[u8], QbftError> {
    let mut rest = item;
    let header = RlpHeader::decode(&mut rest).map_err(|e| malformed(e.to_string()))?;
    if header.list || rest.len() != header.payload_length {
        return Err(malformed("expected an RLP string"));
    }
    Ok(rest)
}

/// `payload` as an RLP list.
fn list_of(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    RlpHeader { list: true, payload_length: payload.len() }.encode(&mut out);
    out.extend_from_slice(payload);
    out
}

fn word(item: &[u8]) -> Result<B256, QbftError> {
    let bytes = string_payload(item)?;
    B256::try_from(bytes).map_err(|_| malformed(format!("a 32-byte field has {} bytes", bytes.len())))
}

fn address(item: &[u8]) -> Result<Address, QbftError> {
    let bytes = string_payload(item)?;
    Address::try_from(bytes).map_err(|_| malformed(format!("an address has {} bytes", bytes.len())))
}

fn uint(item: &[u8]) -> Result<u64, QbftError> {
    let bytes = string_payload(item)?;
    if bytes.len() > 8 || bytes.first() == Some(&0) {
        return Err(malformed("an integer is not a canonical 64-bit RLP scalar"));
    }
    Ok(bytes.iter().fold(0, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::hex;
    use serde::Deserialize;

    use super::*;

    /// `../shared/fixtures/besu-qbft/block-7528.json`, copied into the crate's tests.
    #[derive(Deserialize)]
    struct Fixture {
        number: u64,
        state_root: B256,
        validators: Vec<Address>,
        round: u64,
        committed_seals: usize,
        header_rlp_with_seals: String,
        commit_hash_of_header_without_seals: B256,
    }

    fn fixture() -> (Fixture, Vec<u8>) {
        let text = include_str!("../tests/fixtures/besu-qbft-block-7528.json");
        let fixture: Fixture = serde_json::from_str(text).expect("the fixture parses");
        let rlp = hex::decode(&fixture.header_rlp_with_seals).expect("hex");
        (fixture, rlp)
    }

    #[test]
    fn a_header_besu_sealed_is_accepted_with_what_it_vouches_for() {
        let (f, rlp) = fixture();
        let header = verify_header_hash(&rlp, &f.validators, f.commit_hash_of_header_without_seals).expect("valid");
        assert_eq!(header.number, f.number);
        assert_eq!(header.state_root, f.state_root);
        assert_eq!(header.round, f.round);
        assert_eq!(header.validators, f.validators);
        assert_eq!(header.sealed_by.len(), f.committed_seals);
        assert!(header.sealed_by.iter().all(|v| f.validators.contains(v)));
        assert_eq!(quorum(4), 3);
    }

    #[test]
    fn any_byte_changed_is_refused() {
        let (f, rlp) = fixture();
        for at in 0..rlp.len() {
            for flip in [0x01, 0x80] {
                let mut changed = rlp.clone();
                changed[at] ^= flip;
                let verdict = verify_header_hash(&changed, &f.validators, f.commit_hash_of_header_without_seals);
                assert!(verdict.is_err(), "byte {at} xor {flip:#x} was accepted");
            }
        }
    }

    #[test]
    fn seals_of_another_set_or_too_few_do_not_count() {
        let (f, rlp) = fixture();
        let strangers = [Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3)];
        let refused = verify_header(&rlp, &strangers);
        assert_eq!(refused, Err(QbftError::TooFewSeals { valid: 0, needed: 2, validators: 3 }));
        // With three more validators the same three seals are below the quorum of seven (5).
        let mut larger = f.validators.clone();
        larger.extend(strangers);
        let refused = verify_header(&rlp, &larger);
        assert_eq!(refused, Err(QbftError::TooFewSeals { valid: 3, needed: 5, validators: 7 }));
        assert!(verify_header(&rlp, &[]).is_err(), "an empty set seals nothing");
    }
}
