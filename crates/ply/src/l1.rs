//! `ply l1`: the embedded L1 as a standalone dev node.

use clap::Args;
use eyre::WrapErr;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID, Mining},
    node::Node,
};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Options of the embedded L1.
#[derive(Debug, Clone, Args)]
pub(crate) struct L1Args {
    /// Port for JSON-RPC (HTTP and WebSocket), on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    pub(crate) port: u16,
    /// Chain id.
    #[arg(long, default_value_t = DEV_CHAIN_ID)]
    pub(crate) chain_id: u64,
    /// Mine a block every SECS seconds instead of one per transaction.
    #[arg(long, value_name = "SECS")]
    pub(crate) block_time: Option<f64>,
    /// Keep the chain in DIR across restarts (in memory without it).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Block gas limit.
    #[arg(long, default_value_t = 30_000_000)]
    pub(crate) gas_limit: u64,
}

/// Builds the node `args` describe.
pub(crate) fn build_node(args: &L1Args) -> eyre::Result<(Node, Option<Duration>)> {
    let block_time = match args.block_time {
        Some(secs) if !(secs > 0.0 && secs.is_finite()) => {
            eyre::bail!("--block-time must be a positive number of seconds, got {secs}")
        }
        Some(secs) => Some(Duration::from_secs_f64(secs)),
        None => None,
    };
    let config = ChainConfig {
        chain_id: args.chain_id,
        block_gas_limit: args.gas_limit,
        mining: if block_time.is_some() { Mining::Manual } else { Mining::Instant },
        ..ChainConfig::default()
    };
    let node = match &args.data_dir {
        Some(dir) => Node::open(config, dir)
            .wrap_err_with(|| format!("opening the chain in {}", dir.display()))?,
        None => Node::new(config),
    };
    Ok((node, block_time))
}

/// Starts the node and its RPC server; returns the server's address and handle.
pub(crate) async fn start(
    args: &L1Args,
) -> eyre::Result<(Node, SocketAddr, jsonrpsee::server::ServerHandle)> {
    let (node, block_time) = build_node(args)?;
    if let Some(interval) = block_time {
        node.spawn_interval_miner(interval);
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let (bound, handle) = ply_l1::rpc::serve(node.clone(), addr).await?;
    Ok((node, bound, handle))
}

pub(crate) async fn run(args: L1Args) -> eyre::Result<()> {
    let (node, addr, handle) = start(&args).await?;
    let (chain_id, head) = node.with(|c| (c.chain_id(), c.block_number()));
    println!("ply L1 (embedded revm dev chain)");
    println!("chain id:  {chain_id}");
    println!("head:      block {head}");
    println!("JSON-RPC:  http://{addr}  ws://{addr}");
    crate::devnet::print_accounts();
    tracing::info!(%addr, "listening; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    handle.stop().ok();
    Ok(())
}
