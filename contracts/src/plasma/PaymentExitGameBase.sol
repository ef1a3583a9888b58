// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PlasmaFramework} from "./PlasmaFramework.sol";
import * as PlasmaTx from "./PlasmaTx.sol";
import * as PlasmaMerkle from "./PlasmaMerkle.sol";

/// @title PaymentExitGameBase
/// @author ply
/// @notice What both payment exit games share: the framework they are bound to, inclusion and
///         signature checks, exitable times, and bond payments that cannot be blocked.
/// @dev Bonds are held by the games, deposits by the framework: a bug in bond accounting cannot
///      touch the vault.
abstract contract PaymentExitGameBase {
    /// @notice Gas forwarded with a bond payment; a recipient that needs more is credited.
    uint256 public constant BOND_PAYMENT_GAS = 50_000;

    /// @notice The framework this game exits from.
    PlasmaFramework public immutable framework;
    /// @notice The framework's minimum exit period.
    uint256 public immutable minExitPeriod;

    /// @notice Bonds whose payment failed, claimable with `withdrawBond`.
    mapping(address owner => uint256) public pendingBonds;

    /// @notice A bond was paid.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @param credited True when the transfer failed and `pendingBonds` was credited.
    event BondPaid(address indexed to, uint256 amount, bool credited);

    /// @notice Only the framework calls this.
    error NotFramework(address caller);
    /// @notice `msg.value` is not the bond.
    /// @param sent What was sent.
    /// @param bond The bond.
    error WrongBond(uint256 sent, uint256 bond);
    /// @notice No block has this number.
    /// @param blknum The number.
    error UnknownBlock(uint256 blknum);
    /// @notice The transaction is not at this position of its block under the proof.
    /// @param txPos The transaction position.
    error NotIncluded(uint256 txPos);
    /// @notice A signature is not the owner's.
    /// @param signer Who signed.
    /// @param owner Who should have.
    error WrongSigner(address signer, address owner);
    /// @notice Nothing pending for the caller.
    error NothingPending();

    /// @param framework_ The framework.
    constructor(PlasmaFramework framework_) {
        framework = framework_;
        minExitPeriod = framework_.minExitPeriod();
    }

    /// @notice Withdraws bonds whose payment failed.
    function withdrawBond() external {
        uint256 amount = pendingBonds[msg.sender];
        if (amount == 0) revert NothingPending();
        pendingBonds[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert NothingPending();
    }

    /// @dev Checks that `txBytes` is the leaf at `pos`'s transaction index of `pos`'s block.
    ///      Returns the block's number and timestamp.
    function _verifyInclusion(bytes memory txBytes, uint256 pos, bytes memory proof)
        internal
        view
        returns (uint256 blknum, uint64 timestamp)
    {
        uint256 txindex;
        (blknum, txindex,) = PlasmaTx.splitPosition(pos);
        bytes32 root;
        (root, timestamp) = framework.blocks(blknum);
        if (root == bytes32(0)) revert UnknownBlock(blknum);
        if (framework.isDeposit(blknum) && txindex != 0) revert NotIncluded(pos - pos % PlasmaTx.TX_OFFSET);
        if (PlasmaMerkle.rootFrom(keccak256(txBytes), txindex, proof) != root) {
            revert NotIncluded(pos - pos % PlasmaTx.TX_OFFSET);
        }
    }

    /// @dev `exitableAt` of an output in block `blknum` submitted at `timestamp`.
    function _exitableAt(uint256 blknum, uint64 timestamp) internal view returns (uint32) {
        uint256 soon = block.timestamp + minExitPeriod;
        // Unix time fits 32 bits until 2106 (docs/plasma.md)
        // forge-lint: disable-next-line(unsafe-typecast)
        if (framework.isDeposit(blknum)) return uint32(soon);
        uint256 late = uint256(timestamp) + 2 * minExitPeriod;
        return uint32(late > soon ? late : soon);
    }

    /// @dev Reverts with `WrongSigner` unless `sig` is `owner`'s signature of `t`.
    function _requireSignedBy(PlasmaTx.Transaction memory t, bytes memory sig, address owner) internal view {
        address signer = PlasmaTx.recover(PlasmaTx.digest(t, PlasmaTx.domainSeparator(address(framework))), sig);
        if (signer != owner) revert WrongSigner(signer, owner);
    }

    /// @dev Pays a bond; a failed transfer is credited to `pendingBonds`.
    function _payBond(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount, gas: BOND_PAYMENT_GAS}("");
        if (!ok) pendingBonds[to] += amount;
        emit BondPaid(to, amount, !ok);
    }

    /// @dev Reverts unless the caller is the framework.
    function _onlyFramework() internal view {
        if (msg.sender != address(framework)) revert NotFramework(msg.sender);
    }
}
