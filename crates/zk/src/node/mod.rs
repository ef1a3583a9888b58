//! The zk rollup and validium node: the operator that sequences, proves and submits batches,
//! and the tools that rebuild the state from L1 (and the committee) without it.
//!
//! - [`operator`]: the sequencer's state machine (no I/O): accepted operations, the head
//!   state users read, batches cut in the circuit's section order.
//! - [`store`]: its write-ahead log in redb; an operation is on disk before it is confirmed.
//! - [`l1`]: deployment, submission and the L1 reads.
//! - [`derive`]: the state rebuilt from L1 data (zk rollup) or L1 and the committee
//!   (validium), checked against each verified root.
//! - [`rpc`]: the JSON-RPC API (`zk_*`) on 127.0.0.1:9546 (zk rollup) or 9547 (validium).
//!
//! [`ZkNode`] runs the operator: a deposit watcher (the L1 queue, by id), a batcher (cuts a
//! batch when it is full or `batch_interval` has passed, proves it with Groth16, for a
//! validium stores its transfers with the committee and collects `threshold` signatures, and
//! submits it; its withdrawals are released on L1 in the same transaction), and the RPC server.

pub mod derive;
pub mod l1;
pub mod operator;
pub mod rpc;
pub mod store;
pub mod wire;

pub use l1::{ZkContracts, ZkDeployParams, ZkL1, deploy};
pub use operator::{BatchRecord, BatchStatus, Operator, TxStatus};

use crate::{
    Result, ZkError,
    circuit::{BatchParams, BatchWitness, ZkOperation, ZkState},
    dac::{DacClient, collect_signatures, encode_signatures},
    eddsa::PublicKey,
    groth16::{self, ProvingKey},
};
use alloy::primitives::{B256, U256};
use parking_lot::Mutex;
use ply_l1::client::TxSender;
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use store::OperatorStore;
use tokio::{sync::watch, task::JoinHandle};
use tracing::{info, warn};

/// The default port of the zk rollup's API.
pub const ZK_ROLLUP_PORT: u16 = 9546;
/// The default port of the validium's API.
pub const VALIDIUM_PORT: u16 = 9547;

/// Where a family's transfer data goes.
#[derive(Debug, Clone)]
pub enum DataMode {
    /// On L1, in the batch's calldata.
    Rollup,
    /// To a data availability committee; L1 needs `threshold` member signatures.
    Validium {
        /// The members.
        committee: Vec<DacClient>,
        /// Signatures a batch needs.
        threshold: usize,
    },
}

/// How to run a [`ZkNode`].
#[derive(Debug, Clone)]
pub struct ZkNodeConfig {
    /// The batch shape.
    pub params: BatchParams,
    /// The proving key of that shape.
    pub proving_key: Arc<ProvingKey>,
    /// The batch circuit's constraint matrices (built once: see [`groth16::prove_with`]).
    pub matrices: Arc<groth16::ConstraintMatrices>,
    /// The deployment.
    pub contracts: ZkContracts,
    /// Rollup or validium.
    pub mode: DataMode,
    /// The operator's write-ahead log.
    pub data_dir: PathBuf,
    /// Where the API listens.
    pub rpc_addr: SocketAddr,
    /// A batch that is not full is cut after this long.
    pub batch_interval: Duration,
    /// How often the L1 queue is read.
    pub poll_interval: Duration,
}

/// What the tasks share.
struct Shared {
    operator: Mutex<Operator>,
    store: OperatorStore,
    l1: ZkL1,
}

impl Shared {
    /// Accepts a signed transaction, durably; the confirmation is returned once it is on disk.
    fn submit(&self, op: ZkOperation) -> std::result::Result<B256, String> {
        let mut operator = self.operator.lock();
        let (id, entry) = operator.accept(op)?;
        self.log_last(&mut operator, entry)
            .map_err(|e| format!("the operator could not log the transaction: {e}"))?;
        Ok(id)
    }

    /// Makes the operator's last accepted operation durable, or takes it back.
    fn log_last(&self, operator: &mut Operator, entry: wire::LoggedOp) -> Result<()> {
        let position = operator.log().len() as u64 - 1;
        self.store.append(position, &[entry]).inspect_err(|_| operator.undo_last())
    }
}

/// A running operator (see the [module docs](self)).
pub struct ZkNode {
    shared: Arc<Shared>,
    rpc_addr: SocketAddr,
    rpc: jsonrpsee::server::ServerHandle,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ZkNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkNode").field("rpc_addr", &self.rpc_addr).finish_non_exhaustive()
    }
}

impl ZkNode {
    /// Starts the operator of `config.contracts` with `sender` (the operator's L1 key) and
    /// `operator_key` (account 0's EdDSA key): replays its log, restores its batches against
    /// L1, proves again those L1 has not verified, and serves its API.
    pub async fn start(
        config: ZkNodeConfig,
        sender: TxSender,
        operator_key: PublicKey,
    ) -> Result<Self> {
        let l1 = ZkL1::new(sender.client().clone(), config.contracts.rollup);
        let domain = l1.domain().await?;
        let genesis = ZkState::new(&config.params, domain, sender.address(), operator_key)?;
        let mut operator = Operator::new(config.params, genesis);
        let store = OperatorStore::open(&config.data_dir, domain)?;
        for entry in store.entries()? {
            operator.replay(entry).map_err(|e| ZkError::Node(format!("replaying the log: {e}")))?;
        }
        let verified = l1.verified_batches().await?;
        let roots: Vec<B256> = verified.iter().map(|b| b.new_root).collect();
        let unproven = operator.restore(&store.batches()?, &roots).map_err(ZkError::Node)?;
        for record in operator.batches() {
            store.put_batch(record)?;
        }
        let shared = Arc::new(Shared { operator: Mutex::new(operator), store, l1 });
        let (stop, stopped) = watch::channel(false);
        let (rpc_addr, rpc) =
            rpc::serve(rpc::RpcState::new(shared.clone()), config.rpc_addr).await?;
        let tasks = vec![
            tokio::spawn(watch_deposits(shared.clone(), config.poll_interval, stopped.clone())),
            tokio::spawn(run_batcher(shared.clone(), config, sender, unproven, stopped)),
        ];
        info!(%rpc_addr, "zk node started");
        Ok(Self { shared, rpc_addr, rpc, stop, tasks })
    }

    /// Where the API listens.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// Reads the operator's state.
    pub fn with_operator<T>(&self, f: impl FnOnce(&Operator) -> T) -> T {
        f(&self.shared.operator.lock())
    }

    /// Accepts a signed transaction (as `zk_sendTransaction` does); returns its id.
    pub fn submit(&self, op: ZkOperation) -> std::result::Result<B256, String> {
        self.shared.submit(op)
    }

    /// Stops the tasks and the server (a batch being proven is abandoned; it is proven again
    /// at the next start).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
    }
}

/// Reads new deposits from the L1 queue, in id order, into the operator (durably).
async fn watch_deposits(shared: Arc<Shared>, every: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        if let Err(e) = take_deposits(&shared).await {
            warn!("deposit watcher: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn take_deposits(shared: &Shared) -> Result<()> {
    let tail = shared.l1.priority_tail().await?;
    loop {
        let next = shared.operator.lock().next_deposit();
        if next >= tail {
            return Ok(());
        }
        let queued = shared.l1.priority_op(next).await?;
        let mut operator = shared.operator.lock();
        let owner = match &queued.op {
            ZkOperation::Deposit(d) => d.to,
            ZkOperation::FullExit(e) => e.owner,
            _ => {
                return Err(ZkError::Node(format!(
                    "queued operation {next} is no priority operation"
                )));
            }
        };
        let head = operator.head();
        let expected = head.index_of(&owner).unwrap_or(head.account_count());
        if queued.account != expected {
            return Err(ZkError::Node(format!(
                "L1 gave {owner} account {}, the operator's state expects {expected}: the batch could not be proven",
                queued.account
            )));
        }
        let entry = operator.deposit(next, queued.op).map_err(|e| {
            ZkError::Node(format!("priority operation {next} cannot be applied: {e}"))
        })?;
        shared.log_last(&mut operator, entry)?;
    }
}

/// Cuts, proves and submits batches, one at a time, forever.
async fn run_batcher(
    shared: Arc<Shared>,
    config: ZkNodeConfig,
    sender: TxSender,
    unproven: Vec<(u64, BatchWitness)>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut queue: std::collections::VecDeque<(u64, BatchWitness)> = unproven.into();
    let mut last_cut = Instant::now();
    loop {
        if queue.is_empty() {
            let due = {
                let operator = shared.operator.lock();
                operator.unbatched() > 0
                    && (operator.next_batch_is_full()
                        || last_cut.elapsed() >= config.batch_interval)
            };
            if due {
                let cut = {
                    let mut operator = shared.operator.lock();
                    operator
                        .cut_batch()
                        .map(|cut| cut.map(|(n, w)| (n, w, operator.batches()[n as usize].clone())))
                };
                match cut {
                    Ok(Some((number, witness, record))) => {
                        if let Err(e) = shared.store.put_batch(&record) {
                            warn!("batch {number}: {e}");
                        }
                        queue.push_back((number, witness));
                    }
                    Ok(None) => {}
                    Err(e) => warn!("cutting a batch: {e}"),
                }
                last_cut = Instant::now();
            }
        }
        if let Some((number, witness)) = queue.front() {
            match prove_and_submit(&config, &sender, *number, witness).await {
                Ok(tx) => {
                    info!(batch = number, %tx, "batch verified on L1");
                    let mut operator = shared.operator.lock();
                    operator.verified(*number);
                    if let Err(e) = shared.store.put_batch(&operator.batches()[*number as usize]) {
                        warn!("batch {number}: {e}");
                    }
                    queue.pop_front();
                    continue;
                }
                Err(e) => warn!("batch {number}: {e}; trying again"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Proves batch `number` and submits it (for a validium, after the committee signed its data).
async fn prove_and_submit(
    config: &ZkNodeConfig,
    sender: &TxSender,
    number: u64,
    witness: &BatchWitness,
) -> Result<B256> {
    let (pk, matrices) = (config.proving_key.clone(), config.matrices.clone());
    let circuit = witness.circuit.clone();
    let started = Instant::now();
    let proof = tokio::task::spawn_blocking(move || {
        groth16::prove_with(&pk, &matrices, circuit.clone(), &mut groth16::os_rng()).map_err(|e| {
            match e {
                // Name the slot (the transaction) whose constraints fail.
                groth16::Groth16Error::Unsatisfied { .. } => match circuit.check() {
                    Err(named) => ZkError::Circuit(named),
                    Ok(_) => ZkError::Groth16(e),
                },
                other => ZkError::Groth16(other),
            }
        })
    })
    .await
    .map_err(|e| ZkError::Node(format!("the prover task failed: {e}")))??;
    info!(batch = number, took = ?started.elapsed(), "batch proven");
    let data = match &config.mode {
        DataMode::Rollup => l1::submit_batch_call(witness, &proof),
        DataMode::Validium { committee, threshold } => {
            let signatures = collect_signatures(committee, &witness.transfers, *threshold).await?;
            l1::submit_validium_call(witness, &proof, encode_signatures(&signatures))
        }
    };
    Ok(sender.send_call(config.contracts.rollup, data, U256::ZERO).await?)
}

/// The seed of the development setup of the batch circuit (`ply zk setup`).
pub const DEV_SETUP_SEED: u64 = 0x706c_797a;

/// The name of the batch circuit of `params` in a [`KeyStore`](groth16::KeyStore).
pub fn circuit_name(params: &BatchParams) -> String {
    format!(
        "batch-a{}-t{}-d{}-x{}-w{}-f{}",
        params.account_depth,
        params.token_depth,
        params.deposits,
        params.transfers,
        params.withdrawals,
        params.fee_tokens
    )
}

/// The batch circuit of `params` with an empty batch's witness: what a setup is run on.
pub fn circuit_shape(params: &BatchParams) -> Result<crate::circuit::BatchCircuit> {
    let key = crate::eddsa::SecretKey::from_seed(b"ply zk circuit shape, any key will do");
    let mut state =
        ZkState::new(params, crate::Fr::from(0u64), Default::default(), key.public_key())?;
    Ok(BatchWitness::build(&mut state, params, &[])?.circuit)
}

/// The keys of `params` from `store`, made by a development setup (NOT a ceremony: whoever ran
/// it could forge proofs) on first use and checked by hash after.
pub fn dev_keys(store: &groth16::KeyStore, params: &BatchParams) -> Result<groth16::Keys> {
    Ok(store.load_or_setup(&circuit_name(params), circuit_shape(params)?, DEV_SETUP_SEED)?)
}
