// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PlasmaFramework} from "./PlasmaFramework.sol";
import * as PlasmaTx from "./PlasmaTx.sol";
import * as ExitPriority from "./ExitPriority.sol";
import {PaymentExitGameBase} from "./PaymentExitGameBase.sol";

/// @title PaymentInFlightExitGame
/// @author ply
/// @notice MoreVP in-flight exits of payment transactions (docs/plasma.md, "In-flight exit"),
///         after OMG's `PaymentStartInFlightExit`, `PaymentPiggybackInFlightExit`, the three
///         IFE challenges and `PaymentProcessInFlightExit`. A transaction whose inclusion its
///         parties cannot prove (the operator withheld the block) exits: its receivers
///         piggyback its outputs, its senders its inputs; a canonical transaction pays the
///         outputs, a non-canonical one (an older competing spend of an input exists) the inputs.
/// @dev The exit id is the low 159 bits of `keccak256(txBytes)` with bit 159 set, from the
///      canonical bytes only. The priority is that of the youngest input, so an in-flight exit
///      of a transaction spending outputs of an invalid block waits behind every older output.
contract PaymentInFlightExitGame is PaymentExitGameBase {
    /// @notice Upper bound of the gas of `challengeInFlightExitNotCanonical` (the IFE bond is
    ///         this times `bondGasPrice`).
    uint256 public constant IFE_CANONICITY_CHALLENGE_GAS = 100_000;
    /// @notice Upper bound of the gas of the input-spent and output-spent challenges (the
    ///         piggyback bond is this times `bondGasPrice`).
    uint256 public constant PIGGYBACK_CHALLENGE_GAS = 90_000;

    /// @notice The bond of an in-flight exit, in wei.
    uint256 public immutable bond;
    /// @notice The bond of a piggyback, in wei.
    uint256 public immutable piggybackBond;

    /// @notice An input or output of an in-flight transaction.
    struct Item {
        bytes32 outputId; // inputs only; an output's id is outputId(txHash, index)
        address owner;
        uint64 position; // inputs only
        address token;
        uint256 amount;
    }

    /// @notice An in-flight exit.
    struct InFlightExit {
        bytes32 txHash;
        address bondOwner;
        uint64 startedAt;
        uint8 inputCount;
        uint8 outputCount;
        uint8 piggybacks; // bit i: input i; bit 4 + j: output j
        bool isCanonical;
        uint32 exitableAt;
        uint64 youngestPosition;
        uint8 queuedTokens;
        uint256 oldestCompetitor; // 0: none; type(uint256).max: one not included
        Item[4] inputs;
        Item[4] outputs;
    }

    /// @notice A challenge with a competing transaction that spends input `inputIndex`.
    struct CanonicityChallenge {
        uint160 exitId;
        uint8 inputIndex;
        bytes competingTx;
        uint8 competingInputIndex;
        bytes competingSignature;
        uint256 competingTxPos; // 0: not shown included
        bytes competingProof;
    }

    /// @notice A challenge of a piggybacked output spent after the in-flight transaction was included.
    struct OutputSpentChallenge {
        uint160 exitId;
        uint8 outputIndex;
        bytes inFlightTx;
        uint256 outputPos;
        bytes inclusionProof;
        bytes spendingTx;
        uint8 spendingInputIndex;
        bytes signature;
    }

    mapping(uint160 exitId => InFlightExit) private _exits;
    /// @notice Whether exit `exitId` sits in the queue of `token`.
    mapping(uint160 exitId => mapping(address token => bool)) public queuedFor;

    /// @notice An in-flight exit started.
    event InFlightExitStarted(address indexed starter, uint160 indexed exitId, bytes32 txHash);
    /// @notice An input (`isOutput` false) or output was piggybacked.
    event Piggybacked(uint160 indexed exitId, address indexed owner, uint8 index, bool isOutput);
    /// @notice The exit was shown non-canonical by a competitor at `position`.
    event ChallengedNotCanonical(uint160 indexed exitId, address indexed challenger, uint256 position);
    /// @notice The exit was shown canonical by its inclusion at `position`.
    event CanonicityResponded(uint160 indexed exitId, address indexed responder, uint256 position);
    /// @notice A piggyback was removed by a spend (`isOutput` as in `Piggybacked`).
    event PiggybackChallenged(uint160 indexed exitId, address indexed challenger, uint8 index, bool isOutput);
    /// @notice An input (`isOutput` false) or output was paid.
    event InFlightWithdrawn(uint160 indexed exitId, uint8 index, bool isOutput);
    /// @notice The exit was processed for its last token and removed.
    event InFlightExitFinalized(uint160 indexed exitId);

    /// @notice The input arrays do not match the transaction's inputs (or it has none).
    error InputsMismatch();
    /// @notice An in-flight exit of this transaction exists.
    error ExitExists(uint160 exitId);
    /// @notice No in-flight exit has this id.
    error ExitNotFound(uint160 exitId);
    /// @notice The input's transaction has no output at the input's index.
    error NoSuchOutput(uint256 utxoPos);
    /// @notice Per token, the outputs exceed the inputs.
    error AmountsDoNotAddUp(address token);
    /// @notice Phase 1 (the first half of the exit period) is over.
    error FirstPhaseOver(uint160 exitId);
    /// @notice The index is beyond the transaction's inputs or outputs.
    error NoSuchItem(uint8 index);
    /// @notice Only the owner of an input or output piggybacks it.
    error NotItemOwner(address caller, address owner);
    /// @notice Already piggybacked.
    error AlreadyPiggybacked(uint8 index, bool isOutput);
    /// @notice Not piggybacked (any more).
    error NotPiggybacked(uint8 index, bool isOutput);
    /// @notice The transaction given is the in-flight transaction itself.
    error SameTransaction();
    /// @notice The transaction does not spend the output in question.
    error NotSpending(uint256 position);
    /// @notice The competitor is not older than the oldest known one.
    error CompetitorNotOlder(uint256 position, uint256 oldest);
    /// @notice The bytes are not the in-flight transaction.
    error NotTheInFlightTx();
    /// @notice No competitor to respond to, or the inclusion shown is not older than it.
    error NotOlderThanCompetitor(uint256 position, uint256 oldest);
    /// @notice A transaction position must have output index 0; an output position the output's.
    error WrongPosition(uint256 position);

    /// @param framework_ The framework.
    constructor(PlasmaFramework framework_) PaymentExitGameBase(framework_) {
        uint256 price = framework_.bondGasPrice();
        bond = IFE_CANONICITY_CHALLENGE_GAS * price;
        piggybackBond = PIGGYBACK_CHALLENGE_GAS * price;
    }

    /// @notice The in-flight exit id of the transaction with hash `txHash`.
    /// @param txHash The transaction hash.
    /// @return The exit id (bit 159 set).
    function exitIdOf(bytes32 txHash) public pure returns (uint160) {
        return uint160(uint256(txHash)) | (uint160(1) << 159);
    }

    /// @notice The state of an in-flight exit (its inputs and outputs through `item`).
    /// @param exitId The exit.
    /// @return txHash The transaction's hash (zero when no exit).
    /// @return bondOwner Who gets the exit bond.
    /// @return isCanonical Whether it is canonical now.
    /// @return piggybacks The piggyback bits (input i: bit i; output j: bit 4 + j).
    /// @return exitableAt Its exitable time.
    /// @return oldestCompetitor The oldest competitor's position (0: none).
    function exitState(uint160 exitId)
        external
        view
        returns (
            bytes32 txHash,
            address bondOwner,
            bool isCanonical,
            uint8 piggybacks,
            uint32 exitableAt,
            uint256 oldestCompetitor
        )
    {
        InFlightExit storage e = _exits[exitId];
        return (e.txHash, e.bondOwner, e.isCanonical, e.piggybacks, e.exitableAt, e.oldestCompetitor);
    }

    /// @notice An input (`isOutput` false) or output of an in-flight exit.
    /// @param exitId The exit.
    /// @param index Its index.
    /// @param isOutput Output or input.
    /// @return The item.
    function item(uint160 exitId, uint8 index, bool isOutput) external view returns (Item memory) {
        return isOutput ? _exits[exitId].outputs[index % 4] : _exits[exitId].inputs[index % 4];
    }

    // ------------------------------------------------------------------ start and piggyback

    /// @notice Starts the in-flight exit of `txBytes`; send `bond`. Anyone may start it.
    /// @param txBytes The in-flight transaction, canonical, with at least one input.
    /// @param inputTxs For each input, the transaction that created it.
    /// @param inputProofs For each input, that transaction's inclusion proof.
    /// @param signatures For each input, its owner's signature of `txBytes`.
    /// @return exitId The exit id.
    function startInFlightExit(
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures
    ) external payable returns (uint160 exitId) {
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        PlasmaTx.Transaction memory t = PlasmaTx.decode(txBytes);
        uint256 n = t.inputs.length;
        if (n == 0 || inputTxs.length != n || inputProofs.length != n || signatures.length != n) {
            revert InputsMismatch();
        }
        bytes32 txHash = keccak256(txBytes);
        exitId = exitIdOf(txHash);
        InFlightExit storage e = _exits[exitId];
        if (e.startedAt != 0) revert ExitExists(exitId);

        (uint256 youngest, uint64 youngestTimestamp) = _storeInputs(e, t, inputTxs, inputProofs, signatures);
        for (uint256 j = 0; j < t.outputs.length; j++) {
            PlasmaTx.Output memory o = t.outputs[j];
            Item storage it = e.outputs[j];
            it.owner = o.owner;
            it.token = o.token;
            it.amount = o.amount;
        }
        _checkAmounts(t, e);

        e.txHash = txHash;
        e.bondOwner = msg.sender;
        e.startedAt = uint64(block.timestamp);
        // n <= 4 (PlasmaTx.decode)
        // forge-lint: disable-next-line(unsafe-typecast)
        e.inputCount = uint8(n);
        e.outputCount = uint8(t.outputs.length);
        e.isCanonical = true;
        e.exitableAt = _exitableAt(youngest / PlasmaTx.BLOCK_OFFSET, youngestTimestamp);
        // an input position is at most 2^64 - 1 (PlasmaTx.isPosition)
        // forge-lint: disable-next-line(unsafe-typecast)
        e.youngestPosition = uint64(youngest);
        // Queued at once (under its first output's token) so that its bond always comes back.
        _enqueueFor(e, exitId, t.outputs[0].token);
        emit InFlightExitStarted(msg.sender, exitId, txHash);
    }

    function _storeInputs(
        InFlightExit storage e,
        PlasmaTx.Transaction memory t,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures
    ) private returns (uint256 youngest, uint64 youngestTimestamp) {
        bytes32 d = PlasmaTx.digest(t, PlasmaTx.domainSeparator(address(framework)));
        for (uint256 i = 0; i < t.inputs.length; i++) {
            uint64 ts = _storeInput(e.inputs[i], t.inputs[i], inputTxs[i], inputProofs[i], signatures[i], d);
            if (t.inputs[i] > youngest) {
                youngest = t.inputs[i];
                youngestTimestamp = ts;
            }
        }
    }

    function _storeInput(
        Item storage it,
        uint256 pos,
        bytes memory inputTx,
        bytes memory proof,
        bytes memory sig,
        bytes32 d
    ) private returns (uint64 timestamp) {
        PlasmaTx.Transaction memory it_ = PlasmaTx.decode(inputTx);
        (, timestamp) = _verifyInclusion(inputTx, pos, proof);
        uint256 oindex = pos % PlasmaTx.TX_OFFSET;
        if (oindex >= it_.outputs.length) revert NoSuchOutput(pos);
        PlasmaTx.Output memory out = it_.outputs[oindex];
        address signer = PlasmaTx.recover(d, sig);
        if (signer != out.owner) revert WrongSigner(signer, out.owner);
        it.outputId = PlasmaTx.outputId(keccak256(inputTx), oindex);
        it.owner = out.owner;
        // an input position is at most 2^64 - 1 (PlasmaTx.isPosition)
        // forge-lint: disable-next-line(unsafe-typecast)
        it.position = uint64(pos);
        it.token = out.token;
        it.amount = out.amount;
    }

    /// @dev Per token of an output: the inputs of that token cover the outputs of that token.
    function _checkAmounts(PlasmaTx.Transaction memory t, InFlightExit storage e) private view {
        uint256 n = t.inputs.length;
        for (uint256 j = 0; j < t.outputs.length; j++) {
            address token = t.outputs[j].token;
            uint256 out;
            for (uint256 k = 0; k < t.outputs.length; k++) {
                if (t.outputs[k].token == token) out += t.outputs[k].amount;
            }
            uint256 inp;
            for (uint256 i = 0; i < n; i++) {
                if (e.inputs[i].token == token) inp += e.inputs[i].amount;
            }
            if (inp < out) revert AmountsDoNotAddUp(token);
        }
    }

    /// @notice Piggybacks input `index` (its owner only, in phase 1); send `piggybackBond`.
    /// @param exitId The exit.
    /// @param index The input.
    function piggybackInFlightExitOnInput(uint160 exitId, uint8 index) external payable {
        _piggyback(exitId, index, false);
    }

    /// @notice Piggybacks output `index` (its owner only, in phase 1); send `piggybackBond`.
    /// @param exitId The exit.
    /// @param index The output.
    function piggybackInFlightExitOnOutput(uint160 exitId, uint8 index) external payable {
        _piggyback(exitId, index, true);
    }

    function _piggyback(uint160 exitId, uint8 index, bool isOutput) private {
        InFlightExit storage e = _existing(exitId);
        // the exit period is measured in L1 time, days long: a validator's few seconds do not matter
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= e.startedAt + minExitPeriod / 2) revert FirstPhaseOver(exitId);
        if (index >= (isOutput ? e.outputCount : e.inputCount)) revert NoSuchItem(index);
        Item storage it = isOutput ? e.outputs[index] : e.inputs[index];
        if (msg.sender != it.owner) revert NotItemOwner(msg.sender, it.owner);
        uint8 bit = _bit(index, isOutput);
        if (e.piggybacks & bit != 0) revert AlreadyPiggybacked(index, isOutput);
        if (msg.value != piggybackBond) revert WrongBond(msg.value, piggybackBond);
        e.piggybacks |= bit;
        _enqueueFor(e, exitId, it.token);
        emit Piggybacked(exitId, msg.sender, index, isOutput);
    }

    function _enqueueFor(InFlightExit storage e, uint160 exitId, address token) private {
        if (queuedFor[exitId][token]) return;
        queuedFor[exitId][token] = true;
        e.queuedTokens += 1;
        framework.enqueue(token, ExitPriority.compute(e.exitableAt, e.youngestPosition, exitId));
    }

    // ------------------------------------------------------------------ challenges

    /// @notice Shows the exit non-canonical: a different transaction spends one of its inputs,
    ///         signed by that input's owner, older than any competitor known (phase 1 only).
    ///         The challenger becomes the exit bond's owner.
    /// @param c The challenge.
    function challengeInFlightExitNotCanonical(CanonicityChallenge calldata c) external {
        InFlightExit storage e = _existing(c.exitId);
        // as above
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= e.startedAt + minExitPeriod / 2) revert FirstPhaseOver(c.exitId);
        if (c.inputIndex >= e.inputCount) revert NoSuchItem(c.inputIndex);
        if (keccak256(c.competingTx) == e.txHash) revert SameTransaction();
        Item storage inp = e.inputs[c.inputIndex];
        PlasmaTx.Transaction memory ct = PlasmaTx.decode(c.competingTx);
        _requireSpends(ct, c.competingInputIndex, inp.position);
        _requireSignedBy(ct, c.competingSignature, inp.owner);
        uint256 position = type(uint256).max;
        if (c.competingTxPos != 0) {
            if (c.competingTxPos % PlasmaTx.TX_OFFSET != 0) revert WrongPosition(c.competingTxPos);
            _verifyInclusion(c.competingTx, c.competingTxPos, c.competingProof);
            position = c.competingTxPos;
        }
        uint256 oldest = e.oldestCompetitor;
        if (oldest != 0 && position >= oldest) revert CompetitorNotOlder(position, oldest);
        e.oldestCompetitor = position;
        e.isCanonical = false;
        e.bondOwner = msg.sender;
        emit ChallengedNotCanonical(c.exitId, msg.sender, position);
    }

    /// @notice Answers a canonicity challenge with the in-flight transaction's inclusion at a
    ///         position older than the oldest competitor; the responder becomes the bond's owner.
    /// @param exitId The exit.
    /// @param inFlightTx The in-flight transaction.
    /// @param txPos Its transaction position.
    /// @param proof Its inclusion proof.
    function respondToNonCanonicalChallenge(
        uint160 exitId,
        bytes calldata inFlightTx,
        uint256 txPos,
        bytes calldata proof
    ) external {
        InFlightExit storage e = _existing(exitId);
        if (keccak256(inFlightTx) != e.txHash) revert NotTheInFlightTx();
        if (txPos % PlasmaTx.TX_OFFSET != 0) revert WrongPosition(txPos);
        uint256 oldest = e.oldestCompetitor;
        if (oldest == 0 || txPos >= oldest) revert NotOlderThanCompetitor(txPos, oldest);
        _verifyInclusion(inFlightTx, txPos, proof);
        e.oldestCompetitor = txPos;
        e.isCanonical = true;
        e.bondOwner = msg.sender;
        emit CanonicityResponded(exitId, msg.sender, txPos);
    }

    /// @notice Removes a piggyback of input `inputIndex` with another transaction that spends
    ///         it, signed by its owner; the challenger takes the piggyback bond.
    /// @param exitId The exit.
    /// @param inputIndex The piggybacked input.
    /// @param spendingTx The spending transaction (not the in-flight one).
    /// @param spendingInputIndex Its input that is the piggybacked one.
    /// @param signature The input owner's signature of `spendingTx`.
    function challengeInFlightExitInputSpent(
        uint160 exitId,
        uint8 inputIndex,
        bytes calldata spendingTx,
        uint8 spendingInputIndex,
        bytes calldata signature
    ) external {
        InFlightExit storage e = _existing(exitId);
        if (inputIndex >= e.inputCount) revert NoSuchItem(inputIndex);
        uint8 bit = _bit(inputIndex, false);
        if (e.piggybacks & bit == 0) revert NotPiggybacked(inputIndex, false);
        if (keccak256(spendingTx) == e.txHash) revert SameTransaction();
        Item storage inp = e.inputs[inputIndex];
        PlasmaTx.Transaction memory st = PlasmaTx.decode(spendingTx);
        _requireSpends(st, spendingInputIndex, inp.position);
        _requireSignedBy(st, signature, inp.owner);
        e.piggybacks &= ~bit;
        emit PiggybackChallenged(exitId, msg.sender, inputIndex, false);
        _payBond(msg.sender, piggybackBond);
    }

    /// @notice Removes a piggyback of an output with the in-flight transaction's inclusion and a
    ///         transaction spending the output at its position, signed by its owner; the
    ///         challenger takes the piggyback bond.
    /// @param c The challenge.
    function challengeInFlightExitOutputSpent(OutputSpentChallenge calldata c) external {
        InFlightExit storage e = _existing(c.exitId);
        if (c.outputIndex >= e.outputCount) revert NoSuchItem(c.outputIndex);
        uint8 bit = _bit(c.outputIndex, true);
        if (e.piggybacks & bit == 0) revert NotPiggybacked(c.outputIndex, true);
        if (keccak256(c.inFlightTx) != e.txHash) revert NotTheInFlightTx();
        if (c.outputPos % PlasmaTx.TX_OFFSET != c.outputIndex) revert WrongPosition(c.outputPos);
        _verifyInclusion(c.inFlightTx, c.outputPos, c.inclusionProof);
        PlasmaTx.Transaction memory st = PlasmaTx.decode(c.spendingTx);
        _requireSpends(st, c.spendingInputIndex, c.outputPos);
        _requireSignedBy(st, c.signature, e.outputs[c.outputIndex].owner);
        e.piggybacks &= ~bit;
        emit PiggybackChallenged(c.exitId, msg.sender, c.outputIndex, true);
        _payBond(msg.sender, piggybackBond);
    }

    // ------------------------------------------------------------------ processing

    /// @notice Finalizes the exit for `token`; only the framework (docs/plasma.md, "Processing").
    /// @param exitId The exit.
    /// @param token The queue's token.
    function processExit(uint160 exitId, address token) external {
        _onlyFramework();
        InFlightExit storage e = _exits[exitId];
        if (e.startedAt == 0 || !queuedFor[exitId][token]) return;
        queuedFor[exitId][token] = false;

        if (!e.isCanonical || _anyInputFinalizedByOther(e, exitId)) {
            for (uint8 i = 0; i < e.inputCount; i++) {
                Item storage it = e.inputs[i];
                if (it.token == token && e.piggybacks & _bit(i, false) != 0) {
                    _withdraw(it.outputId, exitId, it, i, false);
                }
            }
        } else {
            for (uint8 j = 0; j < e.outputCount; j++) {
                Item storage it = e.outputs[j];
                if (it.token == token && e.piggybacks & _bit(j, true) != 0) {
                    _withdraw(PlasmaTx.outputId(e.txHash, j), exitId, it, j, true);
                }
            }
            for (uint8 i = 0; i < e.inputCount; i++) {
                framework.flagOutputFinalized(e.inputs[i].outputId, exitId);
            }
        }
        _returnPiggybackBonds(e, token);

        if (--e.queuedTokens == 0) {
            address bondOwner = e.bondOwner;
            delete _exits[exitId];
            emit InFlightExitFinalized(exitId);
            _payBond(bondOwner, bond);
        }
    }

    function _withdraw(bytes32 oid, uint160 exitId, Item storage it, uint8 index, bool isOutput) private {
        if (framework.isOutputFinalized(oid)) return;
        framework.flagOutputFinalized(oid, exitId);
        framework.payOut(it.owner, it.token, it.amount);
        emit InFlightWithdrawn(exitId, index, isOutput);
    }

    function _returnPiggybackBonds(InFlightExit storage e, address token) private {
        for (uint8 i = 0; i < 8; i++) {
            bool isOutput = i >= 4;
            uint8 index = isOutput ? i - 4 : i;
            uint8 bit = _bit(index, isOutput);
            if (e.piggybacks & bit == 0) continue;
            Item storage it = isOutput ? e.outputs[index] : e.inputs[index];
            if (it.token != token) continue;
            e.piggybacks &= ~bit;
            _payBond(it.owner, piggybackBond);
        }
    }

    function _anyInputFinalizedByOther(InFlightExit storage e, uint160 exitId) private view returns (bool) {
        for (uint256 i = 0; i < e.inputCount; i++) {
            uint160 by = framework.finalizedBy(e.inputs[i].outputId);
            if (by != 0 && by != exitId) return true;
        }
        return false;
    }

    function _existing(uint160 exitId) private view returns (InFlightExit storage e) {
        e = _exits[exitId];
        if (e.startedAt == 0) revert ExitNotFound(exitId);
    }

    function _requireSpends(PlasmaTx.Transaction memory t, uint8 inputIndex, uint256 position) private pure {
        if (inputIndex >= t.inputs.length || t.inputs[inputIndex] != position) revert NotSpending(position);
    }

    function _bit(uint8 index, bool isOutput) private pure returns (uint8) {
        return uint8(1) << (isOutput ? index + 4 : index);
    }
}
