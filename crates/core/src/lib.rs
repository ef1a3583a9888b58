//! Core types shared by every part of ply.
//!
//! This crate is the bottom layer of the workspace (see `docs/layout.md`): primitive types
//! (one address, one amount, one token id), hashing, packed decimal amounts, the canonical
//! signature check and the well-known development accounts. It performs no I/O, so everything here runs
//! the same in a node, in a test on a simulated clock and inside a witness generator.

pub mod dev;
pub mod error;
pub mod packed;
pub mod signature;

pub use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
pub use error::{Error, Result};

/// An amount of an asset in its smallest unit (wei for ETH). One type for every amount in ply.
pub type Amount = U256;

/// A token id: 0 is ETH, ERC-20 tokens get 1, 2, … when registered on L1. In the rollup
/// ledgers it is the token's position in every balance tree. One type for every family.
pub type TokenId = u32;

/// One ether in wei.
pub const ETHER: u128 = 1_000_000_000_000_000_000;

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;
