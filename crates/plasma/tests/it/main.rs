//! Integration tests of `ply-plasma`: the contracts' fixtures, the codec's refusals, the block
//! tree, the child chain's state machine under attack, and the contracts end to end on the
//! embedded L1.

mod codec;
mod fixtures;
mod l1;
mod merkle;
mod state;
