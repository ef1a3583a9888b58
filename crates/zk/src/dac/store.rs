//! A DAC member's database (redb): batch data by its hash. A batch is committed durably
//! (fsync) before [`DacStore::put`] returns, so a member never signs data it could lose.

use super::{check_batch_data, data_hash};
use crate::{Result, ZkError};
use alloy::primitives::B256;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use std::path::Path;

/// On-disk format version (bump on any change of the records).
const FORMAT_VERSION: u64 = 1;
/// `sha256(data)` → data
const BATCHES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("batches");

fn storage(e: impl std::fmt::Display) -> ZkError {
    ZkError::DacStorage(e.to_string())
}

/// A DAC member's batches.
#[derive(Debug)]
pub struct DacStore {
    db: Database,
    max_batch_bytes: usize,
}

impl DacStore {
    /// Opens (or creates) the database in `dir`; [`put`](Self::put) refuses batches longer
    /// than `max_batch_bytes`.
    pub fn open(dir: &Path, max_batch_bytes: usize) -> Result<Self> {
        let db = ply_rollup::sequencer::journal::open_versioned(dir, "dac.redb", FORMAT_VERSION)
            .map_err(|e| ZkError::DacStorage(e.to_string()))?;
        let txn = db.begin_write().map_err(storage)?;
        {
            txn.open_table(BATCHES).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(Self { db, max_batch_bytes })
    }

    /// The longest batch this store takes.
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch_bytes
    }

    /// Checks `data` ([`check_batch_data`]), stores it and returns its hash once the write is
    /// on disk. Storing a batch again is a no-op.
    pub fn put(&self, data: &[u8]) -> Result<B256> {
        check_batch_data(data, self.max_batch_bytes)?;
        let hash = data_hash(data);
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        {
            let mut batches = txn.open_table(BATCHES).map_err(storage)?;
            if batches.get(&hash.0).map_err(storage)?.is_none() {
                batches.insert(&hash.0, data).map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)?;
        Ok(hash)
    }

    /// The batch whose hash is `hash`, if this member has it.
    pub fn get(&self, hash: B256) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let batches = txn.open_table(BATCHES).map_err(storage)?;
        Ok(batches.get(&hash.0).map_err(storage)?.map(|data| data.value().to_vec()))
    }

    /// How many batches this member holds.
    pub fn len(&self) -> Result<u64> {
        let txn = self.db.begin_read().map_err(storage)?;
        txn.open_table(BATCHES).map_err(storage)?.len().map_err(storage)
    }

    /// Whether this member holds no batch.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}
