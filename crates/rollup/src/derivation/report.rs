//! What deriving one batch found: the report (skipped transactions and deposits, the output),
//! how a proposed output compares, and the step trace a fraud-proof player replays.

use super::rules::InvalidTx;
use crate::{
    Result,
    batch::BatchError,
    fraud::{BatchInput, Trace},
    l1::{L1Batch, OutputRoots},
};
use ply_ledger::{BatchOutput, LedgerError, PriorityOp, SigningDomain};
use std::ops::Range;

/// A transaction the derivation skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTx {
    /// The block's position in the batch (0 for the batch's first block).
    pub block: usize,
    /// The transaction's position in the block.
    pub index: usize,
    /// Why it was skipped.
    pub reason: InvalidTx,
}

/// A deposit the ledger refused (token out of range, balance overflow, full state tree): it
/// was consumed on L1 but credits nothing on L2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDeposit {
    /// The deposit's queue index.
    pub queue_index: u64,
    /// Why the ledger refused it.
    pub reason: LedgerError,
}

/// What deriving one batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch index.
    pub index: u64,
    /// The L1 block that holds the batch.
    pub l1_block: u64,
    /// The queue indices of the deposits it consumed.
    pub deposits: Range<u64>,
    /// Why the batch is malformed, if it is: its transactions before that point applied (or
    /// were skipped), none after it was read.
    pub malformed: Option<BatchError>,
    /// Bytes after the last block, ignored.
    pub ignored_bytes: u64,
    /// The deposits the ledger refused.
    pub skipped_deposits: Vec<SkippedDeposit>,
    /// How many transactions applied.
    pub applied_txs: usize,
    /// The transactions skipped, in batch order.
    pub skipped_txs: Vec<SkippedTx>,
    /// The batch's output: state root, withdrawal root and withdrawals.
    pub output: BatchOutput,
    /// What the output's state commitment commits to (`output.state_root` is its hash).
    pub state: ply_ledger::StateCommitment,
}

impl BatchReport {
    /// Whether the batch applied in full: well-formed, nothing skipped. An honest sequencer
    /// posts only such batches.
    pub fn is_clean(&self) -> bool {
        self.malformed.is_none() && self.skipped_txs.is_empty() && self.skipped_deposits.is_empty()
    }

    /// `(block, index)` of the first transaction skipped, if any.
    pub fn first_skipped_tx(&self) -> Option<(usize, usize)> {
        self.skipped_txs.first().map(|s| (s.block, s.index))
    }

    /// The output's roots.
    pub fn roots(&self) -> OutputRoots {
        OutputRoots {
            state_root: self.output.state_root,
            withdrawal_root: self.output.withdrawal_root,
        }
    }
}

/// How a proposed output compares with the derived one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputCheck {
    /// Both roots agree.
    Agrees,
    /// The proposal differs from the derived output: the proposer (or this node) is wrong.
    /// This is where a challenge starts.
    Mismatch {
        /// The batch.
        batch: u64,
        /// The roots this node derived.
        expected: OutputRoots,
        /// The roots proposed on L1.
        proposed: OutputRoots,
        /// `(block, index)` in the batch of the first transaction this node skipped, if any:
        /// the likeliest point where a dishonest sequencer's state diverged (it applied what
        /// the rules refuse). `None` when every transaction applied; bisection then finds the
        /// divergence.
        first_bad_tx: Option<(usize, usize)>,
    },
}

/// The step trace of one derived batch with what its one-step proofs read: the batch as L1
/// recorded it, the queued operations it consumed and the signing domain.
#[derive(Debug, Clone)]
pub struct BatchTrace {
    /// The step hashes `S_0 .. S_N`.
    pub trace: Trace,
    /// The batch.
    pub batch: L1Batch,
    /// Its queued operations, `prevQueueCount .. newQueueCount`.
    pub ops: Vec<PriorityOp>,
    /// The signing domain of L2 transactions.
    pub domain: SigningDomain,
}

impl BatchTrace {
    /// The batch as the step machine reads it.
    pub fn input(&self) -> BatchInput<'_> {
        BatchInput {
            index: self.batch.index,
            data: &self.batch.data,
            prev_queue_count: self.batch.prev_deposit_count,
            ops: &self.ops,
        }
    }

    /// The proof of step `i` for `Rollup.step`: the pre-state `S_i`, its witness and context.
    pub fn step_proof(&self, i: u64) -> Result<crate::fraud::StepProof> {
        self.trace.step_proof(
            i,
            &self.input(),
            &self.domain,
            &mut crate::fraud::VerifySignatures(&self.domain),
        )
    }
}
