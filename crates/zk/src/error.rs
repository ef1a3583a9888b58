//! The error type of the zk crate.

/// What went wrong in the zk primitives.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    /// Poseidon was asked to hash a number of inputs it has no parameters for.
    #[error(
        "Poseidon takes 1 to {max} inputs (widths 2 to {}), got {got}: split the input or hash it in a tree",
        max + 1
    )]
    PoseidonArity {
        /// The number of inputs given.
        got: usize,
        /// The largest number of inputs supported.
        max: usize,
    },
    /// 32 bytes that are not the big-endian encoding of a BN254 scalar field element.
    #[error("{0} is not below the BN254 scalar field modulus, so it is not a field element")]
    NotAFieldElement(ply_core::B256),
    /// A BabyJubjub point that is not on the curve.
    #[error("the point ({x}, {y}) is not on the BabyJubjub curve")]
    NotOnCurve {
        /// The x coordinate, in decimal.
        x: String,
        /// The y coordinate, in decimal.
        y: String,
    },
    /// The Ethereum signer could not sign the key derivation message.
    #[error("the Ethereum key could not sign the zk key derivation message: {0}")]
    EthereumSigner(#[from] alloy::signers::Error),
}

/// The result type of the zk crate.
pub type Result<T, E = ZkError> = std::result::Result<T, E>;
