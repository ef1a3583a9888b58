//! [`ZkState`]: the zk family's account tree, natively, as the witness generator sees it.

use super::{AccountSlot, BatchParams, PackedAmount, Result, ZkOperation};
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
    domain: Fr,
    account_depth: usize,
    token_depth: usize,
    accounts: Vec<ZkAccount>,
    balance_trees: Vec<SparseMerkleTree<PoseidonHasher>>,
    tree: SparseMerkleTree<PoseidonHasher>,
    index_of: HashMap<Address, u64>,
}

impl ZkState {
    /// A state with the operator's account at index 0, for batches of `params`' depths, of the
    /// deployment whose [`signing_domain`](super::signing_domain) is `domain`.
    pub fn new(
        params: &BatchParams,
        domain: Fr,
        operator: Address,
        operator_key: PublicKey,
    ) -> Result<Self> {
        params.validate()?;
        let mut state = Self {
            domain,
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

    /// The signing domain of the deployment this state belongs to.
    pub fn domain(&self) -> Fr {
        self.domain
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

    /// The witness of account `index`'s balance of `token` against [`Self::root`]: what an exit
    /// on L1 proves (the leaf's fields and both Merkle paths).
    pub fn exit_proof(&self, index: u64, token: u32) -> Result<AccountSlot> {
        if self.account(index).is_none() {
            return Err(super::CircuitError::InvalidOperation {
                position: 0,
                kind: "exit",
                reason: format!("account {index} does not exist"),
            });
        }
        self.slot(index, token)
    }

    /// Applies one operation natively (a deposit whose credit would reach 2¹²⁸ is refused and
    /// changes nothing; a full exit empties the balance), with the checks the circuit makes (signature under the
    /// sender's key unless `verify_signature` is false, as when replaying public data whose
    /// batch L1 verified; nonce; balance; packing), and the fee credited to account 0 at once
    /// (a batch credits it at its end: the state after a whole batch is the same). Refused
    /// operations leave the state unchanged and say why.
    pub fn apply(&mut self, op: &ZkOperation, verify_signature: bool) -> Result<(), String> {
        let max_token = 1u64 << self.token_depth;
        let token = op.token();
        if u64::from(token) >= max_token {
            return Err(format!("token {token} is beyond the balance tree ({max_token} tokens)"));
        }
        let failed = |e: super::CircuitError| e.to_string();
        match op {
            ZkOperation::Deposit(d) => {
                let index = match self.index_of(&d.to) {
                    Some(index) => index,
                    None if self.account_count() < self.capacity() => {
                        if !d.public_key.0.is_on_curve() {
                            return Err("the deposit's public key is not on BabyJubjub".into());
                        }
                        self.create(d.to, d.public_key).map_err(failed)?
                    }
                    None => return Err("the account tree is full".into()),
                };
                let account = &self.accounts[index as usize];
                let balance = account.balances.get(&token).copied().unwrap_or(0);
                let nonce = account.nonce;
                // A credit that would reach 2^128 is refused, as the circuit proves: no change
                // here, and L1 pays the amount back.
                match balance.checked_add(d.amount) {
                    Some(credited) => self.set(index, token, credited, nonce).map_err(failed),
                    None => Ok(()),
                }
            }
            ZkOperation::FullExit(e) => {
                let index = self
                    .index_of(&e.owner)
                    .ok_or_else(|| format!("{} has no account to exit", e.owner))?;
                let nonce = self.accounts[index as usize].nonce;
                self.set(index, token, 0, nonce).map_err(failed)
            }
            ZkOperation::Transfer(t) => {
                if PackedAmount::pack(t.amount, PackedAmount::AMOUNT_MANTISSA_BITS).is_none() {
                    return Err(format!(
                        "amount {} does not pack into a 19-bit mantissa and a decimal exponent",
                        t.amount
                    ));
                }
                let message = verify_signature.then(|| t.message(self.domain));
                self.check_debit(t.from, token, t.amount, t.fee, t.nonce, message, &t.signature)?;
                let to = self
                    .account(t.to)
                    .ok_or_else(|| format!("recipient account {} does not exist", t.to))?;
                let to_balance = to.balances.get(&token).copied().unwrap_or(0);
                to_balance.checked_add(t.amount).ok_or_else(|| {
                    format!("account {}'s balance of token {token} would exceed 2^128 - 1", t.to)
                })?;
                self.debit(t.from, token, t.amount, t.fee)?;
                let to = &self.accounts[t.to as usize];
                let (balance, nonce) =
                    (to.balances.get(&token).copied().unwrap_or(0) + t.amount, to.nonce);
                self.set(t.to, token, balance, nonce).map_err(failed)
            }
            ZkOperation::Withdrawal(w) => {
                let message = verify_signature.then(|| w.message(self.domain));
                self.check_debit(w.from, token, w.amount, w.fee, w.nonce, message, &w.signature)?;
                self.debit(w.from, token, w.amount, w.fee)
            }
        }
    }

    /// The checks of a signed debit: the account exists, the nonce is its next, the fee packs,
    /// the signature of `message` (when given) verifies, the balance covers amount and fee.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_debit(
        &self,
        from: u64,
        token: u32,
        amount: u128,
        fee: u128,
        nonce: u64,
        message: Option<Fr>,
        signature: &crate::eddsa::Signature,
    ) -> Result<(), String> {
        let account = self.account(from).ok_or_else(|| format!("account {from} does not exist"))?;
        if PackedAmount::pack(fee, PackedAmount::FEE_MANTISSA_BITS).is_none() {
            return Err(format!(
                "fee {fee} does not pack into a 3-bit mantissa and a decimal exponent"
            ));
        }
        if nonce != account.nonce {
            return Err(format!(
                "nonce {nonce} is not account {from}'s next nonce {}",
                account.nonce
            ));
        }
        if let Some(message) = message
            && !account.public_key.verify(message, signature)
        {
            return Err(format!("the signature does not verify under account {from}'s key"));
        }
        let balance = account.balances.get(&token).copied().unwrap_or(0);
        let total = amount.checked_add(fee).ok_or("amount plus fee exceeds 2^128 - 1")?;
        if total > balance {
            return Err(format!(
                "account {from}'s balance of token {token} is {balance}, below amount {amount} plus fee {fee}"
            ));
        }
        let operator = self.accounts[0].balances.get(&token).copied().unwrap_or(0);
        operator.checked_add(fee).ok_or("the fee account's balance would exceed 2^128 - 1")?;
        Ok(())
    }

    /// Debits `amount + fee` (checked), bumps the nonce, credits the fee to account 0.
    fn debit(&mut self, from: u64, token: u32, amount: u128, fee: u128) -> Result<(), String> {
        let failed = |e: super::CircuitError| e.to_string();
        let account = &self.accounts[from as usize];
        let (balance, nonce) =
            (account.balances.get(&token).copied().unwrap_or(0) - amount - fee, account.nonce + 1);
        self.set(from, token, balance, nonce).map_err(failed)?;
        if fee > 0 {
            let operator = &self.accounts[0];
            let (balance, nonce) =
                (operator.balances.get(&token).copied().unwrap_or(0) + fee, operator.nonce);
            self.set(0, token, balance, nonce).map_err(failed)?;
        }
        Ok(())
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

    /// The witness of the leaf at `index` (an account, or an empty leaf) and its balance of
    /// `token`, against [`Self::root`]: what a batch slot reads before its change.
    pub fn slot(&self, index: u64, token: u32) -> Result<AccountSlot> {
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
