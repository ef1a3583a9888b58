// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {SparseProof} from "./SparseProof.sol";

// The types of the one-step proof (docs/rollup.md, "Steps" and "The one-step witness"). Field
// order is part of the specification: the Rust players ABI-encode the same structs.

/// @dev Step phases.
uint8 constant PHASE_START = 0;
uint8 constant PHASE_BLOCKS = 1;
uint8 constant PHASE_DRAIN = 2;
uint8 constant PHASE_DONE = 3;

/// @dev The state between two steps of a batch's trace.
struct StepState {
    uint8 phase; // 0 START, 1 BLOCKS, 2 DRAIN, 3 DONE
    bytes32 stateRoot;
    bytes32 addressRoot;
    uint64 accountCount;
    uint256 tokens;
    uint64 queueIndex;
    uint64 lastTimestamp;
    uint32 withdrawalCount;
    bytes32 withdrawalRoot; // root of the batch's withdrawal tree so far
    uint64 cursor; // next unread byte of the batch data
    uint32 blocksLeft; // blocks whose header is not read yet
    uint16 blockOps; // priority operations the current block still applies
    uint16 blockTxs; // transactions the current block still holds
}

/// @dev An account read: an empty position has `balancesRoot == 0` (then `addr`, `nonce` and
///      `balance` are 0 and `balanceProof` is against the empty balance tree).
struct AccountWitness {
    address addr;
    uint64 nonce;
    bytes32 balancesRoot;
    uint256 balance;
    SparseProof balanceProof;
    SparseProof accountProof;
}

/// @dev An address-tree read: `leaf` is `bytes32(index + 1)` for an address with an account, 0
///      otherwise (the leaf is part of the witness: it names the account of a deposit's recipient
///      and proves that a `New(addr)` recipient already has one).
struct AddressProof {
    bytes32 leaf;
    SparseProof proof;
}

/// @dev A chunk of the batch data with its Merkle proof (`depth` siblings) to the data root.
struct DataChunk {
    uint256 index;
    bytes data;
    bytes32[] proof;
}

/// @dev A priority operation, as queued in the Bridge.
struct PriorityOp {
    uint8 kind;
    address from;
    address to;
    uint32 token;
    uint256 amount;
    uint64 timestamp;
}

/// @dev Everything one step reads, in the order it reads it.
struct StepWitness {
    DataChunk[] chunks; // contiguous from chunk cursor / 1024, as many as the step reads
    PriorityOp op; // the operation the step applies (ignored otherwise)
    AddressProof[] addressProofs; // address-tree reads, in the order the step reads them
    AccountWitness[] accounts; // account reads, in order, each against the root of that moment
    SparseProof withdrawalProof; // the empty leaf at withdrawalCount, when a withdrawal is appended
}

/// @dev What the game knows about the batch and the chain, passed by the Rollup.
struct StepContext {
    uint256 batchIndex;
    uint256 queueEnd; // the batch's newQueueCount
    bytes32 dataRoot;
    uint256 dataLength;
    bytes32 domainSeparator; // EIP-712 domain of L2 transactions
}

/// @dev `keccak256(abi.encode(stateRoot, addressRoot, accountCount, tokens, queueIndex,
///      lastTimestamp))`.
function stateCommitmentOf(StepState memory s) pure returns (bytes32) {
    return keccak256(abi.encode(s.stateRoot, s.addressRoot, s.accountCount, s.tokens, s.queueIndex, s.lastTimestamp));
}

/// @dev The hash of a step state: the output root for DONE, otherwise the hash of the phase,
///      the state commitment and the batch-local fields.
function stepHashOf(StepState memory s) pure returns (bytes32) {
    bytes32 commitment = stateCommitmentOf(s);
    if (s.phase == PHASE_DONE) return keccak256(abi.encode(commitment, s.withdrawalRoot));
    return keccak256(
        abi.encode(
            s.phase, commitment, s.withdrawalCount, s.withdrawalRoot, s.cursor, s.blocksLeft, s.blockOps, s.blockTxs
        )
    );
}

/// @dev The hash of `S_0` of a batch: START after the state `commitment`, no withdrawals.
function startHashOf(bytes32 commitment, bytes32 emptyWithdrawalRoot) pure returns (bytes32) {
    return keccak256(
        abi.encode(PHASE_START, commitment, uint32(0), emptyWithdrawalRoot, uint64(0), uint32(0), uint16(0), uint16(0))
    );
}
