//! The channel contracts' events, decoded: what a node and a watchtower follow on L1.

use super::ChannelContracts;
use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use ply_contracts::{SecretRegistry, TokenNetwork};
use ply_l1::{
    Result,
    client::{BlockFollower, DynL1Client},
};
use std::ops::RangeInclusive;

/// One event of `TokenNetwork` or `SecretRegistry` (docs/channels.md, "Contract rules").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// `ChannelOpened`: a channel was opened (its `generation`-th opening).
    Opened {
        /// The channel.
        channel_id: B256,
        /// The lower participant.
        participant1: Address,
        /// The higher participant.
        participant2: Address,
        /// The token (`Address::ZERO`: ETH).
        token: Address,
        /// The new generation.
        generation: u64,
        /// The settle timeout, in blocks.
        settle_timeout: u64,
    },
    /// `DepositSet`: a participant's total deposit was raised.
    DepositSet {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// The participant credited.
        participant: Address,
        /// Its new total deposit.
        total_deposit: U256,
    },
    /// `ChannelClosed`: `closer` closed unilaterally with the partner's proof of `nonce`.
    Closed {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// The closer.
        closer: Address,
        /// The nonce of the partner's proof it recorded (0: none).
        nonce: u64,
    },
    /// `NonClosingBalanceProofUpdated`: the closer's proof of `nonce` is on record.
    NonClosingUpdated {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// The closer (the proof's signer).
        closer: Address,
        /// The recorded nonce.
        nonce: u64,
    },
    /// `ChannelSettled`: paid out; the locked amounts are held for unlock.
    Settled {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// Paid to participant1.
        participant1_amount: U256,
        /// Paid to participant2.
        participant2_amount: U256,
        /// Held for participant1's locks.
        participant1_locked: U256,
        /// Held for participant2's locks.
        participant2_locked: U256,
    },
    /// `ChannelUnlocked`: a sender's pending locks were paid out.
    Unlocked {
        /// The channel.
        channel_id: B256,
        /// The generation of the locks.
        generation: u64,
        /// The sender of the locked transfers.
        sender: Address,
        /// Their receiver.
        receiver: Address,
        /// Paid to the receiver.
        unlocked_amount: U256,
        /// Returned to the sender.
        returned_amount: U256,
    },
    /// `CooperativelyClosed`: closed and paid out with both signatures.
    CooperativelyClosed {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// Paid to participant1.
        balance1: U256,
        /// Paid to participant2.
        balance2: U256,
    },
    /// `PayoutDeferred`: a recipient refused a payout; it waits for `withdraw`.
    PayoutDeferred {
        /// The recipient.
        recipient: Address,
        /// The token.
        token: Address,
        /// The amount.
        amount: U256,
    },
    /// `Withdrawn`: a deferred payout was taken.
    Withdrawn {
        /// The account credited.
        account: Address,
        /// The token.
        token: Address,
        /// Where it was paid.
        to: Address,
        /// The amount.
        amount: U256,
    },
    /// `SecretRevealed` (SecretRegistry): a secret was registered for the first time.
    SecretRevealed {
        /// `keccak256(secret)`.
        secrethash: B256,
        /// The secret.
        secret: B256,
    },
}

impl ChannelEvent {
    /// The channel the event is about (`None` for payouts and secrets).
    pub fn channel_id(&self) -> Option<B256> {
        match self {
            Self::Opened { channel_id, .. }
            | Self::DepositSet { channel_id, .. }
            | Self::Closed { channel_id, .. }
            | Self::NonClosingUpdated { channel_id, .. }
            | Self::Settled { channel_id, .. }
            | Self::Unlocked { channel_id, .. }
            | Self::CooperativelyClosed { channel_id, .. } => Some(*channel_id),
            Self::PayoutDeferred { .. } | Self::Withdrawn { .. } | Self::SecretRevealed { .. } => {
                None
            }
        }
    }
}

/// An event with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The block number.
    pub block: u64,
    /// The log's index in its block.
    pub log_index: u64,
    /// The transaction.
    pub transaction: B256,
    /// The event.
    pub event: ChannelEvent,
}

/// Decodes a log of the deployment's contracts; `None` for logs of other contracts, other
/// events (e.g. `TokenRegistered`) or malformed data.
pub fn decode_log(contracts: &ChannelContracts, log: &Log) -> Option<ChannelEvent> {
    let topic = *log.topic0()?;
    let data = log.data();
    if log.address() == contracts.secret_registry {
        if topic == SecretRegistry::SecretRevealed::SIGNATURE_HASH {
            let e = SecretRegistry::SecretRevealed::decode_log_data(data).ok()?;
            return Some(ChannelEvent::SecretRevealed {
                secrethash: e.secrethash,
                secret: e.secret,
            });
        }
        return None;
    }
    if log.address() != contracts.token_network {
        return None;
    }
    use TokenNetwork as T;
    Some(match topic {
        T::ChannelOpened::SIGNATURE_HASH => {
            let e = T::ChannelOpened::decode_log_data(data).ok()?;
            ChannelEvent::Opened {
                channel_id: e.channelId,
                participant1: e.participant1,
                participant2: e.participant2,
                token: e.token,
                generation: e.generation,
                settle_timeout: e.settleTimeout,
            }
        }
        T::DepositSet::SIGNATURE_HASH => {
            let e = T::DepositSet::decode_log_data(data).ok()?;
            ChannelEvent::DepositSet {
                channel_id: e.channelId,
                generation: e.generation,
                participant: e.participant,
                total_deposit: e.totalDeposit,
            }
        }
        T::ChannelClosed::SIGNATURE_HASH => {
            let e = T::ChannelClosed::decode_log_data(data).ok()?;
            ChannelEvent::Closed {
                channel_id: e.channelId,
                generation: e.generation,
                closer: e.closer,
                nonce: e.nonce,
            }
        }
        T::NonClosingBalanceProofUpdated::SIGNATURE_HASH => {
            let e = T::NonClosingBalanceProofUpdated::decode_log_data(data).ok()?;
            ChannelEvent::NonClosingUpdated {
                channel_id: e.channelId,
                generation: e.generation,
                closer: e.closer,
                nonce: e.nonce,
            }
        }
        T::ChannelSettled::SIGNATURE_HASH => {
            let e = T::ChannelSettled::decode_log_data(data).ok()?;
            ChannelEvent::Settled {
                channel_id: e.channelId,
                generation: e.generation,
                participant1_amount: e.participant1Amount,
                participant2_amount: e.participant2Amount,
                participant1_locked: e.participant1Locked,
                participant2_locked: e.participant2Locked,
            }
        }
        T::ChannelUnlocked::SIGNATURE_HASH => {
            let e = T::ChannelUnlocked::decode_log_data(data).ok()?;
            ChannelEvent::Unlocked {
                channel_id: e.channelId,
                generation: e.generation,
                sender: e.sender,
                receiver: e.receiver,
                unlocked_amount: e.unlockedAmount,
                returned_amount: e.returnedAmount,
            }
        }
        T::CooperativelyClosed::SIGNATURE_HASH => {
            let e = T::CooperativelyClosed::decode_log_data(data).ok()?;
            ChannelEvent::CooperativelyClosed {
                channel_id: e.channelId,
                generation: e.generation,
                balance1: e.balance1,
                balance2: e.balance2,
            }
        }
        T::PayoutDeferred::SIGNATURE_HASH => {
            let e = T::PayoutDeferred::decode_log_data(data).ok()?;
            ChannelEvent::PayoutDeferred {
                recipient: e.recipient,
                token: e.token,
                amount: e.amount,
            }
        }
        T::Withdrawn::SIGNATURE_HASH => {
            let e = T::Withdrawn::decode_log_data(data).ok()?;
            ChannelEvent::Withdrawn {
                account: e.account,
                token: e.token,
                to: e.to,
                amount: e.amount,
            }
        }
        _ => return None,
    })
}

/// Follows the deployment's events at a confirmation depth, in order, with reorg detection
/// (a [`BlockFollower`]: after [`ply_l1::Error::Reorg`], discard what was derived from blocks
/// at or after [`EventReader::next_block`] and poll again).
#[derive(Debug)]
pub struct EventReader {
    contracts: ChannelContracts,
    follower: BlockFollower,
}

impl EventReader {
    /// Follows `contracts` on `client` from `start_block`, `confirmations` blocks behind the
    /// head.
    pub fn new(
        client: DynL1Client,
        contracts: ChannelContracts,
        confirmations: u64,
        start_block: u64,
    ) -> Self {
        Self { contracts, follower: BlockFollower::new(client, confirmations, start_block) }
    }

    /// The first block the next poll reads.
    pub fn next_block(&self) -> u64 {
        self.follower.next_block()
    }

    /// The events of the blocks confirmed since the last poll (empty when none), and the range
    /// read (`None` when no block was confirmed).
    pub async fn poll(&mut self) -> Result<(Option<RangeInclusive<u64>>, Vec<LoggedEvent>)> {
        let Some(range) = self.follower.next_range().await? else {
            return Ok((None, Vec::new()));
        };
        let events = self.read(range.clone()).await?;
        Ok((Some(range), events))
    }

    /// The events in `range` (without moving the follower), in chain order.
    pub async fn read(&self, range: RangeInclusive<u64>) -> Result<Vec<LoggedEvent>> {
        let filter = Filter::new()
            .address(vec![self.contracts.token_network, self.contracts.secret_registry]);
        let logs = self.follower.logs(filter, range).await?;
        let mut events: Vec<LoggedEvent> = logs
            .iter()
            .filter(|log| !log.removed)
            .filter_map(|log| {
                Some(LoggedEvent {
                    block: log.block_number?,
                    log_index: log.log_index?,
                    transaction: log.transaction_hash?,
                    event: decode_log(&self.contracts, log)?,
                })
            })
            .collect();
        events.sort_by_key(|e| (e.block, e.log_index));
        Ok(events)
    }
}
