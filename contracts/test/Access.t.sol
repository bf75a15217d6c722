// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {DeploymentRegistry} from "../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";

/// @notice Roles: the admin role through the generic AccessControl functions, scoped roles only
/// through the registry's own functions, and renouncing.
contract AccessTest is RegistryTest {
    address internal newAdmin = vm.addr(0xA2A2);

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        vm.assertTrue(registry.hasRole(ADMIN_ROLE, admin), "admin");
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 1, "one admin");
        vm.assertEq(registry.quorumBps(), 5000, "default quorum");
        vm.assertEq(registry.deployBlock(), block.number, "deployBlock");
    }

    function test_RevertWhen_ConstructorAdminIsZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.ZeroAddress.selector));
        new DeploymentRegistry(address(0));
    }

    // ---------------------------------------------------------------- grantRole and revokeRole

    function test_GrantRole_Admin() public {
        bytes memory call = abi.encodeCall(registry.grantRole, (ADMIN_ROLE, newAdmin));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(ADMIN_ROLE, newAdmin, seq, head, true);
        exec(admin, call);
        vm.assertTrue(registry.hasRole(ADMIN_ROLE, newAdmin), "granted");
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 2, "two admins");
    }

    function test_RevokeRole_Admin() public {
        vm.prank(admin);
        registry.grantRole(ADMIN_ROLE, newAdmin);
        bytes memory call = abi.encodeCall(registry.revokeRole, (ADMIN_ROLE, newAdmin));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(ADMIN_ROLE, newAdmin, seq, head, false);
        exec(admin, call);
        vm.assertFalse(registry.hasRole(ADMIN_ROLE, newAdmin), "revoked");
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

    function test_RevertWhen_GrantOrRevokeAdminByNonAdmin() public {
        vm.startPrank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.grantRole(ADMIN_ROLE, deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.revokeRole(ADMIN_ROLE, admin);
        vm.stopPrank();
    }

    function test_RevertWhen_RoleUnchanged() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RoleUnchanged.selector, ADMIN_ROLE, admin));
        registry.grantRole(ADMIN_ROLE, admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.RoleUnchanged.selector, ADMIN_ROLE, stranger));
        registry.revokeRole(ADMIN_ROLE, stranger);
        vm.stopPrank();
    }

    function test_RevertWhen_ZeroAddress() public {
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.ZeroAddress.selector);
        vm.startPrank(admin);
        vm.expectRevert(err);
        registry.grantRole(ADMIN_ROLE, address(0));
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

    function test_RenounceRole_Admin() public {
        bytes memory call = abi.encodeCall(registry.renounceRole, (ADMIN_ROLE, admin));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.AccessChanged(ADMIN_ROLE, admin, seq, head, false);
        exec(admin, call);
        // Nothing stops the last admin from leaving (OpenZeppelin semantics): the registry is then
        // frozen in its configuration for good.
        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 0, "no admin left");
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

    // ---------------------------------------------------------------- handover

    function test_AdminHandover() public {
        vm.prank(admin);
        registry.grantRole(ADMIN_ROLE, newAdmin);
        vm.prank(newAdmin);
        registry.revokeRole(ADMIN_ROLE, admin);

        vm.assertEq(registry.getRoleMemberCount(ADMIN_ROLE), 1, "one admin");
        vm.assertEq(registry.getRoleMember(ADMIN_ROLE, 0), newAdmin, "the new one");
        vm.prank(admin);
        vm.expectRevert(unauthorized(admin, ADMIN_ROLE));
        registry.createNamespace("dev");
        vm.startPrank(newAdmin);
        registry.createNamespace("dev");
        registry.grantDeployer("dev", deployer);
        vm.stopPrank();
        vm.assertTrue(registry.namespaceInfo("dev").exists, "new admin administers");
    }
}
