// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {ZkRollup} from "../../src/zk/ZkRollup.sol";
import {PoseidonT5} from "../../src/zk/PoseidonT5.sol";
import {PoseidonT6} from "../../src/zk/PoseidonT6.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {TestVerifier} from "./TestVerifier.sol";

/// @notice A `ZkRollup` (rollup mode unless a test deploys a validium) in the shape of the
///         checked-in `BatchVerifier` (2 priority, 2 transfer, 1 withdrawal slots; account depth 4,
///         token depth 2) with a `TestVerifier`, one registered `TestToken`, and reference
///         encodings of the public data and the commitment, written independently of the
///         contract's parsing.
abstract contract ZkRollupFixture is Test {
    ZkRollup internal zk;
    TestVerifier internal verifier;
    PoseidonT5 internal poseidon4;
    PoseidonT6 internal poseidon5;
    TestToken internal token;
    uint8 internal tokenId;

    address internal constant OPERATOR = address(0x0123);
    address internal constant GOVERNOR = address(0x60F);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA801);
    uint64 internal constant T0 = 1_700_000_000;
    uint64 internal constant DEADLINE = 1 days;
    uint64 internal constant INTERVAL = 10;
    /// @dev The priority fee of the fixture's deployments (burned by every queued operation).
    uint256 internal constant FEE = 0.001 ether;
    uint256 internal constant GENESIS = 0x1234;
    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant MASK = (1 << 253) - 1;

    // BabyJubjub public keys of ply's dev accounts 1 to 3 (`SecretKey::from_ethereum_signer`).
    uint256 internal constant PK1_X = 5618456544774103197535122940053231277277224313097999760387107875501082657605;
    uint256 internal constant PK1_Y = 18135315280134435700822670102446153223763570724878246734299086129118093515206;
    uint256 internal constant PK2_X = 9592169204679928127250680022822661374994397133379766421567589958282138659931;
    uint256 internal constant PK2_Y = 15221964639471455331244567552472519098683850238648818847031325195451366825880;
    uint256 internal constant PK3_X = 13389127223428845468632974174925534246303720788452231675350788300170431969857;
    uint256 internal constant PK3_Y = 17154476588120740054349395620115490794851076068585827327137635913738607430915;

    uint256[8] internal PROOF = [uint256(11), 12, 13, 14, 15, 16, 17, 18];

    function setUp() public virtual {
        vm.warp(T0);
        verifier = new TestVerifier();
        poseidon4 = new PoseidonT5();
        poseidon5 = new PoseidonT6();
        token = new TestToken("Test", "TST", 18);
        zk = new ZkRollup(config(new address[](0), 0, GENESIS));
        vm.prank(GOVERNOR);
        // casting to uint8 is safe because the fixture's balance tree has 4 leaves
        // forge-lint: disable-next-line(unsafe-typecast)
        tokenId = uint8(zk.registerToken(address(token)));
        vm.deal(ALICE, 100 ether);
        vm.deal(BOB, 100 ether);
        token.mint(ALICE, 1000 ether);
        vm.prank(ALICE);
        token.approve(address(zk), type(uint256).max);
        vm.label(address(zk), "ZkRollup");
        vm.label(address(verifier), "TestVerifier");
    }

    /// @dev The fixture's configuration with the given committee, threshold and genesis root.
    function config(address[] memory committee, uint8 threshold, uint256 genesis)
        internal
        view
        returns (ZkRollup.Config memory)
    {
        return ZkRollup.Config({
            verifier: address(verifier),
            poseidon4: address(poseidon4),
            poseidon5: address(poseidon5),
            operator: OPERATOR,
            genesisRoot: genesis,
            operatorKeyX: PK1_X,
            operatorKeyY: PK1_Y,
            accountDepth: 4,
            tokenDepth: 2,
            depositSlots: 2,
            transferSlots: 2,
            withdrawalSlots: 1,
            priorityDeadline: DEADLINE,
            priorityInterval: INTERVAL,
            priorityFee: FEE,
            tokenGovernor: GOVERNOR,
            committee: committee,
            threshold: threshold
        });
    }

    // ---------------------------------------------------------------- actions

    function depositEth(ZkRollup target, address from, uint128 amount) internal {
        vm.prank(from);
        target.depositEth{value: uint256(amount) + FEE}(amount, PK1_X, PK1_Y);
    }

    /// @dev Expects the verifier to be called with `PROOF` and `commitment`.
    function expectCommitment(uint256 commitment) internal {
        verifier.expectCall(
            [PROOF[0], PROOF[1]], [[PROOF[2], PROOF[3]], [PROOF[4], PROOF[5]]], [PROOF[6], PROOF[7]], commitment
        );
    }

    function submit(bytes memory onchain, bytes memory transfers, uint256 newRoot) internal {
        vm.prank(OPERATOR);
        zk.submitBatch(onchain, transfers, newRoot, PROOF);
    }

    // ---------------------------------------------------------------- reference encodings

    /// @dev A credited deposit's outcome record.
    function depositRecord() internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(1), uint128(0));
    }

    /// @dev A refused deposit's outcome record: its amount is paid back.
    function refusedRecord(uint128 amount) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(5), amount);
    }

    /// @dev A full exit's outcome record: the balance is paid out.
    function fullExitRecord(uint128 balance) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(4), balance);
    }

    function depositPadding() internal pure returns (bytes memory) {
        return new bytes(17);
    }

    function transferRecord(uint24 from, uint24 to, uint8 token_, uint24 amount, uint8 fee)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(uint8(2), from, to, token_, amount, fee);
    }

    function withdrawalRecord(uint24 from, uint8 token_, uint128 amount, uint8 fee, address to)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(uint8(3), from, token_, amount, fee, to);
    }

    function withdrawalPadding() internal pure returns (bytes memory) {
        return new bytes(42);
    }

    /// @dev The 105-byte priority record of queued operation `id`.
    function priorityRecord(ZkRollup target, uint64 id) internal view returns (bytes memory) {
        ZkRollup.PriorityOp memory op = target.priorityOp(id);
        // casting to uint24 is safe because the fixture's account tree has 16 leaves
        // forge-lint: disable-next-line(unsafe-typecast)
        return abi.encodePacked(op.kind, uint24(op.accountIndex), op.to, op.token, op.amount, op.pkX, op.pkY);
    }

    function priorityPadding() internal pure returns (bytes memory) {
        return new bytes(105);
    }

    /// @dev `data` followed by zero bytes up to `size`.
    function padTo(bytes memory data, uint256 size) internal pure returns (bytes memory) {
        return bytes.concat(data, new bytes(size - data.length));
    }

    function commitmentOf(
        ZkRollup target,
        uint256 oldRoot,
        uint256 newRoot,
        bytes memory transfersPadded,
        bytes memory priority,
        bytes memory onchain
    ) internal view returns (uint256) {
        uint256 domain = uint256(keccak256(abi.encodePacked(block.chainid, address(target)))) & MASK;
        bytes32 digest =
            sha256(abi.encodePacked(oldRoot, newRoot, domain, sha256(transfersPadded), sha256(priority), onchain));
        return uint256(digest) & MASK;
    }
}
