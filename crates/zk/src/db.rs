//! The embedded database (redb) files of the zk family: opened with a format version check.

use crate::{Result, ZkError};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// Opens (or creates) the redb database `file` in `dir`, stamping a new one with `version`
/// and refusing one with another; `error` wraps what went wrong.
pub(crate) fn open_versioned(
    dir: &Path,
    file: &str,
    version: u64,
    error: fn(String) -> ZkError,
) -> Result<Database> {
    std::fs::create_dir_all(dir)
        .map_err(|e| error(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(file);
    let db = Database::create(&path)
        .map_err(|e| error(format!("cannot open {}: {e}", path.display())))?;
    let storage = |e: redb::Error| error(e.to_string());
    let txn = db.begin_write().map_err(|e| storage(e.into()))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| storage(e.into()))?;
        let found = meta.get("version").map_err(|e| storage(e.into()))?.map(|v| v.value());
        match found {
            None => {
                meta.insert("version", version).map_err(|e| storage(e.into()))?;
            }
            Some(v) if v == version => {}
            Some(v) => {
                return Err(error(format!(
                    "{} has format version {v}, this ply reads {version}",
                    path.display()
                )));
            }
        }
    }
    txn.commit().map_err(|e| storage(e.into()))?;
    Ok(db)
}
