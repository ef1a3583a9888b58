// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenRegistry} from "../common/TokenRegistry.sol";
import {ValidatorSet} from "./ValidatorSet.sol";
import {
    Checkpoint,
    Withdrawal,
    ValidatorSetRotation,
    WITHDRAWALS_TREE_DEPTH,
    MAX_WITHDRAWAL_INDEX,
    sidechainDomainSeparator,
    hashCheckpoint,
    hashRotation,
    withdrawalLeafHash,
    withdrawalsRootFromProof
} from "./SidechainMessages.sol";

/// @title SidechainBridge
/// @author ply
/// @notice The L1 side of ply's sidechain bridge (docs/sidechain.md). It locks deposited ETH and
///         listed ERC-20s (the validators observe `Deposited` and mint on the sidechain), accepts
///         the validators' **checkpoints** (every `checkpointInterval` sidechain blocks, contiguous,
///         signed by more than 2/3 of the weight of the current validator set), pays each
///         withdrawal once against a checkpoint's withdrawals root with a Merkle inclusion proof
///         (Polygon's design), and rotates the validator set on the current set's signatures.
/// @dev Withdrawal limits: per token, a per-transaction cap and a daily cap (UTC days,
///      `block.timestamp / 1 days`), set by the token governor (both 0 until set: every
///      withdrawal of that token then waits). A proven withdrawal within both caps is paid at
///      once; any other is **queued** for `withdrawalDelay` seconds, during which `guardianQuorum`
///      of the guardians can cancel it; after the delay anyone executes it. A cancelled
///      withdrawal is never paid by this contract (its funds stay locked; reissuing it is a
///      decision of the sidechain's governance, as a new withdrawal in a later checkpoint).
///
///      Loss bound: validators holding more than 2/3 of the weight can sign any checkpoint, so
///      what they can take without the guardians' consent is, per token, the daily cap a day;
///      everything above waits out the delay in front of the guardians.
///
///      Reentrancy: state changes precede every outgoing call (checks-effects-interactions), and
///      deposits, withdrawals and executions also hold a transient-storage lock.
contract SidechainBridge is TokenRegistry, ValidatorSet {
    /// @notice The largest amount of one deposit (`2^128 - 1`).
    uint256 public constant MAX_DEPOSIT_AMOUNT = type(uint128).max;

    /// @notice The most ERC-20 tokens that can be listed.
    uint32 public constant MAX_TOKENS = 1024;

    /// @notice The most guardians.
    uint256 public constant MAX_GUARDIANS = 32;

    /// @notice The depth of a checkpoint's withdrawals tree (16: up to 65,536 withdrawals).
    uint256 public constant WITHDRAWAL_TREE_DEPTH = WITHDRAWALS_TREE_DEPTH;

    /// @notice The sidechain's chain id (signed into every message; never the L1's).
    uint64 public immutable sidechainId;

    /// @notice The number of sidechain blocks in every checkpoint's range.
    uint64 public immutable checkpointInterval;

    /// @notice How long a withdrawal above the caps waits, in seconds.
    uint64 public immutable withdrawalDelay;

    /// @notice How many guardians must vote to cancel a queued withdrawal.
    uint256 public immutable guardianQuorum;

    /// @notice The number of the last accepted checkpoint (0: none yet).
    uint64 public lastCheckpoint;

    /// @notice The last sidechain block covered by a checkpoint (0: none; block 0 is genesis).
    uint64 public lastCheckpointedBlock;

    /// @notice The number of deposits so far; the next deposit gets this nonce.
    uint64 public depositCount;

    /// @dev The guardians, in the order given at deployment.
    address[] private _guardians;

    /// @dev Each guardian's position plus one (0: not a guardian).
    mapping(address guardian => uint256 slot) private _guardianSlot;

    /// @dev The withdrawals root of each accepted checkpoint.
    mapping(uint64 number => bytes32 root) private _withdrawalsRoots;

    /// @dev Processed (paid or queued) withdrawals: bit `index % 256` of `_processed[cp][index / 256]`.
    mapping(uint64 checkpointNumber => mapping(uint256 word => uint256 bits)) private _processed;

    /// @notice The withdrawal limits of a token.
    /// @param perTransaction The largest withdrawal paid at once.
    /// @param daily The most paid at once in one day (UTC).
    struct Limits {
        uint128 perTransaction;
        uint128 daily;
    }

    /// @dev The limits of each token (`address(0)`: ETH).
    mapping(address token => Limits) private _limits;

    /// @dev What was paid at once of each token on its last day of withdrawals.
    mapping(address token => DailyUsage) private _usage;

    /// @dev The day (`block.timestamp / 1 days`) and the amount paid at once on it.
    struct DailyUsage {
        uint64 day;
        uint192 spent;
    }

    /// @notice A queued withdrawal's status: waiting for its delay (or the guardians).
    uint8 public constant QUEUE_PENDING = 1;

    /// @notice A queued withdrawal's status: paid.
    uint8 public constant QUEUE_EXECUTED = 2;

    /// @notice A queued withdrawal's status: cancelled by the guardians, never to be paid.
    uint8 public constant QUEUE_CANCELLED = 3;

    /// @notice A withdrawal above the caps, waiting for its delay.
    /// @param recipient The L1 account to pay.
    /// @param token The token (`address(0)`: ETH).
    /// @param amount The amount.
    /// @param executableAt The earliest `block.timestamp` at which it can be executed.
    /// @param status 0 (none), `QUEUE_PENDING`, `QUEUE_EXECUTED` or `QUEUE_CANCELLED`.
    /// @param cancelVotes Bit `i` set: guardian `i` voted to cancel it.
    struct QueuedWithdrawal {
        address recipient;
        address token;
        uint256 amount;
        uint64 executableAt;
        uint8 status;
        uint256 cancelVotes;
    }

    /// @dev Queued withdrawals by id (`withdrawalId`).
    mapping(uint256 id => QueuedWithdrawal) private _queue;

    /// @dev The reentrancy lock (transient: cleared at the end of every transaction).
    bool private transient _locked;

    /// @notice The deployment parameters.
    /// @param sidechainId The sidechain's chain id (non-zero, not the L1's).
    /// @param checkpointInterval The sidechain blocks per checkpoint (non-zero).
    /// @param tokenGovernor The account that lists tokens and sets withdrawal limits.
    /// @param validators The first validator set, ascending.
    /// @param weights Their weights (each non-zero).
    /// @param thresholdNumerator The first set's threshold, in basis points (6,667 to 10,000).
    /// @param guardians The guardians (1 to 32, distinct, non-zero).
    /// @param guardianQuorum How many guardians cancel a queued withdrawal (1 to the count).
    /// @param withdrawalDelay How long a withdrawal above the caps waits, in seconds (non-zero).
    struct Config {
        uint64 sidechainId;
        uint64 checkpointInterval;
        address tokenGovernor;
        address[] validators;
        uint64[] weights;
        uint32 thresholdNumerator;
        address[] guardians;
        uint256 guardianQuorum;
        uint64 withdrawalDelay;
    }

    /// @notice ETH or tokens were locked for the sidechain: the validators mint `amount` of
    ///         `token` to `to` on the sidechain once the deposit is `confirmationDepth` L1 blocks
    ///         deep (a validator rule, docs/sidechain.md).
    /// @param nonce The deposit's number (0, 1, ...; consecutive).
    /// @param from The depositor on L1.
    /// @param to The recipient on the sidechain.
    /// @param token The L1 token (`address(0)`: ETH).
    /// @param amount The amount locked.
    event Deposited(uint64 indexed nonce, address indexed from, address indexed to, address token, uint256 amount);

    /// @notice A checkpoint was accepted.
    /// @param number Its number.
    /// @param startBlock The first sidechain block of its range.
    /// @param endBlock The last one.
    /// @param endBlockHash The hash of `endBlock`.
    /// @param stateRoot The state root after `endBlock`.
    /// @param withdrawalsRoot The root of its withdrawals tree.
    /// @param epoch The epoch of the set that signed it.
    event CheckpointSubmitted(
        uint64 indexed number,
        uint64 startBlock,
        uint64 endBlock,
        bytes32 endBlockHash,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        uint64 epoch
    );

    /// @notice A withdrawal was paid.
    /// @param id Its id (`withdrawalId`).
    /// @param recipient The account paid.
    /// @param token The token (`address(0)`: ETH).
    /// @param amount The amount.
    event WithdrawalPaid(uint256 indexed id, address indexed recipient, address token, uint256 amount);

    /// @notice A withdrawal above the caps was queued.
    /// @param id Its id.
    /// @param recipient The account to pay.
    /// @param token The token.
    /// @param amount The amount.
    /// @param executableAt When it can be executed.
    event WithdrawalQueued(
        uint256 indexed id, address indexed recipient, address token, uint256 amount, uint64 executableAt
    );

    /// @notice A guardian voted to cancel a queued withdrawal.
    /// @param id The withdrawal's id.
    /// @param guardian The guardian.
    /// @param votes The votes so far.
    event CancelVoted(uint256 indexed id, address indexed guardian, uint256 votes);

    /// @notice A queued withdrawal was cancelled by the guardians; it will never be paid.
    /// @param id Its id.
    event WithdrawalCancelled(uint256 indexed id);

    /// @notice The withdrawal limits of a token were set.
    /// @param token The token (`address(0)`: ETH).
    /// @param perTransaction The per-transaction cap.
    /// @param daily The daily cap.
    event LimitsSet(address indexed token, uint128 perTransaction, uint128 daily);

    /// @notice The sidechain id is zero or the L1's chain id.
    /// @param sidechainId The id given.
    error InvalidSidechainId(uint64 sidechainId);
    /// @notice The checkpoint interval or the withdrawal delay is zero.
    error InvalidInterval();
    /// @notice The guardians or their quorum are invalid (none, too many, zero or repeated
    ///         addresses, a quorum of 0 or above their number).
    error InvalidGuardians();
    /// @notice The message is for another sidechain.
    /// @param got The sidechain id in the message.
    /// @param expected This bridge's.
    error WrongSidechain(uint64 got, uint64 expected);
    /// @notice The checkpoint's number is not the next one.
    /// @param number The number given.
    /// @param expected The next number.
    error CheckpointOutOfOrder(uint64 number, uint64 expected);
    /// @notice The checkpoint's range does not start right after the last checkpointed block
    ///         (it skips blocks or overlaps the previous range).
    /// @param startBlock The start given.
    /// @param expected The block after the last checkpointed one.
    error RangeNotContiguous(uint64 startBlock, uint64 expected);
    /// @notice The checkpoint's range is not `checkpointInterval` blocks long.
    /// @param startBlock Its start.
    /// @param endBlock Its end.
    /// @param interval The required length.
    error WrongRangeLength(uint64 startBlock, uint64 endBlock, uint64 interval);
    /// @notice A checkpoint carries a zero block hash, state root or withdrawals root (Nomad).
    error ZeroRoot();
    /// @notice The message was signed for another epoch than the current one.
    /// @param got The epoch in the message.
    /// @param expected The epoch it must carry.
    error WrongEpoch(uint64 got, uint64 expected);
    /// @notice No checkpoint with this number was accepted yet.
    /// @param number The number.
    /// @param last The last accepted one.
    error CheckpointNotFound(uint64 number, uint64 last);
    /// @notice The withdrawal's index is outside the withdrawals tree.
    /// @param index The index.
    /// @param max The largest index.
    error IndexOutOfRange(uint64 index, uint256 max);
    /// @notice A withdrawal proof must hold exactly `WITHDRAWAL_TREE_DEPTH` siblings.
    /// @param length The number given.
    /// @param expected The depth.
    error InvalidProofLength(uint256 length, uint256 expected);
    /// @notice The proof does not lead to the checkpoint's withdrawals root.
    /// @param checkpointNumber The checkpoint.
    /// @param index The withdrawal's position.
    error InvalidProof(uint64 checkpointNumber, uint64 index);
    /// @notice This withdrawal was paid or queued already.
    /// @param id Its id.
    error AlreadyProcessed(uint256 id);
    /// @notice Zero amounts are refused.
    error ZeroAmount();
    /// @notice The amount exceeds `MAX_DEPOSIT_AMOUNT`.
    /// @param amount The amount.
    /// @param max The largest accepted.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice The zero address cannot receive.
    error ZeroRecipient();
    /// @notice No queued withdrawal is pending under this id.
    /// @param id The id.
    error NotQueued(uint256 id);
    /// @notice The queued withdrawal's delay has not passed.
    /// @param id Its id.
    /// @param executableAt When it can be executed.
    error DelayNotPassed(uint256 id, uint64 executableAt);
    /// @notice The queued withdrawal's delay has passed: the guardians can no longer cancel it.
    /// @param id Its id.
    error DelayPassed(uint256 id);
    /// @notice Only a guardian may do this.
    /// @param caller The caller.
    error NotGuardian(address caller);
    /// @notice This guardian voted already.
    /// @param id The withdrawal's id.
    /// @param guardian The guardian.
    error AlreadyVoted(uint256 id, address guardian);
    /// @notice The daily cap is below the per-transaction cap.
    error InvalidLimits();
    /// @notice The token's `transferFrom` failed.
    /// @param token The token.
    /// @param from The depositor.
    /// @param amount The amount.
    error TransferFromFailed(address token, address from, uint256 amount);
    /// @notice The token's `balanceOf` failed.
    /// @param token The token.
    error BalanceQueryFailed(address token);
    /// @notice The bridge received another amount than the one deposited (fee-on-transfer
    ///         tokens are not supported).
    /// @param token The token.
    /// @param expected The amount deposited.
    /// @param received The increase of the bridge's balance.
    error AmountMismatch(address token, uint256 expected, uint256 received);
    /// @notice Sending ETH failed.
    /// @param to The recipient.
    /// @param amount The amount.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice The token's `transfer` failed.
    /// @param token The token.
    /// @param to The recipient.
    /// @param amount The amount.
    error TokenTransferFailed(address token, address to, uint256 amount);
    /// @notice A guarded function was re-entered.
    error Reentrancy();

    /// @dev Holds the reentrancy lock for the duration of the function.
    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    /// @notice Deploys the bridge with its first validator set (epoch 1) and its guardians.
    /// @param config The parameters (see `Config`); every refusal reverts with its error.
    constructor(Config memory config) TokenRegistry(config.tokenGovernor, MAX_TOKENS) {
        if (config.sidechainId == 0 || config.sidechainId == block.chainid) {
            revert InvalidSidechainId(config.sidechainId);
        }
        if (config.checkpointInterval == 0 || config.withdrawalDelay == 0) revert InvalidInterval();
        uint256 count = config.guardians.length;
        if (count == 0 || count > MAX_GUARDIANS || config.guardianQuorum == 0 || config.guardianQuorum > count) {
            revert InvalidGuardians();
        }
        for (uint256 i = 0; i < count; ++i) {
            address guardian = config.guardians[i];
            if (guardian == address(0) || _guardianSlot[guardian] != 0) revert InvalidGuardians();
            _guardianSlot[guardian] = i + 1;
        }
        _guardians = config.guardians;
        sidechainId = config.sidechainId;
        checkpointInterval = config.checkpointInterval;
        withdrawalDelay = config.withdrawalDelay;
        guardianQuorum = config.guardianQuorum;
        _setValidators(config.validators, config.weights, config.thresholdNumerator);
    }

    // ------------------------------------------------------------------ EIP-712

    /// @notice The EIP-712 domain separator: name "PlySidechainBridge", version "1", this chain's
    ///         id and this contract's address.
    /// @return The separator.
    function domainSeparator() public view returns (bytes32) {
        return sidechainDomainSeparator(block.chainid, address(this));
    }

    /// @notice The digest the validators sign for a checkpoint.
    /// @param checkpoint The checkpoint.
    /// @return The EIP-712 digest.
    function checkpointDigest(Checkpoint calldata checkpoint) public view returns (bytes32) {
        return _digest(hashCheckpoint(checkpoint));
    }

    /// @notice The digest the validators sign for a rotation.
    /// @param rotation The rotation.
    /// @return The EIP-712 digest.
    function rotationDigest(ValidatorSetRotation calldata rotation) public view returns (bytes32) {
        return _digest(hashRotation(rotation));
    }

    /// @notice The leaf of a withdrawal in its checkpoint's withdrawals tree.
    /// @param withdrawal The withdrawal.
    /// @return `keccak256(0x00 ‖ hashStruct(withdrawal))`.
    function withdrawalLeaf(Withdrawal calldata withdrawal) external pure returns (bytes32) {
        return withdrawalLeafHash(withdrawal);
    }

    /// @notice The id of withdrawal `index` of checkpoint `checkpointNumber`:
    ///         `checkpointNumber << 64 | index`.
    /// @param checkpointNumber The checkpoint.
    /// @param index The position in its withdrawals tree.
    /// @return The id.
    function withdrawalId(uint64 checkpointNumber, uint64 index) public pure returns (uint256) {
        return (uint256(checkpointNumber) << 64) | index;
    }

    // ------------------------------------------------------------------ deposits

    /// @notice Locks `msg.value` wei for the sidechain account `to`.
    /// @param to The sidechain recipient.
    /// @return nonce The deposit's nonce.
    function depositETH(address to) external payable nonReentrant returns (uint64 nonce) {
        _checkAmount(to, msg.value);
        nonce = _recordDeposit(to, address(0), msg.value);
    }

    /// @notice Locks `amount` of a listed ERC-20 for the sidechain account `to`; approve the
    ///         bridge first. Fee-on-transfer tokens are refused.
    /// @param token The L1 token.
    /// @param to The sidechain recipient.
    /// @param amount The amount.
    /// @return nonce The deposit's nonce.
    function depositERC20(address token, address to, uint256 amount) external nonReentrant returns (uint64 nonce) {
        _checkAmount(to, amount);
        if (tokenId(token) == 0) revert TokenNotRegistered(token); // reverts for unlisted tokens too
        uint256 before = _balanceOf(token);
        _transferFrom(token, msg.sender, amount);
        uint256 received = _balanceOf(token) - before;
        if (received != amount) revert AmountMismatch(token, amount, received);
        nonce = _recordDeposit(to, token, amount);
    }

    // ------------------------------------------------------------------ checkpoints

    /// @notice Accepts the next checkpoint, signed by the current validator set. Anyone may
    ///         submit it (normally a relayer).
    /// @param checkpoint The checkpoint: the next number, the next `checkpointInterval` blocks,
    ///        non-zero hash and roots, the current epoch.
    /// @param signatures The validators' signatures of `checkpointDigest(checkpoint)`, 65 bytes
    ///        each (`r ‖ s ‖ v`), ascending by signer address.
    function submitCheckpoint(Checkpoint calldata checkpoint, bytes calldata signatures) external {
        if (checkpoint.sidechainId != sidechainId) revert WrongSidechain(checkpoint.sidechainId, sidechainId);
        uint64 expected = lastCheckpoint + 1;
        if (checkpoint.number != expected) revert CheckpointOutOfOrder(checkpoint.number, expected);
        uint64 start = lastCheckpointedBlock + 1;
        if (checkpoint.startBlock != start) revert RangeNotContiguous(checkpoint.startBlock, start);
        if (checkpoint.endBlock < checkpoint.startBlock || checkpoint.endBlock - checkpoint.startBlock + 1 != checkpointInterval) {
            revert WrongRangeLength(checkpoint.startBlock, checkpoint.endBlock, checkpointInterval);
        }
        if (checkpoint.endBlockHash == 0 || checkpoint.stateRoot == 0 || checkpoint.withdrawalsRoot == 0) {
            revert ZeroRoot();
        }
        if (checkpoint.epoch != epoch) revert WrongEpoch(checkpoint.epoch, epoch);
        _verifySignatures(_digest(hashCheckpoint(checkpoint)), signatures);

        lastCheckpoint = checkpoint.number;
        lastCheckpointedBlock = checkpoint.endBlock;
        _withdrawalsRoots[checkpoint.number] = checkpoint.withdrawalsRoot;
        emit CheckpointSubmitted(
            checkpoint.number,
            checkpoint.startBlock,
            checkpoint.endBlock,
            checkpoint.endBlockHash,
            checkpoint.stateRoot,
            checkpoint.withdrawalsRoot,
            checkpoint.epoch
        );
    }

    /// @notice The withdrawals root of an accepted checkpoint.
    /// @param number The checkpoint's number.
    /// @return The root.
    function withdrawalsRoot(uint64 number) external view returns (bytes32) {
        if (number == 0 || number > lastCheckpoint) revert CheckpointNotFound(number, lastCheckpoint);
        return _withdrawalsRoots[number];
    }

    // ------------------------------------------------------------------ rotation

    /// @notice Replaces the validator set with the one in `rotation`, signed by the current set.
    ///         The old set's keys count for nothing from this transaction on.
    /// @param rotation The new set; its epoch must be the current epoch plus one.
    /// @param signatures The current validators' signatures of `rotationDigest(rotation)`.
    function rotateValidatorSet(ValidatorSetRotation calldata rotation, bytes calldata signatures) external {
        if (rotation.sidechainId != sidechainId) revert WrongSidechain(rotation.sidechainId, sidechainId);
        if (rotation.epoch != epoch + 1) revert WrongEpoch(rotation.epoch, epoch + 1);
        _verifySignatures(_digest(hashRotation(rotation)), signatures);
        _setValidators(rotation.validators, rotation.weights, rotation.thresholdNumerator);
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Proves a withdrawal against its checkpoint and pays it, or queues it when it is
    ///         above the token's caps. Anyone may submit it; the recipient is fixed by the leaf.
    ///         Each withdrawal is processed once.
    /// @param withdrawal The withdrawal, as burned on the sidechain.
    /// @param proof The 16 siblings of its leaf, leaf level first.
    /// @return id The withdrawal's id.
    /// @return paid True if paid now, false if queued.
    function withdraw(Withdrawal calldata withdrawal, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 id, bool paid)
    {
        if (withdrawal.sidechainId != sidechainId) revert WrongSidechain(withdrawal.sidechainId, sidechainId);
        uint64 number = withdrawal.checkpointNumber;
        if (number == 0 || number > lastCheckpoint) revert CheckpointNotFound(number, lastCheckpoint);
        if (withdrawal.index > MAX_WITHDRAWAL_INDEX) revert IndexOutOfRange(withdrawal.index, MAX_WITHDRAWAL_INDEX);
        if (proof.length != WITHDRAWALS_TREE_DEPTH) revert InvalidProofLength(proof.length, WITHDRAWALS_TREE_DEPTH);
        _checkAmount(withdrawal.recipient, withdrawal.amount);
        tokenId(withdrawal.token); // reverts with `TokenNotRegistered` for unlisted tokens

        bytes32 leaf = withdrawalLeafHash(withdrawal);
        if (withdrawalsRootFromProof(leaf, withdrawal.index, proof) != _withdrawalsRoots[number]) {
            revert InvalidProof(number, withdrawal.index);
        }

        id = withdrawalId(number, withdrawal.index);
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 bit = 1 << (withdrawal.index & 0xff);
        mapping(uint256 => uint256) storage words = _processed[number];
        uint256 bits = words[withdrawal.index >> 8];
        if (bits & bit != 0) revert AlreadyProcessed(id);
        words[withdrawal.index >> 8] = bits | bit;

        if (_withinLimits(withdrawal.token, withdrawal.amount)) {
            emit WithdrawalPaid(id, withdrawal.recipient, withdrawal.token, withdrawal.amount);
            _pay(withdrawal.token, withdrawal.recipient, withdrawal.amount);
            paid = true;
        } else {
            uint64 executableAt = uint64(block.timestamp) + withdrawalDelay;
            _queue[id] = QueuedWithdrawal({
                recipient: withdrawal.recipient,
                token: withdrawal.token,
                amount: withdrawal.amount,
                executableAt: executableAt,
                status: QUEUE_PENDING,
                cancelVotes: 0
            });
            emit WithdrawalQueued(id, withdrawal.recipient, withdrawal.token, withdrawal.amount, executableAt);
        }
    }

    /// @notice Whether withdrawal `index` of checkpoint `checkpointNumber` was paid or queued.
    /// @param checkpointNumber The checkpoint.
    /// @param index The position.
    /// @return True once processed.
    function isProcessed(uint64 checkpointNumber, uint64 index) external view returns (bool) {
        if (index > MAX_WITHDRAWAL_INDEX) return false;
        // forge-lint: disable-next-line(incorrect-shift)
        return _processed[checkpointNumber][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /// @notice Pays a queued withdrawal whose delay has passed. Anyone may call it.
    /// @param id The withdrawal's id.
    function executeQueued(uint256 id) external nonReentrant {
        QueuedWithdrawal storage q = _queue[id];
        if (q.status != QUEUE_PENDING) revert NotQueued(id);
        // Seconds of proposer skew are immaterial against a delay of hours or days.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < q.executableAt) revert DelayNotPassed(id, q.executableAt);
        q.status = QUEUE_EXECUTED;
        emit WithdrawalPaid(id, q.recipient, q.token, q.amount);
        _pay(q.token, q.recipient, q.amount);
    }

    /// @notice A guardian's vote to cancel a queued withdrawal during its delay; the vote that
    ///         reaches `guardianQuorum` cancels it for good.
    /// @param id The withdrawal's id.
    function voteCancel(uint256 id) external {
        uint256 slot = _guardianSlot[msg.sender];
        if (slot == 0) revert NotGuardian(msg.sender);
        QueuedWithdrawal storage q = _queue[id];
        if (q.status != QUEUE_PENDING) revert NotQueued(id);
        // Seconds of proposer skew are immaterial against a delay of hours or days.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= q.executableAt) revert DelayPassed(id);
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 bit = 1 << (slot - 1);
        uint256 votes = q.cancelVotes;
        if (votes & bit != 0) revert AlreadyVoted(id, msg.sender);
        votes |= bit;
        q.cancelVotes = votes;
        uint256 count = _popcount(votes);
        emit CancelVoted(id, msg.sender, count);
        if (count >= guardianQuorum) {
            q.status = QUEUE_CANCELLED;
            emit WithdrawalCancelled(id);
        }
    }

    /// @notice A queued withdrawal.
    /// @param id Its id.
    /// @return The record (status 0 if there is none).
    function queuedWithdrawal(uint256 id) external view returns (QueuedWithdrawal memory) {
        return _queue[id];
    }

    /// @notice The guardians.
    /// @return Their addresses.
    function guardians() external view returns (address[] memory) {
        return _guardians;
    }

    // ------------------------------------------------------------------ limits

    /// @notice Sets a token's withdrawal limits. Only the token governor may.
    /// @param token The token (`address(0)`: ETH; otherwise listed).
    /// @param perTransaction The largest withdrawal paid at once.
    /// @param daily The most paid at once a day; not below `perTransaction`.
    function setWithdrawalLimits(address token, uint128 perTransaction, uint128 daily) external {
        if (msg.sender != tokenGovernor) revert NotTokenGovernor(msg.sender);
        tokenId(token); // reverts for unlisted tokens
        if (daily < perTransaction) revert InvalidLimits();
        _limits[token] = Limits({perTransaction: perTransaction, daily: daily});
        emit LimitsSet(token, perTransaction, daily);
    }

    /// @notice A token's withdrawal limits.
    /// @param token The token (`address(0)`: ETH).
    /// @return The limits.
    function withdrawalLimits(address token) external view returns (Limits memory) {
        return _limits[token];
    }

    /// @notice What was paid at once of `token` today (UTC).
    /// @param token The token.
    /// @return The amount.
    function spentToday(address token) external view returns (uint256) {
        DailyUsage memory usage = _usage[token];
        // Seconds of proposer skew are immaterial against a delay of hours or days.
        // forge-lint: disable-next-line(block-timestamp)
        return usage.day == block.timestamp / 1 days ? usage.spent : 0;
    }

    // ------------------------------------------------------------------ internals

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(bytes2(0x1901), domainSeparator(), structHash));
    }

    /// @dev True (and the amount counted against today's cap) if `amount` is within both caps.
    function _withinLimits(address token, uint256 amount) private returns (bool) {
        Limits memory limits = _limits[token];
        if (amount > limits.perTransaction) return false;
        uint64 today = uint64(block.timestamp / 1 days);
        DailyUsage memory usage = _usage[token];
        uint256 spent = usage.day == today ? usage.spent : 0;
        if (spent + amount > limits.daily) return false;
        // casting is safe: spent + amount <= daily, a uint128
        // forge-lint: disable-next-line(unsafe-typecast)
        _usage[token] = DailyUsage({day: today, spent: uint192(spent + amount)});
        return true;
    }

    function _checkAmount(address to, uint256 amount) private pure {
        if (to == address(0)) revert ZeroRecipient();
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_DEPOSIT_AMOUNT) revert AmountTooLarge(amount, MAX_DEPOSIT_AMOUNT);
    }

    function _recordDeposit(address to, address token, uint256 amount) private returns (uint64 nonce) {
        nonce = depositCount;
        depositCount = nonce + 1;
        emit Deposited(nonce, msg.sender, to, token, amount);
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
            if (!ok || !_returnedTrue(ret)) revert TokenTransferFailed(token, to, amount);
        }
    }

    function _balanceOf(address token) private view returns (uint256 balance) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) revert BalanceQueryFailed(token);
        balance = abi.decode(ret, (uint256));
    }

    function _transferFrom(address token, address from, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0x23b872dd, from, address(this), amount));
        if (!ok || !_returnedTrue(ret)) revert TransferFromFailed(token, from, amount);
    }

    function _returnedTrue(bytes memory ret) private pure returns (bool) {
        if (ret.length == 0) return true;
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    function _popcount(uint256 x) private pure returns (uint256 count) {
        while (x != 0) {
            x &= x - 1;
            ++count;
        }
    }
}
