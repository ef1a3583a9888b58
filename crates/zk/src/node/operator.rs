//! [`Operator`]: the zk sequencer's state machine, without I/O.
//!
//! It keeps every accepted operation in order (deposits from the L1 queue, signed transfers and
//! withdrawals), the state with all of them applied (`head`, what users read and soft
//! confirmations promise), and the state after the batches cut so far (`batched`). A batch is
//! a prefix of the operations not yet batched that fits the circuit's sections: deposits,
//! then transfers, then withdrawals, each within its slots; the first operation that does not
//! fit ends the batch ([`Operator::next_batch_len`] says what fits: slots, fee slots, and no
//! debit from the fee account after a fee, since the batch credits its fees at its end).
//! Because the prefix is applied in the order it was accepted, every operation the head
//! accepted also goes into a batch.

use super::wire::LoggedOp;
use crate::{
    Fr,
    circuit::{BatchParams, BatchWitness, CircuitError, ZkOperation, ZkState},
    fr_to_b256,
};
use ply_core::B256;
use std::{collections::HashMap, ops::Range};

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Cut; being proven or submitted.
    Proving,
    /// Verified on L1: its withdrawals are released.
    Verified,
}

/// A batch cut from the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchRecord {
    /// The batch number on L1 (consecutive from 0).
    pub number: u64,
    /// The log positions of its operations.
    pub ops: Range<u64>,
    /// The root after it, as 32 big-endian bytes.
    pub new_root: B256,
    /// Where it stands.
    pub status: BatchStatus,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Accepted and durable; not in a batch yet.
    SoftConfirmed,
    /// In a batch being proven.
    Proving,
    /// In a batch verified on L1.
    Verified,
}

/// The id of a signed transaction: its signed message, as 32 bytes.
pub fn tx_id(op: &ZkOperation, domain: Fr) -> Option<B256> {
    match op {
        ZkOperation::Deposit(_) | ZkOperation::FullExit(_) => None,
        ZkOperation::Transfer(t) => Some(fr_to_b256(t.message(domain))),
        ZkOperation::Withdrawal(w) => Some(fr_to_b256(w.message(domain))),
    }
}

/// The zk sequencer's state machine (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Operator {
    params: BatchParams,
    head: ZkState,
    batched: ZkState,
    log: Vec<LoggedOp>,
    ops: Vec<ZkOperation>,
    batched_upto: u64,
    next_deposit: u64,
    ids: HashMap<B256, u64>,
    batches: Vec<BatchRecord>,
}

impl Operator {
    /// An operator over `genesis`, with no operations yet.
    pub fn new(params: BatchParams, genesis: ZkState) -> Self {
        Self {
            params,
            head: genesis.clone(),
            batched: genesis,
            log: Vec::new(),
            ops: Vec::new(),
            batched_upto: 0,
            next_deposit: 0,
            ids: HashMap::new(),
            batches: Vec::new(),
        }
    }

    /// The batch shape.
    pub fn params(&self) -> &BatchParams {
        &self.params
    }

    /// The state with every accepted operation applied.
    pub fn head(&self) -> &ZkState {
        &self.head
    }

    /// The state after the last batch cut.
    pub fn batched(&self) -> &ZkState {
        &self.batched
    }

    /// The batches cut so far.
    pub fn batches(&self) -> &[BatchRecord] {
        &self.batches
    }

    /// The log of accepted operations.
    pub fn log(&self) -> &[LoggedOp] {
        &self.log
    }

    /// The id of the next deposit of the L1 queue the operator expects.
    pub fn next_deposit(&self) -> u64 {
        self.next_deposit
    }

    /// Operations accepted but not yet in a batch.
    pub fn unbatched(&self) -> u64 {
        self.ops.len() as u64 - self.batched_upto
    }

    /// The status of transaction `id`, with its batch.
    pub fn status(&self, id: &B256) -> Option<(TxStatus, Option<u64>)> {
        let position = *self.ids.get(id)?;
        match self.batches.iter().find(|b| b.ops.contains(&position)) {
            None => Some((TxStatus::SoftConfirmed, None)),
            Some(b) if b.status == BatchStatus::Verified => {
                Some((TxStatus::Verified, Some(b.number)))
            }
            Some(b) => Some((TxStatus::Proving, Some(b.number))),
        }
    }

    /// Checks and applies a signed transaction to the head; on success returns its id and the
    /// log entry to make durable before confirming it.
    pub fn accept(&mut self, op: ZkOperation) -> Result<(B256, LoggedOp), String> {
        let id = tx_id(&op, self.head.domain()).ok_or("deposits come from the L1 queue")?;
        if self.ids.contains_key(&id) {
            return Err(format!("transaction {id} was already accepted"));
        }
        self.head.apply(&op, true)?;
        let entry = LoggedOp::from_op(&op, 0);
        self.push(op, entry.clone(), Some(id));
        Ok((id, entry))
    }

    /// Applies priority operation `id` of the L1 queue, a deposit or a full exit (ids must come
    /// in order, from [`Self::next_deposit`]); returns the log entry to make durable.
    pub fn deposit(&mut self, id: u64, op: ZkOperation) -> Result<LoggedOp, String> {
        if id != self.next_deposit {
            return Err(format!("deposit {id} out of order: expected {}", self.next_deposit));
        }
        if !matches!(op, ZkOperation::Deposit(_) | ZkOperation::FullExit(_)) {
            return Err("not a priority operation (a deposit or a full exit)".into());
        }
        self.head.apply(&op, false)?;
        self.next_deposit += 1;
        let entry = LoggedOp::from_op(&op, id);
        self.push(op, entry.clone(), None);
        Ok(entry)
    }

    fn push(&mut self, op: ZkOperation, entry: LoggedOp, id: Option<B256>) {
        if let Some(id) = id {
            self.ids.insert(id, self.ops.len() as u64);
        }
        self.ops.push(op);
        self.log.push(entry);
    }

    /// Takes back the last accepted operation (its log entry could not be made durable): the
    /// head is rebuilt from the batched state and the operations still unbatched. Nothing
    /// happens when the last operation is already in a batch.
    pub fn undo_last(&mut self) {
        if self.ops.len() as u64 <= self.batched_upto {
            return;
        }
        let op = self.ops.pop().expect("an unbatched operation");
        match self.log.pop() {
            Some(LoggedOp::Deposit { .. } | LoggedOp::FullExit { .. }) => self.next_deposit -= 1,
            _ => {
                if let Some(id) = tx_id(&op, self.head.domain()) {
                    self.ids.remove(&id);
                }
            }
        }
        let mut head = self.batched.clone();
        for op in &self.ops[self.batched_upto as usize..] {
            head.apply(op, false).expect("applied before, in the same order");
        }
        self.head = head;
    }

    /// Replays a log entry made durable earlier (at start-up); signatures were checked then.
    pub fn replay(&mut self, entry: LoggedOp) -> Result<(), String> {
        let op = entry.to_op()?;
        let id = match &entry {
            LoggedOp::Deposit { id, .. } | LoggedOp::FullExit { id, .. } => {
                if *id != self.next_deposit {
                    return Err(format!("logged priority operation {id} out of order"));
                }
                self.next_deposit += 1;
                None
            }
            LoggedOp::Tx(_) => tx_id(&op, self.head.domain()),
        };
        self.head.apply(&op, false)?;
        self.push(op, entry, id);
        Ok(())
    }

    /// How many of the unbatched operations the next batch takes (0: nothing to batch).
    ///
    /// The batch ends before the first operation that does not fit its section's slots or
    /// comes in a section already passed; before a fee in one token more than the batch has
    /// fee slots for; and before a debit from account 0 once the batch holds a fee. Account 0
    /// receives the batch's fees only at its end (one credit per fee token), so such a debit,
    /// which the head accepted against fees credited at once, could not be proven in the same
    /// batch; it opens the next one instead, after the credit.
    pub fn next_batch_len(&self) -> usize {
        let (mut deposits, mut transfers, mut withdrawals) = (0, 0, 0);
        let mut section = 0;
        let mut taken = 0;
        let mut fee_tokens: Vec<u32> = Vec::new();
        for op in &self.ops[self.batched_upto as usize..] {
            let (kind, used, slots) = match op {
                ZkOperation::Deposit(_) | ZkOperation::FullExit(_) => {
                    (0, &mut deposits, self.params.deposits)
                }
                ZkOperation::Transfer(_) => (1, &mut transfers, self.params.transfers),
                ZkOperation::Withdrawal(_) => (2, &mut withdrawals, self.params.withdrawals),
            };
            if kind < section || *used == slots {
                break;
            }
            let (from, token, fee) = match op {
                ZkOperation::Deposit(_) | ZkOperation::FullExit(_) => (None, 0, 0),
                ZkOperation::Transfer(t) => (Some(t.from), t.token, t.fee),
                ZkOperation::Withdrawal(w) => (Some(w.from), w.token, w.fee),
            };
            if from == Some(0) && !fee_tokens.is_empty() {
                break;
            }
            if fee > 0 && !fee_tokens.contains(&token) {
                if fee_tokens.len() == self.params.fee_tokens {
                    break;
                }
                fee_tokens.push(token);
            }
            section = kind;
            *used += 1;
            taken += 1;
        }
        taken
    }

    /// Whether the next batch is full: the operation after it would not fit.
    pub fn next_batch_is_full(&self) -> bool {
        let len = self.next_batch_len();
        len > 0 && (self.batched_upto as usize + len) < self.ops.len()
    }

    /// Cuts the next batch (see [`Self::next_batch_len`]) and returns its number and witness, or
    /// `None` when no operation is waiting.
    pub fn cut_batch(&mut self) -> Result<Option<(u64, BatchWitness)>, CircuitError> {
        match self.next_batch_len() {
            0 => Ok(None),
            len => self.cut(len).map(Some),
        }
    }

    fn cut(&mut self, len: usize) -> Result<(u64, BatchWitness), CircuitError> {
        let start = self.batched_upto as usize;
        let witness =
            BatchWitness::build(&mut self.batched, &self.params, &self.ops[start..start + len])?;
        let number = self.batches.len() as u64;
        self.batches.push(BatchRecord {
            number,
            ops: self.batched_upto..self.batched_upto + len as u64,
            new_root: fr_to_b256(witness.circuit.new_root),
            status: BatchStatus::Proving,
        });
        self.batched_upto += len as u64;
        Ok((number, witness))
    }

    /// Records that batch `number` is verified on L1.
    pub fn verified(&mut self, number: u64) {
        if let Some(batch) = self.batches.get_mut(number as usize) {
            batch.status = BatchStatus::Verified;
        }
    }

    /// Restores the batches cut before a restart, from their records and the replayed log: each
    /// is cut again with the same operations, and must reach the same root. The first
    /// `l1_roots.len()` are verified on L1 and must match its roots; the witnesses of the
    /// others are returned, to be proven again.
    pub fn restore(
        &mut self,
        records: &[BatchRecord],
        l1_roots: &[B256],
    ) -> Result<Vec<(u64, BatchWitness)>, String> {
        if l1_roots.len() > records.len() {
            return Err(format!(
                "L1 verified {} batches but this operator's log records {}: wrong data directory?",
                l1_roots.len(),
                records.len()
            ));
        }
        let mut unverified = Vec::new();
        for record in records {
            if record.ops.start != self.batched_upto || record.ops.end > self.ops.len() as u64 {
                return Err(format!("batch {} does not follow the log", record.number));
            }
            let len = (record.ops.end - record.ops.start) as usize;
            let (number, witness) = self.cut(len).map_err(|e| e.to_string())?;
            let ours = self.batches[number as usize].new_root;
            if ours != record.new_root {
                return Err(format!(
                    "batch {number} cut again has root {ours}, not {}",
                    record.new_root
                ));
            }
            match l1_roots.get(number as usize) {
                Some(root) if *root == ours => self.verified(number),
                Some(root) => {
                    return Err(format!("batch {number} has root {ours}, but L1 verified {root}"));
                }
                None => unverified.push((number, witness)),
            }
        }
        Ok(unverified)
    }
}
