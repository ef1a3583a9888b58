// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {StepFixture} from "./StepFixture.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {MalformedSparseProof} from "../../src/rollup/SparseProof.sol";
import {StepState, StepWitness, StepContext, PriorityOp, AccountWitness} from "../../src/rollup/StepTypes.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice The one-step executor on real small states (account depth 4, token depth 2, the
///         depth-160 address tree, real secp256k1 signatures): each rule applied and skipped, each
///         step producing exactly the expected post state; the malformed-batch transitions; the
///         priority operations against the Bridge's queue; DRAIN and DONE; and witnesses that
///         do not verify, which revert.
contract StepExecutorTest is StepFixture {
    uint8 internal constant START = 0;
    uint8 internal constant BLOCKS = 1;
    uint8 internal constant DRAIN = 2;
    uint8 internal constant DONE = 3;

    /// @dev One transaction in a one-block batch, executed from START: returns the post state.
    ///      `m` must be the model of the pre-state; the caller pushes the account reads.
    function start(Model memory m, TxSpec memory t)
        internal
        view
        returns (StepState memory pre, bytes memory data, StepWitness memory w)
    {
        data = batchOf(TS, 0, encodeTx(t), 1);
        pre = stateOf(m, START, 0, 0, 0, 0);
        w = witnessOf(data, 0, data.length);
    }

    function run(StepState memory pre, StepWitness memory w, bytes memory data) internal view returns (StepState memory) {
        return executor.step(pre, w, contextOf(data, 0));
    }

    /// @dev The post state of a one-transaction batch after its first step: the model `m`, the
    ///      block's timestamp, everything read.
    function after1(Model memory m, bytes memory data) internal pure returns (StepState memory) {
        m.lastTimestamp = TS;
        return stateOf(m, BLOCKS, uint64(data.length), 0, 0, 0);
    }

    // ---------------------------------------------------------------- transfers

    function test_TransferApplied() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAccount(w, accountWitness(m, 2, 0));
        m.balances[2][0] += 100;
        pushAccount(w, accountWitness(m, 0, 0));
        m.balances[0][0] += 3;
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_TransferToSelfApplied() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 1, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAccount(w, accountWitness(m, 1, 0)); // the recipient, read after the debit
        m.balances[1][0] += 100;
        pushAccount(w, accountWitness(m, 0, 0));
        m.balances[0][0] += 3;
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_TransferCreatesAccount() public view {
        Model memory m = baseModel();
        address carol = address(0xCA401);
        TxSpec memory t = transferSpec(m, 1, 0xFFFFFF, 100, 3);
        t.toAddress = carol;
        t.signedTo = carol;
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAddress(w, addressWitness(m, carol)); // leaf 0: no account
        pushAccount(w, accountWitness(m, 3, 0)); // the empty leaf at accountCount
        addAccount(m, carol);
        m.balances[3][0] = 100;
        pushAccount(w, accountWitness(m, 0, 0));
        m.balances[0][0] += 3;
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_TransferToNewAddressThatHasAnAccountSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 0xFFFFFF, 100, 3);
        t.toAddress = bob; // bob has account 2: a second account for him is refused
        t.signedTo = bob;
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 103;
        moved.nonces[1] += 1;
        pushAddress(w, addressWitness(moved, bob)); // leaf 3 (index 2 + 1)
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_WithdrawalApplied() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 0, 40, 2);
        t.withdrawal = true;
        t.token = 1;
        t.toAddress = address(0x11);
        t.signedTo = address(0x11);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 1));
        m.balances[1][1] -= 42;
        m.nonces[1] += 1;
        w.withdrawalProof = withdrawalWitness(m);
        m.withdrawals[0] = keccak256(abi.encode(uint256(0), uint256(0), address(0x11), uint32(1), uint256(40)));
        m.withdrawalCount = 1;
        pushAccount(w, accountWitness(m, 0, 1));
        m.balances[0][1] += 2;
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_WithdrawalTreeFullSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 0, 40, 2);
        t.withdrawal = true;
        t.toAddress = address(0x11);
        t.signedTo = address(0x11);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pre.withdrawalCount = 65_536;
        pre.withdrawalRoot = keccak256("a full tree");
        pushAccount(w, accountWitness(m, 1, 0));
        StepState memory expected = after1(m, data);
        expected.withdrawalCount = 65_536;
        expected.withdrawalRoot = pre.withdrawalRoot;
        assertState(run(pre, w, data), expected);
    }

    /// Random amounts, fees and balances: the transfer applies exactly when the sender covers
    /// `amount + fee` and neither the recipient nor the fee account overflows, reading the
    /// accounts up to the first rule that fails; otherwise only the parse fields move.
    function testFuzz_TransferFollowsTheRules(uint64 amount, uint16 fee, uint256 b1, uint256 b2, uint256 b0)
        public
        view
    {
        Model memory m = baseModel();
        m.balances[1][0] = bound(b1, 0, MAX_AMOUNT);
        m.balances[2][0] = bound(b2, 0, MAX_AMOUNT);
        m.balances[0][0] = bound(b0, 0, MAX_AMOUNT);
        TxSpec memory t = transferSpec(m, 1, 2, uint256(amount) % (1 << 35), uint256(fee) % (1 << 11));
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        moved.balances[1][0] = m.balances[1][0];
        moved.balances[2][0] = m.balances[2][0];
        moved.balances[0][0] = m.balances[0][0];
        bool applied = false;
        pushAccount(w, accountWitness(moved, 1, 0));
        if (moved.balances[1][0] >= t.amount + t.fee) {
            moved.balances[1][0] -= t.amount + t.fee;
            moved.nonces[1] += 1;
            pushAccount(w, accountWitness(moved, 2, 0));
            if (moved.balances[2][0] + t.amount <= MAX_AMOUNT) {
                moved.balances[2][0] += t.amount;
                pushAccount(w, accountWitness(moved, 0, 0));
                if (moved.balances[0][0] + t.fee <= MAX_AMOUNT) {
                    moved.balances[0][0] += t.fee;
                    applied = true;
                }
            }
        }
        assertState(run(pre, w, data), after1(applied ? moved : m, data));
    }

    // ---------------------------------------------------------------- skip rules

    /// Rules 1 to 7, each failing alone: only the parse fields move.
    function test_UnknownTokenSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 1, 0);
        t.token = 2; // not known
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        assertState(run(pre, w, data), after1(m, data)); // no reads at all
    }

    function test_UnknownSenderSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 1, 0);
        t.from = 3; // accountCount is 3
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_InsufficientBalanceSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 1000, 1); // 1,001 > 1,000
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_ExhaustedNonceSkipped() public view {
        Model memory m = baseModel();
        m.nonces[1] = type(uint64).max;
        TxSpec memory t = transferSpec(m, 1, 2, 1, 0);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_UnknownRecipientSkipped() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 0, 1, 0);
        t.to = 3;
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function badSignature(TxSpec memory t) internal view {
        Model memory m = baseModel();
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 101;
        moved.nonces[1] += 1;
        pushAccount(w, accountWitness(moved, 2, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_WrongSignerSkipped() public view {
        TxSpec memory t = transferSpec(baseModel(), 1, 2, 100, 1);
        t.key = MALLORY_KEY;
        badSignature(t);
    }

    function test_ReplayedNonceSkipped() public view {
        TxSpec memory t = transferSpec(baseModel(), 1, 2, 100, 1);
        t.nonce = 1; // the account's nonce is 0: a signature over another nonce does not recover
        badSignature(t);
    }

    function test_HighSSignatureSkipped() public view {
        TxSpec memory t = transferSpec(baseModel(), 1, 2, 100, 1);
        t.highS = true; // ecrecover would accept it; the rule s <= n/2 does not
        badSignature(t);
    }

    function test_SignatureOverAnotherRecipientSkipped() public view {
        TxSpec memory t = transferSpec(baseModel(), 1, 2, 100, 1);
        t.signedTo = address(0xBAD);
        badSignature(t);
    }

    function test_RecipientOverflowSkipped() public view {
        Model memory m = baseModel();
        m.balances[2][0] = MAX_AMOUNT;
        TxSpec memory t = transferSpec(m, 1, 2, 1, 0);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        moved.balances[2][0] = MAX_AMOUNT;
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 1;
        moved.nonces[1] += 1;
        pushAccount(w, accountWitness(moved, 2, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_FeeOverflowSkipped() public view {
        Model memory m = baseModel();
        m.balances[0][0] = MAX_AMOUNT;
        TxSpec memory t = transferSpec(m, 1, 2, 1, 1);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        moved.balances[0][0] = MAX_AMOUNT;
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 2;
        moved.nonces[1] += 1;
        pushAccount(w, accountWitness(moved, 2, 0));
        moved.balances[2][0] += 1;
        pushAccount(w, accountWitness(moved, 0, 0));
        assertState(run(pre, w, data), after1(m, data));
    }

    function test_FullAccountTreeSkipsNewAccount() public {
        // Account depth 2: indices 0..2 (index 3 = 2^2 - 1 is never used), so 3 accounts is full.
        StepExecutor small = new StepExecutor(bridge, 2, TOKEN_DEPTH);
        Model memory m = baseModel();
        m.accountDepth = 2;
        TxSpec memory t = transferSpec(m, 1, 0xFFFFFF, 1, 0);
        t.toAddress = address(0xCA401);
        t.signedTo = address(0xCA401);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory moved = baseModel();
        moved.accountDepth = 2;
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 1;
        moved.nonces[1] += 1;
        pushAddress(w, addressWitness(moved, address(0xCA401)));
        assertState(small.step(pre, w, contextOf(data, 0)), after1(m, data));
    }

    // ---------------------------------------------------------------- malformed batches

    function malformed(bytes memory data, Model memory m, uint64 lastTimestamp) internal view {
        StepState memory pre = stateOf(m, START, 0, 0, 0, 0);
        StepWitness memory w = witnessOf(data, 0, data.length);
        StepState memory expected = stateOf(m, DRAIN, 0, 0, 0, 0);
        expected.lastTimestamp = lastTimestamp;
        assertState(run(pre, w, data), expected);
    }

    function test_BadVersionIsMalformed() public view {
        Model memory m = baseModel();
        malformed(abi.encodePacked(uint8(2), uint32(1), TS, uint16(0), uint16(0)), m, m.lastTimestamp);
    }

    function test_EmptyBatchIsMalformed() public view {
        Model memory m = baseModel();
        malformed("", m, m.lastTimestamp);
    }

    function test_TruncatedTransactionIsMalformed() public view {
        Model memory m = baseModel();
        bytes memory full = encodeTx(transferSpec(m, 1, 2, 1, 0));
        bytes memory data = batchOf(TS, 0, slice(full, 0, 78), 1);
        malformed(data, m, m.lastTimestamp); // the header read in this step is undone too
    }

    function test_TimestampGoingBackIsMalformed() public view {
        Model memory m = baseModel();
        malformed(batchOf(m.lastTimestamp - 1, 0, "", 0), m, m.lastTimestamp);
    }

    function test_TooManyOpsIsMalformed() public view {
        Model memory m = baseModel();
        malformed(batchOf(TS, 1, "", 0), m, m.lastTimestamp); // the batch consumes no operation
    }

    function test_SenderFFFFFFIsMalformed() public view {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 1, 0);
        t.from = 0xFFFFFF;
        malformed(batchOf(TS, 0, encodeTx(t), 1), m, m.lastTimestamp);
    }

    /// Empty blocks are read in the same step; then the batch ends: DRAIN, then DONE.
    function test_EmptyBlocksThenDrainAndDone() public view {
        Model memory m = baseModel();
        bytes memory data = abi.encodePacked(uint8(1), uint32(2), TS, uint16(0), uint16(0), TS + 5, uint16(0), uint16(0));
        StepState memory pre = stateOf(m, START, 0, 0, 0, 0);
        StepState memory post = run(pre, witnessOf(data, 0, data.length), data);
        m.lastTimestamp = TS + 5;
        assertState(post, stateOf(m, DONE, 0, 0, 0, 0));
        // DONE changes nothing, whatever the witness.
        assertState(run(post, witnessOf(data, 0, 0), data), post);
    }

    // ---------------------------------------------------------------- priority operations

    /// A deposit to a new address in BLOCKS (the block applies one operation), against the
    /// Bridge's real queue; then one to an existing account in DRAIN.
    function test_DepositsCreateAndCredit() public {
        address carol = address(0xCA401);
        depositEth(carol, carol, 9);
        depositToken(alice, alice, 4);
        Model memory m = baseModel();
        bytes memory data = batchOf(TS, 1, "", 0);
        StepState memory pre = stateOf(m, BLOCKS, 17, 0, 1, 0);
        pre.lastTimestamp = TS;
        m.lastTimestamp = TS;
        StepWitness memory w = witnessOf(data, 17, 17);
        w.op = PriorityOp(0, carol, carol, 0, 9, uint64(T0));
        pushAddress(w, addressWitness(m, carol));
        pushAccount(w, accountWitness(m, 3, 0));
        addAccount(m, carol);
        m.balances[3][0] = 9;
        m.queueIndex = 1;
        StepState memory post = executor.step(pre, w, contextOf(data, 2));
        assertState(post, stateOf(m, BLOCKS, 17, 0, 0, 0));

        // Operation 1 in DRAIN: alice's existing account, token 1.
        post.phase = DRAIN;
        post.cursor = 0;
        w = witnessOf(data, 0, 0);
        w.op = PriorityOp(0, alice, alice, tokenId, 4, uint64(T0));
        pushAddress(w, addressWitness(m, alice));
        pushAccount(w, accountWitness(m, 1, 1));
        m.balances[1][1] += 4;
        m.queueIndex = 2;
        assertState(executor.step(post, w, contextOf(data, 2)), stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    function test_DepositOverflowSkippedButConsumed() public {
        depositEth(bob, bob, 1);
        Model memory m = baseModel();
        m.balances[2][0] = MAX_AMOUNT;
        StepState memory pre = stateOf(m, DRAIN, 0, 0, 0, 0);
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(0, bob, bob, 0, 1, uint64(T0));
        pushAddress(w, addressWitness(m, bob));
        pushAccount(w, accountWitness(m, 2, 0));
        m.queueIndex = 1;
        assertState(executor.step(pre, w, contextOf("", 1)), stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    function test_ForcedTransferAppliedAndSkipped() public {
        vm.prank(alice);
        bridge.forceTransfer(bob, 0, 30);
        vm.prank(address(0xDEAD)); // no L2 account
        bridge.forceTransfer(bob, 0, 30);
        Model memory m = baseModel();
        StepState memory pre = stateOf(m, DRAIN, 0, 0, 0, 0);
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(1, alice, bob, 0, 30, uint64(T0));
        pushAddress(w, addressWitness(m, alice));
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 30;
        pushAddress(w, addressWitness(m, bob));
        pushAccount(w, accountWitness(m, 2, 0));
        m.balances[2][0] += 30;
        m.queueIndex = 1;
        StepState memory post = executor.step(pre, w, contextOf("", 2));
        assertState(post, stateOf(m, DRAIN, 0, 0, 0, 0));

        w = witnessOf("", 0, 0);
        w.op = PriorityOp(1, address(0xDEAD), bob, 0, 30, uint64(T0));
        pushAddress(w, addressWitness(m, address(0xDEAD))); // leaf 0: skipped, nothing else read
        m.queueIndex = 2;
        assertState(executor.step(post, w, contextOf("", 2)), stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    function test_ForcedWithdrawalApplied() public {
        vm.prank(bob);
        bridge.forceWithdrawal(address(0x11), 0, 5);
        Model memory m = baseModel();
        StepState memory pre = stateOf(m, DRAIN, 0, 0, 0, 0);
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(2, bob, address(0x11), 0, 5, uint64(T0));
        pushAddress(w, addressWitness(m, bob));
        pushAccount(w, accountWitness(m, 2, 0));
        m.balances[2][0] -= 5;
        w.withdrawalProof = withdrawalWitness(m);
        m.withdrawals[0] = keccak256(abi.encode(uint256(0), uint256(0), address(0x11), uint32(0), uint256(5)));
        m.withdrawalCount = 1;
        m.queueIndex = 1;
        assertState(executor.step(pre, w, contextOf("", 1)), stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    function test_DepositOfATokenBeyondTheBalanceTreeSkipped() public {
        // Token depth 2: ids 0..3. Register tokens up to id 4 and deposit id 4.
        for (uint256 i = 0; i < 3; i++) {
            bridge.registerToken(address(new TestToken("T", "T", 18)));
        }
        TestToken four = TestToken(bridge.tokenAddress(4));
        four.mint(bob, 1);
        vm.startPrank(bob);
        four.approve(address(bridge), 1);
        bridge.depositERC20(address(four), bob, 1);
        vm.stopPrank();
        Model memory m = baseModel();
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(0, bob, bob, 4, 1, uint64(T0));
        StepState memory post = executor.step(stateOf(m, DRAIN, 0, 0, 0, 0), w, contextOf("", 1));
        m.queueIndex = 1; // consumed, nothing read, nothing credited, token 4 not known
        assertState(post, stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    function test_ForcedOperationsSkippedByTheState() public {
        vm.startPrank(bob);
        bridge.forceTransfer(alice, 0, 6); // bob has 5
        bridge.forceWithdrawal(bob, 2, 1); // token 2 is not known
        vm.stopPrank();
        Model memory m = baseModel();
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(1, bob, alice, 0, 6, uint64(T0));
        pushAddress(w, addressWitness(m, bob));
        pushAccount(w, accountWitness(m, 2, 0));
        StepState memory post = executor.step(stateOf(m, DRAIN, 0, 0, 0, 0), w, contextOf("", 2));
        m.queueIndex = 1;
        assertState(post, stateOf(m, DRAIN, 0, 0, 0, 0));

        w = witnessOf("", 0, 0);
        w.op = PriorityOp(2, bob, bob, 2, 1, uint64(T0));
        pushAddress(w, addressWitness(m, bob)); // then the token rule fails: no account read
        post = executor.step(post, w, contextOf("", 2));
        m.queueIndex = 2;
        assertState(post, stateOf(m, DRAIN, 0, 0, 0, 0));
    }

    // ---------------------------------------------------------------- witnesses that do not verify

    function test_MalformedSparseProofReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        AccountWitness memory a = accountWitness(m, 1, 0);
        bytes32[] memory more = new bytes32[](a.accountProof.siblings.length + 1);
        for (uint256 i = 0; i < a.accountProof.siblings.length; i++) {
            more[i] = a.accountProof.siblings[i];
        }
        uint256 bitmap = a.accountProof.bitmap;
        a.accountProof.siblings = more; // one sibling the bitmap does not announce
        pushAccount(w, a);
        vm.expectRevert(abi.encodeWithSelector(MalformedSparseProof.selector, ACCOUNT_DEPTH, bitmap, more.length));
        run(pre, w, data);

        a.accountProof.siblings = accountWitness(m, 1, 0).accountProof.siblings;
        a.accountProof.bitmap = bitmap | (1 << ACCOUNT_DEPTH); // a level beyond the tree
        vm.expectRevert(
            abi.encodeWithSelector(
                MalformedSparseProof.selector, ACCOUNT_DEPTH, bitmap | (1 << ACCOUNT_DEPTH), a.accountProof.siblings.length
            )
        );
        run(pre, w, data);
    }


    function test_ForgedOperationReverts() public {
        depositEth(bob, bob, 1);
        Model memory m = baseModel();
        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(0, bob, bob, 0, 1000, uint64(T0)); // the queue says 1
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.InvalidOperation.selector, 0));
        executor.step(stateOf(m, DRAIN, 0, 0, 0, 0), w, contextOf("", 1));
    }

    function test_ForgedBalanceReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        Model memory rich = baseModel();
        rich.balances[1][0] = 1_000_000; // a balance alice does not have
        pushAccount(w, accountWitness(rich, 1, 0));
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.InvalidAccountProof.selector, 0, 1));
        run(pre, w, data);
    }

    function test_ShortWitnessReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0)); // the recipient and fee reads are missing
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.WitnessTooShort.selector, "account", 1));
        run(pre, w, data);
    }

    function test_ForgedChunkReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        w.chunks[0].data[20] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.InvalidChunk.selector, 0, 0));
        run(pre, w, data);
    }

    function test_MissingChunkReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        (StepState memory pre, bytes memory data,) = start(m, t);
        StepWitness memory w = witnessOf(data, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.WitnessTooShort.selector, "chunk data", 1));
        run(pre, w, data);
    }

    function test_NewAccountAtWrongIndexReverts() public {
        Model memory m = baseModel();
        TxSpec memory t = transferSpec(m, 1, 0xFFFFFF, 100, 3);
        t.toAddress = address(0xCA401);
        t.signedTo = address(0xCA401);
        (StepState memory pre, bytes memory data, StepWitness memory w) = start(m, t);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAddress(w, addressWitness(m, address(0xCA401)));
        pushAccount(w, accountWitness(m, 4, 0)); // empty, but not at accountCount (3)
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.InvalidAccountProof.selector, 1, 3));
        run(pre, w, data);
    }
}
