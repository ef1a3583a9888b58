//! `ply bench l1`: native ETH transfers on the embedded L1, in-process and through JSON-RPC,
//! and on anvil with the very same signed transactions, in one run.
//!
//! Every figure includes signature recovery: the benchmark hands the chain raw signed bytes,
//! as a node receives them. Transactions are signed before the clock starts (that is the
//! wallet's work, not the chain's).

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    rpc::client::RpcClient,
    signers::local::PrivateKeySigner,
};
use clap::Args;
use ply_l1::{
    anvil::{Anvil, find_anvil},
    chain::{Chain, ChainConfig, Mining, PooledTx},
    node::Node,
};
use serde_json::json;
use std::time::Instant;

/// Options of `ply bench l1`.
#[derive(Debug, Args)]
pub(crate) struct L1BenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Transfers executed in-process.
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// Transfers sent through JSON-RPC (to ply and to anvil).
    #[arg(long, default_value_t = 10_000)]
    rpc_txs: usize,
    /// Concurrent JSON-RPC clients (one sending account each, at most 10).
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Skip the anvil comparison.
    #[arg(long)]
    no_anvil: bool,
}

/// `count` transfers from the dev accounts, round robin, each signed with its nonce, to 1,000
/// distinct recipients. Returns the raw transactions per sender, in nonce order.
fn signed_transfers(count: usize, senders: usize) -> Vec<Vec<Bytes>> {
    let signers: Vec<PrivateKeySigner> =
        ply_core::dev::dev_signers().into_iter().take(senders).collect();
    let mut out = vec![Vec::new(); signers.len()];
    for i in 0..count {
        let s = i % signers.len();
        let nonce = out[s].len() as u64;
        let recipient = Address::from_word(B256::from(U256::from(0x1000 + i % 1000)));
        let mut tx = TxEip1559 {
            chain_id: ply_l1::chain::DEV_CHAIN_ID,
            nonce,
            gas_limit: 21_000,
            // Room for the base fee to rise while full blocks follow each other.
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(recipient),
            value: U256::from(1_000_000_000u64 + i as u64),
            ..Default::default()
        };
        let signature = signers[s].sign_transaction_sync(&mut tx).expect("local signing");
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        out[s].push(envelope.encoded_2718().into());
    }
    out
}

/// In-process: decode and recover on every core, pool, then mine full blocks.
fn in_process(raws: &[Vec<Bytes>]) -> eyre::Result<serde_json::Value> {
    let mut chain = Chain::new(ChainConfig { mining: Mining::Manual, ..ChainConfig::default() });
    let all: Vec<&Bytes> = {
        // Interleave senders as a network would deliver them.
        let longest = raws.iter().map(Vec::len).max().unwrap_or(0);
        (0..longest).flat_map(|i| raws.iter().filter_map(move |r| r.get(i))).collect()
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let start = Instant::now();
    let chunk = all.len().div_ceil(threads).max(1);
    let decoded: Vec<Result<PooledTx, _>> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                scope
                    .spawn(move || part.iter().map(|raw| PooledTx::decode(raw)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("decoder thread")).collect()
    });
    let recovered = start.elapsed();
    for tx in decoded {
        chain.admit(tx?)?;
    }
    let blocks = chain.mine_pending()?;
    let elapsed = start.elapsed();
    let mined: usize = blocks.iter().map(|b| b.transactions.len()).sum();
    eyre::ensure!(mined == all.len(), "mined {mined} of {} transfers", all.len());
    Ok(json!({
        "transfers": mined,
        "blocks": blocks.len(),
        "threads": threads,
        "seconds": elapsed.as_secs_f64(),
        "decode_and_recover_seconds": recovered.as_secs_f64(),
        "transfers_per_second": mined as f64 / elapsed.as_secs_f64(),
    }))
}

/// Through JSON-RPC: one client per sender, each sending its transactions in nonce order with
/// `eth_sendRawTransaction`, all clients at once.
async fn over_rpc(url: &str, raws: &[Vec<Bytes>]) -> eyre::Result<serde_json::Value> {
    let url: url::Url = url.parse()?;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for txs in raws.iter().cloned() {
        let client = RpcClient::new_http(url.clone());
        tasks.spawn(async move {
            for raw in txs {
                let _: B256 = client.request("eth_sendRawTransaction", (raw,)).await?;
            }
            eyre::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let elapsed = start.elapsed();
    let count: usize = raws.iter().map(Vec::len).sum();
    Ok(json!({
        "transfers": count,
        "clients": raws.len(),
        "seconds": elapsed.as_secs_f64(),
        "transfers_per_second": count as f64 / elapsed.as_secs_f64(),
    }))
}

fn tps(v: &serde_json::Value) -> Option<f64> {
    v.get("transfers_per_second").and_then(|x| x.as_f64())
}

pub(crate) async fn run(args: L1BenchArgs) -> eyre::Result<()> {
    let clients = args.clients.clamp(1, 10);
    eprintln!("signing {} + {} transfers...", args.txs, args.rpc_txs);
    let local = signed_transfers(args.txs, 10);
    let remote = signed_transfers(args.rpc_txs, clients);

    eprintln!("in-process: {} transfers", args.txs);
    let in_process = tokio::task::spawn_blocking(move || in_process(&local)).await??;

    eprintln!("JSON-RPC (ply): {} transfers, {clients} clients", args.rpc_txs);
    let node = Node::new(ChainConfig::default());
    let (addr, handle) = ply_l1::rpc::serve(node, "127.0.0.1:0".parse()?).await?;
    let ply_rpc = over_rpc(&format!("http://{addr}"), &remote).await?;
    handle.stop().ok();

    let anvil = if args.no_anvil {
        json!({ "skipped": "--no-anvil" })
    } else {
        match find_anvil(&std::env::current_dir()?) {
            None => json!({ "skipped": "anvil not found: run `npm ci` or set PLY_ANVIL" }),
            Some(binary) => {
                eprintln!("JSON-RPC (anvil {}): {} transfers", binary.display(), args.rpc_txs);
                let anvil = Anvil::spawn(&binary, &[])?;
                over_rpc(&anvil.url(), &remote).await?
            }
        }
    };

    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let report = json!({
        "benchmark": "l1",
        "workload": "native ETH transfers (21,000 gas), signed EIP-1559, signature recovery included",
        "embedded_in_process": in_process,
        "embedded_json_rpc": ply_rpc,
        "anvil_json_rpc": anvil,
        "ratios": {
            "embedded_json_rpc_vs_anvil": ratio(tps(&ply_rpc), tps(&anvil)),
            "embedded_in_process_vs_anvil": ratio(tps(&in_process), tps(&anvil)),
        },
        "targets": {
            "in_process_at_least_20000_per_s": tps(&in_process).map(|t| t >= 20_000.0),
            "json_rpc_at_least_5000_per_s": tps(&ply_rpc).map(|t| t >= 5_000.0),
            "faster_than_anvil": ratio(tps(&ply_rpc), tps(&anvil)).map(|r| r > 1.0),
        },
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let fmt =
            |v: Option<f64>| v.map(|t| format!("{t:>10.0}")).unwrap_or_else(|| "       n/a".into());
        println!("ply bench l1 — native ETH transfers, signature recovery included");
        println!("  embedded, in-process   {} transfers/s", fmt(tps(&in_process)));
        println!("  embedded, JSON-RPC     {} transfers/s", fmt(tps(&ply_rpc)));
        println!("  anvil, JSON-RPC        {} transfers/s", fmt(tps(&anvil)));
        if let Some(r) = ratio(tps(&ply_rpc), tps(&anvil)) {
            println!("  JSON-RPC: ply / anvil  {r:>10.2}x");
        }
    }
    Ok(())
}
