// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// PlasmaMerkle
// The block tree of the plasma chain (docs/plasma.md, "Blocks and inclusion proofs"): a
//       binary Keccak Merkle tree of fixed depth 16 whose leaf `i` is the hash of transaction
//       `i` and whose padding leaves are zero.
// A proof is exactly 16 sibling hashes (512 bytes), leaf level first; bit `l` of the index
//    says whether the node at level `l` is a right child. Any other length is refused, so one
//    leaf has one proof shape and nothing a caller encodes can change what is proven.
// File-level definitions rather than a library, as in contracts/src/rollup/: they are inlined
// into the contracts that use them and leave no artifact of their own. Import the file as a
// namespace (`import * as PlasmaMerkle from "./PlasmaMerkle.sol";`) and use `PlasmaMerkle.name`.
/// @dev The depth of a block tree.
uint256 constant DEPTH = 16;
/// @dev The length of an inclusion proof in bytes.
uint256 constant PROOF_LENGTH = 32 * DEPTH;

/// @notice A proof is not 512 bytes.
/// @param length Its length.
error MalformedProof(uint256 length);

/// @notice The root of the tree in which `leaf` sits at `index` with siblings `proof`.
/// @param leaf The leaf (a transaction hash).
/// @param index Its index, below `2^16`.
/// @param proof The 16 siblings, 512 bytes.
/// @return node The root.
function rootFrom(bytes32 leaf, uint256 index, bytes memory proof) pure returns (bytes32 node) {
    if (proof.length != PROOF_LENGTH) revert MalformedProof(proof.length);
    node = leaf;
    for (uint256 l = 0; l < DEPTH; l++) {
        bytes32 sibling;
        assembly ("memory-safe") {
            sibling := mload(add(proof, mul(add(l, 1), 32)))
        }
        node = (index >> l) & 1 == 0
            ? keccak256(abi.encodePacked(node, sibling))
            : keccak256(abi.encodePacked(sibling, node));
    }
}

/// @notice The root of a block holding one transaction (a deposit block).
/// @param leaf The transaction's hash.
/// @return node The root.
function singleLeafRoot(bytes32 leaf) pure returns (bytes32 node) {
    node = leaf;
    bytes32 empty;
    for (uint256 l = 0; l < DEPTH; l++) {
        node = keccak256(abi.encodePacked(node, empty));
        empty = keccak256(abi.encodePacked(empty, empty));
    }
}
