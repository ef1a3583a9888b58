//! Persistence of the embedded chain in an embedded database (redb): the current world state,
//! every block with its receipts and undo record, and the clock offset. Each block is one
//! transaction of the database, so a crash leaves the chain at a block boundary.

use super::{
    MinedBlock, MinedReceipt, PooledTx,
    state::{StateDiff, WorldState},
};
use crate::{Error, Result};
use alloy::{
    consensus::{Header, TxEnvelope},
    eips::{Decodable2718, Encodable2718},
    primitives::{Address, B256, Bytes, U256},
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use revm::{primitives::KECCAK_EMPTY, state::AccountInfo};
use serde::{Deserialize, Serialize};
use std::{path::Path, sync::Arc};

/// The version of the on-disk layout; bumped when a record's encoding changes.
const FORMAT_VERSION: u64 = 1;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// address (20) → balance (32) ‖ nonce (8, BE) ‖ code hash (32)
const ACCOUNTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("accounts");
/// address (20) ‖ slot (32) → value (32)
const STORAGE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("storage");
/// code hash (32) → bytecode
const CODE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("code");
/// block number → [`BlockRecord`] (JSON)
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");

/// A block as stored.
#[derive(Serialize, Deserialize)]
struct BlockRecord {
    version: u64,
    header: Header,
    hash: B256,
    /// EIP-2718 encodings.
    transactions: Vec<Bytes>,
    senders: Vec<Address>,
    receipts: Vec<MinedReceipt>,
    undo: StateDiff,
}

/// What [`Store::load`] finds on disk.
pub(super) struct Loaded {
    pub(super) chain_id: u64,
    pub(super) time_offset: i64,
    pub(super) db: WorldState,
    pub(super) blocks: Vec<(MinedBlock, StateDiff)>,
}

/// The on-disk chain.
pub(super) struct Store {
    db: Database,
}

fn encode_account(info: &AccountInfo) -> [u8; 72] {
    let mut out = [0u8; 72];
    out[..32].copy_from_slice(&info.balance.to_be_bytes::<32>());
    out[32..40].copy_from_slice(&info.nonce.to_be_bytes());
    out[40..].copy_from_slice(info.code_hash.as_slice());
    out
}

fn decode_account(bytes: &[u8]) -> Result<AccountInfo> {
    if bytes.len() != 72 {
        return Err(Error::Storage(format!(
            "account record of {} bytes, expected 72",
            bytes.len()
        )));
    }
    Ok(AccountInfo {
        balance: U256::from_be_slice(&bytes[..32]),
        nonce: u64::from_be_bytes(bytes[32..40].try_into().expect("8 bytes")),
        code_hash: B256::from_slice(&bytes[40..]),
        ..Default::default()
    })
}

fn storage_key(address: &Address, slot: &U256) -> [u8; 52] {
    let mut key = [0u8; 52];
    key[..20].copy_from_slice(address.as_slice());
    key[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    key
}

impl Store {
    pub(super) fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("chain.redb"))?;
        Ok(Self { db })
    }

    /// Reads the whole chain, or `None` for a new database.
    pub(super) fn load(&self) -> Result<Option<Loaded>> {
        let txn = self.db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let version = meta.get("version")?.map(|v| v.value()).unwrap_or_default();
        if version != FORMAT_VERSION {
            return Err(Error::Storage(format!(
                "chain database has format version {version}, this ply reads version {FORMAT_VERSION}"
            )));
        }
        let chain_id = meta.get("chain_id")?.map(|v| v.value()).unwrap_or_default();
        let time_offset = meta.get("time_offset")?.map(|v| v.value() as i64).unwrap_or_default();

        let mut db = WorldState::default();
        for entry in txn.open_table(CODE)?.iter()? {
            let (hash, code) = entry?;
            let code = revm::state::Bytecode::new_raw(Bytes::copy_from_slice(code.value()));
            db.cache.contracts.insert(B256::from_slice(hash.value()), code);
        }
        for entry in txn.open_table(ACCOUNTS)?.iter()? {
            let (address, info) = entry?;
            let mut info = decode_account(info.value())?;
            if info.code_hash != KECCAK_EMPTY {
                info.code = db.cache.contracts.get(&info.code_hash).cloned();
            }
            db.insert_account_info(Address::from_slice(address.value()), info);
        }
        for entry in txn.open_table(STORAGE)?.iter()? {
            let (key, value) = entry?;
            let key = key.value();
            let address = Address::from_slice(&key[..20]);
            let slot = U256::from_be_slice(&key[20..]);
            if let Some(account) = db.cache.accounts.get_mut(&address) {
                account.storage.insert(slot, U256::from_be_slice(value.value()));
            }
        }
        let mut blocks = Vec::new();
        for entry in txn.open_table(BLOCKS)?.iter()? {
            let (number, record) = entry?;
            let record: BlockRecord = serde_json::from_slice(record.value())
                .map_err(|e| Error::Storage(format!("block {} is corrupt: {e}", number.value())))?;
            if record.version != FORMAT_VERSION {
                return Err(Error::Storage(format!(
                    "block {} has record version {}",
                    number.value(),
                    record.version
                )));
            }
            let mut transactions = Vec::with_capacity(record.transactions.len());
            for (raw, sender) in record.transactions.iter().zip(&record.senders) {
                let tx = TxEnvelope::decode_2718(&mut raw.as_ref()).map_err(|e| {
                    Error::Storage(format!("block {}: bad transaction: {e}", number.value()))
                })?;
                let hash = *tx.hash();
                transactions.push(PooledTx { tx: Arc::new(tx), sender: *sender, hash });
            }
            let block = MinedBlock {
                header: record.header,
                hash: record.hash,
                transactions,
                receipts: record.receipts,
            };
            blocks.push((block, record.undo));
        }
        Ok(Some(Loaded { chain_id, time_offset, db, blocks }))
    }

    /// Writes the current values of every key in `diff` (what a block changed, or what undoing
    /// blocks restored).
    fn write_state(txn: &redb::WriteTransaction, diff: &StateDiff, db: &WorldState) -> Result<()> {
        let mut accounts = txn.open_table(ACCOUNTS)?;
        let mut storage = txn.open_table(STORAGE)?;
        let mut code = txn.open_table(CODE)?;
        for address in diff.accounts.keys() {
            match db.cache.accounts.get(address).and_then(|a| a.info()) {
                Some(info) => {
                    accounts.insert(address.as_slice(), encode_account(&info).as_slice())?;
                    if info.code_hash != KECCAK_EMPTY
                        && code.get(info.code_hash.as_slice())?.is_none()
                        && let Some(bytecode) = db.cache.contracts.get(&info.code_hash)
                    {
                        code.insert(info.code_hash.as_slice(), bytecode.original_byte_slice())?;
                    }
                }
                None => {
                    accounts.remove(address.as_slice())?;
                }
            }
        }
        for (address, slot) in diff.storage.keys() {
            let value = db
                .cache
                .accounts
                .get(address)
                .and_then(|a| a.storage.get(slot).copied())
                .unwrap_or_default();
            let key = storage_key(address, slot);
            if value.is_zero() {
                storage.remove(key.as_slice())?;
            } else {
                storage.insert(key.as_slice(), value.to_be_bytes::<32>().as_slice())?;
            }
        }
        Ok(())
    }

    /// Persists a newly mined block and the state it left, atomically.
    pub(super) fn append_block(
        &self,
        block: &MinedBlock,
        undo: &StateDiff,
        db: &WorldState,
        time_offset: i64,
    ) -> Result<()> {
        let record = BlockRecord {
            version: FORMAT_VERSION,
            header: block.header.clone(),
            hash: block.hash,
            transactions: block.transactions.iter().map(|t| t.tx.encoded_2718().into()).collect(),
            senders: block.transactions.iter().map(|t| t.sender).collect(),
            receipts: block.receipts.clone(),
            undo: undo.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Storage(e.to_string()))?;
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("version", FORMAT_VERSION)?;
            meta.insert("time_offset", time_offset as u64)?;
            txn.open_table(BLOCKS)?.insert(block.number(), bytes.as_slice())?;
        }
        Self::write_state(&txn, undo, db)?;
        txn.commit()?;
        Ok(())
    }

    /// Drops every block after `head` and writes the state that undoing them restored.
    pub(super) fn truncate(
        &self,
        head: u64,
        undone: &[StateDiff],
        db: &WorldState,
        time_offset: i64,
    ) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            blocks.retain(|number, _| number <= head)?;
            txn.open_table(META)?.insert("time_offset", time_offset as u64)?;
        }
        for diff in undone {
            Self::write_state(&txn, diff, db)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Marks a new database as holding chain `chain_id`, in this format version.
    pub(super) fn init(&self, chain_id: u64) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("version", FORMAT_VERSION)?;
            meta.insert("chain_id", chain_id)?;
        }
        txn.commit()?;
        Ok(())
    }

    pub(super) fn set_time_offset(&self, time_offset: i64) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert("time_offset", time_offset as u64)?;
        txn.commit()?;
        Ok(())
    }
}
