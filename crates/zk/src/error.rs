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
    /// Batch data that a DAC member does not store, or that does not match its hash.
    #[error("batch data refused: {0}")]
    DacData(String),
    /// A DAC member's database failed.
    #[error("DAC store: {0}")]
    DacStorage(String),
    /// A DAC member that could not be reached, or whose answer does not check out.
    #[error("DAC member {member}: {reason}")]
    DacMember {
        /// The member (its address, or its URL when the address is unknown).
        member: String,
        /// What went wrong.
        reason: String,
    },
    /// Fewer valid committee signatures than the threshold.
    #[error("only {got} of the {threshold} DAC signatures needed were collected: {failures}")]
    DacQuorum {
        /// Valid signatures collected.
        got: usize,
        /// Signatures needed.
        threshold: usize,
        /// Why the other members gave none.
        failures: String,
    },
    /// A DAC member's server could not start or sign.
    #[error("DAC member server: {0}")]
    DacServer(String),
    /// A verifier contract could not be made for a key.
    #[error("verifier: {0}")]
    Verifier(String),
    /// The operator's log.
    #[error("operator store: {0}")]
    NodeStorage(String),
    /// The L1 refused or could not serve what the zk node asked.
    #[error("L1: {0}")]
    L1(#[from] ply_l1::Error),
    /// A batch could not be built.
    #[error(transparent)]
    Circuit(#[from] crate::circuit::CircuitError),
    /// The zk node or its L1 contract is in a state that does not allow this.
    #[error("{0}")]
    Node(String),
    /// Groth16 setup, keys or proving.
    #[error(transparent)]
    Groth16(#[from] crate::groth16::Groth16Error),
}

/// The result type of the zk crate.
pub type Result<T, E = ZkError> = std::result::Result<T, E>;
