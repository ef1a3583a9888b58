//! Bad input to ply's JSON-RPC server over raw HTTP: malformed requests get the standard
//! JSON-RPC error codes, and every kind of bad transaction is refused with a sentence that says
//! what is wrong, leaving the chain untouched.

use crate::harness::ply_server;
use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy},
    eips::Encodable2718,
    primitives::{Address, Bytes, Signature, TxKind, U256, uint},
    signers::{SignerSync, local::PrivateKeySigner},
};
use ply_core::dev::dev_signer;
use ply_l1::chain::{ChainConfig, Mining};
use serde_json::{Value, json};

/// Posts `body` as it is; returns the JSON answer.
async fn post(url: &str, body: impl Into<reqwest::Body>) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn request(url: &str, method: &str, params: Value) -> Value {
    post(url, json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
        .await
}

/// The `error` member of an answer, which must have no `result`.
fn error_of(answer: &Value) -> (i64, String) {
    assert!(answer.get("result").is_none(), "expected an error, got {answer}");
    let error = &answer["error"];
    (error["code"].as_i64().expect("an error code"), error["message"].as_str().unwrap().to_owned())
}

fn sign(tx: TxEip1559, signer: &PrivateKeySigner) -> TxEnvelope {
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(signature))
}

fn raw(tx: &TxEnvelope) -> Bytes {
    tx.encoded_2718().into()
}

fn transfer(nonce: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: 31337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(1),
        ..Default::default()
    }
}

/// secp256k1's group order: `s` above half of it is "high".
const SECP256K1_N: U256 =
    uint!(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141_U256);

/// `tx`'s signed form with another signature.
fn resigned(tx: TxEip1559, signature: Signature) -> Bytes {
    raw(&TxEnvelope::from(tx.into_signed(signature)))
}

#[tokio::test]
async fn malformed_json_unknown_method_and_bad_params() {
    let (_node, url, _server) = ply_server(ChainConfig::default()).await;

    let (code, _) = error_of(&post(&url, r#"{"jsonrpc":"2.0","id":1,"method":"#).await);
    assert_eq!(code, -32700, "parse error");

    let (code, message) = error_of(&request(&url, "eth_noSuchMethod", json!([])).await);
    assert_eq!(code, -32601, "method not found: {message}");

    for (method, params) in [
        ("eth_getBalance", json!(["0xnot-an-address", "latest"])),
        ("eth_getBalance", json!([])),
        ("eth_getBlockByNumber", json!(["the third one", false])),
        ("eth_sendRawTransaction", json!([42])),
        ("evm_increaseTime", json!(["soon"])),
    ] {
        let (code, message) = error_of(&request(&url, method, params.clone()).await);
        assert_eq!(code, -32602, "invalid params for {method} {params}: {message}");
    }

    // The server still works.
    let answer = request(&url, "eth_chainId", json!([])).await;
    assert_eq!(answer["result"], "0x7a69");
}

/// What a test checks is untouched: the head, and the balance and nonces of the accounts.
async fn chain_state(url: &str, accounts: &[Address]) -> Value {
    let mut state = vec![request(url, "eth_blockNumber", json!([])).await["result"].clone()];
    for a in accounts {
        for method in ["eth_getBalance", "eth_getTransactionCount"] {
            for tag in ["latest", "pending"] {
                state.push(request(url, method, json!([a, tag])).await["result"].clone());
            }
        }
    }
    Value::Array(state)
}

#[tokio::test]
async fn bad_transactions_are_refused_with_a_reason_and_change_nothing() {
    let (_node, url, _server) = ply_server(ChainConfig::default()).await;
    let dev = dev_signer(0).unwrap();
    let broke = PrivateKeySigner::from_bytes(&alloy::primitives::keccak256("no funds")).unwrap();

    // Use nonce 0 so that "nonce too low" has something to be below.
    let first =
        request(&url, "eth_sendRawTransaction", json!([raw(&sign(transfer(0), &dev))])).await;
    assert!(first.get("result").is_some(), "{first}");

    let good = sign(transfer(1), &dev);
    let signature = *good.signature();
    let mut with_trailing = raw(&good).to_vec();
    with_trailing.push(0);
    let legacy_for_mainnet = {
        let tx = TxLegacy {
            chain_id: Some(1),
            nonce: 1,
            gas_price: 10_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(0x77)),
            value: U256::from(1),
            ..Default::default()
        };
        let sig = dev.sign_hash_sync(&tx.signature_hash()).unwrap();
        raw(&TxEnvelope::from(tx.into_signed(sig)))
    };
    let cases: Vec<(&str, Bytes, &str)> = vec![
        (
            "r = 0 does not recover",
            resigned(transfer(1), Signature::new(U256::ZERO, signature.s(), signature.v())),
            "invalid transaction signature",
        ),
        (
            "s = 0 does not recover",
            resigned(transfer(1), Signature::new(signature.r(), U256::ZERO, signature.v())),
            "invalid transaction signature",
        ),
        (
            "high s (EIP-2), otherwise the same signer",
            resigned(
                transfer(1),
                Signature::new(signature.r(), SECP256K1_N - signature.s(), !signature.v()),
            ),
            "invalid transaction signature",
        ),
        (
            "nonce below the account's",
            raw(&sign(TxEip1559 { value: U256::from(2), ..transfer(0) }, &dev)),
            "nonce too low",
        ),
        ("nonce far ahead", raw(&sign(transfer(1 + 2000), &dev)), "nonce too high"),
        (
            "value above the balance",
            raw(&sign(TxEip1559 { value: U256::from(10u128.pow(22)), ..transfer(1) }, &dev)),
            "insufficient funds",
        ),
        ("no balance for gas", raw(&sign(transfer(0), &broke)), "insufficient funds"),
        (
            "gas limit above the block's",
            raw(&sign(TxEip1559 { gas_limit: 30_000_001, ..transfer(1) }, &dev)),
            "exceeds the block gas limit",
        ),
        (
            "gas limit above the per-transaction cap",
            raw(&sign(TxEip1559 { gas_limit: (1 << 24) + 1, ..transfer(1) }, &dev)),
            "per-transaction gas cap",
        ),
        (
            "gas limit below intrinsic gas",
            raw(&sign(TxEip1559 { gas_limit: 20_999, ..transfer(1) }, &dev)),
            "intrinsic gas too low",
        ),
        (
            "fee cap below the base fee",
            raw(&sign(
                TxEip1559 { max_fee_per_gas: 7, max_priority_fee_per_gas: 7, ..transfer(1) },
                &dev,
            )),
            "below the block base fee",
        ),
        (
            "another chain id",
            raw(&sign(TxEip1559 { chain_id: 1, ..transfer(1) }, &dev)),
            "invalid chain id",
        ),
        ("a legacy transaction for mainnet", legacy_for_mainnet, "invalid chain id"),
        (
            "not a transaction",
            Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
            "could not be decoded",
        ),
        ("empty", Bytes::new(), "could not be decoded"),
        ("trailing bytes", with_trailing.into(), "could not be decoded"),
        ("the mined transaction again", raw(&sign(transfer(0), &dev)), "nonce too low"),
    ];

    let accounts = [dev.address(), broke.address(), Address::repeat_byte(0x77)];
    let before = chain_state(&url, &accounts).await;
    for (what, raw, expected) in cases {
        let answer = request(&url, "eth_sendRawTransaction", json!([raw])).await;
        let (code, message) = error_of(&answer);
        assert_eq!(code, -32000, "{what}: {message}");
        assert!(message.contains(expected), "{what}: expected {expected:?} in {message:?}");
        assert_eq!(chain_state(&url, &accounts).await, before, "{what} changed the chain");
    }

    // The good transaction still goes through afterwards.
    let answer = request(&url, "eth_sendRawTransaction", json!([raw(&good)])).await;
    assert!(answer.get("result").is_some(), "{answer}");
}

#[tokio::test]
async fn underpriced_replacement_is_refused() {
    let (node, url, _server) =
        ply_server(ChainConfig { mining: Mining::Manual, ..Default::default() }).await;
    let dev = dev_signer(0).unwrap();
    let pooled = sign(transfer(0), &dev);
    assert!(
        request(&url, "eth_sendRawTransaction", json!([raw(&pooled)]))
            .await
            .get("result")
            .is_some()
    );

    // Same nonce, 5% more: not enough to replace (nodes ask 10%).
    let cheap = sign(
        TxEip1559 {
            max_fee_per_gas: 10_500_000_000,
            max_priority_fee_per_gas: 1_050_000_000,
            value: U256::from(2),
            ..transfer(0)
        },
        &dev,
    );
    let (code, message) =
        error_of(&request(&url, "eth_sendRawTransaction", json!([raw(&cheap)])).await);
    assert_eq!(code, -32000);
    assert!(message.contains("replacement transaction underpriced"), "{message}");
    // The same transaction again.
    let (_, message) =
        error_of(&request(&url, "eth_sendRawTransaction", json!([raw(&pooled)])).await);
    assert!(message.contains("already known"), "{message}");

    // 20% more replaces it.
    let replacement = sign(
        TxEip1559 {
            max_fee_per_gas: 12_000_000_000,
            max_priority_fee_per_gas: 1_200_000_000,
            value: U256::from(3),
            ..transfer(0)
        },
        &dev,
    );
    assert!(
        request(&url, "eth_sendRawTransaction", json!([raw(&replacement)]))
            .await
            .get("result")
            .is_some()
    );
    node.with(|c| c.mine(None)).unwrap();
    let mined = node.with(|c| c.head().transactions.iter().map(|t| t.hash).collect::<Vec<_>>());
    assert_eq!(mined, vec![*replacement.tx_hash()]);
}

/// Transactions the EVM would refuse (tip above the fee cap, oversized init code) are refused
/// on admission, with no block mined for them.
#[tokio::test]
async fn transactions_refused_by_the_evm_change_nothing() {
    let (_node, url, _server) = ply_server(ChainConfig::default()).await;
    let dev = dev_signer(0).unwrap();
    let cases: Vec<(&str, Bytes, &str)> = vec![
        (
            "tip above the fee cap",
            raw(&sign(
                TxEip1559 {
                    max_fee_per_gas: 2_000_000_000,
                    max_priority_fee_per_gas: 3_000_000_000,
                    ..transfer(0)
                },
                &dev,
            )),
            "priority fee",
        ),
        (
            "init code above the EIP-3860 limit",
            raw(&sign(
                TxEip1559 {
                    to: TxKind::Create,
                    gas_limit: 15_000_000,
                    input: vec![0u8; 49_153].into(),
                    ..transfer(0)
                },
                &dev,
            )),
            "initcode",
        ),
    ];
    let accounts = [dev.address()];
    let mut failures = Vec::new();
    for (what, raw, expected) in cases {
        let before = chain_state(&url, &accounts).await;
        let (code, message) =
            error_of(&request(&url, "eth_sendRawTransaction", json!([raw])).await);
        if code != -32000 || !message.contains(expected) {
            failures.push(format!("{what}: expected {expected:?}, got {code} {message:?}"));
        }
        let after = chain_state(&url, &accounts).await;
        if after != before {
            failures.push(format!("{what} changed the chain: {before} -> {after}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
