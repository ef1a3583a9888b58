//! Integration tests of `ply-plasma`: the contracts' fixtures, the codec's refusals, the block
//! tree, and the child chain's state machine under attack.

mod codec;
mod fixtures;
mod merkle;
mod state;
