//! [`DerivationNode`]: the derivation core on `ply-node`'s derivation driver, which follows L1
//! at a confirmation depth; the node reads deposits, batches and outputs with an [`L1Reader`],
//! feeds the core, and publishes what it finds as [`DerivationEvent`]s (a broadcast) and a
//! [`DerivationStatus`] (a watch).

use super::{pure::Derivation, report::OutputCheck, rules::InvalidTx};
use crate::{
    Error, Result,
    batch::BatchError,
    config::RollupConfig,
    l1::{L1Batch, L1Output, L1Reader, OutputRoots},
};
use alloy::primitives::{Address, B256};
use ply_l1::client::DynL1Client;
use ply_ledger::{BatchOutput, Deposit, LedgerError};
use ply_node::{DerivationDriver, DerivationStage};
use std::{
    ops::RangeInclusive,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};
use tokio::sync::{broadcast, watch};

/// How many events a slow [`DerivationNode`] subscriber may fall behind before it lags.
const EVENT_CAPACITY: usize = 1_024;

/// What a [`DerivationNode`] found, in L1 order.
///
/// After a [`Reorg`](Self::Reorg) the node derives again from its start block, so the events of
/// batches it had already derived come again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerivationEvent {
    /// A batch was derived.
    BatchDerived {
        /// The batch index.
        index: u64,
        /// The L1 block that holds it.
        l1_block: u64,
        /// Its output.
        output: BatchOutput,
    },
    /// A batch is malformed: its transactions were skipped, its deposits applied.
    BatchMalformed {
        /// The batch index.
        index: u64,
        /// Why.
        reason: BatchError,
    },
    /// A transaction of a well-formed batch was skipped.
    TxSkipped {
        /// The batch index.
        batch: u64,
        /// The block's position in the batch.
        block: usize,
        /// The transaction's position in the block.
        index: usize,
        /// Why.
        reason: InvalidTx,
    },
    /// A deposit was refused by the ledger (consumed on L1, credited nowhere).
    DepositSkipped {
        /// The batch that consumed it.
        batch: u64,
        /// Its queue index.
        queue_index: u64,
        /// Why.
        reason: LedgerError,
    },
    /// A proposed output agrees with the derived one.
    OutputAgrees {
        /// The batch index.
        index: u64,
    },
    /// A proposed output differs from the derived one: a challenge is due.
    OutputMismatch {
        /// The batch index.
        batch: u64,
        /// The roots this node derived.
        expected: OutputRoots,
        /// The roots proposed on L1.
        proposed: OutputRoots,
        /// See [`OutputCheck::Mismatch`].
        first_bad_tx: Option<(usize, usize)>,
        /// Who proposed it.
        proposer: Address,
        /// The L1 transaction that proposed it.
        l1_tx: B256,
    },
    /// The L1 reorganised below blocks the node had derived from: it starts again from its
    /// start block.
    Reorg {
        /// The first L1 block the follower had to process again.
        resume_from: u64,
    },
    /// The node stopped on an error it cannot recover from.
    Halted {
        /// The error.
        reason: String,
    },
}

/// Where a [`DerivationNode`] stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DerivationStatus {
    /// The last L1 block fully processed.
    pub l1_block: Option<u64>,
    /// The number of batches derived (the next batch's index).
    pub batches: u64,
    /// The state root after the last derived batch (zero before the first).
    pub state_root: B256,
    /// Proposed outputs that agree with the derived ones.
    pub outputs_agreed: u64,
    /// Proposed outputs that do not.
    pub outputs_mismatched: u64,
    /// Malformed batches.
    pub malformed_batches: u64,
    /// Skipped transactions.
    pub skipped_txs: u64,
    /// Skipped deposits.
    pub skipped_deposits: u64,
}

/// The derivation node: follows the L1 at a confirmation depth, derives every batch, and checks
/// every proposed output.
///
/// ```no_run
/// # async fn example(client: ply_l1::client::DynL1Client, config: ply_rollup::RollupConfig)
/// # -> ply_rollup::Result<()> {
/// use ply_rollup::derivation::{DerivationEvent, DerivationNode};
/// let node = DerivationNode::new(client, config, 2)?;
/// let mut events = node.subscribe();
/// tokio::spawn(node.run());
/// while let Ok(event) = events.recv().await {
///     if let DerivationEvent::OutputMismatch { batch, .. } = event {
///         eprintln!("the output of batch {batch} is wrong");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DerivationNode {
    driver: DerivationDriver<RollupStage>,
}

/// The rollup's stage of the derivation driver: reads a range's deposits, batches and outputs,
/// derives them on the core, and publishes what it found.
#[derive(Debug)]
struct RollupStage {
    config: RollupConfig,
    reader: L1Reader,
    core: Arc<Mutex<Derivation>>,
    events: broadcast::Sender<DerivationEvent>,
    status: watch::Sender<DerivationStatus>,
}

/// What one L1 range holds for the rollup.
struct RangeInput {
    deposits: Vec<Deposit>,
    batches: Vec<L1Batch>,
    outputs: Vec<L1Output>,
}

#[async_trait::async_trait]
impl DerivationStage for RollupStage {
    type Input = RangeInput;
    type Error = Error;

    async fn read(&mut self, range: RangeInclusive<u64>) -> Result<RangeInput> {
        let deposits = self.reader.deposits_in(range.clone()).await?;
        let batches = self.reader.batches_in(range.clone()).await?;
        let outputs = self.reader.outputs_in(range).await?;
        Ok(RangeInput { deposits, batches, outputs })
    }

    async fn derive(&mut self, range: RangeInclusive<u64>, input: RangeInput) -> Result<()> {
        // Outputs come after the batches they are for (the contract refuses others), so
        // deriving every batch of the range before checking its outputs keeps L1 order.
        let core = self.core.clone();
        let (events, status) = tokio::task::spawn_blocking(move || {
            let mut core = lock(&core);
            let RangeInput { deposits, batches, outputs } = input;
            derive_range(&mut core, deposits, &batches, &outputs)
                .map(|events| (events, (core.next_batch(), last_root(&core))))
        })
        .await
        .map_err(|e| Error::Invalid(format!("the derivation task failed: {e}")))??;

        self.status.send_modify(|s| {
            s.l1_block = Some(*range.end());
            (s.batches, s.state_root) = status;
        });
        for event in events {
            self.publish(event);
        }
        Ok(())
    }

    fn reset(&mut self, resume_from: u64) -> Result<()> {
        let fresh = Derivation::from_config(&self.config)?;
        {
            let mut core = lock(&self.core);
            let threads = core.verify_threads;
            *core = fresh.with_verify_threads(threads);
        }
        self.status.send_replace(DerivationStatus::default());
        self.publish(DerivationEvent::Reorg { resume_from });
        Ok(())
    }

    fn halted(&mut self, error: &Error) {
        self.publish(DerivationEvent::Halted { reason: error.to_string() });
    }
}

impl DerivationNode {
    /// A node for the rollup of `config`, deriving from L1 blocks with `confirmations` blocks
    /// on top, from L1 block 0, polling every second: see
    /// [`with_start_block`](Self::with_start_block) and
    /// [`with_poll_interval`](Self::with_poll_interval).
    pub fn new(client: DynL1Client, config: RollupConfig, confirmations: u64) -> Result<Self> {
        let core = Derivation::from_config(&config)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let stage = RollupStage {
            reader: L1Reader::from_config(client.clone(), &config),
            config,
            core: Arc::new(Mutex::new(core)),
            events,
            status: watch::Sender::new(DerivationStatus::default()),
        };
        Ok(Self { driver: DerivationDriver::new(client, stage, confirmations, 0) })
    }

    /// Starts reading at L1 block `block`: the block that deployed the contracts, or any block
    /// before it. Starting after it misses deposits and batches, and derivation then stops
    /// with an error.
    pub fn with_start_block(mut self, block: u64) -> Self {
        self.driver = self.driver.with_start_block(block);
        self
    }

    /// Polls the L1 for new blocks every `poll` (in [`run`](Self::run)).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.driver = self.driver.with_poll_interval(poll);
        self
    }

    /// The events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DerivationEvent> {
        self.driver.stage().events.subscribe()
    }

    /// The node's status, updated after each L1 range.
    pub fn status(&self) -> watch::Receiver<DerivationStatus> {
        self.driver.stage().status.subscribe()
    }

    /// The derivation core, shared: for reading the derived state. Hold the lock briefly; the
    /// node takes it for each range it derives.
    pub fn derivation(&self) -> Arc<Mutex<Derivation>> {
        self.driver.stage().core.clone()
    }

    /// Derives from the L1 blocks confirmed since the last call: reads their deposits,
    /// batches and outputs, derives the batches and checks the outputs. `Ok(false)` when no
    /// new block is confirmed.
    ///
    /// A failure to read the L1 is an [`Error::L1`] after which the same blocks are read again
    /// on the next call. A reorg below derived blocks is not an error: the node starts again
    /// from its start block and publishes [`DerivationEvent::Reorg`]. Any other error means the
    /// L1 data or this node is inconsistent; the node should stop.
    pub async fn step(&mut self) -> Result<bool> {
        self.driver.step().await
    }

    /// Runs until an unrecoverable error, which it returns (after publishing
    /// [`DerivationEvent::Halted`]). Errors reading the L1 are logged and retried. Stop the
    /// node by aborting its task.
    pub async fn run(self) -> Result<()> {
        self.driver.run().await
    }
}

impl RollupStage {
    /// Logs an event, counts it in the status and sends it to subscribers.
    fn publish(&self, event: DerivationEvent) {
        match &event {
            DerivationEvent::BatchDerived { index, output, .. } => {
                tracing::info!(batch = index, state_root = %output.state_root, "batch derived");
            }
            DerivationEvent::BatchMalformed { index, reason } => {
                tracing::warn!(batch = index, %reason, "malformed batch: transactions skipped");
                self.status.send_modify(|s| s.malformed_batches += 1);
            }
            DerivationEvent::TxSkipped { batch, block, index, reason } => {
                tracing::warn!(batch, block, index, %reason, "invalid transaction skipped");
                self.status.send_modify(|s| s.skipped_txs += 1);
            }
            DerivationEvent::DepositSkipped { queue_index, reason, .. } => {
                tracing::warn!(queue_index, %reason, "deposit refused by the ledger");
                self.status.send_modify(|s| s.skipped_deposits += 1);
            }
            DerivationEvent::OutputAgrees { index } => {
                tracing::info!(batch = index, "proposed output agrees");
                self.status.send_modify(|s| s.outputs_agreed += 1);
            }
            DerivationEvent::OutputMismatch { batch, expected, proposed, proposer, .. } => {
                tracing::error!(
                    batch,
                    expected = %expected.output_root(),
                    proposed = %proposed.output_root(),
                    %proposer,
                    "proposed output is wrong"
                );
                self.status.send_modify(|s| s.outputs_mismatched += 1);
            }
            DerivationEvent::Reorg { .. } | DerivationEvent::Halted { .. } => {}
        }
        // No subscriber is fine: the status and the logs still tell.
        let _ = self.events.send(event);
    }
}

fn lock(core: &Mutex<Derivation>) -> MutexGuard<'_, Derivation> {
    // A panic mid-batch is a bug that the node reports by stopping; reading stays possible.
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

fn last_root(core: &Derivation) -> B256 {
    core.next_batch()
        .checked_sub(1)
        .and_then(|last| core.output(last))
        .map_or(B256::ZERO, |o| o.state_root)
}

/// Feeds one L1 range to the core; returns the events, in order.
fn derive_range(
    core: &mut Derivation,
    deposits: Vec<Deposit>,
    batches: &[L1Batch],
    outputs: &[L1Output],
) -> Result<Vec<DerivationEvent>> {
    core.add_deposits(deposits)?;
    let mut events = Vec::new();
    for batch in batches {
        let report = core.apply_batch(batch)?;
        if let Some(reason) = report.malformed {
            events.push(DerivationEvent::BatchMalformed { index: report.index, reason });
        }
        for skipped in report.skipped_deposits {
            events.push(DerivationEvent::DepositSkipped {
                batch: report.index,
                queue_index: skipped.queue_index,
                reason: skipped.reason,
            });
        }
        for skipped in report.skipped_txs {
            events.push(DerivationEvent::TxSkipped {
                batch: report.index,
                block: skipped.block,
                index: skipped.index,
                reason: skipped.reason,
            });
        }
        events.push(DerivationEvent::BatchDerived {
            index: report.index,
            l1_block: report.l1_block,
            output: report.output,
        });
    }
    for output in outputs {
        let roots = output.roots;
        match core.check_output(output.batch_index, roots.state_root, roots.withdrawal_root) {
            Some(OutputCheck::Agrees) => {
                events.push(DerivationEvent::OutputAgrees { index: output.batch_index });
            }
            Some(OutputCheck::Mismatch { batch, expected, proposed, first_bad_tx }) => {
                events.push(DerivationEvent::OutputMismatch {
                    batch,
                    expected,
                    proposed,
                    first_bad_tx,
                    proposer: output.proposer,
                    l1_tx: output.l1_tx,
                });
            }
            None => tracing::warn!(
                batch = output.batch_index,
                "an output was proposed for a batch this node has not derived"
            ),
        }
    }
    Ok(events)
}
