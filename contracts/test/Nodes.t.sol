// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";

/// @notice Edge nodes: registration, attestations, rollback votes and the quorum.
contract NodesTest is RegistryTest {
    IDeploymentRegistry.AttestationStatus internal constant CONVERGED = IDeploymentRegistry.AttestationStatus.Converged;
    IDeploymentRegistry.AttestationStatus internal constant FAILED = IDeploymentRegistry.AttestationStatus.Failed;

    // ---------------------------------------------------------------- addNode and removeNode

    function test_AddNode() public {
        address node = vm.addr(0xC1);
        bytes32 siteC = keccak256("site-c");
        bytes memory call = abi.encodeCall(registry.addNode, (node, "site-c"));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NodeAdded(node, siteC, seq, head, "site-c");
        exec(admin, call);

        vm.assertEq(registry.nodeSite(node), siteC, "nodeSite");
        vm.assertEq(registry.siteNodeCount(siteC), 1, "site-c count");
        vm.assertEq(registry.siteNodeCount(siteA), 2, "site-a count");
        vm.assertEq(registry.nodeCount(), 4, "nodeCount");
        vm.assertTrue(registry.hasRole(registry.siteRole(siteC), node), "site role");
    }

    function test_RemoveNode() public {
        bytes memory call = abi.encodeCall(registry.removeNode, (nodeA1));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NodeRemoved(nodeA1, siteA, seq, head);
        exec(admin, call);

        vm.assertEq(registry.nodeSite(nodeA1), bytes32(0), "nodeSite cleared");
        vm.assertEq(registry.siteNodeCount(siteA), 1, "site-a count");
        vm.assertEq(registry.nodeCount(), 2, "nodeCount");
        vm.assertFalse(registry.hasRole(registry.siteRole(siteA), nodeA1), "site role revoked");
        vm.prank(admin);
        registry.addNode(nodeA1, "site-b");
        vm.assertEq(registry.siteNodeCount(siteB), 2, "re-added at site-b");
    }

    function test_RevertWhen_AddNodeAlreadyRegistered() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.NodeAlreadyRegistered.selector, nodeA1));
        registry.addNode(nodeA1, "site-a");
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.NodeAlreadyRegistered.selector, nodeA1));
        registry.addNode(nodeA1, "site-b");
        vm.stopPrank();
    }

    function test_RevertWhen_AddNodeWithInvalidSite() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidName.selector, "Site-A"));
        registry.addNode(stranger, "Site-A");
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidName.selector, ""));
        registry.addNode(stranger, "");
        vm.stopPrank();
    }

    function test_RevertWhen_RemoveUnknownNode() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNode.selector, stranger));
        registry.removeNode(stranger);
        registry.removeNode(nodeA1);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNode.selector, nodeA1));
        registry.removeNode(nodeA1);
        vm.stopPrank();
    }

    function test_RevertWhen_NodesManagedByNonAdmin() public {
        vm.startPrank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.addNode(stranger, "site-a");
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.removeNode(nodeA1);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- attest

    function test_Attest_EveryStatus() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        for (uint8 status = 1; status <= 3; ++status) {
            // One report per activation: each status on a revision of its own.
            uint32 revision = publishAs(deployer, s);
            IDeploymentRegistry.AttestationStatus st = IDeploymentRegistry.AttestationStatus(status);
            bytes memory call =
                abi.encodeCall(registry.attest, (webId, revision, siteA, s.sites, workloadHash(s), st, "why"));
            (uint64 seq, bytes24 head) = entryOf(nodeA1, call);
            vm.expectEmit(address(registry));
            emit IDeploymentRegistry.Attested(webId, revision, nodeA1, seq, head, siteA, st, "why");
            exec(nodeA1, call);
            IDeploymentRegistry.NodeServiceState memory mine = registry.nodeServiceState(webId, nodeA1);
            vm.assertEq(mine.revision, revision, "revision");
            vm.assertEq(uint8(mine.status), status, "status");
            vm.assertEq(mine.votedEpoch, 0, "no vote");
            vm.assertEq(mine.reportedEpoch, registry.serviceState(webId).epoch, "reportedEpoch");
        }
    }

    /// A node key that alternates statuses would fill every node's log on a free-gas chain.
    function test_RevertWhen_AttestTwiceInOneActivation() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        attestAs(nodeA1, siteA, 1, s, CONVERGED, "");
        bytes memory already = abi.encodeWithSelector(IDeploymentRegistry.AlreadyAttested.selector, webId, 1, CONVERGED);
        vm.expectRevert(already);
        attestAs(nodeA1, siteA, 1, s, CONVERGED, "again");
        vm.expectRevert(already);
        attestAs(nodeA1, siteA, 1, s, FAILED, "a changed status");
        attestAs(nodeA2, siteA, 1, s, CONVERGED, "another node reports on its own");
    }

    /// Failed, then converged (a registry login fixed on the node): said once, and that is all.
    function test_Attest_OneRecoveryPerActivation() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        attestAs(nodeA1, siteA, 1, s, FAILED, "no basic auth credentials");
        bytes memory call = abi.encodeCall(registry.attest, (webId, 1, siteA, s.sites, workloadHash(s), CONVERGED, ""));
        (uint64 seq, bytes24 head) = entryOf(nodeA1, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.Attested(webId, 1, nodeA1, seq, head, siteA, CONVERGED, "");
        exec(nodeA1, call);
        vm.assertEq(uint8(registry.nodeServiceState(webId, nodeA1).status), uint8(CONVERGED), "recovered");
        bytes memory already = abi.encodeWithSelector(IDeploymentRegistry.AlreadyAttested.selector, webId, 1, CONVERGED);
        vm.expectRevert(already);
        attestAs(nodeA1, siteA, 1, s, FAILED, "and failed again");
        vm.expectRevert(already);
        attestAs(nodeA1, siteA, 1, s, CONVERGED, "and converged again");
    }

    /// A vote is the node's failed report; recovering from it is said once, a second failure not.
    function test_RevertWhen_AttestAfterVotingSaveARecovery() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AlreadyAttested.selector, webId, 2, FAILED));
        attestAs(nodeA1, siteA, 2, s, FAILED, "the vote was this activation's report");
        attestAs(nodeA1, siteA, 2, s, CONVERGED, "recovered");
        assertService(2, 2, 1, 2, 1); // the vote still counts
    }

    function test_Attest_TheSameReportAgainOnceTheRevisionIsActiveAgain() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        attestAs(nodeA1, siteA, 2, s, CONVERGED, "");
        vm.startPrank(deployer);
        registry.rollback(NS, SVC, 1);
        registry.rollback(NS, SVC, 2);
        vm.stopPrank();
        uint32 epoch = registry.serviceState(webId).epoch;
        attestAs(nodeA1, siteA, 2, s, CONVERGED, "a new activation of revision 2");
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AlreadyAttested.selector, webId, 2, CONVERGED));
        attestAs(nodeA1, siteA, 2, s, CONVERGED, "twice in one activation");
        vm.assertEq(registry.nodeServiceState(webId, nodeA1).reportedEpoch, epoch, "reportedEpoch");
    }

    function test_RevertWhen_AttestStatusNone() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidStatus.selector));
        attestAs(nodeA1, siteA, 1, s, IDeploymentRegistry.AttestationStatus.None, "");
    }

    function test_RevertWhen_AttestRevisionNotActive() public {
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        IDeploymentRegistry.ServiceSpec memory second = secondSpec();
        publishTwo(first, second);
        uint32[3] memory revisions = [uint32(0), 1, 3];
        for (uint256 i; i < revisions.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, revisions[i], 2)
            );
            attestAs(nodeA1, siteA, revisions[i], first, CONVERGED, "");
        }
        bytes32 otherId = keccak256("prod/api");
        vm.prank(nodeA1);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownService.selector, otherId));
        registry.attest(otherId, 1, siteA, first.sites, workloadHash(first), CONVERGED, "");
    }

    /// A node reports only on services placed at its own site.
    function test_RevertWhen_AttestOutsideThePlacement() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.SiteNotInPlacement.selector, siteB));
        attestAs(nodeB1, siteB, 1, s, CONVERGED, "");
        // A placement that is not the revision's does not pass for it.
        IDeploymentRegistry.ServiceSpec memory claimed = typicalSpec();
        claimed.sites = bothSites();
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.SpecMismatch.selector, webId, 1));
        attestAs(nodeB1, siteB, 1, claimed, CONVERGED, "");
        claimed = typicalSpec();
        claimed.replicas = 9;
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.SpecMismatch.selector, webId, 1));
        attestAs(nodeA1, siteA, 1, claimed, CONVERGED, "");
    }

    /// A service placed nowhere in particular runs on every site: any node reports on it.
    function test_Attest_UnplacedServiceFromAnySite() public {
        IDeploymentRegistry.ServiceSpec memory s = spec(IMAGE, 1, new bytes32[](0), "");
        publishAs(deployer, s);
        attestAs(nodeB1, siteB, 1, s, CONVERGED, "");
        attestAs(nodeA1, siteA, 1, s, FAILED, "crash loop");
    }

    function test_RevertWhen_ReasonTooLong() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        string memory long = string(repeat("r", 257));
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.ReasonTooLong.selector, 257, 256);
        vm.expectRevert(err);
        attestAs(nodeA1, siteA, 2, s, FAILED, long);
        vm.prank(nodeA1);
        vm.expectRevert(err);
        registry.voteRollback(webId, 2, siteA, s.sites, workloadHash(s), long);
        attestAs(nodeA1, siteA, 2, s, FAILED, string(repeat("r", 256)));
    }

    function test_RevertWhen_NodeActsForAnotherSite() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        bytes32 roleA = registry.siteRole(siteA);
        vm.expectRevert(unauthorized(nodeB1, roleA));
        attestAs(nodeB1, siteA, 2, s, CONVERGED, "");
        vm.prank(nodeB1);
        vm.expectRevert(unauthorized(nodeB1, roleA));
        registry.voteRollback(webId, 2, siteA, s.sites, workloadHash(s), REASON);
        vm.expectRevert(unauthorized(stranger, roleA));
        attestAs(stranger, siteA, 2, s, CONVERGED, "");
    }

    // ---------------------------------------------------------------- voteRollback: quorum

    function test_VoteRollback_BelowQuorum() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        bytes memory call = abi.encodeCall(registry.voteRollback, (webId, 2, siteA, s.sites, workloadHash(s), REASON));
        (uint64 seq, bytes24 head) = entryOf(nodeA1, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RollbackVoted(webId, 2, nodeA1, seq, head, siteA, 1, 2, REASON);
        exec(nodeA1, call);

        assertService(2, 2, 1, 2, 1);
        IDeploymentRegistry.NodeServiceState memory mine = registry.nodeServiceState(webId, nodeA1);
        vm.assertEq(mine.revision, 2, "revision");
        vm.assertEq(uint8(mine.status), uint8(FAILED), "a vote is a failed attestation");
        vm.assertEq(mine.votedEpoch, 2, "votedEpoch");
        vm.assertEq(mine.reportedEpoch, 2, "reportedEpoch");
    }

    function test_VoteRollback_QuorumReactivatesPrevious() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        bytes memory call = abi.encodeCall(registry.voteRollback, (webId, 2, siteA, s.sites, workloadHash(s), REASON));
        Entry[] memory e = entriesOf(nodeA2, call);
        vm.assertEq(e.length, 2, "vote and rollback");
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RollbackVoted(webId, 2, nodeA2, e[0].seq, e[0].head, siteA, 2, 2, REASON);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RolledBack(webId, 1, nodeA2, e[1].seq, e[1].head, 2, true);
        exec(nodeA2, call);

        // Revision 1 is active again with nothing behind it; every node can converge on it.
        assertService(2, 1, 0, 3, 0);
        address[2] memory nodes = [nodeA1, nodeA2];
        for (uint256 i; i < 2; ++i) {
            attestAs(nodes[i], siteA, 1, typicalSpec(), CONVERGED, "");
            vm.assertEq(uint8(registry.nodeServiceState(webId, nodes[i]).status), uint8(CONVERGED), "converged");
        }
    }

    function test_VoteRollback_OneOfThreeKeepsServiceOnBothSites() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        s.sites = bothSites();
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        first.sites = bothSites();
        publishTwo(first, s);
        bytes memory call = abi.encodeCall(registry.voteRollback, (webId, 2, siteB, s.sites, workloadHash(s), REASON));
        (uint64 seq, bytes24 head) = entryOf(nodeB1, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RollbackVoted(webId, 2, nodeB1, seq, head, siteB, 1, 2, REASON);
        exec(nodeB1, call);
        assertService(2, 2, 1, 2, 1);
        voteAs(nodeA1, siteA, 2, s);
        assertService(2, 1, 0, 3, 0);
    }

    function test_VoteRollback_EmptyPlacementCountsEveryNode() public {
        IDeploymentRegistry.ServiceSpec memory s = spec(IMAGE, 2, new bytes32[](0), "");
        publishTwo(spec(IMAGE, 1, new bytes32[](0), ""), s);
        voteAs(nodeB1, siteB, 2, s);
        assertService(2, 2, 1, 2, 1);
        voteAs(nodeA2, siteA, 2, s);
        assertService(2, 1, 0, 3, 0);
    }

    function test_VoteRollback_WorksWhileFrozen() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        vm.prank(admin);
        registry.freezeNamespace(NS);
        voteAs(nodeA1, siteA, 2, s);
        voteAs(nodeA2, siteA, 2, s);
        assertService(2, 1, 0, 3, 0);
    }

    /// A node removed after voting keeps its vote in the current epoch, and the votes needed stay
    /// as the first vote counted them: here 1 of 2 votes, the voter is removed, and the remaining
    /// node's vote makes 2 votes against the 2 needed.
    function test_VoteRollback_RemovedNodeVoteStillCounts() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        vm.prank(admin);
        registry.removeNode(nodeA1);
        assertService(2, 2, 1, 2, 1);
        bytes memory call = abi.encodeCall(registry.voteRollback, (webId, 2, siteA, s.sites, workloadHash(s), REASON));
        Entry[] memory e = entriesOf(nodeA2, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RollbackVoted(webId, 2, nodeA2, e[0].seq, e[0].head, siteA, 2, 2, REASON);
        exec(nodeA2, call);
        assertService(2, 1, 0, 3, 0);
    }

    /// The exact sequence of the security review: with the votes needed recounted at each vote,
    /// nodes that vote and then leave let a minority roll back. Four nodes at one site need three
    /// votes; one votes and renounces, and a second vote must not roll back (2 of 4 is no
    /// majority); a third does. A quorum change while voting is open does not reach it either.
    function test_VoteRollback_VotersWhoLeaveDoNotLowerTheQuorum() public {
        address a3 = vm.addr(0xA3);
        address a4 = vm.addr(0xA4);
        vm.startPrank(admin);
        registry.addNode(a3, "site-a");
        registry.addNode(a4, "site-a");
        vm.stopPrank();
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);

        voteAs(nodeA1, siteA, 2, s);
        vm.assertEq(registry.serviceState(webId).votesNeeded, 3, "3 of 4 fixed at the first vote");
        vm.startPrank(nodeA1);
        registry.renounceRole(registry.siteRole(siteA), nodeA1);
        vm.stopPrank();
        vm.prank(admin);
        registry.setQuorum(1000); // would need 1 of 3 if recounted
        voteAs(nodeA2, siteA, 2, s);
        assertService(2, 2, 1, 2, 2);
        voteAs(a3, siteA, 2, s);
        assertService(2, 1, 0, 3, 0);
        vm.assertEq(registry.serviceState(webId).votesNeeded, 0, "a new epoch opens without a base");
    }

    function test_VoteRollback_NewPublishStartsNewEpoch() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        s.replicas = 5;
        publishAs(deployer, s);
        assertService(3, 3, 2, 3, 0);
        voteAs(nodeA1, siteA, 3, s);
        assertService(3, 3, 2, 3, 1);
        voteAs(nodeA2, siteA, 3, s);
        assertService(3, 2, 0, 4, 0);
    }

    // ---------------------------------------------------------------- voteRollback: refusals

    function test_RevertWhen_VoteTwice() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AlreadyVoted.selector, webId, 2, nodeA1));
        voteAs(nodeA1, siteA, 2, s);
    }

    function test_RevertWhen_VoteOnInactiveRevision() public {
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(first, s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, 1, 2));
        voteAs(nodeA1, siteA, 1, first);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, 0, 2));
        voteAs(nodeA1, siteA, 0, s);
        voteAs(nodeA1, siteA, 2, s);
        voteAs(nodeA2, siteA, 2, s);
        // A stale vote after the quorum rollback (a retry of the node's own vote, say).
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, 2, 1));
        voteAs(nodeA1, siteA, 2, s);
        vm.prank(deployer);
        registry.remove(NS, SVC);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RevisionNotActive.selector, webId, 1, 0));
        voteAs(nodeA1, siteA, 1, first);
    }

    function test_RevertWhen_VoteOnUnknownService() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownService.selector, webId));
        voteAs(nodeA1, siteA, 1, s);
    }

    function test_RevertWhen_VoteSpecMismatch() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.SpecMismatch.selector, webId, 2);
        bytes32 workload = workloadHash(s);
        bytes32[] memory both = bothSites();
        vm.startPrank(nodeA1);
        vm.expectRevert(err);
        registry.voteRollback(webId, 2, siteA, both, workload, REASON);
        vm.expectRevert(err);
        registry.voteRollback(webId, 2, siteA, s.sites, workloadHash(typicalSpec()), REASON);
        vm.stopPrank();
    }

    function test_RevertWhen_VoterSiteNotInPlacement() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.SiteNotInPlacement.selector, siteB));
        voteAs(nodeB1, siteB, 2, s);
    }

    function test_RevertWhen_NothingToRollBackTo() public {
        IDeploymentRegistry.ServiceSpec memory first = typicalSpec();
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishAs(deployer, first);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.NothingToRollBackTo.selector, webId));
        voteAs(nodeA1, siteA, 1, first);
        publishAs(deployer, s);
        voteAs(nodeA1, siteA, 2, s);
        voteAs(nodeA2, siteA, 2, s);
        // A revision re-activated by a quorum has nothing left to fall back to.
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.NothingToRollBackTo.selector, webId));
        voteAs(nodeA1, siteA, 1, first);
    }

    function test_RevertWhen_VoteFromRemovedNode() public {
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        vm.prank(admin);
        registry.removeNode(nodeA1);
        vm.expectRevert(unauthorized(nodeA1, registry.siteRole(siteA)));
        voteAs(nodeA1, siteA, 2, s);
    }

    // ---------------------------------------------------------------- setQuorum

    function test_SetQuorum() public {
        bytes memory call = abi.encodeCall(registry.setQuorum, (1));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.QuorumSet(seq, head, 1);
        exec(admin, call);
        vm.assertEq(registry.quorumBps(), 1, "quorumBps");

        // With 1 bps a single vote exceeds the fraction: one of the two site-a nodes suffices.
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(typicalSpec(), s);
        voteAs(nodeA1, siteA, 2, s);
        assertService(2, 1, 0, 3, 0);
    }

    function test_SetQuorum_HighestNeedsEveryNode() public {
        vm.prank(admin);
        registry.setQuorum(9999);
        IDeploymentRegistry.ServiceSpec memory s = secondSpec();
        publishTwo(spec(IMAGE, 1, new bytes32[](0), ""), spec(IMAGE, 2, new bytes32[](0), ""));
        s = spec(IMAGE, 2, new bytes32[](0), "");
        voteAs(nodeA1, siteA, 2, s);
        voteAs(nodeA2, siteA, 2, s);
        assertService(2, 2, 1, 2, 2);
        voteAs(nodeB1, siteB, 2, s);
        assertService(2, 1, 0, 3, 0);
    }

    function test_RevertWhen_SetQuorumInvalid() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidQuorum.selector, 0));
        registry.setQuorum(0);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidQuorum.selector, 10_000));
        registry.setQuorum(10_000);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidQuorum.selector, type(uint16).max));
        registry.setQuorum(type(uint16).max);
        vm.stopPrank();
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.setQuorum(6000);
        vm.assertEq(registry.quorumBps(), 5000, "default quorum unchanged");
    }
}
