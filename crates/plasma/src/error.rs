//! The error type of `ply-plasma`.

use alloy::primitives::{Address, U256};

use crate::UtxoPos;

/// Everything the plasma core refuses, each with a sentence that carries the numbers.
///
/// A refused transaction or deposit leaves the [`ChainState`](crate::ChainState) exactly as it
/// was. [`Error::kind`] tells a loop what to do: drop the offending input and go on
/// ([`ErrorKind::Invalid`]) or stop, because the caller itself is wrong ([`ErrorKind::Internal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not the canonical encoding of a valid version-1 transaction.
    #[error("malformed transaction: {reason} (docs/plasma.md, \"Transactions\")")]
    Malformed {
        /// What is wrong, in the contract's words (`"length"`, `"version"`, ...).
        reason: &'static str,
    },
    /// A number is not a UTXO position (`blknum >= 1`, `txindex < 2^16`, `oindex < 4`, at most
    /// `2^64 - 1`).
    #[error("{position} is not a UTXO position (blknum >= 1, txindex < 65536, oindex < 4)")]
    InvalidPosition {
        /// The number.
        position: u128,
    },
    /// An inclusion proof is not 16 hashes (512 bytes).
    #[error("an inclusion proof is 512 bytes, not {length}")]
    MalformedProof {
        /// Its length in bytes.
        length: usize,
    },
    /// A signature is not 65 bytes `r ‖ s ‖ v` with `v` 27 or 28 and low `s`, or recovers no key.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// Signing failed.
    #[error("signing failed: {reason}")]
    SigningFailed {
        /// The signer's message.
        reason: String,
    },
    /// A transaction carries another number of signatures than inputs.
    #[error("the transaction has {inputs} inputs but {signatures} signatures (one per input)")]
    SignatureCount {
        /// Its inputs.
        inputs: usize,
        /// Its signatures.
        signatures: usize,
    },
    /// A payment has no inputs (only a deposit or the operator's fee transaction has none).
    #[error("a payment must spend at least one input")]
    NoInputs,
    /// An input does not exist on the child chain.
    #[error("input {position} does not exist")]
    UnknownInput {
        /// The input.
        position: UtxoPos,
    },
    /// An input was spent already.
    #[error("input {position} is spent already")]
    SpentInput {
        /// The input.
        position: UtxoPos,
    },
    /// An input's signature is not its owner's.
    #[error("input {index} ({position}) belongs to {owner} but is signed by {signer}")]
    WrongSigner {
        /// The input's index in the transaction.
        index: usize,
        /// Its position.
        position: UtxoPos,
        /// Who signed.
        signer: Address,
        /// Who owns it.
        owner: Address,
    },
    /// Per token, the outputs exceed the inputs.
    #[error("token {token}: the outputs ({outputs}) exceed the inputs ({inputs})")]
    AmountsDoNotAddUp {
        /// The token (the zero address for ETH).
        token: Address,
        /// The inputs' sum.
        inputs: U256,
        /// The outputs' sum.
        outputs: U256,
    },
    /// A sum of amounts overflows 256 bits.
    #[error("a sum of amounts of token {token} overflows 256 bits")]
    Overflow {
        /// The token.
        token: Address,
    },
    /// The block holds 65,536 transactions already (the leaves of a depth-16 tree).
    #[error("the block is full: {max} transactions")]
    BlockFull {
        /// The most a block holds.
        max: usize,
    },
    /// A deposit that cannot be applied.
    #[error("deposit in block {blknum} refused: {reason}")]
    InvalidDeposit {
        /// Its deposit block.
        blknum: u64,
        /// Why.
        reason: &'static str,
    },
    /// Transaction `index` of a block under replay is invalid.
    #[error("transaction {index} of block {blknum} is invalid: {source}")]
    InvalidBlockTransaction {
        /// The block.
        blknum: u64,
        /// The transaction's index in it.
        index: usize,
        /// Why it is invalid.
        source: Box<Error>,
    },
    /// A block's fee transactions are not exactly the fees of its payments, or a payment comes
    /// after a fee transaction.
    #[error("block {blknum}: the fee transactions are not the block's fees ({reason})")]
    FeeMismatch {
        /// The block.
        blknum: u64,
        /// What differs.
        reason: &'static str,
    },
    /// A block under replay is not the next one.
    #[error("block {got} is not the next block {expected}")]
    UnexpectedBlock {
        /// The next block's number.
        expected: u64,
        /// The number given.
        got: u64,
    },
    /// A block is replayed while payments wait in the open block.
    #[error("the open block holds {pending} payments: seal it before replaying another block")]
    OpenBlockNotEmpty {
        /// The payments waiting.
        pending: usize,
    },
    /// An index beyond a block's transactions.
    #[error("no transaction {index} in a block of {len}")]
    NoSuchTransaction {
        /// The index.
        index: usize,
        /// The block's length.
        len: usize,
    },
}

/// What a loop does with an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input from outside (a user's transaction, a proof, a deposit event): refuse it and
    /// go on; the state is unchanged.
    Invalid,
    /// The caller's own mistake or a failed key: stop and look.
    Internal,
}

impl Error {
    /// What a loop should do with this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::SigningFailed { .. }
            | Self::NoSuchTransaction { .. }
            | Self::UnexpectedBlock { .. }
            | Self::OpenBlockNotEmpty { .. } => ErrorKind::Internal,
            _ => ErrorKind::Invalid,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
