//! One channel: our end and the partner's, and every rule a balance proof must follow.
//!
//! A [`ChannelState`] is a plain value. The `send_*` methods sign our next balance proof and
//! change the state; the `receive` method checks the partner's next proof and changes the
//! state only if every rule holds, so a refused proof leaves the channel exactly as it was and
//! the channel goes on. Persisting the state before the signed proof leaves the node is the
//! caller's duty ([`manager`](crate::manager) does it by returning the records to persist
//! ahead of the messages to send).
//!
//! The balance rule is the contract's settlement rule read forward: a participant may have
//! transferred plus locked at most its deposit plus what the partner transferred to it,
//! `transferred + locked <= deposit + received`; what is left is its available balance.

use crate::{
    ChannelError, Result,
    lock::{Lock, PendingLocks, secrethash},
    messages::{BalanceProof, SignedBalanceProof},
};
use alloy::{signers::local::PrivateKeySigner, sol_types::SolValue};
use ply_core::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};

/// `keccak256(abi.encode(participant1, participant2, token))` with the participants ordered.
pub fn channel_id(a: Address, b: Address, token: Address) -> B256 {
    let (p1, p2) = if a < b { (a, b) } else { (b, a) };
    keccak256((p1, p2, token).abi_encode())
}

/// What identifies a channel and binds every proof in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelIdentity {
    /// The L1 chain id.
    pub chain_id: u64,
    /// The TokenNetwork contract.
    pub token_network: Address,
    /// The token (zero for ETH).
    pub token: Address,
    /// [`channel_id`] of the participants and token.
    pub channel_id: B256,
    /// The channel's open counter.
    pub generation: u64,
    /// Our address.
    pub our: Address,
    /// The partner's address.
    pub partner: Address,
    /// Blocks between close and settle.
    pub settle_timeout: u64,
    /// Blocks before a lock's expiration at which we register its secret on L1 rather than
    /// wait for an off-chain unlock.
    pub reveal_timeout: u64,
}

/// One participant's side: what it deposited and the state of its payments to the other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndState {
    /// Its total deposit on L1.
    pub deposit: U256,
    /// The total it has paid the other side.
    pub transferred: U256,
    /// Its pending locks.
    pub locks: PendingLocks,
    /// The nonce of its latest proof (0: none yet).
    pub nonce: u64,
    /// Its latest signed proof (for the partner's end: what we close or update with).
    pub latest: Option<SignedBalanceProof>,
}

impl EndState {
    /// The sum of its pending locks.
    pub fn locked(&self) -> U256 {
        self.locks.locked_amount()
    }

    /// What it may still send: `deposit - transferred - locked + received` (zero if the
    /// proofs ever said otherwise, which the rules here never let happen).
    pub fn available(&self, received: U256) -> U256 {
        (self.deposit + received).saturating_sub(self.transferred + self.locked())
    }
}

/// Where the channel is in its life on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelStatus {
    /// Open: payments flow.
    Open,
    /// Closed on L1 by `closer`; settle possible after `settle_block`.
    Closed {
        /// Who closed.
        closer: Address,
        /// The first block at which settle is possible.
        settle_block: u64,
    },
    /// Settled on L1.
    Settled,
}

/// The partner's proof change a received message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofUpdate {
    /// A direct payment of this amount.
    Direct(U256),
    /// A new lock.
    Locked(Lock),
    /// The lock with `keccak256(secret)` is paid.
    Unlock(B256),
    /// The lock with this secret hash is removed without payment.
    Expired(B256),
}

/// What [`ChannelState::receive`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The proof was new and is now the partner's latest.
    Applied,
    /// The proof is the partner's latest already (a resend): nothing changed; ack it again.
    Duplicate,
}

/// A channel as one participant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    /// The identity.
    pub identity: ChannelIdentity,
    /// Our end.
    pub our: EndState,
    /// The partner's end.
    pub partner: EndState,
    /// The L1 status.
    pub status: ChannelStatus,
    /// Secret hashes of the partner's locks that we refused (RefundTransfer): the partner may
    /// remove them before they expire.
    pub refused_by_us: Vec<B256>,
    /// Secret hashes of our locks that the partner refused: we may remove them at once.
    pub refused_by_partner: Vec<B256>,
}

impl ChannelState {
    /// A newly opened channel with the given deposits.
    pub fn new(identity: ChannelIdentity, our_deposit: U256, partner_deposit: U256) -> Self {
        Self {
            identity,
            our: EndState { deposit: our_deposit, ..Default::default() },
            partner: EndState { deposit: partner_deposit, ..Default::default() },
            status: ChannelStatus::Open,
            refused_by_us: Vec::new(),
            refused_by_partner: Vec::new(),
        }
    }

    /// The channel id.
    pub fn id(&self) -> B256 {
        self.identity.channel_id
    }

    /// What we may send now.
    pub fn available_to_send(&self) -> U256 {
        self.our.available(self.partner.transferred)
    }

    /// What the partner may send us now.
    pub fn available_to_receive(&self) -> U256 {
        self.partner.available(self.our.transferred)
    }

    fn ensure_open(&self) -> Result<()> {
        match self.status {
            ChannelStatus::Open => Ok(()),
            _ => Err(ChannelError::ChannelNotOpen { channel_id: self.id() }),
        }
    }

    fn proof(&self, nonce: u64, transferred: U256, locks: &PendingLocks) -> BalanceProof {
        BalanceProof {
            chain_id: self.identity.chain_id,
            token_network: self.identity.token_network,
            channel_id: self.identity.channel_id,
            generation: self.identity.generation,
            nonce,
            transferred_amount: transferred,
            locked_amount: locks.locked_amount(),
            locks_root: locks.root(),
        }
    }

    /// Signs our next proof with `transferred` and `locks`, checking the balance rule, and
    /// makes it our latest.
    fn sign_next(
        &mut self,
        transferred: U256,
        locks: PendingLocks,
        signer: &PrivateKeySigner,
    ) -> Result<SignedBalanceProof> {
        let needed = transferred.saturating_add(locks.locked_amount());
        let limit = self.our.deposit.saturating_add(self.partner.transferred);
        if needed > limit {
            let already = self.our.transferred + self.our.locked();
            return Err(ChannelError::InsufficientBalance {
                available: self.available_to_send(),
                needed: needed.saturating_sub(already),
            });
        }
        let nonce = self
            .our
            .nonce
            .checked_add(1)
            .ok_or_else(|| ChannelError::InvalidAmount { reason: "nonce exhausted".into() })?;
        let signed = self.proof(nonce, transferred, &locks).sign(signer)?;
        self.our.nonce = nonce;
        self.our.transferred = transferred;
        self.our.locks = locks;
        self.our.latest = Some(signed);
        Ok(signed)
    }

    /// Pays the partner `amount` without a lock.
    pub fn send_direct(
        &mut self,
        amount: U256,
        signer: &PrivateKeySigner,
    ) -> Result<SignedBalanceProof> {
        self.ensure_open()?;
        if amount.is_zero() {
            return Err(ChannelError::InvalidAmount { reason: "a payment of zero".into() });
        }
        let transferred = self
            .our
            .transferred
            .checked_add(amount)
            .ok_or_else(|| ChannelError::InvalidAmount { reason: "overflow".into() })?;
        self.sign_next(transferred, self.our.locks.clone(), signer)
    }

    /// Adds a lock to our side: its amount is reserved from our available balance at once,
    /// so the same balance cannot be locked on two routes.
    pub fn send_lock(
        &mut self,
        lock: Lock,
        signer: &PrivateKeySigner,
    ) -> Result<SignedBalanceProof> {
        self.ensure_open()?;
        let locks = self.our.locks.with(lock)?;
        self.sign_next(self.our.transferred, locks, signer)
    }

    /// Pays our lock with `secrethash` (its secret is known): removed and transferred.
    pub fn send_unlock(
        &mut self,
        secrethash: &B256,
        signer: &PrivateKeySigner,
    ) -> Result<(SignedBalanceProof, Lock)> {
        self.ensure_open()?;
        let (locks, lock) = self.our.locks.without(secrethash)?;
        let transferred = self.our.transferred + lock.amount;
        Ok((self.sign_next(transferred, locks, signer)?, lock))
    }

    /// Removes our lock with `secrethash` without payment: it expired at `block`, or the
    /// partner refused it.
    pub fn send_lock_expired(
        &mut self,
        secrethash: &B256,
        block: u64,
        signer: &PrivateKeySigner,
    ) -> Result<SignedBalanceProof> {
        self.ensure_open()?;
        let (locks, lock) = self.our.locks.without(secrethash)?;
        if block <= lock.expiration && !self.refused_by_partner.contains(secrethash) {
            return Err(ChannelError::LockNotExpired {
                secrethash: *secrethash,
                expiration: lock.expiration,
                block,
            });
        }
        let signed = self.sign_next(self.our.transferred, locks, signer)?;
        self.refused_by_partner.retain(|h| h != secrethash);
        Ok(signed)
    }

    /// Checks the partner's next proof, claimed to make `update`, at L1 height `block`;
    /// `registered_at` tells when (if ever) a secret hash was registered on L1. Applies it only
    /// if every rule holds (see the errors for each rule); a refusal changes nothing.
    pub fn receive(
        &mut self,
        update: ProofUpdate,
        signed: &SignedBalanceProof,
        block: u64,
        registered_at: impl Fn(&B256) -> Option<u64>,
    ) -> Result<Received> {
        self.ensure_open()?;
        let id = &self.identity;
        let p = &signed.proof;
        if p.chain_id != id.chain_id {
            return Err(ChannelError::WrongChainId { expected: id.chain_id, got: p.chain_id });
        }
        if p.token_network != id.token_network {
            return Err(ChannelError::WrongContract {
                expected: id.token_network,
                got: p.token_network,
            });
        }
        if p.channel_id != id.channel_id {
            return Err(ChannelError::WrongChannel { expected: id.channel_id, got: p.channel_id });
        }
        if p.generation != id.generation {
            return Err(ChannelError::WrongGeneration {
                expected: id.generation,
                got: p.generation,
            });
        }
        if self.partner.latest.as_ref().is_some_and(|l| l.proof == *p) {
            return Ok(Received::Duplicate);
        }
        signed.verify(id.partner)?;
        let expected_nonce = self.partner.nonce + 1;
        if p.nonce != expected_nonce {
            return Err(ChannelError::WrongNonce { expected: expected_nonce, got: p.nonce });
        }
        let previous = self.partner.transferred;
        if p.transferred_amount < previous {
            return Err(ChannelError::TransferredDecreased { previous, got: p.transferred_amount });
        }
        let (transferred, locks) = match update {
            ProofUpdate::Direct(amount) => {
                if amount.is_zero() {
                    return Err(ChannelError::InvalidAmount { reason: "a payment of zero".into() });
                }
                (previous.checked_add(amount), self.partner.locks.clone())
            }
            // A lock that arrives expired (a delayed resend) is still a valid state of the
            // sender's own money: accepting it costs us nothing and keeps the nonces in step
            // (refusing it would stall the channel for good). The manager does not act on it
            // (no forwarding, no secret request) and the sender removes it with LockExpired.
            ProofUpdate::Locked(lock) => (Some(previous), self.partner.locks.with(lock)?),
            ProofUpdate::Unlock(secret) => {
                let (locks, lock) = self.partner.locks.without(&secrethash(&secret))?;
                (previous.checked_add(lock.amount), locks)
            }
            ProofUpdate::Expired(hash) => {
                let (locks, lock) = self.partner.locks.without(&hash)?;
                if registered_at(&hash).is_some_and(|at| at <= lock.expiration) {
                    return Err(ChannelError::SecretRegisteredOnChain { secrethash: hash });
                }
                if block <= lock.expiration && !self.refused_by_us.contains(&hash) {
                    return Err(ChannelError::LockNotExpired {
                        secrethash: hash,
                        expiration: lock.expiration,
                        block,
                    });
                }
                (Some(previous), locks)
            }
        };
        let transferred =
            transferred.ok_or_else(|| ChannelError::InvalidAmount { reason: "overflow".into() })?;
        if p.transferred_amount != transferred {
            return Err(ChannelError::WrongTransferredAmount {
                expected: transferred,
                got: p.transferred_amount,
            });
        }
        let locked = locks.locked_amount();
        if p.locked_amount != locked {
            return Err(ChannelError::LockedAmountMismatch {
                expected: locked,
                got: p.locked_amount,
            });
        }
        let root = locks.root();
        if p.locks_root != root {
            return Err(ChannelError::LocksRootMismatch { expected: root, got: p.locks_root });
        }
        let limit = self.partner.deposit.saturating_add(self.our.transferred);
        let needed = transferred.saturating_add(locked);
        if needed > limit {
            return Err(ChannelError::InsufficientBalance {
                available: self.available_to_receive(),
                needed: needed.saturating_sub(previous + self.partner.locked()),
            });
        }
        if let ProofUpdate::Expired(hash) = update {
            self.refused_by_us.retain(|h| *h != hash);
        }
        self.partner.nonce = p.nonce;
        self.partner.transferred = transferred;
        self.partner.locks = locks;
        self.partner.latest = Some(*signed);
        Ok(Received::Applied)
    }
}
