//! `ply devnet`: the L1 (embedded, or any node with `--l1 URL`), ply's contracts deployed on it,
//! and the optimistic rollup's nodes (sequencer with its API, batcher, proposer, deposit
//! watcher, derivation node), until Ctrl-C.

use alloy::primitives::{Address, U256};
use clap::Args;
use eyre::WrapErr;
use ply_contracts::{Bridge, TestToken};
use ply_l1::client::{DynL1Client, EmbeddedClient, RpcClient, TxSender};
use ply_ledger::LedgerConfig;
use ply_rollup::{
    BatchLimits, RollupConfig,
    derivation::{DerivationEvent, DerivationNode},
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
    use alloy::sol_types::SolCall;
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
        Bridge::registerTokenCall { l1Token: token }.abi_encode(),
    )
    .await?;
    Ok(Deployment { message_inbox, rollup, test_token: token })
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
    };
    let keys = NodeKeys {
        batcher: ply_core::dev::dev_signer(BATCHER_ACCOUNT)?,
        proposer: ply_core::dev::dev_signer(PROPOSER_ACCOUNT)?,
    };
    let node = RollupNode::start(
        client.clone(),
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
