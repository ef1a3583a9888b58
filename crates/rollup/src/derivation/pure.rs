//! [`Derivation`]: the pure derivation core. No I/O, no clock: the ledger rebuilt from L1
//! batches, the deposit queue as read so far, and the reports of the batches derived, within
//! bounded windows.

use super::{
    prefetch::verify_predicted,
    report::{BatchReport, BatchTrace, OutputCheck, SkippedDeposit, SkippedTx},
};
use crate::{
    Error, Result,
    config::RollupConfig,
    fraud::{BatchInput, StepEvent, StepMachine, Trace, trace_length},
    l1::{L1Batch, OutputRoots},
};
use alloy::primitives::B256;
use ply_ledger::{
    BatchOutput, Deposit, KeccakHasher, Ledger, LedgerConfig, PriorityOp, SigningDomain,
};
use std::{
    collections::{BTreeMap, VecDeque},
    num::NonZeroUsize,
};

/// How many batches' reports a [`Derivation`] keeps unless told otherwise: some 4 days of
/// batches a minute apart, far more than the devnet's window of outputs not yet final.
pub const DEFAULT_REPORT_WINDOW: usize = 8_192;

/// The pure derivation core: the ledger rebuilt from L1 batches, the deposit queue as read so
/// far, and the output of every derived batch.
///
/// Batches go in through [`apply_batch`](Self::apply_batch), in order, each once; the deposits
/// they consume must have been added with [`add_deposits`](Self::add_deposits) first. Both
/// refuse input that does not follow on from what came before (an error of the caller, not of
/// the sequencer) and then change nothing.
///
/// Signatures of a batch are checked on up to [`verify_threads`](Self::with_verify_threads)
/// threads before the transactions apply in order.
#[derive(Debug, Clone)]
pub struct Derivation {
    ledger: Ledger<KeccakHasher>,
    domain: SigningDomain,
    /// Deposits read from L1 and not yet consumed; the first has queue index
    /// `ledger.queue_index()`.
    pending_deposits: VecDeque<Deposit>,
    /// The reports of the last `report_window` batches derived.
    reports: BTreeMap<u64, BatchReport>,
    report_window: usize,
    pub(super) verify_threads: usize,
    /// With [`with_traces`](Self::with_traces): what it takes to trace each derived batch.
    traced: Option<BTreeMap<u64, TraceInput>>,
}

/// A derived batch as a fraud-proof player replays it: the state before it, its L1 record and
/// the queued operations it consumed.
#[derive(Debug, Clone)]
struct TraceInput {
    start: Ledger<KeccakHasher>,
    batch: L1Batch,
    ops: Vec<PriorityOp>,
}

impl Derivation {
    /// A derivation from genesis: a ledger of shape `ledger`, signatures checked in `domain`.
    pub fn new(ledger: LedgerConfig, domain: SigningDomain) -> Result<Self> {
        Ok(Self {
            ledger: Ledger::new(ledger)?,
            domain,
            pending_deposits: VecDeque::new(),
            reports: BTreeMap::new(),
            report_window: DEFAULT_REPORT_WINDOW,
            verify_threads: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            traced: None,
        })
    }

    /// Keeps, for every batch derived from now on, the state before it and its input, so that
    /// [`trace`](Self::trace) can replay it step by step (a fraud-proof player's need; the
    /// memory is a copy of the ledger per batch until [`forget_before`](Self::forget_before)).
    pub fn with_traces(mut self) -> Self {
        self.traced = Some(BTreeMap::new());
        self
    }

    /// The step trace of derived batch `batch_index` (`docs/rollup.md`, "Steps"), with the
    /// input its one-step proofs need; `None` when the batch was not derived with
    /// [`with_traces`](Self::with_traces) on, or was forgotten.
    pub fn trace(&self, batch_index: u64) -> Result<Option<BatchTrace>> {
        let Some(input) = self.traced.as_ref().and_then(|t| t.get(&batch_index)) else {
            return Ok(None);
        };
        let batch_input = BatchInput {
            index: input.batch.index,
            data: &input.batch.data,
            prev_queue_count: input.batch.prev_deposit_count,
            ops: &input.ops,
        };
        let trace = Trace::build(
            input.start.clone(),
            &batch_input,
            &mut crate::fraud::VerifySignatures(&self.domain),
        )?;
        Ok(Some(BatchTrace {
            trace,
            batch: input.batch.clone(),
            ops: input.ops.clone(),
            domain: self.domain.clone(),
        }))
    }

    /// A derivation from genesis for the rollup of `config`.
    pub fn from_config(config: &RollupConfig) -> Result<Self> {
        Self::new(config.ledger.clone(), config.domain())
    }

    /// Keeps the reports (and so the outputs to check proposals against) of the last `batches`
    /// batches derived (at least 1; [`DEFAULT_REPORT_WINDOW`] unless set): memory stays bounded
    /// however long the node runs. A proposal for an older batch is not checked
    /// ([`check_output`](Self::check_output) answers `None`); choose a window that covers the
    /// batches whose outputs can still be proposed (those not final yet).
    pub fn with_report_window(mut self, batches: usize) -> Self {
        self.report_window = batches.max(1);
        while self.reports.len() > self.report_window {
            self.reports.pop_first();
        }
        self
    }

    /// Checks signatures on at most `threads` threads (at least 1). The default is the
    /// machine's parallelism.
    pub fn with_verify_threads(mut self, threads: usize) -> Self {
        self.verify_threads = threads.max(1);
        self
    }

    /// The derived ledger, after the last derived batch.
    pub fn ledger(&self) -> &Ledger<KeccakHasher> {
        &self.ledger
    }

    /// The signing domain.
    pub fn domain(&self) -> &SigningDomain {
        &self.domain
    }

    /// The index of the next batch to derive (the number derived so far).
    pub fn next_batch(&self) -> u64 {
        self.ledger.batch_index()
    }

    /// The number of deposits known: the queue index of the next one to add.
    pub fn known_deposits(&self) -> u64 {
        self.ledger.queue_index() + self.pending_deposits.len() as u64
    }

    /// The timestamp a next batch's first block must not be below.
    pub fn previous_timestamp(&self) -> u64 {
        self.ledger.last_timestamp()
    }

    /// Adds deposits read from the L1 queue, in queue order. Deposits already known are
    /// ignored if they are the same (a range read twice); a gap in the queue, or a known index
    /// with other contents, is an error and adds nothing after it.
    pub fn add_deposits(&mut self, deposits: impl IntoIterator<Item = Deposit>) -> Result<()> {
        for deposit in deposits {
            let known = self.known_deposits();
            let consumed = self.ledger.queue_index();
            if deposit.queue_index >= known {
                if deposit.queue_index > known {
                    return Err(Error::Invalid(format!(
                        "deposit {} arrived, but deposit {known} is the next in the queue: \
                         deposits must be read in queue order, without gaps",
                        deposit.queue_index
                    )));
                }
                self.pending_deposits.push_back(deposit);
            } else if deposit.queue_index >= consumed {
                let same = &self.pending_deposits[(deposit.queue_index - consumed) as usize];
                if *same != deposit {
                    return Err(Error::Invalid(format!(
                        "deposit {} was read as {same:?} and now as {deposit:?}",
                        deposit.queue_index
                    )));
                }
            }
        }
        Ok(())
    }

    /// Derives the next batch by the rules of `docs/rollup.md` (see the module docs) and keeps
    /// its report, output included.
    ///
    /// Errors, changing nothing, when the batch is not the next one, does not start at the
    /// next unconsumed deposit, or consumes deposits not added yet. An error after that is a
    /// bug in this node; the derivation must then be discarded.
    pub fn apply_batch(&mut self, batch: &L1Batch) -> Result<BatchReport> {
        self.check_follows(batch)?;
        let consumed = batch.deposit_count();
        let ops: Vec<PriorityOp> =
            self.pending_deposits.drain(..consumed as usize).map(|deposit| deposit.op()).collect();
        let input = BatchInput {
            index: batch.index,
            data: &batch.data,
            prev_queue_count: batch.prev_deposit_count,
            ops: &ops,
        };
        if let Some(traced) = &mut self.traced {
            traced.insert(
                batch.index,
                TraceInput { start: self.ledger.clone(), batch: batch.clone(), ops: ops.clone() },
            );
        }
        let mut verifier =
            verify_predicted(&self.ledger, &self.domain, self.verify_threads, &input);
        let placeholder = Ledger::new(self.ledger.config().clone())?;
        let mut machine = StepMachine::new(std::mem::replace(&mut self.ledger, placeholder));
        let mut report = BatchReport {
            index: batch.index,
            l1_block: batch.l1_block,
            deposits: batch.prev_deposit_count..batch.new_deposit_count,
            malformed: None,
            ignored_bytes: 0,
            skipped_deposits: Vec::new(),
            applied_txs: 0,
            skipped_txs: Vec::new(),
            output: BatchOutput {
                batch_index: batch.index,
                state_root: B256::ZERO,
                withdrawal_root: B256::ZERO,
                withdrawals: Vec::new(),
            },
            state: Default::default(),
        };
        let steps = trace_length(ops.len() as u64, batch.data.len() as u64);
        let mut step = 0;
        let outcome = loop {
            if step == steps {
                break Err(Error::Invalid(format!(
                    "batch {} is not done after its {steps} steps: a bug of the step machine",
                    batch.index
                )));
            }
            step += 1;
            match machine.step(&input, &mut verifier) {
                Err(bug) => break Err(bug),
                Ok(StepEvent::Done { ignored_bytes }) => {
                    report.ignored_bytes = ignored_bytes;
                    break Ok(());
                }
                Ok(StepEvent::Malformed(reason)) => report.malformed = Some(reason),
                Ok(StepEvent::Op { queue_index, outcome: Err(reason) }) => {
                    report.skipped_deposits.push(SkippedDeposit { queue_index, reason });
                }
                Ok(StepEvent::Tx { outcome: Ok(_), .. }) => report.applied_txs += 1,
                Ok(StepEvent::Tx { block, index, outcome: Err(reason) }) => {
                    report.skipped_txs.push(SkippedTx { block, index, reason });
                }
                Ok(StepEvent::Op { .. } | StepEvent::Idle) => {}
            }
        };
        self.ledger = machine.into_ledger();
        outcome?;
        // An output commits to the whole state (docs/rollup.md, "The state commitment"), not
        // only to the accounts' root.
        report.state = self.ledger.commitment();
        report.output = self.ledger.finish_batch();
        report.output.state_root = report.state.hash();
        self.reports.insert(batch.index, report.clone());
        while self.reports.len() > self.report_window {
            self.reports.pop_first();
        }
        Ok(report)
    }

    /// The report of a derived batch (until [`forget_before`](Self::forget_before)).
    pub fn report(&self, batch_index: u64) -> Option<&BatchReport> {
        self.reports.get(&batch_index)
    }

    /// The output of a derived batch (until [`forget_before`](Self::forget_before)).
    pub fn output(&self, batch_index: u64) -> Option<&BatchOutput> {
        self.report(batch_index).map(|r| &r.output)
    }

    /// Compares a proposed output with the derived one; `None` if the batch is not derived
    /// (yet, or any more).
    pub fn check_output(
        &self,
        batch_index: u64,
        state_root: B256,
        withdrawal_root: B256,
    ) -> Option<OutputCheck> {
        let report = self.reports.get(&batch_index)?;
        let expected = report.roots();
        let proposed = OutputRoots { state_root, withdrawal_root };
        Some(if expected == proposed {
            OutputCheck::Agrees
        } else {
            OutputCheck::Mismatch {
                batch: batch_index,
                expected,
                proposed,
                first_bad_tx: report.first_skipped_tx(),
            }
        })
    }

    /// Drops the reports of batches before `batch_index` (e.g. once their outputs are final),
    /// so that memory stays bounded.
    pub fn forget_before(&mut self, batch_index: u64) {
        self.reports = self.reports.split_off(&batch_index);
        if let Some(traced) = &mut self.traced {
            *traced = traced.split_off(&batch_index);
        }
    }

    fn check_follows(&self, batch: &L1Batch) -> Result<()> {
        let next = self.next_batch();
        if batch.index != next {
            return Err(Error::Invalid(format!(
                "batch {} arrived, but batch {next} is the next to derive: batches must come in \
                 order, each once",
                batch.index
            )));
        }
        let consumed = self.ledger.queue_index();
        if batch.prev_deposit_count != consumed || batch.new_deposit_count < consumed {
            return Err(Error::Invalid(format!(
                "batch {} consumes deposits {}..{}, but {consumed} deposits were consumed \
                 before it",
                batch.index, batch.prev_deposit_count, batch.new_deposit_count
            )));
        }
        let known = self.known_deposits();
        if batch.new_deposit_count > known {
            return Err(Error::Invalid(format!(
                "batch {} consumes deposits up to {}, but only {known} are known: add the \
                 deposits queued up to the batch's L1 block {} first",
                batch.index, batch.new_deposit_count, batch.l1_block
            )));
        }
        Ok(())
    }
}
