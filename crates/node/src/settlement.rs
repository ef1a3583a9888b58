//! The batcher/settlement loop: one loop for every family behind the [`Settlement`] trait (the
//! optimistic rollup appends batches, proposes outputs and finalises them; the zk rollup proves
//! and submits), with one restart reconciliation and one batch-due clock.
//!
//! The loop [reconciles](Settlement::reconcile) when it starts, then [steps](Settlement::step)
//! until an error. Run under [`supervise`](crate::supervise()), a failure restarts the loop, and
//! the restart reconciles with L1 again: a crash (or a timeout) between an L1 transaction and
//! its record is always repaired before anything new is posted.

use crate::{Classify, DynClock};
use std::time::Duration;

/// A family's settlement on L1.
#[async_trait::async_trait]
pub trait Settlement: Send {
    /// The family's error.
    type Error: Classify + Send;

    /// Brings the node's batch records up to date with L1 (what was posted, proposed, proven
    /// or finalised there but not recorded, because the node died in between).
    async fn reconcile(&mut self) -> Result<(), Self::Error>;

    /// One round at time `now`: settle what is pending, and post the next batch if one is due.
    /// `Ok(false)` when there was nothing to do (the loop then waits a poll interval).
    async fn step(&mut self, now: Duration) -> Result<bool, Self::Error>;
}

/// Reconciles `settlement` with L1, then steps it until an error, waiting `poll` after each
/// round with nothing to do. Time for the rounds comes from `clock`.
pub async fn run_settlement<S: Settlement>(
    mut settlement: S,
    clock: DynClock,
    poll: Duration,
) -> Result<(), S::Error> {
    settlement.reconcile().await?;
    loop {
        if !settlement.step(clock.now()).await? {
            tokio::time::sleep(poll).await;
        }
    }
}

/// How long the oldest unbatched block has waited, on the node's clock: the batch-due policy's
/// age. The wait counts from the last time nothing waited (or from the first observation, or
/// from the last batch), so that a block sealed between two observations has waited since the
/// first of them: on a manual clock, a test that seals a block and then moves the clock past
/// the batch age has the batch due, however late the loop looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchAge {
    since: Option<Duration>,
}

impl BatchAge {
    /// A wait not started.
    pub fn new() -> Self {
        Self::default()
    }

    /// The age at `now` of what waits (`pending`: whether anything waits).
    pub fn observe(&mut self, pending: bool, now: Duration) -> Duration {
        let since = *self.since.get_or_insert(now);
        if !pending {
            self.since = Some(now);
            return Duration::ZERO;
        }
        now.saturating_sub(since)
    }

    /// A batch was cut at `now`: what waits from now on waits since then.
    pub fn cut(&mut self, now: Duration) {
        self.since = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_counts_from_the_last_empty_observation_or_the_last_cut() {
        let s = Duration::from_secs;
        let mut age = BatchAge::new();
        assert_eq!(age.observe(true, s(5)), s(0), "the first observation starts the wait");
        assert_eq!(age.observe(true, s(7)), s(2));
        assert_eq!(age.observe(false, s(10)), s(0));
        // Sealed some time after 10, first seen at 12: it has waited since 10.
        assert_eq!(age.observe(true, s(12)), s(2));
        assert_eq!(age.observe(true, s(15)), s(5));
        age.cut(s(15));
        assert_eq!(age.observe(true, s(16)), s(1));
        assert_eq!(age.observe(false, s(17)), s(0));
        assert_eq!(age.observe(true, s(30)), s(13));
    }
}
