//! Compressed sparse Merkle proofs of the Keccak trees (`docs/rollup.md`, "The one-step
//! witness"): the L1 form of a proof.
//!
//! Most siblings of a proof in a sparse tree are empty subtrees, which the verifier knows. A
//! [`SparseProof`] sends only the others: bit `l` of `bitmap` set means the next entry of
//! `siblings` is the level-`l` sibling, clear means the empty subtree of level `l`. The
//! encoding is canonical: no bit at or above the tree's depth, and exactly one sibling per set
//! bit.

use crate::{KeccakHasher, MerkleProof, TreeHasher};
use alloy::primitives::U256;
use ply_core::B256;
use std::sync::OnceLock;

/// The deepest Keccak tree a [`SparseProof`] serves: the address tree.
pub const MAX_SPARSE_DEPTH: usize = 160;

/// `empty[l]`, the root of an empty binary Keccak subtree of `l` levels, for `l` up to
/// [`MAX_SPARSE_DEPTH`]: the same table for every Keccak tree.
pub fn keccak_empty() -> &'static [B256] {
    static TABLE: OnceLock<Vec<B256>> = OnceLock::new();
    TABLE.get_or_init(|| KeccakHasher::empty_hashes(MAX_SPARSE_DEPTH))
}

alloy::sol! {
    /// A compressed proof of one leaf of a binary Keccak tree: `bitmap` bit `l` set means
    /// `siblings` holds the level-`l` sibling (in level order), clear means the empty subtree.
    #[derive(Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    struct SparseProof {
        /// Which levels have a non-empty sibling.
        uint256 bitmap;
        /// The non-empty siblings, leaf level first.
        bytes32[] siblings;
    }
}

impl SparseProof {
    /// Compresses a full binary Keccak proof (one sibling a level, leaf level first).
    pub fn compress(proof: &MerkleProof) -> Self {
        let empty = keccak_empty();
        let mut bitmap = U256::ZERO;
        let mut siblings = Vec::new();
        for (level, sibling) in proof.siblings.iter().enumerate() {
            if *sibling != empty[level] {
                bitmap.set_bit(level, true);
                siblings.push(*sibling);
            }
        }
        Self { bitmap, siblings }
    }

    /// The root of a tree of `depth` levels in which `leaf` sits at `position` (bit `l` of
    /// `position` is the side at level `l`), or `None` when the proof is not a canonical proof
    /// of that depth: a bitmap bit at or above `depth`, a sibling count other than the bitmap's,
    /// a position beyond the tree, or a depth above
    /// [`MAX_SPARSE_DEPTH`].
    pub fn compute_root(&self, leaf: B256, position: U256, depth: usize) -> Option<B256> {
        if depth > MAX_SPARSE_DEPTH
            || (depth < 256 && (self.bitmap >> depth) != U256::ZERO)
            || (depth < 256 && (position >> depth) != U256::ZERO)
            || self.siblings.len() != self.bitmap.count_ones()
        {
            return None;
        }
        let empty = keccak_empty();
        let mut siblings = self.siblings.iter();
        let mut node = leaf;
        for (level, empty) in empty.iter().enumerate().take(depth) {
            let sibling = if self.bitmap.bit(level) { *siblings.next()? } else { *empty };
            node = if position.bit(level) {
                KeccakHasher::hash_node(sibling, node)
            } else {
                KeccakHasher::hash_node(node, sibling)
            };
        }
        Some(node)
    }

    /// Whether `leaf` sits at `position` under `root` in a tree of `depth` levels.
    pub fn verify(&self, root: B256, leaf: B256, position: U256, depth: usize) -> bool {
        self.compute_root(leaf, position, depth) == Some(root)
    }
}
