//! Accounts: an address, a nonce and one balance per token (`docs/rollup.md`, "Accounts").

use crate::{TreeHasher, smt::sparse_root};
use ply_core::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use ply_core::TokenId;

/// The token id of ETH.
pub const ETH: TokenId = 0;

/// An account's position in the state tree, assigned in order of first appearance.
pub type AccountIndex = u32;

/// The index of the operator's fee account, created at genesis.
pub const FEE_ACCOUNT: AccountIndex = 0;

/// The largest balance an account may hold, `2^128 - 1`. A credit above it is refused.
pub const MAX_BALANCE: U256 = U256::from_limbs([u64::MAX, u64::MAX, 0, 0]);

/// One account of the ledger.
///
/// `balances` holds only non-zero balances (a zero balance is the empty leaf of the balance
/// tree, so it is simply absent), which keeps equal states byte-for-byte equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The Ethereum address whose key signs the account's transactions.
    pub address: Address,
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    /// The non-zero balances, by token.
    pub balances: BTreeMap<TokenId, U256>,
}

impl Account {
    /// A fresh account: nonce 0, no balances.
    pub fn new(address: Address) -> Self {
        Self { address, nonce: 0, balances: BTreeMap::new() }
    }

    /// The balance of `token` (zero when absent).
    pub fn balance(&self, token: TokenId) -> U256 {
        self.balances.get(&token).copied().unwrap_or(U256::ZERO)
    }

    /// The root of the account's balance tree of depth `token_depth`.
    ///
    /// Computed from the balances (one hash per ancestor of a non-zero balance); the ledger
    /// caches it. Tokens beyond the tree's range cannot be present in a ledger's account, and
    /// `token_depth` is whole node levels of `H`'s arity (rounded down otherwise).
    pub fn balances_root<H: TreeHasher>(&self, token_depth: usize) -> B256 {
        let empty = H::empty_hashes(token_depth / H::ARITY_BITS as usize);
        self.balances_root_with::<H>(&empty, &mut Vec::new())
    }

    /// [`balances_root`](Self::balances_root) with a precomputed empty table and scratch space.
    pub(crate) fn balances_root_with<H: TreeHasher>(
        &self,
        empty: &[B256],
        buf: &mut Vec<(u64, B256)>,
    ) -> B256 {
        sparse_root::<H>(
            empty,
            self.balances
                .iter()
                .map(|(token, amount)| (u64::from(*token), H::balance_leaf(*amount))),
            buf,
        )
    }

    /// The fields of the account's leaf, given its balance tree depth.
    pub fn leaf<H: TreeHasher>(&self, token_depth: usize) -> AccountLeaf {
        AccountLeaf {
            address: self.address,
            nonce: self.nonce,
            balances_root: self.balances_root::<H>(token_depth),
        }
    }
}

/// What the state tree commits to for one account: `hash_account(address, nonce, balances_root)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountLeaf {
    /// The account's address.
    pub address: Address,
    /// The account's nonce.
    pub nonce: u64,
    /// The root of the account's balance tree.
    pub balances_root: B256,
}

impl AccountLeaf {
    /// The leaf hash, `H::hash_account(address, nonce, balances_root)`.
    pub fn hash<H: TreeHasher>(&self) -> B256 {
        H::hash_account(self.address, self.nonce, self.balances_root)
    }
}
