//! The operator's write-ahead log (redb): every accepted operation, durable (fsync) before it
//! is confirmed, and the batches cut from the log, so that a restarted operator rebuilds the
//! same state and the same batches.

use super::{operator::BatchRecord, wire::LoggedOp};
use crate::{Fr, Result, ZkError, fr_to_b256};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// On-disk format version (bump on any change of the records).
const FORMAT_VERSION: u64 = 1;
/// log position → JSON of a [`LoggedOp`]
const OPS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("ops");
/// batch number → JSON of a [`BatchRecord`]
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
/// "domain" → the signing domain (chain id and contract) of the deployment the log belongs to
const DEPLOYMENT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("deployment");

fn storage(e: impl std::fmt::Display) -> ZkError {
    ZkError::NodeStorage(e.to_string())
}

/// The operator's log.
#[derive(Debug)]
pub struct OperatorStore {
    db: Database,
}

impl OperatorStore {
    /// Opens (or creates) the log in `dir` of the deployment with signing `domain` (its chain
    /// id and contract). A new log is stamped with `domain`; the log of another deployment is
    /// refused, since its operations would be replayed against a contract that never saw them.
    pub fn open(dir: &Path, domain: Fr) -> Result<Self> {
        let db =
            crate::db::open_versioned(dir, "operator.redb", FORMAT_VERSION, ZkError::NodeStorage)?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(OPS).map_err(storage)?;
        txn.open_table(BATCHES).map_err(storage)?;
        {
            let mut deployment = txn.open_table(DEPLOYMENT).map_err(storage)?;
            let ours = fr_to_b256(domain);
            let found = deployment.get("domain").map_err(storage)?.map(|v| v.value().to_vec());
            match found {
                None => {
                    deployment.insert("domain", ours.as_slice()).map_err(storage)?;
                }
                Some(theirs) if theirs == ours.as_slice() => {}
                Some(theirs) => {
                    return Err(storage(format!(
                        "the log in {} belongs to another deployment (signing domain 0x{}), not \
                         this one ({ours}): start the node with another data directory",
                        dir.display(),
                        alloy::hex::encode(theirs)
                    )));
                }
            }
        }
        txn.commit().map_err(storage)?;
        Ok(Self { db })
    }

    /// Appends `entries` at positions `first..`, durably, in one transaction.
    pub fn append(&self, first: u64, entries: &[LoggedOp]) -> Result<()> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        {
            let mut ops = txn.open_table(OPS).map_err(storage)?;
            for (i, entry) in entries.iter().enumerate() {
                let json = serde_json::to_vec(entry).map_err(storage)?;
                ops.insert(first + i as u64, json.as_slice()).map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)
    }

    /// Records a batch (again, when its status changes), durably.
    pub fn put_batch(&self, batch: &BatchRecord) -> Result<()> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        {
            let json = serde_json::to_vec(batch).map_err(storage)?;
            txn.open_table(BATCHES)
                .map_err(storage)?
                .insert(batch.number, json.as_slice())
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// Every logged operation, in order.
    pub fn entries(&self) -> Result<Vec<LoggedOp>> {
        self.read(OPS)
    }

    /// Every recorded batch, in order.
    pub fn batches(&self) -> Result<Vec<BatchRecord>> {
        self.read(BATCHES)
    }

    fn read<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<'_, u64, &[u8]>,
    ) -> Result<Vec<T>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(table).map_err(storage)?;
        let mut out = Vec::new();
        for (expected, row) in table.iter().map_err(storage)?.enumerate() {
            let (key, value) = row.map_err(storage)?;
            if key.value() != expected as u64 {
                return Err(storage(format!("record {expected} is missing from the log")));
            }
            out.push(serde_json::from_slice(value.value()).map_err(storage)?);
        }
        Ok(out)
    }
}
