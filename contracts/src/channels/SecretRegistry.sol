// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title SecretRegistry
/// @author ply
/// @notice The on-chain record of hash-lock secrets for ply's payment channels (docs/channels.md,
///         "Locks"; Raiden's `SecretRegistry`). A lock with `secrethash = keccak256(secret)` is
///         claimable by its receiver at `TokenNetwork.unlock` iff its secret was registered here
///         at a block number no later than the lock's expiration.
/// @dev Anyone may register any 32-byte secret; the first registration of a hash wins and later
///      ones are ignored (they neither revert nor move the block), so a batch that races another
///      registration still succeeds. The zero secret is accepted like any other value.
contract SecretRegistry {
    /// @dev `keccak256(secret)` => the block number of its first registration (0: never).
    mapping(bytes32 secrethash => uint256 blockNumber) private _revealBlock;

    /// @notice A secret was registered for the first time.
    /// @param secrethash `keccak256(secret)`.
    /// @param secret The secret.
    event SecretRevealed(bytes32 indexed secrethash, bytes32 secret);

    /// @notice Registers `secret` at the current block unless its hash is registered already.
    /// @param secret The 32-byte secret.
    /// @return registered True when this call registered it, false when it was already known.
    function registerSecret(bytes32 secret) external returns (bool registered) {
        return _register(secret);
    }

    /// @notice Registers every secret of `secrets` (see `registerSecret`).
    /// @param secrets The secrets.
    /// @return allNew True when every secret was registered by this call.
    function registerSecretBatch(bytes32[] calldata secrets) external returns (bool allNew) {
        allNew = true;
        for (uint256 i = 0; i < secrets.length; i++) {
            if (!_register(secrets[i])) allNew = false;
        }
    }

    /// @notice The block at which the secret of `secrethash` was first registered (0: never).
    /// @param secrethash `keccak256(secret)`.
    /// @return The block number.
    function getSecretRevealBlockHeight(bytes32 secrethash) external view returns (uint256) {
        return _revealBlock[secrethash];
    }

    function _register(bytes32 secret) private returns (bool) {
        bytes32 secrethash = keccak256(abi.encode(secret));
        if (_revealBlock[secrethash] != 0) return false;
        _revealBlock[secrethash] = block.number;
        emit SecretRevealed(secrethash, secret);
        return true;
    }
}
