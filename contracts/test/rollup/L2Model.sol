// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {SparseProof} from "../../src/rollup/SparseProof.sol";
import {StepState, AccountWitness, AddressProof, DataChunk, StepWitness, PriorityOp} from "../../src/rollup/StepTypes.sol";

/// @notice A tiny L2 state in memory (accounts, balances, the address tree, a withdrawal tree)
///         with the Keccak trees of docs/rollup.md built from scratch, independently of the
///         contracts: roots by recursion over the non-empty subtrees, compressed proofs by
///         comparing each sibling with the empty subtree of its level. Tests change the model
///         step by step as a rule applies and take each witness from the model of that moment.
abstract contract L2Model is Test {
    uint256 internal constant CAP = 8; // accounts a model holds
    uint256 internal constant WCAP = 4; // withdrawals a model holds

    struct Model {
        uint256 accountDepth;
        uint256 tokenDepth;
        uint256 count;
        address[CAP] addrs;
        uint64[CAP] nonces;
        uint256[256][CAP] balances;
        uint256 tokens;
        uint64 queueIndex;
        uint64 lastTimestamp;
        uint256 withdrawalCount;
        bytes32[WCAP] withdrawals;
    }

    // ---------------------------------------------------------------- generic sparse trees

    function sparseEmpty(uint256 level) internal pure returns (bytes32 node) {
        for (uint256 l = 0; l < level; l++) {
            node = keccak256(abi.encodePacked(node, node));
        }
    }

    /// @dev Node `index` at `level` of the tree holding `leaves[i]` at `positions[i]` (zero
    ///      leaves are empty), computed bottom-up over the non-empty nodes only (the address tree
    ///      is 160 levels deep: no recursion).
    function sparseNode(uint256[] memory positions, bytes32[] memory leaves, uint256 level, uint256 index)
        internal
        pure
        returns (bytes32)
    {
        uint256 n = 0;
        uint256[] memory p = new uint256[](positions.length);
        bytes32[] memory h = new bytes32[](positions.length);
        for (uint256 i = 0; i < positions.length; i++) {
            if (positions[i] >> level == index && leaves[i] != 0) {
                // insertion sort by position
                uint256 j = n++;
                while (j > 0 && p[j - 1] > positions[i]) {
                    p[j] = p[j - 1];
                    h[j] = h[j - 1];
                    j--;
                }
                p[j] = positions[i];
                h[j] = leaves[i];
            }
        }
        if (n == 0) return sparseEmpty(level);
        bytes32 empty = 0;
        for (uint256 l = 0; l < level; l++) {
            uint256 m = 0;
            uint256 j = 0;
            while (j < n) {
                bytes32 node;
                if (j + 1 < n && p[j] >> 1 == p[j + 1] >> 1) {
                    node = keccak256(abi.encodePacked(h[j], h[j + 1]));
                    p[m] = p[j] >> 1;
                    j += 2;
                } else {
                    node = p[j] & 1 == 0 ? keccak256(abi.encodePacked(h[j], empty)) : keccak256(abi.encodePacked(empty, h[j]));
                    p[m] = p[j] >> 1;
                    j += 1;
                }
                h[m++] = node;
            }
            n = m;
            empty = keccak256(abi.encodePacked(empty, empty));
        }
        return h[0];
    }

    function proofOf(uint256[] memory positions, bytes32[] memory leaves, uint256 depth, uint256 position)
        internal
        pure
        returns (SparseProof memory p)
    {
        bytes32[] memory all = new bytes32[](depth);
        uint256 k = 0;
        for (uint256 l = 0; l < depth; l++) {
            bytes32 sibling = sparseNode(positions, leaves, l, (position >> l) ^ 1);
            if (sibling != sparseEmpty(l)) {
                p.bitmap |= 1 << l;
                all[k++] = sibling;
            }
        }
        p.siblings = new bytes32[](k);
        for (uint256 i = 0; i < k; i++) {
            p.siblings[i] = all[i];
        }
    }

    // ---------------------------------------------------------------- the model's trees

    function newModel(uint256 accountDepth, uint256 tokenDepth, address feeAccount)
        internal
        pure
        returns (Model memory m)
    {
        m.accountDepth = accountDepth;
        m.tokenDepth = tokenDepth;
        m.count = 1;
        m.addrs[0] = feeAccount;
    }

    function addAccount(Model memory m, address addr) internal pure returns (uint256 index) {
        index = m.count++;
        m.addrs[index] = addr;
    }

    function balanceTree(Model memory m, uint256 index)
        internal
        pure
        returns (uint256[] memory positions, bytes32[] memory leaves)
    {
        uint256 size = 1 << m.tokenDepth;
        positions = new uint256[](size);
        leaves = new bytes32[](size);
        for (uint256 t = 0; t < size; t++) {
            positions[t] = t;
            leaves[t] = bytes32(m.balances[index][t]);
        }
    }

    function balancesRoot(Model memory m, uint256 index) internal pure returns (bytes32) {
        (uint256[] memory positions, bytes32[] memory leaves) = balanceTree(m, index);
        return sparseNode(positions, leaves, m.tokenDepth, 0);
    }

    function accountTree(Model memory m) internal pure returns (uint256[] memory positions, bytes32[] memory leaves) {
        positions = new uint256[](m.count);
        leaves = new bytes32[](m.count);
        for (uint256 i = 0; i < m.count; i++) {
            positions[i] = i;
            leaves[i] = keccak256(abi.encodePacked(m.addrs[i], m.nonces[i], balancesRoot(m, i)));
        }
    }

    function addressTree(Model memory m) internal pure returns (uint256[] memory positions, bytes32[] memory leaves) {
        positions = new uint256[](m.count);
        leaves = new bytes32[](m.count);
        for (uint256 i = 0; i < m.count; i++) {
            positions[i] = uint160(m.addrs[i]);
            leaves[i] = bytes32(i + 1);
        }
    }

    function withdrawalTree(Model memory m) internal pure returns (uint256[] memory positions, bytes32[] memory leaves) {
        positions = new uint256[](m.withdrawalCount);
        leaves = new bytes32[](m.withdrawalCount);
        for (uint256 i = 0; i < m.withdrawalCount; i++) {
            positions[i] = i;
            leaves[i] = m.withdrawals[i];
        }
    }

    function stateRoot(Model memory m) internal pure returns (bytes32) {
        (uint256[] memory positions, bytes32[] memory leaves) = accountTree(m);
        return sparseNode(positions, leaves, m.accountDepth, 0);
    }

    function addressRoot(Model memory m) internal pure returns (bytes32) {
        (uint256[] memory positions, bytes32[] memory leaves) = addressTree(m);
        return sparseNode(positions, leaves, 160, 0);
    }

    function withdrawalRoot(Model memory m) internal pure returns (bytes32) {
        (uint256[] memory positions, bytes32[] memory leaves) = withdrawalTree(m);
        return sparseNode(positions, leaves, 16, 0);
    }

    function commitmentOf(Model memory m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(stateRoot(m), addressRoot(m), uint64(m.count), m.tokens, m.queueIndex, m.lastTimestamp)
        );
    }

    /// @dev The model as a step state with the given parse fields.
    function stateOf(Model memory m, uint8 phase, uint64 cursor, uint32 blocksLeft, uint16 blockOps, uint16 blockTxs)
        internal
        pure
        returns (StepState memory s)
    {
        s.phase = phase;
        s.stateRoot = stateRoot(m);
        s.addressRoot = addressRoot(m);
        s.accountCount = uint64(m.count);
        s.tokens = m.tokens;
        s.queueIndex = m.queueIndex;
        s.lastTimestamp = m.lastTimestamp;
        s.withdrawalCount = uint32(m.withdrawalCount);
        s.withdrawalRoot = withdrawalRoot(m);
        s.cursor = cursor;
        s.blocksLeft = blocksLeft;
        s.blockOps = blockOps;
        s.blockTxs = blockTxs;
    }

    // ---------------------------------------------------------------- witnesses

    /// @dev The account witness of position `index` (empty beyond `count`) for `token`.
    function accountWitness(Model memory m, uint256 index, uint256 token)
        internal
        pure
        returns (AccountWitness memory a)
    {
        (uint256[] memory positions, bytes32[] memory leaves) = accountTree(m);
        a.accountProof = proofOf(positions, leaves, m.accountDepth, index);
        if (index < m.count) {
            a.addr = m.addrs[index];
            a.nonce = m.nonces[index];
            a.balancesRoot = balancesRoot(m, index);
            a.balance = m.balances[index][token];
            (positions, leaves) = balanceTree(m, index);
            a.balanceProof = proofOf(positions, leaves, m.tokenDepth, token);
        } else {
            uint256[] memory none = new uint256[](0);
            a.balanceProof = proofOf(none, new bytes32[](0), m.tokenDepth, token);
        }
    }

    function addressWitness(Model memory m, address addr) internal pure returns (AddressProof memory p) {
        (uint256[] memory positions, bytes32[] memory leaves) = addressTree(m);
        p.proof = proofOf(positions, leaves, 160, uint160(addr));
        for (uint256 i = 0; i < m.count; i++) {
            if (m.addrs[i] == addr) p.leaf = bytes32(i + 1);
        }
    }

    function withdrawalWitness(Model memory m) internal pure returns (SparseProof memory) {
        (uint256[] memory positions, bytes32[] memory leaves) = withdrawalTree(m);
        return proofOf(positions, leaves, 16, m.withdrawalCount);
    }

    /// @dev The chunks of `data` holding bytes `from .. to - 1`, with their proofs.
    function chunksOf(bytes memory data, uint256 from, uint256 to) internal pure returns (DataChunk[] memory chunks) {
        uint256 total = (data.length + 1023) / 1024;
        if (to <= from || total == 0) return new DataChunk[](0);
        uint256 first = from / 1024;
        uint256 last = (to - 1) / 1024;
        uint256 depth = 0;
        while ((1 << depth) < total) depth++;
        uint256[] memory positions = new uint256[](total);
        bytes32[] memory leaves = new bytes32[](total);
        for (uint256 i = 0; i < total; i++) {
            positions[i] = i;
            leaves[i] = keccak256(chunkAt(data, i));
        }
        chunks = new DataChunk[](last - first + 1);
        for (uint256 c = first; c <= last; c++) {
            DataChunk memory chunk = chunks[c - first];
            chunk.index = c;
            chunk.data = chunkAt(data, c);
            chunk.proof = new bytes32[](depth);
            for (uint256 l = 0; l < depth; l++) {
                // Zero leaves pad the tree: nodeAt's empty subtrees are exactly those.
                chunk.proof[l] = sparseNode(positions, leaves, l, (c >> l) ^ 1);
            }
        }
    }

    function chunkAt(bytes memory data, uint256 c) internal pure returns (bytes memory out) {
        uint256 start = c * 1024;
        uint256 end = start + 1024 > data.length ? data.length : start + 1024;
        out = new bytes(end - start);
        for (uint256 i = start; i < end; i++) {
            out[i - start] = data[i];
        }
    }
}
