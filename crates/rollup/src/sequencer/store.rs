//! The sequencer's write-ahead log in an embedded database (redb). A soft confirmation is sent
//! only after the entries behind it are committed (fsync), so a crash loses nothing confirmed.

use super::PostedBatch;
use super::state::LogEntry;
use crate::{Error, Result};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// On-disk format version (bump on any change of the records).
const FORMAT_VERSION: u64 = 1;
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// sequence number → [`LogEntry`] as JSON
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
/// batch index → [`PostedBatch`] as JSON
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");

/// The sequencer's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    next_seq: u64,
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("sequencer.redb"))?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let version = meta.get("version")?.map(|v| v.value());
            match version {
                None => {
                    meta.insert("version", FORMAT_VERSION)?;
                }
                Some(FORMAT_VERSION) => {}
                Some(v) => {
                    return Err(Error::Storage(format!(
                        "sequencer database has format version {v}, this ply reads {FORMAT_VERSION}"
                    )));
                }
            }
            txn.open_table(LOG)?;
            txn.open_table(BATCHES)?;
        }
        txn.commit()?;
        let next_seq = {
            let txn = db.begin_read()?;
            let log = txn.open_table(LOG)?;
            log.last()?.map_or(0, |(k, _)| k.value() + 1)
        };
        Ok(Self { db, next_seq })
    }

    /// Every log entry, in order.
    pub fn entries(&self) -> Result<Vec<LogEntry>> {
        let txn = self.db.begin_read()?;
        let log = txn.open_table(LOG)?;
        let mut out = Vec::new();
        for entry in log.iter()? {
            let (seq, bytes) = entry?;
            out.push(serde_json::from_slice(bytes.value()).map_err(|e| {
                Error::Storage(format!("log entry {} is corrupt: {e}", seq.value()))
            })?);
        }
        Ok(out)
    }

    /// Every posted batch, in order.
    pub fn batches(&self) -> Result<Vec<PostedBatch>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BATCHES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, bytes) = entry?;
            out.push(serde_json::from_slice(bytes.value())?);
        }
        Ok(out)
    }

    /// Appends `entries` in one durable transaction.
    pub fn append(&mut self, entries: &[LogEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write()?;
        {
            let mut log = txn.open_table(LOG)?;
            for (i, entry) in entries.iter().enumerate() {
                log.insert(self.next_seq + i as u64, serde_json::to_vec(entry)?.as_slice())?;
            }
        }
        txn.commit()?;
        self.next_seq += entries.len() as u64;
        Ok(())
    }

    /// Records (or updates) a posted batch.
    pub fn put_batch(&self, batch: &PostedBatch) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(BATCHES)?.insert(batch.index, serde_json::to_vec(batch)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}
