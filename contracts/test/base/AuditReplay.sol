// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {
    IAccessControlDefaultAdminRules as IAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {Vm} from "./Vm.sol";

/// @notice The audit chain recomputed from logs the way an outside verifier would (docs/contracts.md),
/// in plain Solidity and independent of the registry's assembly.
library AuditReplay {
    /// @dev The head before any entry: it binds the chain to one chain id and one registry.
    function genesis(address registry) internal view returns (bytes24) {
        return bytes24(keccak256(abi.encode(block.chainid, registry)));
    }

    /// @dev True for `registry`'s own logs, false for OpenZeppelin's role and admin-transfer events
    /// it emits beside them.
    function isEntry(Vm.Log memory log, address registry) internal pure returns (bool) {
        if (log.emitter != registry) return false;
        bytes32 t0 = log.topics[0];
        return t0 != IAccessControl.RoleGranted.selector && t0 != IAccessControl.RoleRevoked.selector
            && t0 != IAccessControl.RoleAdminChanged.selector
            && t0 != IAdminRules.DefaultAdminTransferScheduled.selector
            && t0 != IAdminRules.DefaultAdminTransferCanceled.selector
            && t0 != IAdminRules.DefaultAdminDelayChangeScheduled.selector
            && t0 != IAdminRules.DefaultAdminDelayChangeCanceled.selector;
    }

    /// @dev keccak256(topic0 ‖ … ‖ topicK ‖ keccak256(data[64:])).
    function entryHash(Vm.Log memory log) internal pure returns (bytes32) {
        bytes memory rest = new bytes(log.data.length - 64);
        for (uint256 i; i < rest.length; ++i) {
            rest[i] = log.data[i + 64];
        }
        bytes memory input;
        for (uint256 i; i < log.topics.length; ++i) {
            input = abi.encodePacked(input, log.topics[i]);
        }
        return keccak256(abi.encodePacked(input, keccak256(rest)));
    }

    /// @dev The head after appending `log` as entry `seq` to `previous`.
    function next(bytes24 previous, uint64 seq, Vm.Log memory log) internal pure returns (bytes24) {
        return bytes24(keccak256(abi.encode(previous, seq, entryHash(log))));
    }

    /// @dev The (seq, head) a log says it wrote: its first two data words.
    function logged(Vm.Log memory log) internal pure returns (uint64 seq, bytes24 head) {
        return abi.decode(log.data, (uint64, bytes24));
    }
}
