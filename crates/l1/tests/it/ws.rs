//! `eth_subscribe` over WebSocket on ply's server: `newHeads` and `logs` notifications arrive
//! when blocks are mined.

use crate::harness::{Probe, call_req, ply_server, probe_bytecode, test_sender_config};
use alloy::{
    primitives::{B256, U256},
    rpc::types::{Header, Log},
    sol_types::SolEvent,
};
use jsonrpsee::{
    client_transport::ws::{Url, WsTransportClientBuilder},
    core::client::{Client, ClientBuilder, Subscription, SubscriptionClientT},
    rpc_params,
};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::ChainConfig,
    client::{EmbeddedClient, TxSender},
};
use std::{sync::Arc, time::Duration};

async fn ws_client(http_url: &str) -> Client {
    let url = Url::parse(&http_url.replace("http://", "ws://")).unwrap();
    let (sender, receiver) =
        WsTransportClientBuilder::default().build(url).await.expect("WebSocket handshake");
    ClientBuilder::default().build_with_tokio(sender, receiver)
}

async fn next<T: serde::de::DeserializeOwned>(sub: &mut Subscription<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a notification within 10 s")
        .expect("the subscription is open")
        .expect("a well-formed notification")
}

#[tokio::test]
async fn new_heads_are_notified() {
    let (node, url, _server) = ply_server(ChainConfig::default()).await;
    let client = ws_client(&url).await;
    let mut heads: Subscription<Header> = client
        .subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .unwrap();
    for expected in 1..=3u64 {
        let mined = node.with(|c| c.mine(None)).unwrap();
        let head = next(&mut heads).await;
        assert_eq!(head.number, expected);
        assert_eq!(head.hash, mined.hash);
        assert_eq!(head.parent_hash, node.with(|c| c.block(expected - 1).unwrap().hash));
    }
    heads.unsubscribe().await.unwrap();
}

#[tokio::test]
async fn logs_are_notified_with_their_filter() {
    let (node, url, _server) = ply_server(ChainConfig::default()).await;
    let sender = TxSender::with_config(
        Arc::new(EmbeddedClient::new(node.clone())),
        dev_signer(0).unwrap(),
        test_sender_config(),
    );
    let watched = sender.deploy(probe_bytecode()).await.unwrap();
    let other = sender.deploy(probe_bytecode()).await.unwrap();
    let client = ws_client(&url).await;
    let filter =
        serde_json::json!({ "address": watched, "topics": [Probe::Stored::SIGNATURE_HASH] });
    let mut logs: Subscription<Log> = client
        .subscribe("eth_subscribe", rpc_params!["logs", filter], "eth_unsubscribe")
        .await
        .unwrap();

    // A log of the other contract first: it must not be delivered.
    let store = |v: u64| Probe::storeCall { v: U256::from(v), tag: B256::repeat_byte(v as u8) };
    sender.send_and_check(call_req(other, store(1))).await.unwrap();
    let receipt = sender.send_and_check(call_req(watched, store(2))).await.unwrap();
    let log = next(&mut logs).await;
    assert_eq!(log.address(), watched);
    assert_eq!(log.transaction_hash, Some(receipt.transaction_hash));
    assert_eq!(log.block_number, receipt.block_number);
    let event = Probe::Stored::decode_log_data(log.data()).unwrap();
    assert_eq!((event.who, event.value), (sender.address(), U256::from(2)));
}
