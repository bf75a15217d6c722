// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryFixture} from "./base/RegistryFixture.sol";

/// @notice The gas budgets of docs/contracts.md, as transaction gas (execution + 21,000 + calldata).
contract GasTest is RegistryFixture {
    uint256 internal constant PUBLISH_BUDGET = 80_000;
    uint256 internal constant ATTEST_BUDGET = 40_000;
    uint256 internal constant VOTE_BUDGET = 60_000;

    function test_Gas_PublishNewRevisionOfExistingService() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        s.replicas = 4;
        publishAs(deployer, s);
        uint256 used = txGasOfLastCall(abi.encodeCall(registry.publish, (NS, SVC, s)));
        vm.assertLe(used, PUBLISH_BUDGET, "publish over budget");
    }

    function test_Gas_AttestConverged() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        vm.prank(nodeA1);
        registry.attest(webId, 1, siteA, IDeploymentRegistry.AttestationStatus.Converged, "");
        publishAs(deployer, s);
        vm.prank(nodeA1);
        registry.attest(webId, 2, siteA, IDeploymentRegistry.AttestationStatus.Converged, "");
        uint256 used = txGasOfLastCall(
            abi.encodeCall(registry.attest, (webId, 2, siteA, IDeploymentRegistry.AttestationStatus.Converged, ""))
        );
        vm.assertLe(used, ATTEST_BUDGET, "attest over budget");
    }

    function test_Gas_VoteBelowQuorum() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        vm.prank(nodeA1);
        registry.attest(webId, 1, siteA, IDeploymentRegistry.AttestationStatus.Converged, "");
        s.replicas = 5;
        publishAs(deployer, s);
        vm.prank(nodeA1);
        registry.voteRollback(webId, 2, siteA, s.sites, workloadHash(s), "task exited with code 1");
        uint256 used = txGasOfLastCall(
            abi.encodeCall(
                registry.voteRollback, (webId, 2, siteA, s.sites, workloadHash(s), "task exited with code 1")
            )
        );
        vm.assertLe(used, VOTE_BUDGET, "vote over budget");
    }
}
