//! `ply devnet`: the L1 (embedded, or any node with `--l1 URL`), ply's contracts deployed on it,
//! and (as the families land) their Layer 2 nodes, until Ctrl-C.

use clap::Args;
use eyre::WrapErr;
use ply_l1::client::{DynL1Client, EmbeddedClient, RpcClient, TxSender};
use std::sync::Arc;

/// Options of the devnet.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Use this Ethereum node (JSON-RPC URL) instead of the embedded L1.
    #[arg(long, value_name = "URL")]
    l1: Option<String>,
    /// Dev account (0-9) that deploys the contracts.
    #[arg(long, default_value_t = 0)]
    deployer: usize,
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

/// What the devnet deployed on the L1.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Deployment {
    /// The message inbox (the L1 → L2 message queue).
    pub(crate) message_inbox: alloy::primitives::Address,
}

/// Deploys ply's contracts with `deployer`.
pub(crate) async fn deploy(deployer: &TxSender) -> eyre::Result<Deployment> {
    let message_inbox = deployer
        .deploy(ply_contracts::MessageInbox::BYTECODE.clone())
        .await
        .wrap_err("deploying MessageInbox")?;
    Ok(Deployment { message_inbox })
}

pub(crate) async fn run(args: DevnetArgs) -> eyre::Result<()> {
    // Keep the embedded L1's server alive for the whole devnet.
    let mut server = None;
    let (client, l1_url): (DynL1Client, String) = match &args.l1 {
        Some(url) => (Arc::new(RpcClient::new(url)?), url.clone()),
        None => {
            let (node, addr, handle) = crate::l1::start(&args.embedded).await?;
            server = Some(handle);
            (Arc::new(EmbeddedClient::new(node)), format!("http://{addr}"))
        }
    };
    let chain_id =
        client.chain_id().await.wrap_err_with(|| format!("reaching the L1 at {l1_url}"))?;
    let signer = ply_core::dev::dev_signer(args.deployer)?;
    let deployer = TxSender::new(client.clone(), signer);
    let deployment = deploy(&deployer).await?;

    println!("ply devnet");
    println!(
        "L1:        {l1_url} (chain id {chain_id}){}",
        if args.l1.is_some() { "" } else { ", embedded revm" }
    );
    println!("contracts:");
    println!("  MessageInbox  {}", deployment.message_inbox);
    print_accounts();
    tracing::info!("devnet running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    if let Some(handle) = server {
        handle.stop().ok();
    }
    Ok(())
}
