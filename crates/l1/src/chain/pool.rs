//! The pool of transactions waiting for a block.
//!
//! Transactions are kept per sender in nonce order; a block takes, sender by sender in order of
//! arrival, the run of transactions that continues each sender's account nonce. A transaction
//! with a gap waits until the gap fills.

use super::PooledTx;
use alloy::primitives::{Address, B256};
use std::collections::{BTreeMap, HashMap};

/// Pending transactions by sender and nonce.
#[derive(Debug, Default, Clone)]
pub(crate) struct Pool {
    by_sender: HashMap<Address, BTreeMap<u64, (u64, PooledTx)>>,
    hashes: HashMap<B256, (Address, u64)>,
    next_seq: u64,
}

impl Pool {
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.hashes.contains_key(hash)
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<&PooledTx> {
        let (sender, nonce) = self.hashes.get(hash)?;
        self.by_sender.get(sender)?.get(nonce).map(|(_, tx)| tx)
    }

    pub(crate) fn get_by_nonce(&self, sender: &Address, nonce: u64) -> Option<&PooledTx> {
        self.by_sender.get(sender)?.get(&nonce).map(|(_, tx)| tx)
    }

    /// The nonce after the run of pooled transactions of `sender` that continues
    /// `account_nonce` without a gap (`account_nonce` itself if there is none).
    pub(crate) fn next_nonce(&self, sender: &Address, account_nonce: u64) -> u64 {
        let Some(txs) = self.by_sender.get(sender) else { return account_nonce };
        // Common case, O(log n): the pool holds exactly the nonces account_nonce..=last.
        if let (Some((&first, _)), Some((&last, _))) = (txs.first_key_value(), txs.last_key_value())
            && first == account_nonce
            && (last - first) as usize + 1 == txs.len()
        {
            return last + 1;
        }
        let run = txs.range(account_nonce..);
        let mut next = account_nonce;
        for (&nonce, _) in run {
            if nonce != next {
                break;
            }
            next += 1;
        }
        next
    }

    /// Inserts `tx`, replacing a pooled transaction with the same nonce; returns the replaced one.
    pub(crate) fn insert(&mut self, tx: PooledTx) -> Option<PooledTx> {
        let (sender, nonce, hash) = (tx.sender, tx.nonce(), tx.hash);
        let seq = self.next_seq;
        self.next_seq += 1;
        let replaced = self.by_sender.entry(sender).or_default().insert(nonce, (seq, tx));
        self.hashes.insert(hash, (sender, nonce));
        replaced.map(|(_, old)| {
            self.hashes.remove(&old.hash);
            old
        })
    }

    pub(crate) fn remove(&mut self, sender: &Address, nonce: u64) -> Option<PooledTx> {
        let txs = self.by_sender.get_mut(sender)?;
        let (_, tx) = txs.remove(&nonce)?;
        if txs.is_empty() {
            self.by_sender.remove(sender);
        }
        self.hashes.remove(&tx.hash);
        Some(tx)
    }

    /// Drops every transaction of `sender` below `account_nonce` (mined or made stale).
    pub(crate) fn prune(&mut self, sender: &Address, account_nonce: u64) {
        if let Some(txs) = self.by_sender.get_mut(sender) {
            let keep = txs.split_off(&account_nonce);
            for (_, (_, tx)) in std::mem::replace(txs, keep) {
                self.hashes.remove(&tx.hash);
            }
            if txs.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// The executable transactions, in the order a block should take them: senders by the
    /// arrival of their first executable transaction, each sender's run in nonce order.
    pub(crate) fn executable(&self, account_nonce: impl Fn(&Address) -> u64) -> Vec<PooledTx> {
        let mut runs: Vec<(u64, Vec<PooledTx>)> = Vec::new();
        for (sender, txs) in &self.by_sender {
            let mut next = account_nonce(sender);
            let mut run = Vec::new();
            let mut first_seq = None;
            while let Some((seq, tx)) = txs.get(&next) {
                first_seq.get_or_insert(*seq);
                run.push(tx.clone());
                next += 1;
            }
            if let Some(seq) = first_seq {
                runs.push((seq, run));
            }
        }
        runs.sort_by_key(|(seq, _)| *seq);
        runs.into_iter().flat_map(|(_, run)| run).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.by_sender.clear();
        self.hashes.clear();
    }

    /// Every pooled transaction (for `eth_getTransactionByHash` on pending ones).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &PooledTx> {
        self.by_sender.values().flat_map(|txs| txs.values().map(|(_, tx)| tx))
    }
}
