// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDeploymentRegistry} from "../src/IDeploymentRegistry.sol";
import {SpecRules} from "../src/SpecRules.sol";
import {TestBase} from "./base/TestBase.sol";

/// @dev Exposes the library's calldata functions to the tests.
contract SpecRulesHarness {
    function isValidName(bytes calldata name) external pure returns (bool) {
        return SpecRules.isValidName(name);
    }

    function isValidServiceName(uint256 namespaceLength, bytes calldata name) external pure returns (bool) {
        return SpecRules.isValidServiceName(namespaceLength, name);
    }

    function requireValidImage(string calldata image) external pure {
        SpecRules.requireValidImage(image);
    }

    function requireValidPlacement(bytes32[] calldata sites) external pure {
        SpecRules.requireValidPlacement(sites);
    }

    function votesNeeded(uint256 eligible, uint16 quorumBps) external pure returns (uint256) {
        return SpecRules.votesNeeded(eligible, quorumBps);
    }
}

/// @notice Fuzz tests of the on-chain spec rules against plain, byte-by-byte reference versions of
/// the rules in docs/spec-format.md (the library uses bit sets and word tricks to save gas).
contract SpecRulesTest is TestBase {
    SpecRulesHarness internal rules = new SpecRulesHarness();

    /// Characters the generators draw from: the valid ones, then a few that must be refused.
    bytes internal constant NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-A_.z9";
    bytes internal constant REPO_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789._-/:A@ ";
    bytes internal constant HEX_ALPHABET = "0123456789abcdefABCDEFg";
    bytes internal constant TAG_ALPHABET = "abcXYZ0129._-:/@";

    // ---------------------------------------------------------------- names

    function testFuzz_NameRuleMatchesReference_RandomBytes(bytes calldata name) public view {
        vm.assertEq(rules.isValidName(name), _referenceName(name), "arbitrary bytes");
    }

    /// @dev Names drawn mostly from the valid alphabet, so both outcomes are common.
    function testFuzz_NameRuleMatchesReference_NearlyValid(bytes32 seed, uint8 length) public view {
        bytes memory name = _draw(seed, bound(length, 0, 70), NAME_ALPHABET);
        vm.assertEq(rules.isValidName(name), _referenceName(name), string(name));
    }

    function testFuzz_ValidNamesAreAccepted(bytes32 seed, uint8 length) public view {
        bytes memory name = _draw(seed, bound(length, 1, 63), bytes("abcdefghijklmnopqrstuvwxyz0123456789-"));
        name[0] = "a";
        name[name.length - 1] = "0";
        vm.assertTrue(rules.isValidName(name), string(name));
    }

    /// @dev Service names: `_` allowed inside, and the Swarm name `<namespace>_<name>` within 63 bytes.
    function testFuzz_ServiceNameRuleMatchesReference(bytes32 seed, uint8 length, uint8 namespaceLength) public view {
        bytes memory name = _draw(seed, bound(length, 0, 70), NAME_ALPHABET);
        uint256 ns = bound(namespaceLength, 1, 63);
        vm.assertEq(rules.isValidServiceName(ns, name), _referenceServiceName(ns, name), string(name));
    }

    // ---------------------------------------------------------------- images

    function testFuzz_ImageRuleMatchesReference(bytes32 repoSeed, uint8 repoLength, bytes32 hexSeed, uint8 shape)
        public
        view
    {
        bytes memory repo = _draw(repoSeed, bound(repoLength, 0, 200), REPO_ALPHABET);
        // Often a tag after the repository, drawn mostly from a tag's alphabet.
        if (shape % 3 == 0) {
            repo = abi.encodePacked(repo, ":", _draw(hexSeed ^ repoSeed, uint8(shape) % 131, TAG_ALPHABET));
        }
        // Mostly valid hex digests; sometimes one bad digit, a wrong marker or a short digest.
        bytes memory digest = _draw(hexSeed, 64, bytes("0123456789abcdef"));
        if (shape % 4 == 1) digest = _draw(hexSeed, 64, HEX_ALPHABET);
        bytes memory marker = shape % 7 == 3 ? bytes("@sha512:") : bytes("@sha256:");
        if (shape % 9 == 5) digest = _draw(hexSeed, 63, bytes("0123456789abcdef"));
        string memory image = string(abi.encodePacked(repo, marker, digest));

        (bool ok, bytes memory err) = address(rules).staticcall(abi.encodeCall(rules.requireValidImage, (image)));
        bytes4 expected = _referenceImage(bytes(image));
        if (expected == bytes4(0)) {
            vm.assertTrue(ok, image);
        } else {
            vm.assertFalse(ok, image);
            vm.assertEq(bytes4(err), expected, image);
            vm.assertEq(err, abi.encodeWithSelector(expected, image), "the error names the image");
        }
    }

    function testFuzz_AnyLowercaseHexDigestIsAccepted(bytes32 sha) public view {
        rules.requireValidImage(string.concat("127.0.0.1:5000/team/app@sha256:", string(_hex(sha))));
    }

    // ---------------------------------------------------------------- placement and quorum

    function testFuzz_PlacementMustBeStrictlyAscending(bytes32[] calldata sites) public view {
        (bool ok,) = address(rules).staticcall(abi.encodeCall(rules.requireValidPlacement, (sites)));
        bool valid = sites.length <= 64 && (sites.length == 0 || sites[0] != bytes32(0));
        for (uint256 i = 1; i < sites.length; ++i) {
            if (sites[i] <= sites[i - 1]) valid = false;
        }
        vm.assertEq(ok, valid, "placement rule");
    }

    /// @dev votesNeeded is the least count strictly above quorumBps/10000 of eligible; below 100%
    /// it never exceeds the eligible nodes, so a unanimous vote always decides.
    function testFuzz_VotesNeededIsTheLeastCountAboveQuorum(uint32 eligible, uint16 bps) public view {
        bps = uint16(bound(bps, 0, 9999));
        uint256 needed = rules.votesNeeded(eligible, bps);
        vm.assertGt(needed * 10_000, uint256(eligible) * bps, "needed is above the quorum");
        vm.assertLe((needed - 1) * 10_000, uint256(eligible) * bps, "needed - 1 is not");
        if (eligible > 0) vm.assertLe(needed, eligible, "all eligible nodes always suffice");
    }

    function test_VotesNeeded_DefaultIsStrictMajority() public view {
        vm.assertEq(rules.votesNeeded(1, 5000), 1, "1 node");
        vm.assertEq(rules.votesNeeded(2, 5000), 2, "2 nodes");
        vm.assertEq(rules.votesNeeded(3, 5000), 2, "3 nodes");
        vm.assertEq(rules.votesNeeded(4, 5000), 3, "4 nodes");
        vm.assertEq(rules.votesNeeded(5, 5000), 3, "5 nodes");
    }

    // ---------------------------------------------------------------- references

    function _referenceName(bytes memory s) internal pure returns (bool) {
        if (s.length == 0 || s.length > 63 || s[0] == "-" || s[s.length - 1] == "-") return false;
        for (uint256 i; i < s.length; ++i) {
            bytes1 c = s[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) return false;
        }
        return true;
    }

    function _referenceServiceName(uint256 namespaceLength, bytes memory s) internal pure returns (bool) {
        if (s.length == 0 || namespaceLength + 1 + s.length > 63) return false;
        bytes1 first = s[0];
        bytes1 last = s[s.length - 1];
        if (first == "-" || first == "_" || last == "-" || last == "_") return false;
        for (uint256 i; i < s.length; ++i) {
            bytes1 c = s[i];
            if (!((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_")) {
                return false;
            }
        }
        return true;
    }

    /// @dev The selector of the error the rule must raise, or zero when the image is valid.
    function _referenceImage(bytes memory s) internal pure returns (bytes4) {
        if (s.length <= 72 || s.length > 255) return IDeploymentRegistry.ImageNotPinnedByDigest.selector;
        uint256 markerAt = s.length - 72;
        if (keccak256(_slice(s, markerAt, 8)) != keccak256("@sha256:")) {
            return IDeploymentRegistry.ImageNotPinnedByDigest.selector;
        }
        for (uint256 i = markerAt + 8; i < s.length; ++i) {
            bytes1 c = s[i];
            if (!((c >= "0" && c <= "9") || (c >= "a" && c <= "f"))) {
                return IDeploymentRegistry.ImageNotPinnedByDigest.selector;
            }
        }
        bytes4 invalid = IDeploymentRegistry.InvalidImageRepository.selector;
        // The tag starts at a colon after the last slash, or at any colon when there is no slash.
        uint256 nameEnd = markerAt;
        for (uint256 i = markerAt; i > 0; --i) {
            if (s[i - 1] == "/") break;
            if (s[i - 1] == ":") {
                nameEnd = i - 1;
                break;
            }
        }
        if (nameEnd < markerAt) {
            uint256 tagLength = markerAt - nameEnd - 1;
            if (tagLength == 0 || tagLength > 128) return invalid;
            if (s[nameEnd + 1] == "." || s[nameEnd + 1] == "-") return invalid;
            for (uint256 i = nameEnd + 1; i < markerAt; ++i) {
                bytes1 c = s[i];
                bool allowed = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "."
                    || c == "_" || c == "-";
                if (!allowed) return invalid;
            }
        }
        if (nameEnd == 0 || s[0] == "/" || s[nameEnd - 1] == "/") return invalid;
        bool slashSeen;
        for (uint256 i; i < nameEnd; ++i) {
            bytes1 c = s[i];
            bool allowed = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
                || c == "/" || c == ":";
            if (!allowed) return invalid;
            if (c == "/") slashSeen = true;
            if (c == ":" && slashSeen) return invalid;
        }
        // Before the first slash a colon is the registry's port; with no slash at all it cannot be.
        if (!slashSeen && _contains(_slice(s, 0, nameEnd), ":")) return invalid;
        return bytes4(0);
    }

    function _draw(bytes32 seed, uint256 length, bytes memory alphabet) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            seed = keccak256(abi.encode(seed, i));
            out[i] = alphabet[uint256(seed) % alphabet.length];
        }
    }

    function _hex(bytes32 word) internal pure returns (bytes memory out) {
        bytes memory digits = "0123456789abcdef";
        out = new bytes(64);
        for (uint256 i; i < 32; ++i) {
            out[2 * i] = digits[uint8(word[i]) >> 4];
            out[2 * i + 1] = digits[uint8(word[i]) & 15];
        }
    }

    function _slice(bytes memory s, uint256 from, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = s[from + i];
        }
    }

    function _contains(bytes memory s, bytes1 c) internal pure returns (bool) {
        for (uint256 i; i < s.length; ++i) {
            if (s[i] == c) return true;
        }
        return false;
    }
}
