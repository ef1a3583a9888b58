// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PlasmaFramework} from "./PlasmaFramework.sol";
import * as PlasmaTx from "./PlasmaTx.sol";
import * as ExitPriority from "./ExitPriority.sol";
import {PaymentExitGameBase} from "./PaymentExitGameBase.sol";

/// @title PaymentStandardExitGame
/// @author ply
/// @notice Standard exits of payment outputs (docs/plasma.md, "Standard exit"), after OMG's
///         `PaymentStartStandardExit`, `PaymentChallengeStandardExit` and
///         `PaymentProcessStandardExit`: the owner of an included output exits it with a bond;
///         anyone holding the owner's signature of a transaction spending it takes the bond and
///         ends the exit.
/// @dev The exit id is the low 159 bits of the output id `keccak256(abi.encode(txHash, oindex))`,
///      from the canonical transaction bytes only: no proof or encoding choice can give one
///      output two exits.
contract PaymentStandardExitGame is PaymentExitGameBase {
    /// @notice Upper bound of the gas of `challengeStandardExit`; the bond is this times
    ///         `bondGasPrice` (a forge test fails when a challenge costs more).
    uint256 public constant STANDARD_EXIT_CHALLENGE_GAS = 80_000;

    /// @notice The bond of a standard exit, in wei.
    uint256 public immutable bond;

    /// @notice A standard exit in progress.
    struct StandardExit {
        address owner;
        uint64 position;
        address token;
        uint256 amount;
        bytes32 outputId;
    }

    /// @notice The exits in progress by id.
    mapping(uint160 exitId => StandardExit) public exits;
    /// @notice Exits ended by a challenge: their output is proven spent (its owner signed a
    ///         spend), so it never exits again (a restarted exit could otherwise ride the old
    ///         queue entry and skip its exit period).
    mapping(uint160 exitId => bool) public challenged;

    /// @notice A standard exit started.
    /// @param owner The output's owner.
    /// @param exitId The exit.
    /// @param utxoPos The output's position.
    /// @param token The token.
    /// @param amount The amount.
    event ExitStarted(address indexed owner, uint160 indexed exitId, uint256 utxoPos, address token, uint256 amount);
    /// @notice A standard exit was challenged with a spend of its output.
    /// @param exitId The exit.
    /// @param challenger Who took the bond.
    event ExitChallenged(uint160 indexed exitId, address indexed challenger);
    /// @notice A standard exit was finalized.
    /// @param exitId The exit.
    /// @param paid False when the output had already been paid by an in-flight exit.
    event ExitFinalized(uint160 indexed exitId, bool paid);

    /// @notice The output index is beyond the transaction's outputs.
    error NoSuchOutput(uint256 utxoPos);
    /// @notice Only an output's owner starts its standard exit.
    error NotOutputOwner(address caller, address owner);
    /// @notice This output has an exit in progress.
    error ExitExists(uint160 exitId);
    /// @notice This output's exit was challenged: it is spent.
    error OutputSpent(uint160 exitId);
    /// @notice This output was paid already.
    error OutputFinalized(bytes32 outputId);
    /// @notice No exit in progress has this id.
    error ExitNotFound(uint160 exitId);
    /// @notice The challenging transaction's input is not the exited output.
    error NotSpendingExitedOutput(uint256 input, uint256 utxoPos);

    /// @param framework_ The framework.
    constructor(PlasmaFramework framework_) PaymentExitGameBase(framework_) {
        bond = STANDARD_EXIT_CHALLENGE_GAS * framework_.bondGasPrice();
    }

    /// @notice The standard exit id of output `oindex` of the transaction with hash `txHash`.
    /// @param txHash The transaction hash.
    /// @param oindex The output index.
    /// @return The exit id (bit 159 clear).
    function exitIdOf(bytes32 txHash, uint256 oindex) public pure returns (uint160) {
        return uint160(uint256(PlasmaTx.outputId(txHash, oindex))) & ((uint160(1) << 159) - 1);
    }

    /// @notice Starts the standard exit of the caller's output at `utxoPos`; send `bond`.
    /// @param utxoPos The output's position.
    /// @param txBytes Its transaction, canonical.
    /// @param proof The transaction's inclusion proof (512 bytes).
    /// @return exitId The exit's id.
    function startStandardExit(uint256 utxoPos, bytes calldata txBytes, bytes calldata proof)
        external
        payable
        returns (uint160 exitId)
    {
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        PlasmaTx.Transaction memory t = PlasmaTx.decode(txBytes);
        (uint256 blknum, uint64 timestamp) = _verifyInclusion(txBytes, utxoPos, proof);
        uint32 exitableAt = _exitableAt(blknum, timestamp);
        StandardExit memory e;
        (exitId, e) = _record(t, keccak256(txBytes), utxoPos);
        // _verifyInclusion checked utxoPos <= 2^64 - 1
        // forge-lint: disable-next-line(unsafe-typecast)
        framework.enqueue(e.token, ExitPriority.compute(exitableAt, uint64(utxoPos), exitId));
        emit ExitStarted(e.owner, exitId, utxoPos, e.token, e.amount);
    }

    function _record(PlasmaTx.Transaction memory t, bytes32 txHash, uint256 utxoPos)
        private
        returns (uint160 exitId, StandardExit memory e)
    {
        uint256 oindex = utxoPos % PlasmaTx.TX_OFFSET;
        if (oindex >= t.outputs.length) revert NoSuchOutput(utxoPos);
        PlasmaTx.Output memory out = t.outputs[oindex];
        if (msg.sender != out.owner) revert NotOutputOwner(msg.sender, out.owner);
        bytes32 oid = PlasmaTx.outputId(txHash, oindex);
        exitId = exitIdOf(txHash, oindex);
        if (exits[exitId].owner != address(0)) revert ExitExists(exitId);
        if (challenged[exitId]) revert OutputSpent(exitId);
        if (framework.isOutputFinalized(oid)) revert OutputFinalized(oid);
        // _verifyInclusion checked utxoPos <= 2^64 - 1
        // forge-lint: disable-next-line(unsafe-typecast)
        e = StandardExit(out.owner, uint64(utxoPos), out.token, out.amount, oid);
        exits[exitId] = e;
    }

    /// @notice Challenges a standard exit with a transaction spending its output, signed by its
    ///         owner (it need not be included anywhere). The challenger takes the bond.
    /// @param exitId The exit.
    /// @param spendingTx The spending transaction, canonical.
    /// @param inputIndex The input of `spendingTx` that is the exited output.
    /// @param signature The exit owner's signature of `spendingTx`.
    function challengeStandardExit(
        uint160 exitId,
        bytes calldata spendingTx,
        uint256 inputIndex,
        bytes calldata signature
    ) external {
        StandardExit memory e = exits[exitId];
        if (e.owner == address(0)) revert ExitNotFound(exitId);
        PlasmaTx.Transaction memory t = PlasmaTx.decode(spendingTx);
        uint256 input = inputIndex < t.inputs.length ? t.inputs[inputIndex] : 0;
        if (input != e.position) revert NotSpendingExitedOutput(input, e.position);
        _requireSignedBy(t, signature, e.owner);
        delete exits[exitId];
        challenged[exitId] = true;
        emit ExitChallenged(exitId, msg.sender);
        _payBond(msg.sender, bond);
    }

    /// @notice Finalizes an exit the framework popped; only the framework.
    /// @param exitId The exit.
    /// @param token The queue's token.
    function processExit(uint160 exitId, address token) external {
        _onlyFramework();
        StandardExit memory e = exits[exitId];
        if (e.owner == address(0) || e.token != token) return; // challenged
        delete exits[exitId];
        bool paid = !framework.isOutputFinalized(e.outputId);
        if (paid) {
            framework.flagOutputFinalized(e.outputId, exitId);
            framework.payOut(e.owner, e.token, e.amount);
        }
        emit ExitFinalized(exitId, paid);
        _payBond(e.owner, bond);
    }
}
