//! The node's state machine: every channel and payment of one node, no I/O (LDK's
//! `ChannelManager` in spirit).
//!
//! Each call takes an input (a user's request, a message from an authenticated peer, a new L1
//! block or event) and returns [`Actions`]: first the [`Record`]s to persist, then the
//! [`Action`]s to take (messages to send, L1 calls, events for the user). **The driver must
//! persist every record durably before it takes any action**: the messages carry signatures
//! over states that exist only in those records, and a node that sends a signature and then
//! loses the state it signed can be made to pay twice. Several calls' records may be committed
//! together in one transaction (group commit), as long as none of their actions goes out
//! before the commit.
//!
//! If persisting fails, the in-memory manager is ahead of the disk: drop it and rebuild it
//! from the store with [`ChannelManager::restore`].
//!
//! Payments use one hash lock along the path (Raiden's mediated transfers):
//! 1. the initiator sends a [`LockedTransfer`] to the first hop, its lock carrying the payment
//!    plus the mediators' fees and expiring [`Route::lock_timeout`] blocks from now;
//! 2. each mediator keeps its fee and forwards a lock expiring `reveal_timeout` blocks
//!    earlier, so it always has that margin to register the secret on L1 if its payer does not
//!    pay it off-chain; a mediator that cannot forward answers [`RefundTransfer`], which lets
//!    its payer remove the lock at once, and the refusal travels back to the initiator;
//! 3. the target asks the initiator for the secret ([`SecretRequest`]), which answers with
//!    [`RevealSecret`];
//! 4. the secret travels back: each node that learns it reveals it to its payer, and a payer
//!    that receives it from its payee pays the payee with an [`Unlock`];
//! 5. a lock not unlocked by its expiration is removed with [`LockExpired`]; a node that
//!    knows the secret of an incoming lock that its payer has not unlocked `reveal_timeout`
//!    blocks before it expires registers the secret on L1 and closes the channel.

use crate::{
    ChannelError, Result,
    channel::{ChannelIdentity, ChannelState, ChannelStatus, ProofUpdate, Received},
    eip712::{ChannelDomain, NonClosingUpdate},
    lock::{Lock, secrethash},
    messages::*,
    routing::{FeeSchedule, Route},
};
use alloy::{primitives::Signature, signers::local::PrivateKeySigner};
use ply_core::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A node's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// The signing domain (chain id and TokenNetwork).
    pub domain: ChannelDomain,
    /// Our reveal timeout (blocks): the margin we keep before an incoming lock expires.
    pub reveal_timeout: u64,
    /// Our fees as a mediator.
    pub fees: FeeSchedule,
    /// The longest lock we accept or create, in blocks from now.
    pub max_lock_timeout: u64,
}

/// The state of one side of a payment in one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HopState {
    /// The lock is pending.
    Pending,
    /// We refused the incoming lock (RefundTransfer sent); waiting for its removal.
    Refused,
    /// Paid off-chain with an Unlock.
    Unlocked,
    /// Removed without payment (expired or refused).
    Removed,
    /// The secret is registered on L1 in time: the lock is settled on chain.
    OnChain,
}

/// A lock of a payment in one of our channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The partner in that channel.
    pub partner: Address,
    /// The channel.
    pub channel_id: B256,
    /// The lock.
    pub lock: Lock,
    /// Where it stands.
    pub state: HopState,
}

/// A payment this node takes part in: initiator (no incoming hop), target (no outgoing hop)
/// or mediator (both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The payment id.
    pub payment_id: u64,
    /// The secret hash (the key).
    pub secrethash: B256,
    /// The secret, once known.
    pub secret: Option<B256>,
    /// The initiator.
    pub initiator: Address,
    /// The target.
    pub target: Address,
    /// What the target must receive.
    pub amount: U256,
    /// The lock from our payer.
    pub incoming: Option<Hop>,
    /// The lock to our payee.
    pub outgoing: Option<Hop>,
    /// We revealed the secret to our payer (or, as initiator, to the target).
    pub revealed: bool,
    /// We asked L1 to register the secret.
    pub registration_sent: bool,
}

impl Payment {
    fn finished(&self) -> bool {
        let done = |h: &Option<Hop>| {
            h.is_none_or(|h| {
                matches!(h.state, HopState::Unlocked | HopState::Removed | HopState::OnChain)
            })
        };
        done(&self.incoming) && done(&self.outgoing)
    }
}

/// A message we sent that waits for its acknowledgement (resent after a reconnect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The recipient.
    pub to: Address,
    /// The message.
    pub message: SignedMessage,
}

/// Node-wide counters, persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMeta {
    /// The id our next message takes.
    pub next_message_id: u64,
    /// The latest L1 block we were told of.
    pub block: u64,
    /// Secrets registered on L1: secret hash → (secret, block of registration).
    pub registered: BTreeMap<B256, (B256, u64)>,
}

/// A change to persist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A channel's whole state.
    Channel(Box<ChannelState>),
    /// A payment's state.
    Payment(Box<Payment>),
    /// A payment ended: forget it.
    PaymentDone(B256),
    /// A message waiting for its ack, by message id.
    Outbox(u64, Box<OutboxEntry>),
    /// A message was acknowledged.
    OutboxDone(u64),
    /// The node's counters.
    Meta(NodeMeta),
}

/// A call to make on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum L1Call {
    /// `SecretRegistry.registerSecret(secret)`.
    RegisterSecret {
        /// The secret.
        secret: B256,
    },
    /// `closeChannel` with the partner's latest proof (none: the partner never paid).
    Close {
        /// The channel.
        channel_id: B256,
        /// The partner's latest signed proof.
        partner_proof: Option<SignedBalanceProof>,
    },
    /// `updateNonClosingBalanceProof`: the closer's newer proof, with our authorisation.
    UpdateNonClosing {
        /// The channel.
        channel_id: B256,
        /// The closer's latest proof.
        closer_proof: SignedBalanceProof,
        /// Our `NonClosingUpdate` signature.
        non_closing_signature: Signature,
    },
    /// `settleChannel`.
    Settle {
        /// The channel.
        channel_id: B256,
    },
    /// `unlock` of `sender`'s pending locks after settle.
    Unlock {
        /// The channel.
        channel_id: B256,
        /// The generation.
        generation: u64,
        /// Whose locks.
        sender: Address,
        /// The other participant.
        receiver: Address,
        /// The locks, encoded as committed.
        locks: Vec<u8>,
    },
}

/// What the user learns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Our payment reached its target and we paid the first hop.
    PaymentSent {
        /// The payment id.
        payment_id: u64,
        /// The target.
        target: Address,
        /// The amount received by the target.
        amount: U256,
    },
    /// Our payment failed (refused along the route or expired); its lock is removed.
    PaymentFailed {
        /// The payment id.
        payment_id: u64,
        /// Why.
        reason: String,
    },
    /// A payment to us completed.
    PaymentReceived {
        /// The payment id.
        payment_id: u64,
        /// Who paid (the initiator, or the partner for a direct payment).
        from: Address,
        /// The amount.
        amount: U256,
    },
    /// A message was refused (the channel goes on).
    Refused {
        /// The peer.
        from: Address,
        /// Why.
        error: String,
    },
}

/// Something the driver does after persisting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `message` to `to`.
    Send {
        /// The recipient.
        to: Address,
        /// The message.
        message: SignedMessage,
    },
    /// Make an L1 call.
    L1(L1Call),
    /// Tell the user.
    Event(Event),
}

/// The output of every call: persist `persist` durably, then do `then` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// Records to persist first (one transaction is enough for all of them).
    pub persist: Vec<Record>,
    /// Actions to take after the records are durable.
    pub then: Vec<Action>,
}

impl Actions {
    /// The messages to send, in order.
    pub fn messages(&self) -> impl Iterator<Item = (&Address, &SignedMessage)> {
        self.then.iter().filter_map(|a| match a {
            Action::Send { to, message } => Some((to, message)),
            _ => None,
        })
    }

    /// The events.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.then.iter().filter_map(|a| match a {
            Action::Event(e) => Some(e),
            _ => None,
        })
    }

    /// The L1 calls.
    pub fn l1_calls(&self) -> impl Iterator<Item = &L1Call> {
        self.then.iter().filter_map(|a| match a {
            Action::L1(c) => Some(c),
            _ => None,
        })
    }

    /// Appends `other` (for a driver that batches several calls under one commit).
    pub fn extend(&mut self, other: Actions) {
        self.persist.extend(other.persist);
        self.then.extend(other.then);
    }
}

/// Everything a node persists, as the store loads it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The channels.
    pub channels: Vec<ChannelState>,
    /// The payments in progress.
    pub payments: Vec<Payment>,
    /// The unacknowledged messages by id.
    pub outbox: BTreeMap<u64, OutboxEntry>,
    /// The counters.
    pub meta: NodeMeta,
}

/// Collects what a call changed, and turns it into [`Actions`].
#[derive(Default)]
struct Batch {
    channels: BTreeSet<B256>,
    payments: BTreeSet<B256>,
    outbox: Vec<(u64, OutboxEntry)>,
    acked: Vec<u64>,
    meta: bool,
    then: Vec<Action>,
}

/// The node's state machine (see the module docs).
#[derive(Debug)]
pub struct ChannelManager {
    config: NodeConfig,
    signer: PrivateKeySigner,
    channels: BTreeMap<B256, ChannelState>,
    payments: BTreeMap<B256, Payment>,
    outbox: BTreeMap<u64, OutboxEntry>,
    meta: NodeMeta,
    settle_sent: BTreeSet<B256>,
}

impl ChannelManager {
    /// A node with no channels.
    pub fn new(config: NodeConfig, signer: PrivateKeySigner) -> Self {
        Self::restore(config, signer, Snapshot::default())
    }

    /// A node rebuilt from what it persisted. Resend [`ChannelManager::outbox_for`] to each
    /// peer when it connects.
    pub fn restore(config: NodeConfig, signer: PrivateKeySigner, snapshot: Snapshot) -> Self {
        let mut meta = snapshot.meta;
        meta.next_message_id = meta.next_message_id.max(1);
        Self {
            config,
            signer,
            channels: snapshot.channels.into_iter().map(|c| (c.id(), c)).collect(),
            payments: snapshot.payments.into_iter().map(|p| (p.secrethash, p)).collect(),
            outbox: snapshot.outbox,
            meta,
            settle_sent: BTreeSet::new(),
        }
    }

    /// Our address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The node's key.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// The settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The latest L1 block we know.
    pub fn block(&self) -> u64 {
        self.meta.block
    }

    /// A channel by id.
    pub fn channel(&self, id: &B256) -> Option<&ChannelState> {
        self.channels.get(id)
    }

    /// Every channel.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelState> {
        self.channels.values()
    }

    /// Our open channel with `partner`.
    pub fn channel_with(&self, partner: Address) -> Option<&ChannelState> {
        self.channels
            .values()
            .find(|c| c.identity.partner == partner && c.status == ChannelStatus::Open)
    }

    /// The payments in progress.
    pub fn payments(&self) -> impl Iterator<Item = &Payment> {
        self.payments.values()
    }

    /// The payment with this secret hash.
    pub fn payment(&self, secrethash: &B256) -> Option<&Payment> {
        self.payments.get(secrethash)
    }

    /// What a restarted or reconnected node sends `peer` again, oldest first.
    pub fn outbox_for(&self, peer: Address) -> Vec<SignedMessage> {
        self.outbox.values().filter(|e| e.to == peer).map(|e| e.message.clone()).collect()
    }

    /// Every unacknowledged message.
    pub fn outbox(&self) -> &BTreeMap<u64, OutboxEntry> {
        &self.outbox
    }

    fn finish(&mut self, batch: Batch) -> Actions {
        let mut persist = Vec::new();
        for id in &batch.channels {
            if let Some(c) = self.channels.get(id) {
                persist.push(Record::Channel(Box::new(c.clone())));
            }
        }
        for hash in &batch.payments {
            match self.payments.get(hash) {
                Some(p) if p.finished() => {
                    self.payments.remove(hash);
                    persist.push(Record::PaymentDone(*hash));
                }
                Some(p) => persist.push(Record::Payment(Box::new(p.clone()))),
                None => persist.push(Record::PaymentDone(*hash)),
            }
        }
        for (id, entry) in batch.outbox {
            persist.push(Record::Outbox(id, Box::new(entry.clone())));
            self.outbox.insert(id, entry);
        }
        for id in batch.acked {
            self.outbox.remove(&id);
            persist.push(Record::OutboxDone(id));
        }
        if batch.meta {
            persist.push(Record::Meta(self.meta.clone()));
        }
        Actions { persist, then: batch.then }
    }

    fn next_id(&mut self, batch: &mut Batch) -> u64 {
        let id = self.meta.next_message_id;
        self.meta.next_message_id += 1;
        batch.meta = true;
        id
    }

    /// Signs `message`, queues it in the outbox and sends it (after the persist).
    fn send(&mut self, batch: &mut Batch, to: Address, message: Message) -> Result<()> {
        let signed = message.sign(&self.config.domain, &self.signer)?;
        if !signed.message.is_ack() {
            batch
                .outbox
                .push((signed.message.message_id(), OutboxEntry { to, message: signed.clone() }));
        }
        batch.then.push(Action::Send { to, message: signed });
        Ok(())
    }

    fn open_channel_mut(&mut self, partner: Address) -> Result<&mut ChannelState> {
        self.channels
            .values_mut()
            .find(|c| c.identity.partner == partner && c.status == ChannelStatus::Open)
            .ok_or_else(|| ChannelError::UnknownChannel { what: format!("open with {partner}") })
    }

    // ---- L1 events -------------------------------------------------------------------------

    /// L1: a channel of ours was opened (or reopened with a new generation).
    pub fn on_channel_opened(
        &mut self,
        identity: ChannelIdentity,
        our_deposit: U256,
        partner_deposit: U256,
    ) -> Actions {
        let mut batch = Batch::default();
        let id = identity.channel_id;
        batch.channels.insert(id);
        self.channels.insert(id, ChannelState::new(identity, our_deposit, partner_deposit));
        self.finish(batch)
    }

    /// L1: `participant`'s total deposit in a channel of ours.
    pub fn on_deposit(&mut self, channel_id: B256, participant: Address, total: U256) -> Actions {
        let mut batch = Batch::default();
        if let Some(c) = self.channels.get_mut(&channel_id) {
            let end = if participant == c.identity.our { &mut c.our } else { &mut c.partner };
            end.deposit = end.deposit.max(total);
            batch.channels.insert(channel_id);
        }
        self.finish(batch)
    }

    /// L1: a channel of ours was closed by `closer`. If the partner closed, we submit its
    /// latest proof (which the close did not record) with our authorisation.
    pub fn on_channel_closed(
        &mut self,
        channel_id: B256,
        closer: Address,
        settle_block: u64,
    ) -> Result<Actions> {
        let mut batch = Batch::default();
        let Some(c) = self.channels.get_mut(&channel_id) else { return Ok(self.finish(batch)) };
        c.status = ChannelStatus::Closed { closer, settle_block };
        batch.channels.insert(channel_id);
        if closer == c.identity.partner
            && let Some(proof) = c.partner.latest
        {
            let update = NonClosingUpdate {
                channelId: channel_id,
                generation: c.identity.generation,
                balanceProofHash: proof.proof.struct_hash(),
            };
            let non_closing_signature = self.config.domain.sign(&update, &self.signer)?;
            batch.then.push(Action::L1(L1Call::UpdateNonClosing {
                channel_id,
                closer_proof: proof,
                non_closing_signature,
            }));
        }
        Ok(self.finish(batch))
    }

    /// L1: a channel of ours was settled: unlock what is pending on each side.
    pub fn on_channel_settled(&mut self, channel_id: B256) -> Actions {
        let mut batch = Batch::default();
        if let Some(c) = self.channels.get_mut(&channel_id) {
            c.status = ChannelStatus::Settled;
            batch.channels.insert(channel_id);
            for (sender, receiver, end) in [
                (c.identity.our, c.identity.partner, &c.our),
                (c.identity.partner, c.identity.our, &c.partner),
            ] {
                if !end.locks.is_empty() {
                    batch.then.push(Action::L1(L1Call::Unlock {
                        channel_id,
                        generation: c.identity.generation,
                        sender,
                        receiver,
                        locks: end.locks.encode(),
                    }));
                }
            }
        }
        self.finish(batch)
    }

    /// We close a channel ourselves (the user's request).
    pub fn close(&mut self, channel_id: B256) -> Result<Actions> {
        let c = self
            .channels
            .get(&channel_id)
            .ok_or_else(|| ChannelError::UnknownChannel { what: channel_id.to_string() })?;
        if c.status != ChannelStatus::Open {
            return Err(ChannelError::ChannelNotOpen { channel_id });
        }
        let call = L1Call::Close { channel_id, partner_proof: c.partner.latest };
        Ok(Actions { persist: vec![], then: vec![Action::L1(call)] })
    }

    /// L1: a secret was registered at `block`.
    pub fn on_secret_registered(&mut self, secret: B256, block: u64) -> Result<Actions> {
        let mut batch = Batch::default();
        let hash = secrethash(&secret);
        self.meta.registered.entry(hash).or_insert((secret, block));
        batch.meta = true;
        if let Some(p) = self.payments.get_mut(&hash) {
            p.secret = Some(secret);
            if let Some(h) = p.incoming.as_mut()
                && h.state == HopState::Pending
                && block <= h.lock.expiration
            {
                h.state = HopState::OnChain;
            }
            batch.payments.insert(hash);
        }
        // The payee registered the secret: it can claim our outgoing lock on chain, so we pay
        // it off-chain as well (cheaper for both), and claim our incoming lock.
        self.secret_learned(&mut batch, hash, None)?;
        self.pay_payee(&mut batch, hash)?;
        Ok(self.finish(batch))
    }

    /// A new L1 block: expire locks, register secrets whose incoming lock is about to expire,
    /// settle channels whose settle window ended.
    pub fn on_block(&mut self, block: u64) -> Result<Actions> {
        let mut batch = Batch::default();
        if block > self.meta.block {
            self.meta.block = block;
            batch.meta = true;
        }
        let hashes: Vec<B256> = self.payments.keys().copied().collect();
        for hash in hashes {
            let p = self.payments[&hash].clone();
            if let Some(out) = p.outgoing
                && out.state == HopState::Pending
                && block > out.lock.expiration
                && !self.registered_in_time(&hash, out.lock.expiration)
            {
                self.expire_outgoing(&mut batch, hash, "the lock expired")?;
            }
            if let (Some(inc), Some(secret)) = (p.incoming, p.secret)
                && inc.state == HopState::Pending
                && !p.registration_sent
                && block.saturating_add(self.config.reveal_timeout) >= inc.lock.expiration
                && block <= inc.lock.expiration
            {
                let partner_proof =
                    self.channels.get(&inc.channel_id).and_then(|c| c.partner.latest);
                batch.then.push(Action::L1(L1Call::RegisterSecret { secret }));
                batch
                    .then
                    .push(Action::L1(L1Call::Close { channel_id: inc.channel_id, partner_proof }));
                if let Some(p) = self.payments.get_mut(&hash) {
                    p.registration_sent = true;
                }
                batch.payments.insert(hash);
            }
        }
        for c in self.channels.values() {
            if let ChannelStatus::Closed { settle_block, .. } = c.status
                && block >= settle_block
                && self.settle_sent.insert(c.id())
            {
                batch.then.push(Action::L1(L1Call::Settle { channel_id: c.id() }));
            }
        }
        Ok(self.finish(batch))
    }

    fn registered_in_time(&self, hash: &B256, expiration: u64) -> bool {
        self.meta.registered.get(hash).is_some_and(|(_, at)| *at <= expiration)
    }

    fn expire_outgoing(&mut self, batch: &mut Batch, hash: B256, reason: &str) -> Result<()> {
        let p = self
            .payments
            .get(&hash)
            .cloned()
            .ok_or(ChannelError::UnknownPayment { secrethash: hash })?;
        let Some(out) = p.outgoing else { return Ok(()) };
        let block = self.meta.block;
        let channel = self
            .channels
            .get_mut(&out.channel_id)
            .ok_or_else(|| ChannelError::UnknownChannel { what: out.channel_id.to_string() })?;
        if channel.status != ChannelStatus::Open {
            return Ok(()); // settled on chain by `unlock`
        }
        let proof = channel.send_lock_expired(&hash, block, &self.signer)?;
        batch.channels.insert(out.channel_id);
        let id = self.next_id(batch);
        self.send(
            batch,
            out.partner,
            Message::LockExpired(LockExpired {
                message_id: id,
                payment_id: p.payment_id,
                balance_proof: proof,
                secrethash: hash,
            }),
        )?;
        let p = self.payments.get_mut(&hash).expect("checked above");
        if let Some(o) = p.outgoing.as_mut() {
            o.state = HopState::Removed;
        }
        batch.payments.insert(hash);
        if p.incoming.is_none() {
            let payment_id = p.payment_id;
            batch
                .then
                .push(Action::Event(Event::PaymentFailed { payment_id, reason: reason.into() }));
        }
        Ok(())
    }

    // ---- user requests --------------------------------------------------------------------

    /// Pays `partner` `amount` directly in our channel with it.
    pub fn pay_direct(
        &mut self,
        partner: Address,
        amount: U256,
        payment_id: u64,
    ) -> Result<Actions> {
        let mut batch = Batch::default();
        let signer = self.signer.clone();
        let channel = self.open_channel_mut(partner)?;
        let proof = channel.send_direct(amount, &signer)?;
        let channel_id = channel.id();
        batch.channels.insert(channel_id);
        let message_id = self.next_id(&mut batch);
        self.send(
            &mut batch,
            partner,
            Message::DirectTransfer(DirectTransfer {
                message_id,
                payment_id,
                balance_proof: proof,
                amount,
            }),
        )?;
        Ok(self.finish(batch))
    }

    /// Starts a mediated payment of `amount` to the last node of `route`, locked with
    /// `keccak256(secret)`. `secret` must be 32 random bytes that nobody else knows (the
    /// driver draws it): whoever knows it can claim every lock of the payment. The lock's
    /// amount is reserved in the first channel at once.
    pub fn pay(
        &mut self,
        route: &Route,
        amount: U256,
        payment_id: u64,
        secret: B256,
    ) -> Result<Actions> {
        let me = self.address();
        let invalid = |reason: String| ChannelError::InvalidPayment { reason };
        if route.path.len() < 2 || route.path.len() > MAX_ROUTE_LEN || route.path[0] != me {
            return Err(invalid(format!(
                "the route must start with us and have 2 to {MAX_ROUTE_LEN} nodes"
            )));
        }
        if route.amount < amount || amount.is_zero() {
            return Err(invalid("the route's amount is below the payment".into()));
        }
        if route.lock_timeout > self.config.max_lock_timeout || route.lock_timeout == 0 {
            return Err(invalid(format!(
                "lock timeout {} is outside 1..={}",
                route.lock_timeout, self.config.max_lock_timeout
            )));
        }
        if route.path.iter().collect::<BTreeSet<_>>().len() != route.path.len() {
            return Err(invalid("the route visits a node twice".into()));
        }
        let hash = secrethash(&secret);
        if self.payments.contains_key(&hash) {
            return Err(ChannelError::DuplicateLock { secrethash: hash });
        }
        let target = *route.path.last().expect("two nodes or more");
        let payee = route.path[1];
        let lock = Lock {
            amount: route.amount,
            expiration: self.meta.block + route.lock_timeout,
            secrethash: hash,
        };
        let signer = self.signer.clone();
        let channel = self.open_channel_mut(payee)?;
        let proof = channel.send_lock(lock, &signer)?;
        let channel_id = channel.id();
        let mut batch = Batch::default();
        batch.channels.insert(channel_id);
        self.payments.insert(
            hash,
            Payment {
                payment_id,
                secrethash: hash,
                secret: Some(secret),
                initiator: me,
                target,
                amount,
                incoming: None,
                outgoing: Some(Hop { partner: payee, channel_id, lock, state: HopState::Pending }),
                revealed: false,
                registration_sent: false,
            },
        );
        batch.payments.insert(hash);
        let message_id = self.next_id(&mut batch);
        self.send(
            &mut batch,
            payee,
            Message::LockedTransfer(LockedTransfer {
                message_id,
                payment_id,
                balance_proof: proof,
                lock,
                initiator: me,
                target,
                payment_amount: amount,
                route: route.path.clone(),
            }),
        )?;
        Ok(self.finish(batch))
    }

    // ---- messages -------------------------------------------------------------------------

    /// A message from the peer `from` (authenticated by the transport): refused unless its
    /// signature is `from`'s. On refusal nothing changed (the error says why).
    pub fn receive(&mut self, from: Address, message: &SignedMessage) -> Result<Actions> {
        let sender = message.sender(&self.config.domain)?;
        if sender != from {
            return Err(ChannelError::WrongSender { from: sender, expected: from });
        }
        let mut batch = Batch::default();
        match &message.message {
            Message::Processed(ack) | Message::Delivered(ack) => {
                if self.outbox.get(&ack.message_id).is_some_and(|e| e.to == from) {
                    batch.acked.push(ack.message_id);
                }
            }
            Message::DirectTransfer(m) => {
                let applied = self.receive_proof(
                    &mut batch,
                    from,
                    ProofUpdate::Direct(m.amount),
                    &m.balance_proof,
                )?;
                if applied == Received::Applied {
                    batch.then.push(Action::Event(Event::PaymentReceived {
                        payment_id: m.payment_id,
                        from,
                        amount: m.amount,
                    }));
                }
                self.ack(&mut batch, from, m.message_id, true)?;
            }
            Message::LockedTransfer(m) => self.receive_locked(&mut batch, from, m)?,
            Message::Unlock(m) => {
                let applied = self.receive_proof(
                    &mut batch,
                    from,
                    ProofUpdate::Unlock(m.secret),
                    &m.balance_proof,
                )?;
                let hash = secrethash(&m.secret);
                if applied == Received::Applied
                    && let Some(p) = self.payments.get_mut(&hash)
                    && let Some(inc) = p.incoming.as_mut()
                {
                    inc.state = HopState::Unlocked;
                    p.secret = Some(m.secret);
                    batch.payments.insert(hash);
                    if p.outgoing.is_none() {
                        batch.then.push(Action::Event(Event::PaymentReceived {
                            payment_id: p.payment_id,
                            from: p.initiator,
                            amount: inc.lock.amount,
                        }));
                    }
                }
                self.ack(&mut batch, from, m.message_id, true)?;
            }
            Message::LockExpired(m) => {
                let applied = self.receive_proof(
                    &mut batch,
                    from,
                    ProofUpdate::Expired(m.secrethash),
                    &m.balance_proof,
                )?;
                if applied == Received::Applied
                    && let Some(p) = self.payments.get_mut(&m.secrethash)
                    && let Some(inc) = p.incoming.as_mut()
                {
                    inc.state = HopState::Removed;
                    batch.payments.insert(m.secrethash);
                }
                self.ack(&mut batch, from, m.message_id, true)?;
            }
            Message::RefundTransfer(m) => self.receive_refund(&mut batch, from, m)?,
            Message::SecretRequest(m) if !self.payments.contains_key(&m.secrethash) => {
                // The payment ended (completed or expired): nothing to reveal; acknowledge so
                // that the target stops asking.
                self.ack(&mut batch, from, m.message_id, false)?;
            }
            Message::SecretRequest(m) => {
                let p = self
                    .payments
                    .get_mut(&m.secrethash)
                    .ok_or(ChannelError::UnknownPayment { secrethash: m.secrethash })?;
                let out = p.outgoing.filter(|_| p.incoming.is_none()).ok_or_else(|| {
                    ChannelError::InvalidPayment {
                        reason: "we are not this payment's initiator".into(),
                    }
                })?;
                if from != p.target {
                    return Err(ChannelError::WrongSender { from, expected: p.target });
                }
                if m.amount < p.amount || m.payment_id != p.payment_id {
                    return Err(ChannelError::InvalidPayment {
                        reason: format!(
                            "the target asks for {} of payment {}, we pay {} in payment {}",
                            m.amount, m.payment_id, p.amount, p.payment_id
                        ),
                    });
                }
                if out.state == HopState::Pending && self.meta.block < out.lock.expiration {
                    let secret = p.secret.expect("the initiator knows its secret");
                    p.revealed = true;
                    batch.payments.insert(m.secrethash);
                    let id = self.next_id(&mut batch);
                    self.send(
                        &mut batch,
                        from,
                        Message::RevealSecret(RevealSecret { message_id: id, secret }),
                    )?;
                }
                self.ack(&mut batch, from, m.message_id, false)?;
            }
            Message::RevealSecret(m) => {
                let hash = secrethash(&m.secret);
                if let Some(p) = self.payments.get_mut(&hash) {
                    p.secret = Some(m.secret);
                    batch.payments.insert(hash);
                    let from_payee = p.outgoing.is_some_and(|o| o.partner == from);
                    self.secret_learned(&mut batch, hash, Some(from))?;
                    if from_payee {
                        self.pay_payee(&mut batch, hash)?;
                    }
                }
                self.ack(&mut batch, from, m.message_id, false)?;
            }
        }
        Ok(self.finish(batch))
    }

    fn ack(
        &mut self,
        batch: &mut Batch,
        to: Address,
        message_id: u64,
        processed: bool,
    ) -> Result<()> {
        let ack = Ack { message_id };
        self.send(
            batch,
            to,
            if processed { Message::Processed(ack) } else { Message::Delivered(ack) },
        )
    }

    fn receive_proof(
        &mut self,
        batch: &mut Batch,
        from: Address,
        update: ProofUpdate,
        proof: &SignedBalanceProof,
    ) -> Result<Received> {
        let block = self.meta.block;
        let registered = &self.meta.registered;
        let channel = self.channels.get_mut(&proof.proof.channel_id).ok_or_else(|| {
            ChannelError::UnknownChannel { what: proof.proof.channel_id.to_string() }
        })?;
        if channel.identity.partner != from {
            return Err(ChannelError::WrongSender { from, expected: channel.identity.partner });
        }
        let received =
            match channel.receive(update, proof, block, |h| registered.get(h).map(|(_, at)| *at)) {
                // A correctly signed proof older than the partner's latest (the channel checks
                // the signature before the nonce) is a resend of one we applied, whose ack was
                // lost: acknowledge it again, or the partner would resend it forever.
                Err(ChannelError::WrongNonce { expected, got }) if got < expected => {
                    Received::Duplicate
                }
                other => other?,
            };
        if received == Received::Applied {
            batch.channels.insert(channel.id());
        }
        Ok(received)
    }

    /// The secret of `hash` is known: reveal it to our payer (once) so that it unlocks.
    fn secret_learned(
        &mut self,
        batch: &mut Batch,
        hash: B256,
        from: Option<Address>,
    ) -> Result<()> {
        let Some(p) = self.payments.get_mut(&hash) else { return Ok(()) };
        let Some(inc) = p.incoming else { return Ok(()) };
        if p.revealed
            || inc.state != HopState::Pending && inc.state != HopState::OnChain
            || from == Some(inc.partner)
        {
            return Ok(());
        }
        let secret = p.secret.expect("set by the caller");
        p.revealed = true;
        batch.payments.insert(hash);
        let id = self.next_id(batch);
        self.send(
            batch,
            inc.partner,
            Message::RevealSecret(RevealSecret { message_id: id, secret }),
        )
    }

    /// Our payee knows the secret: pay it off-chain with an Unlock.
    fn pay_payee(&mut self, batch: &mut Batch, hash: B256) -> Result<()> {
        let Some(p) = self.payments.get(&hash) else { return Ok(()) };
        let Some(out) = p.outgoing else { return Ok(()) };
        let Some(secret) = p.secret else { return Ok(()) };
        if out.state != HopState::Pending {
            return Ok(());
        }
        // After the lock expired only an on-chain registration in time entitles the payee:
        // paying it later could leave us unpaid by our own payer, whose lock has expired too.
        if self.meta.block > out.lock.expiration
            && !self.registered_in_time(&hash, out.lock.expiration)
        {
            return Ok(());
        }
        let (payment_id, is_initiator, target, amount) =
            (p.payment_id, p.incoming.is_none(), p.target, p.amount);
        let in_time = self.registered_in_time(&hash, out.lock.expiration);
        let Some(channel) =
            self.channels.get_mut(&out.channel_id).filter(|c| c.status == ChannelStatus::Open)
        else {
            // The channel is closed: a lock whose secret is on L1 in time is settled there.
            if in_time
                && let Some(o) = self.payments.get_mut(&hash).and_then(|p| p.outgoing.as_mut())
            {
                o.state = HopState::OnChain;
                batch.payments.insert(hash);
            }
            return Ok(());
        };
        let (proof, _) = channel.send_unlock(&hash, &self.signer)?;
        batch.channels.insert(out.channel_id);
        let id = self.next_id(batch);
        self.send(
            batch,
            out.partner,
            Message::Unlock(Unlock { message_id: id, payment_id, balance_proof: proof, secret }),
        )?;
        if let Some(o) = self.payments.get_mut(&hash).and_then(|p| p.outgoing.as_mut()) {
            o.state = HopState::Unlocked;
        }
        batch.payments.insert(hash);
        if is_initiator {
            batch.then.push(Action::Event(Event::PaymentSent { payment_id, target, amount }));
        }
        Ok(())
    }

    fn receive_locked(
        &mut self,
        batch: &mut Batch,
        from: Address,
        m: &LockedTransfer,
    ) -> Result<()> {
        let me = self.address();
        let route = &m.route;
        let invalid = |reason: &str| ChannelError::InvalidPayment { reason: reason.into() };
        if route.len() < 2 || route.len() > MAX_ROUTE_LEN {
            return Err(invalid("route length"));
        }
        if route[0] != m.initiator || route.last() != Some(&m.target) {
            return Err(invalid("the route does not run from the initiator to the target"));
        }
        if route.iter().collect::<BTreeSet<_>>().len() != route.len() {
            return Err(invalid("the route visits a node twice"));
        }
        let at = route
            .iter()
            .position(|a| *a == me)
            .ok_or_else(|| invalid("we are not on the route"))?;
        if at == 0 || route[at - 1] != from {
            return Err(invalid("the sender is not our predecessor on the route"));
        }
        if m.balance_proof.proof.locks_root.is_zero() {
            return Err(invalid("a locked transfer without locks"));
        }
        let received =
            self.receive_proof(batch, from, ProofUpdate::Locked(m.lock), &m.balance_proof)?;
        self.ack(batch, from, m.message_id, true)?;
        if received == Received::Duplicate {
            return Ok(());
        }
        let hash = m.lock.secrethash;
        let channel_in = m.balance_proof.proof.channel_id;
        let block = self.meta.block;
        let incoming =
            Hop { partner: from, channel_id: channel_in, lock: m.lock, state: HopState::Pending };
        if self.payments.contains_key(&hash) {
            return self.refuse(
                batch,
                m,
                channel_in,
                "a payment with this secret hash is already under way",
            );
        }
        let margin_ok = m.lock.expiration.saturating_sub(block) >= self.config.reveal_timeout
            && m.lock.expiration - block <= self.config.max_lock_timeout;
        let mut payment = Payment {
            payment_id: m.payment_id,
            secrethash: hash,
            secret: None,
            initiator: m.initiator,
            target: m.target,
            amount: m.payment_amount,
            incoming: Some(incoming),
            outgoing: None,
            revealed: false,
            registration_sent: false,
        };
        if at == route.len() - 1 {
            // Target.
            if m.lock.amount < m.payment_amount || !margin_ok {
                return self.refuse(batch, m, channel_in, "amount or expiry margin too small");
            }
            self.payments.insert(hash, payment);
            batch.payments.insert(hash);
            let id = self.next_id(batch);
            return self.send(
                batch,
                m.initiator,
                Message::SecretRequest(SecretRequest {
                    message_id: id,
                    payment_id: m.payment_id,
                    secrethash: hash,
                    amount: m.lock.amount,
                    expiration: m.lock.expiration,
                }),
            );
        }
        // Mediator: keep our fee, forward a lock expiring reveal_timeout earlier.
        let next = route[at + 1];
        let Some(out_amount) =
            self.config.fees.forward(m.lock.amount).filter(|a| *a >= m.payment_amount)
        else {
            return self.refuse(batch, m, channel_in, "the lock does not cover our fee");
        };
        let out_expiration = m.lock.expiration.saturating_sub(self.config.reveal_timeout);
        if !margin_ok || out_expiration.saturating_sub(block) < self.config.reveal_timeout {
            return self.refuse(batch, m, channel_in, "the lock expires too soon to forward");
        }
        let out_lock = Lock { amount: out_amount, expiration: out_expiration, secrethash: hash };
        let signer = self.signer.clone();
        let forwarded = match self.open_channel_mut(next) {
            Ok(c) => c.send_lock(out_lock, &signer).map(|p| (p, c.id())),
            Err(e) => Err(e),
        };
        let (proof, channel_out) = match forwarded {
            Ok(x) => x,
            Err(e) => return self.refuse(batch, m, channel_in, &e.to_string()),
        };
        batch.channels.insert(channel_out);
        payment.outgoing = Some(Hop {
            partner: next,
            channel_id: channel_out,
            lock: out_lock,
            state: HopState::Pending,
        });
        self.payments.insert(hash, payment);
        batch.payments.insert(hash);
        let id = self.next_id(batch);
        self.send(
            batch,
            next,
            Message::LockedTransfer(LockedTransfer {
                message_id: id,
                payment_id: m.payment_id,
                balance_proof: proof,
                lock: out_lock,
                initiator: m.initiator,
                target: m.target,
                payment_amount: m.payment_amount,
                route: route.clone(),
            }),
        )
    }

    /// We refuse an incoming lock we accepted into the channel: its sender may remove it now.
    fn refuse(
        &mut self,
        batch: &mut Batch,
        m: &LockedTransfer,
        channel_id: B256,
        reason: &str,
    ) -> Result<()> {
        let from = m.balance_proof.proof.channel_id;
        let channel = self.channels.get_mut(&from).expect("the proof was just applied to it");
        let partner = channel.identity.partner;
        let generation = channel.identity.generation;
        if !channel.refused_by_us.contains(&m.lock.secrethash) {
            channel.refused_by_us.push(m.lock.secrethash);
        }
        batch.channels.insert(channel_id);
        let id = self.next_id(batch);
        batch.then.push(Action::Event(Event::Refused {
            from: partner,
            error: format!("refund: {reason}"),
        }));
        self.send(
            batch,
            partner,
            Message::RefundTransfer(RefundTransfer {
                message_id: id,
                payment_id: m.payment_id,
                channel_id,
                generation,
                secrethash: m.lock.secrethash,
            }),
        )
    }

    fn receive_refund(
        &mut self,
        batch: &mut Batch,
        from: Address,
        m: &RefundTransfer,
    ) -> Result<()> {
        let channel = self
            .channels
            .get_mut(&m.channel_id)
            .ok_or_else(|| ChannelError::UnknownChannel { what: m.channel_id.to_string() })?;
        if channel.identity.partner != from {
            return Err(ChannelError::WrongSender { from, expected: channel.identity.partner });
        }
        if channel.identity.generation != m.generation {
            return Err(ChannelError::WrongGeneration {
                expected: channel.identity.generation,
                got: m.generation,
            });
        }
        let hash = m.secrethash;
        if channel.our.locks.get(&hash).is_none() {
            // Already removed (a resend): just acknowledge.
            return self.ack(batch, from, m.message_id, false);
        }
        if !channel.refused_by_partner.contains(&hash) {
            channel.refused_by_partner.push(hash);
        }
        batch.channels.insert(m.channel_id);
        self.ack(batch, from, m.message_id, false)?;
        let Some(p) = self.payments.get(&hash).cloned() else { return Ok(()) };
        if p.outgoing.is_none_or(|o| o.partner != from || o.state != HopState::Pending) {
            return Ok(());
        }
        if p.secret.is_some() && p.incoming.is_some() {
            // We know the secret: the payee might still claim on chain; keep the lock.
            return Ok(());
        }
        self.expire_outgoing(batch, hash, "refused along the route")?;
        // A mediator passes the refusal back to its payer.
        if let Some(inc) = p.incoming
            && inc.state == HopState::Pending
        {
            let channel = self.channels.get_mut(&inc.channel_id).expect("our channel");
            let generation = channel.identity.generation;
            if !channel.refused_by_us.contains(&hash) {
                channel.refused_by_us.push(hash);
            }
            batch.channels.insert(inc.channel_id);
            if let Some(i) = self.payments.get_mut(&hash).and_then(|p| p.incoming.as_mut()) {
                i.state = HopState::Refused;
            }
            batch.payments.insert(hash);
            let id = self.next_id(batch);
            self.send(
                batch,
                inc.partner,
                Message::RefundTransfer(RefundTransfer {
                    message_id: id,
                    payment_id: p.payment_id,
                    channel_id: inc.channel_id,
                    generation,
                    secrethash: hash,
                }),
            )?;
        }
        Ok(())
    }
}
