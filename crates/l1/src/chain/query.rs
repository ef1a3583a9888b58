//! Reads: accounts at a block, calls, gas estimation, blocks, transactions, receipts, logs and
//! fee history, in the shapes of Ethereum's JSON-RPC (alloy's RPC types).

use super::{Chain, MinedBlock, MinedReceipt, PooledTx, TX_GAS_LIMIT_CAP, state::HistoricalState};
use crate::{Error, Result, TxRejection};
use alloy::{
    consensus::Transaction as _,
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, TxKind, U256},
    rpc::types::{
        Block, BlockTransactions, FeeHistory, Filter, FilterBlockOption, Header as RpcHeader, Log,
        Transaction, TransactionReceipt, TransactionRequest,
    },
};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{BlockEnv, TxEnv, result::ExecutionResult},
    context_interface::block::BlobExcessGasAndPrice,
    database_interface::{DatabaseRef, WrapDatabaseRef},
};
use std::sync::Arc;

/// The most blocks one `eth_getLogs` request may span.
pub const MAX_LOG_RANGE: u64 = 100_000;

/// The default tip suggested by `eth_maxPriorityFeePerGas`, as anvil does: 1 gwei.
pub const DEFAULT_PRIORITY_FEE: u128 = 1_000_000_000;

impl Chain {
    /// Resolves a block tag or number to a mined block number. `pending` means the head.
    pub fn resolve_block_number(&self, tag: BlockNumberOrTag) -> Result<u64> {
        let head = self.block_number();
        match tag {
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized => Ok(head),
            BlockNumberOrTag::Earliest => Ok(0),
            BlockNumberOrTag::Number(n) if n <= head => Ok(n),
            BlockNumberOrTag::Number(n) => {
                Err(Error::UnknownBlock(format!("block {n} is beyond the head block {head}")))
            }
        }
    }

    /// Resolves a block id (tag, number or hash) to a mined block number.
    pub fn resolve_block_id(&self, id: BlockId) -> Result<u64> {
        match id {
            BlockId::Number(tag) => self.resolve_block_number(tag),
            BlockId::Hash(hash) => self.by_hash.get(&hash.block_hash).copied().ok_or_else(|| {
                Error::UnknownBlock(format!("no block with hash {}", hash.block_hash))
            }),
        }
    }

    /// The mined block `number`.
    pub fn block(&self, number: u64) -> Option<&Arc<MinedBlock>> {
        self.blocks.get(number as usize)
    }

    /// The mined block with `hash`.
    pub fn block_by_hash(&self, hash: B256) -> Option<&Arc<MinedBlock>> {
        self.by_hash.get(&hash).and_then(|n| self.block(*n))
    }

    /// Runs `f` on the state as of block `number`.
    fn with_state_at<T>(&self, number: u64, f: impl FnOnce(&dyn StateView) -> T) -> T {
        if number >= self.block_number() {
            f(&self.db)
        } else {
            let later = self.history[number as usize + 1..].iter().rev();
            f(&HistoricalState::new(&self.db, later))
        }
    }

    /// The account's balance, nonce and code at `block`.
    pub fn account(&self, address: Address, block: BlockId) -> Result<(U256, u64, Bytes)> {
        let number = self.resolve_block_id(block)?;
        Ok(self.with_state_at(number, |state| {
            let info = state.basic(address).unwrap_or_default();
            let code = if info.code_hash == revm::primitives::KECCAK_EMPTY {
                Bytes::new()
            } else {
                info.code.clone().unwrap_or_else(|| state.code(info.code_hash)).original_bytes()
            };
            (info.balance, info.nonce, code)
        }))
    }

    /// The transaction count of `address` at `block`; with `pending`, pooled transactions that
    /// continue the nonce are counted too.
    pub fn transaction_count(&self, address: Address, block: BlockId) -> Result<u64> {
        let (_, nonce, _) = self.account(address, block)?;
        if block == BlockId::Number(BlockNumberOrTag::Pending) {
            return Ok(self.pool.next_nonce(&address, nonce));
        }
        Ok(nonce)
    }

    /// A storage slot of `address` at `block`.
    pub fn storage_at(&self, address: Address, slot: U256, block: BlockId) -> Result<U256> {
        let number = self.resolve_block_id(block)?;
        Ok(self.with_state_at(number, |state| state.storage(address, slot)))
    }

    fn call_env(&self, number: u64) -> BlockEnv {
        let header = &self.blocks[number as usize].header;
        BlockEnv {
            number: U256::from(header.number),
            beneficiary: header.beneficiary,
            timestamp: U256::from(header.timestamp),
            gas_limit: header.gas_limit,
            basefee: header.base_fee_per_gas.unwrap_or_default(),
            difficulty: U256::ZERO,
            prevrandao: Some(header.mix_hash),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                super::BLOB_BASE_FEE_UPDATE_FRACTION,
            )),
            ..Default::default()
        }
    }

    fn request_env(&self, req: &TransactionRequest, nonce: u64, gas_limit: u64) -> TxEnv {
        let caller = req.from.unwrap_or_default();
        let gas_price = req.gas_price.or(req.max_fee_per_gas).unwrap_or_default();
        TxEnv {
            tx_type: if req.max_fee_per_gas.is_some() { 2 } else { 0 },
            caller,
            gas_limit,
            gas_price,
            kind: req.to.unwrap_or(TxKind::Create),
            value: req.value.unwrap_or_default(),
            data: req.input.input().cloned().unwrap_or_default(),
            nonce,
            chain_id: Some(self.config.chain_id),
            access_list: req.access_list.clone().unwrap_or_default(),
            gas_priority_fee: req.max_priority_fee_per_gas,
            ..Default::default()
        }
    }

    fn call_gas_cap(&self) -> u64 {
        self.config.block_gas_limit.min(TX_GAS_LIMIT_CAP)
    }

    /// Executes `req` against the state at `block` without changing anything; returns the
    /// result and the gas it used.
    fn simulate(
        &self,
        req: &TransactionRequest,
        number: u64,
        gas: u64,
    ) -> Result<(ExecutionResult, u64)> {
        let env = self.call_env(number);
        let mut cfg = self.cfg_env();
        // As geth and anvil do for calls: no base fee floor, no nonce check.
        cfg.disable_base_fee = true;
        cfg.disable_nonce_check = true;
        let caller = req.from.unwrap_or_default();
        self.with_state_at(number, |state| {
            let nonce = state.basic(caller).map(|a| a.nonce).unwrap_or_default();
            let tx = self.request_env(req, nonce, gas);
            let mut evm = Context::mainnet()
                .with_db(WrapDatabaseRef(StateRef(state)))
                .with_block(env)
                .with_cfg(cfg)
                .build_mainnet();
            match evm.transact(tx) {
                Ok(outcome) => {
                    let used = outcome.result.tx_gas_used();
                    Ok((outcome.result, used))
                }
                Err(e) => Err(Error::Rejected(TxRejection::Invalid(e.to_string()))),
            }
        })
    }

    /// `eth_call`: the output of `req` at `block`, or [`Error::Reverted`] with the revert data.
    pub fn call(&self, req: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        let number = self.resolve_block_id(block)?;
        let gas = req.gas.unwrap_or(self.call_gas_cap()).min(self.call_gas_cap());
        let (result, _) = self.simulate(req, number, gas)?;
        into_output(result)
    }

    /// `eth_estimateGas`: the least gas limit with which `req` succeeds at `block`.
    pub fn estimate_gas(&self, req: &TransactionRequest, block: BlockId) -> Result<u64> {
        let number = self.resolve_block_id(block)?;
        let cap = req.gas.unwrap_or(self.call_gas_cap()).min(self.call_gas_cap());
        let (result, used) = self.simulate(req, number, cap)?;
        into_output(result)?;
        // Calls with refunds or 63/64 forwarding may need more than they use: search upwards
        // from what the call used, then bisect.
        let succeeds = |gas: u64| -> bool {
            matches!(self.simulate(req, number, gas), Ok((r, _)) if r.is_success())
        };
        let mut lo = used.saturating_sub(1);
        let mut hi = used;
        if !succeeds(hi) {
            hi = (used * 64 / 63 + 2_300).min(cap);
            if !succeeds(hi) {
                hi = cap;
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if succeeds(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
        }
        Ok(hi)
    }

    /// The block `number` as JSON-RPC returns it; `full` puts whole transactions in it.
    pub fn rpc_block(&self, number: u64, full: bool) -> Option<Block> {
        let block = self.block(number)?;
        let transactions = if full {
            BlockTransactions::Full(
                (0..block.transactions.len()).map(|i| rpc_transaction(block, i)).collect(),
            )
        } else {
            BlockTransactions::Hashes(block.transactions.iter().map(|t| t.hash).collect())
        };
        // The size of the RLP block: [header, transactions, ommers, withdrawals].
        let size = alloy::rlp::Encodable::length(&alloy::consensus::Block {
            header: block.header.clone(),
            body: alloy::consensus::BlockBody::<alloy::consensus::TxEnvelope> {
                transactions: block.transactions.iter().map(|t| t.tx.as_ref().clone()).collect(),
                ommers: vec![],
                withdrawals: Some(Default::default()),
            },
        });
        Some(Block {
            header: RpcHeader {
                hash: block.hash,
                inner: block.header.clone(),
                total_difficulty: Some(U256::ZERO),
                size: Some(U256::from(size)),
            },
            uncles: vec![],
            transactions,
            withdrawals: Some(Default::default()),
        })
    }

    /// A transaction by hash, mined or pooled.
    pub fn rpc_transaction(&self, hash: B256) -> Option<Transaction> {
        if let Some(location) = self.txs.get(&hash) {
            return Some(rpc_transaction(&self.blocks[location.block as usize], location.index));
        }
        let pooled = self.pool.get(&hash)?;
        Some(Transaction {
            inner: pooled_recovered(pooled),
            block_hash: None,
            block_number: None,
            transaction_index: None,
            effective_gas_price: None,
            block_timestamp: None,
        })
    }

    /// The receipt of a mined transaction.
    pub fn rpc_receipt(&self, hash: B256) -> Option<TransactionReceipt> {
        let location = self.txs.get(&hash)?;
        let block = &self.blocks[location.block as usize];
        Some(rpc_receipt(block, location.index))
    }

    /// Every receipt of block `number`.
    pub fn rpc_block_receipts(&self, number: u64) -> Option<Vec<TransactionReceipt>> {
        let block = self.block(number)?;
        Some((0..block.transactions.len()).map(|i| rpc_receipt(block, i)).collect())
    }

    /// `eth_getLogs`.
    pub fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let number = self
                    .by_hash
                    .get(&hash)
                    .copied()
                    .ok_or_else(|| Error::UnknownBlock(format!("no block with hash {hash}")))?;
                (number, number)
            }
            FilterBlockOption::Range { from_block, to_block } => {
                let head = self.block_number();
                let resolve = |tag: Option<BlockNumberOrTag>| match tag {
                    None => Ok(head),
                    Some(BlockNumberOrTag::Number(n)) => Ok(n.min(head)),
                    Some(tag) => self.resolve_block_number(tag),
                };
                if let Some(BlockNumberOrTag::Number(n)) = from_block
                    && n > head
                {
                    return Err(Error::InvalidRequest(format!(
                        "fromBlock {n} is beyond the head block {head}"
                    )));
                }
                // A range that ends beyond the head is read up to the head, as anvil does.
                (resolve(from_block)?, resolve(to_block)?)
            }
        };
        if from > to {
            return Err(Error::InvalidRequest(format!(
                "invalid block range: fromBlock {from} is after toBlock {to}"
            )));
        }
        if to - from >= MAX_LOG_RANGE {
            return Err(Error::InvalidRequest(format!(
                "block range of {} blocks is larger than the limit of {MAX_LOG_RANGE}",
                to - from + 1
            )));
        }
        let mut out = Vec::new();
        for number in from..=to {
            let block = &self.blocks[number as usize];
            if !filter.matches_bloom(block.header.logs_bloom) {
                continue;
            }
            for i in 0..block.transactions.len() {
                out.extend(rpc_logs(block, i).into_iter().filter(|l| filter.matches(&l.inner)));
            }
        }
        Ok(out)
    }

    /// `eth_gasPrice`: the next base fee plus the default tip, as anvil suggests.
    pub fn gas_price(&self) -> u128 {
        self.next_base_fee() as u128 + DEFAULT_PRIORITY_FEE
    }

    /// `eth_feeHistory` over `count` blocks ending at `newest`.
    pub fn fee_history(
        &self,
        count: u64,
        newest: BlockNumberOrTag,
        percentiles: Option<&[f64]>,
    ) -> Result<FeeHistory> {
        let newest = self.resolve_block_number(newest)?;
        if let Some(p) = percentiles
            && (p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]))
        {
            return Err(Error::InvalidRequest(
                "reward percentiles must be increasing values between 0 and 100".into(),
            ));
        }
        let count = count.clamp(1, 1024).min(newest + 1);
        let oldest = newest + 1 - count;
        let mut base_fee_per_gas = Vec::new();
        let mut gas_used_ratio = Vec::new();
        let mut reward = Vec::new();
        for number in oldest..=newest {
            let block = &self.blocks[number as usize];
            let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
            base_fee_per_gas.push(base_fee as u128);
            gas_used_ratio.push(block.header.gas_used as f64 / block.header.gas_limit as f64);
            if let Some(percentiles) = percentiles {
                reward.push(block_rewards(block, base_fee, percentiles));
            }
        }
        base_fee_per_gas.push(if newest == self.block_number() {
            self.next_base_fee() as u128
        } else {
            self.blocks[newest as usize + 1].header.base_fee_per_gas.unwrap_or_default() as u128
        });
        Ok(FeeHistory {
            base_fee_per_gas,
            gas_used_ratio,
            base_fee_per_blob_gas: vec![1; count as usize + 1],
            blob_gas_used_ratio: vec![0.0; count as usize],
            oldest_block: oldest,
            reward: percentiles.map(|_| reward),
        })
    }
}

/// The tips at `percentiles` of a block's gas, as geth computes them.
fn block_rewards(block: &MinedBlock, base_fee: u64, percentiles: &[f64]) -> Vec<u128> {
    if block.transactions.is_empty() {
        return vec![0; percentiles.len()];
    }
    let mut tips: Vec<(u128, u64)> = block
        .transactions
        .iter()
        .zip(&block.receipts)
        .map(|(t, r)| (t.tx.effective_tip_per_gas(base_fee).unwrap_or_default(), r.gas_used))
        .collect();
    tips.sort_unstable_by_key(|(tip, _)| *tip);
    let total: u64 = block.header.gas_used;
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map(|(t, _)| *t).unwrap_or_default()
        })
        .collect()
}

fn pooled_recovered(
    tx: &PooledTx,
) -> alloy::consensus::transaction::Recovered<alloy::consensus::TxEnvelope> {
    alloy::consensus::transaction::Recovered::new_unchecked(tx.tx.as_ref().clone(), tx.sender)
}

fn rpc_transaction(block: &MinedBlock, index: usize) -> Transaction {
    let tx = &block.transactions[index];
    Transaction {
        inner: pooled_recovered(tx),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(block.receipts[index].effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    }
}

fn rpc_logs(block: &MinedBlock, index: usize) -> Vec<Log> {
    let receipt: &MinedReceipt = &block.receipts[index];
    receipt
        .receipt
        .logs()
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(block.transactions[index].hash),
            transaction_index: Some(index as u64),
            log_index: Some(receipt.first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

/// The logs of a mined block, as `eth_subscribe("logs")` and `eth_getLogs` give them.
pub fn block_logs(block: &MinedBlock) -> Vec<Log> {
    (0..block.transactions.len()).flat_map(|i| rpc_logs(block, i)).collect()
}

fn rpc_receipt(block: &MinedBlock, index: usize) -> TransactionReceipt {
    let tx = &block.transactions[index];
    let mined = &block.receipts[index];
    let logs = rpc_logs(block, index);
    let inner = mined.receipt.clone().map_logs(|_| ());
    let inner = match inner {
        alloy::consensus::ReceiptEnvelope::Legacy(r) => {
            alloy::consensus::ReceiptEnvelope::Legacy(with_logs(r, logs))
        }
        alloy::consensus::ReceiptEnvelope::Eip2930(r) => {
            alloy::consensus::ReceiptEnvelope::Eip2930(with_logs(r, logs))
        }
        alloy::consensus::ReceiptEnvelope::Eip1559(r) => {
            alloy::consensus::ReceiptEnvelope::Eip1559(with_logs(r, logs))
        }
        alloy::consensus::ReceiptEnvelope::Eip4844(r) => {
            alloy::consensus::ReceiptEnvelope::Eip4844(with_logs(r, logs))
        }
        alloy::consensus::ReceiptEnvelope::Eip7702(r) => {
            alloy::consensus::ReceiptEnvelope::Eip7702(with_logs(r, logs))
        }
    };
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        gas_used: mined.gas_used,
        effective_gas_price: mined.effective_gas_price,
        blob_gas_used: None,
        // The blob base fee of the embedded chain, which never has blob gas: 1 wei, as anvil.
        blob_gas_price: Some(1),
        from: tx.sender,
        to: tx.tx.to(),
        contract_address: mined.contract_address,
    }
}

fn with_logs(
    r: alloy::consensus::ReceiptWithBloom<alloy::consensus::Receipt<()>>,
    logs: Vec<Log>,
) -> alloy::consensus::ReceiptWithBloom<alloy::consensus::Receipt<Log>> {
    alloy::consensus::ReceiptWithBloom {
        receipt: alloy::consensus::Receipt {
            status: r.receipt.status,
            cumulative_gas_used: r.receipt.cumulative_gas_used,
            logs,
        },
        logs_bloom: r.logs_bloom,
    }
}

fn into_output(result: ExecutionResult) -> Result<Bytes> {
    match result {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(Error::reverted(output)),
        ExecutionResult::Halt { reason, .. } => Err(Error::Halted(format!("{reason:?}"))),
    }
}

/// A read-only state: the live state or a historical view. Object-safe so both go through
/// one code path.
pub(crate) trait StateView {
    fn basic(&self, address: Address) -> Option<revm::state::AccountInfo>;
    fn code(&self, hash: B256) -> revm::state::Bytecode;
    fn storage(&self, address: Address, slot: U256) -> U256;
    fn block_hash(&self, number: u64) -> B256;
}

impl<T: DatabaseRef> StateView for T {
    fn basic(&self, address: Address) -> Option<revm::state::AccountInfo> {
        self.basic_ref(address).ok().flatten()
    }
    fn code(&self, hash: B256) -> revm::state::Bytecode {
        self.code_by_hash_ref(hash).unwrap_or_default()
    }
    fn storage(&self, address: Address, slot: U256) -> U256 {
        self.storage_ref(address, slot).unwrap_or_default()
    }
    fn block_hash(&self, number: u64) -> B256 {
        self.block_hash_ref(number).unwrap_or_default()
    }
}

/// Adapts a `&dyn StateView` to revm's `DatabaseRef`.
struct StateRef<'a>(&'a dyn StateView);

impl DatabaseRef for StateRef<'_> {
    type Error = std::convert::Infallible;
    fn basic_ref(&self, address: Address) -> Result<Option<revm::state::AccountInfo>, Self::Error> {
        Ok(self.0.basic(address))
    }
    fn code_by_hash_ref(&self, hash: B256) -> Result<revm::state::Bytecode, Self::Error> {
        Ok(self.0.code(hash))
    }
    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, Self::Error> {
        Ok(self.0.storage(address, slot))
    }
    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.0.block_hash(number))
    }
}
