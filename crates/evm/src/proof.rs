//! Checking what an RPC says about an account against a block's state root (EIP-1186): the
//! account proof against the state trie, then each storage proof against the account's storage
//! root. A node that checks these needs to trust only the block header (which, today, is still the
//! RPC's: docs/security.md), not the RPC's answers.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rlp;
use alloy::rpc::types::EIP1186AccountProofResponse;
use alloy_trie::proof::{ProofVerificationError, verify_proof};
use alloy_trie::{Nibbles, TrieAccount};

/// A proof that does not hold against the state root it was checked against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The answer is about another account than the one asked for.
    #[error("the RPC answered with a proof of {got}, not of {asked}")]
    WrongAccount {
        /// The account asked for.
        asked: Address,
        /// The account the answer names.
        got: Address,
    },
    /// The account (nonce, balance, storage root, code hash) is not in the state trie.
    #[error("the account proof of {address} does not verify against state root {state_root}: {reason}")]
    Account {
        /// The account.
        address: Address,
        /// The root it was checked against.
        state_root: B256,
        /// What the trie walk found.
        reason: String,
    },
    /// A storage value is not in the account's storage trie.
    #[error(
        "the storage proof of slot {slot} of {address} does not verify against storage root {storage_root}: {reason}"
    )]
    Storage {
        /// The account.
        address: Address,
        /// The slot.
        slot: B256,
        /// The root it was checked against.
        storage_root: B256,
        /// What the trie walk found.
        reason: String,
    },
    /// The code the RPC returned does not hash to the proved code hash.
    #[error("the code of {address} hashes to {got}, the proved code hash is {proved}")]
    Code {
        /// The account.
        address: Address,
        /// keccak256 of the code returned.
        got: B256,
        /// The code hash in the proved account.
        proved: B256,
    },
}

/// An account and storage values, each proved against one state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvedAccount {
    /// The account's nonce.
    pub nonce: u64,
    /// Its balance.
    pub balance: U256,
    /// Root of its storage trie: the storage values were proved against it.
    pub storage_root: B256,
    /// keccak256 of its code.
    pub code_hash: B256,
    /// The proved storage values, by slot (zero for an absent slot).
    pub storage: Vec<(B256, U256)>,
}

/// Checks `proof` (an `eth_getProof` answer for `address`) against `state_root`.
pub fn verify(
    state_root: B256,
    address: Address,
    proof: &EIP1186AccountProofResponse,
) -> Result<ProvedAccount, ProofError> {
    if proof.address != address {
        return Err(ProofError::WrongAccount { asked: address, got: proof.address });
    }
    let account = TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    let key = Nibbles::unpack(keccak256(address));
    verify_proof(state_root, key, Some(rlp::encode(account)), &proof.account_proof)
        .map_err(|e| ProofError::Account { address, state_root, reason: reason(e) })?;

    let storage = proof
        .storage_proof
        .iter()
        .map(|p| {
            let slot = p.key.as_b256();
            verify_slot(proof.storage_hash, slot, p.value, &p.proof).map_err(|e| ProofError::Storage {
                address,
                slot,
                storage_root: proof.storage_hash,
                reason: reason(e),
            })?;
            Ok((slot, p.value))
        })
        .collect::<Result<_, ProofError>>()?;
    Ok(ProvedAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
        storage,
    })
}

/// A zero value is proved by its absence from the trie.
fn verify_slot(storage_root: B256, slot: B256, value: U256, proof: &[Bytes]) -> Result<(), ProofVerificationError> {
    let expected = (!value.is_zero()).then(|| rlp::encode(value));
    verify_proof(storage_root, Nibbles::unpack(keccak256(slot)), expected, proof)
}

fn reason(error: ProofVerificationError) -> String {
    error.to_string()
}
