// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryFixture} from "./base/RegistryFixture.sol";

/// @notice Transaction gas of the registry's calls, each measured as its own transaction (forge's
/// isolation mode: cold storage, intrinsic and calldata gas included, as an anvil receipt shows).
/// The figures and the budgets they are held to are in docs/contracts.md; `.gas-snapshot` pins them.
/// forge-config: default.isolate = true
/// forge-config: ci.isolate = true
contract GasTest is RegistryFixture {
    /// The issue's budget for a vote that does not reach the quorum: met.
    uint256 internal constant VOTE_BUDGET = 60_000;
    /// The budgets for a new revision (80,000) and an attestation (40,000) are missed; these ceilings
    /// sit just above what we measured, so any regression fails here (docs/contracts.md says why).
    uint256 internal constant PUBLISH_CEILING = 93_000;
    uint256 internal constant ATTEST_CEILING = 50_500;

    string internal constant REASON = "task exited with code 1";

    function test_Gas_PublishFirstRevision() public {
        publishAs(deployer, typicalSpec());
        _report("publish, first revision (typical spec)");
    }

    function test_Gas_PublishNewRevisionOfExistingService() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        s.replicas = 4;
        publishAs(deployer, s);
        vm.assertLe(_report("publish, new revision (typical spec)"), PUBLISH_CEILING, "publish regressed");
    }

    function test_Gas_PublishNewRevisionOf3KBSpec() public {
        IDeploymentRegistry.ServiceSpec memory s = spec(IMAGE, 3, onlySite(siteA), largeBody());
        publishAs(deployer, s);
        s.replicas = 4;
        publishAs(deployer, s);
        _report("publish, new revision (3 KB spec)");
    }

    function test_Gas_AttestFirstForService() public {
        publishAs(deployer, typicalSpec());
        _attest(nodeA1, 1, typicalSpec());
        _report("attest, first for the service");
    }

    function test_Gas_AttestLaterRevision() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        _attest(nodeA1, 1, s);
        publishAs(deployer, s);
        _attest(nodeA1, 2, s);
        vm.assertLe(_report("attest, later revision"), ATTEST_CEILING, "attest regressed");
    }

    function test_Gas_VoteBelowQuorum() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        _attest(nodeA1, 1, s);
        s.replicas = 5;
        publishAs(deployer, s);
        _vote(nodeA1, s);
        vm.assertLe(_report("voteRollback, below quorum"), VOTE_BUDGET, "vote over budget");
    }

    function test_Gas_VoteReachingQuorum() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        s.replicas = 5;
        publishAs(deployer, s);
        _vote(nodeA1, s);
        _vote(nodeA2, s);
        _report("voteRollback, reaching quorum");
        vm.assertEq(registry.serviceState(webId).activeRevision, 1, "rolled back");
    }

    function test_Gas_RollbackByDeployer() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        publishAs(deployer, s);
        vm.prank(deployer);
        registry.rollback(NS, SVC, 1);
        _report("rollback by a deployer");
    }

    function test_Gas_Remove() public {
        publishAs(deployer, typicalSpec());
        vm.prank(deployer);
        registry.remove(NS, SVC);
        _report("remove");
    }

    function _attest(address node, uint32 revision, IDeploymentRegistry.ServiceSpec memory s) private {
        attestAs(node, siteA, revision, s, IDeploymentRegistry.AttestationStatus.Converged, "");
    }

    function _vote(address node, IDeploymentRegistry.ServiceSpec memory s) private {
        vm.prank(node);
        registry.voteRollback(webId, 2, siteA, s.sites, workloadHash(s), REASON);
    }

    /// @dev The last call's transaction gas; fails when the test does not run isolated, where the
    /// figure would leave out the intrinsic 21,000 and the cold-storage costs.
    function _report(string memory call) private returns (uint256 used) {
        used = vm.lastCallGas().gasTotalUsed;
        vm.assertGe(used, 21_000, "run gas tests isolated (forge test --isolate)");
        emit GasReport(call, used);
    }

    /// Printed with -vvvv; docs/contracts.md takes its table from the anvil receipts instead.
    event GasReport(string call, uint256 gas);
}
