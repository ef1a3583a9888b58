// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {Checkpoint, Withdrawal, ValidatorSetRotation} from "../../src/sidechain/SidechainMessages.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice The cheatcodes the sidechain tests need beyond `test/utils/Vm.sol` (same address).
interface SidechainVm {
    function chainId(uint256 newChainId) external;
    function toString(bytes32 value) external pure returns (string memory);
    function toString(uint256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
}

/// @notice The deployment, tree and signing helpers of the sidechain bridge tests: nine validator
///         keys (equal weights), three guardians (quorum 2), a listed test token, a checkpoint
///         interval of 10 blocks and a withdrawal delay of one day.
abstract contract SidechainFixture is Test {
    SidechainVm internal constant svm = SidechainVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint64 internal constant SIDECHAIN_ID = 9_701;
    uint64 internal constant INTERVAL = 10;
    uint64 internal constant DELAY = 1 days;
    uint32 internal constant THRESHOLD = 6_667;
    address internal constant GOVERNOR = address(0x6060);
    uint256 internal constant DEPTH = 16;

    SidechainBridge internal bridge;
    TestToken internal token;

    /// @dev The nine validator keys, sorted by address.
    uint256[] internal keys;
    /// @dev Their addresses, ascending.
    address[] internal addrs;
    /// @dev The guardians (quorum 2).
    address[] internal guardianList;

    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public virtual {
        for (uint256 i = 0; i < 9; ++i) {
            keys.push(0x5EC0DE + i);
        }
        sortKeys(keys);
        for (uint256 i = 0; i < 9; ++i) {
            addrs.push(vm.addr(keys[i]));
        }
        guardianList.push(address(0x6A1));
        guardianList.push(address(0x6A2));
        guardianList.push(address(0x6A3));
        bridge = deploy(4);
        token = new TestToken("Test", "TST", 18);
        vm.prank(GOVERNOR);
        bridge.registerToken(address(token));
        vm.deal(alice, 1_000 ether);
        token.mint(alice, 1_000 ether);
        vm.prank(alice);
        token.approve(address(bridge), type(uint256).max);
    }

    // ---- deployment ----

    /// @dev A config with the first `n` validators (weight 1 each).
    function config(uint256 n) internal view returns (SidechainBridge.Config memory c) {
        address[] memory vs = new address[](n);
        uint64[] memory ws = new uint64[](n);
        for (uint256 i = 0; i < n; ++i) {
            vs[i] = addrs[i];
            ws[i] = 1;
        }
        c = SidechainBridge.Config({
            sidechainId: SIDECHAIN_ID,
            checkpointInterval: INTERVAL,
            tokenGovernor: GOVERNOR,
            validators: vs,
            weights: ws,
            thresholdNumerator: THRESHOLD,
            guardians: guardianList,
            guardianQuorum: 2,
            withdrawalDelay: DELAY
        });
    }

    function deploy(uint256 n) internal returns (SidechainBridge) {
        return new SidechainBridge(config(n));
    }

    /// @dev Insertion sort of keys by their addresses.
    function sortKeys(uint256[] storage ks) internal {
        for (uint256 i = 1; i < ks.length; ++i) {
            uint256 k = ks[i];
            address a = vm.addr(k);
            uint256 j = i;
            while (j > 0 && vm.addr(ks[j - 1]) > a) {
                ks[j] = ks[j - 1];
                --j;
            }
            ks[j] = k;
        }
    }

    /// @dev The keys at positions `idx` (of the sorted nine).
    function pick(uint256[] memory idx) internal view returns (uint256[] memory out) {
        out = new uint256[](idx.length);
        for (uint256 i = 0; i < idx.length; ++i) {
            out[i] = keys[idx[i]];
        }
    }

    /// @dev The first `n` sorted keys.
    function firstKeys(uint256 n) internal view returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = keys[i];
        }
    }

    function idx3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory out) {
        out = new uint256[](3);
        out[0] = a;
        out[1] = b;
        out[2] = c;
    }

    // ---- signing ----

    /// @dev Signatures of `digest` by `ks`, in the given order, concatenated.
    function signAll(uint256[] memory ks, bytes32 digest) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < ks.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(ks[i], digest);
            out = bytes.concat(out, abi.encodePacked(r, s, v));
        }
    }

    /// @dev The same signature with `s` replaced by `n - s` and `v` flipped: the same signer,
    ///      not canonical.
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

    // ---- checkpoints ----

    /// @dev Checkpoint `number` (ranges of `INTERVAL` blocks from block 1) with the given root.
    function checkpointOf(SidechainBridge b, uint64 number, bytes32 root) internal view returns (Checkpoint memory) {
        return Checkpoint({
            sidechainId: SIDECHAIN_ID,
            number: number,
            startBlock: (number - 1) * INTERVAL + 1,
            endBlock: number * INTERVAL,
            endBlockHash: keccak256(abi.encode("block", number * INTERVAL)),
            stateRoot: keccak256(abi.encode("state", number * INTERVAL)),
            withdrawalsRoot: root,
            epoch: b.epoch()
        });
    }

    /// @dev Submits `cp` to `b` signed by `ks`.
    function submit(SidechainBridge b, Checkpoint memory cp, uint256[] memory ks) internal {
        b.submitCheckpoint(cp, signAll(ks, cpDigest(b, cp)));
    }

    /// @dev The EIP-712 domain separator of bridge `b` on this chain, computed here.
    function separatorOf(address b) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes("PlySidechainBridge")),
                keccak256(bytes("1")),
                block.chainid,
                b
            )
        );
    }

    function checkpointStructHash(Checkpoint memory c) internal pure returns (bytes32) {
        bytes32 typeHash = keccak256(
            "Checkpoint(uint64 sidechainId,uint64 number,uint64 startBlock,uint64 endBlock,bytes32 endBlockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)"
        );
        return keccak256(
            abi.encode(
                typeHash,
                c.sidechainId,
                c.number,
                c.startBlock,
                c.endBlock,
                c.endBlockHash,
                c.stateRoot,
                c.withdrawalsRoot,
                c.epoch
            )
        );
    }

    function rotationStructHash(ValidatorSetRotation memory r) internal pure returns (bytes32) {
        bytes32 typeHash = keccak256(
            "ValidatorSetRotation(uint64 sidechainId,uint64 epoch,address[] validators,uint64[] weights,uint32 thresholdNumerator)"
        );
        bytes memory vs;
        for (uint256 i = 0; i < r.validators.length; ++i) {
            vs = bytes.concat(vs, bytes32(uint256(uint160(r.validators[i]))));
        }
        bytes memory ws;
        for (uint256 i = 0; i < r.weights.length; ++i) {
            ws = bytes.concat(ws, bytes32(uint256(r.weights[i])));
        }
        return keccak256(
            abi.encode(typeHash, r.sidechainId, r.epoch, keccak256(vs), keccak256(ws), r.thresholdNumerator)
        );
    }

    function eip712(bytes32 separator, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes2(0x1901), separator, structHash));
    }

    /// @dev The digest of checkpoint `c` for bridge `b`, computed here (no call to `b`, so it can
    ///      be used between `vm.expectRevert` and the call expected to revert).
    function cpDigest(SidechainBridge b, Checkpoint memory c) internal view returns (bytes32) {
        return eip712(separatorOf(address(b)), checkpointStructHash(c));
    }

    /// @dev The digest of rotation `r` for bridge `b`, computed here.
    function rotDigest(SidechainBridge b, ValidatorSetRotation memory r) internal view returns (bytes32) {
        return eip712(separatorOf(address(b)), rotationStructHash(r));
    }

    // ---- withdrawals tree ----

    function withdrawal(uint64 cp, uint64 index, address to, address tok, uint256 amount)
        internal
        pure
        returns (Withdrawal memory)
    {
        return Withdrawal({
            sidechainId: SIDECHAIN_ID,
            checkpointNumber: cp,
            index: index,
            recipient: to,
            token: tok,
            amount: amount,
            burnTxHash: keccak256(abi.encode("burn", cp, index))
        });
    }

    /// @dev The leaf, computed here from the type string (independently of the contract).
    function leafOf(Withdrawal memory w) internal pure returns (bytes32) {
        bytes32 typeHash = keccak256(
            "Withdrawal(uint64 sidechainId,uint64 checkpointNumber,uint64 index,address recipient,address token,uint256 amount,bytes32 burnTxHash)"
        );
        bytes32 structHash = keccak256(
            abi.encode(
                typeHash, w.sidechainId, w.checkpointNumber, w.index, w.recipient, w.token, w.amount, w.burnTxHash
            )
        );
        return keccak256(abi.encodePacked(bytes1(0x00), structHash));
    }

    function node(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @dev The root of the depth-16 tree whose first leaves are `leaves`, and the proof of
    ///      position `at`.
    function tree(bytes32[] memory leaves, uint256 at) internal pure returns (bytes32 root, bytes32[] memory proof) {
        proof = new bytes32[](DEPTH);
        bytes32[] memory layer = leaves;
        bytes32 zero = bytes32(0);
        uint256 pos = at;
        for (uint256 level = 0; level < DEPTH; ++level) {
            uint256 sib = pos ^ 1;
            proof[level] = sib < layer.length ? layer[sib] : zero;
            uint256 parents = (layer.length + 1) / 2;
            if (parents == 0) parents = 1;
            bytes32[] memory up = new bytes32[](parents);
            for (uint256 i = 0; i < parents; ++i) {
                bytes32 l = 2 * i < layer.length ? layer[2 * i] : zero;
                bytes32 r = 2 * i + 1 < layer.length ? layer[2 * i + 1] : zero;
                up[i] = node(l, r);
            }
            layer = up;
            zero = node(zero, zero);
            pos >>= 1;
        }
        root = layer[0];
    }

    /// @dev The root of the tree of `ws` and the proof of each.
    function treeOf(Withdrawal[] memory ws) internal pure returns (bytes32 root, bytes32[][] memory proofs) {
        bytes32[] memory leaves = new bytes32[](ws.length);
        for (uint256 i = 0; i < ws.length; ++i) {
            leaves[i] = leafOf(ws[i]);
        }
        proofs = new bytes32[][](ws.length);
        for (uint256 i = 0; i < ws.length; ++i) {
            (root, proofs[i]) = tree(leaves, i);
        }
    }

    /// @dev The root of the empty tree.
    function emptyRoot() internal pure returns (bytes32 z) {
        for (uint256 level = 0; level < DEPTH; ++level) {
            z = node(z, z);
        }
    }

    /// @dev Checkpoints `ws` (all of checkpoint `number`, the next one) on `b`, signed by the
    ///      first three validators (3 of 4), and returns their proofs.
    function checkpointWithdrawals(SidechainBridge b, uint64 number, Withdrawal[] memory ws)
        internal
        returns (bytes32[][] memory proofs)
    {
        bytes32 root;
        (root, proofs) = treeOf(ws);
        submit(b, checkpointOf(b, number, root), firstKeys(3));
    }

    function one(Withdrawal memory w) internal pure returns (Withdrawal[] memory ws) {
        ws = new Withdrawal[](1);
        ws[0] = w;
    }

    function two(Withdrawal memory a, Withdrawal memory b) internal pure returns (Withdrawal[] memory ws) {
        ws = new Withdrawal[](2);
        ws[0] = a;
        ws[1] = b;
    }

    /// @dev A rotation to the validators `vs` (weight 1 each) for the next epoch of `b`.
    function rotationTo(SidechainBridge b, address[] memory vs) internal view returns (ValidatorSetRotation memory) {
        uint64[] memory ws = new uint64[](vs.length);
        for (uint256 i = 0; i < vs.length; ++i) {
            ws[i] = 1;
        }
        return ValidatorSetRotation({
            sidechainId: SIDECHAIN_ID,
            epoch: b.epoch() + 1,
            validators: vs,
            weights: ws,
            thresholdNumerator: THRESHOLD
        });
    }
}
