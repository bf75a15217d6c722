//! Where the registry keeps what the node reads, from its storage layout
//! (`forge inspect DeploymentRegistry storageLayout`; tests/mirror.rs checks it against anvil).

use alloy::primitives::{B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// The layout slot of `_revisions`: `mapping(bytes32 serviceId => mapping(uint32 => bytes32))`.
const REVISIONS_SLOT: u64 = 6;

/// The slot holding `revisionHash(service, revision)`: Solidity's nested-mapping rule,
/// `keccak256(revision . keccak256(service . slot))`.
pub fn revision_hash_slot(service: B256, revision: u32) -> B256 {
    let inner = keccak256((service, U256::from(REVISIONS_SLOT)).abi_encode());
    keccak256((U256::from(revision), inner).abi_encode())
}
