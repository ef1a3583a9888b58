// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice A minimal base for forge tests, in place of forge-std's `Test` (see `Vm.sol` for why).
/// @dev forge runs every `test*` function of a contract that has one (fuzzing those with
///      parameters), after `setUp()` if present. A test fails when it reverts; the assertion
///      cheatcodes (`vm.assertEq`, ...) revert with a readable message.
abstract contract Test {
    /// @notice The cheatcode address: keccak256("hevm cheat code") truncated to 20 bytes.
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice Marks this contract as a test contract (kept for tools that still look for it).
    bool public IS_TEST = true;

    /// @notice Maps `x` into `[min, max]` (inclusive), keeping small inputs stable: values already
    ///         in range are returned unchanged, others wrap around modulo the range size.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @notice Deterministic filler bytes of length `size`, derived from `seed`.
    function pseudoRandomBytes(uint256 seed, uint256 size) internal pure returns (bytes memory out) {
        out = new bytes(size);
        bytes32 word;
        for (uint256 i = 0; i < size; i++) {
            if (i % 32 == 0) word = keccak256(abi.encode(seed, i));
            out[i] = word[i % 32];
        }
    }
}
