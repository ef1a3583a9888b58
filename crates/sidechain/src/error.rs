//! The error type of `ply-sidechain`.

use alloy::primitives::Address;

/// What a caller does about an [`Error`]: the loops of a node act on this, not on the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (a message, a signature, a proof, a block) is invalid: drop it and go on.
    Invalid,
    /// The caller or the configuration is wrong: stop and report.
    Internal,
}

/// Everything `ply-sidechain` refuses, each with a sentence that carries the numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A signature is not 65 bytes `r ‖ s ‖ v` with `v` 27 or 28 and a canonical (low) `s`, or
    /// it recovers no key.
    #[error("bad signature {index}: {reason}")]
    BadSignature {
        /// Its position in the signature list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature list is empty or not a multiple of 65 bytes.
    #[error("a signature list is a non-empty multiple of 65 bytes, not {length}")]
    MalformedSignatures {
        /// Its length in bytes.
        length: usize,
    },
    /// A signer is not in the validator set of the epoch.
    #[error("{signer} is not a validator of epoch {epoch}")]
    NotAValidator {
        /// The recovered signer.
        signer: Address,
        /// The set's epoch.
        epoch: u64,
    },
    /// The same signer appears twice.
    #[error("{signer} signed twice")]
    DuplicateSigner {
        /// The signer.
        signer: Address,
    },
    /// Signers are not in strictly ascending order of address.
    #[error("signers are not sorted: {signer} after {previous}")]
    SignersNotSorted {
        /// The signer before.
        previous: Address,
        /// The signer out of order.
        signer: Address,
    },
    /// The signers hold no more than 2/3 of the weight, or less than the threshold.
    #[error(
        "signed weight {signed} of {total} is not above 2/3 and at least {threshold_numerator}/10000"
    )]
    InsufficientWeight {
        /// The signers' weight.
        signed: u128,
        /// The set's total weight.
        total: u128,
        /// The set's threshold in basis points.
        threshold_numerator: u32,
    },
    /// A validator set is not valid: empty, too large, unsorted, a zero address or weight, or a
    /// threshold outside `[6667, 10000]` (the contract's `ValidatorSet` rules).
    #[error("invalid validator set: {reason}")]
    InvalidValidatorSet {
        /// What is wrong with it.
        reason: String,
    },
    /// A withdrawal's index does not fit the depth-16 tree, or is not its position.
    #[error("withdrawal index {index} is not position {expected} of a tree of at most 65536")]
    BadWithdrawalIndex {
        /// The withdrawal's index.
        index: u64,
        /// The position it must have.
        expected: u64,
    },
    /// An inclusion proof is not exactly 16 siblings, or does not lead to the root.
    #[error("invalid withdrawal proof: {reason}")]
    InvalidProof {
        /// What is wrong with it.
        reason: String,
    },
    /// Bytes are not the canonical encoding of a version-1 consensus block.
    #[error("malformed block: {reason}")]
    MalformedBlock {
        /// What is wrong with it.
        reason: String,
    },
    /// Signing failed.
    #[error("signing failed: {reason}")]
    SigningFailed {
        /// The signer's message.
        reason: String,
    },
}

impl Error {
    /// What a loop does about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidValidatorSet { .. } | Error::SigningFailed { .. } => ErrorKind::Internal,
            _ => ErrorKind::Invalid,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
