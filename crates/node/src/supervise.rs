//! [`supervise`]: one supervision for every service of a node (batcher, intake, derivation):
//! run it, and when it fails act on the error's [`ErrorKind`].

use crate::{Classify, ErrorKind};
use std::{future::Future, time::Duration};

/// The pause between restarts after temporary failures: doubles from `initial` up to `max`,
/// and starts over after a reset or a run that made progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub initial: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl Default for Backoff {
    /// 200 ms, doubling up to 10 s: what the rollup's services have always used.
    fn default() -> Self {
        Self { initial: Duration::from_millis(200), max: Duration::from_secs(10) }
    }
}

impl Backoff {
    /// The pause after `current`.
    pub fn next(&self, current: Duration) -> Duration {
        (current * 2).clamp(self.initial, self.max)
    }
}

/// How a supervised service ended.
#[derive(Debug)]
pub enum Ended<E> {
    /// It returned `Ok`, or met an error that only says the node is shutting down.
    Done,
    /// It met a [`Critical`](ErrorKind::Critical) error, which is here.
    Failed(E),
}

/// Runs the service `run` makes until it ends, acting on each failure's kind:
/// [`Temporary`](ErrorKind::Temporary): a new run after a pause growing by `backoff`;
/// [`Reset`](ErrorKind::Reset): a new run at once (every service rebuilds what it holds from L1
/// when it starts, so a new run *is* the reset); [`Critical`](ErrorKind::Critical): no new run,
/// the error is returned. A shutdown ([`Classify::is_shutdown`]) ends it quietly.
pub async fn supervise<E, F, Fut>(name: &'static str, backoff: Backoff, mut run: F) -> Ended<E>
where
    E: Classify,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut pause = backoff.initial;
    loop {
        let error = match run().await {
            Ok(()) => return Ended::Done,
            Err(e) if e.is_shutdown() => return Ended::Done,
            Err(e) => e,
        };
        match error.kind() {
            ErrorKind::Critical => {
                tracing::error!(service = name, error = %error, "service stopped");
                return Ended::Failed(error);
            }
            ErrorKind::Reset => {
                tracing::warn!(service = name, error = %error, "service resets from L1");
                pause = backoff.initial;
            }
            ErrorKind::Temporary => {
                tracing::warn!(service = name, error = %error, ?pause, "service failed; restarting");
                tokio::time::sleep(pause).await;
                pause = backoff.next(pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    fn quick() -> Backoff {
        Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(4) }
    }

    #[test]
    fn the_pause_doubles_up_to_its_bound() {
        let b = Backoff::default();
        assert_eq!(b.next(Duration::from_millis(200)), Duration::from_millis(400));
        assert_eq!(b.next(Duration::from_secs(8)), Duration::from_secs(10));
        assert_eq!(b.next(Duration::ZERO), Duration::from_millis(200));
    }

    #[tokio::test]
    async fn temporary_and_reset_failures_restart_critical_ones_stop() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let ended = supervise("test", quick(), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(Error::L1(ply_l1::Error::Rpc("connection refused".into()))),
                    1 => Err(Error::L1(ply_l1::Error::Reorg {
                        number: 7,
                        hash: Default::default(),
                        resume_from: 3,
                    })),
                    _ => Err(Error::Storage("disk full".into())),
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        match ended {
            Ended::Failed(Error::Storage(m)) => assert_eq!(m, "disk full"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn success_and_shutdown_end_quietly() {
        let ended = supervise::<Error, _, _>("ok", quick(), || async { Ok(()) }).await;
        assert!(matches!(ended, Ended::Done));
        let ended = supervise("stopped", quick(), || async { Err(Error::Stopped) }).await;
        assert!(matches!(ended, Ended::Done));
    }
}
