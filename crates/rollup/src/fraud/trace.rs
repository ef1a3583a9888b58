//! The trace of a batch: every step hash from `S_0` to `S_N`.

use super::{
    BatchData, BatchInput, StepEvent, StepMachine, StepProof, StepState, TxVerifier, step_hash,
};
use crate::{Error, Result};
use alloy::primitives::B256;
use ply_ledger::{KeccakHasher, Ledger, SigningDomain};

/// `N = (newQueueCount - prevQueueCount) + floor(dataLength / 79) + 2`: the number of steps
/// of a batch's trace (79 bytes is the smallest transaction).
pub fn trace_length(ops: u64, data_length: u64) -> u64 {
    ops + data_length / crate::batch::TRANSFER_SIZE as u64 + 2
}

/// The trace of one batch: the step hashes `stepHash(S_0) .. stepHash(S_N)`, and what it takes
/// to rebuild the pre-state of any step (the state before the batch).
///
/// A challenger builds it for a disputed batch, bisects with [`hash`](Self::hash), and at the
/// leaf takes the pre-state, witness and context of the step from
/// [`step_proof`](Self::step_proof): `executor.step(proof.pre, proof.witness, proof.context)`
/// returns a state whose step hash is `hash(i + 1)`.
#[derive(Debug, Clone)]
pub struct Trace {
    start: Ledger<KeccakHasher>,
    hashes: Vec<B256>,
    events: Vec<StepEvent>,
    end: StepMachine,
}

impl Trace {
    /// Runs the batch from `start` (the state after the previous batch) for `N` steps.
    pub fn build(
        start: Ledger<KeccakHasher>,
        input: &BatchInput<'_>,
        verifier: &mut impl TxVerifier,
    ) -> Result<Self> {
        let steps = trace_length(input.ops.len() as u64, input.data.len() as u64);
        let mut machine = StepMachine::new(start.clone());
        let mut hashes = Vec::with_capacity(steps as usize + 1);
        let mut events = Vec::with_capacity(steps as usize);
        hashes.push(step_hash(&machine.state()));
        for _ in 0..steps {
            events.push(machine.step(input, verifier)?);
            hashes.push(step_hash(&machine.state()));
        }
        Ok(Self { start, hashes, events, end: machine })
    }

    /// `N`, the number of steps.
    pub fn steps(&self) -> u64 {
        self.events.len() as u64
    }

    /// `stepHash(S_i)`, for `i` in `0..=N`.
    pub fn hash(&self, i: u64) -> Option<B256> {
        self.hashes.get(usize::try_from(i).ok()?).copied()
    }

    /// Every step hash, `S_0` first.
    pub fn hashes(&self) -> &[B256] {
        &self.hashes
    }

    /// What step `i` (from `S_i` to `S_{i+1}`) did.
    pub fn event(&self, i: u64) -> Option<&StepEvent> {
        self.events.get(usize::try_from(i).ok()?)
    }

    /// The output root, `stepHash(S_N)`.
    pub fn output_root(&self) -> B256 {
        *self.hashes.last().expect("S_0 at least")
    }

    /// The machine after the last step (state `S_N`).
    pub fn end(&self) -> &StepMachine {
        &self.end
    }

    /// The machine in state `S_i` (the batch re-run from its start), for `i` in `0..=N`.
    pub fn machine_at(
        &self,
        i: u64,
        input: &BatchInput<'_>,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepMachine> {
        let mut machine = StepMachine::new(self.start.clone());
        for _ in 0..i.min(self.steps()) {
            machine.step(input, verifier)?;
        }
        Ok(machine)
    }

    /// `S_i`, the pre-state the contract's `step` takes for step `i`.
    pub fn pre_state(
        &self,
        i: u64,
        input: &BatchInput<'_>,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepState> {
        Ok(self.machine_at(i, input, verifier)?.state())
    }

    /// The proof of step `i` (`S_i → S_{i+1}`, `i < N`): the pre-state `S_i`, the
    /// [`StepWitness`](super::StepWitness) the L1 executor reads (each account against the
    /// state root of its moment, the address proofs, the withdrawal proof, exactly the chunks
    /// the step reads, the operation it applies) and the [`StepContext`](super::StepContext)
    /// with `domain`'s separator. Re-runs the batch up to step `i` (to prove many steps, walk a
    /// [`StepMachine`] with [`StepMachine::step_with_proof`] instead).
    ///
    /// Fails for `i ≥ N`, or when the recorded step disagrees with this trace (a bug: the
    /// executor's rules and the step machine would differ).
    pub fn step_proof(
        &self,
        i: u64,
        input: &BatchInput<'_>,
        domain: &SigningDomain,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepProof> {
        if i >= self.steps() {
            return Err(Error::Invalid(format!(
                "step {i} is beyond the trace, which has {} steps",
                self.steps()
            )));
        }
        let data = BatchData::new(input.data.to_vec());
        let mut machine = self.machine_at(i, input, verifier)?;
        let proof = machine.step_with_proof(input, &data, domain, verifier)?;
        if Some(proof.post_hash()) != self.hash(i + 1) {
            return Err(Error::Invalid(format!(
                "step {i} re-ran to another state than the trace's: the batch input is not the \
                 trace's"
            )));
        }
        Ok(proof)
    }
}
