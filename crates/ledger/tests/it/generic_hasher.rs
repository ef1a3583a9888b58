//! The ledger is generic over its tree hasher: a hasher unlike Keccak's (as Poseidon is), with
//! quaternary trees, gives another, equally consistent ledger.

use crate::util::*;
use ply_core::{Address, B256, U256, keccak256};
use ply_ledger::{KeccakHasher, Ledger, LedgerConfig, LedgerError, TreeHasher};

/// Keccak with a domain tag in front of every input, a hashed balance leaf and four children a
/// node: nothing of it agrees with [`KeccakHasher`] except the empty leaf, which the trait fixes.
struct TaggedHasher;

impl TreeHasher for TaggedHasher {
    const NAME: &'static str = "tagged";
    const ARITY_BITS: u32 = 2;

    fn hash_children(children: &[B256]) -> B256 {
        assert_eq!(children.len(), 4);
        keccak256([b"node".as_slice(), &children.concat()].concat())
    }

    fn balance_leaf(amount: U256) -> B256 {
        if amount.is_zero() {
            B256::ZERO
        } else {
            keccak256([b"balance".as_slice(), &amount.to_be_bytes::<32>()].concat())
        }
    }

    fn hash_account(address: Address, nonce: u64, balances_root: B256) -> B256 {
        keccak256(
            [
                b"account".as_slice(),
                address.as_slice(),
                &nonce.to_be_bytes(),
                balances_root.as_slice(),
            ]
            .concat(),
        )
    }
}

fn scenario<H: TreeHasher>() -> Ledger<H> {
    let mut ledger = ledger_with::<H>();
    deposit(&mut ledger, addr(1), 0, U256::from(500u64)).unwrap();
    deposit(&mut ledger, addr(2), 3, U256::from(70u64)).unwrap();
    ledger.apply(&transfer(1, addr(2), 0, U256::from(200u64), U256::from(2u64), 0)).unwrap();
    ledger.apply(&withdrawal(2, addr(9), 3, U256::from(20u64), U256::ZERO, 0)).unwrap();
    ledger
}

#[test]
fn another_hasher_gives_another_consistent_ledger() {
    let tagged = scenario::<TaggedHasher>();
    let keccak = scenario::<KeccakHasher>();
    assert_ne!(tagged.root(), keccak.root());
    assert_eq!(tagged.root(), root_from_scratch(&tagged));
    assert_eq!(tagged.accounts(), keccak.accounts(), "the hasher changes commitments, not state");
    // 24 index bits are 12 quaternary levels.
    assert_eq!(tagged.empty_root_for_tests(), TaggedHasher::empty(12));

    let root = tagged.root();
    for index in 0..3 {
        for token in [0, 3] {
            let proof = tagged.balance_proof(index, token).unwrap();
            assert!(proof.verify::<TaggedHasher>(root, 24, 8));
            assert!(!proof.verify::<KeccakHasher>(root, 24, 8));
        }
    }
    // The withdrawal tree is Keccak whatever the state tree uses (the L1 checks it).
    assert_eq!(tagged.withdrawal_tree().root(), keccak.withdrawal_tree().root());
    // Snapshots do not depend on the hasher, and reload under either.
    let json = serde_json::to_string(&tagged).unwrap();
    assert_eq!(json, serde_json::to_string(&keccak).unwrap());
    let reloaded: Ledger<KeccakHasher> = serde_json::from_str(&json).unwrap();
    assert_eq!(reloaded.root(), keccak.root());
}

#[test]
fn a_depth_that_is_not_whole_levels_is_refused() {
    let mut config = LedgerConfig::new(addr(0));
    config.token_depth = 7;
    let err = Ledger::<TaggedHasher>::new(config.clone()).unwrap_err();
    assert!(matches!(err, LedgerError::UnalignedDepth { depth: 7, arity_bits: 2, .. }), "{err}");
    assert!(Ledger::<KeccakHasher>::new(config).is_ok(), "a binary tree takes any depth");
}

trait EmptyRoot {
    fn empty_root_for_tests(&self) -> B256;
}

impl<H: TreeHasher> EmptyRoot for Ledger<H> {
    fn empty_root_for_tests(&self) -> B256 {
        ply_ledger::SparseMerkleTree::<H>::new(self.config().account_depth).unwrap().root()
    }
}
