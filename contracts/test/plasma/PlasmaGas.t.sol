// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {PlasmaFixture} from "./PlasmaFixture.sol";
import {PlasmaFramework} from "../../src/plasma/PlasmaFramework.sol";
import {PaymentStandardExitGame} from "../../src/plasma/PaymentStandardExitGame.sol";
import {PaymentInFlightExitGame} from "../../src/plasma/PaymentInFlightExitGame.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";

/// @notice The L1 gas of each plasma operation (docs/plasma.md, "Gas"), as whole transactions:
///         execution (forge's `lastCallGas`) plus the 21,000 base and the calldata (EIP-2028,
///         with the EIP-7623 floor). Run with `-vv` to read the figures; the asserts hold the
///         targets and keep every bond at least the gas of the challenge it invites.
contract PlasmaGasTest is PlasmaFixture {
    event log_named_uint(string key, uint256 val);

    /// @dev Calls `target` with `data` as `from` and returns the transaction's total gas.
    function _measure(string memory name, address from, address target, uint256 value, bytes memory data)
        internal
        returns (uint256 total)
    {
        vm.prank(from);
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        uint256 exec = vm.lastCallGas().gasTotalUsed;
        uint256 tokens;
        for (uint256 i = 0; i < data.length; i++) {
            tokens += data[i] == 0 ? 1 : 4;
        }
        uint256 standard = 21_000 + 4 * tokens + exec;
        uint256 floor = 21_000 + 10 * tokens;
        total = standard > floor ? standard : floor;
        emit log_named_uint(name, total);
    }

    /// @dev The root of a block of `n` payment transactions (leaves hashed one at a time, memory
    ///      released after each) and the proof of the last one.
    function _bigBlock(uint256 n) internal view returns (bytes32 root, bytes memory lastTx, bytes memory proof) {
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 free;
            assembly ("memory-safe") {
                free := mload(0x40)
            }
            bytes32 leaf = keccak256(_pay(_pos(1, 0, 0), alice, i + 1, bob, 1));
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
            leaves[i] = leaf;
        }
        lastTx = _pay(_pos(1, 0, 0), alice, n, bob, 1);
        (root, proof) = _tree(leaves, n - 1);
    }

    function test_GasDepositBlocksStandardExit() public {
        // deposits (the second one of an interval: the typical case)
        _depositETH(carol, 1 ether);
        _measure("depositETH", alice, address(framework), 10 ether, abi.encodeCall(framework.depositETH, (alice)));

        // blocks of 1,000 and 10,000 transactions: only the root reaches L1
        (bytes32 root1k,,) = _bigBlock(1000);
        uint256 sub1k = _measure(
            "submitBlock (1,000 txs)", OPERATOR, address(framework), 0, abi.encodeCall(framework.submitBlock, (root1k))
        );
        (bytes32 root10k, bytes memory lastTx, bytes memory lastProof) = _bigBlock(10_000);
        uint256 sub10k = _measure(
            "submitBlock (10,000 txs)", OPERATOR, address(framework), 0, abi.encodeCall(framework.submitBlock, (root10k))
        );
        emit log_named_uint("L1 gas per tx, blocks of 1,000", sub1k / 1000);
        emit log_named_uint("L1 gas per tx, blocks of 10,000", sub10k / 10_000);
        vm.assertLe(sub10k, 30 * 10_000, "target: at most 30 L1 gas per transaction at 10,000");

        // a standard exit of the last transaction of the 10,000 (a full-depth proof)
        uint256 exitPos = _pos(2000, 9999, 0);
        uint256 se = _measure(
            "startStandardExit",
            alice,
            address(seg),
            seg.bond(),
            abi.encodeCall(seg.startStandardExit, (exitPos, lastTx, lastProof))
        );
        vm.assertLe(se, 250_000, "target: a standard exit at most 250,000 gas");

        // its challenge (alice spent the output)
        bytes memory spend = _pay(exitPos, carol, 1, carol, 0);
        bytes memory sig = _sign(ALICE_KEY, spend);
        uint160 exitId = seg.exitIdOf(keccak256(lastTx), 0);
        uint256 ch = _measure(
            "challengeStandardExit",
            CHALLENGER,
            address(seg),
            0,
            abi.encodeCall(seg.challengeStandardExit, (exitId, spend, 0, sig))
        );
        vm.assertLe(ch, seg.STANDARD_EXIT_CHALLENGE_GAS(), "the bond covers the challenge");
    }

    function _startIfe() internal returns (uint160 ifeId, bytes memory t, uint256 aPos) {
        bytes memory aDep;
        (aPos, aDep) = _depositETH(alice, 10 ether);
        t = _pay(aPos, bob, 4 ether, alice, 6 ether);
        bytes memory tSig = _sign(ALICE_KEY, t);
        uint256 ifeStart = _measure(
            "startInFlightExit (1 in, 2 out)",
            bob,
            address(ife),
            ife.bond(),
            abi.encodeCall(ife.startInFlightExit, (t, _one(aDep), _one(_proof1(aDep)), _one(tSig)))
        );
        ifeId = ife.exitIdOf(keccak256(t));
        uint256 pig = _measure(
            "piggybackInFlightExitOnOutput",
            bob,
            address(ife),
            ife.piggybackBond(),
            abi.encodeCall(ife.piggybackInFlightExitOnOutput, (ifeId, 0))
        );
        emit log_named_uint("in-flight exit with a piggyback", ifeStart + pig);
        _measure(
            "piggybackInFlightExitOnInput",
            alice,
            address(ife),
            ife.piggybackBond(),
            abi.encodeCall(ife.piggybackInFlightExitOnInput, (ifeId, 0))
        );
    }

    function test_GasInFlightExitAndItsChallenges() public {
        (uint160 ifeId,, uint256 aPos) = _startIfe();
        bytes memory competitor = _pay(aPos, carol, 10 ether, carol, 0);
        PaymentInFlightExitGame.CanonicityChallenge memory cc = PaymentInFlightExitGame.CanonicityChallenge({
            exitId: ifeId,
            inputIndex: 0,
            competingTx: competitor,
            competingInputIndex: 0,
            competingSignature: _sign(ALICE_KEY, competitor),
            competingTxPos: 0,
            competingProof: ""
        });
        uint256 snap = vm.snapshotState();
        uint256 canon = _measure(
            "challengeInFlightExitNotCanonical",
            CHALLENGER,
            address(ife),
            0,
            abi.encodeCall(ife.challengeInFlightExitNotCanonical, (cc))
        );
        vm.assertLe(canon, ife.IFE_CANONICITY_CHALLENGE_GAS(), "the IFE bond covers the canonicity challenge");
        vm.revertToState(snap);
        uint256 inSpent = _measure(
            "challengeInFlightExitInputSpent",
            CHALLENGER,
            address(ife),
            0,
            abi.encodeCall(ife.challengeInFlightExitInputSpent, (ifeId, 0, competitor, 0, cc.competingSignature))
        );
        vm.assertLe(inSpent, ife.PIGGYBACK_CHALLENGE_GAS(), "the piggyback bond covers the input-spent challenge");
    }

    function test_GasProcessing() public {
        _startIfe();
        (uint256 cPos, bytes memory cDep) = _depositETH(carol, 1 ether);
        uint256 b = seg.bond();
        vm.prank(carol);
        seg.startStandardExit{value: b}(cPos, cDep, _proof1(cDep));
        vm.warp(block.timestamp + 3 * PERIOD);
        _measure(
            "processExits (1 in-flight exit, 2 piggybacks)",
            address(this),
            address(framework),
            0,
            abi.encodeCall(framework.processExits, (address(0), 1))
        );
        _measure(
            "processExits (1 standard exit)",
            address(this),
            address(framework),
            0,
            abi.encodeCall(framework.processExits, (address(0), 1))
        );
        vm.assertEq(framework.queueSize(address(0)), 0);
    }

    function test_OutputSpentChallengeWithinItsBond() public {
        (uint256 aPos, bytes memory aDep) = _depositETH(alice, 10 ether);
        bytes memory t = _pay(aPos, bob, 4 ether, alice, 6 ether);
        bytes[] memory txs = new bytes[](1000);
        for (uint256 i = 0; i < 1000; i++) {
            txs[i] = i == 999 ? t : _pay(_pos(9, 0, 0), carol, i + 1, carol, 0);
        }
        uint256 blk = _submit(txs);
        uint256 outPos = _pos(blk, 999, 0);
        bytes memory tSig = _sign(ALICE_KEY, t);
        uint256 ib = ife.bond();
        vm.prank(bob);
        uint160 ifeId = ife.startInFlightExit{value: ib}(t, _one(aDep), _one(_proof1(aDep)), _one(tSig));
        uint256 pb = ife.piggybackBond();
        vm.prank(bob);
        ife.piggybackInFlightExitOnOutput{value: pb}(ifeId, 0);
        bytes memory spend = _pay(outPos, carol, 4 ether, carol, 0);
        PaymentInFlightExitGame.OutputSpentChallenge memory c = PaymentInFlightExitGame.OutputSpentChallenge({
            exitId: ifeId,
            outputIndex: 0,
            inFlightTx: t,
            outputPos: outPos,
            inclusionProof: _proofOf(txs, 999),
            spendingTx: spend,
            spendingInputIndex: 0,
            signature: _sign(BOB_KEY, spend)
        });
        uint256 g = _measure(
            "challengeInFlightExitOutputSpent", CHALLENGER, address(ife), 0, abi.encodeCall(ife.challengeInFlightExitOutputSpent, (c))
        );
        vm.assertLe(g, ife.PIGGYBACK_CHALLENGE_GAS(), "the piggyback bond covers the output-spent challenge");
    }

    function test_CanonicityChallengeWithInclusionWithinItsBond() public {
        (uint256 aPos, bytes memory aDep) = _depositETH(alice, 10 ether);
        bytes memory t = _pay(aPos, bob, 4 ether, alice, 6 ether);
        bytes memory competitor = _pay(aPos, carol, 10 ether, carol, 0);
        bytes[] memory txs = new bytes[](1000);
        for (uint256 i = 0; i < 1000; i++) {
            txs[i] = i == 999 ? competitor : _pay(_pos(9, 0, 0), carol, i + 1, carol, 0);
        }
        uint256 blk = _submit(txs);
        bytes memory tSig = _sign(ALICE_KEY, t);
        uint256 ib = ife.bond();
        vm.prank(bob);
        uint160 ifeId = ife.startInFlightExit{value: ib}(t, _one(aDep), _one(_proof1(aDep)), _one(tSig));
        PaymentInFlightExitGame.CanonicityChallenge memory cc = PaymentInFlightExitGame.CanonicityChallenge({
            exitId: ifeId,
            inputIndex: 0,
            competingTx: competitor,
            competingInputIndex: 0,
            competingSignature: _sign(ALICE_KEY, competitor),
            competingTxPos: _pos(blk, 999, 0),
            competingProof: _proofOf(txs, 999)
        });
        uint256 g = _measure(
            "challengeInFlightExitNotCanonical (included competitor)",
            CHALLENGER,
            address(ife),
            0,
            abi.encodeCall(ife.challengeInFlightExitNotCanonical, (cc))
        );
        vm.assertLe(g, ife.IFE_CANONICITY_CHALLENGE_GAS(), "the IFE bond covers the canonicity challenge");
    }
}
