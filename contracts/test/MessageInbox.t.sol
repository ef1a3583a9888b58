// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {MessageInbox} from "../src/MessageInbox.sol";

/// @notice Tests for `MessageInbox`: the queue, the hash chain, events and custom errors.
contract MessageInboxTest is Test {
    MessageInbox internal inbox;

    uint256 internal constant MAX = 65_536;
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        inbox = new MessageInbox();
        vm.warp(1_700_000_000);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The reference hash chain step, written independently of the contract.
    function chain(bytes32 prev, address sender, uint256 value, bytes memory data, uint256 timestamp)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(prev, sender, value, keccak256(data), timestamp));
    }

    /// @dev Posts `data` as `sender` with `value` wei (funding `sender` first).
    function post(address sender, uint256 value, bytes memory data) internal returns (uint256, bytes32) {
        vm.deal(sender, value);
        vm.prank(sender);
        return inbox.postMessage{value: value}(data);
    }

    /// @dev Senders the fuzzer may pick that would not behave like an ordinary account.
    function assumeOrdinarySender(address sender) internal view {
        vm.assume(sender != address(inbox) && sender != address(vm) && sender != address(this));
    }

    // ---------------------------------------------------------------- unit tests

    function test_InitialState() public view {
        vm.assertEq(inbox.messageCount(), 0);
        vm.assertEq(inbox.accumulator(), bytes32(0));
        vm.assertEq(inbox.maxMessageSize(), MAX);
    }

    function test_FirstMessageChainsFromZero() public {
        (uint256 index, bytes32 acc) = post(ALICE, 1 ether, hex"c0ffee");
        vm.assertEq(index, 0);
        vm.assertEq(acc, chain(bytes32(0), ALICE, 1 ether, hex"c0ffee", 1_700_000_000));
        vm.assertEq(inbox.messageCount(), 1);
        vm.assertEq(inbox.accumulatorAt(0), acc);
        vm.assertEq(inbox.accumulator(), acc);
        vm.assertEq(address(inbox).balance, 1 ether);
    }

    function test_IndicesAreSequentialAndHistoryIsKept() public {
        (uint256 i0, bytes32 a0) = post(ALICE, 0, hex"01");
        vm.warp(1_700_000_012);
        (uint256 i1, bytes32 a1) = post(BOB, 7, hex"0202");
        (uint256 i2, bytes32 a2) = post(ALICE, 0, hex"030303");

        vm.assertEq(i0, 0);
        vm.assertEq(i1, 1);
        vm.assertEq(i2, 2);
        vm.assertEq(a1, chain(a0, BOB, 7, hex"0202", 1_700_000_012));
        vm.assertEq(a2, chain(a1, ALICE, 0, hex"030303", 1_700_000_012));
        vm.assertEq(inbox.accumulatorAt(0), a0);
        vm.assertEq(inbox.accumulatorAt(1), a1);
        vm.assertEq(inbox.accumulatorAt(2), a2);
        vm.assertEq(inbox.accumulator(), a2);
        vm.assertEq(inbox.messageCount(), 3);
    }

    function test_IdenticalMessagesGetDistinctAccumulators() public {
        (, bytes32 a0) = post(ALICE, 0, hex"aa");
        (, bytes32 a1) = post(ALICE, 0, hex"aa");
        vm.assertNotEq(a0, a1);
    }

    function test_EmptyMessageReverts() public {
        vm.expectRevert(abi.encodeWithSelector(MessageInbox.EmptyMessage.selector));
        inbox.postMessage("");
        vm.assertEq(inbox.messageCount(), 0);
    }

    function test_MaxSizeMessageIsAccepted() public {
        (uint256 index,) = post(ALICE, 0, new bytes(MAX));
        vm.assertEq(index, 0);
    }

    function test_OneByteOverMaxReverts() public {
        vm.expectRevert(abi.encodeWithSelector(MessageInbox.MessageTooLarge.selector, MAX + 1, MAX));
        inbox.postMessage(new bytes(MAX + 1));
    }

    function test_AccumulatorAtOnEmptyInboxReverts() public {
        vm.expectRevert(abi.encodeWithSelector(MessageInbox.IndexOutOfRange.selector, 0, 0));
        inbox.accumulatorAt(0);
    }

    function test_PlainEtherTransferIsRejected() public {
        vm.deal(ALICE, 1 ether);
        vm.prank(ALICE);
        (bool ok,) = address(inbox).call{value: 1 ether}("");
        vm.assertFalse(ok);
        vm.assertEq(address(inbox).balance, 0);
    }

    // ---------------------------------------------------------------- fuzz tests

    /// The contract's hash chain matches a re-computation over random senders, values, payloads
    /// and timestamps.
    function testFuzz_HashChainMatchesRecomputation(
        address[4] calldata senders,
        uint96[4] calldata values,
        bytes[4] calldata payloads,
        uint32[4] calldata timeSteps
    ) public {
        bytes32 expected = bytes32(0);
        uint256 total = 0;
        for (uint256 i = 0; i < 4; i++) {
            assumeOrdinarySender(senders[i]);
            vm.assume(payloads[i].length <= MAX);
            // An empty payload is rejected (tested elsewhere): post a one-byte message instead.
            bytes memory data = payloads[i].length == 0 ? abi.encodePacked(uint8(i)) : payloads[i];

            vm.warp(block.timestamp + timeSteps[i]);
            (uint256 index, bytes32 acc) = post(senders[i], values[i], data);

            expected = chain(expected, senders[i], values[i], data, block.timestamp);
            total += values[i];
            vm.assertEq(index, i);
            vm.assertEq(acc, expected, "returned accumulator");
            vm.assertEq(inbox.accumulatorAt(i), expected, "stored accumulator");
        }
        vm.assertEq(inbox.messageCount(), 4);
        vm.assertEq(inbox.accumulator(), expected);
        vm.assertEq(address(inbox).balance, total);
    }

    /// Payloads over the limit revert with `MessageTooLarge(size, max)`, exactly.
    function testFuzz_TooLargeMessageRevertsWithExactError(uint256 sizeSeed, uint256 value) public {
        uint256 size = bound(sizeSeed, MAX + 1, MAX + 4096);
        value = bound(value, 0, 100 ether);
        bytes memory data = new bytes(size);
        data[size - 1] = 0x01;

        vm.deal(ALICE, value);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(MessageInbox.MessageTooLarge.selector, size, MAX));
        inbox.postMessage{value: value}(data);

        vm.assertEq(inbox.messageCount(), 0);
        vm.assertEq(address(inbox).balance, 0);
    }

    /// `MessagePosted` carries the index and sender as topics and the value, payload and new
    /// accumulator as data.
    function testFuzz_EmitsMessagePosted(address sender, uint96 value, bytes calldata payload, uint8 before) public {
        assumeOrdinarySender(sender);
        vm.assume(payload.length > 0 && payload.length <= MAX);
        before = uint8(bound(before, 0, 5));
        for (uint256 i = 0; i < before; i++) {
            post(BOB, 0, hex"00");
        }
        bytes32 expectedAcc = chain(inbox.accumulator(), sender, value, payload, block.timestamp);

        // Through forge's event matching...
        vm.expectEmit(true, true, true, true, address(inbox));
        emit MessageInbox.MessagePosted(before, sender, value, payload, expectedAcc);
        post(sender, value, payload);

        // ...and field by field from the raw log.
        vm.recordLogs();
        bytes32 nextAcc = chain(expectedAcc, sender, value, payload, block.timestamp);
        post(sender, value, payload);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1);
        vm.assertEq(logs[0].emitter, address(inbox));
        vm.assertEq(logs[0].topics.length, 3);
        vm.assertEq(logs[0].topics[0], keccak256("MessagePosted(uint256,address,uint256,bytes,bytes32)"));
        vm.assertEq(logs[0].topics[0], MessageInbox.MessagePosted.selector);
        vm.assertEq(uint256(logs[0].topics[1]), uint256(before) + 1);
        vm.assertEq(logs[0].topics[2], bytes32(uint256(uint160(sender))));
        (uint256 loggedValue, bytes memory loggedData, bytes32 loggedAcc) =
            abi.decode(logs[0].data, (uint256, bytes, bytes32));
        vm.assertEq(loggedValue, value);
        vm.assertEq(loggedData, payload);
        vm.assertEq(loggedAcc, nextAcc);
    }

    /// Indices at or past the end revert with `IndexOutOfRange(index, count)`; those before it do not.
    function testFuzz_AccumulatorAtRange(uint8 count, uint256 index) public {
        count = uint8(bound(count, 0, 8));
        for (uint256 i = 0; i < count; i++) {
            post(ALICE, i, abi.encodePacked(i));
        }
        if (index < count) {
            vm.assertNotEq(inbox.accumulatorAt(index), bytes32(0));
        } else {
            vm.expectRevert(abi.encodeWithSelector(MessageInbox.IndexOutOfRange.selector, index, uint256(count)));
            inbox.accumulatorAt(index);
        }
    }
}
