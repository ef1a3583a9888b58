// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {Checkpoint, Withdrawal} from "../../src/sidechain/SidechainMessages.sol";
import {SidechainFixture} from "./SidechainFixture.sol";

/// @notice The L1 gas of the bridge's operations, logged with `forge test -vv` (docs/sidechain.md,
///         "Gas"). Each figure is a transaction's gas as Prague charges it: the intrinsic 21,000,
///         the calldata (`max(4 * zero + 16 * nonzero, EIP-7623 floor)`), the execution gas of the
///         call measured with `vm.lastCallGas()` with the bridge, the token and the accounts made
///         cold first (as in a fresh transaction), less the refund (at most a fifth).
///         Checkpoints are measured in the steady state (the second checkpoint: its counters are
///         non-zero already), signed by the smallest quorum (3 of 4, 7 of 9).
contract SidechainGasTest is SidechainFixture {
    event log_named_uint(string key, uint256 val);

    /// @dev Upper bounds, so that a regression fails the test (the figures are well below).
    uint256 internal constant CHECKPOINT_4_BUDGET = 95_000;
    uint256 internal constant CHECKPOINT_9_BUDGET = 140_000;
    uint256 internal constant WITHDRAW_BUDGET = 130_000;
    uint256 internal constant DEPOSIT_BUDGET = 80_000;

    function coolAll(SidechainBridge b) internal {
        vm.cool(address(b));
        vm.cool(address(token));
        vm.cool(alice);
        vm.cool(bob);
    }

    /// @dev The transaction gas of the last call, whose calldata is `data`.
    function txGas(string memory what, bytes memory data) internal returns (uint256 total) {
        Vm.Gas memory gas = vm.lastCallGas();
        uint256 zeros = 0;
        for (uint256 i = 0; i < data.length; i++) {
            if (data[i] == 0) zeros++;
        }
        uint256 nonzeros = data.length - zeros;
        uint256 standard = 21_000 + 4 * zeros + 16 * nonzeros + gas.gasTotalUsed;
        uint256 refund = gas.gasRefunded > 0 ? uint256(int256(gas.gasRefunded)) : 0;
        if (refund > standard / 5) refund = standard / 5;
        total = standard - refund;
        uint256 floor = 21_000 + 10 * (zeros + 4 * nonzeros);
        if (total < floor) total = floor;
        emit log_named_uint(what, total);
    }

    function checkpointGas(uint256 n, uint256 quorum, string memory what) internal returns (uint256) {
        SidechainBridge b = n == 4 ? bridge : deploy(n);
        submit(b, checkpointOf(b, 1, emptyRoot()), firstKeys(quorum));
        Checkpoint memory cp = checkpointOf(b, 2, keccak256("some withdrawals root"));
        bytes memory sigs = signAll(firstKeys(quorum), cpDigest(b, cp));
        coolAll(b);
        b.submitCheckpoint(cp, sigs);
        return txGas(what, abi.encodeCall(SidechainBridge.submitCheckpoint, (cp, sigs)));
    }

    function test_GasCheckpoint4Validators() public {
        vm.assertLe(checkpointGas(4, 3, "submitCheckpoint, 4 validators (3 signatures)"), CHECKPOINT_4_BUDGET);
    }

    function test_GasCheckpoint9Validators() public {
        vm.assertLe(checkpointGas(9, 7, "submitCheckpoint, 9 validators (7 signatures)"), CHECKPOINT_9_BUDGET);
    }

    function test_GasDeposits() public {
        // A first deposit sets the counter from zero; measure the second of each kind.
        vm.prank(alice);
        bridge.depositETH{value: 1 ether}(bob);
        coolAll(bridge);
        vm.prank(alice);
        bridge.depositETH{value: 1 ether}(bob);
        vm.assertLe(txGas("depositETH", abi.encodeCall(SidechainBridge.depositETH, (bob))), DEPOSIT_BUDGET);

        vm.prank(alice);
        bridge.depositERC20(address(token), bob, 1 ether);
        coolAll(bridge);
        vm.prank(alice);
        bridge.depositERC20(address(token), bob, 1 ether);
        vm.assertLe(
            txGas("depositERC20", abi.encodeCall(SidechainBridge.depositERC20, (address(token), bob, 1 ether))),
            DEPOSIT_BUDGET
        );
    }

    function test_GasWithdrawals() public {
        vm.prank(alice);
        bridge.depositETH{value: 10 ether}(bob);
        vm.prank(alice);
        bridge.depositERC20(address(token), bob, 10 ether);
        vm.startPrank(GOVERNOR);
        bridge.setWithdrawalLimits(address(0), 5 ether, 100 ether);
        bridge.setWithdrawalLimits(address(token), 5 ether, 100 ether);
        vm.stopPrank();

        Withdrawal[] memory ws = new Withdrawal[](4);
        ws[0] = withdrawal(1, 0, bob, address(0), 1 ether);
        ws[1] = withdrawal(1, 1, bob, address(token), 1 ether);
        ws[2] = withdrawal(1, 2, bob, address(0), 6 ether);
        ws[3] = withdrawal(1, 3, bob, address(0), 1 ether);
        bytes32[][] memory proofs = checkpointWithdrawals(bridge, 1, ws);
        // Warm the daily counter the way an earlier withdrawal of the day would have.
        bridge.withdraw(ws[3], proofs[3]);

        coolAll(bridge);
        bridge.withdraw(ws[0], proofs[0]);
        vm.assertLe(
            txGas("withdraw (ETH, paid at once)", abi.encodeCall(SidechainBridge.withdraw, (ws[0], proofs[0]))),
            WITHDRAW_BUDGET
        );

        coolAll(bridge);
        bridge.withdraw(ws[1], proofs[1]);
        vm.assertLe(
            txGas("withdraw (ERC-20, first of the day)", abi.encodeCall(SidechainBridge.withdraw, (ws[1], proofs[1]))),
            WITHDRAW_BUDGET
        );

        coolAll(bridge);
        (uint256 id,) = bridge.withdraw(ws[2], proofs[2]);
        vm.assertLe(
            txGas("withdraw (ETH, above the cap: queued)", abi.encodeCall(SidechainBridge.withdraw, (ws[2], proofs[2]))),
            WITHDRAW_BUDGET + 50_000
        );

        vm.warp(block.timestamp + DELAY);
        coolAll(bridge);
        bridge.executeQueued(id);
        vm.assertLe(txGas("executeQueued (ETH)", abi.encodeCall(SidechainBridge.executeQueued, (id))), WITHDRAW_BUDGET);
    }
}
