//! The sequencer's write-ahead log: a [`Journal`] of [`LogEntry`]s and [`PostedBatch`]es. A
//! soft confirmation is sent only after the entries behind it are committed (fsync), so a crash
//! loses nothing confirmed.

use super::PostedBatch;
use super::journal::Journal;
use super::state::LogEntry;
use crate::Result;
use std::path::Path;

/// On-disk format version (bump on any change of the records).
const FORMAT_VERSION: u64 = 1;

/// The sequencer's database.
#[derive(Debug)]
pub struct Store {
    journal: Journal,
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self { journal: Journal::open(dir, "sequencer.redb", FORMAT_VERSION, None)? })
    }

    /// Every log entry, in order.
    pub fn entries(&self) -> Result<Vec<LogEntry>> {
        self.journal.entries()
    }

    /// Every posted batch, in order.
    pub fn batches(&self) -> Result<Vec<PostedBatch>> {
        self.journal.batches()
    }

    /// Appends `entries` in one durable transaction.
    pub fn append(&mut self, entries: &[LogEntry]) -> Result<()> {
        self.journal.append(entries)
    }

    /// Records (or updates) a posted batch.
    pub fn put_batch(&self, batch: &PostedBatch) -> Result<()> {
        self.journal.put_batch(batch.index, batch)
    }
}
