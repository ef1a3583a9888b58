//! The family-neutral operator pipeline of ply: what every Layer 2 family's node is made of,
//! whatever its state machine and however it settles on L1. In the order an operation travels:
//!
//! - [`sequencer`]: one task owns a family's [`StateMachine`] and its [`Journal`], applies
//!   commands in groups and commits each group with one fsync before acknowledging it;
//! - [`journal`]: the write-ahead log (redb, and an in-memory twin for tests), versioned;
//! - [`intake`]: the L1 intake of queued operations (deposits, forced transactions) at a
//!   confirmation depth, with reorg handling;
//! - [`settlement`]: the batcher/settlement loop behind a trait, with one restart
//!   reconciliation and one batch-due clock;
//! - [`derive`](mod@derive): the derivation driver that follows L1 and feeds a family's pure derivation
//!   core;
//! - around them: the [`Clock`] the pipeline decides by, one [`supervise()`] with backoff, and
//!   errors whose [`ErrorKind`] (temporary, reset, critical) tells each loop what to do.
//!
//! The crate depends on `ply-core` and `ply-l1` only: the families (the optimistic rollup, the
//! zk rollup and validium) bring their state machines and L1 contracts to it, in the spirit of
//! kona (stages named after the spec, errors that tell the loop what to do) and LDK (an I/O-free
//! core, the world through traits).

pub mod clock;
pub mod derive;
pub mod error;
pub mod intake;
pub mod journal;
pub mod sequencer;
pub mod settlement;
pub mod supervise;

pub use clock::{Clock, DynClock, ManualClock, SystemClock};
pub use derive::{DerivationDriver, DerivationStage};
pub use error::{Classify, Error, ErrorKind, Result, l1_error_kind};
pub use intake::{Intake, IntakeEvent, QueueReader};
pub use journal::{Journal, MemoryJournal, RedbJournal, open_versioned};
pub use sequencer::{Output, Sequencer, StateMachine};
pub use settlement::{BatchAge, Settlement, run_settlement};
pub use supervise::{Backoff, Ended, supervise};
