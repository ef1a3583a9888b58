//! Forced inclusion: once a queued deposit is older than the inclusion deadline, the L1 refuses
//! every batch that leaves it unconsumed (`DepositOverdue(index)`), and accepts one that
//! consumes it. Batches are built by hand and appended from the batcher's key, as a sequencer
//! that ignores deposits would.

use crate::harness::{
    DeployOptions, TestL1, append_batch_call, batcher_key, call_req, decode_revert, deploy_rollup,
    ether, send_value,
};
use alloy::{
    eips::BlockId,
    primitives::{Address, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolEvent},
};
use ply_contracts::{Bridge, Rollup};
use ply_l1::client::{TxSender, latest_timestamp};
use ply_ledger::ETH;
use ply_rollup::{
    batch::{self, Batch, BatchBlock},
    derivation::Derivation,
    l1::L1Reader,
};

/// The inclusion deadline of the test rollup, in seconds.
const DEADLINE: u64 = 100;

/// Batch data of one empty L2 block that applies `deposits` queued deposits.
fn batch_data(deposits: u16, timestamp: u64) -> Vec<u8> {
    batch::encode(&Batch { blocks: vec![BatchBlock { timestamp, deposits, txs: vec![] }] }).unwrap()
}

/// Deposits `amount` of ETH for `to`; returns the deposit's queue index and L1 timestamp.
async fn deposit(l1: &TestL1, bridge: Address, to: Address, amount: U256) -> (u64, u64) {
    let receipt = send_value(&l1.sender(3), bridge, Bridge::depositETHCall { to }, amount).await;
    let queued = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Bridge::OperationQueued::decode_log(&log.inner).ok())
        .expect("a deposit emits OperationQueued");
    (queued.index.to(), queued.timestamp)
}

/// Appends a batch from the batcher's key; the revert error if the L1 refuses it.
async fn append(
    batcher: &TxSender,
    rollup: Address,
    new_deposit_count: u64,
    data: Vec<u8>,
) -> Result<TransactionReceipt, ply_l1::Error> {
    batcher.send_and_check(call_req(rollup, append_batch_call(new_deposit_count, data))).await
}

/// Asserts that the L1 refuses the batch with `DepositOverdue(overdue)`, both when asked
/// (gas estimation) and when the transaction is mined anyway.
async fn assert_overdue(
    l1: &TestL1,
    batcher: &TxSender,
    rollup: Address,
    new_deposit_count: u64,
    data: Vec<u8>,
    overdue: u64,
) {
    let error = append(batcher, rollup, new_deposit_count, data.clone()).await.unwrap_err();
    match decode_revert::<Rollup::RollupErrors>(&error) {
        Rollup::RollupErrors::OperationOverdue(e) => assert_eq!(e.index, U256::from(overdue)),
        other => panic!("expected OperationOverdue({overdue}), got {other:?}"),
    }
    // Mined with a fixed gas limit, the transaction fails and appends nothing.
    let before = batch_count(l1, rollup).await;
    let req = TransactionRequest {
        gas: Some(1_000_000),
        ..call_req(rollup, append_batch_call(new_deposit_count, data))
    };
    let receipt = batcher.send_and_wait(req).await.unwrap();
    assert!(!receipt.status(), "an appendBatch leaving an overdue deposit must fail");
    assert_eq!(batch_count(l1, rollup).await, before);
}

async fn batch_count(l1: &TestL1, rollup: Address) -> u64 {
    let out = l1
        .client
        .call(&call_req(rollup, Rollup::batchCountCall {}), BlockId::latest())
        .await
        .unwrap();
    Rollup::batchCountCall::abi_decode_returns(&out).unwrap().to()
}

/// The `BatchAppended` event of a successful append.
fn appended(receipt: &TransactionReceipt) -> Rollup::BatchAppended {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Rollup::BatchAppended::decode_log(&log.inner).ok())
        .expect("appendBatch emits BatchAppended")
        .data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_deposits_block_batches_until_consumed() {
    let l1 = TestL1::embedded();
    let options = DeployOptions { inclusion_deadline: DEADLINE, ..DeployOptions::default() };
    let deployment = deploy_rollup(&l1, options).await;
    let (bridge, rollup) = (deployment.contracts.bridge, deployment.contracts.rollup);
    let batcher = l1.sender_for(batcher_key());
    let alice = Address::repeat_byte(0xa1);
    let bob = Address::repeat_byte(0xb0);
    let l2_time = latest_timestamp(l1.client.as_ref()).await.unwrap();

    // Deposit 0 is fresh: a batch may leave it in the queue.
    let (index_a, time_a) = deposit(&l1, bridge, alice, ether(1)).await;
    assert_eq!(index_a, 0);
    let receipt = append(&batcher, rollup, 0, batch_data(0, l2_time)).await.unwrap();
    let event = appended(&receipt);
    assert_eq!((event.batchIndex, event.newQueueCount), (U256::ZERO, U256::ZERO));

    // Deposit 1 comes 50 s later; 60 s after that, deposit 0 is overdue, deposit 1 is not.
    l1.advance(50).await;
    let (index_b, time_b) = deposit(&l1, bridge, bob, ether(2)).await;
    assert_eq!(index_b, 1);
    l1.advance(60).await;
    let now = latest_timestamp(l1.client.as_ref()).await.unwrap();
    assert!(now > time_a + DEADLINE && now + 30 <= time_b + DEADLINE, "{now} {time_a} {time_b}");

    // A batch that consumes nothing is refused: deposit 0 is overdue.
    assert_overdue(&l1, &batcher, rollup, 0, batch_data(0, l2_time), 0).await;
    // A batch that consumes deposit 0 (and leaves deposit 1, which is not overdue) is accepted.
    let receipt = append(&batcher, rollup, 1, batch_data(1, l2_time)).await.unwrap();
    let event = appended(&receipt);
    assert_eq!(event.batchIndex, U256::from(1));
    assert_eq!((event.prevQueueCount, event.newQueueCount), (U256::ZERO, U256::from(1)));

    // Later deposit 1 is overdue too: a batch must consume it before anything else goes in.
    l1.advance(50).await;
    let now = latest_timestamp(l1.client.as_ref()).await.unwrap();
    assert!(now > time_b + DEADLINE);
    assert_overdue(&l1, &batcher, rollup, 1, batch_data(0, l2_time), 1).await;
    let receipt = append(&batcher, rollup, 2, batch_data(1, l2_time)).await.unwrap();
    let event = appended(&receipt);
    assert_eq!(event.batchIndex, U256::from(2));
    assert_eq!((event.prevQueueCount, event.newQueueCount), (U256::from(1), U256::from(2)));
    assert_eq!(batch_count(&l1, rollup).await, 3);

    // With the queue empty, batches go in again whatever the time.
    l1.advance(10 * DEADLINE).await;
    append(&batcher, rollup, 2, batch_data(0, l2_time)).await.unwrap();

    // The derivation rules credit both deposits, from L1 data alone.
    let head = l1.client.block_number().await.unwrap();
    let reader = L1Reader::from_config(l1.client.clone(), &deployment.config);
    let range = deployment.start_block..=head;
    let mut derivation = Derivation::from_config(&deployment.config).unwrap();
    derivation.add_deposits(reader.deposits_in(range.clone()).await.unwrap()).unwrap();
    let batches = reader.batches_in(range).await.unwrap();
    assert_eq!(batches.len(), 4);
    for batch in &batches {
        let report = derivation.apply_batch(batch).unwrap();
        assert!(report.is_clean(), "{report:?}");
    }
    assert_eq!(derivation.ledger().balance(&alice, ETH), ether(1));
    assert_eq!(derivation.ledger().balance(&bob, ETH), ether(2));
    assert_eq!(derivation.ledger().queue_index(), 2);
}
