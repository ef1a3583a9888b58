// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Bridge} from "./Bridge.sol";

/// @title Rollup
/// @author ply
/// @notice The L1 contract of a ply optimistic rollup (docs/rollup.md): the sequencer appends
///         batches of L2 transactions (as calldata, not parsed here), which consume the bridge's
///         deposit queue in order and by a deadline (forced inclusion); the proposer posts, with a
///         bond, the output of each batch (state root and withdrawal root), which becomes final
///         once its challenge window has passed. The bridge pays withdrawals against final
///         outputs only.
/// @dev Batch `b` is committed to by the single storage word
///
///          batchHash[b] = keccak256(abi.encode(uint256 b, uint256 prevDepositCount,
///                                              uint256 newDepositCount, keccak256(data)))
///
///      where `prevDepositCount` is the previous batch's `newDepositCount` (0 for batch 0). The
///      data itself lives in the transaction's calldata and in `BatchAppended`'s `dataHash`; nodes
///      derive the L2 state from the calldata of the `appendBatch` transactions.
///
///      Fraud-proof hook: each output is the `Output` struct at `_outputs[batchIndex]`, with the
///      proposer that bonded it and whether the bond was returned, and `_outputCount` is the next
///      batch to propose. Outputs are proposed in batch order, so a fraud proof that disproves
///      output `k` before it is final can delete `_outputs[k..]`, set `_outputCount = k` (the
///      proposer then proposes again from `k`) and slash the bonds of the deleted outputs, without
///      any change to this layout. Finality is monotone in the batch index (equal windows,
///      non-decreasing `proposedAt`), which `finalizedOutputs` relies on and such a deletion keeps.
///
///      The roles and parameters are fixed at deployment (immutable).
contract Rollup {
    /// @notice The output of one batch, as proposed.
    /// @param outputRoot `keccak256(abi.encode(stateRoot, withdrawalRoot))`.
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @param proposer The account that posted the output and its bond.
    /// @param proposedAt `block.timestamp` of the proposal; final from `proposedAt + challengeWindow`.
    /// @param bondReturned Whether the bond was paid back (`withdrawBond`).
    struct Output {
        bytes32 outputRoot;
        bytes32 withdrawalRoot;
        address proposer;
        uint64 proposedAt;
        bool bondReturned;
    }

    /// @notice The EIP-712 type hash of the domain of L2 transaction signatures.
    bytes32 public constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice The bridge whose deposit queue the batches consume.
    Bridge public immutable bridge;

    /// @notice The only account allowed to append batches.
    address public immutable sequencer;

    /// @notice The only account allowed to propose outputs.
    address public immutable proposer;

    /// @notice The bond (in wei) that must accompany each output proposal.
    uint256 public immutable bond;

    /// @notice Seconds after its proposal at which an output becomes final.
    uint64 public immutable challengeWindow;

    /// @notice Seconds within which a queued deposit must be consumed by a batch.
    uint64 public immutable inclusionDeadline;

    /// @notice The L2's chain id (in the EIP-712 domain of L2 transactions).
    uint64 public immutable l2ChainId;

    /// @dev The number of batches appended (the next batch index).
    uint64 private _batchCount;

    /// @dev The number of deposits consumed by the batches so far (packed with `_batchCount`, so
    ///      that appending a batch writes one existing and one new storage slot).
    uint192 private _consumedDeposits;

    /// @dev `_batchHashes[b]` is the commitment to batch `b` (see the contract's documentation).
    mapping(uint256 batchIndex => bytes32 batchHash) private _batchHashes;

    /// @dev The number of outputs proposed (the next batch to propose an output for).
    uint256 private _outputCount;

    /// @dev The output of each batch that has one.
    mapping(uint256 batchIndex => Output output) private _outputs;

    /// @notice A batch was appended.
    /// @param batchIndex Its index (0-based, consecutive).
    /// @param prevDepositCount Deposits consumed before it: its deposits are those from this index...
    /// @param newDepositCount ...up to (excluding) this one.
    /// @param dataHash `keccak256(data)` of the batch data.
    event BatchAppended(
        uint256 indexed batchIndex, uint256 prevDepositCount, uint256 newDepositCount, bytes32 dataHash
    );

    /// @notice An output was proposed.
    /// @param batchIndex The batch it is the output of.
    /// @param outputRoot `keccak256(abi.encode(stateRoot, withdrawalRoot))`.
    /// @param stateRoot The L2 state root after the batch.
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @param proposer The proposer, who bonded it.
    /// @param proposedAt `block.timestamp` of the proposal.
    event OutputProposed(
        uint256 indexed batchIndex,
        bytes32 outputRoot,
        bytes32 stateRoot,
        bytes32 withdrawalRoot,
        address indexed proposer,
        uint64 proposedAt
    );

    /// @notice The bond of a final output was paid back to its proposer.
    /// @param batchIndex The batch.
    /// @param proposer The proposer paid.
    /// @param amount The bond, in wei.
    event BondReturned(uint256 indexed batchIndex, address indexed proposer, uint256 amount);

    /// @notice The bridge given to the constructor is not a contract.
    /// @param bridge The address given.
    error InvalidBridge(address bridge);

    /// @notice A role (sequencer or proposer) was given the zero address.
    /// @param role "sequencer" or "proposer".
    error ZeroAddressRole(string role);

    /// @notice Only the sequencer may append batches.
    /// @param caller The account that called.
    /// @param sequencer The sequencer.
    error NotSequencer(address caller, address sequencer);

    /// @notice Only the proposer may propose outputs.
    /// @param caller The account that called.
    /// @param proposer The proposer.
    error NotProposer(address caller, address proposer);

    /// @notice A batch may not un-consume deposits.
    /// @param newDepositCount The count given.
    /// @param prevDepositCount The deposits consumed already.
    error DepositCountDecreased(uint256 newDepositCount, uint256 prevDepositCount);

    /// @notice A batch may not consume deposits that are not queued.
    /// @param newDepositCount The count given.
    /// @param queued The number of deposits in the bridge's queue.
    error DepositCountTooHigh(uint256 newDepositCount, uint256 queued);

    /// @notice After the batch, the first unconsumed deposit would be past its inclusion deadline.
    /// @param index That deposit's index (the batch's `newDepositCount`).
    error DepositOverdue(uint256 index);

    /// @notice The proposal did not carry exactly the bond.
    /// @param value The ETH sent.
    /// @param bond The required bond.
    error WrongBond(uint256 value, uint256 bond);

    /// @notice Outputs are proposed in batch order.
    /// @param batchIndex The batch given.
    /// @param expected The next batch without an output.
    error OutputOutOfOrder(uint256 batchIndex, uint256 expected);

    /// @notice There is no such batch.
    /// @param batchIndex The batch given.
    /// @param batchCount The number of batches appended.
    error BatchNotAppended(uint256 batchIndex, uint256 batchCount);

    /// @notice The batch has no output.
    /// @param batchIndex The batch given.
    error OutputNotProposed(uint256 batchIndex);

    /// @notice The batch's output is not final yet.
    /// @param batchIndex The batch.
    /// @param finalAt The timestamp from which it is final.
    error OutputNotFinal(uint256 batchIndex, uint256 finalAt);

    /// @notice The bond of this output was paid back already.
    /// @param batchIndex The batch.
    error BondAlreadyReturned(uint256 batchIndex);

    /// @notice Paying the bond back failed.
    /// @param proposer The proposer.
    /// @param amount The bond.
    error BondTransferFailed(address proposer, uint256 amount);

    /// @notice Creates the rollup. The bridge must then be wired to it (`Bridge.initialize`).
    /// @param bridge_ The bridge (deployed first).
    /// @param sequencer_ The account allowed to append batches.
    /// @param proposer_ The account allowed to propose outputs.
    /// @param bond_ The bond of each output, in wei.
    /// @param challengeWindow_ Seconds until an output is final.
    /// @param inclusionDeadline_ Seconds within which deposits must be consumed.
    /// @param l2ChainId_ The L2's chain id.
    constructor(
        Bridge bridge_,
        address sequencer_,
        address proposer_,
        uint256 bond_,
        uint64 challengeWindow_,
        uint64 inclusionDeadline_,
        uint64 l2ChainId_
    ) {
        if (address(bridge_).code.length == 0) revert InvalidBridge(address(bridge_));
        if (sequencer_ == address(0)) revert ZeroAddressRole("sequencer");
        if (proposer_ == address(0)) revert ZeroAddressRole("proposer");
        bridge = bridge_;
        sequencer = sequencer_;
        proposer = proposer_;
        bond = bond_;
        challengeWindow = challengeWindow_;
        inclusionDeadline = inclusionDeadline_;
        l2ChainId = l2ChainId_;
    }

    // ------------------------------------------------------------------ batches

    /// @notice Appends a batch. Only the sequencer may call it.
    /// @dev `data` is not parsed here (its format is docs/rollup.md's batch version 1; a batch
    ///      that does not decode is malformed and skipped by the nodes, but its deposits still
    ///      count as consumed). Reverts with `DepositOverdue(newDepositCount)` when the first
    ///      deposit left unconsumed was queued more than `inclusionDeadline` seconds ago.
    /// @param newDepositCount The number of deposits consumed after this batch: at least the
    ///        previous batch's, at most `bridge.depositCount()`.
    /// @param data The batch data.
    /// @return batchIndex The new batch's index.
    function appendBatch(uint256 newDepositCount, bytes calldata data) external returns (uint256 batchIndex) {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender, sequencer);
        batchIndex = _batchCount;
        uint256 prevDepositCount = _consumedDeposits;
        if (newDepositCount < prevDepositCount) revert DepositCountDecreased(newDepositCount, prevDepositCount);
        uint256 queued = bridge.depositCount();
        if (newDepositCount > queued) revert DepositCountTooHigh(newDepositCount, queued);
        if (newDepositCount < queued) {
            uint256 deadline = uint256(bridge.depositTimestamp(newDepositCount)) + inclusionDeadline;
            // The deadline is a protocol rule in L1 time (docs/rollup.md), so block.timestamp it is.
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp > deadline) revert DepositOverdue(newDepositCount);
        }

        bytes32 dataHash = keccak256(data);
        _batchHashes[batchIndex] = keccak256(abi.encode(batchIndex, prevDepositCount, newDepositCount, dataHash));
        // casting is safe because batch indices are consecutive from 0 (2^64 batches cannot be
        // appended) and newDepositCount <= bridge.depositCount(), an array length (< 2^64)
        // forge-lint: disable-next-line(unsafe-typecast)
        _batchCount = uint64(batchIndex + 1);
        // forge-lint: disable-next-line(unsafe-typecast)
        _consumedDeposits = uint192(newDepositCount);
        emit BatchAppended(batchIndex, prevDepositCount, newDepositCount, dataHash);
    }

    /// @notice The number of batches appended (the next batch's index).
    /// @return The count.
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @notice The number of deposits consumed by the batches appended so far.
    /// @return The count.
    function consumedDeposits() external view returns (uint256) {
        return _consumedDeposits;
    }

    /// @notice The commitment to batch `batchIndex` (see the contract's documentation).
    /// @param batchIndex An appended batch.
    /// @return The batch hash.
    function batchHash(uint256 batchIndex) external view returns (bytes32) {
        uint256 count = _batchCount;
        if (batchIndex >= count) revert BatchNotAppended(batchIndex, count);
        return _batchHashes[batchIndex];
    }

    // ------------------------------------------------------------------ outputs

    /// @notice Proposes the output of batch `batchIndex`, bonded with exactly `bond()` wei. Only
    ///         the proposer may call it, for the next batch without an output, which must exist.
    /// @param batchIndex The batch: `outputCount()`.
    /// @param stateRoot The L2 state root after the batch.
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @return outputRoot `keccak256(abi.encode(stateRoot, withdrawalRoot))`.
    function proposeOutput(uint256 batchIndex, bytes32 stateRoot, bytes32 withdrawalRoot)
        external
        payable
        returns (bytes32 outputRoot)
    {
        if (msg.sender != proposer) revert NotProposer(msg.sender, proposer);
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        uint256 expected = _outputCount;
        if (batchIndex != expected) revert OutputOutOfOrder(batchIndex, expected);
        uint256 batches = _batchCount;
        if (batchIndex >= batches) revert BatchNotAppended(batchIndex, batches);

        outputRoot = keccak256(abi.encode(stateRoot, withdrawalRoot));
        uint64 proposedAt = uint64(block.timestamp);
        _outputs[batchIndex] = Output({
            outputRoot: outputRoot,
            withdrawalRoot: withdrawalRoot,
            proposer: msg.sender,
            proposedAt: proposedAt,
            bondReturned: false
        });
        _outputCount = expected + 1;
        emit OutputProposed(batchIndex, outputRoot, stateRoot, withdrawalRoot, msg.sender, proposedAt);
    }

    /// @notice The number of outputs proposed (the next batch to propose an output for).
    /// @return The count.
    function outputCount() external view returns (uint256) {
        return _outputCount;
    }

    /// @notice The output of batch `batchIndex`, final or not.
    /// @param batchIndex A batch with an output.
    /// @return The output.
    function output(uint256 batchIndex) external view returns (Output memory) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        return _outputs[batchIndex];
    }

    /// @notice Whether batch `batchIndex` has an output whose challenge window has passed
    ///         (`block.timestamp >= proposedAt + challengeWindow`).
    /// @param batchIndex A batch index.
    /// @return True when final; false for batches without an output.
    function isFinal(uint256 batchIndex) public view returns (bool) {
        if (batchIndex >= _outputCount) return false;
        // The challenge window is a protocol rule in L1 time.
        // forge-lint: disable-next-line(block-timestamp)
        return block.timestamp >= uint256(_outputs[batchIndex].proposedAt) + challengeWindow;
    }

    /// @notice The withdrawal root of batch `batchIndex`'s final output.
    /// @dev Reverts with `OutputNotProposed` or `OutputNotFinal` when there is no final output.
    /// @param batchIndex A batch index.
    /// @return The withdrawal root.
    function finalizedWithdrawalRoot(uint256 batchIndex) external view returns (bytes32) {
        return _finalOutput(batchIndex).withdrawalRoot;
    }

    /// @notice The number of final outputs: outputs `0 .. finalizedOutputs() - 1` are final, the
    ///         others are not (finality is monotone in the batch index).
    /// @return The count.
    function finalizedOutputs() external view returns (uint256) {
        // Binary search for the first output that is not final.
        uint256 lo = 0;
        uint256 hi = _outputCount;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (isFinal(mid)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// @notice Pays the bond of batch `batchIndex`'s output back to its proposer, once the output
    ///         is final. Anyone may call it; the bond goes to the output's proposer.
    /// @param batchIndex A batch with a final output whose bond was not returned yet.
    function withdrawBond(uint256 batchIndex) external {
        Output storage out = _finalOutput(batchIndex);
        if (out.bondReturned) revert BondAlreadyReturned(batchIndex);
        out.bondReturned = true;
        address to = out.proposer;
        uint256 amount = bond;
        emit BondReturned(batchIndex, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert BondTransferFailed(to, amount);
    }

    /// @notice The EIP-712 domain separator of L2 transactions:
    ///         `{name: "ply rollup", version: "1", chainId: l2ChainId, verifyingContract: this}`.
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("ply rollup"), keccak256("1"), uint256(l2ChainId), address(this))
        );
    }

    // ------------------------------------------------------------------ internals

    function _finalOutput(uint256 batchIndex) private view returns (Output storage out) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        out = _outputs[batchIndex];
        uint256 finalAt = uint256(out.proposedAt) + challengeWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < finalAt) revert OutputNotFinal(batchIndex, finalAt);
    }
}
