//! `ply bench`: benchmarks that print their figures, with the L1 baseline measured in the same
//! run.

use clap::{Args, Subcommand};

mod channels;
mod l1;
mod rollup;
mod zk;

/// Options of `ply bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// State channels: L1 gas of the channel lifecycle and the break-even against L1 payments.
    Channels(channels::ChannelsBenchArgs),
    /// Native ETH transfers on the embedded L1 (in-process and JSON-RPC) and on anvil.
    L1(l1::L1BenchArgs),
    /// The optimistic rollup: sequencer throughput and latency, L1 bytes and gas per transfer.
    Rollup(rollup::RollupBenchArgs),
    /// The zk rollup and validium: constraints, proving time, verification gas, L1 bytes and gas.
    Zk(zk::ZkBenchArgs),
}

/// The size of mined transaction `hash` as it travels and is stored (its EIP-2718 encoding).
pub(crate) async fn l1_tx_bytes(
    client: &ply_l1::client::DynL1Client,
    hash: alloy::primitives::B256,
) -> eyre::Result<usize> {
    let tx = client.transaction(hash).await?.ok_or_else(|| eyre::eyre!("{hash} is not mined"))?;
    Ok(alloy::eips::Encodable2718::encode_2718_len(tx.inner.inner()))
}

pub(crate) async fn run(args: BenchArgs) -> eyre::Result<()> {
    match args.target {
        BenchTarget::Channels(a) => channels::run(a).await,
        BenchTarget::L1(a) => l1::run(a).await,
        BenchTarget::Rollup(a) => rollup::run(a).await,
        BenchTarget::Zk(a) => zk::run(a).await,
    }
}
