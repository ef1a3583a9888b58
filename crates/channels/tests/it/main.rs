//! Integration tests of ply-channels, in one binary.

mod channel;
mod common;
mod net;
mod payments;
mod wire;
