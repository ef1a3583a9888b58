//! [`EmbeddedClient`]: the embedded chain, called in-process.

use super::{Fees, L1Client};
use crate::{
    Result,
    chain::{Mining, query::DEFAULT_PRIORITY_FEE},
    node::Node,
};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, Header, Log, Transaction, TransactionReceipt, TransactionRequest},
};

/// An [`L1Client`] that calls the embedded chain directly: no sockets, no JSON.
///
/// It behaves as [`super::RpcClient`] does against the same chain served over JSON-RPC (the
/// integration tests run one set of scenarios on both), only faster. Each call takes the
/// chain's lock for as long as the chain needs; under instant mining,
/// [`L1Client::send_raw_transaction`] mines the transaction before it returns.
#[derive(Debug, Clone)]
pub struct EmbeddedClient {
    /// The chain this client reads and writes.
    pub node: Node,
}

impl EmbeddedClient {
    /// A client of `node`.
    pub fn new(node: Node) -> Self {
        Self { node }
    }

    /// Whether the chain mines only when asked ([`Mining::Manual`]).
    pub fn is_manual(&self) -> bool {
        self.node.with(|c| c.config().mining == Mining::Manual)
    }
}

#[async_trait::async_trait]
impl L1Client for EmbeddedClient {
    async fn chain_id(&self) -> Result<u64> {
        Ok(self.node.with(|c| c.chain_id()))
    }

    async fn block_number(&self) -> Result<u64> {
        Ok(self.node.with(|c| c.block_number()))
    }

    async fn header(&self, block: BlockNumberOrTag) -> Result<Option<Header>> {
        Ok(self.node.with(|c| {
            // A number beyond the head is "not found", as over JSON-RPC, not an error.
            let number = c.resolve_block_number(block).ok()?;
            c.rpc_block(number, false).map(|b| b.header)
        }))
    }

    async fn balance(&self, address: Address, block: BlockId) -> Result<U256> {
        self.node.with(|c| c.account(address, block)).map(|(balance, _, _)| balance)
    }

    async fn nonce(&self, address: Address, block: BlockId) -> Result<u64> {
        self.node.with(|c| c.transaction_count(address, block))
    }

    async fn code(&self, address: Address, block: BlockId) -> Result<Bytes> {
        self.node.with(|c| c.account(address, block)).map(|(_, _, code)| code)
    }

    async fn call(&self, req: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        self.node.with(|c| c.call(req, block))
    }

    async fn estimate_gas(&self, req: &TransactionRequest) -> Result<u64> {
        self.node.with(|c| c.estimate_gas(req, BlockId::latest()))
    }

    async fn fees(&self) -> Result<Fees> {
        Ok(self.node.with(|c| Fees {
            base_fee: c.next_base_fee() as u128,
            priority_fee: DEFAULT_PRIORITY_FEE,
        }))
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        // Decoding and signature recovery happen before the lock is taken; the chain mines at
        // once under instant mining and pools the transaction otherwise.
        self.node.send_raw_transaction(&raw).map(|(hash, _)| hash)
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        Ok(self.node.with(|c| c.rpc_receipt(hash)))
    }

    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        Ok(self.node.with(|c| c.rpc_transaction(hash)))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.node.with(|c| c.logs(filter))
    }

    async fn mine(&self) -> Result<()> {
        self.node.with(|c| c.mine(None)).map(|_| ())
    }

    async fn increase_time(&self, seconds: u64) -> Result<()> {
        self.node.with(|c| c.increase_time(seconds));
        Ok(())
    }

    async fn snapshot(&self) -> Result<U256> {
        Ok(self.node.with(|c| c.snapshot()))
    }

    async fn revert(&self, id: U256) -> Result<bool> {
        self.node.with(|c| c.revert(id))
    }
}
