//! Withdrawals of a batch and their tree (`docs/rollup.md`, "Outputs, withdrawals and finality").
//!
//! The tree is always Keccak, whatever the state tree's hasher: `Bridge.claimWithdrawal` checks
//! its proofs on L1.

use crate::{
    KeccakHasher, LedgerError, MerkleProof, Result, SparseMerkleTree, TokenId, TreeHasher,
};
use ply_core::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};

/// The depth of a batch's withdrawal tree: at most `2^16` withdrawals per batch.
pub const WITHDRAWAL_TREE_DEPTH: usize = 16;

/// The number of withdrawals a batch can hold.
pub const MAX_WITHDRAWALS_PER_BATCH: u64 = 1 << WITHDRAWAL_TREE_DEPTH;

/// One withdrawal executed on L2, to be claimed on L1 once its batch's output is final.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// The batch that executed it.
    pub batch_index: u64,
    /// Its position among the batch's withdrawals, in execution order (its leaf's position).
    pub position: u32,
    /// The L2 sender (not part of the leaf; kept for receipts).
    pub from: Address,
    /// The L1 recipient.
    pub to: Address,
    /// The token.
    pub token: TokenId,
    /// The amount paid out on L1 (the fee is not part of it).
    pub amount: U256,
}

impl WithdrawalRecord {
    /// The leaf, `keccak256(abi.encode(uint256 batchIndex, uint256 i, address to, uint32 token,
    /// uint256 amount))`: five 32-byte words.
    pub fn leaf_hash(&self) -> B256 {
        let mut words = [0u8; 160];
        words[24..32].copy_from_slice(&self.batch_index.to_be_bytes());
        words[60..64].copy_from_slice(&self.position.to_be_bytes());
        words[76..96].copy_from_slice(self.to.as_slice());
        words[124..128].copy_from_slice(&self.token.to_be_bytes());
        words[128..160].copy_from_slice(&self.amount.to_be_bytes::<32>());
        keccak256(words)
    }
}

/// The withdrawal tree of one batch: a sparse Keccak tree of depth 16 whose leaf `i` is the
/// batch's `i`-th withdrawal.
#[derive(Debug, Clone)]
pub struct WithdrawalTree {
    tree: SparseMerkleTree<KeccakHasher>,
}

impl WithdrawalTree {
    /// The root of a batch without withdrawals.
    pub fn empty_root() -> B256 {
        KeccakHasher::empty(WITHDRAWAL_TREE_DEPTH)
    }

    /// The tree of `records`, each at its `position`.
    pub fn new(records: &[WithdrawalRecord]) -> Result<Self> {
        let tree = SparseMerkleTree::from_leaves(
            WITHDRAWAL_TREE_DEPTH,
            records.iter().map(|r| (u64::from(r.position), r.leaf_hash())),
        )?;
        Ok(Self { tree })
    }

    /// The withdrawal root posted with the batch's output.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The proof of the withdrawal at `position`, for `Bridge.claimWithdrawal`.
    pub fn proof(&self, position: u32) -> Result<MerkleProof> {
        self.tree.proof(u64::from(position))
    }

    /// Whether `record` is in the withdrawal tree of root `root`, as `Bridge.claimWithdrawal`
    /// checks it: exactly 16 siblings, and the leaf at the record's position.
    pub fn verify(root: B256, record: &WithdrawalRecord, proof: &MerkleProof) -> bool {
        proof.has_depth::<KeccakHasher>(WITHDRAWAL_TREE_DEPTH)
            && proof.verify::<KeccakHasher>(root, record.leaf_hash(), u64::from(record.position))
    }
}

/// The output root of a batch, `keccak256(abi.encode(stateRoot, withdrawalRoot))`, which the
/// proposer posts with `Rollup.proposeOutput`.
pub fn output_root(state_root: B256, withdrawal_root: B256) -> B256 {
    KeccakHasher::hash_node(state_root, withdrawal_root)
}

/// What a finished batch leaves: the roots its output commits to and its withdrawals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutput {
    /// The batch's index.
    pub batch_index: u64,
    /// The state root after the batch.
    pub state_root: B256,
    /// The root of the batch's withdrawal tree.
    pub withdrawal_root: B256,
    /// The batch's withdrawals, in execution order.
    pub withdrawals: Vec<WithdrawalRecord>,
}

impl BatchOutput {
    /// The output root, `keccak256(abi.encode(state_root, withdrawal_root))`.
    pub fn output_root(&self) -> B256 {
        output_root(self.state_root, self.withdrawal_root)
    }

    /// The batch's withdrawal tree, for proofs.
    pub fn withdrawal_tree(&self) -> WithdrawalTree {
        WithdrawalTree::new(&self.withdrawals).expect("a ledger's withdrawals fit their tree")
    }
}

/// Refuses a withdrawal that would not fit in the batch's tree.
pub(crate) fn check_room(count: usize) -> Result<()> {
    if count as u64 >= MAX_WITHDRAWALS_PER_BATCH {
        return Err(LedgerError::WithdrawalTreeFull { capacity: MAX_WITHDRAWALS_PER_BATCH });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;

    fn record(position: u32) -> WithdrawalRecord {
        WithdrawalRecord {
            batch_index: 7,
            position,
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(0xee),
            token: 3,
            amount: U256::from(1_000_000u64 + u64::from(position)),
        }
    }

    #[test]
    fn leaf_is_keccak_of_abi_encode() {
        let r = record(5);
        let encoded = (U256::from(r.batch_index), U256::from(r.position), r.to, r.token, r.amount)
            .abi_encode_params();
        assert_eq!(encoded.len(), 160);
        assert_eq!(r.leaf_hash(), keccak256(encoded));
    }

    #[test]
    fn proofs_verify_and_tampering_fails() {
        let records: Vec<_> = (0..5).map(record).collect();
        let tree = WithdrawalTree::new(&records).unwrap();
        for r in &records {
            let proof = tree.proof(r.position).unwrap();
            assert!(WithdrawalTree::verify(tree.root(), r, &proof));
            let mut wrong = r.clone();
            wrong.amount += U256::from(1u64);
            assert!(!WithdrawalTree::verify(tree.root(), &wrong, &proof));
            let mut moved = r.clone();
            moved.position += 1;
            assert!(!WithdrawalTree::verify(tree.root(), &moved, &proof));
            let mut other_batch = r.clone();
            other_batch.batch_index += 1;
            assert!(!WithdrawalTree::verify(tree.root(), &other_batch, &proof));
            let mut short = proof.clone();
            short.siblings.pop();
            assert!(!WithdrawalTree::verify(tree.root(), r, &short));
        }
        assert_eq!(WithdrawalTree::new(&[]).unwrap().root(), WithdrawalTree::empty_root());
        assert!(tree.proof(1 << 16).is_err());
    }

    #[test]
    fn output_root_is_keccak_of_both_roots() {
        let s = B256::repeat_byte(1);
        let w = B256::repeat_byte(2);
        assert_eq!(output_root(s, w), keccak256((s, w).abi_encode_params()));
    }
}
