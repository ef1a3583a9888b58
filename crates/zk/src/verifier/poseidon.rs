//! Poseidon in Solidity, generated from the constants of [`crate::poseidon`]: the L1 twin of
//! the native hash, for contracts that check Poseidon Merkle proofs (the zk rollup's exits).
//!
//! [`solidity_poseidon`] writes a self-contained contract with one function,
//!
//! ```solidity
//! function hash(uint256[N] calldata input) external pure returns (uint256)
//! ```
//!
//! equal to circomlib's `Poseidon(N)` (and to [`poseidon`](crate::poseidon())): state
//! `[0, input...]`, 8 full rounds (4 before and 4 after circom's partial rounds), the x⁵
//! S-box, digest = the first state element. An input at or above the BN254 scalar field
//! modulus reverts with `InputNotInField(index)` (it would alias a smaller input).
//!
//! Layout, chosen to stay far below the EIP-170 limit of 24,576 bytes of deployed code:
//! - the round constants are one `bytes constant` blob (one line per round), copied to memory
//!   once per call and read with `mload`, round by round;
//! - the MDS matrix is unrolled as literals in the loop body, which is the same for every
//!   round except that a partial round applies the S-box to the first element only;
//! - the state lives in stack variables (the mixed state passes through scratch memory: the
//!   stack cannot hold two), arithmetic is `mulmod`, `add` and `addmod` in inline assembly,
//!   reducing only where a sum could overflow a word.
//!
//! Gas of one `hash` call (the callee's frame, as the forge tests measure it): about 34,000
//! for `PoseidonT3` and 87,000 for `PoseidonT6`. Circom's sparse partial-round matrices
//! would save about a third, at the cost of a second set of constants.
//!
//! The code grows with the square of the width (the unrolled MDS matrix) and the blob with the
//! rounds, so 1 to 7 inputs (widths 2 to 8, at most about 22 KB of code) are supported: width 9
//! comes within 60 bytes of the EIP-170 limit, and wider ones exceed it.

use crate::poseidon::{FULL_ROUNDS, params};
use crate::{Fr, fr_to_b256};
use std::fmt::Write;

/// The largest number of inputs [`solidity_poseidon`] generates a contract for (see the
/// module's documentation).
const MAX_SOLIDITY_INPUTS: usize = 7;

/// The generated Solidity source of circomlib's `Poseidon(inputs)` as contract
/// `contract_name` (ply names them `PoseidonT<inputs + 1>`, after the state width).
///
/// `regenerate` is put in the file's header to tell a reader how to regenerate it. The output
/// depends only on its arguments, so it can be checked in and compared byte for byte.
///
/// # Panics
/// When `inputs` is 0 or above 7.
pub fn solidity_poseidon(inputs: usize, contract_name: &str, regenerate: &str) -> String {
    assert!(
        (1..=MAX_SOLIDITY_INPUTS).contains(&inputs),
        "solidity_poseidon supports 1 to {MAX_SOLIDITY_INPUTS} inputs, not {inputs}"
    );
    let params = params(inputs).expect("1 to MAX_SOLIDITY_INPUTS inputs have parameters");
    let width = params.width;
    let rounds = params.rounds();
    let partial = params.partial_rounds;
    let half = FULL_ROUNDS / 2;
    let word = |value: &Fr| fr_to_b256(*value);

    // One line of the blob per round: `width` words.
    let mut blob = String::new();
    for round in 0..rounds {
        let hex: String =
            params.round_constants(round).iter().map(|c| format!("{:x}", word(c))).collect();
        let sep = if round + 1 == rounds { ";" } else { "" };
        write!(blob, "\n        hex\"{hex}\"{sep}").unwrap();
    }

    let indent = "                ";
    // The initial state: [0, input...].
    let mut init = String::from("            let s0 := 0");
    for i in 1..width {
        let at =
            if i == 1 { "input".to_owned() } else { format!("add(input, {:#x})", (i - 1) * 32) };
        write!(init, "\n            let s{i} := calldataload({at})").unwrap();
    }
    // Add the round constants. No reduction: the state is below the modulus after each mix,
    // so state + constant < 2·modulus fits a word, and mulmod accepts any word.
    let mut ark = String::new();
    for i in 0..width {
        let at = if i == 0 { "c".to_owned() } else { format!("add(c, {:#x})", i * 32) };
        write!(ark, "\n{indent}    s{i} := add(s{i}, mload({at}))").unwrap();
    }
    // The S-box on s1.. in full rounds (s0 always gets it).
    let mut full_sbox = String::new();
    for i in 1..width {
        write!(
            full_sbox,
            "\n{indent}        t := mulmod(s{i}, s{i}, F)\n{indent}        s{i} := mulmod(mulmod(t, t, F), s{i}, F)"
        )
        .unwrap();
    }
    // The MDS mix: new[i] = Σ_j mds[i][j] · s_j. Rows 0.. go to scratch memory at m (the
    // stack cannot hold a second state), the last row straight into its element (no row
    // reads it afterwards), then the scratch back into s0...
    let last = width - 1;
    let slot = |i: usize| if i == 0 { "m".to_owned() } else { format!("add(m, {:#x})", i * 32) };
    let mut mix = String::new();
    for (i, row) in params.mds.iter().enumerate() {
        let terms: Vec<String> =
            row.iter().enumerate().map(|(j, m)| format!("mulmod({}, s{j}, F)", word(m))).collect();
        let sum = reduced_sum(&terms);
        if i == last {
            write!(mix, "\n{indent}s{i} := {sum}").unwrap();
        } else {
            write!(mix, "\n{indent}mstore({}, {sum})", slot(i)).unwrap();
        }
    }
    for i in 0..last {
        write!(mix, "\n{indent}s{i} := mload({})", slot(i)).unwrap();
    }

    let round_bytes = width * 32;
    let last_partial = half + partial - 1;
    format!(
        r#"// SPDX-License-Identifier: MIT OR Apache-2.0
// GENERATED by ply-zk (`ply_zk::verifier::solidity_poseidon`) from circomlib's Poseidon constants.
// Do not edit: {regenerate}
pragma solidity ^0.8.30;

/// @title {contract_name}
/// @author ply (generated)
/// @notice circomlib's Poseidon hash of {inputs} field elements over the BN254 scalar field
///         (state width {width}: {FULL_ROUNDS} full rounds, {partial} partial rounds, S-box x^5),
///         equal to `ply_zk::poseidon` and to circomlib's `Poseidon({inputs})`.
/// @dev The round constants are one blob, {width} words per round, read from memory as the
///      round loop walks it; the MDS matrix is unrolled in the loop body.
contract {contract_name} {{
    /// @notice Input `index` is not below the BN254 scalar field modulus.
    /// @param index The position of the input.
    error InputNotInField(uint256 index);

    /// @notice The number of inputs `hash` takes.
    uint256 public constant INPUTS = {inputs};

    /// @dev The BN254 scalar field modulus: Poseidon computes in this field.
    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev The round constants: {rounds} rounds of {width} words, one line per round.
    bytes internal constant ROUND_CONSTANTS ={blob}

    /// @notice circomlib's `Poseidon({inputs})` of `input`.
    /// @param input The field elements to hash, each below the BN254 scalar field modulus.
    /// @return digest The hash, a field element.
    function hash(uint256[{inputs}] calldata input) external pure returns (uint256 digest) {{
        for (uint256 i = 0; i < {inputs}; ++i) {{
            if (input[i] >= SCALAR_MODULUS) revert InputNotInField(i);
        }}
        bytes memory constants = ROUND_CONSTANTS;
        assembly ("memory-safe") {{
            // The state lives on the stack, the temporaries of the round constants and the
            // S-box in blocks of their own; m is scratch memory for the MDS mix.
            let F := SCALAR_MODULUS
            let m := mload(0x40)
{init}
            for {{ let r := 0 }} lt(r, {rounds}) {{ r := add(r, 1) }} {{
                {{
                    // Round r's constants, {round_bytes:#x} bytes from the blob's start.
                    let c := add(add(constants, 0x20), mul(r, {round_bytes:#x})){ark}
                }}
                {{
                    // S-box: on every element in the {half} first and {half} last (full) rounds,
                    // on s0 only in the partial rounds {half}..={last_partial}.
                    let t := mulmod(s0, s0, F)
                    s0 := mulmod(mulmod(t, t, F), s0, F)
                    if or(lt(r, {half}), gt(r, {last_partial})) {{{full_sbox}
                    }}
                }}
                // MDS mix.{mix}
            }}
            digest := s0
        }}
    }}
}}
"#
    )
}

/// `Σ terms mod F` for terms below `F`: plain `add`s in groups of four (4·F < 2²⁵⁶ for the
/// BN254 scalar field), the groups combined with `addmod`, or one `mod` for a single group.
fn reduced_sum(terms: &[String]) -> String {
    let groups: Vec<String> = terms
        .chunks(4)
        .map(|group| {
            let mut sum = group[0].clone();
            for term in &group[1..] {
                sum = format!("add({sum}, {term})");
            }
            sum
        })
        .collect();
    match &groups[..] {
        [single] => format!("mod({single}, F)"),
        [first, rest @ ..] => {
            rest.iter().fold(first.clone(), |acc, group| format!("addmod({acc}, {group}, F)"))
        }
        [] => unreachable!("a Poseidon state has at least two elements"),
    }
}
