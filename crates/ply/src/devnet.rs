//! `ply devnet`: the L1 plus everything ply deploys on it.

use clap::Args;

/// Options of the devnet.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Use this Ethereum node (JSON-RPC URL) instead of the embedded L1.
    #[arg(long, value_name = "URL")]
    l1: Option<String>,
    #[command(flatten)]
    embedded: crate::l1::L1Args,
}

/// Prints the dev accounts and their keys.
pub(crate) fn print_accounts() {
    println!(
        "accounts (10,000 ETH each; keys from the public test mnemonic, never use them on a real network):"
    );
    for (i, (address, key)) in
        ply_core::dev::dev_addresses().iter().zip(ply_core::dev::DEV_PRIVATE_KEYS).enumerate()
    {
        println!("  ({i}) {address}  0x{key}");
    }
}

pub(crate) async fn run(args: DevnetArgs) -> eyre::Result<()> {
    let _ = args;
    eyre::bail!("devnet: not yet wired")
}
