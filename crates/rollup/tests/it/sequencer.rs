//! The sequencer on its own: ordering, refusals, durability across restarts.

use alloy::primitives::{Address, U256};
use ply_core::dev::dev_signer;
use ply_ledger::{Deposit, LedgerConfig, SignedTx, Transfer, Tx};
use ply_rollup::{
    BatchLimits, RollupConfig,
    sequencer::{Sequencer, TxStatus},
};
use std::time::Duration;

fn config() -> RollupConfig {
    RollupConfig {
        l2_chain_id: 901,
        rollup: Address::repeat_byte(0x42),
        bridge: Address::repeat_byte(0x43),
        ledger: LedgerConfig::new(Address::repeat_byte(0xfe)),
        block_time: Duration::from_millis(50),
        max_block_txs: 1_000,
        l1_confirmations: 0,
        batch: BatchLimits::default(),
    }
}

/// An ETH transfer from dev account `from` with a fee of 10 wei.
fn transfer(from: usize, to: Address, amount: u64, nonce: u64, config: &RollupConfig) -> SignedTx {
    let signer = dev_signer(from).unwrap();
    crate::harness::transfer(&signer, to, 0, U256::from(amount), U256::from(10u64), nonce, config)
}

/// A sequencer on a fresh data dir, with dev account 1 (alice) funded with `funds` wei;
/// returns the dir (keep it alive), the config, alice, bob (dev account 2) and the sequencer.
async fn started(funds: u64) -> (tempfile::TempDir, RollupConfig, Address, Address, Sequencer) {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let alice = dev_signer(1).unwrap().address();
    let bob = dev_signer(2).unwrap().address();
    let sequencer = Sequencer::start(&config, dir.path()).unwrap();
    fund(&sequencer, alice, funds, 0).await;
    (dir, config, alice, bob, sequencer)
}

async fn fund(sequencer: &Sequencer, who: Address, amount: u64, index: u64) {
    sequencer
        .queue_deposits(vec![Deposit {
            queue_index: index,
            to: who,
            token: 0,
            amount: U256::from(amount),
            ..Default::default()
        }])
        .await
        .unwrap();
    for _ in 0..200 {
        if sequencer.account(who).await.unwrap().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("deposit to {who} not applied");
}

#[tokio::test]
async fn confirmations_survive_a_restart_with_the_same_root() {
    let (dir, config, alice, bob, sequencer) = started(1_000_000).await;

    let mut hashes = Vec::new();
    for nonce in 0..50 {
        let confirmation = sequencer.submit(transfer(1, bob, 100, nonce, &config)).await.unwrap();
        hashes.push(confirmation.hash);
    }
    let root = sequencer.query(|state, _| state.ledger().root()).await.unwrap();
    let alice_before = sequencer.account(alice).await.unwrap().unwrap();
    assert_eq!(alice_before.nonce, 50);
    assert_eq!(alice_before.balances[&0], U256::from(1_000_000u64 - 50 * 110));
    // Stop without sealing the open block: a crash in the middle of a block.
    sequencer.shutdown().await;

    let sequencer = Sequencer::start(&config, dir.path()).unwrap();
    let recovered = sequencer.query(|state, _| state.ledger().root()).await.unwrap();
    assert_eq!(recovered, root);
    for hash in &hashes {
        let (_, status) = sequencer.status(*hash).await.unwrap().expect("confirmed tx survives");
        assert_eq!(status, TxStatus::SoftConfirmed);
    }
    assert_eq!(sequencer.account(alice).await.unwrap().unwrap(), alice_before);
    // And it goes on from there.
    sequencer.submit(transfer(1, bob, 100, 50, &config)).await.unwrap();
    sequencer.shutdown().await;
}

#[tokio::test]
async fn refusals_change_nothing_and_say_why() {
    let (_dir, config, alice, bob, sequencer) = started(1_000).await;
    sequencer.submit(transfer(1, bob, 100, 0, &config)).await.unwrap();
    let root = sequencer.query(|state, _| state.ledger().root()).await.unwrap();

    let replay = sequencer.submit(transfer(1, bob, 100, 0, &config)).await.unwrap_err();
    assert!(replay.to_string().contains("nonce"), "{replay}");
    let gap = sequencer.submit(transfer(1, bob, 100, 5, &config)).await.unwrap_err();
    assert!(gap.to_string().contains("nonce"), "{gap}");
    let too_much = sequencer.submit(transfer(1, bob, 10_000, 1, &config)).await.unwrap_err();
    assert!(too_much.to_string().contains("balance"), "{too_much}");
    let mut forged = transfer(1, bob, 100, 1, &config);
    forged.tx = Tx::Transfer(Transfer {
        from: alice,
        to: bob,
        token: 0,
        amount: U256::from(999u64),
        fee: U256::from(10u64),
        nonce: 1,
    });
    let forged = sequencer.submit(forged).await.unwrap_err();
    assert!(forged.to_string().contains("sign"), "{forged}");
    let unknown_token = {
        let signer = dev_signer(1).unwrap();
        Tx::Transfer(Transfer {
            from: alice,
            to: bob,
            token: 7,
            amount: U256::from(1u64),
            fee: U256::ZERO,
            nonce: 1,
        })
        .sign(&signer, &config.domain())
        .unwrap()
    };
    let unknown_token = sequencer.submit(unknown_token).await.unwrap_err();
    assert!(unknown_token.to_string().contains("token"), "{unknown_token}");
    let unpackable = sequencer.submit(transfer(1, bob, 123_456_789_012_345, 1, &config)).await;
    assert!(unpackable.unwrap_err().to_string().contains("packed"));

    assert_eq!(sequencer.query(|state, _| state.ledger().root()).await.unwrap(), root);
    sequencer.shutdown().await;
}

/// The sequencer's JSON-RPC API refuses bad input with the right codes and changes nothing.
#[tokio::test]
async fn json_rpc_bad_input_gets_clear_errors() {
    use ply_rollup::sequencer::rpc::{TxRequest, serve};
    let (_dir, config, _alice, bob, sequencer) = started(1_000).await;
    let (addr, server) = serve(sequencer.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert!(addr.ip().is_loopback());
    let url = format!("http://{addr}");
    let http = reqwest::Client::new();
    let post = |body: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let call = |method: &str, params: serde_json::Value| {
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            .to_string()
    };
    let code = |v: &serde_json::Value| v["error"]["code"].as_i64();
    let message =
        |v: &serde_json::Value| v["error"]["message"].as_str().unwrap_or_default().to_string();
    let root = sequencer.query(|state, _| state.ledger().root()).await.unwrap();

    // Not JSON at all, an unknown method, parameters of the wrong shape.
    assert_eq!(code(&post("{\"jsonrpc\":\"2.0\",".into()).await), Some(-32700));
    assert_eq!(code(&post(call("ply_nope", serde_json::json!([]))).await), Some(-32601));
    assert_eq!(
        code(&post(call("ply_sendTransaction", serde_json::json!([{"kind": "teleport"}]))).await),
        Some(-32602)
    );
    let mut short_signature =
        serde_json::to_value(TxRequest::from_signed(&transfer(1, bob, 100, 0, &config))).unwrap();
    short_signature["signature"] = serde_json::json!("0x1234");
    let reply = post(call("ply_sendTransaction", serde_json::json!([short_signature]))).await;
    assert_eq!(code(&reply), Some(-32602), "{reply}");
    assert!(message(&reply).contains("65 bytes"), "{reply}");

    // Well-formed but refused: a forged signature, a nonce gap, an overdraft.
    let mut forged = TxRequest::from_signed(&transfer(1, bob, 100, 0, &config));
    forged.amount = U256::from(999u64);
    let reply = post(call("ply_sendTransaction", serde_json::json!([forged]))).await;
    assert_eq!(code(&reply), Some(-32000), "{reply}");
    assert!(message(&reply).contains("sign"), "{reply}");
    let gap = TxRequest::from_signed(&transfer(1, bob, 100, 3, &config));
    let reply = post(call("ply_sendTransaction", serde_json::json!([gap]))).await;
    assert!(message(&reply).contains("nonce"), "{reply}");
    let overdraft = TxRequest::from_signed(&transfer(1, bob, 5_000, 0, &config));
    let reply = post(call("ply_sendTransaction", serde_json::json!([overdraft]))).await;
    assert!(message(&reply).contains("balance"), "{reply}");
    assert_eq!(sequencer.query(|state, _| state.ledger().root()).await.unwrap(), root);

    // And a good one goes through.
    let good = TxRequest::from_signed(&transfer(1, bob, 100, 0, &config));
    let reply = post(call("ply_sendTransaction", serde_json::json!([good]))).await;
    assert!(reply["result"]["hash"].is_string(), "{reply}");
    server.stop().unwrap();
    sequencer.shutdown().await;
}
