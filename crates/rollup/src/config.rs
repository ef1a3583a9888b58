//! Configuration shared by the rollup's nodes.

use alloy::primitives::Address;
use ply_ledger::{LedgerConfig, SigningDomain};
use std::time::Duration;

/// When the batcher posts a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Post once the unposted blocks hold this many transactions.
    pub max_txs: usize,
    /// Post once a batch would exceed this many bytes of data.
    pub max_bytes: usize,
    /// Post once the oldest unposted block is this old (if it holds anything).
    pub max_age: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self { max_txs: 1_000, max_bytes: 100_000, max_age: Duration::from_secs(2) }
    }
}

/// The parameters of one rollup deployment.
#[derive(Debug, Clone)]
pub struct RollupConfig {
    /// The L2 chain id (part of every signature's EIP-712 domain).
    pub l2_chain_id: u64,
    /// The Rollup contract on L1 (the EIP-712 verifying contract).
    pub rollup: Address,
    /// The Bridge contract on L1 (deposit queue, withdrawal claims).
    pub bridge: Address,
    /// Tree shapes and the fee account.
    pub ledger: LedgerConfig,
    /// How often the sequencer seals an L2 block.
    pub block_time: Duration,
    /// The most transactions one L2 block holds (a full block is sealed at once).
    pub max_block_txs: usize,
    /// L1 blocks a deposit must be buried under before the sequencer includes it.
    pub l1_confirmations: u64,
    /// When batches are posted.
    pub batch: BatchLimits,
}

impl RollupConfig {
    /// The EIP-712 domain users sign in.
    pub fn domain(&self) -> SigningDomain {
        SigningDomain::new(self.l2_chain_id, self.rollup)
    }
}
