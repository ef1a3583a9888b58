// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title TokenRegistry
/// @author ply
/// @notice The ERC-20 tokens a bridge accepts, each under a small id (ids start at 1; 0 stands
///         for ETH). Listing is governed: only the `tokenGovernor`, fixed at deployment, lists a
///         token (zkSync Lite's governance did the same). The id space of an L2 is small (it is
///         a leaf index of a balance tree or a byte of a batch record), so a permissionless
///         list would let anyone fill it with worthless contracts for the price of a few
///         transactions and keep every real token out; a governed one cannot be griefed, and the
///         governor is answerable for what it lists.
/// @dev Family-neutral: a contract inherits it, passes its governor and the number of ids it
///      can address to the constructor, and maps ids to addresses with `tokenAddress` and
///      `tokenId`. The governor may be a multisig or a timelock; it cannot unlist a token or
///      change an id, so a listed token stays withdrawable.
abstract contract TokenRegistry {
    /// @notice The only account that may list tokens.
    address public immutable tokenGovernor;
    /// @notice The most tokens that can be listed (the largest id).
    uint32 public immutable maxTokens;

    /// @dev `_tokens[id - 1]` is the address of token `id`.
    address[] private _tokens;
    /// @dev The id of each listed token (0: not listed).
    mapping(address token => uint32 id) private _tokenIds;

    /// @notice A token was listed.
    /// @param id Its id.
    /// @param token Its address.
    event TokenRegistered(uint32 indexed id, address indexed token);

    /// @notice The governor is the zero address, or the cap is zero.
    error InvalidTokenRegistry();
    /// @notice Only the token governor lists tokens.
    /// @param caller The caller.
    error NotTokenGovernor(address caller);
    /// @notice The token address holds no code.
    /// @param token The address.
    error TokenNotAContract(address token);
    /// @notice The token is listed already.
    /// @param token Its address.
    /// @param id Its id.
    error TokenAlreadyRegistered(address token, uint32 id);
    /// @notice Every id up to `maxTokens` is taken.
    /// @param max The cap.
    error TooManyTokens(uint32 max);
    /// @notice No token has this id.
    /// @param id The id.
    error UnknownToken(uint32 id);
    /// @notice The token is not listed.
    /// @param token Its address.
    error TokenNotRegistered(address token);

    /// @param governor The account that lists tokens (non-zero).
    /// @param cap The most tokens it may list (non-zero).
    constructor(address governor, uint32 cap) {
        if (governor == address(0) || cap == 0) revert InvalidTokenRegistry();
        tokenGovernor = governor;
        maxTokens = cap;
    }

    /// @notice Lists an ERC-20 under the next id. Only the token governor may; each token once.
    /// @param token The token's address; it must hold code.
    /// @return id The new id (1 for the first token).
    function registerToken(address token) external returns (uint32 id) {
        if (msg.sender != tokenGovernor) revert NotTokenGovernor(msg.sender);
        if (token.code.length == 0) revert TokenNotAContract(token);
        uint32 existing = _tokenIds[token];
        if (existing != 0) revert TokenAlreadyRegistered(token, existing);
        uint256 count = _tokens.length;
        if (count >= maxTokens) revert TooManyTokens(maxTokens);
        // casting to uint32 is safe because count < maxTokens, a uint32
        // forge-lint: disable-next-line(unsafe-typecast)
        id = uint32(count + 1);
        _tokens.push(token);
        _tokenIds[token] = id;
        emit TokenRegistered(id, token);
    }

    /// @notice The number of listed tokens (the largest id in use).
    /// @return The count.
    function tokenCount() external view returns (uint256) {
        return _tokens.length;
    }

    /// @notice The address of token `id`: `address(0)` for 0 (ETH); reverts for unknown ids.
    /// @param id The id.
    /// @return The token's address.
    function tokenAddress(uint32 id) public view returns (address) {
        if (id == 0) return address(0);
        if (id > _tokens.length) revert UnknownToken(id);
        return _tokens[id - 1];
    }

    /// @notice The id of a token: 0 for `address(0)` (ETH); reverts for unlisted tokens.
    /// @param token The token's address.
    /// @return The id.
    function tokenId(address token) public view returns (uint32) {
        if (token == address(0)) return 0;
        uint32 id = _tokenIds[token];
        if (id == 0) revert TokenNotRegistered(token);
        return id;
    }
}
