//! The watchtower: it answers, for clients that are offline, a partner's close with an old
//! state (docs/channels.md, "Security model").
//!
//! A tower keeps, per client channel, only what `updateNonClosingBalanceProof` needs: the
//! client's latest balance proof signed by the partner and the client's `NonClosingUpdate`
//! signature of it ([`WatchedState`]). A client hands it each new state as it goes; the tower
//! checks the domain (chain id and TokenNetwork), both signatures and that the state is newer
//! than what it holds before it stores it, durably ([`store::TowerStore`], redb). It follows the
//! contracts' events and, when the partner closes a watched channel, submits the held proof
//! unless a proof at least as new is already on record, before the settle block
//! ([`service`]).
//!
//! The part here is pure ([`Tower`]): the accept rules and the duties that L1 events create.
//! What a tower can do is bounded by the contract: it can only submit a proof the partner
//! signed, authorised by the client for exactly that proof, and the higher nonce wins; a tower
//! that is wrong or malicious can therefore only fail to help, never take funds.

pub mod service;
pub mod store;

use crate::{
    ChannelError, Result, SignedBalanceProof,
    channel::channel_id,
    eip712::{ChannelDomain, NonClosingUpdate},
    l1::events::ChannelEvent,
};
use alloy::{primitives::Signature, signers::local::PrivateKeySigner};
use ply_core::{Address, B256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a tower holds for one client channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedState {
    /// The client the tower acts for (the non-closing participant it defends).
    pub client: Address,
    /// The client's partner (the one who may close with an old state).
    pub partner: Address,
    /// The channel's token (`Address::ZERO`: ETH); with the two participants it fixes the
    /// channel id.
    pub token: Address,
    /// The partner's latest balance proof, signed by the partner.
    pub partner_proof: SignedBalanceProof,
    /// The client's `NonClosingUpdate` signature of that proof.
    pub non_closing_signature: Signature,
}

impl WatchedState {
    /// The state a client hands its tower for `partner_proof`: signs the `NonClosingUpdate`
    /// with the client's key. Handing it out lets anyone submit this proof on L1 for the
    /// client, which can only help the client (the proof is the partner's payment to it).
    pub fn authorize(
        client: &PrivateKeySigner,
        partner: Address,
        token: Address,
        partner_proof: SignedBalanceProof,
    ) -> Result<Self> {
        let update = non_closing_update(&partner_proof);
        let non_closing_signature = partner_proof.proof.domain().sign(&update, client)?;
        Ok(Self { client: client.address(), partner, token, partner_proof, non_closing_signature })
    }

    /// The channel.
    pub fn channel_id(&self) -> B256 {
        self.partner_proof.proof.channel_id
    }

    /// The proof's nonce.
    pub fn nonce(&self) -> u64 {
        self.partner_proof.proof.nonce
    }

    /// The channel's generation.
    pub fn generation(&self) -> u64 {
        self.partner_proof.proof.generation
    }

    /// Checks everything a tower checks before storing: the proof is in `domain`, for the
    /// channel of `client`, `partner` and `token`, has a nonce, is signed by the partner, and
    /// the `NonClosingUpdate` of exactly this proof is signed by the client.
    pub fn verify(&self, domain: &ChannelDomain) -> Result<()> {
        let proof = &self.partner_proof.proof;
        if proof.chain_id != domain.chain_id() {
            return Err(ChannelError::WrongChainId {
                expected: domain.chain_id(),
                got: proof.chain_id,
            });
        }
        if proof.token_network != domain.token_network() {
            return Err(ChannelError::WrongContract {
                expected: domain.token_network(),
                got: proof.token_network,
            });
        }
        if self.client == self.partner {
            return Err(ChannelError::InvalidPayment {
                reason: format!("client and partner are both {}", self.client),
            });
        }
        let expected = channel_id(self.client, self.partner, self.token);
        if proof.channel_id != expected {
            return Err(ChannelError::WrongChannel { expected, got: proof.channel_id });
        }
        if proof.nonce == 0 {
            return Err(ChannelError::WrongNonce { expected: 1, got: 0 });
        }
        self.partner_proof.verify(self.partner)?;
        domain.verify(
            &non_closing_update(&self.partner_proof),
            &self.non_closing_signature,
            self.client,
        )
    }
}

fn non_closing_update(proof: &SignedBalanceProof) -> NonClosingUpdate {
    NonClosingUpdate {
        channelId: proof.proof.channel_id,
        generation: proof.proof.generation,
        balanceProofHash: proof.proof.struct_hash(),
    }
}

/// Which client channel a state is for.
pub type WatchKey = (B256, Address);

/// What [`Tower::offer`] did with a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Offered {
    /// Stored: it is the first or newer than the one held.
    Stored,
    /// The same state is already held.
    Unchanged,
}

/// An update the tower owes: `closer` closed a watched channel; the held proof goes on L1
/// unless one at least as new is on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duty {
    /// The client channel.
    pub key: WatchKey,
    /// The closer (the client's partner).
    pub closer: Address,
    /// The closed generation.
    pub generation: u64,
    /// The block of the close.
    pub close_block: u64,
}

/// The tower's rules, without I/O: the states it holds and the duties events create.
#[derive(Debug, Clone)]
pub struct Tower {
    domain: ChannelDomain,
    states: BTreeMap<WatchKey, WatchedState>,
}

impl Tower {
    /// A tower for the TokenNetwork of `domain`, holding `states` (from its store).
    pub fn new(domain: ChannelDomain, states: impl IntoIterator<Item = WatchedState>) -> Self {
        let states = states.into_iter().map(|s| ((s.channel_id(), s.client), s)).collect();
        Self { domain, states }
    }

    /// The domain.
    pub fn domain(&self) -> &ChannelDomain {
        &self.domain
    }

    /// The state held for `key`.
    pub fn state(&self, key: &WatchKey) -> Option<&WatchedState> {
        self.states.get(key)
    }

    /// Every state held.
    pub fn states(&self) -> impl Iterator<Item = &WatchedState> {
        self.states.values()
    }

    /// Checks `state` ([`WatchedState::verify`]) and whether it is newer than the one held
    /// (a later generation, or the same generation with a higher nonce). Nothing changes
    /// until the caller has persisted the state and calls [`Tower::insert`].
    pub fn check_offer(&self, state: &WatchedState) -> Result<Offered> {
        state.verify(&self.domain)?;
        let Some(held) = self.states.get(&(state.channel_id(), state.client)) else {
            return Ok(Offered::Stored);
        };
        if held == state {
            return Ok(Offered::Unchanged);
        }
        if state.generation() < held.generation() {
            return Err(ChannelError::WrongGeneration {
                expected: held.generation(),
                got: state.generation(),
            });
        }
        if state.generation() == held.generation() && state.nonce() <= held.nonce() {
            return Err(ChannelError::WrongNonce {
                expected: held.nonce() + 1,
                got: state.nonce(),
            });
        }
        Ok(Offered::Stored)
    }

    /// Holds `state` (after [`Tower::check_offer`] and persistence).
    pub fn insert(&mut self, state: WatchedState) {
        self.states.insert((state.channel_id(), state.client), state);
    }

    /// What an event at `block` asks of the tower: a duty for each watched client whose
    /// partner closed the channel of the held state's generation.
    pub fn on_event(&self, event: &ChannelEvent, block: u64) -> Vec<Duty> {
        let ChannelEvent::Closed { channel_id, generation, closer, .. } = event else {
            return Vec::new();
        };
        self.states
            .range((*channel_id, Address::ZERO)..=(*channel_id, Address::repeat_byte(0xff)))
            .filter(|(_, s)| s.partner == *closer && s.generation() == *generation)
            .map(|(key, _)| Duty {
                key: *key,
                closer: *closer,
                generation: *generation,
                close_block: block,
            })
            .collect()
    }
}
