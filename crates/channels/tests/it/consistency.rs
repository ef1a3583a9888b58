//! A deterministic fuzz of three nodes (LDK's `chanmon_consistency` in spirit): random direct
//! and mediated payments, message losses, crashes with restarts from the stores, reconnects and
//! blocks. Whatever happens, nothing panics, no money appears or disappears, both ends of each
//! channel end up agreeing, and every payment ends (completed or expired).

use crate::net::*;
use ply_channels::{
    routing::FeeSchedule,
    store::{MemoryStore, Store},
};
use ply_core::{B256, U256};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn fees() -> Vec<FeeSchedule> {
    vec![FeeSchedule { base: U256::from(1), ppm: 5_000 }; 3]
}

/// Every node's balances across all its channels, plus its pending locks, add up to the
/// deposits: money is neither created nor lost.
fn conserved(net: &Net, deposits: u64) {
    let mut total = U256::ZERO;
    for n in &net.nodes {
        for c in n.manager.channels() {
            // Count each channel once, from its lower end's view.
            if c.identity.our < c.identity.partner {
                total += c.available_to_send() + c.available_to_receive();
                total += c.our.locked() + c.partner.locked();
            }
        }
    }
    assert_eq!(total, U256::from(deposits));
}

fn run_seed(seed: u64) {
    let stores: Vec<Box<dyn Store>> =
        (0..3).map(|_| Box::new(MemoryStore::new()) as Box<dyn Store>).collect();
    let mut net = Net::new(stores, &fees(), &[(0, 1, 500, 500), (1, 2, 500, 500)]);
    let deposits = 2000;
    let mut rng = Rng(seed | 1);
    let mut block = START_BLOCK;
    let mut secret = 0u8;
    for _ in 0..150 {
        match rng.below(10) {
            0..=2 => {
                let (a, b) = [(0, 1), (1, 0), (1, 2), (2, 1)][rng.below(4) as usize];
                let amount = U256::from(1 + rng.below(60));
                let partner = net.addr(b);
                if let Ok(actions) = net.nodes[a].manager.pay_direct(partner, amount, 0) {
                    net.apply(a, actions);
                }
            }
            3..=4 => {
                let (from, to) = if rng.below(2) == 0 { (0, 2) } else { (2, 0) };
                secret = secret.wrapping_add(1).max(1);
                let amount = 1 + rng.below(80);
                if let Ok(route) =
                    net.graph.find_route(net.addr(from), net.addr(to), U256::from(amount), 200)
                {
                    let _ = net.nodes[from]
                        .manager
                        .pay(&route, U256::from(amount), secret as u64, B256::repeat_byte(secret))
                        .map(|actions| net.apply(from, actions));
                }
            }
            5..=6 => {
                // Deliver a few messages, losing some.
                for _ in 0..rng.below(8) {
                    if net.queue.is_empty() {
                        break;
                    }
                    if rng.below(6) == 0 {
                        net.queue.pop_front();
                        continue;
                    }
                    let (from, to, message) = net.queue.pop_front().unwrap();
                    net.queue.push_front((from, to, message));
                    let mut one = std::mem::take(&mut net.queue);
                    let first = one.pop_front().unwrap();
                    net.queue.push_back(first);
                    // Deliver only this one message.
                    let (from, to, message) = net.queue.pop_front().unwrap();
                    let rest = one;
                    let j = (0..3).find(|&j| net.addr(j) == to).unwrap();
                    match net.nodes[j].manager.receive(from, &message) {
                        Ok(actions) => {
                            net.queue = rest;
                            net.apply(j, actions);
                        }
                        Err(e) => {
                            net.queue = rest;
                            net.nodes[j].refused.push(e.to_string());
                        }
                    }
                }
            }
            7 => {
                let i = rng.below(3) as usize;
                net.crash_and_restart(i, fees()[i]);
            }
            8 => net.reconnect_all(),
            _ => {
                block += 1 + rng.below(3);
                net.block(block);
            }
        }
        conserved(&net, deposits);
    }
    // Quiesce: reconnect, deliver, let every lock expire, deliver again.
    for _ in 0..3 {
        net.reconnect_all();
        net.run();
    }
    block += 500;
    net.block(block);
    for _ in 0..3 {
        net.run();
        net.reconnect_all();
        net.run();
    }
    conserved(&net, deposits);
    for (i, n) in net.nodes.iter().enumerate() {
        assert_eq!(n.manager.payments().count(), 0, "seed {seed}: node {i} still has payments");
        if !n.manager.outbox().is_empty() {
            for (id, e) in n.manager.outbox() {
                let j = (0..3).find(|&j| net.addr(j) == e.to).unwrap();
                eprintln!("node {i} → {j}: {id} {:?}", e.message.message);
                eprintln!(
                    "  {j} refused: {:?}",
                    net.nodes[j]
                        .refused
                        .iter()
                        .filter(|r| !r.starts_with("nonce"))
                        .collect::<std::collections::BTreeSet<_>>()
                );
            }
            panic!("seed {seed}: node {i} has unacknowledged messages");
        }
        for c in n.manager.channels() {
            let j = (0..3).find(|&j| net.addr(j) == c.identity.partner).unwrap();
            let other = net.nodes[j].manager.channel(&c.id()).unwrap();
            assert_eq!(c.our.transferred, other.partner.transferred, "seed {seed}: {i}-{j}");
            assert_eq!(c.our.nonce, other.partner.nonce, "seed {seed}: {i}-{j}");
            assert!(
                c.our.locks.is_empty() && c.partner.locks.is_empty(),
                "seed {seed}: locks left"
            );
        }
    }
}

#[test]
fn random_payments_losses_and_crashes_keep_every_channel_consistent() {
    for seed in 1..=12u64 {
        run_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}
