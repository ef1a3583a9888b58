// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Bridge} from "../../src/rollup/Bridge.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {RollupFixture, RefusingRecipient} from "./RollupFixture.sol";

/// @notice `Rollup`: batches (roles, deposit accounting, forced inclusion, commitments) and outputs
///         (roles, bond, order, finality, bond return).
contract RollupTest is RollupFixture {
    // ---------------------------------------------------------------- construction

    function test_Parameters() public view {
        vm.assertEq(address(rollup.bridge()), address(bridge));
        vm.assertEq(rollup.sequencer(), SEQUENCER);
        vm.assertEq(rollup.proposer(), PROPOSER);
        vm.assertEq(rollup.bond(), BOND);
        vm.assertEq(uint256(rollup.challengeWindow()), WINDOW);
        vm.assertEq(uint256(rollup.inclusionDeadline()), DEADLINE);
        vm.assertEq(uint256(rollup.l2ChainId()), L2_CHAIN_ID);
        vm.assertEq(rollup.batchCount(), 0);
        vm.assertEq(rollup.outputCount(), 0);
        vm.assertEq(rollup.consumedDeposits(), 0);
        vm.assertEq(rollup.finalizedOutputs(), 0);
    }

    function test_ConstructorValidation() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidBridge.selector, ALICE));
        new Rollup(Bridge(ALICE), SEQUENCER, PROPOSER, BOND, WINDOW, DEADLINE, L2_CHAIN_ID);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroAddressRole.selector, "sequencer"));
        new Rollup(bridge, address(0), PROPOSER, BOND, WINDOW, DEADLINE, L2_CHAIN_ID);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroAddressRole.selector, "proposer"));
        new Rollup(bridge, SEQUENCER, address(0), BOND, WINDOW, DEADLINE, L2_CHAIN_ID);
    }

    function test_DomainSeparator() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes("ply rollup")),
                keccak256(bytes("1")),
                uint256(L2_CHAIN_ID),
                address(rollup)
            )
        );
        vm.assertEq(rollup.domainSeparator(), expected);
    }

    // ---------------------------------------------------------------- batches

    function test_AppendBatchStoresHashAndEmits() public {
        depositEth(ALICE, ALICE, 1 ether);
        depositEth(BOB, BOB, 2 ether);
        bytes memory data = hex"01000000010000000065";

        vm.expectEmit(address(rollup));
        emit Rollup.BatchAppended(0, 0, 2, keccak256(data));
        vm.assertEq(appendBatch(2, data), 0);
        vm.assertEq(rollup.batchHash(0), batchHashOf(0, 0, 2, data));

        vm.expectEmit(address(rollup));
        emit Rollup.BatchAppended(1, 2, 2, keccak256(""));
        vm.assertEq(appendBatch(2, ""), 1);
        vm.assertEq(rollup.batchHash(1), batchHashOf(1, 2, 2, ""));

        vm.assertEq(rollup.batchCount(), 2);
        vm.assertEq(rollup.consumedDeposits(), 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotAppended.selector, 2, 2));
        rollup.batchHash(2);
    }

    function test_BatchAppendedEventLayout() public {
        vm.recordLogs();
        appendBatch(0, hex"beef");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1);
        vm.assertEq(logs[0].topics[0], keccak256("BatchAppended(uint256,uint256,uint256,bytes32)"));
        vm.assertEq(uint256(logs[0].topics[1]), 0);
        (uint256 prev, uint256 next, bytes32 dataHash) = abi.decode(logs[0].data, (uint256, uint256, bytes32));
        vm.assertEq(prev, 0);
        vm.assertEq(next, 0);
        vm.assertEq(dataHash, keccak256(hex"beef"));
    }

    function test_DepositCountCannotDecrease() public {
        depositEth(ALICE, ALICE, 1);
        depositEth(ALICE, ALICE, 1);
        appendBatch(2, "");
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositCountDecreased.selector, 1, 2));
        rollup.appendBatch(1, "");
    }

    function test_DepositCountCannotExceedQueue() public {
        depositEth(ALICE, ALICE, 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositCountTooHigh.selector, 2, 1));
        rollup.appendBatch(2, "");
    }

    /// Forced inclusion at the boundary: a deposit queued at T may stay unconsumed up to and
    /// including T + deadline; after that only batches that consume it are accepted.
    function test_ForcedInclusion() public {
        depositEth(ALICE, ALICE, 1); // deposit 0 at T0
        vm.warp(T0 + 100);
        depositEth(BOB, BOB, 1); // deposit 1 at T0 + 100

        vm.warp(T0 + DEADLINE);
        appendBatch(0, hex"00"); // not overdue yet

        vm.warp(T0 + DEADLINE + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 0));
        rollup.appendBatch(0, hex"00");

        // Consuming deposit 0 leaves deposit 1 first in line, which is not overdue yet.
        appendBatch(1, hex"01");

        vm.warp(T0 + 100 + DEADLINE + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, 1));
        rollup.appendBatch(1, hex"02");

        appendBatch(2, hex"03"); // consumes everything
        vm.assertEq(rollup.batchCount(), 3);
        vm.assertEq(rollup.consumedDeposits(), 2);

        // With the queue empty, any later batch is fine.
        vm.warp(T0 + 365 days);
        appendBatch(2, hex"04");
    }

    function test_NonSequencerCannotAppend() public {
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, PROPOSER, SEQUENCER));
        rollup.appendBatch(0, "");
    }

    // ---------------------------------------------------------------- outputs

    function test_ProposeOutputStoresAndEmits() public {
        appendBatch(0, hex"aa");
        bytes32 stateRoot = keccak256("state");
        bytes32 withdrawalRoot = keccak256("withdrawals");
        bytes32 outputRoot = keccak256(abi.encode(stateRoot, withdrawalRoot));

        vm.expectEmit(address(rollup));
        emit Rollup.OutputProposed(0, outputRoot, stateRoot, withdrawalRoot, PROPOSER, uint64(T0));
        vm.prank(PROPOSER);
        bytes32 returned = rollup.proposeOutput{value: BOND}(0, stateRoot, withdrawalRoot);

        vm.assertEq(returned, outputRoot);
        vm.assertEq(rollup.outputCount(), 1);
        Rollup.Output memory out = rollup.output(0);
        vm.assertEq(out.outputRoot, outputRoot);
        vm.assertEq(out.withdrawalRoot, withdrawalRoot);
        vm.assertEq(out.proposer, PROPOSER);
        vm.assertEq(uint256(out.proposedAt), T0);
        vm.assertFalse(out.bondReturned);
        vm.assertEq(address(rollup).balance, BOND);
    }

    function test_NonProposerCannotPropose() public {
        appendBatch(0, "");
        vm.deal(SEQUENCER, BOND);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotProposer.selector, SEQUENCER, PROPOSER));
        rollup.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));
    }

    function test_OutputsInOrderOnly() public {
        appendBatch(0, hex"01");
        appendBatch(0, hex"02");
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputOutOfOrder.selector, 1, 0));
        rollup.proposeOutput{value: BOND}(1, bytes32(0), bytes32(0));

        propose(0, bytes32(uint256(1)), bytes32(0));
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputOutOfOrder.selector, 0, 1));
        rollup.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));

        propose(1, bytes32(uint256(2)), bytes32(0));
        vm.assertEq(rollup.outputCount(), 2);
    }

    function test_OutputNeedsAnAppendedBatch() public {
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotAppended.selector, 0, 0));
        rollup.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));
    }

    function test_FinalityAtWindowBoundary() public {
        appendBatch(0, hex"01");
        propose(0, bytes32(uint256(1)), keccak256("w"));
        vm.assertFalse(rollup.isFinal(0));
        vm.assertFalse(rollup.isFinal(1));

        vm.warp(T0 + WINDOW - 1);
        vm.assertFalse(rollup.isFinal(0));
        vm.assertEq(rollup.finalizedOutputs(), 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0, T0 + WINDOW));
        rollup.finalizedWithdrawalRoot(0);

        vm.warp(T0 + WINDOW);
        vm.assertTrue(rollup.isFinal(0));
        vm.assertEq(rollup.finalizedOutputs(), 1);
        vm.assertEq(rollup.finalizedWithdrawalRoot(0), keccak256("w"));

        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 1));
        rollup.finalizedWithdrawalRoot(1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 1));
        rollup.output(1);
    }

    function test_WithdrawBondOnceAfterFinality() public {
        appendBatch(0, hex"01");
        propose(0, bytes32(uint256(1)), bytes32(0));
        uint256 before = PROPOSER.balance;

        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0, T0 + WINDOW));
        rollup.withdrawBond(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 1));
        rollup.withdrawBond(1);

        vm.warp(T0 + WINDOW);
        vm.expectEmit(address(rollup));
        emit Rollup.BondReturned(0, PROPOSER, BOND);
        vm.prank(BOB); // anyone may trigger it; the proposer is paid
        rollup.withdrawBond(0);
        vm.assertEq(PROPOSER.balance, before + BOND);
        vm.assertEq(address(rollup).balance, 0);
        vm.assertTrue(rollup.output(0).bondReturned);

        vm.expectRevert(abi.encodeWithSelector(Rollup.BondAlreadyReturned.selector, 0));
        rollup.withdrawBond(0);
    }

    function test_BondTransferFailureReverts() public {
        RefusingRecipient refuser = new RefusingRecipient();
        Rollup r = new Rollup(bridge, SEQUENCER, address(refuser), BOND, WINDOW, DEADLINE, L2_CHAIN_ID);
        vm.prank(SEQUENCER);
        r.appendBatch(0, "");
        vm.deal(address(refuser), BOND);
        vm.prank(address(refuser));
        r.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));
        vm.warp(T0 + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTransferFailed.selector, address(refuser), BOND));
        r.withdrawBond(0);
        vm.assertFalse(r.output(0).bondReturned);
    }

    // ---------------------------------------------------------------- fuzz

    /// Only the sequencer appends.
    function testFuzz_NonSequencerRefused(address caller) public {
        vm.assume(caller != SEQUENCER);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, caller, SEQUENCER));
        rollup.appendBatch(0, hex"01");
    }

    /// Only the proposer proposes, whatever it sends.
    function testFuzz_NonProposerRefused(address caller, uint96 value) public {
        vm.assume(caller != PROPOSER);
        appendBatch(0, "");
        vm.deal(caller, value);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotProposer.selector, caller, PROPOSER));
        rollup.proposeOutput{value: value}(0, bytes32(0), bytes32(0));
    }

    /// Any value other than the bond is refused.
    function testFuzz_WrongBondRefused(uint256 value) public {
        value = bound(value, 0, 1000 ether);
        vm.assume(value != BOND);
        appendBatch(0, "");
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongBond.selector, value, BOND));
        rollup.proposeOutput{value: value}(0, bytes32(0), bytes32(0));
    }

    /// Proposals for any batch other than the next one are refused.
    function testFuzz_OutOfOrderProposalRefused(uint256 batchIndex, uint8 proposed) public {
        uint256 done = bound(proposed, 0, 4);
        for (uint256 i = 0; i < 5; i++) {
            appendBatch(0, abi.encodePacked(i));
        }
        for (uint256 i = 0; i < done; i++) {
            propose(i, bytes32(i), bytes32(i));
        }
        vm.assume(batchIndex != done);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputOutOfOrder.selector, batchIndex, done));
        rollup.proposeOutput{value: BOND}(batchIndex, bytes32(0), bytes32(0));
    }

    /// Batch commitments for random data and deposit counts match the documented hash.
    function testFuzz_BatchHashes(bytes[3] calldata datas, uint8[3] calldata newDeposits) public {
        uint256 consumed = 0;
        for (uint256 i = 0; i < 3; i++) {
            uint256 add = bound(newDeposits[i], 0, 3);
            for (uint256 j = 0; j < add; j++) {
                depositEth(ALICE, BOB, 1);
            }
            uint256 prev = consumed;
            consumed += add;
            vm.expectEmit(address(rollup));
            emit Rollup.BatchAppended(i, prev, consumed, keccak256(datas[i]));
            appendBatch(consumed, datas[i]);
            vm.assertEq(rollup.batchHash(i), batchHashOf(i, prev, consumed, datas[i]));
        }
        vm.assertEq(rollup.consumedDeposits(), consumed);
    }

    /// Forced inclusion over random deposit times: after a batch, the first unconsumed deposit
    /// must be at most `DEADLINE` seconds old, otherwise the batch reverts with its index.
    function testFuzz_ForcedInclusion(uint32[4] calldata gaps, uint32 wait, uint8 consume) public {
        uint256[4] memory times;
        for (uint256 i = 0; i < 4; i++) {
            vm.warp(block.timestamp + bound(gaps[i], 0, 2 days));
            times[i] = block.timestamp;
            depositEth(ALICE, ALICE, 1);
        }
        vm.warp(block.timestamp + bound(wait, 0, 3 days));
        uint256 n = bound(consume, 0, 4);

        bool overdue = n < 4 && block.timestamp > times[n] + DEADLINE;
        vm.prank(SEQUENCER);
        if (overdue) {
            vm.expectRevert(abi.encodeWithSelector(Rollup.DepositOverdue.selector, n));
            rollup.appendBatch(n, hex"00");
            // Consuming everything is always accepted.
            appendBatch(4, hex"00");
        } else {
            rollup.appendBatch(n, hex"00");
            vm.assertEq(rollup.consumedDeposits(), n);
        }
    }

    /// `finalizedOutputs` counts the final prefix: outputs proposed at random times become final in
    /// order, and `isFinal` agrees with the window rule.
    function testFuzz_FinalizedOutputs(uint32[5] calldata gaps, uint32 wait) public {
        uint256[5] memory proposedAt;
        for (uint256 i = 0; i < 5; i++) {
            appendBatch(0, abi.encodePacked(i));
            vm.warp(block.timestamp + bound(gaps[i], 0, 3 days));
            propose(i, bytes32(i), bytes32(i));
            proposedAt[i] = block.timestamp;
        }
        vm.warp(block.timestamp + bound(wait, 0, 2 * WINDOW));
        uint256 expected = 0;
        for (uint256 i = 0; i < 5; i++) {
            bool fin = block.timestamp >= proposedAt[i] + WINDOW;
            vm.assertEq(rollup.isFinal(i), fin);
            if (fin) expected = i + 1;
        }
        vm.assertEq(rollup.finalizedOutputs(), expected);
    }
}
