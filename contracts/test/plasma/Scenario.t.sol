// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {PlasmaFixture} from "./PlasmaFixture.sol";
import {PlasmaFramework} from "../../src/plasma/PlasmaFramework.sol";
import {PaymentExitGameBase} from "../../src/plasma/PaymentExitGameBase.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";
import * as ExitPriority from "../../src/plasma/ExitPriority.sol";

/// @notice The attacks of the issue, end to end: an operator that includes a transaction spending
///         someone else's output, and a mass exit of 1,000 outputs in exact priority order.
contract ScenarioTest is PlasmaFixture {
    struct Chain {
        uint256 aliceDep;
        uint256 bobDep;
        uint256 carolDep;
        bytes aliceDepTx;
        bytes bobDepTx;
        bytes carolDepTx;
        bytes pay; // alice pays carol 4 of her 10, in block 1000
        uint256 payBlk;
        bytes theft; // the operator's transaction spending bob's deposit, in block 2000
        uint256 theftBlk;
    }

    function _chain() internal returns (Chain memory c) {
        (c.aliceDep, c.aliceDepTx) = _depositETH(alice, 10 ether);
        (c.bobDep, c.bobDepTx) = _depositETH(bob, 5 ether);
        (c.carolDep, c.carolDepTx) = _depositETH(carol, 3 ether);
        c.pay = _pay(c.aliceDep, carol, 4 ether, alice, 6 ether);
        c.payBlk = _submit1(c.pay);
        vm.warp(block.timestamp + 1 days);
        // the operator includes a transaction that spends bob's output without bob's signature
        c.theft = _pay(c.bobDep, mallory, 5 ether, mallory, 0);
        c.theftBlk = _submit1(c.theft);
    }

    function _processed(Vm.Log[] memory logs) internal view returns (uint160[] memory ids, uint256 k) {
        ids = new uint160[](logs.length);
        bytes32 topic = PlasmaFramework.ExitProcessed.selector;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(framework) && logs[i].topics[0] == topic) {
                ids[k++] = uint160(uint256(logs[i].topics[2]));
            }
        }
    }

    /// @notice Every honest user exits in full before the invalid output can, when they start
    ///         their exits within the exit period of the invalid block.
    function test_OperatorTheftEveryHonestUserExitsFirst() public {
        Chain memory c = _chain();
        uint256 theftTime = block.timestamp;
        // the operator exits the stolen output at once
        uint160 theftExit = _startExit(MALLORY_KEY, _pos(c.theftBlk, 0, 0), c.theft, _proof1(c.theft));
        // ...and tries to challenge bob's exit with the theft: bob never signed it
        vm.warp(theftTime + PERIOD - 1); // the honest users' deadline, at its last second
        uint160 bobExit = _startExit(BOB_KEY, c.bobDep, c.bobDepTx, _proof1(c.bobDepTx));
        bytes memory forged = _sign(MALLORY_KEY, c.theft);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, mallory, bob));
        seg.challengeStandardExit(bobExit, c.theft, 0, forged);
        _startExit(ALICE_KEY, _pos(c.payBlk, 0, 1), c.pay, _proof1(c.pay));
        _startExit(CAROL_KEY, _pos(c.payBlk, 0, 0), c.pay, _proof1(c.pay));
        _startExit(CAROL_KEY, c.carolDep, c.carolDepTx, _proof1(c.carolDepTx));

        uint256[4] memory before = [alice.balance, bob.balance, carol.balance, mallory.balance];
        vm.warp(theftTime + 2 * PERIOD);
        vm.recordLogs();
        framework.processExits(address(0), 100);
        (uint160[] memory ids, uint256 k) = _processed(vm.getRecordedLogs());
        vm.assertEq(k, 5);
        vm.assertEq(uint256(ids[4]), uint256(theftExit)); // the stolen output comes last
        uint256 bond = seg.bond();
        vm.assertEq(alice.balance, before[0] + 6 ether + bond);
        vm.assertEq(bob.balance, before[1] + 5 ether + bond);
        vm.assertEq(carol.balance, before[2] + 4 ether + 3 ether + 2 * bond);
        vm.assertEq(mallory.balance, before[3] + bond); // bond back, not a wei of the vault
        vm.assertEq(address(framework).balance, 0);
    }

    /// @notice The deadline is real: a user who starts the exit after the invalid block's exit
    ///         period is behind the thief.
    function test_LateExitIsBehindTheThief() public {
        Chain memory c = _chain();
        uint256 theftTime = block.timestamp;
        uint160 theftExit = _startExit(MALLORY_KEY, _pos(c.theftBlk, 0, 0), c.theft, _proof1(c.theft));
        vm.warp(theftTime + PERIOD + 1);
        uint160 late = _startExit(ALICE_KEY, _pos(c.payBlk, 0, 1), c.pay, _proof1(c.pay));
        vm.warp(theftTime + 3 * PERIOD);
        vm.recordLogs();
        framework.processExits(address(0), 100);
        (uint160[] memory ids,) = _processed(vm.getRecordedLogs());
        vm.assertEq(uint256(ids[0]), uint256(theftExit));
        vm.assertEq(uint256(ids[1]), uint256(late));
    }

    mapping(uint160 => uint256) internal expected;
    uint256 internal massTotal;

    struct Mass {
        uint256[] positions;
        bytes[] txs;
        bytes[] proofs;
    }

    /// @dev 100 deposits spent by the 100 transactions of one block (four outputs each), then 600
    ///      deposits: 1,000 unspent outputs holding every wei of the vault.
    function _massChain() internal returns (Mass memory m) {
        m.positions = new uint256[](1000);
        m.txs = new bytes[](1000);
        m.proofs = new bytes[](1000);
        bytes memory depositProof = _proof1(""); // every deposit block's proof: the empty subtrees
        bytes[] memory txs = new bytes[](100);
        for (uint256 k = 0; k < 100; k++) {
            (uint256 pos,) = _depositETH(alice, 4 * (k + 1));
            uint256[] memory ins = new uint256[](1);
            ins[0] = pos;
            PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](4);
            for (uint256 o = 0; o < 4; o++) {
                outs[o] = _out(alice, address(0), k + 1);
            }
            txs[k] = _tx(ins, outs, 0);
            massTotal += 4 * (k + 1);
        }
        for (uint256 i = 0; i < 600; i++) {
            (m.positions[i], m.txs[i]) = _depositETH(alice, i + 1);
            m.proofs[i] = depositProof;
            massTotal += i + 1;
        }
        uint256 blk = _submit(txs);
        for (uint256 k = 0; k < 100; k++) {
            bytes memory proof = _proofOf(txs, k);
            for (uint256 o = 0; o < 4; o++) {
                uint256 i = 600 + 4 * k + o;
                m.positions[i] = _pos(blk, k, o);
                m.txs[i] = txs[k];
                m.proofs[i] = proof;
            }
        }
    }

    /// @notice 1,000 outputs (600 deposits, 400 outputs of 100 transactions in one block) exit in
    ///         a scrambled order at scattered times and are processed, ten calls of 100, in exact
    ///         priority order, each paid once, the vault emptied exactly.
    function test_MassExitOf1000OutputsInExactPriorityOrder() public {
        Mass memory m = _massChain();
        uint256 blkTime = block.timestamp;
        // start in a scrambled order (7919 is prime to 1000), later and later
        uint256 b = seg.bond();
        for (uint256 i = 0; i < 1000; i++) {
            uint256 j = (i * 7919) % 1000;
            if (i % 7 == 0) vm.warp(block.timestamp + 1 + (i % 3) * PERIOD / 4);
            vm.prank(alice);
            uint160 id = seg.startStandardExit{value: b}(m.positions[j], m.txs[j], m.proofs[j]);
            uint256 at = block.timestamp + PERIOD;
            if (j >= 600 && blkTime + 2 * PERIOD > at) at = blkTime + 2 * PERIOD;
            expected[id] = ExitPriority.compute(uint32(at), uint64(m.positions[j]), id);
        }
        vm.assertEq(framework.queueSize(address(0)), 1000);

        vm.warp(block.timestamp + 3 * PERIOD);
        uint256 aliceBefore = alice.balance;
        uint256 count = _processAndCheckOrder();
        vm.assertEq(count, 1000);
        vm.assertEq(framework.queueSize(address(0)), 0);
        vm.assertEq(alice.balance, aliceBefore + massTotal + 1000 * b);
        vm.assertEq(address(framework).balance, 0);
    }

    function _processAndCheckOrder() internal returns (uint256 count) {
        uint256 last;
        bytes32 topic = PlasmaFramework.ExitProcessed.selector;
        for (uint256 round = 0; round < 10; round++) {
            vm.recordLogs();
            vm.assertEq(framework.processExits(address(0), 100), 100);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            for (uint256 i = 0; i < logs.length; i++) {
                if (logs[i].emitter != address(framework) || logs[i].topics[0] != topic) continue;
                uint256 priority = abi.decode(logs[i].data, (uint256));
                uint160 id = uint160(uint256(logs[i].topics[2]));
                vm.assertEq(priority, expected[id], "the exit's priority is the rule's");
                vm.assertGt(priority, last);
                delete expected[id]; // each exit once
                last = priority;
                count++;
            }
        }
    }
}
