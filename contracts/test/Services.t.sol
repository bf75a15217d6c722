// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {RegistryTest} from "./base/RegistryTest.sol";
import {Vm} from "./base/Vm.sol";

/// @notice Services: publish, rollback and remove by the deployers of their namespace, and every
/// spec check publish makes.
contract ServicesTest is RegistryTest {
    // ---------------------------------------------------------------- publish

    function test_Publish_FirstRevisionCreatesService() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        bytes memory call = abi.encodeCall(registry.publish, (NS, SVC, s));
        Entry[] memory e = entriesOf(deployer, call);
        vm.assertEq(e.length, 2, "two entries");
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.ServiceCreated(webId, keccak256(bytes(NS)), e[0].seq, e[0].head, NS, SVC);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RevisionPublished(webId, 1, deployer, e[1].seq, e[1].head, s);
        vm.assertEq(abi.decode(exec(deployer, call), (uint32)), 1, "revision 1");

        assertService(1, 1, 0, 1, 0);
        assertAuditSeq(e[1].seq);
        vm.assertEq(webId, keccak256("prod/web"), "service id");
    }

    function test_Publish_NumbersRevisionsAndCreatesOnce() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        publishAs(deployer, s);
        s.replicas = 4;
        bytes memory call = abi.encodeCall(registry.publish, (NS, SVC, s));
        (uint64 seq, bytes24 head) = entryOf(deployer, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RevisionPublished(webId, 2, deployer, seq, head, s);
        vm.assertEq(abi.decode(exec(deployer, call), (uint32)), 2, "revision 2");
        vm.assertEq(publishAs(deployer, s), 3, "same spec again is revision 3");
        assertService(3, 3, 2, 3, 0);
    }

    function test_Publish_StoresCommitment() public {
        IDeploymentRegistry.ServiceSpec memory s = spec(IMAGE, 7, bothSites(), largeBody());
        publishAs(deployer, s);
        bytes32 expected =
            keccak256(abi.encode(keccak256(abi.encode(s.sites)), keccak256(abi.encode(s.image, s.replicas, s.body))));
        vm.assertEq(registry.revisionHash(webId, 1), expected, "revisionHash");
        vm.assertEq(registry.revisionHash(webId, 2), bytes32(0), "no revision 2");
    }

    function test_Publish_AcceptsBoundarySpecs() public {
        vm.prank(admin);
        registry.setNamespaceLimits(NS, 5, 300);
        publishAs(deployer, spec(IMAGE, 5, ascendingSites(64), repeat("x", 300)));
        publishAs(deployer, spec(IMAGE, 0, new bytes32[](0), ""));
        publishAs(deployer, spec(string.concat("a", AT_DIGEST), 1, onlySite(siteB), "{}"));
        publishAs(deployer, spec(string.concat("ghcr.io/org_1/app-x.y", AT_DIGEST), 1, onlySite(siteB), "{}"));
        assertService(4, 4, 3, 4, 0);
    }

    function test_Publish_NewServiceAfterRemoveOfAnother() public {
        publishAs(deployer, typicalSpec());
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        vm.prank(deployer);
        vm.assertEq(registry.publish(NS, "api", s), 1, "each service counts its own revisions");
    }

    // ---------------------------------------------------------------- rollback and remove

    function test_Rollback_ToEarlierRevision() public {
        _publishThree();
        bytes memory call = abi.encodeCall(registry.rollback, (NS, SVC, 1));
        (uint64 seq, bytes24 head) = entryOf(deployer, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RolledBack(webId, 1, deployer, seq, head, 3, false);
        exec(deployer, call);
        assertService(3, 1, 3, 4, 0);
    }

    function test_Rollback_ToLaterRevision() public {
        _publishThree();
        vm.startPrank(deployer);
        registry.rollback(NS, SVC, 1);
        registry.rollback(NS, SVC, 2);
        vm.stopPrank();
        assertService(3, 2, 1, 5, 0);
    }

    function test_Rollback_RestoresRemovedService() public {
        _publishThree();
        vm.prank(deployer);
        registry.remove(NS, SVC);
        bytes memory call = abi.encodeCall(registry.rollback, (NS, SVC, 2));
        (uint64 seq, bytes24 head) = entryOf(deployer, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.RolledBack(webId, 2, deployer, seq, head, 0, false);
        exec(deployer, call);
        // Restoring from "absent" leaves nothing for a quorum to fall back to.
        assertService(3, 2, 0, 5, 0);
    }

    function test_Remove() public {
        _publishThree();
        bytes memory call = abi.encodeCall(registry.remove, (NS, SVC));
        (uint64 seq, bytes24 head) = entryOf(deployer, call);
        vm.expectEmit(address(registry));
        emit IDeploymentRegistry.ServiceRemoved(webId, deployer, seq, head, 3);
        exec(deployer, call);
        assertService(3, 0, 0, 4, 0);
        vm.assertEq(publishAs(deployer, typicalSpec()), 4, "publish after remove continues numbering");
        assertService(4, 4, 0, 5, 0);
    }

    // ---------------------------------------------------------------- who may deploy

    function test_RevertWhen_NamespaceFrozen() public {
        _publishThree();
        vm.prank(admin);
        registry.freezeNamespace(NS);
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.NamespaceFrozen.selector, NS);
        vm.startPrank(deployer);
        vm.expectRevert(err);
        registry.publish(NS, SVC, s);
        vm.expectRevert(err);
        registry.rollback(NS, SVC, 1);
        vm.expectRevert(err);
        registry.remove(NS, SVC);
        vm.stopPrank();
    }

    /// SURPRISING: `UnknownNamespace` (documented for publish) cannot be reached by publish, rollback
    /// or remove: the deployer-role check runs first, and nobody can hold the deployer role of a
    /// namespace that does not exist, so a typo in the namespace reads as an access error.
    function test_RevertWhen_DeployingToUnknownNamespace() public {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        bytes memory err = unauthorized(deployer, deployerRoleOf("nope"));
        vm.startPrank(deployer);
        vm.expectRevert(err);
        registry.publish("nope", SVC, s);
        vm.expectRevert(err);
        registry.rollback("nope", SVC, 1);
        vm.expectRevert(err);
        registry.remove("nope", SVC);
        vm.stopPrank();
    }

    function test_RevertWhen_CallerIsNotDeployerOfThatNamespace() public {
        address other = vm.addr(0xDE0);
        vm.startPrank(admin);
        registry.createNamespace("staging");
        registry.grantDeployer("staging", other);
        vm.stopPrank();
        publishAs(deployer, typicalSpec());
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        bytes32 prodRole = deployerRoleOf(NS);

        address[3] memory callers = [other, stranger, nodeA1];
        for (uint256 i; i < callers.length; ++i) {
            vm.startPrank(callers[i]);
            vm.expectRevert(unauthorized(callers[i], prodRole));
            registry.publish(NS, SVC, s);
            vm.expectRevert(unauthorized(callers[i], prodRole));
            registry.rollback(NS, SVC, 1);
            vm.expectRevert(unauthorized(callers[i], prodRole));
            registry.remove(NS, SVC);
            vm.stopPrank();
        }
    }

    // ---------------------------------------------------------------- spec checks

    /// @dev `repo:tag@sha256:...`, as `docker stack deploy` writes it: the digest pins, the tag is read by people.
    function test_ImageWithTagAndDigest_IsAccepted() public {
        string[4] memory images = [
            string.concat("nginx:1.25", AT_DIGEST),
            string.concat("reg:5000/app:1.0", AT_DIGEST),
            string.concat("reg/app:Latest_2.x-rc", AT_DIGEST),
            string.concat("reg:5000", AT_DIGEST) // repository "reg", tag "5000", as Docker reads it
        ];
        for (uint256 i; i < images.length; ++i) {
            publishAs(deployer, spec(images[i], 1, onlySite(siteA), ""));
        }
    }

    function test_RevertWhen_ImageTagInvalid() public {
        bytes4 sel = IDeploymentRegistry.InvalidImageRepository.selector;
        _expectPublishRevert(string.concat("nginx:", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("nginx:.hidden", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("nginx:-x", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("nginx:a+b", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("nginx:", string(repeat("a", 129)), AT_DIGEST), sel);
        _expectPublishRevert(string.concat("a:1:2", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("reg/a:1/b", AT_DIGEST), sel);
        publishAs(deployer, spec(string.concat("nginx:", string(repeat("a", 128)), AT_DIGEST), 1, onlySite(siteA), ""));
    }

    function test_RevertWhen_ImageNotPinnedByDigest() public {
        bytes4 sel = IDeploymentRegistry.ImageNotPinnedByDigest.selector;
        _expectPublishRevert("nginx:latest", sel);
        _expectPublishRevert(string.concat("nginx@sha256:", DIGEST, "0"), sel);
        _expectPublishRevert(string.concat("nginx@sha256:", "0", DIGEST), sel);
        _expectPublishRevert(string.concat("nginx@sha512:", DIGEST), sel);
        _expectPublishRevert(string.concat("nginx@SHA256:", DIGEST), sel);
        _expectPublishRevert("nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", sel);
        _expectPublishRevert("nginx@sha256:0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef", sel);
        // SURPRISING: an empty repository (the documented case of InvalidImageRepository) reads as unpinned.
        _expectPublishRevert(string.concat("@sha256:", DIGEST), sel);
        // 256 bytes: one over MAX_IMAGE_BYTES (also documented under InvalidImageRepository's "too long").
        _expectPublishRevert(string.concat(string(repeat("a", 256 - 72)), AT_DIGEST), sel);
        publishAs(deployer, spec(string.concat(string(repeat("a", 255 - 72)), AT_DIGEST), 1, onlySite(siteA), ""));
    }

    function test_RevertWhen_ImageRepositoryInvalid() public {
        bytes4 sel = IDeploymentRegistry.InvalidImageRepository.selector;
        _expectPublishRevert(string.concat("Nginx", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("ngi nx", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("/nginx", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("nginx/", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("a@b", AT_DIGEST), sel);
        _expectPublishRevert(string.concat("reg:5000/App:1.0", AT_DIGEST), sel);
    }

    function test_RevertWhen_TooManyReplicas() public {
        _expectSpecRevert(
            spec(IMAGE, 101, onlySite(siteA), ""),
            abi.encodeWithSelector(IDeploymentRegistry.TooManyReplicas.selector, 101, 100)
        );
        vm.prank(admin);
        registry.setNamespaceLimits(NS, 5, 1024);
        _expectSpecRevert(
            spec(IMAGE, 6, onlySite(siteA), ""),
            abi.encodeWithSelector(IDeploymentRegistry.TooManyReplicas.selector, 6, 5)
        );
    }

    function test_RevertWhen_SpecTooLarge() public {
        _expectSpecRevert(
            spec(IMAGE, 1, onlySite(siteA), repeat("x", 16 * 1024 + 1)),
            abi.encodeWithSelector(IDeploymentRegistry.SpecTooLarge.selector, 16 * 1024 + 1, 16 * 1024)
        );
    }

    function test_RevertWhen_PlacementInvalid() public {
        bytes32[] memory sites = bothSites();
        (sites[0], sites[1]) = (sites[1], sites[0]);
        _expectPlacementRevert(sites, 1);
        _expectPlacementRevert(_pair(siteA, siteA), 1);
        _expectPlacementRevert(onlySite(bytes32(0)), 0);
        _expectPlacementRevert(_pair(bytes32(0), siteA), 0);
        sites = ascendingSites(5);
        sites[3] = sites[2];
        _expectPlacementRevert(sites, 3);
        _expectPlacementRevert(ascendingSites(65), 64);
    }

    function test_Publish_ServiceNamesAsDockerStackDeployTakesThem() public {
        vm.startPrank(deployer);
        registry.publish(NS, "reverse_proxy", typicalSpec());
        registry.publish(NS, "alertmanagerB", typicalSpec());
        // "prod_" and the name make Swarm's 63-byte limit exactly.
        registry.publish(NS, string(repeat("w", 58)), typicalSpec());
        vm.stopPrank();
    }

    function test_RevertWhen_ServiceNameInvalid() public {
        string[7] memory names = ["", "web 1", "web.1", "-web", "web_", "_web", string(repeat("w", 59))];
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        vm.startPrank(deployer);
        for (uint256 i; i < names.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.InvalidName.selector, names[i]));
            registry.publish(NS, names[i], s);
        }
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- service and revision checks

    function test_RevertWhen_ServiceUnknown() public {
        bytes memory err = abi.encodeWithSelector(IDeploymentRegistry.UnknownService.selector, webId);
        vm.startPrank(deployer);
        vm.expectRevert(err);
        registry.rollback(NS, SVC, 1);
        vm.expectRevert(err);
        registry.remove(NS, SVC);
        vm.stopPrank();
    }

    function test_RevertWhen_RollbackToUnknownRevision() public {
        _publishThree();
        vm.startPrank(deployer);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownRevision.selector, webId, 0));
        registry.rollback(NS, SVC, 0);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.UnknownRevision.selector, webId, 4));
        registry.rollback(NS, SVC, 4);
        vm.stopPrank();
    }

    function test_RevertWhen_RollbackToActiveRevision() public {
        _publishThree();
        vm.startPrank(deployer);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AlreadyActive.selector, webId, 3));
        registry.rollback(NS, SVC, 3);
        registry.rollback(NS, SVC, 1);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.AlreadyActive.selector, webId, 1));
        registry.rollback(NS, SVC, 1);
        vm.stopPrank();
    }

    function test_RevertWhen_RemoveTwice() public {
        _publishThree();
        vm.startPrank(deployer);
        registry.remove(NS, SVC);
        vm.expectRevert(abi.encodeWithSelector(IDeploymentRegistry.ServiceAlreadyRemoved.selector, webId));
        registry.remove(NS, SVC);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- helpers

    function _publishThree() private {
        IDeploymentRegistry.ServiceSpec memory s = typicalSpec();
        for (uint32 i = 1; i <= 3; ++i) {
            s.replicas = i;
            publishAs(deployer, s);
        }
    }

    function _expectPublishRevert(string memory image, bytes4 selector) private {
        _expectSpecRevert(spec(image, 1, onlySite(siteA), ""), abi.encodeWithSelector(selector, image));
    }

    function _expectPlacementRevert(bytes32[] memory sites, uint256 index) private {
        _expectSpecRevert(
            spec(IMAGE, 1, sites, ""), abi.encodeWithSelector(IDeploymentRegistry.InvalidPlacement.selector, index)
        );
    }

    function _expectSpecRevert(IDeploymentRegistry.ServiceSpec memory s, bytes memory err) private {
        vm.prank(deployer);
        vm.expectRevert(err);
        registry.publish(NS, SVC, s);
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32[] memory sites) {
        sites = new bytes32[](2);
        (sites[0], sites[1]) = (a, b);
    }
}
