//! Poseidon: circomlib vectors, the pinned constants' implementation, and the gadget.

use ark_ff::{AdditiveGroup, UniformRand};
use ark_r1cs_std::{GR1CSVar, alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::ConstraintSystem;
use light_poseidon::{Poseidon, PoseidonHasher as _};
use ply_zk::{
    Fr, ZkError, fr_from_b256, fr_to_b256, poseidon,
    poseidon::{MAX_INPUTS, constraints::poseidon_var},
    try_poseidon,
};
use std::str::FromStr;

fn hex(s: &str) -> Fr {
    fr_from_b256(s.parse().unwrap()).unwrap()
}

fn frs(values: &[u64]) -> Vec<Fr> {
    values.iter().map(|v| Fr::from(*v)).collect()
}

#[test]
fn circomlib_vectors() {
    assert_eq!(
        poseidon(&frs(&[1, 2])),
        hex("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a")
    );
    assert_eq!(
        poseidon(&frs(&[1, 2, 3, 4])),
        hex("0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465")
    );
    // circomlibjs test/poseidon.js: poseidon([1]) and poseidon([3, 4]) (decimal there).
    assert_eq!(
        poseidon(&frs(&[1])),
        Fr::from_str(
            "18586133768512220936620570745912940619677854269274689475585506675881198879027"
        )
        .unwrap()
    );
    assert_eq!(
        poseidon(&frs(&[3, 4])),
        Fr::from_str(
            "14763215145315200506921711489642608356394854266165572616578112107564877678998"
        )
        .unwrap()
    );
}

#[test]
fn agrees_with_light_poseidon_for_every_width() {
    let mut rng = ark_std::test_rng();
    for n in 1..=MAX_INPUTS {
        let inputs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let expected = Poseidon::<Fr>::new_circom(n).unwrap().hash(&inputs).unwrap();
        assert_eq!(poseidon(&inputs), expected, "{n} inputs");
    }
}

#[test]
fn unsupported_arity_is_an_error() {
    assert!(matches!(try_poseidon(&[]), Err(ZkError::PoseidonArity { got: 0, .. })));
    let too_many = vec![Fr::ZERO; MAX_INPUTS + 1];
    let err = try_poseidon(&too_many).unwrap_err();
    assert!(err.to_string().contains("got 13"), "{err}");
}

#[test]
fn digests_round_trip_through_bytes() {
    let digest = poseidon(&frs(&[1, 2]));
    let bytes = fr_to_b256(digest);
    assert_eq!(
        bytes,
        "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
            .parse::<ply_core::B256>()
            .unwrap()
    );
    assert_eq!(fr_from_b256(bytes).unwrap(), digest);
    // The modulus itself is no field element.
    let modulus = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    assert!(matches!(fr_from_b256(modulus.parse().unwrap()), Err(ZkError::NotAFieldElement(_))));
}

/// Hashes `inputs` in a fresh constraint system; returns the system's size, whether it is
/// satisfied, and the in-circuit digest.
fn hash_in_circuit(inputs: &[Fr], claimed: Option<Fr>) -> (usize, bool, Fr) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let vars: Vec<FpVar<Fr>> =
        inputs.iter().map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap()).collect();
    let before = cs.num_constraints();
    let digest = poseidon_var(&vars).unwrap();
    let hash_constraints = cs.num_constraints() - before;
    if let Some(claimed) = claimed {
        let out = FpVar::new_input(cs.clone(), || Ok(claimed)).unwrap();
        digest.enforce_equal(&out).unwrap();
    }
    (hash_constraints, cs.is_satisfied().unwrap(), digest.value().unwrap())
}

#[test]
fn gadget_matches_native_for_random_inputs() {
    let mut rng = ark_std::test_rng();
    for n in 1..=MAX_INPUTS {
        for _ in 0..3 {
            let inputs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let native = poseidon(&inputs);
            let (_, satisfied, digest) = hash_in_circuit(&inputs, Some(native));
            assert!(satisfied, "{n} inputs");
            assert_eq!(digest, native, "{n} inputs");
        }
    }
}

#[test]
fn gadget_rejects_a_wrong_digest() {
    let mut rng = ark_std::test_rng();
    for n in [2, 4] {
        let inputs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let wrong = poseidon(&inputs) + Fr::from(1u64);
        let (_, satisfied, _) = hash_in_circuit(&inputs, Some(wrong));
        assert!(!satisfied, "{n} inputs");
    }
}

#[test]
fn gadget_rejects_a_tampered_intermediate_witness() {
    // Prove the hash of [1, 2], then change one S-box output in the assignment: the system
    // must notice even though the public output is untouched.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let inputs: Vec<FpVar<Fr>> = frs(&[1, 2])
        .into_iter()
        .map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap())
        .collect();
    let digest = poseidon_var(&inputs).unwrap();
    let out = FpVar::new_input(cs.clone(), || Ok(poseidon(&frs(&[1, 2])))).unwrap();
    digest.enforce_equal(&out).unwrap();
    assert!(cs.is_satisfied().unwrap());
    let first_witness_after_inputs = 2;
    cs.borrow_mut().unwrap().assignments.witness_assignment[first_witness_after_inputs] +=
        Fr::from(1u64);
    assert!(!cs.is_satisfied().unwrap());
}

#[test]
fn constraints_per_hash() {
    let mut rng = ark_std::test_rng();
    let two: Vec<Fr> = (0..2).map(|_| Fr::rand(&mut rng)).collect();
    let four: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
    let (t3, ..) = hash_in_circuit(&two, None);
    let (t5, ..) = hash_in_circuit(&four, None);
    eprintln!("Poseidon constraints: t=3 {t3}, t=5 {t5}");
    // 3 per S-box: 8 full rounds of t S-boxes and the partial rounds of one, less the first
    // S-box of the first round, whose input (the zero capacity element) is a constant.
    assert_eq!(t3, 3 * (8 * 3 + 57) - 3);
    assert_eq!(t5, 3 * (8 * 5 + 60) - 3);
}
