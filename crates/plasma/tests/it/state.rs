//! The child chain's state machine: honest payments, and every way a payment can be wrong.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use ply_core::dev::dev_signer;
use ply_plasma::{
    ChainState, Deposit, Error, ErrorKind, Output, PaymentTx, SignedTx, SigningDomain, TxSignature,
    UtxoPos,
};

struct World {
    chain: ChainState,
    domain: SigningDomain,
    alice: PrivateKeySigner,
    bob: PrivateKeySigner,
    operator: Address,
    token: Address,
}

fn eth(n: u64) -> U256 {
    U256::from(n)
}

fn out(owner: Address, amount: u64) -> Output {
    Output { owner, token: Address::ZERO, amount: eth(amount) }
}

fn world() -> (World, UtxoPos, UtxoPos) {
    let operator = Address::repeat_byte(0x09);
    let mut w = World {
        chain: ChainState::new(operator),
        domain: SigningDomain::new(31337, Address::repeat_byte(0x42)),
        alice: dev_signer(1).unwrap(),
        bob: dev_signer(2).unwrap(),
        operator,
        token: Address::repeat_byte(0x77),
    };
    let a = w
        .chain
        .apply_deposit(&Deposit {
            blknum: 1,
            owner: w.alice.address(),
            token: Address::ZERO,
            amount: eth(10),
        })
        .unwrap();
    let b = w
        .chain
        .apply_deposit(&Deposit {
            blknum: 2,
            owner: w.bob.address(),
            token: Address::ZERO,
            amount: eth(5),
        })
        .unwrap();
    (w, a, b)
}

impl World {
    fn pay(&mut self, tx: PaymentTx, keys: &[&PrivateKeySigner]) -> Result<UtxoPos, Error> {
        let signed = SignedTx::sign(tx, keys, &self.domain)?;
        let verified = signed.verify(&self.domain)?;
        self.chain.apply(&verified)
    }
}

fn tx(inputs: Vec<UtxoPos>, outputs: Vec<Output>) -> PaymentTx {
    PaymentTx::new(inputs, outputs, B256::ZERO).unwrap()
}

#[test]
fn payments_fees_and_blocks() {
    let (mut w, a, b) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    // alice pays bob 4 and keeps 5: 1 is the fee
    let p = w
        .pay(tx(vec![a], vec![out(bob.address(), 4), out(alice.address(), 5)]), &[&alice])
        .unwrap();
    assert_eq!(p, UtxoPos::new(1000, 0, 0).unwrap());
    // bob spends his deposit and the output he just got, in the same block
    let bob_out = UtxoPos::new(1000, 0, 0).unwrap();
    let q = w.pay(tx(vec![b, bob_out], vec![out(alice.address(), 9)]), &[&bob, &bob]).unwrap();
    assert_eq!(q, UtxoPos::new(1000, 1, 0).unwrap());
    assert_eq!(w.chain.open_fees().get(&Address::ZERO), Some(&eth(1)));

    let block = w.chain.seal_block().unwrap();
    assert_eq!(block.number, 1000);
    assert_eq!(block.transactions.len(), 3); // two payments and the fee transaction
    let fee_tx = &block.transactions[2];
    assert!(fee_tx.inputs().is_empty());
    assert_eq!(fee_tx.outputs(), &[out(w.operator, 1)]);
    assert_eq!(fee_tx.metadata(), B256::from(U256::from(1000)));
    for (i, t) in block.transactions.iter().enumerate() {
        assert!(block.proof(i).unwrap().verify(t.hash(), i as u64, block.root()));
    }
    assert_eq!(w.chain.open_block_number(), 2000);
    let alice_utxos: Vec<_> =
        w.chain.utxos_of(alice.address()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        alice_utxos,
        vec![UtxoPos::new(1000, 0, 1).unwrap(), UtxoPos::new(1000, 1, 0).unwrap()]
    );
    assert_eq!(
        w.chain.utxos_of(w.operator),
        vec![(UtxoPos::new(1000, 2, 0).unwrap(), out(w.operator, 1))]
    );
    assert!(w.chain.unspent(a).is_none());
}

#[test]
fn spending_someone_elses_output_is_refused() {
    let (mut w, _a, b) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let theft = tx(vec![b], vec![out(alice.address(), 5)]);
    let err = w.pay(theft, &[&alice]).unwrap_err();
    assert_eq!(
        err,
        Error::WrongSigner { index: 0, position: b, signer: alice.address(), owner: bob.address() }
    );
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(w.chain.unspent(b).is_some(), "the state is unchanged");
    assert!(w.chain.open_transactions().is_empty());
}

#[test]
fn double_spends_and_unknown_inputs_are_refused() {
    let (mut w, a, _b) = world();
    let alice = w.alice.clone();
    w.pay(tx(vec![a], vec![out(alice.address(), 10)]), &[&alice]).unwrap();
    let again = w.pay(tx(vec![a], vec![out(alice.address(), 9)]), &[&alice]).unwrap_err();
    assert_eq!(again, Error::SpentInput { position: a });
    let ghost = UtxoPos::new(7, 0, 0).unwrap();
    let err = w.pay(tx(vec![ghost], vec![out(alice.address(), 1)]), &[&alice]).unwrap_err();
    assert_eq!(err, Error::UnknownInput { position: ghost });
}

#[test]
fn amounts_must_add_up_per_token() {
    let (mut w, a, _b) = world();
    let alice = w.alice.clone();
    let err = w.pay(tx(vec![a], vec![out(alice.address(), 11)]), &[&alice]).unwrap_err();
    assert_eq!(
        err,
        Error::AmountsDoNotAddUp { token: Address::ZERO, inputs: eth(10), outputs: eth(11) }
    );
    // an output in a token the inputs do not hold
    let minted = Output { owner: alice.address(), token: w.token, amount: eth(1) };
    let err = w.pay(tx(vec![a], vec![out(alice.address(), 10), minted]), &[&alice]).unwrap_err();
    assert_eq!(
        err,
        Error::AmountsDoNotAddUp { token: w.token, inputs: U256::ZERO, outputs: eth(1) }
    );
    assert!(w.chain.unspent(a).is_some());
    assert!(w.chain.open_fees().is_empty());
}

#[test]
fn signatures_are_bound_to_the_deployment_and_canonical() {
    let (mut w, a, _b) = world();
    let alice = w.alice.clone();
    let pay = tx(vec![a], vec![out(alice.address(), 10)]);
    // a signature made for another framework recovers another address
    let elsewhere = SigningDomain::new(31337, Address::repeat_byte(0x43));
    let signed = SignedTx::sign(pay.clone(), &[&alice], &elsewhere).unwrap();
    let err = w.chain.apply(&signed.verify(&w.domain).unwrap()).unwrap_err();
    assert!(matches!(err, Error::WrongSigner { .. }), "{err}");
    // high s, bad v, wrong length, wrong count
    let good = pay.sign(&alice, &w.domain).unwrap();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let mut high = good.0;
    let s = U256::from_be_slice(&good.0[32..64]);
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if good.0[64] == 27 { 28 } else { 27 };
    let digest = pay.signing_hash(&w.domain);
    assert!(matches!(TxSignature(high).recover(&digest), Err(Error::BadSignature { .. })));
    let mut bad_v = good.0;
    bad_v[64] = 1;
    assert!(matches!(TxSignature(bad_v).recover(&digest), Err(Error::BadSignature { .. })));
    assert!(matches!(TxSignature::from_slice(&good.0[..64]), Err(Error::BadSignature { .. })));
    let two = SignedTx { tx: pay.clone(), signatures: vec![good, good] };
    assert_eq!(
        two.verify(&w.domain).unwrap_err(),
        Error::SignatureCount { inputs: 1, signatures: 2 }
    );
    let none = SignedTx {
        tx: PaymentTx::deposit(alice.address(), Address::ZERO, eth(1), 3).unwrap(),
        signatures: vec![],
    };
    assert_eq!(none.verify(&w.domain).unwrap_err(), Error::NoInputs);
}

#[test]
fn deposits_are_refused_out_of_order_or_empty() {
    let (mut w, _a, _b) = world();
    let owner = w.alice.address();
    let d = |blknum: u64, amount: u64| Deposit {
        blknum,
        owner,
        token: Address::ZERO,
        amount: eth(amount),
    };
    let refused = |r: Result<UtxoPos, Error>| matches!(r, Err(Error::InvalidDeposit { .. }));
    assert!(refused(w.chain.apply_deposit(&d(2, 1))), "a replayed deposit");
    assert!(refused(w.chain.apply_deposit(&d(1000, 1))), "not a deposit block");
    assert!(refused(w.chain.apply_deposit(&d(1001, 1))), "after the open block");
    assert!(refused(w.chain.apply_deposit(&d(3, 0))), "zero amount");
    assert_eq!(w.chain.apply_deposit(&d(3, 1)).unwrap(), UtxoPos::new(3, 0, 0).unwrap());
    w.chain.seal_block().unwrap();
    assert_eq!(w.chain.apply_deposit(&d(1001, 1)).unwrap(), UtxoPos::new(1001, 0, 0).unwrap());
    assert_eq!(
        d(1001, 1).tx().unwrap(),
        PaymentTx::deposit(owner, Address::ZERO, eth(1), 1001).unwrap()
    );
}

#[test]
fn fees_of_many_tokens_fill_several_fee_transactions() {
    let operator = Address::repeat_byte(0x09);
    let mut chain = ChainState::new(operator);
    let domain = SigningDomain::new(1, Address::repeat_byte(0x42));
    let alice = dev_signer(1).unwrap();
    for t in 0..5u8 {
        let token = Address::repeat_byte(0x70 + t);
        let pos = chain
            .apply_deposit(&Deposit {
                blknum: u64::from(t) + 1,
                owner: alice.address(),
                token,
                amount: eth(3),
            })
            .unwrap();
        let pay = PaymentTx::new(
            vec![pos],
            vec![Output { owner: alice.address(), token, amount: eth(2) }],
            B256::ZERO,
        )
        .unwrap();
        chain
            .apply(&SignedTx::sign(pay, &[&alice], &domain).unwrap().verify(&domain).unwrap())
            .unwrap();
    }
    let block = chain.seal_block().unwrap();
    assert_eq!(block.transactions.len(), 5 + 2);
    assert_eq!(block.transactions[5].outputs().len(), 4);
    assert_eq!(block.transactions[6].outputs().len(), 1);
    assert_eq!(chain.utxos_of(operator).len(), 5);
}

/// A watcher replays the operator's blocks; a block with any invalid transaction or wrong fees
/// is refused and leaves the watcher's state as it was.
#[test]
fn a_watcher_replays_blocks_and_refuses_invalid_ones() {
    let (mut operator, a, b) = world();
    let (mut watcher, _, _) = world();
    let (alice, bob) = (operator.alice.clone(), operator.bob.clone());
    let domain = operator.domain;
    let pay = SignedTx::sign(tx(vec![a], vec![out(bob.address(), 9)]), &[&alice], &domain).unwrap();
    operator.chain.apply(&pay.verify(&domain).unwrap()).unwrap();
    let block = operator.chain.seal_block().unwrap();
    let as_sent: Vec<SignedTx> = std::iter::once(pay.clone())
        .chain(
            block.transactions[1..].iter().map(|t| SignedTx { tx: t.clone(), signatures: vec![] }),
        )
        .collect();

    // a fee transaction paying the operator more than the fees
    let mut greedy = as_sent.clone();
    let fee = Output { owner: operator.operator, token: Address::ZERO, amount: eth(2) };
    greedy[1].tx = PaymentTx::new(vec![], vec![fee], B256::from(U256::from(1000))).unwrap();
    assert!(matches!(
        watcher.chain.replay_block(1000, &greedy, &domain),
        Err(Error::FeeMismatch { .. })
    ));
    // a theft in the block
    let theft =
        SignedTx::sign(tx(vec![b], vec![out(alice.address(), 5)]), &[&alice], &domain).unwrap();
    let bad = vec![theft, as_sent[0].clone(), as_sent[1].clone()];
    let err = watcher.chain.replay_block(1000, &bad, &domain).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidBlockTransaction { index: 0, source, .. } if matches!(**source, Error::WrongSigner { .. })),
        "{err}"
    );
    assert!(watcher.chain.unspent(a).is_some() && watcher.chain.unspent(b).is_some(), "unchanged");
    // the honest block replays to the operator's root
    let replayed = watcher.chain.replay_block(1000, &as_sent, &domain).unwrap();
    assert_eq!(replayed.root(), block.root());
    assert_eq!(watcher.chain.utxos_of(bob.address()), operator.chain.utxos_of(bob.address()));
    assert_eq!(
        watcher.chain.replay_block(1000, &as_sent, &domain).unwrap_err(),
        Error::UnexpectedBlock { expected: 2000, got: 1000 }
    );
}

/// Random payments, honest and not, never create or lose value: after every block the unspent
/// outputs hold exactly the deposits, per token.
#[test]
fn value_is_conserved_under_random_payments() {
    let operator = Address::repeat_byte(0x09);
    let domain = SigningDomain::new(1, Address::repeat_byte(0x42));
    let keys: Vec<PrivateKeySigner> = (0..4).map(|i| dev_signer(i).unwrap()).collect();
    let tokens = [Address::ZERO, Address::repeat_byte(0x77)];
    let mut chain = ChainState::new(operator);
    let mut deposited = [U256::ZERO; 2];
    let mut seed = 0x706c79u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut blknum = 1;
    let (mut applied, mut refused) = (0, 0);
    for round in 0..6 {
        for _ in 0..4 {
            let k = rand(4) as usize;
            let t = rand(2) as usize;
            let amount = eth(1 + rand(100));
            chain
                .apply_deposit(&Deposit {
                    blknum,
                    owner: keys[k].address(),
                    token: tokens[t],
                    amount,
                })
                .unwrap();
            deposited[t] += amount;
            blknum += 1;
        }
        for _ in 0..30 {
            let k = rand(4) as usize;
            let owned = chain.utxos_of(keys[k].address());
            if owned.is_empty() {
                continue;
            }
            let (pos, o) = owned[rand(owned.len() as u64) as usize];
            let to = keys[rand(4) as usize].address();
            let cheat = rand(5); // 0: overspend, 1: wrong signer, 2: a spent input, else honest
            let send = if cheat == 0 { o.amount + eth(1) } else { o.amount - o.amount / eth(10) };
            let input = if cheat == 2 { UtxoPos::new(blknum - 1, 0, 0).unwrap() } else { pos };
            let payment = tx(vec![input], vec![Output { owner: to, token: o.token, amount: send }]);
            let signer = if cheat == 1 { &keys[(k + 1) % 4] } else { &keys[k] };
            match SignedTx::sign(payment, &[signer], &domain)
                .and_then(|s| s.verify(&domain))
                .and_then(|v| chain.apply(&v))
            {
                Ok(_) => applied += 1,
                Err(e) => {
                    assert!(cheat <= 2, "an honest payment was refused: {e}");
                    refused += 1;
                }
            }
        }
        chain.seal_block().unwrap();
        blknum = (round + 1) * 1000 + 1;
        for (t, token) in tokens.iter().enumerate() {
            let mut held = U256::ZERO;
            for owner in keys.iter().map(PrivateKeySigner::address).chain([operator]) {
                held += chain
                    .utxos_of(owner)
                    .iter()
                    .filter(|(_, o)| o.token == *token)
                    .map(|(_, o)| o.amount)
                    .sum::<U256>();
            }
            assert_eq!(held, deposited[t], "token {token} after block {}", (round + 1) * 1000);
        }
    }
    assert!(applied > 50 && refused > 20, "{applied} applied, {refused} refused");
}
