// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";
import * as PlasmaMerkle from "../../src/plasma/PlasmaMerkle.sol";
import * as ExitPriority from "../../src/plasma/ExitPriority.sol";

/// @notice The format fixtures `crates/plasma/tests/fixtures/plasma_v1.json` pins: what the
///         contracts compute for a sample transaction (canonical bytes, hash, EIP-712 struct hash,
///         domain separator, digest, signature, output and exit ids), a deposit transaction and
///         a block tree with a proof. The Rust core recomputes each value from the file; this test
///         fails when the contracts would compute anything else.
/// @dev To refresh after a deliberate format change (a new version): run this test with `-vv`,
///      write the logged line (plus a newline) to the fixture file and update `FIXTURE_HASH`.
contract PlasmaFixturesTest is Test {
    event log(string);

    /// @dev keccak256 of the fixture file's bytes.
    bytes32 internal constant FIXTURE_HASH = 0x2b31635996efbe782b5dee35d3855405076b3b55fc34994bfb2b6cc0d0b970fc;

    address internal constant VERIFYING_CONTRACT = 0x1111111111111111111111111111111111111111;
    address internal constant TOKEN = 0x2222222222222222222222222222222222222222;
    uint256 internal constant KEY = 0xA11CE;

    function _hex(bytes memory b) internal pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(2 + 2 * b.length);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i = 0; i < b.length; i++) {
            out[2 + 2 * i] = digits[uint8(b[i]) >> 4];
            out[3 + 2 * i] = digits[uint8(b[i]) & 15];
        }
        return string(out);
    }

    function _h(bytes32 x) internal pure returns (string memory) {
        return _hex(abi.encodePacked(x));
    }

    function _kv(string memory k, string memory v) internal pure returns (string memory) {
        return string.concat('"', k, '":"', v, '"');
    }

    function _sample() internal view returns (PlasmaTx.Transaction memory t) {
        t.version = 1;
        t.inputs = new uint256[](2);
        t.inputs[0] = 1000 * 1e9 + 3 * 1e4 + 1;
        t.inputs[1] = 2 * 1e9;
        t.outputs = new PlasmaTx.Output[](2);
        t.outputs[0] = PlasmaTx.Output(vm.addr(0xB0B), address(0), 5 ether);
        t.outputs[1] = PlasmaTx.Output(vm.addr(KEY), TOKEN, 7);
        t.metadata = bytes32(uint256(42));
    }

    function _json() internal view returns (string memory) {
        PlasmaTx.Transaction memory t = _sample();
        bytes memory txBytes = abi.encode(t);
        string memory j = _signing(t, txBytes);
        bytes32 txHash = keccak256(txBytes);
        bytes32 oid = PlasmaTx.outputId(txHash, 1);
        uint160 stdId = uint160(uint256(oid)) & ((uint160(1) << 159) - 1);
        uint160 ifeId = uint160(uint256(txHash)) | (uint160(1) << 159);
        j = _add(j, "output_id_1", _h(oid));
        j = _add(j, "standard_exit_id_1", _hex(abi.encodePacked(stdId)));
        j = _add(j, "in_flight_exit_id", _hex(abi.encodePacked(ifeId)));
        j = _add(j, "priority", _h(bytes32(ExitPriority.compute(1_700_000_000, uint64(t.inputs[0]), stdId))));
        return string.concat(j, _blockPart(txBytes), "}");
    }

    function _signing(PlasmaTx.Transaction memory t, bytes memory txBytes) internal view returns (string memory j) {
        bytes32 separator = PlasmaTx.domainSeparator(VERIFYING_CONTRACT);
        bytes32 d = PlasmaTx.digest(t, separator);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(KEY, d);
        j = '{"version":1,"chain_id":31337';
        j = _add(j, "verifying_contract", _hex(abi.encodePacked(VERIFYING_CONTRACT)));
        j = _add(j, "signer", _hex(abi.encodePacked(vm.addr(KEY))));
        j = _add(j, "tx", _hex(txBytes));
        j = _add(j, "tx_hash", _h(keccak256(txBytes)));
        j = _add(j, "struct_hash", _h(PlasmaTx.structHash(t)));
        j = _add(j, "domain_separator", _h(separator));
        j = _add(j, "digest", _h(d));
        j = _add(j, "signature", _hex(abi.encodePacked(r, s, v)));
    }

    function _add(string memory acc, string memory k, string memory v) internal pure returns (string memory) {
        return string.concat(acc, ",", _kv(k, v));
    }

    function _blockPart(bytes memory txBytes) internal view returns (string memory) {
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](1);
        outs[0] = PlasmaTx.Output(vm.addr(KEY), address(0), 1 ether);
        bytes memory dep = abi.encode(PlasmaTx.Transaction(1, new uint256[](0), outs, bytes32(uint256(1))));
        bytes memory third = bytes.concat(txBytes); // a block may hold the same bytes twice
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256(txBytes);
        leaves[1] = keccak256(dep);
        leaves[2] = keccak256(third);
        (bytes32 root, bytes memory proof) = _tree(leaves, 1);
        bytes32 check = PlasmaMerkle.rootFrom(leaves[1], 1, proof);
        require(check == root, "tree");
        return string.concat(
            ",",
            _kv("deposit_tx", _hex(dep)),
            ",",
            _kv("deposit_root", _h(PlasmaMerkle.singleLeafRoot(keccak256(dep)))),
            ",",
            _kv("block_root", _h(root)),
            ",",
            _kv("proof_1", _hex(proof))
        );
    }

    function _tree(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32 root, bytes memory proof) {
        bytes32[17] memory z;
        for (uint256 l = 0; l < 16; l++) {
            z[l + 1] = keccak256(abi.encodePacked(z[l], z[l]));
        }
        bytes32[] memory nodes = leaves;
        proof = new bytes(512);
        for (uint256 l = 0; l < 16; l++) {
            uint256 sib = (index >> l) ^ 1;
            bytes32 s = sib < nodes.length ? nodes[sib] : z[l];
            assembly ("memory-safe") {
                mstore(add(proof, mul(add(l, 1), 32)), s)
            }
            bytes32[] memory up = new bytes32[]((nodes.length + 1) / 2);
            for (uint256 k = 0; k < up.length; k++) {
                up[k] = keccak256(abi.encodePacked(nodes[2 * k], 2 * k + 1 < nodes.length ? nodes[2 * k + 1] : z[l]));
            }
            nodes = up;
        }
        root = nodes[0];
    }

    function test_FixturesPinned() public {
        vm.assertEq(block.chainid, 31337);
        string memory json = _json();
        emit log(json);
        vm.assertEq(keccak256(bytes(string.concat(json, "\n"))), FIXTURE_HASH, "plasma_v1.json is stale");
    }
}
