// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title MessageInbox
/// @author ply
/// @notice An L1 inbox for messages to the ply L2: anyone appends a message (a non-empty byte
///         payload, optionally with ETH), and the inbox keeps them as an ordered queue.
/// @dev Message `i` (0-based) extends a running hash chain, starting from `bytes32(0)`:
///
///          acc[i] = keccak256(abi.encode(acc[i - 1], sender, value, keccak256(data), timestamp))
///
///      where `sender` is `msg.sender`, `value` is `msg.value` and `timestamp` is `block.timestamp`
///      of the posting transaction. The L2 can then commit to "every message up to index i" with
///      the single word `acc[i]`, and anyone can re-derive it from the `MessagePosted` logs (the
///      timestamp is the timestamp of the block holding the log).
///
///      ETH sent with messages stays in this contract: this inbox is a first stand-in that the
///      rollup bridge will replace, and it has no withdrawal path.
contract MessageInbox {
    /// @notice The largest accepted payload, in bytes.
    uint256 internal constant MAX_MESSAGE_SIZE = 65_536;

    /// @dev `_accumulators[i]` is the hash chain value after message `i` was appended.
    bytes32[] private _accumulators;

    /// @notice Emitted once per appended message.
    /// @param index The message's position in the queue (0-based, consecutive).
    /// @param sender The account that posted it (`msg.sender`).
    /// @param value The ETH (in wei) sent with it.
    /// @param data The payload.
    /// @param acc The hash chain value after appending this message.
    event MessagePosted(uint256 indexed index, address indexed sender, uint256 value, bytes data, bytes32 acc);

    /// @notice The payload was empty; messages must carry at least one byte.
    error EmptyMessage();

    /// @notice The payload was larger than `maxMessageSize()`.
    /// @param size The payload's size in bytes.
    /// @param max The largest accepted size in bytes.
    error MessageTooLarge(uint256 size, uint256 max);

    /// @notice There is no message at `index`.
    /// @param index The requested index.
    /// @param count The number of messages in the queue.
    error IndexOutOfRange(uint256 index, uint256 count);

    /// @notice Appends a message to the queue. Any ETH sent along is recorded as the message's value.
    /// @param data The payload: at least 1 and at most `maxMessageSize()` bytes.
    /// @return index The message's position in the queue.
    /// @return acc The hash chain value after appending it.
    function postMessage(bytes calldata data) external payable returns (uint256 index, bytes32 acc) {
        uint256 size = data.length;
        if (size == 0) revert EmptyMessage();
        if (size > MAX_MESSAGE_SIZE) revert MessageTooLarge(size, MAX_MESSAGE_SIZE);

        index = _accumulators.length;
        bytes32 prev = index == 0 ? bytes32(0) : _accumulators[index - 1];
        acc = keccak256(abi.encode(prev, msg.sender, msg.value, keccak256(data), block.timestamp));
        _accumulators.push(acc);

        emit MessagePosted(index, msg.sender, msg.value, data, acc);
    }

    /// @notice The number of messages posted so far; the next message gets this index.
    /// @return The queue length.
    function messageCount() external view returns (uint256) {
        return _accumulators.length;
    }

    /// @notice The hash chain value after message `index` was appended.
    /// @dev Reverts with `IndexOutOfRange` when `index >= messageCount()`.
    /// @param index A message index.
    /// @return The accumulator covering messages `0..=index`.
    function accumulatorAt(uint256 index) external view returns (bytes32) {
        uint256 count = _accumulators.length;
        if (index >= count) revert IndexOutOfRange(index, count);
        return _accumulators[index];
    }

    /// @notice The hash chain value covering every message posted so far (`bytes32(0)` when empty).
    /// @return The latest accumulator.
    function accumulator() external view returns (bytes32) {
        uint256 count = _accumulators.length;
        return count == 0 ? bytes32(0) : _accumulators[count - 1];
    }

    /// @notice The largest accepted payload, in bytes.
    /// @return The limit (65536).
    function maxMessageSize() external pure returns (uint256) {
        return MAX_MESSAGE_SIZE;
    }
}
