// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "./IDeploymentRegistry.sol";

/// @title SpecRules
/// @notice The checks that are cheap enough to run on chain: names, image pinning, placement, and
/// quorum arithmetic. Everything else in a spec is validated by the CLI and again by each node.
library SpecRules {
    /// Docker service and DNS label length limit.
    uint256 internal constant MAX_NAME_BYTES = 63;
    /// Longest accepted image reference (Docker's own limit is 255 for the name part).
    uint256 internal constant MAX_IMAGE_BYTES = 255;
    /// Length of the digest suffix: the 8-byte sha256 marker and 64 hex digits.
    uint256 internal constant DIGEST_SUFFIX_BYTES = 72;
    /// Longest tag Docker accepts.
    uint256 internal constant MAX_TAG_BYTES = 128;
    /// Most sites one revision may target (votes read one counter per site).
    uint256 internal constant MAX_SITES = 64;

    /// @notice Reverts unless `name` has 1-63 bytes of `a-z0-9-` and starts and ends alphanumeric.
    function requireValidName(string calldata name) internal pure {
        if (!isValidName(bytes(name))) revert IDeploymentRegistry.InvalidName(name);
    }

    /// @notice The name rule, without reverting (also used by fuzz tests).
    function isValidName(bytes calldata name) internal pure returns (bool) {
        uint256 len = name.length;
        if (len == 0 || len > MAX_NAME_BYTES) return false;
        if (name[0] == "-" || name[len - 1] == "-") return false;
        return _allIn(name, NAME_SET);
    }

    /// @notice Reverts unless `name` is a service name `docker stack deploy` accepts in `namespace`:
    /// `a-zA-Z0-9_-`, starting and ending with a letter or digit, and `<namespace>_<name>`, the Swarm
    /// service it becomes, at most 63 bytes (Swarm's limit).
    function requireValidServiceName(string calldata namespace, string calldata name) internal pure {
        if (!isValidServiceName(bytes(namespace).length, bytes(name))) revert IDeploymentRegistry.InvalidName(name);
    }

    /// @notice The service name rule, without reverting (also used by fuzz tests).
    function isValidServiceName(uint256 namespaceLength, bytes calldata name) internal pure returns (bool) {
        uint256 len = name.length;
        if (len == 0 || namespaceLength + 1 + len > MAX_NAME_BYTES) return false;
        if (_isSeparator(name[0]) || _isSeparator(name[len - 1])) return false;
        return _allIn(name, SERVICE_NAME_SET);
    }

    /// @notice Reverts unless `image` is `repo[:tag]@sha256:<64 lowercase hex>`: the digest pins it, a
    /// tag beside it is kept for people to read (the form `docker stack deploy` writes).
    /// @dev Character classes are 256-bit sets indexed by byte value: one shift per character keeps
    /// a typical 100-byte image under 5,000 gas (a bytes1-comparison loop cost about 34,000).
    function requireValidImage(string calldata image) internal pure {
        bytes calldata b = bytes(image);
        uint256 len = b.length;
        if (len <= DIGEST_SUFFIX_BYTES || len > MAX_IMAGE_BYTES) {
            revert IDeploymentRegistry.ImageNotPinnedByDigest(image);
        }
        uint256 marker = len - DIGEST_SUFFIX_BYTES;
        // The slice is exactly 8 bytes, so the conversion keeps every byte.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (bytes8(b[marker:marker + 8]) != bytes8("@sha256:") || !_isLowerHex64(b[marker + 8:])) {
            revert IDeploymentRegistry.ImageNotPinnedByDigest(image);
        }
        _requireValidReference(image, b[:marker]);
    }

    /// @notice Reverts unless site ids are strictly ascending and at most MAX_SITES.
    function requireValidPlacement(bytes32[] calldata sites) internal pure {
        if (sites.length > MAX_SITES) revert IDeploymentRegistry.InvalidPlacement(MAX_SITES);
        for (uint256 i = 1; i < sites.length; ++i) {
            if (sites[i] <= sites[i - 1]) revert IDeploymentRegistry.InvalidPlacement(i);
        }
        if (sites.length != 0 && sites[0] == bytes32(0)) revert IDeploymentRegistry.InvalidPlacement(0);
    }

    /// @notice The votes a rollback needs: the least count strictly above `quorumBps/10000` of `eligible`.
    /// @dev With quorumBps < 10000 the result is at most `eligible` whenever `eligible > 0`.
    function votesNeeded(uint256 eligible, uint16 quorumBps) internal pure returns (uint256) {
        return eligible * quorumBps / 10_000 + 1;
    }

    /// @notice The commitment kept in storage for a spec.
    /// @dev Split in two so a vote can prove the placement without resending the whole spec.
    function specHash(IDeploymentRegistry.ServiceSpec calldata spec) internal pure returns (bytes32) {
        return commitment(keccak256(abi.encode(spec.sites)), workloadHash(spec));
    }

    /// @notice keccak256(abi.encode(image, replicas, body)): the part of a spec that is not placement.
    function workloadHash(IDeploymentRegistry.ServiceSpec calldata spec) internal pure returns (bytes32) {
        return keccak256(abi.encode(spec.image, spec.replicas, spec.body));
    }

    /// @notice Combines the placement hash and the workload hash into the stored commitment.
    function commitment(bytes32 placementHash, bytes32 workload) internal pure returns (bytes32) {
        return keccak256(abi.encode(placementHash, workload));
    }

    /// @dev `repo[:tag]`: a `:` after the last `/` (or in a reference without any `/`) starts the
    /// tag, as in Docker's reference grammar. The repository is lowercase `a-z0-9._-` with `/`
    /// separators and a `:` only before the first `/` (a registry port); the tag is 1-128 bytes of
    /// `A-Za-z0-9_.-`, not starting with `.` or `-`. One pass records where the separators are and
    /// the first byte outside the repository's set and the last outside the tag's; the checks
    /// after it are arithmetic.
    function _requireValidReference(string calldata image, bytes calldata ref) private pure {
        uint256 len = ref.length;
        (uint256 repoSet, uint256 tagSet) = (REPO_SET, TAG_SET);
        // Positions are index + 1, so 0 means "none".
        uint256 firstSlash;
        uint256 lastSlash;
        uint256 lastColon;
        uint256 firstNotRepo;
        uint256 lastNotTag;
        // Colons: all of them in the low 128 bits, those after the first slash in the high ones.
        uint256 colons;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                let c := byte(0, calldataload(add(ref.offset, i)))
                if and(iszero(and(shr(c, repoSet), 1)), iszero(firstNotRepo)) { firstNotRepo := add(i, 1) }
                if iszero(and(shr(c, tagSet), 1)) { lastNotTag := add(i, 1) }
                if eq(c, 0x2f) {
                    if iszero(firstSlash) { firstSlash := add(i, 1) }
                    lastSlash := add(i, 1)
                }
                if eq(c, 0x3a) {
                    lastColon := add(i, 1)
                    colons := add(colons, add(1, shl(128, iszero(iszero(firstSlash)))))
                }
            }
        }
        bool tagged = lastColon > lastSlash;
        uint256 nameEnd = tagged ? lastColon - 1 : len;
        bool ok = nameEnd != 0 && ref[0] != "/" && ref[nameEnd - 1] != "/"
            && (firstNotRepo == 0 || firstNotRepo > nameEnd)
            && (firstSlash == 0 ? colons : colons >> 128) == (tagged ? 1 : 0);
        if (ok && tagged) {
            uint256 tagLength = len - lastColon;
            ok = lastNotTag == lastColon && tagLength != 0 && tagLength <= MAX_TAG_BYTES && ref[lastColon] != "."
                && ref[lastColon] != "-";
        }
        if (!ok) revert IDeploymentRegistry.InvalidImageRepository(image);
    }

    /// @dev True when the 64 bytes of `s` are all `0-9a-f`, checked 32 bytes at a time: with every
    /// byte below 0x80, adding `0x80 - k` to each byte sets its high bit exactly when the byte is >= k,
    /// and no carry crosses into the next byte.
    function _isLowerHex64(bytes calldata s) private pure returns (bool ok) {
        uint256 high = 0x8080808080808080808080808080808080808080808080808080808080808080;
        uint256 ones = high >> 7;
        ok = s.length == 64;
        for (uint256 i; ok && i < 64; i += 32) {
            uint256 w = uint256(bytes32(s[i:i + 32]));
            if (w & high != 0) return false;
            uint256 digit = (w + ones * (0x80 - 0x30)) & ~(w + ones * (0x80 - 0x3a)) & high;
            uint256 letter = (w + ones * (0x80 - 0x61)) & ~(w + ones * (0x80 - 0x67)) & high;
            ok = (digit | letter) == high;
        }
    }

    /// Bytes `a-z0-9._-/:`.
    uint256 private constant REPO_SET = (((1 << 26) - 1) << 0x61) | (((1 << 10) - 1) << 0x30) | (1 << 0x2e)
        | (1 << 0x5f) | (1 << 0x2d) | (1 << 0x2f) | (1 << 0x3a);
    /// Bytes `A-Za-z0-9_.-`: a tag's.
    uint256 private constant TAG_SET = (((1 << 26) - 1) << 0x61) | (((1 << 26) - 1) << 0x41) | (((1 << 10) - 1) << 0x30)
        | (1 << 0x5f) | (1 << 0x2e) | (1 << 0x2d);
    /// Bytes `a-z0-9-`.
    uint256 private constant NAME_SET = (((1 << 26) - 1) << 0x61) | (((1 << 10) - 1) << 0x30) | (1 << 0x2d);
    /// Bytes `a-zA-Z0-9_-`.
    uint256 private constant SERVICE_NAME_SET = NAME_SET | (((1 << 26) - 1) << 0x41) | (1 << 0x5f);

    /// @dev `-` or `_`: a service name neither starts nor ends with one.
    function _isSeparator(bytes1 c) private pure returns (bool) {
        return c == "-" || c == "_";
    }

    /// @dev True when every byte of `s` is in the 256-bit set `set`.
    function _allIn(bytes calldata s, uint256 set) private pure returns (bool ok) {
        ok = true;
        assembly ("memory-safe") {
            let end := add(s.offset, s.length)
            for { let p := s.offset } lt(p, end) { p := add(p, 1) } {
                if iszero(and(shr(byte(0, calldataload(p)), set), 1)) {
                    ok := 0
                    break
                }
            }
        }
    }
}
