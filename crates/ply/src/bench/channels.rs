//! `ply bench channels`: the L1 side of state channels, from real transactions on the
//! embedded L1 in one run: gas of open, deposit, cooperative close, a unilateral close
//! answered by an update and settled, unlock of 1 and of 10 locks, and a native transfer on
//! the same chain, with the number of payments after which a channel is cheaper than paying
//! on L1.
//!
//! Off-chain: direct payments per second and their latency between two TCP nodes with redb
//! stores, and mediated payments over three hops (A-B-C-D).

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
    /// Mediated payments sent over three hops.
    #[arg(long, default_value_t = 2_000)]
    hop_payments: usize,
}

/// `k` nodes on dev accounts 1..=k over loopback TCP in a line, each with its redb store, a
/// channel between neighbours funded on both sides, every node told every channel and every
/// forwarding announcement.
async fn line(
    k: usize,
) -> eyre::Result<(Vec<Arc<ply_channels::node::NodeHandle>>, Vec<Address>, Vec<tempfile::TempDir>)>
{
    use ply_channels::{
        channel::channel_id,
        manager::{ChannelManager, NodeConfig},
        node::{L1Input, NodeSettings, start},
        routing::{ChannelGraph, ChannelUpdateData, FeeSchedule},
        store::{RedbStore, Store},
    };
    use std::collections::BTreeMap;
    let domain = ChannelDomain::new(DEV_CHAIN_ID, Address::repeat_byte(0x77));
    let config = NodeConfig {
        domain: domain.clone(),
        reveal_timeout: 10,
        fees: FeeSchedule::default(),
        max_lock_timeout: 200,
    };
    let keys: Vec<PrivateKeySigner> = (1..=k).map(dev_signer).collect::<Result<_, _>>()?;
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let dirs: Vec<tempfile::TempDir> =
        (0..k).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    // The lower address dials: start from the highest.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(addrs[i]));
    let mut listening = BTreeMap::new();
    let mut nodes: Vec<Option<Arc<ply_channels::node::NodeHandle>>> = vec![None; k];
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
        nodes[i] = Some(Arc::new(handle));
    }
    let nodes: Vec<_> = nodes.into_iter().flatten().collect();
    let funds = U256::from(u64::MAX);
    for node in &nodes {
        for i in 0..k - 1 {
            let (p, q) = (addrs[i], addrs[i + 1]);
            let id = channel_id(p, q, Address::ZERO);
            node.l1(L1Input::ChannelOpened {
                channel_id: id,
                generation: 1,
                participant1: p.min(q),
                participant2: p.max(q),
                token: Address::ZERO,
                settle_timeout: 500,
            })?;
            for participant in [p, q] {
                node.l1(L1Input::Deposit { channel_id: id, participant, total: funds })?;
            }
        }
        node.l1(L1Input::Block(100))?;
    }
    for i in 0..k - 1 {
        let announce = ChannelUpdateData {
            channel_id: channel_id(addrs[i], addrs[i + 1], Address::ZERO),
            generation: 1,
            node: addrs[i],
            partner: addrs[i + 1],
            capacity: funds,
            fees: FeeSchedule::default(),
            reveal_timeout: 10,
            sequence: 1,
        }
        .sign(&domain, &keys[i])?;
        for node in &nodes {
            node.graph_update(announce.clone())?;
        }
    }
    Ok((nodes, addrs, dirs))
}

/// Payments from the first node of a line of `k` to the last, `window` in flight: direct
/// (`k` = 2) or mediated. A payment's latency runs from the initiator's call to the target's
/// `PaymentReceived`; every node persists each state before it sends it.
async fn payments(k: usize, n: usize, window: usize) -> eyre::Result<serde_json::Value> {
    use ply_channels::manager::Event;
    use std::{collections::BTreeMap, time::Instant};
    let (nodes, addrs, _dirs) = line(k).await?;
    let (first, last) = (nodes[0].clone(), nodes[k - 1].clone());
    let target = addrs[k - 1];
    let mut events = last.subscribe();
    // At most `window` payments between the call and their receipt (a mediated payment holds
    // a lock in every channel of its route until then; a channel holds at most 160).
    let slots = Arc::new(tokio::sync::Semaphore::new(window));
    let released = slots.clone();
    let receiver = tokio::spawn(async move {
        let mut got: BTreeMap<u64, Instant> = BTreeMap::new();
        while got.len() < n {
            match events.recv().await {
                Ok(Event::PaymentReceived { payment_id, .. }) => {
                    got.insert(payment_id, Instant::now());
                    released.add_permits(1);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        got
    });
    // Each call returns once its state is durable; the node's state thread commits what
    // queued meanwhile in one fsync (group commit).
    let began = Instant::now();
    let mut sent = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        slots.acquire().await?.forget();
        while let Some(done) = tasks.try_join_next() {
            let (payment, start) = done??;
            sent.insert(payment, start);
        }
        let node = first.clone();
        tasks.spawn(async move {
            let start = Instant::now();
            let paid = if k == 2 {
                node.pay_direct(target, U256::from(1u64)).await
            } else {
                node.pay(target, U256::from(1u64)).await
            };
            paid.map(|p| (p, start))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (payment, start) = done??;
        sent.insert(payment, start);
    }
    let got = tokio::time::timeout(std::time::Duration::from_secs(120), receiver)
        .await
        .wrap_err("the target did not receive every payment within 120 s")??;
    let elapsed = got.values().max().map_or(began.elapsed(), |t| t.duration_since(began));
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(id, s)| got.get(id).map(|r| r.duration_since(*s).as_secs_f64() * 1e3))
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).copied()
    };
    drop((first, last));
    for node in nodes {
        if let Ok(node) = Arc::try_unwrap(node) {
            node.stop().await;
        }
    }
    Ok(json!({
        "hops": k - 1,
        "payments": n,
        "in_flight": window,
        "received": got.len(),
        "payments_per_s": got.len() as f64 / elapsed.as_secs_f64(),
        "latency_ms_p50": pct(0.50),
        "latency_ms_p99": pct(0.99),
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
    let direct = payments(2, args.payments, 64).await?;
    eprintln!("{} payments over three hops (A-B-C-D)...", args.hop_payments);
    let hops = payments(4, args.hop_payments, 16).await?;
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
        "three_hops": hops,
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
        println!("payments over three hops: {}", out["three_hops"]);
    }
    Ok(())
}
