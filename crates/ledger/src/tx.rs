//! Transactions: L1 deposits, and transfers and withdrawals signed over EIP-712
//! (`docs/rollup.md`, "Transactions").
//!
//! Checking a signature is the expensive, stateless half of validating a transaction, so it is
//! separate: [`SignedTx::verify`] turns a [`SignedTx`] into a [`VerifiedTx`], and callers run it
//! on many transactions in parallel before handing them, in order, to
//! [`Ledger::apply`](crate::Ledger::apply), which only checks them against the state.

use crate::{
    LedgerError, Result, TokenId,
    signature::{check_canonical, from_compact, to_compact},
};
use alloy::{
    primitives::Signature,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use ply_core::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

alloy::sol! {
    /// A transfer of `amount` of `token` from `from` to the L2 account of `to`, paying `fee` of
    /// the same token to the fee account. EIP-712 type:
    /// `Transfer(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)`.
    #[derive(Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    struct Transfer {
        /// The sender, whose key signs.
        address from;
        /// The recipient; an account is created for it if it has none.
        address to;
        /// The token moved (and in which the fee is paid).
        uint32 token;
        /// The amount moved.
        uint256 amount;
        /// The fee paid to the fee account.
        uint256 fee;
        /// The sender's nonce.
        uint64 nonce;
    }

    /// A withdrawal of `amount` of `token` from `from`'s L2 account to the L1 address `to`,
    /// paying `fee` of the same token to the fee account. EIP-712 type:
    /// `Withdrawal(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)`.
    #[derive(Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    struct Withdrawal {
        /// The sender, whose key signs.
        address from;
        /// The L1 recipient.
        address to;
        /// The token withdrawn (and in which the fee is paid).
        uint32 token;
        /// The amount withdrawn.
        uint256 amount;
        /// The fee paid to the fee account.
        uint256 fee;
        /// The sender's nonce.
        uint64 nonce;
    }
}

/// An entry of the L1 priority queue (`Bridge.OperationQueued`): a deposit, or a forced transfer
/// or withdrawal (`kind`, see [`OpKind`](crate::OpKind)). It carries no signature: the L1 took
/// the funds, or authenticated `from` as the L1 sender.
///
/// `kind`, `from` and `timestamp` default to a deposit from nobody at time 0 (what journals
/// written before forced operations hold); the one-step proof needs their real values, which
/// the L1 reader fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deposit {
    /// The operation's position in the L1 queue.
    pub queue_index: u64,
    /// The L2 recipient (deposit, forced transfer; its account is created if it has none) or
    /// the L1 recipient (forced withdrawal).
    pub to: Address,
    /// The token.
    pub token: TokenId,
    /// The amount.
    pub amount: U256,
    /// 0 deposit, 1 forced transfer, 2 forced withdrawal.
    #[serde(default)]
    pub kind: u8,
    /// The L1 sender: the depositor, or the owner of the account a forced operation debits.
    #[serde(default)]
    pub from: Address,
    /// The L1 timestamp at which it was queued.
    #[serde(default)]
    pub timestamp: u64,
}

/// The EIP-712 domain transactions are signed in: `{ name: "ply rollup", version: "1", chainId:
/// <L2 chain id>, verifyingContract: <Rollup contract> }`, with its separator precomputed.
///
/// The domain binds a signature to one rollup on one chain: a transaction signed for a testnet
/// deployment cannot be replayed on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningDomain {
    chain_id: u64,
    rollup: Address,
    separator: B256,
}

impl SigningDomain {
    /// The domain's `name`.
    pub const NAME: &'static str = "ply rollup";
    /// The domain's `version`.
    pub const VERSION: &'static str = "1";

    /// The domain of the rollup contract `rollup` on the L2 chain `chain_id`.
    pub fn new(chain_id: u64, rollup: Address) -> Self {
        let separator = Self::domain_of(chain_id, rollup).separator();
        Self { chain_id, rollup, separator }
    }

    fn domain_of(chain_id: u64, rollup: Address) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Borrowed(Self::NAME)),
            Some(Cow::Borrowed(Self::VERSION)),
            Some(U256::from(chain_id)),
            Some(rollup),
            None,
        )
    }

    /// The L2 chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The rollup contract (the domain's `verifyingContract`).
    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// The domain as alloy's [`Eip712Domain`] (for wallets and `eth_signTypedData`).
    pub fn eip712_domain(&self) -> Eip712Domain {
        Self::domain_of(self.chain_id, self.rollup)
    }

    /// The domain separator, `hashStruct(domain)`.
    pub fn separator(&self) -> B256 {
        self.separator
    }

    /// The EIP-712 signing hash of `payload`: `keccak256(0x1901 ‖ separator ‖ hashStruct)`,
    /// equal to `payload.eip712_signing_hash(&self.eip712_domain())` without rehashing the domain.
    pub fn signing_hash<T: SolStruct>(&self, payload: &T) -> B256 {
        let mut digest = [0u8; 66];
        digest[0] = 0x19;
        digest[1] = 0x01;
        digest[2..34].copy_from_slice(self.separator.as_slice());
        digest[34..].copy_from_slice(payload.eip712_hash_struct().as_slice());
        keccak256(digest)
    }
}

/// A user transaction, before or after its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tx {
    /// An L2 transfer.
    Transfer(Transfer),
    /// A withdrawal to L1.
    Withdrawal(Withdrawal),
}

impl From<Transfer> for Tx {
    fn from(transfer: Transfer) -> Self {
        Self::Transfer(transfer)
    }
}

impl From<Withdrawal> for Tx {
    fn from(withdrawal: Withdrawal) -> Self {
        Self::Withdrawal(withdrawal)
    }
}

impl Tx {
    /// The sender (`from`).
    pub fn sender(&self) -> Address {
        match self {
            Self::Transfer(t) => t.from,
            Self::Withdrawal(w) => w.from,
        }
    }

    /// The recipient: an L2 address for a transfer, an L1 address for a withdrawal.
    pub fn to(&self) -> Address {
        match self {
            Self::Transfer(t) => t.to,
            Self::Withdrawal(w) => w.to,
        }
    }

    /// The token.
    pub fn token(&self) -> TokenId {
        match self {
            Self::Transfer(t) => t.token,
            Self::Withdrawal(w) => w.token,
        }
    }

    /// The amount.
    pub fn amount(&self) -> U256 {
        match self {
            Self::Transfer(t) => t.amount,
            Self::Withdrawal(w) => w.amount,
        }
    }

    /// The fee.
    pub fn fee(&self) -> U256 {
        match self {
            Self::Transfer(t) => t.fee,
            Self::Withdrawal(w) => w.fee,
        }
    }

    /// The sender's nonce.
    pub fn nonce(&self) -> u64 {
        match self {
            Self::Transfer(t) => t.nonce,
            Self::Withdrawal(w) => w.nonce,
        }
    }

    /// Whether this is a withdrawal.
    pub fn is_withdrawal(&self) -> bool {
        matches!(self, Self::Withdrawal(_))
    }

    /// The EIP-712 signing hash in `domain`; it also serves as the transaction's id.
    pub fn signing_hash(&self, domain: &SigningDomain) -> B256 {
        match self {
            Self::Transfer(t) => domain.signing_hash(t),
            Self::Withdrawal(w) => domain.signing_hash(w),
        }
    }

    /// Signs the transaction with `signer` (which should be the key of `from`; nothing here
    /// checks it, so that tests can forge signatures).
    pub fn sign(self, signer: &PrivateKeySigner, domain: &SigningDomain) -> Result<SignedTx> {
        let hash = self.signing_hash(domain);
        let signature = signer
            .sign_hash_sync(&hash)
            .map_err(|e| LedgerError::SigningFailed { reason: e.to_string() })?
            .normalized_s();
        Ok(SignedTx { tx: self, signature })
    }
}

impl Transfer {
    /// Signs the transfer: [`Tx::sign`].
    pub fn sign(self, signer: &PrivateKeySigner, domain: &SigningDomain) -> Result<SignedTx> {
        Tx::Transfer(self).sign(signer, domain)
    }
}

impl Withdrawal {
    /// Signs the withdrawal: [`Tx::sign`].
    pub fn sign(self, signer: &PrivateKeySigner, domain: &SigningDomain) -> Result<SignedTx> {
        Tx::Withdrawal(self).sign(signer, domain)
    }
}

/// A transaction with its secp256k1 signature, as users submit it and batches carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedTx {
    /// The transaction.
    pub tx: Tx,
    /// The signature over `tx.signing_hash(domain)`.
    pub signature: Signature,
}

impl SignedTx {
    /// Rebuilds a signed transaction from its compact signature (as a batch carries it).
    pub fn from_compact(tx: Tx, signature: &[u8; 64]) -> Result<Self> {
        Ok(Self { tx, signature: from_compact(signature)? })
    }

    /// The signature in EIP-2098 compact form (refused if not canonical).
    pub fn compact_signature(&self) -> Result<[u8; 64]> {
        to_compact(&self.signature)
    }

    /// Checks the signature: canonical, recovers a key, and that key is `from`'s.
    ///
    /// This is the expensive, stateless part of validation (one public key recovery, tens of
    /// microseconds); run it in parallel, then apply the results in order.
    pub fn verify(&self, domain: &SigningDomain) -> Result<VerifiedTx> {
        check_canonical(&self.signature)?;
        let hash = self.tx.signing_hash(domain);
        let signer = self
            .signature
            .recover_address_from_prehash(&hash)
            .map_err(|e| LedgerError::BadSignature { reason: e.to_string() })?;
        let from = self.tx.sender();
        if signer != from {
            return Err(LedgerError::SignerMismatch { signer, from });
        }
        Ok(VerifiedTx { tx: self.tx.clone() })
    }
}

/// A transaction whose signature was checked: the only kind [`Ledger::apply`] accepts.
///
/// [`Ledger::apply`]: crate::Ledger::apply
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedTx {
    tx: Tx,
}

impl VerifiedTx {
    /// Wraps a transaction whose authorisation something else has checked: a zk circuit, or a
    /// node replaying transactions it verified itself before storing them.
    ///
    /// **Misuse loses funds**: a transaction wrapped here without a check lets anyone spend
    /// anyone's balance.
    pub fn assume_verified(tx: Tx) -> Self {
        Self { tx }
    }

    /// The transaction.
    pub fn tx(&self) -> &Tx {
        &self.tx
    }

    /// The transaction, unwrapped.
    pub fn into_tx(self) -> Tx {
        self.tx
    }
}
