//! Proving: one proof ([`prove`], [`prove_with`] the circuit's matrices built beforehand) or
//! many on a pool of threads ([`prove_many`]), with a progress hook.

use super::matrices::{ConstraintMatrices, new_constraint_system};
use super::{Engine, Groth16Error, Proof, ProvingKey, Result};
use crate::Fr;
use ark_ff::UniformRand;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisMode};
use ark_std::rand::{CryptoRng, RngCore, SeedableRng, rngs::StdRng};
use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// Proves that `circuit`'s witness satisfies it, under `pk`: a one-off proof, which also
/// builds the circuit's matrices. To prove many witnesses of one circuit, build its
/// [`ConstraintMatrices`] once and use [`prove_with`] (what [`Keys::prove`](super::Keys::prove)
/// does): it skips that work, which costs more than the proof itself on large circuits.
///
/// The witness is checked first: a witness that does not satisfy the circuit is refused with
/// [`Groth16Error::Unsatisfied`], naming the first constraint it breaks, instead of yielding a
/// proof that would not verify. `rng` draws the blinding factors that hide the witness (the
/// proof's zero knowledge): use a cryptographically secure RNG seeded from the operating
/// system in production; a seeded one only makes tests reproducible.
pub fn prove<C, R>(pk: &ProvingKey, circuit: C, rng: &mut R) -> Result<Proof>
where
    C: ConstraintSynthesizer<Fr>,
    R: RngCore + CryptoRng,
{
    let cs = new_constraint_system(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    let matrices = ConstraintMatrices::of_synthesized(&cs)?;
    prove_assignment(pk, &matrices, &cs, rng)
}

/// Proves that `circuit`'s witness satisfies it, under `pk`, with the circuit's `matrices`
/// built beforehand ([`ConstraintMatrices::of`]): the circuit is synthesized for its witness
/// only. The witness is checked against `matrices` as [`prove`] checks it.
pub fn prove_with<C, R>(
    pk: &ProvingKey,
    matrices: &ConstraintMatrices,
    circuit: C,
    rng: &mut R,
) -> Result<Proof>
where
    C: ConstraintSynthesizer<Fr>,
    R: RngCore + CryptoRng,
{
    let cs = new_constraint_system(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    prove_assignment(pk, matrices, &cs, rng)
}

/// The proof of the assignment synthesized in `cs`, once it is checked against `matrices` and
/// `pk` is checked to be a key of the same circuit.
fn prove_assignment<R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    matrices: &ConstraintMatrices,
    cs: &ConstraintSystemRef<Fr>,
    rng: &mut R,
) -> Result<Proof> {
    let shape = matrices.shape();
    let full_assignment = matrices.assignment_of(cs)?;
    let num_inputs = cs.num_instance_variables();
    let variables = full_assignment.len();
    if num_inputs != pk.vk.gamma_abc_g1.len() || variables != pk.a_query.len() {
        // A proving key for another circuit: arkworks would index out of bounds.
        return Err(Groth16Error::WrongProvingKey {
            key_inputs: pk.vk.gamma_abc_g1.len().saturating_sub(1),
            key_variables: pk.a_query.len(),
            circuit_inputs: num_inputs - 1,
            circuit_variables: variables,
        });
    }
    if let Some(row) = matrices.first_unsatisfied(&full_assignment) {
        return Err(Groth16Error::Unsatisfied { constraint: format!("row {row}") });
    }
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    Ok(Engine::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        matrices.abc(),
        num_inputs,
        shape.constraints,
        &full_assignment,
    )?)
}

/// One finished proof of a [`prove_many`] run, reported to its progress hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProveProgress {
    /// The index of the circuit just proven (or refused), in the order given.
    pub index: usize,
    /// How many circuits are finished, this one included.
    pub done: usize,
    /// How many circuits the run proves.
    pub total: usize,
    /// How long this circuit's proof took.
    pub took: Duration,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Whether this circuit was proven (`false`: refused; [`prove_many`] returns the error).
    pub ok: bool,
}

/// A progress hook for [`prove_many`] that prints one line per finished proof on stderr,
/// e.g. `proved 3/8 (circuit 2) in 1.21s, 3.40s elapsed`.
pub fn report_progress_to_stderr(progress: ProveProgress) {
    let verb = if progress.ok { "proved" } else { "FAILED" };
    eprintln!(
        "{verb} {}/{} (circuit {}) in {:.2}s, {:.2}s elapsed",
        progress.done,
        progress.total,
        progress.index,
        progress.took.as_secs_f64(),
        progress.elapsed.as_secs_f64()
    );
}

/// Proves every circuit in `circuits` on `threads` threads (at least one), calling `progress`
/// as each proof finishes; returns the proofs in the order of `circuits`.
///
/// Each proof gets its own RNG, seeded from `rng` in the order of `circuits` before any
/// thread starts, so a seeded `rng` gives the same proofs whatever the scheduling. If any
/// circuit is refused (see [`prove_with`]), the others are still proven (and reported), and the
/// error of the first refused circuit is returned.
pub fn prove_many<C, R>(
    pk: &ProvingKey,
    matrices: &ConstraintMatrices,
    circuits: Vec<C>,
    threads: usize,
    rng: &mut R,
    progress: &(dyn Fn(ProveProgress) + Sync),
) -> Result<Vec<Proof>>
where
    C: ConstraintSynthesizer<Fr> + Send,
    R: RngCore + CryptoRng,
{
    let total = circuits.len();
    let jobs: Vec<(usize, C, StdRng)> = circuits
        .into_iter()
        .enumerate()
        .map(|(index, circuit)| {
            let mut seed = <StdRng as SeedableRng>::Seed::default();
            rng.fill_bytes(&mut seed);
            (index, circuit, StdRng::from_seed(seed))
        })
        .collect();
    let queue = Mutex::new(jobs.into_iter());
    let results: Mutex<Vec<Option<Result<Proof>>>> = Mutex::new((0..total).map(|_| None).collect());
    let done = Mutex::new(0usize);
    let started = Instant::now();

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, total.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let Some((index, circuit, mut job_rng)) = queue.lock().next() else {
                            break;
                        };
                        let start = Instant::now();
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            prove_with(pk, matrices, circuit, &mut job_rng)
                        }))
                        .unwrap_or(Err(Groth16Error::ProverPanicked { index }));
                        let ok = result.is_ok();
                        results.lock()[index] = Some(result);
                        let done = {
                            let mut done = done.lock();
                            *done += 1;
                            *done
                        };
                        progress(ProveProgress {
                            index,
                            done,
                            total,
                            took: start.elapsed(),
                            elapsed: started.elapsed(),
                            ok,
                        });
                    }
                })
            })
            .collect();
        for worker in workers {
            // Panics inside proving are caught above; one here is the hook's own.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });

    results
        .into_inner()
        .into_iter()
        .enumerate()
        .map(|(index, result)| result.unwrap_or(Err(Groth16Error::ProverPanicked { index })))
        .collect()
}

/// A proving RNG seeded from the operating system's randomness: what production proofs use
/// (the blinding factors must be secret and fresh for the proof to hide the witness).
pub fn os_rng() -> StdRng {
    StdRng::from_seed(alloy::primitives::B256::random().0)
}
