//! The zk family of ply: the zk-friendly primitives of the zk rollup and validium, natively and
//! in-circuit (arkworks R1CS over the BN254 scalar field [`Fr`]).
//!
//! - [`mod@poseidon`]: Poseidon with circom's parameters, so that hashes and proofs interoperate
//!   with circomlib and its tools; the gadget is [`poseidon::constraints::poseidon_var`].
//! - [`PoseidonHasher`]: the ledger's [`TreeHasher`](ply_ledger::TreeHasher) over Poseidon,
//!   with quaternary trees: the zk family's account and balance trees
//!   ([`circuit::ZkState`]) are the ledger's `SparseMerkleTree<PoseidonHasher>`.
//! - [`babyjubjub`] and [`eddsa`]: EdDSA over BabyJubjub with Poseidon, as circomlib's
//!   `eddsaposeidon`, with the L2 key derived from the user's Ethereum key
//!   ([`eddsa::SecretKey::from_ethereum_signer`]) so that a user keeps one key.
//!
//! Every gadget has a native twin, and the tests check them against each other and check that
//! a wrong witness leaves the constraint system unsatisfied.
//!
//! # Poseidon tree digests
//!
//! [`PoseidonHasher`] writes every digest as the 32-byte big-endian encoding of a field
//! element:
//!
//! | function | definition |
//! |---|---|
//! | `hash_children([a, b, c, d])` | `poseidon([a, b, c, d])`: the trees are quaternary |
//! | `balance_leaf(amount)` | `amount` as a field element (no hash; amounts are below 2¹²⁸) |
//! | `hash_account(address, nonce, balances_root)` | `poseidon([address, nonce, balances_root])`, the address read as a 160-bit big-endian integer |

pub mod babyjubjub;
pub mod circuit;
pub mod dac;
pub mod eddsa;
mod error;
mod field;
pub mod groth16;
mod hasher;
pub mod node;
pub mod poseidon;
pub mod verifier;

pub use error::{Result, ZkError};
pub use field::{Fr, fr_from_address, fr_from_b256, fr_from_u256, fr_to_b256};
pub use hasher::PoseidonHasher;
pub use poseidon::{poseidon, try_poseidon};
