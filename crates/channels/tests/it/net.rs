//! A network of nodes driven by hand (LDK's `functional_test_utils` in spirit): each node's
//! actions are persisted to its store before its messages enter the network, messages pass
//! through the wire codec, and a test can drop, delay or crash whatever it likes.

use crate::common::*;
use ply_channels::{
    Message, SignedMessage,
    channel::{ChannelIdentity, channel_id},
    manager::{Action, Actions, ChannelManager, Event, L1Call, NodeConfig},
    routing::{ChannelGraph, ChannelUpdateData, FeeSchedule, Route},
    store::Store,
    wire,
};
use ply_core::{Address, B256, U256};
use std::collections::VecDeque;

pub(crate) const REVEAL_TIMEOUT: u64 = 10;
pub(crate) const START_BLOCK: u64 = 100;

pub(crate) struct Node {
    pub(crate) manager: ChannelManager,
    pub(crate) store: Box<dyn Store>,
    pub(crate) key_index: usize,
    pub(crate) events: Vec<Event>,
    pub(crate) l1: Vec<L1Call>,
    pub(crate) refused: Vec<String>,
}

pub(crate) type Filter = Box<dyn FnMut(Address, Address, &SignedMessage) -> bool>;

pub(crate) struct Net {
    pub(crate) nodes: Vec<Node>,
    pub(crate) queue: VecDeque<(Address, Address, SignedMessage)>,
    pub(crate) graph: ChannelGraph,
    /// Returns false for a message to drop.
    pub(crate) filter: Option<Filter>,
}

pub(crate) fn config(fees: FeeSchedule) -> NodeConfig {
    NodeConfig { domain: domain(), reveal_timeout: REVEAL_TIMEOUT, fees, max_lock_timeout: 200 }
}

impl Net {
    /// Nodes on dev accounts 1.. with the given stores and fees, and channels
    /// `(a, b, deposit of a, deposit of b)`.
    pub(crate) fn new(
        stores: Vec<Box<dyn Store>>,
        fees: &[FeeSchedule],
        channels: &[(usize, usize, u64, u64)],
    ) -> Self {
        let nodes: Vec<Node> = stores
            .into_iter()
            .enumerate()
            .map(|(i, store)| Node {
                manager: ChannelManager::new(config(fees[i]), key(i + 1)),
                store,
                key_index: i + 1,
                events: vec![],
                l1: vec![],
                refused: vec![],
            })
            .collect();
        let mut net = Self {
            nodes,
            queue: VecDeque::new(),
            graph: ChannelGraph::new(domain(), REVEAL_TIMEOUT),
            filter: None,
        };
        for &(a, b, da, db) in channels {
            let (aa, ba) = (net.addr(a), net.addr(b));
            let id = channel_id(aa, ba, Address::ZERO);
            for (me, them, mine, theirs) in [(a, b, da, db), (b, a, db, da)] {
                let identity = ChannelIdentity {
                    chain_id: CHAIN_ID,
                    token_network: token_network(),
                    token: Address::ZERO,
                    channel_id: id,
                    generation: 1,
                    our: net.addr(me),
                    partner: net.addr(them),
                    settle_timeout: 500,
                    reveal_timeout: REVEAL_TIMEOUT,
                };
                let actions = net.nodes[me].manager.on_channel_opened(
                    identity,
                    U256::from(mine),
                    U256::from(theirs),
                );
                net.apply(me, actions);
            }
            net.graph.channel_opened(id, 1, aa, ba);
            net.graph.deposit_set(id, aa, U256::from(da));
            net.graph.deposit_set(id, ba, U256::from(db));
            // Each side announces its fees (signed) as the routing layer would receive them.
            for (me, them, cap) in [(a, b, da), (b, a, db)] {
                let update = ChannelUpdateData {
                    channel_id: id,
                    generation: 1,
                    node: net.addr(me),
                    partner: net.addr(them),
                    capacity: U256::from(cap),
                    fees: fees[me],
                    reveal_timeout: REVEAL_TIMEOUT,
                    sequence: 1,
                }
                .sign(&domain(), &key(me + 1))
                .unwrap();
                net.graph.apply_update(&update).unwrap();
            }
        }
        net.block(START_BLOCK);
        net
    }

    pub(crate) fn addr(&self, i: usize) -> Address {
        key(self.nodes[i].key_index).address()
    }

    fn index(&self, a: Address) -> usize {
        self.nodes.iter().position(|n| key(n.key_index).address() == a).expect("a node")
    }

    /// Persists, then checks that every balance proof about to leave was persisted, then
    /// queues the messages.
    pub(crate) fn apply(&mut self, i: usize, actions: Actions) {
        let node = &mut self.nodes[i];
        node.store.commit(&actions.persist).unwrap();
        let stored = node.store.load().unwrap();
        for action in actions.then {
            match action {
                Action::Send { to, message } => {
                    if let Some(bp) = message.message.balance_proof() {
                        let channel =
                            stored.channels.iter().find(|c| c.id() == bp.proof.channel_id).unwrap();
                        assert!(
                            channel.our.nonce >= bp.proof.nonce,
                            "node {i} sends nonce {} before persisting it",
                            bp.proof.nonce
                        );
                    }
                    if !message.message.is_ack() {
                        assert!(stored.outbox.contains_key(&message.message.message_id()));
                    }
                    let from = key(node.key_index).address();
                    self.queue.push_back((from, to, message));
                }
                Action::L1(call) => node.l1.push(call),
                Action::Event(e) => node.events.push(e),
            }
        }
    }

    /// Delivers messages until none is left.
    pub(crate) fn run(&mut self) {
        let mut steps = 0;
        while let Some((from, to, message)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "the network does not settle");
            if let Some(f) = self.filter.as_mut()
                && !f(from, to, &message)
            {
                continue;
            }
            let message = wire::decode(&wire::encode(&message)).unwrap();
            let j = self.index(to);
            match self.nodes[j].manager.receive(from, &message) {
                Ok(actions) => self.apply(j, actions),
                Err(e) => self.nodes[j].refused.push(e.to_string()),
            }
        }
    }

    pub(crate) fn block(&mut self, block: u64) {
        for i in 0..self.nodes.len() {
            let actions = self.nodes[i].manager.on_block(block).unwrap();
            self.apply(i, actions);
        }
    }

    pub(crate) fn route(&self, from: usize, to: usize, amount: u64) -> Route {
        self.graph.find_route(self.addr(from), self.addr(to), U256::from(amount), 200).unwrap()
    }

    pub(crate) fn pay(
        &mut self,
        from: usize,
        to: usize,
        amount: u64,
        secret: u8,
    ) -> ply_channels::Result<()> {
        let route = self.route(from, to, amount);
        let actions = self.nodes[from].manager.pay(
            &route,
            U256::from(amount),
            secret as u64,
            B256::repeat_byte(secret),
        )?;
        self.apply(from, actions);
        Ok(())
    }

    /// What `a` may send in its channel with `b`.
    pub(crate) fn available(&self, a: usize, b: usize) -> U256 {
        self.nodes[a].manager.channel_with(self.addr(b)).unwrap().available_to_send()
    }

    /// Simulates a crash of node `i`: its in-memory manager is rebuilt from its store and
    /// every message in flight from or to it is lost; then every node resends its outbox to
    /// every peer (a reconnect).
    pub(crate) fn crash_and_restart(&mut self, i: usize, fees: FeeSchedule) {
        let me = self.addr(i);
        self.queue.retain(|(from, to, _)| *from != me && *to != me);
        let snapshot = self.nodes[i].store.load().unwrap();
        self.nodes[i].manager =
            ChannelManager::restore(config(fees), key(self.nodes[i].key_index), snapshot);
        self.reconnect_all();
    }

    pub(crate) fn reconnect_all(&mut self) {
        for n in 0..self.nodes.len() {
            let from = self.addr(n);
            for m in 0..self.nodes.len() {
                let to = self.addr(m);
                for message in self.nodes[n].manager.outbox_for(to) {
                    self.queue.push_back((from, to, message));
                }
            }
        }
    }
}

pub(crate) fn is_kind(m: &SignedMessage, kind: &str) -> bool {
    let name = match &m.message {
        Message::LockedTransfer(_) => "locked_transfer",
        Message::Unlock(_) => "unlock",
        Message::LockExpired(_) => "lock_expired",
        Message::DirectTransfer(_) => "direct_transfer",
        Message::RefundTransfer(_) => "refund_transfer",
        Message::SecretRequest(_) => "secret_request",
        Message::RevealSecret(_) => "reveal_secret",
        Message::Processed(_) => "processed",
        Message::Delivered(_) => "delivered",
    };
    name == kind
}
