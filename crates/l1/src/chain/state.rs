//! World state: the revm database, per-block undo records, historical views and the state root.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount, root::storage_root_unhashed};
use revm::{
    database::{CacheDB, EmptyDB},
    database_interface::DatabaseRef,
    state::{AccountInfo, Bytecode, EvmState},
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The live world state.
pub(crate) type WorldState = CacheDB<EmptyDB>;

/// What a block changed, as the values *before* the block: enough to undo the block
/// (`evm_revert`) and to view the state as of an older block (`eth_call` at a block tag).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StateDiff {
    /// Accounts touched by the block and their info before it (`None`: did not exist).
    pub(crate) accounts: BTreeMap<Address, Option<AccountInfo>>,
    /// Storage slots written by the block and their values before it.
    #[serde(with = "storage_list")]
    pub(crate) storage: BTreeMap<(Address, U256), U256>,
}

/// JSON maps need string keys: the storage undo record is stored as a list of
/// `(address, slot, value)` instead.
mod storage_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<(Address, U256), U256>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter().map(|((a, k), v)| (a, k, v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<(Address, U256), U256>, D::Error> {
        let list: Vec<(Address, U256, U256)> = Deserialize::deserialize(deserializer)?;
        Ok(list.into_iter().map(|(a, k, v)| ((a, k), v)).collect())
    }
}

impl StateDiff {
    /// Records the pre-state of what `changes` is about to modify in `db`. Only the first
    /// record of a key in a block is kept: it is the value before the block.
    pub(crate) fn record(&mut self, db: &WorldState, changes: &EvmState) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            self.accounts
                .entry(*address)
                .or_insert_with(|| db.cache.accounts.get(address).and_then(|a| a.info()));
            for (slot, value) in &account.storage {
                if value.is_changed() {
                    self.storage.entry((*address, *slot)).or_insert(value.original_value());
                }
            }
        }
    }

    /// Restores the pre-block values into `db`.
    pub(crate) fn undo(&self, db: &mut WorldState) {
        for (address, info) in &self.accounts {
            match info {
                Some(info) => {
                    let account = db.cache.accounts.entry(*address).or_default();
                    account.info = info.clone();
                    account.account_state = revm::database::AccountState::None;
                }
                None => {
                    db.cache.accounts.remove(address);
                }
            }
        }
        for ((address, slot), value) in &self.storage {
            if let Some(account) = db.cache.accounts.get_mut(address) {
                if value.is_zero() {
                    account.storage.remove(slot);
                } else {
                    account.storage.insert(*slot, *value);
                }
            }
        }
    }
}

/// A read-only view of the state as of an older block: the live state with the undo records of
/// every later block laid over it (the oldest pre-value of each key wins).
pub(crate) struct HistoricalState<'a> {
    live: &'a WorldState,
    accounts: HashMap<Address, Option<AccountInfo>>,
    storage: HashMap<(Address, U256), U256>,
}

impl<'a> HistoricalState<'a> {
    /// `later` are the undo records of the blocks after the wanted one, newest first.
    pub(crate) fn new<'d>(
        live: &'a WorldState,
        later: impl Iterator<Item = &'d StateDiff>,
    ) -> Self {
        let mut accounts = HashMap::new();
        let mut storage = HashMap::new();
        for diff in later {
            for (k, v) in &diff.accounts {
                accounts.insert(*k, v.clone());
            }
            for (k, v) in &diff.storage {
                storage.insert(*k, *v);
            }
        }
        Self { live, accounts, storage }
    }
}

impl DatabaseRef for HistoricalState<'_> {
    type Error = std::convert::Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        match self.accounts.get(&address) {
            Some(info) => Ok(info.clone()),
            None => self.live.basic_ref(address),
        }
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.live.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        match self.storage.get(&(address, index)) {
            Some(value) => Ok(*value),
            None => match self.accounts.get(&address) {
                // The account did not exist then: it had no storage.
                Some(None) => Ok(U256::ZERO),
                _ => self.live.storage_ref(address, index),
            },
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.live.block_hash_ref(number)
    }
}

/// Computes the Merkle-Patricia state root of `db` incrementally.
///
/// The hashed key and encoded leaf of each account are kept, sorted; a block re-encodes only the
/// accounts it touched. Because hashed keys are uniform, a large state's trie has branch nodes at
/// depths 0 and 1; the hashes of the 256 subtries below depth 2 are cached, and a block
/// rehashes only the subtries it touched plus the branch nodes above them. Wherever the trie is
/// not shaped like that (small states, a lone subtrie) the root falls back to hashing the
/// affected keys with alloy's `HashBuilder`, so the result is always the exact state root.
#[derive(Debug, Clone)]
pub(crate) struct StateRootCache {
    leaves: BTreeMap<B256, Vec<u8>>,
    /// Hash of the subtrie under each populated two-nibble prefix (the key's first byte).
    buckets: BTreeMap<u8, B256>,
    /// Hash of the node under each populated one-nibble prefix.
    halves: [Option<B256>; 16],
    /// First bytes whose bucket must be rehashed.
    dirty: std::collections::BTreeSet<u8>,
    /// Set when the cache no longer matches the state (after a revert): rebuild everything.
    stale: bool,
}

impl Default for StateRootCache {
    /// An empty cache, stale so that the first root is built from the whole state.
    fn default() -> Self {
        Self {
            leaves: BTreeMap::new(),
            buckets: BTreeMap::new(),
            halves: [None; 16],
            dirty: Default::default(),
            stale: true,
        }
    }
}

/// The root of the trie holding `leaves` with the first `skip` nibbles of their keys removed:
/// the hash of the node at depth `skip` when all keys share those nibbles.
fn subtrie_root<'a>(leaves: impl Iterator<Item = (&'a B256, &'a Vec<u8>)>, skip: usize) -> B256 {
    let mut hb = alloy_trie::HashBuilder::default();
    for (key, leaf) in leaves {
        hb.add_leaf(alloy_trie::Nibbles::unpack(key).slice(skip..), leaf);
    }
    hb.root()
}

/// The hash of a branch node with the given children and no value.
fn branch_hash(children: impl Iterator<Item = Option<B256>>) -> B256 {
    let mut payload = Vec::with_capacity(16 * 33 + 1);
    for child in children {
        match child {
            Some(hash) => {
                payload.push(0xa0);
                payload.extend_from_slice(hash.as_slice());
            }
            None => payload.push(0x80),
        }
    }
    payload.push(0x80);
    let mut node = Vec::with_capacity(payload.len() + 3);
    alloy::rlp::Header { list: true, payload_length: payload.len() }.encode(&mut node);
    node.extend_from_slice(&payload);
    keccak256(&node)
}

fn bucket_range(first: u8) -> std::ops::RangeInclusive<B256> {
    let mut lo = B256::ZERO;
    lo[0] = first;
    let mut hi = B256::repeat_byte(0xff);
    hi[0] = first;
    lo..=hi
}

impl StateRootCache {
    /// Below this many accounts the whole trie is simply rehashed.
    const SMALL: usize = 256;

    /// Re-encodes the `changed` accounts and returns the state root.
    pub(crate) fn state_root<'a>(
        &mut self,
        db: &WorldState,
        changed: impl Iterator<Item = &'a Address>,
    ) -> B256 {
        if self.stale {
            self.leaves.clear();
            for address in db.cache.accounts.keys() {
                self.update(db, address);
            }
            self.buckets.clear();
            self.dirty = (0..=255).collect();
            self.stale = false;
        } else {
            for address in changed {
                self.update(db, address);
            }
        }
        if self.leaves.len() < Self::SMALL {
            // Keep every bucket dirty so the cache is rebuilt when the state grows.
            self.dirty.extend(0..=255);
            return subtrie_root(self.leaves.iter(), 0);
        }
        let mut dirty_halves = [false; 16];
        for first in std::mem::take(&mut self.dirty) {
            dirty_halves[(first >> 4) as usize] = true;
            let mut range = self.leaves.range(bucket_range(first)).peekable();
            if range.peek().is_none() {
                self.buckets.remove(&first);
            } else {
                self.buckets.insert(first, subtrie_root(range, 2));
            }
        }
        for (high, dirty) in dirty_halves.iter().enumerate() {
            if !dirty {
                continue;
            }
            let lo = (high as u8) << 4;
            let populated = self.buckets.range(lo..=lo | 0x0f).count();
            self.halves[high] = match populated {
                0 => None,
                // One subtrie: the node at depth 1 is that subtrie's top, one nibble longer.
                1 => {
                    let (&first, _) = self.buckets.range(lo..=lo | 0x0f).next().expect("one");
                    Some(subtrie_root(self.leaves.range(bucket_range(first)), 1))
                }
                _ => Some(branch_hash((0..16u8).map(|low| self.buckets.get(&(lo | low)).copied()))),
            };
        }
        match self.halves.iter().filter(|h| h.is_some()).count() {
            0 => EMPTY_ROOT_HASH,
            1 => subtrie_root(self.leaves.iter(), 0),
            _ => branch_hash(self.halves.iter().copied()),
        }
    }

    fn update(&mut self, db: &WorldState, address: &Address) {
        let key = keccak256(address);
        self.dirty.insert(key[0]);
        let Some(account) = db.cache.accounts.get(address) else {
            self.leaves.remove(&key);
            return;
        };
        let Some(info) = account.info().filter(|info| !info.is_empty()) else {
            // EIP-161: empty accounts are not part of the state.
            self.leaves.remove(&key);
            return;
        };
        let storage_root = if account.storage.values().all(|v| v.is_zero()) {
            EMPTY_ROOT_HASH
        } else {
            storage_root_unhashed(
                account
                    .storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (B256::from(*k), *v)),
            )
        };
        let leaf = TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root,
            code_hash: info.code_hash,
        };
        let mut buf = Vec::with_capacity(110);
        alloy::rlp::Encodable::encode(&leaf, &mut buf);
        self.leaves.insert(key, buf);
    }

    /// Marks the cache stale (the state was rewound); the next root rebuilds every leaf.
    pub(crate) fn clear(&mut self) {
        self.stale = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_root(db: &WorldState) -> B256 {
        let mut cache = StateRootCache::default();
        cache.state_root(db, std::iter::empty());
        subtrie_root(cache.leaves.iter(), 0)
    }

    fn set(db: &mut WorldState, i: u64, balance: u64, slot: Option<u64>) {
        let address = Address::from_word(B256::from(U256::from(i)));
        db.insert_account_info(
            address,
            AccountInfo { balance: U256::from(balance), nonce: 1, ..Default::default() },
        );
        if let Some(v) = slot {
            db.insert_account_storage(address, U256::from(v), U256::from(v * 7)).unwrap();
        }
    }

    #[test]
    fn incremental_root_matches_full_hashing_as_the_state_grows_and_changes() {
        let mut db = WorldState::default();
        let mut cache = StateRootCache::default();
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..60u64 {
            let mut changed = Vec::new();
            // Grow by a varying number of accounts, and touch some existing ones.
            for _ in 0..(next() % 40) {
                let i = next() % (round * 20 + 30);
                set(&mut db, i, next() % 1000 + 1, (next() % 3 == 0).then(|| next() % 50 + 1));
                changed.push(Address::from_word(B256::from(U256::from(i))));
            }
            if round % 7 == 3 {
                // Delete one account entirely.
                let i = next() % (round * 20 + 30);
                let address = Address::from_word(B256::from(U256::from(i)));
                db.cache.accounts.remove(&address);
                changed.push(address);
            }
            let root = cache.state_root(&db, changed.iter());
            assert_eq!(root, full_root(&db), "round {round}, {} accounts", cache.leaves.len());
        }
        assert!(cache.leaves.len() > StateRootCache::SMALL, "the test reaches the cached path");
    }

    #[test]
    fn empty_state_has_the_empty_root() {
        let db = WorldState::default();
        assert_eq!(StateRootCache::default().state_root(&db, std::iter::empty()), EMPTY_ROOT_HASH);
    }
}
