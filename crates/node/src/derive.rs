//! The derivation driver: follows L1 (at a confirmation depth) range after range of newly
//! confirmed blocks, and feeds each range to a family's [`DerivationStage`]: first everything
//! the range holds is read, then the stage derives it, so a read that fails leaves the derived
//! state untouched and the same blocks are read again. A reorg below derived blocks resets the
//! stage, which derives again from the start block.
//!
//! The stage is the family's pure derivation core with its L1 reader around it; the driver is
//! the only place that knows about blocks, confirmations, reorgs and retries.

use crate::{Classify, ErrorKind};
use ply_l1::client::{BlockFollower, DynL1Client};
use std::{ops::RangeInclusive, time::Duration};

/// A family's derivation, driven by [`DerivationDriver`].
#[async_trait::async_trait]
pub trait DerivationStage: Send {
    /// What the stage reads from one range of L1 blocks.
    type Input: Send;
    /// The family's error.
    type Error: Classify + From<ply_l1::Error> + Send;

    /// Reads what the L1 blocks `range` hold for this family. Must not change the stage.
    async fn read(&mut self, range: RangeInclusive<u64>) -> Result<Self::Input, Self::Error>;

    /// Derives what was read from `range`.
    async fn derive(
        &mut self,
        range: RangeInclusive<u64>,
        input: Self::Input,
    ) -> Result<(), Self::Error>;

    /// Forgets everything derived: L1 reorganised from block `resume_from` on, and derivation
    /// starts again from the start block.
    fn reset(&mut self, resume_from: u64) -> Result<(), Self::Error>;

    /// The stage's derivation ended for good with `error` (a critical error): report it.
    fn halted(&mut self, error: &Self::Error) {
        let _ = error;
    }
}

/// The derivation driver (see the [module docs](self)).
#[derive(Debug)]
pub struct DerivationDriver<S> {
    client: DynL1Client,
    follower: BlockFollower,
    confirmations: u64,
    start_block: u64,
    poll: Duration,
    /// A range taken from the follower whose reading failed, to read again.
    pending: Option<RangeInclusive<u64>>,
    stage: S,
}

impl<S: DerivationStage> DerivationDriver<S> {
    /// Drives `stage` over `client`'s blocks from `start_block`, at depth `confirmations`,
    /// polling every second (see [`with_poll_interval`](Self::with_poll_interval)).
    pub fn new(client: DynL1Client, stage: S, confirmations: u64, start_block: u64) -> Self {
        Self {
            follower: BlockFollower::new(client.clone(), confirmations, start_block),
            client,
            confirmations,
            start_block,
            poll: Duration::from_secs(1),
            pending: None,
            stage,
        }
    }

    /// Polls the L1 for new blocks every `poll` (in [`run`](Self::run)).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Starts from L1 block `block` instead.
    pub fn with_start_block(mut self, block: u64) -> Self {
        self.start_block = block;
        self.follower = BlockFollower::new(self.client.clone(), self.confirmations, block);
        self
    }

    /// The stage.
    pub fn stage(&self) -> &S {
        &self.stage
    }

    /// The stage, to change.
    pub fn stage_mut(&mut self) -> &mut S {
        &mut self.stage
    }

    /// The first L1 block the next range starts at.
    pub fn next_block(&self) -> u64 {
        self.pending.as_ref().map_or(self.follower.next_block(), |r| *r.start())
    }

    /// Derives the L1 blocks confirmed since the last call. `Ok(false)` when no new block is
    /// confirmed. A reorg resets the stage and is not an error; a failed read is, and the same
    /// blocks are read on the next call.
    pub async fn step(&mut self) -> Result<bool, S::Error> {
        let range = match self.pending.take() {
            Some(range) => range,
            None => match self.follower.next_range().await {
                Ok(Some(range)) => range,
                Ok(None) => return Ok(false),
                Err(ply_l1::Error::Reorg { resume_from, .. }) => {
                    self.reset(resume_from)?;
                    return Ok(true);
                }
                Err(e) => return Err(e.into()),
            },
        };
        self.pending = Some(range.clone());
        let input = self.stage.read(range.clone()).await?;
        self.pending = None;
        self.stage.derive(range, input).await?;
        Ok(true)
    }

    /// Starts again from the start block with a fresh stage.
    fn reset(&mut self, resume_from: u64) -> Result<(), S::Error> {
        tracing::warn!(resume_from, "derivation: L1 reorg; deriving again from the start block");
        self.stage.reset(resume_from)?;
        self.follower =
            BlockFollower::new(self.client.clone(), self.confirmations, self.start_block);
        self.pending = None;
        Ok(())
    }

    /// Runs until a critical error, which it returns (after [`DerivationStage::halted`]).
    /// Temporary errors are retried after a poll interval; a reset error starts again from
    /// the start block. Stop the driver by aborting its task.
    pub async fn run(mut self) -> Result<(), S::Error> {
        loop {
            match self.step().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.poll).await,
                Err(e) => match e.kind() {
                    ErrorKind::Temporary => {
                        tracing::warn!(error = %e, "derivation: reading the L1 failed; retrying");
                        tokio::time::sleep(self.poll).await;
                    }
                    ErrorKind::Reset => {
                        let from = self.start_block;
                        self.reset(from)?;
                    }
                    ErrorKind::Critical => {
                        tracing::error!(error = %e, "derivation stopped");
                        self.stage.halted(&e);
                        return Err(e);
                    }
                },
            }
        }
    }
}
