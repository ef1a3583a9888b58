//! The Data Availability Committee: a member stores and signs over JSON-RPC, keeps its data
//! across restarts and refuses malformed input; the client refuses lying members; the operator
//! collects a sorted quorum.

use alloy::{
    primitives::{Address, B256, Bytes, Signature, U256, address, keccak256},
    rpc::client::RpcClient,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolValue,
};
use jsonrpsee::{RpcModule, server::Server};
use ply_core::dev::dev_signer;
use ply_ledger::signature::SECP256K1_ORDER;
use ply_zk::{
    ZkError,
    circuit::sha256,
    dac::{
        DacClient, DacDomain, DacMember, DacMemberConfig, DacStore, StoredBatch,
        collect_signatures, dac_digest, data_hash, encode_signatures, sign_data_hash,
        verify_batch_data, verify_signature,
    },
};
use std::path::Path;

const DOMAIN: DacDomain =
    DacDomain { chain_id: 901, contract: address!("0x5FbDB2315678afecb367f032d93F642f64180aa3") };

fn signer(i: usize) -> PrivateKeySigner {
    dev_signer(i).unwrap()
}

async fn start(i: usize, dir: &Path) -> DacMember {
    DacMember::start(signer(i), DacMemberConfig::new(DOMAIN, dir, 0)).await.unwrap()
}

/// `records` transfer records of recognisable bytes.
fn batch(records: usize, seed: u8) -> Vec<u8> {
    (0..records * 12).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

fn raw(member: &DacMember) -> RpcClient {
    RpcClient::new_http(member.url().parse().unwrap())
}

#[tokio::test]
async fn store_then_get_round_trips_over_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let member = start(0, dir.path()).await;
    let client = member.client().unwrap();
    let info = client.info().await.unwrap();
    assert_eq!(
        (info.address, info.chain_id, info.contract),
        (signer(0).address(), 901, DOMAIN.contract)
    );

    let data = batch(40, 1);
    let signed = client.store(&data).await.unwrap();
    assert_eq!(signed.hash, B256::from(sha256(&data)));
    assert_eq!(signed.member, signer(0).address());
    assert_eq!(client.get(signed.hash).await.unwrap(), Some(data.clone()));
    // Storing the same batch again is fine and signs the same hash.
    assert_eq!(client.store(&data).await.unwrap().hash, signed.hash);
    // An empty transfer section is whole records too.
    assert_eq!(client.store(&[]).await.unwrap().hash, data_hash(&[]));
    member.stop().await;
}

#[tokio::test]
async fn signature_recovers_the_member_over_the_dac_digest() {
    let dir = tempfile::tempdir().unwrap();
    let member = start(3, dir.path()).await;
    let data = batch(5, 9);
    let stored: StoredBatch =
        raw(&member).request("dac_storeBatch", (Bytes::from(data.clone()),)).await.unwrap();
    assert_eq!(stored.hash, B256::from(sha256(&data)));
    assert_eq!(stored.member, signer(3).address());
    assert_eq!(stored.signature.len(), 65);
    assert!(matches!(stored.signature[64], 27 | 28));

    // The digest is abi.encodePacked(keccak256(tag), uint256 chainId, address, bytes32).
    let packed = (
        keccak256("ply.validium.dac.v1"),
        U256::from(DOMAIN.chain_id),
        DOMAIN.contract,
        stored.hash,
    )
        .abi_encode_packed();
    assert_eq!(packed.len(), 32 + 32 + 20 + 32);
    let digest = dac_digest(&DOMAIN, stored.hash);
    assert_eq!(digest, keccak256(&packed));

    let signature = Signature::from_raw(&stored.signature).unwrap();
    assert!(signature.normalize_s().is_none(), "low s");
    assert_eq!(signature.recover_address_from_prehash(&digest).unwrap(), signer(3).address());
    // Another domain gives another digest: the signature does not carry over.
    let other = DacDomain { chain_id: 902, ..DOMAIN };
    assert!(verify_signature(&other, stored.hash, signer(3).address(), &stored.signature).is_err());
    member.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    let member = start(1, dir.path()).await;
    let (a, b) = (batch(3, 2), batch(100, 3));
    let ha = member.client().unwrap().store(&a).await.unwrap().hash;
    let hb = member.client().unwrap().store(&b).await.unwrap().hash;
    member.stop().await;

    let member = start(1, dir.path()).await;
    let client = member.client().unwrap();
    assert_eq!(client.get(ha).await.unwrap(), Some(a));
    assert_eq!(client.get(hb).await.unwrap(), Some(b));
    member.stop().await;

    let store = DacStore::open(dir.path(), 1024).unwrap();
    assert_eq!(store.len().unwrap(), 2);
}

#[tokio::test]
async fn an_unknown_hash_is_null() {
    let dir = tempfile::tempdir().unwrap();
    let member = start(0, dir.path()).await;
    let unknown = B256::repeat_byte(0xab);
    assert_eq!(member.client().unwrap().get(unknown).await.unwrap(), None);
    let answer: serde_json::Value = raw(&member).request("dac_getBatch", (unknown,)).await.unwrap();
    assert!(answer.is_null());
    member.stop().await;
}

#[tokio::test]
async fn malformed_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DacMemberConfig::new(DOMAIN, dir.path(), 0);
    config.max_batch_bytes = 1200;
    let member = DacMember::start(signer(0), config).await.unwrap();
    let rpc = raw(&member);
    let cases: [(serde_json::Value, &str); 6] = [
        ("0xabc".into(), "hex"),
        ("0xzz00".into(), "hex"),
        (format!("0x{}", "00".repeat(13)).into(), "12-byte transfer records"),
        (format!("0x{}", "00".repeat(1212)).into(), "limit of 1200 bytes"),
        (42.into(), ""),
        (serde_json::Value::Null, ""),
    ];
    for (param, expected) in cases {
        let error = rpc
            .request::<_, serde_json::Value>("dac_storeBatch", (param.clone(),))
            .await
            .unwrap_err();
        let payload = error.as_error_resp().unwrap_or_else(|| panic!("{param}: {error}"));
        assert_eq!(payload.code, -32602, "{param}: {payload:?}");
        assert!(payload.message.contains(expected), "{param}: {}", payload.message);
    }
    let error = rpc.request::<_, serde_json::Value>("dac_getBatch", ("0x12",)).await.unwrap_err();
    assert_eq!(error.as_error_resp().unwrap().code, -32602);

    // The client says the same, and the member still serves.
    let client = member.client().unwrap();
    let error = client.store(&[0; 11]).await.unwrap_err().to_string();
    assert!(error.contains("not a whole number of 12-byte transfer records"), "{error}");
    let data = batch(100, 0);
    assert_eq!(client.get(client.store(&data).await.unwrap().hash).await.unwrap(), Some(data));
    assert!(DacStore::open(&dir.path().join("other"), 24).unwrap().put(&[0; 36]).is_err());
    member.stop().await;
}

#[test]
fn the_verification_functions_refuse_bad_signatures_and_wrong_data() {
    let data = batch(4, 5);
    let hash = data_hash(&data);
    let member = signer(0).address();
    let good = sign_data_hash(&signer(0), &DOMAIN, hash).unwrap();
    assert_eq!(verify_signature(&DOMAIN, hash, member, &good).unwrap(), good);

    // Another key, another hash, a flipped bit, a wrong length, v = 0/1, high s.
    let other = sign_data_hash(&signer(1), &DOMAIN, hash).unwrap();
    assert!(verify_signature(&DOMAIN, hash, member, &other).is_err());
    assert!(verify_signature(&DOMAIN, B256::ZERO, member, &good).is_err());
    let mut flipped = good;
    flipped[10] ^= 1;
    assert!(verify_signature(&DOMAIN, hash, member, &flipped).is_err());
    assert!(verify_signature(&DOMAIN, hash, member, &good[..64]).is_err());
    let mut v01 = good;
    v01[64] -= 27;
    let error = verify_signature(&DOMAIN, hash, member, &v01).unwrap_err().to_string();
    assert!(error.contains("27 or 28"), "{error}");
    let s = U256::from_be_slice(&good[32..64]);
    let mut high = good;
    high[32..64].copy_from_slice(&(SECP256K1_ORDER - s).to_be_bytes::<32>());
    high[64] = if good[64] == 27 { 28 } else { 27 };
    let digest = dac_digest(&DOMAIN, hash);
    // The high-s twin recovers the same key, and is refused all the same.
    assert_eq!(
        Signature::from_raw(&high).unwrap().recover_address_from_prehash(&digest).unwrap(),
        member
    );
    let error = verify_signature(&DOMAIN, hash, member, &high).unwrap_err().to_string();
    assert!(error.contains("not canonical"), "{error}");

    assert!(verify_batch_data(hash, &data).is_ok());
    let mut wrong = data.clone();
    wrong[0] ^= 1;
    assert!(verify_batch_data(hash, &wrong).is_err());
}

/// A member that signs with the wrong key and serves the wrong data.
async fn lying_member() -> (std::net::SocketAddr, jsonrpsee::server::ServerHandle) {
    let mut m = RpcModule::new(());
    m.register_method("dac_storeBatch", |params, _, _| {
        let data: Bytes = params.one()?;
        let hash = data_hash(&data);
        let signature = signer(5).sign_hash_sync(&dac_digest(&DOMAIN, hash)).unwrap();
        Ok::<_, jsonrpsee::types::ErrorObjectOwned>(StoredBatch {
            hash,
            member: signer(0).address(),
            signature: signature.as_bytes().into(),
        })
    })
    .unwrap();
    m.register_method("dac_getBatch", |_, _, _| Some(Bytes::from(batch(2, 77)))).unwrap();
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    (server.local_addr().unwrap(), server.start(m))
}

#[tokio::test]
async fn the_client_refuses_a_lying_member() {
    let (addr, server) = lying_member().await;
    let client = DacClient::new(&format!("http://{addr}"), signer(0).address(), DOMAIN).unwrap();
    let error = client.store(&batch(2, 1)).await.unwrap_err().to_string();
    assert!(error.contains(&signer(5).address().to_string()), "{error}");
    let error = client.get(data_hash(&batch(2, 1))).await.unwrap_err().to_string();
    assert!(error.contains("hash to"), "{error}");
    server.stop().unwrap();

    // An honest member that is not the one the client expects is refused too.
    let dir = tempfile::tempdir().unwrap();
    let member = start(2, dir.path()).await;
    let client = DacClient::new(&member.url(), signer(0).address(), DOMAIN).unwrap();
    assert!(client.store(&batch(1, 0)).await.is_err());
    // And one that signs in another domain.
    let client =
        DacClient::new(&member.url(), signer(2).address(), DacDomain { chain_id: 1, ..DOMAIN })
            .unwrap();
    assert!(client.store(&batch(1, 0)).await.is_err());
    member.stop().await;
}

#[tokio::test]
async fn collect_signatures_returns_a_sorted_quorum() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut members = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        members.push(start(i, dir.path()).await);
    }
    let clients: Vec<DacClient> = members.iter().map(|m| m.client().unwrap()).collect();
    let data = batch(50, 4);
    let hash = data_hash(&data);

    let all = collect_signatures(&clients, &data, 3).await.unwrap();
    assert_eq!(all.len(), 3);

    // Member 1 (0x7099…) goes away; 0x3C44… (2) and 0xf39F… (0) remain, in that order.
    members.remove(1).stop().await;
    let signatures = collect_signatures(&clients, &data, 2).await.unwrap();
    let signers: Vec<Address> = signatures.iter().map(|(a, _)| *a).collect();
    assert_eq!(signers, vec![signer(2).address(), signer(0).address()]);
    assert!(signers.windows(2).all(|w| w[0] < w[1]));
    for (member, signature) in &signatures {
        verify_signature(&DOMAIN, hash, *member, signature).unwrap();
    }
    let encoded = encode_signatures(&signatures);
    assert_eq!(encoded.len(), 130);
    assert_eq!(&encoded[..65], &signatures[0].1[..]);
    assert_eq!(&encoded[65..], &signatures[1].1[..]);

    let error = collect_signatures(&clients, &data, 3).await.unwrap_err();
    assert!(matches!(error, ZkError::DacQuorum { got: 2, threshold: 3, .. }), "{error}");
    assert!(error.to_string().contains("only 2 of the 3"), "{error}");

    for member in members {
        member.stop().await;
    }
}
