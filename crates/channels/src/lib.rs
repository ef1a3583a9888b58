//! State channels of ply: a payment-channel network on Ethereum in the style of Raiden's
//! TokenNetwork, built the way LDK builds Lightning (docs/channels.md).
//!
//! The crate reads in the order a payment travels:
//! - [`eip712`] and [`messages`]: the signing domain and the off-chain messages, each signed
//!   over its own EIP-712 type; the ones that move money carry a [`BalanceProof`] signed
//!   exactly as the TokenNetwork contract verifies it; [`wire`] is their versioned binary
//!   codec; [`lock`] the hash-time locks and their root.
//! - [`channel`]: one channel's two ends and every rule a balance proof must follow; pure.
//! - [`manager`]: the node's state machine over all its channels and payments (initiator,
//!   mediator, target). It does no I/O: every call returns [`Actions`](manager::Actions), the
//!   records to persist first and then the messages to send and the L1 calls to make, so a
//!   node never sends a signature for a state it has not persisted. Time and the L1 block
//!   height come in as arguments.
//! - [`routing`]: the channel graph and the cheapest route with enough capacity.
//! - [`store`]: persistence (redb, with an in-memory twin), group commit and recovery.
//! - [`transport`] and [`node`]: the node over TCP: peers authenticated by their Ethereum keys,
//!   the state machine on its own thread with group commit, resending after a reconnect.
//! - [`watchtower`]: answers a partner's stale close for an offline client.

pub mod channel;
pub mod eip712;
pub mod error;
pub mod l1;
pub mod lock;
pub mod manager;
pub mod messages;
pub mod node;
pub mod routing;
pub mod store;
pub mod transport;
pub mod watchtower;
pub mod wire;

pub use error::{ChannelError, ErrorKind, Result};
pub use messages::{BalanceProof, Message, SignedBalanceProof, SignedMessage};
