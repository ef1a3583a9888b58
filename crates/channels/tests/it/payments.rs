//! Mediated payments A → B → C over the manager, with an honest network and with each
//! adversary the issue names: a double spend on two routes, a withheld secret, a mediator
//! that withholds the secret, a hop that cannot forward, a forged sender, a crash.

use crate::net::*;
use ply_channels::{
    ChannelError,
    manager::{Event, L1Call},
    routing::FeeSchedule,
    store::{MemoryStore, RedbStore, Store},
};
use ply_core::{B256, U256};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn fees() -> Vec<FeeSchedule> {
    vec![
        FeeSchedule::default(),
        FeeSchedule { base: U256::from(1), ppm: 10_000 },
        FeeSchedule::default(),
    ]
}

fn memory() -> Vec<Box<dyn Store>> {
    (0..3).map(|_| Box::new(MemoryStore::new()) as Box<dyn Store>).collect()
}

fn abc(stores: Vec<Box<dyn Store>>, bc_deposit: u64) -> Net {
    Net::new(stores, &fees(), &[(A, B, 1000, 0), (B, C, bc_deposit, 0)])
}

fn no_pending_payments(net: &Net) {
    for (i, n) in net.nodes.iter().enumerate() {
        assert_eq!(n.manager.payments().count(), 0, "node {i} still has payments");
        for c in n.manager.channels() {
            assert!(c.our.locks.is_empty() && c.partner.locks.is_empty(), "node {i} has locks");
        }
    }
}

/// Both ends of every channel agree on every balance.
fn consistent(net: &Net) {
    for (i, n) in net.nodes.iter().enumerate() {
        for c in n.manager.channels() {
            let j = (0..net.nodes.len()).find(|&j| net.addr(j) == c.identity.partner).unwrap();
            let other = net.nodes[j].manager.channel(&c.id()).unwrap();
            assert_eq!(c.our.transferred, other.partner.transferred, "{i}-{j}");
            assert_eq!(c.our.locks, other.partner.locks, "{i}-{j}");
            assert_eq!(c.our.nonce, other.partner.nonce, "{i}-{j}");
        }
    }
}

#[test]
fn a_mediated_payment_completes_and_pays_the_mediator_its_fee() {
    let mut net = abc(memory(), 1000);
    let route = net.route(A, C, 100);
    assert_eq!(route.path, vec![net.addr(A), net.addr(B), net.addr(C)]);
    // B's fee on an incoming x is 1 + x/100 rounded down: 102 in gives 100 out.
    assert_eq!(route.amount, U256::from(102));
    assert_eq!(route.lock_timeout, 2 * REVEAL_TIMEOUT);
    net.pay(A, C, 100, 7).unwrap();
    net.run();
    assert!(
        net.nodes[A]
            .events
            .iter()
            .any(|e| matches!(e, Event::PaymentSent { amount, .. } if *amount == U256::from(100)))
    );
    let received = net.nodes[C].events.iter().find_map(|e| match e {
        Event::PaymentReceived { amount, from, .. } => Some((*amount, *from)),
        _ => None,
    });
    assert_eq!(received, Some((U256::from(100), net.addr(A))));
    assert_eq!(net.available(A, B), U256::from(1000 - 102));
    assert_eq!(net.available(B, C), U256::from(1000 - 100));
    assert_eq!(net.available(B, A), U256::from(102));
    no_pending_payments(&net);
    consistent(&net);
    for n in &net.nodes {
        assert!(n.refused.is_empty(), "{:?}", n.refused);
        assert!(n.manager.outbox().is_empty(), "every message was acknowledged");
    }
}

#[test]
fn the_same_balance_cannot_be_spent_on_two_routes_at_once() {
    let mut net = Net::new(memory(), &fees(), &[(A, B, 150, 0), (B, C, 1000, 0)]);
    net.pay(A, C, 100, 1).unwrap();
    // The first lock (102) is reserved at send: 48 are left, so a second payment of 100 on
    // any route through this channel is refused before anything is signed.
    let route = net.route(A, C, 40);
    let err =
        net.nodes[A].manager.pay(&route, U256::from(100), 2, B256::repeat_byte(2)).unwrap_err();
    assert!(
        matches!(
            err,
            ChannelError::InvalidPayment { .. } | ChannelError::InsufficientBalance { .. }
        ),
        "{err}"
    );
    let mut big = route.clone();
    big.amount = U256::from(100);
    let err = net.nodes[A].manager.pay(&big, U256::from(100), 2, B256::repeat_byte(2)).unwrap_err();
    assert!(matches!(err, ChannelError::InsufficientBalance { .. }), "{err}");
    // A direct payment cannot take it either.
    let b_addr = net.addr(B);
    let err = net.nodes[A].manager.pay_direct(b_addr, U256::from(49), 3).unwrap_err();
    assert!(matches!(err, ChannelError::InsufficientBalance { .. }), "{err}");
    net.run();
    assert_eq!(net.available(A, B), U256::from(48));
    // B would refuse a lock beyond A's balance even if A's node tried (checked in
    // channel tests); here the first payment simply completes.
    no_pending_payments(&net);
}

#[test]
fn a_withheld_secret_expires_and_every_hop_gets_its_funds_back() {
    let mut net = abc(memory(), 1000);
    // C never asks for the secret (its SecretRequest is lost).
    net.filter = Some(Box::new(|_, _, m| !is_kind(m, "secret_request")));
    net.pay(A, C, 100, 9).unwrap();
    net.run();
    assert_eq!(net.available(A, B), U256::from(898));
    let expiration = START_BLOCK + 2 * REVEAL_TIMEOUT;
    // Not yet: nobody removes a lock before it expires.
    net.block(expiration);
    net.run();
    assert_eq!(net.available(A, B), U256::from(898));
    net.block(expiration + 1);
    net.run();
    assert!(net.nodes[A].events.iter().any(|e| matches!(e, Event::PaymentFailed { .. })));
    assert_eq!(net.available(A, B), U256::from(1000));
    assert_eq!(net.available(B, C), U256::from(1000));
    assert_eq!(net.available(B, A), U256::ZERO);
    no_pending_payments(&net);
    consistent(&net);
}

#[test]
fn a_mediator_withholding_the_secret_makes_the_target_claim_on_l1() {
    let mut net = abc(memory(), 1000);
    let (a, c) = (net.addr(A), net.addr(C));
    // B learns the secret from C but pays nobody and tells nobody.
    let b = net.addr(B);
    net.filter = Some(Box::new(move |from, to, m| {
        !(from == b && (to == c && is_kind(m, "unlock") || to == a && is_kind(m, "reveal_secret")))
    }));
    net.pay(A, C, 100, 5).unwrap();
    net.run();
    let incoming = net.nodes[C]
        .manager
        .payment(&ply_channels::lock::secrethash(&B256::repeat_byte(5)))
        .unwrap()
        .incoming
        .unwrap();
    // C's lock from B expires at 110; C must act at 110 - reveal_timeout at the latest.
    assert_eq!(incoming.lock.expiration, START_BLOCK + REVEAL_TIMEOUT);
    net.block(START_BLOCK + REVEAL_TIMEOUT - 1);
    net.run();
    let calls = &net.nodes[C].l1;
    assert!(calls.contains(&L1Call::RegisterSecret { secret: B256::repeat_byte(5) }), "{calls:?}");
    assert!(calls.iter().any(|c| matches!(c, L1Call::Close { partner_proof: Some(p), .. } if p.proof.locked_amount == U256::from(100))));
    // Once the secret is on L1 in time, B can no longer remove C's lock as expired, and A,
    // seeing it, pays B off-chain: the payment completes through the registry.
    for i in [A, B, C] {
        let actions = net.nodes[i]
            .manager
            .on_secret_registered(B256::repeat_byte(5), START_BLOCK + REVEAL_TIMEOUT - 1)
            .unwrap();
        net.apply(i, actions);
    }
    net.run();
    assert!(net.nodes[A].events.iter().any(|e| matches!(e, Event::PaymentSent { .. })));
    net.block(START_BLOCK + 3 * REVEAL_TIMEOUT);
    net.run();
    let bc = net.nodes[C].manager.channel_with(b).unwrap();
    assert_eq!(bc.partner.locks.len(), 1, "the lock stays for the on-chain unlock");
}

#[test]
fn a_hop_that_cannot_forward_refunds_at_once() {
    // B has only 50 towards C: the lock of 101 cannot be forwarded.
    let mut net = abc(memory(), 50);
    let route = ply_channels::routing::Route {
        path: vec![net.addr(A), net.addr(B), net.addr(C)],
        amount: U256::from(103),
        fees: U256::from(3),
        lock_timeout: 2 * REVEAL_TIMEOUT,
    };
    let actions =
        net.nodes[A].manager.pay(&route, U256::from(100), 1, B256::repeat_byte(1)).unwrap();
    net.apply(A, actions);
    net.run();
    // Refused without waiting for the expiry.
    assert!(
        net.nodes[A].events.iter().any(
            |e| matches!(e, Event::PaymentFailed { reason, .. } if reason.contains("refused"))
        )
    );
    assert_eq!(net.available(A, B), U256::from(1000));
    assert_eq!(net.available(B, C), U256::from(50));
    no_pending_payments(&net);
    consistent(&net);
    // The graph knows: no route for 100 through a channel of 50.
    assert!(net.graph.find_route(net.addr(A), net.addr(C), U256::from(100), 200).is_err());
}

#[test]
fn a_message_forged_in_anothers_name_is_refused() {
    let mut net = abc(memory(), 1000);
    let (a_addr, b_addr, c_addr) = (net.addr(A), net.addr(B), net.addr(C));
    let actions = net.nodes[A].manager.pay_direct(b_addr, U256::from(10), 1).unwrap();
    net.apply(A, actions);
    let (_, _, message) = net.queue.pop_front().unwrap();
    // C relays A's signed message as its own: the transport says C, the signature says A.
    let err = net.nodes[B].manager.receive(c_addr, &message).unwrap_err();
    assert!(matches!(err, ChannelError::WrongSender { .. }), "{err}");
    // A replay of an applied message is acknowledged again and changes nothing.
    net.nodes[B].manager.receive(a_addr, &message).unwrap();
    let before = net.nodes[B].manager.channel_with(net.addr(A)).unwrap().clone();
    let again = net.nodes[B].manager.receive(a_addr, &message).unwrap();
    assert!(again.persist.is_empty());
    assert_eq!(again.messages().count(), 1, "only the ack");
    assert_eq!(net.nodes[B].manager.channel_with(net.addr(A)).unwrap(), &before);
}

fn crash_mid_payment(stores: Vec<Box<dyn Store>>) {
    let mut net = abc(stores, 1000);
    net.pay(A, C, 100, 3).unwrap();
    // Deliver until B has forwarded the lock to C, then crash B with everything in flight.
    let b = net.addr(B);
    while let Some((from, to, m)) = net.queue.pop_front() {
        let forwarded = from == b && is_kind(&m, "locked_transfer");
        net.queue.push_front((from, to, m));
        if forwarded {
            break;
        }
        let (from, to, m) = net.queue.pop_front().unwrap();
        let j = (0..3).find(|&j| net.addr(j) == to).unwrap();
        let actions = net.nodes[j].manager.receive(from, &m).unwrap();
        net.apply(j, actions);
    }
    net.crash_and_restart(B, fees()[B]);
    net.run();
    // Then A crashes after the secret went back but before everything settled.
    net.pay(A, C, 50, 4).unwrap();
    net.crash_and_restart(A, fees()[A]);
    net.run();
    net.reconnect_all();
    net.run();
    assert!(
        net.nodes[C].events.iter().filter(|e| matches!(e, Event::PaymentReceived { .. })).count()
            >= 1
    );
    no_pending_payments(&net);
    consistent(&net);
    assert_eq!(net.available(B, A), U256::from(102 + 51));
    for n in &net.nodes {
        assert!(n.manager.outbox().is_empty());
    }
}

#[test]
fn restart_mid_payment_recovers_from_the_memory_store() {
    crash_mid_payment(memory());
}

#[test]
fn restart_mid_payment_recovers_from_redb() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let stores = dirs
        .iter()
        .map(|d| Box::new(RedbStore::open(d.path()).unwrap()) as Box<dyn Store>)
        .collect();
    crash_mid_payment(stores);
    // And the stores reopen from disk with the same content.
    for d in &dirs {
        let store = RedbStore::open(d.path()).unwrap();
        let snapshot = store.load().unwrap();
        assert!(!snapshot.channels.is_empty());
        assert!(snapshot.payments.is_empty());
        assert!(snapshot.outbox.is_empty());
    }
}

#[test]
fn a_partners_close_is_answered_with_its_newest_proof_and_settled_channels_unlock() {
    use ply_channels::eip712::NonClosingUpdate;
    let mut net = abc(memory(), 1000);
    let b_addr = net.addr(B);
    for i in 0..3 {
        let actions = net.nodes[A].manager.pay_direct(b_addr, U256::from(10), i).unwrap();
        net.apply(A, actions);
    }
    net.run();
    // And one payment to C whose lock stays pending (C never asks for the secret).
    net.filter = Some(Box::new(|_, _, m| !is_kind(m, "secret_request")));
    net.pay(A, C, 100, 8).unwrap();
    net.run();
    // A closes (with whatever proof of B's it likes); B answers with A's newest proof.
    let ab = net.nodes[B].manager.channel_with(net.addr(A)).unwrap().id();
    let a_addr = net.addr(A);
    let actions = net.nodes[B].manager.on_channel_closed(ab, a_addr, 700).unwrap();
    let update = actions.l1_calls().next().cloned().expect("an update");
    let L1Call::UpdateNonClosing { channel_id, closer_proof, non_closing_signature } = update
    else {
        panic!("{update:?}")
    };
    assert_eq!(channel_id, ab);
    assert_eq!(closer_proof.proof.nonce, 4);
    assert_eq!(closer_proof.proof.locked_amount, U256::from(102));
    assert_eq!(closer_proof.proof.transferred_amount, U256::from(30));
    assert_eq!(closer_proof.signer().unwrap(), a_addr);
    let authorisation = NonClosingUpdate {
        channelId: ab,
        generation: 1,
        balanceProofHash: closer_proof.proof.struct_hash(),
    };
    crate::common::domain()
        .verify(&authorisation, &non_closing_signature, net.addr(B))
        .expect("B's authorisation, usable by a watchtower");
    net.apply(B, actions);
    // A closed channel takes no more payments, and is settled once its window ends.
    assert!(net.nodes[B].manager.pay_direct(a_addr, U256::from(1), 9).is_err());
    let actions = net.nodes[B].manager.on_block(699).unwrap();
    assert_eq!(actions.l1_calls().count(), 0, "too early to settle");
    let actions = net.nodes[B].manager.on_block(700).unwrap();
    assert!(
        actions.l1_calls().any(|c| matches!(c, L1Call::Settle { channel_id } if *channel_id == ab))
    );
    // After settle, A's pending lock is unlocked on L1 with exactly the committed locks.
    let actions = net.nodes[B].manager.on_channel_settled(ab);
    let locks = net.nodes[B].manager.channel(&ab).unwrap().partner.locks.clone();
    assert_eq!(locks.len(), 1);
    let unlock = actions.l1_calls().next().cloned().expect("an unlock");
    assert_eq!(
        unlock,
        L1Call::Unlock {
            channel_id: ab,
            generation: 1,
            sender: a_addr,
            receiver: b_addr,
            locks: locks.encode()
        }
    );
    assert_eq!(ply_core::keccak256(locks.encode()), closer_proof.proof.locks_root);
}
