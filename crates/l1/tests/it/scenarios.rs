//! Scenarios written once against `&dyn L1Client` (and a `TxSender`), run on every backend:
//! the embedded chain in-process, ply's JSON-RPC server and anvil.

use crate::harness::{Backend, Probe, call_req, probe_bytecode};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, U256, keccak256},
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolError, SolEvent},
};
use ply_l1::{
    Error,
    client::{BlockFollower, L1Client, TxSender},
};
use std::{sync::Arc, time::Duration};

crate::on_every_backend!(
    chain_basics,
    eth_transfer_is_exact_to_the_wei,
    deploy_and_call,
    custom_error_revert_decodes,
    failed_transaction_receipt,
    logs_by_address_topic_and_range,
    time_travel,
    snapshot_and_revert,
    block_following_with_confirmations,
    nonce_resync_after_another_sender,
    concurrent_sends_get_consecutive_nonces,
);

fn latest() -> BlockId {
    BlockId::latest()
}

fn at(number: u64) -> BlockId {
    BlockId::Number(BlockNumberOrTag::Number(number))
}

/// An address nobody has used, derived from `label`.
fn fresh_address(label: &str) -> Address {
    Address::from_word(keccak256(label.as_bytes()))
}

async fn deploy_probe(sender: &TxSender) -> Address {
    sender.deploy(probe_bytecode()).await.expect("Probe deploys")
}

async fn probe_value(client: &dyn L1Client, probe: Address, block: BlockId) -> U256 {
    let out = client.call(&call_req(probe, Probe::valueCall {}), block).await.expect("value()");
    Probe::valueCall::abi_decode_returns(&out).expect("a uint256")
}

fn store(probe: Address, v: u64, tag: B256) -> TransactionRequest {
    call_req(probe, Probe::storeCall { v: U256::from(v), tag })
}

async fn chain_basics(b: &Backend) {
    let c = b.client.as_ref();
    assert_eq!(c.chain_id().await.unwrap(), 31337);
    let head = c.block_number().await.unwrap();
    let header = c.header(BlockNumberOrTag::Latest).await.unwrap().expect("a head block");
    assert_eq!(header.number, head);
    assert!(c.header(BlockNumberOrTag::Number(head + 1000)).await.unwrap().is_none());
    let dev = ply_core::dev::dev_addresses()[0];
    assert_eq!(c.balance(dev, latest()).await.unwrap(), ply_core::dev::DEV_BALANCE);
    assert_eq!(c.nonce(dev, latest()).await.unwrap(), 0);
    assert!(c.code(dev, latest()).await.unwrap().is_empty());
    let fees = c.fees().await.unwrap();
    assert!(fees.base_fee > 0, "a post-London chain has a base fee");
    assert_eq!(fees.priority_fee, 1_000_000_000, "1 gwei suggested tip, as anvil");
    assert!(c.receipt(B256::repeat_byte(7)).await.unwrap().is_none());
}

async fn eth_transfer_is_exact_to_the_wei(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(1);
    let from = sender.address();
    let to = fresh_address("transfer recipient");
    let before = c.balance(from, latest()).await.unwrap();
    let nonce = c.nonce(from, latest()).await.unwrap();
    let tip = c.fees().await.unwrap().priority_fee;
    let value = U256::from(1_234_567_890_123_456_789u128);

    let receipt =
        sender.send_and_wait(TransactionRequest::default().to(to).value(value)).await.unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.from, from);
    assert_eq!(receipt.to, Some(to));
    let block = receipt.block_number.expect("mined");
    let header = c.header(BlockNumberOrTag::Number(block)).await.unwrap().unwrap();
    let base_fee = header.base_fee_per_gas.expect("a base fee") as u128;
    assert_eq!(receipt.effective_gas_price, base_fee + tip, "the sender pays base fee + tip");
    let paid = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);

    assert_eq!(c.balance(to, latest()).await.unwrap(), value);
    assert_eq!(c.balance(from, latest()).await.unwrap(), before - value - paid);
    assert_eq!(c.nonce(from, latest()).await.unwrap(), nonce + 1);
    assert_eq!(c.nonce(from, BlockId::pending()).await.unwrap(), nonce + 1);
    // History: the block before holds the old figures.
    assert_eq!(c.balance(from, at(block - 1)).await.unwrap(), before);
    assert_eq!(c.balance(to, at(block - 1)).await.unwrap(), U256::ZERO);
    assert_eq!(c.nonce(from, at(block - 1)).await.unwrap(), nonce);
}

async fn deploy_and_call(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(2);
    let probe = deploy_probe(&sender).await;
    assert_eq!(probe, sender.address().create(0));
    assert!(!c.code(probe, latest()).await.unwrap().is_empty());
    assert_eq!(probe_value(c, probe, latest()).await, U256::ZERO);

    let receipt = sender.send_and_check(store(probe, 7, B256::repeat_byte(1))).await.unwrap();
    let block = receipt.block_number.unwrap();
    assert_eq!(probe_value(c, probe, latest()).await, U256::from(7));
    assert_eq!(probe_value(c, probe, at(block - 1)).await, U256::ZERO, "calls at a past block");
    let gas = c.estimate_gas(&store(probe, 8, B256::ZERO).from(sender.address())).await.unwrap();
    assert!((21_000..100_000).contains(&gas), "estimate {gas}");
}

async fn custom_error_revert_decodes(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(3);
    let probe = deploy_probe(&sender).await;

    let too_big = store(probe, 5000, B256::ZERO).from(sender.address());
    let expect_too_big = |e: Error| match e {
        Error::Reverted { data, reason } => {
            let err = Probe::TooBig::abi_decode(&data).expect("TooBig data");
            assert_eq!((err.given, err.max), (U256::from(5000), U256::from(1000)));
            assert_eq!(reason, None, "a custom error is not an Error(string)");
        }
        other => panic!("expected a revert, got {other:?}"),
    };
    expect_too_big(c.call(&too_big, latest()).await.unwrap_err());
    expect_too_big(c.estimate_gas(&too_big).await.unwrap_err());
    // The sender estimates gas first, so it refuses before signing anything.
    expect_too_big(sender.send(too_big.clone()).await.unwrap_err());

    let fail = call_req(probe, Probe::failCall { why: "not today".into() });
    match c.call(&fail, latest()).await.unwrap_err() {
        Error::Reverted { reason, .. } => assert_eq!(reason.as_deref(), Some("not today")),
        other => panic!("expected a revert, got {other:?}"),
    }
}

async fn failed_transaction_receipt(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(4);
    let probe = deploy_probe(&sender).await;
    let nonce = c.nonce(sender.address(), latest()).await.unwrap();

    // With a gas limit the sender skips estimation and the transaction is mined, failing.
    let req = store(probe, 5000, B256::ZERO).gas_limit(100_000);
    let receipt = sender.send_and_wait(req.clone()).await.unwrap();
    assert!(!receipt.status(), "a reverted transaction has status 0");
    assert!(receipt.inner.logs().is_empty());
    assert_eq!(c.nonce(sender.address(), latest()).await.unwrap(), nonce + 1, "nonce used");

    // send_and_check turns it into the revert, recovered by replaying the transaction.
    match sender.send_and_check(req).await.unwrap_err() {
        Error::Reverted { data, .. } => {
            assert!(Probe::TooBig::abi_decode(&data).is_ok(), "TooBig data, got {data}")
        }
        other => panic!("expected a revert, got {other:?}"),
    }
    assert_eq!(c.nonce(sender.address(), latest()).await.unwrap(), nonce + 2);
    assert_eq!(probe_value(c, probe, latest()).await, U256::ZERO);
}

async fn logs_by_address_topic_and_range(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(5);
    let probe = deploy_probe(&sender).await;
    let other = deploy_probe(&sender).await;
    let (tag_a, tag_b) = (B256::repeat_byte(0xaa), B256::repeat_byte(0xbb));
    let mut receipts = Vec::new();
    for (to, v, tag) in [(probe, 1, tag_a), (probe, 2, tag_b), (other, 2, tag_a), (probe, 3, tag_a)]
    {
        receipts.push(sender.send_and_check(store(to, v, tag)).await.unwrap());
    }
    let first = receipts[0].block_number.unwrap();
    let last = receipts[3].block_number.unwrap();

    // By address.
    let logs = c.logs(&Filter::new().address(probe).from_block(0u64).to_block(last)).await.unwrap();
    assert_eq!(logs.len(), 3);
    for (log, (receipt, v)) in
        logs.iter().zip([(&receipts[0], 1u64), (&receipts[1], 2), (&receipts[3], 3)])
    {
        assert_eq!(log.address(), probe);
        assert_eq!(log.transaction_hash, Some(receipt.transaction_hash));
        assert_eq!(log.block_number, receipt.block_number);
        assert_eq!(log.log_index, Some(0), "one log per block");
        let event = Probe::Stored::decode_log_data(log.data()).unwrap();
        assert_eq!((event.who, event.value), (sender.address(), U256::from(v)));
    }
    assert_eq!(
        logs,
        receipts
            .iter()
            .filter(|r| r.to == Some(probe))
            .flat_map(|r| r.inner.logs().to_vec())
            .collect::<Vec<_>>()
    );

    // By topics: the event signature and value 2, on any address.
    let by_value = Filter::new()
        .event_signature(Probe::Stored::SIGNATURE_HASH)
        .topic2(B256::from(U256::from(2)))
        .from_block(first)
        .to_block(last);
    let logs = c.logs(&by_value).await.unwrap();
    assert_eq!(logs.iter().map(|l| l.address()).collect::<Vec<_>>(), vec![probe, other]);
    // By the indexed sender: all four.
    let by_who =
        Filter::new().topic1(sender.address().into_word()).from_block(first).to_block(last);
    assert_eq!(c.logs(&by_who).await.unwrap().len(), 4);
    // A topic nobody emitted.
    let none = Filter::new().topic1(B256::repeat_byte(9)).from_block(first).to_block(last);
    assert!(c.logs(&none).await.unwrap().is_empty());

    // By block range: only the second store.
    let block = receipts[1].block_number.unwrap();
    let logs =
        c.logs(&Filter::new().address(probe).from_block(block).to_block(block)).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].transaction_hash, Some(receipts[1].transaction_hash));
    // By block hash.
    let hash = receipts[1].block_hash.unwrap();
    assert_eq!(c.logs(&Filter::new().at_block_hash(hash)).await.unwrap(), logs);
}

async fn time_travel(b: &Backend) {
    let c = b.client.as_ref();
    let before = c.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    let delta = 3 * 24 * 3600;
    c.increase_time(delta).await.unwrap();
    c.mine().await.unwrap();
    let after = c.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    assert_eq!(after.number, before.number + 1);
    assert!(
        after.timestamp >= before.timestamp + delta,
        "timestamp {} < {} + {delta}",
        after.timestamp,
        before.timestamp
    );
    assert!(after.timestamp < before.timestamp + delta + 600, "the clock jumped too far");
    // Contracts see the new time.
    let sender = b.sender(6);
    let probe = deploy_probe(&sender).await;
    let out = c.call(&call_req(probe, Probe::timeCall {}), latest()).await.unwrap();
    let now = Probe::timeCall::abi_decode_returns(&out).unwrap();
    assert!(now >= U256::from(before.timestamp + delta));
}

async fn snapshot_and_revert(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(7);
    let from = sender.address();
    let to = fresh_address("snapshot recipient");
    let head = c.block_number().await.unwrap();
    let balance = c.balance(from, latest()).await.unwrap();
    let nonce = c.nonce(from, latest()).await.unwrap();

    let id = c.snapshot().await.unwrap();
    let receipt = sender
        .send_and_wait(TransactionRequest::default().to(to).value(U256::from(1000)))
        .await
        .unwrap();
    c.mine().await.unwrap();
    assert_eq!(c.block_number().await.unwrap(), head + 2);
    assert_eq!(c.balance(to, latest()).await.unwrap(), U256::from(1000));

    assert!(c.revert(id).await.unwrap());
    assert_eq!(c.block_number().await.unwrap(), head, "blocks after the snapshot are gone");
    assert_eq!(c.balance(from, latest()).await.unwrap(), balance);
    assert_eq!(c.balance(to, latest()).await.unwrap(), U256::ZERO);
    assert_eq!(c.nonce(from, latest()).await.unwrap(), nonce);
    assert!(c.receipt(receipt.transaction_hash).await.unwrap().is_none(), "receipt is gone");
    assert!(c.header(BlockNumberOrTag::Number(head + 1)).await.unwrap().is_none());
    assert!(!c.revert(id).await.unwrap(), "a snapshot is used up by reverting to it");
    assert!(!c.revert(U256::from(987_654)).await.unwrap(), "unknown snapshot");

    // The chain goes on from the snapshot; the sender must learn the rewound nonce.
    sender.resync_nonce().await;
    let receipt = sender
        .send_and_wait(TransactionRequest::default().to(to).value(U256::from(5)))
        .await
        .unwrap();
    assert_eq!(receipt.block_number, Some(head + 1));
    assert_eq!(c.balance(to, latest()).await.unwrap(), U256::from(5));
    assert_eq!(c.nonce(from, latest()).await.unwrap(), nonce + 1);
}

async fn block_following_with_confirmations(b: &Backend) {
    let c = b.client.clone();
    let sender = b.sender(8);
    let probe = deploy_probe(&sender).await;
    let h = c.block_number().await.unwrap();
    let mut follower = BlockFollower::new(c.clone(), 2, h + 1);
    let mine = |n: usize| {
        let c = c.clone();
        async move {
            for _ in 0..n {
                c.mine().await.unwrap();
            }
        }
    };

    assert_eq!(follower.next_range().await.unwrap(), None);
    mine(1).await;
    assert_eq!(follower.next_range().await.unwrap(), None, "h+1 has one block on it");
    mine(2).await;
    assert_eq!(follower.next_range().await.unwrap(), Some(h + 1..=h + 1));
    assert_eq!(follower.next_range().await.unwrap(), None);

    let snapshot = c.snapshot().await.unwrap();
    let mut stores = Vec::new();
    for v in 1..=3 {
        stores.push(sender.send_and_check(store(probe, v, B256::ZERO)).await.unwrap());
    }
    assert_eq!(stores[0].block_number, Some(h + 4));
    let range = follower.next_range().await.unwrap().expect("h+2..=h+4 confirmed");
    assert_eq!(range, h + 2..=h + 4);
    let logs = follower.logs(Filter::new().address(probe), range).await.unwrap();
    assert_eq!(logs.len(), 1, "only the first store is confirmed");
    assert_eq!(logs[0].transaction_hash, Some(stores[0].transaction_hash));
    mine(2).await;
    let range = follower.next_range().await.unwrap().expect("h+5..=h+6 confirmed");
    assert_eq!(range, h + 5..=h + 6);
    let logs = follower.logs(Filter::new().address(probe), range).await.unwrap();
    assert_eq!(
        logs.iter().map(|l| l.transaction_hash.unwrap()).collect::<Vec<_>>(),
        vec![stores[1].transaction_hash, stores[2].transaction_hash]
    );

    // Revert to h+3: the confirmed blocks h+4..=h+6 are gone. The follower says so and rewinds
    // to the block after its last range end still in the chain (h+1).
    assert!(c.revert(snapshot).await.unwrap());
    let err = follower.next_range().await.unwrap_err();
    assert!(err.to_string().contains("reorg"), "{err}");
    assert_eq!(follower.next_block(), h + 2);
    assert_eq!(follower.next_range().await.unwrap(), None, "head h+3 confirms only h+1");
    mine(3).await;
    assert_eq!(follower.next_range().await.unwrap(), Some(h + 2..=h + 4));

    // wait_for_next returns once another block is confirmed.
    let miner = tokio::spawn({
        let c = c.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            c.mine().await.unwrap();
        }
    });
    let range = tokio::time::timeout(
        Duration::from_secs(10),
        follower.wait_for_next(Duration::from_millis(10)),
    )
    .await
    .expect("a block within 10 s")
    .unwrap();
    assert_eq!(range, h + 5..=h + 5);
    miner.await.unwrap();
}

async fn nonce_resync_after_another_sender(b: &Backend) {
    let c = b.client.as_ref();
    // Two senders for one key: what a second process with the same key does.
    let first = b.sender(9);
    let second = b.sender(9);
    let to = fresh_address("resync");
    let transfer = || TransactionRequest::default().to(to).value(U256::from(1));
    let nonce = c.nonce(first.address(), latest()).await.unwrap();

    first.send_and_wait(transfer()).await.unwrap();
    second.send_and_wait(transfer()).await.unwrap();
    second.send_and_wait(transfer()).await.unwrap();
    // `first` still thinks nonce + 1 is next: refused as too low, re-read, sent with nonce + 3.
    let receipt = first.send_and_wait(transfer()).await.unwrap();
    assert!(receipt.status());
    assert_eq!(c.nonce(first.address(), latest()).await.unwrap(), nonce + 4);
    assert_eq!(c.balance(to, latest()).await.unwrap(), U256::from(4));
}

async fn concurrent_sends_get_consecutive_nonces(b: &Backend) {
    let c = b.client.as_ref();
    let sender = Arc::new(b.sender(0));
    let to = fresh_address("concurrent");
    let nonce = c.nonce(sender.address(), latest()).await.unwrap();
    let tasks: Vec<_> = (1..=8u64)
        .map(|v| {
            let sender = sender.clone();
            tokio::spawn(async move {
                sender
                    .send_and_wait(TransactionRequest::default().to(to).value(U256::from(v)))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().status());
    }
    assert_eq!(c.nonce(sender.address(), latest()).await.unwrap(), nonce + 8);
    assert_eq!(c.balance(to, latest()).await.unwrap(), U256::from(36));
}
