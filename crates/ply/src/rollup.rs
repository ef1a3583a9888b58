//! `ply rollup ...`: the wallet side of the optimistic rollup (deposit, transfer, withdraw,
//! claim, balance, status), a derivation node (`verify`), the dispute game's player
//! (`challenger`) and its view (`dispute status`).

use alloy::{
    primitives::{Address, B256, Bytes, U256, utils::parse_units},
    rpc::{client::RpcClient as JsonRpc, types::TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail};
use ply_contracts::{Bridge, TestToken};
use ply_l1::client::{DynL1Client, RpcClient, TxSender};
use ply_ledger::{SigningDomain, Transfer, Tx, Withdrawal};
use ply_rollup::sequencer::{
    AccountView, Confirmation,
    rpc::{StatusView, TxRequest, TxView, WithdrawalView},
};
use std::sync::Arc;

/// Where the wallet commands find the rollup and who signs.
#[derive(Debug, Clone, Args)]
pub(crate) struct WalletArgs {
    /// The rollup sequencer's JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9545", global = true)]
    rpc: String,
    /// The L1 JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545", global = true)]
    l1: String,
    /// Sign with this private key (hex) instead of a dev account.
    #[arg(long, global = true, conflicts_with = "account")]
    private_key: Option<String>,
    /// Sign with dev account N (0-9) of the test mnemonic.
    #[arg(long, default_value_t = 0, global = true)]
    account: usize,
}

/// `ply rollup` commands.
#[derive(Debug, Args)]
pub(crate) struct RollupArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(subcommand)]
    command: RollupCommand,
}

#[derive(Debug, Subcommand)]
enum RollupCommand {
    /// Deposit ETH (or a registered ERC-20 with --token) from L1 into the rollup.
    Deposit {
        /// Amount in whole units (ether, or the token with 18 decimals), e.g. 1.5.
        amount: String,
        /// ERC-20 address on L1 (ETH if omitted).
        #[arg(long)]
        token: Option<Address>,
        /// L2 recipient (the signer if omitted).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Transfer on L2.
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount in whole units, e.g. 0.25.
        amount: String,
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u32,
        /// Fee in whole units.
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// Withdraw from L2 to L1 (claim it with `ply rollup claim` once final).
    Withdraw {
        /// Amount in whole units.
        amount: String,
        /// L1 recipient (the signer if omitted).
        #[arg(long)]
        to: Option<Address>,
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u32,
        /// Fee in whole units.
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// Claim a final withdrawal on L1.
    Claim {
        /// The withdrawal transaction's hash.
        tx: B256,
    },
    /// An account's L2 balances and nonce.
    Balance {
        /// The account (the signer if omitted).
        address: Option<Address>,
    },
    /// Rebuild the rollup's state from L1 data alone and check every proposed output (a
    /// derivation node: trusts nothing but the L1). Runs until Ctrl-C.
    Verify {
        /// The Rollup contract on L1.
        #[arg(long)]
        rollup: Address,
        /// The L1 block to start reading from (the deployment block).
        #[arg(long, default_value_t = 0)]
        start_block: u64,
        /// L1 confirmations before a block is read.
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
    },
    /// The rollup's status, or a transaction's with --tx.
    Status {
        /// A transaction hash.
        #[arg(long)]
        tx: Option<B256>,
    },
    /// Play the dispute game with the signer's key until Ctrl-C: challenge every output that
    /// disagrees with the derivation from L1, and defend the outputs this account proposed.
    Challenger {
        #[command(flatten)]
        on: RollupOn,
        /// Poll interval, milliseconds.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
    },
    /// The dispute games.
    Dispute {
        #[command(subcommand)]
        command: DisputeCommand,
    },
}

/// Which Rollup contract a command reads.
#[derive(Debug, Args)]
struct RollupOn {
    /// The Rollup contract on L1 (asked of the sequencer if omitted).
    #[arg(long)]
    rollup: Option<Address>,
    /// The L1 block to start reading from (the deployment block).
    #[arg(long, default_value_t = 0)]
    start_block: u64,
}

#[derive(Debug, Subcommand)]
enum DisputeCommand {
    /// Every game, the outputs not final yet with their open games, and the locked bonds.
    Status {
        #[command(flatten)]
        on: RollupOn,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Names the custom error of a reverted Bridge or Rollup call ("AlreadyClaimed { .. }") instead
/// of a bare "execution reverted".
fn explain(error: ply_rollup::Error) -> eyre::Report {
    use alloy::sol_types::SolInterface;
    if let ply_rollup::Error::L1(ply_l1::Error::Reverted { data, .. }) = &error {
        if let Ok(e) = Bridge::BridgeErrors::abi_decode(data) {
            return eyre::eyre!("the Bridge refused: {e:?}");
        }
        if let Ok(e) = ply_contracts::Rollup::RollupErrors::abi_decode(data) {
            return eyre::eyre!("the Rollup refused: {e:?}");
        }
    }
    error.into()
}

fn parse_amount(s: &str) -> eyre::Result<U256> {
    Ok(parse_units(s, 18).wrap_err_with(|| format!("{s:?} is not an amount"))?.into())
}

struct Wallet {
    signer: PrivateKeySigner,
    sequencer: JsonRpc,
    l1: DynL1Client,
}

impl Wallet {
    fn new(args: &WalletArgs) -> eyre::Result<Self> {
        let signer = match &args.private_key {
            Some(key) => ply_core::dev::parse_private_key(key)?,
            None => ply_core::dev::dev_signer(args.account)?,
        };
        Ok(Self {
            signer,
            sequencer: JsonRpc::new_http(args.rpc.parse().wrap_err("--rpc is not a URL")?),
            l1: Arc::new(RpcClient::new(&args.l1)?),
        })
    }

    async fn status(&self) -> eyre::Result<StatusView> {
        self.sequencer
            .request("ply_status", ())
            .await
            .wrap_err("asking the sequencer for its status")
    }

    async fn account(&self, address: Address) -> eyre::Result<Option<AccountView>> {
        Ok(self.sequencer.request("ply_getAccount", (address,)).await?)
    }

    async fn send(&self, tx: Tx) -> eyre::Result<Confirmation> {
        let status = self.status().await?;
        let domain = SigningDomain::new(status.chain_id, status.rollup);
        let signed = tx.sign(&self.signer, &domain)?;
        let confirmation: Confirmation = self
            .sequencer
            .request("ply_sendTransaction", (TxRequest::from_signed(&signed),))
            .await?;
        Ok(confirmation)
    }

    /// The Rollup contract: `rollup`, or the sequencer's.
    async fn rollup(&self, rollup: Option<Address>) -> eyre::Result<Address> {
        match rollup {
            Some(rollup) => Ok(rollup),
            None => Ok(self.status().await?.rollup),
        }
    }

    async fn next_nonce(&self) -> eyre::Result<u64> {
        Ok(self.account(self.signer.address()).await?.map_or(0, |a| a.nonce))
    }
}

/// Reads a view of the Rollup contract at `to`.
pub(crate) async fn view<C: SolCall>(
    client: &DynL1Client,
    to: Address,
    call: C,
) -> eyre::Result<C::Return> {
    view_at(client, to, alloy::eips::BlockId::latest(), call).await
}

/// Reads a view of the Rollup contract at `to` as of block `at` (several views of one block
/// see one state, whatever is mined meanwhile).
pub(crate) async fn view_at<C: SolCall>(
    client: &DynL1Client,
    to: Address,
    at: alloy::eips::BlockId,
    call: C,
) -> eyre::Result<C::Return> {
    let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
    let out = client.call(&req, at).await?;
    C::abi_decode_returns(&out)
        .map_err(|e| eyre::eyre!("{to} is not a ply Rollup contract ({}: {e})", C::SIGNATURE))
}

/// The rollup's parameters, read from the Rollup contract itself.
async fn rollup_config(
    l1: &DynL1Client,
    rollup: Address,
    confirmations: u64,
) -> eyre::Result<ply_rollup::RollupConfig> {
    use ply_contracts::Rollup;
    let bridge = view(l1, rollup, Rollup::bridgeCall {}).await?;
    let sequencer = view(l1, rollup, Rollup::sequencerCall {}).await?;
    let l2_chain_id = view(l1, rollup, Rollup::l2ChainIdCall {}).await?;
    Ok(ply_rollup::RollupConfig {
        l2_chain_id,
        rollup,
        bridge,
        // The fee account is the sequencer's address (index 0 at genesis).
        ledger: ply_ledger::LedgerConfig::new(sequencer),
        block_time: std::time::Duration::from_millis(250),
        max_block_txs: 1_000,
        l1_confirmations: confirmations,
        batch: Default::default(),
    })
}

/// `ply rollup verify`: the rollup's parameters come from the Rollup contract itself.
async fn verify(
    l1: DynL1Client,
    rollup: Address,
    start_block: u64,
    confirmations: u64,
) -> eyre::Result<()> {
    use ply_rollup::derivation::{DerivationEvent, DerivationNode};
    let config = rollup_config(&l1, rollup, confirmations).await?;
    let (bridge, l2_chain_id) = (config.bridge, config.l2_chain_id);
    let node = DerivationNode::new(l1, config, confirmations)?
        .with_start_block(start_block)
        .with_poll_interval(std::time::Duration::from_millis(500));
    let mut events = node.subscribe();
    let task = tokio::spawn(node.run());
    println!(
        "deriving rollup {rollup} (bridge {bridge}, L2 chain {l2_chain_id}) from L1 block {start_block}"
    );
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = events.recv() => match event {
                Ok(DerivationEvent::BatchDerived { index, output, .. }) => {
                    println!("batch {index}: state root {}", output.state_root)
                }
                Ok(DerivationEvent::OutputAgrees { index }) => println!("batch {index}: proposed output agrees"),
                Ok(DerivationEvent::OutputMismatch { batch, expected, proposed, first_bad_tx, proposer, .. }) => {
                    println!(
                        "batch {batch}: proposed output is WRONG (proposer {proposer}): derived state root {}, proposed {}; first skipped transaction {first_bad_tx:?}",
                        expected.state_root, proposed.state_root
                    )
                }
                Ok(DerivationEvent::BatchMalformed { index, reason }) => println!("batch {index}: malformed ({reason}); deposits applied, transactions skipped"),
                Ok(DerivationEvent::TxSkipped { batch, block, index, reason }) => println!("batch {batch}: transaction {block}/{index} skipped: {reason}"),
                Ok(DerivationEvent::Halted { reason }) => bail!("derivation halted: {reason}"),
                Ok(other) => tracing::debug!(?other, "derivation"),
                Err(_) => break,
            },
        }
    }
    task.abort();
    Ok(())
}

pub(crate) async fn run(args: RollupArgs) -> eyre::Result<()> {
    if let RollupCommand::Verify { rollup, start_block, confirmations } = args.command {
        let l1: DynL1Client = Arc::new(RpcClient::new(&args.wallet.l1)?);
        return verify(l1, rollup, start_block, confirmations).await;
    }
    let wallet = Wallet::new(&args.wallet)?;
    let me = wallet.signer.address();
    match args.command {
        RollupCommand::Challenger { on, poll_ms } => {
            let config = rollup_config(&wallet.l1, wallet.rollup(on.rollup).await?, 0).await?;
            let sender = Arc::new(TxSender::new(wallet.l1.clone(), wallet.signer.clone()));
            println!("playing the dispute game on rollup {} as {me}", config.rollup);
            let player = player(wallet.l1.clone(), sender, config, on.start_block, true, None)?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                r = ply_rollup::fraud::player::run_player(player, std::time::Duration::from_millis(poll_ms)) => r?,
            }
        }
        RollupCommand::Dispute { command: DisputeCommand::Status { on, json } } => {
            let rollup = wallet.rollup(on.rollup).await?;
            print_dispute_status(&wallet.l1, rollup, on.start_block, json).await?;
        }
        RollupCommand::Deposit { amount, token, to } => {
            let amount = parse_amount(&amount)?;
            let status = wallet.status().await?;
            let sender = TxSender::new(wallet.l1.clone(), wallet.signer.clone());
            let to = to.unwrap_or(me);
            let receipt = match token {
                None => {
                    let data = Bridge::depositETHCall { to }.abi_encode();
                    sender
                        .send_and_check(
                            TransactionRequest::default()
                                .to(status.bridge)
                                .value(amount)
                                .input(Bytes::from(data).into()),
                        )
                        .await
                        .map_err(|e| explain(e.into()))?
                }
                Some(token) => {
                    let approve =
                        TestToken::approveCall { spender: status.bridge, amount }.abi_encode();
                    ply_rollup::node::call(&sender, token, approve).await.map_err(explain)?;
                    let data = Bridge::depositERC20Call { l1Token: token, to, amount }.abi_encode();
                    sender
                        .send_and_check(
                            TransactionRequest::default()
                                .to(status.bridge)
                                .input(Bytes::from(data).into()),
                        )
                        .await
                        .map_err(|e| explain(e.into()))?
                }
            };
            println!("deposited {amount} wei to {to}: L1 transaction {}", receipt.transaction_hash);
        }
        RollupCommand::Transfer { to, amount, token, fee } => {
            let tx = Tx::Transfer(Transfer {
                from: me,
                to,
                token,
                amount: parse_amount(&amount)?,
                fee: parse_amount(&fee)?,
                nonce: wallet.next_nonce().await?,
            });
            let c = wallet.send(tx).await?;
            println!("soft-confirmed {} in L2 block {} (index {})", c.hash, c.block, c.index);
        }
        RollupCommand::Withdraw { amount, to, token, fee } => {
            let tx = Tx::Withdrawal(Withdrawal {
                from: me,
                to: to.unwrap_or(me),
                token,
                amount: parse_amount(&amount)?,
                fee: parse_amount(&fee)?,
                nonce: wallet.next_nonce().await?,
            });
            let c = wallet.send(tx).await?;
            println!("withdrawal {} soft-confirmed in L2 block {}", c.hash, c.block);
            println!("claim it on L1 once final: ply rollup claim {}", c.hash);
        }
        RollupCommand::Claim { tx } => {
            let w: Option<WithdrawalView> =
                wallet.sequencer.request("ply_getWithdrawal", (tx,)).await?;
            let Some(w) = w else {
                bail!(
                    "{tx} is not a withdrawal in a posted batch yet (see `ply rollup status --tx {tx}`)"
                )
            };
            if !w.finalized {
                bail!("batch {} is not final yet: wait for its challenge window", w.batch_index);
            }
            let status = wallet.status().await?;
            let data = Bridge::claimWithdrawalCall {
                batchIndex: U256::from(w.batch_index),
                leafIndex: U256::from(w.position),
                to: w.to,
                token: w.token,
                amount: w.amount,
                proof: w.proof,
            }
            .abi_encode();
            let sender = TxSender::new(wallet.l1.clone(), wallet.signer.clone());
            let hash =
                ply_rollup::node::call(&sender, status.bridge, data).await.map_err(explain)?;
            println!(
                "claimed {} wei of token {} for {}: L1 transaction {hash}",
                w.amount, w.token, w.to
            );
        }
        RollupCommand::Balance { address } => {
            let address = address.unwrap_or(me);
            let account = wallet.account(address).await?;
            print_account(
                address,
                account.as_ref().map(|a| (a.index.into(), a.nonce, &a.balances)),
            );
        }
        RollupCommand::Status { tx: Some(hash) } => {
            let tx: Option<TxView> =
                wallet.sequencer.request("ply_getTransaction", (hash,)).await?;
            match tx {
                None => println!("{hash}: unknown"),
                Some(tx) => println!("{}", serde_json::to_string_pretty(&tx)?),
            }
        }
        RollupCommand::Status { tx: None } => {
            println!("{}", serde_json::to_string_pretty(&wallet.status().await?)?);
        }
        RollupCommand::Verify { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// A dispute-game player on `config`'s rollup that defends the outputs `sender` proposed
/// (with `claims`, honest ones if `None`) and, with `challenge`, disputes every output that
/// disagrees with its derivation from L1 (read from `start_block`).
pub(crate) fn player(
    l1: DynL1Client,
    sender: Arc<TxSender>,
    config: ply_rollup::RollupConfig,
    start_block: u64,
    challenge: bool,
    claims: Option<ply_rollup::fraud::player::Claims>,
) -> eyre::Result<ply_rollup::fraud::player::Player> {
    use ply_rollup::fraud::player::{Player, PlayerConfig, honest_claims};
    let config = PlayerConfig {
        rollup: config,
        challenge,
        defend: true,
        claims: claims.unwrap_or_else(honest_claims),
        start_block,
    };
    Ok(Player::new(l1, sender, config)?)
}

/// A game's `status` in words.
fn game_status(status: u8) -> &'static str {
    match status {
        1 => "active",
        2 => "challenger won",
        3 => "defender won",
        4 => "void",
        _ => "unknown",
    }
}

/// The dispute games of `rollup` (with their trace lengths from the `GameStarted` events from
/// `start_block` on), its outputs not final yet with their open games, and its locked bonds.
pub(crate) async fn dispute_status(
    l1: &DynL1Client,
    rollup: Address,
    start_block: u64,
) -> eyre::Result<serde_json::Value> {
    // One block for every view: a game resolving meanwhile must not make them disagree.
    let at = alloy::eips::BlockId::number(l1.block_number().await?);
    use alloy::sol_types::SolEvent;
    use ply_contracts::Rollup;
    let head = l1.block_number().await?;
    let filter = alloy::rpc::types::Filter::new()
        .address(rollup)
        .event_signature(Rollup::GameStarted::SIGNATURE_HASH);
    let mut lengths = std::collections::BTreeMap::new();
    for log in ply_l1::client::logs_in_range(l1.as_ref(), &filter, start_block..=head).await? {
        let started = Rollup::GameStarted::decode_log(&log.inner)?;
        lengths.insert(started.gameId.to::<u64>(), started.traceLength.to::<u64>());
    }
    let count: u64 = view_at(l1, rollup, at, Rollup::gameCountCall {}).await?.to();
    let mut games = Vec::new();
    for id in 0..count {
        let g = view_at(l1, rollup, at, Rollup::gameCall { gameId: U256::from(id) }).await?;
        let c = view_at(l1, rollup, at, Rollup::clocksCall { gameId: U256::from(id) }).await?;
        let to_move = match (g.status, c.challengerToMove, g.hi - g.lo) {
            (1, true, 1) => Some("challenger (step)"),
            (1, true, _) => Some("challenger (respond)"),
            (1, false, _) => Some("defender (bisect)"),
            _ => None,
        };
        games.push(serde_json::json!({
            "id": id,
            "batch": g.batchIndex,
            "challenger": g.challenger,
            "defender": g.defender,
            "status": game_status(g.status),
            "lo": g.lo,
            "hi": g.hi,
            "to_move": to_move,
            "defender_seconds_left": c.defenderLeft.to::<u64>(),
            "challenger_seconds_left": c.challengerLeft.to::<u64>(),
            "trace_length": lengths.get(&id),
        }));
    }
    let outputs: u64 = view_at(l1, rollup, at, Rollup::outputCountCall {}).await?.to();
    let finalized: u64 = view_at(l1, rollup, at, Rollup::finalizedCountCall {}).await?.to();
    let window: u64 = view_at(l1, rollup, at, Rollup::challengeWindowCall {}).await?;
    let now = ply_l1::client::latest_timestamp(l1.as_ref()).await?;
    let mut pending = Vec::new();
    for batch in finalized..outputs {
        if view_at(l1, rollup, at, Rollup::isFinalCall { batchIndex: U256::from(batch) }).await? {
            continue;
        }
        let o =
            view_at(l1, rollup, at, Rollup::outputCall { batchIndex: U256::from(batch) }).await?;
        let ids =
            view_at(l1, rollup, at, Rollup::outputGamesCall { batchIndex: U256::from(batch) })
                .await?;
        let open: Vec<u64> = ids
            .iter()
            .map(|id| id.to::<u64>())
            .filter(|id| games.get(*id as usize).is_some_and(|g| g["status"] == "active"))
            .collect();
        let root = ply_rollup::fraud::output_root(o.stateCommitment, o.withdrawalRoot);
        pending.push(serde_json::json!({
            "batch": batch,
            "output_root": root,
            "proposer": o.proposer,
            "window_seconds_left": (o.proposedAt.to::<u64>() + window).saturating_sub(now),
            "open_games": open,
        }));
    }
    let locked: U256 = view_at(l1, rollup, at, Rollup::lockedBondsCall {}).await?;
    Ok(serde_json::json!({
        "rollup": rollup,
        "games": games,
        "outputs_not_final": pending,
        "locked_bonds_wei": locked.to_string(),
    }))
}

/// `ply rollup dispute status`: [`dispute_status`] as a table, or as JSON.
async fn print_dispute_status(
    l1: &DynL1Client,
    rollup: Address,
    start_block: u64,
    json: bool,
) -> eyre::Result<()> {
    let status = dispute_status(l1, rollup, start_block).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let short = |v: &serde_json::Value| {
        let s = text(v);
        if s.len() > 12 { format!("{}..{}", &s[..6], &s[s.len() - 4..]) } else { s }
    };
    println!("games of rollup {rollup}:");
    println!(
        "  {:>4} {:>5}  {:<12} {:<12} {:<14} {:>7} {:>7} {:>7}  {:<20} {:>9} {:>9}",
        "id",
        "batch",
        "challenger",
        "defender",
        "status",
        "lo",
        "hi",
        "steps",
        "to move",
        "def. left",
        "chal. left"
    );
    for g in status["games"].as_array().into_iter().flatten() {
        println!(
            "  {:>4} {:>5}  {:<12} {:<12} {:<14} {:>7} {:>7} {:>7}  {:<20} {:>8}s {:>9}s",
            text(&g["id"]),
            text(&g["batch"]),
            short(&g["challenger"]),
            short(&g["defender"]),
            text(&g["status"]),
            text(&g["lo"]),
            text(&g["hi"]),
            text(&g["trace_length"]),
            text(&g["to_move"]),
            text(&g["defender_seconds_left"]),
            text(&g["challenger_seconds_left"]),
        );
    }
    println!("outputs not final:");
    for o in status["outputs_not_final"].as_array().into_iter().flatten() {
        println!(
            "  batch {:>5}  root {}  proposer {}  window {}s left  open games {}",
            text(&o["batch"]),
            short(&o["output_root"]),
            short(&o["proposer"]),
            text(&o["window_seconds_left"]),
            text(&o["open_games"]),
        );
    }
    println!("locked bonds: {} wei", text(&status["locked_bonds_wei"]));
    Ok(())
}

/// Prints an L2 account (its index, nonce and balances by token id), as `ply rollup balance`
/// and `ply zk balance` show it; `None` is an address without an account.
pub(crate) fn print_account(
    address: Address,
    account: Option<(u64, u64, &std::collections::BTreeMap<u32, U256>)>,
) {
    match account {
        None => println!("{address}: no L2 account"),
        Some((index, nonce, balances)) => {
            println!("{address} (account {index}, nonce {nonce})");
            for (token, balance) in balances {
                println!("  token {token}: {balance} wei");
            }
        }
    }
}
