// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {TokenNetwork} from "../../src/channels/TokenNetwork.sol";
import {SecretRegistry} from "../../src/channels/SecretRegistry.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice The cheatcodes the channel tests need beyond `test/utils/Vm.sol` (same address).
interface ChannelsVm {
    function chainId(uint256 newChainId) external;
    function expectPartialRevert(bytes4 selector) external;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function toString(bytes32 value) external pure returns (string memory);
    function toString(uint256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
}

/// @notice Receives nothing: every call with value reverts (a recipient that refuses payouts).
contract RefusingRecipient {
    receive() external payable {
        revert("refused");
    }
}

/// @notice On receiving ETH, tries to re-enter the network (settle the same channel again and
///         withdraw), then burns the rest of its gas: the network must defer the payout, never
///         revert or pay twice.
contract ReentrantRecipient {
    TokenNetwork internal immutable network;
    bytes32 internal immutable channelId;

    constructor(TokenNetwork network_, bytes32 channelId_) {
        network = network_;
        channelId = channelId_;
    }

    receive() external payable {
        try network.settleChannel(channelId) {} catch {}
        try network.withdraw(address(0), address(this)) {} catch {}
        while (true) {}
    }
}

/// @notice The deployment and signing helpers of the channel tests: a secret registry, a token
///         network (settle timeouts 5..1000 blocks), a listed test token, and two participants
///         with known keys.
abstract contract ChannelsFixture is Test {
    ChannelsVm internal constant cvm = ChannelsVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint64 internal constant TIMEOUT = 10;
    address internal constant GOVERNOR = address(0x6060);
    address internal constant WATCHTOWER = address(0x7777);

    SecretRegistry internal registry;
    TokenNetwork internal network;
    TestToken internal token;

    uint256 internal aliceKey = 0xA11CE;
    uint256 internal bobKey = 0xB0B;
    uint256 internal eveKey = 0xEEE;
    address internal alice;
    address internal bob;
    address internal eve;
    /// @dev participant1 and participant2 of the alice-bob channels, and their keys.
    address internal p1;
    address internal p2;
    uint256 internal key1;
    uint256 internal key2;

    function setUp() public virtual {
        registry = new SecretRegistry();
        network = new TokenNetwork(registry, GOVERNOR, 5, 1000);
        token = new TestToken("Test", "TST", 18);
        vm.prank(GOVERNOR);
        network.registerToken(address(token));
        alice = vm.addr(aliceKey);
        bob = vm.addr(bobKey);
        eve = vm.addr(eveKey);
        (p1, key1, p2, key2) = alice < bob ? (alice, aliceKey, bob, bobKey) : (bob, bobKey, alice, aliceKey);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        token.mint(alice, 1000 ether);
        token.mint(bob, 1000 ether);
        vm.prank(alice);
        token.approve(address(network), type(uint256).max);
        vm.prank(bob);
        token.approve(address(network), type(uint256).max);
    }

    // ---- helpers ----

    function sig(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        return sigFor(network, key, structHash);
    }

    function sigFor(TokenNetwork net, uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, net.digestOf(structHash));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The same signature with `s` replaced by `n - s` and `v` flipped: it recovers to the
    ///      same signer, but is not canonical.
    function highS(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v = uint8(signature[64]);
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
        }
        return abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function generationOf(bytes32 id) internal view returns (uint64 generation) {
        (,,, generation,,,,) = network.getChannel(id);
    }

    function stateOf(bytes32 id) internal view returns (uint8 state) {
        (,,,, state,,,) = network.getChannel(id);
    }

    function settleBlockOf(bytes32 id) internal view returns (uint64 settleBlock) {
        (,,,,,, settleBlock,) = network.getChannel(id);
    }

    /// @dev Opens the alice-bob ETH channel and funds it with `d1` (participant1) and `d2`.
    function openEth(uint256 d1, uint256 d2) internal returns (bytes32 id) {
        vm.prank(alice);
        (id,) = network.openChannel(bob, address(0), TIMEOUT);
        if (d1 != 0) {
            vm.prank(p1);
            network.setTotalDeposit{value: d1}(id, p1, d1);
        }
        if (d2 != 0) {
            vm.prank(p2);
            network.setTotalDeposit{value: d2}(id, p2, d2);
        }
    }

    /// @dev Opens the alice-bob token channel and funds it with `d1` (participant1) and `d2`.
    function openToken(uint256 d1, uint256 d2) internal returns (bytes32 id) {
        vm.prank(bob);
        (id,) = network.openChannel(alice, address(token), TIMEOUT);
        if (d1 != 0) {
            vm.prank(p1);
            network.setTotalDeposit(id, p1, d1);
        }
        if (d2 != 0) {
            vm.prank(p2);
            network.setTotalDeposit(id, p2, d2);
        }
    }

    function bpHash(bytes32 id, uint64 nonce, uint256 transferred, uint256 locked, bytes32 root)
        internal
        view
        returns (bytes32)
    {
        return network.balanceProofHash(id, generationOf(id), nonce, transferred, locked, root);
    }

    /// @dev `closer` closes with the partner's proof signed by `partnerKey` (nonce 0: none).
    function close(bytes32 id, address closer, uint256 partnerKey, uint64 nonce, uint256 t, uint256 l, bytes32 root)
        internal
    {
        bytes memory signature = nonce == 0 ? bytes("") : sig(partnerKey, bpHash(id, nonce, t, l, root));
        vm.prank(closer);
        network.closeChannel(id, nonce, t, l, root, signature);
    }

    /// @dev The closer's signature of its proof and the non-closer's authorisation of it.
    function updateSigs(
        bytes32 id,
        uint256 closerKey,
        uint256 nonClosingKey,
        uint64 nonce,
        uint256 t,
        uint256 l,
        bytes32 root
    ) internal view returns (bytes memory closingSig, bytes memory nonClosingSig) {
        bytes32 h = bpHash(id, nonce, t, l, root);
        closingSig = sig(closerKey, h);
        nonClosingSig = sig(nonClosingKey, network.nonClosingUpdateHash(id, generationOf(id), h));
    }

    /// @dev Submits the closer's proof (signed by `closerKey`) with the non-closer's
    ///      authorisation (signed by `nonClosingKey`), from `caller`.
    function update(
        bytes32 id,
        address caller,
        address closer,
        uint256 closerKey,
        address nonClosing,
        uint256 nonClosingKey,
        uint64 nonce,
        uint256 t,
        uint256 l,
        bytes32 root
    ) internal {
        (bytes memory closingSig, bytes memory nonClosingSig) =
            updateSigs(id, closerKey, nonClosingKey, nonce, t, l, root);
        vm.prank(caller);
        network.updateNonClosingBalanceProof(id, closer, nonClosing, nonce, t, l, root, closingSig, nonClosingSig);
    }

    function coopClose(bytes32 id, uint256 b1, uint256 b2) internal {
        bytes32 h = network.cooperativeCloseHash(id, generationOf(id), b1, b2);
        network.cooperativeClose(id, b1, b2, sig(key1, h), sig(key2, h));
    }

    /// @dev One encoded lock.
    function lockOf(uint256 amount, uint256 expiration, bytes32 secret) internal pure returns (bytes memory) {
        return abi.encode(amount, expiration, keccak256(abi.encode(secret)));
    }
}
