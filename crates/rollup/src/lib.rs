//! The rollup backbone shared by ply's rollup families, in the order a transaction travels:
//! the sequencer orders and soft-confirms it, the batcher packs blocks into [`batch`]es posted
//! to L1, the proposer posts output roots, and the derivation node rebuilds the state from L1
//! data alone and checks every output. Formats are specified in `docs/rollup.md`.

pub mod batch;
pub mod config;
pub mod derivation;
pub mod error;
pub mod fraud;
pub mod l1;
pub mod node;
pub mod sequencer;

pub use config::{BatchLimits, RollupConfig};
pub use error::{Error, Result};
