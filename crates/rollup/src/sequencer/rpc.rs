//! The sequencer's JSON-RPC API (HTTP and WebSocket on one port, 127.0.0.1:9545 by default).
//!
//! | method | params | result |
//! |---|---|---|
//! | `ply_sendTransaction` | [`TxRequest`] | [`Confirmation`] once the transaction is durable |
//! | `ply_getAccount` | address | [`AccountView`] or null |
//! | `ply_getTransaction` | hash | [`TxView`] or null |
//! | `ply_getBlock` | number | [`BlockView`] or null |
//! | `ply_blockNumber` | — | number of sealed blocks |
//! | `ply_getBatch` | index | [`PostedBatch`] or null |
//! | `ply_getWithdrawal` | transaction hash | [`WithdrawalView`] or null |
//! | `ply_status` | — | [`StatusView`] |
//! | `ply_subscribe` | `"newBlocks"` | notifications of [`BlockView`] |
//!
//! A refused transaction gets error -32000 with the ledger's sentence ("nonce 7 is below the
//! account's next nonce 9"); undecodable parameters get -32602.

use super::{AccountView, Confirmation, PostedBatch, Sequencer, TxStatus, status_of};
use crate::Error;
use alloy::primitives::{Address, B256, Bytes, Signature, U256};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule,
    server::{Server, ServerHandle},
    types::{ErrorObjectOwned, error::INVALID_PARAMS_CODE},
};
use ply_ledger::{SignedTx, TokenId, Transfer, Tx, Withdrawal, WithdrawalTree};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// JSON-RPC error code of a refused transaction or request.
pub const REFUSED: i32 = -32000;

/// A signed transaction as clients send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRequest {
    /// `"transfer"` or `"withdrawal"`.
    pub kind: TxKind,
    /// Sender.
    pub from: Address,
    /// Recipient (L2 for a transfer, L1 for a withdrawal).
    pub to: Address,
    /// Token id (0 = ETH).
    pub token: TokenId,
    /// Amount.
    pub amount: U256,
    /// Fee, in the same token.
    pub fee: U256,
    /// The sender's nonce.
    pub nonce: u64,
    /// 65-byte signature `r ‖ s ‖ v` over the EIP-712 hash.
    pub signature: Bytes,
}

/// The kind of a [`TxRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// An L2 transfer.
    Transfer,
    /// A withdrawal to L1.
    Withdrawal,
}

impl TxRequest {
    /// The request for a signed transaction.
    pub fn from_signed(signed: &SignedTx) -> Self {
        let (kind, from, to, token, amount, fee, nonce) = match &signed.tx {
            Tx::Transfer(t) => (TxKind::Transfer, t.from, t.to, t.token, t.amount, t.fee, t.nonce),
            Tx::Withdrawal(w) => {
                (TxKind::Withdrawal, w.from, w.to, w.token, w.amount, w.fee, w.nonce)
            }
        };
        Self {
            kind,
            from,
            to,
            token,
            amount,
            fee,
            nonce,
            signature: signed.signature.as_bytes().to_vec().into(),
        }
    }

    /// The signed transaction this request carries.
    pub fn into_signed(self) -> crate::Result<SignedTx> {
        let bytes: [u8; 65] = self.signature.as_ref().try_into().map_err(|_| {
            crate::Error::Invalid(format!(
                "signature must be 65 bytes, got {}",
                self.signature.len()
            ))
        })?;
        let signature = Signature::from_raw_array(&bytes)
            .map_err(|e| crate::Error::Invalid(format!("bad signature: {e}")))?;
        let tx = match self.kind {
            TxKind::Transfer => Tx::Transfer(Transfer {
                from: self.from,
                to: self.to,
                token: self.token,
                amount: self.amount,
                fee: self.fee,
                nonce: self.nonce,
            }),
            TxKind::Withdrawal => Tx::Withdrawal(Withdrawal {
                from: self.from,
                to: self.to,
                token: self.token,
                amount: self.amount,
                fee: self.fee,
                nonce: self.nonce,
            }),
        };
        Ok(SignedTx { tx, signature })
    }
}

/// A transaction as `ply_getTransaction` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxView {
    /// Transaction id.
    pub hash: B256,
    /// L2 block.
    pub block: u64,
    /// Index in the block.
    pub index: usize,
    /// Soft-confirmed, posted or final.
    pub status: TxStatus,
    /// The batch holding it, once posted.
    pub batch: Option<u64>,
    /// The transaction.
    pub tx: TxRequest,
}

/// A block as `ply_getBlock` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    /// Block number.
    pub number: u64,
    /// Timestamp.
    pub timestamp: u64,
    /// State root after it.
    pub state_root: B256,
    /// Queue indices of the deposits it applied.
    pub deposits: Vec<u64>,
    /// Its transactions.
    pub transactions: Vec<B256>,
}

/// A withdrawal and its proof, for `Bridge.claimWithdrawal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalView {
    /// Batch index.
    pub batch_index: u64,
    /// Position in the batch's withdrawal tree.
    pub position: u32,
    /// L1 recipient.
    pub to: Address,
    /// Token id.
    pub token: TokenId,
    /// Amount.
    pub amount: U256,
    /// Siblings from the leaf level up.
    pub proof: Vec<B256>,
    /// Whether the batch's output is final (the claim can be made).
    pub finalized: bool,
}

/// The sequencer's overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// L2 chain id.
    pub chain_id: u64,
    /// The Rollup contract (EIP-712 verifying contract).
    pub rollup: Address,
    /// The Bridge contract (deposits, withdrawal claims).
    pub bridge: Address,
    /// Sealed blocks.
    pub blocks: u64,
    /// Current state root.
    pub state_root: B256,
    /// Accounts.
    pub accounts: u64,
    /// Next L1 deposit to apply.
    pub next_deposit: u64,
    /// Batches posted.
    pub batches: u64,
    /// Batches whose output is final.
    pub finalized_batches: u64,
}

fn refused(e: Error) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(REFUSED, e.to_string(), None::<()>)
}

fn invalid(message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS_CODE, message, None::<()>)
}

fn block_view(block: &super::L2Block) -> BlockView {
    BlockView {
        number: block.number,
        timestamp: block.timestamp,
        state_root: block.state_root,
        deposits: block.deposits.iter().map(|d| d.queue_index).collect(),
        transactions: block.txs.iter().map(|t| t.hash).collect(),
    }
}

/// The withdrawal made by transaction `hash`, with its proof, once its batch is posted.
pub fn withdrawal_view(
    state: &super::SequencerState,
    batches: &[PostedBatch],
    hash: B256,
) -> Option<WithdrawalView> {
    let location = state.location(&hash)?;
    let batch = batches
        .iter()
        .find(|b| b.first_block <= location.block && location.block <= b.last_block)?;
    // Position: the withdrawals before it in the batch, in execution order.
    let mut position = 0u32;
    for block in &state.sealed()[batch.first_block as usize..=batch.last_block as usize] {
        for tx in &block.txs {
            if tx.hash == hash {
                let record = batch.withdrawals.get(position as usize)?.clone();
                let tree = WithdrawalTree::new(&batch.withdrawals).ok()?;
                let proof = tree.proof(position).ok()?;
                return Some(WithdrawalView {
                    batch_index: batch.index,
                    position,
                    to: record.to,
                    token: record.token,
                    amount: record.amount,
                    proof: proof.siblings,
                    finalized: batch.finalized,
                });
            }
            if tx.tx.tx.is_withdrawal() {
                position += 1;
            }
        }
    }
    None
}

/// The RPC module over `sequencer`.
pub fn module(sequencer: Sequencer) -> RpcModule<Sequencer> {
    let mut m = RpcModule::new(sequencer);
    m.register_async_method("ply_sendTransaction", |params, s, _| async move {
        let request: TxRequest = params.one()?;
        let signed = request.into_signed().map_err(|e| invalid(e.to_string()))?;
        s.submit(signed).await.map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_getAccount", |params, s, _| async move {
        let address: Address = params.one()?;
        s.account(address).await.map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_getTransaction", |params, s, _| async move {
        let hash: B256 = params.one()?;
        s.query(move |state, batches| {
            let (location, tx) = state.transaction(&hash)?;
            let batch = batches
                .iter()
                .find(|b| b.first_block <= location.block && location.block <= b.last_block)
                .map(|b| b.index);
            Some(TxView {
                hash,
                block: location.block,
                index: location.index,
                status: status_of(location.block, batches),
                batch,
                tx: TxRequest::from_signed(&tx.tx),
            })
        })
        .await
        .map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_getBlock", |params, s, _| async move {
        let number: u64 = params.one()?;
        s.query(move |state, _| state.sealed().get(number as usize).map(|b| block_view(b)))
            .await
            .map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_blockNumber", |_, s, _| async move {
        s.query(|state, _| state.sealed().len() as u64).await.map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_getBatch", |params, s, _| async move {
        let index: u64 = params.one()?;
        s.query(move |_, batches| batches.iter().find(|b| b.index == index).cloned())
            .await
            .map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_getWithdrawal", |params, s, _| async move {
        let hash: B256 = params.one()?;
        s.query(move |state, batches| withdrawal_view(state, batches, hash)).await.map_err(refused)
    })
    .expect("registered once");
    m.register_async_method("ply_status", |_, s, _| async move {
        let domain = s.domain().clone();
        let bridge = s.bridge();
        s.query(move |state, batches| StatusView {
            chain_id: domain.chain_id(),
            rollup: domain.rollup(),
            bridge,
            blocks: state.sealed().len() as u64,
            state_root: state.ledger().root(),
            accounts: state.ledger().account_count(),
            next_deposit: state.next_deposit(),
            batches: batches.len() as u64,
            finalized_batches: batches.iter().filter(|b| b.finalized).count() as u64,
        })
        .await
        .map_err(refused)
    })
    .expect("registered once");
    m.register_subscription(
        "ply_subscribe",
        "ply_subscription",
        "ply_unsubscribe",
        |params, pending: PendingSubscriptionSink, s, _| async move {
            let kind: String = match params.one() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            if kind != "newBlocks" {
                pending
                    .reject(invalid(format!("unknown subscription {kind:?}: use newBlocks")))
                    .await;
                return Ok(());
            }
            ply_l1::rpc::forward(pending, s.subscribe(), |block| vec![block_view(block)]).await
        },
    )
    .expect("registered once");
    m
}

/// Serves the sequencer's API on `addr`; returns the bound address and the server handle.
pub async fn serve(
    sequencer: Sequencer,
    addr: SocketAddr,
) -> crate::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .build(addr)
        .await
        .map_err(|e| Error::Invalid(format!("cannot listen on {addr}: {e}")))?;
    let bound = server.local_addr().map_err(|e| Error::Invalid(e.to_string()))?;
    Ok((bound, server.start(module(sequencer))))
}

/// Keeps [`AccountView`] and [`Confirmation`] in this module's public vocabulary.
pub type AccountResult = Option<AccountView>;
/// A confirmation, as `ply_sendTransaction` returns it.
pub type SendResult = Confirmation;
