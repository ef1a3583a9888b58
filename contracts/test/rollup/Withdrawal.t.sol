// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Bridge} from "../../src/rollup/Bridge.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {RollupFixture, FalseReturningToken, ReentrantRecipient, RefusingRecipient} from "./RollupFixture.sol";

/// @notice `Bridge.claimWithdrawal` against final outputs, with proofs built by the reference
///         sparse tree of `RollupFixture`.
contract WithdrawalTest is RollupFixture {
    /// @dev One withdrawal, to make the single-leaf tests short.
    struct W {
        uint256 batch;
        uint256 index;
        address to;
        uint32 token;
        uint256 amount;
    }

    /// @dev Funds the bridge with `amount` of `token_` (through a deposit, consumed by the batch
    ///      that `finalizeBatchWithRoot` appends).
    function fund(uint32 token_, uint256 amount) internal {
        if (amount == 0) return;
        if (token_ == 0) depositEth(ALICE, ALICE, amount);
        else depositToken(ALICE, ALICE, amount);
    }

    /// @dev Puts `w` alone in a tree, makes that the final withdrawal root of batch `w.batch` (which
    ///      must be the next batch) and returns the proof.
    function finalizeSingle(W memory w) internal returns (bytes32[] memory proof) {
        fund(w.token, w.amount);
        uint256[] memory positions = new uint256[](1);
        bytes32[] memory leaves = new bytes32[](1);
        positions[0] = w.index;
        leaves[0] = withdrawalLeafOf(w.batch, w.index, w.to, w.token, w.amount);
        vm.assertEq(finalizeBatchWithRoot(treeRoot(positions, leaves)), w.batch);
        proof = treeProof(positions, leaves, w.index);
    }

    function claim(W memory w, bytes32[] memory proof) internal {
        bridge.claimWithdrawal(w.batch, w.index, w.to, w.token, w.amount, proof);
    }

    function expectInvalidProof(W memory w, bytes32[] memory proof) internal {
        vm.expectRevert(abi.encodeWithSelector(Bridge.InvalidProof.selector, w.batch, w.index));
        claim(w, proof);
    }

    // ---------------------------------------------------------------- reference vectors

    /// The reference tree agrees with a direct fold for one leaf, and an empty tree is empty[16].
    function test_ReferenceTree() public pure {
        uint256[] memory positions = new uint256[](0);
        bytes32[] memory leaves = new bytes32[](0);
        bytes32 e = bytes32(0);
        for (uint256 l = 0; l < 16; l++) {
            e = keccak256(abi.encodePacked(e, e));
        }
        vm.assertEq(treeRoot(positions, leaves), e);

        positions = new uint256[](1);
        leaves = new bytes32[](1);
        positions[0] = 5; // binary 101: right, left, right, then left all the way up
        leaves[0] = keccak256("leaf");
        bytes32 node = leaves[0];
        bytes32 empty = bytes32(0);
        for (uint256 l = 0; l < 16; l++) {
            node =
                (5 >> l) & 1 == 1 ? keccak256(abi.encodePacked(empty, node)) : keccak256(abi.encodePacked(node, empty));
            empty = keccak256(abi.encodePacked(empty, empty));
        }
        vm.assertEq(treeRoot(positions, leaves), node);
    }

    // ---------------------------------------------------------------- claims

    function test_ClaimEthAtFirstAndLastPosition() public {
        for (uint256 k = 0; k < 2; k++) {
            W memory w = W(k, k == 0 ? 0 : 0xFFFF, BOB, 0, 3 ether);
            bytes32[] memory proof = finalizeSingle(w);
            uint256 before = BOB.balance;
            vm.expectEmit(address(bridge));
            emit Bridge.WithdrawalClaimed(w.batch, w.index, BOB, 0, 3 ether);
            vm.prank(ALICE); // anyone may submit; BOB is paid
            claim(w, proof);
            vm.assertEq(BOB.balance, before + 3 ether);
            vm.assertTrue(bridge.isClaimed(w.batch, w.index));
        }
        vm.assertEq(address(bridge).balance, 0);
    }

    function test_ClaimErc20PaysExactly() public {
        W memory w = W(0, 77, BOB, tokenId, 12345);
        bytes32[] memory proof = finalizeSingle(w);
        claim(w, proof);
        vm.assertEq(token.balanceOf(BOB), 12345);
        vm.assertEq(token.balanceOf(address(bridge)), 0);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AlreadyClaimed.selector, 0, 77));
        claim(w, proof);
    }

    function test_ClaimBeforeFinalityReverts() public {
        W memory w = W(0, 1, BOB, 0, 1 ether);
        fund(0, 1 ether);
        uint256[] memory positions = new uint256[](1);
        bytes32[] memory leaves = new bytes32[](1);
        positions[0] = 1;
        leaves[0] = withdrawalLeafOf(0, 1, BOB, 0, 1 ether);
        bytes32[] memory proof = treeProof(positions, leaves, 1);

        appendBatch(1, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 0));
        claim(w, proof);

        propose(0, bytes32(uint256(1)), treeRoot(positions, leaves));
        vm.warp(T0 + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotFinal.selector, 0));
        claim(w, proof);

        vm.warp(T0 + WINDOW);
        claim(w, proof);
        vm.assertEq(BOB.balance, 1 ether);
    }

    function test_ProofShapeIsChecked() public {
        W memory w = W(0, 3, BOB, 0, 1 ether);
        bytes32[] memory proof = finalizeSingle(w);
        vm.expectRevert(abi.encodeWithSelector(Bridge.InvalidProofLength.selector, 15, 16));
        claim(w, new bytes32[](15));
        vm.expectRevert(abi.encodeWithSelector(Bridge.InvalidProofLength.selector, 17, 16));
        claim(w, new bytes32[](17));
        vm.expectRevert(abi.encodeWithSelector(Bridge.LeafIndexOutOfRange.selector, 0x10000, 0xFFFF));
        bridge.claimWithdrawal(0, 0x10000, BOB, 0, 1 ether, proof);
        // Position 3 + 2^16 would hash the same path if the high bits were ignored.
        vm.expectRevert(abi.encodeWithSelector(Bridge.LeafIndexOutOfRange.selector, 0x10003, 0xFFFF));
        bridge.claimWithdrawal(0, 0x10003, BOB, 0, 1 ether, proof);
        vm.assertFalse(bridge.isClaimed(0, 0x10003));
        claim(w, proof);
    }

    function test_WrongBatchReverts() public {
        W memory w = W(0, 9, BOB, 0, 1 ether);
        bytes32[] memory proof = finalizeSingle(w);
        // Batch 1 has no output...
        W memory other = W(1, 9, BOB, 0, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(Rollup.OutputNotProposed.selector, 1));
        claim(other, proof);
        // ...and once it has one, the leaf (which commits to batch 0) is not in it.
        finalizeBatchWithRoot(keccak256("another root"));
        expectInvalidProof(other, proof);
        claim(w, proof);
    }

    function test_FailedEthPaymentRevertsWholeClaim() public {
        RefusingRecipient refuser = new RefusingRecipient();
        W memory w = W(0, 4, address(refuser), 0, 1 ether);
        bytes32[] memory proof = finalizeSingle(w);
        vm.expectRevert(abi.encodeWithSelector(Bridge.EthTransferFailed.selector, address(refuser), 1 ether));
        claim(w, proof);
        vm.assertFalse(bridge.isClaimed(0, 4));
        vm.assertEq(address(bridge).balance, 1 ether);
    }

    function test_ReentrantClaimIsRefused() public {
        ReentrantRecipient evil = new ReentrantRecipient(bridge);
        W memory w = W(0, 6, address(evil), 0, 1 ether);
        fund(0, 2 ether); // more than the withdrawal: a second payment would be possible
        bytes32[] memory proof = finalizeSingle(w);
        evil.setClaim(abi.encodeCall(Bridge.claimWithdrawal, (w.batch, w.index, w.to, w.token, w.amount, proof)));
        // The nested claim reverts (Reentrancy), so the payment fails and the claim with it.
        vm.expectRevert(abi.encodeWithSelector(Bridge.EthTransferFailed.selector, address(evil), 1 ether));
        claim(w, proof);
        vm.assertEq(address(bridge).balance, 3 ether);
        vm.assertFalse(bridge.isClaimed(0, 6));
    }

    function test_FailedTokenPaymentReverts() public {
        FalseReturningToken bad = new FalseReturningToken();
        uint32 badId = bridge.registerToken(address(bad));
        W memory w = W(0, 0, BOB, badId, 5);
        uint256[] memory positions = new uint256[](1);
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = withdrawalLeafOf(0, 0, BOB, badId, 5);
        finalizeBatchWithRoot(treeRoot(positions, leaves));
        vm.expectRevert(abi.encodeWithSelector(Bridge.TokenTransferFailed.selector, address(bad), BOB, 5));
        claim(w, treeProof(positions, leaves, 0));
    }

    function test_UnknownTokenReverts() public {
        W memory w = W(0, 0, BOB, 9, 5);
        bytes32[] memory proof = finalizeSingle(w);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.UnknownToken.selector, uint32(9)));
        claim(w, proof);
    }

    // ---------------------------------------------------------------- fuzz

    /// Random withdrawals (positions, recipients, tokens, amounts) in one batch's tree: each is
    /// paid exactly once, for exactly its amount, and a second claim reverts.
    function testFuzz_ClaimRandomLeavesOnce(uint256 seed, uint8 count, uint8 earlierBatches) public {
        uint256 k = bound(count, 1, 6);
        uint256 batchIndex = bound(earlierBatches, 0, 2);
        for (uint256 b = 0; b < batchIndex; b++) {
            finalizeBatchWithRoot(keccak256(abi.encode(seed, b)));
        }

        uint256[] memory positions = new uint256[](k);
        bytes32[] memory leaves = new bytes32[](k);
        W[] memory ws = new W[](k);
        uint256 ethTotal = 0;
        uint256 tokenTotal = 0;
        for (uint256 i = 0; i < k; i++) {
            uint256 pos = uint256(keccak256(abi.encode(seed, "pos", i))) % 0x10000;
            // Distinct positions: probe upwards on collision.
            for (bool clash = true; clash;) {
                clash = false;
                for (uint256 j = 0; j < i; j++) {
                    if (positions[j] == pos) {
                        pos = (pos + 1) % 0x10000;
                        clash = true;
                    }
                }
            }
            address to = address(uint160(uint256(keccak256(abi.encode(seed, "to", i)))));
            uint32 tok = uint256(keccak256(abi.encode(seed, "token", i))) % 2 == 0 ? 0 : tokenId;
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, "amount", i))), 0, 1e24);
            ws[i] = W(batchIndex, pos, to, tok, amount);
            positions[i] = pos;
            leaves[i] = withdrawalLeafOf(batchIndex, pos, to, tok, amount);
            if (tok == 0) ethTotal += amount;
            else tokenTotal += amount;
        }
        fund(0, ethTotal);
        fund(tokenId, tokenTotal);
        vm.assertEq(finalizeBatchWithRoot(treeRoot(positions, leaves)), batchIndex);

        for (uint256 i = 0; i < k; i++) {
            W memory w = ws[i];
            bytes32[] memory proof = treeProof(positions, leaves, w.index);
            uint256 before = w.token == 0 ? w.to.balance : token.balanceOf(w.to);
            vm.assertFalse(bridge.isClaimed(batchIndex, w.index));

            vm.expectEmit(address(bridge));
            emit Bridge.WithdrawalClaimed(batchIndex, w.index, w.to, w.token, w.amount);
            claim(w, proof);

            uint256 afterwards = w.token == 0 ? w.to.balance : token.balanceOf(w.to);
            vm.assertEq(afterwards - before, w.amount, "paid exactly the amount");
            vm.assertTrue(bridge.isClaimed(batchIndex, w.index));
            vm.expectRevert(abi.encodeWithSelector(Bridge.AlreadyClaimed.selector, batchIndex, w.index));
            claim(w, proof);
        }
        vm.assertEq(address(bridge).balance, 0);
        vm.assertEq(token.balanceOf(address(bridge)), 0);
    }

    /// Changing any field of a valid claim, or any sibling of its proof, makes it invalid; the
    /// valid claim still succeeds afterwards.
    function testFuzz_TamperedClaimsRevert(
        uint16 index,
        address to,
        uint128 amount,
        bool isToken,
        uint256 delta,
        uint8 level,
        bytes32 garbage
    ) public {
        vm.assume(to != address(0) && to != BOB);
        assumeOrdinary(to);
        delta = bound(delta, 1, type(uint128).max);
        W memory w = W(0, index, to, isToken ? tokenId : 0, amount);
        // A neighbouring leaf, so that the tree holds more than one withdrawal.
        W memory n = W(0, uint16(index ^ 1), BOB, 0, 1);
        fund(w.token, w.amount);
        fund(0, 1);
        uint256[] memory positions = new uint256[](2);
        bytes32[] memory leaves = new bytes32[](2);
        positions[0] = w.index;
        leaves[0] = withdrawalLeafOf(0, w.index, w.to, w.token, w.amount);
        positions[1] = n.index;
        leaves[1] = withdrawalLeafOf(0, n.index, n.to, n.token, n.amount);
        finalizeBatchWithRoot(treeRoot(positions, leaves));
        bytes32[] memory proof = treeProof(positions, leaves, w.index);

        W memory bad = W(0, w.index, w.to, w.token, w.amount + delta); // wrong amount
        expectInvalidProof(bad, proof);
        bad = W(0, w.index, w.to, w.token, w.amount == 0 ? 1 : w.amount - 1); // off by one
        expectInvalidProof(bad, proof);
        bad = W(0, w.index, BOB, w.token, w.amount); // wrong recipient
        expectInvalidProof(bad, proof);
        bad = W(0, w.index, w.to, w.token == 0 ? tokenId : 0, w.amount); // wrong token
        expectInvalidProof(bad, proof);
        bad = W(0, (w.index + delta) % 0x10000, w.to, w.token, w.amount); // wrong position
        if (bad.index != w.index) expectInvalidProof(bad, proof);
        // The neighbour's proof does not prove this leaf, nor this proof the neighbour.
        expectInvalidProof(w, treeProof(positions, leaves, n.index));
        expectInvalidProof(n, proof);

        bytes32[] memory tampered = new bytes32[](16);
        for (uint256 l = 0; l < 16; l++) {
            tampered[l] = proof[l];
        }
        uint256 at = bound(level, 0, 15);
        tampered[at] = garbage == proof[at] ? ~garbage : garbage;
        expectInvalidProof(w, tampered);

        vm.assertFalse(bridge.isClaimed(0, w.index));
        claim(w, proof);
        claim(n, treeProof(positions, leaves, n.index));
        vm.assertTrue(bridge.isClaimed(0, w.index));
        vm.assertTrue(bridge.isClaimed(0, n.index));
    }
}
