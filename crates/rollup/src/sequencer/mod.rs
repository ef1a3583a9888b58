//! The sequencer: orders transactions, soft-confirms them durably, and seals L2 blocks.
//!
//! One task owns the [`SequencerState`] and the write-ahead [`Store`]; everything else talks to
//! it through a [`Sequencer`] handle. Signatures are checked by the callers, in parallel,
//! before a transaction reaches the task. The task takes commands in groups: it applies a group,
//! commits its log entries in one database transaction (one fsync), and only then answers the
//! senders — a soft confirmation is never lost by a crash, and a busy sequencer pays one fsync
//! per group, not per transaction.

pub mod journal;
pub mod rpc;
pub mod state;
pub mod store;

pub use state::{L2Block, LogEntry, SequencedTx, SequencerState, TxLocation};
pub use store::Store;

use crate::{Error, Result, config::RollupConfig};
use alloy::primitives::{Address, B256, U256};
use ply_ledger::{Deposit, SignedTx, SigningDomain, TokenId, VerifiedTx, WithdrawalRecord};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The most commands the task applies before one commit.
const GROUP: usize = 2_048;

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

type Query = Box<dyn FnOnce(&SequencerState, &[PostedBatch]) + Send>;

/// A transaction on its way to the sequencer task.
struct Submission {
    hash: B256,
    tx: SignedTx,
    verified: VerifiedTx,
    reply: oneshot::Sender<Result<Confirmation>>,
}

enum Command {
    /// Boxed: a transaction is far larger than every other command.
    Submit(Box<Submission>),
    Deposits(Vec<Deposit>),
    Seal,
    Query(Query),
    Batch(PostedBatch),
    Stop(oneshot::Sender<()>),
}

/// A handle to the running sequencer. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    commands: mpsc::Sender<Command>,
    blocks: broadcast::Sender<Arc<L2Block>>,
    domain: SigningDomain,
    bridge: Address,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").field("domain", &self.domain).finish()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Sequencer {
    /// Opens the sequencer's database in `dir` (replaying its log) and starts the sequencer
    /// task and its block timer.
    pub fn start(config: &RollupConfig, dir: &Path) -> Result<Self> {
        let mut store = Store::open(dir)?;
        let mut state =
            SequencerState::new(config.ledger.clone(), config.max_block_txs, now_secs())?;
        let entries = store.entries()?;
        let replayed = entries.len();
        for entry in entries {
            state.replay(entry)?;
        }
        let batches = store.batches()?;
        if replayed > 0 {
            tracing::info!(
                entries = replayed,
                blocks = state.sealed().len(),
                root = %state.ledger().root(),
                "sequencer recovered from its log"
            );
        }
        // A block left open by a crash is sealed now, before anything new joins it.
        if let Some((_, entry)) = state.seal(now_secs()) {
            store.append(&[entry])?;
        }
        let (commands, rx) = mpsc::channel(65_536);
        let (blocks, _) = broadcast::channel(4_096);
        let handle = Self {
            commands,
            blocks: blocks.clone(),
            domain: config.domain(),
            bridge: config.bridge,
        };
        let task = Task { state, store, batches, blocks };
        tokio::spawn(task.run(rx));
        // The timer holds only a weak sender: when every handle is gone, the task ends and
        // closes the database even if nobody called `shutdown`.
        let timer = handle.commands.downgrade();
        let block_time = config.block_time;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(block_time);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(commands) = timer.upgrade() else { break };
                if commands.send(Command::Seal).await.is_err() {
                    break;
                }
            }
        });
        Ok(handle)
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
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Submit(Box::new(Submission { hash, tx, verified, reply })))
            .await
            .map_err(|_| Error::Stopped)?;
        Ok(async move { answer.await.map_err(|_| Error::Stopped)? })
    }

    /// Hands deposits read from L1 (in queue order) to the sequencer.
    pub async fn queue_deposits(&self, deposits: Vec<Deposit>) -> Result<()> {
        self.commands.send(Command::Deposits(deposits)).await.map_err(|_| Error::Stopped)
    }

    /// Records a batch posted (or updated: proposed, finalized) by the batcher.
    pub async fn record_batch(&self, batch: PostedBatch) -> Result<()> {
        self.commands.send(Command::Batch(batch)).await.map_err(|_| Error::Stopped)
    }

    /// Runs `f` on the state inside the sequencer task.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SequencerState, &[PostedBatch]) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let query: Query = Box::new(move |state, batches| {
            let _ = tx.send(f(state, batches));
        });
        self.commands.send(Command::Query(query)).await.map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
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
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// A receiver of every block sealed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<L2Block>> {
        self.blocks.subscribe()
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

struct Task {
    state: SequencerState,
    store: Store,
    batches: Vec<PostedBatch>,
    blocks: broadcast::Sender<Arc<L2Block>>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut group = Vec::with_capacity(GROUP);
        while rx.recv_many(&mut group, GROUP).await > 0 {
            let stop = group.iter().position(|c| matches!(c, Command::Stop(_)));
            let after_stop = stop.map(|i| group.split_off(i));
            if let Err(e) = self.process(&mut group) {
                // The log could not be written: nothing in this group was acknowledged, and a
                // sequencer that cannot persist must not go on confirming.
                tracing::error!(error = %e, "sequencer stopped: cannot write its log");
                return;
            }
            if let Some(mut rest) = after_stop {
                rx.close();
                drop(self);
                if let Some(Command::Stop(done)) = rest.drain(..1).next() {
                    let _ = done.send(());
                }
                return;
            }
        }
    }

    fn process(&mut self, group: &mut Vec<Command>) -> Result<()> {
        let mut entries = Vec::new();
        let mut replies = Vec::new();
        let mut sealed = Vec::new();
        for command in group.drain(..) {
            match command {
                Command::Submit(submission) => {
                    let Submission { hash, tx, verified, reply } = *submission;
                    entries.extend(self.state.apply_queued_deposits());
                    match self.state.apply_tx(hash, tx, verified) {
                        Ok((location, entry)) => {
                            entries.push(entry);
                            let confirmation =
                                Confirmation { hash, block: location.block, index: location.index };
                            replies.push((reply, Ok(confirmation)));
                        }
                        Err(e) => replies.push((reply, Err(e))),
                    }
                    if self.state.open_is_full()
                        && let Some((block, entry)) = self.state.seal(now_secs())
                    {
                        entries.push(entry);
                        sealed.push(block);
                    }
                }
                Command::Deposits(deposits) => {
                    self.state.queue_deposits(deposits);
                }
                Command::Seal => {
                    if let Some((block, entry)) = self.state.seal(now_secs()) {
                        entries.push(entry);
                        sealed.push(block);
                    }
                    entries.extend(self.state.apply_queued_deposits());
                }
                Command::Query(query) => query(&self.state, &self.batches),
                // `run` splits the group at a stop; none reaches here.
                Command::Stop(_) => {}
                Command::Batch(batch) => {
                    self.store.put_batch(&batch)?;
                    match self.batches.iter_mut().find(|b| b.index == batch.index) {
                        Some(existing) => *existing = batch,
                        None => self.batches.push(batch),
                    }
                }
            }
        }
        // Durable first, then acknowledged.
        self.store.append(&entries)?;
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        for block in sealed {
            let _ = self.blocks.send(block);
        }
        Ok(())
    }
}
