// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {withdrawalRootFromProof} from "./WithdrawalTree.sol";

// The batch data commitment, version 2 (docs/rollup.md, "Batch data commitment"): `data` is cut
// into 1,024-byte chunks (the last one shorter), `leaf_i = keccak256(chunk_i)`, and `dataRoot` is
// the root of the binary Keccak tree over the leaves padded with zero leaves to the next power of
// two (depth `ceil(log2(chunks))`, 0 for one chunk; `bytes32(0)` for empty data). A one-step proof
// then reads a transaction from one or two chunks with a short Merkle proof each, instead of the
// whole batch.

/// @dev The size of a batch data chunk, in bytes.
uint256 constant CHUNK_SIZE = 1024;

/// @dev The number of chunks of `dataLength` bytes of batch data.
function chunkCount(uint256 dataLength) pure returns (uint256) {
    return (dataLength + CHUNK_SIZE - 1) / CHUNK_SIZE;
}

/// @dev The depth of the chunk tree of `chunks` chunks: `ceil(log2(chunks))`, 0 for 0 or 1.
function chunkTreeDepth(uint256 chunks) pure returns (uint256 depth) {
    while ((uint256(1) << depth) < chunks) ++depth;
}

/// @dev The data root of `data`. Each chunk is copied into one reused 1,024-byte scratch buffer
///      and hashed there (the data is never copied to memory as a whole, whose expansion cost
///      grows quadratically); the leaves are then folded level by level in place.
function batchDataRoot(bytes calldata data) pure returns (bytes32 root) {
    uint256 length = data.length;
    uint256 chunks = chunkCount(length);
    if (chunks == 0) return bytes32(0);
    bytes32[] memory nodes = new bytes32[](chunks);
    assembly ("memory-safe") {
        let buffer := mload(0x40)
        // The buffer is scratch: the free memory pointer is not moved, nothing else is allocated
        // while it is in use.
        let leaves := add(nodes, 0x20)
        for { let i := 0 } lt(i, chunks) { i := add(i, 1) } {
            let offset := mul(i, 1024)
            let size := sub(length, offset)
            if gt(size, 1024) { size := 1024 }
            calldatacopy(buffer, add(data.offset, offset), size)
            mstore(add(leaves, shl(5, i)), keccak256(buffer, size))
        }
        // Fold: n nodes at this level; an odd last node pairs with the empty subtree of its level.
        let n := chunks
        let empty := 0
        for {} gt(n, 1) {} {
            let half := shr(1, n)
            for { let j := 0 } lt(j, half) { j := add(j, 1) } {
                mstore(add(leaves, shl(5, j)), keccak256(add(leaves, shl(6, j)), 0x40))
            }
            if and(n, 1) {
                mstore(0x00, mload(add(leaves, shl(5, sub(n, 1)))))
                mstore(0x20, empty)
                mstore(add(leaves, shl(5, half)), keccak256(0x00, 0x40))
                half := add(half, 1)
            }
            mstore(0x00, empty)
            mstore(0x20, empty)
            empty := keccak256(0x00, 0x40)
            n := half
        }
        root := mload(leaves)
    }
}

/// @dev The root reached from the chunk leaf `leaf` at `index` with the plain siblings `proof`
///      (leaf level first): the chunk tree hashes pairs as the withdrawal tree does, so the
///      withdrawal tree's walk serves both.
function chunkRootFromProof(bytes32 leaf, uint256 index, bytes32[] calldata proof) pure returns (bytes32) {
    return withdrawalRootFromProof(leaf, index, proof);
}
