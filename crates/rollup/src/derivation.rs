//! The derivation node: rebuilds the rollup's state from L1 data alone and checks every output
//! the proposer posts against it.
//!
//! Two layers, as in the rest of ply:
//!
//! - [`Derivation`], the pure core: no I/O, no clock. It holds a [`Ledger`] and the deposits
//!   read from the L1 queue so far; [`Derivation::apply_batch`] applies one batch by the
//!   derivation rules of `docs/rollup.md` and keeps its output, and
//!   [`Derivation::check_output`] compares a proposed output with it. Tests (and, later, the
//!   fraud-proof challenger) drive it directly.
//! - [`DerivationNode`], the driver: follows L1 at a confirmation depth with a
//!   [`BlockFollower`], reads deposits, batches and outputs with an [`L1Reader`], feeds the
//!   core, and publishes what it finds as [`DerivationEvent`]s (a broadcast) and a
//!   [`DerivationStatus`] (a watch).
//!
//! # The rules, as implemented
//!
//! A batch consumes the queued deposits `prev_deposit_count..new_deposit_count`. Its data is
//! decoded and checked against that count and the timestamp of the last block of the previous
//! well-formed batch (0 at genesis). If that fails the batch is **malformed**: its deposits
//! apply, its transactions do not. Otherwise each block applies its deposits, then its
//! transactions, each rebuilt from the packed form: addresses from account indices, the nonce
//! from the sender's account, a [`Recipient::New`] address that must not have an account yet.
//! A transaction that cannot be rebuilt, whose signature does not check, or that the ledger
//! refuses is **skipped**; a deposit the ledger refuses is skipped too (its funds stay in the
//! L1 bridge). Either way the batch ends with [`Ledger::finish_batch`], whose state root and
//! withdrawal root are what an honest proposer posts.

use crate::{
    Error, Result,
    batch::{self, BatchError, BatchTx, Recipient},
    config::RollupConfig,
    fraud::{BatchInput, StepEvent, StepMachine, Trace, TxVerifier, trace_length},
    l1::{L1Batch, L1Output, L1Reader, OutputRoots},
};
use alloy::primitives::{Address, B256};
use ply_l1::client::{BlockFollower, DynL1Client};
use ply_ledger::{
    AccountIndex, BatchOutput, Deposit, KeccakHasher, Ledger, LedgerConfig, LedgerError, OpKind,
    PriorityOp, SignedTx, SigningDomain, Transfer, Tx, VerifiedTx, Withdrawal,
};
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    num::NonZeroUsize,
    ops::{Range, RangeInclusive},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};
use tokio::sync::{broadcast, watch};

/// Below this many transactions per thread, parallel signature checks cost more than they save.
const MIN_TXS_PER_THREAD: usize = 64;

/// How many events a slow [`DerivationNode`] subscriber may fall behind before it lags.
const EVENT_CAPACITY: usize = 1_024;

/// Why a transaction of a well-formed batch was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTx {
    /// The sender index holds no account.
    #[error("sender index {index} holds no account: the ledger has {accounts} accounts")]
    UnknownSender {
        /// The index in the batch.
        index: AccountIndex,
        /// How many accounts existed when the transaction came up.
        accounts: u64,
    },
    /// The recipient index holds no account.
    #[error("recipient index {index} holds no account: the ledger has {accounts} accounts")]
    UnknownRecipient {
        /// The index in the batch.
        index: AccountIndex,
        /// How many accounts existed when the transaction came up.
        accounts: u64,
    },
    /// A transfer marked "to a new account" names an address that already has one: the batch
    /// must use its index.
    #[error("the transfer creates an account for {address}, which already has account {index}")]
    RecipientExists {
        /// The address posted as new.
        address: Address,
        /// Its existing account.
        index: AccountIndex,
    },
    /// The signature does not check (a bad signature, another signer, or a replay, whose
    /// signature covers an old nonce), or the ledger refuses the transaction.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

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
    reports: BTreeMap<u64, BatchReport>,
    verify_threads: usize,
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
        let mut verifier = self.verify_predicted(&input);
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

    /// Rebuilds every transaction of the batch's well-formed prefix assuming that all its
    /// operations and transactions apply, and checks their signatures in parallel: the step
    /// machine then finds most signatures checked already.
    fn verify_predicted(&self, input: &BatchInput<'_>) -> Predicted {
        let (prefix, _) = batch::decode_prefix(input.data);
        let mut view = Speculative::new(&self.ledger);
        let mut jobs: Vec<(Tx, &[u8; 64])> = Vec::with_capacity(prefix.batch.tx_count());
        let mut ops = input.ops.iter();
        for block in &prefix.batch.blocks {
            for op in ops.by_ref().take(block.deposits as usize) {
                if op.op_kind() != Some(OpKind::ForcedWithdrawal) {
                    view.create(op.to);
                }
            }
            for tx in &block.txs {
                if let Ok(rebuilt) = rebuild(&view, tx) {
                    view.applied(tx);
                    jobs.push((rebuilt, tx.signature()));
                }
            }
        }

        let domain = &self.domain;
        let check = |(tx, signature): &(Tx, &[u8; 64])| {
            ((tx.clone(), **signature), verify(tx.clone(), signature, domain))
        };
        let threads = self.verify_threads.min(jobs.len() / MIN_TXS_PER_THREAD).max(1);
        let checked: HashMap<(Tx, [u8; 64]), Result<VerifiedTx, LedgerError>> = if threads == 1 {
            jobs.iter().map(check).collect()
        } else {
            let chunk = jobs.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = jobs
                    .chunks(chunk)
                    .map(|jobs| scope.spawn(move || jobs.iter().map(check).collect::<Vec<_>>()))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("signature checks do not panic"))
                    .collect()
            })
        };
        Predicted { checked, domain: domain.clone() }
    }
}

/// A [`TxVerifier`] that answers from signatures checked ahead of time, and checks the others
/// (transactions rebuilt otherwise than predicted, because something before them was skipped).
struct Predicted {
    checked: HashMap<(Tx, [u8; 64]), Result<VerifiedTx, LedgerError>>,
    domain: SigningDomain,
}

impl TxVerifier for Predicted {
    fn verify(&mut self, tx: Tx, signature: &[u8; 64]) -> Result<VerifiedTx, LedgerError> {
        let key = (tx, *signature);
        match self.checked.remove(&key) {
            Some(checked) => checked,
            None => verify(key.0, signature, &self.domain),
        }
    }
}

fn verify(tx: Tx, signature: &[u8; 64], domain: &SigningDomain) -> Result<VerifiedTx, LedgerError> {
    SignedTx::from_compact(tx, signature)?.verify(domain)
}

/// What rebuilding a transaction needs to know about accounts.
pub(crate) trait Accounts {
    fn address(&self, index: AccountIndex) -> Option<Address>;
    fn index_of(&self, address: &Address) -> Option<AccountIndex>;
    /// The nonce of an existing account.
    fn nonce(&self, index: AccountIndex) -> u64;
    fn account_count(&self) -> u64;
}

impl Accounts for Ledger<KeccakHasher> {
    fn address(&self, index: AccountIndex) -> Option<Address> {
        self.account(index).map(|a| a.address)
    }

    fn index_of(&self, address: &Address) -> Option<AccountIndex> {
        Ledger::index_of(self, address)
    }

    fn nonce(&self, index: AccountIndex) -> u64 {
        self.account(index).map_or(0, |a| a.nonce)
    }

    fn account_count(&self) -> u64 {
        Ledger::account_count(self)
    }
}

/// The ledger as it would be if every deposit and transaction so far applied: accounts
/// created and nonces incremented, on top of the real ledger.
struct Speculative<'a> {
    ledger: &'a Ledger<KeccakHasher>,
    created: Vec<Address>,
    created_index: HashMap<Address, AccountIndex>,
    nonces: HashMap<AccountIndex, u64>,
}

impl<'a> Speculative<'a> {
    fn new(ledger: &'a Ledger<KeccakHasher>) -> Self {
        Self { ledger, created: Vec::new(), created_index: HashMap::new(), nonces: HashMap::new() }
    }

    fn create(&mut self, address: Address) {
        if self.index_of(&address).is_none() {
            let index = self.account_count() as AccountIndex;
            self.created.push(address);
            self.created_index.insert(address, index);
        }
    }

    /// Records the effects of `tx`, which was rebuilt successfully.
    fn applied(&mut self, tx: &BatchTx) {
        let from = match tx {
            BatchTx::Transfer { from, .. } | BatchTx::Withdrawal { from, .. } => *from,
        };
        let nonce = self.nonce(from).saturating_add(1);
        self.nonces.insert(from, nonce);
        if let BatchTx::Transfer { to: Recipient::New(address), .. } = tx {
            self.create(*address);
        }
    }
}

impl Accounts for Speculative<'_> {
    fn address(&self, index: AccountIndex) -> Option<Address> {
        self.ledger.address(index).or_else(|| {
            let offset = u64::from(index).checked_sub(self.ledger.account_count())?;
            self.created.get(usize::try_from(offset).ok()?).copied()
        })
    }

    fn index_of(&self, address: &Address) -> Option<AccountIndex> {
        self.ledger.index_of(address).or_else(|| self.created_index.get(address).copied())
    }

    fn nonce(&self, index: AccountIndex) -> u64 {
        self.nonces.get(&index).copied().unwrap_or_else(|| self.ledger.nonce(index))
    }

    fn account_count(&self) -> u64 {
        self.ledger.account_count() + self.created.len() as u64
    }
}

/// Rebuilds the transaction a user signed from its packed form.
pub(crate) fn rebuild(accounts: &impl Accounts, tx: &BatchTx) -> Result<Tx, InvalidTx> {
    let (BatchTx::Transfer { from, token, amount, fee, .. }
    | BatchTx::Withdrawal { from, token, amount, fee, .. }) = tx;
    let sender = accounts
        .address(*from)
        .ok_or(InvalidTx::UnknownSender { index: *from, accounts: accounts.account_count() })?;
    let nonce = accounts.nonce(*from);
    let (token, amount, fee) = (u32::from(*token), *amount, *fee);
    Ok(match tx {
        BatchTx::Transfer { to, .. } => {
            let to = match *to {
                Recipient::Index(index) => {
                    accounts.address(index).ok_or(InvalidTx::UnknownRecipient {
                        index,
                        accounts: accounts.account_count(),
                    })?
                }
                Recipient::New(address) => {
                    if let Some(index) = accounts.index_of(&address) {
                        return Err(InvalidTx::RecipientExists { address, index });
                    }
                    address
                }
            };
            Tx::Transfer(Transfer { from: sender, to, token, amount, fee, nonce })
        }
        BatchTx::Withdrawal { to, .. } => {
            Tx::Withdrawal(Withdrawal { from: sender, to: *to, token, amount, fee, nonce })
        }
    })
}

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
    client: DynL1Client,
    config: RollupConfig,
    reader: L1Reader,
    follower: BlockFollower,
    confirmations: u64,
    start_block: u64,
    poll: Duration,
    /// A range taken from the follower whose reading failed, to read again.
    pending: Option<RangeInclusive<u64>>,
    core: Arc<Mutex<Derivation>>,
    events: broadcast::Sender<DerivationEvent>,
    status: watch::Sender<DerivationStatus>,
}

impl DerivationNode {
    /// A node for the rollup of `config`, deriving from L1 blocks with `confirmations` blocks
    /// on top, from L1 block 0, polling every second: see
    /// [`with_start_block`](Self::with_start_block) and
    /// [`with_poll_interval`](Self::with_poll_interval).
    pub fn new(client: DynL1Client, config: RollupConfig, confirmations: u64) -> Result<Self> {
        let core = Derivation::from_config(&config)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(Self {
            reader: L1Reader::from_config(client.clone(), &config),
            follower: BlockFollower::new(client.clone(), confirmations, 0),
            client,
            config,
            confirmations,
            start_block: 0,
            poll: Duration::from_secs(1),
            pending: None,
            core: Arc::new(Mutex::new(core)),
            events,
            status: watch::Sender::new(DerivationStatus::default()),
        })
    }

    /// Starts reading at L1 block `block`: the block that deployed the contracts, or any block
    /// before it. Starting after it misses deposits and batches, and derivation then stops
    /// with an error.
    pub fn with_start_block(mut self, block: u64) -> Self {
        self.start_block = block;
        self.follower = BlockFollower::new(self.client.clone(), self.confirmations, block);
        self
    }

    /// Polls the L1 for new blocks every `poll` (in [`run`](Self::run)).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DerivationEvent> {
        self.events.subscribe()
    }

    /// The node's status, updated after each L1 range.
    pub fn status(&self) -> watch::Receiver<DerivationStatus> {
        self.status.subscribe()
    }

    /// The derivation core, shared: for reading the derived state. Hold the lock briefly; the
    /// node takes it for each range it derives.
    pub fn derivation(&self) -> Arc<Mutex<Derivation>> {
        self.core.clone()
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
        let range = match self.pending.take() {
            Some(range) => range,
            None => match self.follower.next_range().await {
                Ok(Some(range)) => range,
                Ok(None) => return Ok(false),
                Err(ply_l1::Error::Reorg { resume_from, .. }) => {
                    self.restart(resume_from)?;
                    return Ok(true);
                }
                Err(e) => return Err(e.into()),
            },
        };
        // Read everything first: a read that fails leaves the derivation untouched, and the
        // range is read again.
        self.pending = Some(range.clone());
        let deposits = self.reader.deposits_in(range.clone()).await?;
        let batches = self.reader.batches_in(range.clone()).await?;
        let outputs = self.reader.outputs_in(range.clone()).await?;
        self.pending = None;

        // Outputs come after the batches they are for (the contract refuses others), so
        // deriving every batch of the range before checking its outputs keeps L1 order.
        let core = self.core.clone();
        let (events, status) = tokio::task::spawn_blocking(move || {
            let mut core = lock(&core);
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
        Ok(true)
    }

    /// Runs until an unrecoverable error, which it returns (after publishing
    /// [`DerivationEvent::Halted`]). Errors reading the L1 are logged and retried. Stop the
    /// node by aborting its task.
    pub async fn run(mut self) -> Result<()> {
        loop {
            match self.step().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.poll).await,
                Err(Error::L1(e)) => {
                    tracing::warn!(error = %e, "derivation: reading the L1 failed; retrying");
                    tokio::time::sleep(self.poll).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "derivation stopped");
                    self.publish(DerivationEvent::Halted { reason: e.to_string() });
                    return Err(e);
                }
            }
        }
    }

    /// Starts again from genesis and the start block, after a reorg.
    fn restart(&mut self, resume_from: u64) -> Result<()> {
        tracing::warn!(resume_from, "derivation: L1 reorg; deriving again from the start block");
        let fresh = Derivation::from_config(&self.config)?;
        {
            let mut core = lock(&self.core);
            let threads = core.verify_threads;
            *core = fresh.with_verify_threads(threads);
        }
        self.follower =
            BlockFollower::new(self.client.clone(), self.confirmations, self.start_block);
        self.pending = None;
        self.status.send_replace(DerivationStatus::default());
        self.publish(DerivationEvent::Reorg { resume_from });
        Ok(())
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        batch::{Batch, BatchBlock},
        l1::testing::TestL1,
    };
    use alloy::{primitives::U256, signers::local::PrivateKeySigner};
    use ply_core::dev::dev_signer;

    const ETH: u128 = 1_000_000_000_000_000_000;
    const FEE: u64 = 1_000;

    fn domain() -> SigningDomain {
        SigningDomain::new(901, Address::repeat_byte(0x42))
    }

    fn ledger_config() -> LedgerConfig {
        LedgerConfig::new(dev_signer(0).unwrap().address())
    }

    fn key(i: usize) -> PrivateKeySigner {
        dev_signer(i).unwrap()
    }

    fn eth(n: u128) -> U256 {
        U256::from(n * ETH)
    }

    fn deposit(queue_index: u64, to: Address, amount: U256) -> Deposit {
        Deposit { queue_index, to, token: 0, amount, ..Default::default() }
    }

    /// A derivation and a reference ledger that applies the same things directly.
    struct Harness {
        derivation: Derivation,
        reference: Ledger<KeccakHasher>,
        l1_deposits: u64,
    }

    impl Harness {
        fn new() -> Self {
            Self {
                derivation: Derivation::new(ledger_config(), domain()).unwrap(),
                reference: Ledger::new(ledger_config()).unwrap(),
                l1_deposits: 0,
            }
        }

        /// Queues deposits on "L1" (the derivation learns them; the reference does not apply
        /// them yet).
        fn queue(&mut self, deposits: &[(Address, U256)]) -> Vec<Deposit> {
            let deposits: Vec<_> = deposits
                .iter()
                .map(|(to, amount)| {
                    self.l1_deposits += 1;
                    deposit(self.l1_deposits - 1, *to, *amount)
                })
                .collect();
            self.derivation.add_deposits(deposits.clone()).unwrap();
            deposits
        }

        fn l1_batch(&self, data: Vec<u8>, deposits: u64) -> L1Batch {
            let prev = self.derivation.ledger().queue_index();
            L1Batch {
                index: self.derivation.next_batch(),
                prev_deposit_count: prev,
                new_deposit_count: prev + deposits,
                data: data.into(),
                l1_block: 7,
                l1_tx: B256::repeat_byte(7),
            }
        }

        fn apply(&mut self, batch: &Batch) -> BatchReport {
            let l1_batch = self.l1_batch(batch::encode(batch).unwrap(), batch.deposits());
            self.derivation.apply_batch(&l1_batch).unwrap()
        }
    }

    /// A transfer signed by `signer` for the sender at index `from`, with the given nonce.
    fn transfer(
        signer: &PrivateKeySigner,
        sender: Address,
        from: u32,
        to: Recipient,
        to_address: Address,
        amount: U256,
        nonce: u64,
    ) -> (BatchTx, Tx) {
        let tx = Tx::Transfer(Transfer {
            from: sender,
            to: to_address,
            token: 0,
            amount,
            fee: U256::from(FEE),
            nonce,
        });
        let signed = tx.clone().sign(signer, &domain()).unwrap();
        let packed = BatchTx::Transfer {
            token: 0,
            from,
            to,
            amount,
            fee: U256::from(FEE),
            signature: signed.compact_signature().unwrap(),
        };
        (packed, tx)
    }

    fn withdrawal(
        signer: &PrivateKeySigner,
        from: u32,
        to: Address,
        amount: U256,
        nonce: u64,
    ) -> (BatchTx, Tx) {
        let tx = Tx::Withdrawal(Withdrawal {
            from: signer.address(),
            to,
            token: 0,
            amount,
            fee: U256::from(FEE),
            nonce,
        });
        let signed = tx.clone().sign(signer, &domain()).unwrap();
        let packed = BatchTx::Withdrawal {
            token: 0,
            from,
            to,
            amount,
            fee: U256::from(FEE),
            signature: signed.compact_signature().unwrap(),
        };
        (packed, tx)
    }

    fn apply_reference(ledger: &mut Ledger<KeccakHasher>, tx: Tx) {
        ledger.apply(&VerifiedTx::assume_verified(tx)).unwrap();
    }

    /// The report's output is the reference ledger's (the reference does not track block
    /// timestamps: the commitment's `lastTimestamp` is the derivation's own).
    fn assert_same_output(report: &BatchReport, reference: &mut Ledger<KeccakHasher>) {
        let mut state = reference.commitment();
        state.lastTimestamp = report.state.lastTimestamp;
        assert_eq!(report.state, state);
        let mut expected = reference.finish_batch();
        expected.state_root = state.hash();
        assert_eq!(report.output, expected);
    }

    #[test]
    fn a_well_formed_batch_reproduces_the_expected_output() {
        let mut h = Harness::new();
        let (alice, bob, carol) = (key(1), key(2), key(3));
        let deposits = h.queue(&[(alice.address(), eth(10)), (bob.address(), eth(5))]);

        // Block 0: both deposits (alice = 1, bob = 2), alice pays bob.
        let (t0, r0) =
            transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(3), 0);
        // Block 1: bob pays carol, who is new (3); alice withdraws; carol pays alice back.
        let (t1, r1) = transfer(
            &bob,
            bob.address(),
            2,
            Recipient::New(carol.address()),
            carol.address(),
            eth(1),
            0,
        );
        let (t2, r2) = withdrawal(&alice, 1, Address::repeat_byte(0xee), eth(2), 1);
        let (t3, r3) = transfer(
            &carol,
            carol.address(),
            3,
            Recipient::Index(1),
            alice.address(),
            U256::from(500_000u64),
            0,
        );
        let batch = Batch {
            blocks: vec![
                BatchBlock { timestamp: 100, deposits: 2, txs: vec![t0] },
                BatchBlock { timestamp: 100, deposits: 0, txs: vec![t1, t2, t3] },
            ],
        };
        let report = h.apply(&batch);

        for d in &deposits {
            h.reference.apply_deposit(d).unwrap();
        }
        for tx in [r0, r1, r2, r3] {
            apply_reference(&mut h.reference, tx);
        }
        assert_same_output(&report, &mut h.reference);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.applied_txs, 4);
        assert_eq!(report.deposits, 0..2);
        assert_eq!(report.output.withdrawals.len(), 1);
        assert_eq!(h.derivation.previous_timestamp(), 100);
        assert_eq!(h.derivation.next_batch(), 1);
        assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 2);
        let roots = report.roots();
        assert_eq!(
            h.derivation.check_output(0, roots.state_root, roots.withdrawal_root),
            Some(OutputCheck::Agrees)
        );

        // A second batch goes on from there: deposits and nonces carry over.
        let more = h.queue(&[(carol.address(), eth(1))]);
        let (t4, r4) =
            transfer(&alice, alice.address(), 1, Recipient::Index(3), carol.address(), eth(1), 2);
        let report = h.apply(&Batch {
            blocks: vec![BatchBlock { timestamp: 101, deposits: 1, txs: vec![t4] }],
        });
        h.reference.apply_deposit(&more[0]).unwrap();
        apply_reference(&mut h.reference, r4);
        assert_same_output(&report, &mut h.reference);
        assert_eq!(report.output.batch_index, 1);
        assert_eq!(report.deposits, 2..3);
    }

    #[test]
    fn a_malformed_batch_applies_its_well_formed_prefix() {
        let (alice, bob) = (key(1), key(2));
        // A transaction that applies when the batch around it is intact.
        let (good_tx, _) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(bob.address()),
            bob.address(),
            eth(1),
            0,
        );

        type Case = (&'static str, fn(Vec<u8>) -> Vec<u8>, fn(&BatchError) -> bool);
        let cases: [Case; 3] = [
            (
                "truncated",
                |mut d| {
                    d.pop();
                    d
                },
                |e| matches!(e, BatchError::Truncated { .. }),
            ),
            (
                "bad version",
                |mut d| {
                    d[0] = 2;
                    d
                },
                |e| matches!(e, BatchError::UnknownVersion(2)),
            ),
            ("unchanged", |d| d, |_| false),
        ];
        for (name, mangle, expected) in cases {
            let mut h = Harness::new();
            let deposits = h.queue(&[(alice.address(), eth(10))]);
            let batch = Batch {
                blocks: vec![BatchBlock { timestamp: 1, deposits: 1, txs: vec![good_tx.clone()] }],
            };
            let data = mangle(batch::encode(&batch).unwrap());
            let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
            h.reference.apply_deposit(&deposits[0]).unwrap();
            if name == "unchanged" {
                assert!(report.is_clean(), "the unmangled batch is fine");
                continue;
            }
            assert!(report.malformed.as_ref().is_some_and(expected), "{name}: {report:?}");
            assert_eq!(report.applied_txs, 0, "{name}");
            assert!(report.skipped_txs.is_empty(), "{name}: nothing after the error is read");
            assert_same_output(&report, &mut h.reference);
            assert_eq!(h.derivation.ledger().balance(&alice.address(), 0), eth(10), "{name}");
            assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 0, "{name}");
            // The truncated batch's block header was read (its deposit applied in it); a bad
            // version reads nothing (its deposit is drained).
            let read = if name == "truncated" { 1 } else { 0 };
            assert_eq!(h.derivation.previous_timestamp(), read, "{name}");
        }
    }

    #[test]
    fn the_transactions_before_a_malformation_stay_applied() {
        let (alice, bob) = (key(1), key(2));
        let (first, r_first) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(bob.address()),
            bob.address(),
            eth(1),
            0,
        );
        let (second, _) =
            transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 1);
        let mut h = Harness::new();
        let deposits = h.queue(&[(alice.address(), eth(10))]);
        let batch = Batch {
            blocks: vec![BatchBlock { timestamp: 3, deposits: 1, txs: vec![first, second] }],
        };
        let mut data = batch::encode(&batch).unwrap();
        data.truncate(data.len() - 10);
        let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
        assert!(matches!(report.malformed, Some(BatchError::Truncated { .. })), "{report:?}");
        assert_eq!(report.applied_txs, 1);
        h.reference.apply_deposit(&deposits[0]).unwrap();
        apply_reference(&mut h.reference, r_first);
        assert_same_output(&report, &mut h.reference);

        // Bytes after the last block are ignored, not malformed.
        let mut h = Harness::new();
        h.queue(&[(alice.address(), eth(10))]);
        let mut data = batch::encode(&Batch {
            blocks: vec![BatchBlock { timestamp: 3, deposits: 1, txs: vec![] }],
        })
        .unwrap();
        data.extend_from_slice(&[0xde, 0xad]);
        let report = h.derivation.apply_batch(&h.l1_batch(data, 1)).unwrap();
        assert_eq!((report.malformed.clone(), report.ignored_bytes), (None, 2));
    }

    #[test]
    fn consumed_operations_the_blocks_do_not_apply_are_drained() {
        let mut h = Harness::new();
        let alice = key(1);
        let deposits = h.queue(&[(alice.address(), eth(1)), (alice.address(), eth(2))]);
        // The blocks apply one deposit, the L1 call consumed two.
        let batch = Batch { blocks: vec![BatchBlock { timestamp: 5, deposits: 1, txs: vec![] }] };
        let report =
            h.derivation.apply_batch(&h.l1_batch(batch::encode(&batch).unwrap(), 2)).unwrap();
        assert_eq!(report.malformed, None);
        // Both deposits apply: the second in the drain.
        for d in &deposits {
            h.reference.apply_deposit(d).unwrap();
        }
        assert_same_output(&report, &mut h.reference);
        assert_eq!(h.derivation.ledger().balance(&alice.address(), 0), eth(3));
    }

    #[test]
    fn a_timestamp_going_backwards_is_malformed() {
        let mut h = Harness::new();
        let (alice, bob) = (key(1), key(2));
        let deposits = h.queue(&[(alice.address(), eth(10))]);
        h.reference.apply_deposit(&deposits[0]).unwrap();
        let report = h
            .apply(&Batch { blocks: vec![BatchBlock { timestamp: 50, deposits: 1, txs: vec![] }] });
        assert_same_output(&report, &mut h.reference);

        // Within a batch.
        let (tx, _) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(bob.address()),
            bob.address(),
            eth(1),
            0,
        );
        let report = h.apply(&Batch {
            blocks: vec![
                BatchBlock { timestamp: 60, deposits: 0, txs: vec![] },
                BatchBlock { timestamp: 59, deposits: 0, txs: vec![tx.clone()] },
            ],
        });
        assert_eq!(
            report.malformed,
            Some(BatchError::TimestampDecreases { block: 1, timestamp: 59, previous: 60 })
        );
        assert_same_output(&report, &mut h.reference);

        // Against the last block header of an earlier batch: 50, since the step that found
        // the malformation undid the empty block (60) it had read before (as L1's executor
        // does).
        let report = h.apply(&Batch {
            blocks: vec![BatchBlock { timestamp: 49, deposits: 0, txs: vec![tx.clone()] }],
        });
        assert_eq!(
            report.malformed,
            Some(BatchError::TimestampDecreases { block: 0, timestamp: 49, previous: 50 })
        );
        assert_same_output(&report, &mut h.reference);
        // A block claiming more operations than the batch has left is malformed too.
        let claims_one = Batch {
            blocks: vec![BatchBlock { timestamp: 61, deposits: 1, txs: vec![tx.clone()] }],
        };
        let report =
            h.derivation.apply_batch(&h.l1_batch(batch::encode(&claims_one).unwrap(), 0)).unwrap();
        assert_eq!(
            report.malformed,
            Some(BatchError::TooManyOps { block: 0, claimed: 1, left: 0 })
        );
        let report = h.apply(&Batch {
            blocks: vec![BatchBlock { timestamp: 60, deposits: 0, txs: vec![tx] }],
        });
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(h.derivation.ledger().next_nonce(&alice.address()), 1);
    }

    #[test]
    fn invalid_transactions_are_skipped_and_the_rest_applies() {
        let mut h = Harness::new();
        let (alice, bob, carol, dave) = (key(1), key(2), key(3), key(4));
        let deposits = h.queue(&[(alice.address(), eth(10)), (bob.address(), eth(1))]);
        for d in &deposits {
            h.reference.apply_deposit(d).unwrap();
        }

        let (valid, r_valid) =
            transfer(&alice, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 0);
        let mut bad_signature = valid.clone();
        if let BatchTx::Transfer { signature, .. } = &mut bad_signature {
            *signature = [0xff; 64];
        }
        let (wrong_signer, _) =
            transfer(&carol, alice.address(), 1, Recipient::Index(2), bob.address(), eth(1), 1);
        let replay = valid.clone();
        let (too_much, _) =
            transfer(&bob, bob.address(), 2, Recipient::Index(1), alice.address(), eth(100), 0);
        let (new_but_exists, _) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(bob.address()),
            bob.address(),
            eth(1),
            1,
        );
        let (unknown_sender, _) =
            transfer(&dave, dave.address(), 9, Recipient::Index(1), alice.address(), eth(1), 0);
        let (unknown_recipient, _) =
            transfer(&alice, alice.address(), 1, Recipient::Index(9), dave.address(), eth(1), 1);
        let (valid_after, r_valid_after) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(carol.address()),
            carol.address(),
            eth(2),
            1,
        );

        let batch = Batch {
            blocks: vec![
                BatchBlock { timestamp: 1, deposits: 2, txs: vec![valid, bad_signature] },
                BatchBlock {
                    timestamp: 2,
                    deposits: 0,
                    txs: vec![
                        wrong_signer,
                        replay,
                        too_much,
                        new_but_exists,
                        unknown_sender,
                        unknown_recipient,
                        valid_after,
                    ],
                },
            ],
        };
        let report = h.apply(&batch);
        apply_reference(&mut h.reference, r_valid);
        apply_reference(&mut h.reference, r_valid_after);
        assert_same_output(&report, &mut h.reference);
        assert_eq!(report.applied_txs, 2);
        assert!(report.malformed.is_none());

        let skipped: Vec<_> = report.skipped_txs.iter().map(|s| (s.block, s.index)).collect();
        assert_eq!(skipped, vec![(0, 1), (1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5)]);
        let reasons: Vec<_> = report.skipped_txs.iter().map(|s| &s.reason).collect();
        assert!(
            matches!(reasons[0], InvalidTx::Ledger(LedgerError::BadSignature { .. })),
            "{:?}",
            reasons[0]
        );
        assert!(
            matches!(reasons[1], InvalidTx::Ledger(LedgerError::SignerMismatch { signer, from })
                if *signer == carol.address() && *from == alice.address()),
            "{:?}",
            reasons[1]
        );
        // A replay is signed over the old nonce, so it recovers to another key.
        assert!(
            matches!(reasons[2], InvalidTx::Ledger(LedgerError::SignerMismatch { .. })),
            "{:?}",
            reasons[2]
        );
        assert!(
            matches!(reasons[3], InvalidTx::Ledger(LedgerError::InsufficientBalance { .. })),
            "{:?}",
            reasons[3]
        );
        assert_eq!(*reasons[4], InvalidTx::RecipientExists { address: bob.address(), index: 2 });
        assert_eq!(*reasons[5], InvalidTx::UnknownSender { index: 9, accounts: 3 });
        assert_eq!(*reasons[6], InvalidTx::UnknownRecipient { index: 9, accounts: 3 });
        assert_eq!(report.first_skipped_tx(), Some((0, 1)));
        assert_eq!(h.derivation.ledger().index_of(&carol.address()), Some(3));
    }

    #[test]
    fn a_refused_deposit_is_skipped() {
        let mut h = Harness::new();
        let alice = key(1);
        // Token 300 does not fit a balance tree of depth 8.
        let refused = Deposit {
            queue_index: 0,
            to: alice.address(),
            token: 300,
            amount: eth(1),
            ..Default::default()
        };
        let fine = deposit(1, alice.address(), eth(1));
        h.derivation.add_deposits([refused.clone(), fine.clone()]).unwrap();
        h.l1_deposits = 2;
        let report =
            h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 1, deposits: 2, txs: vec![] }] });
        assert_eq!(report.skipped_deposits.len(), 1);
        assert_eq!(report.skipped_deposits[0].queue_index, 0);
        assert!(matches!(report.skipped_deposits[0].reason, LedgerError::TokenOutOfRange { .. }));
        assert!(!report.is_clean());
        h.reference.skip_deposit(&refused).unwrap();
        h.reference.apply_deposit(&fine).unwrap();
        assert_same_output(&report, &mut h.reference);
    }

    #[test]
    fn an_output_mismatch_names_the_batch() {
        let mut h = Harness::new();
        let (alice, bob) = (key(1), key(2));
        h.queue(&[(alice.address(), eth(10))]);
        let first =
            h.apply(&Batch { blocks: vec![BatchBlock { timestamp: 1, deposits: 1, txs: vec![] }] });
        let (valid, _) = transfer(
            &alice,
            alice.address(),
            1,
            Recipient::New(bob.address()),
            bob.address(),
            eth(1),
            0,
        );
        let (broke, _) =
            transfer(&bob, bob.address(), 2, Recipient::Index(1), alice.address(), eth(5), 0);
        let second = h.apply(&Batch {
            blocks: vec![BatchBlock { timestamp: 2, deposits: 0, txs: vec![valid, broke] }],
        });

        let roots = first.roots();
        assert_eq!(
            h.derivation.check_output(0, roots.state_root, roots.withdrawal_root),
            Some(OutputCheck::Agrees)
        );
        let wrong_state = B256::repeat_byte(0xba);
        assert_eq!(
            h.derivation.check_output(0, wrong_state, roots.withdrawal_root),
            Some(OutputCheck::Mismatch {
                batch: 0,
                expected: roots,
                proposed: OutputRoots {
                    state_root: wrong_state,
                    withdrawal_root: roots.withdrawal_root
                },
                first_bad_tx: None,
            })
        );
        // The wrong withdrawal root alone is a mismatch too; batch 1 points at its skipped tx.
        let roots = second.roots();
        let wrong = B256::repeat_byte(0xbb);
        assert_eq!(
            h.derivation.check_output(1, roots.state_root, wrong),
            Some(OutputCheck::Mismatch {
                batch: 1,
                expected: roots,
                proposed: OutputRoots { state_root: roots.state_root, withdrawal_root: wrong },
                first_bad_tx: Some((0, 1)),
            })
        );
        assert_eq!(h.derivation.check_output(2, roots.state_root, wrong), None, "not derived");
        h.derivation.forget_before(1);
        assert!(h.derivation.report(0).is_none());
        assert_eq!(h.derivation.output(1), Some(&second.output));
    }

    #[test]
    fn batches_and_deposits_must_follow_on() {
        let mut h = Harness::new();
        let alice = key(1);
        h.queue(&[(alice.address(), eth(1))]);
        let empty = batch::encode(&Batch::default()).unwrap();

        let mut out_of_order = h.l1_batch(empty.clone(), 0);
        out_of_order.index = 1;
        assert!(matches!(h.derivation.apply_batch(&out_of_order), Err(Error::Invalid(_))));
        let unknown_deposits = h.l1_batch(empty.clone(), 2);
        assert!(matches!(h.derivation.apply_batch(&unknown_deposits), Err(Error::Invalid(_))));
        let mut wrong_start = h.l1_batch(empty.clone(), 0);
        wrong_start.prev_deposit_count = 1;
        wrong_start.new_deposit_count = 1;
        assert!(matches!(h.derivation.apply_batch(&wrong_start), Err(Error::Invalid(_))));
        assert_eq!(h.derivation.next_batch(), 0, "refusals change nothing");

        // Deposits: a gap is refused, a repeat is ignored, a changed repeat is refused.
        let gap = deposit(5, alice.address(), eth(1));
        assert!(h.derivation.add_deposits([gap]).is_err());
        h.derivation.add_deposits([deposit(0, alice.address(), eth(1))]).unwrap();
        assert_eq!(h.derivation.known_deposits(), 1);
        assert!(h.derivation.add_deposits([deposit(0, alice.address(), eth(2))]).is_err());
    }

    #[test]
    fn parallel_checks_agree_with_sequential_ones() {
        // Enough transactions for several threads, with skipped ones in the middle that make
        // the speculative rebuild wrong for the transactions after them.
        let signers: Vec<_> = (1..9).map(key).collect();
        let mut h = Harness::new();
        let funds: Vec<_> = signers.iter().map(|s| (s.address(), eth(1_000))).collect();
        h.queue(&funds);
        let mut nonces = vec![0u64; signers.len()];
        let mut txs = Vec::new();
        for i in 0..400 {
            let s = i % signers.len();
            let to = (s + 1) % signers.len();
            let signer = &signers[s];
            let (from, to_index) = (s as u32 + 1, to as u32 + 1);
            if i % 97 == 13 {
                // Too much: skipped. The sender's later transactions are signed with the nonce
                // it really has, so the prediction (which assumed this one applied) misses.
                let (tx, _) = transfer(
                    signer,
                    signer.address(),
                    from,
                    Recipient::Index(to_index),
                    signers[to].address(),
                    eth(100_000),
                    nonces[s],
                );
                txs.push(tx);
                continue;
            }
            let (tx, _) = transfer(
                signer,
                signer.address(),
                from,
                Recipient::Index(to_index),
                signers[to].address(),
                eth(1),
                nonces[s],
            );
            nonces[s] += 1;
            txs.push(tx);
        }
        let batch = Batch {
            blocks: vec![
                BatchBlock {
                    timestamp: 1,
                    deposits: signers.len() as u16,
                    txs: txs[..200].to_vec(),
                },
                BatchBlock { timestamp: 2, deposits: 0, txs: txs[200..].to_vec() },
            ],
        };
        let data = batch::encode(&batch).unwrap();

        let mut sequential = h.derivation.clone().with_verify_threads(1);
        let mut parallel = h.derivation.clone().with_verify_threads(4);
        let l1_batch = h.l1_batch(data, signers.len() as u64);
        let a = sequential.apply_batch(&l1_batch).unwrap();
        let b = parallel.apply_batch(&l1_batch).unwrap();
        assert_eq!(a, b);
        // i = 13, 110, 207, 304 are skipped; every later transaction of their senders applies,
        // although its prediction was wrong.
        assert_eq!(a.skipped_txs.len(), 4, "{:?}", a.skipped_txs);
        assert_eq!(a.applied_txs, 396);
        assert_eq!(nonces.iter().sum::<u64>(), 396);
    }

    /// Drives a node until it has nothing left to read; returns the events it published.
    async fn drain(
        node: &mut DerivationNode,
        events: &mut broadcast::Receiver<DerivationEvent>,
    ) -> Vec<DerivationEvent> {
        while node.step().await.unwrap() {}
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    fn signed_transfer(
        domain: &SigningDomain,
        signer: &PrivateKeySigner,
        tx: Transfer,
        from: u32,
        to: Recipient,
    ) -> (BatchTx, Tx) {
        let packed = BatchTx::Transfer {
            token: 0,
            from,
            to,
            amount: tx.amount,
            fee: tx.fee,
            signature: tx.clone().sign(signer, domain).unwrap().compact_signature().unwrap(),
        };
        (packed, Tx::Transfer(tx))
    }

    #[tokio::test]
    async fn the_node_derives_from_l1_and_flags_a_wrong_output() {
        let l1 = TestL1::new().await;
        let domain = l1.config.domain();
        let mut node = DerivationNode::new(l1.client.clone(), l1.config.clone(), 0).unwrap();
        let mut events = node.subscribe();
        let status = node.status();
        let (alice, bob) = (key(5), key(6));

        l1.deposit_eth(alice.address(), eth(2)).await;
        let transfer = Transfer {
            from: alice.address(),
            to: bob.address(),
            token: 0,
            amount: eth(1),
            fee: U256::from(FEE),
            nonce: 0,
        };
        let (tx, reference_tx) =
            signed_transfer(&domain, &alice, transfer, 1, Recipient::New(bob.address()));
        let batch =
            Batch { blocks: vec![BatchBlock { timestamp: 10, deposits: 1, txs: vec![tx] }] };
        let mut reference = Ledger::<KeccakHasher>::new(l1.config.ledger.clone()).unwrap();
        reference.apply_deposit(&deposit(0, alice.address(), eth(2))).unwrap();
        apply_reference(&mut reference, reference_tx);
        reference.begin_block(10).unwrap();
        let state = reference.commitment().hash();
        let mut expected = reference.finish_batch();
        expected.state_root = state;

        let appended = l1.append_batch(1, batch::encode(&batch).unwrap()).await;
        l1.propose(0, expected.state_root, expected.withdrawal_root).await;
        // Batch 1 is garbage, and its proposed output claims a made-up state.
        l1.append_batch(1, vec![1, 0xde, 0xad]).await;
        let made_up = OutputRoots { state_root: B256::repeat_byte(1), withdrawal_root: B256::ZERO };
        let bad = l1.propose(1, made_up.state_root, made_up.withdrawal_root).await;

        let events = drain(&mut node, &mut events).await;
        let state = reference.commitment().hash();
        let mut malformed_output = reference.finish_batch();
        malformed_output.state_root = state;
        assert_eq!(
            events,
            vec![
                DerivationEvent::BatchDerived {
                    index: 0,
                    l1_block: appended.block_number.unwrap(),
                    output: expected.clone(),
                },
                DerivationEvent::BatchMalformed {
                    index: 1,
                    reason: BatchError::Truncated { at: 1, needed: 2, what: "the block count" },
                },
                DerivationEvent::BatchDerived {
                    index: 1,
                    l1_block: bad.block_number.unwrap() - 1,
                    output: malformed_output.clone(),
                },
                DerivationEvent::OutputAgrees { index: 0 },
                DerivationEvent::OutputMismatch {
                    batch: 1,
                    expected: OutputRoots {
                        state_root: malformed_output.state_root,
                        withdrawal_root: malformed_output.withdrawal_root,
                    },
                    proposed: made_up,
                    first_bad_tx: None,
                    proposer: l1.proposer.address(),
                    l1_tx: bad.transaction_hash,
                },
            ]
        );
        let status = status.borrow().clone();
        assert_eq!(status.batches, 2);
        assert_eq!(status.state_root, malformed_output.state_root);
        assert_eq!(status.l1_block, Some(l1.head().await));
        assert_eq!((status.outputs_agreed, status.outputs_mismatched), (1, 1));
        assert_eq!(status.malformed_batches, 1);
        let derivation = node.derivation();
        assert_eq!(derivation.lock().unwrap().ledger().balance(&bob.address(), 0), eth(1));
    }

    #[tokio::test]
    async fn a_reorg_makes_the_node_derive_again() {
        let l1 = TestL1::new().await;
        let mut node = DerivationNode::new(l1.client.clone(), l1.config.clone(), 0).unwrap();
        let mut events = node.subscribe();
        let alice = key(5);
        let empty = |timestamp, deposits| {
            batch::encode(&Batch { blocks: vec![BatchBlock { timestamp, deposits, txs: vec![] }] })
                .unwrap()
        };

        l1.deposit_eth(alice.address(), eth(1)).await;
        l1.append_batch(1, empty(10, 1)).await;
        drain(&mut node, &mut events).await;
        let snapshot = l1.client.snapshot().await.unwrap();
        l1.deposit_eth(alice.address(), eth(1)).await;
        l1.append_batch(2, empty(11, 1)).await;
        let before = drain(&mut node, &mut events).await;
        assert!(matches!(before.last(), Some(DerivationEvent::BatchDerived { index: 1, .. })));
        assert_eq!(node.derivation().lock().unwrap().ledger().balance(&alice.address(), 0), eth(2));

        // The L1 drops batch 1 and its deposit; another batch 1 takes its place.
        assert!(l1.client.revert(snapshot).await.unwrap());
        l1.sequencer.resync_nonce().await;
        l1.depositor.resync_nonce().await;
        l1.append_batch(1, empty(12, 0)).await;
        let after = drain(&mut node, &mut events).await;
        assert!(matches!(after.first(), Some(DerivationEvent::Reorg { .. })), "{after:?}");
        let derived: Vec<_> = after
            .iter()
            .filter_map(|e| match e {
                DerivationEvent::BatchDerived { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        assert_eq!(derived, vec![0, 1]);
        let core = node.derivation();
        let core = core.lock().unwrap();
        assert_eq!(core.ledger().balance(&alice.address(), 0), eth(1));
        assert_eq!(core.previous_timestamp(), 12);
        assert_eq!(node.status().borrow().batches, 2);
    }
}
