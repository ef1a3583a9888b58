//! `ply zk ...`: the wallet side of the zk rollup and the validium (deposit, transfer,
//! withdraw, claim, balance, status, exit), the development setup of the batch circuit, and
//! `ply dac`, a member of a validium's data availability committee.

use alloy::{
    primitives::{Address, B256, U256, utils::parse_units},
    rpc::client::RpcClient as JsonRpc,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolInterface},
};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail};
use ply_contracts::{TestToken, ZkRollup};
use ply_l1::client::{DynL1Client, RpcClient, TxSender};
use ply_zk::{
    circuit::{BatchParams, ZkOperation, ZkTransfer, ZkWithdrawal},
    dac::{DacClient, DacDomain, DacMember, DacMemberConfig},
    eddsa::SecretKey,
    groth16::KeyStore,
    node::{
        ZkL1,
        derive::rebuild,
        rpc::StatusJson,
        wire::{AccountJson, TxRequest, fr_to_u256},
    },
};
use std::{path::PathBuf, sync::Arc};

/// The batch shape of the devnet: 65,536 accounts, 16 tokens, 2 deposits, 8 transfers and 2
/// withdrawals a batch.
pub(crate) const DEVNET_PARAMS: BatchParams = BatchParams {
    account_depth: 16,
    token_depth: 4,
    deposits: 2,
    transfers: 8,
    withdrawals: 2,
    fee_tokens: 1,
};

/// The devnet's spacing of priority deadlines, in seconds: about a batch's time (a 5-second
/// cut and its proof) over its 2 priority slots, so that a deposit flood at whatever rate the
/// L1 allows only pushes later deadlines back and never makes the operator overdue.
pub(crate) const DEVNET_PRIORITY_INTERVAL: u64 = 15;

/// The devnet's priority fee: 0.001 ETH burned by every queued deposit or full exit, so that a
/// flood of the queue costs money besides gas (docs/zk.md, "Priority fee").
pub(crate) const DEVNET_PRIORITY_FEE: u128 = 1_000_000_000_000_000;

/// Where development keys are cached unless `--keys` says otherwise.
pub(crate) fn default_keys_dir() -> PathBuf {
    std::env::var_os("PLY_ZK_KEYS").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("ply").join("zk-keys")
    })
}

/// `ply zk` commands.
#[derive(Debug, Args)]
pub(crate) struct ZkArgs {
    /// Talk to the validium (default port 9547) instead of the zk rollup (9546).
    #[arg(long, global = true)]
    validium: bool,
    /// The operator's JSON-RPC endpoint (default: the zk rollup's or the validium's).
    #[arg(long, global = true)]
    rpc: Option<String>,
    /// The L1 JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545", global = true)]
    l1: String,
    /// Sign with this private key (hex) instead of a dev account.
    #[arg(long, global = true, conflicts_with = "account")]
    private_key: Option<String>,
    /// Sign with dev account N (0-9) of the test mnemonic.
    #[arg(long, default_value_t = 0, global = true)]
    account: usize,
    #[command(subcommand)]
    command: ZkCommand,
}

#[derive(Debug, Subcommand)]
enum ZkCommand {
    /// Run the DEVELOPMENT setup of the batch circuit (not a ceremony: whoever ran it can
    /// forge proofs) and cache the keys, checked by hash when loaded.
    Setup {
        /// The key directory.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// The account tree's depth.
        #[arg(long, default_value_t = DEVNET_PARAMS.account_depth)]
        account_depth: usize,
        /// The balance trees' depth.
        #[arg(long, default_value_t = DEVNET_PARAMS.token_depth)]
        token_depth: usize,
        /// Deposit slots a batch.
        #[arg(long, default_value_t = DEVNET_PARAMS.deposits)]
        deposits: usize,
        /// Transfer slots a batch.
        #[arg(long, default_value_t = DEVNET_PARAMS.transfers)]
        transfers: usize,
        /// Withdrawal slots a batch.
        #[arg(long, default_value_t = DEVNET_PARAMS.withdrawals)]
        withdrawals: usize,
    },
    /// Deposit ETH (or a registered ERC-20 with --token) from L1 to your L2 account (created
    /// with your L2 key). The contract's priority fee (`ZkRollup.priorityFee`, 0.001 ETH on the
    /// devnet, burned) is paid in ETH on top of the amount.
    Deposit {
        /// Amount in whole units (ether, or the token with 18 decimals), e.g. 1.5.
        amount: String,
        /// ERC-20 address on L1 (ETH if omitted); approved for the contract first.
        #[arg(long)]
        token: Option<Address>,
    },
    /// Transfer on L2 to an account (by its L1 address).
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount in whole units (at most 6 significant digits: amounts are packed in 3 bytes).
        amount: String,
        /// Token id on L2 (0 = ETH; `ZkRollup.tokenId(erc20)` for an ERC-20).
        #[arg(long, default_value_t = 0)]
        token: u8,
        /// Fee in whole units of the same token (one significant digit).
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// Withdraw to your L1 address (released when its batch is verified).
    Withdraw {
        /// Amount in whole units.
        amount: String,
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
        /// Fee in whole units of the same token (one significant digit).
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// Force a withdrawal through L1 (a full exit): your whole L2 balance of a token joins the
    /// L1 priority queue; the operator's next batch must pay it out (then `ply zk claim`), or
    /// anyone may switch the contract to exit mode once it is overdue. Pays the contract's
    /// priority fee in ETH.
    FullExit {
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Claim your released withdrawals (and exits) of a token on L1.
    Claim {
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// An account's L2 balances and nonce.
    Balance {
        /// The account (the signer if omitted).
        address: Option<Address>,
    },
    /// The operator's status, or a transaction's with --tx.
    Status {
        /// A transaction id.
        #[arg(long)]
        tx: Option<B256>,
    },
    /// Without the operator: rebuild the state from L1 (and the committee of a validium),
    /// switch the contract to exit mode if a deposit is overdue, and exit your balance of a
    /// token.
    Exit {
        /// The ZkRollup contract.
        #[arg(long)]
        contract: Address,
        /// Token id on L2 (0 = ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
        /// Committee members to read a validium's data from (JSON-RPC URLs).
        #[arg(long = "dac", value_name = "URL")]
        dac: Vec<String>,
    },
}

fn parse_ether(s: &str) -> eyre::Result<u128> {
    let value: U256 =
        parse_units(s, 18).wrap_err_with(|| format!("{s:?} is not an amount"))?.into();
    Ok(u128::try_from(value)?)
}

/// Names the custom error of a reverted `ZkRollup` call.
fn explain(error: ply_l1::Error) -> eyre::Report {
    if let ply_l1::Error::Reverted { data, .. } = &error
        && let Ok(e) = ZkRollup::ZkRollupErrors::abi_decode(data)
    {
        return eyre::eyre!("the ZkRollup contract refused: {e:?}");
    }
    error.into()
}

struct Wallet {
    signer: PrivateKeySigner,
    key: SecretKey,
    operator: JsonRpc,
    l1: DynL1Client,
}

impl Wallet {
    fn new(args: &ZkArgs) -> eyre::Result<Self> {
        let signer = match &args.private_key {
            Some(key) => ply_core::dev::parse_private_key(key)?,
            None => ply_core::dev::dev_signer(args.account)?,
        };
        let default = if args.validium { "http://127.0.0.1:9547" } else { "http://127.0.0.1:9546" };
        let rpc = args.rpc.as_deref().unwrap_or(default);
        Ok(Self {
            key: SecretKey::from_ethereum_signer(&signer)?,
            signer,
            operator: JsonRpc::new_http(rpc.parse().wrap_err("--rpc is not a URL")?),
            l1: Arc::new(RpcClient::new(&args.l1)?),
        })
    }

    async fn status(&self) -> eyre::Result<StatusJson> {
        self.operator.request("zk_status", ()).await.wrap_err("asking the operator for its status")
    }

    async fn account(&self, address: Address) -> eyre::Result<Option<AccountJson>> {
        Ok(self.operator.request("zk_getAccount", (address,)).await?)
    }

    async fn me(&self) -> eyre::Result<AccountJson> {
        match self.account(self.signer.address()).await? {
            Some(account) => Ok(account),
            None => bail!("{} has no L2 account yet: deposit first", self.signer.address()),
        }
    }

    async fn send(&self, op: ZkOperation) -> eyre::Result<B256> {
        let request = TxRequest::from_op(&op).expect("a transaction");
        Ok(self.operator.request("zk_sendTransaction", (request,)).await?)
    }

    fn sender(&self) -> TxSender {
        TxSender::new(self.l1.clone(), self.signer.clone())
    }
}

pub(crate) async fn run(args: ZkArgs) -> eyre::Result<()> {
    if let ZkCommand::Setup { keys, account_depth, token_depth, deposits, transfers, withdrawals } =
        &args.command
    {
        let params = BatchParams {
            account_depth: *account_depth,
            token_depth: *token_depth,
            deposits: *deposits,
            transfers: *transfers,
            withdrawals: *withdrawals,
            fee_tokens: 1,
        };
        params.validate()?;
        let dir = keys.clone().unwrap_or_else(default_keys_dir);
        println!("DEVELOPMENT setup (not a ceremony: these keys are for testing only)");
        let keys = ply_zk::node::dev_keys(&KeyStore::new(&dir), &params)?;
        println!("{}", keys.manifest.to_text());
        println!("keys in {}", dir.display());
        return Ok(());
    }
    let wallet = Wallet::new(&args)?;
    let me = wallet.signer.address();
    match args.command {
        ZkCommand::Setup { .. } => unreachable!("handled above"),
        ZkCommand::Deposit { amount, token } => {
            let status = wallet.status().await?;
            let pk = wallet.key.public_key();
            let (pk_x, pk_y) = (fr_to_u256(pk.0.x), fr_to_u256(pk.0.y));
            let amount = parse_ether(&amount)?;
            let sender = wallet.sender();
            let reader = ZkL1::new(wallet.l1.clone(), status.contract);
            let fee = reader.view(ZkRollup::priorityFeeCall {}).await?;
            let hash = match token {
                None => {
                    let call = ZkRollup::depositEthCall { amount, pkX: pk_x, pkY: pk_y };
                    let value = U256::from(amount) + fee;
                    sender.send_call(status.contract, call.abi_encode(), value).await
                }
                Some(erc20) => {
                    let id = reader
                        .view(ZkRollup::tokenIdCall { token: erc20 })
                        .await
                        .wrap_err_with(|| format!("{erc20} is not registered with the contract"))?;
                    let approve = TestToken::approveCall {
                        spender: status.contract,
                        amount: U256::from(amount),
                    };
                    sender.send_call(erc20, approve.abi_encode(), U256::ZERO).await?;
                    println!("approved {amount} of {erc20} (token {id}) for {}", status.contract);
                    let call =
                        ZkRollup::depositErc20Call { token: erc20, amount, pkX: pk_x, pkY: pk_y };
                    sender.send_call(status.contract, call.abi_encode(), fee).await
                }
            }
            .map_err(explain)?;
            println!(
                "queued a deposit of {amount} wei for {me} (priority fee {fee} wei, burned): L1 transaction {hash}"
            );
        }
        ZkCommand::Transfer { to, amount, token, fee } => {
            let status = wallet.status().await?;
            let from = wallet.me().await?;
            let Some(recipient) = wallet.account(to).await? else {
                bail!("{to} has no L2 account (accounts are created by deposits)");
            };
            let domain = ply_zk::fr_from_u256(status.domain).expect("a field element");
            let tx = ZkTransfer::signed(
                &wallet.key,
                domain,
                from.index,
                recipient.index,
                u32::from(token),
                parse_ether(&amount)?,
                parse_ether(&fee)?,
                from.nonce,
            );
            let id = wallet.send(ZkOperation::Transfer(tx)).await?;
            println!("soft-confirmed {id}; see `ply zk status --tx {id}`");
        }
        ZkCommand::Withdraw { amount, token, fee } => {
            let status = wallet.status().await?;
            let from = wallet.me().await?;
            let domain = ply_zk::fr_from_u256(status.domain).expect("a field element");
            let tx = ZkWithdrawal::signed(
                &wallet.key,
                domain,
                from.index,
                u32::from(token),
                parse_ether(&amount)?,
                parse_ether(&fee)?,
                from.nonce,
            );
            let id = wallet.send(ZkOperation::Withdrawal(tx)).await?;
            println!("withdrawal {id} soft-confirmed; `ply zk claim` once its batch is verified");
        }
        ZkCommand::FullExit { token } => {
            let status = wallet.status().await?;
            let reader = ZkL1::new(wallet.l1.clone(), status.contract);
            let fee = reader.view(ZkRollup::priorityFeeCall {}).await?;
            let call = ZkRollup::requestFullExitCall { token }.abi_encode();
            let hash =
                wallet.sender().send_call(status.contract, call, fee).await.map_err(explain)?;
            println!(
                "full exit of token {token} queued on L1 (transaction {hash}); `ply zk claim --token {token}` once its batch is verified"
            );
        }
        ZkCommand::Claim { token } => {
            let status = wallet.status().await?;
            let reader = ZkL1::new(wallet.l1.clone(), status.contract);
            claim(&wallet, &reader, token).await?;
        }
        ZkCommand::Balance { address } => {
            let address = address.unwrap_or(me);
            let account = wallet.account(address).await?;
            crate::rollup::print_account(
                address,
                account.as_ref().map(|a| (a.index, a.nonce, &a.balances)),
            );
        }
        ZkCommand::Status { tx: Some(id) } => {
            let status: serde_json::Value =
                wallet.operator.request("zk_getTransaction", (id,)).await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
        }
        ZkCommand::Status { tx: None } => {
            println!("{}", serde_json::to_string_pretty(&wallet.status().await?)?);
        }
        ZkCommand::Exit { contract, token, dac } => {
            let reader = ZkL1::new(wallet.l1.clone(), contract);
            let mut committee = Vec::new();
            for url in &dac {
                committee.push(DacClient::connect(url).await?);
            }
            let (state, roots) = rebuild(&reader, &committee).await?;
            println!("rebuilt the state of {} verified batches from L1", roots.len());
            let Some(index) = state.index_of(&me) else { bail!("{me} has no L2 account") };
            if !reader.exit_mode().await? {
                let call = ZkRollup::activateExitModeCall {}.abi_encode();
                wallet.sender().send_call(contract, call, U256::ZERO).await.map_err(explain)?;
                println!("switched the contract to exit mode");
            }
            let call = ply_zk::node::l1::exit_call(&state, index, u32::from(token))?;
            let balance = call.balance;
            wallet
                .sender()
                .send_call(contract, call.abi_encode(), U256::ZERO)
                .await
                .map_err(explain)?;
            println!("exited {balance} wei of token {token} from account {index}");
            claim(&wallet, &reader, token).await?;
        }
    }
    Ok(())
}

async fn claim(wallet: &Wallet, reader: &ZkL1, token: u8) -> eyre::Result<()> {
    let me = wallet.signer.address();
    let pending = reader.view(ZkRollup::pendingCall { owner: me, token }).await?;
    if pending.is_zero() {
        bail!("nothing of token {token} to claim for {me} yet");
    }
    let call = ZkRollup::claimCall { owner: me, token }.abi_encode();
    let hash =
        wallet.sender().send_call(reader.rollup(), call, U256::ZERO).await.map_err(explain)?;
    println!("claimed {pending} wei of token {token} for {me}: L1 transaction {hash}");
    Ok(())
}

/// `ply dac`: one member of a validium's data availability committee.
#[derive(Debug, Args)]
pub(crate) struct DacArgs {
    /// The validium's ZkRollup contract (the signatures are bound to it).
    #[arg(long)]
    contract: Address,
    /// The L1 chain id.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = ply_zk::dac::DEFAULT_PORT)]
    port: u16,
    /// Where the member stores batches.
    #[arg(long)]
    data_dir: PathBuf,
    /// The member's key (hex) instead of a dev account.
    #[arg(long, conflicts_with = "account")]
    private_key: Option<String>,
    /// Sign with dev account N (0-9).
    #[arg(long, default_value_t = 5)]
    account: usize,
}

pub(crate) async fn run_dac(args: DacArgs) -> eyre::Result<()> {
    let signer = match &args.private_key {
        Some(key) => ply_core::dev::parse_private_key(key)?,
        None => ply_core::dev::dev_signer(args.account)?,
    };
    let domain = DacDomain { chain_id: args.chain_id, contract: args.contract };
    let address = signer.address();
    let member =
        DacMember::start(signer, DacMemberConfig::new(domain, &args.data_dir, args.port)).await?;
    println!("DAC member {address} serving {} for {}", member.url(), args.contract);
    tokio::signal::ctrl_c().await?;
    member.stop().await;
    Ok(())
}

/// Dev account that operates the devnet's zk rollup.
const ZK_ROLLUP_OPERATOR: usize = 6;
/// Dev account that operates the devnet's validium.
const VALIDIUM_OPERATOR: usize = 7;
/// Dev accounts of the devnet validium's committee (2 of 3 sign).
const DAC_MEMBERS: [usize; 3] = [3, 4, 5];

/// The zk rollup and the validium of a devnet, with the validium's committee.
pub(crate) struct DevnetFamilies {
    rollup: (ply_zk::node::ZkNode, Address),
    validium: (ply_zk::node::ZkNode, Address),
    members: Vec<DacMember>,
}

impl DevnetFamilies {
    pub(crate) fn print(&self) {
        println!(
            "zk rollup:        http://{} (ZkRollup {})",
            self.rollup.0.rpc_addr(),
            self.rollup.1
        );
        println!(
            "validium:         http://{} (ZkRollup {}, committee of {}: {})",
            self.validium.0.rpc_addr(),
            self.validium.1,
            self.members.len(),
            self.members.iter().map(|m| m.url()).collect::<Vec<_>>().join(" ")
        );
    }

    pub(crate) async fn stop(self) {
        self.rollup.0.stop().await;
        self.validium.0.stop().await;
        for member in self.members {
            member.stop().await;
        }
    }
}

/// Deploys and starts the devnet's zk rollup (port 9546) and validium (9547, with a committee
/// of three `ply dac` members on 9560-9562), with [`DEVNET_PARAMS`] and development keys;
/// `test_token` is registered with both as token 1.
pub(crate) async fn start_devnet_families(
    client: &DynL1Client,
    keys_dir: Option<PathBuf>,
    data_dir: &std::path::Path,
    test_token: Address,
) -> eyre::Result<DevnetFamilies> {
    use ply_zk::node::{DataMode, ZkDeployParams, ZkNode, ZkNodeConfig};
    let dir = keys_dir.unwrap_or_else(default_keys_dir);
    tracing::info!(
        "zk: loading the batch circuit's keys from {} (a DEVELOPMENT setup runs on first use)",
        dir.display()
    );
    let keys = ply_zk::node::dev_keys(&KeyStore::new(&dir), &DEVNET_PARAMS)?;
    let proving_key = Arc::new(keys.pk.clone());
    let chain_id = client.chain_id().await?;
    let mut started = Vec::new();
    let mut members = Vec::new();
    for (account, port, validium) in [
        (ZK_ROLLUP_OPERATOR, ply_zk::node::ZK_ROLLUP_PORT, false),
        (VALIDIUM_OPERATOR, ply_zk::node::VALIDIUM_PORT, true),
    ] {
        let signer = ply_core::dev::dev_signer(account)?;
        let operator_key = SecretKey::from_ethereum_signer(&signer)?.public_key();
        let sender = TxSender::new(client.clone(), signer);
        let member_signers: Vec<_> = if validium {
            DAC_MEMBERS.iter().map(|i| ply_core::dev::dev_signer(*i)).collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let mut committee: Vec<Address> = member_signers.iter().map(|s| s.address()).collect();
        committee.sort();
        let contracts = ply_zk::node::deploy(
            &sender,
            &ZkDeployParams {
                params: DEVNET_PARAMS,
                vk: keys.vk.clone(),
                operator: sender.address(),
                operator_key,
                threshold: if validium { 2 } else { 0 },
                committee,
                priority_deadline: 600,
                priority_interval: DEVNET_PRIORITY_INTERVAL,
                priority_fee: DEVNET_PRIORITY_FEE,
                token_governor: sender.address(),
            },
        )
        .await?;
        let register = ZkRollup::registerTokenCall { token: test_token }.abi_encode();
        sender.send_call(contracts.rollup, register, U256::ZERO).await.map_err(explain)?;
        let name = if validium { "validium" } else { "zk-rollup" };
        let mode = if validium {
            let domain = DacDomain { chain_id, contract: contracts.rollup };
            let mut clients = Vec::new();
            for (i, signer) in member_signers.into_iter().enumerate() {
                let config = DacMemberConfig::new(
                    domain,
                    data_dir.join(format!("{name}-dac-{i}")),
                    ply_zk::dac::DEFAULT_PORT + i as u16,
                );
                let member = DacMember::start(signer, config).await?;
                clients.push(member.client()?);
                members.push(member);
            }
            DataMode::Validium { committee: clients, threshold: 2 }
        } else {
            DataMode::Rollup
        };
        let config = ZkNodeConfig {
            params: DEVNET_PARAMS,
            proving_key: proving_key.clone(),
            matrices: keys.matrices.clone(),
            contracts,
            mode,
            data_dir: data_dir.join(name),
            rpc_addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            batch_interval: std::time::Duration::from_secs(5),
            poll_interval: std::time::Duration::from_millis(500),
        };
        started.push((ZkNode::start(config, sender, operator_key).await?, contracts.rollup));
    }
    let validium = started.pop().expect("two");
    let rollup = started.pop().expect("two");
    Ok(DevnetFamilies { rollup, validium, members })
}
