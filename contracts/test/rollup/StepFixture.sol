// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupFixture} from "./RollupFixture.sol";
import {L2Model} from "./L2Model.sol";
import {StepExecutor} from "../../src/rollup/StepExecutor.sol";
import {SparseProof} from "../../src/rollup/SparseProof.sol";
import {
    StepState,
    StepWitness,
    StepContext,
    AccountWitness,
    AddressProof,
    DataChunk,
    PriorityOp,
    stepHashOf
} from "../../src/rollup/StepTypes.sol";

/// @notice Shared pieces of the one-step tests: keys, a small base state, batch and transaction
///         encoders, real EIP-712 signatures (`vm.sign`) and state comparison.
abstract contract StepFixture is RollupFixture, L2Model {
    uint256 internal constant ALICE_KEY = 0xA11CE5;
    uint256 internal constant BOB_KEY = 0xB0B5;
    uint256 internal constant MALLORY_KEY = 0x3A1;
    address internal constant FEE = address(0xFEE);
    uint64 internal constant TS = 1_000;
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    address internal alice;
    address internal bob;
    bytes32 internal domain; // the rollup's EIP-712 domain separator (cached: no call before expectRevert)

    /// @dev A transaction to encode and sign.
    struct TxSpec {
        bool withdrawal;
        uint256 token;
        uint256 from;
        uint256 to; // index, or 0xFFFFFF for a new account
        address toAddress; // new account / L1 recipient
        uint256 amount;
        uint256 fee;
        uint256 key; // the signing key
        uint64 nonce; // the nonce signed
        address signedFrom; // the `from` address signed
        address signedTo; // the `to` address signed
        bool highS; // sign with the malleable twin (s > n/2)
    }

    function setUp() public virtual override {
        super.setUp();
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        domain = rollup.domainSeparator();
    }

    /// @dev Fee account 0, alice (1: 1,000 ETH, 50 of token 1), bob (2: 5 ETH); ETH and token 1 known.
    function baseModel() internal view returns (Model memory m) {
        m = newModel(ACCOUNT_DEPTH, TOKEN_DEPTH, FEE);
        addAccount(m, alice);
        addAccount(m, bob);
        m.balances[1][0] = 1000;
        m.balances[1][1] = 50;
        m.balances[2][0] = 5;
        m.balances[0][0] = 7;
        m.tokens = 3;
        m.lastTimestamp = TS - 10;
    }

    // ---------------------------------------------------------------- encoding

    function batchOf(uint64 timestamp, uint16 ops, bytes memory txs, uint16 txCount)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(uint8(1), uint32(1), timestamp, ops, txCount, txs);
    }

    function transferSpec(Model memory m, uint256 from, uint256 to, uint256 amount, uint256 fee)
        internal
        pure
        returns (TxSpec memory t)
    {
        t.from = from;
        t.to = to;
        t.amount = amount;
        t.fee = fee;
        t.key = from == 1 ? ALICE_KEY : BOB_KEY;
        t.nonce = m.nonces[from];
        t.signedFrom = m.addrs[from];
        t.signedTo = to == 0xFFFFFF ? address(0) : m.addrs[to];
    }

    function encodeTx(TxSpec memory t) internal view returns (bytes memory out) {
        uint16 kindToken = uint16(t.token) | (t.withdrawal ? 0x8000 : 0);
        out = abi.encodePacked(kindToken, uint24(t.from));
        if (t.withdrawal) {
            out = abi.encodePacked(out, t.toAddress);
        } else if (t.to == 0xFFFFFF) {
            out = abi.encodePacked(out, uint24(0xFFFFFF), t.toAddress);
        } else {
            out = abi.encodePacked(out, uint24(t.to));
        }
        (bytes32 r, bytes32 vs) = signTx(t);
        out = abi.encodePacked(out, uint40(t.amount << 5), uint16(t.fee << 5), r, vs);
    }

    function signTx(TxSpec memory t) internal view returns (bytes32 r, bytes32 vs) {
        bytes32 typeHash = t.withdrawal
            ? keccak256("Withdrawal(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)")
            : keccak256("Transfer(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)");
        bytes32 structHash =
            keccak256(abi.encode(typeHash, t.signedFrom, t.signedTo, uint32(t.token), t.amount, t.fee, t.nonce));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", domain, structHash));
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(t.key, digest);
        uint256 sv = uint256(s);
        uint256 parity = v - 27;
        if (sv > HALF_N) {
            sv = N - sv;
            parity ^= 1;
        }
        if (t.highS) {
            sv = N - sv;
            parity ^= 1;
        }
        r = r_;
        vs = bytes32(sv | (parity << 255));
    }

    function contextOf(bytes memory data, uint256 queueEnd) internal view returns (StepContext memory) {
        return StepContext({
            batchIndex: 0,
            queueEnd: queueEnd,
            dataRoot: dataRootOf(data),
            dataLength: data.length,
            domainSeparator: domain
        });
    }

    // ---------------------------------------------------------------- witnesses

    function witnessOf(bytes memory data, uint256 from, uint256 to) internal pure returns (StepWitness memory w) {
        w.chunks = chunksOf(data, from, to);
        w.addressProofs = new AddressProof[](0);
        w.accounts = new AccountWitness[](0);
    }

    function pushAccount(StepWitness memory w, AccountWitness memory a) internal pure {
        AccountWitness[] memory grown = new AccountWitness[](w.accounts.length + 1);
        for (uint256 i = 0; i < w.accounts.length; i++) {
            grown[i] = w.accounts[i];
        }
        grown[w.accounts.length] = a;
        w.accounts = grown;
    }

    function pushAddress(StepWitness memory w, AddressProof memory p) internal pure {
        AddressProof[] memory grown = new AddressProof[](w.addressProofs.length + 1);
        for (uint256 i = 0; i < w.addressProofs.length; i++) {
            grown[i] = w.addressProofs[i];
        }
        grown[w.addressProofs.length] = p;
        w.addressProofs = grown;
    }

    // ---------------------------------------------------------------- comparison

    function assertState(StepState memory a, StepState memory e) internal pure {
        vm.assertEq(uint256(a.phase), uint256(e.phase), "phase");
        vm.assertEq(a.stateRoot, e.stateRoot, "stateRoot");
        vm.assertEq(a.addressRoot, e.addressRoot, "addressRoot");
        vm.assertEq(uint256(a.accountCount), uint256(e.accountCount), "accountCount");
        vm.assertEq(a.tokens, e.tokens, "tokens");
        vm.assertEq(uint256(a.queueIndex), uint256(e.queueIndex), "queueIndex");
        vm.assertEq(uint256(a.lastTimestamp), uint256(e.lastTimestamp), "lastTimestamp");
        vm.assertEq(uint256(a.withdrawalCount), uint256(e.withdrawalCount), "withdrawalCount");
        vm.assertEq(a.withdrawalRoot, e.withdrawalRoot, "withdrawalRoot");
        vm.assertEq(uint256(a.cursor), uint256(e.cursor), "cursor");
        vm.assertEq(uint256(a.blocksLeft), uint256(e.blocksLeft), "blocksLeft");
        vm.assertEq(uint256(a.blockOps), uint256(e.blockOps), "blockOps");
        vm.assertEq(uint256(a.blockTxs), uint256(e.blockTxs), "blockTxs");
        vm.assertEq(stepHashOf(a), stepHashOf(e), "stepHash");
    }
}
