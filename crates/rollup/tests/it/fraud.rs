//! The fraud proof's step machine and trace (`docs/rollup.md`, "Fraud proofs (version 1)"):
//! pinned hashes for the Solidity side, and the trace of a batch with every kind of step.

use alloy::primitives::{Address, B256, U256, b256, keccak256};
use ply_core::dev::dev_signer;
use ply_ledger::{
    KeccakHasher, Ledger, LedgerConfig, OpKind, PriorityOp, SigningDomain, Transfer, Tx, Withdrawal,
};
use ply_rollup::{
    batch::{self, BatchTx, Recipient},
    fraud::{
        BatchData, BatchInput, Phase, StepEvent, StepMachine, StepState, Trace, VerifySignatures,
        batch_hash, output_root, state_commitment, step_hash, trace_length, verify_chunk,
    },
};

fn domain() -> SigningDomain {
    SigningDomain::new(901, Address::repeat_byte(0x42))
}

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ply_core::ETHER)
}

fn sample_state(phase: Phase) -> StepState {
    StepState {
        phase: phase as u8,
        stateRoot: B256::repeat_byte(1),
        addressRoot: B256::repeat_byte(2),
        accountCount: 3,
        tokens: U256::from(0b101u64),
        queueIndex: 4,
        lastTimestamp: 1_800_000_000,
        withdrawalCount: 5,
        withdrawalRoot: B256::repeat_byte(6),
        cursor: 7,
        blocksLeft: 8,
        blockOps: 9,
        blockTxs: 10,
    }
}

/// Pinned: stateCommitment, stepHash (both forms) and outputRoot of a sample state.
#[test]
fn step_hash_fixtures() {
    let state = sample_state(Phase::Blocks);
    let commitment = state_commitment(&state);
    assert_eq!(
        commitment,
        b256!("0x785427508943fe76812b34fca066207d8772f5c39e09aca9d97705488ff1d52d")
    );
    assert_eq!(
        step_hash(&state),
        b256!("0x9e74baa039e481455f1a42d830b20b565a64b1839edf1e50e0fc1104b343f868")
    );
    let done = sample_state(Phase::Done);
    assert_eq!(step_hash(&done), output_root(commitment, done.withdrawalRoot));
    assert_eq!(
        step_hash(&done),
        b256!("0x6b6d42fb38780332945a04eb7b8bdba2ad2a408b0edf7e699a734789f35b8b21")
    );
    // The parse fields are part of the hash before DONE, not after.
    let mut moved = state.clone();
    moved.cursor += 1;
    assert_ne!(step_hash(&moved), step_hash(&state));
    let mut moved_done = done.clone();
    moved_done.cursor += 1;
    assert_eq!(step_hash(&moved_done), step_hash(&done));
}

/// Pinned: the chunk root of a 2,500-byte batch (3 chunks, padded to 4) and its batch hash.
#[test]
fn data_root_fixture() {
    let data: Vec<u8> = (0..2_500u32).map(|i| (i % 251) as u8).collect();
    let tree = BatchData::new(data.clone());
    assert_eq!((tree.chunk_count(), tree.depth()), (3, 2));
    let leaves: Vec<B256> = data.chunks(1024).map(keccak256).collect();
    let h = KeccakHasher::hash_node;
    assert_eq!(tree.root(), h(h(leaves[0], leaves[1]), h(leaves[2], B256::ZERO)));
    assert_eq!(
        tree.root(),
        b256!("0x65250c1ee0c83b297afbdba4e8c6892c635d9187a0b1e9c5db7ff3c696b15900")
    );
    for i in 0..3 {
        let chunk = tree.chunk(i).unwrap();
        assert!(verify_chunk(&chunk, tree.root(), 2_500));
        // Another length: only the last chunk's size tells.
        assert_eq!(verify_chunk(&chunk, tree.root(), 2_501), i != 2);
    }
    assert_eq!(BatchData::new(vec![]).root(), B256::ZERO);
    let one = BatchData::new(vec![7; 10]);
    assert_eq!((one.depth(), one.root()), (0, keccak256([7u8; 10])));
    assert_eq!(
        batch_hash(3, 10, 12, tree.root(), 2_500),
        b256!("0xd5478ec14cbb47d921b74d3738a003f5e6c192bb9d6c6991255f9fa154aea8b3")
    );
}

fn signed(tx: Tx, signer: usize) -> [u8; 64] {
    tx.sign(&dev_signer(signer).unwrap(), &domain()).unwrap().compact_signature().unwrap()
}

/// A packed transfer from dev account `from` (index `sender`), signed by dev account `signer`.
#[allow(clippy::too_many_arguments)] // every field of the transfer varies between the cases
fn transfer_tx(
    from: usize,
    sender: u32,
    to: Recipient,
    to_address: Address,
    amount: U256,
    nonce: u64,
    token: u32,
    signer: usize,
) -> BatchTx {
    let a = |i: usize| dev_signer(i).unwrap().address();
    let fee = U256::from(1_000u64);
    let tx = Tx::Transfer(Transfer { from: a(from), to: to_address, token, amount, fee, nonce });
    BatchTx::Transfer {
        token: token as u16,
        from: sender,
        to,
        amount,
        fee,
        signature: signed(tx, signer),
    }
}

fn op(kind: OpKind, from: Address, to: Address, amount: U256) -> PriorityOp {
    PriorityOp { kind: kind as u8, from, to, token: 0, amount, timestamp: 90 }
}

/// A batch with every kind of step, its trace, and the same rules applied by hand on a
/// reference ledger: the trace ends at the reference's output root.
#[test]
fn a_trace_with_every_kind_of_step_ends_at_the_output_root() {
    let a = |i: usize| dev_signer(i).unwrap().address();
    let (alice, bob, carol, dave, erin) = (a(1), a(2), a(3), a(4), a(5));
    let stranger = Address::repeat_byte(0x99);
    let l1 = Address::repeat_byte(0xee);
    let mut start = Ledger::<KeccakHasher>::new(LedgerConfig::new(a(0))).unwrap();
    for (i, to) in [alice, bob].into_iter().enumerate() {
        start.apply_op(i as u64, &op(OpKind::Deposit, to, to, eth(10))).unwrap();
    }
    start.finish_batch();
    let ops = vec![
        op(OpKind::Deposit, carol, carol, eth(5)),
        op(OpKind::ForcedTransfer, alice, dave, eth(1)),
        op(OpKind::ForcedWithdrawal, bob, l1, eth(2)),
        op(OpKind::Deposit, alice, alice, eth(1)),
        op(OpKind::ForcedTransfer, stranger, alice, eth(1)),
    ];
    let fee = U256::from(1_000u64);
    let t0 = transfer_tx(1, 1, Recipient::Index(2), bob, eth(1), 0, 0, 1);
    let t1 = transfer_tx(1, 1, Recipient::New(erin), erin, eth(1), 1, 0, 1);
    let withdrawal =
        Tx::Withdrawal(Withdrawal { from: bob, to: l1, token: 0, amount: eth(1), fee, nonce: 0 });
    let t2 = BatchTx::Withdrawal {
        token: 0,
        from: 2,
        to: l1,
        amount: eth(1),
        fee,
        signature: signed(withdrawal.clone(), 2),
    };
    let bad_signature = transfer_tx(1, 1, Recipient::Index(2), bob, eth(1), 2, 0, 3);
    let unknown_token = transfer_tx(1, 1, Recipient::Index(2), bob, eth(1), 2, 5, 1);
    let too_much = transfer_tx(2, 2, Recipient::Index(1), alice, eth(100), 1, 0, 2);
    let t6 = transfer_tx(3, 3, Recipient::Index(1), alice, eth(1), 0, 0, 3);
    let cut = transfer_tx(3, 3, Recipient::Index(1), alice, eth(1), 1, 0, 3);
    let batch = batch::Batch {
        blocks: vec![
            batch::BatchBlock {
                timestamp: 100,
                deposits: 3,
                txs: vec![t0, t1, t2, bad_signature, unknown_token, too_much],
            },
            batch::BatchBlock { timestamp: 101, deposits: 0, txs: vec![t6, cut] },
        ],
    };
    let mut data = batch::encode(&batch).unwrap();
    data.truncate(data.len() - 30);
    let input = BatchInput { index: 1, data: &data, prev_queue_count: 2, ops: &ops };
    let domain = domain();
    let trace = Trace::build(start.clone(), &input, &mut VerifySignatures(&domain)).unwrap();
    assert_eq!(trace.steps(), trace_length(5, data.len() as u64));

    // What each step did, in order.
    let kinds: Vec<String> = (0..trace.steps())
        .map(|i| match trace.event(i).unwrap() {
            StepEvent::Op { queue_index, outcome } => {
                format!("op{queue_index}:{}", outcome.is_ok())
            }
            StepEvent::Tx { block, index, outcome } => {
                format!("tx{block}.{index}:{}", outcome.is_ok())
            }
            StepEvent::Malformed(_) => "malformed".to_owned(),
            StepEvent::Done { .. } => "done".to_owned(),
            StepEvent::Idle => "idle".to_owned(),
        })
        .collect();
    let expected = [
        "op2:true",
        "op3:true",
        "op4:true",
        "tx0.0:true",
        "tx0.1:true",
        "tx0.2:true",
        "tx0.3:false",
        "tx0.4:false",
        "tx0.5:false",
        "tx1.0:true",
        "malformed",
        "op5:true",
        "op6:false",
        "done",
    ];
    assert_eq!(&kinds[..expected.len()], expected);
    assert!(kinds[expected.len()..].iter().all(|k| k == "idle"), "{kinds:?}");
    // Steps after DONE change nothing.
    let done_at = expected.len();
    assert!(trace.hashes()[done_at..].iter().all(|h| *h == trace.output_root()));
    assert_ne!(trace.hashes()[done_at - 1], trace.output_root());

    // The same rules by hand.
    let mut reference = start.clone();
    reference.begin_block(100).unwrap();
    for (i, op) in ops[..3].iter().enumerate() {
        reference.apply_op(2 + i as u64, op).unwrap();
    }
    let verified = |tx: Tx| ply_ledger::VerifiedTx::assume_verified(tx);
    reference
        .apply(&verified(Tx::Transfer(Transfer {
            from: alice,
            to: bob,
            token: 0,
            amount: eth(1),
            fee,
            nonce: 0,
        })))
        .unwrap();
    reference
        .apply(&verified(Tx::Transfer(Transfer {
            from: alice,
            to: erin,
            token: 0,
            amount: eth(1),
            fee,
            nonce: 1,
        })))
        .unwrap();
    reference.apply(&verified(withdrawal)).unwrap();
    reference.begin_block(101).unwrap();
    reference
        .apply(&verified(Tx::Transfer(Transfer {
            from: carol,
            to: alice,
            token: 0,
            amount: eth(1),
            fee,
            nonce: 0,
        })))
        .unwrap();
    reference.apply_op(5, &ops[3]).unwrap();
    reference.skip_op(6).unwrap();
    assert_eq!(reference.index_of(&dave), Some(4));
    assert_eq!(reference.index_of(&erin), Some(5));
    let expected_root =
        output_root(reference.commitment().hash(), reference.withdrawal_tree().root());
    assert_eq!(trace.output_root(), expected_root);
    assert_eq!(trace.end().ledger().withdrawals(), reference.withdrawals());

    // The pre-state of a step re-runs to the same hash.
    for i in [0, 3, 10, done_at as u64] {
        let pre = trace.pre_state(i, &input, &mut VerifySignatures(&domain)).unwrap();
        assert_eq!(step_hash(&pre), trace.hash(i).unwrap(), "step {i}");
    }
    // S_0 is START with the previous state's fields and an empty withdrawal tree.
    let s0 = StepMachine::new(start.clone()).state();
    assert_eq!(s0.phase, Phase::Start as u8);
    assert_eq!(s0.withdrawalRoot, ply_ledger::WithdrawalTree::empty_root());
    assert_eq!(state_commitment(&s0), start.commitment().hash());
}

/// Any batch (here: random bytes and cut-off batches) is done within `N` steps.
#[test]
fn every_batch_is_done_within_its_trace_length() {
    let start = Ledger::<KeccakHasher>::new(LedgerConfig::new(Address::ZERO)).unwrap();
    let domain = domain();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as u8
    };
    for case in 0..40 {
        let len = case * 7;
        let mut data: Vec<u8> = (0..len).map(|_| next()).collect();
        if let Some(first) = data.first_mut() {
            *first = 1;
        }
        if data.len() > 4 {
            data[1..5].copy_from_slice(&[0, 0, 0, 3]);
        }
        let ops: Vec<PriorityOp> = (0..case % 4)
            .map(|i| {
                op(
                    OpKind::Deposit,
                    Address::ZERO,
                    Address::repeat_byte(i as u8 + 1),
                    U256::from(1u64),
                )
            })
            .collect();
        let input = BatchInput { index: 0, data: &data, prev_queue_count: 0, ops: &ops };
        let trace = Trace::build(start.clone(), &input, &mut VerifySignatures(&domain)).unwrap();
        assert_eq!(trace.end().phase(), Phase::Done, "case {case}");
        assert_eq!(
            trace.end().ledger().queue_index(),
            ops.len() as u64,
            "every operation consumed"
        );
    }
}
