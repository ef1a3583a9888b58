//! `ply bench rollup`: the optimistic rollup against the L1, in one run.
//!
//! - Throughput: signed transfers through the sequencer, signatures checked (in parallel, as
//!   the RPC server does) and every confirmation durable (fsynced write-ahead log).
//! - Soft-confirmation latency at a fixed offered load.
//! - L1 bytes and L1 gas per transfer: real batches of those transfers appended to the Rollup
//!   contract on the embedded L1 (Prague/Osaka rules, EIP-7623 calldata floor), with the
//!   output proposal, at batch sizes 100 and 1,000, from real receipts.
//! - The L1 doing the same transfers natively, in the same run.
//! - A full dispute over a batch of 1,000 transfers whose output is wrong from a random
//!   transfer on: moves, each side's L1 gas, the one-step proof's gas, wall time.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use clap::Args;
use ply_contracts::Rollup;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID},
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use ply_ledger::{Deposit, LedgerConfig, SignedTx, Transfer, Tx, VerifiedTx};
use ply_rollup::{
    BatchLimits, RollupConfig, batch,
    node::{DeployParams, batch_of},
    sequencer::{L2Block, Sequencer},
};
use serde_json::json;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Options of `ply bench rollup`.
#[derive(Debug, Args)]
pub(crate) struct RollupBenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Transfers for the throughput run.
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// Offered load of the latency run, transfers per second.
    #[arg(long, default_value_t = 5_000)]
    rate: usize,
    /// Duration of the latency run, seconds.
    #[arg(long, default_value_t = 2)]
    seconds: u64,
    /// Transfers in the disputed batch.
    #[arg(long, default_value_t = 1_000)]
    dispute_transfers: usize,
}

const SENDERS: usize = 256;

fn user(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(format!("ply bench user {i}"))).expect("valid key")
}

fn bench_config(rollup: Address) -> RollupConfig {
    RollupConfig {
        l2_chain_id: 901,
        rollup,
        bridge: Address::ZERO,
        ledger: bench_ledger(),
        block_time: Duration::from_millis(200),
        max_block_txs: 1_000,
        l1_confirmations: 0,
        batch: BatchLimits::default(),
    }
}

/// `count` transfers round robin over the senders (each to the next sender), with the
/// senders' nonces starting at `first_nonce[s]`.
fn signed_transfers(
    signers: &[PrivateKeySigner],
    config: &RollupConfig,
    count: usize,
    nonces: &mut [u64],
) -> Vec<SignedTx> {
    let domain = config.domain();
    (0..count)
        .map(|i| {
            let s = i % signers.len();
            let tx = Tx::Transfer(Transfer {
                from: signers[s].address(),
                to: signers[(s + 1) % signers.len()].address(),
                token: 0,
                amount: U256::from(1_000_000_000_000_000u64),
                fee: U256::from(1_000_000_000_000u64),
                nonce: nonces[s],
            });
            nonces[s] += 1;
            tx.sign(&signers[s], &domain).expect("signing")
        })
        .collect()
}

/// Checks signatures on `threads` threads, in input order.
fn verify_all(
    txs: Vec<SignedTx>,
    config: &RollupConfig,
    threads: usize,
) -> eyre::Result<Vec<(SignedTx, VerifiedTx)>> {
    let domain = config.domain();
    let chunk = txs.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<SignedTx>> = txs.chunks(chunk).map(|c| c.to_vec()).collect();
    let results: Vec<Vec<_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let domain = domain.clone();
                scope.spawn(move || {
                    part.into_iter()
                        .map(|tx| tx.verify(&domain).map(|v| (tx, v)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("verifier thread")).collect()
    });
    Ok(results.into_iter().flatten().collect::<Result<Vec<_>, _>>()?)
}

async fn funded_sequencer(
    config: &RollupConfig,
    dir: &std::path::Path,
    signers: &[PrivateKeySigner],
) -> eyre::Result<Sequencer> {
    let sequencer = Sequencer::start(config, dir)?;
    let deposits = signers
        .iter()
        .enumerate()
        .map(|(i, s)| Deposit {
            queue_index: i as u64,
            to: s.address(),
            token: 0,
            amount: U256::from(1_000u64) * U256::from(ply_core::ETHER),
            ..Default::default()
        })
        .collect();
    sequencer.queue_deposits(deposits).await?;
    let last = signers.last().expect("senders").address();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sequencer.account(last).await?.is_none() {
        eyre::ensure!(Instant::now() < deadline, "funding deposits were not applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(sequencer)
}

/// Throughput: transfers arrive all at once; signatures are checked in chunks on every core
/// while the sequencer applies the chunks already checked (as an RPC server's workers and the
/// sequencer task overlap); the clock stops at the last durable confirmation.
async fn throughput(
    sequencer: &Sequencer,
    txs: Vec<SignedTx>,
    config: &RollupConfig,
) -> eyre::Result<serde_json::Value> {
    const CHUNK: usize = 500;
    let count = txs.len();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let permits = Arc::new(tokio::sync::Semaphore::new(threads));
    let start = Instant::now();
    let mut chunks = Vec::new();
    for chunk in txs.chunks(CHUNK) {
        let (chunk, config, permits) = (chunk.to_vec(), config.clone(), permits.clone());
        chunks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            tokio::task::spawn_blocking(move || verify_all(chunk, &config, 1)).await
        }));
    }
    let mut pending = Vec::with_capacity(count);
    for chunk in chunks {
        for (tx, v) in chunk.await??? {
            pending.push(sequencer.enqueue(tx, v).await?);
        }
    }
    for confirmation in pending {
        confirmation.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(json!({
        "transfers": count,
        "seconds": elapsed,
        "verifier_threads": threads,
        "transfers_per_second": count as f64 / elapsed,
    }))
}

/// Latency at a fixed offered load: every millisecond, `rate / 1000` transfers arrive; each
/// is verified and submitted on arrival, and its latency runs to its durable confirmation.
async fn latency(
    sequencer: &Sequencer,
    txs: Vec<SignedTx>,
    rate: usize,
    config: &RollupConfig,
) -> eyre::Result<serde_json::Value> {
    let per_ms = (rate / 1000).max(1);
    let domain = Arc::new(config.domain());
    let start = tokio::time::Instant::now();
    let mut waits = tokio::task::JoinSet::new();
    for (i, chunk) in txs.chunks(per_ms).enumerate() {
        tokio::time::sleep_until(start + Duration::from_millis(i as u64)).await;
        for tx in chunk.iter().cloned() {
            let (sequencer, domain) = (sequencer.clone(), domain.clone());
            let arrived = Instant::now();
            // Verified on arrival, as an RPC handler does before it hands the transaction on;
            // awaiting the enqueue keeps each sender's transactions in nonce order.
            let verified = tx.verify(&domain)?;
            let confirmation = sequencer.enqueue(tx, verified).await?;
            waits.spawn(async move { confirmation.await.map(|_| arrived.elapsed()) });
        }
    }
    let mut latencies = Vec::with_capacity(txs.len());
    while let Some(result) = waits.join_next().await {
        latencies.push(result??);
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Ok(json!({
        "offered_per_second": rate,
        "transfers": latencies.len(),
        "p50_ms": pct(0.50).as_secs_f64() * 1e3,
        "p99_ms": pct(0.99).as_secs_f64() * 1e3,
        "max_ms": latencies.last().map(|d| d.as_secs_f64() * 1e3),
    }))
}

/// The ledger shape of the benchmark's rollup (fee account 0xfe…fe).
fn bench_ledger() -> LedgerConfig {
    LedgerConfig::new(Address::repeat_byte(0xfe))
}

/// Appends a batch of the first `size` sequenced transfers to the Rollup and proposes its
/// output; returns bytes and gas per transfer from the receipts.
async fn post_batch(
    batcher: &TxSender,
    rollup: Address,
    blocks: &[Arc<L2Block>],
    size: usize,
    bond: U256,
) -> eyre::Result<serde_json::Value> {
    // Whole blocks, then trim the last one to exactly `size` transactions.
    let mut taken = Vec::new();
    let mut n = 0;
    for block in blocks.iter().filter(|b| b.deposits.is_empty()) {
        let mut block = block.as_ref().clone();
        block.txs.truncate(size - n);
        n += block.txs.len();
        taken.push(Arc::new(block));
        if n == size {
            break;
        }
    }
    eyre::ensure!(n == size, "only {n} transfers sequenced, {size} wanted");
    let data = batch::encode(&batch_of(&taken))?;
    let consumed = Rollup::consumedOperationsCall {}.abi_encode();
    let consumed = batcher
        .client()
        .call(
            &alloy::rpc::types::TransactionRequest::default()
                .to(rollup)
                .input(Bytes::from(consumed).into()),
            alloy::eips::BlockId::latest(),
        )
        .await?;
    let consumed = U256::from_be_slice(&consumed);
    // The sequencer proposes the batch's output in the same transaction: the output's execution
    // gas then hides under the batch's calldata floor (EIP-7623).
    let call = Rollup::appendBatchAndProposeCall {
        newQueueCount: consumed,
        data: data.clone().into(),
        stateCommitment: taken.last().expect("blocks").state_commitment,
        withdrawalRoot: ply_ledger::WithdrawalTree::empty_root(),
    };
    let receipt = batcher
        .send_and_check(
            alloy::rpc::types::TransactionRequest::default()
                .to(rollup)
                .value(bond)
                .input(Bytes::from(call.abi_encode()).into()),
        )
        .await?;
    let l1_bytes = super::l1_tx_bytes(batcher.client(), receipt.transaction_hash).await?;
    Ok(json!({
        "transfers": size,
        "batch_data_bytes": data.len(),
        "l1_tx_bytes": l1_bytes,
        "bytes_per_transfer": l1_bytes as f64 / size as f64,
        "append_and_propose_gas": receipt.gas_used,
        "gas_per_transfer": receipt.gas_used as f64 / size as f64,
    }))
}

/// A full dispute on a rollup of its own (deposits through its Bridge): a batch of the
/// deposits and `size` transfers, a proposer that posts a wrong output and claims the honest
/// trace up to a random transfer step and something else from there on, and an honest
/// challenger; both players play until the game ends. Gas comes from the receipts of the
/// transactions that emitted the Rollup's events, by sender.
async fn dispute(client: &DynL1Client, size: usize) -> eyre::Result<serde_json::Value> {
    use alloy::{rpc::types::Filter, sol_types::SolEvent};
    use ply_rollup::fraud::player::{Claims, honest_claims};
    let deployer = TxSender::new(client.clone(), ply_core::dev::dev_signer(0)?);
    let batcher = TxSender::new(client.clone(), ply_core::dev::dev_signer(8)?);
    let bond = U256::from(ply_core::ETHER / 10);
    let params = DeployParams {
        proposer_bond: bond,
        challenge_window: 3600,
        // Long enough that the players' thinking (deriving 1,000 transfers) never times out.
        clock_duration: 3600,
        inclusion_deadline: 3600,
        ..DeployParams::devnet(batcher.address(), bench_ledger(), 901)
    };
    let contracts = ply_rollup::node::deploy(&deployer, &params).await?;
    let start_block = client.block_number().await?;
    let config = RollupConfig { bridge: contracts.bridge, ..bench_config(contracts.rollup) };
    let signers: Vec<PrivateKeySigner> = (0..SENDERS).map(user).collect();
    for s in &signers {
        let call = ply_contracts::Bridge::depositETHCall { to: s.address() };
        let req = alloy::rpc::types::TransactionRequest::default()
            .to(contracts.bridge)
            .value(U256::from(ply_core::ETHER))
            .input(Bytes::from(call.abi_encode()).into());
        deployer.send_and_check(req).await?;
    }
    let reader = ply_rollup::l1::L1Reader::from_config(client.clone(), &config);
    let deposits = reader.deposits_in(start_block..=client.block_number().await?).await?;
    let queued = deposits.len() as u64;
    let dir = tempfile::tempdir()?;
    let sequencer = Sequencer::start(&config, dir.path())?;
    sequencer.queue_deposits(deposits).await?;
    let txs = signed_transfers(&signers, &config, size, &mut vec![0u64; SENDERS]);
    let mut pending = Vec::new();
    for (tx, v) in verify_all(txs, &config, 2)? {
        pending.push(sequencer.enqueue(tx, v).await?);
    }
    for confirmation in pending {
        confirmation.await?;
    }
    tokio::time::sleep(config.block_time * 2).await;
    let blocks = sequencer.blocks_from(0).await?;
    sequencer.shutdown().await;
    let data = batch::encode(&batch_of(&blocks))?;
    let append = Rollup::appendBatchCall { newQueueCount: U256::from(queued), data: data.into() };
    ply_rollup::node::call(&batcher, contracts.rollup, append.abi_encode()).await?;

    let player = |key: PrivateKeySigner, challenge: bool, claims: Claims| {
        let sender = Arc::new(TxSender::new(client.clone(), key));
        crate::rollup::player(
            client.clone(),
            sender,
            config.clone(),
            start_block,
            challenge,
            Some(claims),
        )
    };
    let mut challenger = player(ply_core::dev::dev_signer(6)?, true, honest_claims())?;
    // The challenger derives the batch first (off the clock: it plays once it has).
    challenger.tick().await?;
    let honest = challenger.derivation().trace(0)?.ok_or_else(|| eyre::eyre!("batch 0"))?;
    let tx_steps: Vec<u64> = (0..honest.trace.steps())
        .filter(|i| matches!(honest.trace.event(*i), Some(ply_rollup::fraud::StepEvent::Tx { .. })))
        .collect();
    eyre::ensure!(!tx_steps.is_empty(), "the batch has no transfer steps");
    let seed = keccak256(format!("{:?}", std::time::SystemTime::now()));
    let lied_step =
        tx_steps[(U256::from_be_bytes(seed.0) % U256::from(tx_steps.len())).to::<usize>()];
    let claims: Claims = Arc::new(move |trace: &ply_rollup::derivation::BatchTrace, step: u64| {
        let hash = trace.trace.hash(step).unwrap_or_default();
        if step > lied_step { keccak256(hash) } else { hash }
    });
    let liar_key = ply_core::dev::dev_signer(9)?;
    let liar_address = liar_key.address();
    let mut liar = player(liar_key, false, claims)?;
    let roots = challenger.derivation().report(0).ok_or_else(|| eyre::eyre!("no report"))?.roots();
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: keccak256(roots.state_root),
        withdrawalRoot: roots.withdrawal_root,
    };
    let liar_sender = TxSender::new(client.clone(), ply_core::dev::dev_signer(9)?);
    let req = alloy::rpc::types::TransactionRequest::default()
        .to(contracts.rollup)
        .value(bond)
        .input(Bytes::from(propose.abi_encode()).into());
    let game_start = client.block_number().await? + 1;
    liar_sender.send_and_check(req).await?;
    liar.tick().await?;

    let started = Instant::now();
    let mut resolved = None;
    for _ in 0..200 {
        challenger.tick().await?;
        liar.tick().await?;
        let game =
            crate::rollup::view(client, contracts.rollup, Rollup::gameCall { gameId: U256::ZERO })
                .await?;
        if game.status != ply_rollup::fraud::player::GAME_ACTIVE {
            resolved = Some(game);
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let game = resolved.ok_or_else(|| eyre::eyre!("the dispute did not end in 200 rounds"))?;

    // Every game transaction emitted a Rollup event: gas by sender from their receipts.
    let filter = Filter::new().address(contracts.rollup);
    let logs = ply_l1::client::logs_in_range(
        client.as_ref(),
        &filter,
        game_start..=client.block_number().await?,
    )
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    let (mut moves, mut step_gas) = (0u64, None);
    let (mut challenger_gas, mut defender_gas) = (0u64, 0u64);
    let move_events = [
        Rollup::GameStarted::SIGNATURE_HASH,
        Rollup::Bisected::SIGNATURE_HASH,
        Rollup::Responded::SIGNATURE_HASH,
        Rollup::Stepped::SIGNATURE_HASH,
    ];
    for log in &logs {
        if log.topic0().is_some_and(|t| move_events.contains(t)) {
            moves += 1;
        }
        let Some(hash) = log.transaction_hash else { continue };
        if !seen.insert(hash) {
            continue;
        }
        let receipt = client.receipt(hash).await?.ok_or_else(|| eyre::eyre!("no receipt"))?;
        if log.topic0() == Some(&Rollup::Stepped::SIGNATURE_HASH) {
            step_gas = Some(receipt.gas_used);
        }
        if receipt.from == challenger.address() {
            challenger_gas += receipt.gas_used;
        } else if receipt.from == liar_address {
            defender_gas += receipt.gas_used;
        }
    }
    let steps = honest.trace.steps();
    let max_moves = 2 * (64 - (steps.max(2) - 1).leading_zeros() as u64) + 2;
    Ok(json!({
        "transfers": size,
        "deposits": queued,
        "trace_steps": steps,
        "lie_starts_after_step": lied_step,
        "winner": if game.status == 2 { "challenger" } else { "defender" },
        "moves": moves,
        "max_moves_2_ceil_log2_steps_plus_2": max_moves,
        "challenger_l1_gas_with_challenge": challenger_gas,
        "defender_l1_gas_with_proposal": defender_gas,
        "one_step_proof_gas": step_gas,
        "tx_bytes_proof_gas": "not measured here: about 141k of the step, from forge's FraudProofGas.t.sol",
        "wall_seconds_instant_mining": wall,
        "clock_seconds_used": { "challenger": game.challengerClock, "defender": game.defenderClock },
        "note": "wall time from the wrong output's proposal to the game's end, both players polling back to back on an instantly mined L1; each side's clock is the bound: a game lasts at most the two clocks (2 x clock_duration: 20 s on the devnet, 7 days in production) after the challenge",
    }))
}

/// The L1 doing the same transfers natively: `count` ETH transfers, gas from receipts.
pub(crate) async fn native_l1(
    client: &DynL1Client,
    count: usize,
) -> eyre::Result<serde_json::Value> {
    let signer = ply_core::dev::dev_signer(7)?;
    let fees = client.fees().await?;
    let start_nonce = client.nonce(signer.address(), alloy::eips::BlockId::pending()).await?;
    let mut hashes = Vec::new();
    let mut bytes = 0usize;
    for i in 0..count {
        let mut tx = TxEip1559 {
            chain_id: DEV_CHAIN_ID,
            nonce: start_nonce + i as u64,
            gas_limit: 21_000,
            max_fee_per_gas: fees.max_fee() * 4,
            max_priority_fee_per_gas: fees.priority_fee,
            to: TxKind::Call(user(i % SENDERS).address()),
            value: U256::from(1_000_000_000_000_000u64),
            ..Default::default()
        };
        let signature = signer.sign_transaction_sync(&mut tx)?;
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        let raw = envelope.encoded_2718();
        bytes += raw.len();
        hashes.push(client.send_raw_transaction(raw.into()).await?);
    }
    let mut gas = 0u64;
    for hash in hashes {
        gas += client
            .receipt(hash)
            .await?
            .ok_or_else(|| eyre::eyre!("transfer {hash} not mined"))?
            .gas_used;
    }
    Ok(json!({
        "transfers": count,
        "bytes_per_transfer": bytes as f64 / count as f64,
        "gas_per_transfer": gas as f64 / count as f64,
    }))
}

pub(crate) async fn run(args: RollupBenchArgs) -> eyre::Result<()> {
    // The L1 and the rollup's contracts.
    let node = Node::new(ChainConfig::default());
    let client: DynL1Client = Arc::new(EmbeddedClient::new(node));
    let deployer = TxSender::new(client.clone(), ply_core::dev::dev_signer(0)?);
    let batcher_key = ply_core::dev::dev_signer(8)?;
    let bond = U256::from(ply_core::ETHER / 10);
    let contracts = ply_rollup::node::deploy(
        &deployer,
        &DeployParams {
            proposer_bond: bond,
            challenge_window: 3600,
            inclusion_deadline: 3600,
            ..DeployParams::devnet(batcher_key.address(), bench_ledger(), 901)
        },
    )
    .await?;
    let config = bench_config(contracts.rollup);
    let signers: Vec<PrivateKeySigner> = (0..SENDERS).map(user).collect();
    let mut nonces = vec![0u64; SENDERS];

    eprintln!("signing {} + {} transfers...", args.txs, args.rate * args.seconds as usize);
    let throughput_txs = signed_transfers(&signers, &config, args.txs, &mut nonces);
    let latency_txs =
        signed_transfers(&signers, &config, args.rate * args.seconds as usize, &mut nonces);

    let dir = tempfile::tempdir()?;
    let sequencer = funded_sequencer(&config, dir.path(), &signers).await?;
    eprintln!("throughput: {} transfers through the sequencer", args.txs);
    let throughput = throughput(&sequencer, throughput_txs, &config).await?;
    // Let the last block seal before measuring latency on a quiet sequencer.
    tokio::time::sleep(config.block_time * 2).await;
    eprintln!("latency: {}/s offered for {} s", args.rate, args.seconds);
    let latency = latency(&sequencer, latency_txs, args.rate, &config).await?;
    tokio::time::sleep(config.block_time * 2).await;

    eprintln!("batches on L1: sizes 100 and 1000");
    let blocks = sequencer.blocks_from(0).await?;
    let batcher = TxSender::new(client.clone(), batcher_key);
    let batch_100 = post_batch(&batcher, contracts.rollup, &blocks, 100, bond).await?;
    let batch_1000 = post_batch(&batcher, contracts.rollup, &blocks, 1000, bond).await?;
    sequencer.shutdown().await;

    eprintln!("native L1 transfers");
    let native = native_l1(&client, 200).await?;

    eprintln!("a dispute over a batch of {} transfers", args.dispute_transfers);
    let dispute = dispute(&client, args.dispute_transfers).await?;

    let f = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64());
    let native_gas = f(&native, "gas_per_transfer");
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let report = json!({
        "benchmark": "rollup",
        "l1": "embedded revm, Osaka rules (EIP-7623 calldata floor)",
        "sequencer_throughput": throughput,
        "soft_confirmation_latency": latency,
        "l1_cost_batch_100": batch_100,
        "l1_cost_batch_1000": batch_1000,
        "l1_native_transfer": native,
        "dispute": dispute,
        "ratios": {
            "l1_gas_native_over_rollup_batch_1000": ratio(native_gas, f(&batch_1000, "gas_per_transfer")),
            "l1_gas_native_over_rollup_batch_100": ratio(native_gas, f(&batch_100, "gas_per_transfer")),
        },
        "targets": {
            "throughput_at_least_20000_per_s": f(&throughput, "transfers_per_second").map(|t| t >= 20_000.0),
            "p99_under_50_ms_at_5000_per_s": f(&latency, "p99_ms").map(|p| p < 50.0),
            "at_most_80_bytes_per_transfer_at_1000": f(&batch_1000, "bytes_per_transfer").map(|b| b <= 80.0),
            "at_most_3500_gas_per_transfer_at_1000": f(&batch_1000, "gas_per_transfer").map(|g| g <= 3_500.0),
            "at_most_3200_gas_per_transfer_at_1000_with_fraud_proofs": f(&batch_1000, "gas_per_transfer").map(|g| g <= 3_200.0),
            "dispute_at_most_2_ceil_log2_steps_plus_2_moves": dispute["moves"].as_u64().zip(dispute["max_moves_2_ceil_log2_steps_plus_2"].as_u64()).map(|(m, max)| m <= max),
            "one_step_proof_at_most_600000_gas": dispute["one_step_proof_gas"].as_u64().map(|g| g <= 600_000),
            "at_least_6x_cheaper_than_l1": ratio(native_gas, f(&batch_1000, "gas_per_transfer")).map(|r| r >= 6.0),
        },
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("ply bench rollup — optimistic rollup vs native L1 transfers");
        println!(
            "  sequencer throughput      {:>10.0} transfers/s (durable)",
            f(&throughput, "transfers_per_second").unwrap_or_default()
        );
        println!(
            "  soft confirmation p50/p99 {:>6.2} / {:.2} ms at {}/s",
            f(&latency, "p50_ms").unwrap_or_default(),
            f(&latency, "p99_ms").unwrap_or_default(),
            args.rate
        );
        for (name, b) in [("batch 100 ", &batch_100), ("batch 1000", &batch_1000)] {
            println!(
                "  {name}: {:>6.1} L1 bytes, {:>7.0} L1 gas per transfer",
                f(b, "bytes_per_transfer").unwrap_or_default(),
                f(b, "gas_per_transfer").unwrap_or_default()
            );
        }
        println!(
            "  native L1:   {:>6.1} bytes, {:>7.0} gas per transfer",
            f(&native, "bytes_per_transfer").unwrap_or_default(),
            native_gas.unwrap_or_default()
        );
        if let Some(r) = ratio(native_gas, f(&batch_1000, "gas_per_transfer")) {
            println!("  L1 gas: rollup is {r:.1}x cheaper than native transfers (batch 1000)");
        }
        let d = |k: &str| dispute[k].to_string();
        println!(
            "  dispute over {} transfers ({} steps, lie after step {}): {} won in {} moves (at most {})",
            d("transfers"),
            d("trace_steps"),
            d("lie_starts_after_step"),
            dispute["winner"].as_str().unwrap_or_default(),
            d("moves"),
            d("max_moves_2_ceil_log2_steps_plus_2")
        );
        println!(
            "    L1 gas: challenger {} (with its challenge), defender {} (with its output); one-step proof {} (tx bytes ~141k, forge)",
            d("challenger_l1_gas_with_challenge"),
            d("defender_l1_gas_with_proposal"),
            d("one_step_proof_gas")
        );
        println!(
            "    {:.2} s wall with instant mining; bound by the clocks (2 x clock_duration)",
            f(&dispute, "wall_seconds_instant_mining").unwrap_or_default()
        );
    }
    Ok(())
}
