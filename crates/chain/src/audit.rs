//! Recomputes the registry's tamper-evident hash chain from its logs alone.
//!
//! Encoding (docs/contracts.md, "Audit chain"), for the n-th audited log:
//! ```text
//! entry_n = keccak256(topic0 ‖ … ‖ topicK ‖ keccak256(data[64..]))
//! head_n  = keccak256(head_{n-1} ‖ 0x00×8 ‖ uint256(seq_n) ‖ entry_n)[..24]
//! head_0  = keccak256(uint256(chain id) ‖ uint256(registry address))[..24]
//! ```
//! and the log's first two data words carry `seq_n` and `head_n`. Nothing here needs the ABI, so
//! an auditor can port it to any language; we use the bindings only to skip OpenZeppelin's role
//! events, which the registry mirrors as its own audited `AccessChanged` entries.

use alloy::primitives::{Address, B256, FixedBytes, Log, U256, keccak256};
use alloy::sol_types::SolEvent;
use ledgerops_bindings::DeploymentRegistry::{
    DefaultAdminDelayChangeCanceled, DefaultAdminDelayChangeScheduled, DefaultAdminTransferCanceled,
    DefaultAdminTransferScheduled, RoleAdminChanged, RoleGranted, RoleRevoked,
};

/// A chain head: the first 24 bytes of a keccak256 (so that seq and head share one storage slot).
pub type Head = FixedBytes<24>;

/// Why a log does not extend the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The log's data is too short to carry seq and head: not a registry audit entry.
    #[error("log data has {0} bytes; an audit entry carries at least 64 (seq, head)")]
    NotAnEntry(usize),
    /// The log's seq is not the next one: an entry is missing, repeated or out of order.
    #[error("expected seq {expected}, the log says {found}")]
    SeqGap {
        /// The seq the chain needs next.
        expected: u64,
        /// The seq the log carries (saturated to u64).
        found: u64,
    },
    /// The head the log carries differs from the head recomputed from the previous entries.
    #[error("seq {seq}: the log says head {logged}, the recomputed chain gives {computed}")]
    HeadMismatch {
        /// The entry's seq.
        seq: u64,
        /// The head in the log.
        logged: Head,
        /// The head recomputed from the logs before it.
        computed: Head,
    },
}

/// The chain state after the entries folded so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditChain {
    seq: u64,
    head: Head,
}

impl AuditChain {
    /// The state before the first entry of the registry at `registry` on chain `chain_id`.
    pub fn genesis(chain_id: u64, registry: Address) -> Self {
        let mut input = [0u8; 64];
        input[..32].copy_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
        input[44..].copy_from_slice(registry.as_slice());
        Self { seq: 0, head: truncate(keccak256(input)) }
    }

    /// Sequence number of the last entry folded (0 at genesis).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Head after the last entry folded.
    pub fn head(&self) -> Head {
        self.head
    }

    /// True for the registry logs that are audit entries (all but OpenZeppelin's role and
    /// admin-transfer events, which carry no sequence number).
    pub fn is_entry(log: &Log) -> bool {
        let skipped = [
            RoleGranted::SIGNATURE_HASH,
            RoleRevoked::SIGNATURE_HASH,
            RoleAdminChanged::SIGNATURE_HASH,
            DefaultAdminTransferScheduled::SIGNATURE_HASH,
            DefaultAdminTransferCanceled::SIGNATURE_HASH,
            DefaultAdminDelayChangeScheduled::SIGNATURE_HASH,
            DefaultAdminDelayChangeCanceled::SIGNATURE_HASH,
        ];
        log.topics().first().is_some_and(|t0| !skipped.contains(t0))
    }

    /// Folds the next audited log, checking the seq and head it carries.
    pub fn append(&mut self, topics: &[B256], data: &[u8]) -> Result<(), AuditError> {
        if data.len() < 64 {
            return Err(AuditError::NotAnEntry(data.len()));
        }
        let expected = self.seq + 1;
        let found = U256::from_be_slice(&data[..32]);
        if found != U256::from(expected) {
            let found = u64::try_from(found).unwrap_or(u64::MAX);
            return Err(AuditError::SeqGap { expected, found });
        }
        let computed = next_head(self.head, expected, entry_hash(topics, &data[64..]));
        let logged = Head::from_slice(&data[32..56]);
        if logged != computed || data[56..64].iter().any(|b| *b != 0) {
            return Err(AuditError::HeadMismatch { seq: expected, logged, computed });
        }
        self.seq = expected;
        self.head = computed;
        Ok(())
    }

    /// Folds a registry log, skipping the ones that are not audit entries.
    pub fn append_log(&mut self, log: &Log) -> Result<(), AuditError> {
        if !Self::is_entry(log) {
            return Ok(());
        }
        self.append(log.topics(), &log.data.data)
    }
}

/// keccak256 of all topics, then keccak256 of the data after seq and head.
fn entry_hash(topics: &[B256], rest: &[u8]) -> B256 {
    let mut input = Vec::with_capacity(32 * (topics.len() + 1));
    for topic in topics {
        input.extend_from_slice(topic.as_slice());
    }
    input.extend_from_slice(keccak256(rest).as_slice());
    keccak256(input)
}

/// keccak256(abi.encode(bytes24 previous, uint64 seq, bytes32 entry)), truncated to 24 bytes.
fn next_head(previous: Head, seq: u64, entry: B256) -> Head {
    let mut input = [0u8; 96];
    input[..24].copy_from_slice(previous.as_slice());
    input[32..64].copy_from_slice(&U256::from(seq).to_be_bytes::<32>());
    input[64..].copy_from_slice(entry.as_slice());
    truncate(keccak256(input))
}

fn truncate(hash: B256) -> Head {
    Head::from_slice(&hash[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(chain: &AuditChain, topics: &[B256], rest: &[u8]) -> Vec<u8> {
        let seq = chain.seq() + 1;
        let head = next_head(chain.head(), seq, entry_hash(topics, rest));
        let mut data = U256::from(seq).to_be_bytes::<32>().to_vec();
        data.extend_from_slice(head.as_slice());
        data.extend_from_slice(&[0u8; 8]);
        data.extend_from_slice(rest);
        data
    }

    #[test]
    fn accepts_a_well_formed_sequence() {
        let mut chain = AuditChain::genesis(31337, Address::repeat_byte(7));
        let topics = [B256::repeat_byte(1), B256::repeat_byte(2)];
        for rest in [&b"first"[..], b"second", b""] {
            let data = entry(&chain, &topics, rest);
            chain.append(&topics, &data).expect("valid entry");
        }
        assert_eq!(chain.seq(), 3);
    }

    #[test]
    fn rejects_a_gap_a_changed_byte_and_a_short_log() {
        let genesis = AuditChain::genesis(1, Address::ZERO);
        let topics = [B256::repeat_byte(9)];
        let mut data = entry(&genesis, &topics, b"payload");

        let mut chain = genesis;
        *data.last_mut().expect("payload") ^= 1;
        assert!(matches!(chain.append(&topics, &data), Err(AuditError::HeadMismatch { seq: 1, .. })));

        data[31] = 2;
        assert_eq!(chain.append(&topics, &data), Err(AuditError::SeqGap { expected: 1, found: 2 }));
        assert_eq!(chain.append(&topics, &data[..40]), Err(AuditError::NotAnEntry(40)));
        assert_eq!(chain, genesis, "a rejected log leaves the chain unchanged");
    }

    #[test]
    fn genesis_binds_chain_id_and_registry() {
        let a = AuditChain::genesis(1, Address::repeat_byte(1));
        assert_ne!(a.head(), AuditChain::genesis(2, Address::repeat_byte(1)).head());
        assert_ne!(a.head(), AuditChain::genesis(1, Address::repeat_byte(2)).head());
    }
}
