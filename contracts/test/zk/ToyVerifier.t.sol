// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {ToyVerifier} from "../../src/zk/ToyVerifier.sol";

/// @notice Tests for the generated `ToyVerifier` (the toy circuit x^3 + x + 5 = y of ply-zk's
///         Groth16 tests, dev setup with seed 42) with a proof pinned from a Rust run: x = 3,
///         y = 35, proving randomness seeded with 7 (see crates/zk/tests/it/groth16.rs).
contract ToyVerifierTest is Test {
    ToyVerifier internal verifier;

    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant BASE_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;

    uint256[2] internal a = [
        19207249903996708860435588711721573010215050803387993330835552239054387541732,
        7513081225334850416965443940095420475195329140684331255176609383548349753654
    ];
    uint256[2][2] internal b = [
        [
            20154087855981780657905823110614053858330179191709686070731565677251802827279,
            14791557792710493690933027297534394072695931614480289963687809919444192664615
        ],
        [
            3848905328974584602421051022054117957513379570726693924660310497441259428947,
            9489566962144075506914926378556185350966584725162326902331192874653449714455
        ]
    ];
    uint256[2] internal c = [
        17110471155406519884310412297378788807980652465447517182031222398482173235927,
        17598297357607312428626211061170864835928011658526935975663701522784152138933
    ];
    uint256[1] internal input = [uint256(35)];

    function setUp() public {
        verifier = new ToyVerifier();
    }

    function testPinnedProofVerifies() public view {
        vm.assertEq(verifier.PUBLIC_INPUTS(), 1);
        vm.assertTrue(verifier.verifyProof(a, b, c, input), "the pinned proof verifies");
    }

    function testWrongPublicInputIsFalse() public view {
        vm.assertFalse(verifier.verifyProof(a, b, c, [uint256(36)]));
        vm.assertFalse(verifier.verifyProof(a, b, c, [uint256(0)]));
    }

    function testTamperedProofIsFalse() public view {
        uint256[2] memory a2 = a;
        a2[0] += 1;
        vm.assertFalse(verifier.verifyProof(a2, b, c, input));

        uint256[2][2] memory b2 = b;
        b2[1][1] += 1;
        vm.assertFalse(verifier.verifyProof(a, b2, c, input));

        // G2 coordinates in the wrong order (real part first).
        uint256[2][2] memory b3 = [[b[0][1], b[0][0]], [b[1][1], b[1][0]]];
        vm.assertFalse(verifier.verifyProof(a, b3, c, input));

        uint256[2] memory c2 = c;
        c2[1] += 1;
        vm.assertFalse(verifier.verifyProof(a, b, c2, input));

        // -A: a point on the curve, but the wrong one.
        uint256[2] memory negA = [a[0], BASE_MODULUS - a[1]];
        vm.assertFalse(verifier.verifyProof(negA, b, c, input));

        // Swapped A and C.
        vm.assertFalse(verifier.verifyProof(c, b, a, input));
    }

    function testInputOutsideTheFieldReverts() public {
        // 35 + r is congruent to 35: accepting it would make proofs malleable.
        vm.expectRevert(abi.encodeWithSelector(ToyVerifier.PublicInputNotInField.selector, uint256(0)));
        verifier.verifyProof(a, b, c, [SCALAR_MODULUS + 35]);
    }

    function testNonCanonicalCoordinateReverts() public {
        uint256[2] memory c2 = [c[0] + BASE_MODULUS, c[1]];
        vm.expectRevert(ToyVerifier.ProofCoordinateNotInField.selector);
        verifier.verifyProof(a, b, c2, input);
    }

    function testVerificationGas() public view {
        (uint256[2] memory a_, uint256[2][2] memory b_, uint256[2] memory c_, uint256[1] memory input_) =
            (a, b, c, input);
        uint256 before = gasleft();
        bool ok = verifier.verifyProof(a_, b_, c_, input_);
        uint256 used = before - gasleft();
        vm.assertTrue(ok);
        // The call alone (no transaction base cost or calldata): ecPairing of 4 pairs is 181,000,
        // ecMul 6,000 and ecAdd 150 per public input, and a cold call to the verifier 2,600.
        vm.assertTrue(used < 200_000, "verification under 200k gas (call only)");
    }
}
