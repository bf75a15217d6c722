// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IDeploymentRegistry
/// @notice The desired state of every Docker Swarm service that ledgerops manages, the roles allowed
/// to change it, and the feedback edge nodes give about it. Every state change appends one entry to
/// a tamper-evident hash chain; every event below that carries `seq` and `head` is such an entry.
/// @dev Encoding of the audit chain (see docs/contracts.md for a worked `cast` example):
///   entry_n = keccak256(topic0 ‖ topic1 ‖ … ‖ keccak256(data[64:]))   (all topics of the log, then
///                                   the hash of its data after the leading seq and head words)
///   head_n  = bytes24(keccak256(abi.encode(head_{n-1}, seq_n, entry_n)))
///   head_0  = bytes24(keccak256(abi.encode(block.chainid, registry address)))
interface IDeploymentRegistry {
    // ---------------------------------------------------------------- types

    /// @notice Everything Swarm needs to run one revision of a service.
    /// @dev The fields the contract validates are typed; the rest lives in `body`, canonical JSON
    /// described in docs/spec-format.md. Secrets and configs appear there by name only.
    struct ServiceSpec {
        /// Image pinned by digest: `repo@sha256:<64 lowercase hex>`; tags are refused.
        string image;
        /// Desired replica count, at most the namespace's ceiling.
        uint32 replicas;
        /// Target sites as `keccak256(label)`, strictly ascending; empty means every site.
        bytes32[] sites;
        /// The rest of the spec (command, env, secrets, ports, constraints, update policy, ...).
        bytes body;
    }

    /// @notice What an edge node reports about a revision it was asked to run.
    enum AttestationStatus {
        None,
        Converged,
        Failed,
        RolledBack
    }

    /// @notice Per-service state, packed in one storage slot.
    struct ServiceState {
        /// Revisions published so far; revision numbers are 1..revisionCount.
        uint32 revisionCount;
        /// The revision nodes must run, or 0 when the service is removed.
        uint32 activeRevision;
        /// What a quorum rollback re-activates; 0 when there is nothing to fall back to.
        uint32 previousRevision;
        /// Bumped whenever the active revision changes; votes count only within one epoch.
        uint32 epoch;
        /// Rollback votes cast against the active revision in this epoch.
        uint32 votes;
        /// The votes a rollback needs in this epoch, fixed by its first vote (0 before it): nodes
        /// that leave after voting, or a quorum change, do not move it while voting is open.
        uint32 votesNeeded;
    }

    /// @notice A namespace and its admin-set ceilings.
    struct Namespace {
        bool exists;
        /// A deploy freeze: publish, manual rollback and remove are refused.
        bool frozen;
        uint32 maxReplicas;
        uint32 maxSpecBytes;
    }

    /// @notice What one node last reported for one service.
    struct NodeServiceState {
        uint32 revision;
        AttestationStatus status;
        /// The service epoch in which this node last voted; 0 when it never voted.
        uint32 votedEpoch;
        /// The service epoch of this node's last report (attestation or vote). A repeated report is
        /// refused only within it: once a rollback makes a revision active again, nodes report on
        /// the new activation even when they said the same of the revision before.
        uint32 reportedEpoch;
    }

    // ---------------------------------------------------------------- errors

    /// @notice A namespace, service or site name breaks the rules (1-63 of `a-z0-9-`, alphanumeric at both ends).
    error InvalidName(string name);
    /// @notice The namespace already exists.
    error NamespaceExists(string namespace);
    /// @notice No namespace with this name was created.
    error UnknownNamespace(string namespace);
    /// @notice The namespace is under a deploy freeze.
    error NamespaceFrozen(string namespace);
    /// @notice Freeze or unfreeze would not change anything.
    error FreezeUnchanged(string namespace, bool frozen);
    /// @notice Limits outside the hard bounds (replicas 1..HARD_MAX_REPLICAS, spec 1..HARD_MAX_SPEC_BYTES).
    error InvalidLimits(uint32 maxReplicas, uint32 maxSpecBytes);
    /// @notice A namespace policy over MAX_POLICY_BYTES.
    error PolicyTooLarge(uint256 size, uint256 max);
    /// @notice The image does not end in `@sha256:<64 lowercase hex>`.
    error ImageNotPinnedByDigest(string image);
    /// @notice The repository part of the image has a character outside `a-z0-9._-/:` (a `:` only
    /// for the registry's port) or is empty, or its tag is not 1-128 bytes of `A-Za-z0-9_.-`.
    error InvalidImageRepository(string image);
    /// @notice More replicas than the namespace allows.
    error TooManyReplicas(uint32 replicas, uint32 max);
    /// @notice The spec body is larger than the namespace allows.
    error SpecTooLarge(uint256 size, uint256 max);
    /// @notice Placement sites must be strictly ascending (sorted, no duplicates) and at most MAX_SITES.
    error InvalidPlacement(uint256 index);
    /// @notice No service with this id has ever been published.
    error UnknownService(bytes32 serviceId);
    /// @notice The revision does not exist for this service.
    error UnknownRevision(bytes32 serviceId, uint32 revision);
    /// @notice The revision asked for is already the active one.
    error AlreadyActive(bytes32 serviceId, uint32 revision);
    /// @notice The service is already removed.
    error ServiceAlreadyRemoved(bytes32 serviceId);
    /// @notice A vote or attestation names a revision that is not (or no longer) active.
    error RevisionNotActive(bytes32 serviceId, uint32 revision, uint32 active);
    /// @notice The placement or workload hash given with a vote or attestation does not match the revision's commitment.
    error SpecMismatch(bytes32 serviceId, uint32 revision);
    /// @notice The voting or attesting node's site is not one the revision targets.
    error SiteNotInPlacement(bytes32 site);
    /// @notice There is no previous revision for a quorum to fall back to.
    error NothingToRollBackTo(bytes32 serviceId);
    /// @notice This node already voted against this activation of the revision.
    error AlreadyVoted(bytes32 serviceId, uint32 revision, address node);
    /// @notice This node already reported on this activation of the revision (`status` is what it reported).
    error AlreadyAttested(bytes32 serviceId, uint32 revision, AttestationStatus status);
    /// @notice `None` is not something a node can attest.
    error InvalidStatus();
    /// @notice The free-text reason is longer than MAX_REASON_BYTES.
    error ReasonTooLong(uint256 size, uint256 max);
    /// @notice The node is already registered (at any site).
    error NodeAlreadyRegistered(address node);
    /// @notice The address is not a registered node.
    error UnknownNode(address node);
    /// @notice The account already is (or is not) a deployer of the namespace.
    error DeployerUnchanged(string namespace, address account, bool granted);
    /// @notice The zero address cannot hold a role.
    error ZeroAddress();
    /// @notice The quorum must be between 1 and 9,999 basis points (votes must exceed the fraction;
    /// 0 would let any single node roll a service back).
    error InvalidQuorum(uint16 quorumBps);
    /// @notice Scoped roles change only through the registry's own functions, so every change is audited.
    error RoleManagedByRegistry(bytes32 role);
    /// @notice Renouncing a role the account does not hold would change nothing.
    error RoleUnchanged(bytes32 role, address account);
    /// @notice The admin cannot renounce: a registry without one could never revoke a stolen key.
    error AdminCannotLeave();

    // ---------------------------------------------------------------- events

    /// @notice The admin role moved (at deployment and at each accepted transfer), or a role was renounced.
    event AccessChanged(bytes32 indexed role, address indexed account, uint64 seq, bytes24 head, bool granted);
    /// @notice A namespace was created with default ceilings.
    event NamespaceCreated(
        bytes32 indexed namespaceId, uint64 seq, bytes24 head, string namespace, uint32 maxReplicas, uint32 maxSpecBytes
    );
    /// @notice A namespace's ceilings changed.
    event NamespaceLimitsSet(
        bytes32 indexed namespaceId, uint64 seq, bytes24 head, uint32 maxReplicas, uint32 maxSpecBytes
    );
    /// @notice A namespace's policy changed: what its specs may ask of a node beyond a plain
    /// container (canonical JSON, see docs/spec-format.md); an empty policy, hash 0, is the default.
    event NamespacePolicySet(bytes32 indexed namespaceId, uint64 seq, bytes24 head, bytes32 policyHash, bytes policy);
    /// @notice A deploy freeze started or ended.
    event NamespaceFreezeSet(bytes32 indexed namespaceId, uint64 seq, bytes24 head, bool frozen);
    /// @notice An account became (or stopped being) a deployer of a namespace.
    event DeployerSet(bytes32 indexed namespaceId, address indexed account, uint64 seq, bytes24 head, bool granted);
    /// @notice An edge node was registered at a site.
    event NodeAdded(address indexed node, bytes32 indexed siteId, uint64 seq, bytes24 head, string site);
    /// @notice An edge node was removed (by the admin, or by renouncing its role).
    event NodeRemoved(address indexed node, bytes32 indexed siteId, uint64 seq, bytes24 head);
    /// @notice The rollback quorum changed.
    event QuorumSet(uint64 seq, bytes24 head, uint16 quorumBps);
    /// @notice The first revision of a new service was published; names the service once.
    event ServiceCreated(
        bytes32 indexed serviceId, bytes32 indexed namespaceId, uint64 seq, bytes24 head, string namespace, string name
    );
    /// @notice A revision was published and is now active. The full spec is here; storage keeps its
    /// commitment (see `revisionHash`), which anyone can recompute from `spec`.
    event RevisionPublished(
        bytes32 indexed serviceId,
        uint32 indexed revision,
        address indexed publisher,
        uint64 seq,
        bytes24 head,
        ServiceSpec spec
    );
    /// @notice An earlier revision became active again, by a deployer or by a quorum of nodes.
    event RolledBack(
        bytes32 indexed serviceId,
        uint32 indexed toRevision,
        address indexed actor,
        uint64 seq,
        bytes24 head,
        uint32 fromRevision,
        bool byQuorum
    );
    /// @notice The service's desired state is now "absent".
    event ServiceRemoved(
        bytes32 indexed serviceId, address indexed actor, uint64 seq, bytes24 head, uint32 lastRevision
    );
    /// @notice A node reported what it runs.
    event Attested(
        bytes32 indexed serviceId,
        uint32 indexed revision,
        address indexed node,
        uint64 seq,
        bytes24 head,
        bytes32 siteId,
        AttestationStatus status,
        string reason
    );
    /// @notice A node voted that the active revision failed on it.
    event RollbackVoted(
        bytes32 indexed serviceId,
        uint32 indexed revision,
        address indexed node,
        uint64 seq,
        bytes24 head,
        bytes32 siteId,
        uint32 votes,
        uint32 needed,
        string reason
    );

    // ---------------------------------------------------------------- admin

    /// @notice Creates a namespace with default ceilings. Admin only.
    /// @param namespace The namespace name (name rules apply).
    function createNamespace(string calldata namespace) external;

    /// @notice Sets a namespace's replica and spec-size ceilings. Admin only.
    function setNamespaceLimits(string calldata namespace, uint32 maxReplicas, uint32 maxSpecBytes) external;

    /// @notice Sets what a namespace's specs may ask of a node beyond a plain container (host
    /// mounts, capabilities, objects of other namespaces). Nodes enforce it, each with its own
    /// allow-list on top; the registry only commits to its hash. Empty bytes restore the default.
    /// Admin only.
    function setNamespacePolicy(string calldata namespace, bytes calldata policy) external;

    /// @notice Starts a deploy freeze: publish, manual rollback and remove are refused. Admin only.
    function freezeNamespace(string calldata namespace) external;

    /// @notice Ends a deploy freeze. Admin only.
    function unfreezeNamespace(string calldata namespace) external;

    /// @notice Lets `account` publish, roll back and remove services of `namespace`. Admin only.
    function grantDeployer(string calldata namespace, address account) external;

    /// @notice Takes the deployer role of `namespace` away from `account`. Admin only.
    function revokeDeployer(string calldata namespace, address account) external;

    /// @notice Registers an edge node's operator key at a site. Admin only.
    /// @param node The node's signing address.
    /// @param site The site label (name rules apply); the node serves services placed there.
    function addNode(address node, string calldata site) external;

    /// @notice Removes an edge node; its earlier votes stay counted. Admin only.
    function removeNode(address node) external;

    /// @notice Sets the rollback quorum: votes must exceed `quorumBps / 10000` of the eligible nodes.
    /// 5000 (the default) is a strict majority; 0 is refused. Votes already open keep the count
    /// they started with. Admin only.
    function setQuorum(uint16 quorumBps) external;

    // ---------------------------------------------------------------- deployers

    /// @notice Publishes a new revision of `namespace/name` and makes it active (creates the service
    /// on its first revision). Deployers of the namespace only; refused while the namespace is frozen.
    /// @return revision The new revision number (1, 2, 3, ... per service).
    function publish(string calldata namespace, string calldata name, ServiceSpec calldata spec)
        external
        returns (uint32 revision);

    /// @notice Makes an earlier (or later) existing revision active again; also restores a removed
    /// service. Deployers of the namespace only; refused while frozen.
    function rollback(string calldata namespace, string calldata name, uint32 toRevision) external;

    /// @notice Sets the desired state of the service to "absent". Deployers only; refused while frozen.
    function remove(string calldata namespace, string calldata name) external;

    // ---------------------------------------------------------------- nodes

    /// @notice Records what the calling node runs for a service. Nodes of `siteId` only, on the
    /// active revision only (`RevisionNotActive`), when `siteId` is in its placement
    /// (`SiteNotInPlacement`), and once per node and activation (`AlreadyAttested`; a rollback
    /// vote counts as the node's report) save one recovery, Failed then Converged: one node key
    /// cannot fill the log with reports on services it does not run, or with alternating statuses.
    /// @param siteId The caller's site (keccak256 of its label).
    /// @param sites The revision's placement sites, and `workloadHash` the rest of its commitment,
    /// as for `voteRollback` (`SpecMismatch` when they do not hash to the revision's).
    /// @param reason A short free-text reason (at most MAX_REASON_BYTES); empty when converged.
    function attest(
        bytes32 serviceId,
        uint32 revision,
        bytes32 siteId,
        bytes32[] calldata sites,
        bytes32 workloadHash,
        AttestationStatus status,
        string calldata reason
    ) external;

    /// @notice Votes that the active revision failed on the calling node, and records a failed
    /// attestation. When votes reach the quorum of nodes serving the revision's sites, the previous
    /// active revision becomes active again. Nodes of `siteId` only, and `siteId` must be targeted.
    /// @param sites The revision's placement sites, and `workloadHash` the rest of its commitment:
    /// specHash = keccak256(abi.encode(keccak256(abi.encode(sites)), workloadHash)).
    function voteRollback(
        bytes32 serviceId,
        uint32 revision,
        bytes32 siteId,
        bytes32[] calldata sites,
        bytes32 workloadHash,
        string calldata reason
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice The audit chain's sequence number and head (see the encoding above).
    function auditHead() external view returns (uint64 seq, bytes24 head);

    /// @notice The state of a service (all zero when it was never published).
    function serviceState(bytes32 serviceId) external view returns (ServiceState memory);

    /// @notice The commitment stored for a revision (zero when it does not exist).
    function revisionHash(bytes32 serviceId, uint32 revision) external view returns (bytes32);

    /// @notice A namespace's record.
    function namespaceInfo(string calldata namespace) external view returns (Namespace memory);

    /// @notice keccak256 of a namespace's policy, or 0 for the default.
    function namespacePolicyHash(bytes32 namespaceId) external view returns (bytes32);

    /// @notice What `node` last reported for `serviceId`.
    function nodeServiceState(bytes32 serviceId, address node) external view returns (NodeServiceState memory);

    /// @notice The site a node is registered at (zero when it is not a node).
    function nodeSite(address node) external view returns (bytes32);

    /// @notice Nodes registered at a site.
    function siteNodeCount(bytes32 siteId) external view returns (uint256);

    /// @notice All registered nodes (the electorate of a service placed on every site).
    function nodeCount() external view returns (uint32);

    /// @notice The rollback quorum in basis points.
    function quorumBps() external view returns (uint16);

    /// @notice The block the registry was deployed in: where followers start reading events.
    function deployBlock() external view returns (uint64);
}
