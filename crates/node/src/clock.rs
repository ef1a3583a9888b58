//! [`Clock`]: the time the pipeline decides by (when a block seals, when a batch is due), as a
//! trait, so that a test decides exactly when those happen ([`ManualClock`]) while a node runs
//! on [`SystemClock`]. Polling the L1 and backing off after an error stay on tokio's timer:
//! they change how soon something is noticed, never what is decided.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::watch;

/// A future of a [`Clock`]'s sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The time a node decides by.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;

    /// A future that completes once [`now`](Self::now) is at least `deadline`.
    fn sleep_until(&self, deadline: Duration) -> Sleep;

    /// Whole seconds since the Unix epoch (block timestamps).
    fn now_secs(&self) -> u64 {
        self.now().as_secs()
    }

    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleep_until(self.now().saturating_add(duration))
    }
}

/// A shared clock.
pub type DynClock = Arc<dyn Clock>;

/// The wall clock, with tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The wall clock as a [`DynClock`].
    pub fn shared() -> DynClock {
        Arc::new(Self)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        let left = deadline.saturating_sub(self.now());
        Box::pin(tokio::time::sleep(left))
    }
}

/// A clock that moves only when told ([`advance`](Self::advance)), for tests that must decide
/// exactly when a block seals or a batch is due. Clones share the time.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<Duration>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("now", &*self.now.borrow()).finish()
    }
}

impl ManualClock {
    /// A clock standing at `start` since the Unix epoch.
    pub fn new(start: Duration) -> Self {
        Self { now: Arc::new(watch::Sender::new(start)) }
    }

    /// A clock standing at the wall clock's present second (so block timestamps look real).
    pub fn at_system_time() -> Self {
        Self::new(Duration::from_secs(SystemClock.now_secs()))
    }

    /// Moves the clock `by` forward, waking every sleep whose deadline has come.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// This clock as a [`DynClock`] (sharing its time).
    pub fn shared(&self) -> DynClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as any clone of the clock; once none is left, time
            // stands still for good and the sleep never ends, as the test intended.
            if rx.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_sleep_ends_when_the_clock_reaches_it_and_not_before() {
        let clock = ManualClock::new(Duration::from_secs(100));
        let sleep = clock.sleep(Duration::from_secs(5));
        let task = tokio::spawn(sleep);
        clock.advance(Duration::from_secs(4));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "woke a second early");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert_eq!(clock.now_secs(), 105);
    }

    #[tokio::test]
    async fn a_past_deadline_is_ready_at_once() {
        let clock = ManualClock::new(Duration::from_secs(10));
        tokio::time::timeout(Duration::from_secs(1), clock.sleep_until(Duration::from_secs(3)))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(1), SystemClock.sleep(Duration::ZERO))
            .await
            .unwrap();
    }
}
