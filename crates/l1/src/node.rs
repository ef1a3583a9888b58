//! The embedded chain as a shared service: a lock around [`Chain`] and the interval miner.

use crate::{
    Result,
    chain::{Chain, ChainConfig, MinedBlock, PooledTx, Submitted},
};
use parking_lot::Mutex;
use std::{path::Path, sync::Arc, time::Duration};
use tokio::{sync::broadcast, task::JoinHandle};

/// A handle to an embedded chain shared by the RPC server, in-process clients and the miner.
/// Cloning is cheap; all clones see the same chain.
#[derive(Clone, Debug)]
pub struct Node {
    chain: Arc<Mutex<Chain>>,
}

impl Node {
    /// An in-memory chain.
    pub fn new(config: ChainConfig) -> Self {
        Self::from_chain(Chain::new(config))
    }

    /// A chain kept in `dir` (see [`Chain::open`]).
    pub fn open(config: ChainConfig, dir: &Path) -> Result<Self> {
        Ok(Self::from_chain(Chain::open(config, dir)?))
    }

    /// Wraps an existing chain.
    pub fn from_chain(chain: Chain) -> Self {
        Self { chain: Arc::new(Mutex::new(chain)) }
    }

    /// Runs `f` with the chain locked. Keep `f` short: every RPC request waits for the lock.
    pub fn with<T>(&self, f: impl FnOnce(&mut Chain) -> T) -> T {
        f(&mut self.chain.lock())
    }

    /// Decodes and recovers `raw` without the lock, then submits it.
    pub fn send_raw_transaction(&self, raw: &[u8]) -> Result<(alloy::primitives::B256, Submitted)> {
        let tx = PooledTx::decode(raw)?;
        let hash = tx.hash;
        Ok((hash, self.send_transaction(tx)?))
    }

    /// Pools `tx` and, under instant mining, returns once it is mined. The lock is released
    /// between admission and mining, so transactions that arrive together from many clients
    /// share blocks instead of queueing for one block each.
    pub fn send_transaction(&self, tx: PooledTx) -> Result<Submitted> {
        let hash = tx.hash;
        self.with(|c| c.admit(tx))?;
        self.with(|c| c.settle(hash))
    }

    /// A receiver of every block mined from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<MinedBlock>> {
        self.with(|c| c.subscribe())
    }

    /// Starts mining a block every `interval` (`--block-time`); the task stops when the
    /// returned handle is aborted or the runtime shuts down.
    pub fn spawn_interval_miner(&self, interval: Duration) -> JoinHandle<()> {
        let node = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(e) = node.with(|c| c.mine(None)) {
                    tracing::error!(error = %e, "interval mining failed");
                }
            }
        })
    }
}
