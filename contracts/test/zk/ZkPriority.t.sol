// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ZkRollup} from "../../src/zk/ZkRollup.sol";
import {ZkRollupFixture} from "./ZkRollupFixture.sol";

/// @notice The attacks of issue 10 against `ZkRollup`'s side: every record kind and section,
///         padding included, is refused here when the circuit would refuse it; every queued
///         operation has an outcome a batch can post (credited, refused and paid back, full
///         exit); an ignored full exit opens exit mode; a deposit flood at the most L1 allows
///         never makes the operator overdue; one address, one account index.
contract ZkPriorityTest is ZkRollupFixture {
    event log_named_uint(string key, uint256 val);

    /// @dev A batch with the given priority and transfer records and no withdrawal.
    function submitPriority(bytes memory first, bytes memory second, uint256 newRoot) internal {
        submit(bytes.concat(first, second, withdrawalPadding()), "", newRoot);
    }

    // ---------------------------------------------------------------- accounts

    function test_EachAddressGetsOneAccountIndexAtItsFirstDeposit() public {
        (bool exists, uint32 index) = zk.accountOf(OPERATOR);
        vm.assertTrue(exists);
        vm.assertEq(uint256(index), 0);
        (exists,) = zk.accountOf(ALICE);
        vm.assertFalse(exists);

        depositEth(zk, ALICE, 1 ether);
        depositEth(zk, BOB, 1 ether);
        depositEth(zk, ALICE, 1 ether);
        vm.assertEq(uint256(zk.priorityOp(0).accountIndex), 1);
        vm.assertEq(uint256(zk.priorityOp(1).accountIndex), 2);
        vm.assertEq(uint256(zk.priorityOp(2).accountIndex), 1, "the same address keeps its index");
        (exists, index) = zk.accountOf(BOB);
        vm.assertTrue(exists);
        vm.assertEq(uint256(index), 2);
        vm.assertEq(uint256(zk.nextAccountIndex()), 3);
        // The operator's deposits go to account 0.
        vm.deal(OPERATOR, 2 ether);
        depositEth(zk, OPERATOR, 1 ether);
        vm.assertEq(uint256(zk.priorityOp(3).accountIndex), 0);
    }

    function test_ADepositToAFullAccountTreeIsRefusedOnL1() public {
        ZkRollup.Config memory c = config(new address[](0), 0, GENESIS);
        c.accountDepth = 2; // 4 accounts: the operator's and three more
        ZkRollup tiny = new ZkRollup(c);
        for (uint160 i = 1; i <= 3; ++i) {
            vm.deal(address(i * 0x1000), 2 ether);
            depositEth(tiny, address(i * 0x1000), 1 ether);
        }
        vm.deal(CAROL, 2 ether);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.AccountTreeFull.selector, 4));
        depositEth(tiny, CAROL, 1 ether);
        // Existing accounts still deposit.
        depositEth(tiny, address(0x1000), 1);
    }

    // ---------------------------------------------------------------- priority section

    function test_ADepositIsCreditedOrRefusedNothingElse() public {
        depositEth(zk, ALICE, 3 ether);
        bytes memory pad = depositPadding();
        // A credited deposit pays nothing out; a refused one pays exactly its amount.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidPayout.selector, 0, 1));
        submitPriority(abi.encodePacked(uint8(1), uint128(1)), pad, 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidPayout.selector, 0, 3 ether - 1));
        submitPriority(refusedRecord(3 ether - 1), pad, 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidPayout.selector, 0, 3 ether + 1));
        submitPriority(refusedRecord(3 ether + 1), pad, 1);
        // A deposit is no full exit, and unknown ops are refused.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 0, 4));
        submitPriority(fullExitRecord(3 ether), pad, 1);
        for (uint8 op = 2; op < 255; ++op) {
            if (op == 4 || op == 5) continue;
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 0, op));
            submitPriority(abi.encodePacked(op, uint128(0)), pad, 1);
        }
    }

    /// @dev The overflowing deposit of issue 10: the circuit refuses a credit that would reach
    ///      2^128 and the batch posts it as refused; L1 takes it off the queue and pays it back,
    ///      so it cannot halt the chain.
    function test_ARefusedDepositIsPaidBackAndLeavesTheQueue() public {
        uint128 amount = 500;
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), amount, PK1_X, PK1_Y);
        bytes memory priority = bytes.concat(priorityRecord(zk, 0), priorityPadding());
        bytes memory onchain = bytes.concat(refusedRecord(amount), depositPadding(), withdrawalPadding());
        expectCommitment(commitmentOf(zk, GENESIS, GENESIS, new bytes(24), priority, onchain));
        vm.expectEmit(address(zk));
        emit ZkRollup.PriorityPayout(0, ALICE, tokenId, amount);
        submit(onchain, "", GENESIS);
        vm.assertEq(uint256(zk.priorityHead()), 1);
        vm.assertEq(zk.pending(ALICE, tokenId), amount);
        uint256 before = token.balanceOf(ALICE);
        zk.claim(ALICE, tokenId);
        vm.assertEq(token.balanceOf(ALICE), before + amount);
    }

    function test_PaddingPriorityRecordsMustBeZeroInEveryByte() public {
        for (uint256 b = 0; b < 17; ++b) {
            bytes memory stray = depositPadding();
            stray[b] = 0x01;
            if (b == 0) {
                // A stray op byte is a deposit with nothing queued.
                vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityQueueExhausted.selector, 1));
            } else {
                vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroDepositPadding.selector, 1));
            }
            submitPriority(depositPadding(), stray, 1);
        }
    }

    // ---------------------------------------------------------------- transfer section

    function test_TransferRecordsAreTransfersOrZeroPadding() public {
        bytes memory onchain = bytes.concat(depositPadding(), depositPadding(), withdrawalPadding());
        // Any byte of a padding record (full or cut short) that is not zero is refused.
        for (uint256 b = 1; b < 12; ++b) {
            bytes memory stray = new bytes(24);
            stray[12 + b] = 0x01;
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroTransferPadding.selector, 1));
            submit(onchain, stray, 1);
            bytes memory short = new bytes(12 + b + 1);
            short[12 + b] = 0x01;
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroTransferPadding.selector, 1));
            submit(onchain, short, 1);
        }
        // The padding theft's record: a live transfer's fields with op byte 0.
        bytes memory theft = transferRecord(1, 0, 0, 12345, 0);
        theft[0] = 0x00;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroTransferPadding.selector, 0));
        submit(onchain, theft, 1);
        // Other ops.
        for (uint8 op = 1; op < 255; ++op) {
            if (op == 2) continue;
            bytes memory bad = transferRecord(1, 2, 0, 1, 0);
            bad[0] = bytes1(op);
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidTransferOp.selector, 0, op));
            submit(onchain, bad, 1);
        }
    }

    // ---------------------------------------------------------------- withdrawal section

    function test_PaddingWithdrawalRecordsMustBeZeroInEveryByte() public {
        for (uint256 b = 1; b < 42; ++b) {
            bytes memory stray = withdrawalPadding();
            stray[b] = 0x01;
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroWithdrawalPadding.selector, 0));
            submit(bytes.concat(depositPadding(), depositPadding(), stray), "", 1);
        }
    }

    // ---------------------------------------------------------------- full exits

    function test_AFullExitNeedsAnAccountAndATokenOfTheTree() public {
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NoAccount.selector, ALICE));
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);
        depositEth(zk, ALICE, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.TokenOutOfRange.selector, 4));
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(4);

        vm.expectEmit(address(zk));
        emit ZkRollup.PriorityOpQueued(1, ALICE, 4, 1, 0, 0, T0 + DEADLINE + INTERVAL);
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);
        ZkRollup.PriorityOp memory op = zk.priorityOp(1);
        vm.assertEq(uint256(op.kind), 4);
        vm.assertEq(uint256(op.accountIndex), 1);
        vm.assertEq(uint256(op.amount), 0);
        vm.assertEq(op.pkX, 0);
    }

    function test_AFullExitIsPaidWithTheBatchThatTakesIt() public {
        depositEth(zk, ALICE, 2 ether);
        submitPriority(depositRecord(), depositPadding(), 1);
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);
        bytes memory pad = depositPadding();

        // A full exit is no deposit.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 0, 1));
        submitPriority(depositRecord(), pad, 2);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 0, 5));
        submitPriority(refusedRecord(0), pad, 2);

        bytes memory priority = bytes.concat(priorityRecord(zk, 1), priorityPadding());
        bytes memory onchain = bytes.concat(fullExitRecord(2 ether), pad, withdrawalPadding());
        expectCommitment(commitmentOf(zk, 1, 2, new bytes(24), priority, onchain));
        vm.expectEmit(address(zk));
        emit ZkRollup.PriorityPayout(1, ALICE, 0, 2 ether);
        submit(onchain, "", 2);
        vm.assertEq(zk.pending(ALICE, 0), 2 ether);
        uint256 before = ALICE.balance;
        zk.claim(ALICE, 0);
        vm.assertEq(ALICE.balance, before + 2 ether);
    }

    /// @dev The ignored withdrawal of issue 10: the operator keeps taking deposits but never
    ///      Alice's full exit. It cannot skip it (the queue is in order), and once it is overdue
    ///      anyone turns exit mode on, and Alice leaves with `exit` (tested in ZkExitModeTest).
    function test_AnIgnoredFullExitOpensExitMode() public {
        depositEth(zk, ALICE, 2 ether);
        submitPriority(depositRecord(), depositPadding(), 1);
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);
        depositEth(zk, BOB, 1 ether);

        // Taking Bob's deposit first is taking Alice's exit as a deposit: refused.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 0, 1));
        submitPriority(depositRecord(), depositPadding(), 2);
        // Batches without priority records are fine until the exit is overdue...
        submitPriority(depositPadding(), depositPadding(), 2);
        uint64 deadline = zk.priorityOp(1).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityOpNotOverdue.selector, 1, deadline));
        zk.activateExitMode();
        // ...then a batch may not leave it behind, and anyone opens exit mode.
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.SkipsOverduePriorityOp.selector, 1));
        submitPriority(depositPadding(), depositPadding(), 3);
        vm.prank(CAROL);
        zk.activateExitMode();
        vm.assertTrue(zk.exitMode());
        vm.expectRevert(ZkRollup.ExitModeActive.selector);
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);
        // The refund returns Bob's deposit and skips the full exit (it holds nothing).
        vm.assertEq(zk.refundDeposits(10), 2);
        vm.assertEq(zk.pending(BOB, 0), 1 ether);
        vm.assertEq(zk.pending(ALICE, 0), 0);
    }

    // ---------------------------------------------------------------- floods

    /// @dev The deposit flood of issue 10, at the most L1 allows: every 12-second block full of
    ///      the cheapest deposits (60M gas each, mainnet's limit since late 2025). The operator
    ///      takes its 2 priority slots a batch, one batch per `2 * INTERVAL` seconds. Deadlines
    ///      are spaced by INTERVAL, so however long the queue gets, its head is never overdue and
    ///      exit mode never opens; and every deposit of the flood burned the priority fee.
    function test_ADepositFloodAtTheMostL1AllowsDoesNotForceExitMode() public {
        address flooder = address(0xF100D);
        vm.deal(flooder, 1_000_000 ether);
        depositEth(zk, flooder, 1); // the account exists: later deposits are the cheapest
        uint256 gasBefore = gasleft();
        depositEth(zk, flooder, 1);
        uint256 perDeposit = gasBefore - gasleft() + 21_000; // with the transaction's base cost
        uint256 perBlock = 60_000_000 / perDeposit;
        emit log_named_uint("deposits a 60M-gas block holds", perBlock);
        emit log_named_uint("priority fees a full block burns (wei)", perBlock * FEE);

        uint256 blocks = 8;
        uint256 t = T0;
        uint256 nextBatch = T0;
        uint256 root = 1;
        for (uint256 b = 0; b < blocks; ++b) {
            for (uint256 i = 0; i < perBlock; ++i) {
                depositEth(zk, flooder, 1);
            }
            t += 12;
            vm.warp(t);
            // The operator's batches in this block's time.
            while (nextBatch <= t) {
                submitPriority(depositRecord(), depositRecord(), ++root);
                nextBatch += 2 * INTERVAL;
            }
            vm.expectRevert();
            zk.activateExitMode();
        }
        // The flood is over; the operator drains the queue at its pace, never overdue.
        while (zk.priorityHead() + 2 <= zk.priorityTail()) {
            t = nextBatch;
            vm.warp(t);
            vm.expectRevert();
            zk.activateExitMode();
            submitPriority(depositRecord(), depositRecord(), ++root);
            nextBatch += 2 * INTERVAL;
        }
        vm.assertFalse(zk.exitMode());
        vm.assertGt(uint256(zk.priorityTail()), blocks * perBlock);
        vm.assertEq(zk.feesBurned(), uint256(zk.priorityTail()) * FEE, "every deposit paid the fee");
    }
}
