//! Routing: the cheapest route with enough capacity and expiry margin, and announcements
//! that only a channel's participant can make.

use crate::common::*;
use ply_channels::{
    ChannelError,
    channel::channel_id,
    routing::{ChannelGraph, ChannelUpdateData, FeeSchedule, PPM},
};
use ply_core::{Address, U256};

fn node(i: usize) -> Address {
    key(i).address()
}

/// A graph of channels `(a, b)` funded with `capacity` on both sides, each node with `fees[i]`
/// and `reveal[i]` announced.
fn graph(
    channels: &[(usize, usize, u64)],
    fees: &[(usize, u64, u32)],
    reveal: u64,
) -> ChannelGraph {
    let mut g = ChannelGraph::new(domain(), 10);
    for &(a, b, cap) in channels {
        let id = channel_id(node(a), node(b), Address::ZERO);
        g.channel_opened(id, 1, node(a), node(b));
        for (me, them) in [(a, b), (b, a)] {
            let (base, ppm) = fees.iter().find(|f| f.0 == me).map_or((0, 0), |f| (f.1, f.2));
            let update = ChannelUpdateData {
                channel_id: id,
                generation: 1,
                node: node(me),
                partner: node(them),
                capacity: U256::from(cap),
                fees: FeeSchedule { base: U256::from(base), ppm },
                reveal_timeout: reveal,
                sequence: 1,
            }
            .sign(&domain(), &key(me))
            .unwrap();
            g.apply_update(&update).unwrap();
        }
    }
    g
}

#[test]
fn the_cheapest_route_with_enough_capacity_wins() {
    // 1 → 2 → 4 (2 charges 5) and 1 → 3 → 4 (3 charges 1), and a direct 1 → 5 → 6 → 4 free.
    let g = graph(
        &[
            (1, 2, 1000),
            (2, 4, 1000),
            (1, 3, 1000),
            (3, 4, 1000),
            (1, 5, 1000),
            (5, 6, 1000),
            (6, 4, 1000),
        ],
        &[(2, 5, 0), (3, 1, 0), (5, 1, 0), (6, 1, 0)],
        10,
    );
    let r = g.find_route(node(1), node(4), U256::from(100), 100).unwrap();
    assert_eq!(r.path, vec![node(1), node(3), node(4)]);
    assert_eq!(r.amount, U256::from(101));
    assert_eq!(r.fees, U256::from(1));
    assert_eq!(r.lock_timeout, 20);
    // A cap on the lock timeout that only a two-hop route fits.
    let r = g.find_route(node(1), node(4), U256::from(100), 20).unwrap();
    assert_eq!(r.path.len(), 3);
    assert!(g.find_route(node(1), node(4), U256::from(100), 19).is_err());
    // Capacity: 3 → 4 too small for 2000, and so is everything else.
    assert!(matches!(
        g.find_route(node(1), node(4), U256::from(2000), 100),
        Err(ChannelError::NoRoute { .. })
    ));
}

#[test]
fn capacity_forces_the_dearer_route() {
    let g =
        graph(&[(1, 2, 1000), (2, 4, 1000), (1, 3, 1000), (3, 4, 50)], &[(2, 5, 0), (3, 1, 0)], 10);
    let r = g.find_route(node(1), node(4), U256::from(100), 100).unwrap();
    assert_eq!(r.path, vec![node(1), node(2), node(4)]);
    assert_eq!(r.amount, U256::from(105));
}

#[test]
fn proportional_fees_round_in_the_mediators_favour() {
    for (base, ppm) in [(0u64, 1u32), (3, 2500), (1, 999_999), (0, 0), (7, 123_456)] {
        let fees = FeeSchedule { base: U256::from(base), ppm };
        for out in [1u64, 99, 100, 12345, 10u64.pow(18)] {
            let gross = fees.gross(U256::from(out)).unwrap();
            assert!(fees.forward(gross).unwrap() >= U256::from(out), "{base} {ppm} {out}");
            assert!(
                gross == U256::from(1)
                    || fees.forward(gross - U256::from(1)).is_none_or(|o| o < U256::from(out)),
                "the smallest gross: {base} {ppm} {out}"
            );
        }
    }
    assert!(FeeSchedule { base: U256::ZERO, ppm: PPM }.gross(U256::from(1)).is_none());
}

#[test]
fn announcements_are_refused_unless_signed_by_a_participant_with_a_new_sequence() {
    let mut g = graph(&[(1, 2, 1000)], &[], 10);
    let id = channel_id(node(1), node(2), Address::ZERO);
    let update = |signer: usize, who: usize, partner: usize, sequence: u64, generation: u64| {
        ChannelUpdateData {
            channel_id: id,
            generation,
            node: node(who),
            partner: node(partner),
            capacity: U256::from(5),
            fees: FeeSchedule::default(),
            reveal_timeout: 10,
            sequence,
        }
        .sign(&domain(), &key(signer))
        .unwrap()
    };
    let refused =
        |r: ply_channels::Result<()>| matches!(r, Err(ChannelError::BadAnnouncement { .. }));
    assert!(refused(g.apply_update(&update(3, 1, 2, 2, 1))), "signed by a stranger");
    assert!(refused(g.apply_update(&update(3, 3, 2, 2, 1))), "a stranger's own side");
    assert!(refused(g.apply_update(&update(1, 1, 2, 1, 1))), "replayed sequence");
    assert!(refused(g.apply_update(&update(1, 1, 2, 2, 2))), "unknown generation");
    g.apply_update(&update(1, 1, 2, 2, 1)).unwrap();
    assert!(g.find_route(node(1), node(2), U256::from(6), 100).is_err(), "capacity now 5");
    g.find_route(node(1), node(2), U256::from(5), 100).unwrap();
    g.channel_closed(id);
    assert!(g.find_route(node(1), node(2), U256::from(1), 100).is_err());
}
