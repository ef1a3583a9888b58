// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Bridge} from "../../src/rollup/Bridge.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {RollupFixture, RefusingRecipient} from "./RollupFixture.sol";

/// @notice `Rollup`: batches (roles, deposit accounting, forced inclusion, commitments) and outputs
///         (roles, bond, order, finality, bond return).
contract RollupTest is RollupFixture {
    // ---------------------------------------------------------------- construction

    function test_Parameters() public view {
        vm.assertEq(address(rollup.bridge()), address(bridge));
        vm.assertEq(rollup.sequencer(), SEQUENCER);
        vm.assertEq(address(rollup.executor()), address(executor));
        vm.assertEq(rollup.proposerBond(), BOND);
        vm.assertEq(rollup.challengerBond(), CHALLENGER_BOND);
        vm.assertEq(uint256(rollup.clockDuration()), CLOCK);
        vm.assertEq(uint256(rollup.sequencerTimeout()), SEQUENCER_TIMEOUT);
        vm.assertEq(rollup.genesisStateCommitment(), GENESIS);
        vm.assertEq(rollup.lastBatchAt(), T0);
        vm.assertEq(uint256(rollup.challengeWindow()), WINDOW);
        vm.assertEq(uint256(rollup.inclusionDeadline()), DEADLINE);
        vm.assertEq(uint256(rollup.l2ChainId()), L2_CHAIN_ID);
        vm.assertEq(rollup.batchCount(), 0);
        vm.assertEq(rollup.outputCount(), 0);
        vm.assertEq(rollup.consumedOperations(), 0);
        vm.assertEq(rollup.finalizedCount(), 0);
    }

    function test_ConstructorValidation() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidContract.selector, ALICE));
        new Rollup(Bridge(ALICE), executor, config(GENESIS));
        Bridge other = new Bridge(address(this));
        StepExecutor foreign = new StepExecutor(other, 4, 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidContract.selector, address(foreign)));
        new Rollup(bridge, foreign, config(GENESIS));
        Rollup.Config memory c = config(GENESIS);
        c.sequencer = address(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ZeroSequencer.selector));
        new Rollup(bridge, executor, c);
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
        emit Rollup.BatchAppended(0, 0, 2, dataRootOf(data), data.length);
        vm.assertEq(appendBatch(2, data), 0);
        vm.assertEq(rollup.batchHash(0), batchHashOf(0, 0, 2, data));

        vm.expectEmit(address(rollup));
        emit Rollup.BatchAppended(1, 2, 2, bytes32(0), 0);
        vm.assertEq(appendBatch(2, ""), 1);
        vm.assertEq(rollup.batchHash(1), batchHashOf(1, 2, 2, ""));

        vm.assertEq(rollup.batchCount(), 2);
        vm.assertEq(rollup.consumedOperations(), 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotAppended.selector, 2, 2));
        rollup.batchHash(2);
    }

    function test_BatchAppendedEventLayout() public {
        vm.recordLogs();
        appendBatch(0, hex"beef");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1);
        vm.assertEq(logs[0].topics[0], keccak256("BatchAppended(uint256,uint256,uint256,bytes32,uint256)"));
        vm.assertEq(uint256(logs[0].topics[1]), 0);
        (uint256 prev, uint256 next, bytes32 dataRoot, uint256 length) =
            abi.decode(logs[0].data, (uint256, uint256, bytes32, uint256));
        vm.assertEq(prev, 0);
        vm.assertEq(next, 0);
        vm.assertEq(dataRoot, keccak256(hex"beef")); // one chunk: the root is its leaf
        vm.assertEq(length, 2);
    }

    function test_DepositCountCannotDecrease() public {
        depositEth(ALICE, ALICE, 1);
        depositEth(ALICE, ALICE, 1);
        appendBatch(2, "");
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.QueueCountDecreased.selector, 1, 2));
        rollup.appendBatch(1, "");
    }

    function test_DepositCountCannotExceedQueue() public {
        depositEth(ALICE, ALICE, 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.QueueCountTooHigh.selector, 2, 1));
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
        vm.expectRevert(abi.encodeWithSelector(Rollup.OperationOverdue.selector, 0));
        rollup.appendBatch(0, hex"00");

        // Consuming deposit 0 leaves deposit 1 first in line, which is not overdue yet.
        appendBatch(1, hex"01");

        vm.warp(T0 + 100 + DEADLINE + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OperationOverdue.selector, 1));
        rollup.appendBatch(1, hex"02");

        appendBatch(2, hex"03"); // consumes everything
        vm.assertEq(rollup.batchCount(), 3);
        vm.assertEq(rollup.consumedOperations(), 2);

        // With the queue empty, any later batch is fine.
        vm.warp(T0 + 365 days);
        appendBatch(2, hex"04");
    }

    /// Forced inclusion holds for every kind of operation: an overdue forced withdrawal blocks
    /// every batch that does not consume it.
    function test_ForcedOperationsMustBeIncluded() public {
        depositEth(ALICE, ALICE, 5);
        appendBatch(1, hex"01");
        vm.prank(ALICE);
        bridge.forceWithdrawal(ALICE, 0, 5);
        vm.prank(ALICE);
        bridge.forceTransfer(BOB, 0, 1);
        vm.warp(T0 + DEADLINE + 1);
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OperationOverdue.selector, 1));
        rollup.appendBatch(1, hex"02");
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OperationOverdue.selector, 2));
        rollup.appendBatch(2, hex"02");
        appendBatch(3, hex"02");
    }

    /// The data root over many chunks (exact multiples, one byte more, a batch of 1,000
    /// transfers) matches the reference tree of the fixture.
    function test_DataRootOverManyChunks() public {
        uint256[6] memory lengths = [uint256(1), 1024, 1025, 2048, 3000, 79_017];
        for (uint256 i = 0; i < lengths.length; i++) {
            bytes memory data = pseudoRandomBytes(i, lengths[i]);
            vm.expectEmit(address(rollup));
            emit Rollup.BatchAppended(i, 0, 0, dataRootOf(data), data.length);
            appendBatch(0, data);
            vm.assertEq(rollup.batchHash(i), batchHashOf(i, 0, 0, data));
        }
    }

    function test_NonSequencerCannotAppend() public {
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, PROPOSER, T0 + SEQUENCER_TIMEOUT));
        rollup.appendBatch(0, "");
    }

    /// The escape hatch: once no batch was appended for `sequencerTimeout`, anyone may append
    /// (consuming the queue as the sequencer would); each batch restarts the timeout.
    function test_SequencerTimeoutOpensAppending() public {
        appendBatch(0, hex"01");
        vm.warp(T0 + SEQUENCER_TIMEOUT);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, ALICE, T0 + SEQUENCER_TIMEOUT));
        rollup.appendBatch(0, hex"02");

        vm.warp(T0 + SEQUENCER_TIMEOUT + 1);
        vm.prank(ALICE);
        vm.assertEq(rollup.appendBatch(0, hex"02"), 1);
        vm.assertEq(rollup.lastBatchAt(), T0 + SEQUENCER_TIMEOUT + 1);
        // A fresh batch closes the hatch again.
        vm.prank(BOB);
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.NotSequencer.selector, BOB, T0 + 2 * uint256(SEQUENCER_TIMEOUT) + 1)
        );
        rollup.appendBatch(0, hex"03");
    }

    // ---------------------------------------------------------------- outputs

    function test_ProposeOutputStoresAndEmits() public {
        appendBatch(0, hex"aa");
        bytes32 stateRoot = keccak256("state");
        bytes32 withdrawalRoot = keccak256("withdrawals");
        bytes32 outputRoot = keccak256(abi.encode(stateRoot, withdrawalRoot));

        vm.expectEmit(address(rollup));
        emit Rollup.OutputProposed(0, 1, outputRoot, stateRoot, withdrawalRoot, PROPOSER);
        vm.prank(PROPOSER);
        bytes32 returned = rollup.proposeOutput{value: BOND}(0, stateRoot, withdrawalRoot);

        vm.assertEq(returned, outputRoot);
        vm.assertEq(rollup.outputCount(), 1);
        vm.assertEq(rollup.outputRoot(0), outputRoot);
        Rollup.Output memory out = rollup.output(0);
        vm.assertEq(out.stateCommitment, stateRoot);
        vm.assertEq(out.withdrawalRoot, withdrawalRoot);
        vm.assertEq(out.proposer, PROPOSER);
        vm.assertEq(uint256(out.proposedAt), T0);
        vm.assertEq(uint256(out.status), 1);
        vm.assertEq(address(rollup).balance, BOND);
    }

    function test_AnyoneMayPropose() public {
        appendBatch(0, "");
        vm.deal(SEQUENCER, BOND);
        vm.prank(SEQUENCER);
        rollup.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));
        vm.assertEq(rollup.output(0).proposer, SEQUENCER);
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
        vm.assertEq(rollup.advanceFinality(10), 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0));
        rollup.finalizedWithdrawalRoot(0);

        vm.warp(T0 + WINDOW);
        vm.assertTrue(rollup.isFinal(0));
        vm.assertEq(rollup.advanceFinality(10), 1);
        vm.assertEq(rollup.finalizedCount(), 1);
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

        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0));
        rollup.withdrawBond(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondNotHeld.selector, 1, 0));
        rollup.withdrawBond(1);

        vm.warp(T0 + WINDOW);
        vm.expectEmit(address(rollup));
        emit Rollup.BondReturned(0, PROPOSER, BOND);
        vm.prank(BOB); // anyone may trigger it; the proposer is paid
        rollup.withdrawBond(0);
        vm.assertEq(PROPOSER.balance, before + BOND);
        vm.assertEq(address(rollup).balance, 0);
        vm.assertEq(uint256(rollup.output(0).status), 3);

        vm.expectRevert(abi.encodeWithSelector(Rollup.BondNotHeld.selector, 0, 3));
        rollup.withdrawBond(0);
    }

    function test_BondTransferFailureReverts() public {
        RefusingRecipient refuser = new RefusingRecipient();
        Rollup r = new Rollup(bridge, executor, config(GENESIS));
        vm.prank(SEQUENCER);
        r.appendBatch(0, "");
        vm.deal(address(refuser), BOND);
        vm.prank(address(refuser));
        r.proposeOutput{value: BOND}(0, bytes32(0), bytes32(0));
        vm.warp(T0 + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PaymentFailed.selector, address(refuser), BOND));
        r.withdrawBond(0);
        vm.assertEq(uint256(r.output(0).status), 1);
    }

    // ---------------------------------------------------------------- fuzz

    /// Only the sequencer appends while it is live.
    function testFuzz_NonSequencerRefused(address caller, uint32 wait) public {
        vm.assume(caller != SEQUENCER);
        vm.warp(T0 + bound(wait, 0, SEQUENCER_TIMEOUT));
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, caller, T0 + SEQUENCER_TIMEOUT));
        rollup.appendBatch(0, hex"01");
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
            emit Rollup.BatchAppended(i, prev, consumed, dataRootOf(datas[i]), datas[i].length);
            appendBatch(consumed, datas[i]);
            vm.assertEq(rollup.batchHash(i), batchHashOf(i, prev, consumed, datas[i]));
        }
        vm.assertEq(rollup.consumedOperations(), consumed);
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
            vm.expectRevert(abi.encodeWithSelector(Rollup.OperationOverdue.selector, n));
            rollup.appendBatch(n, hex"00");
            // Consuming everything is always accepted.
            appendBatch(4, hex"00");
        } else {
            rollup.appendBatch(n, hex"00");
            vm.assertEq(rollup.consumedOperations(), n);
        }
    }

    /// `advanceFinality` counts the final prefix: outputs proposed at random times become final in
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
        vm.assertEq(rollup.advanceFinality(10), expected);
    }
}
