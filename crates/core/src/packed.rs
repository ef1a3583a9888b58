//! Packed decimal amounts: a value as `m · 10^e`, with `m` below `2^mantissa_bits` and `e`
//! below `2^exponent_bits`, in `mantissa_bits + exponent_bits` bits (`m` high, `e` low). This is
//! how batches posted to L1 carry amounts and fees compactly; only values with such an exact
//! form can be packed, and the packing is canonical (the smallest exponent), so that a value
//! has one encoding.

use alloy::primitives::U256;

/// A packed decimal format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalPacking {
    mantissa_bits: u32,
    exponent_bits: u32,
}

impl DecimalPacking {
    /// The format with these widths. Panics (at compile time, in a `const`) unless the
    /// mantissa has 1 to 58 bits and the exponent 1 to 5, so that every packed value fits in
    /// 64 bits and unpacks into a [`U256`] without overflow.
    pub const fn new(mantissa_bits: u32, exponent_bits: u32) -> Self {
        assert!(mantissa_bits >= 1 && mantissa_bits <= 58, "mantissa of 1 to 58 bits");
        assert!(exponent_bits >= 1 && exponent_bits <= 5, "exponent of 1 to 5 bits");
        Self { mantissa_bits, exponent_bits }
    }

    /// The packed width in bits.
    pub const fn bits(&self) -> u32 {
        self.mantissa_bits + self.exponent_bits
    }

    /// The mantissa's width in bits.
    pub const fn mantissa_bits(&self) -> u32 {
        self.mantissa_bits
    }

    /// The exponent's width in bits.
    pub const fn exponent_bits(&self) -> u32 {
        self.exponent_bits
    }

    /// Packs `value` with the smallest exponent, or `None` if it has no exact packed form.
    pub fn pack(&self, value: U256) -> Option<u64> {
        let limit = U256::from(1u64) << self.mantissa_bits;
        let ten = U256::from(10u64);
        let (mut m, mut e) = (value, 0u64);
        while m >= limit {
            if !(m % ten).is_zero() || e + 1 >= (1 << self.exponent_bits) {
                return None;
            }
            m /= ten;
            e += 1;
        }
        Some((m.to::<u64>() << self.exponent_bits) | e)
    }

    /// The value `packed` stands for (bits above [`bits`](Self::bits) are ignored).
    pub fn unpack(&self, packed: u64) -> U256 {
        let packed = packed & ((1u64 << self.bits()) - 1);
        let e = packed & ((1 << self.exponent_bits) - 1);
        let m = packed >> self.exponent_bits;
        U256::from(m) * U256::from(10u64).pow(U256::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMOUNT: DecimalPacking = DecimalPacking::new(35, 5);

    #[test]
    fn packing_is_exact_canonical_and_refuses_what_it_cannot_hold() {
        let v = |n: u64| U256::from(n);
        // Below 2^35 the exponent is 0: the value itself.
        assert_eq!(AMOUNT.pack(v(12_345)), Some(12_345 << 5));
        // 10^18 (one ether): the smallest exponent whose mantissa fits (10^18 / 10^8 < 2^35).
        let ether = v(1_000_000_000_000_000_000);
        let packed = AMOUNT.pack(ether).unwrap();
        assert_eq!(packed & 31, 8);
        assert_eq!(AMOUNT.unpack(packed), ether);
        // Not a multiple of ten above the mantissa's range: no exact form.
        assert_eq!(AMOUNT.pack((v(1) << 35) + v(1)), None);
        // An exponent beyond 31: no form either.
        assert_eq!(AMOUNT.pack(U256::from(10u64).pow(v(45))), None);
        // Every packed value unpacks to a value that packs back to it.
        for packed in [0u64, 1, 31, 32, (1 << 40) - 1, 0xdead_beef] {
            let value = AMOUNT.unpack(packed);
            let again = AMOUNT.pack(value).unwrap();
            assert_eq!(AMOUNT.unpack(again), value);
        }
        assert_eq!(AMOUNT.unpack(u64::MAX), AMOUNT.unpack((1 << 40) - 1), "high bits ignored");
        assert_eq!(AMOUNT.bits(), 40);
    }
}
