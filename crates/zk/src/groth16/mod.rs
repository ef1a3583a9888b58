//! Groth16 over BN254 for any arkworks circuit: a development setup, proving (one proof or
//! many in parallel, with progress), native verification, keys cached on disk and checked by
//! hash, and the proof encoding of the EVM's BN254 precompiles.
//!
//! # The development setup is not a ceremony
//!
//! [`dev_setup`] draws the toxic waste (τ, α, β, γ, δ) from a PRNG seeded with a number that
//! anyone can read. Whoever knows the seed can forge proofs of false statements, so keys from
//! it are **insecure for production**: a rollup verified with them can be drained by anyone.
//! They exist so that tests, the devnet and benchmarks need no ceremony. For real deployments,
//! run a multi-party ceremony elsewhere and load its keys with [`load_keys`].
//!
//! # Flow
//!
//! ```
//! use ark_std::rand::{SeedableRng, rngs::StdRng};
//! use ply_zk::groth16::{self, CubeCircuit};
//!
//! let (pk, vk) = groth16::dev_setup(CubeCircuit::shape(), 42).unwrap();
//! let circuit = CubeCircuit::new(3u64.into()); // 3³ + 3 + 5 = 35
//! let public_inputs = circuit.public_inputs();
//! let proof = groth16::prove(&pk, circuit, &mut StdRng::seed_from_u64(1)).unwrap();
//! assert!(groth16::verify(&vk, &public_inputs, &proof));
//! ```
//!
//! The proving randomness (`r`, `s`) hides the witness: in production pass a cryptographically
//! secure RNG seeded from the operating system, not a fixed seed.

mod evm;
mod keys;
mod matrices;
mod prove;
mod toy;

pub use evm::{
    EvmProof, encode_fr, encode_g1, encode_g2, encode_proof, encode_public_inputs, g1_to_words,
    g2_to_words,
};
pub use keys::{KeyManifest, KeyStore, Keys, load_keys};
pub use matrices::ConstraintMatrices;
pub use prove::{ProveProgress, os_rng, prove, prove_many, prove_with, report_progress_to_stderr};
pub use toy::CubeCircuit;

use crate::Fr;
use alloy::primitives::B256;
use ark_bn254::Bn254;
use ark_relations::gr1cs::{ConstraintSynthesizer, SynthesisError};
use ark_std::rand::{SeedableRng, rngs::StdRng};
use std::path::PathBuf;

/// A Groth16 proving key over BN254.
pub type ProvingKey = ark_groth16::ProvingKey<Bn254>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bn254>;
/// A Groth16 proof over BN254: `A` and `C` in G1, `B` in G2.
pub type Proof = ark_groth16::Proof<Bn254>;

/// The Groth16 engine ply uses: BN254 with arkworks' libsnark R1CS-to-QAP reduction.
type Engine = ark_groth16::Groth16<Bn254>;

/// What went wrong in setup, proving or key handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Groth16Error {
    /// The circuit could not be synthesized.
    #[error("the circuit could not be synthesized: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The witness does not satisfy the circuit, so no valid proof exists.
    #[error(
        "the witness does not satisfy the circuit (first unsatisfied constraint: {constraint}); \
         fix the witness: a proof of it would not verify"
    )]
    Unsatisfied {
        /// The first unsatisfied constraint: its row in the constraint matrices (a circuit
        /// that maps rows to its parts names the part itself, as the batch circuit's
        /// `check` does).
        constraint: String,
    },
    /// A key file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file's bytes do not hash to the digest its manifest records: the file is
    /// corrupt or was replaced.
    #[error(
        "{path} hashes to {found}, but its manifest records {expected}: the file is corrupt or was \
         replaced; delete the key files of this circuit to run the setup again"
    )]
    HashMismatch {
        /// The key file.
        path: PathBuf,
        /// The digest in the manifest.
        expected: B256,
        /// The digest of the file.
        found: B256,
    },
    /// A key file is not a valid arkworks serialization of a BN254 Groth16 key.
    #[error("{path} is not a valid BN254 Groth16 key: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A manifest could not be parsed or has an unsupported version.
    #[error("{path} is not a valid key manifest: {reason}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// Cached keys were made for a different circuit than the one given.
    #[error(
        "the keys in {path} were made for a different circuit ({cached}) than the one given \
         ({given}); delete them to run the setup again, or point to the right directory"
    )]
    ShapeMismatch {
        /// The manifest of the cached keys.
        path: PathBuf,
        /// The shape recorded with the keys.
        cached: Box<CircuitShape>,
        /// The shape of the circuit given.
        given: Box<CircuitShape>,
    },
    /// A proving key and a verifying key that do not belong together.
    #[error("the verifying key in {vk_path} is not the one inside the proving key in {pk_path}")]
    KeyPairMismatch {
        /// The proving key file.
        pk_path: PathBuf,
        /// The verifying key file.
        vk_path: PathBuf,
    },
    /// A proving key made for another circuit.
    #[error(
        "the proving key is for a circuit with {key_inputs} public inputs and {key_variables} \
         variables, but this circuit has {circuit_inputs} and {circuit_variables}: load the keys \
         made for this circuit"
    )]
    WrongProvingKey {
        /// The public inputs of the key's circuit.
        key_inputs: usize,
        /// The variables of the key's circuit (the constant 1, inputs and witnesses).
        key_variables: usize,
        /// The public inputs of the circuit given.
        circuit_inputs: usize,
        /// The variables of the circuit given.
        circuit_variables: usize,
    },
    /// Constraint matrices built from another circuit than the one being proven.
    #[error(
        "the constraint matrices are of a circuit with {shape}, but this circuit has \
         {circuit_inputs} public inputs and {circuit_witnesses} witnesses"
    )]
    WrongMatrices {
        /// The public inputs of the circuit given.
        circuit_inputs: usize,
        /// The witnesses of the circuit given.
        circuit_witnesses: usize,
        /// The shape the matrices were built from.
        shape: Box<CircuitShape>,
    },
    /// A proving thread panicked.
    #[error("the thread proving circuit {index} panicked")]
    ProverPanicked {
        /// The index of the circuit in the batch given to [`prove_many`].
        index: usize,
    },
}

/// The result type of the [`groth16`](self) module.
pub type Result<T, E = Groth16Error> = std::result::Result<T, E>;

/// The size and identity of a circuit's constraint system, independent of the witness: what
/// keys are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitShape {
    /// The number of R1CS constraints.
    pub constraints: usize,
    /// The number of public inputs (instance variables other than the constant 1).
    pub public_inputs: usize,
    /// The number of witness (private) variables.
    pub witnesses: usize,
    /// Keccak-256 of the constraint matrices (every entry's coefficient and column, in
    /// order): two circuits with the same fingerprint have the same constraints.
    pub fingerprint: B256,
}

impl std::fmt::Display for CircuitShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} constraints, {} public inputs, {} witnesses, fingerprint {}",
            self.constraints, self.public_inputs, self.witnesses, self.fingerprint
        )
    }
}

impl CircuitShape {
    /// Synthesizes `circuit` in setup mode (no witness needed) and measures it, as the
    /// Groth16 generator sees it.
    pub fn of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self> {
        Ok(*ConstraintMatrices::of(circuit)?.shape())
    }
}

/// **Development setup, NOT a ceremony — insecure for production.** Generates Groth16 keys
/// for `circuit` (its witness values are not used: any assignment of the right shape will do)
/// with the toxic waste drawn from [`StdRng`] (rand 0.8's ChaCha12) seeded with `seed`.
///
/// Anyone who knows `seed` can recompute the toxic waste and forge proofs: use these keys for
/// tests, the devnet and benchmarks only, and [`load_keys`] for keys from a real ceremony.
/// The same circuit and seed give the same keys, so a verifier contract generated from them
/// can be checked in and checked for staleness.
pub fn dev_setup<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    seed: u64,
) -> Result<(ProvingKey, VerifyingKey)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let pk = Engine::generate_random_parameters_with_reduction(circuit, &mut rng)?;
    let vk = pk.vk.clone();
    Ok((pk, vk))
}

/// Whether `proof` proves the statement with `public_inputs` under `vk`.
///
/// A wrong number of public inputs is `false` (arkworks would otherwise ignore the extra
/// ones, or treat the missing ones as zero).
pub fn verify(vk: &VerifyingKey, public_inputs: &[Fr], proof: &Proof) -> bool {
    if public_inputs.len() + 1 != vk.gamma_abc_g1.len() {
        return false;
    }
    let pvk = ark_groth16::prepare_verifying_key(vk);
    Engine::verify_proof(&pvk, proof, public_inputs).unwrap_or(false)
}
