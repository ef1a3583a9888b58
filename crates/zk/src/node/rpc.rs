//! The zk node's JSON-RPC API (HTTP and WebSocket on one port):
//!
//! | method | params | result |
//! |---|---|---|
//! | `zk_sendTransaction` | [`TxRequest`] | the transaction id (its signed message), once durable |
//! | `zk_getAccount` | address | [`AccountJson`] of the head state, or null |
//! | `zk_getTransaction` | id | `{ status, batch }`: `soft_confirmed`, `proving`, `verified` |
//! | `zk_getBatch` | number | a [`BatchRecord`], or null |
//! | `zk_status` | — | [`StatusJson`] |
//!
//! A malformed request is refused with code -32602 and a sentence; a transaction the state
//! refuses (bad signature, nonce, balance) with code -32003 and the reason.

use super::{
    BatchRecord, BatchStatus, Shared, TxStatus,
    wire::{AccountJson, TxRequest},
};
use crate::{Result, ZkError, circuit::BatchParams, node::wire::fr_to_u256};
use alloy::primitives::{Address, B256, U256};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::{ErrorObjectOwned, error::INVALID_PARAMS_CODE},
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc};

/// The error code of a transaction the operator refuses.
pub const REFUSED: i32 = -32003;

/// The server's state.
#[derive(Clone)]
pub struct RpcState(Arc<Shared>);

impl RpcState {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self(shared)
    }
}

/// What `zk_getTransaction` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusJson {
    /// Where it stands.
    pub status: TxStatus,
    /// Its batch, once cut.
    pub batch: Option<u64>,
}

/// What `zk_status` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusJson {
    /// The `ZkRollup` contract.
    pub contract: Address,
    /// The signing domain of transactions (see `ply_zk::circuit::signing_domain`).
    pub domain: U256,
    /// Account depth, token depth, and the slots of a batch.
    pub account_depth: usize,
    /// The depth of the balance trees.
    pub token_depth: usize,
    /// Transfer slots per batch.
    pub transfer_slots: usize,
    /// Accounts in the head state.
    pub accounts: u64,
    /// The head state's root.
    pub head_root: B256,
    /// Operations not yet in a batch.
    pub pending: u64,
    /// Batches cut.
    pub batches: u64,
    /// Batches verified on L1.
    pub verified_batches: u64,
    /// The next L1 deposit the operator expects.
    pub next_deposit: u64,
}

fn refused(message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(REFUSED, message, None::<()>)
}

fn invalid(message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS_CODE, message, None::<()>)
}

fn status(shared: &Shared) -> StatusJson {
    let operator = shared.operator.lock();
    let params: &BatchParams = operator.params();
    let head = operator.head();
    StatusJson {
        contract: shared.l1.rollup(),
        domain: fr_to_u256(head.domain()),
        account_depth: params.account_depth,
        token_depth: params.token_depth,
        transfer_slots: params.transfers,
        accounts: head.account_count(),
        head_root: crate::fr_to_b256(head.root()),
        pending: operator.unbatched(),
        batches: operator.batches().len() as u64,
        verified_batches: operator
            .batches()
            .iter()
            .filter(|b| b.status == BatchStatus::Verified)
            .count() as u64,
        next_deposit: operator.next_deposit(),
    }
}

/// The RPC module.
pub fn module(state: RpcState) -> RpcModule<RpcState> {
    let mut m = RpcModule::new(state);
    m.register_blocking_method("zk_sendTransaction", |params, s, _| {
        let request: TxRequest = params.one()?;
        let op = request.into_op().map_err(invalid)?;
        s.0.submit(op).map_err(refused)
    })
    .expect("registered once");
    m.register_method("zk_getAccount", |params, s, _| {
        let address: Address = params.one()?;
        let operator = s.0.operator.lock();
        let head = operator.head();
        Ok::<_, ErrorObjectOwned>(
            head.index_of(&address).map(|i| AccountJson::new(i, head.account(i).expect("indexed"))),
        )
    })
    .expect("registered once");
    m.register_method("zk_getTransaction", |params, s, _| {
        let id: B256 = params.one()?;
        let status = s.0.operator.lock().status(&id);
        Ok::<_, ErrorObjectOwned>(status.map(|(status, batch)| TxStatusJson { status, batch }))
    })
    .expect("registered once");
    m.register_method("zk_getBatch", |params, s, _| {
        let number: u64 = params.one()?;
        let batch: Option<BatchRecord> =
            s.0.operator.lock().batches().get(number as usize).cloned();
        Ok::<_, ErrorObjectOwned>(batch)
    })
    .expect("registered once");
    m.register_method("zk_status", |_, s, _| Ok::<_, ErrorObjectOwned>(status(&s.0)))
        .expect("registered once");
    m
}

/// Serves the API on `addr`; returns the bound address and the server handle.
pub async fn serve(state: RpcState, addr: SocketAddr) -> Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .build(addr)
        .await
        .map_err(|e| ZkError::Node(format!("cannot listen on {addr}: {e}")))?;
    let bound = server.local_addr().map_err(|e| ZkError::Node(e.to_string()))?;
    Ok((bound, server.start(module(state))))
}
