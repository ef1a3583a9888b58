//! Priority operations: what the L1 queue holds (`docs/rollup.md`, "Priority operations").
//!
//! Deposits, forced transfers and forced withdrawals share one queue, one inclusion deadline and
//! one counter (the ledger's queue index). A forced operation needs no L2 signature: its L1
//! sender is the account's owner. None pays a fee or changes a nonce.

use crate::{Deposit, TokenId};
use alloy::sol_types::SolValue;
use ply_core::{B256, U256, keccak256};

alloy::sol! {
    /// One entry of the L1 queue, in the field order of `opHash` and of the one-step witness.
    #[derive(Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    struct PriorityOp {
        /// 0 deposit, 1 forced transfer, 2 forced withdrawal ([`OpKind`]).
        uint8 kind;
        /// The L1 sender: the depositor, or the owner of the L2 account a forced operation
        /// debits.
        address from;
        /// The L2 recipient (deposit, forced transfer) or the L1 recipient (forced withdrawal).
        address to;
        /// The token.
        uint32 token;
        /// The amount.
        uint256 amount;
        /// The L1 timestamp at which it was queued (the inclusion deadline counts from it).
        uint64 timestamp;
    }
}

/// The kind of a [`PriorityOp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Credits `to`, creating its account; makes the token known.
    Deposit = 0,
    /// Moves `amount` from `from`'s account to `to`'s (creating it).
    ForcedTransfer = 1,
    /// Debits `from`'s account and appends a withdrawal to the L1 address `to`.
    ForcedWithdrawal = 2,
}

impl PriorityOp {
    /// The kind, or `None` for a kind byte the rules do not know (such an operation is
    /// skipped).
    pub fn op_kind(&self) -> Option<OpKind> {
        match self.kind {
            0 => Some(OpKind::Deposit),
            1 => Some(OpKind::ForcedTransfer),
            2 => Some(OpKind::ForcedWithdrawal),
            _ => None,
        }
    }

    /// The hash the L1 queue stores for this operation at `queue_index`:
    /// `keccak256(abi.encode(uint256 i, uint8 kind, address from, address to, uint32 token,
    /// uint256 amount, uint64 timestamp))`.
    pub fn hash(&self, queue_index: u64) -> B256 {
        keccak256((U256::from(queue_index), self.clone()).abi_encode_params())
    }
}

impl Deposit {
    /// The queue entry as the L1 stores it (and the one-step witness carries it).
    pub fn op(&self) -> PriorityOp {
        PriorityOp {
            kind: self.kind,
            from: self.from,
            to: self.to,
            token: self.token,
            amount: self.amount,
            timestamp: self.timestamp,
        }
    }
}

/// `token` as a bit of the known-token bitmap, if it has one (tokens 0 to 255).
pub(crate) fn token_bit(token: TokenId) -> Option<usize> {
    (token < 256).then_some(token as usize)
}
