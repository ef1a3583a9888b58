//! The sequencer: orders transactions, soft-confirms them durably, and seals L2 blocks.
//!
//! The rollup's rules are a [`RollupMachine`] (the [`SequencerState`] and the posted batches'
//! records), which the family-neutral sequencer task of `ply-node` owns together with the
//! write-ahead journal ([`Store`]'s file); everything else talks to it through a [`Sequencer`]
//! handle. Signatures are checked by the callers, in parallel, before a transaction reaches
//! the task. The task takes commands in groups: it applies a group, commits its log entries in
//! one database transaction (one fsync), and only then answers the senders — a soft
//! confirmation is never lost by a crash, and a busy sequencer pays one fsync per group, not
//! per transaction. Blocks seal on the node's [`Clock`](ply_node::Clock) (a manual one in tests).

pub mod journal;
pub mod rpc;
pub mod state;
pub mod store;

pub use state::{L2Block, LogEntry, SequencedTx, SequencerState, TxLocation};
pub use store::Store;

use crate::{Error, Result, config::RollupConfig};
use alloy::primitives::{Address, B256, U256};
use ply_ledger::{Deposit, SignedTx, SigningDomain, TokenId, VerifiedTx, WithdrawalRecord};
use ply_node::{DynClock, Journal, Output, StateMachine, SystemClock};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path, sync::Arc};
use tokio::sync::broadcast;

/// A batch the batcher posted, with its output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PostedBatch {
    /// Batch index on L1.
    pub index: u64,
    /// First L2 block in it.
    pub first_block: u64,
    /// Last L2 block in it.
    pub last_block: u64,
    /// Deposits consumed on L1 after it.
    pub new_deposit_count: u64,
    /// The L1 transaction that appended it.
    pub l1_tx: B256,
    /// The state commitment after it (`docs/rollup.md`; what its output commits to). The
    /// field keeps its name so that batch records written before the fraud proof still read.
    pub state_root: B256,
    /// Root of its withdrawal tree.
    pub withdrawal_root: B256,
    /// Its withdrawals, in order.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Whether its output was proposed.
    pub proposed: bool,
    /// Whether its output is final on L1.
    pub finalized: bool,
}

/// A soft confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Transaction id (the EIP-712 signing hash).
    pub hash: B256,
    /// L2 block.
    pub block: u64,
    /// Index in the block.
    pub index: usize,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Sequenced and durable, not yet on L1.
    SoftConfirmed,
    /// In a batch on L1; its output is not final yet.
    Posted,
    /// In a batch whose output is final on L1.
    Final,
}

/// An account as the sequencer sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Account index in the state tree.
    pub index: u32,
    /// The address.
    pub address: Address,
    /// The next nonce.
    pub nonce: u64,
    /// Balances by token id.
    pub balances: BTreeMap<TokenId, U256>,
}

/// A transaction on its way to the sequencer task, its signature checked.
#[derive(Debug)]
pub struct Submission {
    /// Its id (the EIP-712 signing hash).
    pub hash: B256,
    /// The transaction as signed.
    pub tx: SignedTx,
    /// What checking its signature found.
    pub verified: VerifiedTx,
}

/// The rollup's sequencer rules as the node's [`StateMachine`]: the [`SequencerState`] and the
/// records of posted batches, which the sequencer task of `ply-node` owns and drives.
#[derive(Debug)]
pub struct RollupMachine {
    state: SequencerState,
    batches: Vec<PostedBatch>,
}

impl RollupMachine {
    /// The machine of a new rollup of `config` whose genesis block has `timestamp`.
    pub fn new(config: &RollupConfig, timestamp: u64) -> Result<Self> {
        let state = SequencerState::new(config.ledger.clone(), config.max_block_txs, timestamp)?;
        Ok(Self { state, batches: Vec::new() })
    }

    /// The sequencer's state.
    pub fn state(&self) -> &SequencerState {
        &self.state
    }

    /// The batches posted so far.
    pub fn batches(&self) -> &[PostedBatch] {
        &self.batches
    }

    fn seal(&mut self, now: u64, out: &mut Output<LogEntry, Arc<L2Block>>) {
        if let Some((block, entry)) = self.state.seal(now) {
            out.entries.push(entry);
            out.sealed.push(block);
        }
    }
}

impl StateMachine for RollupMachine {
    /// Boxed: a transaction is far larger than every other command.
    type Op = Box<Submission>;
    type Accepted = Confirmation;
    type Error = Error;
    type Queued = Deposit;
    type Entry = LogEntry;
    type Record = PostedBatch;
    type Sealed = Arc<L2Block>;

    fn replay(&mut self, entry: LogEntry) -> Result<()> {
        self.state.replay(entry)
    }

    fn restore(&mut self, records: Vec<PostedBatch>) {
        self.batches = records;
    }

    fn accept(
        &mut self,
        op: Box<Submission>,
        now: u64,
        out: &mut Output<LogEntry, Arc<L2Block>>,
    ) -> Result<Confirmation> {
        let Submission { hash, tx, verified } = *op;
        // Deposits join a block before its transactions.
        out.entries.extend(self.state.apply_queued_deposits());
        let answer = self.state.apply_tx(hash, tx, verified).map(|(location, entry)| {
            out.entries.push(entry);
            Confirmation { hash, block: location.block, index: location.index }
        });
        if self.state.open_is_full() {
            self.seal(now, out);
        }
        answer
    }

    fn queue(&mut self, deposits: Vec<Deposit>) {
        self.state.queue_deposits(deposits);
    }

    fn unqueue(&mut self, from: u64) -> bool {
        self.state.unqueue_deposits(from)
    }

    fn tick(&mut self, now: u64, out: &mut Output<LogEntry, Arc<L2Block>>) {
        self.seal(now, out);
        out.entries.extend(self.state.apply_queued_deposits());
    }

    fn record_number(batch: &PostedBatch) -> u64 {
        batch.index
    }

    fn record(&mut self, batch: PostedBatch) {
        match self.batches.iter_mut().find(|b| b.index == batch.index) {
            Some(existing) => *existing = batch,
            None => self.batches.push(batch),
        }
    }
}

/// A handle to the running sequencer. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    inner: ply_node::Sequencer<RollupMachine>,
    domain: SigningDomain,
    bridge: Address,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").field("domain", &self.domain).finish()
    }
}

impl Sequencer {
    /// Opens the sequencer's journal in `dir` (replaying its log) and starts the sequencer
    /// task and its block timer, on the wall clock.
    pub fn start(config: &RollupConfig, dir: &Path) -> Result<Self> {
        Self::start_with_clock(config, dir, SystemClock::shared())
    }

    /// As [`start`](Self::start), with blocks sealed and stamped by `clock`.
    pub fn start_with_clock(config: &RollupConfig, dir: &Path, clock: DynClock) -> Result<Self> {
        Self::start_on(config, store::open_journal(dir)?, clock)
    }

    /// As [`start`](Self::start), with the log in `journal` (a [`MemoryJournal`] keeps
    /// nothing across restarts: for tests and benchmarks).
    ///
    /// [`MemoryJournal`]: ply_node::MemoryJournal
    pub fn start_on<J: Journal>(
        config: &RollupConfig,
        journal: J,
        clock: DynClock,
    ) -> Result<Self> {
        let machine = RollupMachine::new(config, clock.now_secs())?;
        let inner = ply_node::Sequencer::start(machine, journal, clock, config.block_time)?;
        Ok(Self { inner, domain: config.domain(), bridge: config.bridge })
    }

    /// The rollup's Bridge contract on L1.
    pub fn bridge(&self) -> Address {
        self.bridge
    }

    /// The EIP-712 domain this rollup's transactions are signed in.
    pub fn domain(&self) -> &SigningDomain {
        &self.domain
    }

    /// Checks the signature (on the calling thread), then sequences `tx`. Returns once the
    /// transaction is durable.
    pub async fn submit(&self, tx: SignedTx) -> Result<Confirmation> {
        let verified = tx.verify(&self.domain)?;
        self.submit_verified(tx, verified).await
    }

    /// Sequences a transaction whose signature the caller checked with [`SignedTx::verify`].
    pub async fn submit_verified(
        &self,
        tx: SignedTx,
        verified: VerifiedTx,
    ) -> Result<Confirmation> {
        self.enqueue(tx, verified).await?.await
    }

    /// Queues a verified transaction and returns at once with the future of its confirmation.
    /// Transactions queued one after another are sequenced in that order, so a client may
    /// pipeline several transactions of one account without waiting for each confirmation.
    pub async fn enqueue(
        &self,
        tx: SignedTx,
        verified: VerifiedTx,
    ) -> Result<impl std::future::Future<Output = Result<Confirmation>> + use<>> {
        let hash = tx.tx.signing_hash(&self.domain);
        self.inner.enqueue(Box::new(Submission { hash, tx, verified })).await
    }

    /// Hands deposits read from L1 (in queue order) to the sequencer.
    pub async fn queue_deposits(&self, deposits: Vec<Deposit>) -> Result<()> {
        self.inner.queue(deposits).await
    }

    /// Forgets deposits from queue index `from` on that are queued but not applied (an L1
    /// reorg removed or changed them); `false` if the one at `from` was applied already.
    pub async fn unqueue_deposits(&self, from: u64) -> Result<bool> {
        self.inner.unqueue(from).await
    }

    /// Records a batch posted (or updated: proposed, finalized) by the batcher.
    pub async fn record_batch(&self, batch: PostedBatch) -> Result<()> {
        self.inner.record(batch).await
    }

    /// Runs `f` on the state inside the sequencer task.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SequencerState, &[PostedBatch]) -> T + Send + 'static,
    ) -> Result<T> {
        self.inner.query(move |m| f(&m.state, &m.batches)).await
    }

    /// An account, if it exists.
    pub async fn account(&self, address: Address) -> Result<Option<AccountView>> {
        self.query(move |state, _| {
            let ledger = state.ledger();
            let index = ledger.index_of(&address)?;
            let account = ledger.account(index)?;
            Some(AccountView {
                index,
                address,
                nonce: account.nonce,
                balances: account.balances.clone(),
            })
        })
        .await
    }

    /// A transaction's location and status.
    pub async fn status(&self, hash: B256) -> Result<Option<(TxLocation, TxStatus)>> {
        self.query(move |state, batches| {
            let location = state.location(&hash)?;
            Some((location, status_of(location.block, batches)))
        })
        .await
    }

    /// Sealed blocks from `from` on.
    pub async fn blocks_from(&self, from: u64) -> Result<Vec<Arc<L2Block>>> {
        self.query(move |state, _| state.sealed().get(from as usize..).unwrap_or_default().to_vec())
            .await
    }

    /// Every batch posted so far.
    pub async fn batches(&self) -> Result<Vec<PostedBatch>> {
        self.query(|_, batches| batches.to_vec()).await
    }

    /// Stops the sequencer task (after the commands before this one) and closes its database.
    /// Every confirmation already sent stays valid: it was durable before it was sent.
    pub async fn shutdown(&self) {
        self.inner.shutdown().await
    }

    /// A receiver of every block sealed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<L2Block>> {
        self.inner.subscribe()
    }
}

/// The status of a transaction in `block` given the posted batches.
pub fn status_of(block: u64, batches: &[PostedBatch]) -> TxStatus {
    match batches.iter().find(|b| b.first_block <= block && block <= b.last_block) {
        Some(b) if b.finalized => TxStatus::Final,
        Some(_) => TxStatus::Posted,
        None => TxStatus::SoftConfirmed,
    }
}
