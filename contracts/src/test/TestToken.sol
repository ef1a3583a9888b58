// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title TestToken
/// @author ply
/// @notice A minimal ERC-20 token for tests and the devnet. **Anyone can mint**: never use it for
///         anything of value.
/// @dev Standard ERC-20 semantics (EIP-20): `transfer` and `transferFrom` return `true` and revert
///      on failure; an allowance of `type(uint256).max` is never decreased; transfers to the zero
///      address are refused.
contract TestToken {
    /// @notice The token's name.
    string public name;

    /// @notice The token's symbol.
    string public symbol;

    /// @notice The number of decimals of the token's display unit.
    uint8 public immutable decimals;

    /// @notice The amount of tokens in existence.
    uint256 public totalSupply;

    /// @notice The balance of each account.
    mapping(address account => uint256) public balanceOf;

    /// @notice `allowance[owner][spender]`: what `spender` may still move from `owner`.
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    /// @notice Tokens moved from `from` to `to` (`from` is zero for mints).
    /// @param from The sender.
    /// @param to The recipient.
    /// @param value The amount.
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice `owner` allowed `spender` to move `value` of its tokens.
    /// @param owner The token owner.
    /// @param spender The spender.
    /// @param value The new allowance.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The sender's balance is too small.
    /// @param sender The sender.
    /// @param balance Its balance.
    /// @param needed The amount to move.
    error InsufficientBalance(address sender, uint256 balance, uint256 needed);

    /// @notice The spender's allowance is too small.
    /// @param spender The spender.
    /// @param allowance Its allowance.
    /// @param needed The amount to move.
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    /// @notice Tokens cannot be sent to or minted for the zero address.
    error ZeroAddressRecipient();

    /// @notice Creates the token with no supply.
    /// @param name_ The name.
    /// @param symbol_ The symbol.
    /// @param decimals_ The decimals.
    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    /// @notice Creates `amount` tokens for `to`. Anyone may call it (test token).
    /// @param to The recipient.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        if (to == address(0)) revert ZeroAddressRecipient();
        totalSupply += amount;
        unchecked {
            // Cannot overflow: no balance exceeds the total supply.
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    /// @notice Moves `amount` of the caller's tokens to `to`.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @return Always true (failures revert).
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @notice Lets `spender` move up to `amount` of the caller's tokens.
    /// @param spender The spender.
    /// @param amount The allowance (replacing the previous one).
    /// @return Always true.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @notice Moves `amount` of `from`'s tokens to `to`, using the caller's allowance.
    /// @param from The owner.
    /// @param to The recipient.
    /// @param amount The amount.
    /// @return Always true (failures revert).
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(msg.sender, allowed, amount);
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        if (to == address(0)) revert ZeroAddressRecipient();
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            // Cannot overflow: the sum of all balances is the total supply.
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
    }
}
