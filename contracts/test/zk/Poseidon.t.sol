// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Test} from "../utils/Test.sol";
import {PoseidonT3} from "../../src/zk/PoseidonT3.sol";
import {PoseidonT6} from "../../src/zk/PoseidonT6.sol";

/// @notice The generated Poseidon contracts against pinned vectors: circomlib's
///         poseidon([1, 2]), and poseidon([1, 2, 3, 4, 5]) as `ply_zk::poseidon` computes it
///         (printed by `cargo test -p ply-zk --test it -- --ignored write_poseidon_contracts`).
///         Random inputs are checked against the Rust implementation in
///         crates/zk/tests/it/poseidon_sol.rs.
contract PoseidonTest is Test {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    PoseidonT3 internal t3;
    PoseidonT6 internal t6;

    function setUp() public {
        t3 = new PoseidonT3();
        t6 = new PoseidonT6();
    }

    function test_CircomlibVectorOfTwo() public {
        uint256 digest = t3.hash([uint256(1), 2]);
        Vm.Gas memory gas = vm.lastCallGas();
        vm.assertEq(digest, 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a);
        emit log_named_uint("PoseidonT3.hash gas (callee frame)", gas.gasTotalUsed);
    }

    function test_VectorOfFive() public {
        uint256 digest = t6.hash([uint256(1), 2, 3, 4, 5]);
        Vm.Gas memory gas = vm.lastCallGas();
        vm.assertEq(digest, 0x0dab9449e4a1398a15224c0b15a49d598b2174d305a316c918125f8feeb123c0);
        emit log_named_uint("PoseidonT6.hash gas (callee frame)", gas.gasTotalUsed);
    }

    function test_InputCount() public view {
        vm.assertEq(t3.INPUTS(), 2);
        vm.assertEq(t6.INPUTS(), 5);
    }

    function test_InputsOutsideTheFieldRevert() public {
        vm.expectRevert(abi.encodeWithSelector(PoseidonT3.InputNotInField.selector, 1));
        t3.hash([uint256(1), SCALAR_MODULUS]);
        vm.expectRevert(abi.encodeWithSelector(PoseidonT6.InputNotInField.selector, 0));
        t6.hash([type(uint256).max, 0, 0, 0, 0]);
        // The largest field element is accepted.
        t3.hash([SCALAR_MODULUS - 1, SCALAR_MODULUS - 1]);
    }

    function testFuzz_DigestsAreFieldElements(uint256 a, uint256 b) public view {
        a = bound(a, 0, SCALAR_MODULUS - 1);
        b = bound(b, 0, SCALAR_MODULUS - 1);
        vm.assertLe(t3.hash([a, b]), SCALAR_MODULUS - 1);
    }
}
