//! The error type of `ply-ledger`.

use crate::{AccountIndex, TokenId};
use ply_core::{Address, U256};

/// Everything the ledger refuses, each with a sentence that carries the numbers.
///
/// A refused deposit or transaction leaves the ledger exactly as it was: callers can skip the
/// offending item and go on (the derivation rules in `docs/rollup.md` do exactly that).
/// [`LedgerError::is_invalid_transaction`] tells those apart from errors of the caller's own
/// making (a bad configuration, a malformed snapshot, a position outside a tree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The signature is malformed, not canonical (high `s`) or recovers no key.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// The signature is valid but was made by another key than the sender's.
    #[error("the transaction is signed by {signer}, not by its sender {from}")]
    SignerMismatch {
        /// The address the signature recovers to.
        signer: Address,
        /// The `from` field of the transaction.
        from: Address,
    },
    /// Signing failed (the key could not sign the hash).
    #[error("signing failed: {reason}")]
    SigningFailed {
        /// The signer's own message.
        reason: String,
    },
    /// The sender has no account on the ledger.
    #[error("no account has the address {address}: it must receive a deposit or a transfer first")]
    UnknownAccount {
        /// The address that has no account.
        address: Address,
    },
    /// No account sits at this index yet.
    #[error("no account has index {index}: the ledger has {count} accounts")]
    NoSuchAccount {
        /// The requested index.
        index: AccountIndex,
        /// How many accounts exist (valid indices are `0..count`).
        count: u64,
    },
    /// The nonce was already used: a replay.
    #[error(
        "nonce {nonce} is below the account's next nonce {expected}: the transaction was already applied or replaced"
    )]
    NonceTooLow {
        /// The transaction's nonce.
        nonce: u64,
        /// The sender account's current nonce.
        expected: u64,
    },
    /// The nonce skips ahead of the account's next nonce.
    #[error("nonce {nonce} leaves a gap: the account's next nonce is {expected}")]
    NonceGap {
        /// The transaction's nonce.
        nonce: u64,
        /// The sender account's current nonce.
        expected: u64,
    },
    /// The sender's nonce cannot be incremented any more.
    #[error("account {address} has used all 2^64 nonces")]
    NonceExhausted {
        /// The sender.
        address: Address,
    },
    /// The sender cannot pay `amount + fee`.
    #[error(
        "insufficient balance of token {token} in {address}: have {have}, need {need} (amount plus fee)"
    )]
    InsufficientBalance {
        /// The sender.
        address: Address,
        /// The token.
        token: TokenId,
        /// The sender's balance.
        have: U256,
        /// `amount + fee` (saturated at `U256::MAX` when the sum does not fit).
        need: U256,
    },
    /// No deposit of the token was ever applied, so the ledger does not know it.
    #[error("token {token} is unknown to the ledger: no deposit of it has been applied")]
    UnknownToken {
        /// The token id.
        token: TokenId,
    },
    /// A deposit's token id does not fit in the balance tree.
    #[error(
        "token {token} does not fit in a balance tree of depth {token_depth} (largest token id {max})"
    )]
    TokenOutOfRange {
        /// The token id.
        token: TokenId,
        /// The balance tree depth.
        token_depth: usize,
        /// The largest token id that fits.
        max: u64,
    },
    /// A credit would raise a balance above [`MAX_BALANCE`](crate::MAX_BALANCE).
    #[error(
        "crediting {amount} of token {token} to {address} would raise its balance {balance} above the maximum 2^128 - 1"
    )]
    BalanceOverflow {
        /// The account credited.
        address: Address,
        /// The token.
        token: TokenId,
        /// Its balance before the credit.
        balance: U256,
        /// The credit.
        amount: U256,
    },
    /// Every account position of the state tree is taken.
    #[error("the state tree is full: all {capacity} account positions are taken")]
    TreeFull {
        /// The number of accounts the tree holds.
        capacity: u64,
    },
    /// The batch already has as many withdrawals as its withdrawal tree holds.
    #[error(
        "the batch already has {capacity} withdrawals, all its withdrawal tree holds: end the batch first"
    )]
    WithdrawalTreeFull {
        /// The capacity of the withdrawal tree.
        capacity: u64,
    },
    /// A position outside a tree.
    #[error(
        "index {index} is out of range for a tree of depth {depth} (positions 0 to 2^{depth} - 1)"
    )]
    IndexOutOfRange {
        /// The requested position.
        index: u64,
        /// The tree's depth.
        depth: usize,
    },
    /// A deposit offered out of L1 queue order.
    #[error("deposit {queue_index} is out of queue order: the next deposit to apply is {expected}")]
    DepositOutOfOrder {
        /// The deposit's queue index.
        queue_index: u64,
        /// The queue index the ledger expects next.
        expected: u64,
    },
    /// A priority operation of a kind the rules do not know.
    #[error(
        "priority operation kind {kind} is unknown: 0 deposit, 1 forced transfer, 2 forced withdrawal"
    )]
    UnknownOpKind {
        /// The kind byte.
        kind: u8,
    },
    /// An L2 block whose timestamp is below the last block's.
    #[error(
        "block timestamp {timestamp} is below the last block's {last}: timestamps never decrease"
    )]
    TimestampDecreases {
        /// The block's timestamp.
        timestamp: u64,
        /// The last block's timestamp.
        last: u64,
    },
    /// A tree depth the ledger does not support.
    #[error("invalid tree depth {depth} for the {tree}: it must be between 1 and {max}")]
    InvalidDepth {
        /// Which tree.
        tree: &'static str,
        /// The requested depth.
        depth: usize,
        /// The largest depth supported.
        max: usize,
    },
    /// A tree depth that is not whole node levels of the hasher's arity (or a hasher whose
    /// arity the trees do not support).
    #[error(
        "tree depth {depth} does not suit the {hasher} trees: a node level takes {arity_bits} bits of an index (1 or 2 supported), so the depth must be a multiple of it"
    )]
    UnalignedDepth {
        /// The requested depth.
        depth: usize,
        /// The hasher's name.
        hasher: &'static str,
        /// Its `ARITY_BITS`.
        arity_bits: usize,
    },
    /// A Merkle proof whose sibling count is not whole node levels.
    #[error("malformed Merkle proof: {siblings} siblings, not a multiple of {per_level} a level")]
    MalformedProof {
        /// The number of siblings given.
        siblings: usize,
        /// The siblings a node level has.
        per_level: usize,
    },
    /// A snapshot that does not describe a consistent ledger.
    #[error("invalid ledger snapshot: {reason}")]
    InvalidSnapshot {
        /// What is inconsistent.
        reason: String,
    },
}

impl LedgerError {
    /// Whether the error condemns a transaction or deposit (bad signature, nonce, balance,
    /// token, overflow, full tree), as opposed to a mistake of the caller (an index outside a
    /// tree, a deposit out of queue order, a bad configuration or snapshot).
    ///
    /// A node deriving a batch skips and reports the former; the latter are bugs in the node.
    pub fn is_invalid_transaction(&self) -> bool {
        matches!(
            self,
            Self::BadSignature { .. }
                | Self::SignerMismatch { .. }
                | Self::UnknownAccount { .. }
                | Self::NonceTooLow { .. }
                | Self::NonceGap { .. }
                | Self::NonceExhausted { .. }
                | Self::InsufficientBalance { .. }
                | Self::UnknownToken { .. }
                | Self::TokenOutOfRange { .. }
                | Self::BalanceOverflow { .. }
                | Self::TreeFull { .. }
                | Self::WithdrawalTreeFull { .. }
                | Self::UnknownOpKind { .. }
        )
    }
}

/// `Result` with [`LedgerError`].
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
