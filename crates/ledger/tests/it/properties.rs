//! Properties over random sequences: conservation, determinism, the incremental root against a
//! recomputation, snapshots.

use crate::util::*;
use ply_core::{Address, U256};
use ply_ledger::{
    Deposit, KeccakHasher, Ledger, LedgerConfig, Transfer, Tx, VerifiedTx, Withdrawal,
};
use std::collections::BTreeMap;

type L = Ledger<KeccakHasher>;

/// One step of a random workload, already signed, so that several ledgers can be fed it.
#[derive(Clone)]
enum Step {
    Deposit(Deposit),
    Tx(VerifiedTx),
    FinishBatch,
}

/// A random workload over dev accounts 1 to 6 and a few keyless addresses, with tokens 0 to 2
/// (token 2 is never deposited) and a good share of transactions that must be refused.
fn workload(seed: u64, steps: usize) -> Vec<Step> {
    let mut rng = SplitMix(seed);
    // Nonces come from a reference ledger fed the same steps, so most transactions are
    // well-formed and the refusals are the deliberate ones (and those of empty balances).
    let mut reference: L = ledger();
    let mut queue = 0;
    let mut out = Vec::with_capacity(steps);
    let recipient = |rng: &mut SplitMix| {
        if rng.below(4) == 0 {
            Address::with_last_byte(0xa0 + rng.below(8) as u8)
        } else {
            addr(1 + rng.below(6) as usize)
        }
    };
    for _ in 0..steps {
        match rng.below(10) {
            0..=2 => {
                let to = recipient(&mut rng);
                let token = rng.below(2) as u32;
                let amount = U256::from(rng.below(1_000_000));
                let d = Deposit { queue_index: queue, to, token, amount, ..Default::default() };
                reference.apply_deposit(&d).unwrap();
                out.push(Step::Deposit(d));
                queue += 1;
            }
            3 => {
                reference.finish_batch();
                out.push(Step::FinishBatch);
            }
            kind => {
                let from = 1 + rng.below(6) as usize;
                let token = if rng.below(20) == 0 { 2 } else { rng.below(2) as u32 };
                let amount = U256::from(rng.below(300_000));
                let fee = U256::from(rng.below(50));
                // Mostly the right nonce; sometimes a replay or a gap.
                let next = reference.next_nonce(&addr(from));
                let nonce = match rng.below(12) {
                    0 => next.saturating_sub(1),
                    1 => next + 1,
                    _ => next,
                };
                let tx: Tx = if kind == 9 {
                    Withdrawal {
                        from: addr(from),
                        to: recipient(&mut rng),
                        token,
                        amount,
                        fee,
                        nonce,
                    }
                    .into()
                } else {
                    Transfer {
                        from: addr(from),
                        to: recipient(&mut rng),
                        token,
                        amount,
                        fee,
                        nonce,
                    }
                    .into()
                };
                let verified =
                    tx.sign(&signer(from), &domain()).unwrap().verify(&domain()).unwrap();
                let _ = reference.apply(&verified);
                out.push(Step::Tx(verified));
            }
        }
    }
    out
}

/// Feeds `steps` to `ledger`, returning per-token deposits and withdrawals, and checking after
/// each step that a refusal changed nothing.
fn run(ledger: &mut L, steps: &[Step]) -> (BTreeMap<u32, U256>, BTreeMap<u32, U256>, usize) {
    let mut deposited = BTreeMap::<u32, U256>::new();
    let mut withdrawn = BTreeMap::<u32, U256>::new();
    let mut refused = 0;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Deposit(d) => {
                ledger.apply_deposit(d).unwrap();
                *deposited.entry(d.token).or_default() += d.amount;
            }
            Step::Tx(tx) => {
                let before = if i % 16 == 0 { Some(ledger.root()) } else { None };
                match ledger.apply(tx) {
                    Ok(effects) => {
                        if let Some(w) = effects.withdrawal {
                            *withdrawn.entry(w.token).or_default() += w.amount;
                        }
                    }
                    Err(err) => {
                        assert!(err.is_invalid_transaction(), "{err}");
                        refused += 1;
                        if let Some(before) = before {
                            assert_eq!(ledger.root(), before);
                        }
                    }
                }
            }
            Step::FinishBatch => {
                let output = ledger.finish_batch();
                assert_eq!(output.state_root, root_from_scratch(ledger), "step {i}");
            }
        }
    }
    (deposited, withdrawn, refused)
}

#[test]
fn supply_is_conserved() {
    let steps = workload(7, 600);
    let mut ledger = ledger();
    let (deposited, withdrawn, refused) = run(&mut ledger, &steps);
    assert!(refused > 20 && refused < 400, "the workload should mix good and bad: {refused}");
    assert!(!withdrawn.is_empty(), "the workload should withdraw");
    for token in 0..3 {
        let expected = deposited.get(&token).copied().unwrap_or_default()
            - withdrawn.get(&token).copied().unwrap_or_default();
        assert_eq!(ledger.total_supply(token), expected, "token {token}");
    }
    assert!(!ledger.known_tokens().contains(&2));
    assert_eq!(ledger.queue_index(), count_deposits(&steps));
}

fn count_deposits(steps: &[Step]) -> u64 {
    steps.iter().filter(|s| matches!(s, Step::Deposit(_))).count() as u64
}

#[test]
fn same_inputs_same_root() {
    let steps = workload(11, 400);
    let mut a = ledger();
    let mut b = ledger();
    run(&mut a, &steps);
    // The second ledger asks for its root after every step, the first almost never: laziness
    // must not show.
    for step in &steps {
        match step {
            Step::Deposit(d) => drop(b.apply_deposit(d)),
            Step::Tx(tx) => drop(b.apply(tx)),
            Step::FinishBatch => drop(b.finish_batch()),
        }
        b.root();
    }
    assert_eq!(a.root(), b.root());
    assert_eq!(snapshot(&a), snapshot(&b));
    assert_eq!(a.root(), root_from_scratch(&a));
    // A different workload gives a different root.
    let mut c = ledger();
    run(&mut c, &workload(12, 400));
    assert_ne!(a.root(), c.root());
}

#[test]
fn snapshots_and_clones_resume_identically() {
    let steps = workload(21, 500);
    let (first, second) = steps.split_at(250);
    let mut ledger = ledger();
    run(&mut ledger, first);

    let json = serde_json::to_string(&ledger).unwrap();
    let mut restored: L = serde_json::from_str(&json).unwrap();
    let mut cloned = ledger.clone();
    assert_eq!(restored.root(), ledger.root());
    assert_eq!(cloned.root(), ledger.root());
    assert_eq!(restored.withdrawals(), ledger.withdrawals());

    run(&mut ledger, second);
    run(&mut restored, second);
    run(&mut cloned, second);
    assert_eq!(restored.root(), ledger.root());
    assert_eq!(cloned.root(), ledger.root());
    assert_eq!(snapshot(&restored), snapshot(&ledger));
}

#[test]
fn clones_are_independent() {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, U256::from(100u64)).unwrap();
    let before = ledger.root();
    let mut fork = ledger.clone();
    fork.apply(&transfer(1, addr(2), 0, U256::from(10u64), U256::ZERO, 0)).unwrap();
    assert_eq!(ledger.root(), before);
    assert_ne!(fork.root(), before);
    assert_eq!(fork.root(), root_from_scratch(&fork));
}

#[test]
fn self_transfers_and_the_fee_account_as_sender() {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, U256::from(100u64)).unwrap();
    deposit(&mut ledger, addr(0), 0, U256::from(100u64)).unwrap();
    // To oneself: only the fee leaves.
    let effects =
        ledger.apply(&transfer(1, addr(1), 0, U256::from(60u64), U256::from(3u64), 0)).unwrap();
    assert_eq!(
        (effects.sender, effects.recipient, effects.created_account),
        (Some(1), Some(1), None)
    );
    assert_eq!(ledger.balance(&addr(1), 0), U256::from(97u64));
    // The fee account pays its own fee.
    ledger.apply(&transfer(0, addr(1), 0, U256::from(50u64), U256::from(10u64), 0)).unwrap();
    assert_eq!(ledger.balance(&addr(0), 0), U256::from(53u64));
    assert_eq!(ledger.balance(&addr(1), 0), U256::from(147u64));
    assert_eq!(ledger.total_supply(0), U256::from(200u64));
    assert_eq!(ledger.root(), root_from_scratch(&ledger));
}

#[test]
fn accounts_are_numbered_in_order_of_first_appearance() {
    let mut ledger = ledger();
    assert_eq!(ledger.index_of(&addr(0)), Some(0));
    let e = deposit(&mut ledger, addr(3), 0, U256::from(10u64)).unwrap();
    assert_eq!((e.recipient, e.created_account), (Some(1), Some(1)));
    let e = deposit(&mut ledger, addr(3), 0, U256::from(10u64)).unwrap();
    assert_eq!((e.recipient, e.created_account), (Some(1), None));
    // A zero deposit still creates the account and makes its token known.
    let e = deposit(&mut ledger, addr(5), 1, U256::ZERO).unwrap();
    assert_eq!(e.created_account, Some(2));
    assert!(ledger.known_tokens().contains(&1));
    let stranger = Address::repeat_byte(0xcd);
    let e = ledger.apply(&transfer(3, stranger, 0, U256::ZERO, U256::ZERO, 0)).unwrap();
    assert_eq!((e.sender, e.recipient, e.created_account), (Some(1), Some(3), Some(3)));
    assert_eq!(ledger.index_of(&stranger), Some(3));
    assert_eq!(ledger.account(3).unwrap().address, stranger);
    assert_eq!(ledger.next_nonce(&addr(3)), 1);
    assert_eq!(ledger.next_nonce(&stranger), 0);
    assert_eq!(ledger.root(), root_from_scratch(&ledger));
}

/// Not a timing test: it drives the hot path (20,000 transfers between a few hundred
/// accounts, one root per 1,000) and checks the result, so that a regression that makes it
/// quadratic or unbounded shows up as a test that never ends.
#[test]
fn many_transfers_commit_in_blocks() {
    let mut ledger = ledger();
    let users: Vec<Address> =
        (0..300u64).map(|i| Address::left_padding_from(&(i + 1000).to_be_bytes())).collect();
    for user in &users {
        deposit(&mut ledger, *user, 0, U256::from(1_000_000u64)).unwrap();
    }
    let mut nonces = vec![0u64; users.len()];
    let mut rng = SplitMix(5);
    let mut roots = Vec::new();
    for i in 0..20_000 {
        let from = rng.below(users.len() as u64) as usize;
        let to = users[rng.below(users.len() as u64) as usize];
        let tx = VerifiedTx::assume_verified(
            Transfer {
                from: users[from],
                to,
                token: 0,
                amount: U256::from(rng.below(100)),
                fee: U256::from(1u64),
                nonce: nonces[from],
            }
            .into(),
        );
        ledger.apply(&tx).unwrap();
        nonces[from] += 1;
        if i % 1000 == 999 {
            roots.push(ledger.root());
        }
    }
    assert_eq!(roots.len(), 20);
    assert_eq!(ledger.balance(&addr(0), 0), U256::from(20_000u64));
    assert_eq!(ledger.total_supply(0), U256::from(300_000_000u64));
    assert_eq!(ledger.root(), root_from_scratch(&ledger));
}

#[test]
fn small_trees_work_too() {
    let config = LedgerConfig { account_depth: 4, token_depth: 2, fee_account: addr(0) };
    let mut ledger = L::new(config).unwrap();
    deposit(&mut ledger, addr(1), 3, U256::from(9u64)).unwrap();
    ledger.apply(&transfer(1, addr(2), 3, U256::from(4u64), U256::from(1u64), 0)).unwrap();
    assert_eq!(ledger.root(), root_from_scratch(&ledger));
    assert!(deposit(&mut ledger, addr(1), 4, U256::from(1u64)).is_err());
}
