//! Crash safety of the rollup node.
//!
//! - A node killed with SIGKILL in the middle of a load loses no soft confirmation: the node
//!   runs in a child process (this test binary, started again on [`child_node`]) against the
//!   embedded L1 served over JSON-RPC, the test kills it while transactions are in flight and
//!   batches are being posted, restarts a node on the same data directory, and checks every
//!   confirmed transaction, every nonce and balance, and every output against an independent
//!   derivation node.
//! - A batch appended (or an output proposed) on L1 just before a crash, but not recorded by the
//!   node, is recognised on restart instead of being posted (or proposed) again. These run on a
//!   manual clock, so that the test decides when each block seals and each batch closes, and
//!   assert the exact number of batches.
//! - A deposit reorged away on L1 before the sequencer applied it is forgotten, and the
//!   batcher goes on.

use crate::harness::{
    CallError, DeployOptions, Deployment, Deriver, Model, SequencerRpc, TestL1, batcher_key,
    call_req, deploy_rollup, ether, fee_account, milli, node_keys, proposer_key, send_value,
    transfer, wait_for,
};
use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use ply_contracts::{Bridge, Rollup};
use ply_core::dev::dev_signer;
use ply_l1::client::{DynL1Client, RpcClient};
use ply_ledger::{ETH, SignedTx, WithdrawalTree};
use ply_rollup::{
    BatchLimits, batch,
    node::{ManualClock, RollupContracts, RollupNode, batch_of, withdrawals_of},
    sequencer::{Confirmation, PostedBatch, Sequencer, TxStatus, rpc::TxRequest},
};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// The environment variable that makes [`child_node`] run a node (its value: a [`ChildSpec`]).
const CHILD_ENV: &str = "PLY_ROLLUP_TEST_CHILD_NODE";

/// What the child process needs to run the rollup node.
#[derive(Debug, Serialize, Deserialize)]
struct ChildSpec {
    l1_url: String,
    bridge: Address,
    rollup: Address,
    executor: Address,
    start_block: u64,
    data_dir: PathBuf,
    /// Where the child writes the address of its JSON-RPC API once it listens.
    addr_file: PathBuf,
    max_txs: usize,
    max_age_ms: u64,
    l1_confirmations: u64,
}

impl ChildSpec {
    fn deployment(&self) -> Deployment {
        let contracts =
            RollupContracts { bridge: self.bridge, rollup: self.rollup, executor: self.executor };
        Deployment::new(contracts, &options(self.max_txs, self.max_age_ms), self.start_block)
    }
}

fn options(max_txs: usize, max_age_ms: u64) -> DeployOptions {
    DeployOptions {
        batch: BatchLimits {
            max_txs,
            max_bytes: 100_000,
            max_age: Duration::from_millis(max_age_ms),
        },
        ..DeployOptions::default()
    }
}

/// Not a test on its own: the rollup node that [`killed_node_loses_no_confirmation`] runs in a
/// child process (this binary, started again) and kills. Without its environment variable
/// it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of crash::killed_node_loses_no_confirmation"]
async fn child_node() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let spec: ChildSpec = serde_json::from_str(&spec).unwrap();
    // Never outlive the test: exit when it closes our stdin (it died), or after two minutes.
    std::thread::spawn(|| {
        let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
        std::process::exit(0);
    });
    let client: DynL1Client = Arc::new(RpcClient::new(&spec.l1_url).unwrap());
    let deployment = spec.deployment();
    let node = RollupNode::start(
        client,
        deployment.service.clone(),
        node_keys(),
        &spec.data_dir,
        "127.0.0.1:0".parse().unwrap(),
        deployment.start_block,
    )
    .await
    .unwrap();
    let tmp = spec.addr_file.with_extension("tmp");
    std::fs::write(&tmp, node.rpc_addr.to_string()).unwrap();
    std::fs::rename(&tmp, &spec.addr_file).unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    std::process::exit(0);
}

/// Starts [`child_node`] in a child process; returns it and its API's client once it listens.
async fn spawn_child(spec: &ChildSpec) -> (tokio::process::Child, SequencerRpc) {
    let exe = std::env::current_exe().unwrap();
    let child = tokio::process::Command::new(exe)
        .args(["--exact", "crash::child_node", "--ignored", "--test-threads=1", "--quiet"])
        .env(CHILD_ENV, serde_json::to_string(spec).unwrap())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr = wait_for("the child node's API", || async {
        std::fs::read_to_string(&spec.addr_file).ok()?.parse().ok()
    })
    .await;
    (child, SequencerRpc::new(addr))
}

/// What one load task got: the transactions confirmed, and the one in flight when the node
/// died (its outcome unknown to the sender).
struct Load {
    confirmed: Vec<SignedTx>,
    in_flight: Option<SignedTx>,
}

/// Sends transfers from `signer` to `to`, one after another, until the node stops answering.
async fn load(
    rpc: SequencerRpc,
    signer: PrivateKeySigner,
    to: Address,
    deployment: Deployment,
    confirmations: Arc<AtomicUsize>,
) -> Load {
    let domain = deployment.config.domain();
    let mut confirmed = Vec::new();
    for nonce in 0..20_000u64 {
        let fee = U256::from(1_000_000_000_000u64);
        let tx = transfer(&signer, to, ETH, milli(1 + nonce % 5), fee, nonce, &deployment.config);
        let request = TxRequest::from_signed(&tx);
        match rpc.try_call::<Confirmation>("ply_sendTransaction", [request]).await {
            Ok(confirmation) => {
                assert_eq!(confirmation.hash, tx.tx.signing_hash(&domain));
                confirmed.push(tx);
                confirmations.fetch_add(1, Ordering::Relaxed);
            }
            Err(CallError::Transport(_)) => return Load { confirmed, in_flight: Some(tx) },
            Err(CallError::Rpc(e)) => panic!("the node refused transaction {nonce}: {e:?}"),
        }
    }
    Load { confirmed, in_flight: None }
}

/// The users of the load: dev accounts 1 to 4.
fn users() -> Vec<PrivateKeySigner> {
    (1..=4).map(|i| dev_signer(i).unwrap()).collect()
}

/// Deposits 100 ETH for each user, from the user's own L1 account.
async fn fund_users(l1: &TestL1, deployment: &Deployment, model: &mut Model) {
    for (i, user) in users().iter().enumerate() {
        let call = Bridge::depositETHCall { to: user.address() };
        send_value(&l1.sender(i + 1), deployment.contracts.bridge, call, ether(100)).await;
        model.credit(user.address(), ETH, ether(100));
    }
}

/// Waits until every sealed block is in a proposed batch and the derivation node agreed with
/// every output; checks the derived roots against the sequencer's; returns the batches.
async fn wait_settled(sequencer: &Sequencer, deriver: &Deriver) -> Vec<PostedBatch> {
    let batches = wait_for("every sealed block in a proposed batch", || async {
        // Nothing waits in the open block, and every sealed block is in a proposed batch.
        let (sealed, open) = sequencer
            .query(|state, _| {
                let open = state.open_block();
                (state.sealed().len() as u64, open.txs.len() + open.deposits.len())
            })
            .await
            .unwrap();
        let batches = sequencer.batches().await.unwrap();
        let last = batches.last()?;
        let done = open == 0 && last.last_block + 1 == sealed && batches.iter().all(|b| b.proposed);
        done.then_some(batches)
    })
    .await;
    let indices: BTreeSet<u64> = (0..batches.len() as u64).collect();
    wait_for("the derivation node's agreement with every output", || async {
        let agreed: BTreeSet<u64> = deriver.agreed().into_iter().collect();
        (agreed == indices).then_some(())
    })
    .await;
    let root = sequencer.query(|state, _| state.ledger().commitment().hash()).await.unwrap();
    let core = deriver.core.lock().unwrap();
    for batch in &batches {
        let derived = core.output(batch.index).expect("derived");
        assert_eq!(derived.state_root, batch.state_root, "batch {}", batch.index);
        assert_eq!(derived.withdrawal_root, batch.withdrawal_root, "batch {}", batch.index);
    }
    assert_eq!(batches.last().unwrap().state_root, root, "the last output is the current state");
    assert_eq!(core.ledger().commitment().hash(), root);
    drop(core);
    batches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_loses_no_confirmation() {
    let (l1, l1_url, l1_server) = TestL1::embedded_served().await;
    let (max_txs, max_age_ms) = (50, 300);
    let deployment = deploy_rollup(&l1, options(max_txs, max_age_ms)).await;
    let deriver = deployment.start_derivation(l1.client.clone());
    let tmp = tempfile::tempdir().unwrap();
    let spec = ChildSpec {
        l1_url,
        bridge: deployment.contracts.bridge,
        rollup: deployment.contracts.rollup,
        executor: deployment.contracts.executor,
        start_block: deployment.start_block,
        data_dir: tmp.path().join("node"),
        addr_file: tmp.path().join("rpc-addr"),
        max_txs,
        max_age_ms,
        l1_confirmations: deployment.config.l1_confirmations,
    };
    assert_eq!(spec.deployment().config.l1_confirmations, spec.l1_confirmations);
    let mut model = Model::default();
    fund_users(&l1, &deployment, &mut model).await;

    let (mut child, rpc) = spawn_child(&spec).await;
    for user in users() {
        wait_for("the deposits on L2", || async {
            let account: Option<serde_json::Value> =
                rpc.try_call("ply_getAccount", [user.address()]).await.ok()?;
            account.filter(|a| !a.is_null())
        })
        .await;
    }

    // Load from four tasks at once, one per user, each to the next user.
    let confirmations = Arc::new(AtomicUsize::new(0));
    let users = users();
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let to = users[(i + 1) % users.len()].address();
            let load =
                load(rpc.clone(), user.clone(), to, deployment.clone(), confirmations.clone());
            tokio::spawn(load)
        })
        .collect();

    // Kill the node in the middle of it, once batches are going out.
    wait_for("confirmations and batches before the kill", || async {
        let batches =
            rpc.try_call::<serde_json::Value>("ply_status", ()).await.ok()?["batches"].as_u64()?;
        (confirmations.load(Ordering::Relaxed) >= 300 && batches >= 2).then_some(())
    })
    .await;
    child.kill().await.unwrap();
    let mut loads = Vec::new();
    for task in tasks {
        loads.push(task.await.unwrap());
    }
    let confirmed: usize = loads.iter().map(|l| l.confirmed.len()).sum();
    assert!(confirmed >= 300, "{confirmed} confirmations before the kill");
    assert!(loads.iter().all(|l| l.in_flight.is_some()), "every load task was cut off by the kill");
    drop(l1_server);

    // A new node on the same directory (in-process now) has every confirmed transaction.
    let node = deployment.start_node(&l1, &spec.data_dir).await;
    let sequencer = node.sequencer.clone();
    let mut recovered_in_flight = 0;
    for load in &loads {
        for tx in &load.confirmed {
            let hash = tx.tx.signing_hash(&deployment.config.domain());
            assert!(
                sequencer.status(hash).await.unwrap().is_some(),
                "confirmed transaction {hash} (nonce {}) lost in the crash",
                tx.tx.nonce()
            );
            model.apply(&tx.tx);
        }
        // A transaction in flight may or may not have made it; if it did, it counts.
        let tx = load.in_flight.as_ref().unwrap();
        let hash = tx.tx.signing_hash(&deployment.config.domain());
        if sequencer.status(hash).await.unwrap().is_some() {
            model.apply(&tx.tx);
            recovered_in_flight += 1;
        }
    }
    eprintln!(
        "killed after {confirmed} confirmations; {recovered_in_flight} of {} transactions in \
         flight had been sequenced",
        loads.len()
    );
    // Nonces and balances are those of the confirmed set (plus what was in flight and made
    // it), nothing more, nothing less.
    let mut accounts: Vec<Address> = users.iter().map(|u| u.address()).collect();
    accounts.push(fee_account());
    for who in &accounts {
        let account = sequencer.account(*who).await.unwrap().expect("account exists");
        assert_eq!(account.nonce, model.nonce(*who), "nonce of {who}");
        assert_eq!(
            account.balances.get(&ETH).copied().unwrap_or_default(),
            model.balance(*who, ETH),
            "balance of {who}"
        );
    }

    // The restarted node goes on from there.
    let mut after = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let to = users[(i + 2) % users.len()].address();
        let nonce = model.nonce(user.address());
        let fee = U256::from(1_000_000_000_000u64);
        let tx = transfer(user, to, ETH, milli(7), fee, nonce, &deployment.config);
        after.push(sequencer.submit(tx.clone()).await.unwrap().hash);
        model.apply(&tx.tx);
    }

    // Everything goes out in batches whose outputs the derivation node agrees with.
    wait_settled(&sequencer, &deriver).await;
    for load in &loads {
        for tx in &load.confirmed {
            let hash = tx.tx.signing_hash(&deployment.config.domain());
            let (_, status) = sequencer.status(hash).await.unwrap().unwrap();
            assert_eq!(status, TxStatus::Posted);
        }
    }
    for hash in after {
        assert_eq!(sequencer.status(hash).await.unwrap().unwrap().1, TxStatus::Posted);
    }
    {
        let core = deriver.core.lock().unwrap();
        for who in &accounts {
            assert_eq!(core.ledger().balance(who, ETH), model.balance(*who, ETH));
            assert_eq!(core.ledger().next_nonce(who), model.nonce(*who));
        }
    }
    drop(deriver);
    node.stop().await;
}

/// What a batcher would post next from `sequencer`'s records: the batch of every sealed block
/// not posted yet, its deposit count, and its record.
async fn next_batch(sequencer: &Sequencer) -> (u64, Vec<u8>, PostedBatch) {
    let posted = sequencer.batches().await.unwrap();
    let next_block = posted.last().map_or(0, |b| b.last_block + 1);
    let blocks = sequencer.blocks_from(next_block).await.unwrap();
    assert!(!blocks.is_empty(), "a block to post");
    let data = batch::encode(&batch_of(&blocks)).unwrap();
    let new_deposit_count = blocks
        .iter()
        .flat_map(|b| &b.deposits)
        .map(|d| d.queue_index + 1)
        .max()
        .unwrap_or_else(|| posted.last().map_or(0, |b| b.new_deposit_count));
    let index = posted.len() as u64;
    let withdrawals = withdrawals_of(index, &blocks);
    let record = PostedBatch {
        index,
        first_block: blocks[0].number,
        last_block: blocks.last().unwrap().number,
        new_deposit_count,
        l1_tx: B256::ZERO,
        state_root: blocks.last().unwrap().state_commitment,
        withdrawal_root: WithdrawalTree::new(&withdrawals).unwrap().root(),
        withdrawals,
        proposed: false,
        finalized: false,
    };
    (new_deposit_count, data, record)
}

/// The batch age of the exact crash tests: never reached but when the test moves the manual
/// clock past it, so that the test alone decides when a batch closes.
const NEVER: Duration = Duration::from_secs(3_600);

fn exact_options() -> DeployOptions {
    options(20, NEVER.as_millis() as u64)
}

/// Moves `clock` one block time at a time (waiting a little in between, for the sequencer's
/// timer to fire) until `f` answers. The exact tests keep the total far below [`NEVER`].
async fn advance_until<T, F, Fut>(clock: &ManualClock, step: Duration, what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..400 {
        if let Some(found) = f().await {
            return found;
        }
        clock.advance(step);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: not reached after 400 blocks");
}

/// Runs a node on `clock` until Alice's deposit and one transfer are in exactly one proposed
/// batch, stops it, and leaves a sequencer (without batcher) on the same directory with one
/// more transfer sealed: the state of a node that crashed while posting that block.
async fn crashed_while_posting(
    l1: &TestL1,
    deployment: &Deployment,
    dir: &Path,
    deriver: &Deriver,
    clock: &ManualClock,
) -> Sequencer {
    let block_time = deployment.config.block_time;
    let alice = dev_signer(1).unwrap();
    let bob = dev_signer(2).unwrap().address();
    let call = Bridge::depositETHCall { to: alice.address() };
    send_value(&l1.sender(1), deployment.contracts.bridge, call, ether(1)).await;
    let node = deployment.start_node_with_clock(l1, dir, clock.shared()).await;
    let sequencer = node.sequencer.clone();
    advance_until(clock, block_time, "Alice's deposit on L2", || async {
        sequencer.account(alice.address()).await.unwrap()
    })
    .await;
    let fee = U256::from(1_000_000_000_000u64);
    let tx = transfer(&alice, bob, ETH, milli(10), fee, 0, &deployment.config);
    let confirmation = node.sequencer.submit(tx).await.unwrap();
    advance_until(clock, block_time, "the transfer's block sealed", || async {
        let sealed = sequencer.query(|state, _| state.sealed().len() as u64).await.unwrap();
        (sealed > confirmation.block).then_some(())
    })
    .await;
    // Now, and only now, a batch is due: one batch of everything sealed.
    clock.advance(NEVER);
    let batches = wait_settled(&node.sequencer, deriver).await;
    assert_eq!(batches.len(), 1, "the deposit and the transfer in one batch");
    node.stop().await;

    let sequencer = Sequencer::start_with_clock(&deployment.config, dir, clock.shared()).unwrap();
    let tx = transfer(&alice, bob, ETH, milli(20), fee, 1, &deployment.config);
    let confirmation = sequencer.submit(tx).await.unwrap();
    advance_until(clock, block_time, "the second transfer's block sealed", || async {
        let sealed = sequencer.query(|state, _| state.sealed().len() as u64).await.unwrap();
        (sealed > confirmation.block).then_some(())
    })
    .await;
    sequencer
}

async fn l1_count<C: alloy::sol_types::SolCall<Return = U256>>(
    l1: &TestL1,
    rollup: Address,
    call: C,
) -> U256 {
    let out =
        l1.client.call(&call_req(rollup, call), alloy::eips::BlockId::latest()).await.unwrap();
    C::abi_decode_returns(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_appended_just_before_a_crash_is_not_posted_again() {
    let l1 = TestL1::embedded();
    let deployment = deploy_rollup(&l1, exact_options()).await;
    let rollup = deployment.contracts.rollup;
    let deriver = deployment.start_derivation(l1.client.clone());
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_system_time();
    let sequencer = crashed_while_posting(&l1, &deployment, dir.path(), &deriver, &clock).await;

    // The batcher appended the new block on L1, then died before recording it.
    let (new_deposit_count, data, _) = next_batch(&sequencer).await;
    let call =
        Rollup::appendBatchCall { newQueueCount: U256::from(new_deposit_count), data: data.into() };
    l1.sender_for(batcher_key()).send_and_check(call_req(rollup, call)).await.unwrap();
    sequencer.shutdown().await;

    // On restart the node recognises the batch on L1, records and proposes it: exactly two
    // batches, each on L1 once and proposed once (the clock stands still, so nothing new is
    // sealed or batched).
    let node = deployment.start_node_with_clock(&l1, dir.path(), clock.shared()).await;
    let batches = wait_settled(&node.sequencer, &deriver).await;
    assert_eq!(batches.len(), 2);
    assert_eq!(l1_count(&l1, rollup, Rollup::batchCountCall {}).await, U256::from(2));
    assert_eq!(l1_count(&l1, rollup, Rollup::outputCountCall {}).await, U256::from(2));
    drop(deriver);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_proposed_just_before_a_crash_is_not_proposed_again() {
    let l1 = TestL1::embedded();
    let deployment = deploy_rollup(&l1, exact_options()).await;
    let rollup = deployment.contracts.rollup;
    let deriver = deployment.start_derivation(l1.client.clone());
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_system_time();
    let sequencer = crashed_while_posting(&l1, &deployment, dir.path(), &deriver, &clock).await;

    // The batcher appended the new block and recorded it; the proposer's output was mined,
    // then the node died before recording the proposal.
    let (new_deposit_count, data, mut record) = next_batch(&sequencer).await;
    let call =
        Rollup::appendBatchCall { newQueueCount: U256::from(new_deposit_count), data: data.into() };
    let receipt =
        l1.sender_for(batcher_key()).send_and_check(call_req(rollup, call)).await.unwrap();
    record.l1_tx = receipt.transaction_hash;
    sequencer.record_batch(record.clone()).await.unwrap();
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::from(record.index),
        stateCommitment: record.state_root,
        withdrawalRoot: record.withdrawal_root,
    };
    let req = call_req(rollup, propose).value(deployment.bond);
    l1.sender_for(proposer_key()).send_and_check(req).await.unwrap();
    sequencer.shutdown().await;

    // On restart the node sees the output on L1 and does not propose it again: exactly two
    // batches and two outputs.
    let node = deployment.start_node_with_clock(&l1, dir.path(), clock.shared()).await;
    let batches = wait_settled(&node.sequencer, &deriver).await;
    assert_eq!(batches.len(), 2);
    assert_eq!(l1_count(&l1, rollup, Rollup::batchCountCall {}).await, U256::from(2));
    assert_eq!(l1_count(&l1, rollup, Rollup::outputCountCall {}).await, U256::from(2));
    drop(deriver);
    node.stop().await;
}

/// A deposit queued on L1, read by the node, then reorged away (`evm_snapshot`/`evm_revert`)
/// and replaced by another before the sequencer applied it: the sequencer forgets it, applies
/// the replacement, and the batcher goes on posting batches that L1 accepts and the
/// derivation node agrees with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_reorged_away_before_it_is_applied_is_forgotten() {
    let l1 = TestL1::embedded();
    let deployment =
        deploy_rollup(&l1, DeployOptions { l1_confirmations: 0, ..exact_options() }).await;
    let rollup = deployment.contracts.rollup;
    let bridge = deployment.contracts.bridge;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_system_time();
    let node = deployment.start_node_with_clock(&l1, dir.path(), clock.shared()).await;
    let sequencer = node.sequencer.clone();
    let (alice, bob) = (dev_signer(1).unwrap().address(), dev_signer(2).unwrap().address());

    let snapshot = l1.client.snapshot().await.unwrap();
    let call = Bridge::depositETHCall { to: alice };
    send_value(&l1.sender(1), bridge, call, ether(1)).await;
    wait_for("Alice's deposit queued (not applied: the clock stands still)", || async {
        let queued = sequencer.query(|state, _| state.queued_deposits()).await.unwrap();
        (queued == 1).then_some(())
    })
    .await;

    // L1 forgets Alice's deposit; Bob's takes its place in the queue.
    assert!(l1.client.revert(snapshot).await.unwrap());
    l1.advance(10).await;
    let call = Bridge::depositETHCall { to: bob };
    send_value(&l1.sender(2), bridge, call, ether(2)).await;
    l1.advance(1).await;
    // The node sees the reorg before its next block (the clock stands still until then).
    wait_for("Bob's deposit queued in place of Alice's", || async {
        let queued = sequencer.query(|state, _| state.queued().to_vec()).await.unwrap();
        (queued.len() == 1 && queued[0].to == bob).then_some(())
    })
    .await;

    let block_time = deployment.config.block_time;
    advance_until(&clock, block_time, "Bob's deposit on L2", || async {
        sequencer.account(bob).await.unwrap()
    })
    .await;
    assert!(sequencer.account(alice).await.unwrap().is_none(), "Alice's deposit is not on L1");
    let bob_balance = sequencer.account(bob).await.unwrap().unwrap().balances[&ETH];
    assert_eq!(bob_balance, ether(2));

    // The batcher is not stuck: one batch consuming Bob's deposit, accepted and agreed with by
    // a derivation node that follows L1 from the deployment.
    let deriver = deployment.start_derivation(l1.client.clone());
    clock.advance(NEVER);
    let batches = wait_settled(&sequencer, &deriver).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].new_deposit_count, 1);
    assert_eq!(l1_count(&l1, rollup, Rollup::batchCountCall {}).await, U256::from(1));
    assert_eq!(l1_count(&l1, rollup, Rollup::outputCountCall {}).await, U256::from(1));
    drop(deriver);
    node.stop().await;
}
