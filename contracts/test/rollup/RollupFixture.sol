// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {Bridge} from "../../src/rollup/Bridge.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice A deployed, wired Bridge + Rollup with one registered `TestToken`, and helpers shared
///         by the rollup tests: a reference sparse Merkle tree (written independently of the
///         contracts' verifier) and the reference hashes of docs/rollup.md.
abstract contract RollupFixture is Test {
    Bridge internal bridge;
    Rollup internal rollup;
    StepExecutor internal executor;
    TestToken internal token;
    uint32 internal tokenId;

    address internal constant SEQUENCER = address(0x5E0);
    address internal constant PROPOSER = address(0x9809);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    uint256 internal constant BOND = 1 ether;
    uint256 internal constant CHALLENGER_BOND = 0.5 ether;
    uint64 internal constant CLOCK = 3.5 days;
    uint64 internal constant SEQUENCER_TIMEOUT = 1 days;
    uint256 internal constant ACCOUNT_DEPTH = 4;
    uint256 internal constant TOKEN_DEPTH = 2;
    bytes32 internal constant GENESIS = keccak256("genesis state commitment");
    uint64 internal constant WINDOW = 7 days;
    uint64 internal constant DEADLINE = 1 days;
    uint64 internal constant L2_CHAIN_ID = 901;
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant MAX_AMOUNT = type(uint128).max;
    uint256 internal constant DEPTH = 16;

    function setUp() public virtual {
        vm.warp(T0);
        bridge = new Bridge(address(this)); // the test contract is the token governor
        executor = new StepExecutor(bridge, ACCOUNT_DEPTH, TOKEN_DEPTH);
        rollup = new Rollup(bridge, executor, config(GENESIS));
        bridge.initialize(rollup);
        token = new TestToken("Test", "TST", 18);
        tokenId = bridge.registerToken(address(token));
        vm.deal(PROPOSER, 1000 ether);
        vm.label(address(bridge), "Bridge");
        vm.label(address(rollup), "Rollup");
        vm.label(address(token), "TestToken");
    }

    function config(bytes32 genesis) internal pure returns (Rollup.Config memory) {
        return Rollup.Config({
            sequencer: SEQUENCER,
            proposerBond: BOND,
            challengerBond: CHALLENGER_BOND,
            challengeWindow: WINDOW,
            clockDuration: CLOCK,
            inclusionDeadline: DEADLINE,
            sequencerTimeout: SEQUENCER_TIMEOUT,
            l2ChainId: L2_CHAIN_ID,
            genesisStateCommitment: genesis
        });
    }

    // ---------------------------------------------------------------- reference hashes

    function depositHashOf(uint256 index, address from, address to, uint32 tokenId_, uint256 amount, uint256 timestamp)
        internal
        pure
        returns (bytes32)
    {
        return opHashOf(index, 0, from, to, tokenId_, amount, timestamp);
    }

    function opHashOf(
        uint256 index,
        uint8 kind,
        address from,
        address to,
        uint32 tokenId_,
        uint256 amount,
        uint256 timestamp
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(index, kind, from, to, tokenId_, amount, uint64(timestamp)));
    }

    /// @dev The reference data root: chunks of 1,024 bytes, zero leaves up to a power of two,
    ///      written independently of `BatchData.sol` (recursive, from the leaf list).
    function dataRootOf(bytes memory data) internal pure returns (bytes32) {
        uint256 chunks = (data.length + 1023) / 1024;
        if (chunks == 0) return bytes32(0);
        uint256 width = 1;
        while (width < chunks) width *= 2;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < chunks; i++) {
            level[i] = keccak256(slice(data, i * 1024, i == chunks - 1 ? data.length - i * 1024 : 1024));
        }
        while (width > 1) {
            width /= 2;
            for (uint256 i = 0; i < width; i++) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    function slice(bytes memory data, uint256 start, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i = 0; i < length; i++) {
            out[i] = data[start + i];
        }
    }

    function batchHashOf(uint256 batchIndex, uint256 prevCount, uint256 newCount, bytes memory data)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(batchIndex, prevCount, newCount, dataRootOf(data), data.length));
    }

    function withdrawalLeafOf(uint256 batchIndex, uint256 leafIndex, address to, uint32 tokenId_, uint256 amount)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(batchIndex, leafIndex, to, tokenId_, amount));
    }

    // ---------------------------------------------------------------- reference sparse tree

    /// @dev `empty[l]`: the root of an empty subtree of height `l`.
    function emptyNode(uint256 level) internal pure returns (bytes32 node) {
        for (uint256 l = 0; l < level; l++) {
            node = keccak256(abi.encodePacked(node, node));
        }
    }

    /// @dev Node `index` at height `level` of the depth-16 tree holding `leaves[i]` at `positions[i]`
    ///      (positions distinct) and empty leaves elsewhere.
    function nodeAt(uint256[] memory positions, bytes32[] memory leaves, uint256 level, uint256 index)
        internal
        pure
        returns (bytes32)
    {
        uint256 first = index << level;
        uint256 end = (index + 1) << level;
        bool any = false;
        for (uint256 i = 0; i < positions.length; i++) {
            if (positions[i] >= first && positions[i] < end) {
                if (level == 0) return leaves[i];
                any = true;
                break;
            }
        }
        if (!any) return emptyNode(level);
        return keccak256(
            abi.encodePacked(
                nodeAt(positions, leaves, level - 1, 2 * index), nodeAt(positions, leaves, level - 1, 2 * index + 1)
            )
        );
    }

    function treeRoot(uint256[] memory positions, bytes32[] memory leaves) internal pure returns (bytes32) {
        return nodeAt(positions, leaves, DEPTH, 0);
    }

    /// @dev The siblings of `position` from the leaf level up.
    function treeProof(uint256[] memory positions, bytes32[] memory leaves, uint256 position)
        internal
        pure
        returns (bytes32[] memory proof)
    {
        proof = new bytes32[](DEPTH);
        for (uint256 l = 0; l < DEPTH; l++) {
            proof[l] = nodeAt(positions, leaves, l, (position >> l) ^ 1);
        }
    }

    // ---------------------------------------------------------------- actions

    function depositEth(address from, address to, uint256 amount) internal returns (uint256 index) {
        vm.deal(from, amount);
        vm.prank(from);
        index = bridge.depositETH{value: amount}(to);
    }

    function depositToken(address from, address to, uint256 amount) internal returns (uint256 index) {
        token.mint(from, amount);
        vm.startPrank(from);
        token.approve(address(bridge), amount);
        index = bridge.depositERC20(address(token), to, amount);
        vm.stopPrank();
    }

    function appendBatch(uint256 newDepositCount, bytes memory data) internal returns (uint256) {
        vm.prank(SEQUENCER);
        return rollup.appendBatch(newDepositCount, data);
    }

    function propose(uint256 batchIndex, bytes32 stateCommitment, bytes32 withdrawalRoot) internal {
        vm.prank(PROPOSER);
        rollup.proposeOutput{value: BOND}(batchIndex, stateCommitment, withdrawalRoot);
    }

    /// @dev Appends a batch consuming every queued deposit, proposes its output with
    ///      `withdrawalRoot` and lets the challenge window pass. Returns the batch index.
    function finalizeBatchWithRoot(bytes32 withdrawalRoot) internal returns (uint256 batchIndex) {
        batchIndex = appendBatch(bridge.queueLength(), hex"01");
        propose(batchIndex, keccak256(abi.encode("state", batchIndex)), withdrawalRoot);
        vm.warp(block.timestamp + WINDOW);
    }

    /// @dev Accounts the fuzzer may pick that are not plain accounts.
    function assumeOrdinary(address who) internal view {
        vm.assume(who != address(0) && who != address(vm) && who != address(this));
        vm.assume(who != address(bridge) && who != address(rollup) && who != address(token));
        vm.assume(uint160(who) > 0x100); // precompiles
        vm.assume(who.code.length == 0);
    }
}

/// @notice Takes 1% of every transfer as a fee (the recipient gets 99%).
contract FeeOnTransferToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return _move(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        allowance[from][msg.sender] -= amount;
        return _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private returns (bool) {
        balanceOf[from] -= amount;
        balanceOf[to] += amount - amount / 100;
        return true;
    }
}

/// @notice Returns false instead of reverting, and moves nothing, when `failing` is set.
contract FalseReturningToken {
    mapping(address => uint256) public balanceOf;
    bool public failing = true;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function setFailing(bool value) external {
        failing = value;
    }

    function approve(address, uint256) external pure returns (bool) {
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        if (failing) return false;
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (failing) return false;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}

/// @notice An old-style token (like USDT) whose `transfer`/`transferFrom` return nothing.
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function approve(address, uint256) external {}

    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external {
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}

/// @notice Re-enters the bridge from `transferFrom` (a malicious token): tries a second deposit,
///         records how the bridge refused it, then completes the transfer normally.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    Bridge public bridge;
    bytes public nestedError;
    bool public nestedSucceeded;

    function setBridge(Bridge bridge_) external {
        bridge = bridge_;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        try bridge.depositERC20(address(this), from, amount) {
            nestedSucceeded = true;
        } catch (bytes memory err) {
            nestedError = err;
        }
        return true;
    }
}

/// @notice An L1 recipient that re-enters `claimWithdrawal` with the same claim when paid ETH.
contract ReentrantRecipient {
    Bridge internal bridge;
    bytes internal claim;

    constructor(Bridge bridge_) {
        bridge = bridge_;
    }

    function setClaim(bytes calldata call) external {
        claim = call;
    }

    receive() external payable {
        (bool ok, bytes memory ret) = address(bridge).call(claim);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @notice An L1 recipient that refuses ETH.
contract RefusingRecipient {
    receive() external payable {
        revert("no");
    }
}
