//! The embedded chain's JSON-RPC server: the standard `eth_*` methods over HTTP and WebSocket
//! on one port, `eth_subscribe` for `newHeads` and `logs`, and the anvil-compatible dev methods
//! (`evm_mine`, `evm_increaseTime`, `evm_snapshot`, `evm_revert`, ...).
//!
//! Error codes follow what Ethereum clients expect: -32700 parse error, -32601 unknown method,
//! -32602 invalid params (all three from jsonrpsee), 3 with the revert data for reverts (so a
//! client decodes custom errors), -32000 for refused transactions with a sentence that says
//! why.

use crate::{
    Error,
    chain::{MinedBlock, PooledTx, query::block_logs},
    node::Node,
};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U64, U256},
    rpc::types::{Filter, TransactionRequest},
};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule, SubscriptionMessage,
    server::{IdProvider, Server, ServerConfig, ServerHandle},
    types::{ErrorObjectOwned, Params, SubscriptionId, params::ParamsSequence},
};
use serde::de::DeserializeOwned;
use std::{
    hash::{BuildHasher, RandomState},
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
};

/// The client version string `web3_clientVersion` reports.
pub const CLIENT_VERSION: &str = concat!("ply/v", env!("CARGO_PKG_VERSION"), "/embedded-revm");

/// JSON-RPC error code for a revert (what geth and anvil send, with the revert data).
pub const REVERT_CODE: i32 = 3;
/// JSON-RPC error code for a refused transaction or a failed request (geth's server error).
pub const SERVER_ERROR_CODE: i32 = -32000;

/// Turns an L1 error into the JSON-RPC error a client expects.
pub fn rpc_error(error: Error) -> ErrorObjectOwned {
    match error {
        Error::Reverted { ref data, .. } => {
            ErrorObjectOwned::owned(REVERT_CODE, error.to_string(), Some(data.clone()))
        }
        Error::InvalidRequest(_) => ErrorObjectOwned::owned(
            jsonrpsee::types::error::INVALID_PARAMS_CODE,
            error.to_string(),
            None::<()>,
        ),
        Error::Storage(_) | Error::Evm(_) => ErrorObjectOwned::owned(
            jsonrpsee::types::error::INTERNAL_ERROR_CODE,
            error.to_string(),
            None::<()>,
        ),
        _ => ErrorObjectOwned::owned(SERVER_ERROR_CODE, error.to_string(), None::<()>),
    }
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn required<T: DeserializeOwned>(seq: &mut ParamsSequence<'_>) -> RpcResult<T> {
    seq.next()
}

fn optional<T: DeserializeOwned>(seq: &mut ParamsSequence<'_>) -> RpcResult<Option<T>> {
    seq.optional_next()
}

fn block_id(seq: &mut ParamsSequence<'_>) -> RpcResult<BlockId> {
    Ok(optional::<BlockId>(seq)?.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)))
}

/// Hex subscription ids (`0x…`), as Ethereum nodes hand them out.
#[derive(Debug)]
struct HexIdProvider {
    counter: AtomicU64,
    seed: RandomState,
}

impl IdProvider for HexIdProvider {
    fn next_id(&self) -> SubscriptionId<'static> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let id = self.seed.hash_one(n);
        SubscriptionId::Str(format!("0x{id:016x}{n:016x}").into())
    }
}

/// Builds the RPC module over `node` (useful to mount it elsewhere or to call it in-process).
pub fn module(node: Node) -> RpcModule<Node> {
    let mut m = RpcModule::new(node);
    macro_rules! method {
        ($name:literal, |$p:ident, $n:ident| $body:expr) => {
            m.register_method($name, |$p: Params<'_>, $n: &Node, _| -> RpcResult<_> { $body })
                .expect(concat!($name, " registered once"));
        };
    }

    method!("web3_clientVersion", |_p, _n| Ok(CLIENT_VERSION));
    method!("net_version", |_p, n| Ok(n.with(|c| c.chain_id()).to_string()));
    method!("net_listening", |_p, _n| Ok(true));
    method!("eth_syncing", |_p, _n| Ok(false));
    method!("eth_chainId", |_p, n| Ok(U64::from(n.with(|c| c.chain_id()))));
    method!("eth_blockNumber", |_p, n| Ok(U64::from(n.with(|c| c.block_number()))));
    method!("eth_accounts", |_p, _n| Ok(ply_core::dev::dev_addresses()));
    method!("eth_gasPrice", |_p, n| Ok(U256::from(n.with(|c| c.gas_price()))));
    method!("eth_maxPriorityFeePerGas", |_p, _n| {
        Ok(U256::from(crate::chain::query::DEFAULT_PRIORITY_FEE))
    });
    method!("eth_getBalance", |p, n| {
        let mut s = p.sequence();
        let (address, block): (Address, _) = (required(&mut s)?, block_id(&mut s)?);
        n.with(|c| c.account(address, block)).map(|a| a.0).map_err(rpc_error)
    });
    method!("eth_getTransactionCount", |p, n| {
        let mut s = p.sequence();
        let (address, block): (Address, _) = (required(&mut s)?, block_id(&mut s)?);
        n.with(|c| c.transaction_count(address, block)).map(U64::from).map_err(rpc_error)
    });
    method!("eth_getCode", |p, n| {
        let mut s = p.sequence();
        let (address, block): (Address, _) = (required(&mut s)?, block_id(&mut s)?);
        n.with(|c| c.account(address, block)).map(|a| a.2).map_err(rpc_error)
    });
    method!("eth_getStorageAt", |p, n| {
        let mut s = p.sequence();
        let address: Address = required(&mut s)?;
        let slot: U256 = required(&mut s)?;
        let block = block_id(&mut s)?;
        n.with(|c| c.storage_at(address, slot, block))
            .map(|v| B256::from(v.to_be_bytes::<32>()))
            .map_err(rpc_error)
    });
    method!("eth_call", |p, n| {
        let mut s = p.sequence();
        let req: TransactionRequest = required(&mut s)?;
        let block = block_id(&mut s)?;
        n.with(|c| c.call(&req, block)).map_err(rpc_error)
    });
    method!("eth_estimateGas", |p, n| {
        let mut s = p.sequence();
        let req: TransactionRequest = required(&mut s)?;
        let block = block_id(&mut s)?;
        n.with(|c| c.estimate_gas(&req, block)).map(U64::from).map_err(rpc_error)
    });
    method!("eth_sendRawTransaction", |p, n| {
        let raw: Bytes = p.one()?;
        // Decoding and signature recovery run before the chain lock is taken.
        let tx = PooledTx::decode(&raw).map_err(|e| rpc_error(e.into()))?;
        let hash = tx.hash;
        n.send_transaction(tx).map_err(rpc_error)?;
        Ok(hash)
    });
    method!("eth_getTransactionByHash", |p, n| {
        let hash: B256 = p.one()?;
        Ok(n.with(|c| c.rpc_transaction(hash)))
    });
    method!("eth_getTransactionReceipt", |p, n| {
        let hash: B256 = p.one()?;
        Ok(n.with(|c| c.rpc_receipt(hash)))
    });
    method!("eth_getBlockByNumber", |p, n| {
        let mut s = p.sequence();
        let tag: BlockNumberOrTag = required(&mut s)?;
        let full = optional::<bool>(&mut s)?.unwrap_or(false);
        Ok(n.with(|c| c.resolve_block_number(tag).ok().and_then(|num| c.rpc_block(num, full))))
    });
    method!("eth_getBlockByHash", |p, n| {
        let mut s = p.sequence();
        let hash: B256 = required(&mut s)?;
        let full = optional::<bool>(&mut s)?.unwrap_or(false);
        Ok(n.with(|c| {
            c.block_by_hash(hash).map(|b| b.number()).and_then(|num| c.rpc_block(num, full))
        }))
    });
    method!("eth_getBlockReceipts", |p, n| {
        let id: BlockId = p.one()?;
        Ok(n.with(|c| c.resolve_block_id(id).ok().and_then(|num| c.rpc_block_receipts(num))))
    });
    method!("eth_getLogs", |p, n| {
        let filter: Filter = p.one()?;
        n.with(|c| c.logs(&filter)).map_err(rpc_error)
    });
    method!("eth_feeHistory", |p, n| {
        let mut s = p.sequence();
        let count: U64 = required(&mut s)?;
        let newest: BlockNumberOrTag = required(&mut s)?;
        let percentiles: Option<Vec<f64>> = optional(&mut s)?;
        n.with(|c| c.fee_history(count.to(), newest, percentiles.as_deref())).map_err(rpc_error)
    });

    // Dev methods, as anvil names them.
    method!("evm_mine", |p, n| {
        let timestamp: Option<U64> =
            if p.is_object() { None } else { p.sequence().optional_next()? };
        n.with(|c| c.mine(timestamp.map(|t| t.to()))).map_err(rpc_error)?;
        Ok("0x0")
    });
    method!("evm_increaseTime", |p, n| {
        let seconds: U64 = p.one()?;
        Ok(U256::from(n.with(|c| c.increase_time(seconds.to()))))
    });
    method!("evm_setNextBlockTimestamp", |p, n| {
        let timestamp: U64 = p.one()?;
        n.with(|c| c.set_next_block_timestamp(timestamp.to())).map_err(rpc_error)?;
        Ok(())
    });
    method!("evm_snapshot", |_p, n| Ok(n.with(|c| c.snapshot())));
    method!("evm_revert", |p, n| {
        let id: U256 = p.one()?;
        n.with(|c| c.revert(id)).map_err(rpc_error)
    });

    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending: PendingSubscriptionSink, node, _| async move {
            let mut s = params.sequence();
            let kind: String = match s.next() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let filter = match kind.as_str() {
                "newHeads" => None,
                "logs" => match s.optional_next::<Filter>() {
                    Ok(f) => Some(f.unwrap_or_default()),
                    Err(e) => {
                        pending.reject(e).await;
                        return Ok(());
                    }
                },
                other => {
                    pending
                        .reject(ErrorObjectOwned::owned(
                            jsonrpsee::types::error::INVALID_PARAMS_CODE,
                            format!("unsupported subscription {other:?}: use newHeads or logs"),
                            None::<()>,
                        ))
                        .await;
                    return Ok(());
                }
            };
            forward(pending, node.subscribe(), |block| notifications(block, filter.as_ref())).await
        },
    )
    .expect("eth_subscribe registered once");
    m
}

/// Accepts a subscription and sends it the notifications `notify` makes of every item `items`
/// delivers, until the client unsubscribes or the source closes. A subscriber too slow to keep
/// up skips what it missed rather than stalling the source. Shared by every ply JSON-RPC server.
pub async fn forward<T: Clone, V: serde::Serialize>(
    pending: PendingSubscriptionSink,
    mut items: tokio::sync::broadcast::Receiver<T>,
    notify: impl Fn(&T) -> Vec<V>,
) -> Result<(), jsonrpsee::core::SubscriptionError> {
    let sink = pending.accept().await.map_err(|e| e.to_string())?;
    loop {
        let item = tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = items.recv() => match item {
                Ok(item) => item,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return Ok(()),
            },
        };
        for value in notify(&item) {
            let json = serde_json::value::to_raw_value(&value).map_err(|e| e.to_string())?;
            if sink.send(SubscriptionMessage::from(json)).await.is_err() {
                return Ok(());
            }
        }
    }
}

fn notifications(block: &MinedBlock, filter: Option<&Filter>) -> Vec<serde_json::Value> {
    match filter {
        None => {
            let header = alloy::rpc::types::Header {
                hash: block.hash,
                inner: block.header.clone(),
                total_difficulty: Some(U256::ZERO),
                size: None,
            };
            vec![serde_json::to_value(header).unwrap_or_default()]
        }
        Some(filter) => block_logs(block)
            .into_iter()
            .filter(|log| filter.matches(&log.inner))
            .map(|log| serde_json::to_value(log).unwrap_or_default())
            .collect(),
    }
}

/// Serves `node` on `addr` (HTTP and WebSocket on one port). Returns the bound address (useful
/// with port 0) and the handle that stops the server.
pub async fn serve(node: Node, addr: SocketAddr) -> crate::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .set_config(
            ServerConfig::builder()
                .max_connections(1024)
                .set_id_provider(HexIdProvider {
                    counter: AtomicU64::new(1),
                    seed: RandomState::new(),
                })
                .build(),
        )
        .build(addr)
        .await
        .map_err(|e| Error::Rpc(format!("cannot listen on {addr}: {e}")))?;
    let bound = server.local_addr().map_err(|e| Error::Rpc(e.to_string()))?;
    Ok((bound, server.start(module(node))))
}
