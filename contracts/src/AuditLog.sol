// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title AuditLog
/// @notice A hash chain over every state change, kept in one storage slot.
/// @dev Each entry is hashed over exactly the bytes it is logged with, so anyone can recompute the
/// chain from `eth_getLogs` alone, without knowing the ABI:
///   entry_n = keccak256(topic0 ‖ … ‖ topicK ‖ keccak256(data[64:]))
///   head_n  = bytes24(keccak256(abi.encode(head_{n-1}, seq_n, entry_n)))
/// The head is truncated to 24 bytes so that `seq` and `head` share one slot: that halves the
/// audit cost of every transaction (one warm SSTORE, not two) and keeps 2^96 collision and 2^192
/// second-preimage resistance. The genesis head binds the chain to one chain id and one registry.
abstract contract AuditLog {
    struct AuditState {
        uint64 seq;
        bytes24 head;
    }

    AuditState private _audit;

    constructor() {
        _audit.head = bytes24(keccak256(abi.encode(block.chainid, address(this))));
    }

    /// @dev The sequence number of the last entry and the chain head after it.
    function _auditHead() internal view returns (uint64 seq, bytes24 head) {
        AuditState memory a = _audit;
        return (a.seq, a.head);
    }

    /// @dev Appends one entry and emits it. `payload` must be
    /// `abi.encode(uint64(0), bytes24(0), ...the event's other non-indexed fields)`; its first two
    /// words are overwritten with the new seq and head before the log is emitted. `topics[0]` is the
    /// event selector of the declared event this log matches.
    function _record(bytes32[] memory topics, bytes memory payload) internal {
        AuditState memory a = _audit;
        uint64 seq = a.seq + 1;
        bytes24 head;
        assembly ("memory-safe") {
            // Hash input built in free memory without allocating: topics, then keccak(data[64:]).
            let ptr := mload(0x40)
            let n := mload(topics)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(ptr, shl(5, i)), mload(add(topics, shl(5, add(i, 1)))))
            }
            mstore(add(ptr, shl(5, n)), keccak256(add(payload, 96), sub(mload(payload), 64)))
            let entry := keccak256(ptr, shl(5, add(n, 1)))
            // head = bytes24(keccak256(abi.encode(previous head, seq, entry)))
            mstore(ptr, mload(add(a, 32)))
            mstore(add(ptr, 32), seq)
            mstore(add(ptr, 64), entry)
            head := and(keccak256(ptr, 96), not(0xffffffffffffffff))
            mstore(add(payload, 32), seq)
            mstore(add(payload, 64), head)
        }
        _audit = AuditState(seq, head);
        _emit(topics, payload);
    }

    function _emit(bytes32[] memory topics, bytes memory payload) private {
        uint256 n = topics.length;
        assembly ("memory-safe") {
            let data := add(payload, 32)
            let size := mload(payload)
            let t := add(topics, 32)
            switch n
            case 1 { log1(data, size, mload(t)) }
            case 2 { log2(data, size, mload(t), mload(add(t, 32))) }
            case 3 { log3(data, size, mload(t), mload(add(t, 32)), mload(add(t, 64))) }
            default { log4(data, size, mload(t), mload(add(t, 32)), mload(add(t, 64)), mload(add(t, 96))) }
        }
    }

    /// @dev Topic lists for `_record`, one per arity.
    function _topics(bytes32 t0) internal pure returns (bytes32[] memory t) {
        t = new bytes32[](1);
        t[0] = t0;
    }

    function _topics(bytes32 t0, bytes32 t1) internal pure returns (bytes32[] memory t) {
        t = new bytes32[](2);
        (t[0], t[1]) = (t0, t1);
    }

    function _topics(bytes32 t0, bytes32 t1, bytes32 t2) internal pure returns (bytes32[] memory t) {
        t = new bytes32[](3);
        (t[0], t[1], t[2]) = (t0, t1, t2);
    }

    function _topics(bytes32 t0, bytes32 t1, bytes32 t2, bytes32 t3) internal pure returns (bytes32[] memory t) {
        t = new bytes32[](4);
        (t[0], t[1], t[2], t[3]) = (t0, t1, t2, t3);
    }
}
