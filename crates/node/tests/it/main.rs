//! Integration tests of `ply-node`: the journal's pinned format, the sequencer task with a toy
//! state machine, the L1 intake against the embedded chain (reorgs by `evm_revert`), and the
//! derivation driver.

mod derive;
mod intake;
mod journal;
mod sequencer;
