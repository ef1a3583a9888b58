//! Nodes over real TCP sockets on 127.0.0.1: authenticated handshakes, a mediated payment
//! A → B → C, and a mediator restarted from its redb store while a payment waits for it.

use crate::{common::*, net::config};
use ply_channels::{
    ChannelError,
    channel::channel_id,
    eip712::signature_to_bytes,
    manager::{ChannelManager, Event},
    node::{L1Input, NodeHandle, NodeSettings, start},
    routing::{ChannelGraph, ChannelUpdateData, FeeSchedule},
    store::RedbStore,
    transport::{Handshake, handshake, read_frame, write_frame},
};
use ply_core::{Address, B256, U256};
use std::{collections::BTreeMap, net::SocketAddr, path::Path, time::Duration};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(20);

fn fees(i: usize) -> FeeSchedule {
    if i == 1 { FeeSchedule { base: U256::from(1), ppm: 0 } } else { FeeSchedule::default() }
}

async fn node(
    i: usize,
    dir: &Path,
    listen: SocketAddr,
    peers: BTreeMap<Address, SocketAddr>,
) -> NodeHandle {
    let manager = ChannelManager::restore(
        config(fees(i)),
        key(i + 1),
        ply_channels::store::Store::load(&RedbStore::open(dir).unwrap()).unwrap(),
    );
    let store = Box::new(RedbStore::open(dir).unwrap());
    start(manager, store, ChannelGraph::new(domain(), 10), NodeSettings { listen, peers })
        .await
        .unwrap()
}

async fn wait_for(
    events: &mut broadcast::Receiver<Event>,
    what: &str,
    f: impl Fn(&Event) -> bool,
) -> Event {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_crosses_three_nodes_over_tcp_and_survives_a_mediator_restart() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let addrs: Vec<Address> = (0..3).map(|i| key(i + 1).address()).collect();
    // The lower address dials: start from the highest so every dialled peer is listening.
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(addrs[i]));
    let mut listening: BTreeMap<Address, SocketAddr> = BTreeMap::new();
    let mut nodes: Vec<Option<NodeHandle>> = vec![None, None, None];
    for &i in &order {
        let handle = node(i, dirs[i].path(), any_port(), listening.clone()).await;
        listening.insert(addrs[i], handle.local_addr());
        nodes[i] = Some(handle);
    }
    let (a, b, c) = (0, 1, 2);
    let ab = channel_id(addrs[a], addrs[b], Address::ZERO);
    let bc = channel_id(addrs[b], addrs[c], Address::ZERO);
    let l1 = |n: &NodeHandle| {
        for (id, p, q) in [(ab, addrs[a], addrs[b]), (bc, addrs[b], addrs[c])] {
            n.l1(L1Input::ChannelOpened {
                channel_id: id,
                generation: 1,
                participant1: p.min(q),
                participant2: p.max(q),
                token: Address::ZERO,
                settle_timeout: 500,
            })
            .unwrap();
            n.l1(L1Input::Deposit { channel_id: id, participant: p, total: U256::from(1000) })
                .unwrap();
        }
        n.l1(L1Input::Block(100)).unwrap();
    };
    for n in nodes.iter().flatten() {
        l1(n);
    }
    // B announces its fee; A routes with it.
    let announce = ChannelUpdateData {
        channel_id: bc,
        generation: 1,
        node: addrs[b],
        partner: addrs[c],
        capacity: U256::from(1000),
        fees: fees(b),
        reveal_timeout: 10,
        sequence: 1,
    }
    .sign(&domain(), &key(b + 1))
    .unwrap();
    nodes[a].as_ref().unwrap().graph_update(announce.clone()).unwrap();

    let mut a_events = nodes[a].as_ref().unwrap().subscribe();
    let mut c_events = nodes[c].as_ref().unwrap().subscribe();
    nodes[a].as_ref().unwrap().pay(addrs[c], U256::from(100)).await.unwrap();
    wait_for(&mut a_events, "A's payment sent", |e| matches!(e, Event::PaymentSent { .. })).await;
    wait_for(
        &mut c_events,
        "C's payment received",
        |e| matches!(e, Event::PaymentReceived { amount, .. } if *amount == U256::from(100)),
    )
    .await;

    // Direct payments, many in flight at once (they share commits).
    let mut b_events = nodes[b].as_ref().unwrap().subscribe();
    for _ in 0..50 {
        nodes[a].as_ref().unwrap().pay_direct(addrs[b], U256::from(2)).await.unwrap();
    }
    for _ in 0..50 {
        wait_for(&mut b_events, "B receives", |e| matches!(e, Event::PaymentReceived { .. })).await;
    }
    let at_b = nodes[b].as_ref().unwrap().channel_with(addrs[a]).await.unwrap().unwrap();
    assert_eq!(at_b.partner.transferred, U256::from(101 + 100));

    // B goes down; A starts a payment to C through B, which waits in A's outbox.
    let b_listen = nodes[b].as_ref().unwrap().local_addr();
    nodes[b].take().unwrap().stop().await;
    nodes[a].as_ref().unwrap().pay(addrs[c], U256::from(10)).await.unwrap();
    assert_eq!(nodes[a].as_ref().unwrap().pending().await.unwrap(), (1, 1));
    // B restarts from its redb store on the same port; the lock is resent on reconnect.
    let higher: BTreeMap<_, _> =
        listening.iter().filter(|(k, _)| **k > addrs[b]).map(|(k, v)| (*k, *v)).collect();
    nodes[b] = Some(node(b, dirs[b].path(), b_listen, higher).await);
    wait_for(&mut a_events, "A's second payment sent", |e| matches!(e, Event::PaymentSent { .. }))
        .await;
    wait_for(
        &mut c_events,
        "C's second payment",
        |e| matches!(e, Event::PaymentReceived { amount, .. } if *amount == U256::from(10)),
    )
    .await;
    // Everything settles: no payment in progress, every message acknowledged.
    tokio::time::timeout(WAIT, async {
        loop {
            let mut idle = true;
            for n in nodes.iter().flatten() {
                idle &= n.pending().await.unwrap() == (0, 0);
            }
            if idle {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("all payments finish and all messages are acknowledged");
    let at_c = nodes[c].as_ref().unwrap().channel_with(addrs[b]).await.unwrap().unwrap();
    assert_eq!(at_c.partner.transferred, U256::from(110));
    for n in nodes.into_iter().flatten() {
        n.stop().await;
    }
}

#[tokio::test]
async fn an_impostor_fails_the_handshake() {
    let (mut honest_end, mut impostor_end) = tokio::io::duplex(4096);
    let honest = key(1);
    let claimed = key(2).address();
    let impostor = tokio::spawn(async move {
        // Claims to be account 2, signs with account 5.
        let mut hello = b"PLYC\x01".to_vec();
        hello.extend_from_slice(claimed.as_slice());
        hello.extend_from_slice(&[7u8; 32]);
        write_frame(&mut impostor_end, &hello).await.unwrap();
        let theirs = read_frame(&mut impostor_end).await.unwrap();
        let challenge = B256::from_slice(&theirs[25..57]);
        let proof = Handshake { from: claimed, to: key(1).address(), challenge };
        let signature = domain().sign(&proof, &key(5)).unwrap();
        write_frame(&mut impostor_end, &signature_to_bytes(&signature)).await.unwrap();
        let _ = read_frame(&mut impostor_end).await;
    });
    let err = handshake(&mut honest_end, &domain(), &honest, None).await.unwrap_err();
    assert!(matches!(err, ChannelError::SignerMismatch { .. }), "{err}");
    impostor.abort();

    // Two honest ends agree; a dialler that expected someone else refuses.
    let (mut x, mut y) = tokio::io::duplex(4096);
    let (kx, ky) = (key(1), key(2));
    let d = domain();
    let (rx, ry) = tokio::join!(
        handshake(&mut x, &d, &kx, Some(ky.address())),
        handshake(&mut y, &d, &ky, None)
    );
    assert_eq!(rx.unwrap(), ky.address());
    assert_eq!(ry.unwrap(), kx.address());
    let (mut x, mut y) = tokio::io::duplex(4096);
    let (dy, kyy) = (d.clone(), ky.clone());
    let other_end = tokio::spawn(async move { handshake(&mut y, &dy, &kyy, None).await });
    let rx = handshake(&mut x, &d, &kx, Some(key(3).address())).await;
    assert!(rx.unwrap_err().to_string().contains("reached"));
    drop(x);
    assert!(other_end.await.unwrap().is_err(), "the other end sees the connection close");
    // Another chain's domain: the proofs do not verify.
    let other = ply_channels::eip712::ChannelDomain::new(1, token_network());
    let (mut x, mut y) = tokio::io::duplex(4096);
    let (rx, ry) =
        tokio::join!(handshake(&mut x, &d, &kx, None), handshake(&mut y, &other, &ky, None));
    assert!(rx.is_err() && ry.is_err());
}
