//! A proven batch verified on L1: the batch circuit's checked-in `BatchVerifier.sol` (fresh
//! against the development setup of [`BATCH_PARAMS`]), and a real batch (deposits, a transfer,
//! a withdrawal) proven with Groth16, verified natively and by the contract on the embedded L1.

use alloy::primitives::{Address as L1Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use ply_contracts::{BatchVerifier, Contract};
use ply_core::{Address, dev::dev_signer};
use ply_l1::client::{DynL1Client, EmbeddedClient, TxSender};
use ply_l1::{chain::ChainConfig, node::Node};
use ply_zk::circuit::{
    BatchParams, BatchWitness, ZkDeposit, ZkOperation, ZkState, ZkTransfer, ZkWithdrawal,
};
use ply_zk::eddsa::SecretKey;
use ply_zk::groth16::{self, ConstraintMatrices, EvmProof, KeyStore, Keys};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The shape behind the checked-in `BatchVerifier.sol`: account depth 4, token depth 2,
/// 2 deposit, 2 transfer and 1 withdrawal slots, 1 fee slot.
pub(crate) const BATCH_PARAMS: BatchParams = BatchParams {
    account_depth: 4,
    token_depth: 2,
    deposits: 2,
    transfers: 2,
    withdrawals: 1,
    fee_tokens: 1,
};
/// The seed of the development setup behind the checked-in `BatchVerifier.sol`.
const BATCH_SEED: u64 = 4242;
/// The seed of the proving randomness.
const PROOF_SEED: u64 = 11;

const REGENERATE: &str = "regenerate with `cargo test -p ply-zk --test it -- --ignored \
                          write_batch_verifier`, then `scripts/contracts.sh build`";

const ETHER: u128 = 1_000_000_000_000_000_000;

/// The signing domain of this test's deployment.
fn domain() -> ply_zk::Fr {
    ply_zk::circuit::signing_domain(31337, Address::repeat_byte(0xdd))
}

fn batch_verifier_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/src/zk/BatchVerifier.sol")
}

pub(crate) fn key(index: usize) -> SecretKey {
    SecretKey::from_ethereum_signer(&dev_signer(index).unwrap()).unwrap()
}

fn genesis() -> ZkState {
    ZkState::new(&BATCH_PARAMS, domain(), Address::repeat_byte(0xee), key(0).public_key()).unwrap()
}

/// The keys of [`BATCH_PARAMS`] (seed [`BATCH_SEED`]) with the circuit's matrices, set up once
/// and cached by a [`KeyStore`] in the target directory; cached keys of another circuit (the
/// circuit changed) are set up again.
pub(crate) fn batch_keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let circuit = BatchWitness::build(&mut genesis(), &BATCH_PARAMS, &[]).unwrap().circuit;
        let store =
            KeyStore::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ply-zk-batch-keys"));
        match store.load_or_setup("batch", circuit.clone(), BATCH_SEED) {
            Err(
                groth16::Groth16Error::ShapeMismatch { .. }
                | groth16::Groth16Error::BadManifest { .. },
            ) => {
                std::fs::remove_dir_all(store.dir()).unwrap();
                store.load_or_setup("batch", circuit, BATCH_SEED)
            }
            keys => keys,
        }
        .expect("the batch circuit's keys")
    })
}

/// The test batch circuit's constraint matrices (those of [`batch_keys`]).
pub(crate) fn batch_matrices() -> &'static Arc<ConstraintMatrices> {
    &batch_keys().matrices
}

fn batch_verifier_source() -> String {
    ply_zk::verifier::solidity_verifier(&batch_keys().vk, "BatchVerifier", REGENERATE)
}

#[test]
fn the_checked_in_batch_verifier_is_fresh() {
    let fresh = batch_verifier_source();
    let path = batch_verifier_path();
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(checked_in == fresh, "{} is stale (or missing): {REGENERATE}", path.display());
}

/// Writes `contracts/src/zk/BatchVerifier.sol`; run with `--ignored` after changing the
/// generator or the batch circuit.
#[test]
#[ignore = "writes contracts/src/zk/BatchVerifier.sol"]
fn write_batch_verifier() {
    let path = batch_verifier_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, batch_verifier_source()).unwrap();
    eprintln!("wrote {}", path.display());
}

/// Alice (1) and Bob (2) deposit; Alice pays Bob 0.25 ETH with a fee; Bob withdraws 0.1 ETH.
fn batch_ops() -> Vec<ZkOperation> {
    let (alice, bob) = (key(1), key(2));
    vec![
        ZkOperation::Deposit(ZkDeposit {
            to: Address::repeat_byte(0xa1),
            public_key: alice.public_key(),
            token: 1,
            amount: ETHER,
        }),
        ZkOperation::Deposit(ZkDeposit {
            to: Address::repeat_byte(0xb0),
            public_key: bob.public_key(),
            token: 1,
            amount: 5,
        }),
        ZkOperation::Transfer(ZkTransfer::signed(
            &alice,
            domain(),
            1,
            2,
            1,
            ETHER / 4,
            3_000_000_000_000,
            0,
        )),
        ZkOperation::Withdrawal(ZkWithdrawal::signed(&bob, domain(), 2, 1, ETHER / 10, 0, 0)),
    ]
}

fn verify_call(proof: &EvmProof, input: U256) -> BatchVerifier::verifyProofCall {
    BatchVerifier::verifyProofCall { a: proof.a, b: proof.b, c: proof.c, input: [input] }
}

async fn call_verifier(
    client: &DynL1Client,
    verifier: L1Address,
    call: &BatchVerifier::verifyProofCall,
) -> bool {
    let req =
        TransactionRequest::default().to(verifier).input(Bytes::from(call.abi_encode()).into());
    let out = client.call(&req, alloy::eips::BlockId::latest()).await.unwrap();
    BatchVerifier::verifyProofCall::abi_decode_returns(&out).expect("a bool")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proven_batch_verifies_on_the_embedded_l1() {
    let Keys { pk, vk, .. } = batch_keys();
    let mut state = genesis();
    let witness = BatchWitness::build(&mut state, &BATCH_PARAMS, &batch_ops()).unwrap();
    assert_eq!(state.account_count(), 3, "the operator, Alice and Bob");
    witness.circuit.check().expect("the witness satisfies the circuit");

    let started = std::time::Instant::now();
    let proof = groth16::prove_with(
        pk,
        batch_matrices(),
        witness.circuit.clone(),
        &mut StdRng::seed_from_u64(PROOF_SEED),
    )
    .unwrap();
    eprintln!("proved the batch in {:?}", started.elapsed());
    // A tampered witness is refused by the check against the matrices, before any proving.
    let mut lie = witness.circuit.clone();
    lie.transfers[0].sender.nonce += 1;
    let err =
        groth16::prove_with(pk, batch_matrices(), lie, &mut StdRng::seed_from_u64(1)).unwrap_err();
    assert!(matches!(err, groth16::Groth16Error::Unsatisfied { .. }), "{err}");
    assert!(groth16::verify(vk, &[witness.commitment], &proof), "verifies natively");
    let wrong = witness.commitment + ply_zk::Fr::from(1u64);
    assert!(!groth16::verify(vk, &[wrong], &proof));

    let node = Node::new(ChainConfig::default());
    let client: DynL1Client = Arc::new(EmbeddedClient::new(node));
    let sender = TxSender::new(client.clone(), dev_signer(0).unwrap());
    let verifier = sender.deploy(Contract::BatchVerifier.bytecode().clone()).await.unwrap();

    let evm = EvmProof::from(&proof);
    let input = groth16::encode_fr(witness.commitment);
    assert!(call_verifier(&client, verifier, &verify_call(&evm, input)).await, "the batch");

    // A wrong commitment: another public data, or one bit flipped.
    let mut onchain = witness.onchain.clone();
    *onchain.last_mut().unwrap() ^= 1;
    let other = ply_zk::circuit::batch_commitment(
        domain(),
        witness.circuit.old_root,
        witness.circuit.new_root,
        &onchain,
        &witness.transfers,
        &witness.priority_ops,
    );
    let other = groth16::encode_fr(other);
    assert!(!call_verifier(&client, verifier, &verify_call(&evm, other)).await);
    assert!(!call_verifier(&client, verifier, &verify_call(&evm, input ^ U256::from(1))).await);
    // Tampered proofs: a coordinate changed, or A replaced by -A.
    let mut bad = evm;
    bad.c[0] += U256::from(1);
    assert!(!call_verifier(&client, verifier, &verify_call(&bad, input)).await);
    let mut negated = evm;
    negated.a[1] = groth16::g1_to_words(&(-proof.a))[1];
    assert!(!call_verifier(&client, verifier, &verify_call(&negated, input)).await);
    // A proof of another batch does not verify this one's commitment, and vice versa.
    let mut other_state = genesis();
    let other_witness =
        BatchWitness::build(&mut other_state, &BATCH_PARAMS, &batch_ops()[..2]).unwrap();
    assert_ne!(other_witness.commitment, witness.commitment);
    let other_input = groth16::encode_fr(other_witness.commitment);
    assert!(!call_verifier(&client, verifier, &verify_call(&evm, other_input)).await);

    // The gas of a verification transaction.
    let calldata = Bytes::from(verify_call(&evm, input).abi_encode());
    let req = TransactionRequest::default().to(verifier).input(calldata.clone().into());
    let estimate = client.estimate_gas(&req).await.unwrap();
    let receipt = sender.send_and_check(req).await.unwrap();
    eprintln!(
        "BatchVerifier.verifyProof: {} gas used by the transaction (estimate {estimate}), {} \
         bytes of calldata",
        receipt.gas_used,
        calldata.len()
    );
    assert!(receipt.gas_used <= 250_000, "verification took {} gas", receipt.gas_used);
}
