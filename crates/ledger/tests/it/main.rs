//! Integration tests of `ply-ledger`, compiled into one binary.

mod commitment;
mod errors;
mod fixtures;
mod generic_hasher;
mod proofs;
mod properties;
mod signing;
mod util;
