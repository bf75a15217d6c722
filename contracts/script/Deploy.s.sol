// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DeploymentRegistry} from "../src/DeploymentRegistry.sol";
import {Vm} from "../test/base/Vm.sol";

/// @notice Deploys a registry and sets up a development namespace, deployer and node.
/// @dev Run by scripts/dev against anvil. Settings come from the environment:
///   LEDGEROPS_ADMIN      admin of the new registry (default: the broadcasting key)
///   LEDGEROPS_ADMIN_DELAY seconds an admin transfer waits before it can be accepted (default 2 days)
///   LEDGEROPS_NAMESPACE  namespace to create (default "dev")
///   LEDGEROPS_DEPLOYER   deployer of that namespace (default: the admin)
///   LEDGEROPS_NODE       node key to register (default: none)
///   LEDGEROPS_SITE       the node's site (default "local")
/// The registry's address is in broadcast/Deploy.s.sol/<chain id>/run-latest.json.
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice Deploys and sets up the registry; returns it.
    function run() external returns (DeploymentRegistry registry) {
        vm.startBroadcast();
        address admin = vm.envOr("LEDGEROPS_ADMIN", msg.sender);
        string memory namespace = vm.envOr("LEDGEROPS_NAMESPACE", string("dev"));
        address deployer = vm.envOr("LEDGEROPS_DEPLOYER", admin);
        address node = vm.envOr("LEDGEROPS_NODE", address(0));

        registry = new DeploymentRegistry(admin, uint48(vm.envOr("LEDGEROPS_ADMIN_DELAY", uint256(2 days))));
        if (admin == msg.sender) {
            registry.createNamespace(namespace);
            registry.grantDeployer(namespace, deployer);
            if (node != address(0)) registry.addNode(node, vm.envOr("LEDGEROPS_SITE", string("local")));
        }
        vm.stopBroadcast();
    }
}
