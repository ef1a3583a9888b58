// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PlasmaFixture} from "./PlasmaFixture.sol";
import {PaymentExitGameBase} from "../../src/plasma/PaymentExitGameBase.sol";
import {PaymentInFlightExitGame} from "../../src/plasma/PaymentInFlightExitGame.sol";
import {PaymentStandardExitGame} from "../../src/plasma/PaymentStandardExitGame.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";

/// @notice MoreVP in-flight exits: start, piggybacks, the three challenges, the response, and
///         outputs exited twice being paid once.
contract InFlightExitTest is PlasmaFixture {
    uint256 internal aPos; // alice's 10 ether deposit
    bytes internal aDep;
    bytes internal t; // alice pays bob 4, 6 back to her; its block is withheld
    bytes internal competitor; // alice double-spends her deposit to carol

    function setUp() public override {
        super.setUp();
        (aPos, aDep) = _depositETH(alice, 10 ether);
        t = _pay(aPos, bob, 4 ether, alice, 6 ether);
        competitor = _pay(aPos, carol, 10 ether, carol, 0);
    }

    function _start(bytes memory txBytes, uint256 inKey, bytes memory inTx) internal returns (uint160 exitId) {
        bytes memory sig = _sign(inKey, txBytes);
        uint256 b = ife.bond();
        vm.prank(bob);
        exitId = ife.startInFlightExit{value: b}(txBytes, _one(inTx), _one(_proof1(inTx)), _one(sig));
    }

    function _piggyback(uint256 key, uint160 exitId, uint8 index, bool isOutput) internal {
        uint256 b = ife.piggybackBond();
        vm.prank(vm.addr(key));
        if (isOutput) ife.piggybackInFlightExitOnOutput{value: b}(exitId, index);
        else ife.piggybackInFlightExitOnInput{value: b}(exitId, index);
    }

    function _challenge(uint160 exitId, bytes memory ctx, uint256 ctxPos, bytes memory proof) internal {
        PaymentInFlightExitGame.CanonicityChallenge memory c = PaymentInFlightExitGame.CanonicityChallenge({
            exitId: exitId,
            inputIndex: 0,
            competingTx: ctx,
            competingInputIndex: 0,
            competingSignature: _sign(ALICE_KEY, ctx),
            competingTxPos: ctxPos,
            competingProof: proof
        });
        vm.prank(CHALLENGER);
        ife.challengeInFlightExitNotCanonical(c);
    }

    function _canonical(uint160 exitId) internal view returns (bool isCanonical) {
        (,, isCanonical,,,) = ife.exitState(exitId);
    }

    function _processAll() internal {
        vm.warp(block.timestamp + 3 * PERIOD);
        framework.processExits(address(0), 100);
    }

    function test_CanonicalExitPaysPiggybackedOutputs() public {
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        vm.assertEq(uint256(exitId), uint256(ife.exitIdOf(keccak256(t))));
        vm.assertEq(uint256(exitId >> 159), 1);
        _piggyback(BOB_KEY, exitId, 0, true);
        _piggyback(ALICE_KEY, exitId, 1, true);
        uint256 bobBefore = bob.balance;
        uint256 aliceBefore = alice.balance;
        _processAll();
        // bob: his output, his piggyback bond and (as the starter) the exit bond
        vm.assertEq(bob.balance, bobBefore + 4 ether + ife.piggybackBond() + ife.bond());
        vm.assertEq(alice.balance, aliceBefore + 6 ether + ife.piggybackBond());
        vm.assertEq(address(framework).balance, 0);
        (bytes32 txHash,,,,,) = ife.exitState(exitId);
        vm.assertEq(txHash, bytes32(0)); // removed
        // the spent input is finalized: alice's standard exit of her deposit is refused
        bytes32 oid = keccak256(abi.encode(keccak256(aDep), uint256(0)));
        vm.assertEq(uint256(framework.finalizedBy(oid)), uint256(exitId));
        uint256 b = seg.bond();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PaymentStandardExitGame.OutputFinalized.selector, oid));
        seg.startStandardExit{value: b}(aPos, aDep, _proof1(aDep));
    }

    function test_StartRefusals() public {
        bytes memory sig = _sign(ALICE_KEY, t);
        bytes memory bobSig = _sign(BOB_KEY, t);
        bytes memory proof = _proof1(aDep);
        uint256 b = ife.bond();
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongBond.selector, 0, b));
        ife.startInFlightExit(t, _one(aDep), _one(proof), _one(sig));
        vm.expectRevert(PaymentInFlightExitGame.InputsMismatch.selector);
        ife.startInFlightExit{value: b}(t, new bytes[](0), _one(proof), _one(sig));
        vm.expectRevert(PaymentInFlightExitGame.InputsMismatch.selector);
        ife.startInFlightExit{value: b}(aDep, new bytes[](0), new bytes[](0), new bytes[](0)); // no inputs
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, bob, alice));
        ife.startInFlightExit{value: b}(t, _one(aDep), _one(proof), _one(bobSig));
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.NotIncluded.selector, aPos));
        ife.startInFlightExit{value: b}(t, _one(aDep), _one(new bytes(512)), _one(sig));
        vm.expectRevert(abi.encodeWithSelector(PlasmaTx.MalformedTransaction.selector, "length"));
        ife.startInFlightExit{value: b}(bytes.concat(t, bytes32(0)), _one(aDep), _one(proof), _one(sig));
        vm.stopPrank();
    }

    function test_StartRefusesBadAmounts() public {
        bytes memory proof = _proof1(aDep);
        uint256 b = ife.bond();
        // outputs exceed inputs
        bytes memory greedy = _pay(aPos, bob, 4 ether, alice, 7 ether);
        bytes memory gsig = _sign(ALICE_KEY, greedy);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.AmountsDoNotAddUp.selector, address(0)));
        ife.startInFlightExit{value: b}(greedy, _one(aDep), _one(proof), _one(gsig));
        // outputs in a token the inputs do not hold
        uint256[] memory ins = new uint256[](1);
        ins[0] = aPos;
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](1);
        outs[0] = _out(bob, address(token), 1);
        bytes memory minted = _tx(ins, outs, 0);
        bytes memory msig = _sign(ALICE_KEY, minted);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.AmountsDoNotAddUp.selector, address(token)));
        ife.startInFlightExit{value: b}(minted, _one(aDep), _one(proof), _one(msig));
    }

    function test_StartTwiceRefused() public {
        bytes memory sig = _sign(ALICE_KEY, t);
        bytes memory proof = _proof1(aDep);
        uint256 b = ife.bond();
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.ExitExists.selector, exitId));
        ife.startInFlightExit{value: b}(t, _one(aDep), _one(proof), _one(sig));
    }

    function test_PiggybackRefusals() public {
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        uint256 b = ife.piggybackBond();
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NotItemOwner.selector, carol, bob));
        ife.piggybackInFlightExitOnOutput{value: b}(exitId, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NoSuchItem.selector, 2));
        ife.piggybackInFlightExitOnOutput{value: b}(exitId, 2);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongBond.selector, b + 1, b));
        ife.piggybackInFlightExitOnOutput{value: b + 1}(exitId, 0);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.ExitNotFound.selector, uint160(5)));
        ife.piggybackInFlightExitOnOutput{value: b}(5, 0);
        _piggyback(BOB_KEY, exitId, 0, true);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.AlreadyPiggybacked.selector, 0, true));
        ife.piggybackInFlightExitOnOutput{value: b}(exitId, 0);
        vm.warp(block.timestamp + PERIOD / 2);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.FirstPhaseOver.selector, exitId));
        ife.piggybackInFlightExitOnInput{value: b}(exitId, 0);
    }

    function test_CompetitorMakesItNonCanonicalChallengerTakesBond() public {
        uint256 blk = _submit1(competitor); // the double spend is included first
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(BOB_KEY, exitId, 0, true);
        _challenge(exitId, competitor, _pos(blk, 0, 0), _proof1(competitor));
        vm.assertFalse(_canonical(exitId));
        uint256 bobBefore = bob.balance;
        uint256 challengerBefore = CHALLENGER.balance;
        _processAll();
        vm.assertEq(bob.balance, bobBefore + ife.piggybackBond()); // no output paid
        vm.assertEq(CHALLENGER.balance, challengerBefore + ife.bond());
        vm.assertEq(address(framework).balance, 10 ether); // carol's output is still there to exit
    }

    function test_CanonicityChallengeRefusals() public {
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        PaymentInFlightExitGame.CanonicityChallenge memory c = PaymentInFlightExitGame.CanonicityChallenge({
            exitId: exitId,
            inputIndex: 0,
            competingTx: t,
            competingInputIndex: 0,
            competingSignature: _sign(ALICE_KEY, t),
            competingTxPos: 0,
            competingProof: ""
        });
        vm.expectRevert(PaymentInFlightExitGame.SameTransaction.selector);
        ife.challengeInFlightExitNotCanonical(c);
        c.competingTx = competitor;
        c.competingSignature = _sign(BOB_KEY, competitor);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, bob, alice));
        ife.challengeInFlightExitNotCanonical(c);
        c.competingSignature = _sign(ALICE_KEY, competitor);
        c.competingInputIndex = 1;
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NotSpending.selector, aPos));
        ife.challengeInFlightExitNotCanonical(c);
        c.competingInputIndex = 0;
        c.inputIndex = 1;
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NoSuchItem.selector, 1));
        ife.challengeInFlightExitNotCanonical(c);
        c.inputIndex = 0;
        c.competingTxPos = _pos(1000, 0, 1); // not a transaction position
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.WrongPosition.selector, _pos(1000, 0, 1)));
        ife.challengeInFlightExitNotCanonical(c);
        c.competingTxPos = 0;
        ife.challengeInFlightExitNotCanonical(c); // an unincluded competitor
        // a second unincluded competitor is not older
        vm.expectRevert(
            abi.encodeWithSelector(PaymentInFlightExitGame.CompetitorNotOlder.selector, type(uint256).max, type(uint256).max)
        );
        ife.challengeInFlightExitNotCanonical(c);
        // after phase 1
        vm.warp(block.timestamp + PERIOD / 2);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.FirstPhaseOver.selector, exitId));
        ife.challengeInFlightExitNotCanonical(c);
    }

    function test_ResponseShowsEarlierInclusion() public {
        uint256 tBlk = _submit1(t); // t was included first...
        uint256 cBlk = _submit1(competitor); // ...and alice's double spend later
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(BOB_KEY, exitId, 0, true);
        _challenge(exitId, competitor, _pos(cBlk, 0, 0), _proof1(competitor));
        vm.assertFalse(_canonical(exitId));
        // refusals first: wrong bytes, a younger position, a non-transaction position
        vm.expectRevert(PaymentInFlightExitGame.NotTheInFlightTx.selector);
        ife.respondToNonCanonicalChallenge(exitId, competitor, _pos(tBlk, 0, 0), _proof1(t));
        vm.expectRevert(
            abi.encodeWithSelector(
                PaymentInFlightExitGame.NotOlderThanCompetitor.selector, _pos(cBlk + 1000, 0, 0), _pos(cBlk, 0, 0)
            )
        );
        ife.respondToNonCanonicalChallenge(exitId, t, _pos(cBlk + 1000, 0, 0), _proof1(t));
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.WrongPosition.selector, _pos(tBlk, 0, 1)));
        ife.respondToNonCanonicalChallenge(exitId, t, _pos(tBlk, 0, 1), _proof1(t));
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.NotIncluded.selector, _pos(tBlk, 0, 0)));
        ife.respondToNonCanonicalChallenge(exitId, t, _pos(tBlk, 0, 0), new bytes(512));
        vm.prank(bob);
        ife.respondToNonCanonicalChallenge(exitId, t, _pos(tBlk, 0, 0), _proof1(t));
        vm.assertTrue(_canonical(exitId));
        uint256 bobBefore = bob.balance;
        _processAll();
        vm.assertEq(bob.balance, bobBefore + 4 ether + ife.piggybackBond() + ife.bond());
    }

    function test_RespondWithoutChallengeRefused() public {
        uint256 tBlk = _submit1(t);
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentInFlightExitGame.NotOlderThanCompetitor.selector, _pos(tBlk, 0, 0), 0)
        );
        ife.respondToNonCanonicalChallenge(exitId, t, _pos(tBlk, 0, 0), _proof1(t));
    }

    function test_InputSpentChallengeChallengerTakesBond() public {
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(ALICE_KEY, exitId, 0, false);
        bytes memory sig = _sign(ALICE_KEY, competitor);
        bytes memory wrong = _sign(CAROL_KEY, competitor);
        bytes memory own = _sign(ALICE_KEY, t);
        vm.expectRevert(PaymentInFlightExitGame.SameTransaction.selector);
        ife.challengeInFlightExitInputSpent(exitId, 0, t, 0, own);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, carol, alice));
        ife.challengeInFlightExitInputSpent(exitId, 0, competitor, 0, wrong);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NotSpending.selector, aPos));
        ife.challengeInFlightExitInputSpent(exitId, 0, competitor, 1, sig);
        uint256 before = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        ife.challengeInFlightExitInputSpent(exitId, 0, competitor, 0, sig);
        vm.assertEq(CHALLENGER.balance, before + ife.piggybackBond());
        (,,, uint8 piggybacks,,) = ife.exitState(exitId);
        vm.assertEq(uint256(piggybacks), 0);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.NotPiggybacked.selector, 0, false));
        ife.challengeInFlightExitInputSpent(exitId, 0, competitor, 0, sig);
    }

    function _outputSpent(uint160 exitId, uint256 outputPos, bytes memory spend, bytes memory sig)
        internal
        view
        returns (PaymentInFlightExitGame.OutputSpentChallenge memory)
    {
        return PaymentInFlightExitGame.OutputSpentChallenge({
            exitId: exitId,
            outputIndex: 0,
            inFlightTx: t,
            outputPos: outputPos,
            inclusionProof: _proof1(t),
            spendingTx: spend,
            spendingInputIndex: 0,
            signature: sig
        });
    }

    function test_OutputSpentChallengeChallengerTakesBond() public {
        uint256 tBlk = _submit1(t);
        uint256 outPos = _pos(tBlk, 0, 0);
        bytes memory spend = _pay(outPos, carol, 4 ether, carol, 0); // bob spent his output
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(BOB_KEY, exitId, 0, true);
        bytes memory sig = _sign(BOB_KEY, spend);
        PaymentInFlightExitGame.OutputSpentChallenge memory c = _outputSpent(exitId, outPos + 1, spend, sig);
        vm.expectRevert(abi.encodeWithSelector(PaymentInFlightExitGame.WrongPosition.selector, outPos + 1));
        ife.challengeInFlightExitOutputSpent(c);
        c.outputPos = outPos;
        c.inFlightTx = competitor;
        vm.expectRevert(PaymentInFlightExitGame.NotTheInFlightTx.selector);
        ife.challengeInFlightExitOutputSpent(c);
        c.inFlightTx = t;
        c.inclusionProof = new bytes(512);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.NotIncluded.selector, outPos));
        ife.challengeInFlightExitOutputSpent(c);
        c.inclusionProof = _proof1(t);
        c.signature = _sign(ALICE_KEY, spend);
        vm.expectRevert(abi.encodeWithSelector(PaymentExitGameBase.WrongSigner.selector, alice, bob));
        ife.challengeInFlightExitOutputSpent(c);
        c.signature = sig;
        uint256 before = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        ife.challengeInFlightExitOutputSpent(c);
        vm.assertEq(CHALLENGER.balance, before + ife.piggybackBond());
        uint256 bobBefore = bob.balance;
        _processAll();
        vm.assertEq(bob.balance, bobBefore + ife.bond()); // only his exit bond back: no output paid
    }

    function test_OutputExitedStandardAndInFlightPaidOnce() public {
        uint256 tBlk = _submit1(t);
        uint256 outPos = _pos(tBlk, 0, 0);
        uint160 stdExit = _startExit(BOB_KEY, outPos, t, _proof1(t));
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(BOB_KEY, exitId, 0, true);
        uint256 bobBefore = bob.balance;
        _processAll();
        // paid 4 ether once; every bond back
        vm.assertEq(bob.balance, bobBefore + 4 ether + seg.bond() + ife.bond() + ife.piggybackBond());
        vm.assertEq(address(framework).balance, 6 ether);
        bytes32 oid = keccak256(abi.encode(keccak256(t), uint256(0)));
        vm.assertEq(uint256(framework.finalizedBy(oid)), uint256(exitId)); // the in-flight exit came first
        vm.assertTrue(stdExit != exitId);
    }

    function test_StandardExitFirstThenInFlightPaysOnce() public {
        uint256 tBlk = _submit1(t);
        uint256 outPos = _pos(tBlk, 0, 0);
        uint160 stdExit = _startExit(BOB_KEY, outPos, t, _proof1(t));
        // the in-flight exit starts so late that the standard exit is processed first
        vm.warp(block.timestamp + 2 * PERIOD);
        framework.processExits(address(0), 10);
        uint160 exitId = _start(t, ALICE_KEY, aDep);
        _piggyback(BOB_KEY, exitId, 0, true);
        uint256 bobBefore = bob.balance;
        _processAll();
        vm.assertEq(bob.balance, bobBefore + ife.bond() + ife.piggybackBond()); // nothing more
        bytes32 oid = keccak256(abi.encode(keccak256(t), uint256(0)));
        vm.assertEq(uint256(framework.finalizedBy(oid)), uint256(stdExit));
        vm.assertEq(address(framework).balance, 6 ether);
    }

    function test_InputExitedTwiceInFlightPaidOnce() public {
        // alice signs two transactions spending her deposit; neither is included
        uint160 first = _start(t, ALICE_KEY, aDep);
        uint160 second = _start(competitor, ALICE_KEY, aDep);
        _challenge(first, competitor, 0, "");
        _challenge(second, t, 0, "");
        _piggyback(ALICE_KEY, first, 0, false);
        _piggyback(ALICE_KEY, second, 0, false);
        uint256 aliceBefore = alice.balance;
        _processAll();
        vm.assertEq(alice.balance, aliceBefore + 10 ether + 2 * ife.piggybackBond());
        vm.assertEq(address(framework).balance, 0);
    }

    function test_AnyInputFinalizedMakesItPayInputs() public {
        // bob's deposit and alice's deposit are inputs of one transaction; alice exits her deposit
        // first with a standard exit, so the in-flight exit must not pay its outputs.
        (uint256 bPos, bytes memory bDep) = _depositETH(bob, 5 ether);
        uint256[] memory ins = new uint256[](2);
        ins[0] = aPos;
        ins[1] = bPos;
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](1);
        outs[0] = _out(carol, address(0), 15 ether);
        bytes memory joint = _tx(ins, outs, 0);
        _startExit(ALICE_KEY, aPos, aDep, _proof1(aDep)); // exitable at now + P, position 1
        bytes[] memory inTxs = new bytes[](2);
        inTxs[0] = aDep;
        inTxs[1] = bDep;
        bytes[] memory proofs = new bytes[](2);
        proofs[0] = _proof1(aDep);
        proofs[1] = _proof1(bDep);
        bytes[] memory sigs = new bytes[](2);
        sigs[0] = _sign(ALICE_KEY, joint);
        sigs[1] = _sign(BOB_KEY, joint);
        uint256 b = ife.bond();
        vm.prank(carol);
        uint160 exitId = ife.startInFlightExit{value: b}(joint, inTxs, proofs, sigs); // youngest input: position 2
        _piggyback(CAROL_KEY, exitId, 0, true);
        _piggyback(BOB_KEY, exitId, 1, false);
        uint256 carolBefore = carol.balance;
        uint256 bobBefore = bob.balance;
        _processAll();
        vm.assertEq(carol.balance, carolBefore + ife.piggybackBond() + ife.bond()); // no 15 ether
        vm.assertEq(bob.balance, bobBefore + 5 ether + ife.piggybackBond());
        vm.assertEq(address(framework).balance, 0);
    }
}
