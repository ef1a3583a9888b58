// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenNetwork} from "../../src/channels/TokenNetwork.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {SecretRegistry} from "../../src/channels/SecretRegistry.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {ChannelsFixture} from "./ChannelsFixture.sol";

/// @notice Bad input on L1: every attempt reverts with its error, and nothing moves.
contract ChannelsAttacksTest is ChannelsFixture {
    // ---- signatures ----

    function test_CloseWithProofSignedByOtherKeyReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes memory forged = sig(eveKey, bpHash(id, 1, 1 ether, 0, bytes32(0)));
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p2, eve));
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), forged);
    }

    function test_CloseWithOwnSignatureReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        // p1 "proves" that p2 paid it, signing itself.
        bytes memory own = sig(key1, bpHash(id, 1, 1 ether, 0, bytes32(0)));
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p2, p1));
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), own);
    }

    function test_AlteredProofReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes memory signature = sig(key2, bpHash(id, 1, 0.1 ether, 0, bytes32(0)));
        vm.prank(p1);
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector); // recovers to some other address
        network.closeChannel(id, 1, 0.9 ether, 0, bytes32(0), signature);
    }

    function test_HighSSignatureReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes memory good = sig(key2, bpHash(id, 1, 1 ether, 0, bytes32(0)));
        bytes memory malleated = highS(good);
        // The malleated signature recovers to the same signer: only the s check refuses it.
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(malleated, 32))
            s := mload(add(malleated, 64))
        }
        vm.assertEq(ecrecover(network.digestOf(bpHash(id, 1, 1 ether, 0, bytes32(0))), uint8(malleated[64]), r, s), p2);
        vm.prank(p1);
        vm.expectRevert(TokenNetwork.MalformedSignature.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), malleated);
        vm.prank(p1);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), good);
    }

    function test_BadVAndLengthReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes memory good = sig(key2, bpHash(id, 1, 1 ether, 0, bytes32(0)));
        bytes memory v0 = bytes.concat(good);
        v0[64] = bytes1(uint8(good[64]) - 27); // v in {0, 1}
        vm.startPrank(p1);
        vm.expectRevert(TokenNetwork.MalformedSignature.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), v0);
        vm.expectRevert(TokenNetwork.MalformedSignature.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), bytes.concat(good, hex"00"));
        vm.expectRevert(TokenNetwork.MalformedSignature.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), "");
        // r = 0: ecrecover returns the zero address.
        bytes memory zeroR = bytes.concat(bytes32(0), bytes32(uint256(1)), bytes1(uint8(27)));
        vm.expectRevert(TokenNetwork.MalformedSignature.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), zeroR);
        vm.stopPrank();
    }

    function test_ReplayOfPreviousGenerationReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        // Generation 1: p2 paid p1 0.9 ether (a proof p1 keeps), then both close cooperatively.
        bytes memory oldProof = sig(key2, bpHash(id, 5, 0.9 ether, 0, bytes32(0)));
        bytes32 oldUpdateHash = bpHash(id, 6, 0, 0, bytes32(0));
        bytes memory oldCoop1 = sig(key1, network.cooperativeCloseHash(id, 1, 0, 2 ether));
        bytes memory oldCoop2 = sig(key2, network.cooperativeCloseHash(id, 1, 0, 2 ether));
        coopClose(id, 1 ether, 1 ether);
        // Generation 2, same pair and token, same channel id.
        vm.prank(alice);
        network.openChannel(bob, address(0), TIMEOUT);
        vm.prank(p1);
        network.setTotalDeposit{value: 1 ether}(id, p1, 1 ether);
        vm.prank(p2);
        network.setTotalDeposit{value: 1 ether}(id, p2, 1 ether);
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector); // the generation-1 cooperative close does not verify
        network.cooperativeClose(id, 0, 2 ether, oldCoop1, oldCoop2);
        vm.prank(p1);
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector); // nor the generation-1 balance proof
        network.closeChannel(id, 5, 0.9 ether, 0, bytes32(0), oldProof);
        // Nor an old update after a genuine close.
        close(id, p2, 0, 0, 0, 0, bytes32(0));
        bytes memory oldClosing = sig(key2, oldUpdateHash);
        bytes memory oldNonClosing = sig(key1, network.nonClosingUpdateHash(id, 1, oldUpdateHash));
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector);
        network.updateNonClosingBalanceProof(id, p2, p1, 6, 0, 0, bytes32(0), oldClosing, oldNonClosing);
    }

    function test_WrongChainIdReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes32 h = bpHash(id, 1, 1 ether, 0, bytes32(0));
        uint256 chain = block.chainid;
        cvm.chainId(1); // the proof is signed for mainnet's domain
        bytes memory otherChain = sig(key2, h);
        bytes32 mainnetDigest = network.digestOf(h);
        cvm.chainId(chain);
        vm.assertNotEq(network.digestOf(h), mainnetDigest);
        vm.prank(p1);
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), otherChain);
    }

    function test_WrongContractReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        TokenNetwork other = new TokenNetwork(registry, GOVERNOR, 5, 1000);
        bytes memory forOther = sigFor(other, key2, bpHash(id, 1, 1 ether, 0, bytes32(0)));
        vm.prank(p1);
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector);
        network.closeChannel(id, 1, 1 ether, 0, bytes32(0), forOther);
    }

    // ---- close, update, settle ----

    function test_NonParticipantCloseReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NotParticipant.selector, id, eve));
        network.closeChannel(id, 0, 0, 0, bytes32(0), "");
    }

    function test_EmptyProofWithAmountsReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        vm.prank(p1);
        vm.expectRevert(TokenNetwork.InvalidEmptyBalanceProof.selector);
        network.closeChannel(id, 0, 1 ether, 0, bytes32(0), "");
    }

    function test_CloseTwiceReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(2)));
        network.closeChannel(id, 0, 0, 0, bytes32(0), "");
    }

    function test_SettleTooEarlyReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(1)));
        network.settleChannel(id); // open, not closed
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        vm.roll(block.number + TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.SettleTooEarly.selector, settleBlockOf(id)));
        network.settleChannel(id);
    }

    function test_UpdateAfterWindowReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        uint64 settleBlock = settleBlockOf(id);
        vm.roll(settleBlock + 1);
        (bytes memory closingSig, bytes memory nonClosingSig) = updateSigs(id, key1, key2, 1, 1 ether, 0, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.UpdateWindowOver.selector, settleBlock));
        network.updateNonClosingBalanceProof(id, p1, p2, 1, 1 ether, 0, bytes32(0), closingSig, nonClosingSig);
        // And after settle, the channel is no longer closed.
        network.settleChannel(id);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(3)));
        network.updateNonClosingBalanceProof(id, p1, p2, 1, 1 ether, 0, bytes32(0), closingSig, nonClosingSig);
    }

    function test_UpdateWithLowerOrEqualNonceReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        update(id, p2, p1, key1, p2, key2, 3, 0.3 ether, 0, bytes32(0));
        (bytes memory c3, bytes memory n3) = updateSigs(id, key1, key2, 3, 0.4 ether, 0, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NonceNotIncreasing.selector, uint64(3), uint64(3)));
        network.updateNonClosingBalanceProof(id, p1, p2, 3, 0.4 ether, 0, bytes32(0), c3, n3);
        (bytes memory c2, bytes memory n2) = updateSigs(id, key1, key2, 2, 0.2 ether, 0, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NonceNotIncreasing.selector, uint64(3), uint64(2)));
        network.updateNonClosingBalanceProof(id, p1, p2, 2, 0.2 ether, 0, bytes32(0), c2, n2);
    }

    function test_UpdateWithoutNonClosingAuthorisationReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        bytes32 h = bpHash(id, 2, 0.5 ether, 0, bytes32(0));
        bytes memory closingSig = sig(key1, h);
        // Authorised by a third party, not by p2.
        bytes memory eveAuth = sig(eveKey, network.nonClosingUpdateHash(id, 1, h));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p2, eve));
        network.updateNonClosingBalanceProof(id, p1, p2, 2, 0.5 ether, 0, bytes32(0), closingSig, eveAuth);
        // p2's authorisation of another proof.
        bytes memory otherAuth = sig(key2, network.nonClosingUpdateHash(id, 1, bpHash(id, 2, 0.6 ether, 0, bytes32(0))));
        cvm.expectPartialRevert(TokenNetwork.WrongSigner.selector);
        network.updateNonClosingBalanceProof(id, p1, p2, 2, 0.5 ether, 0, bytes32(0), closingSig, otherAuth);
        // The closer's proof signed by the non-closer instead.
        bytes memory wrongSigner = sig(key2, h);
        bytes memory auth = sig(key2, network.nonClosingUpdateHash(id, 1, h));
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p1, p2));
        network.updateNonClosingBalanceProof(id, p1, p2, 2, 0.5 ether, 0, bytes32(0), wrongSigner, auth);
        // Participants swapped.
        vm.expectRevert(TokenNetwork.WrongParticipants.selector);
        network.updateNonClosingBalanceProof(id, p2, p1, 2, 0.5 ether, 0, bytes32(0), closingSig, auth);
    }

    // ---- unlock ----

    function closeAndSettleWithLocks(bytes memory locks, uint256 locked) internal returns (bytes32 id) {
        id = openEth(5 ether, 5 ether);
        close(id, p2, key1, 1, 0, locked, keccak256(locks));
        vm.roll(block.number + TIMEOUT + 1);
        network.settleChannel(id);
    }

    function test_UnlockOfLocksNotCommittedReverts() public {
        bytes32 secret = bytes32(uint256(42));
        registry.registerSecret(secret);
        bytes memory committed = lockOf(1 ether, block.number + 100, bytes32(uint256(7)));
        bytes32 id = closeAndSettleWithLocks(committed, 1 ether);
        // A lock on a secret the receiver knows, never committed by the sender.
        bytes memory forged = lockOf(1 ether, block.number + 100, secret);
        vm.expectRevert(TokenNetwork.LocksNotCommitted.selector);
        network.unlock(id, 1, p1, p2, forged);
        // The committed locks plus one more, or a truncated encoding.
        vm.expectRevert(TokenNetwork.LocksNotCommitted.selector);
        network.unlock(id, 1, p1, p2, bytes.concat(committed, forged));
        vm.expectRevert(TokenNetwork.LocksNotCommitted.selector);
        network.unlock(id, 1, p1, p2, bytes.concat(committed, hex"00"));
        // The other sender has nothing committed.
        vm.expectRevert(TokenNetwork.NothingToUnlock.selector);
        network.unlock(id, 1, p2, p1, committed);
        // Receiver not the partner.
        vm.expectRevert(TokenNetwork.WrongParticipants.selector);
        network.unlock(id, 1, p1, eve, committed);
        // Another generation.
        vm.expectRevert(TokenNetwork.NothingToUnlock.selector);
        network.unlock(id, 2, p1, p2, committed);
    }

    function test_DoubleUnlockReverts() public {
        bytes memory locks = lockOf(1 ether, block.number + 100, bytes32(uint256(7)));
        bytes32 id = closeAndSettleWithLocks(locks, 1 ether);
        network.unlock(id, 1, p1, p2, locks);
        uint256 balance = address(network).balance;
        vm.expectRevert(TokenNetwork.NothingToUnlock.selector);
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(address(network).balance, balance);
    }

    function test_UnlockBeforeSettleReverts() public {
        bytes memory locks = lockOf(1 ether, block.number + 100, bytes32(uint256(7)));
        bytes32 id = openEth(5 ether, 5 ether);
        close(id, p2, key1, 1, 0, 1 ether, keccak256(locks));
        vm.expectRevert(TokenNetwork.NothingToUnlock.selector);
        network.unlock(id, 1, p1, p2, locks);
    }

    /// @dev A sender whose locks add up to more than the locked amount it signed cannot get more
    ///      than that amount paid out (nor a receiver): the held amount caps the unlock.
    function test_UnlockPaysAtMostTheHeldAmount() public {
        bytes32 secret = bytes32(uint256(9));
        registry.registerSecret(secret);
        bytes memory locks = lockOf(4 ether, block.number + 100, secret);
        bytes32 id = closeAndSettleWithLocks(locks, 1 ether); // signed lockedAmount 1, lock of 4
        uint256 before2 = p2.balance;
        network.unlock(id, 1, p1, p2, locks);
        vm.assertEq(p2.balance - before2, 1 ether);
        vm.assertEq(address(network).balance, 0);
    }

    // ---- deposits and cooperative close ----

    function test_DepositNotIncreasingReverts() public {
        bytes32 id = openEth(1 ether, 0);
        vm.startPrank(p1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.DepositNotIncreasing.selector, 1 ether, 1 ether));
        network.setTotalDeposit(id, p1, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.DepositNotIncreasing.selector, 1 ether, 0.5 ether));
        network.setTotalDeposit(id, p1, 0.5 ether);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongDepositValue.selector, 0.5 ether, 1 ether));
        network.setTotalDeposit{value: 0.5 ether}(id, p1, 2 ether);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NotParticipant.selector, id, eve));
        network.setTotalDeposit{value: 1 ether}(id, eve, 1 ether);
        vm.stopPrank();
        // Token channel: no ETH, and the allowance must cover the increase.
        bytes32 tid = openToken(1 ether, 0);
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongDepositValue.selector, 1, 0));
        network.setTotalDeposit{value: 1}(tid, p1, 2 ether);
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.TokenDepositFailed.selector, address(token), 1 ether));
        network.setTotalDeposit(tid, p2, 1 ether);
    }

    function test_DepositAfterCloseReverts() public {
        bytes32 id = openEth(1 ether, 0);
        close(id, p1, 0, 0, 0, 0, bytes32(0));
        vm.prank(p1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(2)));
        network.setTotalDeposit{value: 1 ether}(id, p1, 2 ether);
    }

    function test_CooperativeCloseSumsNotMatchingReverts() public {
        bytes32 id = openEth(1 ether, 1 ether);
        uint256[2][3] memory cases =
            [[uint256(1.5 ether), 1 ether], [uint256(0.5 ether), 1 ether], [type(uint256).max, 2 ether + 1]];
        for (uint256 i = 0; i < cases.length; i++) {
            (uint256 b1, uint256 b2) = (cases[i][0], cases[i][1]);
            bytes32 h = network.cooperativeCloseHash(id, 1, b1, b2);
            bytes memory s1 = sig(key1, h);
            bytes memory s2 = sig(key2, h);
            vm.expectRevert(abi.encodeWithSelector(TokenNetwork.BalancesDoNotMatchDeposit.selector, 2 ether));
            network.cooperativeClose(id, b1, b2, s1, s2);
        }
        vm.assertEq(address(network).balance, 2 ether);
    }

    function test_CooperativeCloseNeedsBothSignatures() public {
        bytes32 id = openEth(1 ether, 1 ether);
        bytes32 h = network.cooperativeCloseHash(id, 1, 2 ether, 0);
        bytes memory s1 = sig(key1, h);
        bytes memory sEve = sig(eveKey, h);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p2, p1));
        network.cooperativeClose(id, 2 ether, 0, s1, s1);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongSigner.selector, p2, eve));
        network.cooperativeClose(id, 2 ether, 0, s1, sEve);
    }

    // ---- opening ----

    function test_OpenBadInputReverts() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidPartner.selector, alice));
        network.openChannel(alice, address(0), TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidPartner.selector, address(0)));
        network.openChannel(address(0), address(0), TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidSettleTimeout.selector, uint64(4)));
        network.openChannel(bob, address(0), 4);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidSettleTimeout.selector, uint64(1001)));
        network.openChannel(bob, address(0), 1001);
        TestToken unlisted = new TestToken("U", "U", 18);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(unlisted)));
        network.openChannel(bob, address(unlisted), TIMEOUT);
        (bytes32 id,) = network.openChannel(bob, address(0), TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(1)));
        network.openChannel(bob, address(0), TIMEOUT);
        vm.stopPrank();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.WrongChannelState.selector, id, uint8(1)));
        network.openChannel(alice, address(0), TIMEOUT);
    }

    function test_ConstructorRejectsBadConfig() public {
        vm.expectRevert(TokenNetwork.InvalidConfig.selector);
        new TokenNetwork(registry, GOVERNOR, 0, 10);
        vm.expectRevert(TokenNetwork.InvalidConfig.selector);
        new TokenNetwork(registry, GOVERNOR, 10, 9);
        vm.expectRevert(TokenNetwork.InvalidConfig.selector);
        new TokenNetwork(registry, GOVERNOR, 10, uint64(type(uint32).max) + 1);
        vm.expectRevert(TokenNetwork.InvalidConfig.selector);
        new TokenNetwork(SecretRegistry(address(0)), GOVERNOR, 10, 20);
    }
}
