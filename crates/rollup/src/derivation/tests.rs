//! Tests of the derivation core and node.

#![allow(unused_imports)]
use super::*;

use super::{prefetch::*, pure::*, report::*, rules::*};
use crate::{
    Error, Result,
    batch::{self, BatchError, BatchTx, Recipient},
    config::RollupConfig,
    fraud::{BatchInput, StepEvent, StepMachine, Trace, TxVerifier, trace_length},
    l1::{L1Batch, L1Output, L1Reader, OutputRoots},
};
use crate::{
    batch::{Batch, BatchBlock},
    l1::testing::TestL1,
};
use alloy::primitives::{Address, B256};
use alloy::{primitives::U256, signers::local::PrivateKeySigner};
use ply_core::dev::dev_signer;
use ply_l1::client::{BlockFollower, DynL1Client};
use ply_ledger::{
    AccountIndex, BatchOutput, Deposit, KeccakHasher, Ledger, LedgerConfig, LedgerError, OpKind,
    PriorityOp, SignedTx, SigningDomain, Transfer, Tx, VerifiedTx, Withdrawal,
};
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    num::NonZeroUsize,
    ops::{Range, RangeInclusive},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};
use tokio::sync::{broadcast, watch};

const ETH: u128 = 1_000_000_000_000_000_000;
const FEE: u64 = 1_000;

fn domain() -> SigningDomain {
    SigningDomain::new(901, Address::repeat_byte(0x42))
}

fn ledger_config() -> LedgerConfig {
    LedgerConfig::new(dev_signer(0).unwrap().address())
}

fn key(i: usize) -> PrivateKeySigner {
    dev_signer(i).unwrap()
}

fn eth(n: u128) -> U256 {
    U256::from(n * ETH)
}

fn deposit(queue_index: u64, to: Address, amount: U256) -> Deposit {
    Deposit { queue_index, to, token: 0, amount, ..Default::default() }
}

/// A derivation and a reference ledger that applies the same things directly.
struct Harness {
    derivation: Derivation,
    reference: Ledger<KeccakHasher>,
    l1_deposits: u64,
}

impl Harness {
    fn new() -> Self {
        Self {
            derivation: Derivation::new(ledger_config(), domain()).unwrap(),
            reference: Ledger::new(ledger_config()).unwrap(),
            l1_deposits: 0,
        }
    }

    /// Queues deposits on "L1" (the derivation learns them; the reference does not apply
    /// them yet).
    fn queue(&mut self, deposits: &[(Address, U256)]) -> Vec<Deposit> {
        let deposits: Vec<_> = deposits
            .iter()
            .map(|(to, amount)| {
                self.l1_deposits += 1;
                deposit(self.l1_deposits - 1, *to, *amount)
            })
            .collect();
        self.derivation.add_deposits(deposits.clone()).unwrap();
        deposits
    }

    fn l1_batch(&self, data: Vec<u8>, deposits: u64) -> L1Batch {
        let prev = self.derivation.ledger().queue_index();
        L1Batch {
            index: self.derivation.next_batch(),
            prev_deposit_count: prev,
            new_deposit_count: prev + deposits,
            data: data.into(),
            l1_block: 7,
            l1_tx: B256::repeat_byte(7),
        }
    }

    fn apply(&mut self, batch: &Batch) -> BatchReport {
        let l1_batch = self.l1_batch(batch::encode(batch).unwrap(), batch.deposits());
        self.derivation.apply_batch(&l1_batch).unwrap()
    }
}

/// A transfer signed by `signer` for the sender at index `from`, with the given nonce.
fn transfer(
    signer: &PrivateKeySigner,
    sender: Address,
    from: u32,
    to: Recipient,
    to_address: Address,
    amount: U256,
    nonce: u64,
) -> (BatchTx, Tx) {
    let tx = Tx::Transfer(Transfer {
        from: sender,
        to: to_address,
        token: 0,
        amount,
        fee: U256::from(FEE),
        nonce,
    });
    let signed = tx.clone().sign(signer, &domain()).unwrap();
    let packed = BatchTx::Transfer {
        token: 0,
        from,
        to,
        amount,
        fee: U256::from(FEE),
        signature: signed.compact_signature().unwrap(),
    };
    (packed, tx)
}

fn withdrawal(
    signer: &PrivateKeySigner,
    from: u32,
    to: Address,
    amount: U256,
    nonce: u64,
) -> (BatchTx, Tx) {
    let tx = Tx::Withdrawal(Withdrawal {
        from: signer.address(),
        to,
        token: 0,
        amount,
        fee: U256::from(FEE),
        nonce,
    });
    let signed = tx.clone().sign(signer, &domain()).unwrap();
    let packed = BatchTx::Withdrawal {
        token: 0,
        from,
        to,
        amount,
        fee: U256::from(FEE),
        signature: signed.compact_signature().unwrap(),
    };
    (packed, tx)
}

fn apply_reference(ledger: &mut Ledger<KeccakHasher>, tx: Tx) {
    ledger.apply(&VerifiedTx::assume_verified(tx)).unwrap();
}

/// The report's output is the reference ledger's (the reference does not track block
/// timestamps: the commitment's `lastTimestamp` is the derivation's own).
fn assert_same_output(report: &BatchReport, reference: &mut Ledger<KeccakHasher>) {
    let mut state = reference.commitment();
    state.lastTimestamp = report.state.lastTimestamp;
    assert_eq!(report.state, state);
    let mut expected = reference.finish_batch();
    expected.state_root = state.hash();
    assert_eq!(report.output, expected);
}

#[test]
fn a_well_formed_batch_reproduces_the_expected_output() {
    let mut h = Harness::new();
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let deposits = h.queue(&[(alice.address(), eth(10)), (bob.address(), eth(5))]);

    // Block 0: both deposits (alice = 1, bob = 2), alice pays bob.
    let (t0, r0) =
        transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(3), 0);
    // Block 1: bob pays carol, who is new (3); alice withdraws; carol pays alice back.
    let (t1, r1) = transfer(
        &bob,
        bob.address(),
        2,
        Recipient::New(carol.address()),
        carol.address(),
        eth(1),
        0,
    );
    let (t2, r2) = withdrawal(&alice, 1, Address::repeat_byte(0xee), eth(2), 1);
    let (t3, r3) = transfer(
        &carol,
        carol.address(),
        3,
        Recipient::Index(1),
        alice.address(),
        U256::from(500_000u64),
        0,
    );
    let batch = Batch {
        blocks: vec![
            BatchBlock { timestamp: 100, deposits: 2, txs: vec![t0] },
            BatchBlock { timestamp: 100, deposits: 0, txs: vec![t1, t2, t3] },
        ],
    };
    let report = h.apply(&batch);

    for d in &deposits {
        h.reference.apply_deposit(d).unwrap();
    }
    for tx in [r0, r1, r2, r3] {
        apply_reference(&mut h.reference, tx);
    }
    assert_same_output(&report, &mut h.reference);
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.applied_txs, 4);
    assert_eq!(report.deposits, 0..2);
    assert_eq!(report.output.withdrawals.len(), 1);
    assert_eq!(h.derivation.previous_timestamp(), 100);
    assert_eq!(h.derivation.next_batch(), 1);
    assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 2);
    let roots = report.roots();
    assert_eq!(
        h.derivation.check_output(0, roots.state_root, roots.withdrawal_root),
        Some(OutputCheck::Agrees)
    );

    // A second batch goes on from there: deposits and nonces carry over.
    let more = h.queue(&[(carol.address(), eth(1))]);
    let (t4, r4) =
        transfer(&alice, alice.address(), 1, Recipient::Index(3), carol.address(), eth(1), 2);
    let report =
        h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 101, deposits: 1, txs: vec![t4] }] });
    h.reference.apply_deposit(&more[0]).unwrap();
    apply_reference(&mut h.reference, r4);
    assert_same_output(&report, &mut h.reference);
    assert_eq!(report.output.batch_index, 1);
    assert_eq!(report.deposits, 2..3);
}

#[test]
fn a_malformed_batch_applies_its_well_formed_prefix() {
    let (alice, bob) = (key(1), key(2));
    // A transaction that applies when the batch around it is intact.
    let (good_tx, _) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(bob.address()),
        bob.address(),
        eth(1),
        0,
    );

    type Case = (&'static str, fn(Vec<u8>) -> Vec<u8>, fn(&BatchError) -> bool);
    let cases: [Case; 3] = [
        (
            "truncated",
            |mut d| {
                d.pop();
                d
            },
            |e| matches!(e, BatchError::Truncated { .. }),
        ),
        (
            "bad version",
            |mut d| {
                d[0] = 2;
                d
            },
            |e| matches!(e, BatchError::UnknownVersion(2)),
        ),
        ("unchanged", |d| d, |_| false),
    ];
    for (name, mangle, expected) in cases {
        let mut h = Harness::new();
        let deposits = h.queue(&[(alice.address(), eth(10))]);
        let batch = Batch {
            blocks: vec![BatchBlock { timestamp: 1, deposits: 1, txs: vec![good_tx.clone()] }],
        };
        let data = mangle(batch::encode(&batch).unwrap());
        let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
        h.reference.apply_deposit(&deposits[0]).unwrap();
        if name == "unchanged" {
            assert!(report.is_clean(), "the unmangled batch is fine");
            continue;
        }
        assert!(report.malformed.as_ref().is_some_and(expected), "{name}: {report:?}");
        assert_eq!(report.applied_txs, 0, "{name}");
        assert!(report.skipped_txs.is_empty(), "{name}: nothing after the error is read");
        assert_same_output(&report, &mut h.reference);
        assert_eq!(h.derivation.ledger().balance(&alice.address(), 0), eth(10), "{name}");
        assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 0, "{name}");
        // The truncated batch's block header was read (its deposit applied in it); a bad
        // version reads nothing (its deposit is drained).
        let read = if name == "truncated" { 1 } else { 0 };
        assert_eq!(h.derivation.previous_timestamp(), read, "{name}");
    }
}

#[test]
fn the_transactions_before_a_malformation_stay_applied() {
    let (alice, bob) = (key(1), key(2));
    let (first, r_first) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(bob.address()),
        bob.address(),
        eth(1),
        0,
    );
    let (second, _) =
        transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 1);
    let mut h = Harness::new();
    let deposits = h.queue(&[(alice.address(), eth(10))]);
    let batch =
        Batch { blocks: vec![BatchBlock { timestamp: 3, deposits: 1, txs: vec![first, second] }] };
    let mut data = batch::encode(&batch).unwrap();
    data.truncate(data.len() - 10);
    let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
    assert!(matches!(report.malformed, Some(BatchError::Truncated { .. })), "{report:?}");
    assert_eq!(report.applied_txs, 1);
    h.reference.apply_deposit(&deposits[0]).unwrap();
    apply_reference(&mut h.reference, r_first);
    assert_same_output(&report, &mut h.reference);

    // Bytes after the last block are ignored, not malformed.
    let mut h = Harness::new();
    h.queue(&[(alice.address(), eth(10))]);
    let mut data = batch::encode(&Batch {
        blocks: vec![BatchBlock { timestamp: 3, deposits: 1, txs: vec![] }],
    })
    .unwrap();
    data.extend_from_slice(&[0xde, 0xad]);
    let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
    assert_eq!((report.malformed.clone(), report.ignored_bytes), (None, 2));
}

#[test]
fn consumed_operations_the_blocks_do_not_apply_are_drained() {
    let mut h = Harness::new();
    let alice = key(1);
    let deposits = h.queue(&[(alice.address(), eth(1)), (alice.address(), eth(2))]);
    // The blocks apply one deposit, the L1 call consumed two.
    let batch = Batch { blocks: vec![BatchBlock { timestamp: 5, deposits: 1, txs: vec![] }] };
    let report = h.derivation.apply_batch(&h.l1_batch(batch::encode(&batch).unwrap(), 2)).unwrap();
    assert_eq!(report.malformed, None);
    // Both deposits apply: the second in the drain.
    for d in &deposits {
        h.reference.apply_deposit(d).unwrap();
    }
    assert_same_output(&report, &mut h.reference);
    assert_eq!(h.derivation.ledger().balance(&alice.address(), 0), eth(3));
}

#[test]
fn a_timestamp_going_backwards_is_malformed() {
    let mut h = Harness::new();
    let (alice, bob) = (key(1), key(2));
    let deposits = h.queue(&[(alice.address(), eth(10))]);
    h.reference.apply_deposit(&deposits[0]).unwrap();
    let report =
        h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 50, deposits: 1, txs: vec![] }] });
    assert_same_output(&report, &mut h.reference);

    // Within a batch.
    let (tx, _) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(bob.address()),
        bob.address(),
        eth(1),
        0,
    );
    let report = h.apply(&Batch {
        blocks: vec![
            BatchBlock { timestamp: 60, deposits: 0, txs: vec![] },
            BatchBlock { timestamp: 59, deposits: 0, txs: vec![tx.clone()] },
        ],
    });
    assert_eq!(
        report.malformed,
        Some(BatchError::TimestampDecreases { block: 1, timestamp: 59, previous: 60 })
    );
    assert_same_output(&report, &mut h.reference);

    // Against the last block header of an earlier batch: 50, since the step that found
    // the malformation undid the empty block (60) it had read before (as L1's executor
    // does).
    let report = h.apply(&Batch {
        blocks: vec![BatchBlock { timestamp: 49, deposits: 0, txs: vec![tx.clone()] }],
    });
    assert_eq!(
        report.malformed,
        Some(BatchError::TimestampDecreases { block: 0, timestamp: 49, previous: 50 })
    );
    assert_same_output(&report, &mut h.reference);
    // A block claiming more operations than the batch has left is malformed too.
    let claims_one =
        Batch { blocks: vec![BatchBlock { timestamp: 61, deposits: 1, txs: vec![tx.clone()] }] };
    let report =
        h.derivation.apply_batch(&h.l1_batch(batch::encode(&claims_one).unwrap(), 0)).unwrap();
    assert_eq!(report.malformed, Some(BatchError::TooManyOps { block: 0, claimed: 1, left: 0 }));
    let report =
        h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 60, deposits: 0, txs: vec![tx] }] });
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 1);
}

#[test]
fn invalid_transactions_are_skipped_and_the_rest_applies() {
    let mut h = Harness::new();
    let (alice, bob, carol, dave) = (key(1), key(2), key(3), key(4));
    let deposits = h.queue(&[(alice.address(), eth(10)), (bob.address(), eth(1))]);
    for d in &deposits {
        h.reference.apply_deposit(d).unwrap();
    }

    let (valid, r_valid) =
        transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 0);
    let mut bad_signature = valid.clone();
    if let BatchTx::Transfer { signature, .. } = &mut bad_signature {
        *signature = [0xff; 64];
    }
    let (wrong_signer, _) =
        transfer(&carol, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 1);
    let replay = valid.clone();
    let (too_much, _) =
        transfer(&bob, bob.address(), 2, Recipient::Index(1), alice.address(), eth(100), 0);
    let (new_but_exists, _) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(bob.address()),
        bob.address(),
        eth(1),
        1,
    );
    let (unknown_sender, _) =
        transfer(&dave, dave.address(), 9, Recipient::Index(1), alice.address(), eth(1), 0);
    let (unknown_recipient, _) =
        transfer(&alice, alice.address(), 1, Recipient::Index(9), dave.address(), eth(1), 1);
    let (valid_after, r_valid_after) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(carol.address()),
        carol.address(),
        eth(2),
        1,
    );

    let batch = Batch {
        blocks: vec![
            BatchBlock { timestamp: 1, deposits: 2, txs: vec![valid, bad_signature] },
            BatchBlock {
                timestamp: 2,
                deposits: 0,
                txs: vec![
                    wrong_signer,
                    replay,
                    too_much,
                    new_but_exists,
                    unknown_sender,
                    unknown_recipient,
                    valid_after,
                ],
            },
        ],
    };
    let report = h.apply(&batch);
    apply_reference(&mut h.reference, r_valid);
    apply_reference(&mut h.reference, r_valid_after);
    assert_same_output(&report, &mut h.reference);
    assert_eq!(report.applied_txs, 2);
    assert!(report.malformed.is_none());

    let skipped: Vec<_> = report.skipped_txs.iter().map(|s| (s.block, s.index)).collect();
    assert_eq!(skipped, vec![(0, 1), (1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5)]);
    let reasons: Vec<_> = report.skipped_txs.iter().map(|s| &s.reason).collect();
    assert!(
        matches!(reasons[0], InvalidTx::Ledger(LedgerError::BadSignature { .. })),
        "{:?}",
        reasons[0]
    );
    assert!(
        matches!(reasons[1], InvalidTx::Ledger(LedgerError::SignerMismatch { signer, from })
            if *signer == carol.address() && *from == alice.address()),
        "{:?}",
        reasons[1]
    );
    // A replay is signed over the old nonce, so it recovers to another key.
    assert!(
        matches!(reasons[2], InvalidTx::Ledger(LedgerError::SignerMismatch { .. })),
        "{:?}",
        reasons[2]
    );
    assert!(
        matches!(reasons[3], InvalidTx::Ledger(LedgerError::InsufficientBalance { .. })),
        "{:?}",
        reasons[3]
    );
    assert_eq!(*reasons[4], InvalidTx::RecipientExists { address: bob.address(), index: 2 });
    assert_eq!(*reasons[5], InvalidTx::UnknownSender { index: 9, accounts: 3 });
    assert_eq!(*reasons[6], InvalidTx::UnknownRecipient { index: 9, accounts: 3 });
    assert_eq!(report.first_skipped_tx(), Some((0, 1)));
    assert_eq!(h.derivation.ledger().index_of(&carol.address()), Some(3));
}

#[test]
fn a_refused_deposit_is_skipped() {
    let mut h = Harness::new();
    let alice = key(1);
    // Token 300 does not fit a balance tree of depth 8.
    let refused = Deposit {
        queue_index: 0,
        to: alice.address(),
        token: 300,
        amount: eth(1),
        ..Default::default()
    };
    let fine = deposit(1, alice.address(), eth(1));
    h.derivation.add_deposits([refused.clone(), fine.clone()]).unwrap();
    h.l1_deposits = 2;
    let report =
        h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 1, deposits: 2, txs: vec![] }] });
    assert_eq!(report.skipped_deposits.len(), 1);
    assert_eq!(report.skipped_deposits[0].queue_index, 0);
    assert!(matches!(report.skipped_deposits[0].reason, LedgerError::TokenOutOfRange { .. }));
    assert!(!report.is_clean());
    h.reference.skip_deposit(&refused).unwrap();
    h.reference.apply_deposit(&fine).unwrap();
    assert_same_output(&report, &mut h.reference);
}

#[test]
fn an_output_mismatch_names_the_batch() {
    let mut h = Harness::new();
    let (alice, bob) = (key(1), key(2));
    h.queue(&[(alice.address(), eth(10))]);
    let first =
        h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 1, deposits: 1, txs: vec![] }] });
    let (valid, _) = transfer(
        &alice,
        alice.address(),
        1,
        Recipient::New(bob.address()),
        bob.address(),
        eth(1),
        0,
    );
    let (broke, _) =
        transfer(&bob, bob.address(), 2, Recipient::Index(1), alice.address(), eth(5), 0);
    let second = h.apply(&Batch {
        blocks: vec![BatchBlock { timestamp: 2, deposits: 0, txs: vec![valid, broke] }],
    });

    let roots = first.roots();
    assert_eq!(
        h.derivation.check_output(0, roots.state_root, roots.withdrawal_root),
        Some(OutputCheck::Agrees)
    );
    let wrong_state = B256::repeat_byte(0xba);
    assert_eq!(
        h.derivation.check_output(0, wrong_state, roots.withdrawal_root),
        Some(OutputCheck::Mismatch {
            batch: 0,
            expected: roots,
            proposed: OutputRoots {
                state_root: wrong_state,
                withdrawal_root: roots.withdrawal_root
            },
            first_bad_tx: None,
        })
    );
    // The wrong withdrawal root alone is a mismatch too; batch 1 points at its skipped tx.
    let roots = second.roots();
    let wrong = B256::repeat_byte(0xbb);
    assert_eq!(
        h.derivation.check_output(1, roots.state_root, wrong),
        Some(OutputCheck::Mismatch {
            batch: 1,
            expected: roots,
            proposed: OutputRoots { state_root: roots.state_root, withdrawal_root: wrong },
            first_bad_tx: Some((0, 1)),
        })
    );
    assert_eq!(h.derivation.check_output(2, roots.state_root, wrong), None, "not derived");
    h.derivation.forget_before(1);
    assert!(h.derivation.report(0).is_none());
    assert_eq!(h.derivation.output(1), Some(&second.output));
}

#[test]
fn reports_are_kept_for_a_bounded_window_of_batches() {
    let mut h = Harness::new();
    h.derivation = h.derivation.clone().with_report_window(2);
    let empty =
        |timestamp| Batch { blocks: vec![BatchBlock { timestamp, deposits: 0, txs: vec![] }] };
    let reports: Vec<_> = (1..=5).map(|t| h.apply(&empty(t))).collect();
    assert_eq!(h.derivation.next_batch(), 5);
    for old in 0..3 {
        assert!(h.derivation.report(old).is_none(), "batch {old} forgotten");
        let roots = reports[old as usize].roots();
        assert_eq!(h.derivation.check_output(old, roots.state_root, roots.withdrawal_root), None);
    }
    for kept in 3..5 {
        assert_eq!(h.derivation.report(kept), Some(&reports[kept as usize]));
    }
    // Shrinking the window forgets at once.
    h.derivation = h.derivation.clone().with_report_window(0);
    assert!(h.derivation.report(3).is_none());
    assert!(h.derivation.report(4).is_some(), "at least one report is kept");
}

#[test]
fn batches_and_deposits_must_follow_on() {
    let mut h = Harness::new();
    let alice = key(1);
    h.queue(&[(alice.address(), eth(1))]);
    let empty = batch::encode(&Batch::default()).unwrap();

    let mut out_of_order = h.l1_batch(empty.clone(), 0);
    out_of_order.index = 1;
    assert!(matches!(h.derivation.apply_batch(&out_of_order), Err(Error::Invalid(_))));
    let unknown_deposits = h.l1_batch(empty.clone(), 2);
    assert!(matches!(h.derivation.apply_batch(&unknown_deposits), Err(Error::Invalid(_))));
    let mut wrong_start = h.l1_batch(empty.clone(), 0);
    wrong_start.prev_deposit_count = 1;
    wrong_start.new_deposit_count = 1;
    assert!(matches!(h.derivation.apply_batch(&wrong_start), Err(Error::Invalid(_))));
    assert_eq!(h.derivation.next_batch(), 0, "refusals change nothing");

    // Deposits: a gap is refused, a repeat is ignored, a changed repeat is refused.
    let gap = deposit(5, alice.address(), eth(1));
    assert!(h.derivation.add_deposits([gap]).is_err());
    h.derivation.add_deposits([deposit(0, alice.address(), eth(1))]).unwrap();
    assert_eq!(h.derivation.known_deposits(), 1);
    assert!(h.derivation.add_deposits([deposit(0, alice.address(), eth(2))]).is_err());
}

#[test]
fn parallel_checks_agree_with_sequential_ones() {
    // Enough transactions for several threads, with skipped ones in the middle that make
    // the speculative rebuild wrong for the transactions after them.
    let signers: Vec<_> = (1..9).map(key).collect();
    let mut h = Harness::new();
    let funds: Vec<_> = signers.iter().map(|s| (s.address(), eth(1_000))).collect();
    h.queue(&funds);
    let mut nonces = vec![0u64; signers.len()];
    let mut txs = Vec::new();
    for i in 0..400 {
        let s = i % signers.len();
        let to = (s + 1) % signers.len();
        let signer = &signers[s];
        let (from, to_index) = (s as u32 + 1, to as u32 + 1);
        if i % 97 == 13 {
            // Too much: skipped. The sender's later transactions are signed with the nonce
            // it really has, so the prediction (which assumed this one applied) misses.
            let (tx, _) = transfer(
                signer,
                signer.address(),
                from,
                Recipient::Index(to_index),
                signers[to].address(),
                eth(100_000),
                nonces[s],
            );
            txs.push(tx);
            continue;
        }
        let (tx, _) = transfer(
            signer,
            signer.address(),
            from,
            Recipient::Index(to_index),
            signers[to].address(),
            eth(1),
            nonces[s],
        );
        nonces[s] += 1;
        txs.push(tx);
    }
    let batch = Batch {
        blocks: vec![
            BatchBlock { timestamp: 1, deposits: signers.len() as u16, txs: txs[..200].to_vec() },
            BatchBlock { timestamp: 2, deposits: 0, txs: txs[200..].to_vec() },
        ],
    };
    let data = batch::encode(&batch).unwrap();

    let mut sequential = h.derivation.clone().with_verify_threads(1);
    let mut parallel = h.derivation.clone().with_verify_threads(4);
    let l1_batch = h.l1_batch(data, signers.len() as u64);
    let a = sequential.apply_batch(&l1_batch).unwrap();
    let b = parallel.apply_batch(&l1_batch).unwrap();
    assert_eq!(a, b);
    // i = 13, 110, 207, 304 are skipped; every later transaction of their senders applies,
    // although its prediction was wrong.
    assert_eq!(a.skipped_txs.len(), 4, "{:?}", a.skipped_txs);
    assert_eq!(a.applied_txs, 396);
    assert_eq!(nonces.iter().sum::<u64>(), 396);
}

/// Drives a node until it has nothing left to read; returns the events it published.
async fn drain(
    node: &mut DerivationNode,
    events: &mut broadcast::Receiver<DerivationEvent>,
) -> Vec<DerivationEvent> {
    while node.step().await.unwrap() {}
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

fn signed_transfer(
    domain: &SigningDomain,
    signer: &PrivateKeySigner,
    tx: Transfer,
    from: u32,
    to: Recipient,
) -> (BatchTx, Tx) {
    let packed = BatchTx::Transfer {
        token: 0,
        from,
        to,
        amount: tx.amount,
        fee: tx.fee,
        signature: tx.clone().sign(signer, domain).unwrap().compact_signature().unwrap(),
    };
    (packed, Tx::Transfer(tx))
}

#[tokio::test]
async fn the_node_derives_from_l1_and_flags_a_wrong_output() {
    let l1 = TestL1::new().await;
    let domain = l1.config.domain();
    let mut node = DerivationNode::new(l1.client.clone(), l1.config.clone(), 0).unwrap();
    let mut events = node.subscribe();
    let status = node.status();
    let (alice, bob) = (key(5), key(6));

    l1.deposit_eth(alice.address(), eth(2)).await;
    let transfer = Transfer {
        from: alice.address(),
        to: bob.address(),
        token: 0,
        amount: eth(1),
        fee: U256::from(FEE),
        nonce: 0,
    };
    let (tx, reference_tx) =
        signed_transfer(&domain, &alice, transfer, 1, Recipient::New(bob.address()));
    let batch = Batch { blocks: vec![BatchBlock { timestamp: 10, deposits: 1, txs: vec![tx] }] };
    let mut reference = Ledger::<KeccakHasher>::new(l1.config.ledger.clone()).unwrap();
    reference.apply_deposit(&deposit(0, alice.address(), eth(2))).unwrap();
    apply_reference(&mut reference, reference_tx);
    reference.begin_block(10).unwrap();
    let state = reference.commitment().hash();
    let mut expected = reference.finish_batch();
    expected.state_root = state;

    let appended = l1.append_batch(1, batch::encode(&batch).unwrap()).await;
    l1.propose(0, expected.state_root, expected.withdrawal_root).await;
    // Batch 1 is garbage, and its proposed output claims a made-up state.
    l1.append_batch(1, vec![1, 0xde, 0xad]).await;
    let made_up = OutputRoots { state_root: B256::repeat_byte(1), withdrawal_root: B256::ZERO };
    let bad = l1.propose(1, made_up.state_root, made_up.withdrawal_root).await;

    let events = drain(&mut node, &mut events).await;
    let state = reference.commitment().hash();
    let mut malformed_output = reference.finish_batch();
    malformed_output.state_root = state;
    assert_eq!(
        events,
        vec![
            DerivationEvent::BatchDerived {
                index: 0,
                l1_block: appended.block_number.unwrap(),
                output: expected.clone(),
            },
            DerivationEvent::BatchMalformed {
                index: 1,
                reason: BatchError::Truncated { at: 1, needed: 2, what: "the block count" },
            },
            DerivationEvent::BatchDerived {
                index: 1,
                l1_block: bad.block_number.unwrap() - 1,
                output: malformed_output.clone(),
            },
            DerivationEvent::OutputAgrees { index: 0 },
            DerivationEvent::OutputMismatch {
                batch: 1,
                expected: OutputRoots {
                    state_root: malformed_output.state_root,
                    withdrawal_root: malformed_output.withdrawal_root,
                },
                proposed: made_up,
                first_bad_tx: None,
                proposer: l1.proposer.address(),
                l1_tx: bad.transaction_hash,
            },
        ]
    );
    let status = status.borrow().clone();
    assert_eq!(status.batches, 2);
    assert_eq!(status.state_root, malformed_output.state_root);
    assert_eq!(status.l1_block, Some(l1.head().await));
    assert_eq!((status.outputs_agreed, status.outputs_mismatched), (1, 1));
    assert_eq!(status.malformed_batches, 1);
    let derivation = node.derivation();
    assert_eq!(derivation.lock().unwrap().ledger().balance(&bob.address(), 0), eth(1));
}

#[tokio::test]
async fn a_reorg_makes_the_node_derive_again() {
    let l1 = TestL1::new().await;
    let mut node = DerivationNode::new(l1.client.clone(), l1.config.clone(), 0).unwrap();
    let mut events = node.subscribe();
    let alice = key(5);
    let empty = |timestamp, deposits| {
        batch::encode(&Batch { blocks: vec![BatchBlock { timestamp, deposits, txs: vec![] }] })
            .unwrap()
    };

    l1.deposit_eth(alice.address(), eth(1)).await;
    l1.append_batch(1, empty(10, 1)).await;
    drain(&mut node, &mut events).await;
    let snapshot = l1.client.snapshot().await.unwrap();
    l1.deposit_eth(alice.address(), eth(1)).await;
    l1.append_batch(2, empty(11, 1)).await;
    let before = drain(&mut node, &mut events).await;
    assert!(matches!(before.last(), Some(DerivationEvent::BatchDerived { index: 1, .. })));
    assert_eq!(node.derivation().lock().unwrap().ledger().balance(&alice.address(), 0), eth(2));

    // The L1 drops batch 1 and its deposit; another batch 1 takes its place.
    assert!(l1.client.revert(snapshot).await.unwrap());
    l1.sequencer.resync_nonce().await;
    l1.depositor.resync_nonce().await;
    l1.append_batch(1, empty(12, 0)).await;
    let after = drain(&mut node, &mut events).await;
    assert!(matches!(after.first(), Some(DerivationEvent::Reorg { .. })), "{after:?}");
    let derived: Vec<_> = after
        .iter()
        .filter_map(|e| match e {
            DerivationEvent::BatchDerived { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(derived, vec![0, 1]);
    let core = node.derivation();
    let core = core.lock().unwrap();
    assert_eq!(core.ledger().balance(&alice.address(), 0), eth(1));
    assert_eq!(core.previous_timestamp(), 12);
    assert_eq!(node.status().borrow().batches, 2);
}
