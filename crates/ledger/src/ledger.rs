//! The ledger: accounts, the state tree over them, and the rules that change them.

use crate::{
    Account, AccountIndex, AccountLeaf, BatchOutput, Deposit, FEE_ACCOUNT, KeccakHasher,
    LedgerError, MAX_BALANCE, MerkleProof, OpKind, PriorityOp, Result, SparseMerkleTree,
    SparseProof, StateCommitment, TokenId, TreeHasher, Tx, VerifiedTx, WithdrawalRecord,
    WithdrawalTree,
    address::AddressTree,
    priority::token_bit,
    smt::{MAX_TREE_DEPTH, tree_levels},
    withdrawal::{MAX_WITHDRAWALS_PER_BATCH, check_room},
};
use alloy::primitives::map::AddressMap;
use ply_core::{Address, B256, U256};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use std::{
    collections::BTreeSet,
    fmt,
    sync::{Mutex, MutexGuard, PoisonError},
};

/// The version of the snapshot format written by `Ledger`'s `Serialize`.
///
/// Version 2 counts every priority operation in `queue_index` (version 1 counted deposits in
/// `deposit_count`) and keeps `last_timestamp`.
pub const SNAPSHOT_VERSION: u32 = 2;

/// The deepest state or balance tree a ledger supports (indices and token ids are `u32`).
pub const MAX_LEDGER_TREE_DEPTH: usize = 32;
const _: () = assert!(MAX_LEDGER_TREE_DEPTH <= MAX_TREE_DEPTH);

/// The shape of a ledger and its fee account: fixed at genesis, part of every snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LedgerConfig {
    /// Depth of the state tree (default 24).
    pub account_depth: usize,
    /// Depth of each account's balance tree (default 8: tokens 0 to 255).
    pub token_depth: usize,
    /// The operator's fee account, index 0, created at genesis; it receives every fee.
    pub fee_account: Address,
}

impl LedgerConfig {
    /// The default state tree depth.
    pub const DEFAULT_ACCOUNT_DEPTH: usize = 24;
    /// The default balance tree depth.
    pub const DEFAULT_TOKEN_DEPTH: usize = 8;

    /// The default shape (24, 8) with `fee_account` at index 0.
    pub fn new(fee_account: Address) -> Self {
        Self {
            account_depth: Self::DEFAULT_ACCOUNT_DEPTH,
            token_depth: Self::DEFAULT_TOKEN_DEPTH,
            fee_account,
        }
    }

    /// How many accounts the ledger holds: `2^account_depth - 1`.
    ///
    /// The last position stays empty: at depth 24 its index, `0xFFFFFF`, is the batch format's
    /// marker for "a new account follows", so no account may own it. The same rule holds at
    /// every depth, so that a ledger's capacity does not depend on who encodes its batches.
    pub fn account_capacity(&self) -> u64 {
        (1u64 << self.account_depth) - 1
    }

    /// The largest token id a balance tree holds, `2^token_depth - 1`.
    pub fn max_token(&self) -> u64 {
        (1u64 << self.token_depth) - 1
    }

    /// Checks the depths (1 to 32).
    pub fn validate(&self) -> Result<()> {
        for (tree, depth) in
            [("state tree", self.account_depth), ("balance tree", self.token_depth)]
        {
            if depth == 0 || depth > MAX_LEDGER_TREE_DEPTH {
                return Err(LedgerError::InvalidDepth { tree, depth, max: MAX_LEDGER_TREE_DEPTH });
            }
        }
        Ok(())
    }
}

/// What applying a deposit or transaction did, for receipts and for the batch encoder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// The account debited (`None` for a deposit).
    pub sender: Option<AccountIndex>,
    /// The L2 account credited (`None` for a withdrawal, whose recipient is on L1).
    pub recipient: Option<AccountIndex>,
    /// The account this created, if the recipient had none (it is then also `recipient`).
    pub created_account: Option<AccountIndex>,
    /// The withdrawal a withdrawal transaction added to the current batch.
    pub withdrawal: Option<WithdrawalRecord>,
}

/// An account's leaf in the state tree with its siblings: proves the account (or, with `leaf:
/// None`, that the position is empty) against a state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProof {
    /// The account's position.
    pub index: AccountIndex,
    /// The leaf's fields, or `None` for an empty position.
    pub leaf: Option<AccountLeaf>,
    /// The siblings of the leaf's path (`account_depth` of them in a binary tree), leaf level
    /// first.
    pub proof: MerkleProof,
}

impl AccountProof {
    /// The leaf hash: `hash_account(..)` of the fields, or the empty leaf.
    pub fn leaf_hash<H: TreeHasher>(&self) -> B256 {
        self.leaf.map_or(B256::ZERO, |leaf| leaf.hash::<H>())
    }

    /// Whether the proof shows the leaf at `index` under `state_root` in a state tree of
    /// `account_depth` (the depth is checked: a shorter proof would pass off an inner node).
    pub fn verify<H: TreeHasher>(&self, state_root: B256, account_depth: usize) -> bool {
        self.proof.has_depth::<H>(account_depth)
            && self.proof.verify::<H>(state_root, self.leaf_hash::<H>(), u64::from(self.index))
    }
}

/// One balance of one account, proven against a state root: the balance tree path to the
/// account's `balances_root`, then the account's path to the state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceProof {
    /// The account, proven against the state root.
    pub account: AccountProof,
    /// The token.
    pub token: TokenId,
    /// The balance (zero for an absent one).
    pub balance: U256,
    /// The siblings in the account's balance tree (`token_depth` of them in a binary tree),
    /// leaf level first.
    pub proof: MerkleProof,
}

impl BalanceProof {
    /// Whether the proof shows `balance` of `token` in account `account.index` under
    /// `state_root`, for a ledger of the given depths.
    pub fn verify<H: TreeHasher>(
        &self,
        state_root: B256,
        account_depth: usize,
        token_depth: usize,
    ) -> bool {
        let Some(leaf) = self.account.leaf else { return false };
        self.balance <= MAX_BALANCE
            && self.proof.has_depth::<H>(token_depth)
            && self.proof.verify::<H>(
                leaf.balances_root,
                H::balance_leaf(self.balance),
                u64::from(self.token),
            )
            && self.account.verify::<H>(state_root, account_depth)
    }
}

/// The tree side of the ledger: derived from the accounts, updated lazily.
struct Trees<H> {
    state: SparseMerkleTree<H>,
    /// The address tree (always Keccak), hashed lazily too.
    address: AddressTree,
    /// Empty subtree roots of a balance tree.
    balance_empty: Vec<B256>,
    /// Accounts changed since the last commit; may repeat until compacted.
    dirty: Vec<AccountIndex>,
    /// Length at which `dirty` is deduplicated, so it stays proportional to distinct accounts.
    compact_at: usize,
    /// Scratch space for leaves and balance roots.
    leaves: Vec<(u64, B256)>,
    buf: Vec<(u64, B256)>,
}

const DIRTY_COMPACT_MIN: usize = 4096;

impl<H> Clone for Trees<H> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            address: self.address.clone(),
            balance_empty: self.balance_empty.clone(),
            dirty: self.dirty.clone(),
            compact_at: self.compact_at,
            leaves: Vec::new(),
            buf: Vec::new(),
        }
    }
}

impl<H: TreeHasher> Trees<H> {
    fn new(config: &LedgerConfig) -> Result<Self> {
        Ok(Self {
            state: SparseMerkleTree::new(config.account_depth)?,
            address: AddressTree::default(),
            balance_empty: H::empty_hashes(tree_levels::<H>(config.token_depth)?),
            dirty: Vec::new(),
            compact_at: DIRTY_COMPACT_MIN,
            leaves: Vec::new(),
            buf: Vec::new(),
        })
    }

    #[inline]
    fn touch(&mut self, index: AccountIndex) {
        self.dirty.push(index);
        if self.dirty.len() >= self.compact_at {
            self.dirty.sort_unstable();
            self.dirty.dedup();
            self.compact_at = DIRTY_COMPACT_MIN.max(2 * self.dirty.len());
        }
    }

    /// Brings the state tree up to date with `accounts`: for each changed account, its balance
    /// root (one hash per ancestor of a non-zero balance), its leaf, then every changed path
    /// of the state tree, each shared ancestor hashed once.
    fn commit(&mut self, accounts: &[Account]) {
        if self.dirty.is_empty() {
            return;
        }
        self.dirty.sort_unstable();
        self.dirty.dedup();
        self.leaves.clear();
        for &index in &self.dirty {
            let account = &accounts[index as usize];
            let balances_root = account.balances_root_with::<H>(&self.balance_empty, &mut self.buf);
            self.leaves.push((
                u64::from(index),
                H::hash_account(account.address, account.nonce, balances_root),
            ));
        }
        self.state.update_sorted(&self.leaves);
        self.dirty.clear();
        self.compact_at = DIRTY_COMPACT_MIN;
    }

    fn leaf_of(&mut self, account: &Account) -> AccountLeaf {
        AccountLeaf {
            address: account.address,
            nonce: account.nonce,
            balances_root: account.balances_root_with::<H>(&self.balance_empty, &mut self.buf),
        }
    }
}

/// The balance changes a deposit or transaction will make, computed and checked in full before
/// anything is written: that is what makes `apply` atomic.
struct Plan {
    token: TokenId,
    /// An account to create at the next index.
    create: Option<Address>,
    /// New balances of `token`, in order; at most sender, recipient and fee account.
    writes: [(AccountIndex, U256); 3],
    len: usize,
    /// The sender, whose nonce increments.
    sender: Option<AccountIndex>,
    recipient: Option<AccountIndex>,
    withdrawal: Option<(Address, Address, U256)>,
    /// A deposit: its token becomes known.
    deposit: bool,
    /// A priority operation: the queue index moves on.
    queued: bool,
    /// The account a forced operation debits (its nonce does not move).
    debited: Option<AccountIndex>,
}

impl Plan {
    fn new(token: TokenId) -> Self {
        Self {
            token,
            create: None,
            writes: [(0, U256::ZERO); 3],
            len: 0,
            sender: None,
            recipient: None,
            withdrawal: None,
            deposit: false,
            queued: false,
            debited: None,
        }
    }

    /// The planned balance of `account`, if a write is planned.
    fn planned(&self, account: AccountIndex) -> Option<U256> {
        self.writes[..self.len].iter().rev().find(|(a, _)| *a == account).map(|(_, b)| *b)
    }

    fn write(&mut self, account: AccountIndex, balance: U256) {
        self.writes[self.len] = (account, balance);
        self.len += 1;
    }
}

/// The rollup ledger: accounts with balances and nonces, committed to by a sparse Merkle state
/// tree over the hasher `H` (`docs/rollup.md`).
///
/// A pure, deterministic state machine: no I/O, no clock, no threads. Deposits and verified
/// transactions go in through [`apply_deposit`](Self::apply_deposit) and
/// [`apply`](Self::apply); each either applies in full or changes nothing.
///
/// The state tree is maintained lazily: `apply` only records which accounts it touched (well
/// under a microsecond), and the next [`root`](Self::root) or proof rehashes each touched
/// account once — its balance tree, its leaf, and its path, shared ancestors once. A sequencer
/// that asks for the root once per block pays for each busy account (the fee account above all)
/// once per block, not once per transaction. `root` takes `&self`; the tree sits behind a
/// mutex, uncontended in a single-threaded owner.
pub struct Ledger<H = KeccakHasher> {
    config: LedgerConfig,
    accounts: Vec<Account>,
    by_address: AddressMap<AccountIndex>,
    known_tokens: BTreeSet<TokenId>,
    queue_index: u64,
    last_timestamp: u64,
    batch_index: u64,
    withdrawals: Vec<WithdrawalRecord>,
    trees: Mutex<Trees<H>>,
}

impl<H: TreeHasher> Ledger<H> {
    /// A ledger at genesis: only the fee account, at index 0, with nonce 0 and no balances;
    /// batch 0, no deposit consumed.
    pub fn new(config: LedgerConfig) -> Result<Self> {
        config.validate()?;
        let mut trees = Trees::new(&config)?;
        let mut by_address = AddressMap::default();
        by_address.insert(config.fee_account, FEE_ACCOUNT);
        trees.touch(FEE_ACCOUNT);
        trees.address.insert(config.fee_account, FEE_ACCOUNT);
        Ok(Self {
            accounts: vec![Account::new(config.fee_account)],
            config,
            by_address,
            known_tokens: BTreeSet::new(),
            queue_index: 0,
            last_timestamp: 0,
            batch_index: 0,
            withdrawals: Vec::new(),
            trees: Mutex::new(trees),
        })
    }

    /// The ledger's shape.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// The state root: the root of the state tree over every account's leaf.
    ///
    /// Brings the tree up to date first (`O(depth)` per account touched since the last call).
    pub fn root(&self) -> B256 {
        let mut trees = self.lock();
        trees.commit(&self.accounts);
        trees.state.root()
    }

    /// The number of accounts (the next account gets this index).
    pub fn account_count(&self) -> u64 {
        self.accounts.len() as u64
    }

    /// The accounts, by index.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The account at `index`.
    pub fn account(&self, index: AccountIndex) -> Option<&Account> {
        self.accounts.get(index as usize)
    }

    /// The index of the account of `address`.
    pub fn index_of(&self, address: &Address) -> Option<AccountIndex> {
        self.by_address.get(address).copied()
    }

    /// The account of `address`.
    pub fn account_of(&self, address: &Address) -> Option<&Account> {
        self.index_of(address).map(|index| &self.accounts[index as usize])
    }

    /// The balance of `token` held by `address` (zero without an account).
    pub fn balance(&self, address: &Address, token: TokenId) -> U256 {
        self.account_of(address).map_or(U256::ZERO, |account| account.balance(token))
    }

    /// The nonce the next transaction of `address` must carry (0 without an account, which is
    /// what its first transaction will need once it has one).
    pub fn next_nonce(&self, address: &Address) -> u64 {
        self.account_of(address).map_or(0, |account| account.nonce)
    }

    /// The tokens the ledger knows: those of which a deposit was applied.
    pub fn known_tokens(&self) -> &BTreeSet<TokenId> {
        &self.known_tokens
    }

    /// The number of L1 priority operations (deposits and forced transactions) consumed,
    /// applied or skipped: the queue index of the next.
    pub fn queue_index(&self) -> u64 {
        self.queue_index
    }

    /// The timestamp of the last L2 block header read (0 at genesis).
    pub fn last_timestamp(&self) -> u64 {
        self.last_timestamp
    }

    /// Starts an L2 block at `timestamp`, which must not be below the last one's.
    pub fn begin_block(&mut self, timestamp: u64) -> Result<()> {
        if timestamp < self.last_timestamp {
            return Err(LedgerError::TimestampDecreases { timestamp, last: self.last_timestamp });
        }
        self.last_timestamp = timestamp;
        Ok(())
    }

    /// The known tokens as the commitment's bitmap: bit `t` set when token `t` is known (only
    /// tokens below 256 have a bit; the Keccak rollup's balance trees hold no others).
    pub fn tokens(&self) -> U256 {
        let mut bitmap = U256::ZERO;
        for bit in self.known_tokens.iter().filter_map(|t| token_bit(*t)) {
            bitmap.set_bit(bit, true);
        }
        bitmap
    }

    /// The root of the address tree (hashing the accounts created since the last call).
    pub fn address_root(&self) -> B256 {
        self.lock().address.root()
    }

    /// The compressed proof of the address-tree leaf of `address` (`index + 1`, or 0 when it
    /// has no account) against [`address_root`](Self::address_root).
    pub fn address_proof(&self, address: &Address) -> SparseProof {
        self.lock().address.proof(address)
    }

    /// The state commitment: state root, address root, account count, known tokens, queue
    /// index and last timestamp (`docs/rollup.md`, "The state commitment").
    pub fn commitment(&self) -> StateCommitment {
        StateCommitment {
            stateRoot: self.root(),
            addressRoot: self.address_root(),
            accountCount: self.account_count(),
            tokens: self.tokens(),
            queueIndex: self.queue_index,
            lastTimestamp: self.last_timestamp,
        }
    }

    /// The index of the batch being built.
    pub fn batch_index(&self) -> u64 {
        self.batch_index
    }

    /// The withdrawals of the current batch, in execution order.
    pub fn withdrawals(&self) -> &[WithdrawalRecord] {
        &self.withdrawals
    }

    /// The withdrawal tree of the current batch.
    pub fn withdrawal_tree(&self) -> WithdrawalTree {
        WithdrawalTree::new(&self.withdrawals)
            .expect("the ledger keeps withdrawals within the tree")
    }

    /// The sum of every account's balance of `token` (`O(accounts)`): deposits minus
    /// withdrawals, since transfers and fees only move it.
    pub fn total_supply(&self, token: TokenId) -> U256 {
        self.accounts.iter().map(|account| account.balance(token)).sum()
    }

    /// Applies a deposit from the L1 queue: credits `to`, creating its account if needed, and
    /// makes the token known. Deposits must come in queue order.
    ///
    /// Refused (and nothing changes) when the token does not fit in a balance tree, the credit
    /// would overflow, or the state tree is full. The L1 has consumed the deposit all the same:
    /// pass it to [`skip_deposit`](Self::skip_deposit) to move past it.
    pub fn apply_deposit(&mut self, deposit: &Deposit) -> Result<Effects> {
        self.apply_op(deposit.queue_index, &deposit.op())
    }

    /// Applies the priority operation at `queue_index` of the L1 queue (`docs/rollup.md`,
    /// "Priority operations"): a deposit as [`apply_deposit`](Self::apply_deposit); a forced
    /// transfer moves `amount` from `from`'s account to `to` (creating it); a forced
    /// withdrawal debits `from`'s account and records a withdrawal to the L1 address `to`.
    /// Forced operations pay no fee and leave the nonce alone. Operations must come in queue
    /// order.
    ///
    /// Atomic: when refused nothing changes; pass the operation to
    /// [`skip_op`](Self::skip_op) to move past it.
    pub fn apply_op(&mut self, queue_index: u64, op: &PriorityOp) -> Result<Effects> {
        let plan = self.plan_op(queue_index, op)?;
        Ok(self.commit_plan(plan))
    }

    /// Moves past the priority operation at `queue_index`, which
    /// [`apply_op`](Self::apply_op) refused. Only for refused operations: skipping a valid
    /// deposit loses the depositor's funds on L2.
    pub fn skip_op(&mut self, queue_index: u64) -> Result<()> {
        self.check_queue_order(queue_index)?;
        self.queue_index += 1;
        Ok(())
    }

    /// Moves past a deposit that [`apply_deposit`](Self::apply_deposit) refused, so that the
    /// next one can apply. Its funds stay in the L1 bridge.
    ///
    /// Only for refused deposits: skipping a valid one loses the depositor's funds on L2.
    pub fn skip_deposit(&mut self, deposit: &Deposit) -> Result<()> {
        self.skip_op(deposit.queue_index)
    }

    /// Applies a verified transfer or withdrawal (`docs/rollup.md`, "Transactions"): checks the
    /// sender's account, nonce, token and balance, and the credits against overflow; debits
    /// `amount + fee`, credits `amount` to the recipient (creating its account) or records the
    /// withdrawal, credits `fee` to account 0, and increments the sender's nonce.
    ///
    /// Atomic: on error nothing changes.
    pub fn apply(&mut self, tx: &VerifiedTx) -> Result<Effects> {
        let plan = self.plan_tx(tx.tx())?;
        Ok(self.commit_plan(plan))
    }

    /// Whether [`apply`](Self::apply) would accept `tx` now, without applying it.
    pub fn check(&self, tx: &VerifiedTx) -> Result<()> {
        self.plan_tx(tx.tx()).map(drop)
    }

    /// Ends the current batch: returns its state root, withdrawal root and withdrawals, and
    /// starts the next batch (index + 1, no withdrawals).
    pub fn finish_batch(&mut self) -> BatchOutput {
        let withdrawals = std::mem::take(&mut self.withdrawals);
        let output = BatchOutput {
            batch_index: self.batch_index,
            state_root: self.root(),
            withdrawal_root: WithdrawalTree::new(&withdrawals)
                .expect("the ledger keeps withdrawals within the tree")
                .root(),
            withdrawals,
        };
        self.batch_index += 1;
        output
    }

    /// The proof of the leaf at `index` against [`root`](Self::root): the account's fields, or
    /// an empty leaf for a position no account holds yet.
    pub fn account_proof(&self, index: AccountIndex) -> Result<AccountProof> {
        let mut trees = self.lock();
        trees.commit(&self.accounts);
        let proof = trees.state.proof(u64::from(index))?;
        let leaf = self.accounts.get(index as usize).map(|account| trees.leaf_of(account));
        Ok(AccountProof { index, leaf, proof })
    }

    /// The proof of the balance of `token` in account `index` against [`root`](Self::root).
    pub fn balance_proof(&self, index: AccountIndex, token: TokenId) -> Result<BalanceProof> {
        let account = self
            .account(index)
            .ok_or(LedgerError::NoSuchAccount { index, count: self.account_count() })?;
        if u64::from(token) > self.config.max_token() {
            return Err(LedgerError::IndexOutOfRange {
                index: u64::from(token),
                depth: self.config.token_depth,
            });
        }
        let balances = SparseMerkleTree::<H>::from_leaves(
            self.config.token_depth,
            account.balances.iter().map(|(t, amount)| (u64::from(*t), H::balance_leaf(*amount))),
        )?;
        Ok(BalanceProof {
            account: self.account_proof(index)?,
            token,
            balance: account.balance(token),
            proof: balances.proof(u64::from(token))?,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Trees<H>> {
        // The tree is rebuilt from nothing but the accounts; a panic mid-commit leaves dirty
        // marks in place, so the next commit repairs it.
        self.trees.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn trees_mut(&mut self) -> &mut Trees<H> {
        self.trees.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_queue_order(&self, queue_index: u64) -> Result<()> {
        if queue_index != self.queue_index {
            return Err(LedgerError::DepositOutOfOrder { queue_index, expected: self.queue_index });
        }
        Ok(())
    }

    /// The index the next new account would get.
    fn next_index(&self) -> Result<AccountIndex> {
        let count = self.account_count();
        if count >= self.config.account_capacity() {
            return Err(LedgerError::TreeFull { capacity: self.config.account_capacity() });
        }
        Ok(count as AccountIndex)
    }

    /// The recipient's index, planning its creation if it has no account.
    fn plan_recipient(&self, plan: &mut Plan, to: Address) -> Result<AccountIndex> {
        match self.index_of(&to) {
            Some(index) => Ok(index),
            None => {
                let index = self.next_index()?;
                plan.create = Some(to);
                Ok(index)
            }
        }
    }

    /// Plans a credit of `amount` to `account`, seeing the writes planned before it.
    fn plan_credit(
        &self,
        plan: &mut Plan,
        account: AccountIndex,
        address: Address,
        amount: U256,
    ) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let balance = plan.planned(account).unwrap_or_else(|| {
            self.accounts.get(account as usize).map_or(U256::ZERO, |a| a.balance(plan.token))
        });
        match balance.checked_add(amount) {
            Some(sum) if sum <= MAX_BALANCE => {
                plan.write(account, sum);
                Ok(())
            }
            _ => Err(LedgerError::BalanceOverflow { address, token: plan.token, balance, amount }),
        }
    }

    fn plan_op(&self, queue_index: u64, op: &PriorityOp) -> Result<Plan> {
        self.check_queue_order(queue_index)?;
        let kind = op.op_kind().ok_or(LedgerError::UnknownOpKind { kind: op.kind })?;
        let mut plan = Plan::new(op.token);
        plan.queued = true;
        if kind == OpKind::Deposit {
            if u64::from(op.token) > self.config.max_token() {
                return Err(LedgerError::TokenOutOfRange {
                    token: op.token,
                    token_depth: self.config.token_depth,
                    max: self.config.max_token(),
                });
            }
            plan.deposit = true;
            let recipient = self.plan_recipient(&mut plan, op.to)?;
            self.plan_credit(&mut plan, recipient, op.to, op.amount)?;
            plan.recipient = Some(recipient);
            return Ok(plan);
        }
        // A forced operation: the L1 sender's own account pays, without fee or nonce.
        let sender =
            self.index_of(&op.from).ok_or(LedgerError::UnknownAccount { address: op.from })?;
        if !self.known_tokens.contains(&op.token) {
            return Err(LedgerError::UnknownToken { token: op.token });
        }
        let have = self.accounts[sender as usize].balance(op.token);
        if have < op.amount {
            return Err(LedgerError::InsufficientBalance {
                address: op.from,
                token: op.token,
                have,
                need: op.amount,
            });
        }
        plan.debited = Some(sender);
        plan.write(sender, have - op.amount);
        if kind == OpKind::ForcedTransfer {
            let recipient = self.plan_recipient(&mut plan, op.to)?;
            self.plan_credit(&mut plan, recipient, op.to, op.amount)?;
            plan.recipient = Some(recipient);
        } else {
            check_room(self.withdrawals.len())?;
            plan.withdrawal = Some((op.from, op.to, op.amount));
        }
        Ok(plan)
    }

    fn plan_tx(&self, tx: &Tx) -> Result<Plan> {
        let from = tx.sender();
        let sender = self.index_of(&from).ok_or(LedgerError::UnknownAccount { address: from })?;
        let account = &self.accounts[sender as usize];
        let nonce = tx.nonce();
        if nonce < account.nonce {
            return Err(LedgerError::NonceTooLow { nonce, expected: account.nonce });
        }
        if nonce > account.nonce {
            return Err(LedgerError::NonceGap { nonce, expected: account.nonce });
        }
        if nonce == u64::MAX {
            return Err(LedgerError::NonceExhausted { address: from });
        }
        let token = tx.token();
        if !self.known_tokens.contains(&token) {
            return Err(LedgerError::UnknownToken { token });
        }
        let (amount, fee) = (tx.amount(), tx.fee());
        let have = account.balance(token);
        let need = amount.checked_add(fee);
        let need = match need {
            Some(need) if need <= have => need,
            _ => {
                return Err(LedgerError::InsufficientBalance {
                    address: from,
                    token,
                    have,
                    need: amount.saturating_add(fee),
                });
            }
        };

        let mut plan = Plan::new(token);
        plan.sender = Some(sender);
        plan.write(sender, have - need);
        match tx {
            Tx::Transfer(transfer) => {
                let recipient = self.plan_recipient(&mut plan, transfer.to)?;
                self.plan_credit(&mut plan, recipient, transfer.to, amount)?;
                plan.recipient = Some(recipient);
            }
            Tx::Withdrawal(withdrawal) => {
                check_room(self.withdrawals.len())?;
                plan.withdrawal = Some((from, withdrawal.to, amount));
            }
        }
        self.plan_credit(&mut plan, FEE_ACCOUNT, self.config.fee_account, fee)?;
        Ok(plan)
    }

    /// Writes a checked plan. Cannot fail.
    fn commit_plan(&mut self, plan: Plan) -> Effects {
        let mut effects = Effects {
            sender: plan.sender.or(plan.debited),
            recipient: plan.recipient,
            created_account: None,
            withdrawal: None,
        };
        if let Some(address) = plan.create {
            let index = self.accounts.len() as AccountIndex;
            self.accounts.push(Account::new(address));
            self.by_address.insert(address, index);
            let trees = self.trees_mut();
            trees.touch(index);
            trees.address.insert(address, index);
            effects.created_account = Some(index);
        }
        for &(index, balance) in &plan.writes[..plan.len] {
            let balances = &mut self.accounts[index as usize].balances;
            if balance.is_zero() {
                balances.remove(&plan.token);
            } else {
                balances.insert(plan.token, balance);
            }
            self.trees_mut().touch(index);
        }
        if let Some(sender) = plan.sender {
            self.accounts[sender as usize].nonce += 1;
            self.trees_mut().touch(sender);
        }
        if let Some((from, to, amount)) = plan.withdrawal {
            let record = WithdrawalRecord {
                batch_index: self.batch_index,
                position: self.withdrawals.len() as u32,
                from,
                to,
                token: plan.token,
                amount,
            };
            self.withdrawals.push(record.clone());
            effects.withdrawal = Some(record);
        }
        if plan.deposit {
            self.known_tokens.insert(plan.token);
        }
        if plan.queued {
            self.queue_index += 1;
        }
        effects
    }

    fn from_snapshot(snapshot: Snapshot) -> Result<Self> {
        let Snapshot {
            version,
            config,
            accounts,
            known_tokens,
            queue_index,
            last_timestamp,
            batch_index,
            withdrawals,
        } = snapshot;
        let invalid = |reason: String| LedgerError::InvalidSnapshot { reason };
        if version != SNAPSHOT_VERSION {
            return Err(invalid(format!(
                "version {version} is not the supported version {SNAPSHOT_VERSION}"
            )));
        }
        config.validate()?;
        match accounts.first() {
            Some(first) if first.address == config.fee_account => {}
            _ => return Err(invalid("account 0 is not the configured fee account".to_owned())),
        }
        if accounts.len() as u64 > config.account_capacity() {
            return Err(invalid(format!(
                "{} accounts exceed the state tree's capacity {}",
                accounts.len(),
                config.account_capacity()
            )));
        }
        if let Some(token) = known_tokens.iter().find(|t| u64::from(**t) > config.max_token()) {
            return Err(invalid(format!("known token {token} does not fit in a balance tree")));
        }
        let mut by_address = AddressMap::default();
        for (index, account) in accounts.iter().enumerate() {
            if by_address.insert(account.address, index as AccountIndex).is_some() {
                return Err(invalid(format!("address {} has two accounts", account.address)));
            }
            for (token, balance) in &account.balances {
                if !known_tokens.contains(token) {
                    return Err(invalid(format!(
                        "account {index} holds token {token}, which is not known"
                    )));
                }
                if balance.is_zero() || *balance > MAX_BALANCE {
                    return Err(invalid(format!(
                        "account {index} holds {balance} of token {token}: balances are stored \
                         only when between 1 and 2^128 - 1"
                    )));
                }
            }
        }
        if withdrawals.len() as u64 > MAX_WITHDRAWALS_PER_BATCH {
            return Err(invalid(format!("{} withdrawals exceed a batch", withdrawals.len())));
        }
        for (position, record) in withdrawals.iter().enumerate() {
            if record.position as usize != position || record.batch_index != batch_index {
                return Err(invalid(format!(
                    "withdrawal {position} is recorded as withdrawal {} of batch {}, expected \
                     batch {batch_index}",
                    record.position, record.batch_index
                )));
            }
        }
        let mut trees = Trees::<H>::new(&config)?;
        trees.dirty = (0..accounts.len() as AccountIndex).collect();
        trees.commit(&accounts);
        for (index, account) in accounts.iter().enumerate() {
            trees.address.insert(account.address, index as AccountIndex);
        }
        Ok(Self {
            config,
            accounts,
            by_address,
            known_tokens,
            queue_index,
            last_timestamp,
            batch_index,
            withdrawals,
            trees: Mutex::new(trees),
        })
    }
}

impl<H> Clone for Ledger<H> {
    fn clone(&self) -> Self {
        let trees = self.trees.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Self {
            config: self.config.clone(),
            accounts: self.accounts.clone(),
            by_address: self.by_address.clone(),
            known_tokens: self.known_tokens.clone(),
            queue_index: self.queue_index,
            last_timestamp: self.last_timestamp,
            batch_index: self.batch_index,
            withdrawals: self.withdrawals.clone(),
            trees: Mutex::new(trees),
        }
    }
}

impl<H: TreeHasher> fmt::Debug for Ledger<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("hasher", &H::NAME)
            .field("config", &self.config)
            .field("accounts", &self.accounts.len())
            .field("known_tokens", &self.known_tokens)
            .field("queue_index", &self.queue_index)
            .field("last_timestamp", &self.last_timestamp)
            .field("batch_index", &self.batch_index)
            .field("withdrawals", &self.withdrawals.len())
            .finish_non_exhaustive()
    }
}

/// The persisted form of a ledger (version [`SNAPSHOT_VERSION`]): the accounts and counters
/// only. The trees are derived data, rebuilt on load (one hash per tree node).
#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    config: &'a LedgerConfig,
    accounts: &'a [Account],
    known_tokens: &'a BTreeSet<TokenId>,
    queue_index: u64,
    last_timestamp: u64,
    batch_index: u64,
    withdrawals: &'a [WithdrawalRecord],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    version: u32,
    config: LedgerConfig,
    accounts: Vec<Account>,
    known_tokens: BTreeSet<TokenId>,
    queue_index: u64,
    last_timestamp: u64,
    batch_index: u64,
    withdrawals: Vec<WithdrawalRecord>,
}

/// Writes a versioned snapshot: configuration, accounts, known tokens, counters and the current
/// batch's withdrawals.
impl<H: TreeHasher> Serialize for Ledger<H> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        SnapshotRef {
            version: SNAPSHOT_VERSION,
            config: &self.config,
            accounts: &self.accounts,
            known_tokens: &self.known_tokens,
            queue_index: self.queue_index,
            last_timestamp: self.last_timestamp,
            batch_index: self.batch_index,
            withdrawals: &self.withdrawals,
        }
        .serialize(serializer)
    }
}

/// Reads a snapshot, checks that it describes a consistent ledger and rebuilds the state tree.
impl<'de, H: TreeHasher> Deserialize<'de> for Ledger<H> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let snapshot = Snapshot::deserialize(deserializer)?;
        Self::from_snapshot(snapshot).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledgers_can_be_shared_and_sent() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<Ledger<KeccakHasher>>();
        shareable::<Effects>();
        shareable::<AccountProof>();
        shareable::<BalanceProof>();
    }

    #[test]
    fn dirty_marks_stay_proportional_to_distinct_accounts() {
        let mut ledger = Ledger::<KeccakHasher>::new(LedgerConfig::new(Address::ZERO)).unwrap();
        ledger.root();
        for _ in 0..100_000 {
            ledger.trees_mut().touch(FEE_ACCOUNT);
        }
        assert!(ledger.trees_mut().dirty.len() <= DIRTY_COMPACT_MIN);
        let root = ledger.root();
        assert!(ledger.trees_mut().dirty.is_empty());
        assert_eq!(root, ledger.root());
    }
}
