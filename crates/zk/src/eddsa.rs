//! EdDSA over BabyJubjub with Poseidon, as circomlib's `eddsaposeidon`, natively and in-circuit
//! ([`constraints`]).
//!
//! A signature on a message `msg` (one field element) under the public key `A` is a point `R8`
//! and a scalar `S < l`. It is valid when
//!
//! ```text
//! h = poseidon([R8.x, R8.y, A.x, A.y, msg])
//! S·B8 == R8 + (8·h)·A          (8·h as an integer, h not reduced modulo l)
//! ```
//!
//! with `A` and `R8` on the curve and `8·A` not the identity: circomlib's `verifyPoseidon` and
//! its `EdDSAPoseidonVerifier` circuit. Multiplying `A` by 8 clears any small-order component.
//!
//! Keys: a [`SecretKey`] holds a scalar `k`, with `A = k·B8`; signing uses `s = 8·k`, so that
//! `S = r + h·s (mod l)` satisfies the equation above, as circomlib's pruned `s` does. Unlike
//! circomlib, which expands a 32-byte private key with BLAKE-512, ply derives `k` from a seed
//! with Keccak-256 ([`SecretKey::from_seed`]) and the seed from the user's Ethereum key
//! ([`SecretKey::from_ethereum_signer`]): keys differ from circomlibjs's for the same bytes,
//! signatures verify the same way. The nonce `r` is derived from the key and the message
//! (RFC 8032 style), so signing needs no randomness and never reuses a nonce across messages.

use crate::{
    Fr, Result, ZkError,
    babyjubjub::{B8, Fs, Point},
    poseidon,
};
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, PrimeField, Zero};
use ply_core::keccak256;

/// The message an Ethereum key signs (EIP-191 `personal_sign`) to derive its L2 key.
///
/// Changing it changes every user's L2 key: it carries a version for that reason.
pub const KEY_DERIVATION_MESSAGE: &str = "ply zk key v1";

/// Domain tags of the Keccak-256 derivations, so that no two derivations share an input.
const SCALAR_TAG: &[u8] = b"ply zk key v1/scalar";
const NONCE_KEY_TAG: &[u8] = b"ply zk key v1/nonce key";
const NONCE_TAG: &[u8] = b"ply zk eddsa v1/nonce";

/// A BabyJubjub EdDSA secret key.
///
/// Whoever holds it can spend the account's funds on L2: it must be kept as secret as the
/// Ethereum key it derives from. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey {
    /// `k`, with `A = k·B8`; never zero.
    scalar: Fs,
    /// The key of the deterministic nonces.
    nonce_key: [u8; 32],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

/// A scalar from 64 bytes of Keccak output, reduced modulo `l` (bias below 2⁻²⁵⁰).
fn wide_scalar(tag: &[u8], parts: &[&[u8]]) -> Fs {
    let mut wide = [0u8; 64];
    for (half, out) in wide.chunks_mut(32).enumerate() {
        let mut input =
            Vec::with_capacity(tag.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
        input.extend_from_slice(tag);
        input.push(half as u8);
        parts.iter().for_each(|part| input.extend_from_slice(part));
        out.copy_from_slice(keccak256(&input).as_slice());
    }
    Fs::from_le_bytes_mod_order(&wide)
}

impl SecretKey {
    /// The key derived from `seed` (at least 32 bytes of secret entropy):
    /// `k = keccak256(tag ‖ 0 ‖ seed) ‖ keccak256(tag ‖ 1 ‖ seed)` read little-endian modulo `l`,
    /// and the nonce key `keccak256(tag' ‖ seed)`.
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut counter = 0u32;
        let scalar = loop {
            // A zero scalar has probability 2^-250; the counter only keeps the function total.
            let k = wide_scalar(SCALAR_TAG, &[seed, &counter.to_be_bytes()]);
            if !k.is_zero() {
                break k;
            }
            counter += 1;
        };
        let nonce_key = keccak256([NONCE_KEY_TAG, seed].concat()).0;
        Self { scalar, nonce_key }
    }

    /// The L2 key of an Ethereum key: the seed is the 65-byte secp256k1 signature (`r ‖ s ‖ v`)
    /// of [`KEY_DERIVATION_MESSAGE`] under EIP-191, so a wallet that can sign a message can
    /// recover the key, and the user keeps one key.
    ///
    /// This relies on the wallet signing deterministically (RFC 6979, as alloy's local signer,
    /// and most wallets, do): a wallet with random nonces would derive a different key each time.
    pub fn from_ethereum_signer(signer: &PrivateKeySigner) -> Result<Self> {
        let signature = signer.sign_message_sync(KEY_DERIVATION_MESSAGE.as_bytes())?;
        Ok(Self::from_seed(&signature.as_bytes()))
    }

    /// The public key `A = k·B8`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey((B8 * self.scalar).into_affine())
    }

    /// The signature of `msg`: `r` from the nonce key and the message, `R8 = r·B8`,
    /// `S = r + h·8k (mod l)`.
    pub fn sign(&self, msg: Fr) -> Signature {
        let a = self.public_key();
        let msg_bytes = msg.into_bigint().to_bytes_be();
        let r = wide_scalar(NONCE_TAG, &[&self.nonce_key, &msg_bytes]);
        let r8 = (B8 * r).into_affine();
        let h = fr_to_fs(challenge(&r8, &a.0, msg));
        let s = r + h * Fs::from(8u64) * self.scalar;
        Signature { r8, s }
    }
}

/// An EdDSA public key `A`, a point of BabyJubjub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub Point);

impl PublicKey {
    /// The key with the given coordinates, refused when the point is not on the curve.
    pub fn from_coordinates(x: Fr, y: Fr) -> Result<Self> {
        let point = Point::new_unchecked(x, y);
        if point.is_on_curve() {
            Ok(Self(point))
        } else {
            Err(ZkError::NotOnCurve { x: x.to_string(), y: y.to_string() })
        }
    }

    /// Whether `signature` signs `msg` under this key (circomlib's `verifyPoseidon`, and the
    /// twin of [`constraints::verify_var`]).
    pub fn verify(&self, msg: Fr, signature: &Signature) -> bool {
        let a = self.0;
        let r8 = signature.r8;
        if !a.is_on_curve() || !r8.is_on_curve() {
            return false;
        }
        let a8 = a.mul_by_cofactor_to_group();
        if a8.is_zero() {
            return false;
        }
        let h = challenge(&r8, &a, msg);
        let left = B8 * signature.s;
        let right = a8.mul_bigint(h.into_bigint()) + r8;
        left == right
    }
}

/// An EdDSA signature `(R8, S)`. `S` is an [`Fs`], so below `l` by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    /// `R8 = r·B8`.
    pub r8: Point,
    /// `S = r + 8·h·k (mod l)`.
    pub s: Fs,
}

/// The challenge `h = poseidon([R8.x, R8.y, A.x, A.y, msg])`.
pub fn challenge(r8: &Point, a: &Point, msg: Fr) -> Fr {
    poseidon(&[r8.x, r8.y, a.x, a.y, msg])
}

/// `h` modulo `l`.
fn fr_to_fs(h: Fr) -> Fs {
    Fs::from_le_bytes_mod_order(&h.into_bigint().to_bytes_le())
}

/// EdDSA verification in-circuit: the twin of [`PublicKey::verify`].
pub mod constraints {
    use super::{PublicKey, Signature};
    use crate::{
        Fr,
        babyjubjub::{B8, Fs, PointProjective, constraints::PointVar},
        poseidon::constraints::poseidon_var,
    };
    use ark_ff::{BigInteger, PrimeField};
    use ark_r1cs_std::{
        alloc::{AllocVar, AllocationMode},
        boolean::Boolean,
        convert::ToBitsGadget,
        eq::EqGadget,
        fields::{FieldVar, fp::FpVar},
        groups::CurveVar,
    };
    use ark_relations::gr1cs::{Namespace, SynthesisError};
    use std::borrow::Borrow;

    /// A public key in-circuit. Allocation checks that the point is on the curve (not that it
    /// is in the subgroup: verification multiplies it by the cofactor, as circomlib).
    #[derive(Debug, Clone)]
    pub struct PublicKeyVar(pub PointVar);

    /// A signature in-circuit: `R8` (checked on the curve) and the bits of `S`, little-endian,
    /// constrained to an integer below `l` at allocation.
    #[derive(Debug, Clone)]
    pub struct SignatureVar {
        /// `R8`.
        pub r8: PointVar,
        /// The 251 bits of `S`, least significant first.
        pub s_bits: Vec<Boolean<Fr>>,
    }

    fn alloc_point(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<PointProjective, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<PointVar, SynthesisError> {
        PointVar::new_variable_omit_prime_order_check(cs, f, mode)
    }

    impl AllocVar<PublicKey, Fr> for PublicKeyVar {
        fn new_variable<T: Borrow<PublicKey>>(
            cs: impl Into<Namespace<Fr>>,
            f: impl FnOnce() -> Result<T, SynthesisError>,
            mode: AllocationMode,
        ) -> Result<Self, SynthesisError> {
            alloc_point(cs, || f().map(|pk| pk.borrow().0.into()), mode).map(Self)
        }
    }

    impl AllocVar<Signature, Fr> for SignatureVar {
        fn new_variable<T: Borrow<Signature>>(
            cs: impl Into<Namespace<Fr>>,
            f: impl FnOnce() -> Result<T, SynthesisError>,
            mode: AllocationMode,
        ) -> Result<Self, SynthesisError> {
            let ns = cs.into();
            let cs = ns.cs();
            let value = f().map(|sig| *sig.borrow());
            let r8 = alloc_point(
                cs.clone(),
                || {
                    value
                        .as_ref()
                        .map(|sig| sig.r8.into())
                        .map_err(|_| SynthesisError::AssignmentMissing)
                },
                mode,
            )?;
            let bits = value.as_ref().map(|sig| sig.s.into_bigint().to_bits_le());
            let s_bits = (0..Fs::MODULUS_BIT_SIZE as usize)
                .map(|i| {
                    Boolean::new_variable(
                        cs.clone(),
                        || {
                            bits.as_ref()
                                .map(|bits| bits[i])
                                .map_err(|_| SynthesisError::AssignmentMissing)
                        },
                        mode,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            // S < l, i.e. S ≤ l − 1: no second encoding of the same signature.
            let mut l_minus_one = Fs::MODULUS;
            l_minus_one.sub_with_borrow(&1u64.into());
            Boolean::enforce_smaller_or_equal_than_le(&s_bits, l_minus_one)?;
            Ok(Self { r8, s_bits })
        }
    }

    /// Whether `signature` signs `msg` under `public_key`, as a [`Boolean`] the caller enforces
    /// (or ignores, for the padding of a batch). The same checks as
    /// [`PublicKey::verify`]: `8·A ≠ 0` and `S·B8 == R8 + (8·h)·A`.
    pub fn verify_var(
        public_key: &PublicKeyVar,
        msg: &FpVar<Fr>,
        signature: &SignatureVar,
    ) -> Result<Boolean<Fr>, SynthesisError> {
        let a = &public_key.0;
        let r8 = &signature.r8;
        let h = poseidon_var(&[r8.x.clone(), r8.y.clone(), a.x.clone(), a.y.clone(), msg.clone()])?;
        // h's canonical bits (below the BN254 modulus), as circomlib's Num2Bits_strict.
        let h_bits = h.to_bits_le()?;

        let mut a8 = a.clone();
        for _ in 0..3 {
            a8.double_in_place()?;
        }
        let a8_not_identity = !a8.x.is_zero()?;

        let right = a8.scalar_mul_le(h_bits.iter())? + r8;

        let mut multiples = Vec::with_capacity(signature.s_bits.len());
        let mut base = PointProjective::from(B8);
        for _ in 0..signature.s_bits.len() {
            multiples.push(base);
            base = base + base;
        }
        let mut left = PointVar::zero();
        left.precomputed_base_scalar_mul_le(signature.s_bits.iter().zip(&multiples))?;

        let equal = left.is_eq(&right)?;
        Ok(a8_not_identity & equal)
    }

    /// Enforces that `signature` signs `msg` under `public_key`.
    pub fn enforce_verify(
        public_key: &PublicKeyVar,
        msg: &FpVar<Fr>,
        signature: &SignatureVar,
    ) -> Result<(), SynthesisError> {
        verify_var(public_key, msg, signature)?.enforce_equal(&Boolean::TRUE)
    }
}
