// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";

/// @notice Namespaces: creation, ceilings, deploy freezes and scoped deployers (all admin only).
contract NamespacesTest is RegistryTest {
    string internal constant DEV = "dev";
    bytes32 internal devId = keccak256("dev");

    // ---------------------------------------------------------------- createNamespace

    function test_CreateNamespace() public {
        bytes memory call = abi.encodeCall(registry.createNamespace, (DEV));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespaceCreated(devId, seq, head, DEV, 100, 16 * 1024);
        exec(admin, call);

        IDeploymentRegistry.Namespace memory ns = registry.namespaceInfo(DEV);
        vm.assertTrue(ns.exists, "exists");
        vm.assertFalse(ns.frozen, "not frozen");
        vm.assertEq(ns.maxReplicas, registry.DEFAULT_MAX_REPLICAS(), "default replicas");
        vm.assertEq(ns.maxSpecBytes, registry.DEFAULT_MAX_SPEC_BYTES(), "default spec bytes");
        assertAuditSeq(seq);
    }

    function test_CreateNamespace_AcceptsBoundaryNames() public {
        string[5] memory names = ["a", "0", "a-b", "a--9", string(repeat("x", 63))];
        vm.startPrank(admin);
        for (uint256 i; i < names.length; ++i) {
            registry.createNamespace(names[i]);
            vm.assertTrue(registry.namespaceInfo(names[i]).exists, names[i]);
        }
        vm.stopPrank();
    }

    function test_NamespaceInfo_UnknownIsEmpty() public view {
        IDeploymentRegistry.Namespace memory ns = registry.namespaceInfo(DEV);
        vm.assertFalse(ns.exists, "exists");
        vm.assertEq(ns.maxReplicas, 0, "replicas");
    }

    function test_RevertWhen_CreateNamespaceExists() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.NamespaceExists.selector, NS));
        registry.createNamespace(NS);
    }

    function test_RevertWhen_CreateNamespaceWithInvalidName() public {
        string[8] memory names = ["", "Prod", "-prod", "prod-", "prod_1", "prod.eu", "pr od", string(repeat("x", 64))];
        vm.startPrank(admin);
        for (uint256 i; i < names.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidName.selector, names[i]));
            registry.createNamespace(names[i]);
        }
        vm.stopPrank();
    }

    function test_RevertWhen_CreateNamespaceByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.createNamespace(DEV);
    }

    // ---------------------------------------------------------------- setNamespaceLimits

    function test_SetNamespaceLimits() public {
        bytes memory call = abi.encodeCall(registry.setNamespaceLimits, (NS, 7, 2048));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespaceLimitsSet(keccak256(bytes(NS)), seq, head, 7, 2048);
        exec(admin, call);

        IDeploymentRegistry.Namespace memory ns = registry.namespaceInfo(NS);
        vm.assertEq(ns.maxReplicas, 7, "replicas");
        vm.assertEq(ns.maxSpecBytes, 2048, "spec bytes");
    }

    function test_SetNamespaceLimits_AcceptsHardBounds() public {
        vm.startPrank(admin);
        registry.setNamespaceLimits(NS, 1, 1);
        registry.setNamespaceLimits(NS, registry.HARD_MAX_REPLICAS(), registry.HARD_MAX_SPEC_BYTES());
        vm.stopPrank();
        vm.assertEq(registry.namespaceInfo(NS).maxReplicas, 10_000, "replicas");
        vm.assertEq(registry.namespaceInfo(NS).maxSpecBytes, 128 * 1024, "spec bytes");
    }

    function test_RevertWhen_SetNamespaceLimitsOutOfBounds() public {
        uint32[2][4] memory bad = [[uint32(0), 1024], [uint32(10_001), 1024], [uint32(5), 0], [uint32(5), 131_073]];
        vm.startPrank(admin);
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidLimits.selector, bad[i][0], bad[i][1]));
            registry.setNamespaceLimits(NS, bad[i][0], bad[i][1]);
        }
        vm.stopPrank();
    }

    function test_RevertWhen_SetNamespaceLimitsOfUnknownNamespace() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.setNamespaceLimits(DEV, 5, 1024);
    }

    function test_RevertWhen_SetNamespaceLimitsByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.setNamespaceLimits(NS, 5, 1024);
    }

    // ---------------------------------------------------------------- setNamespacePolicy

    function test_SetNamespacePolicy() public {
        bytes memory policy = bytes('{"v":1,"allow":["bind"],"external":["traefik-public"]}');
        bytes memory call = abi.encodeCall(registry.setNamespacePolicy, (NS, policy));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespacePolicySet(keccak256(bytes(NS)), seq, head, keccak256(policy), policy);
        exec(admin, call);
        vm.assertEq(registry.namespacePolicyHash(keccak256(bytes(NS))), keccak256(policy), "committed");
        vm.assertEq(registry.namespacePolicyHash(devId), bytes32(0), "another namespace keeps the default");
        assertAuditSeq(seq);
    }

    function test_SetNamespacePolicy_EmptyRestoresTheDefault() public {
        vm.prank(admin);
        registry.setNamespacePolicy(NS, bytes('{"v":1,"allow":["cap-add"]}'));
        bytes memory call = abi.encodeCall(registry.setNamespacePolicy, (NS, ""));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespacePolicySet(keccak256(bytes(NS)), seq, head, bytes32(0), "");
        exec(admin, call);
        vm.assertEq(registry.namespacePolicyHash(keccak256(bytes(NS))), bytes32(0), "default");
    }

    function test_SetNamespacePolicy_AcceptsTheBound() public {
        bytes memory longest = repeat("x", registry.MAX_POLICY_BYTES());
        vm.prank(admin);
        registry.setNamespacePolicy(NS, longest);
        vm.assertEq(registry.namespacePolicyHash(keccak256(bytes(NS))), keccak256(longest), "hash of the longest");
    }

    function test_RevertWhen_SetNamespacePolicyTooLarge() public {
        uint256 max = registry.MAX_POLICY_BYTES();
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.PolicyTooLarge.selector, max + 1, max));
        registry.setNamespacePolicy(NS, repeat("x", max + 1));
    }

    function test_RevertWhen_SetNamespacePolicyOfUnknownNamespace() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.setNamespacePolicy(DEV, "{}");
    }

    function test_RevertWhen_SetNamespacePolicyByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.setNamespacePolicy(NS, "{}");
    }

    // ---------------------------------------------------------------- freeze

    function test_FreezeAndUnfreeze() public {
        bytes32 nsId = keccak256(bytes(NS));
        bytes memory freeze = abi.encodeCall(registry.freezeNamespace, (NS));
        (uint64 seq, bytes24 head) = entryOf(admin, freeze);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespaceFreezeSet(nsId, seq, head, true);
        exec(admin, freeze);
        vm.assertTrue(registry.namespaceInfo(NS).frozen, "frozen");

        bytes memory unfreeze = abi.encodeCall(registry.unfreezeNamespace, (NS));
        (seq, head) = entryOf(admin, unfreeze);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.NamespaceFreezeSet(nsId, seq, head, false);
        exec(admin, unfreeze);
        vm.assertFalse(registry.namespaceInfo(NS).frozen, "unfrozen");
        publishAs(deployer, typicalSpec());
    }

    function test_RevertWhen_FreezeUnchanged() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.FreezeUnchanged.selector, NS, false));
        registry.unfreezeNamespace(NS);
        registry.freezeNamespace(NS);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.FreezeUnchanged.selector, NS, true));
        registry.freezeNamespace(NS);
        vm.stopPrank();
    }

    function test_RevertWhen_FreezeUnknownNamespace() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.freezeNamespace(DEV);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.unfreezeNamespace(DEV);
        vm.stopPrank();
    }

    function test_RevertWhen_FreezeByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.freezeNamespace(NS);
        vm.prank(admin);
        registry.freezeNamespace(NS);
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.unfreezeNamespace(NS);
    }

    // ---------------------------------------------------------------- deployers

    function test_GrantDeployer() public {
        bytes32 nsId = keccak256(bytes(NS));
        bytes memory call = abi.encodeCall(registry.grantDeployer, (NS, stranger));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.DeployerSet(nsId, stranger, seq, head, true);
        exec(admin, call);

        vm.assertTrue(registry.hasRole(registry.deployerRole(nsId), stranger), "role held");
        vm.assertEq(publishAs(stranger, typicalSpec()), 1, "new deployer publishes");
    }

    function test_RevokeDeployer() public {
        bytes32 nsId = keccak256(bytes(NS));
        bytes memory call = abi.encodeCall(registry.revokeDeployer, (NS, deployer));
        (uint64 seq, bytes24 head) = entryOf(admin, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.DeployerSet(nsId, deployer, seq, head, false);
        exec(admin, call);

        vm.assertFalse(registry.hasRole(registry.deployerRole(nsId), deployer), "role gone");
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        bytes memory err = unauthorized(deployer, registry.deployerRole(nsId));
        vm.prank(deployer);
        vm.expectRevert(err);
        registry.publish(NS, SVC, s);
    }

    function test_RevertWhen_DeployerUnchanged() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.DeployerUnchanged.selector, NS, deployer, true));
        registry.grantDeployer(NS, deployer);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.DeployerUnchanged.selector, NS, stranger, false));
        registry.revokeDeployer(NS, stranger);
        vm.stopPrank();
    }

    function test_RevertWhen_DeployerIsZeroAddress() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.ZeroAddress.selector));
        registry.grantDeployer(NS, address(0));
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.ZeroAddress.selector));
        registry.revokeDeployer(NS, address(0));
        vm.stopPrank();
    }

    function test_RevertWhen_DeployerOfUnknownNamespace() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.grantDeployer(DEV, stranger);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownNamespace.selector, DEV));
        registry.revokeDeployer(DEV, deployer);
        vm.stopPrank();
    }

    function test_RevertWhen_DeployerGrantedByNonAdmin() public {
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.grantDeployer(NS, stranger);
        vm.prank(deployer);
        vm.expectRevert(unauthorized(deployer, ADMIN_ROLE));
        registry.revokeDeployer(NS, deployer);
    }
}
