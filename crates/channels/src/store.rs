//! Persistence: the [`Store`] trait, its redb implementation and an in-memory twin.
//!
//! A store applies the [`Record`]s of one or more [`Actions`](crate::manager::Actions) in one
//! atomic, durable commit: [`RedbStore`] writes them in one redb write transaction, committed
//! with one fsync, so a driver that gathers the records of many payments (group commit) pays
//! one fsync for all of them. [`Store::load`] gives back the [`Snapshot`] a restarted node is
//! rebuilt from ([`ChannelManager::restore`](crate::manager::ChannelManager::restore)).
//!
//! Values are `[format version (1 byte)] ‖ JSON`; the database's `meta` table holds the
//! format version and a store of another version is refused.

use crate::{
    ChannelError, Result,
    channel::ChannelState,
    manager::{NodeMeta, OutboxEntry, Payment, Record, Snapshot},
};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};
use std::{collections::BTreeMap, path::Path};

/// The format version of stored values.
pub const STORE_VERSION: u8 = 1;

/// Where a node keeps its state.
pub trait Store {
    /// Applies `records` atomically and durably: when this returns `Ok`, all of them survive
    /// a crash; when it fails, none of them counts.
    fn commit(&mut self, records: &[Record]) -> Result<()>;
    /// Everything committed so far.
    fn load(&self) -> Result<Snapshot>;
}

/// A store in memory, for tests: the same semantics without a disk.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    channels: BTreeMap<ply_core::B256, ChannelState>,
    payments: BTreeMap<ply_core::B256, Payment>,
    outbox: BTreeMap<u64, OutboxEntry>,
    meta: NodeMeta,
    commits: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many commits were made.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// A stored channel.
    pub fn channel(&self, id: &ply_core::B256) -> Option<&ChannelState> {
        self.channels.get(id)
    }
}

impl Store for MemoryStore {
    fn commit(&mut self, records: &[Record]) -> Result<()> {
        for r in records {
            match r {
                Record::Channel(c) => {
                    self.channels.insert(c.id(), (**c).clone());
                }
                Record::Payment(p) => {
                    self.payments.insert(p.secrethash, (**p).clone());
                }
                Record::PaymentDone(h) => {
                    self.payments.remove(h);
                }
                Record::Outbox(id, e) => {
                    self.outbox.insert(*id, (**e).clone());
                }
                Record::OutboxDone(id) => {
                    self.outbox.remove(id);
                }
                Record::Meta(m) => self.meta = m.clone(),
            }
        }
        self.commits += 1;
        Ok(())
    }

    fn load(&self) -> Result<Snapshot> {
        Ok(Snapshot {
            channels: self.channels.values().cloned().collect(),
            payments: self.payments.values().cloned().collect(),
            outbox: self.outbox.clone(),
            meta: self.meta.clone(),
        })
    }
}

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const CHANNELS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("channels");
const PAYMENTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("payments");
const OUTBOX: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("outbox");
const NODE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("node");

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = vec![STORE_VERSION];
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    match bytes.split_first() {
        Some((&STORE_VERSION, json)) => Ok(serde_json::from_slice(json)?),
        Some((v, _)) => Err(ChannelError::Storage(format!(
            "{what} has format version {v}, this node reads {STORE_VERSION}"
        ))),
        None => Err(ChannelError::Storage(format!("{what} is empty"))),
    }
}

/// A store in a redb database file.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
}

impl RedbStore {
    /// Opens (or creates) the store `channels.redb` in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ChannelError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("channels.redb");
        let db = Database::create(&path)
            .map_err(|e| ChannelError::Storage(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let found = meta.get("version")?.map(|v| v.value());
            match found {
                None => {
                    meta.insert("version", u64::from(STORE_VERSION))?;
                }
                Some(v) if v == u64::from(STORE_VERSION) => {}
                Some(v) => {
                    return Err(ChannelError::Storage(format!(
                        "{} has format version {v}, this node reads {STORE_VERSION}",
                        path.display()
                    )));
                }
            }
            txn.open_table(CHANNELS)?;
            txn.open_table(PAYMENTS)?;
            txn.open_table(OUTBOX)?;
            txn.open_table(NODE)?;
        }
        txn.commit()?;
        Ok(Self { db })
    }
}

impl Store for RedbStore {
    fn commit(&mut self, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut channels = txn.open_table(CHANNELS)?;
            let mut payments = txn.open_table(PAYMENTS)?;
            let mut outbox = txn.open_table(OUTBOX)?;
            let mut node = txn.open_table(NODE)?;
            for r in records {
                match r {
                    Record::Channel(c) => {
                        channels.insert(c.id().as_slice(), encode(c)?.as_slice())?;
                    }
                    Record::Payment(p) => {
                        payments.insert(p.secrethash.as_slice(), encode(p)?.as_slice())?;
                    }
                    Record::PaymentDone(h) => {
                        payments.remove(h.as_slice())?;
                    }
                    Record::Outbox(id, e) => {
                        outbox.insert(*id, encode(e)?.as_slice())?;
                    }
                    Record::OutboxDone(id) => {
                        outbox.remove(*id)?;
                    }
                    Record::Meta(m) => {
                        node.insert("meta", encode(m)?.as_slice())?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn load(&self) -> Result<Snapshot> {
        let txn = self.db.begin_read()?;
        let mut snapshot = Snapshot::default();
        for row in txn.open_table(CHANNELS)?.iter()? {
            let (_, v) = row?;
            snapshot.channels.push(decode(v.value(), "a channel")?);
        }
        for row in txn.open_table(PAYMENTS)?.iter()? {
            let (_, v) = row?;
            snapshot.payments.push(decode(v.value(), "a payment")?);
        }
        for row in txn.open_table(OUTBOX)?.iter()? {
            let (k, v) = row?;
            snapshot.outbox.insert(k.value(), decode(v.value(), "an outbox entry")?);
        }
        if let Some(m) = txn.open_table(NODE)?.get("meta")? {
            snapshot.meta = decode(m.value(), "the node's counters")?;
        }
        Ok(snapshot)
    }
}
