//! The error type of `ply-l1`.

use alloy::primitives::{Address, B256, Bytes, U256};

/// Why the L1 refused a transaction before executing it. Every variant carries the numbers a
/// user needs to fix the transaction; the chain is untouched when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxRejection {
    /// The bytes are not a valid EIP-2718 transaction envelope.
    #[error("transaction could not be decoded: {0}")]
    Undecodable(String),
    /// The signature does not recover to a public key (or has a high `s`).
    #[error("invalid transaction signature: {0}")]
    BadSignature(String),
    /// The transaction was signed for another chain.
    #[error("invalid chain id: transaction is for chain {got}, this chain is {expected}")]
    WrongChainId {
        /// The chain id of this chain.
        expected: u64,
        /// The chain id in the transaction.
        got: u64,
    },
    /// The nonce was already used by this account.
    #[error(
        "nonce too low: account {sender} has next nonce {expected}, transaction has nonce {got}"
    )]
    NonceTooLow {
        /// The sender.
        sender: Address,
        /// The next nonce the account can use.
        expected: u64,
        /// The nonce of the transaction.
        got: u64,
    },
    /// The nonce leaves a gap larger than the pool queues.
    #[error(
        "nonce too high: account {sender} has next nonce {expected}, transaction has nonce {got} \
         (at most {max_gap} ahead are queued)"
    )]
    NonceTooHigh {
        /// The sender.
        sender: Address,
        /// The next nonce the account can use.
        expected: u64,
        /// The nonce of the transaction.
        got: u64,
        /// How far ahead of the account nonce the pool accepts.
        max_gap: u64,
    },
    /// The sender cannot pay `gas_limit * max_fee + value`.
    #[error(
        "insufficient funds for gas * price + value: account {sender} has {balance} wei, the transaction may cost {cost} wei"
    )]
    InsufficientFunds {
        /// The sender.
        sender: Address,
        /// The sender's balance.
        balance: U256,
        /// The most the transaction can cost.
        cost: U256,
    },
    /// The gas limit is above what a block (or, since Osaka, a transaction) may use.
    #[error("transaction gas limit {gas_limit} exceeds the {what} of {limit}")]
    GasLimitTooHigh {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The limit it exceeds.
        limit: u64,
        /// Which limit: "block gas limit" or "per-transaction gas cap".
        what: &'static str,
    },
    /// The gas limit is below the intrinsic gas of the transaction.
    #[error(
        "intrinsic gas too low: the transaction needs at least {needed} gas, its limit is {gas_limit}"
    )]
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The intrinsic gas (or calldata floor) it needs.
        needed: u64,
    },
    /// The fee cap is below the base fee of the block it would go into.
    #[error("max fee per gas {max_fee} is below the block base fee {base_fee}")]
    FeeCapTooLow {
        /// The transaction's max fee per gas.
        max_fee: u128,
        /// The base fee of the next block.
        base_fee: u64,
    },
    /// A transaction with the same sender and nonce is pooled and this one does not pay enough
    /// more to replace it.
    #[error(
        "replacement transaction underpriced: a pooled transaction of {sender} with nonce {nonce} pays more or nearly as much"
    )]
    ReplacementUnderpriced {
        /// The sender.
        sender: Address,
        /// The contended nonce.
        nonce: u64,
    },
    /// The transaction is already in the pool.
    #[error("transaction {0} is already known")]
    AlreadyKnown(B256),
    /// A transaction type this chain does not accept.
    #[error("unsupported transaction type: {0}")]
    UnsupportedType(String),
    /// The tip is above the fee cap.
    #[error("max priority fee per gas {tip} is higher than max fee per gas {max_fee}")]
    TipAboveFeeCap {
        /// The transaction's max priority fee per gas.
        tip: u128,
        /// The transaction's max fee per gas.
        max_fee: u128,
    },
    /// A contract creation whose init code is larger than EIP-3860 allows.
    #[error("initcode size {size} exceeds the limit of {max} bytes (EIP-3860)")]
    InitCodeTooLarge {
        /// The size of the init code.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The EVM refused the transaction at execution time.
    #[error("transaction rejected by the EVM: {0}")]
    Invalid(String),
}

/// Errors of the L1 layer: the embedded chain, its RPC server and the L1 clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transaction was refused before execution.
    #[error(transparent)]
    Rejected(#[from] TxRejection),
    /// A call or gas estimation reverted; `data` holds the revert payload (custom errors included).
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// The revert payload returned by the contract.
        data: Bytes,
        /// The decoded `Error(string)` reason, if the payload is one.
        reason: Option<String>,
    },
    /// A call halted (out of gas, invalid opcode, ...).
    #[error("execution halted: {0}")]
    Halted(String),
    /// A block tag or number that does not exist (yet).
    #[error("unknown block: {0}")]
    UnknownBlock(String),
    /// A request that is not valid in itself (bad range, bad filter, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A block the caller had taken as confirmed is no longer in the chain (a reorg deeper
    /// than the confirmation depth, or `evm_revert` on a dev chain).
    #[error(
        "reorg: confirmed block {number} ({hash}) is no longer in the L1 chain; following again \
         from block {resume_from}"
    )]
    Reorg {
        /// The confirmed block that disappeared.
        number: u64,
        /// Its hash.
        hash: B256,
        /// The first block to process again.
        resume_from: u64,
    },
    /// A snapshot id that does not exist.
    #[error("unknown snapshot {0}")]
    UnknownSnapshot(U256),
    /// The on-disk chain database failed or holds data this version cannot read.
    #[error("chain database: {0}")]
    Storage(String),
    /// A transaction was not mined before the deadline.
    #[error("transaction {hash} was not mined within {waited_secs} s")]
    Timeout {
        /// The transaction.
        hash: B256,
        /// How long we waited.
        waited_secs: u64,
    },
    /// An error from a remote Ethereum node or the transport to it.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// Signing a transaction failed.
    #[error("signing: {0}")]
    Signing(String),
    /// A failure inside the EVM that is not the transaction's fault.
    #[error("EVM: {0}")]
    Evm(String),
}

impl Error {
    /// Builds a [`Error::Reverted`] from a revert payload, decoding an `Error(string)` reason.
    pub fn reverted(data: Bytes) -> Self {
        use alloy::sol_types::{Revert, SolError};
        let reason = Revert::abi_decode(&data).ok().map(|r| r.reason);
        Self::Reverted { data, reason }
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

macro_rules! storage_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}
storage_error_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
