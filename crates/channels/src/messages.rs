//! The off-chain protocol messages (docs/channels.md, "Off-chain messages (version 1)").
//!
//! Every message is signed over its own EIP-712 type in the channel domain, so a node knows
//! who sent it whatever the transport. The messages that move money (`LockedTransfer`,
//! `Unlock`, `LockExpired`, `DirectTransfer`) also carry the sender's new [`BalanceProof`] with
//! its own signature in the exact form the TokenNetwork contract verifies, so that the partner
//! can close the channel with it; the message signature covers the proof's struct hash, which
//! binds the two together.

use crate::{
    ChannelError, Result,
    eip712::{self as typed, ChannelDomain, recover, sign_digest},
    lock::Lock,
};
use alloy::{primitives::Signature, signers::local::PrivateKeySigner, sol_types::SolStruct};
use ply_core::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// The longest route a transfer may name (initiator and target included).
pub const MAX_ROUTE_LEN: usize = 16;

/// A balance proof with the chain and contract it is for: the signed fields are the spec's
/// `BalanceProof` type, `chain_id` and `token_network` are the EIP-712 domain (carried so that
/// a proof for another chain or contract is refused by name, not as a bad signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BalanceProof {
    /// The chain id of the domain.
    pub chain_id: u64,
    /// The TokenNetwork contract of the domain.
    pub token_network: Address,
    /// The channel.
    pub channel_id: B256,
    /// The channel's open counter.
    pub generation: u64,
    /// The signer's proof counter: exactly one more than its previous proof.
    pub nonce: u64,
    /// The total the signer has paid its partner.
    pub transferred_amount: U256,
    /// The sum of the signer's pending locks.
    pub locked_amount: U256,
    /// The root of the signer's pending locks.
    pub locks_root: B256,
}

impl BalanceProof {
    /// The EIP-712 struct the contract verifies.
    pub fn typed(&self) -> typed::BalanceProof {
        typed::BalanceProof {
            channelId: self.channel_id,
            generation: self.generation,
            nonce: self.nonce,
            transferredAmount: self.transferred_amount,
            lockedAmount: self.locked_amount,
            locksRoot: self.locks_root,
        }
    }

    /// `hashStruct(BalanceProof)` (what `NonClosingUpdate.balanceProofHash` and the messages'
    /// `balanceProofHash` hold).
    pub fn struct_hash(&self) -> B256 {
        self.typed().eip712_hash_struct()
    }

    /// The domain the proof is signed in.
    pub fn domain(&self) -> ChannelDomain {
        ChannelDomain::new(self.chain_id, self.token_network)
    }

    /// Signs the proof with `signer` in its domain.
    pub fn sign(self, signer: &PrivateKeySigner) -> Result<SignedBalanceProof> {
        let signature = sign_digest(&self.domain().digest(self.struct_hash()), signer)?;
        Ok(SignedBalanceProof { proof: self, signature })
    }
}

/// A balance proof and its signer's signature, as `closeChannel` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedBalanceProof {
    /// The proof.
    pub proof: BalanceProof,
    /// The signer's signature over it.
    pub signature: Signature,
}

impl SignedBalanceProof {
    /// The address that signed the proof (checked canonical, non-zero).
    pub fn signer(&self) -> Result<Address> {
        recover(&self.proof.domain().digest(self.proof.struct_hash()), &self.signature)
    }

    /// Checks that `expected` signed the proof.
    pub fn verify(&self, expected: Address) -> Result<()> {
        let signer = self.signer()?;
        if signer != expected {
            return Err(ChannelError::SignerMismatch { signer, expected });
        }
        Ok(())
    }
}

/// A transfer payable on a secret: the sender's new proof has one more lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedTransfer {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id, chosen by the initiator.
    pub payment_id: u64,
    /// The sender's new proof: same transferred amount, the lock added.
    pub balance_proof: SignedBalanceProof,
    /// The added lock.
    pub lock: Lock,
    /// Who pays.
    pub initiator: Address,
    /// Who is paid.
    pub target: Address,
    /// What the target must receive (the lock carries it plus the remaining fees).
    pub payment_amount: U256,
    /// The path, initiator first, target last.
    pub route: Vec<Address>,
}

/// The secret of a lock is known: the lock is removed and its amount transferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id.
    pub payment_id: u64,
    /// The sender's new proof.
    pub balance_proof: SignedBalanceProof,
    /// The secret.
    pub secret: B256,
}

/// A lock is removed without payment: it expired, or its receiver refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockExpired {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id.
    pub payment_id: u64,
    /// The sender's new proof.
    pub balance_proof: SignedBalanceProof,
    /// The removed lock's secret hash.
    pub secrethash: B256,
}

/// A payment to the partner without a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectTransfer {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id.
    pub payment_id: u64,
    /// The sender's new proof: transferred raised by `amount`.
    pub balance_proof: SignedBalanceProof,
    /// The amount paid.
    pub amount: U256,
}

/// The receiver of a lock cannot forward it and gives it up: the lock's sender may remove it
/// at once (with a [`LockExpired`]) instead of waiting for its expiration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTransfer {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id.
    pub payment_id: u64,
    /// The channel the lock is in.
    pub channel_id: B256,
    /// The channel's generation.
    pub generation: u64,
    /// The lock's secret hash.
    pub secrethash: B256,
}

/// The target asks the initiator for the secret of the lock it received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRequest {
    /// The sender's message id.
    pub message_id: u64,
    /// The payment id.
    pub payment_id: u64,
    /// The secret hash.
    pub secrethash: B256,
    /// The amount of the lock the target received.
    pub amount: U256,
    /// That lock's expiration.
    pub expiration: u64,
}

/// A secret: from the initiator to the target, then from each hop to its payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealSecret {
    /// The sender's message id.
    pub message_id: u64,
    /// The secret.
    pub secret: B256,
}

/// An acknowledgement of the message `message_id` of the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The acknowledged message's id.
    pub message_id: u64,
}

/// Every off-chain message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// See [`LockedTransfer`].
    LockedTransfer(LockedTransfer),
    /// See [`Unlock`].
    Unlock(Unlock),
    /// See [`LockExpired`].
    LockExpired(LockExpired),
    /// See [`DirectTransfer`].
    DirectTransfer(DirectTransfer),
    /// See [`RefundTransfer`].
    RefundTransfer(RefundTransfer),
    /// See [`SecretRequest`].
    SecretRequest(SecretRequest),
    /// See [`RevealSecret`].
    RevealSecret(RevealSecret),
    /// A balance-proof message was applied and persisted.
    Processed(Ack),
    /// Another message was received and persisted.
    Delivered(Ack),
}

impl Message {
    /// The message's id (for an ack, the id of the message it acknowledges).
    pub fn message_id(&self) -> u64 {
        match self {
            Self::LockedTransfer(m) => m.message_id,
            Self::Unlock(m) => m.message_id,
            Self::LockExpired(m) => m.message_id,
            Self::DirectTransfer(m) => m.message_id,
            Self::RefundTransfer(m) => m.message_id,
            Self::SecretRequest(m) => m.message_id,
            Self::RevealSecret(m) => m.message_id,
            Self::Processed(a) | Self::Delivered(a) => a.message_id,
        }
    }

    /// Whether this is an acknowledgement (which is not itself acknowledged or resent).
    pub fn is_ack(&self) -> bool {
        matches!(self, Self::Processed(_) | Self::Delivered(_))
    }

    /// The balance proof the message carries, if it moves money.
    pub fn balance_proof(&self) -> Option<&SignedBalanceProof> {
        match self {
            Self::LockedTransfer(m) => Some(&m.balance_proof),
            Self::Unlock(m) => Some(&m.balance_proof),
            Self::LockExpired(m) => Some(&m.balance_proof),
            Self::DirectTransfer(m) => Some(&m.balance_proof),
            _ => None,
        }
    }

    /// `hashStruct` of the message's EIP-712 type.
    pub fn struct_hash(&self) -> B256 {
        match self {
            Self::LockedTransfer(m) => typed::LockedTransfer {
                messageId: m.message_id,
                paymentId: m.payment_id,
                balanceProofHash: m.balance_proof.proof.struct_hash(),
                lockAmount: m.lock.amount,
                lockExpiration: m.lock.expiration,
                secrethash: m.lock.secrethash,
                initiator: m.initiator,
                target: m.target,
                paymentAmount: m.payment_amount,
                route: m.route.clone(),
            }
            .eip712_hash_struct(),
            Self::Unlock(m) => typed::Unlock {
                messageId: m.message_id,
                paymentId: m.payment_id,
                balanceProofHash: m.balance_proof.proof.struct_hash(),
                secret: m.secret,
            }
            .eip712_hash_struct(),
            Self::LockExpired(m) => typed::LockExpired {
                messageId: m.message_id,
                paymentId: m.payment_id,
                balanceProofHash: m.balance_proof.proof.struct_hash(),
                secrethash: m.secrethash,
            }
            .eip712_hash_struct(),
            Self::DirectTransfer(m) => typed::DirectTransfer {
                messageId: m.message_id,
                paymentId: m.payment_id,
                balanceProofHash: m.balance_proof.proof.struct_hash(),
                amount: m.amount,
            }
            .eip712_hash_struct(),
            Self::RefundTransfer(m) => typed::RefundTransfer {
                messageId: m.message_id,
                paymentId: m.payment_id,
                channelId: m.channel_id,
                generation: m.generation,
                secrethash: m.secrethash,
            }
            .eip712_hash_struct(),
            Self::SecretRequest(m) => typed::SecretRequest {
                messageId: m.message_id,
                paymentId: m.payment_id,
                secrethash: m.secrethash,
                amount: m.amount,
                expiration: m.expiration,
            }
            .eip712_hash_struct(),
            Self::RevealSecret(m) => {
                typed::RevealSecret { messageId: m.message_id, secret: m.secret }
                    .eip712_hash_struct()
            }
            Self::Processed(a) => typed::Processed { messageId: a.message_id }.eip712_hash_struct(),
            Self::Delivered(a) => typed::Delivered { messageId: a.message_id }.eip712_hash_struct(),
        }
    }

    /// Signs the message in `domain`. The balance proof inside, if any, must already be
    /// signed (its own signature is separate).
    pub fn sign(self, domain: &ChannelDomain, signer: &PrivateKeySigner) -> Result<SignedMessage> {
        let signature = sign_digest(&domain.digest(self.struct_hash()), signer)?;
        Ok(SignedMessage { message: self, signature })
    }
}

/// A message with its sender's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedMessage {
    /// The message.
    pub message: Message,
    /// The sender's signature over the message's EIP-712 digest.
    pub signature: Signature,
}

impl SignedMessage {
    /// The sender: the address the message signature recovers to in `domain`. This checks
    /// the message signature only; a balance proof inside is checked by the channel.
    pub fn sender(&self, domain: &ChannelDomain) -> Result<Address> {
        recover(&domain.digest(self.message.struct_hash()), &self.signature)
    }
}
