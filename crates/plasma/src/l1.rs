//! The plasma L1 adapter: typed calls to `PlasmaFramework` and `PaymentStandardExitGame`
//! (`contracts/src/plasma/`, rules in docs/plasma.md) through ply's backend-agnostic L1 client,
//! for the operator (deploy, submit block roots), users (deposit, exit) and watchers (challenge,
//! process exits).
//!
//! This is the only module of the crate that does I/O; the pure core never calls it. Every
//! transaction waits for its receipt and fails on a revert with [`ply_l1::Error::Reverted`];
//! [`framework_error`] and [`standard_exit_error`] decode a revert into the contract's custom
//! error. Errors are the L1 layer's own ([`ply_l1::Error`]): everything here is an L1 request.

use crate::{
    exit::standard_exit_id,
    merkle::InclusionProof,
    tx::{PaymentTx, TxSignature, UtxoPos},
};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, U160, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolConstructor, SolEvent, SolInterface},
};
use ply_contracts::{PaymentInFlightExitGame, PaymentStandardExitGame, PlasmaFramework};
use ply_l1::{Error, Result, client::TxSender};
use std::sync::Arc;

/// The three contracts of one plasma deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PlasmaContracts {
    /// `PlasmaFramework`: block roots, deposits, the vault and the exit queues; the EIP-712
    /// `verifyingContract` of [`SigningDomain`](crate::SigningDomain).
    pub framework: Address,
    /// `PaymentStandardExitGame`: standard exits and their challenges.
    pub standard_exit_game: Address,
    /// `PaymentInFlightExitGame`: MoreVP in-flight exits.
    pub in_flight_exit_game: Address,
}

/// What [`deploy`] deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployParams {
    /// The only account that may submit block roots.
    pub operator: Address,
    /// The account that lists ERC-20 tokens.
    pub token_governor: Address,
    /// The minimum exit period in seconds (a week in production, short on the devnet).
    pub min_exit_period: u64,
    /// Wei per gas of the bonds (100 gwei in production, 1 gwei on the devnet).
    pub bond_gas_price: u64,
}

impl DeployParams {
    /// Devnet parameters: `operator` also lists tokens, a 60-second exit period, 1 gwei bonds.
    pub fn devnet(operator: Address) -> Self {
        Self {
            operator,
            token_governor: operator,
            min_exit_period: 60,
            bond_gas_price: 1_000_000_000,
        }
    }
}

/// Deploys the framework and both exit games and binds them (`initExitGames`, by `deployer`).
pub async fn deploy(deployer: &TxSender, params: &DeployParams) -> Result<PlasmaContracts> {
    let mut code = PlasmaFramework::BYTECODE.to_vec();
    code.extend_from_slice(
        &PlasmaFramework::constructorCall {
            operator_: params.operator,
            tokenGovernor_: params.token_governor,
            minExitPeriod_: U256::from(params.min_exit_period),
            bondGasPrice_: U256::from(params.bond_gas_price),
        }
        .abi_encode(),
    );
    let framework = deployer.deploy(code.into()).await?;
    let game = |bytecode: &Bytes| {
        let mut code = bytecode.to_vec();
        code.extend_from_slice(&framework.into_word().0);
        Bytes::from(code)
    };
    let standard_exit_game = deployer.deploy(game(&PaymentStandardExitGame::BYTECODE)).await?;
    let in_flight_exit_game = deployer.deploy(game(&PaymentInFlightExitGame::BYTECODE)).await?;
    let call = PlasmaFramework::initExitGamesCall {
        standard: standard_exit_game,
        inFlight: in_flight_exit_game,
    };
    deployer.send_call(framework, call.abi_encode(), U256::ZERO).await?;
    Ok(PlasmaContracts { framework, standard_exit_game, in_flight_exit_game })
}

/// `PlasmaFramework`'s custom error behind a revert (`None` for other errors).
pub fn framework_error(error: &Error) -> Option<PlasmaFramework::PlasmaFrameworkErrors> {
    match error {
        Error::Reverted { data, .. } => {
            PlasmaFramework::PlasmaFrameworkErrors::abi_decode(data).ok()
        }
        _ => None,
    }
}

/// `PaymentStandardExitGame`'s custom error behind a revert (`None` for other errors).
pub fn standard_exit_error(
    error: &Error,
) -> Option<PaymentStandardExitGame::PaymentStandardExitGameErrors> {
    match error {
        Error::Reverted { data, .. } => {
            PaymentStandardExitGame::PaymentStandardExitGameErrors::abi_decode(data).ok()
        }
        _ => None,
    }
}

/// One account's access to a plasma deployment: typed transactions signed by its [`TxSender`]
/// and views at the latest block.
#[derive(Debug, Clone)]
pub struct PlasmaL1 {
    sender: Arc<TxSender>,
    contracts: PlasmaContracts,
}

impl PlasmaL1 {
    /// Access to `contracts` for `sender`'s account.
    pub fn new(sender: Arc<TxSender>, contracts: PlasmaContracts) -> Self {
        Self { sender, contracts }
    }

    /// The deployment.
    pub fn contracts(&self) -> PlasmaContracts {
        self.contracts
    }

    /// The account transactions are sent from.
    pub fn address(&self) -> Address {
        self.sender.address()
    }

    async fn send<C: SolCall>(
        &self,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt> {
        let req = TransactionRequest::default()
            .to(to)
            .value(value)
            .input(Bytes::from(call.abi_encode()).into());
        self.sender.send_and_check(req).await
    }

    async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return> {
        let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
        let out = self.sender.client().call(&req, BlockId::latest()).await?;
        C::abi_decode_returns(&out)
            .map_err(|e| Error::Rpc(format!("{} returned undecodable data: {e}", C::SIGNATURE)))
    }

    /// `depositETH(owner)` with `amount` wei: returns the deposit's block number (from the
    /// `DepositCreated` event). The deposit's output is `UtxoPos::new(blknum, 0, 0)`.
    pub async fn deposit_eth(&self, owner: Address, amount: U256) -> Result<u64> {
        let receipt = self
            .send(self.contracts.framework, PlasmaFramework::depositETHCall { owner }, amount)
            .await?;
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| PlasmaFramework::DepositCreated::decode_log(&log.inner).ok())
            .ok_or_else(|| Error::Rpc("depositETH emitted no DepositCreated".into()))?;
        u64::try_from(event.blknum)
            .map_err(|_| Error::Rpc(format!("deposit block {} out of range", event.blknum)))
    }

    /// `submitBlock(root)` (only the operator): returns the block's number.
    pub async fn submit_block(&self, root: B256) -> Result<u64> {
        let receipt = self
            .send(self.contracts.framework, PlasmaFramework::submitBlockCall { root }, U256::ZERO)
            .await?;
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| PlasmaFramework::BlockSubmitted::decode_log(&log.inner).ok())
            .ok_or_else(|| Error::Rpc("submitBlock emitted no BlockSubmitted".into()))?;
        u64::try_from(event.blknum)
            .map_err(|_| Error::Rpc(format!("block {} out of range", event.blknum)))
    }

    /// The standard exit bond, in wei.
    pub async fn standard_exit_bond(&self) -> Result<U256> {
        self.view(self.contracts.standard_exit_game, PaymentStandardExitGame::bondCall {}).await
    }

    /// `startStandardExit` of our output at `position` of `tx` with its inclusion `proof`,
    /// paying the bond; returns the exit id (from the canonical transaction only).
    pub async fn start_standard_exit(
        &self,
        position: UtxoPos,
        tx: &PaymentTx,
        proof: &InclusionProof,
    ) -> Result<U160> {
        let bond = self.standard_exit_bond().await?;
        let call = PaymentStandardExitGame::startStandardExitCall {
            utxoPos: U256::from(position.as_u64()),
            txBytes: tx.encode().into(),
            proof: proof.to_bytes().into(),
        };
        self.send(self.contracts.standard_exit_game, call, bond).await?;
        Ok(standard_exit_id(tx.hash(), position.oindex()))
    }

    /// `challengeStandardExit`: shows `spending_tx`, whose input `input_index` is the exited
    /// output, signed by the exit's owner; the bond goes to this account.
    pub async fn challenge_standard_exit(
        &self,
        exit_id: U160,
        spending_tx: &PaymentTx,
        input_index: usize,
        signature: &TxSignature,
    ) -> Result<TransactionReceipt> {
        let call = PaymentStandardExitGame::challengeStandardExitCall {
            exitId: exit_id,
            spendingTx: spending_tx.encode().into(),
            inputIndex: U256::from(input_index),
            signature: signature.0.to_vec().into(),
        };
        self.send(self.contracts.standard_exit_game, call, U256::ZERO).await
    }

    /// `processExits(token, max_exits)`: pays up to `max_exits` exits whose time has come, in
    /// priority order (`Address::ZERO`: ETH). Its gas is estimated on the newest L1 block, so
    /// call it once that block's timestamp has reached the top exit's exitable time (else
    /// `ExitNotYetExitable`, see [`framework_error`]).
    pub async fn process_exits(
        &self,
        token: Address,
        max_exits: u64,
    ) -> Result<TransactionReceipt> {
        let call = PlasmaFramework::processExitsCall { token, maxExits: U256::from(max_exits) };
        self.send(self.contracts.framework, call, U256::ZERO).await
    }

    /// The number of exits queued for `token`.
    pub async fn queue_size(&self, token: Address) -> Result<u64> {
        let n =
            self.view(self.contracts.framework, PlasmaFramework::queueSizeCall { token }).await?;
        u64::try_from(n).map_err(|_| Error::Rpc(format!("queue size {n} out of range")))
    }
}
