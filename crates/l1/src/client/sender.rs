//! [`TxSender`]: signs and sends an account's transactions, owns its nonces and bumps the fees
//! of transactions that do not get mined.

use super::{DynL1Client, Fees};
use crate::{Error, Result, TxRejection, chain::TX_GAS_LIMIT_CAP};
use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::{BlockId, BlockNumberOrTag, Encodable2718},
    primitives::{Address, B256, Bytes, TxKind, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::{SignerSync, local::PrivateKeySigner},
};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OnceCell};

/// How a [`TxSender`] waits for its transactions and bumps their fees.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// How often [`TxSender::send_and_wait`] asks for the receipt.
    pub poll_interval: Duration,
    /// After this many polls without a receipt, the transaction is signed again with the same
    /// nonce and fees raised by at least 12.5%, and sent again (and again after as many more
    /// polls). `0` never bumps.
    pub bump_after: u32,
    /// [`TxSender::send_and_wait`] gives up with [`Error::Timeout`] after this long.
    pub timeout: Duration,
    /// The highest `max_fee_per_gas`, in wei, that the sender sets by itself (initial fees and
    /// bumps). Fees given in a request are used as they are.
    pub max_fee_cap: u128,
    /// The gas limit set when a request has none: the estimate times this, in percent.
    pub gas_estimate_percent: u64,
}

impl Default for SenderConfig {
    /// Polls every 100 ms, bumps after 30 polls (3 s, a few L1 slots on a dev chain), gives up
    /// after 2 minutes, never pays more than 1,000 gwei per gas, adds 20% to gas estimates.
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(100),
            bump_after: 30,
            timeout: Duration::from_secs(120),
            max_fee_cap: 1_000_000_000_000,
            gas_estimate_percent: 120,
        }
    }
}

/// Sends the transactions of one account.
///
/// The sender fills in what a request leaves out: the sender address, the chain id, the nonce
/// (kept locally, starting from the node's `pending` nonce), the gas limit (the estimate plus
/// [`SenderConfig::gas_estimate_percent`]) and EIP-1559 fees from [`super::L1Client::fees`].
/// Every transaction it signs is an EIP-1559 transaction.
///
/// # Concurrency
///
/// Use **one `TxSender` per account** and share it behind an `Arc`: nonces are handed out under
/// an internal (tokio) lock, so tasks sending at the same time get consecutive nonces and the
/// node receives them in nonce order. Two senders (or a sender and a wallet) using the same
/// key race for nonces: the loser is refused with "nonce too low", after which the sender
/// re-reads the nonce from the node and tries again once, but a transaction replaced in the
/// pool by the other party's is lost. After `evm_revert` (which drops the pool and rewinds
/// nonces), call [`TxSender::resync_nonce`], or the next transactions queue behind a nonce gap
/// and are never mined.
#[derive(Debug)]
pub struct TxSender {
    client: DynL1Client,
    signer: PrivateKeySigner,
    config: SenderConfig,
    chain_id: OnceCell<u64>,
    /// The next nonce to use; `None` until read from the node (or after an error).
    nonce: Mutex<Option<u64>>,
}

/// A transaction this sender signed and sent.
#[derive(Debug, Clone)]
struct Sent {
    tx: TxEip1559,
    hash: B256,
}

impl TxSender {
    /// A sender for `signer`'s account on `client`, with the default [`SenderConfig`].
    pub fn new(client: DynL1Client, signer: PrivateKeySigner) -> Self {
        Self::with_config(client, signer, SenderConfig::default())
    }

    /// A sender with its own waiting and fee settings.
    pub fn with_config(
        client: DynL1Client,
        signer: PrivateKeySigner,
        config: SenderConfig,
    ) -> Self {
        Self { client, signer, config, chain_id: OnceCell::new(), nonce: Mutex::new(None) }
    }

    /// The account this sender signs for.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The client transactions go through.
    pub fn client(&self) -> &DynL1Client {
        &self.client
    }

    /// The waiting and fee settings.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Forgets the locally kept nonce; the next transaction reads the `pending` nonce from the
    /// node. Needed after the chain was reverted or the key was used elsewhere.
    pub async fn resync_nonce(&self) {
        *self.nonce.lock().await = None;
    }

    /// Signs and submits `req`; returns the transaction hash without waiting for a block.
    ///
    /// The nonce is chosen by the sender: a request with `nonce` set is refused. A request
    /// whose gas estimation reverts fails here with [`Error::Reverted`]; to send it anyway (and
    /// get a failed receipt), set `gas`.
    pub async fn send(&self, req: TransactionRequest) -> Result<B256> {
        Ok(self.submit(req).await?.hash)
    }

    /// Sends `req` and waits for its receipt, bumping its fees if it is not mined within
    /// [`SenderConfig::bump_after`] polls; fails with [`Error::Timeout`] after
    /// [`SenderConfig::timeout`]. A transaction that was mined but failed (reverted) is
    /// returned as it is, with `status() == false`: see [`TxSender::send_and_check`].
    pub async fn send_and_wait(&self, req: TransactionRequest) -> Result<TransactionReceipt> {
        let sent = self.submit(req).await?;
        self.wait(sent).await
    }

    /// As [`TxSender::send_and_wait`], but a failed transaction is an error: the transaction
    /// is replayed as a call on the state before its block to recover the revert data, so
    /// the error is usually the [`Error::Reverted`] (or [`Error::Halted`]) that the
    /// transaction met. (Transactions earlier in the same block are not replayed, so in rare
    /// cases the replay succeeds; then the error is an [`Error::Reverted`] with empty data
    /// whose reason names the transaction and block.)
    pub async fn send_and_check(&self, req: TransactionRequest) -> Result<TransactionReceipt> {
        let sent = self.submit(req).await?;
        let tx = sent.tx.clone();
        let receipt = self.wait(sent).await?;
        if receipt.status() {
            return Ok(receipt);
        }
        let block = receipt.block_number.unwrap_or_default();
        let replay = TransactionRequest {
            from: Some(self.address()),
            to: Some(tx.to),
            value: Some(tx.value),
            input: tx.input.clone().into(),
            gas: Some(tx.gas_limit),
            max_fee_per_gas: Some(tx.max_fee_per_gas),
            max_priority_fee_per_gas: Some(tx.max_priority_fee_per_gas),
            access_list: Some(tx.access_list.clone()),
            ..Default::default()
        };
        let at = BlockId::Number(BlockNumberOrTag::Number(block.saturating_sub(1)));
        match self.client.call(&replay, at).await {
            Err(e @ (Error::Reverted { .. } | Error::Halted(_))) => Err(e),
            _ => Err(Error::Reverted {
                data: Bytes::new(),
                reason: Some(format!(
                    "transaction {} failed in block {block} (status 0); replaying it did not \
                     reproduce the failure",
                    receipt.transaction_hash
                )),
            }),
        }
    }

    /// Calls `to` with `data` and `value` and waits for a successful receipt (a failure is an
    /// error, as in [`TxSender::send_and_check`]); returns the transaction's hash.
    pub async fn send_call(&self, to: Address, data: Vec<u8>, value: U256) -> Result<B256> {
        let req = TransactionRequest::default().to(to).value(value).input(Bytes::from(data).into());
        Ok(self.send_and_check(req).await?.transaction_hash)
    }

    /// Deploys `bytecode` (creation code with constructor arguments appended) and waits for
    /// it; returns the new contract's address. A failed creation is an error, as in
    /// [`TxSender::send_and_check`].
    pub async fn deploy(&self, bytecode: Bytes) -> Result<Address> {
        let req = TransactionRequest::default().create().input(bytecode.into());
        let receipt = self.send_and_check(req).await?;
        receipt.contract_address.ok_or_else(|| {
            Error::Rpc(format!(
                "the receipt of creation {} has no contract address",
                receipt.transaction_hash
            ))
        })
    }

    async fn chain_id(&self) -> Result<u64> {
        self.chain_id.get_or_try_init(|| self.client.chain_id()).await.copied()
    }

    /// Fills `req`, takes a nonce, signs and sends; on "nonce too low/high" re-reads the
    /// nonce and tries once more.
    async fn submit(&self, req: TransactionRequest) -> Result<Sent> {
        if let Some(nonce) = req.nonce {
            return Err(Error::InvalidRequest(format!(
                "the request sets nonce {nonce}, but the TxSender of {} chooses nonces: leave it unset",
                self.address()
            )));
        }
        let chain_id = self.chain_id().await?;
        if let Some(id) = req.chain_id
            && id != chain_id
        {
            return Err(Error::InvalidRequest(format!(
                "the request is for chain {id}, but the L1 is chain {chain_id}"
            )));
        }
        let mut req = req;
        req.from = Some(self.address());
        let gas_limit = match req.gas {
            Some(gas) => gas,
            None => {
                let estimate = self.client.estimate_gas(&req).await?;
                let padded = estimate.saturating_mul(self.config.gas_estimate_percent) / 100;
                // Padding must not push a transaction over the per-transaction cap (EIP-7825).
                padded.min(TX_GAS_LIMIT_CAP).max(estimate)
            }
        };
        let (max_fee_per_gas, max_priority_fee_per_gas) =
            match (req.max_fee_per_gas.or(req.gas_price), req.max_priority_fee_per_gas) {
                (Some(max), Some(tip)) => (max, tip.min(max)),
                (max, tip) => {
                    let fees = self.client.fees().await?;
                    let tip = tip.unwrap_or(fees.priority_fee);
                    let max = max.unwrap_or_else(|| {
                        let fees = Fees { priority_fee: tip, ..fees };
                        fees.max_fee().min(self.config.max_fee_cap).max(tip)
                    });
                    (max, tip.min(max))
                }
            };
        let mut tx = TxEip1559 {
            chain_id,
            nonce: 0,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to: req.to.unwrap_or(TxKind::Create),
            value: req.value.unwrap_or_default(),
            access_list: req.access_list.clone().unwrap_or_default(),
            input: req.input.input().cloned().unwrap_or_default(),
        };

        let mut next = self.nonce.lock().await;
        let mut attempt = 0;
        loop {
            let nonce = match *next {
                Some(n) => n,
                None => self.client.nonce(self.address(), BlockId::pending()).await?,
            };
            tx.nonce = nonce;
            match self.sign_and_send(&tx).await {
                Ok(hash) => {
                    *next = Some(nonce + 1);
                    return Ok(Sent { tx, hash });
                }
                Err(e) => {
                    // Whatever happened, the node's pending nonce is the truth from now on.
                    *next = None;
                    if attempt == 0 && is_nonce_error(&e) {
                        tracing::debug!(sender = %self.address(), nonce, error = %e, "nonce out of sync, re-reading it");
                        attempt += 1;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    fn sign(&self, tx: &TxEip1559) -> Result<(B256, Bytes)> {
        let signature = self
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| Error::Signing(e.to_string()))?;
        let envelope = TxEnvelope::from(tx.clone().into_signed(signature));
        Ok((*envelope.tx_hash(), envelope.encoded_2718().into()))
    }

    async fn sign_and_send(&self, tx: &TxEip1559) -> Result<B256> {
        let (hash, raw) = self.sign(tx)?;
        let returned = self.client.send_raw_transaction(raw).await?;
        if returned != hash {
            tracing::warn!(%hash, %returned, "the node returned another transaction hash");
        }
        Ok(hash)
    }

    /// Polls for the receipt of any version of `sent`, bumping fees when it is slow.
    async fn wait(&self, sent: Sent) -> Result<TransactionReceipt> {
        let start = Instant::now();
        let mut tx = sent.tx;
        let mut hashes = vec![sent.hash];
        let mut polls = 0u32;
        loop {
            let mut last_error = None;
            // Newest version first: after a bump it is the likely one.
            for hash in hashes.iter().rev() {
                match self.client.receipt(*hash).await {
                    Ok(Some(receipt)) => return Ok(receipt),
                    Ok(None) => {}
                    // A flaky node should not lose the transaction: retry until the timeout.
                    Err(e) => last_error = Some(e),
                }
            }
            let waited = start.elapsed();
            if waited >= self.config.timeout {
                return Err(last_error.unwrap_or(Error::Timeout {
                    hash: *hashes.last().expect("at least one hash"),
                    waited_secs: waited.as_secs(),
                }));
            }
            polls += 1;
            if self.config.bump_after > 0 && polls >= self.config.bump_after {
                polls = 0;
                if let Some(bumped) = self.bumped(&tx).await {
                    match self.sign_and_send(&bumped).await {
                        Ok(hash) => {
                            tracing::info!(
                                sender = %self.address(),
                                nonce = tx.nonce,
                                %hash,
                                max_fee = bumped.max_fee_per_gas,
                                tip = bumped.max_priority_fee_per_gas,
                                "transaction not mined yet, sent again with higher fees"
                            );
                            hashes.push(hash);
                            tx = bumped;
                        }
                        // "nonce too low" here usually means an earlier version was just mined:
                        // the next poll finds its receipt. Any other refusal leaves the
                        // earlier versions pending, so keep waiting for them.
                        Err(e) => tracing::warn!(
                            sender = %self.address(),
                            nonce = tx.nonce,
                            error = %e,
                            "fee bump refused"
                        ),
                    }
                }
            }
            let left = self.config.timeout.saturating_sub(start.elapsed());
            tokio::time::sleep(self.config.poll_interval.min(left)).await;
        }
    }

    /// `tx` with fees raised by at least 12.5% (nodes require 10% to replace a pooled
    /// transaction) and at least to today's market fees, within the fee cap; `None` when the cap
    /// leaves no room for a valid replacement.
    async fn bumped(&self, tx: &TxEip1559) -> Option<TxEip1559> {
        let raise = |x: u128| x.saturating_add(x.div_ceil(8));
        let min_tip = raise(tx.max_priority_fee_per_gas);
        let min_max = raise(tx.max_fee_per_gas);
        let market = self.client.fees().await.ok();
        let tip = market.map_or(min_tip, |f| min_tip.max(f.priority_fee));
        let wanted_max = market.map_or(min_max, |f| Fees { priority_fee: tip, ..f }.max_fee());
        let max =
            min_max.max(wanted_max).max(tip).min(self.config.max_fee_cap.max(tx.max_fee_per_gas));
        let tip = tip.min(max);
        if max < min_max || tip < min_tip {
            tracing::warn!(
                sender = %self.address(),
                nonce = tx.nonce,
                max_fee_cap = self.config.max_fee_cap,
                "cannot bump fees further: the fee cap is reached"
            );
            return None;
        }
        Some(TxEip1559 { max_fee_per_gas: max, max_priority_fee_per_gas: tip, ..tx.clone() })
    }
}

/// Whether the node refused a transaction because of its nonce (in-process or over RPC).
fn is_nonce_error(e: &Error) -> bool {
    match e {
        Error::Rejected(TxRejection::NonceTooLow { .. } | TxRejection::NonceTooHigh { .. }) => true,
        Error::Rpc(message) => {
            let message = message.to_ascii_lowercase();
            message.contains("nonce too low") || message.contains("nonce too high")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_errors_are_recognised_from_both_backends() {
        let low = TxRejection::NonceTooLow { sender: Address::ZERO, expected: 2, got: 1 };
        assert!(is_nonce_error(&low.into()));
        assert!(is_nonce_error(&Error::Rpc("nonce too low (code -32003)".into())));
        assert!(is_nonce_error(&Error::Rpc("Nonce too high".into())));
        assert!(!is_nonce_error(&Error::Rpc("insufficient funds".into())));
    }
}
