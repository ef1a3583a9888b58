// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {ValidatorSet} from "../../src/sidechain/ValidatorSet.sol";
import {Checkpoint, Withdrawal, ValidatorSetRotation} from "../../src/sidechain/SidechainMessages.sol";
import {SidechainFixture} from "./SidechainFixture.sol";

/// @notice The EIP-712 fixtures of the sidechain bridge's message formats, version 1
///         (crates/sidechain/tests/fixtures/eip712_v1.json, docs/sidechain.md "Fixtures").
/// @dev The hashes are computed here from the type strings of docs/sidechain.md, independently of
///      the contract (`SidechainFixture`), checked against a live deployment, then computed for the
///      fixtures' fixed domain (chain 31337, `FIXTURE_CONTRACT`) and signed with `vm.sign`. The
///      test prints the JSON (`forge test --match-test test_Eip712FixturesV1 -vv`) and pins its
///      keccak256, so the checked-in file and this test cannot drift apart silently. Regenerate the
///      file with the command in docs/sidechain.md ("Fixtures"), and change `FIXTURE_HASH` only
///      together with it (a new format version gets a new file).
contract SidechainFixturesTest is SidechainFixture {
    event log_string(string val);

    address internal constant FIXTURE_CONTRACT = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    uint256 internal constant FIXTURE_CHAIN_ID = 31337;
    address internal constant FIXTURE_TOKEN = 0x000000000000000000000000000000000000dEaD;
    bytes32 internal constant FIXTURE_HASH = 0x0121a280c6e362f72478c9f512e2c9cb8a888457085701c32fce7e7200fe3db1;

    function separator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes("PlySidechainBridge")),
                keccak256(bytes("1")),
                chainId,
                verifyingContract
            )
        );
    }

    /// @dev The independent implementation agrees with the contract (on its own address).
    function test_IndependentHashesMatchContract() public view {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        vm.assertEq(cpDigest(bridge, cp), bridge.checkpointDigest(cp));
        vm.assertEq(separatorOf(address(bridge)), bridge.domainSeparator());
        vm.assertEq(separator(block.chainid, address(bridge)), bridge.domainSeparator());
        ValidatorSetRotation memory rot = rotationTo(bridge, addrs);
        rot.weights[3] = 7;
        vm.assertEq(rotDigest(bridge, rot), bridge.rotationDigest(rot));
        Withdrawal memory w = withdrawal(3, 5, alice, address(token), 123);
        vm.assertEq(leafOf(w), bridge.withdrawalLeaf(w));
    }

    // ---- JSON helpers ----

    function q(string memory s) internal pure returns (string memory) {
        return string.concat("\"", s, "\"");
    }

    function h(bytes32 v) internal pure returns (string memory) {
        return q(svm.toString(v));
    }

    function d(uint256 v) internal pure returns (string memory) {
        return q(svm.toString(v));
    }

    function a(address v) internal pure returns (string memory) {
        return q(svm.toString(v));
    }

    function b(bytes memory v) internal pure returns (string memory) {
        return q(svm.toString(v));
    }

    function sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    // ---- the fixture ----

    function keysJson() internal view returns (string memory out) {
        out = "  \"keys\": [\n";
        for (uint256 i = 0; i < 4; ++i) {
            out = string.concat(
                out,
                "    {\"privateKey\": ",
                h(bytes32(keys[i])),
                ", \"address\": ",
                a(addrs[i]),
                "}",
                i == 3 ? "\n" : ",\n"
            );
        }
        out = string.concat(out, "  ],\n");
    }

    function domainJson(bytes32 sep) internal pure returns (string memory) {
        return string.concat(
            "  \"domain\": {\"name\": \"PlySidechainBridge\", \"version\": \"1\", \"chainId\": ",
            svm.toString(FIXTURE_CHAIN_ID),
            ", \"verifyingContract\": ",
            a(FIXTURE_CONTRACT),
            "},\n  \"domainSeparator\": ",
            h(sep),
            ",\n  \"typeHashes\": {\"EIP712Domain\": ",
            h(keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
            ", \"Checkpoint\": ",
            h(
                keccak256(
                    "Checkpoint(uint64 sidechainId,uint64 number,uint64 startBlock,uint64 endBlock,bytes32 endBlockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)"
                )
            ),
            ", \"Withdrawal\": ",
            h(
                keccak256(
                    "Withdrawal(uint64 sidechainId,uint64 checkpointNumber,uint64 index,address recipient,address token,uint256 amount,bytes32 burnTxHash)"
                )
            ),
            ", \"ValidatorSetRotation\": ",
            h(
                keccak256(
                    "ValidatorSetRotation(uint64 sidechainId,uint64 epoch,address[] validators,uint64[] weights,uint32 thresholdNumerator)"
                )
            ),
            "},\n"
        );
    }

    function withdrawalJson(Withdrawal memory w, bytes32[] memory proof, bool last)
        internal
        pure
        returns (string memory out)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Withdrawal(uint64 sidechainId,uint64 checkpointNumber,uint64 index,address recipient,address token,uint256 amount,bytes32 burnTxHash)"
                ),
                w.sidechainId,
                w.checkpointNumber,
                w.index,
                w.recipient,
                w.token,
                w.amount,
                w.burnTxHash
            )
        );
        out = string.concat(
            "    {\"sidechainId\": ",
            d(w.sidechainId),
            ", \"checkpointNumber\": ",
            d(w.checkpointNumber),
            ", \"index\": ",
            d(w.index),
            ", \"recipient\": ",
            a(w.recipient),
            ", \"token\": ",
            a(w.token),
            ", \"amount\": ",
            d(w.amount)
        );
        out = string.concat(
            out,
            ", \"burnTxHash\": ",
            h(w.burnTxHash),
            ",\n     \"structHash\": ",
            h(structHash),
            ", \"leaf\": ",
            h(leafOf(w)),
            ",\n     \"proof\": ["
        );
        for (uint256 i = 0; i < proof.length; ++i) {
            out = string.concat(out, h(proof[i]), i + 1 == proof.length ? "]}" : ", ");
        }
        out = string.concat(out, last ? "\n" : ",\n");
    }

    function fixtureWithdrawals() internal view returns (Withdrawal[] memory ws) {
        ws = new Withdrawal[](3);
        ws[0] = withdrawal(1, 0, addrs[0], address(0), 1 ether);
        ws[1] = withdrawal(1, 1, addrs[1], FIXTURE_TOKEN, 2 ** 128 - 1);
        ws[2] = withdrawal(1, 2, addrs[2], address(0), 1);
    }

    function fixtureCheckpoint(bytes32 root) internal pure returns (Checkpoint memory) {
        return Checkpoint({
            sidechainId: SIDECHAIN_ID,
            number: 1,
            startBlock: 1,
            endBlock: INTERVAL,
            endBlockHash: keccak256("fixture end block"),
            stateRoot: keccak256("fixture state root"),
            withdrawalsRoot: root,
            epoch: 1
        });
    }

    function fixtureRotation() internal view returns (ValidatorSetRotation memory) {
        address[] memory vs = new address[](3);
        uint64[] memory ws = new uint64[](3);
        for (uint256 i = 0; i < 3; ++i) {
            vs[i] = addrs[i + 1];
            ws[i] = uint64(i + 1);
        }
        return ValidatorSetRotation({
            sidechainId: SIDECHAIN_ID, epoch: 2, validators: vs, weights: ws, thresholdNumerator: THRESHOLD
        });
    }

    function withdrawalsJson() internal view returns (string memory out, bytes32 root) {
        Withdrawal[] memory ws = fixtureWithdrawals();
        bytes32[][] memory proofs;
        (root, proofs) = treeOf(ws);
        out = string.concat("  \"emptyWithdrawalsRoot\": ", h(emptyRoot()), ",\n  \"withdrawals\": [\n");
        for (uint256 i = 0; i < ws.length; ++i) {
            out = string.concat(out, withdrawalJson(ws[i], proofs[i], i + 1 == ws.length));
        }
        out = string.concat(out, "  ],\n  \"withdrawalsRoot\": ", h(root), ",\n");
    }

    function signaturesJson(bytes32 digest, uint256 count) internal view returns (string memory out) {
        bytes memory all;
        out = "\"signatures\": [";
        for (uint256 i = 0; i < count; ++i) {
            bytes memory s = sig(keys[i], digest);
            all = bytes.concat(all, s);
            out = string.concat(out, b(s), i + 1 == count ? "]" : ", ");
        }
        out = string.concat(out, ", \"signaturesConcatenated\": ", b(all));
    }

    function checkpointJson(bytes32 sep, bytes32 root) internal view returns (string memory out) {
        Checkpoint memory cp = fixtureCheckpoint(root);
        bytes32 structHash = checkpointStructHash(cp);
        bytes32 digest = eip712(sep, structHash);
        out = string.concat(
            "  \"checkpoint\": {\"sidechainId\": ",
            d(cp.sidechainId),
            ", \"number\": ",
            d(cp.number),
            ", \"startBlock\": ",
            d(cp.startBlock),
            ", \"endBlock\": ",
            d(cp.endBlock),
            ", \"endBlockHash\": ",
            h(cp.endBlockHash),
            ", \"stateRoot\": ",
            h(cp.stateRoot)
        );
        out = string.concat(
            out,
            ", \"withdrawalsRoot\": ",
            h(cp.withdrawalsRoot),
            ", \"epoch\": ",
            d(cp.epoch),
            ",\n    \"structHash\": ",
            h(structHash),
            ", \"digest\": ",
            h(digest),
            ",\n    ",
            signaturesJson(digest, 3)
        );
        bytes memory first = sig(keys[0], digest);
        out = string.concat(out, ",\n    \"highSSignature\": ", b(highS(first)), "},\n");
    }

    function rotationJson(bytes32 sep) internal view returns (string memory out) {
        ValidatorSetRotation memory rot = fixtureRotation();
        address[] memory vs = rot.validators;
        bytes32 structHash = rotationStructHash(rot);
        bytes32 digest = eip712(sep, structHash);
        out = string.concat(
            "  \"rotation\": {\"sidechainId\": ",
            d(rot.sidechainId),
            ", \"epoch\": ",
            d(rot.epoch),
            ", \"validators\": [",
            a(vs[0]),
            ", ",
            a(vs[1]),
            ", ",
            a(vs[2]),
            "], \"weights\": [\"1\", \"2\", \"3\"], \"thresholdNumerator\": ",
            d(rot.thresholdNumerator)
        );
        out = string.concat(
            out,
            ",\n    \"structHash\": ",
            h(structHash),
            ", \"digest\": ",
            h(digest),
            ",\n    ",
            signaturesJson(digest, 3),
            "}\n"
        );
    }

    function fixtureJson() internal view returns (string memory json) {
        bytes32 sep = separator(FIXTURE_CHAIN_ID, FIXTURE_CONTRACT);
        (string memory withdrawals, bytes32 root) = withdrawalsJson();
        json = string.concat(
            "{\n  \"version\": 1,\n  \"comment\": \"ply sidechain bridge EIP-712 fixtures (docs/sidechain.md); generated by contracts/test/sidechain/SidechainFixtures.t.sol\",\n",
            keysJson(),
            domainJson(sep),
            withdrawals,
            checkpointJson(sep, root),
            rotationJson(sep),
            "}\n"
        );
    }

    /// @dev The fixtures' signatures and proofs are accepted by a real bridge deployed at the
    ///      fixtures' domain (chain 31337, the first contract created by the usual dev account), and
    ///      the high-s variant is refused.
    function test_FixturesAcceptedAtTheirDomain() public {
        svm.chainId(FIXTURE_CHAIN_ID);
        address deployer = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;
        SidechainBridge.Config memory c = config(4);
        vm.prank(deployer);
        SidechainBridge real = new SidechainBridge(c);
        vm.assertEq(address(real), FIXTURE_CONTRACT);
        vm.assertEq(real.domainSeparator(), separator(FIXTURE_CHAIN_ID, FIXTURE_CONTRACT));

        Withdrawal[] memory ws = fixtureWithdrawals();
        (bytes32 root, bytes32[][] memory proofs) = treeOf(ws);
        Checkpoint memory cp = fixtureCheckpoint(root);
        bytes32 digest = eip712(separator(FIXTURE_CHAIN_ID, FIXTURE_CONTRACT), checkpointStructHash(cp));
        vm.assertEq(real.checkpointDigest(cp), digest);
        bytes memory first = sig(keys[0], digest);
        bytes memory rest = bytes.concat(sig(keys[1], digest), sig(keys[2], digest));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignature.selector, 0));
        real.submitCheckpoint(cp, bytes.concat(highS(first), rest));
        real.submitCheckpoint(cp, bytes.concat(first, rest));

        vm.deal(address(real), 2 ether);
        vm.prank(GOVERNOR);
        real.setWithdrawalLimits(address(0), 1 ether, 1 ether);
        (, bool paid) = real.withdraw(ws[0], proofs[0]);
        vm.assertTrue(paid);
        vm.assertEq(addrs[0].balance, 1 ether);

        ValidatorSetRotation memory rot = fixtureRotation();
        bytes32 rotDigest_ = eip712(separator(FIXTURE_CHAIN_ID, FIXTURE_CONTRACT), rotationStructHash(rot));
        vm.assertEq(real.rotationDigest(rot), rotDigest_);
        real.rotateValidatorSet(
            rot, bytes.concat(sig(keys[0], rotDigest_), sig(keys[1], rotDigest_), sig(keys[2], rotDigest_))
        );
        vm.assertEq(real.epoch(), 2);
        vm.assertEq(uint256(real.totalWeight()), 6);
    }

    function test_Eip712FixturesV1() public {
        string memory json = fixtureJson();
        emit log_string(json);
        vm.assertEq(
            keccak256(bytes(json)), FIXTURE_HASH, "fixture JSON changed: regenerate the file (docs/sidechain.md)"
        );
    }
}
