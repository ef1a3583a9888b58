// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Bridge} from "../../src/rollup/Bridge.sol";
import {TokenRegistry} from "../../src/common/TokenRegistry.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {
    RollupFixture,
    FeeOnTransferToken,
    FalseReturningToken,
    NoReturnToken,
    ReentrantToken
} from "./RollupFixture.sol";

/// @notice `Bridge`: wiring, token registration and the deposit queue.
contract BridgeTest is RollupFixture {
    // ---------------------------------------------------------------- wiring

    function test_InitialState() public view {
        vm.assertEq(address(bridge.rollup()), address(rollup));
        vm.assertEq(bridge.deployer(), address(this));
        vm.assertEq(bridge.queueLength(), 0);
        vm.assertEq(bridge.tokenCount(), 1);
        vm.assertEq(bridge.MAX_DEPOSIT_AMOUNT(), MAX_AMOUNT);
        vm.assertEq(bridge.WITHDRAWAL_TREE_DEPTH(), 16);
        vm.assertEq(uint256(bridge.MAX_TOKEN_ID()), 255);
        vm.assertEq(uint256(bridge.maxTokens()), uint256(bridge.MAX_TOKEN_ID()));
        vm.assertEq(bridge.tokenGovernor(), address(this));
    }

    function test_InitializeOnlyOnce() public {
        vm.expectRevert(abi.encodeWithSelector(Bridge.AlreadyInitialized.selector, address(rollup)));
        bridge.initialize(rollup);
    }

    function test_InitializeOnlyByDeployer() public {
        Bridge fresh = new Bridge(address(this));
        Rollup r = new Rollup(fresh, new StepExecutor(fresh, 4, 2), config(GENESIS));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.NotDeployer.selector, ALICE, address(this)));
        fresh.initialize(r);
    }

    function test_InitializeRefusesForeignOrCodelessRollup() public {
        Bridge fresh = new Bridge(address(this));
        // `rollup` is wired to `bridge`, not to `fresh`.
        vm.expectRevert(abi.encodeWithSelector(Bridge.InvalidRollup.selector, address(rollup)));
        fresh.initialize(rollup);
        vm.expectRevert(abi.encodeWithSelector(Bridge.InvalidRollup.selector, ALICE));
        fresh.initialize(Rollup(ALICE));
    }

    function test_DepositsAndClaimsNeedInitialization() public {
        Bridge fresh = new Bridge(address(this));
        vm.deal(ALICE, 1 ether);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.NotInitialized.selector));
        fresh.depositETH{value: 1 ether}(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.NotInitialized.selector));
        fresh.claimWithdrawal(0, 0, ALICE, 0, 1, new bytes32[](16));
    }

    function test_PlainEtherTransferIsRejected() public {
        vm.deal(ALICE, 1 ether);
        vm.prank(ALICE);
        (bool ok,) = address(bridge).call{value: 1 ether}("");
        vm.assertFalse(ok);
    }

    // ---------------------------------------------------------------- tokens

    function test_RegisterTokenAssignsConsecutiveIds() public {
        vm.assertEq(uint256(tokenId), 1);
        TestToken second = new TestToken("Second", "TWO", 6);

        vm.expectEmit(address(bridge));
        emit TokenRegistry.TokenRegistered(2, address(second));
        uint32 id = bridge.registerToken(address(second)); // by the governor (this contract)

        vm.assertEq(uint256(id), 2);
        vm.assertEq(bridge.tokenCount(), 2);
        vm.assertEq(bridge.tokenAddress(1), address(token));
        vm.assertEq(bridge.tokenAddress(2), address(second));
        vm.assertEq(uint256(bridge.tokenId(address(token))), 1);
        vm.assertEq(uint256(bridge.tokenId(address(second))), 2);
        // ETH is token 0.
        vm.assertEq(bridge.tokenAddress(0), address(0));
        vm.assertEq(uint256(bridge.tokenId(address(0))), 0);
    }

    function test_RegisterTokenTwiceReverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(TokenRegistry.TokenAlreadyRegistered.selector, address(token), uint32(1))
        );
        bridge.registerToken(address(token));
    }

    function test_RegisterCodelessAddressReverts() public {
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotAContract.selector, ALICE));
        bridge.registerToken(ALICE);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotAContract.selector, address(0)));
        bridge.registerToken(address(0));
    }

    function test_UnknownTokenLookupsRevert() public {
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.UnknownToken.selector, uint32(2)));
        bridge.tokenAddress(2);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, ALICE));
        bridge.tokenId(ALICE);
    }

    // ---------------------------------------------------------------- deposits

    function test_DepositEthQueuesHashAndEvent() public {
        vm.deal(ALICE, 2 ether);
        vm.expectEmit(address(bridge));
        emit Bridge.OperationQueued(0, 0, ALICE, BOB, 0, 2 ether, uint64(T0));
        vm.prank(ALICE);
        uint256 index = bridge.depositETH{value: 2 ether}(BOB);

        vm.assertEq(index, 0);
        vm.assertEq(bridge.queueLength(), 1);
        vm.assertEq(bridge.operationHash(0), depositHashOf(0, ALICE, BOB, 0, 2 ether, T0));
        vm.assertEq(uint256(bridge.operationTimestamp(0)), T0);
        vm.assertEq(address(bridge).balance, 2 ether);
    }

    function test_DepositErc20QueuesHashAndEvent() public {
        token.mint(ALICE, 500);
        vm.startPrank(ALICE);
        token.approve(address(bridge), 500);
        vm.expectEmit(address(bridge));
        emit Bridge.OperationQueued(0, 0, ALICE, BOB, tokenId, 300, uint64(T0));
        uint256 index = bridge.depositERC20(address(token), BOB, 300);
        vm.stopPrank();

        vm.assertEq(index, 0);
        vm.assertEq(bridge.operationHash(0), depositHashOf(0, ALICE, BOB, tokenId, 300, T0));
        vm.assertEq(token.balanceOf(address(bridge)), 300);
        vm.assertEq(token.balanceOf(ALICE), 200);
    }

    function test_DepositEventLayout() public {
        vm.recordLogs();
        depositEth(ALICE, BOB, 7);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1);
        vm.assertEq(logs[0].topics.length, 3);
        vm.assertEq(logs[0].topics[0], keccak256("OperationQueued(uint256,uint8,address,address,uint32,uint256,uint64)"));
        vm.assertEq(uint256(logs[0].topics[1]), 0);
        vm.assertEq(logs[0].topics[2], bytes32(uint256(uint160(ALICE))));
        (uint8 kind, address to, uint32 id, uint256 amount, uint64 timestamp) =
            abi.decode(logs[0].data, (uint8, address, uint32, uint256, uint64));
        vm.assertEq(uint256(kind), 0);
        vm.assertEq(to, BOB);
        vm.assertEq(uint256(id), 0);
        vm.assertEq(amount, 7);
        vm.assertEq(uint256(timestamp), T0);
    }

    function test_ZeroDepositsRevert() public {
        vm.expectRevert(abi.encodeWithSelector(Bridge.ZeroAmount.selector));
        bridge.depositETH(ALICE);
        token.mint(ALICE, 1);
        vm.startPrank(ALICE);
        token.approve(address(bridge), 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.ZeroAmount.selector));
        bridge.depositERC20(address(token), ALICE, 0);
        vm.stopPrank();
    }

    function test_DepositsToZeroAddressRevert() public {
        vm.deal(ALICE, 1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.ZeroRecipient.selector));
        bridge.depositETH{value: 1}(address(0));
    }

    function test_MaxAmountIsAcceptedAndOneMoreRefused() public {
        depositEth(ALICE, ALICE, MAX_AMOUNT);
        depositToken(ALICE, ALICE, MAX_AMOUNT);
        vm.assertEq(bridge.queueLength(), 2);

        vm.deal(ALICE, MAX_AMOUNT + 1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountTooLarge.selector, MAX_AMOUNT + 1, MAX_AMOUNT));
        bridge.depositETH{value: MAX_AMOUNT + 1}(ALICE);

        token.mint(BOB, MAX_AMOUNT + 1);
        vm.startPrank(BOB);
        token.approve(address(bridge), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountTooLarge.selector, MAX_AMOUNT + 1, MAX_AMOUNT));
        bridge.depositERC20(address(token), BOB, MAX_AMOUNT + 1);
        vm.stopPrank();
    }

    function test_UnregisteredTokenDepositReverts() public {
        TestToken other = new TestToken("Other", "OTH", 18);
        other.mint(ALICE, 10);
        vm.startPrank(ALICE);
        other.approve(address(bridge), 10);
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(other)));
        bridge.depositERC20(address(other), ALICE, 10);
        // address(0) is ETH's id 0 in the registry, but never an ERC-20.
        vm.expectRevert(abi.encodeWithSelector(TokenRegistry.TokenNotRegistered.selector, address(0)));
        bridge.depositERC20(address(0), ALICE, 10);
        vm.stopPrank();
    }

    function test_DepositWithoutAllowanceReverts() public {
        token.mint(ALICE, 10);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.TransferFromFailed.selector, address(token), ALICE, 10));
        bridge.depositERC20(address(token), ALICE, 10);
    }

    function test_FeeOnTransferTokenIsRefused() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        bridge.registerToken(address(fot));
        fot.mint(ALICE, 1000);
        vm.startPrank(ALICE);
        fot.approve(address(bridge), 1000);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountMismatch.selector, address(fot), 1000, 990));
        bridge.depositERC20(address(fot), ALICE, 1000);
        vm.stopPrank();
        vm.assertEq(bridge.queueLength(), 0);
        vm.assertEq(fot.balanceOf(ALICE), 1000);
    }

    function test_FalseReturningTokenIsRefused() public {
        FalseReturningToken bad = new FalseReturningToken();
        bridge.registerToken(address(bad));
        bad.mint(ALICE, 1000);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.TransferFromFailed.selector, address(bad), ALICE, 1000));
        bridge.depositERC20(address(bad), ALICE, 1000);
        vm.assertEq(bridge.queueLength(), 0);

        // The same token, when it does transfer and return true, is accepted.
        bad.setFailing(false);
        vm.prank(ALICE);
        bridge.depositERC20(address(bad), ALICE, 1000);
        vm.assertEq(bridge.queueLength(), 1);
    }

    function test_NoReturnValueTokenIsAccepted() public {
        NoReturnToken usdt = new NoReturnToken();
        uint32 id = bridge.registerToken(address(usdt));
        usdt.mint(ALICE, 1000);
        vm.prank(ALICE);
        bridge.depositERC20(address(usdt), BOB, 400);
        vm.assertEq(bridge.operationHash(0), depositHashOf(0, ALICE, BOB, id, 400, T0));
        vm.assertEq(usdt.balanceOf(address(bridge)), 400);
    }

    function test_ReentrantTokenCannotDepositTwice() public {
        ReentrantToken evil = new ReentrantToken();
        evil.setBridge(bridge);
        bridge.registerToken(address(evil));
        evil.mint(ALICE, 1000);
        vm.prank(ALICE);
        bridge.depositERC20(address(evil), ALICE, 100);
        // The nested deposit was refused by the lock; only the outer one was queued.
        vm.assertFalse(evil.nestedSucceeded());
        vm.assertEq(evil.nestedError(), abi.encodeWithSelector(Bridge.Reentrancy.selector));
        vm.assertEq(bridge.queueLength(), 1);
        vm.assertEq(evil.balanceOf(address(bridge)), 100);
    }

    function test_DepositViewsOutOfRangeRevert() public {
        vm.expectRevert(abi.encodeWithSelector(Bridge.OperationIndexOutOfRange.selector, 0, 0));
        bridge.operationHash(0);
        depositEth(ALICE, ALICE, 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.OperationIndexOutOfRange.selector, 1, 1));
        bridge.operationTimestamp(1);
    }

    // ---------------------------------------------------------------- token governance

    /// The registry griefing of issue 10: a stranger tries to fill the 255 token ids with junk
    /// contracts so that no real token can be listed. Only the governor lists tokens.
    function test_RegistryGriefingIsRefused() public {
        address griefer = address(0x6E1EF);
        for (uint256 i = 0; i < 3; i++) {
            TestToken junk = new TestToken("Junk", "JNK", 18);
            vm.prank(griefer);
            vm.expectRevert(abi.encodeWithSelector(TokenRegistry.NotTokenGovernor.selector, griefer));
            bridge.registerToken(address(junk));
        }
        vm.assertEq(bridge.tokenCount(), 1);
        TestToken real = new TestToken("Real", "REAL", 6);
        vm.assertEq(uint256(bridge.registerToken(address(real))), 2);
    }

    function test_GovernorIsRequired() public {
        vm.expectRevert(TokenRegistry.InvalidTokenRegistry.selector);
        new Bridge(address(0));
    }

    // ---------------------------------------------------------------- forced operations

    function test_ForcedOperationsAreQueuedWithTheirKind() public {
        depositEth(ALICE, ALICE, 5);
        vm.warp(T0 + 10);
        vm.prank(ALICE);
        vm.expectEmit(address(bridge));
        emit Bridge.OperationQueued(1, 1, ALICE, BOB, 0, 3, uint64(T0 + 10));
        vm.assertEq(bridge.forceTransfer(BOB, 0, 3), 1);
        vm.prank(ALICE);
        vm.expectEmit(address(bridge));
        emit Bridge.OperationQueued(2, 2, ALICE, BOB, tokenId, 4, uint64(T0 + 10));
        vm.assertEq(bridge.forceWithdrawal(BOB, tokenId, 4), 2);
        vm.assertEq(bridge.queueLength(), 3);
        vm.assertEq(bridge.operationHash(1), opHashOf(1, 1, ALICE, BOB, 0, 3, T0 + 10));
        vm.assertEq(bridge.operationHash(2), opHashOf(2, 2, ALICE, BOB, tokenId, 4, T0 + 10));
        vm.assertEq(uint256(bridge.operationTimestamp(2)), T0 + 10);
    }

    function test_ForcedOperationsRefuseBadArguments() public {
        vm.startPrank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Bridge.ZeroRecipient.selector));
        bridge.forceTransfer(address(0), 0, 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.ZeroAmount.selector));
        bridge.forceWithdrawal(BOB, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountTooLarge.selector, MAX_AMOUNT + 1, MAX_AMOUNT));
        bridge.forceTransfer(BOB, 0, MAX_AMOUNT + 1);
        vm.expectRevert(abi.encodeWithSelector(Bridge.TokenIdOutOfRange.selector, 256, 255));
        bridge.forceWithdrawal(BOB, 256, 1);
        vm.stopPrank();
        vm.assertEq(bridge.queueLength(), 0);
    }

    // ---------------------------------------------------------------- fuzz

    /// Random deposits (ETH or the token, random parties, amounts and time steps) queue in order,
    /// each with the documented hash, its timestamp and a matching `DepositQueued`.
    function testFuzz_DepositsQueueInOrder(
        address[5] calldata froms,
        address[5] calldata tos,
        uint256[5] calldata amounts,
        bool[5] calldata isToken,
        uint32[5] calldata timeSteps
    ) public {
        uint256 ethTotal = 0;
        uint256 tokenTotal = 0;
        for (uint256 i = 0; i < 5; i++) {
            assumeOrdinary(froms[i]);
            vm.assume(tos[i] != address(0));
            uint256 amount = bound(amounts[i], 1, MAX_AMOUNT);
            vm.warp(block.timestamp + timeSteps[i]);
            uint32 id = isToken[i] ? tokenId : 0;

            // `expectEmit` looks at the next call: fund and approve first.
            if (isToken[i]) {
                token.mint(froms[i], amount);
                vm.prank(froms[i]);
                token.approve(address(bridge), amount);
            } else {
                vm.deal(froms[i], amount);
            }
            vm.expectEmit(address(bridge));
            emit Bridge.OperationQueued(i, 0, froms[i], tos[i], id, amount, uint64(block.timestamp));
            vm.prank(froms[i]);
            uint256 index = isToken[i]
                ? bridge.depositERC20(address(token), tos[i], amount)
                : bridge.depositETH{value: amount}(tos[i]);

            vm.assertEq(index, i);
            vm.assertEq(
                bridge.operationHash(i), depositHashOf(i, froms[i], tos[i], id, amount, block.timestamp), "deposit hash"
            );
            vm.assertEq(uint256(bridge.operationTimestamp(i)), block.timestamp);
            if (isToken[i]) tokenTotal += amount;
            else ethTotal += amount;
        }
        vm.assertEq(bridge.queueLength(), 5);
        vm.assertEq(address(bridge).balance, ethTotal);
        vm.assertEq(token.balanceOf(address(bridge)), tokenTotal);
    }

    /// Amounts above `MAX_DEPOSIT_AMOUNT` are refused with the exact error.
    function testFuzz_TooLargeDepositReverts(uint256 amount) public {
        amount = bound(amount, MAX_AMOUNT + 1, type(uint256).max);
        token.mint(ALICE, amount);
        vm.startPrank(ALICE);
        token.approve(address(bridge), amount);
        vm.expectRevert(abi.encodeWithSelector(Bridge.AmountTooLarge.selector, amount, MAX_AMOUNT));
        bridge.depositERC20(address(token), ALICE, amount);
        vm.stopPrank();
    }
}
