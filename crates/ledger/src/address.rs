//! The address tree (`docs/rollup.md`, "The state commitment"): which address holds which
//! account, committed so that a one-step proof can show that an address has no account yet.
//!
//! A sparse binary Keccak tree of depth 160 keyed by the address: bit `l` of `uint160(address)`
//! chooses the side at level `l` (leaf level 0), and the leaf of an address with an account is
//! `bytes32(index + 1)`, of any other address `0`. It is always Keccak, whatever the state
//! tree's hasher, because only the L1 reads it.
//!
//! Like the state tree it is hashed lazily: creating an account only stores its leaf and marks
//! it, and the next [`root`](AddressTree::root) or proof rehashes every marked path once,
//! shared ancestors once (about 160 hashes per new account, nothing per transfer).

use crate::{AccountIndex, KeccakHasher, SparseProof, sparse::keccak_empty as address_tree_empty};
use alloy::primitives::{U160, U256, map::HashMap};
use ply_core::{Address, B256};

/// The depth of the address tree: one level per bit of an address.
pub const ADDRESS_TREE_DEPTH: usize = 160;

/// The leaf of an address that holds account `index`: `bytes32(index + 1)`.
pub fn address_leaf(index: AccountIndex) -> B256 {
    B256::from(U256::from(u64::from(index) + 1))
}

/// The address tree of a ledger: its leaves, its stored inner nodes and the leaves changed since
/// the last hashing.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressTree {
    /// `levels[l]` holds the non-empty nodes of level `l` (0 = leaves), keyed by
    /// `uint160(address) >> l`; the root is apart.
    levels: Vec<HashMap<U160, B256>>,
    root: Option<B256>,
    dirty: Vec<U160>,
}

fn key(address: &Address) -> U160 {
    U160::from_be_bytes(address.0.0)
}

impl AddressTree {
    fn node(&self, level: usize, position: U160) -> B256 {
        self.levels
            .get(level)
            .and_then(|nodes| nodes.get(&position).copied())
            .unwrap_or(address_tree_empty()[level])
    }

    fn set(&mut self, level: usize, position: U160, node: B256) {
        if self.levels.is_empty() {
            self.levels = vec![HashMap::default(); ADDRESS_TREE_DEPTH];
        }
        if node == address_tree_empty()[level] {
            self.levels[level].remove(&position);
        } else {
            self.levels[level].insert(position, node);
        }
    }

    /// Records that `address` holds account `index`; hashed at the next root.
    pub(crate) fn insert(&mut self, address: Address, index: AccountIndex) {
        let key = key(&address);
        self.set(0, key, address_leaf(index));
        self.dirty.push(key);
        self.root = None;
    }

    /// Rehashes the paths of the leaves set since the last call, each ancestor once.
    fn commit(&mut self) {
        if self.root.is_some() {
            return;
        }
        let mut positions = std::mem::take(&mut self.dirty);
        positions.sort_unstable();
        positions.dedup();
        for level in 0..ADDRESS_TREE_DEPTH - 1 {
            let mut written = 0;
            let mut last = None;
            for read in 0..positions.len() {
                let parent = positions[read] >> 1;
                if last == Some(parent) {
                    continue;
                }
                last = Some(parent);
                let node = self.parent(level, parent);
                self.set(level + 1, parent, node);
                positions[written] = parent;
                written += 1;
            }
            positions.truncate(written);
        }
        self.root = Some(if self.levels.is_empty() {
            address_tree_empty()[ADDRESS_TREE_DEPTH]
        } else {
            self.parent(ADDRESS_TREE_DEPTH - 1, U160::ZERO)
        });
    }

    fn parent(&self, level: usize, parent: U160) -> B256 {
        let left = parent << 1;
        KeccakHasher::hash_node(self.node(level, left), self.node(level, left | U160::from(1u8)))
    }

    /// The root (hashing what changed since the last call).
    pub(crate) fn root(&mut self) -> B256 {
        self.commit();
        self.root.expect("committed")
    }

    /// The compressed proof of the leaf of `address` against [`root`](Self::root).
    pub(crate) fn proof(&mut self, address: &Address) -> SparseProof {
        self.commit();
        let key = key(address);
        let empty = address_tree_empty();
        let mut bitmap = U256::ZERO;
        let mut siblings = Vec::new();
        for (level, empty) in empty.iter().enumerate().take(ADDRESS_TREE_DEPTH) {
            let sibling = self.node(level, (key >> level) ^ U160::from(1u8));
            if sibling != *empty {
                bitmap.set_bit(level, true);
                siblings.push(sibling);
            }
        }
        SparseProof { bitmap, siblings }
    }
}

/// The path bits of `address` in the address tree: `uint160(address)` as a position.
pub fn address_position(address: &Address) -> U256 {
    U256::from(key(address))
}
