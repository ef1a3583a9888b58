// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {PlasmaFixture} from "./PlasmaFixture.sol";
import {PlasmaFramework} from "../../src/plasma/PlasmaFramework.sol";
import * as PlasmaTx from "../../src/plasma/PlasmaTx.sol";
import * as PlasmaMerkle from "../../src/plasma/PlasmaMerkle.sol";
import * as PriorityQueue from "../../src/plasma/PriorityQueue.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @dev Exposes the libraries to external calls, so that their reverts can be expected.
contract PlasmaLibHarness {
    using {PriorityQueue.insert, PriorityQueue.min, PriorityQueue.pop, PriorityQueue.size} for PriorityQueue.Heap;

    PriorityQueue.Heap private _heap;

    function decode(bytes memory b) external pure returns (PlasmaTx.Transaction memory) {
        return PlasmaTx.decode(b);
    }

    function rootFrom(bytes32 leaf, uint256 index, bytes memory proof) external pure returns (bytes32) {
        return PlasmaMerkle.rootFrom(leaf, index, proof);
    }

    function recover(bytes32 h, bytes memory sig) external pure returns (address) {
        return PlasmaTx.recover(h, sig);
    }

    function insert(uint256 v) external {
        _heap.insert(v);
    }

    function pop() external returns (uint256) {
        return _heap.pop();
    }
}

/// @notice The transaction codec, the block tree, the queue, blocks and deposits.
contract PlasmaFrameworkTest is PlasmaFixture {
    PlasmaLibHarness internal lib;

    function setUp() public override {
        super.setUp();
        lib = new PlasmaLibHarness();
    }

    function _sample() internal view returns (bytes memory) {
        uint256[] memory ins = new uint256[](2);
        ins[0] = _pos(1000, 3, 1);
        ins[1] = _pos(2, 0, 0);
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](2);
        outs[0] = _out(bob, address(0), 5 ether);
        outs[1] = _out(alice, address(token), 7);
        return _tx(ins, outs, bytes32(uint256(42)));
    }

    function _expectMalformed(bytes memory b, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(PlasmaTx.MalformedTransaction.selector, reason));
        lib.decode(b);
    }

    function _setWord(bytes memory b, uint256 i, uint256 w) internal pure returns (bytes memory c) {
        c = bytes.concat(b);
        assembly ("memory-safe") {
            mstore(add(add(c, 32), mul(i, 32)), w)
        }
    }

    // ---------------------------------------------------------------- codec

    function test_DecodeRoundTrip() public view {
        bytes memory b = _sample();
        vm.assertEq(b.length, 32 * (7 + 2 + 6));
        PlasmaTx.Transaction memory t = lib.decode(b);
        vm.assertEq(keccak256(abi.encode(t)), keccak256(b));
        vm.assertEq(t.inputs[0], _pos(1000, 3, 1));
        vm.assertEq(t.outputs[1].token, address(token));
    }

    function test_DecodeRefusesNonCanonical() public {
        bytes memory b = _sample();
        _expectMalformed(bytes.concat(b, bytes32(0)), "length"); // trailing word
        _expectMalformed(bytes.concat(b, hex"00"), "length"); // trailing byte
        _expectMalformed(new bytes(0), "length");
        _expectMalformed(_setWord(b, 0, 0x40), "tuple offset");
        _expectMalformed(_setWord(b, 1, 2), "version");
        _expectMalformed(_setWord(b, 1, 0x101), "version"); // dirty upper bits of the uint8
        _expectMalformed(_setWord(b, 2, 0xa0), "inputs offset");
        _expectMalformed(_setWord(b, 3, 0x100), "outputs offset");
        _expectMalformed(_setWord(b, 5, 5), "too many inputs");
        _expectMalformed(_setWord(b, 6, 0), "input position");
        _expectMalformed(_setWord(b, 6, _pos(1000, 3, 4)), "input position"); // oindex 4
        _expectMalformed(_setWord(b, 6, _pos(1000, 65_536, 0)), "input position"); // txindex 2^16
        _expectMalformed(_setWord(b, 6, 1 << 64), "input position");
        _expectMalformed(_setWord(b, 7, _pos(1000, 3, 1)), "duplicate input");
        _expectMalformed(_setWord(b, 8, 3), "length");
        _expectMalformed(_setWord(b, 8, 5), "output count");
        _expectMalformed(_setWord(b, 8, 0), "output count");
        _expectMalformed(_setWord(b, 9, uint256(uint160(bob)) | (1 << 160)), "address"); // dirty owner
        _expectMalformed(_setWord(b, 10, 1 << 200), "address"); // dirty token
        _expectMalformed(_setWord(b, 9, 0), "zero owner");
        _expectMalformed(_setWord(b, 11, 0), "zero amount");
    }

    function test_DecodeRefusesTooManyOutputs() public {
        uint256[] memory ins = new uint256[](1);
        ins[0] = _pos(1, 0, 0);
        PlasmaTx.Output[] memory outs = new PlasmaTx.Output[](5);
        for (uint256 i = 0; i < 5; i++) {
            outs[i] = _out(bob, address(0), 1);
        }
        _expectMalformed(_tx(ins, outs, 0), "output count");
    }

    function testFuzz_DecodeNeverAcceptsAnotherEncoding(uint256 word, uint256 value) public view {
        bytes memory b = _sample();
        word = bound(word, 0, b.length / 32 - 1);
        bytes memory c = _setWord(b, word, value);
        vm.assume(keccak256(c) != keccak256(b));
        try lib.decode(c) returns (PlasmaTx.Transaction memory t) {
            // accepted: then it is the canonical encoding of what it decodes to
            vm.assertEq(keccak256(abi.encode(t)), keccak256(c));
        } catch (bytes memory err) {
            vm.assertEq(bytes4(err), PlasmaTx.MalformedTransaction.selector);
        }
    }

    function test_RecoverRefusesMalformedSignatures() public {
        bytes32 h = keccak256("m");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_KEY, h);
        vm.assertEq(lib.recover(h, abi.encodePacked(r, s, v)), alice);
        vm.expectRevert(PlasmaTx.MalformedSignature.selector);
        lib.recover(h, abi.encodePacked(r, s)); // 64 bytes
        vm.expectRevert(PlasmaTx.MalformedSignature.selector);
        lib.recover(h, abi.encodePacked(r, s, uint8(v - 27))); // v 0/1
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        vm.expectRevert(PlasmaTx.MalformedSignature.selector);
        lib.recover(h, abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27))); // high s
    }

    // ---------------------------------------------------------------- tree and queue

    function test_MerkleProofs() public view {
        bytes32[] memory leaves = new bytes32[](5);
        for (uint256 i = 0; i < 5; i++) {
            leaves[i] = keccak256(abi.encode(i));
        }
        for (uint256 i = 0; i < 5; i++) {
            (bytes32 root, bytes memory proof) = _tree(leaves, i);
            vm.assertEq(lib.rootFrom(leaves[i], i, proof), root);
            vm.assertNotEq(lib.rootFrom(leaves[i], i ^ 1, proof), root);
        }
    }

    function test_MerkleRefusesMalformedProofs() public {
        vm.expectRevert(abi.encodeWithSelector(PlasmaMerkle.MalformedProof.selector, 511));
        lib.rootFrom(bytes32(uint256(1)), 0, new bytes(511));
        vm.expectRevert(abi.encodeWithSelector(PlasmaMerkle.MalformedProof.selector, 544));
        lib.rootFrom(bytes32(uint256(1)), 0, new bytes(544));
        vm.expectRevert(abi.encodeWithSelector(PlasmaMerkle.MalformedProof.selector, 0));
        lib.rootFrom(bytes32(uint256(1)), 0, "");
    }

    function testFuzz_QueuePopsInOrder(uint256 seed) public {
        uint256 n = 40;
        for (uint256 i = 0; i < n; i++) {
            lib.insert(uint256(keccak256(abi.encode(seed, i))) % 1000);
        }
        uint256 last;
        for (uint256 i = 0; i < n; i++) {
            uint256 v = lib.pop();
            vm.assertLe(last, v);
            last = v;
        }
        vm.expectRevert(PriorityQueue.QueueIsEmpty.selector);
        lib.pop();
    }

    // ---------------------------------------------------------------- wiring and blocks

    function test_ConstructorRefusesZeroParameters() public {
        vm.expectRevert(PlasmaFramework.InvalidFrameworkParameters.selector);
        new PlasmaFramework(address(0), address(this), PERIOD, GAS_PRICE);
        vm.expectRevert(PlasmaFramework.InvalidFrameworkParameters.selector);
        new PlasmaFramework(OPERATOR, address(this), 0, GAS_PRICE);
        vm.expectRevert(PlasmaFramework.InvalidFrameworkParameters.selector);
        new PlasmaFramework(OPERATOR, address(this), PERIOD, 0);
    }

    function test_ExitGamesBoundOnce() public {
        vm.expectRevert(PlasmaFramework.ExitGamesNotBindable.selector);
        framework.initExitGames(address(1), address(2));
        PlasmaFramework fresh = new PlasmaFramework(OPERATOR, address(this), PERIOD, GAS_PRICE);
        vm.prank(alice);
        vm.expectRevert(PlasmaFramework.ExitGamesNotBindable.selector);
        fresh.initExitGames(address(1), address(2));
        vm.expectRevert(PlasmaFramework.ExitGamesNotBindable.selector);
        fresh.initExitGames(address(1), address(1));
    }

    function test_OnlyGamesTouchTheVaultAndQueue() public {
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.NotExitGame.selector, address(this)));
        framework.enqueue(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.NotExitGame.selector, address(this)));
        framework.payOut(alice, address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.NotExitGame.selector, address(this)));
        framework.flagOutputFinalized(bytes32(uint256(1)), 1);
        // a game, outside processing
        vm.prank(address(seg));
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.NotExitGame.selector, address(seg)));
        framework.payOut(alice, address(0), 1);
    }

    function test_SubmitBlock() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.NotOperator.selector, alice));
        framework.submitBlock(bytes32(uint256(1)));
        vm.prank(OPERATOR);
        vm.expectRevert(PlasmaFramework.ZeroRoot.selector);
        framework.submitBlock(bytes32(0));
        vm.prank(OPERATOR);
        vm.assertEq(framework.submitBlock(bytes32(uint256(7))), 1000);
        (bytes32 root, uint64 ts) = framework.blocks(1000);
        vm.assertEq(root, bytes32(uint256(7)));
        vm.assertEq(uint256(ts), block.timestamp);
        vm.assertEq(framework.nextChildBlock(), 2000);
    }

    function test_DepositETHMakesADepositBlock() public {
        (uint256 pos, bytes memory txBytes) = _depositETH(alice, 1 ether);
        vm.assertEq(pos, _pos(1, 0, 0));
        (bytes32 root,) = framework.blocks(1);
        (bytes32 expected,) = _tree(_leaves(_one(txBytes)), 0);
        vm.assertEq(root, expected);
        vm.assertEq(address(framework).balance, 1 ether);
        PlasmaTx.Transaction memory t = lib.decode(txBytes);
        vm.assertEq(t.inputs.length, 0);
        vm.assertEq(t.metadata, bytes32(uint256(1)));
        // two equal deposits are two outputs with distinct transaction hashes
        (, bytes memory second) = _depositETH(alice, 1 ether);
        vm.assertNotEq(keccak256(second), keccak256(txBytes));
    }

    function test_DepositRefusals() public {
        vm.expectRevert(PlasmaFramework.InvalidDeposit.selector);
        framework.depositETH{value: 0}(alice);
        vm.deal(address(this), 1 ether);
        vm.expectRevert(PlasmaFramework.InvalidDeposit.selector);
        framework.depositETH{value: 1}(address(0));
        TestToken other = new TestToken("Other", "OTH", 18);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(other)));
        framework.depositERC20(address(other), 1, alice);
        vm.expectRevert(PlasmaFramework.NotAnERC20.selector);
        framework.depositERC20(address(0), 1, alice);
        // without an allowance, transferFrom fails
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.TokenCallFailed.selector, address(token)));
        framework.depositERC20(address(token), 1, alice);
    }

    function test_DepositERC20() public {
        token.mint(address(this), 100);
        token.approve(address(framework), 100);
        uint256 blknum = framework.depositERC20(address(token), 60, bob);
        vm.assertEq(token.balanceOf(address(framework)), 60);
        (bytes32 root,) = framework.blocks(blknum);
        (bytes32 expected,) = _tree(_leaves(_one(framework.depositTx(bob, address(token), 60, blknum))), 0);
        vm.assertEq(root, expected);
    }

    function test_DepositBlocksFullUntilNextOperatorBlock() public {
        vm.deal(address(this), 1000 ether);
        for (uint256 i = 1; i < 1000; i++) {
            vm.assertEq(framework.depositETH{value: 1}(alice), i);
        }
        vm.expectRevert(PlasmaFramework.DepositBlocksFull.selector);
        framework.depositETH{value: 1}(alice);
        vm.prank(OPERATOR);
        framework.submitBlock(bytes32(uint256(1)));
        vm.assertEq(framework.depositETH{value: 1}(alice), 1001);
    }

    function test_ProcessEmptyQueueRefused() public {
        vm.expectRevert(abi.encodeWithSelector(PlasmaFramework.QueueEmpty.selector, address(0)));
        framework.processExits(address(0), 10);
    }
}
