//! The error type of `ply-rollup`.

/// Errors of the rollup nodes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transaction the ledger refuses (bad signature, nonce, balance, token, ...).
    #[error(transparent)]
    Ledger(#[from] ply_ledger::LedgerError),
    /// A batch that cannot be encoded or decoded.
    #[error(transparent)]
    Batch(#[from] crate::batch::BatchError),
    /// The L1 failed or refused something.
    #[error(transparent)]
    L1(#[from] ply_l1::Error),
    /// A node's database (the sequencer's journal) failed or holds data this version cannot
    /// read.
    #[error("database: {0}")]
    Storage(String),
    /// The node is shutting down.
    #[error("the sequencer has stopped")]
    Stopped,
    /// Inconsistent L1 data or configuration.
    #[error("{0}")]
    Invalid(String),
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
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
    serde_json::Error
);

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
