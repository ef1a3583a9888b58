//! The block tree (docs/plasma.md, "Blocks and inclusion proofs"): a binary Keccak Merkle tree of
//! fixed depth 16 whose leaf `i` is the hash of transaction `i` and whose padding leaves are zero;
//! proofs are exactly 16 siblings, leaf level first, as `PlasmaMerkle.sol` checks them.

use std::sync::OnceLock;

use alloy::primitives::{B256, keccak256};

use crate::{Error, Result, tx::MAX_TXS_PER_BLOCK};

/// The depth of a block tree.
pub const TREE_DEPTH: usize = 16;
/// The length of an encoded inclusion proof in bytes.
pub const PROOF_LENGTH: usize = 32 * TREE_DEPTH;

/// `keccak256(left ‖ right)`.
pub fn hash_node(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// `empty[l]`: the root of an empty subtree of height `l` (`empty[0]` is the zero leaf).
pub fn empty_subtrees() -> &'static [B256; TREE_DEPTH + 1] {
    static EMPTY: OnceLock<[B256; TREE_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut z = [B256::ZERO; TREE_DEPTH + 1];
        for l in 0..TREE_DEPTH {
            z[l + 1] = hash_node(&z[l], &z[l]);
        }
        z
    })
}

/// The tree of one block: every level kept, so proofs cost nothing more to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTree {
    /// `levels[0]` are the leaves, `levels[16]` the root alone; padding is implicit.
    levels: Vec<Vec<B256>>,
}

impl BlockTree {
    /// The tree of a block whose transaction hashes are `leaves`; refuses more than 65,536.
    pub fn new(leaves: Vec<B256>) -> Result<Self> {
        if leaves.len() > MAX_TXS_PER_BLOCK {
            return Err(Error::BlockFull { max: MAX_TXS_PER_BLOCK });
        }
        let empty = empty_subtrees();
        let mut levels = Vec::with_capacity(TREE_DEPTH + 1);
        levels.push(leaves);
        for l in 0..TREE_DEPTH {
            let below = &levels[l];
            let up = below
                .chunks(2)
                .map(|pair| hash_node(&pair[0], pair.get(1).unwrap_or(&empty[l])))
                .collect();
            levels.push(up);
        }
        Ok(Self { levels })
    }

    /// The number of transactions.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the block is empty.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root (of an empty block: `empty[16]`).
    pub fn root(&self) -> B256 {
        self.levels[TREE_DEPTH].first().copied().unwrap_or(empty_subtrees()[TREE_DEPTH])
    }

    /// The inclusion proof of transaction `index`.
    pub fn proof(&self, index: usize) -> Result<InclusionProof> {
        if index >= self.len() {
            return Err(Error::NoSuchTransaction { index, len: self.len() });
        }
        let empty = empty_subtrees();
        let mut siblings = [B256::ZERO; TREE_DEPTH];
        for (l, sibling) in siblings.iter_mut().enumerate() {
            let i = (index >> l) ^ 1;
            *sibling = self.levels[l].get(i).copied().unwrap_or(empty[l]);
        }
        Ok(InclusionProof(siblings))
    }
}

/// The 16 siblings of a leaf, leaf level first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InclusionProof(pub [B256; TREE_DEPTH]);

impl InclusionProof {
    /// The proof of the only transaction of a block (a deposit block): the empty subtrees.
    pub fn single_leaf() -> Self {
        let mut siblings = [B256::ZERO; TREE_DEPTH];
        siblings.copy_from_slice(&empty_subtrees()[..TREE_DEPTH]);
        Self(siblings)
    }

    /// The 512 bytes the contracts take.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|h| h.0).collect()
    }

    /// Parses 512 bytes; refuses any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != PROOF_LENGTH {
            return Err(Error::MalformedProof { length: bytes.len() });
        }
        let mut siblings = [B256::ZERO; TREE_DEPTH];
        for (l, sibling) in siblings.iter_mut().enumerate() {
            *sibling = B256::from_slice(&bytes[32 * l..32 * l + 32]);
        }
        Ok(Self(siblings))
    }

    /// The root the proof leads to from `leaf` at `index`.
    pub fn root_from(&self, leaf: B256, index: u64) -> B256 {
        let mut node = leaf;
        for (l, sibling) in self.0.iter().enumerate() {
            node = if (index >> l) & 1 == 0 {
                hash_node(&node, sibling)
            } else {
                hash_node(sibling, &node)
            };
        }
        node
    }

    /// Whether `leaf` sits at `index` of the tree with root `root`.
    pub fn verify(&self, leaf: B256, index: u64, root: B256) -> bool {
        index < MAX_TXS_PER_BLOCK as u64 && self.root_from(leaf, index) == root
    }
}
