// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl, IAccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {AuditLog} from "./AuditLog.sol";
import {IDeploymentRegistry} from "./IDeploymentRegistry.sol";
import {SpecRules} from "./SpecRules.sol";

/// @title DeploymentRegistry
/// @notice The source of truth of ledgerops: the desired state of every service, who may change it,
/// and what the edge nodes report. See docs/contracts.md.
/// @dev Roles (OpenZeppelin AccessControlEnumerable and AccessControlDefaultAdminRules):
///  - DEFAULT_ADMIN_ROLE: creates namespaces, grants deployers, registers nodes, sets quorum. One
///    account holds it; it moves only in two steps (`beginDefaultAdminTransfer`, then
///    `acceptDefaultAdminTransfer` by the new admin once `defaultAdminDelay` has passed, which
///    leaves the fleet time to notice a stolen admin key), and it is never renounced.
///  - deployerRole(namespaceId): publishes, rolls back and removes services of one namespace.
///  - siteRole(siteId): edge nodes of one site; the member count is the site's vote weight.
/// Scoped roles change only through the functions below, so that each change is one audit entry.
/// Bulky spec data lives in event data; storage keeps a 32-byte commitment per revision.
contract DeploymentRegistry is IDeploymentRegistry, AccessControlDefaultAdminRules, AccessControlEnumerable, AuditLog {
    /// Free-text reasons in attestations and votes are capped to keep logs small.
    uint256 public constant MAX_REASON_BYTES = 256;
    /// Bounds an admin may set per namespace.
    uint32 public constant HARD_MAX_REPLICAS = 10_000;
    uint32 public constant HARD_MAX_SPEC_BYTES = 128 * 1024;
    /// A namespace policy lists permission words and object names: a few hundred bytes in practice.
    uint256 public constant MAX_POLICY_BYTES = 4096;
    /// Ceilings of a new namespace.
    uint32 public constant DEFAULT_MAX_REPLICAS = 100;
    uint32 public constant DEFAULT_MAX_SPEC_BYTES = 16 * 1024;
    /// A strict majority.
    uint16 public constant DEFAULT_QUORUM_BPS = 5000;

    /// @dev Registry-wide settings, packed in one slot read by every vote.
    struct Config {
        uint16 quorumBps;
        uint32 nodeCount;
    }

    /// @inheritdoc IDeploymentRegistry
    uint64 public immutable deployBlock;

    Config private _config;
    mapping(bytes32 namespaceId => Namespace) private _namespaces;
    mapping(bytes32 serviceId => ServiceState) private _services;
    mapping(bytes32 serviceId => mapping(uint32 revision => bytes32 specHash)) private _revisions;
    mapping(bytes32 serviceId => mapping(address node => NodeServiceState)) private _nodeStates;
    mapping(address node => bytes32 siteId) private _nodeSites;
    /// @dev Apart from `Namespace` so that publishing, which reads that struct, stays one slot.
    mapping(bytes32 namespaceId => bytes32 policyHash) private _policyHashes;

    /// @param admin The first admin (in production a multisig or a timelock).
    /// @param adminDelay Seconds between the start of an admin transfer and its acceptance.
    constructor(address admin, uint48 adminDelay) AccessControlDefaultAdminRules(adminDelay, admin) {
        deployBlock = uint64(block.number);
        _config.quorumBps = DEFAULT_QUORUM_BPS;
        _recordAccess(DEFAULT_ADMIN_ROLE, admin, true);
    }

    // ---------------------------------------------------------------- ids and roles

    /// @notice keccak256 of the namespace name.
    function namespaceId(string calldata namespace) public pure returns (bytes32) {
        return keccak256(bytes(namespace));
    }

    /// @notice keccak256("namespace/name"): what nodes and events use to name a service.
    function serviceId(string calldata namespace, string calldata name) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(namespace, "/", name));
    }

    /// @notice keccak256 of the site label.
    function siteId(string calldata site) public pure returns (bytes32) {
        return keccak256(bytes(site));
    }

    /// @notice The role that may deploy to one namespace.
    function deployerRole(bytes32 nsId) public pure returns (bytes32) {
        return keccak256(abi.encode("ledgerops.deployer", nsId));
    }

    /// @notice The role held by the nodes of one site.
    function siteRole(bytes32 site) public pure returns (bytes32) {
        return keccak256(abi.encode("ledgerops.site", site));
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IDeploymentRegistry
    function createNamespace(string calldata namespace) external onlyRole(DEFAULT_ADMIN_ROLE) {
        SpecRules.requireValidName(namespace);
        bytes32 nsId = namespaceId(namespace);
        Namespace storage ns = _namespaces[nsId];
        if (ns.exists) revert NamespaceExists(namespace);
        (ns.exists, ns.maxReplicas, ns.maxSpecBytes) = (true, DEFAULT_MAX_REPLICAS, DEFAULT_MAX_SPEC_BYTES);
        _record(
            _topics(NamespaceCreated.selector, nsId),
            abi.encode(0, bytes24(0), namespace, DEFAULT_MAX_REPLICAS, DEFAULT_MAX_SPEC_BYTES)
        );
    }

    /// @inheritdoc IDeploymentRegistry
    function setNamespaceLimits(string calldata namespace, uint32 maxReplicas, uint32 maxSpecBytes)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (
            maxReplicas == 0 || maxReplicas > HARD_MAX_REPLICAS || maxSpecBytes == 0
                || maxSpecBytes > HARD_MAX_SPEC_BYTES
        ) {
            revert InvalidLimits(maxReplicas, maxSpecBytes);
        }
        (bytes32 nsId, Namespace storage ns) = _existingNamespace(namespace);
        (ns.maxReplicas, ns.maxSpecBytes) = (maxReplicas, maxSpecBytes);
        _record(_topics(NamespaceLimitsSet.selector, nsId), abi.encode(0, bytes24(0), maxReplicas, maxSpecBytes));
    }

    /// @inheritdoc IDeploymentRegistry
    function setNamespacePolicy(string calldata namespace, bytes calldata policy)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (policy.length > MAX_POLICY_BYTES) {
            revert PolicyTooLarge(policy.length, MAX_POLICY_BYTES);
        }
        (bytes32 nsId,) = _existingNamespace(namespace);
        bytes32 policyHash = policy.length == 0 ? bytes32(0) : keccak256(policy);
        _policyHashes[nsId] = policyHash;
        _record(_topics(NamespacePolicySet.selector, nsId), abi.encode(0, bytes24(0), policyHash, policy));
    }

    /// @inheritdoc IDeploymentRegistry
    function freezeNamespace(string calldata namespace) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFrozen(namespace, true);
    }

    /// @inheritdoc IDeploymentRegistry
    function unfreezeNamespace(string calldata namespace) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFrozen(namespace, false);
    }

    /// @inheritdoc IDeploymentRegistry
    function grantDeployer(string calldata namespace, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDeployer(namespace, account, true);
    }

    /// @inheritdoc IDeploymentRegistry
    function revokeDeployer(string calldata namespace, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDeployer(namespace, account, false);
    }

    /// @inheritdoc IDeploymentRegistry
    function addNode(address node, string calldata site) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (node == address(0)) revert ZeroAddress();
        SpecRules.requireValidName(site);
        if (_nodeSites[node] != bytes32(0)) revert NodeAlreadyRegistered(node);
        bytes32 sId = siteId(site);
        _nodeSites[node] = sId;
        _config.nodeCount += 1;
        _grantRole(siteRole(sId), node);
        _record(_topics(NodeAdded.selector, _word(node), sId), abi.encode(0, bytes24(0), site));
    }

    /// @inheritdoc IDeploymentRegistry
    function removeNode(address node) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _removeNode(node);
    }

    /// @inheritdoc IDeploymentRegistry
    function setQuorum(uint16 newQuorumBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newQuorumBps == 0 || newQuorumBps >= 10_000) revert InvalidQuorum(newQuorumBps);
        _config.quorumBps = newQuorumBps;
        _record(_topics(QuorumSet.selector), abi.encode(0, bytes24(0), newQuorumBps));
    }

    /// @notice Completes an admin transfer (the pending admin, once the delay passed); one audit
    /// entry for the admin that leaves and one for the admin that comes.
    function acceptDefaultAdminTransfer() public override {
        address previous = defaultAdmin();
        super.acceptDefaultAdminTransfer();
        _recordAccess(DEFAULT_ADMIN_ROLE, previous, false);
        _recordAccess(DEFAULT_ADMIN_ROLE, _msgSender(), true);
    }

    /// @notice Refused: the admin role moves only by `beginDefaultAdminTransfer`, and scoped roles
    /// only through the registry's functions, so that each change is one audit entry.
    function grantRole(bytes32 role, address)
        public
        pure
        override(AccessControlDefaultAdminRules, AccessControl, IAccessControl)
    {
        _refuseGenericRoleChange(role);
    }

    /// @notice Refused, as `grantRole`.
    function revokeRole(bytes32 role, address)
        public
        pure
        override(AccessControlDefaultAdminRules, AccessControl, IAccessControl)
    {
        _refuseGenericRoleChange(role);
    }

    /// @notice Gives up a role held by the caller: a compromised deployer or node key can disable
    /// itself at once. A node renouncing its site role is removed as a node. The admin cannot
    /// leave (a registry without an admin could never register a node or revoke a stolen deployer
    /// key again): it hands over with `beginDefaultAdminTransfer`.
    function renounceRole(bytes32 role, address callerConfirmation)
        public
        override(AccessControlDefaultAdminRules, AccessControl, IAccessControl)
    {
        if (role == DEFAULT_ADMIN_ROLE) revert AdminCannotLeave();
        bytes32 site = _nodeSites[callerConfirmation];
        if (site != bytes32(0) && role == siteRole(site) && callerConfirmation == _msgSender()) {
            _removeNode(callerConfirmation);
            return;
        }
        if (!hasRole(role, callerConfirmation)) revert RoleUnchanged(role, callerConfirmation);
        super.renounceRole(role, callerConfirmation);
        _recordAccess(role, callerConfirmation, false);
    }

    /// @inheritdoc AccessControlDefaultAdminRules
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRules, AccessControlEnumerable)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    function _setRoleAdmin(bytes32 role, bytes32 adminRole)
        internal
        override(AccessControlDefaultAdminRules, AccessControl)
    {
        super._setRoleAdmin(role, adminRole);
    }

    function _grantRole(bytes32 role, address account)
        internal
        override(AccessControlDefaultAdminRules, AccessControlEnumerable)
        returns (bool)
    {
        return super._grantRole(role, account);
    }

    function _revokeRole(bytes32 role, address account)
        internal
        override(AccessControlDefaultAdminRules, AccessControlEnumerable)
        returns (bool)
    {
        return super._revokeRole(role, account);
    }

    // ---------------------------------------------------------------- deployers

    /// @inheritdoc IDeploymentRegistry
    function publish(string calldata namespace, string calldata name, ServiceSpec calldata spec)
        external
        returns (uint32 revision)
    {
        bytes32 nsId = namespaceId(namespace);
        Namespace memory ns = _deployableNamespace(namespace, nsId);
        SpecRules.requireValidImage(spec.image);
        if (spec.replicas > ns.maxReplicas) revert TooManyReplicas(spec.replicas, ns.maxReplicas);
        if (spec.body.length > ns.maxSpecBytes) revert SpecTooLarge(spec.body.length, ns.maxSpecBytes);
        SpecRules.requireValidPlacement(spec.sites);

        bytes32 sId = serviceId(namespace, name);
        ServiceState memory st = _services[sId];
        if (st.revisionCount == 0) {
            SpecRules.requireValidServiceName(namespace, name);
            _record(_topics(ServiceCreated.selector, sId, nsId), abi.encode(0, bytes24(0), namespace, name));
        }
        revision = st.revisionCount + 1;
        _revisions[sId][revision] = SpecRules.specHash(spec);
        _services[sId] = ServiceState({
            revisionCount: revision,
            activeRevision: revision,
            previousRevision: st.activeRevision,
            epoch: st.epoch + 1,
            votes: 0,
            votesNeeded: 0
        });
        _record(
            _topics(RevisionPublished.selector, sId, bytes32(uint256(revision)), _word(msg.sender)),
            abi.encode(0, bytes24(0), spec)
        );
    }

    /// @inheritdoc IDeploymentRegistry
    function rollback(string calldata namespace, string calldata name, uint32 toRevision) external {
        _deployableNamespace(namespace, namespaceId(namespace));
        bytes32 sId = serviceId(namespace, name);
        ServiceState memory st = _existingService(sId);
        if (toRevision == 0 || toRevision > st.revisionCount) revert UnknownRevision(sId, toRevision);
        if (toRevision == st.activeRevision) revert AlreadyActive(sId, toRevision);
        _activate(sId, st, toRevision, st.activeRevision);
        _record(
            _topics(RolledBack.selector, sId, bytes32(uint256(toRevision)), _word(msg.sender)),
            abi.encode(0, bytes24(0), st.activeRevision, false)
        );
    }

    /// @inheritdoc IDeploymentRegistry
    function remove(string calldata namespace, string calldata name) external {
        _deployableNamespace(namespace, namespaceId(namespace));
        bytes32 sId = serviceId(namespace, name);
        ServiceState memory st = _existingService(sId);
        if (st.activeRevision == 0) revert ServiceAlreadyRemoved(sId);
        _activate(sId, st, 0, 0);
        _record(_topics(ServiceRemoved.selector, sId, _word(msg.sender)), abi.encode(0, bytes24(0), st.activeRevision));
    }

    // ---------------------------------------------------------------- nodes

    /// @inheritdoc IDeploymentRegistry
    function attest(
        bytes32 sId,
        uint32 revision,
        bytes32 site,
        bytes32[] calldata sites,
        bytes32 workload,
        AttestationStatus status,
        string calldata reason
    ) external onlyRole(siteRole(site)) {
        if (status == AttestationStatus.None) revert InvalidStatus();
        _requireShortReason(reason);
        ServiceState memory st = _existingService(sId);
        _requireActiveCommitment(sId, st, revision, sites, workload);
        if (sites.length != 0 && !_targets(sites, site)) revert SiteNotInPlacement(site);
        NodeServiceState storage mine = _nodeStates[sId][msg.sender];
        // One report per activation, and one correction: a node that failed (a missing registry
        // login, say) and then converged says so once. Nothing else follows a report.
        bool recovered = mine.status == AttestationStatus.Failed && status == AttestationStatus.Converged;
        if (mine.reportedEpoch == st.epoch && !recovered) revert AlreadyAttested(sId, revision, mine.status);
        (mine.revision, mine.status, mine.reportedEpoch) = (revision, status, st.epoch);
        _record(
            _topics(Attested.selector, sId, bytes32(uint256(revision)), _word(msg.sender)),
            abi.encode(0, bytes24(0), site, status, reason)
        );
    }

    /// @inheritdoc IDeploymentRegistry
    function voteRollback(
        bytes32 sId,
        uint32 revision,
        bytes32 site,
        bytes32[] calldata sites,
        bytes32 workload,
        string calldata reason
    ) external onlyRole(siteRole(site)) {
        _requireShortReason(reason);
        ServiceState memory st = _existingService(sId);
        _requireActiveCommitment(sId, st, revision, sites, workload);
        if (st.previousRevision == 0) revert NothingToRollBackTo(sId);
        NodeServiceState storage mine = _nodeStates[sId][msg.sender];
        if (mine.votedEpoch == st.epoch) revert AlreadyVoted(sId, revision, msg.sender);
        (mine.revision, mine.status, mine.votedEpoch, mine.reportedEpoch) =
        (revision, AttestationStatus.Failed, st.epoch, st.epoch);

        (uint32 votes, uint32 needed) = _tally(st, sites, site);
        _recordVote(sId, revision, site, votes, needed, reason);
        if (votes < needed) {
            _keepVotes(sId, votes, needed);
            return;
        }
        _activate(sId, st, st.previousRevision, 0);
        _record(
            _topics(RolledBack.selector, sId, bytes32(uint256(st.previousRevision)), _word(msg.sender)),
            abi.encode(0, bytes24(0), revision, true)
        );
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDeploymentRegistry
    function auditHead() external view returns (uint64 seq, bytes24 head) {
        return _auditHead();
    }

    /// @inheritdoc IDeploymentRegistry
    function serviceState(bytes32 sId) external view returns (ServiceState memory) {
        return _services[sId];
    }

    /// @inheritdoc IDeploymentRegistry
    function revisionHash(bytes32 sId, uint32 revision) external view returns (bytes32) {
        return _revisions[sId][revision];
    }

    /// @inheritdoc IDeploymentRegistry
    function namespaceInfo(string calldata namespace) external view returns (Namespace memory) {
        return _namespaces[namespaceId(namespace)];
    }

    /// @inheritdoc IDeploymentRegistry
    function namespacePolicyHash(bytes32 nsId) external view returns (bytes32) {
        return _policyHashes[nsId];
    }

    /// @inheritdoc IDeploymentRegistry
    function nodeServiceState(bytes32 sId, address node) external view returns (NodeServiceState memory) {
        return _nodeStates[sId][node];
    }

    /// @inheritdoc IDeploymentRegistry
    function nodeSite(address node) external view returns (bytes32) {
        return _nodeSites[node];
    }

    /// @inheritdoc IDeploymentRegistry
    function siteNodeCount(bytes32 site) public view returns (uint256) {
        return getRoleMemberCount(siteRole(site));
    }

    /// @inheritdoc IDeploymentRegistry
    function nodeCount() external view returns (uint32) {
        return _config.nodeCount;
    }

    /// @inheritdoc IDeploymentRegistry
    function quorumBps() external view returns (uint16) {
        return _config.quorumBps;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Makes `to` active (0 = removed), starting a new voting epoch.
    function _activate(bytes32 sId, ServiceState memory st, uint32 to, uint32 previous) private {
        _services[sId] = ServiceState({
            revisionCount: st.revisionCount,
            activeRevision: to,
            previousRevision: previous,
            epoch: st.epoch + 1,
            votes: 0,
            votesNeeded: 0
        });
    }

    /// @dev Keeps the votes cast so far and the votes needed, in the service's one state slot.
    function _keepVotes(bytes32 sId, uint32 votes, uint32 needed) private {
        ServiceState storage st = _services[sId];
        (st.votes, st.votesNeeded) = (votes, needed);
    }

    /// @dev This vote's count and the count the quorum needs among the nodes serving the placement:
    /// counted at the epoch's first vote and kept, so that voters who leave afterwards (or a quorum
    /// change) cannot lower it for the votes that follow. The voter's site is checked every time.
    function _tally(ServiceState memory st, bytes32[] calldata sites, bytes32 voterSite)
        private
        view
        returns (uint32 votes, uint32 needed)
    {
        Config memory cfg = _config;
        uint256 eligible = sites.length == 0 ? cfg.nodeCount : _eligibleAt(sites, voterSite);
        votes = st.votes + 1;
        needed = st.votesNeeded != 0 ? st.votesNeeded : uint32(SpecRules.votesNeeded(eligible, cfg.quorumBps));
    }

    function _recordVote(
        bytes32 sId,
        uint32 revision,
        bytes32 site,
        uint32 votes,
        uint32 needed,
        string calldata reason
    ) private {
        _record(
            _topics(RollbackVoted.selector, sId, bytes32(uint256(revision)), _word(msg.sender)),
            abi.encode(0, bytes24(0), site, votes, needed, reason)
        );
    }

    /// @dev Nodes serving the placement; reverts unless the voter's own site is one of them.
    function _eligibleAt(bytes32[] calldata sites, bytes32 voterSite) private view returns (uint256 eligible) {
        for (uint256 i; i < sites.length; ++i) {
            eligible += siteNodeCount(sites[i]);
        }
        if (!_targets(sites, voterSite)) revert SiteNotInPlacement(voterSite);
    }

    function _targets(bytes32[] calldata sites, bytes32 site) private pure returns (bool) {
        for (uint256 i; i < sites.length; ++i) {
            if (sites[i] == site) return true;
        }
        return false;
    }

    /// @dev A node reports only on the active revision, and names its placement (which the
    /// revision's commitment proves) so that the registry can check the node's site is in it.
    function _requireActiveCommitment(
        bytes32 sId,
        ServiceState memory st,
        uint32 revision,
        bytes32[] calldata sites,
        bytes32 workload
    ) private view {
        if (revision == 0 || revision != st.activeRevision) {
            revert RevisionNotActive(sId, revision, st.activeRevision);
        }
        if (SpecRules.commitment(keccak256(abi.encode(sites)), workload) != _revisions[sId][revision]) {
            revert SpecMismatch(sId, revision);
        }
    }

    function _existingNamespace(string calldata namespace) private view returns (bytes32 nsId, Namespace storage ns) {
        nsId = namespaceId(namespace);
        ns = _namespaces[nsId];
        if (!ns.exists) revert UnknownNamespace(namespace);
    }

    /// @dev The checks every deployer action shares: role, existence, freeze.
    function _deployableNamespace(string calldata namespace, bytes32 nsId) private view returns (Namespace memory ns) {
        _checkRole(deployerRole(nsId));
        ns = _namespaces[nsId];
        if (!ns.exists) revert UnknownNamespace(namespace);
        if (ns.frozen) revert NamespaceFrozen(namespace);
    }

    function _existingService(bytes32 sId) private view returns (ServiceState memory st) {
        st = _services[sId];
        if (st.revisionCount == 0) revert UnknownService(sId);
    }

    function _setFrozen(string calldata namespace, bool frozen) private {
        (bytes32 nsId, Namespace storage ns) = _existingNamespace(namespace);
        if (ns.frozen == frozen) revert FreezeUnchanged(namespace, frozen);
        ns.frozen = frozen;
        _record(_topics(NamespaceFreezeSet.selector, nsId), abi.encode(0, bytes24(0), frozen));
    }

    function _setDeployer(string calldata namespace, address account, bool granted) private {
        if (account == address(0)) revert ZeroAddress();
        (bytes32 nsId,) = _existingNamespace(namespace);
        bytes32 role = deployerRole(nsId);
        bool changed = granted ? _grantRole(role, account) : _revokeRole(role, account);
        if (!changed) revert DeployerUnchanged(namespace, account, granted);
        _record(_topics(DeployerSet.selector, nsId, _word(account)), abi.encode(0, bytes24(0), granted));
    }

    function _removeNode(address node) private {
        bytes32 site = _nodeSites[node];
        if (site == bytes32(0)) revert UnknownNode(node);
        delete _nodeSites[node];
        _config.nodeCount -= 1;
        _revokeRole(siteRole(site), node);
        _record(_topics(NodeRemoved.selector, _word(node), site), abi.encode(0, bytes24(0)));
    }

    function _recordAccess(bytes32 role, address account, bool granted) private {
        _record(_topics(AccessChanged.selector, role, _word(account)), abi.encode(0, bytes24(0), granted));
    }

    function _refuseGenericRoleChange(bytes32 role) private pure {
        if (role == DEFAULT_ADMIN_ROLE) revert AccessControlEnforcedDefaultAdminRules();
        revert RoleManagedByRegistry(role);
    }

    function _requireShortReason(string calldata reason) private pure {
        if (bytes(reason).length > MAX_REASON_BYTES) revert ReasonTooLong(bytes(reason).length, MAX_REASON_BYTES);
    }

    function _word(address a) private pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }
}
