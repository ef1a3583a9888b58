// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// The withdrawal tree of a batch (docs/rollup.md): a sparse binary Merkle tree of depth 16 over
// Keccak, `hash_node(l, r) = keccak256(l ‖ r)`, whose leaf at position `i` is the batch's `i`-th
// withdrawal. At the leaf level node `i` is position `i`; the parent of nodes `2k` and `2k + 1`
// is node `k` one level up. A proof lists the 16 siblings from the leaf level up.
//
// File-level constants and free functions rather than a library: they are inlined into the
// contracts that use them and leave no artifact of their own.

/// @dev The depth of a batch's withdrawal tree.
uint256 constant WITHDRAWAL_TREE_DEPTH = 16;

/// @dev The largest leaf position of a batch's withdrawal tree (`2^16 - 1`).
uint256 constant MAX_WITHDRAWAL_LEAF_INDEX = 0xFFFF;

/// @dev The leaf of withdrawal `leafIndex` of batch `batchIndex`:
///      `keccak256(abi.encode(batchIndex, leafIndex, to, token, amount))`.
function withdrawalLeaf(uint256 batchIndex, uint256 leafIndex, address to, uint32 token, uint256 amount)
    pure
    returns (bytes32)
{
    return keccak256(abi.encode(batchIndex, leafIndex, to, token, amount));
}

/// @dev The root reached from `leaf` at position `leafIndex` with the siblings `proof` (leaf level
///      first): at level `l`, bit `l` of `leafIndex` says whether the node is the right child
///      (1: `hash(sibling ‖ node)`) or the left one (0: `hash(node ‖ sibling)`). The caller checks
///      `leafIndex` and the proof's length; bits of `leafIndex` above `proof.length` are ignored.
function withdrawalRootFromProof(bytes32 leaf, uint256 leafIndex, bytes32[] calldata proof)
    pure
    returns (bytes32 node)
{
    node = leaf;
    uint256 length = proof.length;
    for (uint256 level = 0; level < length; ++level) {
        bytes32 sibling = proof[level];
        // Hash the pair in scratch space (memory 0x00..0x3f), which needs no allocation.
        assembly ("memory-safe") {
            switch and(shr(level, leafIndex), 1)
            case 0 {
                mstore(0x00, node)
                mstore(0x20, sibling)
            }
            default {
                mstore(0x00, sibling)
                mstore(0x20, node)
            }
            node := keccak256(0x00, 0x40)
        }
    }
}
