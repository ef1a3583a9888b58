//! The channels' L1 adapter: typed calls to `TokenNetwork` and `SecretRegistry`
//! (`contracts/src/channels/`, rules in docs/channels.md) through ply's backend-agnostic L1
//! client, and a reader of their events ([`events`]).
//!
//! This is the I/O half next to the pure state machine: [`ChannelsL1::execute`] performs the
//! [`L1Call`]s that [`manager`](crate::manager) asks for, and [`events::EventReader`] turns the
//! contracts' logs into [`events::ChannelEvent`]s for it. Every call waits for its receipt and
//! fails on a revert with [`ply_l1::Error::Reverted`]; [`contract_error`] decodes the revert
//! into the contract's custom error (`WrongSigner`, `SettleTooEarly`, ...).
//!
//! Errors are the L1 layer's own ([`ply_l1::Error`]): everything here is an L1 request.

pub mod events;

use crate::{SignedBalanceProof, manager::L1Call};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, Signature, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolConstructor, SolEvent, SolInterface},
};
use ply_contracts::{SecretRegistry, TestToken, TokenNetwork};
use ply_l1::{
    Error, Result,
    client::{DynL1Client, TxSender},
};
use std::sync::Arc;

/// The two contracts of one channels deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChannelContracts {
    /// `TokenNetwork`: channels, deposits, disputes, settlement, unlocks; the EIP-712
    /// `verifyingContract`.
    pub token_network: Address,
    /// `SecretRegistry`: the secrets of hash-time locks.
    pub secret_registry: Address,
}

/// What [`deploy`] deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployParams {
    /// The account that lists ERC-20 tokens (`TokenRegistry.tokenGovernor`).
    pub token_governor: Address,
    /// The shortest settle timeout a channel may have, in blocks (non-zero).
    pub min_settle_timeout: u64,
    /// The longest, in blocks (at least the shortest).
    pub max_settle_timeout: u64,
}

/// Deploys a `SecretRegistry` and a `TokenNetwork` that reads it.
pub async fn deploy(deployer: &TxSender, params: &DeployParams) -> Result<ChannelContracts> {
    let secret_registry = deployer.deploy(SecretRegistry::BYTECODE.clone()).await?;
    let mut code = TokenNetwork::BYTECODE.to_vec();
    code.extend_from_slice(
        &TokenNetwork::constructorCall {
            registry: secret_registry,
            governor: params.token_governor,
            minTimeout: params.min_settle_timeout,
            maxTimeout: params.max_settle_timeout,
        }
        .abi_encode(),
    );
    let token_network = deployer.deploy(code.into()).await?;
    Ok(ChannelContracts { token_network, secret_registry })
}

/// The contract's custom error behind a revert, if `error` is a revert of `TokenNetwork`
/// (`None` for other errors and undecodable payloads).
pub fn contract_error(error: &Error) -> Option<TokenNetwork::TokenNetworkErrors> {
    match error {
        Error::Reverted { data, .. } => TokenNetwork::TokenNetworkErrors::abi_decode(data).ok(),
        _ => None,
    }
}

/// A channel's lifecycle state on L1 (`TokenNetwork.STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnChainState {
    /// Never opened.
    None,
    /// Open: deposits, closes and cooperative closes.
    Opened,
    /// Closed: updates until the settle block, then settle.
    Closed,
    /// Settled or cooperatively closed; may be opened again.
    Settled,
}

impl OnChainState {
    fn from_u8(state: u8) -> Result<Self> {
        Ok(match state {
            0 => Self::None,
            1 => Self::Opened,
            2 => Self::Closed,
            3 => Self::Settled,
            other => {
                return Err(Error::Rpc(format!("TokenNetwork reported unknown state {other}")));
            }
        })
    }
}

/// A channel as `TokenNetwork.getChannel` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChainChannel {
    /// The lower participant (zero: never opened).
    pub participant1: Address,
    /// The higher participant.
    pub participant2: Address,
    /// The token (`Address::ZERO`: ETH).
    pub token: Address,
    /// The current (or last) generation.
    pub generation: u64,
    /// The lifecycle state.
    pub state: OnChainState,
    /// The settle timeout, in blocks.
    pub settle_timeout: u64,
    /// While closed: the last block for updates (settle from the next one); 0 otherwise.
    pub settle_block: u64,
    /// While closed: the closer.
    pub closer: Option<Address>,
}

/// A participant's side of the current generation (`TokenNetwork.getParticipant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChainParticipant {
    /// Its total deposit.
    pub deposit: U256,
    /// The nonce of its balance proof on record (0: none).
    pub nonce: u64,
    /// That proof's transferred amount.
    pub transferred_amount: U256,
    /// Its locked amount.
    pub locked_amount: U256,
    /// Its locks root.
    pub locks_root: B256,
}

/// A channel just opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The channel id.
    pub channel_id: B256,
    /// Its new generation.
    pub generation: u64,
    /// The transaction's receipt.
    pub receipt: TransactionReceipt,
}

/// One account's access to a channels deployment: typed transactions signed by its
/// [`TxSender`] and views at the latest block.
#[derive(Debug, Clone)]
pub struct ChannelsL1 {
    sender: Arc<TxSender>,
    contracts: ChannelContracts,
}

impl ChannelsL1 {
    /// Access to `contracts` for `sender`'s account.
    pub fn new(sender: Arc<TxSender>, contracts: ChannelContracts) -> Self {
        Self { sender, contracts }
    }

    /// The deployment.
    pub fn contracts(&self) -> ChannelContracts {
        self.contracts
    }

    /// The account transactions are sent from.
    pub fn address(&self) -> Address {
        self.sender.address()
    }

    /// The L1 client.
    pub fn client(&self) -> &DynL1Client {
        self.sender.client()
    }

    // ---- transactions ------------------------------------------------------------------------

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

    async fn network<C: SolCall>(&self, call: C, value: U256) -> Result<TransactionReceipt> {
        self.send(self.contracts.token_network, call, value).await
    }

    /// `openChannel(partner, token, settleTimeout)`: opens our channel with `partner` (its next
    /// generation).
    pub async fn open_channel(
        &self,
        partner: Address,
        token: Address,
        settle_timeout: u64,
    ) -> Result<Opened> {
        let call = TokenNetwork::openChannelCall { partner, token, settleTimeout: settle_timeout };
        let receipt = self.network(call, U256::ZERO).await?;
        let opened = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == self.contracts.token_network)
            .find_map(|log| TokenNetwork::ChannelOpened::decode_log_data(log.data()).ok())
            .ok_or_else(|| {
                Error::Rpc(format!(
                    "openChannel transaction {} has no ChannelOpened event",
                    receipt.transaction_hash
                ))
            })?;
        Ok(Opened { channel_id: opened.channelId, generation: opened.generation, receipt })
    }

    /// `setTotalDeposit`: raises `participant`'s total deposit to `total_deposit`, paying the
    /// increase from our account (for an ERC-20, approving exactly the increase first).
    pub async fn set_total_deposit(
        &self,
        channel_id: B256,
        participant: Address,
        total_deposit: U256,
    ) -> Result<TransactionReceipt> {
        let channel = self.channel(channel_id).await?;
        let current = self.participant(channel_id, participant).await?.deposit;
        let increase =
            total_deposit.checked_sub(current).filter(|i| !i.is_zero()).ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "total deposit {total_deposit} does not exceed the current {current}"
                ))
            })?;
        let call = TokenNetwork::setTotalDepositCall {
            channelId: channel_id,
            participant,
            totalDeposit: total_deposit,
        };
        if channel.token == Address::ZERO {
            self.network(call, increase).await
        } else {
            let approve =
                TestToken::approveCall { spender: self.contracts.token_network, amount: increase };
            self.send(channel.token, approve, U256::ZERO).await?;
            self.network(call, U256::ZERO).await
        }
    }

    /// `closeChannel` with the partner's latest proof (`None`: it never paid us).
    pub async fn close_channel(
        &self,
        channel_id: B256,
        partner_proof: Option<&SignedBalanceProof>,
    ) -> Result<TransactionReceipt> {
        let call = match partner_proof {
            Some(p) => TokenNetwork::closeChannelCall {
                channelId: channel_id,
                nonce: p.proof.nonce,
                transferredAmount: p.proof.transferred_amount,
                lockedAmount: p.proof.locked_amount,
                locksRoot: p.proof.locks_root,
                partnerSignature: signature_bytes(&p.signature),
            },
            None => TokenNetwork::closeChannelCall {
                channelId: channel_id,
                nonce: 0,
                transferredAmount: U256::ZERO,
                lockedAmount: U256::ZERO,
                locksRoot: B256::ZERO,
                partnerSignature: Bytes::new(),
            },
        };
        self.network(call, U256::ZERO).await
    }

    /// `updateNonClosingBalanceProof`: records `closer_proof` (signed by `closing`) with
    /// `non_closing`'s `NonClosingUpdate` signature; anyone may send it (a watchtower).
    pub async fn update_non_closing_balance_proof(
        &self,
        channel_id: B256,
        closing: Address,
        non_closing: Address,
        closer_proof: &SignedBalanceProof,
        non_closing_signature: &Signature,
    ) -> Result<TransactionReceipt> {
        let call = TokenNetwork::updateNonClosingBalanceProofCall {
            channelId: channel_id,
            closing,
            nonClosing: non_closing,
            nonce: closer_proof.proof.nonce,
            transferredAmount: closer_proof.proof.transferred_amount,
            lockedAmount: closer_proof.proof.locked_amount,
            locksRoot: closer_proof.proof.locks_root,
            closingSignature: signature_bytes(&closer_proof.signature),
            nonClosingSignature: signature_bytes(non_closing_signature),
        };
        self.network(call, U256::ZERO).await
    }

    /// `settleChannel` (after the settle block; anyone).
    pub async fn settle_channel(&self, channel_id: B256) -> Result<TransactionReceipt> {
        self.network(TokenNetwork::settleChannelCall { channelId: channel_id }, U256::ZERO).await
    }

    /// `unlock` of `sender`'s pending locks of `generation` (after settle; anyone).
    pub async fn unlock(
        &self,
        channel_id: B256,
        generation: u64,
        sender: Address,
        receiver: Address,
        locks: &[u8],
    ) -> Result<TransactionReceipt> {
        let call = TokenNetwork::unlockCall {
            channelId: channel_id,
            generation,
            sender,
            receiver,
            locks: Bytes::copy_from_slice(locks),
        };
        self.network(call, U256::ZERO).await
    }

    /// `cooperativeClose` with both participants' signatures of the final balances.
    pub async fn cooperative_close(
        &self,
        channel_id: B256,
        balance1: U256,
        balance2: U256,
        signature1: &Signature,
        signature2: &Signature,
    ) -> Result<TransactionReceipt> {
        let call = TokenNetwork::cooperativeCloseCall {
            channelId: channel_id,
            balance1,
            balance2,
            signature1: signature_bytes(signature1),
            signature2: signature_bytes(signature2),
        };
        self.network(call, U256::ZERO).await
    }

    /// `withdraw`: takes our payouts of `token` that we once refused, to `to`.
    pub async fn withdraw(&self, token: Address, to: Address) -> Result<TransactionReceipt> {
        self.network(TokenNetwork::withdrawCall { token, to }, U256::ZERO).await
    }

    /// `SecretRegistry.registerSecret(secret)`.
    pub async fn register_secret(&self, secret: B256) -> Result<TransactionReceipt> {
        let call = SecretRegistry::registerSecretCall { secret };
        self.send(self.contracts.secret_registry, call, U256::ZERO).await
    }

    /// Performs an L1 call the state machine asked for. An update is sent with the channel's
    /// recorded closer as `closing` and our account as the non-closing participant.
    pub async fn execute(&self, call: &L1Call) -> Result<TransactionReceipt> {
        match call {
            L1Call::RegisterSecret { secret } => self.register_secret(*secret).await,
            L1Call::Close { channel_id, partner_proof } => {
                self.close_channel(*channel_id, partner_proof.as_ref()).await
            }
            L1Call::UpdateNonClosing { channel_id, closer_proof, non_closing_signature } => {
                let channel = self.channel(*channel_id).await?;
                let closing = channel.closer.ok_or_else(|| {
                    Error::InvalidRequest(format!("channel {channel_id} is not closed"))
                })?;
                self.update_non_closing_balance_proof(
                    *channel_id,
                    closing,
                    self.address(),
                    closer_proof,
                    non_closing_signature,
                )
                .await
            }
            L1Call::Settle { channel_id } => self.settle_channel(*channel_id).await,
            L1Call::Unlock { channel_id, generation, sender, receiver, locks } => {
                self.unlock(*channel_id, *generation, *sender, *receiver, locks).await
            }
        }
    }

    // ---- views -------------------------------------------------------------------------------

    async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return> {
        let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
        let out = self.client().call(&req, BlockId::latest()).await?;
        C::abi_decode_returns(&out)
            .map_err(|e| Error::Rpc(format!("{} returned undecodable data: {e}", C::SIGNATURE)))
    }

    /// The channel's record.
    pub async fn channel(&self, channel_id: B256) -> Result<OnChainChannel> {
        let c = self
            .view(
                self.contracts.token_network,
                TokenNetwork::getChannelCall { channelId: channel_id },
            )
            .await?;
        Ok(OnChainChannel {
            participant1: c.participant1,
            participant2: c.participant2,
            token: c.token,
            generation: c.generation,
            state: OnChainState::from_u8(c.state)?,
            settle_timeout: c.settleTimeout,
            settle_block: c.settleBlock,
            closer: (c.closer != Address::ZERO).then_some(c.closer),
        })
    }

    /// A participant's side of the channel's current generation.
    pub async fn participant(
        &self,
        channel_id: B256,
        participant: Address,
    ) -> Result<OnChainParticipant> {
        let call = TokenNetwork::getParticipantCall { channelId: channel_id, participant };
        let p = self.view(self.contracts.token_network, call).await?;
        Ok(OnChainParticipant {
            deposit: p.deposit,
            nonce: p.nonce,
            transferred_amount: p.transferredAmount,
            locked_amount: p.lockedAmount,
            locks_root: p.locksRoot,
        })
    }

    /// What is held at settle for `sender`'s locks of `generation`: (locks root, amount); the
    /// amount is zero when nothing is held or it was unlocked.
    pub async fn pending_locks(
        &self,
        channel_id: B256,
        generation: u64,
        sender: Address,
    ) -> Result<(B256, U256)> {
        let call = TokenNetwork::getPendingLocksCall { channelId: channel_id, generation, sender };
        let r = self.view(self.contracts.token_network, call).await?;
        Ok((r.locksRoot, r.amount))
    }

    /// `account`'s refused payouts of `token`, waiting for [`ChannelsL1::withdraw`].
    pub async fn pending_withdrawal(&self, account: Address, token: Address) -> Result<U256> {
        let call = TokenNetwork::pendingWithdrawalCall { account, token };
        self.view(self.contracts.token_network, call).await
    }

    /// The block at which the secret of `secrethash` was registered (`None`: never).
    pub async fn secret_reveal_block(&self, secrethash: B256) -> Result<Option<u64>> {
        let call = SecretRegistry::getSecretRevealBlockHeightCall { secrethash };
        let block = self.view(self.contracts.secret_registry, call).await?;
        if block.is_zero() {
            return Ok(None);
        }
        u64::try_from(block).map(Some).map_err(|_| {
            Error::Rpc(format!("SecretRegistry reported block {block} for {secrethash}"))
        })
    }
}

/// A signature as the contract takes it: 65 bytes `r ‖ s ‖ v`, `v` 27 or 28.
pub fn signature_bytes(signature: &Signature) -> Bytes {
    Bytes::copy_from_slice(&signature.as_bytes())
}
