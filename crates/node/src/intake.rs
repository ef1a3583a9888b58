//! The L1 intake of queued operations (deposits, forced transactions): follows L1 at a
//! confirmation depth with a [`BlockFollower`], reads each new range's operations with the
//! family's [`QueueReader`], and hands them on in queue order, each once.
//!
//! # Reorgs
//!
//! Operations come from confirmed blocks only, so an L1 reorg shallower than the confirmation
//! depth never reaches the L2. A deeper one (or `evm_revert` on a dev chain) makes the
//! follower rewind (see [`BlockFollower`]); the intake then reads the rewound blocks again and
//! checks every operation it had delivered from them:
//! - one that comes back unchanged (the same queue index, the same operation) is not delivered
//!   again;
//! - one that comes back changed, or that is not found again once the intake has caught up with
//!   the confirmed head, is reported with [`IntakeEvent::Reorged`]: the operations delivered
//!   from that index on are no longer on L1, and what L1 holds there now is delivered after
//!   the event. The family must not post a batch that consumes operations L1 no longer has
//!   (the contract would refuse it and the batcher would retry forever).
//!
//! A gap in the queue indices (an operation missing between two read ones) is an
//! [`Error::Queue`]: the start block was after the operation, or the reader lost logs.

use crate::{Error, Result};
use ply_l1::client::BlockFollower;
use std::{collections::VecDeque, ops::RangeInclusive, time::Duration};

/// How many delivered operations the intake remembers, to recognise them when a reorg makes it
/// read them again (a reorg deeper than this many operations is reported from the oldest one
/// remembered).
const REMEMBERED: usize = 4_096;

/// How many ranges the intake remembers the first queue index of (as many as the follower
/// remembers checkpoints).
const RANGES: usize = 64;

/// Reads a family's queued operations from L1.
#[async_trait::async_trait]
pub trait QueueReader: Send + Sync {
    /// A queued operation.
    type Op: Clone + PartialEq + Send + Sync + 'static;
    /// The family's error, which an L1 error and this crate's errors convert into.
    type Error: From<Error> + From<ply_l1::Error> + Send;

    /// The operation's index in the L1 queue (0, 1, 2, … in the order L1 queued them).
    fn queue_index(op: &Self::Op) -> u64;

    /// The operations queued in the L1 blocks `range`, in queue order.
    async fn read(&self, range: RangeInclusive<u64>) -> Result<Vec<Self::Op>, Self::Error>;
}

/// What the intake found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeEvent<Op> {
    /// New operations, in queue order, each index once and without gaps.
    Queued(Vec<Op>),
    /// An L1 reorg removed or changed delivered operations from queue index `from` on; what
    /// L1 holds now from there comes in later [`Queued`](Self::Queued) events.
    Reorged {
        /// The first queue index no longer as delivered.
        from: u64,
    },
}

/// Delivered operations under review after a reorg.
#[derive(Debug)]
struct Review {
    /// Delivered operations below this index were read again unchanged.
    confirmed: u64,
}

/// The intake (see the [module docs](self)).
#[derive(Debug)]
pub struct Intake<R: QueueReader> {
    follower: BlockFollower,
    reader: R,
    /// The queue index the next new operation must have.
    next_index: u64,
    /// The last operations delivered, oldest first (the last is `next_index - 1`).
    delivered: VecDeque<R::Op>,
    /// `(first block, next queue index then)` of recent ranges, oldest first.
    ranges: VecDeque<(u64, u64)>,
    /// A range taken from the follower whose reading failed, to read again.
    pending: Option<RangeInclusive<u64>>,
    review: Option<Review>,
}

impl<R: QueueReader> Intake<R> {
    /// Follows `follower`'s L1 and reads it with `reader`, expecting queue index `next_index`
    /// first (0 for a node starting from the deployment block).
    pub fn new(follower: BlockFollower, reader: R, next_index: u64) -> Self {
        Self {
            follower,
            reader,
            next_index,
            delivered: VecDeque::new(),
            ranges: VecDeque::new(),
            pending: None,
            review: None,
        }
    }

    /// The queue index the next new operation will have.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// The first L1 block the next read starts at.
    pub fn next_block(&self) -> u64 {
        self.follower.next_block()
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// Reads the blocks confirmed since the last call; the events, in order (none when nothing
    /// new was confirmed or queued). A failed read leaves the intake as it was: the same
    /// blocks are read on the next call.
    pub async fn poll(&mut self) -> Result<Vec<IntakeEvent<R::Op>>, R::Error> {
        let range = match self.pending.take() {
            Some(range) => range,
            None => match self.follower.next_range().await {
                Ok(Some(range)) => range,
                Ok(None) => return Ok(self.caught_up()),
                Err(ply_l1::Error::Reorg { resume_from, number, .. }) => {
                    tracing::warn!(number, resume_from, "L1 reorg under the intake; rereading");
                    self.rewind(resume_from);
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e.into()),
            },
        };
        self.pending = Some(range.clone());
        let ops = self.reader.read(range.clone()).await?;
        self.pending = None;
        if self.ranges.len() == RANGES {
            self.ranges.pop_front();
        }
        self.ranges.push_back((*range.start(), self.next_index));
        self.take(ops).map_err(Into::into)
    }

    /// Waits, polling every `poll`, for the next events.
    pub async fn next(&mut self, poll: Duration) -> Result<Vec<IntakeEvent<R::Op>>, R::Error> {
        loop {
            let events = self.poll().await?;
            if !events.is_empty() {
                return Ok(events);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The follower rewound to `resume_from`: what was delivered from there on is under review.
    fn rewind(&mut self, resume_from: u64) {
        let first = self.ranges.iter().position(|&(start, _)| start >= resume_from);
        let Some(first) = first else { return };
        let index = self.ranges[first].1;
        self.ranges.truncate(first);
        if index < self.next_index {
            let confirmed = self.review.as_ref().map_or(index, |r| r.confirmed.min(index));
            self.review = Some(Review { confirmed });
        }
    }

    /// The follower is at the confirmed head: delivered operations not read again are gone.
    fn caught_up(&mut self) -> Vec<IntakeEvent<R::Op>> {
        match self.review.take() {
            Some(Review { confirmed }) if confirmed < self.next_index => {
                self.forget_from(confirmed);
                vec![IntakeEvent::Reorged { from: confirmed }]
            }
            _ => Vec::new(),
        }
    }

    /// Forgets delivered operations from `index` on; the next new one must have `index`.
    fn forget_from(&mut self, index: u64) {
        let oldest = self.next_index - self.delivered.len() as u64;
        self.delivered.truncate(index.saturating_sub(oldest) as usize);
        self.next_index = index;
    }

    /// Sorts read operations into known, changed and new ones.
    fn take(&mut self, ops: Vec<R::Op>) -> Result<Vec<IntakeEvent<R::Op>>> {
        let mut events = Vec::new();
        let mut fresh = Vec::new();
        for op in ops {
            let index = R::queue_index(&op);
            if index < self.next_index {
                let oldest = self.next_index - self.delivered.len() as u64;
                let same = index >= oldest && self.delivered[(index - oldest) as usize] == op;
                if same {
                    if let Some(review) = &mut self.review
                        && review.confirmed == index
                    {
                        review.confirmed += 1;
                    }
                    continue;
                }
                if index < oldest {
                    // Older than what is remembered: cannot be told apart; below any reorg
                    // this intake can see.
                    continue;
                }
                // A delivered operation changed: everything from it on is delivered again.
                self.forget_from(index);
                self.review = None;
                events.push(IntakeEvent::Reorged { from: index });
            }
            let expected = self.next_index + fresh.len() as u64;
            if index != expected {
                return Err(Error::Queue(format!(
                    "queue index {index} read where {expected} was expected: the intake \
                     started after an operation, or logs were lost"
                )));
            }
            fresh.push(op);
        }
        if !fresh.is_empty() {
            if self.review.take().is_some_and(|r| r.confirmed < self.next_index) {
                // New operations follow on from all delivered ones only if those came back.
                let from = self.next_index;
                return Err(Error::Queue(format!(
                    "queue index {from} read while delivered operations before it were not \
                     read again after a reorg"
                )));
            }
            self.next_index += fresh.len() as u64;
            self.delivered.extend(fresh.iter().cloned());
            while self.delivered.len() > REMEMBERED {
                self.delivered.pop_front();
            }
            events.push(IntakeEvent::Queued(fresh));
        }
        Ok(events)
    }
}
