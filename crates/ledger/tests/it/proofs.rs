//! Account and balance proofs: they verify from roots alone, and tampering fails.

use crate::util::*;
use ply_core::{Address, B256, U256};
use ply_ledger::{KeccakHasher, Ledger, LedgerError, TreeHasher};

type L = Ledger<KeccakHasher>;

fn populated() -> L {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, eth(3)).unwrap();
    deposit(&mut ledger, addr(1), 5, U256::from(77u64)).unwrap();
    deposit(&mut ledger, addr(2), 1, U256::from(1000u64)).unwrap();
    deposit(&mut ledger, addr(3), 255, U256::from(1u64)).unwrap();
    ledger.apply(&transfer(1, addr(2), 0, eth(1), U256::from(9u64), 0)).unwrap();
    ledger
}

#[test]
fn every_account_and_balance_proves() {
    let ledger = populated();
    let root = ledger.root();
    for index in 0..ledger.account_count() as u32 {
        let proof = ledger.account_proof(index).unwrap();
        assert!(proof.verify::<KeccakHasher>(root, 24));
        let account = ledger.account(index).unwrap();
        assert_eq!(proof.leaf.unwrap().address, account.address);
        assert_eq!(proof.leaf.unwrap().nonce, account.nonce);
        for token in [0u32, 1, 5, 200, 255] {
            let proof = ledger.balance_proof(index, token).unwrap();
            assert_eq!(proof.balance, account.balance(token));
            assert!(proof.verify::<KeccakHasher>(root, 24, 8), "account {index} token {token}");
        }
    }
    // Positions without an account prove empty.
    for index in [4u32, 5, 1000, (1 << 24) - 1] {
        let proof = ledger.account_proof(index).unwrap();
        assert_eq!(proof.leaf, None);
        assert!(proof.verify::<KeccakHasher>(root, 24));
    }
    assert!(matches!(
        ledger.account_proof(1 << 24),
        Err(LedgerError::IndexOutOfRange { index: 16_777_216, depth: 24 })
    ));
    assert!(matches!(
        ledger.balance_proof(4, 0),
        Err(LedgerError::NoSuchAccount { index: 4, count: 4 })
    ));
    assert!(matches!(
        ledger.balance_proof(1, 256),
        Err(LedgerError::IndexOutOfRange { index: 256, depth: 8 })
    ));
}

#[test]
fn tampered_proofs_fail() {
    let ledger = populated();
    let root = ledger.root();
    let good = ledger.balance_proof(1, 5).unwrap();
    assert!(good.verify::<KeccakHasher>(root, 24, 8));

    let mut bad = good.clone();
    bad.balance += U256::from(1u64);
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "inflated balance");

    let mut bad = good.clone();
    bad.token = 4;
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "other token");

    let mut bad = good.clone();
    bad.account.index = 2;
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "other account position");

    let mut bad = good.clone();
    bad.account.leaf.as_mut().unwrap().nonce += 1;
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "other nonce");

    let mut bad = good.clone();
    bad.account.leaf.as_mut().unwrap().address = Address::repeat_byte(9);
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "other owner");

    let mut bad = good.clone();
    bad.account.leaf = None;
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "account claimed empty");

    let mut bad = good.clone();
    bad.proof.siblings[3] = B256::repeat_byte(1);
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "balance sibling");

    let mut bad = good.clone();
    bad.account.proof.siblings[20] = B256::repeat_byte(1);
    assert!(!bad.verify::<KeccakHasher>(root, 24, 8), "account sibling");

    assert!(!good.verify::<KeccakHasher>(B256::repeat_byte(1), 24, 8), "other root");
    assert!(!good.verify::<KeccakHasher>(root, 23, 8), "other depth");
    assert!(!good.verify::<KeccakHasher>(root, 24, 7), "other depth");

    // A balance above the maximum never verifies, even with a matching path: a short proof
    // could otherwise pass off an inner node as a balance.
    let mut short = good.clone();
    short.proof.siblings.pop();
    assert!(!short.verify::<KeccakHasher>(root, 24, 8));

    // An empty position cannot be passed off as an account, nor an account as empty.
    let mut empty = ledger.account_proof(7).unwrap();
    assert!(empty.verify::<KeccakHasher>(root, 24));
    empty.leaf = ledger.account_proof(1).unwrap().leaf;
    assert!(!empty.verify::<KeccakHasher>(root, 24));

    // Proofs of an old state fail against the new root.
    let mut later = ledger.clone();
    deposit(&mut later, addr(1), 5, U256::from(1u64)).unwrap();
    assert!(!good.verify::<KeccakHasher>(later.root(), 24, 8));
}

/// What a one-step proof does: from the pre-state root and the proofs of the touched leaf
/// alone, compute the post-state root, and compare with the ledger's.
#[test]
fn proofs_suffice_to_recompute_the_next_root() {
    let mut ledger = populated();
    let pre = ledger.balance_proof(2, 1).unwrap();
    assert!(pre.verify::<KeccakHasher>(ledger.root(), 24, 8));

    let credit = U256::from(234u64);
    deposit(&mut ledger, addr(2), 1, credit).unwrap();

    let new_balances_root = pre
        .proof
        .compute_root::<KeccakHasher>(KeccakHasher::balance_leaf(pre.balance + credit), 1)
        .unwrap();
    let leaf = pre.account.leaf.unwrap();
    let new_leaf = KeccakHasher::hash_account(leaf.address, leaf.nonce, new_balances_root);
    let new_root = pre.account.proof.compute_root::<KeccakHasher>(new_leaf, 2).unwrap();
    assert_eq!(new_root, ledger.root());
}
