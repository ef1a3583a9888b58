// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {ZkRollup} from "../../src/zk/ZkRollup.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {TestVerifier} from "./TestVerifier.sol";
import {ZkRollupFixture} from "./ZkRollupFixture.sol";

/// @notice `ZkRollup` in rollup mode: configuration, tokens, the priority queue, batches and
///         withdrawals.
contract ZkRollupTest is ZkRollupFixture {
    event log_named_uint(string key, uint256 val);

    // ---------------------------------------------------------------- configuration

    function test_InitialState() public view {
        vm.assertEq(zk.stateRoot(), GENESIS);
        vm.assertEq(uint256(zk.batchCount()), 0);
        vm.assertEq(uint256(zk.priorityHead()), 0);
        vm.assertEq(uint256(zk.priorityTail()), 0);
        vm.assertFalse(zk.exitMode());
        vm.assertFalse(zk.isValidium());
        vm.assertEq(zk.committee().length, 0);
        vm.assertEq(uint256(zk.threshold()), 0);
        vm.assertEq(uint256(zk.accountDepth()), 4);
        vm.assertEq(uint256(zk.tokenDepth()), 2);
        vm.assertEq(uint256(zk.depositSlots()), 2);
        vm.assertEq(uint256(zk.transferSlots()), 2);
        vm.assertEq(uint256(zk.withdrawalSlots()), 1);
        vm.assertEq(uint256(zk.priorityDeadline()), DEADLINE);
        vm.assertEq(uint256(zk.maxTokenId()), 3);
        vm.assertEq(zk.operator(), OPERATOR);
        vm.assertEq(zk.verifier(), address(verifier));
        vm.assertEq(zk.poseidon4(), address(poseidon4));
        vm.assertEq(zk.poseidon5(), address(poseidon5));
    }

    function test_ConfigIsValidated() public {
        address[] memory none = new address[](0);
        ZkRollup.Config memory c = config(none, 0, GENESIS);
        c.verifier = ALICE;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAContract.selector, ALICE));
        new ZkRollup(c);

        c = config(none, 0, GENESIS);
        c.operator = address(0);
        vm.expectRevert(ZkRollup.ZeroOperator.selector);
        new ZkRollup(c);

        c = config(none, 0, GENESIS);
        c.accountDepth = 25;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepths.selector, 25, 2));
        new ZkRollup(c);
        c.accountDepth = 4;
        c.tokenDepth = 0;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepths.selector, 4, 0));
        new ZkRollup(c);
        c.tokenDepth = 9;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepths.selector, 4, 9));
        new ZkRollup(c);
        // The trees are quaternary: odd depths are not whole levels.
        c.tokenDepth = 3;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepths.selector, 4, 3));
        new ZkRollup(c);
        c.tokenDepth = 2;
        c.accountDepth = 5;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepths.selector, 5, 2));
        new ZkRollup(c);

        c = config(none, 0, GENESIS);
        c.depositSlots = 0;
        vm.expectRevert(ZkRollup.NoDepositSlots.selector);
        new ZkRollup(c);

        c = config(none, 0, GENESIS);
        c.priorityDeadline = 0;
        vm.expectRevert(ZkRollup.ZeroPriorityDeadline.selector);
        new ZkRollup(c);

        vm.expectRevert(abi.encodeWithSelector(ZkRollup.RootNotInField.selector, SCALAR_MODULUS));
        new ZkRollup(config(none, 0, SCALAR_MODULUS));

        // Thresholds: 0 without a committee, 1..size with one.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidThreshold.selector, 1, 0));
        new ZkRollup(config(none, 1, GENESIS));
        address[] memory two = new address[](2);
        two[0] = ALICE;
        two[1] = BOB;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidThreshold.selector, 0, 2));
        new ZkRollup(config(two, 0, GENESIS));
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidThreshold.selector, 3, 2));
        new ZkRollup(config(two, 3, GENESIS));

        // Members: non-zero, distinct.
        two[1] = ALICE;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidCommitteeMember.selector, ALICE));
        new ZkRollup(config(two, 1, GENESIS));
        two[1] = address(0);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidCommitteeMember.selector, address(0)));
        new ZkRollup(config(two, 1, GENESIS));
    }

    // ---------------------------------------------------------------- tokens

    function test_RegisterToken() public {
        vm.assertEq(uint256(tokenId), 1);
        vm.assertEq(zk.tokenGovernor(), GOVERNOR);
        vm.assertEq(uint256(zk.maxTokens()), 3);
        vm.assertEq(zk.tokenAddress(1), address(token));
        vm.assertEq(zk.tokenAddress(0), address(0));
        vm.assertEq(uint256(zk.tokenId(address(token))), 1);
        vm.assertEq(uint256(zk.tokenId(address(0))), 0);

        vm.startPrank(GOVERNOR);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenAlreadyRegistered.selector, address(token), 1));
        zk.registerToken(address(token));
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotAContract.selector, address(0)));
        zk.registerToken(address(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.UnknownToken.selector, 2));
        zk.tokenAddress(2);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, ALICE));
        zk.tokenId(ALICE);

        // Token depth 2: ids 1 to 3.
        TestToken second = new TestToken("Two", "TWO", 18);
        vm.expectEmit(address(zk));
        emit TokenRegistry.TokenRegistered(2, address(second));
        vm.startPrank(GOVERNOR);
        vm.assertEq(uint256(zk.registerToken(address(second))), 2);
        vm.assertEq(uint256(zk.registerToken(address(new TestToken("3", "3", 18)))), 3);
        address fourth = address(new TestToken("4", "4", 18));
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TooManyTokens.selector, 3));
        zk.registerToken(fourth);
        vm.stopPrank();
        vm.assertEq(zk.tokenCount(), 3);
    }

    /// @dev The griefing of issue 10: anyone filling the registry with junk contracts so that no
    ///      real token can be listed. Only the governor lists; the griefer's every try reverts and
    ///      the ids stay free for real tokens.
    function test_AGrieferCannotFillTheTokenRegistry() public {
        address griefer = address(0xBAD);
        for (uint256 i = 0; i < 10; ++i) {
            address junk = address(new TestToken("junk", "JNK", 18));
            vm.expectRevert(abi.encodeWithSelector(TokenRegistry.NotTokenGovernor.selector, griefer));
            vm.prank(griefer);
            zk.registerToken(junk);
        }
        // The operator is no governor either.
        address junkOfOperator = address(new TestToken("junk", "JNK", 18));
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.NotTokenGovernor.selector, OPERATOR));
        vm.prank(OPERATOR);
        zk.registerToken(junkOfOperator);
        vm.assertEq(zk.tokenCount(), 1);
        // A real token still gets the next id.
        TestToken real = new TestToken("Real", "REAL", 6);
        vm.prank(GOVERNOR);
        vm.assertEq(uint256(zk.registerToken(address(real))), 2);
        // An unlisted junk token cannot be deposited.
        TestToken junk2 = new TestToken("junk", "JNK", 18);
        vm.deal(griefer, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(junk2)));
        vm.prank(griefer);
        zk.depositErc20{value: FEE}(address(junk2), 1, PK1_X, PK1_Y);
        // A registry needs a governor and a cap.
        ZkRollup.Config memory c = config(new address[](0), 0, GENESIS);
        c.tokenGovernor = address(0);
        vm.expectRevert(TokenRegistry.InvalidTokenRegistry.selector);
        new ZkRollup(c);
    }

    // ---------------------------------------------------------------- deposits

    function test_DepositsQueueInOrder() public {
        vm.expectEmit(address(zk));
        emit ZkRollup.PriorityOpQueued(0, ALICE, 1, 1, 0, 2 ether, T0 + DEADLINE);
        vm.prank(ALICE);
        zk.depositEth{value: 2 ether + FEE}(2 ether, PK1_X, PK1_Y);

        vm.warp(T0 + 10);
        vm.expectEmit(address(zk));
        emit ZkRollup.PriorityOpQueued(1, ALICE, 1, 1, tokenId, 500, T0 + 10 + DEADLINE);
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), 500, PK2_X, PK2_Y);

        vm.assertEq(uint256(zk.priorityTail()), 2);
        vm.assertEq(uint256(zk.priorityHead()), 0);
        vm.assertEq(address(zk).balance, 2 ether + 2 * FEE, "the amount and two burned fees");
        vm.assertEq(token.balanceOf(address(zk)), 500);

        ZkRollup.PriorityOp memory op = zk.priorityOp(1);
        vm.assertEq(op.to, ALICE);
        vm.assertEq(uint256(op.token), tokenId);
        vm.assertEq(uint256(op.amount), 500);
        vm.assertEq(op.pkX, PK2_X);
        vm.assertEq(op.pkY, PK2_Y);
        vm.assertEq(uint256(op.deadline), T0 + 10 + DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.UnknownPriorityOp.selector, 2));
        zk.priorityOp(2);
    }

    function test_DepositsRefuseKeysOffTheCurve() public {
        vm.assertTrue(zk.isValidPublicKey(PK3_X, PK3_Y));
        // The identity (0, 1) is on the curve; (1, 1) and swapped coordinates are not.
        vm.assertTrue(zk.isValidPublicKey(0, 1));
        uint256[2][4] memory bad = [
            [uint256(1), 1],
            [PK1_Y, PK1_X],
            [PK1_X + SCALAR_MODULUS, PK1_Y], // the same residue, not canonical
            [PK1_X, PK1_Y + 1]
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            vm.assertFalse(zk.isValidPublicKey(bad[i][0], bad[i][1]));
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidPublicKey.selector, bad[i][0], bad[i][1]));
            vm.prank(ALICE);
            zk.depositEth{value: 1 ether + FEE}(1 ether, bad[i][0], bad[i][1]);
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidPublicKey.selector, bad[i][0], bad[i][1]));
            vm.prank(ALICE);
            zk.depositErc20{value: FEE}(address(token), 1, bad[i][0], bad[i][1]);
        }
    }

    function test_DepositsRefuseBadAmountsAndTokens() public {
        vm.expectRevert(ZkRollup.ZeroAmount.selector);
        vm.prank(ALICE);
        zk.depositEth{value: 0 + FEE}(0, PK1_X, PK1_Y);
        vm.expectRevert(ZkRollup.ZeroAmount.selector);
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), 0, PK1_X, PK1_Y);


        TestToken other = new TestToken("Other", "OTH", 18);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(other)));
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(other), 1, PK1_X, PK1_Y);

        // Without allowance the token's transferFrom fails.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.TransferFromFailed.selector, address(token), BOB, 1));
        vm.prank(BOB);
        zk.depositErc20{value: FEE}(address(token), 1, PK1_X, PK1_Y);
        vm.assertEq(uint256(zk.priorityTail()), 0);
    }

    /// Every queued operation pays the priority fee, exactly, on top of what it moves; the fee is
    /// burned (kept here, paid to nobody). Below the minimum (amount 1 plus the fee) is refused,
    /// the exact minimum accepted.
    function test_QueuedOperationsPayThePriorityFeeExactly() public {
        vm.assertEq(zk.priorityFee(), FEE);
        // ETH: msg.value must be amount + fee, not less (the fee taken out of the amount) nor more.
        uint256[3] memory wrong = [uint256(1), FEE, FEE + 2];
        for (uint256 i = 0; i < wrong.length; i++) {
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, wrong[i], FEE + 1));
            vm.prank(ALICE);
            zk.depositEth{value: wrong[i]}(1, PK1_X, PK1_Y);
        }
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, 1 ether, 1 ether + FEE));
        vm.prank(ALICE);
        zk.depositEth{value: 1 ether}(1 ether, PK1_X, PK1_Y);
        // ERC-20 deposits and full exits pay the fee alone.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, 0, FEE));
        vm.prank(ALICE);
        zk.depositErc20(address(token), 5, PK1_X, PK1_Y);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, FEE - 1, FEE));
        vm.prank(ALICE);
        zk.depositErc20{value: FEE - 1}(address(token), 5, PK1_X, PK1_Y);
        vm.assertEq(uint256(zk.priorityTail()), 0);

        // The exact minimum: 1 wei plus the fee.
        vm.prank(ALICE);
        zk.depositEth{value: FEE + 1}(1, PK1_X, PK1_Y);
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), 1, PK1_X, PK1_Y);
        vm.assertEq(uint256(zk.priorityOp(0).amount), 1);
        vm.assertEq(uint256(zk.priorityOp(1).amount), 1);

        // A full exit: the fee, exactly.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, 0, FEE));
        vm.prank(ALICE);
        zk.requestFullExit(0);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.WrongValue.selector, FEE + 1, FEE));
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE + 1}(0);
        vm.prank(ALICE);
        zk.requestFullExit{value: FEE}(0);

        vm.assertEq(uint256(zk.priorityTail()), 3);
        vm.assertEq(zk.feesBurned(), 3 * FEE);
        vm.assertEq(address(zk).balance, 1 + 3 * FEE);
    }

    /// The fee is burned even when the deposit is later refunded in exit mode: a refund pays the
    /// amount back, never the fee, so a flood costs its fees whatever becomes of it.
    function test_ExitModeRefundsTheAmountNotTheFee() public {
        depositEth(zk, ALICE, 2 ether);
        vm.warp(T0 + DEADLINE + 1);
        zk.activateExitMode();
        zk.refundDeposits(1);
        vm.assertEq(zk.pending(ALICE, 0), 2 ether);
        vm.assertEq(address(zk).balance, 2 ether + FEE);
        vm.assertEq(zk.feesBurned(), FEE);
    }

    // ---------------------------------------------------------------- batches

    function test_BatchConsumesDepositsAndCommitsAsSpecified() public {
        depositEth(zk, ALICE, 3 ether);
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), 700, PK2_X, PK2_Y);
        depositEth(zk, BOB, 1 ether); // stays queued

        bytes memory onchain =
            bytes.concat(depositRecord(), depositRecord(), withdrawalRecord(1, 0, 0.5 ether, 3, CAROL));
        bytes memory transfers = bytes.concat(transferRecord(1, 2, 0, 12345, 1), transferRecord(2, 1, 1, 7, 0));
        bytes memory priority = bytes.concat(priorityRecord(zk, 0), priorityRecord(zk, 1));
        vm.assertEq(priority.length, 210);
        uint256 newRoot = 0xbeef;
        uint256 commitment = commitmentOf(zk, GENESIS, newRoot, transfers, priority, onchain);
        vm.assertEq(zk.batchCommitment(GENESIS, newRoot, sha256(transfers), sha256(priority), onchain), commitment);
        expectCommitment(commitment);

        vm.expectEmit(address(zk));
        emit ZkRollup.BatchVerified(0, newRoot, 2, sha256(transfers));
        vm.expectEmit(address(zk));
        emit ZkRollup.WithdrawalReleased(CAROL, 0, 0.5 ether);
        submit(onchain, transfers, newRoot);

        vm.assertEq(zk.stateRoot(), newRoot);
        vm.assertEq(uint256(zk.batchCount()), 1);
        vm.assertEq(uint256(zk.priorityHead()), 2);
        vm.assertEq(uint256(zk.priorityTail()), 3);
        vm.assertEq(zk.pending(CAROL, 0), 0.5 ether);

        // The next batch starts from the new root and the next queued operation; a padding
        // deposit slot is fine while nothing is overdue.
        onchain = bytes.concat(depositPadding(), depositRecord(), withdrawalPadding());
        priority = bytes.concat(priorityPadding(), priorityRecord(zk, 2));
        expectCommitment(commitmentOf(zk, newRoot, 7, new bytes(24), priority, onchain));
        submit(onchain, "", 7);
        vm.assertEq(uint256(zk.batchCount()), 2);
        vm.assertEq(uint256(zk.priorityHead()), 3);
    }

    function test_ShortTransferSectionsArePaddedWithZeros() public {
        bytes memory onchain = bytes.concat(depositPadding(), depositPadding(), withdrawalPadding());
        bytes memory one = transferRecord(1, 2, 0, 5, 0);
        uint256 commitment = commitmentOf(zk, GENESIS, 1, padTo(one, 24), new bytes(210), onchain);
        expectCommitment(commitment);
        submit(onchain, one, 1);
        // The same batch with the full section posted has the same commitment.
        expectCommitment(commitmentOf(zk, 1, 1, padTo(one, 24), new bytes(210), onchain));
        submit(onchain, padTo(one, 24), 1);

        vm.expectRevert(abi.encodeWithSelector(ZkRollup.TransfersTooLong.selector, 25, 24));
        submit(onchain, new bytes(25), 1);
    }

    function test_InvalidProofIsRefused() public {
        depositEth(zk, ALICE, 1 ether);
        verifier.setResult(false);
        bytes memory onchain = bytes.concat(depositRecord(), depositPadding(), withdrawalPadding());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        submit(onchain, "", 1);
        vm.assertEq(zk.stateRoot(), GENESIS);
        vm.assertEq(uint256(zk.priorityHead()), 0);
    }

    function test_OnlyTheOperatorSubmitsAndOnlyInItsMode() public {
        bytes memory onchain = bytes.concat(depositPadding(), depositPadding(), withdrawalPadding());
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotOperator.selector, ALICE));
        vm.prank(ALICE);
        zk.submitBatch(onchain, "", 1, PROOF);

        bytes32 transfersHash = sha256(new bytes(24));
        vm.expectRevert(ZkRollup.WrongMode.selector);
        vm.prank(OPERATOR);
        zk.submitBatchValidium(onchain, transfersHash, 1, PROOF, "");

        vm.expectRevert(abi.encodeWithSelector(ZkRollup.RootNotInField.selector, SCALAR_MODULUS));
        submit(onchain, "", SCALAR_MODULUS);
    }

    function test_MalformedSectionsAreRefused() public {
        depositEth(zk, ALICE, 1 ether);
        bytes memory w = withdrawalPadding();

        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidOnchainLength.selector, 75, 76));
        submit(bytes.concat(depositPadding(), depositPadding(), new bytes(41)), "", 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidOnchainLength.selector, 77, 76));
        submit(bytes.concat(depositPadding(), depositPadding(), new bytes(43)), "", 1);

        // Deposit section: an unknown op, a padding record with a stray byte, and more deposit
        // records than queued operations.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidDepositOp.selector, 1, 2));
        submit(bytes.concat(depositRecord(), abi.encodePacked(uint8(2), uint128(1)), w), "", 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroDepositPadding.selector, 0));
        submit(bytes.concat(abi.encodePacked(uint8(0), uint128(256)), depositPadding(), w), "", 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityQueueExhausted.selector, 1));
        submit(bytes.concat(depositRecord(), depositRecord(), w), "", 1);

        // Withdrawal section: a transfer's op byte, and a padding record with a stray byte.
        bytes memory bad = withdrawalRecord(1, 0, 1, 0, CAROL);
        bad[0] = 0x02;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidWithdrawalOp.selector, 0, 2));
        submit(bytes.concat(depositPadding(), depositPadding(), bad), "", 1);
        bytes memory stray = withdrawalPadding();
        stray[41] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroWithdrawalPadding.selector, 0));
        submit(bytes.concat(depositPadding(), depositPadding(), stray), "", 1);
        stray[41] = 0;
        stray[20] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NonZeroWithdrawalPadding.selector, 0));
        submit(bytes.concat(depositPadding(), depositPadding(), stray), "", 1);
    }

    function test_ABatchMayNotSkipAnOverduePriorityOp() public {
        depositEth(zk, ALICE, 1 ether);
        depositEth(zk, ALICE, 1 ether);
        depositEth(zk, ALICE, 1 ether);
        // Deadlines are spaced by INTERVAL: T0 + DEADLINE, + INTERVAL, + 2 INTERVAL.
        vm.warp(T0 + DEADLINE + 2 * INTERVAL + 1);
        bytes memory w = withdrawalPadding();

        // Consuming none, or one with a slot to spare, leaves an overdue operation behind.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.SkipsOverduePriorityOp.selector, 0));
        submit(bytes.concat(depositPadding(), depositPadding(), w), "", 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.SkipsOverduePriorityOp.selector, 1));
        submit(bytes.concat(depositRecord(), depositPadding(), w), "", 1);

        // A full deposit section is fine even though operation 2 is still overdue after it.
        submit(bytes.concat(depositRecord(), depositRecord(), w), "", 1);
        vm.assertEq(uint256(zk.priorityHead()), 2);
        // Consuming the last one leaves nothing behind.
        submit(bytes.concat(depositRecord(), depositPadding(), w), "", 2);
        vm.assertEq(uint256(zk.priorityHead()), 3);
        submit(bytes.concat(depositPadding(), depositPadding(), w), "", 3);
    }

    function test_AtTheDeadlineAnOperationIsNotOverdueYet() public {
        depositEth(zk, ALICE, 1 ether);
        vm.warp(T0 + DEADLINE);
        submit(bytes.concat(depositPadding(), depositPadding(), withdrawalPadding()), "", 1);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityOpNotOverdue.selector, 0, T0 + DEADLINE));
        zk.activateExitMode();
    }

    // ---------------------------------------------------------------- withdrawals

    function test_WithdrawalsAreReleasedAndClaimableOnce() public {
        depositEth(zk, ALICE, 3 ether);
        vm.prank(ALICE);
        zk.depositErc20{value: FEE}(address(token), 900, PK1_X, PK1_Y);
        bytes memory d = bytes.concat(depositRecord(), depositRecord());

        submit(bytes.concat(d, withdrawalRecord(1, 0, 2 ether, 0, CAROL)), "", 1);
        submit(bytes.concat(depositPadding(), depositPadding(), withdrawalRecord(1, tokenId, 400, 0, CAROL)), "", 2);
        submit(bytes.concat(depositPadding(), depositPadding(), withdrawalRecord(1, tokenId, 100, 0, CAROL)), "", 3);
        vm.assertEq(zk.pending(CAROL, 0), 2 ether);
        vm.assertEq(zk.pending(CAROL, tokenId), 500);

        // Anyone may claim for the owner; the owner is paid.
        vm.expectEmit(address(zk));
        emit ZkRollup.Claimed(CAROL, 0, 2 ether);
        vm.prank(BOB);
        zk.claim(CAROL, 0);
        vm.assertEq(CAROL.balance, 2 ether);
        vm.assertEq(zk.pending(CAROL, 0), 0);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, CAROL, 0));
        zk.claim(CAROL, 0);

        zk.claim(CAROL, tokenId);
        vm.assertEq(token.balanceOf(CAROL), 500);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, CAROL, tokenId));
        zk.claim(CAROL, tokenId);
    }

    function test_AClaimCannotBeReentered() public {
        Reclaimer thief = new Reclaimer(zk);
        depositEth(zk, ALICE, 3 ether);
        bytes memory d = bytes.concat(depositRecord(), depositPadding());
        submit(bytes.concat(d, withdrawalRecord(1, 0, 1 ether, 0, address(thief))), "", 1);
        // The re-entered claim reverts, so the ETH transfer fails and the claim reverts whole.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.EthTransferFailed.selector, address(thief), 1 ether));
        zk.claim(address(thief), 0);
        vm.assertEq(zk.pending(address(thief), 0), 1 ether);
    }

    // ---------------------------------------------------------------- gas

    /// @notice The execution gas of `submitBatch` without the proof's verification, logged with
    ///         -vv: the ZkRollup frame (cold storage, as in a transaction of its own), less the
    ///         test verifier's frame and the cold call to it. The batch consumes 2 deposits and
    ///         releases 1 withdrawal (to an account with a pending balance already); 2 transfers.
    ///         The generated `BatchVerifier` adds about 190,000 (a pairing of 4 and one ecMul).
    function test_SubmitBatchGas() public {
        depositEth(zk, ALICE, 3 ether);
        depositEth(zk, BOB, 1 ether);
        submit(bytes.concat(depositPadding(), depositPadding(), withdrawalRecord(1, 0, 1, 0, CAROL)), "", 1);

        bytes memory onchain =
            bytes.concat(depositRecord(), depositRecord(), withdrawalRecord(1, 0, 0.5 ether, 3, CAROL));
        bytes memory transfers = bytes.concat(transferRecord(1, 2, 0, 12345, 1), transferRecord(2, 1, 0, 7, 0));
        vm.cool(address(zk));
        vm.cool(address(verifier));
        vm.prank(OPERATOR);
        zk.submitBatch(onchain, transfers, 2, PROOF);
        uint256 total = vm.lastCallGas().gasTotalUsed;

        vm.cool(address(verifier));
        verifier.verifyProof(
            [PROOF[0], PROOF[1]], [[PROOF[2], PROOF[3]], [PROOF[4], PROOF[5]]], [PROOF[6], PROOF[7]], [uint256(1)]
        );
        uint256 verifierFrame = vm.lastCallGas().gasTotalUsed;
        uint256 withoutVerification = total - verifierFrame - 2_600; // 2,600: a cold account access

        emit log_named_uint("submitBatch execution gas, ZkRollup frame with the test verifier", total);
        emit log_named_uint("  test verifier frame", verifierFrame);
        emit log_named_uint("submitBatch execution gas without verification", withoutVerification);
        emit log_named_uint(
            "calldata bytes", abi.encodeCall(ZkRollup.submitBatch, (onchain, transfers, 2, PROOF)).length
        );
        vm.assertLe(withoutVerification, 60_000, "submitBatch over budget");
    }
}

/// @notice A recipient that re-enters `claim` when paid.
contract Reclaimer {
    ZkRollup internal immutable zk;

    constructor(ZkRollup zk_) {
        zk = zk_;
    }

    receive() external payable {
        zk.claim(address(this), 0);
    }
}

/// @notice `ZkRollup` in validium mode: the committee's signatures.
contract ZkValidiumTest is ZkRollupFixture {
    ZkRollup internal validium;
    uint256[3] internal memberKeys = [uint256(0xA1), 0xA2, 0xA3];
    uint256 internal constant OUTSIDER_KEY = 0xB1;

    function setUp() public override {
        super.setUp();
        address[] memory members = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            members[i] = vm.addr(memberKeys[i]);
        }
        validium = new ZkRollup(config(members, 2, GENESIS));
    }

    /// @dev The signatures of `keys` over the digest of `transfersHash`, signers in address order.
    function signSorted(uint256[] memory signers, bytes32 transfersHash) internal view returns (bytes memory out) {
        // Insertion sort by address.
        for (uint256 i = 1; i < signers.length; i++) {
            for (uint256 j = i; j > 0 && vm.addr(signers[j]) < vm.addr(signers[j - 1]); j--) {
                (signers[j], signers[j - 1]) = (signers[j - 1], signers[j]);
            }
        }
        for (uint256 i = 0; i < signers.length; i++) {
            out = bytes.concat(out, signature(signers[i], transfersHash));
        }
    }

    function signature(uint256 key, bytes32 transfersHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, validium.dacDigest(transfersHash));
        return abi.encodePacked(r, s, v);
    }

    function keys(uint256 a, uint256 b) internal pure returns (uint256[] memory k) {
        k = new uint256[](2);
        k[0] = a;
        k[1] = b;
    }

    function onchain() internal pure returns (bytes memory) {
        return bytes.concat(depositPadding(), depositPadding(), withdrawalPadding());
    }

    function submitValidium(bytes32 transfersHash, bytes memory signatures) internal {
        vm.prank(OPERATOR);
        validium.submitBatchValidium(onchain(), transfersHash, 1, PROOF, signatures);
    }

    function test_Views() public view {
        vm.assertTrue(validium.isValidium());
        vm.assertEq(uint256(validium.threshold()), 2);
        address[] memory members = validium.committee();
        vm.assertEq(members.length, 3);
        vm.assertEq(members[1], vm.addr(0xA2));
        vm.assertTrue(validium.isCommitteeMember(vm.addr(0xA3)));
        vm.assertFalse(validium.isCommitteeMember(vm.addr(OUTSIDER_KEY)));
        bytes32 h = keccak256("transfers");
        bytes32 expected =
            keccak256(abi.encodePacked(keccak256("ply.validium.dac.v1"), block.chainid, address(validium), h));
        vm.assertEq(validium.dacDigest(h), expected);
    }

    function test_ThresholdOfSignaturesPasses() public {
        bytes memory transfers = padTo(transferRecord(1, 2, 0, 9, 0), 24);
        bytes32 h = sha256(transfers);
        // The commitment uses the hash given, exactly as in rollup mode.
        verifier.expectCall(
            [PROOF[0], PROOF[1]],
            [[PROOF[2], PROOF[3]], [PROOF[4], PROOF[5]]],
            [PROOF[6], PROOF[7]],
            commitmentOf(validium, GENESIS, 1, transfers, new bytes(210), onchain())
        );
        vm.expectEmit(address(validium));
        emit ZkRollup.BatchVerified(0, 1, 0, h);
        submitValidium(h, signSorted(keys(0xA1, 0xA3), h));
        vm.assertEq(validium.stateRoot(), 1);

        // All three members are fine too.
        uint256[] memory all = new uint256[](3);
        (all[0], all[1], all[2]) = (0xA1, 0xA2, 0xA3);
        bytes memory sigs = signSorted(all, h);
        verifier.expectCall(
            [PROOF[0], PROOF[1]],
            [[PROOF[2], PROOF[3]], [PROOF[4], PROOF[5]]],
            [PROOF[6], PROOF[7]],
            commitmentOf(validium, 1, 2, transfers, new bytes(210), onchain())
        );
        vm.prank(OPERATOR);
        validium.submitBatchValidium(onchain(), h, 2, PROOF, sigs);
        vm.assertEq(uint256(validium.batchCount()), 2);
    }

    function test_FewerSignaturesThanTheThresholdRevert() public {
        bytes32 h = sha256(new bytes(24));
        bytes memory one = signature(0xA1, h);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotEnoughSignatures.selector, 1, 2));
        submitValidium(h, one);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotEnoughSignatures.selector, 0, 2));
        submitValidium(h, "");
    }

    function test_ANonMemberSignatureReverts() public {
        bytes32 h = sha256(new bytes(24));
        bytes memory sigs = signSorted(keys(0xA1, OUTSIDER_KEY), h);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotACommitteeMember.selector, vm.addr(OUTSIDER_KEY)));
        submitValidium(h, sigs);

        // A member's signature over another batch recovers to some other address here.
        bytes memory stale = signature(0xA1, keccak256("another batch"));
        (bytes32 r, bytes32 s, uint8 v) = (bytes32(0), bytes32(0), uint8(stale[64]));
        assembly {
            r := mload(add(stale, 0x20))
            s := mload(add(stale, 0x40))
        }
        address recovered = ecrecover(validium.dacDigest(h), v, r, s);
        vm.assertTrue(recovered != vm.addr(0xA1));
        sigs = bytes.concat(stale, signature(0xA2, h));
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotACommitteeMember.selector, recovered));
        submitValidium(h, sigs);
    }

    function test_ARepeatedOrUnsortedMemberReverts() public {
        bytes32 h = sha256(new bytes(24));
        bytes memory one = signature(0xA1, h);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.DuplicateOrUnsortedSigner.selector, vm.addr(0xA1)));
        submitValidium(h, bytes.concat(one, one));

        bytes memory sorted = signSorted(keys(0xA1, 0xA2), h);
        bytes memory reversed = bytes.concat(slice(sorted, 65, 130), slice(sorted, 0, 65));
        address first = vm.addr(0xA1) < vm.addr(0xA2) ? vm.addr(0xA1) : vm.addr(0xA2);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.DuplicateOrUnsortedSigner.selector, first));
        submitValidium(h, reversed);
    }

    function test_MalformedSignaturesRevert() public {
        bytes32 h = sha256(new bytes(24));
        bytes memory sigs = signSorted(keys(0xA1, 0xA2), h);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.MalformedSignatures.selector, 129));
        submitValidium(h, slice(sigs, 0, 129));

        // A bad v.
        bytes memory badV = bytes.concat(sigs);
        badV[64] = bytes1(uint8(29));
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidSignature.selector, 0));
        submitValidium(h, badV);

        // The high-s twin of a valid signature: (r, n - s, v ^ 1).
        uint256 n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
        bytes memory second = slice(sigs, 65, 130);
        bytes32 r;
        uint256 s;
        assembly {
            r := mload(add(second, 0x20))
            s := mload(add(second, 0x40))
        }
        uint8 v = uint8(second[64]) == 27 ? 28 : 27;
        bytes memory twin = bytes.concat(slice(sigs, 0, 65), abi.encodePacked(r, bytes32(n - s), v));
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidSignature.selector, 1));
        submitValidium(h, twin);

        // r = 0: nothing is recovered.
        bytes memory zero = bytes.concat(new bytes(64), hex"1b", slice(sigs, 65, 130));
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidSignature.selector, 0));
        submitValidium(h, zero);
    }

    function test_RollupEntryPointRevertsInValidiumMode() public {
        vm.expectRevert(ZkRollup.WrongMode.selector);
        vm.prank(OPERATOR);
        validium.submitBatch(onchain(), "", 1, PROOF);
    }

    function slice(bytes memory data, uint256 start, uint256 end) internal pure returns (bytes memory out) {
        out = new bytes(end - start);
        for (uint256 i = start; i < end; i++) {
            out[i - start] = data[i];
        }
    }
}

/// @notice `ZkRollup`'s escape hatch: exit mode, refunds of queued deposits, and exits proven
///         against the last verified root of a small quaternary state tree (account depth 4:
///         two levels; token depth 2: one level) built here with the deployed Poseidon contracts.
contract ZkExitModeTest is ZkRollupFixture {
    event log_named_uint(string key, uint256 val);

    ZkRollup internal small;

    // The account: index 6 (child 2 of node 1 at level 0; node 1 is child 1 of the root), ETH
    // balance. Its siblings: accounts 4, 5 and 7, then the nodes 0, 2 and 3 of level 1.
    uint32 internal constant INDEX = 6;
    uint64 internal constant NONCE = 3;
    uint128 internal constant BALANCE = 1.5 ether;
    uint256 internal constant OTHER_BALANCE = 42; // token 1's leaf (tokens 2 and 3 are empty)
    uint256 internal constant ACCOUNT4 = 0x51b4;
    uint256 internal constant ACCOUNT5 = 0x51b5;
    uint256 internal constant ACCOUNT7 = 0x51b7;
    uint256 internal constant NODE0 = 0x52b0;
    uint256 internal constant NODE2 = 0x52b2;
    uint256 internal constant NODE3 = 0x52b3;

    uint256 internal root;

    function setUp() public override {
        super.setUp();
        root = stateRootOf(BALANCE, NONCE);
        ZkRollup.Config memory c = config(new address[](0), 0, root);
        c.accountDepth = 4;
        c.tokenDepth = 2;
        small = new ZkRollup(c);
    }

    function stateRootOf(uint128 balance, uint64 nonce) internal view returns (uint256) {
        uint256 balancesRoot = poseidon4.hash([uint256(balance), OTHER_BALANCE, 0, 0]);
        uint256 leaf = poseidon5.hash([uint256(uint160(BOB)), PK2_X, PK2_Y, nonce, balancesRoot]);
        uint256 node1 = poseidon4.hash([ACCOUNT4, ACCOUNT5, leaf, ACCOUNT7]);
        return poseidon4.hash([NODE0, node1, NODE2, NODE3]);
    }

    function balanceSiblings() internal pure returns (uint256[] memory s) {
        s = new uint256[](3);
        (s[0], s[1], s[2]) = (OTHER_BALANCE, 0, 0);
    }

    function accountSiblings() internal pure returns (uint256[] memory s) {
        s = new uint256[](6);
        (s[0], s[1], s[2]) = (ACCOUNT4, ACCOUNT5, ACCOUNT7);
        (s[3], s[4], s[5]) = (NODE0, NODE2, NODE3);
    }

    function exitBob(ZkRollup target) internal {
        target.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, balanceSiblings(), accountSiblings());
    }

    /// @dev Queues a deposit on `small` and lets it become overdue.
    function overdueDeposit() internal {
        depositEth(small, ALICE, 2 ether);
        vm.warp(T0 + DEADLINE + 1);
    }

    function test_ExitModeCannotBeActivatedEarly() public {
        vm.expectRevert(ZkRollup.NoPendingPriorityOp.selector);
        small.activateExitMode();
        depositEth(small, ALICE, 2 ether);
        vm.warp(T0 + DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityOpNotOverdue.selector, 0, T0 + DEADLINE));
        small.activateExitMode();
        // Not in exit mode: no refunds, no exits.
        vm.expectRevert(ZkRollup.NotInExitMode.selector);
        small.refundDeposits(1);
        vm.expectRevert(ZkRollup.NotInExitMode.selector);
        exitBob(small);
    }

    function test_ExitModeActivatesWhenTheHeadIsOverdueAndStopsBatches() public {
        overdueDeposit();
        vm.expectEmit(address(small));
        emit ZkRollup.ExitModeActivated(0);
        vm.prank(CAROL); // anyone
        small.activateExitMode();
        vm.assertTrue(small.exitMode());

        vm.expectRevert(ZkRollup.ExitModeActive.selector);
        small.activateExitMode();
        vm.expectRevert(ZkRollup.ExitModeActive.selector);
        vm.prank(OPERATOR);
        small.submitBatch(bytes.concat(depositRecord(), depositPadding(), withdrawalPadding()), "", 1, PROOF);
        vm.expectRevert(ZkRollup.ExitModeActive.selector);
        vm.prank(ALICE);
        small.depositEth{value: 1 ether + FEE}(1 ether, PK1_X, PK1_Y);
    }

    function test_RefundDepositsCreditsTheUnconsumedOnes() public {
        vm.prank(GOVERNOR);
        vm.assertEq(uint256(small.registerToken(address(token))), 1);
        vm.prank(ALICE);
        token.approve(address(small), type(uint256).max);
        depositEth(small, ALICE, 1 ether); // 0: consumed by a batch
        vm.prank(ALICE);
        small.depositErc20{value: FEE}(address(token), 300, PK1_X, PK1_Y); // 1
        vm.prank(BOB);
        small.depositEth{value: 2 ether + FEE}(2 ether, PK3_X, PK3_Y); // 2
        vm.prank(OPERATOR);
        small.submitBatch(bytes.concat(depositRecord(), depositPadding(), withdrawalPadding()), "", 1, PROOF);
        vm.warp(T0 + DEADLINE + INTERVAL + 1);
        small.activateExitMode();

        vm.expectRevert(ZkRollup.NothingToRefund.selector);
        small.refundDeposits(0);
        vm.expectEmit(address(small));
        emit ZkRollup.DepositRefunded(1, ALICE, 1, 300);
        vm.prank(CAROL); // anyone
        vm.assertEq(small.refundDeposits(1), 1);
        vm.assertEq(uint256(small.priorityHead()), 2);
        vm.assertEq(small.refundDeposits(10), 1);
        vm.assertEq(uint256(small.priorityHead()), 3);
        vm.expectRevert(ZkRollup.NothingToRefund.selector);
        small.refundDeposits(10);

        vm.assertEq(small.pending(ALICE, 1), 300);
        vm.assertEq(small.pending(BOB, 0), 2 ether);
        vm.assertEq(small.pending(ALICE, 0), 0, "the consumed deposit is on L2, not refunded");
        uint256 before = BOB.balance;
        small.claim(BOB, 0);
        vm.assertEq(BOB.balance - before, 2 ether);
        small.claim(ALICE, 1);
        vm.assertEq(token.balanceOf(ALICE), 1000 ether);
    }

    function test_ExitProvesABalanceAgainstTheLastVerifiedRoot() public {
        overdueDeposit();
        small.activateExitMode();

        vm.expectEmit(address(small));
        emit ZkRollup.Exited(INDEX, 0, BOB, BALANCE);
        vm.prank(CAROL); // anyone may exit for the owner
        exitBob(small);
        Vm.Gas memory gas = vm.lastCallGas();
        emit log_named_uint("exit gas (account depth 4, token depth 2)", gas.gasTotalUsed);
        vm.assertTrue(small.exited(INDEX, 0));
        vm.assertEq(small.pending(BOB, 0), BALANCE);

        vm.expectRevert(abi.encodeWithSelector(ZkRollup.AlreadyExited.selector, INDEX, 0));
        exitBob(small);

        uint256 before = BOB.balance;
        small.claim(BOB, 0);
        vm.assertEq(BOB.balance - before, BALANCE);
    }

    function test_AWrongExitProofReverts() public {
        overdueDeposit();
        small.activateExitMode();
        uint256[] memory bs = balanceSiblings();
        uint256[] memory accs = accountSiblings();

        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE + 1, bs, accs);
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX, 0, ALICE, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX + 1, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        // Token 1's leaf is OTHER_BALANCE, not BALANCE.
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX, 1, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        // The node at another place: index 5 (place 1 at the leaf level), 14 (place 3 at level 1).
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX - 1, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX + 8, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        // Two siblings swapped.
        (accs[3], accs[4]) = (NODE2, NODE0);
        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        (accs[3], accs[4]) = (NODE0, NODE2);

        // Malformed arguments.
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidSiblingsLength.selector, 6, 3));
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, accs, accs);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidSiblingsLength.selector, 3, 6));
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, bs);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.AccountIndexOutOfRange.selector, 16));
        small.exit(16, 0, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.TokenOutOfRange.selector, 4));
        small.exit(INDEX, 4, BOB, PK2_X, PK2_Y, NONCE, BALANCE, bs, accs);
        vm.expectRevert(ZkRollup.ZeroBalance.selector);
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE, 0, bs, accs);

        // The right proof still works.
        exitBob(small);
    }

    function test_ExitUsesTheLastVerifiedRootNotTheGenesis() public {
        // A batch moves the state on (BOB's nonce 3 -> 4): the genesis proof is stale.
        depositEth(small, ALICE, 2 ether);
        uint256 next = stateRootOf(BALANCE, NONCE + 1);
        vm.prank(OPERATOR);
        small.submitBatch(bytes.concat(depositRecord(), depositPadding(), withdrawalPadding()), "", next, PROOF);
        depositEth(small, ALICE, 1 ether);
        vm.warp(block.timestamp + DEADLINE + INTERVAL + 1);
        small.activateExitMode();

        vm.expectRevert(ZkRollup.InvalidExitProof.selector);
        exitBob(small);
        small.exit(INDEX, 0, BOB, PK2_X, PK2_Y, NONCE + 1, BALANCE, balanceSiblings(), accountSiblings());
        vm.assertEq(small.pending(BOB, 0), BALANCE);
    }
}
