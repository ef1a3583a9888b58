//! Configuration of the embedded chain.

use alloy::primitives::{Address, U256};
use ply_core::dev::{DEV_BALANCE, dev_addresses};
use revm::primitives::hardfork::SpecId;

/// The chain id of ply's dev chain, the same as anvil's and hardhat's.
pub const DEV_CHAIN_ID: u64 = 31337;

/// How the embedded chain decides when to mine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mining {
    /// Mine a block as soon as a transaction arrives (anvil's default).
    Instant,
    /// Mine only when asked (`evm_mine`, [`super::Chain::mine`]); a node may add a timer that
    /// asks every few seconds (`--block-time`).
    Manual,
}

/// The parameters of an embedded chain.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The fork rules the EVM runs under.
    pub spec: SpecId,
    /// The gas limit of every block.
    pub block_gas_limit: u64,
    /// The base fee of the first block after genesis, in wei.
    pub initial_base_fee: u64,
    /// The genesis timestamp; the wall clock when `None`.
    pub genesis_timestamp: Option<u64>,
    /// Accounts funded at genesis.
    pub genesis_accounts: Vec<(Address, U256)>,
    /// Who receives priority fees.
    pub coinbase: Address,
    /// When blocks are mined.
    pub mining: Mining,
    /// How far ahead of an account's nonce the pool queues transactions.
    pub max_nonce_gap: u64,
}

impl Default for ChainConfig {
    /// The dev chain: chain id 31337, Osaka rules (anvil 1.7's default fork family), a
    /// 30M gas limit, 1 gwei initial base fee, the ten dev accounts with 10,000 ETH each,
    /// instant mining.
    fn default() -> Self {
        Self {
            chain_id: DEV_CHAIN_ID,
            spec: SpecId::OSAKA,
            block_gas_limit: 30_000_000,
            initial_base_fee: 1_000_000_000,
            genesis_timestamp: None,
            genesis_accounts: dev_addresses().into_iter().map(|a| (a, DEV_BALANCE)).collect(),
            coinbase: Address::ZERO,
            mining: Mining::Instant,
            max_nonce_gap: 1024,
        }
    }
}
