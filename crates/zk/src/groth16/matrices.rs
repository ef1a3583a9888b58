//! [`ConstraintMatrices`]: a circuit's R1CS matrices, synthesized once without a witness, so
//! that each proof only computes its witness.
//!
//! Synthesizing a circuit with its constraints (building every linear combination, inlining
//! them, laying out the matrices) and checking a witness against arkworks' own constraint
//! system cost several times the Groth16 prover's own work on the batch circuit. Neither
//! depends on the witness: the matrices are the same for every batch of a shape. So they are
//! built once per process, and a proof synthesizes its circuit in arkworks' witness-only mode
//! and checks the assignment against these matrices, row by row in parallel.

use super::{CircuitShape, Result};
use crate::Fr;
use alloy::primitives::keccak256;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, Matrix, OptimizationGoal,
    R1CS_PREDICATE_LABEL, SynthesisError, SynthesisMode,
};
use ark_serialize::CanonicalSerialize;
use rayon::prelude::*;

/// The R1CS matrices `A`, `B`, `C` of a circuit and its [`CircuitShape`]: an assignment `z`
/// (the constant 1, the public inputs, then the witnesses) satisfies the circuit when
/// `(A·z)ᵢ · (B·z)ᵢ = (C·z)ᵢ` for every row `i`.
#[derive(Clone)]
pub struct ConstraintMatrices {
    shape: CircuitShape,
    /// `[A, B, C]`, one sparse row of `(coefficient, column)` per constraint: the layout
    /// `ark_groth16` takes.
    abc: Vec<Matrix<Fr>>,
}

impl ConstraintMatrices {
    /// Synthesizes `circuit` in setup mode (its witness values are not used) and lays out its
    /// matrices, as the Groth16 generator sees them.
    pub fn of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self> {
        let cs = new_constraint_system(SynthesisMode::Setup);
        circuit.generate_constraints(cs.clone())?;
        Self::of_synthesized(&cs)
    }

    /// The matrices of a constraint system synthesized with its constraints (setup mode, or
    /// prove mode with `construct_matrices`).
    pub(super) fn of_synthesized(cs: &ConstraintSystemRef<Fr>) -> Result<Self> {
        cs.finalize();
        let abc =
            cs.to_matrices()?.remove(R1CS_PREDICATE_LABEL).ok_or(SynthesisError::MissingCS)?;
        let shape = CircuitShape {
            constraints: cs.num_constraints(),
            public_inputs: cs.num_instance_variables() - 1,
            witnesses: cs.num_witness_variables(),
            fingerprint: fingerprint(cs, &abc),
        };
        Ok(Self { shape, abc })
    }

    /// The circuit's size and fingerprint.
    pub fn shape(&self) -> &CircuitShape {
        &self.shape
    }

    /// `[A, B, C]`.
    pub(super) fn abc(&self) -> &[Matrix<Fr>] {
        &self.abc
    }

    /// Synthesizes `circuit` for its witness only (as the prover does) and returns every row
    /// its assignment does not satisfy, in order: empty when the witness satisfies the
    /// circuit. The circuit must be of these matrices' shape.
    pub fn unsatisfied_rows<C: ConstraintSynthesizer<Fr>>(&self, circuit: C) -> Result<Vec<usize>> {
        let cs = new_constraint_system(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit.generate_constraints(cs.clone())?;
        let z = self.assignment_of(&cs)?;
        let [a, b, c] = &self.abc[..] else { return Ok(vec![0]) };
        let dot = |row: &[(Fr, usize)]| -> Fr {
            row.iter().map(|(coefficient, column)| *coefficient * z[*column]).sum()
        };
        Ok((0..self.shape.constraints)
            .into_par_iter()
            .filter(|&i| dot(&a[i]) * dot(&b[i]) != dot(&c[i]))
            .collect())
    }

    /// Synthesizes `circuit` for its witness only (as the prover does) and returns its full
    /// assignment: the constant 1, the public inputs, then the witnesses, one value per column.
    pub fn assignment<C: ConstraintSynthesizer<Fr>>(&self, circuit: C) -> Result<Vec<Fr>> {
        let cs = new_constraint_system(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit.generate_constraints(cs.clone())?;
        self.assignment_of(&cs)
    }

    /// For each column, the rows whose `A`, `B` or `C` entry uses it, in order: what
    /// [`Self::unsatisfied_rows_near`] needs to check only the rows a change can reach.
    pub fn rows_by_column(&self) -> Vec<Vec<u32>> {
        let columns = 1 + self.shape.public_inputs + self.shape.witnesses;
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); columns];
        for (row, entries) in self.abc.iter().flat_map(|m| m.iter().enumerate()) {
            for (_, column) in entries {
                let rows = &mut out[*column];
                if rows.last() != Some(&(row as u32)) {
                    rows.push(row as u32);
                }
            }
        }
        for rows in &mut out {
            rows.sort_unstable();
            rows.dedup();
        }
        out
    }

    /// The rows that assignment `z` does not satisfy, in order, given an assignment `base`
    /// that satisfies every row and `rows_by_column` ([`Self::rows_by_column`]): only the rows
    /// that use a column where `z` differs from `base` are evaluated, since every other row
    /// evaluates as it does on `base`. The same answer as checking every row of `z`, at the
    /// cost of the rows a change reaches.
    pub fn unsatisfied_rows_near(
        &self,
        base: &[Fr],
        rows_by_column: &[Vec<u32>],
        z: &[Fr],
    ) -> Vec<usize> {
        let [a, b, c] = &self.abc[..] else { return vec![0] };
        let mut touched = vec![false; self.shape.constraints];
        for (column, rows) in rows_by_column.iter().enumerate() {
            if base[column] != z[column] {
                for row in rows {
                    touched[*row as usize] = true;
                }
            }
        }
        let dot = |row: &[(Fr, usize)]| -> Fr {
            row.iter().map(|(coefficient, column)| *coefficient * z[*column]).sum()
        };
        (0..self.shape.constraints)
            .filter(|&i| touched[i] && dot(&a[i]) * dot(&b[i]) != dot(&c[i]))
            .collect()
    }

    /// The full assignment (the constant 1, the public inputs, the witnesses) synthesized in
    /// `cs`, checked to have one value per column of these matrices.
    pub(super) fn assignment_of(&self, cs: &ConstraintSystemRef<Fr>) -> Result<Vec<Fr>> {
        if cs.num_instance_variables() != self.shape.public_inputs + 1
            || cs.num_witness_variables() != self.shape.witnesses
        {
            return Err(super::Groth16Error::WrongMatrices {
                circuit_inputs: cs.num_instance_variables() - 1,
                circuit_witnesses: cs.num_witness_variables(),
                shape: Box::new(self.shape),
            });
        }
        Ok([cs.instance_assignment()?, cs.witness_assignment()?].concat())
    }

    /// The first row that the full assignment `z` (the constant 1, the public inputs, the
    /// witnesses) does not satisfy, if any. `z` must have one value per column.
    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        let dot = |row: &[(Fr, usize)]| -> Fr {
            row.iter().map(|(coefficient, column)| *coefficient * z[*column]).sum()
        };
        let [a, b, c] = &self.abc[..] else { return Some(0) };
        (0..self.shape.constraints)
            .into_par_iter()
            .find_first(|&i| dot(&a[i]) * dot(&b[i]) != dot(&c[i]))
    }
}

impl std::fmt::Debug for ConstraintMatrices {
    /// The shape only: the matrices of a batch circuit hold millions of entries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstraintMatrices").field("shape", &self.shape).finish_non_exhaustive()
    }
}

/// An empty constraint system in `mode`, optimized for the fewest constraints (what Groth16
/// wants: additions are free).
pub(super) fn new_constraint_system(mode: SynthesisMode) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(mode);
    cs
}

/// Keccak-256 of the counts and of every matrix entry's column and coefficient, in order.
fn fingerprint(cs: &ConstraintSystemRef<Fr>, abc: &[Matrix<Fr>]) -> alloy::primitives::B256 {
    let mut bytes = Vec::new();
    for count in [cs.num_constraints(), cs.num_instance_variables(), cs.num_witness_variables()] {
        bytes.extend_from_slice(&(count as u64).to_le_bytes());
    }
    for matrix in abc {
        for row in matrix {
            bytes.extend_from_slice(&u64::MAX.to_le_bytes()); // row separator
            for (coefficient, column) in row {
                bytes.extend_from_slice(&(*column as u64).to_le_bytes());
                coefficient
                    .serialize_compressed(&mut bytes)
                    .expect("a field element serializes into a Vec");
            }
        }
    }
    keccak256(&bytes)
}
