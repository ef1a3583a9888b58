// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {PlasmaFramework} from "../../src/plasma/PlasmaFramework.sol";
import {PaymentStandardExitGame} from "../../src/plasma/PaymentStandardExitGame.sol";
import {PaymentInFlightExitGame} from "../../src/plasma/PaymentInFlightExitGame.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice A deployed plasma (framework, both exit games, a listed token), the users' keys, and
///         what a client does off-chain: build and sign transactions, build block trees and proofs.
abstract contract PlasmaFixture is Test {
    uint256 internal constant PERIOD = 1 hours;
    uint256 internal constant GAS_PRICE = 1 gwei;
    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;
    uint256 internal constant CAROL_KEY = 0xCA201;
    uint256 internal constant MALLORY_KEY = 0x3A11;
    address internal constant OPERATOR = address(0x09E2A702);
    address internal constant CHALLENGER = address(0xC4A11);

    PlasmaFramework internal framework;
    PaymentStandardExitGame internal seg;
    PaymentInFlightExitGame internal ife;
    TestToken internal token;
    address internal alice;
    address internal bob;
    address internal carol;
    address internal mallory;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        framework = new PlasmaFramework(OPERATOR, address(this), PERIOD, GAS_PRICE);
        seg = new PaymentStandardExitGame(framework);
        ife = new PaymentInFlightExitGame(framework);
        framework.initExitGames(address(seg), address(ife));
        token = new TestToken("Test", "TST", 18);
        framework.registerToken(address(token));
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        carol = vm.addr(CAROL_KEY);
        mallory = vm.addr(MALLORY_KEY);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        vm.deal(carol, 100 ether);
        vm.deal(mallory, 100 ether);
        vm.deal(CHALLENGER, 100 ether);
    }

    // ------------------------------------------------------------------ transactions

    function _out(address owner, address tkn, uint256 amount) internal pure returns (PlasmaTx.Output memory) {
        return PlasmaTx.Output(owner, tkn, amount);
    }

    function _tx(uint256[] memory inputs, PlasmaTx.Output[] memory outputs, bytes32 metadata)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(PlasmaTx.Transaction(1, inputs, outputs, metadata));
    }

    /// @dev One input, one or two ETH outputs.
    function _pay(uint256 input, address to, uint256 amount, address change, uint256 changeAmount)
        internal
        pure
        returns (bytes memory)
    {
        uint256[] memory ins = new uint256[](1);
        ins[0] = input;
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](changeAmount == 0 ? 1 : 2);
        outs[0] = _out(to, address(0), amount);
        if (changeAmount != 0) outs[1] = _out(change, address(0), changeAmount);
        return _tx(ins, outs, bytes32(0));
    }

    function _sign(uint256 key, bytes memory txBytes) internal view returns (bytes memory) {
        bytes32 d = PlasmaTx.digest(PlasmaTx.decode(txBytes), framework.domainSeparator());
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, d);
        return abi.encodePacked(r, s, v);
    }

    function _pos(uint256 blknum, uint256 txindex, uint256 oindex) internal pure returns (uint256) {
        return blknum * 1_000_000_000 + txindex * 10_000 + oindex;
    }

    // ------------------------------------------------------------------ blocks

    function _zeros() internal pure returns (bytes32[17] memory z) {
        for (uint256 l = 0; l < 16; l++) {
            z[l + 1] = keccak256(abi.encodePacked(z[l], z[l]));
        }
    }

    /// @dev The root of the block holding `leaves`, and the proof of leaf `index`.
    function _tree(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32 root, bytes memory proof) {
        bytes32[17] memory z = _zeros();
        bytes32[] memory nodes = leaves;
        proof = new bytes(512);
        uint256 idx = index;
        for (uint256 l = 0; l < 16; l++) {
            uint256 sib = idx ^ 1;
            bytes32 s = sib < nodes.length ? nodes[sib] : z[l];
            assembly ("memory-safe") {
                mstore(add(proof, mul(add(l, 1), 32)), s)
            }
            uint256 n = (nodes.length + 1) / 2;
            bytes32[] memory up = new bytes32[](n);
            for (uint256 k = 0; k < n; k++) {
                bytes32 right = 2 * k + 1 < nodes.length ? nodes[2 * k + 1] : z[l];
                up[k] = keccak256(abi.encodePacked(nodes[2 * k], right));
            }
            nodes = up;
            idx >>= 1;
        }
        root = nodes.length == 0 ? z[16] : nodes[0];
    }

    function _leaves(bytes[] memory txs) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](txs.length);
        for (uint256 i = 0; i < txs.length; i++) {
            leaves[i] = keccak256(txs[i]);
        }
    }

    /// @dev Submits a block of `txs` as the operator; returns its number.
    function _submit(bytes[] memory txs) internal returns (uint256 blknum) {
        (bytes32 root,) = _tree(_leaves(txs), 0);
        vm.prank(OPERATOR);
        blknum = framework.submitBlock(root);
    }

    function _submit1(bytes memory txBytes) internal returns (uint256) {
        bytes[] memory txs = new bytes[](1);
        txs[0] = txBytes;
        return _submit(txs);
    }

    function _proofOf(bytes[] memory txs, uint256 index) internal pure returns (bytes memory proof) {
        (, proof) = _tree(_leaves(txs), index);
    }

    /// @dev The proof of the only transaction of a block.
    function _proof1(bytes memory txBytes) internal pure returns (bytes memory proof) {
        bytes[] memory txs = new bytes[](1);
        txs[0] = txBytes;
        return _proofOf(txs, 0);
    }

    /// @dev `owner` deposits `amount` wei; returns the deposit position and transaction.
    function _depositETH(address owner, uint256 amount) internal returns (uint256 pos, bytes memory txBytes) {
        vm.deal(address(this), address(this).balance + amount);
        uint256 blknum = framework.depositETH{value: amount}(owner);
        pos = _pos(blknum, 0, 0);
        txBytes = framework.depositTx(owner, address(0), amount, blknum);
    }

    function _startExit(uint256 key, uint256 pos, bytes memory txBytes, bytes memory proof)
        internal
        returns (uint160 exitId)
    {
        address owner = vm.addr(key);
        uint256 b = seg.bond();
        vm.prank(owner);
        exitId = seg.startStandardExit{value: b}(pos, txBytes, proof);
    }

    function _one(bytes memory a) internal pure returns (bytes[] memory arr) {
        arr = new bytes[](1);
        arr[0] = a;
    }
}
