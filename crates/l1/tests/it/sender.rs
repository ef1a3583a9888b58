//! `TxSender` on a chain that mines only when asked: fee bumping, the fee cap and the timeout.

use crate::harness::test_sender_config;
use alloy::{
    consensus::{Transaction, TxEnvelope},
    eips::{BlockId, Decodable2718},
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, Header, Log, TransactionReceipt, TransactionRequest},
};
use parking_lot::Mutex;
use ply_core::dev::dev_signer;
use ply_l1::{
    Error, Result,
    chain::{ChainConfig, Mining},
    client::{EmbeddedClient, Fees, L1Client, SenderConfig, TxSender},
    node::Node,
};
use std::{sync::Arc, time::Duration};

/// An embedded client that records every transaction sent through it.
#[derive(Debug)]
struct Recording {
    inner: EmbeddedClient,
    sent: Mutex<Vec<TxEnvelope>>,
}

impl Recording {
    fn new(node: Node) -> Arc<Self> {
        Arc::new(Self { inner: EmbeddedClient::new(node), sent: Mutex::new(Vec::new()) })
    }

    fn sent(&self) -> Vec<TxEnvelope> {
        self.sent.lock().clone()
    }
}

#[async_trait::async_trait]
impl L1Client for Recording {
    async fn chain_id(&self) -> Result<u64> {
        self.inner.chain_id().await
    }
    async fn block_number(&self) -> Result<u64> {
        self.inner.block_number().await
    }
    async fn header(&self, block: alloy::eips::BlockNumberOrTag) -> Result<Option<Header>> {
        self.inner.header(block).await
    }
    async fn balance(&self, address: Address, block: BlockId) -> Result<U256> {
        self.inner.balance(address, block).await
    }
    async fn nonce(&self, address: Address, block: BlockId) -> Result<u64> {
        self.inner.nonce(address, block).await
    }
    async fn code(&self, address: Address, block: BlockId) -> Result<Bytes> {
        self.inner.code(address, block).await
    }
    async fn call(&self, req: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        self.inner.call(req, block).await
    }
    async fn estimate_gas(&self, req: &TransactionRequest) -> Result<u64> {
        self.inner.estimate_gas(req).await
    }
    async fn fees(&self) -> Result<Fees> {
        self.inner.fees().await
    }
    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        let hash = self.inner.send_raw_transaction(raw.clone()).await?;
        let tx = TxEnvelope::decode_2718(&mut raw.as_ref())
            .expect("the sender sends valid transactions");
        self.sent.lock().push(tx);
        Ok(hash)
    }
    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.inner.receipt(hash).await
    }
    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.inner.logs(filter).await
    }
    async fn transaction(
        &self,
        hash: alloy::primitives::B256,
    ) -> Result<Option<alloy::rpc::types::Transaction>> {
        self.inner.transaction(hash).await
    }
    async fn mine(&self) -> Result<()> {
        self.inner.mine().await
    }
    async fn increase_time(&self, seconds: u64) -> Result<()> {
        self.inner.increase_time(seconds).await
    }
    async fn snapshot(&self) -> Result<U256> {
        self.inner.snapshot().await
    }
    async fn revert(&self, id: U256) -> Result<bool> {
        self.inner.revert(id).await
    }
}

fn manual_node() -> Node {
    Node::new(ChainConfig { mining: Mining::Manual, ..Default::default() })
}

#[tokio::test]
async fn stuck_transaction_is_bumped_and_the_bumped_one_is_mined() {
    let node = manual_node();
    let client = Recording::new(node.clone());
    let config = SenderConfig { bump_after: 3, ..test_sender_config() };
    let sender = TxSender::with_config(client.clone(), dev_signer(0).unwrap(), config);
    let to = Address::repeat_byte(0x51);

    // The miner waits for the bump: only then is a block mined.
    let miner = tokio::spawn({
        let (node, client) = (node.clone(), client.clone());
        async move {
            while client.sent().len() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            node.with(|c| c.mine(None)).unwrap();
        }
    });
    let low_tip =
        TransactionRequest::default().to(to).value(U256::from(77)).max_priority_fee_per_gas(1);
    let receipt = tokio::time::timeout(Duration::from_secs(20), sender.send_and_wait(low_tip))
        .await
        .expect("mined after the bump")
        .unwrap();
    miner.await.unwrap();

    let sent = client.sent();
    assert_eq!(sent.len(), 2, "one bump was enough");
    let (original, bumped) = (&sent[0], &sent[1]);
    assert_eq!(original.nonce(), bumped.nonce(), "the bump reuses the nonce");
    assert_eq!(original.max_priority_fee_per_gas(), Some(1));
    let raised = |old: u128, new: u128| new * 8 >= old * 9;
    assert!(raised(1, bumped.max_priority_fee_per_gas().unwrap()));
    assert!(raised(original.max_fee_per_gas(), bumped.max_fee_per_gas()));
    assert!(bumped.max_fee_per_gas() <= SenderConfig::default().max_fee_cap);

    assert!(receipt.status());
    assert_eq!(receipt.transaction_hash, *bumped.tx_hash(), "the bumped transaction is mined");
    let c = client.as_ref();
    assert!(c.receipt(*original.tx_hash()).await.unwrap().is_none(), "the original is not");
    assert_eq!(c.nonce(sender.address(), BlockId::latest()).await.unwrap(), 1, "nonce used once");
    assert_eq!(c.balance(to, BlockId::latest()).await.unwrap(), U256::from(77));
    let block = node.with(|c| c.head().clone());
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(node.with(|c| c.pending_count()), 0, "the replaced transaction left the pool");
}

#[tokio::test]
async fn fee_cap_stops_bumps_and_the_sender_times_out() {
    let node = manual_node();
    let client = Recording::new(node.clone());
    let cap = 50_000_000_000;
    let config = SenderConfig {
        bump_after: 2,
        timeout: Duration::from_millis(300),
        max_fee_cap: cap,
        ..test_sender_config()
    };
    let sender = TxSender::with_config(client.clone(), dev_signer(1).unwrap(), config);
    let req = TransactionRequest::default()
        .to(Address::repeat_byte(0x52))
        .max_fee_per_gas(cap)
        .max_priority_fee_per_gas(cap / 2);
    let err = sender.send_and_wait(req).await.unwrap_err();
    let sent = client.sent();
    assert_eq!(sent.len(), 1, "no bump above the cap");
    match err {
        Error::Timeout { hash, .. } => assert_eq!(hash, *sent[0].tx_hash()),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Still pooled, and mined by the next block.
    node.with(|c| c.mine(None)).unwrap();
    let receipt = client.receipt(*sent[0].tx_hash()).await.unwrap().expect("mined");
    assert!(receipt.status());
}

#[tokio::test]
async fn send_returns_at_once_under_manual_mining() {
    let node = manual_node();
    let client = Arc::new(EmbeddedClient::new(node.clone()));
    let sender =
        TxSender::with_config(client.clone(), dev_signer(2).unwrap(), test_sender_config());
    let to = Address::repeat_byte(0x53);
    let mut hashes = Vec::new();
    for v in 1..=3u64 {
        hashes.push(
            sender.send(TransactionRequest::default().to(to).value(U256::from(v))).await.unwrap(),
        );
    }
    assert_eq!(node.with(|c| c.pending_count()), 3);
    assert_eq!(client.nonce(sender.address(), BlockId::pending()).await.unwrap(), 3);
    assert_eq!(client.nonce(sender.address(), BlockId::latest()).await.unwrap(), 0);
    client.mine().await.unwrap();
    for hash in hashes {
        assert_eq!(client.receipt(hash).await.unwrap().unwrap().block_number, Some(1));
    }
}

#[tokio::test]
async fn sender_refuses_a_nonce_or_a_foreign_chain_id() {
    let client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let sender = TxSender::with_config(client, dev_signer(3).unwrap(), test_sender_config());
    let req = TransactionRequest::default().to(Address::repeat_byte(1));
    let err = sender.send(req.clone().nonce(5)).await.unwrap_err();
    assert!(err.to_string().contains("chooses nonces"), "{err}");
    let mut foreign = req;
    foreign.chain_id = Some(1);
    let err = sender.send(foreign).await.unwrap_err();
    assert!(err.to_string().contains("chain 1"), "{err}");
}
