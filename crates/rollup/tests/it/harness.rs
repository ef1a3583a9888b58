//! What the end-to-end tests share: the two L1 backends (the embedded chain in-process, a real
//! anvil over JSON-RPC), a background miner, the rollup's deployment, a client of the
//! sequencer's JSON-RPC API, the derivation node with its events, and polling with deadlines.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolConstructor, SolEvent, SolInterface},
};
use ply_contracts::{Bridge, Rollup, TestToken};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient, RpcClient, SenderConfig, TxSender},
    node::Node,
};
use ply_ledger::{LedgerConfig, SignedTx, TokenId, Transfer, Tx, Withdrawal};
use ply_rollup::{
    BatchLimits, RollupConfig,
    derivation::{Derivation, DerivationEvent, DerivationNode},
    node::{
        DeployParams, DynClock, NodeKeys, RollupContracts, RollupNode, ServiceConfig, SystemClock,
        deploy,
    },
};
use serde::{Serialize, de::DeserializeOwned};
use std::{
    collections::BTreeMap,
    future::Future,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;

/// How long any single wait of a test may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// The L2 chain id of the test rollups.
pub(crate) const L2_CHAIN_ID: u64 = 901;

/// One ether, in wei.
pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;

/// `n` ether, in wei.
pub(crate) fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER)
}

/// `n` milliether (0.001 ETH), in wei.
pub(crate) fn milli(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER / 1_000)
}

/// The fee account of the test rollups (account 0 on L2); no key needed, it only receives.
pub(crate) fn fee_account() -> Address {
    Address::repeat_byte(0xfe)
}

/// A signer that is not a dev account (a fresh L2 user or L1 recipient), from a fixed seed.
pub(crate) fn fresh_signer(seed: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(seed)).expect("a valid private key")
}

/// Sender settings for tests: quick polls, no fee bumps, a timeout only a broken chain reaches.
pub(crate) fn test_sender_config() -> SenderConfig {
    SenderConfig {
        poll_interval: Duration::from_millis(10),
        bump_after: 0,
        timeout: Duration::from_secs(30),
        ..SenderConfig::default()
    }
}

// ------------------------------------------------------------------------------------ L1

/// What keeps an L1 alive while a test runs.
#[derive(Debug)]
enum Keep {
    Node(#[allow(dead_code)] Node),
    Anvil(#[allow(dead_code)] Anvil),
}

/// An L1 for a test: a client, what keeps its node alive, and a background miner that mines an
/// empty block every 100 ms, so that confirmation depths are reached on a chain that otherwise
/// mines only when a transaction arrives. The miner stops when this is dropped.
#[derive(Debug)]
pub(crate) struct TestL1 {
    /// The client every component talks through.
    pub(crate) client: DynL1Client,
    /// The name of the backend, for messages.
    pub(crate) name: &'static str,
    miner: Option<JoinHandle<()>>,
    _keep: Keep,
}

impl TestL1 {
    /// The embedded chain, in-process, with its miner running.
    pub(crate) fn embedded() -> Self {
        let node = Node::new(ChainConfig::default());
        let client: DynL1Client = Arc::new(EmbeddedClient::new(node.clone()));
        Self { client, name: "embedded", miner: None, _keep: Keep::Node(node) }.with_miner()
    }

    /// The embedded chain's node and client, served by ply's JSON-RPC server on a loopback
    /// port (for a node in another process); returns the URL too.
    pub(crate) async fn embedded_served() -> (Self, String, jsonrpsee::server::ServerHandle) {
        let l1 = Self::embedded();
        let Keep::Node(node) = &l1._keep else { unreachable!() };
        let (addr, handle) = ply_l1::rpc::serve(node.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("ply's L1 RPC server starts");
        assert!(addr.ip().is_loopback());
        (l1, format!("http://{addr}"), handle)
    }

    /// A fresh anvil on a loopback port, with the miner running; `None` when anvil is missing
    /// and `PLY_SKIP_ANVIL=1` (without it, a missing anvil fails the test).
    pub(crate) async fn anvil() -> Option<Self> {
        let anvil = start_anvil()?;
        let client: DynL1Client = Arc::new(RpcClient::new(&anvil.url()).expect("valid URL"));
        Some(Self { client, name: "anvil", miner: None, _keep: Keep::Anvil(anvil) }.with_miner())
    }

    fn with_miner(mut self) -> Self {
        let client = self.client.clone();
        self.miner = Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(e) = client.mine().await {
                    eprintln!("background miner: {e}");
                }
            }
        }));
        self
    }

    /// A sender for dev account `index`.
    pub(crate) fn sender(&self, index: usize) -> Arc<TxSender> {
        self.sender_for(dev_signer(index).expect("dev account"))
    }

    /// A sender for any key.
    pub(crate) fn sender_for(&self, signer: PrivateKeySigner) -> Arc<TxSender> {
        Arc::new(TxSender::with_config(self.client.clone(), signer, test_sender_config()))
    }

    /// The ETH balance of `who` now.
    pub(crate) async fn eth_balance(&self, who: Address) -> U256 {
        self.client.balance(who, alloy::eips::BlockId::latest()).await.unwrap()
    }

    /// The `TestToken` balance of `who` now.
    pub(crate) async fn token_balance(&self, token: Address, who: Address) -> U256 {
        let out = self
            .client
            .call(
                &call_req(token, TestToken::balanceOfCall { account: who }),
                alloy::eips::BlockId::latest(),
            )
            .await
            .unwrap();
        TestToken::balanceOfCall::abi_decode_returns(&out).unwrap()
    }

    /// Moves the L1 clock forward by `seconds` and mines a block at the new time.
    pub(crate) async fn advance(&self, seconds: u64) {
        self.client.increase_time(seconds).await.unwrap();
        self.client.mine().await.unwrap();
    }
}

impl Drop for TestL1 {
    fn drop(&mut self) {
        if let Some(miner) = self.miner.take() {
            miner.abort();
        }
    }
}

/// A real anvil for the tests (the launcher lives in `ply_l1::anvil`).
pub(crate) use ply_l1::anvil::Anvil;

/// Starts anvil on a free loopback port; `None` when it is missing and `PLY_SKIP_ANVIL=1`,
/// otherwise a missing anvil fails the test with "run npm ci".
pub(crate) fn start_anvil() -> Option<Anvil> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Anvil::for_tests(&root).unwrap_or_else(|e| panic!("{e}"))
}

/// A call of `call` on `to`.
pub(crate) fn call_req(to: Address, call: impl SolCall) -> TransactionRequest {
    TransactionRequest::default().to(to).input(call.abi_encode().into())
}

/// Sends a call and waits for its successful receipt.
pub(crate) async fn send(sender: &TxSender, to: Address, call: impl SolCall) -> TransactionReceipt {
    sender.send_and_check(call_req(to, call)).await.unwrap()
}

/// Sends a call with ETH and waits for its successful receipt.
pub(crate) async fn send_value(
    sender: &TxSender,
    to: Address,
    call: impl SolCall,
    value: U256,
) -> TransactionReceipt {
    sender.send_and_check(call_req(to, call).value(value)).await.unwrap()
}

/// What a mined transaction cost its sender, in wei: `gasUsed * effectiveGasPrice`.
pub(crate) fn gas_cost(receipt: &TransactionReceipt) -> U256 {
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

/// The revert data of an L1 error (fails the test for any other error).
pub(crate) fn revert_data(error: &ply_l1::Error) -> Bytes {
    match error {
        ply_l1::Error::Reverted { data, .. } => data.clone(),
        other => panic!("expected a revert, got {other}"),
    }
}

/// Decodes the revert data of an L1 error as one of `I`'s custom errors.
pub(crate) fn decode_revert<I: SolInterface>(error: &ply_l1::Error) -> I {
    let data = revert_data(error);
    I::abi_decode(&data).unwrap_or_else(|e| panic!("revert data {data} does not decode: {e}"))
}

// ------------------------------------------------------------------------------ deployment

/// The rollup as deployed for a test: contracts, configuration, the L1 block to read from.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    /// Bridge and Rollup.
    pub(crate) contracts: RollupContracts,
    /// The rollup's configuration (the sequencer's and the derivation node's).
    pub(crate) config: RollupConfig,
    /// The services' configuration.
    pub(crate) service: ServiceConfig,
    /// An L1 block at or before the deployment: where watchers start reading.
    pub(crate) start_block: u64,
    /// The output bond.
    pub(crate) bond: U256,
}

/// The knobs of a test deployment.
#[derive(Debug, Clone)]
pub(crate) struct DeployOptions {
    pub(crate) challenge_window: u64,
    pub(crate) inclusion_deadline: u64,
    pub(crate) l1_confirmations: u64,
    pub(crate) batch: BatchLimits,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            challenge_window: 60,
            inclusion_deadline: 3600,
            l1_confirmations: 1,
            batch: BatchLimits {
                max_txs: 20,
                max_bytes: 100_000,
                max_age: Duration::from_millis(500),
            },
        }
    }
}

/// The batcher's key (the Rollup's `sequencer`): dev account 8.
pub(crate) fn batcher_key() -> PrivateKeySigner {
    dev_signer(8).unwrap()
}

/// The proposer's key: dev account 9.
pub(crate) fn proposer_key() -> PrivateKeySigner {
    dev_signer(9).unwrap()
}

/// The node's L1 keys.
pub(crate) fn node_keys() -> NodeKeys {
    NodeKeys { batcher: batcher_key(), proposer: proposer_key() }
}

/// Deploys Bridge and Rollup from dev account 0, with dev account 8 as the batcher and 9 as
/// the proposer, and a bond of 0.1 ETH.
pub(crate) async fn deploy_rollup(l1: &TestL1, options: DeployOptions) -> Deployment {
    let start_block = l1.client.block_number().await.unwrap();
    let params = DeployParams {
        proposer_bond: bond(),
        challenge_window: options.challenge_window,
        inclusion_deadline: options.inclusion_deadline,
        token_governor: l1.sender(0).address(),
        ..DeployParams::devnet(
            batcher_key().address(),
            LedgerConfig::new(fee_account()),
            L2_CHAIN_ID,
        )
    };
    let contracts = deploy(&l1.sender(0), &params).await.unwrap();
    Deployment::new(contracts, &options, start_block)
}

/// The output bond of the test rollups: 0.1 ETH.
pub(crate) fn bond() -> U256 {
    milli(100)
}

impl Deployment {
    /// The configuration of the rollup at `contracts` (deployed with `options`).
    pub(crate) fn new(
        contracts: RollupContracts,
        options: &DeployOptions,
        start_block: u64,
    ) -> Self {
        let config = RollupConfig {
            l2_chain_id: L2_CHAIN_ID,
            rollup: contracts.rollup,
            bridge: contracts.bridge,
            ledger: LedgerConfig::new(fee_account()),
            block_time: Duration::from_millis(100),
            max_block_txs: 1_000,
            l1_confirmations: options.l1_confirmations,
            batch: options.batch,
        };
        let service = ServiceConfig {
            rollup: config.clone(),
            contracts,
            bond: bond(),
            poll: Duration::from_millis(50),
            clock: SystemClock::shared(),
        };
        Self { contracts, config, service, start_block, bond: bond() }
    }
}

/// Deploys a `TestToken` from dev account 0 and registers it on the bridge; returns its L1
/// address and its L2 token id.
pub(crate) async fn deploy_token(l1: &TestL1, deployment: &Deployment) -> (Address, TokenId) {
    let deployer = l1.sender(0);
    let args = TestToken::constructorCall {
        name_: "Test Token".into(),
        symbol_: "TT".into(),
        decimals_: 18,
    };
    let mut code = TestToken::BYTECODE.to_vec();
    code.extend_from_slice(&args.abi_encode());
    let token = deployer.deploy(code.into()).await.unwrap();
    let receipt =
        send(&deployer, deployment.contracts.bridge, Bridge::registerTokenCall { token }).await;
    let registered = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Bridge::TokenRegistered::decode_log(&log.inner).ok())
        .expect("registerToken emits TokenRegistered");
    assert_eq!(registered.token, token);
    (token, registered.id)
}

impl Deployment {
    /// Starts a rollup node on `dir`, its API on a free loopback port.
    pub(crate) async fn start_node(&self, l1: &TestL1, dir: &Path) -> RollupNode {
        self.start_node_with_clock(l1, dir, self.service.clock.clone()).await
    }

    /// Starts a rollup node on `dir` whose blocks seal and batches fall due by `clock`.
    pub(crate) async fn start_node_with_clock(
        &self,
        l1: &TestL1,
        dir: &Path,
        clock: DynClock,
    ) -> RollupNode {
        let node = RollupNode::start(
            l1.client.clone(),
            ServiceConfig { clock, ..self.service.clone() },
            node_keys(),
            dir,
            "127.0.0.1:0".parse().unwrap(),
            self.start_block,
        )
        .await
        .unwrap();
        assert!(node.rpc_addr.ip().is_loopback());
        node
    }

    /// Starts a derivation node from the deployment block, at the rollup's confirmation depth.
    pub(crate) fn start_derivation(&self, client: DynL1Client) -> Deriver {
        let node = DerivationNode::new(client, self.config.clone(), self.config.l1_confirmations)
            .unwrap()
            .with_start_block(self.start_block)
            .with_poll_interval(Duration::from_millis(50));
        let core = node.derivation();
        let mut events = node.subscribe();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let collector = {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(event) => seen.lock().unwrap().push(event),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            panic!("the test fell {n} derivation events behind")
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        let runner = tokio::spawn(async move {
            if let Err(e) = node.run().await {
                eprintln!("derivation node stopped: {e}");
            }
        });
        Deriver { core, events: seen, tasks: vec![runner, collector] }
    }
}

/// A running derivation node and everything it reported.
pub(crate) struct Deriver {
    /// The derivation core (derived ledger and outputs).
    pub(crate) core: Arc<Mutex<Derivation>>,
    events: Arc<Mutex<Vec<DerivationEvent>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Deriver {
    /// Every event so far.
    pub(crate) fn events(&self) -> Vec<DerivationEvent> {
        self.events.lock().unwrap().clone()
    }

    /// The batch indices whose outputs the node found agreeing, after checking that nothing
    /// went wrong (no mismatch, no malformed batch, no skipped transaction or deposit, no halt).
    pub(crate) fn agreed(&self) -> Vec<u64> {
        let mut agreed = Vec::new();
        for event in self.events() {
            match event {
                DerivationEvent::OutputAgrees { index } => agreed.push(index),
                DerivationEvent::BatchDerived { .. } => {}
                bad => panic!("the derivation node reported {bad:?}"),
            }
        }
        agreed
    }
}

impl Drop for Deriver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

// ------------------------------------------------------------------------------ L2 users

/// A signed transfer.
pub(crate) fn transfer(
    signer: &PrivateKeySigner,
    to: Address,
    token: TokenId,
    amount: U256,
    fee: U256,
    nonce: u64,
    config: &RollupConfig,
) -> SignedTx {
    Tx::Transfer(Transfer { from: signer.address(), to, token, amount, fee, nonce })
        .sign(signer, &config.domain())
        .unwrap()
}

/// A signed withdrawal to the L1 address `to`.
pub(crate) fn withdrawal(
    signer: &PrivateKeySigner,
    to: Address,
    token: TokenId,
    amount: U256,
    fee: U256,
    nonce: u64,
    config: &RollupConfig,
) -> SignedTx {
    Tx::Withdrawal(Withdrawal { from: signer.address(), to, token, amount, fee, nonce })
        .sign(signer, &config.domain())
        .unwrap()
}

/// What the L2 must hold: balances, nonces and fees, as the test's transactions imply.
#[derive(Debug, Default)]
pub(crate) struct Model {
    balances: BTreeMap<(Address, TokenId), U256>,
    nonces: BTreeMap<Address, u64>,
}

impl Model {
    pub(crate) fn credit(&mut self, who: Address, token: TokenId, amount: U256) {
        *self.balances.entry((who, token)).or_default() += amount;
    }

    pub(crate) fn debit(&mut self, who: Address, token: TokenId, amount: U256) {
        let balance = self.balances.entry((who, token)).or_default();
        *balance = balance.checked_sub(amount).expect("the test overspends");
    }

    /// The next nonce of `who`.
    pub(crate) fn nonce(&self, who: Address) -> u64 {
        self.nonces.get(&who).copied().unwrap_or_default()
    }

    /// Books a transaction the sequencer confirmed.
    pub(crate) fn apply(&mut self, tx: &Tx) {
        let (from, token, amount, fee) = (tx.sender(), tx.token(), tx.amount(), tx.fee());
        assert_eq!(tx.nonce(), self.nonce(from), "the test signs nonces in order");
        self.debit(from, token, amount + fee);
        self.credit(fee_account(), token, fee);
        if let Tx::Transfer(t) = tx {
            self.credit(t.to, token, amount);
        }
        *self.nonces.entry(from).or_default() += 1;
    }

    pub(crate) fn balance(&self, who: Address, token: TokenId) -> U256 {
        self.balances.get(&(who, token)).copied().unwrap_or_default()
    }

    pub(crate) fn supply(&self, token: TokenId) -> U256 {
        self.balances.iter().filter(|((_, t), _)| *t == token).map(|(_, b)| *b).sum()
    }
}

/// A client of the sequencer's JSON-RPC API over HTTP.
#[derive(Debug, Clone)]
pub(crate) struct SequencerRpc {
    url: String,
    http: reqwest::Client,
}

/// A JSON-RPC error answer.
#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code)]
pub(crate) struct RpcError {
    /// The code.
    pub(crate) code: i64,
    /// The message.
    pub(crate) message: String,
}

impl SequencerRpc {
    /// A client of the API at `addr`.
    pub(crate) fn new(addr: std::net::SocketAddr) -> Self {
        Self { url: format!("http://{addr}"), http: reqwest::Client::new() }
    }

    /// Calls `method`: `Err` with the server's error object or the transport's failure.
    pub(crate) async fn try_call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, CallError> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| CallError::Transport(format!("{method} to {}: {e}", self.url)))?;
        let response: serde_json::Value = response
            .json()
            .await
            .map_err(|e| CallError::Transport(format!("{method} to {}: {e}", self.url)))?;
        if let Some(error) = response.get("error") {
            return Err(CallError::Rpc(serde_json::from_value(error.clone()).unwrap()));
        }
        Ok(serde_json::from_value(response["result"].clone())
            .unwrap_or_else(|e| panic!("{method} answered {response}: {e}")))
    }

    /// Calls `method` and fails the test on any error.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> T {
        self.try_call(method, params).await.unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }
}

/// Why a call of the sequencer's API failed.
#[derive(Debug, Clone)]
pub(crate) enum CallError {
    /// The server answered with an error.
    #[allow(dead_code)]
    Rpc(RpcError),
    /// No answer: the connection failed or broke.
    #[allow(dead_code)]
    Transport(String),
}

// ------------------------------------------------------------------------------- waiting

/// Polls `probe` every 50 ms until it returns `Some`, for at most [`WAIT`]; fails the test
/// with `what` otherwise.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {WAIT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The calldata of `Rollup.appendBatch`, for tests that append by hand.
pub(crate) fn append_batch_call(new_deposit_count: u64, data: Vec<u8>) -> Rollup::appendBatchCall {
    Rollup::appendBatchCall { newQueueCount: U256::from(new_deposit_count), data: data.into() }
}
