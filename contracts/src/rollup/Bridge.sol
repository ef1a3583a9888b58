// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenRegistry} from "../common/TokenRegistry.sol";
import {Rollup} from "./Rollup.sol";
import {
    WITHDRAWAL_TREE_DEPTH as TREE_DEPTH,
    MAX_WITHDRAWAL_LEAF_INDEX,
    withdrawalLeaf,
    withdrawalRootFromProof
} from "./WithdrawalTree.sol";

/// @title Bridge
/// @author ply
/// @notice The L1 side of a ply rollup's token bridge (docs/rollup.md). It holds the ETH and
///         ERC-20 tokens deposited to the L2, keeps the **priority-operation queue** (deposits,
///         forced transfers and forced withdrawals) that the batches must consume in order (and by
///         a deadline, which the `Rollup` enforces), and pays out withdrawals proven against the
///         final output of a batch.
/// @dev Token ids: `0` is ETH; ERC-20 tokens get ids `1, 2, ...` in order of registration by the
///      **token governor**, an account fixed at deployment (zkSync Lite's model): with a cap of
///      255 ids, an open registry would let anyone fill it with worthless contracts so that no
///      real token could ever be listed. The registry (`registerToken`, `tokenCount`,
///      `tokenAddress`, `tokenId`) is the family-neutral `TokenRegistry`, capped at
///      `MAX_TOKEN_ID`.
///
///      Priority operation `i` (0-based) is stored as (docs/rollup.md, "Priority operations")
///
///          keccak256(abi.encode(uint256 i, uint8 kind, address from, address to, uint32 token,
///                               uint256 amount, uint64 timestamp))
///
///      with `kind` 0 (deposit), 1 (forced transfer) or 2 (forced withdrawal), together with its
///      `timestamp` (`block.timestamp` when queued), and announced by `OperationQueued`. A forced
///      operation needs no L2 signature: its `from` is `msg.sender`, the owner of the L2 account
///      with that address. The L2 skips any operation its state refuses; a skipped deposit's
///      funds stay in the bridge.
///
///      Withdrawal `i` of batch `b` is the leaf
///      `keccak256(abi.encode(uint256 b, uint256 i, address to, uint32 token, uint256 amount))` at
///      position `i` of a depth-16 sparse Keccak Merkle tree whose root is the batch's withdrawal
///      root (see `WithdrawalTree.sol`). It is paid once, to `to`, by `claimWithdrawal`; anyone may
///      submit the claim.
///
///      The bridge is wired to its `Rollup` once, by its deployer, with `initialize`; until then
///      it accepts token registrations but neither deposits nor claims.
///
///      Reentrancy: state changes precede every outgoing call (checks-effects-interactions), and
///      the deposit and claim functions also hold a transient-storage lock, because an ERC-20
///      deposit must call the token before it can record the deposit (it records the amount the
///      bridge actually received).
contract Bridge is TokenRegistry {
    /// @notice The largest amount of one deposit: `2^128 - 1`, the ledger's `MAX_BALANCE`.
    uint256 public constant MAX_DEPOSIT_AMOUNT = type(uint128).max;

    /// @notice The largest ERC-20 token id: the L2 ledger's balance tree has depth 8 (ids 0 to
    ///         255, docs/rollup.md); a larger id could be deposited but never credited on L2.
    uint32 public constant MAX_TOKEN_ID = 255;

    /// @notice The token id of ETH.
    uint32 public constant ETH_TOKEN = 0;

    /// @notice The depth of every batch's withdrawal tree (16: up to 65,536 withdrawals a batch).
    uint256 public constant WITHDRAWAL_TREE_DEPTH = TREE_DEPTH;

    /// @notice The kind of a deposit in the priority queue.
    uint8 public constant KIND_DEPOSIT = 0;

    /// @notice The kind of a forced L2 transfer in the priority queue.
    uint8 public constant KIND_FORCED_TRANSFER = 1;

    /// @notice The kind of a forced L2 withdrawal in the priority queue.
    uint8 public constant KIND_FORCED_WITHDRAWAL = 2;

    /// @notice The account that deployed the bridge, the only one allowed to call `initialize`.
    address public immutable deployer;

    /// @notice The rollup whose final outputs authorise withdrawals (zero until `initialize`).
    Rollup public rollup;

    /// @dev `_opHashes[i]` is the hash of priority operation `i` (see the contract's documentation).
    bytes32[] private _opHashes;

    /// @dev `_opTimestamps[i]` is the `block.timestamp` of operation `i` (packed, 4 per slot).
    uint64[] private _opTimestamps;

    /// @dev Claimed withdrawals: bit `leaf % 256` of `_claimed[batch][leaf / 256]`.
    mapping(uint256 batchIndex => mapping(uint256 word => uint256 bits)) private _claimed;

    /// @dev The reentrancy lock (transient: cleared at the end of every transaction).
    bool private transient _locked;

    /// @notice A priority operation was appended to the queue.
    /// @param index Its position in the queue (0-based, consecutive).
    /// @param kind 0 deposit, 1 forced transfer, 2 forced withdrawal.
    /// @param from `msg.sender`: the depositor, or the L2 account forced to transfer or withdraw.
    /// @param to The L2 recipient (deposit, forced transfer) or the L1 recipient (forced withdrawal).
    /// @param token The token id (0 for ETH).
    /// @param amount The amount, in the token's smallest unit.
    /// @param timestamp `block.timestamp` when queued; the inclusion deadline counts from it.
    event OperationQueued(
        uint256 indexed index,
        uint8 kind,
        address indexed from,
        address to,
        uint32 token,
        uint256 amount,
        uint64 timestamp
    );

    /// @notice A withdrawal was paid out.
    /// @param batchIndex The batch whose withdrawal tree holds it.
    /// @param leafIndex Its position in that tree.
    /// @param to The L1 recipient, paid `amount` of `token`.
    /// @param token The token id (0 for ETH).
    /// @param amount The amount paid.
    event WithdrawalClaimed(
        uint256 indexed batchIndex, uint256 indexed leafIndex, address indexed to, uint32 token, uint256 amount
    );

    /// @notice The bridge was wired to its rollup.
    /// @param rollup The rollup contract.
    event Initialized(address rollup);

    /// @notice Only the deployer may call this.
    /// @param caller The account that called.
    /// @param deployer The deployer.
    error NotDeployer(address caller, address deployer);

    /// @notice `initialize` was already called.
    /// @param rollup The rollup the bridge is wired to.
    error AlreadyInitialized(address rollup);

    /// @notice The bridge is not wired to a rollup yet (`initialize` was not called).
    error NotInitialized();

    /// @notice The rollup passed to `initialize` is not a contract, or is wired to another bridge.
    /// @param rollup The address given.
    error InvalidRollup(address rollup);

    /// @notice A forced operation names a token id that cannot exist on the L2.
    /// @param token The token id.
    /// @param max The largest token id.
    error TokenIdOutOfRange(uint32 token, uint32 max);

    /// @notice Deposits and forced operations of zero are refused.
    error ZeroAmount();

    /// @notice The deposit exceeds `MAX_DEPOSIT_AMOUNT`.
    /// @param amount The amount.
    /// @param max The largest accepted amount.
    error AmountTooLarge(uint256 amount, uint256 max);

    /// @notice Deposits to the zero address are refused (nobody could spend them on the L2).
    error ZeroRecipient();

    /// @notice The token's `transferFrom` failed: it reverted, returned false or returned garbage.
    /// @param l1Token The token.
    /// @param from The depositor.
    /// @param amount The amount asked for.
    error TransferFromFailed(address l1Token, address from, uint256 amount);

    /// @notice The token's `balanceOf` failed (reverted or did not return one word).
    /// @param l1Token The token.
    error BalanceQueryFailed(address l1Token);

    /// @notice The bridge's balance grew by another amount than the one deposited (e.g. a token
    ///         that charges a fee on transfers); such tokens are not supported.
    /// @param l1Token The token.
    /// @param expected The amount deposited.
    /// @param received The increase of the bridge's balance.
    error AmountMismatch(address l1Token, uint256 expected, uint256 received);

    /// @notice No priority operation has this index.
    /// @param index The index asked for.
    /// @param count The queue's length.
    error OperationIndexOutOfRange(uint256 index, uint256 count);

    /// @notice The leaf index is outside the depth-16 withdrawal tree.
    /// @param leafIndex The index given.
    /// @param max The largest leaf index (`2^16 - 1`).
    error LeafIndexOutOfRange(uint256 leafIndex, uint256 max);

    /// @notice A withdrawal proof must hold exactly `WITHDRAWAL_TREE_DEPTH` siblings.
    /// @param length The number of siblings given.
    /// @param expected The tree depth.
    error InvalidProofLength(uint256 length, uint256 expected);

    /// @notice The proof does not lead from the withdrawal's leaf to the batch's final withdrawal
    ///         root.
    /// @param batchIndex The batch.
    /// @param leafIndex The leaf position.
    error InvalidProof(uint256 batchIndex, uint256 leafIndex);

    /// @notice This withdrawal was paid out already.
    /// @param batchIndex The batch.
    /// @param leafIndex The leaf position.
    error AlreadyClaimed(uint256 batchIndex, uint256 leafIndex);

    /// @notice Sending ETH to the recipient failed.
    /// @param to The recipient.
    /// @param amount The amount.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice The token's `transfer` to the recipient failed.
    /// @param l1Token The token.
    /// @param to The recipient.
    /// @param amount The amount.
    error TokenTransferFailed(address l1Token, address to, uint256 amount);

    /// @notice A deposit, forced operation or claim was re-entered.
    error Reentrancy();

    /// @dev Holds the reentrancy lock for the duration of the function.
    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    /// @notice Creates an unwired bridge; its deployer wires it with `initialize`.
    /// @param tokenGovernor_ The only account allowed to register tokens (a multisig or a
    ///        timelock in production); the zero address reverts with `InvalidTokenRegistry`.
    constructor(address tokenGovernor_) TokenRegistry(tokenGovernor_, MAX_TOKEN_ID) {
        deployer = msg.sender;
    }

    /// @notice Wires the bridge to its rollup, once. Only the deployer may call it.
    /// @dev The rollup must be a contract whose `bridge()` is this bridge.
    /// @param rollup_ The rollup contract.
    function initialize(Rollup rollup_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender, deployer);
        if (address(rollup) != address(0)) revert AlreadyInitialized(address(rollup));
        if (address(rollup_).code.length == 0) revert InvalidRollup(address(rollup_));
        if (address(rollup_.bridge()) != address(this)) revert InvalidRollup(address(rollup_));
        rollup = rollup_;
        emit Initialized(address(rollup_));
    }

    // ------------------------------------------------------------------ deposits

    /// @notice Deposits `msg.value` wei of ETH to the L2 account `to`.
    /// @param to The L2 recipient.
    /// @return index The deposit's position in the queue.
    function depositETH(address to) external payable nonReentrant returns (uint256 index) {
        _requireInitialized();
        _checkDeposit(to, msg.value);
        index = _enqueue(KIND_DEPOSIT, to, ETH_TOKEN, msg.value);
    }

    /// @notice Deposits `amount` of a registered ERC-20 token to the L2 account `to`. The bridge
    ///         takes the tokens with `transferFrom`, so approve it first.
    /// @dev Refuses tokens whose `transferFrom` returns false, and tokens that deliver another
    ///      amount than `amount` (fee-on-transfer tokens): the balance delta must equal `amount`.
    /// @param l1Token The token's L1 address.
    /// @param to The L2 recipient.
    /// @param amount The amount, at least 1 and at most `MAX_DEPOSIT_AMOUNT`.
    /// @return index The deposit's position in the queue.
    function depositERC20(address l1Token, address to, uint256 amount) external nonReentrant returns (uint256 index) {
        _requireInitialized();
        _checkDeposit(to, amount);
        uint32 token = tokenId(l1Token); // reverts with `TokenNotRegistered` for unlisted tokens
        if (token == ETH_TOKEN) revert TokenNotRegistered(l1Token); // address(0): ETH has no ERC-20

        uint256 before = _balanceOf(l1Token);
        _transferFrom(l1Token, msg.sender, amount);
        uint256 received = _balanceOf(l1Token) - before;
        if (received != amount) revert AmountMismatch(l1Token, amount, received);

        index = _enqueue(KIND_DEPOSIT, to, token, amount);
    }

    // ------------------------------------------------------------------ forced operations

    /// @notice Queues a forced L2 transfer of `amount` of `token` from the L2 account of
    ///         `msg.sender` to the L2 account `to` (created if it has none). The sequencer must
    ///         include it by the inclusion deadline; the L2 skips it if the account does not exist,
    ///         the token is unknown or the balance is short. No fee, no nonce.
    /// @param to The L2 recipient.
    /// @param token The token id.
    /// @param amount The amount, at least 1 and at most `MAX_DEPOSIT_AMOUNT`.
    /// @return index The operation's position in the queue.
    function forceTransfer(address to, uint32 token, uint256 amount) external nonReentrant returns (uint256 index) {
        _requireInitialized();
        _checkForced(to, token, amount);
        index = _enqueue(KIND_FORCED_TRANSFER, to, token, amount);
    }

    /// @notice Queues a forced L2 withdrawal of `amount` of `token` from the L2 account of
    ///         `msg.sender` to the L1 account `to`: the escape from a censoring sequencer. Once a
    ///         batch applies it, `to` claims it with `claimWithdrawal` against that batch's final
    ///         output. The L2 skips it if the account does not exist, the token is unknown, the
    ///         balance is short or the batch's withdrawal tree is full.
    /// @param to The L1 recipient.
    /// @param token The token id.
    /// @param amount The amount, at least 1 and at most `MAX_DEPOSIT_AMOUNT`.
    /// @return index The operation's position in the queue.
    function forceWithdrawal(address to, uint32 token, uint256 amount) external nonReentrant returns (uint256 index) {
        _requireInitialized();
        _checkForced(to, token, amount);
        index = _enqueue(KIND_FORCED_WITHDRAWAL, to, token, amount);
    }

    // ------------------------------------------------------------------ the queue

    /// @notice The number of priority operations queued so far; the next one gets this index.
    /// @return The queue length.
    function queueLength() external view returns (uint256) {
        return _opHashes.length;
    }

    /// @notice The hash of priority operation `index` (see the contract's documentation).
    /// @param index An operation index, below `queueLength()`.
    /// @return The operation hash.
    function operationHash(uint256 index) external view returns (bytes32) {
        uint256 count = _opHashes.length;
        if (index >= count) revert OperationIndexOutOfRange(index, count);
        return _opHashes[index];
    }

    /// @notice The `block.timestamp` at which priority operation `index` was queued.
    /// @param index An operation index, below `queueLength()`.
    /// @return The timestamp, in seconds.
    function operationTimestamp(uint256 index) external view returns (uint64) {
        uint256 count = _opTimestamps.length;
        if (index >= count) revert OperationIndexOutOfRange(index, count);
        return _opTimestamps[index];
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Pays out withdrawal `leafIndex` of batch `batchIndex`: `amount` of `token` to `to`.
    ///         Anyone may submit it; the recipient is fixed by the leaf. Each withdrawal is paid
    ///         once.
    /// @dev The batch's output must be final (`Rollup.finalizedWithdrawalRoot` reverts otherwise,
    ///      and its error is passed on). The proof lists the 16 siblings from the leaf level up.
    /// @param batchIndex The batch.
    /// @param leafIndex The withdrawal's position in the batch's withdrawal tree.
    /// @param to The L1 recipient.
    /// @param token The token id (0 for ETH).
    /// @param amount The amount.
    /// @param proof The Merkle proof: 16 sibling hashes, leaf level first.
    function claimWithdrawal(
        uint256 batchIndex,
        uint256 leafIndex,
        address to,
        uint32 token,
        uint256 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        Rollup rollup_ = _requireInitialized();
        if (leafIndex > MAX_WITHDRAWAL_LEAF_INDEX) revert LeafIndexOutOfRange(leafIndex, MAX_WITHDRAWAL_LEAF_INDEX);
        if (proof.length != TREE_DEPTH) revert InvalidProofLength(proof.length, TREE_DEPTH);

        bytes32 root = rollup_.finalizedWithdrawalRoot(batchIndex);
        bytes32 leaf = withdrawalLeaf(batchIndex, leafIndex, to, token, amount);
        if (withdrawalRootFromProof(leaf, leafIndex, proof) != root) revert InvalidProof(batchIndex, leafIndex);

        // forge-lint: disable-next-line(incorrect-shift)
        uint256 bit = 1 << (leafIndex & 0xff);
        mapping(uint256 => uint256) storage words = _claimed[batchIndex];
        uint256 bits = words[leafIndex >> 8];
        if (bits & bit != 0) revert AlreadyClaimed(batchIndex, leafIndex);
        words[leafIndex >> 8] = bits | bit;

        emit WithdrawalClaimed(batchIndex, leafIndex, to, token, amount);

        if (token == ETH_TOKEN) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            address l1Token = tokenAddress(token);
            _transfer(l1Token, to, amount);
        }
    }

    /// @notice Whether withdrawal `leafIndex` of batch `batchIndex` was paid out.
    /// @param batchIndex The batch.
    /// @param leafIndex The withdrawal's position in the batch's withdrawal tree.
    /// @return True once claimed.
    function isClaimed(uint256 batchIndex, uint256 leafIndex) external view returns (bool) {
        if (leafIndex > MAX_WITHDRAWAL_LEAF_INDEX) return false;
        // forge-lint: disable-next-line(incorrect-shift)
        return _claimed[batchIndex][leafIndex >> 8] & (1 << (leafIndex & 0xff)) != 0;
    }

    // ------------------------------------------------------------------ internals

    function _requireInitialized() private view returns (Rollup rollup_) {
        rollup_ = rollup;
        if (address(rollup_) == address(0)) revert NotInitialized();
    }

    function _checkDeposit(address to, uint256 amount) private pure {
        if (to == address(0)) revert ZeroRecipient();
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_DEPOSIT_AMOUNT) revert AmountTooLarge(amount, MAX_DEPOSIT_AMOUNT);
    }

    function _checkForced(address to, uint32 token, uint256 amount) private pure {
        _checkDeposit(to, amount);
        if (token > MAX_TOKEN_ID) revert TokenIdOutOfRange(token, MAX_TOKEN_ID);
    }

    /// @dev Appends operation (`kind`, msg.sender -> `to`, `token`, `amount`) to the queue.
    function _enqueue(uint8 kind, address to, uint32 token, uint256 amount) private returns (uint256 index) {
        index = _opHashes.length;
        uint64 timestamp = uint64(block.timestamp);
        _opHashes.push(keccak256(abi.encode(index, kind, msg.sender, to, token, amount, timestamp)));
        _opTimestamps.push(timestamp);
        emit OperationQueued(index, kind, msg.sender, to, token, amount, timestamp);
    }

    /// @dev The bridge's balance of `l1Token` (`balanceOf(this)`).
    function _balanceOf(address l1Token) private view returns (uint256 balance) {
        (bool ok, bytes memory ret) = l1Token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) revert BalanceQueryFailed(l1Token);
        balance = abi.decode(ret, (uint256));
    }

    /// @dev `transferFrom(from, this, amount)`, accepting tokens that return nothing (USDT style)
    ///      and refusing those that revert or return anything but `true`.
    function _transferFrom(address l1Token, address from, uint256 amount) private {
        (bool ok, bytes memory ret) = l1Token.call(abi.encodeWithSelector(0x23b872dd, from, address(this), amount));
        if (!ok || !_returnedTrue(ret)) revert TransferFromFailed(l1Token, from, amount);
    }

    /// @dev `transfer(to, amount)`, with the same return-value rules as `_transferFrom`.
    function _transfer(address l1Token, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = l1Token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
        if (!ok || !_returnedTrue(ret)) revert TokenTransferFailed(l1Token, to, amount);
    }

    /// @dev True for empty return data or for exactly the ABI encoding of `true`.
    function _returnedTrue(bytes memory ret) private pure returns (bool) {
        if (ret.length == 0) return true;
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }
}
