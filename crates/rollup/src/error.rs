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
    /// The node's records and L1 disagree in a way that rebuilding the records from L1 repairs
    /// (the batcher's view is behind L1, a receipt was not there yet).
    #[error("{0}")]
    Diverged(String),
}

impl ply_node::Classify for Error {
    fn kind(&self) -> ply_node::ErrorKind {
        use ply_node::ErrorKind;
        match self {
            Self::L1(e) => ply_node::l1_error_kind(e),
            Self::Diverged(_) => ErrorKind::Reset,
            Self::Ledger(_)
            | Self::Batch(_)
            | Self::Storage(_)
            | Self::Stopped
            | Self::Invalid(_) => ErrorKind::Critical,
        }
    }

    fn is_shutdown(&self) -> bool {
        matches!(self, Self::Stopped)
    }
}

impl From<ply_node::Error> for Error {
    fn from(e: ply_node::Error) -> Self {
        match e {
            ply_node::Error::L1(e) => Self::L1(e),
            ply_node::Error::Storage(m) => Self::Storage(m),
            ply_node::Error::Queue(m) => Self::Invalid(m),
            ply_node::Error::Stopped => Self::Stopped,
            other => Self::Invalid(other.to_string()),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
