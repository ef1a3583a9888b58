//! Routing: the channel graph and the cheapest route with enough capacity and expiry margin.
//!
//! The graph learns channels from L1 events (open, deposit, close) and each node's view of its
//! side from signed [`ChannelUpdate`](crate::eip712::ChannelUpdate) announcements (capacity,
//! fees, reveal timeout). [`ChannelGraph::find_route`] runs Dijkstra backwards from the target:
//! the label of a node is the amount that must reach it so that the target receives the
//! payment, each mediator adding its fee, and a route is refused where a channel lacks the
//! capacity or the locks' expiries would exceed the caller's maximum.

use crate::{
    ChannelError, Result,
    eip712::{ChannelDomain, ChannelUpdate},
};
use alloy::primitives::Signature;
use ply_core::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
};

/// One million: fees are in millionths (ppm) of the incoming amount.
pub const PPM: u32 = 1_000_000;

/// A mediator's fee schedule for forwarding through one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    /// Fixed part.
    pub base: U256,
    /// Proportional part, millionths of the incoming amount (below [`PPM`]).
    pub ppm: u32,
}

impl FeeSchedule {
    /// The fee a mediator keeps from an incoming lock of `incoming`:
    /// `base + incoming * ppm / 1_000_000`, rounded down (saturating).
    pub fn fee(&self, incoming: U256) -> U256 {
        self.base.saturating_add(incoming.saturating_mul(U256::from(self.ppm)) / U256::from(PPM))
    }

    /// What a mediator forwards from `incoming`, or `None` if the fee eats it all.
    pub fn forward(&self, incoming: U256) -> Option<U256> {
        incoming.checked_sub(self.fee(incoming)).filter(|o| !o.is_zero())
    }

    /// The smallest incoming amount from which the mediator forwards at least `outgoing`
    /// (a binary search: what `forward` gives never decreases as the incoming amount grows).
    pub fn gross(&self, outgoing: U256) -> Option<U256> {
        if self.ppm >= PPM {
            return None;
        }
        // in - base - in * ppm / 1e6 >= out holds from in = (out + base + 1) * 1e6 / (1e6 - ppm)
        // on; the answer lies between out + base and that bound.
        let bound = outgoing
            .checked_add(self.base)?
            .checked_add(U256::from(1))?
            .checked_mul(U256::from(PPM))?
            .div_ceil(U256::from(PPM - self.ppm));
        let ok = |x: U256| self.forward(x).is_some_and(|o| o >= outgoing);
        let (mut lo, mut hi) = (outgoing.checked_add(self.base)?, bound);
        if !ok(hi) {
            return None;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / U256::from(2);
            if ok(mid) {
                hi = mid;
            } else {
                lo = mid + U256::from(1);
            }
        }
        Some(hi)
    }
}

/// A route for one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The path, initiator first, target last.
    pub path: Vec<Address>,
    /// The amount of the first lock (the payment plus every mediator's fee).
    pub amount: U256,
    /// The total of the mediators' fees.
    pub fees: U256,
    /// Blocks from now to the first lock's expiration: the sum of the reveal timeouts of
    /// the mediators and the target, so that each hop keeps its margin.
    pub lock_timeout: u64,
}

/// One direction of a channel in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The channel.
    pub channel_id: B256,
    /// Its generation.
    pub generation: u64,
    /// The node that sends over this edge.
    pub from: Address,
    /// The node that receives.
    pub to: Address,
    /// What `from` can send (from its announcement; its deposit until it announces).
    pub capacity: U256,
    /// `from`'s fees for forwarding into this channel.
    pub fees: FeeSchedule,
    /// `from`'s reveal timeout.
    pub reveal_timeout: u64,
    /// The sequence of the last announcement applied (0: none).
    pub sequence: u64,
}

/// A node's signed announcement of its side of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChannelUpdate {
    /// The announcement (its `node` signs it).
    pub update: ChannelUpdateData,
    /// `node`'s signature in the channel domain.
    pub signature: Signature,
}

/// The fields of a [`ChannelUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelUpdateData {
    /// The channel.
    pub channel_id: B256,
    /// Its generation.
    pub generation: u64,
    /// The announcing participant.
    pub node: Address,
    /// The other participant.
    pub partner: Address,
    /// What `node` can send now.
    pub capacity: U256,
    /// `node`'s fees.
    pub fees: FeeSchedule,
    /// `node`'s reveal timeout.
    pub reveal_timeout: u64,
    /// Strictly increasing per channel and node.
    pub sequence: u64,
}

impl ChannelUpdateData {
    fn typed(&self) -> ChannelUpdate {
        ChannelUpdate {
            channelId: self.channel_id,
            generation: self.generation,
            node: self.node,
            partner: self.partner,
            capacity: self.capacity,
            feeBase: self.fees.base,
            feePpm: self.fees.ppm,
            revealTimeout: self.reveal_timeout,
            sequence: self.sequence,
        }
    }

    /// Signs the announcement.
    pub fn sign(
        self,
        domain: &ChannelDomain,
        signer: &alloy::signers::local::PrivateKeySigner,
    ) -> Result<SignedChannelUpdate> {
        let signature = domain.sign(&self.typed(), signer)?;
        Ok(SignedChannelUpdate { update: self, signature })
    }
}

/// The network as one node knows it.
#[derive(Debug, Clone)]
pub struct ChannelGraph {
    domain: ChannelDomain,
    default_reveal_timeout: u64,
    /// (channel, sender) → edge.
    edges: BTreeMap<(B256, Address), Edge>,
}

impl ChannelGraph {
    /// An empty graph for `domain`; nodes that have not announced are assumed to use
    /// `default_reveal_timeout` and no fees.
    pub fn new(domain: ChannelDomain, default_reveal_timeout: u64) -> Self {
        Self { domain, default_reveal_timeout, edges: BTreeMap::new() }
    }

    /// The edges.
    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.edges.values()
    }

    /// L1: a channel was opened (again) between `a` and `b`; a new generation replaces the old
    /// edges.
    pub fn channel_opened(&mut self, channel_id: B256, generation: u64, a: Address, b: Address) {
        for (from, to) in [(a, b), (b, a)] {
            self.edges.insert(
                (channel_id, from),
                Edge {
                    channel_id,
                    generation,
                    from,
                    to,
                    capacity: U256::ZERO,
                    fees: FeeSchedule::default(),
                    reveal_timeout: self.default_reveal_timeout,
                    sequence: 0,
                },
            );
        }
    }

    /// L1: `participant`'s total deposit; it is the edge's capacity until `participant`
    /// announces one.
    pub fn deposit_set(&mut self, channel_id: B256, participant: Address, total: U256) {
        if let Some(edge) = self.edges.get_mut(&(channel_id, participant))
            && edge.sequence == 0
        {
            edge.capacity = total;
        }
    }

    /// L1: the channel closed; it carries no more payments.
    pub fn channel_closed(&mut self, channel_id: B256) {
        self.edges.retain(|(id, _), _| *id != channel_id);
    }

    /// Applies a signed announcement: refused if the signature is not `node`'s, the channel
    /// or generation is unknown, `node` is not a participant, the sequence does not increase
    /// or the fee is 100% or more.
    pub fn apply_update(&mut self, signed: &SignedChannelUpdate) -> Result<()> {
        let u = &signed.update;
        self.domain
            .verify(&u.typed(), &signed.signature, u.node)
            .map_err(|e| ChannelError::BadAnnouncement { reason: format!("signature: {e}") })?;
        let edge = self.edges.get_mut(&(u.channel_id, u.node)).ok_or_else(|| {
            ChannelError::BadAnnouncement {
                reason: format!("{} is not a participant of channel {}", u.node, u.channel_id),
            }
        })?;
        if edge.to != u.partner || edge.generation != u.generation {
            return Err(ChannelError::BadAnnouncement {
                reason: format!(
                    "channel {} generation {} with {} is not known",
                    u.channel_id, u.generation, u.partner
                ),
            });
        }
        if u.sequence <= edge.sequence {
            return Err(ChannelError::BadAnnouncement {
                reason: format!("sequence {} is not above {}", u.sequence, edge.sequence),
            });
        }
        if u.fees.ppm >= PPM {
            return Err(ChannelError::BadAnnouncement { reason: "fee of 100% or more".into() });
        }
        edge.capacity = u.capacity;
        edge.fees = u.fees;
        edge.reveal_timeout = u.reveal_timeout;
        edge.sequence = u.sequence;
        Ok(())
    }

    fn reveal_timeout_of(&self, node: Address) -> u64 {
        self.edges
            .values()
            .filter(|e| e.from == node && e.sequence > 0)
            .map(|e| e.reveal_timeout)
            .max()
            .unwrap_or(self.default_reveal_timeout)
    }

    /// The cheapest route from `from` to `to` delivering `amount`, whose first lock expires
    /// at most `max_lock_timeout` blocks from now (see the module docs).
    pub fn find_route(
        &self,
        from: Address,
        to: Address,
        amount: U256,
        max_lock_timeout: u64,
    ) -> Result<Route> {
        let no_route =
            |reason: &str| ChannelError::NoRoute { from, to, amount, reason: reason.into() };
        if from == to || amount.is_zero() {
            return Err(no_route("the target is the initiator or the amount is zero"));
        }
        let mut incoming: HashMap<Address, Vec<&Edge>> = HashMap::new();
        for edge in self.edges.values() {
            incoming.entry(edge.to).or_default().push(edge);
        }
        // label: (amount that must reach the node, lock timeout from it, next hop)
        let mut best: HashMap<Address, (U256, u64, Option<Address>)> = HashMap::new();
        let target_timeout = self.reveal_timeout_of(to);
        best.insert(to, (amount, target_timeout, None));
        let mut heap = BinaryHeap::new();
        heap.push(Reverse((amount, 0u32, to)));
        let mut source: Option<(U256, u64, Address)> = None;
        while let Some(Reverse((need, hops, node))) = heap.pop() {
            if best.get(&node).is_some_and(|b| b.0 < need) {
                continue;
            }
            if node == from {
                continue;
            }
            let timeout = best[&node].1;
            for edge in incoming.get(&node).into_iter().flatten() {
                if edge.capacity < need {
                    continue;
                }
                let sender = edge.from;
                if sender == from {
                    if source.is_none_or(|(a, _, _)| need < a) {
                        source = Some((need, timeout, node));
                    }
                    continue;
                }
                if sender == to || hops as usize + 2 >= crate::messages::MAX_ROUTE_LEN {
                    continue;
                }
                let Some(gross) = edge.fees.gross(need) else { continue };
                let t = timeout.saturating_add(edge.reveal_timeout);
                if t > max_lock_timeout {
                    continue;
                }
                if best.get(&sender).is_none_or(|b| gross < b.0) {
                    best.insert(sender, (gross, t, Some(node)));
                    heap.push(Reverse((gross, hops + 1, sender)));
                }
            }
        }
        let (first, timeout, next) =
            source.ok_or_else(|| no_route("no path with enough capacity and expiry margin"))?;
        if timeout > max_lock_timeout {
            return Err(no_route("the locks would expire too late"));
        }
        let mut path = vec![from, next];
        let mut at = next;
        while let Some((_, _, Some(n))) = best.get(&at) {
            path.push(*n);
            at = *n;
        }
        Ok(Route { path, amount: first, fees: first - amount, lock_timeout: timeout })
    }
}
