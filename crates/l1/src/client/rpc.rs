//! [`RpcClient`]: any Ethereum node over HTTP JSON-RPC, through an alloy provider.

use super::{Fees, L1Client};
use crate::{Error, Result};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U64, U256},
    providers::{Provider, RootProvider},
    rpc::types::{Filter, Header, Log, Transaction, TransactionReceipt, TransactionRequest},
    transports::{RpcError, TransportErrorKind},
};
use std::borrow::Cow;

/// The JSON-RPC error code geth, anvil and ply's own server use for a revert; the error's
/// `data` holds the revert payload.
const REVERT_CODE: i64 = 3;

/// An [`L1Client`] over HTTP JSON-RPC: anvil, geth, a testnet, or ply's own server
/// ([`crate::rpc::serve`]).
///
/// Every method is one request. Reverts (code 3 with the revert data, or any error whose message
/// says "revert" and carries hex data) become [`Error::Reverted`]; every other error from the
/// node or the transport becomes [`Error::Rpc`] with the node's message, which keeps the words
/// callers match on ("nonce too low", "replacement transaction underpriced", ...).
#[derive(Debug, Clone)]
pub struct RpcClient {
    url: url::Url,
    provider: RootProvider,
}

impl RpcClient {
    /// A client of the node at `url` (`http://…`). Nothing is sent until the first call.
    ///
    /// `https://` is refused: ply is built without a TLS stack (it would double the build),
    /// and WebSocket URLs are refused because subscriptions are not part of [`L1Client`].
    pub fn new(url: &str) -> Result<Self> {
        let url: url::Url =
            url.parse().map_err(|e| Error::Rpc(format!("invalid L1 RPC URL {url:?}: {e}")))?;
        match url.scheme() {
            "http" => {}
            "https" => {
                return Err(Error::Rpc(format!(
                    "{url}: https needs TLS, which ply is built without; use an http:// endpoint \
                     (a local node, or a local proxy that speaks TLS to the remote one)"
                )));
            }
            other => {
                return Err(Error::Rpc(format!(
                    "unsupported L1 RPC URL scheme {other:?} in {url}: use http://"
                )));
            }
        }
        Ok(Self { provider: RootProvider::new_http(url.clone()), url })
    }

    /// The node's URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The alloy provider underneath, for requests the trait does not cover.
    pub fn provider(&self) -> &RootProvider {
        &self.provider
    }

    /// Maps a transport error, naming the node when the transport failed.
    fn error(&self, error: RpcError<TransportErrorKind>) -> Error {
        match rpc_error(error) {
            Error::Rpc(message) if message.contains("error sending request") => {
                Error::Rpc(format!("cannot reach {}: {message}", self.url))
            }
            other => other,
        }
    }

    /// Sends any JSON-RPC request (used for the dev methods, `evm_*`).
    pub async fn request<P, R>(&self, method: &'static str, params: P) -> Result<R>
    where
        P: serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin,
        R: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        self.provider.raw_request(Cow::Borrowed(method), params).await.map_err(|e| self.error(e))
    }
}

/// Maps an alloy transport error to ply's error: reverts keep their data.
fn rpc_error(error: RpcError<TransportErrorKind>) -> Error {
    match error {
        RpcError::ErrorResp(payload) if payload.code == REVERT_CODE => {
            // The data is the hex revert payload itself; an empty revert may come without it.
            let data = payload
                .try_data_as::<Bytes>()
                .and_then(|d| d.ok())
                .or_else(|| payload.as_revert_data())
                .unwrap_or_default();
            Error::reverted(data)
        }
        RpcError::ErrorResp(payload) => match payload.as_revert_data() {
            Some(data) => Error::reverted(data),
            None => Error::Rpc(format!("{} (code {})", payload.message, payload.code)),
        },
        other => Error::Rpc(with_sources(&other)),
    }
}

/// An error with its causes: transport errors say "error sending request" and keep the why
/// ("Connection refused") in their sources.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

#[async_trait::async_trait]
impl L1Client for RpcClient {
    async fn chain_id(&self) -> Result<u64> {
        self.provider.get_chain_id().await.map_err(|e| self.error(e))
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(|e| self.error(e))
    }

    async fn header(&self, block: BlockNumberOrTag) -> Result<Option<Header>> {
        let block = self.provider.get_block_by_number(block).await.map_err(|e| self.error(e))?;
        Ok(block.map(|b| b.header))
    }

    async fn balance(&self, address: Address, block: BlockId) -> Result<U256> {
        self.provider.get_balance(address).block_id(block).await.map_err(|e| self.error(e))
    }

    async fn nonce(&self, address: Address, block: BlockId) -> Result<u64> {
        self.provider
            .get_transaction_count(address)
            .block_id(block)
            .await
            .map_err(|e| self.error(e))
    }

    async fn code(&self, address: Address, block: BlockId) -> Result<Bytes> {
        self.provider.get_code_at(address).block_id(block).await.map_err(|e| self.error(e))
    }

    async fn call(&self, req: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        self.provider.call(req.clone()).block(block).await.map_err(|e| self.error(e))
    }

    async fn estimate_gas(&self, req: &TransactionRequest) -> Result<u64> {
        self.provider.estimate_gas(req.clone()).await.map_err(|e| self.error(e))
    }

    async fn fees(&self) -> Result<Fees> {
        // The last entry of a fee history is the base fee of the block after `newest`.
        let history = self
            .provider
            .get_fee_history(1, BlockNumberOrTag::Latest, &[])
            .await
            .map_err(|e| self.error(e))?;
        let base_fee = history
            .next_block_base_fee()
            .ok_or_else(|| Error::Rpc("eth_feeHistory returned no base fee".into()))?;
        let priority_fee =
            self.provider.get_max_priority_fee_per_gas().await.map_err(|e| self.error(e))?;
        Ok(Fees { base_fee, priority_fee })
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        self.request("eth_sendRawTransaction", (raw,)).await
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.provider.get_transaction_receipt(hash).await.map_err(|e| self.error(e))
    }

    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        self.provider.get_transaction_by_hash(hash).await.map_err(|e| self.error(e))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.provider.get_logs(filter).await.map_err(|e| self.error(e))
    }

    async fn mine(&self) -> Result<()> {
        // Answered with "0x0" by anvil and ply; the value says nothing.
        let _: serde_json::Value = self.request("evm_mine", ()).await?;
        Ok(())
    }

    async fn increase_time(&self, seconds: u64) -> Result<()> {
        let _: serde_json::Value = self.request("evm_increaseTime", (U64::from(seconds),)).await?;
        Ok(())
    }

    async fn snapshot(&self) -> Result<U256> {
        self.request("evm_snapshot", ()).await
    }

    async fn revert(&self, id: U256) -> Result<bool> {
        self.request("evm_revert", (id,)).await
    }
}
