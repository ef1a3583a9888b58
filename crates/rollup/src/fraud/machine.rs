//! The step machine: derivation rules v2, one step at a time (`docs/rollup.md`, "Steps").

use super::StepState;
use crate::{
    Error, Result,
    batch::{self, BLOCK_HEADER_SIZE, BatchError, BatchTx},
    derivation::{InvalidTx, rebuild},
};
use alloy::primitives::B256;
use ply_ledger::{
    Effects, KeccakHasher, Ledger, LedgerError, PriorityOp, SignedTx, SigningDomain,
    SparseMerkleTree, Tx, VerifiedTx, WITHDRAWAL_TREE_DEPTH,
};

/// Where a batch's trace stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the header.
    Start = 0,
    /// Reading blocks.
    Blocks = 1,
    /// Applying the consumed operations the blocks did not apply.
    Drain = 2,
    /// Finished: further steps change nothing.
    Done = 3,
}

/// One batch as L1 recorded it: what a step reads besides the state.
#[derive(Debug, Clone, Copy)]
pub struct BatchInput<'a> {
    /// The batch index (it is part of every withdrawal leaf).
    pub index: u64,
    /// The batch data.
    pub data: &'a [u8],
    /// The queue index of the first operation the batch consumes (`prevQueueCount`).
    pub prev_queue_count: u64,
    /// The operations `prevQueueCount .. newQueueCount` of the L1 queue.
    pub ops: &'a [PriorityOp],
}

impl BatchInput<'_> {
    /// `newQueueCount`, the queue end of the batch.
    pub fn queue_end(&self) -> u64 {
        self.prev_queue_count + self.ops.len() as u64
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEvent {
    /// A priority operation applied (`Ok`) or was skipped.
    Op {
        /// Its queue index.
        queue_index: u64,
        /// Its effects, or why the state refused it.
        outcome: std::result::Result<Effects, LedgerError>,
    },
    /// A transaction applied (`Ok`) or was skipped.
    Tx {
        /// Its block's position in the batch.
        block: usize,
        /// Its position in the block.
        index: usize,
        /// Its effects, or why it was skipped.
        outcome: std::result::Result<Effects, InvalidTx>,
    },
    /// The batch became malformed here: nothing more of it is read.
    Malformed(BatchError),
    /// The batch ended; `ignored_bytes` followed its last block.
    Done {
        /// Bytes after the last block (no effect).
        ignored_bytes: u64,
    },
    /// Nothing: the batch was already done.
    Idle,
}

/// Checks a rebuilt transaction's signature. The derivation checks a batch's signatures in
/// parallel ahead of time and answers from that; [`VerifySignatures`] checks each on the spot.
pub trait TxVerifier {
    /// The transaction, verified, or why its signature does not check.
    fn verify(
        &mut self,
        tx: Tx,
        signature: &[u8; 64],
    ) -> std::result::Result<VerifiedTx, LedgerError>;
}

/// A [`TxVerifier`] that recovers every signature when asked.
#[derive(Debug, Clone)]
pub struct VerifySignatures<'a>(pub &'a SigningDomain);

impl TxVerifier for VerifySignatures<'_> {
    fn verify(
        &mut self,
        tx: Tx,
        signature: &[u8; 64],
    ) -> std::result::Result<VerifiedTx, LedgerError> {
        SignedTx::from_compact(tx, signature)?.verify(self.0)
    }
}

/// The step machine of one batch: the ledger (state fields of the step state) and the parse
/// fields. [`step`](Self::step) is one step `S → S'` of the specification; derivation runs it
/// to DONE, the trace hashes every state on the way.
#[derive(Debug, Clone)]
pub struct StepMachine {
    ledger: Ledger<KeccakHasher>,
    phase: Phase,
    cursor: u64,
    blocks_left: u32,
    block_ops: u16,
    block_txs: u16,
    /// Blocks whose header was read, and transactions read in the current block (reports).
    blocks_read: usize,
    txs_read: usize,
    /// Bytes after the last block, reported when the batch is done.
    ignored_bytes: u64,
    /// The batch's withdrawal tree so far and how many withdrawals it holds, kept up to date
    /// for step hashes.
    withdrawals: (usize, SparseMerkleTree<KeccakHasher>),
}

impl StepMachine {
    /// `S_0` of a batch: START over `ledger`, the state after the previous batch (whose
    /// `batch_index` must be this batch's).
    pub fn new(ledger: Ledger<KeccakHasher>) -> Self {
        Self {
            ledger,
            phase: Phase::Start,
            cursor: 0,
            blocks_left: 0,
            block_ops: 0,
            block_txs: 0,
            blocks_read: 0,
            txs_read: 0,
            ignored_bytes: 0,
            withdrawals: (
                0,
                SparseMerkleTree::new(WITHDRAWAL_TREE_DEPTH).expect("the withdrawal tree's depth"),
            ),
        }
    }

    /// The ledger (the state fields).
    pub fn ledger(&self) -> &Ledger<KeccakHasher> {
        &self.ledger
    }

    /// The ledger, taken back once the batch is done.
    pub fn into_ledger(self) -> Ledger<KeccakHasher> {
        self.ledger
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The step state `S` (hashes the trees that changed).
    pub fn state(&mut self) -> StepState {
        let commitment = self.ledger.commitment();
        let withdrawal_root = self.withdrawal_root();
        StepState {
            phase: self.phase as u8,
            stateRoot: commitment.stateRoot,
            addressRoot: commitment.addressRoot,
            accountCount: commitment.accountCount,
            tokens: commitment.tokens,
            queueIndex: commitment.queueIndex,
            lastTimestamp: commitment.lastTimestamp,
            withdrawalCount: self.ledger.withdrawals().len() as u32,
            withdrawalRoot: withdrawal_root,
            cursor: self.cursor,
            blocksLeft: self.blocks_left,
            blockOps: self.block_ops,
            blockTxs: self.block_txs,
        }
    }

    fn withdrawal_root(&mut self) -> B256 {
        let records = self.ledger.withdrawals();
        let (count, tree) = &mut self.withdrawals;
        for record in &records[*count..] {
            tree.update(u64::from(record.position), record.leaf_hash())
                .expect("the ledger keeps withdrawals within the tree");
        }
        *count = records.len();
        tree.root()
    }

    /// One step. The outer error is a bug of the caller (an input that does not match the
    /// ledger's queue position); refusals of the rules are events.
    pub fn step(
        &mut self,
        input: &BatchInput<'_>,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepEvent> {
        match self.phase {
            Phase::Done => Ok(StepEvent::Idle),
            Phase::Start => match batch::decode_header(input.data) {
                Err(reason) => Ok(self.malformed(reason)),
                Ok((count, read)) => {
                    self.phase = Phase::Blocks;
                    self.blocks_left = count;
                    self.cursor = read as u64;
                    self.blocks(input, verifier)
                }
            },
            Phase::Blocks => self.blocks(input, verifier),
            Phase::Drain => self.drain(input),
        }
    }

    fn blocks(
        &mut self,
        input: &BatchInput<'_>,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepEvent> {
        // Block headers read in this step set the ledger's timestamp only once the step is
        // not malformed: a malformed step undoes them (`lastTimestamp` included).
        let mut last = self.ledger.last_timestamp();
        while self.block_ops == 0 && self.block_txs == 0 {
            if self.blocks_left == 0 {
                self.ledger.begin_block(last)?;
                self.ignored_bytes = (input.data.len() as u64).saturating_sub(self.cursor);
                self.phase = Phase::Drain;
                self.cursor = 0;
                return self.drain(input);
            }
            let (timestamp, ops, txs) =
                match batch::decode_block_header(input.data, self.cursor as usize) {
                    Ok(header) => header,
                    Err(reason) => return Ok(self.malformed(reason)),
                };
            if timestamp < last {
                return Ok(self.malformed(BatchError::TimestampDecreases {
                    block: self.blocks_read,
                    timestamp,
                    previous: last,
                }));
            }
            let left = input.queue_end() - self.ledger.queue_index();
            if u64::from(ops) > left {
                return Ok(self.malformed(BatchError::TooManyOps {
                    block: self.blocks_read,
                    claimed: ops,
                    left,
                }));
            }
            last = timestamp;
            self.block_ops = ops;
            self.block_txs = txs;
            self.blocks_left -= 1;
            self.cursor += BLOCK_HEADER_SIZE as u64;
            self.blocks_read += 1;
            self.txs_read = 0;
        }
        if self.block_ops > 0 {
            self.ledger.begin_block(last)?;
            self.block_ops -= 1;
            return self.apply_op(input);
        }
        let (tx, next) = match batch::decode_tx(input.data, self.cursor as usize) {
            Ok(read) => read,
            Err(reason) => return Ok(self.malformed(reason)),
        };
        self.ledger.begin_block(last)?;
        self.cursor = next as u64;
        self.block_txs -= 1;
        let (block, index) = (self.blocks_read - 1, self.txs_read);
        self.txs_read += 1;
        let outcome = self.apply_tx(&tx, verifier)?;
        Ok(StepEvent::Tx { block, index, outcome })
    }

    fn drain(&mut self, input: &BatchInput<'_>) -> Result<StepEvent> {
        if self.ledger.queue_index() < input.queue_end() {
            return self.apply_op(input);
        }
        self.phase = Phase::Done;
        Ok(StepEvent::Done { ignored_bytes: self.ignored_bytes })
    }

    fn malformed(&mut self, reason: BatchError) -> StepEvent {
        self.phase = Phase::Drain;
        self.cursor = 0;
        self.blocks_left = 0;
        self.block_ops = 0;
        self.block_txs = 0;
        StepEvent::Malformed(reason)
    }

    fn apply_op(&mut self, input: &BatchInput<'_>) -> Result<StepEvent> {
        let queue_index = self.ledger.queue_index();
        let op = queue_index
            .checked_sub(input.prev_queue_count)
            .and_then(|i| input.ops.get(i as usize))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "operation {queue_index} is not among the batch's operations {}..{}",
                    input.prev_queue_count,
                    input.queue_end()
                ))
            })?;
        let outcome = match self.ledger.apply_op(queue_index, op) {
            Ok(effects) => Ok(effects),
            Err(reason) if reason.is_invalid_transaction() => {
                self.ledger.skip_op(queue_index)?;
                Err(reason)
            }
            Err(bug) => return Err(bug.into()),
        };
        Ok(StepEvent::Op { queue_index, outcome })
    }

    fn apply_tx(
        &mut self,
        tx: &BatchTx,
        verifier: &mut impl TxVerifier,
    ) -> Result<std::result::Result<Effects, InvalidTx>> {
        let rebuilt = match rebuild(&self.ledger, tx) {
            Ok(rebuilt) => rebuilt,
            Err(reason) => return Ok(Err(reason)),
        };
        let verified = match verifier.verify(rebuilt, tx.signature()) {
            Ok(verified) => verified,
            Err(reason) => return Ok(Err(reason.into())),
        };
        match self.ledger.apply(&verified) {
            Ok(effects) => Ok(Ok(effects)),
            Err(reason) if reason.is_invalid_transaction() => Ok(Err(reason.into())),
            Err(bug) => Err(bug.into()),
        }
    }
}
