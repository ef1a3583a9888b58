// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {StepFixture} from "./StepFixture.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {StepState, StepWitness, StepContext, PriorityOp, stepHashOf} from "../../src/rollup/StepTypes.sol";

/// @notice The L1 gas of a dispute over a batch of 1,000 transfers (79,000 bytes, 78 chunks) at
///         the production tree depths (accounts 24, tokens 8), logged with `forge test -vv`: the
///         challenge, each bisect and respond, and the step at the leaf, each as execution gas
///         plus the transaction's intrinsic and calldata gas (`max(standard, EIP-7623 floor)`).
///         The disputed transfer straddles two chunks (the worst case for the data proof).
contract FraudProofGasTest is StepFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant TRANSFERS = 1000;
    uint256 internal constant MAX_STEP_GAS = 600_000;
    address internal constant CHALLENGER = address(0xC4A1);

    StepExecutor internal big;
    Rollup internal bigRollup;

    function setUp() public override {
        super.setUp();
        big = new StepExecutor(bridge, 24, 8);
        bigRollup = new Rollup(bridge, big, config(GENESIS));
        domain = bigRollup.domainSeparator();
        vm.deal(CHALLENGER, 10 ether);
    }

    function bigModel() internal view returns (Model memory m) {
        m = newModel(24, 8, FEE);
        addAccount(m, alice);
        addAccount(m, bob);
        m.balances[1][0] = 1000;
        m.balances[2][0] = 5;
        m.balances[0][0] = 7;
        m.tokens = 1;
        m.lastTimestamp = TS;
    }

    /// @dev The gas of a transaction with calldata `data` whose call used `execution` gas.
    function txGas(bytes memory data, uint256 execution) internal pure returns (uint256) {
        uint256 zeros = 0;
        for (uint256 i = 0; i < data.length; i++) {
            if (data[i] == 0) zeros++;
        }
        uint256 standard = 21_000 + 4 * zeros + 16 * (data.length - zeros) + execution;
        uint256 floor = 21_000 + 10 * (zeros + 4 * (data.length - zeros));
        return standard > floor ? standard : floor;
    }

    /// @dev A 1,000-transfer batch of filler with the real transfer `t` as transaction `k`.
    function batchWith(bytes memory txBytes, uint256 k) internal pure returns (bytes memory data, uint256 cursor) {
        bytes memory filler = pseudoRandomBytes(0x706c79, TRANSFERS * 79);
        cursor = 17 + 79 * k;
        data = abi.encodePacked(uint8(1), uint32(1), TS, uint16(0), uint16(TRANSFERS), filler);
        for (uint256 i = 0; i < txBytes.length; i++) {
            data[cursor + i] = txBytes[i];
        }
    }

    /// @dev Some k near the middle whose 79 bytes straddle two chunks.
    function straddlingK() internal pure returns (uint256 k) {
        k = 500;
        while ((17 + 79 * k) % 1024 <= 1024 - 79) k++;
    }

    function test_DisputeGasAtBatch1000() public {
        Model memory m = bigModel();
        bytes memory txBytes = encodeTx(transferSpec(m, 1, 2, 100, 3));
        uint256 k = straddlingK();
        (bytes memory data, uint256 cursor) = batchWith(txBytes, k);
        vm.prank(SEQUENCER);
        bigRollup.appendBatch(0, data);
        vm.prank(PROPOSER);
        bigRollup.proposeOutput{value: BOND}(0, keccak256("wrong"), bytes32(0));

        // The pre-state of step k + 1: transaction k is next.
        StepState memory pre = stateOf(m, 1, uint64(cursor), 0, 0, uint16(TRANSFERS - k));
        StepWitness memory w = witnessOf(data, cursor, cursor + 79);
        vm.assertEq(w.chunks.length, 2);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAccount(w, accountWitness(m, 2, 0));
        m.balances[2][0] += 100;
        pushAccount(w, accountWitness(m, 0, 0));

        vm.prank(CHALLENGER);
        uint256 gameId = bigRollup.challenge{value: CHALLENGER_BOND}(0, 0, 0, dataRootOf(data), data.length);
        bytes memory challengeCall = abi.encodeCall(Rollup.challenge, (0, 0, 0, dataRootOf(data), data.length));
        emit log_named_uint("challenge tx gas", txGas(challengeCall, vm.lastCallGas().gasTotalUsed));
        play(gameId, k, stepHashOf(pre));

        bytes memory call_ = abi.encodeCall(Rollup.step, (gameId, pre, w));
        vm.prank(CHALLENGER);
        bigRollup.step(gameId, pre, w);
        uint256 execution = vm.lastCallGas().gasTotalUsed;
        uint256 total = txGas(call_, execution);
        vm.assertEq(uint256(bigRollup.game(gameId).status), 2);
        emit log_named_uint("step (transfer) execution gas", execution);
        emit log_named_uint("step (transfer) calldata bytes", call_.length);
        emit log_named_uint("step (transfer) tx gas", total);
        vm.assertLe(total, MAX_STEP_GAS, "one-step proof over budget");
    }

    /// @dev Plays the bisection so that it ends at [k, k + 1], the defender claiming `preHash` at k.
    function play(uint256 gameId, uint256 k, bytes32 preHash) internal {
        Rollup.Game memory g = bigRollup.game(gameId);
        uint256 bisectGas = 0;
        uint256 respondGas = 0;
        uint256 moves = 0;
        while (g.hi - g.lo > 1) {
            uint256 mid = (uint256(g.lo) + g.hi) / 2;
            vm.prank(PROPOSER);
            bigRollup.bisect(gameId, mid == k ? preHash : keccak256(abi.encode(mid)));
            bisectGas = txGas(abi.encodeCall(Rollup.bisect, (gameId, preHash)), vm.lastCallGas().gasTotalUsed);
            vm.prank(CHALLENGER);
            bigRollup.respond(gameId, mid <= k);
            respondGas = txGas(abi.encodeCall(Rollup.respond, (gameId, true)), vm.lastCallGas().gasTotalUsed);
            moves += 2;
            g = bigRollup.game(gameId);
        }
        vm.assertEq(uint256(g.lo), k);
        vm.assertEq(g.loHash, preHash);
        emit log_named_uint("trace length N", bigRollup.traceLength(0, TRANSFERS * 79 + 17));
        emit log_named_uint("bisection moves", moves);
        emit log_named_uint("bisect tx gas (last move)", bisectGas);
        emit log_named_uint("respond tx gas (last move)", respondGas);
    }

    /// @dev The gas of `big.step` called directly (execution + transaction with its calldata).
    function stepGas(string memory what, StepState memory pre, StepWitness memory w, bytes memory data, uint256 queueEnd)
        internal
        returns (uint256 total)
    {
        StepExecutorCtx memory c = StepExecutorCtx(dataRootOf(data), data.length, queueEnd);
        big.step(pre, w, ctxOf(c));
        uint256 execution = vm.lastCallGas().gasTotalUsed;
        total = txGas(abi.encodeCall(StepExecutor.step, (pre, w, ctxOf(c))), execution);
        emit log_named_string("one-step proof", what);
        emit log_named_uint("  execution gas", execution);
        emit log_named_uint("  tx gas (with calldata)", total);
    }

    event log_named_string(string key, string val);

    struct StepExecutorCtx {
        bytes32 root;
        uint256 length;
        uint256 queueEnd;
    }

    function ctxOf(StepExecutorCtx memory c) internal view returns (StepContext memory) {
        return StepContext(0, c.queueEnd, c.root, c.length, domain);
    }

    /// The one-step proofs at batch 1,000 by rule: a transfer, a transfer creating an account, a
    /// deposit creating an account, and what of a transfer is proving its bytes (a transfer whose
    /// sender does not exist reads nothing but the data).
    function test_StepGasByRule() public {
        Model memory m = bigModel();
        uint256 k = straddlingK();

        // A transfer to an existing account.
        (bytes memory data, uint256 cursor) = batchWith(encodeTx(transferSpec(m, 1, 2, 100, 3)), k);
        StepState memory pre = stateOf(m, 1, uint64(cursor), 0, 0, uint16(TRANSFERS - k));
        StepWitness memory w = witnessOf(data, cursor, cursor + 79);
        Model memory moved = bigModel();
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 103;
        moved.nonces[1] += 1;
        pushAccount(w, accountWitness(moved, 2, 0));
        moved.balances[2][0] += 100;
        pushAccount(w, accountWitness(moved, 0, 0));
        uint256 transfer = stepGas("transfer", pre, w, data, 0);
        vm.assertLe(transfer, MAX_STEP_GAS);

        // Only the data: the sender index is beyond accountCount (skipped at rule 2).
        TxSpec memory t = transferSpec(m, 1, 2, 100, 3);
        t.from = 7;
        (data, cursor) = batchWith(encodeTx(t), k);
        w = witnessOf(data, cursor, cursor + 79);
        stepGas("transfer skipped at rule 2: the tx bytes alone (2 chunks)", pre, w, data, 0);

        // A transfer creating an account.
        address carol = address(0xCA401);
        t = transferSpec(m, 1, 0xFFFFFF, 100, 3);
        t.toAddress = carol;
        t.signedTo = carol;
        (data, cursor) = batchWith(encodeTx(t), k);
        w = witnessOf(data, cursor, cursor + 99);
        moved = bigModel();
        pushAccount(w, accountWitness(moved, 1, 0));
        moved.balances[1][0] -= 103;
        moved.nonces[1] += 1;
        pushAddress(w, addressWitness(moved, carol));
        pushAccount(w, accountWitness(moved, 3, 0));
        addAccount(moved, carol);
        moved.balances[3][0] = 100;
        pushAccount(w, accountWitness(moved, 0, 0));
        vm.assertLe(stepGas("transfer creating an account", pre, w, data, 0), MAX_STEP_GAS);

        // A deposit creating an account (in DRAIN).
        depositEth(carol, carol, 9);
        moved = bigModel();
        pre = stateOf(moved, 2, 0, 0, 0, 0);
        w = witnessOf("", 0, 0);
        w.op = PriorityOp(0, carol, carol, 0, 9, uint64(T0));
        pushAddress(w, addressWitness(moved, carol));
        pushAccount(w, accountWitness(moved, 3, 0));
        stepGas("deposit creating an account", pre, w, "", 1);
    }
}
