//! The one L1 client interface every Layer 2 component uses, with two backends:
//!
//! - [`EmbeddedClient`]: the embedded chain in-process, no sockets (tests, benchmarks, devnet);
//! - [`RpcClient`]: any Ethereum node over JSON-RPC (alloy), e.g. anvil, geth or a testnet.
//!
//! Components hold an `Arc<dyn L1Client>` and never learn which backend they talk to. On top
//! of the trait sit [`TxSender`], which owns an account's nonces and bumps fees of stuck
//! transactions (once, for every service that sends), and [`BlockFollower`], which follows
//! new blocks at a confirmation depth.

mod embedded;
mod follower;
mod rpc;
mod sender;

pub use embedded::EmbeddedClient;
pub use follower::BlockFollower;
pub use rpc::RpcClient;
pub use sender::{SenderConfig, TxSender};

use crate::Result;
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, Header, Log, Transaction, TransactionReceipt, TransactionRequest},
};
use std::sync::Arc;

/// Fee figures for building an EIP-1559 transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// The base fee of the next block, in wei.
    pub base_fee: u128,
    /// A suggested tip, in wei.
    pub priority_fee: u128,
}

impl Fees {
    /// A fee cap with room for the base fee to double twice, as wallets set it.
    pub fn max_fee(&self) -> u128 {
        self.base_fee * 2 + self.priority_fee
    }
}

/// Read, call, send and (on dev chains) time travel on an Ethereum L1.
///
/// Every method maps to one JSON-RPC request on a remote node. Reverts come back as
/// [`crate::Error::Reverted`] with the revert data, whatever the backend.
#[async_trait::async_trait]
pub trait L1Client: Send + Sync + std::fmt::Debug {
    /// The chain id.
    async fn chain_id(&self) -> Result<u64>;
    /// The number of the newest block.
    async fn block_number(&self) -> Result<u64>;
    /// A block header (`None` if it does not exist).
    async fn header(&self, block: BlockNumberOrTag) -> Result<Option<Header>>;
    /// An account's balance at `block`.
    async fn balance(&self, address: Address, block: BlockId) -> Result<U256>;
    /// An account's nonce at `block` (with `pending`, counting its pooled transactions).
    async fn nonce(&self, address: Address, block: BlockId) -> Result<u64>;
    /// The code at `address`.
    async fn code(&self, address: Address, block: BlockId) -> Result<Bytes>;
    /// Executes `req` without sending it.
    async fn call(&self, req: &TransactionRequest, block: BlockId) -> Result<Bytes>;
    /// The gas `req` needs.
    async fn estimate_gas(&self, req: &TransactionRequest) -> Result<u64>;
    /// The next base fee and a suggested tip.
    async fn fees(&self) -> Result<Fees>;
    /// Submits a signed transaction; returns its hash.
    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256>;
    /// The receipt of a mined transaction.
    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>>;
    /// A transaction by hash, mined or pending (`eth_getTransactionByHash`): how readers of
    /// L1 data get at calldata, e.g. the batch data of `Rollup.appendBatch`.
    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>>;
    /// Logs matching `filter`.
    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>>;
    /// Dev chains: mines a block now.
    async fn mine(&self) -> Result<()>;
    /// Dev chains: moves the clock forward; the next block's timestamp reflects it.
    async fn increase_time(&self, seconds: u64) -> Result<()>;
    /// Dev chains: saves the chain state.
    async fn snapshot(&self) -> Result<U256>;
    /// Dev chains: returns to a snapshot; `false` if the id is unknown.
    async fn revert(&self, id: U256) -> Result<bool>;
}

/// A shared, backend-agnostic L1 client.
pub type DynL1Client = Arc<dyn L1Client>;

/// The timestamp of the newest block: the L1's notion of "now".
pub async fn latest_timestamp(client: &dyn L1Client) -> Result<u64> {
    client
        .header(BlockNumberOrTag::Latest)
        .await?
        .map(|h| h.timestamp)
        .ok_or_else(|| crate::Error::UnknownBlock("latest".into()))
}

/// The most blocks one `eth_getLogs` request spans in [`logs_in_range`] (remote nodes limit
/// ranges).
pub const LOG_CHUNK: u64 = 10_000;

/// The logs matching `filter` (its address and topics; its block range is replaced) in
/// `range`, in order, in requests of at most [`LOG_CHUNK`] blocks; logs of blocks reorganised
/// away are dropped.
pub async fn logs_in_range(
    client: &dyn L1Client,
    filter: &Filter,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Vec<Log>> {
    let (mut from, to) = range.into_inner();
    let mut logs = Vec::new();
    while from <= to {
        let end = to.min(from.saturating_add(LOG_CHUNK - 1));
        let chunk = filter.clone().from_block(from).to_block(end);
        logs.extend(client.logs(&chunk).await?.into_iter().filter(|l| !l.removed));
        if end == u64::MAX {
            break;
        }
        from = end + 1;
    }
    Ok(logs)
}
