//! ply's sidechain (issue 15, docs/sidechain.md): an independent EVM chain with its own BFT
//! consensus, bridged to L1 by the M-of-N validator bridge of `contracts/src/sidechain/`.
//!
//! This crate holds the bridge's signed messages, version 1: the EIP-712 domain and the
//! `Checkpoint`, `Withdrawal` and `ValidatorSetRotation` structs ([`messages`]), the quorum rule
//! the contract applies ([`ValidatorSet`]), and the withdrawals tree of a checkpoint
//! ([`withdrawals`]), all matching `SidechainBridge` byte for byte (pinned by
//! `tests/fixtures/eip712_v1.json`).
//!
//! Consensus: commonware simplex (`commonware-consensus`, pinned `=2026.10.0`), chosen over
//! Malachite for its deterministic runtime, simulated network and Byzantine mocks, which make the
//! crash, equivocation and partition tests reproducible in one process (docs/sidechain.md,
//! "Consensus library").

pub mod block;
pub mod error;
pub mod messages;
pub mod node;
pub mod withdrawals;

pub use error::{Error, ErrorKind, Result};
pub use messages::{
    BridgeDomain, BridgeSignature, Checkpoint, ValidatorSet, ValidatorSetRotation, Withdrawal,
    sign_sorted,
};
pub use withdrawals::{WithdrawalsTree, verify_proof, withdrawal_id};
