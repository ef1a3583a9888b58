//! Integration tests of ply-channels, in one binary.

mod common;
mod wire;
