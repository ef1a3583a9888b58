//! The error type of `ply-channels`: one enum, each refusal with a sentence that carries the
//! numbers, and a [`ErrorKind`] that tells a node's loop what to do about it.

use ply_core::{Address, B256, U256};

/// What a node's loop does about an error (kona's `PipelineErrorKind` in spirit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A peer sent something invalid: the message is dropped, the channel goes on unchanged.
    PeerRefused,
    /// A local request (a payment, an argument) was refused: tell the user, nothing changed.
    Rejected,
    /// Storage or I/O failed: the in-memory state may be ahead of the disk; stop and restart
    /// from the store (nothing that was not persisted was sent).
    Critical,
}

/// Everything the channel code refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// A signature is malformed, not canonical (high `s`), has `v` outside {27, 28} or recovers
    /// no key.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// A valid signature by another key than the one expected.
    #[error("signed by {signer}, expected {expected}")]
    SignerMismatch {
        /// The address the signature recovers to.
        signer: Address,
        /// The address that should have signed.
        expected: Address,
    },
    /// Signing with our own key failed.
    #[error("signing failed: {reason}")]
    SigningFailed {
        /// The signer's message.
        reason: String,
    },
    /// A balance proof for another chain.
    #[error("balance proof is for chain {got}, this channel is on chain {expected}")]
    WrongChainId {
        /// Our chain id.
        expected: u64,
        /// The proof's chain id.
        got: u64,
    },
    /// A balance proof for another TokenNetwork contract.
    #[error("balance proof is for contract {got}, this channel is in {expected}")]
    WrongContract {
        /// Our TokenNetwork.
        expected: Address,
        /// The proof's contract.
        got: Address,
    },
    /// A balance proof for another channel.
    #[error("balance proof is for channel {got}, expected {expected}")]
    WrongChannel {
        /// Our channel id.
        expected: B256,
        /// The proof's channel id.
        got: B256,
    },
    /// A balance proof for an earlier or later opening of the channel.
    #[error("balance proof is for generation {got}, the channel is at generation {expected}")]
    WrongGeneration {
        /// The channel's generation.
        expected: u64,
        /// The proof's generation.
        got: u64,
    },
    /// The nonce is not exactly the previous one plus one.
    #[error("nonce {got} is not the next nonce {expected} of the sender's balance proofs")]
    WrongNonce {
        /// The previous nonce plus one.
        expected: u64,
        /// The proof's nonce.
        got: u64,
    },
    /// The transferred amount went down (or, for a message that must not change it, changed).
    #[error("transferred amount {got} is not the {expected} this message must carry")]
    WrongTransferredAmount {
        /// What the message must carry.
        expected: U256,
        /// What it carries.
        got: U256,
    },
    /// The transferred amount is lower than in the previous proof.
    #[error("transferred amount {got} is below the previous proof's {previous}")]
    TransferredDecreased {
        /// The previous transferred amount.
        previous: U256,
        /// The new one.
        got: U256,
    },
    /// The locked amount does not equal the sum of the pending locks.
    #[error("locked amount {got} does not equal the sum {expected} of the pending locks")]
    LockedAmountMismatch {
        /// The sum of the locks.
        expected: U256,
        /// The proof's locked amount.
        got: U256,
    },
    /// The locks root does not commit to the pending locks.
    #[error("locks root {got} does not commit to the pending locks (expected {expected})")]
    LocksRootMismatch {
        /// The root of the locks.
        expected: B256,
        /// The proof's root.
        got: B256,
    },
    /// The sender would spend more than it has in the channel.
    #[error(
        "{needed} exceeds the available balance {available} (deposit - transferred - locked + received)"
    )]
    InsufficientBalance {
        /// The available balance.
        available: U256,
        /// What the transfer needs.
        needed: U256,
    },
    /// An amount is zero or a value is out of range.
    #[error("invalid amount: {reason}")]
    InvalidAmount {
        /// Why.
        reason: String,
    },
    /// No pending lock has this secret hash.
    #[error("no pending lock has secret hash {secrethash}")]
    UnknownLock {
        /// The secret hash.
        secrethash: B256,
    },
    /// A pending lock already has this secret hash.
    #[error("a pending lock already has secret hash {secrethash}")]
    DuplicateLock {
        /// The secret hash.
        secrethash: B256,
    },
    /// Too many pending locks (the on-chain unlock must stay within a block's gas).
    #[error("the channel already has {max} pending locks")]
    TooManyLocks {
        /// The limit.
        max: usize,
    },
    /// A lock's expiration is not in the future, or too near to be safe.
    #[error(
        "lock expiration {expiration} is too near: block {block}, at least {margin} blocks needed"
    )]
    ExpirationTooSoon {
        /// The lock's expiration block.
        expiration: u64,
        /// The current block.
        block: u64,
        /// The blocks needed.
        margin: u64,
    },
    /// A lock is removed as expired before it expired (and its receiver did not refuse it).
    #[error("lock {secrethash} expires at block {expiration}; block is {block}")]
    LockNotExpired {
        /// The lock's secret hash.
        secrethash: B256,
        /// Its expiration.
        expiration: u64,
        /// The current block.
        block: u64,
    },
    /// The lock expired: it cannot be unlocked off-chain any more.
    #[error("lock {secrethash} expired at block {expiration}; block is {block}")]
    LockAlreadyExpired {
        /// The lock's secret hash.
        secrethash: B256,
        /// Its expiration.
        expiration: u64,
        /// The current block.
        block: u64,
    },
    /// A lock's secret was registered on L1 in time: it is claimed there, not removed.
    #[error("the secret of lock {secrethash} was registered on L1 before it expired")]
    SecretRegisteredOnChain {
        /// The lock's secret hash.
        secrethash: B256,
    },
    /// A secret that does not hash to the lock's secret hash.
    #[error("the secret does not hash to {secrethash}")]
    WrongSecret {
        /// The expected secret hash.
        secrethash: B256,
    },
    /// No channel with this id, or with this partner.
    #[error("no channel {what}")]
    UnknownChannel {
        /// Which channel.
        what: String,
    },
    /// The channel is closed or settled.
    #[error("channel {channel_id} is not open")]
    ChannelNotOpen {
        /// The channel.
        channel_id: B256,
    },
    /// The message comes from someone who is not the partner it should come from.
    #[error("message from {from}, expected {expected}")]
    WrongSender {
        /// The authenticated sender.
        from: Address,
        /// Who should have sent it.
        expected: Address,
    },
    /// A payment message that contradicts the payment it refers to.
    #[error("invalid payment: {reason}")]
    InvalidPayment {
        /// Why.
        reason: String,
    },
    /// No payment with this secret hash.
    #[error("no payment has secret hash {secrethash}")]
    UnknownPayment {
        /// The secret hash.
        secrethash: B256,
    },
    /// No route with enough capacity and expiry margin.
    #[error("no route from {from} to {to} for {amount}: {reason}")]
    NoRoute {
        /// The initiator.
        from: Address,
        /// The target.
        to: Address,
        /// The amount.
        amount: U256,
        /// Why.
        reason: String,
    },
    /// A node's announcement was refused.
    #[error("announcement refused: {reason}")]
    BadAnnouncement {
        /// Why.
        reason: String,
    },
    /// Bytes that do not decode to a message.
    #[error("cannot decode message: {reason}")]
    Decode {
        /// Why.
        reason: String,
    },
    /// A connection failed or a peer broke the transport protocol (handshake, framing).
    #[error("transport: {reason}")]
    Transport {
        /// What happened.
        reason: String,
    },
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
    /// The store failed.
    #[error("storage: {0}")]
    Storage(String),
}

impl ChannelError {
    /// What a loop does about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Storage(_) | Self::SigningFailed { .. } | Self::Stopped => ErrorKind::Critical,
            Self::NoRoute { .. } | Self::UnknownChannel { .. } | Self::InvalidAmount { .. } => {
                ErrorKind::Rejected
            }
            _ => ErrorKind::PeerRefused,
        }
    }

    pub(crate) fn decode(reason: impl Into<String>) -> Self {
        Self::Decode { reason: reason.into() }
    }
}

macro_rules! storage_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ChannelError {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}
storage_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
    serde_json::Error
);

/// `Result` with [`ChannelError`].
pub type Result<T, E = ChannelError> = std::result::Result<T, E>;
