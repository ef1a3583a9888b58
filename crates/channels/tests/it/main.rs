//! Integration tests of ply-channels, in one binary.

mod channel;
mod common;
mod consistency;
mod fixtures;
mod l1;
mod net;
mod node;
mod payments;
mod routing;
mod store;
mod watchtower;
mod wire;
