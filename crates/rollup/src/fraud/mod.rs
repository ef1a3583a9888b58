//! The optimistic rollup's fraud proof, its pure half (`docs/rollup.md`, "Fraud proofs
//! (version 1)"): the step machine that derivation, sequencer output and dispute trace share,
//! the hashes the L1 contracts check, and the witness of one step.
//!
//! In the order a dispute uses them:
//! - [`StepState`], [`step_hash`], [`state_commitment`] and [`output_root`]: what a step
//!   state is and how L1 commits to it (`S_N`'s step hash is the output root);
//! - [`BatchData`]: the batch data's 1,024-byte chunks, their root (`dataRoot`) and their
//!   proofs, and [`batch_hash`];
//! - [`StepMachine`]: one step of derivation rules v2 (prefix semantics, priority operations,
//!   drain), over a [`Ledger`](ply_ledger::Ledger);
//! - [`Trace`]: every step hash of a batch from `S_0` to `S_N` ([`trace_length`]), and the
//!   pre-state and [`StepWitness`] of any step, each account read proven against the root of
//!   its moment.
//!
//! The `sol!` structs have the field order of the specification, so `abi_encode` gives the
//! bytes the one-step executor decodes.

mod data;
mod machine;
pub mod player;
mod trace;
mod witness;

pub use data::{BatchData, CHUNK_SIZE, batch_hash, verify_chunk};
pub use machine::{BatchInput, Phase, StepEvent, StepMachine, TxVerifier, VerifySignatures};
pub use trace::{Trace, trace_length};
pub use witness::{StepProof, step_context};

use alloy::{
    primitives::{B256, keccak256},
    sol_types::SolValue,
};
use ply_ledger::{KeccakHasher, PriorityOp, SparseProof, StateCommitment};

alloy::sol! {
    /// The state between two steps of a batch's trace (`docs/rollup.md`, "Steps").
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct StepState {
        /// 0 START, 1 BLOCKS, 2 DRAIN, 3 DONE ([`Phase`]).
        uint8 phase;
        /// The state tree's root.
        bytes32 stateRoot;
        /// The address tree's root.
        bytes32 addressRoot;
        /// The number of accounts.
        uint64 accountCount;
        /// The known-token bitmap.
        uint256 tokens;
        /// Priority operations consumed.
        uint64 queueIndex;
        /// The last block header's timestamp.
        uint64 lastTimestamp;
        /// Withdrawals of the batch so far.
        uint32 withdrawalCount;
        /// The root of the batch's withdrawal tree so far.
        bytes32 withdrawalRoot;
        /// The next unread byte of the batch data.
        uint64 cursor;
        /// Blocks whose header is not read yet.
        uint32 blocksLeft;
        /// Priority operations the current block still applies.
        uint16 blockOps;
        /// Transactions the current block still holds.
        uint16 blockTxs;
    }

    /// One account read of a step: the account's fields, its balance of the step's token with
    /// its proof in the balance tree, and the account's proof in the state tree. An empty
    /// position has `balancesRoot == 0` (and zero `addr`, `nonce`, `balance`; its balance
    /// proof is against the empty balance tree).
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct AccountWitness {
        /// The account's address.
        address addr;
        /// Its nonce.
        uint64 nonce;
        /// Its balance tree's root (0 for an empty position).
        bytes32 balancesRoot;
        /// Its balance of the step's token.
        uint256 balance;
        /// The balance leaf's proof in the balance tree.
        SparseProof balanceProof;
        /// The account leaf's proof in the state tree.
        SparseProof accountProof;
    }

    /// One 1,024-byte chunk of the batch data (the last may be shorter) with its proof
    /// (`depth` siblings, leaf level first) against `dataRoot`.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct DataChunk {
        /// The chunk's position.
        uint256 index;
        /// Its bytes.
        bytes data;
        /// Its siblings.
        bytes32[] proof;
    }

    /// One address-tree read: the leaf of the address (`bytes32(index + 1)` for an address
    /// with an account, 0 otherwise) and its compressed proof against the address root.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct AddressProof {
        /// The address tree's leaf.
        bytes32 leaf;
        /// Its proof (depth 160).
        SparseProof proof;
    }

    /// Everything one step reads, in the order the rules read it.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct StepWitness {
        /// Chunks, contiguous from chunk `cursor / 1024` (0 in START), exactly those holding
        /// the bytes the step reads.
        DataChunk[] chunks;
        /// The operation the step applies (all zero when it applies none).
        PriorityOp op;
        /// Address-tree reads, in read order.
        AddressProof[] addressProofs;
        /// Account reads, in order, each against the state root of its moment.
        AccountWitness[] accounts;
        /// The empty leaf at `withdrawalCount`, when the step appends a withdrawal (else empty).
        SparseProof withdrawalProof;
    }

    /// What the game knows about the batch and the chain: the executor's third argument.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct StepContext {
        /// The batch index (part of every withdrawal leaf).
        uint256 batchIndex;
        /// The batch's `newQueueCount`.
        uint256 queueEnd;
        /// The root of the batch data's chunk tree.
        bytes32 dataRoot;
        /// The length of the batch data.
        uint256 dataLength;
        /// The EIP-712 domain separator of L2 transactions.
        bytes32 domainSeparator;
    }
}

/// `stateCommitment(S)`: the commitment of the state fields of a step state.
pub fn state_commitment(state: &StepState) -> B256 {
    commitment_of(state).hash()
}

/// The [`StateCommitment`] of a step state's fields.
pub fn commitment_of(state: &StepState) -> StateCommitment {
    StateCommitment {
        stateRoot: state.stateRoot,
        addressRoot: state.addressRoot,
        accountCount: state.accountCount,
        tokens: state.tokens,
        queueIndex: state.queueIndex,
        lastTimestamp: state.lastTimestamp,
    }
}

/// The output root of a batch: `keccak256(abi.encode(stateCommitment, withdrawalRoot))`.
pub fn output_root(state_commitment: B256, withdrawal_root: B256) -> B256 {
    KeccakHasher::hash_node(state_commitment, withdrawal_root)
}

/// `stepHash(S)`: the output root once DONE, otherwise
/// `keccak256(abi.encode(uint8 phase, stateCommitment, uint32 withdrawalCount, bytes32
/// withdrawalRoot, uint64 cursor, uint32 blocksLeft, uint16 blockOps, uint16 blockTxs))`.
pub fn step_hash(state: &StepState) -> B256 {
    let commitment = state_commitment(state);
    if state.phase == Phase::Done as u8 {
        return output_root(commitment, state.withdrawalRoot);
    }
    type Fields = (
        alloy::sol_types::sol_data::Uint<8>,
        alloy::sol_types::sol_data::FixedBytes<32>,
        alloy::sol_types::sol_data::Uint<32>,
        alloy::sol_types::sol_data::FixedBytes<32>,
        alloy::sol_types::sol_data::Uint<64>,
        alloy::sol_types::sol_data::Uint<32>,
        alloy::sol_types::sol_data::Uint<16>,
        alloy::sol_types::sol_data::Uint<16>,
    );
    use alloy::sol_types::SolType;
    keccak256(Fields::abi_encode_params(&(
        state.phase,
        commitment,
        state.withdrawalCount,
        state.withdrawalRoot,
        state.cursor,
        state.blocksLeft,
        state.blockOps,
        state.blockTxs,
    )))
}

impl StepWitness {
    /// The witness as the contract's `step` takes it: `abi.encode(witness)`.
    pub fn encode(&self) -> Vec<u8> {
        self.abi_encode()
    }
}
