//! The tower's persistence (redb): the states it holds and the block its event reading
//! resumes from. Every write is one durable commit (one fsync) before the client is told
//! "stored", so a restarted tower keeps every state it acknowledged.
//!
//! Values are `[format version (1 byte)] ‖ JSON`; the `meta` table holds the format version
//! and a store of another version is refused.

use super::{WatchKey, WatchedState};
use crate::{ChannelError, Result};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// The format version of the tower's stored values.
pub const TOWER_STORE_VERSION: u8 = 1;

const STATES: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("watched_states");
const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta");
const VERSION_KEY: &str = "version";
const RESUME_KEY: &str = "resume_block";

fn key_bytes(key: &WatchKey) -> [u8; 52] {
    let mut out = [0u8; 52];
    out[..32].copy_from_slice(key.0.as_slice());
    out[32..].copy_from_slice(key.1.as_slice());
    out
}

/// A tower's redb database.
#[derive(Debug)]
pub struct TowerStore {
    db: Database,
}

impl TowerStore {
    /// Opens (or creates) the store at `path`; refuses a store of another format version.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let version = meta.get(VERSION_KEY)?.map(|v| v.value());
            match version {
                None => {
                    meta.insert(VERSION_KEY, u64::from(TOWER_STORE_VERSION))?;
                }
                Some(v) if v == u64::from(TOWER_STORE_VERSION) => {}
                Some(v) => {
                    return Err(ChannelError::Storage(format!(
                        "watchtower store {} has format version {v}, this build reads {}",
                        path.display(),
                        TOWER_STORE_VERSION
                    )));
                }
            }
            tx.open_table(STATES)?;
        }
        tx.commit()?;
        Ok(Self { db })
    }

    /// Stores `state` durably (replacing the one held for its channel and client).
    pub fn put(&self, state: &WatchedState) -> Result<()> {
        let mut value = vec![TOWER_STORE_VERSION];
        value.extend(serde_json::to_vec(state)?);
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(STATES)?;
            table.insert(
                key_bytes(&(state.channel_id(), state.client)).as_slice(),
                value.as_slice(),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every stored state.
    pub fn states(&self) -> Result<Vec<WatchedState>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(STATES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            let bytes = value.value();
            match bytes.split_first() {
                Some((&TOWER_STORE_VERSION, json)) => out.push(serde_json::from_slice(json)?),
                _ => {
                    return Err(ChannelError::Storage(
                        "a watched state of an unknown format version".into(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The block event reading resumes from (0 when never set).
    pub fn resume_block(&self) -> Result<u64> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(meta.get(RESUME_KEY)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Records the block event reading resumes from.
    pub fn set_resume_block(&self, block: u64) -> Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(META)?.insert(RESUME_KEY, block)?;
        tx.commit()?;
        Ok(())
    }
}
