//! The EIP-712 fixtures made by forge against the Solidity contracts
//! (`tests/fixtures/eip712_v1.json`): our domain, struct hashes, digests, channel ids, lock
//! encodings and signatures must match them byte for byte.

use alloy::{primitives::Signature, signers::local::PrivateKeySigner, sol_types::SolStruct};
use ply_channels::{
    BalanceProof, ChannelError,
    channel::channel_id,
    eip712::{
        self, ChannelDomain, CooperativeClose, NonClosingUpdate, recover, sign_digest,
        signature_from_bytes, signature_to_bytes,
    },
    lock::{Lock, PendingLocks, secrethash},
};
use ply_core::{Address, B256, U256};
use serde_json::Value;
use std::str::FromStr;

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eip712_v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn b256(v: &Value) -> B256 {
    B256::from_str(v.as_str().unwrap()).unwrap()
}

fn u256(v: &Value) -> U256 {
    match v {
        Value::String(s) => U256::from_str(s).unwrap(),
        Value::Number(n) => U256::from(n.as_u64().unwrap()),
        _ => panic!("not a number: {v}"),
    }
}

fn addr(v: &Value) -> Address {
    Address::from_str(v.as_str().unwrap()).unwrap()
}

fn sig(v: &Value) -> [u8; 65] {
    alloy::hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn keys(f: &Value) -> Vec<PrivateKeySigner> {
    f["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let signer = PrivateKeySigner::from_str(k["privateKey"].as_str().unwrap()).unwrap();
            assert_eq!(signer.address(), addr(&k["address"]));
            signer
        })
        .collect()
}

fn key_of(keys: &[PrivateKeySigner], a: Address) -> &PrivateKeySigner {
    keys.iter().find(|k| k.address() == a).expect("a fixture key")
}

fn domain(f: &Value) -> ChannelDomain {
    let d = &f["domain"];
    assert_eq!(d["name"], ChannelDomain::NAME);
    assert_eq!(d["version"], ChannelDomain::VERSION);
    ChannelDomain::new(d["chainId"].as_u64().unwrap(), addr(&d["verifyingContract"]))
}

#[test]
fn domain_type_hashes_channel_ids_and_locks_match_forge() {
    let f = load();
    assert_eq!(f["version"], 1);
    let domain = domain(&f);
    assert_eq!(domain.separator(), b256(&f["domainSeparator"]));
    let th = &f["typeHashes"];
    assert_eq!(
        ply_core::keccak256(eip712::BalanceProof::eip712_encode_type().as_bytes()),
        b256(&th["BalanceProof"])
    );
    assert_eq!(
        ply_core::keccak256(NonClosingUpdate::eip712_encode_type().as_bytes()),
        b256(&th["NonClosingUpdate"])
    );
    assert_eq!(
        ply_core::keccak256(CooperativeClose::eip712_encode_type().as_bytes()),
        b256(&th["CooperativeClose"])
    );
    for c in f["channels"].as_array().unwrap() {
        let (p1, p2, token) =
            (addr(&c["participant1"]), addr(&c["participant2"]), addr(&c["token"]));
        assert_eq!(channel_id(p1, p2, token), b256(&c["channelId"]));
        assert_eq!(channel_id(p2, p1, token), b256(&c["channelId"]), "order does not matter");
    }
    let mut locks = PendingLocks::default();
    for l in f["locks"]["items"].as_array().unwrap() {
        let secret = b256(&l["secret"]);
        assert_eq!(secrethash(&secret), b256(&l["secrethash"]));
        let lock = Lock {
            amount: u256(&l["amount"]),
            expiration: l["expiration"].as_u64().unwrap(),
            secrethash: b256(&l["secrethash"]),
        };
        assert_eq!(alloy::hex::encode_prefixed(lock.encode()), l["encoded"].as_str().unwrap());
        locks = locks.with(lock).unwrap();
    }
    assert_eq!(
        alloy::hex::encode_prefixed(locks.encode()),
        f["locks"]["encoded"].as_str().unwrap()
    );
    assert_eq!(locks.root(), b256(&f["locks"]["locksRoot"]));
    assert_eq!(locks.locked_amount(), u256(&f["locks"]["lockedAmount"]));
}

#[test]
fn balance_proofs_and_updates_sign_as_forge_does() {
    let f = load();
    let domain = domain(&f);
    let keys = keys(&f);
    for bp in f["balanceProofs"].as_array().unwrap() {
        let proof = BalanceProof {
            chain_id: domain.chain_id(),
            token_network: domain.token_network(),
            channel_id: b256(&bp["channelId"]),
            generation: bp["generation"].as_u64().unwrap(),
            nonce: bp["nonce"].as_u64().unwrap(),
            transferred_amount: u256(&bp["transferredAmount"]),
            locked_amount: u256(&bp["lockedAmount"]),
            locks_root: b256(&bp["locksRoot"]),
        };
        assert_eq!(proof.struct_hash(), b256(&bp["structHash"]));
        assert_eq!(domain.digest(proof.struct_hash()), b256(&bp["digest"]));
        let signer = addr(&bp["signer"]);
        let signed = proof.sign(key_of(&keys, signer)).unwrap();
        assert_eq!(
            signature_to_bytes(&signed.signature),
            sig(&bp["signature"]),
            "RFC 6979 signatures agree"
        );
        assert_eq!(signed.signer().unwrap(), signer);
        if let Some(high) = bp.get("highSSignature") {
            let high: Signature = signature_from_bytes(&sig(high)).unwrap();
            let forged = ply_channels::SignedBalanceProof { proof, signature: high };
            assert!(matches!(forged.signer(), Err(ChannelError::BadSignature { .. })));
        }
    }
    for u in f["nonClosingUpdates"].as_array().unwrap() {
        let update = NonClosingUpdate {
            channelId: b256(&u["channelId"]),
            generation: u["generation"].as_u64().unwrap(),
            balanceProofHash: b256(&u["balanceProofHash"]),
        };
        assert_eq!(update.eip712_hash_struct(), b256(&u["structHash"]));
        assert_eq!(domain.signing_hash(&update), b256(&u["digest"]));
        let signer = addr(&u["signer"]);
        let s = domain.sign(&update, key_of(&keys, signer)).unwrap();
        assert_eq!(signature_to_bytes(&s), sig(&u["signature"]));
    }
    for c in f["cooperativeCloses"].as_array().unwrap() {
        let close = CooperativeClose {
            channelId: b256(&c["channelId"]),
            generation: c["generation"].as_u64().unwrap(),
            balance1: u256(&c["balance1"]),
            balance2: u256(&c["balance2"]),
        };
        assert_eq!(close.eip712_hash_struct(), b256(&c["structHash"]));
        let digest = domain.signing_hash(&close);
        assert_eq!(digest, b256(&c["digest"]));
        for field in ["signature1", "signature2"] {
            let theirs = signature_from_bytes(&sig(&c[field])).unwrap();
            let signer = recover(&digest, &theirs).unwrap();
            let ours = sign_digest(&digest, key_of(&keys, signer)).unwrap();
            assert_eq!(ours, theirs, "{field}");
        }
    }
}
