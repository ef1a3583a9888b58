//! `ply channel`: state channels from the command line. For now the watchtower
//! (`ply channel watchtower`); the node and the wallet commands (open, deposit, pay, close,
//! settle, list, status) come with the node's CLI API.

use clap::{Args, Subcommand};
use eyre::WrapErr;
use ply_channels::{
    l1::{ChannelContracts, ChannelsL1},
    watchtower::service::{Watchtower, serve},
};
use ply_core::Address;
use ply_l1::client::{DynL1Client, RpcClient, TxSender};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// Options of `ply channel`.
#[derive(Debug, Args)]
pub(crate) struct ChannelArgs {
    #[command(subcommand)]
    command: ChannelCommand,
}

#[derive(Debug, Subcommand)]
enum ChannelCommand {
    /// A watchtower: holds clients' latest partner-signed proofs and answers a stale close
    /// on L1 while they are offline.
    Watchtower(WatchtowerArgs),
}

/// Options of `ply channel watchtower`.
#[derive(Debug, Args)]
pub(crate) struct WatchtowerArgs {
    /// The L1 JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    l1: String,
    /// The TokenNetwork contract.
    #[arg(long)]
    token_network: Address,
    /// The SecretRegistry contract.
    #[arg(long)]
    secret_registry: Address,
    /// The dev account (standard test mnemonic) that pays for updates.
    #[arg(long, default_value_t = 9)]
    account: usize,
    /// A private key (hex) instead of a dev account.
    #[arg(long)]
    private_key: Option<String>,
    /// The tower's redb database.
    #[arg(long, default_value = "watchtower.redb")]
    db: PathBuf,
    /// The client API's port on 127.0.0.1.
    #[arg(long, default_value_t = 9690)]
    port: u16,
    /// Blocks an event must be deep before the tower acts on it.
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Milliseconds between two reads of L1.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
}

pub(crate) async fn run(args: ChannelArgs) -> eyre::Result<()> {
    match args.command {
        ChannelCommand::Watchtower(a) => watchtower(a).await,
    }
}

async fn watchtower(args: WatchtowerArgs) -> eyre::Result<()> {
    let signer = match &args.private_key {
        Some(key) => ply_core::dev::parse_private_key(key)?,
        None => ply_core::dev::dev_signer(args.account)?,
    };
    let client: DynL1Client = Arc::new(RpcClient::new(&args.l1)?);
    let contracts = ChannelContracts {
        token_network: args.token_network,
        secret_registry: args.secret_registry,
    };
    let l1 = ChannelsL1::new(Arc::new(TxSender::new(client, signer)), contracts);
    let tower = Watchtower::open(&args.db, l1, args.confirmations, 0)
        .await
        .wrap_err_with(|| format!("opening the watchtower store {}", args.db.display()))?;
    let (addr, server) = serve(tower.clone(), ([127, 0, 0, 1], args.port).into()).await?;
    let poller = tower.spawn_loop(Duration::from_millis(args.poll_ms));
    eprintln!("watchtower for TokenNetwork {} listening on http://{addr}", args.token_network);
    println!("http://{addr}");
    tokio::signal::ctrl_c().await?;
    poller.abort();
    server.stop()?;
    server.stopped().await;
    Ok(())
}
