//! Sparse Merkle trees of fixed depth (`docs/rollup.md`, "Tree positions"), binary or
//! quaternary as their hasher says ([`TreeHasher::ARITY_BITS`]).
//!
//! A tree's `depth` is the number of bits of its leaf indices (`2^depth` leaves); each node
//! level takes `ARITY_BITS` of them, so a tree has `depth / ARITY_BITS` node levels. At the leaf
//! level node `i` is position `i`; the parent of nodes `a·k` to `a·k + a - 1` (`a` the arity) is
//! node `k` one level up, `hash_children` of them in position order. Empty subtrees hash to the
//! precomputed `empty[level]`, so a tree stores only its non-empty nodes (one map per level)
//! and an update costs one hash per level, whatever the tree's size.

use crate::{
    LedgerError, Result, TreeHasher,
    hasher::{MAX_ARITY, MAX_ARITY_BITS, arity},
};
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

/// The number of node levels of a tree of `depth` index bits over `H`: `depth / ARITY_BITS`,
/// for a depth that is a positive multiple of `ARITY_BITS` up to [`MAX_TREE_DEPTH`].
pub fn tree_levels<H: TreeHasher>(depth: usize) -> Result<usize> {
    let bits = H::ARITY_BITS as usize;
    if !(1..=MAX_ARITY_BITS).contains(&H::ARITY_BITS) {
        return Err(LedgerError::UnalignedDepth { depth, hasher: H::NAME, arity_bits: bits });
    }
    if depth == 0 || depth > MAX_TREE_DEPTH {
        return Err(LedgerError::InvalidDepth { tree: "tree", depth, max: MAX_TREE_DEPTH });
    }
    if !depth.is_multiple_of(bits) {
        return Err(LedgerError::UnalignedDepth { depth, hasher: H::NAME, arity_bits: bits });
    }
    Ok(depth / bits)
}

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

/// A sparse Merkle tree of fixed `depth` over the hasher `H` (of `H`'s arity).
///
/// Only non-empty nodes are stored; the root is kept apart. Updates and proofs cost one hash
/// per node level; [`update_many`](Self::update_many) hashes each touched ancestor once,
/// however many of its leaves changed.
pub struct SparseMerkleTree<H> {
    depth: usize,
    /// `levels[l]` holds the non-empty nodes at node level `l` (0 = leaves), below the root.
    levels: Vec<NodeMap>,
    root: B256,
    /// `empty[l]` is the root of an empty subtree of `l` node levels, up to the root's.
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
    /// An empty tree of `depth` index bits (`2^depth` leaves), `1 <= depth <= 63` and a
    /// multiple of `H::ARITY_BITS` ([`tree_levels`]).
    pub fn new(depth: usize) -> Result<Self> {
        let height = tree_levels::<H>(depth)?;
        let empty = H::empty_hashes(height);
        Ok(Self {
            depth,
            levels: (0..height).map(|_| NodeMap::default()).collect(),
            root: empty[height],
            empty,
            scratch: Vec::new(),
            _hasher: PhantomData,
        })
    }

    /// A tree of `depth` with the given leaves (later duplicates win), built level by level:
    /// about one hash per node, not one per level per leaf.
    pub fn from_leaves(
        depth: usize,
        leaves: impl IntoIterator<Item = (u64, B256)>,
    ) -> Result<Self> {
        let mut tree = Self::new(depth)?;
        tree.update_many(leaves)?;
        Ok(tree)
    }

    /// The tree's depth: the bits of a leaf index.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The number of node levels, `depth / H::ARITY_BITS`.
    pub fn height(&self) -> usize {
        self.levels.len()
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

    /// The root of an empty subtree of `level` node levels (`level <= height`).
    pub fn empty_node(&self, level: usize) -> Option<B256> {
        self.empty.get(level).copied()
    }

    /// The leaf at `index` (the empty leaf where none was set).
    pub fn leaf(&self, index: u64) -> Result<B256> {
        self.check_index(index)?;
        Ok(self.node(0, index))
    }

    /// Sets the leaf at `index` and returns the new root. One hash per node level.
    pub fn update(&mut self, index: u64, leaf: B256) -> Result<B256> {
        self.check_index(index)?;
        self.set(0, index, leaf);
        let mut node = leaf;
        let mut position = index;
        for level in 0..self.height() {
            let parent = position >> H::ARITY_BITS;
            let mut children = self.children(level, parent);
            children[(position - (parent << H::ARITY_BITS)) as usize] = node;
            node = H::hash_children(&children[..arity::<H>()]);
            position = parent;
            self.set(level + 1, position, node);
        }
        Ok(self.root)
    }

    /// Sets many leaves at once (later duplicates win) and returns the new root.
    ///
    /// Each ancestor of a changed leaf is hashed once, so `k` neighbouring updates cost far less
    /// than `k` hashes per level. Atomic: if any index is out of range, nothing changes.
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
        for level in 0..self.height() {
            let mut written = 0;
            let mut last = u64::MAX;
            for read in 0..positions.len() {
                let parent = positions[read] >> H::ARITY_BITS;
                if parent == last {
                    continue;
                }
                last = parent;
                let children = self.children(level, parent);
                self.set(level + 1, parent, H::hash_children(&children[..arity::<H>()]));
                positions[written] = parent;
                written += 1;
            }
            positions.truncate(written);
        }
    }

    /// The proof of the leaf at `index`: at each node level from the leaves up, the path node's
    /// `arity - 1` siblings in position order.
    pub fn proof(&self, index: u64) -> Result<MerkleProof> {
        self.check_index(index)?;
        let mut siblings = Vec::with_capacity(self.height() * (arity::<H>() - 1));
        for level in 0..self.height() {
            let position = index >> (level as u32 * H::ARITY_BITS);
            let first = (position >> H::ARITY_BITS) << H::ARITY_BITS;
            siblings.extend(
                (first..first + arity::<H>() as u64)
                    .filter(|p| *p != position)
                    .map(|p| self.node(level, p)),
            );
        }
        Ok(MerkleProof { siblings })
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if index >= self.capacity() {
            return Err(LedgerError::IndexOutOfRange { index, depth: self.depth });
        }
        Ok(())
    }

    /// The children of node `parent` at node level `level + 1`, in the first `arity` entries.
    #[inline]
    fn children(&self, level: usize, parent: u64) -> [B256; MAX_ARITY] {
        let mut children = [B256::ZERO; MAX_ARITY];
        let first = parent << H::ARITY_BITS;
        for (child, position) in children[..arity::<H>()].iter_mut().zip(first..) {
            *child = self.node(level, position);
        }
        children
    }

    #[inline]
    fn node(&self, level: usize, position: u64) -> B256 {
        if level == self.height() {
            return self.root;
        }
        self.levels[level].get(&position).copied().unwrap_or(self.empty[level])
    }

    #[inline]
    fn set(&mut self, level: usize, position: u64, node: B256) {
        if level == self.height() {
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
/// At each node level the path node's `arity - 1` siblings, in position order (for a binary
/// tree, one sibling a level). The proof does not carry its index or depth: a verifier knows
/// the tree's depth and must insist on it ([`has_depth`](Self::has_depth); the typed proofs of
/// this crate do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MerkleProof {
    /// The siblings, `arity - 1` a level, leaf level first.
    pub siblings: Vec<B256>,
}

impl MerkleProof {
    /// Whether the proof has the siblings of a tree of `depth` over `H`.
    pub fn has_depth<H: TreeHasher>(&self, depth: usize) -> bool {
        tree_levels::<H>(depth)
            .is_ok_and(|levels| self.siblings.len() == levels * (arity::<H>() - 1))
    }

    /// The root reached from `leaf` at position `index`: at each node level, the next
    /// `ARITY_BITS` bits of `index` (lowest first) are the path node's place among its
    /// siblings.
    ///
    /// A sibling count that is not whole levels is [`LedgerError::MalformedProof`]; an `index`
    /// that does not fit in the proof's depth is an error (its high bits would be ignored, so
    /// two positions would share one proof).
    pub fn compute_root<H: TreeHasher>(&self, leaf: B256, index: u64) -> Result<B256> {
        let per_level = arity::<H>() - 1;
        if !self.siblings.len().is_multiple_of(per_level) {
            return Err(LedgerError::MalformedProof { siblings: self.siblings.len(), per_level });
        }
        let depth = self.siblings.len() / per_level * H::ARITY_BITS as usize;
        if depth > MAX_TREE_DEPTH || index >> depth != 0 {
            return Err(LedgerError::IndexOutOfRange { index, depth });
        }
        let mut node = leaf;
        let mut position = index;
        for siblings in self.siblings.chunks_exact(per_level) {
            let place = (position & (arity::<H>() as u64 - 1)) as usize;
            let mut children = [B256::ZERO; MAX_ARITY];
            children[..place].copy_from_slice(&siblings[..place]);
            children[place] = node;
            children[place + 1..=per_level].copy_from_slice(&siblings[place..]);
            node = H::hash_children(&children[..=per_level]);
            position >>= H::ARITY_BITS;
        }
        Ok(node)
    }

    /// Whether `leaf` sits at `index` under `root`. The caller checks
    /// [`has_depth`](Self::has_depth).
    pub fn verify<H: TreeHasher>(&self, root: B256, leaf: B256, index: u64) -> bool {
        self.compute_root::<H>(leaf, index).is_ok_and(|computed| computed == root)
    }
}

/// The root of a tree of `empty.len() - 1` node levels whose only non-empty leaves are `leaves`
/// (sorted by index, distinct, in range), without storing a tree: one hash per ancestor.
/// `buf` is scratch space, reused to keep the ledger's commit free of allocations.
pub(crate) fn sparse_root<H: TreeHasher>(
    empty: &[B256],
    leaves: impl IntoIterator<Item = (u64, B256)>,
    buf: &mut Vec<(u64, B256)>,
) -> B256 {
    let height = empty.len() - 1;
    buf.clear();
    buf.extend(leaves);
    debug_assert!(buf.windows(2).all(|w| w[0].0 < w[1].0), "leaves must be sorted and distinct");
    debug_assert!(
        buf.last().is_none_or(|(i, _)| i >> (height as u32 * H::ARITY_BITS) == 0),
        "leaves must be in range"
    );
    let mask = arity::<H>() as u64 - 1;
    for empty_here in &empty[..height] {
        let mut written = 0;
        let mut read = 0;
        while read < buf.len() {
            let parent = buf[read].0 >> H::ARITY_BITS;
            let mut children = [*empty_here; MAX_ARITY];
            while let Some(&(position, node)) = buf.get(read)
                && position >> H::ARITY_BITS == parent
            {
                children[(position & mask) as usize] = node;
                read += 1;
            }
            buf[written] = (parent, H::hash_children(&children[..arity::<H>()]));
            written += 1;
        }
        buf.truncate(written);
    }
    buf.first().map_or(empty[height], |(_, root)| *root)
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

    /// Keccak over four children: a quaternary hasher for the tree's generic paths.
    struct Keccak4;

    impl TreeHasher for Keccak4 {
        const NAME: &'static str = "keccak4";
        const ARITY_BITS: u32 = 2;

        fn hash_children(children: &[B256]) -> B256 {
            assert_eq!(children.len(), 4);
            ply_core::keccak256(children.concat())
        }

        fn balance_leaf(amount: ply_core::U256) -> B256 {
            B256::from(amount.to_be_bytes::<32>())
        }

        fn hash_account(_: ply_core::Address, _: u64, balances_root: B256) -> B256 {
            balances_root
        }
    }

    /// The root of a dense tree, hashing every node: the obviously correct reference.
    fn naive_root<H: TreeHasher>(leaves: &[B256]) -> B256 {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level.chunks(arity::<H>()).map(H::hash_children).collect();
        }
        level[0]
    }

    #[test]
    fn random_updates_match_a_naive_recomputation() {
        random_updates::<KeccakHasher>(7);
        random_updates::<Keccak4>(6);
    }

    fn random_updates<H: TreeHasher>(depth: usize) {
        let mut rng = SplitMix(1);
        let mut tree = SparseMerkleTree::<H>::new(depth).unwrap();
        let mut dense = vec![B256::ZERO; 1 << depth];
        assert_eq!(tree.root(), naive_root::<H>(&dense));
        for round in 0..300 {
            let index = rng.below(1 << depth);
            // A quarter of the updates clear a leaf, so removal paths get exercised too.
            let leaf = if rng.below(4) == 0 { B256::ZERO } else { rng.b256() };
            dense[index as usize] = leaf;
            let root = tree.update(index, leaf).unwrap();
            assert_eq!(root, naive_root::<H>(&dense), "round {round}");
            assert_eq!(tree.len(), dense.iter().filter(|l| !l.is_zero()).count());
        }
        for index in 0..(1u64 << depth) {
            assert_eq!(tree.leaf(index).unwrap(), dense[index as usize]);
            let proof = tree.proof(index).unwrap();
            assert!(proof.has_depth::<H>(depth));
            assert_eq!(proof.siblings.len(), depth / H::ARITY_BITS as usize * (arity::<H>() - 1));
            assert!(proof.verify::<H>(tree.root(), dense[index as usize], index));
        }
        let built = SparseMerkleTree::<H>::from_leaves(
            depth,
            dense.iter().enumerate().map(|(i, leaf)| (i as u64, *leaf)),
        )
        .unwrap();
        assert_eq!(built.root(), tree.root());
    }

    #[test]
    fn quaternary_proofs_place_the_node_among_its_siblings() {
        let mut tree = SparseMerkleTree::<Keccak4>::new(4).unwrap();
        for i in 0..16u64 {
            tree.update(i, B256::with_last_byte(i as u8 + 1)).unwrap();
        }
        let root = tree.root();
        let leaf = tree.leaf(9).unwrap();
        let proof = tree.proof(9).unwrap();
        assert_eq!(proof.siblings.len(), 6);
        // Leaf 9 is child 1 of node 2: its level-0 siblings are leaves 8, 10 and 11.
        assert_eq!(&proof.siblings[..3], &[8u8, 10, 11].map(|i| B256::with_last_byte(i + 1)));
        assert!(proof.verify::<Keccak4>(root, leaf, 9));
        for index in [8u64, 10, 13, 1] {
            assert!(!proof.verify::<Keccak4>(root, leaf, index), "index {index}");
        }
        for i in 0..6 {
            let mut bad = proof.clone();
            bad.siblings[i].0[0] ^= 1;
            assert!(!bad.verify::<Keccak4>(root, leaf, 9), "sibling {i}");
        }
        let mut short = proof.clone();
        short.siblings.pop();
        assert!(matches!(
            short.compute_root::<Keccak4>(leaf, 9),
            Err(LedgerError::MalformedProof { siblings: 5, per_level: 3 })
        ));
        assert!(!short.has_depth::<Keccak4>(4));
        assert!(!proof.has_depth::<Keccak4>(3));
        assert!(matches!(
            SparseMerkleTree::<Keccak4>::new(5),
            Err(LedgerError::UnalignedDepth { depth: 5, arity_bits: 2, .. })
        ));
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
        sparse_root_matches::<KeccakHasher>();
        sparse_root_matches::<Keccak4>();
    }

    fn sparse_root_matches<H: TreeHasher>() {
        let mut rng = SplitMix(3);
        let empty = H::empty_hashes(8 / H::ARITY_BITS as usize);
        let mut buf = Vec::new();
        for _ in 0..50 {
            let mut leaves: Vec<(u64, B256)> =
                (0..rng.below(12)).map(|_| (rng.below(256), rng.b256())).collect();
            leaves.sort_by_key(|l| l.0);
            leaves.dedup_by_key(|l| l.0);
            let tree = SparseMerkleTree::<H>::from_leaves(8, leaves.clone()).unwrap();
            assert_eq!(sparse_root::<H>(&empty, leaves, &mut buf), tree.root());
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
