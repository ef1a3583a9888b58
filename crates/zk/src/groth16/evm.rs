//! Proofs and public inputs in the encoding of the EVM's BN254 precompiles (EIP-196,
//! EIP-197), which is also the calldata layout of the generated verifier's `verifyProof`.
//!
//! - a base field element: 32 bytes, big-endian;
//! - a G1 point: `x ‖ y` (64 bytes); the point at infinity is `(0, 0)`;
//! - a G2 point, with coordinates in Fp2 = Fp\[i\] written `c0 + c1·i`: **imaginary part
//!   first**, `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0` (128 bytes), as EIP-197 specifies; the point at
//!   infinity is all zeros;
//! - a proof: `A ‖ B ‖ C` (256 bytes);
//! - a public input: the scalar field element as 32 bytes, big-endian.

use super::Proof;
use crate::Fr;
use alloy::primitives::U256;
use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};

fn fq_to_u256(value: Fq) -> U256 {
    U256::from_be_slice(&value.into_bigint().to_bytes_be())
}

/// A G1 point as the words `[x, y]` (`[0, 0]` for the point at infinity).
pub fn g1_to_words(point: &G1Affine) -> [U256; 2] {
    match point.xy() {
        Some((x, y)) => [fq_to_u256(x), fq_to_u256(y)],
        None => [U256::ZERO; 2],
    }
}

/// A G2 point as the words `[[x.c1, x.c0], [y.c1, y.c0]]` (imaginary part first, as EIP-197
/// and Solidity verifiers take it; all zeros for the point at infinity).
pub fn g2_to_words(point: &G2Affine) -> [[U256; 2]; 2] {
    match point.xy() {
        Some((x, y)) => {
            [[fq_to_u256(x.c1), fq_to_u256(x.c0)], [fq_to_u256(y.c1), fq_to_u256(y.c0)]]
        }
        None => [[U256::ZERO; 2]; 2],
    }
}

/// A G1 point as 64 bytes, `x ‖ y`.
pub fn encode_g1(point: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (chunk, word) in out.chunks_exact_mut(32).zip(g1_to_words(point)) {
        chunk.copy_from_slice(&word.to_be_bytes::<32>());
    }
    out
}

/// A G2 point as 128 bytes, `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`.
pub fn encode_g2(point: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    for (chunk, word) in out.chunks_exact_mut(32).zip(g2_to_words(point).into_iter().flatten()) {
        chunk.copy_from_slice(&word.to_be_bytes::<32>());
    }
    out
}

/// A proof as 256 bytes, `A ‖ B ‖ C`.
pub fn encode_proof(proof: &Proof) -> [u8; 256] {
    let mut out = [0u8; 256];
    out[..64].copy_from_slice(&encode_g1(&proof.a));
    out[64..192].copy_from_slice(&encode_g2(&proof.b));
    out[192..].copy_from_slice(&encode_g1(&proof.c));
    out
}

/// A scalar field element (a public input) as a word.
pub fn encode_fr(value: Fr) -> U256 {
    U256::from_be_slice(&value.into_bigint().to_bytes_be())
}

/// Public inputs as words, in order.
pub fn encode_public_inputs(inputs: &[Fr]) -> Vec<U256> {
    inputs.iter().copied().map(encode_fr).collect()
}

/// A proof as the arguments `a`, `b`, `c` of a generated verifier's `verifyProof`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvmProof {
    /// `A`: `[x, y]`.
    pub a: [U256; 2],
    /// `B`: `[[x.c1, x.c0], [y.c1, y.c0]]`.
    pub b: [[U256; 2]; 2],
    /// `C`: `[x, y]`.
    pub c: [U256; 2],
}

impl From<&Proof> for EvmProof {
    fn from(proof: &Proof) -> Self {
        Self { a: g1_to_words(&proof.a), b: g2_to_words(&proof.b), c: g1_to_words(&proof.c) }
    }
}

impl EvmProof {
    /// The 256-byte encoding, `A ‖ B ‖ C` (as [`encode_proof`]).
    pub fn to_bytes(&self) -> [u8; 256] {
        let mut out = [0u8; 256];
        let words = self.a.iter().chain(self.b.iter().flatten()).chain(self.c.iter());
        for (chunk, word) in out.chunks_exact_mut(32).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes::<32>());
        }
        out
    }
}
