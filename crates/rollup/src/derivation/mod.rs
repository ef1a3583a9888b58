//! The derivation node: rebuilds the rollup's state from L1 data alone and checks every output
//! the proposer posts against it.
//!
//! Two layers, as in the rest of ply:
//!
//! - [`Derivation`], the pure core: no I/O, no clock. It holds a [`Ledger`](ply_ledger::Ledger) and the deposits
//!   read from the L1 queue so far; [`Derivation::apply_batch`] applies one batch by the
//!   derivation rules of `docs/rollup.md` and keeps its output, and
//!   [`Derivation::check_output`] compares a proposed output with it. Tests (and, later, the
//!   fraud-proof challenger) drive it directly.
//! - [`DerivationNode`], the driver: follows L1 at a confirmation depth on `ply-node`'s
//!   [`DerivationDriver`](ply_node::DerivationDriver), reads deposits, batches and outputs
//!   with an [`L1Reader`](crate::l1::L1Reader), feeds the
//!   core, and publishes what it finds as [`DerivationEvent`]s (a broadcast) and a
//!   [`DerivationStatus`] (a watch).
//!
//! # The rules, as implemented
//!
//! A batch consumes the queued deposits `prev_deposit_count..new_deposit_count`. Its data is
//! decoded and checked against that count and the timestamp of the last block of the previous
//! well-formed batch (0 at genesis). If that fails the batch is **malformed**: its deposits
//! apply, its transactions do not. Otherwise each block applies its deposits, then its
//! transactions, each rebuilt from the packed form: addresses from account indices, the nonce
//! from the sender's account, a [`Recipient::New`](crate::batch::Recipient::New) address that must not have an account yet.
//! A transaction that cannot be rebuilt, whose signature does not check, or that the ledger
//! refuses is **skipped**; a deposit the ledger refuses is skipped too (its funds stay in the
//! L1 bridge). Either way the batch ends with [`Ledger::finish_batch`](ply_ledger::Ledger::finish_batch), whose state root and
//! withdrawal root are what an honest proposer posts.
//!
//! # Layout
//!
//! - [`rules`]: the packed-transaction rules (rebuilding a transaction, why one is skipped);
//! - [`report`]: what deriving a batch found ([`BatchReport`], [`OutputCheck`], [`BatchTrace`]);
//! - [`pure`]: the pure core, [`Derivation`];
//! - `prefetch`: the parallel signature checks ahead of applying a batch;
//! - [`node`]: the [`DerivationNode`], the core on `ply-node`'s derivation driver.

pub mod node;
mod prefetch;
pub mod pure;
pub mod report;
pub mod rules;
#[cfg(test)]
mod tests;

pub use node::{DerivationEvent, DerivationNode, DerivationStatus};
pub use pure::{DEFAULT_REPORT_WINDOW, Derivation};
pub use report::{BatchReport, BatchTrace, OutputCheck, SkippedDeposit, SkippedTx};
pub use rules::InvalidTx;
pub(crate) use rules::rebuild;
