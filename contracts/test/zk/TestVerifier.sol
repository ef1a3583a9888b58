// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title TestVerifier
/// @notice A stand-in for the generated `BatchVerifier` in `ZkRollup`'s forge tests (real proofs
///         are checked from Rust): `verifyProof` answers what the test set, and, when the test
///         announced the call it expects, refuses any other proof or public input.
contract TestVerifier {
    /// @notice What `verifyProof` returns.
    bool public result = true;

    /// @notice Whether `verifyProof` checks its arguments against the expected ones.
    bool public checking;

    /// @notice The expected `keccak256(abi.encode(a, b, c, input))`.
    bytes32 public expectedCall;

    /// @notice `verifyProof` got other arguments than the test announced.
    /// @param input The public input it got.
    error UnexpectedCall(uint256 input);

    /// @notice Sets the answer of `verifyProof`.
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @notice Makes `verifyProof` revert with `UnexpectedCall` unless called with exactly these.
    /// @param a The proof's A.
    /// @param b The proof's B.
    /// @param c The proof's C.
    /// @param input The public input.
    function expectCall(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256 input)
        external
    {
        checking = true;
        expectedCall = keccak256(abi.encode(a, b, c, [input]));
    }

    /// @notice The verifier's interface: returns `result` (after the expectation check, if any).
    /// @param a The proof's A.
    /// @param b The proof's B.
    /// @param c The proof's C.
    /// @param input The public inputs.
    /// @return `result`.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[1] calldata input
    ) external view returns (bool) {
        if (checking && keccak256(abi.encode(a, b, c, input)) != expectedCall) {
            revert UnexpectedCall(input[0]);
        }
        return result;
    }
}
