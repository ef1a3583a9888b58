// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {TokenNetwork} from "../../src/channels/TokenNetwork.sol";
import {ChannelsFixture} from "./ChannelsFixture.sol";

/// @notice The L1 gas of each channel operation, logged with `forge test -vv` (docs/channels.md,
///         "Gas"). Each figure is a transaction's gas as Prague charges it: the intrinsic 21,000,
///         the calldata (`max(4 * zero + 16 * nonzero, EIP-7623 floor)`), the execution gas of
///         the call measured with `vm.lastCallGas()` with the network's storage and the
///         participants' accounts made cold first (as in a fresh transaction), less the refund
///         (at most a fifth of the total).
contract ChannelsGasTest is ChannelsFixture {
    event log_named_uint(string key, uint256 val);

    /// @dev The issue's target: opening plus cooperatively closing a channel.
    uint256 internal constant OPEN_PLUS_COOP_CLOSE_BUDGET = 200_000;

    bytes internal lastCalldata;

    function coolAll() internal {
        vm.cool(address(network));
        vm.cool(address(token));
        vm.cool(address(registry));
        vm.cool(p1);
        vm.cool(p2);
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

    function test_GasOpenDepositCooperativeCloseEth() public {
        coolAll();
        vm.prank(alice);
        (bytes32 id,) = network.openChannel(bob, address(0), TIMEOUT);
        uint256 open = txGas("openChannel (ETH)", abi.encodeCall(TokenNetwork.openChannel, (bob, address(0), TIMEOUT)));

        coolAll();
        vm.prank(p1);
        network.setTotalDeposit{value: 1 ether}(id, p1, 1 ether);
        txGas("setTotalDeposit (ETH, first)", abi.encodeCall(TokenNetwork.setTotalDeposit, (id, p1, 1 ether)));
        coolAll();
        vm.prank(p2);
        network.setTotalDeposit{value: 1 ether}(id, p2, 1 ether);
        coolAll();
        vm.prank(p1);
        network.setTotalDeposit{value: 1 ether}(id, p1, 2 ether);
        txGas("setTotalDeposit (ETH, top-up)", abi.encodeCall(TokenNetwork.setTotalDeposit, (id, p1, 2 ether)));

        bytes32 h = network.cooperativeCloseHash(id, 1, 1.5 ether, 1.5 ether);
        bytes memory s1 = sig(key1, h);
        bytes memory s2 = sig(key2, h);
        coolAll();
        vm.prank(p1);
        network.cooperativeClose(id, 1.5 ether, 1.5 ether, s1, s2);
        uint256 coop = txGas(
            "cooperativeClose (ETH)", abi.encodeCall(TokenNetwork.cooperativeClose, (id, 1.5 ether, 1.5 ether, s1, s2))
        );
        emit log_named_uint("open + cooperativeClose (ETH)", open + coop);
        vm.assertLe(open + coop, OPEN_PLUS_COOP_CLOSE_BUDGET, "open + cooperative close over budget");

        // Reopening the same pair (the pair and token are already stored).
        coolAll();
        vm.prank(alice);
        network.openChannel(bob, address(0), TIMEOUT);
        txGas("openChannel (ETH, reopen)", abi.encodeCall(TokenNetwork.openChannel, (bob, address(0), TIMEOUT)));
    }

    function test_GasOpenDepositCooperativeCloseToken() public {
        coolAll();
        vm.prank(alice);
        (bytes32 id,) = network.openChannel(bob, address(token), TIMEOUT);
        uint256 open =
            txGas("openChannel (ERC-20)", abi.encodeCall(TokenNetwork.openChannel, (bob, address(token), TIMEOUT)));
        coolAll();
        vm.prank(p1);
        network.setTotalDeposit(id, p1, 1 ether);
        txGas("setTotalDeposit (ERC-20, first)", abi.encodeCall(TokenNetwork.setTotalDeposit, (id, p1, 1 ether)));
        coolAll();
        vm.prank(p2);
        network.setTotalDeposit(id, p2, 1 ether);
        bytes32 h = network.cooperativeCloseHash(id, 1, 0.5 ether, 1.5 ether);
        bytes memory s1 = sig(key1, h);
        bytes memory s2 = sig(key2, h);
        coolAll();
        network.cooperativeClose(id, 0.5 ether, 1.5 ether, s1, s2);
        uint256 coop = txGas(
            "cooperativeClose (ERC-20)",
            abi.encodeCall(TokenNetwork.cooperativeClose, (id, 0.5 ether, 1.5 ether, s1, s2))
        );
        emit log_named_uint("open + cooperativeClose (ERC-20)", open + coop);
        vm.assertLe(open + coop, OPEN_PLUS_COOP_CLOSE_BUDGET, "open + cooperative close over budget");
    }

    function test_GasUnilateralCloseUpdateSettle() public {
        bytes32 id = openEth(5 ether, 5 ether);
        bytes32 partnerProof = bpHash(id, 3, 1 ether, 0, bytes32(0));
        bytes memory partnerSig = sig(key2, partnerProof);
        coolAll();
        vm.prank(p1);
        network.closeChannel(id, 3, 1 ether, 0, bytes32(0), partnerSig);
        uint256 closeGas = txGas(
            "closeChannel", abi.encodeCall(TokenNetwork.closeChannel, (id, 3, 1 ether, 0, bytes32(0), partnerSig))
        );
        (bytes memory closingSig, bytes memory nonClosingSig) = updateSigs(id, key1, key2, 4, 2 ether, 0, bytes32(0));
        coolAll();
        vm.prank(WATCHTOWER);
        network.updateNonClosingBalanceProof(id, p1, p2, 4, 2 ether, 0, bytes32(0), closingSig, nonClosingSig);
        uint256 updateGas = txGas(
            "updateNonClosingBalanceProof",
            abi.encodeCall(
                TokenNetwork.updateNonClosingBalanceProof,
                (id, p1, p2, 4, 2 ether, 0, bytes32(0), closingSig, nonClosingSig)
            )
        );
        vm.roll(block.number + TIMEOUT + 1);
        coolAll();
        network.settleChannel(id);
        uint256 settleGas = txGas("settleChannel", abi.encodeCall(TokenNetwork.settleChannel, (id)));
        emit log_named_uint("closeChannel + update + settleChannel", closeGas + updateGas + settleGas);
    }

    function unlockGas(uint256 count) internal returns (uint256) {
        bytes memory locks;
        uint256 total = 0;
        for (uint256 i = 0; i < count; i++) {
            locks = bytes.concat(locks, lockOf(0.1 ether, block.number + 100, bytes32(i + 1)));
            total += 0.1 ether;
            if (i % 2 == 0) registry.registerSecret(bytes32(i + 1));
        }
        bytes32 id = openEth(5 ether, 5 ether);
        close(id, p2, key1, 1, 0, total, keccak256(locks));
        vm.roll(block.number + TIMEOUT + 1);
        network.settleChannel(id);
        coolAll();
        network.unlock(id, 1, p1, p2, locks);
        return txGas(
            count == 1 ? "unlock (1 lock)" : "unlock (10 locks)",
            abi.encodeCall(TokenNetwork.unlock, (id, 1, p1, p2, locks))
        );
    }

    function test_GasUnlockOneLock() public {
        unlockGas(1);
    }

    function test_GasUnlockTenLocks() public {
        unlockGas(10);
    }

    function test_GasRegisterSecret() public {
        registry.registerSecret(bytes32(uint256(1234)));
        txGas("registerSecret", abi.encodeWithSignature("registerSecret(bytes32)", bytes32(uint256(1234))));
    }
}
