// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";

/// @notice Fuzz tests through the registry itself: the admin's ceilings, revision numbering, and
/// the quorum arithmetic of rollback votes.
contract RegistryFuzzTest is RegistryTest {
    function testFuzz_ReplicaCeiling(uint32 maxReplicas, uint32 replicas) public {
        maxReplicas = uint32(bound(maxReplicas, 1, registry.HARD_MAX_REPLICAS()));
        vm.prank(admin);
        registry.setNamespaceLimits(NS, maxReplicas, 16 * 1024);
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        s.replicas = replicas;
        if (replicas > maxReplicas) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.TooManyReplicas.selector, replicas, maxReplicas));
        }
        publishAs(deployer, s);
    }

    function testFuzz_SpecSizeCeiling(uint16 maxSpecBytes, uint16 bodyBytes) public {
        maxSpecBytes = uint16(bound(maxSpecBytes, 1, 6000));
        bodyBytes = uint16(bound(bodyBytes, 0, 6000));
        vm.prank(admin);
        registry.setNamespaceLimits(NS, 100, maxSpecBytes);
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        s.body = repeat("x", bodyBytes);
        if (bodyBytes > maxSpecBytes) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.SpecTooLarge.selector, bodyBytes, maxSpecBytes));
        }
        publishAs(deployer, s);
    }

    /// @dev Revisions are 1, 2, 3... whatever rollbacks and removals happen in between, and every
    /// revision keeps the commitment of the spec it was published with.
    function testFuzz_RevisionsNumberFromOneAndAreKept(uint8 count, uint256 interleave) public {
        count = uint8(bound(count, 1, 24));
        bytes32[] memory hashes = new bytes32[](count + 1);
        for (uint32 i = 1; i <= count; ++i) {
            IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
            s.replicas = i;
            vm.assertEq(publishAs(deployer, s), i, "next revision number");
            hashes[i] = specHash(s);
            uint256 step = uint256(keccak256(abi.encode(interleave, i))) % 3;
            vm.startPrank(deployer);
            if (step == 1 && i > 1) registry.rollback(NS, SVC, 1);
            if (step == 2) registry.remove(NS, SVC);
            vm.stopPrank();
        }
        vm.assertEq(registry.serviceState(webId).revisionCount, count, "revisionCount");
        for (uint32 i = 1; i <= count; ++i) {
            vm.assertEq(registry.revisionHash(webId, i), hashes[i], "revision kept");
        }
        vm.assertEq(registry.revisionHash(webId, count + 1), bytes32(0), "no revision beyond the count");
    }

    /// @dev With `nodes` nodes on one site and any quorum, the rollback happens on exactly the vote
    /// that first exceeds the quorum, and not one vote earlier.
    function testFuzz_QuorumRollsBackOnExactlyTheDecidingVote(uint8 nodes, uint16 bps) public {
        nodes = uint8(bound(nodes, 1, 12));
        bps = uint16(bound(bps, 1, 9999));
        bytes32 siteC = keccak256("site-c");
        address[] memory voters = new address[](nodes);
        vm.startPrank(admin);
        registry.setQuorum(bps);
        for (uint256 i; i < nodes; ++i) {
            voters[i] = vm.addr(0xC000 + i);
            registry.addNode(voters[i], "site-c");
        }
        vm.stopPrank();
        IDeploymentRegistry.ServiceSpec memory first = spec(IMAGE, 1, onlySite(siteC), typicalBody());
        IDeploymentRegistry.ServiceSpec memory second = spec(IMAGE, 2, onlySite(siteC), typicalBody());
        publishTwo(first, second);

        uint256 needed = uint256(nodes) * bps / 10_000 + 1;
        for (uint256 i; i < needed; ++i) {
            vm.assertEq(registry.serviceState(webId).activeRevision, 2, "not rolled back before the quorum");
            voteAs(voters[i], siteC, 2, second);
        }
        IDeploymentRegistry.ServiceState memory st = registry.serviceState(webId);
        vm.assertEq(st.activeRevision, 1, "rolled back on the deciding vote");
        vm.assertEq(st.votes, 0, "votes reset for the next epoch");
        if (needed < nodes) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, 2, 1));
            voteAs(voters[needed], siteC, 2, second);
        }
    }

    /// @dev The eligible nodes are those of the revision's sites: nodes elsewhere change nothing.
    function testFuzz_OnlyNodesOfTheTargetedSitesCount(uint8 elsewhere) public {
        elsewhere = uint8(bound(elsewhere, 0, 20));
        vm.startPrank(admin);
        for (uint256 i; i < elsewhere; ++i) {
            registry.addNode(vm.addr(0xD000 + i), "site-d");
        }
        vm.stopPrank();
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        IDeploymentRegistry.ServiceSpec memory second = secondSpec();
        publishTwo(first, second);
        voteAs(nodeA1, siteA, 2, second);
        vm.assertEq(registry.serviceState(webId).activeRevision, 2, "1 of 2 at site-a is no majority");
        voteAs(nodeA2, siteA, 2, second);
        vm.assertEq(registry.serviceState(webId).activeRevision, 1, "2 of 2 at site-a roll back");
    }
}
