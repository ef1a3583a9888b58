//! EdDSA over BabyJubjub with Poseidon: native round trips, forgeries refused, and the gadget
//! against its twin.

use ark_ec::CurveGroup;
use ark_ff::UniformRand;
use ark_r1cs_std::{GR1CSVar, alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::ConstraintSystem;
use ply_core::dev::dev_signer;
use ply_zk::{
    Fr,
    babyjubjub::{B8, Fs},
    eddsa::{
        PublicKey, SecretKey, Signature,
        constraints::{PublicKeyVar, SignatureVar, enforce_verify, verify_var},
    },
};

fn key(index: usize) -> SecretKey {
    SecretKey::from_ethereum_signer(&dev_signer(index).unwrap()).unwrap()
}

#[test]
fn the_l2_key_is_derived_deterministically_from_the_ethereum_key() {
    let a = key(1);
    assert_eq!(a, key(1), "the same Ethereum key gives the same L2 key");
    assert_ne!(a.public_key(), key(2).public_key());
    assert!(a.public_key().0.is_on_curve());
    assert!(a.public_key().0.is_in_correct_subgroup_assuming_on_curve());
    // Debug never shows the secret.
    assert!(format!("{a:?}").starts_with("SecretKey { public_key"));
}

#[test]
fn sign_and_verify_round_trip() {
    let mut rng = ark_std::test_rng();
    let sk = key(1);
    let pk = sk.public_key();
    for _ in 0..5 {
        let msg = Fr::rand(&mut rng);
        let sig = sk.sign(msg);
        assert!(pk.verify(msg, &sig));
        assert_eq!(sig, sk.sign(msg), "signing is deterministic");
    }
}

#[test]
fn tampered_message_signature_or_key_is_refused() {
    let sk = key(1);
    let pk = sk.public_key();
    let msg = Fr::from(1234u64);
    let sig = sk.sign(msg);
    assert!(pk.verify(msg, &sig));

    assert!(!pk.verify(msg + Fr::from(1u64), &sig), "other message");
    assert!(!key(2).public_key().verify(msg, &sig), "other key");
    let bad_s = Signature { s: sig.s + Fs::from(1u64), ..sig };
    assert!(!pk.verify(msg, &bad_s), "other S");
    let bad_r = Signature { r8: (sig.r8 + B8).into_affine(), ..sig };
    assert!(!pk.verify(msg, &bad_r), "other R8");
    let off_curve = Signature {
        r8: ply_zk::babyjubjub::Point::new_unchecked(Fr::from(1u64), Fr::from(2u64)),
        ..sig
    };
    assert!(!pk.verify(msg, &off_curve), "R8 off the curve");
    // A small-order public key (here the identity) signs nothing.
    let identity = PublicKey(ply_zk::babyjubjub::Point::zero());
    assert!(!identity.verify(msg, &Signature { r8: B8, s: Fs::from(1u64) }));
    assert!(PublicKey::from_coordinates(Fr::from(1u64), Fr::from(2u64)).is_err());
    assert_eq!(PublicKey::from_coordinates(pk.0.x, pk.0.y).unwrap(), pk);
}

/// Verifies in a fresh constraint system; returns (constraints, satisfied, verify_var's value).
fn verify_in_circuit(pk: PublicKey, msg: Fr, sig: Signature, enforce: bool) -> (usize, bool, bool) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let pk_var = PublicKeyVar::new_witness(cs.clone(), || Ok(pk)).unwrap();
    let msg_var = FpVar::new_input(cs.clone(), || Ok(msg)).unwrap();
    let sig_var = SignatureVar::new_witness(cs.clone(), || Ok(sig)).unwrap();
    let valid_var = verify_var(&pk_var, &msg_var, &sig_var).unwrap();
    let valid = valid_var.value().unwrap();
    if enforce {
        valid_var.enforce_equal(&Boolean::TRUE).unwrap();
    }
    (cs.num_constraints(), cs.is_satisfied().unwrap(), valid)
}

#[test]
fn gadget_matches_native_verification() {
    let mut rng = ark_std::test_rng();
    let sk = key(1);
    let pk = sk.public_key();
    for _ in 0..2 {
        let msg = Fr::rand(&mut rng);
        let sig = sk.sign(msg);
        let (constraints, satisfied, valid) = verify_in_circuit(pk, msg, sig, true);
        assert!(valid && satisfied);
        eprintln!(
            "EdDSA verification, key and signature allocation included: {constraints} constraints"
        );
    }
}

#[test]
fn enforce_verify_accepts_only_valid_signatures() {
    let sk = key(4);
    let msg = Fr::from(7u64);
    for (sig_msg, expected) in [(msg, true), (msg + Fr::from(1u64), false)] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pk_var = PublicKeyVar::new_witness(cs.clone(), || Ok(sk.public_key())).unwrap();
        let msg_var = FpVar::new_input(cs.clone(), || Ok(msg)).unwrap();
        let sig_var = SignatureVar::new_witness(cs.clone(), || Ok(sk.sign(sig_msg))).unwrap();
        enforce_verify(&pk_var, &msg_var, &sig_var).unwrap();
        assert_eq!(cs.is_satisfied().unwrap(), expected);
    }
}

#[test]
fn gadget_refuses_what_native_refuses() {
    let sk = key(1);
    let pk = sk.public_key();
    let msg = Fr::from(1234u64);
    let sig = sk.sign(msg);
    let cases = [
        ("other message", pk, msg + Fr::from(1u64), sig),
        ("other key", key(2).public_key(), msg, sig),
        ("other S", pk, msg, Signature { s: sig.s + Fs::from(1u64), ..sig }),
        ("other R8", pk, msg, Signature { r8: (sig.r8 + B8).into_affine(), ..sig }),
    ];
    for (what, pk, msg, sig) in cases {
        assert!(!pk.verify(msg, &sig), "{what}: native");
        let (_, satisfied_unenforced, valid) = verify_in_circuit(pk, msg, sig, false);
        assert!(!valid, "{what}: gadget says valid");
        assert!(satisfied_unenforced, "{what}: the checks alone are satisfiable");
        let (_, satisfied, _) = verify_in_circuit(pk, msg, sig, true);
        assert!(!satisfied, "{what}: enforced verification is satisfied");
    }
    // A public key off the curve cannot even be allocated satisfiably.
    let off = PublicKey(ply_zk::babyjubjub::Point::new_unchecked(Fr::from(1u64), Fr::from(2u64)));
    let (_, satisfied, _) = verify_in_circuit(off, msg, sig, false);
    assert!(!satisfied);
}

/// circomlibjs `test/eddsa.js` ("Sign (using Poseidon) a single 10 bytes from 0 to 9"): a
/// signature made by iden3's tools verifies here, natively and in-circuit.
#[test]
fn circomlibjs_signature_verifies() {
    use std::str::FromStr;
    let dec = |s: &str| Fr::from_str(s).unwrap();
    let pk = PublicKey::from_coordinates(
        dec("13277427435165878497778222415993513565335242147425444199013288855685581939618"),
        dec("13622229784656158136036771217484571176836296686641868549125388198837476602820"),
    )
    .unwrap();
    let sig = Signature {
        r8: ply_zk::babyjubjub::Point::new_unchecked(
            dec("11384336176656855268977457483345535180380036354188103142384839473266348197733"),
            dec("15383486972088797283337779941324724402501462225528836549661220478783371668959"),
        ),
        s: Fs::from_str(
            "1672775540645840396591609181675628451599263765380031905495115170613215233181",
        )
        .unwrap(),
    };
    // The message is the bytes 00 01 .. 09 read little-endian.
    let msg = (0..10u64).rev().fold(Fr::from(0u64), |acc, b| acc * Fr::from(256u64) + Fr::from(b));
    assert!(pk.verify(msg, &sig));
    assert!(!pk.verify(msg + Fr::from(1u64), &sig));
    let (_, satisfied, valid) = verify_in_circuit(pk, msg, sig, true);
    assert!(valid && satisfied);
}
