// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// Compressed Merkle proofs of the binary Keccak trees of docs/rollup.md ("The one-step witness"):
// the siblings that are empty subtrees are left out and a bitmap says which ones are given. A
// proof of the depth-160 address tree of a sparse state holds a handful of hashes, not 160.
//
// Tree positions as everywhere in docs/rollup.md: at level `l` bit `l` of the position says
// whether the node is the right child (`hash(sibling ‖ node)`) or the left one.

/// @dev A compressed proof: bit `l` of `bitmap` set means `siblings[k++]` is the level-`l`
///      sibling; clear means the empty subtree of level `l` (`empty[l]`).
struct SparseProof {
    uint256 bitmap;
    bytes32[] siblings;
}

/// @notice The proof's bitmap has bits at or above the tree's depth, or does not match the
///         number of siblings given.
/// @param depth The tree's depth.
/// @param bitmap The bitmap given.
/// @param siblings The number of siblings given.
error MalformedSparseProof(uint256 depth, uint256 bitmap, uint256 siblings);

/// @notice A position beyond the tree.
/// @param position The position.
/// @param depth The tree's depth.
error PositionOutOfTree(uint256 position, uint256 depth);

/// @dev `empties[l]` = the root of an empty subtree of height `l`, for `l = 0 ..= depth`
///      (`empty[0] = 0`, `empty[l + 1] = keccak256(empty[l] ‖ empty[l])`).
function emptySubtrees(uint256 depth) pure returns (bytes32[] memory empties) {
    empties = new bytes32[](depth + 1);
    assembly ("memory-safe") {
        let node := 0
        let p := add(empties, 0x20)
        for { let l := 1 } iszero(gt(l, depth)) { l := add(l, 1) } {
            mstore(0x00, node)
            mstore(0x20, node)
            node := keccak256(0x00, 0x40)
            mstore(add(p, shl(5, l)), node)
        }
    }
}

/// @dev The root of a depth-`depth` tree (`depth <= empties.length - 1`) reached from `leaf` at
///      `position` with the compressed `proof`. Reverts on a malformed proof or position.
function sparseRoot(bytes32 leaf, uint256 position, uint256 depth, SparseProof calldata proof, bytes32[] memory empties)
    pure
    returns (bytes32 node)
{
    uint256 bitmap = proof.bitmap;
    if (depth < 256 && position >> depth != 0) revert PositionOutOfTree(position, depth);
    if (depth < 256 && bitmap >> depth != 0) revert MalformedSparseProof(depth, bitmap, proof.siblings.length);
    bytes32[] calldata siblings = proof.siblings;
    uint256 k = 0;
    uint256 count = siblings.length;
    node = leaf;
    for (uint256 l = 0; l < depth; ++l) {
        bytes32 sibling;
        if ((bitmap >> l) & 1 == 1) {
            if (k == count) revert MalformedSparseProof(depth, bitmap, count);
            sibling = siblings[k];
            ++k;
        } else {
            sibling = empties[l];
        }
        assembly ("memory-safe") {
            switch and(shr(l, position), 1)
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
    if (k != count) revert MalformedSparseProof(depth, bitmap, count);
}
