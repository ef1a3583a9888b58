//! The sidechain's consensus block (format version 1): the ordered Ethereum transactions the
//! validators agree on, with the parent and a timestamp. Consensus orders blocks; every node then
//! executes each finalised block with the embedded L1's executor
//! ([`ply_l1::chain::Chain::execute_block`]), so the same block gives the same EVM block, state
//! root and receipts on every node (execution follows finality).
//!
//! Encoding: `version (1) ‖ parent (32) ‖ height (u64 BE) ‖ timestamp (u64 BE) ‖ count (u32 BE)
//! ‖ count × (length (u32 BE) ‖ EIP-2718 transaction)`. The block id is `sha256` of it (the
//! digest the consensus library votes on).

use crate::{Error, Result};
use commonware_cryptography::{Hasher, Sha256, sha256::Digest};

/// The encoding's version byte.
pub const BLOCK_VERSION: u8 = 1;
/// The most transactions one block carries.
pub const MAX_BLOCK_TRANSACTIONS: usize = 10_000;
/// The most bytes one encoded block has (4 MiB).
pub const MAX_BLOCK_BYTES: usize = 4 << 20;

/// A consensus block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The parent's id (the genesis id for height 1).
    pub parent: Digest,
    /// Its height: the parent's plus one (the genesis is 0).
    pub height: u64,
    /// Seconds since the Unix epoch, at least the parent's: the EVM block's timestamp.
    pub timestamp: u64,
    /// EIP-2718 encoded signed transactions, in execution order.
    pub transactions: Vec<Vec<u8>>,
}

impl Block {
    /// The genesis of the sidechain `chain_id`: height 0, timestamp `genesis_timestamp`, no
    /// transactions, its parent the zero digest.
    pub fn genesis(chain_id: u64, genesis_timestamp: u64) -> Self {
        let mut parent = [0u8; 32];
        parent[24..].copy_from_slice(&chain_id.to_be_bytes());
        Self {
            parent: Digest::from(parent),
            height: 0,
            timestamp: genesis_timestamp,
            transactions: Vec::new(),
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let size = 53 + self.transactions.iter().map(|t| 4 + t.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.push(BLOCK_VERSION);
        out.extend_from_slice(self.parent.as_ref());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&(self.transactions.len() as u32).to_be_bytes());
        for tx in &self.transactions {
            out.extend_from_slice(&(tx.len() as u32).to_be_bytes());
            out.extend_from_slice(tx);
        }
        out
    }

    /// Decodes the canonical encoding; refuses any other bytes (a wrong version, a truncated
    /// or over-long block, trailing bytes, more than [`MAX_BLOCK_TRANSACTIONS`]).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::MalformedBlock { reason };
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(bad(format!("{} bytes, at most {MAX_BLOCK_BYTES}", bytes.len())));
        }
        let mut reader = Reader { bytes, at: 0 };
        let version = reader.take(1).map_err(bad)?[0];
        if version != BLOCK_VERSION {
            return Err(bad(format!("version {version}, not {BLOCK_VERSION}")));
        }
        let parent: [u8; 32] = reader.take(32).map_err(bad)?.try_into().expect("32 bytes");
        let height = reader.u64().map_err(bad)?;
        let timestamp = reader.u64().map_err(bad)?;
        let count = reader.u32().map_err(bad)? as usize;
        if count > MAX_BLOCK_TRANSACTIONS {
            return Err(bad(format!("{count} transactions, at most {MAX_BLOCK_TRANSACTIONS}")));
        }
        let mut transactions = Vec::with_capacity(count);
        for _ in 0..count {
            let len = reader.u32().map_err(bad)? as usize;
            transactions.push(reader.take(len).map_err(bad)?.to_vec());
        }
        if reader.at != bytes.len() {
            return Err(bad(format!("{} trailing bytes", bytes.len() - reader.at)));
        }
        Ok(Self { parent: Digest::from(parent), height, timestamp, transactions })
    }

    /// The block id: `sha256` of the encoding.
    pub fn digest(&self) -> Digest {
        Sha256::hash(&[&self.encode()])
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}
