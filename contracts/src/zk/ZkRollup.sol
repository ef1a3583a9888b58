// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenRegistry} from "../common/TokenRegistry.sol";
import {BatchVerifier} from "./BatchVerifier.sol";
import {PoseidonT5} from "./PoseidonT5.sol";
import {PoseidonT6} from "./PoseidonT6.sol";

/// @title ZkRollup
/// @author ply
/// @notice The L1 contract of ply's zk rollup and validium: it holds the deposited ETH and
///         ERC-20 tokens, keeps the priority queue of deposits that batches must consume in
///         order and by a deadline, accepts each batch of the operator with a Groth16 proof
///         of its state transition, releases the batch's withdrawals at once, and, when the
///         operator ignores an overdue deposit, lets everyone leave (exit mode).
/// @dev One contract serves both modes: it is a **validium** iff its committee is non-empty.
///      In rollup mode the operator posts the transfer section of the public data
///      (`submitBatch`); in validium mode it posts only its hash, with the signatures of at
///      least `threshold` committee members, who vouch that they hold the data
///      (`submitBatchValidium`).
///
///      Public data of a batch (version 3; integers big-endian), one record per slot:
///      - priority section, `depositSlots` x 17 bytes: `op ‖ payout u128`, op 0x01 deposit
///        credited (payout 0), 0x05 deposit refused (payout = its amount, paid back here),
///        0x04 full exit (payout = the balance, paid here), or 17 zero bytes (padding);
///      - transfer section, `transferSlots` x 12 bytes: `0x02 ‖ from u24 ‖ to u24 ‖ token u8 ‖
///        amount u24 ‖ fee u8`, or 12 zero bytes (in rollup mode it may be posted shorter and is
///        padded with zero bytes before hashing);
///      - withdrawal section, `withdrawalSlots` x 42 bytes: `0x03 ‖ from u24 ‖ token u8 ‖ amount
///        u128 ‖ fee u8 ‖ recipient (20 bytes)`, or 42 zero bytes.
///      A padding record that is not all zero is refused in every section this contract sees
///      (the circuit refuses it too).
///
///      `onchain` is the priority section followed by the withdrawal section. `priority` holds,
///      for each priority slot, the 105-byte record `kind (1) ‖ accountIndex u24 ‖ to (20) ‖
///      token (1) ‖ amount (u128) ‖ pkX (32) ‖ pkY (32)` of the operation it consumes (in queue
///      order; kind 1 deposit, 4 full exit with amount and key zero), or 105 zero bytes for a
///      padding slot. The proof's one public input is
///
///          uint256(sha256(abi.encodePacked(oldRoot, newRoot, signingDomain(), sha256(transfers),
///                                          sha256(priority), onchain))) & (2^253 - 1).
///
///      Accounts: this contract gives each address one account index, the next free one, at its
///      first deposit (account 0 is the operator's), and the circuit creates the account there.
///      Every queued operation has a provable outcome, so the operator can always take the
///      queue's head: deposits the circuit cannot apply are refused here (a full account tree,
///      a key off the curve, zero, an unlisted token), and a credit that would overflow is
///      refused by the circuit and paid back. A queued operation's deadline is at least
///      `priorityInterval` after the previous one's, so a flood of deposits at whatever rate L1
///      allows only pushes later deadlines back: an operator that takes one operation per
///      `priorityInterval` is never overdue.
///      Every queued operation pays `priorityFee` wei on top of what it moves, burned (held
///      here for good, counted in `feesBurned`): flooding the queue at the L1's gas limit costs
///      that fee an operation besides the gas, and so does every `priorityInterval` a flood
///      pushes a later deadline back (docs/zk.md sizes it).
///
///      The state tree (for exits): the balance tree of depth `tokenDepth` has the balance of
///      token `t` as its leaf `t`; an account leaf is
///      `poseidon5([uint160(owner), pkX, pkY, nonce, balancesRoot])` at leaf `accountIndex` of
///      the account tree of depth `accountDepth`. Both trees are quaternary: an inner node is
///      `poseidon4([c0, c1, c2, c3])` of its four children, a node level takes two bits of a
///      leaf's index (the lowest two at the leaf level), and a depth counts index bits (even).
///
///      Reentrancy: state changes precede every outgoing value transfer
///      (checks-effects-interactions), and the functions that call a token or pay out also hold
///      a transient-storage lock.
contract ZkRollup is TokenRegistry {
    /// @notice The deployment parameters.
    /// @param verifier The Groth16 verifier of the batch circuit (`verifyProof(a, b, c, [input])`).
    /// @param poseidon4 The deployed `PoseidonT5` (Poseidon of 4 inputs: tree nodes).
    /// @param poseidon5 The deployed `PoseidonT6` (Poseidon of 5 inputs: account leaves).
    /// @param operator The only account allowed to submit batches.
    /// @param genesisRoot The state root before the first batch (a field element).
    /// @param operatorKeyX The x coordinate of the BabyJubjub key of account 0 (the operator's
    ///        fee account, in the genesis state), published so that anyone can rebuild the
    ///        state from L1 alone.
    /// @param operatorKeyY Its y coordinate.
    /// @param accountDepth The depth of the account tree (bits of an account index): even, 2 to 24.
    /// @param tokenDepth The depth of each account's balance tree (bits of a token id): even, 2 to 8.
    /// @param depositSlots The deposit slots of a batch (at least 1).
    /// @param transferSlots The transfer slots of a batch.
    /// @param withdrawalSlots The withdrawal slots of a batch.
    /// @param priorityDeadline Seconds within which a batch must consume a queued operation
    ///        (at least 1).
    /// @param priorityInterval Seconds the operator is given per queued operation: a new
    ///        operation's deadline is at least this much after the previous one's (at least 1;
    ///        size it to the operator's throughput, a batch's time over its priority slots).
    /// @param priorityFee The fee in wei that every queued operation (deposit or full exit) pays
    ///        on top of what it moves, burned (kept by this contract, never paid out): a flood of
    ///        the queue at the L1's gas limit costs `priorityFee` an operation besides its gas.
    /// @param tokenGovernor The account that lists ERC-20 tokens (`TokenRegistry`).
    /// @param committee The data availability committee: empty for a rollup, members for a
    ///        validium (distinct, non-zero).
    /// @param threshold The signatures a validium batch needs: 0 for a rollup, 1 to the
    ///        committee's size for a validium.
    struct Config {
        address verifier;
        address poseidon4;
        address poseidon5;
        address operator;
        uint256 genesisRoot;
        uint256 operatorKeyX;
        uint256 operatorKeyY;
        uint8 accountDepth;
        uint8 tokenDepth;
        uint16 depositSlots;
        uint16 transferSlots;
        uint16 withdrawalSlots;
        uint64 priorityDeadline;
        uint64 priorityInterval;
        uint256 priorityFee;
        address tokenGovernor;
        address[] committee;
        uint8 threshold;
    }

    /// @notice A queued priority operation: a deposit or a full exit.
    /// @param to The depositor (credited on L2, refunded in exit mode) or the full exit's
    ///        requester (paid its balance).
    /// @param kind `KIND_DEPOSIT` or `KIND_FULL_EXIT`.
    /// @param token The token id (0 for ETH).
    /// @param accountIndex The L2 account of `to` (assigned at its first deposit).
    /// @param deadline The time (seconds) by which a batch must consume it.
    /// @param amount A deposit's amount, in the token's smallest unit (0 for a full exit).
    /// @param pkX The x coordinate of the L2 account's BabyJubjub public key (deposits).
    /// @param pkY The y coordinate of that key.
    struct PriorityOp {
        address to;
        uint8 kind;
        uint8 token;
        uint32 accountIndex;
        uint64 deadline;
        uint128 amount;
        uint256 pkX;
        uint256 pkY;
    }

    /// @notice The BN254 scalar field modulus: roots, keys and tree nodes are its elements.
    uint256 public constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The token id of ETH.
    uint8 public constant ETH_TOKEN = 0;

    /// @notice The domain tag of the committee's signatures (see `dacDigest`).
    bytes32 public constant DAC_DOMAIN = keccak256("ply.validium.dac.v1");

    /// @dev BabyJubjub (twisted Edwards form a·x² + y² = 1 + d·x²·y² over the scalar field).
    uint256 internal constant BABYJUBJUB_A = 168700;
    uint256 internal constant BABYJUBJUB_D = 168696;

    /// @dev secp256k1's group order over 2: larger `s` values are malleable twins.
    uint256 internal constant SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @dev The commitment keeps the low 253 bits of the hash (a field element).
    uint256 internal constant COMMITMENT_MASK = (1 << 253) - 1;

    /// @dev Record sizes and op bytes of the public data (see the contract's documentation).
    uint256 internal constant DEPOSIT_RECORD_BYTES = 17;
    uint256 internal constant TRANSFER_RECORD_BYTES = 12;
    uint256 internal constant WITHDRAWAL_RECORD_BYTES = 42;
    uint256 internal constant PRIORITY_RECORD_BYTES = 105;
    uint256 internal constant SIGNATURE_BYTES = 65;
    uint8 internal constant OP_DEPOSIT = 0x01;
    uint8 internal constant OP_TRANSFER = 0x02;
    uint8 internal constant OP_WITHDRAWAL = 0x03;
    uint8 internal constant OP_FULL_EXIT = 0x04;
    uint8 internal constant OP_DEPOSIT_REFUSED = 0x05;

    /// @notice The kind of a queued deposit.
    uint8 public constant KIND_DEPOSIT = 0x01;
    /// @notice The kind of a queued full exit.
    uint8 public constant KIND_FULL_EXIT = 0x04;

    /// @notice The Groth16 verifier of the batch circuit.
    address public immutable verifier;
    /// @notice The `PoseidonT5` contract (tree nodes).
    address public immutable poseidon4;
    /// @notice The `PoseidonT6` contract (account leaves).
    address public immutable poseidon5;
    /// @notice The only account allowed to submit batches.
    address public immutable operator;
    /// @dev The operator's account key (see `Config`).
    uint256 internal immutable _operatorKeyX;
    uint256 internal immutable _operatorKeyY;
    /// @notice The depth of the account tree.
    uint8 public immutable accountDepth;
    /// @notice The depth of each account's balance tree.
    uint8 public immutable tokenDepth;
    /// @notice The deposit slots of a batch.
    uint16 public immutable depositSlots;
    /// @notice The transfer slots of a batch.
    uint16 public immutable transferSlots;
    /// @notice The withdrawal slots of a batch.
    uint16 public immutable withdrawalSlots;
    /// @notice Seconds within which a batch must consume a queued operation.
    uint64 public immutable priorityDeadline;
    /// @notice The least spacing of consecutive deadlines, in seconds.
    uint64 public immutable priorityInterval;
    /// @notice The fee in wei each queued operation pays (`msg.value` beyond a deposit's amount),
    ///         burned: it stays in this contract for good.
    uint256 public immutable priorityFee;
    /// @notice The committee signatures a validium batch needs (0 for a rollup).
    uint8 public immutable threshold;
    /// @notice The largest token id: `2^tokenDepth - 1`.
    uint8 public immutable maxTokenId;
    /// @dev Whether the committee is non-empty.
    bool internal immutable _validium;

    /// @notice The state root of the last verified batch (the genesis root before any).
    uint256 public stateRoot;
    /// @notice The number of verified batches.
    uint64 public batchCount;
    /// @notice The id of the next priority operation a batch must consume.
    uint64 public priorityHead;
    /// @notice The id the next deposit gets.
    uint64 public priorityTail;
    /// @notice Whether exit mode is on: no more batches; users leave with `exit` and
    ///         `refundDeposits`.
    bool public exitMode;
    /// @notice The account index the next new address gets.
    uint32 public nextAccountIndex;
    /// @notice The deadline of the last queued operation.
    uint64 public lastDeadline;
    /// @notice The priority fees paid so far, in wei: burned, held here and never paid out.
    uint256 public feesBurned;

    /// @notice What each account can `claim`, per token.
    mapping(address owner => mapping(uint8 token => uint256 amount)) public pending;
    /// @notice Whether the balance of `token` of account `accountIndex` was taken out in exit mode.
    mapping(uint32 accountIndex => mapping(uint8 token => bool)) public exited;
    /// @notice Whether an address is a member of the committee.
    mapping(address member => bool) public isCommitteeMember;

    /// @dev The priority operations by id.
    mapping(uint64 id => PriorityOp) internal _priorityOps;
    /// @dev The committee, as given at deployment.
    address[] internal _committee;
    /// @dev Each address's account index plus one (0: no account yet).
    mapping(address owner => uint32 indexPlusOne) internal _accounts;
    /// @dev The reentrancy lock.
    bool private transient _locked;

    /// @notice A deposit or a full exit joined the priority queue.
    /// @param id Its id (consecutive from 0).
    /// @param to The depositor or requester.
    /// @param kind `KIND_DEPOSIT` or `KIND_FULL_EXIT`.
    /// @param accountIndex The L2 account of `to`.
    /// @param token The token id.
    /// @param amount A deposit's amount (0 for a full exit).
    /// @param deadline The time by which a batch must consume it.
    event PriorityOpQueued(
        uint64 indexed id, address indexed to, uint8 kind, uint32 accountIndex, uint8 token, uint128 amount, uint64 deadline
    );
    /// @notice A batch paid a priority operation out: a refused deposit back, or a full exit.
    /// @param id The priority operation.
    /// @param to Its `to`, credited to `pending`.
    /// @param token The token id.
    /// @param amount The amount.
    event PriorityPayout(uint64 indexed id, address indexed to, uint8 token, uint128 amount);
    /// @notice A batch was verified and applied.
    /// @param number Its number (0 for the first batch).
    /// @param newRoot The new state root.
    /// @param priorityHead The next priority operation to consume after it.
    /// @param transfersHash sha256 of its (padded) transfer section.
    event BatchVerified(uint64 indexed number, uint256 newRoot, uint64 priorityHead, bytes32 transfersHash);
    /// @notice A withdrawal of a verified batch was credited to its recipient's `pending`.
    /// @param to The recipient.
    /// @param token The token id.
    /// @param amount The amount.
    event WithdrawalReleased(address indexed to, uint8 token, uint128 amount);
    /// @notice A pending balance was paid out.
    /// @param owner The account paid.
    /// @param token The token id.
    /// @param amount The amount.
    event Claimed(address indexed owner, uint8 token, uint256 amount);
    /// @notice Exit mode was turned on.
    /// @param overdueId The overdue priority operation that justified it.
    event ExitModeActivated(uint64 overdueId);
    /// @notice An unconsumed deposit was credited back to its depositor in exit mode.
    /// @param id The priority operation's id.
    /// @param to The depositor.
    /// @param token The token id.
    /// @param amount The amount.
    event DepositRefunded(uint64 indexed id, address indexed to, uint8 token, uint128 amount);
    /// @notice A balance was proven against the last state root in exit mode and credited.
    /// @param accountIndex The account's leaf index.
    /// @param token The token id.
    /// @param owner The account's owner, credited.
    /// @param balance The balance.
    event Exited(uint32 indexed accountIndex, uint8 indexed token, address indexed owner, uint128 balance);

    /// @notice A configured contract address holds no code.
    /// @param account The address.
    error NotAContract(address account);
    /// @notice The configured operator is the zero address.
    error ZeroOperator();
    /// @notice The tree depths are not even numbers in 2..24 (accounts) and 2..8 (tokens).
    /// @param accountDepth The account tree depth given.
    /// @param tokenDepth The balance tree depth given.
    error InvalidDepths(uint8 accountDepth, uint8 tokenDepth);
    /// @notice A batch needs at least one deposit slot.
    error NoDepositSlots();
    /// @notice The priority deadline and interval must be at least one second.
    error ZeroPriorityDeadline();
    /// @notice The threshold does not fit the committee: 0 without one, 1 to its size with one.
    /// @param threshold The threshold given.
    /// @param committeeSize The committee's size.
    error InvalidThreshold(uint8 threshold, uint256 committeeSize);
    /// @notice A committee member is the zero address or listed twice.
    /// @param member The member.
    error InvalidCommitteeMember(address member);
    /// @notice A state root is not below the scalar field modulus.
    /// @param root The root.
    error RootNotInField(uint256 root);

    /// @notice Every account index is taken: a new address cannot deposit.
    /// @param capacity The account tree's size.
    error AccountTreeFull(uint256 capacity);
    /// @notice The address has no account (it never deposited).
    /// @param owner The address.
    error NoAccount(address owner);

    /// @notice Deposits of zero are refused.
    error ZeroAmount();
    /// @notice `msg.value` is not what the call must pay: a deposit's ETH amount plus
    ///         `priorityFee`, or `priorityFee` alone (ERC-20 deposits, full exits).
    error WrongValue(uint256 sent, uint256 expected);
    /// @notice The public key is not a point of BabyJubjub (with coordinates in the field).
    /// @param pkX The x coordinate.
    /// @param pkY The y coordinate.
    error InvalidPublicKey(uint256 pkX, uint256 pkY);
    /// @notice The token's `transferFrom` reverted or did not return true.
    /// @param token The token.
    /// @param from The depositor.
    /// @param amount The amount.
    error TransferFromFailed(address token, address from, uint256 amount);
    /// @notice The token's `balanceOf` failed.
    /// @param token The token.
    error BalanceQueryFailed(address token);
    /// @notice The contract received another amount than deposited (fee-on-transfer tokens are
    ///         not supported).
    /// @param token The token.
    /// @param expected The amount deposited.
    /// @param received The increase of the contract's balance.
    error AmountMismatch(address token, uint256 expected, uint256 received);
    /// @notice No priority operation has this id.
    /// @param id The id.
    error UnknownPriorityOp(uint64 id);

    /// @notice Only the operator may submit batches.
    /// @param caller The caller.
    error NotOperator(address caller);
    /// @notice The function belongs to the other mode (rollup or validium).
    error WrongMode();
    /// @notice Exit mode is on: no more batches or deposits.
    error ExitModeActive();
    /// @notice `onchain` is not exactly the deposit and withdrawal sections.
    /// @param length Its length.
    /// @param expected `depositSlots * 4 + withdrawalSlots * 42`.
    error InvalidOnchainLength(uint256 length, uint256 expected);
    /// @notice The transfer section is longer than `transferSlots * 12` bytes.
    /// @param length Its length.
    /// @param max The full section's length.
    error TransfersTooLong(uint256 length, uint256 max);
    /// @notice A priority record's op byte is not 0 (padding), 1 or 5 (a deposit credited or
    ///         refused) or 4 (a full exit), or does not fit the kind of the queued operation.
    /// @param slot The priority slot.
    /// @param op The op byte.
    error InvalidDepositOp(uint256 slot, uint8 op);
    /// @notice A padding priority record is not all zero.
    /// @param slot The priority slot.
    error NonZeroDepositPadding(uint256 slot);
    /// @notice A priority record's payout does not fit its outcome: a credited deposit pays
    ///         nothing, a refused one its amount.
    /// @param slot The priority slot.
    /// @param payout The payout.
    error InvalidPayout(uint256 slot, uint128 payout);
    /// @notice A priority record has no queued priority operation left to consume.
    /// @param slot The priority slot.
    error PriorityQueueExhausted(uint256 slot);
    /// @notice A transfer record's op byte is neither 0 (padding) nor 2 (transfer).
    /// @param slot The transfer slot.
    /// @param op The op byte.
    error InvalidTransferOp(uint256 slot, uint8 op);
    /// @notice A padding transfer record is not all zero.
    /// @param slot The transfer slot.
    error NonZeroTransferPadding(uint256 slot);
    /// @notice A withdrawal record's op byte is neither 0 (padding) nor 3 (withdrawal).
    /// @param slot The withdrawal slot.
    /// @param op The op byte.
    error InvalidWithdrawalOp(uint256 slot, uint8 op);
    /// @notice A padding withdrawal record is not all zero.
    /// @param slot The withdrawal slot.
    error NonZeroWithdrawalPadding(uint256 slot);
    /// @notice The batch left a deposit slot empty while an overdue priority operation waits.
    /// @param id The overdue operation.
    error SkipsOverduePriorityOp(uint64 id);
    /// @notice The verifier refused the proof.
    error InvalidProof();

    /// @notice The signatures are not a whole number of 65-byte signatures.
    /// @param length Their length.
    error MalformedSignatures(uint256 length);
    /// @notice Signature `index` is invalid: bad `v`, high `s`, or no signer recovered.
    /// @param index Its position.
    error InvalidSignature(uint256 index);
    /// @notice A signer is not a committee member.
    /// @param signer The signer.
    error NotACommitteeMember(address signer);
    /// @notice Signers must come in strictly increasing address order (so each signs once).
    /// @param signer The signer out of order.
    error DuplicateOrUnsortedSigner(address signer);
    /// @notice Fewer signatures than the threshold.
    /// @param got The number given.
    /// @param need The threshold.
    error NotEnoughSignatures(uint256 got, uint256 need);

    /// @notice Nothing is pending for this owner and token.
    /// @param owner The owner.
    /// @param token The token id.
    error NothingToClaim(address owner, uint8 token);
    /// @notice Sending ETH failed.
    /// @param to The recipient.
    /// @param amount The amount.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice The token's `transfer` reverted or did not return true.
    /// @param token The token.
    /// @param to The recipient.
    /// @param amount The amount.
    error TokenTransferFailed(address token, address to, uint256 amount);
    /// @notice A deposit or claim was re-entered.
    error Reentrancy();

    /// @notice The priority queue is empty: nothing can be overdue.
    error NoPendingPriorityOp();
    /// @notice The head of the priority queue is not overdue yet.
    /// @param id Its id.
    /// @param deadline Its deadline.
    error PriorityOpNotOverdue(uint64 id, uint64 deadline);
    /// @notice Only in exit mode.
    error NotInExitMode();
    /// @notice No unconsumed deposit is left to refund (or `max` is 0).
    error NothingToRefund();
    /// @notice The account index is outside the account tree.
    /// @param accountIndex The index.
    error AccountIndexOutOfRange(uint32 accountIndex);
    /// @notice The token id is outside the balance tree.
    /// @param token The token id.
    error TokenOutOfRange(uint8 token);
    /// @notice A sibling list does not have the tree's three siblings a level.
    /// @param length Its length.
    /// @param expected The length the tree's depth asks for (`depth / 2 * 3`).
    error InvalidSiblingsLength(uint256 length, uint256 expected);
    /// @notice A zero balance cannot be exited.
    error ZeroBalance();
    /// @notice This balance was exited already.
    /// @param accountIndex The account.
    /// @param token The token id.
    error AlreadyExited(uint32 accountIndex, uint8 token);
    /// @notice The proof does not lead to the last verified state root.
    error InvalidExitProof();

    /// @dev Holds the reentrancy lock for the duration of the function.
    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    /// @notice Deploys the rollup (empty committee) or validium (non-empty committee).
    /// @param config The parameters, validated as `Config` documents.
    constructor(Config memory config) TokenRegistry(config.tokenGovernor, _tokenCap(config.tokenDepth)) {
        if (config.verifier.code.length == 0) revert NotAContract(config.verifier);
        if (config.poseidon4.code.length == 0) revert NotAContract(config.poseidon4);
        if (config.poseidon5.code.length == 0) revert NotAContract(config.poseidon5);
        if (config.operator == address(0)) revert ZeroOperator();
        if (
            config.accountDepth == 0 || config.accountDepth > 24 || config.accountDepth % 2 != 0
                || config.tokenDepth == 0 || config.tokenDepth > 8 || config.tokenDepth % 2 != 0
        ) {
            revert InvalidDepths(config.accountDepth, config.tokenDepth);
        }
        if (config.depositSlots == 0) revert NoDepositSlots();
        if (config.priorityDeadline == 0 || config.priorityInterval == 0) revert ZeroPriorityDeadline();
        if (config.genesisRoot >= SCALAR_MODULUS) revert RootNotInField(config.genesisRoot);
        uint256 size = config.committee.length;
        if (size == 0 ? config.threshold != 0 : (config.threshold == 0 || config.threshold > size)) {
            revert InvalidThreshold(config.threshold, size);
        }
        for (uint256 i = 0; i < size; ++i) {
            address member = config.committee[i];
            if (member == address(0) || isCommitteeMember[member]) revert InvalidCommitteeMember(member);
            isCommitteeMember[member] = true;
        }

        verifier = config.verifier;
        poseidon4 = config.poseidon4;
        poseidon5 = config.poseidon5;
        operator = config.operator;
        if (!isValidPublicKey(config.operatorKeyX, config.operatorKeyY)) {
            revert InvalidPublicKey(config.operatorKeyX, config.operatorKeyY);
        }
        _operatorKeyX = config.operatorKeyX;
        _operatorKeyY = config.operatorKeyY;
        accountDepth = config.accountDepth;
        tokenDepth = config.tokenDepth;
        depositSlots = config.depositSlots;
        transferSlots = config.transferSlots;
        withdrawalSlots = config.withdrawalSlots;
        priorityDeadline = config.priorityDeadline;
        priorityInterval = config.priorityInterval;
        priorityFee = config.priorityFee;
        // Account 0 is the operator's (created at genesis).
        _accounts[config.operator] = 1;
        nextAccountIndex = 1;
        threshold = config.threshold;
        // casting to uint8 is safe because tokenDepth <= 8 (checked above)
        // forge-lint: disable-next-line(unsafe-typecast)
        maxTokenId = uint8((uint256(1) << config.tokenDepth) - 1);
        _validium = size != 0;
        _committee = config.committee;
        stateRoot = config.genesisRoot;
    }

    /// @dev The registry's cap: every id of a balance tree of `depth` but ETH's (1 for a depth the
    ///      constructor refuses, so that it names the depth rather than the cap).
    function _tokenCap(uint8 depth) private pure returns (uint32) {
        if (depth == 0 || depth > 8) return 1;
        return uint32((uint256(1) << depth) - 1);
    }

    // ------------------------------------------------------------------ accounts

    /// @notice The L2 account index of `owner`, assigned at its first deposit.
    /// @param owner The address.
    /// @return exists Whether it has one.
    /// @return index The index (0 when it has none; account 0 is the operator's).
    function accountOf(address owner) external view returns (bool exists, uint32 index) {
        uint32 plusOne = _accounts[owner];
        return (plusOne != 0, plusOne == 0 ? 0 : plusOne - 1);
    }

    // ------------------------------------------------------------------ deposits

    /// @notice Deposits `amount` wei to the caller's L2 account with public key (pkX, pkY),
    ///         paying `priorityFee` on top: `msg.value` must be exactly `amount + priorityFee`.
    /// @param amount The amount credited on L2, at least 1.
    /// @param pkX The x coordinate of the L2 account's BabyJubjub public key.
    /// @param pkY The y coordinate of that key.
    function depositEth(uint128 amount, uint256 pkX, uint256 pkY) external payable {
        _checkDeposit(amount, pkX, pkY);
        _payFee(uint256(amount));
        _enqueue(KIND_DEPOSIT, ETH_TOKEN, amount, pkX, pkY);
    }

    /// @notice Deposits `amount` of a registered ERC-20 to the caller's L2 account with public
    ///         key (pkX, pkY). Approve this contract first; `msg.value` must be exactly
    ///         `priorityFee`.
    /// @dev The contract's balance must grow by exactly `amount`.
    /// @param token The token's address.
    /// @param amount The amount, at least 1.
    /// @param pkX The x coordinate of the L2 account's BabyJubjub public key.
    /// @param pkY The y coordinate of that key.
    function depositErc20(address token, uint128 amount, uint256 pkX, uint256 pkY) external payable nonReentrant {
        _checkDeposit(amount, pkX, pkY);
        _payFee(0);
        // casting to uint8 is safe because ids are at most maxTokens = 2^tokenDepth - 1 <= 255
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 id = uint8(tokenId(token));
        if (id == ETH_TOKEN) revert TokenNotRegistered(token);
        uint256 before = _balanceOf(token);
        _transferFrom(token, msg.sender, amount);
        uint256 received = _balanceOf(token) - before;
        if (received != amount) revert AmountMismatch(token, amount, received);
        _enqueue(KIND_DEPOSIT, id, amount, pkX, pkY);
    }

    /// @notice Asks for the caller's whole L2 balance of `token` (zkSync Lite's `FullExit`): it
    ///         joins the priority queue with a deadline like a deposit, the batch that takes it
    ///         pays the balance to the caller's `pending` (no L2 signature needed), and an
    ///         operator that ignores it past its deadline lets anyone turn exit mode on.
    ///         `msg.value` must be exactly `priorityFee`.
    /// @param token The token id (0 for ETH), within the balance tree.
    function requestFullExit(uint8 token) external payable {
        if (exitMode) revert ExitModeActive();
        if (token > maxTokenId) revert TokenOutOfRange(token);
        if (_accounts[msg.sender] == 0) revert NoAccount(msg.sender);
        _payFee(0);
        _enqueue(KIND_FULL_EXIT, token, 0, 0, 0);
    }

    /// @notice Whether (x, y) is a point of BabyJubjub with both coordinates in the field.
    /// @param x The x coordinate.
    /// @param y The y coordinate.
    /// @return True when a·x² + y² = 1 + d·x²·y² (mod r), x < r and y < r.
    function isValidPublicKey(uint256 x, uint256 y) public pure returns (bool) {
        if (x >= SCALAR_MODULUS || y >= SCALAR_MODULUS) return false;
        uint256 x2 = mulmod(x, x, SCALAR_MODULUS);
        uint256 y2 = mulmod(y, y, SCALAR_MODULUS);
        uint256 lhs = addmod(mulmod(BABYJUBJUB_A, x2, SCALAR_MODULUS), y2, SCALAR_MODULUS);
        uint256 rhs = addmod(1, mulmod(BABYJUBJUB_D, mulmod(x2, y2, SCALAR_MODULUS), SCALAR_MODULUS), SCALAR_MODULUS);
        return lhs == rhs;
    }

    /// @notice The queued operation `id`.
    /// @param id A priority operation id, below `priorityTail`.
    /// @return The operation.
    function priorityOp(uint64 id) external view returns (PriorityOp memory) {
        if (id >= priorityTail) revert UnknownPriorityOp(id);
        return _priorityOps[id];
    }

    // ------------------------------------------------------------------ batches

    /// @notice Rollup mode: applies a batch proven by `proof`. Only the operator may submit.
    /// @param onchain The deposit section followed by the withdrawal section, full size.
    /// @param transfers The transfer section, possibly shorter than full (zero-padded here).
    /// @param newRoot The state root after the batch.
    /// @param proof The Groth16 proof: [a0, a1, b00, b01, b10, b11, c0, c1].
    function submitBatch(bytes calldata onchain, bytes calldata transfers, uint256 newRoot, uint256[8] calldata proof)
        external
    {
        _checkSubmission(false);
        _checkTransfers(transfers);
        _applyBatch(onchain, _transfersHash(transfers), newRoot, proof);
    }

    /// @notice Validium mode: applies a batch proven by `proof` whose transfer section the
    ///         committee holds, vouched for by at least `threshold` member signatures. Only the
    ///         operator may submit.
    /// @param onchain The deposit section followed by the withdrawal section, full size.
    /// @param transfersHash sha256 of the full (padded) transfer section.
    /// @param newRoot The state root after the batch.
    /// @param proof The Groth16 proof: [a0, a1, b00, b01, b10, b11, c0, c1].
    /// @param signatures 65-byte secp256k1 signatures (r ‖ s ‖ v, v 27 or 28) over
    ///        `dacDigest(transfersHash)`, signers in strictly increasing address order.
    function submitBatchValidium(
        bytes calldata onchain,
        bytes32 transfersHash,
        uint256 newRoot,
        uint256[8] calldata proof,
        bytes calldata signatures
    ) external {
        _checkSubmission(true);
        _checkSignatures(transfersHash, signatures);
        _applyBatch(onchain, transfersHash, newRoot, proof);
    }

    /// @notice What committee members sign for a batch: keccak256 of DAC_DOMAIN, the chain
    ///         id, this contract and the transfers hash (signed raw, without EIP-191 prefix).
    /// @param transfersHash sha256 of the batch's full transfer section.
    /// @return The digest.
    function dacDigest(bytes32 transfersHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked(DAC_DOMAIN, block.chainid, address(this), transfersHash));
    }

    /// @notice The signing domain of this deployment: every L2 signature and every batch proof
    ///         is bound to it, so neither replays on another chain or contract.
    /// @return `keccak256(abi.encodePacked(block.chainid, address(this)))`'s low 253 bits.
    function signingDomain() public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(this)))) & COMMITMENT_MASK;
    }

    /// @notice The public input of a batch's proof.
    /// @param oldRoot The state root before the batch.
    /// @param newRoot The state root after it.
    /// @param transfersHash sha256 of the full transfer section.
    /// @param priorityHash sha256 of the priority records of its deposit slots.
    /// @param onchain The deposit section followed by the withdrawal section.
    /// @return The commitment: the low 253 bits of
    ///         `sha256(oldRoot ‖ newRoot ‖ signingDomain() ‖ transfersHash ‖ priorityHash ‖ onchain)`.
    function batchCommitment(
        uint256 oldRoot,
        uint256 newRoot,
        bytes32 transfersHash,
        bytes32 priorityHash,
        bytes calldata onchain
    ) public view returns (uint256) {
        return uint256(
            sha256(abi.encodePacked(oldRoot, newRoot, signingDomain(), transfersHash, priorityHash, onchain))
        ) & COMMITMENT_MASK;
    }

    /// @notice The key of account 0, the operator's fee account, in the genesis state.
    /// @return x The key's x coordinate.
    /// @return y The key's y coordinate.
    function operatorKey() external view returns (uint256 x, uint256 y) {
        return (_operatorKeyX, _operatorKeyY);
    }

    /// @notice The batch shape the proofs are for.
    /// @return accountDepth_ The account tree's depth.
    /// @return tokenDepth_ The balance trees' depth.
    /// @return depositSlots_ Deposit slots a batch.
    /// @return transferSlots_ Transfer slots a batch.
    /// @return withdrawalSlots_ Withdrawal slots a batch.
    function shape()
        external
        view
        returns (
            uint8 accountDepth_,
            uint8 tokenDepth_,
            uint16 depositSlots_,
            uint16 transferSlots_,
            uint16 withdrawalSlots_
        )
    {
        return (accountDepth, tokenDepth, depositSlots, transferSlots, withdrawalSlots);
    }

    /// @notice Whether this is a validium (the committee is non-empty).
    /// @return True for a validium, false for a rollup.
    function isValidium() external view returns (bool) {
        return _validium;
    }

    /// @notice The committee (empty for a rollup).
    /// @return The members, in deployment order.
    function committee() external view returns (address[] memory) {
        return _committee;
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Pays `owner` its whole pending balance of `token`. Anyone may call it.
    /// @param owner The account to pay.
    /// @param token The token id.
    function claim(address owner, uint8 token) external nonReentrant {
        uint256 amount = pending[owner][token];
        if (amount == 0) revert NothingToClaim(owner, token);
        pending[owner][token] = 0;
        emit Claimed(owner, token, amount);
        if (token == ETH_TOKEN) {
            (bool ok,) = owner.call{value: amount}("");
            if (!ok) revert EthTransferFailed(owner, amount);
        } else {
            _transfer(tokenAddress(uint32(token)), owner, amount);
        }
    }

    // ------------------------------------------------------------------ exit mode

    /// @notice Turns exit mode on. Anyone may, once the head of the priority queue is overdue.
    function activateExitMode() external {
        if (exitMode) revert ExitModeActive();
        uint64 head = priorityHead;
        if (head == priorityTail) revert NoPendingPriorityOp();
        uint64 deadline = _priorityOps[head].deadline;
        // A deadline in seconds: a validator's leeway over the timestamp is negligible.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline >= block.timestamp) revert PriorityOpNotOverdue(head, deadline);
        exitMode = true;
        emit ExitModeActivated(head);
    }

    /// @notice In exit mode, credits up to `max` unconsumed queued operations' deposits (from
    ///         the queue's head on; a full exit holds nothing and is skipped, its balance leaves
    ///         with `exit`) back to their depositors' `pending`. Anyone may call it.
    /// @param max The most deposits to refund in this call.
    /// @return count The number refunded.
    function refundDeposits(uint256 max) external returns (uint256 count) {
        if (!exitMode) revert NotInExitMode();
        uint64 head = priorityHead;
        uint256 left = priorityTail - head;
        count = max < left ? max : left;
        if (count == 0) revert NothingToRefund();
        for (uint256 i = 0; i < count; ++i) {
            // casting to uint64 is safe because head + i < priorityTail
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 id = head + uint64(i);
            PriorityOp storage op = _priorityOps[id];
            if (op.kind != KIND_DEPOSIT) continue;
            pending[op.to][op.token] += op.amount;
            emit DepositRefunded(id, op.to, op.token, op.amount);
        }
        // casting to uint64 is safe because count <= left
        // forge-lint: disable-next-line(unsafe-typecast)
        priorityHead = head + uint64(count);
    }

    /// @notice In exit mode, proves the balance of `token` of account `accountIndex` against
    ///         the last verified state root and credits it to `owner`'s `pending`, once per
    ///         account and token. Anyone may call it.
    /// @param accountIndex The account's leaf index.
    /// @param token The token id.
    /// @param owner The account's owner (its L1 address).
    /// @param pkX The x coordinate of the account's public key.
    /// @param pkY The y coordinate of the account's public key.
    /// @param nonce The account's nonce.
    /// @param balance The balance, non-zero.
    /// @param balanceSiblings The siblings of the balance leaf: three a level in position order,
    ///        leaf level first (`tokenDepth / 2 * 3`).
    /// @param accountSiblings The siblings of the account leaf, likewise (`accountDepth / 2 * 3`).
    function exit(
        uint32 accountIndex,
        uint8 token,
        address owner,
        uint256 pkX,
        uint256 pkY,
        uint64 nonce,
        uint128 balance,
        uint256[] calldata balanceSiblings,
        uint256[] calldata accountSiblings
    ) external {
        _checkExit(accountIndex, token, balance, balanceSiblings.length, accountSiblings.length);
        uint256 balancesRoot = _merkleRoot(balance, token, balanceSiblings);
        uint256 leaf = _accountLeaf(owner, pkX, pkY, nonce, balancesRoot);
        if (_merkleRoot(leaf, accountIndex, accountSiblings) != stateRoot) revert InvalidExitProof();
        exited[accountIndex][token] = true;
        pending[owner][token] += balance;
        emit Exited(accountIndex, token, owner, balance);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Deposit checks: amount and public key, and no exit mode.
    function _checkDeposit(uint128 amount, uint256 pkX, uint256 pkY) private view {
        if (exitMode) revert ExitModeActive();
        if (amount == 0) revert ZeroAmount();
        if (!isValidPublicKey(pkX, pkY)) revert InvalidPublicKey(pkX, pkY);
    }

    /// @dev Takes `priorityFee` (burned) from `msg.value`, which must be `moved + priorityFee`.
    function _payFee(uint256 moved) private {
        uint256 expected = moved + priorityFee;
        if (msg.value != expected) revert WrongValue(msg.value, expected);
        feesBurned += priorityFee;
    }

    /// @dev Appends the caller's operation to the priority queue, with the caller's account
    ///      index (a new address gets the next free one) and a deadline at least
    ///      `priorityInterval` after the previous operation's.
    function _enqueue(uint8 kind, uint8 token, uint128 amount, uint256 pkX, uint256 pkY) private {
        uint32 plusOne = _accounts[msg.sender];
        if (plusOne == 0) {
            uint32 index = nextAccountIndex;
            if (uint256(index) >> accountDepth != 0) revert AccountTreeFull(uint256(1) << accountDepth);
            nextAccountIndex = index + 1;
            plusOne = index + 1;
            _accounts[msg.sender] = plusOne;
        }
        uint64 id = priorityTail;
        uint64 deadline = uint64(block.timestamp) + priorityDeadline;
        uint64 spaced = lastDeadline + priorityInterval;
        if (spaced > deadline) deadline = spaced;
        lastDeadline = deadline;
        _priorityOps[id] = PriorityOp({
            to: msg.sender,
            kind: kind,
            token: token,
            accountIndex: plusOne - 1,
            deadline: deadline,
            amount: amount,
            pkX: pkX,
            pkY: pkY
        });
        priorityTail = id + 1;
        emit PriorityOpQueued(id, msg.sender, kind, plusOne - 1, token, amount, deadline);
    }

    /// @dev Batch submission checks: the operator, the mode, no exit mode.
    function _checkSubmission(bool validium) private view {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (validium != _validium) revert WrongMode();
        if (exitMode) revert ExitModeActive();
    }

    /// @dev sha256 of the transfer section zero-padded to full size.
    function _transfersHash(bytes calldata transfers) private view returns (bytes32) {
        uint256 size = uint256(transferSlots) * TRANSFER_RECORD_BYTES;
        if (transfers.length > size) revert TransfersTooLong(transfers.length, size);
        bytes memory padded = new bytes(size);
        assembly ("memory-safe") {
            calldatacopy(add(padded, 0x20), transfers.offset, transfers.length)
        }
        return sha256(padded);
    }

    /// @dev Checks the committee's signatures over `dacDigest(transfersHash)`.
    function _checkSignatures(bytes32 transfersHash, bytes calldata signatures) private view {
        if (signatures.length % SIGNATURE_BYTES != 0) revert MalformedSignatures(signatures.length);
        uint256 count = signatures.length / SIGNATURE_BYTES;
        if (count < threshold) revert NotEnoughSignatures(count, threshold);
        bytes32 digest = dacDigest(transfersHash);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            bytes calldata signature = signatures[i * SIGNATURE_BYTES:(i + 1) * SIGNATURE_BYTES];
            bytes32 r = bytes32(signature[0:32]);
            bytes32 s = bytes32(signature[32:64]);
            uint8 v = uint8(signature[64]);
            if ((v != 27 && v != 28) || uint256(s) > SECP256K1_HALF_N) revert InvalidSignature(i);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert InvalidSignature(i);
            if (!isCommitteeMember[signer]) revert NotACommitteeMember(signer);
            if (signer <= previous) revert DuplicateOrUnsortedSigner(signer);
            previous = signer;
        }
    }

    /// @dev Checks, proves and applies a batch (see the contract's documentation).
    function _applyBatch(bytes calldata onchain, bytes32 transfersHash, uint256 newRoot, uint256[8] calldata proof)
        private
    {
        if (newRoot >= SCALAR_MODULUS) revert RootNotInField(newRoot);
        uint256 depositBytes = uint256(depositSlots) * DEPOSIT_RECORD_BYTES;
        {
            uint256 expected = depositBytes + uint256(withdrawalSlots) * WITHDRAWAL_RECORD_BYTES;
            if (onchain.length != expected) revert InvalidOnchainLength(onchain.length, expected);
        }
        uint64 oldHead = priorityHead;
        (bytes32 priorityHash, uint64 head) = _consumeDeposits(onchain[:depositBytes]);
        _checkWithdrawals(onchain[depositBytes:]);

        uint256 commitment = batchCommitment(stateRoot, newRoot, transfersHash, priorityHash, onchain);
        if (!_verify(proof, commitment)) revert InvalidProof();

        uint64 number = batchCount;
        stateRoot = newRoot;
        batchCount = number + 1;
        priorityHead = head;
        emit BatchVerified(number, newRoot, head, transfersHash);
        _releasePayouts(onchain[:depositBytes], oldHead);
        _releaseWithdrawals(onchain[depositBytes:]);
    }

    /// @dev Walks the priority section: consumes a queued operation per record, in queue order,
    ///      checking that the record's outcome fits the operation's kind (a deposit is credited
    ///      with payout 0 or refused with payout its amount; a full exit is a full exit) and that
    ///      padding is all zero. Returns sha256 of the priority records and the new queue head;
    ///      refuses a batch that leaves a slot empty while an overdue operation waits.
    function _consumeDeposits(bytes calldata deposits) private view returns (bytes32 priorityHash, uint64 head) {
        uint256 slots = deposits.length / DEPOSIT_RECORD_BYTES;
        bytes memory priority = new bytes(slots * PRIORITY_RECORD_BYTES);
        head = priorityHead;
        uint64 tail = priorityTail;
        bool padded = false;
        for (uint256 i = 0; i < slots; ++i) {
            bytes calldata record = deposits[i * DEPOSIT_RECORD_BYTES:(i + 1) * DEPOSIT_RECORD_BYTES];
            uint8 op = uint8(record[0]);
            uint128 payout = uint128(bytes16(record[1:17]));
            if (op == 0) {
                if (payout != 0) revert NonZeroDepositPadding(i);
                padded = true;
                continue;
            }
            if (op != OP_DEPOSIT && op != OP_DEPOSIT_REFUSED && op != OP_FULL_EXIT) revert InvalidDepositOp(i, op);
            if (head == tail) revert PriorityQueueExhausted(i);
            PriorityOp storage queued = _priorityOps[head];
            if ((op == OP_FULL_EXIT) != (queued.kind == KIND_FULL_EXIT)) revert InvalidDepositOp(i, op);
            if (op != OP_FULL_EXIT && payout != (op == OP_DEPOSIT ? 0 : queued.amount)) {
                revert InvalidPayout(i, payout);
            }
            _writePriorityRecord(priority, i, queued);
            ++head;
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (padded && head < tail && _priorityOps[head].deadline < block.timestamp) {
            revert SkipsOverduePriorityOp(head);
        }
        priorityHash = sha256(priority);
    }

    /// @dev Writes `kind ‖ accountIndex u24 ‖ to ‖ token ‖ amount (u128) ‖ pkX ‖ pkY` (105 bytes)
    ///      at record `slot`.
    function _writePriorityRecord(bytes memory priority, uint256 slot, PriorityOp storage op) private view {
        uint256 head = (uint256(op.kind) << 184) | (uint256(op.accountIndex) << 160) | uint256(uint160(op.to));
        uint8 token = op.token;
        uint128 amount = op.amount;
        uint256 pkX = op.pkX;
        uint256 pkY = op.pkY;
        assembly ("memory-safe") {
            let p := add(add(priority, 0x20), mul(slot, PRIORITY_RECORD_BYTES))
            // Each store runs over into the next field's bytes, which the next store overwrites;
            // the last one ends exactly at the record's end.
            mstore(p, shl(64, head))
            mstore8(add(p, 24), token)
            mstore(add(p, 25), shl(128, amount))
            mstore(add(p, 41), pkX)
            mstore(add(p, 73), pkY)
        }
    }

    /// @dev Pays the refused deposits and full exits of a verified batch's priority section
    ///      (checked by `_consumeDeposits`), whose first record consumed operation `id`.
    function _releasePayouts(bytes calldata deposits, uint64 id) private {
        uint256 slots = deposits.length / DEPOSIT_RECORD_BYTES;
        for (uint256 i = 0; i < slots; ++i) {
            bytes calldata record = deposits[i * DEPOSIT_RECORD_BYTES:(i + 1) * DEPOSIT_RECORD_BYTES];
            if (uint8(record[0]) == 0) continue;
            uint128 payout = uint128(bytes16(record[1:17]));
            if (payout != 0) {
                PriorityOp storage op = _priorityOps[id];
                pending[op.to][op.token] += payout;
                emit PriorityPayout(id, op.to, op.token, payout);
            }
            ++id;
        }
    }

    /// @dev Rollup mode: refuses transfer records that are neither transfers nor zero padding
    ///      (the part not posted is zero padding).
    function _checkTransfers(bytes calldata transfers) private pure {
        uint256 slots = (transfers.length + TRANSFER_RECORD_BYTES - 1) / TRANSFER_RECORD_BYTES;
        for (uint256 i = 0; i < slots; ++i) {
            uint256 start = i * TRANSFER_RECORD_BYTES;
            uint256 end = start + TRANSFER_RECORD_BYTES;
            if (end > transfers.length) end = transfers.length;
            bytes calldata record = transfers[start:end];
            uint8 op = uint8(record[0]);
            if (op == OP_TRANSFER) continue;
            if (op != 0) revert InvalidTransferOp(i, op);
            if (bytes12(record) != 0) revert NonZeroTransferPadding(i);
        }
    }

    /// @dev Refuses withdrawal records that are neither withdrawals nor zero padding.
    function _checkWithdrawals(bytes calldata withdrawals) private pure {
        uint256 slots = withdrawals.length / WITHDRAWAL_RECORD_BYTES;
        for (uint256 i = 0; i < slots; ++i) {
            bytes calldata record = withdrawals[i * WITHDRAWAL_RECORD_BYTES:(i + 1) * WITHDRAWAL_RECORD_BYTES];
            uint8 op = uint8(record[0]);
            if (op == OP_WITHDRAWAL) continue;
            if (op != 0) revert InvalidWithdrawalOp(i, op);
            if (bytes32(record[0:32]) != 0 || bytes10(record[32:42]) != 0) revert NonZeroWithdrawalPadding(i);
        }
    }

    /// @dev Credits every withdrawal record (checked by `_checkWithdrawals`) to its recipient.
    function _releaseWithdrawals(bytes calldata withdrawals) private {
        uint256 slots = withdrawals.length / WITHDRAWAL_RECORD_BYTES;
        for (uint256 i = 0; i < slots; ++i) {
            bytes calldata record = withdrawals[i * WITHDRAWAL_RECORD_BYTES:(i + 1) * WITHDRAWAL_RECORD_BYTES];
            if (uint8(record[0]) != OP_WITHDRAWAL) continue;
            uint8 token = uint8(record[4]);
            uint128 amount = uint128(bytes16(record[5:21]));
            address to = address(bytes20(record[22:42]));
            pending[to][token] += amount;
            emit WithdrawalReleased(to, token, amount);
        }
    }

    /// @dev Asks the verifier whether `proof` proves `commitment`.
    function _verify(uint256[8] calldata proof, uint256 commitment) private view returns (bool) {
        return BatchVerifier(verifier)
            .verifyProof(
                [proof[0], proof[1]], [[proof[2], proof[3]], [proof[4], proof[5]]], [proof[6], proof[7]], [commitment]
            );
    }

    /// @dev The argument checks of `exit`.
    function _checkExit(
        uint32 accountIndex,
        uint8 token,
        uint128 balance,
        uint256 balanceSiblings,
        uint256 accountSiblings
    ) private view {
        if (!exitMode) revert NotInExitMode();
        if (uint256(accountIndex) >> accountDepth != 0) revert AccountIndexOutOfRange(accountIndex);
        if (uint256(token) >> tokenDepth != 0) revert TokenOutOfRange(token);
        uint256 expected = uint256(tokenDepth) / 2 * 3;
        if (balanceSiblings != expected) revert InvalidSiblingsLength(balanceSiblings, expected);
        expected = uint256(accountDepth) / 2 * 3;
        if (accountSiblings != expected) revert InvalidSiblingsLength(accountSiblings, expected);
        if (balance == 0) revert ZeroBalance();
        if (exited[accountIndex][token]) revert AlreadyExited(accountIndex, token);
    }

    /// @dev An account leaf: poseidon5([uint160(owner), pkX, pkY, nonce, balancesRoot]).
    function _accountLeaf(address owner, uint256 pkX, uint256 pkY, uint64 nonce, uint256 balancesRoot)
        private
        view
        returns (uint256)
    {
        return PoseidonT6(poseidon5).hash([uint256(uint160(owner)), pkX, pkY, nonce, balancesRoot]);
    }

    /// @dev The root above `leaf` at `index` in a quaternary tree, given its siblings from the
    ///      leaf level up, three a level in position order: at level l, bits 2l and 2l + 1 of
    ///      `index` are the node's place among its four children.
    function _merkleRoot(uint256 leaf, uint256 index, uint256[] calldata siblings) private view returns (uint256 node) {
        PoseidonT5 hasher = PoseidonT5(poseidon4);
        node = leaf;
        for (uint256 level = 0; level < siblings.length / 3; ++level) {
            uint256 place = (index >> (2 * level)) & 3;
            uint256[3] memory s = [siblings[3 * level], siblings[3 * level + 1], siblings[3 * level + 2]];
            if (place == 0) node = hasher.hash([node, s[0], s[1], s[2]]);
            else if (place == 1) node = hasher.hash([s[0], node, s[1], s[2]]);
            else if (place == 2) node = hasher.hash([s[0], s[1], node, s[2]]);
            else node = hasher.hash([s[0], s[1], s[2], node]);
        }
    }

    /// @dev This contract's balance of `token`.
    function _balanceOf(address token) private view returns (uint256 balance) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) revert BalanceQueryFailed(token);
        balance = abi.decode(ret, (uint256));
    }

    /// @dev `transferFrom(from, this, amount)`, accepting tokens that return nothing.
    function _transferFrom(address token, address from, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0x23b872dd, from, address(this), amount));
        if (!ok || !_returnedTrue(ret)) revert TransferFromFailed(token, from, amount);
    }

    /// @dev `transfer(to, amount)`, accepting tokens that return nothing.
    function _transfer(address token, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
        if (!ok || !_returnedTrue(ret)) revert TokenTransferFailed(token, to, amount);
    }

    /// @dev True for empty return data or exactly the ABI encoding of `true`.
    function _returnedTrue(bytes memory ret) private pure returns (bool) {
        if (ret.length == 0) return true;
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }
}
