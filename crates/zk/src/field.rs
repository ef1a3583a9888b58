//! Conversions between the BN254 scalar field and the byte types of the ledger.

use crate::{Result, ZkError};
use ark_ff::{BigInteger, PrimeField};
use ply_core::{Address, B256, U256};

/// The BN254 scalar field: the field every circuit of ply computes in, and the base field of
/// BabyJubjub.
pub type Fr = ark_bn254::Fr;

/// The field element as 32 big-endian bytes (the digest encoding of [`PoseidonHasher`](crate::PoseidonHasher)).
pub fn fr_to_b256(value: Fr) -> B256 {
    let bytes = value.into_bigint().to_bytes_be();
    B256::from_slice(&bytes)
}

/// The field element encoded by 32 big-endian bytes, refusing values at or above the modulus
/// (each field element has exactly one encoding).
pub fn fr_from_b256(bytes: B256) -> Result<Fr> {
    let value = U256::from_be_bytes(bytes.0);
    fr_from_u256(value).ok_or(ZkError::NotAFieldElement(bytes))
}

/// The field element equal to `value`, or `None` when `value` is at or above the modulus.
pub fn fr_from_u256(value: U256) -> Option<Fr> {
    let limbs = value.into_limbs();
    Fr::from_bigint(ark_ff::BigInt::new(limbs))
}

/// The address as a field element: its 160 bits read as a big-endian integer (always below
/// the modulus).
pub fn fr_from_address(address: Address) -> Fr {
    Fr::from_be_bytes_mod_order(address.as_slice())
}
