// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {StepFixture} from "./StepFixture.sol";
import {Bridge} from "../../src/rollup/Bridge.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {StepState, StepWitness, PriorityOp, stepHashOf} from "../../src/rollup/StepTypes.sol";

/// @notice The whole mechanism with real one-step proofs: a dishonest proposer loses to a
///         challenger at the leaf, and nothing is paid against its output; a dishonest challenger
///         loses to an honest defender; a user escapes a vanished sequencer alone; and the gas of a
///         dispute over a batch of 1,000 transfers (account depth 24, token depth 8).
contract FraudProofTest is StepFixture {
    event log_named_uint(string key, uint256 val);

    address internal constant CHALLENGER = address(0xC4A1);

    /// @dev A rollup whose genesis is `baseModel()`, on a fresh bridge.
    function setUp() public override {
        super.setUp();
        bridge = new Bridge(address(this));
        executor = new StepExecutor(bridge, ACCOUNT_DEPTH, TOKEN_DEPTH);
        rollup = new Rollup(bridge, executor, config(commitmentOf(baseModel())));
        bridge.initialize(rollup);
        tokenId = bridge.registerToken(address(token));
        domain = rollup.domainSeparator();
        vm.deal(CHALLENGER, 10 ether);
        vm.deal(address(bridge), 100 ether); // what earlier deposits left in the bridge
    }

    /// @dev Batch 0: alice pays bob 100 with a fee of 3. Returns the data, the honest `S_0`, its
    ///      witness for step 1 and the honest model after it.
    function transferBatch()
        internal
        returns (bytes memory data, StepState memory s0, StepWitness memory w, Model memory m)
    {
        m = baseModel();
        data = batchOf(TS, 0, encodeTx(transferSpec(m, 1, 2, 100, 3)), 1);
        appendBatch(0, data);
        s0 = stateOf(m, 0, 0, 0, 0, 0);
        w = witnessOf(data, 0, data.length);
        pushAccount(w, accountWitness(m, 1, 0));
        m.balances[1][0] -= 103;
        m.nonces[1] += 1;
        pushAccount(w, accountWitness(m, 2, 0));
        m.balances[2][0] += 100;
        pushAccount(w, accountWitness(m, 0, 0));
        m.balances[0][0] += 3;
        m.lastTimestamp = TS;
    }

    function challenge(bytes memory data) internal returns (uint256) {
        vm.prank(CHALLENGER);
        return rollup.challenge{value: CHALLENGER_BOND}(0, 0, 0, dataRootOf(data), data.length);
    }

    /// A proposer posts an output that credits bob 1,000 more than he got. The challenger wins at
    /// the leaf, the output is removed, its withdrawal root pays nothing, and the correct output
    /// proposed afterwards finalises.
    function test_WrongBalanceIsDisprovenAtTheLeaf() public {
        (bytes memory data, StepState memory s0, StepWitness memory w, Model memory honest) = transferBatch();
        Model memory lie = transferLie();
        propose(0, commitmentOf(lie), keccak256("a withdrawal root paying the liar"));
        uint256 gameId = challenge(data);
        vm.assertEq(uint256(rollup.game(gameId).hi), 3); // 0 ops + 96 / 79 + 2

        // The defender's claim at 1 is its own (wrong) state after the transfer.
        vm.prank(PROPOSER);
        rollup.bisect(gameId, stepHashOf(stateOf(lie, 1, uint64(data.length), 0, 0, 0)));
        vm.prank(CHALLENGER);
        rollup.respond(gameId, false); // [0, 1]
        vm.prank(address(0x5742)); // anyone may post the step
        rollup.step(gameId, s0, w);

        vm.assertEq(uint256(rollup.game(gameId).status), 2);
        vm.assertEq(rollup.outputCount(), 0);
        vm.assertEq(rollup.credit(CHALLENGER), CHALLENGER_BOND + BOND / 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 0));
        bridge.claimWithdrawal(0, 0, ALICE, 0, 1, new bytes32[](16));
        // A second step on the finished game reverts.
        vm.expectRevert(abi.encodeWithSelector(Rollup.GameNotActive.selector, gameId, 2));
        rollup.step(gameId, s0, w);

        // The honest output: S_N is DONE after the transfer.
        bytes32 commitment = commitmentOf(honest);
        propose(0, commitment, withdrawalRoot(honest));
        vm.assertEq(rollup.outputRoot(0), stepHashOf(stateOf(honest, 3, 0, 0, 0, 0)));
        vm.warp(block.timestamp + WINDOW);
        vm.assertTrue(rollup.isFinal(0));
    }

    function transferLie() internal view returns (Model memory lie) {
        lie = baseModel();
        lie.balances[1][0] -= 103;
        lie.nonces[1] += 1;
        lie.balances[2][0] += 1100;
        lie.balances[0][0] += 3;
        lie.lastTimestamp = TS;
    }

    /// A challenger disputes a correct output; the defender claims the true state after the
    /// transfer, the challenger disagrees, and the step proves the defender right.
    function test_DishonestChallengerLosesAtTheLeaf() public {
        (bytes memory data, StepState memory s0, StepWitness memory w, Model memory honest) = transferBatch();
        propose(0, commitmentOf(honest), withdrawalRoot(honest));
        uint256 gameId = challenge(data);
        vm.prank(PROPOSER);
        rollup.bisect(gameId, stepHashOf(stateOf(honest, 1, uint64(data.length), 0, 0, 0)));
        vm.prank(CHALLENGER);
        rollup.respond(gameId, false);
        rollup.step(gameId, s0, w);
        vm.assertEq(uint256(rollup.game(gameId).status), 3);
        vm.assertEq(rollup.outputCount(), 1);
        vm.assertEq(rollup.credit(PROPOSER), CHALLENGER_BOND / 2);
        vm.assertEq(rollup.lockedBonds(), CHALLENGER_BOND / 2);
    }

    /// A witness that does not verify cannot be used to win: the step reverts and the game goes
    /// on (here the challenger then runs out of time).
    function test_ForgedWitnessCannotWin() public {
        (bytes memory data, StepState memory s0, StepWitness memory w, Model memory honest) = transferBatch();
        propose(0, commitmentOf(honest), withdrawalRoot(honest));
        uint256 gameId = challenge(data);
        vm.prank(PROPOSER);
        rollup.bisect(gameId, stepHashOf(stateOf(honest, 1, uint64(data.length), 0, 0, 0)));
        vm.prank(CHALLENGER);
        rollup.respond(gameId, false);
        w.accounts[1].balance += 1; // bob's balance, forged
        vm.expectRevert(abi.encodeWithSelector(StepExecutor.InvalidBalanceProof.selector, 1, 0));
        rollup.step(gameId, s0, w);
        vm.warp(block.timestamp + CLOCK + 1);
        rollup.timeout(gameId);
        vm.assertEq(uint256(rollup.game(gameId).status), 3);
    }

    /// The escape: the sequencer has vanished. Carol deposits, queues a forced withdrawal,
    /// appends a batch herself after the timeout, proposes its output (checked here step by step
    /// with the executor), waits out the window and takes her ETH back on L1.
    function test_UserEscapesAVanishedSequencer() public {
        address carol = address(0xCA401);
        depositEth(carol, carol, 1 ether);
        vm.prank(carol);
        bridge.forceWithdrawal(carol, 0, 1 ether);

        vm.warp(T0 + SEQUENCER_TIMEOUT + 1);
        vm.prank(carol);
        rollup.appendBatch(2, "");

        // The trace: START (malformed: no data) -> DRAIN: the deposit -> the forced withdrawal -> DONE.
        Model memory m = baseModel();
        StepState memory s = stateOf(m, 0, 0, 0, 0, 0);
        s = executor.step(s, witnessOf("", 0, 0), contextOf("", 2));
        assertState(s, stateOf(m, 2, 0, 0, 0, 0));

        StepWitness memory w = witnessOf("", 0, 0);
        w.op = PriorityOp(0, carol, carol, 0, 1 ether, uint64(T0));
        pushAddress(w, addressWitness(m, carol));
        pushAccount(w, accountWitness(m, 3, 0));
        addAccount(m, carol);
        m.balances[3][0] = 1 ether;
        m.tokens |= 1;
        m.queueIndex = 1;
        s = executor.step(s, w, contextOf("", 2));
        assertState(s, stateOf(m, 2, 0, 0, 0, 0));

        w = witnessOf("", 0, 0);
        w.op = PriorityOp(2, carol, carol, 0, 1 ether, uint64(T0));
        pushAddress(w, addressWitness(m, carol));
        pushAccount(w, accountWitness(m, 3, 0));
        m.balances[3][0] = 0;
        w.withdrawalProof = withdrawalWitness(m);
        bytes32 leaf = keccak256(abi.encode(uint256(0), uint256(0), carol, uint32(0), uint256(1 ether)));
        m.withdrawals[0] = leaf;
        m.withdrawalCount = 1;
        m.queueIndex = 2;
        s = executor.step(s, w, contextOf("", 2));
        assertState(s, stateOf(m, 2, 0, 0, 0, 0));
        s = executor.step(s, witnessOf("", 0, 0), contextOf("", 2));
        vm.assertEq(uint256(s.phase), 3);

        vm.deal(carol, BOND);
        vm.prank(carol);
        bytes32 root = rollup.proposeOutput{value: BOND}(0, commitmentOf(m), withdrawalRoot(m));
        vm.assertEq(root, stepHashOf(s));
        vm.warp(block.timestamp + WINDOW);

        uint256[] memory positions = new uint256[](1);
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = leaf;
        uint256 before = carol.balance;
        bridge.claimWithdrawal(0, 0, carol, 0, 1 ether, treeProof(positions, leaves, 0));
        vm.assertEq(carol.balance, before + 1 ether);
        rollup.withdrawBond(0);
        vm.assertEq(carol.balance, before + 1 ether + BOND);
    }
}
