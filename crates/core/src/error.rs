//! The error type of `ply-core`.

/// Errors raised by the core types.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A development account index outside the ten accounts of the test mnemonic.
    #[error("dev account {index} does not exist: the test mnemonic provides accounts 0 to {max}")]
    NoSuchDevAccount {
        /// The requested index.
        index: usize,
        /// The highest valid index.
        max: usize,
    },
    /// A private key that is not a valid secp256k1 scalar.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// A signature that is not canonical (see [`crate::signature::check_canonical`]).
    #[error("bad signature: {reason}")]
    NonCanonicalSignature {
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
