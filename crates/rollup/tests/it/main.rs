//! Integration tests of the rollup backbone (one binary).

mod crash;
mod dispute;
mod e2e;
mod forced_inclusion;
mod fraud;
mod harness;
mod one_step;
mod records;
mod sequencer;
