//! The operator's write-ahead log: the backbone's sequencer [`Journal`] of every accepted
//! operation, durable (fsync) before it is confirmed, and of the batches cut from the log, so
//! that a restarted operator rebuilds the same state and the same batches.

use super::{operator::BatchRecord, wire::LoggedOp};
use crate::{Fr, Result, ZkError, fr_to_b256};
use parking_lot::Mutex;
use ply_rollup::sequencer::journal::Journal;
use std::path::Path;

/// On-disk format version (bump on any change of the records). Version 3 logs full exits and
/// the L1-assigned account indices of public data v3; version 2 is the backbone's journal
/// (version 1 had its own tables).
const FORMAT_VERSION: u64 = 3;

fn storage(e: impl std::fmt::Display) -> ZkError {
    ZkError::NodeStorage(e.to_string())
}

/// The operator's log.
#[derive(Debug)]
pub struct OperatorStore {
    journal: Mutex<Journal>,
}

impl OperatorStore {
    /// Opens (or creates) the log in `dir` of the deployment with signing `domain` (its chain
    /// id and contract). A new log is stamped with `domain`; the log of another deployment is
    /// refused, since its operations would be replayed against a contract that never saw them.
    pub fn open(dir: &Path, domain: Fr) -> Result<Self> {
        let stamp = fr_to_b256(domain);
        let journal = Journal::open(dir, "operator.redb", FORMAT_VERSION, Some(stamp.as_slice()))
            .map_err(storage)?;
        Ok(Self { journal: Mutex::new(journal) })
    }

    /// Appends `entries` at positions `first..` (which must be the log's end), durably, in one
    /// transaction.
    pub fn append(&self, first: u64, entries: &[LoggedOp]) -> Result<()> {
        let mut journal = self.journal.lock();
        if first != journal.len() {
            return Err(storage(format!(
                "operation {first} would not follow the log's {} entries",
                journal.len()
            )));
        }
        journal.append(entries).map_err(storage)
    }

    /// Records a batch (again, when its status changes), durably.
    pub fn put_batch(&self, batch: &BatchRecord) -> Result<()> {
        self.journal.lock().put_batch(batch.number, batch).map_err(storage)
    }

    /// Every logged operation, in order.
    pub fn entries(&self) -> Result<Vec<LoggedOp>> {
        self.journal.lock().entries().map_err(storage)
    }

    /// Every recorded batch, in order.
    pub fn batches(&self) -> Result<Vec<BatchRecord>> {
        self.journal.lock().batches().map_err(storage)
    }
}
