//! The sequencer's state machine: the ledger, the open L2 block and the sealed ones. No I/O and
//! no clock: the loop in [`super`] feeds it commands and the time, and persists the
//! [`LogEntry`]s it returns before acknowledging anything.

use crate::batch::{BatchTx, Recipient};
use alloy::primitives::{Address, B256};
use ply_ledger::{
    Deposit, KeccakHasher, Ledger, LedgerConfig, SignedTx, Tx, VerifiedTx, WithdrawalRecord,
};
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, sync::Arc};

/// One durable step of the sequencer; replaying the log rebuilds the exact state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LogEntry {
    /// A transaction applied to the open block (its signature was checked before).
    Tx {
        /// The block it belongs to.
        block: u64,
        /// The transaction id.
        hash: B256,
        /// The signed transaction.
        tx: SignedTx,
    },
    /// A queued L1 deposit applied at the start of a block.
    Deposit {
        /// The block it belongs to.
        block: u64,
        /// The deposit.
        deposit: Deposit,
        /// Whether the ledger could apply it (a refused deposit is still consumed).
        applied: bool,
    },
    /// A block sealed.
    Seal {
        /// The block number.
        block: u64,
        /// Its timestamp.
        timestamp: u64,
        /// The state root after it.
        state_root: B256,
    },
}

/// A sequenced transaction: what users signed and how a batch carries it.
#[derive(Debug, Clone)]
pub struct SequencedTx {
    /// Transaction id: the EIP-712 signing hash.
    pub hash: B256,
    /// The signed transaction.
    pub tx: SignedTx,
    /// The compact form the batch posts (account indices as they were at sequencing).
    pub packed: BatchTx,
}

/// A sealed L2 block.
#[derive(Debug, Clone)]
pub struct L2Block {
    /// Block number (0 is the first block).
    pub number: u64,
    /// Timestamp, seconds.
    pub timestamp: u64,
    /// Deposits applied at its start, in queue order.
    pub deposits: Vec<Deposit>,
    /// Its transactions, in order.
    pub txs: Vec<SequencedTx>,
    /// The state root after it.
    pub state_root: B256,
    /// The state commitment after it (`docs/rollup.md`): what an output of a batch ending
    /// with this block commits to.
    pub state_commitment: B256,
    /// The withdrawals it made, in execution order (forced withdrawals of its queued
    /// operations first, then its withdrawal transactions); their batch index and position are
    /// the block's own until a batch takes them (`node::withdrawals_of`).
    pub withdrawals: Vec<WithdrawalRecord>,
}

/// Where a sequenced transaction sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block number.
    pub block: u64,
    /// Index in the block.
    pub index: usize,
}

/// The sequencer's state.
#[derive(Debug)]
pub struct SequencerState {
    ledger: Ledger<KeccakHasher>,
    sealed: Vec<Arc<L2Block>>,
    open: L2Block,
    /// Deposits received from L1, waiting for the next block.
    queued_deposits: Vec<Deposit>,
    /// The queue index of the next deposit to apply.
    next_deposit: u64,
    txs: HashMap<B256, TxLocation>,
    max_block_txs: usize,
}

impl SequencerState {
    /// A fresh state: genesis ledger, block 0 open at `timestamp`.
    pub fn new(config: LedgerConfig, max_block_txs: usize, timestamp: u64) -> crate::Result<Self> {
        Ok(Self {
            ledger: Ledger::new(config)?,
            sealed: Vec::new(),
            open: L2Block {
                number: 0,
                timestamp,
                deposits: vec![],
                txs: vec![],
                state_root: B256::ZERO,
                state_commitment: B256::ZERO,
                withdrawals: vec![],
            },
            queued_deposits: Vec::new(),
            next_deposit: 0,
            txs: HashMap::new(),
            max_block_txs: max_block_txs.clamp(1, u16::MAX as usize),
        })
    }

    /// The ledger (read-only).
    pub fn ledger(&self) -> &Ledger<KeccakHasher> {
        &self.ledger
    }

    /// Sealed blocks.
    pub fn sealed(&self) -> &[Arc<L2Block>] {
        &self.sealed
    }

    /// The open block.
    pub fn open_block(&self) -> &L2Block {
        &self.open
    }

    /// Where a transaction was sequenced.
    pub fn location(&self, hash: &B256) -> Option<TxLocation> {
        self.txs.get(hash).copied()
    }

    /// A sequenced transaction.
    pub fn transaction(&self, hash: &B256) -> Option<(TxLocation, &SequencedTx)> {
        let location = self.location(hash)?;
        let block =
            self.sealed.get(location.block as usize).map(|b| b.as_ref()).unwrap_or(&self.open);
        Some((location, block.txs.get(location.index)?))
    }

    /// The queue index of the next deposit the sequencer will apply.
    pub fn next_deposit(&self) -> u64 {
        self.next_deposit
    }

    /// Whether the open block is full.
    pub fn open_is_full(&self) -> bool {
        self.open.txs.len() >= self.max_block_txs
    }

    /// Applies a transaction whose signature was checked. Returns its location and the log
    /// entry to persist; on error nothing changed.
    pub fn apply_tx(
        &mut self,
        hash: B256,
        tx: SignedTx,
        verified: VerifiedTx,
    ) -> crate::Result<(TxLocation, LogEntry)> {
        let packed = self.pack(&tx)?;
        // A replay is refused here by its nonce, with the ledger's sentence.
        self.ledger.apply(&verified)?;
        let location = TxLocation { block: self.open.number, index: self.open.txs.len() };
        self.txs.insert(hash, location);
        self.open.txs.push(SequencedTx { hash, tx: tx.clone(), packed });
        Ok((location, LogEntry::Tx { block: location.block, hash, tx }))
    }

    /// The batch form of `tx` against the current state (before it applies).
    fn pack(&self, tx: &SignedTx) -> crate::Result<BatchTx> {
        let signature = tx.compact_signature()?;
        let index = |address: &Address| {
            self.ledger.index_of(address).ok_or_else(|| {
                crate::Error::Ledger(ply_ledger::LedgerError::UnknownAccount { address: *address })
            })
        };
        let token = u16::try_from(tx.tx.token())
            .ok()
            .filter(|t| *t <= crate::batch::MAX_TOKEN)
            .ok_or(crate::batch::BatchError::TokenTooLarge(tx.tx.token()))?;
        let packed = match &tx.tx {
            Tx::Transfer(t) => BatchTx::Transfer {
                token,
                from: index(&t.from)?,
                to: match self.ledger.index_of(&t.to) {
                    Some(i) => Recipient::Index(i),
                    None => Recipient::New(t.to),
                },
                amount: t.amount,
                fee: t.fee,
                signature,
            },
            Tx::Withdrawal(w) => BatchTx::Withdrawal {
                token,
                from: index(&w.from)?,
                to: w.to,
                amount: w.amount,
                fee: w.fee,
                signature,
            },
        };
        // Refuse now what the batch could not carry.
        crate::batch::encode_tx(&mut Vec::with_capacity(128), &packed)?;
        Ok(packed)
    }

    /// Queues deposits from L1 (in queue order; already known ones are ignored). A deposit
    /// that differs from the one queued (not applied yet) at its index replaces it and those
    /// after it: L1 reorganised, and what it holds now counts.
    pub fn queue_deposits(&mut self, deposits: impl IntoIterator<Item = Deposit>) {
        let expected = self.next_deposit + self.queued_deposits.len() as u64;
        let mut next = expected;
        for deposit in deposits {
            if let Some(position) = deposit.queue_index.checked_sub(self.next_deposit)
                && deposit.queue_index < next
                && self.queued_deposits[position as usize] != deposit
            {
                tracing::warn!(index = deposit.queue_index, "queued deposit replaced on L1");
                self.queued_deposits.truncate(position as usize);
                next = deposit.queue_index;
            }
            if deposit.queue_index == next {
                self.queued_deposits.push(deposit);
                next += 1;
            } else if deposit.queue_index > next {
                tracing::warn!(
                    expected = next,
                    got = deposit.queue_index,
                    "deposit gap: waiting for the missing deposits"
                );
                break;
            }
        }
    }

    /// Forgets the queued deposits from queue index `from` on (an L1 reorg removed or changed
    /// them). `false`, and nothing forgotten, if the deposit at `from` was applied already.
    pub fn unqueue_deposits(&mut self, from: u64) -> bool {
        if from < self.next_deposit {
            return false;
        }
        self.queued_deposits.truncate((from - self.next_deposit) as usize);
        true
    }

    /// The deposits received but not yet applied, in queue order.
    pub fn queued(&self) -> &[Deposit] {
        &self.queued_deposits
    }

    /// Deposits received but not yet applied.
    pub fn queued_deposits(&self) -> usize {
        self.queued_deposits.len()
    }

    /// Applies the queued deposits if the open block is still empty (deposits go first in a
    /// block). Returns the log entries.
    pub fn apply_queued_deposits(&mut self) -> Vec<LogEntry> {
        if !self.open.txs.is_empty() || self.queued_deposits.is_empty() {
            return vec![];
        }
        let room = u16::MAX as usize - self.open.deposits.len();
        let take = self.queued_deposits.len().min(room);
        let mut entries = Vec::with_capacity(take);
        for deposit in self.queued_deposits.drain(..take) {
            let applied = match self.ledger.apply_deposit(&deposit) {
                Ok(_) => true,
                Err(e) => {
                    // Consumed on L1 all the same; the derivation rules skip it identically.
                    tracing::warn!(index = deposit.queue_index, error = %e, "deposit refused by the ledger");
                    if let Err(e) = self.ledger.skip_deposit(&deposit) {
                        tracing::error!(index = deposit.queue_index, error = %e, "cannot skip deposit");
                    }
                    false
                }
            };
            self.next_deposit = deposit.queue_index + 1;
            self.open.deposits.push(deposit.clone());
            entries.push(LogEntry::Deposit { block: self.open.number, deposit, applied });
        }
        entries
    }

    /// Seals the open block at `timestamp` (never before the previous block) if it holds
    /// anything, and opens the next. Returns the sealed block and its log entry.
    pub fn seal(&mut self, timestamp: u64) -> Option<(Arc<L2Block>, LogEntry)> {
        if self.open.txs.is_empty() && self.open.deposits.is_empty() {
            return None;
        }
        let previous = self.sealed.last().map_or(0, |b| b.timestamp);
        let timestamp = timestamp.max(previous).max(self.open.timestamp);
        Some(self.seal_at(timestamp))
    }

    fn seal_at(&mut self, timestamp: u64) -> (Arc<L2Block>, LogEntry) {
        let number = self.open.number;
        // Block timestamps never go back (`seal` makes sure), so the ledger accepts them; the
        // state commitment holds the last one, as the derivation's block headers set it.
        if let Err(e) = self.ledger.begin_block(timestamp) {
            tracing::error!(block = number, timestamp, error = %e, "block timestamp refused");
        }
        let state_root = self.ledger.root();
        let state_commitment = self.ledger.commitment().hash();
        // Batches are cut later by the batcher, from whole blocks; the ledger's own per-batch
        // withdrawal list is taken per block so that it stays bounded.
        let withdrawals = self.ledger.finish_batch().withdrawals;
        let next = L2Block {
            number: number + 1,
            timestamp,
            deposits: vec![],
            txs: vec![],
            state_root: B256::ZERO,
            state_commitment: B256::ZERO,
            withdrawals: vec![],
        };
        let mut block = std::mem::replace(&mut self.open, next);
        block.timestamp = timestamp;
        block.state_root = state_root;
        block.state_commitment = state_commitment;
        block.withdrawals = withdrawals;
        let block = Arc::new(block);
        self.sealed.push(block.clone());
        (block, LogEntry::Seal { block: number, timestamp, state_root })
    }

    /// Replays one log entry (recovery after a restart). Signatures are not checked again:
    /// the log only holds transactions that were checked before they were written.
    pub fn replay(&mut self, entry: LogEntry) -> crate::Result<()> {
        match entry {
            LogEntry::Tx { block, hash, tx } => {
                if block != self.open.number {
                    return Err(crate::Error::Storage(format!(
                        "log has a transaction of block {block} while block {} is open",
                        self.open.number
                    )));
                }
                let verified = VerifiedTx::assume_verified(tx.tx.clone());
                self.apply_tx(hash, tx, verified)?;
            }
            LogEntry::Deposit { deposit, applied, .. } => {
                if applied {
                    self.ledger.apply_deposit(&deposit)?;
                } else {
                    self.ledger.skip_deposit(&deposit)?;
                }
                self.next_deposit = deposit.queue_index + 1;
                self.open.deposits.push(deposit);
            }
            LogEntry::Seal { block, timestamp, state_root } => {
                let (sealed, _) = self.seal_at(timestamp);
                if sealed.number != block || sealed.state_root != state_root {
                    return Err(crate::Error::Storage(format!(
                        "replayed block {} has root {}, the log says block {block} has {state_root}",
                        sealed.number, sealed.state_root
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;

    #[test]
    fn deposits_reorged_away_are_forgotten_until_applied() {
        let mut state =
            SequencerState::new(LedgerConfig::new(Address::repeat_byte(0xfe)), 10, 0).unwrap();
        let deposit = |queue_index| Deposit {
            queue_index,
            to: Address::repeat_byte(0xaa),
            amount: U256::from(5u64),
            ..Default::default()
        };
        state.queue_deposits((0..3).map(deposit));
        assert!(state.unqueue_deposits(1));
        assert_eq!(state.queued_deposits(), 1);
        // What L1 holds now at index 1 takes the place of the forgotten one.
        state.queue_deposits([deposit(1)]);
        assert_eq!(state.apply_queued_deposits().len(), 2);
        assert!(!state.unqueue_deposits(0), "applied: cannot be forgotten");
        assert!(!state.unqueue_deposits(1), "applied: cannot be forgotten");
        assert!(state.unqueue_deposits(2), "nothing queued from 2 on");
        assert_eq!(state.queued_deposits(), 0);
    }

    #[test]
    fn a_queued_deposit_that_l1_replaced_is_replaced() {
        let mut state =
            SequencerState::new(LedgerConfig::new(Address::repeat_byte(0xfe)), 10, 0).unwrap();
        let deposit = |queue_index, amount: u64| Deposit {
            queue_index,
            to: Address::repeat_byte(0xaa),
            amount: U256::from(amount),
            ..Default::default()
        };
        state.queue_deposits([deposit(0, 5), deposit(1, 5), deposit(2, 5)]);
        // Read again unchanged: ignored.
        state.queue_deposits([deposit(0, 5), deposit(1, 5)]);
        assert_eq!(state.queued_deposits(), 3);
        // Read again from a reorganised L1: index 1 is another deposit, and 2 is gone.
        state.queue_deposits([deposit(0, 5), deposit(1, 9)]);
        assert_eq!(state.queued_deposits(), 2);
        let entries = state.apply_queued_deposits();
        let amounts: Vec<_> = entries
            .iter()
            .map(|e| match e {
                LogEntry::Deposit { deposit, .. } => deposit.amount,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(amounts, [U256::from(5u64), U256::from(9u64)]);
    }
}
