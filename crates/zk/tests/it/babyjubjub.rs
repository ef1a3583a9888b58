//! BabyJubjub in circomlib's coordinates.

use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::PrimeField;
use ply_zk::babyjubjub::{B8, Fs, GENERATOR, PointProjective};

#[test]
fn base_points_are_circomlibs() {
    assert!(B8.is_on_curve());
    assert!(GENERATOR.is_on_curve());
    assert_eq!(GENERATOR.mul_by_cofactor(), B8);
    // B8 has prime order l; the generator has order 8·l.
    assert!(B8.mul_bigint(Fs::MODULUS).into_affine().is_zero());
    assert!(!GENERATOR.mul_bigint(Fs::MODULUS).into_affine().is_zero());
    assert_eq!(PointProjective::generator().into_affine(), B8);
}
