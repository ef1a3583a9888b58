//! BabyJubjub in circomlib's form: the twisted Edwards curve `a·x² + y² = 1 + d·x²·y²` with
//! `a = 168700`, `d = 168696` over the BN254 scalar field [`Fr`], of order `8·l`, and circomlib's
//! base point `B8` (which generates the subgroup of prime order `l`).
//!
//! arkworks' `ark-ed-on-bn254` has the same group in the isomorphic `a = 1` form, whose
//! coordinates differ from circomlib's; ply uses circomlib's coordinates so that public keys
//! and signatures interoperate with circom circuits and iden3's tools. Only the subgroup order
//! (the scalar field [`Fs`]) is taken from `ark-ed-on-bn254`.

use crate::Fr;
use ark_ec::{
    CurveConfig,
    twisted_edwards::{Affine, MontCurveConfig, Projective, TECurveConfig},
};
use ark_ff::MontFp;

/// The scalar field of BabyJubjub's prime-order subgroup: integers modulo
/// `l = 2736030358979909402780800718157159386076813972158567259200215660948447373041`.
pub type Fs = ark_ed_on_bn254::Fr;

/// The curve parameters for arkworks' twisted Edwards model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BabyJubjubConfig;

/// A BabyJubjub point in affine coordinates.
pub type Point = Affine<BabyJubjubConfig>;

/// A BabyJubjub point in projective coordinates (for arithmetic).
pub type PointProjective = Projective<BabyJubjubConfig>;

/// circomlib's `Base8`, the generator of the prime-order subgroup (8 × `GENERATOR`).
pub const B8: Point = Point::new_unchecked(
    MontFp!("5299619240641551281634865583518297030282874472190772894086521144482721001553"),
    MontFp!("16950150798460657717958625567821834550301663161624707787222815936182638968203"),
);

/// circomlib's `Generator`, a generator of the whole group (order `8·l`).
pub const GENERATOR: Point = Point::new_unchecked(
    MontFp!("995203441582195749578291179787384436505546430278305826713579947235728471134"),
    MontFp!("5472060717959818805561601436314318772137091100104008585924551046643952123905"),
);

impl CurveConfig for BabyJubjubConfig {
    type BaseField = Fr;
    type ScalarField = Fs;

    const COFACTOR: &'static [u64] = &[8];
    /// 8⁻¹ mod l.
    const COFACTOR_INV: Fs =
        MontFp!("2394026564107420727433200628387514462817212225638746351800188703329891451411");
}

impl TECurveConfig for BabyJubjubConfig {
    const COEFF_A: Fr = MontFp!("168700");
    const COEFF_D: Fr = MontFp!("168696");
    /// The prime-order generator `B8`, so that arkworks' subgroup arithmetic uses circomlib's.
    const GENERATOR: Point = B8;

    type MontCurveConfig = BabyJubjubConfig;
}

/// The birationally equivalent Montgomery curve `y² = x³ + 168698·x² + x`
/// (`A = 2(a + d)/(a − d)`, `B = 4/(a − d)`).
impl MontCurveConfig for BabyJubjubConfig {
    const COEFF_A: Fr = MontFp!("168698");
    const COEFF_B: Fr = MontFp!("1");

    type TECurveConfig = BabyJubjubConfig;
}

/// BabyJubjub in-circuit: points as pairs of [`FpVar`](ark_r1cs_std::fields::fp::FpVar)s.
pub mod constraints {
    use super::BabyJubjubConfig;
    use crate::Fr;
    use ark_r1cs_std::{fields::fp::FpVar, groups::curves::twisted_edwards::AffineVar};

    /// A BabyJubjub point in-circuit, with arkworks' complete twisted Edwards formulas.
    pub type PointVar = AffineVar<BabyJubjubConfig, FpVar<Fr>>;
}
