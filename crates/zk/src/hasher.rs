//! [`PoseidonHasher`]: the ledger's tree hasher for the zk family.

use crate::{Fr, fr_from_address, fr_to_b256, poseidon};
use ark_ff::PrimeField;
use ply_core::{Address, B256, U256};
use ply_ledger::TreeHasher;
use std::sync::OnceLock;

/// Poseidon tree hashing (circom parameters), cheap to prove in a BN254 circuit, over
/// quaternary trees: a node level of four children costs a circuit one Poseidon of width 5
/// (297 constraints), where two binary levels cost two of width 3 (2 × 240).
///
/// | function | definition |
/// |---|---|
/// | `hash_children([a, b, c, d])` | `poseidon([a, b, c, d])`: quaternary trees |
/// | `balance_leaf(amount)` | `amount` as a field element (no hash) |
/// | `hash_account(address, nonce, balances_root)` | `poseidon([address, nonce, balances_root])` |
///
/// Digests are field elements written as 32 big-endian bytes. The address is its 160-bit
/// big-endian integer. Inputs that are not canonical encodings (32 bytes at or above the
/// modulus, which no digest of this hasher is) are read modulo the field's modulus, so that a
/// proof verifier fed foreign bytes answers rather than panics; circuits see only field
/// elements.
///
/// The trait's requirements hold: `balance_leaf(0)` is zero, and `hash_account` returns zero
/// only for a Poseidon preimage of zero, which nobody can find.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PoseidonHasher;

/// The number of levels [`PoseidonHasher::empty`] keeps precomputed.
const EMPTY_LEVELS: usize = 64;

/// A digest read as a field element (modulo the modulus, see [`PoseidonHasher`]).
fn digest_to_fr(digest: B256) -> Fr {
    Fr::from_be_bytes_mod_order(digest.as_slice())
}

impl TreeHasher for PoseidonHasher {
    const NAME: &'static str = "poseidon";
    const ARITY_BITS: u32 = 2;

    fn hash_children(children: &[B256]) -> B256 {
        let inputs: [Fr; 4] = std::array::from_fn(|i| digest_to_fr(children[i]));
        fr_to_b256(poseidon(&inputs))
    }

    fn balance_leaf(amount: U256) -> B256 {
        // An amount below the modulus (every balance is below 2^128) is its own field element,
        // whose encoding is the amount's 32 big-endian bytes.
        debug_assert!(amount < U256::from_limbs(Fr::MODULUS.0));
        B256::from(amount.to_be_bytes::<32>())
    }

    fn hash_account(address: Address, nonce: u64, balances_root: B256) -> B256 {
        fr_to_b256(poseidon(&[
            fr_from_address(address),
            Fr::from(nonce),
            digest_to_fr(balances_root),
        ]))
    }

    fn empty(level: usize) -> B256 {
        static TABLE: OnceLock<Vec<B256>> = OnceLock::new();
        ply_ledger::cached_empty::<Self>(&TABLE, EMPTY_LEVELS, level)
    }
}
