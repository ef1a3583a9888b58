//! The [`Journal`]: a sequencer's write-ahead log and batch records, whatever the family, in an
//! embedded database ([`RedbJournal`]) or in memory for tests ([`MemoryJournal`]).
//!
//! A redb journal holds, in one file of `dir` (layout version [`JOURNAL_LAYOUT`]):
//! - `meta`: the family's record format `version` the file was made by (another version is
//!   refused), and the journal `layout` (absent in files made before it was written down, which
//!   have layout 1);
//! - `log`: the entries, JSON, at positions 0, 1, 2, … with no gap, appended in durable
//!   transactions (committed with fsync before [`Journal::append`] returns, so that whatever a
//!   sequencer confirmed after appending survives a crash);
//! - `batches`: the batches cut from the log, JSON, by batch number, rewritten when their status
//!   changes;
//! - `deployment`: optionally, the identity of the deployment (chain and contract) the log
//!   belongs to, stamped when the journal is created: a journal opened for another deployment
//!   is refused, since replaying its entries against a contract that never saw them would
//!   build a state L1 does not know.
//!
//! `tests/fixtures/journal-v1.redb` is a file written before this crate existed; the tests open
//! it, so that every store made so far keeps opening.

use crate::{Error, Result};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// The layout of a [`RedbJournal`] file (its tables and their encoding) this crate writes.
pub const JOURNAL_LAYOUT: u64 = 1;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// position → JSON of an entry
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
/// batch number → JSON of a batch record
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
/// "id" → the deployment's identity bytes
const DEPLOYMENT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("deployment");

/// A write-ahead log of entries and the batch records cut from it. Entries and records are
/// the family's types; the journal stores them as JSON (the family pins their bytes with
/// fixtures) and hands them back in order.
pub trait Journal: Send + 'static {
    /// The number of entries, which is the position the next one takes.
    fn len(&self) -> u64;

    /// Whether the log is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `entries` at positions `len()..`, all or none, durably before returning.
    fn append<E: Serialize>(&mut self, entries: &[E]) -> Result<()>;

    /// Records batch `number` (again, when its status changes), durably.
    fn put_batch<B: Serialize>(&mut self, number: u64, batch: &B) -> Result<()>;

    /// Every entry, in order.
    fn entries<E: DeserializeOwned>(&self) -> Result<Vec<E>>;

    /// Every batch record, in order of number (which must have no gap).
    fn batches<B: DeserializeOwned>(&self) -> Result<Vec<B>>;
}

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

/// The journal in a redb file (see the [module docs](self)).
#[derive(Debug)]
pub struct RedbJournal {
    db: Database,
    path: PathBuf,
    next: u64,
}

impl RedbJournal {
    /// Opens (or creates) the journal `file` in `dir`, whose records have the family's format
    /// `version`; with `deployment`, the journal must belong to that deployment (a new one is
    /// stamped with it).
    pub fn open(dir: &Path, file: &str, version: u64, deployment: Option<&[u8]>) -> Result<Self> {
        let db = open_versioned(dir, file, version)?;
        let path = dir.join(file);
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let layout = meta.get("layout")?.map_or(1, |v| v.value());
            if layout != JOURNAL_LAYOUT {
                return Err(Error::Storage(format!(
                    "{} has journal layout {layout}, this ply reads {JOURNAL_LAYOUT}",
                    path.display()
                )));
            }
            meta.insert("layout", JOURNAL_LAYOUT)?;
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
        let rows = table.iter()?.map(|row| row.map(|(k, v)| (k.value(), v.value().to_vec())));
        decode_rows(rows.collect::<Result<Vec<_>, _>>()?, &self.path.display().to_string(), what)
    }
}

impl Journal for RedbJournal {
    fn len(&self) -> u64 {
        RedbJournal::len(self)
    }

    fn append<E: Serialize>(&mut self, entries: &[E]) -> Result<()> {
        RedbJournal::append(self, entries)
    }

    fn put_batch<B: Serialize>(&mut self, number: u64, batch: &B) -> Result<()> {
        RedbJournal::put_batch(self, number, batch)
    }

    fn entries<E: DeserializeOwned>(&self) -> Result<Vec<E>> {
        RedbJournal::entries(self)
    }

    fn batches<B: DeserializeOwned>(&self) -> Result<Vec<B>> {
        RedbJournal::batches(self)
    }
}

/// Decodes rows that must be numbered 0, 1, 2, … without a gap.
fn decode_rows<T: DeserializeOwned>(
    rows: impl IntoIterator<Item = (u64, Vec<u8>)>,
    place: &str,
    what: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (expected, (key, value)) in rows.into_iter().enumerate() {
        if key != expected as u64 {
            return Err(Error::Storage(format!("{place}: {what} {expected} is missing")));
        }
        out.push(
            serde_json::from_slice(&value).map_err(|e| {
                Error::Storage(format!("{place}: {what} {expected} is corrupt: {e}"))
            })?,
        );
    }
    Ok(out)
}

/// The journal's twin in memory, for tests and for nodes that need no durability: the same
/// encoding (JSON), the same ordering and gap rules, nothing on disk. Clones share nothing.
#[derive(Debug, Clone, Default)]
pub struct MemoryJournal {
    log: Vec<Vec<u8>>,
    batches: BTreeMap<u64, Vec<u8>>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Journal for MemoryJournal {
    fn len(&self) -> u64 {
        self.log.len() as u64
    }

    fn append<E: Serialize>(&mut self, entries: &[E]) -> Result<()> {
        // All or none, as a redb transaction.
        let encoded = entries.iter().map(serde_json::to_vec).collect::<Result<Vec<_>, _>>()?;
        self.log.extend(encoded);
        Ok(())
    }

    fn put_batch<B: Serialize>(&mut self, number: u64, batch: &B) -> Result<()> {
        self.batches.insert(number, serde_json::to_vec(batch)?);
        Ok(())
    }

    fn entries<E: DeserializeOwned>(&self) -> Result<Vec<E>> {
        decode_rows(
            self.log.iter().cloned().enumerate().map(|(i, v)| (i as u64, v)),
            "memory",
            "log entry",
        )
    }

    fn batches<B: DeserializeOwned>(&self) -> Result<Vec<B>> {
        decode_rows(self.batches.clone(), "memory", "batch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(journal: &mut impl Journal) {
        assert!(journal.is_empty());
        journal.append(&["a".to_string(), "b".to_string()]).unwrap();
        journal.append::<String>(&[]).unwrap();
        journal.append(&["c".to_string()]).unwrap();
        journal.put_batch(0, &(0u64, 2u64)).unwrap();
        journal.put_batch(0, &(0u64, 3u64)).unwrap();
        assert_eq!(journal.len(), 3);
        assert_eq!(journal.entries::<String>().unwrap(), ["a", "b", "c"]);
        assert_eq!(journal.batches::<(u64, u64)>().unwrap(), [(0, 3)]);
        // Entries of another type are an error, not a panic.
        let err = journal.entries::<u64>().unwrap_err();
        assert!(err.to_string().contains("log entry 0 is corrupt"), "{err}");
        // A batch number that skips one is refused on reading.
        journal.put_batch(2, &(4u64, 4u64)).unwrap();
        let err = journal.batches::<(u64, u64)>().unwrap_err();
        assert!(err.to_string().contains("batch 1 is missing"), "{err}");
    }

    #[test]
    fn the_redb_journal_and_its_memory_twin_behave_alike() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&mut RedbJournal::open(dir.path(), "j.redb", 1, None).unwrap());
        exercise(&mut MemoryJournal::new());
    }

    #[test]
    fn entries_and_batches_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = RedbJournal::open(dir.path(), "j.redb", 1, None).unwrap();
        journal.append(&["a".to_string(), "b".to_string()]).unwrap();
        journal.put_batch(0, &(0u64, 3u64)).unwrap();
        drop(journal);
        let journal = RedbJournal::open(dir.path(), "j.redb", 1, None).unwrap();
        assert_eq!(journal.len(), 2);
        assert_eq!(journal.entries::<String>().unwrap(), ["a", "b"]);
        assert_eq!(journal.batches::<(u64, u64)>().unwrap(), [(0, 3)]);
    }

    #[test]
    fn another_version_layout_or_deployment_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(RedbJournal::open(dir.path(), "j.redb", 2, Some(b"ours")).unwrap());
        drop(RedbJournal::open(dir.path(), "j.redb", 2, Some(b"ours")).expect("its own journal"));
        drop(RedbJournal::open(dir.path(), "j.redb", 2, None).expect("no deployment asked"));
        let err = RedbJournal::open(dir.path(), "j.redb", 3, Some(b"ours")).unwrap_err();
        assert!(err.to_string().contains("format version 2, this ply reads 3"), "{err}");
        let err = RedbJournal::open(dir.path(), "j.redb", 2, Some(b"theirs")).unwrap_err();
        assert!(err.to_string().contains("another deployment"), "{err}");
        // A file of a later layout.
        {
            let db = Database::create(dir.path().join("j.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META).unwrap().insert("layout", JOURNAL_LAYOUT + 1).unwrap();
            txn.commit().unwrap();
        }
        let err = RedbJournal::open(dir.path(), "j.redb", 2, None).unwrap_err();
        assert!(err.to_string().contains("journal layout 2, this ply reads 1"), "{err}");
    }
}
