//! [`Journal`]: the write-ahead log of a sequencer, in an embedded database (redb), whatever
//! the family. The optimistic rollup's sequencer and the zk operator keep theirs in it.
//!
//! A journal holds, in one file of `dir`:
//! - `meta`: the format `version` the file was made by (another version is refused);
//! - `log`: the entries, JSON, at positions 0, 1, 2, … with no gap, appended in durable
//!   transactions (committed with fsync before [`Journal::append`] returns, so that whatever a
//!   sequencer confirmed after appending survives a crash);
//! - `batches`: the batches cut from the log, JSON, by batch number, rewritten when their status
//!   changes;
//! - `deployment`: optionally, the identity of the deployment (chain and contract) the log
//!   belongs to, stamped when the journal is created: a journal opened for another deployment
//!   is refused, since replaying its entries against a contract that never saw them would
//!   build a state L1 does not know.

use crate::{Error, Result};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// position → JSON of an entry
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
/// batch number → JSON of a batch record
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
/// "id" → the deployment's identity bytes
const DEPLOYMENT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("deployment");

/// Opens (or creates) the redb database `file` in `dir`, stamping a new one with format
/// `version` (in its `meta` table) and refusing one made by another version. Every embedded
/// database of ply's nodes is opened so.
pub fn open_versioned(dir: &Path, file: &str, version: u64) -> Result<Database> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(file);
    let db = Database::create(&path)
        .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("version")?.map(|v| v.value());
        match found {
            None => {
                meta.insert("version", version)?;
            }
            Some(v) if v == version => {}
            Some(v) => {
                return Err(Error::Storage(format!(
                    "{} has format version {v}, this ply reads {version}",
                    path.display()
                )));
            }
        }
    }
    txn.commit()?;
    Ok(db)
}

/// A sequencer's write-ahead log and batch records (see the [module docs](self)).
#[derive(Debug)]
pub struct Journal {
    db: Database,
    path: PathBuf,
    next: u64,
}

impl Journal {
    /// Opens (or creates) the journal `file` in `dir`, made by format `version`; with
    /// `deployment`, the journal must belong to that deployment (a new one is stamped with it).
    pub fn open(dir: &Path, file: &str, version: u64, deployment: Option<&[u8]>) -> Result<Self> {
        let db = open_versioned(dir, file, version)?;
        let path = dir.join(file);
        let txn = db.begin_write()?;
        {
            txn.open_table(LOG)?;
            txn.open_table(BATCHES)?;
            let mut stamp = txn.open_table(DEPLOYMENT)?;
            if let Some(ours) = deployment {
                let theirs = stamp.get("id")?.map(|v| v.value().to_vec());
                match theirs {
                    None => {
                        stamp.insert("id", ours)?;
                    }
                    Some(theirs) if theirs == ours => {}
                    Some(theirs) => {
                        return Err(Error::Storage(format!(
                            "{} belongs to another deployment (0x{}), not this one (0x{}): \
                             start the node with another data directory",
                            path.display(),
                            alloy::hex::encode(theirs),
                            alloy::hex::encode(ours)
                        )));
                    }
                }
            }
        }
        txn.commit()?;
        let next = {
            let txn = db.begin_read()?;
            let log = txn.open_table(LOG)?;
            log.last()?.map_or(0, |(k, _)| k.value() + 1)
        };
        Ok(Self { db, path, next })
    }

    /// The number of entries, which is the position the next one takes.
    pub fn len(&self) -> u64 {
        self.next
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }

    /// Appends `entries` at positions `len()..`, in one durable transaction.
    pub fn append<E: Serialize>(&mut self, entries: &[E]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut log = txn.open_table(LOG)?;
            for (i, entry) in entries.iter().enumerate() {
                log.insert(self.next + i as u64, serde_json::to_vec(entry)?.as_slice())?;
            }
        }
        txn.commit()?;
        self.next += entries.len() as u64;
        Ok(())
    }

    /// Records batch `number` (again, when its status changes), durably.
    pub fn put_batch<B: Serialize>(&self, number: u64, batch: &B) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.open_table(BATCHES)?.insert(number, serde_json::to_vec(batch)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Every entry, in order.
    pub fn entries<E: DeserializeOwned>(&self) -> Result<Vec<E>> {
        self.read(LOG, "log entry")
    }

    /// Every batch record, in order.
    pub fn batches<B: DeserializeOwned>(&self) -> Result<Vec<B>> {
        self.read(BATCHES, "batch")
    }

    /// The rows of `table`, which must be numbered 0, 1, 2, … without a gap.
    fn read<T: DeserializeOwned>(
        &self,
        table: TableDefinition<'_, u64, &[u8]>,
        what: &str,
    ) -> Result<Vec<T>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        let mut out = Vec::new();
        for (expected, row) in table.iter()?.enumerate() {
            let (key, value) = row?;
            if key.value() != expected as u64 {
                return Err(Error::Storage(format!(
                    "{}: {what} {expected} is missing",
                    self.path.display()
                )));
            }
            out.push(serde_json::from_slice(value.value()).map_err(|e| {
                Error::Storage(format!(
                    "{}: {what} {expected} is corrupt: {e}",
                    self.path.display()
                ))
            })?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_batches_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path(), "j.redb", 1, None).unwrap();
        assert!(journal.is_empty());
        journal.append(&["a".to_string(), "b".to_string()]).unwrap();
        journal.append::<String>(&[]).unwrap();
        journal.append(&["c".to_string()]).unwrap();
        journal.put_batch(0, &(0u64, 2u64)).unwrap();
        journal.put_batch(0, &(0u64, 3u64)).unwrap();
        drop(journal);
        let journal = Journal::open(dir.path(), "j.redb", 1, None).unwrap();
        assert_eq!(journal.len(), 3);
        assert_eq!(journal.entries::<String>().unwrap(), ["a", "b", "c"]);
        assert_eq!(journal.batches::<(u64, u64)>().unwrap(), [(0, 3)]);
        // Entries of another type are an error, not a panic.
        let err = journal.entries::<u64>().unwrap_err();
        assert!(err.to_string().contains("log entry 0 is corrupt"), "{err}");
    }

    #[test]
    fn another_version_or_deployment_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Journal::open(dir.path(), "j.redb", 2, Some(b"ours")).unwrap());
        drop(Journal::open(dir.path(), "j.redb", 2, Some(b"ours")).expect("its own journal"));
        drop(Journal::open(dir.path(), "j.redb", 2, None).expect("no deployment asked"));
        let err = Journal::open(dir.path(), "j.redb", 3, Some(b"ours")).unwrap_err();
        assert!(err.to_string().contains("format version 2, this ply reads 3"), "{err}");
        let err = Journal::open(dir.path(), "j.redb", 2, Some(b"theirs")).unwrap_err();
        assert!(err.to_string().contains("another deployment"), "{err}");
    }
}
