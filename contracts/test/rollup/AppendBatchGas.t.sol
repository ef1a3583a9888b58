// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {RollupFixture} from "./RollupFixture.sol";

/// @notice The L1 gas of `appendBatch` for a batch of 1,000 transfers (79,000 bytes of data),
///         logged with `forge test -vv`:
///
///         - the execution gas (what the Rollup frame uses: storage, the bridge calls, hashing
///           the data), measured with `vm.lastCallGas()`;
///         - the transaction's calldata gas as Prague charges it, computed here: the standard
///           intrinsic gas `21000 + 4 * zero + 16 * nonzero` (EIP-2028), and the EIP-7623 floor
///           `21000 + 10 * (zero + 4 * nonzero)`; a transaction pays
///           `max(standard + execution, floor)`.
///
///         The batch data is pseudo-random (incompressible, almost no zero bytes): the worst
///         case for calldata cost. The rollup is in its steady state: earlier batches exist and
///         deposits remain queued after this batch, so the forced-inclusion check reads the
///         bridge twice.
contract AppendBatchGasTest is RollupFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant TRANSFERS = 1000;
    uint256 internal constant BYTES_PER_TRANSFER = 79;
    /// @dev The budget this batch must stay within, per transfer.
    uint256 internal constant MAX_GAS_PER_TRANSFER = 3200;

    function setUp() public override {
        super.setUp();
        appendBatch(0, hex"00");
        propose(0, bytes32(uint256(1)), bytes32(0)); // an earlier output: its counters are non-zero
        for (uint256 i = 0; i < 20; i++) {
            depositEth(ALICE, BOB, 1 ether);
        }
        appendBatch(5, hex"01"); // another earlier batch
        propose(1, bytes32(uint256(2)), bytes32(0));
    }

    function test_AppendBatchGas1000Transfers() public {
        bytes memory data = pseudoRandomBytes(0x706c79, TRANSFERS * BYTES_PER_TRANSFER);
        uint256 newQueueCount = 15; // consumes 10 deposits, leaves 5 queued (checked for age)

        vm.prank(SEQUENCER);
        uint256 batchIndex = rollup.appendBatch(newQueueCount, data);
        Vm.Gas memory gas = vm.lastCallGas();
        vm.assertEq(batchIndex, 2);
        vm.assertEq(rollup.batchHash(2), batchHashOf(2, 5, 15, data));

        // The transaction's calldata, as a sequencer would send it.
        bytes memory calldata_ = abi.encodeCall(Rollup.appendBatch, (newQueueCount, data));
        uint256 zeros = 0;
        for (uint256 i = 0; i < calldata_.length; i++) {
            if (calldata_[i] == 0) zeros++;
        }
        uint256 nonzeros = calldata_.length - zeros;
        uint256 execution = gas.gasTotalUsed;
        uint256 standard = 21_000 + 4 * zeros + 16 * nonzeros;
        uint256 floor = 21_000 + 10 * (zeros + 4 * nonzeros);
        uint256 total = standard + execution > floor ? standard + execution : floor;

        emit log_named_uint("batch data bytes", data.length);
        emit log_named_uint("tx calldata bytes", calldata_.length);
        emit log_named_uint("tx calldata zero bytes", zeros);
        emit log_named_uint("tx calldata nonzero bytes", nonzeros);
        emit log_named_uint("execution gas (Rollup frame)", execution);
        emit log_named_uint("intrinsic gas, standard (21000 + 4z + 16nz)", standard);
        emit log_named_uint("calldata floor gas, EIP-7623 (21000 + 10(z + 4nz))", floor);
        emit log_named_uint("tx gas = max(standard + execution, floor)", total);
        emit log_named_uint("tx gas per transfer", total / TRANSFERS);
        emit log_named_uint("execution gas per transfer", execution / TRANSFERS);

        // The batch's output: its own transaction (with a warm proposer and a fresh slot, as in
        // steady state the output of each new batch is).
        bytes memory proposal = abi.encodeCall(Rollup.proposeOutput, (batchIndex, keccak256("c"), keccak256("w")));
        vm.prank(PROPOSER);
        rollup.proposeOutput{value: BOND}(batchIndex, keccak256("c"), keccak256("w"));
        uint256 outputExecution = vm.lastCallGas().gasTotalUsed;
        uint256 outputZeros = 0;
        for (uint256 i = 0; i < proposal.length; i++) {
            if (proposal[i] == 0) outputZeros++;
        }
        uint256 outputTx = 21_000 + 4 * outputZeros + 16 * (proposal.length - outputZeros) + outputExecution;
        emit log_named_uint("proposeOutput tx gas", outputTx);

        emit log_named_uint("append + output in separate transactions, gas per transfer", (total + outputTx) / TRANSFERS);


        // Execution is small next to the calldata: the floor is what the transaction pays.
        vm.assertLe(standard + execution, floor, "execution should hide under the calldata floor");
    }

    /// The same batch appended and proposed in one transaction (`appendBatchAndPropose`): the
    /// output's execution hides under the calldata floor. This is the figure the budget is for.
    function test_AppendAndProposeGas1000Transfers() public {
        bytes memory data = pseudoRandomBytes(0x706c79, TRANSFERS * BYTES_PER_TRANSFER);
        vm.deal(SEQUENCER, BOND);
        vm.prank(SEQUENCER);
        rollup.appendBatchAndPropose{value: BOND}(15, data, keccak256("c"), keccak256("w"));
        uint256 execution = vm.lastCallGas().gasTotalUsed;
        vm.assertEq(rollup.outputCount(), 3);
        bytes memory calldata_ = abi.encodeCall(Rollup.appendBatchAndPropose, (15, data, keccak256("c"), keccak256("w")));
        uint256 zeros = 0;
        for (uint256 i = 0; i < calldata_.length; i++) {
            if (calldata_[i] == 0) zeros++;
        }
        uint256 standard = 21_000 + 4 * zeros + 16 * (calldata_.length - zeros) + execution;
        uint256 floor = 21_000 + 10 * (zeros + 4 * (calldata_.length - zeros));
        uint256 total = standard > floor ? standard : floor;
        emit log_named_uint("appendBatchAndPropose execution gas", execution);
        emit log_named_uint("appendBatchAndPropose tx gas", total);
        emit log_named_uint("append + output in one transaction, gas per transfer", total / TRANSFERS);
        vm.assertLe(total, MAX_GAS_PER_TRANSFER * TRANSFERS, "append + output over budget");
    }
}
