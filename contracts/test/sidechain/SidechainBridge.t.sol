// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {ValidatorSet} from "../../src/sidechain/ValidatorSet.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {Checkpoint, Withdrawal, ValidatorSetRotation} from "../../src/sidechain/SidechainMessages.sol";
import {SidechainFixture} from "./SidechainFixture.sol";

/// @notice On receiving ETH, tries to have the same withdrawal paid again through every entry
///         point (swallowing the failures), then accepts the payment.
contract ReentrantRecipient {
    SidechainBridge internal immutable bridge;
    Withdrawal internal w;
    bytes32[] internal proof;
    uint256 internal queuedId;
    uint256 public received;
    uint256 public reentryFailures;

    constructor(SidechainBridge bridge_) {
        bridge = bridge_;
    }

    function arm(Withdrawal calldata w_, bytes32[] calldata proof_, uint256 queuedId_) external {
        w = w_;
        proof = proof_;
        queuedId = queuedId_;
    }

    receive() external payable {
        received += msg.value;
        try bridge.withdraw(w, proof) {} catch { reentryFailures++; }
        try bridge.executeQueued(queuedId) {} catch { reentryFailures++; }
    }
}

/// @notice Refuses every ETH payment.
contract RefusingRecipient {
    receive() external payable {
        revert("refused");
    }
}

/// @notice The bridge's rules, each with the test of its violation (docs/sidechain.md).
contract SidechainBridgeTest is SidechainFixture {
    // ------------------------------------------------------------------ happy path

    function test_HappyPath_DepositCheckpointWithdraw() public {
        // Deposits: ETH and a listed ERC-20, with consecutive nonces.
        vm.expectEmit(address(bridge));
        emit SidechainBridge.Deposited(0, alice, bob, address(0), 3 ether);
        vm.prank(alice);
        assertEqU(bridge.depositETH{value: 3 ether}(bob), 0);
        vm.expectEmit(address(bridge));
        emit SidechainBridge.Deposited(1, alice, bob, address(token), 50 ether);
        vm.prank(alice);
        assertEqU(bridge.depositERC20(address(token), bob, 50 ether), 1);
        vm.assertEq(bridge.depositCount(), 2);
        vm.assertEq(address(bridge).balance, 3 ether);
        vm.assertEq(token.balanceOf(address(bridge)), 50 ether);

        vm.startPrank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 10 ether, 100 ether);
        bridge.setWithdrawalLimits(address(token), 100 ether, 1000 ether);
        vm.stopPrank();

        // Checkpoint 1 (blocks 1..10) holds two withdrawals.
        Withdrawal memory w0 = withdrawal(1, 0, alice, address(0), 1 ether);
        Withdrawal memory w1 = withdrawal(1, 1, alice, address(token), 20 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, two(w0, w1));
        vm.assertEq(bridge.lastCheckpoint(), 1);
        vm.assertEq(bridge.lastCheckpointedBlock(), 10);
        vm.assertEq(bridge.withdrawalLeaf(w0), leafOf(w0));

        uint256 before = alice.balance;
        vm.prank(bob); // anyone submits; the leaf fixes the recipient
        (uint256 id, bool paid) = bridge.withdraw(w0, proofs[0]);
        vm.assertTrue(paid);
        vm.assertEq(id, bridge.withdrawalId(1, 0));
        vm.assertEq(alice.balance, before + 1 ether);
        (, paid) = bridge.withdraw(w1, proofs[1]);
        vm.assertTrue(paid);
        vm.assertEq(token.balanceOf(alice), 1_000 ether - 50 ether + 20 ether);
        vm.assertTrue(bridge.isProcessed(1, 0));
        vm.assertTrue(bridge.isProcessed(1, 1));
        vm.assertEq(bridge.spentToday(address(0)), 1 ether);

        // Checkpoint 2 (blocks 11..20) with no withdrawals: the empty tree's root.
        submit(bridge, checkpointOf(bridge, 2, emptyRoot()), firstKeys(3));
        vm.assertEq(bridge.lastCheckpointedBlock(), 20);
        vm.assertEq(bridge.withdrawalsRoot(2), emptyRoot());
    }

    function assertEqU(uint64 a, uint64 b) internal pure {
        vm.assertEq(uint256(a), uint256(b));
    }

    // ------------------------------------------------------------------ the signature rule

    function test_BelowThresholdRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        bytes32 digest = bridge.checkpointDigest(cp);
        // 2 of 4: exactly half.
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 2, 4, THRESHOLD));
        bridge.submitCheckpoint(cp, signAll(firstKeys(2), digest));
        // 6 of 9 is exactly 2/3: not more than 2/3.
        SidechainBridge nine = deploy(9);
        cp = checkpointOf(nine, 1, emptyRoot());
        digest = nine.checkpointDigest(cp);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 6, 9, THRESHOLD));
        nine.submitCheckpoint(cp, signAll(firstKeys(6), digest));
        nine.submitCheckpoint(cp, signAll(firstKeys(7), digest));
        vm.assertEq(nine.lastCheckpoint(), 1);
    }

    function test_DuplicatedSignerRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        // Validator 0 twice plus validator 1: three signatures, two signers.
        uint256[] memory ks = pick(idx3(0, 0, 1));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.DuplicateSigner.selector, addrs[0]));
        bridge.submitCheckpoint(cp, signAll(ks, cpDigest(bridge, cp)));
    }

    function test_UnsortedSignersRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        uint256[] memory ks = pick(idx3(1, 0, 2));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.SignersNotSorted.selector, addrs[1], addrs[0]));
        bridge.submitCheckpoint(cp, signAll(ks, cpDigest(bridge, cp)));
    }

    function test_NonMemberSignerRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        // Validators 0, 1 of the set and validator 8, who is not in the 4-set.
        uint256[] memory ks = pick(idx3(0, 1, 8));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, addrs[8], uint64(1)));
        bridge.submitCheckpoint(cp, signAll(ks, cpDigest(bridge, cp)));
    }

    function test_NonCanonicalSignaturesRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        bytes32 digest = bridge.checkpointDigest(cp);
        bytes memory good = signAll(firstKeys(3), digest);
        // High s on the first signature.
        bytes memory first = new bytes(65);
        for (uint256 i = 0; i < 65; ++i) {
            first[i] = good[i];
        }
        bytes memory rest = new bytes(130);
        for (uint256 i = 0; i < 130; ++i) {
            rest[i] = good[65 + i];
        }
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignature.selector, 0));
        bridge.submitCheckpoint(cp, bytes.concat(highS(first), rest));
        // v = 0 / 1 (raw recovery ids) are refused.
        bytes memory raw = bytes.concat(good);
        raw[64] = bytes1(uint8(raw[64]) - 27);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignature.selector, 0));
        bridge.submitCheckpoint(cp, raw);
        // r = 0 recovers nothing.
        bytes memory zeroR = bytes.concat(good);
        for (uint256 i = 0; i < 32; ++i) {
            zeroR[i] = 0;
        }
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignature.selector, 0));
        bridge.submitCheckpoint(cp, zeroR);
        // Lengths that are not a multiple of 65, and none at all.
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignatures.selector, 194));
        bridge.submitCheckpoint(cp, trim(good));
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.MalformedSignatures.selector, 0));
        bridge.submitCheckpoint(cp, "");
        bridge.submitCheckpoint(cp, good);
    }

    function trim(bytes memory b) internal pure returns (bytes memory out) {
        out = new bytes(b.length - 1);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = b[i];
        }
    }

    /// @dev Ronin 2022: a key removed from the set must count for nothing at once.
    function test_RemovedSignerRefused() public {
        // Rotate from {0,1,2,3} to {0,1,2,4}: validator 3 is removed.
        address[] memory next = new address[](4);
        next[0] = addrs[0];
        next[1] = addrs[1];
        next[2] = addrs[2];
        next[3] = addrs[4];
        ValidatorSetRotation memory rot = rotationTo(bridge, next);
        bridge.rotateValidatorSet(rot, signAll(firstKeys(3), rotDigest(bridge, rot)));
        vm.assertEq(bridge.epoch(), 2);
        vm.assertEq(bridge.weightOf(addrs[3]), 0);
        vm.assertEq(bridge.weightOf(addrs[4]), 1);

        // The removed key together with two members: refused, although 3 of 4 signed.
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, addrs[3], uint64(2)));
        bridge.submitCheckpoint(cp, signAll(pick(idx3(0, 1, 3)), cpDigest(bridge, cp)));

        // A checkpoint signed by the old set for the old epoch: refused.
        Checkpoint memory old = checkpointOf(bridge, 1, emptyRoot());
        old.epoch = 1;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.WrongEpoch.selector, uint64(1), uint64(2)));
        bridge.submitCheckpoint(old, signAll(pick(idx3(1, 2, 3)), cpDigest(bridge, old)));

        // The new set (with validator 4) signs.
        submit(bridge, cp, pick(idx3(0, 2, 4)));
        vm.assertEq(bridge.lastCheckpoint(), 1);

        // The old rotation cannot be replayed.
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.WrongEpoch.selector, uint64(2), uint64(3)));
        bridge.rotateValidatorSet(rot, signAll(firstKeys(3), rotDigest(bridge, rot)));
    }

    function test_RotationBelowThresholdRefused() public {
        address[] memory next = new address[](1);
        next[0] = addrs[0];
        ValidatorSetRotation memory rot = rotationTo(bridge, next);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 2, 4, THRESHOLD));
        bridge.rotateValidatorSet(rot, signAll(firstKeys(2), rotDigest(bridge, rot)));
    }

    /// @dev Four compromised keys of nine sign neither a checkpoint nor a rotation to themselves.
    function test_FourOfNineCompromisedKeysCannotCheckpointOrRotate() public {
        SidechainBridge nine = deploy(9);
        vm.deal(address(nine), 100 ether);
        uint256[] memory attackers = new uint256[](4);
        address[] memory attackerAddrs = new address[](4);
        for (uint256 i = 0; i < 4; ++i) {
            attackers[i] = keys[2 * i + 1];
            attackerAddrs[i] = addrs[2 * i + 1];
        }
        Withdrawal memory steal = withdrawal(1, 0, address(0xBAD), address(0), 100 ether);
        (bytes32 root, bytes32[][] memory proofs) = treeOf(one(steal));
        Checkpoint memory cp = checkpointOf(nine, 1, root);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 4, 9, THRESHOLD));
        nine.submitCheckpoint(cp, signAll(attackers, cpDigest(nine, cp)));
        // Five (Ronin's threshold) is not enough either.
        uint256[] memory five = firstKeys(5);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 5, 9, THRESHOLD));
        nine.submitCheckpoint(cp, signAll(five, cpDigest(nine, cp)));

        ValidatorSetRotation memory rot = rotationTo(nine, attackerAddrs);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, 4, 9, THRESHOLD));
        nine.rotateValidatorSet(rot, signAll(attackers, rotDigest(nine, rot)));

        // Without a checkpoint the withdrawal cannot be paid.
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.CheckpointNotFound.selector, uint64(1), uint64(0)));
        nine.withdraw(steal, proofs[0]);
        vm.assertEq(address(0xBAD).balance, 0);
    }

    /// @dev Any subset of nine validators with any weights: accepted exactly when its weight is
    ///      more than 2/3 of the total (and at least the threshold), refused otherwise.
    function testFuzz_ThresholdRuleExact(uint256 mask, uint64[9] memory rawWeights) public {
        mask = bound(mask, 1, (1 << 9) - 1);
        SidechainBridge.Config memory c = config(9);
        uint256 total = 0;
        uint256 signed = 0;
        uint256 count = 0;
        for (uint256 i = 0; i < 9; ++i) {
            c.weights[i] = uint64(bound(rawWeights[i], 1, 1_000));
            total += c.weights[i];
            if (mask & (1 << i) != 0) {
                signed += c.weights[i];
                ++count;
            }
        }
        SidechainBridge nine = new SidechainBridge(c);
        uint256[] memory ks = new uint256[](count);
        uint256 j = 0;
        for (uint256 i = 0; i < 9; ++i) {
            if (mask & (1 << i) != 0) ks[j++] = keys[i];
        }
        Checkpoint memory cp = checkpointOf(nine, 1, emptyRoot());
        bytes memory sigs = signAll(ks, cpDigest(nine, cp));
        bool enough = 3 * signed > 2 * total && signed * 10_000 >= total * THRESHOLD;
        if (!enough) {
            vm.expectRevert(
                abi.encodeWithSelector(ValidatorSet.InsufficientWeight.selector, signed, total, THRESHOLD)
            );
        }
        nine.submitCheckpoint(cp, sigs);
        vm.assertEq(nine.lastCheckpoint(), enough ? 1 : 0);
    }

    // ------------------------------------------------------------------ configuration

    function test_ZeroWeightOrZeroThresholdConfigurationRefused() public {
        SidechainBridge.Config memory c = config(4);
        c.weights[2] = 0;
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ZeroWeight.selector, addrs[2]));
        new SidechainBridge(c);

        c = config(4);
        for (uint256 i = 0; i < 4; ++i) {
            c.weights[i] = 0;
        }
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ZeroWeight.selector, addrs[0]));
        new SidechainBridge(c);

        c = config(0);
        vm.expectRevert(ValidatorSet.ZeroTotalWeight.selector);
        new SidechainBridge(c);

        c = config(4);
        c.thresholdNumerator = 0;
        vm.expectRevert(ValidatorSet.ZeroThreshold.selector);
        new SidechainBridge(c);

        c.thresholdNumerator = 6_666;
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ThresholdTooLow.selector, 6_666, 6_667));
        new SidechainBridge(c);

        c.thresholdNumerator = 10_001;
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ThresholdTooHigh.selector, 10_001, 10_000));
        new SidechainBridge(c);

        c = config(4);
        (c.validators[0], c.validators[1]) = (c.validators[1], c.validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorsNotSorted.selector, 1));
        new SidechainBridge(c);

        c = config(4);
        c.validators[1] = c.validators[0];
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ValidatorsNotSorted.selector, 1));
        new SidechainBridge(c);

        c = config(4);
        c.validators[0] = address(0);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ZeroValidator.selector, 0));
        new SidechainBridge(c);

        c = config(4);
        c.weights = new uint64[](3);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.LengthMismatch.selector, 4, 3));
        new SidechainBridge(c);

        c = config(4);
        c.guardianQuorum = 0;
        vm.expectRevert(SidechainBridge.InvalidGuardians.selector);
        new SidechainBridge(c);
        c.guardianQuorum = 4;
        vm.expectRevert(SidechainBridge.InvalidGuardians.selector);
        new SidechainBridge(c);

        c = config(4);
        c.sidechainId = uint64(block.chainid);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidSidechainId.selector, uint64(block.chainid)));
        new SidechainBridge(c);
    }

    function test_RotationToZeroWeightOrZeroThresholdRefused() public {
        ValidatorSetRotation memory rot = rotationTo(bridge, new address[](0));
        vm.expectRevert(ValidatorSet.ZeroTotalWeight.selector);
        bridge.rotateValidatorSet(rot, signAll(firstKeys(3), rotDigest(bridge, rot)));

        address[] memory next = new address[](2);
        next[0] = addrs[0];
        next[1] = addrs[1];
        rot = rotationTo(bridge, next);
        rot.weights[1] = 0;
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.ZeroWeight.selector, addrs[1]));
        bridge.rotateValidatorSet(rot, signAll(firstKeys(3), rotDigest(bridge, rot)));

        rot = rotationTo(bridge, next);
        rot.thresholdNumerator = 0;
        vm.expectRevert(ValidatorSet.ZeroThreshold.selector);
        bridge.rotateValidatorSet(rot, signAll(firstKeys(3), rotDigest(bridge, rot)));
        vm.assertEq(bridge.epoch(), 1);
    }

    // ------------------------------------------------------------------ checkpoints

    function test_CheckpointRangeRules() public {
        submit(bridge, checkpointOf(bridge, 1, emptyRoot()), firstKeys(3));

        // Skipping blocks 11..20.
        Checkpoint memory skip = checkpointOf(bridge, 2, emptyRoot());
        skip.startBlock = 21;
        skip.endBlock = 30;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.RangeNotContiguous.selector, uint64(21), uint64(11)));
        submit(bridge, skip, firstKeys(3));

        // Overlapping block 10.
        Checkpoint memory overlap = checkpointOf(bridge, 2, emptyRoot());
        overlap.startBlock = 10;
        overlap.endBlock = 19;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.RangeNotContiguous.selector, uint64(10), uint64(11)));
        submit(bridge, overlap, firstKeys(3));

        // Not INTERVAL blocks long, or ending before it starts.
        Checkpoint memory longer = checkpointOf(bridge, 2, emptyRoot());
        longer.endBlock = 21;
        vm.expectRevert(
            abi.encodeWithSelector(SidechainBridge.WrongRangeLength.selector, uint64(11), uint64(21), INTERVAL)
        );
        submit(bridge, longer, firstKeys(3));
        longer.endBlock = 5;
        vm.expectRevert(
            abi.encodeWithSelector(SidechainBridge.WrongRangeLength.selector, uint64(11), uint64(5), INTERVAL)
        );
        submit(bridge, longer, firstKeys(3));

        // Replaying checkpoint 1, or jumping to 3.
        Checkpoint memory again = checkpointOf(bridge, 1, emptyRoot());
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.CheckpointOutOfOrder.selector, uint64(1), uint64(2)));
        submit(bridge, again, firstKeys(3));
        Checkpoint memory jump = checkpointOf(bridge, 3, emptyRoot());
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.CheckpointOutOfOrder.selector, uint64(3), uint64(2)));
        submit(bridge, jump, firstKeys(3));

        submit(bridge, checkpointOf(bridge, 2, emptyRoot()), firstKeys(3));
        vm.assertEq(bridge.lastCheckpointedBlock(), 20);
    }

    /// @dev Nomad: a zero root is never accepted, and no proof reaches an unset root.
    function test_ZeroRootAndEmptyProofRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, bytes32(0));
        vm.expectRevert(SidechainBridge.ZeroRoot.selector);
        submit(bridge, cp, firstKeys(3));
        cp = checkpointOf(bridge, 1, emptyRoot());
        cp.stateRoot = 0;
        vm.expectRevert(SidechainBridge.ZeroRoot.selector);
        submit(bridge, cp, firstKeys(3));
        cp = checkpointOf(bridge, 1, emptyRoot());
        cp.endBlockHash = 0;
        vm.expectRevert(SidechainBridge.ZeroRoot.selector);
        submit(bridge, cp, firstKeys(3));

        vm.deal(address(bridge), 10 ether);
        Withdrawal memory w = withdrawal(1, 0, alice, address(0), 1 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, one(w));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProofLength.selector, 0, 16));
        bridge.withdraw(w, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProofLength.selector, 15, 16));
        bridge.withdraw(w, new bytes32[](15));
        // A proof of zeros (the empty tree's siblings) reaches the empty root, not this one.
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProof.selector, uint64(1), uint64(0)));
        bridge.withdraw(w, new bytes32[](16));
        // Checkpoint 0 does not exist.
        Withdrawal memory w0 = withdrawal(0, 0, alice, address(0), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.CheckpointNotFound.selector, uint64(0), uint64(1)));
        bridge.withdraw(w0, proofs[0]);
    }

    function test_WrongEpochCheckpointRefused() public {
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        cp.epoch = 2;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.WrongEpoch.selector, uint64(2), uint64(1)));
        submit(bridge, cp, firstKeys(3));
    }

    // ------------------------------------------------------------------ replay across domains

    function test_CrossChainAndCrossContractReplayRefused() public {
        SidechainBridge twin = deploy(4); // same validators, another address
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        bytes memory sigs = signAll(firstKeys(3), cpDigest(bridge, cp));
        vm.assertTrue(bridge.checkpointDigest(cp) != twin.checkpointDigest(cp));
        vm.assertEq(cpDigest(bridge, cp), bridge.checkpointDigest(cp));
        vm.assertEq(cpDigest(twin, cp), twin.checkpointDigest(cp));

        // Another contract: the signatures recover to unrelated addresses.
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, recoverFirst(sigs, cpDigest(twin, cp)), 1)
        );
        twin.submitCheckpoint(cp, sigs);
        vm.assertEq(twin.lastCheckpoint(), 0);

        // Another L1 chain id: likewise.
        uint256 chain = block.chainid;
        svm.chainId(chain + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, recoverFirst(sigs, cpDigest(bridge, cp)), 1)
        );
        bridge.submitCheckpoint(cp, sigs);
        svm.chainId(chain);

        // Another sidechain id: refused before the signatures.
        Checkpoint memory other = checkpointOf(bridge, 1, emptyRoot());
        other.sidechainId = SIDECHAIN_ID + 1;
        vm.expectRevert(
            abi.encodeWithSelector(SidechainBridge.WrongSidechain.selector, SIDECHAIN_ID + 1, SIDECHAIN_ID)
        );
        submit(bridge, other, firstKeys(3));

        // A rotation's signatures are not a checkpoint's (different type hash).
        ValidatorSetRotation memory rot = rotationTo(bridge, addrs);
        bytes memory rotSigs = signAll(firstKeys(3), rotDigest(bridge, rot));
        vm.expectRevert(
            abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, recoverFirst(rotSigs, cpDigest(bridge, cp)), 1)
        );
        bridge.submitCheckpoint(cp, rotSigs);

        bridge.submitCheckpoint(cp, sigs);
        vm.assertEq(bridge.lastCheckpoint(), 1);
    }

    /// @dev The address the first signature of `sigs` recovers to for `digest`.
    function recoverFirst(bytes memory sigs, bytes32 digest) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(sigs, 32))
            s := mload(add(sigs, 64))
        }
        address a = ecrecover(digest, uint8(sigs[64]), r, s);
        require(a != address(0), "no recovery");
        return a;
    }

    /// @dev Signatures recover to an address that is not a validator: the exact error.
    function test_CrossContractReplayRecoversNonMember() public {
        SidechainBridge twin = deploy(4);
        Checkpoint memory cp = checkpointOf(bridge, 1, emptyRoot());
        bytes32 digest = bridge.checkpointDigest(cp);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[0], digest);
        address recovered = ecrecover(cpDigest(twin, cp), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ValidatorSet.NotAValidator.selector, recovered, uint64(1)));
        twin.submitCheckpoint(cp, abi.encodePacked(r, s, v));
    }

    // ------------------------------------------------------------------ withdrawals

    function test_ReplayedWithdrawalRefused() public {
        vm.deal(address(bridge), 10 ether);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 10 ether, 10 ether);
        Withdrawal memory w = withdrawal(1, 0, alice, address(0), 1 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, one(w));
        bridge.withdraw(w, proofs[0]);
        uint256 id = bridge.withdrawalId(1, 0);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.AlreadyProcessed.selector, id));
        bridge.withdraw(w, proofs[0]);
        // The same withdrawal with another burn hash or amount is another leaf: no proof.
        Withdrawal memory forged = withdrawal(1, 0, alice, address(0), 2 ether);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProof.selector, uint64(1), uint64(0)));
        bridge.withdraw(forged, proofs[0]);
        // Under another index (the id comes from the leaf, not the proof).
        Withdrawal memory moved = withdrawal(1, 1, alice, address(0), 1 ether);
        moved.burnTxHash = w.burnTxHash;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProof.selector, uint64(1), uint64(1)));
        bridge.withdraw(moved, proofs[0]);
        vm.assertEq(address(bridge).balance, 9 ether);
    }

    function test_WithdrawalOfBlockNotCheckpointedRefused() public {
        vm.deal(address(bridge), 10 ether);
        submit(bridge, checkpointOf(bridge, 1, emptyRoot()), firstKeys(3));
        // A withdrawal burned in block 15 belongs to checkpoint 2, which is not on L1 yet.
        Withdrawal memory w = withdrawal(2, 0, alice, address(0), 1 ether);
        (, bytes32[][] memory proofs) = treeOf(one(w));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.CheckpointNotFound.selector, uint64(2), uint64(1)));
        bridge.withdraw(w, proofs[0]);
        // Nor against checkpoint 1's root.
        Withdrawal memory w1 = withdrawal(1, 0, alice, address(0), 1 ether);
        (, proofs) = treeOf(one(w1));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InvalidProof.selector, uint64(1), uint64(0)));
        bridge.withdraw(w1, proofs[0]);
    }

    function test_WithdrawalOfUnlistedTokenOrToZeroRefused() public {
        Withdrawal memory w = withdrawal(1, 0, alice, address(0xdead), 1 ether);
        Withdrawal memory z = withdrawal(1, 1, address(0), address(0), 1 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, two(w, z));
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(0xdead)));
        bridge.withdraw(w, proofs[0]);
        vm.expectRevert(SidechainBridge.ZeroRecipient.selector);
        bridge.withdraw(z, proofs[1]);
    }

    /// @dev Above the per-transaction cap: queued; not executable before the delay; cancelled by
    ///      two of three guardians during it.
    function test_AboveCapQueuedThenCancelledByGuardians() public {
        vm.deal(address(bridge), 100 ether);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 5 ether, 20 ether);
        Withdrawal memory w = withdrawal(1, 0, alice, address(0), 6 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, one(w));
        uint256 before = alice.balance;
        (uint256 id, bool paid) = bridge.withdraw(w, proofs[0]);
        vm.assertFalse(paid);
        vm.assertEq(alice.balance, before);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.AlreadyProcessed.selector, id));
        bridge.withdraw(w, proofs[0]);

        uint64 at = uint64(block.timestamp) + DELAY;
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.DelayNotPassed.selector, id, at));
        bridge.executeQueued(id);
        vm.warp(at - 1);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.DelayNotPassed.selector, id, at));
        bridge.executeQueued(id);

        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotGuardian.selector, alice));
        vm.prank(alice);
        bridge.voteCancel(id);
        vm.prank(guardianList[0]);
        bridge.voteCancel(id);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.AlreadyVoted.selector, id, guardianList[0]));
        vm.prank(guardianList[0]);
        bridge.voteCancel(id);
        vm.assertEq(uint256(bridge.queuedWithdrawal(id).status), uint256(bridge.QUEUE_PENDING()));
        vm.expectEmit(address(bridge));
        emit SidechainBridge.WithdrawalCancelled(id);
        vm.prank(guardianList[2]);
        bridge.voteCancel(id);
        vm.assertEq(uint256(bridge.queuedWithdrawal(id).status), uint256(bridge.QUEUE_CANCELLED()));

        vm.warp(at + 1);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotQueued.selector, id));
        bridge.executeQueued(id);
        vm.assertEq(alice.balance, before);
    }

    /// @dev Above the daily cap: queued; executed by anyone after the delay; guardians too late.
    function test_AboveDailyCapQueuedThenExecutedAfterDelay() public {
        vm.deal(address(bridge), 100 ether);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 5 ether, 8 ether);
        Withdrawal memory a = withdrawal(1, 0, alice, address(0), 5 ether);
        Withdrawal memory b = withdrawal(1, 1, alice, address(0), 4 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, two(a, b));
        uint256 before = alice.balance;
        (, bool paid) = bridge.withdraw(a, proofs[0]);
        vm.assertTrue(paid);
        (uint256 id, bool paidB) = bridge.withdraw(b, proofs[1]); // 5 + 4 > 8
        vm.assertFalse(paidB);
        vm.assertEq(alice.balance, before + 5 ether);

        vm.prank(guardianList[1]);
        bridge.voteCancel(id); // one vote of two: not cancelled
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.DelayPassed.selector, id));
        vm.prank(guardianList[2]);
        bridge.voteCancel(id);

        vm.prank(bob);
        bridge.executeQueued(id);
        vm.assertEq(alice.balance, before + 9 ether);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotQueued.selector, id));
        bridge.executeQueued(id);

        // The next day, the daily cap is free again.
        Withdrawal memory c = withdrawal(2, 0, alice, address(0), 5 ether);
        proofs = checkpointWithdrawals(bridge, 2, one(c));
        (, paid) = bridge.withdraw(c, proofs[0]);
        vm.assertTrue(paid);
    }

    function test_UnconfiguredTokenAlwaysWaits() public {
        vm.prank(alice);
        bridge.depositERC20(address(token), bob, 10 ether);
        Withdrawal memory w = withdrawal(1, 0, alice, address(token), 1);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, one(w));
        (, bool paid) = bridge.withdraw(w, proofs[0]);
        vm.assertFalse(paid);
    }

    function test_LimitsOnlyByGovernor() public {
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.NotTokenGovernor.selector, alice));
        vm.prank(alice);
        bridge.setWithdrawalLimits(address(0), 1, 1);
        vm.expectRevert(SidechainBridge.InvalidLimits.selector);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 2, 1);
    }

    function test_ReentrantRecipientPaidOnce() public {
        vm.deal(address(bridge), 100 ether);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 10 ether, 100 ether);
        ReentrantRecipient attacker = new ReentrantRecipient(bridge);
        Withdrawal memory w = withdrawal(1, 0, address(attacker), address(0), 1 ether);
        Withdrawal memory big = withdrawal(1, 1, address(attacker), address(0), 20 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, two(w, big));
        (uint256 bigId,) = bridge.withdraw(big, proofs[1]);
        attacker.arm(w, proofs[0], bigId);
        vm.warp(block.timestamp + DELAY);
        bridge.withdraw(w, proofs[0]);
        vm.assertEq(attacker.received(), 1 ether);
        vm.assertEq(attacker.reentryFailures(), 2);
        bridge.executeQueued(bigId);
        vm.assertEq(attacker.received(), 21 ether);
        vm.assertEq(address(bridge).balance, 79 ether);
    }

    function test_RefusingRecipientLeavesWithdrawalUnpaid() public {
        vm.deal(address(bridge), 10 ether);
        vm.prank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 10 ether, 10 ether);
        RefusingRecipient r = new RefusingRecipient();
        Withdrawal memory w = withdrawal(1, 0, address(r), address(0), 1 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, one(w));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.EthTransferFailed.selector, address(r), 1 ether));
        bridge.withdraw(w, proofs[0]);
        vm.assertFalse(bridge.isProcessed(1, 0));
        vm.assertEq(address(bridge).balance, 10 ether);
    }

    // ------------------------------------------------------------------ deposits

    function test_DepositRefusals() public {
        vm.startPrank(alice);
        vm.expectRevert(SidechainBridge.ZeroAmount.selector);
        bridge.depositETH(bob);
        vm.expectRevert(SidechainBridge.ZeroRecipient.selector);
        bridge.depositETH{value: 1}(address(0));
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(0xdead)));
        bridge.depositERC20(address(0xdead), bob, 1);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(0)));
        bridge.depositERC20(address(0), bob, 1);
        vm.stopPrank();
    }
}
