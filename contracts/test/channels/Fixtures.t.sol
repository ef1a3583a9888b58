// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenNetwork} from "../../src/channels/TokenNetwork.sol";
import {ChannelsFixture} from "./ChannelsFixture.sol";

/// @notice The EIP-712 fixtures of the channel message formats, version 1
///         (crates/channels/tests/fixtures/eip712_v1.json, docs/channels.md "Fixtures").
/// @dev The hashes are computed here independently of `TokenNetwork` from the type strings of
///      docs/channels.md, checked against the contract on a live deployment, then computed for the
///      fixtures' fixed domain (chain 31337, `FIXTURE_CONTRACT`) and signed with `vm.sign`. The
///      test prints the fixture JSON (`forge test --match-test test_Eip712FixturesV1 -vv`) and
///      pins its keccak256, so the checked-in file and this test cannot drift apart silently.
///      Regenerate the file with the command in docs/channels.md ("Fixtures"), and change
///      `FIXTURE_HASH` only together with it (a new format version gets a new file).
contract ChannelsFixturesTest is ChannelsFixture {
    event log_string(string val);

    address internal constant FIXTURE_CONTRACT = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    uint256 internal constant FIXTURE_CHAIN_ID = 31337;
    address internal constant TOKEN = 0x000000000000000000000000000000000000dEaD;
    bytes32 internal constant FIXTURE_HASH = 0x38179df94cd7d4a7c7f0d33587c722261f3221fc7d1f820a3374f97816cebc62;

    bytes32 internal constant BP_TYPEHASH = keccak256(
        "BalanceProof(bytes32 channelId,uint64 generation,uint64 nonce,uint256 transferredAmount,uint256 lockedAmount,bytes32 locksRoot)"
    );
    bytes32 internal constant NCU_TYPEHASH =
        keccak256("NonClosingUpdate(bytes32 channelId,uint64 generation,bytes32 balanceProofHash)");
    bytes32 internal constant CC_TYPEHASH =
        keccak256("CooperativeClose(bytes32 channelId,uint64 generation,uint256 balance1,uint256 balance2)");

    function separator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes("PlyChannels")),
                keccak256(bytes("1")),
                chainId,
                verifyingContract
            )
        );
    }

    function digest(bytes32 domainSeparator, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes2(0x1901), domainSeparator, structHash));
    }

    function bpStructHash(bytes32 id, uint64 g, uint64 nonce, uint256 t, uint256 l, bytes32 root)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(BP_TYPEHASH, id, g, nonce, t, l, root));
    }

    function signed(uint256 key, bytes32 d) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, d);
        return abi.encodePacked(r, s, v);
    }

    function hex32(bytes32 v) internal pure returns (string memory) {
        return string.concat("\"", cvm.toString(v), "\"");
    }

    function dec(uint256 v) internal pure returns (string memory) {
        return string.concat("\"", cvm.toString(v), "\"");
    }

    function addr(address a) internal pure returns (string memory) {
        return string.concat("\"", cvm.toString(a), "\"");
    }

    function hexBytes(bytes memory b) internal pure returns (string memory) {
        return string.concat("\"", cvm.toString(b), "\"");
    }

    /// @dev The independent implementation agrees with the contract (on its own address).
    function test_IndependentHashesMatchContract() public view {
        bytes32 id = keccak256("some channel");
        bytes32 sep = separator(block.chainid, address(network));
        vm.assertEq(network.domainSeparator(), sep);
        bytes32 bp = bpStructHash(id, 3, 9, 1 ether, 2, bytes32(uint256(5)));
        vm.assertEq(network.balanceProofHash(id, 3, 9, 1 ether, 2, bytes32(uint256(5))), bp);
        vm.assertEq(network.digestOf(bp), digest(sep, bp));
        vm.assertEq(network.nonClosingUpdateHash(id, 3, bp), keccak256(abi.encode(NCU_TYPEHASH, id, uint64(3), bp)));
        vm.assertEq(network.cooperativeCloseHash(id, 3, 7, 8), keccak256(abi.encode(CC_TYPEHASH, id, uint64(3), 7, 8)));
        vm.assertEq(network.BALANCE_PROOF_TYPEHASH(), BP_TYPEHASH);
        vm.assertEq(network.NON_CLOSING_UPDATE_TYPEHASH(), NCU_TYPEHASH);
        vm.assertEq(network.COOPERATIVE_CLOSE_TYPEHASH(), CC_TYPEHASH);
    }

    function test_Eip712FixturesV1() public {
        vm.assertEq(block.chainid, FIXTURE_CHAIN_ID);
        bytes32 sep = separator(FIXTURE_CHAIN_ID, FIXTURE_CONTRACT);
        bytes32 id = keccak256(abi.encode(p1, p2, address(0)));
        (string memory locksJson, bytes32 root) = locksSection();
        string memory json = string.concat(
            header(sep, id), locksJson, bpSection(sep, id, root), ncuSection(sep, id, root), ccSection(sep, id)
        );
        emit log_string(json);
        vm.assertEq(
            keccak256(bytes(json)), FIXTURE_HASH, "fixture JSON changed: regenerate the file (docs/channels.md)"
        );
    }

    function header(bytes32 sep, bytes32 id) internal view returns (string memory json) {
        json = string.concat(
            "{\n  \"version\": 1,\n",
            "  \"comment\": \"ply channels EIP-712 fixtures (docs/channels.md); generated by contracts/test/channels/Fixtures.t.sol\",\n",
            "  \"keys\": [\n",
            "    {\"privateKey\": ",
            hex32(bytes32(key1)),
            ", \"address\": ",
            addr(p1),
            "},\n",
            "    {\"privateKey\": ",
            hex32(bytes32(key2)),
            ", \"address\": ",
            addr(p2),
            "}\n  ],\n",
            "  \"domain\": {\"name\": \"PlyChannels\", \"version\": \"1\", \"chainId\": 31337, \"verifyingContract\": ",
            addr(FIXTURE_CONTRACT),
            "},\n",
            "  \"domainSeparator\": ",
            hex32(sep),
            ",\n"
        );
        json = string.concat(
            json,
            "  \"typeHashes\": {\"BalanceProof\": ",
            hex32(BP_TYPEHASH),
            ", \"NonClosingUpdate\": ",
            hex32(NCU_TYPEHASH),
            ", \"CooperativeClose\": ",
            hex32(CC_TYPEHASH),
            "},\n",
            "  \"channels\": [\n",
            "    {\"participant1\": ",
            addr(p1),
            ", \"participant2\": ",
            addr(p2),
            ", \"token\": ",
            addr(address(0)),
            ", \"channelId\": ",
            hex32(id),
            "},\n"
        );
        json = string.concat(
            json,
            "    {\"participant1\": ",
            addr(p1),
            ", \"participant2\": ",
            addr(p2),
            ", \"token\": ",
            addr(TOKEN),
            ", \"channelId\": ",
            hex32(keccak256(abi.encode(p1, p2, TOKEN))),
            "}\n  ],\n"
        );
    }

    /// @dev Two pending locks and their root.
    function locksSection() internal pure returns (string memory json, bytes32 root) {
        bytes memory lockA = abi.encode(uint256(1 ether), uint256(1234), keccak256(abi.encode(bytes32(uint256(0xA)))));
        bytes memory lockB = abi.encode(uint256(2500), uint256(99), keccak256(abi.encode(bytes32(uint256(0xB)))));
        bytes memory locks = bytes.concat(lockA, lockB);
        root = keccak256(locks);
        json = string.concat(
            "  \"locks\": {\n    \"items\": [\n",
            "      {\"amount\": ",
            dec(1 ether),
            ", \"expiration\": 1234, \"secret\": ",
            hex32(bytes32(uint256(0xA))),
            ", \"secrethash\": ",
            hex32(keccak256(abi.encode(bytes32(uint256(0xA))))),
            ", \"encoded\": ",
            hexBytes(lockA),
            "},\n"
        );
        json = string.concat(
            json,
            "      {\"amount\": ",
            dec(2500),
            ", \"expiration\": 99, \"secret\": ",
            hex32(bytes32(uint256(0xB))),
            ", \"secrethash\": ",
            hex32(keccak256(abi.encode(bytes32(uint256(0xB))))),
            ", \"encoded\": ",
            hexBytes(lockB),
            "}\n    ],\n",
            "    \"encoded\": ",
            hexBytes(locks),
            ",\n    \"locksRoot\": ",
            hex32(root),
            ",\n    \"lockedAmount\": ",
            dec(1 ether + 2500),
            "\n  },\n"
        );
    }

    /// @dev Balance proofs: nothing locked (with a high-s variant), the two locks, generation 2,
    ///      the token channel with a transferred amount above 2^128.
    function bpSection(bytes32 sep, bytes32 id, bytes32 root) internal view returns (string memory json) {
        json = string.concat("  \"balanceProofs\": [\n");
        json = string.concat(json, bpEntry(sep, key1, p1, id, 1, 1, 0, 0, bytes32(0), true), ",\n");
        json = string.concat(json, bpEntry(sep, key2, p2, id, 1, 7, 5 ether, 1 ether + 2500, root, false), ",\n");
        json = string.concat(json, bpEntry(sep, key1, p1, id, 2, 1, 123, 0, bytes32(0), false), ",\n");
        bytes32 tokenChannel = keccak256(abi.encode(p1, p2, TOKEN));
        json = string.concat(
            json, bpEntry(sep, key2, p2, tokenChannel, 1, 42, 1 << 200, 0, bytes32(0), false), "\n  ],\n"
        );
    }

    /// @dev participant1 authorises participant2's proof with the locks (participant2 closed).
    function ncuSection(bytes32 sep, bytes32 id, bytes32 root) internal view returns (string memory) {
        bytes32 bp = bpStructHash(id, 1, 7, 5 ether, 1 ether + 2500, root);
        bytes32 ncu = keccak256(abi.encode(NCU_TYPEHASH, id, uint64(1), bp));
        bytes32 d = digest(sep, ncu);
        return string.concat(
            "  \"nonClosingUpdates\": [\n    {\"signer\": ",
            addr(p1),
            ", \"channelId\": ",
            hex32(id),
            ", \"generation\": 1, \"balanceProofHash\": ",
            hex32(bp),
            ", \"structHash\": ",
            hex32(ncu),
            ", \"digest\": ",
            hex32(d),
            ", \"signature\": ",
            hexBytes(signed(key1, d)),
            "}\n  ],\n"
        );
    }

    /// @dev A cooperative close signed by both.
    function ccSection(bytes32 sep, bytes32 id) internal view returns (string memory) {
        bytes32 cc = keccak256(abi.encode(CC_TYPEHASH, id, uint64(1), uint256(3 ether), uint256(7 ether)));
        bytes32 d = digest(sep, cc);
        return string.concat(
            "  \"cooperativeCloses\": [\n    {\"channelId\": ",
            hex32(id),
            ", \"generation\": 1, \"balance1\": ",
            dec(3 ether),
            ", \"balance2\": ",
            dec(7 ether),
            ", \"structHash\": ",
            hex32(cc),
            ", \"digest\": ",
            hex32(d),
            ", \"signature1\": ",
            hexBytes(signed(key1, d)),
            ", \"signature2\": ",
            hexBytes(signed(key2, d)),
            "}\n  ]\n}\n"
        );
    }

    function bpEntry(
        bytes32 sep,
        uint256 key,
        address signer,
        bytes32 id,
        uint64 g,
        uint64 nonce,
        uint256 t,
        uint256 l,
        bytes32 root,
        bool withHighS
    ) internal pure returns (string memory entry) {
        bytes32 h = bpStructHash(id, g, nonce, t, l, root);
        bytes32 d = digest(sep, h);
        bytes memory signature = signed(key, d);
        entry = string.concat(
            "    {\"signer\": ",
            addr(signer),
            ", \"channelId\": ",
            hex32(id),
            ", \"generation\": ",
            cvm.toString(uint256(g)),
            ", \"nonce\": ",
            cvm.toString(uint256(nonce)),
            ", \"transferredAmount\": ",
            dec(t),
            ", \"lockedAmount\": ",
            dec(l),
            ", \"locksRoot\": ",
            hex32(root)
        );
        entry = string.concat(
            entry, ", \"structHash\": ", hex32(h), ", \"digest\": ", hex32(d), ", \"signature\": ", hexBytes(signature)
        );
        if (withHighS) {
            // The same signature made non-canonical (s' = n - s, v flipped): must be refused.
            entry = string.concat(entry, ", \"highSSignature\": ", hexBytes(highS(signature)));
        }
        entry = string.concat(entry, "}");
    }
}
