// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Bridge} from "./Bridge.sol";
import {batchDataRoot} from "./BatchData.sol";
import {StepExecutor} from "./StepExecutor.sol";
import {StepState, StepWitness, StepContext, stepHashOf, startHashOf} from "./StepTypes.sol";

/// @title Rollup
/// @author ply
/// @notice The L1 contract of a ply optimistic rollup (docs/rollup.md): batches of L2
///         transactions are appended as calldata and consume the bridge's priority queue in order
///         and by a deadline (forced inclusion); anyone with a bond proposes the output of each
///         batch; anyone with a bond may challenge an output within its window, and the two sides
///         bisect the batch's trace down to one step that the `StepExecutor` executes on L1. A
///         disproven output is removed with every later one. The bridge pays withdrawals against
///         final outputs only.
/// @dev Batch `b` is committed to by the single storage word
///
///          batchHash[b] = keccak256(abi.encode(uint256 b, uint256 prevQueueCount,
///                                              uint256 newQueueCount, bytes32 dataRoot,
///                                              uint256 dataLength))
///
///      where `dataRoot` is the root of the batch data's 1,024-byte chunks (`BatchData.sol`).
///
///      Outputs: `_outputs[b]` is the live output of batch `b` when `b < outputCount()`; each
///      proposal gets a fresh `id`, so a game knows whether the output it disputes is still the
///      live one. When a challenger wins against output `k`, `outputCount` drops to `k`: outputs
///      `k + 1 ..` are removed without a loop (their slots stay until proposed again, and their
///      proposers take their bonds back with `withdrawBond`, or are credited when the slot is
///      proposed again); games on them are void and refund the challenger.
///
///      Finality: output `k` is final when its window has passed, no game against it is open and
///      output `k - 1` is final. Windows are equal and proposals in batch order, so `finalized`
///      is a prefix; `_finalizedCount` caches it and `advanceFinality` (anyone, bounded) moves it.
///      Reading finality beyond the cache scans the outputs after it (the caller pays).
///
///      Game incentives: the loser's bond is split, half to the winner, half locked here for good,
///      so a proposer who disputes its own wrong output through a second account still loses half
///      its bond, and a self-challenge of a correct output (to delay it) costs half the challenger
///      bond. Payouts are credited and pulled (`claimCredit`), so that no recipient can block a
///      resolution.
contract Rollup {
    /// @notice Output status: a live or removed proposal whose bond is held.
    uint8 public constant OUTPUT_PROPOSED = 1;
    /// @notice Output status: disproven by a game (its bond went to the challenger and the lock).
    uint8 public constant OUTPUT_DISPROVEN = 2;
    /// @notice Output status: its bond was paid back.
    uint8 public constant OUTPUT_BOND_RETURNED = 3;

    /// @notice Game status: being played.
    uint8 public constant GAME_ACTIVE = 1;
    /// @notice Game status: the challenger won (the output was removed).
    uint8 public constant GAME_CHALLENGER_WON = 2;
    /// @notice Game status: the defender won.
    uint8 public constant GAME_DEFENDER_WON = 3;
    /// @notice Game status: void (its output was removed by another game), the bond refunded.
    uint8 public constant GAME_VOID = 4;

    /// @notice The smallest transaction of a batch, in bytes (a transfer to an existing account).
    uint256 public constant MIN_TX_BYTES = 79;

    /// @notice The EIP-712 type hash of the domain of L2 transaction signatures.
    bytes32 public constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice The root of an empty depth-16 withdrawal tree (`S_0`'s withdrawal root).
    bytes32 public immutable emptyWithdrawalRoot;

    /// @notice The deployment parameters.
    /// @param sequencer The account that appends batches (anyone may after `sequencerTimeout`).
    /// @param proposerBond The bond of an output, in wei (production 1 ETH).
    /// @param challengerBond The bond of a challenge, in wei (production 0.5 ETH).
    /// @param challengeWindow Seconds an output may be challenged (production 7 days).
    /// @param clockDuration Each side's chess clock for a whole game, seconds (production 3.5 days).
    /// @param inclusionDeadline Seconds within which a queued operation must be consumed (1 day).
    /// @param sequencerTimeout Seconds without a batch after which anyone may append (1 day).
    /// @param l2ChainId The L2's chain id (in the EIP-712 domain of L2 transactions).
    /// @param genesisStateCommitment The state commitment before batch 0.
    struct Config {
        address sequencer;
        uint256 proposerBond;
        uint256 challengerBond;
        uint64 challengeWindow;
        uint64 clockDuration;
        uint64 inclusionDeadline;
        uint64 sequencerTimeout;
        uint64 l2ChainId;
        bytes32 genesisStateCommitment;
    }

    /// @notice The output of one batch, as proposed (one storage word apart from the two roots).
    /// @param stateCommitment The state commitment after the batch (docs/rollup.md).
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @param proposer The account that proposed it and posted its bond (the defender).
    /// @param proposedAt `block.timestamp` of the proposal.
    /// @param openGames Games against it that are being played.
    /// @param id A number unique to this proposal.
    /// @param status `OUTPUT_PROPOSED`, `OUTPUT_DISPROVEN` or `OUTPUT_BOND_RETURNED`.
    struct Output {
        bytes32 stateCommitment;
        bytes32 withdrawalRoot;
        address proposer;
        uint40 proposedAt;
        uint16 openGames;
        uint32 id;
        uint8 status;
    }

    /// @notice A dispute game over the trace `[0, traceLength]` of one batch.
    /// @param challenger Who challenged, with `challengerBond`.
    /// @param defender The output's proposer.
    /// @param batchIndex The disputed output's batch.
    /// @param outputId The disputed output's `id`.
    /// @param status `GAME_ACTIVE`, `GAME_CHALLENGER_WON`, `GAME_DEFENDER_WON` or `GAME_VOID`.
    /// @param claimPending Whether the defender's claim at `(lo + hi) / 2` awaits the challenger.
    /// @param lo The last step both agree on.
    /// @param hi The first step they disagree on (the defender's claim).
    /// @param loHash The step hash at `lo`.
    /// @param hiHash The defender's step hash at `hi` (the output root at the start).
    /// @param midHash The defender's claim at `(lo + hi) / 2`, while `claimPending`.
    /// @param defenderClock Seconds the defender has used.
    /// @param challengerClock Seconds the challenger has used.
    /// @param lastMoveAt When the side to move started thinking.
    /// @param queueEnd The batch's `newQueueCount`.
    /// @param dataLength The batch data's length.
    /// @param dataRoot The batch data's chunk root.
    struct Game {
        address challenger;
        address defender;
        uint64 batchIndex;
        uint32 outputId;
        uint8 status;
        bool claimPending;
        uint64 lo;
        uint64 hi;
        bytes32 loHash;
        bytes32 hiHash;
        bytes32 midHash;
        uint64 defenderClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        uint64 queueEnd;
        uint64 dataLength;
        bytes32 dataRoot;
    }

    /// @notice The bridge whose queue the batches consume.
    Bridge public immutable bridge;

    /// @notice The one-step executor of the game's leaf.
    StepExecutor public immutable executor;

    /// @notice The account that appends batches while it is live.
    address public immutable sequencer;

    /// @notice The bond of an output proposal, in wei.
    uint256 public immutable proposerBond;

    /// @notice The bond of a challenge, in wei.
    uint256 public immutable challengerBond;

    /// @notice Seconds after its proposal during which an output may be challenged.
    uint64 public immutable challengeWindow;

    /// @notice Each side's total thinking time in a game, in seconds.
    uint64 public immutable clockDuration;

    /// @notice Seconds within which a queued priority operation must be consumed by a batch.
    uint64 public immutable inclusionDeadline;

    /// @notice Seconds without a batch after which anyone may append batches.
    uint64 public immutable sequencerTimeout;

    /// @notice The L2's chain id (in the EIP-712 domain of L2 transactions).
    uint64 public immutable l2ChainId;

    /// @notice The state commitment before batch 0.
    bytes32 public immutable genesisStateCommitment;

    /// @dev The number of batches appended (the next batch index).
    uint64 private _batchCount;
    /// @dev The priority operations consumed by the batches so far.
    uint128 private _consumedOperations;
    /// @dev `block.timestamp` of the last batch (of the deployment before the first).
    uint64 private _lastBatchAt;

    /// @dev `_batchHashes[b]` is the commitment to batch `b` (see the contract's documentation).
    mapping(uint256 batchIndex => bytes32 batchHash) private _batchHashes;

    /// @dev The number of live outputs (the next batch to propose an output for).
    uint64 private _outputCount;
    /// @dev The number of proposals ever made (the next proposal's id is this plus one).
    uint32 private _proposalCount;
    /// @dev Outputs `0 .. _finalizedCount - 1` are known to be final.
    uint64 private _finalizedCount;

    /// @dev The output of each batch (live when `batchIndex < _outputCount`).
    mapping(uint256 batchIndex => Output output) private _outputs;

    /// @dev Every game, by id (0-based).
    Game[] private _games;

    /// @dev The games played against each proposal.
    mapping(uint32 outputId => uint256[] gameIds) private _outputGames;

    /// @dev ETH owed to each account (game payouts, refunds), paid by `claimCredit`.
    mapping(address account => uint256 amount) private _credits;

    /// @dev The ETH locked for good (half of each lost bond).
    uint256 private _lockedBonds;

    /// @notice A batch was appended.
    /// @param batchIndex Its index (0-based, consecutive).
    /// @param prevQueueCount Operations consumed before it: it consumes those from this index...
    /// @param newQueueCount ...up to (excluding) this one.
    /// @param dataRoot The root of the batch data's chunks.
    /// @param dataLength The batch data's length, in bytes.
    event BatchAppended(
        uint256 indexed batchIndex, uint256 prevQueueCount, uint256 newQueueCount, bytes32 dataRoot, uint256 dataLength
    );

    /// @notice An output was proposed.
    /// @param batchIndex The batch it is the output of.
    /// @param outputId The proposal's id.
    /// @param outputRoot `keccak256(abi.encode(stateCommitment, withdrawalRoot))`.
    /// @param stateCommitment The state commitment after the batch.
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @param proposer The proposer, who bonded it.
    event OutputProposed(
        uint256 indexed batchIndex,
        uint32 outputId,
        bytes32 outputRoot,
        bytes32 stateCommitment,
        bytes32 withdrawalRoot,
        address indexed proposer
    );

    /// @notice Output `batchIndex` was disproven and removed, with every later one.
    /// @param batchIndex The disproven output's batch (the new `outputCount()`).
    /// @param removedOutputs How many outputs were removed (it and its successors).
    event OutputRemoved(uint256 indexed batchIndex, uint256 removedOutputs);

    /// @notice An output's bond was paid back to its proposer.
    /// @param batchIndex The batch.
    /// @param proposer The proposer paid.
    /// @param amount The bond, in wei.
    event BondReturned(uint256 indexed batchIndex, address indexed proposer, uint256 amount);

    /// @notice A game started.
    /// @param gameId Its id.
    /// @param batchIndex The disputed output's batch.
    /// @param challenger The challenger.
    /// @param defender The output's proposer.
    /// @param traceLength `N`: the game is over `[0, N]`.
    /// @param startHash The step hash at 0.
    /// @param outputRoot The disputed output root (the defender's hash at `N`).
    event GameStarted(
        uint256 indexed gameId,
        uint256 indexed batchIndex,
        address indexed challenger,
        address defender,
        uint256 traceLength,
        bytes32 startHash,
        bytes32 outputRoot
    );

    /// @notice The defender claimed the step hash at `mid`.
    /// @param gameId The game.
    /// @param mid The step, `(lo + hi) / 2`.
    /// @param midHash The claimed hash.
    event Bisected(uint256 indexed gameId, uint256 mid, bytes32 midHash);

    /// @notice The challenger agreed or disagreed with the claim at `mid`.
    /// @param gameId The game.
    /// @param agree Whether it agreed (`lo` moved to `mid`) or not (`hi` moved to `mid`).
    /// @param lo The new `lo`.
    /// @param hi The new `hi`.
    event Responded(uint256 indexed gameId, bool agree, uint256 lo, uint256 hi);

    /// @notice The step at the leaf was executed on L1.
    /// @param gameId The game.
    /// @param step `lo`: the step executed was `lo -> lo + 1`.
    /// @param postHash The hash of the step's result.
    /// @param challengerWins Whether it differs from the defender's hash at `hi`.
    event Stepped(uint256 indexed gameId, uint256 step, bytes32 postHash, bool challengerWins);

    /// @notice A game ended.
    /// @param gameId The game.
    /// @param status `GAME_CHALLENGER_WON`, `GAME_DEFENDER_WON` or `GAME_VOID`.
    /// @param byTimeout Whether the loser ran out of time.
    event Resolved(uint256 indexed gameId, uint8 status, bool byTimeout);

    /// @notice An account was credited (game payout or refund); it pulls with `claimCredit`.
    /// @param account The account.
    /// @param amount The amount, in wei.
    event BondPaid(address indexed account, uint256 amount);

    /// @notice A bridge or executor given to the constructor is not a contract, or the executor
    ///         reads another bridge.
    /// @param given The address given.
    error InvalidContract(address given);

    /// @notice The sequencer is the zero address.
    error ZeroSequencer();

    /// @notice Only the sequencer may append batches before `sequencerTimeout` has passed.
    /// @param caller The account that called.
    /// @param openAt When anyone may append.
    error NotSequencer(address caller, uint256 openAt);

    /// @notice A batch may not un-consume operations.
    /// @param newQueueCount The count given.
    /// @param prevQueueCount The operations consumed already.
    error QueueCountDecreased(uint256 newQueueCount, uint256 prevQueueCount);

    /// @notice A batch may not consume operations that are not queued.
    /// @param newQueueCount The count given.
    /// @param queued The bridge's queue length.
    error QueueCountTooHigh(uint256 newQueueCount, uint256 queued);

    /// @notice After the batch, the first unconsumed operation would be past its deadline.
    /// @param index That operation's index (the batch's `newQueueCount`).
    error OperationOverdue(uint256 index);

    /// @notice The ETH sent is not exactly the bond.
    /// @param value The ETH sent.
    /// @param bond The bond required.
    error WrongBond(uint256 value, uint256 bond);

    /// @notice Outputs are proposed in batch order.
    /// @param batchIndex The batch given.
    /// @param expected The next batch without an output.
    error OutputOutOfOrder(uint256 batchIndex, uint256 expected);

    /// @notice There is no such batch.
    /// @param batchIndex The batch given.
    /// @param batchCount The number of batches appended.
    error BatchNotAppended(uint256 batchIndex, uint256 batchCount);

    /// @notice The batch has no live output.
    /// @param batchIndex The batch given.
    error OutputNotProposed(uint256 batchIndex);

    /// @notice The batch's output is not final yet.
    /// @param batchIndex The batch.
    error OutputNotFinal(uint256 batchIndex);

    /// @notice The output's bond is not (or no longer) held: disproven, or returned already.
    /// @param batchIndex The batch.
    /// @param status The output's status.
    error BondNotHeld(uint256 batchIndex, uint8 status);

    /// @notice The challenge window of the output has passed.
    /// @param batchIndex The batch.
    /// @param closedAt When it closed.
    error ChallengeWindowClosed(uint256 batchIndex, uint256 closedAt);

    /// @notice The batch description given does not match the batch's hash.
    /// @param batchIndex The batch.
    error BatchMismatch(uint256 batchIndex);

    /// @notice Too many games are open against one output.
    /// @param batchIndex The batch.
    error TooManyGames(uint256 batchIndex);

    /// @notice No game has this id.
    /// @param gameId The id.
    error UnknownGame(uint256 gameId);

    /// @notice The game is over.
    /// @param gameId The game.
    /// @param status Its status.
    error GameNotActive(uint256 gameId, uint8 status);

    /// @notice The game's output was removed by another game: the game is void (`voidGame`).
    /// @param gameId The game.
    error OutputRemovedGameVoid(uint256 gameId);

    /// @notice The game's output is live: it is not void.
    /// @param gameId The game.
    error GameNotVoid(uint256 gameId);

    /// @notice It is not this caller's move.
    /// @param gameId The game.
    /// @param caller The caller.
    /// @param expected The party to move.
    error NotYourMove(uint256 gameId, address caller, address expected);

    /// @notice The move needs another game position.
    /// @param gameId The game.
    /// @param lo Its `lo`.
    /// @param hi Its `hi`.
    /// @param claimPending Whether a claim awaits the challenger.
    error WrongPosition(uint256 gameId, uint256 lo, uint256 hi, bool claimPending);

    /// @notice The side to move has run out of time.
    /// @param gameId The game.
    /// @param used The seconds it would have used.
    error ClockExpired(uint256 gameId, uint256 used);

    /// @notice `timeout`: the side to move still has time.
    /// @param gameId The game.
    /// @param expiresAt When its clock runs out.
    error ClockNotExpired(uint256 gameId, uint256 expiresAt);

    /// @notice The step's pre-state does not hash to the game's `loHash`.
    /// @param gameId The game.
    /// @param preHash The pre-state's hash.
    /// @param loHash The agreed hash.
    error PreStateMismatch(uint256 gameId, bytes32 preHash, bytes32 loHash);

    /// @notice The account has no credit.
    /// @param account The account.
    error NoCredit(address account);

    /// @notice Sending ETH failed.
    /// @param to The recipient.
    /// @param amount The amount.
    error PaymentFailed(address to, uint256 amount);

    /// @notice Creates the rollup. The bridge must then be wired to it (`Bridge.initialize`).
    /// @param bridge_ The bridge (deployed first).
    /// @param executor_ The one-step executor (deployed on the same bridge).
    /// @param config The parameters (see `Config`).
    constructor(Bridge bridge_, StepExecutor executor_, Config memory config) {
        if (address(bridge_).code.length == 0) revert InvalidContract(address(bridge_));
        if (address(executor_).code.length == 0 || executor_.bridge() != bridge_) {
            revert InvalidContract(address(executor_));
        }
        if (config.sequencer == address(0)) revert ZeroSequencer();
        bridge = bridge_;
        executor = executor_;
        sequencer = config.sequencer;
        proposerBond = config.proposerBond;
        challengerBond = config.challengerBond;
        challengeWindow = config.challengeWindow;
        clockDuration = config.clockDuration;
        inclusionDeadline = config.inclusionDeadline;
        sequencerTimeout = config.sequencerTimeout;
        l2ChainId = config.l2ChainId;
        genesisStateCommitment = config.genesisStateCommitment;
        bytes32 empty;
        for (uint256 l = 0; l < 16; ++l) {
            empty = keccak256(abi.encodePacked(empty, empty));
        }
        emptyWithdrawalRoot = empty;
        _lastBatchAt = uint64(block.timestamp);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Appends a batch. The sequencer may always; anyone may once no batch was appended
    ///         for `sequencerTimeout` seconds (the derivation rules skip whatever is invalid, so
    ///         such a batch harms no one).
    /// @dev Reverts with `OperationOverdue(newQueueCount)` when the first operation left
    ///      unconsumed was queued more than `inclusionDeadline` seconds ago.
    /// @param newQueueCount The number of priority operations consumed after this batch: at
    ///        least the previous batch's, at most `bridge.queueLength()`.
    /// @param data The batch data (docs/rollup.md, batch version 1, derivation rules version 2).
    /// @return batchIndex The new batch's index.
    function appendBatch(uint256 newQueueCount, bytes calldata data) external returns (uint256 batchIndex) {
        batchIndex = _appendBatch(newQueueCount, data);
    }

    /// @notice Appends a batch and proposes its output in one transaction (`appendBatch`, then
    ///         `proposeOutput` with exactly `proposerBond` wei). The cheap way for a sequencer that
    ///         also proposes: the output's execution gas hides under the batch's calldata floor
    ///         (EIP-7623), so it costs almost nothing more than the batch alone.
    /// @dev The previous batches must all have outputs (outputs are proposed in order).
    /// @param newQueueCount As for `appendBatch`.
    /// @param data As for `appendBatch`.
    /// @param stateCommitment As for `proposeOutput`.
    /// @param withdrawalRoot As for `proposeOutput`.
    /// @return batchIndex The new batch's index.
    function appendBatchAndPropose(
        uint256 newQueueCount,
        bytes calldata data,
        bytes32 stateCommitment,
        bytes32 withdrawalRoot
    ) external payable returns (uint256 batchIndex) {
        batchIndex = _appendBatch(newQueueCount, data);
        _proposeOutput(batchIndex, stateCommitment, withdrawalRoot);
    }

    function _appendBatch(uint256 newQueueCount, bytes calldata data) private returns (uint256 batchIndex) {
        uint256 previousBatchAt = _lastBatchAt;
        if (msg.sender != sequencer) {
            uint256 openAt = previousBatchAt + sequencerTimeout;
            // The timeout is a protocol rule in L1 time.
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp <= openAt) revert NotSequencer(msg.sender, openAt);
        }
        batchIndex = _batchCount;
        uint256 prevQueueCount = _consumedOperations;
        if (newQueueCount < prevQueueCount) revert QueueCountDecreased(newQueueCount, prevQueueCount);
        uint256 queued = bridge.queueLength();
        if (newQueueCount > queued) revert QueueCountTooHigh(newQueueCount, queued);
        if (newQueueCount < queued) {
            uint256 deadline = uint256(bridge.operationTimestamp(newQueueCount)) + inclusionDeadline;
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp > deadline) revert OperationOverdue(newQueueCount);
        }

        bytes32 dataRoot = batchDataRoot(data);
        _batchHashes[batchIndex] =
            keccak256(abi.encode(batchIndex, prevQueueCount, newQueueCount, dataRoot, data.length));
        // casting is safe: batch indices are consecutive from 0, newQueueCount is below an array
        // length, and timestamps fit 64 bits
        // forge-lint: disable-next-line(unsafe-typecast)
        _batchCount = uint64(batchIndex + 1);
        // forge-lint: disable-next-line(unsafe-typecast)
        _consumedOperations = uint128(newQueueCount);
        _lastBatchAt = uint64(block.timestamp);
        emit BatchAppended(batchIndex, prevQueueCount, newQueueCount, dataRoot, data.length);
    }

    /// @notice The number of batches appended (the next batch's index).
    /// @return The count.
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @notice The number of priority operations consumed by the batches appended so far.
    /// @return The count.
    function consumedOperations() external view returns (uint256) {
        return _consumedOperations;
    }

    /// @notice When the last batch was appended (the deployment, before the first).
    /// @return The timestamp.
    function lastBatchAt() external view returns (uint256) {
        return _lastBatchAt;
    }

    /// @notice The commitment to batch `batchIndex` (see the contract's documentation).
    /// @param batchIndex An appended batch.
    /// @return The batch hash.
    function batchHash(uint256 batchIndex) external view returns (bytes32) {
        uint256 count = _batchCount;
        if (batchIndex >= count) revert BatchNotAppended(batchIndex, count);
        return _batchHashes[batchIndex];
    }

    /// @notice `N`, the number of steps of a batch's trace: `(newQueueCount - prevQueueCount) +
    ///         floor(dataLength / 79) + 2`.
    /// @param operations The operations the batch consumes (`newQueueCount - prevQueueCount`).
    /// @param dataLength The batch data's length.
    /// @return The trace length.
    function traceLength(uint256 operations, uint256 dataLength) public pure returns (uint256) {
        return operations + dataLength / MIN_TX_BYTES + 2;
    }

    // ------------------------------------------------------------------ outputs

    /// @notice Proposes the output of batch `batchIndex` with exactly `proposerBond` wei. Anyone
    ///         may, for the next batch without a live output, which must exist.
    /// @param batchIndex The batch: `outputCount()`.
    /// @param stateCommitment The state commitment after the batch.
    /// @param withdrawalRoot The root of the batch's withdrawal tree.
    /// @return root The output root, `keccak256(abi.encode(stateCommitment, withdrawalRoot))`.
    function proposeOutput(uint256 batchIndex, bytes32 stateCommitment, bytes32 withdrawalRoot)
        external
        payable
        returns (bytes32 root)
    {
        root = _proposeOutput(batchIndex, stateCommitment, withdrawalRoot);
    }

    function _proposeOutput(uint256 batchIndex, bytes32 stateCommitment, bytes32 withdrawalRoot)
        private
        returns (bytes32 root)
    {
        if (msg.value != proposerBond) revert WrongBond(msg.value, proposerBond);
        uint256 expected = _outputCount;
        if (batchIndex != expected) revert OutputOutOfOrder(batchIndex, expected);
        uint256 batches = _batchCount;
        if (batchIndex >= batches) revert BatchNotAppended(batchIndex, batches);

        Output storage out = _outputs[batchIndex];
        if (out.status == OUTPUT_PROPOSED) {
            // A successor removed by an earlier game whose proposer did not take its bond back.
            _credit(out.proposer, proposerBond);
        }
        uint32 id = _proposalCount + 1;
        _outputs[batchIndex] = Output({
            stateCommitment: stateCommitment,
            withdrawalRoot: withdrawalRoot,
            proposer: msg.sender,
            proposedAt: uint40(block.timestamp),
            openGames: 0,
            id: id,
            status: OUTPUT_PROPOSED
        });
        // forge-lint: disable-next-line(unsafe-typecast)
        _outputCount = uint64(expected + 1);
        _proposalCount = id;
        root = keccak256(abi.encode(stateCommitment, withdrawalRoot));
        emit OutputProposed(batchIndex, id, root, stateCommitment, withdrawalRoot, msg.sender);
    }

    /// @notice The number of live outputs (the next batch to propose an output for).
    /// @return The count.
    function outputCount() external view returns (uint256) {
        return _outputCount;
    }

    /// @notice The live output of batch `batchIndex`.
    /// @param batchIndex A batch with a live output.
    /// @return The output.
    function output(uint256 batchIndex) external view returns (Output memory) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        return _outputs[batchIndex];
    }

    /// @notice The output root of batch `batchIndex`'s live output.
    /// @param batchIndex A batch with a live output.
    /// @return `keccak256(abi.encode(stateCommitment, withdrawalRoot))`.
    function outputRoot(uint256 batchIndex) external view returns (bytes32) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        Output storage out = _outputs[batchIndex];
        return keccak256(abi.encode(out.stateCommitment, out.withdrawalRoot));
    }

    /// @notice Whether output `batchIndex` is final: its window has passed, no game against it is
    ///         open, and output `batchIndex - 1` is final.
    /// @dev Scans the outputs from the cached prefix (`finalizedCount()`) to `batchIndex`.
    /// @param batchIndex A batch index.
    /// @return True when final; false for batches without a live output.
    function isFinal(uint256 batchIndex) public view returns (bool) {
        if (batchIndex >= _outputCount) return false;
        uint256 from = _finalizedCount;
        if (batchIndex < from) return true;
        // Windows are equal and proposals in order: output batchIndex's window is the last to end.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < uint256(_outputs[batchIndex].proposedAt) + challengeWindow) return false;
        for (uint256 j = from; j <= batchIndex; ++j) {
            if (_outputs[j].openGames != 0) return false;
        }
        return true;
    }

    /// @notice The number of outputs known to be final (a cache: `isFinal` may say more).
    /// @return The count.
    function finalizedCount() external view returns (uint256) {
        return _finalizedCount;
    }

    /// @notice Moves the cache of final outputs forward over at most `maxOutputs` outputs.
    ///         Anyone may call it (so that no finality check has to scan far).
    /// @param maxOutputs The most outputs to examine.
    /// @return The new `finalizedCount()`.
    function advanceFinality(uint256 maxOutputs) external returns (uint256) {
        uint256 count = _finalizedCount;
        uint256 end = _outputCount;
        uint256 window = challengeWindow;
        for (uint256 n = 0; n < maxOutputs && count < end; ++n) {
            Output storage out = _outputs[count];
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < uint256(out.proposedAt) + window || out.openGames != 0) break;
            ++count;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        _finalizedCount = uint64(count);
        return count;
    }

    /// @notice The withdrawal root of batch `batchIndex`'s final output.
    /// @dev Reverts with `OutputNotProposed` or `OutputNotFinal` when there is no final output.
    /// @param batchIndex A batch index.
    /// @return The withdrawal root.
    function finalizedWithdrawalRoot(uint256 batchIndex) external view returns (bytes32) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        if (!isFinal(batchIndex)) revert OutputNotFinal(batchIndex);
        return _outputs[batchIndex].withdrawalRoot;
    }

    /// @notice Pays the bond of batch `batchIndex`'s output back to its proposer: once the output
    ///         is final, or when it was removed because an earlier output was disproven. Anyone
    ///         may call it; the bond goes to the output's proposer.
    /// @param batchIndex The batch.
    function withdrawBond(uint256 batchIndex) external {
        Output storage out = _outputs[batchIndex];
        uint8 status = out.status;
        if (status != OUTPUT_PROPOSED) revert BondNotHeld(batchIndex, status);
        // Live outputs must be final; removed ones (batchIndex >= outputCount) were not disproven
        // themselves (their status would say so), so their bond comes back.
        if (batchIndex < _outputCount && !isFinal(batchIndex)) revert OutputNotFinal(batchIndex);
        out.status = OUTPUT_BOND_RETURNED;
        address to = out.proposer;
        uint256 amount = proposerBond;
        emit BondReturned(batchIndex, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed(to, amount);
    }

    // ------------------------------------------------------------------ the dispute game

    /// @notice Challenges the live output of `batchIndex` with exactly `challengerBond` wei,
    ///         within its window: starts a game over the batch's trace `[0, N]` between the
    ///         output's proposer (defender, to move first) and the caller.
    /// @param batchIndex The batch.
    /// @param prevQueueCount The batch's `prevQueueCount` (from `BatchAppended`).
    /// @param newQueueCount The batch's `newQueueCount`.
    /// @param dataRoot The batch's data root.
    /// @param dataLength The batch data's length.
    /// @return gameId The new game's id.
    function challenge(
        uint256 batchIndex,
        uint256 prevQueueCount,
        uint256 newQueueCount,
        bytes32 dataRoot,
        uint256 dataLength
    ) external payable returns (uint256 gameId) {
        if (msg.value != challengerBond) revert WrongBond(msg.value, challengerBond);
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        Output storage out = _outputs[batchIndex];
        uint256 closedAt = uint256(out.proposedAt) + challengeWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= closedAt) revert ChallengeWindowClosed(batchIndex, closedAt);
        if (keccak256(abi.encode(batchIndex, prevQueueCount, newQueueCount, dataRoot, dataLength))
                != _batchHashes[batchIndex]) revert BatchMismatch(batchIndex);
        if (out.openGames == type(uint16).max) revert TooManyGames(batchIndex);
        out.openGames += 1;

        bytes32 prev = batchIndex == 0 ? genesisStateCommitment : _outputs[batchIndex - 1].stateCommitment;
        bytes32 startHash = startHashOf(prev, emptyWithdrawalRoot);
        bytes32 root = keccak256(abi.encode(out.stateCommitment, out.withdrawalRoot));
        uint256 n = traceLength(newQueueCount - prevQueueCount, dataLength);

        gameId = _games.length;
        Game storage g = _games.push();
        g.challenger = msg.sender;
        g.defender = out.proposer;
        // forge-lint: disable-next-line(unsafe-typecast)
        g.batchIndex = uint64(batchIndex);
        g.outputId = out.id;
        g.status = GAME_ACTIVE;
        // forge-lint: disable-next-line(unsafe-typecast)
        g.hi = uint64(n);
        g.loHash = startHash;
        g.hiHash = root;
        g.lastMoveAt = uint64(block.timestamp);
        // forge-lint: disable-next-line(unsafe-typecast)
        g.queueEnd = uint64(newQueueCount);
        // forge-lint: disable-next-line(unsafe-typecast)
        g.dataLength = uint64(dataLength);
        g.dataRoot = dataRoot;
        _outputGames[out.id].push(gameId);
        emit GameStarted(gameId, batchIndex, msg.sender, out.proposer, n, startHash, root);
    }

    /// @notice The defender's move: claims the step hash at `(lo + hi) / 2`.
    /// @param gameId The game.
    /// @param midHash The defender's step hash at the midpoint.
    function bisect(uint256 gameId, bytes32 midHash) external {
        Game storage g = _activeGame(gameId);
        if (g.claimPending || g.hi - g.lo < 2) revert WrongPosition(gameId, g.lo, g.hi, g.claimPending);
        if (msg.sender != g.defender) revert NotYourMove(gameId, msg.sender, g.defender);
        g.defenderClock = _tick(gameId, g, g.defenderClock);
        g.midHash = midHash;
        g.claimPending = true;
        emit Bisected(gameId, (uint256(g.lo) + g.hi) / 2, midHash);
    }

    /// @notice The challenger's move: agrees with the defender's claim at the midpoint (`lo`
    ///         moves there) or disagrees (`hi` moves there).
    /// @param gameId The game.
    /// @param agree Whether the challenger agrees with the claim.
    function respond(uint256 gameId, bool agree) external {
        Game storage g = _activeGame(gameId);
        if (!g.claimPending) revert WrongPosition(gameId, g.lo, g.hi, false);
        if (msg.sender != g.challenger) revert NotYourMove(gameId, msg.sender, g.challenger);
        g.challengerClock = _tick(gameId, g, g.challengerClock);
        uint64 mid = uint64((uint256(g.lo) + g.hi) / 2);
        if (agree) {
            g.lo = mid;
            g.loHash = g.midHash;
        } else {
            g.hi = mid;
            g.hiHash = g.midHash;
        }
        g.claimPending = false;
        g.midHash = bytes32(0);
        emit Responded(gameId, agree, g.lo, g.hi);
    }

    /// @notice The leaf: executes step `lo -> lo + 1` from `pre` (which must hash to `loHash`).
    ///         If the result's hash differs from the defender's hash at `hi` the challenger wins,
    ///         else the defender. Anyone may call it while the challenger's clock runs.
    /// @param gameId The game, at `hi == lo + 1`.
    /// @param pre The agreed pre-state.
    /// @param witness The one-step witness (docs/rollup.md).
    function step(uint256 gameId, StepState calldata pre, StepWitness calldata witness) external {
        Game storage g = _activeGame(gameId);
        if (g.hi - g.lo != 1) revert WrongPosition(gameId, g.lo, g.hi, g.claimPending);
        g.challengerClock = _tick(gameId, g, g.challengerClock);
        StepState memory s = pre;
        bytes32 preHash = stepHashOf(s);
        if (preHash != g.loHash) revert PreStateMismatch(gameId, preHash, g.loHash);
        StepState memory post = executor.step(
            pre,
            witness,
            StepContext({
                batchIndex: g.batchIndex,
                queueEnd: g.queueEnd,
                dataRoot: g.dataRoot,
                dataLength: g.dataLength,
                domainSeparator: domainSeparator()
            })
        );
        bytes32 postHash = stepHashOf(post);
        bool challengerWins = postHash != g.hiHash;
        emit Stepped(gameId, g.lo, postHash, challengerWins);
        _resolve(gameId, g, challengerWins, false);
    }

    /// @notice Ends a game whose side to move has run out of time: the other side wins. Anyone
    ///         may call it.
    /// @param gameId The game.
    function timeout(uint256 gameId) external {
        Game storage g = _activeGame(gameId);
        bool challengerToMove = _challengerToMove(g);
        uint256 used = (challengerToMove ? g.challengerClock : g.defenderClock) + (block.timestamp - g.lastMoveAt);
        // forge-lint: disable-next-line(block-timestamp)
        if (used <= clockDuration) {
            revert ClockNotExpired(gameId, block.timestamp + clockDuration - used);
        }
        _resolve(gameId, g, !challengerToMove, true);
    }

    /// @notice Ends a game whose output was removed by another game: void, the challenger's bond
    ///         is refunded. Anyone may call it.
    /// @param gameId The game.
    function voidGame(uint256 gameId) external {
        if (gameId >= _games.length) revert UnknownGame(gameId);
        Game storage g = _games[gameId];
        if (g.status != GAME_ACTIVE) revert GameNotActive(gameId, g.status);
        if (_outputLive(g)) revert GameNotVoid(gameId);
        g.status = GAME_VOID;
        _credit(g.challenger, challengerBond);
        emit Resolved(gameId, GAME_VOID, false);
    }

    /// @notice The number of games started.
    /// @return The count.
    function gameCount() external view returns (uint256) {
        return _games.length;
    }

    /// @notice A game's state.
    /// @param gameId The game.
    /// @return The game.
    function game(uint256 gameId) external view returns (Game memory) {
        if (gameId >= _games.length) revert UnknownGame(gameId);
        return _games[gameId];
    }

    /// @notice Who is to move in an active game, and the time each side has left.
    /// @param gameId The game.
    /// @return challengerToMove True when the challenger (respond, or the step at the leaf) is to
    ///         move, false for the defender (bisect).
    /// @return defenderLeft The defender's remaining seconds (0 when spent).
    /// @return challengerLeft The challenger's remaining seconds (0 when spent).
    function clocks(uint256 gameId)
        external
        view
        returns (bool challengerToMove, uint256 defenderLeft, uint256 challengerLeft)
    {
        if (gameId >= _games.length) revert UnknownGame(gameId);
        Game storage g = _games[gameId];
        challengerToMove = _challengerToMove(g);
        uint256 d = g.defenderClock;
        uint256 c = g.challengerClock;
        if (g.status == GAME_ACTIVE) {
            if (challengerToMove) c += block.timestamp - g.lastMoveAt;
            else d += block.timestamp - g.lastMoveAt;
        }
        defenderLeft = d >= clockDuration ? 0 : clockDuration - d;
        challengerLeft = c >= clockDuration ? 0 : clockDuration - c;
    }

    /// @notice The games played against batch `batchIndex`'s live output.
    /// @param batchIndex A batch with a live output.
    /// @return The game ids.
    function outputGames(uint256 batchIndex) external view returns (uint256[] memory) {
        if (batchIndex >= _outputCount) revert OutputNotProposed(batchIndex);
        return _outputGames[_outputs[batchIndex].id];
    }

    /// @notice ETH credited to `account` (game payouts and refunds), to pull with `claimCredit`.
    /// @param account The account.
    /// @return The amount, in wei.
    function credit(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @notice The ETH locked for good: half of every lost bond.
    /// @return The amount, in wei.
    function lockedBonds() external view returns (uint256) {
        return _lockedBonds;
    }

    /// @notice Pays the caller its credit.
    function claimCredit() external {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert NoCredit(msg.sender);
        _credits[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed(msg.sender, amount);
    }

    /// @notice The EIP-712 domain separator of L2 transactions:
    ///         `{name: "ply rollup", version: "1", chainId: l2ChainId, verifyingContract: this}`.
    /// @return The domain separator.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("ply rollup"), keccak256("1"), uint256(l2ChainId), address(this))
        );
    }

    // ------------------------------------------------------------------ internals

    function _activeGame(uint256 gameId) private view returns (Game storage g) {
        if (gameId >= _games.length) revert UnknownGame(gameId);
        g = _games[gameId];
        if (g.status != GAME_ACTIVE) revert GameNotActive(gameId, g.status);
        if (!_outputLive(g)) revert OutputRemovedGameVoid(gameId);
    }

    function _outputLive(Game storage g) private view returns (bool) {
        uint256 b = g.batchIndex;
        return b < _outputCount && _outputs[b].id == g.outputId;
    }

    function _challengerToMove(Game storage g) private view returns (bool) {
        return g.claimPending || g.hi - g.lo == 1;
    }

    /// @dev Charges the side to move for its thinking time; reverts when its clock is spent.
    function _tick(uint256 gameId, Game storage g, uint64 used) private returns (uint64) {
        uint256 total = uint256(used) + (block.timestamp - g.lastMoveAt);
        if (total > clockDuration) revert ClockExpired(gameId, total);
        g.lastMoveAt = uint64(block.timestamp);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(total);
    }

    function _resolve(uint256 gameId, Game storage g, bool challengerWins, bool byTimeout) private {
        uint256 batchIndex = g.batchIndex;
        Output storage out = _outputs[batchIndex];
        uint8 status;
        if (challengerWins) {
            status = GAME_CHALLENGER_WON;
            uint256 half = proposerBond / 2;
            _lockedBonds += proposerBond - half;
            _credit(g.challenger, challengerBond + half);
            out.status = OUTPUT_DISPROVEN;
            uint256 removed = _outputCount - batchIndex;
            // forge-lint: disable-next-line(unsafe-typecast)
            _outputCount = uint64(batchIndex);
            emit OutputRemoved(batchIndex, removed);
        } else {
            status = GAME_DEFENDER_WON;
            uint256 half = challengerBond / 2;
            _lockedBonds += challengerBond - half;
            _credit(g.defender, half);
            out.openGames -= 1;
        }
        g.status = status;
        emit Resolved(gameId, status, byTimeout);
    }

    function _credit(address account, uint256 amount) private {
        _credits[account] += amount;
        emit BondPaid(account, amount);
    }
}
