// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {TokenNetwork} from "../../src/channels/TokenNetwork.sol";
import {ChannelsFixture, RefusingRecipient, ReentrantRecipient} from "./ChannelsFixture.sol";

/// @notice The channel lifecycle: open, deposits (ETH and ERC-20), cooperative close, unilateral
///         close with updates by the partner and by a watchtower, settle, unlock, reopen.
contract ChannelsLifecycleTest is ChannelsFixture {
    function test_OpenRecordsOrderedPairAndGeneration() public {
        vm.expectEmit(address(network));
        emit TokenNetwork.ChannelOpened(network.channelIdOf(alice, bob, address(0)), p1, p2, address(0), 1, TIMEOUT);
        vm.prank(bob);
        (bytes32 id, uint64 generation) = network.openChannel(alice, address(0), TIMEOUT);
        vm.assertEq(id, keccak256(abi.encode(p1, p2, address(0))));
        vm.assertEq(id, network.channelIdOf(bob, alice, address(0)));
        vm.assertEq(uint256(generation), 1);
        (address a, address b, address t, uint64 g, uint8 state, uint64 timeout, uint64 settleBlock, address closer) =
            network.getChannel(id);
        vm.assertEq(a, p1);
        vm.assertEq(b, p2);
        vm.assertEq(t, address(0));
        vm.assertEq(uint256(g), 1);
        vm.assertEq(uint256(state), network.STATE_OPENED());
        vm.assertEq(uint256(timeout), TIMEOUT);
        vm.assertEq(uint256(settleBlock), 0);
        vm.assertEq(closer, address(0));
    }

    function test_EthDepositsAndCooperativeClose() public {
        bytes32 id = openEth(3 ether, 0);
        // Anyone may fund a participant; totals only grow.
        vm.deal(eve, 1 ether);
        vm.prank(eve);
        network.setTotalDeposit{value: 1 ether}(id, p2, 1 ether);
        vm.prank(p1);
        network.setTotalDeposit{value: 2 ether}(id, p1, 5 ether);
        (uint256 d1,,,,) = network.getParticipant(id, p1);
        (uint256 d2,,,,) = network.getParticipant(id, p2);
        vm.assertEq(d1, 5 ether);
        vm.assertEq(d2, 1 ether);
        vm.assertEq(address(network).balance, 6 ether);

        uint256 before1 = p1.balance;
        uint256 before2 = p2.balance;
        vm.expectEmit(address(network));
        emit TokenNetwork.CooperativelyClosed(id, 1, 2 ether, 4 ether);
        coopClose(id, 2 ether, 4 ether);
        vm.assertEq(p1.balance - before1, 2 ether);
        vm.assertEq(p2.balance - before2, 4 ether);
        vm.assertEq(address(network).balance, 0);
        vm.assertEq(uint256(stateOf(id)), network.STATE_SETTLED());
    }

    function test_TokenDepositsAndCooperativeClose() public {
        bytes32 id = openToken(10 ether, 20 ether);
        vm.assertEq(token.balanceOf(address(network)), 30 ether);
        uint256 before1 = token.balanceOf(p1);
        uint256 before2 = token.balanceOf(p2);
        coopClose(id, 25 ether, 5 ether);
        vm.assertEq(token.balanceOf(p1) - before1, 25 ether);
        vm.assertEq(token.balanceOf(p2) - before2, 5 ether);
        vm.assertEq(token.balanceOf(address(network)), 0);
    }

    function test_UnilateralCloseUpdateByPartnerAndSettle() public {
        bytes32 id = openEth(10 ether, 10 ether);
        // p1 paid p2 3 ether (p1's proof nonce 4); p2 paid p1 1 ether (p2's proof nonce 2).
        vm.expectEmit(address(network));
        emit TokenNetwork.ChannelClosed(id, 1, p1, 2);
        close(id, p1, key2, 2, 1 ether, 0, bytes32(0));
        vm.assertEq(uint256(settleBlockOf(id)), block.number + TIMEOUT);
        (,,,,,,, address closer) = network.getChannel(id);
        vm.assertEq(closer, p1);
        // p2 submits p1's proof itself.
        vm.expectEmit(address(network));
        emit TokenNetwork.NonClosingBalanceProofUpdated(id, 1, p1, 4);
        update(id, p2, p1, key1, p2, key2, 4, 3 ether, 0, bytes32(0));

        vm.roll(block.number + TIMEOUT + 1);
        uint256 before1 = p1.balance;
        uint256 before2 = p2.balance;
        vm.expectEmit(address(network));
        emit TokenNetwork.ChannelSettled(id, 1, 8 ether, 12 ether, 0, 0);
        vm.prank(eve);
        network.settleChannel(id);
        vm.assertEq(p1.balance - before1, 8 ether);
        vm.assertEq(p2.balance - before2, 12 ether);
        vm.assertEq(address(network).balance, 0);
    }

    function test_WatchtowerUpdatesForOfflineParticipant() public {
        bytes32 id = openToken(10 ether, 0);
        // p1 paid p2 7 ether by nonce 9, then closes with no proof of p2, hoping p2 is offline.
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        // p2's watchtower holds p1's proof and p2's NonClosingUpdate for it.
        update(id, WATCHTOWER, p1, key1, p2, key2, 9, 7 ether, 0, bytes32(0));
        (, uint64 nonce, uint256 transferred,,) = network.getParticipant(id, p1);
        vm.assertEq(uint256(nonce), 9);
        vm.assertEq(transferred, 7 ether);
        vm.roll(block.number + TIMEOUT + 1);
        network.settleChannel(id);
        vm.assertEq(token.balanceOf(p1), 1000 ether - 10 ether + 3 ether);
        vm.assertEq(token.balanceOf(p2), 1000 ether + 7 ether);
    }

    function test_HigherNonceWins() public {
        bytes32 id = openEth(10 ether, 0);
        close(id, p2, key1, 1, 1 ether, 0, bytes32(0)); // p2 closes with p1's old proof
        update(id, WATCHTOWER, p2, key2, p1, key1, 3, 0, 0, bytes32(0));
        // p1 is credited by the newer proof with p2's higher nonce; ...
        update(id, p1, p2, key2, p1, key1, 5, 0, 0, bytes32(0));
        (, uint64 nonce,,,) = network.getParticipant(id, p2);
        vm.assertEq(uint256(nonce), 5);
        // ... an older one is refused.
        bytes32 h = bpHash(id, 4, 0, 0, bytes32(0));
        bytes memory closingSig = sig(key2, h);
        bytes memory nonClosingSig = sig(key1, network.nonClosingUpdateHash(id, 1, h));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NonceNotIncreasing.selector, uint64(5), uint64(4)));
        network.updateNonClosingBalanceProof(id, p2, p1, 4, 0, 0, bytes32(0), closingSig, nonClosingSig);
    }

    function test_UpdateAllowedAtSettleBlockSettleOnlyAfter() public {
        bytes32 id = openEth(1 ether, 1 ether);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        uint64 settleBlock = settleBlockOf(id);
        vm.roll(settleBlock);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.SettleTooEarly.selector, settleBlock));
        network.settleChannel(id);
        update(id, p2, p1, key1, p2, key2, 1, 0.5 ether, 0, bytes32(0));
        vm.roll(settleBlock + 1);
        network.settleChannel(id);
        vm.assertEq(uint256(stateOf(id)), network.STATE_SETTLED());
    }

    function test_ReopenStartsNextGeneration() public {
        bytes32 id = openEth(1 ether, 0);
        coopClose(id, 1 ether, 0);
        vm.prank(bob);
        (bytes32 again, uint64 generation) = network.openChannel(alice, address(0), 20);
        vm.assertEq(again, id);
        vm.assertEq(uint256(generation), 2);
        (uint256 d1, uint64 nonce,,,) = network.getParticipant(id, p1);
        vm.assertEq(d1, 0);
        vm.assertEq(uint256(nonce), 0);
        vm.prank(p1);
        network.setTotalDeposit{value: 1}(id, p1, 1);
    }

    // ---- unlock ----

    /// @dev p1 sends p2 locked transfers; the channel is settled with p1's proof committing them.
    function settleWithLocks(bytes memory locks, uint256 lockedAmount) internal returns (bytes32 id) {
        id = openEth(10 ether, 10 ether);
        bytes32 root = keccak256(locks);
        close(id, p2, key1, 7, 1 ether, lockedAmount, root);
        vm.roll(block.number + TIMEOUT + 1);
        network.settleChannel(id);
        (bytes32 recordedRoot, uint256 held) = network.getPendingLocks(id, 1, p1);
        vm.assertEq(recordedRoot, root);
        vm.assertEq(held, lockedAmount);
    }

    function test_UnlockOneLockSecretRegisteredBeforeExpiry() public {
        bytes32 secret = keccak256("secret 1");
        uint256 expiration = block.number + 5;
        vm.roll(expiration - 1);
        registry.registerSecret(secret); // before expiry (and before the close)
        bytes32 id = settleWithLocks(lockOf(2 ether, expiration, secret), 2 ether);
        // Settle paid p1 10 - 1 - 2 = 7 and p2 10 + 1 = 11; 2 are held.
        vm.assertEq(address(network).balance, 2 ether);
        uint256 before2 = p2.balance;
        vm.expectEmit(address(network));
        emit TokenNetwork.ChannelUnlocked(id, 1, p1, p2, 2 ether, 0);
        vm.prank(eve);
        network.unlock(id, 1, p1, p2, lockOf(2 ether, expiration, secret));
        vm.assertEq(p2.balance - before2, 2 ether);
        vm.assertEq(address(network).balance, 0);
    }

    function test_UnlockSecretRegisteredAfterExpiryRefundsSender() public {
        bytes32 secret = keccak256("late");
        uint256 expiration = block.number + 3;
        bytes memory locks = lockOf(2 ether, expiration, secret);
        bytes32 id = settleWithLocks(locks, 2 ether);
        vm.assertGt(block.number, expiration);
        registry.registerSecret(secret); // too late
        uint256 before1 = p1.balance;
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(p1.balance - before1, 2 ether);
    }

    function test_UnlockSecretRegisteredAtExpiryBlockCounts() public {
        bytes32 secret = keccak256("just in time");
        uint256 expiration = block.number + 2;
        bytes memory locks = lockOf(1 ether, expiration, secret);
        vm.roll(expiration);
        registry.registerSecret(secret);
        bytes32 id = settleWithLocks(locks, 1 ether);
        uint256 before2 = p2.balance;
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(p2.balance - before2, 1 ether);
    }

    function test_UnlockTenLocksMixed() public {
        uint256 start = block.number;
        bytes memory locks;
        uint256 total;
        for (uint256 i = 0; i < 10; i++) {
            uint256 amount = (i + 1) * 0.1 ether;
            locks = bytes.concat(locks, lockOf(amount, start + 3 + (i % 5), bytes32(i + 1)));
            total += amount;
        }
        // Secrets of the even locks registered before they expire; lock 9's after (at unlock time).
        for (uint256 i = 0; i < 10; i += 2) {
            registry.registerSecret(bytes32(i + 1));
        }
        bytes32 id = settleWithLocks(locks, total);
        registry.registerSecret(bytes32(uint256(10)));
        uint256 claimed = 0;
        for (uint256 i = 0; i < 10; i += 2) {
            claimed += (i + 1) * 0.1 ether;
        }
        uint256 before1 = p1.balance;
        uint256 before2 = p2.balance;
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(p2.balance - before2, claimed);
        vm.assertEq(p1.balance - before1, total - claimed);
        (, uint256 held) = network.getPendingLocks(id, 1, p1);
        vm.assertEq(held, 0);
    }

    function test_UnlockAfterReopenStillPaysOldGeneration() public {
        bytes32 secret = keccak256("old generation");
        bytes memory locks = lockOf(1 ether, block.number + 100, secret);
        bytes32 id = settleWithLocks(locks, 1 ether);
        vm.prank(alice);
        network.openChannel(bob, address(0), TIMEOUT);
        registry.registerSecret(secret);
        uint256 before2 = p2.balance;
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(p2.balance - before2, 1 ether);
    }

    // ---- settlement arithmetic ----

    /// @dev Whatever the recorded proofs (honest or not), settle never pays out more than the
    ///      deposits, and pays exactly the formula when the proofs are consistent.
    function testFuzz_SettlementConservesDeposits(
        uint128 d1,
        uint128 d2,
        uint256 t1,
        uint256 l1,
        uint256 t2,
        uint256 l2
    ) public view {
        (uint256 s1, uint256 s2, uint256 h1, uint256 h2) = network.settlementAmounts(d1, t1, l1, d2, t2, l2);
        vm.assertEq(s1 + s2 + h1 + h2, uint256(d1) + uint256(d2));
        vm.assertLe(h1, l1);
        vm.assertLe(h2, l2);
    }

    function testFuzz_SettlementHonestProofs(uint128 d1, uint128 d2, uint256 t1, uint256 l1, uint256 t2, uint256 l2)
        public
        view
    {
        // Consistent proofs: each side has locked and paid no more than it could have.
        t1 = bound(t1, 0, uint256(d1) + uint256(d2));
        t2 = bound(t2, 0, uint256(d1) + uint256(d2));
        vm.assume(uint256(d1) + t2 >= t1 && uint256(d2) + t1 >= t2);
        l1 = bound(l1, 0, uint256(d1) + t2 - t1);
        l2 = bound(l2, 0, uint256(d2) + t1 - t2);
        (uint256 s1, uint256 s2, uint256 h1, uint256 h2) = network.settlementAmounts(d1, t1, l1, d2, t2, l2);
        vm.assertEq(s1, uint256(d1) + t2 - t1 - l1);
        vm.assertEq(s2, uint256(d2) + t1 - t2 - l2);
        vm.assertEq(h1, l1);
        vm.assertEq(h2, l2);
    }

    bytes internal e2eLocks1;
    bytes internal e2eLocks2;

    /// @dev End to end, whatever both parties signed (absurd amounts, locks that do not add up
    ///      to the locked amount, secrets registered or not): after settle and both unlocks the
    ///      participants together received exactly the deposits and the network holds nothing.
    function testFuzz_EndToEndConservation(
        uint128 deposits,
        uint256 t1,
        uint256 l1,
        uint256 a1,
        uint256 t2,
        uint256 l2,
        uint256 a2,
        uint8 reveals
    ) public {
        uint256 total = uint256(uint64(deposits)) + uint256(deposits >> 64);
        vm.deal(p1, type(uint64).max);
        vm.deal(p2, type(uint64).max);
        bytes32 id = openEth(uint64(deposits), uint64(deposits >> 64));
        e2eLocks1 = lockOf(a1, block.number + 100, bytes32(uint256(1)));
        e2eLocks2 = lockOf(a2, block.number + 100, bytes32(uint256(2)));
        if (reveals & 1 != 0) registry.registerSecret(bytes32(uint256(1)));
        if (reveals & 2 != 0) registry.registerSecret(bytes32(uint256(2)));
        close(id, p1, key2, 3, t2, l2, keccak256(e2eLocks2));
        e2eUpdate(id, t1, l1);
        e2eSettleAndUnlock(id, total);
    }

    function e2eUpdate(bytes32 id, uint256 t1, uint256 l1) internal {
        update(id, eve, p1, key1, p2, key2, 5, t1, l1, keccak256(e2eLocks1));
    }

    function e2eSettleAndUnlock(bytes32 id, uint256 total) internal {
        vm.roll(block.number + TIMEOUT + 1);
        uint256 before = p1.balance + p2.balance;
        network.settleChannel(id);
        (, uint256 held1) = network.getPendingLocks(id, 1, p1);
        (, uint256 held2) = network.getPendingLocks(id, 1, p2);
        if (held1 != 0) network.unlock(id, 1, p1, p2, e2eLocks1);
        if (held2 != 0) network.unlock(id, 1, p2, p1, e2eLocks2);
        vm.assertEq(p1.balance + p2.balance - before, total);
        vm.assertEq(address(network).balance, 0);
    }

    // ---- payouts that a recipient refuses ----

    function test_RefusingRecipientDoesNotBlockPartner() public {
        bytes32 id = openEth(5 ether, 5 ether);
        cvm.etch(p1, address(new RefusingRecipient()).code);
        uint256 before2 = p2.balance;
        vm.recordLogs();
        coopClose(id, 4 ether, 6 ether);
        vm.assertEq(p2.balance - before2, 6 ether);
        vm.assertEq(network.pendingWithdrawal(p1, address(0)), 4 ether);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool deferred = false;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics[0] == TokenNetwork.PayoutDeferred.selector) deferred = true;
        }
        vm.assertTrue(deferred);
        // p1 takes it to another address of its choice.
        vm.prank(p1);
        network.withdraw(address(0), WATCHTOWER);
        vm.assertEq(WATCHTOWER.balance, 4 ether);
        vm.assertEq(network.pendingWithdrawal(p1, address(0)), 0);
        vm.prank(p1);
        vm.expectRevert(TokenNetwork.NothingToWithdraw.selector);
        network.withdraw(address(0), WATCHTOWER);
        vm.prank(p2);
        vm.expectRevert(TokenNetwork.InvalidWithdrawalRecipient.selector);
        network.withdraw(address(0), address(0));
    }

    function test_ReentrantRecipientCannotReenterOrBlockSettle() public {
        bytes32 id = openEth(5 ether, 5 ether);
        cvm.etch(p2, address(new ReentrantRecipient(network, id)).code);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        vm.roll(block.number + TIMEOUT + 1);
        uint256 before1 = p1.balance;
        network.settleChannel(id);
        vm.assertEq(p1.balance - before1, 5 ether);
        vm.assertEq(network.pendingWithdrawal(p2, address(0)), 5 ether);
        vm.assertEq(address(network).balance, 5 ether);
        vm.assertEq(uint256(stateOf(id)), network.STATE_SETTLED());
    }
}
