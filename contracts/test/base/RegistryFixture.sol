// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DeploymentRegistry} from "../../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../../src/IDeploymentRegistry.sol";
import {TestBase} from "./TestBase.sol";

/// @notice A registry with one namespace, one deployer and three nodes on two sites, plus spec builders.
abstract contract RegistryFixture is TestBase {
    DeploymentRegistry internal registry;

    address internal admin = vm.addr(0xA11CE);
    address internal deployer = vm.addr(0xDE9);
    address internal stranger = vm.addr(0xBAD);
    address internal nodeA1 = vm.addr(0xA1);
    address internal nodeA2 = vm.addr(0xA2);
    address internal nodeB1 = vm.addr(0xB1);

    /// The wait between the start of an admin transfer and its acceptance.
    uint48 internal constant ADMIN_DELAY = 2 days;

    string internal constant NS = "prod";
    string internal constant SVC = "web";
    bytes32 internal siteA = keccak256("site-a");
    bytes32 internal siteB = keccak256("site-b");
    bytes32 internal webId;

    string internal constant DIGEST = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    string internal constant IMAGE =
        "127.0.0.1:5000/ledgerops/testapp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    function setUp() public virtual {
        registry = new DeploymentRegistry(admin, ADMIN_DELAY);
        vm.startPrank(admin);
        registry.createNamespace(NS);
        registry.grantDeployer(NS, deployer);
        registry.addNode(nodeA1, "site-a");
        registry.addNode(nodeA2, "site-a");
        registry.addNode(nodeB1, "site-b");
        vm.stopPrank();
        webId = registry.serviceId(NS, SVC);
    }

    /// @dev A typical spec of about 300 bytes (a 104-byte image and a 196-byte body), placed on site-a.
    function typicalSpec() internal view returns (IDeploymentRegistry.ServiceSpec memory) {
        return spec(IMAGE, 3, onlySite(siteA), typicalBody());
    }

    function typicalBody() internal pure returns (bytes memory) {
        return bytes(
            '{"command":["httpd","-f","-p","8080"],"env":{"LOG_LEVEL":"info"},'
            '"ports":[{"target":8080,"published":8080}],"secrets":["tls-cert"],'
            '"update":{"parallelism":1,"delay":"10s","failure_action":"rollback"}}'
        );
    }

    /// @dev A body of about 3 KB: the typical one plus many environment variables.
    function largeBody() internal pure returns (bytes memory body) {
        body = bytes('{"env":{');
        for (uint256 i; i < 100; ++i) {
            body = abi.encodePacked(body, i == 0 ? "" : ",", '"FEATURE_FLAG_', _digits(i), '":"enabled-value"');
        }
        body = abi.encodePacked(body, "}}");
    }

    function spec(string memory image, uint32 replicas, bytes32[] memory sites, bytes memory body)
        internal
        pure
        returns (IDeploymentRegistry.ServiceSpec memory s)
    {
        s.image = image;
        s.replicas = replicas;
        s.sites = sites;
        s.body = body;
    }

    function onlySite(bytes32 site) internal pure returns (bytes32[] memory sites) {
        sites = new bytes32[](1);
        sites[0] = site;
    }

    function bothSites() internal view returns (bytes32[] memory sites) {
        sites = new bytes32[](2);
        (sites[0], sites[1]) = siteA < siteB ? (siteA, siteB) : (siteB, siteA);
    }

    function workloadHash(IDeploymentRegistry.ServiceSpec memory s) internal pure returns (bytes32) {
        return keccak256(abi.encode(s.image, s.replicas, s.body));
    }

    function specHash(IDeploymentRegistry.ServiceSpec memory s) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(abi.encode(s.sites)), workloadHash(s)));
    }

    /// @dev Publishes as the fixture's deployer and returns the new revision.
    function publishAs(address who, IDeploymentRegistry.ServiceSpec memory s) internal returns (uint32) {
        vm.prank(who);
        return registry.publish(NS, SVC, s);
    }

    /// @dev `node` of `site` reports `status` on revision `revision` of web, whose spec is `s`.
    function attestAs(
        address node,
        bytes32 site,
        uint32 revision,
        IDeploymentRegistry.ServiceSpec memory s,
        IDeploymentRegistry.AttestationStatus status,
        string memory reason
    ) internal {
        vm.prank(node);
        registry.attest(webId, revision, site, s.sites, workloadHash(s), status, reason);
    }

    function _digits(uint256 n) internal pure returns (bytes memory) {
        if (n == 0) return "0";
        bytes memory out;
        while (n > 0) {
            // A digit is 48-57: it fits a byte.
            // forge-lint: disable-next-line(unsafe-typecast)
            out = abi.encodePacked(bytes1(uint8(48 + n % 10)), out);
            n /= 10;
        }
        return out;
    }
}
