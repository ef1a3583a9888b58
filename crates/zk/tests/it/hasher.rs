//! `PoseidonHasher` as the ledger's tree hasher.

use ply_core::{Address, B256, U256, dev::dev_signer};
use ply_ledger::{
    Deposit, KeccakHasher, Ledger, LedgerConfig, SigningDomain, Transfer, TreeHasher, Withdrawal,
};
use ply_zk::{Fr, PoseidonHasher, fr_from_address, fr_from_b256, fr_to_b256, poseidon};

#[test]
fn digests_follow_the_definitions() {
    let children = [1u64, 2, 3, 4].map(Fr::from);
    assert_eq!(PoseidonHasher::ARITY_BITS, 2, "the zk family's trees are quaternary");
    assert_eq!(
        PoseidonHasher::hash_children(&children.map(fr_to_b256)),
        fr_to_b256(poseidon(&children))
    );
    assert_eq!(PoseidonHasher::balance_leaf(U256::ZERO), B256::ZERO);
    assert_eq!(
        fr_from_b256(PoseidonHasher::balance_leaf(U256::from(123_456u64))).unwrap(),
        Fr::from(123_456u64)
    );
    let max = U256::from(u128::MAX);
    assert_eq!(fr_from_b256(PoseidonHasher::balance_leaf(max)).unwrap(), Fr::from(u128::MAX));

    let address = Address::repeat_byte(0xab);
    let root = fr_to_b256(Fr::from(99u64));
    assert_eq!(
        PoseidonHasher::hash_account(address, 7, root),
        fr_to_b256(poseidon(&[fr_from_address(address), Fr::from(7u64), Fr::from(99u64)]))
    );
    assert_ne!(PoseidonHasher::hash_account(Address::ZERO, 0, B256::ZERO), B256::ZERO);
}

#[test]
fn empty_hashes_agree_with_the_default_chain() {
    let table = PoseidonHasher::empty_hashes(70);
    for (level, node) in table.iter().enumerate() {
        assert_eq!(PoseidonHasher::empty(level), *node, "level {level}");
    }
    assert_eq!(PoseidonHasher::empty(1), fr_to_b256(poseidon(&[Fr::from(0u64); 4])));
}

#[test]
fn a_poseidon_ledger_runs_and_its_proofs_verify() {
    let alice = dev_signer(1).unwrap();
    let bob = dev_signer(2).unwrap();
    let operator = dev_signer(0).unwrap().address();
    let mut ledger: Ledger<PoseidonHasher> = Ledger::new(LedgerConfig::new(operator)).unwrap();
    let mut keccak: Ledger<KeccakHasher> = Ledger::new(LedgerConfig::new(operator)).unwrap();
    let domain = SigningDomain::new(901, Address::repeat_byte(0x42));

    let deposits = [
        Deposit {
            queue_index: 0,
            to: alice.address(),
            token: 0,
            amount: U256::from(1000u64),
            ..Default::default()
        },
        Deposit {
            queue_index: 1,
            to: bob.address(),
            token: 3,
            amount: U256::from(50u64),
            ..Default::default()
        },
    ];
    for deposit in &deposits {
        ledger.apply_deposit(deposit).unwrap();
        keccak.apply_deposit(deposit).unwrap();
    }
    let transfer = Transfer {
        from: alice.address(),
        to: bob.address(),
        token: 0,
        amount: U256::from(600u64),
        fee: U256::from(1u64),
        nonce: 0,
    };
    let withdrawal = Withdrawal {
        from: bob.address(),
        to: Address::repeat_byte(0x77),
        token: 3,
        amount: U256::from(20u64),
        fee: U256::ZERO,
        nonce: 0,
    };
    let txs = [
        transfer.sign(&alice, &domain).unwrap().verify(&domain).unwrap(),
        withdrawal.sign(&bob, &domain).unwrap().verify(&domain).unwrap(),
    ];
    for tx in &txs {
        ledger.apply(tx).unwrap();
        keccak.apply(tx).unwrap();
    }

    assert_eq!(ledger.balance(&alice.address(), 0), U256::from(399u64));
    assert_eq!(ledger.balance(&bob.address(), 0), U256::from(600u64));
    assert_eq!(ledger.balance(&bob.address(), 3), U256::from(30u64));
    assert_eq!(ledger.accounts(), keccak.accounts(), "the hasher changes commitments, not state");

    let root = ledger.root();
    assert_ne!(root, keccak.root());
    fr_from_b256(root).expect("a Poseidon root is a field element");
    let (account_depth, token_depth) =
        (LedgerConfig::DEFAULT_ACCOUNT_DEPTH, LedgerConfig::DEFAULT_TOKEN_DEPTH);
    for index in 0..ledger.account_count() as u32 {
        for token in [0, 3] {
            let proof = ledger.balance_proof(index, token).unwrap();
            assert!(proof.verify::<PoseidonHasher>(root, account_depth, token_depth));
            assert!(!proof.verify::<KeccakHasher>(root, account_depth, token_depth));
            let mut lie = proof.clone();
            lie.balance += U256::from(1u64);
            assert!(!lie.verify::<PoseidonHasher>(root, account_depth, token_depth));
        }
    }
}
