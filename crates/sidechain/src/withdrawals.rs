//! The withdrawals tree of a checkpoint (docs/sidechain.md, "The withdrawals tree"): a binary
//! Keccak Merkle tree of fixed depth 16 whose leaf `i` is `keccak256(0x00 ‖ hashStruct(w))` of
//! the withdrawal with `index == i`, whose empty positions are zero and whose inner nodes are
//! `keccak256(0x01 ‖ left ‖ right)`. Proofs are exactly 16 siblings, leaf level first, as
//! `SidechainBridge.withdraw` checks them.

use crate::{Error, Result, messages::Withdrawal};
use alloy::{
    primitives::{B256, U256, keccak256},
    sol_types::SolStruct,
};
use std::sync::OnceLock;

/// The depth of a withdrawals tree.
pub const TREE_DEPTH: usize = 16;
/// The largest number of withdrawals in one checkpoint (`2^16`).
pub const MAX_WITHDRAWALS: usize = 1 << TREE_DEPTH;

/// `keccak256(0x00 ‖ hashStruct(withdrawal))`: its leaf.
pub fn leaf(withdrawal: &Withdrawal) -> B256 {
    let mut buf = [0u8; 33];
    buf[1..].copy_from_slice(withdrawal.eip712_hash_struct().as_slice());
    keccak256(buf)
}

/// `keccak256(0x01 ‖ left ‖ right)`: an inner node.
pub fn node(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// `Z[l]`: the root of an empty subtree of height `l` (`Z[0]` is the zero leaf).
pub fn empty_subtrees() -> &'static [B256; TREE_DEPTH + 1] {
    static EMPTY: OnceLock<[B256; TREE_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut z = [B256::ZERO; TREE_DEPTH + 1];
        for l in 0..TREE_DEPTH {
            z[l + 1] = node(&z[l], &z[l]);
        }
        z
    })
}

/// The root of a checkpoint without withdrawals (`Z[16]`, non-zero).
pub fn empty_root() -> B256 {
    empty_subtrees()[TREE_DEPTH]
}

/// The withdrawal id the bridge marks as paid: `checkpointNumber << 64 | index`.
pub fn withdrawal_id(withdrawal: &Withdrawal) -> U256 {
    (U256::from(withdrawal.checkpointNumber) << 64) | U256::from(withdrawal.index)
}

/// The withdrawals tree of one checkpoint, every level kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalsTree {
    /// `levels[0]` are the leaves, `levels[16]` the root alone; padding is implicit.
    levels: Vec<Vec<B256>>,
}

impl WithdrawalsTree {
    /// The tree of `withdrawals`, which must carry `index` 0, 1, 2, ... in order (the order the
    /// sidechain executed the burns); refuses more than 65,536.
    pub fn new(withdrawals: &[Withdrawal]) -> Result<Self> {
        let mut leaves = Vec::with_capacity(withdrawals.len());
        for (i, w) in withdrawals.iter().enumerate() {
            if w.index != i as u64 || i >= MAX_WITHDRAWALS {
                return Err(Error::BadWithdrawalIndex { index: w.index, expected: i as u64 });
            }
            leaves.push(leaf(w));
        }
        let empty = empty_subtrees();
        let mut levels = Vec::with_capacity(TREE_DEPTH + 1);
        levels.push(leaves);
        for l in 0..TREE_DEPTH {
            let up = levels[l]
                .chunks(2)
                .map(|pair| node(&pair[0], pair.get(1).unwrap_or(&empty[l])))
                .collect();
            levels.push(up);
        }
        Ok(Self { levels })
    }

    /// The number of withdrawals.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no withdrawals.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root (the empty root when there are no withdrawals).
    pub fn root(&self) -> B256 {
        self.levels[TREE_DEPTH].first().copied().unwrap_or_else(empty_root)
    }

    /// The 16 siblings of withdrawal `index`, leaf level first.
    pub fn proof(&self, index: u64) -> Result<Vec<B256>> {
        let len = self.len() as u64;
        if index >= len {
            return Err(Error::BadWithdrawalIndex { index, expected: len });
        }
        let empty = empty_subtrees();
        let mut position = index as usize;
        let mut proof = Vec::with_capacity(TREE_DEPTH);
        for (l, level) in self.levels[..TREE_DEPTH].iter().enumerate() {
            proof.push(level.get(position ^ 1).copied().unwrap_or(empty[l]));
            position >>= 1;
        }
        Ok(proof)
    }
}

/// Checks that `withdrawal` is at its own `index` under `root`, as the bridge does: exactly 16
/// siblings, the path taken from the leaf's `index`, never from the proof.
pub fn verify_proof(withdrawal: &Withdrawal, proof: &[B256], root: &B256) -> Result<()> {
    if proof.len() != TREE_DEPTH {
        return Err(Error::InvalidProof {
            reason: format!("{} siblings, not {TREE_DEPTH}", proof.len()),
        });
    }
    if withdrawal.index >= MAX_WITHDRAWALS as u64 {
        return Err(Error::BadWithdrawalIndex {
            index: withdrawal.index,
            expected: MAX_WITHDRAWALS as u64 - 1,
        });
    }
    let mut hash = leaf(withdrawal);
    for (l, sibling) in proof.iter().enumerate() {
        hash = if (withdrawal.index >> l) & 1 == 1 {
            node(sibling, &hash)
        } else {
            node(&hash, sibling)
        };
    }
    if hash != *root {
        return Err(Error::InvalidProof { reason: format!("leads to {hash}, not {root}") });
    }
    Ok(())
}
