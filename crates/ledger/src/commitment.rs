//! The state commitment (`docs/rollup.md`, "The state commitment"): the state root with
//! everything else the derivation rules read, in one hash.

use alloy::sol_types::SolValue;
use ply_core::{B256, keccak256};

alloy::sol! {
    /// Everything the state commits to, in the order of `stateCommitment`.
    #[derive(Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    struct StateCommitment {
        /// The root of the state tree (accounts).
        bytes32 stateRoot;
        /// The root of the address tree (address to index + 1).
        bytes32 addressRoot;
        /// The number of accounts: the next new account's index.
        uint64 accountCount;
        /// The known tokens: bit `t` set when token `t` is known.
        uint256 tokens;
        /// The number of priority operations consumed.
        uint64 queueIndex;
        /// The timestamp of the last block header read.
        uint64 lastTimestamp;
    }
}

impl StateCommitment {
    /// `keccak256(abi.encode(stateRoot, addressRoot, accountCount, tokens, queueIndex,
    /// lastTimestamp))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}
