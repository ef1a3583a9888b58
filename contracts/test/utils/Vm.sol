// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title Vm
/// @notice The subset of Foundry's cheatcodes that ply's tests use.
/// @dev forge-std cannot be fetched in every environment ply is built in (it lives on GitHub, and
///      the npm package of that name is an unofficial, incomplete copy), so ply carries this minimal
///      interface instead. Cheatcodes are matched by selector, so every signature here must be
///      spelled exactly as in Foundry's `Vm.sol`. Add cheatcodes as tests need them.
interface Vm {
    /// @notice A log captured by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /// @notice Gas figures of a call, from the callee's perspective (see `lastCallGas`).
    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    // ---- environment ----

    /// @notice Sets the balance of `account` to `newBalance`.
    function deal(address account, uint256 newBalance) external;
    /// @notice Sets `block.timestamp`.
    function warp(uint256 newTimestamp) external;
    /// @notice Sets `block.number`.
    function roll(uint256 newHeight) external;
    /// @notice Makes the next call come from `msgSender`.
    function prank(address msgSender) external;
    /// @notice Makes the next call come from `msgSender` with `tx.origin` set to `txOrigin`.
    function prank(address msgSender, address txOrigin) external;
    /// @notice Makes all following calls come from `msgSender` until `stopPrank`.
    function startPrank(address msgSender) external;
    /// @notice Ends a `startPrank`.
    function stopPrank() external;
    /// @notice Returns the address of the private key `privateKey`.
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    /// @notice Names an address in traces.
    function label(address account, string calldata newLabel) external;
    /// @notice Marks every storage slot of `target` cold (unaccessed), as at the start of a
    ///         transaction.
    function cool(address target) external;
    /// @notice Signs `digest` (raw, no prefix) with secp256k1 key `privateKey`.
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    // ---- gas ----

    /// @notice The gas figures of the last call made by the test (callee perspective: the gas the
    ///         called frame used, without the caller's call overhead or the transaction's
    ///         intrinsic cost).
    function lastCallGas() external view returns (Gas memory gas);

    /// @notice Takes a snapshot of the whole state; returns its id.
    function snapshotState() external returns (uint256 snapshotId);
    /// @notice Restores the state of snapshot `snapshotId`.
    function revertToState(uint256 snapshotId) external returns (bool success);

    // ---- fuzzing ----

    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;

    // ---- expectations ----

    /// @notice Expects the next call to revert (with any data).
    function expectRevert() external;
    /// @notice Expects the next call to revert with data starting with the selector `revertData`.
    function expectRevert(bytes4 revertData) external;
    /// @notice Expects the next call to revert with exactly `revertData`.
    function expectRevert(bytes calldata revertData) external;
    /// @notice Expects the next emitted event to match the one emitted next in the test, comparing
    ///         all topics and the data.
    function expectEmit() external;
    /// @notice Like `expectEmit()`, also checking that the event comes from `emitter`.
    function expectEmit(address emitter) external;
    /// @notice Like `expectEmit()`, choosing which topics and whether the data are compared, and
    ///         checking the emitter.
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    /// @notice Starts recording emitted logs.
    function recordLogs() external;
    /// @notice Returns (and clears) the logs recorded since `recordLogs`.
    function getRecordedLogs() external returns (Log[] memory logs);

    // ---- assertions (revert with a descriptive message when they fail) ----

    /// @notice Fails unless `condition` holds.
    function assertTrue(bool condition) external pure;
    /// @notice Fails unless `condition` holds, with `error` in the message.
    function assertTrue(bool condition, string calldata error) external pure;
    /// @notice Fails if `condition` holds.
    function assertFalse(bool condition) external pure;
    /// @notice Fails with `error` unless `condition` is false.
    function assertFalse(bool condition, string calldata error) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(bool left, bool right) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(uint256 left, uint256 right) external pure;
    /// @notice Fails unless `left == right`, with `error` in the message.
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(address left, address right) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(bytes32 left, bytes32 right) external pure;
    /// @notice Fails unless `left == right`, with `error` in the message.
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(bytes calldata left, bytes calldata right) external pure;
    /// @notice Fails unless `left == right`.
    function assertEq(bytes32[] calldata left, bytes32[] calldata right) external pure;
    /// @notice Fails unless `left != right`.
    function assertNotEq(bytes32 left, bytes32 right) external pure;
    /// @notice Fails unless `left <= right`.
    function assertLe(uint256 left, uint256 right) external pure;
    /// @notice Fails unless `left <= right`, with `error` in the message.
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    /// @notice Fails unless `left > right`.
    function assertGt(uint256 left, uint256 right) external pure;
}
