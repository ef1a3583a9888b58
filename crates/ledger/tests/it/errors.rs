//! Every refusal: the right error, a sentence with the numbers, and nothing changed.

use crate::util::*;
use alloy::primitives::Signature;
use ply_core::{Address, U256};
use ply_ledger::{
    Deposit, KeccakHasher, Ledger, LedgerConfig, LedgerError, MAX_BALANCE,
    MAX_WITHDRAWALS_PER_BATCH, SignedTx, Transfer, Tx, VerifiedTx, Withdrawal,
};

type L = Ledger<KeccakHasher>;

/// A ledger where dev 1 holds 100 wei of ETH and dev 2 holds 50 of token 1.
fn funded() -> L {
    let mut ledger = ledger();
    deposit(&mut ledger, addr(1), 0, U256::from(100u64)).unwrap();
    deposit(&mut ledger, addr(2), 1, U256::from(50u64)).unwrap();
    ledger
}

/// Asserts that `attempt` fails with `expected` and leaves root and state untouched.
fn refused(
    ledger: &mut L,
    expected: LedgerError,
    attempt: impl FnOnce(&mut L) -> ply_ledger::Result<()>,
) -> String {
    let root = ledger.root();
    let state = snapshot(ledger);
    let err = attempt(ledger).unwrap_err();
    assert_eq!(err, expected);
    assert_eq!(ledger.root(), root, "a refused change must leave the root as it was");
    assert_eq!(snapshot(ledger), state, "a refused change must leave the state as it was");
    err.to_string()
}

fn apply(tx: VerifiedTx) -> impl FnOnce(&mut L) -> ply_ledger::Result<()> {
    move |ledger| ledger.apply(&tx).map(drop)
}

#[test]
fn replay_is_refused() {
    let mut ledger = funded();
    let tx = transfer(1, addr(3), 0, U256::from(10u64), U256::from(1u64), 0);
    ledger.apply(&tx).unwrap();
    let msg = refused(&mut ledger, LedgerError::NonceTooLow { nonce: 0, expected: 1 }, apply(tx));
    assert!(msg.contains("nonce 0 is below the account's next nonce 1"), "{msg}");
}

#[test]
fn nonce_gap_is_refused() {
    let mut ledger = funded();
    let tx = transfer(1, addr(3), 0, U256::from(10u64), U256::ZERO, 9);
    let msg = refused(&mut ledger, LedgerError::NonceGap { nonce: 9, expected: 0 }, apply(tx));
    assert!(msg.contains("nonce 9 leaves a gap: the account's next nonce is 0"), "{msg}");
}

#[test]
fn insufficient_balance_counts_the_fee() {
    let mut ledger = funded();
    let tx = transfer(1, addr(3), 0, U256::from(100u64), U256::from(1u64), 0);
    let expected = LedgerError::InsufficientBalance {
        address: addr(1),
        token: 0,
        have: U256::from(100u64),
        need: U256::from(101u64),
    };
    let msg = refused(&mut ledger, expected, apply(tx));
    assert!(msg.contains("have 100, need 101"), "{msg}");

    // The same for a withdrawal, and for amount + fee beyond 2^256.
    let tx = withdrawal(1, addr(3), 0, U256::from(99u64), U256::from(2u64), 0);
    refused(
        &mut ledger,
        LedgerError::InsufficientBalance {
            address: addr(1),
            token: 0,
            have: U256::from(100u64),
            need: U256::from(101u64),
        },
        apply(tx),
    );
    let tx = transfer(1, addr(3), 0, U256::MAX, U256::from(1u64), 0);
    refused(
        &mut ledger,
        LedgerError::InsufficientBalance {
            address: addr(1),
            token: 0,
            have: U256::from(100u64),
            need: U256::MAX,
        },
        apply(tx),
    );
    // Exactly the balance passes.
    ledger.apply(&transfer(1, addr(3), 0, U256::from(99u64), U256::from(1u64), 0)).unwrap();
    assert_eq!(ledger.balance(&addr(1), 0), U256::ZERO);
    assert!(
        ledger.account_of(&addr(1)).unwrap().balances.is_empty(),
        "zero balances are not stored"
    );
}

#[test]
fn unknown_token_is_refused() {
    let mut ledger = funded();
    // Dev 1 has an account, but token 7 was never deposited; even a zero transfer is refused.
    let tx = transfer(1, addr(3), 7, U256::ZERO, U256::ZERO, 0);
    let msg = refused(&mut ledger, LedgerError::UnknownToken { token: 7 }, apply(tx));
    assert!(msg.contains("token 7 is unknown"), "{msg}");
    // Token 1 is known from dev 2's deposit, but dev 1 holds none of it.
    let tx = withdrawal(1, addr(3), 1, U256::from(1u64), U256::ZERO, 0);
    refused(
        &mut ledger,
        LedgerError::InsufficientBalance {
            address: addr(1),
            token: 1,
            have: U256::ZERO,
            need: U256::from(1u64),
        },
        apply(tx),
    );
}

#[test]
fn unknown_sender_is_refused() {
    let mut ledger = funded();
    let tx = transfer(5, addr(1), 0, U256::ZERO, U256::ZERO, 0);
    let msg = refused(&mut ledger, LedgerError::UnknownAccount { address: addr(5) }, apply(tx));
    assert!(msg.contains(&addr(5).to_string()), "{msg}");
}

#[test]
fn overflow_of_recipient_fee_account_and_deposit_is_refused() {
    let mut ledger = funded();
    deposit(&mut ledger, addr(3), 0, MAX_BALANCE).unwrap();
    // The recipient is at the maximum.
    let tx = transfer(1, addr(3), 0, U256::from(1u64), U256::ZERO, 0);
    let expected = LedgerError::BalanceOverflow {
        address: addr(3),
        token: 0,
        balance: MAX_BALANCE,
        amount: U256::from(1u64),
    };
    let msg = refused(&mut ledger, expected, apply(tx));
    assert!(msg.contains("above the maximum 2^128 - 1"), "{msg}");

    // A deposit above it, to an existing or a new account.
    let refuse_deposit =
        |to: Address, amount: U256| move |ledger: &mut L| deposit(ledger, to, 0, amount).map(drop);
    refused(
        &mut ledger,
        LedgerError::BalanceOverflow {
            address: addr(3),
            token: 0,
            balance: MAX_BALANCE,
            amount: U256::from(1u64),
        },
        refuse_deposit(addr(3), U256::from(1u64)),
    );
    let stranger = Address::repeat_byte(0x77);
    refused(
        &mut ledger,
        LedgerError::BalanceOverflow {
            address: stranger,
            token: 0,
            balance: U256::ZERO,
            amount: MAX_BALANCE + U256::from(1u64),
        },
        refuse_deposit(stranger, MAX_BALANCE + U256::from(1u64)),
    );
    assert_eq!(ledger.index_of(&stranger), None, "no account is created by a refused deposit");

    // The fee account at the maximum refuses a fee.
    deposit(&mut ledger, addr(0), 0, MAX_BALANCE).unwrap();
    let tx = transfer(1, addr(2), 0, U256::from(1u64), U256::from(1u64), 0);
    refused(
        &mut ledger,
        LedgerError::BalanceOverflow {
            address: addr(0),
            token: 0,
            balance: MAX_BALANCE,
            amount: U256::from(1u64),
        },
        apply(tx),
    );
    // A zero fee is no credit, so it passes.
    ledger.apply(&transfer(1, addr(2), 0, U256::from(1u64), U256::ZERO, 0)).unwrap();
}

#[test]
fn bad_signatures_are_refused() {
    let domain = domain();
    let tx = Transfer {
        from: addr(1),
        to: addr(2),
        token: 0,
        amount: U256::from(5u64),
        fee: U256::ZERO,
        nonce: 0,
    };
    let signed = tx.clone().sign(&signer(1), &domain).unwrap();
    signed.verify(&domain).unwrap();

    // Signed by someone else.
    let forged = tx.clone().sign(&signer(2), &domain).unwrap();
    let err = forged.verify(&domain).unwrap_err();
    assert_eq!(err, LedgerError::SignerMismatch { signer: addr(2), from: addr(1) });
    assert!(err.to_string().contains("signed by"), "{err}");

    // Altered after signing: the signature recovers some other key.
    let mut altered = signed.clone();
    let Tx::Transfer(t) = &mut altered.tx else { unreachable!() };
    t.amount = U256::from(500u64);
    assert!(matches!(altered.verify(&domain), Err(LedgerError::SignerMismatch { .. })));

    // Signed for another rollup or another chain.
    let other = ply_ledger::SigningDomain::new(902, domain.rollup());
    assert!(matches!(signed.verify(&other), Err(LedgerError::SignerMismatch { .. })));

    // The high-s twin of a valid signature recovers the same key but is refused.
    let s = signed.signature.s();
    let twin = Signature::new(
        signed.signature.r(),
        ply_ledger::signature::SECP256K1_ORDER - s,
        !signed.signature.v(),
    );
    assert_eq!(
        twin.recover_address_from_prehash(&signed.tx.signing_hash(&domain)).unwrap(),
        addr(1),
        "the twin is a valid signature"
    );
    let high = SignedTx { tx: signed.tx.clone(), signature: twin };
    assert!(matches!(high.verify(&domain), Err(LedgerError::BadSignature { .. })));

    // Garbage that recovers nothing.
    let garbage = SignedTx {
        tx: signed.tx.clone(),
        signature: Signature::new(U256::from(1u64), U256::from(1u64), false),
    };
    let err = garbage.verify(&domain).unwrap_err();
    assert!(
        matches!(&err, LedgerError::BadSignature { .. } | LedgerError::SignerMismatch { .. }),
        "{err}"
    );
    assert!(err.is_invalid_transaction());
}

#[test]
fn full_state_tree_is_refused() {
    let config = LedgerConfig { account_depth: 2, token_depth: 8, fee_account: addr(0) };
    assert_eq!(config.account_capacity(), 3);
    let mut ledger = L::new(config).unwrap();
    deposit(&mut ledger, addr(1), 0, U256::from(10u64)).unwrap();
    deposit(&mut ledger, addr(2), 0, U256::from(10u64)).unwrap();
    let msg = refused(&mut ledger, LedgerError::TreeFull { capacity: 3 }, |l| {
        deposit(l, addr(3), 0, U256::from(10u64)).map(drop)
    });
    assert!(msg.contains("all 3 account positions are taken"), "{msg}");
    let tx = transfer(1, addr(3), 0, U256::from(1u64), U256::ZERO, 0);
    refused(&mut ledger, LedgerError::TreeFull { capacity: 3 }, apply(tx));
    // Existing accounts still trade.
    ledger.apply(&transfer(1, addr(2), 0, U256::from(1u64), U256::ZERO, 0)).unwrap();
    // The reserved last position can still be proven empty.
    let proof = ledger.account_proof(3).unwrap();
    assert_eq!(proof.leaf, None);
    assert!(proof.verify::<KeccakHasher>(ledger.root(), 2));
    assert!(matches!(
        ledger.account_proof(4),
        Err(LedgerError::IndexOutOfRange { index: 4, depth: 2 })
    ));
}

#[test]
fn full_withdrawal_tree_is_refused() {
    let mut ledger = funded();
    deposit(&mut ledger, addr(4), 0, U256::from(MAX_WITHDRAWALS_PER_BATCH + 1)).unwrap();
    // Signatures are not what this test is about: skip the 65,536 signings.
    let withdraw = |nonce| {
        VerifiedTx::assume_verified(
            Withdrawal {
                from: addr(4),
                to: addr(9),
                token: 0,
                amount: U256::from(1u64),
                fee: U256::ZERO,
                nonce,
            }
            .into(),
        )
    };
    for nonce in 0..MAX_WITHDRAWALS_PER_BATCH {
        ledger.apply(&withdraw(nonce)).unwrap();
    }
    let last = withdraw(MAX_WITHDRAWALS_PER_BATCH);
    let msg = refused(
        &mut ledger,
        LedgerError::WithdrawalTreeFull { capacity: MAX_WITHDRAWALS_PER_BATCH },
        apply(last.clone()),
    );
    assert!(msg.contains("65536 withdrawals"), "{msg}");
    // The next batch has room again.
    let output = ledger.finish_batch();
    assert_eq!(output.withdrawals.len() as u64, MAX_WITHDRAWALS_PER_BATCH);
    let effects = ledger.apply(&last).unwrap();
    let record = effects.withdrawal.unwrap();
    assert_eq!((record.batch_index, record.position), (1, 0));
}

#[test]
fn deposits_must_follow_the_queue() {
    let mut ledger = funded();
    let d = Deposit {
        queue_index: 5,
        to: addr(1),
        token: 0,
        amount: U256::from(1u64),
        ..Default::default()
    };
    let msg =
        refused(&mut ledger, LedgerError::DepositOutOfOrder { queue_index: 5, expected: 2 }, |l| {
            l.apply_deposit(&d).map(drop)
        });
    assert!(
        msg.contains("deposit 5 is out of queue order: the next deposit to apply is 2"),
        "{msg}"
    );
    assert!(
        !LedgerError::DepositOutOfOrder { queue_index: 5, expected: 2 }.is_invalid_transaction()
    );

    // A deposit of a token that does not fit in a balance tree is refused, then skipped.
    let d = Deposit {
        queue_index: 2,
        to: addr(1),
        token: 256,
        amount: U256::from(1u64),
        ..Default::default()
    };
    let msg = refused(
        &mut ledger,
        LedgerError::TokenOutOfRange { token: 256, token_depth: 8, max: 255 },
        |l| l.apply_deposit(&d).map(drop),
    );
    assert!(msg.contains("token 256"), "{msg}");
    let root = ledger.root();
    ledger.skip_deposit(&d).unwrap();
    assert_eq!(ledger.queue_index(), 3);
    assert_eq!(ledger.root(), root, "skipping changes no account");
    assert!(ledger.skip_deposit(&d).is_err(), "a deposit is consumed once");
    assert!(!ledger.known_tokens().contains(&256));
}

#[test]
fn exhausted_nonce_is_refused() {
    // Reaching 2^64 - 1 takes a doctored snapshot.
    let ledger = funded();
    let mut state: serde_json::Value = serde_json::to_value(&ledger).unwrap();
    state["accounts"][1]["nonce"] = serde_json::json!(u64::MAX);
    let mut ledger: L = serde_json::from_value(state).unwrap();
    let tx = VerifiedTx::assume_verified(
        Transfer {
            from: addr(1),
            to: addr(2),
            token: 0,
            amount: U256::ZERO,
            fee: U256::ZERO,
            nonce: u64::MAX,
        }
        .into(),
    );
    let msg = refused(&mut ledger, LedgerError::NonceExhausted { address: addr(1) }, apply(tx));
    assert!(msg.contains("all 2^64 nonces"), "{msg}");
}

#[test]
fn bad_configurations_and_snapshots_are_refused() {
    for (account_depth, token_depth) in [(0, 8), (33, 8), (24, 0), (24, 33)] {
        let config = LedgerConfig { account_depth, token_depth, fee_account: addr(0) };
        let err = L::new(config).unwrap_err();
        assert!(matches!(err, LedgerError::InvalidDepth { .. }), "{err}");
    }

    let ledger = funded();
    let good: serde_json::Value = serde_json::to_value(&ledger).unwrap();
    let doctor = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut state = good.clone();
        f(&mut state);
        serde_json::from_value::<L>(state).unwrap_err().to_string()
    };
    assert!(doctor(&|s| s["version"] = 1.into()).contains("version 1"));
    assert!(
        doctor(&|s| s["accounts"][1]["address"] = s["accounts"][2]["address"].clone())
            .contains("has two accounts")
    );
    assert!(
        doctor(&|s| s["accounts"][0]["address"] = s["accounts"][1]["address"].clone())
            .contains("fee account")
    );
    assert!(doctor(&|s| s["known_tokens"] = serde_json::json!([1])).contains("not known"));
    assert!(
        doctor(&|s| s["accounts"][1]["balances"]["0"] = "0x0".into())
            .contains("balances are stored")
    );
    assert!(doctor(&|s| s["surprise"] = 1.into()).contains("unknown field"));
}
