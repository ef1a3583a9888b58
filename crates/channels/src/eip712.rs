//! EIP-712 signing for channels (`/docs/channels.md`): the domain `{ name: "PlyChannels",
//! version: "1", chainId, verifyingContract: TokenNetwork }`, the struct types the contract
//! verifies (`BalanceProof`, `NonClosingUpdate`, `CooperativeClose`) and the off-chain
//! message types this crate defines, and 65-byte `r ‖ s ‖ v` signatures.
//!
//! A signature is accepted only if `v` is 27 or 28, `s <= n/2` (the canonical twin; the other
//! one recovers the same key and would give one message two encodings), `r` and `s` are
//! non-zero and below `n`, and it recovers a non-zero address equal to the expected signer: the
//! same rules as the contract.

use crate::{ChannelError, Result};
use alloy::{
    primitives::Signature,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use ply_core::{Address, B256, U256, keccak256};
use std::borrow::Cow;

alloy::sol! {
    /// The state of one participant's payments, signed by that participant (the sender).
    #[derive(Debug, PartialEq, Eq)]
    struct BalanceProof {
        /// keccak256(abi.encode(participant1, participant2, token)).
        bytes32 channelId;
        /// The channel's open counter.
        uint64 generation;
        /// Strictly increasing, from 1.
        uint64 nonce;
        /// Total paid to the partner.
        uint256 transferredAmount;
        /// Sum of the pending locks.
        uint256 lockedAmount;
        /// keccak256 of the packed pending locks (zero when none).
        bytes32 locksRoot;
    }

    /// The non-closing participant's authorisation to submit the closer's proof.
    #[derive(Debug, PartialEq, Eq)]
    struct NonClosingUpdate {
        /// The channel.
        bytes32 channelId;
        /// Its generation.
        uint64 generation;
        /// The struct hash of the closer's balance proof.
        bytes32 balanceProofHash;
    }

    /// Both participants' agreement to end the channel with these balances.
    #[derive(Debug, PartialEq, Eq)]
    struct CooperativeClose {
        /// The channel.
        bytes32 channelId;
        /// Its generation.
        uint64 generation;
        /// participant1's payout.
        uint256 balance1;
        /// participant2's payout.
        uint256 balance2;
    }

    /// Off-chain: a payment payable on revealing a secret, with one more lock.
    #[derive(Debug, PartialEq, Eq)]
    struct LockedTransfer {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id (chosen by the initiator).
        uint64 paymentId;
        /// The struct hash of the balance proof the message carries.
        bytes32 balanceProofHash;
        /// The new lock's amount.
        uint256 lockAmount;
        /// The new lock's expiration block.
        uint64 lockExpiration;
        /// The new lock's secret hash.
        bytes32 secrethash;
        /// Who pays.
        address initiator;
        /// Who is paid.
        address target;
        /// What the target must receive.
        uint256 paymentAmount;
        /// The whole path, initiator first, target last.
        address[] route;
    }

    /// Off-chain: a lock's secret is known; the lock is removed and its amount transferred.
    #[derive(Debug, PartialEq, Eq)]
    struct Unlock {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id.
        uint64 paymentId;
        /// The struct hash of the balance proof the message carries.
        bytes32 balanceProofHash;
        /// The secret.
        bytes32 secret;
    }

    /// Off-chain: an expired (or refused) lock is removed; nothing is transferred.
    #[derive(Debug, PartialEq, Eq)]
    struct LockExpired {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id.
        uint64 paymentId;
        /// The struct hash of the balance proof the message carries.
        bytes32 balanceProofHash;
        /// The removed lock's secret hash.
        bytes32 secrethash;
    }

    /// Off-chain: a payment without a lock.
    #[derive(Debug, PartialEq, Eq)]
    struct DirectTransfer {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id.
        uint64 paymentId;
        /// The struct hash of the balance proof the message carries.
        bytes32 balanceProofHash;
        /// The amount paid.
        uint256 amount;
    }

    /// Off-chain: the receiver of a lock refuses it (cannot forward it); the sender may
    /// remove it at once.
    #[derive(Debug, PartialEq, Eq)]
    struct RefundTransfer {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id.
        uint64 paymentId;
        /// The channel the refused lock is in.
        bytes32 channelId;
        /// The channel's generation.
        uint64 generation;
        /// The refused lock's secret hash.
        bytes32 secrethash;
    }

    /// Off-chain: the target asks the initiator for the secret.
    #[derive(Debug, PartialEq, Eq)]
    struct SecretRequest {
        /// The sender's message id.
        uint64 messageId;
        /// The payment's id.
        uint64 paymentId;
        /// The secret hash.
        bytes32 secrethash;
        /// The amount the target received in its lock.
        uint256 amount;
        /// That lock's expiration.
        uint64 expiration;
    }

    /// Off-chain: a secret, sent forward by the initiator and backward by each hop.
    #[derive(Debug, PartialEq, Eq)]
    struct RevealSecret {
        /// The sender's message id.
        uint64 messageId;
        /// The secret.
        bytes32 secret;
    }

    /// Off-chain: the message with this id was applied and persisted.
    #[derive(Debug, PartialEq, Eq)]
    struct Processed {
        /// The acknowledged message's id.
        uint64 messageId;
    }

    /// Off-chain: the message with this id was received and persisted.
    #[derive(Debug, PartialEq, Eq)]
    struct Delivered {
        /// The acknowledged message's id.
        uint64 messageId;
    }

    /// Off-chain: a node's announcement of its side of a channel (routing).
    #[derive(Debug, PartialEq, Eq)]
    struct ChannelUpdate {
        /// The channel.
        bytes32 channelId;
        /// Its generation.
        uint64 generation;
        /// The announcing participant.
        address node;
        /// The other participant.
        address partner;
        /// What `node` can send now.
        uint256 capacity;
        /// Fixed fee for forwarding through this channel.
        uint256 feeBase;
        /// Proportional fee, millionths of the incoming amount.
        uint32 feePpm;
        /// `node`'s reveal timeout in blocks.
        uint64 revealTimeout;
        /// Strictly increasing per (channel, node).
        uint64 sequence;
    }
}

/// The signing domain of one TokenNetwork on one chain, with its separator precomputed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChannelDomain {
    chain_id: u64,
    token_network: Address,
    separator: B256,
}

impl ChannelDomain {
    /// The domain's `name`.
    pub const NAME: &'static str = "PlyChannels";
    /// The domain's `version`.
    pub const VERSION: &'static str = "1";

    /// The domain of the TokenNetwork `token_network` on chain `chain_id`.
    pub fn new(chain_id: u64, token_network: Address) -> Self {
        let separator = Self::domain_of(chain_id, token_network).separator();
        Self { chain_id, token_network, separator }
    }

    fn domain_of(chain_id: u64, token_network: Address) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Borrowed(Self::NAME)),
            Some(Cow::Borrowed(Self::VERSION)),
            Some(U256::from(chain_id)),
            Some(token_network),
            None,
        )
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The TokenNetwork contract (`verifyingContract`).
    pub fn token_network(&self) -> Address {
        self.token_network
    }

    /// The domain as alloy's [`Eip712Domain`].
    pub fn eip712_domain(&self) -> Eip712Domain {
        Self::domain_of(self.chain_id, self.token_network)
    }

    /// `hashStruct(domain)`.
    pub fn separator(&self) -> B256 {
        self.separator
    }

    /// `keccak256(0x1901 ‖ separator ‖ hashStruct(payload))`.
    pub fn signing_hash<T: SolStruct>(&self, payload: &T) -> B256 {
        self.digest(payload.eip712_hash_struct())
    }

    /// `keccak256(0x1901 ‖ separator ‖ struct_hash)`.
    pub fn digest(&self, struct_hash: B256) -> B256 {
        let mut digest = [0u8; 66];
        digest[0] = 0x19;
        digest[1] = 0x01;
        digest[2..34].copy_from_slice(self.separator.as_slice());
        digest[34..].copy_from_slice(struct_hash.as_slice());
        keccak256(digest)
    }

    /// Signs `payload` with `signer` (canonical low-`s` signature).
    pub fn sign<T: SolStruct>(&self, payload: &T, signer: &PrivateKeySigner) -> Result<Signature> {
        sign_digest(&self.signing_hash(payload), signer)
    }

    /// Checks that `signature` over `payload` was made by `expected` (see the module docs).
    pub fn verify<T: SolStruct>(
        &self,
        payload: &T,
        signature: &Signature,
        expected: Address,
    ) -> Result<()> {
        let signer = recover(&self.signing_hash(payload), signature)?;
        if signer != expected {
            return Err(ChannelError::SignerMismatch { signer, expected });
        }
        Ok(())
    }
}

/// Signs a 32-byte digest (canonical low-`s`).
pub fn sign_digest(digest: &B256, signer: &PrivateKeySigner) -> Result<Signature> {
    Ok(signer
        .sign_hash_sync(digest)
        .map_err(|e| ChannelError::SigningFailed { reason: e.to_string() })?
        .normalized_s())
}

/// Recovers the signer of `digest`, refusing non-canonical signatures and the zero address.
pub fn recover(digest: &B256, signature: &Signature) -> Result<Address> {
    ply_ledger::signature::check_canonical(signature)
        .map_err(|e| ChannelError::BadSignature { reason: e.to_string() })?;
    let signer = signature
        .recover_address_from_prehash(digest)
        .map_err(|e| ChannelError::BadSignature { reason: e.to_string() })?;
    if signer.is_zero() {
        return Err(ChannelError::BadSignature { reason: "recovers the zero address".into() });
    }
    Ok(signer)
}

/// The length of an encoded signature.
pub const SIGNATURE_LEN: usize = 65;

/// `r ‖ s ‖ v` with `v` 27 or 28, as the contract takes it.
pub fn signature_to_bytes(signature: &Signature) -> [u8; SIGNATURE_LEN] {
    signature.as_bytes()
}

/// Parses `r ‖ s ‖ v`, refusing `v` other than 27 or 28 (canonical `s` is checked on
/// verification, so that a test can build a non-canonical one and see it refused there).
pub fn signature_from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Result<Signature> {
    let parity = match bytes[64] {
        27 => false,
        28 => true,
        v => {
            return Err(ChannelError::BadSignature {
                reason: format!("v = {v}, must be 27 or 28"),
            });
        }
    };
    let r = U256::from_be_slice(&bytes[..32]);
    let s = U256::from_be_slice(&bytes[32..64]);
    Ok(Signature::new(r, s, parity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ply_core::dev::dev_signer;

    #[test]
    fn type_strings_are_the_spec() {
        assert_eq!(
            BalanceProof::eip712_encode_type(),
            "BalanceProof(bytes32 channelId,uint64 generation,uint64 nonce,uint256 transferredAmount,uint256 lockedAmount,bytes32 locksRoot)"
        );
        assert_eq!(
            NonClosingUpdate::eip712_encode_type(),
            "NonClosingUpdate(bytes32 channelId,uint64 generation,bytes32 balanceProofHash)"
        );
        assert_eq!(
            CooperativeClose::eip712_encode_type(),
            "CooperativeClose(bytes32 channelId,uint64 generation,uint256 balance1,uint256 balance2)"
        );
    }

    #[test]
    fn sign_verify_and_refusals() {
        let alice = dev_signer(1).unwrap();
        let domain = ChannelDomain::new(1337, Address::repeat_byte(7));
        let bp = BalanceProof {
            channelId: B256::repeat_byte(1),
            generation: 1,
            nonce: 1,
            transferredAmount: U256::from(5),
            lockedAmount: U256::ZERO,
            locksRoot: B256::ZERO,
        };
        let sig = domain.sign(&bp, &alice).unwrap();
        domain.verify(&bp, &sig, alice.address()).unwrap();
        let bytes = signature_to_bytes(&sig);
        assert!(bytes[64] == 27 || bytes[64] == 28);
        assert_eq!(signature_from_bytes(&bytes).unwrap(), sig);
        // Another domain: recovers someone else.
        let other = ChannelDomain::new(1338, Address::repeat_byte(7));
        assert!(matches!(
            other.verify(&bp, &sig, alice.address()),
            Err(ChannelError::SignerMismatch { .. })
        ));
        // High s twin: refused although it recovers the same key.
        let n = ply_ledger::signature::SECP256K1_ORDER;
        let twin = Signature::new(sig.r(), n - sig.s(), !sig.v());
        assert!(matches!(
            domain.verify(&bp, &twin, alice.address()),
            Err(ChannelError::BadSignature { .. })
        ));
        let mut bad_v = bytes;
        bad_v[64] = 1;
        assert!(signature_from_bytes(&bad_v).is_err());
    }
}
