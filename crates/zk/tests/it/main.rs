//! Integration tests of ply-zk: each primitive against known vectors, each gadget against its
//! native twin, with good and bad witnesses.

mod babyjubjub;
mod batch_verifier;
mod circuit;
mod dac;
mod eddsa;
mod groth16;
mod hasher;
mod node;
mod poseidon;
mod poseidon_sol;
mod soundness;
