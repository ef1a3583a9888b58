//! [`ZkState`]: the zk family's account tree, natively, as the witness generator sees it.

use super::{AccountSlot, BatchParams, Result};
use crate::{Fr, PoseidonHasher, eddsa::PublicKey, fr_from_address, fr_to_b256, poseidon};
use ark_ff::PrimeField;
use ply_core::{Address, B256};
use ply_ledger::SparseMerkleTree;
use std::collections::{BTreeMap, HashMap};

/// The account leaf of the zk family: `poseidon([address, pubkey.x, pubkey.y, nonce, balances_root])`.
pub fn account_leaf(address: Fr, public_key: &PublicKey, nonce: u64, balances_root: Fr) -> Fr {
    poseidon(&[address, public_key.0.x, public_key.0.y, Fr::from(nonce), balances_root])
}

pub(crate) fn b256_to_fr(digest: B256) -> Fr {
    Fr::from_be_bytes_mod_order(digest.as_slice())
}

/// An account of the zk family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkAccount {
    /// The L1 address (deposits find the account by it; withdrawals pay out to it).
    pub address: Address,
    /// The EdDSA key that signs the account's transactions.
    pub public_key: PublicKey,
    /// The nonce of the account's next transaction.
    pub nonce: u64,
    /// Non-zero balances by token.
    pub balances: BTreeMap<u32, u128>,
}

/// The account tree of the zk family (see the [module docs](super)), with one balance tree per
/// account. Index 0 is the operator's fee account, created at genesis.
#[derive(Debug, Clone)]
pub struct ZkState {
    account_depth: usize,
    token_depth: usize,
    accounts: Vec<ZkAccount>,
    balance_trees: Vec<SparseMerkleTree<PoseidonHasher>>,
    tree: SparseMerkleTree<PoseidonHasher>,
    index_of: HashMap<Address, u64>,
}

impl ZkState {
    /// A state with the operator's account at index 0, for batches of `params`' depths.
    pub fn new(params: &BatchParams, operator: Address, operator_key: PublicKey) -> Result<Self> {
        params.validate()?;
        let mut state = Self {
            account_depth: params.account_depth,
            token_depth: params.token_depth,
            accounts: Vec::new(),
            balance_trees: Vec::new(),
            tree: SparseMerkleTree::new(params.account_depth)?,
            index_of: HashMap::new(),
        };
        state.create(operator, operator_key)?;
        Ok(state)
    }

    /// The root of the account tree.
    pub fn root(&self) -> Fr {
        b256_to_fr(self.tree.root())
    }

    /// The account at `index`.
    pub fn account(&self, index: u64) -> Option<&ZkAccount> {
        self.accounts.get(usize::try_from(index).ok()?)
    }

    /// The index of the account of `address`.
    pub fn index_of(&self, address: &Address) -> Option<u64> {
        self.index_of.get(address).copied()
    }

    /// The number of accounts.
    pub fn account_count(&self) -> u64 {
        self.accounts.len() as u64
    }

    /// The capacity of the account tree.
    pub fn capacity(&self) -> u64 {
        1 << self.account_depth
    }

    /// The depth of the balance trees.
    pub fn token_depth(&self) -> usize {
        self.token_depth
    }

    /// Creates an account at the next index (the caller checked there is room).
    pub(crate) fn create(&mut self, address: Address, public_key: PublicKey) -> Result<u64> {
        let index = self.accounts.len() as u64;
        self.accounts.push(ZkAccount { address, public_key, nonce: 0, balances: BTreeMap::new() });
        self.balance_trees.push(SparseMerkleTree::new(self.token_depth)?);
        self.index_of.insert(address, index);
        self.rehash(index)?;
        Ok(index)
    }

    /// Sets a balance and the nonce of an existing account and updates the trees.
    pub(crate) fn set(&mut self, index: u64, token: u32, balance: u128, nonce: u64) -> Result<()> {
        let i = index as usize;
        let account = &mut self.accounts[i];
        account.nonce = nonce;
        if balance == 0 {
            account.balances.remove(&token);
        } else {
            account.balances.insert(token, balance);
        }
        self.balance_trees[i].update(u64::from(token), fr_to_b256(Fr::from(balance)))?;
        self.rehash(index)
    }

    fn rehash(&mut self, index: u64) -> Result<()> {
        let i = index as usize;
        let account = &self.accounts[i];
        let leaf = account_leaf(
            fr_from_address(account.address),
            &account.public_key,
            account.nonce,
            b256_to_fr(self.balance_trees[i].root()),
        );
        self.tree.update(index, fr_to_b256(leaf))?;
        Ok(())
    }

    /// The witness of the account at `index` and its balance of `token`, before a change.
    pub(crate) fn slot(&self, index: u64, token: u32) -> Result<AccountSlot> {
        let account_siblings =
            self.tree.proof(index)?.siblings.into_iter().map(b256_to_fr).collect();
        match self.account(index) {
            Some(account) => Ok(AccountSlot {
                index,
                is_empty: false,
                address: fr_from_address(account.address),
                public_key: (account.public_key.0.x, account.public_key.0.y),
                nonce: account.nonce,
                balance: account.balances.get(&token).copied().unwrap_or(0),
                balance_siblings: self.balance_trees[index as usize]
                    .proof(u64::from(token))?
                    .siblings
                    .into_iter()
                    .map(b256_to_fr)
                    .collect(),
                account_siblings,
            }),
            None => {
                let empty: SparseMerkleTree<PoseidonHasher> =
                    SparseMerkleTree::new(self.token_depth)?;
                Ok(AccountSlot {
                    index,
                    is_empty: true,
                    address: Fr::from(0u64),
                    public_key: (Fr::from(0u64), Fr::from(0u64)),
                    nonce: 0,
                    balance: 0,
                    balance_siblings: empty
                        .proof(u64::from(token))?
                        .siblings
                        .into_iter()
                        .map(b256_to_fr)
                        .collect(),
                    account_siblings,
                })
            }
        }
    }
}
