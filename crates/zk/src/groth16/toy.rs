//! [`CubeCircuit`]: the toy circuit of the Groth16 tests and of the checked-in
//! `contracts/src/zk/ToyVerifier.sol`.

use crate::Fr;
use ark_ff::Field;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

/// Knowledge of a secret `x` with `x³ + x + 5 = y`, for a public `y`: the smallest useful
/// circuit (3 constraints, 1 public input), which exercises the whole proof pipeline (setup,
/// proving, native and on-chain verification) in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CubeCircuit {
    /// The secret; `None` for setup.
    pub x: Option<Fr>,
    /// The public claim; `None` for setup.
    pub y: Option<Fr>,
}

impl CubeCircuit {
    /// The circuit with no assignment, for setup and [`super::CircuitShape::of`].
    pub fn shape() -> Self {
        Self::default()
    }

    /// The honest statement for `x`: `y = x³ + x + 5`.
    pub fn new(x: Fr) -> Self {
        Self { x: Some(x), y: Some(Self::output(x)) }
    }

    /// `x³ + x + 5`.
    pub fn output(x: Fr) -> Fr {
        x.pow([3]) + x + Fr::from(5u64)
    }

    /// The public inputs in the order the circuit allocates them: `[y]` (empty without an
    /// assignment).
    pub fn public_inputs(&self) -> Vec<Fr> {
        self.y.into_iter().collect()
    }
}

impl ConstraintSynthesizer<Fr> for CubeCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let y = FpVar::new_input(cs.clone(), || self.y.ok_or(SynthesisError::AssignmentMissing))?;
        let x = FpVar::new_witness(cs, || self.x.ok_or(SynthesisError::AssignmentMissing))?;
        let cube = &x * &x * &x;
        (cube + &x + Fr::from(5u64)).enforce_equal(&y)
    }
}
