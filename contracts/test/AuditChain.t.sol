// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DeploymentRegistry} from "../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {AuditReplay} from "./base/AuditReplay.sol";
import {RegistryTest} from "./base/RegistryTest.sol";
import {Vm} from "./base/Vm.sol";

/// @notice The audit hash chain, recomputed from the logs alone, matches the registry's head after
/// every kind of change; and a changed, dropped or reordered entry gives a different head.
contract AuditChainTest is RegistryTest {
    Vm.Log[] private _entries;

    function setUp() public override {
        vm.recordLogs();
        super.setUp();
    }

    function test_GenesisHeadBindsChainAndRegistry() public {
        DeploymentRegistry fresh = new DeploymentRegistry(admin, ADMIN_DELAY);
        (uint64 seq, bytes24 head) = fresh.auditHead();
        vm.assertEq(seq, 1, "the admin grant is entry 1");
        vm.assertNotEq(head, AuditReplay.genesis(address(fresh)), "head moved past genesis");
        vm.assertNotEq(AuditReplay.genesis(address(fresh)), AuditReplay.genesis(address(registry)), "another registry");
        vm.chainId(7);
        DeploymentRegistry elsewhere = new DeploymentRegistry(admin, ADMIN_DELAY);
        vm.chainId(31337);
        vm.assertNotEq(
            bytes32(AuditReplay.genesis(address(elsewhere))),
            bytes32(AuditReplay.genesis(address(fresh))),
            "another chain id"
        );
    }

    /// @dev Every kind of entry the registry writes, then a replay of all of them from the logs.
    function test_HeadEqualsReplayOfEveryKindOfEntry() public {
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        IDeploymentRegistry.ServiceSpec memory second = secondSpec();
        vm.startPrank(admin);
        registry.createNamespace("staging");
        registry.setNamespaceLimits("staging", 10, 4096);
        registry.grantDeployer("staging", deployer);
        registry.revokeDeployer("staging", deployer);
        registry.freezeNamespace("staging");
        registry.unfreezeNamespace("staging");
        registry.setQuorum(6000);
        registry.addNode(vm.addr(0xC1), "site-c");
        registry.removeNode(vm.addr(0xC1));
        registry.beginDefaultAdminTransfer(vm.addr(0xAD));
        vm.stopPrank();
        vm.warp(block.timestamp + ADMIN_DELAY + 1);
        vm.prank(vm.addr(0xAD));
        registry.acceptDefaultAdminTransfer();
        vm.prank(vm.addr(0xAD));
        registry.beginDefaultAdminTransfer(admin);
        vm.warp(block.timestamp + ADMIN_DELAY + 1);
        vm.prank(admin);
        registry.acceptDefaultAdminTransfer();
        publishTwo(first, second);
        attestAs(nodeA1, siteA, 2, second, IDeploymentRegistry.AttestationStatus.Converged, "");
        voteAs(nodeA1, siteA, 2, second);
        voteAs(nodeA2, siteA, 2, second);
        vm.startPrank(deployer);
        registry.rollback(NS, SVC, 2);
        registry.remove(NS, SVC);
        vm.stopPrank();

        uint256 n = _collect();
        vm.assertGe(n, 20, "entries");
        (uint64 seq, bytes24 head) = registry.auditHead();
        vm.assertEq(seq, n, "seq counts every entry");
        vm.assertEq(bytes32(_replay(_entries)), bytes32(head), "replayed head");
    }

    function test_ReplayDetectsAChangedEntry() public {
        publishTwo(typicalSpec(), secondSpec());
        _collect();
        (, bytes24 head) = registry.auditHead();
        Vm.Log[] memory entries = _entries;
        entries[entries.length - 1].data[200] ^= 0x01;
        vm.assertNotEq(bytes32(_replay(entries)), bytes32(head), "a changed byte changes the head");
    }

    function test_ReplayDetectsADroppedOrReorderedEntry() public {
        publishTwo(typicalSpec(), secondSpec());
        uint256 n = _collect();
        (, bytes24 head) = registry.auditHead();

        Vm.Log[] memory dropped = new Vm.Log[](n - 1);
        for (uint256 i; i < n - 1; ++i) {
            dropped[i] = _entries[i < 2 ? i : i + 1];
        }
        vm.assertNotEq(bytes32(_replay(dropped)), bytes32(head), "a dropped entry changes the head");

        Vm.Log[] memory swapped = _entries;
        (swapped[n - 1], swapped[n - 2]) = (swapped[n - 2], swapped[n - 1]);
        vm.assertNotEq(bytes32(_replay(swapped)), bytes32(head), "reordered entries change the head");
    }

    /// @dev Moves the registry's audit entries recorded since setUp into `_entries`, checking each log's
    /// own (seq, head) against the replay as it goes; returns how many there are.
    function _collect() private returns (uint256) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes24 head = AuditReplay.genesis(address(registry));
        for (uint256 i; i < logs.length; ++i) {
            if (!AuditReplay.isEntry(logs[i], address(registry))) continue;
            _entries.push(logs[i]);
            (uint64 seq, bytes24 loggedHead) = AuditReplay.logged(logs[i]);
            vm.assertEq(seq, _entries.length, "each entry carries the next seq");
            head = AuditReplay.next(head, seq, logs[i]);
            vm.assertEq(bytes32(loggedHead), bytes32(head), "each entry carries the replayed head");
        }
        return _entries.length;
    }

    function _replay(Vm.Log[] memory entries) private view returns (bytes24 head) {
        head = AuditReplay.genesis(address(registry));
        for (uint256 i; i < entries.length; ++i) {
            head = AuditReplay.next(head, uint64(i + 1), entries[i]);
        }
    }
}
