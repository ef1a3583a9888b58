// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// The signed messages of ply's sidechain bridge, version 1 (docs/sidechain.md, "Message formats"),
// and the withdrawals tree of a checkpoint.
//
// EIP-712: domain `EIP712Domain(string name,string version,uint256 chainId,address
// verifyingContract)` with name "PlySidechainBridge", version "1", the L1 chain id and the bridge's
// address; a digest is `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`.
//
// The withdrawals tree of a checkpoint is a binary Keccak Merkle tree of fixed depth 16 (65,536
// withdrawals a checkpoint). The leaf at position `i` is the checkpoint's `i`-th withdrawal:
// `keccak256(0x00 ‖ hashStruct(Withdrawal))` with `Withdrawal.index == i`; an empty position is
// `bytes32(0)`; an inner node is `keccak256(0x01 ‖ left ‖ right)`. The one-byte prefixes keep a
// leaf from ever being read as an inner node (and the other way round).
//
// File-level constants and free functions rather than a library: they are inlined into the
// contracts that use them and leave no artifact of their own.

/// @dev The EIP-712 domain's type hash.
bytes32 constant EIP712_DOMAIN_TYPEHASH =
    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

/// @dev The EIP-712 domain's name.
bytes32 constant SIDECHAIN_DOMAIN_NAME_HASH = keccak256("PlySidechainBridge");

/// @dev The EIP-712 domain's version: the version of the message formats.
bytes32 constant SIDECHAIN_DOMAIN_VERSION_HASH = keccak256("1");

/// @dev The type hash of `Checkpoint`.
bytes32 constant CHECKPOINT_TYPEHASH = keccak256(
    "Checkpoint(uint64 sidechainId,uint64 number,uint64 startBlock,uint64 endBlock,bytes32 endBlockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)"
);

/// @dev The type hash of `Withdrawal`.
bytes32 constant WITHDRAWAL_TYPEHASH = keccak256(
    "Withdrawal(uint64 sidechainId,uint64 checkpointNumber,uint64 index,address recipient,address token,uint256 amount,bytes32 burnTxHash)"
);

/// @dev The type hash of `ValidatorSetRotation`.
bytes32 constant ROTATION_TYPEHASH = keccak256(
    "ValidatorSetRotation(uint64 sidechainId,uint64 epoch,address[] validators,uint64[] weights,uint32 thresholdNumerator)"
);

/// @dev The depth of a checkpoint's withdrawals tree.
uint256 constant WITHDRAWALS_TREE_DEPTH = 16;

/// @dev The largest position in a checkpoint's withdrawals tree (`2^16 - 1`).
uint256 constant MAX_WITHDRAWAL_INDEX = 0xFFFF;

/// @notice A checkpoint: the validators' signed statement that sidechain blocks
///         `startBlock..=endBlock` are final, with the end block's hash, the state root after it and
///         the root of the withdrawals burned in the range.
/// @param sidechainId The sidechain's chain id.
/// @param number The checkpoint's number (1, 2, ...; consecutive).
/// @param startBlock The first block of the range.
/// @param endBlock The last block of the range.
/// @param endBlockHash The hash of block `endBlock`.
/// @param stateRoot The state root after block `endBlock`.
/// @param withdrawalsRoot The root of the withdrawals tree of the range (non-zero; the empty tree
///        has a non-zero root).
/// @param epoch The epoch of the validator set that signs it (the current one).
struct Checkpoint {
    uint64 sidechainId;
    uint64 number;
    uint64 startBlock;
    uint64 endBlock;
    bytes32 endBlockHash;
    bytes32 stateRoot;
    bytes32 withdrawalsRoot;
    uint64 epoch;
}

/// @notice A withdrawal burned on the sidechain: a leaf of a checkpoint's withdrawals tree.
/// @param sidechainId The sidechain's chain id.
/// @param checkpointNumber The checkpoint whose range holds the burn.
/// @param index The withdrawal's position in that checkpoint's withdrawals tree.
/// @param recipient The L1 account paid.
/// @param token The L1 token paid (`address(0)` for ETH).
/// @param amount The amount, in the token's smallest unit.
/// @param burnTxHash The hash of the sidechain transaction that burned it.
struct Withdrawal {
    uint64 sidechainId;
    uint64 checkpointNumber;
    uint64 index;
    address recipient;
    address token;
    uint256 amount;
    bytes32 burnTxHash;
}

/// @notice The next validator set, signed by the current one.
/// @param sidechainId The sidechain's chain id.
/// @param epoch The new set's epoch: the current epoch plus one.
/// @param validators The new set's addresses, strictly ascending.
/// @param weights Their weights (each non-zero), in the same order.
/// @param thresholdNumerator The new set's threshold, in basis points of its total weight.
struct ValidatorSetRotation {
    uint64 sidechainId;
    uint64 epoch;
    address[] validators;
    uint64[] weights;
    uint32 thresholdNumerator;
}

/// @dev The EIP-712 domain separator for a bridge at `verifyingContract` on chain `chainId`.
function sidechainDomainSeparator(uint256 chainId, address verifyingContract) pure returns (bytes32) {
    return keccak256(
        abi.encode(
            EIP712_DOMAIN_TYPEHASH,
            SIDECHAIN_DOMAIN_NAME_HASH,
            SIDECHAIN_DOMAIN_VERSION_HASH,
            chainId,
            verifyingContract
        )
    );
}

/// @dev `hashStruct(Checkpoint)`.
function hashCheckpoint(Checkpoint calldata c) pure returns (bytes32) {
    return keccak256(
        abi.encode(
            CHECKPOINT_TYPEHASH,
            c.sidechainId,
            c.number,
            c.startBlock,
            c.endBlock,
            c.endBlockHash,
            c.stateRoot,
            c.withdrawalsRoot,
            c.epoch
        )
    );
}

/// @dev `hashStruct(Withdrawal)`.
function hashWithdrawal(Withdrawal calldata w) pure returns (bytes32) {
    return keccak256(
        abi.encode(
            WITHDRAWAL_TYPEHASH,
            w.sidechainId,
            w.checkpointNumber,
            w.index,
            w.recipient,
            w.token,
            w.amount,
            w.burnTxHash
        )
    );
}

/// @dev `hashStruct(ValidatorSetRotation)`: arrays are hashed as EIP-712 says, as the keccak256
///      of their elements each padded to 32 bytes (which is what `abi.encodePacked` does to the
///      elements of an array).
function hashRotation(ValidatorSetRotation calldata r) pure returns (bytes32) {
    return keccak256(
        abi.encode(
            ROTATION_TYPEHASH,
            r.sidechainId,
            r.epoch,
            keccak256(abi.encodePacked(r.validators)),
            keccak256(abi.encodePacked(r.weights)),
            r.thresholdNumerator
        )
    );
}

/// @dev The leaf of a withdrawal in its checkpoint's withdrawals tree:
///      `keccak256(0x00 ‖ hashStruct(Withdrawal))`.
function withdrawalLeafHash(Withdrawal calldata w) pure returns (bytes32) {
    return keccak256(abi.encodePacked(bytes1(0x00), hashWithdrawal(w)));
}

/// @dev The root reached from `leaf` at position `index` with the siblings `proof` (leaf level
///      first): at level `l`, bit `l` of `index` says whether the node is the right child
///      (`keccak256(0x01 ‖ sibling ‖ node)`) or the left one (`keccak256(0x01 ‖ node ‖ sibling)`).
///      The caller checks the proof's length and the index's range.
function withdrawalsRootFromProof(bytes32 leaf, uint256 index, bytes32[] calldata proof)
    pure
    returns (bytes32 node)
{
    node = leaf;
    uint256 length = proof.length;
    for (uint256 level = 0; level < length; ++level) {
        bytes32 sibling = proof[level];
        // Hash `0x01 ‖ left ‖ right` (65 bytes) in unallocated memory past the free-memory
        // pointer, which is left where it is (allowed for memory-safe assembly).
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            switch and(shr(level, index), 1)
            case 0 {
                mstore(add(p, 0x01), node)
                mstore(add(p, 0x21), sibling)
            }
            default {
                mstore(add(p, 0x01), sibling)
                mstore(add(p, 0x21), node)
            }
            node := keccak256(p, 0x41)
        }
    }
}
