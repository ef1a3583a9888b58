//! [`BlockFollower`]: new L1 blocks at a confirmation depth, in ranges, with reorg detection.

use super::DynL1Client;
use crate::{Error, Result};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::B256,
    rpc::types::{Filter, Log},
};
use std::{collections::VecDeque, ops::RangeInclusive, time::Duration};

/// How many range ends a follower remembers to find where a reorg forked off.
const CHECKPOINTS: usize = 64;

/// The most blocks one `eth_getLogs` request of [`BlockFollower::logs`] spans (remote nodes
/// limit ranges; ply's embedded chain allows 100,000).
const LOG_CHUNK: u64 = 10_000;

/// Follows an L1 at a confirmation depth: each call yields the blocks that became confirmed
/// since the last one, as one inclusive range, so a watcher reads their logs in one request.
///
/// A block is *confirmed* when `confirmations` blocks are built on it: with head `h`, blocks up
/// to `h - confirmations` are confirmed (`0` follows the head itself).
///
/// # Reorgs and reverts
///
/// The follower remembers the hash of the last block of every range it yielded (the last
/// 64). Before yielding more, it checks that the last one is still in the chain.
/// If it is not (the L1 reorganised deeper than the confirmation depth, or a dev chain was
/// reverted with `evm_revert`, which makes the confirmed head go backwards), it **rewinds and
/// returns an error**: it walks back its checkpoints to the newest one still in the chain and
/// will yield again from the block after it, which [`BlockFollower::next_block`] then tells.
/// The caller must discard what it derived from blocks at or after that number, then go on
/// calling. (The error is [`Error::Reorg`]; a reorg below every remembered checkpoint rewinds
/// to the follower's start block.)
#[derive(Debug)]
pub struct BlockFollower {
    client: DynL1Client,
    confirmations: u64,
    start: u64,
    next: u64,
    /// `(number, hash)` of the last block of recent ranges, oldest first.
    checkpoints: VecDeque<(u64, B256)>,
}

impl BlockFollower {
    /// Follows `client` from `start_block` (the first block to yield) at depth `confirmations`.
    pub fn new(client: DynL1Client, confirmations: u64, start_block: u64) -> Self {
        Self {
            client,
            confirmations,
            start: start_block,
            next: start_block,
            checkpoints: VecDeque::new(),
        }
    }

    /// The confirmation depth.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// The first block the next range will start at.
    pub fn next_block(&self) -> u64 {
        self.next
    }

    /// The blocks confirmed since the last call (`None` if there are none), or an error after a
    /// reorg (see the type's docs).
    pub async fn next_range(&mut self) -> Result<Option<RangeInclusive<u64>>> {
        self.check_reorg().await?;
        let head = self.client.block_number().await?;
        let Some(confirmed) = head.checked_sub(self.confirmations) else {
            return Ok(None);
        };
        if confirmed < self.next {
            return Ok(None);
        }
        let hash = self
            .client
            .header(BlockNumberOrTag::Number(confirmed))
            .await?
            .map(|h| h.hash)
            // Gone between the two requests: a reorg under our feet; report it next call.
            .ok_or_else(|| {
                Error::UnknownBlock(format!("block {confirmed} vanished while following"))
            })?;
        let range = self.next..=confirmed;
        self.next = confirmed + 1;
        if self.checkpoints.len() == CHECKPOINTS {
            self.checkpoints.pop_front();
        }
        self.checkpoints.push_back((confirmed, hash));
        Ok(Some(range))
    }

    /// Waits, polling every `poll`, until a block is confirmed; returns the new range.
    pub async fn wait_for_next(&mut self, poll: Duration) -> Result<RangeInclusive<u64>> {
        loop {
            if let Some(range) = self.next_range().await? {
                return Ok(range);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The logs matching `filter_base` (its address and topics; its block range is replaced)
    /// in `range`, in order, in requests of at most 10,000 blocks.
    pub async fn logs(&self, filter_base: Filter, range: RangeInclusive<u64>) -> Result<Vec<Log>> {
        let (mut from, to) = range.into_inner();
        let mut logs = Vec::new();
        while from <= to {
            let end = to.min(from.saturating_add(LOG_CHUNK - 1));
            let filter = filter_base.clone().from_block(from).to_block(end);
            logs.extend(self.client.logs(&filter).await?);
            if end == u64::MAX {
                break;
            }
            from = end + 1;
        }
        Ok(logs)
    }

    /// Errors (after rewinding) if the last checkpoint is no longer in the chain.
    async fn check_reorg(&mut self) -> Result<()> {
        let Some(&(number, hash)) = self.checkpoints.back() else {
            return Ok(());
        };
        if self.is_canonical(number, hash).await? {
            return Ok(());
        }
        let gone = self.checkpoints.pop_back();
        while let Some(&(number, hash)) = self.checkpoints.back() {
            if self.is_canonical(number, hash).await? {
                break;
            }
            self.checkpoints.pop_back();
        }
        self.next = self.checkpoints.back().map_or(self.start, |(n, _)| n + 1);
        let (number, hash) = gone.expect("checked above");
        Err(Error::Reorg { number, hash, resume_from: self.next })
    }

    async fn is_canonical(&self, number: u64, hash: B256) -> Result<bool> {
        let header = self.client.header(BlockNumberOrTag::Number(number)).await?;
        Ok(header.is_some_and(|h| h.hash == hash))
    }
}
