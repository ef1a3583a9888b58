// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

// PlasmaTx
// The plasma payment transaction, version 1 (docs/plasma.md, "Transactions"): its one
//       canonical encoding, its hash and output ids, UTXO positions, and the EIP-712 digest
//       its input owners sign.
// `decode` accepts exactly the bytes `abi.encode(tx)` produces for a valid transaction and
//    refuses every other byte string: a transaction has one encoding, so one hash, so one set
//    of output ids. Ids never come from anything else a caller sends (a proof, a signature,
//    a position): Polygon's plasma bridge paid one burn 223 times in 2021 because its exit id
//    came from a proof's encoding.
// File-level definitions rather than a library, as in contracts/src/rollup/: they are inlined
// into the contracts that use them and leave no artifact of their own. Import the file as a
// namespace (`import * as PlasmaTx from "./PlasmaTx.sol";`) and use `PlasmaTx.name`.
/// @dev The only transaction version.
uint256 constant VERSION = 1;
/// @dev The most inputs of a transaction.
uint256 constant MAX_INPUTS = 4;
/// @dev The most outputs of a transaction.
uint256 constant MAX_OUTPUTS = 4;
/// @dev `utxoPos = blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex`.
uint256 constant BLOCK_OFFSET = 1_000_000_000;
/// @dev See `BLOCK_OFFSET`.
uint256 constant TX_OFFSET = 10_000;
/// @dev Transactions per block: the leaves of a depth-16 tree.
uint256 constant MAX_TXS_PER_BLOCK = 1 << 16;

/// @dev `keccak256("Transaction(uint8 version,uint256[] inputs,Output[] outputs,bytes32 metadata)Output(address owner,address token,uint256 amount)")`.
bytes32 constant TRANSACTION_TYPEHASH = keccak256(
    "Transaction(uint8 version,uint256[] inputs,Output[] outputs,bytes32 metadata)Output(address owner,address token,uint256 amount)"
);
/// @dev `keccak256("Output(address owner,address token,uint256 amount)")`.
bytes32 constant OUTPUT_TYPEHASH = keccak256("Output(address owner,address token,uint256 amount)");
/// @dev The EIP-712 domain type hash.
bytes32 constant DOMAIN_TYPEHASH =
    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
/// @dev `secp256k1n / 2`: larger `s` values are the malleable twins of smaller ones.
uint256 constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

/// @notice An output: `amount` of `token` (address(0) for ETH) owned by `owner`.
struct Output {
    address owner;
    address token;
    uint256 amount;
}

/// @notice A payment transaction.
struct Transaction {
    uint8 version;
    uint256[] inputs;
    Output[] outputs;
    bytes32 metadata;
}

/// @notice The bytes are not the canonical encoding of a valid transaction.
/// @param reason What is wrong.
error MalformedTransaction(string reason);
/// @notice The number is not a UTXO position (docs/plasma.md, "Positions").
/// @param position The number.
error InvalidPosition(uint256 position);
/// @notice A signature is not 65 bytes `r ‖ s ‖ v` with low `s` and `v` 27 or 28, or recovers
///         no address.
error MalformedSignature();

/// @notice Decodes and checks a transaction; reverts with `MalformedTransaction` unless `b` is
///         exactly `abi.encode(tx)` of a valid version-1 transaction.
/// @param b The bytes.
/// @return t The transaction.
function decode(bytes memory b) pure returns (Transaction memory t) {
    uint256 len = b.length;
    if (len % 32 != 0 || len < 7 * 32) revert MalformedTransaction("length");
    if (_word(b, 0) != 0x20) revert MalformedTransaction("tuple offset");
    if (_word(b, 1) != VERSION) revert MalformedTransaction("version");
    if (_word(b, 2) != 0x80) revert MalformedTransaction("inputs offset");
    uint256 n = _word(b, 5);
    if (n > MAX_INPUTS) revert MalformedTransaction("too many inputs");
    if (_word(b, 3) != 0x80 + 32 * (1 + n)) revert MalformedTransaction("outputs offset");
    if (len < 32 * (7 + n)) revert MalformedTransaction("length");
    uint256 m = _word(b, 6 + n);
    if (m == 0 || m > MAX_OUTPUTS) revert MalformedTransaction("output count");
    if (len != 32 * (7 + n + 3 * m)) revert MalformedTransaction("length");

    // VERSION is 1
    // forge-lint: disable-next-line(unsafe-typecast)
    t.version = uint8(VERSION);
    t.metadata = bytes32(_word(b, 4));
    t.inputs = new uint256[](n);
    for (uint256 i = 0; i < n; i++) {
        uint256 pos = _word(b, 6 + i);
        if (pos == 0 || !isPosition(pos)) revert MalformedTransaction("input position");
        for (uint256 j = 0; j < i; j++) {
            if (t.inputs[j] == pos) revert MalformedTransaction("duplicate input");
        }
        t.inputs[i] = pos;
    }
    t.outputs = new Output[](m);
    for (uint256 k = 0; k < m; k++) {
        uint256 at = 7 + n + 3 * k;
        uint256 owner = _word(b, at);
        uint256 token = _word(b, at + 1);
        uint256 amount = _word(b, at + 2);
        if (owner >> 160 != 0 || token >> 160 != 0) revert MalformedTransaction("address");
        if (owner == 0) revert MalformedTransaction("zero owner");
        if (amount == 0) revert MalformedTransaction("zero amount");
        // owner and token were checked below 2^160 above
        // forge-lint: disable-next-line(unsafe-typecast)
        t.outputs[k] = Output(address(uint160(owner)), address(uint160(token)), amount);
    }
}

/// @notice The id of output `oindex` of the transaction with hash `txHash`:
///         `keccak256(abi.encode(txHash, oindex))`.
/// @param txHash `keccak256` of the canonical transaction bytes.
/// @param oindex The output's index.
/// @return The output id.
function outputId(bytes32 txHash, uint256 oindex) pure returns (bytes32) {
    return keccak256(abi.encode(txHash, oindex));
}

/// @notice Whether `pos` is a UTXO position: at most `2^64 - 1`, `blknum >= 1`,
///         `txindex < 2^16`, `oindex < 4`.
/// @param pos The number.
/// @return True when it is one.
function isPosition(uint256 pos) pure returns (bool) {
    return pos <= type(uint64).max && pos / BLOCK_OFFSET != 0
        && (pos % BLOCK_OFFSET) / TX_OFFSET < MAX_TXS_PER_BLOCK && pos % TX_OFFSET < MAX_OUTPUTS;
}

/// @notice Splits a UTXO position; reverts with `InvalidPosition` if it is not one.
/// @param pos The position.
/// @return blknum Its block.
/// @return txindex Its transaction's index in the block.
/// @return oindex Its output index.
function splitPosition(uint256 pos) pure returns (uint256 blknum, uint256 txindex, uint256 oindex) {
    if (!isPosition(pos)) revert InvalidPosition(pos);
    blknum = pos / BLOCK_OFFSET;
    txindex = (pos % BLOCK_OFFSET) / TX_OFFSET;
    oindex = pos % TX_OFFSET;
}

/// @notice The EIP-712 domain separator of the framework `verifyingContract` on this chain.
/// @param verifyingContract The `PlasmaFramework`.
/// @return The separator.
function domainSeparator(address verifyingContract) view returns (bytes32) {
    return keccak256(
        abi.encode(
            DOMAIN_TYPEHASH, keccak256("ply plasma"), keccak256("1"), block.chainid, verifyingContract
        )
    );
}

/// @notice The EIP-712 `hashStruct` of a transaction.
/// @param t The transaction.
/// @return The struct hash.
function structHash(Transaction memory t) pure returns (bytes32) {
    bytes32[] memory outs = new bytes32[](t.outputs.length);
    for (uint256 i = 0; i < outs.length; i++) {
        Output memory o = t.outputs[i];
        outs[i] = keccak256(abi.encode(OUTPUT_TYPEHASH, o.owner, o.token, o.amount));
    }
    return keccak256(
        abi.encode(
            TRANSACTION_TYPEHASH,
            uint256(t.version),
            keccak256(abi.encodePacked(t.inputs)),
            keccak256(abi.encodePacked(outs)),
            t.metadata
        )
    );
}

/// @notice The digest the input owners sign: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(tx))`.
/// @param t The transaction.
/// @param separator The domain separator.
/// @return The digest.
function digest(Transaction memory t, bytes32 separator) pure returns (bytes32) {
    return keccak256(abi.encodePacked(hex"1901", separator, structHash(t)));
}

/// @notice The signer of `hash`; reverts with `MalformedSignature` for anything but 65 bytes
///         `r ‖ s ‖ v` with `v` 27 or 28 and low `s` that recovers an address.
/// @param hash The signed digest.
/// @param sig The signature.
/// @return signer The recovered address.
function recover(bytes32 hash, bytes memory sig) pure returns (address signer) {
    if (sig.length != 65) revert MalformedSignature();
    bytes32 r;
    bytes32 s;
    uint8 v;
    assembly ("memory-safe") {
        r := mload(add(sig, 32))
        s := mload(add(sig, 64))
        v := byte(0, mload(add(sig, 96)))
    }
    if ((v != 27 && v != 28) || uint256(s) > HALF_ORDER) revert MalformedSignature();
    signer = ecrecover(hash, v, r, s);
    if (signer == address(0)) revert MalformedSignature();
}

/// @dev Word `i` (0-based) of `b`; the caller checks the length.
function _word(bytes memory b, uint256 i) pure returns (uint256 w) {
    assembly ("memory-safe") {
        w := mload(add(add(b, 32), mul(i, 32)))
    }
}
