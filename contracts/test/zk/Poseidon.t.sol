// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Test} from "../utils/Test.sol";
import {PoseidonT5} from "../../src/zk/PoseidonT5.sol";
import {PoseidonT6} from "../../src/zk/PoseidonT6.sol";

/// @notice The generated Poseidon contracts against pinned vectors: circomlib's
///         poseidon([1, 2, 3, 4]), and poseidon([1, 2, 3, 4, 5]) as `ply_zk::poseidon` computes it
///         (printed by `cargo test -p ply-zk --test it -- --ignored write_poseidon_contracts`).
///         Random inputs are checked against the Rust implementation in
///         crates/zk/tests/it/poseidon_sol.rs.
contract PoseidonTest is Test {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    PoseidonT5 internal t5;
    PoseidonT6 internal t6;

    function setUp() public {
        t5 = new PoseidonT5();
        t6 = new PoseidonT6();
    }

    function test_CircomlibVectorOfFour() public {
        uint256 digest = t5.hash([uint256(1), 2, 3, 4]);
        Vm.Gas memory gas = vm.lastCallGas();
        vm.assertEq(digest, 0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465);
        emit log_named_uint("PoseidonT5.hash gas (callee frame)", gas.gasTotalUsed);
    }

    function test_VectorOfFive() public {
        uint256 digest = t6.hash([uint256(1), 2, 3, 4, 5]);
        Vm.Gas memory gas = vm.lastCallGas();
        vm.assertEq(digest, 0x0dab9449e4a1398a15224c0b15a49d598b2174d305a316c918125f8feeb123c0);
        emit log_named_uint("PoseidonT6.hash gas (callee frame)", gas.gasTotalUsed);
    }

    function test_InputCount() public view {
        vm.assertEq(t5.INPUTS(), 4);
        vm.assertEq(t6.INPUTS(), 5);
    }

    function test_InputsOutsideTheFieldRevert() public {
        vm.expectRevert(abi.encodeWithSelector(PoseidonT5.InputNotInField.selector, 3));
        t5.hash([uint256(1), 2, 3, SCALAR_MODULUS]);
        vm.expectRevert(abi.encodeWithSelector(PoseidonT6.InputNotInField.selector, 0));
        t6.hash([type(uint256).max, 0, 0, 0, 0]);
        // The largest field element is accepted.
        t5.hash([SCALAR_MODULUS - 1, SCALAR_MODULUS - 1, SCALAR_MODULUS - 1, SCALAR_MODULUS - 1]);
    }

    function testFuzz_DigestsAreFieldElements(uint256 a, uint256 b) public view {
        a = bound(a, 0, SCALAR_MODULUS - 1);
        b = bound(b, 0, SCALAR_MODULUS - 1);
        vm.assertLe(t5.hash([a, b, a, b]), SCALAR_MODULUS - 1);
    }
}
