// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenRegistry} from "../common/TokenRegistry.sol";
import * as PlasmaTx from "./PlasmaTx.sol";
import * as PlasmaMerkle from "./PlasmaMerkle.sol";
import * as PriorityQueue from "./PriorityQueue.sol";
import * as ExitPriority from "./ExitPriority.sol";

/// @title PlasmaFramework
/// @author ply
/// @notice The L1 side of ply's plasma chain (docs/plasma.md), after OMG's `PlasmaFramework`:
///         the child block roots the operator submits, deposits (ETH and listed ERC-20) as
///         deposit blocks, the vault holding them, one exit priority queue per token, and the
///         record of which outputs exits have paid (`finalizedBy`), shared by the two exit games
///         so that an output is paid at most once whichever game exits it.
/// @dev Only the two exit games bound once by the deployer (`initExitGames`) enqueue exits, flag
///      outputs and take money out, and money leaves only while `processExits` runs. A payment
///      that fails (an owner contract that reverts, a token that refuses) is credited to
///      `pendingWithdrawals` instead, so no exit can block the queue.
contract PlasmaFramework is TokenRegistry {
    using {PriorityQueue.insert, PriorityQueue.min, PriorityQueue.pop, PriorityQueue.size} for PriorityQueue.Heap;

    /// @notice Operator blocks are numbered 1000, 2000, …; deposit blocks fill the gaps.
    uint256 public constant CHILD_BLOCK_INTERVAL = 1000;
    /// @notice The most listed ERC-20 tokens.
    uint32 public constant MAX_TOKENS = 1024;
    /// @notice Gas forwarded with an ETH payment; a recipient that needs more is credited instead.
    uint256 public constant PAYMENT_GAS = 50_000;

    /// @notice The minimum exit period in seconds (a week in production).
    uint256 public immutable minExitPeriod;
    /// @notice Wei per gas that bonds are sized with (docs/plasma.md, "Bonds").
    uint256 public immutable bondGasPrice;
    /// @notice The only account that submits blocks.
    address public immutable operator;
    /// @notice The account that binds the exit games once.
    address public immutable deployer;

    /// @notice A submitted block.
    struct Block {
        bytes32 root;
        uint64 timestamp;
    }

    /// @notice The blocks by number.
    mapping(uint256 blknum => Block) public blocks;
    /// @notice The number the next operator block gets.
    uint256 public nextChildBlock = CHILD_BLOCK_INTERVAL;
    /// @notice The offset of the next deposit block after the last operator block (1 … 999).
    uint256 public nextDepositBlock = 1;
    /// @notice The standard exit game (exit ids with bit 159 clear).
    address public standardExitGame;
    /// @notice The in-flight exit game (exit ids with bit 159 set).
    address public inFlightExitGame;
    /// @notice Which exit paid each output (0: none yet).
    mapping(bytes32 outputId => uint160 exitId) public finalizedBy;
    /// @notice Payments that failed, claimable with `withdrawPending`.
    mapping(address owner => mapping(address token => uint256)) public pendingWithdrawals;
    /// @notice The sum of `pendingWithdrawals` per token (owed, not free for exits).
    mapping(address token => uint256) public totalPending;

    mapping(address token => PriorityQueue.Heap) private _queues;
    bool private _processing;

    /// @notice The operator submitted a block.
    /// @param blknum Its number.
    /// @param root Its Merkle root.
    /// @param timestamp The L1 time.
    event BlockSubmitted(uint256 indexed blknum, bytes32 root, uint256 timestamp);
    /// @notice A deposit block was created; its transaction is `{1, [], [(owner, token, amount)],
    ///         bytes32(blknum)}`.
    /// @param owner The output's owner.
    /// @param blknum The deposit block.
    /// @param token The token (address(0): ETH).
    /// @param amount The amount.
    event DepositCreated(address indexed owner, uint256 indexed blknum, address indexed token, uint256 amount);
    /// @notice An exit was queued.
    /// @param token Its queue.
    /// @param exitId The exit.
    /// @param priority Its priority.
    event ExitQueued(address indexed token, uint160 indexed exitId, uint256 priority);
    /// @notice An exit left the queue and was finalized by its game.
    /// @param token Its queue.
    /// @param exitId The exit.
    /// @param priority Its priority.
    event ExitProcessed(address indexed token, uint160 indexed exitId, uint256 priority);
    /// @notice An output was paid on L1.
    /// @param to The recipient.
    /// @param token The token.
    /// @param amount The amount.
    /// @param credited True when the transfer failed and the amount was credited to `pendingWithdrawals`.
    event Paid(address indexed to, address indexed token, uint256 amount, bool credited);
    /// @notice The vault did not hold enough of `token` for an exit, or `token` is no token
    ///         (only exits of invalid outputs, after every honest exit, can meet this).
    /// @param to The exit's recipient.
    /// @param token The token.
    /// @param amount The amount that was not paid.
    event PaymentUnfunded(address indexed to, address indexed token, uint256 amount);

    /// @notice A zero operator, exit period or bond gas price.
    error InvalidFrameworkParameters();
    /// @notice Only the deployer binds the exit games, once, to non-zero distinct addresses.
    error ExitGamesNotBindable();
    /// @notice The exit games are not bound yet.
    error ExitGamesNotBound();
    /// @notice Only the operator submits blocks.
    /// @param caller The caller.
    error NotOperator(address caller);
    /// @notice Only an exit game may do this (or not now).
    /// @param caller The caller.
    error NotExitGame(address caller);
    /// @notice A zero root was submitted.
    error ZeroRoot();
    /// @notice 999 deposit blocks follow the last operator block; wait for the next one.
    error DepositBlocksFull();
    /// @notice A deposit of nothing, or to the zero owner.
    error InvalidDeposit();
    /// @notice ETH cannot be deposited through `depositERC20`.
    error NotAnERC20();
    /// @notice A token call failed.
    /// @param token The token.
    error TokenCallFailed(address token);
    /// @notice The queue of `token` is empty.
    /// @param token The token.
    error QueueEmpty(address token);
    /// @notice The first exit in the queue is not exitable yet.
    /// @param exitId The exit.
    /// @param exitableAt When it will be.
    error ExitNotYetExitable(uint160 exitId, uint256 exitableAt);
    /// @notice `processExits` was entered again.
    error Reentrancy();
    /// @notice Nothing is pending for the caller in this token.
    error NothingPending();

    /// @param operator_ The block submitter.
    /// @param tokenGovernor_ The account that lists ERC-20 tokens.
    /// @param minExitPeriod_ The minimum exit period in seconds (a week in production).
    /// @param bondGasPrice_ Wei per gas for bonds (100 gwei in production, 1 gwei on the devnet).
    constructor(address operator_, address tokenGovernor_, uint256 minExitPeriod_, uint256 bondGasPrice_)
        TokenRegistry(tokenGovernor_, MAX_TOKENS)
    {
        if (operator_ == address(0) || minExitPeriod_ == 0 || bondGasPrice_ == 0 || minExitPeriod_ > 365 days) {
            revert InvalidFrameworkParameters();
        }
        operator = operator_;
        minExitPeriod = minExitPeriod_;
        bondGasPrice = bondGasPrice_;
        deployer = msg.sender;
    }

    /// @notice Binds the two exit games; only the deployer, once.
    /// @param standard The `PaymentStandardExitGame`.
    /// @param inFlight The `PaymentInFlightExitGame`.
    function initExitGames(address standard, address inFlight) external {
        if (
            msg.sender != deployer || standardExitGame != address(0) || standard == address(0)
                || inFlight == address(0) || standard == inFlight
        ) revert ExitGamesNotBindable();
        standardExitGame = standard;
        inFlightExitGame = inFlight;
    }

    // ------------------------------------------------------------------ blocks and deposits

    /// @notice Submits the Merkle root of the next operator block.
    /// @param root The block's root (non-zero).
    /// @return blknum The block's number.
    function submitBlock(bytes32 root) external returns (uint256 blknum) {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        blknum = nextChildBlock;
        blocks[blknum] = Block(root, uint64(block.timestamp));
        nextChildBlock = blknum + CHILD_BLOCK_INTERVAL;
        nextDepositBlock = 1;
        emit BlockSubmitted(blknum, root, block.timestamp);
    }

    /// @notice Deposits the ETH sent to an output owned by `owner`.
    /// @param owner The output's owner.
    /// @return blknum The deposit block.
    function depositETH(address owner) external payable returns (uint256 blknum) {
        if (_processing) revert Reentrancy();
        blknum = _deposit(owner, address(0), msg.value);
    }

    /// @notice Deposits `amount` of a listed ERC-20 (approve the framework first) to an output owned
    ///         by `owner`; the output holds what the framework's balance grew by.
    /// @param token The token (listed in the registry).
    /// @param amount The amount to take.
    /// @param owner The output's owner.
    /// @return blknum The deposit block.
    function depositERC20(address token, uint256 amount, address owner) external returns (uint256 blknum) {
        if (_processing) revert Reentrancy();
        if (token == address(0)) revert NotAnERC20();
        tokenId(token); // reverts with TokenNotRegistered
        uint256 before = _balanceOf(token);
        (bool ok, bytes memory ret) =
            token.call(abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), amount));
        if (!ok || !_returnedTrue(ret)) revert TokenCallFailed(token);
        blknum = _deposit(owner, token, _balanceOf(token) - before);
    }

    /// @notice The deposit transaction of a deposit block, as `depositETH`/`depositERC20` built it.
    /// @param owner The owner.
    /// @param token The token.
    /// @param amount The amount.
    /// @param blknum The deposit block.
    /// @return The canonical transaction bytes.
    function depositTx(address owner, address token, uint256 amount, uint256 blknum)
        public
        pure
        returns (bytes memory)
    {
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](1);
        outs[0] = PlasmaTx.Output(owner, token, amount);
        return abi.encode(PlasmaTx.Transaction(uint8(PlasmaTx.VERSION), new uint256[](0), outs, bytes32(blknum)));
    }

    function _deposit(address owner, address token, uint256 amount) private returns (uint256 blknum) {
        if (amount == 0 || owner == address(0)) revert InvalidDeposit();
        if (nextDepositBlock >= CHILD_BLOCK_INTERVAL) revert DepositBlocksFull();
        blknum = nextChildBlock - CHILD_BLOCK_INTERVAL + nextDepositBlock;
        nextDepositBlock += 1;
        bytes32 root = PlasmaMerkle.singleLeafRoot(keccak256(depositTx(owner, token, amount, blknum)));
        blocks[blknum] = Block(root, uint64(block.timestamp));
        emit DepositCreated(owner, blknum, token, amount);
    }

    /// @notice Whether `blknum` numbers a deposit block.
    /// @param blknum The block number.
    /// @return True for a deposit block.
    function isDeposit(uint256 blknum) public pure returns (bool) {
        return blknum % CHILD_BLOCK_INTERVAL != 0;
    }

    /// @notice The EIP-712 domain separator transactions are signed in (docs/plasma.md, "Signatures").
    /// @return The separator.
    function domainSeparator() external view returns (bytes32) {
        return PlasmaTx.domainSeparator(address(this));
    }

    // ------------------------------------------------------------------ exit queue

    /// @notice Queues an exit; only the exit games.
    /// @param token The token's queue.
    /// @param priority The exit's priority (`ExitPriority.compute`).
    function enqueue(address token, uint256 priority) external {
        _onlyGame();
        _queues[token].insert(priority);
        emit ExitQueued(token, ExitPriority.exitId(priority), priority);
    }

    /// @notice Processes up to `maxExits` exits of `token` whose time has come, in priority order.
    /// @param token The queue.
    /// @param maxExits The most exits to process (bounds the gas).
    /// @return processed How many were processed.
    function processExits(address token, uint256 maxExits) external returns (uint256 processed) {
        if (_processing) revert Reentrancy();
        if (standardExitGame == address(0)) revert ExitGamesNotBound();
        PriorityQueue.Heap storage q = _queues[token];
        if (q.size() == 0) revert QueueEmpty(token);
        uint256 top = q.min();
        // exit times are days apart: a validator's few seconds do not matter
        // forge-lint: disable-next-line(block-timestamp)
        if (ExitPriority.exitableAt(top) > block.timestamp) {
            revert ExitNotYetExitable(ExitPriority.exitId(top), ExitPriority.exitableAt(top));
        }
        _processing = true;
        while (processed < maxExits && q.size() != 0) {
            top = q.min();
            // as above
            // forge-lint: disable-next-line(block-timestamp)
            if (ExitPriority.exitableAt(top) > block.timestamp) break;
            q.pop();
            uint160 exitId = ExitPriority.exitId(top);
            address game = exitId >> 159 == 0 ? standardExitGame : inFlightExitGame;
            _callGame(game, exitId, token);
            emit ExitProcessed(token, exitId, top);
            processed++;
        }
        _processing = false;
    }

    /// @notice The number of exits queued for `token`.
    /// @param token The token.
    /// @return The count.
    function queueSize(address token) external view returns (uint256) {
        return _queues[token].size();
    }

    /// @notice The smallest priority queued for `token`; reverts on an empty queue.
    /// @param token The token.
    /// @return The priority.
    function queueTop(address token) external view returns (uint256) {
        return _queues[token].min();
    }

    /// @notice Records that exit `exitId` paid (or spent) output `outputId`; only the exit
    ///         games, only while exits are processed.
    /// @param outputId The output.
    /// @param exitId The exit.
    function flagOutputFinalized(bytes32 outputId, uint160 exitId) external {
        _onlyGame();
        if (!_processing) revert NotExitGame(msg.sender);
        if (finalizedBy[outputId] == 0) finalizedBy[outputId] = exitId;
    }

    /// @notice Whether an exit has paid `outputId`.
    /// @param outputId The output.
    /// @return True when it has.
    function isOutputFinalized(bytes32 outputId) external view returns (bool) {
        return finalizedBy[outputId] != 0;
    }

    /// @notice Pays `amount` of `token` to `to` from the vault; only the exit games, only while
    ///         exits are processed. Short of funds it pays nothing (`PaymentUnfunded`); a failed
    ///         transfer is credited to `pendingWithdrawals`.
    /// @param to The recipient.
    /// @param token The token.
    /// @param amount The amount.
    function payOut(address to, address token, uint256 amount) external {
        _onlyGame();
        if (!_processing) revert NotExitGame(msg.sender);
        (bool known, uint256 held) = token == address(0) ? (true, address(this).balance) : _tryBalanceOf(token);
        // an unknown "token" (an output the operator made up) never blocks its queue
        if (!known || held < totalPending[token] + amount) {
            emit PaymentUnfunded(to, token, amount);
            return;
        }
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAYMENT_GAS}("");
        } else {
            bytes memory ret;
            (ok, ret) = token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
            ok = ok && _returnedTrue(ret);
        }
        if (!ok) {
            pendingWithdrawals[to][token] += amount;
            totalPending[token] += amount;
        }
        emit Paid(to, token, amount, !ok);
    }

    /// @notice Withdraws what failed payments credited to the caller in `token`.
    /// @param token The token.
    function withdrawPending(address token) external {
        if (_processing) revert Reentrancy();
        uint256 amount = pendingWithdrawals[msg.sender][token];
        if (amount == 0) revert NothingPending();
        pendingWithdrawals[msg.sender][token] = 0;
        totalPending[token] -= amount;
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TokenCallFailed(token);
        } else {
            (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0xa9059cbb, msg.sender, amount));
            if (!ok || !_returnedTrue(ret)) revert TokenCallFailed(token);
        }
    }

    /// @dev `game.processExit(exitId, token)`; a revert there (a bug) reverts the whole call.
    ///      A plain call rather than an interface type keeps the games' ABI in one place.
    function _callGame(address game, uint160 exitId, address token) private {
        (bool ok, bytes memory ret) = game.call(abi.encodeWithSignature("processExit(uint160,address)", exitId, token));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function _onlyGame() private view {
        if (msg.sender != standardExitGame && msg.sender != inFlightExitGame || msg.sender == address(0)) {
            revert NotExitGame(msg.sender);
        }
    }

    function _balanceOf(address token) private view returns (uint256) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) revert TokenCallFailed(token);
        return abi.decode(ret, (uint256));
    }

    function _tryBalanceOf(address token) private view returns (bool, uint256) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) return (false, 0);
        return (true, abi.decode(ret, (uint256)));
    }

    function _returnedTrue(bytes memory ret) private pure returns (bool) {
        if (ret.length == 0) return true;
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }
}
