//! `ply`: the command-line entry point of the ply Layer 2 framework.
//!
//! Results go to stdout; logs (tracing) go to stderr.

mod bench;
mod channel;
mod devnet;
mod l1;
mod rollup;
mod zk;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// ply: Layer 2 systems for Ethereum, measured against the L1.
#[derive(Debug, Parser)]
#[command(name = "ply", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded Ethereum L1 dev chain alone (JSON-RPC over HTTP and WebSocket).
    L1(l1::L1Args),
    /// Start the L1 (embedded, or --l1 URL), deploy ply's contracts and run until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// The optimistic rollup: deposit, transfer, withdraw, claim, balance, status.
    Rollup(rollup::RollupArgs),
    /// The zk rollup and the validium: setup, deposit, transfer, withdraw, claim, exit.
    Zk(zk::ZkArgs),
    /// A member of a validium's data availability committee.
    Dac(zk::DacArgs),
    /// State channels: the watchtower.
    Channel(channel::ChannelArgs),
    /// Run a benchmark and print its figures.
    Bench(bench::BenchArgs),
}

impl Command {
    /// Whether the command runs until stopped, serving others (as opposed to one that prints
    /// its answer and exits).
    fn is_server(&self) -> bool {
        matches!(self, Command::L1(_) | Command::Devnet(_) | Command::Dac(_) | Command::Channel(_))
    }
}

/// Restores the default action of SIGPIPE (Rust ignores it), so that a one-shot command whose
/// reader goes away (`ply bench zk | head -1`) ends as command-line tools do, instead of
/// panicking in `println!`. Servers keep ignoring it; sockets never raise it either way (the
/// standard library writes to them with `MSG_NOSIGNAL`).
fn die_quietly_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: called before any thread is started; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> eyre::Result<()> {
    // arkworks instruments every gadget with spans (targets gr1cs, r1cs) whose fields format
    // the whole constraint system: enabled, they make synthesis quadratic. Always off.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("gr1cs=off".parse()?)
        .add_directive("r1cs=off".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    if !cli.command.is_server() {
        die_quietly_on_broken_pipe();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::L1(args) => l1::run(args).await,
            Command::Devnet(args) => devnet::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Channel(args) => channel::run(args).await,
            Command::Rollup(args) => rollup::run(args).await,
            Command::Zk(args) => zk::run(args).await,
            Command::Dac(args) => zk::run_dac(args).await,
        }
    })
}
