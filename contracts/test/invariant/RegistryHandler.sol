// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DeploymentRegistry} from "../../src/DeploymentRegistry.sol";
import {IDeploymentRegistry} from "../../src/IDeploymentRegistry.sol";
import {AuditReplay} from "../base/AuditReplay.sol";
import {Vm} from "../base/Vm.sol";

/// @notice Drives a registry with random calls from random actors (the admin, the deployer, edge
/// nodes, and a stranger with no role) and keeps a model of what each call must do. Every call's
/// outcome (success or revert) is predicted by the model first; a wrong prediction, a state change
/// by an actor without the role, or a counted double vote is recorded for the invariants to report.
contract RegistryHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal constant NS = "prod";
    string internal constant IMAGE =
        "127.0.0.1:5000/ledgerops/testapp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    uint256 internal constant NODES = 4;
    uint256 internal constant SERVICES = 2;

    /// The model of one service: what the registry's ServiceState must be.
    struct Service {
        uint32 count;
        uint32 active;
        uint32 previous;
        uint32 epoch;
        uint32 votes;
        /// The votes a rollback needs, fixed at the epoch's first vote (0 before it).
        uint32 needed;
    }

    /// The model of one node's record for one service.
    struct NodeRecord {
        uint32 revision;
        uint8 status;
        uint32 votedEpoch;
        /// The service epoch of the last attestation or vote.
        uint32 epoch;
    }

    DeploymentRegistry public immutable registry;
    address public immutable admin;
    address public immutable deployer;
    address public immutable stranger;
    address[NODES] public nodes;
    string[2] internal _siteNames = ["site-a", "site-b"];
    string[SERVICES] internal _serviceNames = ["web", "api"];

    // ---------------------------------------------------------------- the model
    mapping(bytes32 serviceId => Service) internal _services;
    mapping(bytes32 serviceId => mapping(uint32 revision => bytes32[] sites)) internal _placements;
    mapping(bytes32 serviceId => mapping(uint32 revision => bytes32 workload)) internal _workloads;
    mapping(bytes32 serviceId => mapping(address node => NodeRecord)) internal _records;
    mapping(bytes32 serviceId => mapping(uint32 epoch => mapping(address node => bool))) internal _voted;
    mapping(address node => uint256 siteIndexPlusOne) public nodeSiteOf;
    uint256[2] public siteCounts;
    bool public frozen;
    bool public deployerGranted = true;
    uint16 public quorumBps = 5000;
    /// keccak256 of the namespace's last policy set, 0 for the default.
    bytes32 public policyHash;

    // ---------------------------------------------------------------- ghost audit log and findings
    /// Entries the model says the registry has written.
    uint64 public expectedSeq;
    /// The chain replayed from the logs each call emitted, and how many entries it holds.
    uint64 public replayedSeq;
    bytes24 public replayedHead;
    /// Calls whose success or revert the model did not predict, and the last of them.
    uint256 public mispredictions;
    string public lastMisprediction;
    /// Logs whose own (seq, head) disagreed with the replay.
    uint256 public badLogs;
    /// Successful calls by an actor without the role for them.
    uint256 public unauthorizedChanges;
    /// Votes counted for a node that had already voted in that epoch.
    uint256 public doubleVotes;

    constructor(DeploymentRegistry registry_, address admin_, address deployer_, address stranger_) {
        (registry, admin, deployer, stranger) = (registry_, admin_, deployer_, stranger_);
        for (uint256 i; i < NODES; ++i) {
            nodes[i] = vm.addr(0x1000 + i);
        }
        // Three nodes to start with, two at site-a and one at site-b; runs add and remove more.
        for (uint256 i; i < 3; ++i) {
            vm.prank(admin);
            registry.addNode(nodes[i], _siteNames[i / 2]);
            nodeSiteOf[nodes[i]] = i / 2 + 1;
            siteCounts[i / 2] += 1;
        }
        // The entries so far (admin grant, namespace, deployer, nodes) are the trusted start.
        (expectedSeq, replayedHead) = registry.auditHead();
        replayedSeq = expectedSeq;
    }

    // ---------------------------------------------------------------- deployer actions

    function publish(uint256 actorSeed, uint256 serviceSeed, uint32 replicas, uint256 placementSeed) external {
        address actor = _deployerSideActor(actorSeed);
        (string memory name, bytes32 sId) = _service(serviceSeed);
        IDeploymentRegistry.ServiceSpec memory spec;
        spec.image = IMAGE;
        spec.replicas = replicas % 6;
        spec.sites = _placement(placementSeed);
        spec.body = abi.encodePacked('{"env":{"SEED":"', vm.toString(placementSeed % 1000), '"}}');
        bool authorized = actor == deployer && deployerGranted;
        Service storage s = _services[sId];
        uint64 entries = s.count == 0 ? 2 : 1;
        if (!_call("publish", actor, abi.encodeCall(registry.publish, (NS, name, spec)), authorized && !frozen)) {
            return;
        }
        _noteAuthorized(authorized);
        s.count += 1;
        (s.previous, s.active, s.epoch, s.votes, s.needed) = (s.active, s.count, s.epoch + 1, 0, 0);
        _placements[sId][s.count] = spec.sites;
        _workloads[sId][s.count] = keccak256(abi.encode(spec.image, spec.replicas, spec.body));
        expectedSeq += entries;
    }

    function rollback(uint256 actorSeed, uint256 serviceSeed, uint32 toRevision) external {
        address actor = _deployerSideActor(actorSeed);
        (string memory name, bytes32 sId) = _service(serviceSeed);
        Service storage s = _services[sId];
        toRevision = uint32(_mix(toRevision) % (s.count + 2));
        bool authorized = actor == deployer && deployerGranted;
        bool valid = s.count > 0 && toRevision >= 1 && toRevision <= s.count && toRevision != s.active;
        if (!_call(
                "rollback",
                actor,
                abi.encodeCall(registry.rollback, (NS, name, toRevision)),
                authorized && !frozen && valid
            )) {
            return;
        }
        _noteAuthorized(authorized);
        (s.previous, s.active, s.epoch, s.votes, s.needed) = (s.active, toRevision, s.epoch + 1, 0, 0);
        expectedSeq += 1;
    }

    /// @dev Goes ahead a third of the time: a removal ends the votes in progress.
    function remove(uint256 actorSeed, uint256 serviceSeed) external {
        if (uint256(keccak256(abi.encode(serviceSeed, "remove"))) % 3 != 0) return;
        address actor = _deployerSideActor(actorSeed);
        (string memory name, bytes32 sId) = _service(serviceSeed);
        Service storage s = _services[sId];
        bool authorized = actor == deployer && deployerGranted;
        bool valid = s.count > 0 && s.active != 0;
        if (!_call("remove", actor, abi.encodeCall(registry.remove, (NS, name)), authorized && !frozen && valid)) {
            return;
        }
        _noteAuthorized(authorized);
        (s.previous, s.active, s.epoch, s.votes, s.needed) = (0, 0, s.epoch + 1, 0, 0);
        expectedSeq += 1;
    }

    // ---------------------------------------------------------------- node actions

    /// @dev Reports on the active revision most of the time, on another one otherwise; sometimes
    /// with status None.
    function attest(uint256 actorSeed, uint256 serviceSeed, uint32 revisionSeed, uint8 status) external {
        (address actor, uint256 siteIndex) = _nodeSideActor(actorSeed);
        (, bytes32 sId) = _service(serviceSeed);
        uint256 mixed = _mix(revisionSeed);
        uint32 revision = mixed % 4 == 0 ? uint32(mixed % (_services[sId].count + 2)) : _services[sId].active;
        status = _mix(status) % 10 == 0 ? 0 : uint8(1 + _mix(status) % 3);
        bool authorized = _hasSiteRole(actor, siteIndex);
        bool valid = _attestValid(sId, revision, _site(siteIndex), status, actor);
        bytes memory data = _attestCall(sId, revision, _site(siteIndex), status);
        if (!_call("attest", actor, data, authorized && valid)) return;
        _noteAuthorized(authorized);
        NodeRecord storage mine = _records[sId][actor];
        (mine.revision, mine.status, mine.epoch) = (revision, status, _services[sId].epoch);
        expectedSeq += 1;
    }

    /// @dev A real status, on the active revision, from a site in its placement, once per activation.
    function _attestValid(bytes32 sId, uint32 revision, bytes32 site, uint8 status, address actor)
        internal
        view
        returns (bool)
    {
        Service memory s = _services[sId];
        bytes32[] memory sites = _placements[sId][revision];
        return status != 0 && s.count > 0 && revision != 0 && revision == s.active
            && (sites.length == 0 || _contains(sites, site)) && _firstOrRecovery(_records[sId][actor], s.epoch, status);
    }

    /// @dev The node's first report on this activation, or its one recovery (failed, then converged).
    function _firstOrRecovery(NodeRecord memory mine, uint32 epoch, uint8 status) internal pure returns (bool) {
        return mine.epoch != epoch || (mine.status == 2 && status == 1);
    }

    function _attestCall(bytes32 sId, uint32 revision, bytes32 site, uint8 status)
        internal
        view
        returns (bytes memory)
    {
        IDeploymentRegistry.AttestationStatus st = IDeploymentRegistry.AttestationStatus(status);
        bytes32[] memory sites = _placements[sId][revision];
        return abi.encodeCall(registry.attest, (sId, revision, site, sites, _workloads[sId][revision], st, "converged"));
    }

    /// @dev Votes against the active revision most of the time, against another one otherwise.
    function voteRollback(uint256 actorSeed, uint256 serviceSeed, uint32 revisionSeed) external {
        (address actor, uint256 siteIndex) = _nodeSideActor(actorSeed);
        bytes32 site = _site(siteIndex);
        (, bytes32 sId) = _service(serviceSeed);
        Service memory s = _services[sId];
        uint256 mixed = _mix(revisionSeed);
        uint32 revision = mixed % 5 == 0 ? uint32(mixed % (s.count + 2)) : s.active;
        bytes32[] memory sites = _placements[sId][revision];
        bool authorized = _hasSiteRole(actor, siteIndex);
        bool valid = s.count > 0 && revision != 0 && revision == s.active && s.previous != 0
            && _records[sId][actor].votedEpoch != s.epoch && (sites.length == 0 || _contains(sites, site));
        bytes memory data =
            abi.encodeCall(registry.voteRollback, (sId, revision, site, sites, _workloads[sId][revision], "failed"));
        if (!_call("voteRollback", actor, data, authorized && valid)) return;
        _noteAuthorized(authorized);

        if (_voted[sId][s.epoch][actor]) doubleVotes += 1;
        _voted[sId][s.epoch][actor] = true;
        NodeRecord storage mine = _records[sId][actor];
        (mine.revision, mine.status, mine.votedEpoch, mine.epoch) = (revision, 2, s.epoch, s.epoch);
        uint256 eligible = sites.length == 0 ? siteCounts[0] + siteCounts[1] : _eligible(sites);
        uint32 votes = s.votes + 1;
        uint32 needed = s.needed != 0 ? s.needed : uint32(eligible * quorumBps / 10_000 + 1);
        Service storage live = _services[sId];
        if (votes < needed) {
            (live.votes, live.needed) = (votes, needed);
            expectedSeq += 1;
        } else {
            (live.active, live.previous, live.epoch, live.votes, live.needed) = (s.previous, 0, s.epoch + 1, 0, 0);
            expectedSeq += 2;
        }
    }

    // ---------------------------------------------------------------- admin actions
    // Fewer entry points than calls, so that forge spends most of a run on deploys and votes.

    /// @dev Freezes or unfreezes the namespace, revokes or grants the deployer, sets the quorum, or
    /// sets a policy (of up to 5,000 bytes, some over the bound; empty restores the default).
    /// Freezing and revoking are drawn a quarter of the time, so that deploys go on most of a run.
    function administer(uint256 actorSeed, uint8 kind, uint16 value) external {
        address actor = _adminSideActor(actorSeed);
        bool isAdmin = actor == admin;
        if (kind % 4 == 3) {
            bytes memory policy = new bytes(value % 5000);
            for (uint256 i; i < policy.length; ++i) {
                policy[i] = bytes1(uint8(0x61 + (value + i) % 26));
            }
            bool fits = policy.length <= registry.MAX_POLICY_BYTES();
            bytes memory data = abi.encodeCall(registry.setNamespacePolicy, (NS, policy));
            if (!_call("setNamespacePolicy", actor, data, isAdmin && fits)) return;
            policyHash = policy.length == 0 ? bytes32(0) : keccak256(policy);
        } else if (kind % 3 == 0) {
            bool freeze = _mix(value) % 4 == 0;
            bytes memory data = freeze
                ? abi.encodeCall(registry.freezeNamespace, (NS))
                : abi.encodeCall(registry.unfreezeNamespace, (NS));
            if (!_call("setFrozen", actor, data, isAdmin && frozen != freeze)) return;
            frozen = freeze;
        } else if (kind % 3 == 1) {
            bool grant = _mix(value) % 4 != 0;
            bytes memory data = grant
                ? abi.encodeCall(registry.grantDeployer, (NS, deployer))
                : abi.encodeCall(registry.revokeDeployer, (NS, deployer));
            if (!_call("setDeployer", actor, data, isAdmin && deployerGranted != grant)) return;
            deployerGranted = grant;
        } else {
            uint16 bps = uint16(value % 10_500);
            if (!_call(
                    "setQuorum", actor, abi.encodeCall(registry.setQuorum, (bps)), isAdmin && bps != 0 && bps < 10_000
                )) {
                return;
            }
            quorumBps = bps;
        }
        _noteAuthorized(isAdmin);
        expectedSeq += 1;
    }

    /// @dev Adds an unregistered node at a site; removes a registered one a third of the time.
    function changeNode(uint256 actorSeed, uint256 nodeSeed, uint256 siteSeed) external {
        address actor = _adminSideActor(actorSeed);
        address node = nodes[nodeSeed % NODES];
        uint256 site = nodeSiteOf[node];
        if (site == 0 || siteSeed % 3 != 0) {
            bytes memory data = abi.encodeCall(registry.addNode, (node, _siteNames[siteSeed % 2]));
            if (!_call("addNode", actor, data, actor == admin && site == 0)) return;
            nodeSiteOf[node] = siteSeed % 2 + 1;
            siteCounts[siteSeed % 2] += 1;
        } else {
            if (!_call("removeNode", actor, abi.encodeCall(registry.removeNode, (node)), actor == admin)) return;
            nodeSiteOf[node] = 0;
            siteCounts[site - 1] -= 1;
        }
        _noteAuthorized(actor == admin);
        expectedSeq += 1;
    }

    // ---------------------------------------------------------------- views for the invariants

    function serviceId(uint256 index) external view returns (bytes32) {
        return registry.serviceId(NS, _serviceNames[index]);
    }

    function service(bytes32 sId) external view returns (Service memory) {
        return _services[sId];
    }

    function record(bytes32 sId, address node) external view returns (NodeRecord memory) {
        return _records[sId][node];
    }

    function siteId(uint256 index) external view returns (bytes32) {
        return keccak256(bytes(_siteNames[index]));
    }

    // ---------------------------------------------------------------- internals

    /// @dev Makes the call as `actor`, replays the audit entries it logged, and records a
    /// misprediction when its outcome differs from `expectOk`. Returns whether it succeeded.
    function _call(string memory action, address actor, bytes memory data, bool expectOk) internal returns (bool ok) {
        vm.recordLogs();
        vm.prank(actor);
        bytes memory ret;
        (ok, ret) = address(registry).call(data);
        _replay(vm.getRecordedLogs());
        if (ok != expectOk) {
            mispredictions += 1;
            lastMisprediction = string.concat(action, ok ? ": succeeded" : ": reverted");
        }
        ret;
    }

    function _replay(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (!AuditReplay.isEntry(logs[i], address(registry))) continue;
            replayedSeq += 1;
            replayedHead = AuditReplay.next(replayedHead, replayedSeq, logs[i]);
            (uint64 seq, bytes24 head) = AuditReplay.logged(logs[i]);
            if (seq != replayedSeq || head != replayedHead) badLogs += 1;
        }
    }

    function _noteAuthorized(bool authorized) internal {
        if (!authorized) unauthorizedChanges += 1;
    }

    /// @dev Spreads a fuzzed value evenly: forge draws 0 and other edge values far more often.
    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed)));
    }

    function _deployerSideActor(uint256 seed) internal view returns (address) {
        seed = _mix(seed);
        uint256 pick = seed % 8;
        if (pick < 5) return deployer;
        if (pick == 5) return stranger;
        if (pick == 6) return admin;
        return nodes[seed % NODES];
    }

    /// @dev Mostly a node acting for its own site; sometimes for the other site, or the stranger.
    function _nodeSideActor(uint256 seed) internal view returns (address actor, uint256 siteIndex) {
        seed = _mix(seed);
        actor = seed % 9 == 0 ? stranger : nodes[(seed / 9) % NODES];
        uint256 own = nodeSiteOf[actor];
        siteIndex = own == 0 || seed % 9 == 1 ? (seed / 64) % 2 : own - 1;
    }

    function _adminSideActor(uint256 seed) internal view returns (address) {
        seed = _mix(seed);
        uint256 pick = seed % 6;
        if (pick < 4) return admin;
        return pick == 4 ? stranger : deployer;
    }

    function _service(uint256 seed) internal view returns (string memory name, bytes32 sId) {
        name = _serviceNames[seed % SERVICES];
        sId = registry.serviceId(NS, name);
    }

    function _site(uint256 seed) internal view returns (bytes32) {
        return keccak256(bytes(_siteNames[seed % 2]));
    }

    function _hasSiteRole(address actor, uint256 siteIndex) internal view returns (bool) {
        return nodeSiteOf[actor] == siteIndex + 1;
    }

    /// @dev No sites, one site, or both in ascending order.
    function _placement(uint256 seed) internal view returns (bytes32[] memory sites) {
        (bytes32 a, bytes32 b) = (_site(0), _site(1));
        if (a > b) (a, b) = (b, a);
        uint256 shape = seed % 4;
        if (shape == 0) return new bytes32[](0);
        sites = new bytes32[](shape == 3 ? 2 : 1);
        if (shape == 1) sites[0] = a;
        if (shape == 2) sites[0] = b;
        if (shape == 3) (sites[0], sites[1]) = (a, b);
    }

    function _eligible(bytes32[] memory sites) internal view returns (uint256 eligible) {
        for (uint256 i; i < sites.length; ++i) {
            eligible += siteCounts[sites[i] == _site(0) ? 0 : 1];
        }
    }

    function _contains(bytes32[] memory sites, bytes32 site) internal pure returns (bool) {
        for (uint256 i; i < sites.length; ++i) {
            if (sites[i] == site) return true;
        }
        return false;
    }
}
