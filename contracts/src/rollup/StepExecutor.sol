// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Bridge} from "./Bridge.sol";
import {CHUNK_SIZE, chunkCount, chunkTreeDepth, chunkRootFromProof} from "./BatchData.sol";
import {SparseProof, emptySubtrees, sparseRoot} from "./SparseProof.sol";
import {
    StepState,
    StepWitness,
    StepContext,
    AccountWitness,
    AddressProof,
    DataChunk,
    PriorityOp,
    PHASE_START,
    PHASE_BLOCKS,
    PHASE_DRAIN,
    PHASE_DONE
} from "./StepTypes.sol";

/// @title StepExecutor
/// @author ply
/// @notice The one-step proof of the optimistic rollup (docs/rollup.md, "Fraud proofs"): executes
///         ONE step of a batch's trace (one priority operation, one transaction, the malformed
///         transition or the end) from an agreed pre-state, reading the batch data from chunks
///         proven against the batch's data root, the state from compressed Merkle proofs and the
///         priority operation from the Bridge's queue. A witness that does not verify, or is
///         short, reverts: a step never yields a wrong state. Rules that the state refuses
///         (bad signature, unknown account or token, short balance, overflow, full tree) skip
///         the transaction or operation, as the L2 does.
/// @dev Stateless apart from its immutables; the Rollup's dispute game calls `step` at the leaf.
///      The rules are applied in the order of docs/rollup.md, which also fixes the order of the
///      witness's reads: a transaction reads the sender, then (for `New(addr)`) the address proof
///      of `addr`, then the recipient (not for a withdrawal), then the fee account; a priority
///      operation reads the address proof of `to` (deposit), of `from` then `to` (forced
///      transfer) or of `from` (forced withdrawal), each followed by the account it names. Reads
///      stop at the first rule that fails; witness entries past the last read are ignored.
contract StepExecutor {
    /// @notice The largest balance: `2^128 - 1` (the ledger's `MAX_BALANCE`).
    uint256 public constant MAX_BALANCE = type(uint128).max;

    /// @notice The depth of a batch's withdrawal tree.
    uint256 public constant WITHDRAWAL_TREE_DEPTH = 16;

    /// @notice The depth of the address tree (keyed by the 160-bit address).
    uint256 public constant ADDRESS_TREE_DEPTH = 160;

    /// @notice The account index that announces a new account in a transfer (and that no sender
    ///         may have).
    uint256 public constant NEW_ACCOUNT = 0xFFFFFF;

    /// @notice The EIP-712 type hash of an L2 transfer.
    bytes32 public constant TRANSFER_TYPEHASH =
        keccak256("Transfer(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)");

    /// @notice The EIP-712 type hash of an L2 withdrawal.
    bytes32 public constant WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)");

    /// @dev secp256k1's `n / 2`: signatures with a larger `s` are malleable and refused.
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice The bridge whose queue holds the priority operations.
    Bridge public immutable bridge;

    /// @notice The depth of the account tree (default 24; at most 24: index `0xFFFFFF` is taken).
    uint256 public immutable accountDepth;

    /// @notice The depth of each account's balance tree (default 8; at most 8: `tokens` is a
    ///         256-bit map).
    uint256 public immutable tokenDepth;

    /// @dev The working state of one step (memory, to keep the stack shallow).
    struct Run {
        StepState s; // the state being built
        bytes32[] empties; // empty subtree roots, levels 0 ..= 160
        bytes buffer; // the witness's chunks, concatenated
        uint256 bufferStart; // the batch data offset of buffer[0]
        uint256 pos; // the read position in the batch data
        uint256 dataLength;
        uint256 accountReads;
        uint256 addressReads;
    }

    /// @dev The trees a transaction or operation moves, committed to `Run.s` only when it applies.
    struct Work {
        bytes32 stateRoot;
        bytes32 addressRoot;
        uint64 accountCount;
        bytes32 withdrawalRoot;
        uint32 withdrawalCount;
    }

    /// @dev A decoded transaction.
    struct Tx {
        bool withdrawal;
        uint256 token;
        uint256 from;
        uint256 to; // account index (transfer), NEW_ACCOUNT for a new account
        address toAddress; // the new account (transfer) or the L1 recipient (withdrawal)
        uint256 amount;
        uint256 fee;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice The constructor's parameters are out of range.
    /// @param accountDepth The account tree depth given (1 to 24).
    /// @param tokenDepth The balance tree depth given (1 to 8).
    error InvalidDepths(uint256 accountDepth, uint256 tokenDepth);

    /// @notice The bridge given is not a contract.
    /// @param bridge The address given.
    error InvalidBridge(address bridge);

    /// @notice The step needs more witness entries of a kind than were given.
    /// @param what "account", "address" or "chunk data".
    /// @param needed The (0-based) entry, or the data offset, that is missing.
    error WitnessTooShort(string what, uint256 needed);

    /// @notice A data chunk is not the one expected at its place, or does not verify against the
    ///         batch's data root.
    /// @param position Its place in the witness's chunk list.
    /// @param index The chunk index it claims.
    error InvalidChunk(uint256 position, uint256 index);

    /// @notice An account read does not verify against the root of its moment.
    /// @param read The read's place in the witness's account list.
    /// @param index The account index read.
    error InvalidAccountProof(uint256 read, uint256 index);

    /// @notice A balance proof does not verify against the account's balances root.
    /// @param read The read's place in the witness's account list.
    /// @param token The token (balance tree position).
    error InvalidBalanceProof(uint256 read, uint256 token);

    /// @notice An empty account position claims an address, nonce or balance, or a position that
    ///         must hold an account is empty (or one that must be empty is not).
    /// @param read The read's place in the witness's account list.
    /// @param index The account index read.
    error InconsistentAccount(uint256 read, uint256 index);

    /// @notice An address proof does not verify against the address root.
    /// @param read The read's place in the witness's address list.
    /// @param addr The address (tree key).
    error InvalidAddressProof(uint256 read, address addr);

    /// @notice The witness's priority operation is not operation `index` of the Bridge's queue.
    /// @param index The queue index.
    error InvalidOperation(uint256 index);

    /// @notice The withdrawal proof does not show an empty leaf at `withdrawalCount`.
    /// @param withdrawalCount The leaf position.
    error InvalidWithdrawalProof(uint256 withdrawalCount);

    /// @notice The pre-state consumed more operations than the batch has.
    /// @param queueIndex Its queue index.
    /// @param queueEnd The batch's `newQueueCount`.
    error QueueIndexBeyondBatch(uint256 queueIndex, uint256 queueEnd);

    /// @notice Creates the executor of a rollup's state layout.
    /// @param bridge_ The bridge whose queue the steps read.
    /// @param accountDepth_ The account tree's depth (24 in production).
    /// @param tokenDepth_ The balance tree's depth (8 in production).
    constructor(Bridge bridge_, uint256 accountDepth_, uint256 tokenDepth_) {
        if (address(bridge_).code.length == 0) revert InvalidBridge(address(bridge_));
        if (accountDepth_ == 0 || accountDepth_ > 24 || tokenDepth_ == 0 || tokenDepth_ > 8) {
            revert InvalidDepths(accountDepth_, tokenDepth_);
        }
        bridge = bridge_;
        accountDepth = accountDepth_;
        tokenDepth = tokenDepth_;
    }

    /// @notice Executes one step of the trace of batch `ctx.batchIndex` from `pre`.
    /// @param pre The agreed pre-state.
    /// @param w What the step reads (docs/rollup.md, "The one-step witness").
    /// @param ctx The batch and chain the step runs in.
    /// @return post The state after the step.
    function step(StepState calldata pre, StepWitness calldata w, StepContext calldata ctx)
        external
        view
        returns (StepState memory post)
    {
        Run memory r;
        r.s = pre;
        if (pre.phase == PHASE_DONE) return r.s;
        if (pre.queueIndex > ctx.queueEnd) revert QueueIndexBeyondBatch(pre.queueIndex, ctx.queueEnd);
        r.empties = emptySubtrees(ADDRESS_TREE_DEPTH);
        r.dataLength = ctx.dataLength;
        if (pre.phase == PHASE_DRAIN) {
            _drain(r, w, ctx);
            return r.s;
        }
        uint256 from = pre.phase == PHASE_START ? 0 : pre.cursor;
        _loadChunks(r, w.chunks, ctx, from);
        r.pos = from;
        bool ok = pre.phase == PHASE_START ? _start(r) : true;
        if (ok) ok = _blocks(r, w, ctx);
        if (!ok) {
            // Malformed: only the parse fields change (block headers read earlier in this step
            // are undone too).
            post = r.s;
            post.phase = PHASE_DRAIN;
            post.lastTimestamp = pre.lastTimestamp;
            post.cursor = 0;
            post.blocksLeft = 0;
            post.blockOps = 0;
            post.blockTxs = 0;
            return post;
        }
        return r.s;
    }

    // ------------------------------------------------------------------ reading the batch

    /// @dev Verifies the witness's chunks (contiguous from the chunk holding `from`) against the
    ///      data root and concatenates them into `r.buffer`.
    function _loadChunks(Run memory r, DataChunk[] calldata chunks, StepContext calldata ctx, uint256 from)
        private
        pure
    {
        uint256 total = chunkCount(ctx.dataLength);
        uint256 depth = chunkTreeDepth(total);
        uint256 first = from / CHUNK_SIZE;
        r.bufferStart = first * CHUNK_SIZE;
        bytes memory buffer;
        for (uint256 j = 0; j < chunks.length; ++j) {
            DataChunk calldata c = chunks[j];
            uint256 index = c.index;
            if (index != first + j || index >= total || c.proof.length != depth) revert InvalidChunk(j, index);
            uint256 size = index == total - 1 ? ctx.dataLength - index * CHUNK_SIZE : CHUNK_SIZE;
            if (c.data.length != size) revert InvalidChunk(j, index);
            if (chunkRootFromProof(keccak256(c.data), index, c.proof) != ctx.dataRoot) revert InvalidChunk(j, index);
            buffer = bytes.concat(buffer, c.data);
        }
        r.buffer = buffer;
    }

    /// @dev Reads `n <= 32` bytes big-endian at `r.pos`: false when the batch data ends first
    ///      (truncation: the batch is malformed); reverts when the witness lacks the chunk.
    function _read(Run memory r, uint256 n) private pure returns (bool ok, uint256 value) {
        uint256 pos = r.pos;
        if (pos + n > r.dataLength) return (false, 0);
        uint256 end = r.bufferStart + r.buffer.length;
        if (pos + n > end) revert WitnessTooShort("chunk data", pos + n);
        bytes memory buffer = r.buffer;
        uint256 offset = pos - r.bufferStart;
        assembly ("memory-safe") {
            value := shr(sub(256, shl(3, n)), mload(add(add(buffer, 0x20), offset)))
        }
        r.pos = pos + n;
        ok = true;
    }

    /// @dev START: the version (1) and the block count.
    function _start(Run memory r) private pure returns (bool) {
        (bool ok, uint256 version) = _read(r, 1);
        if (!ok || version != 1) return false;
        uint256 count;
        (ok, count) = _read(r, 4);
        if (!ok) return false;
        r.s.phase = PHASE_BLOCKS;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.s.blocksLeft = uint32(count);
        r.s.cursor = 5;
        return true;
    }

    /// @dev BLOCKS: reads block headers until one has work, then applies one operation or one
    ///      transaction; enters DRAIN when the blocks are done. False: malformed.
    function _blocks(Run memory r, StepWitness calldata w, StepContext calldata ctx) private view returns (bool) {
        StepState memory s = r.s;
        while (s.blockOps == 0 && s.blockTxs == 0) {
            if (s.blocksLeft == 0) {
                s.phase = PHASE_DRAIN;
                s.cursor = 0;
                _drain(r, w, ctx);
                return true;
            }
            (bool ok, uint256 header) = _read(r, 12);
            if (!ok) return false;
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 timestamp = uint64(header >> 32);
            // forge-lint: disable-next-line(unsafe-typecast)
            uint16 ops = uint16(header >> 16);
            if (timestamp < s.lastTimestamp || ops > ctx.queueEnd - s.queueIndex) return false;
            s.lastTimestamp = timestamp;
            s.blockOps = ops;
            // forge-lint: disable-next-line(unsafe-typecast)
            s.blockTxs = uint16(header);
            s.blocksLeft -= 1;
            // forge-lint: disable-next-line(unsafe-typecast)
            s.cursor = uint64(r.pos);
        }
        if (s.blockOps > 0) {
            s.blockOps -= 1;
            _applyOperation(r, w, ctx);
            return true;
        }
        Tx memory t;
        if (!_readTx(r, t)) return false;
        s.blockTxs -= 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        s.cursor = uint64(r.pos);
        _applyTx(r, w, ctx, t);
        return true;
    }

    /// @dev Decodes one transaction at `r.pos`. False: truncated, or a sender of `0xFFFFFF`.
    function _readTx(Run memory r, Tx memory t) private pure returns (bool) {
        (bool ok, uint256 v) = _read(r, 2);
        if (!ok) return false;
        t.withdrawal = v >> 15 == 1;
        t.token = v & 0x7FFF;
        (ok, t.from) = _read(r, 3);
        if (!ok || t.from == NEW_ACCOUNT) return false;
        if (!t.withdrawal) {
            (ok, t.to) = _read(r, 3);
            if (!ok) return false;
        }
        if (t.withdrawal || t.to == NEW_ACCOUNT) {
            (ok, v) = _read(r, 20);
            if (!ok) return false;
            // casting is safe: v holds the 20 bytes just read
            // forge-lint: disable-next-line(unsafe-typecast)
            t.toAddress = address(uint160(v));
        }
        (ok, v) = _read(r, 5);
        if (!ok) return false;
        t.amount = (v >> 5) * 10 ** (v & 31);
        (ok, v) = _read(r, 2);
        if (!ok) return false;
        t.fee = (v >> 5) * 10 ** (v & 31);
        (ok, v) = _read(r, 32);
        if (!ok) return false;
        t.r = bytes32(v);
        (ok, v) = _read(r, 32);
        if (!ok) return false;
        t.vs = bytes32(v);
        return true;
    }

    /// @dev DRAIN: applies the next operation the batch consumed, or ends the batch.
    function _drain(Run memory r, StepWitness calldata w, StepContext calldata ctx) private view {
        if (r.s.queueIndex < ctx.queueEnd) _applyOperation(r, w, ctx);
        else r.s.phase = PHASE_DONE;
    }

    // ------------------------------------------------------------------ state reads

    /// @dev Reads the next account of the witness at `index` (balance of `token`) against `root`.
    function _account(Run memory r, StepWitness calldata w, uint256 index, uint256 token, bytes32 root)
        private
        view
        returns (AccountWitness calldata a)
    {
        uint256 k = r.accountReads++;
        if (k >= w.accounts.length) revert WitnessTooShort("account", k);
        a = w.accounts[k];
        bytes32 leaf;
        bytes32 balancesRoot = a.balancesRoot;
        if (balancesRoot == 0) {
            if (a.addr != address(0) || a.nonce != 0 || a.balance != 0) revert InconsistentAccount(k, index);
            balancesRoot = r.empties[tokenDepth];
        } else {
            leaf = _accountLeaf(a.addr, a.nonce, balancesRoot);
        }
        if (sparseRoot(bytes32(a.balance), token, tokenDepth, a.balanceProof, r.empties) != balancesRoot) {
            revert InvalidBalanceProof(k, token);
        }
        if (sparseRoot(leaf, index, accountDepth, a.accountProof, r.empties) != root) {
            revert InvalidAccountProof(k, index);
        }
    }

    /// @dev Reads a position that must hold an account.
    function _existing(Run memory r, StepWitness calldata w, uint256 index, uint256 token, bytes32 root)
        private
        view
        returns (AccountWitness calldata a)
    {
        a = _account(r, w, index, token, root);
        if (a.balancesRoot == 0) revert InconsistentAccount(r.accountReads - 1, index);
    }

    /// @dev Reads a position that must be empty (a new account's).
    function _empty(Run memory r, StepWitness calldata w, uint256 index, uint256 token, bytes32 root)
        private
        view
        returns (AccountWitness calldata a)
    {
        a = _account(r, w, index, token, root);
        if (a.balancesRoot != 0) revert InconsistentAccount(r.accountReads - 1, index);
    }

    /// @dev The state root after account `a` (read at `index`) becomes (`addr`, `nonce`, balance
    ///      `balance` of `token`).
    function _write(
        Run memory r,
        AccountWitness calldata a,
        uint256 index,
        uint256 token,
        address addr,
        uint64 nonce,
        uint256 balance
    ) private view returns (bytes32) {
        bytes32 balancesRoot = sparseRoot(bytes32(balance), token, tokenDepth, a.balanceProof, r.empties);
        return sparseRoot(_accountLeaf(addr, nonce, balancesRoot), index, accountDepth, a.accountProof, r.empties);
    }

    /// @dev Reads the next address proof of the witness for `addr` against `root`.
    function _address(Run memory r, StepWitness calldata w, address addr, bytes32 root)
        private
        pure
        returns (AddressProof calldata p)
    {
        uint256 k = r.addressReads++;
        if (k >= w.addressProofs.length) revert WitnessTooShort("address", k);
        p = w.addressProofs[k];
        if (sparseRoot(p.leaf, uint160(addr), ADDRESS_TREE_DEPTH, p.proof, r.empties) != root) {
            revert InvalidAddressProof(k, addr);
        }
    }

    function _accountLeaf(address addr, uint64 nonce, bytes32 balancesRoot) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(addr, nonce, balancesRoot));
    }

    function _known(StepState memory s, uint256 token) private pure returns (bool) {
        return token < 256 && (s.tokens >> token) & 1 == 1;
    }

    function _work(StepState memory s) private pure returns (Work memory k) {
        k.stateRoot = s.stateRoot;
        k.addressRoot = s.addressRoot;
        k.accountCount = s.accountCount;
        k.withdrawalRoot = s.withdrawalRoot;
        k.withdrawalCount = s.withdrawalCount;
    }

    function _commit(StepState memory s, Work memory k) private pure {
        s.stateRoot = k.stateRoot;
        s.addressRoot = k.addressRoot;
        s.accountCount = k.accountCount;
        s.withdrawalRoot = k.withdrawalRoot;
        s.withdrawalCount = k.withdrawalCount;
    }

    /// @dev Appends the withdrawal leaf at `k.withdrawalCount` (the witness shows it empty).
    function _appendWithdrawal(
        Run memory r,
        StepWitness calldata w,
        StepContext calldata ctx,
        Work memory k,
        address to,
        uint256 token,
        uint256 amount
    ) private pure {
        uint256 i = k.withdrawalCount;
        if (sparseRoot(0, i, WITHDRAWAL_TREE_DEPTH, w.withdrawalProof, r.empties) != k.withdrawalRoot) {
            revert InvalidWithdrawalProof(i);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes32 leaf = keccak256(abi.encode(ctx.batchIndex, i, to, uint32(token), amount));
        k.withdrawalRoot = sparseRoot(leaf, i, WITHDRAWAL_TREE_DEPTH, w.withdrawalProof, r.empties);
        // forge-lint: disable-next-line(unsafe-typecast)
        k.withdrawalCount = uint32(i + 1);
    }

    /// @dev Credits `amount` of `token` to the address `to` (deposit, forced transfer): reads its
    ///      address proof, then its account (the empty leaf at `accountCount` for a new one).
    ///      False: the tree is full, or the credit overflows.
    function _creditAddress(
        Run memory r,
        StepWitness calldata w,
        Work memory k,
        address to,
        uint256 token,
        uint256 amount
    ) private view returns (bool) {
        AddressProof calldata p = _address(r, w, to, k.addressRoot);
        if (p.leaf == 0) {
            uint64 index = k.accountCount;
            if (index >= (uint256(1) << accountDepth) - 1) return false;
            AccountWitness calldata a = _empty(r, w, index, token, k.stateRoot);
            if (amount > MAX_BALANCE) return false;
            k.stateRoot = _write(r, a, index, token, to, 0, amount);
            k.addressRoot =
                sparseRoot(bytes32(uint256(index) + 1), uint160(to), ADDRESS_TREE_DEPTH, p.proof, r.empties);
            k.accountCount = index + 1;
        } else {
            uint256 index = uint256(p.leaf) - 1;
            AccountWitness calldata a = _existing(r, w, index, token, k.stateRoot);
            if (a.balance + amount > MAX_BALANCE) return false;
            k.stateRoot = _write(r, a, index, token, a.addr, a.nonce, a.balance + amount);
        }
        return true;
    }

    /// @dev Debits `amount` of `token` from the account of the address `from` (forced
    ///      operations; nonce unchanged): reads its address proof, then (if the token is known)
    ///      its account. False: no account, unknown token, or short balance.
    function _debitAddress(
        Run memory r,
        StepWitness calldata w,
        Work memory k,
        address from,
        uint256 token,
        uint256 amount
    ) private view returns (bool) {
        AddressProof calldata p = _address(r, w, from, k.addressRoot);
        if (p.leaf == 0) return false;
        if (!_known(r.s, token)) return false;
        uint256 index = uint256(p.leaf) - 1;
        AccountWitness calldata a = _existing(r, w, index, token, k.stateRoot);
        if (a.balance < amount) return false;
        k.stateRoot = _write(r, a, index, token, a.addr, a.nonce, a.balance - amount);
        return true;
    }

    // ------------------------------------------------------------------ priority operations

    /// @dev Applies (or skips) operation `queueIndex` and consumes it.
    function _applyOperation(Run memory r, StepWitness calldata w, StepContext calldata ctx) private view {
        StepState memory s = r.s;
        uint256 i = s.queueIndex;
        PriorityOp calldata op = w.op;
        bytes32 h = keccak256(abi.encode(i, op.kind, op.from, op.to, op.token, op.amount, op.timestamp));
        if (bridge.operationHash(i) != h) revert InvalidOperation(i);
        // forge-lint: disable-next-line(unsafe-typecast)
        s.queueIndex = uint64(i + 1);

        Work memory k = _work(s);
        uint256 token = op.token;
        bool applied;
        if (op.kind == 0) {
            // Deposit: the token must fit the balance tree; it becomes known.
            applied = token < (uint256(1) << tokenDepth) && _creditAddress(r, w, k, op.to, token, op.amount);
            if (applied) s.tokens |= uint256(1) << token;
        } else if (op.kind == 1) {
            applied = _debitAddress(r, w, k, op.from, token, op.amount)
                && _creditAddress(r, w, k, op.to, token, op.amount);
        } else {
            applied = _forcedWithdrawal(r, w, ctx, k, op);
        }
        if (applied) _commit(s, k);
    }

    function _forcedWithdrawal(
        Run memory r,
        StepWitness calldata w,
        StepContext calldata ctx,
        Work memory k,
        PriorityOp calldata op
    ) private view returns (bool) {
        AddressProof calldata p = _address(r, w, op.from, k.addressRoot);
        if (p.leaf == 0) return false;
        uint256 token = op.token;
        if (!_known(r.s, token)) return false;
        uint256 index = uint256(p.leaf) - 1;
        AccountWitness calldata a = _existing(r, w, index, token, k.stateRoot);
        if (a.balance < op.amount) return false;
        if (k.withdrawalCount > 0xFFFF) return false;
        k.stateRoot = _write(r, a, index, token, a.addr, a.nonce, a.balance - op.amount);
        _appendWithdrawal(r, w, ctx, k, op.to, token, op.amount);
        return true;
    }

    // ------------------------------------------------------------------ transactions

    /// @dev Applies (or skips) a decoded transaction, rules 1 to 7 of docs/rollup.md in order.
    function _applyTx(Run memory r, StepWitness calldata w, StepContext calldata ctx, Tx memory t) private view {
        StepState memory s = r.s;
        // 1. token known.
        if (!_known(s, t.token)) return;
        // 2. the sender exists.
        if (t.from >= s.accountCount) return;
        Work memory k = _work(s);
        AccountWitness calldata sender = _existing(r, w, t.from, t.token, k.stateRoot);
        // 3. nonce not exhausted, balance covers amount + fee; debit and bump the nonce.
        uint64 nonce = sender.nonce;
        if (nonce == type(uint64).max || sender.balance < t.amount + t.fee) return;
        k.stateRoot = _write(r, sender, t.from, t.token, sender.addr, nonce + 1, sender.balance - t.amount - t.fee);
        // 4.-6. the recipient, the signature, the credit.
        if (t.withdrawal) {
            if (k.withdrawalCount > 0xFFFF) return;
            if (!_signed(ctx, t, sender.addr, t.toAddress, nonce)) return;
            _appendWithdrawal(r, w, ctx, k, t.toAddress, t.token, t.amount);
        } else if (!_transferTo(r, w, ctx, k, t, sender.addr, nonce)) {
            return;
        }
        // 7. the fee account.
        if (!_creditFee(r, w, k, t)) return;
        _commit(s, k);
    }

    /// @dev Rules 4 to 6 of a transfer. False: skipped.
    function _transferTo(
        Run memory r,
        StepWitness calldata w,
        StepContext calldata ctx,
        Work memory k,
        Tx memory t,
        address from,
        uint64 nonce
    ) private view returns (bool) {
        if (t.to != NEW_ACCOUNT) {
            if (t.to >= k.accountCount) return false;
            AccountWitness calldata a = _existing(r, w, t.to, t.token, k.stateRoot);
            if (!_signed(ctx, t, from, a.addr, nonce)) return false;
            if (a.balance + t.amount > MAX_BALANCE) return false;
            k.stateRoot = _write(r, a, t.to, t.token, a.addr, a.nonce, a.balance + t.amount);
            return true;
        }
        AddressProof calldata p = _address(r, w, t.toAddress, k.addressRoot);
        if (p.leaf != 0) return false;
        uint64 index = k.accountCount;
        if (index >= (uint256(1) << accountDepth) - 1) return false;
        AccountWitness calldata e = _empty(r, w, index, t.token, k.stateRoot);
        if (!_signed(ctx, t, from, t.toAddress, nonce)) return false;
        if (t.amount > MAX_BALANCE) return false;
        k.stateRoot = _write(r, e, index, t.token, t.toAddress, 0, t.amount);
        k.addressRoot =
            sparseRoot(bytes32(uint256(index) + 1), uint160(t.toAddress), ADDRESS_TREE_DEPTH, p.proof, r.empties);
        k.accountCount = index + 1;
        return true;
    }

    /// @dev Rule 7: credits the fee to account 0. False: overflow.
    function _creditFee(Run memory r, StepWitness calldata w, Work memory k, Tx memory t) private view returns (bool) {
        AccountWitness calldata a = _existing(r, w, 0, t.token, k.stateRoot);
        if (a.balance + t.fee > MAX_BALANCE) return false;
        k.stateRoot = _write(r, a, 0, t.token, a.addr, a.nonce, a.balance + t.fee);
        return true;
    }

    /// @dev Rule 5: the EIP-712 signature of the transaction recovers to `from` with a low `s`.
    function _signed(StepContext calldata ctx, Tx memory t, address from, address to, uint64 nonce)
        private
        pure
        returns (bool)
    {
        bytes32 typeHash = t.withdrawal ? WITHDRAWAL_TYPEHASH : TRANSFER_TYPEHASH;
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes32 structHash = keccak256(abi.encode(typeHash, from, to, uint32(t.token), t.amount, t.fee, nonce));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", ctx.domainSeparator, structHash));
        uint256 s = uint256(t.vs) & ((uint256(1) << 255) - 1);
        if (s > HALF_N) return false;
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 v = uint8(27 + (uint256(t.vs) >> 255));
        address signer = ecrecover(digest, v, t.r, bytes32(s));
        return signer != address(0) && signer == from;
    }
}
