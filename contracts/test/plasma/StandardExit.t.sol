// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {PlasmaFixture} from "./PlasmaFixture.sol";
import {PlasmaFramework} from "../../src/plasma/PlasmaFramework.sol";
import {PaymentExitGameBase} from "../../src/plasma/PaymentExitGameBase.sol";
import {PaymentStandardExitGame} from "../../src/plasma/PaymentStandardExitGame.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";
import * as PlasmaMerkle from "../../src/plasma/PlasmaMerkle.sol";
import * as ExitPriority from "../../src/plasma/ExitPriority.sol";

/// @dev An exit owner whose `receive` always reverts: its payments must not block the queue.
contract RevertingOwner {
    receive() external payable {
        revert("no");
    }

    function exit(PaymentStandardExitGame g, uint256 pos, bytes calldata txBytes, bytes calldata proof)
        external
        payable
    {
        g.startStandardExit{value: msg.value}(pos, txBytes, proof);
    }
}

/// @notice Standard exits: start, every challenge and every refusal, processing and priority.
contract StandardExitTest is PlasmaFixture {
    uint256 internal depositPos;
    bytes internal depositTx;
    bytes internal payTx; // alice pays bob 3 ether out of her 10 ether deposit, 7 back to her
    uint256 internal payBlock;

    function setUp() public override {
        super.setUp();
        (depositPos, depositTx) = _depositETH(alice, 10 ether);
        payTx = _pay(depositPos, bob, 3 ether, alice, 7 ether);
        bytes[] memory txs = new bytes[](2);
        txs[0] = _pay(_pos(999, 0, 0), carol, 1, carol, 0); // some other transaction at index 0
        txs[1] = payTx;
        payBlock = _submit(txs);
    }

    function _payProof() internal view returns (bytes memory) {
        bytes[] memory txs = new bytes[](2);
        txs[0] = _pay(_pos(999, 0, 0), carol, 1, carol, 0);
        txs[1] = payTx;
        return _proofOf(txs, 1);
    }

    function test_StartExitOfAnIncludedOutput() public {
        uint256 pos = _pos(payBlock, 1, 0);
        uint160 exitId = _startExit(BOB_KEY, pos, payTx, _payProof());
        vm.assertEq(uint256(exitId), uint256(seg.exitIdOf(keccak256(payTx), 0)));
        vm.assertEq(uint256(exitId >> 159), 0);
        (address owner, uint64 p, address tkn, uint256 amount, bytes32 oid) = seg.exits(exitId);
        vm.assertEq(owner, bob);
        vm.assertEq(uint256(p), pos);
        vm.assertEq(tkn, address(0));
        vm.assertEq(amount, 3 ether);
        vm.assertEq(oid, keccak256(abi.encode(keccak256(payTx), uint256(0))));
        uint256 top = framework.queueTop(address(0));
        vm.assertEq(uint256(ExitPriority.exitableAt(top)), block.timestamp + 2 * PERIOD);
        vm.assertEq(uint256(ExitPriority.exitId(top)), uint256(exitId));
        vm.assertEq(address(seg).balance, seg.bond());
        vm.assertEq(seg.bond(), seg.STANDARD_EXIT_CHALLENGE_GAS() * GAS_PRICE);
    }

    function test_StartRefusals() public {
        uint256 pos = _pos(payBlock, 1, 0);
        bytes memory proof = _payProof();
        uint256 b = seg.bond();
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongBond.selector, b - 1, b));
        seg.startStandardExit{value: b - 1}(pos, payTx, proof);
        // malformed proof: one byte short, one word long
        vm.expectRevert(abi.encodeWithSelector(PlasmaMerkle.MalformedProof.selector, 511));
        bytes memory short = bytes.concat(proof);
        assembly ("memory-safe") {
            mstore(short, 511)
        }
        seg.startStandardExit{value: b}(pos, payTx, short);
        vm.expectRevert(abi.encodeWithSelector(PlasmaMerkle.MalformedProof.selector, 544));
        seg.startStandardExit{value: b}(pos, payTx, bytes.concat(proof, bytes32(0)));
        // wrong index, wrong block, unknown block
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.NotIncluded.selector, _pos(payBlock, 0, 0)));
        seg.startStandardExit{value: b}(_pos(payBlock, 0, 0), payTx, proof);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.UnknownBlock.selector, 5000));
        seg.startStandardExit{value: b}(_pos(5000, 1, 0), payTx, proof);
        // a non-canonical encoding of the same transaction (a trailing word) is refused
        vm.expectRevert(abi.encodeWithSelector(PlasmaTx.MalformedTransaction.selector, "length"));
        seg.startStandardExit{value: b}(pos, bytes.concat(payTx, bytes32(0)), proof);
        // output index beyond the outputs; an invalid position
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.NoSuchOutput.selector, pos + 2));
        seg.startStandardExit{value: b}(pos + 2, payTx, proof);
        vm.expectRevert(abi.encodeWithSelector(PlasmaTx.InvalidPosition.selector, pos + 4));
        seg.startStandardExit{value: b}(pos + 4, payTx, proof);
        vm.stopPrank();
        // someone else's output
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.NotOutputOwner.selector, carol, bob));
        seg.startStandardExit{value: b}(pos, payTx, proof);
        // a deposit block holds one transaction, at index 0
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.NotIncluded.selector, _pos(1, 1, 0)));
        seg.startStandardExit{value: b}(_pos(1, 1, 0), depositTx, _proof1(depositTx));
    }

    function test_ExitTwiceRefused() public {
        uint256 pos = _pos(payBlock, 1, 0);
        uint160 exitId = _startExit(BOB_KEY, pos, payTx, _payProof());
        uint256 b = seg.bond();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.ExitExists.selector, exitId));
        seg.startStandardExit{value: b}(pos, payTx, _payProof());
    }

    function test_ExitOfSpentOutputChallengedChallengerTakesBond() public {
        // alice exits her deposit although she spent it in payTx
        uint160 exitId = _startExit(ALICE_KEY, depositPos, depositTx, _proof1(depositTx));
        uint256 before = CHALLENGER.balance;
        bytes memory sig = _sign(ALICE_KEY, payTx);
        vm.prank(CHALLENGER);
        seg.challengeStandardExit(exitId, payTx, 0, sig);
        vm.assertEq(CHALLENGER.balance, before + seg.bond());
        (address owner,,,,) = seg.exits(exitId);
        vm.assertEq(owner, address(0));
        vm.assertTrue(seg.challenged(exitId));
        // the spent output never exits again
        uint256 b = seg.bond();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.OutputSpent.selector, exitId));
        seg.startStandardExit{value: b}(depositPos, depositTx, _proof1(depositTx));
        // and the popped queue entry pays nothing
        vm.warp(block.timestamp + PERIOD);
        uint256 vault = address(framework).balance;
        framework.processExits(address(0), 1);
        vm.assertEq(address(framework).balance, vault);
        vm.assertEq(framework.queueSize(address(0)), 0);
    }

    function test_ChallengeRefusals() public {
        uint160 exitId = _startExit(ALICE_KEY, depositPos, depositTx, _proof1(depositTx));
        bytes memory aliceSig = _sign(ALICE_KEY, payTx);
        bytes memory mallorySig = _sign(MALLORY_KEY, payTx);
        // not the owner's signature (the operator's forgery)
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, mallory, alice));
        seg.challengeStandardExit(exitId, payTx, 0, mallorySig);
        // a transaction that does not spend the exited output
        bytes memory other = _pay(_pos(1000, 0, 0), bob, 1, bob, 0);
        bytes memory otherSig = _sign(ALICE_KEY, other);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentStandardExitGame.NotSpendingExitedOutput.selector, _pos(1000, 0, 0), depositPos)
        );
        seg.challengeStandardExit(exitId, other, 0, otherSig);
        // input index out of range
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.NotSpendingExitedOutput.selector, 0, depositPos));
        seg.challengeStandardExit(exitId, payTx, 1, aliceSig);
        // malformed signature and malformed spending transaction
        vm.expectRevert(PlasmaTx.MalformedSignature.selector);
        seg.challengeStandardExit(exitId, payTx, 0, hex"1234");
        vm.expectRevert(abi.encodeWithSelector(PlasmaTx.MalformedTransaction.selector, "length"));
        seg.challengeStandardExit(exitId, bytes.concat(payTx, hex"00"), 0, aliceSig);
        // unknown exit
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.ExitNotFound.selector, uint160(7)));
        seg.challengeStandardExit(7, payTx, 0, aliceSig);
        // the exit is still there
        (address owner,,,,) = seg.exits(exitId);
        vm.assertEq(owner, alice);
    }

    function test_SignatureBoundToTheDeployment() public {
        uint160 exitId = _startExit(ALICE_KEY, depositPos, depositTx, _proof1(depositTx));
        // alice's signature of payTx for another framework does not challenge here
        bytes32 otherDomain = PlasmaTx.domainSeparator(address(0xBEEF));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, PlasmaTx.digest(PlasmaTx.decode(payTx), otherDomain));
        bytes memory sig = abi.encodePacked(r, s, v);
        address signer = PlasmaTx.recover(PlasmaTx.digest(PlasmaTx.decode(payTx), framework.domainSeparator()), sig);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, signer, alice));
        seg.challengeStandardExit(exitId, payTx, 0, sig);
    }

    function test_ProcessingBeforeThePeriodRefused() public {
        uint160 exitId = _startExit(BOB_KEY, _pos(payBlock, 1, 0), payTx, _payProof());
        uint256 at = block.timestamp + 2 * PERIOD;
        vm.warp(at - 1);
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.ExitNotYetExitable.selector, exitId, at));
        framework.processExits(address(0), 10);
        vm.warp(at);
        uint256 before = bob.balance;
        vm.assertEq(framework.processExits(address(0), 10), 1);
        vm.assertEq(bob.balance, before + 3 ether + seg.bond());
    }

    function test_ProcessedOutputNeverExitsAgain() public {
        uint160 exitId = _startExit(ALICE_KEY, depositPos, depositTx, _proof1(depositTx));
        vm.warp(block.timestamp + PERIOD);
        framework.processExits(address(0), 1);
        bytes32 oid = keccak256(abi.encode(keccak256(depositTx), uint256(0)));
        vm.assertEq(uint256(framework.finalizedBy(oid)), uint256(exitId));
        uint256 b = seg.bond();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.OutputFinalized.selector, oid));
        seg.startStandardExit{value: b}(depositPos, depositTx, _proof1(depositTx));
    }

    function test_ExitsProcessedInPriorityOrder() public {
        // started in the reverse of priority order
        uint256 t0 = block.timestamp;
        uint160 bobExit = _startExit(BOB_KEY, _pos(payBlock, 1, 0), payTx, _payProof()); // t0 + 2P, pos 1000:1:0
        uint160 aliceChange = _startExit(ALICE_KEY, _pos(payBlock, 1, 1), payTx, _payProof()); // t0 + 2P, 1000:1:1
        (uint256 p2, bytes memory d2) = _depositETH(carol, 1 ether);
        vm.warp(t0 + 10);
        uint160 carolExit = _startExit(CAROL_KEY, p2, d2, _proof1(d2)); // t0 + 10 + P
        vm.warp(t0 + 3 * PERIOD);
        vm.recordLogs();
        vm.assertEq(framework.processExits(address(0), 10), 3);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint160[] memory order = new uint160[](3);
        uint256 k;
        bytes32 topic = PlasmaFramework.ExitProcessed.selector;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(framework) && logs[i].topics[0] == topic) {
                order[k++] = uint160(uint256(logs[i].topics[2]));
            }
        }
        vm.assertEq(k, 3);
        vm.assertEq(uint256(order[0]), uint256(carolExit));
        vm.assertEq(uint256(order[1]), uint256(bobExit));
        vm.assertEq(uint256(order[2]), uint256(aliceChange));
    }

    function test_RevertingOwnerDoesNotBlockTheQueue() public {
        RevertingOwner ro = new RevertingOwner();
        (uint256 p, bytes memory d) = _depositETH(address(ro), 2 ether);
        uint256 b = seg.bond();
        ro.exit{value: b}(seg, p, d, _proof1(d));
        _startExit(BOB_KEY, _pos(payBlock, 1, 0), payTx, _payProof());
        vm.warp(block.timestamp + 2 * PERIOD);
        uint256 before = bob.balance;
        vm.assertEq(framework.processExits(address(0), 10), 2);
        vm.assertEq(bob.balance, before + 3 ether + b);
        vm.assertEq(framework.pendingWithdrawals(address(ro), address(0)), 2 ether);
        vm.assertEq(seg.pendingBonds(address(ro)), b);
    }

    /// @notice Polygon's 2021 bug, attempted: one output reached through a second path (the
    ///         operator includes the same transaction twice). The exit id comes from the
    ///         transaction bytes, not from the position or the proof, so it is one exit, paid once.
    function test_SameOutputThroughAnotherPositionIsOneExit() public {
        bytes memory spend = _pay(depositPos, carol, 10 ether, carol, 0);
        bytes[] memory txs = new bytes[](2);
        txs[0] = spend;
        txs[1] = spend;
        uint256 blk = _submit(txs);
        uint160 first = _startExit(CAROL_KEY, _pos(blk, 0, 0), spend, _proofOf(txs, 0));
        uint256 b = seg.bond();
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.ExitExists.selector, first));
        seg.startStandardExit{value: b}(_pos(blk, 1, 0), spend, _proofOf(txs, 1));
        vm.warp(block.timestamp + 2 * PERIOD);
        framework.processExits(address(0), 10);
        vm.prank(carol);
        vm.expectRevert(
            abi.encodeWithSelector(
                PaymentStandardExitGame.OutputFinalized.selector, keccak256(abi.encode(keccak256(spend), uint256(0)))
            )
        );
        seg.startStandardExit{value: b}(_pos(blk, 1, 0), spend, _proofOf(txs, 1));
        vm.assertEq(address(framework).balance, 0);
    }

    /// @notice An exit of an output in a made-up token (no contract behind it) neither pays nor
    ///         blocks its queue.
    function test_ExitOfAMadeUpTokenDoesNotBlockTheQueue() public {
        uint256[] memory ins = new uint256[](1);
        ins[0] = _pos(777, 0, 0);
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](1);
        outs[0] = _out(mallory, address(0xDEAD), 1 ether);
        bytes memory fake = _tx(ins, outs, 0);
        uint256 blk = _submit1(fake);
        _startExit(MALLORY_KEY, _pos(blk, 0, 0), fake, _proof1(fake));
        vm.warp(block.timestamp + 2 * PERIOD);
        vm.expectEmit(address(framework));
        emit PlasmaFramework.PaymentUnfunded(mallory, address(0xDEAD), 1 ether);
        vm.assertEq(framework.processExits(address(0xDEAD), 10), 1);
    }

    function test_ERC20Exit() public {
        token.mint(address(this), 50);
        token.approve(address(framework), 50);
        uint256 blknum = framework.depositERC20(address(token), 50, carol);
        bytes memory d = framework.depositTx(carol, address(token), 50, blknum);
        _startExit(CAROL_KEY, _pos(blknum, 0, 0), d, _proof1(d));
        vm.assertEq(framework.queueSize(address(token)), 1);
        vm.assertEq(framework.queueSize(address(0)), 0);
        vm.warp(block.timestamp + PERIOD);
        framework.processExits(address(token), 1);
        vm.assertEq(token.balanceOf(carol), 50);
    }
}
