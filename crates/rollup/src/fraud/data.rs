//! The batch data commitment (`docs/rollup.md`, "Batch data commitment (version 2)").

use super::DataChunk;
use alloy::{
    primitives::{B256, U256, keccak256},
    sol_types::SolValue,
};
use ply_ledger::KeccakHasher;

/// The size of a batch data chunk.
pub const CHUNK_SIZE: usize = 1024;

/// A batch's data with the Merkle tree over its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchData {
    data: Vec<u8>,
    /// `levels[0]` are the leaves padded to a power of two; the last level is the root.
    levels: Vec<Vec<B256>>,
}

impl BatchData {
    /// Splits `data` into chunks and builds their tree.
    pub fn new(data: Vec<u8>) -> Self {
        let mut leaves: Vec<B256> = data.chunks(CHUNK_SIZE).map(keccak256).collect();
        if !leaves.is_empty() {
            leaves.resize(leaves.len().next_power_of_two(), B256::ZERO);
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|level| level.len() > 1) {
            let next = levels
                .last()
                .expect("a level")
                .chunks(2)
                .map(|pair| KeccakHasher::hash_node(pair[0], pair[1]))
                .collect();
            levels.push(next);
        }
        Self { data, levels }
    }

    /// The data.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The number of chunks, `ceil(len / 1024)`.
    pub fn chunk_count(&self) -> usize {
        self.data.len().div_ceil(CHUNK_SIZE)
    }

    /// The tree's depth, `ceil(log2(chunks))` (0 for one chunk or none).
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// `dataRoot`: the root of the chunk tree, `bytes32(0)` for empty data.
    pub fn root(&self) -> B256 {
        self.levels.last().and_then(|level| level.first()).copied().unwrap_or(B256::ZERO)
    }

    /// Chunk `index` with its proof (`None` beyond the data).
    pub fn chunk(&self, index: usize) -> Option<DataChunk> {
        let bytes = self.data.chunks(CHUNK_SIZE).nth(index)?;
        let proof =
            (0..self.depth()).map(|level| self.levels[level][(index >> level) ^ 1]).collect();
        Some(DataChunk { index: U256::from(index), data: bytes.to_vec().into(), proof })
    }

    /// The chunks holding the bytes `range` (none for an empty range).
    pub fn chunks_for(&self, range: std::ops::Range<usize>) -> Vec<DataChunk> {
        if range.is_empty() {
            return Vec::new();
        }
        (range.start / CHUNK_SIZE..=(range.end - 1) / CHUNK_SIZE)
            .map(|index| self.chunk(index).expect("the range is inside the data"))
            .collect()
    }
}

/// Whether `chunk` is chunk `chunk.index` of data of root `root` and length `length`: its
/// size (1,024 bytes, the last one the rest), its proof of `ceil(log2(chunks))` siblings.
pub fn verify_chunk(chunk: &DataChunk, root: B256, length: u64) -> bool {
    let chunks = length.div_ceil(CHUNK_SIZE as u64);
    let Ok(index) = u64::try_from(chunk.index) else { return false };
    if index >= chunks {
        return false;
    }
    let expected =
        if index + 1 == chunks { length - index * CHUNK_SIZE as u64 } else { CHUNK_SIZE as u64 };
    let depth = chunks.next_power_of_two().trailing_zeros() as usize;
    if chunk.data.len() as u64 != expected || chunk.proof.len() != depth {
        return false;
    }
    let mut node = keccak256(&chunk.data);
    for (level, sibling) in chunk.proof.iter().enumerate() {
        node = if (index >> level) & 1 == 1 {
            KeccakHasher::hash_node(*sibling, node)
        } else {
            KeccakHasher::hash_node(node, *sibling)
        };
    }
    node == root
}

/// `batchHash[b] = keccak256(abi.encode(uint256 b, uint256 prevQueueCount, uint256
/// newQueueCount, bytes32 dataRoot, uint256 dataLength))`.
pub fn batch_hash(
    batch_index: u64,
    prev_queue_count: u64,
    new_queue_count: u64,
    data_root: B256,
    data_length: u64,
) -> B256 {
    keccak256(
        (
            U256::from(batch_index),
            U256::from(prev_queue_count),
            U256::from(new_queue_count),
            data_root,
            U256::from(data_length),
        )
            .abi_encode_params(),
    )
}
