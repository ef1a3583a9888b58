// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// PriorityQueue
// A binary min-heap of `uint256` priorities in storage (OMG's `PriorityQueue`, as a
//       library over one array). `insert` and `pop` cost `O(log n)` storage accesses.
// File-level definitions rather than a library, as in contracts/src/rollup/: they are inlined
// into the contracts that use them and leave no artifact of their own. Import the file as a
// namespace (`import * as PriorityQueue from "./PriorityQueue.sol";`) and use `PriorityQueue.name`.
/// @notice The heap: `items[0]` is the minimum; the children of `i` are `2i+1` and `2i+2`.
struct Heap {
    uint256[] items;
}

/// @notice The heap is empty.
error QueueIsEmpty();

/// @notice Adds a priority.
/// @param h The heap.
/// @param value The priority.
function insert(Heap storage h, uint256 value) {
    uint256[] storage a = h.items;
    a.push(value);
    uint256 i = a.length - 1;
    while (i > 0) {
        uint256 parent = (i - 1) / 2;
        uint256 p = a[parent];
        if (p <= value) break;
        a[i] = p;
        i = parent;
    }
    a[i] = value;
}

/// @notice The smallest priority; reverts with `QueueIsEmpty` on an empty heap.
/// @param h The heap.
/// @return The minimum.
function min(Heap storage h) view returns (uint256) {
    if (h.items.length == 0) revert QueueIsEmpty();
    return h.items[0];
}

/// @notice Removes and returns the smallest priority; reverts with `QueueIsEmpty` on an
///         empty heap.
/// @param h The heap.
/// @return top The minimum.
function pop(Heap storage h) returns (uint256 top) {
    uint256[] storage a = h.items;
    uint256 n = a.length;
    if (n == 0) revert QueueIsEmpty();
    top = a[0];
    uint256 last = a[n - 1];
    a.pop();
    n -= 1;
    if (n == 0) return top;
    uint256 i = 0;
    while (true) {
        uint256 child = 2 * i + 1;
        if (child >= n) break;
        uint256 c = a[child];
        if (child + 1 < n) {
            uint256 r = a[child + 1];
            if (r < c) {
                child += 1;
                c = r;
            }
        }
        if (last <= c) break;
        a[i] = c;
        i = child;
    }
    a[i] = last;
}

/// @notice The number of priorities in the heap.
/// @param h The heap.
/// @return The size.
function size(Heap storage h) view returns (uint256) {
    return h.items.length;
}
