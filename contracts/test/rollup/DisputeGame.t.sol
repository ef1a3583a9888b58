// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupFixture} from "./RollupFixture.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepState, StepWitness, AccountWitness, AddressProof, DataChunk} from "../../src/rollup/StepTypes.sol";

/// @notice The dispute game's rules on a toy trace (OP Stack's alphabet idea): the two sides
///         bisect with made-up hashes, and the tests check `lo`, `hi`, the turn, the clocks, the
///         bonds, the removal of outputs and finality. The real step at the leaf is tested in
///         `FraudProof.t.sol`.
contract DisputeGameTest is RollupFixture {
    address internal constant CHALLENGER = address(0xC4A1);
    address internal constant STRANGER = address(0x5742);
    bytes internal constant DATA = hex"0100000001"; // 5 bytes: N = 0 + 0 + 2

    function setUp() public override {
        super.setUp();
        vm.deal(CHALLENGER, 100 ether);
        vm.deal(STRANGER, 100 ether);
    }

    /// @dev Appends a batch of `dataLength` bytes, proposes its output, challenges it.
    function startGame(uint256 dataLength) internal returns (uint256 batchIndex, uint256 gameId) {
        bytes memory data = pseudoRandomBytes(dataLength, dataLength);
        batchIndex = appendBatch(0, data);
        propose(batchIndex, keccak256(abi.encode("commitment", batchIndex)), bytes32(0));
        gameId = challengeBatch(batchIndex, data);
    }

    function challengeBatch(uint256 batchIndex, bytes memory data) internal returns (uint256) {
        vm.prank(CHALLENGER);
        return rollup.challenge{value: CHALLENGER_BOND}(batchIndex, 0, 0, dataRootOf(data), data.length);
    }

    function claimAt(uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode("defender's claim", i));
    }

    // ---------------------------------------------------------------- the bisection

    /// The challenger disagrees from step `d + 1` on: whatever the trace length, the game ends at
    /// `[d, d + 1]` after at most `2 * ceil(log2 N)` moves, and each side's moves keep the turn order.
    function testFuzz_BisectionFindsTheFirstDisagreement(uint16 length, uint256 d) public {
        uint256 dataLength = bound(length, 0, 20_000);
        (, uint256 gameId) = startGame(dataLength);
        Rollup.Game memory g = rollup.game(gameId);
        uint256 n = rollup.traceLength(0, dataLength);
        vm.assertEq(uint256(g.hi), n);
        vm.assertEq(uint256(g.lo), 0);
        d = bound(d, 0, n - 1);
        uint256 moves = 0;
        while (g.hi - g.lo > 1) {
            (bool challengerToMove,,) = rollup.clocks(gameId);
            vm.assertFalse(challengerToMove, "defender bisects");
            uint256 mid = (uint256(g.lo) + g.hi) / 2;
            vm.prank(PROPOSER);
            rollup.bisect(gameId, claimAt(mid));
            (challengerToMove,,) = rollup.clocks(gameId);
            vm.assertTrue(challengerToMove, "challenger responds");
            vm.prank(CHALLENGER);
            rollup.respond(gameId, mid <= d);
            moves += 2;
            g = rollup.game(gameId);
            vm.assertEq(g.loHash, g.lo == 0 ? rollup.game(gameId).loHash : claimAt(g.lo));
        }
        vm.assertEq(uint256(g.lo), d);
        vm.assertEq(uint256(g.hi), d + 1);
        if (d + 1 < n) vm.assertEq(g.hiHash, claimAt(d + 1));
        else vm.assertEq(g.hiHash, rollup.outputRoot(0));
        uint256 log2 = 0;
        while ((1 << log2) < n) log2++;
        vm.assertLe(moves, 2 * log2); // at most 2 * ceil(log2 N) moves
        (bool toMove,,) = rollup.clocks(gameId);
        vm.assertTrue(toMove, "the challenger is to move at the leaf");
    }

    function test_GameStartsWithTheAgreedStartAndTheOutputRoot() public {
        (, uint256 gameId) = startGame(200);
        Rollup.Game memory g = rollup.game(gameId);
        bytes32 start = keccak256(
            abi.encode(uint8(0), GENESIS, uint32(0), rollup.emptyWithdrawalRoot(), uint64(0), uint32(0), uint16(0), uint16(0))
        );
        vm.assertEq(g.loHash, start);
        vm.assertEq(g.hiHash, rollup.outputRoot(0));
        vm.assertEq(g.challenger, CHALLENGER);
        vm.assertEq(g.defender, PROPOSER);
        vm.assertEq(uint256(g.hi), uint256(4)); // 200 / 79 + 2
        vm.assertEq(uint256(rollup.output(0).openGames), 1);
        uint256[] memory games = rollup.outputGames(0);
        vm.assertEq(games.length, 1);
        vm.assertEq(games[0], gameId);
    }

    // ---------------------------------------------------------------- move rules

    function test_MovesOutOfTurnRevert() public {
        (, uint256 gameId) = startGame(400); // N = 7
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotYourMove.selector, gameId, CHALLENGER, PROPOSER));
        rollup.bisect(gameId, claimAt(3));
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongPosition.selector, gameId, 0, 7, false));
        rollup.respond(gameId, true);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotYourMove.selector, gameId, STRANGER, PROPOSER));
        rollup.bisect(gameId, claimAt(3));

        vm.prank(PROPOSER);
        rollup.bisect(gameId, claimAt(3));
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongPosition.selector, gameId, 0, 7, true));
        rollup.bisect(gameId, claimAt(3));
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotYourMove.selector, gameId, PROPOSER, CHALLENGER));
        rollup.respond(gameId, true);

        // A step before the leaf.
        StepState memory pre;
        StepWitness memory w;
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongPosition.selector, gameId, 0, 7, true));
        rollup.step(gameId, pre, w);
    }

    function test_StepWithAnotherPreStateReverts() public {
        (, uint256 gameId) = startGame(5); // N = 2
        vm.prank(PROPOSER);
        rollup.bisect(gameId, claimAt(1));
        vm.prank(CHALLENGER);
        rollup.respond(gameId, false); // [0, 1]
        StepState memory pre; // not S_0
        StepWitness memory w;
        bytes32 preHash = keccak256(
            abi.encode(uint8(0), keccak256(abi.encode(bytes32(0), bytes32(0), uint64(0), uint256(0), uint64(0), uint64(0))), uint32(0), bytes32(0), uint64(0), uint32(0), uint16(0), uint16(0))
        );
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.PreStateMismatch.selector, gameId, preHash, rollup.game(gameId).loHash)
        );
        rollup.step(gameId, pre, w);
    }

    function test_WrongChallengeBondReverts() public {
        appendBatch(0, DATA);
        propose(0, keccak256("c"), bytes32(0));
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.WrongBond.selector, CHALLENGER_BOND - 1, CHALLENGER_BOND));
        rollup.challenge{value: CHALLENGER_BOND - 1}(0, 0, 0, dataRootOf(DATA), DATA.length);
    }

    function test_ChallengeNeedsTheBatchAsAppended() public {
        appendBatch(0, DATA);
        propose(0, keccak256("c"), bytes32(0));
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchMismatch.selector, 0));
        rollup.challenge{value: CHALLENGER_BOND}(0, 0, 0, dataRootOf(DATA), DATA.length + 1);
    }

    function test_ChallengeAfterTheWindowReverts() public {
        appendBatch(0, DATA);
        propose(0, keccak256("c"), bytes32(0));
        vm.warp(T0 + WINDOW);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengeWindowClosed.selector, 0, T0 + WINDOW));
        rollup.challenge{value: CHALLENGER_BOND}(0, 0, 0, dataRootOf(DATA), DATA.length);
    }

    function test_MoveAfterTheClockReverts() public {
        (, uint256 gameId) = startGame(400);
        vm.warp(T0 + CLOCK + 1);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ClockExpired.selector, gameId, CLOCK + 1));
        rollup.bisect(gameId, claimAt(3));
    }

    /// The clocks are chess clocks: each side is charged only while it is to move.
    function test_ChessClocks() public {
        (, uint256 gameId) = startGame(400);
        vm.warp(T0 + 100);
        vm.prank(PROPOSER);
        rollup.bisect(gameId, claimAt(3));
        vm.warp(T0 + 130);
        (bool challengerToMove, uint256 defenderLeft, uint256 challengerLeft) = rollup.clocks(gameId);
        vm.assertTrue(challengerToMove);
        vm.assertEq(defenderLeft, CLOCK - 100);
        vm.assertEq(challengerLeft, CLOCK - 30);
        vm.prank(CHALLENGER);
        rollup.respond(gameId, true);
        Rollup.Game memory g = rollup.game(gameId);
        vm.assertEq(uint256(g.defenderClock), 100);
        vm.assertEq(uint256(g.challengerClock), 30);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ClockNotExpired.selector, gameId, T0 + 130 + CLOCK - 100));
        rollup.timeout(gameId);
    }

    // ---------------------------------------------------------------- timeouts and payouts

    /// A defender that stops answering loses: its output is removed, the challenger gets its bond
    /// and half the proposer's, the other half is locked for good.
    function test_DefenderTimeoutRemovesTheOutput() public {
        (, uint256 gameId) = startGame(400);
        vm.warp(T0 + CLOCK);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ClockNotExpired.selector, gameId, T0 + CLOCK));
        rollup.timeout(gameId);
        vm.warp(T0 + CLOCK + 1);
        vm.expectEmit(address(rollup));
        emit Rollup.OutputRemoved(0, 1);
        vm.prank(STRANGER);
        rollup.timeout(gameId);
        vm.assertEq(uint256(rollup.game(gameId).status), 2);
        vm.assertEq(rollup.outputCount(), 0);
        vm.assertEq(rollup.credit(CHALLENGER), CHALLENGER_BOND + BOND / 2);
        vm.assertEq(rollup.lockedBonds(), BOND / 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondNotHeld.selector, 0, 2));
        rollup.withdrawBond(0);

        uint256 before = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        rollup.claimCredit();
        vm.assertEq(CHALLENGER.balance, before + CHALLENGER_BOND + BOND / 2);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NoCredit.selector, CHALLENGER));
        rollup.claimCredit();
        // What stays in the contract is exactly the locked half.
        vm.assertEq(address(rollup).balance, BOND / 2);
    }

    /// A dishonest challenger that stops answering loses half its bond to the defender; the output
    /// stays and finalises once the window has passed.
    function test_ChallengerTimeoutKeepsTheOutput() public {
        (, uint256 gameId) = startGame(400);
        vm.prank(PROPOSER);
        rollup.bisect(gameId, claimAt(3));
        vm.warp(T0 + CLOCK + 1);
        rollup.timeout(gameId);
        vm.assertEq(uint256(rollup.game(gameId).status), 3);
        vm.assertEq(rollup.outputCount(), 1);
        vm.assertEq(rollup.credit(PROPOSER), CHALLENGER_BOND / 2);
        vm.assertEq(rollup.lockedBonds(), CHALLENGER_BOND / 2);
        vm.assertEq(uint256(rollup.output(0).openGames), 0);
        vm.warp(T0 + WINDOW);
        vm.assertTrue(rollup.isFinal(0));
        rollup.withdrawBond(0);
        // Moves after the end revert.
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.GameNotActive.selector, gameId, 3));
        rollup.bisect(gameId, claimAt(1));
        vm.expectRevert(abi.encodeWithSelector(Rollup.GameNotActive.selector, gameId, 3));
        rollup.timeout(gameId);
    }

    // ---------------------------------------------------------------- removal and finality

    /// Output 1 of 0, 1, 2 is disproven: 1 and 2 are removed; 2's proposer gets its bond back, a
    /// game on 2 is void and refunds its challenger, moves on it revert; the correct output 1
    /// proposed afterwards finalises; output 0 was never affected.
    function test_RemovalTakesTheSuccessorsAndVoidsTheirGames() public {
        for (uint256 i = 0; i < 3; i++) {
            appendBatch(0, abi.encodePacked(uint8(1), uint32(i)));
        }
        propose(0, keccak256("c0"), bytes32(0));
        propose(1, keccak256("wrong c1"), bytes32(0));
        vm.deal(BOB, 10 ether);
        vm.prank(BOB);
        rollup.proposeOutput{value: BOND}(2, keccak256("c2"), bytes32(0));

        vm.prank(CHALLENGER);
        uint256 onOne = rollup.challenge{value: CHALLENGER_BOND}(1, 0, 0, dataRootOf(abi.encodePacked(uint8(1), uint32(1))), 5);
        vm.prank(STRANGER);
        uint256 onTwo = rollup.challenge{value: CHALLENGER_BOND}(2, 0, 0, dataRootOf(abi.encodePacked(uint8(1), uint32(2))), 5);

        vm.warp(T0 + CLOCK + 1);
        rollup.timeout(onOne); // the defender of 1 never answered
        vm.assertEq(rollup.outputCount(), 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 2));
        rollup.output(2);

        // The game on output 2 is void.
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputRemovedGameVoid.selector, onTwo));
        rollup.bisect(onTwo, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Rollup.GameNotActive.selector, onOne, 2));
        rollup.voidGame(onOne);
        rollup.voidGame(onTwo);
        vm.assertEq(uint256(rollup.game(onTwo).status), 4);
        vm.assertEq(rollup.credit(STRANGER), CHALLENGER_BOND);

        // Output 2's proposer was not disproven: its bond comes back.
        uint256 before = BOB.balance;
        rollup.withdrawBond(2);
        vm.assertEq(BOB.balance, before + BOND);

        // A challenge of a removed output reverts.
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 1));
        rollup.challenge{value: CHALLENGER_BOND}(1, 0, 0, bytes32(0), 5);

        // Proposals resume at 1 (out of order refused), and the correct output finalises.
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputOutOfOrder.selector, 2, 1));
        rollup.proposeOutput{value: BOND}(2, keccak256("c2"), bytes32(0));
        propose(1, keccak256("c1"), keccak256("w1"));
        uint256 at = block.timestamp;
        vm.assertFalse(rollup.isFinal(1));
        vm.warp(at + WINDOW);
        vm.assertTrue(rollup.isFinal(0));
        vm.assertTrue(rollup.isFinal(1));
        vm.assertEq(rollup.finalizedWithdrawalRoot(1), keccak256("w1"));
    }

    /// A re-proposal over a removed successor whose proposer did not take its bond back credits it.
    function test_ReproposalCreditsTheRemovedProposer() public {
        appendBatch(0, DATA);
        appendBatch(0, DATA);
        propose(0, keccak256("wrong"), bytes32(0));
        vm.deal(BOB, 10 ether);
        vm.prank(BOB);
        rollup.proposeOutput{value: BOND}(1, keccak256("c1"), bytes32(0));
        uint256 gameId = challengeBatch(0, DATA);
        vm.warp(T0 + CLOCK + 1);
        rollup.timeout(gameId);
        propose(0, keccak256("right"), bytes32(0));
        propose(1, keccak256("c1"), bytes32(0));
        vm.assertEq(rollup.credit(BOB), BOND);
    }

    /// Finality waits for games, on the output and on its predecessors; a claim against an output
    /// under dispute waits too.
    function test_FinalityWaitsForGames() public {
        appendBatch(0, DATA);
        appendBatch(0, DATA);
        propose(0, keccak256("c0"), keccak256("w0"));
        propose(1, keccak256("c1"), keccak256("w1"));
        uint256 gameId = challengeBatch(0, DATA);
        vm.expectRevert(abi.encodeWithSelector(Rollup.GameNotVoid.selector, gameId));
        rollup.voidGame(gameId);
        vm.prank(PROPOSER);
        rollup.bisect(gameId, claimAt(1));
        vm.warp(T0 + WINDOW);
        vm.assertFalse(rollup.isFinal(0));
        vm.assertFalse(rollup.isFinal(1), "a successor waits for its predecessor's game");
        vm.assertEq(rollup.advanceFinality(5), 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 1));
        bridge.claimWithdrawal(1, 0, ALICE, 0, 1, new bytes32[](16));
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0));
        rollup.withdrawBond(0);

        // The challenger never answers and runs out of time: the defender wins, both final.
        rollup.timeout(gameId);
        vm.assertTrue(rollup.isFinal(0));
        vm.assertTrue(rollup.isFinal(1));
        vm.assertEq(rollup.advanceFinality(5), 2);
    }
}
