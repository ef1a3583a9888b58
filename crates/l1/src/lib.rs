//! The L1 layer of ply: an embedded Ethereum dev chain on revm, its JSON-RPC server, and the
//! one L1 client interface every Layer 2 component talks through.
//!
//! - [`chain`]: the chain itself, a synchronous state machine (blocks, pool, receipts, time,
//!   snapshots, optional persistence in an embedded database).
//! - [`node`]: the chain behind a lock, with interval mining, as a service.
//! - [`rpc`]: the standard `eth_*` JSON-RPC over HTTP and WebSocket (plus anvil's dev methods),
//!   so that cast, alloy and ethers work against it.
//! - [`client`]: the [`client::L1Client`] trait with two backends, in-process and JSON-RPC,
//!   and the transaction sender (nonces, fee bumping) and block follower built on it.

pub mod anvil;
pub mod chain;
pub mod client;
pub use chain::query;
pub mod error;
pub mod node;
pub mod rpc;

pub use error::{Error, Result, TxRejection};
