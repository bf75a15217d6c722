// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {
    IAccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {DeploymentRegistry} from "../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";

/// @notice Roles: one admin that moves only in two steps with a delay and never leaves, scoped
/// roles only through the registry's own functions, and renouncing.
contract AccessTest is RegistryTest {
    address internal newAdmin = vm.addr(0xA2A2);

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        vm.assertTrue(registry.hasRole(ADMIN_ROLE, admin), "admin");
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 1, "one admin");
        vm.assertEq(registry.quorumBps(), 5000, "default quorum");
        vm.assertEq(registry.deployBlock(), block.number, "deployBlock");
        vm.assertEq(registry.defaultAdmin(), admin, "defaultAdmin");
        vm.assertEq(registry.defaultAdminDelay(), ADMIN_DELAY, "delay");
    }

    function test_RevertWhen_ConstructorAdminIsZeroAddress() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, address(0)
            )
        );
        new DeploymentRegistry(address(0), ADMIN_DELAY);
    }

    // ---------------------------------------------------------------- admin transfer

    function test_AdminTransfer_TwoStepsAfterTheDelay() public {
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(newAdmin);
        (address pending, uint48 schedule) = registry.pendingDefaultAdmin();
        vm.assertEq(pending, newAdmin, "pending");
        vm.assertEq(schedule, block.timestamp + ADMIN_DELAY, "schedule");

        // Before the delay the new admin cannot take over, and the old one still administers.
        bytes memory early = abi.encodeWithSelector(
            IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminDelay.selector, schedule
        );
        vm.prank(newAdmin);
        vm.expectRevert(early);
        registry.acceptDefaultAdminTransfer();
        vm.prank(admin);
        registry.createNamespace("dev");

        vm.warp(schedule + 1);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, stranger)
        );
        registry.acceptDefaultAdminTransfer();
        bytes memory call = abi.encodeCall(registry.acceptDefaultAdminTransfer, ());
        Entry[] memory e = entriesOf(newAdmin, call);
        vm.assertEq(e.length, 2, "the admin that leaves and the one that comes");
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(ADMIN_ROLE, admin, e[0].seq, e[0].head, false);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(ADMIN_ROLE, newAdmin, e[1].seq, e[1].head, true);
        exec(newAdmin, call);

        vm.assertEq(registry.defaultAdmin(), newAdmin, "new admin");
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 1, "one admin");
        vm.prank(admin);
        vm.expectRevert(unauthorized(admin, ADMIN_ROLE));
        registry.createNamespace("staging");
        vm.startPrank(newAdmin);
        registry.createNamespace("staging");
        registry.grantDeployer("staging", deployer);
        vm.stopPrank();
    }

    /// A stolen admin key starting a transfer is seen, and the transfer cancelled, before it lands.
    function test_AdminTransfer_CancelledBeforeTheDelay() public {
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(stranger);
        vm.prank(admin);
        registry.cancelDefaultAdminTransfer();
        vm.warp(block.timestamp + ADMIN_DELAY + 1);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, stranger)
        );
        registry.acceptDefaultAdminTransfer();
        vm.assertEq(registry.defaultAdmin(), admin, "admin unchanged");
    }

    function test_RevertWhen_AdminTransferByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.beginDefaultAdminTransfer(deployer);
    }

    /// grantRole and revokeRole cannot add a second admin or remove the only one.
    function test_RevertWhen_GrantOrRevokeAdmin() public {
        bytes memory enforced =
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminRules.selector);
        vm.startPrank(admin);
        vm.expectRevert(enforced);
        registry.grantRole(ADMIN_ROLE, newAdmin);
        vm.expectRevert(enforced);
        registry.revokeRole(ADMIN_ROLE, admin);
        vm.stopPrank();
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 1, "one admin");
    }

    function test_RevertWhen_GrantOrRevokeScopedRole() public {
        bytes32[3] memory roles = [deployerRoleOf(NS), registry.siteRole(siteA), keccak256("anything")];
        for (uint256 i; i < roles.length; ++i) {
            bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.RoleManagedByRegistry.selector, roles[i]);
            vm.startPrank(admin);
            vm.expectRevert(err);
            registry.grantRole(roles[i], stranger);
            vm.expectRevert(err);
            registry.revokeRole(roles[i], deployer);
            vm.stopPrank();
            // The scope check comes before the admin check: a stranger sees the same error.
            vm.prank(stranger);
            vm.expectRevert(err);
            registry.grantRole(roles[i], stranger);
        }
    }

    function test_RevertWhen_ZeroAddress() public {
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.ZeroAddress.selector);
        vm.startPrank(admin);
        vm.expectRevert(err);
        registry.addNode(address(0), "site-a");
        vm.expectRevert(err);
        registry.grantDeployer(NS, address(0));
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- renounceRole

    function test_RenounceRole_Deployer() public {
        bytes32 role = deployerRoleOf(NS);
        bytes memory call = abi.encodeCall(registry.renounceRole, (role, deployer));
        (uint64 seq, bytes24 head) = entryOf(deployer, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(role, deployer, seq, head, false);
        exec(deployer, call);

        vm.assertFalse(registry.hasRole(role, deployer), "renounced");
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, role));
        registry.publish(NS, SVC, s);
    }

    function test_RenounceRole_NodeRemovesNode() public {
        bytes32 role = registry.siteRole(siteA);
        bytes memory call = abi.encodeCall(registry.renounceRole, (role, nodeA1));
        (uint64 seq, bytes24 head) = entryOf(nodeA1, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NodeRemoved(nodeA1, siteA, seq, head);
        exec(nodeA1, call);

        vm.assertFalse(registry.hasRole(role, nodeA1), "role gone");
        vm.assertEq(registry.nodeCount(), 2, "nodeCount");
        vm.assertEq(registry.siteNodeCount(siteA), 1, "site-a count");
        vm.assertEq(registry.nodeSite(nodeA1), bytes32(0), "nodeSite");
    }

    function test_RevertWhen_AdminRenounces() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AdminCannotLeave.selector));
        registry.renounceRole(ADMIN_ROLE, admin);
        // Not even by the two steps OpenZeppelin allows for it (a transfer to the zero address).
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(address(0));
        vm.warp(block.timestamp + ADMIN_DELAY + 1);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AdminCannotLeave.selector));
        registry.renounceRole(ADMIN_ROLE, admin);
        vm.assertEq(registry.defaultAdmin(), admin, "still administered");
    }

    function test_RevertWhen_RenounceForAnotherAccount() public {
        bytes32 roleA = registry.siteRole(siteA);
        bytes32 deployerRole = deployerRoleOf(NS);
        bytes4 badConfirmation = IAccessControl.AccessControlBadConfirmation.selector;
        vm.prank(nodeA1);
        vm.expectRevert(abi.encodeWithSelector(badConfirmation));
        registry.renounceRole(roleA, nodeA2);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(badConfirmation));
        registry.renounceRole(deployerRole, deployer);
        vm.assertEq(registry.nodeCount(), 3, "nobody removed");
    }

    function test_RevertWhen_RenounceRoleNotHeld() public {
        bytes32 roleB = registry.siteRole(siteB);
        bytes32 deployerRole = deployerRoleOf(NS);
        vm.prank(nodeA1);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RoleUnchanged.selector, roleB, nodeA1));
        registry.renounceRole(roleB, nodeA1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RoleUnchanged.selector, deployerRole, stranger));
        registry.renounceRole(deployerRole, stranger);
    }
}
