//! The embedded Ethereum dev chain: revm executes, this module keeps blocks, receipts, the
//! pool, time and snapshots.
//!
//! [`Chain`] is a synchronous state machine: it never spawns or sleeps. A node wraps it in a
//! lock ([`crate::node::Node`]), the RPC server and the in-process client call into it, and a
//! timer task may call [`Chain::mine`] for interval mining.

mod config;
mod pool;
pub mod query;
mod state;
mod store;

pub use config::{ChainConfig, DEV_CHAIN_ID, Mining};

use crate::{Error, Result, TxRejection};
use alloy::{
    consensus::{
        EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction,
        TxEnvelope, TxType, proofs, transaction::SignerRecoverable,
    },
    eips::{
        Decodable2718,
        eip1559::{BaseFeeParams, calc_next_block_base_fee},
        eip7685::EMPTY_REQUESTS_HASH,
    },
    primitives::{Address, B256, Bloom, Bytes, Log, TxKind, U256, keccak256},
};
use alloy_evm::FromRecoveredTx;
use alloy_trie::EMPTY_ROOT_HASH;
use pool::Pool;
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::block::BlobExcessGasAndPrice,
    database_interface::DatabaseCommit,
};
use state::{StateDiff, StateRootCache, WorldState};
use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};
use store::Store;
use tokio::sync::broadcast;

/// The per-transaction gas cap of EIP-7825 (Osaka).
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;

/// The largest init code a creation may carry (EIP-3860: twice the EIP-170 code size limit).
pub const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// Blob base fee update fraction of the BPO1 parameters anvil uses by default.
const BLOB_BASE_FEE_UPDATE_FRACTION: u64 = 8_346_193;

/// A decoded, signature-checked transaction, ready for the pool.
#[derive(Debug, Clone)]
pub struct PooledTx {
    /// The signed transaction.
    pub tx: Arc<TxEnvelope>,
    /// The signer recovered from the signature.
    pub sender: Address,
    /// The transaction hash.
    pub hash: B256,
}

impl PooledTx {
    /// Decodes an EIP-2718 envelope (or legacy RLP) and recovers its signer. This is the
    /// expensive, stateless half of accepting a transaction; it needs no lock on the chain, so
    /// callers may run it on many threads.
    pub fn decode(raw: &[u8]) -> Result<Self, TxRejection> {
        let mut buf = raw;
        let tx = TxEnvelope::decode_2718(&mut buf)
            .map_err(|e| TxRejection::Undecodable(e.to_string()))?;
        if !buf.is_empty() {
            return Err(TxRejection::Undecodable(format!(
                "{} trailing bytes after the transaction",
                buf.len()
            )));
        }
        Self::from_envelope(tx)
    }

    /// Recovers the signer of an already decoded transaction.
    pub fn from_envelope(tx: TxEnvelope) -> Result<Self, TxRejection> {
        if tx.tx_type() == TxType::Eip4844 {
            return Err(TxRejection::UnsupportedType(
                "blob (EIP-4844) transactions are not accepted by the embedded chain".into(),
            ));
        }
        let sender = tx.recover_signer().map_err(|e| TxRejection::BadSignature(e.to_string()))?;
        let hash = *tx.hash();
        Ok(Self { tx: Arc::new(tx), sender, hash })
    }

    /// The transaction nonce.
    pub fn nonce(&self) -> u64 {
        self.tx.nonce()
    }

    fn tx_env(&self) -> TxEnv {
        TxEnv::from_recovered_tx(self.tx.as_ref(), self.sender)
    }
}

/// The receipt of a mined transaction, with what RPC receipts add to the consensus receipt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MinedReceipt {
    /// The consensus receipt (status, cumulative gas, logs, bloom).
    pub receipt: ReceiptEnvelope<Log>,
    /// Gas used by this transaction alone.
    pub gas_used: u64,
    /// The price per gas the sender paid.
    pub effective_gas_price: u128,
    /// The address of the contract a creation deployed.
    pub contract_address: Option<Address>,
    /// The block-wide index of this receipt's first log.
    pub first_log_index: u64,
}

/// A mined block with its transactions and receipts.
#[derive(Debug, Clone)]
pub struct MinedBlock {
    /// The block header.
    pub header: Header,
    /// The header hash.
    pub hash: B256,
    /// The transactions, in block order.
    pub transactions: Vec<PooledTx>,
    /// One receipt per transaction.
    pub receipts: Vec<MinedReceipt>,
}

impl MinedBlock {
    /// The block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }
}

/// Where a mined transaction sits.
#[derive(Debug, Clone, Copy)]
struct TxLocation {
    block: u64,
    index: usize,
}

/// What became of a transaction handed to [`Chain::send_transaction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Mined in this block (instant mining).
    Mined(u64),
    /// Waiting in the pool for the next block (manual or interval mining, or a nonce gap).
    Pending,
}

/// The saved state of an `evm_snapshot`.
#[derive(Debug, Clone)]
struct Snapshot {
    block: u64,
    time_offset: i64,
    next_timestamp: Option<u64>,
}

/// The embedded chain. See the module docs.
pub struct Chain {
    config: ChainConfig,
    db: WorldState,
    blocks: Vec<Arc<MinedBlock>>,
    /// `history[n]` undoes block `n` (block 0 has an empty one).
    history: Vec<StateDiff>,
    by_hash: HashMap<B256, u64>,
    txs: HashMap<B256, TxLocation>,
    pool: Pool,
    roots: StateRootCache,
    time_offset: i64,
    next_timestamp: Option<u64>,
    snapshots: BTreeMap<u64, Snapshot>,
    next_snapshot: u64,
    /// Why the EVM refused pooled transactions at mining time, until their sender asks.
    rejections: HashMap<B256, String>,
    store: Option<Store>,
    events: broadcast::Sender<Arc<MinedBlock>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.config.chain_id)
            .field("head", &self.head().number())
            .field("pooled", &self.pool.len())
            .finish()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Chain {
    /// Creates a chain in memory, with a genesis block holding `config.genesis_accounts`.
    pub fn new(config: ChainConfig) -> Self {
        let mut chain = Self::empty(config);
        chain.init_genesis().expect("an in-memory chain has no store to fail");
        chain
    }

    /// Opens the chain kept in `dir`, or creates it there. The directory's chain must have
    /// the same chain id as `config`.
    pub fn open(config: ChainConfig, dir: &Path) -> Result<Self> {
        let store = Store::open(dir)?;
        let mut chain = Self::empty(config);
        match store.load()? {
            Some(loaded) => {
                if loaded.chain_id != chain.config.chain_id {
                    return Err(Error::Storage(format!(
                        "{} holds chain {}, not chain {}",
                        dir.display(),
                        loaded.chain_id,
                        chain.config.chain_id
                    )));
                }
                chain.db = loaded.db;
                chain.time_offset = loaded.time_offset;
                for (block, diff) in loaded.blocks {
                    let expected = chain.blocks.len() as u64;
                    let parent = chain.blocks.last().map_or(B256::ZERO, |b| b.hash);
                    if block.number() != expected || block.header.parent_hash != parent {
                        return Err(Error::Storage(format!(
                            "{}: block {} does not follow block {} (hash {parent}): the chain \
                             database is damaged",
                            dir.display(),
                            block.number(),
                            expected.saturating_sub(1)
                        )));
                    }
                    chain.index_block(Arc::new(block), diff);
                }
                if chain.blocks.is_empty() {
                    return Err(Error::Storage(format!("{} has no genesis block", dir.display())));
                }
                chain.store = Some(store);
            }
            None => {
                store.init(chain.config.chain_id)?;
                chain.store = Some(store);
                chain.init_genesis()?;
            }
        }
        Ok(chain)
    }

    fn empty(config: ChainConfig) -> Self {
        Self {
            config,
            db: WorldState::default(),
            blocks: Vec::new(),
            history: Vec::new(),
            by_hash: HashMap::new(),
            txs: HashMap::new(),
            pool: Pool::default(),
            roots: StateRootCache::default(),
            time_offset: 0,
            next_timestamp: None,
            snapshots: BTreeMap::new(),
            next_snapshot: 1,
            rejections: HashMap::new(),
            store: None,
            events: broadcast::channel(1024).0,
        }
    }

    fn init_genesis(&mut self) -> Result<()> {
        for (address, balance) in &self.config.genesis_accounts {
            self.db.insert_account_info(
                *address,
                revm::state::AccountInfo { balance: *balance, ..Default::default() },
            );
        }
        let state_root = self.roots.state_root(&self.db, std::iter::empty());
        let header = Header {
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            timestamp: self.config.genesis_timestamp.unwrap_or_else(now_secs),
            base_fee_per_gas: Some(self.config.initial_base_fee),
            ..self.header_template()
        };
        let genesis_accounts = StateDiff {
            accounts: self.config.genesis_accounts.iter().map(|(a, _)| (*a, None)).collect(),
            ..Default::default()
        };
        let block =
            MinedBlock { hash: header.hash_slow(), header, transactions: vec![], receipts: vec![] };
        self.commit_block(block, genesis_accounts)
    }

    /// The fields every block of this chain shares: no ommers, withdrawals, blobs, beacon
    /// root or requests (the post-merge, post-Prague shape clients expect).
    fn header_template(&self) -> Header {
        Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: self.config.coinbase,
            logs_bloom: Bloom::ZERO,
            difficulty: U256::ZERO,
            gas_limit: self.config.block_gas_limit,
            extra_data: Bytes::new(),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        }
    }

    /// The configuration this chain runs with.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// The newest block.
    pub fn head(&self) -> &Arc<MinedBlock> {
        self.blocks.last().expect("a chain always has its genesis block")
    }

    /// The number of the newest block.
    pub fn block_number(&self) -> u64 {
        self.head().number()
    }

    /// A receiver of every block mined from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<MinedBlock>> {
        self.events.subscribe()
    }

    /// The base fee the next block will charge.
    pub fn next_base_fee(&self) -> u64 {
        let parent = &self.head().header;
        if parent.number == 0 {
            // The block after genesis charges the configured base fee, as anvil does.
            return self.config.initial_base_fee;
        }
        calc_next_block_base_fee(
            parent.gas_used,
            parent.gas_limit,
            parent.base_fee_per_gas.unwrap_or(self.config.initial_base_fee),
            BaseFeeParams::ethereum(),
        )
    }

    /// The chain's clock: wall time plus what `evm_increaseTime` added.
    pub fn now(&self) -> u64 {
        now_secs().saturating_add_signed(self.time_offset)
    }

    /// The number of transactions waiting in the pool.
    pub fn pending_count(&self) -> usize {
        self.pool.len()
    }

    // ---------------------------------------------------------------------------------------
    // Transactions in
    // ---------------------------------------------------------------------------------------

    /// Decodes, checks and pools a raw signed transaction, mining it at once under instant
    /// mining. Returns the transaction hash.
    pub fn send_raw_transaction(&mut self, raw: &[u8]) -> Result<(B256, Submitted)> {
        let tx = PooledTx::decode(raw)?;
        let hash = tx.hash;
        Ok((hash, self.send_transaction(tx)?))
    }

    /// Checks `tx` against the current state and pools it; under instant mining it is mined
    /// before this returns. A rejected transaction leaves the chain untouched.
    pub fn send_transaction(&mut self, tx: PooledTx) -> Result<Submitted> {
        let hash = tx.hash;
        self.admit(tx)?;
        self.settle(hash)
    }

    /// Under instant mining, makes sure the admitted transaction `hash` is mined: if an earlier
    /// block already took it (several senders' transactions arriving together share a block,
    /// as with anvil's instant mining) this only reports it, otherwise it mines a block with
    /// every executable pooled transaction. Under manual mining it reports `Pending`.
    pub fn settle(&mut self, hash: B256) -> Result<Submitted> {
        if self.config.mining == Mining::Instant && self.pool.contains(&hash) {
            // No empty block when the EVM refuses everything: a refusal changes nothing.
            self.mine_with_rejections(None, false)?;
        }
        if let Some(location) = self.txs.get(&hash) {
            return Ok(Submitted::Mined(location.block));
        }
        if let Some(reason) = self.rejections.remove(&hash) {
            return Err(TxRejection::Invalid(reason).into());
        }
        Ok(Submitted::Pending)
    }

    /// Pools `tx` after the checks a node makes before accepting a transaction.
    pub fn admit(&mut self, tx: PooledTx) -> Result<(), TxRejection> {
        self.validate(&tx)?;
        if let Some(old) = self.pool.get_by_nonce(&tx.sender, tx.nonce()) {
            // Replacement needs 10% more on both fee fields, as geth and anvil require.
            let bump = |x: u128| x.saturating_add(x / 10);
            let pays_more = tx.tx.max_fee_per_gas() >= bump(old.tx.max_fee_per_gas())
                && tx.tx.max_priority_fee_per_gas().unwrap_or(tx.tx.max_fee_per_gas())
                    >= bump(old.tx.max_priority_fee_per_gas().unwrap_or(old.tx.max_fee_per_gas()));
            if !pays_more {
                return Err(TxRejection::ReplacementUnderpriced {
                    sender: tx.sender,
                    nonce: tx.nonce(),
                });
            }
        }
        self.pool.insert(tx);
        Ok(())
    }

    fn validate(&self, tx: &PooledTx) -> Result<(), TxRejection> {
        let envelope = tx.tx.as_ref();
        // A mined transaction is refused by the nonce check below, as geth and anvil do.
        if self.pool.contains(&tx.hash) {
            return Err(TxRejection::AlreadyKnown(tx.hash));
        }
        if let Some(got) = envelope.chain_id()
            && got != self.config.chain_id
        {
            return Err(TxRejection::WrongChainId { expected: self.config.chain_id, got });
        }
        let gas_limit = envelope.gas_limit();
        if gas_limit > self.config.block_gas_limit {
            return Err(TxRejection::GasLimitTooHigh {
                gas_limit,
                limit: self.config.block_gas_limit,
                what: "block gas limit",
            });
        }
        if self.config.spec.is_enabled_in(revm::primitives::hardfork::SpecId::OSAKA)
            && gas_limit > TX_GAS_LIMIT_CAP
        {
            return Err(TxRejection::GasLimitTooHigh {
                gas_limit,
                limit: TX_GAS_LIMIT_CAP,
                what: "per-transaction gas cap (EIP-7825)",
            });
        }
        let env = tx.tx_env();
        let intrinsic = revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx(
            &env,
            self.config.spec,
            None,
        );
        let needed =
            (intrinsic.initial_regular_gas + intrinsic.initial_state_gas).max(intrinsic.floor_gas);
        if gas_limit < needed {
            return Err(TxRejection::IntrinsicGasTooLow { gas_limit, needed });
        }
        if envelope.is_create()
            && self.config.spec.is_enabled_in(revm::primitives::hardfork::SpecId::SHANGHAI)
            && envelope.input().len() > MAX_INITCODE_SIZE
        {
            return Err(TxRejection::InitCodeTooLarge {
                size: envelope.input().len(),
                max: MAX_INITCODE_SIZE,
            });
        }
        let base_fee = self.next_base_fee();
        let max_fee = envelope.max_fee_per_gas();
        if let Some(tip) = envelope.max_priority_fee_per_gas()
            && tip > max_fee
        {
            return Err(TxRejection::TipAboveFeeCap { tip, max_fee });
        }
        if max_fee < base_fee as u128 {
            return Err(TxRejection::FeeCapTooLow { max_fee, base_fee });
        }
        let account = self.db.cache.accounts.get(&tx.sender).and_then(|a| a.info());
        let (account_nonce, balance) =
            account.map(|a| (a.nonce, a.balance)).unwrap_or((0, U256::ZERO));
        let nonce = envelope.nonce();
        if nonce < account_nonce {
            return Err(TxRejection::NonceTooLow {
                sender: tx.sender,
                expected: account_nonce,
                got: nonce,
            });
        }
        let next = self.pool.next_nonce(&tx.sender, account_nonce);
        if nonce > next.saturating_add(self.config.max_nonce_gap) {
            return Err(TxRejection::NonceTooHigh {
                sender: tx.sender,
                expected: next,
                got: nonce,
                max_gap: self.config.max_nonce_gap,
            });
        }
        let cost = U256::from(gas_limit) * U256::from(max_fee) + envelope.value();
        if balance < cost {
            return Err(TxRejection::InsufficientFunds { sender: tx.sender, balance, cost });
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Mining
    // ---------------------------------------------------------------------------------------

    /// Mines one block with the executable pooled transactions, at `timestamp` or the chain's
    /// clock. Returns the new block.
    pub fn mine(&mut self, timestamp: Option<u64>) -> Result<Arc<MinedBlock>> {
        self.mine_with_rejections(timestamp, true)?;
        Ok(self.head().clone())
    }

    /// Why the EVM refused a pooled transaction when a block was mined (it was dropped).
    pub fn rejection(&self, hash: &B256) -> Option<&str> {
        self.rejections.get(hash).map(String::as_str)
    }

    /// Mines until the pool has no executable transaction left (at least one block).
    pub fn mine_pending(&mut self) -> Result<Vec<Arc<MinedBlock>>> {
        let mut mined = vec![self.mine(None)?];
        while self.has_executable() {
            mined.push(self.mine(None)?);
        }
        Ok(mined)
    }

    fn has_executable(&self) -> bool {
        self.pool.iter().any(|tx| tx.nonce() == self.account_nonce(&tx.sender))
    }

    fn account_nonce(&self, address: &Address) -> u64 {
        self.db.cache.accounts.get(address).and_then(|a| a.info()).map_or(0, |a| a.nonce)
    }

    fn next_block_env(&mut self, timestamp: Option<u64>) -> BlockEnv {
        let requested = timestamp.or(self.next_timestamp.take());
        let parent = &self.head().header;
        let timestamp = requested.unwrap_or_else(|| self.now()).max(parent.timestamp);
        BlockEnv {
            number: U256::from(parent.number + 1),
            beneficiary: self.config.coinbase,
            timestamp: U256::from(timestamp),
            gas_limit: self.config.block_gas_limit,
            basefee: self.next_base_fee(),
            difficulty: U256::ZERO,
            prevrandao: Some(keccak256(self.head().hash)),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                BLOB_BASE_FEE_UPDATE_FRACTION,
            )),
            ..Default::default()
        }
    }

    fn cfg_env(&self) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(self.config.spec);
        cfg.chain_id = self.config.chain_id;
        cfg
    }

    /// Mines a block; returns the hashes of pooled transactions the EVM refused (they are
    /// dropped from the pool) with the reason.
    fn mine_with_rejections(&mut self, timestamp: Option<u64>, allow_empty: bool) -> Result<()> {
        let candidates = self.pool.executable(|a| self.account_nonce(a));
        self.mine_candidates(timestamp, candidates, allow_empty)
    }

    /// Executes exactly `transactions`, in this order, in a new block at `timestamp` (at least
    /// the parent's), and appends the block, even an empty one. This is how a chain whose
    /// transaction order is decided elsewhere (the sidechain's consensus, `ply-sidechain`) reuses
    /// this executor: every node that executes the same list on the same state gets the same
    /// block, state root and receipts. A transaction the EVM refuses (bad nonce, no funds, over
    /// the block's gas) is left out of the block, as are the later transactions of its sender;
    /// [`Chain::rejection`] says why. The pool is not read; transactions of the list that were
    /// pooled leave it when included.
    pub fn execute_block(
        &mut self,
        transactions: Vec<PooledTx>,
        timestamp: u64,
    ) -> Result<Arc<MinedBlock>> {
        self.mine_candidates(Some(timestamp), transactions, true)?;
        Ok(self.head().clone())
    }

    fn mine_candidates(
        &mut self,
        timestamp: Option<u64>,
        candidates: Vec<PooledTx>,
        allow_empty: bool,
    ) -> Result<()> {
        let next_timestamp = self.next_timestamp;
        let block_env = self.next_block_env(timestamp);
        let cfg = self.cfg_env();
        let gas_limit = self.config.block_gas_limit;

        let mut diff = StateDiff::default();
        let mut included = Vec::new();
        let mut receipts = Vec::new();
        let mut rejected = Vec::new();
        let mut skipped_senders = Vec::new();
        let mut cumulative_gas = 0u64;
        let mut log_index = 0u64;
        {
            let mut evm = Context::mainnet()
                .with_db(&mut self.db)
                .with_block(block_env.clone())
                .with_cfg(cfg)
                .build_mainnet();
            for tx in candidates {
                if skipped_senders.contains(&tx.sender) {
                    continue;
                }
                if cumulative_gas + tx.tx.gas_limit() > gas_limit {
                    // Full: this sender's later nonces must wait too.
                    skipped_senders.push(tx.sender);
                    continue;
                }
                let outcome = match evm.transact(tx.tx_env()) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        skipped_senders.push(tx.sender);
                        rejected.push((tx.hash, e.to_string()));
                        continue;
                    }
                };
                diff.record(evm.ctx.journaled_state.database, &outcome.state);
                evm.ctx.journaled_state.database.commit(outcome.state);
                let result = outcome.result;
                let gas_used = result.tx_gas_used();
                cumulative_gas += gas_used;
                let success = result.is_success();
                let contract_address = match tx.tx.kind() {
                    TxKind::Create if success => Some(tx.sender.create(tx.nonce())),
                    _ => None,
                };
                let logs = result.into_logs();
                let first_log_index = log_index;
                log_index += logs.len() as u64;
                let receipt =
                    Receipt { status: success.into(), cumulative_gas_used: cumulative_gas, logs };
                let receipt = ReceiptWithBloom::from(receipt);
                let receipt = match tx.tx.tx_type() {
                    TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
                    TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
                    TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
                    TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
                    TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
                };
                let effective_gas_price = tx.tx.effective_gas_price(Some(block_env.basefee));
                receipts.push(MinedReceipt {
                    receipt,
                    gas_used,
                    effective_gas_price,
                    contract_address,
                    first_log_index,
                });
                included.push(tx);
            }
        }
        if self.rejections.len() > 10_000 {
            self.rejections.clear();
        }
        for (hash, reason) in &rejected {
            if let Some(tx) = self.pool.get(hash).cloned() {
                self.pool.remove(&tx.sender, tx.nonce());
            }
            tracing::debug!(%hash, %reason, "pooled transaction refused by the EVM");
            self.rejections.insert(*hash, reason.clone());
        }
        for tx in &included {
            let nonce = self.account_nonce(&tx.sender);
            self.pool.prune(&tx.sender, nonce);
        }

        if included.is_empty() && !allow_empty {
            // Nothing executed, so nothing was committed to the state either.
            self.next_timestamp = next_timestamp;
            return Ok(());
        }
        let parent = self.head().clone();
        let state_root = self.roots.state_root(&self.db, diff.accounts.keys());
        let envelopes: Vec<&TxEnvelope> = included.iter().map(|t| t.tx.as_ref()).collect();
        let consensus_receipts: Vec<&ReceiptEnvelope<Log>> =
            receipts.iter().map(|r| &r.receipt).collect();
        let mut logs_bloom = Bloom::ZERO;
        for r in &receipts {
            logs_bloom.accrue_bloom(r.receipt.logs_bloom());
        }
        let header = Header {
            parent_hash: parent.hash,
            state_root,
            transactions_root: proofs::calculate_transaction_root(&envelopes),
            receipts_root: proofs::calculate_receipt_root(&consensus_receipts),
            logs_bloom,
            number: block_env.number.to(),
            gas_used: cumulative_gas,
            timestamp: block_env.timestamp.to(),
            mix_hash: block_env.prevrandao.unwrap_or_default(),
            base_fee_per_gas: Some(block_env.basefee),
            ..self.header_template()
        };
        let block =
            MinedBlock { hash: header.hash_slow(), header, transactions: included, receipts };
        self.commit_block(block, diff)
    }

    /// Appends a block that was executed into `self.db`: indexes it, persists it and tells
    /// subscribers.
    fn commit_block(&mut self, block: MinedBlock, diff: StateDiff) -> Result<()> {
        let block = Arc::new(block);
        if let Some(store) = &self.store
            && let Err(e) = store.append_block(&block, &diff, &self.db, self.time_offset)
        {
            // Nothing is acknowledged that is not on disk: undo the block's execution, so that
            // memory and disk agree, and report the failure to whoever is waiting for it.
            tracing::error!(block = block.number(), error = %e, "failed to persist block");
            diff.undo(&mut self.db);
            self.roots.clear();
            return Err(e);
        }
        self.index_block(block.clone(), diff);
        let _ = self.events.send(block);
        Ok(())
    }

    fn index_block(&mut self, block: Arc<MinedBlock>, diff: StateDiff) {
        let number = block.number();
        self.db.cache.block_hashes.insert(U256::from(number), block.hash);
        self.by_hash.insert(block.hash, number);
        for (index, tx) in block.transactions.iter().enumerate() {
            self.txs.insert(tx.hash, TxLocation { block: number, index });
        }
        self.blocks.push(block);
        self.history.push(diff);
    }

    // ---------------------------------------------------------------------------------------
    // Dev methods: time and snapshots
    // ---------------------------------------------------------------------------------------

    /// Moves the chain's clock forward by `seconds`; returns the total offset from wall time.
    pub fn increase_time(&mut self, seconds: u64) -> i64 {
        self.time_offset = self.time_offset.saturating_add(seconds.min(i64::MAX as u64) as i64);
        if let Some(store) = &self.store
            && let Err(e) = store.set_time_offset(self.time_offset)
        {
            tracing::error!(error = %e, "failed to persist the time offset");
        }
        self.time_offset
    }

    /// Fixes the timestamp of the next block (it must not be before the head's).
    pub fn set_next_block_timestamp(&mut self, timestamp: u64) -> Result<()> {
        let head = self.head().header.timestamp;
        if timestamp < head {
            return Err(Error::InvalidRequest(format!(
                "timestamp {timestamp} is before the head block's timestamp {head}"
            )));
        }
        self.next_timestamp = Some(timestamp);
        Ok(())
    }

    /// Saves the chain state; returns the id for [`Chain::revert`].
    pub fn snapshot(&mut self) -> U256 {
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(
            id,
            Snapshot {
                block: self.block_number(),
                time_offset: self.time_offset,
                next_timestamp: self.next_timestamp,
            },
        );
        U256::from(id)
    }

    /// Returns the chain to snapshot `id`, dropping it and every later snapshot. Returns
    /// `false` for an unknown id, as anvil does. Pooled transactions are dropped.
    pub fn revert(&mut self, id: U256) -> Result<bool> {
        let Some(snapshot) = u64::try_from(id).ok().and_then(|id| self.snapshots.get(&id).cloned())
        else {
            return Ok(false);
        };
        let id: u64 = id.to();
        self.snapshots.split_off(&id);
        let mut undone = Vec::new();
        while self.block_number() > snapshot.block {
            let block = self.blocks.pop().expect("above the snapshot block");
            let diff = self.history.pop().expect("one diff per block");
            diff.undo(&mut self.db);
            self.db.cache.block_hashes.remove(&U256::from(block.number()));
            self.by_hash.remove(&block.hash);
            for tx in &block.transactions {
                self.txs.remove(&tx.hash);
            }
            undone.push(diff);
        }
        self.roots.clear();
        self.pool.clear();
        self.time_offset = snapshot.time_offset;
        self.next_timestamp = snapshot.next_timestamp;
        if let Some(store) = &self.store {
            store.truncate(snapshot.block, &undone, &self.db, self.time_offset)?;
        }
        Ok(true)
    }
}
