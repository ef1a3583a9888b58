//! The sequencer's write-ahead log: a [`Journal`] of [`LogEntry`]s and [`PostedBatch`]es. A
//! soft confirmation is sent only after the entries behind it are committed (fsync), so a crash
//! loses nothing confirmed.

use super::PostedBatch;
use super::state::LogEntry;
use crate::Result;
use ply_node::RedbJournal as Journal;
use std::path::Path;

/// On-disk format version (bump on any change of the records).
const FORMAT_VERSION: u64 = 1;

/// The sequencer's journal in `dir` (the file [`Store`] opens), for the sequencer task.
pub(crate) fn open_journal(dir: &Path) -> Result<Journal> {
    Ok(Journal::open(dir, "sequencer.redb", FORMAT_VERSION, None)?)
}

/// The sequencer's database.
#[derive(Debug)]
pub struct Store {
    journal: Journal,
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self { journal: open_journal(dir)? })
    }

    /// Every log entry, in order.
    pub fn entries(&self) -> Result<Vec<LogEntry>> {
        Ok(self.journal.entries()?)
    }

    /// Every posted batch, in order.
    pub fn batches(&self) -> Result<Vec<PostedBatch>> {
        Ok(self.journal.batches()?)
    }

    /// Appends `entries` in one durable transaction.
    pub fn append(&mut self, entries: &[LogEntry]) -> Result<()> {
        Ok(self.journal.append(entries)?)
    }

    /// Records (or updates) a posted batch.
    pub fn put_batch(&self, batch: &PostedBatch) -> Result<()> {
        Ok(self.journal.put_batch(batch.index, batch)?)
    }
}
