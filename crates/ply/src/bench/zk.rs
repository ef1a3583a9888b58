//! `ply bench zk`: the zk rollup and the validium against the L1, in one run.
//!
//! - Constraints per transfer of the batch circuit at the devnet's depths (16, 4) and at the
//!   deepest the public data addresses (24, 8): the difference between batches of 2 and 1
//!   transfer slots.
//! - Proving: for each batch size, a full batch (a deposit, `n` transfers, a withdrawal) proven
//!   with Groth16 on this machine's cores (keys from the development setup, cached), its time
//!   and transfers proven per second.
//! - L1: each proven batch submitted to a fresh `ZkRollup` on the embedded L1 (after its
//!   deposit): the receipt's gas and the calldata's bytes, per transfer; the validium's at the
//!   largest size (another deployment, data hash and 2-of-3 committee signatures instead of the
//!   transfers); and the Groth16 verification alone (`verifyProof`'s gas).
//! - Constraints per priority slot (a deposit credited or refused, a full exit: one gadget)
//!   and a checked batch with a refused deposit and a full exit.
//! - The L1 doing the same transfers natively, in the same run.

use alloy::{
    eips::BlockId,
    primitives::{Bytes, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use clap::Args;
use ply_contracts::{BatchVerifier, ZkRollup};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use ply_zk::{
    circuit::{
        BatchParams, BatchWitness, ZkOperation, ZkState, ZkTransfer, ZkWithdrawal, signing_domain,
    },
    dac::{DacDomain, data_hash, encode_signatures, sign_data_hash},
    eddsa::SecretKey,
    groth16::{self, EvmProof, KeyStore, Keys},
    node::{
        ZkDeployParams, deploy, dev_keys,
        l1::{submit_batch_call, submit_validium_call},
        wire::fr_to_u256,
    },
};
use serde_json::json;
use std::{path::PathBuf, sync::Arc, time::Instant};

/// Options of `ply bench zk`.
#[derive(Debug, Args)]
pub(crate) struct ZkBenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Batch sizes (transfer slots) to prove, comma-separated (the range is 4 to 64;
    /// each size needs its own setup, cached in --keys).
    #[arg(long, value_delimiter = ',', default_value = "4,8,16")]
    sizes: Vec<usize>,
    /// Where the development keys are cached.
    #[arg(long)]
    keys: Option<PathBuf>,
}

const ETHER: u128 = 1_000_000_000_000_000_000;
/// The priority fee of the bench's deployments (the devnet's).
const PRIORITY_FEE: u128 = crate::zk::DEVNET_PRIORITY_FEE;

fn params(transfers: usize) -> BatchParams {
    BatchParams {
        account_depth: 16,
        token_depth: 4,
        deposits: 1,
        transfers,
        withdrawals: 1,
        fee_tokens: 1,
    }
}

/// The constraints one more transfer slot adds, measured over eight slots (from 8 to 16): a
/// transfer's share of the SHA-256 over the transfer data is counted (12 bytes a transfer, so
/// a 64-byte block every 5⅓ transfers, which a span of one slot would miss or overcount).
fn constraints_per_transfer(account_depth: usize, token_depth: usize) -> eyre::Result<usize> {
    let count = |transfers| -> eyre::Result<usize> {
        let p = BatchParams { account_depth, token_depth, ..params(transfers) };
        Ok(ply_zk::node::circuit_shape(&p)?.num_constraints()?)
    };
    Ok((count(16)? - count(8)?) / 8)
}

/// The constraints one more priority slot adds at the devnet's depths (a deposit, credited or
/// refused, and a full exit are the same gadget), and the constraints of batches whose priority
/// slots take a refused deposit and a full exit (checked: each outcome proves), which equal
/// those of any batch of the shape.
fn priority_figures(
    domain: ply_zk::Fr,
    operator: &SecretKey,
    user: &SecretKey,
) -> eyre::Result<serde_json::Value> {
    let count = |deposits| -> eyre::Result<usize> {
        let p = BatchParams { deposits, ..params(8) };
        Ok(ply_zk::node::circuit_shape(&p)?.num_constraints()?)
    };
    let per_slot = count(2)? - count(1)?;
    let p = BatchParams { deposits: 2, ..params(1) };
    let mut state = ZkState::new(&p, domain, dev_signer(0)?.address(), operator.public_key())?;
    let deposit = |amount| {
        ZkOperation::Deposit(ply_zk::circuit::ZkDeposit {
            to: dev_signer(1).expect("dev account 1").address(),
            public_key: user.public_key(),
            token: 0,
            amount,
        })
    };
    BatchWitness::build(&mut state, &p, &[deposit(u128::MAX)])?;
    let exit = ZkOperation::FullExit(ply_zk::circuit::ZkFullExit {
        owner: dev_signer(1)?.address(),
        token: 0,
    });
    let witness = BatchWitness::build(&mut state, &p, &[deposit(1), exit])?;
    let slots = &witness.circuit.deposits;
    eyre::ensure!(slots[0].refused && slots[1].full_exit, "a refused deposit and a full exit");
    let constraints = witness.circuit.check()?;
    Ok(json!({
        "constraints_per_priority_slot": per_slot,
        "refused_deposit_and_full_exit_batch": {
            "priority_slots": 2,
            "transfers": 1,
            "constraints": constraints,
            "refused_payout": slots[0].payout.to_string(),
            "full_exit_payout": slots[1].payout.to_string(),
            "onchain_record_bytes": ply_zk::circuit::DEPOSIT_RECORD_BYTES,
            "priority_record_bytes": ply_zk::circuit::PRIORITY_RECORD_BYTES,
        },
    }))
}

/// A full batch from genesis: dev 1 deposits 100 ETH (creating account 1), pays `n` transfers
/// to the operator's account 0 (nonces 0..n) and withdraws once.
fn full_batch(
    p: &BatchParams,
    domain: ply_zk::Fr,
    operator: &SecretKey,
    user: &SecretKey,
) -> eyre::Result<BatchWitness> {
    let mut state = ZkState::new(p, domain, dev_signer(0)?.address(), operator.public_key())?;
    let mut ops = vec![ZkOperation::Deposit(ply_zk::circuit::ZkDeposit {
        to: dev_signer(1)?.address(),
        public_key: user.public_key(),
        token: 0,
        amount: 100 * ETHER,
    })];
    for nonce in 0..p.transfers as u64 {
        ops.push(ZkOperation::Transfer(ZkTransfer::signed(
            user,
            domain,
            1,
            0,
            0,
            ETHER / 1000,
            1_000_000_000_000,
            nonce,
        )));
    }
    ops.push(ZkOperation::Withdrawal(ZkWithdrawal::signed(
        user,
        domain,
        1,
        0,
        ETHER,
        0,
        p.transfers as u64,
    )));
    Ok(BatchWitness::build(&mut state, p, &ops)?)
}

fn prove(keys: &Keys, witness: &BatchWitness) -> eyre::Result<(groth16::Proof, f64)> {
    let started = Instant::now();
    let proof = keys.prove(witness.circuit.clone(), &mut groth16::os_rng())?;
    Ok((proof, started.elapsed().as_secs_f64()))
}

/// Deploys a ZkRollup for `keys` (a validium when `committee` is not empty) and queues dev 1's
/// deposit; returns the contract.
async fn deployment(
    operator: &TxSender,
    client: &DynL1Client,
    p: &BatchParams,
    keys: &Keys,
    user: &SecretKey,
    committee: Vec<alloy::primitives::Address>,
) -> eyre::Result<alloy::primitives::Address> {
    let contracts = deploy(
        operator,
        &ZkDeployParams {
            params: *p,
            vk: keys.vk.clone(),
            operator: operator.address(),
            operator_key: SecretKey::from_ethereum_signer(&dev_signer(0)?)?.public_key(),
            threshold: if committee.is_empty() { 0 } else { 2 },
            committee,
            priority_deadline: 3600,
            priority_interval: 1,
            priority_fee: PRIORITY_FEE,
            token_governor: operator.address(),
        },
    )
    .await?;
    let pk = user.public_key();
    let call = ZkRollup::depositEthCall {
        amount: 100 * ETHER,
        pkX: fr_to_u256(pk.0.x),
        pkY: fr_to_u256(pk.0.y),
    };
    let depositor = TxSender::new(client.clone(), dev_signer(1)?);
    let value = U256::from(100 * ETHER + PRIORITY_FEE);
    depositor.send_call(contracts.rollup, call.abi_encode(), value).await?;
    Ok(contracts.rollup)
}

/// Submits `data` and returns (gas used, transaction bytes).
async fn submit(
    operator: &TxSender,
    client: &DynL1Client,
    to: alloy::primitives::Address,
    data: Vec<u8>,
) -> eyre::Result<(u64, usize)> {
    let hash = operator.send_call(to, data, U256::ZERO).await?;
    let receipt = client.receipt(hash).await?.ok_or_else(|| eyre::eyre!("not mined"))?;
    Ok((receipt.gas_used, super::l1_tx_bytes(client, hash).await?))
}

pub(crate) async fn run(args: ZkBenchArgs) -> eyre::Result<()> {
    let store = KeyStore::new(args.keys.clone().unwrap_or_else(crate::zk::default_keys_dir));
    eprintln!("constraints per transfer...");
    let devnet_constraints = constraints_per_transfer(16, 4)?;
    let max_constraints = constraints_per_transfer(24, 8)?;
    eprintln!("priority slots: a deposit, a refused deposit and a full exit...");
    let priority = priority_figures(
        signing_domain(31337, alloy::primitives::Address::ZERO),
        &SecretKey::from_ethereum_signer(&dev_signer(0)?)?,
        &SecretKey::from_ethereum_signer(&dev_signer(1)?)?,
    )?;

    let node = Node::new(ChainConfig::default());
    let client: DynL1Client = Arc::new(EmbeddedClient::new(node));
    let chain_id = client.chain_id().await?;
    let operator = TxSender::new(client.clone(), dev_signer(0)?);
    let operator_key = SecretKey::from_ethereum_signer(&dev_signer(0)?)?;
    let user = SecretKey::from_ethereum_signer(&dev_signer(1)?)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut proving = Vec::new();
    let mut rollup_l1 = Vec::new();
    let mut last = None;
    for &n in &args.sizes {
        let p = params(n);
        eprintln!("batch of {n} transfers: keys (a development setup on first use)...");
        let started = Instant::now();
        let keys = dev_keys(&store, &p)?;
        let setup_s = started.elapsed().as_secs_f64();
        let rollup = deployment(&operator, &client, &p, &keys, &user, Vec::new()).await?;
        let domain = signing_domain(chain_id, rollup);
        let witness = full_batch(&p, domain, &operator_key, &user)?;
        eprintln!(
            "batch of {n} transfers: proving {} constraints...",
            keys.manifest.shape.constraints
        );
        let (proof, prove_s) = prove(&keys, &witness)?;
        let (gas, bytes) =
            submit(&operator, &client, rollup, submit_batch_call(&witness, &proof)).await?;
        proving.push(json!({
            "transfers": n,
            "constraints": keys.manifest.shape.constraints,
            "constraints_per_transfer_amortized": keys.manifest.shape.constraints / n,
            "setup_or_load_s": setup_s,
            "prove_s": prove_s,
            "transfers_proven_per_s": n as f64 / prove_s,
        }));
        rollup_l1.push(json!({
            "transfers": n,
            "submit_gas": gas,
            "l1_tx_bytes": bytes,
            "gas_per_transfer": gas as f64 / n as f64,
            "bytes_per_transfer": bytes as f64 / n as f64,
            "transfer_record_bytes": ply_zk::circuit::TRANSFER_RECORD_BYTES,
        }));
        last = Some((p, keys, proof, witness, rollup));
    }
    let (p, keys, proof, witness, rollup) =
        last.ok_or_else(|| eyre::eyre!("no batch size given"))?;
    let n = p.transfers;

    eprintln!("verification gas...");
    let verifier_code = ply_zk::verifier::verifier_bytecode(&BatchVerifier::BYTECODE, &keys.vk)?;
    let verifier = operator.deploy(verifier_code.into()).await?;
    let evm = EvmProof::from(&proof);
    let call = BatchVerifier::verifyProofCall {
        a: evm.a,
        b: evm.b,
        c: evm.c,
        input: [groth16::encode_fr(witness.commitment)],
    };
    let req =
        TransactionRequest::default().to(verifier).input(Bytes::from(call.abi_encode()).into());
    let verify_gas = client.estimate_gas(&req).await?;
    let verified = BatchVerifier::verifyProofCall::abi_decode_returns(
        &client.call(&req, BlockId::latest()).await?,
    )?;
    eyre::ensure!(verified, "the proof must verify");
    let _ = rollup;

    eprintln!("validium: batch of {n} with 2-of-3 committee signatures...");
    let members: Vec<_> = (5..8).map(dev_signer).collect::<Result<_, _>>()?;
    let mut addresses: Vec<_> = members.iter().map(|m| m.address()).collect();
    addresses.sort();
    let validium = deployment(&operator, &client, &p, &keys, &user, addresses).await?;
    let domain = signing_domain(chain_id, validium);
    let v_witness = full_batch(&p, domain, &operator_key, &user)?;
    let (v_proof, _) = prove(&keys, &v_witness)?;
    let dac = DacDomain { chain_id, contract: validium };
    let hash = data_hash(&v_witness.transfers);
    let mut sigs: Vec<_> = members[..2]
        .iter()
        .map(|m| Ok((m.address(), sign_data_hash(m, &dac, hash)?)))
        .collect::<eyre::Result<_>>()?;
    sigs.sort();
    let (v_gas, v_bytes) = submit(
        &operator,
        &client,
        validium,
        submit_validium_call(&v_witness, &v_proof, encode_signatures(&sigs)),
    )
    .await?;

    eprintln!("native L1 transfers...");
    let native = super::rollup::native_l1(&client, 20).await?;
    let native_gas = native["gas_per_transfer"].as_f64().unwrap_or(21_000.0);
    let rollup_gas =
        rollup_l1.last().and_then(|r| r["gas_per_transfer"].as_f64()).unwrap_or(f64::NAN);
    let validium_gas = v_gas as f64 / n as f64;
    let report = json!({
        "constraints_per_transfer": { "depths_16_4": devnet_constraints, "depths_24_8": max_constraints },
        "priority_depths_16_4": priority,
        "prover_threads": threads,
        "proving": proving,
        "verify_proof_gas": verify_gas,
        "zk_rollup_l1": rollup_l1,
        "validium_l1": {
            "transfers": n,
            "submit_gas": v_gas,
            "l1_tx_bytes": v_bytes,
            "gas_per_transfer": validium_gas,
            "bytes_per_transfer": v_bytes as f64 / n as f64,
        },
        "native_l1": native,
        "gas_ratio_native_over_zk_rollup": native_gas / rollup_gas,
        "gas_ratio_native_over_validium": native_gas / validium_gas,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "ply bench zk — zk rollup and validium vs native L1 transfers ({threads} prover threads)"
    );
    println!(
        "constraints per transfer: {devnet_constraints} (depths 16/4), {max_constraints} (24/8)"
    );
    println!(
        "constraints per priority slot (deposit, refused deposit or full exit): {} (depths 16/4)",
        priority["constraints_per_priority_slot"]
    );
    for p in &proving {
        println!(
            "  batch {:>3}: {:>9} constraints, proven in {:>6.1} s = {:.2} transfers/s",
            p["transfers"],
            p["constraints"],
            p["prove_s"].as_f64().unwrap_or(0.0),
            p["transfers_proven_per_s"].as_f64().unwrap_or(0.0)
        );
    }
    println!("verifyProof: {verify_gas} gas (a whole transaction)");
    for r in &rollup_l1 {
        println!(
            "  zk rollup, batch {:>3}: {:.0} L1 gas and {:.1} L1 bytes per transfer",
            r["transfers"],
            r["gas_per_transfer"].as_f64().unwrap_or(0.0),
            r["bytes_per_transfer"].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "  validium,  batch {n:>3}: {validium_gas:.0} L1 gas and {:.1} L1 bytes per transfer",
        v_bytes as f64 / n as f64
    );
    println!("  native L1: {native_gas:.0} gas per transfer");
    Ok(())
}
