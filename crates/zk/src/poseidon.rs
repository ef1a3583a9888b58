//! Poseidon over the BN254 scalar field with circom's parameters (circomlib `poseidon.circom`,
//! iden3 `circomlibjs`), natively ([`poseidon`]) and in-circuit ([`constraints::poseidon_var`]).
//!
//! The permutation is the Poseidon paper's HADES design with the x⁵ S-box, 8 full rounds and
//! the partial rounds circomlib uses for each width `t` (`[56, 57, 56, 60, 60, 63, 64, 63, 60,
//! 66, 60, 65, 70, 60, 64, 68]` for `t = 2..17`). The round constants and MDS matrices are those
//! circomlib generated with the reference Grain LFSR script (`generate_parameters_grain.sage`);
//! they come from [`light_poseidon`], which pins them for `t = 2..13` and is built on the same
//! arkworks version. Hashing `n` inputs uses width `t = n + 1`: the state starts as
//! `[0, inputs...]` and the digest is the first state element after the permutation, exactly
//! as circomlib's `Poseidon(n)` template, so digests (and proofs over them) interoperate with
//! the circom ecosystem. Known circomlib vectors pin it in the tests.
//!
//! This module computes the permutation itself, over the pinned constants, so that the native
//! function and the gadget read as twins; a test checks it against `light_poseidon`'s own.

use crate::{Fr, Result, ZkError};
use ark_ff::{AdditiveGroup, Field};
use light_poseidon::parameters::bn254_x5;
use std::sync::OnceLock;

/// The largest number of inputs one Poseidon call takes (width 13, the widest pinned set).
pub const MAX_INPUTS: usize = 12;

/// The number of full rounds, for every width.
pub const FULL_ROUNDS: usize = 8;

/// The number of partial rounds for widths `t = 2..=17` (index `t - 2`), as circomlib.
pub const PARTIAL_ROUNDS: [usize; 16] =
    [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/// The constants of one width.
#[derive(Debug)]
pub struct PoseidonParams {
    /// The state width `t` (inputs + 1).
    pub width: usize,
    /// The number of partial rounds.
    pub partial_rounds: usize,
    /// Round constants, `width` per round, rounds in order.
    pub round_constants: Vec<Fr>,
    /// The MDS matrix, row-major: `new[i] = Σ_j mds[i][j] · old[j]`.
    pub mds: Vec<Vec<Fr>>,
}

impl PoseidonParams {
    /// The total number of rounds.
    pub fn rounds(&self) -> usize {
        FULL_ROUNDS + self.partial_rounds
    }

    /// Whether round `round` is a full round (S-box on every element).
    pub fn is_full_round(&self, round: usize) -> bool {
        round < FULL_ROUNDS / 2 || round >= FULL_ROUNDS / 2 + self.partial_rounds
    }

    /// The round constants of round `round`.
    pub fn round_constants(&self, round: usize) -> &[Fr] {
        &self.round_constants[round * self.width..(round + 1) * self.width]
    }
}

/// The parameters for hashing `inputs` field elements (width `inputs + 1`), built once.
pub fn params(inputs: usize) -> Result<&'static PoseidonParams> {
    static TABLE: [OnceLock<PoseidonParams>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    if inputs == 0 || inputs > MAX_INPUTS {
        return Err(ZkError::PoseidonArity { got: inputs, max: MAX_INPUTS });
    }
    Ok(TABLE[inputs - 1].get_or_init(|| {
        let width = inputs + 1;
        // `width` is at most 13 here, which light-poseidon always has.
        let pinned = bn254_x5::get_poseidon_parameters::<Fr>(width as u8)
            .expect("light-poseidon pins widths 2 to 13");
        assert_eq!(pinned.full_rounds, FULL_ROUNDS);
        assert_eq!(pinned.partial_rounds, PARTIAL_ROUNDS[width - 2]);
        assert_eq!(pinned.alpha, 5);
        PoseidonParams {
            width,
            partial_rounds: pinned.partial_rounds,
            round_constants: pinned.ark,
            mds: pinned.mds,
        }
    }))
}

/// circomlib's `Poseidon(n)` of `inputs` (1 to [`MAX_INPUTS`] elements).
///
/// # Panics
/// On an empty input or more than [`MAX_INPUTS`] elements: the arity of every call site is
/// fixed by its format, so a wrong one is a bug. [`try_poseidon`] returns the error instead.
pub fn poseidon(inputs: &[Fr]) -> Fr {
    match try_poseidon(inputs) {
        Ok(digest) => digest,
        Err(err) => panic!("{err}"),
    }
}

/// circomlib's `Poseidon(n)` of `inputs`, or an error for an unsupported number of inputs.
pub fn try_poseidon(inputs: &[Fr]) -> Result<Fr> {
    let params = params(inputs.len())?;
    let mut state = Vec::with_capacity(params.width);
    state.push(Fr::ZERO);
    state.extend_from_slice(inputs);
    let mut next = vec![Fr::ZERO; params.width];
    for round in 0..params.rounds() {
        for (s, c) in state.iter_mut().zip(params.round_constants(round)) {
            *s += c;
        }
        if params.is_full_round(round) {
            state.iter_mut().for_each(|s| *s = sbox(*s));
        } else {
            state[0] = sbox(state[0]);
        }
        for (out, row) in next.iter_mut().zip(&params.mds) {
            *out = row.iter().zip(&state).map(|(m, s)| *m * s).sum();
        }
        std::mem::swap(&mut state, &mut next);
    }
    Ok(state[0])
}

/// The S-box, x⁵.
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The Poseidon gadget: the same function over [`FpVar`](ark_r1cs_std::fields::fp::FpVar)s.
pub mod constraints {
    use super::params;
    use crate::Fr;
    use ark_r1cs_std::fields::{FieldVar, fp::FpVar};
    use ark_relations::gr1cs::SynthesisError;

    /// circomlib's `Poseidon(n)` in-circuit: `3·t` constraints per full round and 3 per partial
    /// round (the S-box; constants and the MDS matrix are linear and free), fewer where an
    /// input is a constant (the capacity element of the first round always is). For `t = 3`:
    /// 240 constraints; `t = 5`: 297 (checked in the tests).
    ///
    /// Returns [`SynthesisError::Unsatisfiable`] for an unsupported number of inputs.
    pub fn poseidon_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
        let params = params(inputs.len()).map_err(|_| SynthesisError::Unsatisfiable)?;
        let mut state = Vec::with_capacity(params.width);
        state.push(FpVar::zero());
        state.extend_from_slice(inputs);
        for round in 0..params.rounds() {
            for (s, c) in state.iter_mut().zip(params.round_constants(round)) {
                *s += *c;
            }
            if params.is_full_round(round) {
                for s in state.iter_mut() {
                    *s = sbox_var(s)?;
                }
            } else {
                state[0] = sbox_var(&state[0])?;
            }
            state = params
                .mds
                .iter()
                .map(|row| row.iter().zip(&state).fold(FpVar::zero(), |acc, (m, s)| acc + s * *m))
                .collect();
        }
        Ok(state.swap_remove(0))
    }

    /// x⁵ in three constraints.
    fn sbox_var(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        let x2 = x.square()?;
        let x4 = x2.square()?;
        Ok(x4 * x)
    }
}
