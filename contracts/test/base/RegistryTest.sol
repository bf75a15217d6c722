// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {AuditReplay} from "./AuditReplay.sol";
import {IDeploymentRegistry} from "../../src/IDeploymentRegistry.sol";
import {RegistryFixture} from "./RegistryFixture.sol";
import {Vm} from "./Vm.sol";

/// @notice The fixture plus what the unit tests share: the exact seq and head of the audit entries a
/// call writes (for expectEmit), role errors, and a service with two revisions to vote on.
abstract contract RegistryTest is RegistryFixture {
    /// One audit entry: the first two data words of a registry log.
    struct Entry {
        uint64 seq;
        bytes24 head;
    }

    bytes32 internal constant ADMIN_ROLE = 0x00;
    string internal constant REASON = "task exited with code 1";
    /// A valid digest for hand-built images.
    string internal constant AT_DIGEST = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // ---------------------------------------------------------------- audit entries

    /// @dev Dry-runs `data` as `caller` on a state snapshot and returns the audit entries it writes,
    /// so that an expectEmit can check every data field of the real call, seq and head included. The
    /// seqs are checked here to continue the chain; the heads are recomputed in AuditChain.t.sol.
    function entriesOf(address caller, bytes memory data) internal returns (Entry[] memory entries) {
        (uint64 seq,) = registry.auditHead();
        uint256 snapshot = vm.snapshotState();
        vm.recordLogs();
        exec(caller, data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        entries = new Entry[](logs.length);
        uint256 n;
        for (uint256 i; i < logs.length; ++i) {
            if (!AuditReplay.isEntry(logs[i], address(registry))) continue;
            (uint64 logSeq, bytes24 head) = AuditReplay.logged(logs[i]);
            vm.assertEq(logSeq, seq + n + 1, "audit seq continues the chain");
            entries[n++] = Entry(logSeq, head);
        }
        assembly ("memory-safe") {
            mstore(entries, n)
        }
        vm.revertToState(snapshot);
    }

    /// @dev The single audit entry that `data` writes.
    function entryOf(address caller, bytes memory data) internal returns (uint64 seq, bytes24 head) {
        Entry[] memory entries = entriesOf(caller, data);
        vm.assertEq(entries.length, 1, "one audit entry");
        return (entries[0].seq, entries[0].head);
    }

    /// @dev Calls the registry as `caller` and bubbles up a revert.
    function exec(address caller, bytes memory data) internal returns (bytes memory ret) {
        vm.prank(caller);
        bool ok;
        (ok, ret) = address(registry).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @dev Asserts the next seq is `seq`: nothing was recorded since.
    function assertAuditSeq(uint64 seq) internal view {
        (uint64 current,) = registry.auditHead();
        vm.assertEq(current, seq, "audit seq");
    }

    // ---------------------------------------------------------------- errors

    function unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    function deployerRoleOf(string memory namespace) internal view returns (bytes32) {
        return registry.deployerRole(keccak256(bytes(namespace)));
    }

    // ---------------------------------------------------------------- services

    /// @dev The typical spec with 4 replicas: revision 2 in the voting tests.
    function secondSpec() internal view returns (IDeploymentRegistry.ServiceSpec memory s) {
        s = typicalSpec();
        s.replicas = 4;
    }

    /// @dev Publishes `first` then `second`: revision 2 active, revision 1 to fall back to.
    function publishTwo(IDeploymentRegistry.ServiceSpec memory first, IDeploymentRegistry.ServiceSpec memory second)
        internal
    {
        publishAs(deployer, first);
        publishAs(deployer, second);
    }

    /// @dev `node` of `site` votes against the active revision `revision` of web, whose spec is `s`.
    function voteAs(address node, bytes32 site, uint32 revision, IDeploymentRegistry.ServiceSpec memory s) internal {
        vm.prank(node);
        registry.voteRollback(webId, revision, site, s.sites, workloadHash(s), REASON);
    }

    function assertService(uint32 count, uint32 active, uint32 previous, uint32 epoch, uint32 votes) internal view {
        IDeploymentRegistry.ServiceState memory st = registry.serviceState(webId);
        vm.assertEq(st.revisionCount, count, "revisionCount");
        vm.assertEq(st.activeRevision, active, "activeRevision");
        vm.assertEq(st.previousRevision, previous, "previousRevision");
        vm.assertEq(st.epoch, epoch, "epoch");
        vm.assertEq(st.votes, votes, "votes");
    }

    /// @dev `n` distinct, strictly ascending, non-zero site ids.
    function ascendingSites(uint256 n) internal pure returns (bytes32[] memory sites) {
        sites = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            sites[i] = bytes32(i + 1);
        }
    }

    /// @dev `n` bytes of `c`.
    function repeat(bytes1 c, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i; i < n; ++i) {
            out[i] = c;
        }
    }
}
