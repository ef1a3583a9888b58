//! The state commitment's parts: the address tree, the known-token bitmap, priority operations
//! and compressed sparse proofs, with their pinned values (`docs/rollup.md`, "Fraud proofs").

use crate::util::*;
use alloy::{
    primitives::{b256, keccak256},
    sol_types::{
        SolType, SolValue,
        sol_data::{Address as SolAddress, Uint},
    },
};
use ply_core::{Address, B256, U256};
use ply_ledger::{
    ADDRESS_TREE_DEPTH, KeccakHasher, Ledger, LedgerError, OpKind, PriorityOp, SparseProof,
    WithdrawalTree, address_leaf, address_position,
};

fn op(kind: OpKind, from: Address, to: Address, token: u32, amount: U256) -> PriorityOp {
    PriorityOp { kind: kind as u8, from, to, token, amount, timestamp: 1_800_000_000 }
}

#[test]
fn the_address_tree_proves_every_address_and_every_absence() {
    let mut ledger = ledger();
    let genesis = ledger.address_root();
    for i in 1..6 {
        deposit(&mut ledger, addr(i), 0, eth(1)).unwrap();
    }
    let root = ledger.address_root();
    assert_ne!(root, genesis);
    for i in 0..6 {
        let proof = ledger.address_proof(&addr(i));
        let index = ledger.index_of(&addr(i)).unwrap();
        assert_eq!(index, i as u32);
        assert!(proof.verify(root, address_leaf(index), address_position(&addr(i)), 160));
        assert!(!proof.verify(root, B256::ZERO, address_position(&addr(i)), 160));
    }
    let stranger = Address::repeat_byte(0x77);
    let proof = ledger.address_proof(&stranger);
    assert!(proof.verify(root, B256::ZERO, address_position(&stranger), ADDRESS_TREE_DEPTH));
    // Reloading a snapshot rebuilds the same tree.
    let reloaded: Ledger = serde_json::from_str(&snapshot(&ledger)).unwrap();
    assert_eq!(reloaded.address_root(), root);
    // The fee account alone, at genesis: one leaf `bytes32(1)` at its address.
    assert_eq!(
        genesis,
        SparseProof { bitmap: U256::ZERO, siblings: vec![] }
            .compute_root(address_leaf(0), address_position(&addr(0)), 160)
            .unwrap()
    );
}

#[test]
fn sparse_proofs_compress_full_proofs_and_refuse_other_encodings() {
    let mut ledger = ledger();
    for i in 1..4 {
        deposit(&mut ledger, addr(i), 0, eth(i as u64)).unwrap();
    }
    let root = ledger.root();
    let full = ledger.account_proof(2).unwrap();
    let sparse = SparseProof::compress(&full.proof);
    assert_eq!(sparse.siblings.len(), 2, "accounts 0 to 3 share the two lowest levels");
    let leaf = full.leaf_hash::<KeccakHasher>();
    assert!(sparse.verify(root, leaf, U256::from(2u64), 24));
    // A stray bitmap bit (above the depth, or without its sibling), an extra sibling, a
    // position beyond the tree: refused.
    let mut stray = sparse.clone();
    stray.bitmap.set_bit(24, true);
    assert_eq!(stray.compute_root(leaf, U256::from(2u64), 24), None);
    let mut missing = sparse.clone();
    missing.bitmap.set_bit(5, true);
    assert_eq!(missing.compute_root(leaf, U256::from(2u64), 24), None);
    let mut extra = sparse.clone();
    extra.siblings.push(B256::ZERO);
    assert_eq!(extra.compute_root(leaf, U256::from(2u64), 24), None);
    assert_eq!(sparse.compute_root(leaf, U256::from(1u64 << 24), 24), None);
    // The withdrawal tree's proofs compress the same way.
    let empty = WithdrawalTree::new(&[]).unwrap();
    let proof = SparseProof::compress(&empty.proof(0).unwrap());
    assert!(proof.siblings.is_empty());
    assert!(proof.verify(WithdrawalTree::empty_root(), B256::ZERO, U256::ZERO, 16));
}

#[test]
fn forced_operations_pay_no_fee_and_keep_the_nonce() {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, eth(10)).unwrap();
    let q = ledger.queue_index();
    let forced = op(OpKind::ForcedTransfer, addr(1), addr(5), 0, eth(3));
    let effects = ledger.apply_op(q, &forced).unwrap();
    assert_eq!(effects.created_account, Some(2));
    assert_eq!(ledger.balance(&addr(1), 0), eth(7));
    assert_eq!(ledger.balance(&addr(5), 0), eth(3));
    assert_eq!(ledger.balance(&addr(0), 0), U256::ZERO, "no fee");
    assert_eq!(ledger.next_nonce(&addr(1)), 0, "no nonce change");
    let withdraw = op(OpKind::ForcedWithdrawal, addr(5), Address::repeat_byte(0xee), 0, eth(1));
    let effects = ledger.apply_op(q + 1, &withdraw).unwrap();
    let record = effects.withdrawal.unwrap();
    assert_eq!((record.from, record.to, record.amount), (addr(5), withdraw.to, eth(1)));
    assert_eq!(ledger.balance(&addr(5), 0), eth(2));
    assert_eq!(ledger.queue_index(), q + 2);

    // Refusals change nothing; the operation is then skipped.
    let state = snapshot(&ledger);
    for (bad, want) in [
        (
            op(OpKind::ForcedTransfer, addr(9), addr(1), 0, eth(1)),
            LedgerError::UnknownAccount { address: addr(9) },
        ),
        (
            op(OpKind::ForcedWithdrawal, addr(1), addr(1), 4, eth(1)),
            LedgerError::UnknownToken { token: 4 },
        ),
        (
            op(OpKind::ForcedTransfer, addr(1), addr(2), 0, eth(8)),
            LedgerError::InsufficientBalance {
                address: addr(1),
                token: 0,
                have: eth(7),
                need: eth(8),
            },
        ),
        (PriorityOp { kind: 3, ..forced.clone() }, LedgerError::UnknownOpKind { kind: 3 }),
    ] {
        assert_eq!(ledger.apply_op(q + 2, &bad).unwrap_err(), want);
        assert!(want.is_invalid_transaction());
        assert_eq!(snapshot(&ledger), state);
    }
    assert!(ledger.apply_op(q + 3, &forced).is_err(), "out of queue order");
    ledger.skip_op(q + 2).unwrap();
    assert_eq!(ledger.queue_index(), q + 3);
}

#[test]
fn the_token_bitmap_and_block_timestamps() {
    let mut ledger = ledger();
    assert_eq!(ledger.tokens(), U256::ZERO);
    deposit(&mut ledger, addr(1), 0, eth(1)).unwrap();
    deposit(&mut ledger, addr(1), 3, eth(1)).unwrap();
    assert_eq!(ledger.tokens(), U256::from(0b1001u64));
    ledger.begin_block(10).unwrap();
    ledger.begin_block(10).unwrap();
    assert_eq!(
        ledger.begin_block(9).unwrap_err(),
        LedgerError::TimestampDecreases { timestamp: 9, last: 10 }
    );
    assert_eq!(ledger.last_timestamp(), 10);
    let reloaded: Ledger = serde_json::from_str(&snapshot(&ledger)).unwrap();
    assert_eq!(reloaded.commitment(), ledger.commitment());
}

/// Pinned: the op hash and the state commitment, for the Solidity side to check against.
#[test]
fn op_hash_and_state_commitment_fixtures() {
    let deposit_op = op(OpKind::Deposit, addr(1), addr(2), 0, eth(1));
    type OpTuple = (Uint<256>, Uint<8>, SolAddress, SolAddress, Uint<32>, Uint<256>, Uint<64>);
    let explicit = OpTuple::abi_encode_params(&(
        U256::from(7u64),
        0u8,
        deposit_op.from,
        deposit_op.to,
        0u32,
        deposit_op.amount,
        deposit_op.timestamp,
    ));
    assert_eq!(explicit.len(), 7 * 32);
    assert_eq!(deposit_op.hash(7), keccak256(&explicit));
    assert_eq!(
        deposit_op.hash(7),
        b256!("0xd75b75ee0523608d227ba332ce75b22fc3192e0eac5f495a431b3fb0f45490ee")
    );

    let genesis = ledger().commitment();
    assert_eq!(genesis.stateRoot, ledger().root());
    assert_eq!(genesis.accountCount, 1);
    let explicit =
        (genesis.stateRoot, genesis.addressRoot, 1u64, U256::ZERO, 0u64, 0u64).abi_encode_params();
    assert_eq!(genesis.hash(), keccak256(explicit));
    assert_eq!(
        genesis.addressRoot,
        b256!("0x54cef3ba41367f3e35a441822146dffe0cbed3a376ffc603fe6a25a585772982")
    );
    assert_eq!(
        genesis.hash(),
        b256!("0x50b40d115d9e0732f3acb9c4dd1133c5fcc786dfd63b2d470850d3bbdd07f8f7")
    );
}

/// Pinned: the snapshot format, version 2.
#[test]
fn snapshot_fixture() {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, U256::from(5u64)).unwrap();
    ledger.begin_block(42).unwrap();
    assert_eq!(
        snapshot(&ledger),
        concat!(
            r#"{"version":2,"config":{"account_depth":24,"token_depth":8,"#,
            r#""fee_account":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"},"#,
            r#""accounts":[{"address":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","nonce":0,"#,
            r#""balances":{}},{"address":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","nonce":0,"#,
            r#""balances":{"0":"0x5"}}],"known_tokens":[0],"queue_index":1,"last_timestamp":42,"#,
            r#""batch_index":0,"withdrawals":[]}"#
        )
    );
}
