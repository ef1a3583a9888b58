//! The rollup's L1-facing services around the sequencer: the batcher (packs sealed L2 blocks
//! into batches and appends them to the Rollup contract), the proposer (posts each batch's
//! output with its bond), the finalizer (marks outputs final once their challenge window has
//! passed) and the deposit watcher (hands confirmed L1 deposits to the sequencer). Also the
//! deployment of the rollup's contracts.
//!
//! Each runs on `ply-node`'s pipeline: the batcher is the rollup's [`Settlement`] on the
//! settlement loop (one restart reconciliation), the deposit watcher the node's [`Intake`]
//! (confirmation depth, reorgs), both under the node's supervision, on the node's clock.

use crate::{
    Error, Result,
    batch::{self, Batch, BatchBlock, BatchTx},
    config::{BatchLimits, RollupConfig},
    sequencer::{L2Block, PostedBatch, Sequencer},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolConstructor, SolEvent},
};
use ply_contracts::{Bridge, Rollup};
use ply_l1::client::{BlockFollower, DynL1Client, TxSender};
use ply_ledger::{Deposit, WithdrawalRecord, WithdrawalTree};
use ply_node::{
    Backoff, BatchAge, Classify, ErrorKind, Intake, IntakeEvent, QueueReader, Settlement,
    run_settlement,
};
pub use ply_node::{DynClock, ManualClock, SystemClock};
use std::{sync::Arc, time::Duration};

/// The rollup's contracts on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RollupContracts {
    /// The bridge: deposit queue, token registry, withdrawal claims.
    pub bridge: Address,
    /// The rollup: batches, outputs and dispute games.
    pub rollup: Address,
    /// The one-step proof's executor.
    pub executor: Address,
}

/// Parameters of a rollup deployment (`docs/rollup.md`, "The dispute game" for the defaults).
#[derive(Debug, Clone)]
pub struct DeployParams {
    /// Who appends batches (anyone may, once it has been silent for `sequencer_timeout`).
    pub sequencer: Address,
    /// Who lists ERC-20 tokens on the bridge.
    pub token_governor: Address,
    /// Bond of an output proposal, in wei.
    pub proposer_bond: U256,
    /// Bond of a challenge, in wei.
    pub challenger_bond: U256,
    /// Seconds during which an output may be challenged.
    pub challenge_window: u64,
    /// Each side's total thinking time in a dispute game, in seconds.
    pub clock_duration: u64,
    /// Seconds within which a queued operation must be included.
    pub inclusion_deadline: u64,
    /// Seconds without a batch after which anyone may append batches.
    pub sequencer_timeout: u64,
    /// The L2 chain id.
    pub l2_chain_id: u64,
    /// The L2 ledger's shape: its genesis is the state commitment before batch 0, and its
    /// depths are the one-step proof's.
    pub ledger: ply_ledger::LedgerConfig,
}

impl DeployParams {
    /// The devnet's parameters (`docs/rollup.md`): a 30 s window, a 10 s clock a side,
    /// 0.1 ETH / 0.05 ETH bonds, a 60 s inclusion deadline and a 120 s sequencer timeout.
    pub fn devnet(sequencer: Address, ledger: ply_ledger::LedgerConfig, l2_chain_id: u64) -> Self {
        let milli = U256::from(1_000_000_000_000_000u64);
        Self {
            sequencer,
            token_governor: sequencer,
            proposer_bond: milli * U256::from(100),
            challenger_bond: milli * U256::from(50),
            challenge_window: 30,
            clock_duration: 10,
            inclusion_deadline: 60,
            sequencer_timeout: 120,
            l2_chain_id,
            ledger,
        }
    }
}

/// The state commitment of a genesis ledger of `config` (the fee account alone).
pub fn genesis_state_commitment(config: &ply_ledger::LedgerConfig) -> Result<B256> {
    Ok(ply_ledger::Ledger::<ply_ledger::KeccakHasher>::new(config.clone())?.commitment().hash())
}

/// Deploys the Bridge, the StepExecutor and the Rollup, and wires them together. The deployer
/// pays; `params.token_governor` lists tokens.
pub async fn deploy(deployer: &TxSender, params: &DeployParams) -> Result<RollupContracts> {
    let mut bridge_code = Bridge::BYTECODE.to_vec();
    bridge_code.extend_from_slice(
        &Bridge::constructorCall { tokenGovernor_: params.token_governor }.abi_encode(),
    );
    let bridge = deployer.deploy(bridge_code.into()).await?;
    let mut executor_code = ply_contracts::StepExecutor::BYTECODE.to_vec();
    executor_code.extend_from_slice(
        &ply_contracts::StepExecutor::constructorCall {
            bridge_: bridge,
            accountDepth_: U256::from(params.ledger.account_depth),
            tokenDepth_: U256::from(params.ledger.token_depth),
        }
        .abi_encode(),
    );
    let executor = deployer.deploy(executor_code.into()).await?;
    let constructor = Rollup::constructorCall {
        bridge_: bridge,
        executor_: executor,
        config: Rollup::Config {
            sequencer: params.sequencer,
            proposerBond: params.proposer_bond,
            challengerBond: params.challenger_bond,
            challengeWindow: params.challenge_window,
            clockDuration: params.clock_duration,
            inclusionDeadline: params.inclusion_deadline,
            sequencerTimeout: params.sequencer_timeout,
            l2ChainId: params.l2_chain_id,
            genesisStateCommitment: genesis_state_commitment(&params.ledger)?,
        },
    };
    let mut code = Rollup::BYTECODE.to_vec();
    code.extend_from_slice(&constructor.abi_encode());
    let rollup = deployer.deploy(code.into()).await?;
    call(deployer, bridge, Bridge::initializeCall { rollup_: rollup }.abi_encode()).await?;
    Ok(RollupContracts { bridge, rollup, executor })
}

/// Sends a contract call and fails on a reverted receipt.
pub async fn call(sender: &TxSender, to: Address, data: Vec<u8>) -> Result<B256> {
    Ok(sender.send_call(to, data, U256::ZERO).await?)
}

/// The batch form of sealed blocks.
pub fn batch_of(blocks: &[Arc<L2Block>]) -> Batch {
    Batch {
        blocks: blocks
            .iter()
            .map(|b| BatchBlock {
                timestamp: b.timestamp,
                deposits: b.deposits.len() as u16,
                txs: b.txs.iter().map(|t| t.packed.clone()).collect(),
            })
            .collect(),
    }
}

/// The withdrawals of `blocks` as batch `index` records them (execution order: each block's
/// forced withdrawals, then its withdrawal transactions).
pub fn withdrawals_of(index: u64, blocks: &[Arc<L2Block>]) -> Vec<WithdrawalRecord> {
    blocks
        .iter()
        .flat_map(|b| &b.withdrawals)
        .enumerate()
        .map(|(position, w)| WithdrawalRecord {
            batch_index: index,
            position: position as u32,
            ..w.clone()
        })
        .collect()
}

/// How many of `blocks` (from the front) the next batch takes under `limits`, if a batch is
/// due now (`oldest_age` is how long the first block has waited).
pub fn next_batch_size(
    blocks: &[Arc<L2Block>],
    limits: &BatchLimits,
    oldest_age: Duration,
) -> Option<usize> {
    let mut txs = 0;
    let mut bytes = 5;
    let mut withdrawals = 0u64;
    for (i, block) in blocks.iter().enumerate() {
        let block_bytes = batch::BLOCK_HEADER_SIZE
            + block.txs.iter().map(|t| packed_size(&t.packed)).sum::<usize>();
        let block_withdrawals = block.txs.iter().filter(|t| t.tx.tx.is_withdrawal()).count() as u64;
        if i > 0
            && (bytes + block_bytes > limits.max_bytes
                || withdrawals + block_withdrawals > ply_ledger::MAX_WITHDRAWALS_PER_BATCH)
        {
            return Some(i);
        }
        txs += block.txs.len();
        bytes += block_bytes;
        withdrawals += block_withdrawals;
        if txs >= limits.max_txs || bytes >= limits.max_bytes {
            return Some(i + 1);
        }
    }
    (!blocks.is_empty() && oldest_age >= limits.max_age).then_some(blocks.len())
}

fn packed_size(tx: &BatchTx) -> usize {
    match tx {
        BatchTx::Transfer { to: batch::Recipient::New(_), .. } => batch::TRANSFER_SIZE + 20,
        BatchTx::Transfer { .. } => batch::TRANSFER_SIZE,
        BatchTx::Withdrawal { .. } => batch::TRANSFER_SIZE - 3 + 20,
    }
}

/// Keys and knobs of the L1-facing services.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The rollup's parameters.
    pub rollup: RollupConfig,
    /// The contracts.
    pub contracts: RollupContracts,
    /// The output bond, in wei.
    pub bond: U256,
    /// How often the services poll.
    pub poll: Duration,
    /// The clock blocks seal and batches fall due by ([`SystemClock`]
    /// in a node; a [`ManualClock`] in tests that must decide exactly
    /// when a block or a batch closes).
    pub clock: DynClock,
}

/// Posts batches and their outputs, and marks outputs final: the rollup's [`Settlement`] on
/// the node's settlement loop. Reconciles with L1 when it starts, then runs until an error (or
/// until its task is aborted).
pub async fn run_batcher(
    sequencer: Sequencer,
    batcher: Arc<TxSender>,
    proposer: Arc<TxSender>,
    config: ServiceConfig,
) -> Result<()> {
    let (clock, poll) = (config.clock.clone(), config.poll);
    let settlement = Batcher {
        client: batcher.client().clone(),
        sequencer,
        batcher,
        proposer,
        config,
        posted: Vec::new(),
        next_block: 0,
        age: BatchAge::new(),
    };
    run_settlement(settlement, clock, poll).await
}

/// The optimistic rollup's settlement: appends batches, proposes their outputs (with the
/// bond) and marks them final.
struct Batcher {
    client: DynL1Client,
    sequencer: Sequencer,
    batcher: Arc<TxSender>,
    proposer: Arc<TxSender>,
    config: ServiceConfig,
    posted: Vec<PostedBatch>,
    next_block: u64,
    age: BatchAge,
}

#[async_trait::async_trait]
impl Settlement for Batcher {
    type Error = Error;

    async fn reconcile(&mut self) -> Result<()> {
        let mut posted = self.sequencer.batches().await?;
        // A crash between an L1 transaction and its record leaves L1 ahead of the records.
        reconcile(&self.client, &self.config, &self.sequencer, &mut posted).await?;
        self.next_block = posted.last().map_or(0, |b| b.last_block + 1);
        self.posted = posted;
        self.age = BatchAge::new();
        Ok(())
    }

    async fn step(&mut self, now: Duration) -> Result<bool> {
        let (client, config, sequencer) = (&self.client, &self.config, &self.sequencer);
        // Outputs first: a batch that was appended but whose output was not proposed (a crash
        // between the two) is proposed before anything new is posted.
        // Outputs are permissionless and a disproven output is removed with its successors:
        // whatever batch L1 lacks an output for, from `outputCount` on, is proposed (again).
        let outputs: u64 =
            view(client, config.contracts.rollup, Rollup::outputCountCall {}).await?.to();
        for batch in self.posted.iter_mut().filter(|b| b.index >= outputs) {
            propose(&self.proposer, config, batch).await?;
            sequencer.record_batch(batch.clone()).await?;
        }
        finalize(client, config, sequencer, &mut self.posted).await?;

        let blocks = sequencer.blocks_from(self.next_block).await?;
        let age = self.age.observe(!blocks.is_empty(), now);
        let Some(n) = next_batch_size(&blocks, &config.rollup.batch, age) else {
            return Ok(false);
        };
        let index = self.posted.len() as u64;
        let batch = post(&self.batcher, config, sequencer, &blocks[..n], index).await?;
        self.next_block = batch.last_block + 1;
        self.posted.push(batch);
        self.age.cut(now);
        Ok(true)
    }
}

async fn post(
    batcher: &TxSender,
    config: &ServiceConfig,
    sequencer: &Sequencer,
    blocks: &[Arc<L2Block>],
    index: u64,
) -> Result<PostedBatch> {
    let data = batch::encode(&batch_of(blocks))?;
    let previous = sequencer.batches().await?.last().map_or(0, |b| b.new_deposit_count);
    let new_deposit_count = deposit_count_after(blocks, previous);
    let calldata = Rollup::appendBatchCall {
        newQueueCount: U256::from(new_deposit_count),
        data: data.clone().into(),
    }
    .abi_encode();
    let l1_tx = call(batcher, config.contracts.rollup, calldata).await?;
    let receipt = batcher
        .client()
        .receipt(l1_tx)
        .await?
        .ok_or_else(|| Error::Diverged(format!("no receipt for batch transaction {l1_tx}")))?;
    let appended = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Rollup::BatchAppended::decode_log(&log.inner).ok())
        .ok_or_else(|| Error::Invalid("appendBatch emitted no BatchAppended".into()))?;
    let chain_index: u64 = appended.batchIndex.to();
    if chain_index != index {
        return Err(Error::Diverged(format!(
            "L1 numbered the batch {chain_index}, the batcher expected {index}: another batcher \
             is posting, or the sequencer's records are behind L1"
        )));
    }
    let batch = posted_batch(index, blocks, new_deposit_count, l1_tx)?;
    sequencer.record_batch(batch.clone()).await?;
    tracing::info!(
        batch = index,
        blocks = blocks.len(),
        txs = blocks.iter().map(|b| b.txs.len()).sum::<usize>(),
        bytes = data.len(),
        gas = receipt.gas_used,
        "batch appended"
    );
    Ok(batch)
}

/// The deposits consumed on L1 after a batch of `blocks`, `previous` before it.
fn deposit_count_after(blocks: &[Arc<L2Block>], previous: u64) -> u64 {
    let last_deposit = blocks.iter().flat_map(|b| &b.deposits).map(|d| d.queue_index + 1).max();
    last_deposit.unwrap_or(previous)
}

/// The record of batch `index`, made of `blocks` and appended by `l1_tx`.
fn posted_batch(
    index: u64,
    blocks: &[Arc<L2Block>],
    new_deposit_count: u64,
    l1_tx: B256,
) -> Result<PostedBatch> {
    let withdrawals = withdrawals_of(index, blocks);
    let withdrawal_root = WithdrawalTree::new(&withdrawals)?.root();
    let last = blocks.last().expect("a batch has blocks");
    Ok(PostedBatch {
        index,
        first_block: blocks[0].number,
        last_block: last.number,
        new_deposit_count,
        l1_tx,
        state_root: last.state_commitment,
        withdrawal_root,
        withdrawals,
        proposed: false,
        finalized: false,
    })
}

/// Calls a view function of a contract.
pub(crate) async fn view<C: SolCall>(
    client: &DynL1Client,
    to: Address,
    call: C,
) -> Result<C::Return> {
    let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
    let out = client.call(&req, alloy::eips::BlockId::latest()).await?;
    C::abi_decode_returns(&out)
        .map_err(|e| Error::Invalid(format!("{} returned garbage: {e}", C::SIGNATURE)))
}

/// Brings the records of posted batches up to date with L1 when the batcher starts.
///
/// A crash (or a timeout) after an `appendBatch` or a `proposeOutput` was mined but before it
/// was recorded leaves L1 ahead of the records; appending the same blocks again would
/// duplicate them in a second batch (whose transactions the derivation skips as replays), and
/// proposing again reverts with `OutputOutOfOrder`, either of which stopped the batcher for
/// good. Batches on L1 beyond the records must be this sequencer's next sealed blocks, encoded
/// as this batcher encodes them, and outputs on L1 must commit to the recorded roots; anything
/// else means another party posts with these keys, and is an error.
async fn reconcile(
    client: &DynL1Client,
    config: &ServiceConfig,
    sequencer: &Sequencer,
    posted: &mut Vec<PostedBatch>,
) -> Result<()> {
    let rollup = config.contracts.rollup;
    let on_l1: u64 = view(client, rollup, Rollup::batchCountCall {}).await?.to();
    if on_l1 > posted.len() as u64 {
        // The missing batches were appended after the last recorded one.
        let from = match posted.last() {
            Some(last) => client.receipt(last.l1_tx).await?.and_then(|r| r.block_number),
            None => None,
        };
        let from = from.unwrap_or(0);
        let head = client.block_number().await?;
        let reader = crate::l1::L1Reader::new(client.clone(), config.contracts.bridge, rollup);
        for found in reader.batches_in(from..=head).await? {
            let index = posted.len() as u64;
            if found.index < index {
                continue;
            }
            let previous = posted.last().map_or(0, |b| b.new_deposit_count);
            let next_block = posted.last().map_or(0, |b| b.last_block + 1);
            let blocks = sequencer.blocks_from(next_block).await?;
            let count = batch::decode(&found.data).map_or(0, |b| b.blocks.len());
            let ours = found.index == index
                && count > 0
                && count <= blocks.len()
                && deposit_count_after(&blocks[..count], previous) == found.new_deposit_count
                && batch::encode(&batch_of(&blocks[..count]))? == found.data.as_ref();
            if !ours {
                return Err(Error::Invalid(format!(
                    "batch {} on L1 (transaction {}) is not the batch of this sequencer's next \
                     blocks from {next_block}: another batcher is posting with this key",
                    found.index, found.l1_tx
                )));
            }
            let batch =
                posted_batch(index, &blocks[..count], found.new_deposit_count, found.l1_tx)?;
            sequencer.record_batch(batch.clone()).await?;
            tracing::warn!(
                batch = index,
                l1_tx = %found.l1_tx,
                "batch found on L1 but not in the records (a crash after posting it): recorded"
            );
            posted.push(batch);
        }
        if (posted.len() as u64) < on_l1 {
            return Err(Error::Diverged(format!(
                "L1 holds {on_l1} batches; only {} were found from L1 block {from}",
                posted.len()
            )));
        }
    }
    let outputs: u64 = view(client, rollup, Rollup::outputCountCall {}).await?.to();
    for batch in posted.iter_mut().filter(|b| !b.proposed && b.index < outputs) {
        let on_chain =
            view(client, rollup, Rollup::outputRootCall { batchIndex: U256::from(batch.index) })
                .await?;
        let expected = posted_output_root(batch);
        if on_chain != expected {
            // Outputs are permissionless: someone else proposed this batch's output first. If
            // it is wrong, the challenger disputes it; this proposer does not post a second one.
            tracing::warn!(
                batch = batch.index,
                %on_chain,
                %expected,
                "another proposer posted a different output for this batch"
            );
        }
        batch.proposed = true;
        sequencer.record_batch(batch.clone()).await?;
        tracing::warn!(
            batch = batch.index,
            "output found on L1 but not in the records (a crash after proposing it): recorded"
        );
    }
    Ok(())
}

/// The state root an output posts for `batch`: today the state tree's root, which the current
/// `Rollup` contract expects. Fraud proofs (`docs/rollup.md`, "The state commitment") post the
/// state commitment instead ([`crate::fraud::state_commitment`]); once the dispute game's
/// contracts land, this is the one place that changes.
/// The output root of a posted batch's records: its state commitment and withdrawal root.
fn posted_output_root(batch: &PostedBatch) -> B256 {
    crate::fraud::output_root(batch.state_root, batch.withdrawal_root)
}

async fn propose(
    proposer: &TxSender,
    config: &ServiceConfig,
    batch: &mut PostedBatch,
) -> Result<()> {
    let calldata = Rollup::proposeOutputCall {
        batchIndex: U256::from(batch.index),
        stateCommitment: batch.state_root,
        withdrawalRoot: batch.withdrawal_root,
    }
    .abi_encode();
    let req = TransactionRequest::default()
        .to(config.contracts.rollup)
        .value(config.bond)
        .input(Bytes::from(calldata).into());
    proposer.send_and_check(req).await?;
    batch.proposed = true;
    tracing::info!(batch = batch.index, root = %batch.state_root, "output proposed");
    Ok(())
}

async fn finalize(
    client: &DynL1Client,
    config: &ServiceConfig,
    sequencer: &Sequencer,
    posted: &mut [PostedBatch],
) -> Result<()> {
    for batch in posted.iter_mut().filter(|b| b.proposed && !b.finalized) {
        let calldata = Rollup::isFinalCall { batchIndex: U256::from(batch.index) }.abi_encode();
        let req = TransactionRequest::default()
            .to(config.contracts.rollup)
            .input(Bytes::from(calldata).into());
        let out = client.call(&req, alloy::eips::BlockId::latest()).await?;
        let is_final = Rollup::isFinalCall::abi_decode_returns(&out)
            .map_err(|e| Error::Invalid(format!("isFinal returned garbage: {e}")))?;
        if !is_final {
            // Outputs finalize in order.
            break;
        }
        batch.finalized = true;
        sequencer.record_batch(batch.clone()).await?;
        tracing::info!(batch = batch.index, "output final");
    }
    Ok(())
}

/// The rollup's L1 queue (deposits, forced transfers and withdrawals), for the node's
/// [`Intake`].
struct DepositQueue {
    reader: crate::l1::L1Reader,
}

#[async_trait::async_trait]
impl QueueReader for DepositQueue {
    type Op = Deposit;
    type Error = Error;

    fn queue_index(op: &Deposit) -> u64 {
        op.queue_index
    }

    async fn read(&self, range: std::ops::RangeInclusive<u64>) -> Result<Vec<Deposit>> {
        self.reader.deposits_in(range).await
    }
}

/// Hands confirmed L1 deposits to the sequencer: the node's [`Intake`] from `start_block` at
/// the rollup's confirmation depth, over the bridge's `OperationQueued` events. Restarting
/// from an earlier block is harmless: the sequencer ignores deposits it already has.
///
/// A reorg deeper than the confirmation depth that removes or changes deposits already handed
/// on makes the sequencer forget them if it has not applied them yet (what L1 holds now takes
/// their place); if it has, the watcher stops with an error, since a batch consuming them would
/// be refused by L1. (Choose the confirmation depth so that it cannot happen.)
pub async fn run_deposit_watcher(
    sequencer: Sequencer,
    client: DynL1Client,
    config: ServiceConfig,
    start_block: u64,
) -> Result<()> {
    let reader =
        crate::l1::L1Reader::new(client.clone(), config.contracts.bridge, config.contracts.rollup);
    let follower = BlockFollower::new(client, config.rollup.l1_confirmations, start_block);
    let mut intake = Intake::new(follower, DepositQueue { reader }, 0);
    loop {
        let events = match intake.next(config.poll).await {
            Ok(events) => events,
            // The intake keeps what it delivered across a failed read (it reads the same
            // blocks again), which a restart would forget: only what retrying cannot mend
            // ends the watcher.
            Err(e) if e.kind() == ErrorKind::Temporary => {
                tracing::warn!(error = %e, "deposit watcher: reading the L1 failed; retrying");
                tokio::time::sleep(config.poll).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        for event in events {
            match event {
                IntakeEvent::Queued(deposits) => {
                    tracing::debug!(count = deposits.len(), "deposits confirmed on L1");
                    sequencer.queue_deposits(deposits).await?;
                }
                IntakeEvent::Reorged { from } => {
                    if sequencer.unqueue_deposits(from).await? {
                        tracing::warn!(
                            from,
                            "an L1 reorg removed queued operations not applied yet: forgotten"
                        );
                        continue;
                    }
                    return Err(Error::Invalid(format!(
                        "an L1 reorg deeper than {} confirmations removed or changed queued \
                         operation {from}, which the sequencer has already applied",
                        config.rollup.l1_confirmations
                    )));
                }
            }
        }
    }
}

/// Runs the service `run` makes under the node's supervision: restarted after temporary
/// failures (with a pause growing to 10 s) and at once after a reset; stopped by a critical
/// error or the sequencer's shutdown.
async fn supervise<F, Fut>(name: &'static str, run: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    ply_node::supervise(name, Backoff::default(), run).await;
}

/// The signers of the rollup's L1 roles.
#[derive(Debug, Clone)]
pub struct NodeKeys {
    /// Appends batches (the Rollup's `sequencer`).
    pub batcher: alloy::signers::local::PrivateKeySigner,
    /// Proposes outputs (the Rollup's `proposer`).
    pub proposer: alloy::signers::local::PrivateKeySigner,
}

/// A running rollup node: sequencer, its JSON-RPC API, batcher/proposer/finalizer and deposit
/// watcher. Dropping it stops the services.
#[derive(Debug)]
pub struct RollupNode {
    /// The sequencer handle.
    pub sequencer: Sequencer,
    /// Where the JSON-RPC API listens.
    pub rpc_addr: std::net::SocketAddr,
    server: jsonrpsee::server::ServerHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RollupNode {
    /// Starts every service. `data_dir` holds the sequencer's log; `l1_start_block` is where
    /// the deposit watcher starts reading (the contracts' deployment block).
    pub async fn start(
        client: DynL1Client,
        config: ServiceConfig,
        keys: NodeKeys,
        data_dir: &std::path::Path,
        rpc_addr: std::net::SocketAddr,
        l1_start_block: u64,
    ) -> Result<Self> {
        let sequencer =
            Sequencer::start_with_clock(&config.rollup, data_dir, config.clock.clone())?;
        let (rpc_addr, server) = crate::sequencer::rpc::serve(sequencer.clone(), rpc_addr).await?;
        let batcher = Arc::new(TxSender::new(client.clone(), keys.batcher));
        let proposer = Arc::new(TxSender::new(client.clone(), keys.proposer));
        let mut tasks = Vec::new();
        {
            let (sequencer, config) = (sequencer.clone(), config.clone());
            // The batcher reconciles with L1 when it starts, so restarting it after a failure
            // (an L1 that did not answer, a transaction that timed out) is safe.
            tasks.push(tokio::spawn(supervise("batcher", move || {
                run_batcher(sequencer.clone(), batcher.clone(), proposer.clone(), config.clone())
            })));
        }
        {
            let (sequencer, config, client) = (sequencer.clone(), config.clone(), client.clone());
            tasks.push(tokio::spawn(supervise("deposit watcher", move || {
                run_deposit_watcher(
                    sequencer.clone(),
                    client.clone(),
                    config.clone(),
                    l1_start_block,
                )
            })));
        }
        Ok(Self { sequencer, rpc_addr, server, tasks })
    }

    /// Stops the services and the API, then the sequencer (closing its database).
    pub async fn stop(self) {
        let sequencer = self.sequencer.clone();
        drop(self);
        sequencer.shutdown().await;
    }
}

impl Drop for RollupNode {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.server.stop();
    }
}
