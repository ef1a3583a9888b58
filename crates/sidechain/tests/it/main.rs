//! Integration tests of `ply-sidechain`.

mod chain;
mod fixtures;
