// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DeploymentRegistry} from "../../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../../src/IDeploymentRegistry.sol";
import {TestBase} from "../base/TestBase.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @notice Invariants of the registry under random sequences of calls by every kind of actor
/// (forge calls the handler; `[profile.ci]` runs 256 sequences of 50 calls).
contract RegistryInvariantsTest is TestBase {
    DeploymentRegistry internal registry;
    RegistryHandler internal handler;
    address internal admin = vm.addr(0xA11CE);
    address internal deployer = vm.addr(0xDE9);
    address internal stranger = vm.addr(0xBAD);

    function setUp() public {
        registry = new DeploymentRegistry(admin, 2 days);
        vm.startPrank(admin);
        registry.createNamespace("prod");
        registry.grantDeployer("prod", deployer);
        vm.stopPrank();
        handler = new RegistryHandler(registry, admin, deployer, stranger);
        targetContract(address(handler));
    }

    /// Every call succeeded or reverted exactly as the model predicted.
    function invariant_EveryOutcomeWasPredicted() public view {
        vm.assertEq(handler.mispredictions(), 0, handler.lastMisprediction());
    }

    /// The seq grows by exactly one per state change: it equals the model's count of changes.
    function invariant_SeqCountsEveryChange() public view {
        (uint64 seq,) = registry.auditHead();
        vm.assertEq(seq, handler.expectedSeq(), "seq = changes the model counted");
        vm.assertEq(handler.replayedSeq(), handler.expectedSeq(), "one log per change");
    }

    /// The on-chain head equals the chain recomputed from the logs, and every log carries its own.
    function invariant_HeadEqualsReplayOfTheLogs() public view {
        (, bytes24 head) = registry.auditHead();
        vm.assertEq(bytes32(head), bytes32(handler.replayedHead()), "head = replay");
        vm.assertEq(handler.badLogs(), 0, "every log's (seq, head) matches the replay");
    }

    /// The active revision exists (or the service is removed), and the state equals the model.
    function invariant_ActiveRevisionExistsOrServiceRemoved() public view {
        for (uint256 i; i < 2; ++i) {
            bytes32 sId = handler.serviceId(i);
            IDeploymentRegistry.ServiceState memory st = registry.serviceState(sId);
            RegistryHandler.Service memory model = handler.service(sId);
            vm.assertLe(st.activeRevision, st.revisionCount, "active <= count");
            vm.assertLe(st.previousRevision, st.revisionCount, "previous <= count");
            if (st.activeRevision != 0) {
                vm.assertNotEq(registry.revisionHash(sId, st.activeRevision), bytes32(0), "active revision kept");
            }
            vm.assertEq(st.revisionCount, model.count, "revisionCount");
            vm.assertEq(st.activeRevision, model.active, "activeRevision");
            vm.assertEq(st.previousRevision, model.previous, "previousRevision");
            vm.assertEq(st.epoch, model.epoch, "epoch");
            vm.assertEq(st.votes, model.votes, "votes");
            vm.assertEq(st.votesNeeded, model.needed, "votesNeeded: fixed at the epoch's first vote");
        }
    }

    /// The registry commits to the last policy set, or to none after the empty one.
    function invariant_PolicyHashIsTheLastOneSet() public view {
        vm.assertEq(registry.namespacePolicyHash(keccak256(bytes("prod"))), handler.policyHash(), "policy hash");
    }

    /// No vote is counted twice: one per node per epoch, and the tally never exceeds the voters.
    function invariant_NoVoteCountedTwice() public view {
        vm.assertEq(handler.doubleVotes(), 0, "double votes");
        for (uint256 i; i < 2; ++i) {
            bytes32 sId = handler.serviceId(i);
            IDeploymentRegistry.ServiceState memory st = registry.serviceState(sId);
            uint256 votedThisEpoch;
            for (uint256 n; n < 4; ++n) {
                if (registry.nodeServiceState(sId, handler.nodes(n)).votedEpoch == st.epoch && st.epoch != 0) {
                    votedThisEpoch += 1;
                }
            }
            vm.assertLe(st.votes, votedThisEpoch, "votes <= distinct voters this epoch");
        }
    }

    /// Each node's last report is the model's: a repeated one is refused only within one epoch.
    function invariant_NodeReportsAsModelled() public view {
        for (uint256 i; i < 2; ++i) {
            bytes32 sId = handler.serviceId(i);
            for (uint256 n; n < 4; ++n) {
                IDeploymentRegistry.NodeServiceState memory mine = registry.nodeServiceState(sId, handler.nodes(n));
                RegistryHandler.NodeRecord memory model = handler.record(sId, handler.nodes(n));
                vm.assertEq(mine.revision, model.revision, "revision");
                vm.assertEq(uint8(mine.status), model.status, "status");
                vm.assertEq(mine.votedEpoch, model.votedEpoch, "votedEpoch");
                vm.assertEq(mine.reportedEpoch, model.epoch, "reportedEpoch");
            }
        }
    }

    /// Nobody without the role changed anything, and the stranger never holds a role.
    function invariant_NoUnauthorizedChange() public view {
        vm.assertEq(handler.unauthorizedChanges(), 0, "changes by actors without the role");
        vm.assertFalse(registry.hasRole(0x00, stranger), "stranger is not admin");
        vm.assertFalse(registry.hasRole(registry.deployerRole(keccak256("prod")), stranger), "stranger not deployer");
        vm.assertEq(registry.nodeSite(stranger), bytes32(0), "stranger is no node");
        vm.assertEq(registry.getRoleMemberCount(0x00), 1, "one admin");
    }

    /// Node counts: per site and in all, as the model has them.
    function invariant_NodeCounts() public view {
        uint256 total;
        for (uint256 s; s < 2; ++s) {
            vm.assertEq(registry.siteNodeCount(handler.siteId(s)), handler.siteCounts(s), "site count");
            total += handler.siteCounts(s);
        }
        vm.assertEq(registry.nodeCount(), total, "nodeCount");
        vm.assertEq(registry.quorumBps(), handler.quorumBps(), "quorum");
        vm.assertEq(registry.namespaceInfo("prod").frozen, handler.frozen(), "frozen");
    }
}
