// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title ValidatorSet
/// @author ply
/// @notice The sidechain's weighted validator set as the L1 bridge knows it, and the rule every
///         signed message must pass (docs/sidechain.md, "The signature rule"): signatures of
///         members of the **current** set, signers strictly ascending by address (hence unique),
///         whose weights sum to more than two thirds of the set's total weight and to at least
///         `thresholdNumerator / 10,000` of it.
/// @dev Each set has an epoch (1 for the set given at deployment, then one more per rotation);
///      weights are stored per epoch, and a signer counts only with its weight in the current
///      epoch, so a rotation removes a key at once: no allowlist entry outlives its set (Ronin
///      2022). A set is refused unless it is non-empty, at most `MAX_VALIDATORS` long, strictly
///      ascending, free of the zero address, every weight non-zero, and its threshold within
///      `[MIN_THRESHOLD_NUMERATOR, THRESHOLD_DENOMINATOR]`: a zero total weight or a zero threshold
///      can never be configured (Ronin 2024). Signatures are canonical: 65 bytes `r ‖ s ‖ v`,
///      `v` 27 or 28, `s` in the lower half of the curve order, and a non-zero recovered address.
abstract contract ValidatorSet {
    /// @notice The denominator of `thresholdNumerator` (basis points).
    uint256 public constant THRESHOLD_DENOMINATOR = 10_000;

    /// @notice The smallest threshold a set may have: 6,667 / 10,000 of the weight, more than 2/3.
    uint256 public constant MIN_THRESHOLD_NUMERATOR = 6_667;

    /// @notice The largest number of validators in a set.
    uint256 public constant MAX_VALIDATORS = 128;

    /// @notice Half the secp256k1 group order: a canonical signature's `s` is at most this.
    uint256 public constant SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    // The three below share one storage slot (one cold read per signed message).

    /// @notice The current set's epoch (1 at deployment).
    uint64 public epoch;

    /// @notice The current set's threshold, in basis points of `totalWeight`.
    uint32 public thresholdNumerator;

    /// @notice The current set's total weight (never zero; at most 128 weights of 64 bits).
    uint128 public totalWeight;

    /// @dev The current set's members, ascending.
    address[] private _validators;

    /// @dev Each member's weight, per epoch (0: not a member of that epoch's set).
    mapping(uint64 epoch => mapping(address validator => uint256 weight)) private _weights;

    /// @notice A validator set became the current one.
    /// @param epoch Its epoch.
    /// @param validators Its members, ascending.
    /// @param weights Their weights.
    /// @param thresholdNumerator Its threshold, in basis points of its total weight.
    /// @param totalWeight Its total weight.
    event ValidatorSetUpdated(
        uint64 indexed epoch, address[] validators, uint64[] weights, uint256 thresholdNumerator, uint256 totalWeight
    );

    /// @notice The set has no member, hence no weight.
    error ZeroTotalWeight();
    /// @notice The set has more members than `MAX_VALIDATORS`.
    /// @param count The number of members.
    /// @param max The largest allowed.
    error TooManyValidators(uint256 count, uint256 max);
    /// @notice The addresses and weights differ in length.
    /// @param validators The number of addresses.
    /// @param weights The number of weights.
    error LengthMismatch(uint256 validators, uint256 weights);
    /// @notice A member is the zero address.
    /// @param index Its position.
    error ZeroValidator(uint256 index);
    /// @notice The members are not strictly ascending (or one appears twice).
    /// @param index The position of the first out of order.
    error ValidatorsNotSorted(uint256 index);
    /// @notice A member has weight zero.
    /// @param validator The member.
    error ZeroWeight(address validator);
    /// @notice The threshold is zero.
    error ZeroThreshold();
    /// @notice The threshold is below `MIN_THRESHOLD_NUMERATOR`.
    /// @param numerator The threshold given.
    /// @param min The smallest allowed.
    error ThresholdTooLow(uint256 numerator, uint256 min);
    /// @notice The threshold is above `THRESHOLD_DENOMINATOR` (more than the whole weight).
    /// @param numerator The threshold given.
    /// @param max The largest allowed.
    error ThresholdTooHigh(uint256 numerator, uint256 max);
    /// @notice The signatures are not a non-empty concatenation of 65-byte signatures.
    /// @param length Their length in bytes.
    error MalformedSignatures(uint256 length);
    /// @notice Signature `index` is not canonical (`v` not 27/28, high `s`) or recovers no address.
    /// @param index Its position.
    error MalformedSignature(uint256 index);
    /// @notice The signer is not a member of the current set (a removed key, or a signature over
    ///         another message or domain, which recovers to an unrelated address).
    /// @param signer The recovered address.
    /// @param epoch The current epoch.
    error NotAValidator(address signer, uint64 epoch);
    /// @notice The same validator signed twice.
    /// @param signer The validator.
    error DuplicateSigner(address signer);
    /// @notice The signers are not in ascending order of address.
    /// @param previous The signer before.
    /// @param signer The signer that should have come before it.
    error SignersNotSorted(address previous, address signer);
    /// @notice The signers' weight is not above two thirds of the total, or below the threshold.
    /// @param signed The signers' weight.
    /// @param total The set's total weight.
    /// @param thresholdNumerator The set's threshold, in basis points.
    error InsufficientWeight(uint256 signed, uint256 total, uint256 thresholdNumerator);

    /// @notice The current set's members, ascending.
    /// @return The addresses.
    function validators() external view returns (address[] memory) {
        return _validators;
    }

    /// @notice The weight of `validator` in the current set (0 if it is not a member).
    /// @param validator The address.
    /// @return The weight.
    function weightOf(address validator) external view returns (uint256) {
        return _weights[epoch][validator];
    }

    /// @dev Checks a set and makes it the current one, under the next epoch.
    function _setValidators(address[] memory members, uint64[] memory weights, uint256 numerator) internal {
        uint256 count = members.length;
        if (count == 0) revert ZeroTotalWeight();
        if (count > MAX_VALIDATORS) revert TooManyValidators(count, MAX_VALIDATORS);
        if (weights.length != count) revert LengthMismatch(count, weights.length);
        if (numerator == 0) revert ZeroThreshold();
        if (numerator < MIN_THRESHOLD_NUMERATOR) revert ThresholdTooLow(numerator, MIN_THRESHOLD_NUMERATOR);
        if (numerator > THRESHOLD_DENOMINATOR) revert ThresholdTooHigh(numerator, THRESHOLD_DENOMINATOR);

        uint64 next = epoch + 1;
        mapping(address => uint256) storage weightOf_ = _weights[next];
        uint256 total = 0;
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address member = members[i];
            if (member == address(0)) revert ZeroValidator(i);
            if (member <= previous) revert ValidatorsNotSorted(i);
            uint256 weight = weights[i];
            if (weight == 0) revert ZeroWeight(member);
            weightOf_[member] = weight;
            total += weight;
            previous = member;
        }
        // Unreachable with non-zero weights; kept so that no future change can configure it.
        if (total == 0) revert ZeroTotalWeight();

        epoch = next;
        // casting is safe: numerator <= THRESHOLD_DENOMINATOR, total <= 128 * (2^64 - 1)
        // forge-lint: disable-next-line(unsafe-typecast)
        thresholdNumerator = uint32(numerator);
        // forge-lint: disable-next-line(unsafe-typecast)
        totalWeight = uint128(total);
        _validators = members;
        emit ValidatorSetUpdated(next, members, weights, numerator, total);
    }

    /// @dev Reverts unless `signatures` (65-byte `r ‖ s ‖ v`, concatenated) are canonical
    ///      signatures of `digest` by members of the current set, in strictly ascending order of
    ///      address, holding more than 2/3 of the total weight and at least the threshold.
    /// @return signed The signers' weight.
    function _verifySignatures(bytes32 digest, bytes calldata signatures) internal view returns (uint256 signed) {
        uint256 length = signatures.length;
        if (length == 0 || length % 65 != 0) revert MalformedSignatures(length);
        uint256 count = length / 65;
        mapping(address => uint256) storage weightOf_ = _weights[epoch];
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            uint256 offset = i * 65;
            bytes32 r = bytes32(signatures[offset:offset + 32]);
            bytes32 s = bytes32(signatures[offset + 32:offset + 64]);
            uint8 v = uint8(signatures[offset + 64]);
            if ((v != 27 && v != 28) || uint256(s) > SECP256K1_HALF_N) revert MalformedSignature(i);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert MalformedSignature(i);
            uint256 weight = weightOf_[signer];
            if (weight == 0) revert NotAValidator(signer, epoch);
            if (signer == previous) revert DuplicateSigner(signer);
            if (signer < previous) revert SignersNotSorted(previous, signer);
            signed += weight;
            previous = signer;
        }
        uint256 total = totalWeight;
        uint256 numerator = thresholdNumerator;
        if (3 * signed <= 2 * total || signed * THRESHOLD_DENOMINATOR < total * numerator) {
            revert InsufficientWeight(signed, total, numerator);
        }
    }
}
