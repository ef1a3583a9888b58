//! The error type of `ply-node`, and the [`ErrorKind`] that every loop of the pipeline acts on.

/// What a loop does with an error (kona's `PipelineErrorKind`): the cause is the error, the
/// handling is its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The world failed for now (an L1 that did not answer, a transaction that timed out):
    /// retry the same work after a pause that grows ([`Backoff`](crate::Backoff)).
    Temporary,
    /// The records and L1 disagree, or L1 reorganised under what was derived: rebuild from L1
    /// (the batcher reconciles, the derivation starts again from its start block), at once.
    Reset,
    /// Retrying cannot help (a database that cannot be written, data no honest party makes, a
    /// node shutting down): stop the loop and say why.
    Critical,
}

/// An error that tells a loop what to do with it. Every crate's error enum that reaches a
/// loop of this crate implements it.
pub trait Classify: std::fmt::Display {
    /// What the loop does with this error.
    fn kind(&self) -> ErrorKind;

    /// Whether the error only says that the node is shutting down: a loop that meets it ends
    /// quietly instead of reporting a failure.
    fn is_shutdown(&self) -> bool {
        false
    }
}

/// The kind of an L1 error: a reorg asks for a rebuild, an L1 that cannot be reached, a block
/// not there yet, a refused or reverted transaction and a timeout may pass, and the rest (a
/// local chain database or signer that fails, an EVM fault) do not.
pub fn l1_error_kind(error: &ply_l1::Error) -> ErrorKind {
    use ply_l1::Error as L1;
    match error {
        L1::Reorg { .. } => ErrorKind::Reset,
        L1::Storage(_) | L1::Signing(_) | L1::Evm(_) => ErrorKind::Critical,
        _ => ErrorKind::Temporary,
    }
}

impl Classify for ply_l1::Error {
    fn kind(&self) -> ErrorKind {
        l1_error_kind(self)
    }
}

/// Errors of the pipeline itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The L1 failed or refused something.
    #[error(transparent)]
    L1(#[from] ply_l1::Error),
    /// A journal failed, or holds data this version cannot read.
    #[error("database: {0}")]
    Storage(String),
    /// A queued operation read from L1 does not follow on from those delivered before (a gap,
    /// or an operation the L2 already took replaced by a reorg deeper than the confirmation
    /// depth).
    #[error("L1 queue: {0}")]
    Queue(String),
    /// The task behind a handle has stopped.
    #[error("the node has stopped")]
    Stopped,
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::L1(e) => l1_error_kind(e),
            Self::Storage(_) | Self::Queue(_) | Self::Stopped => ErrorKind::Critical,
        }
    }

    fn is_shutdown(&self) -> bool {
        matches!(self, Self::Stopped)
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
