//! The binary wire codec of the off-chain messages, version 1 (docs/channels.md).
//!
//! `version (1) ‖ kind (1) ‖ body ‖ message signature (65)`; integers big-endian, fixed width;
//! a balance proof is `chain_id u64 ‖ token_network 20 ‖ channel_id 32 ‖ generation u64 ‖
//! nonce u64 ‖ transferred u256 ‖ locked u256 ‖ locks_root 32 ‖ signature 65`. Decoding is
//! bounded: a frame longer than [`MAX_FRAME_LEN`], a short read, an unknown version or kind,
//! a route longer than [`MAX_ROUTE_LEN`], a signature whose `v` is not 27/28 or bytes left over
//! are errors, never a panic.

use crate::{
    ChannelError, Result,
    eip712::{SIGNATURE_LEN, signature_from_bytes, signature_to_bytes},
    lock::Lock,
    messages::*,
};
use alloy::primitives::Signature;
use ply_core::{Address, B256, U256};

/// The wire format version this code writes and reads.
pub const WIRE_VERSION: u8 = 1;

/// The longest frame accepted (a LockedTransfer with the longest route is about 720 bytes).
pub const MAX_FRAME_LEN: usize = 2048;

/// The kind byte of each message.
mod kind {
    pub(super) const LOCKED_TRANSFER: u8 = 1;
    pub(super) const UNLOCK: u8 = 2;
    pub(super) const LOCK_EXPIRED: u8 = 3;
    pub(super) const DIRECT_TRANSFER: u8 = 4;
    pub(super) const REFUND_TRANSFER: u8 = 5;
    pub(super) const SECRET_REQUEST: u8 = 6;
    pub(super) const REVEAL_SECRET: u8 = 7;
    pub(super) const PROCESSED: u8 = 8;
    pub(super) const DELIVERED: u8 = 9;
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u256(&mut self, v: U256) {
        self.0.extend_from_slice(&v.to_be_bytes::<32>());
    }
    fn b256(&mut self, v: B256) {
        self.0.extend_from_slice(v.as_slice());
    }
    fn address(&mut self, v: Address) {
        self.0.extend_from_slice(v.as_slice());
    }
    fn signature(&mut self, s: &Signature) {
        self.0.extend_from_slice(&signature_to_bytes(s));
    }
    fn balance_proof(&mut self, bp: &SignedBalanceProof) {
        let p = &bp.proof;
        self.u64(p.chain_id);
        self.address(p.token_network);
        self.b256(p.channel_id);
        self.u64(p.generation);
        self.u64(p.nonce);
        self.u256(p.transferred_amount);
        self.u256(p.locked_amount);
        self.b256(p.locks_root);
        self.signature(&bp.signature);
    }
    fn lock(&mut self, l: &Lock) {
        self.u256(l.amount);
        self.u64(l.expiration);
        self.b256(l.secrethash);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            ChannelError::decode(format!(
                "truncated: {what} needs {n} bytes at offset {}, frame has {}",
                self.pos,
                self.bytes.len()
            ))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    fn u256(&mut self, what: &str) -> Result<U256> {
        Ok(U256::from_be_bytes(self.array::<32>(what)?))
    }
    fn b256(&mut self, what: &str) -> Result<B256> {
        Ok(B256::from(self.array::<32>(what)?))
    }
    fn address(&mut self, what: &str) -> Result<Address> {
        Ok(Address::from(self.array::<20>(what)?))
    }
    fn signature(&mut self, what: &str) -> Result<Signature> {
        signature_from_bytes(&self.array::<SIGNATURE_LEN>(what)?)
            .map_err(|e| ChannelError::decode(format!("{what}: {e}")))
    }
    fn balance_proof(&mut self) -> Result<SignedBalanceProof> {
        let proof = BalanceProof {
            chain_id: self.u64("chain id")?,
            token_network: self.address("token network")?,
            channel_id: self.b256("channel id")?,
            generation: self.u64("generation")?,
            nonce: self.u64("nonce")?,
            transferred_amount: self.u256("transferred amount")?,
            locked_amount: self.u256("locked amount")?,
            locks_root: self.b256("locks root")?,
        };
        Ok(SignedBalanceProof { proof, signature: self.signature("balance proof signature")? })
    }
    fn lock(&mut self) -> Result<Lock> {
        Ok(Lock {
            amount: self.u256("lock amount")?,
            expiration: self.u64("lock expiration")?,
            secrethash: self.b256("secret hash")?,
        })
    }
}

/// Encodes a signed message into one frame.
pub fn encode(message: &SignedMessage) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256));
    w.u8(WIRE_VERSION);
    match &message.message {
        Message::LockedTransfer(m) => {
            w.u8(kind::LOCKED_TRANSFER);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.balance_proof(&m.balance_proof);
            w.lock(&m.lock);
            w.address(m.initiator);
            w.address(m.target);
            w.u256(m.payment_amount);
            // A longer route is refused before signing (the channel), never written.
            w.u8(m.route.len().min(u8::MAX as usize) as u8);
            for hop in &m.route {
                w.address(*hop);
            }
        }
        Message::Unlock(m) => {
            w.u8(kind::UNLOCK);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.balance_proof(&m.balance_proof);
            w.b256(m.secret);
        }
        Message::LockExpired(m) => {
            w.u8(kind::LOCK_EXPIRED);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.balance_proof(&m.balance_proof);
            w.b256(m.secrethash);
        }
        Message::DirectTransfer(m) => {
            w.u8(kind::DIRECT_TRANSFER);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.balance_proof(&m.balance_proof);
            w.u256(m.amount);
        }
        Message::RefundTransfer(m) => {
            w.u8(kind::REFUND_TRANSFER);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.b256(m.channel_id);
            w.u64(m.generation);
            w.b256(m.secrethash);
        }
        Message::SecretRequest(m) => {
            w.u8(kind::SECRET_REQUEST);
            w.u64(m.message_id);
            w.u64(m.payment_id);
            w.b256(m.secrethash);
            w.u256(m.amount);
            w.u64(m.expiration);
        }
        Message::RevealSecret(m) => {
            w.u8(kind::REVEAL_SECRET);
            w.u64(m.message_id);
            w.b256(m.secret);
        }
        Message::Processed(a) => {
            w.u8(kind::PROCESSED);
            w.u64(a.message_id);
        }
        Message::Delivered(a) => {
            w.u8(kind::DELIVERED);
            w.u64(a.message_id);
        }
    }
    w.signature(&message.signature);
    w.0
}

/// Decodes one frame (see the module docs for what is refused).
pub fn decode(bytes: &[u8]) -> Result<SignedMessage> {
    if bytes.len() > MAX_FRAME_LEN {
        return Err(ChannelError::decode(format!(
            "frame of {} bytes, at most {MAX_FRAME_LEN}",
            bytes.len()
        )));
    }
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("version")?;
    if version != WIRE_VERSION {
        return Err(ChannelError::decode(format!(
            "wire version {version}, this node speaks {WIRE_VERSION}"
        )));
    }
    let message = match r.u8("kind")? {
        kind::LOCKED_TRANSFER => {
            let message_id = r.u64("message id")?;
            let payment_id = r.u64("payment id")?;
            let balance_proof = r.balance_proof()?;
            let lock = r.lock()?;
            let initiator = r.address("initiator")?;
            let target = r.address("target")?;
            let payment_amount = r.u256("payment amount")?;
            let hops = r.u8("route length")? as usize;
            if !(2..=MAX_ROUTE_LEN).contains(&hops) {
                return Err(ChannelError::decode(format!(
                    "route of {hops} hops, must be 2 to {MAX_ROUTE_LEN}"
                )));
            }
            let route = (0..hops).map(|_| r.address("route hop")).collect::<Result<Vec<_>>>()?;
            Message::LockedTransfer(LockedTransfer {
                message_id,
                payment_id,
                balance_proof,
                lock,
                initiator,
                target,
                payment_amount,
                route,
            })
        }
        kind::UNLOCK => Message::Unlock(Unlock {
            message_id: r.u64("message id")?,
            payment_id: r.u64("payment id")?,
            balance_proof: r.balance_proof()?,
            secret: r.b256("secret")?,
        }),
        kind::LOCK_EXPIRED => Message::LockExpired(LockExpired {
            message_id: r.u64("message id")?,
            payment_id: r.u64("payment id")?,
            balance_proof: r.balance_proof()?,
            secrethash: r.b256("secret hash")?,
        }),
        kind::DIRECT_TRANSFER => Message::DirectTransfer(DirectTransfer {
            message_id: r.u64("message id")?,
            payment_id: r.u64("payment id")?,
            balance_proof: r.balance_proof()?,
            amount: r.u256("amount")?,
        }),
        kind::REFUND_TRANSFER => Message::RefundTransfer(RefundTransfer {
            message_id: r.u64("message id")?,
            payment_id: r.u64("payment id")?,
            channel_id: r.b256("channel id")?,
            generation: r.u64("generation")?,
            secrethash: r.b256("secret hash")?,
        }),
        kind::SECRET_REQUEST => Message::SecretRequest(SecretRequest {
            message_id: r.u64("message id")?,
            payment_id: r.u64("payment id")?,
            secrethash: r.b256("secret hash")?,
            amount: r.u256("amount")?,
            expiration: r.u64("expiration")?,
        }),
        kind::REVEAL_SECRET => Message::RevealSecret(RevealSecret {
            message_id: r.u64("message id")?,
            secret: r.b256("secret")?,
        }),
        kind::PROCESSED => Message::Processed(Ack { message_id: r.u64("message id")? }),
        kind::DELIVERED => Message::Delivered(Ack { message_id: r.u64("message id")? }),
        other => return Err(ChannelError::decode(format!("unknown message kind {other}"))),
    };
    let signature = r.signature("message signature")?;
    if r.pos != bytes.len() {
        return Err(ChannelError::decode(format!(
            "{} bytes left over after the message",
            bytes.len() - r.pos
        )));
    }
    Ok(SignedMessage { message, signature })
}
