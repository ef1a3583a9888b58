//! The values `contracts/test/plasma/Fixtures.t.sol` pins (and writes to
//! `tests/fixtures/plasma_v1.json`), recomputed here: the Rust core and the contracts agree
//! byte for byte.

use alloy::primitives::{Address, B256, U160, U256, hex};
use alloy::signers::local::PrivateKeySigner;
use ply_plasma::exit::{in_flight_exit_id, priority, standard_exit_id};
use ply_plasma::tx::output_id;
use ply_plasma::{
    BlockTree, InclusionProof, Output, PaymentTx, SigningDomain, TxSignature, UtxoPos,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plasma_v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
        .expect("fixture JSON")
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))).expect("hex")
}

fn b256(v: &Value, key: &str) -> B256 {
    B256::from_slice(&bytes(v, key))
}

fn key() -> PrivateKeySigner {
    let mut k = [0u8; 32];
    k[29..].copy_from_slice(&[0x0a, 0x11, 0xce]);
    PrivateKeySigner::from_slice(&k).expect("key")
}

fn sample(signer: Address) -> PaymentTx {
    PaymentTx::new(
        vec![UtxoPos::new(1000, 3, 1).unwrap(), UtxoPos::new(2, 0, 0).unwrap()],
        vec![
            Output {
                owner: PrivateKeySigner::from_slice(&{
                    let mut k = [0u8; 32];
                    k[30..].copy_from_slice(&[0x0b, 0x0b]);
                    k
                })
                .unwrap()
                .address(),
                token: Address::ZERO,
                amount: U256::from(5_000_000_000_000_000_000u128),
            },
            Output { owner: signer, token: Address::repeat_byte(0x22), amount: U256::from(7) },
        ],
        B256::from(U256::from(42)),
    )
    .unwrap()
}

#[test]
fn transaction_encoding_hash_and_ids_match_the_contracts() {
    let f = fixture();
    assert_eq!(f["version"], 1);
    let signer = key();
    assert_eq!(Address::from_slice(&bytes(&f, "signer")), signer.address());
    let tx = sample(signer.address());
    assert_eq!(tx.encode(), bytes(&f, "tx"));
    assert_eq!(PaymentTx::decode(&bytes(&f, "tx")).unwrap(), tx);
    assert_eq!(tx.hash(), b256(&f, "tx_hash"));
    assert_eq!(tx.output_id(1), b256(&f, "output_id_1"));
    assert_eq!(output_id(tx.hash(), 1), b256(&f, "output_id_1"));
    let std_id = standard_exit_id(tx.hash(), 1);
    assert_eq!(std_id, U160::from_be_slice(&bytes(&f, "standard_exit_id_1")));
    assert_eq!(in_flight_exit_id(tx.hash()), U160::from_be_slice(&bytes(&f, "in_flight_exit_id")));
    assert_eq!(
        priority(1_700_000_000, tx.inputs()[0], std_id),
        U256::from_be_bytes(b256(&f, "priority").0)
    );
}

#[test]
fn eip712_signing_matches_the_contracts() {
    let f = fixture();
    let signer = key();
    let domain = SigningDomain::new(
        f["chain_id"].as_u64().unwrap(),
        Address::from_slice(&bytes(&f, "verifying_contract")),
    );
    let tx = sample(signer.address());
    assert_eq!(domain.separator(), b256(&f, "domain_separator"));
    assert_eq!(tx.struct_hash(), b256(&f, "struct_hash"));
    let digest = tx.signing_hash(&domain);
    assert_eq!(digest, b256(&f, "digest"));
    // forge's signature (RFC 6979, like ours) recovers the key, and ours is the same bytes
    let theirs = TxSignature::from_slice(&bytes(&f, "signature")).unwrap();
    assert_eq!(theirs.recover(&digest).unwrap(), signer.address());
    let ours = tx.sign(&signer, &domain).unwrap();
    assert_eq!(ours.recover(&digest).unwrap(), signer.address());
    assert_eq!(ours, theirs);
}

#[test]
fn deposit_and_block_trees_match_the_contracts() {
    let f = fixture();
    let signer = key();
    let deposit =
        PaymentTx::deposit(signer.address(), Address::ZERO, U256::from(10u64.pow(18)), 1).unwrap();
    assert_eq!(deposit.encode(), bytes(&f, "deposit_tx"));
    let single = BlockTree::new(vec![deposit.hash()]).unwrap();
    assert_eq!(single.root(), b256(&f, "deposit_root"));
    assert_eq!(single.proof(0).unwrap(), InclusionProof::single_leaf());

    let tx = sample(signer.address());
    let tree = BlockTree::new(vec![tx.hash(), deposit.hash(), tx.hash()]).unwrap();
    assert_eq!(tree.root(), b256(&f, "block_root"));
    let proof = tree.proof(1).unwrap();
    assert_eq!(proof.to_bytes(), bytes(&f, "proof_1"));
    assert!(proof.verify(deposit.hash(), 1, tree.root()));
    assert_eq!(InclusionProof::from_bytes(&bytes(&f, "proof_1")).unwrap(), proof);
}
