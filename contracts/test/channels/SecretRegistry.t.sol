// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {SecretRegistry} from "../../src/channels/SecretRegistry.sol";

/// @notice The secret registry: first registration wins, batches, the reveal event.
contract SecretRegistryTest is Test {
    SecretRegistry internal registry;

    function setUp() public {
        registry = new SecretRegistry();
    }

    function test_FirstRegistrationWins() public {
        bytes32 secret = keccak256("s");
        bytes32 secrethash = keccak256(abi.encodePacked(secret));
        vm.assertEq(registry.getSecretRevealBlockHeight(secrethash), 0);
        vm.roll(100);
        vm.expectEmit(address(registry));
        emit SecretRegistry.SecretRevealed(secrethash, secret);
        vm.assertTrue(registry.registerSecret(secret));
        vm.roll(200);
        vm.assertFalse(registry.registerSecret(secret));
        vm.assertEq(registry.getSecretRevealBlockHeight(secrethash), 100);
    }

    function test_Batch() public {
        vm.roll(7);
        registry.registerSecret(bytes32(uint256(2)));
        bytes32[] memory secrets = new bytes32[](3);
        secrets[0] = bytes32(uint256(1));
        secrets[1] = bytes32(uint256(2));
        secrets[2] = bytes32(uint256(3));
        vm.roll(9);
        vm.assertFalse(registry.registerSecretBatch(secrets));
        vm.assertEq(registry.getSecretRevealBlockHeight(keccak256(abi.encodePacked(bytes32(uint256(1))))), 9);
        vm.assertEq(registry.getSecretRevealBlockHeight(keccak256(abi.encodePacked(bytes32(uint256(2))))), 7);
        vm.assertEq(registry.getSecretRevealBlockHeight(keccak256(abi.encodePacked(bytes32(uint256(3))))), 9);
        bytes32[] memory fresh = new bytes32[](1);
        fresh[0] = bytes32(uint256(4));
        vm.assertTrue(registry.registerSecretBatch(fresh));
    }
}
