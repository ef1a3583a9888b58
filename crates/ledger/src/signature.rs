//! Signatures in the 64-byte EIP-2098 compact form that batches carry.
//!
//! `r (32) ‖ yParity << 255 | s (32)`. Only canonical (low-`s`) signatures are accepted: for
//! each high-`s` signature there is a low-`s` twin that recovers the same key, and letting both
//! through would give one transaction two encodings.

use crate::{LedgerError, Result};
use alloy::primitives::Signature;

pub use ply_core::signature::{MAX_LOW_S, SECP256K1_ORDER};

/// The length of a compact signature.
pub const COMPACT_SIGNATURE_LEN: usize = 64;

/// Refuses signatures that are not canonical: the core's check
/// ([`ply_core::signature::check_canonical`]), its refusal as a [`LedgerError::BadSignature`].
pub fn check_canonical(signature: &Signature) -> Result<()> {
    ply_core::signature::check_canonical(signature).map_err(|e| match e {
        ply_core::Error::NonCanonicalSignature { reason } => LedgerError::BadSignature { reason },
        other => LedgerError::BadSignature { reason: other.to_string() },
    })
}

/// The EIP-2098 compact encoding of a canonical signature.
pub fn to_compact(signature: &Signature) -> Result<[u8; COMPACT_SIGNATURE_LEN]> {
    check_canonical(signature)?;
    // `as_erc2098` would silently flip a high `s`; it is low here, so the bytes are exact.
    Ok(signature.as_erc2098())
}

/// Decodes an EIP-2098 compact signature, refusing non-canonical ones.
pub fn from_compact(bytes: &[u8; COMPACT_SIGNATURE_LEN]) -> Result<Signature> {
    let signature = Signature::from_erc2098(bytes);
    check_canonical(&signature)?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ply_core::U256;

    #[test]
    fn constants_are_the_curve_order_and_its_half() {
        assert_eq!(
            format!("{SECP256K1_ORDER:#x}"),
            "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        );
        assert_eq!(MAX_LOW_S, SECP256K1_ORDER >> 1);
        assert_eq!(
            format!("{MAX_LOW_S:#x}"),
            "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
        );
    }

    #[test]
    fn compact_round_trip_and_high_s_refused() {
        let r = U256::from(12345u64);
        for parity in [false, true] {
            let low = Signature::new(r, MAX_LOW_S, parity);
            let bytes = to_compact(&low).unwrap();
            assert_eq!(bytes[32] >> 7, u8::from(parity));
            assert_eq!(from_compact(&bytes).unwrap(), low);

            let high = Signature::new(r, MAX_LOW_S + U256::from(1u64), parity);
            assert!(matches!(to_compact(&high), Err(LedgerError::BadSignature { .. })));
            // The same high s smuggled into compact bytes (it fits below 2^255).
            let mut smuggled = [0u8; 64];
            smuggled[..32].copy_from_slice(&r.to_be_bytes::<32>());
            smuggled[32..].copy_from_slice(&high.s().to_be_bytes::<32>());
            smuggled[32] |= u8::from(parity) << 7;
            assert!(matches!(from_compact(&smuggled), Err(LedgerError::BadSignature { .. })));
        }
        assert!(from_compact(&[0u8; 64]).is_err(), "zero r and s");
    }
}
