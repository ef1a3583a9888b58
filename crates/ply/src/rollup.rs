//! `ply rollup ...`: the wallet side of the optimistic rollup (deposit, transfer, withdraw,
//! claim, balance, status) and the rollup node for a devnet.

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
    /// The rollup's status, or a transaction's with --tx.
    Status {
        /// A transaction hash.
        #[arg(long)]
        tx: Option<B256>,
    },
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

    async fn next_nonce(&self) -> eyre::Result<u64> {
        Ok(self.account(self.signer.address()).await?.map_or(0, |a| a.nonce))
    }
}

pub(crate) async fn run(args: RollupArgs) -> eyre::Result<()> {
    let wallet = Wallet::new(&args.wallet)?;
    let me = wallet.signer.address();
    match args.command {
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
                        .await?
                }
                Some(token) => {
                    let approve =
                        TestToken::approveCall { spender: status.bridge, amount }.abi_encode();
                    ply_rollup::node::call(&sender, token, approve).await?;
                    let data = Bridge::depositERC20Call { l1Token: token, to, amount }.abi_encode();
                    sender
                        .send_and_check(
                            TransactionRequest::default()
                                .to(status.bridge)
                                .input(Bytes::from(data).into()),
                        )
                        .await?
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
            let hash = ply_rollup::node::call(&sender, status.bridge, data).await?;
            println!(
                "claimed {} wei of token {} for {}: L1 transaction {hash}",
                w.amount, w.token, w.to
            );
        }
        RollupCommand::Balance { address } => {
            let address = address.unwrap_or(me);
            match wallet.account(address).await? {
                None => println!("{address}: no L2 account"),
                Some(a) => {
                    println!("{address} (account {}, nonce {})", a.index, a.nonce);
                    for (token, balance) in &a.balances {
                        println!("  token {token}: {balance} wei");
                    }
                }
            }
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
    }
    Ok(())
}
