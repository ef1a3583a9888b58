//! Sparse binary Merkle trees of fixed depth (`docs/rollup.md`, "Tree positions").
//!
//! At the leaf level node `i` is position `i`; the parent of nodes `2k` and `2k + 1` is node `k`
//! one level up, `hash_node(node 2k, node 2k + 1)`. Empty subtrees hash to the precomputed
//! `empty[level]`, so a tree stores only its non-empty nodes (one map per level) and an update
//! costs `depth` hashes, whatever the tree's size.

use crate::{LedgerError, Result, TreeHasher};
use ply_core::B256;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    fmt,
    hash::{BuildHasherDefault, Hasher},
    marker::PhantomData,
};

/// The deepest tree supported: positions must fit in a `u64` with room for the capacity.
pub const MAX_TREE_DEPTH: usize = 63;

/// A hasher for node positions. Positions are assigned by the ledger in sequence, not chosen by
/// users, so a fast multiplicative hash is enough (no flooding to defend against).
#[derive(Default, Clone, Copy)]
struct PositionHasher(u64);

impl Hasher for PositionHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // Folded multiply: mixes every input bit into both the low bits (bucket) and the high
        // bits (tag) that the map uses.
        let full = u128::from(self.0) * 0x9E37_79B9_7F4A_7C15_u128;
        (full as u64) ^ ((full >> 64) as u64)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(*b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type NodeMap = HashMap<u64, B256, BuildHasherDefault<PositionHasher>>;

/// A sparse binary Merkle tree of fixed `depth` over the hasher `H`.
///
/// Only non-empty nodes are stored; the root is kept apart. Updates and proofs cost `O(depth)`;
/// [`update_many`](Self::update_many) hashes each touched ancestor once, however many of its
/// leaves changed.
pub struct SparseMerkleTree<H> {
    depth: usize,
    /// `levels[l]` holds the non-empty nodes at height `l` (0 = leaves), for `l < depth`.
    levels: Vec<NodeMap>,
    root: B256,
    /// `empty[l]` is the root of an empty subtree of height `l`, for `l <= depth`.
    empty: Vec<B256>,
    /// Reused by `update_many`, so that a hot path allocates nothing once warm.
    scratch: Vec<u64>,
    _hasher: PhantomData<fn() -> H>,
}

impl<H> Clone for SparseMerkleTree<H> {
    fn clone(&self) -> Self {
        Self {
            depth: self.depth,
            levels: self.levels.clone(),
            root: self.root,
            empty: self.empty.clone(),
            scratch: Vec::new(),
            _hasher: PhantomData,
        }
    }
}

impl<H: TreeHasher> fmt::Debug for SparseMerkleTree<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseMerkleTree")
            .field("hasher", &H::NAME)
            .field("depth", &self.depth)
            .field("leaves", &self.len())
            .field("root", &self.root)
            .finish()
    }
}

impl<H: TreeHasher> SparseMerkleTree<H> {
    /// An empty tree of `depth` levels (`2^depth` leaves), `1 <= depth <= 63`.
    pub fn new(depth: usize) -> Result<Self> {
        if depth == 0 || depth > MAX_TREE_DEPTH {
            return Err(LedgerError::InvalidDepth { tree: "tree", depth, max: MAX_TREE_DEPTH });
        }
        let empty = H::empty_hashes(depth);
        Ok(Self {
            depth,
            levels: (0..depth).map(|_| NodeMap::default()).collect(),
            root: empty[depth],
            empty,
            scratch: Vec::new(),
            _hasher: PhantomData,
        })
    }

    /// A tree of `depth` levels with the given leaves (later duplicates win), built level by
    /// level: about one hash per node, not `depth` per leaf.
    pub fn from_leaves(
        depth: usize,
        leaves: impl IntoIterator<Item = (u64, B256)>,
    ) -> Result<Self> {
        let mut tree = Self::new(depth)?;
        tree.update_many(leaves)?;
        Ok(tree)
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The number of leaf positions, `2^depth`.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.root
    }

    /// The number of non-empty leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether every leaf is empty.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root of an empty subtree of height `level` (`level <= depth`).
    pub fn empty_node(&self, level: usize) -> Option<B256> {
        self.empty.get(level).copied()
    }

    /// The leaf at `index` (the empty leaf where none was set).
    pub fn leaf(&self, index: u64) -> Result<B256> {
        self.check_index(index)?;
        Ok(self.node(0, index))
    }

    /// Sets the leaf at `index` and returns the new root. `depth` hashes.
    pub fn update(&mut self, index: u64, leaf: B256) -> Result<B256> {
        self.check_index(index)?;
        self.set(0, index, leaf);
        let mut node = leaf;
        let mut position = index;
        for level in 0..self.depth {
            let sibling = self.node(level, position ^ 1);
            node = if position & 1 == 0 {
                H::hash_node(node, sibling)
            } else {
                H::hash_node(sibling, node)
            };
            position >>= 1;
            self.set(level + 1, position, node);
        }
        Ok(self.root)
    }

    /// Sets many leaves at once (later duplicates win) and returns the new root.
    ///
    /// Each ancestor of a changed leaf is hashed once, so `k` neighbouring updates cost far less
    /// than `k * depth` hashes. Atomic: if any index is out of range, nothing changes.
    pub fn update_many(&mut self, updates: impl IntoIterator<Item = (u64, B256)>) -> Result<B256> {
        let mut positions = std::mem::take(&mut self.scratch);
        positions.clear();
        let capacity = self.capacity();
        let mut first_bad = None;
        let mut leaves = Vec::new();
        for (index, leaf) in updates {
            if index >= capacity {
                first_bad.get_or_insert(index);
            }
            leaves.push((index, leaf));
        }
        if let Some(index) = first_bad {
            self.scratch = positions;
            return Err(LedgerError::IndexOutOfRange { index, depth: self.depth });
        }
        for &(index, leaf) in &leaves {
            self.set(0, index, leaf);
            positions.push(index);
        }
        self.rehash(&mut positions);
        self.scratch = positions;
        Ok(self.root)
    }

    /// Sets leaves whose indices are already checked, sorted and distinct, then rehashes their
    /// ancestors: the ledger's allocation-free commit path.
    pub(crate) fn update_sorted(&mut self, updates: &[(u64, B256)]) {
        let mut positions = std::mem::take(&mut self.scratch);
        positions.clear();
        for &(index, leaf) in updates {
            debug_assert!(index < self.capacity());
            debug_assert!(positions.last().is_none_or(|last| *last < index));
            self.set(0, index, leaf);
            positions.push(index);
        }
        self.rehash(&mut positions);
        self.scratch = positions;
    }

    /// Recomputes the ancestors of the leaves at `positions` (which it consumes as a buffer).
    fn rehash(&mut self, positions: &mut Vec<u64>) {
        positions.sort_unstable();
        positions.dedup();
        for level in 0..self.depth {
            let mut written = 0;
            let mut last = u64::MAX;
            for read in 0..positions.len() {
                let parent = positions[read] >> 1;
                if parent == last {
                    continue;
                }
                last = parent;
                let left = self.node(level, parent << 1);
                let right = self.node(level, (parent << 1) | 1);
                self.set(level + 1, parent, H::hash_node(left, right));
                positions[written] = parent;
                written += 1;
            }
            positions.truncate(written);
        }
    }

    /// The proof of the leaf at `index`: its `depth` siblings, leaf level first.
    pub fn proof(&self, index: u64) -> Result<MerkleProof> {
        self.check_index(index)?;
        let siblings =
            (0..self.depth).map(|level| self.node(level, (index >> level) ^ 1)).collect();
        Ok(MerkleProof { siblings })
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if index >= self.capacity() {
            return Err(LedgerError::IndexOutOfRange { index, depth: self.depth });
        }
        Ok(())
    }

    #[inline]
    fn node(&self, level: usize, position: u64) -> B256 {
        if level == self.depth {
            return self.root;
        }
        self.levels[level].get(&position).copied().unwrap_or(self.empty[level])
    }

    #[inline]
    fn set(&mut self, level: usize, position: u64, node: B256) {
        if level == self.depth {
            self.root = node;
        } else if node == self.empty[level] {
            self.levels[level].remove(&position);
        } else {
            self.levels[level].insert(position, node);
        }
    }

    /// The number of stored (non-empty, non-root) nodes; for tests and memory estimates.
    pub fn stored_nodes(&self) -> usize {
        self.levels.iter().map(HashMap::len).sum()
    }
}

/// The siblings of a leaf from the leaf level up: what it takes to recompute a root from a leaf.
///
/// The proof does not carry its index or depth: a verifier knows the tree's depth and must
/// insist on `siblings.len() == depth` (the typed proofs of this crate do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MerkleProof {
    /// `siblings[l]` is the sibling of the path's node at height `l`.
    pub siblings: Vec<B256>,
}

impl MerkleProof {
    /// The depth of the tree the proof is for.
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }

    /// The root reached from `leaf` at position `index`: at level `l`, bit `l` of `index` says
    /// whether the path's node is the right child (1: `hash(sibling, node)`) or the left one.
    ///
    /// An `index` that does not fit in the proof's depth is an error (its high bits would be
    /// ignored, so two positions would share one proof).
    pub fn compute_root<H: TreeHasher>(&self, leaf: B256, index: u64) -> Result<B256> {
        let depth = self.siblings.len();
        if depth > MAX_TREE_DEPTH || index >> depth != 0 {
            return Err(LedgerError::IndexOutOfRange { index, depth });
        }
        let mut node = leaf;
        for (level, sibling) in self.siblings.iter().enumerate() {
            node = if (index >> level) & 1 == 0 {
                H::hash_node(node, *sibling)
            } else {
                H::hash_node(*sibling, node)
            };
        }
        Ok(node)
    }

    /// Whether `leaf` sits at `index` under `root`. The caller checks [`depth`](Self::depth).
    pub fn verify<H: TreeHasher>(&self, root: B256, leaf: B256, index: u64) -> bool {
        self.compute_root::<H>(leaf, index).is_ok_and(|computed| computed == root)
    }
}

/// The root of a tree of height `empty.len() - 1` whose only non-empty leaves are `leaves`
/// (sorted by index, distinct, in range), without storing a tree: one hash per ancestor.
/// `buf` is scratch space, reused to keep the ledger's commit free of allocations.
pub(crate) fn sparse_root<H: TreeHasher>(
    empty: &[B256],
    leaves: impl IntoIterator<Item = (u64, B256)>,
    buf: &mut Vec<(u64, B256)>,
) -> B256 {
    let depth = empty.len() - 1;
    buf.clear();
    buf.extend(leaves);
    debug_assert!(buf.windows(2).all(|w| w[0].0 < w[1].0), "leaves must be sorted and distinct");
    debug_assert!(buf.last().is_none_or(|(i, _)| i >> depth == 0), "leaves must be in range");
    for empty_here in &empty[..depth] {
        let mut written = 0;
        let mut read = 0;
        while read < buf.len() {
            let (position, node) = buf[read];
            let parent = if position & 1 == 0 {
                match buf.get(read + 1) {
                    Some(&(next, right)) if next == position + 1 => {
                        read += 1;
                        H::hash_node(node, right)
                    }
                    _ => H::hash_node(node, *empty_here),
                }
            } else {
                H::hash_node(*empty_here, node)
            };
            read += 1;
            buf[written] = (position >> 1, parent);
            written += 1;
        }
        buf.truncate(written);
    }
    buf.first().map_or(empty[depth], |(_, root)| *root)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::KeccakHasher;

    /// SplitMix64: a tiny deterministic generator for randomised tests.
    pub(crate) struct SplitMix(pub(crate) u64);

    impl SplitMix {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        pub(crate) fn b256(&mut self) -> B256 {
            let mut out = [0u8; 32];
            for chunk in out.chunks_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            B256::from(out)
        }
    }

    /// The root of a dense tree, hashing every node: the obviously correct reference.
    fn naive_root(leaves: &[B256]) -> B256 {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| KeccakHasher::hash_node(p[0], p[1])).collect();
        }
        level[0]
    }

    #[test]
    fn random_updates_match_a_naive_recomputation() {
        let depth = 7;
        let mut rng = SplitMix(1);
        let mut tree = SparseMerkleTree::<KeccakHasher>::new(depth).unwrap();
        let mut dense = vec![B256::ZERO; 1 << depth];
        assert_eq!(tree.root(), naive_root(&dense));
        for round in 0..300 {
            let index = rng.below(1 << depth);
            // A quarter of the updates clear a leaf, so removal paths get exercised too.
            let leaf = if rng.below(4) == 0 { B256::ZERO } else { rng.b256() };
            dense[index as usize] = leaf;
            let root = tree.update(index, leaf).unwrap();
            assert_eq!(root, naive_root(&dense), "round {round}");
            assert_eq!(tree.len(), dense.iter().filter(|l| !l.is_zero()).count());
        }
        for index in 0..(1u64 << depth) {
            assert_eq!(tree.leaf(index).unwrap(), dense[index as usize]);
            let proof = tree.proof(index).unwrap();
            assert_eq!(proof.depth(), depth);
            assert!(proof.verify::<KeccakHasher>(tree.root(), dense[index as usize], index));
        }
    }

    #[test]
    fn batched_updates_equal_sequential_ones() {
        let mut rng = SplitMix(2);
        let mut sequential = SparseMerkleTree::<KeccakHasher>::new(10).unwrap();
        let mut batched = SparseMerkleTree::<KeccakHasher>::new(10).unwrap();
        for _ in 0..20 {
            let updates: Vec<(u64, B256)> = (0..rng.below(40))
                .map(|_| {
                    (rng.below(1 << 10), if rng.below(5) == 0 { B256::ZERO } else { rng.b256() })
                })
                .collect();
            for &(i, l) in &updates {
                sequential.update(i, l).unwrap();
            }
            assert_eq!(batched.update_many(updates).unwrap(), sequential.root());
            assert_eq!(batched.stored_nodes(), sequential.stored_nodes());
        }
        let built = SparseMerkleTree::<KeccakHasher>::from_leaves(
            10,
            (0..(1u64 << 10)).map(|i| (i, sequential.leaf(i).unwrap())),
        )
        .unwrap();
        assert_eq!(built.root(), sequential.root());
    }

    #[test]
    fn sparse_root_matches_the_stored_tree() {
        let mut rng = SplitMix(3);
        let empty = KeccakHasher::empty_hashes(8);
        let mut buf = Vec::new();
        for _ in 0..50 {
            let mut leaves: Vec<(u64, B256)> =
                (0..rng.below(12)).map(|_| (rng.below(256), rng.b256())).collect();
            leaves.sort_by_key(|l| l.0);
            leaves.dedup_by_key(|l| l.0);
            let tree = SparseMerkleTree::<KeccakHasher>::from_leaves(8, leaves.clone()).unwrap();
            assert_eq!(sparse_root::<KeccakHasher>(&empty, leaves, &mut buf), tree.root());
        }
    }

    #[test]
    fn clearing_every_leaf_stores_nothing_and_restores_the_empty_root() {
        let mut tree = SparseMerkleTree::<KeccakHasher>::new(24).unwrap();
        let empty_root = tree.root();
        assert_eq!(empty_root, KeccakHasher::empty(24));
        for i in [0u64, 1, 5, 1 << 23, (1 << 24) - 1] {
            tree.update(i, B256::repeat_byte(7)).unwrap();
        }
        assert_ne!(tree.root(), empty_root);
        for i in [0u64, 1, 5, 1 << 23, (1 << 24) - 1] {
            tree.update(i, B256::ZERO).unwrap();
        }
        assert_eq!(tree.root(), empty_root);
        assert_eq!(tree.stored_nodes(), 0);
    }

    #[test]
    fn tampered_proofs_fail() {
        let mut tree = SparseMerkleTree::<KeccakHasher>::new(16).unwrap();
        for i in 0..40u64 {
            tree.update(i * 3, B256::with_last_byte(i as u8 + 1)).unwrap();
        }
        let root = tree.root();
        let leaf = tree.leaf(9).unwrap();
        let proof = tree.proof(9).unwrap();
        assert!(proof.verify::<KeccakHasher>(root, leaf, 9));
        // A wrong leaf, a wrong position, a wrong root.
        assert!(!proof.verify::<KeccakHasher>(root, B256::with_last_byte(99), 9));
        assert!(!proof.verify::<KeccakHasher>(root, leaf, 8));
        assert!(!proof.verify::<KeccakHasher>(B256::ZERO, leaf, 9));
        // Every single flipped sibling.
        for level in 0..16 {
            let mut bad = proof.clone();
            bad.siblings[level].0[31] ^= 1;
            assert!(!bad.verify::<KeccakHasher>(root, leaf, 9), "level {level}");
        }
        // Truncated, extended, and positions beyond the proof's depth.
        let mut short = proof.clone();
        short.siblings.pop();
        assert!(!short.verify::<KeccakHasher>(root, leaf, 9));
        let mut long = proof.clone();
        long.siblings.push(B256::ZERO);
        assert!(!long.verify::<KeccakHasher>(root, leaf, 9));
        assert!(matches!(
            proof.compute_root::<KeccakHasher>(leaf, 9 + (1 << 16)),
            Err(LedgerError::IndexOutOfRange { depth: 16, .. })
        ));
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        let mut tree = SparseMerkleTree::<KeccakHasher>::new(4).unwrap();
        let err = LedgerError::IndexOutOfRange { index: 16, depth: 4 };
        assert_eq!(tree.update(16, B256::ZERO).unwrap_err(), err);
        assert_eq!(tree.leaf(16).unwrap_err(), err);
        assert_eq!(tree.proof(16).unwrap_err(), err);
        let before = tree.root();
        assert_eq!(
            tree.update_many([(3, B256::repeat_byte(1)), (16, B256::repeat_byte(2))]).unwrap_err(),
            err
        );
        assert_eq!(tree.root(), before, "a refused batch changes nothing");
        assert!(SparseMerkleTree::<KeccakHasher>::new(0).is_err());
        assert!(SparseMerkleTree::<KeccakHasher>::new(64).is_err());
        assert!(SparseMerkleTree::<KeccakHasher>::new(63).is_ok());
    }
}
