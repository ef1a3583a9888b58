//! The batch circuit: a valid batch satisfies it and its public input matches the native
//! commitment; each kind of cheat leaves it unsatisfied or is refused with the operation named;
//! SHA-256 gadget against its twin; the public-data fixture; constraints per operation.

use ark_r1cs_std::{GR1CSVar, alloc::AllocVar, boolean::Boolean};
use ark_relations::gr1cs::ConstraintSystem;
use ply_core::{Address, dev::dev_signer};
use ply_zk::{
    Fr,
    circuit::{
        BatchParams, BatchWitness, CircuitError, PackedAmount, ZkDeposit, ZkOperation, ZkState,
        ZkTransfer, ZkWithdrawal, batch_commitment, sha256, sha256_var, signing_domain,
    },
    eddsa::SecretKey,
};

fn key(index: usize) -> SecretKey {
    SecretKey::from_ethereum_signer(&dev_signer(index).unwrap()).unwrap()
}

fn address(byte: u8) -> Address {
    Address::repeat_byte(byte)
}

const PARAMS: BatchParams = BatchParams {
    account_depth: 4,
    token_depth: 2,
    deposits: 2,
    transfers: 2,
    withdrawals: 2,
    fee_tokens: 1,
};

/// The signing domain of these tests' deployment.
fn domain() -> Fr {
    signing_domain(31337, address(0xdd))
}

fn genesis(params: &BatchParams) -> ZkState {
    ZkState::new(params, domain(), address(0xee), key(0).public_key()).unwrap()
}

const ETHER: u128 = 1_000_000_000_000_000_000;

/// Alice (index 1) and Bob (index 2) deposit; Alice pays Bob 0.25 ETH with a fee; Bob
/// withdraws 0.1 ETH. One transfer slot and one withdrawal slot are padding.
fn valid_ops() -> Vec<ZkOperation> {
    let (alice, bob) = (key(1), key(2));
    vec![
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice.public_key(),
            token: 1,
            amount: ETHER,
        }),
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xb0),
            public_key: bob.public_key(),
            token: 1,
            amount: 5,
        }),
        ZkOperation::Transfer(ZkTransfer::signed(
            &alice,
            domain(),
            1,
            2,
            1,
            ETHER / 4,
            3_000_000_000_000,
            0,
        )),
        ZkOperation::Withdrawal(ZkWithdrawal::signed(&bob, domain(), 2, 1, ETHER / 10, 0, 0)),
    ]
}

fn valid_batch() -> (ZkState, BatchWitness) {
    let mut state = genesis(&PARAMS);
    let witness = BatchWitness::build(&mut state, &PARAMS, &valid_ops()).unwrap();
    (state, witness)
}

fn unsatisfied_at(circuit: &ply_zk::circuit::BatchCircuit) -> String {
    match circuit.check() {
        Err(CircuitError::Unsatisfied { slot, .. }) => slot,
        other => panic!("expected an unsatisfied circuit, got {other:?}"),
    }
}

#[test]
fn sha256_matches_known_vectors_and_the_gadget_matches_native() {
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for len in [0usize, 3, 55, 56, 64, 100] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits: Vec<Boolean<Fr>> = data
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
            .map(|bit| Boolean::new_witness(cs.clone(), || Ok(bit)).unwrap())
            .collect();
        let out = sha256_var(&bits).unwrap();
        let bytes: Vec<u8> = out
            .chunks(8)
            .map(|byte| byte.iter().fold(0u8, |acc, b| acc << 1 | u8::from(b.value().unwrap())))
            .collect();
        assert_eq!(bytes, sha256(&data), "length {len}");
        assert!(cs.is_satisfied().unwrap());
        if len == 55 {
            // One block: the count of the well-known R1CS SHA-256 circuits (about 26,000).
            let constraints = cs.num_constraints();
            assert!(constraints < 26_500, "{constraints} constraints for one block");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn packed_amounts_round_trip_and_refuse_inexact_values() {
    let p = PackedAmount::pack(ETHER / 4, PackedAmount::AMOUNT_MANTISSA_BITS).unwrap();
    assert_eq!((p.mantissa, p.exponent), (250_000, 12), "the smallest exponent");
    assert_eq!(p.value(), ETHER / 4);
    assert_eq!(p.encode(), 250_000 << 5 | 12);
    assert_eq!(PackedAmount::pack(524_287, 19).unwrap().exponent, 0);
    assert!(PackedAmount::pack(524_288 + 1, 19).is_none(), "too many significant digits");
    assert_eq!(PackedAmount::pack(3_000_000_000_000, 3).unwrap().encode(), 3 << 5 | 12);
    assert!(PackedAmount::pack(15, 3).is_none());
}

#[test]
fn a_valid_batch_satisfies_the_circuit_and_commits_to_its_public_data() {
    let (state, witness) = valid_batch();
    let circuit = &witness.circuit;
    assert_eq!(circuit.new_root, state.root());
    assert_ne!(circuit.old_root, circuit.new_root);
    assert!(circuit.check().is_ok(), "{:?}", circuit.check());
    assert_eq!(
        witness.commitment,
        batch_commitment(
            domain(),
            circuit.old_root,
            circuit.new_root,
            &witness.onchain,
            &witness.transfers,
            &witness.priority_ops
        )
    );
    assert_eq!(witness.onchain.len(), PARAMS.onchain_len());
    assert_eq!(witness.transfers.len(), PARAMS.transfers_len());
    // Balances: Alice 1 - 0.25 - fee, Bob 5 + 0.25 - 0.1, operator the fee.
    let fee = 3_000_000_000_000;
    assert_eq!(state.account(1).unwrap().balances[&1], ETHER - ETHER / 4 - fee);
    assert_eq!(state.account(2).unwrap().balances[&1], 5 + ETHER / 4 - ETHER / 10);
    assert_eq!(state.account(0).unwrap().balances[&1], fee);
    assert_eq!(state.account(1).unwrap().nonce, 1);
}

#[test]
fn public_data_fixture_is_byte_exact() {
    let (_, witness) = valid_batch();
    let onchain = hex(&witness.onchain);
    // Priority outcomes: 0x01 (credited) ‖ payout 0, twice.
    assert_eq!(&onchain[..68], format!("01{}01{}", "0".repeat(32), "0".repeat(32)));
    // Withdrawal: 0x03 ‖ from 2 ‖ token 1 ‖ amount u128 ‖ fee 0 ‖ Bob's address; then padding.
    assert_eq!(&onchain[68..152], format!("0300000201{:032x}00{}", ETHER / 10, "b0".repeat(20)));
    assert_eq!(&onchain[152..], "0".repeat(84));
    // Transfer: 0x02 ‖ from 1 ‖ to 2 ‖ token 1 ‖ amount 250000·10^12 ‖ fee 3·10^12; then padding.
    let transfers = hex(&witness.transfers);
    assert_eq!(&transfers[..24], "02000001000002017a120c6c");
    assert_eq!(&transfers[24..], "0".repeat(24));
    // Priority operations: kind 1 ‖ account 1 ‖ to ‖ token ‖ amount ‖ pubkey.x ‖ pubkey.y.
    assert_eq!(witness.priority_ops.len(), 2 * 105);
    assert_eq!(
        hex(&witness.priority_ops[..41]),
        format!("01000001{}01{:032x}", "a1".repeat(20), ETHER)
    );
    assert_eq!(hex(&witness.priority_ops[105..109]), "01000002");
    // A refused deposit and a full exit: 0x05 ‖ its amount, 0x04 ‖ the balance.
    let mut state = genesis(&PARAMS);
    BatchWitness::build(&mut state, &PARAMS, &valid_ops()[..1]).unwrap();
    let alice = key(1).public_key();
    let ops = vec![
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice,
            token: 1,
            amount: u128::MAX,
        }),
        ZkOperation::FullExit(ply_zk::circuit::ZkFullExit { owner: address(0xa1), token: 1 }),
    ];
    let witness = BatchWitness::build(&mut state, &PARAMS, &ops).unwrap();
    let onchain = hex(&witness.onchain);
    assert_eq!(&onchain[..68], format!("05{:032x}04{:032x}", u128::MAX, ETHER));
    assert_eq!(hex(&witness.priority_ops[105..130]), format!("04000001{}01", "a1".repeat(20)));
    assert!(witness.priority_ops[130..210].iter().all(|b| *b == 0), "a full exit's amount and key");
}

#[test]
fn a_partly_filled_batch_pads_without_changing_the_root() {
    let mut state = genesis(&PARAMS);
    let before = state.root();
    let empty = BatchWitness::build(&mut state, &PARAMS, &[]).unwrap();
    assert_eq!(empty.circuit.new_root, before);
    assert!(empty.onchain.iter().chain(&empty.transfers).all(|b| *b == 0));
    assert!(empty.circuit.check().is_ok());
}

#[test]
fn the_builder_refuses_invalid_operations_naming_them() {
    let (alice, bob) = (key(1), key(2));
    let mut ops = valid_ops();
    let cases: Vec<(ZkOperation, &str)> = vec![
        (
            ZkOperation::Transfer(ZkTransfer::signed(&bob, domain(), 1, 2, 1, ETHER / 4, 0, 0)),
            "signature does not verify",
        ),
        (
            ZkOperation::Transfer(ZkTransfer::signed(&alice, domain(), 1, 2, 1, ETHER / 4, 0, 1)),
            "nonce 1",
        ),
        (
            ZkOperation::Transfer(ZkTransfer::signed(&alice, domain(), 1, 2, 1, 2 * ETHER, 0, 0)),
            "below amount",
        ),
    ];
    for (bad, reason) in cases {
        ops[2] = bad;
        let mut state = genesis(&PARAMS);
        let before = state.root();
        let err = BatchWitness::build(&mut state, &PARAMS, &ops).unwrap_err().to_string();
        assert!(err.contains("operation 2 (transfer)") && err.contains(reason), "{err}");
        assert_eq!(state.root(), before, "nothing applied");
    }
    // Overflow: a deposit above 2^128 - 1 in total is refused by the circuit (and paid back on
    // L1), not by the builder: the batch takes it and changes nothing.
    let overflow = vec![
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice.public_key(),
            token: 1,
            amount: u128::MAX,
        }),
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice.public_key(),
            token: 1,
            amount: 1,
        }),
    ];
    let witness = BatchWitness::build(&mut genesis(&PARAMS), &PARAMS, &overflow).unwrap();
    let refused = &witness.circuit.deposits[1];
    assert!(refused.enabled && refused.refused && refused.payout == 1);
    assert!(witness.circuit.check().is_ok(), "{:?}", witness.circuit.check());
    // Out of section order.
    let mut reordered = valid_ops();
    reordered.swap(1, 2);
    let err =
        BatchWitness::build(&mut genesis(&PARAMS), &PARAMS, &reordered).unwrap_err().to_string();
    assert!(err.contains("operation 2 (deposit)"), "{err}");
}

#[test]
fn a_wrong_signature_leaves_the_circuit_unsatisfied() {
    let (_, mut witness) = valid_batch();
    let forged = ZkTransfer::signed(&key(2), domain(), 1, 2, 1, ETHER / 4, 3_000_000_000_000, 0);
    witness.circuit.transfers[0].tx.signature = forged.signature;
    assert_eq!(unsatisfied_at(&witness.circuit), "transfer 0");
}

#[test]
fn a_wrong_nonce_leaves_the_circuit_unsatisfied() {
    // Signed with nonce 1 while the account's nonce is 0: the circuit signs the leaf's nonce.
    let (_, mut witness) = valid_batch();
    let replay = ZkTransfer::signed(&key(1), domain(), 1, 2, 1, ETHER / 4, 3_000_000_000_000, 1);
    witness.circuit.transfers[0].tx = replay;
    assert_eq!(unsatisfied_at(&witness.circuit), "transfer 0");
    // And a leaf nonce that is not the tree's.
    let (_, mut witness) = valid_batch();
    witness.circuit.transfers[0].sender.nonce = 1;
    assert_eq!(unsatisfied_at(&witness.circuit), "transfer 0");
}

#[test]
fn an_overdraft_leaves_the_circuit_unsatisfied() {
    // A correctly signed transfer of more than Alice holds (the builder would refuse it).
    let (_, mut witness) = valid_batch();
    let overdraft = ZkTransfer::signed(&key(1), domain(), 1, 2, 1, 2 * ETHER, 3_000_000_000_000, 0);
    witness.circuit.transfers[0].tx = overdraft;
    assert_eq!(unsatisfied_at(&witness.circuit), "transfer 0");
}

#[test]
fn an_overflow_leaves_the_circuit_unsatisfied() {
    // Bob's deposit tampered to u128::MAX on top of his balance... he has none yet: credit
    // Alice's existing account instead, whose old balance (1 ETH) plus 2^128 - 1 overflows.
    let mut state = genesis(&PARAMS);
    let alice = key(1).public_key();
    let ops = vec![
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice,
            token: 1,
            amount: ETHER,
        }),
        ZkOperation::Deposit(ZkDeposit {
            to: address(0xa1),
            public_key: alice,
            token: 1,
            amount: 1,
        }),
    ];
    let mut witness = BatchWitness::build(&mut state, &PARAMS, &ops).unwrap();
    assert!(witness.circuit.check().is_ok());
    witness.circuit.deposits[1].amount = u128::MAX;
    assert_eq!(unsatisfied_at(&witness.circuit), "priority 1");
}

#[test]
fn a_wrong_new_root_or_tampered_public_data_leaves_the_circuit_unsatisfied() {
    let (_, witness) = valid_batch();
    let mut wrong_root = witness.circuit.clone();
    wrong_root.new_root += Fr::from(1u64);
    assert_eq!(unsatisfied_at(&wrong_root), "the new root");

    // Public data tampered (the amount byte of the transfer), the commitment recomputed over it.
    let commit = |onchain: &[u8], transfers: &[u8], ops: &[u8]| {
        let mut tampered = witness.circuit.clone();
        tampered.commitment = batch_commitment(
            domain(),
            tampered.old_root,
            tampered.new_root,
            onchain,
            transfers,
            ops,
        );
        tampered
    };
    let mut data = witness.transfers.clone();
    data[10] ^= 1;
    let tampered = commit(&witness.onchain, &data, &witness.priority_ops);
    assert_eq!(unsatisfied_at(&tampered), "the batch commitment");
    let mut data = witness.onchain.clone();
    data[12] ^= 1;
    let tampered = commit(&data, &witness.transfers, &witness.priority_ops);
    assert_eq!(unsatisfied_at(&tampered), "the batch commitment");
    // Another deployment's domain.
    let mut tampered = witness.circuit.clone();
    tampered.domain = signing_domain(1, address(0xdd));
    assert!(tampered.check().is_err());

    // A priority operation tampered (another recipient key would be committed).
    let mut ops = witness.priority_ops.clone();
    ops[0] ^= 1;
    let tampered = commit(&witness.onchain, &witness.transfers, &ops);
    assert_eq!(unsatisfied_at(&tampered), "the batch commitment");
}

fn constraints(
    deposits: usize,
    transfers: usize,
    withdrawals: usize,
    depth: (usize, usize),
) -> usize {
    let params = BatchParams {
        account_depth: depth.0,
        token_depth: depth.1,
        deposits,
        transfers,
        withdrawals,
        fee_tokens: 1,
    };
    let mut state = genesis(&params);
    BatchWitness::build(&mut state, &params, &[]).unwrap().circuit.num_constraints().unwrap()
}

#[test]
fn constraints_per_operation() {
    let depth = (8, 4);
    let base = constraints(1, 1, 1, depth);
    let per_deposit = constraints(2, 1, 1, depth) - base; // a priority slot: deposit or full exit
    let per_transfer = constraints(1, 2, 1, depth) - base;
    let per_withdrawal = constraints(1, 1, 2, depth) - base;
    eprintln!(
        "depths {depth:?}: {per_transfer} constraints per transfer, {per_deposit} per deposit, \
         {per_withdrawal} per withdrawal, {base} for a 1+1+1 batch"
    );
    assert!(per_transfer <= 30_000, "{per_transfer} constraints per transfer");
}
