// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// ExitPriority
// The priority of an exit in its token's queue (docs/plasma.md, "Exit ids and
//       priority"): `exitableAt << 224 | position << 160 | exitId`. Lower leaves first: by
//       exitable time, then by UTXO position (older outputs first); the exit id only makes
//       each entry unique.
// File-level definitions rather than a library, as in contracts/src/rollup/: they are inlined
// into the contracts that use them and leave no artifact of their own. Import the file as a
// namespace (`import * as ExitPriority from "./ExitPriority.sol";`) and use `ExitPriority.name`.
/// @notice Packs a priority.
/// @param at When the exit may be processed (Unix time).
/// @param position The exited output's position (an in-flight exit: its youngest input's).
/// @param id The exit id.
/// @return The priority.
function compute(uint32 at, uint64 position, uint160 id) pure returns (uint256) {
    return (uint256(at) << 224) | (uint256(position) << 160) | uint256(id);
}

/// @notice The exitable time of a priority.
/// @param priority The priority.
/// @return The time.
function exitableAt(uint256 priority) pure returns (uint32) {
    // forge-lint: disable-next-line(unsafe-typecast)
    return uint32(priority >> 224); // the top 32 bits
}

/// @notice The exit id of a priority.
/// @param priority The priority.
/// @return The id.
function exitId(uint256 priority) pure returns (uint160) {
    // forge-lint: disable-next-line(unsafe-typecast)
    return uint160(priority); // the low 160 bits
}
