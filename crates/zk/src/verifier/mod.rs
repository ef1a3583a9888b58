//! A Solidity Groth16 verifier generated from a verifying key: the L1 side of a circuit.
//!
//! [`solidity_verifier`] writes a self-contained contract (no imports, no libraries) with the
//! verifying key as constants and one function,
//!
//! ```solidity
//! function verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[N] input)
//!     external view returns (bool)
//! ```
//!
//! taking the proof in the precompiles' encoding ([`EvmProof`](crate::groth16::EvmProof):
//! G2 coordinates imaginary part first) and the `N` public inputs. It computes
//! `vk_x = IC₀ + Σ inputᵢ·ICᵢ₊₁` with ecMul (0x07) and ecAdd (0x06), then checks
//! `e(−A, B)·e(α, β)·e(vk_x, γ)·e(C, δ) = 1` with one ecPairing (0x08) call.
//!
//! - A proof that does not verify, including one whose points are not on the curve or not
//!   in the right subgroup (the precompiles refuse them), returns `false`.
//! - Malformed arguments revert with a custom error: a public input at or above the scalar
//!   field modulus (`PublicInputNotInField(index)`: accepting it would make proofs malleable)
//!   or a proof coordinate at or above the base field modulus
//!   (`ProofCoordinateNotInField()`: a non-canonical encoding).
//!
//! Each precompile call gets a fixed gas allowance (ecAdd 500, ecMul 10,000, ecPairing
//! 200,000, above their EIP-1108 prices of 150, 6,000 and 181,000 for four pairs), so a
//! refused point costs that allowance rather than all the gas of the transaction.
//!
//! The verification costs about 181,000 gas for the pairing plus about 6,200 per public
//! input, plus the transaction and calldata.

mod poseidon;
pub use poseidon::solidity_poseidon;

use crate::{
    Result, ZkError,
    groth16::{VerifyingKey, g1_to_words, g2_to_words},
};
use alloy::primitives::{B256, U256, keccak256};
use ark_serialize::CanonicalSerialize;
use std::fmt::Write;

/// The text whose keccak256 marks the start of the verifying key in a generated verifier.
const VK_MARKER_TEXT: &str = "ply-zk groth16 verifying key";

/// The marker word that precedes the verifying key's words in a generated verifier's code.
fn vk_marker() -> B256 {
    keccak256(VK_MARKER_TEXT)
}

/// The word index of `IC[i]`'s x coordinate in the key's words (after the marker).
fn ic_word(i: usize) -> usize {
    14 + 2 * i
}

/// The marker, then the verifying key as the generated verifier lays it out.
fn vk_words(vk: &VerifyingKey) -> Vec<U256> {
    let mut words = vec![U256::from_be_bytes(vk_marker().0)];
    words.extend(g1_to_words(&vk.alpha_g1));
    for point in [&vk.beta_g2, &vk.gamma_g2, &vk.delta_g2] {
        let [[x1, x0], [y1, y0]] = g2_to_words(point);
        words.extend([x1, x0, y1, y0]);
    }
    for point in &vk.gamma_abc_g1 {
        words.extend(g1_to_words(point));
    }
    words
}

/// The creation code of a verifier for `vk`, made from `template`, the compiled creation code
/// of a verifier [`solidity_verifier`] generated for another key with as many public inputs
/// (e.g. the checked-in `BatchVerifier`): the key is one blob in the code, which is replaced.
/// The result is the code the generator's source for `vk` compiles to (up to the metadata, which
/// ply's build leaves out), so a deployment can use keys from `ply zk setup` or a ceremony
/// without a Solidity compiler.
pub fn verifier_bytecode(template: &[u8], vk: &VerifyingKey) -> Result<Vec<u8>> {
    let words = vk_words(vk);
    let marker = vk_marker();
    let at: Vec<usize> = template
        .windows(32)
        .enumerate()
        .filter(|(_, w)| *w == marker.as_slice())
        .map(|(i, _)| i)
        .collect();
    // The blob is the marker, the key, and the marker again.
    let [start, end] = at[..] else {
        return Err(ZkError::Verifier(format!(
            "the template has {} verifying-key markers, not two: it is not a generated verifier",
            at.len()
        )));
    };
    if end - start != words.len() * 32 {
        return Err(ZkError::Verifier(format!(
            "the template's key has {} words and this key {}: their public inputs differ",
            (end - start) / 32 - 1,
            words.len() - 1
        )));
    }
    let mut code = template.to_vec();
    for (i, w) in words.iter().enumerate() {
        code[start + i * 32..start + (i + 1) * 32].copy_from_slice(&w.to_be_bytes::<32>());
    }
    Ok(code)
}

/// The generated Solidity source of a Groth16 verifier for `vk`, as contract
/// `contract_name`.
///
/// `regenerate` is put in the file's header to tell a reader how to regenerate it (e.g. the
/// command that wrote it). The output depends only on its arguments, so it can be checked in
/// and compared byte for byte to detect a stale file.
pub fn solidity_verifier(vk: &VerifyingKey, contract_name: &str, regenerate: &str) -> String {
    let inputs = vk.gamma_abc_g1.len().saturating_sub(1);
    let mut vk_bytes = Vec::new();
    vk.serialize_compressed(&mut vk_bytes).expect("a verifying key serializes into a Vec");
    let vk_hash = keccak256(&vk_bytes);

    let words = vk_words(vk);
    let blob: String = words.iter().chain(&words[..1]).map(|w| format!("{w:064x}")).collect();
    // The word index of each constant in the blob (after the marker).
    let word = |i: usize| format!("mload(add(k, {:#x}))", i * 32);
    let (alpha, beta, gamma, delta, ic) = (0, 2, 6, 10, 14);

    // vk_x accumulation: one ecMul and one ecAdd per public input, unrolled.
    let mut accumulate = String::new();
    for i in 0..inputs {
        let ic = i + 1;
        let offset = i * 32;
        let (ic_x, ic_y) = (word(ic_word(ic)), word(ic_word(ic) + 1));
        write!(
            accumulate,
            "
            // vk_x += input[{i}] * IC{ic}
            mstore(add(m, 0x40), {ic_x})
            mstore(add(m, 0x60), {ic_y})
            mstore(add(m, 0x80), calldataload(add(input, {offset})))
            ok := and(ok, staticcall(ECMUL_GAS, 0x07, add(m, 0x40), 0x60, add(m, 0x40), 0x40))
            ok := and(ok, staticcall(ECADD_GAS, 0x06, m, 0x80, m, 0x40))"
        )
        .unwrap();
    }

    let input_param = if inputs == 0 {
        String::new()
    } else {
        format!(",\n        uint256[{inputs}] calldata input")
    };
    let input_check = if inputs == 0 {
        String::new()
    } else {
        format!(
            "
        for (uint256 i = 0; i < {inputs}; ++i) {{
            if (input[i] >= SCALAR_MODULUS) revert PublicInputNotInField(i);
        }}"
        )
    };

    let ic0_x = word(ic);
    let ic0_y = word(ic + 1);
    let alpha_x = word(alpha);
    let alpha_y = word(alpha + 1);
    let [beta_x1, beta_x0, beta_y1, beta_y0] = [0, 1, 2, 3].map(|j| word(beta + j));
    let [gamma_x1, gamma_x0, gamma_y1, gamma_y0] = [0, 1, 2, 3].map(|j| word(gamma + j));
    let [delta_x1, delta_x0, delta_y1, delta_y0] = [0, 1, 2, 3].map(|j| word(delta + j));
    format!(
        r#"// SPDX-License-Identifier: MIT OR Apache-2.0
// GENERATED by ply-zk (`ply_zk::verifier::solidity_verifier`) from a Groth16 verifying key.
// Do not edit: {regenerate}
// Verifying key: keccak256 of its arkworks compressed serialization = {vk_hash}
pragma solidity ^0.8.30;

/// @title {contract_name}
/// @author ply (generated)
/// @notice Verifies Groth16 proofs over BN254 for one verifying key ({inputs} public inputs),
///         with the EVM's BN254 precompiles (ecAdd 0x06, ecMul 0x07, ecPairing 0x08).
/// @dev Points are in the precompiles' encoding: G1 as [x, y]; G2 as [[x.c1, x.c0], [y.c1, y.c0]]
///      (imaginary part first, EIP-197). A proof that does not verify returns false; malformed
///      arguments (a public input >= the scalar field modulus, a coordinate >= the base field
///      modulus) revert with a custom error.
contract {contract_name} {{
    /// @notice Public input `index` is not below the BN254 scalar field modulus.
    error PublicInputNotInField(uint256 index);
    /// @notice A proof coordinate is not below the BN254 base field modulus.
    error ProofCoordinateNotInField();

    /// @notice The number of public inputs `verifyProof` takes.
    uint256 public constant PUBLIC_INPUTS = {inputs};

    /// @dev The order of BN254's groups: public inputs are elements of this field.
    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev The field BN254's coordinates live in.
    uint256 internal constant BASE_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// @dev Gas allowances of the precompile calls (EIP-1108 prices: 150, 6000, 45000 + 34000 per pair).
    uint256 internal constant ECADD_GAS = 500;
    uint256 internal constant ECMUL_GAS = 10000;
    uint256 internal constant PAIRING_GAS = 200000;

    /// @dev The verifying key as 32-byte words: a marker (keccak256("{VK_MARKER_TEXT}")),
    ///      then alpha [x, y] in G1; beta, gamma, delta [x1, x0, y1, y0] in G2; IC0..IC{inputs}
    ///      [x, y] in G1; then the marker again. One blob in the code, so that ply can deploy this contract for another
    ///      key of the same shape (`ply_zk::verifier::verifier_bytecode`).
    bytes internal constant VK = hex"{blob}";

    /// @notice Whether (a, b, c) is a valid proof for the public inputs `input`.
    /// @param a The proof's A, in G1: [x, y].
    /// @param b The proof's B, in G2: [[x.c1, x.c0], [y.c1, y.c0]].
    /// @param c The proof's C, in G1: [x, y].
    /// @return True when the proof verifies; false otherwise (including points not on the curve).
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c{input_param}
    ) external view returns (bool) {{
        if (
            a[0] >= BASE_MODULUS || a[1] >= BASE_MODULUS || b[0][0] >= BASE_MODULUS
                || b[0][1] >= BASE_MODULUS || b[1][0] >= BASE_MODULUS || b[1][1] >= BASE_MODULUS
                || c[0] >= BASE_MODULUS || c[1] >= BASE_MODULUS
        ) revert ProofCoordinateNotInField();{input_check}

        bool ok;
        bytes memory vk = VK;
        assembly ("memory-safe") {{
            // The key's words start at k (past the length and the marker). Scratch memory past
            // the free memory pointer: vk_x at m, ecMul operands at m + 0x40, the pairing
            // input (4 pairs of 6 words) at p.
            let k := add(vk, 0x40)
            let m := mload(0x40)
            mstore(m, {ic0_x})
            mstore(add(m, 0x20), {ic0_y})
            ok := 1{accumulate}

            let p := add(m, 0xc0)
            // e(-A, B)
            mstore(p, calldataload(a))
            mstore(add(p, 0x20), mod(sub(BASE_MODULUS, calldataload(add(a, 0x20))), BASE_MODULUS))
            mstore(add(p, 0x40), calldataload(b))
            mstore(add(p, 0x60), calldataload(add(b, 0x20)))
            mstore(add(p, 0x80), calldataload(add(b, 0x40)))
            mstore(add(p, 0xa0), calldataload(add(b, 0x60)))
            // e(alpha, beta)
            mstore(add(p, 0xc0), {alpha_x})
            mstore(add(p, 0xe0), {alpha_y})
            mstore(add(p, 0x100), {beta_x1})
            mstore(add(p, 0x120), {beta_x0})
            mstore(add(p, 0x140), {beta_y1})
            mstore(add(p, 0x160), {beta_y0})
            // e(vk_x, gamma)
            mstore(add(p, 0x180), mload(m))
            mstore(add(p, 0x1a0), mload(add(m, 0x20)))
            mstore(add(p, 0x1c0), {gamma_x1})
            mstore(add(p, 0x1e0), {gamma_x0})
            mstore(add(p, 0x200), {gamma_y1})
            mstore(add(p, 0x220), {gamma_y0})
            // e(C, delta)
            mstore(add(p, 0x240), calldataload(c))
            mstore(add(p, 0x260), calldataload(add(c, 0x20)))
            mstore(add(p, 0x280), {delta_x1})
            mstore(add(p, 0x2a0), {delta_x0})
            mstore(add(p, 0x2c0), {delta_y1})
            mstore(add(p, 0x2e0), {delta_y0})

            ok := and(ok, staticcall(PAIRING_GAS, 0x08, p, 0x300, p, 0x20))
            // On a failed call the word at p is stale, but ok is already 0.
            ok := and(ok, mload(p))
        }}
        return ok;
    }}
}}
"#
    )
}
