//! The canonical secp256k1 signature check that every family applies before it accepts a
//! signature (a user's transaction, a committee member's attestation): for each high-`s`
//! signature there is a low-`s` twin that recovers the same key, and letting both through would
//! give one message two encodings.

use crate::{Error, Result};
use alloy::primitives::{Signature, U256};

/// The order `n` of the secp256k1 group.
pub const SECP256K1_ORDER: U256 = U256::from_be_bytes([
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
]);

/// The largest canonical `s`, `n / 2` (as in EIP-2 and OpenZeppelin's `ECDSA`).
pub const MAX_LOW_S: U256 = U256::from_be_bytes([
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// Refuses signatures that are not canonical: `s` above `n / 2`, `r` or `s` zero, or `r` not
/// below the group order.
pub fn check_canonical(signature: &Signature) -> Result<()> {
    let refuse = |reason: String| Err(Error::NonCanonicalSignature { reason });
    if signature.s() > MAX_LOW_S {
        return refuse(format!("s = {:#x} is above n/2 (not canonical)", signature.s()));
    }
    if signature.r().is_zero() || signature.s().is_zero() {
        return refuse("r or s is zero".to_owned());
    }
    if signature.r() >= SECP256K1_ORDER {
        return refuse(format!("r = {:#x} is not below the group order", signature.r()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_curve_order_and_its_half() {
        assert_eq!(
            format!("{SECP256K1_ORDER:#x}"),
            "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        );
        assert_eq!(MAX_LOW_S, SECP256K1_ORDER >> 1);
    }

    #[test]
    fn each_non_canonical_form_is_refused_with_its_reason() {
        let r = U256::from(7u64);
        assert!(check_canonical(&Signature::new(r, MAX_LOW_S, false)).is_ok());
        let cases = [
            (Signature::new(r, MAX_LOW_S + U256::from(1u64), false), "above n/2"),
            (Signature::new(U256::ZERO, U256::from(1u64), true), "r or s is zero"),
            (Signature::new(r, U256::ZERO, true), "r or s is zero"),
            (Signature::new(SECP256K1_ORDER, U256::from(1u64), false), "not below the group order"),
        ];
        for (signature, reason) in cases {
            let err = check_canonical(&signature).unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
        }
    }
}
