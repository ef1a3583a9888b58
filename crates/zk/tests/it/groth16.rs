//! Groth16: development setup, proving (one and many), native verification, the key store,
//! the EVM encoding, and the generated Solidity verifier on the embedded L1.

use alloy::primitives::{Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolInterface};
use ark_ec::AffineRepr;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_std::rand::{SeedableRng, rngs::StdRng};
use ply_contracts::{Contract, ToyVerifier};
use ply_l1::client::{DynL1Client, EmbeddedClient, TxSender};
use ply_l1::{chain::ChainConfig, node::Node};
use ply_zk::Fr;
use ply_zk::groth16::{
    self, CircuitShape, ConstraintMatrices, CubeCircuit, EvmProof, Groth16Error, KeyStore, Proof,
    ProveProgress, VerifyingKey,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The seed of the development setup behind the checked-in `ToyVerifier.sol`.
const TOY_SEED: u64 = 42;
/// The seed of the proving randomness of the pinned proof in `ToyVerifier.t.sol`.
const TOY_PROOF_SEED: u64 = 7;
/// The secret of the pinned proof: 3³ + 3 + 5 = 35.
const TOY_X: u64 = 3;

const REGENERATE: &str = "regenerate with `cargo test -p ply-zk --test it -- --ignored \
                          write_toy_verifier`, then `scripts/contracts.sh build`";

fn toy_verifier_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/src/zk/ToyVerifier.sol")
}

fn toy_keys() -> (groth16::ProvingKey, VerifyingKey) {
    groth16::dev_setup(CubeCircuit::shape(), TOY_SEED).expect("setup of the toy circuit")
}

fn toy_verifier_source(vk: &VerifyingKey) -> String {
    ply_zk::verifier::solidity_verifier(vk, "ToyVerifier", REGENERATE)
}

fn toy_proof(pk: &groth16::ProvingKey) -> (Proof, Vec<Fr>) {
    let circuit = CubeCircuit::new(Fr::from(TOY_X));
    let inputs = circuit.public_inputs();
    let proof = groth16::prove(pk, circuit, &mut StdRng::seed_from_u64(TOY_PROOF_SEED)).unwrap();
    (proof, inputs)
}

/// Knowledge of `x` with `x² = y`: a second circuit, to tell keys apart.
#[derive(Clone, Copy, Default)]
struct SquareCircuit {
    x: Option<Fr>,
    y: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for SquareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let y = FpVar::new_input(cs.clone(), || self.y.ok_or(SynthesisError::AssignmentMissing))?;
        let x = FpVar::new_witness(cs, || self.x.ok_or(SynthesisError::AssignmentMissing))?;
        (&x * &x).enforce_equal(&y)
    }
}

// ------------------------------------------------------------------ native

#[test]
fn dev_setup_is_deterministic_and_proofs_verify() {
    let (pk, vk) = toy_keys();
    let (_, vk_again) = toy_keys();
    assert_eq!(vk, vk_again, "the same circuit and seed give the same keys");
    let (_, vk_other) = groth16::dev_setup(CubeCircuit::shape(), TOY_SEED + 1).unwrap();
    assert_ne!(vk, vk_other);

    let (proof, inputs) = toy_proof(&pk);
    assert_eq!(inputs, vec![Fr::from(35u64)]);
    assert!(groth16::verify(&vk, &inputs, &proof));

    // Wrong statements.
    assert!(!groth16::verify(&vk, &[Fr::from(36u64)], &proof));
    assert!(!groth16::verify(&vk, &[], &proof), "too few public inputs");
    assert!(!groth16::verify(&vk, &[inputs[0], Fr::from(0u64)], &proof), "too many");
    // Wrong key.
    assert!(!groth16::verify(&vk_other, &inputs, &proof));
    // Tampered proofs.
    let mut tampered = proof.clone();
    tampered.a = (tampered.a + ark_bn254::G1Affine::generator()).into();
    assert!(!groth16::verify(&vk, &inputs, &tampered));
    let mut swapped = proof.clone();
    std::mem::swap(&mut swapped.a, &mut swapped.c);
    assert!(!groth16::verify(&vk, &inputs, &swapped));
}

#[test]
fn a_witness_that_does_not_satisfy_the_circuit_is_refused() {
    let (pk, _) = toy_keys();
    let lie = CubeCircuit { x: Some(Fr::from(3u64)), y: Some(Fr::from(36u64)) };
    let err = groth16::prove(&pk, lie, &mut StdRng::seed_from_u64(1)).unwrap_err();
    assert!(matches!(err, Groth16Error::Unsatisfied { .. }), "{err}");
    assert!(err.to_string().contains("does not satisfy"), "{err}");

    // A proving key of another circuit is refused, not a panic.
    let (square_pk, _) = groth16::dev_setup(SquareCircuit::default(), 1).unwrap();
    let mut empty_pk = square_pk.clone();
    empty_pk.vk.gamma_abc_g1.truncate(1);
    let err =
        groth16::prove(&empty_pk, CubeCircuit::new(Fr::from(2u64)), &mut StdRng::seed_from_u64(1))
            .unwrap_err();
    assert!(
        matches!(err, Groth16Error::WrongProvingKey { key_inputs: 0, circuit_inputs: 1, .. }),
        "{err}"
    );
}

#[test]
fn proving_with_prebuilt_matrices_gives_the_one_off_proof() {
    let (pk, vk) = toy_keys();
    let matrices = ConstraintMatrices::of(CubeCircuit::shape()).unwrap();
    assert_eq!(*matrices.shape(), CircuitShape::of(CubeCircuit::shape()).unwrap());
    let circuit = CubeCircuit::new(Fr::from(TOY_X));
    let fast = groth16::prove_with(&pk, &matrices, circuit, &mut StdRng::seed_from_u64(3)).unwrap();
    let one_off = groth16::prove(&pk, circuit, &mut StdRng::seed_from_u64(3)).unwrap();
    assert_eq!(fast, one_off, "the same witness and randomness give the same proof");
    assert!(groth16::verify(&vk, &circuit.public_inputs(), &fast));

    // The witness is checked against the matrices.
    let lie = CubeCircuit { x: Some(Fr::from(3u64)), y: Some(Fr::from(36u64)) };
    let err = groth16::prove_with(&pk, &matrices, lie, &mut StdRng::seed_from_u64(1)).unwrap_err();
    assert!(matches!(err, Groth16Error::Unsatisfied { .. }), "{err}");
    // Matrices of another circuit, or a key of another circuit: refused, not a panic.
    let square = ConstraintMatrices::of(SquareCircuit::default()).unwrap();
    let err =
        groth16::prove_with(&pk, &square, circuit, &mut StdRng::seed_from_u64(1)).unwrap_err();
    assert!(matches!(err, Groth16Error::WrongMatrices { .. }), "{err}");
    let (square_pk, _) = groth16::dev_setup(SquareCircuit::default(), 1).unwrap();
    let err = groth16::prove_with(&square_pk, &matrices, circuit, &mut StdRng::seed_from_u64(1))
        .unwrap_err();
    assert!(matches!(err, Groth16Error::WrongProvingKey { .. }), "{err}");
}

#[test]
fn prove_many_proves_in_parallel_in_order_and_reports_progress() {
    let (pk, vk) = toy_keys();
    let matrices = ConstraintMatrices::of(CubeCircuit::shape()).unwrap();
    let circuits: Vec<_> = (1..=6u64).map(|x| CubeCircuit::new(Fr::from(x))).collect();
    let seen = Mutex::new(Vec::<ProveProgress>::new());
    let hook = |p: ProveProgress| {
        groth16::report_progress_to_stderr(p);
        seen.lock().unwrap().push(p);
    };
    let proofs = groth16::prove_many(
        &pk,
        &matrices,
        circuits.clone(),
        3,
        &mut StdRng::seed_from_u64(9),
        &hook,
    )
    .unwrap();
    assert_eq!(proofs.len(), 6);
    for (circuit, proof) in circuits.iter().zip(&proofs) {
        assert!(groth16::verify(&vk, &circuit.public_inputs(), proof));
    }
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 6);
    let mut done: Vec<_> = seen.iter().map(|p| p.done).collect();
    done.sort();
    assert_eq!(done, vec![1, 2, 3, 4, 5, 6]);
    let mut indices: Vec<_> = seen.iter().map(|p| p.index).collect();
    indices.sort();
    assert_eq!(indices, vec![0, 1, 2, 3, 4, 5]);
    assert!(seen.iter().all(|p| p.ok && p.total == 6));

    // A seeded RNG gives the same proofs whatever the scheduling.
    let again = groth16::prove_many(
        &pk,
        &matrices,
        circuits.clone(),
        1,
        &mut StdRng::seed_from_u64(9),
        &|_| {},
    )
    .unwrap();
    assert_eq!(proofs, again);

    // One bad witness: the others are still proven, and the first error is returned.
    let mut with_lie = circuits;
    with_lie[4].y = Some(Fr::from(1u64));
    let failures = Mutex::new(Vec::new());
    let err =
        groth16::prove_many(&pk, &matrices, with_lie, 2, &mut StdRng::seed_from_u64(9), &|p| {
            if !p.ok {
                failures.lock().unwrap().push(p.index);
            }
        })
        .unwrap_err();
    assert!(matches!(err, Groth16Error::Unsatisfied { .. }), "{err}");
    assert_eq!(failures.into_inner().unwrap(), vec![4]);
}

// ------------------------------------------------------------------ keys on disk

#[test]
fn the_key_store_caches_keys_and_checks_them_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path().join("keys"));
    let keys = store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED).unwrap();
    assert_eq!(keys.vk, toy_keys().1, "the cached keys are those of the dev setup");
    assert_eq!(keys.manifest.shape, CircuitShape::of(CubeCircuit::shape()).unwrap());
    assert_eq!(keys.manifest.shape.public_inputs, 1);
    assert_eq!(keys.manifest.seed, TOY_SEED);
    let (pk_path, vk_path, manifest_path) = store.paths("toy");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    assert!(manifest.starts_with("ply groth16 keys v2\n"), "{manifest}");
    assert!(manifest.contains("NOT a ceremony"), "{manifest}");
    // The proving key is stored uncompressed (it loads without decompressing points).
    let pk_len = std::fs::metadata(&pk_path).unwrap().len() as usize;
    assert_eq!(pk_len, ark_serialize::CanonicalSerialize::uncompressed_size(&keys.pk));

    // Loaded again, not regenerated (a different seed would give different keys).
    let loaded = store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED + 1).unwrap();
    assert_eq!(loaded.vk, keys.vk);
    assert_eq!(loaded.pk, keys.pk);
    let circuit = CubeCircuit::new(Fr::from(TOY_X));
    let proof = loaded.prove(circuit, &mut StdRng::seed_from_u64(1)).unwrap();
    assert!(groth16::verify(&loaded.vk, &circuit.public_inputs(), &proof));

    // The files are plain arkworks keys: load_keys reads them as keys from elsewhere.
    let (pk, vk) = groth16::load_keys(&pk_path, &vk_path).unwrap();
    assert_eq!((pk, vk), (keys.pk.clone(), keys.vk.clone()));

    // Another circuit under the same name is refused.
    let err = store.load_or_setup("toy", SquareCircuit::default(), TOY_SEED).unwrap_err();
    assert!(matches!(err, Groth16Error::ShapeMismatch { .. }), "{err}");

    // A pk and a vk of different setups do not pair.
    let other = store.load_or_setup("square", SquareCircuit::default(), 5).unwrap();
    let (_, square_vk_path, _) = store.paths("square");
    let err = groth16::load_keys(&pk_path, &square_vk_path).unwrap_err();
    assert!(matches!(err, Groth16Error::KeyPairMismatch { .. }), "{err}");
    assert_ne!(other.manifest.shape, keys.manifest.shape);

    // Corruption: one flipped byte is a hash mismatch, not a panic.
    let good = std::fs::read(&vk_path).unwrap();
    let mut bad = good.clone();
    bad[10] ^= 1;
    std::fs::write(&vk_path, &bad).unwrap();
    let err = store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED).unwrap_err();
    assert!(matches!(err, Groth16Error::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    // ... and, without a manifest to check against, an invalid key.
    let err = groth16::load_keys(&pk_path, &vk_path).unwrap_err();
    assert!(
        matches!(err, Groth16Error::BadKey { .. } | Groth16Error::KeyPairMismatch { .. }),
        "{err}"
    );
    std::fs::write(&vk_path, &good[..good.len() - 1]).unwrap();
    let err = groth16::load_keys(&pk_path, &vk_path).unwrap_err();
    assert!(matches!(err, Groth16Error::BadKey { .. }), "{err}");
    std::fs::write(&vk_path, &good).unwrap();
    store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED).unwrap();

    // A manifest of another version, or a missing file, is an error too.
    std::fs::write(&manifest_path, manifest.replace("v2", "v1")).unwrap();
    let err = store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED).unwrap_err();
    assert!(matches!(err, Groth16Error::BadManifest { .. }), "{err}");
    std::fs::write(&manifest_path, &manifest).unwrap();
    std::fs::remove_file(&pk_path).unwrap();
    let err = store.load_or_setup("toy", CubeCircuit::shape(), TOY_SEED).unwrap_err();
    assert!(matches!(err, Groth16Error::Io { .. }), "{err}");
}

// ------------------------------------------------------------------ EVM encoding

#[test]
fn the_evm_encoding_follows_eip_197() {
    // The G2 generator as EIP-197 writes it: x imaginary part, x real part, y imaginary, y real.
    let words = groth16::g2_to_words(&ark_bn254::G2Affine::generator());
    let expected: [[U256; 2]; 2] = [
        [
            "0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2".parse().unwrap(),
            "0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed".parse().unwrap(),
        ],
        [
            "0x090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b".parse().unwrap(),
            "0x12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa".parse().unwrap(),
        ],
    ];
    assert_eq!(words, expected);
    assert_eq!(
        groth16::g1_to_words(&ark_bn254::G1Affine::generator()),
        [U256::from(1), U256::from(2)]
    );
    assert_eq!(groth16::encode_g1(&ark_bn254::G1Affine::zero()), [0u8; 64]);
    assert_eq!(groth16::encode_g2(&ark_bn254::G2Affine::zero()), [0u8; 128]);

    let (pk, _) = toy_keys();
    let (proof, inputs) = toy_proof(&pk);
    let evm = EvmProof::from(&proof);
    let bytes = groth16::encode_proof(&proof);
    assert_eq!(evm.to_bytes(), bytes);
    assert_eq!(&bytes[..32], &evm.a[0].to_be_bytes::<32>());
    assert_eq!(&bytes[64..96], &evm.b[0][0].to_be_bytes::<32>());
    assert_eq!(groth16::encode_public_inputs(&inputs), vec![U256::from(35)]);
    assert_eq!(groth16::encode_fr(-Fr::from(1u64)), scalar_modulus() - U256::from(1));
}

fn scalar_modulus() -> U256 {
    "21888242871839275222246405745257275088548364400416034343698204186575808495617".parse().unwrap()
}

// ------------------------------------------------------------------ the Solidity verifier

#[test]
fn the_checked_in_toy_verifier_is_fresh() {
    let (_, vk) = toy_keys();
    let fresh = toy_verifier_source(&vk);
    let path = toy_verifier_path();
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(checked_in == fresh, "{} is stale (or missing): {REGENERATE}", path.display());
}

/// Writes `contracts/src/zk/ToyVerifier.sol`; run with `--ignored` after changing the
/// generator or the toy circuit.
#[test]
#[ignore = "writes contracts/src/zk/ToyVerifier.sol"]
fn write_toy_verifier() {
    let (pk, vk) = toy_keys();
    let path = toy_verifier_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, toy_verifier_source(&vk)).unwrap();
    // The proof pinned in contracts/test/zk/ToyVerifier.t.sol.
    let (proof, inputs) = toy_proof(&pk);
    let evm = EvmProof::from(&proof);
    eprintln!("wrote {}\npinned proof: {evm:?}\ninputs: {inputs:?}", path.display());
}

struct L1 {
    client: DynL1Client,
    sender: TxSender,
}

fn embedded_l1() -> L1 {
    let node = Node::new(ChainConfig::default());
    let client: DynL1Client = Arc::new(EmbeddedClient::new(node));
    let sender = TxSender::new(client.clone(), ply_core::dev::dev_signer(0).unwrap());
    L1 { client, sender }
}

fn verify_call(proof: &EvmProof, input: U256) -> ToyVerifier::verifyProofCall {
    ToyVerifier::verifyProofCall { a: proof.a, b: proof.b, c: proof.c, input: [input] }
}

async fn call_verifier(
    l1: &L1,
    verifier: alloy::primitives::Address,
    call: &ToyVerifier::verifyProofCall,
) -> ply_l1::Result<bool> {
    let req =
        TransactionRequest::default().to(verifier).input(Bytes::from(call.abi_encode()).into());
    let out = l1.client.call(&req, alloy::eips::BlockId::latest()).await?;
    Ok(ToyVerifier::verifyProofCall::abi_decode_returns(&out).expect("a bool"))
}

#[tokio::test]
async fn the_toy_verifier_verifies_on_the_embedded_l1() {
    let (pk, vk) = toy_keys();
    let (proof, inputs) = toy_proof(&pk);
    assert!(groth16::verify(&vk, &inputs, &proof), "verifies natively first");
    let evm = EvmProof::from(&proof);
    let input = groth16::encode_fr(inputs[0]);

    let l1 = embedded_l1();
    let verifier = l1.sender.deploy(Contract::ToyVerifier.bytecode().clone()).await.unwrap();

    // The valid proof.
    assert!(call_verifier(&l1, verifier, &verify_call(&evm, input)).await.unwrap());

    // A wrong public input.
    let wrong = verify_call(&evm, input + U256::from(1));
    assert!(!call_verifier(&l1, verifier, &wrong).await.unwrap());
    // One tampered coordinate in each of A, B and C (points off the curve: the precompiles
    // refuse them, and the verifier answers false).
    for tamper in 0..8 {
        let mut bad = evm;
        match tamper {
            0 | 1 => bad.a[tamper] += U256::from(1),
            2..=5 => bad.b[(tamper - 2) / 2][tamper % 2] += U256::from(1),
            _ => bad.c[tamper - 6] += U256::from(1),
        }
        let ok = call_verifier(&l1, verifier, &verify_call(&bad, input)).await.unwrap();
        assert!(!ok, "tampered coordinate {tamper} verified");
    }
    // A valid point that is not the proof's: A replaced by -A.
    let mut negated = evm;
    negated.a[1] = groth16::g1_to_words(&(-proof.a))[1];
    assert!(!call_verifier(&l1, verifier, &verify_call(&negated, input)).await.unwrap());
    // B's coordinates in arkworks' order (real part first) instead of EIP-197's.
    let mut swapped = evm;
    swapped.b = [[evm.b[0][1], evm.b[0][0]], [evm.b[1][1], evm.b[1][0]]];
    assert!(!call_verifier(&l1, verifier, &verify_call(&swapped, input)).await.unwrap());

    // Malformed arguments revert with the custom errors.
    let err = call_verifier(&l1, verifier, &verify_call(&evm, input + scalar_modulus()))
        .await
        .unwrap_err();
    let ply_l1::Error::Reverted { data, .. } = &err else { panic!("{err}") };
    let decoded = ToyVerifier::ToyVerifierErrors::abi_decode(data).unwrap();
    assert_eq!(
        decoded,
        ToyVerifier::ToyVerifierErrors::PublicInputNotInField(ToyVerifier::PublicInputNotInField {
            index: U256::ZERO
        })
    );
    let mut non_canonical = evm;
    non_canonical.c[0] +=
        "21888242871839275222246405745257275088696311157297823662689037894645226208583"
            .parse::<U256>()
            .unwrap();
    let err = call_verifier(&l1, verifier, &verify_call(&non_canonical, input)).await.unwrap_err();
    let ply_l1::Error::Reverted { data, .. } = &err else { panic!("{err}") };
    assert!(matches!(
        ToyVerifier::ToyVerifierErrors::abi_decode(data).unwrap(),
        ToyVerifier::ToyVerifierErrors::ProofCoordinateNotInField(_)
    ));

    // The gas of a verification transaction (a transaction to the view function itself).
    let calldata = Bytes::from(verify_call(&evm, input).abi_encode());
    let req = TransactionRequest::default().to(verifier).input(calldata.clone().into());
    let estimate = l1.client.estimate_gas(&req).await.unwrap();
    let receipt = l1.sender.send_and_check(req).await.unwrap();
    eprintln!(
        "ToyVerifier.verifyProof (1 public input): {} gas used by the transaction \
         (estimate {estimate}), {} bytes of calldata",
        receipt.gas_used,
        calldata.len()
    );
    assert!(receipt.gas_used <= 250_000, "verification took {} gas", receipt.gas_used);
}

#[tokio::test]
async fn a_generated_verifier_deploys_for_another_key_by_replacing_its_key_blob() {
    let (pk, vk) = toy_keys();
    let (proof, inputs) = toy_proof(&pk);
    let evm = EvmProof::from(&proof);
    let input = groth16::encode_fr(inputs[0]);
    // The batch circuit's verifier, with the toy circuit's key put in: it verifies toy proofs.
    let template = ply_contracts::BatchVerifier::BYTECODE.clone();
    let code = ply_zk::verifier::verifier_bytecode(&template, &vk).unwrap();
    assert_eq!(code.len(), template.len());
    let l1 = embedded_l1();
    let verifier = l1.sender.deploy(code.into()).await.unwrap();
    assert!(call_verifier(&l1, verifier, &verify_call(&evm, input)).await.unwrap());
    assert!(
        !call_verifier(&l1, verifier, &verify_call(&evm, input + U256::from(1))).await.unwrap()
    );
    // Its own key gives back the template exactly; code without a key blob is refused.
    let own = ply_zk::verifier::verifier_bytecode(&Contract::ToyVerifier.bytecode().clone(), &vk)
        .unwrap();
    assert_eq!(&own[..], &Contract::ToyVerifier.bytecode()[..]);
    let err =
        ply_zk::verifier::verifier_bytecode(&ply_contracts::ZkRollup::BYTECODE, &vk).unwrap_err();
    assert!(err.to_string().contains("not a generated verifier"), "{err}");
}
