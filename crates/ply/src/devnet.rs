//! `ply devnet`: the L1 (embedded, or any node with `--l1 URL`), ply's contracts deployed on it,
//! and the optimistic rollup's nodes (sequencer with its API, batcher, proposer, deposit
//! watcher, derivation node, a challenger and the proposer's defence in dispute games), until
//! Ctrl-C.

use alloy::{
    consensus::{SignableTransaction, TxEnvelope},
    eips::{BlockId, BlockNumberOrTag, Decodable2718, Encodable2718},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    rpc::types::{Filter, Header, Log, Transaction, TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use clap::Args;
use eyre::WrapErr;
use ply_contracts::{Bridge, Rollup, TestToken};
use ply_l1::client::{DynL1Client, EmbeddedClient, Fees, L1Client, RpcClient, TxSender};
use ply_ledger::LedgerConfig;
use ply_rollup::{
    BatchLimits, RollupConfig,
    derivation::{BatchTrace, DerivationEvent, DerivationNode},
    fraud::player::{Claims, run_player},
    node::{DeployParams, NodeKeys, RollupContracts, RollupNode, ServiceConfig},
};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// Options of the devnet.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Use this Ethereum node (JSON-RPC URL) instead of the embedded L1.
    #[arg(long, value_name = "URL")]
    l1: Option<String>,
    /// Dev account (0-9) that deploys the contracts.
    #[arg(long, default_value_t = 0)]
    deployer: usize,
    /// Port of the optimistic rollup's sequencer API.
    #[arg(long, default_value_t = 9545)]
    rollup_port: u16,
    /// The rollup's challenge window, in seconds (short on a devnet).
    #[arg(long, default_value_t = 30)]
    challenge_window: u64,
    /// L1 confirmations before the rollup acts on L1 data (a dev chain does not reorganise;
    /// raise it for a public testnet).
    #[arg(long, default_value_t = 0)]
    l1_confirmations: u64,
    /// Do not start the zk rollup and the validium (their first start runs a development
    /// setup of the batch circuit, cached afterwards).
    #[arg(long)]
    no_zk: bool,
    /// Make the devnet's proposer post a wrong output for the first batch with a transaction
    /// (and defend it with a trace that goes wrong halfway), so that the devnet's challenger
    /// disputes it and wins: watch it with `ply rollup dispute status`.
    #[arg(long)]
    lying_proposer: bool,
    /// Where the zk families' development keys are cached.
    #[arg(long)]
    zk_keys: Option<std::path::PathBuf>,
    #[command(flatten)]
    embedded: crate::l1::L1Args,
}

/// Prints the dev accounts and their keys.
pub(crate) fn print_accounts() {
    println!(
        "accounts (10,000 ETH each on the embedded L1; keys of the public test mnemonic, never \
         use them on a real network):"
    );
    for (i, (address, key)) in
        ply_core::dev::dev_addresses().iter().zip(ply_core::dev::DEV_PRIVATE_KEYS).enumerate()
    {
        println!("  ({i}) {address}  0x{key}");
    }
}

/// The L2 chain id of the devnet's optimistic rollup.
pub(crate) const ROLLUP_CHAIN_ID: u64 = 901;
/// Dev account that posts batches.
const BATCHER_ACCOUNT: usize = 8;
/// Dev account that proposes outputs.
const PROPOSER_ACCOUNT: usize = 9;

/// The devnet's challenger: a key of its own (no dev account's), funded by the deployer.
fn challenger_key() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256("ply devnet challenger")).expect("a valid key")
}

/// ETH the deployer gives the challenger for bonds and gas.
const CHALLENGER_FUNDS: u64 = 10;

/// `--lying-proposer`: the L1 as the devnet's rollup node sees it, except that the proposer's
/// output for the first batch with a transaction is re-signed (same key, same nonce) with a
/// wrong state commitment. The batcher's sender waits for the honest transaction's hash, so
/// receipts are looked up under the lie's hash.
#[derive(Debug)]
struct LyingProposer {
    inner: DynL1Client,
    proposer: PrivateKeySigner,
    rollup: Address,
    /// The batch lied about, once the batcher appended one with a transaction.
    target: Arc<std::sync::OnceLock<u64>>,
    /// Set once the lie is sent: the honest transaction's hash and the lie's.
    replaced: std::sync::OnceLock<(B256, B256)>,
}

impl LyingProposer {
    fn swapped(&self, hash: B256) -> B256 {
        match self.replaced.get() {
            Some((honest, lie)) if *honest == hash => *lie,
            _ => hash,
        }
    }

    /// The transaction to send instead of `raw` (`None`: send `raw`).
    async fn rewrite(&self, raw: &Bytes) -> eyre::Result<Option<Bytes>> {
        let Ok(TxEnvelope::Eip1559(signed)) = TxEnvelope::decode_2718(&mut raw.as_ref()) else {
            return Ok(None);
        };
        if signed.tx().to != TxKind::Call(self.rollup) || self.replaced.get().is_some() {
            return Ok(None);
        }
        let input = &signed.tx().input;
        if let Ok(append) = Rollup::appendBatchCall::abi_decode(input) {
            let has_tx =
                ply_rollup::batch::decode(&append.data)?.blocks.iter().any(|b| !b.txs.is_empty());
            if has_tx && self.target.get().is_none() {
                let req = TransactionRequest::default()
                    .to(self.rollup)
                    .input(Bytes::from(Rollup::batchCountCall {}.abi_encode()).into());
                let out = self.inner.call(&req, alloy::eips::BlockId::latest()).await?;
                let index = Rollup::batchCountCall::abi_decode_returns(&out)?.to::<u64>();
                self.target.set(index).ok();
            }
            return Ok(None);
        }
        let Ok(mut propose) = Rollup::proposeOutputCall::abi_decode(input) else {
            return Ok(None);
        };
        if Some(propose.batchIndex.to::<u64>()) != self.target.get().copied() {
            return Ok(None);
        }
        propose.stateCommitment = keccak256(propose.stateCommitment);
        let mut tx = signed.tx().clone();
        tx.input = propose.abi_encode().into();
        let signature = self.proposer.sign_transaction_sync(&mut tx)?;
        let lie = TxEnvelope::from(tx.into_signed(signature));
        self.replaced.set((*signed.hash(), *lie.tx_hash())).ok();
        tracing::warn!(batch = %propose.batchIndex, "--lying-proposer: proposing a WRONG output");
        Ok(Some(lie.encoded_2718().into()))
    }
}

// jsonrpsee re-exports async-trait, which `L1Client` is written with.
#[jsonrpsee::core::async_trait]
impl L1Client for LyingProposer {
    async fn chain_id(&self) -> ply_l1::Result<u64> {
        self.inner.chain_id().await
    }
    async fn block_number(&self) -> ply_l1::Result<u64> {
        self.inner.block_number().await
    }
    async fn header(&self, block: BlockNumberOrTag) -> ply_l1::Result<Option<Header>> {
        self.inner.header(block).await
    }
    async fn balance(&self, address: Address, block: BlockId) -> ply_l1::Result<U256> {
        self.inner.balance(address, block).await
    }
    async fn nonce(&self, address: Address, block: BlockId) -> ply_l1::Result<u64> {
        self.inner.nonce(address, block).await
    }
    async fn code(&self, address: Address, block: BlockId) -> ply_l1::Result<Bytes> {
        self.inner.code(address, block).await
    }
    async fn call(&self, req: &TransactionRequest, block: BlockId) -> ply_l1::Result<Bytes> {
        self.inner.call(req, block).await
    }
    async fn estimate_gas(&self, req: &TransactionRequest) -> ply_l1::Result<u64> {
        self.inner.estimate_gas(req).await
    }
    async fn fees(&self) -> ply_l1::Result<Fees> {
        self.inner.fees().await
    }
    async fn send_raw_transaction(&self, raw: Bytes) -> ply_l1::Result<B256> {
        match self.rewrite(&raw).await {
            Ok(Some(lie)) => {
                self.inner.send_raw_transaction(lie).await?;
                let (honest, _) = self.replaced.get().expect("set with the lie");
                Ok(*honest)
            }
            Ok(None) => self.inner.send_raw_transaction(raw).await,
            Err(e) => {
                tracing::warn!(error = %e, "--lying-proposer could not read a transaction");
                self.inner.send_raw_transaction(raw).await
            }
        }
    }
    async fn receipt(&self, hash: B256) -> ply_l1::Result<Option<TransactionReceipt>> {
        self.inner.receipt(self.swapped(hash)).await
    }
    async fn transaction(&self, hash: B256) -> ply_l1::Result<Option<Transaction>> {
        self.inner.transaction(self.swapped(hash)).await
    }
    async fn logs(&self, filter: &Filter) -> ply_l1::Result<Vec<Log>> {
        self.inner.logs(filter).await
    }
    async fn mine(&self) -> ply_l1::Result<()> {
        self.inner.mine().await
    }
    async fn increase_time(&self, seconds: u64) -> ply_l1::Result<()> {
        self.inner.increase_time(seconds).await
    }
    async fn snapshot(&self) -> ply_l1::Result<U256> {
        self.inner.snapshot().await
    }
    async fn revert(&self, id: U256) -> ply_l1::Result<bool> {
        self.inner.revert(id).await
    }
}

/// The lying proposer's claims in a game over batch `target`: its trace's hashes up to the
/// middle, something else from there on (the output it proposed is wrong, so its trace must go
/// wrong somewhere). Honest claims on every other batch.
fn lying_claims(target: Arc<std::sync::OnceLock<u64>>) -> Claims {
    Arc::new(move |trace: &BatchTrace, step: u64| {
        let honest = trace.trace.hash(step).unwrap_or_default();
        let lie_from = (trace.trace.steps() / 2).max(1);
        if target.get() == Some(&trace.batch.index) && step >= lie_from {
            keccak256(honest)
        } else {
            honest
        }
    })
}

/// What the devnet deployed on the L1.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Deployment {
    /// The message inbox (the L1 → L2 message queue of the first workout).
    pub(crate) message_inbox: Address,
    /// The optimistic rollup's contracts.
    pub(crate) rollup: RollupContracts,
    /// A test ERC-20, registered on the bridge as token 1, minted to every dev account.
    pub(crate) test_token: Address,
}

/// The optimistic rollup's ledger shape: the batcher's account is the fee account.
fn rollup_ledger() -> eyre::Result<LedgerConfig> {
    Ok(LedgerConfig::new(ply_core::dev::dev_signer(BATCHER_ACCOUNT)?.address()))
}

/// Deploys ply's contracts with `deployer`.
pub(crate) async fn deploy(deployer: &TxSender, challenge_window: u64) -> eyre::Result<Deployment> {
    let message_inbox = deployer
        .deploy(ply_contracts::MessageInbox::BYTECODE.clone())
        .await
        .wrap_err("deploying MessageInbox")?;
    let params = DeployParams {
        proposer_bond: U256::from(ply_core::ETHER / 10),
        challenge_window,
        inclusion_deadline: 600,
        token_governor: deployer.address(),
        ..DeployParams::devnet(
            ply_core::dev::dev_signer(BATCHER_ACCOUNT)?.address(),
            rollup_ledger()?,
            ROLLUP_CHAIN_ID,
        )
    };
    let rollup =
        ply_rollup::node::deploy(deployer, &params).await.wrap_err("deploying the rollup")?;
    let token = {
        use alloy::sol_types::SolConstructor;
        let mut code = TestToken::BYTECODE.to_vec();
        code.extend_from_slice(
            &TestToken::constructorCall {
                name_: "ply test token".into(),
                symbol_: "PLYT".into(),
                decimals_: 18,
            }
            .abi_encode(),
        );
        deployer.deploy(code.into()).await.wrap_err("deploying the test token")?
    };
    for address in ply_core::dev::dev_addresses() {
        let mint = TestToken::mintCall {
            to: address,
            amount: U256::from(1_000_000u64) * U256::from(ply_core::ETHER),
        };
        ply_rollup::node::call(deployer, token, mint.abi_encode()).await?;
    }
    ply_rollup::node::call(
        deployer,
        rollup.bridge,
        Bridge::registerTokenCall { token }.abi_encode(),
    )
    .await?;
    Ok(Deployment { message_inbox, rollup, test_token: token })
}

/// Sends `ether` ETH from `from` to `to`.
async fn fund(from: &TxSender, to: Address, ether: u64) -> eyre::Result<()> {
    let value = U256::from(ether) * U256::from(ply_core::ETHER);
    from.send_and_check(TransactionRequest::default().to(to).value(value)).await?;
    Ok(())
}

pub(crate) async fn run(args: DevnetArgs) -> eyre::Result<()> {
    // Keep the embedded L1's server alive for the whole devnet.
    let mut server = None;
    let (client, l1_url): (DynL1Client, String) = match &args.l1 {
        Some(url) => (Arc::new(RpcClient::new(url)?), url.clone()),
        None => {
            let (node, addr, handle) = crate::l1::start(&args.embedded).await?;
            if args.embedded.block_time.is_none() {
                // Instant mining stays, but an idle L1 still moves: challenge windows and
                // deadlines are measured in L1 block time.
                node.spawn_interval_miner(Duration::from_secs(2));
            }
            server = Some(handle);
            (Arc::new(EmbeddedClient::new(node)), format!("http://{addr}"))
        }
    };
    let chain_id =
        client.chain_id().await.wrap_err_with(|| format!("reaching the L1 at {l1_url}"))?;
    let deployer = TxSender::new(client.clone(), ply_core::dev::dev_signer(args.deployer)?);
    let deployment = deploy(&deployer, args.challenge_window).await?;
    let start_block = client.block_number().await?;

    let confirmations = args.l1_confirmations;
    let config = RollupConfig {
        l2_chain_id: ROLLUP_CHAIN_ID,
        rollup: deployment.rollup.rollup,
        bridge: deployment.rollup.bridge,
        ledger: rollup_ledger()?,
        block_time: Duration::from_millis(250),
        max_block_txs: 1_000,
        l1_confirmations: confirmations,
        batch: BatchLimits::default(),
    };
    // Each start deploys new contracts, so the L2 nodes keep their logs per deployment: a log
    // is never replayed against contracts that did not see it.
    let (data_dir, _temp) = match &args.embedded.data_dir {
        Some(dir) => (dir.join(format!("l2-{}", deployment.rollup.rollup)), None),
        None => {
            let temp = tempfile::tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let services = ServiceConfig {
        rollup: config.clone(),
        contracts: deployment.rollup,
        bond: U256::from(ply_core::ETHER / 10),
        poll: Duration::from_millis(200),
        clock: ply_rollup::node::SystemClock::shared(),
    };
    let proposer = ply_core::dev::dev_signer(PROPOSER_ACCOUNT)?;
    let keys = NodeKeys {
        batcher: ply_core::dev::dev_signer(BATCHER_ACCOUNT)?,
        proposer: proposer.clone(),
    };
    let target = Arc::new(std::sync::OnceLock::new());
    let node_l1: DynL1Client = if args.lying_proposer {
        Arc::new(LyingProposer {
            inner: client.clone(),
            proposer: proposer.clone(),
            rollup: deployment.rollup.rollup,
            target: target.clone(),
            replaced: Default::default(),
        })
    } else {
        client.clone()
    };
    // The dispute game: the proposer defends its outputs; a challenger of its own disputes
    // every wrong output.
    let challenger = TxSender::new(client.clone(), challenger_key());
    fund(&deployer, challenger.address(), CHALLENGER_FUNDS).await?;
    let claims = args.lying_proposer.then(|| lying_claims(target));
    let players =
        [(TxSender::new(node_l1.clone(), proposer), false, claims), (challenger, true, None)];
    for (sender, challenge, claims) in players {
        let player = crate::rollup::player(
            client.clone(),
            Arc::new(sender),
            config.clone(),
            start_block,
            challenge,
            claims,
        )?;
        tokio::spawn(run_player(player, Duration::from_millis(200)));
    }
    let node = RollupNode::start(
        node_l1,
        services,
        keys,
        &data_dir,
        SocketAddr::from(([127, 0, 0, 1], args.rollup_port)),
        start_block,
    )
    .await?;
    let derivation = DerivationNode::new(client.clone(), config, confirmations)?
        .with_start_block(start_block)
        .with_poll_interval(Duration::from_millis(250));
    let mut events = derivation.subscribe();
    tokio::spawn(derivation.run());
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                DerivationEvent::OutputAgrees { index } => {
                    tracing::info!(batch = index, "derivation node agrees with the proposed output")
                }
                DerivationEvent::OutputMismatch { batch, .. } => {
                    tracing::error!(batch, "derivation node DISAGREES with the proposed output")
                }
                other => tracing::debug!(?other, "derivation"),
            }
        }
    });

    let zk = if args.no_zk {
        None
    } else {
        Some(
            crate::zk::start_devnet_families(
                &client,
                args.zk_keys.clone(),
                &data_dir,
                deployment.test_token,
            )
            .await?,
        )
    };

    println!("ply devnet");
    let kind = if args.l1.is_some() { "" } else { ", embedded revm" };
    println!("L1:               {l1_url} (chain id {chain_id}{kind})");
    println!("optimistic rollup: http://{} (chain id {ROLLUP_CHAIN_ID})", node.rpc_addr);
    if let Some(zk) = &zk {
        zk.print();
    }
    println!("contracts:");
    println!("  Bridge         {}", deployment.rollup.bridge);
    println!("  Rollup         {}", deployment.rollup.rollup);
    println!(
        "  TestToken      {} (token 1 on every L2, minted to every dev account)",
        deployment.test_token
    );
    println!("  MessageInbox   {}", deployment.message_inbox);
    print_accounts();
    let challenger = challenger_key();
    println!(
        "challenger (disputes wrong outputs; the proposer, account {PROPOSER_ACCOUNT}, defends its own):\n  {}  0x{}",
        challenger.address(),
        alloy::hex::encode(challenger.to_bytes())
    );
    if args.lying_proposer {
        println!(
            "--lying-proposer: the output of the first batch with a transaction is wrong; watch \
             the dispute with `ply rollup dispute status`"
        );
    }
    println!("try: ply rollup deposit 1.5 && ply rollup balance");
    tracing::info!("devnet running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    node.stop().await;
    if let Some(zk) = zk {
        zk.stop().await;
    }
    if let Some(handle) = server {
        handle.stop().ok();
    }
    Ok(())
}
