// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {TokenRegistry} from "../common/TokenRegistry.sol";
import {SecretRegistry} from "./SecretRegistry.sol";

/// @title TokenNetwork
/// @author ply
/// @notice ply's payment channels on L1 (docs/channels.md; modelled on Raiden's `TokenNetwork`,
///         one contract for ETH and every listed ERC-20). Two participants open a channel, fund
///         it (`setTotalDeposit`), pay each other off-chain with signed balance proofs, and end it
///         either at once with both signatures (`cooperativeClose`) or unilaterally: a participant
///         closes with its partner's latest balance proof, the partner (or anyone holding the
///         partner's `NonClosingUpdate` authorisation, such as a watchtower) may submit the
///         closer's newer proof until the settle block (the higher nonce wins), then anyone
///         settles, and the amounts still locked in pending hash-time-locked transfers are paid
///         by `unlock` against the `SecretRegistry`.
/// @dev Message formats (EIP-712, domain "PlyChannels" version "1", this contract, this chain),
///      version 1, fixed by docs/channels.md:
///
///          BalanceProof(bytes32 channelId,uint64 generation,uint64 nonce,uint256 transferredAmount,uint256 lockedAmount,bytes32 locksRoot)
///          NonClosingUpdate(bytes32 channelId,uint64 generation,bytes32 balanceProofHash)
///          CooperativeClose(bytes32 channelId,uint64 generation,uint256 balance1,uint256 balance2)
///
///      A channel is identified by `keccak256(abi.encode(participant1, participant2, token))`
///      (participant1 < participant2) and its `generation`, which counts its openings: nothing
///      signed for one generation is valid in another. Signatures are 65 bytes `r || s || v`
///      with `v` 27 or 28 and `s` at most half the curve order; anything else is refused.
///
///      Times are block numbers. A closed channel accepts updates while
///      `block.number <= settleBlock` and settles once `block.number > settleBlock`.
///
///      Payouts: state changes precede every outgoing call (checks-effects-interactions) and
///      every function that moves funds holds a transient-storage lock. ETH is pushed with at
///      most `PAYOUT_GAS` gas and ERC-20s with a `transfer` call; a recipient (or token) that
///      refuses is credited in `pendingWithdrawal` instead, to take with `withdraw`, so it can
///      never block its partner's payout.
contract TokenNetwork is TokenRegistry {
    /// @notice The gas an ETH payout forwards to its recipient; a recipient that needs more, or
    ///         reverts, is credited a pending withdrawal instead.
    uint256 public constant PAYOUT_GAS = 50_000;

    /// @notice The largest `maxSettleTimeout` a deployment may choose (2^32 - 1 blocks).
    uint64 public constant MAX_SETTLE_TIMEOUT_BOUND = type(uint32).max;

    /// @notice Half the order of secp256k1: the largest `s` of a canonical signature.
    uint256 public constant SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice The size of one encoded lock: `abi.encode(uint256 amount, uint256 expiration,
    ///         bytes32 secrethash)`.
    uint256 public constant LOCK_SIZE = 96;

    /// @notice The EIP-712 type hash of `BalanceProof`.
    bytes32 public constant BALANCE_PROOF_TYPEHASH = keccak256(
        "BalanceProof(bytes32 channelId,uint64 generation,uint64 nonce,uint256 transferredAmount,uint256 lockedAmount,bytes32 locksRoot)"
    );

    /// @notice The EIP-712 type hash of `NonClosingUpdate`.
    bytes32 public constant NON_CLOSING_UPDATE_TYPEHASH =
        keccak256("NonClosingUpdate(bytes32 channelId,uint64 generation,bytes32 balanceProofHash)");

    /// @notice The EIP-712 type hash of `CooperativeClose`.
    bytes32 public constant COOPERATIVE_CLOSE_TYPEHASH =
        keccak256("CooperativeClose(bytes32 channelId,uint64 generation,uint256 balance1,uint256 balance2)");

    /// @dev The EIP-712 domain type hash.
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice A channel's lifecycle state (`None` until its first opening).
    uint8 public constant STATE_NONE = 0;
    /// @notice Open: deposits, closes and cooperative closes are accepted.
    uint8 public constant STATE_OPENED = 1;
    /// @notice Closed: updates until the settle block, then settle.
    uint8 public constant STATE_CLOSED = 2;
    /// @notice Settled (or cooperatively closed): the pair may open it again (next generation).
    uint8 public constant STATE_SETTLED = 3;

    /// @notice Where secrets are registered for `unlock`.
    SecretRegistry public immutable secretRegistry;
    /// @notice The shortest settle timeout `openChannel` accepts, in blocks.
    uint64 public immutable minSettleTimeout;
    /// @notice The longest settle timeout `openChannel` accepts, in blocks.
    uint64 public immutable maxSettleTimeout;

    /// @dev The chain id the cached domain separator was computed for.
    uint256 private immutable _cachedChainId;
    /// @dev The domain separator at deployment.
    bytes32 private immutable _cachedDomainSeparator;

    /// @dev A channel (three slots). The pair and token never change; the rest is per generation.
    struct Channel {
        address participant1;
        uint64 generation;
        uint8 state;
        bool closedByParticipant2;
        address participant2;
        uint64 settleTimeout;
        address token;
        uint64 settleBlock;
    }

    /// @dev A participant's side of the current generation: its total deposit and the balance
    ///      proof it signed that is on record (nonce 0: none).
    struct Participant {
        uint256 deposit;
        uint64 nonce;
        uint256 transferredAmount;
        uint256 lockedAmount;
        bytes32 locksRoot;
    }

    /// @dev A balance proof's fields (the channel and generation are implied).
    struct BalanceProof {
        uint64 nonce;
        uint256 transferredAmount;
        uint256 lockedAmount;
        bytes32 locksRoot;
    }

    /// @dev The amount held back at settle for a sender's pending locks, and their root.
    struct PendingLocks {
        bytes32 locksRoot;
        uint256 amount;
    }

    mapping(bytes32 channelId => Channel) private _channels;
    /// @dev `_participants[channelId][0]` is participant1's side, `[1]` participant2's.
    mapping(bytes32 channelId => mapping(uint256 index => Participant)) private _participants;
    /// @dev Keyed by `keccak256(abi.encode(channelId, generation, sender))`.
    mapping(bytes32 key => PendingLocks) private _pendingLocks;
    /// @dev Payouts a recipient refused, to take with `withdraw`.
    mapping(address account => mapping(address token => uint256 amount)) private _pendingWithdrawals;

    /// @dev The reentrancy lock (transient: cleared at the end of every transaction).
    bool private transient _locked;

    /// @notice A channel was opened (its `generation`-th opening).
    /// @param channelId The channel.
    /// @param participant1 The lower participant address.
    /// @param participant2 The higher participant address.
    /// @param token The token (`address(0)`: ETH).
    /// @param generation The channel's open counter (1 at the first opening).
    /// @param settleTimeout The settle window after a unilateral close, in blocks.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed participant1,
        address indexed participant2,
        address token,
        uint64 generation,
        uint64 settleTimeout
    );

    /// @notice A participant's total deposit was raised.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param participant The participant credited.
    /// @param totalDeposit Its new total deposit.
    event DepositSet(bytes32 indexed channelId, uint64 generation, address indexed participant, uint256 totalDeposit);

    /// @notice A participant closed the channel unilaterally, recording its partner's proof.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param closer The participant who closed.
    /// @param nonce The nonce of the partner's balance proof it submitted (0: none).
    event ChannelClosed(bytes32 indexed channelId, uint64 generation, address indexed closer, uint64 nonce);

    /// @notice A newer balance proof of the closer was recorded.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param closer The closer (the proof's signer).
    /// @param nonce The recorded nonce.
    event NonClosingBalanceProofUpdated(
        bytes32 indexed channelId, uint64 generation, address indexed closer, uint64 nonce
    );

    /// @notice The channel was settled.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param participant1Amount Paid to participant1.
    /// @param participant2Amount Paid to participant2.
    /// @param participant1Locked Held for participant1's pending locks (to unlock).
    /// @param participant2Locked Held for participant2's pending locks (to unlock).
    event ChannelSettled(
        bytes32 indexed channelId,
        uint64 generation,
        uint256 participant1Amount,
        uint256 participant2Amount,
        uint256 participant1Locked,
        uint256 participant2Locked
    );

    /// @notice A sender's pending locks were unlocked.
    /// @param channelId The channel.
    /// @param generation The generation they belong to.
    /// @param sender The sender of the locked transfers (refunded `returnedAmount`).
    /// @param receiver Their receiver (paid `unlockedAmount`).
    /// @param unlockedAmount Paid to the receiver: the locks whose secret was registered in time.
    /// @param returnedAmount Paid back to the sender.
    event ChannelUnlocked(
        bytes32 indexed channelId,
        uint64 generation,
        address indexed sender,
        address indexed receiver,
        uint256 unlockedAmount,
        uint256 returnedAmount
    );

    /// @notice The channel was closed cooperatively and paid out.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param balance1 Paid to participant1.
    /// @param balance2 Paid to participant2.
    event CooperativelyClosed(bytes32 indexed channelId, uint64 generation, uint256 balance1, uint256 balance2);

    /// @notice A payout was refused by its recipient (or token) and credited for `withdraw`.
    /// @param recipient The recipient.
    /// @param token The token (`address(0)`: ETH).
    /// @param amount The amount credited.
    event PayoutDeferred(address indexed recipient, address indexed token, uint256 amount);

    /// @notice A pending withdrawal was paid.
    /// @param account The account credited.
    /// @param token The token (`address(0)`: ETH).
    /// @param to Where it was paid.
    /// @param amount The amount.
    event Withdrawn(address indexed account, address indexed token, address to, uint256 amount);

    /// @notice Constructor parameters out of range (zero registry, bad timeout bounds).
    error InvalidConfig();
    /// @notice The partner is the caller or the zero address.
    /// @param partner The partner given.
    error InvalidPartner(address partner);
    /// @notice The settle timeout is outside `[minSettleTimeout, maxSettleTimeout]`.
    /// @param settleTimeout The timeout given.
    error InvalidSettleTimeout(uint64 settleTimeout);
    /// @notice The channel is in another state than this call needs.
    /// @param channelId The channel.
    /// @param state Its state.
    error WrongChannelState(bytes32 channelId, uint8 state);
    /// @notice The address is not a participant of the channel.
    /// @param channelId The channel.
    /// @param account The address.
    error NotParticipant(bytes32 channelId, address account);
    /// @notice A total deposit must increase.
    /// @param current The current total.
    /// @param requested The total requested.
    error DepositNotIncreasing(uint256 current, uint256 requested);
    /// @notice The ETH sent is not the deposit increase (or ETH was sent for an ERC-20 channel).
    /// @param sent `msg.value`.
    /// @param expected The increase.
    error WrongDepositValue(uint256 sent, uint256 expected);
    /// @notice The two deposits together would overflow.
    error DepositOverflow();
    /// @notice The token moved another amount than the deposit increase (fee-on-transfer tokens
    ///         are refused), or the transfer failed.
    /// @param token The token.
    /// @param expected The increase.
    error TokenDepositFailed(address token, uint256 expected);
    /// @notice A nonce-0 ("no proof") balance proof carries non-zero amounts or root.
    error InvalidEmptyBalanceProof();
    /// @notice A signature is not 65 bytes, has `v` other than 27/28, a high `s`, or recovers to
    ///         the zero address.
    error MalformedSignature();
    /// @notice A signature does not recover to the expected signer.
    /// @param expected The expected signer.
    /// @param recovered The address it recovers to.
    error WrongSigner(address expected, address recovered);
    /// @notice The named participants are not the closer and the non-closing participant.
    error WrongParticipants();
    /// @notice An update must carry a higher nonce than the proof on record.
    /// @param recorded The nonce on record.
    /// @param given The nonce given.
    error NonceNotIncreasing(uint64 recorded, uint64 given);
    /// @notice The settle block has passed: no more updates.
    /// @param settleBlock The settle block.
    error UpdateWindowOver(uint64 settleBlock);
    /// @notice The settle block has not passed yet.
    /// @param settleBlock The settle block.
    error SettleTooEarly(uint64 settleBlock);
    /// @notice The cooperative balances do not add up to the channel's total deposit.
    /// @param total The total deposit.
    error BalancesDoNotMatchDeposit(uint256 total);
    /// @notice Nothing is held for this sender's locks (never, or already unlocked).
    error NothingToUnlock();
    /// @notice The locks do not hash to the recorded locks root (or are not whole locks).
    error LocksNotCommitted();
    /// @notice A withdrawal to the zero address.
    error InvalidWithdrawalRecipient();
    /// @notice No pending withdrawal for the caller in this token.
    error NothingToWithdraw();
    /// @notice A withdrawal's transfer failed.
    /// @param token The token.
    /// @param to The recipient.
    error WithdrawFailed(address token, address to);
    /// @notice A function that moves funds was re-entered.
    error Reentrancy();

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    /// @param registry The secret registry `unlock` reads.
    /// @param governor The account that lists ERC-20 tokens (`registerToken`).
    /// @param minTimeout The shortest settle timeout, in blocks (non-zero).
    /// @param maxTimeout The longest settle timeout, in blocks (at least `minTimeout`, at most
    ///        `MAX_SETTLE_TIMEOUT_BOUND`).
    constructor(SecretRegistry registry, address governor, uint64 minTimeout, uint64 maxTimeout)
        TokenRegistry(governor, type(uint32).max)
    {
        // The bound on the longest timeout keeps `block.number + settleTimeout` far from
        // overflowing, so a close can never revert for it.
        if (
            address(registry) == address(0) || minTimeout == 0 || maxTimeout < minTimeout
                || maxTimeout > MAX_SETTLE_TIMEOUT_BOUND
        ) revert InvalidConfig();
        secretRegistry = registry;
        minSettleTimeout = minTimeout;
        maxSettleTimeout = maxTimeout;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------------------------------
    // Lifecycle
    // ------------------------------------------------------------------------------------------

    /// @notice Opens the caller's channel with `partner` in `token` (its next generation).
    /// @param partner The other participant.
    /// @param token `address(0)` for ETH, else a listed ERC-20.
    /// @param settleTimeout The settle window after a unilateral close, in blocks.
    /// @return channelId The channel.
    /// @return generation Its new generation.
    function openChannel(address partner, address token, uint64 settleTimeout)
        external
        returns (bytes32 channelId, uint64 generation)
    {
        if (partner == address(0) || partner == msg.sender) revert InvalidPartner(partner);
        if (settleTimeout < minSettleTimeout || settleTimeout > maxSettleTimeout) {
            revert InvalidSettleTimeout(settleTimeout);
        }
        if (token != address(0)) tokenId(token); // reverts for unlisted tokens
        (address p1, address p2) = msg.sender < partner ? (msg.sender, partner) : (partner, msg.sender);
        channelId = channelIdOf(p1, p2, token);
        Channel storage c = _channels[channelId];
        uint8 state = c.state;
        if (state != STATE_NONE && state != STATE_SETTLED) revert WrongChannelState(channelId, state);
        generation = c.generation + 1;
        _channels[channelId] = Channel({
            participant1: p1,
            generation: generation,
            state: STATE_OPENED,
            closedByParticipant2: false,
            participant2: p2,
            settleTimeout: settleTimeout,
            token: token,
            settleBlock: 0
        });
        emit ChannelOpened(channelId, p1, p2, token, generation, settleTimeout);
    }

    /// @notice Raises `participant`'s total deposit to `totalDeposit`; anyone may fund. For ETH
    ///         send exactly the increase as `msg.value`; for an ERC-20 approve the increase first
    ///         (it is taken from the caller).
    /// @param channelId The channel (open).
    /// @param participant The participant credited.
    /// @param totalDeposit Its new total deposit (greater than the current one).
    function setTotalDeposit(bytes32 channelId, address participant, uint256 totalDeposit)
        external
        payable
        nonReentrant
    {
        Channel storage c = _channels[channelId];
        _requireState(channelId, c.state, STATE_OPENED);
        uint256 index = _indexOf(channelId, c, participant);
        Participant storage p = _participants[channelId][index];
        uint256 current = p.deposit;
        if (totalDeposit <= current) revert DepositNotIncreasing(current, totalDeposit);
        uint256 increase = totalDeposit - current;
        uint256 other = _participants[channelId][1 - index].deposit;
        if (totalDeposit > type(uint256).max - other) revert DepositOverflow();
        address token = c.token;
        p.deposit = totalDeposit;
        emit DepositSet(channelId, c.generation, participant, totalDeposit);
        if (token == address(0)) {
            if (msg.value != increase) revert WrongDepositValue(msg.value, increase);
        } else {
            if (msg.value != 0) revert WrongDepositValue(msg.value, 0);
            uint256 before = _balanceOf(token);
            (bool ok, bytes memory ret) =
                token.call(abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), increase));
            if (!ok || !_returnedTrue(ret) || _balanceOf(token) - before != increase) {
                revert TokenDepositFailed(token, increase);
            }
        }
    }

    /// @notice Closes the channel unilaterally with the partner's latest balance proof (nonce 0
    ///         with zero amounts and root: the partner never paid) and starts the settle window.
    /// @param channelId The channel (open); the caller must be a participant.
    /// @param nonce The partner's proof: nonce (0: none).
    /// @param transferredAmount Its transferred amount.
    /// @param lockedAmount Its locked amount.
    /// @param locksRoot Its locks root.
    /// @param partnerSignature The partner's EIP-712 signature of the `BalanceProof` (ignored
    ///        for nonce 0).
    function closeChannel(
        bytes32 channelId,
        uint64 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot,
        bytes calldata partnerSignature
    ) external nonReentrant {
        Channel storage c = _channels[channelId];
        _requireState(channelId, c.state, STATE_OPENED);
        uint256 closerIndex = _indexOf(channelId, c, msg.sender);
        uint256 partnerIndex = 1 - closerIndex;
        uint64 generation = c.generation;
        if (nonce == 0) {
            if (transferredAmount != 0 || lockedAmount != 0 || locksRoot != bytes32(0)) {
                revert InvalidEmptyBalanceProof();
            }
        } else {
            address partner = partnerIndex == 0 ? c.participant1 : c.participant2;
            bytes32 structHash =
                balanceProofHash(channelId, generation, nonce, transferredAmount, lockedAmount, locksRoot);
            _verify(partner, structHash, partnerSignature);
            Participant storage p = _participants[channelId][partnerIndex];
            p.nonce = nonce;
            p.transferredAmount = transferredAmount;
            p.lockedAmount = lockedAmount;
            p.locksRoot = locksRoot;
        }
        c.state = STATE_CLOSED;
        c.closedByParticipant2 = closerIndex == 1;
        c.settleBlock = uint64(block.number) + c.settleTimeout;
        emit ChannelClosed(channelId, generation, msg.sender, nonce);
    }

    /// @notice Records a newer balance proof of the closer, authorised by the non-closing
    ///         participant; anyone may submit it (a watchtower) until the settle block.
    /// @param channelId The channel (closed).
    /// @param closing The closer (the proof's signer).
    /// @param nonClosing The other participant (the authorisation's signer).
    /// @param nonce The closer's proof: nonce, higher than the one on record.
    /// @param transferredAmount Its transferred amount.
    /// @param lockedAmount Its locked amount.
    /// @param locksRoot Its locks root.
    /// @param closingSignature The closer's signature of the `BalanceProof`.
    /// @param nonClosingSignature The non-closing participant's signature of the
    ///        `NonClosingUpdate` naming that proof's struct hash.
    function updateNonClosingBalanceProof(
        bytes32 channelId,
        address closing,
        address nonClosing,
        uint64 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot,
        bytes calldata closingSignature,
        bytes calldata nonClosingSignature
    ) external nonReentrant {
        _update(
            channelId,
            closing,
            nonClosing,
            BalanceProof(nonce, transferredAmount, lockedAmount, locksRoot),
            closingSignature,
            nonClosingSignature
        );
    }

    /// @notice Settles a closed channel once its settle block has passed; anyone may call it.
    ///         Participant i receives `deposit_i - transferred_i - locked_i + transferred_j`,
    ///         clamped to what the channel holds; each side's locked amount is held for `unlock`.
    /// @param channelId The channel (closed, settle block passed).
    function settleChannel(bytes32 channelId) external nonReentrant {
        Channel storage c = _channels[channelId];
        _requireState(channelId, c.state, STATE_CLOSED);
        uint64 settleBlock = c.settleBlock;
        if (block.number <= settleBlock) revert SettleTooEarly(settleBlock);
        uint64 generation = c.generation;
        Participant memory a = _participants[channelId][0];
        Participant memory b = _participants[channelId][1];
        // A proof that locks an amount under the empty root can never be unlocked: its locked
        // amount returns to its sender at once.
        if (a.locksRoot == bytes32(0)) a.lockedAmount = 0;
        if (b.locksRoot == bytes32(0)) b.lockedAmount = 0;
        (uint256 s1, uint256 s2, uint256 held1, uint256 held2) = settlementAmounts(
            a.deposit, a.transferredAmount, a.lockedAmount, b.deposit, b.transferredAmount, b.lockedAmount
        );
        address p1 = c.participant1;
        address p2 = c.participant2;
        if (held1 != 0) _pendingLocks[_locksKey(channelId, generation, p1)] = PendingLocks(a.locksRoot, held1);
        if (held2 != 0) _pendingLocks[_locksKey(channelId, generation, p2)] = PendingLocks(b.locksRoot, held2);
        delete _participants[channelId][0];
        delete _participants[channelId][1];
        c.state = STATE_SETTLED;
        c.settleBlock = 0;
        emit ChannelSettled(channelId, generation, s1, s2, held1, held2);
        address token = c.token;
        _pay(token, p1, s1);
        _pay(token, p2, s2);
    }

    /// @notice Pays out the amount held at settle for `sender`'s pending locks: each lock whose
    ///         secret was registered at a block no later than its expiration goes to `receiver`,
    ///         the rest back to `sender`. Anyone may call it, once per (channel, generation,
    ///         sender).
    /// @param channelId The channel.
    /// @param generation The settled generation the locks belong to.
    /// @param sender The participant whose balance proof committed the locks.
    /// @param receiver The other participant.
    /// @param locks The committed locks, each `abi.encode(amount, expiration, secrethash)`, in
    ///        order: their keccak256 must be the recorded locks root.
    function unlock(bytes32 channelId, uint64 generation, address sender, address receiver, bytes calldata locks)
        external
        nonReentrant
    {
        Channel storage c = _channels[channelId];
        address p1 = c.participant1;
        address p2 = c.participant2;
        if (!((sender == p1 && receiver == p2) || (sender == p2 && receiver == p1)) || p1 == address(0)) {
            revert WrongParticipants();
        }
        bytes32 key = _locksKey(channelId, generation, sender);
        PendingLocks memory pending = _pendingLocks[key];
        if (pending.amount == 0) revert NothingToUnlock();
        if (locks.length == 0 || locks.length % LOCK_SIZE != 0 || keccak256(locks) != pending.locksRoot) {
            revert LocksNotCommitted();
        }
        uint256 claimed = 0;
        for (uint256 offset = 0; offset < locks.length; offset += LOCK_SIZE) {
            uint256 amount = uint256(bytes32(locks[offset:offset + 32]));
            uint256 expiration = uint256(bytes32(locks[offset + 32:offset + 64]));
            bytes32 secrethash = bytes32(locks[offset + 64:offset + 96]);
            uint256 revealed = secretRegistry.getSecretRevealBlockHeight(secrethash);
            if (revealed != 0 && revealed <= expiration) {
                // Saturating: a sender's absurd lock amounts cannot make the unlock revert.
                claimed = amount > type(uint256).max - claimed ? type(uint256).max : claimed + amount;
            }
        }
        if (claimed > pending.amount) claimed = pending.amount;
        uint256 returned = pending.amount - claimed;
        delete _pendingLocks[key];
        emit ChannelUnlocked(channelId, generation, sender, receiver, claimed, returned);
        address token = c.token;
        _pay(token, receiver, claimed);
        _pay(token, sender, returned);
    }

    /// @notice Ends an open channel at once with both participants' signatures of the final
    ///         balances, which must add up to the total deposit; anyone may submit it.
    /// @param channelId The channel (open).
    /// @param balance1 Paid to participant1.
    /// @param balance2 Paid to participant2.
    /// @param signature1 participant1's signature of the `CooperativeClose`.
    /// @param signature2 participant2's signature of it.
    function cooperativeClose(
        bytes32 channelId,
        uint256 balance1,
        uint256 balance2,
        bytes calldata signature1,
        bytes calldata signature2
    ) external nonReentrant {
        Channel storage c = _channels[channelId];
        _requireState(channelId, c.state, STATE_OPENED);
        uint256 total = _participants[channelId][0].deposit + _participants[channelId][1].deposit;
        if (balance1 > total || total - balance1 != balance2) revert BalancesDoNotMatchDeposit(total);
        uint64 generation = c.generation;
        bytes32 structHash = cooperativeCloseHash(channelId, generation, balance1, balance2);
        address p1 = c.participant1;
        address p2 = c.participant2;
        _verify(p1, structHash, signature1);
        _verify(p2, structHash, signature2);
        delete _participants[channelId][0].deposit;
        delete _participants[channelId][1].deposit;
        c.state = STATE_SETTLED;
        emit CooperativelyClosed(channelId, generation, balance1, balance2);
        address token = c.token;
        _pay(token, p1, balance1);
        _pay(token, p2, balance2);
    }

    /// @notice Takes the caller's pending withdrawal of `token` (payouts it refused), to `to`.
    /// @param token The token (`address(0)`: ETH).
    /// @param to Where to pay it (non-zero).
    function withdraw(address token, address to) external nonReentrant {
        if (to == address(0)) revert InvalidWithdrawalRecipient();
        uint256 amount = _pendingWithdrawals[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw();
        delete _pendingWithdrawals[msg.sender][token];
        emit Withdrawn(msg.sender, token, to, amount);
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount}("");
        } else {
            bytes memory ret;
            (ok, ret) = token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
            ok = ok && _returnedTrue(ret);
        }
        if (!ok) revert WithdrawFailed(token, to);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The id of the channel of `a` and `b` in `token` (the pair in either order).
    /// @param a One participant.
    /// @param b The other.
    /// @param token The token (`address(0)`: ETH).
    /// @return `keccak256(abi.encode(participant1, participant2, token))`, participant1 < participant2.
    function channelIdOf(address a, address b, address token) public pure returns (bytes32) {
        (address p1, address p2) = a < b ? (a, b) : (b, a);
        return keccak256(abi.encode(p1, p2, token));
    }

    /// @notice A channel's record.
    /// @param channelId The channel.
    /// @return participant1 The lower participant (zero: never opened).
    /// @return participant2 The higher participant.
    /// @return token The token.
    /// @return generation The current (or last) generation.
    /// @return state `STATE_NONE`, `STATE_OPENED`, `STATE_CLOSED` or `STATE_SETTLED`.
    /// @return settleTimeout The settle timeout, in blocks.
    /// @return settleBlock The last block for updates while closed (0 otherwise).
    /// @return closer The closer while closed (zero otherwise).
    function getChannel(bytes32 channelId)
        external
        view
        returns (
            address participant1,
            address participant2,
            address token,
            uint64 generation,
            uint8 state,
            uint64 settleTimeout,
            uint64 settleBlock,
            address closer
        )
    {
        Channel storage c = _channels[channelId];
        participant1 = c.participant1;
        participant2 = c.participant2;
        token = c.token;
        generation = c.generation;
        state = c.state;
        settleTimeout = c.settleTimeout;
        settleBlock = c.settleBlock;
        if (state == STATE_CLOSED) closer = c.closedByParticipant2 ? participant2 : participant1;
    }

    /// @notice A participant's side of the current generation.
    /// @param channelId The channel.
    /// @param participant The participant.
    /// @return deposit Its total deposit.
    /// @return nonce The nonce of its balance proof on record (0: none).
    /// @return transferredAmount That proof's transferred amount.
    /// @return lockedAmount Its locked amount.
    /// @return locksRoot Its locks root.
    function getParticipant(bytes32 channelId, address participant)
        external
        view
        returns (uint256 deposit, uint64 nonce, uint256 transferredAmount, uint256 lockedAmount, bytes32 locksRoot)
    {
        Participant storage p = _participants[channelId][_indexOf(channelId, _channels[channelId], participant)];
        return (p.deposit, p.nonce, p.transferredAmount, p.lockedAmount, p.locksRoot);
    }

    /// @notice What is held for `sender`'s pending locks of a settled generation.
    /// @param channelId The channel.
    /// @param generation The generation.
    /// @param sender The sender of the locks.
    /// @return locksRoot The committed root.
    /// @return amount The amount held (0: nothing, or already unlocked).
    function getPendingLocks(bytes32 channelId, uint64 generation, address sender)
        external
        view
        returns (bytes32 locksRoot, uint256 amount)
    {
        PendingLocks storage pending = _pendingLocks[_locksKey(channelId, generation, sender)];
        return (pending.locksRoot, pending.amount);
    }

    /// @notice The payouts `account` refused in `token`, to take with `withdraw`.
    /// @param account The account.
    /// @param token The token (`address(0)`: ETH).
    /// @return The amount.
    function pendingWithdrawal(address account, address token) external view returns (uint256) {
        return _pendingWithdrawals[account][token];
    }

    /// @notice The EIP-712 domain separator (name "PlyChannels", version "1", this chain, this
    ///         contract).
    /// @return The separator.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice The EIP-712 digest a signer signs for `structHash`:
    ///         `keccak256("\x19\x01" || domainSeparator() || structHash)`.
    /// @param structHash The struct hash.
    /// @return The digest.
    function digestOf(bytes32 structHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// @notice The EIP-712 struct hash of a `BalanceProof`.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param nonce The proof's nonce.
    /// @param transferredAmount The signer's total completed payments to its partner.
    /// @param lockedAmount The sum of its pending locks.
    /// @param locksRoot The root of those locks.
    /// @return The struct hash.
    function balanceProofHash(
        bytes32 channelId,
        uint64 generation,
        uint64 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot
    ) public pure returns (bytes32) {
        return keccak256(
            abi.encode(BALANCE_PROOF_TYPEHASH, channelId, generation, nonce, transferredAmount, lockedAmount, locksRoot)
        );
    }

    /// @notice The EIP-712 struct hash of a `NonClosingUpdate`.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param bpHash The struct hash of the closer's `BalanceProof` it authorises.
    /// @return The struct hash.
    function nonClosingUpdateHash(bytes32 channelId, uint64 generation, bytes32 bpHash) public pure returns (bytes32) {
        return keccak256(abi.encode(NON_CLOSING_UPDATE_TYPEHASH, channelId, generation, bpHash));
    }

    /// @notice The EIP-712 struct hash of a `CooperativeClose`.
    /// @param channelId The channel.
    /// @param generation Its generation.
    /// @param balance1 participant1's final balance.
    /// @param balance2 participant2's final balance.
    /// @return The struct hash.
    function cooperativeCloseHash(bytes32 channelId, uint64 generation, uint256 balance1, uint256 balance2)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(COOPERATIVE_CLOSE_TYPEHASH, channelId, generation, balance1, balance2));
    }

    /// @notice The settlement of a closed channel (Raiden's algorithm, without withdrawals):
    ///         participant1 may receive at most `r1 = d1 + t2 + l2 - t1 - l1` clamped to
    ///         `[0, d1 + d2]`, participant2 the rest `r2`; from each share the partner's pending
    ///         locks are held back (at most the share). Sums saturate, so absurd signed amounts
    ///         only cost their signer and never make settle revert.
    /// @param d1 participant1's deposit.
    /// @param t1 participant1's transferred amount (its proof on record).
    /// @param l1 participant1's locked amount.
    /// @param d2 participant2's deposit.
    /// @param t2 participant2's transferred amount.
    /// @param l2 participant2's locked amount.
    /// @return s1 Paid to participant1 at settle.
    /// @return s2 Paid to participant2 at settle.
    /// @return held1 Held for participant1's locks (to participant2 or back, at unlock).
    /// @return held2 Held for participant2's locks.
    function settlementAmounts(uint256 d1, uint256 t1, uint256 l1, uint256 d2, uint256 t2, uint256 l2)
        public
        pure
        returns (uint256 s1, uint256 s2, uint256 held1, uint256 held2)
    {
        uint256 total = d1 + d2;
        uint256 gain = _satAdd(_satAdd(d1, t2), l2);
        uint256 loss = _satAdd(t1, l1);
        uint256 r1 = gain > loss ? gain - loss : 0;
        if (r1 > total) r1 = total;
        uint256 r2 = total - r1;
        held2 = l2 < r1 ? l2 : r1;
        s1 = r1 - held2;
        held1 = l1 < r2 ? l1 : r2;
        s2 = r2 - held1;
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _update(
        bytes32 channelId,
        address closing,
        address nonClosing,
        BalanceProof memory proof,
        bytes calldata closingSignature,
        bytes calldata nonClosingSignature
    ) private {
        Channel storage c = _channels[channelId];
        _requireState(channelId, c.state, STATE_CLOSED);
        if (block.number > c.settleBlock) revert UpdateWindowOver(c.settleBlock);
        uint256 closerIndex = c.closedByParticipant2 ? 1 : 0;
        if (closing != (closerIndex == 0 ? c.participant1 : c.participant2)) revert WrongParticipants();
        if (nonClosing != (closerIndex == 0 ? c.participant2 : c.participant1)) revert WrongParticipants();
        Participant storage p = _participants[channelId][closerIndex];
        if (proof.nonce <= p.nonce) revert NonceNotIncreasing(p.nonce, proof.nonce);
        uint64 generation = c.generation;
        bytes32 bpHash = balanceProofHash(
            channelId, generation, proof.nonce, proof.transferredAmount, proof.lockedAmount, proof.locksRoot
        );
        _verify(closing, bpHash, closingSignature);
        _verify(nonClosing, nonClosingUpdateHash(channelId, generation, bpHash), nonClosingSignature);
        p.nonce = proof.nonce;
        p.transferredAmount = proof.transferredAmount;
        p.lockedAmount = proof.lockedAmount;
        p.locksRoot = proof.locksRoot;
        emit NonClosingBalanceProofUpdated(channelId, generation, closing, proof.nonce);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("PlyChannels"), keccak256("1"), block.chainid, address(this))
            );
    }

    function _requireState(bytes32 channelId, uint8 state, uint8 expected) private pure {
        if (state != expected) revert WrongChannelState(channelId, state);
    }

    /// @dev 0 for participant1, 1 for participant2; reverts for anyone else.
    function _indexOf(bytes32 channelId, Channel storage c, address account) private view returns (uint256) {
        if (account != address(0)) {
            if (account == c.participant1) return 0;
            if (account == c.participant2) return 1;
        }
        revert NotParticipant(channelId, account);
    }

    function _locksKey(bytes32 channelId, uint64 generation, address sender) private pure returns (bytes32) {
        return keccak256(abi.encode(channelId, generation, sender));
    }

    /// @dev Reverts unless `signature` is a canonical signature by `signer` of the EIP-712
    ///      digest of `structHash`.
    function _verify(address signer, bytes32 structHash, bytes calldata signature) private view {
        if (signature.length != 65) revert MalformedSignature();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if ((v != 27 && v != 28) || uint256(s) > SECP256K1_HALF_N) revert MalformedSignature();
        address recovered = ecrecover(digestOf(structHash), v, r, s);
        if (recovered == address(0)) revert MalformedSignature();
        if (recovered != signer) revert WrongSigner(signer, recovered);
    }

    /// @dev Pays `amount` of `token` to `to`; a refusal credits a pending withdrawal instead.
    function _pay(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            uint256 gasLimit = PAYOUT_GAS;
            assembly ("memory-safe") {
                // No return data is copied: a recipient cannot make the payout run out of gas.
                ok := call(gasLimit, to, amount, 0, 0, 0, 0)
            }
        } else {
            bytes memory data = abi.encodeWithSelector(0xa9059cbb, to, amount);
            assembly ("memory-safe") {
                let success := call(gas(), token, 0, add(data, 0x20), mload(data), 0, 0)
                switch returndatasize()
                case 0 { ok := and(success, gt(extcodesize(token), 0)) }
                case 32 {
                    returndatacopy(0, 0, 32)
                    ok := and(success, eq(mload(0), 1))
                }
                default { ok := 0 }
            }
        }
        if (!ok) {
            _pendingWithdrawals[to][token] += amount;
            emit PayoutDeferred(to, token, amount);
        }
    }

    /// @dev This contract's balance of `token`.
    function _balanceOf(address token) private view returns (uint256 balance) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length != 32) revert TokenDepositFailed(token, 0);
        balance = abi.decode(ret, (uint256));
    }

    /// @dev True for empty return data or for exactly the ABI encoding of `true`.
    function _returnedTrue(bytes memory ret) private pure returns (bool) {
        if (ret.length == 0) return true;
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    function _satAdd(uint256 a, uint256 b) private pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c < a ? type(uint256).max : c;
        }
    }
}
