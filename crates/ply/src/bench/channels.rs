//! `ply bench channels`: the L1 side of state channels, from real transactions on the
//! embedded L1 in one run: gas of open, deposit, cooperative close, a unilateral close
//! answered by an update and settled, unlock of 1 and of 10 locks, and a native transfer on
//! the same chain, with the number of payments after which a channel is cheaper than paying
//! on L1.
//!
//! Off-chain: direct payments per second and their latency between two TCP nodes with redb
//! stores. Not yet here: the same over three hops.

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use eyre::WrapErr;
use ply_channels::{
    BalanceProof,
    eip712::{ChannelDomain, CooperativeClose, NonClosingUpdate},
    l1::{ChannelContracts, ChannelsL1, DeployParams, deploy},
    lock::{Lock, PendingLocks, secrethash},
};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID},
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use serde_json::json;
use std::sync::Arc;

/// Options of `ply bench channels`.
#[derive(Debug, Args)]
pub(crate) struct ChannelsBenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Direct payments sent over one channel between two nodes.
    #[arg(long, default_value_t = 20_000)]
    payments: usize,
}

/// Two nodes on dev accounts 1 and 2 over loopback TCP, each with its redb store, one funded
/// channel; A pays B `n` times 1 wei. A payment's latency runs from A's `pay_direct` call to
/// B's `PaymentReceived` (A's state durable before sending, B's durable before it reports).
async fn direct_payments(n: usize) -> eyre::Result<serde_json::Value> {
    use ply_channels::{
        channel::channel_id,
        manager::{ChannelManager, Event, NodeConfig},
        node::{L1Input, NodeSettings, start},
        routing::{ChannelGraph, FeeSchedule},
        store::{RedbStore, Store},
    };
    use std::{collections::BTreeMap, time::Instant};
    let domain = ChannelDomain::new(DEV_CHAIN_ID, Address::repeat_byte(0x77));
    let config = NodeConfig {
        domain: domain.clone(),
        reveal_timeout: 10,
        fees: FeeSchedule::default(),
        max_lock_timeout: 200,
    };
    let keys = [dev_signer(1)?, dev_signer(2)?];
    let addrs = [keys[0].address(), keys[1].address()];
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    // The lower address dials: start the higher first.
    let order: Vec<usize> = if addrs[0] < addrs[1] { vec![1, 0] } else { vec![0, 1] };
    let mut listening = BTreeMap::new();
    let mut nodes: Vec<Option<ply_channels::node::NodeHandle>> = vec![None, None];
    for i in order {
        let store = RedbStore::open(dirs[i].path())?;
        let manager = ChannelManager::restore(config.clone(), keys[i].clone(), store.load()?);
        let handle = start(
            manager,
            Box::new(store),
            ChannelGraph::new(domain.clone(), 10),
            NodeSettings { listen: "127.0.0.1:0".parse()?, peers: listening.clone() },
        )
        .await?;
        listening.insert(addrs[i], handle.local_addr());
        nodes[i] = Some(handle);
    }
    let a = nodes[0].take().ok_or_else(|| eyre::eyre!("node A"))?;
    let b = nodes[1].take().ok_or_else(|| eyre::eyre!("node B"))?;
    let id = channel_id(addrs[0], addrs[1], Address::ZERO);
    for node in [&a, &b] {
        node.l1(L1Input::ChannelOpened {
            channel_id: id,
            generation: 1,
            participant1: addrs[0].min(addrs[1]),
            participant2: addrs[0].max(addrs[1]),
            token: Address::ZERO,
            settle_timeout: 500,
        })?;
        node.l1(L1Input::Deposit {
            channel_id: id,
            participant: addrs[0],
            total: U256::from(u64::MAX),
        })?;
        node.l1(L1Input::Block(100))?;
    }
    let mut events = b.subscribe();
    let receiver = tokio::spawn(async move {
        let mut got: BTreeMap<u64, Instant> = BTreeMap::new();
        while got.len() < n {
            match events.recv().await {
                Ok(Event::PaymentReceived { payment_id, .. }) => {
                    got.insert(payment_id, Instant::now());
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        got
    });
    // Payments in flight at once (each call returns once its state is durable; the node's
    // state thread commits what queued meanwhile in one fsync).
    const WINDOW: usize = 64;
    let a = std::sync::Arc::new(a);
    let began = Instant::now();
    let mut sent = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        if i >= WINDOW
            && let Some(done) = tasks.join_next().await
        {
            let (payment, start) = done??;
            sent.insert(payment, start);
        }
        let a = a.clone();
        let to = addrs[1];
        tasks.spawn(async move {
            let start = Instant::now();
            a.pay_direct(to, U256::from(1u64)).await.map(|p| (p, start))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (payment, start) = done??;
        sent.insert(payment, start);
    }
    let got = tokio::time::timeout(std::time::Duration::from_secs(120), receiver)
        .await
        .wrap_err("B did not receive every payment within 120 s")??;
    let elapsed = got.values().max().map_or(began.elapsed(), |t| t.duration_since(began));
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(id, s)| got.get(id).map(|r| r.duration_since(*s).as_secs_f64() * 1e3))
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).copied()
    };
    if let Ok(a) = std::sync::Arc::try_unwrap(a) {
        a.stop().await;
    }
    b.stop().await;
    Ok(json!({
        "payments": n,
        "received": got.len(),
        "payments_per_s": got.len() as f64 / elapsed.as_secs_f64(),
        "latency_ms_p50": pct(0.50),
        "latency_ms_p99": pct(0.99),
        "durable": "redb, one commit before each send (group commit)",
    }))
}

fn gas(r: &TransactionReceipt) -> u64 {
    r.gas_used
}

struct Party {
    key: PrivateKeySigner,
    l1: ChannelsL1,
}

fn party(client: &DynL1Client, contracts: ChannelContracts, i: usize) -> eyre::Result<Party> {
    let key = dev_signer(i)?;
    let sender = Arc::new(TxSender::new(client.clone(), key.clone()));
    Ok(Party { key, l1: ChannelsL1::new(sender, contracts) })
}

fn proof(
    contracts: ChannelContracts,
    id: B256,
    generation: u64,
    nonce: u64,
    transferred: U256,
    locks: &PendingLocks,
) -> BalanceProof {
    BalanceProof {
        chain_id: DEV_CHAIN_ID,
        token_network: contracts.token_network,
        channel_id: id,
        generation,
        nonce,
        transferred_amount: transferred,
        locked_amount: locks.locked_amount(),
        locks_root: locks.root(),
    }
}

fn locks(head: u64, tag: u8, n: usize) -> eyre::Result<(PendingLocks, Vec<B256>)> {
    let mut locks = PendingLocks::default();
    let mut secrets = Vec::new();
    for i in 0..n {
        let secret = B256::from(U256::from((u64::from(tag) << 32) | (i as u64 + 1)));
        locks = locks.with(Lock {
            amount: U256::from(1_000u64 + i as u64),
            expiration: head + 200,
            secrethash: secrethash(&secret),
        })?;
        secrets.push(secret);
    }
    Ok((locks, secrets))
}

pub(crate) async fn run(args: ChannelsBenchArgs) -> eyre::Result<()> {
    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let deployer = TxSender::new(client.clone(), dev_signer(0)?);
    let contracts = deploy(
        &deployer,
        &DeployParams {
            token_governor: deployer.address(),
            min_settle_timeout: 2,
            max_settle_timeout: 1000,
        },
    )
    .await
    .wrap_err("deploying the channel contracts")?;
    let domain = ChannelDomain::new(DEV_CHAIN_ID, contracts.token_network);
    let alice = party(&client, contracts, 1)?;
    let bob = party(&client, contracts, 2)?;
    let carol = party(&client, contracts, 3)?;
    let deposit = U256::from(10u64).pow(U256::from(18));

    eprintln!("{} direct payments over loopback between two nodes...", args.payments);
    let direct = direct_payments(args.payments).await?;
    eprintln!("open, deposit, cooperative close...");
    let opened = alice.l1.open_channel(carol.l1.address(), Address::ZERO, 10).await?;
    let id = opened.channel_id;
    let open_gas = gas(&opened.receipt);
    let deposit_gas = gas(&alice.l1.set_total_deposit(id, alice.l1.address(), deposit).await?);
    carol.l1.set_total_deposit(id, carol.l1.address(), deposit).await?;
    let coop =
        CooperativeClose { channelId: id, generation: 1, balance1: deposit, balance2: deposit };
    let (sa, sc) = (domain.sign(&coop, &alice.key)?, domain.sign(&coop, &carol.key)?);
    let (s1, s2) = if alice.l1.address() < carol.l1.address() { (sa, sc) } else { (sc, sa) };
    let coop_gas = gas(&alice.l1.cooperative_close(id, deposit, deposit, &s1, &s2).await?);

    eprintln!("unilateral close, update, settle, unlocks...");
    let id = alice.l1.open_channel(bob.l1.address(), Address::ZERO, 2).await?.channel_id;
    alice.l1.set_total_deposit(id, alice.l1.address(), deposit).await?;
    bob.l1.set_total_deposit(id, bob.l1.address(), deposit).await?;
    let head = client.block_number().await?;
    let (alice_locks, alice_secrets) = locks(head, 1, 1)?;
    let (bob_locks, bob_secrets) = locks(head, 2, 10)?;
    let alice_proof =
        proof(contracts, id, 1, 3, U256::from(5_000u64), &alice_locks).sign(&alice.key)?;
    let bob_proof = proof(contracts, id, 1, 7, U256::from(9_000u64), &bob_locks).sign(&bob.key)?;
    let close_gas = gas(&bob.l1.close_channel(id, Some(&alice_proof)).await?);
    let auth = domain.sign(
        &NonClosingUpdate {
            channelId: id,
            generation: 1,
            balanceProofHash: bob_proof.proof.struct_hash(),
        },
        &alice.key,
    )?;
    let update_gas = gas(&alice
        .l1
        .update_non_closing_balance_proof(
            id,
            bob.l1.address(),
            alice.l1.address(),
            &bob_proof,
            &auth,
        )
        .await?);
    for s in alice_secrets.iter().chain(&bob_secrets) {
        bob.l1.register_secret(*s).await?;
    }
    let settle_block = alice.l1.channel(id).await?.settle_block;
    while client.block_number().await? <= settle_block {
        client.mine().await?;
    }
    let settle_gas = gas(&alice.l1.settle_channel(id).await?);
    let unlock1_gas = gas(&bob
        .l1
        .unlock(id, 1, alice.l1.address(), bob.l1.address(), &alice_locks.encode())
        .await?);
    let unlock10_gas = gas(&alice
        .l1
        .unlock(id, 1, bob.l1.address(), alice.l1.address(), &bob_locks.encode())
        .await?);

    eprintln!("native L1 transfer...");
    let native = TransactionRequest::default().to(bob.l1.address()).value(U256::from(1u64));
    let native_gas = gas(&deployer.send_and_check(native).await?);

    // A channel's lifetime costs open + deposits of both + the close; each L1 payment costs
    // one native transfer.
    let lifetime_coop = open_gas + 2 * deposit_gas + coop_gas;
    let lifetime_dispute = open_gas + 2 * deposit_gas + close_gas + update_gas + settle_gas;
    let break_even_coop = lifetime_coop.div_ceil(native_gas);
    let break_even_dispute = lifetime_dispute.div_ceil(native_gas);

    let out = json!({
        "l1": "embedded",
        "gas": {
            "open": open_gas,
            "deposit": deposit_gas,
            "cooperative_close": coop_gas,
            "open_plus_cooperative_close": open_gas + coop_gas,
            "close": close_gas,
            "update_non_closing": update_gas,
            "settle": settle_gas,
            "close_update_settle": close_gas + update_gas + settle_gas,
            "unlock_1": unlock1_gas,
            "unlock_10": unlock10_gas,
            "native_transfer": native_gas,
        },
        "break_even_payments": {
            "cooperative": break_even_coop,
            "disputed": break_even_dispute,
        },
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "direct_one_channel": direct,
        "three_hops": null,
    });
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("channel L1 gas (embedded L1, real receipts)");
        for (name, value) in out["gas"].as_object().into_iter().flatten() {
            println!("  {name:<30} {value:>10}");
        }
        println!(
            "a channel beats L1 transfers after {break_even_coop} payments (cooperative close), \
             {break_even_dispute} (close + update + settle)"
        );
        println!("direct payments, one channel: {}", out["direct_one_channel"]);
    }
    Ok(())
}
